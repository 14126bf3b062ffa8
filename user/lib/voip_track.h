/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: what the workers and `flowlensd replay --voip` keep about calls:
 * dialogs by Call-ID, with the media their SDP negotiated, and RTP streams
 * by (source, destination, SSRC), with loss and jitter as RFC 3550 counts
 * them. Each table has a size fixed when it is made and no global state;
 * time is the caller's (milliseconds, and microseconds for RTP arrivals,
 * as jitter needs finer than a millisecond), and entries go when the
 * caller asks (expire, flush), handed to a callback first.
 *   fl_voip_dialogs_new(), fl_voip_dialogs_free()
 *   fl_voip_dialog_msg()      a parsed SIP message -> its dialog (made at the
 *                             first message of a Call-ID), state and media
 *   fl_voip_dialog_find()     the dialog of a Call-ID, or NULL
 *   fl_voip_dialogs_expire()  those idle past their state's timeout
 *   fl_voip_dialogs_flush()   all of them (a capture ended)
 *   fl_voip_dialogs_walk()    every dialog to a callback, none removed
 *   fl_voip_dialogs_stats()
 *   fl_voip_media_lookup()    the dialog whose SDP offers (address, port)
 *                             for media, or NULL: one hash lookup
 *   fl_voip_dialog_duration_ms(), fl_voip_state_name()
 *   fl_rtp_parse()            an RTP header, checked (RFC 3550 5.1)
 *   fl_rtcp_check()           a whole (compound) RTCP packet, checked
 *   fl_voip_rtp_new(), fl_voip_rtp_free()
 *   fl_voip_rtp_packet()      an RTP packet -> its stream, counted
 *   fl_voip_rtp_find(), fl_voip_rtp_expire(), fl_voip_rtp_flush(),
 *   fl_voip_rtp_walk(), fl_voip_rtp_stats()
 *   fl_voip_rtp_expected(), fl_voip_rtp_lost(), fl_voip_rtp_jitter_ms()
 *
 * Dialog states, driven by requests and by responses whose CSeq names
 * INVITE (a response to an older INVITE than the latest changes nothing):
 *   non-invite  only other requests so far (REGISTER, OPTIONS, MESSAGE,
 *               SUBSCRIBE...): a Call-ID, not a call
 *   trying      an INVITE (or its 100), nothing more yet
 *   ringing     a 101-199 to the INVITE (180 Ringing, 183 Session Progress)
 *   answered    a 2xx to the INVITE: the call is up (a re-INVITE keeps it so)
 *   ended       a BYE (or a 2xx to one) - after the answer, or before it
 *   failed      a 3xx-6xx to the INVITE before any answer, without CANCEL
 *               (a new INVITE on the same Call-ID, as after a 401 or 407
 *               challenge, starts it again: trying)
 *   cancelled   a CANCEL before any answer (the 487 that follows keeps it
 *               so; a 2xx that crosses the CANCEL answers the call)
 * The call's duration runs from the answer to the end: to the BYE, or to
 * the last SIP message of a call still up.
 *
 * Media: each side's latest SDP (the caller's offer, the callee's answer,
 * or a re-INVITE's) replaces that side's media; the side is told by the
 * From tag, which is the caller's in every request the caller sends.
 * fl_voip_media_lookup() knows every media of every dialog in the table,
 * the ended ones too until they expire (their last packets are no
 * attack); media with port 0 or no address are not in it.
 */
#ifndef FL_VOIP_TRACK_H
#define FL_VOIP_TRACK_H

#include <stdbool.h>
#include <linux/types.h>
#include <flowlens/types.h>

#include "sip.h"

#define FL_VOIP_STATES(X)           \
	X(NON_INVITE, "non-invite") \
	X(TRYING, "trying")         \
	X(RINGING, "ringing")       \
	X(ANSWERED, "answered")     \
	X(ENDED, "ended")           \
	X(FAILED, "failed")         \
	X(CANCELLED, "cancelled")

enum fl_voip_state {
#define FL_X_VOIP_STATE(id, name) FL_VOIP_##id,
	FL_VOIP_STATES(FL_X_VOIP_STATE)
#undef FL_X_VOIP_STATE
		FL_VOIP_STATE_COUNT,
};

enum fl_voip_side {
	FL_VOIP_CALLER, /* the side that sent the first request */
	FL_VOIP_CALLEE,
};

#define FL_VOIP_URI_MAX 128 /* From and To URIs kept, NUL included */
#define FL_VOIP_MEDIA_PER_SIDE 3 /* m= lines kept of each side's SDP */
#define FL_VOIP_NIL 0xffffffffU

/* The tables' own: where an entry sits in their hash and age lists. */
struct fl_voip_link {
	__u32 hnext, prev, next;
	__u8 list;
};

struct fl_voip_dialog {
	char call_id[FL_SIP_CALL_ID_MAX + 1];
	char from[FL_VOIP_URI_MAX], to[FL_VOIP_URI_MAX]; /* cut if longer */
	enum fl_voip_state state;
	__u16 final_status; /* the INVITE's final response; 0 before */
	__u32 methods; /* bit n: a request of method n (FL_SIP_METHOD_EXT:
			* any other method) */
	__u32 responses[6]; /* 1xx .. 6xx */
	__u32 messages;
	__u32 invite_cseq; /* of the latest INVITE */
	bool invite_seen;
	__u64 caller_tag; /* a hash of the From tag of the first message */
	__u64 start_ms, answer_ms, end_ms, last_ms; /* 0: not yet */
	__u32 sdp_bodies, sdp_malformed;
	__u8 nmedia[2]; /* by enum fl_voip_side */
	struct fl_sdp_media media[2][FL_VOIP_MEDIA_PER_SIDE];
	/* the table's */
	struct fl_voip_link link;
	__u32 media_next[2][FL_VOIP_MEDIA_PER_SIDE];
	__u32 media_prev[2][FL_VOIP_MEDIA_PER_SIDE];
};

struct fl_voip_dialog_conf {
	__u32 max_dialogs; /* room; 0: 16384 */
	__u32 setup_ms; /* non-invite, trying, ringing: idle this long
			 * goes (0: 180 s, INVITE's timer C) */
	__u32 call_ms; /* answered, without SIP this long (0: 2 h) */
	__u32 linger_ms; /* ended, failed, cancelled: kept this long after
			  * their last message (0: 32 s, 64 x T1) */
	__u64 seed; /* keys the hashes; random, so that Call-IDs cannot
		     * be chosen to fall in one bucket */
};

struct fl_voip_dialog_stats {
	__u64 created;
	__u64 dropped; /* a new Call-ID while the table was full */
	__u64 expired; /* by fl_voip_dialogs_expire() */
	__u64 sdp_bodies, sdp_malformed;
	__u64 media_dropped; /* m= lines past FL_VOIP_MEDIA_PER_SIDE */
	__u32 active;
	__u32 max_dialogs;
};

typedef void (*fl_voip_dialog_cb)(const struct fl_voip_dialog *d, void *arg);

struct fl_voip_dialogs;

/* NULL and errno ENOMEM if the table cannot be allocated. */
struct fl_voip_dialogs *
fl_voip_dialogs_new(const struct fl_voip_dialog_conf *conf);
void fl_voip_dialogs_free(struct fl_voip_dialogs *t);
/*
 * One message that fl_sip_parse() accepted, at @now_ms: its dialog after
 * the message, or NULL if it is a new Call-ID and the table is full
 * (counted as dropped), or if the message is one that failed. @now_ms
 * never goes back (the age lists are kept in arrival order).
 */
const struct fl_voip_dialog *fl_voip_dialog_msg(struct fl_voip_dialogs *t,
						const struct fl_sip_msg *msg,
						__u64 now_ms);
const struct fl_voip_dialog *
fl_voip_dialog_find(const struct fl_voip_dialogs *t, const char *call_id,
		    __u32 len);
/* Hands each dialog whose timeout has passed to @cb (may be NULL), then
 * forgets it. Cheap when nothing is due: call it every second or so. */
void fl_voip_dialogs_expire(struct fl_voip_dialogs *t, __u64 now_ms,
			    fl_voip_dialog_cb cb, void *arg);
/* Every dialog to @cb, in table order (the order they were made, until
 * entries are reused), then none is left. */
void fl_voip_dialogs_flush(struct fl_voip_dialogs *t, fl_voip_dialog_cb cb,
			   void *arg);
/* Every dialog to @cb, in table order; the table is left as it is (a
 * reader's walk: the workers' control commands). */
void fl_voip_dialogs_walk(const struct fl_voip_dialogs *t, fl_voip_dialog_cb cb,
			  void *arg);
void fl_voip_dialogs_stats(const struct fl_voip_dialogs *t,
			   struct fl_voip_dialog_stats *stats);
/* @family 4 or 6, @port in host order; *media (if not NULL) is the m=
 * line's. The latest dialog to offer it, if several did. */
const struct fl_voip_dialog *
fl_voip_media_lookup(const struct fl_voip_dialogs *t, __u8 family,
		     const union fl_addr *addr, __u16 port,
		     const struct fl_sdp_media **media);
__u64 fl_voip_dialog_duration_ms(const struct fl_voip_dialog *d);
const char *fl_voip_state_name(enum fl_voip_state state);

/* ---- RTP --------------------------------------------------------------- */

struct fl_rtp_hdr {
	__u8 pt;
	bool marker;
	__u8 csrc_count;
	__u16 seq;
	__u32 ts, ssrc;
	__u32 header_len; /* fixed header, CSRCs and extension */
	__u32 payload_len; /* without the padding */
};

/*
 * An RTP packet (the UDP payload): version 2; a payload type that is not
 * RTCP's (72-76, RFC 3550 5.1); room for the CSRCs and the header
 * extension it declares; a padding count that fits. 0, or -EINVAL.
 */
int fl_rtp_parse(const void *p, __u32 len, struct fl_rtp_hdr *h);
/* Version 2 and packet types 192-223 (RFC 5761) in every part of a
 * compound packet whose lengths add up to exactly @len. */
bool fl_rtcp_check(const void *p, __u32 len);

struct fl_rtp_key {
	union fl_addr src, dst;
	__u16 sport, dport; /* host order */
	__u32 ssrc;
	__u8 family; /* 4 or 6 */
	__u8 pad[3];
};

struct fl_rtp_stream {
	struct fl_rtp_key key;
	__u8 pt; /* of the first packet */
	bool confirmed; /* a second packet carried on the first's sequence */
	bool negotiated; /* an SDP named one of its ends (the caller says) */
	__u32 clock_rate; /* Hz, what jitter is measured in */
	__u64 packets, bytes; /* bytes: RTP header and payload */
	__u32 pt_changes; /* packets of another payload type than pt */
	/* RFC 3550 A.1 */
	__u16 max_seq;
	__u32 base_seq, bad_seq;
	__u64 cycles; /* 65536 per wrap of the sequence number */
	__u64 received; /* what A.3's loss counts against */
	/* A.8 */
	__u32 transit;
	double jitter; /* in timestamp units */
	__u64 first_us, first_ms, last_ms;
	/* the caller's, kept with the stream and never read here: packets it
	 * judged unsolicited (the workers: towards a protected host, on a
	 * port no dialog's SDP named) */
	__u64 unsolicited;
	__u32 tag; /* the caller's too: the workers' protected-prefix slot */
	/* the table's */
	struct fl_voip_link link;
};

struct fl_voip_rtp_conf {
	__u32 max_streams; /* room; 0: 16384 */
	__u32 idle_ms; /* a stream without packets this long goes (0: 30 s) */
	__u32 probation_ms; /* one not confirmed nor negotiated (0: 5 s) */
	__u64 seed;
};

struct fl_voip_rtp_stats {
	__u64 created;
	__u64 dropped; /* a new stream while the table was full of confirmed
			* or negotiated ones */
	__u64 evicted; /* an unconfirmed stream pushed out by a new one */
	__u64 expired;
	__u32 active;
	__u32 max_streams;
};

typedef void (*fl_rtp_stream_cb)(const struct fl_rtp_stream *s, void *arg);

struct fl_voip_rtp;

struct fl_voip_rtp *fl_voip_rtp_new(const struct fl_voip_rtp_conf *conf);
void fl_voip_rtp_free(struct fl_voip_rtp *t);
/*
 * One packet of @key with header @h (@bytes: the UDP payload's length),
 * arrived at @arrival_us. @clock_rate: the payload type's clock rate as
 * the dialog's SDP gives it, or 0 (RFC 3551's for a static type, else
 * 8000); it is taken when the stream is made. @negotiated: the caller
 * found an end of it in a dialog's SDP. Returns the stream, or NULL if it
 * is new and there is no room (counted). @arrival_us never goes back.
 */
struct fl_rtp_stream *fl_voip_rtp_packet(struct fl_voip_rtp *t,
					 const struct fl_rtp_key *key,
					 const struct fl_rtp_hdr *h,
					 __u32 bytes, __u64 arrival_us,
					 __u32 clock_rate, bool negotiated);
const struct fl_rtp_stream *fl_voip_rtp_find(const struct fl_voip_rtp *t,
					     const struct fl_rtp_key *key);
void fl_voip_rtp_expire(struct fl_voip_rtp *t, __u64 now_ms,
			fl_rtp_stream_cb cb, void *arg);
void fl_voip_rtp_flush(struct fl_voip_rtp *t, fl_rtp_stream_cb cb, void *arg);
/* Every stream to @cb, in table order; the table is left as it is. */
void fl_voip_rtp_walk(const struct fl_voip_rtp *t, fl_rtp_stream_cb cb,
		      void *arg);
void fl_voip_rtp_stats(const struct fl_voip_rtp *t,
		       struct fl_voip_rtp_stats *stats);
/* RFC 3550 A.3: extended highest sequence - base + 1, and that less what
 * was received (negative when packets came twice). */
__u64 fl_voip_rtp_expected(const struct fl_rtp_stream *s);
__s64 fl_voip_rtp_lost(const struct fl_rtp_stream *s);
double fl_voip_rtp_jitter_ms(const struct fl_rtp_stream *s);

#endif /* FL_VOIP_TRACK_H */
