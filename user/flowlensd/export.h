/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: flow export (export.c). The export module sends the XDP flow
 * cache's flows as IPFIX records; export_records() is the one function that
 * turns a flow into records, for the module and for `flowlensd replay
 * --ipfix`.
 */
#ifndef FLOWLENSD_EXPORT_H
#define FLOWLENSD_EXPORT_H

#include <time.h>
#include <flowlens/flow.h>

#include "ipfix.h"

#define FL_EXPORT_ACTIVE_DEFAULT 60 /* seconds, as nProbe's -t */
#define FL_EXPORT_IDLE_DEFAULT 30 /* seconds, as nProbe's -d */

struct fl_cls;

/* A flow's records since what was sent before. */
struct export_flow {
	const struct fl_flow_key *key;
	const struct fl_flow *f; /* totals, app, flags, interface... */
	const __u64 *sent_packets, *sent_bytes; /* [2]: in earlier records */
	__u64 start_ms, end_ms; /* UNIX time the record covers */
	__u32 l2; /* bytes per packet in f->bytes before the IP header */
	const char *sni, *ja3c, *ja3s; /* NULL: none */
	__u8 reason; /* enum fl_ipfix_end */
};

/* One record per direction with packets since the last; returns how many. */
int export_records(struct fl_ipfix *x, struct fl_cls *names,
		   const struct export_flow *ef, time_t now);

#endif /* FLOWLENSD_EXPORT_H */
