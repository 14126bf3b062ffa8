/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * API: the rule model - what a mitigation rule matches and what it does.
 *
 * A rule matches any subset of the fields below (struct fl_rule.fields);
 * the lowest order among the rules that match a packet wins. What a
 * packet offers a rule is struct fl_rule_packet, the fields as the parser
 * (bpf/parse.h) validated them. Semantics, one place for both the XDP
 * engine and the plain reference matcher the tests hold it to:
 *   src/dst     prefix of the rule's family; a rule with neither matches
 *               both families
 *   proto       the IP protocol (IPv6: the last next header)
 *   sport/dport inclusive range; only packets with a TCP or UDP header
 *               (not later fragments) match a port field
 *   tcp-flags   (flags & mask) == value; only TCP packets match
 *   len         inclusive range of the IP datagram's length (IPv4 total
 *               length, IPv6 payload length + 40)
 *   dscp        exact
 *   frag        any (first or later fragment), first, later, none
 *   icmp-type   ICMP (IPv4) or ICMPv6 (IPv6) type, and optionally code
 */
#ifndef FLOWLENS_RULES_H
#define FLOWLENS_RULES_H

#include "types.h"

#define FL_RULE_FIELDS(X)            \
	X(SRC, 0, "src")             \
	X(DST, 1, "dst")             \
	X(PROTO, 2, "proto")         \
	X(SPORT, 3, "sport")         \
	X(DPORT, 4, "dport")         \
	X(TCP_FLAGS, 5, "tcp-flags") \
	X(LEN, 6, "len")             \
	X(DSCP, 7, "dscp")           \
	X(FRAG, 8, "frag")           \
	X(ICMP_TYPE, 9, "icmp-type") \
	X(ICMP_CODE, 10, "code")

enum fl_rule_field {
#define FL_X_FIELD(id, bit, name) FL_RF_##id = 1U << (bit),
	FL_RULE_FIELDS(FL_X_FIELD)
#undef FL_X_FIELD
};

enum fl_rule_frag {
	FL_RULE_FRAG_ANY = 1, /* a fragment, first or later */
	FL_RULE_FRAG_FIRST = 2,
	FL_RULE_FRAG_LATER = 3,
	FL_RULE_FRAG_NONE = 4, /* not a fragment */
};

enum fl_rule_action {
	FL_RULE_DROP = 1,
	FL_RULE_RATE_LIMIT = 2,
	FL_RULE_PERMIT = 3, /* skip later mitigation */
};

enum fl_rate_unit {
	FL_RATE_PPS = 0,
	FL_RATE_BPS = 1,
};

struct fl_rule {
	__u32 id;
	__u32 order; /* lowest matching order wins */
	__u32 fields; /* enum fl_rule_field bits */
	__u8 family; /* 4, 6, or 0: no address field, both families */
	__u8 src_len, dst_len;
	__u8 proto;
	union fl_addr src, dst; /* host bits zero */
	__u16 sport_min, sport_max;
	__u16 dport_min, dport_max;
	__u16 len_min, len_max;
	__u8 tcp_flags, tcp_mask;
	__u8 dscp;
	__u8 frag; /* enum fl_rule_frag */
	__u8 icmp_type, icmp_code;
	__u8 action; /* enum fl_rule_action */
	__u8 rate_unit; /* enum fl_rate_unit */
	__u32 pad;
	__u64 rate; /* rate-limit: packets or bits per second */
	__u64 burst; /* rate-limit: bucket depth, packets or bits */
	__u64 expires; /* 0: never; else seconds the rule lives */
};
_Static_assert(sizeof(struct fl_rule) == 96, "fl_rule layout");

/* A packet as a rule sees it. */
struct fl_rule_packet {
	__u8 family; /* 4 or 6 */
	__u8 proto;
	__u8 has_ports; /* TCP or UDP header present */
	__u8 is_tcp;
	__u8 is_icmp; /* ICMP for IPv4, ICMPv6 for IPv6 */
	__u8 tcp_flags;
	__u8 dscp;
	__u8 frag; /* FL_RULE_FRAG_FIRST, _LATER or _NONE */
	__u8 icmp_type, icmp_code;
	__u16 len;
	__u16 sport, dport; /* host order */
	__u32 pad[2];
	union fl_addr src, dst;
};
_Static_assert(sizeof(struct fl_rule_packet) == 56, "fl_rule_packet layout");

#endif /* FLOWLENS_RULES_H */
