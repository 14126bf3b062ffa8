// SPDX-License-Identifier: Apache-2.0
/*
 * Stage 8, router and monitor modes, through BPF_PROG_TEST_RUN in a
 * private network namespace whose FIB the test builds: a table of
 * {packet, expected action, expected fwd_pass reason}, and for every
 * forwarded packet the rewritten frame itself (MACs from the neighbour
 * table, TTL/hop limit one lower, IPv4 checksum still valid).
 *
 * Without an xdp_md context the program runs as if received on lo, so
 * lo gets forwarding on and FIB lookups start there. REDIRECT in a test
 * run only reports the verdict; nothing is transmitted.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/if_ether.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "iface.h"
#include "pkt.h"
#include "test_progs.h"
#include "flowlens.skel.h"

#define EGRESS "fwd0"
#define PEER_MAC "02:00:00:00:00:aa"

/* No such reason: the packet is forwarded (or, in monitor mode, dropped). */
#define FORWARDED FL_FWD_PASS_COUNT

struct fwd_case {
	const char *name;
	struct pkt_spec pkt;
	int ttl; /* 0: the builder's 64 */
	bool broadcast; /* destination MAC ff:ff:ff:ff:ff:ff */
	bool other_host; /* destination MAC not the port's own */
	__u32 reason; /* enum fl_fwd_pass_reason, or FORWARDED */
};

static const struct fwd_case cases[] = {
	{ "ipv4 udp to a known neighbour",
	  { .l3 = PKT_IPV4,
	    .l4 = PKT_UDP,
	    .dst = "198.51.100.2",
	    .payload_len = 100 },
	  .reason = FORWARDED },
	{ "ipv4 tcp syn via a gateway",
	  { .l3 = PKT_IPV4,
	    .l4 = PKT_TCP,
	    .tcp.flags = PKT_TCP_SYN,
	    .dst = "203.0.113.77" },
	  .reason = FORWARDED },
	{ "ipv4 icmp, ttl 2 still forwarded",
	  { .l3 = PKT_IPV4, .l4 = PKT_ICMP, .dst = "198.51.100.2" },
	  .ttl = 2,
	  .reason = FORWARDED },
	{ "ipv6 tcp to a known neighbour",
	  { .l3 = PKT_IPV6,
	    .l4 = PKT_TCP,
	    .src = "2001:db8:1::2",
	    .dst = "2001:db8:2::2",
	    .payload_len = 64 },
	  .reason = FORWARDED },
	{ "ipv6 udp with a destination options header",
	  { .l3 = PKT_IPV6,
	    .l4 = PKT_UDP,
	    .src = "2001:db8:1::2",
	    .dst = "2001:db8:2::2",
	    .ip6.nr_ext = 1,
	    .ip6.ext = { PKT_EXT(DSTOPTS) } },
	  .reason = FORWARDED },
	{ "ipv4 for the box itself",
	  { .l3 = PKT_IPV4, .l4 = PKT_UDP, .dst = "198.51.100.1" },
	  .reason = FL_FWD_PASS_NOT_FORWARDED },
	{ "ipv4 with no route",
	  { .l3 = PKT_IPV4, .l4 = PKT_UDP, .dst = "100.64.0.1" },
	  .reason = FL_FWD_PASS_NOT_FORWARDED },
	{ "ipv4 into a blackhole route",
	  { .l3 = PKT_IPV4, .l4 = PKT_UDP, .dst = "198.18.0.1" },
	  .reason = FL_FWD_PASS_BLACKHOLE },
	{ "ipv4 into an unreachable route",
	  { .l3 = PKT_IPV4, .l4 = PKT_UDP, .dst = "198.18.128.1" },
	  .reason = FL_FWD_PASS_UNREACHABLE },
	{ "ipv4 into a prohibit route",
	  { .l3 = PKT_IPV4, .l4 = PKT_UDP, .dst = "198.19.0.1" },
	  .reason = FL_FWD_PASS_PROHIBIT },
	{ "ipv4 neighbour not resolved yet",
	  { .l3 = PKT_IPV4, .l4 = PKT_UDP, .dst = "198.51.100.99" },
	  .reason = FL_FWD_PASS_NO_NEIGH },
	{ "ipv6 neighbour not resolved yet",
	  { .l3 = PKT_IPV6,
	    .l4 = PKT_UDP,
	    .src = "2001:db8:1::2",
	    .dst = "2001:db8:2::99" },
	  .reason = FL_FWD_PASS_NO_NEIGH },
	{ "ipv4 larger than the egress MTU",
	  { .l3 = PKT_IPV4,
	    .l4 = PKT_UDP,
	    .dst = "198.51.100.2",
	    .payload_len = 1400 },
	  .reason = FL_FWD_PASS_MTU },
	{ "ipv4 ttl 1",
	  { .l3 = PKT_IPV4, .l4 = PKT_UDP, .dst = "198.51.100.2" },
	  .ttl = 1,
	  .reason = FL_FWD_PASS_TTL },
	{ "ipv6 hop limit 1",
	  { .l3 = PKT_IPV6,
	    .l4 = PKT_UDP,
	    .src = "2001:db8:1::2",
	    .dst = "2001:db8:2::2" },
	  .ttl = 1,
	  .reason = FL_FWD_PASS_TTL },
	{ "ipv6 hop-by-hop options",
	  { .l3 = PKT_IPV6,
	    .l4 = PKT_UDP,
	    .src = "2001:db8:1::2",
	    .dst = "2001:db8:2::2",
	    .ip6.nr_ext = 1,
	    .ip6.ext = { PKT_EXT(HOPOPTS) } },
	  .reason = FL_FWD_PASS_IP6_HOPOPTS },
	{ "ipv6 to a link-local address",
	  { .l3 = PKT_IPV6,
	    .l4 = PKT_ICMPV6,
	    .src = "fe80::1",
	    .dst = "fe80::2" },
	  .reason = FL_FWD_PASS_NOT_UNICAST },
	{ "ipv6 multicast",
	  { .l3 = PKT_IPV6,
	    .l4 = PKT_UDP,
	    .src = "2001:db8:1::2",
	    .dst = "ff02::1" },
	  .reason = FL_FWD_PASS_NOT_UNICAST },
	{ "ipv4 to the broadcast MAC",
	  { .l3 = PKT_IPV4, .l4 = PKT_UDP, .dst = "198.51.100.2" },
	  .broadcast = true,
	  .reason = FL_FWD_PASS_NOT_UNICAST },
	{ "ipv4 unicast to another host's MAC",
	  { .l3 = PKT_IPV4, .l4 = PKT_UDP, .dst = "198.51.100.2" },
	  .other_host = true,
	  .reason = FL_FWD_PASS_OTHER_HOST },
	{ "arp", { .l3 = PKT_ARP }, .reason = FL_FWD_PASS_NOT_IP },
	{ "802.1Q tagged ipv4",
	  { .vlan.count = 1,
	    .l3 = PKT_IPV4,
	    .l4 = PKT_UDP,
	    .dst = "198.51.100.2" },
	  .reason = FL_FWD_PASS_VLAN },
	{ "malformed: udp length past the datagram",
	  { .l3 = PKT_IPV4,
	    .l4 = PKT_UDP,
	    .dst = "198.51.100.2",
	    .udp.len = PKT_SET(500) },
	  .reason = FL_FWD_PASS_MALFORMED },
};

static int sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc)
		test__log("'%s' exited with %d\n", cmd, rc);
	return rc ? -EIO : 0;
}

/* The FIB every case is written against. */
static int build_fib(void)
{
	static const char *const cmds[] = {
		"ip link set lo up",
		"ip link add " EGRESS " type veth peer name fwd1",
		"ip link set " EGRESS " up mtu 1400",
		"ip link set fwd1 up",
		"ip addr add 198.51.100.1/24 dev " EGRESS,
		"ip addr add 2001:db8:2::1/64 dev " EGRESS " nodad",
		"ip neigh add 198.51.100.2 lladdr " PEER_MAC " dev " EGRESS
		" nud permanent",
		"ip neigh add 198.51.100.3 lladdr " PEER_MAC " dev " EGRESS
		" nud permanent",
		"ip neigh add 2001:db8:2::2 lladdr " PEER_MAC " dev " EGRESS
		" nud permanent",
		"ip route add 203.0.113.0/24 via 198.51.100.3",
		"ip route add blackhole 198.18.0.0/17",
		"ip route add unreachable 198.18.128.0/17",
		"ip route add prohibit 198.19.0.0/16",
		"sysctl -qw net.ipv4.conf.all.forwarding=1 "
		"net.ipv4.conf.lo.forwarding=1 net.ipv6.conf.all.forwarding=1",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		if (sh(cmds[i]))
			return -EIO;
	return 0;
}

static __u16 csum16(const __u8 *p, size_t len)
{
	__u32 sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (p[i] << 8) | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

static int run_out(struct fl_fixture *fx, const struct pkt *p, __u8 *out,
		   __u32 *out_len, __u32 *action)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->data,
		    .data_size_in = p->len, .data_out = out,
		    .data_size_out = *out_len);
	int err = bpf_prog_test_run_opts(fx->prog_fd, &opts);

	if (err)
		return err;
	*action = opts.retval;
	*out_len = opts.data_size_out;
	return 0;
}

/* A forwarded frame: new MACs, one hop less, the rest byte for byte. */
static void check_rewrite(const struct pkt *in, const __u8 *out, __u32 len,
			  const __u8 egress_mac[ETH_ALEN])
{
	static const __u8 peer[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0xaa };
	struct pkt expect = *in;
	__u32 ttl_off = in->l3_off + (in->data[in->l3_off] >> 4 == 4 ? 8 : 7);

	if (!ASSERT_EQ(len, in->len, "forwarded length"))
		return;
	memcpy(expect.data, peer, ETH_ALEN);
	memcpy(expect.data + ETH_ALEN, egress_mac, ETH_ALEN);
	expect.data[ttl_off]--;
	if (in->data[in->l3_off] >> 4 == 4) {
		__u32 ihl = (in->data[in->l3_off] & 0xf) * 4;

		ASSERT_EQ(csum16(out + in->l3_off, ihl), 0,
			  "ipv4 header checksum after the TTL change");
		pkt_ip4_csum(&expect);
	}
	ASSERT_EQ(memcmp(out, expect.data, len), 0,
		  "frame = input with MACs rewritten and TTL - 1");
}

static void run_cases(struct fl_fixture *fx, __u32 mode,
		      const __u8 egress_mac[ETH_ALEN])
{
	__u8 out[PKT_MAX];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct fwd_case *c = &cases[i];
		struct fl_if_stats before, after;
		__u32 action, len = sizeof(out), expected;
		struct pkt p;
		int r;

		test__case("%s: %s",
			   mode == FL_MODE_ROUTER ? "router" : "monitor",
			   c->name);
		if (!ASSERT_OK(pkt_build(&c->pkt, &p), "build"))
			continue;
		if (c->ttl) {
			pkt_poke8(&p,
				  p.l3_off + (c->pkt.l3 == PKT_IPV4 ? 8 : 7),
				  c->ttl);
			if (c->pkt.l3 == PKT_IPV4)
				pkt_ip4_csum(&p);
		}
		if (c->broadcast)
			memset(p.data, 0xff, ETH_ALEN);
		if (c->other_host)
			p.data[ETH_ALEN - 1] = 0x99;

		if (!ASSERT_OK(fl_if_stats_read(fx, &before), "stats before") ||
		    !ASSERT_OK(run_out(fx, &p, out, &len, &action), "run") ||
		    !ASSERT_OK(fl_if_stats_read(fx, &after), "stats after"))
			continue;

		if (mode == FL_MODE_MONITOR)
			expected = XDP_DROP;
		else
			expected = c->reason == FORWARDED ? XDP_REDIRECT :
							    XDP_PASS;
		ASSERT_EQ(action, expected, "action");
		ASSERT_EQ(after.verdict[expected] - before.verdict[expected], 1,
			  "verdict counter");
		ASSERT_EQ(after.packets - before.packets, 1, "packets");
		for (r = 0; r < FL_FWD_PASS_COUNT; r++) {
			__u64 d = after.fwd_pass[r] - before.fwd_pass[r];
			bool want = mode == FL_MODE_ROUTER &&
				    r == (int)c->reason;

			if (!ASSERT_EQ(d, want ? 1 : 0, "fwd_pass counter"))
				test__log("  reason %d\n", r);
		}
		if (expected == XDP_REDIRECT)
			check_rewrite(&p, out, len, egress_mac);
		else
			ASSERT_EQ(memcmp(out, p.data, p.len), 0,
				  "frame left untouched");
	}
}

static int ports_set(struct fl_fixture *fx, __u32 ifindex, bool add)
{
	int fd = bpf_map__fd(fx->skel->maps.FL_MAP_TX_PORTS);

	return add ? bpf_map_update_elem(fd, &ifindex, &ifindex, 0) :
		     bpf_map_delete_elem(fd, &ifindex);
}

/* The ingress port (lo, in a test run) owns the builder's destination
 * MAC, 02:00:00:00:00:02. */
static int port_mac_set(struct fl_fixture *fx)
{
	struct fl_port_mac mac = { .addr = { 0x02, 0, 0, 0, 0, 0x02 } };

	return bpf_map_update_elem(bpf_map__fd(fx->skel->maps.FL_MAP_PORT_MACS),
				   &fx->ifindex, &mac, 0);
}

/* Runs one packet expecting XDP_PASS with @reason counted. */
static void expect_pass(struct fl_fixture *fx, const char *what, __u32 reason)
{
	struct pkt_spec spec = { .l3 = PKT_IPV4,
				 .l4 = PKT_UDP,
				 .dst = "198.51.100.2" };
	struct fl_if_stats before, after;
	__u8 out[PKT_MAX];
	__u32 action, len = sizeof(out);
	struct pkt p;

	test__case("router: %s", what);
	if (!ASSERT_OK(pkt_build(&spec, &p), "build") ||
	    !ASSERT_OK(fl_if_stats_read(fx, &before), "stats before") ||
	    !ASSERT_OK(run_out(fx, &p, out, &len, &action), "run") ||
	    !ASSERT_OK(fl_if_stats_read(fx, &after), "stats after"))
		return;
	ASSERT_EQ(action, XDP_PASS, "action");
	ASSERT_EQ(after.fwd_pass[reason] - before.fwd_pass[reason], 1,
		  "fwd_pass counter");
}

static void in_private_netns(void)
{
	struct fl_config cfg = {};
	__u8 egress_mac[ETH_ALEN];
	struct fl_fixture fx;
	__u32 ifindex;

	if (!ASSERT_OK(build_fib(), "build the FIB") ||
	    !ASSERT_OK(fl_iface_mac(EGRESS, egress_mac), "egress MAC"))
		return;
	ifindex = if_nametoindex(EGRESS);
	if (!ASSERT_NEQ(ifindex, 0, "egress ifindex") ||
	    !ASSERT_OK(fl_fixture_open(&fx), "fixture open"))
		return;

	cfg.mode = FL_MODE_ROUTER;
	if (!ASSERT_OK(fl_config_write(&fx, &cfg), "config router") ||
	    !ASSERT_OK(ports_set(&fx, ifindex, true), "egress port") ||
	    !ASSERT_OK(port_mac_set(&fx), "ingress port MAC"))
		goto out;
	run_cases(&fx, FL_MODE_ROUTER, egress_mac);

	/* Routed somewhere flowlensd does not run: the kernel transmits. */
	if (!ASSERT_OK(ports_set(&fx, ifindex, false), "remove port"))
		goto out;
	expect_pass(&fx, "egress not in the devmap", FL_FWD_PASS_EGRESS);
	ports_set(&fx, ifindex, true);

	/* IP forwarding off: the FIB refuses, the kernel drops. */
	if (!ASSERT_OK(sh("sysctl -qw net.ipv4.conf.lo.forwarding=0"),
		       "forwarding off"))
		goto out;
	expect_pass(&fx, "forwarding disabled", FL_FWD_PASS_FWD_DISABLED);

	cfg.mode = FL_MODE_MONITOR;
	if (!ASSERT_OK(fl_config_write(&fx, &cfg), "config monitor"))
		goto out;
	run_cases(&fx, FL_MODE_MONITOR, egress_mac);
out:
	fl_fixture_close(&fx);
}

void test_forward(void)
{
	int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	if (!ASSERT_GE(home, 0, "open own netns"))
		return;
	test__case("private netns");
	if (ASSERT_OK(unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")) {
		in_private_netns();
		/* The namespace and its veth go when nothing holds them. */
		ASSERT_OK(setns(home, CLONE_NEWNET), "back to own netns");
	}
	close(home);
}
