// SPDX-License-Identifier: Apache-2.0
/*
 * flgen sink: flgen_sink on an interface, counting every frame it receives
 * and dropping it (or passing it on with --pass), until -d SECONDS or
 * SIGINT/SIGTERM; then detached, and what arrived is reported. The rate is
 * taken over the time traffic arrived (polled every 10 ms), not the time
 * the sink sat waiting, so a sink started early still measures the stream.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "flgen.h"
#include "log.h"
#include "flgen_sink.skel.h"

#define POLL_SECONDS 0.01

static int sink_read(struct flgen_sink_bpf *skel, struct flgen_counter *cpus,
		     int nr_cpus, struct flgen_counter *total)
{
	__u32 key = 0;
	int i;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.flgen_sink_seen), &key,
				cpus))
		return -errno;
	memset(total, 0, sizeof(*total));
	for (i = 0; i < nr_cpus; i++) {
		total->packets += cpus[i].packets;
		total->bytes += cpus[i].bytes;
	}
	return 0;
}

/* Native XDP, or skb mode with a warning where the driver has none. */
static int sink_attach(struct flgen_sink_bpf *skel,
		       const struct flgen_iface *ifc, __u32 *mode_flags)
{
	int fd = bpf_program__fd(skel->progs.flgen_sink);
	__u32 prog_id = 0;
	int err;

	if (!bpf_xdp_query_id(ifc->ifindex, 0, &prog_id) && prog_id) {
		flgen_error(
			"%s already has an XDP program (id %u): detach it first (ip link set dev %s xdp off)",
			ifc->name, prog_id, ifc->name);
		return -EBUSY;
	}
	*mode_flags = XDP_FLAGS_DRV_MODE;
	err = bpf_xdp_attach(ifc->ifindex, fd,
			     XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST,
			     NULL);
	if (!err)
		return 0;
	pr_warn("%s: native XDP failed (%s); attaching in skb mode, which counts the same but is slower",
		ifc->name, strerror(-err));
	*mode_flags = XDP_FLAGS_SKB_MODE;
	err = bpf_xdp_attach(ifc->ifindex, fd,
			     XDP_FLAGS_SKB_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST,
			     NULL);
	if (err)
		flgen_error("cannot attach to %s: %s", ifc->name,
			    strerror(-err));
	return err;
}

/* Detaches only our own program, should someone have replaced it. */
static void sink_detach(struct flgen_sink_bpf *skel,
			const struct flgen_iface *ifc, __u32 mode_flags)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts,
		    .old_prog_fd = bpf_program__fd(skel->progs.flgen_sink));
	int err;

	err = bpf_xdp_detach(ifc->ifindex, mode_flags | XDP_FLAGS_REPLACE,
			     &opts);
	if (err)
		pr_warn("cannot detach from %s: %s", ifc->name, strerror(-err));
}

int flgen_cmd_sink(struct flgen_options *opt)
{
	struct flgen_counter *cpus = NULL, total = {}, last = {};
	double start, now, first_seen = 0, last_seen = 0, prev_poll;
	struct flgen_sink_bpf *skel = NULL;
	struct flgen_iface ifc;
	__u32 mode_flags = 0;
	int nr_cpus, err;
	bool attached = false;

	err = flgen_iface_get(opt->ifname, &ifc);
	if (err)
		return err;
	nr_cpus = libbpf_num_possible_cpus();
	cpus = calloc(nr_cpus > 0 ? nr_cpus : 1, sizeof(*cpus));
	if (nr_cpus <= 0 || !cpus) {
		err = -ENOMEM;
		goto out;
	}

	flgen_libbpf_logging();
	skel = flgen_sink_bpf__open();
	if (!skel) {
		err = -errno;
		flgen_error("cannot open the sink's BPF object: %s",
			    strerror(-err));
		goto out;
	}
	skel->rodata->pass = opt->pass;
	err = flgen_sink_bpf__load(skel);
	if (err) {
		flgen_error(
			"cannot load the sink's BPF program: %s (run as root; -v shows libbpf's log)",
			strerror(-err));
		goto out;
	}
	err = sink_attach(skel, &ifc, &mode_flags);
	if (err)
		goto out;
	attached = true;
	pr_info("counting on %s (%s XDP, %s) until %s", ifc.name,
		mode_flags == XDP_FLAGS_DRV_MODE ? "native" : "skb",
		opt->pass ? "passing frames on" : "dropping frames",
		opt->duration > 0 ? "-d ends" : "SIGINT or SIGTERM");

	start = prev_poll = flgen_now();
	for (;;) {
		bool signalled = flgen_signal_wait(POLL_SECONDS);

		now = flgen_now();
		err = sink_read(skel, cpus, nr_cpus, &total);
		if (err) {
			flgen_error("cannot read the sink's counters: %s",
				    strerror(-err));
			goto out;
		}
		if (total.packets != last.packets) {
			/* Arrived since the previous poll. */
			if (!first_seen)
				first_seen = prev_poll;
			last_seen = now;
			last = total;
		}
		prev_poll = now;
		if (signalled ||
		    (opt->duration > 0 && now - start >= opt->duration))
			break;
	}
	sink_detach(skel, &ifc, mode_flags);
	attached = false;
	/* Frames counted between the last poll and the detach. */
	if (!sink_read(skel, cpus, nr_cpus, &total) &&
	    total.packets != last.packets) {
		if (!first_seen)
			first_seen = prev_poll;
		last_seen = flgen_now();
	}
	flgen_report_sink(&ifc,
			  mode_flags == XDP_FLAGS_DRV_MODE ? "native" : "skb",
			  opt->pass, total.packets, total.bytes,
			  flgen_now() - start, last_seen - first_seen);
out:
	if (attached)
		sink_detach(skel, &ifc, mode_flags);
	flgen_sink_bpf__destroy(skel);
	free(cpus);
	return err;
}
