/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * API: per-IP accounting (stage 2 of DESIGN.md).
 *
 * Every packet updates a per-CPU count-min sketch, one for sources and one
 * for destinations: FL_SKETCH_ROWS rows of FL_SKETCH_COLS cells, each cell
 * counting packets, bytes and SYNs. The sketch has a fixed size and is never
 * inserted into, so a spoofed flood costs it nothing extra. Cells are tagged
 * with an epoch (CLOCK_MONOTONIC_COARSE >> FL_EPOCH_SHIFT, about 1.07 s;
 * bpf_ktime_get_coarse_ns() on the BPF side) and restart at zero
 * when a new epoch touches them, so the sketch estimates a rate with no
 * help from userspace.
 *
 * An address gets exact counters (LRU maps, one per family) when it falls in
 * a protected prefix, or when the sketch flags it as a heavy hitter: its
 * estimate for the epoch on this CPU reaches the configured threshold *and*
 * at least twice the average cell load (2 * total / FL_SKETCH_COLS). The
 * second condition keeps the sketch's own over-estimate, which grows with
 * the total load, from flagging every address of a large spoofed flood.
 */
#ifndef FLOWLENS_ACCOUNT_H
#define FLOWLENS_ACCOUNT_H

#include "types.h"

#define FL_SKETCH_ROWS 4
#define FL_SKETCH_COLS_SHIFT 11
#define FL_SKETCH_COLS (1U << FL_SKETCH_COLS_SHIFT)
#define FL_EPOCH_SHIFT 30

enum fl_side {
	FL_SIDE_SRC = 0, /* what an address sent */
	FL_SIDE_DST = 1, /* what an address received */
	FL_SIDE_COUNT,
};

/* Sketch map layout: [side][row][col] cells, then one cell of CPU totals. */
#define FL_SKETCH_CELLS (FL_SIDE_COUNT * FL_SKETCH_ROWS * FL_SKETCH_COLS)
#define FL_SKETCH_TOTAL FL_SKETCH_CELLS
#define FL_SKETCH_ENTRIES (FL_SKETCH_CELLS + 1)

struct fl_sketch_cell {
	__u32 epoch;
	__u32 packets;
	__u32 syns;
	__u32 pad;
	__u64 bytes;
};
_Static_assert(sizeof(struct fl_sketch_cell) == 24, "sketch cell layout");

/* Exact per-IP counters. */
struct fl_ip4_key {
	__u8 addr[4];
};

struct fl_ip6_key {
	__u8 addr[16];
};

struct fl_traffic {
	__u64 packets;
	__u64 bytes;
	__u64 syns;
};

/* Why an address has exact counters (bits, OR-ed over CPUs). */
#define FL_TRACK_PROTECTED 0x1
#define FL_TRACK_HEAVY 0x2

/* What an address received, by kind: the DDoS engine's per-protocol
 * thresholds. A fragment counts in its protocol and in FL_RX_FRAG. */
enum fl_rx_class {
	FL_RX_TCP = 0,
	FL_RX_UDP = 1,
	FL_RX_ICMP = 2, /* ICMP and ICMPv6 */
	FL_RX_FRAG = 3,
	FL_RX_COUNT,
};

struct fl_ip_stats {
	struct fl_traffic side[FL_SIDE_COUNT]; /* indexed by enum fl_side */
	__u64 last_seen_ns; /* CLOCK_MONOTONIC_COARSE */
	__u32 reason; /* FL_TRACK_* */
	/* Per-CPU maps give every other CPU a zeroed copy of a new entry:
	 * non-zero once this CPU's copy has its own reason (protected). */
	__u32 checked;
	__u64 rx_packets[FL_RX_COUNT]; /* indexed by enum fl_rx_class */
	__u64 rx_bytes[FL_RX_COUNT];
};
_Static_assert(sizeof(struct fl_ip_stats) == 128, "fl_ip_stats layout");

/*
 * Packet samples for the DDoS engine's attack signatures. A packet to a
 * protected address is sampled with probability 1 / fl_config.sample_rate
 * (a power of two; 0 turns sampling off), and each CPU sends at most
 * FL_SAMPLE_BUDGET samples per FL_SAMPLE_SLOT_SHIFT slot of the coarse
 * clock (about 67 ms), so a flood the rate was not yet adapted to cannot
 * fill the ring buffer or cost more than that. flowlensd adapts the rate
 * every tick to the protected traffic it sees.
 */
#define FL_SAMPLES_SIZE (1U << 22) /* ring buffer bytes */
#define FL_SAMPLE_BUDGET 1024
#define FL_SAMPLE_SLOT_SHIFT 26

struct fl_sample {
	union fl_addr src, dst;
	__u16 sport, dport; /* host order; 0 without ports */
	__u16 len; /* frame length */
	__u8 family; /* 4 or 6 */
	__u8 proto;
	__u8 tcp_flags;
	__u8 frag; /* non-zero for a fragment */
	__u8 pad[6];
};
_Static_assert(sizeof(struct fl_sample) == 48, "fl_sample layout");

struct fl_sample_quota {
	__u32 slot; /* coarse clock >> FL_SAMPLE_SLOT_SHIFT */
	__u32 used;
};

/* The DDoS allowlist (LPM tries, same keys as the protected prefixes):
 * a packet whose source is in it skips every mitigation stage. */
struct fl_allow {
	/* A VoIP carrier's slot + 1 in FL_MAP_ALLOW_HITS, where its packets
	 * are counted; 0: not counted (flctl ddos allow) */
	__u32 carrier;
};

/* Protected prefixes (LPM tries). */
struct fl_lpm4_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct fl_lpm6_key {
	__u32 prefixlen;
	__u8 addr[16];
};

struct fl_protect {
	__u32 flags; /* reserved for per-prefix policy; 0 today */
};

/*
 * The sketch hash. Both sides must agree on it (userspace reads the sketch
 * and the unit tests check cell placement), so it lives here. murmur3's
 * 64-bit finaliser over the seeded address; each row takes its own
 * FL_SKETCH_COLS_SHIFT bits of the result.
 */
static inline __u64 fl_hash_fmix64(__u64 h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static inline __u64 fl_hash_addr(__u64 seed, const union fl_addr *addr,
				 int is_ipv6)
{
	if (!is_ipv6)
		return fl_hash_fmix64(seed ^ (__u64)addr->w[0]);
	return fl_hash_fmix64(
		fl_hash_fmix64(seed ^ addr->q[0] ^ 0x6000000000000000ULL) ^
		addr->q[1]);
}

static inline __u32 fl_sketch_index(enum fl_side side, __u32 row, __u64 hash)
{
	__u32 col = (hash >> (row * FL_SKETCH_COLS_SHIFT)) &
		    (FL_SKETCH_COLS - 1);

	return (side * FL_SKETCH_ROWS + row) * FL_SKETCH_COLS + col;
}

#endif /* FLOWLENS_ACCOUNT_H */
