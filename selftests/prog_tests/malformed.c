// SPDX-License-Identifier: Apache-2.0
/*
 * Truncated and malformed headers: each case must count exactly its parse
 * error, kind.malformed, and the kinds validated before the error, and
 * still pass under the default policy.
 */
#include <netinet/in.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "pkt.h"
#include "test_progs.h"

struct malformed_case {
	const char *name;
	struct pkt_spec pkt;
	int err; /* enum fl_parse_result */
	__u32 kinds;
};

#define L3_OFF ETH_HLEN
#define IP4_HLEN ((__u32)sizeof(struct iphdr))
#define IP6_HLEN ((__u32)sizeof(struct ipv6hdr))

static const struct malformed_case cases[] = {
	/* Ethernet and VLAN */
	{
		"empty frame",
		{ .l3 = PKT_IPV4, .truncate = PKT_SET(0) },
		FL_PERR_ETH_TRUNC,
		KIND(malformed),
	},
	{
		"ethernet header cut at 13 bytes",
		{ .l3 = PKT_IPV4, .truncate = PKT_SET(ETH_HLEN - 1) },
		FL_PERR_ETH_TRUNC,
		KIND(malformed),
	},
	{
		"802.1q tag cut at 2 bytes",
		{ .vlan.count = 1,
		  .l3 = PKT_IPV4,
		  .truncate = PKT_SET(ETH_HLEN + 2) },
		FL_PERR_VLAN_TRUNC,
		KIND(malformed),
	},
	{
		"qinq inner tag cut at 3 bytes",
		{ .vlan.count = 2,
		  .l3 = PKT_IPV4,
		  .truncate = PKT_SET(ETH_HLEN + 4 + 3) },
		FL_PERR_VLAN_TRUNC,
		KIND(malformed) | KIND(vlan),
	},
	{
		"three vlan tags",
		{ .vlan.count = 3, .l3 = PKT_IPV4, .l4 = PKT_UDP },
		FL_PERR_VLAN_DEPTH,
		KIND(malformed) | KIND(vlan) | KIND(qinq),
	},
	{
		"two tags, then a third tpid and nothing else",
		{ .vlan = { .count = 2 }, .ethertype = PKT_SET(ETH_P_8021Q) },
		FL_PERR_VLAN_DEPTH,
		KIND(malformed) | KIND(vlan) | KIND(qinq),
	},
	/* IPv4 */
	{
		"ipv4 header cut at 19 bytes",
		{ .l3 = PKT_IPV4,
		  .l4 = PKT_UDP,
		  .truncate = PKT_SET(L3_OFF + IP4_HLEN - 1) },
		FL_PERR_IP4_TRUNC,
		KIND(malformed),
	},
	{
		"ipv4 version 5",
		{ .l3 = PKT_IPV4, .l4 = PKT_UDP, .ip4.version = PKT_SET(5) },
		FL_PERR_IP4_VERSION,
		KIND(malformed),
	},
	{
		"ipv4 version 6 behind ethertype 0x0800",
		{ .l3 = PKT_IPV4, .l4 = PKT_UDP, .ip4.version = PKT_SET(6) },
		FL_PERR_IP4_VERSION,
		KIND(malformed),
	},
	{
		"ipv4 ihl 4",
		{ .l3 = PKT_IPV4, .l4 = PKT_UDP, .ip4.ihl = PKT_SET(4) },
		FL_PERR_IP4_HDRLEN,
		KIND(malformed),
	},
	{
		"ipv4 ihl 0",
		{ .l3 = PKT_IPV4, .l4 = PKT_UDP, .ip4.ihl = PKT_SET(0) },
		FL_PERR_IP4_HDRLEN,
		KIND(malformed),
	},
	{
		"802.1q ipv4 ihl 4",
		{ .vlan.count = 1,
		  .l3 = PKT_IPV4,
		  .l4 = PKT_UDP,
		  .ip4.ihl = PKT_SET(4) },
		FL_PERR_IP4_HDRLEN,
		KIND(malformed) | KIND(vlan),
	},
	{
		/* 60 header bytes claimed, 28 in the frame */
		"ipv4 ihl 15 points past the frame",
		{ .l3 = PKT_IPV4,
		  .l4 = PKT_UDP,
		  .ip4.ihl = PKT_SET(15),
		  .ip4.tot_len = PKT_SET(60) },
		FL_PERR_IP4_TRUNC,
		KIND(malformed),
	},
	{
		"ipv4 options cut short of ihl",
		{ .l3 = PKT_IPV4,
		  .ip4.opt_len = 8,
		  .l4 = PKT_UDP,
		  .truncate = PKT_SET(L3_OFF + IP4_HLEN + 4) },
		FL_PERR_IP4_TRUNC,
		KIND(malformed),
	},
	{
		"ipv4 tot_len 19 < ihl * 4",
		{ .l3 = PKT_IPV4, .l4 = PKT_UDP, .ip4.tot_len = PKT_SET(19) },
		FL_PERR_IP4_TOTLEN,
		KIND(malformed),
	},
	{
		"ipv4 tot_len 0",
		{ .l3 = PKT_IPV4, .l4 = PKT_UDP, .ip4.tot_len = PKT_SET(0) },
		FL_PERR_IP4_TOTLEN,
		KIND(malformed),
	},
	{
		"ipv4 with options, tot_len 20 < ihl * 4 = 24",
		{ .l3 = PKT_IPV4,
		  .ip4.opt_len = 4,
		  .l4 = PKT_UDP,
		  .ip4.tot_len = PKT_SET(IP4_HLEN) },
		FL_PERR_IP4_TOTLEN,
		KIND(malformed),
	},
	{
		"ipv4 tot_len one byte past the frame",
		{ .l3 = PKT_IPV4,
		  .l4 = PKT_UDP,
		  .payload_len = 10,
		  .ip4.tot_len = PKT_SET(IP4_HLEN + 8 + 10 + 1) },
		FL_PERR_IP4_TOTLEN,
		KIND(malformed),
	},
	{
		"ipv4 udp datagram cut by one byte",
		{ .l3 = PKT_IPV4,
		  .l4 = PKT_UDP,
		  .payload_len = 10,
		  .truncate = PKT_SET(L3_OFF + IP4_HLEN + 8 + 9) },
		FL_PERR_IP4_TOTLEN,
		KIND(malformed),
	},
	/* IPv6 */
	{
		"ipv6 header cut at 39 bytes",
		{ .l3 = PKT_IPV6,
		  .l4 = PKT_TCP,
		  .truncate = PKT_SET(L3_OFF + IP6_HLEN - 1) },
		FL_PERR_IP6_TRUNC,
		KIND(malformed),
	},
	{
		"ipv6 version 4",
		{ .l3 = PKT_IPV6, .l4 = PKT_TCP, .ip6.version = PKT_SET(4) },
		FL_PERR_IP6_VERSION,
		KIND(malformed),
	},
	{
		"ipv6 payload_len one byte past the frame",
		{ .l3 = PKT_IPV6,
		  .l4 = PKT_UDP,
		  .ip6.payload_len = PKT_SET(8 + 1) },
		FL_PERR_IP6_PAYLEN,
		KIND(malformed),
	},
	{
		"ipv6 payload_len 0xffff (jumbogram claim)",
		{ .l3 = PKT_IPV6,
		  .l4 = PKT_UDP,
		  .ip6.payload_len = PKT_SET(0xffff) },
		FL_PERR_IP6_PAYLEN,
		KIND(malformed),
	},
	{
		"ipv6 hop-by-hop claims 16 bytes, frame has 8",
		{ .l3 = PKT_IPV6,
		  .ip6 = { .nr_ext = 1,
			   .ext = { PKT_EXT(HOPOPTS, .hdrlen = PKT_SET(1)) } } },
		FL_PERR_IP6_EXT_TRUNC,
		KIND(malformed) | KIND(ipv6),
	},
	{
		"ipv6 routing ok, dstopts cut at 1 byte",
		{ .l3 = PKT_IPV6,
		  .ip6 = { .nr_ext = 2,
			   .ext = { PKT_EXT(ROUTING), PKT_EXT(DSTOPTS) },
			   .payload_len = PKT_SET(8 + 1) },
		  .truncate = PKT_SET(L3_OFF + IP6_HLEN + 8 + 1) },
		FL_PERR_IP6_EXT_TRUNC,
		KIND(malformed) | KIND(ipv6) | KIND(ipv6_ext),
	},
	{
		"ipv6 fragment header cut at 4 bytes",
		{ .l3 = PKT_IPV6,
		  .ip6 = { .nr_ext = 1,
			   .ext = { PKT_EXT(FRAGMENT) },
			   .payload_len = PKT_SET(4) },
		  .l4 = PKT_UDP,
		  .truncate = PKT_SET(L3_OFF + IP6_HLEN + 4) },
		FL_PERR_IP6_EXT_TRUNC,
		KIND(malformed) | KIND(ipv6),
	},
	{
		"ipv6 ah claims 40 bytes, frame has 24",
		{ .l3 = PKT_IPV6,
		  .ip6 = { .nr_ext = 1,
			   .ext = { PKT_EXT(AH, .hdrlen = PKT_SET(8)) } } },
		FL_PERR_IP6_EXT_TRUNC,
		KIND(malformed) | KIND(ipv6),
	},
	{
		"ipv6 nine extension headers",
		{ .l3 = PKT_IPV6,
		  .ip6 = { .nr_ext = 9,
			   .ext = { PKT_EXT(HOPOPTS), PKT_EXT(DSTOPTS),
				    PKT_EXT(ROUTING), PKT_EXT(DSTOPTS),
				    PKT_EXT(ROUTING), PKT_EXT(DSTOPTS),
				    PKT_EXT(ROUTING), PKT_EXT(DSTOPTS),
				    PKT_EXT(DSTOPTS) } },
		  .l4 = PKT_TCP },
		FL_PERR_IP6_EXT_DEPTH,
		KIND(malformed) | KIND(ipv6) | KIND(ipv6_ext),
	},
	{
		"ipv6 twelve extension headers",
		{ .l3 = PKT_IPV6,
		  .ip6 = { .nr_ext = 12,
			   .ext = { PKT_EXT(DSTOPTS), PKT_EXT(DSTOPTS),
				    PKT_EXT(DSTOPTS), PKT_EXT(DSTOPTS),
				    PKT_EXT(DSTOPTS), PKT_EXT(DSTOPTS),
				    PKT_EXT(DSTOPTS), PKT_EXT(DSTOPTS),
				    PKT_EXT(DSTOPTS), PKT_EXT(DSTOPTS),
				    PKT_EXT(DSTOPTS), PKT_EXT(DSTOPTS) } },
		  .l4 = PKT_UDP },
		FL_PERR_IP6_EXT_DEPTH,
		KIND(malformed) | KIND(ipv6) | KIND(ipv6_ext),
	},
	/* TCP */
	{
		"ipv4 tcp header cut at 19 bytes",
		{ .l3 = PKT_IPV4, .l4 = PKT_TCP, .l4_bytes = PKT_SET(19) },
		FL_PERR_TCP_TRUNC,
		KIND(malformed) | KIND(ipv4),
	},
	{
		"ipv6 tcp header cut at 19 bytes",
		{ .l3 = PKT_IPV6, .l4 = PKT_TCP, .l4_bytes = PKT_SET(19) },
		FL_PERR_TCP_TRUNC,
		KIND(malformed) | KIND(ipv6),
	},
	{
		"ipv4 tcp doff 4",
		{ .l3 = PKT_IPV4,
		  .l4 = PKT_TCP,
		  .tcp = { .flags = PKT_TCP_SYN, .doff = PKT_SET(4) } },
		FL_PERR_TCP_DOFF,
		KIND(malformed) | KIND(ipv4),
	},
	{
		"ipv6 tcp doff 0",
		{ .l3 = PKT_IPV6, .l4 = PKT_TCP, .tcp.doff = PKT_SET(0) },
		FL_PERR_TCP_DOFF,
		KIND(malformed) | KIND(ipv6),
	},
	{
		"ipv4 tcp doff 15, options past the frame",
		{ .l3 = PKT_IPV4, .l4 = PKT_TCP, .tcp.doff = PKT_SET(15) },
		FL_PERR_TCP_TRUNC,
		KIND(malformed) | KIND(ipv4),
	},
	{
		"ipv4 tcp doff 6, options past tot_len (in padding)",
		{ .l3 = PKT_IPV4,
		  .l4 = PKT_TCP,
		  .tcp.doff = PKT_SET(6),
		  .pad_len = 4 },
		FL_PERR_TCP_TRUNC,
		KIND(malformed) | KIND(ipv4),
	},
	{
		"ipv4 first fragment, tcp header cut at 16 bytes",
		{ .l3 = PKT_IPV4,
		  .ip4.frag_off = PKT_IP4_FRAG(0, 1),
		  .l4 = PKT_TCP,
		  .l4_bytes = PKT_SET(16) },
		FL_PERR_TCP_TRUNC,
		KIND(malformed) | KIND(ipv4) | KIND(fragment),
	},
	/* UDP */
	{
		"ipv4 udp header cut at 7 bytes",
		{ .l3 = PKT_IPV4, .l4 = PKT_UDP, .l4_bytes = PKT_SET(7) },
		FL_PERR_UDP_TRUNC,
		KIND(malformed) | KIND(ipv4),
	},
	{
		"ipv6 after hop-by-hop, udp header cut at 4 bytes",
		{ .l3 = PKT_IPV6,
		  .ip6 = { .nr_ext = 1, .ext = { PKT_EXT(HOPOPTS) } },
		  .l4 = PKT_UDP,
		  .l4_bytes = PKT_SET(4) },
		FL_PERR_UDP_TRUNC,
		KIND(malformed) | KIND(ipv6) | KIND(ipv6_ext),
	},
	{
		"ipv4 udp length 7",
		{ .l3 = PKT_IPV4, .l4 = PKT_UDP, .udp.len = PKT_SET(7) },
		FL_PERR_UDP_LEN,
		KIND(malformed) | KIND(ipv4),
	},
	{
		"ipv6 udp length 0",
		{ .l3 = PKT_IPV6,
		  .l4 = PKT_UDP,
		  .payload_len = 8,
		  .udp.len = PKT_SET(0) },
		FL_PERR_UDP_LEN,
		KIND(malformed) | KIND(ipv6),
	},
	{
		"ipv4 udp length one byte past the ip payload",
		{ .l3 = PKT_IPV4,
		  .l4 = PKT_UDP,
		  .payload_len = 12,
		  .udp.len = PKT_SET(8 + 12 + 1) },
		FL_PERR_UDP_LEN,
		KIND(malformed) | KIND(ipv4),
	},
	{
		"ipv4 udp length past the ip payload, into padding",
		{ .l3 = PKT_IPV4,
		  .l4 = PKT_UDP,
		  .payload_len = 4,
		  .udp.len = PKT_SET(8 + 4 + 10),
		  .pad_len = 14 },
		FL_PERR_UDP_LEN,
		KIND(malformed) | KIND(ipv4),
	},
	{
		"ipv6 udp length past the ip payload",
		{ .l3 = PKT_IPV6,
		  .l4 = PKT_UDP,
		  .payload_len = 12,
		  .udp.len = PKT_SET(8 + 13) },
		FL_PERR_UDP_LEN,
		KIND(malformed) | KIND(ipv6),
	},
	/* ICMP */
	{
		"ipv4 icmp header cut at 3 bytes",
		{ .l3 = PKT_IPV4, .l4 = PKT_ICMP, .l4_bytes = PKT_SET(3) },
		FL_PERR_ICMP_TRUNC,
		KIND(malformed) | KIND(ipv4),
	},
	{
		"ipv6 icmpv6 header cut at 3 bytes",
		{ .l3 = PKT_IPV6, .l4 = PKT_ICMPV6, .l4_bytes = PKT_SET(3) },
		FL_PERR_ICMP_TRUNC,
		KIND(malformed) | KIND(ipv6),
	},
	{
		"ipv4 icmp with no bytes at all",
		{ .l3 = PKT_IPV4, .l4 = PKT_ICMP, .l4_bytes = PKT_SET(0) },
		FL_PERR_ICMP_TRUNC,
		KIND(malformed) | KIND(ipv4),
	},
	/* L4 headers that only exist in Ethernet padding */
	{
		"ipv4 tot_len 20, tcp header in the padding",
		{ .l3 = PKT_IPV4,
		  .l4 = PKT_TCP,
		  .tcp.flags = PKT_TCP_SYN,
		  .ip4.tot_len = PKT_SET(IP4_HLEN) },
		FL_PERR_TCP_TRUNC,
		KIND(malformed) | KIND(ipv4),
	},
	{
		/* doff is in the padding too: never read, so not TCP_DOFF */
		"ipv4 tot_len 20, tcp header with doff 4 in the padding",
		{ .l3 = PKT_IPV4,
		  .l4 = PKT_TCP,
		  .tcp.doff = PKT_SET(4),
		  .ip4.tot_len = PKT_SET(IP4_HLEN) },
		FL_PERR_TCP_TRUNC,
		KIND(malformed) | KIND(ipv4),
	},
	{
		"ipv4 tot_len 20, udp header in the padding",
		{ .l3 = PKT_IPV4,
		  .l4 = PKT_UDP,
		  .payload_len = 18,
		  .ip4.tot_len = PKT_SET(IP4_HLEN) },
		FL_PERR_UDP_TRUNC,
		KIND(malformed) | KIND(ipv4),
	},
	{
		"ipv4 with options, tcp header half in the padding",
		{ .l3 = PKT_IPV4,
		  .ip4.opt_len = 8,
		  .l4 = PKT_TCP,
		  .ip4.tot_len = PKT_SET(IP4_HLEN + 8 + 10) },
		FL_PERR_TCP_TRUNC,
		KIND(malformed) | KIND(ipv4) | KIND(ipv4_options),
	},
	{
		"ipv4 tot_len 20, icmp header in the padding",
		{ .l3 = PKT_IPV4,
		  .l4 = PKT_ICMP,
		  .ip4.tot_len = PKT_SET(IP4_HLEN) },
		FL_PERR_ICMP_TRUNC,
		KIND(malformed) | KIND(ipv4),
	},
	{
		"ipv6 payload_len 0, tcp header in the padding",
		{ .l3 = PKT_IPV6, .l4 = PKT_TCP, .ip6.payload_len = PKT_SET(0) },
		FL_PERR_TCP_TRUNC,
		KIND(malformed) | KIND(ipv6),
	},
	{
		"ipv6 payload_len 4, udp header half in the padding",
		{ .l3 = PKT_IPV6, .l4 = PKT_UDP, .ip6.payload_len = PKT_SET(4) },
		FL_PERR_UDP_TRUNC,
		KIND(malformed) | KIND(ipv6),
	},
	/* Extension headers beyond payload_len are padding, not headers:
	 * nothing found there (a fragment, more headers) may be counted. */
	{
		"dstopts header beyond payload_len 4",
		{ .l3 = PKT_IPV6,
		  .ip6 = { .nr_ext = 1,
			   .ext = { PKT_EXT(DSTOPTS) },
			   .payload_len = PKT_SET(4) } },
		FL_PERR_IP6_EXT_TRUNC,
		KIND(ipv6) | KIND(malformed),
	},
	{
		"payload_len 0, a non-first fragment header in the padding",
		{ .l3 = PKT_IPV6,
		  .ip6 = { .nr_ext = 1,
			   .ext = { PKT_EXT(FRAGMENT,
					    .frag_off = PKT_IP6_FRAG(8, 0)) },
			   .payload_len = PKT_SET(0) },
		  .proto = PKT_SET(IPPROTO_TCP),
		  .payload_len = 16 },
		FL_PERR_IP6_EXT_TRUNC,
		KIND(ipv6) | KIND(malformed),
	},
	{
		"hop-by-hop inside payload_len, eight more headers in the padding",
		{ .l3 = PKT_IPV6,
		  .ip6 = { .nr_ext = 9,
			   .ext = { PKT_EXT(HOPOPTS), PKT_EXT(DSTOPTS),
				    PKT_EXT(DSTOPTS), PKT_EXT(DSTOPTS),
				    PKT_EXT(DSTOPTS), PKT_EXT(DSTOPTS),
				    PKT_EXT(DSTOPTS), PKT_EXT(DSTOPTS),
				    PKT_EXT(DSTOPTS) },
			   .payload_len = PKT_SET(8) } },
		FL_PERR_IP6_EXT_TRUNC,
		KIND(ipv6) | KIND(ipv6_ext) | KIND(malformed),
	},
};

void test_malformed(void)
{
	struct fl_fixture fx;
	struct pkt p;
	size_t i;

	if (!ASSERT_OK(fl_fixture_open(&fx), "fixture open"))
		return;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct malformed_case *c = &cases[i];

		test__case("%s (%s)", c->name, fl_parse_error_name(c->err));
		if (!ASSERT_OK(pkt_build(&c->pkt, &p), "build"))
			continue;
		fl_run_check(&fx, p.data, p.len, XDP_PASS, c->kinds, c->err);
	}
	fl_fixture_close(&fx);
}
