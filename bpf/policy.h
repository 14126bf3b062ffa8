/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * API: policy_apply() - stage 6's per-application policy, for a packet of
 * a flow with a final verdict whose entry names a policy slot in the
 * packet's direction (include/flowlens/policy.h says how slots are
 * assigned). One array lookup for the policy, one per-CPU array bump for
 * its counters; a policer adds its bucket (compare-and-swap, shared by
 * every CPU, as the rule engine's rate-limit) and its own counters.
 */
#ifndef FLOWLENS_BPF_POLICY_H
#define FLOWLENS_BPF_POLICY_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <flowlens/flowlens.h>

#include "parse.h"
#include "gcra.h"
#include "dscp.h"

/* What policy_apply() leaves to the stages after it (FLOW_GO_ON). */
#define POLICY_GO_ON (-1)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FL_POLICIES_MAX);
	__type(key, __u32);
	__type(value, struct fl_policy);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_POLICIES SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FL_POLICERS_MAX);
	__type(key, __u32);
	__type(value, struct fl_policer);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_POLICERS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_POLICY_STATS_MAX);
	__type(key, __u32);
	__type(value, struct fl_policy_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_POLICY_STATS SEC(".maps");

/* A policer's verdict on one packet: 1 conforms, 0 exceeds; its own
 * counters are bumped here. @iplen: the IP datagram, what bps counts. */
static __always_inline int policer_conform(struct fl_policer *pol, __u32 slot,
					   __u32 iplen, __u32 len)
{
	__u32 key = FL_POLICIES_MAX + slot;
	struct fl_policy_stats *st;
	__u64 cost;
	int ok;

	cost = ((pol->rate_unit == FL_RATE_BPS ? iplen : 1) * pol->cost) >>
	       FL_RATE_SHIFT;
	/* The coarse clock: 3 ns where bpf_ktime_get_ns() costs 27 under
	 * kvm-clock. It moves a tick at a time, which flowlensd's minimum
	 * burst (10 ms of the rate) covers; over any longer span it is as
	 * exact as the other. */
	ok = gcra_conform(&pol->tat, bpf_ktime_get_coarse_ns(), cost,
			  pol->depth, true);
	st = bpf_map_lookup_elem(&FL_MAP_POLICY_STATS, &key);
	if (st) {
		st->matched_packets++;
		st->matched_bytes += len;
		if (ok) {
			st->conformed_packets++;
			st->conformed_bytes += len;
		} else {
			st->exceeded_packets++;
			st->exceeded_bytes += len;
			if (pol->exceed == FL_POLICER_EXCEED_MARK) {
				st->remarked_packets++;
				st->remarked_bytes += len;
			} else {
				st->dropped_packets++;
				st->dropped_bytes += len;
			}
		}
	}
	return ok;
}

/*
 * The policy in @slot for @pkt: XDP_DROP, or POLICY_GO_ON with the packet
 * re-marked (a mark, or a policer's exceed mark) or pkt->fib_table set
 * (steer, read by stage 8). An empty slot does nothing. @ctx NULL: count
 * only, the packet is not written (a SPAN port's copies).
 */
static __always_inline int policy_apply(struct xdp_md *ctx,
					struct fl_packet *pkt, __u32 slot)
{
	__u32 len = pkt->len, iplen = pkt->l4_off - pkt->l3_off + pkt->l4_len;
	struct fl_policy_stats *st;
	const struct fl_policy *p;
	struct fl_policer *pol;
	__u32 pslot;
	__u8 mark = 0;
	int act = POLICY_GO_ON;

	p = bpf_map_lookup_elem(&FL_MAP_POLICIES, &slot);
	st = bpf_map_lookup_elem(&FL_MAP_POLICY_STATS, &slot);
	if (!p || !st || !p->id)
		return POLICY_GO_ON;
	st->matched_packets++;
	st->matched_bytes += len;
	switch (p->action) {
	case FL_POLICY_DROP:
		act = XDP_DROP;
		break;
	case FL_POLICY_MARK:
		mark = p->mark;
		break;
	case FL_POLICY_STEER:
		pkt->fib_table = p->table;
		st->steered_packets++;
		st->steered_bytes += len;
		break;
	case FL_POLICY_POLICE:
		pslot = p->policer;
		pol = bpf_map_lookup_elem(&FL_MAP_POLICERS, &pslot);
		if (!pol || !pol->id)
			break;
		if (policer_conform(pol, pslot, iplen, len)) {
			st->conformed_packets++;
			st->conformed_bytes += len;
			break;
		}
		st->exceeded_packets++;
		st->exceeded_bytes += len;
		if (pol->exceed == FL_POLICER_EXCEED_MARK)
			mark = pol->exceed_mark;
		else
			act = XDP_DROP;
		break;
	}
	if (act == XDP_DROP) {
		st->dropped_packets++;
		st->dropped_bytes += len;
	} else if (mark & FL_MARK_SET) {
		if (ctx)
			dscp_remark(ctx, pkt, mark);
		st->remarked_packets++;
		st->remarked_bytes += len;
	}
	return act;
}

#endif /* FLOWLENS_BPF_POLICY_H */
