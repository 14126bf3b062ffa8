/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * API: forward_packet() - stage 8 of DESIGN.md in router mode;
 *      forward_route() - its decision and rewrite without the counting
 *      (stage 7 routes a packet it escalates with it).
 *
 * The kernel's FIB and neighbour tables are the control plane: static
 * routes, FRR or GoBGP keep working unchanged. A packet the FIB resolves
 * to a neighbour behind an interface flowlensd manages gets its MACs
 * rewritten and its TTL/hop limit decremented here and leaves through
 * XDP_REDIRECT (FL_MAP_TX_PORTS), never touching the kernel stack.
 * Everything else - ARP/ND, packets for the box itself, no route, no
 * neighbour yet, TTL about to expire, MTU exceeded - is passed to the
 * kernel, which does what a router must (resolve, answer, send the ICMP
 * error), and the reason is counted in fl_if_stats.fwd_pass.
 */
#ifndef FLOWLENS_BPF_FORWARD_H
#define FLOWLENS_BPF_FORWARD_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <flowlens/flowlens.h>
#include "parse.h"
#include "stats.h"

#define FL_AF_INET 2
#define FL_AF_INET6 10
#define FL_IPV6_FLOWINFO_MASK bpf_htonl(0x0FFFFFFF)
#define FL_ETH_ALEN 6

/* fwd_pass reasons BLACKHOLE..NO_SRC_ADDR are the FIB's codes, in order. */
_Static_assert(FL_FWD_PASS_NO_SRC_ADDR - FL_FWD_PASS_BLACKHOLE ==
		       BPF_FIB_LKUP_RET_NO_SRC_ADDR -
			       BPF_FIB_LKUP_RET_BLACKHOLE,
	       "fwd_pass reasons follow enum bpf_fib_lookup's codes");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, FL_IF_STATS_MAX);
	__type(key, __u32); /* ifindex */
	__type(value, __u32); /* the same ifindex */
	/* Not pinned: the kernel adds BPF_F_RDONLY_PROG to a devmap's flags,
	 * and libbpf 1.1 then refuses to reuse the pinned map. flowlensd
	 * fills it right after attaching; until then packets go to the
	 * kernel (egress_not_managed), which forwards them. */
} FL_MAP_TX_PORTS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FL_IF_STATS_MAX);
	__type(key, __u32); /* ifindex */
	__type(value, struct fl_port_mac);
} FL_MAP_PORT_MACS SEC(".maps");

/* A unicast frame for another MAC reaches XDP when the port is in
 * promiscuous mode (a bridge, tcpdump); the kernel would drop it, and a
 * router must not forward it. No entry (loaded without flowlensd): no check. */
static __always_inline bool for_another_host(const struct ethhdr *eth,
					     __u32 ifindex)
{
	const struct fl_port_mac *own;

	own = bpf_map_lookup_elem(&FL_MAP_PORT_MACS, &ifindex);
	if (!own)
		return false;
	return eth->h_dest[0] != own->addr[0] ||
	       eth->h_dest[1] != own->addr[1] ||
	       eth->h_dest[2] != own->addr[2] ||
	       eth->h_dest[3] != own->addr[3] ||
	       eth->h_dest[4] != own->addr[4] || eth->h_dest[5] != own->addr[5];
}

static __always_inline int forward_pass(struct fl_if_stats *stats,
					enum fl_fwd_pass_reason reason)
{
	stats->fwd_pass[reason]++;
	return verdict(stats, XDP_PASS);
}

/* What the kernel's ip_decrease_ttl() does: the checksum changes by the
 * one's complement of 0x0100 in the TTL/protocol word. */
static __always_inline void ipv4_decrease_ttl(struct iphdr *ip)
{
	__u32 check = ip->check;

	check += bpf_htons(0x0100);
	ip->check = (__sum16)(check + (check >= 0xFFFF));
	ip->ttl--;
}

static __always_inline int fib_fill_ipv4(struct bpf_fib_lookup *fib,
					 struct iphdr *ip)
{
	fib->family = FL_AF_INET;
	fib->tos = ip->tos;
	fib->tot_len = bpf_ntohs(ip->tot_len);
	fib->ipv4_src = ip->saddr;
	fib->ipv4_dst = ip->daddr;
	return FL_FWD_PASS_COUNT;
}

static __always_inline int fib_fill_ipv6(struct bpf_fib_lookup *fib,
					 struct ipv6hdr *ip6)
{
	__u8 first = ip6->daddr.in6_u.u6_addr8[0];

	/* Multicast (ff00::/8) and link-local (fe80::/10) never leave by a
	 * route; the hop-by-hop header must be read by every router. */
	if (first == 0xff ||
	    (first == 0xfe && (ip6->daddr.in6_u.u6_addr8[1] & 0xc0) == 0x80) ||
	    ((ip6->saddr.in6_u.u6_addr8[0] == 0xfe &&
	      (ip6->saddr.in6_u.u6_addr8[1] & 0xc0) == 0x80)))
		return FL_FWD_PASS_NOT_UNICAST;
	if (ip6->nexthdr == FL_IPPROTO_HOPOPTS)
		return FL_FWD_PASS_IP6_HOPOPTS;

	fib->family = FL_AF_INET6;
	fib->flowinfo = *(__be32 *)ip6 & FL_IPV6_FLOWINFO_MASK;
	fib->tot_len = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);
	__builtin_memcpy(fib->ipv6_src, &ip6->saddr, sizeof(fib->ipv6_src));
	__builtin_memcpy(fib->ipv6_dst, &ip6->daddr, sizeof(fib->ipv6_dst));
	return FL_FWD_PASS_COUNT;
}

/*
 * The routing decision and the rewrite, without counting: returns
 * FL_FWD_PASS_COUNT once the frame has its new MACs and TTL and the
 * redirect to *egress is set up (bpf_redirect_map), or the reason the
 * kernel should have it, frame untouched. Stage 7 (flowcache.h) uses it
 * too: a routed packet escalated to a worker is rewritten the same way.
 */
static __always_inline int
forward_route(struct xdp_md *ctx, const struct fl_packet *pkt, __u32 *egress)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct bpf_fib_lookup fib = {};
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = NULL;
	struct iphdr *ip = NULL;
	int reason, rc;

	if (!pkt->has_l3)
		return FL_FWD_PASS_NOT_IP;
	/* The kernel's VLAN devices own tagged traffic (and their routes). */
	if (pkt->vlan_depth)
		return FL_FWD_PASS_VLAN;
	if ((void *)(eth + 1) > data_end)
		return FL_FWD_PASS_NOT_IP;
	if (eth->h_dest[0] & 1)
		return FL_FWD_PASS_NOT_UNICAST;
	if (for_another_host(eth, ctx->ingress_ifindex))
		return FL_FWD_PASS_OTHER_HOST;
	if (pkt->ttl <= 1)
		return FL_FWD_PASS_TTL;

	/* Untagged, so the IP header follows the Ethernet header directly. */
	if (pkt->l3_proto == ETH_P_IP) {
		ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > data_end)
			return FL_FWD_PASS_MALFORMED;
		reason = fib_fill_ipv4(&fib, ip);
	} else {
		ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > data_end)
			return FL_FWD_PASS_MALFORMED;
		reason = fib_fill_ipv6(&fib, ip6);
	}
	if (reason != FL_FWD_PASS_COUNT)
		return reason;

	fib.ifindex = ctx->ingress_ifindex;
	fib.l4_protocol = pkt->l4_proto;
	if (pkt->has_l4) {
		fib.sport = pkt->sport;
		fib.dport = pkt->dport;
	}

	/* A steered flow's table, as 'ip route ... table N' fills it: a
	 * direct lookup there, no policy routing rules (6.7's TBID) */
	if (pkt->fib_table) {
		fib.tbid = pkt->fib_table;
		rc = bpf_fib_lookup(ctx, &fib, sizeof(fib),
				    BPF_FIB_LOOKUP_DIRECT |
					    BPF_FIB_LOOKUP_TBID);
	} else {
		rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	}
	if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
		if (rc < BPF_FIB_LKUP_RET_BLACKHOLE ||
		    rc > BPF_FIB_LKUP_RET_NO_SRC_ADDR)
			return FL_FWD_PASS_NOT_FORWARDED;
		return FL_FWD_PASS_BLACKHOLE +
		       (rc - BPF_FIB_LKUP_RET_BLACKHOLE);
	}

	/* Only interfaces in the devmap can take redirected frames; any
	 * other egress is the kernel's to transmit. */
	if (bpf_redirect_map(&FL_MAP_TX_PORTS, fib.ifindex, XDP_PASS) !=
	    XDP_REDIRECT)
		return FL_FWD_PASS_EGRESS;

	if (ip)
		ipv4_decrease_ttl(ip);
	else if (ip6)
		ip6->hop_limit--;
	__builtin_memcpy(eth->h_dest, fib.dmac, FL_ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, FL_ETH_ALEN);
	*egress = fib.ifindex;
	return FL_FWD_PASS_COUNT;
}

static __always_inline int forward_packet(struct xdp_md *ctx,
					  const struct fl_packet *pkt,
					  struct fl_if_stats *stats)
{
	__u32 egress;
	int reason = forward_route(ctx, pkt, &egress);

	if (reason != FL_FWD_PASS_COUNT)
		return forward_pass(stats, reason);
	return verdict(stats, XDP_REDIRECT);
}

#endif /* FLOWLENS_BPF_FORWARD_H */
