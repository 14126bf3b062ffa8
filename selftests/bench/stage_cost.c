// SPDX-License-Identifier: Apache-2.0
/*
 * stage_cost - what each stage of the XDP program costs a packet: the
 * stage table of make bench (BENCHMARKS.md).
 *
 *   stage_cost [-r ROUNDS] [-n PACKETS] [-i IN -o OUT] [-m|-j] NAME=OBJECT...
 *   stage_cost -L IFACE -c CMD -k KIND [-r ROUNDS] [-m|-j] NAME=OBJECT...
 *
 * Each OBJECT is a copy of the flowlens program (make stages builds one per
 * stage, with that stage compiled out: bpf/config.h), loaded with private
 * maps and configured alike: host mode (router with -i/-o), no address
 * tracked unless the packet kind says so, nothing configured in any stage
 * (no allowlist, rules or SYN proxy service), and for a "cached" kind the
 * packet's flow classified with a final verdict, as a worker leaves it.
 *
 * Warm (the default): every object and an XDP_PASS program run each packet
 * kind through bpf_prog_test_run, in alternating rounds, the median of each
 * kept. The packet repeats, so caches are warm: instructions and helpers.
 *
 * Live (-L): each object in turn is attached to IFACE (native XDP) while CMD
 * sends traffic into it (a shell command: flgen in the lab), and the
 * kernel's own statistics (BPF_ENABLE_STATS: run_time_ns / run_cnt) give
 * the mean time the program took per packet, cache misses included. KIND
 * names the packet kind whose flow is classified beforehand: CMD must send
 * that flow (its addresses and ports are printed with -h).
 *
 * The first NAME is the whole program. A NAME "no-STAGE" is that stage left
 * out: its column is what the stage adds (whole minus it); "no-all" leaves
 * every stage out but parsing, so its own cost is the parse column. Any
 * other NAME (e.g. "before", the program of an earlier commit) is shown
 * with its own cost and the whole program's as a fraction of it.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <flowlens/flowlens.h>

#include "bench_run.h"
#include "pkt.h"

#define MAX_OBJS 16
#define MAX_ROUNDS 101

struct kind {
	const char *name;
	const char *what;
	enum fl_mode mode;
	struct pkt_spec spec;
	unsigned int opts;
};

#define KIND_CACHED 0x1 /* the flow has a final verdict: bypassed */
#define KIND_TRACKED 0x2 /* both addresses get exact counters */

#define V4 .src = "192.0.2.2", .dst = "198.51.100.2"
#define V6 .src = "2001:db8:1::2", .dst = "2001:db8:2::2"
#define TCP_DATA(l3_)                                                     \
	.l3 = l3_, .l4 = PKT_TCP,                                         \
	.tcp = { .sport = 1024, .dport = 80, .flags = 0x18 },            \
	.payload_len = 64
#define UDP_DATA(l3_)                                                     \
	.l3 = l3_, .l4 = PKT_UDP, .udp = { .sport = 1024, .dport = 9 },  \
	.payload_len = 64

static const struct kind kinds[] = {
	{ "ipv4-tcp", "IPv4 TCP, 64 B payload, classified flow (the common packet)",
	  FL_MODE_HOST, { V4, TCP_DATA(PKT_IPV4) }, KIND_CACHED },
	{ "ipv6-tcp", "IPv6 TCP, 64 B payload, classified flow",
	  FL_MODE_HOST, { V6, TCP_DATA(PKT_IPV6) }, KIND_CACHED },
	{ "ipv4-udp", "IPv4 UDP, 64 B payload, classified flow",
	  FL_MODE_HOST, { V4, UDP_DATA(PKT_IPV4) }, KIND_CACHED },
	{ "ipv6-udp", "IPv6 UDP, 64 B payload, classified flow",
	  FL_MODE_HOST, { V6, UDP_DATA(PKT_IPV6) }, KIND_CACHED },
	{ "ipv4-udp-tracked", "IPv4 UDP, classified flow, both addresses tracked",
	  FL_MODE_HOST, { V4, UDP_DATA(PKT_IPV4) }, KIND_CACHED | KIND_TRACKED },
	{ "ipv4-tcp-syn", "IPv4 TCP SYN (no flow state), no SYN proxy service",
	  FL_MODE_HOST,
	  { V4, .l3 = PKT_IPV4, .l4 = PKT_TCP,
	    .tcp = { .sport = 1024, .dport = 80, .flags = PKT_TCP_SYN } },
	  0 },
	{ "router-ipv4-udp", "IPv4 UDP, classified flow, routed to the server",
	  FL_MODE_ROUTER, { V4, UDP_DATA(PKT_IPV4) }, KIND_CACHED },
	{ "router-ipv6-udp", "IPv6 UDP, classified flow, routed to the server",
	  FL_MODE_ROUTER, { V6, UDP_DATA(PKT_IPV6) }, KIND_CACHED },
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

struct contender {
	const char *name;
	const char *path;
	struct bpf_object *obj;
	int prog_fd;
	__u32 ns[MAX_ROUNDS];
	__u32 action;
	double median;
};

static struct contender objs[MAX_OBJS];
static int nobjs;

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"Usage: stage_cost [-r ROUNDS] [-n PACKETS] [-i IN -o OUT] [-m|-j] NAME=OBJECT...\n"
		"       stage_cost -L IFACE -c CMD -k KIND [-r ROUNDS] [-m|-j] NAME=OBJECT...\n"
		"\n"
		"What each stage of the flowlens XDP program costs a packet. The first\n"
		"NAME=OBJECT is the whole program; no-STAGE objects leave one stage out\n"
		"(make stages), no-all every stage but parsing; any other NAME is shown\n"
		"next to the whole program (e.g. before=OBJECT of an earlier commit).\n"
		"\n"
		"  -r ROUNDS   alternating rounds, the median kept (default 7, at most %d)\n"
		"  -n PACKETS  packets per round and object, warm mode (default 1000000)\n"
		"  -b DIR      where xdp_pass.bpf.o is (default build/progs)\n"
		"  -i IN -o OUT  ingress and egress interfaces for the router rows\n"
		"  -L IFACE    live: attach each object to IFACE in turn and run CMD\n"
		"  -c CMD      the traffic, a shell command (live)\n"
		"  -k KIND     the packet kind whose flow is classified (live)\n"
		"  -m          markdown table   -j  JSON\n"
		"\nKinds (flow: source -> destination, ports 1024 -> 80 TCP, 9 UDP):\n",
		MAX_ROUNDS);
	for (i = 0; i < NKINDS; i++)
		fprintf(f, "  %-17s %s: %s -> %s\n", kinds[i].name,
			kinds[i].what, kinds[i].spec.src, kinds[i].spec.dst);
}


/* Writes @val (@len bytes) into a map whose values may be larger (a
 * later layout that appended fields: zero) or smaller (an earlier one). */
static int map_put(struct bpf_object *obj, const char *map_name,
		   const void *key, const void *val, size_t len)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, map_name);
	size_t vsize;
	char *buf;
	int err;

	if (!map)
		return -ENOENT;
	vsize = bpf_map__value_size(map);
	buf = calloc(1, vsize);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, val, len < vsize ? len : vsize);
	err = bpf_map_update_elem(bpf_map__fd(map), key, buf, 0);
	free(buf);
	return err ? -errno : 0;
}

static int configure(struct contender *c, const struct kind *k,
		     const struct pkt *p, __u32 in_ifindex, __u32 out_ifindex)
{
	struct fl_config cfg = { .mode = k->mode,
				 .hash_seed = 0x5eed,
				 .heavy_pps = ~0ULL,
				 .heavy_bps = ~0ULL,
				 .heavy_packets = ~0ULL,
				 .heavy_bytes = ~0ULL };
	struct fl_flow flow = { .state = FL_FLOW_CLASSIFIED,
				.flags = FL_FLOW_F_BYPASS,
				.app = 7,
				.master = 91 };
	struct fl_lpm4_key all4 = { .prefixlen = 0 };
	struct fl_lpm6_key all6 = { .prefixlen = 0 };
	struct fl_protect protect = {};
	struct fl_flow_key key;
	struct bpf_map *map;
	__u32 zero = 0;
	int err;

	err = map_put(c->obj, "fl_config", &zero, &cfg, sizeof(cfg)) ?:
	      bench_claim_if(c->obj, in_ifindex);
	if (err)
		return err;
	if (out_ifindex &&
	    (err = map_put(c->obj, "fl_tx_ports", &out_ifindex, &out_ifindex,
			   sizeof(out_ifindex))))
		return err;
	map = bpf_object__find_map_by_name(c->obj, "fl_protect4");
	if (map)
		bpf_map_delete_elem(bpf_map__fd(map), &all4);
	map = bpf_object__find_map_by_name(c->obj, "fl_protect6");
	if (map)
		bpf_map_delete_elem(bpf_map__fd(map), &all6);
	err = bench_untrack(c->obj);
	if (err)
		return err;
	if (k->opts & KIND_TRACKED) {
		err = map_put(c->obj, "fl_protect4", &all4, &protect,
			      sizeof(protect)) ?:
			      map_put(c->obj, "fl_protect6", &all6, &protect,
				      sizeof(protect));
		if (err)
			return err;
	}
	if (k->opts & KIND_CACHED) {
		bench_flow_key(p, &key);
		err = map_put(c->obj, "fl_flows", &key, &flow, sizeof(flow));
	}
	return err;
}

static int load(struct contender *c)
{
	struct bpf_program *prog;
	struct bpf_map *map;

	c->obj = bpf_object__open_file(c->path, NULL);
	if (!c->obj) {
		fprintf(stderr, "stage_cost: cannot open %s: %s\n", c->path,
			strerror(errno));
		return -1;
	}
	bpf_object__for_each_map(map, c->obj)
		bpf_map__set_pin_path(map, NULL); /* private maps */
	if (bpf_object__load(c->obj)) {
		fprintf(stderr, "stage_cost: cannot load %s\n", c->path);
		return -1;
	}
	prog = bpf_object__find_program_by_name(c->obj, "flowlens");
	if (!prog)
		prog = bpf_object__next_program(c->obj, NULL);
	c->prog_fd = bpf_program__fd(prog);
	return 0;
}

static int find(const char *name)
{
	int i;

	for (i = 0; i < nobjs; i++)
		if (!strcmp(objs[i].name, name))
			return i;
	return -1;
}

/* One row: the whole program's work, then each stage's share. */
static void print_row(const struct kind *k, double pass, bool markdown,
		      bool json, int *rows)
{
	double whole = objs[0].median - pass;
	int i;

	if (json) {
		printf("%s{\"kind\":\"%s\",\"what\":\"%s\",\"mode\":\"%s\","
		       "\"baseline_ns\":%.1f,\"work_ns\":%.1f,\"ns\":{",
		       *rows ? "," : "", k->name, k->what,
		       k->mode == FL_MODE_ROUTER ? "router" : "host", pass,
		       whole);
		for (i = 0; i < nobjs; i++)
			printf("%s\"%s\":%.1f", i ? "," : "", objs[i].name,
			       objs[i].median - pass);
		printf("}}");
	} else if (markdown) {
		printf("| %s | %.0f |", k->name, whole);
		for (i = 1; i < nobjs; i++) {
			const char *n = objs[i].name;
			double w = objs[i].median - pass;

			if (!strcmp(n, "no-all"))
				printf(" %.0f |", w);
			else if (!strncmp(n, "no-", 3))
				printf(" %.0f |", whole - w);
			else
				printf(" %.0f | %.2f |", w, w > 0 ? whole / w : 0);
		}
		printf("\n");
	} else {
		printf("%-17s %7.1f", k->name, whole);
		for (i = 1; i < nobjs; i++) {
			const char *n = objs[i].name;
			double w = objs[i].median - pass;

			if (!strcmp(n, "no-all"))
				printf(" %9.1f", w);
			else if (!strncmp(n, "no-", 3))
				printf(" %9.1f", whole - w);
			else
				printf(" %9.1f %5.2f", w, w > 0 ? whole / w : 0);
		}
		printf("\n");
	}
	(*rows)++;
	fflush(stdout);
}

static void print_header(bool markdown, bool json, const char *unit)
{
	int i;

	if (json)
		return;
	if (markdown) {
		printf("| packet | whole program %s |", unit);
		for (i = 1; i < nobjs; i++) {
			const char *n = objs[i].name;

			if (!strcmp(n, "no-all"))
				printf(" parse |");
			else if (!strncmp(n, "no-", 3))
				printf(" %s |", n + 3);
			else
				printf(" %s %s | whole / %s |", n, unit, n);
		}
		printf("\n| --- | ---: |");
		for (i = 1; i < nobjs; i++)
			printf(strncmp(objs[i].name, "no-", 3) ? " ---: | ---: |" :
								 " ---: |");
		printf("\n");
		return;
	}
	printf("%-17s %7s", "packet", "whole");
	for (i = 1; i < nobjs; i++) {
		const char *n = objs[i].name;

		if (!strcmp(n, "no-all"))
			printf(" %9s", "parse");
		else if (!strncmp(n, "no-", 3))
			printf(" %9s", n + 3);
		else
			printf(" %9s %5s", n, "ratio");
	}
	printf("\n");
}

static int warm(const char *progs_dir, __u32 rounds, __u32 packets,
		__u32 in_ifindex, __u32 out_ifindex, bool markdown, bool json)
{
	struct contender pass = { .name = "xdp_pass" };
	char path[512];
	int rows = 0, i, err = -1;
	__u32 r;
	size_t k;

	snprintf(path, sizeof(path), "%s/xdp_pass.bpf.o", progs_dir);
	pass.path = path;
	if (load(&pass))
		return -1;
	if (json)
		printf("{\"mode\":\"warm\",\"rounds\":%u,\"packets\":%u,\"rows\":[",
		       rounds, packets);
	print_header(markdown, json, "ns");
	for (k = 0; k < NKINDS; k++) {
		const struct kind *kd = &kinds[k];
		struct pkt p;

		if (kd->mode == FL_MODE_ROUTER && !in_ifindex)
			continue;
		if (pkt_build(&kd->spec, &p)) {
			fprintf(stderr, "stage_cost: cannot build %s\n",
				kd->name);
			goto out;
		}
		bench_set_ttl_255(&p);
		for (i = 0; i < nobjs; i++)
			if (configure(&objs[i], kd, &p, in_ifindex,
				      kd->mode == FL_MODE_ROUTER ? out_ifindex :
								   0)) {
				fprintf(stderr,
					"stage_cost: cannot configure %s for %s\n",
					objs[i].name, kd->name);
				goto out;
			}
		for (r = 0; r < rounds; r++) {
			if (bench_measure(pass.prog_fd, &p, in_ifindex, packets,
				    &pass.ns[r], &pass.action))
				goto fail;
			for (i = 0; i < nobjs; i++)
				if (bench_measure(objs[i].prog_fd, &p, in_ifindex,
					    packets, &objs[i].ns[r],
					    &objs[i].action))
					goto fail;
		}
		/* A router row must have been routed by the whole program */
		if (kd->mode == FL_MODE_ROUTER &&
		    objs[0].action != XDP_REDIRECT) {
			fprintf(stderr,
				"stage_cost: %s was not routed (verdict %u): does the FIB reach %s via the -o interface?\n",
				kd->name, objs[0].action, kd->spec.dst);
			goto out;
		}
		pass.median = bench_median(pass.ns, rounds);
		for (i = 0; i < nobjs; i++)
			objs[i].median = bench_median(objs[i].ns, rounds);
		print_row(kd, pass.median, markdown, json, &rows);
	}
	if (json)
		printf("]}\n");
	err = 0;
	goto out;
fail:
	fprintf(stderr, "stage_cost: test run failed: %s\n", strerror(errno));
out:
	bpf_object__close(pass.obj);
	return err;
}

static int prog_stats(int fd, __u64 *run_ns, __u64 *run_cnt)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	*run_ns = info.run_time_ns;
	*run_cnt = info.run_cnt;
	return 0;
}

static int live(const char *ifname, const char *cmd, const char *kind_name,
		__u32 rounds, bool markdown, bool json)
{
	__u32 ifindex = if_nametoindex(ifname), r;
	const struct kind *kd = NULL;
	int i, stats_fd, err = -1, rows = 0;
	__u64 cnt[MAX_OBJS] = {};
	struct pkt p;
	size_t k;

	for (k = 0; k < NKINDS; k++)
		if (!strcmp(kinds[k].name, kind_name))
			kd = &kinds[k];
	if (!kd || kd->mode != FL_MODE_HOST) {
		fprintf(stderr, "stage_cost: -k %s: not a host-mode kind (-h lists them)\n",
			kind_name);
		return -1;
	}
	if (!ifindex) {
		fprintf(stderr, "stage_cost: no such interface: %s\n", ifname);
		return -1;
	}
	if (pkt_build(&kd->spec, &p))
		return -1;
	for (i = 0; i < nobjs; i++)
		if (configure(&objs[i], kd, &p, ifindex, 0)) {
			fprintf(stderr, "stage_cost: cannot configure %s\n",
				objs[i].name);
			return -1;
		}
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0) {
		fprintf(stderr, "stage_cost: cannot enable BPF run-time statistics: %s\n",
			strerror(errno));
		return -1;
	}
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < nobjs; i++) {
			__u64 ns0 = 0, cnt0 = 0, ns1 = 0, cnt1 = 0;
			int status;

			if (bpf_xdp_attach(ifindex, objs[i].prog_fd,
					   XDP_FLAGS_DRV_MODE, NULL)) {
				fprintf(stderr,
					"stage_cost: cannot attach %s to %s: %s\n",
					objs[i].name, ifname, strerror(errno));
				goto out;
			}
			if (prog_stats(objs[i].prog_fd, &ns0, &cnt0))
				goto out;
			status = system(cmd);
			if (prog_stats(objs[i].prog_fd, &ns1, &cnt1))
				goto out;
			if (status != 0 || cnt1 == cnt0) {
				fprintf(stderr,
					"stage_cost: the traffic command failed or sent nothing to %s (status %d): %s\n",
					ifname, status, cmd);
				goto out;
			}
			objs[i].ns[r] = (double)(ns1 - ns0) / (cnt1 - cnt0) + 0.5;
			cnt[i] += cnt1 - cnt0;
		}
	}
	for (i = 0; i < nobjs; i++)
		objs[i].median = bench_median(objs[i].ns, rounds);
	if (json)
		printf("{\"mode\":\"live\",\"interface\":\"%s\",\"rounds\":%u,\"rows\":[",
		       ifname, rounds);
	print_header(markdown, json, "ns");
	print_row(kd, 0, markdown, json, &rows);
	if (json) {
		printf("],\"packets\":{");
		for (i = 0; i < nobjs; i++)
			printf("%s\"%s\":%llu", i ? "," : "", objs[i].name,
			       (unsigned long long)cnt[i]);
		printf("}}\n");
	}
	err = 0;
out:
	bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
	close(stats_fd);
	return err;
}

static int print_warnings(enum libbpf_print_level level, const char *fmt,
			  va_list args)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, args) : 0;
}

int main(int argc, char **argv)
{
	const char *progs_dir = "build/progs", *in_name = NULL, *out_name = NULL,
		   *live_if = NULL, *cmd = NULL, *kind = NULL;
	__u32 rounds = 7, packets = 1000000, in_ifindex = 0, out_ifindex = 0;
	bool markdown = false, json = false;
	int c, i, err = 1;

	while ((c = getopt(argc, argv, "r:n:b:i:o:L:c:k:mjh")) != -1) {
		switch (c) {
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'n':
			packets = atoi(optarg);
			break;
		case 'b':
			progs_dir = optarg;
			break;
		case 'i':
			in_name = optarg;
			break;
		case 'o':
			out_name = optarg;
			break;
		case 'L':
			live_if = optarg;
			break;
		case 'c':
			cmd = optarg;
			break;
		case 'k':
			kind = optarg;
			break;
		case 'm':
			markdown = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (!rounds || rounds > MAX_ROUNDS || !packets) {
		fprintf(stderr, "stage_cost: -r must be 1-%d and -n above 0\n",
			MAX_ROUNDS);
		return 1;
	}
	if (!in_name != !out_name) {
		fprintf(stderr, "stage_cost: -i and -o go together\n");
		return 1;
	}
	if (live_if && (!cmd || !kind)) {
		fprintf(stderr, "stage_cost: -L needs -c CMD and -k KIND\n");
		return 1;
	}
	if (optind == argc || argc - optind > MAX_OBJS) {
		fprintf(stderr, "stage_cost: give 1 to %d NAME=OBJECT arguments\n",
			MAX_OBJS);
		return 1;
	}
	if (in_name && (!(in_ifindex = if_nametoindex(in_name)) ||
			!(out_ifindex = if_nametoindex(out_name)))) {
		fprintf(stderr, "stage_cost: no such interface: %s\n",
			in_ifindex ? out_name : in_name);
		return 1;
	}
	for (i = optind; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (!eq || eq == argv[i] || !eq[1]) {
			fprintf(stderr, "stage_cost: %s: expected NAME=OBJECT\n",
				argv[i]);
			return 1;
		}
		*eq = '\0';
		objs[nobjs].name = argv[i];
		objs[nobjs].path = eq + 1;
		if (find(argv[i]) >= 0) {
			fprintf(stderr, "stage_cost: %s given twice\n", argv[i]);
			return 1;
		}
		nobjs++;
	}
	libbpf_set_print(print_warnings);
	for (i = 0; i < nobjs; i++)
		if (load(&objs[i]))
			goto out;
	signal(SIGPIPE, SIG_IGN);
	err = live_if ? live(live_if, cmd, kind, rounds, markdown, json) :
			warm(progs_dir, rounds, packets, in_ifindex,
			     out_ifindex, markdown, json);
out:
	for (i = 0; i < nobjs; i++)
		bpf_object__close(objs[i].obj);
	return err ? EXIT_FAILURE : EXIT_SUCCESS;
}
