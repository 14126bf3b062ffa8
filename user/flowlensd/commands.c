// SPDX-License-Identifier: Apache-2.0
/*
 * What each control request does. Requests are {"cmd": NAME, ...}; each
 * function validates its own arguments (flctl does too, but the socket is
 * the API) and builds the reply's "data". The names are the protocol
 * table's (user/lib/proto.h); each module lists its handlers by name, and
 * commands_check() holds them against the table at start.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "commands.h"
#include "daemon.h"
#include "ifstats.h"
#include "log.h"
#include "module.h"
#include "proto.h"
#include "workers.h"
#include "flowlens.skel.h"

static const char *const verdict_names[FL_VERDICT_COUNT] = {
	"aborted", "drop", "pass", "tx", "redirect",
};

static const char *const parse_error_names[FL_PERR_COUNT] = {
#define FL_X_NAME(id, name) name,
	FL_PARSE_ERRORS(FL_X_NAME)
#undef FL_X_NAME
};

static const char *const fwd_pass_names[FL_FWD_PASS_COUNT] = {
#define FL_X_NAME(id, name) name,
	FL_FWD_PASS_REASONS(FL_X_NAME)
#undef FL_X_NAME
};

static const char *req_string(struct json_object *req, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(req, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static struct json_object *if_stats_json(const struct fl_if_stats *s)
{
	struct json_object *o = json_object_new_object(), *sub;
	int i;

	json_object_object_add(o, "packets",
			       json_object_new_uint64(s->packets));
	json_object_object_add(o, "bytes", json_object_new_uint64(s->bytes));

	sub = json_object_new_object();
	for (i = 0; i < FL_VERDICT_COUNT; i++)
		json_object_object_add(sub, verdict_names[i],
				       json_object_new_uint64(s->verdict[i]));
	json_object_object_add(o, "verdicts", sub);

	sub = json_object_new_object();
#define FL_X_KIND(field, name)            \
	json_object_object_add(sub, name, \
			       json_object_new_uint64(s->kind.field));
	FL_KINDS(FL_X_KIND)
#undef FL_X_KIND
	json_object_object_add(o, "kinds", sub);

	sub = json_object_new_object();
	for (i = 0; i < FL_PERR_COUNT; i++)
		json_object_object_add(
			sub, parse_error_names[i],
			json_object_new_uint64(s->parse_error[i]));
	json_object_object_add(o, "parse_errors", sub);

	/* Router mode: routed at the driver (XDP_REDIRECT to a port, not to
	 * a worker's socket), or handed to the kernel and why. */
	json_object_object_add(
		o, "forwarded",
		json_object_new_uint64(s->verdict[XDP_REDIRECT] -
				       s->flow.escalated));
	sub = json_object_new_object();
	for (i = 0; i < FL_FWD_PASS_COUNT; i++)
		json_object_object_add(sub, fwd_pass_names[i],
				       json_object_new_uint64(s->fwd_pass[i]));
	json_object_object_add(o, "forward_passed", sub);
	/* DDoS allowlist: sources that skipped every rule */
	json_object_object_add(o, "allowlisted",
			       json_object_new_uint64(s->allowlisted));
	/* stages 6 and 7: the flow cache and escalation to the workers */
	sub = json_object_new_object();
#define FL_X_FLOW(field, name)            \
	json_object_object_add(sub, name, \
			       json_object_new_uint64(s->flow.field));
	FL_FLOW_COUNTERS(FL_X_FLOW)
#undef FL_X_FLOW
	json_object_object_add(o, "flow_cache", sub);
	return o;
}

static int cmd_stats(struct daemon *d, struct json_object *req,
		     struct json_object **data, char *err, size_t errlen)
{
	struct json_object *list = json_object_new_array(), *o;
	const char *only = req_string(req, "interface");
	struct fl_if_stats total = {};
	double pps = 0, bps = 0;
	int i, shown = 0;

	for (i = 0; i < d->nr_ifaces; i++) {
		const struct fl_iface *ifc = &d->ifaces[i];
		struct fl_if_stats now;

		if (only && strcmp(only, ifc->name))
			continue;
		/* Counters as of now; rates as of the last tick. */
		if (rates_read_if_stats(d, ifc->ifindex, &now))
			now = ifc->now;
		o = if_stats_json(&now);
		json_object_object_add(o, "name",
				       json_object_new_string(ifc->name));
		json_object_object_add(o, "ifindex",
				       json_object_new_int(ifc->ifindex));
		json_object_object_add(
			o, "xdp_mode",
			json_object_new_string(xdp_mode_name(ifc->mode)));
		json_object_object_add(o, "pps",
				       json_object_new_double(ifc->pps));
		json_object_object_add(o, "bps",
				       json_object_new_double(ifc->bps));
		json_object_array_add(list, o);
		fl_ifstats_add(&total, &now);
		pps += ifc->pps;
		bps += ifc->bps;
		shown++;
	}
	if (only && !shown) {
		json_object_put(list);
		snprintf(err, errlen, "flowlensd is not attached to '%s'",
			 only);
		return -ENOENT;
	}
	*data = json_object_new_object();
	json_object_object_add(*data, "mode",
			       json_object_new_string(mode_name(d->opt.mode)));
	json_object_object_add(*data, "interfaces", list);
	o = if_stats_json(&total);
	json_object_object_add(o, "pps", json_object_new_double(pps));
	json_object_object_add(o, "bps", json_object_new_double(bps));
	json_object_object_add(*data, "total", o);
	return 0;
}

/* flctl show ip ADDR: one address's exact counters, read live. */
static struct json_object *traffic_json(const struct fl_traffic *t, double pps,
					double bps, double sps)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "packets",
			       json_object_new_uint64(t->packets));
	json_object_object_add(o, "bytes", json_object_new_uint64(t->bytes));
	json_object_object_add(o, "syns", json_object_new_uint64(t->syns));
	json_object_object_add(o, "pps", json_object_new_double(pps));
	json_object_object_add(o, "bps", json_object_new_double(bps));
	json_object_object_add(o, "syn_pps", json_object_new_double(sps));
	return o;
}

/*
 * Why an address is tracked, as of now: the program records "heavy" on the
 * entry, but "protected" depends on the prefixes protected today.
 */
static __u32 current_reasons(struct daemon *d, int family,
			     const union fl_addr *addr, __u32 recorded)
{
	struct bpf_map *map = family == AF_INET ?
				      d->skel->maps.FL_MAP_PROTECT4 :
				      d->skel->maps.FL_MAP_PROTECT6;
	struct fl_lpm6_key key = { .prefixlen = family == AF_INET ? 32 : 128 };
	struct fl_protect value;

	memcpy(key.addr, addr->b, family == AF_INET ? 4 : 16);
	recorded &= FL_TRACK_HEAVY;
	if (!bpf_map__lookup_elem(map, &key, bpf_map__key_size(map), &value,
				  sizeof(value), 0))
		recorded |= FL_TRACK_PROTECTED;
	return recorded;
}

static struct json_object *tracked_json(__u32 reason);

static int cmd_ip(struct daemon *d, struct json_object *req,
		  struct json_object **data, char *err, size_t errlen)
{
	const char *text = req_string(req, "addr");
	struct fl_traffic sum[FL_SIDE_COUNT] = {};
	struct fl_ip_stats *percpu;
	struct fl_ip_entry *e;
	struct fl_prefix addr;
	struct fl_ip_id id;
	struct bpf_map *map;
	char buf[FL_PREFIX_STRLEN];
	__u32 reason = 0;
	int ret;

	if (!text) {
		snprintf(err, errlen, "missing \"addr\"");
		return -EINVAL;
	}
	ret = fl_prefix_parse(text, &addr, err, errlen);
	if (ret)
		return ret;
	if (addr.len != (addr.family == AF_INET ? 32 : 128)) {
		snprintf(err, errlen, "'%s' is a prefix; give one address",
			 text);
		return -EINVAL;
	}
	map = addr.family == AF_INET ? d->skel->maps.FL_MAP_IP4_STATS :
				       d->skel->maps.FL_MAP_IP6_STATS;
	percpu = calloc(d->ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	ret = bpf_map__lookup_elem(map, addr.addr.b, bpf_map__key_size(map),
				   percpu, d->ncpus * sizeof(*percpu), 0);
	if (!ret)
		reason = rates_sum_ip_stats(d, percpu, sum);
	free(percpu);

	memset(&id, 0, sizeof(id));
	id.family = addr.family;
	id.addr = addr.addr;
	HASH_FIND(hh, d->ips, &id, sizeof(id), e);

	*data = json_object_new_object();
	json_object_object_add(
		*data, "addr",
		json_object_new_string(fl_addr_format(addr.family, &addr.addr,
						      buf, sizeof(buf))));
	json_object_object_add(*data, "tracked", json_object_new_boolean(!ret));
	json_object_object_add(
		*data, "reasons",
		tracked_json(ret ? 0 :
				   current_reasons(d, addr.family, &addr.addr,
						   reason)));
	json_object_object_add(*data, "src",
			       traffic_json(&sum[FL_SIDE_SRC],
					    e ? e->pps[FL_SIDE_SRC] : 0,
					    e ? e->bps[FL_SIDE_SRC] : 0,
					    e ? e->sps[FL_SIDE_SRC] : 0));
	json_object_object_add(*data, "dst",
			       traffic_json(&sum[FL_SIDE_DST],
					    e ? e->pps[FL_SIDE_DST] : 0,
					    e ? e->bps[FL_SIDE_DST] : 0,
					    e ? e->sps[FL_SIDE_DST] : 0));
	return 0;
}

/* flctl top src|dst (apps: workers_top_apps()) */
enum top_by { TOP_PPS, TOP_BPS, TOP_SYN };

struct top_row {
	const struct fl_ip_entry *e;
	double key;
};

static int top_cmp(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;

	return x->key < y->key ? 1 : x->key > y->key ? -1 : 0;
}

static struct json_object *tracked_json(__u32 reason)
{
	struct json_object *a = json_object_new_array();

	if (reason & FL_TRACK_PROTECTED)
		json_object_array_add(a, json_object_new_string("protected"));
	if (reason & FL_TRACK_HEAVY)
		json_object_array_add(a, json_object_new_string("heavy"));
	return a;
}

static int cmd_top(struct daemon *d, struct json_object *req,
		   struct json_object **data, char *err, size_t errlen)
{
	const char *side_name = req_string(req, "side") ?: "src";
	const char *by_name = req_string(req, "by") ?: "pps";
	struct json_object *v, *list, *o;
	const struct fl_ip_entry *e;
	struct top_row *rows;
	enum top_by by;
	int side, n = 10, count = 0, i;
	char addr[FL_PREFIX_STRLEN];

	if (json_object_object_get_ex(req, "n", &v)) {
		n = json_object_get_int(v);
		if (!json_object_is_type(v, json_type_int) || n < 1) {
			snprintf(err, errlen, "-n must be a positive number");
			return -EINVAL;
		}
	}
	if (!strcmp(side_name, "src")) {
		side = FL_SIDE_SRC;
	} else if (!strcmp(side_name, "dst")) {
		side = FL_SIDE_DST;
	} else if (!strcmp(side_name, "apps")) {
		/* the workers keep the per-app totals */
		return workers_top_apps(d, by_name, n, data, err, errlen);
	} else {
		snprintf(err, errlen, "side must be src, dst or apps, not '%s'",
			 side_name);
		return -EINVAL;
	}
	if (!strcmp(by_name, "pps")) {
		by = TOP_PPS;
	} else if (!strcmp(by_name, "bps")) {
		by = TOP_BPS;
	} else if (!strcmp(by_name, "syn")) {
		by = TOP_SYN;
	} else {
		snprintf(err, errlen, "--by must be pps, bps or syn, not '%s'",
			 by_name);
		return -EINVAL;
	}

	rows = calloc(HASH_COUNT(d->ips) + 1, sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	for (e = d->ips; e; e = e->hh.next) {
		double key = by == TOP_PPS ? e->pps[side] :
			     by == TOP_BPS ? e->bps[side] :
					     e->sps[side];

		if (key <= 0)
			continue; /* silent in the last interval */
		rows[count].e = e;
		rows[count].key = key;
		count++;
	}
	qsort(rows, count, sizeof(*rows), top_cmp);

	list = json_object_new_array();
	for (i = 0; i < count && i < n; i++) {
		e = rows[i].e;
		o = json_object_new_object();
		json_object_object_add(o, "addr",
				       json_object_new_string(fl_addr_format(
					       e->id.family, &e->id.addr, addr,
					       sizeof(addr))));
		json_object_object_add(o, "pps",
				       json_object_new_double(e->pps[side]));
		json_object_object_add(o, "bps",
				       json_object_new_double(e->bps[side]));
		json_object_object_add(o, "syn_pps",
				       json_object_new_double(e->sps[side]));
		json_object_object_add(
			o, "packets",
			json_object_new_uint64(e->now[side].packets));
		json_object_object_add(
			o, "bytes", json_object_new_uint64(e->now[side].bytes));
		json_object_object_add(
			o, "syns", json_object_new_uint64(e->now[side].syns));
		json_object_object_add(
			o, "tracked",
			tracked_json(current_reasons(d, e->id.family,
						     &e->id.addr, e->reason)));
		json_object_array_add(list, o);
	}
	free(rows);

	*data = json_object_new_object();
	json_object_object_add(*data, "side",
			       json_object_new_string(side_name));
	json_object_object_add(*data, "by", json_object_new_string(by_name));
	json_object_object_add(*data, "interval",
			       json_object_new_double(d->interval));
	json_object_object_add(*data, "tracked_addresses",
			       json_object_new_int(HASH_COUNT(d->ips)));
	json_object_object_add(*data, "entries", list);
	return 0;
}

/* flctl protect */
static int req_prefix(struct json_object *req, struct fl_prefix *prefix,
		      char *err, size_t errlen)
{
	const char *text = req_string(req, "prefix");

	if (!text) {
		snprintf(err, errlen, "missing \"prefix\"");
		return -EINVAL;
	}
	return fl_prefix_parse(text, prefix, err, errlen);
}

/* protect-add and protect-del: the same request, opposite changes. */
static int protect_change(struct daemon *d, struct json_object *req,
			  struct json_object **data, char *err, size_t errlen,
			  bool add)
{
	char buf[FL_PREFIX_STRLEN];
	struct fl_prefix prefix;
	int ret;

	ret = req_prefix(req, &prefix, err, errlen);
	if (ret)
		return ret;
	fl_prefix_format(&prefix, buf, sizeof(buf));
	ret = add ? protect_add(d, &prefix) : protect_del(d, &prefix);
	if (ret == -EEXIST)
		snprintf(err, errlen, "%s is already protected", buf);
	else if (ret == -ENOENT)
		snprintf(err, errlen, "%s is not protected", buf);
	else if (ret == -ENOSPC || ret == -E2BIG)
		snprintf(err, errlen,
			 "cannot protect %s: all %d entries in use", buf,
			 FL_PROTECT_MAX);
	if (ret)
		return ret;
	pr_info("%s %s", add ? "protecting" : "no longer protecting", buf);
	*data = json_object_new_object();
	json_object_object_add(*data, "prefix", json_object_new_string(buf));
	state_save(d); /* logs a warning itself if it fails */
	return 0;
}

static int cmd_protect_add(struct daemon *d, struct json_object *req,
			   struct json_object **data, char *err, size_t errlen)
{
	return protect_change(d, req, data, err, errlen, true);
}

static int cmd_protect_del(struct daemon *d, struct json_object *req,
			   struct json_object **data, char *err, size_t errlen)
{
	return protect_change(d, req, data, err, errlen, false);
}

struct protect_list_ctx {
	struct daemon *d;
	struct json_object *list;
};

/* One prefix with what its tracked hosts received and sent. */
static int protect_list_one(const struct fl_prefix *prefix, void *arg)
{
	struct protect_list_ctx *ctx = arg;
	double rx_pps = 0, rx_bps = 0, tx_pps = 0, tx_bps = 0;
	struct json_object *o = json_object_new_object();
	char buf[FL_PREFIX_STRLEN];
	struct fl_ip_entry *e;
	int hosts = 0;

	for (e = ctx->d->ips; e; e = e->hh.next) {
		if (!fl_prefix_contains(prefix, e->id.family, &e->id.addr))
			continue;
		hosts++;
		rx_pps += e->pps[FL_SIDE_DST];
		rx_bps += e->bps[FL_SIDE_DST];
		tx_pps += e->pps[FL_SIDE_SRC];
		tx_bps += e->bps[FL_SIDE_SRC];
	}
	json_object_object_add(o, "prefix",
			       json_object_new_string(fl_prefix_format(
				       prefix, buf, sizeof(buf))));
	json_object_object_add(o, "hosts", json_object_new_int(hosts));
	json_object_object_add(o, "rx_pps", json_object_new_double(rx_pps));
	json_object_object_add(o, "rx_bps", json_object_new_double(rx_bps));
	json_object_object_add(o, "tx_pps", json_object_new_double(tx_pps));
	json_object_object_add(o, "tx_bps", json_object_new_double(tx_bps));
	json_object_array_add(ctx->list, o);
	return 0;
}

static int cmd_protect_list(struct daemon *d, struct json_object *req,
			    struct json_object **data, char *err, size_t errlen)
{
	struct protect_list_ctx ctx = { d, json_object_new_array() };
	int ret = protect_for_each(d, protect_list_one, &ctx);

	if (ret) {
		json_object_put(ctx.list);
		return ret;
	}
	*data = json_object_new_object();
	json_object_object_add(*data, "prefixes", ctx.list);
	return 0;
}

/* flctl config */
static int cmd_config_show(struct daemon *d, struct json_object *req,
			   struct json_object **data, char *err, size_t errlen)
{
	struct fl_config cfg;
	int ret = settings_read(d, &cfg);

	if (ret)
		return ret;
	*data = settings_to_json(&cfg);
	/* Not a setting (fixed at start by --max-flows): not in the state
	 * file, which settings_to_json() writes. */
	json_object_object_add(
		*data, "max_flows",
		json_object_new_int64(
			bpf_map__max_entries(d->skel->maps.FL_MAP_FLOWS)));
	return 0;
}

static int cmd_config_set(struct daemon *d, struct json_object *req,
			  struct json_object **data, char *err, size_t errlen)
{
	const char *key = req_string(req, "key");
	const char *value = req_string(req, "value");
	int ret;

	if (!key || !value) {
		snprintf(err, errlen, "config-set needs \"key\" and \"value\"");
		return -EINVAL;
	}
	ret = settings_set(d, key, value, err, errlen);
	if (ret)
		return ret;
	pr_info("setting %s = %s", key, value);
	return cmd_config_show(d, req, data, err, errlen);
}

static int cmd_version(struct daemon *d, struct json_object *req,
		       struct json_object **data, char *err, size_t errlen)
{
	char libbpf[32];

	snprintf(libbpf, sizeof(libbpf), "%u.%u", libbpf_major_version(),
		 libbpf_minor_version());
	*data = json_object_new_object();
	json_object_object_add(*data, "version",
			       json_object_new_string(FLOWLENS_VERSION));
	json_object_object_add(*data, "libbpf", json_object_new_string(libbpf));
	json_object_object_add(*data, "uptime",
			       json_object_new_int64(time(NULL) - d->started));
	return 0;
}

const struct command rates_commands[] = {
	{ "stats", cmd_stats },
	{ "ip", cmd_ip },
	{ "top", cmd_top },
	{ NULL, NULL },
};

const struct command settings_commands[] = {
	{ "protect-add", cmd_protect_add },
	{ "protect-del", cmd_protect_del },
	{ "protect-list", cmd_protect_list },
	{ "config-show", cmd_config_show },
	{ "config-set", cmd_config_set },
	{ NULL, NULL },
};

const struct command control_commands[] = {
	{ "version", cmd_version },
	{ "daemon", loop_cmd_daemon },
	{ NULL, NULL },
};

/* Calls fn for each handler of every module; returns how many. */
static int handlers_walk(const struct fl_module *const *modules, int n,
			 void (*fn)(const struct command *c, void *arg),
			 void *arg)
{
	const struct command *c;
	int i, count = 0;

	for (i = 0; i < n; i++)
		for (c = modules[i]->commands; c && c->name; c++, count++)
			if (fn)
				fn(c, arg);
	return count;
}

struct find_ctx {
	const char *name;
	int count;
};

static void count_named(const struct command *c, void *arg)
{
	struct find_ctx *f = arg;

	if (!strcmp(c->name, f->name))
		f->count++;
}

static void check_defined(const struct command *c, void *arg)
{
	if (fl_proto_find(c->name))
		return;
	pr_err("protocol table: flowlensd handles \"%s\", which the table (user/lib/proto.h) does not define",
	       c->name);
	(*(int *)arg)++;
}

int commands_check(const struct fl_module *const *modules, int n)
{
	int i, bad = 0;

	for (i = 0; i < FL_PROTO_COUNT; i++) {
		struct find_ctx f = { fl_proto_cmds[i].request, 0 };

		handlers_walk(modules, n, count_named, &f);
		if (f.count == 1)
			continue;
		pr_err("protocol table: request \"%s\" (flctl %s%s%s) has %s",
		       fl_proto_cmds[i].request, fl_proto_cmds[i].object,
		       *fl_proto_cmds[i].words ? " " : "",
		       fl_proto_cmds[i].words,
		       f.count ? "more than one handler" :
				 "no handler in flowlensd");
		bad++;
	}
	handlers_walk(modules, n, check_defined, &bad);
	return bad ? -EPROTO : 0;
}

static void list_one(const struct command *cmd, void *arg)
{
	const struct fl_proto_cmd *c = fl_proto_find(cmd->name);

	fprintf(arg, "%-20s %s%s%s\n", cmd->name, c ? c->object : "-",
		c && *c->words ? " " : "", c ? c->words : "");
}

void commands_list(FILE *out, const struct fl_module *const *modules, int n)
{
	handlers_walk(modules, n, list_one, out);
}

int command_words(struct json_object *req, char **words, int max, char *err,
		  size_t errlen)
{
	struct json_object *a;
	int i, n;

	if (!json_object_object_get_ex(req, "words", &a) ||
	    !json_object_is_type(a, json_type_array))
		return fl_errf(err, errlen, -EINVAL,
			       "\"words\" must be an array");
	n = json_object_array_length(a);
	if (n > max)
		return fl_errf(err, errlen, -E2BIG,
			       "too many words (at most %d)", max);
	for (i = 0; i < n; i++)
		words[i] = (char *)json_object_get_string(
			json_object_array_get_idx(a, i));
	return n;
}
