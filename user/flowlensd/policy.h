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
 *
 * The table itself and its matcher (policy_table_match(),
 * policy_def_matches(), policy_def_cmp()) are in policy_match.c: pure,
 * no daemon state, so a unit test (prog_tests/policy_match.c) runs them
 * on flows it makes up.
 */
#ifndef FLOWLENSD_POLICY_H
#define FLOWLENSD_POLICY_H

#include <stdbool.h>
#include <net/if.h>
#include <flowlens/flow.h>

#include "classify.h"
#include "prefix.h"

#define POLICY_WORDS_MAX 16
#define POLICER_NAME_MAX 32

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

/* ---- the table (policy_match.c) ---- */

enum pm_kind { PM_APP, PM_CATEGORY, PM_SNI, PM_JA3C, PM_RISK, PM_COUNT };
enum pm_dir { PD_ANY, PD_FROM, PD_TO };

/* One policy, as parsed from 'flctl policy add' words (policy.c). */
struct policy_def {
	__u32 id, order;
	__u16 slot;
	__u8 kind; /* enum pm_kind */
	__u8 dir; /* enum pm_dir */
	int value_id; /* app or category id, risk bit */
	char value[FL_CLS_SNI_MAX]; /* as shown: nDPI's name, the pattern */
	char dev[IF_NAMESIZE];
	int ifindex; /* 0: any; -1: dev is gone, never matches */
	struct fl_prefix prefix; /* dir != PD_ANY */
	__u8 action; /* enum fl_policy_action */
	__u8 dscp;
	__u32 table;
	char policer[POLICER_NAME_MAX];
	__u64 credit_packets, credit_bytes;
	char *words[POLICY_WORDS_MAX]; /* as given, for the file */
	int nwords;
};

/* What the workers match against: the policies in policy_def_cmp()
 * order, immutable. */
struct policy_table {
	size_t n;
	struct policy_def defs[];
};

/* qsort() order of an array of struct policy_def *: order, then id. */
int policy_def_cmp(const void *a, const void *b);
/* Does @p match the packets of @f from key.lo (@dir 0) or key.hi (1)? */
bool policy_def_matches(const struct policy_def *p, const struct policy_flow *f,
			int dir);
/* @slots[dir]: the slot of the first policy of @t (NULL: none) that
 * matches direction dir, 0 when none does. */
void policy_table_match(const struct policy_table *t,
			const struct policy_flow *f, __u16 slots[2]);

#endif /* FLOWLENSD_POLICY_H */
