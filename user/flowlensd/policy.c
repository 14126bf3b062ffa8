// SPDX-License-Identifier: Apache-2.0
/*
 * Per-application policy: the policy-* and policer-* commands, the table
 * the workers match flows against (policy.h), the maps the datapath
 * follows (include/flowlens/policy.h) and the file that carries them
 * across a reboot.
 *
 * A policy names one thing a flow's verdict has - an app (nDPI's app or
 * master protocol: "TLS.YouTube" is YouTube and TLS), a category, an SNI
 * (exact, or "*.example.com": the domain and every name under it), the
 * client's JA3 hash or an nDPI risk - with an optional interface (the
 * one its first packet came in on) and direction (packets from, or to, a
 * prefix), an order (lowest first; the first policy that matches a
 * direction is its policy) and an action: drop, permit, police NAME,
 * dscp-mark N, steer table N (router mode).
 *
 * Slots: each policy and policer has one in its map; flows hold policy
 * slots. A deleted policy's slot is emptied at once (its flows pass
 * untouched until the workers match them again, a worker round later)
 * and slots are handed out round robin, so one is reused only after every
 * other has been. The slots are kept in the file, so a restarted daemon
 * finds the flows already in the cache pointing at the same policies.
 *
 * POLICY_FILE (next to the state file, user/lib/persist.c), written at
 * every change:
 *   {"format": "flowlens-policy", "version": 1, "saved_at": ...,
 *    "next_id": N, "next_slot": N, "next_policer_slot": N,
 *    "policers": [{"name", "slot", "rate", "unit", "burst", "exceed",
 *                  "exceed_dscp"}, ...],
 *    "policies": [{"id", "slot", "order", "words": [...], "credit_packets",
 *                  "credit_bytes"}, ...]}
 * A policy is kept as the words 'flctl policy add' took, parsed again at
 * restore; "credit_*" are the packets of its flows before their verdicts.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "bus.h"
#include "classify.h"
#include "commands.h"
#include "daemon.h"
#include "log.h"
#include "module.h"
#include "persist.h"
#include "policy.h"
#include "prefix.h"
#include "rule.h"
#include "units.h"
#include "workers.h"
#include "flowlens.skel.h"

#define POLICY_FILE "policy.json"
#define RATE_BPS_MAX 400000000000ULL /* 400G */
#define RATE_PPS_MAX 1000000000ULL
#define BURST_BYTES_MIN 1500 /* a full-size packet */

static const struct fl_persist_format policy_format = {
	.name = "flowlens-policy",
	.version = 1,
};

static const char *const kind_names[PM_COUNT] = { "app", "category", "sni",
						  "ja3c", "risk" };
static const char *const action_names[] = { "none",   "drop",	   "permit",
					    "police", "dscp-mark", "steer" };

struct policer_def {
	char name[POLICER_NAME_MAX];
	__u16 slot;
	__u64 rate; /* bits or packets a second */
	__u8 unit; /* enum fl_rate_unit */
	__u64 burst; /* bytes (bps) or packets */
	__u8 exceed; /* enum fl_policer_exceed */
	__u8 exceed_dscp;
};

struct policy {
	pthread_mutex_t lock; /* table */
	struct policy_table *table;
	_Atomic unsigned int gen;

	/* the control thread's */
	struct policy_def *defs[FL_POLICIES_MAX];
	size_t nr_defs; /* in (order, id) order */
	struct policer_def pols[FL_POLICERS_MAX];
	size_t nr_pols;
	__u32 next_id; /* the last id given */
	__u16 next_slot, next_pslot;
	int fd_policies, fd_policers, fd_stats;
	struct fl_cls *names;
	char path[PATH_MAX];
	unsigned int ncpus;
	bool credit_dirty; /* credits not in the file yet */
	__u64 rematched; /* flows flows_rematch() gave other slots */
};

/* ---- matching (any thread) ---- */

void policy_match(struct daemon *d, const struct policy_flow *f, __u16 slots[2])
{
	struct policy *pol = d->policy;

	slots[0] = slots[1] = 0;
	if (!pol)
		return;
	pthread_mutex_lock(&pol->lock);
	policy_table_match(pol->table, f, slots);
	pthread_mutex_unlock(&pol->lock);
}

unsigned int policy_generation(struct daemon *d)
{
	return d->policy ? atomic_load(&d->policy->gen) : 0;
}

/* ---- maps and the workers' table ---- */

static int map_fd(struct daemon *d, const char *name)
{
	return bpf_object__find_map_fd_by_name(d->skel->obj, name);
}

static struct policer_def *policer_find(struct policy *pol, const char *name)
{
	size_t i;

	for (i = 0; i < pol->nr_pols; i++)
		if (!strcmp(pol->pols[i].name, name))
			return &pol->pols[i];
	return NULL;
}

static void stats_zero(struct policy *pol, __u32 key)
{
	size_t len = pol->ncpus * sizeof(struct fl_policy_stats);
	void *zero = calloc(1, len);

	if (zero && bpf_map_update_elem(pol->fd_stats, &key, zero, 0))
		pr_warn("policy: cannot clear the counters of slot %u: %s", key,
			strerror(errno));
	free(zero);
}

/* The per-CPU counters of @key, summed. */
static void stats_sum(struct policy *pol, __u32 key,
		      struct fl_policy_stats *sum)
{
	struct fl_policy_stats *per = calloc(pol->ncpus, sizeof(*per));
	__u64 *out = (__u64 *)sum;
	unsigned int c, i;

	memset(sum, 0, sizeof(*sum));
	if (!per || bpf_map_lookup_elem(pol->fd_stats, &key, per)) {
		free(per);
		return;
	}
	for (c = 0; c < pol->ncpus; c++)
		for (i = 0; i < sizeof(*sum) / sizeof(__u64); i++)
			out[i] += ((__u64 *)&per[c])[i];
	free(per);
}

static int policy_write(struct policy *pol, const struct policy_def *p)
{
	struct fl_policy v = { .id = p->id, .action = p->action };
	__u32 key = p->slot;

	if (p->action == FL_POLICY_MARK)
		v.mark = FL_MARK_SET | p->dscp;
	if (p->action == FL_POLICY_STEER)
		v.table = p->table;
	if (p->action == FL_POLICY_POLICE) {
		const struct policer_def *q = policer_find(pol, p->policer);

		v.policer = q ? q->slot : 0;
	}
	return bpf_map_update_elem(pol->fd_policies, &key, &v, 0) ? -errno : 0;
}

static void slot_clear(int fd, __u32 slot, size_t size)
{
	char zero[64] = {};

	if (size <= sizeof(zero))
		bpf_map_update_elem(fd, &slot, zero, 0);
}

/* The bucket as the datapath keeps it (include/flowlens/policy.h); its
 * TAT kept when the pinned slot already holds this policer (a restart). */
static int policer_write(struct policy *pol, const struct policer_def *q,
			 bool keep_tat)
{
	struct fl_policer v = {}, old;
	__u32 key = q->slot;
	unsigned __int128 depth;

	v.id = q->slot;
	v.rate_unit = q->unit;
	v.exceed = q->exceed;
	v.exceed_mark = q->exceed == FL_POLICER_EXCEED_MARK ?
				FL_MARK_SET | q->exceed_dscp :
				0;
	if (q->unit == FL_RATE_BPS) {
		/* ns per byte of IP datagram; the burst is in bytes */
		v.cost = (8000000000ULL << FL_RATE_SHIFT) / q->rate;
	} else {
		v.cost = (1000000000ULL << FL_RATE_SHIFT) / q->rate;
	}
	depth = ((unsigned __int128)q->burst * v.cost) >> FL_RATE_SHIFT;
	v.depth = depth > ~0ULL ? ~0ULL : (__u64)depth;
	if (keep_tat && !bpf_map_lookup_elem(pol->fd_policers, &key, &old) &&
	    old.id == v.id && old.cost == v.cost && old.depth == v.depth)
		v.tat = old.tat;
	return bpf_map_update_elem(pol->fd_policers, &key, &v, 0) ? -errno : 0;
}

/* A new table for the workers, swapped in; they match again. */
static int table_publish(struct policy *pol)
{
	struct policy_table *t, *old;
	size_t i;

	t = malloc(sizeof(*t) + pol->nr_defs * sizeof(t->defs[0]));
	if (!t)
		return -ENOMEM;
	t->n = pol->nr_defs;
	for (i = 0; i < pol->nr_defs; i++)
		t->defs[i] = *pol->defs[i];
	pthread_mutex_lock(&pol->lock);
	old = pol->table;
	pol->table = t;
	pthread_mutex_unlock(&pol->lock);
	atomic_fetch_add(&pol->gen, 1);
	free(old);
	return 0;
}

static struct policy_def *def_by_slot(struct policy *pol, __u16 slot);

/* A flow whose SNI and JA3 are no longer known keeps an SNI or JA3
 * policy it was given while they were, unless a policy before it in order
 * matches it now. */
static void keep_name_slots(struct policy *pol, const __u16 had[2],
			    __u16 slots[2])
{
	const struct policy_def *old, *now;
	int dir;

	for (dir = 0; dir < 2; dir++) {
		old = had[dir] ? def_by_slot(pol, had[dir]) : NULL;
		if (!old || (old->kind != PM_SNI && old->kind != PM_JA3C))
			continue;
		now = slots[dir] ? def_by_slot(pol, slots[dir]) : NULL;
		if (!now || policy_def_cmp(&old, &now) < 0)
			slots[dir] = had[dir];
	}
}

/*
 * Every flow of the cache with a final verdict, matched against the table
 * just published: the workers match again the flows of their own tables
 * (policy_generation()), but a flow idle past the worker's timeout, or
 * classified before flowlensd started, is in the cache and in no worker's
 * table. Its SNI and JA3 are what the workers reported (none once it has
 * left their tables: then only app, category and risk policies can match
 * it). Both may write one flow; they write the same slots where the SNI
 * is known to both. Returns the flows given other slots.
 */
static unsigned int flows_rematch(struct daemon *d)
{
	int fd = map_fd(d, FL_STRINGIFY(FL_MAP_FLOWS));
	struct fl_flow_key key, next;
	unsigned int changed = 0;
	struct fl_flow v;
	__u16 slots[2];
	bool first = true, known;

	if (fd < 0)
		return 0;
	while (!bpf_map_get_next_key(fd, first ? NULL : &key, &next)) {
		struct policy_flow pf = { .key = &next };

		first = false;
		key = next;
		if (bpf_map_lookup_elem(fd, &key, &v) ||
		    !(v.flags & FL_FLOW_F_BYPASS))
			continue;
		pf.ifindex = v.ifindex;
		pf.app = v.app;
		pf.master = v.master;
		pf.category = v.category;
		pf.risk = v.risk;
		known = workers_flow_names(d, &key, &pf.sni, &pf.ja3c);
		policy_match(d, &pf, slots);
		if (!known)
			keep_name_slots(d->policy, v.policy, slots);
		if (slots[0] == v.policy[0] && slots[1] == v.policy[1])
			continue;
		v.policy[0] = slots[0];
		v.policy[1] = slots[1];
		if (!bpf_map_update_elem(fd, &key, &v, BPF_EXIST))
			changed++;
	}
	return changed;
}

/* ---- parsing ---- */

static bool parse_ulong(const char *text, unsigned long long min,
			unsigned long long max, unsigned long long *v)
{
	char *end;

	if (!text || !*text || *text == '-')
		return false;
	errno = 0;
	*v = strtoull(text, &end, 10);
	return !errno && !*end && *v >= min && *v <= max;
}

static int sni_check(const char *s, char *err, size_t errlen)
{
	const char *p = s, *label = s;

	if (!strncmp(p, "*.", 2))
		p = label = s + 2;
	if (!*p || strlen(s) >= FL_CLS_SNI_MAX)
		return fl_errf(
			err, errlen, -EINVAL,
			"bad sni '%s': a host name (www.example.com) or *.DOMAIN, under %d characters",
			s, FL_CLS_SNI_MAX);
	for (; *p; p++) {
		if (*p == '.') {
			if (p == label)
				break;
			label = p + 1;
			continue;
		}
		if (!(*p == '-' || *p == '_' || (*p >= '0' && *p <= '9') ||
		      (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			break;
	}
	if (*p || p == label)
		return fl_errf(
			err, errlen, -EINVAL,
			"bad sni '%s': letters, digits, '-' and '_' in dot-separated labels, '*.' only in front (*.example.com)",
			s);
	return 0;
}

static struct fl_cls *names(struct policy *pol)
{
	if (!pol->names)
		pol->names =
			fl_cls_new(&(struct fl_cls_opts){ .max_flows = 1 });
	return pol->names;
}

/* @word as an nDPI app, category or risk into p->value_id and p->value. */
static int name_resolve(struct policy *pol, struct policy_def *p,
			const char *word, char *err, size_t errlen)
{
	static const enum fl_cls_name_kind kinds[] = {
		[PM_APP] = FL_CLS_NAME_APP,
		[PM_CATEGORY] = FL_CLS_NAME_CATEGORY,
		[PM_RISK] = FL_CLS_NAME_RISK,
	};
	enum fl_cls_name_kind k = kinds[p->kind];
	struct fl_cls *cls = names(pol);
	char close[256];
	int id;

	if (!cls)
		return fl_errf(err, errlen, -ENOMEM,
			       "cannot load nDPI's names");
	id = fl_cls_name_id(cls, k, word);
	if (id < 0 || (p->kind == PM_RISK && id == 0)) {
		if (fl_cls_name_close(cls, k, word, close, sizeof(close)))
			return fl_errf(err, errlen, -EINVAL,
				       "unknown %s '%s' (did you mean: %s?)",
				       kind_names[p->kind], word, close);
		return fl_errf(
			err, errlen, -EINVAL, "unknown %s '%s' (%s)",
			kind_names[p->kind], word,
			p->kind == PM_RISK ?
				"one of nDPI's flow risks, words joined by '-': xss-attack, known-protocol-on-non-standard-port, ..." :
				"a name nDPI gives: 'flctl show apps' lists applications and their categories");
	}
	p->value_id = id;
	snprintf(p->value, sizeof(p->value), "%s", fl_cls_name_of(cls, k, id));
	return 0;
}

/*
 * 'policy add' words: KIND VALUE [dev IF] [from|to PREFIX] [order N]
 * action ACTION, in any order before the action. @restoring: words from
 * the file, where a missing interface or another mode refuses nothing.
 */
static int policy_parse(struct daemon *d, struct policy *pol, char **w, int nw,
			bool restoring, struct policy_def *p, char *err,
			size_t errlen)
{
	unsigned long long n;
	bool have_kind = false, have_action = false, have_order = false;
	int i, k, ret;

	memset(p, 0, sizeof(*p));
	p->order = FL_RULE_ORDER_DEFAULT;
	for (i = 0; i < nw; i++) {
		const char *kw = w[i], *arg = i + 1 < nw ? w[i + 1] : NULL;

		if (have_action)
			return fl_errf(err, errlen, -EINVAL,
				       "unexpected '%s' after the action", kw);
		for (k = 0; k < PM_COUNT; k++)
			if (!strcmp(kw, kind_names[k]))
				break;
		if (k < PM_COUNT) {
			if (have_kind)
				return fl_errf(
					err, errlen, -EINVAL,
					"'%s': a policy matches one of app, category, sni, ja3c or risk",
					kw);
			if (!arg)
				return fl_errf(err, errlen, -EINVAL,
					       "'%s' needs a value", kw);
			p->kind = k;
			have_kind = true;
			i++;
			if (k == PM_SNI) {
				ret = sni_check(arg, err, errlen);
				if (ret)
					return ret;
				snprintf(p->value, sizeof(p->value), "%s", arg);
			} else if (k == PM_JA3C) {
				size_t j;

				for (j = 0; arg[j] && j < 33; j++)
					if (!strchr("0123456789abcdefABCDEF",
						    arg[j]))
						break;
				if (j != 32 || arg[j])
					return fl_errf(
						err, errlen, -EINVAL,
						"bad ja3c '%s': the client's JA3, 32 hex digits",
						arg);
				for (j = 0; j < 32; j++)
					p->value[j] = tolower(arg[j]);
			} else {
				ret = name_resolve(pol, p, arg, err, errlen);
				if (ret)
					return ret;
			}
		} else if (!strcmp(kw, "dev")) {
			if (!arg)
				return fl_errf(err, errlen, -EINVAL,
					       "'dev' needs an interface");
			if (strlen(arg) >= IF_NAMESIZE)
				return fl_errf(
					err, errlen, -EINVAL,
					"bad dev '%s': an interface name", arg);
			p->ifindex = if_nametoindex(arg);
			/* kept from the file, matching nothing, until the
			 * interface is back and the policy added again */
			if (!p->ifindex && restoring) {
				pr_warn("policy: no interface %s: its policy matches nothing",
					arg);
				p->ifindex = -1;
			}
			if (!p->ifindex)
				return fl_errf(
					err, errlen, -ENODEV,
					"bad dev '%s': no such interface", arg);
			snprintf(p->dev, sizeof(p->dev), "%s", arg);
			i++;
		} else if (!strcmp(kw, "from") || !strcmp(kw, "to")) {
			char perr[128];

			if (p->dir != PD_ANY)
				return fl_errf(err, errlen, -EINVAL,
					       "'%s': one of from or to", kw);
			if (!arg || fl_prefix_parse(arg, &p->prefix, perr,
						    sizeof(perr)))
				return fl_errf(
					err, errlen, -EINVAL,
					"bad %s '%s': a prefix (192.0.2.0/24, 2001:db8::/32)",
					kw, arg ?: "");
			p->dir = kw[0] == 'f' ? PD_FROM : PD_TO;
			i++;
		} else if (!strcmp(kw, "order")) {
			if (have_order ||
			    !parse_ulong(arg, 0, 0xffffffffULL, &n))
				return fl_errf(
					err, errlen, -EINVAL,
					have_order ?
						"'order' given twice" :
						"bad order '%s': a number 0-4294967295 (lowest first)",
					arg ?: "");
			p->order = n;
			have_order = true;
			i++;
		} else if (!strcmp(kw, "action")) {
			if (!arg)
				return fl_errf(
					err, errlen, -EINVAL,
					"'action' needs drop, permit, police NAME, dscp-mark N or steer table N");
			i++;
			have_action = true;
			if (!strcmp(arg, "drop")) {
				p->action = FL_POLICY_DROP;
			} else if (!strcmp(arg, "permit")) {
				p->action = FL_POLICY_PERMIT;
			} else if (!strcmp(arg, "police")) {
				if (i + 1 >= nw)
					return fl_errf(
						err, errlen, -EINVAL,
						"'police' needs a policer's name");
				if (!policer_find(pol, w[i + 1]))
					return fl_errf(
						err, errlen, -ENOENT,
						"no policer '%s' (flctl policer add %s rate RATE ...)",
						w[i + 1], w[i + 1]);
				snprintf(p->policer, sizeof(p->policer), "%s",
					 w[++i]);
				p->action = FL_POLICY_POLICE;
			} else if (!strcmp(arg, "dscp-mark")) {
				if (!parse_ulong(i + 1 < nw ? w[i + 1] : NULL,
						 0, 63, &n))
					return fl_errf(
						err, errlen, -EINVAL,
						"bad dscp-mark '%s': a DSCP 0-63",
						i + 1 < nw ? w[i + 1] : "");
				p->dscp = n;
				p->action = FL_POLICY_MARK;
				i++;
			} else if (!strcmp(arg, "steer")) {
				if (i + 2 >= nw || strcmp(w[i + 1], "table") ||
				    !parse_ulong(w[i + 2], 1, 0xffffffffULL,
						 &n))
					return fl_errf(
						err, errlen, -EINVAL,
						"bad steer: 'steer table N', N a routing table 1-4294967295");
				if (d->opt.mode != FL_MODE_ROUTER && !restoring)
					return fl_errf(
						err, errlen, -EINVAL,
						"'steer' routes packets: it needs router mode (flowlensd --mode router)");
				p->table = n;
				p->action = FL_POLICY_STEER;
				i += 2;
			} else {
				return fl_errf(
					err, errlen, -EINVAL,
					"bad action '%s': drop, permit, police NAME, dscp-mark N or steer table N",
					arg);
			}
		} else {
			return fl_errf(
				err, errlen, -EINVAL,
				"unknown word '%s': app, category, sni, ja3c, risk, dev, from, to, order or action",
				kw);
		}
	}
	if (!have_kind)
		return fl_errf(
			err, errlen, -EINVAL,
			"what does it match? app NAME, category NAME, sni PATTERN, ja3c HASH or risk NAME");
	if (!have_action)
		return fl_errf(
			err, errlen, -EINVAL,
			"no action: end with 'action drop', 'action permit', 'action police NAME', 'action dscp-mark N' or 'action steer table N'");
	if (nw > POLICY_WORDS_MAX)
		return fl_errf(err, errlen, -E2BIG, "too many words");
	return 0;
}

/* RATE: bits/s (5M, 5Mbps) or packets/s (10kpps), 1 to 400G: the rules'
 * rate, but a bare number is bits here (a policer's rate, as VPP's). */
static int rate_parse(const char *text, __u64 *rate, __u8 *unit)
{
	size_t len = text ? strlen(text) : 0;

	if (!text || fl_rule_parse_rate(text, rate, unit))
		return -EINVAL;
	if (len <= 3 || strcmp(text + len - 3, "pps"))
		*unit = FL_RATE_BPS;
	if (*rate > (*unit == FL_RATE_BPS ? RATE_BPS_MAX : RATE_PPS_MAX))
		return -ERANGE;
	return 0;
}

/* 'policer add' words: NAME rate RATE [burst B] [exceed drop|dscp-mark N] */
static int policer_parse(char **w, int nw, struct policer_def *q, char *err,
			 size_t errlen)
{
	unsigned long long n;
	uint64_t burst = 0;
	int i, ret;

	memset(q, 0, sizeof(*q));
	if (nw < 1 || !w[0][0] || strlen(w[0]) >= POLICER_NAME_MAX ||
	    strspn(w[0],
		   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
		    strlen(w[0]))
		return fl_errf(
			err, errlen, -EINVAL,
			"bad policer name '%s': letters, digits, '-', '_', '.', under %d characters",
			nw ? w[0] : "", POLICER_NAME_MAX);
	snprintf(q->name, sizeof(q->name), "%s", w[0]);
	for (i = 1; i < nw; i++) {
		const char *kw = w[i], *arg = i + 1 < nw ? w[i + 1] : NULL;

		if (!strcmp(kw, "rate")) {
			ret = rate_parse(arg, &q->rate, &q->unit);
			if (ret)
				return fl_errf(
					err, errlen, -EINVAL,
					ret == -ERANGE ?
						"bad rate '%s': beyond 400G bits/s (or 1G packets/s)" :
						"bad rate '%s': bits/s (5M, 5Mbps) or packets/s (10kpps), above 0",
					arg ?: "");
			i++;
		} else if (!strcmp(kw, "burst")) {
			if (!arg || fl_parse_count(arg, &burst) || !burst)
				return fl_errf(
					err, errlen, -EINVAL,
					"bad burst '%s': bytes (40K) for a bits/s rate, packets for packets/s",
					arg ?: "");
			i++;
		} else if (!strcmp(kw, "exceed")) {
			if (arg && !strcmp(arg, "drop")) {
				q->exceed = FL_POLICER_EXCEED_DROP;
				i++;
			} else if (arg && !strcmp(arg, "dscp-mark")) {
				if (!parse_ulong(i + 2 < nw ? w[i + 2] : NULL,
						 0, 63, &n))
					return fl_errf(
						err, errlen, -EINVAL,
						"bad dscp-mark '%s': a DSCP 0-63",
						i + 2 < nw ? w[i + 2] : "");
				q->exceed = FL_POLICER_EXCEED_MARK;
				q->exceed_dscp = n;
				i += 2;
			} else {
				return fl_errf(
					err, errlen, -EINVAL,
					"bad exceed '%s': drop or dscp-mark N",
					arg ?: "");
			}
		} else {
			return fl_errf(
				err, errlen, -EINVAL,
				"unknown word '%s': rate, burst or exceed", kw);
		}
	}
	if (!q->rate)
		return fl_errf(err, errlen, -EINVAL,
			       "policer %s needs a rate (rate 5M, rate 10kpps)",
			       q->name);
	/* Default: 100 ms of the rate. At least 10 ms of it, whatever is
	 * asked: the datapath reads the coarse clock, which moves a tick
	 * (up to 10 ms) at a time, and a bucket must hold what a tick brings;
	 * and at least a full-size packet (bits/s) or one packet. */
	if (q->unit == FL_RATE_BPS) {
		if (!burst)
			burst = q->rate / 80;
		if (burst < q->rate / 800)
			burst = q->rate / 800;
		if (burst < BURST_BYTES_MIN)
			burst = BURST_BYTES_MIN;
	} else {
		if (!burst)
			burst = q->rate / 10;
		if (burst < q->rate / 100)
			burst = q->rate / 100;
		if (!burst)
			burst = 1;
	}
	q->burst = burst;
	return 0;
}

/* ---- the policies, in order ---- */

static struct policy_def *def_by_id(struct policy *pol, __u32 id, size_t *at)
{
	size_t i;

	for (i = 0; i < pol->nr_defs; i++)
		if (pol->defs[i]->id == id) {
			if (at)
				*at = i;
			return pol->defs[i];
		}
	return NULL;
}

static struct policy_def *def_by_slot(struct policy *pol, __u16 slot)
{
	size_t i;

	for (i = 0; i < pol->nr_defs; i++)
		if (pol->defs[i]->slot == slot)
			return pol->defs[i];
	return NULL;
}

static bool slot_used(struct policy *pol, __u16 slot)
{
	return def_by_slot(pol, slot) != NULL;
}

/* Round robin over 1..FL_POLICIES_MAX-1; 0 when all are taken. */
static __u16 slot_alloc(struct policy *pol)
{
	unsigned int i;
	__u16 s;

	for (i = 0; i < FL_POLICIES_MAX; i++) {
		s = pol->next_slot++ % FL_POLICIES_MAX;
		if (s && !slot_used(pol, s))
			return s;
	}
	return 0;
}

static __u16 pslot_alloc(struct policy *pol)
{
	unsigned int i;
	size_t k;
	__u16 s;

	for (i = 0; i < FL_POLICERS_MAX; i++) {
		s = pol->next_pslot++ % FL_POLICERS_MAX;
		for (k = 0; k < pol->nr_pols; k++)
			if (pol->pols[k].slot == s)
				break;
		if (s && k == pol->nr_pols)
			return s;
	}
	return 0;
}

static void def_free(struct policy_def *p)
{
	int i;

	if (!p)
		return;
	for (i = 0; i < p->nwords; i++)
		free(p->words[i]);
	free(p);
}

static int def_keep_words(struct policy_def *p, char **w, int nw)
{
	int i;

	for (i = 0; i < nw; i++) {
		p->words[i] = strdup(w[i]);
		if (!p->words[i])
			return -ENOMEM;
		p->nwords = i + 1;
	}
	return 0;
}

/* ---- the file ---- */

static int policy_fill(struct json_object *root, void *arg)
{
	struct policy *pol = arg;
	struct json_object *a, *o, *ws;
	size_t i;
	int k;

	json_object_object_add(root, "next_id",
			       json_object_new_int64(pol->next_id));
	json_object_object_add(root, "next_slot",
			       json_object_new_int(pol->next_slot));
	json_object_object_add(root, "next_policer_slot",
			       json_object_new_int(pol->next_pslot));
	a = json_object_new_array();
	for (i = 0; i < pol->nr_pols; i++) {
		const struct policer_def *q = &pol->pols[i];

		o = json_object_new_object();
		json_object_object_add(o, "name",
				       json_object_new_string(q->name));
		json_object_object_add(o, "slot", json_object_new_int(q->slot));
		json_object_object_add(o, "rate",
				       json_object_new_int64(q->rate));
		json_object_object_add(
			o, "unit",
			json_object_new_string(q->unit == FL_RATE_BPS ? "bps" :
									"pps"));
		json_object_object_add(o, "burst",
				       json_object_new_int64(q->burst));
		json_object_object_add(
			o, "exceed",
			json_object_new_string(q->exceed ? "dscp-mark" :
							   "drop"));
		json_object_object_add(o, "exceed_dscp",
				       json_object_new_int(q->exceed_dscp));
		json_object_array_add(a, o);
	}
	json_object_object_add(root, "policers", a);
	a = json_object_new_array();
	for (i = 0; i < pol->nr_defs; i++) {
		const struct policy_def *p = pol->defs[i];

		o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_int64(p->id));
		json_object_object_add(o, "slot", json_object_new_int(p->slot));
		ws = json_object_new_array();
		for (k = 0; k < p->nwords; k++)
			json_object_array_add(
				ws, json_object_new_string(p->words[k]));
		json_object_object_add(o, "words", ws);
		json_object_object_add(
			o, "credit_packets",
			json_object_new_int64(p->credit_packets));
		json_object_object_add(o, "credit_bytes",
				       json_object_new_int64(p->credit_bytes));
		json_object_array_add(a, o);
	}
	json_object_object_add(root, "policies", a);
	return 0;
}

static int policy_save(struct daemon *d)
{
	struct policy *pol = d->policy;

	if (!pol)
		return 0;
	pol->credit_dirty = false;
	return fl_persist_save(pol->path, &policy_format, policy_fill, pol);
}

/* Back from the file: every policer, then every policy (parsed again,
 * in their slots); what no longer parses is logged and left out. */
static int policy_restore(struct daemon *d, struct policy *pol)
{
	struct json_object *root, *a, *o, *ws;
	char err[256];
	int version, ret;
	size_t i, k;

	ret = fl_persist_load(pol->path, &policy_format, &root, &version, err,
			      sizeof(err));
	if (ret == -ENOENT)
		return 0;
	if (ret) {
		pr_err("policy: %s", err);
		return ret;
	}
	pol->next_id = fl_json_u64(root, "next_id");
	pol->next_slot = fl_json_u64(root, "next_slot");
	pol->next_pslot = fl_json_u64(root, "next_policer_slot");
	a = json_object_object_get(root, "policers");
	for (i = 0; a && i < json_object_array_length(a) &&
		    pol->nr_pols < FL_POLICERS_MAX;
	     i++) {
		struct policer_def *q = &pol->pols[pol->nr_pols];

		o = json_object_array_get_idx(a, i);
		memset(q, 0, sizeof(*q));
		snprintf(q->name, sizeof(q->name), "%s",
			 fl_json_str(o, "name"));
		q->slot = fl_json_u64(o, "slot");
		q->rate = fl_json_u64(o, "rate");
		q->unit = strcmp(fl_json_str(o, "unit"), "pps") ? FL_RATE_BPS :
								  FL_RATE_PPS;
		q->burst = fl_json_u64(o, "burst");
		q->exceed = strcmp(fl_json_str(o, "exceed"), "dscp-mark") ?
				    FL_POLICER_EXCEED_DROP :
				    FL_POLICER_EXCEED_MARK;
		q->exceed_dscp = fl_json_u64(o, "exceed_dscp") & 63;
		if (!q->name[0] || !q->slot || q->slot >= FL_POLICERS_MAX ||
		    !q->rate || !q->burst) {
			pr_warn("policy: %s: policer %zu is incomplete, left out",
				pol->path, i);
			continue;
		}
		pol->nr_pols++;
	}
	a = json_object_object_get(root, "policies");
	for (i = 0; a && i < json_object_array_length(a) &&
		    pol->nr_defs < FL_POLICIES_MAX - 1;
	     i++) {
		char *w[POLICY_WORDS_MAX];
		struct policy_def *p = calloc(1, sizeof(*p));
		int nw = 0;

		if (!p)
			break;
		o = json_object_array_get_idx(a, i);
		ws = json_object_object_get(o, "words");
		for (k = 0; ws && k < json_object_array_length(ws) &&
			    k < POLICY_WORDS_MAX;
		     k++)
			w[nw++] = (char *)json_object_get_string(
				json_object_array_get_idx(ws, k));
		if (policy_parse(d, pol, w, nw, true, p, err, sizeof(err)) ||
		    def_keep_words(p, w, nw)) {
			pr_warn("policy: %s: policy %llu left out: %s",
				pol->path,
				(unsigned long long)fl_json_u64(o, "id"), err);
			def_free(p);
			continue;
		}
		p->id = fl_json_u64(o, "id");
		p->slot = fl_json_u64(o, "slot");
		p->credit_packets = fl_json_u64(o, "credit_packets");
		p->credit_bytes = fl_json_u64(o, "credit_bytes");
		if (!p->id || !p->slot || p->slot >= FL_POLICIES_MAX ||
		    slot_used(pol, p->slot) || def_by_id(pol, p->id, NULL)) {
			pr_warn("policy: %s: policy %u has a bad id or slot, left out",
				pol->path, p->id);
			def_free(p);
			continue;
		}
		if (p->id > pol->next_id)
			pol->next_id = p->id;
		pol->defs[pol->nr_defs++] = p;
	}
	json_object_put(root);
	qsort(pol->defs, pol->nr_defs, sizeof(pol->defs[0]), policy_def_cmp);
	return 0;
}

/* The maps as the file says, every other slot emptied: pinned maps that
 * outlived a crash agree with the file afterwards. */
static int maps_sync(struct policy *pol)
{
	struct fl_policer pv;
	struct fl_policy v;
	__u32 s;
	size_t i;
	int ret = 0;

	for (s = 1; s < FL_POLICERS_MAX; s++) {
		for (i = 0; i < pol->nr_pols; i++)
			if (pol->pols[i].slot == s)
				break;
		if (i < pol->nr_pols)
			ret = ret ?: policer_write(pol, &pol->pols[i], true);
		else if (!bpf_map_lookup_elem(pol->fd_policers, &s, &pv) &&
			 pv.id)
			slot_clear(pol->fd_policers, s, sizeof(pv));
	}
	for (s = 1; s < FL_POLICIES_MAX; s++) {
		const struct policy_def *p = def_by_slot(pol, s);

		if (p) {
			if (bpf_map_lookup_elem(pol->fd_policies, &s, &v) ||
			    v.id != p->id)
				stats_zero(pol, s);
			ret = ret ?: policy_write(pol, p);
		} else if (!bpf_map_lookup_elem(pol->fd_policies, &s, &v) &&
			   v.id) {
			slot_clear(pol->fd_policies, s, sizeof(v));
		}
	}
	return ret;
}

/* ---- commands ---- */

static struct json_object *counters_json(const struct fl_policy_stats *s)
{
	struct json_object *o = json_object_new_object();

#define C(name)                                                           \
	json_object_object_add(o, #name "_packets",                       \
			       json_object_new_int64(s->name##_packets)); \
	json_object_object_add(o, #name "_bytes",                         \
			       json_object_new_int64(s->name##_bytes))
	C(matched);
	C(dropped);
	C(conformed);
	C(exceeded);
	C(remarked);
	C(steered);
#undef C
	return o;
}

static struct json_object *policy_json(struct policy *pol,
				       const struct policy_def *p)
{
	struct json_object *o = json_object_new_object();
	struct fl_policy_stats st;
	char buf[64];

	json_object_object_add(o, "id", json_object_new_int64(p->id));
	json_object_object_add(o, "order", json_object_new_int64(p->order));
	json_object_object_add(o, "match",
			       json_object_new_string(kind_names[p->kind]));
	json_object_object_add(o, "value", json_object_new_string(p->value));
	if (p->dev[0])
		json_object_object_add(o, "dev",
				       json_object_new_string(p->dev));
	if (p->dir != PD_ANY)
		json_object_object_add(o, p->dir == PD_FROM ? "from" : "to",
				       json_object_new_string(fl_prefix_format(
					       &p->prefix, buf, sizeof(buf))));
	json_object_object_add(o, "action",
			       json_object_new_string(action_names[p->action]));
	if (p->action == FL_POLICY_POLICE)
		json_object_object_add(o, "policer",
				       json_object_new_string(p->policer));
	if (p->action == FL_POLICY_MARK)
		json_object_object_add(o, "dscp", json_object_new_int(p->dscp));
	if (p->action == FL_POLICY_STEER)
		json_object_object_add(o, "table",
				       json_object_new_int64(p->table));
	stats_sum(pol, p->slot, &st);
	/* the packets of its flows before their verdicts: matched, and let
	 * through (a flow is never held while it is classified) */
	st.matched_packets += p->credit_packets;
	st.matched_bytes += p->credit_bytes;
	json_object_object_add(o, "counters", counters_json(&st));
	json_object_object_add(o, "before_verdict_packets",
			       json_object_new_int64(p->credit_packets));
	return o;
}

static struct json_object *policer_json(struct policy *pol,
					const struct policer_def *q)
{
	struct json_object *o = json_object_new_object();
	struct fl_policy_stats st;
	size_t i, users = 0;

	json_object_object_add(o, "name", json_object_new_string(q->name));
	json_object_object_add(o, "rate", json_object_new_int64(q->rate));
	json_object_object_add(
		o, "unit",
		json_object_new_string(q->unit == FL_RATE_BPS ? "bps" : "pps"));
	json_object_object_add(o, "burst", json_object_new_int64(q->burst));
	json_object_object_add(o, "burst_unit",
			       json_object_new_string(q->unit == FL_RATE_BPS ?
							      "bytes" :
							      "packets"));
	json_object_object_add(o, "exceed",
			       json_object_new_string(q->exceed ? "dscp-mark" :
								  "drop"));
	if (q->exceed == FL_POLICER_EXCEED_MARK)
		json_object_object_add(o, "exceed_dscp",
				       json_object_new_int(q->exceed_dscp));
	for (i = 0; i < pol->nr_defs; i++)
		users += pol->defs[i]->action == FL_POLICY_POLICE &&
			 !strcmp(pol->defs[i]->policer, q->name);
	json_object_object_add(o, "policies", json_object_new_int64(users));
	stats_sum(pol, FL_POLICIES_MAX + q->slot, &st);
	json_object_object_add(o, "counters", counters_json(&st));
	return o;
}

static int cmd_policy_add(struct daemon *d, struct json_object *req,
			  struct json_object **data, char *err, size_t errlen)
{
	struct policy *pol = d->policy;
	char *w[POLICY_WORDS_MAX + 1];
	struct policy_def *p;
	int nw, ret;

	nw = command_words(req, w, POLICY_WORDS_MAX, err, errlen);
	if (nw < 0)
		return nw;
	if (pol->nr_defs >= FL_POLICIES_MAX - 1)
		return fl_errf(err, errlen, -ENOSPC,
			       "%d policies already: the most there can be",
			       FL_POLICIES_MAX - 1);
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	ret = policy_parse(d, pol, w, nw, false, p, err, errlen);
	if (!ret)
		ret = def_keep_words(p, w, nw);
	if (ret) {
		def_free(p);
		return ret;
	}
	p->id = ++pol->next_id;
	p->slot = slot_alloc(pol);
	stats_zero(pol, p->slot);
	ret = policy_write(pol, p);
	if (ret) {
		def_free(p);
		return fl_errf(err, errlen, ret,
			       "cannot write the policy map: %s",
			       strerror(-ret));
	}
	pol->defs[pol->nr_defs++] = p;
	qsort(pol->defs, pol->nr_defs, sizeof(pol->defs[0]), policy_def_cmp);
	table_publish(pol);
	pol->rematched += flows_rematch(d);
	policy_save(d);
	pr_info("policy %u added: %s %s action %s", p->id, kind_names[p->kind],
		p->value, action_names[p->action]);
	*data = json_object_new_object();
	json_object_object_add(*data, "policy", policy_json(pol, p));
	return 0;
}

static int cmd_policy_del(struct daemon *d, struct json_object *req,
			  struct json_object **data, char *err, size_t errlen)
{
	struct policy *pol = d->policy;
	unsigned long long id;
	struct policy_def *p;
	char *w[2];
	size_t at;
	int nw;

	nw = command_words(req, w, 1, err, errlen);
	if (nw < 0)
		return nw;
	if (nw != 1 || !parse_ulong(w[0], 1, 0xffffffffULL, &id))
		return fl_errf(
			err, errlen, -EINVAL,
			"bad policy id '%s': the ID 'flctl policy list' shows",
			nw ? w[0] : "");
	p = def_by_id(pol, id, &at);
	if (!p)
		return fl_errf(err, errlen, -ENOENT, "no policy %llu", id);
	*data = json_object_new_object();
	json_object_object_add(*data, "policy", policy_json(pol, p));
	/* its flows pass untouched from now on, and are matched again */
	slot_clear(pol->fd_policies, p->slot, sizeof(struct fl_policy));
	memmove(&pol->defs[at], &pol->defs[at + 1],
		(pol->nr_defs - at - 1) * sizeof(pol->defs[0]));
	pol->nr_defs--;
	table_publish(pol);
	pol->rematched += flows_rematch(d);
	policy_save(d);
	pr_info("policy %llu removed", id);
	def_free(p);
	return 0;
}

/* 'policy list' and 'policer list': every entry with its counters. */
static int list_reply(struct daemon *d, struct json_object *req,
		      struct json_object **data, char *err, size_t errlen,
		      bool policers)
{
	struct policy *pol = d->policy;
	struct json_object *a;
	char *w[1];
	size_t i;
	int nw;

	nw = command_words(req, w, 0, err, errlen);
	if (nw < 0)
		return nw;
	a = json_object_new_array();
	for (i = 0; i < (policers ? pol->nr_pols : pol->nr_defs); i++)
		json_object_array_add(
			a, policers ? policer_json(pol, &pol->pols[i]) :
				      policy_json(pol, pol->defs[i]));
	*data = json_object_new_object();
	json_object_object_add(*data, policers ? "policers" : "policies", a);
	if (!policers)
		json_object_object_add(*data, "flows_rematched",
				       json_object_new_int64(pol->rematched));
	return 0;
}

static int cmd_policy_list(struct daemon *d, struct json_object *req,
			   struct json_object **data, char *err, size_t errlen)
{
	return list_reply(d, req, data, err, errlen, false);
}

static int cmd_policer_add(struct daemon *d, struct json_object *req,
			   struct json_object **data, char *err, size_t errlen)
{
	struct policy *pol = d->policy;
	struct policer_def q, *old;
	char *w[8];
	int nw, ret;

	nw = command_words(req, w, 8, err, errlen);
	if (nw < 0)
		return nw;
	ret = policer_parse(w, nw, &q, err, errlen);
	if (ret)
		return ret;
	old = policer_find(pol, q.name);
	if (old) {
		q.slot = old->slot;
	} else {
		if (pol->nr_pols >= FL_POLICERS_MAX - 1)
			return fl_errf(
				err, errlen, -ENOSPC,
				"%d policers already: the most there can be",
				FL_POLICERS_MAX - 1);
		q.slot = pslot_alloc(pol);
		stats_zero(pol, FL_POLICIES_MAX + q.slot);
	}
	/* a changed policer starts with a full bucket */
	ret = policer_write(pol, &q, false);
	if (ret)
		return fl_errf(err, errlen, ret,
			       "cannot write the policer map: %s",
			       strerror(-ret));
	if (old)
		*old = q;
	else
		pol->pols[pol->nr_pols++] = q;
	policy_save(d);
	pr_info("policer %s %s", q.name, old ? "changed" : "added");
	*data = json_object_new_object();
	json_object_object_add(
		*data, "policer",
		policer_json(pol, old ?: &pol->pols[pol->nr_pols - 1]));
	json_object_object_add(*data, "updated",
			       json_object_new_boolean(old != NULL));
	return 0;
}

static int cmd_policer_del(struct daemon *d, struct json_object *req,
			   struct json_object **data, char *err, size_t errlen)
{
	struct policy *pol = d->policy;
	struct policer_def *q;
	char *w[2];
	size_t i;
	int nw;

	nw = command_words(req, w, 1, err, errlen);
	if (nw < 0)
		return nw;
	if (nw != 1)
		return fl_errf(err, errlen, -EINVAL,
			       "policer del needs a NAME");
	q = policer_find(pol, w[0]);
	if (!q)
		return fl_errf(err, errlen, -ENOENT, "no policer '%s'", w[0]);
	for (i = 0; i < pol->nr_defs; i++)
		if (pol->defs[i]->action == FL_POLICY_POLICE &&
		    !strcmp(pol->defs[i]->policer, q->name))
			return fl_errf(
				err, errlen, -EBUSY,
				"policer '%s' is still named by policy %u: remove that first",
				q->name, pol->defs[i]->id);
	*data = json_object_new_object();
	json_object_object_add(*data, "policer", policer_json(pol, q));
	slot_clear(pol->fd_policers, q->slot, sizeof(struct fl_policer));
	*q = pol->pols[--pol->nr_pols];
	policy_save(d);
	pr_info("policer %s removed", w[0]);
	return 0;
}

static int cmd_policer_list(struct daemon *d, struct json_object *req,
			    struct json_object **data, char *err, size_t errlen)
{
	return list_reply(d, req, data, err, errlen, true);
}

/* ---- the module ---- */

/* A verdict's packets before it, credited to the policy each direction
 * got (the datapath counts the ones after). */
static void on_verdict(void *ctx, const struct fl_event *ev)
{
	struct policy *pol = ctx;
	struct policy_def *p;
	int dir;

	for (dir = 0; dir < 2; dir++) {
		if (!ev->flow->policy[dir])
			continue;
		p = def_by_slot(pol, ev->flow->policy[dir]);
		if (!p)
			continue;
		p->credit_packets += ev->flow->pre_packets[dir];
		p->credit_bytes += ev->flow->pre_bytes[dir];
		pol->credit_dirty = true;
	}
}

static int policy_open(struct daemon *d)
{
	struct policy *pol = calloc(1, sizeof(*pol));
	char *copy;
	int ret;

	if (!pol)
		return -ENOMEM;
	pthread_mutex_init(&pol->lock, NULL);
	pol->ncpus = libbpf_num_possible_cpus();
	pol->fd_policies = map_fd(d, FL_STRINGIFY(FL_MAP_POLICIES));
	pol->fd_policers = map_fd(d, FL_STRINGIFY(FL_MAP_POLICERS));
	pol->fd_stats = map_fd(d, FL_STRINGIFY(FL_MAP_POLICY_STATS));
	copy = strdup(d->opt.state_path);
	snprintf(pol->path, sizeof(pol->path), "%s/%s",
		 copy ? dirname(copy) : ".", POLICY_FILE);
	free(copy);
	d->policy = pol;
	if (pol->fd_policies < 0 || pol->fd_policers < 0 || pol->fd_stats < 0) {
		pr_err("policy: the program has no policy maps");
		return -ENOENT;
	}
	pol->next_slot = pol->next_pslot = 1;
	ret = policy_restore(d, pol);
	if (ret)
		return ret;
	ret = maps_sync(pol);
	if (ret) {
		pr_err("policy: cannot write the policy maps: %s",
		       strerror(-ret));
		return ret;
	}
	ret = table_publish(pol);
	if (ret)
		return ret;
	if (pol->nr_defs || pol->nr_pols)
		pr_info("policy: %zu policies and %zu policers from %s",
			pol->nr_defs, pol->nr_pols, pol->path);
	return bus_subscribe(d, "policy", FL_EV_MASK(FL_EV_FLOW_VERDICT),
			     on_verdict, pol);
}

/* The credits of verdicts since the last write, every few seconds: a
 * crash loses at most that much of them. */
static void policy_tick(struct daemon *d)
{
	if (d->policy && d->policy->credit_dirty)
		policy_save(d);
}

static void policy_close(struct daemon *d)
{
	struct policy *pol = d->policy;
	size_t i;

	if (!pol)
		return;
	policy_save(d);
	bus_unsubscribe(d, on_verdict, pol);
	/* workers are closed first (they open after this module) */
	d->policy = NULL;
	for (i = 0; i < pol->nr_defs; i++)
		def_free(pol->defs[i]);
	free(pol->table);
	fl_cls_free(pol->names);
	pthread_mutex_destroy(&pol->lock);
	free(pol);
}

static const struct command policy_commands[] = {
	{ "policy-add", cmd_policy_add },
	{ "policy-del", cmd_policy_del },
	{ "policy-list", cmd_policy_list },
	{ "policer-add", cmd_policer_add },
	{ "policer-del", cmd_policer_del },
	{ "policer-list", cmd_policer_list },
	{ NULL, NULL },
};

const struct fl_module policy_module = {
	.name = "policy",
	.open = policy_open,
	.close = policy_close,
	.tick = policy_tick,
	.tick_every = 50, /* 5 s */
	.save = policy_save,
	.commands = policy_commands,
};
