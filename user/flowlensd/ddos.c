// SPDX-License-Identifier: Apache-2.0
/*
 * The DDoS engine, on every control tick (rates.c has just refreshed the
 * per-IP rates over the last second):
 *
 *   1. read the packet samples XDP sent since the last tick (account.h);
 *   2. for every tracked address a threshold covers (the longest matching
 *      prefix of each direction), compare its rates with the limits. Above
 *      any limit, it is "above" (a crossing); it stays above until every
 *      rate is under 90 % of its limit (hysteresis);
 *   3. a crossing with no attack on that address starts one: the samples
 *      of the last second that match the crossed metric give its signature
 *      (sources, protocol, ports), the signature gives rules, and the rules
 *      go through the rule engine marked with the attack's id;
 *   4. an attack below its threshold for its hold time ends: its rules go.
 *      Re-crossing during hold extends it, so a flapping flood keeps its
 *      rules instead of churning them. Once a second, an active attack with
 *      a sources signature gets rules for new dominant sources.
 *
 * Thresholds, the allowlist, the next attack id, the active attacks and
 * the history live in ddos.json next to the state file, rewritten on every
 * change, so a restart or a reboot loses none of them; the rules
 * themselves persist with the rule engine (pinned maps, rules.conf).
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ddos.h"
#include "log.h"
#include "persist.h"
#include "rule.h"
#include "ruleset.h"
#include "flowlens.skel.h"

#define DDOS_SAMPLES_MAX 65536 /* kept for signatures, a ring */
#define DDOS_SAMPLE_TARGET 8192 /* samples per second to aim for */
#define DDOS_MIN_SAMPLES 16 /* fewer: no source or port signature */
#define DDOS_SOURCES_SHARE 0.8 /* the handful must carry this much */
#define DDOS_PORT_SHARE 0.8
#define DDOS_PROTO_SHARE 0.9
#define DDOS_HYSTERESIS 0.9 /* above until every rate < 90 % of limit */
#define DDOS_THRESHOLDS_MAX 1024
#define NSEC 1000000000ULL

struct ddos_sample {
	__u64 t_ns; /* when flowlensd read it, CLOCK_MONOTONIC */
	struct fl_sample s;
};

struct victim_key {
	struct fl_ip_id id;
	int direction;
};

struct ddos_victim {
	struct victim_key key;
	bool above;
	__u32 crossings;
	struct ddos_attack *attack;
	unsigned int generation; /* last tick its address was tracked */
	UT_hash_handle hh;
};

struct ddos {
	struct fl_threshold *thresholds;
	int nr_thresholds;
	unsigned int threshold_gen; /* bumped on every change, never 0 */
	struct fl_prefix *allow;
	int nr_allow;
	struct ddos_victim *victims;
	struct ddos_attack *active;
	struct json_object *history; /* array, oldest first */
	__u32 next_id;
	struct ring_buffer *rb;
	struct ddos_sample *samples;
	size_t sample_head, nr_samples;
	__u64 samples_read;
	__u32 sample_rate;
	__u64 now_ns;
	struct {
		const struct ddos_hooks *hooks;
		void *ctx;
	} hooks[DDOS_HOOKS_MAX];
	int nr_hooks;
	char state_path[512];
	char events_path[512];
	FILE *events;
};

static const char *const event_names[] = {
	[DDOS_EV_START] = "start",
	[DDOS_EV_UPDATE] = "update",
	[DDOS_EV_MITIGATION] = "mitigation",
	[DDOS_EV_END] = "end",
};

static const char *const signature_names[] = {
	[DDOS_SIG_SOURCES] = "sources",
	[DDOS_SIG_VICTIM] = "victim",
	[DDOS_SIG_SOURCE] = "source",
};

const char *ddos_event_name(enum ddos_event ev)
{
	return ev <= DDOS_EV_END ? event_names[ev] : "?";
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

static double unix_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *ip_text(const struct fl_ip_id *id, char *buf, size_t len)
{
	return fl_addr_format(id->family, &id->addr, buf, len);
}

static const char *proto_text(__u8 proto)
{
	switch (proto) {
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 1:
	case 58:
		return "icmp";
	case 0:
		return "mixed";
	default:
		return "other";
	}
}

/* ---- hooks ---- */

int ddos_hooks_register(struct daemon *d, const struct ddos_hooks *hooks,
			void *ctx)
{
	struct ddos *dd = d->ddos;

	if (dd->nr_hooks == DDOS_HOOKS_MAX)
		return -ENOSPC;
	dd->hooks[dd->nr_hooks].hooks = hooks;
	dd->hooks[dd->nr_hooks].ctx = ctx;
	dd->nr_hooks++;
	return 0;
}

static void emit_event(struct daemon *d, enum ddos_event ev,
		       const struct ddos_attack *a)
{
	struct ddos *dd = d->ddos;
	struct json_object *o = ddos_attack_json(d, a);
	int i;

	for (i = 0; i < dd->nr_hooks; i++)
		if (dd->hooks[i].hooks->event)
			dd->hooks[i].hooks->event(dd->hooks[i].ctx, ev, a, o);
	json_object_put(o);
}

static void emit_rule(struct daemon *d, bool announce,
		      const struct ddos_attack *a, const struct fl_rule *rule)
{
	struct ddos *dd = d->ddos;
	int i;

	for (i = 0; i < dd->nr_hooks; i++) {
		const struct ddos_hooks *h = dd->hooks[i].hooks;

		if (announce && h->announce)
			h->announce(dd->hooks[i].ctx, a, rule);
		else if (!announce && h->withdraw)
			h->withdraw(dd->hooks[i].ctx, a, rule);
	}
}

/* The built-in hook: a log line and a JSON line in the events file per
 * event. */
static void log_event(void *ctx, enum ddos_event ev,
		      const struct ddos_attack *a, struct json_object *attack)
{
	struct daemon *d = ctx;
	struct ddos *dd = d->ddos;
	struct json_object *line;
	char victim[FL_PREFIX_STRLEN];

	ip_text(&a->victim, victim, sizeof(victim));
	switch (ev) {
	case DDOS_EV_START:
		pr_info("ddos: attack %u start: %s %s %s %.0f > %llu", a->id,
			fl_ddos_dir_name(a->direction), victim,
			fl_metric_name(a->metric), a->rate,
			(unsigned long long)a->threshold.limit[a->metric]);
		break;
	case DDOS_EV_MITIGATION:
	case DDOS_EV_UPDATE:
		pr_info("ddos: attack %u %s: %s signature, %d rule%s%s%s",
			a->id, ddos_event_name(ev),
			signature_names[a->signature], a->nr_rules,
			a->nr_rules == 1 ? "" : "s", a->error[0] ? ": " : "",
			a->error);
		break;
	case DDOS_EV_END:
		pr_info("ddos: attack %u end: %s, %llu packets dropped", a->id,
			victim, (unsigned long long)a->dropped);
		break;
	}
	if (!dd->events)
		return;
	line = json_object_new_object();
	json_object_object_add(line, "time",
			       json_object_new_double(unix_now()));
	json_object_object_add(line, "event",
			       json_object_new_string(ddos_event_name(ev)));
	json_object_object_add(line, "attack", json_object_get(attack));
	fprintf(dd->events, "%s\n",
		json_object_to_json_string_ext(
			line, JSON_C_TO_STRING_PLAIN |
				      JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(dd->events);
	json_object_put(line);
}

static void log_rule(void *ctx, const struct ddos_attack *a,
		     const struct fl_rule *rule, const char *what)
{
	char text[FL_RULE_STRLEN];

	pr_info("ddos: attack %u %s rule %u: %s", a->id, what, rule->id,
		fl_rule_format(rule, text, sizeof(text)));
}

static void log_announce(void *ctx, const struct ddos_attack *a,
			 const struct fl_rule *rule)
{
	log_rule(ctx, a, rule, "installs");
}

static void log_withdraw(void *ctx, const struct ddos_attack *a,
			 const struct fl_rule *rule)
{
	log_rule(ctx, a, rule, "removes");
}

static const struct ddos_hooks log_hooks = {
	.name = "log",
	.event = log_event,
	.announce = log_announce,
	.withdraw = log_withdraw,
};

/* ---- JSON ---- */

static struct json_object *time_json(double t)
{
	return t ? json_object_new_double(t) : NULL;
}

static struct json_object *limits_json(const struct fl_threshold *t)
{
	struct json_object *o = json_object_new_object();
	int m;

	for (m = 0; m < FL_METRIC_COUNT; m++)
		if (t->limit[m])
			json_object_object_add(
				o, fl_metric_name(m),
				json_object_new_uint64(t->limit[m]));
	return o;
}

static struct json_object *threshold_json(const struct fl_threshold *t)
{
	struct json_object *o = json_object_new_object();
	char buf[FL_THRESHOLD_STRLEN], pfx[FL_PREFIX_STRLEN];
	bool rl = t->action == FL_RULE_RATE_LIMIT;

	json_object_object_add(o, "prefix",
			       json_object_new_string(fl_prefix_format(
				       &t->prefix, pfx, sizeof(pfx))));
	json_object_object_add(
		o, "direction",
		json_object_new_string(fl_ddos_dir_name(t->direction)));
	json_object_object_add(o, "limits", limits_json(t));
	json_object_object_add(o, "action",
			       json_object_new_string(rl ? "rate-limit" :
							   "drop"));
	json_object_object_add(o, "rate",
			       rl ? json_object_new_uint64(t->rate) : NULL);
	json_object_object_add(
		o, "rate_unit",
		rl ? json_object_new_string(
			     t->rate_unit == FL_RATE_BPS ? "bps" : "pps") :
		     NULL);
	json_object_object_add(o, "hold", json_object_new_int64(t->hold));
	json_object_object_add(o, "text",
			       json_object_new_string(fl_threshold_format(
				       t, buf, sizeof(buf))));
	return o;
}

static void attack_counters(struct daemon *d, const struct ddos_attack *a,
			    __u64 *matched, __u64 *dropped)
{
	struct fl_rule_stats st;
	struct fl_rule_def def;
	int i;

	*matched = a->matched;
	*dropped = a->dropped;
	if (!a->active || !d->rules)
		return;
	for (i = 0; i < a->nr_rules; i++) {
		if (fl_ruleset_get(d->rules, a->rules[i], &def, &st))
			continue;
		*matched += st.packets;
		*dropped += st.dropped;
	}
}

struct json_object *ddos_attack_json(struct daemon *d,
				     const struct ddos_attack *a)
{
	struct json_object *o = json_object_new_object(), *sub;
	char buf[FL_PREFIX_STRLEN];
	__u64 matched, dropped;
	int i;

	json_object_object_add(o, "id", json_object_new_int64(a->id));
	json_object_object_add(o, "state",
			       json_object_new_string(a->active ? "active" :
								  "ended"));
	json_object_object_add(
		o, "direction",
		json_object_new_string(fl_ddos_dir_name(a->direction)));
	json_object_object_add(
		o, "victim",
		json_object_new_string(ip_text(&a->victim, buf, sizeof(buf))));
	json_object_object_add(
		o, "threshold",
		json_object_new_string(fl_prefix_format(&a->threshold.prefix,
							buf, sizeof(buf))));
	json_object_object_add(o, "started", time_json(a->started));
	json_object_object_add(o, "mitigated", time_json(a->mitigated));
	json_object_object_add(o, "ended", time_json(a->ended));
	json_object_object_add(
		o, "metric", json_object_new_string(fl_metric_name(a->metric)));
	json_object_object_add(
		o, "limit",
		json_object_new_uint64(a->metric < FL_METRIC_COUNT ?
					       a->threshold.limit[a->metric] :
					       0));
	sub = json_object_new_object();
	json_object_object_add(sub, "pps", json_object_new_double(a->peak_pps));
	json_object_object_add(sub, "bps", json_object_new_double(a->peak_bps));
	json_object_object_add(sub, "sps", json_object_new_double(a->peak_sps));
	json_object_object_add(o, "peak", sub);
	sub = json_object_new_object();
	json_object_object_add(sub, "pps", json_object_new_double(a->pps));
	json_object_object_add(sub, "bps", json_object_new_double(a->bps));
	json_object_object_add(sub, "sps", json_object_new_double(a->sps));
	json_object_object_add(o, "rates", sub);
	json_object_object_add(o, "protocol",
			       json_object_new_string(proto_text(a->proto)));
	json_object_object_add(o, "dport",
			       a->dport >= 0 ? json_object_new_int(a->dport) :
					       NULL);
	json_object_object_add(o, "sport",
			       a->sport >= 0 ? json_object_new_int(a->sport) :
					       NULL);
	json_object_object_add(
		o, "signature",
		json_object_new_string(signature_names[a->signature]));
	sub = json_object_new_array();
	for (i = 0; i < a->nr_sources; i++) {
		struct json_object *s = json_object_new_object();

		json_object_object_add(
			s, "address",
			json_object_new_string(ip_text(&a->sources[i].addr, buf,
						       sizeof(buf))));
		json_object_object_add(
			s, "share",
			json_object_new_double(a->sources[i].share));
		json_object_array_add(sub, s);
	}
	json_object_object_add(o, "sources", sub);
	sub = json_object_new_array();
	for (i = 0; i < a->nr_rules; i++)
		json_object_array_add(sub, json_object_new_int64(a->rules[i]));
	json_object_object_add(o, "rules", sub);
	attack_counters(d, a, &matched, &dropped);
	json_object_object_add(o, "matched", json_object_new_uint64(matched));
	json_object_object_add(o, "dropped", json_object_new_uint64(dropped));
	json_object_object_add(o, "crossings",
			       json_object_new_int64(a->crossings));
	json_object_object_add(o, "hold",
			       json_object_new_int64(a->threshold.hold));
	json_object_object_add(
		o, "action",
		json_object_new_string(a->threshold.action ==
						       FL_RULE_RATE_LIMIT ?
					       "rate-limit" :
					       "drop"));
	json_object_object_add(o, "error",
			       a->error[0] ? json_object_new_string(a->error) :
					     NULL);
	return o;
}

/* ---- the state file ---- */

static void paths_init(struct daemon *d)
{
	struct ddos *dd = d->ddos;
	char *copy = strdup(d->opt.state_path);
	const char *dir = copy ? dirname(copy) : ".";

	snprintf(dd->state_path, sizeof(dd->state_path), "%s/ddos.json", dir);
	if (d->opt.events_path)
		snprintf(dd->events_path, sizeof(dd->events_path), "%s",
			 d->opt.events_path);
	else
		snprintf(dd->events_path, sizeof(dd->events_path),
			 "%s/ddos-events.jsonl", dir);
	free(copy);
}

/* user/lib/persist.c writes it; version 1 had the same keys, no "format". */
static const struct fl_persist_format ddos_format = {
	.name = "flowlens-ddos",
	.version = 2,
	.legacy_version = 1,
	.compact = true, /* the history can be long */
};

static int ddos_fill(struct json_object *root, void *arg)
{
	struct daemon *d = arg;
	struct ddos *dd = d->ddos;
	struct json_object *list;
	char buf[FL_THRESHOLD_STRLEN];
	struct ddos_attack *a;
	int i;

	json_object_object_add(root, "next_id",
			       json_object_new_int64(dd->next_id));
	list = json_object_new_array();
	for (i = 0; i < dd->nr_thresholds; i++)
		json_object_array_add(
			list, json_object_new_string(fl_threshold_format(
				      &dd->thresholds[i], buf, sizeof(buf))));
	json_object_object_add(root, "thresholds", list);
	list = json_object_new_array();
	for (i = 0; i < dd->nr_allow; i++)
		json_object_array_add(
			list, json_object_new_string(fl_prefix_format(
				      &dd->allow[i], buf, sizeof(buf))));
	json_object_object_add(root, "allow", list);
	list = json_object_new_array();
	for (a = dd->active; a; a = a->next) {
		struct json_object *o = ddos_attack_json(d, a);

		json_object_object_add(
			o, "threshold_text",
			json_object_new_string(fl_threshold_format(
				&a->threshold, buf, sizeof(buf))));
		json_object_array_add(list, o);
	}
	json_object_object_add(root, "active", list);
	json_object_object_add(root, "history", json_object_get(dd->history));
	return 0;
}

static int ddos_save(struct daemon *d)
{
	return fl_persist_save(d->ddos->state_path, &ddos_format, ddos_fill,
			       d);
}

/* ---- thresholds and the allowlist ---- */

static int threshold_find(struct ddos *dd, const struct fl_prefix *p,
			  enum fl_ddos_dir dir)
{
	int i;

	for (i = 0; i < dd->nr_thresholds; i++) {
		const struct fl_threshold *t = &dd->thresholds[i];

		if (t->direction == dir && t->prefix.family == p->family &&
		    t->prefix.len == p->len &&
		    !memcmp(&t->prefix.addr, &p->addr, sizeof(p->addr)))
			return i;
	}
	return -1;
}

/* The longest prefix of @dir that holds @id. */
static const struct fl_threshold *threshold_match(struct ddos *dd,
						  const struct fl_ip_id *id,
						  enum fl_ddos_dir dir)
{
	const struct fl_threshold *best = NULL;
	int i;

	for (i = 0; i < dd->nr_thresholds; i++) {
		const struct fl_threshold *t = &dd->thresholds[i];

		if (t->direction != dir ||
		    !fl_prefix_contains(&t->prefix, id->family, &id->addr))
			continue;
		if (!best || t->prefix.len > best->prefix.len)
			best = t;
	}
	return best;
}

static void thresholds_changed(struct ddos *dd)
{
	if (!++dd->threshold_gen)
		dd->threshold_gen = 1;
}

/* threshold_match() for a tracked address, remembered in its entry until
 * the thresholds change: the tick asks for every address ten times a
 * second. */
static const struct fl_threshold *
threshold_of(struct ddos *dd, struct fl_ip_entry *e, enum fl_ddos_dir dir)
{
	const struct fl_threshold *t;
	int i;

	if (e->threshold_gen != dd->threshold_gen) {
		for (i = FL_DDOS_DST; i <= FL_DDOS_SRC; i++) {
			t = threshold_match(dd, &e->id, i);
			e->threshold[i] = t ? t - dd->thresholds : -1;
		}
		e->threshold_gen = dd->threshold_gen;
	}
	return e->threshold[dir] < 0 ? NULL :
				       &dd->thresholds[e->threshold[dir]];
}

static bool allowlisted(struct ddos *dd, const struct fl_ip_id *id)
{
	int i;

	for (i = 0; i < dd->nr_allow; i++)
		if (fl_prefix_contains(&dd->allow[i], id->family, &id->addr))
			return true;
	return false;
}

static int allow_map_update(struct daemon *d, const struct fl_prefix *p,
			    bool add)
{
	struct bpf_map *map = p->family == AF_INET ?
				      d->skel->maps.FL_MAP_ALLOW4 :
				      d->skel->maps.FL_MAP_ALLOW6;
	struct fl_lpm6_key key = { .prefixlen = p->len };
	struct fl_allow value = {};
	size_t key_size = bpf_map__key_size(map);

	memcpy(key.addr, p->addr.b, key_size - sizeof(key.prefixlen));
	if (add)
		return bpf_map__update_elem(map, &key, key_size, &value,
					    sizeof(value), 0) ?
			       -errno :
			       0;
	return bpf_map__delete_elem(map, &key, key_size, 0) ? -errno : 0;
}

/* ---- samples ---- */

static int sample_read(void *ctx, void *data, size_t size)
{
	struct ddos *dd = ctx;
	struct ddos_sample *s;

	if (size < sizeof(struct fl_sample))
		return 0;
	s = &dd->samples[dd->sample_head];
	s->t_ns = dd->now_ns;
	memcpy(&s->s, data, sizeof(s->s));
	dd->sample_head = (dd->sample_head + 1) % DDOS_SAMPLES_MAX;
	if (dd->nr_samples < DDOS_SAMPLES_MAX)
		dd->nr_samples++;
	dd->samples_read++;
	return 0;
}

/* Does a sample belong to the part of the traffic @m measures? */
static bool sample_in_metric(const struct fl_sample *s, enum fl_metric m)
{
	switch (m) {
	case FL_METRIC_SPS:
		return s->proto == 6 && (s->tcp_flags & 0x12) == 0x02;
	case FL_METRIC_TCP_PPS:
	case FL_METRIC_TCP_BPS:
		return s->proto == 6;
	case FL_METRIC_UDP_PPS:
	case FL_METRIC_UDP_BPS:
		return s->proto == 17;
	case FL_METRIC_ICMP_PPS:
	case FL_METRIC_ICMP_BPS:
		return s->proto == 1 || s->proto == 58;
	case FL_METRIC_FRAG_PPS:
	case FL_METRIC_FRAG_BPS:
		return s->frag != 0;
	default:
		return true;
	}
}

static bool addr_eq(const struct fl_ip_id *id, int family,
		    const union fl_addr *addr)
{
	size_t len = id->family == AF_INET ? 4 : 16;

	return id->family == (family == 6 ? AF_INET6 : AF_INET) &&
	       !memcmp(id->addr.b, addr->b, len);
}

struct counted {
	struct fl_ip_id id;
	unsigned int n;
};

static int counted_cmp(const void *a, const void *b)
{
	const struct counted *x = a, *y = b;

	return (x->n < y->n) - (x->n > y->n);
}

/* The most frequent value of @values[0..n), and how often it came. */
static int int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static int id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct fl_ip_id));
}

/* The most frequent value of @values[0..n) (sorted in place), and how
 * often it came. */
static int mode_of(int *values, int n, int *count)
{
	int i, best = -1, best_n = 0, run;

	qsort(values, n, sizeof(*values), int_cmp);
	for (i = 0; i < n; i += run) {
		for (run = 1; i + run < n && values[i + run] == values[i];
		     run++)
			;
		if (run > best_n) {
			best_n = run;
			best = values[i];
		}
	}
	*count = best_n;
	return best;
}

/* Counts equal addresses in @ids[0..n) (sorted in place) into @out,
 * most frequent first; returns how many distinct. */
static int count_sources(struct fl_ip_id *ids, int n, struct counted *out)
{
	int i, run, nr = 0;

	qsort(ids, n, sizeof(*ids), id_cmp);
	for (i = 0; i < n; i += run) {
		for (run = 1; i + run < n && !id_cmp(&ids[i + run], &ids[i]);
		     run++)
			;
		out[nr].id = ids[i];
		out[nr].n = run;
		nr++;
	}
	qsort(out, nr, sizeof(*out), counted_cmp);
	return nr;
}

/*
 * The attack's signature from the samples of the last second that reached
 * (or, for a source attack, came from) its address and match its metric.
 */
static void signature_of(struct daemon *d, struct ddos_attack *a,
			 const struct fl_ip_entry *e, enum fl_metric metric)
{
	struct ddos *dd = d->ddos;
	struct counted *srcs = NULL;
	struct fl_ip_id *ids = NULL;
	int *dports = NULL, *sports = NULL, *protos = NULL;
	int n = 0, n_allowed = 0, nports = 0, nsrcs = 0, i, count, v;
	__u64 since = dd->now_ns - NSEC;
	size_t k, idx;
	double cum;

	a->nr_sources = 0;
	a->allowlisted_only = false;
	a->proto = 0;
	a->dport = a->sport = -1;
	srcs = calloc(dd->nr_samples + 1, sizeof(*srcs));
	ids = calloc(dd->nr_samples + 1, sizeof(*ids));
	dports = calloc(dd->nr_samples + 1, sizeof(int));
	sports = calloc(dd->nr_samples + 1, sizeof(int));
	protos = calloc(dd->nr_samples + 1, sizeof(int));
	if (!srcs || !ids || !dports || !sports || !protos)
		goto out;

	for (k = 0; k < dd->nr_samples; k++) {
		const struct ddos_sample *s;
		struct fl_ip_id sid = {};

		idx = (dd->sample_head + DDOS_SAMPLES_MAX - 1 - k) %
		      DDOS_SAMPLES_MAX;
		s = &dd->samples[idx];
		if (s->t_ns < since)
			break; /* newest first: the rest is older */
		if (a->direction == FL_DDOS_DST ?
			    !addr_eq(&a->victim, s->s.family, &s->s.dst) :
			    !addr_eq(&a->victim, s->s.family, &s->s.src))
			continue;
		if (!sample_in_metric(&s->s, metric))
			continue;
		sid.family = s->s.family == 6 ? AF_INET6 : AF_INET;
		memcpy(sid.addr.b, s->s.src.b, sid.family == AF_INET ? 4 : 16);
		/* Allowlisted sources skip every rule: they are not part of
		 * what the rules must stop, nor of the shares. */
		if (dd->nr_allow && allowlisted(dd, &sid)) {
			n_allowed++;
			continue;
		}
		ids[n] = sid;
		protos[n] = s->s.proto;
		if (s->s.proto == 6 || s->s.proto == 17) {
			dports[nports] = s->s.dport;
			sports[nports] = s->s.sport;
			nports++;
		}
		n++;
	}

	/* The protocol: the metric's own, else one with 90 % of packets
	 * (exact per-protocol counters for a victim, samples otherwise). */
	a->vector = metric;
	switch (metric) {
	case FL_METRIC_SPS:
	case FL_METRIC_TCP_PPS:
	case FL_METRIC_TCP_BPS:
		a->proto = 6;
		break;
	case FL_METRIC_UDP_PPS:
	case FL_METRIC_UDP_BPS:
		a->proto = 17;
		break;
	case FL_METRIC_ICMP_PPS:
	case FL_METRIC_ICMP_BPS:
		a->proto = a->victim.family == AF_INET6 ? 58 : 1;
		break;
	default:
		if (a->direction == FL_DDOS_DST && e &&
		    e->rate[FL_C_RX_PACKETS] > 0) {
			static const __u8 protos_of[] = { 6, 17, 1 };
			double total = e->rate[FL_C_RX_PACKETS];

			for (i = 0; i < 3; i++)
				if (e->rate[FL_C_RX_CLASS_PACKETS + i] >=
				    DDOS_PROTO_SHARE * total)
					a->proto = protos_of[i];
			if (a->proto == 1 && a->victim.family == AF_INET6)
				a->proto = 58;
		} else if (n >= DDOS_MIN_SAMPLES) {
			v = mode_of(protos, n, &count);
			if (count >= DDOS_PROTO_SHARE * n)
				a->proto = v;
		}
	}

	/* Top sources by share. */
	nsrcs = count_sources(ids, n, srcs);
	for (i = 0; i < nsrcs && i < DDOS_SOURCES_MAX; i++) {
		a->sources[i].addr = srcs[i].id;
		a->sources[i].share = n ? (double)srcs[i].n / n : 0;
	}
	a->nr_sources = i;

	if (a->direction == FL_DDOS_SRC) {
		a->signature = DDOS_SIG_SOURCE;
		goto out;
	}
	/* Over the threshold with allowlisted traffic alone (or nearly):
	 * a victim rule would drop everyone else and not them. No rule
	 * until the rest of the traffic says what to stop. */
	a->allowlisted_only = n < DDOS_MIN_SAMPLES &&
			      n_allowed >= DDOS_MIN_SAMPLES;
	/* A handful of sources carrying 80 %? */
	a->signature = DDOS_SIG_VICTIM;
	if (n >= DDOS_MIN_SAMPLES) {
		for (cum = 0, i = 0; i < nsrcs && i < DDOS_SOURCES_MAX; i++) {
			cum += (double)srcs[i].n / n;
			if (cum >= DDOS_SOURCES_SHARE) {
				a->signature = DDOS_SIG_SOURCES;
				a->nr_dominant = i + 1;
				break;
			}
		}
	}
	/* The victim signature narrows to a port that carries 80 %. */
	if (a->signature == DDOS_SIG_VICTIM && a->proto &&
	    nports >= DDOS_MIN_SAMPLES && nports >= DDOS_PORT_SHARE * n) {
		v = mode_of(dports, nports, &count);
		if (count >= DDOS_PORT_SHARE * nports) {
			a->dport = v;
		} else {
			v = mode_of(sports, nports, &count);
			if (count >= DDOS_PORT_SHARE * nports)
				a->sport = v;
		}
	}
out:
	free(srcs);
	free(ids);
	free(dports);
	free(sports);
	free(protos);
}

/* ---- rules ---- */

static int rule_for(const struct ddos_attack *a, const struct fl_ip_id *src,
		    struct fl_rule *rule, char *err, size_t errlen)
{
	const struct fl_threshold *t = &a->threshold;
	char text[FL_RULE_STRLEN], addr[FL_PREFIX_STRLEN], *argv[32];
	int host = a->victim.family == AF_INET ? 32 : 128, off = 0, argc = 0;
	char *save, *w;

#define ADD(...) off += snprintf(text + off, sizeof(text) - off, __VA_ARGS__)
	ADD("order %d", DDOS_RULE_ORDER);
	if (src)
		ADD(" src %s/%d", ip_text(src, addr, sizeof(addr)), host);
	if (a->direction == FL_DDOS_DST)
		ADD(" dst %s/%d", ip_text(&a->victim, addr, sizeof(addr)),
		    host);
	if (a->proto && a->direction == FL_DDOS_DST) {
		ADD(" proto %u", a->proto);
		if (a->vector == FL_METRIC_SPS)
			ADD(" tcp-flags syn/syn,ack");
		if (a->signature == DDOS_SIG_VICTIM && a->dport >= 0)
			ADD(" dport %d", a->dport);
		else if (a->signature == DDOS_SIG_VICTIM && a->sport >= 0)
			ADD(" sport %d", a->sport);
	}
	if (a->vector == FL_METRIC_FRAG_PPS || a->vector == FL_METRIC_FRAG_BPS)
		ADD(" frag any");
	if (t->action == FL_RULE_RATE_LIMIT)
		ADD(" action rate-limit %llu%s", (unsigned long long)t->rate,
		    t->rate_unit == FL_RATE_BPS ? "bps" : "pps");
	else
		ADD(" action drop");
	ADD(" attack %u", a->id);
#undef ADD
	for (w = strtok_r(text, " ", &save); w && argc < 32;
	     w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	return fl_rule_parse(argc, argv, DDOS_RULE_ORDER, rule, err, errlen);
}

/* Has the attack a rule with the same match as @rule? */
static bool attack_has_rule(struct daemon *d, const struct ddos_attack *a,
			    const struct fl_rule *rule)
{
	struct fl_rule_def def;
	struct fl_rule want = *rule;
	int i;

	want.id = 0;
	for (i = 0; i < a->nr_rules; i++) {
		if (fl_ruleset_get(d->rules, a->rules[i], &def, NULL))
			continue;
		def.rule.id = 0;
		def.rule.expires = want.expires;
		if (!memcmp(&def.rule, &want, sizeof(want)))
			return true;
	}
	return false;
}

/*
 * A SYN flood on a host the SYN proxy serves: the proxy answers it, and a
 * victim rule (all SYNs to the host, or to the port) would drop the real
 * clients' SYNs before the proxy sees them. Per-source rules still go in.
 */
static bool syn_proxied(struct daemon *d, struct ddos_attack *a)
{
	char addr[FL_PREFIX_STRLEN];

	if (a->direction != FL_DDOS_DST || a->vector != FL_METRIC_SPS ||
	    !synproxy_covers(d, a->victim.family, &a->victim.addr, a->dport))
		return false;
	ip_text(&a->victim, addr, sizeof(addr));
	if (a->dport >= 0)
		snprintf(a->error, sizeof(a->error),
			 "no rule: the SYN proxy answers SYNs to %s port %d",
			 addr, a->dport);
	else
		snprintf(
			a->error, sizeof(a->error),
			"no rule: a victim-wide SYN rule would drop the SYNs the SYN proxy answers on %s",
			addr);
	return true;
}

/* Installs the rules the signature calls for that the attack lacks;
 * returns how many it added. */
static int attack_mitigate(struct daemon *d, struct ddos_attack *a)
{
	struct fl_rule rules[DDOS_RULES_MAX];
	const struct fl_ip_id *src;
	char err[256], msg[sizeof(a->error)];
	size_t bad;
	int n = 0, i, room = DDOS_RULES_MAX - a->nr_rules;

	if (!d->rules)
		return 0;
	if (a->allowlisted_only) {
		snprintf(
			a->error, sizeof(a->error),
			"no rule: the traffic over the threshold is from allowlisted sources");
		return 0;
	}
	for (i = 0; n < room; i++) {
		if (a->signature == DDOS_SIG_SOURCES) {
			if (i == a->nr_dominant)
				break;
			src = &a->sources[i].addr;
			if (allowlisted(d->ddos, src))
				continue;
		} else {
			if (i == 1)
				break;
			if (syn_proxied(d, a))
				return 0;
			src = a->direction == FL_DDOS_SRC ? &a->victim : NULL;
			if (src && allowlisted(d->ddos, src)) {
				snprintf(a->error, sizeof(a->error),
					 "the source is allowlisted");
				return 0;
			}
		}
		if (rule_for(a, src, &rules[n], err, sizeof(err)))
			goto fail;
		if (!attack_has_rule(d, a, &rules[n]))
			n++;
	}
	if (!n)
		return 0;
	if (fl_ruleset_add(d->rules, rules, n, &bad, err, sizeof(err)))
		goto fail;
	d->rules_dirty = true;
	a->error[0] = '\0';
	for (i = 0; i < n; i++) {
		a->rules[a->nr_rules++] = rules[i].id;
		emit_rule(d, true, a, &rules[i]);
	}
	return n;
fail:
	/* retried every second while the attack lasts: log each new
	 * reason once */
	snprintf(msg, sizeof(msg), "no rule installed: %s", err);
	if (strcmp(msg, a->error)) {
		snprintf(a->error, sizeof(a->error), "%s", msg);
		pr_warn("ddos: attack %u: %s", a->id, a->error);
	}
	return 0;
}

static void attack_unmitigate(struct daemon *d, struct ddos_attack *a)
{
	struct fl_rule_stats st;
	struct fl_rule_def def;
	int i;

	for (i = 0; i < a->nr_rules; i++) {
		if (!d->rules ||
		    fl_ruleset_get(d->rules, a->rules[i], &def, &st))
			continue;
		a->matched += st.packets;
		a->dropped += st.dropped;
		if (!fl_ruleset_del(d->rules, a->rules[i])) {
			d->rules_dirty = true;
			emit_rule(d, false, a, &def.rule);
		}
	}
}

/* ---- the engine ---- */

static double metric_value(const struct fl_ip_entry *e, enum fl_ddos_dir dir,
			   enum fl_metric m)
{
	int class;

	if (dir == FL_DDOS_SRC) {
		switch (m) {
		case FL_METRIC_PPS:
			return e->rate[FL_C_TX_PACKETS];
		case FL_METRIC_BPS:
			return 8 * e->rate[FL_C_TX_BYTES];
		case FL_METRIC_SPS:
			return e->rate[FL_C_TX_SYNS];
		default:
			return 0;
		}
	}
	switch (m) {
	case FL_METRIC_PPS:
		return e->rate[FL_C_RX_PACKETS];
	case FL_METRIC_BPS:
		return 8 * e->rate[FL_C_RX_BYTES];
	case FL_METRIC_SPS:
		return e->rate[FL_C_RX_SYNS];
	default:
		/* tcp, udp, icmp, frag: the order of enum fl_rx_class */
		class = (m - FL_METRIC_TCP_PPS) / 2;
		if ((m - FL_METRIC_TCP_PPS) % 2)
			return 8 * e->rate[FL_C_RX_CLASS_BYTES + class];
		return e->rate[FL_C_RX_CLASS_PACKETS + class];
	}
}

/* The first metric above @factor times its limit, or -1. */
static int over(const struct fl_ip_entry *e, const struct fl_threshold *t,
		double factor)
{
	int m;

	for (m = 0; m < FL_METRIC_COUNT; m++)
		if (t->limit[m] &&
		    metric_value(e, t->direction, m) > factor * t->limit[m])
			return m;
	return -1;
}

static void attack_rates(struct ddos_attack *a, const struct fl_ip_entry *e)
{
	a->pps = metric_value(e, a->direction, FL_METRIC_PPS);
	a->bps = metric_value(e, a->direction, FL_METRIC_BPS);
	a->sps = metric_value(e, a->direction, FL_METRIC_SPS);
	a->rate = metric_value(e, a->direction, a->metric);
	if (a->pps > a->peak_pps)
		a->peak_pps = a->pps;
	if (a->bps > a->peak_bps)
		a->peak_bps = a->bps;
	if (a->sps > a->peak_sps)
		a->peak_sps = a->sps;
}

static void attack_start(struct daemon *d, struct ddos_victim *v,
			 const struct fl_ip_entry *e,
			 const struct fl_threshold *t, int metric)
{
	struct ddos *dd = d->ddos;
	struct ddos_attack *a = calloc(1, sizeof(*a));

	if (!a)
		return;
	a->id = dd->next_id++;
	a->direction = t->direction;
	a->victim = e->id;
	a->threshold = *t;
	a->active = true;
	a->started = unix_now();
	a->last_above_ns = dd->now_ns;
	a->metric = metric;
	a->crossings = 1;
	attack_rates(a, e);
	signature_of(d, a, e, metric);
	a->next = dd->active;
	dd->active = a;
	v->attack = a;
	emit_event(d, DDOS_EV_START, a);
	if (attack_mitigate(d, a))
		a->mitigated = unix_now();
	emit_event(d, DDOS_EV_MITIGATION, a);
	ddos_save(d);
}

static void history_add(struct daemon *d, struct json_object *o)
{
	struct ddos *dd = d->ddos;
	size_t n = json_object_array_length(dd->history);

	json_object_array_add(dd->history, o);
	if (n + 1 > DDOS_HISTORY_MAX)
		json_object_array_del_idx(dd->history, 0,
					  n + 1 - DDOS_HISTORY_MAX);
}

static void attack_end(struct daemon *d, struct ddos_attack *a)
{
	struct ddos *dd = d->ddos;
	struct ddos_attack **pp;
	struct ddos_victim *v, *tmp;

	attack_unmitigate(d, a);
	a->active = false;
	a->ended = unix_now();
	emit_event(d, DDOS_EV_END, a);
	for (pp = &dd->active; *pp; pp = &(*pp)->next) {
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	}
	HASH_ITER(hh, dd->victims, v, tmp) {
		if (v->attack == a)
			v->attack = NULL;
	}
	history_add(d, ddos_attack_json(d, a));
	free(a);
	ddos_save(d);
}

static struct ddos_victim *
victim_get(struct ddos *dd, const struct fl_ip_id *id, int dir, bool create)
{
	struct victim_key key;
	struct ddos_victim *v;

	memset(&key, 0, sizeof(key));
	key.id = *id;
	key.direction = dir;
	HASH_FIND(hh, dd->victims, &key, sizeof(key), v);
	if (v || !create)
		return v;
	v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->key = key;
	HASH_ADD(hh, dd->victims, key, sizeof(v->key), v);
	return v;
}

static void check_entry(struct daemon *d, struct fl_ip_entry *e,
			enum fl_ddos_dir dir, bool refresh)
{
	struct ddos *dd = d->ddos;
	const struct fl_threshold *t = threshold_of(dd, e, dir);
	struct ddos_victim *v;
	struct ddos_attack *a;
	bool crossed = false;
	int m, added;

	if (!t)
		return;
	if (dir == FL_DDOS_SRC && allowlisted(dd, &e->id))
		return;
	m = over(e, t, 1.0);
	v = victim_get(dd, &e->id, dir, m >= 0);
	if (!v)
		return;
	v->generation = d->generation;
	if (!v->above && m >= 0) {
		v->above = true;
		crossed = true;
		v->crossings++;
		if (v->attack)
			v->attack->crossings++;
	} else if (v->above && over(e, t, DDOS_HYSTERESIS) < 0) {
		v->above = false;
	}
	a = v->attack;
	if (v->above && !a) {
		attack_start(d, v, e, t, m >= 0 ? m : over(e, t, 0.0));
		return;
	}
	if (!a)
		return;
	attack_rates(a, e);
	if (v->above)
		a->last_above_ns = dd->now_ns;
	/* Once a second, and on every crossing, each metric over its limit
	 * gets the rules its signature calls for: new dominant sources, or
	 * a new vector (a SYN flood after a UDP flood). Rules already there
	 * stay as they are, so nothing churns. */
	if (v->above && (refresh || crossed) && a->nr_rules < DDOS_RULES_MAX) {
		for (m = 0, added = 0; m < FL_METRIC_COUNT; m++) {
			if (!t->limit[m] ||
			    metric_value(e, dir, m) <= t->limit[m])
				continue;
			signature_of(d, a, e, m);
			added += attack_mitigate(d, a);
		}
		if (added) {
			if (!a->mitigated)
				a->mitigated = unix_now();
			emit_event(d,
				   a->nr_rules == added ? DDOS_EV_MITIGATION :
							  DDOS_EV_UPDATE,
				   a);
			ddos_save(d);
		}
	}
}

/* One in how many protected packets XDP should sample, from the protected
 * traffic of the last second: about DDOS_SAMPLE_TARGET samples a second. */
static void sample_rate_adapt(struct daemon *d)
{
	struct ddos *dd = d->ddos;
	struct fl_ip_entry *e;
	struct fl_config cfg;
	double pps = 0;
	__u32 rate = 1;

	for (e = d->ips; e; e = e->hh.next)
		if (e->reason & FL_TRACK_PROTECTED)
			pps += e->pps[FL_SIDE_DST];
	while (rate < (1U << 30) && pps / rate > DDOS_SAMPLE_TARGET)
		rate <<= 1;
	if (!dd->nr_thresholds)
		rate = 0; /* nobody needs samples */
	if (rate == dd->sample_rate || settings_read(d, &cfg))
		return;
	cfg.sample_rate = rate;
	if (!settings_write(d, &cfg))
		dd->sample_rate = rate;
}

void ddos_tick(struct daemon *d)
{
	struct ddos *dd = d->ddos;
	bool second = d->ticks % FL_RATE_SLOTS == 0;
	struct ddos_attack *a, *next;
	struct ddos_victim *v, *tmp;
	struct fl_ip_entry *e;

	if (!dd)
		return;
	dd->now_ns = mono_ns();
	if (dd->rb)
		ring_buffer__consume(dd->rb);
	/* at once when thresholds appear: the first flood needs samples */
	if (second || (dd->nr_thresholds && !dd->sample_rate) ||
	    dd->sample_rate == ~0U)
		sample_rate_adapt(d);
	if (!dd->nr_thresholds && !dd->active)
		return;

	for (e = d->ips; e; e = e->hh.next) {
		check_entry(d, e, FL_DDOS_DST, second);
		check_entry(d, e, FL_DDOS_SRC, second);
	}
	/* Addresses no longer tracked (the LRU evicted them) are below. */
	HASH_ITER(hh, dd->victims, v, tmp) {
		if (v->generation == d->generation)
			continue;
		v->above = false;
		if (!v->attack) {
			HASH_DEL(dd->victims, v);
			free(v);
		}
	}
	for (a = dd->active; a; a = next) {
		next = a->next;
		v = victim_get(dd, &a->victim, a->direction, false);
		if (v && v->above)
			continue;
		if (dd->now_ns - a->last_above_ns >=
		    (__u64)a->threshold.hold * NSEC)
			attack_end(d, a);
	}
}

/* ---- restore ---- */

static const char *json_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return NULL;
	return json_object_get_string(v);
}

static double json_num(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return 0;
	return json_object_get_double(v);
}

static int parse_words(const char *text, struct fl_threshold *t, char *err,
		       size_t errlen)
{
	char *copy = strdup(text), *argv[64], *save, *w;
	int argc = 0, ret;

	if (!copy)
		return -ENOMEM;
	for (w = strtok_r(copy, " ", &save); w && argc < 64;
	     w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	ret = fl_threshold_parse(argc, argv, t, err, errlen);
	free(copy);
	return ret;
}

static int id_parse(const char *text, struct fl_ip_id *id)
{
	struct fl_prefix p;
	char err[128];

	if (!text || fl_prefix_parse(text, &p, err, sizeof(err)))
		return -EINVAL;
	memset(id, 0, sizeof(*id));
	id->family = p.family;
	id->addr = p.addr;
	return 0;
}

struct adopt_ctx {
	struct ddos_attack *a;
};

static int adopt_rule(const struct fl_rule_def *def, void *arg)
{
	struct ddos_attack *a = ((struct adopt_ctx *)arg)->a;

	if (def->rule.attack == a->id && a->nr_rules < DDOS_RULES_MAX)
		a->rules[a->nr_rules++] = def->rule.id;
	return 0;
}

static void restore_attack(struct daemon *d, struct json_object *o)
{
	struct ddos *dd = d->ddos;
	struct json_object *list;
	struct adopt_ctx ctx;
	struct ddos_attack *a = calloc(1, sizeof(*a));
	struct ddos_victim *v;
	char err[256];
	const char *text;
	int i, m;

	if (!a)
		return;
	a->id = json_num(o, "id");
	text = json_str(o, "threshold_text");
	if (!a->id || !text ||
	    parse_words(text, &a->threshold, err, sizeof(err)) ||
	    id_parse(json_str(o, "victim"), &a->victim)) {
		pr_warn("%s: skipping an active attack that does not parse",
			dd->state_path);
		free(a);
		return;
	}
	a->direction = a->threshold.direction;
	a->active = true;
	a->started = json_num(o, "started");
	a->mitigated = json_num(o, "mitigated");
	a->last_above_ns = dd->now_ns; /* hold starts over */
	for (m = 0; m < FL_METRIC_COUNT; m++)
		if (!strcmp(json_str(o, "metric") ?: "", fl_metric_name(m)))
			a->metric = m;
	a->vector = a->metric;
	a->crossings = json_num(o, "crossings");
	a->peak_pps = json_num(json_object_object_get(o, "peak"), "pps");
	a->peak_bps = json_num(json_object_object_get(o, "peak"), "bps");
	a->peak_sps = json_num(json_object_object_get(o, "peak"), "sps");
	for (i = 0; i <= DDOS_SIG_SOURCE; i++)
		if (!strcmp(json_str(o, "signature") ?: "", signature_names[i]))
			a->signature = i;
	a->proto = 0;
	text = json_str(o, "protocol");
	if (text && !strcmp(text, "tcp"))
		a->proto = 6;
	else if (text && !strcmp(text, "udp"))
		a->proto = 17;
	else if (text && !strcmp(text, "icmp"))
		a->proto = a->victim.family == AF_INET6 ? 58 : 1;
	a->dport = json_object_object_get(o, "dport") ?
			   (int)json_num(o, "dport") :
			   -1;
	a->sport = json_object_object_get(o, "sport") ?
			   (int)json_num(o, "sport") :
			   -1;
	if (json_object_object_get_ex(o, "sources", &list))
		for (i = 0; i < (int)json_object_array_length(list) &&
			    a->nr_sources < DDOS_SOURCES_MAX;
		     i++) {
			struct json_object *s =
				json_object_array_get_idx(list, i);

			if (id_parse(json_str(s, "address"),
				     &a->sources[a->nr_sources].addr))
				continue;
			a->sources[a->nr_sources++].share =
				json_num(s, "share");
		}
	/* Rule ids change across a reboot; the attack id in each rule
	 * does not. */
	ctx.a = a;
	if (d->rules)
		fl_ruleset_for_each(d->rules, adopt_rule, &ctx);
	a->next = dd->active;
	dd->active = a;
	v = victim_get(dd, &a->victim, a->direction, true);
	if (v) {
		v->attack = a;
		v->generation = d->generation;
	}
	pr_info("ddos: attack %u on %s still active, %d rule%s kept", a->id,
		json_str(o, "victim"), a->nr_rules,
		a->nr_rules == 1 ? "" : "s");
}

/* Rules marked with an attack the engine does not know (its record lost
 * with the state file) would never be removed: remove them. */
static int orphan_rule(const struct fl_rule_def *def, void *arg)
{
	struct daemon *d = arg;
	struct ddos_attack *a;

	if (!def->rule.attack)
		return 0;
	/* ids are never reused, even when the record of them is lost */
	if (def->rule.attack >= d->ddos->next_id)
		d->ddos->next_id = def->rule.attack + 1;
	for (a = d->ddos->active; a; a = a->next)
		if (a->id == def->rule.attack)
			return 0;
	pr_warn("ddos: rule %u belongs to attack %u, which is not active: removing it",
		def->rule.id, def->rule.attack);
	if (!fl_ruleset_del(d->rules, def->rule.id))
		d->rules_dirty = true;
	return 0;
}

/* The highest attack id in the last 64 KiB of the events file, or 0: what
 * keeps ids unique when ddos.json was lost but the events file was not. */
static __u32 events_last_id(const char *path)
{
	struct json_object *o, *attack;
	char line[65536];
	__u32 id, max = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	if (!fseek(f, 0, SEEK_END) && ftell(f) > (long)sizeof(line))
		fseek(f, -(long)sizeof(line), SEEK_END);
	else
		rewind(f);
	while (fgets(line, sizeof(line), f)) {
		o = json_tokener_parse(line);
		if (!o)
			continue; /* the first, partial line */
		if (json_object_object_get_ex(o, "attack", &attack)) {
			id = json_num(attack, "id");
			if (id > max)
				max = id;
		}
		json_object_put(o);
	}
	fclose(f);
	return max;
}

static int ddos_restore(struct daemon *d)
{
	struct ddos *dd = d->ddos;
	struct json_object *root, *list, *o;
	struct fl_threshold t;
	struct fl_prefix p;
	int ret, version;
	char err[512];
	size_t i, n;

	ret = fl_persist_load(dd->state_path, &ddos_format, &root, &version,
			      err, sizeof(err));
	if (ret == -ENOENT)
		return 0;
	if (ret) {
		pr_warn("ddos: %s; no thresholds restored", err);
		return 0;
	}
	dd->next_id = json_num(root, "next_id");
	if (json_object_object_get_ex(root, "thresholds", &list)) {
		n = json_object_array_length(list);
		for (i = 0; i < n && i < DDOS_THRESHOLDS_MAX; i++) {
			const char *text = json_object_get_string(
				json_object_array_get_idx(list, i));

			if (parse_words(text, &t, err, sizeof(err))) {
				pr_warn("%s: threshold '%s': %s",
					dd->state_path, text, err);
				continue;
			}
			dd->thresholds[dd->nr_thresholds++] = t;
		}
	}
	if (json_object_object_get_ex(root, "allow", &list)) {
		n = json_object_array_length(list);
		for (i = 0; i < n && i < FL_ALLOW_MAX; i++) {
			const char *text = json_object_get_string(
				json_object_array_get_idx(list, i));

			if (fl_prefix_parse(text, &p, err, sizeof(err)))
				continue;
			dd->allow[dd->nr_allow++] = p;
		}
	}
	if (json_object_object_get_ex(root, "active", &list)) {
		n = json_object_array_length(list);
		for (i = 0; i < n; i++)
			restore_attack(d, json_object_array_get_idx(list, i));
	}
	if (json_object_object_get_ex(root, "history", &list) &&
	    json_object_is_type(list, json_type_array)) {
		n = json_object_array_length(list);
		for (i = 0; i < n; i++) {
			o = json_object_array_get_idx(list, i);
			history_add(d, json_object_get(o));
		}
	}
	json_object_put(root);
	pr_info("ddos: restored %d threshold%s and %d allowlisted prefix%s from %s",
		dd->nr_thresholds, dd->nr_thresholds == 1 ? "" : "s",
		dd->nr_allow, dd->nr_allow == 1 ? "" : "es", dd->state_path);
	return 0;
}

int ddos_open(struct daemon *d)
{
	struct ddos *dd = calloc(1, sizeof(*dd));
	__u32 last;
	int i, err;

	if (!dd)
		return -ENOMEM;
	d->ddos = dd;
	dd->thresholds = calloc(DDOS_THRESHOLDS_MAX, sizeof(*dd->thresholds));
	dd->allow = calloc(FL_ALLOW_MAX, sizeof(*dd->allow));
	dd->samples = calloc(DDOS_SAMPLES_MAX, sizeof(*dd->samples));
	dd->history = json_object_new_array();
	if (!dd->thresholds || !dd->allow || !dd->samples || !dd->history)
		return -ENOMEM;
	dd->next_id = 1;
	dd->threshold_gen = 1; /* entries start at 0: not looked up yet */
	dd->now_ns = mono_ns();
	paths_init(d);
	ddos_hooks_register(d, &log_hooks, d);

	ddos_restore(d);
	if (!dd->next_id)
		dd->next_id = 1;
	/* The file is the truth after a reboot; after a restart the pinned
	 * tries already hold the same prefixes. */
	for (i = 0; i < dd->nr_allow; i++) {
		err = allow_map_update(d, &dd->allow[i], true);
		if (err)
			pr_warn("ddos: cannot allowlist a prefix: %s",
				strerror(-err));
	}
	if (d->rules)
		fl_ruleset_for_each(d->rules, orphan_rule, d);
	last = events_last_id(dd->events_path);
	if (last >= dd->next_id)
		dd->next_id = last + 1;

	dd->rb = ring_buffer__new(bpf_map__fd(d->skel->maps.FL_MAP_SAMPLES),
				  sample_read, dd, NULL);
	if (!dd->rb)
		pr_warn("ddos: no packet samples (%s): attack signatures fall back to the victim",
			strerror(errno));
	dd->events = fopen(dd->events_path, "a");
	if (!dd->events)
		pr_warn("ddos: cannot open the events file %s: %s",
			dd->events_path, strerror(errno));
	dd->sample_rate = ~0U; /* unknown: the first tick writes it */
	ddos_save(d);
	return 0;
}

void ddos_close(struct daemon *d)
{
	struct ddos *dd = d->ddos;
	struct ddos_attack *a, *next;
	struct ddos_victim *v, *tmp;

	if (!dd)
		return;
	/* Active attacks keep their rules: a stopped daemon fails open
	 * for new attacks, not for the ones already mitigated. */
	ddos_save(d);
	for (a = dd->active; a; a = next) {
		next = a->next;
		free(a);
	}
	HASH_ITER(hh, dd->victims, v, tmp) {
		HASH_DEL(dd->victims, v);
		free(v);
	}
	ring_buffer__free(dd->rb);
	if (dd->events)
		fclose(dd->events);
	json_object_put(dd->history);
	free(dd->thresholds);
	free(dd->allow);
	free(dd->samples);
	free(dd);
	d->ddos = NULL;
}

/* ---- control requests ---- */

static int req_words(struct json_object *req, char **argv, int max, char *err,
		     size_t errlen)
{
	struct json_object *words;
	int i, n;

	if (!json_object_object_get_ex(req, "words", &words) ||
	    !json_object_is_type(words, json_type_array)) {
		snprintf(err, errlen, "needs \"words\", an array");
		return -EINVAL;
	}
	n = json_object_array_length(words);
	if (n > max) {
		snprintf(err, errlen, "at most %d words", max);
		return -EINVAL;
	}
	for (i = 0; i < n; i++)
		argv[i] = (char *)json_object_get_string(
			json_object_array_get_idx(words, i));
	return n;
}

struct covered_ctx {
	const struct fl_prefix *p;
	bool covered;
};

static int covered_by(const struct fl_prefix *prefix, void *arg)
{
	struct covered_ctx *c = arg;

	if (prefix->len <= c->p->len &&
	    fl_prefix_contains(prefix, c->p->family, &c->p->addr))
		c->covered = true;
	return c->covered;
}

static int cmd_threshold_add(struct daemon *d, struct json_object *req,
			     struct json_object **data, char *err,
			     size_t errlen)
{
	struct ddos *dd = d->ddos;
	struct covered_ctx cov = {};
	struct fl_threshold t;
	char *argv[64], buf[FL_THRESHOLD_STRLEN];
	bool protected = false;
	int argc, i, ret;

	argc = req_words(req, argv, 64, err, errlen);
	if (argc < 0)
		return argc;
	ret = fl_threshold_parse(argc, argv, &t, err, errlen);
	if (ret)
		return ret;
	i = threshold_find(dd, &t.prefix, t.direction);
	if (i < 0 && dd->nr_thresholds == DDOS_THRESHOLDS_MAX) {
		snprintf(err, errlen, "all %d thresholds in use",
			 DDOS_THRESHOLDS_MAX);
		return -ENOSPC;
	}
	/* A destination threshold needs exact counters for its hosts. */
	if (t.direction == FL_DDOS_DST) {
		cov.p = &t.prefix;
		protect_for_each(d, covered_by, &cov);
		if (!cov.covered) {
			ret = protect_add(d, &t.prefix);
			if (ret) {
				snprintf(err, errlen, "cannot protect %s: %s",
					 fl_prefix_format(&t.prefix, buf,
							  sizeof(buf)),
					 strerror(-ret));
				return ret;
			}
			protected = true;
			state_save(d);
		}
	}
	*data = json_object_new_object();
	json_object_object_add(*data, "replaced",
			       json_object_new_boolean(i >= 0));
	json_object_object_add(*data, "protected",
			       json_object_new_boolean(protected));
	if (i < 0)
		i = dd->nr_thresholds++;
	dd->thresholds[i] = t;
	thresholds_changed(dd);
	json_object_object_add(*data, "threshold", threshold_json(&t));
	pr_info("ddos: threshold %s",
		fl_threshold_format(&t, buf, sizeof(buf)));
	sample_rate_adapt(d); /* the next flood needs samples at once */
	ddos_save(d);
	return 0;
}

static int cmd_threshold_del(struct daemon *d, struct json_object *req,
			     struct json_object **data, char *err,
			     size_t errlen)
{
	struct ddos *dd = d->ddos;
	enum fl_ddos_dir dir = FL_DDOS_DST;
	struct fl_prefix p;
	char *argv[4], buf[FL_PREFIX_STRLEN];
	int argc, i;

	argc = req_words(req, argv, 4, err, errlen);
	if (argc < 0)
		return argc;
	if (argc < 1 || argc > 2 || (argc == 2 && strcmp(argv[1], "source"))) {
		snprintf(err, errlen, "threshold del takes PREFIX [source]");
		return -EINVAL;
	}
	if (fl_prefix_parse(argv[0], &p, err, errlen))
		return -EINVAL;
	if (argc == 2)
		dir = FL_DDOS_SRC;
	i = threshold_find(dd, &p, dir);
	if (i < 0) {
		snprintf(err, errlen, "%s has no %s threshold",
			 fl_prefix_format(&p, buf, sizeof(buf)),
			 fl_ddos_dir_name(dir));
		return -ENOENT;
	}
	*data = json_object_new_object();
	json_object_object_add(*data, "threshold",
			       threshold_json(&dd->thresholds[i]));
	dd->thresholds[i] = dd->thresholds[--dd->nr_thresholds];
	thresholds_changed(dd);
	/* Active attacks keep their copy and end after their hold. */
	pr_info("ddos: threshold on %s (%s) deleted",
		fl_prefix_format(&p, buf, sizeof(buf)), fl_ddos_dir_name(dir));
	ddos_save(d);
	return 0;
}

static int cmd_threshold_list(struct daemon *d, struct json_object *req,
			      struct json_object **data, char *err,
			      size_t errlen)
{
	struct ddos *dd = d->ddos;
	struct json_object *list = json_object_new_array();
	int i;

	for (i = 0; i < dd->nr_thresholds; i++)
		json_object_array_add(list, threshold_json(&dd->thresholds[i]));
	*data = json_object_new_object();
	json_object_object_add(*data, "thresholds", list);
	return 0;
}

static int req_prefix(struct json_object *req, struct fl_prefix *p, char *err,
		      size_t errlen)
{
	const char *text = json_str(req, "prefix");

	if (!text) {
		snprintf(err, errlen, "needs \"prefix\"");
		return -EINVAL;
	}
	return fl_prefix_parse(text, p, err, errlen) ? -EINVAL : 0;
}

static int allow_index(struct ddos *dd, const struct fl_prefix *p)
{
	int i;

	for (i = 0; i < dd->nr_allow; i++)
		if (dd->allow[i].family == p->family &&
		    dd->allow[i].len == p->len &&
		    !memcmp(&dd->allow[i].addr, &p->addr, sizeof(p->addr)))
			return i;
	return -1;
}

static int allow_change(struct daemon *d, struct json_object *req,
			struct json_object **data, char *err, size_t errlen,
			bool add)
{
	struct ddos *dd = d->ddos;
	char buf[FL_PREFIX_STRLEN];
	struct fl_prefix p;
	int i, ret;

	ret = req_prefix(req, &p, err, errlen);
	if (ret)
		return ret;
	fl_prefix_format(&p, buf, sizeof(buf));
	i = allow_index(dd, &p);
	if (add && i >= 0) {
		snprintf(err, errlen, "%s is already allowlisted", buf);
		return -EEXIST;
	}
	if (!add && i < 0) {
		snprintf(err, errlen, "%s is not allowlisted", buf);
		return -ENOENT;
	}
	if (add && dd->nr_allow == FL_ALLOW_MAX) {
		snprintf(err, errlen, "all %d allowlist entries in use",
			 FL_ALLOW_MAX);
		return -ENOSPC;
	}
	ret = allow_map_update(d, &p, add);
	if (ret && !(ret == -ENOENT && !add)) {
		snprintf(err, errlen, "cannot %s %s: %s",
			 add ? "allowlist" : "un-allowlist", buf,
			 strerror(-ret));
		return ret;
	}
	if (add)
		dd->allow[dd->nr_allow++] = p;
	else
		dd->allow[i] = dd->allow[--dd->nr_allow];
	*data = json_object_new_object();
	json_object_object_add(*data, "prefix", json_object_new_string(buf));
	pr_info("ddos: %s %s the allowlist", buf,
		add ? "added to" : "removed from");
	ddos_save(d);
	return 0;
}

static int cmd_allow_add(struct daemon *d, struct json_object *req,
			 struct json_object **data, char *err, size_t errlen)
{
	return allow_change(d, req, data, err, errlen, true);
}

static int cmd_allow_del(struct daemon *d, struct json_object *req,
			 struct json_object **data, char *err, size_t errlen)
{
	return allow_change(d, req, data, err, errlen, false);
}

static int cmd_allow_list(struct daemon *d, struct json_object *req,
			  struct json_object **data, char *err, size_t errlen)
{
	struct ddos *dd = d->ddos;
	struct json_object *list = json_object_new_array();
	char buf[FL_PREFIX_STRLEN];
	int i;

	for (i = 0; i < dd->nr_allow; i++)
		json_object_array_add(
			list, json_object_new_string(fl_prefix_format(
				      &dd->allow[i], buf, sizeof(buf))));
	*data = json_object_new_object();
	json_object_object_add(*data, "prefixes", list);
	return 0;
}

static int attack_newer_first(const void *a, const void *b)
{
	__s64 x = json_num(*(struct json_object *const *)a, "id");
	__s64 y = json_num(*(struct json_object *const *)b, "id");

	return (x < y) - (x > y);
}

static int cmd_attacks(struct daemon *d, struct json_object *req,
		       struct json_object **data, char *err, size_t errlen)
{
	struct ddos *dd = d->ddos;
	struct json_object *list = json_object_new_array(), *v;
	struct ddos_attack *a;
	bool all = false;
	int i;

	if (json_object_object_get_ex(req, "all", &v))
		all = json_object_get_boolean(v);
	for (a = dd->active; a; a = a->next)
		json_object_array_add(list, ddos_attack_json(d, a));
	if (all)
		for (i = json_object_array_length(dd->history) - 1; i >= 0; i--)
			json_object_array_add(
				list, json_object_get(json_object_array_get_idx(
					      dd->history, i)));
	/* Newest first: ids grow with start times; the history is in the
	 * order attacks ended, and a restart restores the active ones in
	 * reverse. */
	json_object_array_sort(list, attack_newer_first);
	*data = json_object_new_object();
	json_object_object_add(*data, "attacks", list);
	return 0;
}

static struct json_object *victim_json(struct daemon *d,
				       const struct fl_ip_entry *e,
				       const struct fl_threshold *t,
				       enum fl_ddos_dir dir)
{
	struct ddos_victim *v = victim_get(d->ddos, &e->id, dir, false);
	struct json_object *o = json_object_new_object(), *rates;
	char buf[FL_PREFIX_STRLEN];
	int m;

	json_object_object_add(
		o, "address",
		json_object_new_string(ip_text(&e->id, buf, sizeof(buf))));
	json_object_object_add(o, "direction",
			       json_object_new_string(fl_ddos_dir_name(dir)));
	json_object_object_add(o, "threshold",
			       json_object_new_string(fl_prefix_format(
				       &t->prefix, buf, sizeof(buf))));
	rates = json_object_new_object();
	for (m = 0; m < FL_METRIC_COUNT; m++)
		if (dir == FL_DDOS_DST || fl_metric_source_ok(m))
			json_object_object_add(
				rates, fl_metric_name(m),
				json_object_new_double(
					metric_value(e, dir, m)));
	json_object_object_add(o, "rates", rates);
	json_object_object_add(o, "limits", limits_json(t));
	json_object_object_add(o, "above",
			       json_object_new_boolean(v && v->above));
	json_object_object_add(o, "active",
			       json_object_new_boolean(v && v->attack));
	json_object_object_add(
		o, "attack",
		v && v->attack ? json_object_new_int64(v->attack->id) : NULL);
	json_object_object_add(o, "crossings",
			       json_object_new_int64(v ? v->crossings : 0));
	return o;
}

static int cmd_status(struct daemon *d, struct json_object *req,
		      struct json_object **data, char *err, size_t errlen)
{
	struct ddos *dd = d->ddos;
	struct json_object *list = json_object_new_array(), *s;
	const struct fl_threshold *t;
	struct fl_ip_entry *e;
	struct ddos_attack *a;
	int dir, active = 0;

	for (e = d->ips; e; e = e->hh.next)
		for (dir = FL_DDOS_DST; dir <= FL_DDOS_SRC; dir++) {
			t = threshold_of(dd, e, dir);
			if (t)
				json_object_array_add(list, victim_json(d, e, t,
									dir));
		}
	for (a = dd->active; a; a = a->next)
		active++;
	*data = json_object_new_object();
	json_object_object_add(*data, "victims", list);
	json_object_object_add(*data, "active", json_object_new_int(active));
	json_object_object_add(*data, "thresholds",
			       json_object_new_int(dd->nr_thresholds));
	s = json_object_new_object();
	json_object_object_add(s, "rate",
			       json_object_new_int64(dd->sample_rate == ~0U ?
							     0 :
							     dd->sample_rate));
	json_object_object_add(s, "read",
			       json_object_new_uint64(dd->samples_read));
	json_object_object_add(*data, "samples", s);
	json_object_object_add(*data, "events_file",
			       json_object_new_string(dd->events_path));
	return 0;
}

const struct command ddos_commands[] = {
	{ "ddos-threshold-add", cmd_threshold_add },
	{ "ddos-threshold-del", cmd_threshold_del },
	{ "ddos-threshold-list", cmd_threshold_list },
	{ "ddos-allow-add", cmd_allow_add },
	{ "ddos-allow-del", cmd_allow_del },
	{ "ddos-allow-list", cmd_allow_list },
	{ "ddos-attacks", cmd_attacks },
	{ "ddos-status", cmd_status },
	{ NULL, NULL },
};
