// SPDX-License-Identifier: Apache-2.0
/*
 * IPv6 extension headers that lie beyond payload_len, in the Ethernet
 * padding. parse.h promises that padding is never read as a header; the
 * L4 parsers keep that promise (malformed.c), and so must the extension
 * header walk: such a packet is IP6_EXT_TRUNC, and nothing found in the
 * padding (a fragment header, more extension headers) may be counted.
 */
#include <netinet/in.h>

#include "pkt.h"
#include "test_progs.h"

struct padding_case {
	const char *name;
	struct pkt_spec pkt;
	int err;
	__u32 kinds;
};

static const struct padding_case cases[] = {
	{
		"dstopts header beyond payload_len 4",
		{ .l3 = PKT_IPV6,
		  .ip6 = { .nr_ext = 1,
			   .ext = { PKT_EXT(DSTOPTS) },
			   .payload_len = PKT_SET(4) } },
		FL_PERR_IP6_EXT_TRUNC,
		KIND(ipv6) | KIND(malformed),
	},
	{
		"payload_len 0, a non-first fragment header in the padding",
		{ .l3 = PKT_IPV6,
		  .ip6 = { .nr_ext = 1,
			   .ext = { PKT_EXT(FRAGMENT,
					    .frag_off = PKT_IP6_FRAG(8, 0)) },
			   .payload_len = PKT_SET(0) },
		  .proto = PKT_SET(IPPROTO_TCP),
		  .payload_len = 16 },
		FL_PERR_IP6_EXT_TRUNC,
		KIND(ipv6) | KIND(malformed),
	},
	{
		"hop-by-hop inside payload_len, eight more headers in the padding",
		{ .l3 = PKT_IPV6,
		  .ip6 = { .nr_ext = 9,
			   .ext = { PKT_EXT(HOPOPTS), PKT_EXT(DSTOPTS),
				    PKT_EXT(DSTOPTS), PKT_EXT(DSTOPTS),
				    PKT_EXT(DSTOPTS), PKT_EXT(DSTOPTS),
				    PKT_EXT(DSTOPTS), PKT_EXT(DSTOPTS),
				    PKT_EXT(DSTOPTS) },
			   .payload_len = PKT_SET(8) } },
		FL_PERR_IP6_EXT_TRUNC,
		KIND(ipv6) | KIND(ipv6_ext) | KIND(malformed),
	},
};

void test_ipv6_ext_padding(void)
{
	struct fl_fixture fx;
	struct pkt p;
	size_t i;

	if (!ASSERT_OK(fl_fixture_open(&fx), "fixture open"))
		return;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		test__case("%s", cases[i].name);
		if (!ASSERT_OK(pkt_build(&cases[i].pkt, &p), "build"))
			continue;
		fl_run_check(&fx, p.data, p.len, XDP_PASS, cases[i].kinds,
			     cases[i].err);
	}
	fl_fixture_close(&fx);
}
