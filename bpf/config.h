/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* API: config_get() - the one struct fl_config flowlensd maintains. */
#ifndef FLOWLENS_BPF_CONFIG_H
#define FLOWLENS_BPF_CONFIG_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <flowlens/flowlens.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fl_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_CONFIG SEC(".maps");

/*
 * make bench compiles copies of the program with stages left out
 * (-DFL_BENCH_OFF=mask of FL_STAGE_*) to measure what each one costs, in
 * the same run as the whole program. The program anyone loads has no
 * stage left out: every stage_on() is a constant 1 and folds away.
 */
#ifndef FL_BENCH_OFF
#define FL_BENCH_OFF 0
#endif
#define FL_STAGE_COUNTERS 0x01 /* per-interface counters (stats.h) */
#define FL_STAGE_ACCOUNT 0x02 /* 2 */
#define FL_STAGE_ALLOW 0x04 /* 3 */
#define FL_STAGE_RULES 0x08 /* 4 */
#define FL_STAGE_SYNPROXY 0x10 /* 5 */
#define FL_STAGE_FLOWCACHE 0x20 /* 6 and 7 */
#define FL_STAGE_FORWARD 0x40 /* 8, router mode's FIB and redirect */
#define FL_STAGE_VOIP 0x80 /* the SIP stage, with 2 and 3-4 (voip.h) */
#define stage_on(stage) (!(FL_BENCH_OFF & (stage)))

static __always_inline const struct fl_config *config_get(void)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(&FL_MAP_CONFIG, &key);
}

#endif /* FLOWLENS_BPF_CONFIG_H */
