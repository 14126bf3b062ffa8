// SPDX-License-Identifier: Apache-2.0
/*
 * Mitigation rules: the rule-* control commands, expiry on the tick, and
 * the rules file that carries them across a reboot.
 *
 * The pinned maps are the truth while bpffs lives: a restarted flowlensd
 * rebuilds its view from them (user/lib/ruleset.c) and keeps every id and
 * counter. The rules file, RULES_FILE next to the state file, is written
 * (user/lib/persist.c: atomically, durably) at most once a tick after a
 * change, and read only when the maps start empty (after a reboot):
 *
 *   {"format": "flowlens-rules", "version": 2, "saved_at": ...,
 *    "rules": ["dst 192.0.2.1/32 proto udp action drop expires 30", ...]}
 *
 * each rule as 'flctl rule add' takes it, expiry times as seconds left at
 * the time it was saved, from which the time since is taken on restore.
 * 'flctl rule load' reads this file too, as well as a text file with one
 * rule a line, which is what version 1 of the rules file was (with a
 * "# saved-at SECONDS" line).
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "bus.h"
#include "daemon.h"
#include "module.h"
#include "log.h"
#include "persist.h"
#include "rule.h"
#include "ruleset.h"
#include "flowlens.skel.h"

#define RULES_FILE "rules.conf"
#define SAVED_AT "# saved-at " /* the text file of version 1 */

static const struct fl_persist_format rules_format = {
	.name = "flowlens-rules",
	.version = 2,
};

static void rules_path(const struct daemon *d, char *buf, size_t len)
{
	char *copy = strdup(d->opt.state_path);

	snprintf(buf, len, "%s/%s", copy ? dirname(copy) : ".", RULES_FILE);
	free(copy);
}

/* The rule as text, with expiry as seconds left at @now (at least 1). */
static const char *rule_text(const struct fl_rule_def *def, __u64 now,
			     char *buf, size_t len)
{
	struct fl_rule r = def->rule;

	r.expires = 0;
	if (def->expires_at)
		r.expires = fl_rule_seconds_left(def, now) ?: 1;
	return fl_rule_format(&r, buf, len);
}

static int save_one(const struct fl_rule_def *def, void *arg)
{
	char text[FL_RULE_STRLEN];
	struct json_object *s = json_object_new_string(
		rule_text(def, fl_ruleset_now(), text, sizeof(text)));

	if (!s || json_object_array_add(arg, s)) {
		json_object_put(s);
		return -ENOMEM;
	}
	return 0;
}

static int rules_fill(struct json_object *root, void *arg)
{
	struct daemon *d = arg;
	struct json_object *list =
		json_object_new_array_ext(fl_ruleset_count(d->rules));

	if (!list)
		return -ENOMEM;
	json_object_object_add(root, "rules", list);
	return fl_ruleset_for_each(d->rules, save_one, list);
}

static int rules_save(struct daemon *d)
{
	char path[512];
	int err;

	if (!d->rules)
		return 0;
	rules_path(d, path, sizeof(path));
	err = fl_persist_save(path, &rules_format, rules_fill, d);
	if (!err)
		d->rules_dirty = false;
	return err;
}

/* ---- the rule engine, for every module -------------------------------- */

static void publish(struct daemon *d, enum fl_event_type type,
		    const struct fl_rule *rule, enum fl_rule_origin origin)
{
	struct fl_event ev = { .type = type };

	ev.rule.rule = rule;
	ev.rule.origin = origin;
	ev.rule.attack_id = rule->attack;
	bus_publish(d, &ev);
}

bool rules_ready(const struct daemon *d)
{
	return d->rules != NULL;
}

int rules_add(struct daemon *d, struct fl_rule *rules, size_t n,
	      enum fl_rule_origin origin, size_t *bad, char *err,
	      size_t errlen)
{
	size_t i;
	int ret;

	if (!d->rules) {
		snprintf(err, errlen, "the rule engine is not open");
		return -ENODEV;
	}
	ret = fl_ruleset_add(d->rules, rules, n, bad, err, errlen);
	if (ret)
		return ret;
	d->rules_dirty = true;
	for (i = 0; i < n; i++)
		publish(d, FL_EV_RULE_ADDED, &rules[i], origin);
	return 0;
}

int rules_del(struct daemon *d, __u32 id, enum fl_rule_origin origin)
{
	struct fl_rule_def def;
	int ret;

	if (!d->rules)
		return -ENODEV;
	if (fl_ruleset_get(d->rules, id, &def, NULL))
		return -ENOENT;
	ret = fl_ruleset_del(d->rules, id);
	if (ret)
		return ret;
	d->rules_dirty = true;
	publish(d, FL_EV_RULE_REMOVED, &def.rule, origin);
	return 0;
}

int rules_get(const struct daemon *d, __u32 id, struct fl_rule_def *def,
	      struct fl_rule_stats *st)
{
	return d->rules ? fl_ruleset_get(d->rules, id, def, st) : -ENODEV;
}

int rules_for_each(const struct daemon *d,
		   int (*fn)(const struct fl_rule_def *def, void *arg),
		   void *arg)
{
	return d->rules ? fl_ruleset_for_each(d->rules, fn, arg) : 0;
}

/* Rules parsed from a file, each with the line (or place) it came from. */
struct rule_list {
	struct fl_rule *rules;
	size_t *lines;
	size_t n, cap;
	const char *path;
	const char *where; /* "%s:%zu: %s" or "%s: rule %zu: %s" */
	time_t saved_at; /* 0: expiry counts from now */
	time_t now;
};

/* @text is parsed in place (cut into words). */
static int rule_list_parse(struct rule_list *l, char *text,
			   size_t lineno, char *err, size_t errlen)
{
	char perr[384];
	int ret;

	if (l->n == l->cap) {
		struct fl_rule *more;
		size_t *more_lines;

		l->cap = l->cap ? l->cap * 2 : 1024;
		more = realloc(l->rules, l->cap * sizeof(*l->rules));
		if (more)
			l->rules = more;
		more_lines = realloc(l->lines, l->cap * sizeof(*l->lines));
		if (more_lines)
			l->lines = more_lines;
		if (!more || !more_lines) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	ret = fl_rule_parse_line(text, FL_RULE_ORDER_DEFAULT, &l->rules[l->n],
				 perr, sizeof(perr));
	if (ret == -ENODATA)
		return 0;
	if (ret) {
		snprintf(err, errlen, l->where, l->path, lineno, perr);
		return ret;
	}
	if (l->rules[l->n].expires && l->saved_at) {
		__s64 left = l->saved_at + (__s64)l->rules[l->n].expires -
			     l->now;

		if (left <= 0)
			return 0;
		l->rules[l->n].expires = left;
	}
	l->lines[l->n++] = lineno;
	return 0;
}

/* The rules file as flowlensd writes it (rules_format). */
static int read_json(struct rule_list *l, bool restore, char *err,
		     size_t errlen)
{
	struct json_object *root, *list, *v;
	char *text = NULL;
	size_t i, n, size = 0;
	int ret, version;

	ret = fl_persist_load(l->path, &rules_format, &root, &version, err,
			      errlen);
	if (ret)
		return ret;
	l->where = "%s: rule %zu: %s";
	if (restore)
		l->saved_at = fl_persist_saved_at(root);
	if (!json_object_object_get_ex(root, "rules", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		snprintf(err, errlen, "%s: no \"rules\" array", l->path);
		ret = -EBADMSG;
		goto out;
	}
	n = json_object_array_length(list);
	for (i = 0; i < n && !ret; i++) {
		v = json_object_array_get_idx(list, i);
		if (!json_object_is_type(v, json_type_string)) {
			snprintf(err, errlen, "%s: rule %zu is not a string",
				 l->path, i + 1);
			ret = -EBADMSG;
			break;
		}
		if ((size_t)json_object_get_string_len(v) >= size) {
			size = json_object_get_string_len(v) + 1;
			free(text);
			text = malloc(size);
			if (!text) {
				snprintf(err, errlen, "out of memory");
				ret = -ENOMEM;
				break;
			}
		}
		memcpy(text, json_object_get_string(v),
		       json_object_get_string_len(v) + 1);
		ret = rule_list_parse(l, text, i + 1, err, errlen);
	}
out:
	free(text);
	json_object_put(root);
	return ret;
}

/* A rule file as 'flctl rule load' reads it, one rule a line; the rules
 * file of flowlensd before version 2 was one too, with a saved-at line. */
static int read_text(struct rule_list *l, bool restore, char *err,
		     size_t errlen)
{
	char *line = NULL;
	size_t linecap = 0, lineno = 0;
	FILE *f;
	int ret = 0;

	l->where = "%s:%zu: %s";
	f = fopen(l->path, "r");
	if (!f) {
		snprintf(err, errlen, "cannot read %s: %s", l->path,
			 strerror(errno));
		return -errno;
	}
	while (!ret && getline(&line, &linecap, f) > 0) {
		lineno++;
		if (restore && !strncmp(line, SAVED_AT, strlen(SAVED_AT)))
			l->saved_at = strtoll(line + strlen(SAVED_AT), NULL, 10);
		ret = rule_list_parse(l, line, lineno, err, errlen);
	}
	if (!ret && ferror(f)) {
		ret = -EIO;
		snprintf(err, errlen, "cannot read %s: %s", l->path,
			 strerror(errno));
	}
	free(line);
	fclose(f);
	return ret;
}

/*
 * Reads a rule file, flowlensd's own (JSON) or one rule a line: every rule
 * parsed before anything is added, so a bad one (named by line, or by its
 * place in the file's list, in @err) leaves the rules as they were. With
 * @restore, expiry counts from the time the file was saved and rules
 * already expired are skipped.
 */
static int load_file(struct daemon *d, const char *path, bool restore,
		     size_t *added, char *err, size_t errlen)
{
	struct rule_list l = { .path = path, .now = time(NULL) };
	char perr[384];
	size_t bad;
	int ret;

	*added = 0;
	ret = read_json(&l, restore, err, errlen);
	if (ret == -ENOMSG) /* not JSON: one rule a line */
		ret = read_text(&l, restore, err, errlen);
	else if (ret == -ENOENT)
		snprintf(err, errlen, "cannot read %s: %s", path,
			 strerror(ENOENT));
	if (ret)
		goto out;
	ret = rules_add(d, l.rules, l.n, FL_ORIGIN_OPERATOR, &bad, perr,
			sizeof(perr));
	if (ret) {
		if (bad < l.n)
			snprintf(err, errlen, l.where, path, l.lines[bad],
				 perr);
		else
			snprintf(err, errlen, "%s: %s", path, perr);
		/* both shapes end with the reason; say nothing changed */
		snprintf(err + strlen(err), errlen - strlen(err),
			 "; nothing added");
		goto out;
	}
	*added = l.n;
out:
	free(l.rules);
	free(l.lines);
	return ret;
}

static int rules_open(struct daemon *d)
{
	struct fl_ruleset_maps maps;
	char err[512], path[512];
	size_t added;
	int ret;

	ret = fl_ruleset_maps_of(d->skel->obj, &maps);
	if (ret) {
		pr_err("the BPF object has no rule maps: %s", strerror(-ret));
		return ret;
	}
	ret = fl_ruleset_open(&maps, &d->rules, err, sizeof(err));
	if (ret) {
		pr_err("%s", err);
		return ret;
	}
	if (fl_ruleset_count(d->rules)) {
		pr_info("%zu rules carried over in the pinned maps",
			fl_ruleset_count(d->rules));
		return 0;
	}
	rules_path(d, path, sizeof(path));
	if (d->maps_were_pinned || access(path, F_OK))
		return 0;
	ret = load_file(d, path, true, &added, err, sizeof(err));
	if (ret)
		pr_warn("rules not restored: %s", err);
	else
		pr_info("restored %zu rules from %s", added, path);
	return 0;
}

static void rules_close(struct daemon *d)
{
	if (d->rules && d->rules_dirty)
		rules_save(d);
	fl_ruleset_free(d->rules);
	d->rules = NULL;
}

static void log_expired(const struct fl_rule_def *def, void *arg)
{
	char text[FL_RULE_STRLEN];

	pr_info("rule %u expired: %s", def->rule.id,
		fl_rule_format(&def->rule, text, sizeof(text)));
	publish(arg, FL_EV_RULE_REMOVED, &def->rule, FL_ORIGIN_EXPIRY);
}

static void rules_tick(struct daemon *d)
{
	if (!d->rules)
		return;
	if (fl_ruleset_expire(d->rules, fl_ruleset_now(), log_expired, d) >
	    0)
		d->rules_dirty = true;
	if (d->rules_dirty)
		rules_save(d);
}

/* ---- control commands --------------------------------------------------- */

static struct json_object *rule_json(const struct fl_rule_def *def,
				     const struct fl_rule_stats *st)
{
	static const char *const actions[] = { "?", "drop", "rate-limit",
					       "permit" };
	struct json_object *o = json_object_new_object();
	char text[FL_RULE_STRLEN];
	__u64 now = fl_ruleset_now();

	json_object_object_add(o, "id", json_object_new_int64(def->rule.id));
	json_object_object_add(o, "order",
			       json_object_new_int64(def->rule.order));
	json_object_object_add(
		o, "action",
		json_object_new_string(
			actions[def->rule.action <= 3 ? def->rule.action : 0]));
	json_object_object_add(o, "rule",
			       json_object_new_string(rule_text(def, now, text,
								sizeof(text))));
	json_object_object_add(o, "attack",
			       def->rule.attack ?
				       json_object_new_int64(def->rule.attack) :
				       NULL);
	if (def->expires_at)
		json_object_object_add(
			o, "expires_in",
			json_object_new_uint64(fl_rule_seconds_left(def, now)));
	else
		json_object_object_add(o, "expires_in", NULL);
	if (st) {
		json_object_object_add(o, "packets",
				       json_object_new_uint64(st->packets));
		json_object_object_add(o, "bytes",
				       json_object_new_uint64(st->bytes));
		json_object_object_add(o, "dropped",
				       json_object_new_uint64(st->dropped));
	}
	return o;
}

static int cmd_rule_add(struct daemon *d, struct json_object *req,
			struct json_object **data, char *err, size_t errlen)
{
	struct json_object *words;
	struct fl_rule rule;
	char *argv[64], perr[384];
	struct fl_rule_def def;
	size_t i, n, bad;
	int ret;

	if (!json_object_object_get_ex(req, "words", &words) ||
	    !json_object_is_type(words, json_type_array)) {
		snprintf(err, errlen, "rule-add needs \"words\", an array");
		return -EINVAL;
	}
	n = json_object_array_length(words);
	if (n > sizeof(argv) / sizeof(argv[0])) {
		snprintf(err, errlen, "a rule has at most %zu words",
			 sizeof(argv) / sizeof(argv[0]));
		return -EINVAL;
	}
	for (i = 0; i < n; i++)
		argv[i] = (char *)json_object_get_string(
			json_object_array_get_idx(words, i));
	ret = fl_rule_parse(n, argv, FL_RULE_ORDER_DEFAULT, &rule, err, errlen);
	if (ret)
		return ret;
	if (rule.attack) {
		snprintf(err, errlen,
			 "'attack' is set by the DDoS engine, not by hand");
		return -EINVAL;
	}
	ret = rules_add(d, &rule, 1, FL_ORIGIN_OPERATOR, &bad, perr,
			sizeof(perr));
	if (ret) {
		snprintf(err, errlen, "%s", perr);
		return ret;
	}
	fl_ruleset_get(d->rules, rule.id, &def, NULL);
	*data = rule_json(&def, NULL);
	pr_info("rule %u added: %s", rule.id,
		json_object_get_string(json_object_object_get(*data, "rule")));
	return 0;
}

static int req_id(struct json_object *req, __u32 *id, char *err, size_t errlen)
{
	struct json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(req, "id", &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    (n = json_object_get_int64(v)) <= 0 || n > 0xffffffffLL) {
		snprintf(err, errlen, "needs \"id\", a rule id (1 or more)");
		return -EINVAL;
	}
	*id = n;
	return 0;
}

static int cmd_rule_del(struct daemon *d, struct json_object *req,
			struct json_object **data, char *err, size_t errlen)
{
	struct fl_rule_def def;
	struct fl_rule_stats st;
	__u32 id;
	int ret;

	ret = req_id(req, &id, err, errlen);
	if (ret)
		return ret;
	if (fl_ruleset_get(d->rules, id, &def, &st)) {
		snprintf(err, errlen, "no rule %u (see 'flctl rule list')", id);
		return -ENOENT;
	}
	ret = rules_del(d, id, FL_ORIGIN_OPERATOR);
	if (ret && ret != -ENOENT) {
		snprintf(err, errlen, "deleting rule %u: %s", id,
			 strerror(-ret));
		return ret;
	}
	*data = rule_json(&def, &st);
	pr_info("rule %u deleted", id);
	return 0;
}

struct list_ctx {
	struct json_object *list;
	const struct fl_rule_def **defs;
	size_t n;
};

static int collect(const struct fl_rule_def *def, void *arg)
{
	struct list_ctx *ctx = arg;

	ctx->defs[ctx->n++] = def;
	return 0;
}

/* The order the datapath decides in: order, then id. */
static int def_cmp(const void *a, const void *b)
{
	const struct fl_rule *x = &(*(const struct fl_rule_def **)a)->rule;
	const struct fl_rule *y = &(*(const struct fl_rule_def **)b)->rule;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int cmd_rule_list(struct daemon *d, struct json_object *req,
			 struct json_object **data, char *err, size_t errlen)
{
	struct list_ctx ctx = { json_object_new_array(), NULL, 0 };
	size_t i;

	ctx.defs = calloc(fl_ruleset_count(d->rules) + 1, sizeof(*ctx.defs));
	if (!ctx.defs) {
		json_object_put(ctx.list);
		return -ENOMEM;
	}
	fl_ruleset_for_each(d->rules, collect, &ctx);
	qsort(ctx.defs, ctx.n, sizeof(ctx.defs[0]), def_cmp);
	for (i = 0; i < ctx.n; i++) {
		struct fl_rule_stats st;

		fl_ruleset_get(d->rules, ctx.defs[i]->rule.id, NULL, &st);
		json_object_array_add(ctx.list, rule_json(ctx.defs[i], &st));
	}
	free(ctx.defs);
	*data = json_object_new_object();
	json_object_object_add(*data, "rules", ctx.list);
	return 0;
}

static int publish_flushed(const struct fl_rule_def *def, void *arg)
{
	publish(arg, FL_EV_RULE_REMOVED, &def->rule, FL_ORIGIN_OPERATOR);
	return 0;
}

static int cmd_rule_flush(struct daemon *d, struct json_object *req,
			  struct json_object **data, char *err, size_t errlen)
{
	size_t n = fl_ruleset_count(d->rules);
	int ret;

	fl_ruleset_for_each(d->rules, publish_flushed, d);
	ret = fl_ruleset_flush(d->rules);

	d->rules_dirty = true;
	if (ret) {
		snprintf(err, errlen, "flushing rules: %s", strerror(-ret));
		return ret;
	}
	*data = json_object_new_object();
	json_object_object_add(*data, "deleted", json_object_new_uint64(n));
	pr_info("%zu rules flushed", n);
	return 0;
}

static int cmd_rule_load(struct daemon *d, struct json_object *req,
			 struct json_object **data, char *err, size_t errlen)
{
	struct json_object *v;
	struct timespec t0, t1;
	size_t added;
	int ret;

	if (!json_object_object_get_ex(req, "path", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "rule-load needs \"path\"");
		return -EINVAL;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = load_file(d, json_object_get_string(v), false, &added, err,
			errlen);
	if (ret)
		return ret;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	d->rules_dirty = true;
	*data = json_object_new_object();
	json_object_object_add(*data, "added", json_object_new_uint64(added));
	json_object_object_add(
		*data, "rules",
		json_object_new_uint64(fl_ruleset_count(d->rules)));
	json_object_object_add(
		*data, "seconds",
		json_object_new_double((t1.tv_sec - t0.tv_sec) +
				       (t1.tv_nsec - t0.tv_nsec) / 1e9));
	pr_info("%zu rules loaded from %s", added, json_object_get_string(v));
	return 0;
}

static struct json_object *shapes_json(struct daemon *d, int family)
{
	struct fl_ruleset_shape shapes[FL_RULE_SHAPES_MAX];
	struct json_object *list = json_object_new_array();
	int i, n;

	n = fl_ruleset_shapes(d->rules, family, shapes, FL_RULE_SHAPES_MAX);
	for (i = 0; i < n; i++) {
		const struct fl_ruleset_shape *s = &shapes[i];
		struct json_object *o = json_object_new_object();
		char key[256] = "";
		size_t off = 0;

#define ADD(...) off += snprintf(key + off, sizeof(key) - off, __VA_ARGS__)
		if (s->fields & FL_RF_SRC)
			ADD(" src/%u", s->src_len);
		if (s->fields & FL_RF_DST)
			ADD(" dst/%u", s->dst_len);
		if (s->fields & FL_RF_PROTO)
			ADD(" proto");
		if (s->fields & FL_RF_SPORT)
			ADD(" sport/%u", s->sport_bits);
		if (s->fields & FL_RF_DPORT)
			ADD(" dport/%u", s->dport_bits);
		if (s->fields & FL_RF_TCP_FLAGS)
			ADD(" tcp-flags/0x%02x", s->tcp_mask);
		if (s->fields & FL_RF_DSCP)
			ADD(" dscp");
		if (s->fields & FL_RF_ICMP_TYPE)
			ADD(" icmp-type");
		if (s->fields & FL_RF_ICMP_CODE)
			ADD(" code");
#undef ADD
		json_object_object_add(o, "key",
				       json_object_new_string(off ? key + 1 :
								    "(none)"));
		json_object_object_add(o, "rules",
				       json_object_new_uint64(s->rules));
		json_object_object_add(o, "keys",
				       json_object_new_uint64(s->keys));
		json_object_object_add(o, "capacity",
				       json_object_new_uint64(s->capacity));
		json_object_object_add(o, "min_order",
				       json_object_new_uint64(s->min_order));
		json_object_object_add(o, "slot",
				       json_object_new_uint64(s->slot));
		json_object_object_add(o, "tag",
				       json_object_new_uint64(s->tag));
		json_object_array_add(list, o);
	}
	return list;
}

static int cmd_rule_shapes(struct daemon *d, struct json_object *req,
			   struct json_object **data, char *err, size_t errlen)
{
	*data = json_object_new_object();
	json_object_object_add(*data, "max_per_family",
			       json_object_new_int(FL_RULE_SHAPES_MAX));
	json_object_object_add(*data, "ipv4", shapes_json(d, 4));
	json_object_object_add(*data, "ipv6", shapes_json(d, 6));
	return 0;
}

const struct command rule_commands[] = {
	{ "rule-add", cmd_rule_add },
	{ "rule-del", cmd_rule_del },
	{ "rule-list", cmd_rule_list },
	{ "rule-flush", cmd_rule_flush },
	{ "rule-load", cmd_rule_load },
	{ "rule-shapes", cmd_rule_shapes },
	{ NULL, NULL },
};

const struct fl_module rules_module = {
	.name = "rules",
	.open = rules_open,
	.close = rules_close,
	.tick = rules_tick, /* expiry and the rules file: once a second */
	.tick_every = FL_RATE_SLOTS,
	.save = rules_save,
	.commands = rule_commands,
};
