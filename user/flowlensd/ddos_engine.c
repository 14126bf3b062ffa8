// SPDX-License-Identifier: Apache-2.0
/*
 * The DDoS engine's tick (the design: ddos.c): the threshold that covers
 * each address, its rates against the limits, attacks starting and
 * ending, the events they publish on the bus, and the sample rate XDP
 * is told to use.
 */
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "ddos_priv.h"

/* ---- events ---- */

/* Publishes the attack, as flctl shows it, on the bus. */
static void emit_event(struct daemon *d, enum fl_event_type type,
		       const struct ddos_attack *a)
{
	struct fl_event e = { .type = type };

	e.attack.attack = a;
	e.attack.json = ddos_attack_json(d, a);
	bus_publish(d, &e);
	json_object_put(e.attack.json);
}

/* ---- thresholds ---- */

int threshold_find(struct ddos *dd, const struct fl_prefix *p,
		   enum fl_ddos_dir dir)
{
	int i;

	for (i = 0; i < dd->nr_thresholds; i++) {
		const struct fl_threshold *t = &dd->thresholds[i];

		if (t->direction == dir && t->prefix.family == p->family &&
		    t->prefix.len == p->len &&
		    !memcmp(&t->prefix.addr, &p->addr, sizeof(p->addr)))
			return i;
	}
	return -1;
}

/* The longest prefix of @dir that holds @id. */
static const struct fl_threshold *threshold_match(struct ddos *dd,
						  const struct fl_ip_id *id,
						  enum fl_ddos_dir dir)
{
	const struct fl_threshold *best = NULL;
	int i;

	for (i = 0; i < dd->nr_thresholds; i++) {
		const struct fl_threshold *t = &dd->thresholds[i];

		if (t->direction != dir ||
		    !fl_prefix_contains(&t->prefix, id->family, &id->addr))
			continue;
		if (!best || t->prefix.len > best->prefix.len)
			best = t;
	}
	return best;
}

void thresholds_changed(struct ddos *dd)
{
	if (!++dd->threshold_gen)
		dd->threshold_gen = 1;
}

/* threshold_match() for a tracked address, remembered in its entry until
 * the thresholds change: the tick asks for every address ten times a
 * second. */
const struct fl_threshold *threshold_of(struct ddos *dd, struct fl_ip_entry *e,
					enum fl_ddos_dir dir)
{
	const struct fl_threshold *t;
	int i;

	if (e->threshold_gen != dd->threshold_gen) {
		for (i = FL_DDOS_DST; i <= FL_DDOS_SRC; i++) {
			t = threshold_match(dd, &e->id, i);
			e->threshold[i] = t ? t - dd->thresholds : -1;
		}
		e->threshold_gen = dd->threshold_gen;
	}
	return e->threshold[dir] < 0 ? NULL :
				       &dd->thresholds[e->threshold[dir]];
}

/* ---- the engine ---- */

double metric_value(const struct fl_ip_entry *e, enum fl_ddos_dir dir,
		    enum fl_metric m)
{
	int class;

	if (dir == FL_DDOS_SRC) {
		switch (m) {
		case FL_METRIC_PPS:
			return e->rate[FL_C_TX_PACKETS];
		case FL_METRIC_BPS:
			return 8 * e->rate[FL_C_TX_BYTES];
		case FL_METRIC_SPS:
			return e->rate[FL_C_TX_SYNS];
		default:
			return 0;
		}
	}
	switch (m) {
	case FL_METRIC_PPS:
		return e->rate[FL_C_RX_PACKETS];
	case FL_METRIC_BPS:
		return 8 * e->rate[FL_C_RX_BYTES];
	case FL_METRIC_SPS:
		return e->rate[FL_C_RX_SYNS];
	default:
		/* tcp, udp, icmp, frag: the order of enum fl_rx_class */
		class = (m - FL_METRIC_TCP_PPS) / 2;
		if ((m - FL_METRIC_TCP_PPS) % 2)
			return 8 * e->rate[FL_C_RX_CLASS_BYTES + class];
		return e->rate[FL_C_RX_CLASS_PACKETS + class];
	}
}

/* The first metric above @factor times its limit, or -1. */
static int over(const struct fl_ip_entry *e, const struct fl_threshold *t,
		double factor)
{
	int m;

	for (m = 0; m < FL_METRIC_COUNT; m++)
		if (t->limit[m] &&
		    metric_value(e, t->direction, m) > factor * t->limit[m])
			return m;
	return -1;
}

static void attack_rates(struct ddos_attack *a, const struct fl_ip_entry *e)
{
	a->pps = metric_value(e, a->direction, FL_METRIC_PPS);
	a->bps = metric_value(e, a->direction, FL_METRIC_BPS);
	a->sps = metric_value(e, a->direction, FL_METRIC_SPS);
	a->rate = metric_value(e, a->direction, a->metric);
	if (a->pps > a->peak_pps)
		a->peak_pps = a->pps;
	if (a->bps > a->peak_bps)
		a->peak_bps = a->bps;
	if (a->sps > a->peak_sps)
		a->peak_sps = a->sps;
}

static void attack_start(struct daemon *d, struct ddos_victim *v,
			 const struct fl_ip_entry *e,
			 const struct fl_threshold *t, int metric)
{
	struct ddos *dd = d->ddos;
	struct ddos_attack *a = calloc(1, sizeof(*a));

	if (!a)
		return;
	a->id = dd->next_id++;
	a->direction = t->direction;
	a->victim = e->id;
	a->threshold = *t;
	a->active = true;
	a->started = unix_now();
	a->last_above_ns = dd->now_ns;
	a->metric = metric;
	a->crossings = 1;
	attack_rates(a, e);
	signature_of(d, a, e, metric);
	a->next = dd->active;
	dd->active = a;
	v->attack = a;
	emit_event(d, FL_EV_ATTACK_STARTED, a);
	if (attack_mitigate(d, a))
		a->mitigated = unix_now();
	emit_event(d, FL_EV_ATTACK_MITIGATED, a);
	ddos_save(d);
}

struct ddos_attack *ddos_attack_open(struct daemon *d,
				     const struct ddos_attack *tmpl,
				     bool mitigated)
{
	struct ddos *dd = d->ddos;
	struct ddos_attack *a;

	if (!dd || !(a = malloc(sizeof(*a))))
		return NULL;
	*a = *tmpl;
	a->id = dd->next_id++;
	a->active = true;
	a->started = unix_now();
	a->last_above_ns = mono_ns();
	a->nr_rules = 0;
	a->next = dd->active;
	dd->active = a;
	emit_event(d, FL_EV_ATTACK_STARTED, a);
	if (mitigated || attack_mitigate(d, a))
		a->mitigated = unix_now();
	emit_event(d, FL_EV_ATTACK_MITIGATED, a);
	ddos_save(d);
	return a;
}

struct ddos_attack *ddos_active(struct daemon *d)
{
	return d->ddos ? d->ddos->active : NULL;
}

struct ddos_attack *ddos_attack_find(struct daemon *d, __u32 id)
{
	struct ddos_attack *a;

	for (a = d->ddos ? d->ddos->active : NULL; a; a = a->next)
		if (a->id == id)
			return a;
	return NULL;
}

void history_add(struct daemon *d, struct json_object *o)
{
	struct ddos *dd = d->ddos;
	size_t n = json_object_array_length(dd->history);

	json_object_array_add(dd->history, o);
	if (n + 1 > DDOS_HISTORY_MAX)
		json_object_array_del_idx(dd->history, 0,
					  n + 1 - DDOS_HISTORY_MAX);
}

static void attack_end(struct daemon *d, struct ddos_attack *a)
{
	struct ddos *dd = d->ddos;
	struct ddos_attack **pp;
	struct ddos_victim *v, *tmp;

	attack_unmitigate(d, a);
	a->active = false;
	a->ended = unix_now();
	emit_event(d, FL_EV_ATTACK_ENDED, a);
	for (pp = &dd->active; *pp; pp = &(*pp)->next) {
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	}
	HASH_ITER(hh, dd->victims, v, tmp) {
		if (v->attack == a)
			v->attack = NULL;
	}
	history_add(d, ddos_attack_json(d, a));
	free(a);
	ddos_save(d);
}

struct ddos_victim *victim_get(struct ddos *dd, const struct fl_ip_id *id,
			       int dir, bool create)
{
	struct victim_key key;
	struct ddos_victim *v;

	memset(&key, 0, sizeof(key));
	key.id = *id;
	key.direction = dir;
	HASH_FIND(hh, dd->victims, &key, sizeof(key), v);
	if (v || !create)
		return v;
	v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->key = key;
	HASH_ADD(hh, dd->victims, key, sizeof(v->key), v);
	return v;
}

static void check_entry(struct daemon *d, struct fl_ip_entry *e,
			enum fl_ddos_dir dir, bool refresh)
{
	struct ddos *dd = d->ddos;
	const struct fl_threshold *t = threshold_of(dd, e, dir);
	struct ddos_victim *v;
	struct ddos_attack *a;
	bool crossed = false;
	int m, added;

	if (!t)
		return;
	if (dir == FL_DDOS_SRC && allowlisted(dd, &e->id))
		return;
	m = over(e, t, 1.0);
	v = victim_get(dd, &e->id, dir, m >= 0);
	if (!v)
		return;
	v->generation = d->generation;
	if (!v->above && m >= 0) {
		v->above = true;
		crossed = true;
		v->crossings++;
		if (v->attack)
			v->attack->crossings++;
	} else if (v->above && over(e, t, DDOS_HYSTERESIS) < 0) {
		v->above = false;
	}
	a = v->attack;
	if (v->above && !a) {
		attack_start(d, v, e, t, m >= 0 ? m : over(e, t, 0.0));
		return;
	}
	if (!a)
		return;
	attack_rates(a, e);
	if (v->above)
		a->last_above_ns = dd->now_ns;
	/* Once a second, and on every crossing, each metric over its limit
	 * gets the rules its signature calls for: new dominant sources, or
	 * a new vector (a SYN flood after a UDP flood). Rules already there
	 * stay as they are, so nothing churns. */
	if (v->above && (refresh || crossed) && a->nr_rules < DDOS_RULES_MAX) {
		for (m = 0, added = 0; m < FL_METRIC_COUNT; m++) {
			if (!t->limit[m] ||
			    metric_value(e, dir, m) <= t->limit[m])
				continue;
			signature_of(d, a, e, m);
			added += attack_mitigate(d, a);
		}
		if (added) {
			if (!a->mitigated)
				a->mitigated = unix_now();
			emit_event(d,
				   a->nr_rules == added ? FL_EV_ATTACK_MITIGATED :
							  FL_EV_ATTACK_UPDATED,
				   a);
			ddos_save(d);
		}
	}
}

/* One in how many protected packets XDP should sample, from the protected
 * traffic of the last second: about DDOS_SAMPLE_TARGET samples a second. */
void sample_rate_adapt(struct daemon *d)
{
	struct ddos *dd = d->ddos;
	struct fl_ip_entry *e;
	struct fl_config cfg;
	double pps = 0;
	__u32 rate = 1;

	/* only the live entries: every other one's rates are 0 */
	for (e = d->ips_live; e; e = e->live_next)
		if (e->reason & FL_TRACK_PROTECTED)
			pps += e->pps[FL_SIDE_DST];
	while (rate < (1U << 30) && pps / rate > DDOS_SAMPLE_TARGET)
		rate <<= 1;
	if (!dd->nr_thresholds)
		rate = 0; /* nobody needs samples */
	if (rate == dd->sample_rate || settings_read(d, &cfg))
		return;
	cfg.sample_rate = rate;
	if (!settings_write(d, &cfg))
		dd->sample_rate = rate;
}

void ddos_tick(struct daemon *d)
{
	struct ddos *dd = d->ddos;
	bool second = d->ticks % FL_RATE_SLOTS == 0;
	struct ddos_attack *a, *next;
	struct ddos_victim *v, *tmp;
	struct fl_ip_entry *e;

	if (!dd)
		return;
	dd->now_ns = mono_ns();
	if (dd->rb)
		ring_buffer__consume(dd->rb);
	/* at once when thresholds appear: the first flood needs samples */
	if (second || (dd->nr_thresholds && !dd->sample_rate) ||
	    dd->sample_rate == ~0U)
		sample_rate_adapt(d);
	if (!dd->nr_thresholds && !dd->active)
		return;

	for (e = d->ips; e; e = e->hh.next) {
		check_entry(d, e, FL_DDOS_DST, second);
		check_entry(d, e, FL_DDOS_SRC, second);
	}
	/* Addresses no longer tracked (the LRU evicted them) are below. */
	HASH_ITER(hh, dd->victims, v, tmp) {
		if (v->generation == d->generation)
			continue;
		v->above = false;
		if (!v->attack) {
			HASH_DEL(dd->victims, v);
			free(v);
		}
	}
	for (a = dd->active; a; a = next) {
		next = a->next;
		/* a VoIP attack's engine keeps last_above_ns itself */
		v = a->voip ? NULL :
			      victim_get(dd, &a->victim, a->direction, false);
		if (v && v->above)
			continue;
		if (dd->now_ns - a->last_above_ns >=
		    (__u64)a->threshold.hold * NSEC)
			attack_end(d, a);
	}
}
