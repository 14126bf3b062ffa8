/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * API: the flow cache (stage 6) and escalation to the workers (stage 7).
 *
 * A flow is keyed by its 5-tuple in a canonical order - the lower
 * (address, port) endpoint first - so both directions find one entry.
 * fl_flow_key_make() is the one place that order is decided; the BPF
 * program and the workers (live and in `flowlensd replay`) all call it,
 * and fl_flow_hash() is the hash both sides use, so a worker reads the
 * hash from the packet's metadata instead of computing it again.
 *
 * Life of a flow in FL_MAP_FLOWS (an LRU hash: a flood of new flows evicts
 * the oldest entries, it never fails an insert):
 *   no entry       TCP without payload (a handshake creates no state, so a
 *                  SYN flood costs the cache and the workers nothing)
 *   CLASSIFYING    created by the first payload packet; every packet is
 *                  escalated until the worker's verdict or the budget
 *                  (escalate_tcp / escalate_udp packets) runs out
 *   CLASSIFIED     verdict written by a worker: app, master, category,
 *                  risk; FL_FLOW_F_BYPASS set, nothing is escalated again
 *   GAVE_UP        the worker found nothing (or nDPI guessed): bypassed too
 * FL_FLOW_F_VOIP keeps a classified SIP/RTP/RTCP flow escalated while
 * the VoIP features ask for it (fl_config.escalate_voip).
 */
#ifndef FLOWLENS_FLOW_H
#define FLOWLENS_FLOW_H

#include "types.h"

#ifdef __VMLINUX_H__
#define FL_FLOW_INLINE static __always_inline
#else
#define FL_FLOW_INLINE static inline
#endif

#define FL_FLOWS_MAX 131072
/* fl_app_stats is indexed by app id (the master's when app is 0). */
#define FL_APPS_MAX 1024

struct fl_app_stats {
	__u64 packets;
	__u64 bytes;
};

/* Escalation budgets when fl_config leaves them 0: ndpiReader's limits
 * (packets of a flow nDPI looks at before it gives up). */
#define FL_ESCALATE_TCP_DEFAULT 80
#define FL_ESCALATE_UDP_DEFAULT 24
/* Other IP protocols (ICMP, ESP, GRE, ...): nDPI decides on the first. */
#define FL_ESCALATE_OTHER 4

enum fl_flow_state {
	FL_FLOW_NEW = 0,
	FL_FLOW_CLASSIFYING = 1,
	FL_FLOW_CLASSIFIED = 2,
	FL_FLOW_GAVE_UP = 3,
};

#define FL_FLOW_F_BYPASS 0x01 /* verdict final: handled in XDP only */
#define FL_FLOW_F_VOIP 0x02 /* SIP/RTP/RTCP: escalated if escalate_voip */
#define FL_FLOW_F_LO_CLIENT 0x04 /* the first packet came from key.lo */

struct fl_flow_key {
	union fl_addr lo; /* the lower (address, port) endpoint */
	union fl_addr hi;
	__be16 lo_port; /* 0 for protocols without ports */
	__be16 hi_port;
	__u8 proto; /* IP protocol */
	__u8 family; /* 4 or 6 */
	__u16 pad; /* zero */
};
_Static_assert(sizeof(struct fl_flow_key) == 40, "fl_flow_key layout");

struct fl_flow {
	__u64 last_seen; /* bpf_ktime_get_coarse_ns() of the last packet:
			   CLOCK_MONOTONIC_COARSE, a tick behind at most
			   (read once per tick: seen_tick) */
	__u64 first_seen; /* the same clock when the entry was created */
	/* [dir]: 0 from key.lo, 1 from key.hi; every packet since the entry
	 * was created (a TCP flow's entry: at its first payload). Frame
	 * bytes. What an IPFIX record reports, per direction. */
	__u64 packets[2];
	__u64 bytes[2];
	__u64 risk; /* nDPI's risk bitmap (ndpi_risk) */
	__u16 app; /* nDPI app protocol id; 0 unknown */
	__u16 master; /* nDPI master protocol id; 0 none */
	__u16 category; /* ndpi_protocol_category_t */
	__u8 state; /* enum fl_flow_state */
	__u8 flags; /* FL_FLOW_F_* */
	__u32 escalated; /* packets sent to a worker */
	/* Stage 2's batch (bpf/account.h): packets of this flow not yet in
	 * the sketch and per-IP counters. Only the datapath writes them. */
	__u16 acct_packets;
	__u8 acct_flags; /* FL_FLOW_ACCT_* */
	__u8 tcp_flags; /* every TCP packet's flags, ORed (FIN, RST: the
			   exporter's end of flow) */
	__u32 acct_bytes;
	__u16 acct_gen; /* fl_config.track_gen's low bits when acct_flags
			   was learnt */
	/* The low bits of the kernel's jiffies when last_seen was read:
	 * a packet in the same tick has nothing newer to write, and skips the
	 * clock's helper call (bpf_jiffies64() is inlined). Equal again after
	 * 65536 ticks (4.4 min at HZ 250): a packet after exactly that long
	 * a silence leaves last_seen to the flow's next packet. */
	__u16 seen_tick;
	/* Of the packet that created the entry, for the flow's records: */
	__u32 ifindex; /* the interface it arrived on */
	__u16 vlan; /* its outer VLAN id; 0 untagged */
	__u8 dscp;
	__u8 pad;
	/* Its policy in each direction ([dir] as packets[]): a slot in
	 * FL_MAP_POLICIES (policy.h), 0 none. Written with the verdict and
	 * whenever the policies change, by flowlensd only. */
	__u16 policy[2];
	__u32 pad2;
};
_Static_assert(sizeof(struct fl_flow) == 96, "fl_flow layout");

/* Both directions' packets and bytes of an entry. */
FL_FLOW_INLINE __u64 fl_flow_packets(const struct fl_flow *f)
{
	return f->packets[0] + f->packets[1];
}

FL_FLOW_INLINE __u64 fl_flow_bytes(const struct fl_flow *f)
{
	return f->bytes[0] + f->bytes[1];
}

/*
 * A flow with a final verdict (stage 6 lets its packets through) is
 * accounted in batches: its packets are added up in the entry and go to
 * the sketch and the per-IP counters FL_ACCT_BATCH at a time, so most of
 * them cost stage 2 nothing but two adds in a cache line stage 6 reads
 * anyway. A SYN, a fragment, or a flow with an address that has exact
 * counters (FL_FLOW_ACCT_EXACT, learnt at a flush) is accounted packet
 * by packet; so is the next packet of a flow whose acct_gen is not
 * fl_config.track_gen (flowlensd bumps it when the protected prefixes
 * change), which learns the flag afresh. What a flow that goes idle leaves in its batch (fewer than
 * FL_ACCT_BATCH packets) is never counted per address; the flow's own
 * packets and bytes are.
 */
#define FL_ACCT_BATCH 16
#define FL_FLOW_ACCT_EXACT 0x01 /* an address has exact counters */

/* What happens to an escalated packet once the worker has seen it. */
enum fl_xsk_action {
	FL_XSK_TX = 1, /* router: send on ifindex_out (MACs, TTL done) */
	FL_XSK_PASS = 2, /* host: hand back to the local stack */
	FL_XSK_CONSUME = 3, /* monitor: nothing to send */
};

/*
 * In the XDP metadata area, right in front of an escalated frame (the
 * area takes up to 32 bytes, in 4-byte units). It carries everything the
 * worker would otherwise parse again: where the IP and L4 headers start
 * and the L4 protocol - found by the program's own walk over IPv6
 * extension headers (ipv6.h) - so fl_flow_key_from_meta() rebuilds the
 * very key XDP used without reading a single extension header.
 */
struct fl_xsk_meta {
	__u32 hash; /* fl_flow_hash() of the flow's key */
	__u32 ifindex_out; /* FL_XSK_TX: the FIB's egress interface */
	__u16 l3_off; /* IP header's offset in the frame */
	__u16 l4_off; /* L4 header's offset in the frame */
	__u8 dir; /* 0: the packet's source is key.lo; 1: key.hi */
	__u8 action; /* enum fl_xsk_action */
	__u8 state; /* the flow's state when escalated */
	__u8 flags; /* the flow's FL_FLOW_F_* */
	__u8 l4_proto; /* IP protocol: the key's proto */
	__u8 pad[3];
	__u32 magic; /* FL_XSK_META_MAGIC: the area was written by us */
};
_Static_assert(sizeof(struct fl_xsk_meta) == 24, "fl_xsk_meta layout");
_Static_assert(sizeof(struct fl_xsk_meta) % 4 == 0 &&
		       sizeof(struct fl_xsk_meta) <= 32,
	       "fl_xsk_meta fits the XDP metadata area");
#define FL_XSK_META_MAGIC 0x464c5832 /* "FLX2": with l4_off and l4_proto */

/*
 * Fill *key from one packet's addresses and ports (network order; IPv4 in
 * b[0..3], the rest of each union zero) and return the direction: 0 if
 * the source became key->lo, 1 if it became key->hi. The order compares
 * the words as they lie in memory: only its consistency matters.
 */
FL_FLOW_INLINE int fl_flow_key_make(struct fl_flow_key *key,
				    const union fl_addr *src,
				    const union fl_addr *dst, __be16 sport,
				    __be16 dport, __u8 proto, __u8 family)
{
	int swap = 0, i;

	for (i = 0; i < 4; i++) {
		if (src->w[i] != dst->w[i]) {
			swap = src->w[i] > dst->w[i];
			goto decided;
		}
	}
	swap = sport > dport;
decided:
	/* 64-bit copies, one branch: the XDP program makes a key for
	 * every packet, and selects per field cost it a few ns. */
	if (swap) {
		const union fl_addr *t = src;
		__be16 p = sport;

		src = dst;
		dst = t;
		sport = dport;
		dport = p;
	}
	key->lo.q[0] = src->q[0];
	key->lo.q[1] = src->q[1];
	key->hi.q[0] = dst->q[0];
	key->hi.q[1] = dst->q[1];
	key->lo_port = sport;
	key->hi_port = dport;
	key->proto = proto;
	key->family = family;
	key->pad = 0;
	return swap;
}

/* A 32-bit hash of the 10 words of a key (multiply-xorshift rounds). */
FL_FLOW_INLINE __u32 fl_flow_hash(const struct fl_flow_key *key)
{
	const __u32 *w = (const __u32 *)key;
	__u64 h = 0x9e3779b97f4a7c15ULL;
	int i;

	for (i = 0; i < (int)(sizeof(*key) / 4); i++) {
		h ^= w[i];
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	return (__u32)h;
}

/*
 * The flow key of an escalated frame of @len bytes, from its metadata:
 * addresses at l3_off (the IP version there says which), ports at l4_off
 * for TCP and UDP, the protocol from l4_proto - the key XDP made, with no
 * header parsed again. Returns 0, or -1 if the metadata does not fit the
 * frame (not one the program wrote).
 */
FL_FLOW_INLINE int fl_flow_key_from_meta(struct fl_flow_key *key,
					 const struct fl_xsk_meta *meta,
					 const __u8 *frame, __u32 len)
{
	union fl_addr src = {}, dst = {};
	__be16 sport = 0, dport = 0;
	__u32 l3 = meta->l3_off, l4 = meta->l4_off, alen, i;
	__u8 family;

	if (meta->magic != FL_XSK_META_MAGIC || l3 >= len || l4 < l3 ||
	    l4 > len)
		return -1;
	family = frame[l3] >> 4;
	if (family == 4 && l4 - l3 >= 20) {
		l3 += 12; /* saddr, then daddr */
		alen = 4;
	} else if (family == 6 && l4 - l3 >= 40) {
		l3 += 8;
		alen = 16;
	} else {
		return -1;
	}
	for (i = 0; i < alen; i++) {
		src.b[i] = frame[l3 + i];
		dst.b[i] = frame[l3 + alen + i];
	}
	if (meta->l4_proto == 6 || meta->l4_proto == 17) { /* TCP, UDP */
		if (len - l4 < 4)
			return -1;
		/* as they lie in the frame: network order */
		((__u8 *)&sport)[0] = frame[l4];
		((__u8 *)&sport)[1] = frame[l4 + 1];
		((__u8 *)&dport)[0] = frame[l4 + 2];
		((__u8 *)&dport)[1] = frame[l4 + 3];
	}
	fl_flow_key_make(key, &src, &dst, sport, dport, meta->l4_proto, family);
	return 0;
}

#endif /* FLOWLENS_FLOW_H */
