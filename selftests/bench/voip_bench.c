// SPDX-License-Identifier: Apache-2.0
/*
 * voip_bench - the SIP stage's part of make bench (issue 20): what
 * bpf/voip.h adds to a packet's cost in the XDP program, each kind of
 * packet against the same packet with VoIP off (fl_config.voip 0, which
 * skips the stage without a lookup).
 *
 * Rows, each with a copy of flowlens of its own with VoIP on, its maps
 * written as flowlensd writes them (198.51.100.0/24 protected in
 * fl_voip4, slot 3; the default SIP port):
 *   other-port      UDP to port 53: what every TCP/UDP packet pays while
 *                   VoIP is on (fl_voip_conf's lookup, the port compares)
 *   unprotected     an INVITE to 5060 of a host no prefix protects: the
 *                   payload's first bytes read and classified, the totals
 *                   counted, one LPM lookup that misses
 *   protected       an INVITE to 198.51.100.7: the host's exact entry,
 *                   and its untracked source's lookup that misses and its
 *                   four sketch cells and total (heavy_packets out of
 *                   reach: the source stays untracked, as a spoofed
 *                   flood's do)
 *   tracked-source  the same INVITE from a source the sketch made heavy
 *                   before the rounds (heavy_packets 4): its exact entry
 *                   instead of the sketch
 *   limiter-pass    an INVITE to 198.51.100.9, whose INVITEs have a
 *                   method limiter at 100,000,000 packets/s: every packet
 *                   conforms (the limiter's clock read and compare-and-
 *                   swap, and its passed counter)
 * and one more copy with VoIP off (its maps the same, never read) that
 * every row's packet runs through in the same rounds: the baseline.
 *
 * Host mode, the flow cache off (FL_ESCALATE_F_OFF: no flow is looked up,
 * so the rows differ only by the SIP stage), the DDoS engine's accounting
 * as ever (sketch only: thresholds out of reach, nothing protected), no
 * rules. Private maps (nothing pinned), so a running flowlensd is never
 * touched. Plain bpf_prog_test_run, one run of -n repeats a round (the
 * SIP stage and host mode never rewrite the frame, so nothing needs it
 * copied in afresh, as a router's TTL does: bench_run.h's chunks of 250
 * would add a test run's setup, about 0.5 ms here, every 250 packets to
 * the wall time, not to the figures): the same frame repeated, so caches
 * are warm and this is the cost of the instructions, helper calls and map
 * lookups; XDP_PASS is only the run's return value. An XDP_PASS program is measured in the same rounds, the
 * harness row. Rounds alternate between the rows and, within a row, VoIP
 * off and on; the median of each is reported, and the row's "delta" is
 * its VoIP-on median less its VoIP-off median.
 *
 * Each copy must have done what its row claims, else the exit status is
 * 1: every run ends in XDP_PASS; fl_sip_totals counts every packet sent
 * to 5060 as an INVITE (and nothing for other-port, or for the VoIP-off
 * copy); protected_packets, tracked_sources and the exact entries (the
 * host's and the source's) agree with the row; the limiter passed every
 * packet and dropped none.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <flowlens/flowlens.h>

#include "flowlens.skel.h"
#include "bench_run.h"
#include "pkt.h"
#include "ruleset.h"

#define ROUNDS_MAX 101
#define FLOW_MAP_SIZE 1024 /* fl_flows: unused with the flow cache off */
#define PROTECTED_SLOT 3
#define HEAVY_PACKETS 4 /* tracked-source's copy */
#define NEVER_HEAVY 0xffffffffU /* the other copies' */
#define LIMIT_COST_NS 10 /* 100,000,000 packets a second */
#define LIMIT_BURST_NS 1000000000ULL

#define INVITE                                                         \
	"INVITE sip:bob@198.51.100.7 SIP/2.0\r\n"                      \
	"Via: SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bK-776asdhds\r\n" \
	"Max-Forwards: 70\r\n"                                         \
	"To: Bob <sip:bob@198.51.100.7>\r\n"                           \
	"From: Alice <sip:alice@192.0.2.2>;tag=1928301774\r\n"         \
	"Call-ID: a84b4c76e66710@192.0.2.2\r\n"                        \
	"CSeq: 314159 INVITE\r\n"                                      \
	"Content-Length: 0\r\n\r\n"

enum row {
	ROW_OTHER_PORT,
	ROW_UNPROTECTED,
	ROW_PROTECTED,
	ROW_TRACKED,
	ROW_LIMITER,
	ROWS
};

struct row_def {
	const char *name; /* JSON key */
	const char *label; /* the table's first column */
	const char *src, *dst;
	__u16 sport, dport;
	__u32 heavy; /* fl_voip_conf.heavy_packets of its copy */
};

static const struct row_def rows[ROWS] = {
	[ROW_OTHER_PORT] = { "other_port",
			     "UDP to port 53 (what every packet pays)",
			     "192.0.2.2", "198.51.100.7", 40000, 53,
			     NEVER_HEAVY },
	[ROW_UNPROTECTED] = { "unprotected", "INVITE, unprotected host",
			      "192.0.2.2", "203.0.113.7", 5060, 5060,
			      NEVER_HEAVY },
	[ROW_PROTECTED] = { "protected",
			    "INVITE, protected host, untracked source",
			    "192.0.2.2", "198.51.100.7", 5060, 5060,
			    NEVER_HEAVY },
	[ROW_TRACKED] = { "tracked_source",
			  "INVITE, protected host, tracked (heavy) source",
			  "192.0.2.2", "198.51.100.7", 5060, 5060,
			  HEAVY_PACKETS },
	[ROW_LIMITER] = { "limiter_pass",
			  "INVITE through a method limiter that passes it",
			  "192.0.2.2", "198.51.100.9", 5060, 5060,
			  NEVER_HEAVY },
};

struct copy {
	struct flowlens_bpf *skel;
	int prog_fd;
	__u64 sent; /* packets run through it */
};

struct opts {
	const char *progs_dir;
	__u32 rounds, packets;
};

static int print_warnings(enum libbpf_print_level level, const char *fmt,
			  va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static int frame_build(const struct row_def *d, struct pkt *p)
{
	struct pkt_spec spec = { .l3 = PKT_IPV4,
				 .src = d->src,
				 .dst = d->dst,
				 .l4 = PKT_UDP,
				 .udp = { .sport = d->sport,
					  .dport = d->dport },
				 .payload = INVITE };

	return pkt_build(&spec, p);
}

static int map_write(struct bpf_map *map, const void *key, size_t key_size,
		     const void *value, size_t value_size)
{
	return bpf_map__update_elem(map, key, key_size, value, value_size, 0) ?
		       -errno :
		       0;
}

/* A copy of flowlens with private maps, host mode, VoIP @voip. */
static int copy_load(struct copy *c, __u32 voip, __u32 heavy)
{
	struct fl_config cfg = { .mode = FL_MODE_HOST,
				 .hash_seed = 0x5eed,
				 .heavy_pps = ~0ULL,
				 .heavy_bps = ~0ULL,
				 .heavy_packets = ~0ULL,
				 .heavy_bytes = ~0ULL,
				 .escalate_flags = FL_ESCALATE_F_OFF,
				 .voip = voip };
	struct fl_voip_conf conf = { .heavy_packets = heavy,
				     .hash_seed = 0x5eed };
	struct fl_lpm4_key prefix = { .prefixlen = 24,
				      .addr = { 198, 51, 100, 0 } };
	struct fl_voip_prefix slot = { .slot = PROTECTED_SLOT };
	struct fl_sip_limit_key lkey = { .family = 4, .method = FL_SIP_INVITE };
	struct fl_sip_limit limit = { .cost = LIMIT_COST_NS,
				      .depth = LIMIT_BURST_NS };
	struct bpf_map *map;
	__u32 zero = 0;
	int err;

	c->skel = flowlens_bpf__open();
	if (!c->skel) {
		fprintf(stderr, "voip_bench: cannot open flowlens: %s\n",
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
			"voip_bench: cannot load flowlens (run make)\n");
		return -1;
	}
	c->prog_fd = bpf_program__fd(c->skel->progs.flowlens);
	inet_pton(AF_INET, rows[ROW_LIMITER].dst, lkey.addr.b);
	err = map_write(c->skel->maps.FL_MAP_CONFIG, &zero, sizeof(zero), &cfg,
			sizeof(cfg));
	err = err   ?:
		      map_write(c->skel->maps.FL_MAP_VOIP_CONF, &zero,
				sizeof(zero), &conf, sizeof(conf));
	err = err   ?:
		      map_write(c->skel->maps.FL_MAP_VOIP4, &prefix,
				sizeof(prefix), &slot, sizeof(slot));
	err = err   ?:
		      map_write(c->skel->maps.FL_MAP_SIP_LIMIT, &lkey,
				sizeof(lkey), &limit, sizeof(limit));
	err = err ?: bench_claim_if(c->skel->obj, 0);
	if (err) {
		fprintf(stderr, "voip_bench: cannot configure flowlens: %s\n",
			strerror(-err));
		return -1;
	}
	return 0;
}

/* One test run of @packets repeats of @p: the mean ns (the kernel's
 * timer, whole ns) and the verdict. 0 or -errno. */
static int measure(int prog_fd, const struct pkt *p, __u32 packets, __u32 *ns,
		   __u32 *action)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->data,
		    .data_size_in = p->len, .repeat = packets);

	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	*ns = opts.duration;
	*action = opts.retval;
	return 0;
}

/* One round of @packets of @p through @c; 0, or -1 said why. */
static int round_run(struct copy *c, const struct pkt *p, __u32 packets,
		     __u32 *ns)
{
	__u32 action;
	int err;

	err = measure(c->prog_fd, p, packets, ns, &action);
	if (err) {
		fprintf(stderr, "voip_bench: test run: %s\n", strerror(-err));
		return -1;
	}
	if (action != XDP_PASS) {
		fprintf(stderr, "voip_bench: verdict %u, not XDP_PASS\n",
			action);
		return -1;
	}
	c->sent += packets;
	return 0;
}

/* ---- what each copy did ------------------------------------------------- */

static int totals_read(struct copy *c, struct fl_sip_totals *sum)
{
	int n = libbpf_num_possible_cpus(), cpu;
	const size_t words = sizeof(*sum) / sizeof(__u64);
	__u64 *values, *out = (__u64 *)sum;
	__u32 zero = 0;
	size_t i;

	memset(sum, 0, sizeof(*sum));
	values = calloc(n, sizeof(*sum));
	if (!values)
		return -ENOMEM;
	if (bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.FL_MAP_SIP_TOTALS),
				&zero, values)) {
		free(values);
		return -errno;
	}
	for (cpu = 0; cpu < n; cpu++)
		for (i = 0; i < words; i++)
			out[i] += values[cpu * words + i];
	free(values);
	return 0;
}

/* An exact entry's INVITEs, summed over CPUs; 0 if there is none. */
static __u64 sip_invites(struct copy *c, const char *addr, __u8 side)
{
	int n = libbpf_num_possible_cpus(), cpu;
	struct fl_sip_key key = { .slot = PROTECTED_SLOT,
				  .family = 4,
				  .side = side };
	struct fl_sip_stats *values;
	__u64 sum = 0;

	inet_pton(AF_INET, addr, key.addr.b);
	values = calloc(n, sizeof(*values));
	if (!values)
		return 0;
	if (!bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.FL_MAP_SIP_STATS),
				 &key, values))
		for (cpu = 0; cpu < n; cpu++)
			sum += values[cpu].kinds[FL_SIP_INVITE];
	free(values);
	return sum;
}

#define CHECK(cond, ...)                                           \
	do {                                                       \
		if (!(cond)) {                                     \
			fprintf(stderr, "voip_bench: %s: ", what); \
			fprintf(stderr, __VA_ARGS__);              \
			fputc('\n', stderr);                       \
			return -1;                                 \
		}                                                  \
	} while (0)

/* Whether the copy of row @i (or with VoIP off: @i == ROWS) did what it
 * claims; 0, or -1 with why on stderr. @warm: packets sent before the
 * rounds (they count too). */
static int copy_verify(struct copy *c, enum row i, __u64 warm)
{
	const char *what = i < ROWS ? rows[i].name : "voip off";
	unsigned long long sent = c->sent + warm, invites = sent;
	struct fl_sip_limit_key lkey = { .family = 4, .method = FL_SIP_INVITE };
	struct fl_sip_totals t;
	struct fl_sip_limit lim;
	__u64 src, dst;

	inet_pton(AF_INET, rows[ROW_LIMITER].dst, lkey.addr.b);
	if (totals_read(c, &t) ||
	    bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.FL_MAP_SIP_LIMIT),
				&lkey, &lim)) {
		fprintf(stderr,
			"voip_bench: %s: cannot read the counters: %s\n", what,
			strerror(errno));
		return -1;
	}
	if (i == ROWS || i == ROW_OTHER_PORT)
		invites = 0;
	CHECK(t.kinds[FL_SIP_INVITE] == invites,
	      "%llu packets sent, %llu counted as INVITEs, expected %llu", sent,
	      (unsigned long long)t.kinds[FL_SIP_INVITE], invites);
	CHECK(t.protected_packets == (i == ROW_PROTECTED || i == ROW_TRACKED ||
						      i == ROW_LIMITER ?
					      sent :
					      0),
	      "%llu packets sent, %llu protected", sent,
	      (unsigned long long)t.protected_packets);
	CHECK(t.tracked_sources == (i == ROW_TRACKED), "%llu sources tracked",
	      (unsigned long long)t.tracked_sources);
	if (i == ROW_PROTECTED || i == ROW_TRACKED || i == ROW_LIMITER) {
		dst = sip_invites(c, rows[i].dst, FL_SIP_SIDE_DST);
		CHECK(dst == sent, "the host's entry counts %llu of %llu",
		      (unsigned long long)dst, sent);
	}
	src = sip_invites(c, rows[i < ROWS ? i : 0].src, FL_SIP_SIDE_SRC);
	/* the packet that makes it heavy (heavy_packets + 1, the sketch's
	 * total being its own) is its entry's first */
	CHECK(src == (i == ROW_TRACKED ? sent - HEAVY_PACKETS : 0),
	      "the source's entry counts %llu of %llu", (unsigned long long)src,
	      sent);
	CHECK(lim.passed == (i == ROW_LIMITER ? sent : 0) && !lim.dropped,
	      "the limiter passed %llu and dropped %llu of %llu",
	      (unsigned long long)lim.passed, (unsigned long long)lim.dropped,
	      sent);
	return 0;
}

/* ---- the run -------------------------------------------------------------- */

static void usage(const char *prog)
{
	printf("Usage: %s [-b PROGS_DIR] [-r ROUNDS] [-n PACKETS]\n"
	       "\n"
	       "Per-packet cost of the SIP stage (bpf/voip.h): each kind of packet\n"
	       "through a copy of flowlens with VoIP on and through one with VoIP\n"
	       "off, host mode, bpf_prog_test_run in alternating rounds; the\n"
	       "median round of each is kept.\n"
	       "\n"
	       "  -b DIR      where xdp_pass.bpf.o is (default build/progs)\n"
	       "  -r ROUNDS   alternating rounds (default 11, at most %u)\n"
	       "  -n PACKETS  packets per round and row (default 1000000)\n",
	       prog, ROUNDS_MAX);
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	int c;

	while ((c = getopt(argc, argv, "b:r:n:h")) != -1) {
		switch (c) {
		case 'b':
			o->progs_dir = optarg;
			break;
		case 'r':
			o->rounds = strtoul(optarg, NULL, 0);
			break;
		case 'n':
			o->packets = strtoul(optarg, NULL, 0);
			break;
		case 'h':
			usage(argv[0]);
			exit(EXIT_SUCCESS);
		default:
			usage(argv[0]);
			return -1;
		}
	}
	if (!o->rounds || o->rounds > ROUNDS_MAX || !o->packets) {
		fprintf(stderr,
			"voip_bench: rounds must be 1-%u, packets > 0\n",
			ROUNDS_MAX);
		return -1;
	}
	return 0;
}

static __u32 min_of(const __u32 *v, __u32 n)
{
	__u32 m = v[0], i;

	for (i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

static __u32 max_of(const __u32 *v, __u32 n)
{
	__u32 m = v[0], i;

	for (i = 1; i < n; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

static void report(const struct opts *o, const struct pkt *frames,
		   __u32 on_ns[][ROUNDS_MAX], __u32 off_ns[][ROUNDS_MAX],
		   __u32 *pass_ns)
{
	double on[ROWS], off[ROWS], pass = bench_median(pass_ns, o->rounds);
	__u32 i;

	printf("| case | XDP_PASS ns | VoIP off ns | VoIP on ns | VoIP on, rounds min-max | ns vs VoIP off | on / off (minus XDP_PASS) |\n");
	printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
	for (i = 0; i < ROWS; i++) {
		__u32 lo = min_of(on_ns[i], o->rounds),
		      hi = max_of(on_ns[i], o->rounds);

		on[i] = bench_median(on_ns[i], o->rounds);
		off[i] = bench_median(off_ns[i], o->rounds);
		printf("| %s | %.0f | %.0f | %.0f | %u-%u | %+.0f | %.2f |\n",
		       rows[i].label, pass, off[i], on[i], lo, hi,
		       on[i] - off[i], (on[i] - pass) / (off[i] - pass));
	}
	printf("\nHost mode, flow cache off, %u-byte frames (INVITE: a %u-byte UDP payload);\n"
	       "median of %u alternating rounds of %u packets. \"ns vs VoIP off\": the row's VoIP-on\n"
	       "median less the same packet's VoIP-off median.\n",
	       frames[ROW_PROTECTED].len,
	       frames[ROW_PROTECTED].len - frames[ROW_PROTECTED].payload_off,
	       o->rounds, o->packets);
	printf("\n{\"bench\":\"voip_bench\",\"rounds\":%u,\"packets\":%u,\"xdp_pass\":%.1f,\"off\":{",
	       o->rounds, o->packets, pass);
	for (i = 0; i < ROWS; i++)
		printf("%s\"%s\":%.1f", i ? "," : "", rows[i].name, off[i]);
	printf("},\"on\":{");
	for (i = 0; i < ROWS; i++)
		printf("%s\"%s\":%.1f", i ? "," : "", rows[i].name, on[i]);
	printf("},\"delta_ns\":{");
	for (i = 0; i < ROWS; i++)
		printf("%s\"%s\":%.1f", i ? "," : "", rows[i].name,
		       on[i] - off[i]);
	printf("}}\n");
}

int main(int argc, char **argv)
{
	static __u32 on_ns[ROWS][ROUNDS_MAX], off_ns[ROWS][ROUNDS_MAX],
		pass_ns[ROUNDS_MAX];
	struct opts o = { .progs_dir = "build/progs",
			  .rounds = 11,
			  .packets = 1000000 };
	struct bpf_object *pass_obj = NULL;
	struct copy on[ROWS] = {}, off = {};
	int ret = EXIT_FAILURE, pass_fd;
	struct pkt frames[ROWS];
	__u32 r, i, ns, action;
	char path[512];

	if (parse_args(argc, argv, &o))
		return EXIT_FAILURE;
	libbpf_set_print(print_warnings);
	for (i = 0; i < ROWS; i++) {
		if (frame_build(&rows[i], &frames[i])) {
			fprintf(stderr,
				"voip_bench: cannot build the frames\n");
			return EXIT_FAILURE;
		}
	}
	snprintf(path, sizeof(path), "%s/xdp_pass.bpf.o", o.progs_dir);
	pass_obj = bpf_object__open_file(path, NULL);
	if (!pass_obj || bpf_object__load(pass_obj)) {
		fprintf(stderr, "voip_bench: cannot load %s (run make)\n",
			path);
		pass_obj = NULL;
		goto out;
	}
	pass_fd = bpf_program__fd(bpf_object__next_program(pass_obj, NULL));
	for (i = 0; i < ROWS; i++)
		if (copy_load(&on[i], 1, rows[i].heavy))
			goto out;
	if (copy_load(&off, 0, NEVER_HEAVY))
		goto out;
	/* the tracked source: heavy_packets INVITEs, before the rounds */
	if (measure(on[ROW_TRACKED].prog_fd, &frames[ROW_TRACKED],
		    HEAVY_PACKETS, &ns, &action)) {
		fprintf(stderr, "voip_bench: cannot make the source heavy\n");
		goto out;
	}

	for (r = 0; r < o.rounds; r++) {
		if (measure(pass_fd, &frames[ROW_PROTECTED], o.packets,
			    &pass_ns[r], &action)) {
			fprintf(stderr,
				"voip_bench: XDP_PASS: test run failed\n");
			goto out;
		}
		for (i = 0; i < ROWS; i++) {
			/* which of the two goes first alternates too */
			struct copy *first = r & 1 ? &on[i] : &off,
				    *second = r & 1 ? &off : &on[i];

			if (round_run(first, &frames[i], o.packets,
				      r & 1 ? &on_ns[i][r] : &off_ns[i][r]) ||
			    round_run(second, &frames[i], o.packets,
				      r & 1 ? &off_ns[i][r] : &on_ns[i][r]))
				goto out;
		}
	}
	for (i = 0; i < ROWS; i++)
		if (copy_verify(&on[i], i,
				i == ROW_TRACKED ? HEAVY_PACKETS : 0))
			goto out;
	if (copy_verify(&off, ROWS, 0))
		goto out;
	report(&o, frames, on_ns, off_ns, pass_ns);
	ret = EXIT_SUCCESS;
out:
	for (i = 0; i < ROWS; i++)
		flowlens_bpf__destroy(on[i].skel);
	flowlens_bpf__destroy(off.skel);
	bpf_object__close(pass_obj);
	return ret;
}
