// SPDX-License-Identifier: Apache-2.0
/*
 * The VoIP engine: SIP floods, per method, judged on what XDP counts.
 *
 * The datapath (bpf/voip.h) counts every SIP-port packet by method, and
 * for a prefix under a threshold, exactly per protected host and per
 * sender that sends it enough to matter. Every tick this module reads
 * those entries, keeps their per-second rates over the last second (the
 * same sliding window as the DDoS engine's, rates.c) and judges them:
 *
 *   a source over a method's `pps`: an attack on the DDoS engine's books
 *     (FL_DDOS_SRC), mitigated by rules for that source towards the prefix
 *     on the SIP ports: its other traffic, and everyone else, untouched;
 *   a host receiving a method over its `total` from many sources, each
 *     under its own limit: an attack (FL_DDOS_DST) mitigated by a method
 *     limiter in XDP, that method to that host held to `total`, which
 *     carriers skip (they are allowlisted, and allowlisted sources skip
 *     every mitigation stage).
 *
 * RTP is judged on what the workers count (worker_voip.c): per source,
 * every RTP packet it sends towards a protected prefix, and those of them
 * no live dialog's SDP negotiated. A source over the prefix's `rtp pps`
 * (a burst) or `unsolicited pps` is an attack too, mitigated by rules for
 * that source's UDP towards the prefix on its streams' ports. The workers
 * see what the escalation cap lets through: a burst is measured up to it.
 *
 * A carrier (`voip carrier add`) is allowlisted in the DDoS engine's tries
 * with a counter of its own, and is never named in an automatic rule. The
 * attacks then live as the DDoS engine's do: events, history, hold,
 * FlowSpec announcements of their rules; this module keeps their
 * last_above_ns while they stay above, and removes a limiter when its
 * attack ends. Everything is kept in voip.json next to the state file.
 *
 * It also says when the workers track calls (worker_voip.c: dialogs by
 * Call-ID, RTP streams, unsolicited media): `voip tracking on|off`, or
 * by default (auto) while a threshold, a carrier or a HEP collector
 * exists; the voip calls and voip streams commands are the workers'.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "commands.h"
#include "daemon.h"
#include "ddos.h"
#include "hep.h"
#include "log.h"
#include "module.h"
#include "persist.h"
#include "units.h"
#include "voip.h"
#include "workers.h"
#include "flowlens.skel.h"

#define VOIP_FILE "voip.json"
#define VOIP_THRESHOLDS_MAX 1024
#define VOIP_WORDS_MAX 16
#define VOIP_TOTAL_FACTOR 10 /* default per-host total: 10 x pps */
#define VOIP_HYSTERESIS 0.9 /* as the DDoS engine's */
#define VOIP_LIMIT_BURST_S 0.2 /* a limiter's burst: 200 ms of its rate */
#define NSEC_PER_S 1000000000ULL

static const char *const method_names[VOIP_KINDS] = {
#define FL_X_SIP(id, name, wire) name,
	FL_SIP_METHODS(FL_X_SIP)
#undef FL_X_SIP
		[VOIP_RTP] = "rtp",
	[VOIP_UNSOLICITED] = "unsolicited",
};
static const char *const kind_names[FL_SIP_KINDS] = {
#define FL_X_SIP(id, name, wire) name,
	FL_SIP_METHODS(FL_X_SIP)
#undef FL_X_SIP
		"1xx",
	"2xx",
	"3xx",
	"4xx",
	"5xx",
	"6xx",
	"other",
};

/* Dialog and RTP tracking in the workers (voip tracking). */
enum voip_tracking { VOIP_TRACKING_AUTO, VOIP_TRACKING_ON, VOIP_TRACKING_OFF };
static const char *const tracking_names[] = { "auto", "on", "off" };

struct voip_threshold {
	struct fl_prefix prefix;
	int method; /* a SIP method, VOIP_RTP or VOIP_UNSOLICITED */
	__u64 pps; /* per source */
	__u64 total; /* per host, from every source together (SIP only) */
	__u8 action; /* FL_RULE_DROP or FL_RULE_RATE_LIMIT (per source) */
	__u64 rate; /* rate-limit: packets/s */
	__u32 hold;
};

struct voip_carrier {
	struct fl_prefix prefix;
	char name[48];
	__u32 slot; /* its counter in FL_MAP_ALLOW_HITS, 1.. */
};

/* RTP from one source towards a protected prefix (the workers'), and
 * its rates: [0] every RTP packet, [1] the unsolicited ones. */
struct rtp_entry {
	struct workers_rtp_source key;
	__u64 pending[2]; /* drained this tick */
	__u64 packets[2]; /* since it was made */
	__u32 delta[FL_RATE_SLOTS][2];
	__u64 window[2];
	double rate[2];
	bool above[2];
	__u32 attack[2];
	__u64 dropped[2]; /* by its attack's rules, at the last tick */
	UT_hash_handle hh;
};

#define VOIP_RTP_ENTRIES_MAX 65536

/* One SIP entry of the datapath, and its rates. */
struct sip_entry {
	struct fl_sip_key key;
	__u64 count[FL_SIP_KINDS]; /* totals at the last read */
	__u32 delta[FL_RATE_SLOTS][FL_SIP_KINDS];
	__u64 window[FL_SIP_KINDS];
	double rate[FL_SIP_KINDS];
	bool above[FL_SIP_METHOD_COUNT];
	__u32 attack[FL_SIP_METHOD_COUNT]; /* its live attack's id, 0 none */
	unsigned int seen; /* the read that last found it */
	UT_hash_handle hh;
};

struct voip {
	struct daemon *d;
	bool ports_set; /* set by the operator: counting is on */
	struct voip_carrier carriers[FL_CARRIERS_MAX];
	struct fl_prefix carrier_prefixes[FL_CARRIERS_MAX]; /* for ddos */
	int nr_carriers;
	struct voip_threshold thresholds[VOIP_THRESHOLDS_MAX];
	int nr_thresholds;
	/* slot -> prefix (FL_MAP_VOIP4/6 values); len 0 family 0: free */
	struct fl_prefix slots[FL_VOIP_PREFIXES_MAX];
	/* [slot][method] -> its threshold, rebuilt on every change */
	struct voip_threshold *(*by_slot)[VOIP_KINDS];
	struct sip_entry *entries;
	size_t nr_entries;
	struct rtp_entry *rtp; /* the workers' RTP sources */
	size_t nr_rtp;
	__u64 rtp_lost; /* sources drained with no room to judge them */
	unsigned int reads;
	bool primed; /* the first read after start took the counts as they
			were: a restart is not a burst */
	bool on; /* fl_config.voip */
	struct fl_sip_stats *percpu;
	__u64 attacks; /* opened since start */
	int tracking; /* enum voip_tracking: what the operator said */
	char path[512];
};

const char *voip_method_name(int method)
{
	return method >= 0 && method < VOIP_KINDS ? method_names[method] : "?";
}

int voip_method_parse(const char *name)
{
	int i;

	for (i = 0; i < VOIP_KINDS; i++)
		if (!strcasecmp(name, method_names[i]))
			return i;
	return -1;
}

static int prefix_eq(const struct fl_prefix *a, const struct fl_prefix *b)
{
	return a->family == b->family && a->len == b->len &&
	       !memcmp(&a->addr, &b->addr, sizeof(a->addr));
}

static const char *pfx_text(const struct fl_prefix *p, char *buf, size_t len)
{
	return fl_prefix_format(p, buf, len);
}

/* ---- the datapath's side ---- */

static int tracking_apply(struct daemon *d);

static int conf_write(struct daemon *d)
{
	struct voip *v = d->voip;
	struct fl_voip_conf conf = {};
	struct fl_config cfg;
	__u32 key = 0, min = 0;
	int i, err;

	tracking_apply(d); /* thresholds or carriers changed */

	memcpy(conf.ports, d->sip_ports, sizeof(conf.ports));
	/* a sender gets exact counters at a quarter of the smallest
	 * per-source limit, per CPU and epoch: well before it crosses */
	for (i = 0; i < v->nr_thresholds; i++)
		if (!voip_is_media(v->thresholds[i].method) &&
		    (!min || v->thresholds[i].pps < min))
			min = v->thresholds[i].pps;
	conf.heavy_packets = min / 4 / (d->ncpus ?: 1) ?: 1;
	err = settings_read(d, &cfg);
	if (err)
		return err;
	conf.hash_seed = cfg.hash_seed ^ 0x5151515151515151ULL;
	if (bpf_map__update_elem(d->skel->maps.FL_MAP_VOIP_CONF, &key,
				 sizeof(key), &conf, sizeof(conf), 0))
		return -errno;
	v->on = v->ports_set || v->nr_thresholds || v->nr_carriers;
	if (!!cfg.voip == v->on)
		return 0;
	cfg.voip = v->on;
	return settings_write(d, &cfg);
}

static int lpm_update(struct daemon *d, struct bpf_map *m4, struct bpf_map *m6,
		      const struct fl_prefix *p, const void *value,
		      size_t value_size)
{
	struct bpf_map *map = p->family == AF_INET ? m4 : m6;
	struct fl_lpm6_key key = { .prefixlen = p->len };
	size_t key_size = bpf_map__key_size(map);
	int err;

	memcpy(key.addr, p->addr.b, key_size - sizeof(key.prefixlen));
	if (value)
		err = bpf_map__update_elem(map, &key, key_size, value,
					   value_size, 0);
	else
		err = bpf_map__delete_elem(map, &key, key_size, 0);
	return err && !(errno == ENOENT && !value) ? -errno : 0;
}

static int slot_of(struct voip *v, const struct fl_prefix *p)
{
	int i;

	for (i = 0; i < FL_VOIP_PREFIXES_MAX; i++)
		if (v->slots[i].family && prefix_eq(&v->slots[i], p))
			return i;
	return -1;
}

/* The prefixes with a threshold into the tries, each with a slot; a slot
 * keeps its number while its prefix has thresholds (entries are keyed
 * by it). Rebuilds the [slot][method] table. */
static int prefixes_sync(struct daemon *d)
{
	struct voip *v = d->voip;
	struct fl_voip_prefix val;
	bool used[FL_VOIP_PREFIXES_MAX] = { false };
	int i, s, err;

	memset(v->by_slot, 0,
	       sizeof(*v->by_slot) * (size_t)FL_VOIP_PREFIXES_MAX);
	for (i = 0; i < v->nr_thresholds; i++) {
		struct voip_threshold *t = &v->thresholds[i];

		s = slot_of(v, &t->prefix);
		if (s < 0) {
			for (s = 0;
			     s < FL_VOIP_PREFIXES_MAX && v->slots[s].family;
			     s++)
				;
			if (s == FL_VOIP_PREFIXES_MAX)
				return -ENOSPC;
			v->slots[s] = t->prefix;
			val.slot = s;
			err = lpm_update(d, d->skel->maps.FL_MAP_VOIP4,
					 d->skel->maps.FL_MAP_VOIP6, &t->prefix,
					 &val, sizeof(val));
			if (err)
				return err;
		}
		used[s] = true;
		v->by_slot[s][t->method] = t;
	}
	for (s = 0; s < FL_VOIP_PREFIXES_MAX; s++) {
		if (!v->slots[s].family || used[s])
			continue;
		lpm_update(d, d->skel->maps.FL_MAP_VOIP4,
			   d->skel->maps.FL_MAP_VOIP6, &v->slots[s], NULL, 0);
		memset(&v->slots[s], 0, sizeof(v->slots[s]));
	}
	workers_voip_prefixes_changed(d);
	return 0;
}

static int carrier_map(struct daemon *d, const struct voip_carrier *c, bool add)
{
	struct fl_allow val = { .carrier = c->slot };
	__u64 zero[d->ncpus];
	int err;

	if (add) {
		/* a slot used before starts from 0 */
		memset(zero, 0, sizeof(zero));
		bpf_map__update_elem(d->skel->maps.FL_MAP_ALLOW_HITS, &c->slot,
				     sizeof(c->slot), zero, sizeof(zero), 0);
	}
	err = lpm_update(d, d->skel->maps.FL_MAP_ALLOW4,
			 d->skel->maps.FL_MAP_ALLOW6, &c->prefix,
			 add ? &val : NULL, sizeof(val));
	return err;
}

static int carriers_publish(struct daemon *d)
{
	struct voip *v = d->voip;
	int i;

	for (i = 0; i < v->nr_carriers; i++)
		v->carrier_prefixes[i] = v->carriers[i].prefix;
	return ddos_carriers_set(d, v->carrier_prefixes, v->nr_carriers);
}

static __u64 carrier_hits(struct daemon *d, const struct voip_carrier *c)
{
	__u64 hits[d->ncpus], sum = 0;
	int cpu;

	if (bpf_map__lookup_elem(d->skel->maps.FL_MAP_ALLOW_HITS, &c->slot,
				 sizeof(c->slot), hits, sizeof(hits), 0))
		return 0;
	for (cpu = 0; cpu < d->ncpus; cpu++)
		sum += hits[cpu];
	return sum;
}

static void limit_key(const struct ddos_attack *a, struct fl_sip_limit_key *k)
{
	memset(k, 0, sizeof(*k));
	k->addr = a->victim.addr;
	k->family = a->victim.family == AF_INET6 ? 6 : 4;
	k->method = a->sip_method;
}

int voip_limiter_counters(struct daemon *d, const struct ddos_attack *a,
			  __u64 *passed, __u64 *dropped)
{
	struct fl_sip_limit_key k;
	struct fl_sip_limit lim;

	limit_key(a, &k);
	if (bpf_map__lookup_elem(d->skel->maps.FL_MAP_SIP_LIMIT, &k, sizeof(k),
				 &lim, sizeof(lim), 0) ||
	    lim.attack != a->id)
		return -ENOENT;
	*passed = lim.passed;
	*dropped = lim.dropped;
	return 0;
}

static int limiter_install(struct daemon *d, const struct ddos_attack *a,
			   __u64 rate)
{
	struct fl_sip_limit_key k;
	struct fl_sip_limit lim = {};

	limit_key(a, &k);
	lim.cost = NSEC_PER_S / (rate ?: 1);
	lim.depth = (__u64)(VOIP_LIMIT_BURST_S * NSEC_PER_S);
	if (lim.depth < lim.cost)
		lim.depth = lim.cost;
	lim.attack = a->id;
	return bpf_map__update_elem(d->skel->maps.FL_MAP_SIP_LIMIT, &k,
				    sizeof(k), &lim, sizeof(lim), 0) ?
		       -errno :
		       0;
}

/* ---- call tracking in the workers ---- */

static int voip_save(struct daemon *d);

/* What the operator said, or (auto) while a threshold, a carrier or a
 * HEP collector exists: anything that wants the workers to see calls. */
static bool tracking_wanted(struct daemon *d)
{
	struct voip *v = d->voip;

	if (v->tracking != VOIP_TRACKING_AUTO)
		return v->tracking == VOIP_TRACKING_ON;
	return v->nr_thresholds || v->nr_carriers || (d->hep && hep_wanted(d));
}

/* Called every tick (HEP collectors come and go without telling this
 * module) and after every change: a no-op unless the answer changed. */
static int tracking_apply(struct daemon *d)
{
	bool on = tracking_wanted(d);
	int err;

	if (on == voip_calls_wanted(d))
		return 0;
	err = settings_voip_want(d, VOIP_WANT_CALLS, on);
	if (err)
		pr_warn("voip: cannot switch call tracking %s: %s",
			on ? "on" : "off", strerror(-err));
	else
		pr_info("voip: call tracking in the workers %s",
			on ? "on" : "off");
	return err;
}

static int cmd_tracking(struct daemon *d, struct json_object *req,
			struct json_object **data, char *err, size_t errlen)
{
	struct voip *v = d->voip;
	int nw, ret, i, old = v->tracking;
	char *w[2];

	nw = command_words(req, w, 2, err, errlen);
	if (nw < 0)
		return nw;
	if (nw > 1) {
		snprintf(err, errlen, "needs on, off or auto (or nothing)");
		return -EINVAL;
	}
	if (nw == 1) {
		for (i = 0; i < 3 && strcmp(w[0], tracking_names[i]); i++)
			;
		if (i == 3) {
			snprintf(err, errlen,
				 "expected on, off or auto, got '%s'", w[0]);
			return -EINVAL;
		}
		v->tracking = i;
		ret = tracking_apply(d);
		if (ret) {
			v->tracking = old;
			snprintf(err, errlen, "cannot switch call tracking: %s",
				 strerror(-ret));
			return ret;
		}
		voip_save(d);
	}
	*data = json_object_new_object();
	json_object_object_add(
		*data, "tracking",
		json_object_new_string(tracking_names[v->tracking]));
	json_object_object_add(*data, "active",
			       json_object_new_boolean(voip_calls_wanted(d)));
	return 0;
}

/* ---- the tick ---- */

static void entry_age(struct daemon *d, struct sip_entry *e, const __u64 *sum)
{
	int k;

	for (k = 0; k < FL_SIP_KINDS; k++) {
		__u64 delta = 0;

		if (sum) {
			/* a smaller count: evicted and made again */
			delta = sum[k] >= e->count[k] ? sum[k] - e->count[k] :
							sum[k];
			e->count[k] = sum[k];
		}
		if (delta > 0xffffffffULL)
			delta = 0xffffffffULL;
		e->window[k] += delta - e->delta[d->slot][k];
		e->delta[d->slot][k] = delta;
		e->rate[k] = d->interval > 0 ? e->window[k] / d->interval : 0;
	}
}

static bool entry_idle(const struct sip_entry *e)
{
	int k;

	for (k = 0; k < FL_SIP_KINDS; k++)
		if (e->window[k])
			return false;
	for (k = 0; k < FL_SIP_METHOD_COUNT; k++)
		if (e->attack[k])
			return false;
	return true;
}

/*
 * Opens an attack on the DDoS engine's books: method @m (or RTP) from
 * @addr, a source, or towards it, a @host, at @rate over @limit; a host's
 * gets a method limiter, a source's rules (for RTP, on @ports). Its id,
 * or 0.
 */
static __u32 attack_open(struct daemon *d, const struct voip_threshold *t,
			 int m, bool host, __u8 family,
			 const union fl_addr *addr, double rate, __u64 limit,
			 const __u16 *ports, int nr_ports)
{
	struct voip *v = d->voip;
	struct ddos_attack tmpl, *a;
	int err = 0;

	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.voip = true;
	tmpl.sip_method = m;
	tmpl.sip_limit = limit;
	tmpl.direction = host ? FL_DDOS_DST : FL_DDOS_SRC;
	tmpl.victim.family = family == 6 ? AF_INET6 : AF_INET;
	tmpl.victim.addr = *addr;
	tmpl.threshold.prefix = t->prefix;
	tmpl.threshold.direction = tmpl.direction;
	tmpl.threshold.limit[FL_METRIC_PPS] = limit;
	tmpl.threshold.action = host ? FL_RULE_RATE_LIMIT : t->action;
	tmpl.threshold.rate = host ? t->total : t->rate;
	tmpl.threshold.rate_unit = FL_RATE_PPS;
	tmpl.threshold.hold = t->hold;
	tmpl.metric = FL_METRIC_PPS;
	tmpl.vector = FL_METRIC_PPS;
	tmpl.crossings = 1;
	tmpl.proto = voip_is_media(m) ? IPPROTO_UDP : 0;
	tmpl.dport = voip_is_media(m) ? (nr_ports == 1 ? ports[0] : -1) :
					(d->sip_ports[0] ?: -1);
	tmpl.sport = -1;
	tmpl.signature = host ? DDOS_SIG_VICTIM : DDOS_SIG_SOURCE;
	tmpl.rate = rate;
	tmpl.pps = tmpl.peak_pps = rate;
	if (nr_ports > 0) {
		memcpy(tmpl.media_ports, ports, nr_ports * sizeof(*ports));
		tmpl.nr_media_ports = nr_ports;
	}
	/* the id comes with the record: the limiter names it after */
	a = ddos_attack_open(d, &tmpl, host);
	if (!a)
		return 0;
	if (host) {
		err = limiter_install(d, a, t->total);
		if (err)
			snprintf(a->error, sizeof(a->error),
				 "no method limiter: %s", strerror(-err));
	}
	v->attacks++;
	pr_info("voip: attack %u: %s %s %s at %.0f/s (limit %llu/s): %s", a->id,
		host ? "host" : "source",
		fl_addr_format(a->victim.family, &a->victim.addr,
			       (char[FL_PREFIX_STRLEN]){ 0 }, FL_PREFIX_STRLEN),
		method_names[m], rate, (unsigned long long)limit,
		host ? (err ? "no limiter" : "method limiter") :
		       (a->nr_rules ? "rules" : a->error));
	return a->id;
}

/* Keeps @above (with hysteresis) and the live attack @id of one rate
 * against @limit: 0 when it ended; true when one should be opened. */
static bool judge_rate(struct daemon *d, double rate, __u64 limit, bool *above,
		       __u32 *id, __u64 now_ns)
{
	struct ddos_attack *a = *id ? ddos_attack_find(d, *id) : NULL;

	if (!a)
		*id = 0; /* none, or it ended */
	if (!*above && rate > limit)
		*above = true;
	else if (*above && rate < VOIP_HYSTERESIS * limit)
		*above = false;
	if (!a)
		return *above;
	a->rate = a->pps = rate;
	if (a->pps > a->peak_pps)
		a->peak_pps = a->pps;
	if (*above)
		a->last_above_ns = now_ns;
	return false;
}

static __u64 mono_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC_PER_S + ts.tv_nsec;
}

static void entry_judge(struct daemon *d, struct sip_entry *e)
{
	struct voip *v = d->voip;
	bool host = e->key.side == FL_SIP_SIDE_DST;
	struct fl_ip_id id = { .addr = e->key.addr };
	__u64 now_ns = mono_now_ns();
	int m;

	if (e->key.slot >= FL_VOIP_PREFIXES_MAX)
		return;
	id.family = e->key.family == 6 ? AF_INET6 : AF_INET;
	/* a carrier is never named in a rule, nor judged */
	if (!host && ddos_allowlisted(d, &id))
		return;
	for (m = 0; m < FL_SIP_METHOD_COUNT; m++) {
		const struct voip_threshold *t = v->by_slot[e->key.slot][m];
		__u64 limit;

		if (!t) {
			e->above[m] = false;
			if (e->attack[m] && !ddos_attack_find(d, e->attack[m]))
				e->attack[m] = 0;
			continue;
		}
		limit = host ? t->total : t->pps;
		if (judge_rate(d, e->rate[m], limit, &e->above[m],
			       &e->attack[m], now_ns))
			e->attack[m] = attack_open(d, t, m, host, e->key.family,
						   &e->key.addr, e->rate[m],
						   limit, NULL, 0);
	}
}

/* ---- RTP per source, from the workers ---- */

static void rtp_take(const struct workers_rtp_source *src, __u64 rtp,
		     __u64 unsolicited, void *arg)
{
	struct voip *v = arg;
	struct rtp_entry *e;

	HASH_FIND(hh, v->rtp, src, sizeof(*src), e);
	if (!e) {
		if (v->nr_rtp >= VOIP_RTP_ENTRIES_MAX ||
		    !(e = calloc(1, sizeof(*e)))) {
			v->rtp_lost++;
			return;
		}
		e->key = *src;
		HASH_ADD(hh, v->rtp, key, sizeof(e->key), e);
		v->nr_rtp++;
	}
	e->pending[0] += rtp;
	e->pending[1] += unsolicited;
}

static void rtp_judge(struct daemon *d, struct rtp_entry *e, __u64 now_ns)
{
	struct voip *v = d->voip;
	struct fl_ip_id id = { .addr = e->key.addr };
	__u16 ports[DDOS_MEDIA_PORTS_MAX];
	int k, n;

	id.family = e->key.family == 6 ? AF_INET6 : AF_INET;
	if (e->key.slot >= FL_VOIP_PREFIXES_MAX || ddos_allowlisted(d, &id))
		return; /* a carrier: never named in a rule, nor judged */
	for (k = 0; k < 2; k++) {
		const struct voip_threshold *t =
			v->by_slot[e->key.slot][VOIP_RTP + k];

		if (!t) {
			e->above[k] = false;
			if (e->attack[k] && !ddos_attack_find(d, e->attack[k]))
				e->attack[k] = 0;
			continue;
		}
		if (!judge_rate(d, e->rate[k], t->pps, &e->above[k],
				&e->attack[k], now_ns))
			continue;
		/* its rules: the ports of its streams, or all its UDP */
		n = workers_voip_rtp_ports(d, &e->key, k == 1, ports,
					   DDOS_MEDIA_PORTS_MAX);
		e->attack[k] = attack_open(d, t, VOIP_RTP + k, false,
					   e->key.family, &e->key.addr,
					   e->rate[k], t->pps, ports,
					   n > 0 ? n : 0);
	}
}

/* One of a source's rates over the last second: what the workers saw
 * this tick, and what its attack's rules dropped, which they do not see
 * (an attack lasts while the source keeps sending, not only while its
 * packets get through). */
static void rtp_age(struct daemon *d, struct rtp_entry *e, int k)
{
	struct ddos_attack *a =
		e->attack[k] ? ddos_attack_find(d, e->attack[k]) : NULL;
	__u64 matched, dropped = 0, delta;

	if (a)
		ddos_attack_counters(d, a, &matched, &dropped);
	if (dropped > e->dropped[k])
		e->pending[k] += dropped - e->dropped[k];
	e->dropped[k] = dropped;
	delta = e->pending[k] > 0xffffffffULL ? 0xffffffffULL : e->pending[k];
	e->packets[k] += e->pending[k];
	e->pending[k] = 0;
	e->window[k] += delta - e->delta[d->slot][k];
	e->delta[d->slot][k] = delta;
	e->rate[k] = d->interval > 0 ? e->window[k] / d->interval : 0;
}

/* Every source's RTP since the last tick into its rates, and judged. */
static void rtp_tick(struct daemon *d)
{
	struct voip *v = d->voip;
	struct rtp_entry *e, *tmp;
	__u64 now_ns = mono_now_ns();

	workers_voip_rtp_drain(d, rtp_take, v);
	HASH_ITER(hh, v->rtp, e, tmp) {
		rtp_age(d, e, 0);
		rtp_age(d, e, 1);
		rtp_judge(d, e, now_ns);
		if (!e->window[0] && !e->window[1] && !e->attack[0] &&
		    !e->attack[1]) {
			HASH_DEL(v->rtp, e);
			v->nr_rtp--;
			free(e);
		}
	}
}

static void voip_tick(struct daemon *d)
{
	struct voip *v = d->voip;
	size_t size = d->ncpus * sizeof(struct fl_sip_stats);
	struct fl_sip_key key, next, *prev = NULL;
	int fd, cpu, k, n = 0;
	struct sip_entry *e, *tmp;
	__u64 sum[FL_SIP_KINDS];

	if (!v)
		return;
	tracking_apply(d);
	rtp_tick(d);
	if (!v->on)
		return;
	v->reads++;
	fd = bpf_map__fd(d->skel->maps.FL_MAP_SIP_STATS);
	while (!bpf_map_get_next_key(fd, prev, &next) &&
	       n++ < 4 * FL_SIP_STATS_MAX) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, v->percpu))
			continue; /* evicted meanwhile */
		memset(sum, 0, sizeof(sum));
		for (cpu = 0; cpu < d->ncpus; cpu++)
			for (k = 0; k < FL_SIP_KINDS; k++)
				sum[k] += v->percpu[cpu].kinds[k];
		HASH_FIND(hh, v->entries, &key, sizeof(key), e);
		if (!e) {
			e = calloc(1, sizeof(*e));
			if (!e)
				break;
			e->key = key;
			/* made by the program since the last read: all of
			 * its count is new, except at the first read */
			if (!v->primed)
				memcpy(e->count, sum, sizeof(sum));
			HASH_ADD(hh, v->entries, key, sizeof(e->key), e);
			v->nr_entries++;
		}
		e->seen = v->reads;
		entry_age(d, e, sum);
	}
	(void)size;
	v->primed = true;
	HASH_ITER(hh, v->entries, e, tmp) {
		if (e->seen != v->reads)
			entry_age(d, e, NULL); /* evicted: its rate decays */
		entry_judge(d, e);
		if (e->seen != v->reads && entry_idle(e)) {
			HASH_DEL(v->entries, e);
			v->nr_entries--;
			free(e);
		}
	}
}

/* A VoIP host attack ended: its limiter goes with it. */
static void on_attack(void *ctx, const struct fl_event *ev)
{
	struct daemon *d = ctx;
	const struct ddos_attack *a = ev->attack.attack;
	struct fl_sip_limit_key k;
	struct fl_sip_limit lim;

	if (ev->type != FL_EV_ATTACK_ENDED || !a || !a->voip ||
	    a->direction != FL_DDOS_DST)
		return;
	limit_key(a, &k);
	if (!bpf_map__lookup_elem(d->skel->maps.FL_MAP_SIP_LIMIT, &k, sizeof(k),
				  &lim, sizeof(lim), 0) &&
	    lim.attack == a->id)
		bpf_map__delete_elem(d->skel->maps.FL_MAP_SIP_LIMIT, &k,
				     sizeof(k), 0);
}

/* Limiters whose attack is not active (its record lost, or it ended while
 * flowlensd was down) go; the active ones' hosts are remembered. */
static void limiters_adopt(struct daemon *d)
{
	int fd = bpf_map__fd(d->skel->maps.FL_MAP_SIP_LIMIT);
	struct fl_sip_limit_key key, next, *prev = NULL;
	struct fl_sip_limit lim;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &lim))
			continue;
		if (!ddos_attack_find(d, lim.attack)) {
			pr_warn("voip: removing the method limiter of attack %u, which is not active",
				lim.attack);
			bpf_map_delete_elem(fd, &key);
			prev = NULL; /* the walk starts over */
		}
	}
}

/* ---- state ---- */

static const struct fl_persist_format voip_format = {
	.name = "flowlens-voip",
	.version = 1,
};

static struct json_object *threshold_json(const struct voip_threshold *t)
{
	struct json_object *o = json_object_new_object();
	char buf[FL_PREFIX_STRLEN];

	json_object_object_add(
		o, "prefix",
		json_object_new_string(pfx_text(&t->prefix, buf, sizeof(buf))));
	json_object_object_add(o, "method",
			       json_object_new_string(method_names[t->method]));
	json_object_object_add(o, "pps", json_object_new_uint64(t->pps));
	json_object_object_add(o, "total",
			       voip_is_media(t->method) ?
				       NULL :
				       json_object_new_uint64(t->total));
	json_object_object_add(
		o, "action",
		json_object_new_string(t->action == FL_RULE_RATE_LIMIT ?
					       "rate-limit" :
					       "drop"));
	json_object_object_add(o, "rate",
			       t->action == FL_RULE_RATE_LIMIT ?
				       json_object_new_uint64(t->rate) :
				       NULL);
	json_object_object_add(o, "hold", json_object_new_int64(t->hold));
	return o;
}

static struct json_object *carrier_json(struct daemon *d,
					const struct voip_carrier *c)
{
	struct json_object *o = json_object_new_object();
	char buf[FL_PREFIX_STRLEN];

	json_object_object_add(
		o, "prefix",
		json_object_new_string(pfx_text(&c->prefix, buf, sizeof(buf))));
	json_object_object_add(o, "name", json_object_new_string(c->name));
	json_object_object_add(o, "slot", json_object_new_int64(c->slot));
	json_object_object_add(o, "packets",
			       json_object_new_uint64(carrier_hits(d, c)));
	return o;
}

static struct json_object *ports_json(const struct daemon *d)
{
	struct json_object *a = json_object_new_array();
	int i;

	for (i = 0; i < FL_SIP_PORTS_MAX && d->sip_ports[i]; i++)
		json_object_array_add(a, json_object_new_int(d->sip_ports[i]));
	return a;
}

static int voip_fill(struct json_object *root, void *arg)
{
	struct daemon *d = arg;
	struct voip *v = d->voip;
	struct json_object *a;
	int i;

	json_object_object_add(root, "ports",
			       v->ports_set ? ports_json(d) : NULL);
	a = json_object_new_array();
	for (i = 0; i < v->nr_carriers; i++)
		json_object_array_add(a, carrier_json(d, &v->carriers[i]));
	json_object_object_add(root, "carriers", a);
	a = json_object_new_array();
	for (i = 0; i < v->nr_thresholds; i++)
		json_object_array_add(a, threshold_json(&v->thresholds[i]));
	json_object_object_add(root, "thresholds", a);
	json_object_object_add(
		root, "tracking",
		json_object_new_string(tracking_names[v->tracking]));
	return 0;
}

static int voip_save(struct daemon *d)
{
	if (!d->voip)
		return 0;
	return fl_persist_save(d->voip->path, &voip_format, voip_fill, d);
}

/* ---- parsing what operators type ---- */

static int parse_ports(int nw, char **w, __u16 *ports, char *err, size_t errlen)
{
	__u64 n;
	int i, j;

	if (nw > FL_SIP_PORTS_MAX) {
		snprintf(err, errlen, "at most %d SIP ports", FL_SIP_PORTS_MAX);
		return -E2BIG;
	}
	memset(ports, 0, FL_SIP_PORTS_MAX * sizeof(*ports));
	for (i = 0; i < nw; i++) {
		if (fl_parse_count(w[i], (uint64_t *)&n) || !n || n > 65535) {
			snprintf(err, errlen, "'%s' is not a port (1-65535)",
				 w[i]);
			return -EINVAL;
		}
		for (j = 0; j < i; j++)
			if (ports[j] == n) {
				snprintf(err, errlen, "port %s given twice",
					 w[i]);
				return -EINVAL;
			}
		ports[i] = n;
	}
	return 0;
}

static int parse_prefix(const char *text, struct fl_prefix *p, char *err,
			size_t errlen)
{
	return fl_prefix_parse(text, p, err, errlen) ? -EINVAL : 0;
}

static int parse_method(const char *text, int *m, char *err, size_t errlen)
{
	int i, off = 0;

	*m = voip_method_parse(text);
	if (*m >= 0)
		return 0;
	off = snprintf(err, errlen, "unknown SIP method '%s' (", text);
	for (i = 0; i < VOIP_KINDS && off < (int)errlen; i++)
		off += snprintf(err + off, errlen - off, "%s%s", i ? ", " : "",
				method_names[i]);
	if (off < (int)errlen)
		snprintf(err + off, errlen - off, ")");
	return -EINVAL;
}

static int parse_rate(const char *word, const char *text, __u64 max, __u64 *val,
		      char *err, size_t errlen)
{
	char buf[32];
	size_t len;

	snprintf(buf, sizeof(buf), "%s", text);
	len = strlen(buf);
	if (len > 3 && !strcasecmp(buf + len - 3, "pps"))
		buf[len - 3] = '\0';
	if (fl_parse_count(buf, (uint64_t *)val) || !*val || *val > max) {
		snprintf(err, errlen,
			 "%s '%s' is not a rate of 1 to %llu packets a second",
			 word, text, (unsigned long long)max);
		return -EINVAL;
	}
	return 0;
}

/* PREFIX method M pps N [total N] [action drop|rate-limit N] [hold S],
 * or PREFIX rtp|unsolicited pps N [action ...] [hold S] */
static int parse_threshold(int nw, char **w, struct voip_threshold *t,
			   char *err, size_t errlen)
{
	bool have_method = false, have_pps = false, have_total = false;
	__u64 n;
	int i, ret;

	memset(t, 0, sizeof(*t));
	t->action = FL_RULE_DROP;
	t->hold = FL_THRESHOLD_HOLD_DEFAULT;
	if (nw < 1) {
		snprintf(err, errlen, "needs PREFIX method METHOD pps N");
		return -EINVAL;
	}
	ret = parse_prefix(w[0], &t->prefix, err, errlen);
	if (ret)
		return ret;
	for (i = 1; i < nw; i++) {
		const char *kw = w[i];

		if (!strcmp(kw, "rtp") || !strcmp(kw, "unsolicited")) {
			if (have_method) {
				snprintf(
					err, errlen,
					"one method per threshold (method METHOD, rtp or unsolicited)");
				return -EINVAL;
			}
			t->method = voip_method_parse(kw);
			have_method = true;
			continue;
		}
		if (i + 1 >= nw) {
			snprintf(err, errlen, "'%s' needs a value", kw);
			return -EINVAL;
		}
		if (!strcmp(kw, "method")) {
			if (have_method) {
				snprintf(
					err, errlen,
					"one method per threshold (method METHOD, rtp or unsolicited)");
				return -EINVAL;
			}
			ret = parse_method(w[++i], &t->method, err, errlen);
			if (ret)
				return ret;
			have_method = true;
		} else if (!strcmp(kw, "pps")) {
			ret = parse_rate("pps", w[++i], 10000000, &t->pps, err,
					 errlen);
			if (ret)
				return ret;
			have_pps = true;
		} else if (!strcmp(kw, "total")) {
			ret = parse_rate("total", w[++i], 100000000, &t->total,
					 err, errlen);
			if (ret)
				return ret;
			have_total = true;
		} else if (!strcmp(kw, "action")) {
			kw = w[++i];
			if (!strcmp(kw, "drop")) {
				t->action = FL_RULE_DROP;
			} else if (!strcmp(kw, "rate-limit")) {
				if (i + 1 >= nw) {
					snprintf(
						err, errlen,
						"rate-limit needs a rate (5pps)");
					return -EINVAL;
				}
				ret = parse_rate("rate-limit", w[++i], 10000000,
						 &t->rate, err, errlen);
				if (ret)
					return ret;
				t->action = FL_RULE_RATE_LIMIT;
			} else {
				snprintf(
					err, errlen,
					"unknown action '%s' (drop or rate-limit N)",
					kw);
				return -EINVAL;
			}
		} else if (!strcmp(kw, "hold")) {
			if (fl_parse_count(w[++i], (uint64_t *)&n) ||
			    n > 86400) {
				snprintf(err, errlen,
					 "hold '%s' is not 0 to 86400 seconds",
					 w[i]);
				return -EINVAL;
			}
			t->hold = n;
		} else {
			snprintf(
				err, errlen,
				"unknown word '%s' (method, rtp, unsolicited, pps, total, action, hold)",
				kw);
			return -EINVAL;
		}
	}
	if (!have_method || !have_pps) {
		snprintf(
			err, errlen, "needs %s",
			!have_method ?
				"method METHOD (e.g. method invite), rtp or unsolicited" :
				"pps N: the limit per source");
		return -EINVAL;
	}
	if (voip_is_media(t->method)) {
		if (have_total) {
			snprintf(
				err, errlen,
				"'total' is for SIP methods: an %s threshold is per source",
				method_names[t->method]);
			return -EINVAL;
		}
		return 0;
	}
	if (!have_total)
		t->total = t->pps * VOIP_TOTAL_FACTOR;
	if (t->total < t->pps) {
		snprintf(
			err, errlen,
			"total %llu is below pps %llu: a host's total limit is for all its sources together",
			(unsigned long long)t->total,
			(unsigned long long)t->pps);
		return -EINVAL;
	}
	return 0;
}

static int threshold_index(struct voip *v, const struct fl_prefix *p, int m)
{
	int i;

	for (i = 0; i < v->nr_thresholds; i++)
		if (v->thresholds[i].method == m &&
		    prefix_eq(&v->thresholds[i].prefix, p))
			return i;
	return -1;
}

static int carrier_index(struct voip *v, const struct fl_prefix *p)
{
	int i;

	for (i = 0; i < v->nr_carriers; i++)
		if (prefix_eq(&v->carriers[i].prefix, p))
			return i;
	return -1;
}

static __u32 carrier_slot_free(struct voip *v)
{
	__u32 s;
	int i;

	for (s = 1; s <= FL_CARRIERS_MAX; s++) {
		for (i = 0; i < v->nr_carriers; i++)
			if (v->carriers[i].slot == s)
				break;
		if (i == v->nr_carriers)
			return s;
	}
	return 0;
}

/* ---- commands ---- */

static int cmd_ports(struct daemon *d, struct json_object *req,
		     struct json_object **data, char *err, size_t errlen)
{
	struct voip *v = d->voip;
	__u16 ports[FL_SIP_PORTS_MAX], old[FL_SIP_PORTS_MAX];
	char *w[FL_SIP_PORTS_MAX + 1];
	int nw, ret;

	nw = command_words(req, w, FL_SIP_PORTS_MAX + 1, err, errlen);
	if (nw < 0)
		return nw;
	if (nw) {
		ret = parse_ports(nw, w, ports, err, errlen);
		if (ret)
			return ret;
		memcpy(old, d->sip_ports, sizeof(old));
		memcpy(d->sip_ports, ports, sizeof(ports));
		v->ports_set = true;
		ret = conf_write(d);
		if (ret) {
			memcpy(d->sip_ports, old, sizeof(old));
			snprintf(err, errlen, "cannot set the SIP ports: %s",
				 strerror(-ret));
			return ret;
		}
		voip_save(d);
	}
	*data = json_object_new_object();
	json_object_object_add(*data, "ports", ports_json(d));
	return 0;
}

static int cmd_carrier_add(struct daemon *d, struct json_object *req,
			   struct json_object **data, char *err, size_t errlen)
{
	struct voip *v = d->voip;
	struct voip_carrier c = {};
	char *w[VOIP_WORDS_MAX], buf[FL_PREFIX_STRLEN];
	int nw, ret;

	nw = command_words(req, w, VOIP_WORDS_MAX, err, errlen);
	if (nw < 0)
		return nw;
	if (nw != 1 && !(nw == 3 && !strcmp(w[1], "name"))) {
		snprintf(err, errlen, "needs PREFIX [name NAME]");
		return -EINVAL;
	}
	ret = parse_prefix(w[0], &c.prefix, err, errlen);
	if (ret)
		return ret;
	pfx_text(&c.prefix, buf, sizeof(buf));
	if (nw == 3) {
		if (strlen(w[2]) >= sizeof(c.name) || !w[2][0]) {
			snprintf(err, errlen,
				 "name '%s' is not 1 to %zu characters", w[2],
				 sizeof(c.name) - 1);
			return -EINVAL;
		}
		snprintf(c.name, sizeof(c.name), "%s", w[2]);
	}
	if (carrier_index(v, &c.prefix) >= 0) {
		snprintf(err, errlen, "%s is already a carrier", buf);
		return -EEXIST;
	}
	/* the tries have one entry per prefix */
	if (ddos_allow_has(d, &c.prefix)) {
		snprintf(
			err, errlen,
			"%s is on the DDoS allowlist ('ddos allow del' it first)",
			buf);
		return -EEXIST;
	}
	if (v->nr_carriers == FL_CARRIERS_MAX) {
		snprintf(err, errlen, "all %d carriers in use",
			 FL_CARRIERS_MAX);
		return -ENOSPC;
	}
	c.slot = carrier_slot_free(v);
	ret = carrier_map(d, &c, true);
	if (ret) {
		snprintf(err, errlen, "cannot add %s: %s", buf, strerror(-ret));
		return ret;
	}
	v->carriers[v->nr_carriers++] = c;
	carriers_publish(d);
	conf_write(d);
	voip_save(d);
	*data = json_object_new_object();
	json_object_object_add(*data, "carrier",
			       carrier_json(d,
					    &v->carriers[v->nr_carriers - 1]));
	return 0;
}

static int cmd_carrier_del(struct daemon *d, struct json_object *req,
			   struct json_object **data, char *err, size_t errlen)
{
	struct voip *v = d->voip;
	char *w[2], buf[FL_PREFIX_STRLEN];
	struct fl_prefix p;
	int nw, ret, i;

	nw = command_words(req, w, 2, err, errlen);
	if (nw < 0)
		return nw;
	if (nw != 1) {
		snprintf(err, errlen, "needs one PREFIX");
		return -EINVAL;
	}
	ret = parse_prefix(w[0], &p, err, errlen);
	if (ret)
		return ret;
	i = carrier_index(v, &p);
	if (i < 0) {
		snprintf(err, errlen, "%s is not a carrier",
			 pfx_text(&p, buf, sizeof(buf)));
		return -ENOENT;
	}
	*data = json_object_new_object();
	json_object_object_add(*data, "carrier",
			       carrier_json(d, &v->carriers[i]));
	carrier_map(d, &v->carriers[i], false);
	v->carriers[i] = v->carriers[--v->nr_carriers];
	carriers_publish(d);
	conf_write(d);
	voip_save(d);
	return 0;
}

static int cmd_carrier_list(struct daemon *d, struct json_object *req,
			    struct json_object **data, char *err, size_t errlen)
{
	struct voip *v = d->voip;
	struct json_object *a = json_object_new_array();
	int i;

	for (i = 0; i < v->nr_carriers; i++)
		json_object_array_add(a, carrier_json(d, &v->carriers[i]));
	*data = json_object_new_object();
	json_object_object_add(*data, "carriers", a);
	return 0;
}

static int thresholds_changed(struct daemon *d, char *err, size_t errlen)
{
	int ret = prefixes_sync(d);

	if (ret) {
		snprintf(err, errlen, "cannot write the protected prefixes: %s",
			 strerror(-ret));
		return ret;
	}
	ret = conf_write(d);
	if (ret) {
		snprintf(err, errlen, "cannot switch the SIP stage on: %s",
			 strerror(-ret));
		return ret;
	}
	voip_save(d);
	return 0;
}

static int cmd_threshold_add(struct daemon *d, struct json_object *req,
			     struct json_object **data, char *err,
			     size_t errlen)
{
	struct voip *v = d->voip;
	struct voip_threshold t, old;
	char *w[VOIP_WORDS_MAX];
	int nw, ret, i;

	nw = command_words(req, w, VOIP_WORDS_MAX, err, errlen);
	if (nw < 0)
		return nw;
	ret = parse_threshold(nw, w, &t, err, errlen);
	if (ret)
		return ret;
	i = threshold_index(v, &t.prefix, t.method);
	if (i < 0 && v->nr_thresholds == VOIP_THRESHOLDS_MAX) {
		snprintf(err, errlen, "all %d VoIP thresholds in use",
			 VOIP_THRESHOLDS_MAX);
		return -ENOSPC;
	}
	if (i < 0 && slot_of(v, &t.prefix) < 0) {
		int s, used = 0;

		for (s = 0; s < FL_VOIP_PREFIXES_MAX; s++)
			used += !!v->slots[s].family;
		if (used == FL_VOIP_PREFIXES_MAX) {
			snprintf(err, errlen, "all %d VoIP prefixes in use",
				 FL_VOIP_PREFIXES_MAX);
			return -ENOSPC;
		}
	}
	if (i >= 0) {
		old = v->thresholds[i];
		v->thresholds[i] = t; /* again: changed */
	} else {
		v->thresholds[v->nr_thresholds++] = t;
	}
	ret = thresholds_changed(d, err, errlen);
	if (ret) {
		if (i >= 0)
			v->thresholds[i] = old;
		else
			v->nr_thresholds--;
		prefixes_sync(d);
		return ret;
	}
	*data = json_object_new_object();
	json_object_object_add(*data, "threshold", threshold_json(&t));
	return 0;
}

static int cmd_threshold_del(struct daemon *d, struct json_object *req,
			     struct json_object **data, char *err,
			     size_t errlen)
{
	struct voip *v = d->voip;
	struct json_object *gone;
	char *w[4], buf[FL_PREFIX_STRLEN];
	struct fl_prefix p;
	int nw, ret, i, m = -1;

	nw = command_words(req, w, 4, err, errlen);
	if (nw < 0)
		return nw;
	if (nw != 1 && !(nw == 3 && !strcmp(w[1], "method")) &&
	    !(nw == 2 &&
	      (!strcmp(w[1], "rtp") || !strcmp(w[1], "unsolicited")))) {
		snprintf(err, errlen,
			 "needs PREFIX [method METHOD | rtp | unsolicited]");
		return -EINVAL;
	}
	ret = parse_prefix(w[0], &p, err, errlen);
	if (!ret && nw == 3)
		ret = parse_method(w[2], &m, err, errlen);
	if (!ret && nw == 2)
		m = voip_method_parse(w[1]);
	if (ret)
		return ret;
	gone = json_object_new_array();
	for (i = 0; i < v->nr_thresholds;) {
		struct voip_threshold *t = &v->thresholds[i];

		if (!prefix_eq(&t->prefix, &p) || (m >= 0 && t->method != m)) {
			i++;
			continue;
		}
		json_object_array_add(gone, threshold_json(t));
		*t = v->thresholds[--v->nr_thresholds];
	}
	if (!json_object_array_length(gone)) {
		snprintf(err, errlen, "%s has no VoIP threshold%s%s",
			 pfx_text(&p, buf, sizeof(buf)), m >= 0 ? " for " : "",
			 m >= 0 ? method_names[m] : "");
		json_object_put(gone);
		return -ENOENT;
	}
	ret = thresholds_changed(d, err, errlen);
	if (ret) {
		json_object_put(gone);
		return ret;
	}
	*data = json_object_new_object();
	json_object_object_add(*data, "removed", gone);
	return 0;
}

static int cmd_threshold_list(struct daemon *d, struct json_object *req,
			      struct json_object **data, char *err,
			      size_t errlen)
{
	struct voip *v = d->voip;
	struct json_object *a = json_object_new_array();
	int i;

	for (i = 0; i < v->nr_thresholds; i++)
		json_object_array_add(a, threshold_json(&v->thresholds[i]));
	*data = json_object_new_object();
	json_object_object_add(*data, "thresholds", a);
	return 0;
}

static struct json_object *kinds_json(const __u64 *k)
{
	struct json_object *o = json_object_new_object();
	int i;

	for (i = 0; i < FL_SIP_KINDS; i++)
		json_object_object_add(o, kind_names[i],
				       json_object_new_uint64(k[i]));
	return o;
}

static int cmd_status(struct daemon *d, struct json_object *req,
		      struct json_object **data, char *err, size_t errlen)
{
	struct voip *v = d->voip;
	struct fl_sip_totals tot[d->ncpus];
	__u64 kinds[FL_SIP_KINDS] = { 0 }, limited[FL_SIP_METHOD_COUNT] = { 0 };
	__u64 prot = 0, tracked = 0, bad_tcp = 0, lim_n = 0;
	struct fl_sip_limit_key key, next, *prev = NULL;
	struct json_object *o;
	struct ddos_attack *a;
	__u32 zero = 0;
	int cpu, k, fd;

	if (!bpf_map__lookup_elem(d->skel->maps.FL_MAP_SIP_TOTALS, &zero,
				  sizeof(zero), tot, sizeof(tot), 0))
		for (cpu = 0; cpu < d->ncpus; cpu++) {
			for (k = 0; k < FL_SIP_KINDS; k++)
				kinds[k] += tot[cpu].kinds[k];
			for (k = 0; k < FL_SIP_METHOD_COUNT; k++)
				limited[k] += tot[cpu].limited[k];
			prot += tot[cpu].protected_packets;
			tracked += tot[cpu].tracked_sources;
			bad_tcp += tot[cpu].bad_tcp;
		}
	fd = bpf_map__fd(d->skel->maps.FL_MAP_SIP_LIMIT);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		lim_n++;
	}
	*data = json_object_new_object();
	json_object_object_add(*data, "counting",
			       json_object_new_boolean(v->on));
	json_object_object_add(*data, "ports", ports_json(d));
	json_object_object_add(*data, "ports_default",
			       json_object_new_boolean(!v->ports_set));
	json_object_object_add(*data, "carriers",
			       json_object_new_int(v->nr_carriers));
	json_object_object_add(*data, "thresholds",
			       json_object_new_int(v->nr_thresholds));
	json_object_object_add(*data, "packets", kinds_json(kinds));
	o = json_object_new_object();
	for (k = 0; k < FL_SIP_METHOD_COUNT; k++)
		json_object_object_add(o, method_names[k],
				       json_object_new_uint64(limited[k]));
	json_object_object_add(*data, "limited", o);
	json_object_object_add(*data, "protected_packets",
			       json_object_new_uint64(prot));
	json_object_object_add(*data, "sources_tracked",
			       json_object_new_uint64(tracked));
	json_object_object_add(*data, "bad_tcp",
			       json_object_new_uint64(bad_tcp));
	json_object_object_add(*data, "entries",
			       json_object_new_uint64(v->nr_entries));
	json_object_object_add(*data, "limiters",
			       json_object_new_uint64(lim_n));
	json_object_object_add(*data, "rtp_sources",
			       json_object_new_uint64(v->nr_rtp));
	json_object_object_add(*data, "rtp_sources_lost",
			       json_object_new_uint64(v->rtp_lost));
	/* the VoIP attacks among the DDoS engine's active ones */
	o = json_object_new_array();
	for (a = ddos_active(d); a; a = a->next)
		if (a->voip)
			json_object_array_add(o, json_object_new_int64(a->id));
	json_object_object_add(*data, "attacks", o);
	json_object_object_add(*data, "attacks_started",
			       json_object_new_uint64(v->attacks));
	json_object_object_add(
		*data, "tracking",
		json_object_new_string(tracking_names[v->tracking]));
	json_object_object_add(*data, "tracking_active",
			       json_object_new_boolean(voip_calls_wanted(d)));
	json_object_object_add(*data, "unsolicited_rtp_packets",
			       json_object_new_uint64(workers_counter_sum(
				       d, FL_WC_RTP_UNSOLICITED)));
	return 0;
}

/* A row of `voip sources`: an address, its role, its prefix and (empty,
 * for source_count_add()) its rates and packets. */
static struct json_object *source_json(struct voip *v, __u8 family,
				       const union fl_addr *addr, __u32 slot,
				       const char *role)
{
	struct json_object *o = json_object_new_object();
	char buf[FL_PREFIX_STRLEN];

	json_object_object_add(o, "address",
			       json_object_new_string(fl_addr_format(
				       family == 6 ? AF_INET6 : AF_INET, addr,
				       buf, sizeof(buf))));
	json_object_object_add(o, "role", json_object_new_string(role));
	json_object_object_add(
		o, "prefix",
		slot < FL_VOIP_PREFIXES_MAX && v->slots[slot].family ?
			json_object_new_string(
				pfx_text(&v->slots[slot], buf, sizeof(buf))) :
			NULL);
	json_object_object_add(o, "rates", json_object_new_object());
	json_object_object_add(o, "packets", json_object_new_object());
	return o;
}

static void source_count_add(struct json_object *o, const char *name,
			     double rate, __u64 packets)
{
	json_object_object_add(
		json_object_object_get(o, "rates"), name,
		json_object_new_double((double)(long long)(rate * 10) / 10));
	json_object_object_add(json_object_object_get(o, "packets"), name,
			       json_object_new_uint64(packets));
}

static int cmd_sources(struct daemon *d, struct json_object *req,
		       struct json_object **data, char *err, size_t errlen)
{
	struct voip *v = d->voip;
	struct json_object *a = json_object_new_array(), *o;
	struct sip_entry *e, *tmp;
	struct rtp_entry *re, *rtmp;
	int k;

	HASH_ITER(hh, v->entries, e, tmp) {
		o = source_json(v, e->key.family, &e->key.addr, e->key.slot,
				e->key.side == FL_SIP_SIDE_DST ? "host" :
								 "source");
		for (k = 0; k < FL_SIP_KINDS; k++)
			if (e->count[k])
				source_count_add(o, kind_names[k], e->rate[k],
						 e->count[k]);
		json_object_array_add(a, o);
	}
	/* RTP senders towards the prefixes, as the workers count them */
	HASH_ITER(hh, v->rtp, re, rtmp) {
		o = source_json(v, re->key.family, &re->key.addr, re->key.slot,
				"rtp-source");
		for (k = 0; k < 2; k++)
			source_count_add(o, method_names[VOIP_RTP + k],
					 re->rate[k], re->packets[k]);
		json_object_array_add(a, o);
	}
	*data = json_object_new_object();
	json_object_object_add(*data, "entries", a);
	return 0;
}

/* ---- the module ---- */

static int voip_restore(struct daemon *d)
{
	struct voip *v = d->voip;
	struct json_object *root, *a, *o;
	char err[512];
	int version, ret;
	size_t i;

	ret = fl_persist_load(v->path, &voip_format, &root, &version, err,
			      sizeof(err));
	if (ret == -ENOENT)
		return 0;
	if (ret) {
		pr_err("voip: %s", err);
		return ret;
	}
	a = json_object_object_get(root, "ports");
	if (a && json_object_array_length(a)) {
		char *w[FL_SIP_PORTS_MAX];
		char words[FL_SIP_PORTS_MAX][8];
		int n = json_object_array_length(a);

		for (i = 0; i < (size_t)n && i < FL_SIP_PORTS_MAX; i++) {
			snprintf(words[i], sizeof(words[i]), "%d",
				 json_object_get_int(
					 json_object_array_get_idx(a, i)));
			w[i] = words[i];
		}
		if (!parse_ports(n, w, d->sip_ports, err, sizeof(err)))
			v->ports_set = true;
		else
			pr_warn("voip: %s: ports: %s", v->path, err);
	}
	a = json_object_object_get(root, "carriers");
	for (i = 0; a && i < json_object_array_length(a) &&
		    v->nr_carriers < FL_CARRIERS_MAX;
	     i++) {
		struct voip_carrier *c = &v->carriers[v->nr_carriers];

		o = json_object_array_get_idx(a, i);
		memset(c, 0, sizeof(*c));
		if (parse_prefix(fl_json_str(o, "prefix"), &c->prefix, err,
				 sizeof(err))) {
			pr_warn("voip: %s: skipping a carrier: %s", v->path,
				err);
			continue;
		}
		snprintf(c->name, sizeof(c->name), "%s",
			 fl_json_str(o, "name"));
		c->slot = fl_json_u64(o, "slot");
		if (!c->slot || c->slot > FL_CARRIERS_MAX)
			c->slot = carrier_slot_free(v);
		v->nr_carriers++;
	}
	for (i = 0; i < 3; i++)
		if (!strcmp(fl_json_str(root, "tracking"), tracking_names[i]))
			v->tracking = i;
	a = json_object_object_get(root, "thresholds");
	for (i = 0; a && i < json_object_array_length(a) &&
		    v->nr_thresholds < VOIP_THRESHOLDS_MAX;
	     i++) {
		struct voip_threshold *t = &v->thresholds[v->nr_thresholds];
		char *w[12];
		char words[4][24];
		int n = 0;

		o = json_object_array_get_idx(a, i);
		w[n++] = (char *)fl_json_str(o, "prefix");
		w[n++] = "method";
		w[n++] = (char *)fl_json_str(o, "method");
		w[n++] = "pps";
		snprintf(words[0], sizeof(words[0]), "%llu",
			 (unsigned long long)fl_json_u64(o, "pps"));
		w[n++] = words[0];
		if (fl_json_u64(o, "total")) {
			w[n++] = "total";
			snprintf(words[1], sizeof(words[1]), "%llu",
				 (unsigned long long)fl_json_u64(o, "total"));
			w[n++] = words[1];
		}
		w[n++] = "hold";
		snprintf(words[2], sizeof(words[2]), "%llu",
			 (unsigned long long)fl_json_u64(o, "hold"));
		w[n++] = words[2];
		if (!strcmp(fl_json_str(o, "action"), "rate-limit")) {
			w[n++] = "action";
			w[n++] = "rate-limit";
			snprintf(words[3], sizeof(words[3]), "%llu",
				 (unsigned long long)fl_json_u64(o, "rate"));
			w[n++] = words[3];
		}
		if (parse_threshold(n, w, t, err, sizeof(err))) {
			pr_warn("voip: %s: skipping a threshold: %s", v->path,
				err);
			continue;
		}
		v->nr_thresholds++;
	}
	json_object_put(root);
	return 0;
}

static int voip_open(struct daemon *d)
{
	struct voip *v = calloc(1, sizeof(*v));
	char *copy;
	int i, ret;

	if (!v)
		return -ENOMEM;
	v->d = d;
	d->voip = v;
	v->by_slot = calloc(FL_VOIP_PREFIXES_MAX, sizeof(*v->by_slot));
	v->percpu = calloc(d->ncpus, sizeof(*v->percpu));
	if (!v->by_slot || !v->percpu)
		return -ENOMEM;
	copy = strdup(d->opt.state_path);
	snprintf(v->path, sizeof(v->path), "%s/%s", copy ? dirname(copy) : ".",
		 VOIP_FILE);
	free(copy);
	ret = voip_restore(d);
	if (ret)
		return ret;
	/* the tries as this file says, whatever a previous run left */
	for (i = 0; i < v->nr_carriers; i++) {
		ret = carrier_map(d, &v->carriers[i], true);
		if (ret)
			pr_warn("voip: cannot allowlist carrier %s: %s",
				v->carriers[i].name, strerror(-ret));
	}
	ret = carriers_publish(d);
	if (!ret)
		ret = prefixes_sync(d);
	if (!ret)
		ret = conf_write(d);
	if (ret) {
		pr_err("voip: cannot write the SIP stage's maps: %s",
		       strerror(-ret));
		return ret;
	}
	limiters_adopt(d);
	if (v->nr_thresholds || v->nr_carriers)
		pr_info("voip: %d thresholds and %d carriers from %s",
			v->nr_thresholds, v->nr_carriers, v->path);
	return bus_subscribe(d, "voip", FL_EV_MASK(FL_EV_ATTACK_ENDED),
			     on_attack, d);
}

static void voip_close(struct daemon *d)
{
	struct voip *v = d->voip;
	struct sip_entry *e, *tmp;
	struct rtp_entry *re, *rtmp;

	if (!v)
		return;
	voip_save(d);
	bus_unsubscribe(d, on_attack, d);
	if (d->ddos)
		ddos_carriers_set(d, NULL, 0);
	HASH_ITER(hh, v->entries, e, tmp) {
		HASH_DEL(v->entries, e);
		free(e);
	}
	HASH_ITER(hh, v->rtp, re, rtmp) {
		HASH_DEL(v->rtp, re);
		free(re);
	}
	free(v->by_slot);
	free(v->percpu);
	free(v);
	d->voip = NULL;
}

static const struct command voip_commands[] = {
	{ "voip-status", cmd_status },
	{ "voip-ports", cmd_ports },
	{ "voip-carrier-add", cmd_carrier_add },
	{ "voip-carrier-del", cmd_carrier_del },
	{ "voip-carrier-list", cmd_carrier_list },
	{ "voip-threshold-add", cmd_threshold_add },
	{ "voip-threshold-del", cmd_threshold_del },
	{ "voip-threshold-list", cmd_threshold_list },
	{ "voip-sources", cmd_sources },
	{ "voip-tracking", cmd_tracking },
	{ NULL, NULL },
};

const struct fl_module voip_module = {
	.name = "voip",
	.open = voip_open,
	.close = voip_close,
	.tick = voip_tick,
	.tick_every = 1,
	.save = voip_save,
	.commands = voip_commands,
};
