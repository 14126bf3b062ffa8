// SPDX-License-Identifier: Apache-2.0
/*
 * The packet builder the other tests trust: header layout, lengths, the
 * next-protocol chain, checksums (one known answer, then self-consistency)
 * and the overrides that make a header malformed on purpose. No BPF here.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "pkt.h"
#include "test_progs.h"

static __u16 get16(const struct pkt *p, __u32 off)
{
	return p->data[off] << 8 | p->data[off + 1];
}

/* Sum over an L4 segment and its pseudo-header: 0 when the checksum is
 * right. Independent of pkt.c, built from the RFC 768/2460 layout. */
static __u16 l4_check(const struct pkt *p, int family, __u8 proto)
{
	__u8 buf[PKT_MAX + 40] = { 0 };
	__u32 len = p->ip_end - p->l4_off, addr_len, off = 0;
	const __u8 *addrs;

	if (family == AF_INET) {
		addrs = p->data + p->l3_off + offsetof(struct iphdr, saddr);
		addr_len = 8;
	} else {
		addrs = p->data + p->l3_off + offsetof(struct ipv6hdr, saddr);
		addr_len = 32;
	}
	memcpy(buf, addrs, addr_len);
	off = addr_len;
	buf[off + 1] = proto;
	buf[off + 2] = len >> 8;
	buf[off + 3] = len & 0xff;
	off += 4;
	memcpy(buf + off, p->data + p->l4_off, len);
	return pkt_inet_csum(buf, off + len);
}

static void check_known_answer(void)
{
	/* A widely used worked example (192.168.0.1 -> 192.168.0.199,
	 * UDP, 115 bytes): its checksum is 0xb861. */
	__u8 hdr[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40,
			 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
			 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
	__u16 csum;

	test__case("checksum known answer");
	ASSERT_EQ(pkt_inet_csum(hdr, sizeof(hdr)), 0, "valid header sums to 0");
	hdr[10] = hdr[11] = 0;
	csum = pkt_inet_csum(hdr, sizeof(hdr));
	ASSERT_EQ(ntohs(csum), 0xb861, "computed checksum");
}

static void check_ipv4(void)
{
	struct pkt_spec spec = {
		.vlan.count = 2,
		.l3 = PKT_IPV4,
		.src = "10.1.2.3",
		.dst = "10.4.5.6",
		.ip4 = { .opt_len = 8, .frag_off = PKT_IP4_FRAG(0, 1) },
		.l4 = PKT_TCP,
		.tcp = { .flags = PKT_TCP_SYN, .opt_len = 4, .dport = 443 },
		.payload_len = 7,
		.pad_len = 3,
	};
	const struct iphdr *ip;
	const struct tcphdr *tcp;
	struct pkt p;

	test__case("qinq ipv4 options tcp");
	if (!ASSERT_OK(pkt_build(&spec, &p), "build"))
		return;
	ASSERT_EQ(get16(&p, 12), ETH_P_8021AD, "outer tpid");
	ASSERT_EQ(get16(&p, 14) & 0xfff, 100, "outer vid");
	ASSERT_EQ(get16(&p, 16), ETH_P_8021Q, "inner tpid");
	ASSERT_EQ(get16(&p, 20), ETH_P_IP, "ethertype");
	ASSERT_EQ(p.vlan_off[0], 14, "vlan_off[0]");
	ASSERT_EQ(p.vlan_off[1], 18, "vlan_off[1]");
	ASSERT_EQ(p.l3_off, 22, "l3_off");
	ASSERT_EQ(p.l4_off, 22 + 28, "l4_off");
	ASSERT_EQ(p.payload_off, 22 + 28 + 24, "payload_off");
	ASSERT_EQ(p.ip_end, 22 + 28 + 24 + 7, "ip_end");
	ASSERT_EQ(p.len, p.ip_end + 3, "len");

	ip = (const void *)(p.data + p.l3_off);
	ASSERT_EQ(ip->version, 4, "version");
	ASSERT_EQ(ip->ihl, 7, "ihl");
	ASSERT_EQ(ntohs(ip->tot_len), 28 + 24 + 7, "tot_len");
	ASSERT_EQ(ntohs(ip->frag_off), 0x2000, "frag_off");
	ASSERT_EQ(ip->protocol, IPPROTO_TCP, "protocol");
	ASSERT_EQ(ntohl(ip->saddr), 0x0a010203, "saddr");
	ASSERT_EQ(pkt_inet_csum(ip, 28), 0, "ipv4 header checksum");

	tcp = (const void *)(p.data + p.l4_off);
	ASSERT_EQ(tcp->doff, 6, "doff");
	ASSERT_EQ(p.data[p.l4_off + 13], PKT_TCP_SYN, "flags");
	ASSERT_EQ(ntohs(tcp->dest), 443, "dport");
	ASSERT_EQ(l4_check(&p, AF_INET, IPPROTO_TCP), 0, "tcp checksum");
	ASSERT_EQ(p.data[p.len - 1], 0, "padding");
}

static void check_ipv6(void)
{
	struct pkt_spec spec = {
		.l3 = PKT_IPV6,
		.ip6 = { .nr_ext = 3,
			 .ext = { { .type = IPPROTO_HOPOPTS },
				  { .type = IPPROTO_AH },
				  { .type = IPPROTO_FRAGMENT,
				    .frag_off = PKT_IP6_FRAG(3, 1) } } },
		.l4 = PKT_UDP,
		.payload_len = 5,
	};
	struct pkt p;

	test__case("ipv6 extension chain udp");
	if (!ASSERT_OK(pkt_build(&spec, &p), "build"))
		return;
	ASSERT_EQ(p.data[p.l3_off] >> 4, 6, "version");
	ASSERT_EQ(get16(&p, p.l3_off + 4), 8 + 24 + 8 + 8 + 5, "payload_len");
	ASSERT_EQ(p.data[p.l3_off + 6], IPPROTO_HOPOPTS, "nexthdr");
	ASSERT_EQ(p.ext_off[0], p.l3_off + 40, "ext_off[0]");
	ASSERT_EQ(p.data[p.ext_off[0]], IPPROTO_AH, "hop-by-hop next");
	ASSERT_EQ(p.data[p.ext_off[0] + 1], 0, "hop-by-hop hdrlen");
	ASSERT_EQ(p.ext_off[1], p.ext_off[0] + 8, "ext_off[1]");
	ASSERT_EQ(p.data[p.ext_off[1]], IPPROTO_FRAGMENT, "ah next");
	ASSERT_EQ(p.data[p.ext_off[1] + 1], 4, "ah hdrlen (24 / 4 - 2)");
	ASSERT_EQ(p.ext_off[2], p.ext_off[1] + 24, "ext_off[2]");
	ASSERT_EQ(p.data[p.ext_off[2]], IPPROTO_UDP, "fragment next");
	ASSERT_EQ(get16(&p, p.ext_off[2] + 2), 3 << 3 | 1, "fragment field");
	ASSERT_EQ(p.l4_off, p.ext_off[2] + 8, "l4_off");
	ASSERT_EQ(get16(&p, p.l4_off + 4), 8 + 5, "udp length");
}

static void check_ipv6_checksums(void)
{
	struct pkt_spec spec = {
		.l3 = PKT_IPV6,
		.l4 = PKT_UDP,
		.payload_len = 33,
	};
	struct pkt p;

	test__case("ipv6 l4 checksums");
	if (ASSERT_OK(pkt_build(&spec, &p), "build udp"))
		ASSERT_EQ(l4_check(&p, AF_INET6, IPPROTO_UDP), 0,
			  "udp checksum");
	spec.l4 = PKT_ICMPV6;
	if (ASSERT_OK(pkt_build(&spec, &p), "build icmpv6")) {
		ASSERT_EQ(p.data[p.l4_off], 128, "echo request");
		ASSERT_EQ(l4_check(&p, AF_INET6, IPPROTO_ICMPV6), 0,
			  "icmpv6 checksum");
	}
}

static void check_overrides(void)
{
	struct pkt_spec spec = {
		.l3 = PKT_IPV4,
		.ip4 = { .ihl = PKT_SET(4),
			 .tot_len = PKT_SET(0),
			 .version = PKT_SET(6) },
		.l4 = PKT_UDP,
		.udp.len = PKT_SET(7),
		.payload_len = 10,
		.truncate = PKT_SET(40),
	};
	struct pkt_spec cut = {
		.l3 = PKT_IPV4,
		.l4 = PKT_TCP,
		.l4_bytes = PKT_SET(19),
	};
	const struct iphdr *ip;
	struct pkt p;

	test__case("overrides");
	if (!ASSERT_OK(pkt_build(&spec, &p), "build"))
		return;
	ip = (const void *)(p.data + p.l3_off);
	ASSERT_EQ(ip->ihl, 4, "ihl");
	ASSERT_EQ(ip->version, 6, "version");
	ASSERT_EQ(ip->tot_len, 0, "tot_len");
	ASSERT_EQ(get16(&p, p.l4_off + 4), 7, "udp length");
	ASSERT_EQ(p.len, 40, "truncated length");
	ASSERT_EQ(pkt_inet_csum(ip, 20), 0, "checksum still right");

	if (!ASSERT_OK(pkt_build(&cut, &p), "build cut"))
		return;
	ip = (const void *)(p.data + p.l3_off);
	ASSERT_EQ(p.len, 14 + 20 + 19, "l4 cut length");
	ASSERT_EQ(ntohs(ip->tot_len), 20 + 19, "tot_len after the cut");

	pkt_poke8(&p, p.l3_off + offsetof(struct iphdr, ttl), 1);
	pkt_ip4_csum(&p);
	ASSERT_EQ(ip->ttl, 1, "poked ttl");
	ASSERT_EQ(pkt_inet_csum(ip, 20), 0, "checksum refreshed");
	pkt_truncate(&p, 3);
	ASSERT_EQ(p.len, 3, "pkt_truncate");

	spec = (struct pkt_spec){ .l3 = PKT_IPV4, .src = "not an address" };
	ASSERT_EQ(pkt_build(&spec, &p), -EINVAL, "bad address");
	spec = (struct pkt_spec){ .l3 = PKT_IPV4, .ip4.opt_len = 6 };
	ASSERT_EQ(pkt_build(&spec, &p), -EINVAL, "options not a multiple of 4");
	spec = (struct pkt_spec){ .payload_len = PKT_MAX };
	ASSERT_EQ(pkt_build(&spec, &p), -EINVAL, "too long");
}

void test_pkt_builder(void)
{
	check_known_answer();
	check_ipv4();
	check_ipv6();
	check_ipv6_checksums();
	check_overrides();
}
