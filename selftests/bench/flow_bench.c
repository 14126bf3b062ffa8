// SPDX-License-Identifier: Apache-2.0
/*
 * flow_bench - the flow cache at a million flows: the per-packet cost of
 * a packet whose flow has a cached verdict, with packets spread over
 * 1,000,000 classified flows against 10,000, and the kernel memory of the
 * flow cache (fl_flows).
 *
 * Three copies of flowlens with private maps, monitor mode (XDP_DROP
 * after stage 6: a frame passed up would cost the local stack, inside the
 * timed run), nothing tracked:
 *   flows-1m   fl_flows sized 1,048,576 (flowlensd --max-flows 1048576),
 *              1,000,000 flows in it
 *   flows-10k  the same size, 10,000 flows in it
 *   flows-10k-fit  10,000 flows in a cache sized for them (16,384): the
 *              part of the difference that is the table's size, not the
 *              number of flows
 *   nocache    stages 6 and 7 off (FL_ESCALATE_F_OFF): the rest of the
 *              program, so "cache part" = flows-N minus nocache
 * Every flow is written as a worker writes a final verdict
 * (user/flowlensd/worker_loop.c): state CLASSIFIED, FL_FLOW_F_BYPASS, an
 * app and a master; every packet of it is then a cache hit that bypasses.
 *
 * Packets: IPv4 TCP (PSH|ACK, 64 bytes of payload, TCP checksum left as
 * built: nothing on this path reads it) from 198.18.0.0/16 ports
 * 10000-10015 to 198.51.100.2:80; flow i from address i / 16 and port
 * i % 16. bpf_prog_test_run with BPF_F_TEST_XDP_LIVE_FRAMES (flgen's
 * mechanism: batches of 64 frames from a page pool, the program hot) runs
 * selftests/progs/flow_spread.bpf.c on every frame: it rewrites the frame
 * into the next flow of a shuffled order (the same order for every row)
 * and tail-calls flowlens. The spreader alone (it drops the frame) is the
 * harness, subtracted. Rounds alternate between the rows; each round's
 * mean per packet, the median over rounds is reported.
 *
 * Every packet must have been a bypassed hit: each copy's fl_app_stats
 * for the app must count exactly the packets sent through it (an evicted
 * or missing flow would be created anew instead).
 *
 * The struct sizes are read from the loaded map (its key and value size),
 * never assumed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <flowlens/flowlens.h>

#include "flowlens.skel.h"
#include "bench_run.h"
#include "pkt.h"
#include "progs/flow_spread.h"
#include "ruleset.h"

#define BENCH_APP 7 /* nDPI's HTTP, as a worker would write it */
#define BENCH_MASTER 91 /* nDPI's TLS */
#define FLOWS_BIG_DEFAULT 1000000
#define FLOWS_SMALL_DEFAULT 10000
#define MAP_SIZE_DEFAULT 1048576
#define SMALL_MAP_DEFAULT 16384 /* 10,000 flows in a cache sized for them */
#define PORTS_PER_ADDR SPREAD_PORTS_PER_ADDR
#define SRC_BASE 0xc6120000 /* 198.18.0.0 */
#define FILL_BATCH 4096
#define NOCACHE_MAP_SIZE 1024 /* unused: stages 6 and 7 are off */

enum row { ROW_HARNESS, ROW_NOCACHE, ROW_SMALL_FIT, ROW_SMALL, ROW_BIG, ROWS };

/* One row: a spreader, and the flowlens copy it tail-calls (none for
 * the harness row). */
struct copy {
	struct bpf_object *spread;
	struct flowlens_bpf *skel;
	int prog_fd; /* the spreader's */
	__u32 flows; /* in its cache */
	__u32 map_size; /* its cache's max_entries */
	__u64 sent; /* packets run through it */
};

struct opts {
	const char *progs_dir;
	__u32 rounds, packets, flows_big, flows_small, map_size, small_map;
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

/* The frame of flow @i, in place: only the source address and port
 * change (and the IPv4 header checksum with them). */
static void frame_of_flow(struct pkt *p, __u32 i)
{
	pkt_poke32(p, p->l3_off + 12, SRC_BASE + i / PORTS_PER_ADDR);
	pkt_ip4_csum(p);
	pkt_poke16(p, p->l4_off, SPREAD_SPORT_BASE + i % PORTS_PER_ADDR);
}

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

/*
 * Flows 0..@n-1 as a worker leaves them: a final verdict. In batches
 * (BPF_MAP_UPDATE_BATCH), one syscall per FILL_BATCH flows.
 */
static int cache_fill(struct copy *c, struct pkt *p, __u32 n)
{
	int fd = bpf_map__fd(c->skel->maps.FL_MAP_FLOWS);
	struct fl_flow_key *keys;
	struct fl_flow *values;
	__u32 i, j, count;
	int err = 0;

	keys = calloc(FILL_BATCH, sizeof(*keys));
	values = calloc(FILL_BATCH, sizeof(*values));
	if (!keys || !values) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n && !err; i += count) {
		count = n - i < FILL_BATCH ? n - i : FILL_BATCH;
		for (j = 0; j < count; j++) {
			frame_of_flow(p, i + j);
			bench_flow_key(p, &keys[j]);
			values[j] = (struct fl_flow){
				.state = FL_FLOW_CLASSIFIED,
				.flags = FL_FLOW_F_BYPASS,
				.app = BENCH_APP,
				.master = BENCH_MASTER,
				.packets = { 1 },
				.bytes = { p->len },
				.escalated = 1,
			};
			/* the lower endpoint is the client (198.18 < 198.51) */
			values[j].flags |= FL_FLOW_F_LO_CLIENT;
		}
		if (bpf_map_update_batch(fd, keys, values, &count, NULL))
			err = -errno;
	}
	c->flows = n;
out:
	free(keys);
	free(values);
	return err;
}

static int copy_load(struct copy *c, __u32 map_size, bool cache_on)
{
	struct fl_config cfg = { .mode = FL_MODE_MONITOR,
				 .escalate_flags =
					 cache_on ? 0 : FL_ESCALATE_F_OFF,
				 .hash_seed = 0x5eed,
				 .heavy_pps = ~0ULL,
				 .heavy_bps = ~0ULL,
				 .heavy_packets = ~0ULL,
				 .heavy_bytes = ~0ULL };
	struct bpf_map *map;
	__u32 zero = 0;

	c->map_size = map_size;
	c->skel = flowlens_bpf__open();
	if (!c->skel) {
		fprintf(stderr, "flow_bench: cannot open flowlens: %s\n",
			strerror(errno));
		return -1;
	}
	bpf_object__for_each_map(map, c->skel->obj)
		bpf_map__set_pin_path(map, NULL); /* private maps, no bpffs */
	/* as flowlensd --max-flows does; rules: room for a few only */
	if (bpf_map__set_max_entries(c->skel->maps.FL_MAP_FLOWS, map_size) ||
	    fl_ruleset_set_max(c->skel->obj, 1024) ||
	    flowlens_bpf__load(c->skel)) {
		fprintf(stderr, "flow_bench: cannot load flowlens (run make)\n");
		return -1;
	}
	if (bpf_map__update_elem(c->skel->maps.FL_MAP_CONFIG, &zero,
				 sizeof(zero), &cfg, sizeof(cfg), 0) ||
	    bench_claim_if(c->skel->obj, 0)) {
		fprintf(stderr, "flow_bench: cannot configure flowlens: %s\n",
			strerror(errno));
		return -1;
	}
	return 0;
}

/* Packets counted under BENCH_APP: every bypassed hit adds one. */
static __u64 app_packets(struct copy *c)
{
	int n = libbpf_num_possible_cpus(), i;
	struct fl_app_stats *percpu;
	__u32 key = BENCH_APP;
	__u64 sum = 0;

	percpu = calloc(n, sizeof(*percpu));
	if (percpu &&
	    !bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.FL_MAP_APP_STATS),
				 &key, percpu))
		for (i = 0; i < n; i++)
			sum += percpu[i].packets;
	free(percpu);
	return sum;
}

/* The kernel's own account of a map's memory (fdinfo's memlock). */
static long long map_memlock(int map_fd)
{
	char path[64], line[256];
	long long bytes = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", map_fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %lld", &bytes) == 1)
			break;
	fclose(f);
	return bytes;
}

/* The memory of an empty flow cache of @entries, like the program's. */
static long long memlock_of_size(const struct copy *c, __u32 entries)
{
	const struct bpf_map *m = c->skel->maps.FL_MAP_FLOWS;
	long long bytes;
	int fd;

	fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "fl_flows_probe",
			    bpf_map__key_size(m), bpf_map__value_size(m),
			    entries, NULL);
	if (fd < 0)
		return -1;
	bytes = map_memlock(fd);
	close(fd);
	return bytes;
}

/*
 * The spreader of row @c, its flows taken from @order (@flows of them),
 * tail-calling @target (-1: none, the harness).
 */
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
		fprintf(stderr, "flow_bench: cannot load %s (run make)\n", path);
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
	    bpf_map_update_elem(bpf_object__find_map_fd_by_name(c->spread,
								"spread_target"),
				&zero, &target, 0)) {
		fprintf(stderr, "flow_bench: cannot set the tail call: %s\n",
			strerror(errno));
		return -1;
	}
	return 0;
}

/* One round of @packets through row @c; the mean ns a packet, or -1. */
static double round_run(struct copy *c, const struct pkt *p, __u32 packets)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->data,
		    .data_size_in = p->len, .repeat = packets,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

	if (bpf_prog_test_run_opts(c->prog_fd, &opts))
		return -1;
	c->sent += packets;
	return opts.duration;
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

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s [-b PROGS_DIR] [-r ROUNDS] [-n PACKETS] [-F FLOWS] [-s FLOWS] [-M ENTRIES] [-m ENTRIES]\n"
		"\n"
		"Per-packet cost of a cached flow verdict with packets spread over\n"
		"FLOWS (-F, default %u) against -s (default %u) classified flows,\n"
		"the flow cache sized -M entries (default %u; -s also in one of\n"
		"-m entries, default %u), and its memory.\n"
		"  -b DIR   where flow_spread.bpf.o is (default build/progs)\n"
		"  -r N     alternating rounds, median kept (default 7)\n"
		"  -n N     packets per row and round (default 1000000)\n"
		"Prints a markdown table, then one JSON line.\n",
		prog, FLOWS_BIG_DEFAULT, FLOWS_SMALL_DEFAULT, MAP_SIZE_DEFAULT,
		SMALL_MAP_DEFAULT);
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	int c;

	while ((c = getopt(argc, argv, "b:r:n:F:s:M:m:h")) != -1) {
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
		case 'F':
			o->flows_big = strtoul(optarg, NULL, 10);
			break;
		case 's':
			o->flows_small = strtoul(optarg, NULL, 10);
			break;
		case 'M':
			o->map_size = strtoul(optarg, NULL, 10);
			break;
		case 'm':
			o->small_map = strtoul(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout, argv[0]);
			exit(EXIT_SUCCESS);
		default:
			usage(stderr, argv[0]);
			return -1;
		}
	}
	if (!o->rounds || o->rounds > 101 || !o->packets || !o->flows_small ||
	    o->flows_small > o->flows_big ||
	    o->flows_big > PORTS_PER_ADDR * 65536 ||
	    o->flows_big > o->map_size || o->flows_small > o->small_map) {
		fprintf(stderr,
			"flow_bench: need rounds 1-101, packets > 0, 0 < -s <= -F <= -M, -s <= -m, -F at most %u\n",
			PORTS_PER_ADDR * 65536);
		return -1;
	}
	return 0;
}

static const char *const row_names[ROWS] = {
	[ROW_HARNESS] = "harness",
	[ROW_NOCACHE] = "nocache",
	[ROW_SMALL_FIT] = "flows_small_fit",
	[ROW_SMALL] = "flows_small",
	[ROW_BIG] = "flows_big",
};

static void report(const struct opts *o, struct copy *copies,
		   double med[ROWS], double *sorted[ROWS], long long mem_big,
		   long long mem_default)
{
	__u32 last = o->rounds - 1;
	const struct bpf_map *m = copies[ROW_BIG].skel->maps.FL_MAP_FLOWS;
	__u32 value_size = bpf_map__value_size(m);
	__u32 key_size = bpf_map__key_size(m);
	double pass = med[ROW_HARNESS], nocache = med[ROW_NOCACHE];
	double small = med[ROW_SMALL], big = med[ROW_BIG];
	double fit = med[ROW_SMALL_FIT];

	printf("| case | flows cached | fl_flows max_entries | ns/packet | rounds min-max | minus harness | cache part (minus cache off) |\n");
	printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
	printf("| harness: live frames + flow_spread, dropped | | | %.1f | %.0f-%.0f | | |\n",
	       pass, sorted[ROW_HARNESS][0], sorted[ROW_HARNESS][last]);
	printf("| flowlens (monitor), flow cache off | | | %.1f | %.0f-%.0f | %.1f | |\n",
	       nocache, sorted[ROW_NOCACHE][0], sorted[ROW_NOCACHE][last],
	       nocache - pass);
	printf("| flowlens (monitor), cached verdict | %u | %u | %.1f | %.0f-%.0f | %.1f | %.1f |\n",
	       copies[ROW_SMALL_FIT].flows, copies[ROW_SMALL_FIT].map_size, fit,
	       sorted[ROW_SMALL_FIT][0], sorted[ROW_SMALL_FIT][last], fit - pass,
	       fit - nocache);
	printf("| flowlens (monitor), cached verdict | %u | %u | %.1f | %.0f-%.0f | %.1f | %.1f |\n",
	       copies[ROW_SMALL].flows, o->map_size, small,
	       sorted[ROW_SMALL][0], sorted[ROW_SMALL][last], small - pass,
	       small - nocache);
	printf("| flowlens (monitor), cached verdict | %u | %u | %.1f | %.0f-%.0f | %.1f | %.1f |\n",
	       copies[ROW_BIG].flows, o->map_size, big, sorted[ROW_BIG][0],
	       sorted[ROW_BIG][last], big - pass, big - nocache);
	printf("\n%u vs %u flows: %.2fx the program's cost (minus the harness), %.2fx the cache's part.\n",
	       copies[ROW_BIG].flows, copies[ROW_SMALL].flows,
	       (big - pass) / (small - pass), (big - nocache) / (small - nocache));
	printf("\n| fl_flows | max_entries | key B | value B | memlock bytes | bytes per entry |\n");
	printf("| --- | ---: | ---: | ---: | ---: | ---: |\n");
	printf("| --max-flows %u | %u | %u | %u | %lld | %.1f |\n", o->map_size,
	       o->map_size, key_size, value_size, mem_big,
	       (double)mem_big / o->map_size);
	printf("| default (FL_FLOWS_MAX) | %u | %u | %u | %lld | %.1f |\n",
	       FL_FLOWS_MAX, key_size, value_size, mem_default,
	       (double)mem_default / FL_FLOWS_MAX);
	printf("\n{\"bench\":\"flow_bench\",\"rounds\":%u,\"packets\":%u,"
	       "\"key_size\":%u,\"value_size\":%u,\"max_entries\":%u,"
	       "\"flows_small\":%u,\"flows_big\":%u,"
	       "\"small_map\":%u,"
	       "\"ns\":{\"%s\":%.1f,\"%s\":%.1f,\"%s\":%.1f,\"%s\":%.1f,\"%s\":%.1f},"
	       "\"program_ns_small\":%.1f,\"program_ns_big\":%.1f,\"cache_part_ns_small\":%.1f,\"cache_part_ns_big\":%.1f,"
	       "\"ratio_big_small\":%.3f,"
	       "\"memlock\":%lld,\"memlock_per_entry\":%.1f,"
	       "\"memlock_default\":%lld,\"default_entries\":%u}\n",
	       o->rounds, o->packets, key_size, value_size, o->map_size,
	       copies[ROW_SMALL].flows, copies[ROW_BIG].flows,
	       copies[ROW_SMALL_FIT].map_size,
	       row_names[ROW_HARNESS], pass, row_names[ROW_NOCACHE], nocache,
	       row_names[ROW_SMALL_FIT], fit,
	       row_names[ROW_SMALL], small, row_names[ROW_BIG], big,
	       small - pass, big - pass, small - nocache, big - nocache,
	       (big - pass) / (small - pass), mem_big,
	       (double)mem_big / o->map_size, mem_default, FL_FLOWS_MAX);
}

int main(int argc, char **argv)
{
	struct opts o = { .progs_dir = "build/progs",
			  .rounds = 7,
			  .packets = 1000000,
			  .flows_big = FLOWS_BIG_DEFAULT,
			  .flows_small = FLOWS_SMALL_DEFAULT,
			  .map_size = MAP_SIZE_DEFAULT,
			  .small_map = SMALL_MAP_DEFAULT };
	struct copy copies[ROWS] = {};
	__u32 *order_big = NULL, *order_small = NULL, r, i;
	double *ns[ROWS] = {}, med[ROWS];
	long long mem_big, mem_default;
	int ret = EXIT_FAILURE;
	struct pkt p;

	if (parse_args(argc, argv, &o))
		return EXIT_FAILURE;
	libbpf_set_print(print_warnings);
	if (frame_build(&p)) {
		fprintf(stderr, "flow_bench: cannot build the frame\n");
		return EXIT_FAILURE;
	}
	order_big = shuffled(o.flows_big);
	order_small = shuffled(o.flows_small);
	for (i = 0; i < ROWS; i++)
		ns[i] = calloc(o.rounds, sizeof(double));
	if (!order_big || !order_small || !ns[ROWS - 1])
		goto out;
	if (copy_load(&copies[ROW_NOCACHE], NOCACHE_MAP_SIZE, false) ||
	    copy_load(&copies[ROW_SMALL_FIT], o.small_map, true) ||
	    copy_load(&copies[ROW_SMALL], o.map_size, true) ||
	    copy_load(&copies[ROW_BIG], o.map_size, true))
		goto out;
	if (cache_fill(&copies[ROW_SMALL_FIT], &p, o.flows_small) ||
	    cache_fill(&copies[ROW_SMALL], &p, o.flows_small) ||
	    cache_fill(&copies[ROW_BIG], &p, o.flows_big)) {
		fprintf(stderr, "flow_bench: cannot fill the flow cache: %s\n",
			strerror(errno));
		goto out;
	}
	for (i = ROW_SMALL_FIT; i <= ROW_BIG; i++) {
		__u32 n = bench_map_count(bpf_map__fd(copies[i].skel->maps.FL_MAP_FLOWS),
					  sizeof(struct fl_flow_key));

		if (n != copies[i].flows) {
			fprintf(stderr,
				"flow_bench: %u flows written, %u in the cache (evicted?)\n",
				copies[i].flows, n);
			goto out;
		}
	}
	for (i = 0; i < ROWS; i++) {
		int target = copies[i].skel ?
				     bpf_program__fd(copies[i].skel->progs.flowlens) :
				     -1;

		if (spread_load(&copies[i], o.progs_dir,
				i == ROW_BIG || i < ROW_SMALL_FIT ? order_big :
								    order_small,
				i == ROW_BIG || i < ROW_SMALL_FIT ? o.flows_big :
								    o.flows_small,
				target))
			goto out;
	}

	for (r = 0; r < o.rounds; r++) {
		for (i = 0; i < ROWS; i++) {
			ns[i][r] = round_run(&copies[i], &p, o.packets);
			if (ns[i][r] < 0) {
				fprintf(stderr, "flow_bench: test run: %s\n",
					strerror(errno));
				goto out;
			}
		}
	}
	for (i = ROW_SMALL_FIT; i <= ROW_BIG; i++) {
		__u64 hits = app_packets(&copies[i]);

		if (hits != copies[i].sent) {
			fprintf(stderr,
				"flow_bench: %s: %llu packets sent, %llu were cached hits\n",
				row_names[i], (unsigned long long)copies[i].sent,
				(unsigned long long)hits);
			goto out;
		}
	}
	for (i = 0; i < ROWS; i++) {
		qsort(ns[i], o.rounds, sizeof(double), cmp_double);
		med[i] = ns[i][o.rounds / 2];
	}
	mem_big = map_memlock(
		bpf_map__fd(copies[ROW_BIG].skel->maps.FL_MAP_FLOWS));
	mem_default = memlock_of_size(&copies[ROW_BIG], FL_FLOWS_MAX);
	report(&o, copies, med, ns, mem_big, mem_default);
	ret = EXIT_SUCCESS;
out:
	for (i = 0; i < ROWS; i++) {
		free(ns[i]);
		bpf_object__close(copies[i].spread);
		flowlens_bpf__destroy(copies[i].skel);
	}
	free(order_big);
	free(order_small);
	return ret;
}
