/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * API: per-application policy (stage 6, bpf/policy.h) - what the flow
 * cache does with the packets of a classified flow.
 *
 * flowlensd matches each flow once, at its verdict (the worker, which
 * knows its app, category, SNI, JA3 and risk), and again whenever the
 * policies change; the result is a slot per direction in the flow's
 * entry (fl_flow.policy[dir], 0: none). The datapath only follows the
 * slot:
 *   FL_MAP_POLICIES      ARRAY[FL_POLICIES_MAX]: slot -> struct fl_policy,
 *                        what to do (a slot is never 0)
 *   FL_MAP_POLICERS      ARRAY[FL_POLICERS_MAX]: slot -> struct fl_policer,
 *                        a token bucket shared by every CPU and every
 *                        flow whose policy names it
 *   FL_MAP_POLICY_STATS  PERCPU_ARRAY: slot -> struct fl_policy_stats for
 *                        policies; FL_POLICIES_MAX + slot for policers
 * A slot emptied (id 0) lets its flows' packets through untouched until
 * they are matched again; flowlensd reuses a slot only once they have
 * been.
 */
#ifndef FLOWLENS_POLICY_H
#define FLOWLENS_POLICY_H

#include "types.h"
#include "rules.h" /* FL_MARK_SET, FL_RATE_SHIFT, enum fl_rate_unit */

#define FL_MAP_POLICIES fl_policies
#define FL_MAP_POLICERS fl_policers
#define FL_MAP_POLICY_STATS fl_policy_stats

#define FL_POLICIES_MAX 1024
#define FL_POLICERS_MAX 256
#define FL_POLICY_STATS_MAX (FL_POLICIES_MAX + FL_POLICERS_MAX)

enum fl_policy_action {
	FL_POLICY_NONE = 0, /* an empty slot */
	FL_POLICY_DROP = 1,
	FL_POLICY_PERMIT = 2, /* counted; later policies never apply */
	FL_POLICY_POLICE = 3, /* through fl_policy.policer */
	FL_POLICY_MARK = 4, /* every packet re-marked (fl_policy.mark) */
	FL_POLICY_STEER = 5, /* router: FIB table fl_policy.table */
};

struct fl_policy {
	__u32 id; /* the operator's policy id; 0: empty slot */
	__u8 action; /* enum fl_policy_action */
	__u8 mark; /* FL_MARK_SET | DSCP (MARK) */
	__u16 policer; /* POLICE: slot in FL_MAP_POLICERS */
	__u32 table; /* STEER: FIB table id */
	__u32 pad;
};
_Static_assert(sizeof(struct fl_policy) == 16, "fl_policy layout");

enum fl_policer_exceed {
	FL_POLICER_EXCEED_DROP = 0,
	FL_POLICER_EXCEED_MARK = 1, /* re-marked with exceed_mark, passed */
};

/*
 * A GCRA (bpf/gcra.h) as the rule engine's rate-limit keeps it: a packet
 * costs cost >> FL_RATE_SHIFT ns (pps) or that per byte of IP datagram
 * (bps), and conforms while the backlog it leaves is at most depth ns.
 * tat moves by compare-and-swap: one rate for all CPUs and flows.
 */
struct fl_policer {
	__u64 tat; /* ns; written by the datapath only */
	__u64 cost;
	__u64 depth;
	__u32 id; /* the policer's id; 0: empty slot */
	__u8 rate_unit; /* enum fl_rate_unit */
	__u8 exceed; /* enum fl_policer_exceed */
	__u8 exceed_mark; /* FL_MARK_SET | DSCP */
	__u8 pad;
};
_Static_assert(sizeof(struct fl_policer) == 32, "fl_policer layout");

/* Packets and bytes of each outcome. A policy: matched (every packet it
 * applied to), then dropped, conformed/exceeded (police), remarked (mark,
 * or police's exceed mark), steered. A policer: conformed, exceeded,
 * dropped, remarked. */
struct fl_policy_stats {
	__u64 matched_packets, matched_bytes;
	__u64 dropped_packets, dropped_bytes;
	__u64 conformed_packets, conformed_bytes;
	__u64 exceeded_packets, exceeded_bytes;
	__u64 remarked_packets, remarked_bytes;
	__u64 steered_packets, steered_bytes;
};
_Static_assert(sizeof(struct fl_policy_stats) == 96, "fl_policy_stats layout");

#endif /* FLOWLENS_POLICY_H */
