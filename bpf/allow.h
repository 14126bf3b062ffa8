/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * API: allowlisted() - stage 3 of DESIGN.md.
 *
 * Carrier and trusted prefixes (flctl ddos allow): a packet whose source is
 * in them skips every mitigation stage, the operator's rules and the DDoS
 * engine's alike. It is still parsed and accounted. One LPM lookup per
 * packet, the trie of the packet's family - none while nothing is
 * allowlisted (fl_config.allow_prefixes, kept by flowlensd: whoever
 * fills the tries by hand sets it too).
 */
#ifndef FLOWLENS_BPF_ALLOW_H
#define FLOWLENS_BPF_ALLOW_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <flowlens/flowlens.h>
#include "parse.h"

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, FL_ALLOW_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fl_lpm4_key);
	__type(value, struct fl_allow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_ALLOW4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, FL_ALLOW_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fl_lpm6_key);
	__type(value, struct fl_allow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_ALLOW6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_CARRIERS_MAX + 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_ALLOW_HITS SEC(".maps");

/* A VoIP carrier's packets are counted per entry. */
static __always_inline int allow_hit(const struct fl_allow *a)
{
	__u32 slot;
	__u64 *hits;

	if (!a)
		return 0;
	slot = a->carrier;
	if (slot) {
		hits = bpf_map_lookup_elem(&FL_MAP_ALLOW_HITS, &slot);
		if (hits)
			(*hits)++;
	}
	return 1;
}

static __always_inline int allowlisted(const struct fl_config *cfg,
				       const struct fl_packet *pkt)
{
	if (!pkt->has_l3)
		return 0; /* ARP, LLDP...: no source address to look up */
	if (!cfg->allow_prefixes)
		return 0; /* nothing allowlisted: no trie walk */
	if (pkt->l3_proto == ETH_P_IPV6) {
		struct fl_lpm6_key key = { .prefixlen = 128 };

		__builtin_memcpy(key.addr, pkt->src.b, 16);
		return allow_hit(bpf_map_lookup_elem(&FL_MAP_ALLOW6, &key));
	} else {
		struct fl_lpm4_key key = { .prefixlen = 32 };

		__builtin_memcpy(key.addr, pkt->src.b, 4);
		return allow_hit(bpf_map_lookup_elem(&FL_MAP_ALLOW4, &key));
	}
}

#endif /* FLOWLENS_BPF_ALLOW_H */
