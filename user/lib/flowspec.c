// SPDX-License-Identifier: Apache-2.0
/*
 * BGP FlowSpec routes (RFC 8955, RFC 8956) -> engine rules, and back.
 *
 * fs_compile() evaluates each component's {op, value} list over the whole
 * domain of its field (a bitmap: at most 65536 values), so what a list
 * means never depends on how it was written; it then turns each set into
 * the fewest engine alternatives (one per value, one per range, one per
 * (value, mask) cube of TCP flags) and the route into their cross product.
 *
 * The components fall into groups that fill disjoint rule fields (the
 * three port components form one group, since "port" and "dport" both
 * constrain the destination port), so the product's size is known before
 * any rule is built, and a route is refused whole rather than cut short.
 *
 * A component on a header (ports, TCP flags, ICMP type/code) matches only
 * packets that have that header: never a later fragment, and only the
 * protocol that carries it. The engine's port, tcp-flags and icmp fields
 * already require their header, so protocol and fragment alternatives that
 * cannot coexist with them are dropped rather than emitted as dead rules.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <json-c/json.h>

#include "flowspec.h"

#define DOMAIN_MAX 65536
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A set of values of one field, 0 .. size - 1. */
struct value_set {
	__u32 size;
	__u64 bits[DOMAIN_MAX / 64];
};

static const char *const type_names[FS_TYPES] = {
	[FS_DST] = "dst",
	[FS_SRC] = "src",
	[FS_PROTO] = "proto",
	[FS_PORT] = "port",
	[FS_DPORT] = "dport",
	[FS_SPORT] = "sport",
	[FS_ICMP_TYPE] = "icmp-type",
	[FS_ICMP_CODE] = "icmp-code",
	[FS_TCP_FLAGS] = "tcp-flags",
	[FS_LEN] = "len",
	[FS_DSCP] = "dscp",
	[FS_FRAG] = "frag",
	[FS_FLOW_LABEL] = "flow-label",
};

/* The largest value each numeric or bitmask component's field can hold. */
static const __u32 type_max[FS_TYPES] = {
	[FS_PROTO] = 255,     [FS_PORT] = 65535,	 [FS_DPORT] = 65535,
	[FS_SPORT] = 65535,   [FS_ICMP_TYPE] = 255,	 [FS_ICMP_CODE] = 255,
	[FS_TCP_FLAGS] = 255, [FS_LEN] = 65535,		 [FS_DSCP] = 63,
	[FS_FRAG] = 255,      [FS_FLOW_LABEL] = 0xfffff,
};

static bool is_bitmask(int type)
{
	return type == FS_TCP_FLAGS || type == FS_FRAG;
}

static int refuse(enum fs_refusal *why, enum fs_refusal what, char *err,
		  size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int refuse(enum fs_refusal *why, enum fs_refusal what, char *err,
		  size_t errlen, const char *fmt, ...)
{
	va_list ap;

	*why = what;
	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

const char *fs_refusal_name(enum fs_refusal why)
{
	static const char *const names[FS_REFUSALS] = {
		[FS_OK] = "ok",
		[FS_MALFORMED] = "malformed",
		[FS_UNMATCHABLE] = "unmatchable",
		[FS_EMPTY] = "empty",
		[FS_TOO_BIG] = "too-big",
		[FS_NON_TERMINAL] = "non-terminal",
	};

	return why < FS_REFUSALS ? names[why] : "unknown";
}

/* ---- value sets ------------------------------------------------------- */

static void set_init(struct value_set *s, __u32 size)
{
	s->size = size;
	memset(s->bits, 0, sizeof(s->bits));
}

static void set_fill(struct value_set *s, __u32 size)
{
	__u32 v;

	set_init(s, size);
	for (v = 0; v < size; v++)
		s->bits[v / 64] |= 1ULL << (v % 64);
}

static bool set_has(const struct value_set *s, __u32 v)
{
	return v < s->size && (s->bits[v / 64] >> (v % 64)) & 1;
}

static void set_del(struct value_set *s, __u32 v)
{
	s->bits[v / 64] &= ~(1ULL << (v % 64));
}

static __u32 set_count(const struct value_set *s)
{
	__u32 i, n = 0;

	for (i = 0; i < (s->size + 63) / 64; i++)
		n += __builtin_popcountll(s->bits[i]);
	return n;
}

static void set_and(struct value_set *s, const struct value_set *o)
{
	__u32 i;

	for (i = 0; i < DOMAIN_MAX / 64; i++)
		s->bits[i] &= o->bits[i];
}

/* The first value >= @v that is in the set (@want) or not in it, or the
 * set's size: a word at a time, since runs are often long. */
static __u32 set_scan(const struct value_set *s, __u32 v, bool want)
{
	while (v < s->size) {
		__u64 w = s->bits[v / 64];

		if (!want)
			w = ~w;
		w &= ~0ULL << (v % 64);
		if (w)
			return v - v % 64 + __builtin_ctzll(w) < s->size ?
				       v - v % 64 + __builtin_ctzll(w) :
				       s->size;
		v = v - v % 64 + 64;
	}
	return s->size;
}

/* Maximal runs of consecutive values; the count, and the @nth run. */
static __u32 set_runs(const struct value_set *s, __u32 nth, __u32 *lo,
		      __u32 *hi)
{
	__u32 v = 0, n = 0, start;

	for (;;) {
		start = set_scan(s, v, true);
		if (start >= s->size)
			return n;
		v = set_scan(s, start, false);
		if (n == nth && lo) {
			*lo = start;
			*hi = v - 1;
		}
		n++;
	}
}

/* The @nth value in the set. */
static __u32 set_nth(const struct value_set *s, __u32 nth)
{
	__u32 v;

	for (v = 0; v < s->size; v++)
		if (set_has(s, v) && !nth--)
			return v;
	return 0;
}

/* ---- evaluating a component ------------------------------------------- */

static bool numeric_item(__u8 op, __u32 item, __u32 v)
{
	switch (op & (FS_OP_LT | FS_OP_GT | FS_OP_EQ)) {
	case FS_OP_EQ:
		return v == item;
	case FS_OP_GT:
		return v > item;
	case FS_OP_GT | FS_OP_EQ:
		return v >= item;
	case FS_OP_LT:
		return v < item;
	case FS_OP_LT | FS_OP_EQ:
		return v <= item;
	case FS_OP_LT | FS_OP_GT:
		return v != item;
	case FS_OP_LT | FS_OP_GT | FS_OP_EQ:
		return true;
	default:
		return false;
	}
}

static bool bitmask_item(__u8 op, __u32 item, __u32 v)
{
	bool m = op & FS_OP_MATCH ? (v & item) == item : (v & item) != 0;

	return op & FS_OP_NOT ? !m : m;
}

/* An OR of AND-groups: an item without the AND bit starts a new group
 * (the first item always does, whatever its AND bit says). */
static bool component_eval(const struct fs_component *c, bool bitmask, __u32 v)
{
	bool any = false, group = false;
	int i;

	for (i = 0; i < c->n; i++) {
		__u8 op = c->items[i].op;
		__u32 item = c->items[i].value;
		bool m = bitmask ? bitmask_item(op, item, v) :
				   numeric_item(op, item, v);

		if (i == 0 || !(op & FS_OP_AND)) {
			any |= i > 0 && group;
			group = m;
		} else {
			group = group && m;
		}
	}
	return any || group;
}

/* Items the RFC forbids: none at all, too many, a value wider than its
 * encoded length or than the field. */
static int component_check(const struct fs_component *c, int type,
			   enum fs_refusal *why, char *err, size_t errlen)
{
	int i;

	if (!c->n || c->n > FS_ITEMS_MAX)
		return refuse(why, FS_MALFORMED, err, errlen,
			      "%s: %u items (1..%d)", type_names[type], c->n,
			      FS_ITEMS_MAX);
	for (i = 0; i < c->n; i++) {
		unsigned int bytes = 1U << ((c->items[i].op & FS_OP_LEN) >> 4);
		__u32 v = c->items[i].value;

		if (bytes < 4 && v >> (8 * bytes))
			return refuse(why, FS_MALFORMED, err, errlen,
				      "%s: value %u does not fit %u byte(s)",
				      type_names[type], v, bytes);
		if (v > type_max[type])
			return refuse(why, FS_MALFORMED, err, errlen,
				      "%s: value %u is out of range 0..%u",
				      type_names[type], v, type_max[type]);
	}
	return 0;
}

/* The values of the field the component accepts. */
static void component_set(const struct fs_component *c, int type,
			  struct value_set *s)
{
	__u32 v, size = type_max[type] + 1;

	set_init(s, size);
	for (v = 0; v < size; v++)
		if (component_eval(c, is_bitmask(type), v))
			s->bits[v / 64] |= 1ULL << (v % 64);
}

/* ---- TCP flags: the accepted flag bytes as (value, mask) cubes ---------- */

struct cube {
	__u8 value, mask;
};

static bool cube_inside(const struct value_set *s, __u8 value, __u8 mask)
{
	__u32 free = (__u8)~mask, sub = 0;

	/* every x with (x & mask) == value: value | each subset of ~mask */
	do {
		if (!set_has(s, value | sub))
			return false;
		sub = (sub - free) & free;
	} while (sub);
	return true;
}

static __u32 cube_gain(const struct value_set *left, struct cube c)
{
	__u32 free = (__u8)~c.mask, sub = 0, n = 0;

	do {
		n += set_has(left, c.value | sub);
		sub = (sub - free) & free;
	} while (sub);
	return n;
}

/*
 * Prime implicants of the 8-bit function, then a greedy cover (the cube
 * covering most still-uncovered bytes first, larger cubes on ties): not
 * always the minimum, but 3^8 cubes make it cheap and it is exact.
 */
static __u32 tcp_cover(const struct value_set *s, struct cube *out, __u32 max)
{
	struct cube primes[6561]; /* 3^8: every cube */
	struct value_set left = *s;
	__u32 np = 0, n = 0, m, v, b, i;

	for (m = 0; m < 256; m++)
		for (v = m;; v = (v - 1) & m) {
			bool prime = cube_inside(s, v, m);

			for (b = 1; prime && b < 256; b <<= 1)
				if ((m & b) && cube_inside(s, v & ~b, m & ~b))
					prime = false;
			if (prime)
				primes[np++] = (struct cube){ v, m };
			if (!v)
				break;
		}
	while (set_count(&left)) {
		__u32 best = 0, best_gain = 0, gain;

		for (i = 0; i < np; i++) {
			gain = cube_gain(&left, primes[i]);
			if (gain > best_gain ||
			    (gain == best_gain && gain &&
			     __builtin_popcount(primes[i].mask) <
				     __builtin_popcount(primes[best].mask))) {
				best = i;
				best_gain = gain;
			}
		}
		if (out && n < max)
			out[n] = primes[best];
		n++;
		for (v = 0; v < 256; v++)
			if ((v & primes[best].mask) == primes[best].value)
				set_del(&left, v);
	}
	return n;
}

/* ---- the fragment component ------------------------------------------- */

enum frag_class {
	FRAG_C_NONE = 1,
	FRAG_C_FIRST = 2,
	FRAG_C_LATER = 4,
	FRAG_C_ALL = 7,
};

/*
 * The packet states the bits can describe, and what the engine sees of
 * them. IPv6 has no DF bit (RFC 8956 section 3.6: ignored on decoding),
 * so its items lose it and its non-fragments are one state.
 */
static int frag_classes(const struct fs_component *c, int family,
			unsigned int *classes, enum fs_refusal *why, char *err,
			size_t errlen)
{
	static const struct {
		__u8 bits;
		unsigned int class;
	} states[] = {
		{ 0x00, FRAG_C_NONE },
		{ FS_FRAG_DF, FRAG_C_NONE },
		{ FS_FRAG_ISF | FS_FRAG_FF, FRAG_C_FIRST },
		{ FS_FRAG_ISF, FRAG_C_LATER },
		{ FS_FRAG_ISF | FS_FRAG_LF, FRAG_C_LATER },
	};
	struct fs_component v6 = *c;
	bool in[ARRAY_SIZE(states)];
	unsigned int i;

	if (family == 6) {
		for (i = 0; i < v6.n; i++)
			v6.items[i].value &= ~FS_FRAG_DF;
		c = &v6;
	}
	*classes = 0;
	for (i = 0; i < ARRAY_SIZE(states); i++) {
		in[i] = component_eval(c, true, states[i].bits);
		if (family == 6 && states[i].bits == FS_FRAG_DF)
			in[i] = in[0];
		if (in[i])
			*classes |= states[i].class;
	}
	if (in[0] != in[1])
		return refuse(
			why, FS_UNMATCHABLE, err, errlen,
			"frag: dont-fragment (DF) is not something the engine matches");
	if (in[3] != in[4])
		return refuse(
			why, FS_UNMATCHABLE, err, errlen,
			"frag: last-fragment (LF) is not something the engine tells from a middle fragment");
	return 0;
}

/* ---- compiling: groups of alternatives, then their product ------------- */

enum need {
	NEED_PORTS = 1, /* a TCP or UDP header */
	NEED_TCP = 2,
	NEED_ICMP = 4, /* ICMP for IPv4, ICMPv6 for IPv6 */
};

enum group {
	G_DST,
	G_SRC,
	G_PROTO,
	G_PORTS,
	G_TCP,
	G_LEN,
	G_DSCP,
	G_FRAG,
	G_ICMP,
	G_COUNT,
};

/* One way of matching the port components: a sport set and a dport set,
 * either of which may be absent (no constraint). */
struct port_part {
	const struct value_set *sport, *dport;
};

struct compile {
	const struct fs_route *r;
	unsigned int need;
	bool implicit_icmp; /* an ICMP component with no value to match */
	/* a NULL pointer: the group does not constrain its field */
	struct value_set proto, dscp, len, icmp_type, icmp_code;
	struct value_set sport, dport, port_sport, port_dport;
	const struct value_set *proto_p, *dscp_p, *len_p, *type_p, *code_p;
	struct port_part parts[2];
	int nparts;
	struct cube cubes[256];
	__u32 ncubes;
	bool any_flags; /* tcp-flags accepts every flag byte */
	__u8 frag[2]; /* FL_RULE_FRAG_*, 0 for none */
	__u32 nfrag;
	__u64 count[G_COUNT];
};

static const struct fs_component *comp(const struct compile *k, int type)
{
	return k->r->c[type].present ? &k->r->c[type] : NULL;
}

static int prefix_check(const struct fs_route *r, int type,
			enum fs_refusal *why, char *err, size_t errlen)
{
	const struct fs_component *c = &r->c[type];
	int max = r->family == 4 ? 32 : 128;

	if (!c->present)
		return 0;
	if (c->len > max)
		return refuse(why, FS_MALFORMED, err, errlen,
			      "%s: prefix length %u (IPv%d: at most %d)",
			      type_names[type], c->len, r->family, max);
	if (r->family == 4 && c->offset)
		return refuse(why, FS_MALFORMED, err, errlen,
			      "%s: an offset on an IPv4 prefix",
			      type_names[type]);
	if (c->offset > c->len)
		return refuse(why, FS_MALFORMED, err, errlen,
			      "%s: offset %u beyond the prefix length %u",
			      type_names[type], c->offset, c->len);
	if (c->offset)
		return refuse(
			why, FS_UNMATCHABLE, err, errlen,
			"%s: IPv6 prefix offset %u (the engine matches prefixes from bit 0)",
			type_names[type], c->offset);
	return 0;
}

/* What the route cannot be, whatever the packets: checked before any set
 * is evaluated so that the cheapest answer comes first. */
static int route_check(const struct fs_route *r, enum fs_refusal *why,
		       char *err, size_t errlen)
{
	int type, ret;

	if (r->family != 4 && r->family != 6)
		return refuse(why, FS_MALFORMED, err, errlen,
			      "family %u (4 or 6)", r->family);
	for (type = FS_PROTO; type < FS_TYPES; type++) {
		if (!r->c[type].present)
			continue;
		ret = component_check(&r->c[type], type, why, err, errlen);
		if (ret)
			return ret;
	}
	if (r->mark && r->mark_dscp > FL_MARK_DSCP)
		return refuse(why, FS_MALFORMED, err, errlen,
			      "traffic-marking DSCP %u (0..63)", r->mark_dscp);
	ret = prefix_check(r, FS_DST, why, err, errlen) ?:
		      prefix_check(r, FS_SRC, why, err, errlen);
	if (ret)
		return ret;
	if (r->c[FS_FLOW_LABEL].present)
		return refuse(
			why, FS_UNMATCHABLE, err, errlen,
			"flow-label: the engine does not match IPv6 flow labels");
	return 0;
}

static int empty(enum fs_refusal *why, char *err, size_t errlen, int type)
{
	return refuse(why, FS_EMPTY, err, errlen,
		      "%s: no value satisfies it, the route matches nothing",
		      type_names[type]);
}

/* A set of single values (proto, dscp, icmp type and code): one rule
 * each, none if it holds the whole domain. */
static int values_group(struct compile *k, int type, struct value_set *s,
			const struct value_set **p, enum fs_refusal *why,
			char *err, size_t errlen)
{
	__u32 n;

	*p = NULL;
	if (!comp(k, type))
		return 0;
	component_set(comp(k, type), type, s);
	n = set_count(s);
	if (!n)
		return empty(why, err, errlen, type);
	if (n < s->size)
		*p = s;
	return 0;
}

static void set_add(struct value_set *s, __u32 v)
{
	s->bits[v / 64] |= 1ULL << (v % 64);
}

/* Which protocols the header components leave possible. */
static void protos_allowed(const struct compile *k, struct value_set *a)
{
	if (!k->need) {
		set_fill(a, 256);
		return;
	}
	set_init(a, 256);
	if (k->need & NEED_ICMP) {
		/* no packet has both ICMP and ports or TCP flags */
		if (!(k->need & (NEED_PORTS | NEED_TCP)))
			set_add(a, k->r->family == 4 ? 1 : 58);
		return;
	}
	set_add(a, 6);
	if (!(k->need & NEED_TCP))
		set_add(a, 17);
}

/*
 * The protocol: only those the header components allow. If what remains
 * is just what they allow anyway, their fields say it and proto is left
 * out; an ICMP component with nothing to match (all types) needs proto.
 */
static int proto_group(struct compile *k, enum fs_refusal *why, char *err,
		       size_t errlen)
{
	struct value_set allowed;
	int ret;

	ret = values_group(k, FS_PROTO, &k->proto, &k->proto_p, why, err,
			   errlen);
	if (ret)
		return ret;
	protos_allowed(k, &allowed);
	if (!k->proto_p)
		set_fill(&k->proto, 256);
	set_and(&k->proto, &allowed);
	if (!set_count(&k->proto))
		return refuse(
			why, FS_EMPTY, err, errlen,
			"proto: no protocol carries the headers the other components match, the route matches nothing");
	k->proto_p = &k->proto;
	if (!memcmp(k->proto.bits, allowed.bits, sizeof(allowed.bits)) &&
	    !k->implicit_icmp)
		k->proto_p = NULL;
	return 0;
}

/* The fragment classes as engine values, less what the headers exclude. */
static int frag_group(struct compile *k, enum fs_refusal *why, char *err,
		      size_t errlen)
{
	unsigned int classes = FRAG_C_ALL, want;
	int ret;

	if (comp(k, FS_FRAG)) {
		ret = frag_classes(comp(k, FS_FRAG), k->r->family, &classes,
				   why, err, errlen);
		if (ret)
			return ret;
	}
	want = FRAG_C_ALL;
	if (k->need || k->implicit_icmp) {
		classes &= ~FRAG_C_LATER; /* no header in a later fragment */
		want = FRAG_C_NONE | FRAG_C_FIRST;
	}
	if (!classes)
		return empty(why, err, errlen, FS_FRAG);
	k->nfrag = 0;
	if (classes == want && !k->implicit_icmp) {
		k->frag[k->nfrag++] = 0;
	} else if (classes == (FRAG_C_FIRST | FRAG_C_LATER)) {
		k->frag[k->nfrag++] = FL_RULE_FRAG_ANY;
	} else {
		if (classes & FRAG_C_NONE)
			k->frag[k->nfrag++] = FL_RULE_FRAG_NONE;
		if (classes & FRAG_C_FIRST)
			k->frag[k->nfrag++] = FL_RULE_FRAG_FIRST;
		if (classes & FRAG_C_LATER)
			k->frag[k->nfrag++] = FL_RULE_FRAG_LATER;
	}
	k->count[G_FRAG] = k->nfrag;
	return 0;
}

static __u64 runs_or_one(const struct value_set *s)
{
	return s ? set_runs(s, ~0U, NULL, NULL) : 1;
}

/*
 * port (either direction) with dport and sport: (sport in P and S, dport
 * in D) or (sport in S, dport in P and D); without port, S x D. Each
 * part's sets become ranges, an absent set no constraint.
 */
static int port_group(struct compile *k, enum fs_refusal *why, char *err,
		      size_t errlen)
{
	const struct fs_component *p = comp(k, FS_PORT);
	const struct value_set *s = NULL, *d = NULL;
	struct value_set either;
	int i;

	if (comp(k, FS_SPORT)) {
		component_set(comp(k, FS_SPORT), FS_SPORT, &k->sport);
		s = &k->sport;
	}
	if (comp(k, FS_DPORT)) {
		component_set(comp(k, FS_DPORT), FS_DPORT, &k->dport);
		d = &k->dport;
	}
	if (!p) {
		k->parts[0] = (struct port_part){ s, d };
		k->nparts = s || d;
	} else {
		component_set(p, FS_PORT, &either);
		k->port_sport = either;
		k->port_dport = either;
		if (s)
			set_and(&k->port_sport, s);
		if (d)
			set_and(&k->port_dport, d);
		k->parts[0] = (struct port_part){ &k->port_sport, d };
		k->parts[1] = (struct port_part){ s, &k->port_dport };
		k->nparts = 2;
	}
	k->count[G_PORTS] = k->nparts ? 0 : 1;
	for (i = 0; i < k->nparts; i++)
		k->count[G_PORTS] += runs_or_one(k->parts[i].sport) *
				     runs_or_one(k->parts[i].dport);
	if (!k->count[G_PORTS])
		return empty(why, err, errlen,
			     p ? FS_PORT :
				 (s && !set_count(s) ? FS_SPORT : FS_DPORT));
	return 0;
}

static int tcp_group(struct compile *k, enum fs_refusal *why, char *err,
		     size_t errlen)
{
	struct value_set flags;

	k->count[G_TCP] = 1;
	k->ncubes = 0;
	if (!comp(k, FS_TCP_FLAGS))
		return 0;
	component_set(comp(k, FS_TCP_FLAGS), FS_TCP_FLAGS, &flags);
	if (!set_count(&flags))
		return empty(why, err, errlen, FS_TCP_FLAGS);
	if (set_count(&flags) == 256) {
		/* mask 0: any flags, but still only TCP packets */
		k->cubes[0] = (struct cube){ 0, 0 };
		k->ncubes = 1;
	} else {
		k->ncubes = tcp_cover(&flags, k->cubes, 256);
	}
	k->count[G_TCP] = k->ncubes;
	return 0;
}

/* Length: no packet is 0 bytes long, so 0 neither needs nor gets a rule. */
static int len_group(struct compile *k, enum fs_refusal *why, char *err,
		     size_t errlen)
{
	k->len_p = NULL;
	k->count[G_LEN] = 1;
	if (!comp(k, FS_LEN))
		return 0;
	component_set(comp(k, FS_LEN), FS_LEN, &k->len);
	set_del(&k->len, 0);
	if (!set_count(&k->len))
		return empty(why, err, errlen, FS_LEN);
	if (set_count(&k->len) < 65535) {
		k->len_p = &k->len;
		k->count[G_LEN] = set_runs(&k->len, ~0U, NULL, NULL);
	}
	return 0;
}

static __u64 count_or_one(const struct value_set *s)
{
	return s ? set_count(s) : 1;
}

static int icmp_group(struct compile *k, enum fs_refusal *why, char *err,
		      size_t errlen)
{
	int ret;

	ret = values_group(k, FS_ICMP_TYPE, &k->icmp_type, &k->type_p, why, err, errlen) ?:
		      values_group(k, FS_ICMP_CODE, &k->icmp_code, &k->code_p,
				   why, err, errlen);
	if (ret)
		return ret;
	/* every type and code: the engine's icmp fields need a value, so
	 * the header is asked for as proto icmp, not a later fragment */
	k->implicit_icmp = (k->need & NEED_ICMP) && !k->type_p && !k->code_p;
	k->count[G_ICMP] = count_or_one(k->type_p) * count_or_one(k->code_p);
	return 0;
}

/* The alternative @i of the port group into @rule. */
static void port_apply(const struct compile *k, __u64 i, struct fl_rule *rule)
{
	const struct port_part *part = &k->parts[0];
	__u64 per = runs_or_one(part->sport) * runs_or_one(part->dport);
	__u32 lo, hi, nd;

	if (!k->nparts)
		return;
	if (i >= per) {
		i -= per;
		part = &k->parts[1];
	}
	nd = runs_or_one(part->dport);
	if (part->sport) {
		set_runs(part->sport, i / nd, &lo, &hi);
		rule->fields |= FL_RF_SPORT;
		rule->sport_min = lo;
		rule->sport_max = hi;
	}
	if (part->dport) {
		set_runs(part->dport, i % nd, &lo, &hi);
		rule->fields |= FL_RF_DPORT;
		rule->dport_min = lo;
		rule->dport_max = hi;
	}
}

static void prefix_apply(const struct fs_component *c, __u32 field,
			 union fl_addr *addr, __u8 *len, struct fl_rule *rule)
{
	int i;

	if (!c->present)
		return;
	rule->fields |= field;
	*len = c->len;
	*addr = c->addr;
	for (i = c->len; i < 128; i++) /* host bits: zero, whatever came */
		addr->b[i / 8] &= ~(0x80 >> (i % 8));
}

static void group_apply(const struct compile *k, int g, __u64 i,
			struct fl_rule *rule)
{
	__u32 lo, hi;

	switch (g) {
	case G_DST:
		prefix_apply(&k->r->c[FS_DST], FL_RF_DST, &rule->dst,
			     &rule->dst_len, rule);
		break;
	case G_SRC:
		prefix_apply(&k->r->c[FS_SRC], FL_RF_SRC, &rule->src,
			     &rule->src_len, rule);
		break;
	case G_PROTO:
		if (k->proto_p) {
			rule->fields |= FL_RF_PROTO;
			rule->proto = set_nth(k->proto_p, i);
		}
		break;
	case G_PORTS:
		port_apply(k, i, rule);
		break;
	case G_TCP:
		if (k->ncubes) {
			rule->fields |= FL_RF_TCP_FLAGS;
			rule->tcp_flags = k->cubes[i].value;
			rule->tcp_mask = k->cubes[i].mask;
		}
		break;
	case G_LEN:
		if (k->len_p) {
			set_runs(k->len_p, i, &lo, &hi);
			rule->fields |= FL_RF_LEN;
			rule->len_min = lo;
			rule->len_max = hi;
		}
		break;
	case G_DSCP:
		if (k->dscp_p) {
			rule->fields |= FL_RF_DSCP;
			rule->dscp = set_nth(k->dscp_p, i);
		}
		break;
	case G_FRAG:
		if (k->frag[i]) {
			rule->fields |= FL_RF_FRAG;
			rule->frag = k->frag[i];
		}
		break;
	case G_ICMP:
		if (k->type_p) {
			rule->fields |= FL_RF_ICMP_TYPE;
			rule->icmp_type =
				set_nth(k->type_p, i / count_or_one(k->code_p));
		}
		if (k->code_p) {
			rule->fields |= FL_RF_ICMP_CODE;
			rule->icmp_code =
				set_nth(k->code_p, i % count_or_one(k->code_p));
		}
		break;
	}
}

/* The action, as rule.c's check_rule() would complete it (burst: 100 ms
 * at the rate; a bps bucket holds at least one 1500-byte packet). */
static void action_apply(const struct fs_route *r, struct fl_rule *rule)
{
	double rate = r->action == FS_ACT_RATE_BYTES ? r->rate * 8 : r->rate;

	if (r->action == FS_ACT_DROP ||
	    (r->action != FS_ACT_ACCEPT && !(r->rate > 0))) {
		rule->action = FL_RULE_DROP;
		return;
	}
	if (r->mark)
		rule->mark = FL_MARK_SET | r->mark_dscp;
	if (r->action == FS_ACT_ACCEPT) {
		rule->action = FL_RULE_MARK;
		return;
	}
	rule->action = FL_RULE_RATE_LIMIT;
	rule->rate_unit = r->action == FS_ACT_RATE_BYTES ? FL_RATE_BPS :
							   FL_RATE_PPS;
	/* a positive rate below 1 is still a rate, not a drop */
	rule->rate = rate < 1 ? 1 : (__u64)llround(rate);
	rule->burst = rule->rate / 10 ?: 1;
	if (rule->rate_unit == FL_RATE_BPS &&
	    rule->burst < FL_RULE_BURST_MIN_BITS)
		rule->burst = FL_RULE_BURST_MIN_BITS;
}

static int build_groups(struct compile *k, enum fs_refusal *why, char *err,
			size_t errlen)
{
	const struct fs_route *r = k->r;
	int ret;

	if (r->c[FS_PORT].present || r->c[FS_DPORT].present ||
	    r->c[FS_SPORT].present)
		k->need |= NEED_PORTS;
	if (r->c[FS_TCP_FLAGS].present)
		k->need |= NEED_TCP;
	if (r->c[FS_ICMP_TYPE].present || r->c[FS_ICMP_CODE].present)
		k->need |= NEED_ICMP;
	k->count[G_DST] = k->count[G_SRC] = 1;
	ret = icmp_group(k, why, err, errlen)	       ?:
		      proto_group(k, why, err, errlen) ?:
		      port_group(k, why, err, errlen)  ?:
		      tcp_group(k, why, err, errlen)   ?:
		      len_group(k, why, err, errlen)   ?:
		      values_group(k, FS_DSCP, &k->dscp, &k->dscp_p, why, err, errlen) ?:
		      frag_group(k, why, err, errlen);
	if (ret)
		return ret;
	k->count[G_PROTO] = count_or_one(k->proto_p);
	k->count[G_DSCP] = count_or_one(k->dscp_p);
	return 0;
}

/* The product, saturated well past any bound a caller would give. */
static __u64 groups_product(const struct compile *k)
{
	__u64 n = 1;
	int g;

	for (g = 0; g < G_COUNT; g++) {
		if (k->count[g] && n > (1ULL << 40) / k->count[g])
			return 1ULL << 40;
		n *= k->count[g];
	}
	return n;
}

int fs_compile(const struct fs_route *r, struct fl_rule *out, size_t max,
	       size_t *n, enum fs_refusal *why, char *err, size_t errlen)
{
	struct compile *k;
	__u64 total, i, rest;
	int ret, g;

	*n = 0;
	*why = FS_OK;
	if (err && errlen)
		err[0] = '\0';
	/* nothing to install: the traffic passes as it would anyway */
	if (r->action == FS_ACT_ACCEPT && !r->mark)
		return 0;
	ret = route_check(r, why, err, errlen);
	if (ret)
		return ret;
	/* the T bit: a matching packet would go on to later routes, and
	 * the engine stops at the first rule; enforcing the route as if it
	 * were terminal would be wrong for every packet it matches */
	if (r->non_terminal)
		return refuse(
			why, FS_NON_TERMINAL, err, errlen,
			"traffic-action non-terminal: later routes would apply too, and rules here stop at the first match");
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->r = r;
	ret = build_groups(k, why, err, errlen);
	if (ret)
		goto out;
	total = groups_product(k);
	if (total > max) {
		ret = refuse(
			why, FS_TOO_BIG, err, errlen,
			total >= 1ULL << 40 ?
				"expands to more than %llu rules, the bound is %zu" :
				"expands to %llu rules, the bound is %zu",
			(unsigned long long)total, max);
		goto out;
	}
	for (i = 0; i < total; i++) {
		struct fl_rule *rule = &out[i];

		memset(rule, 0, sizeof(*rule));
		rule->family = r->family;
		for (rest = i, g = 0; g < G_COUNT; g++) {
			group_apply(k, g, rest % k->count[g], rule);
			rest /= k->count[g];
		}
		if (!rule->fields) {
			ret = refuse(
				why, FS_UNMATCHABLE, err, errlen,
				"the route matches every IPv%d packet; the engine takes no rule without a field",
				r->family);
			goto out;
		}
		action_apply(r, rule);
	}
	*n = total;
out:
	free(k);
	return ret;
}

/* ---- an engine rule as a route ----------------------------------------- */

/* Appends one item, the operator's length bits from the value and the
 * end-of-list bit moved to it, as a sender would encode it. */
static void item_add(struct fs_component *c, __u8 op, __u32 value)
{
	__u8 len = value > 0xffff ? 0x20 : value > 0xff ? 0x10 : 0;

	if (c->n)
		c->items[c->n - 1].op &= ~FS_OP_END;
	c->present = true;
	c->items[c->n].op = op | len | FS_OP_END;
	c->items[c->n].value = value;
	c->n++;
}

static void range_add(struct fs_component *c, __u32 lo, __u32 hi, __u32 max)
{
	if (lo == hi) {
		item_add(c, FS_OP_EQ, lo);
	} else if (lo == 0 && hi >= max) {
		item_add(c, FS_OP_GT | FS_OP_EQ, 0); /* always true */
	} else {
		if (lo > 0)
			item_add(c, FS_OP_GT | FS_OP_EQ, lo);
		if (hi < max)
			item_add(c,
				 (lo > 0 ? FS_OP_AND : 0) | FS_OP_LT | FS_OP_EQ,
				 hi);
	}
}

static void prefix_set(struct fs_component *c, const union fl_addr *addr,
		       __u8 len)
{
	c->present = true;
	c->addr = *addr;
	c->len = len;
}

/* (flags & mask) == value: the value's bits all set, the mask's others
 * all clear ("not any of them"). */
static void tcp_flags_set(struct fs_component *c, __u8 value, __u8 mask)
{
	__u8 clear = mask & ~value;

	if (value)
		item_add(c, FS_OP_MATCH, value);
	if (clear)
		item_add(c, (value ? FS_OP_AND : 0) | FS_OP_NOT, clear);
}

static void frag_set(struct fs_component *c, __u8 frag)
{
	switch (frag) {
	case FL_RULE_FRAG_ANY:
		item_add(c, FS_OP_MATCH, FS_FRAG_ISF);
		break;
	case FL_RULE_FRAG_FIRST:
		item_add(c, FS_OP_MATCH, FS_FRAG_FF);
		break;
	case FL_RULE_FRAG_LATER:
		item_add(c, FS_OP_MATCH, FS_FRAG_ISF);
		item_add(c, FS_OP_AND | FS_OP_NOT, FS_FRAG_FF);
		break;
	default: /* FL_RULE_FRAG_NONE */
		item_add(c, FS_OP_NOT, FS_FRAG_ISF);
		break;
	}
}

static int action_from_rule(const struct fl_rule *rule, struct fs_route *r)
{
	switch (rule->action) {
	case FL_RULE_DROP:
		r->action = FS_ACT_DROP;
		return 0;
	case FL_RULE_RATE_LIMIT:
		r->action = rule->rate_unit == FL_RATE_BPS ?
				    FS_ACT_RATE_BYTES :
				    FS_ACT_RATE_PACKETS;
		r->rate = rule->rate_unit == FL_RATE_BPS ? rule->rate / 8.0 :
							   (double)rule->rate;
		break;
	case FL_RULE_MARK:
		r->action = FS_ACT_ACCEPT;
		break;
	default: /* permit: FlowSpec has no "skip later mitigation" */
		return -EINVAL;
	}
	if (rule->mark & FL_MARK_SET) {
		r->mark = true;
		r->mark_dscp = rule->mark & FL_MARK_DSCP;
	}
	return 0;
}

int fs_route_from_rule(const struct fl_rule *rule, struct fs_route *r)
{
	__u32 f = rule->fields;
	struct fs_component *c = r->c;

	memset(r, 0, sizeof(*r));
	/* a rule for both families announces as IPv4; the caller sends a
	 * copy with family 6 for the IPv6 route */
	r->family = rule->family == 6 ? 6 : 4;
	if (f & FL_RF_DST)
		prefix_set(&c[FS_DST], &rule->dst, rule->dst_len);
	if (f & FL_RF_SRC)
		prefix_set(&c[FS_SRC], &rule->src, rule->src_len);
	if (f & FL_RF_PROTO)
		item_add(&c[FS_PROTO], FS_OP_EQ, rule->proto);
	if (f & FL_RF_DPORT)
		range_add(&c[FS_DPORT], rule->dport_min, rule->dport_max,
			  65535);
	if (f & FL_RF_SPORT)
		range_add(&c[FS_SPORT], rule->sport_min, rule->sport_max,
			  65535);
	if (f & FL_RF_ICMP_TYPE)
		item_add(&c[FS_ICMP_TYPE], FS_OP_EQ, rule->icmp_type);
	if (f & FL_RF_ICMP_CODE)
		item_add(&c[FS_ICMP_CODE], FS_OP_EQ, rule->icmp_code);
	if ((f & FL_RF_TCP_FLAGS) && rule->tcp_mask)
		tcp_flags_set(&c[FS_TCP_FLAGS], rule->tcp_flags,
			      rule->tcp_mask);
	else if ((f & FL_RF_TCP_FLAGS) && !(f & FL_RF_PROTO))
		item_add(&c[FS_PROTO], FS_OP_EQ, 6); /* any flags: TCP */
	if (f & FL_RF_LEN)
		range_add(&c[FS_LEN], rule->len_min, rule->len_max, 65535);
	if (f & FL_RF_DSCP)
		item_add(&c[FS_DSCP], FS_OP_EQ, rule->dscp);
	if (f & FL_RF_FRAG)
		frag_set(&c[FS_FRAG], rule->frag);
	return action_from_rule(rule, r);
}

/* ---- text: gobgp's words, and one line for logs ------------------------ */

static const char *const gobgp_keywords[FS_TYPES] = {
	[FS_DST] = "destination",
	[FS_SRC] = "source",
	[FS_PROTO] = "protocol",
	[FS_PORT] = "port",
	[FS_DPORT] = "destination-port",
	[FS_SPORT] = "source-port",
	[FS_ICMP_TYPE] = "icmp-type",
	[FS_ICMP_CODE] = "icmp-code",
	[FS_TCP_FLAGS] = "tcp-flags",
	[FS_LEN] = "packet-length",
	[FS_DSCP] = "dscp",
	[FS_FRAG] = "fragment",
	[FS_FLOW_LABEL] = "label",
};

static const char *const frag_bit_names[4] = { "dont-fragment", "is-fragment",
					       "first-fragment",
					       "last-fragment" };

/* A bounded string being appended to; overflow is remembered. */
struct text {
	char *buf;
	size_t len, off;
	bool full;
};

static void put(struct text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->off, t->len - t->off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->len - t->off)
		t->full = true;
	else
		t->off += n;
}

/*
 * One numeric item. gobgp 3.10 parses "true" as op 0 (false), so the
 * constant operators are written as comparisons with the same meaning.
 */
static void put_numeric(struct text *t, __u8 op, __u32 value, bool gobgp)
{
	static const char *const ops[8] = { "",	 "==", ">",  ">=",
					    "<", "<=", "!=", "" };

	switch (op & 7) {
	case 0:
		put(t, gobgp ? "<0" : "false");
		break;
	case 7:
		put(t, gobgp ? ">=0" : "true");
		break;
	default:
		put(t, "%s%u", ops[op & 7], value);
	}
}

/* One bitmask item: [=|!|!=] and the flags (tcp) or the bit's name
 * (fragment; gobgp takes one per item). -EINVAL if gobgp cannot say it;
 * for a log line, such values are written as they are. */
static int put_bitmask(struct text *t, int type, __u8 op, __u32 value,
		       bool gobgp)
{
	static const char tcp_letters[] = "FSRPAUEC";
	static const char *const ops[4] = { "", "=", "!", "!=" };
	int b;

	put(t, "%s", ops[op & 3]);
	if (type == FS_TCP_FLAGS) {
		if (!value && gobgp)
			return -EINVAL;
		if (!value)
			put(t, "0");
		for (b = 0; b < 8; b++)
			if (value & (1U << b))
				put(t, "%c", tcp_letters[b]);
		return 0;
	}
	if (__builtin_popcount(value) == 1 && value <= FS_FRAG_LF) {
		put(t, "%s", frag_bit_names[__builtin_ctz(value)]);
		return 0;
	}
	if (gobgp)
		return -EINVAL;
	put(t, "0x%x", value);
	return 0;
}

/* The items as words: an OR-group per word, its items joined by '&'.
 * @word_end is called after each word. */
static int put_items(struct text *t, const struct fs_component *c, int type,
		     bool gobgp, void (*word_end)(struct text *t, void *arg),
		     void *arg)
{
	int i, ret = 0;

	for (i = 0; i < c->n; i++) {
		if (i > 0 && !(c->items[i].op & FS_OP_AND))
			word_end(t, arg);
		else if (i > 0)
			put(t, "&");
		if (is_bitmask(type))
			ret = ret   ?:
				      put_bitmask(t, type, c->items[i].op,
						  c->items[i].value, gobgp);
		else
			put_numeric(t, c->items[i].op, c->items[i].value,
				    gobgp);
	}
	word_end(t, arg);
	return ret;
}

static void put_prefix(struct text *t, int family, const struct fs_component *c)
{
	char addr[INET6_ADDRSTRLEN];

	inet_ntop(family == 6 ? AF_INET6 : AF_INET, &c->addr, addr,
		  sizeof(addr));
	put(t, "%s/%u", addr, c->len);
}

/* A rate as gobgp parses it: a plain decimal, no exponent. */
static void put_rate(struct text *t, double rate)
{
	char num[64], *end;

	snprintf(num, sizeof(num), "%.3f", rate);
	end = num + strlen(num) - 1;
	while (*end == '0')
		*end-- = '\0';
	if (*end == '.')
		*end = '\0';
	put(t, "%s", num);
}

/* The words of fs_route_args(): each ends with a NUL in the buffer. */
struct words {
	char **argv;
	int max, n;
	size_t start;
};

static void word_end(struct text *t, void *arg)
{
	struct words *w = arg;

	put(t, "%c", '\0');
	if (t->full)
		return;
	if (w->n >= w->max) {
		t->full = true;
		return;
	}
	w->argv[w->n++] = t->buf + w->start;
	w->start = t->off;
}

static void word(struct text *t, struct words *w, const char *s)
{
	put(t, "%s", s);
	word_end(t, w);
}

static const char *action_word(const struct fs_route *r)
{
	if (r->sample && r->non_terminal)
		return "sample-terminal";
	return r->sample ? "sample" : "terminal";
}

static int args_then(struct text *t, struct words *w, const struct fs_route *r)
{
	word(t, w, "then");
	switch (r->action) {
	case FS_ACT_DROP:
		word(t, w, "discard");
		break;
	case FS_ACT_RATE_BYTES:
		word(t, w, "rate-limit");
		put_rate(t, r->rate);
		word_end(t, w);
		break;
	case FS_ACT_RATE_PACKETS:
		/* gobgp's CLI has no traffic-rate-packets */
		return -EOPNOTSUPP;
	default:
		if (!r->mark && !r->sample && !r->non_terminal)
			word(t, w, "accept");
	}
	if (r->mark) {
		word(t, w, "mark");
		put(t, "%u", r->mark_dscp);
		word_end(t, w);
	}
	/* gobgp's "terminal" sets the T bit, which RFC 8955 calls
	 * "continue evaluating": our non_terminal */
	if (r->sample || r->non_terminal) {
		word(t, w, "action");
		word(t, w, action_word(r));
	}
	return 0;
}

int fs_route_args(const struct fs_route *r, char *buf, size_t len, char **argv,
		  int max)
{
	struct text t = { buf, len, 0, false };
	struct words w = { argv, max, 0, 0 };
	int type, ret;

	if (!len)
		return -ENOSPC;
	word(&t, &w, "match");
	for (type = FS_DST; type < FS_TYPES; type++) {
		const struct fs_component *c = &r->c[type];

		if (!c->present)
			continue;
		word(&t, &w, gobgp_keywords[type]);
		if (type == FS_DST || type == FS_SRC) {
			put_prefix(&t, r->family, c);
			word_end(&t, &w);
			if (c->offset) {
				put(&t, "%u", c->offset);
				word_end(&t, &w);
			}
			continue;
		}
		ret = put_items(&t, c, type, true, word_end, &w);
		if (ret)
			return ret;
	}
	ret = args_then(&t, &w, r);
	if (ret)
		return ret;
	return t.full ? -ENOSPC : w.n;
}

static void space(struct text *t, void *arg)
{
	(void)arg;
	put(t, " ");
}

const char *fs_route_format(const struct fs_route *r, char *buf, size_t len)
{
	struct text t = { buf, len, 0, false };
	int type;

	if (!len)
		return buf;
	buf[0] = '\0';
	put(&t, "ipv%u", r->family);
	for (type = FS_DST; type < FS_TYPES; type++) {
		const struct fs_component *c = &r->c[type];

		if (!c->present)
			continue;
		put(&t, " %s ", type_names[type]);
		if (type == FS_DST || type == FS_SRC) {
			put_prefix(&t, r->family, c);
			if (c->offset)
				put(&t, " offset %u", c->offset);
			continue;
		}
		put_items(&t, c, type, false, space, NULL);
		if (t.off && !t.full && buf[t.off - 1] == ' ')
			buf[--t.off] = '\0';
	}
	put(&t, " then ");
	switch (r->action) {
	case FS_ACT_DROP:
		put(&t, "drop");
		break;
	case FS_ACT_RATE_BYTES:
	case FS_ACT_RATE_PACKETS:
		put(&t, "rate-%s ",
		    r->action == FS_ACT_RATE_BYTES ? "bytes" : "packets");
		put_rate(&t, r->rate);
		break;
	default:
		put(&t, "accept");
	}
	if (r->mark)
		put(&t, " mark %u", r->mark_dscp);
	if (r->sample)
		put(&t, " sample");
	if (r->non_terminal)
		put(&t, " non-terminal");
	if (r->redirect)
		put(&t, " redirect");
	if (r->unknown_ext)
		put(&t, " unknown-ext");
	return buf;
}

/* ---- gobgp's JSON ------------------------------------------------------ */

static int json_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int json_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool json_int(struct json_object *o, const char *key, int64_t *v)
{
	struct json_object *x;

	if (!json_object_object_get_ex(o, key, &x) ||
	    !json_object_is_type(x, json_type_int))
		return false;
	*v = json_object_get_int64(x);
	return true;
}

/* {"prefix":"203.0.113.0/24"} and, IPv6, "offset" beside "value" (gobgp
 * 3.10 puts it there; inside "value" is accepted too). */
static int json_prefix(struct json_object *comp, struct json_object *value,
		       int family, struct fs_component *c, char *err,
		       size_t errlen)
{
	struct json_object *p;
	char text[64], *slash;
	int64_t offset = 0;
	long len;

	if (!json_object_object_get_ex(value, "prefix", &p) ||
	    !json_object_is_type(p, json_type_string))
		return json_fail(err, errlen,
				 "a prefix component without \"prefix\"");
	snprintf(text, sizeof(text), "%s", json_object_get_string(p));
	slash = strchr(text, '/');
	if (!slash)
		return json_fail(err, errlen, "prefix '%s' has no length",
				 text);
	*slash = '\0';
	len = strtol(slash + 1, NULL, 10);
	if (inet_pton(family == 6 ? AF_INET6 : AF_INET, text, &c->addr) != 1 ||
	    len < 0 || len > (family == 6 ? 128 : 32))
		return json_fail(err, errlen, "bad IPv%d prefix '%s/%s'",
				 family, text, slash + 1);
	if (!json_int(comp, "offset", &offset))
		json_int(value, "offset", &offset);
	if (offset < 0 || offset > 128)
		return json_fail(err, errlen, "bad prefix offset %lld",
				 (long long)offset);
	c->len = len;
	c->offset = offset;
	return 0;
}

/* [{"op":129,"value":6}, ...] */
static int json_items(struct json_object *value, int type,
		      struct fs_component *c, char *err, size_t errlen)
{
	size_t i, n;

	if (!json_object_is_type(value, json_type_array))
		return json_fail(err, errlen, "component %d: not a list", type);
	n = json_object_array_length(value);
	if (n > FS_ITEMS_MAX)
		return json_fail(err, errlen,
				 "component %d: %zu items (at most %d)", type,
				 n, FS_ITEMS_MAX);
	for (i = 0; i < n; i++) {
		struct json_object *it = json_object_array_get_idx(value, i);
		int64_t op, v;

		if (!json_int(it, "op", &op) || !json_int(it, "value", &v) ||
		    op < 0 || op > 255 || v < 0 || v > UINT32_MAX)
			return json_fail(
				err, errlen,
				"component %d: item %zu is not {\"op\": 0-255, \"value\": N}",
				type, i);
		c->items[i].op = op;
		c->items[i].value = v;
	}
	c->n = n;
	return 0;
}

static int json_nlri(struct json_object *path, struct fs_route *r, char *err,
		     size_t errlen)
{
	struct json_object *nlri, *list;
	size_t i;
	int ret;

	if (!json_object_object_get_ex(path, "nlri", &nlri) ||
	    !json_object_object_get_ex(nlri, "value", &list) ||
	    !json_object_is_type(list, json_type_array))
		return json_fail(err, errlen,
				 "no \"nlri\": {\"value\": [...]}");
	for (i = 0; i < json_object_array_length(list); i++) {
		struct json_object *comp = json_object_array_get_idx(list, i);
		struct json_object *value;
		struct fs_component *c;
		int64_t type;

		if (!json_int(comp, "type", &type) || type < FS_DST ||
		    type >= FS_TYPES ||
		    !json_object_object_get_ex(comp, "value", &value))
			return json_fail(
				err, errlen,
				"NLRI component %zu: no known \"type\" and \"value\"",
				i);
		c = &r->c[type];
		if (c->present)
			return json_fail(err, errlen,
					 "component %s given twice",
					 type_names[type]);
		c->present = true;
		ret = type <= FS_SRC ? json_prefix(comp, value, r->family, c,
						   err, errlen) :
				       json_items(value, type, c, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

/* A traffic rate: 0 means drop, and a drop wins over any rate. */
static void rate_set(struct fs_route *r, enum fs_action_kind kind, double rate)
{
	if (r->action == FS_ACT_DROP)
		return;
	if (!(rate > 0)) {
		r->action = FS_ACT_DROP;
		r->rate = 0;
	} else if (r->action == FS_ACT_ACCEPT) {
		r->action = kind;
		r->rate = rate;
	}
}

/*
 * One extended community (RFC 8955 section 7, gobgp's names): 0x80 06
 * traffic-rate-bytes, 0x80 0c traffic-rate-packets, 0x80 07 traffic-action,
 * 0x80/0x81/0x82 08 redirect, 0x80 09 traffic-marking, 0x80 0b redirect
 * to IPv6 (in the IPv6-address-specific attribute), 0x08 00 redirect to IP.
 */
static void json_ext(struct json_object *e, struct fs_route *r)
{
	int64_t type, sub, v;
	struct json_object *x;

	if (!json_int(e, "type", &type) || !json_int(e, "subtype", &sub))
		return;
	if (type == 0x80 && (sub == 0x06 || sub == 0x0c)) {
		if (!json_object_object_get_ex(e, "rate", &x)) {
			r->unknown_ext = true; /* a rate we cannot read */
			return;
		}
		rate_set(r,
			 sub == 0x06 ? FS_ACT_RATE_BYTES : FS_ACT_RATE_PACKETS,
			 json_object_get_double(x));
	} else if (type == 0x80 && sub == 0x07) {
		if (json_object_object_get_ex(e, "sample", &x))
			r->sample = json_object_get_boolean(x);
		if (json_object_object_get_ex(e, "terminal", &x))
			r->non_terminal = json_object_get_boolean(x);
	} else if (type == 0x80 && sub == 0x09 && json_int(e, "value", &v)) {
		r->mark = true;
		r->mark_dscp = v & FL_MARK_DSCP;
	} else if (((type == 0x80 || type == 0x81 || type == 0x82) &&
		    sub == 0x08) ||
		   (type == 0x80 && sub == 0x0b) ||
		   (type == 0x08 && sub == 0)) {
		r->redirect = true;
	} else if (type >= 0x80 && type <= 0x82) {
		r->unknown_ext = true;
	}
}

static void json_attrs(struct json_object *path, struct fs_route *r)
{
	struct json_object *attrs, *value;
	size_t i, j;
	int64_t type;

	if (!json_object_object_get_ex(path, "attrs", &attrs) ||
	    !json_object_is_type(attrs, json_type_array))
		return;
	for (i = 0; i < json_object_array_length(attrs); i++) {
		struct json_object *a = json_object_array_get_idx(attrs, i);

		/* 16 extended communities, 25 their IPv6-address form */
		if (!json_int(a, "type", &type) || (type != 16 && type != 25) ||
		    !json_object_object_get_ex(a, "value", &value) ||
		    !json_object_is_type(value, json_type_array))
			continue;
		for (j = 0; j < json_object_array_length(value); j++)
			json_ext(json_object_array_get_idx(value, j), r);
	}
}

int fs_route_from_json(struct json_object *path, int family, struct fs_route *r,
		       char *err, size_t errlen)
{
	int ret;

	memset(r, 0, sizeof(*r));
	if (family != 4 && family != 6)
		return json_fail(err, errlen, "family %d (4 or 6)", family);
	if (!path || !json_object_is_type(path, json_type_object))
		return json_fail(err, errlen, "a path is a JSON object");
	r->family = family;
	ret = json_nlri(path, r, err, errlen);
	if (ret)
		return ret;
	json_attrs(path, r);
	return 0;
}
