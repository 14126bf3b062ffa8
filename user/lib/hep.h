/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: HEP3, the Homer Encapsulation Protocol version 3 (also called EEP),
 * as Homer, heplify-server, sngrep and Kamailio's sipcapture receive it;
 * and the two looks at a SIP payload the mirror needs.
 *
 * A HEP3 datagram is "HEP3", its total length (16 bits, the 6-byte header
 * included), then chunks: each a 6-byte header - vendor id, type id and
 * length (the header included) - and its value. Everything is in network
 * order. FlowLens sends generic chunks (vendor 0) only, in this order:
 *
 *   type  value                             size
 *      1  IP family (AF_INET 2, AF_INET6 10)   1
 *      2  IP protocol (UDP 17, TCP 6)          1
 *    3/4  IPv4 source / destination            4
 *    5/6  IPv6 source / destination           16
 *    7/8  source / destination port            2
 *   9/10  capture time: seconds, microseconds  4
 *     11  protocol type (1: SIP)               1
 *     12  capture agent id                     4
 *     14  authentication key (optional)        variable
 *     15  the captured payload                 variable
 *     17  correlation id (optional; SIP's      variable
 *         Call-ID)
 *
 *   fl_hep_encode()          one message into the caller's buffer
 *   fl_sip_starts_message()  does a payload begin as a SIP message does?
 *   fl_sip_call_id()         the Call-ID header's value, if any
 *
 * Pure functions: no allocation, no I/O, safe from any thread.
 */
#ifndef FL_HEP_H
#define FL_HEP_H

#include <stdbool.h>
#include <stddef.h>
#include <flowlens/types.h>

#define FL_HEP_VENDOR_GENERIC 0
#define FL_HEP_HEADER_LEN 6 /* "HEP3" and the total length */
#define FL_HEP_CHUNK_HEADER_LEN 6
#define FL_HEP_MAX 65535 /* the total length is 16 bits */

enum fl_hep_chunk {
	FL_HEP_IP_FAMILY = 1,
	FL_HEP_IP_PROTO = 2,
	FL_HEP_IP4_SRC = 3,
	FL_HEP_IP4_DST = 4,
	FL_HEP_IP6_SRC = 5,
	FL_HEP_IP6_DST = 6,
	FL_HEP_SRC_PORT = 7,
	FL_HEP_DST_PORT = 8,
	FL_HEP_TS_SEC = 9,
	FL_HEP_TS_USEC = 10,
	FL_HEP_PROTO_TYPE = 11,
	FL_HEP_CAPTURE_ID = 12,
	FL_HEP_AUTH_KEY = 14,
	FL_HEP_PAYLOAD = 15,
	FL_HEP_CORRELATION_ID = 17,
};

/* Chunk 11's values (FlowLens sends SIP only). */
#define FL_HEP_PROTO_SIP 1

struct fl_hep_message {
	int family; /* AF_INET or AF_INET6 */
	__u8 ip_proto; /* IPPROTO_UDP, IPPROTO_TCP */
	__u8 proto_type; /* FL_HEP_PROTO_SIP */
	union fl_addr src, dst; /* network order; IPv4 in b[0..3] */
	__u16 sport, dport; /* host order */
	__u32 ts_sec, ts_usec; /* when it was captured (epoch) */
	__u32 capture_id;
	const void *auth_key; /* NULL (or length 0): no chunk 14 */
	size_t auth_key_len;
	const void *payload;
	size_t payload_len;
	const void *correlation_id; /* NULL (or length 0): no chunk 17 */
	size_t correlation_id_len;
};

/*
 * Writes @m as one HEP3 datagram into @buf (@size bytes). Returns its
 * length, -ENOSPC if it does not fit in @size or in FL_HEP_MAX bytes
 * (nothing useful is left in @buf then), -EINVAL for a family other than
 * AF_INET and AF_INET6.
 */
int fl_hep_encode(const struct fl_hep_message *m, void *buf, size_t size);

/*
 * True if @p begins with a SIP status line ("SIP/2.0 200 ...") or a
 * request line ("INVITE sip:... SIP/2.0"), CRLF (or LF) ended, within its
 * first FL_SIP_LINE_MAX bytes. Keep-alives (CRLF), other protocols and
 * the middle of a TCP stream are not.
 */
#define FL_SIP_LINE_MAX 1024
bool fl_sip_starts_message(const void *p, size_t len);

/*
 * The value of the first Call-ID header (or its compact form "i"), names
 * matched case aside, at a line start within the message's headers (up
 * to the empty line, or @len). Returns a pointer into @p with its length
 * in *@id_len, leading and trailing blanks left out; NULL when there is
 * none or it is empty.
 */
const char *fl_sip_call_id(const void *p, size_t len, size_t *id_len);

#endif /* FL_HEP_H */
