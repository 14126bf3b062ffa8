/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * API: what flow_spread.bpf.c and flow_bench share - the spreader's
 * settings and how a flow number becomes a source address and port.
 * The includer provides __u32 (vmlinux.h or <linux/types.h>).
 */
#ifndef FL_SELFTESTS_FLOW_SPREAD_H
#define FL_SELFTESTS_FLOW_SPREAD_H

#define SPREAD_FLOWS_MAX (1 << 20) /* spread_order's entries */
#define SPREAD_PORTS_PER_ADDR 16 /* flow i: address base + i / 16 ... */
#define SPREAD_SPORT_BASE 10000 /* ... port 10000 + i % 16 */

/* spread_cfg[0] */
struct spread_cfg {
	__u32 flows; /* spread_order[0 .. flows-1] */
	__u32 base; /* first source address, host order */
};

#endif /* FL_SELFTESTS_FLOW_SPREAD_H */
