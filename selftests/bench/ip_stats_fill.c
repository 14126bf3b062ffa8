// SPDX-License-Identifier: Apache-2.0
/*
 * ip_stats_fill - tracked hosts for scripts/bench_daemon.sh: writes COUNT
 * IPv4 entries (198.18.0.0 upwards, the benchmarking range) into a pinned
 * per-IP counter map, as the XDP program would have after COUNT protected
 * hosts each sent and received some traffic. What the tick costs depends
 * on how many entries it reads, not on what sent them, and writing them
 * directly makes that number exact (traffic through an LRU would leave it
 * to the LRU).
 *
 *   ip_stats_fill PINNED_MAP COUNT
 *
 * Prints how many entries the map holds afterwards.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <flowlens/flowlens.h>

#include "bench_run.h"

#define CHUNK 4096U

/* The entry a protected host gets: some traffic each way, on CPU 0. */
static void fill_value(struct fl_ip_stats *percpu, __u32 i)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	percpu[0].side[FL_SIDE_SRC].packets = 10 + i % 7;
	percpu[0].side[FL_SIDE_SRC].bytes = 1000 + i % 1500;
	percpu[0].side[FL_SIDE_DST].packets = 5 + i % 3;
	percpu[0].side[FL_SIDE_DST].bytes = 500 + i % 700;
	percpu[0].last_seen_ns = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	percpu[0].reason = FL_TRACK_PROTECTED;
	percpu[0].checked = 1;
}

int main(int argc, char **argv)
{
	struct fl_ip4_key *keys = NULL;
	struct fl_ip_stats *values = NULL;
	int fd, ncpus = libbpf_num_possible_cpus();
	__u32 total, done, i, n;
	char *end;

	if (argc != 3) {
		fprintf(stderr, "usage: %s PINNED_MAP COUNT\n", argv[0]);
		return EXIT_FAILURE;
	}
	total = strtoul(argv[2], &end, 10);
	if (*end || !total || total > (1U << 17) || ncpus <= 0) {
		fprintf(stderr, "%s: COUNT must be 1 to %u\n", argv[0],
			1U << 17);
		return EXIT_FAILURE;
	}
	fd = bpf_obj_get(argv[1]);
	if (fd < 0) {
		fprintf(stderr, "%s: cannot open %s: %s\n", argv[0], argv[1],
			strerror(errno));
		return EXIT_FAILURE;
	}
	keys = calloc(CHUNK, sizeof(*keys));
	values = calloc((size_t)CHUNK * ncpus, sizeof(*values));
	if (!keys || !values) {
		fprintf(stderr, "%s: out of memory\n", argv[0]);
		return EXIT_FAILURE;
	}
	for (done = 0; done < total; done += n) {
		n = total - done < CHUNK ? total - done : CHUNK;
		memset(values, 0, (size_t)CHUNK * ncpus * sizeof(*values));
		for (i = 0; i < n; i++) {
			__u32 addr = htonl(0xc6120000U + done + i); /* 198.18/15 */

			memcpy(keys[i].addr, &addr, sizeof(addr));
			fill_value(&values[(size_t)i * ncpus], done + i);
		}
		if (bpf_map_update_batch(fd, keys, values, &n, NULL)) {
			fprintf(stderr, "%s: writing %s: %s\n", argv[0],
				argv[1], strerror(errno));
			return EXIT_FAILURE;
		}
	}
	printf("%ld\n", bench_map_count(fd, sizeof(struct fl_ip4_key)));
	free(keys);
	free(values);
	return EXIT_SUCCESS;
}
