// SPDX-License-Identifier: Apache-2.0
/*
 * The rule grammar (user/lib/rule.c): every form parses to the canonical
 * text, which parses back to the same rule; every mistake is refused with
 * a message naming the word at fault. And the reference matcher, on a
 * table of packets, field by field: it is what the XDP engine will be held
 * to, so it must be right on its own.
 */
#include <string.h>
#include <sys/socket.h>

#include "prefix.h"
#include "rule.h"
#include "test_progs.h"

static const struct {
	const char *in, *canonical;
} good[] = {
	{ "dst 198.51.100.0/24 proto udp dport 1000-2000 action drop",
	  "order 100 dst 198.51.100.0/24 proto udp dport 1000-2000 action drop" },
	{ "order 5 src 2001:db8::/32 action permit",
	  "order 5 src 2001:db8::/32 action permit" },
	{ "proto tcp tcp-flags syn/syn,ack action rate-limit 10k",
	  "order 100 proto tcp tcp-flags syn/syn,ack action rate-limit 10000pps burst 1000" },
	{ "proto tcp tcp-flags 0x02/0x12 action rate-limit 100Mbps burst 1M",
	  "order 100 proto tcp tcp-flags syn/syn,ack action rate-limit 100000000bps burst 1000000" },
	{ "len 1400-1500 frag non-first action drop expires 60",
	  "order 100 len 1400-1500 frag non-first action drop expires 60" },
	{ "icmp-type 8 code 0 src 192.0.2.7 action drop",
	  "order 100 src 192.0.2.7/32 icmp-type 8 code 0 action drop" },
	{ "dscp 46 sport 53 proto 17 action permit",
	  "order 100 proto udp sport 53 dscp 46 action permit" },
	{ "proto 99 frag any action drop",
	  "order 100 proto 99 frag any action drop" },
	{ "tcp-flags 0/rst action drop",
	  "order 100 tcp-flags 0/rst action drop" },
	{ "dst 198.51.100.0/24 action mark 46",
	  "order 100 dst 198.51.100.0/24 action mark 46" },
	{ "proto udp action rate-limit 1M mark 10 flowspec 192.0.2.1 route 7",
	  "order 100 proto udp action rate-limit 1000000pps burst 100000 mark 10 flowspec 192.0.2.1 route 7" },
	{ "dst 2001:db8::/64 action permit mark 0 flowspec 2001:db8::1",
	  "order 100 dst 2001:db8::/64 action permit mark 0 flowspec 2001:db8::1" },
};

static const struct {
	const char *in, *error;
} bad[] = {
	{ "dst 198.51.100.0/24", "no action" },
	{ "dst 198.51.100.0/24 action drop mark 3", "'mark' follows" },
	{ "dst 198.51.100.0/24 action mark 64", "bad mark '64'" },
	{ "dst 198.51.100.0/24 action permit mark 1 mark 2",
	  "'mark' given twice" },
	{ "dst 198.51.100.0/24 action drop flowspec 192.0.2.0/24",
	  "bad flowspec peer" },
	{ "dst 198.51.100.0/24 action drop flowspec 192.0.2.1 route 0",
	  "bad route '0'" },
	{ "action drop", "matches nothing in particular" },
	{ "dst 198.51.100.1/24 action drop", "bad dst '198.51.100.1/24'" },
	{ "src 192.0.2.0/24 dst 2001:db8::/32 action drop",
	  "is IPv6, but the rule's other prefix is IPv4" },
	{ "dport 2000-1000 action drop", "bad dport '2000-1000'" },
	{ "dport 65536 action drop", "bad dport '65536'" },
	{ "proto icmp dport 80 action drop", "ports need proto tcp or udp" },
	{ "proto udp tcp-flags syn/syn action drop",
	  "tcp-flags need proto tcp" },
	{ "tcp-flags syn,ack/syn action drop", "bad tcp-flags 'syn,ack/syn'" },
	{ "tcp-flags syn action drop", "bad tcp-flags 'syn'" },
	{ "proto nope action drop", "bad proto 'nope'" },
	{ "dscp 64 action drop", "bad dscp '64'" },
	{ "frag maybe action drop", "bad frag 'maybe'" },
	{ "len 0-100 action drop", "bad len '0-100'" },
	{ "code 3 action drop", "'code' must follow icmp-type" },
	{ "proto tcp icmp-type 8 action drop", "icmp-type needs proto icmp" },
	{ "src 2001:db8::/32 proto icmp icmp-type 128 action drop",
	  "proto icmp does not go with IPv6" },
	{ "dst 198.51.100.0/24 action block", "bad action 'block'" },
	{ "dst 198.51.100.0/24 action rate-limit 0", "bad rate '0'" },
	{ "dst 198.51.100.0/24 action rate-limit",
	  "'rate-limit' needs a rate" },
	{ "dst 198.51.100.0/24 action drop burst 10",
	  "'burst' goes with 'rate-limit' only" },
	{ "dst 198.51.100.0/24 action drop dport 80",
	  "'dport' after the action" },
	{ "dst 198.51.100.0/24 dst 198.51.100.0/24 action drop",
	  "'dst' given twice" },
	{ "dst 198.51.100.0/24 action drop expires 0", "bad expires '0'" },
	{ "dst 198.51.100.0/24 action drop expires",
	  "'expires' needs seconds" },
	{ "order -1 dst 198.51.100.0/24 action drop", "bad order '-1'" },
	{ "dest 198.51.100.0/24 action drop", "unknown word 'dest'" },
};

static int parse_text(const char *text, struct fl_rule *rule, char *err,
		      size_t errlen)
{
	char line[512];

	snprintf(line, sizeof(line), "%s", text);
	return fl_rule_parse_line(line, 100, rule, err, errlen);
}

static void grammar(void)
{
	char err[256], out[FL_RULE_STRLEN], again[FL_RULE_STRLEN];
	struct fl_rule rule, back;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		test__case("parse: %s", good[i].in);
		if (!ASSERT_OK(parse_text(good[i].in, &rule, err, sizeof(err)),
			       "parse")) {
			test__log("  error: %s\n", err);
			continue;
		}
		ASSERT_STREQ(fl_rule_format(&rule, out, sizeof(out)),
			     good[i].canonical, "canonical text");
		if (!ASSERT_OK(parse_text(out, &back, err, sizeof(err)),
			       "canonical text parses"))
			continue;
		ASSERT_EQ(memcmp(&rule, &back, sizeof(rule)), 0,
			  "round trip gives the same rule");
		ASSERT_STREQ(fl_rule_format(&back, again, sizeof(again)), out,
			     "and the same text");
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		test__case("refuse: %s", bad[i].in);
		err[0] = '\0';
		if (!ASSERT_ERR(parse_text(bad[i].in, &rule, err, sizeof(err)),
				"refused"))
			continue;
		if (!ASSERT_TRUE(strstr(err, bad[i].error) != NULL,
				 "message names the problem"))
			test__log("  got: %s\n  want: %s\n", err, bad[i].error);
	}
	test__case("blank and comment lines");
	{
		char line[] = "   # nothing here";

		ASSERT_EQ(fl_rule_parse_line(line, 1, &rule, err, sizeof(err)),
			  -ENODATA, "comment only");
	}
}

static struct fl_rule_packet udp4(const char *src, const char *dst, __u16 sport,
				  __u16 dport)
{
	struct fl_rule_packet p = { .family = 4,
				    .proto = 17,
				    .has_ports = 1,
				    .frag = FL_RULE_FRAG_NONE,
				    .len = 100,
				    .sport = sport,
				    .dport = dport };
	struct fl_prefix a;
	char err[64];

	fl_prefix_parse(src, &a, err, sizeof(err));
	p.src = a.addr;
	fl_prefix_parse(dst, &a, err, sizeof(err));
	p.dst = a.addr;
	return p;
}

static void matcher(void)
{
	static const char *const texts[] = {
		"order 10 dst 198.51.100.0/24 proto udp dport 1000-2000 action drop",
		"order 5 src 192.0.2.66 action permit",
		"order 20 dst 198.51.100.128/25 action rate-limit 1k",
		"order 1 proto tcp tcp-flags syn/syn,ack action drop",
		"order 30 frag non-first action drop",
		"order 2 icmp-type 8 action drop",
		"order 40 len 1000-1500 action drop",
		"order 50 dscp 46 action permit",
		"order 3 src 2001:db8:1::/48 action drop",
	};
	struct fl_rule rules[ARRAY_SIZE(texts)];
	struct fl_rule_packet p;
	char err[256];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(texts); i++)
		if (!ASSERT_OK(parse_text(texts[i], &rules[i], err,
					  sizeof(err)),
			       "parse matcher rule"))
			return;

	test__case("match: udp port range, lowest order wins");
	p = udp4("192.0.2.2", "198.51.100.200", 4000, 1500);
	ASSERT_EQ(fl_rule_lookup_ref(rules, ARRAY_SIZE(rules), &p), 0,
		  "order 10 beats order 20");
	p.dport = 2001;
	ASSERT_EQ(fl_rule_lookup_ref(rules, ARRAY_SIZE(rules), &p), 2,
		  "outside the range: the /25 rate limit");
	p.dport = 2000;
	ASSERT_EQ(fl_rule_lookup_ref(rules, ARRAY_SIZE(rules), &p), 0,
		  "range end is inclusive");
	p = udp4("192.0.2.66", "198.51.100.200", 4000, 1500);
	ASSERT_EQ(fl_rule_lookup_ref(rules, ARRAY_SIZE(rules), &p), 1,
		  "permitted source, order 5");

	test__case("match: nothing");
	p = udp4("192.0.2.2", "198.51.100.2", 4000, 80);
	ASSERT_EQ(fl_rule_lookup_ref(rules, ARRAY_SIZE(rules), &p), -1,
		  "no rule");

	test__case("match: tcp flags");
	p = udp4("192.0.2.2", "203.0.113.1", 4000, 80);
	p.proto = 6;
	p.is_tcp = 1;
	p.tcp_flags = 0x02;
	ASSERT_EQ(fl_rule_lookup_ref(rules, ARRAY_SIZE(rules), &p), 3, "SYN");
	p.tcp_flags = 0x12;
	ASSERT_EQ(fl_rule_lookup_ref(rules, ARRAY_SIZE(rules), &p), -1,
		  "SYN-ACK is not under syn/syn,ack");

	test__case("match: later fragment has no ports");
	p = udp4("192.0.2.2", "198.51.100.200", 4000, 1500);
	p.has_ports = 0;
	p.frag = FL_RULE_FRAG_LATER;
	ASSERT_EQ(fl_rule_lookup_ref(rules, ARRAY_SIZE(rules), &p), 2,
		  "port rule skipped, /25 at order 20 before frag at 30");
	p.dst.w[0] = 0;
	ASSERT_EQ(fl_rule_lookup_ref(rules, ARRAY_SIZE(rules), &p), 4,
		  "elsewhere: the fragment rule");

	test__case("match: icmp, length, dscp, family");
	p = udp4("192.0.2.2", "203.0.113.1", 0, 0);
	p.proto = 1;
	p.has_ports = 0;
	p.is_icmp = 1;
	p.icmp_type = 8;
	ASSERT_EQ(fl_rule_lookup_ref(rules, ARRAY_SIZE(rules), &p), 5,
		  "echo request");
	p.icmp_type = 0;
	p.len = 1000;
	ASSERT_EQ(fl_rule_lookup_ref(rules, ARRAY_SIZE(rules), &p), 6,
		  "length 1000 in 1000-1500");
	p.len = 999;
	p.dscp = 46;
	ASSERT_EQ(fl_rule_lookup_ref(rules, ARRAY_SIZE(rules), &p), 7, "dscp");
	p.family = 6;
	p.src.b[0] = 0x20, p.src.b[1] = 0x01, p.src.b[2] = 0x0d,
	p.src.b[3] = 0xb8, p.src.b[4] = 0, p.src.b[5] = 1;
	ASSERT_EQ(
		fl_rule_lookup_ref(rules, ARRAY_SIZE(rules), &p), 8,
		"an IPv6 source in 2001:db8:1::/48 (rules without addresses match both families)");
	p.src.b[5] = 2;
	ASSERT_EQ(fl_rule_lookup_ref(rules, ARRAY_SIZE(rules), &p), 7,
		  "outside it, the family-less dscp rule");
}

void test_rule_text(void)
{
	grammar();
	matcher();
}
