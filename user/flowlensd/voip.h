/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: the VoIP engine (voip.c) to the rest of flowlensd.
 *   voip_method_name()/_parse()  "invite" <-> FL_SIP_INVITE
 *   voip_limiter_counters()      what a VoIP host attack's method limiter
 *                                let through and dropped
 */
#ifndef FLOWLENSD_VOIP_H
#define FLOWLENSD_VOIP_H

#include <flowlens/voip.h>

#include "ddos.h"

const char *voip_method_name(int method);
/* The method of a name (any case), or -1. */
int voip_method_parse(const char *name);
/* 0, or -ENOENT when the attack has no limiter. */
int voip_limiter_counters(struct daemon *d, const struct ddos_attack *a,
			  __u64 *passed, __u64 *dropped);

#endif /* FLOWLENSD_VOIP_H */
