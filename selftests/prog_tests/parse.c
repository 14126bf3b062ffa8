// SPDX-License-Identifier: Apache-2.0
/*
 * Well-formed headers: every case passes (host mode) and moves exactly the
 * counters listed, one packet of its length; any other counter that moves
 * fails the case.
 *   parse_ipv6_walk  fl_ipv6_walk(), the walk the program shares with
 *                    `flowlensd replay`, compiled here in userspace: on
 *                    every IPv6 case it lands on the L4 header the builder
 *                    wrote; too many headers and a truncated one are the
 *                    errors the program counts
 */
#include <netinet/in.h>
#include <linux/if_ether.h>

#include <flowlens/ipv6.h>

#include "pkt.h"
#include "test_progs.h"

#define IPPROTO_GRE_ 47

struct parse_case {
	const char *name;
	struct pkt_spec pkt;
	__u32 kinds;
};

static const struct parse_case cases[] = {
	/* IPv4 */
	{
		"ipv4 tcp syn",
		{ .l3 = PKT_IPV4, .l4 = PKT_TCP, .tcp.flags = PKT_TCP_SYN },
		KIND(ipv4) | KIND(tcp) | KIND(tcp_syn),
	},
	{
		"ipv4 tcp syn-ack (not a syn)",
		{ .l3 = PKT_IPV4,
		  .l4 = PKT_TCP,
		  .tcp.flags = PKT_TCP_SYN | PKT_TCP_ACK },
		KIND(ipv4) | KIND(tcp),
	},
	{
		"ipv4 tcp ack with payload",
		{ .l3 = PKT_IPV4,
		  .l4 = PKT_TCP,
		  .tcp.flags = PKT_TCP_ACK | PKT_TCP_PSH,
		  .payload_len = 100 },
		KIND(ipv4) | KIND(tcp),
	},
	{
		"ipv4 tcp with 40 option bytes (doff 15)",
		{ .l3 = PKT_IPV4,
		  .l4 = PKT_TCP,
		  .tcp = { .flags = PKT_TCP_SYN, .opt_len = 40 } },
		KIND(ipv4) | KIND(tcp) | KIND(tcp_syn),
	},
	{
		"ipv4 udp",
		{ .l3 = PKT_IPV4, .l4 = PKT_UDP, .payload_len = 32 },
		KIND(ipv4) | KIND(udp),
	},
	{
		"ipv4 udp, no payload, padded to 60 bytes",
		{ .l3 = PKT_IPV4, .l4 = PKT_UDP, .pad_len = 18 },
		KIND(ipv4) | KIND(udp),
	},
	{
		"ipv4 icmp echo",
		{ .l3 = PKT_IPV4, .l4 = PKT_ICMP, .payload_len = 56 },
		KIND(ipv4) | KIND(icmp),
	},
	{
		"ipv4 icmp, 4-byte header only",
		{ .l3 = PKT_IPV4, .l4 = PKT_ICMP, .l4_bytes = PKT_SET(4) },
		KIND(ipv4) | KIND(icmp),
	},
	{
		"ipv4 gre (other l4)",
		{ .l3 = PKT_IPV4,
		  .proto = PKT_SET(IPPROTO_GRE_),
		  .payload_len = 24 },
		KIND(ipv4) | KIND(other_l4),
	},
	{
		/* ICMPv6's number in IPv4 is not ICMPv6. */
		"ipv4 protocol 58 is not icmpv6",
		{ .l3 = PKT_IPV4, .proto = PKT_SET(58), .payload_len = 8 },
		KIND(ipv4) | KIND(other_l4),
	},
	{
		"ipv6 next header 1 is not icmp",
		{ .l3 = PKT_IPV6, .proto = PKT_SET(1), .payload_len = 8 },
		KIND(ipv6) | KIND(other_l4),
	},
	{
		"ipv4 options (router alert) udp",
		{ .l3 = PKT_IPV4,
		  .ip4.opt_len = 4,
		  .l4 = PKT_UDP,
		  .payload_len = 8 },
		KIND(ipv4) | KIND(ipv4_options) | KIND(udp),
	},
	{
		"ipv4 40 option bytes (ihl 15) tcp",
		{ .l3 = PKT_IPV4,
		  .ip4.opt_len = 40,
		  .l4 = PKT_TCP,
		  .tcp.flags = PKT_TCP_ACK },
		KIND(ipv4) | KIND(ipv4_options) | KIND(tcp),
	},
	{
		"ipv4 don't-fragment bit is not a fragment",
		{ .l3 = PKT_IPV4,
		  .ip4.frag_off = PKT_IP4_DF,
		  .l4 = PKT_UDP,
		  .payload_len = 8 },
		KIND(ipv4) | KIND(udp),
	},
	{
		"ipv4 first fragment tcp",
		{ .l3 = PKT_IPV4,
		  .ip4.frag_off = PKT_IP4_FRAG(0, 1),
		  .l4 = PKT_TCP,
		  .tcp.flags = PKT_TCP_SYN,
		  .payload_len = 64 },
		KIND(ipv4) | KIND(fragment) | KIND(tcp) | KIND(tcp_syn),
	},
	{
		"ipv4 first fragment udp, udp length covers the datagram",
		{ .l3 = PKT_IPV4,
		  .ip4.frag_off = PKT_IP4_FRAG(0, 1),
		  .l4 = PKT_UDP,
		  .udp.len = PKT_SET(8 + 3000),
		  .payload_len = 1472 },
		KIND(ipv4) | KIND(fragment) | KIND(udp),
	},
	{
		"ipv4 middle fragment (udp payload, no header)",
		{ .l3 = PKT_IPV4,
		  .ip4.frag_off = PKT_IP4_FRAG(185, 1),
		  .proto = PKT_SET(IPPROTO_UDP),
		  .payload_len = 1480 },
		KIND(ipv4) | KIND(fragment),
	},
	{
		"ipv4 last fragment (tcp payload, no header)",
		{ .l3 = PKT_IPV4,
		  .ip4.frag_off = PKT_IP4_FRAG(370, 0),
		  .proto = PKT_SET(IPPROTO_TCP),
		  .payload_len = 2 },
		KIND(ipv4) | KIND(fragment),
	},
	{
		"ipv4 non-first fragment too short for an l4 header",
		{ .l3 = PKT_IPV4,
		  .ip4.frag_off = PKT_IP4_FRAG(1, 0),
		  .proto = PKT_SET(IPPROTO_TCP),
		  .payload_len = 1 },
		KIND(ipv4) | KIND(fragment),
	},
	/* VLAN */
	{
		"802.1q ipv4 udp",
		{ .vlan.count = 1, .l3 = PKT_IPV4, .l4 = PKT_UDP },
		KIND(vlan) | KIND(ipv4) | KIND(udp),
	},
	{
		"802.1ad single tag ipv4 tcp",
		{ .vlan = { .count = 1, .tpid = { ETH_P_8021AD } },
		  .l3 = PKT_IPV4,
		  .l4 = PKT_TCP },
		KIND(vlan) | KIND(ipv4) | KIND(tcp),
	},
	{
		"qinq (802.1ad + 802.1q) ipv4 tcp syn",
		{ .vlan.count = 2,
		  .l3 = PKT_IPV4,
		  .l4 = PKT_TCP,
		  .tcp.flags = PKT_TCP_SYN },
		KIND(vlan) | KIND(qinq) | KIND(ipv4) | KIND(tcp) |
			KIND(tcp_syn),
	},
	{
		"double 802.1q ipv6 udp",
		{ .vlan = { .count = 2, .tpid = { ETH_P_8021Q, ETH_P_8021Q } },
		  .l3 = PKT_IPV6,
		  .l4 = PKT_UDP },
		KIND(vlan) | KIND(qinq) | KIND(ipv6) | KIND(udp),
	},
	{
		"qinq ipv6 fragment (first) udp",
		{ .vlan.count = 2,
		  .l3 = PKT_IPV6,
		  .ip6 = { .nr_ext = 1,
			   .ext = { PKT_EXT(FRAGMENT,
					    .frag_off = PKT_IP6_FRAG(0, 1)) } },
		  .l4 = PKT_UDP,
		  .payload_len = 16 },
		KIND(vlan) | KIND(qinq) | KIND(ipv6) | KIND(ipv6_ext) |
			KIND(fragment) | KIND(udp),
	},
	/* IPv6 */
	{
		"ipv6 tcp syn",
		{ .l3 = PKT_IPV6, .l4 = PKT_TCP, .tcp.flags = PKT_TCP_SYN },
		KIND(ipv6) | KIND(tcp) | KIND(tcp_syn),
	},
	{
		"ipv6 udp",
		{ .l3 = PKT_IPV6, .l4 = PKT_UDP, .payload_len = 100 },
		KIND(ipv6) | KIND(udp),
	},
	{
		"ipv6 icmpv6 echo",
		{ .l3 = PKT_IPV6, .l4 = PKT_ICMPV6, .payload_len = 56 },
		KIND(ipv6) | KIND(icmpv6),
	},
	{
		"ipv6 no next header (other l4)",
		{ .l3 = PKT_IPV6, .payload_len = 8 },
		KIND(ipv6) | KIND(other_l4),
	},
	{
		"ipv6 hop-by-hop + routing + dstopts tcp",
		{ .l3 = PKT_IPV6,
		  .ip6 = { .nr_ext = 3,
			   .ext = { PKT_EXT(HOPOPTS),
				    PKT_EXT(ROUTING, .len = 24),
				    PKT_EXT(DSTOPTS, .len = 16) } },
		  .l4 = PKT_TCP,
		  .tcp.flags = PKT_TCP_SYN },
		KIND(ipv6) | KIND(ipv6_ext) | KIND(tcp) | KIND(tcp_syn),
	},
	{
		"ipv6 hop-by-hop udp",
		{ .l3 = PKT_IPV6,
		  .ip6 = { .nr_ext = 1, .ext = { PKT_EXT(HOPOPTS) } },
		  .l4 = PKT_UDP },
		KIND(ipv6) | KIND(ipv6_ext) | KIND(udp),
	},
	{
		"ipv6 fragment (first) tcp",
		{ .l3 = PKT_IPV6,
		  .ip6 = { .nr_ext = 1,
			   .ext = { PKT_EXT(FRAGMENT,
					    .frag_off = PKT_IP6_FRAG(0, 1)) } },
		  .l4 = PKT_TCP,
		  .payload_len = 64 },
		KIND(ipv6) | KIND(ipv6_ext) | KIND(fragment) | KIND(tcp),
	},
	{
		"ipv6 fragment (first) udp, udp length covers the datagram",
		{ .l3 = PKT_IPV6,
		  .ip6 = { .nr_ext = 1,
			   .ext = { PKT_EXT(FRAGMENT,
					    .frag_off = PKT_IP6_FRAG(0, 1)) } },
		  .l4 = PKT_UDP,
		  .udp.len = PKT_SET(8 + 3000),
		  .payload_len = 1000 },
		KIND(ipv6) | KIND(ipv6_ext) | KIND(fragment) | KIND(udp),
	},
	{
		/* RFC 8200: the two reserved bits are ignored on receipt */
		"ipv6 fragment (first), reserved bits set, tcp",
		{ .l3 = PKT_IPV6,
		  .ip6 = { .nr_ext = 1,
			   .ext = { PKT_EXT(FRAGMENT,
					    .frag_off = PKT_IP6_FRAG(0, 1) |
							0x6) } },
		  .l4 = PKT_TCP },
		KIND(ipv6) | KIND(ipv6_ext) | KIND(fragment) | KIND(tcp),
	},
	{
		"ipv6 fragment (non-first) of tcp",
		{ .l3 = PKT_IPV6,
		  .ip6 = { .nr_ext = 1,
			   .ext = { PKT_EXT(FRAGMENT, .frag_off = PKT_IP6_FRAG(
							      181, 1)) } },
		  .proto = PKT_SET(IPPROTO_TCP),
		  .payload_len = 64 },
		KIND(ipv6) | KIND(ipv6_ext) | KIND(fragment),
	},
	{
		"ipv6 fragment (last), then what looks like an ext header",
		{ .l3 = PKT_IPV6,
		  .ip6 = { .nr_ext = 2,
			   .ext = { PKT_EXT(FRAGMENT,
					    .frag_off = PKT_IP6_FRAG(8, 0)),
				    /* payload bytes, never walked */
				    PKT_EXT(HOPOPTS, .hdrlen = PKT_SET(255)) } },
		  .proto = PKT_SET(IPPROTO_TCP) },
		KIND(ipv6) | KIND(ipv6_ext) | KIND(fragment),
	},
	{
		"ipv6 hop-by-hop + fragment (first) + dstopts udp",
		{ .l3 = PKT_IPV6,
		  .ip6 = { .nr_ext = 3,
			   .ext = { PKT_EXT(HOPOPTS),
				    PKT_EXT(FRAGMENT,
					    .frag_off = PKT_IP6_FRAG(0, 1)),
				    PKT_EXT(DSTOPTS) } },
		  .l4 = PKT_UDP,
		  .payload_len = 8 },
		KIND(ipv6) | KIND(ipv6_ext) | KIND(fragment) | KIND(udp),
	},
	{
		"ipv6 ah tcp",
		{ .l3 = PKT_IPV6,
		  .ip6 = { .nr_ext = 1, .ext = { PKT_EXT(AH) } },
		  .l4 = PKT_TCP,
		  .tcp.flags = PKT_TCP_ACK },
		KIND(ipv6) | KIND(ipv6_ext) | KIND(tcp),
	},
	{
		"ipv6 ah (12 bytes, no icv) + dstopts icmpv6",
		{ .l3 = PKT_IPV6,
		  .ip6 = { .nr_ext = 2,
			   .ext = { PKT_EXT(AH, .len = 12), PKT_EXT(DSTOPTS) } },
		  .l4 = PKT_ICMPV6 },
		KIND(ipv6) | KIND(ipv6_ext) | KIND(icmpv6),
	},
	{
		"ipv6 mobility header, no next header",
		{ .l3 = PKT_IPV6,
		  .ip6 = { .nr_ext = 1, .ext = { PKT_EXT(MH, .len = 16) } } },
		KIND(ipv6) | KIND(ipv6_ext) | KIND(other_l4),
	},
	{
		"ipv6 eight extension headers (the limit) tcp",
		{ .l3 = PKT_IPV6,
		  .ip6 = { .nr_ext = 8,
			   .ext = { PKT_EXT(HOPOPTS), PKT_EXT(DSTOPTS),
				    PKT_EXT(ROUTING),
				    PKT_EXT(FRAGMENT,
					    .frag_off = PKT_IP6_FRAG(0, 1)),
				    PKT_EXT(AH), PKT_EXT(DSTOPTS), PKT_EXT(MH),
				    PKT_EXT(DSTOPTS) } },
		  .l4 = PKT_TCP,
		  .tcp.flags = PKT_TCP_SYN },
		KIND(ipv6) | KIND(ipv6_ext) | KIND(fragment) | KIND(tcp) |
			KIND(tcp_syn),
	},
	{
		"ipv6 udp, padded past payload_len",
		{ .l3 = PKT_IPV6, .l4 = PKT_UDP, .pad_len = 20 },
		KIND(ipv6) | KIND(udp),
	},
	/* Not IP */
	{
		"arp request",
		{ .l3 = PKT_ARP, .pad_len = 18 },
		KIND(non_ip),
	},
	{
		"802.1q arp",
		{ .vlan.count = 1, .l3 = PKT_ARP },
		KIND(vlan) | KIND(non_ip),
	},
	{
		"lldp",
		{ .ethertype = PKT_SET(0x88cc), .payload_len = 46 },
		KIND(non_ip),
	},
	{
		"ethernet header only",
		{ .ethertype = PKT_SET(0x88b5) },
		KIND(non_ip),
	},
};

void test_parse(void)
{
	struct fl_fixture fx;
	struct pkt p;
	size_t i;

	if (!ASSERT_OK(fl_fixture_open(&fx), "fixture open"))
		return;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		test__case("%s", cases[i].name);
		if (!ASSERT_OK(pkt_build(&cases[i].pkt, &p), "build"))
			continue;
		fl_run_check(&fx, p.data, p.len, XDP_PASS, cases[i].kinds,
			     FL_PARSE_OK);
	}
	fl_fixture_close(&fx);
}

/* The walk over @p's extension headers, as `flowlensd replay` runs it. */
static int walk_userspace(const struct pkt *p, const __u8 **l4, __u8 *proto,
			  __u8 *frag, __u8 *count)
{
	const __u8 *ip6 = p->data + p->l3_off;
	__u32 payload_len = (__u32)ip6[4] << 8 | ip6[5];

	*l4 = ip6 + FL_IPV6_HDR_LEN;
	*proto = ip6[6];
	*frag = *count = 0;
	return fl_ipv6_walk(l4, p->data + p->len,
			    ip6 + FL_IPV6_HDR_LEN + payload_len, proto, frag,
			    count);
}

void test_parse_ipv6_walk(void)
{
	static const struct {
		const char *name;
		struct pkt_spec pkt;
		int err;
	} bad[] = {
		{ "nine destination options headers",
		  { .l3 = PKT_IPV6,
		    .l4 = PKT_UDP,
		    .ip6 = { .nr_ext = 9,
			     .ext = { PKT_EXT(DSTOPTS), PKT_EXT(DSTOPTS),
				      PKT_EXT(DSTOPTS), PKT_EXT(DSTOPTS),
				      PKT_EXT(DSTOPTS), PKT_EXT(DSTOPTS),
				      PKT_EXT(DSTOPTS), PKT_EXT(DSTOPTS),
				      PKT_EXT(DSTOPTS) } } },
		  FL_PERR_IP6_EXT_DEPTH },
		{ "ah claiming more than the payload",
		  { .l3 = PKT_IPV6,
		    .l4 = PKT_UDP,
		    .ip6 = { .nr_ext = 1,
			     .ext = { PKT_EXT(AH, .hdrlen = PKT_SET(40)) } } },
		  FL_PERR_IP6_EXT_TRUNC },
	};
	__u8 proto, frag, count;
	const __u8 *l4;
	struct pkt p;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct pkt_spec *spec = &cases[i].pkt;
		int err;

		if (spec->l3 != PKT_IPV6 || spec->ip6.version.set ||
		    spec->ip6.payload_len.set)
			continue;
		test__case("%s", cases[i].name);
		if (!ASSERT_OK(pkt_build(spec, &p), "build"))
			continue;
		err = walk_userspace(&p, &l4, &proto, &frag, &count);
		if (!ASSERT_OK(err, "walk"))
			continue;
		if (frag == FL_FRAG_LATER)
			continue; /* no L4 header to land on */
		ASSERT_EQ(l4 - p.data, p.l4_off, "l4 offset");
		ASSERT_EQ(count, spec->ip6.nr_ext, "headers walked");
		ASSERT_EQ(proto, spec->ip6.nr_ext ?
					 p.data[p.ext_off[spec->ip6.nr_ext - 1]] :
					 p.data[p.l3_off + 6],
			  "upper-layer protocol");
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		test__case("%s", bad[i].name);
		if (ASSERT_OK(pkt_build(&bad[i].pkt, &p), "build"))
			ASSERT_EQ(walk_userspace(&p, &l4, &proto, &frag, &count),
				  bad[i].err, "walk error");
	}
}
