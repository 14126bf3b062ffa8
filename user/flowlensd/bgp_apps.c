// SPDX-License-Identifier: Apache-2.0
/*
 * Application thresholds (flctl flowspec app): while an application's
 * rate, as XDP counts its classified flows' packets (FL_MAP_APP_STATS), is
 * above its threshold, the endpoints sending most of it are announced as
 * FlowSpec routes (a /32 or /128 source, drop or rate-limit), at most
 * `top` of them; once the rate has stayed under 80 % of the threshold for
 * `hold` seconds, they are withdrawn. The endpoints are ranked by the
 * bytes they sent in the application's flows that had a packet in the
 * last two seconds (a walk of the flow cache, only while the threshold is
 * crossed), again every five seconds: one that left the top is withdrawn.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "bgp_priv.h"
#include "classify.h"
#include "daemon.h"
#include "flowlens.skel.h"
#include "log.h"
#include "prefix.h"
#include "units.h"

#define APP_LOW_PCT 80 /* hysteresis: the end needs the rate under this */
#define APP_RANK_EVERY 5.0 /* s between two rankings while crossed */
#define APP_RECENT_NS 2000000000ULL

static int map_fd(struct daemon *d, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(d->skel->obj, name);

	return m ? bpf_map__fd(m) : -1;
}

/* nDPI's id for a name, case aside; 0 if it has none. */
static __u16 app_id(struct bgp *b, const char *name)
{
	__u16 id;

	if (!b->names)
		b->names = fl_cls_new(&(struct fl_cls_opts){ .max_flows = 1 });
	if (!b->names)
		return 0;
	for (id = 1; id < FL_APPS_MAX; id++)
		if (!strcasecmp(fl_cls_proto_name(b->names, id), name))
			return id;
	return 0;
}

static int read_counts(struct daemon *d, __u16 id, __u64 *packets, __u64 *bytes)
{
	int fd = map_fd(d, FL_STRINGIFY(FL_MAP_APP_STATS)), cpu;
	struct fl_app_stats *pc = calloc(d->ncpus, sizeof(*pc));
	__u32 key = id;

	*packets = *bytes = 0;
	if (fd < 0 || !pc || bpf_map_lookup_elem(fd, &key, pc)) {
		free(pc);
		return -ENOENT;
	}
	for (cpu = 0; cpu < d->ncpus; cpu++) {
		*packets += pc[cpu].packets;
		*bytes += pc[cpu].bytes;
	}
	free(pc);
	return 0;
}

struct sender {
	union fl_addr addr;
	__u8 family;
	__u64 bytes;
};

static void credit(struct sender *s, size_t *n, size_t max, int family,
		   const union fl_addr *addr, __u64 bytes)
{
	size_t i;

	if (!bytes)
		return;
	for (i = 0; i < *n; i++)
		if (s[i].family == family &&
		    !memcmp(&s[i].addr, addr, sizeof(*addr))) {
			s[i].bytes += bytes;
			return;
		}
	if (*n == max)
		return;
	s[*n].family = family;
	s[*n].addr = *addr;
	s[*n].bytes = bytes;
	(*n)++;
}

static int by_bytes(const void *a, const void *b)
{
	const struct sender *x = a, *y = b;

	return x->bytes > y->bytes ? -1 : x->bytes < y->bytes;
}

/* The application's senders in the flow cache, most bytes first. */
static size_t rank(struct daemon *d, __u16 id, struct sender *s, size_t max)
{
	int fd = map_fd(d, FL_STRINGIFY(FL_MAP_FLOWS));
	struct fl_flow_key key, next;
	struct timespec ts;
	struct fl_flow f;
	size_t n = 0;
	__u64 now;
	void *prev = NULL;

	if (fd < 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	now = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &f))
			continue;
		if ((f.app != id && f.master != id) ||
		    f.last_seen + APP_RECENT_NS < now)
			continue;
		credit(s, &n, max, key.family, &key.lo, f.bytes[0]);
		credit(s, &n, max, key.family, &key.hi, f.bytes[1]);
	}
	qsort(s, n, sizeof(*s), by_bytes);
	return n;
}

static void endpoint_rule(const struct bgp_app *a, const struct sender *s,
			  struct fl_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->family = s->family;
	r->fields = FL_RF_SRC;
	r->src = s->addr;
	r->src_len = s->family == 6 ? 128 : 32;
	r->action = a->action;
	if (a->action == FL_RULE_RATE_LIMIT) {
		r->rate = a->rate;
		r->rate_unit = FL_RATE_BPS;
		r->burst = a->rate / 10 > FL_RULE_BURST_MIN_BITS ?
				   a->rate / 10 :
				   FL_RULE_BURST_MIN_BITS;
	}
}

/* Announces the top senders, each in a slot of its own; a slot whose
 * sender changed is withdrawn and announced again. */
static void announce_top(struct daemon *d, struct bgp *b, int i)
{
	struct bgp_app *a = &b->apps[i];
	struct sender s[256];
	size_t n = rank(d, a->id, s, 256), k;
	char by[48];

	snprintf(by, sizeof(by), "app %s", a->name);
	if (n > a->top)
		n = a->top;
	for (k = 0; k < n; k++) {
		struct fl_rule r;

		if (k < a->nr_endpoints && a->ep_family[k] == s[k].family &&
		    !memcmp(&a->ep[k], &s[k].addr, sizeof(s[k].addr)))
			continue;
		fs_withdraw_key(b, FS_APP_KEY(i, k));
		endpoint_rule(a, &s[k], &r);
		fs_announce_key(b, &r, FS_APP_KEY(i, k), by);
		a->ep_family[k] = s[k].family;
		a->ep[k] = s[k].addr;
	}
	for (k = n; k < a->nr_endpoints; k++)
		fs_withdraw_key(b, FS_APP_KEY(i, k));
	a->nr_endpoints = n;
}

static void app_end(struct bgp *b, int i)
{
	struct bgp_app *a = &b->apps[i];
	size_t j;

	for (j = 0; j < a->nr_endpoints; j++)
		fs_withdraw_key(b, FS_APP_KEY(i, j));
	a->nr_endpoints = 0;
	if (a->active)
		pr_info("bgp: app %s back under its threshold: %zu routes withdrawn",
			a->name, j);
	a->active = false;
}

/* Once a second, from the bgp module's tick. */
void fs_apps_tick(struct daemon *d, struct bgp *b)
{
	double now = bgp_now();
	int i;

	for (i = 0; i < b->nr_apps; i++) {
		struct bgp_app *a = &b->apps[i];
		__u64 packets, bytes;
		double dt, value;

		if (read_counts(d, a->id, &packets, &bytes))
			continue;
		dt = now - a->last_time;
		if (a->have_last && dt > 0) {
			a->rate_pps = (packets - a->last_packets) / dt;
			a->rate_bps = (bytes - a->last_bytes) * 8 / dt;
		}
		a->last_packets = packets;
		a->last_bytes = bytes;
		a->last_time = now;
		if (!a->have_last) {
			a->have_last = true;
			continue;
		}
		value = a->bps ? a->rate_bps : a->rate_pps;
		if (value > a->limit) {
			a->below_since = 0;
			if (!a->active) {
				a->active = true;
				a->crossed++;
				pr_info("bgp: app %s at %.0f %s, above %llu: announcing its top senders",
					a->name, value, a->bps ? "bps" : "pps",
					(unsigned long long)a->limit);
				a->next_rank = 0;
			}
		} else if (a->active &&
			   value * 100 < (double)a->limit * APP_LOW_PCT) {
			if (!a->below_since)
				a->below_since = now;
			if (now - a->below_since >= a->hold)
				app_end(b, i);
		} else {
			a->below_since = 0;
		}
		if (a->active && b->announce && now >= a->next_rank) {
			a->next_rank = now + APP_RANK_EVERY;
			announce_top(d, b, i);
		}
	}
}

/* ---- configuration --------------------------------------------------------- */

struct json_object *fs_app_json(const struct bgp *b, int i, bool state)
{
	const struct bgp_app *a = &b->apps[i];
	struct json_object *o = json_object_new_object(), *eps;
	char text[64];
	size_t j;

	json_object_object_add(o, "app", json_object_new_string(a->name));
	json_object_object_add(o, "id", json_object_new_int(a->id));
	json_object_object_add(o, "metric",
			       json_object_new_string(a->bps ? "bps" : "pps"));
	json_object_object_add(o, "limit", json_object_new_uint64(a->limit));
	json_object_object_add(
		o, "action",
		json_object_new_string(
			a->action == FL_RULE_DROP ? "drop" : "rate-limit"));
	json_object_object_add(o, "rate",
			       a->action == FL_RULE_RATE_LIMIT ?
				       json_object_new_uint64(a->rate) :
				       NULL);
	json_object_object_add(o, "top", json_object_new_int(a->top));
	json_object_object_add(o, "hold", json_object_new_int(a->hold));
	if (!state)
		return o;
	json_object_object_add(o, "pps", json_object_new_double(a->rate_pps));
	json_object_object_add(o, "bps", json_object_new_double(a->rate_bps));
	json_object_object_add(o, "active", json_object_new_boolean(a->active));
	json_object_object_add(o, "crossed",
			       json_object_new_uint64(a->crossed));
	eps = json_object_new_array();
	for (j = 0; j < a->nr_endpoints; j++)
		json_object_array_add(
			eps, json_object_new_string(fl_addr_format(
				     a->ep_family[j] == 6 ? AF_INET6 : AF_INET,
				     &a->ep[j], text, sizeof(text))));
	json_object_object_add(o, "endpoints", eps);
	return o;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* APP { bps | pps } RATE [action { drop | rate-limit RATE }] [top N]
 * [hold S] -> @a (the name checked against nDPI's). */
int fs_app_parse(struct bgp *b, char **w, int n, struct bgp_app *a, char *err,
		 size_t errlen)
{
	uint64_t v;
	int i;

	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", w[0]);
	a->id = app_id(b, w[0]);
	if (!a->id)
		return fail(
			err, errlen,
			"unknown application '%s' (a name nDPI gives, as 'flctl show apps' lists them: YouTube, QUIC, TLS, ...)",
			w[0]);
	snprintf(a->name, sizeof(a->name), "%s",
		 fl_cls_proto_name(b->names, a->id));
	if (n < 3 || (strcmp(w[1], "bps") && strcmp(w[1], "pps")))
		return fail(err, errlen,
			    "flowspec app %s needs bps RATE or pps RATE", w[0]);
	a->bps = !strcmp(w[1], "bps");
	if (fl_parse_count(w[2], &v) || !v)
		return fail(err, errlen,
			    "bad %s '%s': a rate above 0 (k, M, G)", w[1],
			    w[2]);
	a->limit = v;
	a->action = FL_RULE_DROP;
	a->top = BGP_APP_TOP_DEFAULT;
	a->hold = BGP_APP_HOLD_DEFAULT;
	for (i = 3; i < n; i += 2) {
		if (i + 1 >= n)
			return fail(err, errlen, "'%s' needs a value", w[i]);
		if (!strcmp(w[i], "action")) {
			if (!strcmp(w[i + 1], "drop")) {
				a->action = FL_RULE_DROP;
				continue;
			}
			if (strcmp(w[i + 1], "rate-limit") || i + 2 >= n ||
			    fl_parse_count(w[i + 2], &v) || !v)
				return fail(
					err, errlen,
					"bad action: drop, or rate-limit RATE (bits/s: 100M)");
			a->action = FL_RULE_RATE_LIMIT;
			a->rate = v;
			i++;
		} else if (!strcmp(w[i], "top")) {
			if (fl_parse_count(w[i + 1], &v) || !v ||
			    v > BGP_APP_TOP_MAX)
				return fail(err, errlen,
					    "bad top '%s': endpoints, 1-%d",
					    w[i + 1], BGP_APP_TOP_MAX);
			a->top = v;
		} else if (!strcmp(w[i], "hold")) {
			if (fl_parse_count(w[i + 1], &v) || !v || v > 86400)
				return fail(err, errlen,
					    "bad hold '%s': seconds, 1-86400",
					    w[i + 1]);
			a->hold = v;
		} else {
			return fail(
				err, errlen,
				"unexpected '%s' (expected action, top or hold)",
				w[i]);
		}
	}
	return 0;
}

/* Removes threshold @i, withdrawing what it announced; later ones move
 * down a slot, so their keys are re-announced. */
void fs_app_del(struct bgp *b, int i)
{
	int k;

	for (k = i; k < b->nr_apps; k++)
		app_end(b, k);
	for (k = i; k + 1 < b->nr_apps; k++)
		b->apps[k] = b->apps[k + 1];
	b->nr_apps--;
}

void fs_apps_free(struct bgp *b)
{
	fl_cls_free(b->names);
	b->names = NULL;
}
