/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: BGP FlowSpec routes (RFC 8955 IPv4, RFC 8956 IPv6) and the rules
 * they become.
 *   fs_route_from_json()  a path as `gobgp -j` prints it -> struct fs_route
 *   fs_compile()          a route -> the fewest engine rules (struct
 *                         fl_rule) that match exactly what it matches, or
 *                         a refusal that names why; never half a route
 *   fs_route_from_rule()  an engine rule -> the route that announces it
 *   fs_route_args()       a route -> the words `gobgp global rib -a
 *                         ipv4-flowspec add` takes after "add"
 *   fs_route_format()     one line for logs and flctl
 *
 * Components keep the RFC's {operator, value} lists as received; the
 * operator byte is the RFC's, so a list means exactly what it meant on
 * the wire: items are ORed unless the AND bit is set, and AND binds
 * tighter than OR (RFC 8955 section 4.2.1.1).
 */
#ifndef FL_FLOWSPEC_H
#define FL_FLOWSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <flowlens/rules.h>

enum fs_type {
	FS_DST = 1,
	FS_SRC = 2,
	FS_PROTO = 3, /* IPv6: next header */
	FS_PORT = 4, /* source or destination */
	FS_DPORT = 5,
	FS_SPORT = 6,
	FS_ICMP_TYPE = 7,
	FS_ICMP_CODE = 8,
	FS_TCP_FLAGS = 9,
	FS_LEN = 10, /* the IP datagram's length */
	FS_DSCP = 11,
	FS_FRAG = 12,
	FS_FLOW_LABEL = 13, /* IPv6 only */
	FS_TYPES = 14,
};

/* The operator byte (numeric: lt gt eq; bitmask: not match). */
#define FS_OP_END 0x80
#define FS_OP_AND 0x40
#define FS_OP_LEN 0x30 /* value length: 1 << ((op & FS_OP_LEN) >> 4) */
#define FS_OP_LT 0x04
#define FS_OP_GT 0x02
#define FS_OP_EQ 0x01
#define FS_OP_NOT 0x02
#define FS_OP_MATCH 0x01

/* The fragment component's bits (RFC 8955 section 4.2.2.12). */
#define FS_FRAG_DF 0x01 /* don't fragment */
#define FS_FRAG_ISF 0x02 /* is a fragment */
#define FS_FRAG_FF 0x04 /* first fragment */
#define FS_FRAG_LF 0x08 /* last fragment */

#define FS_ITEMS_MAX 32 /* {op, value} pairs one component may hold */

struct fs_item {
	__u8 op;
	__u32 value;
};

struct fs_component {
	bool present;
	/* FS_DST, FS_SRC */
	__u8 len, offset; /* offset: IPv6 only, in bits */
	union fl_addr addr; /* host bits zero */
	/* every other type */
	__u8 n;
	struct fs_item items[FS_ITEMS_MAX];
};

/* What the route asks for, from its extended communities. */
enum fs_action_kind {
	FS_ACT_ACCEPT = 0, /* no traffic action: the traffic passes */
	FS_ACT_DROP, /* traffic-rate-bytes or -packets 0 */
	FS_ACT_RATE_BYTES, /* traffic-rate-bytes N > 0 (bytes/s) */
	FS_ACT_RATE_PACKETS, /* traffic-rate-packets N > 0 */
};

struct fs_route {
	__u8 family; /* 4 or 6 */
	struct fs_component c[FS_TYPES]; /* indexed by enum fs_type */
	enum fs_action_kind action;
	double rate; /* FS_ACT_RATE_*: bytes or packets per second */
	bool mark; /* traffic-marking */
	__u8 mark_dscp;
	bool sample; /* traffic-action S bit: counted */
	bool non_terminal; /* traffic-action T bit */
	bool redirect; /* redirect (any kind): not supported here */
	bool unknown_ext; /* another extended community of the FlowSpec
			     kinds we do not know */
};

/* Why fs_compile() refused a route (its return is -errno; *why this). */
enum fs_refusal {
	FS_OK = 0,
	FS_MALFORMED, /* a component that breaks the RFC's rules */
	FS_UNMATCHABLE, /* valid, but not something this engine can match
			   (IPv6 prefix offset, flow label, dont-fragment,
			   last-fragment on its own) */
	FS_EMPTY, /* matches no packet at all */
	FS_TOO_BIG, /* expands past the bound */
	FS_NON_TERMINAL, /* traffic-action T bit: evaluation would go on to
			    later routes, which a first-match engine cannot
			    do */
	FS_REFUSALS,
};
const char *fs_refusal_name(enum fs_refusal why);

#define FS_EXPAND_DEFAULT 64 /* engine rules one route may become */

/*
 * Compiles @r into at most @max rules in @out (each with the match fields
 * and the action filled; order, id, origin left to the caller), *n the
 * count. 0, or -EINVAL with *why and @err saying what is wrong. A route
 * with FS_ACT_ACCEPT and no marking compiles to 0 rules. A route that
 * asks to redirect is compiled as if it did not (the caller decides what
 * to do with r->redirect). The rules are exact: a packet matches one of
 * them iff the route matches it. Ports, TCP flags and ICMP components
 * imply their header (never a later fragment); "dport ==80; proto ==6
 * ==17" is one rule, since a dport field already means TCP or UDP.
 * Refused: an IPv4 DF or a last-fragment test the engine cannot see
 * (FS_UNMATCHABLE), a route every packet of its family matches
 * (FS_UNMATCHABLE: the engine takes no rule without a field), a route
 * with an action and the traffic-action T bit (FS_NON_TERMINAL: RFC 8955
 * section 7.3 says a matching packet goes on to later routes; the engine
 * stops at the first rule that matches, so the route is refused rather
 * than enforced as if terminal). A T-bit route with no action at all
 * compiles to 0 rules, which is what it asks for.
 */
int fs_compile(const struct fs_route *r, struct fl_rule *out, size_t max,
	       size_t *n, enum fs_refusal *why, char *err, size_t errlen);

/*
 * A path object of `gobgp -j global rib -a ipv4-flowspec` (or -a
 * ipv6-flowspec, or one path of `gobgp -j monitor global rib`) -> @r.
 * 0 or -EINVAL with @err. (What a path's other keys mean, neighbor and
 * withdrawal, is the caller's.)
 */
struct json_object;
int fs_route_from_json(struct json_object *path, int family,
		       struct fs_route *r, char *err, size_t errlen);

/*
 * The route that announces an engine rule: its prefixes, protocol, ports,
 * ICMP, TCP flags, length, DSCP and fragment as FlowSpec components, its
 * action as traffic-rate (drop: 0; rate-limit: bytes/s, or packets/s) and
 * traffic-marking. -EINVAL if the rule is a permit. A rule for both
 * families (family 0) becomes the IPv4 route; pass a copy with family 6
 * for the IPv6 one.
 */
int fs_route_from_rule(const struct fl_rule *rule, struct fs_route *r);

/*
 * @r as the words that follow "add"/"del" in `gobgp global rib -a
 * ipv4-flowspec add ...`: "match destination 203.0.113.7/32 protocol
 * ==udp ... then discard". Writes at most @max pointers into @argv,
 * pointing into @buf; the count, or -ENOSPC. -EOPNOTSUPP for
 * FS_ACT_RATE_PACKETS (gobgp 3.10's CLI has no traffic-rate-packets),
 * -EINVAL for a bitmask item gobgp has no word for (TCP flags 0, several
 * fragment bits in one item). A redirect is not written (no target kept).
 */
int fs_route_args(const struct fs_route *r, char *buf, size_t len,
		  char **argv, int max);

/* One line: "ipv4 dst 203.0.113.7/32 proto ==17 dport >=1000&<=2000 then
 * rate-bytes 125000 mark 10". */
const char *fs_route_format(const struct fs_route *r, char *buf, size_t len);

#endif /* FL_FLOWSPEC_H */
