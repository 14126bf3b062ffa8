/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: the VoIP engine (voip.c) to the rest of flowlensd.
 *   voip_method_name()/_parse()  "invite" <-> FL_SIP_INVITE, "rtp" <->
 *                                VOIP_RTP
 *   voip_limiter_counters()      what a VoIP host attack's method limiter
 *                                let through and dropped
 */
#ifndef FLOWLENSD_VOIP_H
#define FLOWLENSD_VOIP_H

#include <flowlens/voip.h>

#include "ddos.h"

/* After the SIP methods: what a VoIP threshold and attack may be about. */
enum {
	VOIP_RTP = FL_SIP_METHOD_COUNT, /* RTP from one source: a burst */
	VOIP_UNSOLICITED, /* RTP no SDP negotiated, from one source */
	VOIP_KINDS,
};

static inline bool voip_is_media(int method)
{
	return method == VOIP_RTP || method == VOIP_UNSOLICITED;
}

/* A SIP method's name, "rtp" or "unsolicited". */
const char *voip_method_name(int method);
/* The method (or VOIP_RTP, VOIP_UNSOLICITED) of a name (any case), or -1. */
int voip_method_parse(const char *name);
/* 0, or -ENOENT when the attack has no limiter. */
int voip_limiter_counters(struct daemon *d, const struct ddos_attack *a,
			  __u64 *passed, __u64 *dropped);

#endif /* FLOWLENSD_VOIP_H */
