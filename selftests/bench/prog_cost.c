// SPDX-License-Identifier: Apache-2.0
/*
 * prog_cost - per-packet cost of the flowlens XDP program, next to an
 * XDP_PASS program measured in the same run (make bench).
 *
 * Each packet kind runs through both programs with bpf_prog_test_run and a
 * large repeat count; the kernel reports the mean time per run. Rounds
 * alternate between the two programs and the median of each is kept, so a
 * burst of noise on this shared machine hits both alike. The ratio is the
 * result; absolute nanoseconds depend on the machine.
 *
 * With -D it measures the DDoS engine's rows instead (see ddos_rows()).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <flowlens/flowlens.h>

#include "flowlens.skel.h"
#include "bench_run.h"
#include "pkt.h"
#include "rule.h"
#include "ruleset.h"

struct kind {
	const char *name;
	const char *what;
	enum fl_mode mode;
	struct pkt_spec spec;
	unsigned int opts; /* KIND_* (true: KIND_TRACKED) */
};

#define KIND_TRACKED 0x1 /* addresses get exact counters */
#define KIND_CACHED 0x2 /* the flow has a final verdict: bypassed */
#define KIND_NO_CACHE 0x4 /* stages 6 and 7 off (FL_ESCALATE_F_OFF) */

/* Addresses the lab routes: client subnet -> server subnet. */
#define V4 .src = "192.0.2.2", .dst = "198.51.100.2"
#define V6 .src = "2001:db8:1::2", .dst = "2001:db8:2::2"

static const struct kind kinds[] = {
	{ "ipv4-udp",
	  "IPv4 UDP, 64 B payload, addresses untracked",
	  FL_MODE_HOST,
	  { V4, .l3 = PKT_IPV4, .l4 = PKT_UDP, .payload_len = 64 },
	  false },
	{ "ipv4-udp-tracked",
	  "same, source and destination tracked",
	  FL_MODE_HOST,
	  { V4, .l3 = PKT_IPV4, .l4 = PKT_UDP, .payload_len = 64 },
	  true },
	{ "ipv4-tcp-syn",
	  "IPv4 TCP SYN, untracked",
	  FL_MODE_HOST,
	  { V4, .l3 = PKT_IPV4, .l4 = PKT_TCP, .tcp.flags = PKT_TCP_SYN },
	  false },
	{ "ipv6-udp",
	  "IPv6 UDP, 64 B payload, untracked",
	  FL_MODE_HOST,
	  { V6, .l3 = PKT_IPV6, .l4 = PKT_UDP, .payload_len = 64 },
	  false },
	{ "ipv6-ext-tcp",
	  "IPv6 hop-by-hop + dstopts + TCP, untracked",
	  FL_MODE_HOST,
	  { V6, .l3 = PKT_IPV6, .l4 = PKT_TCP,
	    .ip6 = { .nr_ext = 2, .ext = { { .type = 0 }, { .type = 60 } } } },
	  false },
	{ "vlan-ipv4-udp",
	  "802.1Q + IPv4 UDP, untracked",
	  FL_MODE_HOST,
	  { V4, .vlan.count = 1, .l3 = PKT_IPV4, .l4 = PKT_UDP,
	    .payload_len = 64 },
	  false },
	{ "ipv4-udp",
	  "IPv4 UDP, 64 B payload, routed to the server",
	  FL_MODE_ROUTER,
	  { V4, .l3 = PKT_IPV4, .l4 = PKT_UDP, .payload_len = 64 },
	  false },
	{ "ipv4-tcp-syn",
	  "IPv4 TCP SYN, routed to the server",
	  FL_MODE_ROUTER,
	  { V4, .l3 = PKT_IPV4, .l4 = PKT_TCP, .tcp.flags = PKT_TCP_SYN },
	  false },
	{ "ipv6-udp",
	  "IPv6 UDP, 64 B payload, routed to the server",
	  FL_MODE_ROUTER,
	  { V6, .l3 = PKT_IPV6, .l4 = PKT_UDP, .payload_len = 64 },
	  false },
	/* The flow cache (stage 6): the same packet of a flow a worker has
	 * classified, and with stages 6 and 7 off; their difference is the
	 * cached verdict's cost per packet. */
	{ "ipv4-tcp-cached",
	  "IPv4 TCP, 64 B payload, flow classified: cached verdict (bypass)",
	  FL_MODE_HOST,
	  { V4, .l3 = PKT_IPV4, .l4 = PKT_TCP, .tcp.flags = 0x18,
	    .payload_len = 64 },
	  KIND_CACHED },
	{ "ipv4-tcp-nocache",
	  "same packet, flow cache off (escalate_flags off)",
	  FL_MODE_HOST,
	  { V4, .l3 = PKT_IPV4, .l4 = PKT_TCP, .tcp.flags = 0x18,
	    .payload_len = 64 },
	  KIND_NO_CACHE },
	{ "ipv4-udp",
	  "IPv4 UDP, 64 B payload, counted and dropped",
	  FL_MODE_MONITOR,
	  { V4, .l3 = PKT_IPV4, .l4 = PKT_UDP, .payload_len = 64 },
	  false },
};

static const char *const mode_names[FL_MODE_MAX] = {
#define FL_X_NAME(id, name) [FL_MODE_##id] = name,
	FL_MODES(FL_X_NAME)
#undef FL_X_NAME
};

/* What a worker writes once it has classified the packet's flow: a
 * final verdict, so every later packet is a cache hit that bypasses. */
static int flow_classify(struct flowlens_bpf *skel, const struct pkt *p)
{
	struct fl_flow flow = { .state = FL_FLOW_CLASSIFIED,
				.flags = FL_FLOW_F_BYPASS,
				.app = 7,
				.master = 91 };
	struct fl_flow_key key;

	bench_flow_key(p, &key);
	return bpf_map__update_elem(skel->maps.FL_MAP_FLOWS, &key, sizeof(key),
				    &flow, sizeof(flow), 0);
}

/* Packets the classified flow has seen (0 if its entry is gone). */
static __u64 flow_classified_packets(struct flowlens_bpf *skel,
				     const struct pkt *p)
{
	struct fl_flow_key key;
	struct fl_flow flow;

	bench_flow_key(p, &key);
	if (bpf_map__lookup_elem(skel->maps.FL_MAP_FLOWS, &key, sizeof(key),
				 &flow, sizeof(flow), 0) ||
	    !(flow.flags & FL_FLOW_F_BYPASS))
		return 0;
	return fl_flow_packets(&flow);
}

/*
 * Untracked: thresholds so high the sketch never flags anyone, nothing
 * protected. Tracked: both addresses protected, so every packet also
 * updates two exact LRU entries.
 */
static int configure(struct flowlens_bpf *skel, const struct kind *k,
		     const struct pkt *p, __u32 in_ifindex)
{
	struct fl_config cfg = { .mode = k->mode,
				 .escalate_flags = k->opts & KIND_NO_CACHE ?
							   FL_ESCALATE_F_OFF :
							   0,
				 .hash_seed = 0x5eed,
				 .heavy_pps = ~0ULL,
				 .heavy_bps = ~0ULL,
				 .heavy_packets = ~0ULL,
				 .heavy_bytes = ~0ULL };
	struct fl_lpm4_key key4 = { .prefixlen = 0 };
	struct fl_lpm6_key key6 = { .prefixlen = 0 };
	struct fl_protect value = {};
	__u32 zero = 0;
	int err;

	err = bpf_map__update_elem(skel->maps.FL_MAP_CONFIG, &zero,
				   sizeof(zero), &cfg, sizeof(cfg), 0) ?:
	      bench_claim_if(skel->obj, in_ifindex);
	if (err)
		return err;
	if (k->opts & KIND_TRACKED) {
		err = bpf_map__update_elem(skel->maps.FL_MAP_PROTECT4, &key4,
					   sizeof(key4), &value, sizeof(value),
					   0);
		err = err   ?:
			      bpf_map__update_elem(skel->maps.FL_MAP_PROTECT6,
						   &key6, sizeof(key6), &value,
						   sizeof(value), 0);
	} else {
		bpf_map__delete_elem(skel->maps.FL_MAP_PROTECT4, &key4,
				     sizeof(key4), 0);
		bpf_map__delete_elem(skel->maps.FL_MAP_PROTECT6, &key6,
				     sizeof(key6), 0);
		err = bench_untrack(skel->obj);
	}
	if (!err && (k->opts & KIND_CACHED))
		err = flow_classify(skel, p);
	return err;
}

/*
 * -D: what the DDoS engine adds per packet. Each case is a copy of flowlens
 * with private maps that keeps its state through the alternating rounds,
 * so nothing is reconfigured between two measurements. Host mode; the
 * packet is IPv4 UDP 192.0.2.2 -> 198.51.100.2, its source never heavy:
 *
 *   untracked  nothing protected: the sketch only (the common case, and
 *              the foundation's "untracked" row)
 *   victim     the destination's prefix protected, as `ddos threshold
 *              add` does, sampling on: exact counters by protocol, and
 *              one packet in @sample_rate copied to the ring buffer for
 *              the attack's signature
 *   sampled    the same with every packet a sampling candidate (rate 1):
 *              the start of a flood, before flowlensd adapts the rate; the
 *              per-CPU budget (FL_SAMPLE_BUDGET) caps what it costs
 *   rule       victim, plus the rule the engine installs against this
 *              source (order 900, an attack's id), which drops it
 *
 * The thresholds are flowlensd's (every 100 ms, on the exact counters);
 * the datapath's part is counting and sampling. The samples are drained
 * after every measurement, as flowlensd does, so the ring never fills.
 */
#define DDOS_SAMPLE_RATE_DEFAULT 64

enum ddos_case {
	DDOS_UNTRACKED,
	DDOS_VICTIM,
	DDOS_SAMPLED,
	DDOS_RULE,
	DDOS_CASES
};

struct ddos_engine {
	const char *name;
	const char *what;
	struct flowlens_bpf *skel;
	struct ring_buffer *samples;
	struct fl_ruleset *rules;
	int prog_fd;
	__u64 sampled;
	__u32 ns[101];
	__u32 action;
};

static int sample_seen(void *ctx, void *data, size_t size)
{
	(void)data;
	(void)size;
	(*(__u64 *)ctx)++;
	return 0;
}

static int ddos_engine_load(struct ddos_engine *e, enum ddos_case c,
			    __u32 sample_rate)
{
	struct fl_config cfg = { .mode = FL_MODE_HOST,
				 .hash_seed = 0x5eed,
				 .heavy_pps = ~0ULL,
				 .heavy_bps = ~0ULL,
				 .heavy_packets = ~0ULL,
				 .heavy_bytes = ~0ULL };
	struct fl_lpm4_key victim = { .prefixlen = 24,
				      .addr = { 198, 51, 100, 0 } };
	char line[] =
		"src 192.0.2.2/32 dst 198.51.100.2/32 proto udp action drop";
	struct fl_protect protect = {};
	struct fl_ruleset_maps maps;
	struct fl_rule rule;
	struct bpf_map *map;
	char err[256];
	size_t bad;
	__u32 zero = 0;

	e->skel = flowlens_bpf__open();
	if (!e->skel) {
		fprintf(stderr, "prog_cost: cannot open flowlens: %s\n",
			strerror(errno));
		return -1;
	}
	bpf_object__for_each_map(map, e->skel->obj)
		bpf_map__set_pin_path(map, NULL); /* private maps, no bpffs */
	/* Four copies: room for a few rules each, not a million. */
	if (fl_ruleset_set_max(e->skel->obj, 1024) ||
	    flowlens_bpf__load(e->skel)) {
		fprintf(stderr, "prog_cost: cannot load flowlens (run make)\n");
		return -1;
	}
	e->prog_fd = bpf_program__fd(e->skel->progs.flowlens);
	if (c != DDOS_UNTRACKED)
		cfg.sample_rate = c == DDOS_SAMPLED ? 1 : sample_rate;
	if (bpf_map__update_elem(e->skel->maps.FL_MAP_CONFIG, &zero,
				 sizeof(zero), &cfg, sizeof(cfg), 0) ||
	    bench_claim_if(e->skel->obj, 0) ||
	    (c != DDOS_UNTRACKED &&
	     bpf_map__update_elem(e->skel->maps.FL_MAP_PROTECT4, &victim,
				  sizeof(victim), &protect, sizeof(protect),
				  0))) {
		fprintf(stderr, "prog_cost: cannot configure %s: %s\n", e->name,
			strerror(errno));
		return -1;
	}
	e->samples = ring_buffer__new(bpf_map__fd(e->skel->maps.FL_MAP_SAMPLES),
				      sample_seen, &e->sampled, NULL);
	if (!e->samples) {
		fprintf(stderr, "prog_cost: cannot read the samples: %s\n",
			strerror(errno));
		return -1;
	}
	if (c != DDOS_RULE)
		return 0;
	if (fl_ruleset_maps_of(e->skel->obj, &maps) ||
	    fl_ruleset_open(&maps, &e->rules, err, sizeof(err))) {
		fprintf(stderr, "prog_cost: cannot open the rule set\n");
		return -1;
	}
	if (fl_rule_parse_line(line, 900, &rule, err, sizeof(err))) {
		fprintf(stderr, "prog_cost: '%s': %s\n", line, err);
		return -1;
	}
	rule.attack = 1;
	if (fl_ruleset_add(e->rules, &rule, 1, &bad, err, sizeof(err))) {
		fprintf(stderr, "prog_cost: cannot add '%s': %s\n", line, err);
		return -1;
	}
	return 0;
}

static void ddos_engine_close(struct ddos_engine *e)
{
	ring_buffer__free(e->samples);
	fl_ruleset_free(e->rules);
	flowlens_bpf__destroy(e->skel);
}

static int ddos_rows(int pass_fd, __u32 rounds, __u32 packets,
		     __u32 sample_rate, bool markdown)
{
	static char victim_what[128];
	struct ddos_engine engines[DDOS_CASES] = {
		[DDOS_UNTRACKED] = { "untracked",
				     "unprotected destination: the sketch only" },
		[DDOS_VICTIM] = { "victim", victim_what },
		[DDOS_SAMPLED] = { "victim-sampled",
				   "the same, every packet a sampling candidate (rate 1, budget-capped)" },
		[DDOS_RULE] = { "victim-rule",
				"the victim's packet dropped by an automatic rule (order 900)" },
	};
	struct pkt_spec spec = { V4, .l3 = PKT_IPV4, .l4 = PKT_UDP,
				 .payload_len = 64 };
	__u32 pass_ns[101], pass_act, r, i;
	struct fl_rule_stats stats = {};
	double pass, untracked, fl;
	int err = -1;
	struct pkt p;

	snprintf(
		victim_what, sizeof(victim_what),
		"protected victim with a threshold: exact counters, 1 in %u sampled",
		sample_rate);
	if (pkt_build(&spec, &p)) {
		fprintf(stderr, "prog_cost: cannot build the packet\n");
		return -1;
	}
	for (i = 0; i < DDOS_CASES; i++)
		if (ddos_engine_load(&engines[i], i, sample_rate))
			goto out;

	for (r = 0; r < rounds; r++) {
		if (bench_measure(pass_fd, &p, 0, packets, &pass_ns[r], &pass_act))
			goto run_failed;
		for (i = 0; i < DDOS_CASES; i++) {
			struct ddos_engine *e = &engines[i];

			if (bench_measure(e->prog_fd, &p, 0, packets, &e->ns[r],
				    &e->action))
				goto run_failed;
			if (ring_buffer__consume(e->samples) < 0)
				goto run_failed;
		}
	}

	/* Each case must have done what its row says. */
	fl_ruleset_get(engines[DDOS_RULE].rules, 1, NULL, &stats);
	if (engines[DDOS_UNTRACKED].action != XDP_PASS ||
	    engines[DDOS_VICTIM].action != XDP_PASS ||
	    engines[DDOS_RULE].action != XDP_DROP || !stats.dropped ||
	    engines[DDOS_UNTRACKED].sampled || !engines[DDOS_VICTIM].sampled ||
	    !engines[DDOS_SAMPLED].sampled) {
		fprintf(stderr,
			"prog_cost: the DDoS cases did not behave (verdicts %u %u %u, rule dropped %llu, samples %llu %llu %llu)\n",
			engines[DDOS_UNTRACKED].action,
			engines[DDOS_VICTIM].action, engines[DDOS_RULE].action,
			(unsigned long long)stats.dropped,
			(unsigned long long)engines[DDOS_UNTRACKED].sampled,
			(unsigned long long)engines[DDOS_VICTIM].sampled,
			(unsigned long long)engines[DDOS_SAMPLED].sampled);
		goto out;
	}

	pass = bench_median(pass_ns, rounds);
	untracked = bench_median(engines[DDOS_UNTRACKED].ns, rounds);
	if (markdown)
		printf("| case | packet to | XDP_PASS ns | flowlens ns | vs XDP_PASS | vs untracked | over untracked ns | sampled, 1 in |\n"
		       "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
	else
		printf("%-15s %9s %9s %8s %8s %9s %10s\n", "case", "pass ns",
		       "fl ns", "/pass", "/untr", "+untr ns", "1 in");
	for (i = 0; i < DDOS_CASES; i++) {
		struct ddos_engine *e = &engines[i];
		double every =
			e->sampled ? (double)rounds * packets / e->sampled : 0;
		char one_in[32] = "-";

		if (e->sampled)
			snprintf(one_in, sizeof(one_in), "%.0f", every);
		fl = i == DDOS_UNTRACKED ? untracked : bench_median(e->ns, rounds);
		if (markdown)
			printf("| %s | %s | %.0f | %.0f | %.2f | %.2f | %.0f | %s |\n",
			       e->name, e->what, pass, fl, fl / pass,
			       fl / untracked, fl - untracked, one_in);
		else
			printf("%-15s %9.0f %9.0f %7.2fx %7.2fx %9.0f %10.0f\n",
			       e->name, pass, fl, fl / pass, fl / untracked,
			       fl - untracked, every);
	}
	err = 0;
	goto out;
run_failed:
	fprintf(stderr, "prog_cost: test run failed: %s\n", strerror(errno));
out:
	for (i = 0; i < DDOS_CASES; i++)
		ddos_engine_close(&engines[i]);
	return err;
}

static int print_warnings(enum libbpf_print_level level, const char *fmt,
			  va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static void usage(const char *prog)
{
	printf("Usage: %s [-i IFACE -o IFACE] [-r ROUNDS] [-n PACKETS] [-m|-j]\n"
	       "       %s -D [-S RATE] [-r ROUNDS] [-n PACKETS] [-m]\n"
	       "\n"
	       "Per-packet cost of flowlens in each mode, next to an XDP_PASS\n"
	       "program and a bare bpf_fib_lookup+redirect router, all three\n"
	       "measured with bpf_prog_test_run in alternating rounds; the\n"
	       "median round of each is kept.\n"
	       "\n"
	       "  -i IFACE    the packets arrive on IFACE (FIB lookups start there);\n"
	       "              without it the router rows are left out\n"
	       "  -o IFACE    egress interface the routers may redirect to\n"
	       "  -r ROUNDS   alternating rounds per row (default 7)\n"
	       "  -n PACKETS  packets per round (default 1000000)\n"
	       "  -m          Markdown table\n"
	       "  -j          JSON\n"
	       "  -D          the DDoS engine instead: a packet to an untracked\n"
	       "              destination, to a protected victim with a threshold\n"
	       "              (exact counters, sampling), and one an automatic rule\n"
	       "              drops, each against XDP_PASS and the untracked one\n"
	       "  -S RATE     with -D: sample one in RATE packets to the victim\n"
	       "              (a power of two, default %u)\n"
	       "\n"
	       "In the lab: lab.sh exec flowlens %s -i cl0 -o sv0 -m\n",
	       prog, prog, DDOS_SAMPLE_RATE_DEFAULT, prog);
}

static int load_baseline(const char *path, struct bpf_object **obj)
{
	*obj = bpf_object__open_file(path, NULL);
	if (!*obj || bpf_object__load(*obj)) {
		fprintf(stderr, "prog_cost: cannot load %s (run make)\n", path);
		return -1;
	}
	return bpf_program__fd(bpf_object__next_program(*obj, NULL));
}

static int add_port(int map_fd, __u32 ifindex)
{
	return bpf_map_update_elem(map_fd, &ifindex, &ifindex, 0);
}

int main(int argc, char **argv)
{
	const char *progs_dir = "build/progs", *in_name = NULL,
		   *out_name = NULL;
	__u32 rounds = 7, packets = 1000000, r, in_ifindex = 0, out_ifindex = 0;
	__u32 sample_rate = DDOS_SAMPLE_RATE_DEFAULT;
	struct bpf_object *pass_obj = NULL, *fib_obj = NULL;
	struct flowlens_bpf *skel = NULL;
	int c, pass_fd, fib_fd, fl_fd, err = 1, rows = 0;
	bool markdown = false, json = false, ddos = false;
	char path[512];
	struct bpf_map *map;
	size_t i;

	while ((c = getopt(argc, argv, "i:o:r:n:b:mjDS:h")) != -1) {
		switch (c) {
		case 'i':
			in_name = optarg;
			break;
		case 'o':
			out_name = optarg;
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'n':
			packets = atoi(optarg);
			break;
		case 'b':
			progs_dir = optarg;
			break;
		case 'm':
			markdown = true;
			break;
		case 'j':
			json = true;
			break;
		case 'D':
			ddos = true;
			break;
		case 'S':
			sample_rate = atoi(optarg);
			break;
		default:
			usage(argv[0]);
			return c == 'h' ? 0 : 1;
		}
	}
	if (!rounds || rounds > 101 || !packets) {
		fprintf(stderr,
			"prog_cost: rounds must be 1-101, packets > 0\n");
		return 1;
	}
	if (!in_name != !out_name) {
		fprintf(stderr, "prog_cost: -i and -o go together\n");
		return 1;
	}
	if (in_name && (!(in_ifindex = if_nametoindex(in_name)) ||
			!(out_ifindex = if_nametoindex(out_name)))) {
		fprintf(stderr, "prog_cost: no such interface: %s\n",
			in_ifindex ? out_name : in_name);
		return 1;
	}

	libbpf_set_print(print_warnings);
	if (ddos) {
		if (!sample_rate || (sample_rate & (sample_rate - 1))) {
			fprintf(stderr,
				"prog_cost: the sample rate must be a power of two\n");
			return 1;
		}
		snprintf(path, sizeof(path), "%s/xdp_pass.bpf.o", progs_dir);
		pass_fd = load_baseline(path, &pass_obj);
		err = pass_fd < 0 || ddos_rows(pass_fd, rounds, packets,
					       sample_rate, markdown);
		bpf_object__close(pass_obj);
		return err ? EXIT_FAILURE : EXIT_SUCCESS;
	}
	skel = flowlens_bpf__open();
	if (!skel) {
		fprintf(stderr, "prog_cost: cannot open flowlens: %s\n",
			strerror(errno));
		return 1;
	}
	bpf_object__for_each_map(map, skel->obj)
		bpf_map__set_pin_path(map, NULL); /* private maps, no bpffs */
	if (flowlens_bpf__load(skel)) {
		fprintf(stderr, "prog_cost: cannot load flowlens\n");
		goto out;
	}
	snprintf(path, sizeof(path), "%s/xdp_pass.bpf.o", progs_dir);
	pass_fd = load_baseline(path, &pass_obj);
	snprintf(path, sizeof(path), "%s/xdp_fib_redirect.bpf.o", progs_dir);
	fib_fd = load_baseline(path, &fib_obj);
	if (pass_fd < 0 || fib_fd < 0)
		goto out;
	fl_fd = bpf_program__fd(skel->progs.flowlens);
	if (out_ifindex &&
	    (add_port(bpf_map__fd(skel->maps.FL_MAP_TX_PORTS), out_ifindex) ||
	     add_port(bpf_object__find_map_fd_by_name(fib_obj, "tx_ports"),
		      out_ifindex))) {
		fprintf(stderr, "prog_cost: cannot add %s to the devmaps: %s\n",
			out_name, strerror(errno));
		goto out;
	}

	if (json)
		printf("{\"packets\":%u,\"rounds\":%u,\"rows\":[", packets,
		       rounds);
	else if (markdown)
		printf("| mode | packet | what | XDP_PASS ns | fib+redirect ns | flowlens ns | vs XDP_PASS | vs fib+redirect | flowlens work ns |\n"
		       "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
	else
		printf("%-8s %-17s %9s %9s %9s %8s %8s %8s\n", "mode", "packet",
		       "pass ns", "fib ns", "fl ns", "/pass", "/fib",
		       "work ns");

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const struct kind *k = &kinds[i];
		__u32 pass_ns[101], fib_ns[101], fl_ns[101];
		__u32 pass_act, fib_act, fl_act;
		double pass, fib, fl;
		struct pkt p;

		if (k->mode == FL_MODE_ROUTER && !in_ifindex)
			continue;
		if (pkt_build(&k->spec, &p) || configure(skel, k, &p, in_ifindex)) {
			fprintf(stderr, "prog_cost: cannot set up %s\n",
				k->name);
			goto out;
		}
		bench_set_ttl_255(&p);
		for (r = 0; r < rounds; r++) {
			if (bench_measure(pass_fd, &p, in_ifindex, packets,
				    &pass_ns[r], &pass_act) ||
			    bench_measure(fib_fd, &p, in_ifindex, packets, &fib_ns[r],
				    &fib_act) ||
			    bench_measure(fl_fd, &p, in_ifindex, packets, &fl_ns[r],
				    &fl_act)) {
				fprintf(stderr,
					"prog_cost: test run failed: %s\n",
					strerror(errno));
				goto out;
			}
		}
		/* A router row that did not route would measure the wrong path. */
		if (k->mode == FL_MODE_ROUTER &&
		    (fib_act != XDP_REDIRECT || fl_act != XDP_REDIRECT)) {
			fprintf(stderr,
				"prog_cost: %s was not routed (verdicts %u, %u): does the FIB in this namespace reach %s via %s with a resolved neighbour?\n",
				k->name, fib_act, fl_act,
				k->spec.l3 == PKT_IPV4 ? "198.51.100.2" :
							 "2001:db8:2::2",
				out_name);
			goto out;
		}
		/* A cached row that missed the cache would measure escalation. */
		if ((k->opts & KIND_CACHED) &&
		    flow_classified_packets(skel, &p) <
			    (__u64)rounds * packets) {
			fprintf(stderr,
				"prog_cost: %s did not hit the cached flow\n",
				k->name);
			goto out;
		}
		pass = bench_median(pass_ns, rounds);
		fib = bench_median(fib_ns, rounds);
		fl = bench_median(fl_ns, rounds);

		if (json)
			printf("%s{\"mode\":\"%s\",\"name\":\"%s\",\"what\":\"%s\","
			       "\"xdp_pass_ns\":%.0f,\"fib_redirect_ns\":%.0f,"
			       "\"flowlens_ns\":%.0f,\"vs_xdp_pass\":%.2f,"
			       "\"vs_fib_redirect\":%.2f}",
			       rows ? "," : "", mode_names[k->mode], k->name,
			       k->what, pass, fib, fl, pass ? fl / pass : 0,
			       fib ? fl / fib : 0);
		else if (markdown)
			printf("| %s | %s | %s | %.0f | %.0f | %.0f | %.2f | %.2f | %.0f |\n",
			       mode_names[k->mode], k->name, k->what, pass, fib,
			       fl, pass ? fl / pass : 0, fib ? fl / fib : 0,
			       fl - pass);
		else
			printf("%-8s %-17s %9.0f %9.0f %9.0f %7.2fx %7.2fx %8.0f\n",
			       mode_names[k->mode], k->name, pass, fib, fl,
			       pass ? fl / pass : 0, fib ? fl / fib : 0,
			       fl - pass);
		rows++;
		fflush(stdout);
	}
	if (json)
		printf("]}\n");
	err = 0;
out:
	bpf_object__close(pass_obj);
	bpf_object__close(fib_obj);
	flowlens_bpf__destroy(skel);
	return err;
}
