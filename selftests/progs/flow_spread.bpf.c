// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * flow_bench's spreader. BPF_F_TEST_XDP_LIVE_FRAMES runs a program on
 * copies of one template frame; this program makes each run a packet of
 * another flow, then tail-calls the program under test (spread_target[0])
 * on it. With no program there it drops the frame: the harness alone.
 *
 * The frame is Ethernet + IPv4 (20 bytes, no options) + TCP, as
 * flow_bench builds it. Flow i is source address spread_base + i / 16,
 * source port 10000 + i % 16, taken in the order of spread_order
 * (spread_cfg: the number of flows; the position is kept per CPU). The
 * live-frame page pool recycles pages without restoring the template,
 * so both fields and the IPv4 checksum are written whole every time.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "flow_spread.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct spread_cfg);
} spread_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32); /* next position in spread_order */
} spread_pos SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SPREAD_FLOWS_MAX);
	__type(key, __u32);
	__type(value, __u32); /* a flow number */
} spread_order SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} spread_target SEC(".maps");

/* The IPv4 header checksum over its ten 16-bit words, check left 0. */
static __always_inline __u16 ip4_csum(const __u16 *words)
{
	__u32 sum = 0;
	int i;

	for (i = 0; i < 10; i++)
		sum += words[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

SEC("xdp")
int flow_spread(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + 14;
	struct tcphdr *tcp = data + 14 + sizeof(*ip);
	struct spread_cfg *cfg;
	__u32 zero = 0, *pos, *flow, i;

	if ((void *)(tcp + 1) > data_end)
		return XDP_ABORTED;
	cfg = bpf_map_lookup_elem(&spread_cfg, &zero);
	pos = bpf_map_lookup_elem(&spread_pos, &zero);
	if (!cfg || !pos || !cfg->flows)
		return XDP_ABORTED;
	flow = bpf_map_lookup_elem(&spread_order, pos);
	if (!flow)
		return XDP_ABORTED;
	i = *flow;
	*pos = *pos + 1 >= cfg->flows ? 0 : *pos + 1;

	ip->saddr = bpf_htonl(cfg->base + i / SPREAD_PORTS_PER_ADDR);
	ip->check = 0;
	ip->check = ip4_csum((const __u16 *)ip);
	tcp->source = bpf_htons(SPREAD_SPORT_BASE + i % SPREAD_PORTS_PER_ADDR);

	bpf_tail_call(ctx, &spread_target, 0);
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
