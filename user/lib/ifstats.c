// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ifstats.h"

/* Per-CPU values come in 8-byte strides; both structs are multiples of 8. */
_Static_assert(sizeof(struct fl_if_fast) % 8 == 0, "fl_if_fast stride");

static int ncpus(void)
{
	return libbpf_num_possible_cpus();
}

int fl_ifstats_claim(int fast_fd, __u32 ifindex)
{
	__u32 slot = FL_IF_FAST_SLOT(ifindex), owner;
	char name[IF_NAMESIZE];
	struct fl_if_fast *v;
	int n = ncpus(), cpu, err;

	if (n < 0)
		return n;
	v = calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	err = bpf_map_lookup_elem(fast_fd, &slot, v) ? -errno : 0;
	if (err)
		goto out;
	/* Every CPU's copy is written at once, so CPU 0's owner is all's. */
	owner = v[0].ifindex;
	if (owner == ifindex) {
		err = 1; /* ours since an earlier run: counting goes on */
		goto out;
	}
	if (owner && if_indextoname(owner, name)) {
		err = 0; /* another interface's: this one goes by the hash */
		goto out;
	}
	memset(v, 0, n * sizeof(*v));
	for (cpu = 0; cpu < n; cpu++)
		v[cpu].ifindex = ifindex;
	err = bpf_map_update_elem(fast_fd, &slot, v, BPF_ANY) ? -errno : 1;
out:
	free(v);
	return err;
}

void fl_ifstats_add(struct fl_if_stats *sum, const struct fl_if_stats *s)
{
	const __u64 *in = (const __u64 *)s;
	__u64 *out = (__u64 *)sum;
	size_t i;

	for (i = 0; i < sizeof(*s) / sizeof(__u64); i++)
		out[i] += in[i];
}

int fl_ifstats_sum(int fast_fd, int hash_fd, __u32 ifindex,
		   struct fl_if_stats *sum)
{
	__u32 slot = FL_IF_FAST_SLOT(ifindex);
	int n = ncpus(), cpu, err = 0;
	struct fl_if_stats *h;
	struct fl_if_fast *f;

	memset(sum, 0, sizeof(*sum));
	if (n < 0)
		return n;
	f = calloc(n, sizeof(*f));
	h = calloc(n, sizeof(*h));
	if (!f || !h) {
		err = -ENOMEM;
		goto out;
	}
	if (bpf_map_lookup_elem(fast_fd, &slot, f)) {
		err = -errno;
		goto out;
	}
	for (cpu = 0; cpu < n; cpu++)
		if (f[cpu].ifindex == ifindex)
			fl_ifstats_add(sum, &f[cpu].s);
	if (!bpf_map_lookup_elem(hash_fd, &ifindex, h)) {
		for (cpu = 0; cpu < n; cpu++)
			fl_ifstats_add(sum, &h[cpu]);
	} else if (errno != ENOENT) {
		err = -errno;
	}
out:
	free(f);
	free(h);
	return err;
}
