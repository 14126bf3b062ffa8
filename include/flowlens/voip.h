/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * API: VoIP protection at the driver (the SIP stage, bpf/voip.h).
 *
 * For UDP datagrams and TCP segments from or to a SIP port (fl_voip_conf,
 * default 5060), the first payload bytes name the request method or the
 * response class. Every such packet is counted per CPU in
 * FL_MAP_SIP_TOTALS; one towards a prefix flowlensd protects (FL_MAP_VOIP4/6,
 * `flctl voip threshold`) is also counted exactly for its destination, and
 * for its source once a count-min sketch of that prefix's senders
 * (FL_MAP_SIP_SKETCH, no inserts) says the source sends enough to matter:
 * a spoofed flood from random sources never makes the program insert state
 * per packet, the same way the DDoS engine's accounting works (account.h).
 *
 * What flowlensd does about a flood goes two ways: rules in the rule engine
 * for single sources (source, prefix and SIP port), and method limiters
 * (FL_MAP_SIP_LIMIT) for a host flooded by many sources, each under its
 * limit: only that method, only that host, and never a carrier's packets
 * (allowlisted sources skip the SIP stage's enforcement as they skip every
 * other mitigation).
 */
#ifndef FLOWLENS_VOIP_H
#define FLOWLENS_VOIP_H

#include "types.h"

/* Request methods, and the line that names them; index = enum value. */
#define FL_SIP_METHODS(X)                      \
	X(INVITE, "invite", "INVITE")          \
	X(REGISTER, "register", "REGISTER")    \
	X(OPTIONS, "options", "OPTIONS")       \
	X(BYE, "bye", "BYE")                   \
	X(CANCEL, "cancel", "CANCEL")          \
	X(ACK, "ack", "ACK")                   \
	X(SUBSCRIBE, "subscribe", "SUBSCRIBE") \
	X(NOTIFY, "notify", "NOTIFY")          \
	X(MESSAGE, "message", "MESSAGE")       \
	X(INFO, "info", "INFO")                \
	X(PRACK, "prack", "PRACK")             \
	X(UPDATE, "update", "UPDATE")          \
	X(REFER, "refer", "REFER")             \
	X(PUBLISH, "publish", "PUBLISH")

enum fl_sip_method {
#define FL_X_SIP(id, name, wire) FL_SIP_##id,
	FL_SIP_METHODS(FL_X_SIP)
#undef FL_X_SIP
		FL_SIP_METHOD_COUNT, /* 14 */
};

/* What the SIP stage counts: the methods above, then the responses by
 * class (1xx..6xx), then "other": a packet to or from a SIP port whose
 * payload is neither (keep-alives, fragments of a TCP stream, junk). */
#define FL_SIP_RESP_1XX FL_SIP_METHOD_COUNT /* 14: 1xx .. 19: 6xx */
#define FL_SIP_OTHER (FL_SIP_RESP_1XX + 6) /* 20 */
#define FL_SIP_KINDS 21
#define FL_SIP_KIND_NONE 0xff /* not a SIP port's packet */

#define FL_SIP_PORTS_MAX 8

/* ARRAY[1] FL_MAP_VOIP_CONF, written by flowlensd; all zero (the program
 * loaded by hand) means port 5060 and no sketch threshold. */
struct fl_voip_conf {
	__u16 ports[FL_SIP_PORTS_MAX]; /* host order; 0 ends the list */
	/* A source gets exact counters once the sketch puts its SIP packets
	 * towards one protected prefix, this epoch on this CPU, above this
	 * many by twice the average cell or more. */
	__u32 heavy_packets;
	__u32 pad;
	__u64 hash_seed;
};
_Static_assert(sizeof(struct fl_voip_conf) == 32, "fl_voip_conf layout");

/* LPM_TRIE value of FL_MAP_VOIP4/6: a protected prefix's slot, which
 * flowlensd uses to find the thresholds that apply. */
struct fl_voip_prefix {
	__u32 slot;
};

#define FL_VOIP_PREFIXES_MAX 1024

enum fl_sip_side {
	FL_SIP_SIDE_SRC = 0, /* what an address sent towards the prefix */
	FL_SIP_SIDE_DST = 1, /* what a protected host received */
};

/* LRU_PERCPU_HASH FL_MAP_SIP_STATS key: an address, the side it is
 * counted on and the protected prefix's slot. */
struct fl_sip_key {
	union fl_addr addr;
	__u32 slot;
	__u8 family; /* 4 or 6 */
	__u8 side; /* enum fl_sip_side */
	__u16 pad;
};
_Static_assert(sizeof(struct fl_sip_key) == 24, "fl_sip_key layout");

struct fl_sip_stats {
	__u64 kinds[FL_SIP_KINDS]; /* packets, by method/response class */
	__u64 bytes;
	__u64 last_seen_ns; /* CLOCK_MONOTONIC_COARSE */
};
_Static_assert(sizeof(struct fl_sip_stats) == 184, "fl_sip_stats layout");

#define FL_SIP_STATS_MAX 32768

/* PERCPU_ARRAY[1] FL_MAP_SIP_TOTALS: every SIP-port packet the program saw,
 * by kind, protected or not (and what the limiters dropped). */
struct fl_sip_totals {
	__u64 kinds[FL_SIP_KINDS];
	__u64 protected_packets; /* towards a protected prefix */
	__u64 tracked_sources; /* exact source entries created */
	__u64 limited[FL_SIP_METHOD_COUNT]; /* dropped by a method limiter */
	__u64 bad_tcp; /* TCP header too short to find the payload */
};

/* The per-source sketch: rows x cols cells per CPU, then one total. */
#define FL_SIP_SKETCH_ROWS 4
#define FL_SIP_SKETCH_COLS_SHIFT 10
#define FL_SIP_SKETCH_COLS (1U << FL_SIP_SKETCH_COLS_SHIFT)
#define FL_SIP_SKETCH_TOTAL (FL_SIP_SKETCH_ROWS * FL_SIP_SKETCH_COLS)
#define FL_SIP_SKETCH_ENTRIES (FL_SIP_SKETCH_TOTAL + 1)

struct fl_sip_cell {
	__u32 epoch; /* as the DDoS sketch's (account.h) */
	__u32 packets;
};

/* HASH FL_MAP_SIP_LIMIT: a method limiter on one protected host (GCRA,
 * the policers' algorithm, bpf/gcra.h). */
struct fl_sip_limit_key {
	union fl_addr addr;
	__u8 family;
	__u8 method; /* enum fl_sip_method */
	__u16 pad;
	__u32 pad2;
};
_Static_assert(sizeof(struct fl_sip_limit_key) == 24,
	       "fl_sip_limit_key layout");

struct fl_sip_limit {
	__u64 tat; /* theoretical arrival time, ns */
	__u64 cost; /* ns per packet: 1e9 / rate */
	__u64 depth; /* burst, ns */
	__u64 passed; /* atomics: what the limiter let through ... */
	__u64 dropped; /* ... and dropped */
	__u32 attack; /* the attack that installed it */
	__u32 pad;
};
_Static_assert(sizeof(struct fl_sip_limit) == 48, "fl_sip_limit layout");

#define FL_SIP_LIMITS_MAX 4096

#endif /* FLOWLENS_VOIP_H */
