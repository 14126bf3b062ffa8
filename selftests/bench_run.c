// SPDX-License-Identifier: Apache-2.0
/* The bench programs' shared measuring loop; see bench_run.h. */
#include <errno.h>
#include <stdlib.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>

#include "bench_run.h"

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
