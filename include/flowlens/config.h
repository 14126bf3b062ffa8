/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * API: runtime settings, one struct fl_config in the FL_MAP_CONFIG array.
 * flowlensd writes it; an all-zero entry (the program loaded by hand with
 * xdp-loader) means "defaults", so the program never depends on the daemon.
 */
#ifndef FLOWLENS_CONFIG_H
#define FLOWLENS_CONFIG_H

#include "types.h"

/*
 * Deployment modes, and their names on the command line:
 *   host     XDP_PASS to the local stack
 *   router   bpf_fib_lookup + XDP_REDIRECT to the egress interface
 *   monitor  SPAN port: account, then XDP_DROP
 */
#define FL_MODES(X)         \
	X(HOST, "host")     \
	X(ROUTER, "router") \
	X(MONITOR, "monitor")

enum fl_mode {
#define FL_X_ENUM(id, name) FL_MODE_##id,
	FL_MODES(FL_X_ENUM)
#undef FL_X_ENUM
		FL_MODE_MAX,
};

/* What happens to a packet whose headers do not parse. */
enum fl_malformed_policy {
	FL_MALFORMED_PASS = 0,
	FL_MALFORMED_DROP = 1,
};

/* Operator-facing defaults for heavy-hitter tracking (see account.h). */
#define FL_HEAVY_PPS_DEFAULT 1000ULL
#define FL_HEAVY_BPS_DEFAULT 10000000ULL
/* What the BPF side assumes while nobody has written the config. */
#define FL_HEAVY_PACKETS_UNSET 1000
#define FL_HEAVY_BYTES_UNSET 1250000ULL

struct fl_config {
	__u32 mode; /* enum fl_mode */
	__u32 malformed_policy; /* enum fl_malformed_policy */
	__u64 hash_seed; /* sketch hash seed, random per installation */
	__u64 heavy_pps; /* a source/destination above this is tracked */
	__u64 heavy_bps; /* ... or above this many bits per second */
	/* Derived by flowlensd from the two above: per CPU, per sketch epoch. */
	__u64 heavy_packets;
	__u64 heavy_bytes;
	/* Sample one in this many packets to protected addresses for the
	 * DDoS engine (a power of two); 0: no sampling. See account.h. */
	__u32 sample_rate;
	/* Services in FL_MAP_SYNPROXY; 0 skips stage 5 (synproxy.h). */
	__u32 synproxy_services;
	/* Stage 7 (flow.h): most packets of one flow escalated to a worker
	 * while it is classified; 0: FL_ESCALATE_*_DEFAULT. */
	__u16 escalate_tcp;
	__u16 escalate_udp;
	__u32 escalate_flags; /* FL_ESCALATE_F_* */
	/* Packets each CPU may escalate per second, all flows together;
	 * beyond it they fail open (see flowcache.h). 0: the default. */
	__u32 escalate_pps;
	/* Prefixes in FL_MAP_ALLOW4 and FL_MAP_ALLOW6, kept by flowlensd;
	 * 0 skips stage 3 without a lookup (allow.h). */
	__u32 allow_prefixes;
	/* Bumped by flowlensd when the protected prefixes change: a flow
	 * accounted in batches learns again whether an address of its has
	 * exact counters (fl_flow.acct_gen, account.h). */
	__u32 track_gen;
	/* Non-zero while flowlensd runs the SIP stage (<flowlens/voip.h>):
	 * 0 skips it without a lookup. */
	__u32 voip;
};
_Static_assert(sizeof(struct fl_config) == 80, "fl_config layout");

/* A worker classifies about 100k new flows a second on one core of the
 * reference VM (make bench); two CPUs at this rate stay well under it. */
#define FL_ESCALATE_PPS_DEFAULT 20000
#define FL_ESCALATE_PPS_MAX 10000000 /* flctl config set escalate-pps */
/* ... and at most this many in a burst: half a worker's rx ring. */
#define FL_ESCALATE_BURST 512

/* fl_config.escalate_flags */
#define FL_ESCALATE_F_OFF 0x01 /* no workers: no flow is escalated */
#define FL_ESCALATE_F_VOIP 0x02 /* keep escalating SIP/RTP/RTCP flows */

/* A router port's MAC (FL_MAP_PORT_MACS). */
struct fl_port_mac {
	__u8 addr[6];
	__u16 pad;
};
_Static_assert(sizeof(struct fl_port_mac) == 8, "fl_port_mac layout");

#endif /* FLOWLENS_CONFIG_H */
