/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: an IPFIX (RFC 7011) message writer for flow records, one per
 * collector. The live exporter (flowlensd's export module) and
 * `flowlensd replay --ipfix` fill the same struct fl_ipfix_flow and send it
 * through this code, so a capture's records and live records are the same.
 *
 * Two templates, 256 for IPv4 and 257 for IPv6, with the same fields:
 * addresses, ports, protocol, tcpControlBits, ipClassOfService,
 * octetDeltaCount, packetDeltaCount, flowStart/EndMilliseconds,
 * ingress/egressInterface, vlanId, flowEndReason, biflowDirection,
 * applicationId (RFC 6759, PANA-L7-PEN: engine 20, PEN 35632, the nDPI
 * id), applicationName, and ntop's (PEN 35632) nDPI elements as nProbe
 * exports them: L7_PROTO, L7_PROTO_NAME, L7_PROTO_CATEGORY,
 * TLS_SERVER_NAME, JA3C_HASH, JA3S_HASH, L7_PROTO_RISK, L7_PROTO_RISK_NAME,
 * L7_RISK_SCORE. Strings are variable length (RFC 7011 §7).
 *
 * Uniflow: one record per direction that had packets (biflowDirection
 * says which is the initiator's), not RFC 5103 biflow records, because
 * the collectors operators run (nfdump 1.7, pmacct 1.7) do not read
 * RFC 5103's reverse elements.
 *
 * Over UDP: the templates go in the first message and again every
 * template_refresh seconds (RFC 7011 §8.4), each message carries the
 * sequence number (data records sent before it) and the observation
 * domain. A send that fails (the socket buffer is full) is never retried:
 * the message's records are counted as lost and the writer goes on.
 */
#ifndef FL_IPFIX_H
#define FL_IPFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <flowlens/flow.h>

#define FL_IPFIX_PEN_NTOP 35632
#define FL_IPFIX_TEMPLATE_V4 256
#define FL_IPFIX_TEMPLATE_V6 257
#define FL_IPFIX_MSG_MAX \
	1400 /* bytes: one message per datagram, no
				 fragmentation on an Ethernet path */
#define FL_IPFIX_TEMPLATE_REFRESH 30 /* seconds */

/* flowEndReason (IANA) */
enum fl_ipfix_end {
	FL_IPFIX_END_IDLE = 1,
	FL_IPFIX_END_ACTIVE = 2,
	FL_IPFIX_END_FLOW = 3, /* FIN or RST */
	FL_IPFIX_END_FORCED = 4, /* the exporter stopped */
	FL_IPFIX_END_LACK = 5, /* evicted from the flow cache first */
};

/* One direction of a flow, as one record. Strings may be NULL or "". */
struct fl_ipfix_flow {
	__u8 family; /* 4 or 6 */
	__u8 proto;
	union fl_addr src, dst;
	__u16 sport, dport; /* host order */
	__u64 packets, bytes; /* deltas since this direction's last record */
	__u64 start_ms, end_ms; /* UNIX time */
	__u8 tcp_flags;
	__u8 tos; /* DSCP << 2 */
	__u8 end_reason; /* enum fl_ipfix_end */
	__u8 initiator; /* src is the flow's client (biflowDirection 1) */
	__u16 vlan;
	__u32 in_if, out_if;
	__u16 app, master, category; /* nDPI ids */
	__u64 risk; /* ndpi_risk bitmap */
	__u16 risk_score;
	const char *app_name; /* "TLS.YouTube" */
	const char *category_name;
	const char *sni;
	const char *ja3c, *ja3s;
	const char *risk_names; /* comma-separated */
};

struct fl_ipfix_stats {
	__u64 messages, records, bytes; /* sent */
	__u64 templates; /* template sets sent */
	__u64 lost_records; /* in messages a send refused */
	__u64 send_errors;
	int last_errno;
};

struct fl_ipfix {
	int fd; /* a UDP socket */
	struct sockaddr_storage ss; /* the collector */
	socklen_t sslen;
	__u32 domain; /* observation domain id */
	__u32 sequence; /* data records sent (or lost) so far */
	unsigned int template_refresh; /* seconds; 0: FL_IPFIX_TEMPLATE_REFRESH */
	bool blocking; /* a send waits for room (offline replay) */
	time_t templates_sent; /* when; 0: never */
	__u8 buf[FL_IPFIX_MSG_MAX];
	size_t len; /* bytes in buf, header included; 0: empty */
	size_t set_off; /* the open data set's header in buf; 0: none */
	__u16 set_id; /* its template */
	__u32 nr_records; /* data records in buf */
	struct fl_ipfix_stats stats;
};

/*
 * Resolves @collector ("HOST:PORT", "[IPv6]:PORT") into @ss; 0 or -errno
 * with @err saying what is wrong.
 */
int fl_ipfix_parse_collector(const char *collector, struct sockaddr_storage *ss,
			     socklen_t *sslen, char *err, size_t errlen);

/* Opens a non-blocking UDP socket that sends to @ss; 0 or -errno. */
int fl_ipfix_open(struct fl_ipfix *x, const struct sockaddr_storage *ss,
		  socklen_t sslen, __u32 domain);
void fl_ipfix_close(struct fl_ipfix *x);

/* Adds one record (after the templates, when they are due); sends the
 * message first if the record does not fit. @now: UNIX seconds. */
void fl_ipfix_add(struct fl_ipfix *x, const struct fl_ipfix_flow *f,
		  time_t now);
/* Sends what is buffered (and the templates when they are due, even
 * with no record: a collector that starts late learns them). */
void fl_ipfix_flush(struct fl_ipfix *x, time_t now);

/* Bytes a record of @f takes in a data set. */
size_t fl_ipfix_record_len(const struct fl_ipfix_flow *f);

#endif /* FL_IPFIX_H */
