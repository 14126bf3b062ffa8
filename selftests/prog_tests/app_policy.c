// SPDX-License-Identifier: Apache-2.0
/*
 * Stage 6's application policies (bpf/policy.h, bpf/dscp.h and their hook
 * in flow_cache(), bpf/flowcache.h) through BPF_PROG_TEST_RUN, host mode.
 * Each flow's entry is written straight into FL_MAP_FLOWS as a worker's
 * verdict leaves it (CLASSIFIED, FL_FLOW_F_BYPASS, policy[dir]) under the
 * key fl_flow_key_make() gives; every case runs IPv4 and IPv6, UDP and TCP
 * with payload:
 *   app_policy_drop      XDP_DROP, counted matched and dropped (and in
 *                        verdict[XDP_DROP]); the slot is the one of the
 *                        packet's direction: the other one, under another
 *                        slot, passes - whichever side key.lo is
 *   app_policy_permit    XDP_PASS, the frame unchanged, counted matched
 *                        only; steer in host mode passes, counted steered
 *   app_policy_mark      the DSCP re-written with ECN kept: the output is
 *                        byte for byte the input with the new TOS and an
 *                        IPv4 header checksum computed from scratch (every
 *                        TOS x every DSCP, and headers whose checksum is 0
 *                        before or after), or the new IPv6 traffic class
 *                        with the flow label untouched; a mark without
 *                        FL_MARK_SET writes nothing
 *   app_policy_police    a pps policer passes its burst, then drops or
 *                        re-marks what exceeds; a bps one counts IP
 *                        datagram bytes; one policer named by two policies
 *                        is one bucket; an empty policer slot polices
 *                        nothing; the policy's and the policer's counters
 *   app_policy_unclassified  a CLASSIFYING flow's packets are untouched,
 *                        whatever its slots; so is the direction whose slot
 *                        is 0; GAVE_UP with BYPASS is policed
 *   app_policy_change    a slot changed under a cached flow: the next packet
 *                        follows it; an emptied slot (id 0) lets it through
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include "pkt.h"
#include "test_progs.h"

/* Every frame below carries an IP datagram of this many bytes. */
#define DGRAM_LEN 100
#define ORIG_TOS ((10 << 2) | 2) /* DSCP 10 (AF11), ECN 2 (ECT(0)) */
#define FLOW_LABEL 0xabcde /* its top nibble shares a byte with the TC */
#define MARK_DSCP 46 /* EF */
#define EXCEED_DSCP 8 /* CS1 */

/* Policy slots (never 0) and policer slots. */
#define SLOT_DROP 3
#define SLOT_PERMIT 4
#define SLOT_MARK 5
#define SLOT_STEER 6
#define SLOT_POLICE 7
#define SLOT_POLICE2 8
#define SLOT_CHANGE (FL_POLICIES_MAX - 1)
#define POLICER 2
#define POLICER_EMPTY (FL_POLICERS_MAX - 1)

/*
 * The buckets: slow enough that one case's runs (microseconds each) never
 * earn a token back. A case whose runs took longer than one packet's cost
 * is run again, on a full bucket.
 */
#define POLICE_PPS 10
#define POLICE_BURST 5
#define POLICE_BPS 8000 /* 1000 bytes a second: 100 ms a datagram */
#define POLICE_BURST_BYTES (10 * DGRAM_LEN)
#define POLICE_WINDOW_NS 100000000ULL
#define POLICE_RUNS_MAX 16

static const struct {
	const char *name;
	struct pkt_spec spec;
} packets[] = {
	{ "ipv4 udp", { .l3 = PKT_IPV4, .l4 = PKT_UDP, .payload_len = 72 } },
	{ "ipv4 tcp",
	  { .l3 = PKT_IPV4,
	    .l4 = PKT_TCP,
	    .tcp = { .sport = 40001,
		     .dport = 443,
		     .flags = PKT_TCP_ACK | PKT_TCP_PSH },
	    .payload_len = 60 } },
	{ "ipv6 udp", { .l3 = PKT_IPV6, .l4 = PKT_UDP, .payload_len = 52 } },
	{ "ipv6 tcp",
	  { .l3 = PKT_IPV6,
	    .l4 = PKT_TCP,
	    .tcp = { .sport = 40001,
		     .dport = 443,
		     .flags = PKT_TCP_ACK | PKT_TCP_PSH },
	    .payload_len = 40 } },
};
#define IPV4_UDP 0
#define IPV6_UDP 2

/* ---- frames ------------------------------------------------------------- */

/* The IPv4 header checksum of @ip from scratch (RFC 791): the one's
 * complement of the one's complement sum of its words, the checksum
 * field left out. */
static __u16 ip4_csum(const __u8 *ip)
{
	__u32 sum = 0, hlen = (ip[0] & 0xf) * 4, i;

	for (i = 0; i < hlen; i += 2)
		if (i != 10)
			sum += (__u32)ip[i] << 8 | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

static void ip4_csum_store(__u8 *ip)
{
	__u16 sum = ip4_csum(ip);

	ip[10] = sum >> 8;
	ip[11] = sum & 0xff;
}

static __u16 ip4_csum_stored(const __u8 *ip)
{
	return ip[10] << 8 | ip[11];
}

static bool is_ipv4(const struct pkt *p)
{
	return p->data[p->l3_off] >> 4 == 4;
}

/* The TOS (IPv4) or traffic class (IPv6) of a frame. */
static __u8 tos_of(const struct pkt *p)
{
	const __u8 *ip = p->data + p->l3_off;

	return is_ipv4(p) ? ip[1] : (ip[0] & 0xf) << 4 | ip[1] >> 4;
}

static __u32 flow_label_of(const struct pkt *p)
{
	const __u8 *ip = p->data + p->l3_off;

	return (ip[1] & 0xf) << 16 | ip[2] << 8 | ip[3];
}

/* @spec with TOS or traffic class @tos; IPv6 with FLOW_LABEL too, so that
 * a write that strays beyond the traffic class shows. */
static bool build(const struct pkt_spec *spec, __u8 tos, struct pkt *p)
{
	struct pkt_spec s = *spec;

	s.ip4.tos = tos;
	s.ip6.tclass = tos;
	if (!ASSERT_OK(pkt_build(&s, p), "build"))
		return false;
	if (s.l3 == PKT_IPV6)
		pkt_poke32(p, p->l3_off,
			   6U << 28 | (__u32)tos << 20 | FLOW_LABEL);
	else if (!ASSERT_EQ(ip4_csum_stored(p->data + p->l3_off),
			    ip4_csum(p->data + p->l3_off), "input checksum"))
		return false;
	return ASSERT_EQ(p->ip_end - p->l3_off, DGRAM_LEN, "datagram length") &&
	       ASSERT_EQ(tos_of(p), tos, "input TOS");
}

/*
 * @in as a re-mark to @dscp must leave it, computed here on its own: the
 * TOS's ECN bits kept and the IPv4 header checksum from scratch; IPv6's
 * traffic class straddling the version and the flow label, both kept.
 */
static void remarked(const struct pkt *in, __u8 dscp, struct pkt *want)
{
	__u8 *ip, tc;

	*want = *in;
	ip = want->data + want->l3_off;
	if (is_ipv4(want)) {
		ip[1] = dscp << 2 | (ip[1] & 3);
		ip4_csum_store(ip);
		return;
	}
	tc = dscp << 2 | (tos_of(want) & 3);
	ip[0] = (ip[0] & 0xf0) | tc >> 4;
	ip[1] = (tc & 0xf) << 4 | (ip[1] & 0xf);
}

/* Byte for byte, the first difference reported. */
static bool same_frame_(int line, const struct pkt *got, const struct pkt *want,
			const char *what)
{
	__u32 i;

	if (got->len != want->len) {
		test__fail(__FILE__, line, "%s: length: expected %u, actual %u",
			   what, want->len, got->len);
		return false;
	}
	for (i = 0; i < want->len; i++) {
		if (got->data[i] == want->data[i])
			continue;
		test__fail(__FILE__, line,
			   "%s: byte %u: expected 0x%02x, actual 0x%02x", what,
			   i, want->data[i], got->data[i]);
		return false;
	}
	return true;
}
#define same_frame(got, want, what) same_frame_(__LINE__, got, want, what)

/* The same packet from the other side. */
static struct pkt_spec reversed(const struct pkt_spec *spec)
{
	struct pkt_spec r = *spec;
	bool v4 = spec->l3 != PKT_IPV6;

	r.src = spec->dst ?: v4 ? "198.51.100.1" : "2001:db8::2";
	r.dst = spec->src ?: v4 ? "192.0.2.1" : "2001:db8::1";
	r.tcp.sport = spec->tcp.dport ?: 80;
	r.tcp.dport = spec->tcp.sport ?: 40000;
	r.udp.sport = spec->udp.dport ?: 53;
	r.udp.dport = spec->udp.sport ?: 40000;
	return r;
}

/* ---- runs --------------------------------------------------------------- */

/* One run of @p (a run of its own: repeat would not restore the frame);
 * the frame the program left in @out. */
static bool run_out(struct fl_fixture *fx, const struct pkt *p, struct pkt *out,
		    __u32 *action)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->data,
		    .data_size_in = p->len, .data_out = out->data,
		    .data_size_out = sizeof(out->data));

	*out = *p; /* the offsets; the data is overwritten */
	if (!ASSERT_OK(bpf_prog_test_run_opts(fx->prog_fd, &opts), "run"))
		return false;
	*action = opts.retval;
	out->len = opts.data_size_out;
	return ASSERT_EQ(out->len, p->len, "output length");
}

/* run_out(), and the one packet and verdict the program counted for it. */
static bool run_counted(struct fl_fixture *fx, const struct pkt *p,
			struct pkt *out, __u32 *action)
{
	struct fl_if_stats before, after;

	if (!ASSERT_OK(fl_if_stats_read(fx, &before), "stats before") ||
	    !run_out(fx, p, out, action) ||
	    !ASSERT_OK(fl_if_stats_read(fx, &after), "stats after") ||
	    !ASSERT_LT(*action, FL_VERDICT_COUNT, "action"))
		return false;
	return ASSERT_EQ(after.packets - before.packets, 1,
			 "packets counted") &&
	       ASSERT_EQ(after.verdict[*action] - before.verdict[*action], 1,
			 "verdict counted");
}

/* ---- maps --------------------------------------------------------------- */

static bool setup(struct fl_fixture *fx)
{
	struct fl_config cfg = { .mode = FL_MODE_HOST };

	if (!ASSERT_OK(fl_fixture_open(fx), "fixture open"))
		return false;
	if (ASSERT_OK(fl_config_write(fx, &cfg), "host mode"))
		return true;
	fl_fixture_close(fx);
	return false;
}

static void flows_clear(struct fl_fixture *fx)
{
	int fd = bpf_map__fd(fx->skel->maps.FL_MAP_FLOWS);
	struct fl_flow_key key;

	while (!bpf_map_get_next_key(fd, NULL, &key))
		bpf_map_delete_elem(fd, &key);
}

/* The key of @spec's flow; returns its direction (0: the source is
 * key.lo), as the program computes it. */
static int key_of(const struct pkt_spec *spec, struct fl_flow_key *key)
{
	bool v4 = spec->l3 != PKT_IPV6;
	int family = v4 ? AF_INET : AF_INET6;
	union fl_addr s, d;
	__u16 sport, dport;
	__u8 proto;

	s = fl_addr_of(family, spec->src ?: v4 ? "192.0.2.1" : "2001:db8::1");
	d = fl_addr_of(family, spec->dst  ?:
				       v4 ? "198.51.100.1" :
					    "2001:db8::2");
	if (spec->l4 == PKT_TCP) {
		proto = IPPROTO_TCP;
		sport = spec->tcp.sport ?: 40000;
		dport = spec->tcp.dport ?: 80;
	} else {
		proto = IPPROTO_UDP;
		sport = spec->udp.sport ?: 40000;
		dport = spec->udp.dport ?: 53;
	}
	return fl_flow_key_make(key, &s, &d, htons(sport), htons(dport), proto,
				v4 ? 4 : 6);
}

/*
 * The entry a worker's verdict leaves for @spec's flow: @slot for the
 * direction @spec travels, @slot_back for the other. Returns that
 * direction, or -errno.
 */
static int flow_install(struct fl_fixture *fx, const struct pkt_spec *spec,
			__u8 state, __u8 flags, __u16 slot, __u16 slot_back)
{
	struct fl_flow flow = { .state = state, .flags = flags };
	struct fl_flow_key key;
	int dir = key_of(spec, &key);

	flow.policy[dir] = slot;
	flow.policy[!dir] = slot_back;
	if (bpf_map_update_elem(bpf_map__fd(fx->skel->maps.FL_MAP_FLOWS), &key,
				&flow, BPF_ANY))
		return -errno;
	return dir;
}

static int policy_set(struct fl_fixture *fx, __u32 slot, __u32 id, __u8 action,
		      __u8 mark, __u16 policer)
{
	struct fl_policy p = { .id = id,
			       .action = action,
			       .mark = mark,
			       .policer = policer,
			       .table = action == FL_POLICY_STEER ? 100 : 0 };

	return bpf_map_update_elem(bpf_map__fd(fx->skel->maps.FL_MAP_POLICIES),
				   &slot, &p, BPF_ANY) ?
		       -errno :
		       0;
}

struct bucket {
	__u8 unit; /* enum fl_rate_unit */
	__u8 exceed; /* enum fl_policer_exceed */
	__u8 exceed_mark;
	__u64 rate; /* packets or bits a second */
	__u64 burst; /* packets or bytes */
};

/* A full bucket (tat 0) in @slot; cost and depth as the rule engine's
 * rate-limit computes them (user/lib/ruleset.c). */
static int policer_set(struct fl_fixture *fx, __u32 slot, __u32 id,
		       const struct bucket *b)
{
	struct fl_policer pol = { .id = id,
				  .rate_unit = b->unit,
				  .exceed = b->exceed,
				  .exceed_mark = b->exceed_mark };

	if (b->unit == FL_RATE_BPS)
		pol.cost = (8000000000ULL << FL_RATE_SHIFT) / b->rate;
	else
		pol.cost = (1000000000ULL << FL_RATE_SHIFT) / b->rate;
	pol.depth = b->burst * pol.cost >> FL_RATE_SHIFT;
	return bpf_map_update_elem(bpf_map__fd(fx->skel->maps.FL_MAP_POLICERS),
				   &slot, &pol, BPF_ANY) ?
		       -errno :
		       0;
}

#define STATS_FIELDS (sizeof(struct fl_policy_stats) / sizeof(__u64))
static const char *const stats_names[] = {
	"matched_packets",  "matched_bytes",	 "dropped_packets",
	"dropped_bytes",    "conformed_packets", "conformed_bytes",
	"exceeded_packets", "exceeded_bytes",	 "remarked_packets",
	"remarked_bytes",   "steered_packets",	 "steered_bytes",
};
_Static_assert(ARRAY_SIZE(stats_names) == STATS_FIELDS,
	       "one name per fl_policy_stats field");

/* Entry @index of FL_MAP_POLICY_STATS (a policy's slot, or
 * FL_POLICIES_MAX + a policer's), summed over CPUs. */
static int stats_read(struct fl_fixture *fx, __u32 index,
		      struct fl_policy_stats *sum)
{
	int fd = bpf_map__fd(fx->skel->maps.FL_MAP_POLICY_STATS);
	int cpus = libbpf_num_possible_cpus(), cpu, err;
	struct fl_policy_stats *v;
	__u64 *s = (__u64 *)sum;
	size_t i;

	memset(sum, 0, sizeof(*sum));
	if (cpus < 0)
		return cpus;
	v = calloc(cpus, sizeof(*v)); /* 96 bytes: no rounding */
	if (!v)
		return -ENOMEM;
	err = fl_percpu_lookup(fd, &index, v, sizeof(*v));
	for (cpu = 0; !err && cpu < cpus; cpu++)
		for (i = 0; i < STATS_FIELDS; i++)
			s[i] += ((const __u64 *)&v[cpu])[i];
	free(v);
	return err;
}

static int stats_zero(struct fl_fixture *fx, __u32 index)
{
	int fd = bpf_map__fd(fx->skel->maps.FL_MAP_POLICY_STATS);
	int cpus = libbpf_num_possible_cpus(), err = 0;
	struct fl_policy_stats *v;

	if (cpus < 0)
		return cpus;
	v = calloc(cpus, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_update_elem(fd, &index, v, BPF_ANY))
		err = -errno;
	free(v);
	return err;
}

/* Packets of each outcome; the bytes are packets x the frame length. */
struct outcome {
	__u64 matched, dropped, conformed, exceeded, remarked, steered;
};

static bool stats_check_(int line, struct fl_fixture *fx, __u32 index,
			 __u32 len, const struct outcome *want)
{
	struct fl_policy_stats got, expect = {
		.matched_packets = want->matched,
		.matched_bytes = want->matched * len,
		.dropped_packets = want->dropped,
		.dropped_bytes = want->dropped * len,
		.conformed_packets = want->conformed,
		.conformed_bytes = want->conformed * len,
		.exceeded_packets = want->exceeded,
		.exceeded_bytes = want->exceeded * len,
		.remarked_packets = want->remarked,
		.remarked_bytes = want->remarked * len,
		.steered_packets = want->steered,
		.steered_bytes = want->steered * len,
	};
	const __u64 *g = (const __u64 *)&got, *e = (const __u64 *)&expect;
	bool ok = true;
	size_t i;
	int err;

	err = stats_read(fx, index, &got);
	if (err) {
		test__fail(__FILE__, line, "stats[%u]: read: %s", index,
			   strerror(-err));
		return false;
	}
	for (i = 0; i < STATS_FIELDS; i++) {
		if (g[i] == e[i])
			continue;
		test__fail(__FILE__, line,
			   "stats[%s %u].%s: expected %llu, actual %llu",
			   index < FL_POLICIES_MAX ? "policy" : "policer",
			   index < FL_POLICIES_MAX ? index :
						     index - FL_POLICIES_MAX,
			   stats_names[i], (unsigned long long)e[i],
			   (unsigned long long)g[i]);
		ok = false;
	}
	return ok;
}
/* stats_check(fx, SLOT_DROP, p.len, .matched = 1, .dropped = 1) */
#define stats_check(fx, index, len, ...) \
	stats_check_(__LINE__, fx, index, len, &(struct outcome){ __VA_ARGS__ })

/* ---- app_policy_drop ---------------------------------------------------- */

void test_app_policy_drop(void)
{
	struct fl_fixture fx;
	size_t i;
	int side;

	if (!setup(&fx))
		return;
	if (!ASSERT_OK(policy_set(&fx, SLOT_DROP, 101, FL_POLICY_DROP, 0, 0),
		       "drop policy") ||
	    !ASSERT_OK(policy_set(&fx, SLOT_PERMIT, 102, FL_POLICY_PERMIT, 0,
				  0),
		       "permit policy"))
		goto out;
	for (i = 0; i < ARRAY_SIZE(packets); i++) {
		/* side 0: @spec's direction dropped, the reply permitted;
		 * side 1: the other way round */
		for (side = 0; side < 2; side++) {
			const struct pkt_spec *spec = &packets[i].spec;
			struct pkt_spec rev = reversed(spec);
			struct pkt fwd, back, out;
			const struct pkt *drop, *pass;
			__u32 action;
			int dir, j;

			test__case("drop %s, %s", packets[i].name,
				   side ? "the reply" : "the client's");
			flows_clear(&fx);
			if (!ASSERT_OK(stats_zero(&fx, SLOT_DROP), "zero") ||
			    !ASSERT_OK(stats_zero(&fx, SLOT_PERMIT), "zero") ||
			    !build(spec, ORIG_TOS, &fwd) ||
			    !build(&rev, ORIG_TOS, &back))
				continue;
			dir = flow_install(&fx, spec, FL_FLOW_CLASSIFIED,
					   FL_FLOW_F_BYPASS,
					   side ? SLOT_PERMIT : SLOT_DROP,
					   side ? SLOT_DROP : SLOT_PERMIT);
			if (!ASSERT_GE(dir, 0, "flow entry"))
				continue;
			/* the default addresses: the client is key.lo */
			ASSERT_EQ(dir, 0, "direction of the client's");
			drop = side ? &back : &fwd;
			pass = side ? &fwd : &back;
			for (j = 0; j < 3; j++) {
				if (!run_counted(&fx, drop, &out, &action))
					break;
				ASSERT_EQ(action, XDP_DROP, "dropped");
			}
			stats_check(&fx, SLOT_DROP, drop->len, .matched = 3,
				    .dropped = 3);
			stats_check(&fx, SLOT_PERMIT, pass->len, .matched = 0);
			if (run_counted(&fx, pass, &out, &action)) {
				ASSERT_EQ(action, XDP_PASS, "other way passes");
				same_frame(&out, pass, "other way unchanged");
			}
			stats_check(&fx, SLOT_DROP, drop->len, .matched = 3,
				    .dropped = 3);
			stats_check(&fx, SLOT_PERMIT, pass->len, .matched = 1);
		}
	}
out:
	fl_fixture_close(&fx);
}

/* ---- app_policy_permit -------------------------------------------------- */

void test_app_policy_permit(void)
{
	static const struct {
		const char *name;
		__u32 slot;
		__u8 action;
	} cases[] = {
		{ "permit", SLOT_PERMIT, FL_POLICY_PERMIT },
		/* host mode: stage 8 passes whatever the table */
		{ "steer", SLOT_STEER, FL_POLICY_STEER },
	};
	struct fl_fixture fx;
	size_t i, c;

	if (!setup(&fx))
		return;
	for (c = 0; c < ARRAY_SIZE(cases); c++) {
		if (!ASSERT_OK(policy_set(&fx, cases[c].slot, 200 + c,
					  cases[c].action, 0, 0),
			       "policy"))
			goto out;
	}
	for (c = 0; c < ARRAY_SIZE(cases); c++) {
		for (i = 0; i < ARRAY_SIZE(packets); i++) {
			bool steer = cases[c].action == FL_POLICY_STEER;
			struct pkt p, out;
			__u32 action;
			int j;

			test__case("%s %s", cases[c].name, packets[i].name);
			flows_clear(&fx);
			if (!ASSERT_OK(stats_zero(&fx, cases[c].slot),
				       "zero") ||
			    !build(&packets[i].spec, ORIG_TOS, &p) ||
			    !ASSERT_GE(flow_install(&fx, &packets[i].spec,
						    FL_FLOW_CLASSIFIED,
						    FL_FLOW_F_BYPASS,
						    cases[c].slot, 0),
				       0, "flow entry"))
				continue;
			for (j = 0; j < 3; j++) {
				if (!run_counted(&fx, &p, &out, &action))
					break;
				ASSERT_EQ(action, XDP_PASS, "passes");
				same_frame(&out, &p, "unchanged");
			}
			stats_check(&fx, cases[c].slot, p.len, .matched = 3,
				    .steered = steer ? 3 : 0);
		}
	}
out:
	fl_fixture_close(&fx);
}

/* ---- app_policy_mark ---------------------------------------------------- */

/* One re-mark to @dscp of @p, checked byte for byte and field by field. */
static bool check_remark(struct fl_fixture *fx, const struct pkt *p, __u8 dscp)
{
	const __u8 *ip;
	struct pkt out, want;
	__u32 action;

	if (!run_counted(fx, p, &out, &action) ||
	    !ASSERT_EQ(action, XDP_PASS, "passes"))
		return false;
	remarked(p, dscp, &want);
	ip = out.data + out.l3_off;
	ASSERT_EQ(tos_of(&out), dscp << 2 | (tos_of(p) & 3),
		  "DSCP written, ECN kept");
	if (is_ipv4(&out)) {
		ASSERT_EQ(ip4_csum_stored(ip), ip4_csum(ip),
			  "checksum = computed from scratch");
	} else {
		ASSERT_EQ(flow_label_of(&out), FLOW_LABEL, "flow label kept");
		ASSERT_EQ(ip[0] >> 4, 6, "version kept");
	}
	return same_frame(&out, &want, "frame");
}

/* Every TOS x every DSCP for one packet: the count of wrong frames. */
static int remark_sweep(struct fl_fixture *fx, const struct pkt_spec *spec)
{
	struct pkt p, out, want;
	int tos, dscp, wrong = 0;
	__u32 action;

	for (dscp = 0; dscp < 64; dscp++) {
		if (!ASSERT_OK(policy_set(fx, SLOT_MARK, 300, FL_POLICY_MARK,
					  FL_MARK_SET | dscp, 0),
			       "mark policy"))
			return -1;
		for (tos = 0; tos < 256; tos++) {
			if (!build(spec, tos, &p) ||
			    !run_out(fx, &p, &out, &action))
				return -1;
			remarked(&p, dscp, &want);
			if (action == XDP_PASS && out.len == want.len &&
			    !memcmp(out.data, want.data, want.len))
				continue;
			if (wrong++)
				continue;
			test__log(
				"first wrong: TOS 0x%02x to DSCP %d: action %u, "
				"TOS/TC 0x%02x (want 0x%02x)",
				tos, dscp, action, tos_of(&out), tos_of(&want));
			if (is_ipv4(&p))
				test__log(
					"  checksum 0x%04x (want 0x%04x)",
					ip4_csum_stored(out.data + out.l3_off),
					ip4_csum_stored(want.data +
							want.l3_off));
		}
	}
	return wrong;
}

void test_app_policy_mark(void)
{
	static const __u8 tos_in[] = { 2, ORIG_TOS, 0xff };
	static const __u8 dscp_to[] = { MARK_DSCP, 0, 63 };
	static const size_t sweep[] = { IPV4_UDP, IPV6_UDP };
	struct pkt p, out, want;
	struct fl_fixture fx;
	size_t i, t, d;
	__u32 action;
	int edge;

	if (!setup(&fx))
		return;
	for (i = 0; i < ARRAY_SIZE(packets); i++) {
		test__case("mark %s", packets[i].name);
		flows_clear(&fx);
		if (!ASSERT_GE(flow_install(&fx, &packets[i].spec,
					    FL_FLOW_CLASSIFIED,
					    FL_FLOW_F_BYPASS, SLOT_MARK, 0),
			       0, "flow entry"))
			continue;
		for (d = 0; d < ARRAY_SIZE(dscp_to); d++) {
			if (!ASSERT_OK(policy_set(&fx, SLOT_MARK, 300,
						  FL_POLICY_MARK,
						  FL_MARK_SET | dscp_to[d], 0),
				       "mark policy"))
				goto out;
			for (t = 0; t < ARRAY_SIZE(tos_in); t++) {
				test__case("mark %s: TOS 0x%02x to DSCP %u",
					   packets[i].name, tos_in[t],
					   dscp_to[d]);
				if (!ASSERT_OK(stats_zero(&fx, SLOT_MARK),
					       "zero") ||
				    !build(&packets[i].spec, tos_in[t], &p))
					continue;
				check_remark(&fx, &p, dscp_to[d]);
				stats_check(&fx, SLOT_MARK, p.len, .matched = 1,
					    .remarked = 1);
			}
		}

		/* A DSCP without FL_MARK_SET is no mark. */
		test__case("mark %s: without FL_MARK_SET", packets[i].name);
		if (!ASSERT_OK(policy_set(&fx, SLOT_MARK, 300, FL_POLICY_MARK,
					  MARK_DSCP, 0),
			       "mark policy") ||
		    !ASSERT_OK(stats_zero(&fx, SLOT_MARK), "zero") ||
		    !build(&packets[i].spec, ORIG_TOS, &p) ||
		    !run_counted(&fx, &p, &out, &action))
			continue;
		ASSERT_EQ(action, XDP_PASS, "passes");
		same_frame(&out, &p, "unchanged");
		stats_check(&fx, SLOT_MARK, p.len, .matched = 1);
	}

	/* Every TOS, every DSCP: the incremental checksum (RFC 1624) against
	 * one computed from scratch. */
	for (t = 0; t < ARRAY_SIZE(sweep); t++) {
		i = sweep[t];
		test__case("mark %s: every TOS x every DSCP", packets[i].name);
		flows_clear(&fx);
		if (ASSERT_GE(flow_install(&fx, &packets[i].spec,
					   FL_FLOW_CLASSIFIED, FL_FLOW_F_BYPASS,
					   SLOT_MARK, 0),
			      0, "flow entry"))
			ASSERT_EQ(remark_sweep(&fx, &packets[i].spec), 0,
				  "frames not as computed from scratch");
	}

	/* IPv4 headers whose checksum is 0 after (edge 0) or before (edge 1)
	 * the re-mark: the IP id makes the header's sum 0xffff. */
	flows_clear(&fx);
	if (!ASSERT_OK(policy_set(&fx, SLOT_MARK, 300, FL_POLICY_MARK,
				  FL_MARK_SET | MARK_DSCP, 0),
		       "mark policy") ||
	    !ASSERT_GE(flow_install(&fx, &packets[IPV4_UDP].spec,
				    FL_FLOW_CLASSIFIED, FL_FLOW_F_BYPASS,
				    SLOT_MARK, 0),
		       0, "flow entry"))
		goto out;
	for (edge = 0; edge < 2; edge++) {
		__u8 *ip;
		__u16 sum;

		test__case("mark ipv4: checksum 0 %s",
			   edge ? "before" : "after");
		if (!build(&packets[IPV4_UDP].spec, ORIG_TOS, &p))
			continue;
		ip = p.data + p.l3_off;
		ip[4] = ip[5] = 0; /* the id */
		remarked(&p, MARK_DSCP, &want);
		/* the one's complement sum without the id */
		sum = ~ip4_csum(edge ? ip : want.data + want.l3_off) & 0xffff;
		ip[4] = (0xffff - sum) >> 8;
		ip[5] = (0xffff - sum) & 0xff;
		ip4_csum_store(ip);
		remarked(&p, MARK_DSCP, &want);
		if (!ASSERT_EQ(ip4_csum_stored(edge ? ip :
						      want.data + want.l3_off),
			       0, "the edge is reached"))
			continue;
		check_remark(&fx, &p, MARK_DSCP);
	}
out:
	fl_fixture_close(&fx);
}

/* ---- app_policy_police -------------------------------------------------- */

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* What came out of one run. */
struct police_result {
	__u32 action;
	bool unchanged; /* the frame as it went in */
	bool remarked; /* the frame as remarked() to the exceed mark */
};

/*
 * @n runs, run i of *pkts[i] (each a run of its own), on a full bucket in
 * POLICER and zeroed counters (the policer's and @slots'); again, up to
 * twice, if they took longer than the bucket takes to earn a packet back.
 */
static bool police_runs(struct fl_fixture *fx, const struct bucket *b,
			const __u32 *slots, int nslots,
			const struct pkt *const *pkts, int n,
			struct police_result *res)
{
	struct pkt out, want;
	int attempt, i;
	__u64 start;

	for (attempt = 0; attempt < 3; attempt++) {
		if (!ASSERT_OK(policer_set(fx, POLICER, 501, b), "policer") ||
		    !ASSERT_OK(stats_zero(fx, FL_POLICIES_MAX + POLICER),
			       "zero"))
			return false;
		for (i = 0; i < nslots; i++)
			if (!ASSERT_OK(stats_zero(fx, slots[i]), "zero"))
				return false;
		start = now_ns();
		for (i = 0; i < n; i++) {
			if (!run_out(fx, pkts[i], &out, &res[i].action))
				return false;
			remarked(pkts[i], b->exceed_mark & FL_MARK_DSCP, &want);
			res[i].unchanged =
				!memcmp(out.data, pkts[i]->data, out.len);
			res[i].remarked = !memcmp(out.data, want.data, out.len);
		}
		if (now_ns() - start < POLICE_WINDOW_NS)
			return true;
		test__log("%d runs took %llu ns: again", n,
			  (unsigned long long)(now_ns() - start));
	}
	return ASSERT_TRUE(false, "runs within one packet's cost");
}

/* The first @pass conform: as they came; the rest exceed: dropped, or
 * passed re-marked. */
static void police_expect(const struct police_result *res, int n, int pass,
			  bool mark)
{
	char what[64];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "run %d: %s", i + 1,
			 i < pass ? "conforms" : "exceeds");
		if (i < pass || mark) {
			ASSERT_EQ(res[i].action, XDP_PASS, what);
			if (i < pass)
				ASSERT_TRUE(res[i].unchanged, what);
			else
				ASSERT_TRUE(res[i].remarked, what);
		} else {
			ASSERT_EQ(res[i].action, XDP_DROP, what);
		}
	}
}

void test_app_policy_police(void)
{
	const struct bucket pps_drop = { .unit = FL_RATE_PPS,
					 .exceed = FL_POLICER_EXCEED_DROP,
					 .rate = POLICE_PPS,
					 .burst = POLICE_BURST };
	const struct bucket pps_mark = { .unit = FL_RATE_PPS,
					 .exceed = FL_POLICER_EXCEED_MARK,
					 .exceed_mark = FL_MARK_SET |
							EXCEED_DSCP,
					 .rate = POLICE_PPS,
					 .burst = POLICE_BURST };
	const struct bucket bps_drop = { .unit = FL_RATE_BPS,
					 .exceed = FL_POLICER_EXCEED_DROP,
					 .rate = POLICE_BPS,
					 .burst = POLICE_BURST_BYTES };
	const __u32 policer_stats = FL_POLICIES_MAX + POLICER;
	const __u32 both[] = { SLOT_POLICE, SLOT_POLICE2 };
	struct police_result res[POLICE_RUNS_MAX];
	const struct pkt *runs[POLICE_RUNS_MAX];
	struct pkt p, p6, out;
	struct fl_fixture fx;
	__u32 action;
	size_t i;
	int n, k;

	if (!setup(&fx))
		return;
	if (!ASSERT_OK(policy_set(&fx, SLOT_POLICE, 401, FL_POLICY_POLICE, 0,
				  POLICER),
		       "police policy"))
		goto out;
	for (i = 0; i < ARRAY_SIZE(packets); i++) {
		flows_clear(&fx);
		if (!build(&packets[i].spec, ORIG_TOS, &p) ||
		    !ASSERT_GE(flow_install(&fx, &packets[i].spec,
					    FL_FLOW_CLASSIFIED,
					    FL_FLOW_F_BYPASS, SLOT_POLICE, 0),
			       0, "flow entry"))
			continue;
		for (k = 0; k < POLICE_RUNS_MAX; k++)
			runs[k] = &p;

		/* 5 in a burst, then none for 100 ms: 5 of 12 conform */
		test__case("police %s: pps, exceed drop", packets[i].name);
		n = POLICE_BURST + 7;
		if (police_runs(&fx, &pps_drop, both, 1, runs, n, res)) {
			police_expect(res, n, POLICE_BURST, false);
			stats_check(&fx, SLOT_POLICE, p.len, .matched = n,
				    .conformed = POLICE_BURST,
				    .exceeded = n - POLICE_BURST,
				    .dropped = n - POLICE_BURST);
			stats_check(&fx, policer_stats, p.len, .matched = n,
				    .conformed = POLICE_BURST,
				    .exceeded = n - POLICE_BURST,
				    .dropped = n - POLICE_BURST);
		}

		test__case("police %s: pps, exceed mark", packets[i].name);
		if (police_runs(&fx, &pps_mark, both, 1, runs, n, res)) {
			police_expect(res, n, POLICE_BURST, true);
			stats_check(&fx, SLOT_POLICE, p.len, .matched = n,
				    .conformed = POLICE_BURST,
				    .exceeded = n - POLICE_BURST,
				    .remarked = n - POLICE_BURST);
			stats_check(&fx, policer_stats, p.len, .matched = n,
				    .conformed = POLICE_BURST,
				    .exceeded = n - POLICE_BURST,
				    .remarked = n - POLICE_BURST);
		}

		/* 1000 bytes in a burst, 100-byte datagrams (the frame's 14
		 * bytes of Ethernet not counted): 10 of 15 conform */
		test__case("police %s: bps, exceed drop", packets[i].name);
		n = POLICE_BURST_BYTES / DGRAM_LEN + 5;
		if (police_runs(&fx, &bps_drop, both, 1, runs, n, res)) {
			police_expect(res, n, n - 5, false);
			stats_check(&fx, SLOT_POLICE, p.len, .matched = n,
				    .conformed = n - 5, .exceeded = 5,
				    .dropped = 5);
			stats_check(&fx, policer_stats, p.len, .matched = n,
				    .conformed = n - 5, .exceeded = 5,
				    .dropped = 5);
		}
	}

	/* Two flows, two policies, one policer: one bucket. IPv4 and IPv6
	 * in turn; the frames are the same length. */
	test__case("police: one policer, two policies");
	flows_clear(&fx);
	if (!ASSERT_OK(policy_set(&fx, SLOT_POLICE2, 402, FL_POLICY_POLICE, 0,
				  POLICER),
		       "second police policy") ||
	    !build(&packets[IPV4_UDP].spec, ORIG_TOS, &p) ||
	    !build(&packets[IPV6_UDP].spec, ORIG_TOS, &p6) ||
	    !ASSERT_EQ(p.len, p6.len, "frame lengths") ||
	    !ASSERT_GE(flow_install(&fx, &packets[IPV4_UDP].spec,
				    FL_FLOW_CLASSIFIED, FL_FLOW_F_BYPASS,
				    SLOT_POLICE, 0),
		       0, "flow entry") ||
	    !ASSERT_GE(flow_install(&fx, &packets[IPV6_UDP].spec,
				    FL_FLOW_CLASSIFIED, FL_FLOW_F_BYPASS,
				    SLOT_POLICE2, 0),
		       0, "flow entry"))
		goto out;
	n = 2 * POLICE_BURST;
	for (k = 0; k < n; k++)
		runs[k] = k % 2 ? &p6 : &p;
	if (police_runs(&fx, &pps_drop, both, 2, runs, n, res)) {
		police_expect(res, n, POLICE_BURST, false);
		/* IPv4: runs 1, 3, 5 conform, 7, 9 exceed; IPv6: 2, 4 and
		 * 6, 8, 10 */
		stats_check(&fx, SLOT_POLICE, p.len, .matched = 5,
			    .conformed = 3, .exceeded = 2, .dropped = 2);
		stats_check(&fx, SLOT_POLICE2, p.len, .matched = 5,
			    .conformed = 2, .exceeded = 3, .dropped = 3);
		stats_check(&fx, policer_stats, p.len, .matched = n,
			    .conformed = POLICE_BURST,
			    .exceeded = n - POLICE_BURST,
			    .dropped = n - POLICE_BURST);
	}

	/* A policy naming an empty policer slot: matched, nothing else. */
	test__case("police: empty policer slot");
	if (!ASSERT_OK(policy_set(&fx, SLOT_POLICE, 401, FL_POLICY_POLICE, 0,
				  POLICER_EMPTY),
		       "policy") ||
	    !ASSERT_OK(stats_zero(&fx, SLOT_POLICE), "zero") ||
	    !ASSERT_OK(stats_zero(&fx, FL_POLICIES_MAX + POLICER_EMPTY),
		       "zero"))
		goto out;
	for (k = 0; k < 2 * POLICE_BURST; k++) {
		if (!run_counted(&fx, &p, &out, &action))
			break;
		ASSERT_EQ(action, XDP_PASS, "passes");
		same_frame(&out, &p, "unchanged");
	}
	stats_check(&fx, SLOT_POLICE, p.len, .matched = 2 * POLICE_BURST);
	stats_check(&fx, FL_POLICIES_MAX + POLICER_EMPTY, p.len, .matched = 0);
out:
	fl_fixture_close(&fx);
}

/* ---- app_policy_unclassified -------------------------------------------- */

void test_app_policy_unclassified(void)
{
	static const __u32 slots[] = { SLOT_DROP, SLOT_MARK };
	struct fl_fixture fx;
	struct pkt fwd, back, out;
	__u32 action;
	size_t i, s;

	if (!setup(&fx))
		return;
	if (!ASSERT_OK(policy_set(&fx, SLOT_DROP, 101, FL_POLICY_DROP, 0, 0),
		       "drop policy") ||
	    !ASSERT_OK(policy_set(&fx, SLOT_MARK, 300, FL_POLICY_MARK,
				  FL_MARK_SET | MARK_DSCP, 0),
		       "mark policy"))
		goto out;
	for (i = 0; i < ARRAY_SIZE(packets); i++) {
		const struct pkt_spec *spec = &packets[i].spec;
		struct pkt_spec rev = reversed(spec);

		if (!build(spec, ORIG_TOS, &fwd) ||
		    !build(&rev, ORIG_TOS, &back))
			continue;

		/* Still being classified (no socket here: it fails open):
		 * neither direction's slot applies. */
		for (s = 0; s < ARRAY_SIZE(slots); s++) {
			test__case("%s: classifying, slot %u", packets[i].name,
				   slots[s]);
			flows_clear(&fx);
			if (!ASSERT_OK(stats_zero(&fx, slots[s]), "zero") ||
			    !ASSERT_GE(flow_install(&fx, spec,
						    FL_FLOW_CLASSIFYING, 0,
						    slots[s], slots[s]),
				       0, "flow entry"))
				continue;
			if (run_counted(&fx, &fwd, &out, &action)) {
				ASSERT_EQ(action, XDP_PASS, "passes");
				same_frame(&out, &fwd, "unchanged");
			}
			if (run_counted(&fx, &back, &out, &action)) {
				ASSERT_EQ(action, XDP_PASS, "reply passes");
				same_frame(&out, &back, "reply unchanged");
			}
			stats_check(&fx, slots[s], fwd.len, .matched = 0);
		}

		/* Classified, a slot one way only: the other way is
		 * untouched, this way policed. */
		test__case("%s: the reply's slot 0", packets[i].name);
		flows_clear(&fx);
		if (!ASSERT_OK(stats_zero(&fx, SLOT_DROP), "zero") ||
		    !ASSERT_GE(flow_install(&fx, spec, FL_FLOW_CLASSIFIED,
					    FL_FLOW_F_BYPASS, SLOT_DROP, 0),
			       0, "flow entry"))
			continue;
		if (run_counted(&fx, &back, &out, &action)) {
			ASSERT_EQ(action, XDP_PASS, "reply passes");
			same_frame(&out, &back, "reply unchanged");
		}
		stats_check(&fx, SLOT_DROP, fwd.len, .matched = 0);
		if (run_counted(&fx, &fwd, &out, &action))
			ASSERT_EQ(action, XDP_DROP, "this way dropped");
		stats_check(&fx, SLOT_DROP, fwd.len, .matched = 1,
			    .dropped = 1);

		/* nDPI gave up: bypassed as well, so policed */
		test__case("%s: gave up", packets[i].name);
		flows_clear(&fx);
		if (!ASSERT_OK(stats_zero(&fx, SLOT_DROP), "zero") ||
		    !ASSERT_GE(flow_install(&fx, spec, FL_FLOW_GAVE_UP,
					    FL_FLOW_F_BYPASS, SLOT_DROP,
					    SLOT_DROP),
			       0, "flow entry"))
			continue;
		if (run_counted(&fx, &back, &out, &action))
			ASSERT_EQ(action, XDP_DROP, "dropped");
		stats_check(&fx, SLOT_DROP, fwd.len, .matched = 1,
			    .dropped = 1);
	}
out:
	fl_fixture_close(&fx);
}

/* ---- app_policy_change -------------------------------------------------- */

void test_app_policy_change(void)
{
	struct pkt p, out, want;
	struct fl_fixture fx;
	__u32 action;
	size_t i;

	if (!setup(&fx))
		return;
	for (i = 0; i < ARRAY_SIZE(packets); i++) {
		test__case("change %s", packets[i].name);
		flows_clear(&fx);
		if (!ASSERT_OK(policy_set(&fx, SLOT_CHANGE, 601,
					  FL_POLICY_PERMIT, 0, 0),
			       "permit") ||
		    !ASSERT_OK(stats_zero(&fx, SLOT_CHANGE), "zero") ||
		    !build(&packets[i].spec, ORIG_TOS, &p) ||
		    !ASSERT_GE(flow_install(&fx, &packets[i].spec,
					    FL_FLOW_CLASSIFIED,
					    FL_FLOW_F_BYPASS, SLOT_CHANGE, 0),
			       0, "flow entry"))
			continue;
		if (!run_counted(&fx, &p, &out, &action))
			continue;
		ASSERT_EQ(action, XDP_PASS, "permit: passes");
		same_frame(&out, &p, "permit: unchanged");
		stats_check(&fx, SLOT_CHANGE, p.len, .matched = 1);

		test__case("change %s: permit to drop", packets[i].name);
		if (!ASSERT_OK(policy_set(&fx, SLOT_CHANGE, 601, FL_POLICY_DROP,
					  0, 0),
			       "drop") ||
		    !run_counted(&fx, &p, &out, &action))
			continue;
		ASSERT_EQ(action, XDP_DROP, "drop: dropped");
		stats_check(&fx, SLOT_CHANGE, p.len, .matched = 2,
			    .dropped = 1);

		/* Emptied (id 0, the rest left as it was): untouched. */
		test__case("change %s: slot emptied", packets[i].name);
		if (!ASSERT_OK(policy_set(&fx, SLOT_CHANGE, 0, FL_POLICY_DROP,
					  0, 0),
			       "empty") ||
		    !run_counted(&fx, &p, &out, &action))
			continue;
		ASSERT_EQ(action, XDP_PASS, "empty: passes");
		same_frame(&out, &p, "empty: unchanged");
		stats_check(&fx, SLOT_CHANGE, p.len, .matched = 2,
			    .dropped = 1);

		/* Reused for another policy: the flow follows it. */
		test__case("change %s: slot reused", packets[i].name);
		if (!ASSERT_OK(policy_set(&fx, SLOT_CHANGE, 602, FL_POLICY_MARK,
					  FL_MARK_SET | MARK_DSCP, 0),
			       "mark") ||
		    !run_counted(&fx, &p, &out, &action))
			continue;
		ASSERT_EQ(action, XDP_PASS, "mark: passes");
		remarked(&p, MARK_DSCP, &want);
		same_frame(&out, &want, "mark: re-marked");
		stats_check(&fx, SLOT_CHANGE, p.len, .matched = 3, .dropped = 1,
			    .remarked = 1);
	}
	fl_fixture_close(&fx);
}
