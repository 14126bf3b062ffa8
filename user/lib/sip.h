/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: SIP messages (RFC 3261) and their SDP bodies (RFC 4566), parsed
 * strictly and without copying, for the workers and `flowlensd replay
 * --voip`.
 *   fl_sip_parse()           one message at the start of a buffer: its
 *                            length, -EAGAIN (a stream's message not all
 *                            there yet) or -EBADMSG (msg->error says why)
 *   fl_sip_parse_datagram()  every message of a UDP payload, in turn
 *   fl_sip_looks_like()      whether bytes start like a request or status
 *                            line (a cheap test before parsing)
 *   fl_sip_is_keepalive()    a payload that is only a keep-alive: CRLFs or
 *                            other white space (RFC 5626), or a STUN
 *                            binding message
 *   fl_sip_stream_*()        the TCP framer: in-order segments in, whole
 *                            messages out, by Content-Length
 *   fl_sip_msg_kind()        the FL_SIP_* counter a message belongs to, as
 *                            the XDP program counts it (flowlens/voip.h)
 *   fl_sip_method_name(), fl_sip_error_name()
 *   fl_sdp_parse()           c=, m=, a=rtpmap and the direction of an SDP body
 *   fl_sdp_clock_rate()      a payload type's clock rate in one media
 *   fl_rtp_static_pt()       RFC 3551's static payload types
 *
 * Nothing here keeps state between calls but a framer, and only a framer
 * allocates (its buffer, of the size its caller chose): the parser can run
 * on any thread over any packet. A parsed message points into the bytes it
 * was parsed from; strings in it are not NUL-terminated.
 *
 * Strict means: CRLF or LF line ends; no NUL or other control byte (but
 * tab) in the start line or a header; lines, the head and the headers
 * count bounded (FL_SIP_*_MAX); a request line "METHOD URI SIP/2.0" with a
 * token method and a scheme:... URI, or a status line "SIP/2.0 NNN reason"
 * with 100..699; Via, From, To, Call-ID and CSeq present once (Via may
 * repeat), CSeq "number METHOD" with a request's own method;
 * Content-Length a number up to FL_SIP_BODY_MAX, present once, and
 * mandatory over TCP. Header names are case-insensitive and the compact
 * forms (i f t l c v m) are understood. Continuation lines (a header
 * folded over lines starting with white space) are accepted.
 */
#ifndef FL_SIP_H
#define FL_SIP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <flowlens/types.h>
#include <flowlens/voip.h>

#define FL_SIP_LINE_MAX 4096 /* bytes in one line, without its CRLF */
#define FL_SIP_HEAD_MAX 16384 /* the start line and every header */
#define FL_SIP_HEADERS_MAX 128 /* header fields */
#define FL_SIP_BODY_MAX 65536 /* Content-Length */
#define FL_SIP_MSG_MAX (FL_SIP_HEAD_MAX + FL_SIP_BODY_MAX)
#define FL_SIP_CALL_ID_MAX 255
#define FL_SIP_PORT 5060

/* A request's method that is none of enum fl_sip_method (an extension). */
#define FL_SIP_METHOD_EXT FL_SIP_METHOD_COUNT

/* id, name: why a message was refused */
#define FL_SIP_ERRORS(X)                                                       \
	X(NONE, "none")                                                        \
	X(NOT_SIP,                                                             \
	  "not-sip") /* the first line is no request or status line */         \
	X(TRUNCATED, "truncated") /* ends before the blank line or the body */ \
	X(START_LINE, "start-line") /* looks like one, but is not right */     \
	X(STATUS, "status-code") /* not 100..699 */                            \
	X(NUL, "nul") /* a NUL byte in the start line or a header */           \
	X(CONTROL, "control-char") /* another control byte there */            \
	X(LINE_TOO_LONG, "line-too-long")                                      \
	X(HEAD_TOO_LONG, "head-too-long")                                      \
	X(TOO_MANY_HEADERS, "too-many-headers")                                \
	X(HEADER, "header-syntax") /* no name, or no colon */                  \
	X(DUPLICATE, "duplicate-header") /* a header that must be unique */    \
	X(CONTENT_LENGTH, "content-length") /* no number, or too big */        \
	X(NO_CONTENT_LENGTH, "no-content-length") /* over TCP */               \
	X(NO_CALL_ID, "no-call-id")                                            \
	X(CALL_ID, "call-id") /* empty, white space in it, too long */         \
	X(NO_CSEQ, "no-cseq")                                                  \
	X(CSEQ, "cseq")                                                        \
	X(NO_FROM, "no-from")                                                  \
	X(NO_TO, "no-to")                                                      \
	X(ADDRESS, "from-to") /* a From or To that is not an address */        \
	X(NO_VIA, "no-via")                                                    \
	X(TOO_BIG, "too-big") /* larger than the framer's buffer */

enum fl_sip_error {
#define FL_X_SIP_ERR(id, name) FL_SIP_ERR_##id,
	FL_SIP_ERRORS(FL_X_SIP_ERR)
#undef FL_X_SIP_ERR
		FL_SIP_ERR_COUNT,
};

struct fl_sip_str {
	const char *p; /* into the message; not NUL-terminated */
	__u32 len;
};

struct fl_sip_msg {
	bool request;
	__u8 method; /* requests: enum fl_sip_method or FL_SIP_METHOD_EXT */
	__u16 status; /* responses: 100..699 */
	struct fl_sip_str method_name; /* requests */
	struct fl_sip_str uri; /* requests: the Request-URI */
	struct fl_sip_str reason; /* responses: the reason phrase */
	struct fl_sip_str call_id;
	struct fl_sip_str from, to; /* the URIs of From and To, without <> */
	struct fl_sip_str from_tag, to_tag; /* empty when absent */
	__u32 cseq;
	__u8 cseq_method; /* as method: the request a response answers */
	bool has_content_length;
	__u16 headers; /* header fields */
	__u16 vias; /* Via header fields */
	struct fl_sip_str content_type; /* "type/subtype", no parameters */
	__u32 content_length;
	__u32 head_len; /* start line, headers and the blank line */
	const char *body;
	__u32 body_len;
	__u32 len; /* head_len + body_len */
	enum fl_sip_error error;
	/* -EAGAIN: what the whole message needs, once its head is complete
	 * (0 before), so a framer waits for that much before trying again */
	__u32 need;
};

/* fl_sip_parse() flags */
#define FL_SIP_STREAM \
	0x1 /* over TCP: incomplete is -EAGAIN, not an error,
			   * and Content-Length is mandatory */

/*
 * Parses the message at the start of @p (@len bytes). Returns its length
 * (> 0; the next message, if any, starts there), -EAGAIN when the bytes
 * end before the message does (FL_SIP_STREAM only; without it that is
 * FL_SIP_ERR_TRUNCATED), or -EBADMSG with msg->error set. Over UDP a
 * message without Content-Length runs to the end of the datagram.
 */
int fl_sip_parse(const char *p, size_t len, unsigned int flags,
		 struct fl_sip_msg *msg);

/* Called once per message, or once for a payload that fails to parse
 * (msg->error set, the other fields as far as the parser got). */
typedef void (*fl_sip_msg_cb)(const struct fl_sip_msg *msg, void *arg);

/*
 * Every message of a UDP payload: calls @cb for each, skipping the CRLFs
 * between them, and stops at the first that fails (reported to @cb too) or
 * at trailing bytes that do not start like SIP (discarded, as RFC 3261
 * 18.3 says). Returns the messages parsed.
 */
int fl_sip_parse_datagram(const char *p, size_t len, fl_sip_msg_cb cb,
			  void *arg);

enum fl_sip_looks {
	FL_SIP_LOOKS_NO,
	FL_SIP_LOOKS_YES, /* "SIP/2.0 ", a known method and a space, or a
			   * first line ending in " SIP/2.0" */
	FL_SIP_LOOKS_MAYBE, /* too short to tell: the start of one of those */
};
enum fl_sip_looks fl_sip_looks_like(const char *p, size_t len);
bool fl_sip_is_keepalive(const char *p, size_t len);

/* The counter a message goes to: its method, its response class
 * (FL_SIP_RESP_1XX + n), or FL_SIP_OTHER (an extension method). */
unsigned int fl_sip_msg_kind(const struct fl_sip_msg *msg);
/* "INVITE" ...; "other" for FL_SIP_METHOD_EXT and anything else. */
const char *fl_sip_method_name(unsigned int method);
const char *fl_sip_error_name(enum fl_sip_error err);

/* ---- the TCP framer ---------------------------------------------------- */

struct fl_sip_stream_stats {
	__u64 messages;
	__u64 malformed; /* started like SIP, failed to parse */
	__u64 not_sip; /* a message boundary that did not start like SIP */
	__u64 keepalives; /* CRLF runs between messages (RFC 5626) */
	__u64 gaps; /* a segment after bytes never seen: reset */
	__u64 skipped; /* bytes dropped while out of step */
};

/*
 * One direction of one TCP connection. Segments go in with their sequence
 * numbers, in order; a retransmission (bytes already seen) is trimmed, a
 * gap resets the framer (counted) and so does a message that fails. After
 * a reset it skips segments until one starts like SIP. A segment that
 * holds only whole messages is parsed where it lies; only a message left
 * incomplete is copied to the buffer (allocated at the first, @capacity
 * bytes: a message larger than that fails with FL_SIP_ERR_TOO_BIG), and
 * each message is parsed at most three times however it is split.
 */
struct fl_sip_stream {
	char *buf;
	__u32 capacity, len; /* bytes buffered, from buf[0] */
	__u32 next_seq; /* the sequence number of the next new byte */
	__u32 need; /* the buffered message needs this much (0: unknown) */
	__u32 scanned; /* of buf, looked at for the end of the head */
	bool started; /* next_seq is known */
	bool lost; /* out of step: skipping to a segment that starts like SIP */
	bool first_line_checked; /* the buffered message's start line */
	struct fl_sip_stream_stats stats;
};

/* @capacity: at most FL_SIP_MSG_MAX is useful; 0 means that. */
void fl_sip_stream_init(struct fl_sip_stream *s, __u32 capacity);
/* Frees the buffer; the stream can be fed again (it starts afresh, and
 * keeps its counters). */
void fl_sip_stream_release(struct fl_sip_stream *s);
/*
 * Feeds one segment: @seq is its TCP sequence number, @syn whether it has
 * the SYN flag (its data then starts at @seq + 1). Calls @cb for each
 * message it completes, and for each that fails. A message passed to @cb
 * points into @data or the buffer and lives until @cb returns. Returns the
 * messages completed, or -ENOMEM (the buffer could not be allocated: the
 * framer resets, as for a gap).
 */
int fl_sip_stream_feed(struct fl_sip_stream *s, __u32 seq, bool syn,
		       const void *data, __u32 len, fl_sip_msg_cb cb,
		       void *arg);

/* ---- SDP --------------------------------------------------------------- */

#define FL_SDP_MEDIA_MAX 8 /* m= lines kept of one body */
#define FL_SDP_PT_MAX 16 /* payload types kept of one m= line */
#define FL_SDP_NAME_MAX 16 /* an encoding name, with its NUL */

enum fl_sdp_kind {
	FL_SDP_AUDIO,
	FL_SDP_VIDEO,
	FL_SDP_OTHER, /* application, image (T.38), text, message */
};

enum fl_sdp_dir {
	FL_SDP_SENDRECV, /* the default */
	FL_SDP_SENDONLY,
	FL_SDP_RECVONLY,
	FL_SDP_INACTIVE,
};

struct fl_sdp_codec {
	__u8 pt;
	bool mapped; /* named by a=rtpmap (else by RFC 3551, or not at all) */
	__u32 clock_rate; /* 0: unknown */
	char name[FL_SDP_NAME_MAX]; /* "" when unknown */
};

/* Where one endpoint wants to receive one media (c= and m=). */
struct fl_sdp_media {
	union fl_addr addr;
	__u8 family; /* 4 or 6 (as in flow keys); 0: no address (c= gave a
		      * host name, or none at all) */
	__u8 kind; /* enum fl_sdp_kind */
	__u8 dir; /* enum fl_sdp_dir */
	bool rtp; /* the transport is RTP/...: the formats are payload types */
	__u16 port; /* 0: the stream is refused or disabled */
	__u8 ncodecs;
	bool truncated; /* more payload types than FL_SDP_PT_MAX */
	struct fl_sdp_codec codecs[FL_SDP_PT_MAX];
};

struct fl_sdp {
	__u8 nmedia;
	bool truncated; /* more m= lines than FL_SDP_MEDIA_MAX */
	const char *error; /* -EBADMSG: what was wrong, for logs and tests */
	struct fl_sdp_media media[FL_SDP_MEDIA_MAX];
};

/*
 * Parses an SDP body: 0, or -EBADMSG (sdp->error names the line's fault).
 * Strict about what it reads (v=0 first; c= "IN IP4|IP6 address"; m=
 * "media port[/n] proto fmt..."; a=rtpmap "pt name/rate[/params]" for a
 * payload type of its m= line; lines of "x=value", no control bytes),
 * indifferent to the lines it does not need (o= s= t= b= and other a=).
 */
int fl_sdp_parse(const char *p, size_t len, struct fl_sdp *sdp);
/* The clock rate of @pt in @m: its rtpmap, else RFC 3551's; 0 if neither. */
__u32 fl_sdp_clock_rate(const struct fl_sdp_media *m, __u8 pt);
const char *fl_sdp_kind_name(enum fl_sdp_kind kind);
const char *fl_sdp_dir_name(enum fl_sdp_dir dir);
/* RFC 3551's static payload types: the clock rate (0 if @pt has none) and
 * the encoding name in @name if not NULL. */
__u32 fl_rtp_static_pt(__u8 pt, const char **name);

#endif /* FL_SIP_H */
