// SPDX-License-Identifier: Apache-2.0
/*
 * The template frame: Ethernet, IPv4 or IPv6, then UDP, TCP or an ICMP echo
 * request, the IP packet filling the frame (the rest is zero payload).
 *
 * Every field the BPF program writes per packet (random address words and
 * ports, TCP sequence numbers, the ICMP sequence number) is zero here, and
 * the checksum bases are the sums of everything else: the program adds
 * what it writes and folds. When nothing varies the template's own
 * checksums are already right and the program leaves them alone.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <netinet/in.h>

#include "flgen.h"

#define TCP_WINDOW 64240
#define IPV4_DONT_FRAGMENT 0x4000

static unsigned int l4_header_size(enum flgen_command kind)
{
	switch (kind) {
	case CMD_SYN:
	case CMD_ACK:
		return sizeof(struct tcphdr);
	case CMD_UDP:
		return sizeof(struct udphdr);
	default:
		return 8; /* ICMP and ICMPv6 echo request */
	}
}

unsigned int flgen_min_frame_size(enum flgen_command kind, bool ipv6)
{
	return FLGEN_ETH_HLEN +
	       (ipv6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr)) +
	       l4_header_size(kind);
}

/* One's complement sum of 16-bit words as loaded in host order (the sum
 * is byte-order independent, RFC 1071); not folded. */
static uint32_t csum_partial(const void *buf, unsigned int len, uint32_t sum)
{
	const unsigned char *p = buf;
	uint16_t word;

	for (; len > 1; len -= 2, p += 2) {
		memcpy(&word, p, 2);
		sum += word;
	}
	if (len) {
		unsigned char last[2] = { *p, 0 };

		memcpy(&word, last, 2);
		sum += word;
	}
	return sum;
}

static uint16_t csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* The address words the program draws stay zero in the template. */
static void put_addr(void *dst, const struct flgen_addr_spec *spec)
{
	uint32_t words[4];
	unsigned int i, n = spec->family == AF_INET ? 1 : 4;

	for (i = 0; i < n; i++)
		words[i] = spec->range.count[i] > 1 ?
				   0 :
				   htonl(spec->range.base[i]);
	memcpy(dst, words, n * 4);
}

static uint16_t put_port(const struct flgen_port_range *range)
{
	return range->count > 1 ? 0 : htons(range->base);
}

static uint8_t ip_protocol(enum flgen_command kind, bool ipv6)
{
	switch (kind) {
	case CMD_UDP:
		return IPPROTO_UDP;
	case CMD_SYN:
	case CMD_ACK:
		return IPPROTO_TCP;
	default:
		return ipv6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	}
}

int flgen_build_template(const struct flgen_options *opt,
			 const unsigned char src_mac[6],
			 const unsigned char dst_mac[6], unsigned char *frame,
			 unsigned int size, struct flgen_config *cfg)
{
	bool ipv6 = opt->dst.family == AF_INET6;
	uint8_t proto = ip_protocol(opt->command, ipv6);
	struct ethhdr *eth = (struct ethhdr *)frame;
	unsigned int l4_len;
	uint32_t pseudo = 0;
	unsigned char *l4;
	uint16_t check;

	if (size < flgen_min_frame_size(opt->command, ipv6))
		return -EINVAL;
	memset(frame, 0, size);
	memset(cfg, 0, sizeof(*cfg));
	cfg->ipv6 = ipv6;
	cfg->src = opt->src.range;
	cfg->dst = opt->dst.range;
	cfg->sport = opt->sport;
	cfg->dport = opt->dport;

	memcpy(eth->h_dest, dst_mac, 6);
	memcpy(eth->h_source, src_mac, 6);
	eth->h_proto = htons(ipv6 ? ETH_P_IPV6 : ETH_P_IP);

	if (ipv6) {
		struct ipv6hdr *ip6 = (struct ipv6hdr *)(eth + 1);
		uint32_t len;

		ip6->version = 6;
		ip6->nexthdr = proto;
		ip6->hop_limit = 64;
		l4 = (unsigned char *)(ip6 + 1);
		l4_len = size - (l4 - frame);
		ip6->payload_len = htons(l4_len);
		put_addr(&ip6->saddr, &opt->src);
		put_addr(&ip6->daddr, &opt->dst);
		/* Pseudo header: addresses, length, next header. */
		pseudo = csum_partial(&ip6->saddr, 32, 0);
		len = htonl(l4_len);
		pseudo = csum_partial(&len, 4, pseudo);
		pseudo += htons(proto);
	} else {
		struct iphdr *ip = (struct iphdr *)(eth + 1);

		ip->version = 4;
		ip->ihl = 5;
		ip->tot_len = htons(size - FLGEN_ETH_HLEN);
		ip->frag_off = htons(IPV4_DONT_FRAGMENT);
		ip->ttl = 64;
		ip->protocol = proto;
		put_addr(&ip->saddr, &opt->src);
		put_addr(&ip->daddr, &opt->dst);
		cfg->ip_csum_base = csum_partial(ip, sizeof(*ip), 0);
		ip->check = csum_fold(cfg->ip_csum_base);
		l4 = (unsigned char *)(ip + 1);
		l4_len = size - (l4 - frame);
		pseudo = csum_partial(&ip->saddr, 8, 0);
		pseudo += htons(l4_len);
		pseudo += htons(proto);
	}
	cfg->l4_offset = l4 - frame;

	switch (opt->command) {
	case CMD_UDP: {
		struct udphdr *udp = (struct udphdr *)l4;

		cfg->kind = FLGEN_KIND_UDP;
		udp->source = put_port(&opt->sport);
		udp->dest = put_port(&opt->dport);
		udp->len = htons(l4_len);
		cfg->l4_csum_base = csum_partial(l4, l4_len, pseudo);
		check = csum_fold(cfg->l4_csum_base);
		udp->check = check ?: 0xffff;
		break;
	}
	case CMD_SYN:
	case CMD_ACK: {
		struct tcphdr *tcp = (struct tcphdr *)l4;

		cfg->kind = opt->command == CMD_SYN ? FLGEN_KIND_SYN :
						      FLGEN_KIND_ACK;
		tcp->source = put_port(&opt->sport);
		tcp->dest = put_port(&opt->dport);
		tcp->doff = sizeof(*tcp) / 4;
		tcp->syn = opt->command == CMD_SYN;
		tcp->ack = opt->command == CMD_ACK;
		tcp->window = htons(TCP_WINDOW);
		cfg->l4_csum_base = csum_partial(l4, l4_len, pseudo);
		tcp->check = csum_fold(cfg->l4_csum_base);
		break;
	}
	case CMD_ICMP: {
		struct icmphdr *icmp = (struct icmphdr *)l4;

		cfg->kind = FLGEN_KIND_ICMP;
		icmp->type = ipv6 ? ICMPV6_ECHO_REQUEST : ICMP_ECHO;
		icmp->un.echo.id = htons(getpid() & 0xffff);
		cfg->l4_csum_base = csum_partial(l4, l4_len, ipv6 ? pseudo : 0);
		icmp->checksum = csum_fold(cfg->l4_csum_base);
		break;
	}
	default:
		return -EINVAL;
	}
	cfg->header_len = (size < FLGEN_HEADER_MAX ? size : FLGEN_HEADER_MAX) &
			  ~7U;
	memcpy(cfg->header, frame, cfg->header_len);
	if (size <= FLGEN_HEADER_MAX && size > cfg->header_len) {
		cfg->tail_off = size - 8;
		memcpy(&cfg->tail, (__u8 *)frame + cfg->tail_off, 8);
	}
	return 0;
}
