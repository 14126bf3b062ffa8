/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: a tiny packet builder for the unit tests.
 *   pkt_build()      - one frame from a struct pkt_spec; specs are meant to
 *                      sit in tables of {description, packet, expectation}
 *   pkt_truncate()   - cut the frame at any byte
 *   pkt_poke8/16/32() - overwrite any field afterwards (struct pkt records
 *                      where each header starts)
 *   pkt_ip4_csum()   - refresh the IPv4 header checksum after a change
 *
 * A spec describes a well-formed packet: Ethernet, 0-3 VLAN tags, IPv4 (with
 * options and fragment fields), IPv6 (with a list of extension headers) or
 * ARP, then TCP, UDP, ICMP, ICMPv6 or nothing, then payload and Ethernet
 * padding. Lengths and checksums are computed; the PKT_SET() overrides put a
 * wrong value in one field while everything else stays consistent, which is
 * how the malformed-packet tables are written.
 */
#ifndef FL_SELFTESTS_PKT_H
#define FL_SELFTESTS_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define PKT_MAX 2048
#define PKT_MAX_VLANS 3
#define PKT_MAX_EXT 12

/* An optional field: PKT_SET(v) overrides what the builder computes. */
struct pkt_opt {
	__u8 set;
	__u32 val;
};
/* clang-format off */
#define PKT_SET(v) { .set = 1, .val = (v) }
/* clang-format on */

enum pkt_l3 {
	PKT_L3_NONE = 0, /* only .ethertype and the payload */
	PKT_IPV4,
	PKT_IPV6,
	PKT_ARP,
};

enum pkt_l4 {
	PKT_L4_NONE = 0, /* no header: .proto (default 59, no next header) */
	PKT_TCP,
	PKT_UDP,
	PKT_ICMP,
	PKT_ICMPV6,
};

/* IPv4 fragment field (host order) and IPv6 fragment header field. */
#define PKT_IP4_MF 0x2000
#define PKT_IP4_DF 0x4000
#define PKT_IP4_FRAG(offset8, more) \
	((__u16)(((more) ? PKT_IP4_MF : 0) | (0x1fff & (offset8))))
#define PKT_IP6_FRAG(offset8, more) \
	((__u16)(((offset8) << 3) | ((more) ? 1 : 0)))

/* TCP flags as they appear in byte 13 of the header. */
#define PKT_TCP_FIN 0x01
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04
#define PKT_TCP_PSH 0x08
#define PKT_TCP_ACK 0x10

struct pkt_ext6 {
	__u8 type; /* IPPROTO_HOPOPTS, _ROUTING, _DSTOPTS, _MH, _AH, _FRAGMENT */
	__u16 len; /* bytes; 0: 8 (fragment, options), 24 (AH) */
	__u16 frag_off; /* IPPROTO_FRAGMENT: PKT_IP6_FRAG() */
	struct pkt_opt hdrlen; /* raw length byte, overriding .len's */
};
/* PKT_EXT(FRAGMENT, .frag_off = PKT_IP6_FRAG(0, 1)), from <netinet/in.h> */
/* clang-format off */
#define PKT_EXT(type_, ...) { .type = IPPROTO_##type_, __VA_ARGS__ }
/* clang-format on */

struct pkt_spec {
	struct pkt_opt ethertype; /* default: from .l3 (or the first tag) */
	struct {
		__u8 count;
		/* 0: 802.1ad outside, 802.1Q for the innermost tag */
		__u16 tpid[PKT_MAX_VLANS];
	} vlan;
	enum pkt_l3 l3;
	/* Addresses as text; NULL: 192.0.2.1 -> 198.51.100.1 (IPv4, ARP),
	 * 2001:db8::1 -> 2001:db8::2 (IPv6). */
	const char *src, *dst;
	struct {
		__u8 opt_len; /* option bytes, a multiple of 4, at most 40 */
		__u16 frag_off; /* flags and offset, host order: PKT_IP4_FRAG() */
		__u8 tos;
		struct pkt_opt version, ihl, tot_len;
	} ip4;
	struct {
		__u8 nr_ext;
		struct pkt_ext6 ext[PKT_MAX_EXT];
		__u8 tclass;
		struct pkt_opt version, payload_len;
	} ip6;
	enum pkt_l4 l4;
	struct pkt_opt proto; /* IP protocol / last next header */
	struct {
		__u16 sport, dport; /* 0: 40000 -> 80 */
		__u8 flags; /* PKT_TCP_* */
		__u8 opt_len; /* option bytes, a multiple of 4, at most 40 */
		struct pkt_opt doff;
	} tcp;
	struct {
		__u16 sport, dport; /* 0: 40000 -> 53 */
		struct pkt_opt len;
	} udp;
	struct {
		__u8 type, code; /* 0/0: echo request */
	} icmp;
	__u16 payload_len;
	/* The payload's bytes (payload_len of them); NULL: 0, 1, 2, ...
	 * With payload_len 0 the string's length is taken: a SIP line. */
	const char *payload;
	/* Keep only this many bytes of L4 header and payload; the IP lengths
	 * are computed from what is kept (a truncated L4 header). */
	struct pkt_opt l4_bytes;
	__u16 pad_len; /* zero bytes after the IP datagram */
	struct pkt_opt truncate; /* final frame length, cut after all else */
};

struct pkt {
	__u8 data[PKT_MAX];
	__u32 len;
	/* Offsets of each header from the frame start (0: absent). */
	__u16 l3_off, l4_off, payload_off;
	__u16 vlan_off[PKT_MAX_VLANS];
	__u16 ext_off[PKT_MAX_EXT];
	__u16 ip_end; /* end of the IP datagram; padding follows */
};

/* Builds @spec into @p. Returns 0, or -EINVAL for a spec that does not fit
 * (bad address text, lengths beyond PKT_MAX or the header limits). */
int pkt_build(const struct pkt_spec *spec, struct pkt *p);

/* Cuts the frame to @len bytes; no-op if it is already shorter. */
void pkt_truncate(struct pkt *p, __u32 len);

/* Overwrite one field (@off from the frame start; values host order). */
void pkt_poke8(struct pkt *p, __u32 off, __u8 val);
void pkt_poke16(struct pkt *p, __u32 off, __u16 val);
void pkt_poke32(struct pkt *p, __u32 off, __u32 val);

/* Recompute the IPv4 header checksum (after a poke into the header). */
void pkt_ip4_csum(struct pkt *p);

/* The Internet checksum of @len bytes, in network byte order, ready to
 * store; 0 over a header that already holds a valid one. */
__u16 pkt_inet_csum(const void *data, __u32 len);

#endif /* FL_SELFTESTS_PKT_H */
