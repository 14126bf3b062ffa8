/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: an interface's counters, wherever the datapath keeps them
 * (include/flowlens/counters.h): its FL_MAP_IF_FAST slot and its
 * FL_MAP_IF_STATS entry. flowlensd, the tests and the benchmarks all go
 * through this.
 *
 *   fl_ifstats_claim()  the interface's FL_MAP_IF_FAST slot, if it is free,
 *                       already the interface's (a restart: kept as it is),
 *                       or owned by an interface that no longer exists
 *   fl_ifstats_sum()    the interface's counters summed over CPUs and both
 *                       maps
 *   fl_ifstats_add()    one set of counters added into another
 */
#ifndef FL_IFSTATS_H
#define FL_IFSTATS_H

#include <flowlens/flowlens.h>

/* 1 if the slot is the interface's, 0 if another interface owns it (the
 * datapath counts this one in FL_MAP_IF_STATS), or -errno. */
int fl_ifstats_claim(int fast_fd, __u32 ifindex);

/* 0 or -errno; an interface with no counters anywhere sums to zero. */
int fl_ifstats_sum(int fast_fd, int hash_fd, __u32 ifindex,
		   struct fl_if_stats *sum);

void fl_ifstats_add(struct fl_if_stats *sum, const struct fl_if_stats *s);

#endif /* FL_IFSTATS_H */
