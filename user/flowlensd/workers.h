/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: the AF_XDP workers' counters (FL_WORKER_COUNTERS, named once in the
 * protocol table, user/lib/proto.h, for the replies and flctl) and what a
 * worker publishes to the control thread.
 *   struct fl_worker_record  one record of a worker's ring: a flow's
 *                            verdict, its end, or packets of classified
 *                            flows escalated after their verdict
 *   workers_event_fd()       readable when a worker has published; -1
 *                            without workers
 *   workers_drain()          the control thread takes every record from
 *                            every ring into its own flow and app tables
 *   workers_top_apps()       the applications with the highest rates
 *   workers_counter_sum()    one of FL_WORKER_COUNTERS over every worker
 * The module itself (workers_module) is in daemon.h with the others.
 */
#ifndef FLOWLENSD_WORKERS_H
#define FLOWLENSD_WORKERS_H

#include <flowlens/flow.h>

#include "classify.h"

/* FL_WORKER_COUNTERS is in the protocol table, for flctl to print them. */
#include "proto.h"

enum fl_wc {
#define FL_X_ENUM(id, name) FL_WC_##id,
	FL_WORKER_COUNTERS(FL_X_ENUM)
#undef FL_X_ENUM
		FL_WC_COUNT,
};

/* What a worker tells the control thread. */
enum fl_worker_record_type {
	FL_WREC_NONE = 0,
	/* a flow's final verdict reached the XDP flow cache */
	FL_WREC_VERDICT = 1,
	/* the worker dropped the flow from its table (idle past its
	 * timeout and no longer seen by the flow cache) */
	FL_WREC_FLOW_END = 2,
	/* packets of a classified flow escalated after its verdict (VoIP),
	 * summed per application over one round of the worker's loop */
	FL_WREC_APP_PACKETS = 3,
	/* room for what comes next: SIP dialogs, RTP segments */
};

struct fl_wrec_verdict {
	__u16 app, master, category; /* nDPI ids, as fl_flow */
	__u8 state; /* FL_FLOW_CLASSIFIED or FL_FLOW_GAVE_UP */
	__u8 flags; /* FL_FLOW_F_* written with it (BYPASS, VOIP) */
	__u64 risk; /* ndpi_risk bitmap */
	__u64 packets[2], bytes[2]; /* the flow cache's counters at the
				       verdict, [dir] */
	__u16 policy[2]; /* the policy slots written with it, [dir] */
	__u64 first_ms; /* the worker saw its first packet (CLOCK_MONOTONIC) */
	char sni[FL_CLS_SNI_MAX];
	char ja3c[FL_CLS_JA3_LEN], ja3s[FL_CLS_JA3_LEN];
};

struct fl_wrec_flow_end {
	__u16 app, master;
	__u64 packets[2], bytes[2]; /* what reached the worker, [dir] */
	__u64 first_ms, last_ms;
};

struct fl_wrec_app_packets {
	__u16 app; /* index into the per-app counters (< FL_APPS_MAX) */
	__u64 packets, bytes;
};

struct fl_worker_record {
	__u16 type; /* enum fl_worker_record_type */
	__u16 worker; /* its id */
	__u32 pad;
	__u64 time_ms; /* when it was published (CLOCK_MONOTONIC) */
	struct fl_flow_key key; /* VERDICT, FLOW_END */
	union {
		struct fl_wrec_verdict verdict;
		struct fl_wrec_flow_end end;
		struct fl_wrec_app_packets app;
	};
};

struct daemon;
int workers_event_fd(struct daemon *d);
/* The SNI and client JA3 a worker found for a flow, as its verdict record
 * told the control thread; false (both "") when it is not known (no
 * workers, a record shed, the flow ended in the workers' tables). */
bool workers_flow_names(struct daemon *d, const struct fl_flow_key *key,
			const char **sni, const char **ja3c);
void workers_drain(struct daemon *d);
/* One counter summed over the workers (0 without workers). */
__u64 workers_counter_sum(struct daemon *d, enum fl_wc c);

/*
 * The "top" request's side "apps" (flctl top apps): the @n applications
 * with the highest rate @by ("pps", "bps" or "flows", new flows per
 * second) between the workers' last two reads of the per-app totals, a
 * window (1 s) apart. 0, or -EINVAL with @err saying what is wrong.
 */
struct json_object;
int workers_top_apps(struct daemon *d, const char *by, int n,
		     struct json_object **data, char *err, size_t errlen);

/*
 * RTP towards the VoIP thresholds' protected prefixes, per source (voip.c
 * judges it: RTP bursts and unsolicited media), from worker_voip.c.
 *   workers_voip_rtp_drain()    every source's RTP packets, and those of
 *                               them no SDP negotiated, since the last
 *                               drain, to @fn; the workers' counts start
 *                               over
 *   workers_voip_rtp_ports()    the destination ports of a source's live
 *                               streams towards its slot (only the
 *                               unsolicited ones if @unsolicited), up to
 *                               @max: how many, or -E2BIG for more
 *                               (-ENOMEM: none copied)
 *   workers_voip_prefixes_changed()  the tries changed: streams look their
 *                               destination up again
 */
struct workers_rtp_source {
	union fl_addr addr;
	__u32 slot; /* the protected prefix's, FL_MAP_VOIP4/6 */
	__u8 family; /* 4 or 6 */
	__u8 pad[3];
};

typedef void (*workers_rtp_fn)(const struct workers_rtp_source *src, __u64 rtp,
			       __u64 unsolicited, void *arg);
void workers_voip_rtp_drain(struct daemon *d, workers_rtp_fn fn, void *arg);
int workers_voip_rtp_ports(struct daemon *d,
			   const struct workers_rtp_source *src,
			   bool unsolicited, __u16 *ports, int max);
void workers_voip_prefixes_changed(struct daemon *d);

#endif /* FLOWLENSD_WORKERS_H */
