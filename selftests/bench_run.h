/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the bench programs (selftests/bench/) share: one measured
 * bpf_prog_test_run loop and the medians of their rounds.
 *   bench_measure()     mean ns per packet of one program over N packets
 *   bench_set_ttl_255() a frame a router can forward 250 times over
 *   bench_median()      the median of a round's samples (sorts them)
 *   bench_flow_key()    the flow key XDP makes of a TCP/UDP frame
 *   bench_map_count()   a map's entries, counted by walking its keys
 *   bench_claim_if()    the interface's counter slot, as flowlensd claims
 *                       it on attach (0: lo, where a test run counts)
 *   bench_untrack()     every address's exact counters gone, as flowlensd
 *                       drops them when their protection goes: a kind
 *                       after a tracked one is untracked again
 */
#ifndef FLOWLENS_SELFTESTS_BENCH_RUN_H
#define FLOWLENS_SELFTESTS_BENCH_RUN_H

#include <stddef.h>
#include <linux/types.h>
#include "pkt.h"

/*
 * A router rewrites the packet it forwards, and a test run does not
 * restore it between repeats: after 254 of them the TTL would expire and
 * the rest would measure the kernel-bound path. So the packets start at
 * TTL 255 (bench_set_ttl_255()) and every test run repeats at most
 * BENCH_CHUNK times; each run copies the packet in afresh.
 */
#define BENCH_CHUNK 250

/* Mean ns per packet over @n packets of @p, received on @ifindex (0: no
 * context); @action is the last verdict. 0 or -errno. */
int bench_measure(int prog_fd, const struct pkt *p, __u32 ifindex, __u32 n,
		  __u32 *ns, __u32 *action);
void bench_set_ttl_255(struct pkt *p);
double bench_median(__u32 *v, __u32 n);
struct fl_flow_key;
void bench_flow_key(const struct pkt *p, struct fl_flow_key *key);
long bench_map_count(int map_fd, size_t key_size);
struct bpf_object;
int bench_claim_if(struct bpf_object *obj, __u32 ifindex);
int bench_untrack(struct bpf_object *obj);

#endif /* FLOWLENS_SELFTESTS_BENCH_RUN_H */
