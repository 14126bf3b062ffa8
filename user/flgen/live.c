// SPDX-License-Identifier: Apache-2.0
/*
 * BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES. The kernel copies the frame
 * into pages of a page pool, runs the program once per frame (repeat
 * times, batch_size at a time) on the calling CPU, and sends every frame
 * it returns XDP_TX for out of the interface named by ingress_ifindex in
 * the xdp_md context. The programs count what they return XDP_TX for in a
 * per-CPU array, and that count is what flgen reports as sent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "flgen.h"
#include "log.h"
#include "flgen.skel.h"

#define LIVE_PROBE_MAX 65536

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	fl_log_v(FL_LOG_DEBUG, fmt, ap);
	return 0;
}

/* libbpf's messages go through our log, shown with -v only. */
void flgen_libbpf_logging(void)
{
	libbpf_set_print(libbpf_print);
}

int flgen_live_load(const struct flgen_config *cfg, struct flgen_bpf **skelp)
{
	struct flgen_bpf *skel;
	int err;

	flgen_libbpf_logging();
	skel = flgen_bpf__open();
	if (!skel) {
		err = -errno;
		flgen_error("cannot open flgen's BPF object: %s",
			    strerror(-err));
		return err;
	}
	memcpy((void *)&skel->rodata->cfg, cfg, sizeof(*cfg));
	err = flgen_bpf__load(skel);
	if (err) {
		flgen_error(
			"cannot load flgen's BPF programs: %s (run as root; -v shows libbpf's log)",
			strerror(-err));
		flgen_bpf__destroy(skel);
		return err;
	}
	*skelp = skel;
	return 0;
}

int flgen_live_run(int prog_fd, int ifindex, const void *frame,
		   unsigned int len, uint32_t repeat, uint32_t batch)
{
	struct xdp_md ctx = {
		.data_end = len,
		.ingress_ifindex = ifindex,
	};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame,
		    .data_size_in = len, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = repeat,
		    .batch_size = batch, .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	return 0;
}

/* The probe program returns XDP_DROP: nothing leaves the interface. */
static int probe(struct flgen_bpf *skel, int ifindex, unsigned int len)
{
	static unsigned char zero[LIVE_PROBE_MAX];

	if (len > sizeof(zero))
		return -E2BIG;
	return flgen_live_run(bpf_program__fd(skel->progs.flgen_probe), ifindex,
			      zero, len, 1, 1);
}

/* The largest frame the kernel takes as a live frame: a page less its
 * headroom and the skb_shared_info tailroom, which depend on the kernel. */
unsigned int flgen_live_max_size(struct flgen_bpf *skel,
				 const struct flgen_iface *ifc)
{
	unsigned int low = FLGEN_ETH_HLEN, high = LIVE_PROBE_MAX;

	if (probe(skel, ifc->ifindex, low))
		return 0;
	while (high - low > 1) {
		unsigned int mid = low + (high - low) / 2;

		if (probe(skel, ifc->ifindex, mid))
			high = mid;
		else
			low = mid;
	}
	return low;
}

static void live_error(const struct flgen_iface *ifc, int err)
{
	if (err == -EINVAL || err == -EOPNOTSUPP)
		flgen_error(
			"the kernel refuses live frames on %s: %s (BPF_F_TEST_XDP_LIVE_FRAMES needs Linux 5.18 or later)",
			ifc->name, strerror(-err));
	else
		flgen_error("cannot send on %s: %s", ifc->name, strerror(-err));
}

/*
 * size must fit the interface's MTU and the kernel's live frames; the
 * probe also catches an interface or kernel that takes no live frames,
 * before any thread starts.
 */
int flgen_check_frame_size(struct flgen_bpf *skel,
			   const struct flgen_iface *ifc, unsigned int size,
			   unsigned int mtu_slack, const char *what)
{
	unsigned int max;
	int err;

	if (size > ifc->mtu + FLGEN_ETH_HLEN + mtu_slack) {
		flgen_error(
			"%s %u is larger than %s's MTU allows (MTU %u: at most %u bytes)",
			what, size, ifc->name, ifc->mtu,
			ifc->mtu + FLGEN_ETH_HLEN + mtu_slack);
		return -EMSGSIZE;
	}
	err = probe(skel, ifc->ifindex, size);
	if (!err)
		return 0;
	if (err == -EINVAL) {
		max = flgen_live_max_size(skel, ifc);
		if (max && size > max) {
			flgen_error(
				"%s %u is larger than live frames allow on this kernel (at most %u bytes)",
				what, size, max);
			return -EMSGSIZE;
		}
	}
	live_error(ifc, err);
	return err;
}

int flgen_live_sent(struct flgen_bpf *skel, struct flgen_counter *per_cpu,
		    unsigned int nr_cpus)
{
	__u32 key = 0;

	memset(per_cpu, 0, nr_cpus * sizeof(*per_cpu));
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.flgen_sent), &key,
				per_cpu))
		return -errno;
	return 0;
}

int flgen_live_sent_total(struct flgen_bpf *skel, struct flgen_counter *total)
{
	int i, n = libbpf_num_possible_cpus(), err;
	struct flgen_counter *per_cpu;

	if (n <= 0)
		return -EINVAL;
	per_cpu = calloc(n, sizeof(*per_cpu));
	if (!per_cpu)
		return -ENOMEM;
	err = flgen_live_sent(skel, per_cpu, n);
	memset(total, 0, sizeof(*total));
	for (i = 0; !err && i < n; i++) {
		total->packets += per_cpu[i].packets;
		total->bytes += per_cpu[i].bytes;
	}
	free(per_cpu);
	return err;
}

int flgen_live_replay_fd(struct flgen_bpf *skel)
{
	return bpf_program__fd(skel->progs.flgen_replay);
}

void flgen_live_destroy(struct flgen_bpf *skel)
{
	flgen_bpf__destroy(skel);
}
