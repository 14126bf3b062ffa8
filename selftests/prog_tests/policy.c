// SPDX-License-Identifier: Apache-2.0
/*
 * fl_config.malformed_policy: FL_MALFORMED_DROP drops what does not parse,
 * and counts it in verdict[XDP_DROP]; valid packets still pass; back at
 * FL_MALFORMED_PASS (or any value the program does not know) it passes all.
 */
#include <netinet/in.h>
#include <linux/if_ether.h>

#include "pkt.h"
#include "test_progs.h"

struct policy_case {
	const char *name;
	struct pkt_spec pkt;
	int err;
	__u32 kinds;
};

static const struct policy_case cases[] = {
	{
		"ipv4 tcp syn",
		{ .l3 = PKT_IPV4, .l4 = PKT_TCP, .tcp.flags = PKT_TCP_SYN },
		FL_PARSE_OK,
		KIND(ipv4) | KIND(tcp) | KIND(tcp_syn),
	},
	{
		"qinq ipv6 udp",
		{ .vlan.count = 2, .l3 = PKT_IPV6, .l4 = PKT_UDP },
		FL_PARSE_OK,
		KIND(vlan) | KIND(qinq) | KIND(ipv6) | KIND(udp),
	},
	{
		"arp",
		{ .l3 = PKT_ARP },
		FL_PARSE_OK,
		KIND(non_ip),
	},
	{
		"ethernet cut at 10 bytes",
		{ .l3 = PKT_IPV4, .truncate = PKT_SET(10) },
		FL_PERR_ETH_TRUNC,
		KIND(malformed),
	},
	{
		"three vlan tags",
		{ .vlan.count = 3, .l3 = PKT_IPV4, .l4 = PKT_UDP },
		FL_PERR_VLAN_DEPTH,
		KIND(vlan) | KIND(qinq) | KIND(malformed),
	},
	{
		"ipv4 tot_len past the frame",
		{ .l3 = PKT_IPV4, .l4 = PKT_UDP, .ip4.tot_len = PKT_SET(1000) },
		FL_PERR_IP4_TOTLEN,
		KIND(malformed),
	},
	{
		"ipv6 nine extension headers",
		{ .l3 = PKT_IPV6,
		  .ip6.nr_ext = 9,
		  .ip6.ext = { PKT_EXT(DSTOPTS), PKT_EXT(DSTOPTS),
			       PKT_EXT(DSTOPTS), PKT_EXT(DSTOPTS),
			       PKT_EXT(DSTOPTS), PKT_EXT(DSTOPTS),
			       PKT_EXT(DSTOPTS), PKT_EXT(DSTOPTS),
			       PKT_EXT(DSTOPTS) } },
		FL_PERR_IP6_EXT_DEPTH,
		KIND(ipv6) | KIND(ipv6_ext) | KIND(malformed),
	},
	{
		"ipv4 tcp doff 4 (valid ip header)",
		{ .l3 = PKT_IPV4, .l4 = PKT_TCP, .tcp.doff = PKT_SET(4) },
		FL_PERR_TCP_DOFF,
		KIND(ipv4) | KIND(malformed),
	},
	{
		"ipv6 udp length past the payload",
		{ .l3 = PKT_IPV6, .l4 = PKT_UDP, .udp.len = PKT_SET(100) },
		FL_PERR_UDP_LEN,
		KIND(ipv6) | KIND(malformed),
	},
	{
		"ipv4 icmp cut at 2 bytes",
		{ .l3 = PKT_IPV4, .l4 = PKT_ICMP, .l4_bytes = PKT_SET(2) },
		FL_PERR_ICMP_TRUNC,
		KIND(ipv4) | KIND(malformed),
	},
};

static void run_cases(struct fl_fixture *fx, const char *policy,
		      __u32 malformed_action)
{
	struct pkt p;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct policy_case *c = &cases[i];

		test__case("%s: %s", policy, c->name);
		if (!ASSERT_OK(pkt_build(&c->pkt, &p), "build"))
			continue;
		fl_run_check(fx, p.data, p.len,
			     c->err ? malformed_action : XDP_PASS, c->kinds,
			     c->err);
	}
}

/* Every cut of a valid frame is malformed, so every one but the last
 * (the whole frame) is dropped. */
static void drop_sweep(struct fl_fixture *fx)
{
	struct pkt_spec spec = { .vlan.count = 1,
				 .l3 = PKT_IPV4,
				 .l4 = PKT_TCP,
				 .payload_len = 10 };
	struct fl_if_stats before, after;
	__u32 cut, action;
	struct pkt p;

	if (!ASSERT_OK(pkt_build(&spec, &p), "build") ||
	    !ASSERT_OK(fl_if_stats_read(fx, &before), "read stats"))
		return;
	for (cut = ETH_HLEN; cut <= p.len; cut++) {
		test__case("drop: cut at %u of %u bytes", cut, p.len);
		if (!ASSERT_OK(fl_run(fx, p.data, cut, 1, &action), "run") ||
		    !ASSERT_EQ(action, cut < p.len ? XDP_DROP : XDP_PASS,
			       "action"))
			return;
	}
	test__case("drop: sweep totals");
	if (!ASSERT_OK(fl_if_stats_read(fx, &after), "read stats"))
		return;
	ASSERT_EQ(after.verdict[XDP_DROP] - before.verdict[XDP_DROP],
		  p.len - ETH_HLEN, "verdict[XDP_DROP]");
	ASSERT_EQ(after.verdict[XDP_PASS] - before.verdict[XDP_PASS], 1,
		  "verdict[XDP_PASS]");
	ASSERT_EQ(after.kind.malformed - before.kind.malformed,
		  p.len - ETH_HLEN, "kind.malformed");
}

void test_policy(void)
{
	struct fl_config cfg = {};
	struct fl_fixture fx;

	if (!ASSERT_OK(fl_fixture_open(&fx), "fixture open"))
		return;

	test__case("no config written");
	run_cases(&fx, "unset", XDP_PASS);

	cfg.malformed_policy = FL_MALFORMED_DROP;
	if (!ASSERT_OK(fl_config_write(&fx, &cfg), "config drop"))
		goto out;
	run_cases(&fx, "drop", XDP_DROP);
	drop_sweep(&fx);

	cfg.malformed_policy = FL_MALFORMED_PASS;
	if (!ASSERT_OK(fl_config_write(&fx, &cfg), "config pass"))
		goto out;
	run_cases(&fx, "pass", XDP_PASS);

	/* A value this program does not know fails open. */
	cfg.malformed_policy = FL_MALFORMED_DROP + 1;
	if (!ASSERT_OK(fl_config_write(&fx, &cfg), "config unknown"))
		goto out;
	run_cases(&fx, "unknown policy", XDP_PASS);
out:
	fl_fixture_close(&fx);
}
