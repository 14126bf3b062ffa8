/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * API: flow_cache_packet() - stages 6 and 7 of DESIGN.md, the flow cache
 * and escalation to the workers; flow_cache_wanted() - whether a packet
 * goes through them at all. The contract (key, value, states, metadata)
 * is include/flowlens/flow.h.
 *
 * Stage 6: every IP packet that parsed, except non-first fragments (no
 * ports) and the traffic of one link (link_scoped(): neighbour discovery,
 * link-local, multicast, broadcast), is looked up in FL_MAP_FLOWS under its
 * canonical 5-tuple.
 *   miss      TCP without payload creates nothing (a SYN flood, or the
 *             handshake of a real connection, costs no state); anything
 *             else creates a CLASSIFYING entry and is escalated below.
 *   hit       last_seen, packets, bytes. A flow whose verdict is final
 *             (FL_FLOW_F_BYPASS) is counted in FL_MAP_APP_STATS and goes
 *             on to stage 8: one LRU lookup and one per-CPU array bump,
 *             the cost of every packet after classification.
 * Stage 7: a CLASSIFYING flow under its budget, or a VoIP flow while
 * fl_config asks for VoIP, goes to the AF_XDP socket of its rx queue
 * (FL_MAP_XSKS) with a struct fl_xsk_meta in front of the frame. Router
 * mode routes it first (MACs, TTL) and escalates only what XDP would
 * have forwarded; the worker transmits it on ifindex_out. Whatever
 * cannot be escalated - no socket, no metadata room - fails open: it is
 * handled as if stage 7 did not exist, and the reason is counted. So does
 * what is over the escalation cap (below).
 */
#ifndef FLOWLENS_BPF_FLOWCACHE_H
#define FLOWLENS_BPF_FLOWCACHE_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <flowlens/flowlens.h>

#include "parse.h"
#include "stats.h"
#include "forward.h"
#include "gcra.h"
#include "policy.h"

/* flow_cache_packet(): no verdict here, stage 8 decides as usual. */
#define FLOW_GO_ON (-1)

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FL_FLOWS_MAX); /* flowlensd --max-flows sets it */
	__type(key, struct fl_flow_key);
	__type(value, struct fl_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_FLOWS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_APPS_MAX);
	__type(key, __u32); /* nDPI protocol id */
	__type(value, struct fl_app_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_APP_STATS SEC(".maps");

/*
 * The workers' sockets. One XSKMAP for every interface the program runs
 * on: a socket only takes frames from the (interface, queue) it is bound
 * to - the kernel drops a frame redirected to any other - so each
 * interface has its own range, starting at FL_MAP_XSK_SLOTS[ifindex]:
 * its queue q's socket is at that base + q. An interface without a base,
 * or a queue without a socket, fails open.
 *
 * Pinned like the others: unlike a devmap, the kernel keeps an XSKMAP's
 * flags as given, so libbpf 1.1 reuses the pinned map on reload (checked
 * by the fixture test). A socket leaves the map when it is closed, so a
 * dead worker leaves an empty slot, and its queue fails open.
 */
#define FL_XSK_KEYS_MAX (FL_XSKS_MAX * FL_IF_STATS_MAX)

/*
 * The escalation cap. A worker is far slower than the driver; a flood of
 * new flows (random ports, spoofed sources, each packet a flow with
 * payload) would otherwise be escalated packet by packet, fill the
 * worker's ring and be dropped there - black-holed, where the program
 * must fail open. So each CPU escalates at most escalate_pps packets a
 * second (gcra.h, bursts up to FL_ESCALATE_BURST); the rest go on to stage
 * 8 as if there were no worker, counted, and their flows stay
 * CLASSIFYING, so a later packet is escalated when there is room.
 * Per CPU, so no atomics; not pinned: a restart starts with a full burst.
 */
struct fl_escalate_gcra {
	__u64 tat; /* theoretical arrival time, ns */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fl_escalate_gcra);
} fl_esc_gcra SEC(".maps");

static __always_inline bool escalate_allowed(const struct fl_config *cfg)
{
	__u32 rate = cfg->escalate_pps ?: FL_ESCALATE_PPS_DEFAULT, zero = 0;
	struct fl_escalate_gcra *g;
	__u64 interval;

	g = bpf_map_lookup_elem(&fl_esc_gcra, &zero);
	if (!g)
		return false;
	/* a packet every interval, FL_ESCALATE_BURST more after a pause */
	interval = 1000000000ULL / rate;
	return gcra_conform(&g->tat, bpf_ktime_get_coarse_ns(), interval,
			    interval * (FL_ESCALATE_BURST + 1), false);
}

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, FL_XSK_KEYS_MAX);
	__type(key, __u32); /* base + rx queue */
	__type(value, __u32); /* socket fd, from userspace */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_XSKS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FL_IF_STATS_MAX);
	__type(key, __u32); /* ifindex */
	__type(value, __u32); /* its first key in FL_MAP_XSKS */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_XSK_SLOTS SEC(".maps");

/* Stages 6 and 7 apply: on, and an IP packet with a 5-tuple. Inline, so a
 * packet they do not apply to costs no call. */
/*
 * The traffic of one link - IPv6 neighbour discovery and router messages,
 * link-local and multicast addresses, IPv4 multicast and broadcast - is
 * the kernel's, on the interface it came in by. Escalated, host mode would
 * hand it back through the TUN device, another interface (a neighbour
 * advertisement taken there leaves the neighbour unresolved on the real
 * one), and router mode does not forward it: it stays out of the cache.
 */
static __always_inline bool link_scoped(const struct fl_packet *pkt)
{
	if (pkt->l3_proto != ETH_P_IPV6)
		return pkt->dst.b[0] >= 224; /* multicast, class E, broadcast */
	if (pkt->dst.b[0] == 0xff ||
	    (pkt->dst.b[0] == 0xfe && (pkt->dst.b[1] & 0xc0) == 0x80) ||
	    (pkt->src.b[0] == 0xfe && (pkt->src.b[1] & 0xc0) == 0x80))
		return true;
	/* router solicitation and advertisement, neighbour solicitation and
	 * advertisement, redirect: between global addresses too */
	return pkt->has_l4 && pkt->l4_proto == FL_IPPROTO_ICMPV6 &&
	       pkt->icmp_type >= 133 && pkt->icmp_type <= 137;
}

static __always_inline bool flow_cache_wanted(const struct fl_config *cfg,
					      const struct fl_packet *pkt)
{
	return !(cfg->escalate_flags & FL_ESCALATE_F_OFF) && pkt->has_l3 &&
	       pkt->frag != FL_FRAG_LATER && !link_scoped(pkt);
}

/* The canonical key of the packet's flow; returns the direction. */
static __always_inline int flow_key_of(const struct fl_packet *pkt,
				       struct fl_flow_key *key)
{
	__be16 sport = 0, dport = 0;
	__u8 proto = pkt->l4_proto;

	if (pkt->has_l4 &&
	    (proto == FL_IPPROTO_TCP || proto == FL_IPPROTO_UDP)) {
		sport = pkt->sport;
		dport = pkt->dport;
	}
	return fl_flow_key_make(key, &pkt->src, &pkt->dst, sport, dport, proto,
				pkt->l3_proto == ETH_P_IP ? 4 : 6);
}

/*
 * The packet's flow entry, or NULL: looked up once, right after parsing,
 * for stage 2 (a classified flow's packets are accounted in batches) and
 * stage 6 (its verdict). One LRU lookup per packet in all.
 */
static __always_inline struct fl_flow *flow_find(const struct fl_packet *pkt,
						 int *dir)
{
	struct fl_flow_key key;

	*dir = flow_key_of(pkt, &key);
	return bpf_map_lookup_elem(&FL_MAP_FLOWS, &key);
}

/* A final verdict that lets the flow's packets through XDP (stage 6's
 * bypass), unless VoIP flows are to be escalated and this is one. */
static __always_inline bool flow_bypassed(const struct fl_config *cfg,
					  const struct fl_flow *flow)
{
	return (flow->flags & FL_FLOW_F_BYPASS) &&
	       !((flow->flags & FL_FLOW_F_VOIP) &&
		 (cfg->escalate_flags & FL_ESCALATE_F_VOIP));
}

/* The outer VLAN id of a tagged frame, 0 untagged: read once per flow,
 * when its entry is made, so parsing pays nothing for it. */
static __always_inline __u16 packet_vlan(struct xdp_md *ctx,
					 const struct fl_packet *pkt)
{
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *tci = (void *)(long)ctx->data + sizeof(struct ethhdr);

	if (!pkt->vlan_depth || (void *)(tci + 2) > data_end)
		return 0;
	return ((tci[0] << 8) | tci[1]) & 0x0fff;
}

/* Beyond any linear XDP frame; a bound the verifier needs (an offset up
 * to 0xffff plus the field's would exceed its packet range). */
#define FL_L4_OFF_MAX 0x3fff

/* TCP bytes after the header (parse_packet checked doff against the
 * length the IP header declares); -1 if the header cannot be read. */
static __always_inline int tcp_payload_len(struct xdp_md *ctx,
					   const struct fl_packet *pkt)
{
	void *data_end = (void *)(long)ctx->data_end;
	__u32 off = pkt->l4_off, doff;
	__u8 *tcp;

	if (off > FL_L4_OFF_MAX)
		return -1;
	tcp = (void *)(long)ctx->data + off;
	if ((void *)(tcp + 13) > data_end)
		return -1;
	doff = (tcp[12] >> 4) * 4;
	return doff > pkt->l4_len ? -1 : (int)(pkt->l4_len - doff);
}

static __always_inline __u32 escalate_budget(const struct fl_config *cfg,
					     __u8 proto)
{
	if (proto == FL_IPPROTO_TCP)
		return cfg->escalate_tcp ?: FL_ESCALATE_TCP_DEFAULT;
	if (proto == FL_IPPROTO_UDP)
		return cfg->escalate_udp ?: FL_ESCALATE_UDP_DEFAULT;
	return FL_ESCALATE_OTHER;
}

/*
 * Whether a packet may be escalated: room under the escalation cap (unless
 * @capped: a new flow's packet was admitted before its entry was made),
 * and a socket for its interface and queue (else fail open: none started,
 * or it died). Sets *slot, the socket's key in FL_MAP_XSKS.
 */
static __always_inline bool escalate_admit(struct xdp_md *ctx,
					   const struct fl_config *cfg,
					   struct fl_if_stats *stats,
					   bool capped, __u32 *slot)
{
	__u32 ifindex = ctx->ingress_ifindex, queue = ctx->rx_queue_index;
	__u32 *base;

	if (!capped && !escalate_allowed(cfg)) {
		stats->flow.escalate_rate_limited++;
		return false;
	}
	base = bpf_map_lookup_elem(&FL_MAP_XSK_SLOTS, &ifindex);
	*slot = base ? *base + queue : 0;
	if (!base || queue >= FL_XSKS_MAX ||
	    !bpf_map_lookup_elem(&FL_MAP_XSKS, slot)) {
		stats->flow.escalate_no_socket++;
		return false;
	}
	return true;
}

/*
 * Stage 7 for one packet escalate_admit() let through, to socket @slot.
 * Returns the XDP action, or FLOW_GO_ON when the packet fails open to
 * stage 8.
 */
static __always_inline int escalate(struct xdp_md *ctx,
				    const struct fl_config *cfg,
				    const struct fl_packet *pkt,
				    struct fl_if_stats *stats,
				    const struct fl_flow_key *key, int dir,
				    struct fl_flow *flow, __u32 slot)
{
	int fallback = FLOW_GO_ON, reason;
	struct fl_xsk_meta *meta;
	__u32 egress = 0;
	void *data;
	__u8 action;

	if (cfg->mode == FL_MODE_ROUTER) {
		/* Only what XDP itself would forward: what the kernel must
		 * see (ARP/ND to resolve, local, TTL expiring, MTU) goes
		 * there now, counted as stage 8 counts it. */
		reason = forward_route(ctx, pkt, &egress);
		if (reason != FL_FWD_PASS_COUNT) {
			stats->flow.escalate_not_forwarded++;
			stats->fwd_pass[reason]++;
			return XDP_PASS;
		}
		/* Rewritten, and the redirect to egress is set up: that is
		 * what happens if the worker cannot have it after all. */
		fallback = XDP_REDIRECT;
		action = FL_XSK_TX;
	} else if (cfg->mode == FL_MODE_MONITOR) {
		action = FL_XSK_CONSUME;
	} else {
		action = FL_XSK_PASS;
	}

	/* The worker needs the metadata (it never re-parses the hash, the
	 * decision or the headers): a driver without room fails open. */
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*meta))) {
		stats->flow.escalate_no_meta++;
		return fallback;
	}
	data = (void *)(long)ctx->data;
	meta = (void *)(long)ctx->data_meta;
	if ((void *)(meta + 1) > data) {
		stats->flow.escalate_no_meta++;
		return fallback;
	}
	meta->hash = fl_flow_hash(key);
	meta->ifindex_out = egress;
	meta->l3_off = pkt->l3_off;
	/* where parse_packet()'s walk found L4: the worker never walks */
	meta->l4_off = pkt->l4_off;
	meta->l4_proto = key->proto;
	meta->dir = dir;
	meta->action = action;
	meta->state = flow->state;
	meta->flags = flow->flags;
	meta->pad[0] = meta->pad[1] = meta->pad[2] = 0;
	meta->magic = FL_XSK_META_MAGIC;

	if (bpf_redirect_map(&FL_MAP_XSKS, slot, 0) != XDP_REDIRECT) {
		/* The socket went away since the lookup: as without one.
		 * The failed call cleared router mode's redirect; set it up
		 * again for the frame that is already rewritten. */
		bpf_xdp_adjust_meta(ctx, (int)sizeof(*meta));
		stats->flow.escalate_no_socket++;
		if (fallback == XDP_REDIRECT)
			return bpf_redirect_map(&FL_MAP_TX_PORTS, egress,
						XDP_PASS);
		return fallback;
	}
	__sync_fetch_and_add(&flow->escalated, 1);
	stats->flow.escalated++;
	return XDP_REDIRECT;
}

/*
 * Stage 6 for a packet of a known flow, inline: counts it and returns
 * true if the flow's cached verdict lets it through (on to stage 8), the
 * common packet's whole stage 6; false leaves the flow to
 * flow_cache_packet().
 */
static __always_inline bool flow_cache_hit(const struct fl_config *cfg,
					   const struct fl_packet *pkt,
					   struct fl_if_stats *stats,
					   struct fl_flow *flow, int dir)
{
	struct fl_app_stats *as;
	__u64 tick;
	__u32 app;

	/* The coarse clock (bpf_ktime_get_ns() cost 37 ns a packet under
	 * kvm-clock), and only once a tick: its helper call cost the
	 * common packet 3-5 ns, the inlined jiffies read next to nothing. */
	tick = bpf_jiffies64();
	if (flow->seen_tick != (__u16)tick) {
		flow->seen_tick = tick;
		flow->last_seen = bpf_ktime_get_coarse_ns();
	}
	/* Plain adds: 20 ns a packet cheaper than atomic ones; the two
	 * directions of one flow on two CPUs at the same instant can lose
	 * an increment. */
	flow->packets[dir & 1]++;
	flow->bytes[dir & 1] += pkt->len;
	flow->tcp_flags |= pkt->tcp_flags; /* 0 unless TCP */
	if (!flow_bypassed(cfg, flow))
		return false;
	app = flow->app ?: flow->master;
	as = bpf_map_lookup_elem(&FL_MAP_APP_STATS, &app);
	if (as) {
		as->packets++;
		as->bytes += pkt->len;
	}
	stats->flow.flow_bypassed++;
	return true;
}

/*
 * Stages 6 and 7 for a packet flow_cache_wanted() accepted whose flow is
 * new (@flow NULL) or known but not let through by flow_cache_hit(),
 * which has counted it. Returns the XDP action to count and return, or
 * FLOW_GO_ON for stage 8.
 *
 * A global function, like parse_packet(): verified once on its own rather
 * than once per path through the stages before it, which keeps the
 * program within the verifier's budget. Its pointer arguments arrive as
 * possibly NULL memory of their type's size, hence the checks.
 */
__noinline int flow_cache_packet(struct xdp_md *ctx,
				 const struct fl_config *cfg,
				 const struct fl_packet *pkt,
				 struct fl_if_stats *stats,
				 struct fl_flow *flow)
{
	struct fl_flow_key key;
	bool created = false;
	__u32 slot = 0;
	__u8 proto;
	int dir;

	if (!ctx || !cfg || !pkt || !stats)
		return FLOW_GO_ON;

	proto = pkt->l4_proto;
	if (!flow) {
		/* A handshake (or a bare ACK) creates nothing: nDPI needs
		 * payload, and a SYN flood must cost no state. */
		struct fl_flow fresh = {
			.state = FL_FLOW_CLASSIFYING,
			.tcp_flags = pkt->tcp_flags,
			.ifindex = ctx->ingress_ifindex,
			.vlan = packet_vlan(ctx, pkt),
			.dscp = pkt->dscp,
		};

		if (proto == FL_IPPROTO_TCP && tcp_payload_len(ctx, pkt) <= 0)
			return FLOW_GO_ON;
		/* Over the escalation cap: no state either, so a flood of
		 * new flows costs a lookup, not an insert per packet */
		if (!escalate_allowed(cfg)) {
			stats->flow.escalate_rate_limited++;
			return FLOW_GO_ON;
		}
		dir = flow_key_of(pkt, &key);
		fresh.flags = dir ? 0 : FL_FLOW_F_LO_CLIENT;
		fresh.packets[dir & 1] = 1;
		fresh.bytes[dir & 1] = pkt->len;
		fresh.last_seen = bpf_ktime_get_coarse_ns();
		fresh.first_seen = fresh.last_seen;
		fresh.seen_tick = bpf_jiffies64();
		/* Another CPU may have created it since the lookup: then it
		 * keeps its entry (and this packet is not counted there). */
		if (bpf_map_update_elem(&FL_MAP_FLOWS, &key, &fresh,
					BPF_NOEXIST))
			return FLOW_GO_ON;
		stats->flow.flow_created++;
		flow = bpf_map_lookup_elem(&FL_MAP_FLOWS, &key);
		if (!flow)
			return FLOW_GO_ON;
		created = true;
	}

	/* 7. escalate: flows being classified, within their budget, and
	 *    VoIP flows while the VoIP features want them (a new flow has
	 *    passed the cap above) */
	if (!created && !((flow->flags & FL_FLOW_F_VOIP) &&
			  (cfg->escalate_flags & FL_ESCALATE_F_VOIP))) {
		if (flow->state != FL_FLOW_CLASSIFYING)
			return FLOW_GO_ON;
		if (flow->escalated >= escalate_budget(cfg, proto)) {
			stats->flow.escalate_budget_spent++;
			return FLOW_GO_ON;
		}
	}
	if (!escalate_admit(ctx, cfg, stats, created, &slot))
		return FLOW_GO_ON;
	if (!created)
		dir = flow_key_of(pkt, &key);
	return escalate(ctx, cfg, pkt, stats, &key, dir, flow, slot);
}

/*
 * Stages 6 and 7 for a packet flow_cache_wanted() accepted: @flow is what
 * the program found after parsing, if it @looked (it does not for a SYN),
 * else the flow is looked up here. A classified flow's packet stays
 * inline; the rest is flow_cache_packet()'s.
 */
static __always_inline int
flow_cache(struct xdp_md *ctx, const struct fl_config *cfg,
	   struct fl_packet *pkt, struct fl_if_stats *stats,
	   struct fl_flow *flow, bool looked, int dir)
{
	bool bypassed;
	__u32 slot;

	if (!looked)
		flow = flow_find(pkt, &dir);
	if (!flow)
		return flow_cache_packet(ctx, cfg, pkt, stats, flow);
	bypassed = flow_cache_hit(cfg, pkt, stats, flow, dir);
	/* Its policy, once the verdict is final: on what stage 8 forwards
	 * and on what a VoIP flow still escalates (the worker sends it on
	 * as it comes back, re-marked or steered); never on a flow still
	 * being classified, so nDPI can finish. */
	slot = flow->policy[dir & 1];
	if (slot && (flow->flags & FL_FLOW_F_BYPASS)) {
		/* a SPAN port's copies: counted as they would be, never
		 * written, and a VoIP flow's still go to its worker */
		if (cfg->mode == FL_MODE_MONITOR)
			policy_apply(NULL, pkt, slot);
		else if (policy_apply(ctx, pkt, slot) == XDP_DROP)
			return XDP_DROP;
	}
	if (bypassed)
		return FLOW_GO_ON;
	return flow_cache_packet(ctx, cfg, pkt, stats, flow);
}

#endif /* FLOWLENS_BPF_FLOWCACHE_H */
