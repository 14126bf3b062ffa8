// SPDX-License-Identifier: Apache-2.0
/*
 * The workers' control commands: workers (each worker's counters, read
 * as relaxed atomics, and its sockets' kernel counters), apps (the XDP
 * per-app counters plus what the workers published), the apps side of
 * top (the same totals read once a window by the module's tick, and the
 * rates between the last two reads) and flows (the XDP flow cache, with
 * SNI and JA3 from the control thread's flow table). apps and flows
 * drain the rings first, so they see every record the workers have
 * published by then; no command reads a worker's own table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <linux/if_xdp.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "worker_internal.h"

static const char *const wc_names[FL_WC_COUNT] = {
#define FL_X_NAME(id, name) name,
	FL_WORKER_COUNTERS(FL_X_NAME)
#undef FL_X_NAME
};

static int cmd_workers(struct daemon *d, struct json_object *req,
		       struct json_object **data, char *err, size_t errlen)
{
	struct workers *ws = d->workers;
	struct json_object *arr = json_object_new_array();
	int i, j;

	*data = json_object_new_object();
	json_object_object_add(*data, "workers", arr);
	if (!ws)
		return 0;
	for (i = 0; i < ws->nr; i++) {
		struct worker *w = &ws->w[i];
		struct json_object *o = json_object_new_object(), *ifs;
		struct xdp_statistics st = {};

		json_object_object_add(o, "id", json_object_new_int(w->id));
		json_object_object_add(o, "queue",
				       json_object_new_int(w->queue));
		json_object_object_add(o, "cpu", json_object_new_int(w->cpu));
		ifs = json_object_new_array();
		for (j = 0; j < w->nsocks; j++) {
			json_object_array_add(
				ifs, json_object_new_string(
					     d->ifaces[w->socks[j].slot].name));
			worker_xsk_stats(&w->socks[j], &st);
		}
		json_object_object_add(o, "interfaces", ifs);
		for (j = 0; j < FL_WC_COUNT; j++)
			json_object_object_add(
				o, wc_names[j],
				json_object_new_uint64(atomic_load_explicit(
					&w->c[j], memory_order_relaxed)));
		/* the kernel's view: frames it could not hand to this worker */
		json_object_object_add(
			o, FL_WORKER_RING_FULL,
			json_object_new_uint64(st.rx_ring_full +
					       st.rx_fill_ring_empty_descs +
					       st.rx_dropped));
		json_object_object_add(
			o, "flows",
			json_object_new_uint64(atomic_load_explicit(
				&w->nr_flows, memory_order_relaxed)));
		json_object_object_add(
			o, "memory",
			json_object_new_uint64(atomic_load_explicit(
				&w->memory, memory_order_relaxed)));
		json_object_array_add(arr, o);
	}
	return 0;
}

__u64 workers_counter_sum(struct daemon *d, enum fl_wc c)
{
	struct workers *ws = d->workers;
	__u64 sum = 0;
	int i;

	for (i = 0; ws && i < ws->nr; i++)
		sum += atomic_load_explicit(&ws->w[i].c[c],
					    memory_order_relaxed);
	return sum;
}

/*
 * Every app's totals as `show apps` counts them into t[FL_APPS_MAX]: the
 * XDP per-CPU counters (packets of flows past their verdict) plus what
 * the workers published (the packets before each verdict, those
 * escalated after it, and the flows). The caller drains the rings first.
 * 0 or -errno.
 */
static int apps_read(struct daemon *d, struct app_total *t)
{
	struct workers *ws = d->workers;
	struct fl_app_stats *percpu;
	int fd, i, cpu;

	fd = workers_map_fd(d, FL_STRINGIFY(FL_MAP_APP_STATS));
	if (fd < 0)
		return fd;
	percpu = calloc(d->ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	memset(t, 0, FL_APPS_MAX * sizeof(*t));
	for (i = 0; i < FL_APPS_MAX; i++) {
		__u32 key = i;

		if (ws)
			t[i] = ws->apps[i];
		if (bpf_map_lookup_elem(fd, &key, percpu))
			continue;
		for (cpu = 0; cpu < d->ncpus; cpu++) {
			t[i].packets += percpu[cpu].packets;
			t[i].bytes += percpu[cpu].bytes;
		}
	}
	free(percpu);
	return 0;
}

static bool app_seen(const struct app_total *t)
{
	return t->packets || t->flows;
}

/* nDPI's category of an app, from its latest verdict; "" before one. */
static const char *app_category(const struct workers *ws,
				const struct app_total *t)
{
	return ws && t->flows ? fl_cls_category_name(ws->names, t->category) :
				"";
}

static const char *app_name(const struct workers *ws, __u16 id)
{
	return ws ? fl_cls_proto_name(ws->names, id) : "?";
}

struct app_row {
	__u16 id;
	__u64 packets, bytes, flows;
};

static int app_cmp_key;
static int app_cmp(const void *a, const void *b)
{
	const struct app_row *x = a, *y = b;
	__u64 u = app_cmp_key == 0 ? x->bytes :
		  app_cmp_key == 1 ? x->packets :
				     x->flows;
	__u64 v = app_cmp_key == 0 ? y->bytes :
		  app_cmp_key == 1 ? y->packets :
				     y->flows;

	return u < v ? 1 : u > v ? -1 : x->id - y->id;
}

static int cmd_apps(struct daemon *d, struct json_object *req,
		    struct json_object **data, char *err, size_t errlen)
{
	struct workers *ws = d->workers;
	struct app_total *totals = calloc(FL_APPS_MAX, sizeof(*totals));
	struct app_row *rows = calloc(FL_APPS_MAX, sizeof(*rows));
	struct json_object *v, *arr;
	const char *sort = "bytes";
	int i, nrows = 0, ret = -ENOMEM;

	if (json_object_object_get_ex(req, "sort", &v))
		sort = json_object_get_string(v);
	if (!strcmp(sort, "bytes"))
		app_cmp_key = 0;
	else if (!strcmp(sort, "packets"))
		app_cmp_key = 1;
	else if (!strcmp(sort, "flows"))
		app_cmp_key = 2;
	else {
		snprintf(err, errlen,
			 "unknown sort key '%s' (bytes, packets or flows)",
			 sort);
		ret = -EINVAL;
		goto out;
	}
	if (!rows || !totals)
		goto out;
	workers_drain(d);
	ret = apps_read(d, totals);
	if (ret) {
		snprintf(err, errlen, "cannot read the per-app counters: %s",
			 strerror(-ret));
		goto out;
	}
	for (i = 0; i < FL_APPS_MAX; i++) {
		if (!app_seen(&totals[i]))
			continue;
		rows[nrows].id = i;
		rows[nrows].packets = totals[i].packets;
		rows[nrows].bytes = totals[i].bytes;
		rows[nrows].flows = totals[i].flows;
		nrows++;
	}
	qsort(rows, nrows, sizeof(*rows), app_cmp);

	*data = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0; i < nrows; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(
			o, "app",
			json_object_new_string(app_name(ws, rows[i].id)));
		json_object_object_add(o, "id",
				       json_object_new_int(rows[i].id));
		json_object_object_add(o, "category",
				       json_object_new_string(app_category(
					       ws, &totals[rows[i].id])));
		json_object_object_add(o, "packets",
				       json_object_new_uint64(rows[i].packets));
		json_object_object_add(o, "bytes",
				       json_object_new_uint64(rows[i].bytes));
		json_object_object_add(o, "flows",
				       json_object_new_uint64(rows[i].flows));
		json_object_array_add(arr, o);
	}
	json_object_object_add(*data, "sort", json_object_new_string(sort));
	json_object_object_add(*data, "apps", arr);
	ret = 0;
out:
	free(rows);
	free(totals);
	return ret;
}

/* ---- flctl top apps ---- */

static double timespec_seconds(const struct timespec *a,
			       const struct timespec *b)
{
	return (a->tv_sec - b->tv_sec) + (a->tv_nsec - b->tv_nsec) / 1e9;
}

/*
 * Once a window, as the rates module reads the interfaces: the totals
 * now, the ones a window ago kept. Reading all FL_APPS_MAX ids of a
 * per-CPU array costs a lookup each (about a millisecond in all), too
 * much for every tick and nothing once a second.
 */
static void apps_sample(struct daemon *d)
{
	struct workers *ws = d->workers;
	int next = !ws->apps_last;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (apps_read(d, ws->apps_read[next]))
		return; /* the rates stay those of the last window */
	ws->apps_interval = ws->apps_reads++ ?
				    timespec_seconds(&now, &ws->apps_read_at) :
				    0;
	ws->apps_read_at = now;
	ws->apps_last = next;
}

void workers_tick(struct daemon *d)
{
	struct workers *ws = d->workers;

	if (!ws)
		return;
	workers_drain(d);
	if (ws->apps_ticks++ % FL_RATE_SLOTS == 0)
		apps_sample(d);
}

enum top_apps_by { TOP_APPS_PPS, TOP_APPS_BPS, TOP_APPS_FLOWS };

struct top_app_row {
	__u16 id;
	double pps, bps, flows_per_s, key;
};

static int top_app_cmp(const void *a, const void *b)
{
	const struct top_app_row *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? 1 : -1;
	return x->id - y->id;
}

/* Per second between the last two reads (counters only grow; a map
 * made anew, as after a reboot, starts the rate over). */
static double per_second(__u64 now, __u64 before, double interval)
{
	return interval > 0 && now > before ? (now - before) / interval : 0;
}

int workers_top_apps(struct daemon *d, const char *by_name, int n,
		     struct json_object **data, char *err, size_t errlen)
{
	struct workers *ws = d->workers;
	const struct app_total *now = NULL, *before = NULL;
	struct top_app_row *rows;
	struct json_object *list;
	enum top_apps_by by;
	int i, count = 0, seen = 0;
	double interval = 0;

	if (!strcmp(by_name, "pps")) {
		by = TOP_APPS_PPS;
	} else if (!strcmp(by_name, "bps")) {
		by = TOP_APPS_BPS;
	} else if (!strcmp(by_name, "flows")) {
		by = TOP_APPS_FLOWS;
	} else {
		snprintf(err, errlen,
			 "--by must be pps, bps or flows for apps, not '%s'",
			 by_name);
		return -EINVAL;
	}
	rows = calloc(FL_APPS_MAX, sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	if (ws) { /* no workers: nothing is classified */
		now = ws->apps_read[ws->apps_last];
		before = ws->apps_read[!ws->apps_last];
		interval = ws->apps_interval;
	}
	for (i = 0; now && i < FL_APPS_MAX; i++) {
		struct top_app_row *r = &rows[count];

		seen += app_seen(&now[i]);
		r->id = i;
		r->pps =
			per_second(now[i].packets, before[i].packets, interval);
		r->bps =
			8 * per_second(now[i].bytes, before[i].bytes, interval);
		r->flows_per_s =
			per_second(now[i].flows, before[i].flows, interval);
		r->key = by == TOP_APPS_PPS ? r->pps :
			 by == TOP_APPS_BPS ? r->bps :
					      r->flows_per_s;
		if (r->key > 0) /* else silent in the last window */
			count++;
	}
	qsort(rows, count, sizeof(*rows), top_app_cmp);

	list = json_object_new_array();
	for (i = 0; i < count && i < n; i++) {
		const struct top_app_row *r = &rows[i];
		const struct app_total *t = &now[r->id];
		struct json_object *o = json_object_new_object();

		json_object_object_add(
			o, "app", json_object_new_string(app_name(ws, r->id)));
		json_object_object_add(o, "id", json_object_new_int(r->id));
		json_object_object_add(
			o, "category",
			json_object_new_string(app_category(ws, t)));
		json_object_object_add(o, "pps",
				       json_object_new_double(r->pps));
		json_object_object_add(o, "bps",
				       json_object_new_double(r->bps));
		json_object_object_add(o, "flows_per_s",
				       json_object_new_double(r->flows_per_s));
		json_object_object_add(o, "packets",
				       json_object_new_uint64(t->packets));
		json_object_object_add(o, "bytes",
				       json_object_new_uint64(t->bytes));
		json_object_object_add(o, "flows",
				       json_object_new_uint64(t->flows));
		json_object_array_add(list, o);
	}
	free(rows);

	*data = json_object_new_object();
	json_object_object_add(*data, "side", json_object_new_string("apps"));
	json_object_object_add(*data, "by", json_object_new_string(by_name));
	json_object_object_add(*data, "interval",
			       json_object_new_double(interval));
	json_object_object_add(*data, "apps_seen", json_object_new_int(seen));
	json_object_object_add(*data, "entries", list);
	return 0;
}

struct flow_row {
	struct fl_flow_key key;
	struct fl_flow v;
};

static int flow_row_cmp(const void *a, const void *b)
{
	const struct flow_row *x = a, *y = b;

	__u64 bx = fl_flow_bytes(&x->v), by = fl_flow_bytes(&y->v);

	return bx < by ? 1 : bx > by ? -1 : 0;
}

static const char *const state_names[] = { "new", "classifying", "classified",
					   "gave-up" };

static void addr_str(const struct fl_flow_key *k, const union fl_addr *a,
		     char *buf)
{
	inet_ntop(k->family == 6 ? AF_INET6 : AF_INET, a, buf,
		  INET6_ADDRSTRLEN);
}

static int cmd_flows(struct daemon *d, struct json_object *req,
		     struct json_object **data, char *err, size_t errlen)
{
	struct workers *ws = d->workers;
	struct flow_row *rows = NULL;
	struct fl_flow_key key, next;
	struct json_object *v, *arr;
	const char *app = NULL;
	size_t n = 0, cap = 0, i;
	int fd = workers_map_fd(d, FL_STRINGIFY(FL_MAP_FLOWS)), limit = 50,
	    found;
	void *prev = NULL;

	if (json_object_object_get_ex(req, "app", &v))
		app = json_object_get_string(v);
	if (json_object_object_get_ex(req, "limit", &v))
		limit = json_object_get_int(v);
	if (fd < 0) {
		snprintf(err, errlen, "no flow cache map");
		return -ENOENT;
	}
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (n == cap) {
			struct flow_row *r;

			cap = cap ? cap * 2 : 1024;
			r = realloc(rows, cap * sizeof(*rows));
			if (!r)
				break;
			rows = r;
		}
		rows[n].key = key;
		if (bpf_map_lookup_elem(fd, &key, &rows[n].v) == 0)
			n++;
	}
	qsort(rows, n, sizeof(*rows), flow_row_cmp);
	workers_drain(d);

	*data = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0, found = 0; i < n && (limit <= 0 || found < limit); i++) {
		const struct fl_flow *f = &rows[i].v;
		const struct fl_flow_key *k = &rows[i].key;
		const struct flow_info *fi = workers_flow_find(ws, k);
		bool lo_client = f->flags & FL_FLOW_F_LO_CLIENT;
		struct json_object *o, *risks;
		char name[64], a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
		char rbuf[1024], *tok, *save;

		if (ws) {
			struct fl_cls_flow tmp = { .app = f->app,
						   .master = f->master };

			fl_cls_app_name(ws->names, &tmp, name, sizeof(name));
		} else {
			snprintf(name, sizeof(name), "%u.%u", f->master,
				 f->app);
		}
		if (app && strcasecmp(app, name) &&
		    strcasecmp(app,
			       fl_cls_proto_name(ws ? ws->names : NULL,
						 app_index(f->app, f->master))))
			continue;
		found++;
		o = json_object_new_object();
		addr_str(k, lo_client ? &k->lo : &k->hi, a);
		addr_str(k, lo_client ? &k->hi : &k->lo, b);
		json_object_object_add(
			o, "proto",
			json_object_new_string(k->proto == IPPROTO_TCP ? "TCP" :
					       k->proto == IPPROTO_UDP ? "UDP" :
									 "IP"));
		json_object_object_add(o, "ip_proto",
				       json_object_new_int(k->proto));
		json_object_object_add(o, "src", json_object_new_string(a));
		json_object_object_add(
			o, "sport",
			json_object_new_int(
				ntohs(lo_client ? k->lo_port : k->hi_port)));
		json_object_object_add(o, "dst", json_object_new_string(b));
		json_object_object_add(
			o, "dport",
			json_object_new_int(
				ntohs(lo_client ? k->hi_port : k->lo_port)));
		json_object_object_add(
			o, "state",
			json_object_new_string(
				f->state < 4 ? state_names[f->state] : "?"));
		json_object_object_add(o, "app", json_object_new_string(name));
		json_object_object_add(
			o, "category",
			json_object_new_string(
				ws ? fl_cls_category_name(ws->names,
							  f->category) :
				     ""));
		json_object_object_add(
			o, "sni", json_object_new_string(fi ? fi->sni : ""));
		json_object_object_add(
			o, "ja3c", json_object_new_string(fi ? fi->ja3c : ""));
		json_object_object_add(
			o, "ja3s", json_object_new_string(fi ? fi->ja3s : ""));
		risks = json_object_new_array();
		fl_cls_risk_names(f->risk, rbuf, sizeof(rbuf));
		for (tok = strtok_r(rbuf, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save))
			json_object_array_add(risks,
					      json_object_new_string(tok));
		json_object_object_add(o, "risk", risks);
		json_object_object_add(
			o, "packets",
			json_object_new_uint64(fl_flow_packets(f)));
		json_object_object_add(
			o, "bytes", json_object_new_uint64(fl_flow_bytes(f)));
		json_object_object_add(o, "escalated",
				       json_object_new_uint64(f->escalated));
		json_object_array_add(arr, o);
	}
	json_object_object_add(*data, "flows", arr);
	json_object_object_add(*data, "total", json_object_new_uint64(n));
	free(rows);
	return 0;
}

const struct command worker_commands[] = {
	{ "workers", cmd_workers },
	{ "apps", cmd_apps },
	{ "flows", cmd_flows },
	{ "voip-calls", worker_voip_calls },
	{ "voip-streams", worker_voip_streams },
	{ NULL, NULL },
};
