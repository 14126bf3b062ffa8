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
 */
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
#include "pkt.h"

struct kind {
	const char *name;
	const char *what;
	struct pkt_spec spec;
	bool tracked; /* addresses get exact counters */
};

static const struct kind kinds[] = {
	{ "ipv4-udp",
	  "IPv4 UDP, 64 B payload, addresses untracked",
	  { .l3 = PKT_IPV4, .l4 = PKT_UDP, .payload_len = 64 },
	  false },
	{ "ipv4-udp-tracked",
	  "same, source and destination tracked",
	  { .l3 = PKT_IPV4, .l4 = PKT_UDP, .payload_len = 64 },
	  true },
	{ "ipv4-tcp-syn",
	  "IPv4 TCP SYN, untracked",
	  { .l3 = PKT_IPV4, .l4 = PKT_TCP, .tcp.flags = PKT_TCP_SYN },
	  false },
	{ "ipv6-udp",
	  "IPv6 UDP, 64 B payload, untracked",
	  { .l3 = PKT_IPV6, .l4 = PKT_UDP, .payload_len = 64 },
	  false },
	{ "ipv6-ext-tcp",
	  "IPv6 hop-by-hop + dstopts + TCP, untracked",
	  { .l3 = PKT_IPV6,
	    .l4 = PKT_TCP,
	    .ip6 = { .nr_ext = 2, .ext = { { .type = 0 }, { .type = 60 } } } },
	  false },
	{ "vlan-ipv4-udp",
	  "802.1Q + IPv4 UDP, untracked",
	  { .vlan.count = 1, .l3 = PKT_IPV4, .l4 = PKT_UDP, .payload_len = 64 },
	  false },
};

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static int run_once(int prog_fd, const struct pkt *p, __u32 repeat, __u32 *ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->data,
		    .data_size_in = p->len, .repeat = repeat);
	int err = bpf_prog_test_run_opts(prog_fd, &opts);

	if (err)
		return -errno;
	*ns = opts.duration;
	return 0;
}

/*
 * Untracked: thresholds so high the sketch never flags anyone, nothing
 * protected. Tracked: both addresses protected, so every packet also
 * updates two exact LRU entries.
 */
static int configure(struct flowlens_bpf *skel, bool tracked)
{
	struct fl_config cfg = { .hash_seed = 0x5eed,
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
				   sizeof(zero), &cfg, sizeof(cfg), 0);
	if (err)
		return err;
	if (tracked) {
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
	}
	return err;
}

static int print_warnings(enum libbpf_print_level level, const char *fmt,
			  va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static void usage(const char *prog)
{
	printf("Usage: %s [-r ROUNDS] [-n REPEAT] [-m|-j]\n"
	       "Per-packet cost of flowlens against XDP_PASS (bpf_prog_test_run).\n"
	       "  -r ROUNDS   alternating rounds per packet kind (default 7)\n"
	       "  -n REPEAT   packets per round (default 1000000)\n"
	       "  -m          Markdown table\n"
	       "  -j          JSON\n",
	       prog);
}

int main(int argc, char **argv)
{
	const char *baseline_path = "build/progs/xdp_pass.bpf.o";
	__u32 rounds = 7, repeat = 1000000, r;
	struct bpf_object *baseline = NULL;
	struct flowlens_bpf *skel = NULL;
	int c, pass_fd, fl_fd, err = 1;
	bool markdown = false, json = false;
	struct bpf_map *map;
	size_t i;

	while ((c = getopt(argc, argv, "r:n:b:mjh")) != -1) {
		switch (c) {
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'n':
			repeat = atoi(optarg);
			break;
		case 'b':
			baseline_path = optarg;
			break;
		case 'm':
			markdown = true;
			break;
		case 'j':
			json = true;
			break;
		default:
			usage(argv[0]);
			return c == 'h' ? 0 : 1;
		}
	}
	if (!rounds || rounds > 101 || !repeat) {
		fprintf(stderr,
			"prog_cost: rounds must be 1-101, repeat > 0\n");
		return 1;
	}

	libbpf_set_print(print_warnings);
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
	baseline = bpf_object__open_file(baseline_path, NULL);
	if (!baseline || bpf_object__load(baseline)) {
		fprintf(stderr, "prog_cost: cannot load %s\n", baseline_path);
		goto out;
	}
	pass_fd = bpf_program__fd(bpf_object__next_program(baseline, NULL));
	fl_fd = bpf_program__fd(skel->progs.flowlens);

	if (json)
		printf("{\"repeat\":%u,\"rounds\":%u,\"kinds\":[", repeat,
		       rounds);
	else if (markdown)
		printf("| packet | what | XDP_PASS ns | flowlens ns | ratio | flowlens work ns |\n"
		       "| --- | --- | ---: | ---: | ---: | ---: |\n");
	else
		printf("%-18s %12s %12s %7s %10s\n", "packet", "XDP_PASS ns",
		       "flowlens ns", "ratio", "work ns");

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		__u32 pass_ns[101], fl_ns[101];
		double pass, fl;
		struct pkt p;

		if (pkt_build(&kinds[i].spec, &p) ||
		    configure(skel, kinds[i].tracked)) {
			fprintf(stderr, "prog_cost: cannot set up %s\n",
				kinds[i].name);
			goto out;
		}
		for (r = 0; r < rounds; r++) {
			if (run_once(pass_fd, &p, repeat, &pass_ns[r]) ||
			    run_once(fl_fd, &p, repeat, &fl_ns[r])) {
				fprintf(stderr,
					"prog_cost: test run failed: %s\n",
					strerror(errno));
				goto out;
			}
		}
		qsort(pass_ns, rounds, sizeof(__u32), cmp_u32);
		qsort(fl_ns, rounds, sizeof(__u32), cmp_u32);
		pass = pass_ns[rounds / 2];
		fl = fl_ns[rounds / 2];

		if (json)
			printf("%s{\"name\":\"%s\",\"what\":\"%s\",\"xdp_pass_ns\":%.0f,"
			       "\"flowlens_ns\":%.0f,\"ratio\":%.2f}",
			       i ? "," : "", kinds[i].name, kinds[i].what, pass,
			       fl, pass ? fl / pass : 0);
		else if (markdown)
			printf("| %s | %s | %.0f | %.0f | %.2f | %.0f |\n",
			       kinds[i].name, kinds[i].what, pass, fl,
			       pass ? fl / pass : 0, fl - pass);
		else
			printf("%-18s %12.0f %12.0f %6.2fx %10.0f\n",
			       kinds[i].name, pass, fl, pass ? fl / pass : 0,
			       fl - pass);
	}
	if (json)
		printf("]}\n");
	err = 0;
out:
	bpf_object__close(baseline);
	flowlens_bpf__destroy(skel);
	return err;
}
