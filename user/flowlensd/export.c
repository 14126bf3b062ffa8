// SPDX-License-Identifier: Apache-2.0
/*
 * The export module: every flow of the XDP flow cache as IPFIX records
 * (user/lib/ipfix.h) to up to EXPORT_MAX collectors, each with its own
 * active and idle timeouts and observation domain.
 *
 * Its own thread reads FL_MAP_FLOWS once a second, EXPORT_BATCH entries
 * at a time, and keeps a shadow of each flow: what was last read, the
 * SNI and JA3 the workers found (their verdicts, from the event bus), and
 * per collector what its records have carried so far. A direction's
 * record leaves with the packets and bytes since the last one:
 *   FIN or RST seen, and a second with no packet   flowEndReason 3
 *   no packet for idle seconds                     1
 *   active seconds since the record before         2 (the flow goes on)
 *   the entry gone from the map before its last    5, counted as lost:
 *   record (the LRU evicted it)                       what the previous
 *                                                     read saw is sent
 *   the collector removed or flowlensd stopping    4
 * A flow that has ended and gets packets again starts a new record.
 * Nothing here touches the packet path, and a send never blocks (a
 * refused datagram's records are counted lost).
 *
 * Memory: the shadow holds sizeof(struct shadow) bytes per flow (384
 * with uthash's handle: shadow_bytes in the stats) while any collector is
 * configured, nothing otherwise. The SNI and JA3 of the flows the
 * workers classified are kept from their verdict to their end (struct
 * flow_meta), collector or not, for the flows that have them.
 *
 * EXPORT_FILE, next to the state file, keeps the collectors:
 *   {"format": "flowlens-export", "version": 1, "saved_at": ...,
 *    "collectors": [{"id", "type": "ipfix", "collector", "active",
 *                    "idle", "domain", "template_refresh"}]}
 * A request may set template_refresh (seconds, default
 * FL_IPFIX_TEMPLATE_REFRESH; flctl export add ... template-refresh S).
 */
#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include <ndpi_api.h>

#include "classify.h"
#include "daemon.h"
#include "export.h"
#include "ipfix.h"
#include "log.h"
#include "module.h"
#include "persist.h"
#include "flowlens.skel.h"

#define EXPORT_FILE "export.json"
#define EXPORT_MAX 4
#define EXPORT_BATCH 4096
#define EXPORT_SCAN_MS 1000
#define EXPORT_FIN_QUIET_NS 1000000000ULL /* after FIN/RST, before the record */
#define TCP_FIN 0x01
#define TCP_RST 0x04

static const struct fl_persist_format export_format = {
	.name = "flowlens-export",
	.version = 1,
};

struct collector {
	bool used;
	__u32 id;
	__u32 epoch; /* the shadow's per-collector state is this one's */
	char name[128]; /* as given: "HOST:PORT" */
	struct sockaddr_storage ss;
	socklen_t sslen;
	unsigned int active_s, idle_s;
	unsigned int template_s; /* the templates again every this often */
	__u32 domain;
	time_t added;
	__u64 start_ns; /* monotonic, when it was added: its records cover
			 * what flows did since */
	struct fl_ipfix ipfix;
	/* records by flowEndReason; flows lost (evicted before their last
	 * record) */
	__u64 records_by_end[FL_IPFIX_END_LACK + 1];
	__u64 flows_lost;
};

/* One flow's progress at one collector. */
struct flow_export {
	__u64 packets[2], bytes[2]; /* what its records carried so far */
	__u64 start_ns; /* where the next record starts (monotonic) */
	__u32 epoch; /* struct collector's: else this is stale, start over */
	__u8 ended; /* the last record was the flow's end */
};

struct shadow {
	struct fl_flow_key key;
	struct fl_flow last; /* the entry as the last read saw it */
	unsigned int gen; /* the read that saw it last */
	struct flow_export at[EXPORT_MAX];
	UT_hash_handle hh;
};

/*
 * The SNI and JA3 of a flow the workers classified, from their verdict on
 * the bus until its end there: kept whether a collector is configured or
 * not, so a flow classified before a collector was added still carries
 * them. Only flows with one of them have an entry.
 */
struct flow_meta {
	struct fl_flow_key key;
	char *sni, *ja3c, *ja3s; /* NULL: none */
	UT_hash_handle hh;
};
#define EXPORT_META_MAX (1u << 20)

struct export
{
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock; /* everything below */
	pthread_cond_t wake;
	bool stop;
	int map_fd;
	struct collector col[EXPORT_MAX];
	int nr_collectors;
	__u32 next_id, next_epoch;
	struct shadow *flows; /* HASH_COUNT(): the flows followed */
	struct flow_meta *meta;
	unsigned int gen;
	struct fl_cls *names; /* nDPI's names only */
	/* the reads */
	__u64 scans, scan_ns_last, scan_ns_max, flows_read;
	__u64 flows_evicted; /* gone between two reads: nothing else deletes */
	/*
	 * Flows the datapath created and evicted between two reads, which
	 * no read ever saw: the interfaces' flow_created since the first
	 * collector came (created_base, base_ns) less the flows reads found
	 * created since (new_seen). created_total is the control thread's
	 * (atomics, written without the lock, so a tick never waits)
	 * sum at its last tick.
	 */
	__u64 created_total, created_base, base_ns, new_seen;
	__u64 unseen_before, unseen; /* earlier exporting spells; this one */
	bool base_pending; /* created_base is taken at the next tick */
	char path[512];
};

static struct export *ex;

/* --- the shadow --- */

static void shadow_free(struct shadow *s)
{
	free(s);
}

static void meta_free(struct flow_meta *m)
{
	free(m->sni);
	free(m->ja3c);
	free(m->ja3s);
	free(m);
}

static void shadow_free_all(struct shadow *flows)
{
	struct shadow *s, *tmp;

	HASH_ITER(hh, flows, s, tmp) {
		HASH_DEL(flows, s);
		shadow_free(s);
	}
}

static void shadow_clear(struct export *e)
{
	shadow_free_all(e->flows);
	e->flows = NULL;
}

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

/* The workers' verdicts and flow ends (the control thread): the SNI and
 * JA3 of the flows they classified. */
static void on_flow(void *ctx, const struct fl_event *ev)
{
	struct export *e = ctx;
	const struct fl_flow_event *f = ev->flow;
	struct flow_meta *m = NULL;

	pthread_mutex_lock(&e->lock);
	HASH_FIND(hh, e->meta, &f->key, sizeof(f->key), m);
	if (ev->type == FL_EV_FLOW_ENDED) {
		if (m) {
			HASH_DEL(e->meta, m);
			meta_free(m);
		}
		goto out;
	}
	if (!*f->sni && !*f->ja3c && !*f->ja3s)
		goto out;
	if (!m) {
		if (HASH_COUNT(e->meta) >= EXPORT_META_MAX)
			goto out;
		m = calloc(1, sizeof(*m));
		if (!m)
			goto out;
		m->key = f->key;
		HASH_ADD(hh, e->meta, key, sizeof(m->key), m);
	}
	free(m->sni);
	free(m->ja3c);
	free(m->ja3s);
	m->sni = dup_or_null(f->sni);
	m->ja3c = dup_or_null(f->ja3c);
	m->ja3s = dup_or_null(f->ja3s);
out:
	pthread_mutex_unlock(&e->lock);
}

/* --- records --- */

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* UNIX milliseconds minus monotonic ones, now. */
static __s64 real_minus_mono_ms(void)
{
	struct timespec r, m;

	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC_COARSE, &m);
	return ((__s64)r.tv_sec - m.tv_sec) * 1000 +
	       ((__s64)r.tv_nsec - m.tv_nsec) / 1000000;
}

struct names {
	char app[64];
	const char *category;
	char risks[1024];
	__u16 score;
};

static void names_of(struct fl_cls *names, const struct fl_flow *f,
		     struct names *n)
{
	struct fl_cls_flow tmp = { .app = f->app, .master = f->master };
	u_int16_t client, server;

	n->app[0] = '\0';
	if (f->app || f->master)
		fl_cls_app_name(names, &tmp, n->app, sizeof(n->app));
	n->category = f->app || f->master ?
			      fl_cls_category_name(names, f->category) :
			      NULL;
	n->risks[0] = '\0';
	fl_cls_risk_names(f->risk, n->risks, sizeof(n->risks));
	n->score = f->risk ? ndpi_risk2score(f->risk, &client, &server) : 0;
}

int export_records(struct fl_ipfix *x, struct fl_cls *names,
		   const struct export_flow *ef, time_t now)
{
	const struct fl_flow_key *k = ef->key;
	const struct fl_flow *f = ef->f;
	struct fl_ipfix_flow r = {
		.family = k->family,
		.proto = k->proto,
		.tcp_flags = f->tcp_flags,
		.tos = f->dscp << 2,
		.end_reason = ef->reason,
		.vlan = f->vlan,
		.app = f->app,
		.master = f->master,
		.category = f->category,
		.risk = f->risk,
		.sni = ef->sni,
		.ja3c = ef->ja3c,
		.ja3s = ef->ja3s,
		.start_ms = ef->start_ms,
		.end_ms = ef->end_ms < ef->start_ms ? ef->start_ms : ef->end_ms,
	};
	bool lo_client = f->flags & FL_FLOW_F_LO_CLIENT;
	int dir, n = 0;
	struct names nm;

	names_of(names, f, &nm);
	r.app_name = nm.app;
	r.category_name = nm.category;
	r.risk_names = nm.risks;
	r.risk_score = nm.score;
	for (dir = 0; dir < 2; dir++) {
		__u64 p = f->packets[dir] - ef->sent_packets[dir];
		__u64 b = f->bytes[dir] - ef->sent_bytes[dir];

		if (!p)
			continue;
		if (dir == 0) {
			r.src = k->lo, r.dst = k->hi;
			r.sport = ntohs(k->lo_port),
			r.dport = ntohs(k->hi_port);
		} else {
			r.src = k->hi, r.dst = k->lo;
			r.sport = ntohs(k->hi_port),
			r.dport = ntohs(k->lo_port);
		}
		r.initiator = (dir == 0) == lo_client;
		/* the entry knows the interface of the packet that made it:
		 * the initiator's */
		r.in_if = r.initiator ? f->ifindex : 0;
		r.packets = p;
		/* octetDeltaCount counts IP bytes */
		r.bytes = b > p * ef->l2 ? b - p * ef->l2 : 0;
		fl_ipfix_add(x, &r, now);
		n++;
	}
	return n;
}

/* The flow's records to collector @c, and what they carried. */
static void emit(struct export *e, struct collector *c, const struct shadow *s,
		 const struct fl_flow *f, struct flow_export *fx, __u8 reason,
		 __s64 to_real, time_t now)
{
	struct flow_meta *m = NULL;
	struct export_flow ef = {
		.key = &s->key,
		.f = f,
		.sent_packets = fx->packets,
		.sent_bytes = fx->bytes,
		.start_ms = (__s64)(fx->start_ns / 1000000) + to_real,
		.end_ms = (__s64)(f->last_seen / 1000000) + to_real,
		/* the entry counts frames */
		.l2 = 14 + (f->vlan ? 4 : 0),
		.reason = reason,
	};

	HASH_FIND(hh, e->meta, &s->key, sizeof(s->key), m);
	if (m) {
		ef.sni = m->sni;
		ef.ja3c = m->ja3c;
		ef.ja3s = m->ja3s;
	}

	c->records_by_end[reason] +=
		export_records(&c->ipfix, e->names, &ef, now);
	memcpy(fx->packets, f->packets, sizeof(fx->packets));
	memcpy(fx->bytes, f->bytes, sizeof(fx->bytes));
	fx->start_ns = f->last_seen;
}

static bool has_news(const struct fl_flow *f, const struct flow_export *fx)
{
	return f->packets[0] != fx->packets[0] ||
	       f->packets[1] != fx->packets[1];
}

/* One flow just read, for collector @c. */
static void flow_at(struct export *e, struct collector *c, struct shadow *s,
		    const struct fl_flow *f, __u64 now_ns, __s64 to_real,
		    time_t now)
{
	struct flow_export *fx = &s->at[c - e->col];
	__u8 reason = 0;

	if (fx->epoch != c->epoch) {
		/* New to this collector: its records start when it was
		 * added, from what the read before saw if there was one. */
		const struct fl_flow *from = NULL;

		memset(fx, 0, sizeof(*fx));
		fx->epoch = c->epoch;
		fx->start_ns = f->first_seen;
		if (f->first_seen < c->start_ns)
			from = s->gen + 1 == e->gen && s->last.first_seen ==
							       f->first_seen ?
				       &s->last :
				       f;
		if (from) {
			memcpy(fx->packets, from->packets, sizeof(fx->packets));
			memcpy(fx->bytes, from->bytes, sizeof(fx->bytes));
			fx->start_ns = c->start_ns;
		}
	} else if (f->packets[0] < fx->packets[0] ||
		   f->packets[1] < fx->packets[1] ||
		   f->first_seen != s->last.first_seen) {
		/* a new entry under the same key */
		memset(fx->packets, 0, sizeof(fx->packets));
		memset(fx->bytes, 0, sizeof(fx->bytes));
		fx->start_ns = f->first_seen;
		fx->ended = 0;
	}
	if (!has_news(f, fx))
		return;
	if (fx->ended) {
		/* packets after its end: a new record from the last one */
		fx->ended = 0;
	}
	if ((f->tcp_flags & (TCP_FIN | TCP_RST)) &&
	    now_ns - f->last_seen >= EXPORT_FIN_QUIET_NS)
		reason = FL_IPFIX_END_FLOW;
	else if (now_ns - f->last_seen >= c->idle_s * 1000000000ULL)
		reason = FL_IPFIX_END_IDLE;
	else if (now_ns - fx->start_ns >= c->active_s * 1000000000ULL)
		reason = FL_IPFIX_END_ACTIVE;
	if (!reason)
		return;
	emit(e, c, s, f, fx, reason, to_real, now);
	fx->ended = reason != FL_IPFIX_END_ACTIVE;
}

/* A flow the read no longer found: what the one before saw is sent. */
static void flow_gone(struct export *e, struct shadow *s, __s64 to_real,
		      time_t now, __u8 reason)
{
	int i;

	for (i = 0; i < EXPORT_MAX; i++) {
		struct collector *c = &e->col[i];
		struct flow_export *fx = &s->at[i];

		if (!c->used || fx->epoch != c->epoch ||
		    !has_news(&s->last, fx))
			continue;
		emit(e, c, s, &s->last, fx, reason, to_real, now);
		if (reason == FL_IPFIX_END_LACK)
			c->flows_lost++;
	}
}

static void take_batch(struct export *e, const struct fl_flow_key *keys,
		       const struct fl_flow *vals, __u32 n, __u64 now_ns,
		       __s64 to_real, time_t now)
{
	struct shadow *s;
	__u32 i;
	int k;

	for (i = 0; i < n; i++) {
		s = NULL;
		HASH_FIND(hh, e->flows, &keys[i], sizeof(keys[i]), s);
		if (!s) {
			s = calloc(1, sizeof(*s));
			if (!s)
				continue;
			s->key = keys[i];
			s->last = vals[i];
			HASH_ADD(hh, e->flows, key, sizeof(s->key), s);
			if (vals[i].first_seen >= e->base_ns)
				e->new_seen++;
		} else if (vals[i].first_seen != s->last.first_seen &&
			   vals[i].first_seen >= e->base_ns) {
			e->new_seen++; /* a new entry under a known key */
		}
		for (k = 0; k < EXPORT_MAX; k++)
			if (e->col[k].used)
				flow_at(e, &e->col[k], s, &vals[i], now_ns,
					to_real, now);
		s->last = vals[i];
		s->gen = e->gen;
	}
}

/* One read of the whole map; the lock is held a batch at a time. */
static void scan(struct export *e)
{
	struct fl_flow_key *keys = NULL;
	struct fl_flow *vals = NULL;
	__u64 t0 = mono_ns(), now_ns, dt;
	struct shadow *s, *tmp;
	__u32 batch = 0, n;
	int err = ENOENT;
	__u64 created;
	__s64 unseen;
	bool first = true;
	__s64 to_real;
	time_t now;
	int ret, k;

	keys = calloc(EXPORT_BATCH, sizeof(*keys));
	vals = calloc(EXPORT_BATCH, sizeof(*vals));
	if (!keys || !vals)
		goto out;
	pthread_mutex_lock(&e->lock);
	e->gen++;
	created = __atomic_load_n(&e->created_total, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&e->lock);
	for (;;) {
		DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);

		n = EXPORT_BATCH;
		ret = bpf_map_lookup_batch(e->map_fd, first ? NULL : &batch,
					   &batch, keys, vals, &n, &opts);
		/* now: what follows may set errno (a failed send) */
		err = ret ? errno : 0;
		first = false;
		if (err && err != ENOENT)
			break;
		now_ns = mono_ns();
		to_real = real_minus_mono_ms();
		now = time(NULL);
		pthread_mutex_lock(&e->lock);
		take_batch(e, keys, vals, n, now_ns, to_real, now);
		e->flows_read += n;
		pthread_mutex_unlock(&e->lock);
		if (err) /* ENOENT: that was the last batch */
			break;
	}
	pthread_mutex_lock(&e->lock);
	to_real = real_minus_mono_ms();
	now = time(NULL);
	if (err == ENOENT) {
		/* the whole map was read: what it did not find is gone */
		HASH_ITER(hh, e->flows, s, tmp) {
			if (s->gen == e->gen)
				continue;
			flow_gone(e, s, to_real, now, FL_IPFIX_END_LACK);
			if (s->last.first_seen)
				e->flows_evicted++;
			HASH_DEL(e->flows, s);
			shadow_free(s);
		}
	}
	for (k = 0; k < EXPORT_MAX; k++)
		if (e->col[k].used)
			fl_ipfix_flush(&e->col[k].ipfix, now);
	/* created before this read began, and not found by any read: a flow
	 * created while it ran may be found and not yet counted created,
	 * hence the floor */
	unseen = (__s64)(created -
			 __atomic_load_n(&e->created_base, __ATOMIC_ACQUIRE)) -
		 (__s64)e->new_seen;
	if (!__atomic_load_n(&e->base_pending, __ATOMIC_ACQUIRE) &&
	    unseen > (__s64)e->unseen)
		e->unseen = unseen;
	dt = mono_ns() - t0;
	e->scans++;
	e->scan_ns_last = dt;
	if (dt > e->scan_ns_max)
		e->scan_ns_max = dt;
	pthread_mutex_unlock(&e->lock);
out:
	free(keys);
	free(vals);
}

static void *export_thread(void *arg)
{
	struct export *e = arg;
	struct timespec until;

	pthread_mutex_lock(&e->lock);
	while (!e->stop) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += EXPORT_SCAN_MS % 1000 * 1000000L;
		until.tv_sec +=
			EXPORT_SCAN_MS / 1000 + until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&e->wake, &e->lock, &until);
		if (e->stop)
			break;
		if (!e->nr_collectors) {
			/* detached under the lock, freed outside it */
			struct shadow *old = e->flows;

			e->flows = NULL;
			if (old) {
				pthread_mutex_unlock(&e->lock);
				shadow_free_all(old);
				pthread_mutex_lock(&e->lock);
			}
			continue;
		}
		pthread_mutex_unlock(&e->lock);
		scan(e);
		pthread_mutex_lock(&e->lock);
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

/* --- collectors --- */

/* Every flow's last records to @c (it goes, or flowlensd stops). */
static void collector_drain(struct export *e, struct collector *c)
{
	__s64 to_real = real_minus_mono_ms();
	time_t now = time(NULL);
	struct shadow *s, *tmp;
	struct flow_export *fx;

	HASH_ITER(hh, e->flows, s, tmp) {
		fx = &s->at[c - e->col];
		if (fx->epoch == c->epoch && has_news(&s->last, fx))
			emit(e, c, s, &s->last, fx, FL_IPFIX_END_FORCED,
			     to_real, now);
	}
	fl_ipfix_flush(&c->ipfix, now);
}

static int collector_start(struct export *e, struct collector *c, char *err,
			   size_t errlen)
{
	int ret = fl_ipfix_open(&c->ipfix, &c->ss, c->sslen, c->domain);

	if (ret) {
		snprintf(err, errlen, "collector %s: %s", c->name,
			 strerror(-ret));
		return ret;
	}
	c->ipfix.template_refresh = c->template_s;
	c->epoch = ++e->next_epoch;
	c->start_ns = mono_ns();
	c->used = true;
	if (!e->nr_collectors++) {
		/* a new exporting spell: the shadow starts empty */
		e->unseen_before += e->unseen;
		e->unseen = 0;
		e->base_ns = c->start_ns;
		__atomic_store_n(&e->base_pending, true, __ATOMIC_RELEASE);
		e->new_seen = 0;
	}
	/* the templates now: a collector learns them before any record */
	fl_ipfix_flush(&c->ipfix, time(NULL));
	return 0;
}

static void collector_stop(struct export *e, struct collector *c)
{
	collector_drain(e, c);
	fl_ipfix_close(&c->ipfix);
	memset(c, 0, sizeof(*c));
	e->nr_collectors--;
}

static struct json_object *collector_json(const struct collector *c, bool stats)
{
	static const char *const end_names[] = {
		[FL_IPFIX_END_IDLE] = "idle",
		[FL_IPFIX_END_ACTIVE] = "active",
		[FL_IPFIX_END_FLOW] = "end",
		[FL_IPFIX_END_FORCED] = "forced",
		[FL_IPFIX_END_LACK] = "evicted",
	};
	struct json_object *o = json_object_new_object(), *by;
	const struct fl_ipfix_stats *st = &c->ipfix.stats;
	int i;

	json_object_object_add(o, "id", json_object_new_int64(c->id));
	json_object_object_add(o, "type", json_object_new_string("ipfix"));
	json_object_object_add(o, "collector", json_object_new_string(c->name));
	json_object_object_add(o, "active", json_object_new_int(c->active_s));
	json_object_object_add(o, "idle", json_object_new_int(c->idle_s));
	json_object_object_add(o, "domain", json_object_new_int64(c->domain));
	json_object_object_add(o, "template_refresh",
			       json_object_new_int(c->template_s));
	if (!stats)
		return o;
	json_object_object_add(o, "added", json_object_new_int64(c->added));
	json_object_object_add(o, "messages",
			       json_object_new_uint64(st->messages));
	json_object_object_add(o, "records",
			       json_object_new_uint64(st->records));
	json_object_object_add(o, "bytes", json_object_new_uint64(st->bytes));
	json_object_object_add(o, "templates",
			       json_object_new_uint64(st->templates));
	json_object_object_add(o, "records_lost",
			       json_object_new_uint64(st->lost_records));
	json_object_object_add(o, "send_errors",
			       json_object_new_uint64(st->send_errors));
	json_object_object_add(
		o, "last_error",
		json_object_new_string(
			st->last_errno ? strerror(st->last_errno) : ""));
	json_object_object_add(o, "flows_lost",
			       json_object_new_uint64(c->flows_lost));
	json_object_object_add(o, "sequence",
			       json_object_new_uint64(c->ipfix.sequence));
	by = json_object_new_object();
	for (i = 1; i <= FL_IPFIX_END_LACK; i++)
		json_object_object_add(
			by, end_names[i],
			json_object_new_uint64(c->records_by_end[i]));
	json_object_object_add(o, "records_by_reason", by);
	return o;
}

/* --- the file --- */

static int export_fill(struct json_object *root, void *arg)
{
	struct export *e = arg;
	struct json_object *list = json_object_new_array();
	int i;

	for (i = 0; i < EXPORT_MAX; i++)
		if (e->col[i].used)
			json_object_array_add(list, collector_json(&e->col[i],
								   false));
	json_object_object_add(root, "collectors", list);
	return 0;
}

static int export_save(struct daemon *d)
{
	int ret;

	if (!ex)
		return 0;
	pthread_mutex_lock(&ex->lock);
	ret = fl_persist_save(ex->path, &export_format, export_fill, ex);
	pthread_mutex_unlock(&ex->lock);
	return ret;
}

/* A collector from a request or the file: "collector", "active", "idle",
 * "domain", "template_refresh". */
static int collector_from_json(struct json_object *o, struct collector *c,
			       char *err, size_t errlen)
{
	static const struct {
		const char *key;
		long min, max, def;
	} nums[] = {
		{ "active", 1, 86400, FL_EXPORT_ACTIVE_DEFAULT },
		{ "idle", 1, 86400, FL_EXPORT_IDLE_DEFAULT },
		{ "domain", 0, 0xffffffffL, 0 },
		{ "template_refresh", 1, 86400, FL_IPFIX_TEMPLATE_REFRESH },
	};
	struct json_object *v;
	const char *name;
	long value[sizeof(nums) / sizeof(nums[0])];
	size_t i;
	int ret;

	memset(c, 0, sizeof(*c));
	if (json_object_object_get_ex(o, "type", &v) &&
	    strcmp(json_object_get_string(v), "ipfix")) {
		snprintf(err, errlen,
			 "export type '%s' is not known (only ipfix)",
			 json_object_get_string(v));
		return -EINVAL;
	}
	if (!json_object_object_get_ex(o, "collector", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "\"collector\" (HOST:PORT) is missing");
		return -EINVAL;
	}
	name = json_object_get_string(v);
	ret = fl_ipfix_parse_collector(name, &c->ss, &c->sslen, err, errlen);
	if (ret)
		return ret;
	snprintf(c->name, sizeof(c->name), "%s", name);
	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		value[i] = nums[i].def;
		if (!json_object_object_get_ex(o, nums[i].key, &v))
			continue;
		errno = 0;
		value[i] = json_object_get_int64(v);
		if (!json_object_is_type(v, json_type_int) ||
		    value[i] < nums[i].min || value[i] > nums[i].max) {
			snprintf(err, errlen,
				 "\"%s\" must be a number from %ld to %ld",
				 nums[i].key, nums[i].min, nums[i].max);
			return -EINVAL;
		}
	}
	c->active_s = value[0];
	c->idle_s = value[1];
	c->domain = value[2];
	c->template_s = value[3];
	return 0;
}

static struct collector *collector_slot(struct export *e)
{
	int i;

	for (i = 0; i < EXPORT_MAX; i++)
		if (!e->col[i].used)
			return &e->col[i];
	return NULL;
}

static void export_load(struct daemon *d, struct export *e)
{
	struct json_object *root, *list, *o, *v;
	struct collector c, *slot;
	char err[512];
	int ret, version;
	size_t i, n;

	ret = fl_persist_load(e->path, &export_format, &root, &version, err,
			      sizeof(err));
	if (ret == -ENOENT)
		return;
	if (ret) {
		pr_warn("export: %s; no collectors restored", err);
		return;
	}
	if (json_object_object_get_ex(root, "collectors", &list) &&
	    json_object_is_type(list, json_type_array)) {
		n = json_object_array_length(list);
		for (i = 0; i < n; i++) {
			o = json_object_array_get_idx(list, i);
			slot = collector_slot(e);
			if (!slot) {
				pr_warn("%s: more than %d collectors; the rest are not restored",
					e->path, EXPORT_MAX);
				break;
			}
			if (collector_from_json(o, &c, err, sizeof(err))) {
				pr_warn("%s: collector %zu: %s", e->path, i,
					err);
				continue;
			}
			if (json_object_object_get_ex(o, "id", &v))
				c.id = json_object_get_int64(v);
			if (!c.id)
				c.id = e->next_id + 1;
			if (c.id > e->next_id)
				e->next_id = c.id;
			c.added = time(NULL);
			*slot = c;
			if (collector_start(e, slot, err, sizeof(err))) {
				pr_warn("export: %s", err);
				memset(slot, 0, sizeof(*slot));
				continue;
			}
			pr_info("export: IPFIX to %s (id %u) restored",
				slot->name, slot->id);
		}
	}
	json_object_put(root);
}

/* --- commands --- */

static int need_export(char *err, size_t errlen)
{
	if (ex)
		return 0;
	snprintf(err, errlen, "flow export is not available (see the log)");
	return -ENODEV;
}

static int cmd_export_add(struct daemon *d, struct json_object *req,
			  struct json_object **data, char *err, size_t errlen)
{
	struct collector c, *slot;
	int ret, i;

	ret = need_export(err, errlen) ?:
		      collector_from_json(req, &c, err, errlen);
	if (ret)
		return ret;
	pthread_mutex_lock(&ex->lock);
	for (i = 0; i < EXPORT_MAX; i++)
		if (ex->col[i].used && !strcmp(ex->col[i].name, c.name)) {
			snprintf(
				err, errlen,
				"%s is already a collector (id %u): delete it first",
				c.name, ex->col[i].id);
			ret = -EEXIST;
			goto out;
		}
	slot = collector_slot(ex);
	if (!slot) {
		snprintf(err, errlen,
			 "already %d collectors, the most there can be",
			 EXPORT_MAX);
		ret = -ENOSPC;
		goto out;
	}
	c.id = ++ex->next_id;
	c.added = time(NULL);
	*slot = c;
	ret = collector_start(ex, slot, err, errlen);
	if (ret) {
		memset(slot, 0, sizeof(*slot));
		goto out;
	}
	*data = json_object_new_object();
	json_object_object_add(*data, "collector", collector_json(slot, false));
	{
		struct fl_config cfg;

		if (!settings_read(d, &cfg) &&
		    (cfg.escalate_flags & FL_ESCALATE_F_OFF))
			json_object_object_add(
				*data, "warning",
				json_object_new_string(
					"the flow cache is off (flowlensd --workers 0): no flow will be exported until it runs with workers"));
	}
out:
	pthread_mutex_unlock(&ex->lock);
	if (!ret) {
		pthread_cond_signal(&ex->wake);
		export_save(d);
	}
	return ret;
}

static int cmd_export_del(struct daemon *d, struct json_object *req,
			  struct json_object **data, char *err, size_t errlen)
{
	struct json_object *v;
	const char *which;
	int ret, i;
	char *end;
	long id;

	ret = need_export(err, errlen);
	if (ret)
		return ret;
	if (!json_object_object_get_ex(req, "collector", &v)) {
		snprintf(err, errlen,
			 "\"collector\" (an ID or HOST:PORT) is missing");
		return -EINVAL;
	}
	which = json_object_get_string(v);
	id = strtol(which, &end, 10);
	if (*end)
		id = -1;
	pthread_mutex_lock(&ex->lock);
	for (i = 0; i < EXPORT_MAX; i++)
		if (ex->col[i].used &&
		    (ex->col[i].id == id || !strcmp(ex->col[i].name, which)))
			break;
	if (i == EXPORT_MAX) {
		pthread_mutex_unlock(&ex->lock);
		snprintf(err, errlen,
			 "no collector %s (see 'flctl export list')", which);
		return -ENOENT;
	}
	*data = json_object_new_object();
	json_object_object_add(*data, "collector",
			       collector_json(&ex->col[i], true));
	collector_stop(ex, &ex->col[i]);
	pthread_mutex_unlock(&ex->lock);
	export_save(d);
	return 0;
}

static struct json_object *export_json(bool stats)
{
	struct json_object *o = json_object_new_object(), *list;
	int i;

	list = json_object_new_array();
	for (i = 0; i < EXPORT_MAX; i++)
		if (ex->col[i].used)
			json_object_array_add(list, collector_json(&ex->col[i],
								   stats));
	json_object_object_add(o, "collectors", list);
	if (!stats)
		return o;
	json_object_object_add(o, "flows",
			       json_object_new_uint64(HASH_COUNT(ex->flows)));
	json_object_object_add(o, "flows_evicted",
			       json_object_new_uint64(ex->flows_evicted));
	json_object_object_add(o, "flows_unseen",
			       json_object_new_uint64(ex->unseen_before +
						      ex->unseen));
	json_object_object_add(
		o, "shadow_bytes",
		json_object_new_uint64(HASH_COUNT(ex->flows) *
				       sizeof(struct shadow)));
	json_object_object_add(o, "reads", json_object_new_uint64(ex->scans));
	json_object_object_add(o, "flows_read",
			       json_object_new_uint64(ex->flows_read));
	json_object_object_add(o, "read_seconds_last",
			       json_object_new_double(ex->scan_ns_last / 1e9));
	json_object_object_add(o, "read_seconds_max",
			       json_object_new_double(ex->scan_ns_max / 1e9));
	return o;
}

/* export-list and export-stats: the same reply, with the counters or
 * without them. */
static int export_reply(bool stats, struct json_object **data, char *err,
			size_t errlen)
{
	int ret = need_export(err, errlen);

	if (ret)
		return ret;
	pthread_mutex_lock(&ex->lock);
	*data = export_json(stats);
	pthread_mutex_unlock(&ex->lock);
	return 0;
}

static int cmd_export_list(struct daemon *d, struct json_object *req,
			   struct json_object **data, char *err, size_t errlen)
{
	return export_reply(false, data, err, errlen);
}

static int cmd_export_stats(struct daemon *d, struct json_object *req,
			    struct json_object **data, char *err, size_t errlen)
{
	return export_reply(true, data, err, errlen);
}

static const struct command export_commands[] = {
	{ "export-add", cmd_export_add },
	{ "export-del", cmd_export_del },
	{ "export-list", cmd_export_list },
	{ "export-stats", cmd_export_stats },
	{ "export", cmd_export_stats }, /* flctl show export */
	{},
};

/* --- the module --- */

/* The interfaces' flows created, for the flows no read saw. */
static void export_tick(struct daemon *d)
{
	__u64 created = 0;
	int i;

	if (!ex)
		return;
	for (i = 0; i < d->nr_ifaces; i++)
		created += d->ifaces[i].now.flow.flow_created;
	/* no lock: a tick never waits for the export thread */
	__atomic_store_n(&ex->created_total, created, __ATOMIC_RELAXED);
	if (__atomic_load_n(&ex->base_pending, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&ex->created_base, created, __ATOMIC_RELAXED);
		__atomic_store_n(&ex->base_pending, false, __ATOMIC_RELEASE);
	}
}

static int export_open(struct daemon *d)
{
	struct bpf_map *map;
	char *copy;
	int ret;

	map = bpf_object__find_map_by_name(d->skel->obj,
					   FL_STRINGIFY(FL_MAP_FLOWS));
	if (!map) {
		pr_warn("export: the BPF object has no %s map: no flow export",
			FL_STRINGIFY(FL_MAP_FLOWS));
		return 0;
	}
	ex = calloc(1, sizeof(*ex));
	if (!ex)
		return -ENOMEM;
	pthread_mutex_init(&ex->lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&ex->wake, &ca);
		pthread_condattr_destroy(&ca);
	}
	ex->map_fd = bpf_map__fd(map);
	copy = strdup(d->opt.state_path);
	snprintf(ex->path, sizeof(ex->path), "%s/" EXPORT_FILE,
		 copy ? dirname(copy) : ".");
	free(copy);
	ex->names = fl_cls_new(&(struct fl_cls_opts){ .max_flows = 1 });
	if (!ex->names) {
		pr_warn("export: nDPI did not start: no flow export");
		free(ex);
		ex = NULL;
		return 0;
	}
	export_load(d, ex);
	ret = bus_subscribe(d, "export", FL_EV_FLOW_ANY, on_flow, ex);
	if (ret)
		return ret;
	ret = pthread_create(&ex->thread, NULL, export_thread, ex);
	if (ret)
		return -ret;
	ex->thread_started = true;
	return 0;
}

static void export_close(struct daemon *d)
{
	int i;

	if (!ex)
		return;
	bus_unsubscribe(d, on_flow, ex);
	if (ex->thread_started) {
		pthread_mutex_lock(&ex->lock);
		ex->stop = true;
		pthread_mutex_unlock(&ex->lock);
		pthread_cond_signal(&ex->wake);
		pthread_join(ex->thread, NULL);
	}
	export_save(d);
	/* what each collector has not had yet leaves now, as a last read
	 * finds it */
	if (ex->nr_collectors)
		scan(ex);
	for (i = 0; i < EXPORT_MAX; i++)
		if (ex->col[i].used) {
			collector_drain(ex, &ex->col[i]);
			fl_ipfix_close(&ex->col[i].ipfix);
		}
	shadow_clear(ex);
	{
		struct flow_meta *m, *tmp;

		HASH_ITER(hh, ex->meta, m, tmp) {
			HASH_DEL(ex->meta, m);
			meta_free(m);
		}
	}
	if (ex->names)
		fl_cls_free(ex->names);
	pthread_cond_destroy(&ex->wake);
	pthread_mutex_destroy(&ex->lock);
	free(ex);
	ex = NULL;
}

const struct fl_module export_module = {
	.name = "export",
	.open = export_open,
	.close = export_close,
	.tick = export_tick,
	.tick_every = 1,
	.save = export_save,
	.commands = export_commands,
};
