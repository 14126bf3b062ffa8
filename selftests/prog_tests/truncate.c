// SPDX-License-Identifier: Apache-2.0
/*
 * Valid frames cut at every byte offset, from 0 to their full length. The
 * program must pass every one (default policy), count kind.malformed
 * exactly when it counts a parse error, and count the error the cut
 * implies: where the frame ends says which header is incomplete.
 */
#include <netinet/in.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>

#include "pkt.h"
#include "test_progs.h"

struct sweep_case {
	const char *name;
	struct pkt_spec pkt;
	__u32 kinds; /* of the whole frame */
};

static const struct sweep_case cases[] = {
	{
		"qinq ipv4 options tcp syn with options",
		{ .vlan.count = 2,
		  .l3 = PKT_IPV4,
		  .ip4.opt_len = 8,
		  .l4 = PKT_TCP,
		  .tcp = { .flags = PKT_TCP_SYN, .opt_len = 12 },
		  .payload_len = 20 },
		KIND(vlan) | KIND(qinq) | KIND(ipv4) | KIND(ipv4_options) |
			KIND(tcp) | KIND(tcp_syn),
	},
	{
		"802.1q ipv6 hop-by-hop + fragment + dstopts udp",
		{ .vlan.count = 1,
		  .l3 = PKT_IPV6,
		  .ip6 = { .nr_ext = 3,
			   .ext = { PKT_EXT(HOPOPTS),
				    PKT_EXT(FRAGMENT,
					    .frag_off = PKT_IP6_FRAG(0, 1)),
				    PKT_EXT(DSTOPTS, .len = 16) } },
		  .l4 = PKT_UDP,
		  .payload_len = 10 },
		KIND(vlan) | KIND(ipv6) | KIND(ipv6_ext) | KIND(fragment) |
			KIND(udp),
	},
	{
		"ipv6 icmpv6",
		{ .l3 = PKT_IPV6, .l4 = PKT_ICMPV6, .payload_len = 8 },
		KIND(ipv6) | KIND(icmpv6),
	},
	{
		"ipv4 non-first fragment",
		{ .l3 = PKT_IPV4,
		  .ip4.frag_off = PKT_IP4_FRAG(100, 1),
		  .proto = PKT_SET(IPPROTO_UDP),
		  .payload_len = 16 },
		KIND(ipv4) | KIND(fragment),
	},
	{
		"ipv4 udp padded to 60 bytes",
		{ .l3 = PKT_IPV4, .l4 = PKT_UDP, .pad_len = 18 },
		KIND(ipv4) | KIND(udp),
	},
	{
		"802.1q arp",
		{ .vlan.count = 1, .l3 = PKT_ARP },
		KIND(vlan) | KIND(non_ip),
	},
};

/* The error a frame cut at @cut must give, and the kinds counted with it. */
static int expected_error(const struct sweep_case *c, const struct pkt *p,
			  __u32 cut, __u32 *kinds)
{
	__u32 vlan_kinds = 0, i;

	*kinds = KIND(malformed);
	if (cut < ETH_HLEN)
		return FL_PERR_ETH_TRUNC;
	for (i = 0; i < c->pkt.vlan.count; i++) {
		if (cut < p->vlan_off[i] + 4u) {
			*kinds |= vlan_kinds;
			return FL_PERR_VLAN_TRUNC;
		}
		vlan_kinds |= i == 0 ? KIND(vlan) : KIND(qinq);
	}
	*kinds |= vlan_kinds;
	if (cut >= p->ip_end || c->pkt.l3 == PKT_ARP) {
		*kinds = c->kinds; /* only padding (or ARP's body) cut */
		return FL_PARSE_OK;
	}
	if (c->pkt.l3 == PKT_IPV4) {
		const struct iphdr *ip = (const void *)(p->data + p->l3_off);

		if (cut < p->l3_off + ip->ihl * 4u)
			return FL_PERR_IP4_TRUNC;
		return FL_PERR_IP4_TOTLEN;
	}
	if (cut < p->l3_off + sizeof(struct ipv6hdr))
		return FL_PERR_IP6_TRUNC;
	return FL_PERR_IP6_PAYLEN;
}

static bool sweep(struct fl_fixture *fx, const struct sweep_case *c)
{
	struct fl_if_stats before, after, expect;
	__u64 errors;
	__u32 cut, action, kinds;
	struct pkt p;
	int err, i;

	if (!ASSERT_OK(pkt_build(&c->pkt, &p), "build"))
		return false;
	for (cut = 0; cut <= p.len; cut++) {
		test__case("%s, cut at %u of %u bytes", c->name, cut, p.len);
		if (!ASSERT_OK(fl_if_stats_read(fx, &before), "read stats"))
			return false;
		err = fl_run(fx, p.data, cut, 1, &action);
		if (err == -EOPNOTSUPP) {
			test__log(
				"%s: this kernel cannot test-run frames under %u bytes: not checked",
				c->name, ETH_HLEN);
			test__skip();
			continue;
		}
		if (!ASSERT_OK(err, "run") ||
		    !ASSERT_OK(fl_if_stats_read(fx, &after), "read stats"))
			return false;
		if (!ASSERT_EQ(action, XDP_PASS, "action"))
			return false;

		/* Whatever the error: malformed moves exactly with it. */
		errors = 0;
		for (i = 0; i < FL_PERR_COUNT; i++)
			errors += after.parse_error[i] - before.parse_error[i];
		if (!ASSERT_LE(errors, 1, "parse errors counted") ||
		    !ASSERT_EQ(after.kind.malformed - before.kind.malformed,
			       errors, "kind.malformed vs parse errors"))
			return false;

		err = expected_error(c, &p, cut, &kinds);
		fl_if_stats_expect(&expect, 1, cut, XDP_PASS, kinds, err);
		if (!fl_if_stats_check(&before, &after, &expect)) {
			test__log("expected %s", fl_parse_error_name(err));
			return false;
		}
	}
	return true;
}

void test_truncate(void)
{
	struct fl_fixture fx;
	size_t i;

	if (!ASSERT_OK(fl_fixture_open(&fx), "fixture open"))
		return;
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		sweep(&fx, &cases[i]);
	fl_fixture_close(&fx);
}
