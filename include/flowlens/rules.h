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
	FL_RULE_MARK = 4, /* re-mark the DSCP (fl_rule.mark) and go on */
};

/* fl_rule.mark and fl_rule_entry.mark: FL_MARK_SET | the DSCP to write
 * into the packets the rule lets through (mark, permit, and rate-limit's
 * conforming packets); 0: leave the DSCP alone. */
#define FL_MARK_SET 0x80
#define FL_MARK_DSCP 0x3f

enum fl_rate_unit {
	FL_RATE_PPS = 0,
	FL_RATE_BPS = 1,
};

#define FL_RULE_ORDER_DEFAULT 1000 /* without "order N" */
/* Rules from BGP FlowSpec routes have orders from here up; an operator's
 * and the DDoS engine's stay below, so they always win. */
#define FL_RULE_ORDER_FLOWSPEC 0x80000000U
#define FL_RULE_BURST_MIN_BITS 12000 /* bps buckets hold a 1500-byte packet */

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
	__u32 attack; /* 0: an operator's rule; else the DDoS attack's id */
	__u64 rate; /* rate-limit: packets or bits per second */
	__u64 burst; /* rate-limit: bucket depth, packets or bits */
	__u64 expires; /* 0: never; else seconds the rule lives */
	__u8 origin; /* enum fl_rule_origin_id; an attack id means DDoS */
	__u8 mark; /* FL_MARK_SET | DSCP, or 0 */
	__u8 peer_family; /* FL_RULE_FROM_FLOWSPEC: the peer's, 4 or 6 */
	__u8 pad;
	__u32 route; /* FL_RULE_FROM_FLOWSPEC: the route's id in flowlensd */
	union fl_addr peer; /* ... and the peer that announced it */
};
_Static_assert(sizeof(struct fl_rule) == 120, "fl_rule layout");

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

/*
 * The engine's maps (stage 3 of DESIGN.md, bpf/rules.h), one set per family.
 *
 * Rules are grouped by shape: which fields a rule's key holds and how much
 * of each (prefix lengths, port masks). Each shape has one exact-match hash,
 * an inner map of FL_MAP_RULE_SHAPE4/6 keyed by struct fl_rule_key4/6 with
 * the packet's fields ANDed with the shape's masks. A hit names up to
 * FL_RULE_CHAIN_MAX rules (struct fl_rule_ids), sorted by (order, id); each
 * then re-checks only what a key cannot hold (struct fl_rule_entry.check).
 *
 * Ranges: a single port, or a range that is an aligned power-of-two block
 * (1024-2047, 0-1023), is a mask in the key and needs no re-check. Any
 * other port range, and every length range, is left out of the key and
 * re-checked: one hash entry per rule, never an expansion. Rules that then
 * share a key (same shape, same masked fields) share a chain, which is why
 * its length is bounded.
 *
 * The published list of shapes (struct fl_rule_shape_set, sorted by the
 * lowest order in each shape) is the only entry of an array that is itself
 * the inner map of FL_MAP_RULE_SETS; flowlensd swaps in a new one to
 * change it. A shape's hash is fully built before the list that names it is
 * published, and every key carries its shape's tag (never reused), so a
 * packet racing a change sees the old rule set or the new one, never a
 * half-built shape.
 */
#define FL_RULE_SHAPES_MAX 32 /* per family */
#define FL_RULE_CHAIN_MAX 4 /* rules sharing one key of one shape */
#define FL_RULE_MAX_DEFAULT 1048576 /* rule ids (flowlensd --max-rules) */
#define FL_RATE_SHIFT 12 /* fixed-point bits of fl_rule_entry.cost */

/* The masked fields after the addresses: identical for both families. */
struct fl_rule_key_l4 {
	__u16 sport, dport; /* host order */
	__u8 proto;
	__u8 dscp;
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 pad[3];
};

struct fl_rule_key4 {
	__be32 src, dst;
	struct fl_rule_key_l4 l4;
	__u32 tag; /* the shape's */
};
_Static_assert(sizeof(struct fl_rule_key4) == 24, "fl_rule_key4 layout");

struct fl_rule_key6 {
	union fl_addr src, dst;
	struct fl_rule_key_l4 l4;
	__u32 tag;
};
_Static_assert(sizeof(struct fl_rule_key6) == 48, "fl_rule_key6 layout");

/* What a shape needs from a packet before its key means anything. */
enum fl_rule_need {
	FL_NEED_PORTS = 1, /* a TCP or UDP header */
	FL_NEED_TCP = 2,
	FL_NEED_ICMP = 4, /* ICMP for IPv4, ICMPv6 for IPv6 */
};

struct fl_rule_shape {
	__u32 tag; /* in every key of this shape; unique while the maps live */
	__u32 slot; /* index of its hash in FL_MAP_RULE_SHAPE4/6 */
	__u32 min_order; /* no rule of this shape has a lower order */
	__u8 need; /* enum fl_rule_need */
	__u8 pad[3];
	union fl_addr src_mask, dst_mask; /* IPv4: w[0] */
	struct fl_rule_key_l4 l4_mask;
	__u32 pad2;
};
_Static_assert(sizeof(struct fl_rule_shape) == 64, "fl_rule_shape layout");

struct fl_rule_shape_set {
	__u32 count;
	__u32 pad;
	struct fl_rule_shape shapes[FL_RULE_SHAPES_MAX]; /* by min_order */
};

/* A hash entry's rules: ids, sorted by (order, id), 0 ends the list. */
struct fl_rule_ids {
	__u32 id[FL_RULE_CHAIN_MAX];
};

/* What a hit re-checks: fields the key could not hold. */
enum fl_rule_check {
	FL_CHECK_SPORT = 1,
	FL_CHECK_DPORT = 2,
	FL_CHECK_LEN = 4,
	FL_CHECK_FRAG = 8,
};

/* FL_MAP_RULES[id]: a rule as the datapath needs it. */
struct fl_rule_entry {
	__u32 order;
	__u8 action; /* enum fl_rule_action; 0: free id */
	__u8 check; /* enum fl_rule_check */
	__u8 frag; /* enum fl_rule_frag */
	__u8 rate_unit; /* enum fl_rate_unit */
	__u16 sport_min, sport_max;
	__u16 dport_min, dport_max;
	__u16 len_min, len_max;
	__u8 origin; /* enum fl_rule_origin_id: FL_MAP_RULE_ORIGIN_STATS' row */
	__u8 mark; /* FL_MARK_SET | DSCP: re-mark what passes; 0: none */
	__u8 pad[2];
	/*
	 * rate-limit, as a GCRA (a token bucket kept as the time the bucket
	 * next drains, FL_MAP_RULE_TAT): a packet costs cost >> FL_RATE_SHIFT
	 * ns per packet (pps) or per byte of IP datagram (bps), and passes
	 * while the backlog it leaves is at most depth ns (the burst).
	 */
	__u64 cost;
	__u64 depth;
	__u64 expires_ns; /* CLOCK_MONOTONIC; 0: never */
};
_Static_assert(sizeof(struct fl_rule_entry) == 48, "fl_rule_entry layout");

/* FL_MAP_RULE_DEFS[id]: the rule as given, and when it expires. */
struct fl_rule_def {
	struct fl_rule rule;
	__u64 expires_at; /* CLOCK_REALTIME ns; 0: never */
};

/* Who put a rule in, as the datapath counts it (struct
 * fl_rule_entry.origin): a rule with an attack id is the DDoS engine's. */
enum fl_rule_origin_id {
	FL_RULE_FROM_OPERATOR = 0,
	FL_RULE_FROM_DDOS = 1,
	FL_RULE_FROM_FLOWSPEC = 2,
	FL_RULE_ORIGINS = 4,
};
#define FL_RULE_ACTIONS 8 /* enum fl_rule_action's values, and 0 */

/*
 * FL_MAP_RULE_ORIGIN_STATS[origin * FL_RULE_ACTIONS + action], per CPU:
 * what every rule of one origin and action matched and dropped, so a
 * reader sums a few entries rather than a million rules' counters.
 */
struct fl_rule_origin_stats {
	__u64 packets; /* matched */
	__u64 bytes;
	__u64 dropped; /* drop rules: all; rate-limit: over the rate */
	__u64 dropped_bytes;
};

/* FL_MAP_RULE_STATS[id], per CPU. */
struct fl_rule_stats {
	__u64 packets; /* matched */
	__u64 bytes;
	__u64 dropped; /* drop rules: all; rate-limit: over the rate */
};

#endif /* FLOWLENS_RULES_H */
