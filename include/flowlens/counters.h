/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * API: per-interface counters, per CPU: FL_MAP_IF_FAST by slot for the
 * interfaces flowlensd attached to, FL_MAP_IF_STATS by ifindex for any
 * other (below).
 * The lists are X-macros so the BPF enum, the struct fields and the names
 * userspace prints come from one place.
 */
#ifndef FLOWLENS_COUNTERS_H
#define FLOWLENS_COUNTERS_H

#include "types.h"
#include "maps.h"

/* What the parser saw; a packet counts in every kind that applies. */
#define FL_KINDS(X)                     \
	X(non_ip, "non_ip")             \
	X(vlan, "vlan")                 \
	X(qinq, "qinq")                 \
	X(ipv4, "ipv4")                 \
	X(ipv4_options, "ipv4_options") \
	X(ipv6, "ipv6")                 \
	X(ipv6_ext, "ipv6_ext")         \
	X(fragment, "fragment")         \
	X(tcp, "tcp")                   \
	X(tcp_syn, "tcp_syn")           \
	X(udp, "udp")                   \
	X(icmp, "icmp")                 \
	X(icmpv6, "icmpv6")             \
	X(other_l4, "other_l4")         \
	X(malformed, "malformed")

/* Why a header was not trusted. Codes start at 1; 0 means parsed. */
#define FL_PARSE_ERRORS(X)                       \
	X(ETH_TRUNC, "eth_truncated")            \
	X(VLAN_TRUNC, "vlan_truncated")          \
	X(VLAN_DEPTH, "vlan_too_many_tags")      \
	X(IP4_TRUNC, "ipv4_truncated")           \
	X(IP4_VERSION, "ipv4_bad_version")       \
	X(IP4_HDRLEN, "ipv4_bad_header_length")  \
	X(IP4_TOTLEN, "ipv4_bad_total_length")   \
	X(IP6_TRUNC, "ipv6_truncated")           \
	X(IP6_VERSION, "ipv6_bad_version")       \
	X(IP6_PAYLEN, "ipv6_bad_payload_length") \
	X(IP6_EXT_TRUNC, "ipv6_ext_truncated")   \
	X(IP6_EXT_DEPTH, "ipv6_ext_too_many")    \
	X(TCP_TRUNC, "tcp_truncated")            \
	X(TCP_DOFF, "tcp_bad_data_offset")       \
	X(UDP_TRUNC, "udp_truncated")            \
	X(UDP_LEN, "udp_bad_length")             \
	X(ICMP_TRUNC, "icmp_truncated")

enum fl_parse_result {
	FL_PARSE_OK = 0,
#define FL_X_ENUM(id, name) FL_PERR_##id,
	FL_PARSE_ERRORS(FL_X_ENUM)
#undef FL_X_ENUM
		FL_PERR_END,
};
#define FL_PERR_COUNT (FL_PERR_END - 1)

/*
 * Why router mode handed a packet to the kernel instead of forwarding it.
 * The kernel then does what a router must (ARP/ND, ICMP errors, local
 * delivery), and once it has resolved a neighbour the next packet is fast.
 * BLACKHOLE..NO_SRC_ADDR are bpf_fib_lookup()'s failures 1..9, in its order.
 */
#define FL_FWD_PASS_REASONS(X)                                              \
	X(NOT_IP, "not_ip") /* ARP, LLDP, ... */                            \
	X(MALFORMED, "malformed") /* headers did not parse */               \
	X(VLAN, "vlan") /* tagged: the kernel's VLAN devices route it */    \
	X(NOT_UNICAST, "not_unicast") /* broadcast/multicast/link-local */  \
	X(IP6_HOPOPTS, "ipv6_hop_by_hop") /* every router must read them */ \
	X(TTL, "ttl_expiring") /* the kernel sends time exceeded */         \
	X(BLACKHOLE, "blackhole_route")                                     \
	X(UNREACHABLE, "unreachable_route")                                 \
	X(PROHIBIT, "prohibit_route")                                       \
	X(NOT_FORWARDED, "not_forwarded") /* local, broadcast, no route */  \
	X(FWD_DISABLED, "forwarding_disabled") /* sysctl forwarding=0 */    \
	X(UNSUPPORTED, "unsupported_route") /* lightweight tunnel */        \
	X(NO_NEIGH, "no_neighbour") /* kernel resolves ARP/ND */            \
	X(MTU, "mtu_exceeded") /* kernel fragments or sends an ICMP */      \
	X(NO_SRC_ADDR, "no_source_address")                                 \
	X(EGRESS, "egress_not_managed") /* not in the devmap */             \
	X(OTHER_HOST, "not_for_this_host") /* another unicast MAC */        \
	X(SYNPROXY, "synproxy") /* a SYN proxy service: netfilter's */

enum fl_fwd_pass_reason {
#define FL_X_ENUM(id, name) FL_FWD_PASS_##id,
	FL_FWD_PASS_REASONS(FL_X_ENUM)
#undef FL_X_ENUM
		FL_FWD_PASS_COUNT,
};

/*
 * Stages 6 and 7 (flow.h): the flow cache and escalation to the workers.
 *   flow_created            a packet created a CLASSIFYING entry
 *   flow_bypassed           a packet of a flow with a final verdict,
 *                           handled in XDP (counted in fl_app_stats too)
 *   escalated               redirected to the worker's AF_XDP socket
 * Packets of a flow being classified (or a VoIP flow) that were not
 * escalated, once per packet, by the reason:
 *   escalate_no_socket      no socket for the rx queue: fail open
 *   escalate_budget_spent   the flow had its escalate_tcp/udp packets
 *   escalate_not_forwarded  router mode: the FIB hands it to the kernel
 *   escalate_no_meta        the driver has no metadata area: fail open
 */
#define FL_FLOW_COUNTERS(X)                                 \
	X(flow_created, "flow_created")                     \
	X(flow_bypassed, "flow_bypassed")                   \
	X(escalated, "escalated")                           \
	X(escalate_no_socket, "escalate_no_socket")         \
	X(escalate_budget_spent, "escalate_budget_spent")   \
	X(escalate_not_forwarded, "escalate_not_forwarded") \
	X(escalate_no_meta, "escalate_no_meta")             \
	X(escalate_rate_limited, "escalate_rate_limited")

/* Indexed by XDP action: aborted, drop, pass, tx, redirect. */
#define FL_VERDICT_COUNT 5

struct fl_kind_counters {
#define FL_X_FIELD(field, name) __u64 field;
	FL_KINDS(FL_X_FIELD)
#undef FL_X_FIELD
};

struct fl_flow_counters {
#define FL_X_FIELD(field, name) __u64 field;
	FL_FLOW_COUNTERS(FL_X_FIELD)
#undef FL_X_FIELD
};

struct fl_if_stats {
	__u64 packets;
	__u64 bytes;
	__u64 verdict[FL_VERDICT_COUNT];
	struct fl_kind_counters kind;
	__u64 parse_error[FL_PERR_COUNT]; /* index: enum fl_parse_result - 1 */
	/* Router mode: forwarded is verdict[XDP_REDIRECT]; these were passed. */
	__u64 fwd_pass[FL_FWD_PASS_COUNT]; /* index: enum fl_fwd_pass_reason */
	__u64 allowlisted; /* source on the DDoS allowlist: no rule applied */
	struct fl_flow_counters flow; /* stages 6 and 7 */
};
_Static_assert(sizeof(struct fl_if_stats) % 8 == 0, "fl_if_stats layout");

/*
 * Where an interface's counters live. FL_MAP_IF_FAST is a per-CPU array:
 * slot ifindex % FL_IF_FAST_SLOTS holds the counters of the interface whose
 * ifindex is its owner - an array lookup and a compare, where a hash lookup
 * costs the common packet several ns more. flowlensd claims the slot when
 * it attaches (user/lib/ifstats.c: on every CPU, owner before anything
 * counts); the datapath never does. An interface whose slot another one
 * owns, or that nobody claimed a slot for (xdp-loader), is counted in
 * FL_MAP_IF_STATS under its ifindex, the entry created by its first packet
 * if need be. A reader adds both (fl_if_stats_read()), so a slot claimed
 * or lost between two reads loses nothing.
 */
struct fl_if_fast {
	__u32 ifindex; /* owner; 0: free */
	__u32 pad;
	struct fl_if_stats s;
};

#define FL_IF_FAST_SLOT(ifindex) ((__u32)(ifindex) % FL_IF_FAST_SLOTS)

#endif /* FLOWLENS_COUNTERS_H */
