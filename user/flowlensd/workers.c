// SPDX-License-Identifier: Apache-2.0
/*
 * The AF_XDP workers, from the control thread's side: starting and
 * stopping them (and stage 7's escalation with them), and draining what
 * they publish.
 *
 * Each worker has a ring to the control thread (a bounded lock-free
 * single-producer/single-consumer ring, user/lib/spsc_ring.h) and writes
 * one shared eventfd when it has published. workers_drain() takes every
 * record from every ring into the control thread's own tables: a flow
 * table (verdict, SNI and JA3 per flow, until the flow ends in every
 * worker that had it) and per-app totals; `show flows` and `show apps`
 * read those, never a worker's table. Each drained record is where the
 * daemon's event bus will carry it on.
 *
 *   workers -> [ring 0] --\
 *   workers -> [ring 1] ----> eventfd -> workers_drain() -> flows, apps
 *   workers -> [ring n] --/                                 (and the bus)
 *
 * worker_internal.h says which file holds which part of the workers.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bus.h"
#include "log.h"
#include "module.h"
#include "worker_internal.h"
#include "flowlens.skel.h"

/* The control side keeps at most this many flows per worker: a worker's
 * own table holds as many (classify.c's default). */
#define W_CONTROL_FLOWS_PER_WORKER 65536

int workers_map_fd(struct daemon *d, const char *name)
{
	int fd = bpf_object__find_map_fd_by_name(d->skel->obj, name);

	if (fd < 0)
		pr_err("the program has no map %s", name);
	return fd;
}

static int escalation_set(struct daemon *d, bool on)
{
	struct fl_config cfg;

	if (settings_read(d, &cfg))
		return -1;
	if (on)
		cfg.escalate_flags &= ~FL_ESCALATE_F_OFF;
	else
		cfg.escalate_flags |= FL_ESCALATE_F_OFF;
	return settings_write(d, &cfg);
}

/* Records in each worker's ring: W_RECORDS, or a power of two from the
 * environment (the tests shrink it to make a ring shed). */
static __u32 ring_records(void)
{
	const char *env = getenv(W_RECORDS_ENV);
	char *end;
	unsigned long n;

	if (!env || !*env)
		return W_RECORDS;
	n = strtoul(env, &end, 10);
	if (*end || !n || n > (1UL << 20) || (n & (n - 1))) {
		pr_warn("%s=%s is not a power of two up to 1048576: using %d",
			W_RECORDS_ENV, env, W_RECORDS);
		return W_RECORDS;
	}
	return n;
}

static int worker_open(struct daemon *d, struct worker *w, int xsks_fd,
		       int slots_fd)
{
	struct fl_cls_opts copts = { .idle_ms = d->opt.flow_timeout_ms };
	struct fl_config cfg;
	int err;

	w->ring = fl_spsc_ring_new(ring_records(),
				   sizeof(struct fl_worker_record));
	if (!w->ring)
		return -ENOMEM;
	err = worker_xsk_open(d, w, xsks_fd, slots_fd);
	if (err)
		return err;
	/* nDPI gives up where the program stops escalating */
	if (settings_read(d, &cfg) == 0) {
		copts.max_tcp = cfg.escalate_tcp ?: FL_ESCALATE_TCP_DEFAULT;
		copts.max_udp = cfg.escalate_udp ?: FL_ESCALATE_UDP_DEFAULT;
	}
	w->cls = fl_cls_new(&copts);
	if (!w->cls)
		return -ENOMEM;
	return worker_voip_open(w);
}

static void worker_close(struct worker *w)
{
	worker_xsk_close(w);
	if (w->cls)
		fl_cls_free(w->cls);
	worker_voip_close(w);
	fl_spsc_ring_free(w->ring);
}

static int workers_open(struct daemon *d)
{
	int nr = d->opt.workers, queues = 1, i, err = 0, xsks_fd, slots_fd;
	struct workers *ws;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	sigset_t all, old;

	if (d->opt.workers_set && nr == 0) {
		pr_info("workers: none (--workers 0): no flow is escalated");
		return escalation_set(d, false);
	}
	for (i = 0; i < d->nr_ifaces; i++)
		if (worker_rx_queues(d->ifaces[i].name) > queues)
			queues = worker_rx_queues(d->ifaces[i].name);
	if (!d->opt.workers_set)
		nr = ncpu > 0 ? ncpu : 1;
	if (nr > queues) {
		if (d->opt.workers_set)
			pr_info("workers: %d asked, the interfaces have %d rx queue%s: starting %d",
				nr, queues, queues > 1 ? "s" : "", queues);
		nr = queues;
	}
	xsks_fd = workers_map_fd(d, FL_STRINGIFY(FL_MAP_XSKS));
	slots_fd = workers_map_fd(d, FL_STRINGIFY(FL_MAP_XSK_SLOTS));
	if (xsks_fd < 0 || slots_fd < 0)
		return -ENOENT;

	ws = calloc(1, sizeof(*ws));
	if (!ws)
		return -ENOMEM;
	ws->w = calloc(nr, sizeof(*ws->w));
	ws->names = fl_cls_new(&(struct fl_cls_opts){ .max_flows = 1 });
	ws->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!ws->w || !ws->names || ws->event_fd < 0) {
		if (ws->event_fd >= 0)
			close(ws->event_fd);
		if (ws->names)
			fl_cls_free(ws->names);
		free(ws->w);
		free(ws);
		return -ENOMEM;
	}
	d->workers = ws;
	ws->tun_fd = -1;
	err = workers_voip_open(ws, nr);
	if (err)
		return err;
	ws->max_flows = nr * W_CONTROL_FLOWS_PER_WORKER;
	if (d->opt.mode == FL_MODE_HOST) {
		ws->tun_fd = worker_tun_open();
		if (ws->tun_fd < 0) {
			pr_err("workers: cannot create TUN device %s (host mode hands inspected packets back through it): %s",
			       W_TUN_NAME, strerror(-ws->tun_fd));
			return ws->tun_fd;
		}
	}
	for (i = 0; i < nr; i++) {
		struct worker *w = &ws->w[i];

		w->d = d;
		w->id = i;
		w->queue = i;
		w->cpu = ncpu > 0 ? i % ncpu : 0;
		w->tun_fd = ws->tun_fd;
		w->event_fd = ws->event_fd;
		w->flows_fd = workers_map_fd(d, FL_STRINGIFY(FL_MAP_FLOWS));
		ws->nr++;
		err = worker_open(d, w, xsks_fd, slots_fd);
		if (err)
			return err;
	}
	/* Signals are the control thread's (a signalfd): the workers start
	 * with every signal blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < ws->nr; i++) {
		struct worker *w = &ws->w[i];
		cpu_set_t set;

		err = pthread_create(&w->thread, NULL, worker_main, w);
		if (err) {
			pr_err("worker %d: pthread_create: %s", i,
			       strerror(err));
			return -err;
		}
		w->running = true;
		CPU_ZERO(&set);
		CPU_SET(w->cpu, &set);
		pthread_setaffinity_np(w->thread, sizeof(set), &set);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pr_info("workers: %d started (queue q on core q), %d socket%s", ws->nr,
		ws->w[0].nsocks * ws->nr, ws->nr > 1 ? "s" : "");
	return escalation_set(d, true);
}

static void flows_free(struct workers *ws)
{
	struct flow_info *fi, *tmp;

	HASH_ITER(hh, ws->flows, fi, tmp) {
		HASH_DEL(ws->flows, fi);
		free(fi);
	}
	ws->nr_flows = 0;
}

static void workers_close(struct daemon *d)
{
	struct workers *ws = d->workers;
	int i;

	if (!ws)
		return;
	atomic_store(&ws->stop, true);
	for (i = 0; i < ws->nr; i++)
		if (ws->w[i].running)
			pthread_join(ws->w[i].thread, NULL);
	for (i = 0; i < ws->nr; i++)
		worker_close(&ws->w[i]);
	if (ws->tun_fd >= 0)
		close(ws->tun_fd);
	close(ws->event_fd);
	if (ws->names)
		fl_cls_free(ws->names);
	workers_voip_close(ws);
	flows_free(ws);
	free(ws->w);
	free(ws);
	d->workers = NULL;
}

/* ---- the control side: draining the rings ---- */

bool workers_flow_names(struct daemon *d, const struct fl_flow_key *key,
			const char **sni, const char **ja3c)
{
	struct workers *ws = d->workers;
	struct flow_info *fi = NULL;

	*sni = *ja3c = "";
	if (!ws)
		return false;
	HASH_FIND(hh, ws->flows, key, sizeof(*key), fi);
	if (!fi)
		return false;
	*sni = fi->sni;
	*ja3c = fi->ja3c;
	return true;
}

int workers_event_fd(struct daemon *d)
{
	return d->workers ? d->workers->event_fd : -1;
}

const struct flow_info *workers_flow_find(struct workers *ws,
					  const struct fl_flow_key *key)
{
	struct flow_info *fi = NULL;

	if (ws)
		HASH_FIND(hh, ws->flows, key, sizeof(*key), fi);
	return fi;
}

static void flow_forget(struct workers *ws, struct flow_info *fi)
{
	HASH_DEL(ws->flows, fi);
	free(fi);
	ws->nr_flows--;
}

static void take_verdict(struct workers *ws, const struct fl_worker_record *r,
			 __u64 now)
{
	const struct fl_wrec_verdict *v = &r->verdict;
	struct app_total *a = &ws->apps[app_index(v->app, v->master)];
	struct flow_info *fi = NULL;

	HASH_FIND(hh, ws->flows, &r->key, sizeof(r->key), fi);
	if (!fi && ws->nr_flows < ws->max_flows) {
		fi = calloc(1, sizeof(*fi));
		if (fi) {
			fi->key = r->key;
			HASH_ADD(hh, ws->flows, key, sizeof(fi->key), fi);
			ws->nr_flows++;
		}
	}
	if (fi) {
		fi->workers |= 1ULL << r->worker;
		fi->updated_ms = now;
		fi->app = v->app;
		fi->master = v->master;
		fi->category = v->category;
		fi->risk = v->risk;
		memcpy(fi->sni, v->sni, sizeof(fi->sni));
		memcpy(fi->ja3c, v->ja3c, sizeof(fi->ja3c));
		memcpy(fi->ja3s, v->ja3s, sizeof(fi->ja3s));
		fi->sni[sizeof(fi->sni) - 1] = '\0';
		fi->ja3c[sizeof(fi->ja3c) - 1] = '\0';
		fi->ja3s[sizeof(fi->ja3s) - 1] = '\0';
	}
	a->flows++;
	a->category = v->category;
	a->packets += v->packets[0] + v->packets[1];
	a->bytes += v->bytes[0] + v->bytes[1];
}

static void take_flow_end(struct workers *ws, const struct fl_worker_record *r)
{
	struct flow_info *fi = NULL;

	HASH_FIND(hh, ws->flows, &r->key, sizeof(r->key), fi);
	if (!fi)
		return;
	fi->workers &= ~(1ULL << r->worker);
	if (!fi->workers)
		flow_forget(ws, fi);
}

/* A drained verdict or flow end, on the event bus. */
static void publish_flow(struct daemon *d, const struct fl_worker_record *r)
{
	struct fl_flow_event flow = { .key = r->key,
				      .worker = r->worker,
				      .sni = "",
				      .ja3c = "",
				      .ja3s = "" };
	struct fl_event ev = { .flow = &flow };

	if (r->type == FL_WREC_VERDICT) {
		ev.type = FL_EV_FLOW_VERDICT;
		flow.app = r->verdict.app;
		flow.master = r->verdict.master;
		flow.category = r->verdict.category;
		flow.risk = r->verdict.risk;
		flow.sni = r->verdict.sni;
		flow.ja3c = r->verdict.ja3c;
		flow.ja3s = r->verdict.ja3s;
		flow.packets = r->verdict.packets[0] + r->verdict.packets[1];
		flow.bytes = r->verdict.bytes[0] + r->verdict.bytes[1];
		memcpy(flow.policy, r->verdict.policy, sizeof(flow.policy));
		memcpy(flow.pre_packets, r->verdict.packets,
		       sizeof(flow.pre_packets));
		memcpy(flow.pre_bytes, r->verdict.bytes,
		       sizeof(flow.pre_bytes));
	} else {
		ev.type = FL_EV_FLOW_ENDED;
		flow.app = r->end.app;
		flow.master = r->end.master;
		flow.packets = r->end.packets[0] + r->end.packets[1];
		flow.bytes = r->end.bytes[0] + r->end.bytes[1];
	}
	bus_publish(d, &ev);
}

static void take_record(struct daemon *d, struct workers *ws,
			const struct fl_worker_record *r, __u64 now)
{
	struct app_total *a;

	switch (r->type) {
	case FL_WREC_VERDICT:
		take_verdict(ws, r, now);
		publish_flow(d, r);
		break;
	case FL_WREC_FLOW_END:
		take_flow_end(ws, r);
		publish_flow(d, r);
		break;
	case FL_WREC_APP_PACKETS:
		a = &ws->apps[r->app.app < FL_APPS_MAX ? r->app.app : 0];
		a->packets += r->app.packets;
		a->bytes += r->app.bytes;
		break;
	}
}

/* A flow whose end record was shed would stay forever: forget what the
 * flow cache no longer has and no worker has spoken of for a while. */
static void flows_forget_stale(struct daemon *d, __u64 now)
{
	struct workers *ws = d->workers;
	struct flow_info *fi, *tmp;
	struct fl_flow v;
	int fd;

	if (now < ws->next_forget_ms)
		return;
	ws->next_forget_ms = now + W_FLOW_FORGET_MS / 6;
	fd = bpf_object__find_map_fd_by_name(d->skel->obj,
					     FL_STRINGIFY(FL_MAP_FLOWS));
	if (fd < 0)
		return;
	HASH_ITER(hh, ws->flows, fi, tmp) {
		if (now - fi->updated_ms >= W_FLOW_FORGET_MS &&
		    bpf_map_lookup_elem(fd, &fi->key, &v))
			flow_forget(ws, fi);
	}
}

void workers_drain(struct daemon *d)
{
	struct workers *ws = d->workers;
	__u64 now = worker_now_ms(), count;
	int i;

	if (!ws)
		return;
	/* First the flags, then the rings: a worker that publishes after
	 * its ring was read here writes the eventfd again. */
	for (i = 0; i < ws->nr; i++)
		atomic_store(&ws->w[i].signalled, false);
	if (read(ws->event_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		pr_debug("workers: eventfd: %s", strerror(errno));
	for (i = 0; i < ws->nr; i++) {
		struct fl_spsc_ring *ring = ws->w[i].ring;
		const struct fl_worker_record *r;
		__u32 n = 0;

		/* at most a ring's worth: a busy worker cannot keep the
		 * control thread here; the rest is for the next drain */
		while (n++ <= ring->mask && (r = fl_spsc_ring_peek(ring))) {
			take_record(d, ws, r, now);
			fl_spsc_ring_release(ring);
		}
	}
	flows_forget_stale(d, now);
}

/* ---- the module ---- */

static void drain_ready(struct daemon *d, int fd, uint32_t events, void *arg)
{
	workers_drain(d);
}

static int workers_module_open(struct daemon *d)
{
	int err = workers_open(d), fd;

	if (err)
		return err;
	fd = workers_event_fd(d);
	if (fd >= 0)
		err = loop_add_fd(d, fd, EPOLLIN, drain_ready, NULL);
	if (err)
		pr_err("workers: cannot watch their rings: %s", strerror(-err));
	return err;
}

static void workers_module_close(struct daemon *d)
{
	int fd = workers_event_fd(d);

	if (fd >= 0)
		loop_del_fd(d, fd);
	workers_close(d);
}

const struct fl_module workers_module = {
	.name = "workers",
	.open = workers_module_open,
	.close = workers_module_close,
	.tick = workers_tick, /* a drain; per-app totals once a window */
	.commands = worker_commands,
};
