// SPDX-License-Identifier: Apache-2.0
/*
 * The DDoS engine's state file, ddos.json next to flowlensd's state
 * file: thresholds, the allowlist, the next attack id, the active
 * attacks and the history, saved on every change and restored at start,
 * with the rules the rule engine kept for the active attacks.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ddos_priv.h"
#include "log.h"
#include "persist.h"
#include "voip.h"

/* ---- the state file ---- */

void ddos_paths_init(struct daemon *d)
{
	struct ddos *dd = d->ddos;
	char *copy = strdup(d->opt.state_path);
	const char *dir = copy ? dirname(copy) : ".";

	snprintf(dd->state_path, sizeof(dd->state_path), "%s/ddos.json", dir);
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

int ddos_save(struct daemon *d)
{
	return fl_persist_save(d->ddos->state_path, &ddos_format, ddos_fill,
			       d);
}

/* ---- restore ---- */

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
	text = json_str(o, "sip_method");
	if (text) {
		a->voip = true;
		a->sip_method = voip_method_parse(text);
		a->sip_limit = json_num(o, "limit");
		if (a->sip_method < 0) {
			pr_warn("%s: skipping an active VoIP attack with method '%s'",
				dd->state_path, text);
			free(a);
			return;
		}
	}
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
		if (!strcmp(json_str(o, "signature") ?: "",
			    ddos_signature_names[i]))
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
	rules_for_each(d, adopt_rule, &ctx);
	a->next = dd->active;
	dd->active = a;
	v = a->voip ? NULL : victim_get(dd, &a->victim, a->direction, true);
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
int orphan_rule(const struct fl_rule_def *def, void *arg)
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
	rules_del(d, def->rule.id, FL_ORIGIN_DDOS);
	return 0;
}

/* The highest attack id in the last 64 KiB of the events file, or 0: what
 * keeps ids unique when ddos.json was lost but the events file was not. */
__u32 ddos_events_last_id(const char *path)
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

int ddos_restore(struct daemon *d)
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
