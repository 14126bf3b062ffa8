// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * flgen - the traffic generator's XDP programs, run by BPF_PROG_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES: the kernel runs them once per frame on a copy
 * of the template packet and transmits every frame they return XDP_TX for
 * out of the interface given as ingress_ifindex.
 *
 * The live-frame page pool recycles pages without restoring the template,
 * so a page may hold what the previous run wrote - or what a router that
 * received the frame by reference (veth passes the page itself) wrote into
 * it. So the headers are copied back from the template first, every field
 * that varies is written whole, and every checksum is computed from a base
 * userspace summed over the fixed fields plus what was just written, never
 * patched from the packet's current contents.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "common_kern_user.h"

#define ETH_HLEN 14

/* Set by flgen before load; the verifier sees the constants and drops the
 * branches this run does not need. */
const volatile struct flgen_config cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flgen_counter);
} FLGEN_MAP_SENT SEC(".maps");

static __always_inline __u64 csum_add32(__u64 sum, __u32 word)
{
	return sum + (word & 0xffff) + (word >> 16);
}

static __always_inline __u16 csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* A uniform draw from [base, base + count) (multiply-shift, no division). */
static __always_inline __u32 draw(__u32 base, __u64 count)
{
	return base + (__u32)(((__u64)bpf_get_prandom_u32() * count) >> 32);
}

static __always_inline bool
range_varies(const volatile struct flgen_addr_range *r)
{
	return r->count[0] > 1 || r->count[1] > 1 || r->count[2] > 1 ||
	       r->count[3] > 1;
}

/*
 * Writes the random words of an address (words: 1 for IPv4, 4 for IPv6)
 * and returns sum plus what was written. Fixed words stay as in the
 * template and are already in the checksum bases.
 */
static __always_inline __u64
write_addr(__be32 *addr, int words, const volatile struct flgen_addr_range *r,
	   __u64 sum)
{
	int i;

#pragma unroll
	for (i = 0; i < 4; i++) {
		__be32 value;

		if (i >= words || r->count[i] <= 1)
			continue;
		value = bpf_htonl(draw(r->base[i], r->count[i]));
		addr[i] = value;
		sum = csum_add32(sum, value);
	}
	return sum;
}

static __always_inline __u64
write_port(__be16 *port, const volatile struct flgen_port_range *r, __u64 sum)
{
	__be16 value;

	if (r->count <= 1)
		return sum;
	value = bpf_htons(draw(r->base, r->count));
	*port = value;
	return sum + value;
}

/* The addresses: into the IP header, and their sum, which the IPv4 header
 * checksum and every pseudo header share. */
static __always_inline int write_addresses(void *data, void *data_end,
					   __u64 *addr_sum)
{
	__u64 sum = 0;

	if (cfg.ipv6) {
		struct ipv6hdr *ip6 = data + ETH_HLEN;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		sum = write_addr(ip6->saddr.in6_u.u6_addr32, 4, &cfg.src, sum);
		sum = write_addr(ip6->daddr.in6_u.u6_addr32, 4, &cfg.dst, sum);
	} else {
		struct iphdr *ip = data + ETH_HLEN;

		if ((void *)(ip + 1) > data_end)
			return -1;
		sum = write_addr(&ip->saddr, 1, &cfg.src, sum);
		sum = write_addr(&ip->daddr, 1, &cfg.dst, sum);
		if (range_varies(&cfg.src) || range_varies(&cfg.dst))
			ip->check = csum_fold(cfg.ip_csum_base + sum);
	}
	*addr_sum = sum;
	return 0;
}

static __always_inline int write_udp(void *data, void *data_end, __u64 sum)
{
	struct udphdr *udp = data + cfg.l4_offset;
	__u16 check;

	if ((void *)(udp + 1) > data_end)
		return -1;
	sum = write_port(&udp->source, &cfg.sport, sum);
	sum = write_port(&udp->dest, &cfg.dport, sum);
	if (!range_varies(&cfg.src) && !range_varies(&cfg.dst) &&
	    cfg.sport.count <= 1 && cfg.dport.count <= 1)
		return 0; /* the template is the packet */
	check = csum_fold(cfg.l4_csum_base + sum);
	udp->check = check ?: 0xffff; /* 0 means "no checksum" in UDP */
	return 0;
}

static __always_inline int write_tcp(void *data, void *data_end, __u64 sum)
{
	struct tcphdr *tcp = data + cfg.l4_offset;
	__u32 seq = bpf_get_prandom_u32();

	if ((void *)(tcp + 1) > data_end)
		return -1;
	sum = write_port(&tcp->source, &cfg.sport, sum);
	sum = write_port(&tcp->dest, &cfg.dport, sum);
	/* Random sequence numbers, as a flood of new connections has. */
	tcp->seq = seq;
	sum = csum_add32(sum, seq);
	if (cfg.kind == FLGEN_KIND_ACK) {
		__u32 ack = bpf_get_prandom_u32();

		tcp->ack_seq = ack;
		sum = csum_add32(sum, ack);
	}
	tcp->check = csum_fold(cfg.l4_csum_base + sum);
	return 0;
}

/* Echo request: identifier fixed in the template, sequence number from the
 * per-CPU count of frames sent, so replies can be told apart. */
static __always_inline int write_icmp(void *data, void *data_end, __u64 sum,
				      __u64 seq)
{
	struct icmphdr *icmp = data + cfg.l4_offset;
	__be16 sequence = bpf_htons((__u16)seq);

	if ((void *)(icmp + 1) > data_end)
		return -1;
	if (!cfg.ipv6)
		sum = 0; /* ICMPv4 has no pseudo header */
	icmp->un.echo.sequence = sequence;
	icmp->checksum = csum_fold(cfg.l4_csum_base + sum + sequence);
	return 0;
}

/* The template's headers, back over whatever the page holds. */
static __always_inline int restore_headers(void *data, void *data_end)
{
	int i;

#pragma unroll
	for (i = 0; i < FLGEN_HEADER_MAX / 8; i++) {
		__u64 *word = data + i * 8;

		if (i * 8 >= cfg.header_len)
			break;
		if ((void *)(word + 1) > data_end)
			return -1;
		*word = cfg.header[i];
	}
	if (cfg.tail_off) {
		__u64 *word = data + cfg.tail_off;

		if ((void *)(word + 1) > data_end)
			return -1;
		*word = cfg.tail;
	}
	return 0;
}

static __always_inline struct flgen_counter *sent_counter(void)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(&FLGEN_MAP_SENT, &key);
}

/* "Sent" is what this program hands to the driver: it counts exactly the
 * frames it returns XDP_TX for. */
static __always_inline int transmit(struct flgen_counter *sent, void *data,
				    void *data_end)
{
	sent->packets++;
	sent->bytes += data_end - data;
	return XDP_TX;
}

SEC("xdp")
int flgen_xdp(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct flgen_counter *sent = sent_counter();
	__u64 addr_sum;
	int err = -1;

	if (!sent)
		return XDP_ABORTED;
	if (restore_headers(data, data_end) ||
	    write_addresses(data, data_end, &addr_sum))
		return XDP_ABORTED;

	switch (cfg.kind) {
	case FLGEN_KIND_UDP:
		err = write_udp(data, data_end, addr_sum);
		break;
	case FLGEN_KIND_SYN:
	case FLGEN_KIND_ACK:
		err = write_tcp(data, data_end, addr_sum);
		break;
	case FLGEN_KIND_ICMP:
		err = write_icmp(data, data_end, addr_sum, sent->packets);
		break;
	}
	if (err)
		return XDP_ABORTED;
	return transmit(sent, data, data_end);
}

/* Replay: the frame is sent as userspace built it. */
SEC("xdp")
int flgen_replay(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct flgen_counter *sent = sent_counter();

	if (!sent)
		return XDP_ABORTED;
	return transmit(sent, data, data_end);
}

/* Sends nothing: lets flgen check that the kernel takes a frame size,
 * interface and queue for live frames before any thread starts. */
SEC("xdp")
int flgen_probe(struct xdp_md *ctx)
{
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
