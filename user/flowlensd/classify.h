/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The classifier a worker runs: its own flow table (hash + timer-wheel
 * aging) and one nDPI detection module. The same code serves the live
 * workers (packets from AF_XDP, key and hash from the XDP metadata) and
 * `flowlensd replay` (packets from pcap files, key and hash computed with
 * the same fl_flow_key_make()/fl_flow_hash() as the BPF program).
 *
 * Not thread-safe: one struct fl_cls per worker thread.
 */
#ifndef FLOWLENSD_CLASSIFY_H
#define FLOWLENSD_CLASSIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <flowlens/flow.h>

#define FL_CLS_SNI_MAX 128
#define FL_CLS_JA3_LEN 33 /* 32 hex digits + NUL */

struct fl_cls;

/* One flow in a worker's table. */
struct fl_cls_flow {
	struct fl_flow_key key;
	__u32 hash;
	__u8 state; /* enum fl_flow_state */
	__u8 flags; /* FL_FLOW_F_* (VOIP, LO_CLIENT) */
	__u8 guessed; /* the verdict is nDPI's guess at give-up */
	__u8 final; /* verdict final, nDPI state freed */
	__u8 tcp_flags; /* every TCP segment's flags, ORed */
	__u64 first_ms, last_ms;
	__u64 packets[2], bytes[2]; /* [dir]: 0 from key.lo, 1 from key.hi */
	__u32 dissected; /* packets given to nDPI */
	__u16 app, master, category; /* nDPI ids, as fl_flow */
	__u64 risk; /* ndpi_risk bitmap */
	__u64 seq; /* creation order in this table */
	__u8 feeding; /* packets of it go to nDPI (FL_CLS_FEED_XDP: since
			 * its first payload packet, for TCP) */
	char sni[FL_CLS_SNI_MAX]; /* nDPI's host name: TLS/QUIC SNI, HTTP
				   * Host, DNS query... */
	char ja3c[FL_CLS_JA3_LEN], ja3s[FL_CLS_JA3_LEN];
	/* private: nDPI state (NULL until payload, freed at the verdict),
	 * table and wheel links */
	void *ndpi;
	struct fl_cls_flow *next_hash, *next_wheel, **prev_wheel;
};

/* Which packets of a flow go to nDPI. */
enum fl_cls_feed {
	/* What the XDP program escalates (the live workers' case, where
	 * the rule is a no-op): TCP from its first packet with payload,
	 * UDP and others from their first packet; then every packet until
	 * the verdict or the budget (max_tcp, max_udp, FL_ESCALATE_OTHER
	 * packets), after which nDPI gives up at once. */
	FL_CLS_FEED_XDP = 0,
	/* Every packet from the first, SYN included, giving up after
	 * max_tcp/max_udp packets of the flow as ndpiReader counts them
	 * (handshake included): the ndpiReader reference for replay. */
	FL_CLS_FEED_ALL = 1,
};

struct fl_cls_opts {
	__u32 max_flows; /* table size; 0: 65536 */
	__u32 idle_ms; /* a flow idle this long is expired; 0: 30 s UDP, 300 s TCP */
	__u16 max_tcp; /* packets given to nDPI before giving up; 0: 80 */
	__u16 max_udp; /* 0: 24 */
	__u8 feed; /* enum fl_cls_feed; 0: FL_CLS_FEED_XDP */
};

/* A worker's counters since fl_cls_new(). */
struct fl_cls_stats {
	__u64 packets; /* given to fl_cls_packet() */
	__u64 fed; /* of them, given to nDPI */
	__u64 flows; /* created */
	__u64 classified; /* verdicts with an app (or a master) */
	__u64 gave_up; /* verdicts from ndpi_detection_giveup() or none */
	__u64 guessed; /* of gave_up, nDPI's guess by port or address */
	__u64 errors; /* packets not fed: table full, no memory */
};

/* What fl_cls_packet() tells the caller about the packet's flow. */
enum fl_cls_event {
	FL_CLS_NONE = 0, /* still classifying (or was already final) */
	FL_CLS_VERDICT = 1, /* the verdict just became final: write it back */
	FL_CLS_ERROR = -1, /* table full or no memory: the packet was not fed */
};

struct fl_cls *fl_cls_new(const struct fl_cls_opts *opts);
void fl_cls_free(struct fl_cls *cls);

/*
 * Feed one packet. l3 points at the IPv4/IPv6 header, l3_len bytes of it
 * are there. key, hash and dir come from the XDP metadata (live) or from
 * fl_flow_key_make()/fl_flow_hash() (replay). *flow is set to the flow.
 */
enum fl_cls_event fl_cls_packet(struct fl_cls *cls, const void *l3,
				__u32 l3_len, __u64 now_ms,
				const struct fl_flow_key *key, __u32 hash,
				int dir, struct fl_cls_flow **flow);

/* Expire flows idle since before now_ms - idle (the timer wheel), calling
 * done() on each before it is freed (may be NULL). A flow still being
 * classified is given up first (nDPI's guess), so done() sees a verdict.
 * done() keeps the flow by moving its last_ms forward (a worker does when
 * the XDP flow cache has seen the flow since: its packets no longer come
 * to the worker, but its SNI and JA3 are kept while it lives). */
typedef void (*fl_cls_flow_fn)(struct fl_cls_flow *flow, void *arg);
void fl_cls_expire(struct fl_cls *cls, __u64 now_ms, fl_cls_flow_fn done,
		   void *arg);
/* How long the flow may stay idle: fl_cls_expire() frees it when done()
 * leaves its last_ms + fl_cls_idle_ms() at or before now_ms. */
__u32 fl_cls_idle_ms(const struct fl_cls *cls, const struct fl_cls_flow *f);
/* Give up every flow still classifying (end of a replay), call fn on
 * every flow in the order they were created, then remove them all: the
 * table is empty and ready for the next capture. */
void fl_cls_finish(struct fl_cls *cls, fl_cls_flow_fn fn, void *arg);
/* Call fn on every flow in the table, any state. */
void fl_cls_walk(struct fl_cls *cls, fl_cls_flow_fn fn, void *arg);

/* nDPI's names: "TLS.YouTube" (as ndpiReader's [proto: N.M/NAME]),
 * the category, and the risk bits as a comma-separated list. */
const char *fl_cls_app_name(struct fl_cls *cls, const struct fl_cls_flow *f,
			    char *buf, size_t len);
const char *fl_cls_proto_name(struct fl_cls *cls, __u16 id);
const char *fl_cls_category_name(struct fl_cls *cls, __u16 category);
size_t fl_cls_risk_names(__u64 risk, char *buf, size_t len);

/*
 * nDPI's tables by name, for what an operator types (flctl policy):
 * an application (protocol), a category or a risk. The comparison ignores
 * case, and for risks everything but letters and digits
 * ("known-protocol-on-non-standard-port" is nDPI's "Known Protocol on Non
 * Standard Port"). fl_cls_name_id() returns the id
 * (a risk's bit number), or -1; fl_cls_name_of() the canonical name of an
 * id; fl_cls_name_close() writes up to 5 names close to @name (the
 * smallest edit distance, or containing it), comma-separated, and returns
 * how many.
 */
enum fl_cls_name_kind {
	FL_CLS_NAME_APP = 0,
	FL_CLS_NAME_CATEGORY = 1,
	FL_CLS_NAME_RISK = 2,
};
int fl_cls_name_id(struct fl_cls *cls, enum fl_cls_name_kind kind,
		   const char *name);
const char *fl_cls_name_of(struct fl_cls *cls, enum fl_cls_name_kind kind,
			   int id);
int fl_cls_name_close(struct fl_cls *cls, enum fl_cls_name_kind kind,
		      const char *name, char *buf, size_t len);

/* Bytes of memory the table and nDPI hold now, and flows in the table. */
size_t fl_cls_memory(const struct fl_cls *cls);
__u32 fl_cls_flows(const struct fl_cls *cls);
/* Flows that hold nDPI state now, and the size of that state's struct. */
__u32 fl_cls_flows_dissecting(const struct fl_cls *cls);
size_t fl_cls_ndpi_flow_size(void);
void fl_cls_get_stats(const struct fl_cls *cls, struct fl_cls_stats *stats);

#endif /* FLOWLENSD_CLASSIFY_H */
