// SPDX-License-Identifier: Apache-2.0
/*
 * The DDoS engine's commands: ddos-threshold-add/del/list,
 * ddos-attacks, ddos-status, and the module's command table (the
 * allowlist's commands are in ddos_allow.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ddos_priv.h"
#include "log.h"

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
			       json_object_new_string(events_file_path(d)));
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
