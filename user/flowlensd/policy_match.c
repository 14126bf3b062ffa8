// SPDX-License-Identifier: Apache-2.0
/*
 * A flow's verdict against the policies (policy.h): what policy.c's
 * policy_match() runs under its lock for the workers and its pass over
 * the flow cache. Pure: no daemon state, no nDPI (the names are resolved
 * to ids when a policy is added), so prog_tests/policy_match.c links it
 * alone.
 */
#include <strings.h>
#include <string.h>
#include <sys/socket.h>

#include "policy.h"
#include "prefix.h"

/* "*.example.com": example.com and every name under it; else exact. */
static bool sni_matches(const char *pattern, const char *sni)
{
	size_t lp, ls;

	if (!sni[0])
		return false;
	if (strncmp(pattern, "*.", 2))
		return !strcasecmp(pattern, sni);
	pattern += 2;
	lp = strlen(pattern);
	ls = strlen(sni);
	if (ls == lp)
		return !strcasecmp(pattern, sni);
	return ls > lp && sni[ls - lp - 1] == '.' &&
	       !strcasecmp(sni + ls - lp, pattern);
}

bool policy_def_matches(const struct policy_def *p, const struct policy_flow *f,
			int dir)
{
	const union fl_addr *src, *dst;
	int family;

	switch (p->kind) {
	case PM_APP:
		if (p->value_id != f->app &&
		    !(f->master && p->value_id == f->master))
			return false;
		break;
	case PM_CATEGORY:
		if (p->value_id != f->category)
			return false;
		break;
	case PM_RISK:
		if (!(f->risk & (1ULL << p->value_id)))
			return false;
		break;
	case PM_SNI:
		if (!sni_matches(p->value, f->sni))
			return false;
		break;
	case PM_JA3C:
		if (strcasecmp(p->value, f->ja3c))
			return false;
		break;
	}
	if (p->ifindex && p->ifindex != (int)f->ifindex)
		return false;
	if (p->dir == PD_ANY)
		return true;
	family = f->key->family == 4 ? AF_INET : AF_INET6;
	src = dir ? &f->key->hi : &f->key->lo;
	dst = dir ? &f->key->lo : &f->key->hi;
	return fl_prefix_contains(&p->prefix, family,
				  p->dir == PD_FROM ? src : dst);
}

void policy_table_match(const struct policy_table *t,
			const struct policy_flow *f, __u16 slots[2])
{
	size_t i;
	int dir;

	slots[0] = slots[1] = 0;
	for (dir = 0; t && dir < 2; dir++)
		for (i = 0; i < t->n; i++)
			if (policy_def_matches(&t->defs[i], f, dir)) {
				slots[dir] = t->defs[i].slot;
				break;
			}
}

int policy_def_cmp(const void *a, const void *b)
{
	const struct policy_def *x = *(struct policy_def *const *)a;
	const struct policy_def *y = *(struct policy_def *const *)b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}
