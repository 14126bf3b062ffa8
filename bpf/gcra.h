/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * API: gcra_conform() - the one rate limiter of the program, a GCRA
 * (generic cell rate algorithm): a token bucket kept as a single time, the
 * theoretical arrival time (TAT) at which the bucket would be empty. Used
 * by the rule engine's rate-limit (bpf/rules.h, one TAT per rule shared by
 * every CPU) and the escalation cap (bpf/flowcache.h, one TAT per CPU).
 *
 * A packet costs @cost ns of TAT and conforms while the backlog it leaves
 * behind (TAT - now) is at most @depth ns: so @depth / @cost packets pass
 * back to back after an idle spell, then one every @cost ns.
 */
#ifndef FLOWLENS_BPF_GCRA_H
#define FLOWLENS_BPF_GCRA_H

#include "vmlinux.h"

/* Tries at the compare-and-swap of a shared TAT before a packet counts as
 * over the rate: one that keeps losing the race is over it anyway. */
#define GCRA_SHARED_TRIES 4
/*
 * How far past @depth a backlog may be and still be a backlog: two CPUs'
 * clocks are read at different instants (a coarse clock a whole tick
 * apart, 10 ms at HZ 100), so a CPU whose now is older than the TAT
 * another has just moved sees more than @depth. Refused, that packet waits
 * its turn; only a backlog beyond this is a rate changed under a live TAT.
 */
#define GCRA_SLACK_NS 20000000ULL

/*
 * 1 if a packet of @cost conforms at @now (and *tat takes it), else 0.
 * @shared: *tat is seen by every CPU, so it moves by compare-and-swap;
 * else it is per CPU and a plain store does. A backlog beyond @depth
 * (and GCRA_SLACK_NS) cannot build up under one rate; it is left by a
 * rate or burst changed under a live TAT (a rule replaced, escalate_pps
 * raised), and forgotten down to a full bucket rather than paid off at
 * the new rate.
 */
static __always_inline int gcra_conform(__u64 *tat, __u64 now, __u64 cost,
					__u64 depth, const bool shared)
{
	__u64 old, base;
	int i;

	for (i = 0; i < (shared ? GCRA_SHARED_TRIES : 1); i++) {
		old = shared ? *(volatile __u64 *)tat : *tat;
		base = old > now ? old : now;
		if (base - now > depth + GCRA_SLACK_NS)
			base = now + (depth > cost ? depth - cost : 0);
		if (base - now + cost > depth)
			return 0;
		if (!shared) {
			*tat = base + cost;
			return 1;
		}
		if (__sync_val_compare_and_swap(tat, old, base + cost) == old)
			return 1;
	}
	return 0;
}

#endif /* FLOWLENS_BPF_GCRA_H */
