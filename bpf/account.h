/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * API: account_packet() - stage 2 of DESIGN.md.
 *
 * Constant work per packet: one total cell, FL_SKETCH_ROWS cells for the
 * source and as many for the destination, then one LRU lookup per address
 * that the FL_MAP_TRACKED Bloom filter says may have an entry (a spoofed
 * flood's sources do not: under one, the LRU misses were a third of the
 * program's time). An address with no entry costs an LPM lookup for
 * protected prefixes, and an insert if it is protected or heavy. How the
 * sketch flags heavy hitters is explained in include/flowlens/account.h.
 */
#ifndef FLOWLENS_BPF_ACCOUNT_H
#define FLOWLENS_BPF_ACCOUNT_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <flowlens/flowlens.h>
#include "parse.h"
#include "flowcache.h"

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, FL_IP4_STATS_MAX + FL_IP6_STATS_MAX);
	__uint(map_extra, 1); /* hash functions */
	__type(value, union fl_addr);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_TRACKED SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_SKETCH_ENTRIES);
	__type(key, __u32);
	__type(value, struct fl_sketch_cell);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_SKETCH SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, FL_IP4_STATS_MAX);
	__type(key, struct fl_ip4_key);
	__type(value, struct fl_ip_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_IP4_STATS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, FL_IP6_STATS_MAX);
	__type(key, struct fl_ip6_key);
	__type(value, struct fl_ip_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_IP6_STATS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, FL_PROTECT_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fl_lpm4_key);
	__type(value, struct fl_protect);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_PROTECT4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, FL_PROTECT_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fl_lpm6_key);
	__type(value, struct fl_protect);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_PROTECT6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, FL_SAMPLES_SIZE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_SAMPLES SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fl_sample_quota);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_SAMPLE_QUOTA SEC(".maps");

struct account_ctx {
	const struct fl_packet *pkt;
	__u64 now;
	__u64 heavy_packets;
	__u64 heavy_bytes;
	__u32 epoch;
	__u32 syn;
	__u32 packets; /* this packet, or a flow's batch ending with it */
	__u32 bytes;
	__u32 sample_rate;
	struct fl_sketch_cell *total;
};

static __always_inline void cell_add(struct fl_sketch_cell *cell,
				     const struct account_ctx *ac)
{
	if (cell->epoch != ac->epoch) {
		cell->epoch = ac->epoch;
		cell->packets = 0;
		cell->syns = 0;
		cell->bytes = 0;
	}
	cell->packets += ac->packets;
	cell->syns += ac->syn;
	cell->bytes += ac->bytes;
}

/* Adds the packet to one side's rows; returns 1 if the address is heavy. */
static __always_inline int sketch_update(enum fl_side side, __u64 hash,
					 const struct account_ctx *ac)
{
	__u64 min_packets = ~0ULL, min_bytes = ~0ULL;
	struct fl_sketch_cell *cell;
	__u32 row, index;

#pragma unroll
	for (row = 0; row < FL_SKETCH_ROWS; row++) {
		index = fl_sketch_index(side, row, hash);
		cell = bpf_map_lookup_elem(&FL_MAP_SKETCH, &index);
		if (!cell)
			return 0;
		cell_add(cell, ac);
		if (cell->packets < min_packets)
			min_packets = cell->packets;
		if (cell->bytes < min_bytes)
			min_bytes = cell->bytes;
	}

	/* estimate >= threshold and >= 2 * total / FL_SKETCH_COLS */
	if (min_packets >= ac->heavy_packets &&
	    (min_packets << (FL_SKETCH_COLS_SHIFT - 1)) >= ac->total->packets)
		return 1;
	if (min_bytes >= ac->heavy_bytes &&
	    (min_bytes << (FL_SKETCH_COLS_SHIFT - 1)) >= ac->total->bytes)
		return 1;
	return 0;
}

static __always_inline void traffic_add(struct fl_ip_stats *stats,
					enum fl_side side,
					const struct account_ctx *ac)
{
	const struct fl_packet *pkt = ac->pkt;
	struct fl_traffic *t = &stats->side[side & 1];
	__u32 class = FL_RX_COUNT;

	t->packets += ac->packets;
	t->bytes += ac->bytes;
	t->syns += ac->syn;
	stats->last_seen_ns = ac->now;
	if (side != FL_SIDE_DST)
		return;
	if (pkt->l4_proto == FL_IPPROTO_TCP)
		class = FL_RX_TCP;
	else if (pkt->l4_proto == FL_IPPROTO_UDP)
		class = FL_RX_UDP;
	else if (pkt->l4_proto == FL_IPPROTO_ICMP ||
		 pkt->l4_proto == FL_IPPROTO_ICMPV6)
		class = FL_RX_ICMP;
	if (class < FL_RX_COUNT) {
		stats->rx_packets[class] += ac->packets;
		stats->rx_bytes[class] += ac->bytes;
	}
	/* A fragment is never batched, but it can end a batch of its
	 * flow's whole packets: only the fragment itself is one. */
	if (pkt->frag != FL_FRAG_NONE) {
		stats->rx_packets[FL_RX_FRAG]++;
		stats->rx_bytes[FL_RX_FRAG] += pkt->len;
	}
}

/* One in sample_rate packets to a protected address, within this CPU's
 * budget, goes to the DDoS engine (see account.h). */
static __always_inline void sample_packet(const struct account_ctx *ac)
{
	const struct fl_packet *pkt = ac->pkt;
	struct fl_sample_quota *quota;
	struct fl_sample s = {};
	__u32 zero = 0, slot;

	if (!ac->sample_rate || (bpf_get_prandom_u32() & (ac->sample_rate - 1)))
		return;
	quota = bpf_map_lookup_elem(&FL_MAP_SAMPLE_QUOTA, &zero);
	if (!quota)
		return;
	slot = ac->now >> FL_SAMPLE_SLOT_SHIFT;
	if (quota->slot != slot) {
		quota->slot = slot;
		quota->used = 0;
	}
	if (quota->used >= FL_SAMPLE_BUDGET)
		return;
	quota->used++;

	s.src = pkt->src;
	s.dst = pkt->dst;
	if (pkt->has_l4 && (pkt->l4_proto == FL_IPPROTO_TCP ||
			    pkt->l4_proto == FL_IPPROTO_UDP)) {
		s.sport = bpf_ntohs(pkt->sport);
		s.dport = bpf_ntohs(pkt->dport);
	}
	s.len = pkt->len;
	s.family = pkt->l3_proto == ETH_P_IPV6 ? 6 : 4;
	s.proto = pkt->l4_proto;
	s.tcp_flags = pkt->has_l4 ? pkt->tcp_flags : 0;
	s.frag = pkt->frag;
	bpf_ringbuf_output(&FL_MAP_SAMPLES, &s, sizeof(s), 0);
}

static __always_inline int is_protected(const union fl_addr *addr, int is_ipv6)
{
	if (is_ipv6) {
		struct fl_lpm6_key key = { .prefixlen = 128 };

		__builtin_memcpy(key.addr, addr->b, 16);
		return !!bpf_map_lookup_elem(&FL_MAP_PROTECT6, &key);
	} else {
		struct fl_lpm4_key key = { .prefixlen = 32 };

		__builtin_memcpy(key.addr, addr->b, 4);
		return !!bpf_map_lookup_elem(&FL_MAP_PROTECT4, &key);
	}
}

/* A new entry, from .rodata: too big for the stack next to the rest. */
static const struct fl_ip_stats ip_stats_zero;

/* Was @addr ever given exact counters? No false negatives; a false
 * positive (or an entry since evicted) only costs the lookup it saves. */
static __always_inline int maybe_tracked(const union fl_addr *addr)
{
	return !bpf_map_peek_elem(&FL_MAP_TRACKED, (void *)addr);
}

/* Returns 1 if the address has exact counters. */
static __always_inline int exact_update(void *map, const void *key,
					const union fl_addr *addr, int is_ipv6,
					enum fl_side side, int heavy,
					const struct account_ctx *ac)
{
	struct fl_ip_stats *stats = NULL;

	if (maybe_tracked(addr))
		stats = bpf_map_lookup_elem(map, key);
	if (!stats) {
		if (!heavy && !is_protected(addr, is_ipv6))
			return 0;
		/* Insert empty, then count through the lookup below, so a
		 * packet racing on another CPU is never lost; the reasons
		 * are set below, as for a copy another CPU created. */
		bpf_map_update_elem(map, key, &ip_stats_zero, BPF_NOEXIST);
		bpf_map_push_elem(&FL_MAP_TRACKED, (void *)addr, BPF_ANY);
		stats = bpf_map_lookup_elem(map, key);
		if (!stats)
			return 0;
	}
	if (!stats->checked) {
		/* Another CPU created the entry, so this CPU's copy is all
		 * zeroes, and sampling asks this copy whether the address is
		 * protected: one trie lookup per CPU per entry. */
		if (is_protected(addr, is_ipv6))
			stats->reason |= FL_TRACK_PROTECTED;
		stats->checked = 1;
	}
	if (heavy)
		stats->reason |= FL_TRACK_HEAVY;
	traffic_add(stats, side, ac);
	if (side == FL_SIDE_DST && (stats->reason & FL_TRACK_PROTECTED))
		sample_packet(ac);
	return 1;
}

static __always_inline int account_address(const union fl_addr *addr,
					    int is_ipv6, enum fl_side side,
					    __u64 seed,
					    const struct account_ctx *ac)
{
	int heavy = sketch_update(side, fl_hash_addr(seed, addr, is_ipv6), ac);

	if (is_ipv6) {
		struct fl_ip6_key key;

		__builtin_memcpy(key.addr, addr->b, 16);
		return exact_update(&FL_MAP_IP6_STATS, &key, addr, 1, side,
				    heavy, ac);
	} else {
		struct fl_ip4_key key;

		__builtin_memcpy(key.addr, addr->b, 4);
		return exact_update(&FL_MAP_IP4_STATS, &key, addr, 0, side,
				    heavy, ac);
	}
}

/*
 * Whether a packet of a known flow only joins its flow's batch (see
 * FL_ACCT_BATCH in <flowlens/flow.h>): every packet of a known flow is
 * added to the batch; account_packet() takes the batch out when this says
 * no. Inline: the common packet makes no call for stage 2.
 */
static __always_inline bool account_batched(const struct fl_config *cfg,
					    const struct fl_packet *pkt,
					    struct fl_flow *flow)
{
	if (!flow)
		return false;
	flow->acct_packets++;
	flow->acct_bytes += pkt->len;
	return flow_bypassed(cfg, flow) &&
	       !(flow->acct_flags & FL_FLOW_ACCT_EXACT) &&
	       flow->acct_gen == (__u16)cfg->track_gen &&
	       pkt->frag == FL_FRAG_NONE && !packet_is_syn(pkt) &&
	       flow->acct_packets < FL_ACCT_BATCH;
}

/*
 * Global, so the verifier checks it once; see parse_packet(). @flow is the
 * packet's flow entry or NULL: its batch, this packet included, is what is
 * counted, and it learns whether an address has exact counters.
 */
__noinline int account_packet(const struct fl_config *cfg,
			      const struct fl_packet *pkt, struct fl_flow *flow)
{
	__u32 total_index = FL_SKETCH_TOTAL;
	struct account_ctx ac;
	int is_ipv6, exact;

	if (!cfg || !pkt)
		return 0;
	is_ipv6 = pkt->l3_proto == ETH_P_IPV6;

	ac.total = bpf_map_lookup_elem(&FL_MAP_SKETCH, &total_index);
	if (!ac.total)
		return 0;
	/* The coarse clock (jiffies resolution) is plenty for ~1 s epochs and
	 * last-seen times, and costs a fraction of bpf_ktime_get_ns() on
	 * paravirtualised clocks (~20 ns less per packet measured here). */
	ac.now = bpf_ktime_get_coarse_ns();
	ac.epoch = ac.now >> FL_EPOCH_SHIFT;
	ac.pkt = pkt;
	ac.packets = 1;
	ac.bytes = pkt->len;
	if (flow && flow->acct_packets) {
		ac.packets = flow->acct_packets;
		ac.bytes = flow->acct_bytes;
		flow->acct_packets = 0;
		flow->acct_bytes = 0;
	}
	ac.sample_rate = cfg->sample_rate;
	ac.syn = packet_is_syn(pkt);
	ac.heavy_packets = cfg->heavy_packets ?: FL_HEAVY_PACKETS_UNSET;
	ac.heavy_bytes = cfg->heavy_bytes ?: FL_HEAVY_BYTES_UNSET;
	cell_add(ac.total, &ac);

	exact = account_address(&pkt->src, is_ipv6, FL_SIDE_SRC,
				cfg->hash_seed, &ac);
	exact |= account_address(&pkt->dst, is_ipv6, FL_SIDE_DST,
				 cfg->hash_seed, &ac);
	if (flow) {
		flow->acct_flags = exact ? FL_FLOW_ACCT_EXACT : 0;
		flow->acct_gen = cfg->track_gen;
	}
	return 0;
}

#endif /* FLOWLENS_BPF_ACCOUNT_H */
