// SPDX-License-Identifier: Apache-2.0
/*
 * Stages 6 and 7, the flow cache and escalation (bpf/flowcache.h), through
 * BPF_PROG_TEST_RUN in a private network namespace:
 *   flowcache_key        both directions of IPv4/IPv6 TCP/UDP find one
 *                        entry, keyed as fl_flow_key_make() says; ICMP
 *                        keys with ports 0; counters exact
 *   flowcache_handshake  SYN, SYN-ACK, a bare ACK and FIN create nothing;
 *                        the first payload creates CLASSIFYING, with
 *                        LO_CLIENT set only when the client is key.lo
 *   flowcache_escalate   with a real AF_XDP socket on lo's queue 0: the
 *                        frame is redirected with the metadata in front
 *                        (hash, dir, l3_off, l4_off, l4_proto, action
 *                        per mode, magic), from which the worker's
 *                        fl_flow_key_from_meta() gives XDP's key - also
 *                        behind IPv6 hop-by-hop, routing, fragment, AH
 *                        and destination options headers, alone and
 *                        chained;
 *                        without a socket, slot or metadata it fails open;
 *                        the budget; a cached verdict counted per app and
 *                        not escalated; VoIP kept escalating when asked;
 *                        router mode rewrites and escalates only what XDP
 *                        would forward
 *   flowcache_skipped    escalate_flags OFF, non-first fragments and the
 *                        traffic of one link (neighbour discovery,
 *                        link-local, multicast, broadcast) touch nothing
 */
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <netinet/in.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#include "iface.h"
#include "pkt.h"
#include "test_progs.h"

#define EGRESS "fc0"
#define PEER_MAC "02:00:00:00:00:aa"
#define XSK_BASE 5 /* lo's first key in fl_xsks: not 0, so it counts */
#define XSK_FRAMES 64

static const char *const flow_counter_names[] = {
#define FL_X_NAME(field, name) name,
	FL_FLOW_COUNTERS(FL_X_NAME)
#undef FL_X_NAME
};
#define FLOW_COUNTERS ARRAY_SIZE(flow_counter_names)
_Static_assert(FLOW_COUNTERS * sizeof(__u64) == sizeof(struct fl_flow_counters),
	       "one name per flow counter");

/* One bit per struct fl_flow_counters field, in the X-macro's order. */
enum {
#define FL_X_BIT(field, name) FC_BIT_##field,
	FL_FLOW_COUNTERS(FL_X_BIT)
#undef FL_X_BIT
};
#define FC(field) (1U << FC_BIT_##field)

/* ---- helpers ------------------------------------------------------------ */

struct run {
	__u32 action;
	__u32 meta_len; /* bytes of metadata in front of the frame */
	__u32 len; /* the frame's, after the metadata */
	struct fl_xsk_meta meta; /* valid if meta_len == sizeof(meta) */
	__u8 frame[PKT_MAX];
	struct fl_if_stats before, after;
};

/* Runs one frame, with the output's metadata and the counters around it. */
static bool run_one(struct fl_fixture *fx, const struct pkt *p, struct run *r)
{
	struct xdp_md ctx_in = { .data_end = p->len }, ctx_out = {};
	__u8 out[PKT_MAX + 64];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->data,
		    .data_size_in = p->len, .data_out = out,
		    .data_size_out = sizeof(out), .ctx_in = &ctx_in,
		    .ctx_size_in = sizeof(ctx_in), .ctx_out = &ctx_out,
		    .ctx_size_out = sizeof(ctx_out));

	memset(&r->meta, 0, sizeof(r->meta));
	if (!ASSERT_OK(fl_if_stats_read(fx, &r->before), "stats before") ||
	    !ASSERT_OK(bpf_prog_test_run_opts(fx->prog_fd, &opts), "run") ||
	    !ASSERT_OK(fl_if_stats_read(fx, &r->after), "stats after"))
		return false;
	r->action = opts.retval;
	r->meta_len = ctx_out.data;
	if (!ASSERT_LE(r->meta_len, opts.data_size_out, "metadata length"))
		return false;
	r->len = opts.data_size_out - r->meta_len;
	if (r->meta_len == sizeof(r->meta))
		memcpy(&r->meta, out, sizeof(r->meta));
	memcpy(r->frame, out + r->meta_len,
	       r->len < sizeof(r->frame) ? r->len : sizeof(r->frame));
	return true;
}

/* The flow counters moved by exactly one for each bit in @bits. */
static bool flow_counters_check_(int line, const struct run *r, __u32 bits)
{
	const __u64 *b = (const __u64 *)&r->before.flow;
	const __u64 *a = (const __u64 *)&r->after.flow;
	bool ok = true;
	size_t i;

	for (i = 0; i < FLOW_COUNTERS; i++) {
		__u64 want = (bits >> i) & 1;

		if (a[i] - b[i] == want)
			continue;
		test__fail(__FILE__, line,
			   "flow.%s: expected delta %llu, actual %lld",
			   flow_counter_names[i], (unsigned long long)want,
			   (long long)(a[i] - b[i]));
		ok = false;
	}
	return ok;
}
#define flow_counters_check(r, bits) flow_counters_check_(__LINE__, r, bits)

/* Packets, bytes, the one verdict and the kinds, as every stage counts. */
static bool if_counters_check(const struct run *r, const struct pkt *p,
			      __u32 action, __u32 kinds)
{
	struct fl_if_stats expect;

	fl_if_stats_expect(&expect, 1, p->len, action, kinds, 0);
	return fl_if_stats_check(&r->before, &r->after, &expect);
}

static int flows_count(struct fl_fixture *fx)
{
	int fd = bpf_map__fd(fx->skel->maps.FL_MAP_FLOWS), n = 0;
	struct fl_flow_key key, next;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		n++;
	}
	return n;
}

static int flow_get(struct fl_fixture *fx, const struct fl_flow_key *key,
		    struct fl_flow *flow)
{
	return bpf_map_lookup_elem(bpf_map__fd(fx->skel->maps.FL_MAP_FLOWS),
				   key, flow) ?
		       -errno :
		       0;
}

static int flow_put(struct fl_fixture *fx, const struct fl_flow_key *key,
		    const struct fl_flow *flow)
{
	return bpf_map_update_elem(bpf_map__fd(fx->skel->maps.FL_MAP_FLOWS),
				   key, flow, BPF_EXIST) ?
		       -errno :
		       0;
}

static void flows_clear(struct fl_fixture *fx)
{
	int fd = bpf_map__fd(fx->skel->maps.FL_MAP_FLOWS);
	struct fl_flow_key key;

	while (!bpf_map_get_next_key(fd, NULL, &key))
		bpf_map_delete_elem(fd, &key);
}

/* The key the packet @spec describes should have, from the shared helper;
 * @dir: what it returned. */
static int key_of(const struct pkt_spec *spec, struct fl_flow_key *key,
		  int *dir)
{
	int family = spec->l3 == PKT_IPV6 ? AF_INET6 : AF_INET;
	const char *src = spec->src, *dst = spec->dst;
	union fl_addr s, d;
	__u16 sport = 0, dport = 0;
	__u8 proto;

	if (!src)
		src = family == AF_INET ? "192.0.2.1" : "2001:db8::1";
	if (!dst)
		dst = family == AF_INET ? "198.51.100.1" : "2001:db8::2";
	s = fl_addr_of(family, src);
	d = fl_addr_of(family, dst);
	switch (spec->l4) {
	case PKT_TCP:
		proto = IPPROTO_TCP;
		sport = spec->tcp.sport ?: 40000;
		dport = spec->tcp.dport ?: 80;
		break;
	case PKT_UDP:
		proto = IPPROTO_UDP;
		sport = spec->udp.sport ?: 40000;
		dport = spec->udp.dport ?: 53;
		break;
	case PKT_ICMP:
		proto = IPPROTO_ICMP;
		break;
	case PKT_ICMPV6:
		proto = IPPROTO_ICMPV6;
		break;
	default:
		return -EINVAL;
	}
	*dir = fl_flow_key_make(key, &s, &d, htons(sport), htons(dport), proto,
				family == AF_INET ? 4 : 6);
	return 0;
}

/* The same packet from the other side. */
static struct pkt_spec reversed(const struct pkt_spec *spec)
{
	struct pkt_spec r = *spec;
	int family = spec->l3 == PKT_IPV6 ? AF_INET6 : AF_INET;

	r.src = spec->dst ?: family == AF_INET ? "198.51.100.1" : "2001:db8::2";
	r.dst = spec->src ?: family == AF_INET ? "192.0.2.1" : "2001:db8::1";
	r.tcp.sport = spec->tcp.dport ?: 80;
	r.tcp.dport = spec->tcp.sport ?: 40000;
	r.udp.sport = spec->udp.dport ?: 53;
	r.udp.dport = spec->udp.sport ?: 40000;
	return r;
}

static int config_set(struct fl_fixture *fx, __u32 mode, __u16 budget,
		      __u32 flags)
{
	struct fl_config cfg = { .mode = mode,
				 .escalate_tcp = budget,
				 .escalate_udp = budget,
				 .escalate_flags = flags };

	return fl_config_write(fx, &cfg);
}

static int sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc)
		test__log("'%s' exited with %d", cmd, rc);
	return rc ? -EIO : 0;
}

/* Runs @fn in a network namespace of its own (lo up), then comes back. */
static void in_private_netns(void (*fn)(void))
{
	int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	if (!ASSERT_GE(home, 0, "open own netns"))
		return;
	if (ASSERT_OK(unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")) {
		if (ASSERT_OK(sh("ip link set lo up"), "lo up"))
			fn();
		ASSERT_OK(setns(home, CLONE_NEWNET), "back to own netns");
	}
	close(home);
}

/* ---- flowcache_key ------------------------------------------------------ */

static const struct {
	const char *name;
	struct pkt_spec spec;
} key_cases[] = {
	{ "ipv4 tcp",
	  { .l3 = PKT_IPV4,
	    .l4 = PKT_TCP,
	    .tcp.flags = PKT_TCP_ACK | PKT_TCP_PSH,
	    .payload_len = 20 } },
	{ "ipv4 udp", { .l3 = PKT_IPV4, .l4 = PKT_UDP, .payload_len = 30 } },
	{ "ipv6 tcp",
	  { .l3 = PKT_IPV6,
	    .l4 = PKT_TCP,
	    .tcp.flags = PKT_TCP_ACK,
	    .payload_len = 1 } },
	{ "ipv6 udp", { .l3 = PKT_IPV6, .l4 = PKT_UDP, .payload_len = 10 } },
	/* The same address on both sides: the ports decide the order. */
	{ "ipv4 udp between two ports of one address",
	  { .l3 = PKT_IPV4,
	    .l4 = PKT_UDP,
	    .src = "10.0.0.1",
	    .dst = "10.0.0.1",
	    .udp = { .sport = 5060, .dport = 5061 },
	    .payload_len = 8 } },
	{ "ipv4 icmp: ports 0",
	  { .l3 = PKT_IPV4, .l4 = PKT_ICMP, .payload_len = 8 } },
	{ "ipv6 tcp, vlan tagged",
	  { .vlan.count = 1,
	    .l3 = PKT_IPV6,
	    .l4 = PKT_TCP,
	    .src = "2001:db8:ff::9",
	    .dst = "2001:db8::1",
	    .payload_len = 5 } },
};

static __u32 kinds_of(const struct pkt_spec *spec)
{
	__u32 k = spec->l3 == PKT_IPV6 ? KIND(ipv6) : KIND(ipv4);

	if (spec->vlan.count)
		k |= KIND(vlan);
	if (spec->l4 == PKT_TCP)
		k |= KIND(tcp);
	else if (spec->l4 == PKT_UDP)
		k |= KIND(udp);
	else if (spec->l4 == PKT_ICMP)
		k |= KIND(icmp);
	return k;
}

static void check_keys(void)
{
	struct fl_fixture fx;
	size_t i;

	if (!ASSERT_OK(fl_fixture_open(&fx), "fixture open"))
		return;
	/* Host mode, no socket: every packet of a new flow fails open. */
	if (!ASSERT_OK(config_set(&fx, FL_MODE_HOST, 0, 0), "config"))
		goto out;
	for (i = 0; i < ARRAY_SIZE(key_cases); i++) {
		const struct pkt_spec *fwd = &key_cases[i].spec;
		struct pkt_spec rev = reversed(fwd);
		struct fl_flow_key key, key_rev, got, next;
		struct pkt p1, p2;
		struct fl_flow flow;
		struct run r;
		int dir, dir_rev, fd;

		test__case("key: %s", key_cases[i].name);
		flows_clear(&fx);
		if (!ASSERT_OK(pkt_build(fwd, &p1), "build") ||
		    !ASSERT_OK(pkt_build(&rev, &p2), "build reversed") ||
		    !ASSERT_OK(key_of(fwd, &key, &dir), "key") ||
		    !ASSERT_OK(key_of(&rev, &key_rev, &dir_rev),
			       "key reversed"))
			continue;
		ASSERT_EQ(memcmp(&key, &key_rev, sizeof(key)), 0,
			  "both directions make one key");
		ASSERT_NEQ(dir, dir_rev, "directions differ");

		if (!run_one(&fx, &p1, &r))
			continue;
		ASSERT_EQ(r.action, XDP_PASS, "first packet: action");
		ASSERT_EQ(r.meta_len, 0, "first packet: no metadata");
		if_counters_check(&r, &p1, XDP_PASS, kinds_of(fwd));
		flow_counters_check(&r,
				    FC(flow_created) | FC(escalate_no_socket));
		if (!run_one(&fx, &p2, &r))
			continue;
		ASSERT_EQ(r.action, XDP_PASS, "reply: action");
		if_counters_check(&r, &p2, XDP_PASS, kinds_of(&rev));
		flow_counters_check(&r, FC(escalate_no_socket));

		/* One entry, under exactly the shared helper's key. */
		ASSERT_EQ(flows_count(&fx), 1, "entries");
		fd = bpf_map__fd(fx.skel->maps.FL_MAP_FLOWS);
		if (!ASSERT_OK(bpf_map_get_next_key(fd, NULL, &next), "a key"))
			continue;
		got = next;
		ASSERT_EQ(memcmp(&got, &key, sizeof(key)), 0,
			  "map key = fl_flow_key_make()");
		ASSERT_EQ(got.pad, 0, "key pad");
		ASSERT_EQ(got.family, fwd->l3 == PKT_IPV6 ? 6 : 4, "family");
		if (fwd->l4 == PKT_ICMP)
			ASSERT_EQ(got.lo_port | got.hi_port, 0, "icmp ports");
		if (!ASSERT_OK(flow_get(&fx, &key, &flow), "entry"))
			continue;
		ASSERT_EQ(fl_flow_packets(&flow), 2, "packets");
		ASSERT_EQ(fl_flow_bytes(&flow), p1.len + p2.len, "bytes");
		ASSERT_EQ(flow.state, FL_FLOW_CLASSIFYING, "state");
		ASSERT_EQ(flow.flags, dir ? 0 : FL_FLOW_F_LO_CLIENT, "flags");
		ASSERT_EQ(flow.escalated, 0, "escalated (no socket)");
		ASSERT_GT(flow.last_seen, 0, "last_seen");
	}
out:
	fl_fixture_close(&fx);
}

void test_flowcache_key(void)
{
	in_private_netns(check_keys);
}

/* ---- flowcache_handshake ------------------------------------------------ */

/* A TCP connection's opening, from @client to @server; the packets that
 * carry no payload must leave the cache empty. */
static void handshake(struct fl_fixture *fx, const char *client,
		      const char *server, int family)
{
	const int l3 = family == AF_INET ? PKT_IPV4 : PKT_IPV6;
	struct pkt_spec c2s = { .l3 = l3,
				.l4 = PKT_TCP,
				.src = client,
				.dst = server,
				.tcp = { .sport = 40000, .dport = 443 } };
	struct pkt_spec s2c = reversed(&c2s);
	struct {
		const char *name;
		const struct pkt_spec *dir;
		__u8 flags;
		__u16 payload;
		__u8 tcp_opts;
	} steps[] = {
		{ "syn", &c2s, PKT_TCP_SYN, 0, 20 },
		{ "syn-ack", &s2c, PKT_TCP_SYN | PKT_TCP_ACK, 0, 20 },
		{ "ack", &c2s, PKT_TCP_ACK, 0, 12 },
		{ "fin", &s2c, PKT_TCP_FIN | PKT_TCP_ACK, 0, 0 },
		{ "rst", &c2s, PKT_TCP_RST, 0, 0 },
		{ "first payload", &c2s, PKT_TCP_ACK | PKT_TCP_PSH, 100, 12 },
	};
	struct fl_flow_key key;
	struct fl_flow flow;
	size_t i;
	int dir;

	flows_clear(fx);
	for (i = 0; i < ARRAY_SIZE(steps); i++) {
		struct pkt_spec spec = *steps[i].dir;
		bool last = i == ARRAY_SIZE(steps) - 1;
		__u32 kinds = kinds_of(&spec);
		struct pkt p;
		struct run r;

		test__case("handshake %s -> %s: %s", client, server,
			   steps[i].name);
		spec.tcp.flags = steps[i].flags;
		spec.tcp.opt_len = steps[i].tcp_opts;
		spec.payload_len = steps[i].payload;
		if (steps[i].flags == PKT_TCP_SYN)
			kinds |= KIND(tcp_syn);
		if (!ASSERT_OK(pkt_build(&spec, &p), "build") ||
		    !run_one(fx, &p, &r))
			return;
		ASSERT_EQ(r.action, XDP_PASS, "action");
		if_counters_check(&r, &p, XDP_PASS, kinds);
		flow_counters_check(&r, last ? FC(flow_created) |
							FC(escalate_no_socket) :
					       0);
		ASSERT_EQ(flows_count(fx), last ? 1 : 0, "entries");
	}
	if (!ASSERT_OK(key_of(&c2s, &key, &dir), "key") ||
	    !ASSERT_OK(flow_get(fx, &key, &flow), "entry"))
		return;
	ASSERT_EQ(flow.state, FL_FLOW_CLASSIFYING, "state");
	ASSERT_EQ(fl_flow_packets(&flow), 1, "packets");
	/* LO_CLIENT: the client, who sent the first payload, is key.lo. */
	ASSERT_EQ(flow.flags, dir ? 0 : FL_FLOW_F_LO_CLIENT, "flags");
	ASSERT_EQ(!!memcmp(&key.lo, &key.hi, sizeof(key.lo)), 1,
		  "distinct endpoints");
}

static void check_handshakes(void)
{
	struct fl_fixture fx;

	if (!ASSERT_OK(fl_fixture_open(&fx), "fixture open"))
		return;
	if (ASSERT_OK(config_set(&fx, FL_MODE_HOST, 0, 0), "config")) {
		/* Client below and above the server, so LO_CLIENT is seen
		 * both set and clear. */
		handshake(&fx, "192.0.2.1", "198.51.100.1", AF_INET);
		handshake(&fx, "198.51.100.1", "192.0.2.1", AF_INET);
		handshake(&fx, "2001:db8::1", "2001:db8::2", AF_INET6);
		handshake(&fx, "2001:db8::2", "2001:db8::1", AF_INET6);
	}
	fl_fixture_close(&fx);
}

void test_flowcache_handshake(void)
{
	in_private_netns(check_handshakes);
}

/* ---- flowcache_escalate ------------------------------------------------- */

struct xsk {
	void *area;
	struct xsk_umem *umem;
	struct xsk_socket *socket;
	struct xsk_ring_prod fill, tx;
	struct xsk_ring_cons comp, rx;
};

/* An AF_XDP socket on lo's queue 0 in copy mode, with no XDP program of
 * libxdp's own: flowlensd's workers bind theirs the same way. */
static int xsk_open(struct xsk *x)
{
	struct xsk_socket_config cfg = {
		.rx_size = XSK_RING_CONS__DEFAULT_NUM_DESCS,
		.tx_size = XSK_RING_PROD__DEFAULT_NUM_DESCS,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_COPY,
	};
	size_t size = XSK_FRAMES * XSK_UMEM__DEFAULT_FRAME_SIZE;
	int err;

	memset(x, 0, sizeof(*x));
	x->area = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (x->area == MAP_FAILED) {
		x->area = NULL;
		return -errno;
	}
	err = xsk_umem__create(&x->umem, x->area, size, &x->fill, &x->comp,
			       NULL);
	if (err)
		return err;
	return xsk_socket__create(&x->socket, "lo", 0, x->umem, &x->rx, &x->tx,
				  &cfg);
}

static void xsk_close(struct xsk *x)
{
	if (x->socket)
		xsk_socket__delete(x->socket);
	if (x->umem)
		xsk_umem__delete(x->umem);
	if (x->area)
		munmap(x->area, XSK_FRAMES * XSK_UMEM__DEFAULT_FRAME_SIZE);
}

/* lo's range in fl_xsks starts at XSK_BASE; its queue 0 gets @x. */
static int xsk_insert(struct fl_fixture *fx, struct xsk *x, bool slot)
{
	__u32 key = XSK_BASE, base = XSK_BASE;
	int fd = xsk_socket__fd(x->socket);
	int slots = bpf_map__fd(fx->skel->maps.FL_MAP_XSK_SLOTS);

	if (!slot)
		return bpf_map_delete_elem(slots, &fx->ifindex) ? -errno : 0;
	if (bpf_map_update_elem(slots, &fx->ifindex, &base, 0) ||
	    bpf_map_update_elem(bpf_map__fd(fx->skel->maps.FL_MAP_XSKS), &key,
				&fd, 0))
		return -errno;
	return 0;
}

static int xsk_remove(struct fl_fixture *fx)
{
	__u32 key = XSK_BASE;

	return bpf_map_delete_elem(bpf_map__fd(fx->skel->maps.FL_MAP_XSKS),
				   &key) ?
		       -errno :
		       0;
}

/* The metadata of an escalated frame, and the frame behind it. */
static void check_escalated(const struct run *r, const struct pkt *p,
			    const struct pkt_spec *spec, __u8 action,
			    __u32 ifindex_out, __u8 state, __u8 flags)
{
	struct fl_flow_key key, worker_key;
	int dir;

	ASSERT_EQ(r->action, XDP_REDIRECT, "action");
	if (!ASSERT_EQ(r->meta_len, sizeof(struct fl_xsk_meta),
		       "metadata length") ||
	    !ASSERT_OK(key_of(spec, &key, &dir), "key"))
		return;
	ASSERT_EQ(r->meta.magic, FL_XSK_META_MAGIC, "meta.magic");
	ASSERT_EQ(r->meta.hash, fl_flow_hash(&key), "meta.hash");
	ASSERT_EQ(r->meta.dir, dir, "meta.dir");
	ASSERT_EQ(r->meta.l3_off, p->l3_off, "meta.l3_off");
	ASSERT_EQ(r->meta.action, action, "meta.action");
	ASSERT_EQ(r->meta.ifindex_out, ifindex_out, "meta.ifindex_out");
	ASSERT_EQ(r->meta.state, state, "meta.state");
	ASSERT_EQ(r->meta.flags, flags, "meta.flags");
	ASSERT_EQ(r->meta.pad[0] | r->meta.pad[1] | r->meta.pad[2], 0,
		  "meta.pad");
	/* where the IPv6 walk found L4, so the worker never walks */
	ASSERT_EQ(r->meta.l4_off, p->l4_off, "meta.l4_off");
	ASSERT_EQ(r->meta.l4_proto, key.proto, "meta.l4_proto");
	ASSERT_EQ(r->len, p->len, "frame length");
	/* the worker's key from the metadata is the one XDP made */
	if (ASSERT_OK(fl_flow_key_from_meta(&worker_key, &r->meta, r->frame,
					    r->len),
		      "worker key from the metadata"))
		ASSERT_EQ(memcmp(&worker_key, &key, sizeof(key)), 0,
			  "worker key == XDP key");
	if (action != FL_XSK_TX)
		ASSERT_EQ(memcmp(r->frame, p->data, p->len), 0,
			  "frame untouched");
}

static const struct pkt_spec udp4 = { .l3 = PKT_IPV4,
				      .l4 = PKT_UDP,
				      .src = "192.0.2.1",
				      .dst = "198.51.100.2",
				      .payload_len = 40 };

/* Host and monitor: every packet of a new flow, both directions, with
 * the metadata; the budget; then fail-open without socket or slot. */
static void escalate_modes(struct fl_fixture *fx)
{
	static const struct {
		const char *name;
		__u32 mode;
		__u8 action;
		__u32 fallback;
	} modes[] = {
		{ "host", FL_MODE_HOST, FL_XSK_PASS, XDP_PASS },
		{ "monitor", FL_MODE_MONITOR, FL_XSK_CONSUME, XDP_DROP },
	};
	static const struct pkt_spec specs[] = {
		{ .l3 = PKT_IPV4,
		  .l4 = PKT_TCP,
		  .src = "198.51.100.7",
		  .dst = "192.0.2.1",
		  .tcp.flags = PKT_TCP_ACK,
		  .payload_len = 64 },
		{ .vlan.count = 2,
		  .l3 = PKT_IPV6,
		  .l4 = PKT_UDP,
		  .payload_len = 12 },
		{ .l3 = PKT_IPV4, .l4 = PKT_ICMP },
	};
	const __u16 budget = 3;
	size_t m, s;

	for (m = 0; m < ARRAY_SIZE(modes); m++) {
		for (s = 0; s < ARRAY_SIZE(specs); s++) {
			struct pkt_spec rev = reversed(&specs[s]);
			__u32 n, limit = specs[s].l4 == PKT_ICMP ?
						 FL_ESCALATE_OTHER :
						 budget;
			struct fl_flow_key key;
			struct fl_flow flow;
			struct pkt p[2];
			struct run r;
			int dir;

			test__case("%s: spec %zu", modes[m].name, s);
			flows_clear(fx);
			if (!ASSERT_OK(config_set(fx, modes[m].mode, budget, 0),
				       "config") ||
			    !ASSERT_OK(pkt_build(&specs[s], &p[0]), "build") ||
			    !ASSERT_OK(pkt_build(&rev, &p[1]), "build rev") ||
			    !ASSERT_OK(key_of(&specs[s], &key, &dir), "key"))
				return;
			/* Within the budget, alternating directions. */
			for (n = 0; n < limit; n++) {
				if (!run_one(fx, &p[n & 1], &r))
					return;
				check_escalated(&r, &p[n & 1],
						n & 1 ? &rev : &specs[s],
						modes[m].action, 0,
						FL_FLOW_CLASSIFYING,
						dir ? 0 : FL_FLOW_F_LO_CLIENT);
				flow_counters_check(
					&r, FC(escalated) |
						    (n ? 0 : FC(flow_created)));
				ASSERT_EQ(
					r.after.verdict[XDP_REDIRECT] -
						r.before.verdict[XDP_REDIRECT],
					1, "verdict[redirect]");
			}
			/* Budget spent: as without stage 7, counted. */
			if (!run_one(fx, &p[0], &r))
				return;
			ASSERT_EQ(r.action, modes[m].fallback,
				  "over budget: action");
			ASSERT_EQ(r.meta_len, 0, "over budget: no metadata");
			flow_counters_check(&r, FC(escalate_budget_spent));
			if (ASSERT_OK(flow_get(fx, &key, &flow), "entry")) {
				ASSERT_EQ(flow.escalated, limit, "escalated");
				ASSERT_EQ(fl_flow_packets(&flow), limit + 1,
					  "packets");
			}
		}
	}
}

/* Without a socket for the queue, or a slot for the interface, a flow
 * being classified fails open: every packet, counted, nothing escalated. */
static void escalate_fail_open(struct fl_fixture *fx, struct xsk *x)
{
	static const struct {
		const char *name;
		__u32 mode;
		__u32 action;
	} modes[] = {
		{ "host", FL_MODE_HOST, XDP_PASS },
		{ "monitor", FL_MODE_MONITOR, XDP_DROP },
	};
	struct fl_flow_key key;
	struct fl_flow flow;
	struct pkt p;
	struct run r;
	size_t m;
	int i, dir;

	if (!ASSERT_OK(pkt_build(&udp4, &p), "build") ||
	    !ASSERT_OK(key_of(&udp4, &key, &dir), "key"))
		return;
	for (m = 0; m < ARRAY_SIZE(modes); m++) {
		for (i = 0; i < 2; i++) {
			test__case("%s: no %s", modes[m].name,
				   i ? "slot for lo" : "socket on queue 0");
			flows_clear(fx);
			if (!ASSERT_OK(config_set(fx, modes[m].mode, 0, 0),
				       "config") ||
			    !ASSERT_OK(i ? xsk_insert(fx, x, false) :
					   xsk_remove(fx),
				       "remove"))
				return;
			if (!run_one(fx, &p, &r))
				return;
			ASSERT_EQ(r.action, modes[m].action, "action");
			ASSERT_EQ(r.meta_len, 0, "no metadata");
			if_counters_check(&r, &p, modes[m].action,
					  KIND(ipv4) | KIND(udp));
			flow_counters_check(&r, FC(flow_created) |
							FC(escalate_no_socket));
			if (!run_one(fx, &p, &r))
				return;
			flow_counters_check(&r, FC(escalate_no_socket));
			if (ASSERT_OK(flow_get(fx, &key, &flow), "entry"))
				ASSERT_EQ(flow.escalated, 0, "escalated");
			/* Back: the next packet goes to the worker. */
			if (!ASSERT_OK(xsk_insert(fx, x, true), "insert") ||
			    !run_one(fx, &p, &r))
				return;
			ASSERT_EQ(r.action, XDP_REDIRECT, "with a socket");
			flow_counters_check(&r, FC(escalated));
		}
	}
}

/* A verdict written back (CLASSIFIED|BYPASS, as a worker does): counted
 * per app in XDP, never escalated; VoIP stays escalated while asked. */
static void escalate_verdicts(struct fl_fixture *fx)
{
	int apps = bpf_map__fd(fx->skel->maps.FL_MAP_APP_STATS);
	int ncpus = libbpf_num_possible_cpus();
	struct fl_app_stats *per_cpu;
	struct fl_flow_key key;
	struct fl_flow flow;
	__u32 app, c;
	struct pkt p;
	struct run r;
	int dir, i;

	per_cpu = calloc(ncpus, sizeof(*per_cpu));
	if (!ASSERT_OK_PTR(per_cpu, "alloc") ||
	    !ASSERT_OK(pkt_build(&udp4, &p), "build") ||
	    !ASSERT_OK(key_of(&udp4, &key, &dir), "key") ||
	    !ASSERT_OK(config_set(fx, FL_MODE_HOST, 2, 0), "config"))
		goto out;

	for (i = 0; i < 2; i++) {
		/* app 7 (master 5), then app 0 with master 5: by master */
		__u32 want = i ? 5 : 7;
		__u64 packets = 0, bytes = 0;

		test__case("bypass: %s", i ? "app 0, by master" : "by app");
		flows_clear(fx);
		if (!run_one(fx, &p, &r) ||
		    !ASSERT_EQ(r.action, XDP_REDIRECT, "classifying") ||
		    !ASSERT_OK(flow_get(fx, &key, &flow), "entry"))
			goto out;
		flow.state = FL_FLOW_CLASSIFIED;
		flow.flags |= FL_FLOW_F_BYPASS;
		flow.app = i ? 0 : 7;
		flow.master = 5;
		app = want;
		memset(per_cpu, 0, ncpus * sizeof(*per_cpu));
		if (!ASSERT_OK(flow_put(fx, &key, &flow), "verdict") ||
		    !ASSERT_OK(bpf_map_update_elem(apps, &app, per_cpu, 0),
			       "zero app stats") ||
		    !run_one(fx, &p, &r))
			goto out;
		ASSERT_EQ(r.action, XDP_PASS, "action");
		ASSERT_EQ(r.meta_len, 0, "no metadata");
		if_counters_check(&r, &p, XDP_PASS, KIND(ipv4) | KIND(udp));
		flow_counters_check(&r, FC(flow_bypassed));
		if (!ASSERT_OK(bpf_map_lookup_elem(apps, &app, per_cpu),
			       "app stats"))
			goto out;
		for (c = 0; c < (__u32)ncpus; c++) {
			packets += per_cpu[c].packets;
			bytes += per_cpu[c].bytes;
		}
		ASSERT_EQ(packets, 1, "app packets");
		ASSERT_EQ(bytes, p.len, "app bytes");
		if (ASSERT_OK(flow_get(fx, &key, &flow), "entry")) {
			ASSERT_EQ(flow.escalated, 1, "escalated");
			ASSERT_EQ(fl_flow_packets(&flow), 2, "packets");
			ASSERT_EQ(fl_flow_bytes(&flow), 2 * p.len, "bytes");
		}
	}

	/* A VoIP flow with a final verdict: bypassed unless the VoIP
	 * features ask for it, then escalated beyond any budget. */
	test__case("voip");
	flow.flags |= FL_FLOW_F_VOIP;
	if (!ASSERT_OK(flow_put(fx, &key, &flow), "voip verdict") ||
	    !run_one(fx, &p, &r))
		goto out;
	ASSERT_EQ(r.action, XDP_PASS, "voip, not asked: action");
	flow_counters_check(&r, FC(flow_bypassed));
	if (!ASSERT_OK(config_set(fx, FL_MODE_HOST, 2, FL_ESCALATE_F_VOIP),
		       "config voip"))
		goto out;
	for (i = 0; i < 4; i++) {
		if (!run_one(fx, &p, &r))
			goto out;
		check_escalated(&r, &p, &udp4, FL_XSK_PASS, 0,
				FL_FLOW_CLASSIFIED, flow.flags);
		flow_counters_check(&r, FC(escalated));
	}
	if (ASSERT_OK(flow_get(fx, &key, &flow), "entry"))
		ASSERT_EQ(flow.escalated, 1 + 4, "escalated past the budget");

	/* VoIP asked for, the flow not VoIP: still bypassed. */
	test__case("voip asked, other flow");
	flow.flags &= ~FL_FLOW_F_VOIP;
	if (ASSERT_OK(flow_put(fx, &key, &flow), "verdict") &&
	    run_one(fx, &p, &r)) {
		ASSERT_EQ(r.action, XDP_PASS, "action");
		flow_counters_check(&r, FC(flow_bypassed));
	}
out:
	free(per_cpu);
}

/* Router mode: escalated frames are routed first (the worker transmits
 * them on ifindex_out); what the kernel must have is not escalated. */
static int build_fib(void)
{
	static const char *const cmds[] = {
		"ip link add " EGRESS " type veth peer name fc1",
		"ip link set " EGRESS " up",
		"ip link set fc1 up",
		"ip addr add 198.51.100.1/24 dev " EGRESS,
		"ip neigh add 198.51.100.2 lladdr " PEER_MAC " dev " EGRESS
		" nud permanent",
		"sysctl -qw net.ipv4.conf.all.forwarding=1 "
		"net.ipv4.conf.lo.forwarding=1",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		if (sh(cmds[i]))
			return -EIO;
	return 0;
}

static void escalate_router(struct fl_fixture *fx)
{
	static const __u8 peer[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0xaa };
	struct pkt_spec local = udp4;
	__u8 egress_mac[ETH_ALEN];
	__u32 egress;
	struct pkt p;
	struct run r;
	int fd = bpf_map__fd(fx->skel->maps.FL_MAP_TX_PORTS);

	test__case("router");
	if (!ASSERT_OK(build_fib(), "build the FIB") ||
	    !ASSERT_OK(fl_iface_mac(EGRESS, egress_mac), "egress MAC"))
		return;
	egress = if_nametoindex(EGRESS);
	if (!ASSERT_NEQ(egress, 0, "egress ifindex") ||
	    !ASSERT_OK(bpf_map_update_elem(fd, &egress, &egress, 0), "port") ||
	    !ASSERT_OK(config_set(fx, FL_MODE_ROUTER, 0, 0), "config"))
		return;
	flows_clear(fx);
	if (!ASSERT_OK(pkt_build(&udp4, &p), "build") || !run_one(fx, &p, &r))
		return;
	check_escalated(&r, &p, &udp4, FL_XSK_TX, egress, FL_FLOW_CLASSIFYING,
			FL_FLOW_F_LO_CLIENT);
	flow_counters_check(&r, FC(flow_created) | FC(escalated));
	/* Routed as stage 8 would: MACs from the FIB, TTL one less. */
	ASSERT_EQ(memcmp(r.frame, peer, ETH_ALEN), 0, "destination MAC");
	ASSERT_EQ(memcmp(r.frame + ETH_ALEN, egress_mac, ETH_ALEN), 0,
		  "source MAC");
	ASSERT_EQ(r.frame[p.l3_off + 8], p.data[p.l3_off + 8] - 1, "TTL");
	ASSERT_EQ(r.after.fwd_pass[FL_FWD_PASS_NOT_FORWARDED] -
			  r.before.fwd_pass[FL_FWD_PASS_NOT_FORWARDED],
		  0, "not passed");

	/* For the box itself: to the kernel, as stage 8 does, counted. */
	test__case("router: local destination");
	local.dst = "198.51.100.1";
	if (!ASSERT_OK(pkt_build(&local, &p), "build") || !run_one(fx, &p, &r))
		return;
	ASSERT_EQ(r.action, XDP_PASS, "action");
	ASSERT_EQ(r.meta_len, 0, "no metadata");
	ASSERT_EQ(memcmp(r.frame, p.data, p.len), 0, "frame untouched");
	if_counters_check(&r, &p, XDP_PASS, KIND(ipv4) | KIND(udp));
	flow_counters_check(&r, FC(flow_created) | FC(escalate_not_forwarded));
	ASSERT_EQ(r.after.fwd_pass[FL_FWD_PASS_NOT_FORWARDED] -
			  r.before.fwd_pass[FL_FWD_PASS_NOT_FORWARDED],
		  1, "fwd_pass[not_forwarded]");
}

/* The escalation cap: at 1 packet/s a CPU escalates one burst of
 * FL_ESCALATE_BURST + 1 new flows, then every further packet fails open
 * (host: XDP_PASS), counted, and creates no entry. Pinned to one CPU:
 * the cap is per CPU. Last: it leaves that CPU's cap in debt. */
static void escalate_capped(struct fl_fixture *fx)
{
	struct fl_config cfg = { .mode = FL_MODE_HOST,
				 .escalate_udp = 1000,
				 .escalate_pps = 1 };
	struct pkt_spec spec = udp4;
	__u64 esc = 0, limited = 0;
	struct fl_flow_key key;
	struct fl_flow flow;
	cpu_set_t cpus, old;
	struct run r;
	struct pkt p;
	int i, dir;

	test__case("escalation cap");
	flows_clear(fx);
	sched_getaffinity(0, sizeof(old), &old);
	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu(), &cpus);
	if (!ASSERT_OK(sched_setaffinity(0, sizeof(cpus), &cpus), "pin") ||
	    !ASSERT_OK(fl_config_write(fx, &cfg), "config"))
		goto out;
	for (i = 0; i < FL_ESCALATE_BURST + 20; i++) {
		spec.udp.sport = 20000 + i; /* a new flow each */
		if (!ASSERT_OK(pkt_build(&spec, &p), "build") ||
		    !run_one(fx, &p, &r))
			goto out;
		if (r.action == XDP_REDIRECT) {
			ASSERT_EQ(limited, 0,
				  "escalated after the cap was reached");
			esc++;
			continue;
		}
		limited++;
		ASSERT_EQ(r.action, XDP_PASS, "over the cap: fails open");
		ASSERT_EQ(r.meta_len, 0, "over the cap: no metadata");
		/* ... and leaves no state: a flood of new flows costs a
		 * lookup, not an insert per packet */
		flow_counters_check(&r, FC(escalate_rate_limited));
		if (ASSERT_OK(key_of(&spec, &key, &dir), "key"))
			ASSERT_ERR(flow_get(fx, &key, &flow),
				   "no entry over the cap");
	}
	ASSERT_EQ(esc, FL_ESCALATE_BURST + 1, "escalated: one burst");
	ASSERT_EQ(limited, 19, "failed open over the cap");
out:
	sched_setaffinity(0, sizeof(old), &old);
}

/*
 * IPv6 with extension headers, alone and chained, TCP and UDP: each packet
 * a new flow, escalated with l4_off and l4_proto where parse_packet()'s
 * walk found L4, and the worker's key from the metadata equal to XDP's
 * (check_escalated()). The walk the workers once did (0, 43, 60 only)
 * gave a flow behind AH or a fragment header another key: its verdict
 * was lost.
 */
static void escalate_ipv6_ext(struct fl_fixture *fx)
{
	static const struct {
		const char *name;
		__u8 nr_ext;
		struct pkt_ext6 ext[6];
	} chains[] = {
		{ "hop-by-hop", 1, { PKT_EXT(HOPOPTS) } },
		{ "hop-by-hop, 24 bytes", 1, { PKT_EXT(HOPOPTS, .len = 24) } },
		{ "routing", 1, { PKT_EXT(ROUTING, .len = 24) } },
		{ "fragment (first)",
		  1,
		  { PKT_EXT(FRAGMENT, .frag_off = PKT_IP6_FRAG(0, 1)) } },
		{ "fragment (atomic)",
		  1,
		  { PKT_EXT(FRAGMENT, .frag_off = PKT_IP6_FRAG(0, 0)) } },
		{ "ah", 1, { PKT_EXT(AH) } },
		{ "ah, 16 bytes", 1, { PKT_EXT(AH, .len = 16) } },
		{ "destination options", 1, { PKT_EXT(DSTOPTS, .len = 16) } },
		{ "hop-by-hop, routing, fragment, ah, destination options",
		  5,
		  { PKT_EXT(HOPOPTS), PKT_EXT(ROUTING),
		    PKT_EXT(FRAGMENT, .frag_off = PKT_IP6_FRAG(0, 1)),
		    PKT_EXT(AH), PKT_EXT(DSTOPTS) } },
		{ "destination options, ah, fragment",
		  3,
		  { PKT_EXT(DSTOPTS), PKT_EXT(AH),
		    PKT_EXT(FRAGMENT, .frag_off = PKT_IP6_FRAG(0, 1)) } },
		{ "hop-by-hop, destination options, routing, ah, destination "
		  "options, fragment",
		  6,
		  { PKT_EXT(HOPOPTS), PKT_EXT(DSTOPTS), PKT_EXT(ROUTING),
		    PKT_EXT(AH), PKT_EXT(DSTOPTS),
		    PKT_EXT(FRAGMENT, .frag_off = PKT_IP6_FRAG(0, 1)) } },
	};
	static const enum pkt_l4 l4s[] = { PKT_TCP, PKT_UDP };
	size_t c, l;
	__u16 port = 30000;

	if (!ASSERT_OK(config_set(fx, FL_MODE_HOST, 4, 0), "config"))
		return;
	for (c = 0; c < ARRAY_SIZE(chains); c++) {
		for (l = 0; l < ARRAY_SIZE(l4s); l++) {
			struct pkt_spec spec = {
				.l3 = PKT_IPV6,
				.src = "2001:db8:6::1",
				.dst = "2001:db8:6::2",
				.l4 = l4s[l],
				.tcp = { .sport = port,
					 .dport = 443,
					 .flags = PKT_TCP_ACK | PKT_TCP_PSH },
				.udp = { .sport = port, .dport = 4433 },
				.payload_len = 48,
			};
			struct fl_flow_key key;
			struct fl_flow flow;
			struct run r;
			struct pkt p;
			int dir;

			test__case("ipv6 %s: %s",
				   l4s[l] == PKT_TCP ? "tcp" : "udp",
				   chains[c].name);
			port++;
			spec.ip6.nr_ext = chains[c].nr_ext;
			memcpy(spec.ip6.ext, chains[c].ext,
			       sizeof(chains[c].ext));
			flows_clear(fx);
			if (!ASSERT_OK(pkt_build(&spec, &p), "build") ||
			    !ASSERT_OK(key_of(&spec, &key, &dir), "key") ||
			    !run_one(fx, &p, &r))
				return;
			ASSERT_GT(p.l4_off, p.l3_off + 40, "l4 behind the ext");
			check_escalated(&r, &p, &spec, FL_XSK_PASS, 0,
					FL_FLOW_CLASSIFYING,
					dir ? 0 : FL_FLOW_F_LO_CLIENT);
			flow_counters_check(&r,
					    FC(escalated) | FC(flow_created));
			/* the entry a worker's verdict must find */
			if (ASSERT_OK(flow_get(fx, &key, &flow), "entry"))
				ASSERT_EQ(flow.escalated, 1, "escalated");
		}
	}
}

static void check_escalation(void)
{
	struct fl_fixture fx;
	struct xsk x;
	int err;

	if (!ASSERT_OK(fl_fixture_open(&fx), "fixture open"))
		return;
	test__case("AF_XDP socket on lo");
	err = xsk_open(&x);
	if (err) {
		test__log(
			"cannot create an AF_XDP socket on lo in copy mode: %s",
			strerror(-err));
		ASSERT_OK(err, "xsk_socket__create");
		goto out;
	}
	if (!ASSERT_OK(xsk_insert(&fx, &x, true), "socket into fl_xsks"))
		goto out;
	escalate_modes(&fx);
	escalate_fail_open(&fx, &x);
	escalate_verdicts(&fx);
	escalate_router(&fx);
	escalate_ipv6_ext(&fx);
	escalate_capped(&fx);
out:
	xsk_close(&x);
	fl_fixture_close(&fx);
}

void test_flowcache_escalate(void)
{
	in_private_netns(check_escalation);
}

/* ---- flowcache_skipped -------------------------------------------------- */

static void check_skipped(void)
{
	static const struct {
		const char *name;
		__u32 flags;
		struct pkt_spec spec;
		__u32 kinds;
	} cases[] = {
		{ "escalate_flags off",
		  FL_ESCALATE_F_OFF,
		  { .l3 = PKT_IPV4, .l4 = PKT_UDP, .payload_len = 10 },
		  KIND(ipv4) | KIND(udp) },
		{ "escalate_flags off, tcp payload",
		  FL_ESCALATE_F_OFF | FL_ESCALATE_F_VOIP,
		  { .l3 = PKT_IPV6, .l4 = PKT_TCP, .payload_len = 10 },
		  KIND(ipv6) | KIND(tcp) },
		{ "ipv4 non-first fragment",
		  0,
		  { .l3 = PKT_IPV4,
		    .l4 = PKT_UDP,
		    .ip4.frag_off = PKT_IP4_FRAG(8, 0),
		    .payload_len = 64 },
		  KIND(ipv4) | KIND(fragment) },
		{ "ipv6 non-first fragment",
		  0,
		  { .l3 = PKT_IPV6,
		    .l4 = PKT_UDP,
		    .ip6.nr_ext = 1,
		    .ip6.ext = { PKT_EXT(FRAGMENT,
					 .frag_off = PKT_IP6_FRAG(8, 1)) },
		    .payload_len = 64 },
		  KIND(ipv6) | KIND(ipv6_ext) | KIND(fragment) },
		/* the traffic of one link: the kernel's, on its interface */
		{ "ipv6 neighbour advertisement, global addresses",
		  0,
		  { .l3 = PKT_IPV6,
		    .l4 = PKT_ICMPV6,
		    .src = "2001:db8:1::2",
		    .dst = "2001:db8:1::1",
		    .icmp = { .type = 136 },
		    .payload_len = 20 },
		  KIND(ipv6) | KIND(icmpv6) },
		{ "ipv6 neighbour solicitation, multicast",
		  0,
		  { .l3 = PKT_IPV6,
		    .l4 = PKT_ICMPV6,
		    .src = "2001:db8:1::1",
		    .dst = "ff02::1:ff00:2",
		    .icmp = { .type = 135 },
		    .payload_len = 20 },
		  KIND(ipv6) | KIND(icmpv6) },
		{ "ipv6 udp to a link-local address",
		  0,
		  { .l3 = PKT_IPV6,
		    .l4 = PKT_UDP,
		    .src = "2001:db8::1",
		    .dst = "fe80::1",
		    .payload_len = 10 },
		  KIND(ipv6) | KIND(udp) },
		{ "ipv6 udp from a link-local address",
		  0,
		  { .l3 = PKT_IPV6,
		    .l4 = PKT_UDP,
		    .src = "fe80::2",
		    .dst = "2001:db8::1",
		    .payload_len = 10 },
		  KIND(ipv6) | KIND(udp) },
		{ "ipv4 multicast",
		  0,
		  { .l3 = PKT_IPV4,
		    .l4 = PKT_UDP,
		    .dst = "224.0.0.251",
		    .payload_len = 10 },
		  KIND(ipv4) | KIND(udp) },
		{ "ipv4 broadcast",
		  0,
		  { .l3 = PKT_IPV4,
		    .l4 = PKT_UDP,
		    .dst = "255.255.255.255",
		    .payload_len = 10 },
		  KIND(ipv4) | KIND(udp) },
	};
	struct fl_fixture fx;
	size_t i;

	if (!ASSERT_OK(fl_fixture_open(&fx), "fixture open"))
		return;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct pkt p;
		struct run r;

		test__case("%s", cases[i].name);
		if (!ASSERT_OK(config_set(&fx, FL_MODE_HOST, 0, cases[i].flags),
			       "config") ||
		    !ASSERT_OK(pkt_build(&cases[i].spec, &p), "build") ||
		    !run_one(&fx, &p, &r))
			break;
		ASSERT_EQ(r.action, XDP_PASS, "action");
		ASSERT_EQ(memcmp(r.frame, p.data, p.len), 0, "untouched");
		if_counters_check(&r, &p, XDP_PASS, cases[i].kinds);
		flow_counters_check(&r, 0);
		ASSERT_EQ(flows_count(&fx), 0, "entries");
	}
	/* The control: the same first case with the stages on. */
	test__case("control: on");
	if (ASSERT_OK(config_set(&fx, FL_MODE_HOST, 0, 0), "config")) {
		struct pkt p;
		struct run r;

		if (ASSERT_OK(pkt_build(&cases[0].spec, &p), "build") &&
		    run_one(&fx, &p, &r))
			ASSERT_EQ(flows_count(&fx), 1, "entries");
	}
	fl_fixture_close(&fx);
}

void test_flowcache_skipped(void)
{
	in_private_netns(check_skipped);
}

/* ---- flowcache_last_seen ------------------------------------------------ */

/*
 * A known flow's last_seen is read from the clock once a tick (seen_tick,
 * include/flowlens/flow.h): a packet in a tick the entry has not seen
 * refreshes it and records the tick; one in the same tick leaves it. The
 * tick is the kernel's jiffies, which userspace cannot read: "another
 * tick" is one 30000 ticks away from the one the program wrote, and "the
 * same tick" is caught by trying a few times (a run takes microseconds, a
 * tick milliseconds), which an entry refreshed by every packet never passes.
 */
static void check_last_seen(void)
{
	const struct pkt_spec spec = { .l3 = PKT_IPV4,
				       .l4 = PKT_UDP,
				       .src = "192.0.2.1",
				       .dst = "198.51.100.1",
				       .udp = { .sport = 1024, .dport = 9 },
				       .payload_len = 32 };
	struct fl_flow_key key;
	struct fl_flow flow;
	struct fl_fixture fx;
	int dir, try, skipped = 0;
	__u16 tick;
	struct pkt p;
	struct run r;

	if (!ASSERT_OK(fl_fixture_open(&fx), "fixture open"))
		return;
	if (!ASSERT_OK(config_set(&fx, FL_MODE_HOST, 0, 0), "config") ||
	    !ASSERT_OK(pkt_build(&spec, &p), "build") ||
	    !ASSERT_OK(key_of(&spec, &key, &dir), "key") ||
	    !run_one(&fx, &p, &r) ||
	    !ASSERT_OK(flow_get(&fx, &key, &flow), "created"))
		goto out;
	ASSERT_GT(flow.last_seen, 0, "a new flow's last_seen");

	test__case("another tick: refreshed");
	tick = flow.seen_tick + 30000;
	flow.seen_tick = tick;
	flow.last_seen = 1;
	if (!ASSERT_OK(flow_put(&fx, &key, &flow), "put") ||
	    !run_one(&fx, &p, &r) ||
	    !ASSERT_OK(flow_get(&fx, &key, &flow), "get"))
		goto out;
	ASSERT_GT(flow.last_seen, 1, "last_seen read from the clock");
	ASSERT_NEQ(flow.seen_tick, tick, "seen_tick moved to this tick");

	test__case("the same tick: left as it is");
	for (try = 0; try < 5 && !skipped; try++) {
		tick = flow.seen_tick;
		flow.last_seen = 1;
		if (!ASSERT_OK(flow_put(&fx, &key, &flow), "put") ||
		    !run_one(&fx, &p, &r) ||
		    !ASSERT_OK(flow_get(&fx, &key, &flow), "get"))
			goto out;
		skipped = flow.seen_tick == tick && flow.last_seen == 1;
	}
	ASSERT_TRUE(skipped, "a packet in the entry's tick skipped the clock");
	ASSERT_EQ(fl_flow_packets(&flow), 2 + try, "every packet counted");
out:
	fl_fixture_close(&fx);
}

void test_flowcache_last_seen(void)
{
	in_private_netns(check_last_seen);
}

/*
 * What an IPFIX record needs from the entry: packets and bytes per
 * direction, every TCP packet's flags ORed, when it began, and the
 * interface, outer VLAN and DSCP of the packet that made it.
 */
static void check_record_fields(void)
{
	const struct pkt_spec fwd = { .vlan.count = 1,
				      .l3 = PKT_IPV4,
				      .l4 = PKT_TCP,
				      .src = "192.0.2.1",
				      .dst = "198.51.100.1",
				      .ip4.tos = 46 << 2, /* EF */
				      .tcp = { .sport = 40000,
					       .dport = 443,
					       .flags = PKT_TCP_ACK |
							PKT_TCP_PSH },
				      .payload_len = 100 };
	struct pkt_spec fin = fwd, rev = reversed(&fwd);
	struct fl_flow_key key;
	struct pkt p1, p2, p3;
	struct fl_flow flow;
	struct fl_fixture fx;
	int dir, dir_rev;
	struct run r;

	rev.payload_len = 1000;
	rev.tcp.flags = PKT_TCP_ACK;
	fin.tcp.flags = PKT_TCP_ACK | PKT_TCP_FIN;
	fin.payload_len = 0;
	if (!ASSERT_OK(fl_fixture_open(&fx), "fixture open"))
		return;
	if (!ASSERT_OK(config_set(&fx, FL_MODE_HOST, 0, 0), "config") ||
	    !ASSERT_OK(pkt_build(&fwd, &p1), "build") ||
	    !ASSERT_OK(pkt_build(&rev, &p2), "build reply") ||
	    !ASSERT_OK(pkt_build(&fin, &p3), "build fin") ||
	    !ASSERT_OK(key_of(&fwd, &key, &dir), "key") ||
	    !ASSERT_OK(key_of(&rev, &key, &dir_rev), "key reversed"))
		goto out;
	/* two from the client, one reply, then the client's FIN */
	if (!run_one(&fx, &p1, &r) || !run_one(&fx, &p1, &r) ||
	    !run_one(&fx, &p2, &r) || !run_one(&fx, &p3, &r) ||
	    !ASSERT_OK(flow_get(&fx, &key, &flow), "entry"))
		goto out;
	ASSERT_EQ(flow.packets[dir], 3, "the client's packets");
	ASSERT_EQ(flow.bytes[dir], 2 * p1.len + p3.len, "the client's bytes");
	ASSERT_EQ(flow.packets[dir_rev], 1, "the server's packets");
	ASSERT_EQ(flow.bytes[dir_rev], p2.len, "the server's bytes");
	ASSERT_EQ(flow.tcp_flags, PKT_TCP_ACK | PKT_TCP_PSH | PKT_TCP_FIN,
		  "TCP flags ORed");
	ASSERT_GT(flow.first_seen, 0, "first_seen");
	ASSERT_LE(flow.first_seen, flow.last_seen, "first_seen <= last_seen");
	ASSERT_EQ(flow.vlan, 100, "the outer VLAN id");
	ASSERT_EQ(flow.dscp, 46, "DSCP");
	ASSERT_EQ(flow.ifindex, 1, "the interface (lo in the test run)");
out:
	fl_fixture_close(&fx);
}

void test_flowcache_record_fields(void)
{
	in_private_netns(check_record_fields);
}
