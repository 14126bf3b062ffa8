/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * API: per-interface counters.
 *   if_stats_get()  - this CPU's counters for the receiving interface: its
 *                     FL_MAP_IF_FAST slot if it owns one, else its entry
 *                     in FL_MAP_IF_STATS (include/flowlens/counters.h)
 *   count_packet()  - length, kinds and parse errors of one packet
 *   verdict()       - count and return an XDP action
 */
#ifndef FLOWLENS_BPF_STATS_H
#define FLOWLENS_BPF_STATS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <flowlens/flowlens.h>
#include "config.h"
#include "parse.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, FL_IF_STATS_MAX);
	__type(key, __u32); /* ifindex */
	__type(value, struct fl_if_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_IF_STATS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_IF_FAST_SLOTS);
	__type(key, __u32);
	__type(value, struct fl_if_fast);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_IF_FAST SEC(".maps");

/* Too big for the BPF stack; an initial value from .rodata instead. */
static const struct fl_if_stats if_stats_zero;

#if !stage_on(FL_STAGE_COUNTERS)
/* make bench's copy without counters: one per-CPU slot nobody reads */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fl_if_stats);
} fl_bench_stats SEC(".maps");
#endif

static __always_inline struct fl_if_stats *if_stats_get(struct xdp_md *ctx)
{
	__u32 ifindex = ctx->ingress_ifindex, slot = FL_IF_FAST_SLOT(ifindex);
	struct fl_if_stats *stats;
	struct fl_if_fast *fast;

#if !stage_on(FL_STAGE_COUNTERS)
	ifindex = 0;
	return bpf_map_lookup_elem(&fl_bench_stats, &ifindex);
#endif
	/* flowlensd's interfaces: their slot, owned (counters.h) */
	fast = bpf_map_lookup_elem(&FL_MAP_IF_FAST, &slot);
	if (fast && fast->ifindex == ifindex)
		return &fast->s;
	stats = bpf_map_lookup_elem(&FL_MAP_IF_STATS, &ifindex);
	if (stats)
		return stats;
	/* flowlensd creates the entry on attach; this covers xdp-loader. */
	bpf_map_update_elem(&FL_MAP_IF_STATS, &ifindex, &if_stats_zero,
			    BPF_NOEXIST);
	return bpf_map_lookup_elem(&FL_MAP_IF_STATS, &ifindex);
}

static __always_inline void count_packet(struct fl_if_stats *stats,
					 const struct fl_packet *pkt, int err)
{
	struct fl_kind_counters *kind = &stats->kind;

	if (!stage_on(FL_STAGE_COUNTERS))
		return;
	stats->packets++;
	stats->bytes += pkt->len;

	if (pkt->vlan_depth)
		kind->vlan++;
	if (pkt->vlan_depth > 1)
		kind->qinq++;
	if (pkt->l3_proto == ETH_P_IP && pkt->has_l3) {
		kind->ipv4++;
		if (pkt->ip_options)
			kind->ipv4_options++;
	} else if (pkt->l3_proto == ETH_P_IPV6 && pkt->has_l3) {
		kind->ipv6++;
		if (pkt->ext_headers)
			kind->ipv6_ext++;
	} else if (!err) {
		kind->non_ip++;
	}
	if (pkt->frag)
		kind->fragment++;

	if (pkt->has_l4) {
		switch (pkt->l4_proto) {
		case FL_IPPROTO_TCP:
			kind->tcp++;
			if (packet_is_syn(pkt))
				kind->tcp_syn++;
			break;
		case FL_IPPROTO_UDP:
			kind->udp++;
			break;
		case FL_IPPROTO_ICMP:
			kind->icmp++;
			break;
		case FL_IPPROTO_ICMPV6:
			kind->icmpv6++;
			break;
		}
	} else if (pkt->has_l3 && !err && pkt->frag != FL_FRAG_LATER) {
		kind->other_l4++;
	}

	if (err > FL_PARSE_OK && err < FL_PERR_END) {
		kind->malformed++;
		stats->parse_error[err - 1]++;
	}
}

static __always_inline int verdict(struct fl_if_stats *stats, int action)
{
	if (stage_on(FL_STAGE_COUNTERS) && action >= 0 && action < FL_VERDICT_COUNT)
		stats->verdict[action]++;
	return action;
}

#endif /* FLOWLENS_BPF_STATS_H */
