// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * flgen sink - the far end of a measurement: counts every frame the
 * interface receives (per CPU, no lock), then drops it, or passes it on
 * with --pass.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "common_kern_user.h"

const volatile bool pass = false;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flgen_counter);
} FLGEN_MAP_SINK SEC(".maps");

SEC("xdp")
int flgen_sink(struct xdp_md *ctx)
{
	struct flgen_counter *seen;
	__u32 key = 0;

	seen = bpf_map_lookup_elem(&FLGEN_MAP_SINK, &key);
	if (seen) {
		seen->packets++;
		seen->bytes += ctx->data_end - ctx->data;
	}
	return pass ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
