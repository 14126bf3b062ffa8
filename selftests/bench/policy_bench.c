// SPDX-License-Identifier: Apache-2.0
/*
 * policy_bench - the application policies' part of make bench (issue 19):
 * the per-packet cost of a cached flow without a policy, with permit,
 * drop, a policer (conforming and exceeding) and DSCP re-marking; and the
 * accuracy of a bits/s policer at 1, 10 and 100 Mbit/s.
 *
 * Host mode, not monitor mode. A SPAN port's copies go through
 * policy_apply() with no context (bpf/flowcache.h): counted, never
 * written, and the policy's XDP_DROP is not the program's verdict (monitor
 * drops everything after stage 6 anyway). So monitor mode would leave out
 * the re-mark's write (dscp_remark(), the checksum update) and the drop's
 * early return: not the path a policy costs where it acts. Host mode ends
 * in XDP_PASS, which with BPF_F_TEST_XDP_LIVE_FRAMES (flow_bench's way)
 * would hand every frame to the local stack inside the timed run, so
 * these are plain bpf_prog_test_runs instead: XDP_PASS is then only the
 * run's return value. The frame is copied in once per run and the
 * program works on it in place for every repeat, which is what lets
 * flow_bench's spreader (selftests/progs/flow_spread.bpf.c) rewrite it
 * into the next flow of a shuffled order each time before tail-calling
 * flowlens; the spreader alone is the harness row. Caches are warm (one
 * frame, a few thousand cache lines of flows): this is the cost of the
 * policy's instructions and map lookups, not of cache misses.
 *
 * One copy of flowlens with private maps per row (nothing pinned), host
 * mode, nothing tracked, no rules, fl_flows sized FLOW_MAP_SIZE with
 * -f flows (default 1,000) in it, each written as a worker writes a final
 * verdict (user/flowlensd/worker_loop.c): CLASSIFIED, FL_FLOW_F_BYPASS,
 * an app, and policy[dir] - the direction fl_flow_key_make() gives the
 * bench's packets - naming the row's policy (slot POLICY_SLOT):
 *   none            no policy: the cached-verdict row, the baseline
 *   permit          FL_POLICY_PERMIT: counted, passed
 *   drop            FL_POLICY_DROP
 *   police-conform  a bits/s policer at 100 Gbit/s, far above what a CPU
 *                   offers here: every packet conforms (the CAS taken)
 *   police-exceed   a policer at 8 kbit/s, exceed drop: after its
 *                   1,500-byte burst nearly every packet exceeds
 *   dscp-mark       FL_POLICY_MARK to EF (46): every packet re-written
 *                   (after the first repeat of a run the frame already
 *                   holds EF; the same instructions write it again)
 * Policers are written as flowlensd writes them (policer_write() in
 * user/flowlensd/policy.c): cost = (8e9 << FL_RATE_SHIFT) / rate ns per
 * byte of IP datagram, depth = burst bytes * cost >> FL_RATE_SHIFT.
 * Rounds alternate between the rows; each round's mean ns per packet (the
 * kernel's test-run timer, whole ns), the median over rounds is reported,
 * with its difference from the none row.
 *
 * Each row must have done what it claims, else the exit status is 1:
 * every run's last packet gets the row's verdict (XDP_PASS or XDP_DROP);
 * the interface counters count every packet sent as a bypassed hit, what
 * the policy dropped as XDP_DROP and the rest as XDP_PASS; the policy's
 * counters (fl_policy_stats) count every packet
 * matched, and dropped, conformed, exceeded or remarked as the row says
 * (and the policer's own counters agree); the exceeding policer let
 * through no more than its burst and its rate allow; the re-marked frame
 * comes out with DSCP 46 and a valid IPv4 header checksum, the others with
 * the DSCP it went in with (0).
 *
 * Accuracy: one more copy whose flows are all policed by one bits/s
 * policer, exceed drop, burst as flowlensd's default (100 ms of the
 * rate, at least 1,500 bytes), written afresh for each rate and CPU count
 * (an empty TAT: a full bucket). Each rate is offered by one CPU, then by
 * every CPU (-T at most): a thread pinned on each runs test runs of
 * ACCURACY_CHUNK packets until -d seconds have passed, several Gbit/s of
 * 104-byte IP datagrams, far above each rate, into the one bucket the
 * CPUs share. The conformed bits are conformed packets x 104 x 8 (what
 * the policer counts: the IP datagram, not the frame); elapsed time is
 * CLOCK_MONOTONIC, the clock bpf_ktime_get_ns() reads, around the runs.
 * Two ratios to the configured rate (1.00 = exact):
 *   steady      from DRAIN_SECONDS after the policer's write (by then the
 *               burst is long spent: offered at twice the rate or more,
 *               it drains in 100 ms at most, and the policer must have
 *               exceeded; the counters and the clock read together,
 *               again if this thread was preempted in between) to the end
 *   full bucket from the policer's write to the end: the burst on top,
 *               about 1 + 0.1 s / -d with this burst
 * What limits the accuracy:
 *   - the burst at the start (the second ratio);
 *   - the GCRA's fixed point: cost is truncated to 1/2^FL_RATE_SHIFT ns a
 *     byte and each packet's cost to whole ns, both in the packet's
 *     favour (nothing at these three rates: 8e9 * 4096 / rate and
 *     104 * cost are exact);
 *   - a packet conforms whole or not, so each end of the interval can be
 *     off by a packet (0.8 ms of rate at 1 Mbit/s, 0.06 % of 1.5 s);
 *   - the compare-and-swap, with several CPUs: one that loses it
 *     GCRA_SHARED_TRIES times in a row counts its packet as exceeding
 *     (stingier); and one whose clock read is older than the TAT another
 *     CPU has just advanced sees a backlog over the depth, which
 *     gcra_conform() takes for a changed rate and forgets down to a full
 *     bucket: that packet conforms, uncharged, and the TAT moves back.
 *     This one makes the shared policer generous, the more CPUs race for
 *     it (the all-CPU rows against the one-CPU rows);
 *   - the measurement: the offering threads stop at the end of a test
 *     run, a few ms after the deadline, and the clock is read once they
 *     are joined, on a VM whose CPUs they keep busy.
 * Sanity bound only: a steady ratio outside 0.5-1.5, or an offered load
 * under twice the rate, exits 1; no wall-clock bar.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <flowlens/flowlens.h>

#include "flowlens.skel.h"
#include "bench_run.h"
#include "ifstats.h"
#include "pkt.h"
#include "progs/flow_spread.h"
#include "ruleset.h"

#define BENCH_APP 7 /* nDPI's HTTP, as a worker would write it */
#define BENCH_MASTER 91 /* nDPI's TLS */
#define FLOWS_DEFAULT 1000
#define FLOW_MAP_SIZE 4096 /* fl_flows: room for -f flows, never evicting */
#define SRC_BASE 0xc6120000 /* 198.18.0.0 */
#define LO_IFINDEX 1 /* a test run without a context arrives on lo */
#define POLICY_SLOT 1 /* in FL_MAP_POLICIES (0 means none) */
#define POLICER_SLOT 1 /* in FL_MAP_POLICERS */
#define MARK_DSCP 46 /* EF */
#define CONFORM_RATE 100000000000ULL /* 100 Gbit/s: never reached here */
#define EXCEED_RATE 8000ULL /* 1 kB/s: almost every packet over it */
#define BURST_BYTES_MIN 1500 /* flowlensd's least burst: one full packet */
#define ACCURACY_CHUNK 20000 /* packets per test run, a few ms */
#define ACCURACY_THREADS_MAX 64
#define DRAIN_SECONDS 0.25 /* the accuracy's steady part starts here */
#define READ_WINDOW 50e-6 /* s: a read of the counters that took longer ... */
#define READ_TRIES 100 /* ... is taken again, this many times at most */

static const __u64 accuracy_rates[] = { 1000000, 10000000, 100000000 };
#define NR_RATES (sizeof(accuracy_rates) / sizeof(accuracy_rates[0]))

enum row {
	ROW_HARNESS,
	ROW_NONE,
	ROW_PERMIT,
	ROW_DROP,
	ROW_CONFORM,
	ROW_EXCEED,
	ROW_MARK,
	ROWS
};

/* What each row installs and what its packets must come to. */
struct row_def {
	const char *name; /* JSON key */
	const char *label; /* the table's first column */
	__u8 action; /* enum fl_policy_action; NONE: no slot in the flows */
	__u8 mark; /* MARK: FL_MARK_SET | DSCP */
	__u64 rate; /* POLICE: bits/s, exceed drop */
	__u32 verdict; /* of every run */
};

static const struct row_def rows[ROWS] = {
	[ROW_HARNESS] = { "harness", "harness: test run + flow_spread, dropped",
			  FL_POLICY_NONE, 0, 0, XDP_DROP },
	[ROW_NONE] = { "none", "cached flow, no policy (baseline)",
		       FL_POLICY_NONE, 0, 0, XDP_PASS },
	[ROW_PERMIT] = { "permit", "permit", FL_POLICY_PERMIT, 0, 0, XDP_PASS },
	[ROW_DROP] = { "drop", "drop", FL_POLICY_DROP, 0, 0, XDP_DROP },
	[ROW_CONFORM] = { "police_conform",
			  "police, conforming (100 Gbit/s policer)",
			  FL_POLICY_POLICE, 0, CONFORM_RATE, XDP_PASS },
	[ROW_EXCEED] = { "police_exceed",
			 "police, exceeding (8 kbit/s policer, exceed drop)",
			 FL_POLICY_POLICE, 0, EXCEED_RATE, XDP_DROP },
	[ROW_MARK] = { "dscp_mark", "dscp-mark (EF)", FL_POLICY_MARK,
		       FL_MARK_SET | MARK_DSCP, 0, XDP_PASS },
};

/* One row: a spreader, and the flowlens copy it tail-calls (none for
 * the harness). */
struct copy {
	struct bpf_object *spread;
	struct flowlens_bpf *skel;
	int prog_fd; /* the spreader's */
	__u64 sent; /* packets run through it */
	__u8 tos_out; /* the TOS of the last run's frame as it came out */
	int csum_ok; /* ... and whether its IPv4 header checksum held */
	struct timespec policer_written;
};

struct opts {
	const char *progs_dir;
	__u32 rounds, packets, flows, threads;
	double seconds;
};

struct accuracy {
	__u64 rate, burst;
	__u32 threads;
	double seconds, steady_seconds;
	__u64 offered, conformed, steady_conformed; /* packets */
	double offered_ratio, steady_ratio, full_ratio;
};

static int print_warnings(enum libbpf_print_level level, const char *fmt,
			  va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double since_sec(const struct timespec *t)
{
	return now_sec() - (t->tv_sec + t->tv_nsec / 1e9);
}

/* The frame flow_spread expects: Ethernet, IPv4 without options, TCP. */
static int frame_build(struct pkt *p)
{
	struct pkt_spec spec = { .l3 = PKT_IPV4,
				 .src = "198.18.0.0",
				 .dst = "198.51.100.2",
				 .l4 = PKT_TCP,
				 .tcp = { .sport = SPREAD_SPORT_BASE,
					  .dport = 80,
					  .flags = PKT_TCP_PSH | PKT_TCP_ACK },
				 .payload_len = 64 };

	return pkt_build(&spec, p);
}

/* The IP datagram's bytes: what a bits/s policer counts. */
static __u32 frame_ip_len(const struct pkt *p)
{
	return p->ip_end - p->l3_off;
}

/* Flow @i's key, as the program makes it, and the direction of the
 * bench's packets in it (0: from key.lo). */
static int flow_key_of(__u32 i, struct fl_flow_key *key)
{
	union fl_addr src = {}, dst = {};
	__be32 s = htonl(SRC_BASE + i / SPREAD_PORTS_PER_ADDR);
	__be32 d = htonl(0xc6336402); /* 198.51.100.2 */

	memcpy(src.b, &s, 4);
	memcpy(dst.b, &d, 4);
	return fl_flow_key_make(
		key, &src, &dst,
		htons(SPREAD_SPORT_BASE + i % SPREAD_PORTS_PER_ADDR), htons(80),
		IPPROTO_TCP, 4);
}

/* Flows 0..@n-1 as a worker leaves them: a final verdict, and @slot as
 * the policy of the packets' direction (0: none). */
static int cache_fill(struct copy *c, const struct pkt *p, __u32 n, __u16 slot)
{
	int fd = bpf_map__fd(c->skel->maps.FL_MAP_FLOWS);
	struct fl_flow_key key;
	struct fl_flow v;
	__u32 i;
	int dir;

	for (i = 0; i < n; i++) {
		dir = flow_key_of(i, &key);
		v = (struct fl_flow){
			.state = FL_FLOW_CLASSIFIED,
			.flags = FL_FLOW_F_BYPASS |
				 (dir ? 0 : FL_FLOW_F_LO_CLIENT),
			.app = BENCH_APP,
			.master = BENCH_MASTER,
			.escalated = 1,
		};
		v.packets[dir] = 1;
		v.bytes[dir] = p->len;
		v.policy[dir] = slot;
		if (bpf_map_update_elem(fd, &key, &v, BPF_NOEXIST))
			return -errno;
	}
	return 0;
}

/* A bits/s policer in POLICER_SLOT, as flowlensd's policer_write() makes
 * it; an empty TAT: the bucket starts full. */
static int policer_write(struct copy *c, __u64 rate, __u64 burst)
{
	struct fl_policer v = { .id = POLICER_SLOT,
				.rate_unit = FL_RATE_BPS,
				.exceed = FL_POLICER_EXCEED_DROP };
	__u32 key = POLICER_SLOT;
	unsigned __int128 depth;

	v.cost = (8000000000ULL << FL_RATE_SHIFT) / rate;
	depth = ((unsigned __int128)burst * v.cost) >> FL_RATE_SHIFT;
	v.depth = depth > ~0ULL ? ~0ULL : (__u64)depth;
	if (bpf_map_update_elem(bpf_map__fd(c->skel->maps.FL_MAP_POLICERS),
				&key, &v, 0))
		return -errno;
	clock_gettime(CLOCK_MONOTONIC, &c->policer_written);
	return 0;
}

/* flowlensd's default burst for a bits/s policer: 100 ms of the rate. */
static __u64 policer_burst(__u64 rate)
{
	__u64 burst = rate / 80;

	return burst < BURST_BYTES_MIN ? BURST_BYTES_MIN : burst;
}

static int policy_write(struct copy *c, const struct row_def *d)
{
	struct fl_policy v = { .id = POLICY_SLOT,
			       .action = d->action,
			       .mark = d->mark,
			       .policer = POLICER_SLOT };
	__u32 key = POLICY_SLOT;
	int err;

	if (d->action == FL_POLICY_NONE)
		return 0;
	if (d->action == FL_POLICY_POLICE) {
		err = policer_write(c, d->rate, policer_burst(d->rate));
		if (err)
			return err;
	}
	if (bpf_map_update_elem(bpf_map__fd(c->skel->maps.FL_MAP_POLICIES),
				&key, &v, 0))
		return -errno;
	return 0;
}

/* A copy of flowlens in host mode with private maps, on lo's slot. */
static int copy_load(struct copy *c)
{
	struct fl_config cfg = { .mode = FL_MODE_HOST,
				 .hash_seed = 0x5eed,
				 .heavy_pps = ~0ULL,
				 .heavy_bps = ~0ULL,
				 .heavy_packets = ~0ULL,
				 .heavy_bytes = ~0ULL };
	struct bpf_map *map;
	__u32 zero = 0;

	c->skel = flowlens_bpf__open();
	if (!c->skel) {
		fprintf(stderr, "policy_bench: cannot open flowlens: %s\n",
			strerror(errno));
		return -1;
	}
	bpf_object__for_each_map(map, c->skel->obj)
		bpf_map__set_pin_path(map, NULL); /* private maps, no bpffs */
	if (bpf_map__set_max_entries(c->skel->maps.FL_MAP_FLOWS,
				     FLOW_MAP_SIZE) ||
	    fl_ruleset_set_max(c->skel->obj, 1024) ||
	    flowlens_bpf__load(c->skel)) {
		fprintf(stderr,
			"policy_bench: cannot load flowlens (run make)\n");
		return -1;
	}
	if (bpf_map__update_elem(c->skel->maps.FL_MAP_CONFIG, &zero,
				 sizeof(zero), &cfg, sizeof(cfg), 0) ||
	    bench_claim_if(c->skel->obj, LO_IFINDEX)) {
		fprintf(stderr, "policy_bench: cannot configure flowlens: %s\n",
			strerror(errno));
		return -1;
	}
	return 0;
}

/* The spreader of a row over @flows flows in @order, tail-calling
 * @target (-1: none, the harness). */
static int spread_load(struct copy *c, const char *progs_dir,
		       const __u32 *order, __u32 flows, int target)
{
	struct spread_cfg cfg = { .flows = flows, .base = SRC_BASE };
	struct bpf_map *order_map;
	__u32 zero = 0, i;
	char path[512];

	snprintf(path, sizeof(path), "%s/flow_spread.bpf.o", progs_dir);
	c->spread = bpf_object__open_file(path, NULL);
	if (!c->spread || bpf_object__load(c->spread)) {
		fprintf(stderr, "policy_bench: cannot load %s (run make)\n",
			path);
		c->spread = NULL;
		return -1;
	}
	c->prog_fd = bpf_program__fd(bpf_object__next_program(c->spread, NULL));
	order_map = bpf_object__find_map_by_name(c->spread, "spread_order");
	if (!order_map || bpf_map__max_entries(order_map) < flows)
		return -1;
	for (i = 0; i < flows; i++)
		if (bpf_map_update_elem(bpf_map__fd(order_map), &i, &order[i],
					0))
			return -1;
	if (bpf_map_update_elem(bpf_object__find_map_fd_by_name(c->spread,
								"spread_cfg"),
				&zero, &cfg, 0))
		return -1;
	if (target >= 0 &&
	    bpf_map_update_elem(
		    bpf_object__find_map_fd_by_name(c->spread, "spread_target"),
		    &zero, &target, 0)) {
		fprintf(stderr, "policy_bench: cannot set the tail call: %s\n",
			strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * One round of @packets through row @i: one test run, the frame copied
 * in once and worked on in place. The mean ns a packet, or -1 (errno
 * set; EPROTO: a verdict not the row's).
 */
static double round_run(struct copy *c, enum row i, const struct pkt *p,
			__u32 packets)
{
	__u8 out[PKT_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->data,
		    .data_size_in = p->len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = packets);

	if (bpf_prog_test_run_opts(c->prog_fd, &opts))
		return -1;
	c->sent += packets;
	if (opts.retval != rows[i].verdict) {
		errno = EPROTO;
		return -1;
	}
	if (opts.data_size_out >= p->l4_off) {
		c->tos_out = out[p->l3_off + 1];
		c->csum_ok =
			!pkt_inet_csum(out + p->l3_off, p->l4_off - p->l3_off);
	}
	return opts.duration;
}

/* A policy's (or, at FL_POLICIES_MAX + slot, a policer's) counters
 * summed over CPUs. */
static int policy_stats(struct copy *c, __u32 key, struct fl_policy_stats *sum)
{
	int n = libbpf_num_possible_cpus(), i, err = 0;
	struct fl_policy_stats *percpu;

	memset(sum, 0, sizeof(*sum));
	percpu = calloc(n, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.FL_MAP_POLICY_STATS),
				&key, percpu)) {
		err = -errno;
		goto out;
	}
	for (i = 0; i < n; i++) {
		__u64 *d = (__u64 *)sum;
		const __u64 *s = (const __u64 *)&percpu[i];
		size_t j;

		for (j = 0; j < sizeof(*sum) / sizeof(__u64); j++)
			d[j] += s[j];
	}
out:
	free(percpu);
	return err;
}

#define CHECK(cond, ...)                                                \
	do {                                                            \
		if (!(cond)) {                                          \
			fprintf(stderr, "policy_bench: %s: ", d->name); \
			fprintf(stderr, __VA_ARGS__);                   \
			fputc('\n', stderr);                            \
			return -1;                                      \
		}                                                       \
	} while (0)

/* Whether row @i did what it claims; 0, or -1 with why on stderr. */
static int row_verify(struct copy *c, enum row i, const struct pkt *p)
{
	const struct row_def *d = &rows[i];
	unsigned long long sent = c->sent;
	struct fl_policy_stats st, pst;
	struct fl_if_stats ifs;
	__u64 bound;

	if (!c->skel)
		return 0;
	if (fl_ifstats_sum(bpf_map__fd(c->skel->maps.FL_MAP_IF_FAST),
			   bpf_map__fd(c->skel->maps.FL_MAP_IF_STATS),
			   LO_IFINDEX, &ifs) ||
	    policy_stats(c, POLICY_SLOT, &st) ||
	    policy_stats(c, FL_POLICIES_MAX + POLICER_SLOT, &pst)) {
		fprintf(stderr, "policy_bench: %s: cannot read counters: %s\n",
			d->name, strerror(errno));
		return -1;
	}
	CHECK(ifs.flow.flow_bypassed == sent,
	      "%llu packets sent, %llu were bypassed hits of cached flows",
	      sent, (unsigned long long)ifs.flow.flow_bypassed);
	CHECK(st.matched_packets == (d->action ? sent : 0),
	      "%llu packets sent, the policy matched %llu", sent,
	      (unsigned long long)st.matched_packets);
	/* what the policy dropped is the program's XDP_DROP, the rest its
	 * XDP_PASS (stage 8, host mode) */
	CHECK(ifs.verdict[XDP_DROP] == st.dropped_packets &&
		      ifs.verdict[XDP_PASS] == sent - st.dropped_packets,
	      "%llu packets sent, %llu dropped by the policy: the program passed %llu and dropped %llu",
	      sent, (unsigned long long)st.dropped_packets,
	      (unsigned long long)ifs.verdict[XDP_PASS],
	      (unsigned long long)ifs.verdict[XDP_DROP]);
	switch (d->action) {
	case FL_POLICY_NONE:
	case FL_POLICY_PERMIT:
		CHECK(!st.dropped_packets && !st.remarked_packets,
		      "%llu dropped, %llu remarked: expected none",
		      (unsigned long long)st.dropped_packets,
		      (unsigned long long)st.remarked_packets);
		break;
	case FL_POLICY_DROP:
		CHECK(st.dropped_packets == sent, "%llu of %llu dropped",
		      (unsigned long long)st.dropped_packets, sent);
		break;
	case FL_POLICY_MARK:
		CHECK(st.remarked_packets == sent, "%llu of %llu remarked",
		      (unsigned long long)st.remarked_packets, sent);
		break;
	case FL_POLICY_POLICE:
		CHECK(pst.matched_packets == sent &&
			      pst.conformed_packets == st.conformed_packets &&
			      pst.exceeded_packets == st.exceeded_packets &&
			      pst.dropped_packets == st.dropped_packets,
		      "the policer's counters (%llu matched, %llu conformed, %llu exceeded, %llu dropped) are not the policy's",
		      (unsigned long long)pst.matched_packets,
		      (unsigned long long)pst.conformed_packets,
		      (unsigned long long)pst.exceeded_packets,
		      (unsigned long long)pst.dropped_packets);
		CHECK(st.conformed_packets + st.exceeded_packets == sent &&
			      st.dropped_packets == st.exceeded_packets &&
			      !st.remarked_packets,
		      "%llu sent: %llu conformed, %llu exceeded, %llu dropped, %llu remarked",
		      sent, (unsigned long long)st.conformed_packets,
		      (unsigned long long)st.exceeded_packets,
		      (unsigned long long)st.dropped_packets,
		      (unsigned long long)st.remarked_packets);
		if (i == ROW_CONFORM) {
			CHECK(st.conformed_packets == sent,
			      "%llu of %llu conformed",
			      (unsigned long long)st.conformed_packets, sent);
			break;
		}
		/* the burst, what the rate allows since the write, and one
		 * packet at each end */
		bound = policer_burst(d->rate) / frame_ip_len(p) + 2 +
			(__u64)(since_sec(&c->policer_written) * d->rate /
				(8.0 * frame_ip_len(p)));
		CHECK(st.conformed_packets <= bound,
		      "%llu conformed, more than the %llu its burst and rate allow",
		      (unsigned long long)st.conformed_packets,
		      (unsigned long long)bound);
		break;
	}
	if (d->mark) {
		CHECK(c->tos_out >> 2 == (d->mark & FL_MARK_DSCP) && c->csum_ok,
		      "the frame came out with DSCP %u (checksum %s), not %u",
		      c->tos_out >> 2, c->csum_ok ? "valid" : "broken",
		      d->mark & FL_MARK_DSCP);
	} else if (d->verdict == XDP_PASS) {
		CHECK(c->tos_out == 0 && c->csum_ok,
		      "the frame came out changed (TOS %u, checksum %s)",
		      c->tos_out, c->csum_ok ? "valid" : "broken");
	}
	return 0;
}

#undef CHECK

/* ---- the policer's accuracy ---- */

struct offer_thread {
	pthread_t tid;
	int prog_fd, cpu, err;
	const struct pkt *p;
	const int *stop;
};

/* Test runs of ACCURACY_CHUNK packets on one CPU until told to stop. */
static void *offer(void *arg)
{
	struct offer_thread *t = arg;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = t->p->data,
		    .data_size_in = t->p->len, .repeat = ACCURACY_CHUNK);
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(t->cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set)) {
		t->err = -EINVAL;
		return NULL;
	}
	while (!__atomic_load_n(t->stop, __ATOMIC_RELAXED))
		if (bpf_prog_test_run_opts(t->prog_fd, &opts)) {
			t->err = -errno;
			break;
		}
	return NULL;
}

/* The first @n CPUs this process may run on, into @cpus; how many. */
static __u32 usable_cpus(int *cpus, __u32 n)
{
	cpu_set_t set;
	__u32 found = 0;
	int cpu;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 0;
	for (cpu = 0; cpu < CPU_SETSIZE && found < n; cpu++)
		if (CPU_ISSET(cpu, &set))
			cpus[found++] = cpu;
	return found;
}

static int sleep_until(double t)
{
	struct timespec ts = { .tv_sec = (time_t)t,
			       .tv_nsec = (long)((t - (time_t)t) * 1e9) };

	return clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/*
 * @a->rate through copy @c from a full bucket, offered by @a->threads
 * CPUs for @a->seconds. 0, or -1 with why on stderr.
 */
static int accuracy_run(struct copy *c, const struct pkt *p, struct accuracy *a)
{
	__u32 key = FL_POLICIES_MAX + POLICER_SLOT, i, started = 0;
	struct offer_thread t[ACCURACY_THREADS_MAX] = {};
	int cpus[ACCURACY_THREADS_MAX], stop = 0, err = 0;
	struct fl_policy_stats before, st;
	double t0, t1 = 0, t2, bits = 8.0 * frame_ip_len(p);
	__u64 conf1 = 0;

	a->burst = policer_burst(a->rate);
	a->threads = usable_cpus(cpus, a->threads);
	if (!a->threads || policy_stats(c, key, &before) ||
	    policer_write(c, a->rate, a->burst)) {
		fprintf(stderr, "policy_bench: accuracy: cannot set up: %s\n",
			strerror(errno));
		return -1;
	}
	t0 = now_sec();
	for (i = 0; i < a->threads; i++) {
		t[i] = (struct offer_thread){ .prog_fd = c->prog_fd,
					      .cpu = cpus[i],
					      .p = p,
					      .stop = &stop };
		if (pthread_create(&t[i].tid, NULL, offer, &t[i])) {
			err = -1;
			break;
		}
		started++;
	}
	/* the burst spent: at twice the rate offered or more, it drains
	 * within its 100 ms. The counters and the clock read together: this
	 * thread shares the CPUs with the busy ones, and a read it was
	 * preempted in the middle of is taken again. */
	if (!err && !sleep_until(t0 + DRAIN_SECONDS)) {
		double ta, tb = 0;

		for (i = 0; i < READ_TRIES; i++) {
			ta = now_sec();
			if (policy_stats(c, key, &st))
				break;
			tb = now_sec();
			if (tb - ta < READ_WINDOW)
				break;
		}
		if (tb && st.exceeded_packets > before.exceeded_packets) {
			t1 = (ta + tb) / 2;
			conf1 = st.conformed_packets;
		}
	}
	if (t1)
		sleep_until(t0 + a->seconds);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < started; i++) {
		pthread_join(t[i].tid, NULL);
		if (t[i].err && !err) {
			fprintf(stderr,
				"policy_bench: accuracy: test run on CPU %d: %s\n",
				t[i].cpu, strerror(-t[i].err));
			err = -1;
		}
	}
	t2 = now_sec();
	if (!err && started < a->threads) {
		fprintf(stderr,
			"policy_bench: accuracy: cannot start a thread\n");
		err = -1;
	}
	if (!err && !t1) {
		fprintf(stderr,
			"policy_bench: accuracy at %llu bit/s: the policer had not exceeded after %.2f s\n",
			(unsigned long long)a->rate, DRAIN_SECONDS);
		err = -1;
	}
	if (!err && policy_stats(c, key, &st)) {
		fprintf(stderr,
			"policy_bench: accuracy: cannot read counters: %s\n",
			strerror(errno));
		err = -1;
	}
	if (err)
		return -1;
	a->seconds = t2 - t0;
	a->steady_seconds = t2 - t1;
	a->offered = st.matched_packets - before.matched_packets;
	a->conformed = st.conformed_packets - before.conformed_packets;
	a->steady_conformed = st.conformed_packets - conf1;
	a->offered_ratio = a->offered * bits / a->seconds / a->rate;
	a->full_ratio = a->conformed * bits / a->seconds / a->rate;
	a->steady_ratio =
		a->steady_conformed * bits / a->steady_seconds / a->rate;
	if (st.exceeded_packets - before.exceeded_packets !=
		    st.dropped_packets - before.dropped_packets ||
	    a->conformed + st.exceeded_packets - before.exceeded_packets !=
		    a->offered) {
		fprintf(stderr,
			"policy_bench: accuracy at %llu bit/s: the policer's counters do not add up\n",
			(unsigned long long)a->rate);
		return -1;
	}
	if (a->offered_ratio < 2 || a->steady_ratio < 0.5 ||
	    a->steady_ratio > 1.5) {
		fprintf(stderr,
			"policy_bench: accuracy at %llu bit/s: offered %.2fx the rate, passed %.3fx it (want offered >= 2, passed 0.5-1.5)\n",
			(unsigned long long)a->rate, a->offered_ratio,
			a->steady_ratio);
		return -1;
	}
	return 0;
}

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s [-b PROGS_DIR] [-r ROUNDS] [-n PACKETS] [-f FLOWS] [-d SECONDS] [-T THREADS]\n"
		"\n"
		"Per-packet cost of a cached flow with no policy, permit, drop, a\n"
		"policer (conforming, exceeding) and DSCP re-marking, host mode;\n"
		"then a bits/s policer's accuracy at 1, 10 and 100 Mbit/s.\n"
		"  -b DIR   where flow_spread.bpf.o is (default build/progs)\n"
		"  -r N     alternating rounds, median kept (default 11)\n"
		"  -n N     packets per row and round (default 1000000)\n"
		"  -f N     classified flows the packets are spread over (default %u)\n"
		"  -d S     seconds of offered load per accuracy rate (default 1.5)\n"
		"  -T N     CPUs offering it, a thread pinned on each (default: all)\n"
		"Prints markdown tables, then one JSON line; exit status 1 if a row\n"
		"did not do what it claims.\n",
		prog, FLOWS_DEFAULT);
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	int c;

	while ((c = getopt(argc, argv, "b:r:n:f:d:T:h")) != -1) {
		switch (c) {
		case 'b':
			o->progs_dir = optarg;
			break;
		case 'r':
			o->rounds = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			o->packets = strtoul(optarg, NULL, 10);
			break;
		case 'f':
			o->flows = strtoul(optarg, NULL, 10);
			break;
		case 'd':
			o->seconds = strtod(optarg, NULL);
			break;
		case 'T':
			o->threads = strtoul(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout, argv[0]);
			exit(EXIT_SUCCESS);
		default:
			usage(stderr, argv[0]);
			return -1;
		}
	}
	if (!o->rounds || o->rounds > 101 || !o->packets || !o->flows ||
	    o->flows > FLOW_MAP_SIZE / 2 ||
	    !(o->seconds >= 2 * DRAIN_SECONDS) || !o->threads ||
	    o->threads > ACCURACY_THREADS_MAX) {
		fprintf(stderr,
			"policy_bench: need rounds 1-101, packets > 0, flows 1-%u, seconds >= %.1f, threads 1-%u\n",
			FLOW_MAP_SIZE / 2, 2 * DRAIN_SECONDS,
			ACCURACY_THREADS_MAX);
		return -1;
	}
	return 0;
}

/* 0..n-1 in a shuffled order (a fixed seed: the same every run). */
static __u32 *shuffled(__u32 n)
{
	__u32 *v = malloc(n * sizeof(*v)), i, j, t;
	unsigned int seed = 12345;

	if (!v)
		return NULL;
	for (i = 0; i < n; i++)
		v[i] = i;
	for (i = n - 1; i > 0; i--) {
		j = rand_r(&seed) % (i + 1);
		t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
	return v;
}

static void report(const struct opts *o, double med[ROWS], double *sorted[ROWS],
		   const struct accuracy *acc, __u32 nacc, const struct pkt *p)
{
	double base = med[ROW_NONE], harness = med[ROW_HARNESS];
	__u32 last = o->rounds - 1, i;

	printf("| case | ns/packet | rounds min-max | minus harness | ns vs no policy | x no policy (minus harness) |\n");
	printf("| --- | ---: | ---: | ---: | ---: | ---: |\n");
	for (i = 0; i < ROWS; i++) {
		printf("| %s | %.1f | %.0f-%.0f |", rows[i].label, med[i],
		       sorted[i][0], sorted[i][last]);
		if (i == ROW_HARNESS)
			printf(" | | |\n");
		else
			printf(" %.1f | %+.1f | %.2f |\n", med[i] - harness,
			       med[i] - base,
			       (med[i] - harness) / (base - harness));
	}
	printf("\nHost mode, %u classified flows, %u-byte frames. \"ns vs no policy\": the row's\n"
	       "ns/packet less the cached-verdict row's; \"x no policy\": the row's program cost\n"
	       "(minus the harness) over the cached-verdict row's.\n",
	       o->flows, p->len);
	printf("\n| policer rate | burst bytes | CPUs offering | offered / rate | seconds | steady: conformed / rate | from a full bucket: conformed / rate |\n");
	printf("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
	for (i = 0; i < nacc; i++)
		printf("| %llu Mbit/s | %llu | %u | %.1f | %.2f | %.4f | %.4f |\n",
		       (unsigned long long)acc[i].rate / 1000000,
		       (unsigned long long)acc[i].burst, acc[i].threads,
		       acc[i].offered_ratio, acc[i].seconds,
		       acc[i].steady_ratio, acc[i].full_ratio);
	printf("\nConformed bits are conformed packets x %u-byte IP datagrams x 8; steady runs from\n"
	       "%.2f s after the policer was written (its burst long spent) to the end.\n",
	       frame_ip_len(p), DRAIN_SECONDS);
	printf("\n{\"bench\":\"policy_bench\",\"rounds\":%u,\"packets\":%u,\"flows\":%u,\"ns\":{",
	       o->rounds, o->packets, o->flows);
	for (i = 0; i < ROWS; i++)
		printf("%s\"%s\":%.1f", i ? "," : "", rows[i].name, med[i]);
	printf("},\"delta_ns\":{");
	for (i = ROW_PERMIT; i < ROWS; i++)
		printf("%s\"%s\":%.1f", i > ROW_PERMIT ? "," : "", rows[i].name,
		       med[i] - base);
	printf("},\"accuracy\":[");
	for (i = 0; i < nacc; i++)
		printf("%s{\"rate\":%llu,\"burst\":%llu,\"threads\":%u,\"seconds\":%.3f,"
		       "\"offered_ratio\":%.2f,\"steady_ratio\":%.4f,\"full_ratio\":%.4f}",
		       i ? "," : "", (unsigned long long)acc[i].rate,
		       (unsigned long long)acc[i].burst, acc[i].threads,
		       acc[i].seconds, acc[i].offered_ratio,
		       acc[i].steady_ratio, acc[i].full_ratio);
	printf("]}\n");
}

int main(int argc, char **argv)
{
	struct opts o = { .progs_dir = "build/progs",
			  .rounds = 11,
			  .packets = 1000000,
			  .flows = FLOWS_DEFAULT,
			  .seconds = 1.5,
			  .threads = ACCURACY_THREADS_MAX };
	static const struct row_def acc_def = { "accuracy",	  "",
						FL_POLICY_POLICE, 0,
						CONFORM_RATE,	  XDP_PASS };
	struct copy copies[ROWS] = {}, acc_copy = {};
	struct accuracy acc[NR_RATES * 2] = {};
	int cpus[ACCURACY_THREADS_MAX];
	__u32 all_cpus, nacc = 0, k;
	double *ns[ROWS] = {}, med[ROWS];
	int ret = EXIT_FAILURE, target;
	__u32 *order = NULL, r, i;
	struct pkt p;

	if (parse_args(argc, argv, &o))
		return EXIT_FAILURE;
	libbpf_set_print(print_warnings);
	if (frame_build(&p)) {
		fprintf(stderr, "policy_bench: cannot build the frame\n");
		return EXIT_FAILURE;
	}
	order = shuffled(o.flows);
	for (i = 0; i < ROWS; i++)
		ns[i] = calloc(o.rounds, sizeof(double));
	if (!order || !ns[ROWS - 1])
		goto out;
	for (i = 0; i <= ROWS; i++) {
		struct copy *c = i < ROWS ? &copies[i] : &acc_copy;
		const struct row_def *d = i < ROWS ? &rows[i] : &acc_def;

		target = -1;
		if (i != ROW_HARNESS) {
			if (copy_load(c))
				goto out;
			if (policy_write(c, d) ||
			    cache_fill(c, &p, o.flows,
				       d->action ? POLICY_SLOT : 0)) {
				fprintf(stderr,
					"policy_bench: %s: cannot install the policy and flows: %s\n",
					d->name, strerror(errno));
				goto out;
			}
			target = bpf_program__fd(c->skel->progs.flowlens);
		}
		if (spread_load(c, o.progs_dir, order, o.flows, target))
			goto out;
	}

	for (r = 0; r < o.rounds; r++) {
		for (i = 0; i < ROWS; i++) {
			ns[i][r] = round_run(&copies[i], i, &p, o.packets);
			if (ns[i][r] < 0) {
				fprintf(stderr,
					"policy_bench: %s: test run: %s\n",
					rows[i].name,
					errno == EPROTO ?
						"a verdict not the row's" :
						strerror(errno));
				goto out;
			}
		}
	}
	for (i = 0; i < ROWS; i++)
		if (row_verify(&copies[i], i, &p))
			goto out;
	for (i = 0; i < ROWS; i++) {
		qsort(ns[i], o.rounds, sizeof(double), cmp_double);
		med[i] = ns[i][o.rounds / 2];
	}

	/* each rate offered by one CPU, then by all (-T): one bucket for
	 * every CPU is what the second shows */
	all_cpus = usable_cpus(cpus, o.threads);
	for (i = 0; i < NR_RATES; i++) {
		for (k = 0; k < (all_cpus > 1 ? 2 : 1); k++) {
			acc[nacc].rate = accuracy_rates[i];
			acc[nacc].threads = k ? all_cpus : 1;
			acc[nacc].seconds = o.seconds;
			if (accuracy_run(&acc_copy, &p, &acc[nacc]))
				goto out;
			nacc++;
		}
	}
	report(&o, med, ns, acc, nacc, &p);
	ret = EXIT_SUCCESS;
out:
	for (i = 0; i <= ROWS; i++) {
		struct copy *c = i < ROWS ? &copies[i] : &acc_copy;

		if (i < ROWS)
			free(ns[i]);
		bpf_object__close(c->spread);
		flowlens_bpf__destroy(c->skel);
	}
	free(order);
	return ret;
}
