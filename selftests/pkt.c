// SPDX-License-Identifier: Apache-2.0
/* The packet builder; see pkt.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "pkt.h"

/* From the kernel's net/tcp.h, which uapi does not carry. */
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOLEN_MSS 4

#define PKT_DEFAULT_SRC4 "192.0.2.1"
#define PKT_DEFAULT_DST4 "198.51.100.1"
#define PKT_DEFAULT_SRC6 "2001:db8::1"
#define PKT_DEFAULT_DST6 "2001:db8::2"
#define PKT_ETHERTYPE_EXPERIMENTAL 0x88b5 /* IEEE local experimental */

struct builder {
	struct pkt *p;
	__u32 pos;
	int err;
};

static void *put(struct builder *b, __u32 len)
{
	void *at;

	if (b->err || b->pos + len > PKT_MAX) {
		b->err = -EINVAL;
		return NULL;
	}
	at = b->p->data + b->pos;
	b->pos += len;
	return at;
}

static __u32 csum_add(__u32 sum, const void *data, __u32 len)
{
	const __u8 *byte = data;
	__u32 i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (byte[i] << 8) | byte[i + 1];
	if (len & 1)
		sum += byte[len - 1] << 8;
	return sum;
}

static __u16 csum_finish(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum & 0xffff);
}

__u16 pkt_inet_csum(const void *data, __u32 len)
{
	return csum_finish(csum_add(0, data, len));
}

static int parse_addr(int family, const char *text, const char *fallback,
		      void *addr)
{
	return inet_pton(family, text ?: fallback, addr) == 1 ? 0 : -EINVAL;
}

/* The payload's length: .payload_len, or a string's when that is 0. */
static __u32 payload_size(const struct pkt_spec *spec)
{
	if (spec->payload && !spec->payload_len)
		return strlen(spec->payload);
	return spec->payload_len;
}

static __u8 l4_proto(const struct pkt_spec *spec)
{
	if (spec->proto.set)
		return spec->proto.val;
	switch (spec->l4) {
	case PKT_TCP:
		return IPPROTO_TCP;
	case PKT_UDP:
		return IPPROTO_UDP;
	case PKT_ICMP:
		return IPPROTO_ICMP;
	case PKT_ICMPV6:
		return IPPROTO_ICMPV6;
	default:
		return 59; /* IPPROTO_NONE: no next header */
	}
}

static __u16 l3_ethertype(const struct pkt_spec *spec)
{
	if (spec->ethertype.set)
		return spec->ethertype.val;
	switch (spec->l3) {
	case PKT_IPV4:
		return ETH_P_IP;
	case PKT_IPV6:
		return ETH_P_IPV6;
	case PKT_ARP:
		return ETH_P_ARP;
	default:
		return PKT_ETHERTYPE_EXPERIMENTAL;
	}
}

static __u16 vlan_tpid(const struct pkt_spec *spec, int i)
{
	if (spec->vlan.tpid[i])
		return spec->vlan.tpid[i];
	return i == 0 && spec->vlan.count > 1 ? ETH_P_8021AD : ETH_P_8021Q;
}

static void build_l2(struct builder *b, const struct pkt_spec *spec)
{
	static const __u8 dst_mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x02 };
	static const __u8 src_mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x01 };
	struct ethhdr *eth = put(b, sizeof(*eth));
	__u32 next_off = offsetof(struct ethhdr, h_proto);
	int i;

	if (!eth)
		return;
	memcpy(eth->h_dest, dst_mac, ETH_ALEN);
	memcpy(eth->h_source, src_mac, ETH_ALEN);
	if (spec->vlan.count > PKT_MAX_VLANS) {
		b->err = -EINVAL;
		return;
	}
	/* Each tag: TPID in the previous "next protocol", then TCI, next. */
	for (i = 0; i < spec->vlan.count; i++) {
		pkt_poke16(b->p, next_off, vlan_tpid(spec, i));
		b->p->vlan_off[i] = b->pos;
		if (!put(b, 4))
			return;
		pkt_poke16(b->p, b->pos - 4, 100 + i); /* priority 0, VID */
		next_off = b->pos - 2;
	}
	pkt_poke16(b->p, next_off, l3_ethertype(spec));
}

static void build_arp(struct builder *b, const struct pkt_spec *spec)
{
	static const __u8 src_mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x01 };
	struct arphdr *arp = put(b, sizeof(*arp));
	__u8 *body = put(b, 2 * (ETH_ALEN + 4));

	if (!arp || !body)
		return;
	arp->ar_hrd = htons(ARPHRD_ETHER);
	arp->ar_pro = htons(ETH_P_IP);
	arp->ar_hln = ETH_ALEN;
	arp->ar_pln = 4;
	arp->ar_op = htons(ARPOP_REQUEST);
	memcpy(body, src_mac, ETH_ALEN);
	if (parse_addr(AF_INET, spec->src, PKT_DEFAULT_SRC4, body + 6) ||
	    parse_addr(AF_INET, spec->dst, PKT_DEFAULT_DST4, body + 16))
		b->err = -EINVAL;
}

static void build_ip4(struct builder *b, const struct pkt_spec *spec)
{
	__u32 hdr_len = sizeof(struct iphdr) + spec->ip4.opt_len;
	struct iphdr *ip;
	__u8 *opt;

	if (spec->ip4.opt_len % 4 || spec->ip4.opt_len > 40) {
		b->err = -EINVAL;
		return;
	}
	ip = put(b, hdr_len);
	if (!ip)
		return;
	ip->version = spec->ip4.version.set ? spec->ip4.version.val : 4;
	ip->ihl = spec->ip4.ihl.set ? spec->ip4.ihl.val : hdr_len / 4;
	ip->tos = spec->ip4.tos;
	ip->id = htons(0x1234);
	ip->frag_off = htons(spec->ip4.frag_off);
	ip->ttl = 64;
	ip->protocol = l4_proto(spec);
	if (parse_addr(AF_INET, spec->src, PKT_DEFAULT_SRC4, &ip->saddr) ||
	    parse_addr(AF_INET, spec->dst, PKT_DEFAULT_DST4, &ip->daddr))
		b->err = -EINVAL;
	/* Options: Router Alert (RFC 2113), then NOPs. */
	opt = (__u8 *)(ip + 1);
	if (spec->ip4.opt_len) {
		memset(opt, IPOPT_NOOP, spec->ip4.opt_len);
		opt[0] = IPOPT_RA;
		opt[1] = 4;
		opt[2] = 0;
		opt[3] = 0;
	}
	/* tot_len and the checksum once the datagram is complete */
}

static __u8 ext_next(const struct pkt_spec *spec, int i)
{
	return i + 1 < spec->ip6.nr_ext ? spec->ip6.ext[i + 1].type :
					  l4_proto(spec);
}

static void build_ext6(struct builder *b, const struct pkt_spec *spec, int i)
{
	const struct pkt_ext6 *ext = &spec->ip6.ext[i];
	__u32 len = ext->len, unit = 8;
	__u8 *hdr;

	if (!len)
		len = ext->type == IPPROTO_AH ? 24 : 8;
	if (ext->type == IPPROTO_AH)
		unit = 4;
	if (len < 2 || (len % unit && !ext->hdrlen.set) ||
	    (ext->type == IPPROTO_FRAGMENT && len < 8) ||
	    (ext->type == IPPROTO_AH && len < 12)) {
		b->err = -EINVAL;
		return;
	}
	b->p->ext_off[i] = b->pos;
	hdr = put(b, len);
	if (!hdr)
		return;
	hdr[0] = ext_next(spec, i);
	switch (ext->type) {
	case IPPROTO_FRAGMENT:
		hdr[1] = 0;
		hdr[2] = ext->frag_off >> 8;
		hdr[3] = ext->frag_off & 0xff;
		hdr[6] = 0xab; /* identification 0x0000abcd */
		hdr[7] = 0xcd;
		break;
	case IPPROTO_AH:
		hdr[1] = len / 4 - 2;
		hdr[7] = 1; /* SPI 1 */
		hdr[11] = 1; /* sequence number 1 */
		memset(hdr + 12, 0xa5, len - 12); /* ICV */
		break;
	case IPPROTO_HOPOPTS:
	case IPPROTO_DSTOPTS:
		hdr[1] = len / 8 - 1;
		/* Pad1 or PadN over the rest of the header */
		if (len - 2 >= 2) {
			hdr[2] = 1;
			hdr[3] = len - 4;
		}
		break;
	case IPPROTO_ROUTING:
		hdr[1] = len / 8 - 1;
		hdr[2] = 0; /* routing type 0 */
		hdr[3] = 0; /* segments left 0: processed, ignored */
		break;
	default: /* mobility header, or whatever the test asks for */
		hdr[1] = len / 8 - 1;
		break;
	}
	if (ext->hdrlen.set)
		hdr[1] = ext->hdrlen.val;
}

static void build_ip6(struct builder *b, const struct pkt_spec *spec)
{
	struct ipv6hdr *ip6 = put(b, sizeof(*ip6));
	int i;

	if (!ip6)
		return;
	ip6->version = spec->ip6.version.set ? spec->ip6.version.val : 6;
	ip6->priority = spec->ip6.tclass >> 4;
	ip6->flow_lbl[0] = (spec->ip6.tclass & 0xf) << 4;
	ip6->nexthdr = spec->ip6.nr_ext ? spec->ip6.ext[0].type :
					  l4_proto(spec);
	ip6->hop_limit = 64;
	if (parse_addr(AF_INET6, spec->src, PKT_DEFAULT_SRC6, &ip6->saddr) ||
	    parse_addr(AF_INET6, spec->dst, PKT_DEFAULT_DST6, &ip6->daddr))
		b->err = -EINVAL;
	if (spec->ip6.nr_ext > PKT_MAX_EXT) {
		b->err = -EINVAL;
		return;
	}
	for (i = 0; i < spec->ip6.nr_ext; i++)
		build_ext6(b, spec, i);
}

static void build_l4(struct builder *b, const struct pkt_spec *spec)
{
	switch (spec->l4) {
	case PKT_TCP: {
		__u32 len = sizeof(struct tcphdr) + spec->tcp.opt_len;
		struct tcphdr *tcp;
		__u8 *opt;

		if (spec->tcp.opt_len % 4 || spec->tcp.opt_len > 40) {
			b->err = -EINVAL;
			return;
		}
		tcp = put(b, len);
		if (!tcp)
			return;
		tcp->source = htons(spec->tcp.sport ?: 40000);
		tcp->dest = htons(spec->tcp.dport ?: 80);
		tcp->seq = htonl(1);
		if (spec->tcp.flags & PKT_TCP_ACK)
			tcp->ack_seq = htonl(1);
		tcp->doff = spec->tcp.doff.set ? spec->tcp.doff.val : len / 4;
		((__u8 *)tcp)[13] = spec->tcp.flags;
		tcp->window = htons(65535);
		/* Options: MSS 1460, then NOPs. */
		opt = (__u8 *)(tcp + 1);
		if (spec->tcp.opt_len) {
			memset(opt, TCPOPT_NOP, spec->tcp.opt_len);
			opt[0] = TCPOPT_MSS;
			opt[1] = TCPOLEN_MSS;
			opt[2] = 1460 >> 8;
			opt[3] = 1460 & 0xff;
		}
		break;
	}
	case PKT_UDP: {
		struct udphdr *udp = put(b, sizeof(*udp));

		if (!udp)
			return;
		udp->source = htons(spec->udp.sport ?: 40000);
		udp->dest = htons(spec->udp.dport ?: 53);
		udp->len = htons(spec->udp.len.set ?
					 spec->udp.len.val :
					 sizeof(*udp) + payload_size(spec));
		break;
	}
	case PKT_ICMP:
	case PKT_ICMPV6: {
		__u8 *icmp = put(b, 8);
		__u8 echo = spec->l4 == PKT_ICMP ? ICMP_ECHO :
						   ICMPV6_ECHO_REQUEST;

		if (!icmp)
			return;
		icmp[0] = spec->icmp.type || spec->icmp.code ? spec->icmp.type :
							       echo;
		icmp[1] = spec->icmp.code;
		icmp[5] = 1; /* identifier 1 */
		icmp[7] = 1; /* sequence 1 */
		break;
	}
	default:
		break;
	}
}

/* TCP, UDP and ICMPv6 checksums cover a pseudo-header, ICMP does not. */
static void l4_csum(struct pkt *p, const struct pkt_spec *spec, __u8 proto)
{
	__u32 len = p->ip_end - p->l4_off, sum = 0, offset;
	__u8 *l4 = p->data + p->l4_off;
	__u8 pseudo[8] = { 0 };

	switch (spec->l4) {
	case PKT_TCP:
		offset = offsetof(struct tcphdr, check);
		break;
	case PKT_UDP:
		offset = offsetof(struct udphdr, check);
		break;
	case PKT_ICMP:
	case PKT_ICMPV6:
		offset = 2;
		break;
	default:
		return;
	}
	if (p->ip_end < p->l4_off + offset + 2)
		return;
	if (spec->l4 != PKT_ICMP) {
		if (spec->l3 == PKT_IPV4) {
			const struct iphdr *ip = (void *)(p->data + p->l3_off);

			sum = csum_add(sum, &ip->saddr, 8);
		} else {
			const struct ipv6hdr *ip6 =
				(void *)(p->data + p->l3_off);

			sum = csum_add(sum, &ip6->saddr, 32);
		}
		pseudo[2] = len >> 8;
		pseudo[3] = len & 0xff;
		pseudo[7] = proto;
		sum = csum_add(sum, pseudo, sizeof(pseudo));
	}
	l4[offset] = 0;
	l4[offset + 1] = 0;
	sum = csum_add(sum, l4, len);
	memcpy(l4 + offset, &(__u16){ csum_finish(sum) }, 2);
	/* UDP sends a computed 0 as all ones (RFC 768) */
	if (spec->l4 == PKT_UDP && !l4[offset] && !l4[offset + 1])
		l4[offset] = l4[offset + 1] = 0xff;
}

void pkt_ip4_csum(struct pkt *p)
{
	struct iphdr *ip = (void *)(p->data + p->l3_off);
	__u32 len = ip->ihl * 4;

	/* Never read past what was built, whatever IHL claims. */
	if (len < sizeof(*ip))
		len = sizeof(*ip);
	if (p->l3_off + len > PKT_MAX)
		len = PKT_MAX - p->l3_off;
	ip->check = 0;
	ip->check = pkt_inet_csum(ip, len);
}

int pkt_build(const struct pkt_spec *spec, struct pkt *p)
{
	struct builder b = { .p = p };
	__u32 i, payload_len;
	__u8 *payload;

	memset(p, 0, sizeof(*p));
	build_l2(&b, spec);
	p->l3_off = b.pos;
	switch (spec->l3) {
	case PKT_IPV4:
		build_ip4(&b, spec);
		break;
	case PKT_IPV6:
		build_ip6(&b, spec);
		break;
	case PKT_ARP:
		build_arp(&b, spec);
		break;
	default:
		break;
	}
	if (spec->l3 == PKT_IPV4 || spec->l3 == PKT_IPV6) {
		p->l4_off = b.pos;
		build_l4(&b, spec);
	}
	p->payload_off = b.pos;
	payload_len = payload_size(spec);
	payload = put(&b, payload_len);
	for (i = 0; payload && i < payload_len; i++)
		payload[i] = spec->payload ? (__u8)spec->payload[i] : i & 0xff;
	if (spec->l4_bytes.set && p->l4_off &&
	    p->l4_off + spec->l4_bytes.val < b.pos) {
		b.pos = p->l4_off + spec->l4_bytes.val;
		memset(p->data + b.pos, 0, PKT_MAX - b.pos);
		if (p->payload_off > b.pos)
			p->payload_off = b.pos;
	}
	p->ip_end = b.pos;
	if (!put(&b, spec->pad_len) || b.err)
		return -EINVAL;
	p->len = b.pos;

	if (spec->l3 == PKT_IPV4) {
		struct iphdr *ip = (void *)(p->data + p->l3_off);
		int first = !(spec->ip4.frag_off & 0x1fff);

		ip->tot_len = htons(spec->ip4.tot_len.set ?
					    spec->ip4.tot_len.val :
					    (__u32)(p->ip_end - p->l3_off));
		if (first)
			l4_csum(p, spec, ip->protocol);
		pkt_ip4_csum(p);
	} else if (spec->l3 == PKT_IPV6) {
		struct ipv6hdr *ip6 = (void *)(p->data + p->l3_off);
		int first = 1;

		for (i = 0; i < spec->ip6.nr_ext; i++)
			if (spec->ip6.ext[i].type == IPPROTO_FRAGMENT &&
			    spec->ip6.ext[i].frag_off & ~7)
				first = 0;
		ip6->payload_len = htons(
			spec->ip6.payload_len.set ?
				spec->ip6.payload_len.val :
				(__u32)(p->ip_end - p->l3_off - sizeof(*ip6)));
		if (first)
			l4_csum(p, spec, l4_proto(spec));
	}
	if (spec->truncate.set)
		pkt_truncate(p, spec->truncate.val);
	return 0;
}

void pkt_truncate(struct pkt *p, __u32 len)
{
	if (len < p->len) {
		memset(p->data + len, 0, p->len - len);
		p->len = len;
	}
}

void pkt_poke8(struct pkt *p, __u32 off, __u8 val)
{
	if (off < PKT_MAX)
		p->data[off] = val;
}

void pkt_poke16(struct pkt *p, __u32 off, __u16 val)
{
	pkt_poke8(p, off, val >> 8);
	pkt_poke8(p, off + 1, val & 0xff);
}

void pkt_poke32(struct pkt *p, __u32 off, __u32 val)
{
	pkt_poke16(p, off, val >> 16);
	pkt_poke16(p, off + 2, val & 0xffff);
}
