/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * API: parse_packet() - stage 1 of DESIGN.md.
 *
 * Walks Ethernet, up to two VLAN tags (802.1Q/802.1ad, QinQ), IPv4 with
 * options or IPv6 with a bounded walk over extension headers (fl_ipv6_walk()
 * in <flowlens/ipv6.h>, the one `flowlensd replay` uses too), then TCP, UDP,
 * ICMP or ICMPv6 unless the packet is a non-first fragment. Every length the
 * packet claims is checked against the frame before it is used. Returns
 * FL_PARSE_OK or the first enum fl_parse_result error. L4 headers are
 * checked against the length the IP header declares, not just the frame, so
 * Ethernet padding is never read as a header. Whatever was
 * validated before the error stays in *pkt (pkt->has_l3 says whether the
 * addresses can be trusted).
 */
#ifndef FLOWLENS_BPF_PARSE_H
#define FLOWLENS_BPF_PARSE_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <flowlens/flowlens.h>

/* uapi macros that vmlinux.h cannot carry. */
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8

/* The extension headers' numbers: <flowlens/ipv6.h>. */
#define FL_IPPROTO_ICMP 1
#define FL_IPPROTO_TCP 6
#define FL_IPPROTO_UDP 17
#define FL_IPPROTO_ICMPV6 58

#define FL_IP_MF 0x2000
#define FL_IP_OFFMASK 0x1fff

#define FL_TCP_FIN 0x01
#define FL_TCP_SYN 0x02
#define FL_TCP_RST 0x04
#define FL_TCP_PSH 0x08
#define FL_TCP_ACK 0x10

#define FL_VLAN_MAX_DEPTH 2

struct fl_vlan_hdr {
	__be16 tci;
	__be16 encapsulated_proto;
};

struct fl_packet {
	union fl_addr src;
	union fl_addr dst;
	__u32 len; /* frame length */
	__u32 l4_len; /* L4 bytes the IP header declares */
	__u16 l3_proto; /* ethertype, host order */
	__u16 l3_off; /* offsets from the start of the frame */
	__u16 l4_off;
	__be16 sport;
	__be16 dport;
	__u8 l4_proto;
	__u8 frag; /* enum fl_frag */
	__u8 vlan_depth;
	__u8 ext_headers; /* IPv6 extension headers walked */
	__u8 tcp_flags;
	__u8 dscp;
	__u8 ttl;
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 has_l3; /* addresses validated */
	__u8 has_l4; /* ports / type / flags validated */
	__u8 ip_options; /* IPv4 header longer than 20 bytes */
	__u32 fib_table; /* stage 6's steer policy: the FIB table stage 8
			    routes with; 0 the main one (bpf/policy.h) */
};

/* A connection attempt: SYN without ACK, in a TCP header that parsed. */
static __always_inline int packet_is_syn(const struct fl_packet *pkt)
{
	return pkt->has_l4 && pkt->l4_proto == FL_IPPROTO_TCP &&
	       (pkt->tcp_flags & (FL_TCP_SYN | FL_TCP_ACK)) == FL_TCP_SYN;
}

static __always_inline int parse_l2(void *data, void *data_end,
				    struct fl_packet *pkt, void **pos)
{
	struct ethhdr *eth = data;
	__u16 proto;
	int i;

	if ((void *)(eth + 1) > data_end)
		return FL_PERR_ETH_TRUNC;
	proto = bpf_ntohs(eth->h_proto);
	*pos = eth + 1;

#pragma unroll
	for (i = 0; i <= FL_VLAN_MAX_DEPTH; i++) {
		struct fl_vlan_hdr *vlan = *pos;

		if (proto != ETH_P_8021Q && proto != ETH_P_8021AD)
			break;
		if (i == FL_VLAN_MAX_DEPTH)
			return FL_PERR_VLAN_DEPTH;
		if ((void *)(vlan + 1) > data_end)
			return FL_PERR_VLAN_TRUNC;
		proto = bpf_ntohs(vlan->encapsulated_proto);
		pkt->vlan_depth++;
		*pos = vlan + 1;
	}
	pkt->l3_proto = proto;
	pkt->l3_off = *pos - data;
	return FL_PARSE_OK;
}

static __always_inline int parse_ipv4(void *data_end, struct fl_packet *pkt,
				      void **pos)
{
	struct iphdr *ip = *pos;
	__u32 hdr_len, total_len;
	__u16 frag_off;

	if ((void *)(ip + 1) > data_end)
		return FL_PERR_IP4_TRUNC;
	if (ip->version != 4)
		return FL_PERR_IP4_VERSION;
	hdr_len = ip->ihl * 4;
	if (hdr_len < sizeof(*ip))
		return FL_PERR_IP4_HDRLEN;
	if (*pos + hdr_len > data_end)
		return FL_PERR_IP4_TRUNC;
	total_len = bpf_ntohs(ip->tot_len);
	/* Trailing Ethernet padding is fine; a frame shorter than the
	 * datagram it claims to carry is not. */
	if (total_len < hdr_len || *pos + total_len > data_end)
		return FL_PERR_IP4_TOTLEN;

	pkt->src.w[0] = ip->saddr;
	pkt->dst.w[0] = ip->daddr;
	pkt->has_l3 = 1;
	pkt->ip_options = hdr_len > sizeof(*ip);
	pkt->l4_proto = ip->protocol;
	pkt->l4_len = total_len - hdr_len;
	pkt->dscp = ip->tos >> 2;
	pkt->ttl = ip->ttl;

	frag_off = bpf_ntohs(ip->frag_off);
	if (frag_off & FL_IP_OFFMASK)
		pkt->frag = FL_FRAG_LATER;
	else if (frag_off & FL_IP_MF)
		pkt->frag = FL_FRAG_FIRST;

	*pos += hdr_len;
	return FL_PARSE_OK;
}

static __always_inline int parse_ipv6(void *data_end, struct fl_packet *pkt,
				      void **pos)
{
	struct ipv6hdr *ip6 = *pos;
	__u32 payload_len, ext_len;
	const __u8 *l4;
	void *payload_end;
	__u8 nexthdr;
	int err;

	if ((void *)(ip6 + 1) > data_end)
		return FL_PERR_IP6_TRUNC;
	if (ip6->version != 6)
		return FL_PERR_IP6_VERSION;
	payload_len = bpf_ntohs(ip6->payload_len);
	payload_end = (void *)(ip6 + 1) + payload_len;
	if (payload_end > data_end)
		return FL_PERR_IP6_PAYLEN;

	__builtin_memcpy(pkt->src.b, &ip6->saddr, 16);
	__builtin_memcpy(pkt->dst.b, &ip6->daddr, 16);
	pkt->has_l3 = 1;
	pkt->dscp = ((ip6->priority << 4) | (ip6->flow_lbl[0] >> 4)) >> 2;
	pkt->ttl = ip6->hop_limit;

	/* The one walk, shared with `flowlensd replay` */
	nexthdr = ip6->nexthdr;
	l4 = (const __u8 *)(ip6 + 1);
	err = fl_ipv6_walk(&l4, data_end, payload_end, &nexthdr, &pkt->frag,
			   &pkt->ext_headers);
	if (err)
		return err;
	*pos = (void *)l4;
	/* At most payload_len: every header ended within payload_end. */
	ext_len = *pos - (void *)(ip6 + 1);

	pkt->l4_proto = nexthdr;
	pkt->l4_len = payload_len - ext_len;
	return FL_PARSE_OK;
}

static __always_inline int parse_l4(void *data_end, struct fl_packet *pkt,
				    void *pos)
{
	switch (pkt->l4_proto) {
	case FL_IPPROTO_TCP: {
		struct tcphdr *tcp = pos;
		__u32 doff;

		if ((void *)(tcp + 1) > data_end || sizeof(*tcp) > pkt->l4_len)
			return FL_PERR_TCP_TRUNC;
		doff = tcp->doff * 4;
		if (doff < sizeof(*tcp))
			return FL_PERR_TCP_DOFF;
		if (pos + doff > data_end || doff > pkt->l4_len)
			return FL_PERR_TCP_TRUNC;
		pkt->sport = tcp->source;
		pkt->dport = tcp->dest;
		pkt->tcp_flags = ((__u8 *)tcp)[13];
		break;
	}
	case FL_IPPROTO_UDP: {
		struct udphdr *udp = pos;
		__u32 len;

		if ((void *)(udp + 1) > data_end || sizeof(*udp) > pkt->l4_len)
			return FL_PERR_UDP_TRUNC;
		len = bpf_ntohs(udp->len);
		/* A first fragment carries only part of the datagram. */
		if (len < sizeof(*udp) ||
		    (pkt->frag == FL_FRAG_NONE && len > pkt->l4_len))
			return FL_PERR_UDP_LEN;
		pkt->sport = udp->source;
		pkt->dport = udp->dest;
		break;
	}
	case FL_IPPROTO_ICMP:
	case FL_IPPROTO_ICMPV6: {
		__u8 *icmp = pos;

		/* ICMP belongs to IPv4 and ICMPv6 to IPv6; the other way round
		 * is just an unusual protocol number. */
		if ((pkt->l4_proto == FL_IPPROTO_ICMP) !=
		    (pkt->l3_proto == ETH_P_IP))
			return FL_PARSE_OK;

		if ((void *)(icmp + 4) > data_end || 4 > pkt->l4_len)
			return FL_PERR_ICMP_TRUNC;
		pkt->icmp_type = icmp[0];
		pkt->icmp_code = icmp[1];
		break;
	}
	default:
		return FL_PARSE_OK;
	}
	pkt->has_l4 = 1;
	return FL_PARSE_OK;
}

/*
 * A global function: the verifier checks it once, on its own, instead of
 * once per path through everything that follows it in the caller. Without
 * that split the IPv6 extension walk times the accounting code exceeds the
 * verifier's budget. The caller only learns the return value and must treat
 * *pkt as untrusted scalars, which it does anyway.
 */
__noinline int parse_packet(struct xdp_md *ctx, struct fl_packet *pkt)
{
	void *data, *data_end, *pos;
	int err;

	if (!ctx || !pkt)
		return FL_PERR_ETH_TRUNC;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	pos = data;

	pkt->len = data_end - data;
	err = parse_l2(data, data_end, pkt, &pos);
	if (err)
		return err;

	if (pkt->l3_proto == ETH_P_IP)
		err = parse_ipv4(data_end, pkt, &pos);
	else if (pkt->l3_proto == ETH_P_IPV6)
		err = parse_ipv6(data_end, pkt, &pos);
	else
		return FL_PARSE_OK; /* ARP, LLDP, ...: nothing more to parse */
	if (err)
		return err;

	pkt->l4_off = pos - data;
	if (pkt->frag == FL_FRAG_LATER)
		return FL_PARSE_OK;
	return parse_l4(data_end, pkt, pos);
}

#endif /* FLOWLENS_BPF_PARSE_H */
