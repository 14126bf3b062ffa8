/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * API: rules_apply() - stage 4 of DESIGN.md, the tuple-space search.
 *
 * The packet's fields are ANDed with each published shape's masks and the
 * result looked up in that shape's hash: one probe per shape, whatever the
 * number of rules. Shapes come sorted by the lowest order they hold, so the
 * search stops at the first shape that cannot beat the best hit so far. A
 * hit re-checks only what its key could not hold (port and length ranges,
 * fragments). How the maps fit together: include/flowlens/rules.h.
 *
 * rate-limit is one bucket per rule shared by every CPU, kept as a GCRA
 * time (gcra.h) updated with compare-and-swap: the rate holds however RSS
 * spreads the flood over queues, where per-CPU buckets would let through
 * the rate times the number of CPUs that see it (or, split, starve a flow
 * that lands on one). The price, a contended cache line, is paid only by
 * packets that match a rate-limit rule.
 */
#ifndef FLOWLENS_BPF_RULES_H
#define FLOWLENS_BPF_RULES_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <flowlens/flowlens.h>
#include "parse.h"
#include "gcra.h"
#include "dscp.h"

/*
 * Inner map templates. Sizes, not types: clang emits only a forward
 * declaration for a type that appears nowhere but here, and libbpf cannot
 * size that. flowlensd creates the real inner maps.
 */
struct fl_rule_hash4 {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* each inner map is sized by flowlensd */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(key_size, sizeof(struct fl_rule_key4));
	__uint(value_size, sizeof(struct fl_rule_ids));
};

struct fl_rule_hash6 {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(key_size, sizeof(struct fl_rule_key6));
	__uint(value_size, sizeof(struct fl_rule_ids));
};

struct fl_rule_set_array {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct fl_rule_shape_set));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, FL_RULE_SHAPES_MAX);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct fl_rule_hash4);
} FL_MAP_RULE_SHAPE4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, FL_RULE_SHAPES_MAX);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct fl_rule_hash6);
} FL_MAP_RULE_SHAPE6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct fl_rule_set_array);
} FL_MAP_RULE_SETS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FL_RULE_MAX_DEFAULT);
	__type(key, __u32);
	__type(value, struct fl_rule_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_RULES SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FL_RULE_MAX_DEFAULT);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_RULE_TAT SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_RULE_MAX_DEFAULT);
	__type(key, __u32);
	__type(value, struct fl_rule_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_RULE_STATS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_RULE_ORIGINS * FL_RULE_ACTIONS);
	__type(key, __u32);
	__type(value, struct fl_rule_origin_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_RULE_ORIGIN_STATS SEC(".maps");

/* flowlensd's own record of every rule; the datapath never reads it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FL_RULE_MAX_DEFAULT);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct fl_rule_def);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_RULE_DEFS SEC(".maps");

/* The packet as the rules see it: the key fields unmasked, and the rest. */
struct rule_pkt {
	union fl_addr src, dst;
	struct fl_rule_key_l4 l4;
	__u16 len; /* IP datagram */
	__u8 v6;
	__u8 have; /* enum fl_rule_need */
	__u8 frag; /* enum fl_rule_frag */
	__u8 pad[3];
};

struct rule_hit {
	__u32 id; /* 0: none */
	__u32 order;
};

static __always_inline void rule_pkt_init(const struct fl_packet *pkt,
					  struct rule_pkt *rp)
{
	int icmp = pkt->l3_proto == ETH_P_IP ? FL_IPPROTO_ICMP :
					       FL_IPPROTO_ICMPV6;

	rp->src = pkt->src;
	rp->dst = pkt->dst;
	rp->v6 = pkt->l3_proto == ETH_P_IPV6;
	rp->len = pkt->l4_off - pkt->l3_off + pkt->l4_len;
	rp->frag = pkt->frag == FL_FRAG_LATER ? FL_RULE_FRAG_LATER :
		   pkt->frag == FL_FRAG_FIRST ? FL_RULE_FRAG_FIRST :
						FL_RULE_FRAG_NONE;
	rp->l4.proto = pkt->l4_proto;
	rp->l4.dscp = pkt->dscp;
	if (!pkt->has_l4)
		return;
	if (pkt->l4_proto == FL_IPPROTO_TCP ||
	    pkt->l4_proto == FL_IPPROTO_UDP) {
		rp->have |= FL_NEED_PORTS;
		rp->l4.sport = bpf_ntohs(pkt->sport);
		rp->l4.dport = bpf_ntohs(pkt->dport);
	}
	if (pkt->l4_proto == FL_IPPROTO_TCP) {
		rp->have |= FL_NEED_TCP;
		rp->l4.tcp_flags = pkt->tcp_flags;
	}
	if (pkt->l4_proto == icmp) {
		rp->have |= FL_NEED_ICMP;
		rp->l4.icmp_type = pkt->icmp_type;
		rp->l4.icmp_code = pkt->icmp_code;
	}
}

static __always_inline void mask_l4(struct fl_rule_key_l4 *key,
				    const struct fl_rule_key_l4 *v,
				    const struct fl_rule_key_l4 *m)
{
	key->sport = v->sport & m->sport;
	key->dport = v->dport & m->dport;
	key->proto = v->proto & m->proto;
	key->dscp = v->dscp & m->dscp;
	key->tcp_flags = v->tcp_flags & m->tcp_flags;
	key->icmp_type = v->icmp_type & m->icmp_type;
	key->icmp_code = v->icmp_code & m->icmp_code;
}

/* Only what the key could not hold. */
static __always_inline int rule_recheck(const struct fl_rule_entry *e,
					const struct rule_pkt *rp)
{
	if ((e->check & FL_CHECK_SPORT) &&
	    (rp->l4.sport < e->sport_min || rp->l4.sport > e->sport_max))
		return 0;
	if ((e->check & FL_CHECK_DPORT) &&
	    (rp->l4.dport < e->dport_min || rp->l4.dport > e->dport_max))
		return 0;
	if ((e->check & FL_CHECK_LEN) &&
	    (rp->len < e->len_min || rp->len > e->len_max))
		return 0;
	if (e->check & FL_CHECK_FRAG) {
		if (e->frag == FL_RULE_FRAG_ANY ?
			    rp->frag == FL_RULE_FRAG_NONE :
			    rp->frag != e->frag)
			return 0;
	}
	return 1;
}

/* The first rule of a hash entry that matches, if it beats *best. The
 * entry is sorted by (order, id): the first match is its best. */
static __always_inline void rule_chain(const struct fl_rule_ids *ids,
				       const struct rule_pkt *rp,
				       struct rule_hit *best)
{
	int c;

	for (c = 0; c < FL_RULE_CHAIN_MAX; c++) {
		__u32 id = ids->id[c];
		const struct fl_rule_entry *e;

		if (!id)
			break;
		e = bpf_map_lookup_elem(&FL_MAP_RULES, &id);
		if (!e || !e->action)
			continue;
		if (best->id && (e->order > best->order ||
				 (e->order == best->order && id > best->id)))
			break;
		if (!rule_recheck(e, rp))
			continue;
		if (e->expires_ns && bpf_ktime_get_ns() >= e->expires_ns)
			continue;
		best->id = id;
		best->order = e->order;
		break;
	}
}

static __always_inline const struct fl_rule_ids *
probe4(const struct fl_rule_shape *sh, const struct rule_pkt *rp)
{
	struct fl_rule_key4 key = { .tag = sh->tag };
	void *hash;

	hash = bpf_map_lookup_elem(&FL_MAP_RULE_SHAPE4, &sh->slot);
	if (!hash)
		return NULL;
	key.src = rp->src.w[0] & sh->src_mask.w[0];
	key.dst = rp->dst.w[0] & sh->dst_mask.w[0];
	mask_l4(&key.l4, &rp->l4, &sh->l4_mask);
	return bpf_map_lookup_elem(hash, &key);
}

static __always_inline const struct fl_rule_ids *
probe6(const struct fl_rule_shape *sh, const struct rule_pkt *rp)
{
	struct fl_rule_key6 key = { .tag = sh->tag };
	void *hash;

	hash = bpf_map_lookup_elem(&FL_MAP_RULE_SHAPE6, &sh->slot);
	if (!hash)
		return NULL;
	key.src.q[0] = rp->src.q[0] & sh->src_mask.q[0];
	key.src.q[1] = rp->src.q[1] & sh->src_mask.q[1];
	key.dst.q[0] = rp->dst.q[0] & sh->dst_mask.q[0];
	key.dst.q[1] = rp->dst.q[1] & sh->dst_mask.q[1];
	mask_l4(&key.l4, &rp->l4, &sh->l4_mask);
	return bpf_map_lookup_elem(hash, &key);
}

/*
 * Global, so the verifier checks the shape loop once on its own. Returns 1
 * and the winning rule in *best if any rule matches.
 */
__noinline int rules_lookup(const struct rule_pkt *rp, struct rule_hit *best)
{
	const struct fl_rule_shape_set *set;
	__u32 family, zero = 0;
	void *sets;
	int i;

	if (!rp || !best)
		return 0;
	family = rp->v6;
	sets = bpf_map_lookup_elem(&FL_MAP_RULE_SETS, &family);
	if (!sets)
		return 0;
	set = bpf_map_lookup_elem(sets, &zero);
	if (!set)
		return 0;
	best->id = 0;
	for (i = 0; i < FL_RULE_SHAPES_MAX; i++) {
		const struct fl_rule_shape *sh = &set->shapes[i];
		const struct fl_rule_ids *ids;

		if (i >= set->count)
			break;
		/* sorted by min_order: no later shape can win either */
		if (best->id && sh->min_order > best->order)
			break;
		if (sh->need & ~rp->have)
			continue;
		ids = family ? probe6(sh, rp) : probe4(sh, rp);
		if (ids)
			rule_chain(ids, rp, best);
	}
	return best->id != 0;
}

/* rate-limit: 1 if the packet conforms. */
static __always_inline int rule_police(const struct fl_rule_entry *e, __u32 id,
				       __u16 len)
{
	__u64 *tat = bpf_map_lookup_elem(&FL_MAP_RULE_TAT, &id);
	__u64 cost;

	if (!tat)
		return 1;
	cost = ((e->rate_unit == FL_RATE_BPS ? len : 1) * e->cost) >>
	       FL_RATE_SHIFT;
	return gcra_conform(tat, bpf_ktime_get_ns(), cost, e->depth, true);
}

enum rules_verdict {
	RULES_NONE, /* no rule matched, or a rate-limit let it through */
	RULES_DROP,
	RULES_PERMIT, /* later mitigation stages leave the packet alone */
};

/* Whether the packet's family has any shape published: without one,
 * stage 4 costs two inlined array lookups and no call. */
static __always_inline bool rules_present(const struct fl_packet *pkt)
{
	__u32 family = pkt->l3_proto == ETH_P_IPV6, zero = 0;
	const struct fl_rule_shape_set *set;
	void *sets;

	sets = bpf_map_lookup_elem(&FL_MAP_RULE_SETS, &family);
	if (!sets)
		return false;
	set = bpf_map_lookup_elem(sets, &zero);
	return set && set->count;
}

/* Stage 4 for a packet whose headers parsed. A mark is written into the
 * packet it lets through unless @ctx is NULL (a SPAN port's copies). */
static __always_inline enum rules_verdict
rules_apply(struct xdp_md *ctx, struct fl_packet *pkt)
{
	enum rules_verdict v = RULES_NONE;
	struct rule_pkt rp = {};
	struct rule_hit hit = {};
	const struct fl_rule_entry *e;
	struct fl_rule_origin_stats *os;
	struct fl_rule_stats *st;
	__u32 row;

	if (!pkt->has_l3 || !rules_present(pkt))
		return RULES_NONE;
	rule_pkt_init(pkt, &rp);
	if (!rules_lookup(&rp, &hit))
		return RULES_NONE;
	e = bpf_map_lookup_elem(&FL_MAP_RULES, &hit.id);
	st = bpf_map_lookup_elem(&FL_MAP_RULE_STATS, &hit.id);
	if (!e || !st)
		return RULES_NONE;
	st->packets++;
	st->bytes += pkt->len;
	if (e->action == FL_RULE_DROP || (e->action == FL_RULE_RATE_LIMIT &&
					  !rule_police(e, hit.id, rp.len)))
		v = RULES_DROP;
	else if (e->action == FL_RULE_PERMIT)
		v = RULES_PERMIT;
	if (v == RULES_DROP)
		st->dropped++;
	else if (e->mark && ctx)
		dscp_remark(ctx, pkt, e->mark);
	/* and the sums by origin and action, for /metrics */
	row = (e->origin & (FL_RULE_ORIGINS - 1)) * FL_RULE_ACTIONS +
	      (e->action & (FL_RULE_ACTIONS - 1));
	os = bpf_map_lookup_elem(&FL_MAP_RULE_ORIGIN_STATS, &row);
	if (os) {
		os->packets++;
		os->bytes += pkt->len;
		if (v == RULES_DROP) {
			os->dropped++;
			os->dropped_bytes += pkt->len;
		}
	}
	return v;
}

#endif /* FLOWLENS_BPF_RULES_H */
