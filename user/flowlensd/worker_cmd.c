// SPDX-License-Identifier: Apache-2.0
/*
 * The workers' control commands: workers (each worker's counters, read
 * as relaxed atomics, and its sockets' kernel counters), apps (the XDP
 * per-app counters plus what the workers published) and flows (the XDP
 * flow cache, with SNI and JA3 from the control thread's flow table).
 * apps and flows drain the rings first, so they see every record the
 * workers have published by then; no command reads a worker's own table.
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
	struct app_row *rows = calloc(FL_APPS_MAX, sizeof(*rows));
	struct fl_app_stats *percpu;
	struct json_object *v, *arr;
	const char *sort = "bytes";
	int fd, i, j, nrows = 0;

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
		free(rows);
		return -EINVAL;
	}
	percpu = calloc(d->ncpus, sizeof(*percpu));
	fd = workers_map_fd(d, FL_STRINGIFY(FL_MAP_APP_STATS));
	if (!rows || !percpu || fd < 0) {
		free(rows);
		free(percpu);
		snprintf(err, errlen, "cannot read the per-app counters");
		return -ENOMEM;
	}
	for (i = 0; i < FL_APPS_MAX; i++) {
		__u32 key = i;

		rows[i].id = i;
		if (bpf_map_lookup_elem(fd, &key, percpu))
			continue;
		for (j = 0; j < d->ncpus; j++) {
			rows[i].packets += percpu[j].packets;
			rows[i].bytes += percpu[j].bytes;
		}
	}
	free(percpu);
	workers_drain(d);
	for (j = 0; ws && j < FL_APPS_MAX; j++) {
		rows[j].packets += ws->apps[j].packets;
		rows[j].bytes += ws->apps[j].bytes;
		rows[j].flows += ws->apps[j].flows;
	}
	for (i = 0; i < FL_APPS_MAX; i++)
		if (rows[i].packets || rows[i].flows)
			rows[nrows++] = rows[i];
	qsort(rows, nrows, sizeof(*rows), app_cmp);

	*data = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0; i < nrows; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(
			o, "app",
			json_object_new_string(
				ws ? fl_cls_proto_name(ws->names, rows[i].id) :
				     "?"));
		json_object_object_add(o, "id",
				       json_object_new_int(rows[i].id));
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
	free(rows);
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
	{ NULL, NULL },
};
