// SPDX-License-Identifier: Apache-2.0
/*
 * The DDoS engine's datapath (bpf/allow.h, bpf/account.h) and its
 * threshold grammar (user/lib/threshold.c):
 *   ddos_allowlist       stage 2: a source in fl_allow4/6 skips a drop rule
 *                        that matches it (host and monitor mode), the rule
 *                        does not count it, the interface counts it as
 *                        allowlisted; its neighbours are still dropped
 *   ddos_rx_classes      what a protected address receives, per class (TCP,
 *                        UDP, ICMP, fragments), exact packets and bytes
 *   ddos_samples         one fl_sample per packet to a protected address
 *                        at sample_rate 1, field by field; none elsewhere
 *   ddos_sample_budget   at most FL_SAMPLE_BUDGET per CPU per slot
 *   ddos_sample_rate     one in sample_rate, within a binomial bound
 *   ddos_threshold_text  canonical text round trips; mistakes are refused
 *                        naming the word at fault
 */
#include <arpa/inet.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include "pkt.h"
#include "prefix.h"
#include "rule.h"
#include "ruleset.h"
#include "threshold.h"
#include "test_progs.h"

#define SEED 0x5eed0123456789abULL
#define NEVER_HEAVY ((__u64)1 << 40)

static const struct fl_config quiet_cfg = {
	.hash_seed = SEED,
	.heavy_packets = NEVER_HEAVY,
	.heavy_bytes = ~0ULL,
};

/* ---- helpers ------------------------------------------------------------ */

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

static int add_rule(struct fl_ruleset *rs, const char *text, __u32 *id)
{
	char line[512], err[256];
	struct fl_rule rule;
	size_t bad;
	int ret;

	snprintf(line, sizeof(line), "%s", text);
	ret = fl_rule_parse_line(line, 100, &rule, err, sizeof(err));
	if (!ret)
		ret = fl_ruleset_add(rs, &rule, 1, &bad, err, sizeof(err));
	if (ret)
		test__log("rule '%s': %s", text, err);
	else
		*id = rule.id;
	return ret;
}

/* "192.0.2.0/24" into (@add) or out of fl_allow4/fl_allow6. */
static int allow_change(struct fl_fixture *fx, const char *text, bool add)
{
	struct fl_allow value = {};
	struct fl_prefix prefix;
	struct fl_lpm6_key key6;
	struct fl_lpm4_key key4;
	char why[128];
	void *key = &key4;
	int fd, err;

	err = fl_prefix_parse(text, &prefix, why, sizeof(why));
	if (err) {
		test__log("bad prefix %s: %s", text, why);
		return err;
	}
	if (prefix.family == AF_INET6) {
		key6.prefixlen = prefix.len;
		memcpy(key6.addr, prefix.addr.b, sizeof(key6.addr));
		key = &key6;
		fd = bpf_map__fd(fx->skel->maps.fl_allow6);
	} else {
		key4.prefixlen = prefix.len;
		memcpy(key4.addr, prefix.addr.b, sizeof(key4.addr));
		fd = bpf_map__fd(fx->skel->maps.fl_allow4);
	}
	err = add ? bpf_map_update_elem(fd, key, &value, BPF_ANY) :
		    bpf_map_delete_elem(fd, key);
	if (err)
		return -errno;
	/* the tests hold one prefix at a time */
	return fl_allow_prefixes_set(fx, add);
}

/*
 * Every counter of one address summed over CPUs. fl_ip_stats_read() sums
 * the two sides only; this one also sums rx_packets[] and rx_bytes[].
 * -ENOENT: no entry (all zeros).
 */
static int ip_stats_sum(struct fl_fixture *fx, int family, const char *text,
			struct fl_ip_stats *sum)
{
	union fl_addr addr = fl_addr_of(family, text);
	int ncpus = libbpf_num_possible_cpus(), cpu, side, c, err;
	struct fl_ip6_key key6 = {};
	struct fl_ip4_key key4 = {};
	struct fl_ip_stats *values;
	const void *key = &key4;
	struct bpf_map *map = fx->skel->maps.fl_ip4_stats;

	memset(sum, 0, sizeof(*sum));
	if (family == AF_INET6) {
		memcpy(key6.addr, addr.b, sizeof(key6.addr));
		key = &key6;
		map = fx->skel->maps.fl_ip6_stats;
	} else {
		memcpy(key4.addr, addr.b, sizeof(key4.addr));
	}
	if (ncpus < 0)
		return ncpus;
	/* 128 bytes: what the kernel copies per CPU, no rounding */
	values = calloc(ncpus, sizeof(*values));
	if (!values)
		return -ENOMEM;
	err = fl_percpu_lookup(bpf_map__fd(map), key, values, sizeof(*values));
	for (cpu = 0; !err && cpu < ncpus; cpu++) {
		for (side = 0; side < FL_SIDE_COUNT; side++) {
			sum->side[side].packets +=
				values[cpu].side[side].packets;
			sum->side[side].bytes += values[cpu].side[side].bytes;
			sum->side[side].syns += values[cpu].side[side].syns;
		}
		for (c = 0; c < FL_RX_COUNT; c++) {
			sum->rx_packets[c] += values[cpu].rx_packets[c];
			sum->rx_bytes[c] += values[cpu].rx_bytes[c];
		}
		sum->reason |= values[cpu].reason;
	}
	free(values);
	return err;
}

/* Like ip_stats_sum(), with a missing entry read as all zeros. */
static bool ip_stats_get(struct fl_fixture *fx, int family, const char *text,
			 struct fl_ip_stats *sum)
{
	int err = ip_stats_sum(fx, family, text, sum);

	return err == -ENOENT || ASSERT_OK(err, "read exact counters");
}

static const char *const rx_class_names[FL_RX_COUNT] = {
	[FL_RX_TCP] = "tcp",
	[FL_RX_UDP] = "udp",
	[FL_RX_ICMP] = "icmp",
	[FL_RX_FRAG] = "frag",
};

/* ---- stage 2: the allowlist --------------------------------------------- */

struct allow_case {
	const char *name;
	int family;
	const char *rule; /* drops every packet below */
	const char *dst; /* protected, so accounting shows too */
	const char *allow; /* the allowlisted prefix */
	const char *inside[2]; /* sources in it (NULL: none) */
	const char *outside[2]; /* its neighbours, just outside */
};

static const struct allow_case allow_cases[] = {
	{ "ipv4 /32",
	  AF_INET,
	  "dst 198.51.100.7/32 proto udp action drop",
	  "198.51.100.7",
	  "192.0.2.10/32",
	  { "192.0.2.10", NULL },
	  { "192.0.2.11", "192.0.2.9" } },
	{ "ipv4 /24",
	  AF_INET,
	  "dst 198.51.100.7/32 proto udp action drop",
	  "198.51.100.7",
	  "192.0.2.0/24",
	  { "192.0.2.0", "192.0.2.255" },
	  { "192.0.3.0", "192.0.1.255" } },
	{ "ipv6 /64",
	  AF_INET6,
	  "dst 2001:db8:1::7/128 proto udp action drop",
	  "2001:db8:1::7",
	  "2001:db8:a:b::/64",
	  { "2001:db8:a:b::10", "2001:db8:a:b:ffff:ffff:ffff:ffff" },
	  { "2001:db8:a:c::", "2001:db8:a:a:ffff:ffff:ffff:ffff" } },
};

/* What one packet changed. */
struct allow_delta {
	__u32 action;
	__s64 rule_packets, rule_dropped;
	__s64 allowlisted, verdict; /* verdict[action] */
	__s64 dst_received; /* the destination's exact counter */
};

static bool send_allow(struct fl_fixture *fx, struct fl_ruleset *rs, __u32 id,
		       const struct allow_case *c, const char *src,
		       struct allow_delta *d)
{
	struct pkt_spec spec = {
		.l3 = c->family == AF_INET ? PKT_IPV4 : PKT_IPV6,
		.src = src,
		.dst = c->dst,
		.l4 = PKT_UDP,
		.payload_len = 32,
	};
	struct fl_if_stats if0, if1;
	struct fl_rule_stats r0, r1;
	struct fl_ip_stats ip0, ip1;
	struct fl_rule_def def;
	struct pkt p;

	memset(d, 0, sizeof(*d));
	if (!ASSERT_OK(pkt_build(&spec, &p), "build") ||
	    !ASSERT_OK(fl_if_stats_read(fx, &if0), "read if stats") ||
	    !ASSERT_OK(fl_ruleset_get(rs, id, &def, &r0), "read rule") ||
	    !ip_stats_get(fx, c->family, c->dst, &ip0) ||
	    !ASSERT_OK(fl_run(fx, p.data, p.len, 1, &d->action), "run") ||
	    !ASSERT_OK(fl_if_stats_read(fx, &if1), "read if stats") ||
	    !ASSERT_OK(fl_ruleset_get(rs, id, &def, &r1), "read rule") ||
	    !ip_stats_get(fx, c->family, c->dst, &ip1))
		return false;
	if (!ASSERT_LT(d->action, FL_VERDICT_COUNT, "action"))
		return false;
	d->rule_packets = r1.packets - r0.packets;
	d->rule_dropped = r1.dropped - r0.dropped;
	d->allowlisted = if1.allowlisted - if0.allowlisted;
	d->verdict = if1.verdict[d->action] - if0.verdict[d->action];
	d->dst_received =
		ip1.side[FL_SIDE_DST].packets - ip0.side[FL_SIDE_DST].packets;
	return true;
}

/* @allowed: the source is on the allowlist; every mode accounts it. */
static void expect_allow(struct fl_fixture *fx, struct fl_ruleset *rs, __u32 id,
			 const struct allow_case *c, const char *src,
			 __u32 mode, bool allowed)
{
	__u32 action = allowed && mode != FL_MODE_MONITOR ? XDP_PASS : XDP_DROP;
	struct allow_delta d;
	char what[128];

	snprintf(what, sizeof(what), "%s from %s",
		 allowed ? "allowed" : "dropped", src);
	test__log("%s: %s", c->name, what);
	if (!send_allow(fx, rs, id, c, src, &d))
		return;
	ASSERT_EQ(d.action, action, what);
	ASSERT_EQ(d.verdict, 1, "verdict counted");
	ASSERT_EQ(d.rule_packets, !allowed, "rule packets");
	ASSERT_EQ(d.rule_dropped, !allowed, "rule dropped");
	ASSERT_EQ(d.allowlisted, allowed, "if stats allowlisted");
	ASSERT_EQ(d.dst_received, 1, "still accounted");
}

static void check_allow(const struct allow_case *c, __u32 mode)
{
	struct fl_config cfg = quiet_cfg;
	struct fl_ruleset *rs = NULL;
	struct fl_fixture fx;
	char protect[64];
	__u32 id = 0;
	int i;

	cfg.mode = mode;
	snprintf(protect, sizeof(protect), "%s", c->dst);
	if (!ASSERT_OK(fl_fixture_open(&fx), "fixture open"))
		return;
	if (!ASSERT_OK(fl_config_write(&fx, &cfg), "config") ||
	    !ASSERT_OK(fl_protect_add(&fx, protect), "protect") ||
	    !ASSERT_OK(open_rs(&fx, &rs), "ruleset") ||
	    !ASSERT_OK(add_rule(rs, c->rule, &id), "add rule"))
		goto out;

	/* Without the allowlist, the rule drops every one of them. */
	for (i = 0; i < 2; i++) {
		if (c->inside[i])
			expect_allow(&fx, rs, id, c, c->inside[i], mode, false);
		expect_allow(&fx, rs, id, c, c->outside[i], mode, false);
	}
	if (!ASSERT_OK(allow_change(&fx, c->allow, true), "allow"))
		goto out;
	for (i = 0; i < 2; i++) {
		if (c->inside[i])
			expect_allow(&fx, rs, id, c, c->inside[i], mode, true);
		expect_allow(&fx, rs, id, c, c->outside[i], mode, false);
	}
	/* Off the allowlist again: the rule applies again at once. */
	if (!ASSERT_OK(allow_change(&fx, c->allow, false), "disallow"))
		goto out;
	expect_allow(&fx, rs, id, c, c->inside[0], mode, false);
out:
	fl_ruleset_free(rs);
	fl_fixture_close(&fx);
}

void test_ddos_allowlist(void)
{
	static const __u32 modes[] = { FL_MODE_HOST, FL_MODE_MONITOR };
	size_t i, m;

	for (m = 0; m < ARRAY_SIZE(modes); m++)
		for (i = 0; i < ARRAY_SIZE(allow_cases); i++) {
			test__case("%s, %s mode", allow_cases[i].name,
				   modes[m] == FL_MODE_HOST ? "host" :
							      "monitor");
			check_allow(&allow_cases[i], modes[m]);
		}
}

/* ---- per-class receive counters ----------------------------------------- */

#define RX_V4 .l3 = PKT_IPV4, .src = "192.0.2.1", .dst = "198.51.100.7"
#define RX_V6 .l3 = PKT_IPV6, .src = "2001:db8::1", .dst = "2001:db8:1::7"
#define FRAG6(off, more)                    \
	.ip6 = { .nr_ext = 1,               \
		 .ext = { PKT_EXT(FRAGMENT, \
				  .frag_off = PKT_IP6_FRAG(off, more)) } }
#define NO_CLASS (-1)

struct rx_case {
	const char *name;
	struct pkt_spec pkt;
	__u32 count; /* packets sent, one run with repeat */
	int class; /* enum fl_rx_class besides FL_RX_FRAG, or NO_CLASS */
	bool frag;
};

static const struct rx_case rx_cases[] = {
	{ "ipv4 tcp syn",
	  { RX_V4, .l4 = PKT_TCP, .tcp.flags = PKT_TCP_SYN },
	  3,
	  FL_RX_TCP,
	  false },
	{ "ipv4 udp",
	  { RX_V4, .l4 = PKT_UDP, .payload_len = 100 },
	  5,
	  FL_RX_UDP,
	  false },
	{ "ipv4 icmp echo",
	  { RX_V4, .l4 = PKT_ICMP, .icmp.type = 8 },
	  7,
	  FL_RX_ICMP,
	  false },
	{ "ipv4 gre: no class",
	  { RX_V4, .proto = PKT_SET(47), .payload_len = 40 },
	  2,
	  NO_CLASS,
	  false },
	{ "ipv4 first fragment, udp",
	  { RX_V4, .l4 = PKT_UDP, .ip4.frag_off = PKT_IP4_FRAG(0, 1),
	    .payload_len = 200 },
	  4,
	  FL_RX_UDP,
	  true },
	{ "ipv4 non-first fragment, udp",
	  { RX_V4, .proto = PKT_SET(17), .ip4.frag_off = PKT_IP4_FRAG(100, 0),
	    .payload_len = 64 },
	  6,
	  FL_RX_UDP,
	  true },
	{ "ipv4 non-first fragment, tcp",
	  { RX_V4, .proto = PKT_SET(6), .ip4.frag_off = PKT_IP4_FRAG(50, 1),
	    .payload_len = 48 },
	  1,
	  FL_RX_TCP,
	  true },
	{ "ipv4 non-first fragment, icmp",
	  { RX_V4, .proto = PKT_SET(1), .ip4.frag_off = PKT_IP4_FRAG(10, 0),
	    .payload_len = 16 },
	  2,
	  FL_RX_ICMP,
	  true },
	{ "ipv4 non-first fragment, gre: frag only",
	  { RX_V4, .proto = PKT_SET(47), .ip4.frag_off = PKT_IP4_FRAG(10, 0),
	    .payload_len = 24 },
	  3,
	  NO_CLASS,
	  true },
	{ "ipv6 tcp ack with data",
	  { RX_V6, .l4 = PKT_TCP, .tcp.flags = PKT_TCP_ACK,
	    .payload_len = 300 },
	  2,
	  FL_RX_TCP,
	  false },
	{ "ipv6 udp",
	  { RX_V6, .l4 = PKT_UDP, .payload_len = 10 },
	  3,
	  FL_RX_UDP,
	  false },
	{ "ipv6 icmpv6 echo",
	  { RX_V6, .l4 = PKT_ICMPV6, .icmp.type = 128 },
	  4,
	  FL_RX_ICMP,
	  false },
	{ "ipv6 first fragment, tcp",
	  { RX_V6, .l4 = PKT_TCP, .tcp.flags = PKT_TCP_SYN, FRAG6(0, 1) },
	  5,
	  FL_RX_TCP,
	  true },
	{ "ipv6 non-first fragment, udp",
	  { RX_V6, .proto = PKT_SET(17), FRAG6(100, 0), .payload_len = 64 },
	  6,
	  FL_RX_UDP,
	  true },
	{ "ipv6 non-first fragment, icmpv6",
	  { RX_V6, .proto = PKT_SET(58), FRAG6(7, 1), .payload_len = 32 },
	  2,
	  FL_RX_ICMP,
	  true },
};

void test_ddos_rx_classes(void)
{
	static const struct {
		int family;
		const char *sender, *receiver;
	} ends[] = {
		{ AF_INET, "192.0.2.1", "198.51.100.7" },
		{ AF_INET6, "2001:db8::1", "2001:db8:1::7" },
	};
	__u64 sent[2] = {}, sent_bytes[2] = {};
	struct fl_ip_stats before, after;
	struct fl_fixture fx;
	char what[64];
	size_t i, e;
	int c;

	if (!ASSERT_OK(fl_fixture_open(&fx), "fixture open"))
		return;
	/* The receivers' prefixes, and each sender as a host: both ends
	 * get exact counters, only the receiving end counts classes. */
	if (!ASSERT_OK(fl_config_write(&fx, &quiet_cfg), "config") ||
	    !ASSERT_OK(fl_protect_add(&fx, "198.51.100.0/24"), "protect") ||
	    !ASSERT_OK(fl_protect_add(&fx, "2001:db8:1::/48"), "protect") ||
	    !ASSERT_OK(fl_protect_add(&fx, "192.0.2.1/32"), "protect") ||
	    !ASSERT_OK(fl_protect_add(&fx, "2001:db8::1/128"), "protect"))
		goto out;

	for (i = 0; i < ARRAY_SIZE(rx_cases); i++) {
		const struct rx_case *rc = &rx_cases[i];
		int family = rc->pkt.l3 == PKT_IPV6 ? AF_INET6 : AF_INET;
		__u32 action;
		struct pkt p;

		test__case("%s", rc->name);
		if (!ASSERT_OK(pkt_build(&rc->pkt, &p), "build") ||
		    !ip_stats_get(&fx, family, rc->pkt.dst, &before) ||
		    !ASSERT_OK(fl_run(&fx, p.data, p.len, rc->count, &action),
			       "run") ||
		    !ip_stats_get(&fx, family, rc->pkt.dst, &after))
			continue;
		ASSERT_EQ(action, XDP_PASS, "action");
		ASSERT_EQ(after.side[FL_SIDE_DST].packets -
				  before.side[FL_SIDE_DST].packets,
			  rc->count, "received packets");
		for (c = 0; c < FL_RX_COUNT; c++) {
			bool in = c == rc->class ||
				  (c == FL_RX_FRAG && rc->frag);

			snprintf(what, sizeof(what), "rx_packets[%s]",
				 rx_class_names[c]);
			ASSERT_EQ(after.rx_packets[c] - before.rx_packets[c],
				  in ? rc->count : 0, what);
			snprintf(what, sizeof(what), "rx_bytes[%s]",
				 rx_class_names[c]);
			ASSERT_EQ(after.rx_bytes[c] - before.rx_bytes[c],
				  in ? (__u64)rc->count * p.len : 0, what);
		}
		sent[family == AF_INET6] += rc->count;
		sent_bytes[family == AF_INET6] += (__u64)rc->count * p.len;
	}

	/* The senders: every packet on their sending side, no class. */
	for (e = 0; e < ARRAY_SIZE(ends); e++) {
		test__case("sender %s", ends[e].sender);
		if (!ASSERT_OK(ip_stats_sum(&fx, ends[e].family, ends[e].sender,
					    &after),
			       "sender entry"))
			continue;
		ASSERT_EQ(after.side[FL_SIDE_SRC].packets, sent[e],
			  "sent packets");
		ASSERT_EQ(after.side[FL_SIDE_SRC].bytes, sent_bytes[e],
			  "sent bytes");
		ASSERT_EQ(after.side[FL_SIDE_DST].packets, 0, "received");
		for (c = 0; c < FL_RX_COUNT; c++) {
			snprintf(what, sizeof(what), "sender rx_packets[%s]",
				 rx_class_names[c]);
			ASSERT_EQ(after.rx_packets[c], 0, what);
			snprintf(what, sizeof(what), "sender rx_bytes[%s]",
				 rx_class_names[c]);
			ASSERT_EQ(after.rx_bytes[c], 0, what);
		}
	}
out:
	fl_fixture_close(&fx);
}

/* ---- samples ------------------------------------------------------------ */

struct sample_log {
	struct fl_sample last;
	int count;
	int bad_size;
};

static int sample_cb(void *ctx, void *data, size_t size)
{
	struct sample_log *log = ctx;

	if (size != sizeof(struct fl_sample)) {
		log->bad_size++;
		return 0;
	}
	memcpy(&log->last, data, sizeof(log->last));
	log->count++;
	return 0;
}

/* The samples in the ring since the last call: how many (or -errno). */
static int samples_take(struct ring_buffer *rb, struct sample_log *log)
{
	int err;

	log->count = 0;
	log->bad_size = 0;
	err = ring_buffer__consume(rb);
	if (err < 0)
		return err;
	if (!ASSERT_EQ(log->bad_size, 0, "sample records of the wrong size"))
		return -EPROTO;
	return log->count;
}

static struct ring_buffer *samples_open(struct fl_fixture *fx,
					struct sample_log *log)
{
	return ring_buffer__new(bpf_map__fd(fx->skel->maps.fl_samples),
				sample_cb, log, NULL);
}

/* The runner keeps itself on one CPU: that CPU's quota. */
static int quota_read(struct fl_fixture *fx, struct fl_sample_quota *quota)
{
	int ncpus = libbpf_num_possible_cpus(), cpu = sched_getcpu(), err;
	struct fl_sample_quota *values;
	__u32 zero = 0;

	if (ncpus < 0 || cpu < 0 || cpu >= ncpus)
		return -EINVAL;
	values = calloc(ncpus, sizeof(*values));
	if (!values)
		return -ENOMEM;
	err = fl_percpu_lookup(bpf_map__fd(fx->skel->maps.fl_sample_quota),
			       &zero, values, sizeof(*values));
	if (!err)
		*quota = values[cpu];
	free(values);
	return err;
}

/* The same quota on every CPU. */
static int quota_write(struct fl_fixture *fx, __u32 slot, __u32 used)
{
	int ncpus = libbpf_num_possible_cpus(), cpu, err;
	struct fl_sample_quota *values;
	__u32 zero = 0;

	if (ncpus < 0)
		return ncpus;
	values = calloc(ncpus, sizeof(*values));
	if (!values)
		return -ENOMEM;
	for (cpu = 0; cpu < ncpus; cpu++) {
		values[cpu].slot = slot;
		values[cpu].used = used;
	}
	err = bpf_map_update_elem(bpf_map__fd(fx->skel->maps.fl_sample_quota),
				  &zero, values, BPF_ANY);
	free(values);
	return err ? -errno : 0;
}

static __u32 slot_now(void)
{
	return fl_clock_ns() >> FL_SAMPLE_SLOT_SHIFT;
}

/* A fixture sampling at @rate, 198.51.100.0/24 and 2001:db8:1::/48
 * protected, and a ring buffer reader on it. */
static bool sampling_open(struct fl_fixture *fx, __u32 rate,
			  struct ring_buffer **rb, struct sample_log *log)
{
	struct fl_config cfg = quiet_cfg;

	*rb = NULL;
	cfg.sample_rate = rate;
	if (!ASSERT_OK(fl_fixture_open(fx), "fixture open"))
		return false;
	if (!ASSERT_OK(fl_config_write(fx, &cfg), "config") ||
	    !ASSERT_OK(fl_protect_add(fx, "198.51.100.0/24"), "protect") ||
	    !ASSERT_OK(fl_protect_add(fx, "2001:db8:1::/48"), "protect"))
		goto fail;
	*rb = samples_open(fx, log);
	if (ASSERT_OK_PTR(*rb, "ring_buffer__new"))
		return true;
fail:
	fl_fixture_close(fx);
	return false;
}

static void sampling_close(struct fl_fixture *fx, struct ring_buffer *rb)
{
	ring_buffer__free(rb);
	fl_fixture_close(fx);
}

struct sample_case {
	const char *name;
	struct pkt_spec pkt;
	__u16 sport, dport; /* expected, host order */
	__u8 proto, tcp_flags;
	bool frag;
};

#define S_V4 .l3 = PKT_IPV4, .src = "192.0.2.1", .dst = "198.51.100.7"
#define S_V6 .l3 = PKT_IPV6, .src = "2001:db8::1", .dst = "2001:db8:1::7"

static const struct sample_case sample_cases[] = {
	{ "ipv4 tcp syn",
	  { S_V4, .l4 = PKT_TCP,
	    .tcp = { .sport = 40001, .dport = 443, .flags = PKT_TCP_SYN } },
	  40001,
	  443,
	  IPPROTO_TCP,
	  PKT_TCP_SYN,
	  false },
	{ "ipv4 udp",
	  { S_V4, .l4 = PKT_UDP, .udp = { .sport = 5353, .dport = 53 },
	    .payload_len = 30 },
	  5353,
	  53,
	  IPPROTO_UDP,
	  0,
	  false },
	{ "ipv4 icmp echo",
	  { S_V4, .l4 = PKT_ICMP, .icmp.type = 8 },
	  0,
	  0,
	  IPPROTO_ICMP,
	  0,
	  false },
	{ "ipv4 first fragment, udp",
	  { S_V4, .l4 = PKT_UDP, .udp = { .sport = 1234, .dport = 5678 },
	    .ip4.frag_off = PKT_IP4_FRAG(0, 1), .payload_len = 100 },
	  1234,
	  5678,
	  IPPROTO_UDP,
	  0,
	  true },
	{ "ipv4 non-first fragment, udp: no ports",
	  { S_V4, .proto = PKT_SET(17), .ip4.frag_off = PKT_IP4_FRAG(100, 0),
	    .payload_len = 64 },
	  0,
	  0,
	  IPPROTO_UDP,
	  0,
	  true },
	{ "ipv4 tcp doff 4 (syn set): no ports, no flags",
	  { S_V4, .l4 = PKT_TCP,
	    .tcp = { .sport = 1,
		     .dport = 2,
		     .flags = PKT_TCP_SYN,
		     .doff = PKT_SET(4) } },
	  0,
	  0,
	  IPPROTO_TCP,
	  0,
	  false },
	{ "ipv6 tcp syn-ack",
	  { S_V6, .l4 = PKT_TCP,
	    .tcp = { .sport = 443,
		     .dport = 40002,
		     .flags = PKT_TCP_SYN | PKT_TCP_ACK } },
	  443,
	  40002,
	  IPPROTO_TCP,
	  PKT_TCP_SYN | PKT_TCP_ACK,
	  false },
	{ "ipv6 udp",
	  { S_V6, .l4 = PKT_UDP, .udp = { .sport = 65535, .dport = 1 },
	    .payload_len = 500 },
	  65535,
	  1,
	  IPPROTO_UDP,
	  0,
	  false },
	{ "ipv6 icmpv6 echo",
	  { S_V6, .l4 = PKT_ICMPV6, .icmp.type = 128 },
	  0,
	  0,
	  IPPROTO_ICMPV6,
	  0,
	  false },
	{ "ipv6 non-first fragment, tcp: no ports, no flags",
	  { S_V6, .proto = PKT_SET(6), FRAG6(100, 0), .payload_len = 40 },
	  0,
	  0,
	  IPPROTO_TCP,
	  0,
	  true },
};

/* Runs @p once (@repeat times); how many samples that made, or -1. */
static int run_sampled(struct fl_fixture *fx, struct ring_buffer *rb,
		       struct sample_log *log, const struct pkt *p,
		       __u32 repeat)
{
	__u32 action;
	int n;

	n = samples_take(rb, log);
	if (!ASSERT_GE(n, 0, "drain the ring"))
		return -1;
	if (!ASSERT_OK(fl_run(fx, p->data, p->len, repeat, &action), "run"))
		return -1;
	n = samples_take(rb, log);
	return ASSERT_GE(n, 0, "read the ring") ? n : -1;
}

static void check_sample(const struct sample_case *c, const struct pkt *p,
			 const struct fl_sample *s)
{
	int family = c->pkt.l3 == PKT_IPV6 ? AF_INET6 : AF_INET;
	union fl_addr src = fl_addr_of(family, c->pkt.src);
	union fl_addr dst = fl_addr_of(family, c->pkt.dst);
	static const __u8 zero_pad[sizeof(s->pad)];

	ASSERT_EQ(memcmp(&s->src, &src, sizeof(src)), 0, "src");
	ASSERT_EQ(memcmp(&s->dst, &dst, sizeof(dst)), 0, "dst");
	ASSERT_EQ(s->sport, c->sport, "sport");
	ASSERT_EQ(s->dport, c->dport, "dport");
	ASSERT_EQ(s->len, p->len, "len");
	ASSERT_EQ(s->family, family == AF_INET6 ? 6 : 4, "family");
	ASSERT_EQ(s->proto, c->proto, "proto");
	ASSERT_EQ(s->tcp_flags, c->tcp_flags, "tcp_flags");
	ASSERT_EQ(s->frag != 0, c->frag, "frag");
	ASSERT_EQ(memcmp(s->pad, zero_pad, sizeof(zero_pad)), 0, "pad");
}

void test_ddos_samples(void)
{
	/* Neither end protected; the protected end sending; and to a
	 * protected address with sampling off (last). */
	static const struct pkt_spec unsampled[] = {
		{ .l3 = PKT_IPV4,
		  .src = "192.0.2.1",
		  .dst = "203.0.113.9",
		  .l4 = PKT_UDP },
		{ .l3 = PKT_IPV4,
		  .src = "198.51.100.7",
		  .dst = "203.0.113.9",
		  .l4 = PKT_UDP },
		{ .l3 = PKT_IPV6,
		  .src = "2001:db8:1::7",
		  .dst = "2001:db8:2::9",
		  .l4 = PKT_TCP,
		  .tcp.flags = PKT_TCP_SYN },
	};
	struct fl_config off = quiet_cfg, heavy = quiet_cfg;
	struct fl_ip_stats stats;
	struct sample_log log = {};
	struct ring_buffer *rb;
	struct fl_fixture fx;
	struct pkt p;
	size_t i;
	int n;

	heavy.sample_rate = 1;
	heavy.heavy_packets = 1;
	if (!sampling_open(&fx, 1, &rb, &log))
		return;
	for (i = 0; i < ARRAY_SIZE(sample_cases); i++) {
		test__case("%s", sample_cases[i].name);
		if (!ASSERT_OK(pkt_build(&sample_cases[i].pkt, &p), "build"))
			continue;
		n = run_sampled(&fx, rb, &log, &p, 1);
		if (n >= 0 && ASSERT_EQ(n, 1, "samples"))
			check_sample(&sample_cases[i], &p, &log.last);
	}
	for (i = 0; i < ARRAY_SIZE(unsampled); i++) {
		test__case("not to a protected address: %s -> %s",
			   unsampled[i].src, unsampled[i].dst);
		if (ASSERT_OK(pkt_build(&unsampled[i], &p), "build"))
			ASSERT_EQ(run_sampled(&fx, rb, &log, &p, 10), 0,
				  "samples");
	}

	/* A heavy destination has exact counters too, but is not
	 * protected: not sampled. */
	test__case("to a heavy, unprotected address");
	if (!ASSERT_OK(pkt_build(&unsampled[0], &p), "build") ||
	    !ASSERT_OK(fl_config_write(&fx, &heavy), "config"))
		goto out;
	ASSERT_EQ(run_sampled(&fx, rb, &log, &p, 10), 0, "samples");
	if (ASSERT_OK(ip_stats_sum(&fx, AF_INET, unsampled[0].dst, &stats),
		      "heavy destination entry"))
		ASSERT_EQ(stats.reason, FL_TRACK_HEAVY, "tracked as heavy");

	test__case("sample_rate 0");
	if (!ASSERT_OK(pkt_build(&sample_cases[0].pkt, &p), "build") ||
	    !ASSERT_OK(fl_config_write(&fx, &off), "config"))
		goto out;
	ASSERT_EQ(run_sampled(&fx, rb, &log, &p, 100), 0, "samples");
out:
	sampling_close(&fx, rb);
}

/*
 * FL_SAMPLE_BUDGET + 100 packets in one run yield FL_SAMPLE_BUDGET samples,
 * if the run stayed in one slot (~67 ms of the coarse clock). The program
 * stamps the slot of every packet that passed the rate on the quota, so if
 * the quota's slot after the run is the slot read before it, every packet
 * of the run was in that slot. A run that straddled a boundary (its
 * samples come from two budgets) is run again on fresh maps; a run takes
 * about a millisecond, so three boundaries in a row do not happen.
 */
void test_ddos_sample_budget(void)
{
	struct pkt_spec spec = { .l3 = PKT_IPV4,
				 .src = "192.0.2.1",
				 .dst = "198.51.100.7",
				 .l4 = PKT_UDP };
	const __u32 sent = FL_SAMPLE_BUDGET + 100;
	struct fl_sample_quota quota;
	struct sample_log log = {};
	struct fl_ip_stats stats;
	struct ring_buffer *rb;
	struct fl_fixture fx;
	__u32 slot;
	int attempt, n = -1;
	struct pkt p;

	if (!ASSERT_OK(pkt_build(&spec, &p), "build"))
		return;
	for (attempt = 0; attempt < 3; attempt++) {
		if (!sampling_open(&fx, 1, &rb, &log))
			return;
		slot = slot_now();
		n = run_sampled(&fx, rb, &log, &p, sent);
		if (n < 0 || !ASSERT_OK(quota_read(&fx, &quota), "quota"))
			goto out;
		if (quota.slot == slot)
			break;
		test__log(
			"the run straddled a sample slot (%u, then %u): again",
			slot, quota.slot);
		sampling_close(&fx, rb);
	}
	if (attempt == 3) {
		test__log("three runs straddled a slot: not checked");
		test__skip();
		return;
	}
	ASSERT_EQ(n, FL_SAMPLE_BUDGET, "samples in one slot");
	ASSERT_EQ(quota.used, FL_SAMPLE_BUDGET, "quota used");
	/* Sampling limits samples, not accounting. */
	if (ASSERT_OK(ip_stats_sum(&fx, AF_INET, spec.dst, &stats), "entry"))
		ASSERT_EQ(stats.side[FL_SIDE_DST].packets, sent, "received");

	/* The budget spent, a packet in the same slot is not sampled; one
	 * in a new slot is, and starts the new slot's budget. The first
	 * check counts only if the slot did not change meanwhile. */
	n = run_sampled(&fx, rb, &log, &p, 1);
	if (ASSERT_OK(quota_read(&fx, &quota), "quota") && quota.slot == slot)
		ASSERT_EQ(n, 0, "samples over the budget");
	if (!ASSERT_OK(quota_write(&fx, slot_now() - 1, FL_SAMPLE_BUDGET),
		       "quota write"))
		goto out;
	ASSERT_EQ(run_sampled(&fx, rb, &log, &p, 1), 1,
		  "samples in a new slot");
	if (ASSERT_OK(quota_read(&fx, &quota), "quota")) {
		ASSERT_EQ(quota.used, 1, "new slot's quota used");
		ASSERT_GE(quota.slot, slot, "new slot");
	}
out:
	sampling_close(&fx, rb);
}

/*
 * sample_rate 4 over 4000 packets: binomial, n 4000, p 1/4, so mean 1000
 * and sigma sqrt(4000 * 1/4 * 3/4) = 27.4. The bound is 6 sigma either
 * way, [836, 1164]: a correct program falls outside it with probability
 * about 2e-9, and a wrong mask (1 in 2: 2000; 1 in 1: 4000; 1 in 8: 500)
 * is far outside. The budget must not clip: the packets go in runs of
 * 1000, each after the quota is reset (a stale slot), so a run can never
 * reach FL_SAMPLE_BUDGET samples.
 */
#define RATE 4
#define RATE_RUNS 4
#define RATE_RUN 1000

void test_ddos_sample_rate(void)
{
	struct pkt_spec spec = { .l3 = PKT_IPV6,
				 .src = "2001:db8::1",
				 .dst = "2001:db8:1::7",
				 .l4 = PKT_UDP };
	struct sample_log log = {};
	struct ring_buffer *rb;
	struct fl_fixture fx;
	int i, n, total = 0;
	struct pkt p;

	_Static_assert(RATE_RUN < FL_SAMPLE_BUDGET, "a run within the budget");
	if (!ASSERT_OK(pkt_build(&spec, &p), "build"))
		return;
	if (!sampling_open(&fx, RATE, &rb, &log))
		return;
	for (i = 0; i < RATE_RUNS; i++) {
		if (!ASSERT_OK(quota_write(&fx, 0, 0), "quota reset"))
			goto out;
		n = run_sampled(&fx, rb, &log, &p, RATE_RUN);
		if (n < 0)
			goto out;
		total += n;
	}
	test__log("%d samples of %d packets at rate %d", total,
		  RATE_RUNS * RATE_RUN, RATE);
	ASSERT_GE(total, 836, "samples (mean 1000 - 6 sigma)");
	ASSERT_LE(total, 1164, "samples (mean 1000 + 6 sigma)");
out:
	sampling_close(&fx, rb);
}

/* ---- the threshold grammar ---------------------------------------------- */

#define MAX_WORDS 32

/* Splits @text on blanks into @words (in @buf); returns the count. */
static int split_words(const char *text, char *buf, size_t len, char **words)
{
	char *save = NULL, *w;
	int n = 0;

	snprintf(buf, len, "%s", text);
	for (w = strtok_r(buf, " ", &save); w && n < MAX_WORDS;
	     w = strtok_r(NULL, " ", &save))
		words[n++] = w;
	return n;
}

static int parse_threshold(const char *text, struct fl_threshold *t, char *err,
			   size_t errlen)
{
	char buf[FL_THRESHOLD_STRLEN], *words[MAX_WORDS];
	int n = split_words(text, buf, sizeof(buf), words);

	return fl_threshold_parse(n, words, t, err, errlen);
}

static const struct {
	const char *in, *canonical;
	enum fl_ddos_dir direction;
	__u8 action, rate_unit;
	__u64 rate;
	__u32 hold;
} good_thresholds[] = {
	{ "198.51.100.0/24 udp-pps 20k",
	  "198.51.100.0/24 udp-pps 20000 action drop hold 60", FL_DDOS_DST,
	  FL_RULE_DROP, 0, 0, FL_THRESHOLD_HOLD_DEFAULT },
	{ "198.51.100.7 bps 1Gbps pps 500k action rate-limit 10k hold 120",
	  "198.51.100.7/32 pps 500000 bps 1000000000 action rate-limit 10000pps hold 120",
	  FL_DDOS_DST, FL_RULE_RATE_LIMIT, FL_RATE_PPS, 10000, 120 },
	{ "192.0.2.0/24 source sps 1000 action rate-limit 100Mbps",
	  "192.0.2.0/24 source sps 1000 action rate-limit 100000000bps hold 60",
	  FL_DDOS_SRC, FL_RULE_RATE_LIMIT, FL_RATE_BPS, 100000000, 60 },
	{ "2001:db8:1::/48 icmp-bps 10Mbps frag-pps 5kpps tcp-pps 1.5k hold 5",
	  "2001:db8:1::/48 tcp-pps 1500 icmp-bps 10000000 frag-pps 5000 action drop hold 5",
	  FL_DDOS_DST, FL_RULE_DROP, 0, 0, 5 },
	{ "2001:db8::/32 source pps 2M action drop",
	  "2001:db8::/32 source pps 2000000 action drop hold 60", FL_DDOS_SRC,
	  FL_RULE_DROP, 0, 0, 60 },
	{ "2001:db8::7 udp-bps 1G tcp-bps 2G icmp-pps 100 frag-bps 1k udp-pps 3 action rate-limit 5kpps",
	  "2001:db8::7/128 tcp-bps 2000000000 udp-pps 3 udp-bps 1000000000 icmp-pps 100 frag-bps 1000 action rate-limit 5000pps hold 60",
	  FL_DDOS_DST, FL_RULE_RATE_LIMIT, FL_RATE_PPS, 5000, 60 },
	{ "0.0.0.0/0 icmp-bps 64k hold 604800",
	  "0.0.0.0/0 icmp-bps 64000 action drop hold 604800", FL_DDOS_DST,
	  FL_RULE_DROP, 0, 0, 604800 },
};

static const struct {
	const char *in, *error;
} bad_thresholds[] = {
	{ "", "a threshold starts with a PREFIX" },
	{ "pps 1k", "'pps' is not an IPv4 or IPv6 address" },
	{ "198.51.100.1/24 pps 1k", "'198.51.100.1/24' has host bits set" },
	{ "198.51.100.0/33 pps 1k", "'198.51.100.0/33': prefix length" },
	{ "2001:db8::/129 pps 1k", "'2001:db8::/129': prefix length" },
	{ "198.51.100.0/24 udp-ppps 20k", "unknown word 'udp-ppps'" },
	{ "198.51.100.0/24 pps 1k source", "unknown word 'source'" },
	{ "198.51.100.0/24 pps 0", "bad value '0' for pps" },
	{ "198.51.100.0/24 pps 20kbps", "bad value '20kbps' for pps" },
	{ "198.51.100.0/24 bps fast", "bad value 'fast' for bps" },
	{ "198.51.100.0/24 udp-pps", "'udp-pps' needs a value" },
	{ "198.51.100.0/24 pps 1k hold 0",
	  "'hold' needs whole seconds above 0" },
	{ "198.51.100.0/24 pps 1k hold 0", "not '0'" },
	{ "198.51.100.0/24 pps 1k hold 604801", "not '604801'" },
	{ "198.51.100.0/24 pps 1k hold", "'hold' needs whole seconds" },
	{ "198.51.100.0/24 pps 1k hold 10 hold 20", "'hold' given twice" },
	{ "198.51.100.0/24 source tcp-pps 1k",
	  "'tcp-pps' is not a source metric" },
	{ "198.51.100.0/24 source frag-bps 1k",
	  "'frag-bps' is not a source metric" },
	{ "198.51.100.0/24 pps 1k udp-pps 5 pps 2k", "'pps' given twice" },
	{ "198.51.100.0/24 pps 1k action drop action drop",
	  "'action' given twice" },
	{ "198.51.100.0/24 pps 1k action",
	  "'action' needs drop or rate-limit" },
	{ "198.51.100.0/24 pps 1k action block", "bad action 'block'" },
	{ "198.51.100.0/24 pps 1k action rate-limit 0", "bad rate '0'" },
	{ "198.51.100.0/24 pps 1k action rate-limit",
	  "'rate-limit' needs a rate" },
	{ "198.51.100.0/24 action drop hold 30", "no limit" },
	{ "198.51.100.0/24 source", "no limit" },
};

void test_ddos_threshold_text(void)
{
	char err[256], out[FL_THRESHOLD_STRLEN], again[FL_THRESHOLD_STRLEN];
	struct fl_threshold t, back;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good_thresholds); i++) {
		test__case("parse: %s", good_thresholds[i].in);
		err[0] = '\0';
		if (!ASSERT_OK(parse_threshold(good_thresholds[i].in, &t, err,
					       sizeof(err)),
			       "parse")) {
			test__log("  error: %s", err);
			continue;
		}
		ASSERT_EQ(t.direction, good_thresholds[i].direction,
			  "direction");
		ASSERT_EQ(t.action, good_thresholds[i].action, "action");
		ASSERT_EQ(t.hold, good_thresholds[i].hold, "hold");
		if (t.action == FL_RULE_RATE_LIMIT) {
			ASSERT_EQ(t.rate, good_thresholds[i].rate, "rate");
			ASSERT_EQ(t.rate_unit, good_thresholds[i].rate_unit,
				  "rate unit");
		}
		ASSERT_STREQ(fl_threshold_format(&t, out, sizeof(out)),
			     good_thresholds[i].canonical, "canonical text");
		if (!ASSERT_OK(parse_threshold(out, &back, err, sizeof(err)),
			       "canonical text parses")) {
			test__log("  error: %s", err);
			continue;
		}
		ASSERT_EQ(memcmp(&t, &back, sizeof(t)), 0,
			  "round trip gives the same threshold");
		ASSERT_STREQ(fl_threshold_format(&back, again, sizeof(again)),
			     out, "and the same text");
	}
	for (i = 0; i < ARRAY_SIZE(bad_thresholds); i++) {
		test__case("refuse: '%s'", bad_thresholds[i].in);
		err[0] = '\0';
		if (!ASSERT_ERR(parse_threshold(bad_thresholds[i].in, &t, err,
						sizeof(err)),
				"refused"))
			continue;
		if (!ASSERT_TRUE(strstr(err, bad_thresholds[i].error) != NULL,
				 "message names the problem"))
			test__log("  got: %s\n  want: %s", err,
				  bad_thresholds[i].error);
	}
}

static int move_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/*
 * The exact-counter maps are per CPU: a BPF insert gives every other CPU
 * a zeroed copy, without the "protected" reason that sampling reads. A
 * packet to a protected address is sampled whichever CPU takes it, also
 * when another CPU created the address's entry.
 */
void test_ddos_samples_every_cpu(void)
{
	int home = sched_getcpu(), other = home == 0 ? 1 : 0;
	struct sample_log log = {};
	struct ring_buffer *rb;
	struct fl_fixture fx;
	struct pkt p;

	if (libbpf_num_possible_cpus() < 2 || move_to_cpu(other)) {
		test__skip();
		move_to_cpu(home);
		return;
	}
	move_to_cpu(home);
	if (!sampling_open(&fx, 1, &rb, &log))
		return;
	if (!ASSERT_OK(pkt_build(&sample_cases[1].pkt, &p), "build"))
		goto out;
	test__case("CPU %d creates the entry", home);
	ASSERT_EQ(run_sampled(&fx, rb, &log, &p, 1), 1, "samples");
	test__case("CPU %d finds it", other);
	if (ASSERT_OK(move_to_cpu(other), "move to the other CPU"))
		ASSERT_EQ(run_sampled(&fx, rb, &log, &p, 3), 3, "samples");
	move_to_cpu(home);
out:
	sampling_close(&fx, rb);
}
