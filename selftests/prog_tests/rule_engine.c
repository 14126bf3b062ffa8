// SPDX-License-Identifier: Apache-2.0
/*
 * The rule engine (bpf/rules.h, user/lib/ruleset.c) against the plain
 * linear matcher (fl_rule_lookup_ref):
 *   rule_engine_diff     thousands of random rules x random packets, IPv4
 *                        and IPv6, every verdict and every rule counter
 *   rule_engine_limits   shape 33 and a fifth rule on one key are refused
 *                        with a reason, and nothing of the batch is added
 *   rule_engine_rate     token buckets let exactly the burst through
 *   rule_engine_expiry   an expired rule stops matching at once
 *   rule_engine_recover  a second owner rebuilds the same rules from the
 *                        maps alone (a daemon restart)
 *   rule_engine_churn    a rule keeps matching, and nothing else matches,
 *                        while another thread adds and deletes shapes
 *   rule_engine_mark     mark re-writes the DSCP (ECN and the IPv4
 *                        checksum right) of what a rule lets through
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include "pkt.h"
#include "rule.h"
#include "ruleset.h"
#include "test_progs.h"

static int open_rs(struct fl_fixture *fx, struct fl_ruleset **rs)
{
	struct fl_ruleset_maps maps;
	char err[256];
	int ret;

	ret = fl_ruleset_maps_of(fx->skel->obj, &maps);
	if (ret)
		return ret;
	ret = fl_ruleset_open(&maps, rs, err, sizeof(err));
	if (ret)
		test__log("fl_ruleset_open: %s", err);
	return ret;
}

/* "dst 198.51.100.0/24 action drop" -> rule, or a failed assertion. */
static bool rule_of(const char *text, struct fl_rule *rule)
{
	char line[512], err[256];

	snprintf(line, sizeof(line), "%s", text);
	if (fl_rule_parse_line(line, 1000, rule, err, sizeof(err))) {
		test__fail(__FILE__, __LINE__, "rule '%s': %s", text, err);
		return false;
	}
	return true;
}

static int add_text(struct fl_ruleset *rs, const char *text, __u32 *id)
{
	struct fl_rule rule;
	char err[256];
	size_t bad;
	int ret;

	if (!rule_of(text, &rule))
		return -EINVAL;
	ret = fl_ruleset_add(rs, &rule, 1, &bad, err, sizeof(err));
	if (ret)
		test__log("add '%s': %s", text, err);
	else if (id)
		*id = rule.id;
	return ret;
}

static __u32 run_spec(struct fl_fixture *fx, const struct pkt_spec *spec)
{
	struct pkt p;
	__u32 action = ~0U;

	if (!ASSERT_OK(pkt_build(spec, &p), "build"))
		return ~0U;
	if (!ASSERT_OK(fl_run(fx, p.data, p.len, 1, &action), "run"))
		return ~0U;
	return action;
}

/* ---- random rules and packets ------------------------------------------ */

static __u64 rng_state;

static __u32 rnd(__u32 n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return n ? (__u32)(rng_state % n) : 0;
}

static const char *const v4_pool[] = {
	"198.51.100.1", "198.51.100.2",	 "198.51.100.77", "198.51.100.200",
	"203.0.113.5",	"203.0.113.130", "198.18.3.4",	  "198.19.250.1",
};
static const char *const v6_pool[] = {
	"2001:db8::1",	     "2001:db8::2",	   "2001:db8:1::5",
	"2001:db8:ffff::9",  "2001:db8:0:1::1",	   "2001:db8:0:1:8000::1",
	"2001:db8:abcd::77", "2001:db8:abcd:1::1",
};
static const __u16 port_pool[] = { 53, 80, 443, 1000, 1500, 4096, 40000, 65535 };
static const __u8 flag_pool[] = {
	PKT_TCP_SYN, PKT_TCP_SYN | PKT_TCP_ACK, PKT_TCP_ACK,
	PKT_TCP_RST, PKT_TCP_FIN | PKT_TCP_ACK, PKT_TCP_PSH | PKT_TCP_ACK,
};
static const __u8 dscp_pool[] = { 0, 10, 46 };
static const __u8 icmp4_types[] = { 3, 8, 11 };
static const __u8 icmp6_types[] = { 1, 128, 129 };

#define POOL(a) (a)[rnd(ARRAY_SIZE(a))]

/* What a rule template fixes: one shape-ish family of rules. */
struct tmpl {
	int family; /* 4, 6, 0 */
	int src_len, dst_len; /* -1: no field */
	int proto; /* -1 none, 6, 17, 1/58 (icmp of the family), 47 */
	int sport, dport; /* 0 none, 1 single, 2 block, 3 range */
	bool flags, len, dscp, frag, icmp_type, icmp_code;
};

static void tmpl_random(struct tmpl *t)
{
	static const int v4_lens[] = { 8, 16, 24, 28, 32 };
	static const int v6_lens[] = { 32, 48, 64, 96, 128 };
	int l4 = rnd(5);

	memset(t, 0, sizeof(*t));
	t->family = rnd(5) == 0 ? 0 : (rnd(2) ? 4 : 6);
	t->src_len = t->dst_len = -1;
	if (t->family) {
		const int *lens = t->family == 4 ? v4_lens : v6_lens;

		if (rnd(2))
			t->dst_len = lens[rnd(5)];
		if (rnd(3) == 0 || t->dst_len < 0)
			t->src_len = lens[rnd(5)];
	}
	t->proto = -1;
	switch (l4) {
	case 0: /* ports, tcp or udp */
		t->proto = rnd(3) == 0 ? -1 : (rnd(2) ? 6 : 17);
		t->sport = rnd(3) == 0 ? rnd(4) : 0;
		t->dport = rnd(4);
		if (!t->sport && !t->dport)
			t->dport = 1;
		break;
	case 1: /* tcp flags */
		t->proto = rnd(2) ? 6 : -1;
		t->flags = true;
		t->dport = rnd(2) ? 1 : 0;
		break;
	case 2: /* icmp */
		if (!t->family)
			t->family = rnd(2) ? 4 : 6;
		t->proto = rnd(2) ? (t->family == 4 ? 1 : 58) : -1;
		t->icmp_type = true;
		t->icmp_code = rnd(2);
		break;
	case 3:
		t->proto = rnd(2) ? 47 : -1;
		break;
	default:
		break;
	}
	t->len = rnd(4) == 0;
	t->dscp = rnd(4) == 0;
	t->frag = rnd(5) == 0;
	if (t->family == 0 && t->proto < 0 && !t->sport && !t->dport &&
	    !t->flags && !t->len && !t->dscp && !t->frag && !t->icmp_type)
		t->dscp = true;
}

static void put_port(char *buf, size_t len, const char *kw, int style)
{
	__u16 p = POOL(port_pool), lo, size;

	switch (style) {
	case 1:
		snprintf(buf, len, " %s %u", kw, p);
		break;
	case 2: /* an aligned power-of-two block holding p */
		size = 1 << rnd(12);
		lo = p & ~(size - 1);
		snprintf(buf, len, " %s %u-%u", kw, lo, lo + size - 1);
		break;
	case 3: /* any range around p */
		lo = p > 300 ? p - rnd(300) : 1;
		snprintf(buf, len, " %s %u-%u", kw, lo,
			 p + rnd(300) > 65535 ? 65535 : p + rnd(300));
		break;
	default:
		buf[0] = '\0';
	}
}

/* A pool address with its host bits cleared: "198.51.100.0/24". */
static const char *prefix_of(int family, int len, char *buf, size_t size)
{
	const char *addr = family == 4 ? POOL(v4_pool) : POOL(v6_pool);
	union fl_addr a = {};
	char text[64];
	int i;

	inet_pton(family == 4 ? AF_INET : AF_INET6, addr, &a);
	for (i = len; i < (family == 4 ? 32 : 128); i++)
		a.b[i / 8] &= ~(0x80 >> (i % 8));
	inet_ntop(family == 4 ? AF_INET : AF_INET6, &a, text, sizeof(text));
	snprintf(buf, size, "%s/%d", text, len);
	return buf;
}

/* A random rule of template @t, as text. */
static void rule_random(const struct tmpl *t, char *buf, size_t len)
{
	char part[96];
	size_t off = 0;

#define ADD(...) off += snprintf(buf + off, len - off, __VA_ARGS__)
	ADD("order %u", rnd(400));
	if (t->src_len >= 0)
		ADD(" src %s",
		    prefix_of(t->family, t->src_len, part, sizeof(part)));
	if (t->dst_len >= 0)
		ADD(" dst %s",
		    prefix_of(t->family, t->dst_len, part, sizeof(part)));
	if (t->proto >= 0)
		ADD(" proto %d", t->proto);
	put_port(part, sizeof(part), "sport", t->sport);
	ADD("%s", part);
	put_port(part, sizeof(part), "dport", t->dport);
	ADD("%s", part);
	if (t->flags) {
		__u8 mask = rnd(2) ? 0x12 : 0x17;

		ADD(" tcp-flags 0x%x/0x%x", POOL(flag_pool) & mask, mask);
	}
	if (t->len) {
		__u16 lo = 20 + rnd(300);

		ADD(" len %u-%u", lo, lo + rnd(400));
	}
	if (t->dscp)
		ADD(" dscp %u", POOL(dscp_pool));
	if (t->frag) {
		static const char *const kinds[] = { "any", "first",
						     "non-first", "none" };
		ADD(" frag %s", POOL(kinds));
	}
	if (t->icmp_type) {
		ADD(" icmp-type %u",
		    t->family == 4 ? POOL(icmp4_types) : POOL(icmp6_types));
		if (t->icmp_code)
			ADD(" code %u", rnd(4));
	}
	ADD(" action %s", rnd(3) ? "drop" : "permit");
#undef ADD
}

/* A random packet and what the reference matcher is told about it. */
static void packet_random(struct pkt_spec *s, char *src, char *dst,
			  struct fl_rule_packet *rp)
{
	int v6 = rnd(2), l4 = rnd(5), frag = rnd(6);
	__u8 dscp = rnd(4) ? POOL(dscp_pool) : rnd(64);

	memset(s, 0, sizeof(*s));
	memset(rp, 0, sizeof(*rp));
	strcpy(src, v6 ? POOL(v6_pool) : POOL(v4_pool));
	strcpy(dst, v6 ? POOL(v6_pool) : POOL(v4_pool));
	if (rnd(8) == 0) /* sometimes an address no rule is built from */
		strcpy(dst, v6 ? "2001:db8:9::9" : "192.0.2.99");
	s->src = src;
	s->dst = dst;
	s->l3 = v6 ? PKT_IPV6 : PKT_IPV4;
	rp->family = v6 ? 6 : 4;
	inet_pton(v6 ? AF_INET6 : AF_INET, src, &rp->src);
	inet_pton(v6 ? AF_INET6 : AF_INET, dst, &rp->dst);
	rp->dscp = dscp;
	if (v6)
		s->ip6.tclass = dscp << 2;
	else
		s->ip4.tos = dscp << 2;
	rp->frag = FL_RULE_FRAG_NONE;
	if (frag == 0 || frag == 1) {
		rp->frag = frag ? FL_RULE_FRAG_LATER : FL_RULE_FRAG_FIRST;
		if (v6) {
			s->ip6.nr_ext = 1;
			s->ip6.ext[0] = (struct pkt_ext6)PKT_EXT(
				FRAGMENT,
				.frag_off = frag ? PKT_IP6_FRAG(100, 1) :
						   PKT_IP6_FRAG(0, 1));
		} else {
			s->ip4.frag_off = frag ? PKT_IP4_FRAG(100, 0) :
						 PKT_IP4_FRAG(0, 1);
		}
	}
	s->payload_len = rnd(400);
	switch (l4) {
	case 0:
	case 1:
		s->l4 = PKT_TCP;
		rp->proto = 6;
		s->tcp.sport = POOL(port_pool);
		s->tcp.dport = rnd(6) ? POOL(port_pool) : 1 + rnd(65535);
		s->tcp.flags = POOL(flag_pool);
		if (rp->frag != FL_RULE_FRAG_LATER) {
			rp->has_ports = rp->is_tcp = 1;
			rp->sport = s->tcp.sport;
			rp->dport = s->tcp.dport;
			rp->tcp_flags = s->tcp.flags;
		}
		break;
	case 2:
		s->l4 = PKT_UDP;
		rp->proto = 17;
		s->udp.sport = POOL(port_pool);
		s->udp.dport = rnd(6) ? POOL(port_pool) : 1 + rnd(65535);
		if (rp->frag != FL_RULE_FRAG_LATER) {
			rp->has_ports = 1;
			rp->sport = s->udp.sport;
			rp->dport = s->udp.dport;
		}
		break;
	case 3:
		s->l4 = v6 ? PKT_ICMPV6 : PKT_ICMP;
		rp->proto = v6 ? 58 : 1;
		s->icmp.type = v6 ? POOL(icmp6_types) : POOL(icmp4_types);
		s->icmp.code = rnd(4);
		if (rp->frag != FL_RULE_FRAG_LATER) {
			rp->is_icmp = 1;
			rp->icmp_type = s->icmp.type;
			rp->icmp_code = s->icmp.code;
		}
		break;
	default:
		s->l4 = PKT_L4_NONE;
		s->proto = (struct pkt_opt)PKT_SET(47);
		rp->proto = 47;
		break;
	}
}

struct diff_round {
	__u64 seed;
	int templates, rules, packets;
};

static void diff_round(const struct diff_round *r, int *hits)
{
	struct fl_fixture fx = {};
	struct fl_ruleset *rs = NULL;
	struct tmpl tmpls[24];
	struct fl_rule *rules;
	__u64 *tally = NULL;
	int n = 0, i, bad_verdicts = 0;
	char err[256];

	rng_state = r->seed;
	rules = calloc(r->rules, sizeof(*rules));
	tally = calloc(r->rules, sizeof(*tally));
	if (!ASSERT_OK_PTR(rules, "alloc") || !ASSERT_OK_PTR(tally, "alloc"))
		goto out;
	if (!ASSERT_OK(fl_fixture_open(&fx), "fixture") ||
	    !ASSERT_OK(open_rs(&fx, &rs), "ruleset"))
		goto out;
	for (i = 0; i < r->templates; i++)
		tmpl_random(&tmpls[i]);

	/* In batches (all or nothing each); a batch refused for a full
	 * chain is retried rule by rule, keeping the ones that fit. */
	while (n < r->rules) {
		struct fl_rule batch[100];
		int k, m = r->rules - n < 100 ? r->rules - n : 100;
		size_t bad;

		for (k = 0; k < m; k++) {
			char text[512];

			rule_random(&tmpls[rnd(r->templates)], text,
				    sizeof(text));
			if (!rule_of(text, &batch[k]))
				goto out;
		}
		if (!fl_ruleset_add(rs, batch, m, &bad, err, sizeof(err))) {
			memcpy(&rules[n], batch, m * sizeof(batch[0]));
			n += m;
			continue;
		}
		if (!ASSERT_TRUE(strstr(err, "share one key"), err))
			goto out;
		for (k = 0; k < m; k++)
			if (!fl_ruleset_add(rs, &batch[k], 1, &bad, err,
					    sizeof(err)))
				rules[n++] = batch[k];
		if (n < r->rules && k == m && m < 100)
			break;
	}
	test__log("seed %llu: %d rules in %d templates",
		  (unsigned long long)r->seed, n, r->templates);
	/* ids were handed out in order: the reference's "first of equal
	 * orders" is the engine's "lowest id" */
	for (i = 1; i < n; i++)
		if (!ASSERT_GT(rules[i].id, rules[i - 1].id, "ids ascend"))
			goto out;

	for (i = 0; i < r->packets; i++) {
		struct fl_rule_packet rp;
		struct pkt_spec spec;
		char src[64], dst[64];
		__u32 action, want;
		int ref;

		struct pkt p;

		packet_random(&spec, src, dst, &rp);
		if (!ASSERT_OK(pkt_build(&spec, &p), "build"))
			goto out;
		rp.len = p.ip_end - p.l3_off;
		ref = fl_rule_lookup_ref(rules, n, &rp);
		want = ref >= 0 && rules[ref].action == FL_RULE_DROP ?
			       XDP_DROP :
			       XDP_PASS;
		if (!ASSERT_OK(fl_run(&fx, p.data, p.len, 1, &action), "run"))
			goto out;
		if (ref >= 0) {
			tally[ref]++;
			(*hits)++;
		}
		if (action != want && bad_verdicts++ < 5) {
			char text[FL_RULE_STRLEN];

			test__fail(
				__FILE__, __LINE__,
				"packet %d %s -> %s proto %u sport %u dport %u flags 0x%x dscp %u frag %u icmp %u/%u len %u: verdict %u, reference %u (rule %s)",
				i, src, dst, rp.proto, rp.sport, rp.dport,
				rp.tcp_flags, rp.dscp, rp.frag, rp.icmp_type,
				rp.icmp_code, rp.len, action, want,
				ref >= 0 ? fl_rule_format(&rules[ref], text,
							  sizeof(text)) :
					   "none");
		}
	}
	/* Every rule counted exactly the packets the reference gave it. */
	for (i = 0; i < n; i++) {
		struct fl_rule_stats st;
		char text[FL_RULE_STRLEN];

		if (!ASSERT_OK(fl_ruleset_get(rs, rules[i].id, NULL, &st),
			       "stats"))
			break;
		if (st.packets != tally[i]) {
			test__fail(
				__FILE__, __LINE__,
				"rule %u (%s): engine counted %llu packets, reference %llu",
				rules[i].id,
				fl_rule_format(&rules[i], text, sizeof(text)),
				(unsigned long long)st.packets,
				(unsigned long long)tally[i]);
			break;
		}
	}
out:
	fl_ruleset_free(rs);
	fl_fixture_close(&fx);
	free(rules);
	free(tally);
}

void test_rule_engine_diff(void)
{
	static const struct diff_round rounds[] = {
		{ 1, 6, 400, 1500 },
		{ 7, 12, 1500, 2500 },
		{ 42, 14, 3000, 3000 },
	};
	int hits = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rounds); i++) {
		test__case("seed %llu", (unsigned long long)rounds[i].seed);
		diff_round(&rounds[i], &hits);
	}
	/* A test that agrees because nothing ever matched proves nothing. */
	ASSERT_GT(hits, 1000, "packets a rule matched");
}

/* ---- limits ------------------------------------------------------------- */

void test_rule_engine_limits(void)
{
	struct fl_fixture fx = {};
	struct fl_ruleset *rs = NULL;
	struct fl_ruleset_shape shapes[FL_RULE_SHAPES_MAX];
	struct fl_rule batch[3];
	char text[128], err[256];
	size_t bad;
	int i, ret;

	if (!ASSERT_OK(fl_fixture_open(&fx), "fixture") ||
	    !ASSERT_OK(open_rs(&fx, &rs), "ruleset"))
		goto out;
	/* 32 IPv4 shapes: src /1 .. /32 */
	for (i = 1; i <= FL_RULE_SHAPES_MAX; i++) {
		struct in_addr a = { htonl(0xc6336407U & (~0U << (32 - i))) };

		snprintf(text, sizeof(text), "src %s/%d action drop",
			 inet_ntoa(a), i);
		if (!ASSERT_OK(add_text(rs, text, NULL), text))
			goto out;
	}
	ASSERT_EQ(fl_ruleset_shapes(rs, 4, shapes, FL_RULE_SHAPES_MAX),
		  FL_RULE_SHAPES_MAX, "IPv4 shapes");

	/* A batch whose last rule would be shape 33: refused whole. */
	if (!rule_of("order 1 src 198.51.100.9/32 action permit", &batch[0]) ||
	    !rule_of("order 1 src 203.0.113.1/32 action permit", &batch[1]) ||
	    !rule_of("dst 192.0.2.1/32 action drop", &batch[2]))
		goto out;
	ret = fl_ruleset_add(rs, batch, 3, &bad, err, sizeof(err));
	ASSERT_EQ(ret, -ENOSPC, "shape 33");
	ASSERT_EQ(bad, 2, "the rule at fault");
	ASSERT_TRUE(strstr(err, "at most 32 shapes"), err);
	ASSERT_EQ(fl_ruleset_count(rs), FL_RULE_SHAPES_MAX,
		  "nothing of the batch added");
	{
		/* 203.0.113.1 is in src 192.0.0.0/4 (drop); the refused
		 * batch would have permitted it */
		struct pkt_spec s = { .l3 = PKT_IPV4,
				      .l4 = PKT_UDP,
				      .src = "203.0.113.1" };

		ASSERT_EQ(run_spec(&fx, &s), XDP_DROP,
			  "refused batch's permit absent");
	}
	/* IPv6 has shapes of its own. */
	ASSERT_OK(add_text(rs, "dst 2001:db8::/32 action drop", NULL),
		  "an IPv6 shape still fits");
	ASSERT_OK(fl_ruleset_flush(rs), "flush");
	ASSERT_EQ(fl_ruleset_shapes(rs, 4, shapes, FL_RULE_SHAPES_MAX), 0,
		  "no shapes after flush");

	/* Five rules on one key of one shape: the fifth is refused. */
	for (i = 0; i < FL_RULE_CHAIN_MAX; i++) {
		snprintf(text, sizeof(text),
			 "dst 198.51.100.7/32 dport %d-%d action drop",
			 1001 + 10 * i, 1004 + 10 * i);
		if (!ASSERT_OK(add_text(rs, text, NULL), text))
			goto out;
	}
	if (!rule_of("dst 198.51.100.7/32 dport 2001-2004 action drop",
		     &batch[0]))
		goto out;
	ret = fl_ruleset_add(rs, batch, 1, &bad, err, sizeof(err));
	ASSERT_EQ(ret, -ENOSPC, "fifth rule on one key");
	ASSERT_TRUE(strstr(err, "share one key"), err);
out:
	fl_ruleset_free(rs);
	fl_fixture_close(&fx);
}

/* ---- rate-limit --------------------------------------------------------- */

static int count_passed(struct fl_fixture *fx, const struct pkt_spec *s, int n)
{
	int i, passed = 0;

	for (i = 0; i < n; i++)
		passed += run_spec(fx, s) == XDP_PASS;
	return passed;
}

void test_rule_engine_rate(void)
{
	struct pkt_spec s = { .l3 = PKT_IPV4,
			      .l4 = PKT_UDP,
			      .dst = "198.51.100.9",
			      .payload_len = 72 };
	struct fl_fixture fx = {};
	struct fl_ruleset *rs = NULL;
	struct fl_rule_stats st;
	__u32 id;

	if (!ASSERT_OK(fl_fixture_open(&fx), "fixture") ||
	    !ASSERT_OK(open_rs(&fx, &rs), "ruleset"))
		goto out;
	/* 1 packet per second, 5 in a burst: in the few milliseconds this
	 * takes, exactly 5 of 20 pass. */
	if (!ASSERT_OK(
		    add_text(
			    rs,
			    "dst 198.51.100.9/32 action rate-limit 1pps burst 5",
			    &id),
		    "pps rule"))
		goto out;
	ASSERT_EQ(count_passed(&fx, &s, 20), 5, "pps: the burst passes");
	ASSERT_OK(fl_ruleset_get(rs, id, NULL, &st), "stats");
	ASSERT_EQ(st.packets, 20, "pps: matched");
	ASSERT_EQ(st.dropped, 15, "pps: dropped");

	/* 80 kbit/s, burst 12000 bits = 1500 bytes: 100-byte datagrams
	 * (20 IP + 8 UDP + 72) cost 800 bits, so 15 pass. */
	ASSERT_OK(fl_ruleset_flush(rs), "flush");
	if (!ASSERT_OK(
		    add_text(
			    rs,
			    "dst 198.51.100.9/32 action rate-limit 80000bps burst 12000",
			    &id),
		    "bps rule"))
		goto out;
	ASSERT_EQ(count_passed(&fx, &s, 40), 15, "bps: the burst passes");
	/* Another rule's bucket is its own. */
	if (!ASSERT_OK(
		    add_text(
			    rs,
			    "dst 198.51.100.10/32 action rate-limit 1pps burst 2",
			    NULL),
		    "second rule"))
		goto out;
	s.dst = "198.51.100.10";
	ASSERT_EQ(count_passed(&fx, &s, 10), 2, "second bucket");
out:
	fl_ruleset_free(rs);
	fl_fixture_close(&fx);
}

/* ---- DSCP marks --------------------------------------------------------- */

/* The frame as the program left it, and its action. */
static int run_out(struct fl_fixture *fx, const struct pkt *p, struct pkt *out,
		   __u32 *action)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->data,
		    .data_size_in = p->len, .data_out = out->data,
		    .data_size_out = sizeof(out->data), .repeat = 1);
	int ret = bpf_prog_test_run_opts(fx->prog_fd, &o);

	out->len = o.data_size_out;
	*action = o.retval;
	return ret;
}

static __u16 ip4_csum(const __u8 *ip)
{
	__u32 sum = 0;
	int i;

	for (i = 0; i < 20; i += 2)
		sum += (ip[i] << 8) | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

void test_rule_engine_mark(void)
{
	struct pkt_spec s4 = { .l3 = PKT_IPV4,
			       .l4 = PKT_UDP,
			       .dst = "198.51.100.20",
			       .ip4 = { .tos = 0x03 } }; /* ECN CE */
	struct pkt_spec s6 = { .l3 = PKT_IPV6,
			       .l4 = PKT_TCP,
			       .dst = "2001:db8::20",
			       .ip6 = { .tclass = 0x01 } };
	struct fl_fixture fx = {};
	struct fl_ruleset *rs = NULL;
	struct pkt p, out;
	__u32 action;
	__u8 tc;

	if (!ASSERT_OK(fl_fixture_open(&fx), "fixture") ||
	    !ASSERT_OK(open_rs(&fx, &rs), "ruleset") ||
	    !ASSERT_OK(add_text(rs, "dst 198.51.100.20/32 action mark 46",
				NULL),
		       "mark rule") ||
	    !ASSERT_OK(add_text(rs,
				"dst 2001:db8::20/128 action rate-limit 1pps burst 1 mark 10",
				NULL),
		       "rate-limit with mark"))
		goto out;
	if (!ASSERT_OK(pkt_build(&s4, &p), "build v4"))
		goto out;
	pkt_ip4_csum(&p);
	if (!ASSERT_OK(run_out(&fx, &p, &out, &action), "run v4"))
		goto out;
	ASSERT_EQ(action, XDP_PASS, "v4 passes");
	ASSERT_EQ(out.data[p.l3_off + 1], (46 << 2) | 3, "v4 DSCP 46, ECN kept");
	if (!ASSERT_EQ(ip4_csum(out.data + p.l3_off), 0xffff, "v4 checksum"))
		test__log("check in %02x%02x out %02x%02x", p.data[p.l3_off + 10],
			  p.data[p.l3_off + 11], out.data[p.l3_off + 10],
			  out.data[p.l3_off + 11]);
	ASSERT_EQ(p.data[p.l3_off + 1], 3, "input was DSCP 0");

	if (!ASSERT_OK(pkt_build(&s6, &p), "build v6") ||
	    !ASSERT_OK(run_out(&fx, &p, &out, &action), "run v6"))
		goto out;
	ASSERT_EQ(action, XDP_PASS, "v6 conforms");
	tc = (out.data[p.l3_off] & 0x0f) << 4 | out.data[p.l3_off + 1] >> 4;
	ASSERT_EQ(tc, (10 << 2) | 1, "v6 DSCP 10, ECN kept");
	ASSERT_EQ(out.data[p.l3_off] >> 4, 6, "v6 version kept");
	/* over the rate: dropped, nothing to mark */
	ASSERT_OK(run_out(&fx, &p, &out, &action), "run v6 again");
	ASSERT_EQ(action, XDP_DROP, "v6 over the rate");
out:
	fl_ruleset_free(rs);
	fl_fixture_close(&fx);
}

/* ---- expiry ------------------------------------------------------------- */

void test_rule_engine_expiry(void)
{
	struct pkt_spec s = { .l3 = PKT_IPV6,
			      .l4 = PKT_UDP,
			      .dst = "2001:db8::9" };
	struct fl_fixture fx = {};
	struct fl_ruleset *rs = NULL;

	if (!ASSERT_OK(fl_fixture_open(&fx), "fixture") ||
	    !ASSERT_OK(open_rs(&fx, &rs), "ruleset"))
		goto out;
	if (!ASSERT_OK(add_text(rs, "dst 2001:db8::/64 action drop expires 1",
				NULL),
		       "rule") ||
	    !ASSERT_OK(add_text(rs, "dst 2001:db8::/48 order 2000 action drop",
				NULL),
		       "rule that stays"))
		goto out;
	s.dst = "2001:db8::9";
	ASSERT_EQ(run_spec(&fx, &s), XDP_DROP, "before expiry");
	s.dst = "2001:db8:0:1::9";
	ASSERT_EQ(run_spec(&fx, &s), XDP_DROP, "the other rule");
	usleep(1300 * 1000);
	/* The datapath stops matching by itself, before any cleanup... */
	ASSERT_EQ(fl_ruleset_count(rs), 2, "not yet deleted");
	s.dst = "2001:db8::9";
	ASSERT_EQ(run_spec(&fx, &s), XDP_DROP,
		  "the /48 rule takes over (order 2000)");
	ASSERT_EQ(fl_ruleset_expire(rs, fl_ruleset_now(), NULL, NULL), 1,
		  "expire deletes one");
	ASSERT_EQ(fl_ruleset_count(rs), 1, "one left");
	ASSERT_OK(fl_ruleset_flush(rs), "flush");
	ASSERT_EQ(run_spec(&fx, &s), XDP_PASS, "after flush");
out:
	fl_ruleset_free(rs);
	fl_fixture_close(&fx);
}

/* ---- recover ------------------------------------------------------------ */

static const char *const recover_rules[] = {
	"dst 198.51.100.0/24 proto udp dport 1000-2000 action drop",
	"order 10 src 192.0.2.0/28 proto udp dport 1500 action permit",
	"dst 198.51.100.9/32 action rate-limit 1pps burst 3",
	"dst 2001:db8::/48 proto tcp tcp-flags syn/syn,ack action drop",
	"order 5 proto udp sport 53 len 512-1500 action drop",
	"frag non-first action drop",
	"dst 2001:db8:2::/64 icmp-type 128 action drop expires 3600",
};

void test_rule_engine_recover(void)
{
	struct fl_ruleset_shape before4[FL_RULE_SHAPES_MAX],
		after4[FL_RULE_SHAPES_MAX];
	struct pkt_spec v4 = { .l3 = PKT_IPV4,
			       .l4 = PKT_UDP,
			       .dst = "198.51.100.7",
			       .udp.dport = 1200 };
	struct pkt_spec v6 = { .l3 = PKT_IPV6,
			       .l4 = PKT_TCP,
			       .dst = "2001:db8::5",
			       .tcp.flags = PKT_TCP_SYN };
	__u32 ids[ARRAY_SIZE(recover_rules)];
	struct fl_fixture fx = {};
	struct fl_ruleset *rs = NULL;
	struct fl_rule_def a, b;
	struct fl_rule_stats st;
	int n4, i;

	if (!ASSERT_OK(fl_fixture_open(&fx), "fixture") ||
	    !ASSERT_OK(open_rs(&fx, &rs), "ruleset"))
		goto out;
	for (i = 0; i < (int)ARRAY_SIZE(recover_rules); i++)
		if (!ASSERT_OK(add_text(rs, recover_rules[i], &ids[i]),
			       recover_rules[i]))
			goto out;
	ASSERT_EQ(run_spec(&fx, &v4), XDP_DROP, "v4 before");
	ASSERT_EQ(run_spec(&fx, &v6), XDP_DROP, "v6 before");
	n4 = fl_ruleset_shapes(rs, 4, before4, FL_RULE_SHAPES_MAX);

	/* The owner goes away (flowlensd restarts); the maps stay. */
	fl_ruleset_free(rs);
	rs = NULL;
	ASSERT_EQ(run_spec(&fx, &v4), XDP_DROP, "v4 with no owner");
	if (!ASSERT_OK(open_rs(&fx, &rs), "second owner"))
		goto out;
	ASSERT_EQ(fl_ruleset_count(rs), ARRAY_SIZE(recover_rules), "count");
	for (i = 0; i < (int)ARRAY_SIZE(recover_rules); i++) {
		struct fl_rule r;

		if (!ASSERT_OK(fl_ruleset_get(rs, ids[i], &a, NULL), "get") ||
		    !rule_of(recover_rules[i], &r))
			goto out;
		r.id = ids[i];
		ASSERT_OK(memcmp(&a.rule, &r, sizeof(r)), recover_rules[i]);
	}
	/* Same shapes, same tags and slots: nothing was swapped mid-way. */
	ASSERT_EQ(fl_ruleset_shapes(rs, 4, after4, FL_RULE_SHAPES_MAX), n4,
		  "IPv4 shapes");
	for (i = 0; i < n4; i++) {
		ASSERT_EQ(after4[i].tag, before4[i].tag, "tag kept");
		ASSERT_EQ(after4[i].slot, before4[i].slot, "slot kept");
		ASSERT_EQ(after4[i].rules, before4[i].rules, "rules per shape");
	}
	ASSERT_OK(fl_ruleset_get(rs, ids[0], NULL, &st), "stats");
	ASSERT_EQ(st.packets, 2, "counter carried over");
	ASSERT_EQ(run_spec(&fx, &v4), XDP_DROP, "v4 after");
	ASSERT_EQ(run_spec(&fx, &v6), XDP_DROP, "v6 after");
	/* The rate-limit bucket is the same bucket: 2 of 3 used before. */
	v4.dst = "198.51.100.9";
	v4.udp.dport = 9;
	ASSERT_EQ(count_passed(&fx, &v4, 5), 3, "bucket");
	/* The new owner changes things normally; new ids do not collide. */
	ASSERT_OK(fl_ruleset_del(rs, ids[0]), "del");
	v4.dst = "198.51.100.7";
	v4.udp.dport = 1200;
	ASSERT_EQ(run_spec(&fx, &v4), XDP_PASS, "deleted by the new owner");
	{
		__u32 id;

		if (ASSERT_OK(add_text(rs, "dst 198.51.100.7 action drop", &id),
			      "add"))
			for (i = 0; i < (int)ARRAY_SIZE(ids); i++)
				ASSERT_NEQ(id, ids[i], "fresh id");
	}
	ASSERT_EQ(fl_ruleset_get(rs, ids[0], &b, NULL), -ENOENT, "gone");

	/* After a flush, a third owner finds nothing to recover. */
	ASSERT_OK(fl_ruleset_flush(rs), "flush");
	fl_ruleset_free(rs);
	rs = NULL;
	if (ASSERT_OK(open_rs(&fx, &rs), "third owner"))
		ASSERT_EQ(fl_ruleset_count(rs), 0, "nothing after a flush");
out:
	fl_ruleset_free(rs);
	fl_fixture_close(&fx);
}

/* ---- churn -------------------------------------------------------------- */

struct churn {
	struct fl_fixture *fx;
	struct pkt keep, other; /* dropped by the fixed rule; matches none */
	volatile bool stop;
	long runs, wrong;
};

static void *churn_traffic(void *arg)
{
	struct churn *c = arg;
	__u32 action;

	while (!c->stop) {
		if (fl_run(c->fx, c->keep.data, c->keep.len, 1, &action) ||
		    action != XDP_DROP)
			c->wrong++;
		if (fl_run(c->fx, c->other.data, c->other.len, 1, &action) ||
		    action != XDP_PASS)
			c->wrong++;
		c->runs++;
	}
	return NULL;
}

/* Rules of many shapes, none matching either packet, all tried first. */
static void churn_rule(int k, bool big, char *buf, size_t len)
{
	switch (big ? 4 : k % 6) {
	case 0:
		snprintf(buf, len, "order %d dst 203.0.113.%d/32 action drop",
			 k % 400, k % 250);
		break;
	case 1:
		snprintf(
			buf, len,
			"order %d dst 198.51.100.0/24 proto tcp dport %d action drop",
			k % 400, 1 + k % 60000);
		break;
	case 2:
		snprintf(buf, len, "order %d src 198.18.%d.0/%d action permit",
			 k % 400, k % 250, 24 + k % 8);
		break;
	case 3:
		snprintf(buf, len,
			 "order %d dst 2001:db8:%x::/48 proto udp action drop",
			 k % 400, k % 65000);
		break;
	case 4:
		/* the fixed rule's shape; in a big round it outgrows its hash */
		snprintf(buf, len,
			 "order %d dst 198.18.%d.%d/32 proto udp action drop",
			 k % 400, k / 250 % 250, k % 250);
		break;
	default:
		snprintf(buf, len,
			 "order %d src 198.19.%d.%d len %d-1499 action drop",
			 k % 400, k / 250 % 250, k % 250, 1400 + k % 50);
		break;
	}
}

void test_rule_engine_churn(void)
{
	struct pkt_spec keep = { .l3 = PKT_IPV4,
				 .l4 = PKT_UDP,
				 .dst = "198.51.100.9",
				 .udp.dport = 9 };
	struct pkt_spec other = { .l3 = PKT_IPV4,
				  .l4 = PKT_UDP,
				  .dst = "198.51.100.10",
				  .udp.dport = 9 };
	struct churn c = {};
	struct fl_fixture fx = {};
	struct fl_ruleset *rs = NULL;
	struct fl_rule_stats st;
	pthread_t thread;
	__u32 keep_id, ids[3000];
	int round, k, n;

	if (!ASSERT_OK(fl_fixture_open(&fx), "fixture") ||
	    !ASSERT_OK(open_rs(&fx, &rs), "ruleset") ||
	    !ASSERT_OK(pkt_build(&keep, &c.keep), "build") ||
	    !ASSERT_OK(pkt_build(&other, &c.other), "build") ||
	    !ASSERT_OK(
		    add_text(
			    rs,
			    "order 500 dst 198.51.100.9/32 proto udp action drop",
			    &keep_id),
		    "fixed rule"))
		goto out;
	c.fx = &fx;
	if (!ASSERT_OK(pthread_create(&thread, NULL, churn_traffic, &c),
		       "thread"))
		goto out;
	/* The runner keeps the process on one CPU; the traffic must run
	 * beside the changes, not between them. */
	{
		int cpu = sched_getcpu(), ncpus = libbpf_num_possible_cpus();
		cpu_set_t set;

		CPU_ZERO(&set);
		for (k = 0; k < ncpus && k < CPU_SETSIZE; k++)
			if (k != cpu)
				CPU_SET(k, &set);
		if (ncpus < 2 ||
		    pthread_setaffinity_np(thread, sizeof(set), &set))
			test__log("traffic shares the CPU of the changes");
	}
	for (round = 0; round < 12; round++) {
		/* A round adds in batches (new shapes, a hash outgrowing its
		 * first size) and deletes one by one (shapes emptied). */
		struct fl_rule batch[100];
		int count = round % 3 == 2 ? 3000 : 300;

		for (n = 0; n < count; n += 100) {
			char text[256];
			size_t bad;
			char err[256];

			for (k = 0; k < 100; k++) {
				churn_rule(round * 7 + n + k, count > 300, text,
					   sizeof(text));
				if (!rule_of(text, &batch[k]))
					goto stop;
			}
			if (!ASSERT_OK(fl_ruleset_add(rs, batch, 100, &bad, err,
						      sizeof(err)),
				       "churn add")) {
				test__log("round %d, rule %zu: %s: %s", round,
					  bad,
					  fl_rule_format(&batch[bad], text,
							 sizeof(text)),
					  err);
				goto stop;
			}
			for (k = 0; k < 100; k++)
				ids[n + k] = batch[k].id;
		}
		for (n = 0; n < count; n++)
			if (!ASSERT_OK(fl_ruleset_del(rs, ids[n]), "churn del"))
				goto stop;
	}
stop:
	c.stop = true;
	pthread_join(thread, NULL);
	test__log("%ld rounds of traffic during the churn", c.runs);
	ASSERT_EQ(c.wrong, 0, "packets with the wrong verdict");
	ASSERT_GT(c.runs, 100, "traffic ran alongside");
	ASSERT_EQ(fl_ruleset_count(rs), 1, "only the fixed rule left");
	ASSERT_OK(fl_ruleset_get(rs, keep_id, NULL, &st), "stats");
	ASSERT_EQ(st.packets, c.runs, "the fixed rule saw every packet");
out:
	fl_ruleset_free(rs);
	fl_fixture_close(&fx);
}
