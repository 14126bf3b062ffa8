/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: HEP3 mirroring of SIP (hep.c): the module, and what the workers
 * call.
 *
 *   hep_module    collectors (hep-add, hep-del, hep-list), kept in hep.json

 *   hep_wanted()  the one test a worker makes per frame: is there any
 *                 collector? (one relaxed load and a branch)
 *   hep_mirror()  one escalated packet: if it is a SIP message (UDP or TCP,
 *                 a SIP port on either side or a flow nDPI named SIP, a
 *                 payload that starts like SIP) it goes to every collector
 *                 as one HEP3 datagram, within each collector's rate cap
 *
 * Both are safe from any worker thread at once, and lock-free on the path
 * every message takes: a worker takes the module's lock only to copy the
 * collectors after they changed. The hep module opens before the workers
 * and closes after them, so d->hep is there for as long as they run.
 */
#ifndef FLOWLENSD_HEP_H
#define FLOWLENSD_HEP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "daemon.h"

extern const struct fl_module hep_module;

/* The start of the module's state: what hep_wanted() reads. */
struct hep_head {
	_Atomic unsigned int collectors;
};

static inline bool hep_wanted(const struct daemon *d)
{
	const struct hep_head *head = (const void *)d->hep;

	return atomic_load_explicit(&head->collectors, memory_order_relaxed);
}

/*
 * @l3: the packet from its IP header on, @l3_len bytes of it in the frame
 * (Ethernet padding may follow the datagram: the IP header's length is
 * what counts); @l4_off: where its TCP or UDP header starts, from @l3 (as
 * XDP found it, past any IPv6 extension header); @l4_proto: IPPROTO_UDP
 * or IPPROTO_TCP (anything else is ignored); @sip_flow: nDPI named the
 * flow SIP (a SIP port is not needed then). @worker: the worker's id.
 */
void hep_mirror(struct daemon *d, int worker, const void *l3, size_t l3_len,
		size_t l4_off, __u8 l4_proto, bool sip_flow);

#endif /* FLOWLENSD_HEP_H */
