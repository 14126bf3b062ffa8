/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * API: the SYN proxy (stage 5 of DESIGN.md).
 *
 * A protected service is an address and a TCP port. A SYN to it is answered
 * from XDP with a SYN-ACK whose sequence number is a kernel SYN cookie
 * (bpf_tcp_raw_gen_syncookie_ipv4/6), sent back with XDP_TX; the client's
 * wscale and SACK permission ride in the low bits of the timestamp, as the
 * kernel's own cookies carry them. An ACK with a valid cookie goes on to the
 * kernel, where nftables' synproxy statement (flowlensd installs it) opens
 * the connection to the real server; a connection conntrack already knows
 * passes straight through; anything else for the service is dropped.
 *
 * flowlensd fills FL_MAP_SYNPROXY and creates each service's zeroed
 * FL_MAP_SYNPROXY_STATS entry; the program only reads the first and counts
 * into the second. fl_config.synproxy_services is the number of services:
 * 0 skips the stage without a lookup.
 */
#ifndef FLOWLENS_SYNPROXY_H
#define FLOWLENS_SYNPROXY_H

#include "types.h"

#define FL_SYNPROXY_MAX 1024
#define FL_SYNPROXY_MSS_DEFAULT 1460
#define FL_SYNPROXY_WSCALE_DEFAULT 7
#define FL_SYNPROXY_WSCALE_MAX 14

/* HASH key of FL_MAP_SYNPROXY and FL_MAP_SYNPROXY_STATS. */
struct fl_synproxy_key {
	union fl_addr addr; /* IPv4 in addr.w[0], rest zero */
	__be16 port;
	__u8 family; /* 4 or 6 */
	__u8 pad[5]; /* zero */
};
_Static_assert(sizeof(struct fl_synproxy_key) == 24, "synproxy key layout");

/* What the SYN-ACK advertises: our MSS and window scale. */
struct fl_synproxy_conf {
	__u16 mss;
	__u8 wscale;
	__u8 pad;
};
_Static_assert(sizeof(struct fl_synproxy_conf) == 4, "synproxy conf layout");

/*
 * Per-service counters, per CPU. Names as flctl prints them:
 *   syns_seen           SYNs (no ACK) to the service
 *   synacks_sent        answered with a cookie SYN-ACK (XDP_TX)
 *   cookies_valid       ACKs whose cookie checked out: passed to the kernel
 *   cookies_invalid     neither SYN nor known connection nor valid cookie:
 *                       dropped
 *   passed_established  packets of connections conntrack knows: passed
 *   bad_checksum        SYNs with a wrong IPv4 or TCP checksum, IPv6 ACKs
 *                       with a wrong TCP checksum: dropped
 *   passed_to_kernel    SYNs the program could not answer (the frame could
 *                       not be resized): left to nftables' synproxy
 */
#define FL_SYNPROXY_COUNTERS(X)                     \
	X(SYNS_SEEN, "syns_seen")                   \
	X(SYNACKS_SENT, "synacks_sent")             \
	X(COOKIES_VALID, "cookies_valid")           \
	X(COOKIES_INVALID, "cookies_invalid")       \
	X(PASSED_ESTABLISHED, "passed_established") \
	X(BAD_CHECKSUM, "bad_checksum")             \
	X(PASSED_TO_KERNEL, "passed_to_kernel")

enum fl_synproxy_counter {
#define FL_X_ENUM(id, name) FL_SP_##id,
	FL_SYNPROXY_COUNTERS(FL_X_ENUM)
#undef FL_X_ENUM
		FL_SP_COUNT,
};

/*
 * IPv6 and nftables' synproxy: nft_synproxy checks an IPv6 packet's TCP
 * checksum with the IPv4 function (nf_ip_checksum), which only comes out
 * right when the checksum was already verified (CHECKSUM_UNNECESSARY, as
 * most NICs report). A frame passed from XDP arrives unverified
 * (CHECKSUM_NONE), so the client's ACK would be dropped. The program checks
 * the ACK's checksum itself and leaves FL_META_CSUM_OK in the XDP metadata
 * in front of the frame; bpf/flowlens_tc.bpf.c, on tc ingress, then tells
 * the stack the checksum is verified (bpf_csum_level()).
 */
#define FL_META_CSUM_OK 0x464c4331 /* "FLC1" */

struct fl_synproxy_stats {
	__u64 c[FL_SP_COUNT];
};

#endif /* FLOWLENS_SYNPROXY_H */
