// SPDX-License-Identifier: Apache-2.0
/*
 * Rules as operators type them (flctl rule add, rule files), their
 * canonical text, and the reference matcher: a linear scan written to be
 * obviously right, against which the XDP engine is tested.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include "prefix.h"
#include "rule.h"
#include "units.h"

static const struct {
	const char *name;
	__u8 number;
} protocols[] = {
	{ "icmp", 1 }, { "igmp", 2 },	 { "tcp", 6 },
	{ "udp", 17 }, { "gre", 47 },	 { "esp", 50 },
	{ "ah", 51 },  { "icmpv6", 58 }, { "sctp", 132 },
};

static const char *const tcp_flag_names[8] = { "fin", "syn", "rst", "psh",
					       "ack", "urg", "ece", "cwr" };

static const char *const frag_names[] = {
	[FL_RULE_FRAG_ANY] = "any",
	[FL_RULE_FRAG_FIRST] = "first",
	[FL_RULE_FRAG_LATER] = "non-first",
	[FL_RULE_FRAG_NONE] = "none",
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A whole decimal number in [0, max]. */
static int parse_uint(const char *text, unsigned long max, unsigned long *value)
{
	char *end;

	if (!isdigit((unsigned char)text[0]))
		return -EINVAL;
	errno = 0;
	*value = strtoul(text, &end, 10);
	if (errno || *end || *value > max)
		return -EINVAL;
	return 0;
}

/* "A" or "A-B", inclusive, min <= A <= B <= max. */
static int parse_range(const char *text, unsigned long min, unsigned long max,
		       __u16 *lo, __u16 *hi)
{
	char buf[32], *dash;
	unsigned long a, b;

	if (strlen(text) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, text);
	dash = strchr(buf, '-');
	if (dash)
		*dash = '\0';
	if (parse_uint(buf, max, &a) || a < min)
		return -EINVAL;
	b = a;
	if (dash && (parse_uint(dash + 1, max, &b) || b < a))
		return -EINVAL;
	*lo = a;
	*hi = b;
	return 0;
}

static int parse_proto(const char *text, __u8 *proto)
{
	unsigned long n;
	size_t i;

	for (i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++) {
		if (!strcmp(text, protocols[i].name)) {
			*proto = protocols[i].number;
			return 0;
		}
	}
	if (parse_uint(text, 255, &n))
		return -EINVAL;
	*proto = n;
	return 0;
}

/* "syn,ack", "0x12" or "18". */
static int parse_tcp_flags(const char *text, __u8 *flags)
{
	char buf[64], *tok, *save;
	unsigned long n;
	int i;

	if (!strncmp(text, "0x", 2)) {
		char *end;

		errno = 0;
		n = strtoul(text + 2, &end, 16);
		if (errno || *end || end == text + 2 || n > 255)
			return -EINVAL;
		*flags = n;
		return 0;
	}
	if (isdigit((unsigned char)text[0])) {
		if (parse_uint(text, 255, &n))
			return -EINVAL;
		*flags = n;
		return 0;
	}
	if (strlen(text) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, text);
	*flags = 0;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < 8; i++)
			if (!strcmp(tok, tcp_flag_names[i]))
				break;
		if (i == 8)
			return -EINVAL;
		*flags |= 1 << i;
	}
	return *flags ? 0 : -EINVAL;
}

/* "10k" or "10kpps" (packets/s), "100Mbps" (bits/s). */
int fl_rule_parse_rate(const char *text, __u64 *rate, __u8 *unit)
{
	size_t len = strlen(text);
	char buf[32];
	uint64_t v;

	if (len >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, text);
	*unit = FL_RATE_PPS;
	if (len > 3 && !strcmp(buf + len - 3, "pps")) {
		buf[len - 3] = '\0';
	} else if (len > 3 && !strcmp(buf + len - 3, "bps")) {
		buf[len - 3] = '\0';
		*unit = FL_RATE_BPS;
	}
	if (fl_parse_count(buf, &v) || !v)
		return -EINVAL;
	*rate = v;
	return 0;
}

static int parse_rate(const char *text, struct fl_rule *rule)
{
	return fl_rule_parse_rate(text, &rule->rate, &rule->rate_unit);
}

/* The next word, or an error naming what @keyword needs. */
#define NEXT(what)                                                           \
	do {                                                                 \
		if (++i >= argc)                                             \
			return fail(err, errlen, "'%s' needs %s", kw, what); \
		arg = argv[i];                                               \
	} while (0)

static int set_field(struct fl_rule *rule, __u32 field, const char *kw,
		     char *err, size_t errlen)
{
	if (rule->fields & field)
		return fail(err, errlen, "'%s' given twice", kw);
	rule->fields |= field;
	return 0;
}

static int set_family(struct fl_rule *rule, const struct fl_prefix *p,
		      const char *kw, const char *arg, char *err, size_t errlen)
{
	int family = p->family == AF_INET6 ? 6 : 4;

	if (rule->family && rule->family != family)
		return fail(
			err, errlen,
			"'%s %s' is IPv%d, but the rule's other prefix is IPv%d",
			kw, arg, family, rule->family);
	rule->family = family;
	return 0;
}

/* What the fields together must make sense as. */
static int check_rule(struct fl_rule *rule, bool have_action, char *err,
		      size_t errlen)
{
	bool tcp_or_udp = rule->proto == 6 || rule->proto == 17;

	if (!have_action)
		return fail(
			err, errlen,
			"no action: end the rule with 'action drop', 'action permit', 'action mark DSCP' or 'action rate-limit RATE'");
	if (!rule->fields)
		return fail(
			err, errlen,
			"the rule matches nothing in particular: give at least one of src, dst, proto, sport, dport, tcp-flags, len, dscp, frag, icmp-type");
	if ((rule->fields & (FL_RF_SPORT | FL_RF_DPORT)) &&
	    (rule->fields & FL_RF_PROTO) && !tcp_or_udp)
		return fail(err, errlen,
			    "ports need proto tcp or udp (or no proto)");
	if ((rule->fields & FL_RF_TCP_FLAGS) && (rule->fields & FL_RF_PROTO) &&
	    rule->proto != 6)
		return fail(err, errlen,
			    "tcp-flags need proto tcp (or no proto)");
	if ((rule->fields & FL_RF_ICMP_TYPE) && (rule->fields & FL_RF_PROTO) &&
	    rule->proto != 1 && rule->proto != 58)
		return fail(
			err, errlen,
			"icmp-type needs proto icmp or icmpv6 (or no proto)");
	if ((rule->fields & FL_RF_ICMP_TYPE) && (rule->fields & FL_RF_PROTO) &&
	    rule->family && (rule->proto == 58) != (rule->family == 6))
		return fail(err, errlen,
			    "proto %s does not go with IPv%d addresses",
			    rule->proto == 58 ? "icmpv6" : "icmp",
			    rule->family);
	if (rule->action != FL_RULE_RATE_LIMIT && rule->burst)
		return fail(err, errlen, "'burst' goes with 'rate-limit' only");
	if (rule->action == FL_RULE_RATE_LIMIT && !rule->burst) {
		rule->burst = rule->rate / 10 ?: 1; /* 100 ms at the rate */
		if (rule->rate_unit == FL_RATE_BPS &&
		    rule->burst < FL_RULE_BURST_MIN_BITS)
			rule->burst = FL_RULE_BURST_MIN_BITS;
	}
	if (rule->action == FL_RULE_RATE_LIMIT &&
	    rule->rate_unit == FL_RATE_BPS &&
	    rule->burst < FL_RULE_BURST_MIN_BITS)
		return fail(
			err, errlen,
			"burst %llu bits cannot hold one 1500-byte packet: give at least %d",
			(unsigned long long)rule->burst,
			FL_RULE_BURST_MIN_BITS);
	return 0;
}

int fl_rule_parse(int argc, char **argv, __u32 default_order,
		  struct fl_rule *rule, char *err, size_t errlen)
{
	bool have_action = false, have_order = false;
	struct fl_prefix prefix;
	char perr[128];
	unsigned long n;
	int i;

	memset(rule, 0, sizeof(*rule));
	rule->order = default_order;
	for (i = 0; i < argc; i++) {
		const char *kw = argv[i], *arg = NULL;

		if (have_action && strcmp(kw, "burst") &&
		    strcmp(kw, "expires") && strcmp(kw, "attack") &&
		    strcmp(kw, "mark") && strcmp(kw, "flowspec"))
			return fail(
				err, errlen,
				"'%s' after the action: only 'mark', 'burst', 'expires', 'attack' and 'flowspec' may follow it",
				kw);
		if (!strcmp(kw, "order")) {
			NEXT("a number");
			if (have_order || parse_uint(arg, 0xffffffffUL, &n))
				return fail(
					err, errlen,
					have_order ?
						"'order' given twice" :
						"bad order '%s': a whole number, 0-4294967295",
					arg);
			rule->order = n;
			have_order = true;
		} else if (!strcmp(kw, "src") || !strcmp(kw, "dst")) {
			bool src = kw[0] == 's';

			NEXT("a prefix");
			if (set_field(rule, src ? FL_RF_SRC : FL_RF_DST, kw,
				      err, errlen))
				return -EINVAL;
			if (fl_prefix_parse(arg, &prefix, perr, sizeof(perr)))
				return fail(err, errlen, "bad %s '%s': %s", kw,
					    arg, perr);
			if (set_family(rule, &prefix, kw, arg, err, errlen))
				return -EINVAL;
			if (src) {
				rule->src = prefix.addr;
				rule->src_len = prefix.len;
			} else {
				rule->dst = prefix.addr;
				rule->dst_len = prefix.len;
			}
		} else if (!strcmp(kw, "proto")) {
			NEXT("a protocol");
			if (set_field(rule, FL_RF_PROTO, kw, err, errlen))
				return -EINVAL;
			if (parse_proto(arg, &rule->proto))
				return fail(
					err, errlen,
					"bad proto '%s': tcp, udp, icmp, icmpv6, gre, esp, ah, sctp, igmp or a number 0-255",
					arg);
		} else if (!strcmp(kw, "sport") || !strcmp(kw, "dport")) {
			bool src = kw[0] == 's';

			NEXT("a port or range");
			if (set_field(rule, src ? FL_RF_SPORT : FL_RF_DPORT, kw,
				      err, errlen))
				return -EINVAL;
			if (parse_range(
				    arg, 0, 65535,
				    src ? &rule->sport_min : &rule->dport_min,
				    src ? &rule->sport_max : &rule->dport_max))
				return fail(
					err, errlen,
					"bad %s '%s': a port 0-65535 or a range A-B with A <= B",
					kw, arg);
		} else if (!strcmp(kw, "tcp-flags")) {
			char buf[64], *slash;

			NEXT("VALUE/MASK");
			if (set_field(rule, FL_RF_TCP_FLAGS, kw, err, errlen))
				return -EINVAL;
			snprintf(buf, sizeof(buf), "%s", arg);
			slash = strchr(buf, '/');
			if (slash)
				*slash = '\0';
			if (!slash || parse_tcp_flags(buf, &rule->tcp_flags) ||
			    parse_tcp_flags(slash + 1, &rule->tcp_mask) ||
			    (rule->tcp_flags & ~rule->tcp_mask))
				return fail(
					err, errlen,
					"bad tcp-flags '%s': VALUE/MASK, each a list like syn,ack or a number, VALUE inside MASK (e.g. syn/syn,ack)",
					arg);
		} else if (!strcmp(kw, "len")) {
			NEXT("a length or range");
			if (set_field(rule, FL_RF_LEN, kw, err, errlen))
				return -EINVAL;
			if (parse_range(arg, 1, 65535, &rule->len_min,
					&rule->len_max))
				return fail(
					err, errlen,
					"bad len '%s': an IP length 1-65535 or a range A-B with A <= B",
					arg);
		} else if (!strcmp(kw, "dscp")) {
			NEXT("a number 0-63");
			if (set_field(rule, FL_RF_DSCP, kw, err, errlen))
				return -EINVAL;
			if (parse_uint(arg, 63, &n))
				return fail(err, errlen,
					    "bad dscp '%s': a number 0-63",
					    arg);
			rule->dscp = n;
		} else if (!strcmp(kw, "frag")) {
			NEXT("any, first, non-first or none");
			if (set_field(rule, FL_RF_FRAG, kw, err, errlen))
				return -EINVAL;
			for (n = FL_RULE_FRAG_ANY; n <= FL_RULE_FRAG_NONE; n++)
				if (!strcmp(arg, frag_names[n]))
					break;
			if (n > FL_RULE_FRAG_NONE)
				return fail(
					err, errlen,
					"bad frag '%s': any, first, non-first or none",
					arg);
			rule->frag = n;
		} else if (!strcmp(kw, "icmp-type")) {
			NEXT("a number 0-255");
			if (set_field(rule, FL_RF_ICMP_TYPE, kw, err, errlen))
				return -EINVAL;
			if (parse_uint(arg, 255, &n))
				return fail(
					err, errlen,
					"bad icmp-type '%s': a number 0-255",
					arg);
			rule->icmp_type = n;
			if (i + 1 < argc && !strcmp(argv[i + 1], "code")) {
				i++;
				kw = "code";
				NEXT("a number 0-255");
				if (parse_uint(arg, 255, &n))
					return fail(
						err, errlen,
						"bad code '%s': a number 0-255",
						arg);
				rule->fields |= FL_RF_ICMP_CODE;
				rule->icmp_code = n;
			}
		} else if (!strcmp(kw, "code")) {
			return fail(err, errlen,
				    "'code' must follow icmp-type T");
		} else if (!strcmp(kw, "action")) {
			NEXT("drop, permit, mark DSCP or rate-limit RATE");
			if (!strcmp(arg, "drop")) {
				rule->action = FL_RULE_DROP;
			} else if (!strcmp(arg, "mark")) {
				kw = "mark";
				NEXT("a DSCP 0-63");
				if (parse_uint(arg, 63, &n))
					return fail(
						err, errlen,
						"bad mark '%s': a DSCP 0-63",
						arg);
				rule->mark = FL_MARK_SET | n;
				rule->action = FL_RULE_MARK;
			} else if (!strcmp(arg, "permit")) {
				rule->action = FL_RULE_PERMIT;
			} else if (!strcmp(arg, "rate-limit")) {
				kw = "rate-limit";
				NEXT("a rate (10k, 10kpps, 100Mbps)");
				if (parse_rate(arg, rule))
					return fail(
						err, errlen,
						"bad rate '%s': packets/s (10k, 10kpps) or bits/s (100Mbps), above 0",
						arg);
				rule->action = FL_RULE_RATE_LIMIT;
			} else {
				return fail(
					err, errlen,
					"bad action '%s': drop, permit, mark DSCP or rate-limit RATE",
					arg);
			}
			have_action = true;
		} else if (!strcmp(kw, "burst")) {
			uint64_t v;

			NEXT("a count");
			if (rule->burst || fl_parse_count(arg, &v) || !v)
				return fail(
					err, errlen,
					rule->burst ?
						"'burst' given twice" :
						"bad burst '%s': a count above 0 (k, M, G)",
					arg);
			rule->burst = v;
		} else if (!strcmp(kw, "expires")) {
			NEXT("seconds");
			if (rule->expires ||
			    parse_uint(arg, 0xffffffffUL, &n) || !n)
				return fail(
					err, errlen,
					rule->expires ?
						"'expires' given twice" :
						"bad expires '%s': whole seconds above 0",
					arg);
			rule->expires = n;
		} else if (!strcmp(kw, "mark")) {
			NEXT("a DSCP 0-63");
			if (rule->mark || (rule->action != FL_RULE_PERMIT &&
					   rule->action != FL_RULE_RATE_LIMIT))
				return fail(
					err, errlen,
					rule->mark ?
						"'mark' given twice" :
						"'mark' follows 'action permit' or 'action rate-limit RATE' (or is the action: 'action mark DSCP')");
			if (parse_uint(arg, 63, &n))
				return fail(err, errlen,
					    "bad mark '%s': a DSCP 0-63", arg);
			rule->mark = FL_MARK_SET | n;
		} else if (!strcmp(kw, "flowspec")) {
			struct fl_prefix peer;

			NEXT("the peer's address");
			if (rule->origin ||
			    fl_prefix_parse(arg, &peer, perr, sizeof(perr)) ||
			    peer.len != (peer.family == AF_INET6 ? 128 : 32))
				return fail(
					err, errlen,
					rule->origin ?
						"'flowspec' given twice" :
						"bad flowspec peer '%s': an IPv4 or IPv6 address",
					arg);
			rule->origin = FL_RULE_FROM_FLOWSPEC;
			rule->peer_family = peer.family == AF_INET6 ? 6 : 4;
			rule->peer = peer.addr;
			if (i + 1 < argc && !strcmp(argv[i + 1], "route")) {
				i++;
				kw = "route";
				NEXT("a route id");
				if (parse_uint(arg, 0xffffffffUL, &n) || !n)
					return fail(
						err, errlen,
						"bad route '%s': a route id above 0",
						arg);
				rule->route = n;
			}
		} else if (!strcmp(kw, "attack")) {
			NEXT("an attack id");
			if (rule->attack ||
			    parse_uint(arg, 0xffffffffUL, &n) || !n)
				return fail(
					err, errlen,
					rule->attack ?
						"'attack' given twice" :
						"bad attack '%s': an attack id above 0",
					arg);
			rule->attack = n;
		} else {
			return fail(
				err, errlen,
				"unknown word '%s' (expected order, src, dst, proto, sport, dport, tcp-flags, len, dscp, frag, icmp-type or action)",
				kw);
		}
	}
	return check_rule(rule, have_action, err, errlen);
}

int fl_rule_parse_line(char *line, __u32 default_order, struct fl_rule *rule,
		       char *err, size_t errlen)
{
	char *words[64], *save, *w, *hash = strchr(line, '#');
	int n = 0;

	if (hash)
		*hash = '\0';
	for (w = strtok_r(line, " \t\r\n", &save); w;
	     w = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == (int)(sizeof(words) / sizeof(words[0])))
			return fail(err, errlen, "too many words");
		words[n++] = w;
	}
	if (!n)
		return -ENODATA;
	return fl_rule_parse(n, words, default_order, rule, err, errlen);
}

static void append(char *buf, size_t len, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += n;
}

static const char *proto_name(__u8 number, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++)
		if (protocols[i].number == number)
			return protocols[i].name;
	snprintf(buf, len, "%u", number);
	return buf;
}

static void append_flags(char *buf, size_t len, size_t *off, __u8 flags)
{
	const char *sep = "";
	int i;

	for (i = 0; i < 8; i++) {
		if (!(flags & (1 << i)))
			continue;
		append(buf, len, off, "%s%s", sep, tcp_flag_names[i]);
		sep = ",";
	}
}

static void append_range(char *buf, size_t len, size_t *off, const char *kw,
			 __u16 lo, __u16 hi)
{
	if (lo == hi)
		append(buf, len, off, " %s %u", kw, lo);
	else
		append(buf, len, off, " %s %u-%u", kw, lo, hi);
}

const char *fl_rule_format(const struct fl_rule *rule, char *buf, size_t len)
{
	int family = rule->family == 6 ? AF_INET6 : AF_INET;
	char text[FL_PREFIX_STRLEN];
	struct fl_prefix p;
	size_t off = 0;

	buf[0] = '\0';
	append(buf, len, &off, "order %u", rule->order);
	if (rule->fields & FL_RF_SRC) {
		p = (struct fl_prefix){ family, rule->src_len, rule->src };
		append(buf, len, &off, " src %s",
		       fl_prefix_format(&p, text, sizeof(text)));
	}
	if (rule->fields & FL_RF_DST) {
		p = (struct fl_prefix){ family, rule->dst_len, rule->dst };
		append(buf, len, &off, " dst %s",
		       fl_prefix_format(&p, text, sizeof(text)));
	}
	if (rule->fields & FL_RF_PROTO)
		append(buf, len, &off, " proto %s",
		       proto_name(rule->proto, text, sizeof(text)));
	if (rule->fields & FL_RF_SPORT)
		append_range(buf, len, &off, "sport", rule->sport_min,
			     rule->sport_max);
	if (rule->fields & FL_RF_DPORT)
		append_range(buf, len, &off, "dport", rule->dport_min,
			     rule->dport_max);
	if (rule->fields & FL_RF_TCP_FLAGS) {
		append(buf, len, &off, " tcp-flags ");
		if (rule->tcp_flags)
			append_flags(buf, len, &off, rule->tcp_flags);
		else
			append(buf, len, &off, "0");
		append(buf, len, &off, "/");
		append_flags(buf, len, &off, rule->tcp_mask);
	}
	if (rule->fields & FL_RF_LEN)
		append_range(buf, len, &off, "len", rule->len_min,
			     rule->len_max);
	if (rule->fields & FL_RF_DSCP)
		append(buf, len, &off, " dscp %u", rule->dscp);
	if (rule->fields & FL_RF_FRAG)
		append(buf, len, &off, " frag %s", frag_names[rule->frag]);
	if (rule->fields & FL_RF_ICMP_TYPE)
		append(buf, len, &off, " icmp-type %u", rule->icmp_type);
	if (rule->fields & FL_RF_ICMP_CODE)
		append(buf, len, &off, " code %u", rule->icmp_code);
	switch (rule->action) {
	case FL_RULE_DROP:
		append(buf, len, &off, " action drop");
		break;
	case FL_RULE_PERMIT:
		append(buf, len, &off, " action permit");
		break;
	case FL_RULE_MARK:
		append(buf, len, &off, " action mark %u",
		       rule->mark & FL_MARK_DSCP);
		break;
	case FL_RULE_RATE_LIMIT:
		append(buf, len, &off, " action rate-limit %llu%s burst %llu",
		       (unsigned long long)rule->rate,
		       rule->rate_unit == FL_RATE_BPS ? "bps" : "pps",
		       (unsigned long long)rule->burst);
		break;
	}
	if (rule->mark && rule->action != FL_RULE_MARK)
		append(buf, len, &off, " mark %u", rule->mark & FL_MARK_DSCP);
	if (rule->expires)
		append(buf, len, &off, " expires %llu",
		       (unsigned long long)rule->expires);
	if (rule->attack)
		append(buf, len, &off, " attack %u", rule->attack);
	if (rule->origin == FL_RULE_FROM_FLOWSPEC) {
		if (!inet_ntop(rule->peer_family == 6 ? AF_INET6 : AF_INET,
			       &rule->peer, text, sizeof(text)))
			strcpy(text, "?");
		append(buf, len, &off, " flowspec %s", text);
		if (rule->route)
			append(buf, len, &off, " route %u", rule->route);
	}
	return buf;
}

/* The first @len bits of @a and @b agree. */
static bool prefix_equal(const union fl_addr *a, const union fl_addr *b,
			 unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len; i++) {
		unsigned int byte = i / 8, bit = 7 - i % 8;

		if (((a->b[byte] >> bit) & 1) != ((b->b[byte] >> bit) & 1))
			return false;
	}
	return true;
}

bool fl_rule_matches(const struct fl_rule *r, const struct fl_rule_packet *p)
{
	__u32 f = r->fields;

	if (r->family && r->family != p->family)
		return false;
	if ((f & FL_RF_SRC) && !prefix_equal(&r->src, &p->src, r->src_len))
		return false;
	if ((f & FL_RF_DST) && !prefix_equal(&r->dst, &p->dst, r->dst_len))
		return false;
	if ((f & FL_RF_PROTO) && r->proto != p->proto)
		return false;
	if ((f & FL_RF_SPORT) && (!p->has_ports || p->sport < r->sport_min ||
				  p->sport > r->sport_max))
		return false;
	if ((f & FL_RF_DPORT) && (!p->has_ports || p->dport < r->dport_min ||
				  p->dport > r->dport_max))
		return false;
	if ((f & FL_RF_TCP_FLAGS) &&
	    (!p->is_tcp || (p->tcp_flags & r->tcp_mask) != r->tcp_flags))
		return false;
	if ((f & FL_RF_LEN) && (p->len < r->len_min || p->len > r->len_max))
		return false;
	if ((f & FL_RF_DSCP) && p->dscp != r->dscp)
		return false;
	if (f & FL_RF_FRAG) {
		bool ok = r->frag == FL_RULE_FRAG_ANY ?
				  p->frag != FL_RULE_FRAG_NONE :
				  p->frag == r->frag;
		if (!ok)
			return false;
	}
	if ((f & FL_RF_ICMP_TYPE) &&
	    (!p->is_icmp || p->icmp_type != r->icmp_type))
		return false;
	if ((f & FL_RF_ICMP_CODE) &&
	    (!p->is_icmp || p->icmp_code != r->icmp_code))
		return false;
	return true;
}

int fl_rule_lookup_ref(const struct fl_rule *rules, size_t n,
		       const struct fl_rule_packet *pkt)
{
	int best = -1;
	size_t i;

	for (i = 0; i < n; i++)
		if ((best < 0 || rules[i].order < rules[best].order) &&
		    fl_rule_matches(&rules[i], pkt))
			best = i;
	return best;
}
