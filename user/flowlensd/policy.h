/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: per-application policy, as the workers see it (policy.c).
 *
 * A worker matches a flow when it writes the flow's verdict into the flow
 * cache, and writes the slot of the policy each direction matched with it
 * (fl_flow.policy[]). When the policies change, policy_generation() moves
 * on, and each worker matches the final flows of its table again (its
 * table has their SNI and JA3), rewriting the slots that changed.
 *
 * policy_match() is safe from any thread: it holds the module's lock while
 * it reads the table the control thread swaps in.
 */
#ifndef FLOWLENSD_POLICY_H
#define FLOWLENSD_POLICY_H

#include <flowlens/flow.h>

struct daemon;

/* What a flow is matched on, from its verdict. */
struct policy_flow {
	const struct fl_flow_key *key;
	__u32 ifindex; /* the interface its first packet came in on */
	__u16 app, master, category; /* nDPI ids */
	__u64 risk; /* nDPI's risk bitmap */
	const char *sni; /* "" when none */
	const char *ja3c; /* "" when none */
};

/* @slots[dir]: the policy slot of packets from key.lo (0) and key.hi
 * (1), 0 when no policy applies. */
void policy_match(struct daemon *d, const struct policy_flow *f,
		  __u16 slots[2]);
unsigned int policy_generation(struct daemon *d);

#endif /* FLOWLENSD_POLICY_H */
