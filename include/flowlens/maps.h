/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * API: the name of every map, used as the identifier on the BPF side and
 * stringified in userspace, so a name lives in one place. Names are kept to
 * 15 characters: the pinned name under /sys/fs/bpf/flowlens/ then equals the
 * kernel's map name, and bpftool shows the same name in both places.
 */
#ifndef FLOWLENS_MAPS_H
#define FLOWLENS_MAPS_H

#define FL_PIN_SUBDIR "flowlens"

/* ARRAY[1]: struct fl_layout, the layout version of the maps (layout.h) */
#define FL_MAP_LAYOUT fl_layout
/* ARRAY[1]: struct fl_config */
#define FL_MAP_CONFIG fl_config
/* PERCPU_ARRAY[FL_IF_FAST_SLOTS]: struct fl_if_fast, the counters of the
 * interfaces flowlensd attached to; PERCPU_HASH: ifindex -> struct
 * fl_if_stats, any other interface's (counters.h) */
#define FL_MAP_IF_FAST fl_if_fast
#define FL_MAP_IF_STATS fl_if_stats
/* PERCPU_ARRAY: struct fl_sketch_cell, layout in account.h */
#define FL_MAP_SKETCH fl_sketch
/* LRU_PERCPU_HASH: struct fl_ip4_key / fl_ip6_key -> struct fl_ip_stats */
#define FL_MAP_IP4_STATS fl_ip4_stats
#define FL_MAP_IP6_STATS fl_ip6_stats
/* BLOOM_FILTER of union fl_addr (IPv4 zero-padded): every address the
 * program has given an entry in the two maps above. A lookup there that
 * misses costs a cache miss or two; a spoofed flood's random sources all
 * miss, so the filter answers first (account.h) */
#define FL_MAP_TRACKED fl_tracked
/* LPM_TRIE: struct fl_lpm4_key / fl_lpm6_key -> struct fl_protect */
#define FL_MAP_PROTECT4 fl_protect4
#define FL_MAP_PROTECT6 fl_protect6
/* LPM_TRIE: struct fl_lpm4_key / fl_lpm6_key -> struct fl_allow, the
 * DDoS allowlist (sources that skip mitigation) */
#define FL_MAP_ALLOW4 fl_allow4
#define FL_MAP_ALLOW6 fl_allow6
/* PERCPU_ARRAY[FL_CARRIERS_MAX + 1]: __u64 packets of each VoIP carrier
 * (fl_allow.carrier) */
#define FL_MAP_ALLOW_HITS fl_allow_hits
/* The SIP stage (voip.h). ARRAY[1]: struct fl_voip_conf; LPM_TRIE:
 * fl_lpm4_key / fl_lpm6_key -> struct fl_voip_prefix, the protected
 * prefixes; LRU_PERCPU_HASH: struct fl_sip_key -> struct fl_sip_stats;
 * PERCPU_ARRAY: struct fl_sip_cell, the senders' sketch; PERCPU_ARRAY[1]:
 * struct fl_sip_totals; HASH: struct fl_sip_limit_key -> struct
 * fl_sip_limit, the method limiters */
#define FL_MAP_VOIP_CONF fl_voip_conf
#define FL_MAP_VOIP4 fl_voip4
#define FL_MAP_VOIP6 fl_voip6
#define FL_MAP_SIP_STATS fl_sip_stats
#define FL_MAP_SIP_SKETCH fl_sip_sketch
#define FL_MAP_SIP_TOTALS fl_sip_totals
#define FL_MAP_SIP_LIMIT fl_sip_limit
/* RINGBUF: struct fl_sample; PERCPU_ARRAY[1]: struct fl_sample_quota */
#define FL_MAP_SAMPLES fl_samples
#define FL_MAP_SAMPLE_QUOTA fl_sample_quota
/* DEVMAP_HASH: ifindex -> ifindex, the interfaces router mode may
 * redirect to (every interface flowlensd runs on); the one map not pinned */
#define FL_MAP_TX_PORTS fl_tx_ports
/* HASH: ifindex -> struct fl_port_mac, each router port's own MAC, so a
 * frame for another host (a port in promiscuous mode) is not routed; not
 * pinned either, filled with the devmap */
#define FL_MAP_PORT_MACS fl_port_macs
/* The rule engine (layouts and how they fit together: rules.h).
 * ARRAY_OF_MAPS[FL_RULE_SHAPES_MAX]: slot -> HASH fl_rule_key4/6 -> fl_rule_ids */
#define FL_MAP_RULE_SHAPE4 fl_rule_shape4
#define FL_MAP_RULE_SHAPE6 fl_rule_shape6
/* ARRAY_OF_MAPS[2] (0: IPv4, 1: IPv6) -> ARRAY[1] struct fl_rule_shape_set */
#define FL_MAP_RULE_SETS fl_rule_sets
/* ARRAY: id -> struct fl_rule_entry; ARRAY: id -> __u64 GCRA time;
 * PERCPU_ARRAY: id -> struct fl_rule_stats */
#define FL_MAP_RULES fl_rules
#define FL_MAP_RULE_TAT fl_rule_tat
#define FL_MAP_RULE_STATS fl_rule_stats
/* PERCPU_ARRAY: origin * FL_RULE_ACTIONS + action -> struct
 * fl_rule_origin_stats */
#define FL_MAP_RULE_ORIGIN_STATS fl_rule_origins
/* HASH: id -> struct fl_rule, the rules as given (read by flowlensd
 * only, so a restart recovers them from the pinned maps) */
#define FL_MAP_RULE_DEFS fl_rule_defs
/* HASH: struct fl_synproxy_key -> struct fl_synproxy_conf, the services
 * the SYN proxy answers for; PERCPU_HASH: same key -> struct
 * fl_synproxy_stats (synproxy.h) */
#define FL_MAP_SYNPROXY fl_synproxy
#define FL_MAP_SYNPROXY_STATS fl_synproxy_cnt
/* Stages 6 and 7 (flow.h). LRU_HASH: struct fl_flow_key -> struct fl_flow,
 * the flow cache; PERCPU_ARRAY[FL_APPS_MAX]: nDPI protocol id ->
 * struct fl_app_stats, packets of classified flows counted in XDP;
 * XSKMAP: rx queue -> the AF_XDP socket of that queue's worker */
#define FL_MAP_FLOWS fl_flows
#define FL_MAP_APP_STATS fl_app_stats
#define FL_MAP_XSKS fl_xsks
/* HASH: ifindex -> __u32, the interface's first key in FL_MAP_XSKS (its
 * sockets are at base + rx queue); filled by flowlensd's workers */
#define FL_MAP_XSK_SLOTS fl_xsk_slots

#define FL_IF_STATS_MAX 256
#define FL_IF_FAST_SLOTS 64 /* a power of two: the modulo is a mask */
#define FL_IP4_STATS_MAX 65536
#define FL_IP6_STATS_MAX 32768
#define FL_PROTECT_MAX 4096
#define FL_ALLOW_MAX 4096
#define FL_CARRIERS_MAX 256
#define FL_XSKS_MAX 64 /* rx queues per interface */

#endif /* FLOWLENS_MAPS_H */
