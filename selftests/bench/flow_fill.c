// SPDX-License-Identifier: Apache-2.0
/*
 * flow_fill - classified flows for scripts/bench_export.sh: writes flows
 * into the pinned flow cache (FL_MAP_FLOWS) as the datapath and the
 * workers leave them, then makes them all due for an IPFIX record at
 * once, and times a bare read of the map as the exporter reads it.
 *
 *   flow_fill fill MAP COUNT [BIDI_PERCENT [ROUND]]
 *       COUNT flows, each with packets from its client, and BIDI_PERCENT
 *       of them (default 50) with packets from the server too; a final
 *       verdict (CLASSIFIED, BYPASS) with real nDPI ids, so records carry
 *       names (TLS.Google, QUIC.YouTube, DNS, ...); one in 4 IPv6; one in
 *       8 with a risk. Last packet AGE_S seconds ago.
 *       ROUND N > 0 writes the same flows again, N times the packets and
 *       bytes of round 0 more, their first packet as the map has it (flow
 *       0's first_seen), their last AGE_S seconds ago again: for an
 *       exporter that has read them before, each direction with packets
 *       is one idle record due at its next read. Writing them anew (not
 *       reading them back first) keeps this short: the bench has to
 *       finish it between two of the exporter's reads.
 *   flow_fill read MAP [ROUNDS]
 *       reads the whole map ROUNDS times (default 5) with
 *       bpf_map_lookup_batch, FILL_BATCH entries a call (the exporter's
 *       EXPORT_BATCH), nothing else: the read's floor.
 *
 * Each prints one JSON line: "flows" (in the map afterwards, or read),
 * "records" (directions with new packets: the idle records an exporter
 * sends for them), "seconds" (the write, or the median read;
 * "seconds_min" too).
 *
 * Writing the flows directly makes their number exact and costs no
 * traffic; what a record costs depends on what the entry holds, not on
 * what wrote it. Keys come from fl_flow_key_make(), as XDP makes them.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <flowlens/flowlens.h>

#include "bench_run.h"

#define FILL_BATCH 4096 /* the exporter's EXPORT_BATCH */
#define AGE_S 10 /* the flows' last packet, seconds ago */
#define LIFE_S 60 /* their first, seconds before the last */
#define MAX_FLOWS (1U << 24) /* --max-flows' most */
#define ROUNDS_DEFAULT 5
#define TCP_PSH_ACK 0x18

/* What the flows are: nDPI 4.x ids (ndpi_protocol_ids.h, and
 * ndpi_protocol_category_t for the category). */
static const struct app {
	__u16 app, master, category;
	__u8 proto;
	__u16 port;
} apps[] = {
	{ 126, 91, 5, IPPROTO_TCP, 443 }, /* TLS.Google, Web */
	{ 124, 188, 1, IPPROTO_UDP, 443 }, /* QUIC.YouTube, Media */
	{ 119, 91, 6, IPPROTO_TCP, 443 }, /* TLS.Facebook, SocialNetwork */
	{ 133, 91, 26, IPPROTO_TCP, 443 }, /* TLS.Netflix, Video */
	{ 5, 0, 14, IPPROTO_UDP, 53 }, /* DNS, Network */
	{ 7, 0, 5, IPPROTO_TCP, 80 }, /* HTTP, Web */
	{ 91, 0, 5, IPPROTO_TCP, 443 }, /* TLS, Web */
};
#define NR_APPS (sizeof(apps) / sizeof(apps[0]))

/* ndpi_risk bits */
#define RISK_NON_STANDARD_PORT (1ULL << 5)
#define RISK_SELF_SIGNED (1ULL << 6)
#define RISK_OBSOLETE_TLS (1ULL << 7)

static __u64 coarse_ns(void)
{
	struct timespec ts;

	/* bpf_ktime_get_coarse_ns(): the flow cache's clock */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* When the flows' last packet was: AGE_S ago (or at boot, early on). */
static __u64 idle_since(void)
{
	__u64 now = coarse_ns(), age = (__u64)AGE_S * 1000000000ULL;

	return now > age ? now - age : 0;
}

/*
 * Flow @i in round @round: client 198.18.0.0/15 (2001:db8:1::/64 for one
 * in 4) port 40000-40015, server 203.0.113.1-7 (2001:db8:2::1-7) on its
 * app's port; every round adds what round 0 had.
 */
static void flow_make(__u32 i, unsigned int bidi_percent, __u32 round,
		      __u64 first_seen, __u64 last_seen,
		      struct fl_flow_key *key, struct fl_flow *f)
{
	const struct app *a = &apps[i % NR_APPS];
	union fl_addr client = {}, server = {};
	__u64 pc = 4 + i % 29, ps = i % 100 < bidi_percent ? 3 + i % 37 : 0;
	__u8 family = i % 4 == 3 ? 6 : 4;
	int client_dir;
	__u32 v4;

	if (family == 4) {
		v4 = htonl(0xc6120000U + i / 16); /* 198.18.0.0 + */
		memcpy(client.b, &v4, 4);
		v4 = htonl(0xcb007100U + 1 + i % NR_APPS); /* 203.0.113.1 + */
		memcpy(server.b, &v4, 4);
	} else {
		inet_pton(AF_INET6, "2001:db8:1::", client.b);
		inet_pton(AF_INET6, "2001:db8:2::", server.b);
		v4 = htonl(i / 16 + 1);
		memcpy(client.b + 12, &v4, 4);
		server.b[15] = 1 + i % NR_APPS;
	}
	client_dir = fl_flow_key_make(key, &client, &server,
				      htons(40000 + i % 16), htons(a->port),
				      a->proto, family);
	*f = (struct fl_flow){
		.last_seen = last_seen,
		.first_seen = first_seen,
		.app = a->app,
		.master = a->master,
		.category = a->category,
		.state = FL_FLOW_CLASSIFIED,
		.flags = FL_FLOW_F_BYPASS |
			 (client_dir == 0 ? FL_FLOW_F_LO_CLIENT : 0),
		.escalated = 6,
		.tcp_flags = a->proto == IPPROTO_TCP ? TCP_PSH_ACK : 0,
	};
	f->packets[client_dir] = pc * (1 + round);
	f->bytes[client_dir] = pc * (1 + round) * (120 + i % 200);
	f->packets[!client_dir] = ps * (1 + round);
	f->bytes[!client_dir] = ps * (1 + round) * (800 + i % 700);
	if (i % 8 == 0)
		f->risk = RISK_NON_STANDARD_PORT;
	else if (i % 32 == 1)
		f->risk = RISK_SELF_SIGNED | RISK_OBSOLETE_TLS;
}

static __u32 directions(const struct fl_flow *f)
{
	return !!f->packets[0] + !!f->packets[1];
}

static int map_open(const char *path)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(path);

	if (fd < 0) {
		fprintf(stderr, "flow_fill: cannot open %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &len) ||
	    info.key_size != sizeof(struct fl_flow_key) ||
	    info.value_size != sizeof(struct fl_flow)) {
		fprintf(stderr,
			"flow_fill: %s is not a flow cache of this build (key %u, value %u bytes)\n",
			path, info.key_size, info.value_size);
		close(fd);
		return -1;
	}
	return fd;
}

/* Flow 0's first packet, as round 0 wrote it; 0 or -errno. */
static int first_seen_of(int fd, unsigned int bidi_percent, __u64 *first_seen)
{
	struct fl_flow_key key;
	struct fl_flow f;

	flow_make(0, bidi_percent, 0, 0, 0, &key, &f);
	if (bpf_map_lookup_elem(fd, &key, &f)) {
		fprintf(stderr,
			"flow_fill: flow 0 is not in the map: fill it first (round 0)\n");
		return -ENOENT;
	}
	*first_seen = f.first_seen;
	return 0;
}

static int fill(int fd, __u32 count, unsigned int bidi_percent, __u32 round)
{
	struct fl_flow_key *keys = calloc(FILL_BATCH, sizeof(*keys));
	struct fl_flow *vals = calloc(FILL_BATCH, sizeof(*vals));
	__u64 last_seen = idle_since(), first_seen, records = 0;
	double t0 = now_s(), dt;
	__u32 i, j, n;
	long flows;
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	first_seen = last_seen > LIFE_S * 1000000000ULL ?
			     last_seen - LIFE_S * 1000000000ULL :
			     0;
	if (round) {
		err = first_seen_of(fd, bidi_percent, &first_seen);
		if (err)
			goto out;
	}
	for (i = 0; i < count; i += n) {
		n = count - i < FILL_BATCH ? count - i : FILL_BATCH;
		for (j = 0; j < n; j++) {
			flow_make(i + j, bidi_percent, round, first_seen,
				  last_seen, &keys[j], &vals[j]);
			records += directions(&vals[j]);
		}
		if (bpf_map_update_batch(fd, keys, vals, &n, NULL)) {
			err = -errno;
			fprintf(stderr, "flow_fill: writing flow %u: %s\n", i,
				strerror(errno));
			goto out;
		}
	}
	dt = now_s() - t0;
	/* round 0 only: a round N must fit between two of the exporter's
	 * reads, and walking the keys takes a syscall each (its records say
	 * whether every flow was there) */
	flows = round ? count : bench_map_count(fd, sizeof(struct fl_flow_key));
	if (flows != count) {
		fprintf(stderr,
			"flow_fill: %u flows written, %ld in the map (the LRU evicted some, or the map held others: start flowlensd with a larger --max-flows and no traffic)\n",
			count, flows);
		err = -ENOSPC;
		goto out;
	}
	printf("{\"flows\":%ld,\"records\":%llu,\"seconds\":%.6f}\n", flows,
	       (unsigned long long)records, dt);
out:
	free(keys);
	free(vals);
	return err;
}

static __u32 map_max_entries(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int read_rounds(int fd, unsigned int rounds)
{
	__u32 max = map_max_entries(fd) + FILL_BATCH;
	struct fl_flow_key *keys = calloc(FILL_BATCH, sizeof(*keys));
	struct fl_flow *vals = calloc(FILL_BATCH, sizeof(*vals));
	double *s = calloc(rounds, sizeof(*s)), t0;
	__u32 batch, n, r;
	long flows = 0;
	bool first;
	int err = 0, ret;

	if (!keys || !vals || !s) {
		err = -ENOMEM;
		goto out;
	}
	for (r = 0; r < rounds; r++) {
		/* as the exporter reads: one buffer of FILL_BATCH, reused */
		flows = 0;
		first = true;
		t0 = now_s();
		do {
			n = FILL_BATCH;
			ret = bpf_map_lookup_batch(fd, first ? NULL : &batch,
						   &batch, keys, vals, &n,
						   NULL);
			first = false;
			if (ret && errno != ENOENT) {
				err = -errno;
				fprintf(stderr, "flow_fill: reading: %s\n",
					strerror(errno));
				goto out;
			}
			flows += n;
		} while (!ret && flows < max);
		s[r] = now_s() - t0;
	}
	qsort(s, rounds, sizeof(*s), cmp_double);
	printf("{\"flows\":%ld,\"rounds\":%u,\"seconds\":%.6f,\"seconds_min\":%.6f}\n",
	       flows, rounds, s[rounds / 2], s[0]);
out:
	free(keys);
	free(vals);
	free(s);
	return err;
}

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %1$s fill MAP COUNT [BIDI_PERCENT [ROUND]]\n"
		"       %1$s read MAP [ROUNDS]\n"
		"Classified flows in a pinned flow cache (fl_flows) for the IPFIX\n"
		"bench: fill writes COUNT (BIDI_PERCENT of them, default 50, with\n"
		"packets both ways), their last packet %2$d s ago; ROUND N > 0 writes\n"
		"them again with N rounds more packets. read times a whole batched\n"
		"read (median of ROUNDS, default %3$d). Prints one JSON line.\n",
		prog, AGE_S, ROUNDS_DEFAULT);
}

static int parse_u32(const char *s, unsigned long max, __u32 *v)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || !*s || *end || n > max)
		return -EINVAL;
	*v = n;
	return 0;
}

int main(int argc, char **argv)
{
	__u32 count = 0, bidi = 50, round = 0, rounds = ROUNDS_DEFAULT;
	const char *cmd = argc > 1 ? argv[1] : "";
	int fd, err;

	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		usage(stdout, argv[0]);
		return EXIT_SUCCESS;
	}
	if (!strcmp(cmd, "fill")) {
		if (argc < 4 || argc > 6 ||
		    parse_u32(argv[3], MAX_FLOWS, &count) || !count ||
		    (argc > 4 && parse_u32(argv[4], 100, &bidi)) ||
		    (argc > 5 && parse_u32(argv[5], 1000000, &round))) {
			usage(stderr, argv[0]);
			return EXIT_FAILURE;
		}
	} else if (!strcmp(cmd, "read")) {
		if (argc < 3 || argc > 4 ||
		    (argc == 4 &&
		     (parse_u32(argv[3], 101, &rounds) || !rounds))) {
			usage(stderr, argv[0]);
			return EXIT_FAILURE;
		}
	} else {
		usage(stderr, argv[0]);
		return EXIT_FAILURE;
	}
	fd = map_open(argv[2]);
	if (fd < 0)
		return EXIT_FAILURE;
	if (!strcmp(cmd, "fill"))
		err = fill(fd, count, bidi, round);
	else
		err = read_rounds(fd, rounds);
	close(fd);
	return err ? EXIT_FAILURE : EXIT_SUCCESS;
}
