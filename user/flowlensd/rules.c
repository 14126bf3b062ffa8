// SPDX-License-Identifier: Apache-2.0
/*
 * Mitigation rules: the rule-* control commands, expiry on the tick, and
 * the rules file that carries them across a reboot.
 *
 * The pinned maps are the truth while bpffs lives: a restarted flowlensd
 * rebuilds its view from them (user/lib/ruleset.c) and keeps every id and
 * counter. What a reboot needs is kept next to the state file in two
 * parts, read only when the maps start empty:
 *
 *   RULES_FILE    a snapshot (user/lib/persist.c: atomically, durably):
 *                 {"format": "flowlens-rules", "version": 2,
 *                  "saved_at": ..., "ids": [7, ...],
 *                  "rules": ["dst 192.0.2.1/32 proto udp action drop
 *                             expires 30", ...]}
 *   JOURNAL_FILE  every change since, one line each, appended as it
 *                 happens (fdatasync'd on the next second's tick):
 *                   add ID SAVED_AT RULE    del ID    flush
 *
 * Each rule as 'flctl rule add' takes it, expiry times as seconds left at
 * SAVED_AT (the snapshot's saved_at, or the line's), from which the time
 * since is taken on restore. A change therefore costs one line, whatever
 * the number of rules. Once the journal outgrows the rules it describes,
 * a forked child writes a new snapshot from its copy of the rules while
 * the tick goes on; the journal it covers is renamed JOURNAL_OLD first
 * and removed once the child succeeds. Replaying a journal on a snapshot
 * taken later gives the same rules (each line sets, removes or clears by
 * id), so a crash anywhere in between loses nothing. Starting, stopping
 * and SIGHUP write the snapshot in place and empty the journal, so the
 * ids in the files always are the ids in the maps.
 *
 * 'flctl rule load' reads the snapshot too, as well as a text file with
 * one rule a line, which is what version 1 of the rules file was (with a
 * "# saved-at SECONDS" line).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <bpf/libbpf.h>
#include <uthash.h>

#include "bus.h"
#include "daemon.h"
#include "module.h"
#include "log.h"
#include "persist.h"
#include "rule.h"
#include "ruleset.h"
#include "flowlens.skel.h"

#define RULES_FILE "rules.conf"
#define JOURNAL_FILE "rules.journal"
#define JOURNAL_OLD "rules.journal.old"
#define JOURNAL_MIN_LINES 4096 /* a shorter journal is never compacted */
#define SAVED_AT "# saved-at " /* the text file of version 1 */

static const struct fl_persist_format rules_format = {
	.name = "flowlens-rules",
	.version = 2,
};

/* @name next to the state file. */
static void store_path(const struct daemon *d, const char *name, char *buf,
		       size_t len)
{
	char *copy = strdup(d->opt.state_path);

	snprintf(buf, len, "%s/%s", copy ? dirname(copy) : ".", name);
	free(copy);
}

static void rules_path(const struct daemon *d, char *buf, size_t len)
{
	store_path(d, RULES_FILE, buf, len);
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

struct snapshot {
	struct json_object *rules, *ids;
	__u64 now;
};

static int save_one(const struct fl_rule_def *def, void *arg)
{
	struct snapshot *snap = arg;
	char text[FL_RULE_STRLEN];
	struct json_object *s = json_object_new_string(
		rule_text(def, snap->now, text, sizeof(text)));

	if (!s || json_object_array_add(snap->rules, s)) {
		json_object_put(s);
		return -ENOMEM;
	}
	return json_object_array_add(snap->ids,
				     json_object_new_int64(def->rule.id)) ?
		       -ENOMEM :
		       0;
}

static int rules_fill(struct json_object *root, void *arg)
{
	struct daemon *d = arg;
	size_t n = fl_ruleset_count(d->rules);
	struct snapshot snap = {
		.rules = json_object_new_array_ext(n),
		.ids = json_object_new_array_ext(n),
		.now = fl_ruleset_now(),
	};

	if (!snap.rules || !snap.ids) {
		json_object_put(snap.rules);
		json_object_put(snap.ids);
		return -ENOMEM;
	}
	json_object_object_add(root, "ids", snap.ids);
	json_object_object_add(root, "rules", snap.rules);
	return fl_ruleset_for_each(d->rules, save_one, &snap);
}

/* ---- the journal -------------------------------------------------------- */

static void journal_open(struct daemon *d)
{
	char path[512];
	int fd;

	store_path(d, JOURNAL_FILE, path, sizeof(path));
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		d->rules_journal = fdopen(fd, "a");
	if (!d->rules_journal) {
		pr_warn("cannot open %s: %s; rule changes reach %s only when flowlensd stops",
			path, strerror(errno), RULES_FILE);
		if (fd >= 0)
			close(fd);
	}
}

static void journal_close(struct daemon *d)
{
	if (!d->rules_journal)
		return;
	if (fclose(d->rules_journal))
		pr_warn("writing %s: %s", JOURNAL_FILE, strerror(errno));
	d->rules_journal = NULL;
}

static void journal_line(struct daemon *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void journal_line(struct daemon *d, const char *fmt, ...)
{
	va_list ap;

	if (!d->rules_journal)
		return;
	va_start(ap, fmt);
	vfprintf(d->rules_journal, fmt, ap);
	va_end(ap);
	d->rules_journal_lines++;
	d->rules_dirty = true;
}

static void journal_add(struct daemon *d, __u32 id)
{
	char text[FL_RULE_STRLEN];
	struct fl_rule_def def;
	__u64 now = fl_ruleset_now();

	if (fl_ruleset_get(d->rules, id, &def, NULL))
		return;
	journal_line(d, "add %u %llu %s\n", id,
		     (unsigned long long)(now / 1000000000ULL),
		     rule_text(&def, now, text, sizeof(text)));
}

/* The lines of one command out of the stdio buffer: a crash of this
 * process after the reply loses nothing. */
static void journal_push(struct daemon *d)
{
	if (d->rules_journal && fflush(d->rules_journal))
		pr_warn("writing %s: %s", JOURNAL_FILE, strerror(errno));
}

/* Durable at most a second after the change: on the rules tick. */
static void journal_sync(struct daemon *d)
{
	if (!d->rules_dirty || !d->rules_journal)
		return;
	if (fflush(d->rules_journal) || fdatasync(fileno(d->rules_journal)))
		pr_warn("writing %s: %s", JOURNAL_FILE, strerror(errno));
	d->rules_dirty = false;
}

/* ---- snapshots ---------------------------------------------------------- */

static int snapshot_write(struct daemon *d)
{
	char path[512];

	rules_path(d, path, sizeof(path));
	return fl_persist_save(path, &rules_format, rules_fill, d);
}

static void unlink_store(struct daemon *d, const char *name)
{
	char path[512];

	store_path(d, name, path, sizeof(path));
	if (unlink(path) && errno != ENOENT)
		pr_warn("cannot remove %s: %s", path, strerror(errno));
}

/* The background snapshot's end: @wait for it, or only look. */
static void snapshot_reap(struct daemon *d, bool wait)
{
	int status = 0;
	pid_t pid;

	if (!d->rules_snapshot_pid)
		return;
	pid = waitpid(d->rules_snapshot_pid, &status, wait ? 0 : WNOHANG);
	if (!pid)
		return;
	d->rules_snapshot_pid = 0;
	if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		pr_warn("writing %s in the background failed; %s and %s keep every change",
			RULES_FILE, JOURNAL_OLD, JOURNAL_FILE);
		return;
	}
	unlink_store(d, JOURNAL_OLD);
}

/*
 * A new snapshot without stalling the tick: a forked child writes what
 * it sees (the parent's rules at the fork, copy-on-write) and exits. The
 * journal up to the fork becomes JOURNAL_OLD, unless an earlier failed
 * snapshot left one: then both stay, and are replayed in that order.
 */
static void snapshot_start(struct daemon *d)
{
	char cur[512], old[512];
	pid_t pid;

	if (d->rules_snapshot_pid)
		return;
	store_path(d, JOURNAL_FILE, cur, sizeof(cur));
	store_path(d, JOURNAL_OLD, old, sizeof(old));
	if (access(old, F_OK)) {
		journal_close(d);
		if (rename(cur, old))
			pr_warn("cannot rename %s: %s", cur, strerror(errno));
		journal_open(d);
	}
	pid = fork();
	if (pid < 0) {
		pr_warn("cannot fork to write %s: %s", RULES_FILE,
			strerror(errno));
		return;
	}
	if (!pid) /* the child: no stdio flush, no atexit */
		_exit(snapshot_write(d) ? EXIT_FAILURE : EXIT_SUCCESS);
	d->rules_snapshot_pid = pid;
	d->rules_journal_lines = 0;
}

/*
 * The whole snapshot, written here and now, and an empty journal after
 * it: at start (the ids in the files become those in the maps), at exit
 * and on SIGHUP, never on the tick.
 */
static int rules_save(struct daemon *d)
{
	bool reopen = d->rules_journal != NULL;
	int err;

	if (!d->rules)
		return 0;
	/* its older snapshot must not land over this one */
	snapshot_reap(d, true);
	err = snapshot_write(d);
	if (err)
		return err;
	journal_close(d);
	unlink_store(d, JOURNAL_OLD);
	unlink_store(d, JOURNAL_FILE);
	if (reopen)
		journal_open(d);
	d->rules_journal_lines = 0;
	d->rules_dirty = false;
	return 0;
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
	for (i = 0; i < n; i++) {
		journal_add(d, rules[i].id);
		publish(d, FL_EV_RULE_ADDED, &rules[i], origin);
	}
	journal_push(d);
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
	journal_line(d, "del %u\n", id);
	journal_push(d);
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

/* ---- restore: the snapshot, then the journals ------------------------- */

/* A rule as the files leave it, by id (above 32 bits: a file without ids). */
struct saved_rule {
	UT_hash_handle hh;
	__u64 key;
	long long saved_at; /* "expires N" counts from here */
	char *text;
};

static void saved_del(struct saved_rule **set, __u64 key)
{
	struct saved_rule *r;

	HASH_FIND(hh, *set, &key, sizeof(key), r);
	if (!r)
		return;
	HASH_DEL(*set, r);
	free(r->text);
	free(r);
}

static void saved_clear(struct saved_rule **set)
{
	struct saved_rule *r, *tmp;

	HASH_ITER(hh, *set, r, tmp) {
		HASH_DEL(*set, r);
		free(r->text);
		free(r);
	}
}

/* Sets rule @key, last in the order rules are restored. */
static int saved_put(struct saved_rule **set, __u64 key, long long saved_at,
		     const char *text)
{
	struct saved_rule *r = calloc(1, sizeof(*r));

	if (!r || !(r->text = strdup(text))) {
		free(r);
		return -ENOMEM;
	}
	r->key = key;
	r->saved_at = saved_at;
	saved_del(set, key);
	HASH_ADD(hh, *set, key, sizeof(r->key), r);
	return 0;
}

/* The rules file of version 1: one rule a line, no ids. */
static int read_snapshot_text(struct saved_rule **set, const char *path,
			      char *err, size_t errlen)
{
	char *line = NULL;
	size_t cap = 0;
	long long saved_at = 0;
	__u64 key = 1ULL << 32;
	int ret = 0;
	FILE *f;

	f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "cannot read %s: %s", path,
			 strerror(errno));
		return -errno;
	}
	while (!ret && getline(&line, &cap, f) > 0) {
		if (!strncmp(line, SAVED_AT, strlen(SAVED_AT)))
			saved_at = strtoll(line + strlen(SAVED_AT), NULL, 10);
		else
			ret = saved_put(set, key++, saved_at, line);
	}
	free(line);
	fclose(f);
	return ret;
}

static int read_snapshot(struct saved_rule **set, const char *path, char *err,
			 size_t errlen)
{
	struct json_object *root, *list, *ids = NULL, *v;
	long long saved_at;
	size_t i, n;
	int ret, version;

	ret = fl_persist_load(path, &rules_format, &root, &version, err,
			      errlen);
	if (ret == -ENOENT)
		return 0;
	if (ret == -ENOMSG)
		return read_snapshot_text(set, path, err, errlen);
	if (ret)
		return ret;
	saved_at = fl_persist_saved_at(root);
	if (!json_object_object_get_ex(root, "rules", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		snprintf(err, errlen, "%s: no \"rules\" array", path);
		ret = -EBADMSG;
		goto out;
	}
	n = json_object_array_length(list);
	json_object_object_get_ex(root, "ids", &ids);
	if (ids && (!json_object_is_type(ids, json_type_array) ||
		    json_object_array_length(ids) != n))
		ids = NULL;
	for (i = 0; i < n && !ret; i++) {
		__u64 key = (1ULL << 32) + i;

		v = json_object_array_get_idx(list, i);
		if (!json_object_is_type(v, json_type_string)) {
			snprintf(err, errlen, "%s: rule %zu is not a string",
				 path, i + 1);
			ret = -EBADMSG;
			break;
		}
		if (ids)
			key = (__u32)json_object_get_int64(
				json_object_array_get_idx(ids, i));
		ret = saved_put(set, key, saved_at, json_object_get_string(v));
	}
out:
	json_object_put(root);
	return ret;
}

/* Replays one journal; a line cut short by a crash ends it. */
static int replay_journal(struct saved_rule **set, const char *path,
			  size_t *lines)
{
	char *line = NULL;
	size_t cap = 0;
	long long at;
	ssize_t len;
	int ret = 0, off;
	unsigned int id;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (!ret && (len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] != '\n')
			break;
		line[len - 1] = '\0';
		(*lines)++;
		if (sscanf(line, "add %u %lld %n", &id, &at, &off) == 2)
			ret = saved_put(set, id, at, line + off);
		else if (sscanf(line, "del %u", &id) == 1)
			saved_del(set, id);
		else if (!strcmp(line, "flush"))
			saved_clear(set);
	}
	free(line);
	fclose(f);
	return ret;
}

/* The rules of the files, added as one batch: all or none. */
static int restore_saved(struct daemon *d, struct saved_rule *set,
			 const char *path, size_t *added, char *err,
			 size_t errlen)
{
	struct rule_list l = { .path = path, .now = time(NULL) };
	struct saved_rule *r, *tmp;
	size_t i = 0, bad;
	char perr[384];
	int ret = 0;

	l.where = "%s: rule %zu: %s";
	HASH_ITER(hh, set, r, tmp) {
		l.saved_at = r->saved_at;
		ret = rule_list_parse(&l, r->text, ++i, err, errlen);
		if (ret)
			goto out;
	}
	ret = rules_add(d, l.rules, l.n, FL_ORIGIN_OPERATOR, &bad, perr,
			sizeof(perr));
	if (ret) {
		snprintf(err, errlen, "%s: %s; nothing added", path, perr);
		goto out;
	}
	*added = l.n;
out:
	free(l.rules);
	free(l.lines);
	return ret;
}

static bool file_has_data(const char *path)
{
	struct stat st;

	return !stat(path, &st) && st.st_size > 0;
}

/* After a reboot: the snapshot with the journals replayed on it. */
static int restore_files(struct daemon *d, size_t *added, char *err,
			 size_t errlen)
{
	static const char *const journals[] = { JOURNAL_OLD, JOURNAL_FILE };
	struct saved_rule *set = NULL;
	char base[512], path[512];
	size_t i, lines = 0;
	bool journaled = false;
	int ret;

	*added = 0;
	rules_path(d, base, sizeof(base));
	for (i = 0; i < sizeof(journals) / sizeof(journals[0]); i++) {
		store_path(d, journals[i], path, sizeof(path));
		journaled |= file_has_data(path);
	}
	if (!journaled) /* a snapshot alone, maybe of an older flowlensd */
		return access(base, F_OK) ?
			       0 :
			       load_file(d, base, true, added, err, errlen);
	ret = read_snapshot(&set, base, err, errlen);
	for (i = 0; !ret && i < sizeof(journals) / sizeof(journals[0]); i++) {
		store_path(d, journals[i], path, sizeof(path));
		ret = replay_journal(&set, path, &lines);
		if (ret)
			snprintf(err, errlen, "cannot read %s: %s", path,
				 strerror(-ret));
	}
	if (!ret)
		ret = restore_saved(d, set, base, added, err, errlen);
	saved_clear(&set);
	if (!ret && lines)
		pr_info("%zu rule changes replayed from the journal", lines);
	return ret;
}

static int rules_open(struct daemon *d)
{
	struct fl_ruleset_maps maps;
	char err[1024], path[512];
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
	rules_path(d, path, sizeof(path));
	if (fl_ruleset_count(d->rules)) {
		pr_info("%zu rules carried over in the pinned maps",
			fl_ruleset_count(d->rules));
	} else if (!d->maps_were_pinned) {
		ret = restore_files(d, &added, err, sizeof(err));
		if (ret) {
			/* the files stay as they are for the operator */
			pr_warn("rules not restored: %s", err);
			journal_open(d);
			return 0;
		}
		if (added)
			pr_info("restored %zu rules from %s", added, path);
	}
	/* From here on the files and the maps agree on every id. */
	if (rules_save(d))
		pr_warn("cannot write %s: rule changes go to %s only", path,
			JOURNAL_FILE);
	journal_open(d);
	return 0;
}

static void rules_close(struct daemon *d)
{
	journal_close(d); /* rules_save() then leaves no journal behind */
	if (d->rules)
		rules_save(d);
	snapshot_reap(d, true);
	fl_ruleset_free(d->rules);
	d->rules = NULL;
}

static void log_expired(const struct fl_rule_def *def, void *arg)
{
	char text[FL_RULE_STRLEN];

	pr_info("rule %u expired: %s", def->rule.id,
		fl_rule_format(&def->rule, text, sizeof(text)));
	journal_line(arg, "del %u\n", def->rule.id);
	publish(arg, FL_EV_RULE_REMOVED, &def->rule, FL_ORIGIN_EXPIRY);
}

/* Once a second: expiry, the journal made durable, and compacted once it
 * holds more lines than there are rules. */
static void rules_tick(struct daemon *d)
{
	if (!d->rules)
		return;
	fl_ruleset_expire(d->rules, fl_ruleset_now(), log_expired, d);
	journal_sync(d);
	snapshot_reap(d, false);
	if (d->rules_journal_lines > JOURNAL_MIN_LINES &&
	    d->rules_journal_lines > fl_ruleset_count(d->rules))
		snapshot_start(d);
}

/* ---- control commands --------------------------------------------------- */

/* The origin a rule keeps: the DDoS engine's rules name their attack,
 * FlowSpec's their peer. */
static enum fl_rule_origin rule_origin(const struct fl_rule *r)
{
	if (r->origin == FL_RULE_FROM_FLOWSPEC)
		return FL_ORIGIN_FLOWSPEC;
	return r->attack ? FL_ORIGIN_DDOS : FL_ORIGIN_OPERATOR;
}

static const char *const origin_names[] = {
	[FL_ORIGIN_OPERATOR] = "operator",
	[FL_ORIGIN_DDOS] = "ddos",
	[FL_ORIGIN_FLOWSPEC] = "flowspec",
};

static int count_origin(const struct fl_rule_def *def, void *arg)
{
	((size_t *)arg)[rule_origin(&def->rule)]++;
	return 0;
}

int rules_count(const struct daemon *d, size_t by_origin[FL_ORIGIN_COUNT],
		const char **names)
{
	size_t i;

	for (i = 0; i < FL_ORIGIN_COUNT; i++) {
		by_origin[i] = 0;
		names[i] = i < sizeof(origin_names) / sizeof(origin_names[0]) ?
				   origin_names[i] :
				   NULL;
	}
	if (!rules_ready(d))
		return -EAGAIN;
	return fl_ruleset_for_each(d->rules, count_origin, by_origin) < 0 ?
		       -EIO :
		       0;
}

static struct json_object *rule_json(const struct fl_rule_def *def,
				     const struct fl_rule_stats *st)
{
	static const char *const actions[] = { "?", "drop", "rate-limit",
					       "permit", "mark" };
	struct json_object *o = json_object_new_object();
	char text[FL_RULE_STRLEN];
	__u64 now = fl_ruleset_now();

	json_object_object_add(o, "id", json_object_new_int64(def->rule.id));
	json_object_object_add(o, "order",
			       json_object_new_int64(def->rule.order));
	json_object_object_add(
		o, "action",
		json_object_new_string(
			actions[def->rule.action <= FL_RULE_MARK ? def->rule.action :
								  0]));
	json_object_object_add(o, "rule",
			       json_object_new_string(rule_text(def, now, text,
								sizeof(text))));
	json_object_object_add(
		o, "origin",
		json_object_new_string(origin_names[rule_origin(&def->rule)]));
	json_object_object_add(o, "attack",
			       def->rule.attack ?
				       json_object_new_int64(def->rule.attack) :
				       NULL);
	if (def->rule.origin == FL_RULE_FROM_FLOWSPEC) {
		char peer[INET6_ADDRSTRLEN] = "";

		inet_ntop(def->rule.peer_family == 6 ? AF_INET6 : AF_INET,
			  &def->rule.peer, peer, sizeof(peer));
		json_object_object_add(o, "peer", json_object_new_string(peer));
		json_object_object_add(o, "route",
				       json_object_new_int64(def->rule.route));
	}
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
	if (rule.origin) {
		snprintf(err, errlen,
			 "'flowspec' is set for the routes BGP peers send, not by hand");
		return -EINVAL;
	}
	if (rule.order >= FL_RULE_ORDER_FLOWSPEC) {
		snprintf(err, errlen,
			 "order %u: orders from %u up are FlowSpec routes', so that an operator's rule always wins over a peer's",
			 rule.order, FL_RULE_ORDER_FLOWSPEC);
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

/*
 * What 'rule list' asks for. Without a limit or a cursor every rule comes,
 * in the order the datapath tries them; a page (limit, after) comes in id
 * order, the one order a cursor stays valid in while rules come and go.
 */
struct list_query {
	__u32 after; /* rules with higher ids */
	__u32 limit; /* at most this many; 0: all */
	int origin; /* enum fl_rule_origin, or -1: any */
	__u32 attack; /* this attack's rules; 0: any */
	bool paged;
};

struct list_ctx {
	const struct list_query *q;
	const struct fl_rule_def **defs;
	size_t n, cap;
	bool more; /* a rule past the limit matched */
};

static int collect(const struct fl_rule_def *def, void *arg)
{
	struct list_ctx *ctx = arg;
	const struct list_query *q = ctx->q;

	if (q->origin >= 0 && rule_origin(&def->rule) != (unsigned)q->origin)
		return 0;
	if (q->attack && def->rule.attack != q->attack)
		return 0;
	if (q->limit && ctx->n == q->limit) {
		ctx->more = true;
		return 1; /* ids come in order: the page is full */
	}
	if (ctx->n == ctx->cap) {
		const struct fl_rule_def **more;

		ctx->cap = ctx->cap ? 2 * ctx->cap : 1024;
		more = realloc(ctx->defs, ctx->cap * sizeof(*more));
		if (!more)
			return -ENOMEM;
		ctx->defs = more;
	}
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

/* An optional non-negative integer field of the request. */
static int req_u32(struct json_object *req, const char *key, __u32 min,
		   __u32 *out, bool *given, char *err, size_t errlen)
{
	struct json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(req, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_int) ||
	    (n = json_object_get_int64(v)) < min || n > 0xffffffffLL) {
		snprintf(err, errlen, "\"%s\" must be an integer from %u to %u",
			 key, min, 0xffffffffU);
		return -EINVAL;
	}
	*out = n;
	if (given)
		*given = true;
	return 0;
}

static int list_query_parse(struct json_object *req, struct list_query *q,
			    char *err, size_t errlen)
{
	struct json_object *v;
	size_t i;
	int ret;

	memset(q, 0, sizeof(*q));
	q->origin = -1;
	ret = req_u32(req, "limit", 1, &q->limit, &q->paged, err, errlen) ?:
	      req_u32(req, "after", 0, &q->after, &q->paged, err, errlen) ?:
	      req_u32(req, "attack", 1, &q->attack, NULL, err, errlen);
	if (ret)
		return ret;
	if (!json_object_object_get_ex(req, "origin", &v) || !v)
		return 0;
	for (i = 0; i < sizeof(origin_names) / sizeof(origin_names[0]); i++)
		if (json_object_is_type(v, json_type_string) &&
		    !strcmp(json_object_get_string(v), origin_names[i]))
			q->origin = i;
	if (q->origin < 0) {
		snprintf(err, errlen,
			 "\"origin\" must be \"operator\", \"ddos\" or \"flowspec\"");
		return -EINVAL;
	}
	return 0;
}

static int cmd_rule_list(struct daemon *d, struct json_object *req,
			 struct json_object **data, char *err, size_t errlen)
{
	struct list_ctx ctx = {};
	struct list_query q;
	struct json_object *list;
	size_t i;
	int ret;

	ret = list_query_parse(req, &q, err, errlen);
	if (ret)
		return ret;
	ctx.q = &q;
	ret = fl_ruleset_for_each_after(d->rules, q.after, collect, &ctx);
	if (ret < 0) {
		free(ctx.defs);
		snprintf(err, errlen, "listing rules: %s", strerror(-ret));
		return ret;
	}
	if (!q.paged)
		qsort(ctx.defs, ctx.n, sizeof(ctx.defs[0]), def_cmp);
	list = json_object_new_array_ext(ctx.n);
	for (i = 0; i < ctx.n; i++) {
		struct fl_rule_stats st;

		fl_ruleset_get(d->rules, ctx.defs[i]->rule.id, NULL, &st);
		json_object_array_add(list, rule_json(ctx.defs[i], &st));
	}
	*data = json_object_new_object();
	json_object_object_add(*data, "rules", list);
	/* where the next page starts; null: this was the last */
	json_object_object_add(
		*data, "next_after",
		ctx.more ? json_object_new_int64(ctx.defs[ctx.n - 1]->rule.id) :
			   NULL);
	free(ctx.defs);
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
	journal_line(d, "flush\n");
	journal_push(d);
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
