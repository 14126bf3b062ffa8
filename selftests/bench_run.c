// SPDX-License-Identifier: Apache-2.0
/* The bench programs' shared measuring loop; see bench_run.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <flowlens/flowlens.h>

#include "bench_run.h"
#include "ifstats.h"

int bench_measure(int prog_fd, const struct pkt *p, __u32 ifindex, __u32 n,
		  __u32 *ns, __u32 *action)
{
	struct xdp_md ctx = { .data_end = p->len, .ingress_ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->data,
		    .data_size_in = p->len);
	double total = 0;
	__u32 done = 0;

	if (ifindex) {
		opts.ctx_in = &ctx;
		opts.ctx_size_in = sizeof(ctx);
	}
	while (done < n) {
		opts.repeat = n - done < BENCH_CHUNK ? n - done : BENCH_CHUNK;
		if (bpf_prog_test_run_opts(prog_fd, &opts))
			return -errno;
		total += (double)opts.duration * opts.repeat;
		done += opts.repeat;
		*action = opts.retval;
	}
	*ns = total / n + 0.5;
	return 0;
}

void bench_set_ttl_255(struct pkt *p)
{
	if (!p->l3_off)
		return;
	if (p->data[p->l3_off] >> 4 == 4) {
		pkt_poke8(p, p->l3_off + 8, 255);
		pkt_ip4_csum(p);
	} else {
		pkt_poke8(p, p->l3_off + 7, 255);
	}
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

double bench_median(__u32 *v, __u32 n)
{
	qsort(v, n, sizeof(*v), cmp_u32);
	return v[n / 2];
}

/* From the frame's bytes, IPv4 or IPv6, as the program does. */
void bench_flow_key(const struct pkt *p, struct fl_flow_key *key)
{
	union fl_addr src = {}, dst = {};
	__be16 sport, dport;
	int v6 = p->data[p->l3_off] >> 4 == 6;
	__u8 proto = v6 ? p->data[p->l3_off + 6] : p->data[p->l3_off + 9];

	memcpy(src.b, p->data + p->l3_off + (v6 ? 8 : 12), v6 ? 16 : 4);
	memcpy(dst.b, p->data + p->l3_off + (v6 ? 24 : 16), v6 ? 16 : 4);
	memcpy(&sport, p->data + p->l4_off, 2);
	memcpy(&dport, p->data + p->l4_off + 2, 2);
	fl_flow_key_make(key, &src, &dst, sport, dport, proto, v6 ? 6 : 4);
}

long bench_map_count(int map_fd, size_t key_size)
{
	char key[64], next[64];
	void *prev = NULL;
	long n = 0;

	if (key_size > sizeof(key))
		return -EINVAL;
	while (!bpf_map_get_next_key(map_fd, prev, next)) {
		memcpy(key, next, key_size);
		prev = key;
		n++;
	}
	return n;
}

int bench_claim_if(struct bpf_object *obj, __u32 ifindex)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, "fl_if_fast");
	int err;

	if (!map)
		return 0; /* an object from before the slots: by ifindex */
	err = fl_ifstats_claim(bpf_map__fd(map), ifindex ?: 1);
	return err < 0 ? err : 0;
}

int bench_untrack(struct bpf_object *obj)
{
	static const char *const names[] = { "fl_ip4_stats", "fl_ip6_stats" };
	char key[16];
	size_t i;

	for (i = 0; i < 2; i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(obj, names[i]);
		int fd;

		if (!map)
			continue;
		if (bpf_map__key_size(map) > sizeof(key))
			return -EINVAL;
		fd = bpf_map__fd(map);
		while (!bpf_map_get_next_key(fd, NULL, key))
			if (bpf_map_delete_elem(fd, key))
				return -errno;
	}
	return 0;
}
