/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * API: what flgen's BPF programs and flgen share.
 *   struct flgen_config  - the per-packet rewrite, set in .rodata before load
 *   struct flgen_counter - frames handed to the driver (per CPU)
 *   FLGEN_MAP_*          - map names, identifiers on the BPF side and
 *                          stringified in userspace
 *
 * Addresses are four 32-bit words in host order; an IPv4 address uses
 * word 0 only. Each word is base + a uniform draw from [0, count): count 1
 * keeps it fixed, 2^32 makes it fully random. A prefix is therefore fixed
 * words, at most one partly random word, then fully random ones; an A-B
 * range differs from its base in one word only.
 */
#ifndef FLGEN_COMMON_KERN_USER_H
#define FLGEN_COMMON_KERN_USER_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* PERCPU_ARRAY[1]: struct flgen_counter, frames returned as XDP_TX */
#define FLGEN_MAP_SENT flgen_sent
/* PERCPU_ARRAY[1]: struct flgen_counter, frames the sink saw */
#define FLGEN_MAP_SINK flgen_sink_seen

enum flgen_kind {
	FLGEN_KIND_UDP = 1,
	FLGEN_KIND_SYN,
	FLGEN_KIND_ACK,
	FLGEN_KIND_ICMP, /* echo request: ICMP for IPv4, ICMPv6 for IPv6 */
};

struct flgen_addr_range {
	__u32 base[4];
	__u64 count[4];
};

struct flgen_port_range {
	__u32 base;
	__u32 count; /* 1..65536 */
};

/* Template bytes the program writes back into every frame, in 8-byte
 * words: enough for Ethernet + IPv6 + TCP. */
#define FLGEN_HEADER_MAX 80

struct flgen_config {
	__u32 kind; /* enum flgen_kind */
	__u32 ipv6; /* 0: IPv4, 1: IPv6 */
	__u32 l4_offset; /* from the start of the frame */
	/*
	 * One's complement sums (unfolded, of the frame's 16-bit words as
	 * loaded in host order) of the IPv4 header and of the L4 pseudo
	 * header, header and payload, each with every field the program
	 * writes taken as zero. The program adds what it writes and folds.
	 */
	__u32 ip_csum_base;
	__u32 l4_csum_base;
	__u32 pad;
	struct flgen_addr_range src;
	struct flgen_addr_range dst;
	struct flgen_port_range sport;
	struct flgen_port_range dport;
	/*
	 * The template's first header_len bytes (a multiple of 8). A frame is
	 * passed on by reference: a router downstream (FlowLens, the kernel)
	 * rewrites its MACs and TTL in place, and the page comes back to the
	 * live-frame pool that way. Restoring them on every run keeps a
	 * recycled frame from arriving with TTL 1 after 63 trips.
	 */
	__u32 header_len;
	/* A frame up to FLGEN_HEADER_MAX long is restored whole: the 8
	 * bytes before its end (offset tail_off, 0: none) go back too, since a
	 * receiver may rewrite the frame entirely (FlowLens' SYN proxy turns
	 * a SYN into its SYN-ACK in place). */
	__u32 tail_off;
	__u64 header[FLGEN_HEADER_MAX / 8];
	__u64 tail;
};

struct flgen_counter {
	__u64 packets;
	__u64 bytes;
};

#endif /* FLGEN_COMMON_KERN_USER_H */
