/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * API: sip_count() and sip_limited() - the SIP stage (VoIP), counted with
 * stage 2 and enforced with stages 3-4 of DESIGN.md. What is counted and
 * why no spoofed packet inserts state: include/flowlens/voip.h.
 *
 * Nothing runs while flowlensd has VoIP off (fl_config.voip == 0); then
 * for a TCP or UDP packet, one array lookup and a compare per SIP port;
 * only a SIP port's packet reads its first payload bytes.
 */
#ifndef FLOWLENS_BPF_VOIP_H
#define FLOWLENS_BPF_VOIP_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <flowlens/flowlens.h>
#include "parse.h"
#include "gcra.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fl_voip_conf);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_VOIP_CONF SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, FL_VOIP_PREFIXES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fl_lpm4_key);
	__type(value, struct fl_voip_prefix);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_VOIP4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, FL_VOIP_PREFIXES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fl_lpm6_key);
	__type(value, struct fl_voip_prefix);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_VOIP6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, FL_SIP_STATS_MAX);
	__type(key, struct fl_sip_key);
	__type(value, struct fl_sip_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_SIP_STATS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_SIP_SKETCH_ENTRIES);
	__type(key, __u32);
	__type(value, struct fl_sip_cell);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_SIP_SKETCH SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fl_sip_totals);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_SIP_TOTALS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FL_SIP_LIMITS_MAX);
	__type(key, struct fl_sip_limit_key);
	__type(value, struct fl_sip_limit);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_SIP_LIMIT SEC(".maps");

#define SIP_PEEK 10 /* "SUBSCRIBE " is the longest word we look at */

/* Big-endian words of the first bytes, as they are on the wire. */
#define W4(a, b, c, d) \
	(((__u32)(a) << 24) | ((__u32)(b) << 16) | ((__u32)(c) << 8) | (d))

/* The method or response class a payload starts with. @p holds
 * SIP_PEEK bytes. */
static __always_inline __u32 sip_kind(const __u8 *p)
{
	__u32 w = W4(p[0], p[1], p[2], p[3]);

	switch (w) {
	case W4('I', 'N', 'V', 'I'):
		return p[4] == 'T' && p[5] == 'E' && p[6] == ' ' ?
			       FL_SIP_INVITE :
			       FL_SIP_OTHER;
	case W4('R', 'E', 'G', 'I'):
		return p[4] == 'S' && p[5] == 'T' && p[6] == 'E' &&
				       p[7] == 'R' && p[8] == ' ' ?
			       FL_SIP_REGISTER :
			       FL_SIP_OTHER;
	case W4('O', 'P', 'T', 'I'):
		return p[4] == 'O' && p[5] == 'N' && p[6] == 'S' &&
				       p[7] == ' ' ?
			       FL_SIP_OPTIONS :
			       FL_SIP_OTHER;
	case W4('B', 'Y', 'E', ' '):
		return FL_SIP_BYE;
	case W4('C', 'A', 'N', 'C'):
		return p[4] == 'E' && p[5] == 'L' && p[6] == ' ' ?
			       FL_SIP_CANCEL :
			       FL_SIP_OTHER;
	case W4('A', 'C', 'K', ' '):
		return FL_SIP_ACK;
	case W4('S', 'U', 'B', 'S'):
		return p[4] == 'C' && p[5] == 'R' && p[6] == 'I' &&
				       p[7] == 'B' && p[8] == 'E' &&
				       p[9] == ' ' ?
			       FL_SIP_SUBSCRIBE :
			       FL_SIP_OTHER;
	case W4('N', 'O', 'T', 'I'):
		return p[4] == 'F' && p[5] == 'Y' && p[6] == ' ' ?
			       FL_SIP_NOTIFY :
			       FL_SIP_OTHER;
	case W4('M', 'E', 'S', 'S'):
		return p[4] == 'A' && p[5] == 'G' && p[6] == 'E' &&
				       p[7] == ' ' ?
			       FL_SIP_MESSAGE :
			       FL_SIP_OTHER;
	case W4('I', 'N', 'F', 'O'):
		return p[4] == ' ' ? FL_SIP_INFO : FL_SIP_OTHER;
	case W4('P', 'R', 'A', 'C'):
		return p[4] == 'K' && p[5] == ' ' ? FL_SIP_PRACK : FL_SIP_OTHER;
	case W4('U', 'P', 'D', 'A'):
		return p[4] == 'T' && p[5] == 'E' && p[6] == ' ' ?
			       FL_SIP_UPDATE :
			       FL_SIP_OTHER;
	case W4('R', 'E', 'F', 'E'):
		return p[4] == 'R' && p[5] == ' ' ? FL_SIP_REFER : FL_SIP_OTHER;
	case W4('P', 'U', 'B', 'L'):
		return p[4] == 'I' && p[5] == 'S' && p[6] == 'H' &&
				       p[7] == ' ' ?
			       FL_SIP_PUBLISH :
			       FL_SIP_OTHER;
	case W4('S', 'I', 'P', '/'):
		/* "SIP/2.0 1xx" .. "SIP/2.0 6xx" */
		if (p[4] == '2' && p[5] == '.' && p[6] == '0' && p[7] == ' ' &&
		    p[8] >= '1' && p[8] <= '6')
			return FL_SIP_RESP_1XX + (p[8] - '1');
		return FL_SIP_OTHER;
	}
	return FL_SIP_OTHER;
}

static __always_inline int sip_port_of(const struct fl_voip_conf *vc,
				       __u16 port)
{
	int i;

#pragma unroll
	for (i = 0; i < FL_SIP_PORTS_MAX; i++) {
		if (!vc->ports[i])
			return i == 0 && port == 5060; /* unset: the default */
		if (vc->ports[i] == port)
			return 1;
	}
	return 0;
}

/* Is it a SIP port's packet (TCP or UDP, parsed)? Inline, so the common
 * packet makes no call for the SIP stage. */
static __always_inline int sip_wanted(const struct fl_packet *pkt)
{
	struct fl_voip_conf *vc;
	__u32 zero = 0;

	vc = bpf_map_lookup_elem(&FL_MAP_VOIP_CONF, &zero);
	return vc && (sip_port_of(vc, bpf_ntohs(pkt->dport)) ||
		      sip_port_of(vc, bpf_ntohs(pkt->sport)));
}

/* The protected prefix holding @addr: its slot, or -1. */
static __always_inline int voip_prefix(const struct fl_packet *pkt)
{
	struct fl_voip_prefix *vp;

	if (pkt->l3_proto == ETH_P_IPV6) {
		struct fl_lpm6_key key = { .prefixlen = 128 };

		__builtin_memcpy(key.addr, pkt->dst.b, 16);
		vp = bpf_map_lookup_elem(&FL_MAP_VOIP6, &key);
	} else {
		struct fl_lpm4_key key = { .prefixlen = 32 };

		__builtin_memcpy(key.addr, pkt->dst.b, 4);
		vp = bpf_map_lookup_elem(&FL_MAP_VOIP4, &key);
	}
	return vp ? (int)vp->slot : -1;
}

static const struct fl_sip_stats sip_stats_zero;

static __always_inline void sip_stats_add(struct fl_sip_stats *st, __u32 kind,
					  __u32 len, __u64 now)
{
	if (kind < FL_SIP_KINDS)
		st->kinds[kind]++;
	st->bytes += len;
	st->last_seen_ns = now;
}

/* Counts the packet for @addr on @side; creates the entry if @create. */
static __always_inline int sip_exact(const union fl_addr *addr, __u8 family,
				     __u32 slot, __u8 side, __u32 kind,
				     __u32 len, __u64 now, int create)
{
	struct fl_sip_key key = {
		.addr = *addr, .slot = slot, .family = family, .side = side
	};
	struct fl_sip_stats *st = bpf_map_lookup_elem(&FL_MAP_SIP_STATS, &key);

	if (!st) {
		if (!create)
			return 0;
		bpf_map_update_elem(&FL_MAP_SIP_STATS, &key, &sip_stats_zero,
				    BPF_NOEXIST);
		st = bpf_map_lookup_elem(&FL_MAP_SIP_STATS, &key);
		if (!st)
			return 0;
	}
	sip_stats_add(st, kind, len, now);
	return 1;
}

/* Adds the packet to its source's cells; 1 if the source sends enough
 * towards the prefix for exact counters (voip.h). */
static __always_inline int sip_sketch(const struct fl_voip_conf *vc,
				      const struct fl_packet *pkt, __u32 slot,
				      __u32 epoch)
{
	__u64 hash = fl_hash_addr(vc->hash_seed ^ ((__u64)slot << 32),
				  &pkt->src, pkt->l3_proto == ETH_P_IPV6);
	__u32 min = ~0U, row, index = FL_SIP_SKETCH_TOTAL;
	__u32 heavy = vc->heavy_packets ?: 8;
	struct fl_sip_cell *cell, *total;

	total = bpf_map_lookup_elem(&FL_MAP_SIP_SKETCH, &index);
	if (!total)
		return 0;
	if (total->epoch != epoch) {
		total->epoch = epoch;
		total->packets = 0;
	}
	total->packets++;
#pragma unroll
	for (row = 0; row < FL_SIP_SKETCH_ROWS; row++) {
		index = row * FL_SIP_SKETCH_COLS +
			((hash >> (row * FL_SIP_SKETCH_COLS_SHIFT)) &
			 (FL_SIP_SKETCH_COLS - 1));
		cell = bpf_map_lookup_elem(&FL_MAP_SIP_SKETCH, &index);
		if (!cell)
			return 0;
		if (cell->epoch != epoch) {
			cell->epoch = epoch;
			cell->packets = 0;
		}
		cell->packets++;
		if (cell->packets < min)
			min = cell->packets;
	}
	/* over heavy by twice the average cell: while an epoch's total is
	 * small, twice the average alone would flag every source */
	return min > heavy &&
	       ((__u64)(min - heavy) << (FL_SIP_SKETCH_COLS_SHIFT - 1)) >=
		       total->packets;
}

/*
 * Global, so the verifier checks it once. Counts a SIP port's packet
 * (pkt has a parsed TCP or UDP header) and returns its kind; the
 * destination's protected slot goes to *slot (-1: none).
 */
__noinline int sip_count(struct xdp_md *ctx, const struct fl_packet *pkt,
			 int *slot)
{
	void *data, *data_end;
	struct fl_sip_totals *tot;
	struct fl_voip_conf *vc;
	__u8 peek[SIP_PEEK];
	__u32 zero = 0, off, kind;
	__u8 family;
	__u64 now;
	int s;

	if (!ctx || !pkt || !slot)
		return FL_SIP_KIND_NONE;
	*slot = -1;
	vc = bpf_map_lookup_elem(&FL_MAP_VOIP_CONF, &zero);
	if (!vc)
		return FL_SIP_KIND_NONE;
	if (!sip_port_of(vc, bpf_ntohs(pkt->dport)) &&
	    !sip_port_of(vc, bpf_ntohs(pkt->sport)))
		return FL_SIP_KIND_NONE;
	tot = bpf_map_lookup_elem(&FL_MAP_SIP_TOTALS, &zero);
	if (!tot)
		return FL_SIP_KIND_NONE;

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	off = pkt->l4_off & 0x3fff;
	if (pkt->l4_proto == FL_IPPROTO_UDP) {
		if (pkt->l4_len <= 8)
			return FL_SIP_KIND_NONE; /* nothing in it */
		off += 8;
	} else {
		__u8 *doff = data + off + 12;

		if ((void *)(doff + 1) > data_end) {
			tot->bad_tcp++;
			return FL_SIP_KIND_NONE;
		}
		if (pkt->l4_len <= (__u32)(*doff >> 4) * 4)
			return FL_SIP_KIND_NONE; /* an ACK: no payload */
		off += (*doff >> 4) * 4;
	}
	off &= 0x3fff;
	kind = FL_SIP_OTHER;
	if (data + off + SIP_PEEK <= data_end &&
	    !bpf_xdp_load_bytes(ctx, off, peek, SIP_PEEK))
		kind = sip_kind(peek);
	barrier_var(kind); /* the verifier must see the bound checked */
	if (kind >= FL_SIP_KINDS)
		kind = FL_SIP_OTHER;
	tot->kinds[kind]++;

	s = voip_prefix(pkt);
	if (s < 0)
		return kind;
	*slot = s;
	tot->protected_packets++;
	now = bpf_ktime_get_coarse_ns();
	family = pkt->l3_proto == ETH_P_IPV6 ? 6 : 4;
	/* a protected host: always; its count is the prefix's size at most */
	sip_exact(&pkt->dst, family, s, FL_SIP_SIDE_DST, kind, pkt->len, now,
		  1);
	/* its sender: only once it sends enough to matter */
	if (!sip_exact(&pkt->src, family, s, FL_SIP_SIDE_SRC, kind, pkt->len,
		       now, 0) &&
	    sip_sketch(vc, pkt, s, now >> FL_EPOCH_SHIFT) &&
	    sip_exact(&pkt->src, family, s, FL_SIP_SIDE_SRC, kind, pkt->len,
		      now, 1))
		tot->tracked_sources++;
	return kind;
}

/*
 * 1 if a method limiter on the packet's (protected) destination drops it.
 * The caller has ruled out allowlisted sources: carriers are never
 * limited.
 */
static __always_inline int sip_limited(const struct fl_packet *pkt, __u32 kind)
{
	struct fl_sip_limit_key key = {};
	struct fl_sip_limit *lim;
	struct fl_sip_totals *tot;
	__u32 zero = 0;

	if (kind >= FL_SIP_METHOD_COUNT)
		return 0;
	key.addr = pkt->dst;
	key.family = pkt->l3_proto == ETH_P_IPV6 ? 6 : 4;
	key.method = kind;
	lim = bpf_map_lookup_elem(&FL_MAP_SIP_LIMIT, &key);
	if (!lim)
		return 0;
	/* the coarse clock, as the policers': a tick's jitter is within
	 * GCRA_SLACK_NS, and the fine clock costs ~25 ns here */
	if (gcra_conform(&lim->tat, bpf_ktime_get_coarse_ns(), lim->cost,
			 lim->depth, true)) {
		__sync_fetch_and_add(&lim->passed, 1);
		return 0;
	}
	__sync_fetch_and_add(&lim->dropped, 1);
	tot = bpf_map_lookup_elem(&FL_MAP_SIP_TOTALS, &zero);
	kind &= 0xf; /* bounds for the verifier: kind was spilled */
	if (tot && kind < FL_SIP_METHOD_COUNT)
		tot->limited[kind]++;
	return 1;
}

#endif /* FLOWLENS_BPF_VOIP_H */
