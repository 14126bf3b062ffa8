// SPDX-License-Identifier: Apache-2.0
/*
 * FlowSpec routes (user/lib/flowspec.c). The compiler is held to the RFC
 * by brute force: for each route, every packet of a grid built from the
 * values the route names (each value, its neighbours, the domain's ends,
 * every fragment state) is matched two ways, by the compiled rules through
 * the reference matcher and by a small evaluator written here from RFC
 * 8955/8956, and the answers must agree. Refusals, expansion counts,
 * actions, gobgp's JSON (captured from gobgpd 3.10) and gobgp's CLI words
 * (checked against gobgpd 3.10 by hand) are tables.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <json-c/json.h>

#include "flowspec.h"
#include "prefix.h"
#include "rule.h"
#include "test_progs.h"

/* ---- routes as text: "v6 dst P/L; dport >=1&<=9 ==80; tcp =0x12&!0x05" */

static const char *const spec_names[FS_TYPES] = {
	[FS_DST] = "dst",
	[FS_SRC] = "src",
	[FS_PROTO] = "proto",
	[FS_PORT] = "port",
	[FS_DPORT] = "dport",
	[FS_SPORT] = "sport",
	[FS_ICMP_TYPE] = "icmp-type",
	[FS_ICMP_CODE] = "icmp-code",
	[FS_TCP_FLAGS] = "tcp",
	[FS_LEN] = "len",
	[FS_DSCP] = "dscp",
	[FS_FRAG] = "frag",
	[FS_FLOW_LABEL] = "label",
};

static bool bitmask_type(int type)
{
	return type == FS_TCP_FLAGS || type == FS_FRAG;
}

/* An item: numeric "==80", ">=1", "true"; bitmask "=0x12", "!=4", "!2", "6". */
static bool spec_item(const char *s, int type, __u8 *op, __u32 *value)
{
	static const struct {
		const char *text;
		__u8 op;
	} numeric[] = { { "==", 1 }, { "!=", 6 }, { ">=", 3 },	 { "<=", 5 },
			{ ">", 2 },  { "<", 4 },  { "true", 7 }, { "false", 0 } },
	  bitmask[] = { { "!=", 3 }, { "=", 1 }, { "!", 2 } };
	size_t i;

	*op = 0;
	*value = 0;
	if (bitmask_type(type)) {
		for (i = 0; i < ARRAY_SIZE(bitmask); i++)
			if (!strncmp(s, bitmask[i].text,
				     strlen(bitmask[i].text))) {
				*op = bitmask[i].op;
				s += strlen(bitmask[i].text);
				break;
			}
		*value = strtoul(s, NULL, 0);
		return true;
	}
	for (i = 0; i < ARRAY_SIZE(numeric); i++)
		if (!strncmp(s, numeric[i].text, strlen(numeric[i].text))) {
			*op = numeric[i].op;
			s += strlen(numeric[i].text);
			*value = *s ? strtoul(s, NULL, 0) : 0;
			return true;
		}
	return false;
}

static void spec_add(struct fs_component *c, __u8 op, __u32 value)
{
	__u8 len = value > 0xffff ? 0x20 : value > 0xff ? 0x10 : 0;

	if (c->n)
		c->items[c->n - 1].op &= ~FS_OP_END;
	c->items[c->n].op = op | len | FS_OP_END;
	c->items[c->n].value = value;
	c->n++;
}

static bool spec_component(struct fs_route *r, char *words)
{
	char *save = NULL, *name = strtok_r(words, " ", &save), *w;
	struct fs_component *c;
	int type;

	for (type = FS_DST; type < FS_TYPES; type++)
		if (name && !strcmp(name, spec_names[type]))
			break;
	if (type == FS_TYPES)
		return false;
	c = &r->c[type];
	c->present = true;
	while ((w = strtok_r(NULL, " ", &save))) {
		char *save2 = NULL, *it;
		bool first = true;

		if (type == FS_DST || type == FS_SRC) {
			char *off = strchr(w, '/');
			struct fl_prefix p;
			char err[64];

			off = off ? strchr(off + 1, '/') : NULL;
			if (off)
				*off++ = '\0';
			if (fl_prefix_parse(w, &p, err, sizeof(err)))
				return false;
			c->addr = p.addr;
			c->len = p.len;
			c->offset = off ? atoi(off) : 0;
			continue;
		}
		for (it = strtok_r(w, "&", &save2); it;
		     it = strtok_r(NULL, "&", &save2)) {
			__u8 op;
			__u32 v;

			if (!spec_item(it, type, &op, &v))
				return false;
			spec_add(c, op | (first ? 0 : FS_OP_AND), v);
			first = false;
		}
	}
	return true;
}

/* "v6 dst ...; proto ==6; then rate-bytes 100 mark 10" (default: drop) */
static bool spec_route(const char *spec, struct fs_route *r)
{
	char text[512], *save = NULL, *part;

	memset(r, 0, sizeof(*r));
	r->family = 4;
	r->action = FS_ACT_DROP;
	snprintf(text, sizeof(text), "%s", spec);
	if (!strncmp(text, "v6 ", 3)) {
		r->family = 6;
		memset(text, ' ', 3);
	}
	for (part = strtok_r(text, ";", &save); part;
	     part = strtok_r(NULL, ";", &save)) {
		char *then;

		while (*part == ' ')
			part++;
		if (!strncmp(part, "then ", 5)) {
			then = part + 5;
			if (!strncmp(then, "accept", 6))
				r->action = FS_ACT_ACCEPT;
			if (sscanf(then, "rate-bytes %lf", &r->rate) == 1)
				r->action = FS_ACT_RATE_BYTES;
			if (sscanf(then, "rate-packets %lf", &r->rate) == 1)
				r->action = FS_ACT_RATE_PACKETS;
			if (strstr(then, "non-terminal"))
				r->non_terminal = true;
			then = strstr(then, "mark ");
			if (then) {
				r->mark = true;
				r->mark_dscp = atoi(then + 5);
			}
			continue;
		}
		if (!spec_component(r, part))
			return false;
	}
	return true;
}

/* ---- RFC 8955/8956 on one packet, independently of flowspec.c --------- */

/* A packet, and its fragment bits as the RFC sees them (the engine only
 * sees the class in pkt.frag). */
struct packet {
	struct fl_rule_packet pkt;
	__u8 frag_bits;
};

static bool rfc_numeric(__u8 op, __u32 value, __u32 data)
{
	bool lt = op & 4, gt = op & 2, eq = op & 1;

	return (lt && data < value) || (gt && data > value) ||
	       (eq && data == value);
}

static bool rfc_bitmask(__u8 op, __u32 value, __u32 data)
{
	bool match = op & 1, not = op & 2;
	bool r = match ? (data & value) == value : (data & value) != 0;

	return r != not ;
}

/* The list as AND-groups, ORed (RFC 8955 4.2.1.1). */
static bool rfc_list(const struct fs_component *c, bool bitmask, __u32 data)
{
	int i = 0, j;

	while (i < c->n) {
		bool all = true;

		for (j = i; j < c->n && (j == i || (c->items[j].op & 0x40));
		     j++) {
			__u32 v = c->items[j].value;

			all = all &&
			      (bitmask ? rfc_bitmask(c->items[j].op, v, data) :
					 rfc_numeric(c->items[j].op, v, data));
		}
		if (all)
			return true;
		i = j;
	}
	return false;
}

static bool rfc_prefix(const struct fs_component *c, const union fl_addr *a)
{
	int i;

	for (i = 0; i < c->len; i++)
		if (((c->addr.b[i / 8] ^ a->b[i / 8]) >> (7 - i % 8)) & 1)
			return false;
	return true;
}

static bool rfc_matches(const struct fs_route *r, const struct packet *p)
{
	const struct fl_rule_packet *k = &p->pkt;
	const struct fs_component *c = r->c;
	bool later = k->frag == FL_RULE_FRAG_LATER;
	bool ports = (k->proto == 6 || k->proto == 17) && !later;
	bool tcp = k->proto == 6 && !later;
	bool icmp = k->proto == (r->family == 4 ? 1 : 58) && !later;
	struct fs_component frag6;
	int i;

	if (k->family != r->family)
		return false;
	if (c[FS_DST].present && !rfc_prefix(&c[FS_DST], &k->dst))
		return false;
	if (c[FS_SRC].present && !rfc_prefix(&c[FS_SRC], &k->src))
		return false;
	if (c[FS_PROTO].present && !rfc_list(&c[FS_PROTO], false, k->proto))
		return false;
	if (c[FS_PORT].present &&
	    (!ports || !(rfc_list(&c[FS_PORT], false, k->sport) ||
			 rfc_list(&c[FS_PORT], false, k->dport))))
		return false;
	if (c[FS_DPORT].present &&
	    (!ports || !rfc_list(&c[FS_DPORT], false, k->dport)))
		return false;
	if (c[FS_SPORT].present &&
	    (!ports || !rfc_list(&c[FS_SPORT], false, k->sport)))
		return false;
	if (c[FS_ICMP_TYPE].present &&
	    (!icmp || !rfc_list(&c[FS_ICMP_TYPE], false, k->icmp_type)))
		return false;
	if (c[FS_ICMP_CODE].present &&
	    (!icmp || !rfc_list(&c[FS_ICMP_CODE], false, k->icmp_code)))
		return false;
	if (c[FS_TCP_FLAGS].present &&
	    (!tcp || !rfc_list(&c[FS_TCP_FLAGS], true, k->tcp_flags)))
		return false;
	if (c[FS_LEN].present && !rfc_list(&c[FS_LEN], false, k->len))
		return false;
	if (c[FS_DSCP].present && !rfc_list(&c[FS_DSCP], false, k->dscp))
		return false;
	if (c[FS_FRAG].present) {
		/* RFC 8956 3.6: IPv6 ignores the DF bit when decoding */
		frag6 = c[FS_FRAG];
		for (i = 0; r->family == 6 && i < frag6.n; i++)
			frag6.items[i].value &= ~FS_FRAG_DF;
		if (!rfc_list(&frag6, true, p->frag_bits))
			return false;
	}
	return true;
}

/* ---- the packet grid --------------------------------------------------- */

#define CANDS 48

struct cands {
	int n;
	__u32 v[CANDS];
};

static void cand_add(struct cands *c, long v, long max)
{
	int i;

	if (v < 0 || v > max || c->n == CANDS)
		return;
	for (i = 0; i < c->n; i++)
		if (c->v[i] == v)
			return;
	c->v[c->n++] = v;
}

/* Each value the component names, its neighbours, and the domain's ends. */
static void cands_from(struct cands *c, const struct fs_component *comp,
		       long max, long dflt)
{
	int i;

	c->n = 0;
	cand_add(c, dflt, max);
	if (!comp->present)
		return;
	cand_add(c, 0, max);
	cand_add(c, max, max);
	for (i = 0; i < comp->n; i++) {
		cand_add(c, (long)comp->items[i].value - 1, max);
		cand_add(c, comp->items[i].value, max);
		cand_add(c, (long)comp->items[i].value + 1, max);
	}
}

static void cands_all(struct cands *c, __u32 n)
{
	__u32 i;

	c->n = 0;
	for (i = 0; i < n && i < CANDS; i++)
		c->v[c->n++] = i;
}

/* Addresses: the prefix's, one just inside its end, one just outside. */
static int addr_cands(const struct fs_component *c, int family,
		      union fl_addr *out)
{
	int n = 0, bits = family == 4 ? 32 : 128;

	memset(out, 0, 3 * sizeof(*out));
	if (!c->present) {
		out[0].b[0] = 10;
		return 1;
	}
	out[n++] = c->addr;
	if (c->len < bits) {
		out[n] = c->addr;
		out[n].b[(bits - 1) / 8] ^= 1;
		n++;
	}
	if (c->len > 0) {
		out[n] = c->addr;
		out[n].b[(c->len - 1) / 8] ^= 0x80 >> ((c->len - 1) % 8);
		n++;
	}
	return n;
}

enum axis {
	AX_FAMILY,
	AX_SRC,
	AX_DST,
	AX_PROTO,
	AX_SPORT,
	AX_DPORT,
	AX_FLAGS,
	AX_LEN,
	AX_DSCP,
	AX_FRAG,
	AX_TYPE,
	AX_CODE,
	AX_COUNT,
};

struct grid {
	struct cands ax[AX_COUNT];
	union fl_addr src[3], dst[3];
};

static const __u8 frag_states[5] = { 0x00, 0x01, 0x06, 0x02, 0x0a };

static void grid_build(const struct fs_route *r, struct grid *g)
{
	const struct fs_component *c = r->c;
	struct fs_component ports = c[FS_PORT];
	int i;

	g->ax[AX_FAMILY] = (struct cands){ 2, { 4, 6 } };
	g->ax[AX_SRC].n = addr_cands(&c[FS_SRC], r->family, g->src);
	g->ax[AX_DST].n = addr_cands(&c[FS_DST], r->family, g->dst);
	for (i = 0; i < 3; i++)
		g->ax[AX_SRC].v[i] = g->ax[AX_DST].v[i] = i;
	cands_from(&g->ax[AX_PROTO], &c[FS_PROTO], 255, 6);
	cand_add(&g->ax[AX_PROTO], 17, 255);
	cand_add(&g->ax[AX_PROTO], 1, 255);
	cand_add(&g->ax[AX_PROTO], 58, 255);
	cand_add(&g->ax[AX_PROTO], 47, 255);
	/* port values count for both directions */
	if (!ports.present)
		ports = c[FS_SPORT];
	cands_from(&g->ax[AX_SPORT], &ports, 65535, 40000);
	for (i = 0; c[FS_SPORT].present && i < c[FS_SPORT].n; i++)
		cand_add(&g->ax[AX_SPORT], c[FS_SPORT].items[i].value, 65535);
	ports = c[FS_PORT].present ? c[FS_PORT] : c[FS_DPORT];
	cands_from(&g->ax[AX_DPORT], &ports, 65535, 80);
	for (i = 0; c[FS_DPORT].present && i < c[FS_DPORT].n; i++)
		cand_add(&g->ax[AX_DPORT], c[FS_DPORT].items[i].value, 65535);
	if (c[FS_TCP_FLAGS].present) {
		g->ax[AX_FLAGS].n = 0; /* all 256: axis_len(), axis_val() */
	} else {
		g->ax[AX_FLAGS] = (struct cands){ 2, { 0x02, 0x10 } };
	}
	cands_from(&g->ax[AX_LEN], &c[FS_LEN], 65535, 100);
	for (i = 0; i < g->ax[AX_LEN].n; i++) /* no packet is 0 bytes long */
		if (!g->ax[AX_LEN].v[i])
			g->ax[AX_LEN].v[i] = 1;
	if (c[FS_DSCP].present)
		cands_all(&g->ax[AX_DSCP], 64);
	else
		g->ax[AX_DSCP] = (struct cands){ 2, { 0, 46 } };
	g->ax[AX_FRAG].n = 5;
	for (i = 0; i < 5; i++)
		g->ax[AX_FRAG].v[i] = frag_states[i];
	cands_from(&g->ax[AX_TYPE], &c[FS_ICMP_TYPE], 255, 8);
	cands_from(&g->ax[AX_CODE], &c[FS_ICMP_CODE], 255, 0);
}

/* TCP flags need all 256 values, more than CANDS: the axis is walked by
 * its own count. */
static int axis_len(const struct grid *g, int a, const struct fs_route *r)
{
	if (a == AX_FLAGS && r->c[FS_TCP_FLAGS].present)
		return 256;
	return g->ax[a].n;
}

static __u32 axis_val(const struct grid *g, int a, int i,
		      const struct fs_route *r)
{
	if (a == AX_FLAGS && r->c[FS_TCP_FLAGS].present)
		return i;
	return g->ax[a].v[i];
}

static void packet_make(const struct grid *g, const int *idx,
			const struct fs_route *r, struct packet *p)
{
	struct fl_rule_packet *k = &p->pkt;
	__u8 bits = axis_val(g, AX_FRAG, idx[AX_FRAG], r);

	memset(p, 0, sizeof(*p));
	k->family = axis_val(g, AX_FAMILY, idx[AX_FAMILY], r);
	k->src = g->src[idx[AX_SRC]];
	k->dst = g->dst[idx[AX_DST]];
	k->proto = axis_val(g, AX_PROTO, idx[AX_PROTO], r);
	p->frag_bits = bits;
	k->frag = !(bits & FS_FRAG_ISF) ? FL_RULE_FRAG_NONE :
		  bits & FS_FRAG_FF	? FL_RULE_FRAG_FIRST :
					  FL_RULE_FRAG_LATER;
	/* what the parser finds: no L4 header in a later fragment */
	if (k->frag != FL_RULE_FRAG_LATER) {
		k->has_ports = k->proto == 6 || k->proto == 17;
		k->is_tcp = k->proto == 6;
		k->is_icmp = k->proto == (k->family == 4 ? 1 : 58);
	}
	if (k->has_ports) {
		k->sport = axis_val(g, AX_SPORT, idx[AX_SPORT], r);
		k->dport = axis_val(g, AX_DPORT, idx[AX_DPORT], r);
	}
	if (k->is_tcp)
		k->tcp_flags = axis_val(g, AX_FLAGS, idx[AX_FLAGS], r);
	if (k->is_icmp) {
		k->icmp_type = axis_val(g, AX_TYPE, idx[AX_TYPE], r);
		k->icmp_code = axis_val(g, AX_CODE, idx[AX_CODE], r);
	}
	k->len = axis_val(g, AX_LEN, idx[AX_LEN], r);
	k->dscp = axis_val(g, AX_DSCP, idx[AX_DSCP], r);
}

static bool rules_match(const struct fl_rule *rules, size_t n,
			const struct fl_rule_packet *p)
{
	return fl_rule_lookup_ref(rules, n, p) >= 0;
}

/*
 * Every packet of the grid: does (the compiled rules) == (the RFC), or,
 * with @want_rules, (the compiled rules) == (@want_rules)? The count of
 * packets checked, or -1 at the first disagreement (logged).
 */
static long grid_compare(const struct fs_route *r, const struct fl_rule *rules,
			 size_t n, const struct fl_rule *want, size_t nwant)
{
	static struct grid g;
	int idx[AX_COUNT] = { 0 }, a;
	struct packet p;
	long count = 0;

	grid_build(r, &g);
	for (;;) {
		bool got, exp;

		packet_make(&g, idx, r, &p);
		got = rules_match(rules, n, &p.pkt);
		exp = want ? rules_match(want, nwant, &p.pkt) :
			     rfc_matches(r, &p);
		/* the engine sees fragment classes, not DF: a route that
		 * tells them apart is refused, so both must agree here */
		if (got != exp) {
			test__log(
				"  packet: v%u proto %u sport %u dport %u flags 0x%02x len %u dscp %u frag 0x%02x type %u code %u src %u dst %u: rules %d, expected %d\n",
				p.pkt.family, p.pkt.proto, p.pkt.sport,
				p.pkt.dport, p.pkt.tcp_flags, p.pkt.len,
				p.pkt.dscp, p.frag_bits, p.pkt.icmp_type,
				p.pkt.icmp_code, idx[AX_SRC], idx[AX_DST], got,
				exp);
			return -1;
		}
		count++;
		for (a = 0; a < AX_COUNT; a++) {
			if (++idx[a] < axis_len(&g, a, r))
				break;
			idx[a] = 0;
		}
		if (a == AX_COUNT)
			return count;
	}
}

/* ---- 1. exact equivalence ---------------------------------------------- */

static const char *const exact_routes[] = {
	"dst 203.0.113.0/24",
	"dst 203.0.113.7/32; src 198.51.100.0/24",
	"v6 dst 2001:db8:1::/48; src 2001:db8::/32",
	"dst 0.0.0.0/0; proto ==17",
	"proto ==6 ==17",
	"proto !=6",
	"proto >=6&<=17 ==47",
	"proto >200&<=210 <3",
	"dport ==80 ==443 ==8080",
	"dport >=1000&<=2000",
	"dport >=1000&<=2000 ==80; proto ==6 ==17",
	"dport !=80",
	"dport true",
	"sport <1024; dport ==53; proto ==17",
	"port ==53",
	"port >=1000&<=1002 ==7; proto ==6",
	"port ==53; dport ==80 ==53",
	"port ==53 ==80; sport >=50&<=60; dport <100",
	"port ==80; proto ==1 ==6",
	"dport ==80; proto ==6 ==47 ==17",
	"icmp-type ==8 ==0; icmp-code ==0",
	"icmp-type ==3; icmp-code >=1&<=3",
	"icmp-code ==0",
	"icmp-type true",
	"icmp-type >=0; frag =2",
	"v6 icmp-type ==128 ==129",
	"v6 proto ==58; icmp-type ==128",
	"tcp =0x02",
	"tcp =0x02&!0x10",
	"tcp 0x12",
	"tcp !=0x12",
	"tcp !0x07 =0x12",
	"tcp =0x02&!0x10 =0x04; dport ==80",
	"tcp !0",
	"tcp 0x01 0x02 0x04 0x08 0x10 0x20 0x40 0x80",
	"tcp =0x03&!=0x03 =0x50&!0x20",
	"len >=64&<=128 >1400",
	"len <100",
	"len ==0 ==1 ==65535",
	"len !=1500",
	"dscp ==46 ==10",
	"dscp >=8&<=15",
	"dscp !=0",
	"frag =2",
	"frag =4",
	"frag =2&!4",
	"frag !2",
	"frag !2 =4",
	"frag 2&!4 !=2",
	"frag 0x06",
	"frag =2; dport ==80",
	"frag !4; icmp-type ==8",
	"v6 frag =2&!4",
	"v6 frag !2",
	"v6 frag !3",
	"dst 203.0.113.0/25; proto ==17; dport >=1000&<=2000; len >=100&<=200; dscp ==46",
	"v6 dst 2001:db8::/64; proto ==6; tcp =0x02&!0x10; sport ==443 ==8443",
};

static void exact(void)
{
	static struct fl_rule rules[4096];
	char err[256], line[512];
	enum fs_refusal why;
	struct fs_route r;
	size_t i, n;
	long checked;

	for (i = 0; i < ARRAY_SIZE(exact_routes); i++) {
		test__case("exact: %s", exact_routes[i]);
		if (!ASSERT_TRUE(spec_route(exact_routes[i], &r), "spec"))
			continue;
		if (!ASSERT_OK(fs_compile(&r, rules, ARRAY_SIZE(rules), &n,
					  &why, err, sizeof(err)),
			       "compile")) {
			test__log("  refused (%s): %s\n", fs_refusal_name(why),
				  err);
			continue;
		}
		ASSERT_GT(n, 0, "rules");
		checked = grid_compare(&r, rules, n, NULL, 0);
		ASSERT_GT(checked, 0, "every packet agrees with the RFC");
		test__log("  %zu rules, %ld packets: %s\n", n, checked,
			  fs_route_format(&r, line, sizeof(line)));
	}
}

/* ---- 2. counts and refusals -------------------------------------------- */

static const struct {
	const char *spec;
	size_t rules;
} counts[] = {
	{ "dport ==80 ==443 ==8080; dscp ==10 ==46", 6 },
	/* ports already mean tcp or udp: proto ==6 ==17 adds no rule */
	{ "dport ==80 ==443 ==8080; proto ==6 ==17", 3 },
	{ "dport ==80 ==443 ==8080; proto ==6 ==17 ==1", 3 },
	{ "dport ==80 ==443 ==8080; proto ==6 ==47", 3 },
	{ "proto ==6 ==17; dscp ==10 ==46", 4 },
	{ "dport >=1000&<=2000", 1 },
	{ "port ==53", 2 },
	{ "dscp ==46 ==10; len <100 >=1000&<=1100", 4 },
	{ "tcp =0x02&!0x10", 1 },
	{ "tcp !0", 1 },
	{ "tcp 0x12", 2 },
	{ "frag =2", 1 },
	{ "frag !2 =4", 2 },
	{ "icmp-type true", 2 }, /* proto icmp, not a later fragment */
	{ "dport ==80; proto ==6 ==17", 1 }, /* dport says tcp or udp */
	{ "dst 203.0.113.0/24; then rate-bytes 100", 1 },
	{ "dst 203.0.113.0/24; then accept", 0 },
	{ "dst 203.0.113.0/24; then accept mark 10", 1 },
};

static const struct {
	const char *spec;
	size_t max;
	enum fs_refusal why;
	const char *error;
} refusals[] = {
	{ "dscp >=0&<=63; dport ==80", 64, FS_OK, NULL },
	{ "dscp true; dport ==1 ==3 ==5 ==7 ==9 ==11 ==13 ==15 ==17 ==19 ==21 ==23 ==25 ==27 ==29 ==31 ==33 ==35 ==37 ==39 ==41 ==43 ==45 ==47 ==49 ==51 ==53 ==55 ==57 ==59 ==61 ==63; len ==100 ==200 ==300",
	  64, FS_TOO_BIG, "expands to 96 rules, the bound is 64" },
	{ "dscp >=0&<=64", 64, FS_MALFORMED, "dscp: value 64" },
	{ "dscp ==1 ==2 ==3 ==4 ==5; dport ==1 ==3 ==5 ==7 ==9 ==11 ==13 ==15 ==17 ==19 ==21 ==23 ==25",
	  64, FS_TOO_BIG, "expands to 65 rules, the bound is 64" },
	{ "dscp ==1 ==2 ==3 ==4; dport ==1 ==3 ==5 ==7 ==9 ==11 ==13 ==15 ==17 ==19 ==21 ==23 ==25 ==27 ==29 ==31",
	  64, FS_OK, NULL },
	{ "proto !=6", 64, FS_TOO_BIG, "expands to 255 rules" },
	{ "frag 0x0c", 64, FS_UNMATCHABLE, "last-fragment" },
	{ "frag !1", 64, FS_UNMATCHABLE, "dont-fragment" },
	{ "v6 dst 2001:db8::/32; frag !1", 64, FS_OK, NULL }, /* no DF in v6 */
	{ "v6 dst 2001:db8::/64/8", 64, FS_UNMATCHABLE, "IPv6 prefix offset" },
	{ "v6 dst 2001:db8::/64; label ==100", 64, FS_UNMATCHABLE,
	  "flow-label" },
	{ "frag =1", 64, FS_UNMATCHABLE, "dont-fragment" },
	{ "frag =8", 64, FS_UNMATCHABLE, "last-fragment" },
	{ "dport ==80&==81", 64, FS_EMPTY, "dport" },
	{ "proto ==1; dport ==80", 64, FS_EMPTY, "proto" },
	{ "icmp-type ==8; dport ==80", 64, FS_EMPTY, "proto" },
	{ "frag =2&!4; dport ==80", 64, FS_EMPTY, "frag" },
	{ "dport false", 64, FS_EMPTY, "dport" },
	{ "proto ==300", 64, FS_MALFORMED, "proto: value 300" },
	{ "proto true", 64, FS_UNMATCHABLE, "matches every IPv4 packet" },
	{ "dst 203.0.113.0/24; then accept mark 64", 64, FS_MALFORMED,
	  "traffic-marking" },
	/* the T bit: later routes would apply too; refused whatever the
	 * action, never enforced as if terminal */
	{ "dst 203.0.113.0/24; then non-terminal", 64, FS_NON_TERMINAL,
	  "traffic-action non-terminal" },
	{ "dst 203.0.113.0/24; then rate-bytes 1000 non-terminal", 64,
	  FS_NON_TERMINAL, "non-terminal" },
	{ "dst 203.0.113.0/24; then accept mark 10 non-terminal", 64,
	  FS_NON_TERMINAL, "non-terminal" },
	{ "v6 dst 2001:db8::/64; dport ==80; then non-terminal", 64,
	  FS_NON_TERMINAL, "non-terminal" },
};

static void expansion(void)
{
	struct fl_rule rules[64];
	char err[256] = "";
	enum fs_refusal why;
	struct fs_route r;
	size_t i, n;
	int ret;

	for (i = 0; i < ARRAY_SIZE(counts); i++) {
		test__case("count: %s", counts[i].spec);
		if (!ASSERT_TRUE(spec_route(counts[i].spec, &r), "spec"))
			continue;
		ret = fs_compile(&r, rules, ARRAY_SIZE(rules), &n, &why, err,
				 sizeof(err));
		if (!ASSERT_OK(ret, "compile"))
			test__log("  %s\n", err);
		ASSERT_EQ(n, counts[i].rules, "rules");
	}
	for (i = 0; i < ARRAY_SIZE(refusals); i++) {
		test__case("refuse: %s", refusals[i].spec);
		if (!ASSERT_TRUE(spec_route(refusals[i].spec, &r), "spec"))
			continue;
		err[0] = '\0';
		ret = fs_compile(&r, rules, refusals[i].max, &n, &why, err,
				 sizeof(err));
		ASSERT_EQ(why, refusals[i].why, fs_refusal_name(why));
		if (refusals[i].why == FS_OK) {
			ASSERT_OK(ret, "compiles");
			continue;
		}
		ASSERT_EQ(ret, -EINVAL, "refused");
		ASSERT_EQ(n, 0, "no rules");
		if (!ASSERT_TRUE(strstr(err, refusals[i].error) != NULL,
				 "message"))
			test__log("  got: %s\n  want: %s\n", err,
				  refusals[i].error);
	}
	test__case("refusal names");
	ASSERT_STREQ(fs_refusal_name(FS_MALFORMED), "malformed", "malformed");
	ASSERT_STREQ(fs_refusal_name(FS_UNMATCHABLE), "unmatchable",
		     "unmatchable");
	ASSERT_STREQ(fs_refusal_name(FS_EMPTY), "empty", "empty");
	ASSERT_STREQ(fs_refusal_name(FS_TOO_BIG), "too-big", "too-big");
	ASSERT_STREQ(fs_refusal_name(FS_NON_TERMINAL), "non-terminal",
		     "non-terminal");
	test__case("non-terminal with no action: nothing to install");
	spec_route("dst 203.0.113.0/24; then accept non-terminal", &r);
	ASSERT_OK(fs_compile(&r, rules, 64, &n, &why, err, sizeof(err)),
		  "compile");
	ASSERT_EQ(n, 0, "no rules");
	test__case("no items: malformed");
	spec_route("dport ==80", &r);
	r.c[FS_DPORT].n = 0;
	ASSERT_EQ(fs_compile(&r, rules, 64, &n, &why, err, sizeof(err)),
		  -EINVAL, "refused");
	ASSERT_EQ(why, FS_MALFORMED, "malformed");
	test__case("a /33: malformed");
	spec_route("dst 203.0.113.0/32", &r);
	r.c[FS_DST].len = 33;
	ASSERT_EQ(fs_compile(&r, rules, 64, &n, &why, err, sizeof(err)),
		  -EINVAL, "refused");
	ASSERT_EQ(why, FS_MALFORMED, "malformed");
	ASSERT_TRUE(strstr(err, "prefix length 33") != NULL, "message");
	test__case("a 1-byte value over 255: malformed");
	spec_route("dport ==80", &r);
	r.c[FS_DPORT].items[0].value = 300;
	ASSERT_EQ(fs_compile(&r, rules, 64, &n, &why, err, sizeof(err)),
		  -EINVAL, "refused");
	ASSERT_EQ(why, FS_MALFORMED, "malformed");
}

/* ---- 3. actions -------------------------------------------------------- */

static const struct {
	const char *spec;
	__u8 action, rate_unit, mark;
	__u64 rate, burst;
} actions[] = {
	{ "dst 203.0.113.0/24; then rate-bytes 125000", FL_RULE_RATE_LIMIT,
	  FL_RATE_BPS, 0, 1000000, 100000 },
	{ "dst 203.0.113.0/24; then rate-bytes 100", FL_RULE_RATE_LIMIT,
	  FL_RATE_BPS, 0, 800, FL_RULE_BURST_MIN_BITS },
	{ "dst 203.0.113.0/24; then rate-bytes 0.01", FL_RULE_RATE_LIMIT,
	  FL_RATE_BPS, 0, 1, FL_RULE_BURST_MIN_BITS },
	{ "dst 203.0.113.0/24; then rate-bytes 0", FL_RULE_DROP, 0, 0, 0, 0 },
	{ "dst 203.0.113.0/24; then rate-packets 5000", FL_RULE_RATE_LIMIT,
	  FL_RATE_PPS, 0, 5000, 500 },
	{ "dst 203.0.113.0/24; then rate-packets 3", FL_RULE_RATE_LIMIT,
	  FL_RATE_PPS, 0, 3, 1 },
	{ "dst 203.0.113.0/24; then rate-packets 0", FL_RULE_DROP, 0, 0, 0, 0 },
	{ "dst 203.0.113.0/24", FL_RULE_DROP, 0, 0, 0, 0 },
	{ "dst 203.0.113.0/24; then accept mark 10", FL_RULE_MARK, 0,
	  FL_MARK_SET | 10, 0, 0 },
	{ "dst 203.0.113.0/24; then rate-bytes 1000 mark 46",
	  FL_RULE_RATE_LIMIT, FL_RATE_BPS, FL_MARK_SET | 46, 8000,
	  FL_RULE_BURST_MIN_BITS },
};

static void action_table(void)
{
	struct fl_rule rules[4];
	enum fs_refusal why;
	struct fs_route r;
	char err[256];
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(actions); i++) {
		test__case("action: %s", actions[i].spec);
		spec_route(actions[i].spec, &r);
		if (!ASSERT_OK(fs_compile(&r, rules, 4, &n, &why, err,
					  sizeof(err)),
			       "compile") ||
		    !ASSERT_EQ(n, 1, "one rule"))
			continue;
		ASSERT_EQ(rules[0].action, actions[i].action, "action");
		ASSERT_EQ(rules[0].family, 4, "family");
		ASSERT_EQ(rules[0].mark, actions[i].mark, "mark");
		if (actions[i].action != FL_RULE_RATE_LIMIT)
			continue;
		ASSERT_EQ(rules[0].rate_unit, actions[i].rate_unit, "unit");
		ASSERT_EQ(rules[0].rate, actions[i].rate, "rate");
		ASSERT_EQ(rules[0].burst, actions[i].burst, "burst");
	}
	test__case("action: accept without mark");
	spec_route("dst 203.0.113.0/24; then accept", &r);
	ASSERT_OK(fs_compile(&r, rules, 4, &n, &why, err, sizeof(err)),
		  "compile");
	ASSERT_EQ(n, 0, "no rules");
}

/* ---- 4. gobgp's JSON ------------------------------------------------- */

/* `gobgp -j global rib -a ipv4-flowspec` / ipv6-flowspec, gobgpd 3.10.0,
 * one path per route (the MP_REACH attribute, a copy of the NLRI, cut). */
static const struct {
	int family;
	const char *json, *spec, *format;
	bool sample, non_terminal, redirect;
} fixtures[] = {
	{ 4,
	  "{\"nlri\":{\"value\":[{\"type\":1,\"value\":{\"prefix\":\"203.0.113.0/24\"}},{\"type\":2,\"value\":{\"prefix\":\"198.51.100.0/24\"}},{\"type\":3,\"value\":[{\"op\":129,\"value\":6}]},{\"type\":5,\"value\":[{\"op\":1,\"value\":80},{\"op\":145,\"value\":443}]},{\"type\":6,\"value\":[{\"op\":19,\"value\":1024},{\"op\":213,\"value\":65535}]}]},\"age\":1796618070,\"best\":true,\"attrs\":[{\"type\":1,\"value\":2},{\"type\":16,\"value\":[{\"type\":128,\"subtype\":6,\"as\":0,\"rate\":0}]}],\"stale\":false}",
	  "dst 203.0.113.0/24; src 198.51.100.0/24; proto ==6; dport ==80 ==443; sport >=1024&<=65535",
	  "ipv4 dst 203.0.113.0/24 src 198.51.100.0/24 proto ==6 dport ==80 ==443 sport >=1024&<=65535 then drop",
	  false, false, false },
	{ 4,
	  "{\"nlri\":{\"value\":[{\"type\":1,\"value\":{\"prefix\":\"203.0.113.3/32\"}},{\"type\":4,\"value\":[{\"op\":129,\"value\":80}]},{\"type\":6,\"value\":[{\"op\":129,\"value\":0}]},{\"type\":7,\"value\":[{\"op\":129,\"value\":8}]},{\"type\":8,\"value\":[{\"op\":129,\"value\":0}]},{\"type\":10,\"value\":[{\"op\":3,\"value\":64},{\"op\":213,\"value\":1500}]},{\"type\":11,\"value\":[{\"op\":129,\"value\":46}]}]},\"age\":1796618202,\"best\":true,\"attrs\":[{\"type\":1,\"value\":2},{\"type\":16,\"value\":[{\"type\":128,\"subtype\":6,\"as\":0,\"rate\":125000},{\"type\":128,\"subtype\":9,\"value\":10},{\"type\":128,\"subtype\":7,\"terminal\":true,\"sample\":true}]}],\"stale\":false}",
	  "dst 203.0.113.3/32; port ==80; sport ==0; icmp-type ==8; icmp-code ==0; len >=64&<=1500; dscp ==46; then rate-bytes 125000 mark 10",
	  "ipv4 dst 203.0.113.3/32 port ==80 sport ==0 icmp-type ==8 icmp-code ==0 len >=64&<=1500 dscp ==46 then rate-bytes 125000 mark 10 sample non-terminal",
	  true, true, false },
	{ 4,
	  "{\"nlri\":{\"value\":[{\"type\":1,\"value\":{\"prefix\":\"203.0.113.1/32\"}},{\"type\":3,\"value\":[{\"op\":129,\"value\":58}]},{\"type\":9,\"value\":[{\"op\":1,\"value\":18},{\"op\":194,\"value\":5}]}]},\"age\":1796618202,\"best\":true,\"attrs\":[{\"type\":1,\"value\":2},{\"type\":16,\"value\":[{\"type\":128,\"subtype\":6,\"as\":0,\"rate\":0}]}],\"stale\":false}",
	  "dst 203.0.113.1/32; proto ==58; tcp =0x12&!0x05",
	  "ipv4 dst 203.0.113.1/32 proto ==58 tcp-flags =SA&!FR then drop",
	  false, false, false },
	{ 4,
	  "{\"nlri\":{\"value\":[{\"type\":1,\"value\":{\"prefix\":\"203.0.113.2/32\"}},{\"type\":12,\"value\":[{\"op\":1,\"value\":2},{\"op\":194,\"value\":4}]}]},\"age\":1796618202,\"best\":true,\"attrs\":[{\"type\":1,\"value\":2},{\"type\":16,\"value\":[{\"type\":128,\"subtype\":8,\"value\":\"65001:100\"}]}],\"stale\":false}",
	  "dst 203.0.113.2/32; frag =2&!4; then accept",
	  "ipv4 dst 203.0.113.2/32 frag =is-fragment&!first-fragment then accept redirect",
	  false, false, true },
	{ 4,
	  "{\"nlri\":{\"value\":[{\"type\":2,\"value\":{\"prefix\":\"198.51.100.0/24\"}},{\"type\":3,\"value\":[{\"op\":129,\"value\":6}]},{\"type\":9,\"value\":[{\"op\":131,\"value\":2}]}]},\"age\":1796618202,\"best\":true,\"attrs\":[{\"type\":1,\"value\":2},{\"type\":16,\"value\":[{\"type\":128,\"subtype\":6,\"as\":0,\"rate\":0.5}]}],\"stale\":false,\"source-id\":\"192.0.2.1\",\"neighbor-ip\":\"192.0.2.1\"}",
	  "src 198.51.100.0/24; proto ==6; tcp !=0x02; then rate-bytes 0.5",
	  "ipv4 src 198.51.100.0/24 proto ==6 tcp-flags !=S then rate-bytes 0.5",
	  false, false, false },
	{ 4,
	  "{\"nlri\":{\"value\":[{\"type\":1,\"value\":{\"prefix\":\"203.0.113.4/32\"}},{\"type\":3,\"value\":[{\"op\":3,\"value\":0},{\"op\":69,\"value\":255},{\"op\":128,\"value\":0}]}]},\"age\":1796618202,\"best\":true,\"attrs\":[{\"type\":1,\"value\":2},{\"type\":16,\"value\":[{\"type\":128,\"subtype\":7,\"terminal\":true,\"sample\":false}]}],\"stale\":false}",
	  NULL,
	  "ipv4 dst 203.0.113.4/32 proto >=0&<=255 false then accept non-terminal",
	  false, true, false },
	{ 6,
	  "{\"nlri\":{\"value\":[{\"type\":1,\"value\":{\"prefix\":\"2001:db8:1::/48\"},\"offset\":0},{\"type\":2,\"value\":{\"prefix\":\"2001:db8:2::/64\"},\"offset\":8},{\"type\":3,\"value\":[{\"op\":129,\"value\":6}]},{\"type\":5,\"value\":[{\"op\":129,\"value\":22}]}]},\"age\":1796618080,\"best\":true,\"attrs\":[{\"type\":1,\"value\":2},{\"type\":16,\"value\":[{\"type\":128,\"subtype\":6,\"as\":0,\"rate\":0}]}],\"stale\":false}",
	  "v6 dst 2001:db8:1::/48; src 2001:db8:2::/64/8; proto ==6; dport ==22",
	  "ipv6 dst 2001:db8:1::/48 src 2001:db8:2::/64 offset 8 proto ==6 dport ==22 then drop",
	  false, false, false },
	{ 6,
	  "{\"nlri\":{\"value\":[{\"type\":1,\"value\":{\"prefix\":\"2001:db8:3::/64\"},\"offset\":0},{\"type\":13,\"value\":[{\"op\":129,\"value\":100}]}]},\"age\":1796618080,\"best\":true,\"attrs\":[{\"type\":1,\"value\":2},{\"type\":16,\"value\":[{\"type\":128,\"subtype\":6,\"as\":0,\"rate\":5000}]}],\"stale\":false}",
	  "v6 dst 2001:db8:3::/64; label ==100; then rate-bytes 5000",
	  "ipv6 dst 2001:db8:3::/64 flow-label ==100 then rate-bytes 5000",
	  false, false, false },
	{ 6,
	  "{\"nlri\":{\"value\":[{\"type\":1,\"value\":{\"prefix\":\"2001:db8:4::/64\"},\"offset\":0},{\"type\":3,\"value\":[{\"op\":129,\"value\":58}]},{\"type\":7,\"value\":[{\"op\":129,\"value\":128}]},{\"type\":10,\"value\":[{\"op\":132,\"value\":100}]},{\"type\":11,\"value\":[{\"op\":3,\"value\":8},{\"op\":197,\"value\":15}]}]},\"age\":1796618080,\"best\":true,\"attrs\":[{\"type\":1,\"value\":2},{\"type\":16,\"value\":[{\"type\":128,\"subtype\":9,\"value\":0}]}],\"stale\":false}",
	  "v6 dst 2001:db8:4::/64; proto ==58; icmp-type ==128; len <100; dscp >=8&<=15; then accept mark 0",
	  "ipv6 dst 2001:db8:4::/64 proto ==58 icmp-type ==128 len <100 dscp >=8&<=15 then accept mark 0",
	  false, false, false },
	{ 6,
	  "{\"nlri\":{\"value\":[{\"type\":1,\"value\":{\"prefix\":\"2001:db8:5::/64\"},\"offset\":0},{\"type\":12,\"value\":[{\"op\":128,\"value\":2}]}]},\"age\":1796618080,\"best\":true,\"attrs\":[{\"type\":1,\"value\":2},{\"type\":25,\"value\":[{\"type\":128,\"subtype\":11,\"value\":\"2001:db8::1:300\"}]}],\"stale\":false}",
	  "v6 dst 2001:db8:5::/64; frag 2; then accept",
	  "ipv6 dst 2001:db8:5::/64 frag is-fragment then accept redirect",
	  false, false, true },
};

static bool routes_equal(const struct fs_route *a, const struct fs_route *b)
{
	int t, i;

	if (a->family != b->family || a->action != b->action ||
	    a->rate != b->rate || a->mark != b->mark ||
	    a->mark_dscp != b->mark_dscp)
		return false;
	for (t = FS_DST; t < FS_TYPES; t++) {
		const struct fs_component *x = &a->c[t], *y = &b->c[t];

		if (x->present != y->present || x->n != y->n ||
		    x->len != y->len || x->offset != y->offset ||
		    memcmp(&x->addr, &y->addr, sizeof(x->addr)))
			return false;
		for (i = 0; i < x->n; i++)
			if (x->items[i].op != y->items[i].op ||
			    x->items[i].value != y->items[i].value)
				return false;
	}
	return true;
}

static void json_fixtures(void)
{
	struct fs_route r, want;
	char err[256], line[512];
	struct json_object *o;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fixtures); i++) {
		test__case("json: %s", fixtures[i].format);
		o = json_tokener_parse(fixtures[i].json);
		if (!ASSERT_OK_PTR(o, "fixture parses"))
			continue;
		if (ASSERT_OK(fs_route_from_json(o, fixtures[i].family, &r, err,
						 sizeof(err)),
			      "from json")) {
			if (fixtures[i].spec) {
				spec_route(fixtures[i].spec, &want);
				ASSERT_TRUE(routes_equal(&r, &want),
					    "the components and actions");
			}
			ASSERT_STREQ(fs_route_format(&r, line, sizeof(line)),
				     fixtures[i].format, "format");
			ASSERT_EQ(r.sample, fixtures[i].sample, "sample");
			ASSERT_EQ(r.non_terminal, fixtures[i].non_terminal,
				  "non-terminal");
			ASSERT_EQ(r.redirect, fixtures[i].redirect, "redirect");
		} else {
			test__log("  %s\n", err);
		}
		json_object_put(o);
	}
	test__case("json: traffic-rate-packets and an unknown one");
	o = json_tokener_parse(
		"{\"nlri\":{\"value\":[{\"type\":1,\"value\":{\"prefix\":\"203.0.113.9/32\"}}]},\"attrs\":[{\"type\":16,\"value\":[{\"type\":128,\"subtype\":12,\"rate\":2000},{\"type\":130,\"subtype\":99}]}]}");
	ASSERT_OK(fs_route_from_json(o, 4, &r, err, sizeof(err)), "from json");
	ASSERT_EQ(r.action, FS_ACT_RATE_PACKETS, "packets");
	ASSERT_EQ(r.rate, 2000, "rate");
	ASSERT_TRUE(r.unknown_ext, "unknown");
	json_object_put(o);
	test__case("json: errors");
	o = json_tokener_parse(
		"{\"nlri\":{\"value\":[{\"type\":1,\"value\":{\"prefix\":\"2001:db8::/32\"}}]}}");
	ASSERT_ERR(fs_route_from_json(o, 4, &r, err, sizeof(err)),
		   "an IPv6 prefix in an IPv4 route");
	ASSERT_TRUE(strstr(err, "bad IPv4 prefix") != NULL, "message");
	json_object_put(o);
	o = json_tokener_parse(
		"{\"nlri\":{\"value\":[{\"type\":3,\"value\":[{\"op\":1}]}]}}");
	ASSERT_ERR(fs_route_from_json(o, 4, &r, err, sizeof(err)),
		   "an item without a value");
	json_object_put(o);
	o = json_tokener_parse("{\"attrs\":[]}");
	ASSERT_ERR(fs_route_from_json(o, 4, &r, err, sizeof(err)), "no nlri");
	json_object_put(o);
}

/* ---- 5. engine rule -> route -> rules ------------------------------------ */

static const char *const round_trips[] = {
	"dst 203.0.113.0/24 proto udp dport 1000-2000 action drop",
	"src 198.51.100.7 dst 203.0.113.0/25 sport 53 action rate-limit 8Mbps",
	"proto tcp tcp-flags syn/syn,ack action rate-limit 1000",
	"tcp-flags 0/rst dport 80 action drop",
	"dst 2001:db8::/32 proto tcp tcp-flags syn,ack/syn,ack,fin action drop",
	"dst 203.0.113.9 len 1400-1500 frag non-first action drop",
	"dst 203.0.113.9 frag first action drop",
	"dst 203.0.113.9 frag any action drop",
	"dst 203.0.113.9 frag none dscp 46 action mark 10",
	"icmp-type 8 code 0 src 192.0.2.7 action drop",
	"src 2001:db8:1::/48 icmp-type 128 action drop",
	"dst 198.51.100.0/24 sport 0-1023 dport 1024-65535 action rate-limit 10k mark 4",
	"dst 198.51.100.0/24 len 1-100 action drop",
};

static void round_trip(void)
{
	struct fl_rule rule, rules[64];
	char err[256], line[512];
	enum fs_refusal why;
	struct fs_route r;
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(round_trips); i++) {
		snprintf(line, sizeof(line), "%s", round_trips[i]);
		test__case("round trip: %s", round_trips[i]);
		if (!ASSERT_OK(fl_rule_parse_line(line, 100, &rule, err,
						  sizeof(err)),
			       "parse"))
			continue;
		if (!rule.family)
			rule.family = 4;
		if (!ASSERT_OK(fs_route_from_rule(&rule, &r), "to route"))
			continue;
		if (!ASSERT_OK(fs_compile(&r, rules, ARRAY_SIZE(rules), &n,
					  &why, err, sizeof(err)),
			       "compile")) {
			test__log("  %s\n", err);
			continue;
		}
		test__log("  %s -> %zu rules\n",
			  fs_route_format(&r, line, sizeof(line)), n);
		ASSERT_GT(grid_compare(&r, rules, n, &rule, 1), 0,
			  "the same packets as the rule");
		ASSERT_GT(grid_compare(&r, rules, n, NULL, 0), 0,
			  "and as the RFC says");
		ASSERT_EQ(rules[0].action, rule.action, "action");
		ASSERT_EQ(rules[0].rate, rule.rate, "rate");
		ASSERT_EQ(rules[0].rate_unit, rule.rate_unit, "unit");
		ASSERT_EQ(rules[0].mark, rule.mark, "mark");
	}
	test__case("round trip: permit has no route");
	snprintf(line, sizeof(line), "dst 203.0.113.0/24 action permit");
	fl_rule_parse_line(line, 100, &rule, err, sizeof(err));
	ASSERT_EQ(fs_route_from_rule(&rule, &r), -EINVAL, "permit");
}

/* ---- 6. gobgp's CLI words -------------------------------------------- */

/* Each line was given to `gobgp global rib -a ipv4-flowspec add` (or
 * ipv6-flowspec) on gobgpd 3.10.0, and listed back with the same
 * components (see the report of the commit that added this test). */
static const struct {
	const char *spec, *args;
} cli[] = {
	{ "dst 203.0.113.7/32; proto ==17; dport >=1000&<=2000; then rate-bytes 125000 mark 10",
	  "match destination 203.0.113.7/32 protocol ==17 destination-port >=1000&<=2000 then rate-limit 125000 mark 10" },
	{ "dst 203.0.113.0/24; src 198.51.100.0/24; proto ==6; dport ==80 ==443; sport >=1024",
	  "match destination 203.0.113.0/24 source 198.51.100.0/24 protocol ==6 destination-port ==80 ==443 source-port >=1024 then discard" },
	{ "dst 203.0.113.8/32; tcp =0x12&!0x05 !=0x02; frag =2&!4",
	  "match destination 203.0.113.8/32 tcp-flags =SA&!FR !=S fragment =is-fragment&!first-fragment then discard" },
	{ "dst 203.0.113.9/32; port !=80; len <100 >1400; dscp ==46; icmp-type true; icmp-code false; then rate-bytes 0.5",
	  "match destination 203.0.113.9/32 port !=80 icmp-type >=0 icmp-code <0 packet-length <100 >1400 dscp ==46 then rate-limit 0.5" },
	{ "dst 203.0.113.10/32; frag !2; then accept mark 0",
	  "match destination 203.0.113.10/32 fragment !is-fragment then mark 0" },
	{ "dst 203.0.113.11/32; then accept",
	  "match destination 203.0.113.11/32 then accept" },
	{ "v6 dst 2001:db8:1::/48; src 2001:db8::/32; proto ==58; icmp-type ==128; then rate-bytes 100",
	  "match destination 2001:db8:1::/48 source 2001:db8::/32 protocol ==58 icmp-type ==128 then rate-limit 100" },
	{ "v6 dst 2001:db8:1::/64/8; label ==100",
	  "match destination 2001:db8:1::/64 8 label ==100 then discard" },
};

static void args_join(char **argv, int n, char *out, size_t len)
{
	size_t off = 0;
	int i;

	out[0] = '\0';
	for (i = 0; i < n; i++)
		off += snprintf(out + off, len - off, "%s%s", i ? " " : "",
				argv[i]);
}

static void cli_words(void)
{
	char buf[1024], joined[1024], *argv[64];
	struct fs_route r;
	size_t i;
	int n;

	for (i = 0; i < ARRAY_SIZE(cli); i++) {
		test__case("args: %s", cli[i].spec);
		spec_route(cli[i].spec, &r);
		n = fs_route_args(&r, buf, sizeof(buf), argv, 64);
		if (!ASSERT_GT(n, 0, "words"))
			continue;
		args_join(argv, n, joined, sizeof(joined));
		ASSERT_STREQ(joined, cli[i].args, "words");
	}
	test__case("args: sample and non-terminal");
	spec_route("dst 203.0.113.12/32", &r);
	r.sample = r.non_terminal = true;
	n = fs_route_args(&r, buf, sizeof(buf), argv, 64);
	args_join(argv, n, joined, sizeof(joined));
	ASSERT_STREQ(
		joined,
		"match destination 203.0.113.12/32 then discard action sample-terminal",
		"words");
	test__case("args: rate-packets has no gobgp word");
	spec_route("dst 203.0.113.12/32; then rate-packets 100", &r);
	ASSERT_EQ(fs_route_args(&r, buf, sizeof(buf), argv, 64), -EOPNOTSUPP,
		  "EOPNOTSUPP");
	test__case("args: too small");
	spec_route("dst 203.0.113.12/32", &r);
	ASSERT_EQ(fs_route_args(&r, buf, 10, argv, 64), -ENOSPC, "buffer");
	ASSERT_EQ(fs_route_args(&r, buf, sizeof(buf), argv, 3), -ENOSPC,
		  "argv");
	test__case("args: an engine rule announced");
	{
		char line[] =
			"dst 203.0.113.0/24 proto tcp dport 80 tcp-flags syn/syn,ack len 40-60 frag none action rate-limit 1Mbps";
		struct fl_rule rule;
		char err[256];

		if (ASSERT_OK(fl_rule_parse_line(line, 1, &rule, err,
						 sizeof(err)),
			      "parse") &&
		    ASSERT_OK(fs_route_from_rule(&rule, &r), "route")) {
			n = fs_route_args(&r, buf, sizeof(buf), argv, 64);
			args_join(argv, n, joined, sizeof(joined));
			ASSERT_STREQ(
				joined,
				"match destination 203.0.113.0/24 protocol ==6 destination-port ==80 tcp-flags =S&!A packet-length >=40&<=60 fragment !is-fragment then rate-limit 125000",
				"words");
		}
	}
}

void test_flowspec(void)
{
	exact();
	expansion();
	action_table();
	json_fixtures();
	round_trip();
	cli_words();
}
