// SPDX-License-Identifier: Apache-2.0
/*
 * An attack's signature: the packet samples XDP sends (a ring of the
 * last DDOS_SAMPLES_MAX), and from those of the last second, its top
 * sources, protocol and port.
 */
#include <stdlib.h>
#include <string.h>

#include "ddos_priv.h"

/* ---- samples ---- */

int ddos_sample_read(void *ctx, void *data, size_t size)
{
	struct daemon *d = ctx;
	struct ddos *dd = d->ddos;
	struct ddos_sample *s;
	int family;

	if (size < sizeof(struct fl_sample))
		return 0;
	s = &dd->samples[dd->sample_head];
	s->t_ns = dd->now_ns;
	memcpy(&s->s, data, sizeof(s->s));
	/* Both ends may be tracked addresses a threshold covers: their
	 * counters are read at the next tick, not at the next whole read. */
	family = s->s.family == 6 ? AF_INET6 : AF_INET;
	rates_watch(d, family, &s->s.dst);
	rates_watch(d, family, &s->s.src);
	dd->sample_head = (dd->sample_head + 1) % DDOS_SAMPLES_MAX;
	if (dd->nr_samples < DDOS_SAMPLES_MAX)
		dd->nr_samples++;
	dd->samples_read++;
	return 0;
}

/* Does a sample belong to the part of the traffic @m measures? */
static bool sample_in_metric(const struct fl_sample *s, enum fl_metric m)
{
	switch (m) {
	case FL_METRIC_SPS:
		return s->proto == 6 && (s->tcp_flags & 0x12) == 0x02;
	case FL_METRIC_TCP_PPS:
	case FL_METRIC_TCP_BPS:
		return s->proto == 6;
	case FL_METRIC_UDP_PPS:
	case FL_METRIC_UDP_BPS:
		return s->proto == 17;
	case FL_METRIC_ICMP_PPS:
	case FL_METRIC_ICMP_BPS:
		return s->proto == 1 || s->proto == 58;
	case FL_METRIC_FRAG_PPS:
	case FL_METRIC_FRAG_BPS:
		return s->frag != 0;
	default:
		return true;
	}
}

static bool addr_eq(const struct fl_ip_id *id, int family,
		    const union fl_addr *addr)
{
	size_t len = id->family == AF_INET ? 4 : 16;

	return id->family == (family == 6 ? AF_INET6 : AF_INET) &&
	       !memcmp(id->addr.b, addr->b, len);
}

struct counted {
	struct fl_ip_id id;
	unsigned int n;
};

static int counted_cmp(const void *a, const void *b)
{
	const struct counted *x = a, *y = b;

	return (x->n < y->n) - (x->n > y->n);
}

/* The most frequent value of @values[0..n), and how often it came. */
static int int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static int id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct fl_ip_id));
}

/* The most frequent value of @values[0..n) (sorted in place), and how
 * often it came. */
static int mode_of(int *values, int n, int *count)
{
	int i, best = -1, best_n = 0, run;

	qsort(values, n, sizeof(*values), int_cmp);
	for (i = 0; i < n; i += run) {
		for (run = 1; i + run < n && values[i + run] == values[i];
		     run++)
			;
		if (run > best_n) {
			best_n = run;
			best = values[i];
		}
	}
	*count = best_n;
	return best;
}

/* Counts equal addresses in @ids[0..n) (sorted in place) into @out,
 * most frequent first; returns how many distinct. */
static int count_sources(struct fl_ip_id *ids, int n, struct counted *out)
{
	int i, run, nr = 0;

	qsort(ids, n, sizeof(*ids), id_cmp);
	for (i = 0; i < n; i += run) {
		for (run = 1; i + run < n && !id_cmp(&ids[i + run], &ids[i]);
		     run++)
			;
		out[nr].id = ids[i];
		out[nr].n = run;
		nr++;
	}
	qsort(out, nr, sizeof(*out), counted_cmp);
	return nr;
}

/*
 * The attack's signature from the samples of the last second that reached
 * (or, for a source attack, came from) its address and match its metric.
 */
void signature_of(struct daemon *d, struct ddos_attack *a,
		  const struct fl_ip_entry *e, enum fl_metric metric)
{
	struct ddos *dd = d->ddos;
	struct counted *srcs = NULL;
	struct fl_ip_id *ids = NULL;
	int *dports = NULL, *sports = NULL, *protos = NULL;
	int n = 0, n_allowed = 0, nports = 0, nsrcs = 0, i, count, v;
	__u64 since = dd->now_ns - NSEC;
	size_t k, idx;
	double cum;

	a->nr_sources = 0;
	a->allowlisted_only = false;
	a->proto = 0;
	a->dport = a->sport = -1;
	srcs = calloc(dd->nr_samples + 1, sizeof(*srcs));
	ids = calloc(dd->nr_samples + 1, sizeof(*ids));
	dports = calloc(dd->nr_samples + 1, sizeof(int));
	sports = calloc(dd->nr_samples + 1, sizeof(int));
	protos = calloc(dd->nr_samples + 1, sizeof(int));
	if (!srcs || !ids || !dports || !sports || !protos)
		goto out;

	for (k = 0; k < dd->nr_samples; k++) {
		const struct ddos_sample *s;
		struct fl_ip_id sid = {};

		idx = (dd->sample_head + DDOS_SAMPLES_MAX - 1 - k) %
		      DDOS_SAMPLES_MAX;
		s = &dd->samples[idx];
		if (s->t_ns < since)
			break; /* newest first: the rest is older */
		if (a->direction == FL_DDOS_DST ?
			    !addr_eq(&a->victim, s->s.family, &s->s.dst) :
			    !addr_eq(&a->victim, s->s.family, &s->s.src))
			continue;
		if (!sample_in_metric(&s->s, metric))
			continue;
		sid.family = s->s.family == 6 ? AF_INET6 : AF_INET;
		memcpy(sid.addr.b, s->s.src.b, sid.family == AF_INET ? 4 : 16);
		/* Allowlisted sources skip every rule: they are not part of
		 * what the rules must stop, nor of the shares. */
		if (dd->nr_allow && allowlisted(dd, &sid)) {
			n_allowed++;
			continue;
		}
		ids[n] = sid;
		protos[n] = s->s.proto;
		if (s->s.proto == 6 || s->s.proto == 17) {
			dports[nports] = s->s.dport;
			sports[nports] = s->s.sport;
			nports++;
		}
		n++;
	}

	/* The protocol: the metric's own, else one with 90 % of packets
	 * (exact per-protocol counters for a victim, samples otherwise). */
	a->vector = metric;
	switch (metric) {
	case FL_METRIC_SPS:
	case FL_METRIC_TCP_PPS:
	case FL_METRIC_TCP_BPS:
		a->proto = 6;
		break;
	case FL_METRIC_UDP_PPS:
	case FL_METRIC_UDP_BPS:
		a->proto = 17;
		break;
	case FL_METRIC_ICMP_PPS:
	case FL_METRIC_ICMP_BPS:
		a->proto = a->victim.family == AF_INET6 ? 58 : 1;
		break;
	default:
		if (a->direction == FL_DDOS_DST && e &&
		    e->rate[FL_C_RX_PACKETS] > 0) {
			static const __u8 protos_of[] = { 6, 17, 1 };
			double total = e->rate[FL_C_RX_PACKETS];

			for (i = 0; i < 3; i++)
				if (e->rate[FL_C_RX_CLASS_PACKETS + i] >=
				    DDOS_PROTO_SHARE * total)
					a->proto = protos_of[i];
			if (a->proto == 1 && a->victim.family == AF_INET6)
				a->proto = 58;
		} else if (n >= DDOS_MIN_SAMPLES) {
			v = mode_of(protos, n, &count);
			if (count >= DDOS_PROTO_SHARE * n)
				a->proto = v;
		}
	}

	/* Top sources by share. */
	nsrcs = count_sources(ids, n, srcs);
	for (i = 0; i < nsrcs && i < DDOS_SOURCES_MAX; i++) {
		a->sources[i].addr = srcs[i].id;
		a->sources[i].share = n ? (double)srcs[i].n / n : 0;
	}
	a->nr_sources = i;

	if (a->direction == FL_DDOS_SRC) {
		a->signature = DDOS_SIG_SOURCE;
		goto out;
	}
	/* Over the threshold with allowlisted traffic alone (or nearly):
	 * a victim rule would drop everyone else and not them. No rule
	 * until the rest of the traffic says what to stop. */
	a->allowlisted_only = n < DDOS_MIN_SAMPLES &&
			      n_allowed >= DDOS_MIN_SAMPLES;
	/* A handful of sources carrying 80 %? */
	a->signature = DDOS_SIG_VICTIM;
	if (n >= DDOS_MIN_SAMPLES) {
		for (cum = 0, i = 0; i < nsrcs && i < DDOS_SOURCES_MAX; i++) {
			cum += (double)srcs[i].n / n;
			if (cum >= DDOS_SOURCES_SHARE) {
				a->signature = DDOS_SIG_SOURCES;
				a->nr_dominant = i + 1;
				break;
			}
		}
	}
	/* The victim signature narrows to a port that carries 80 %. */
	if (a->signature == DDOS_SIG_VICTIM && a->proto &&
	    nports >= DDOS_MIN_SAMPLES && nports >= DDOS_PORT_SHARE * n) {
		v = mode_of(dports, nports, &count);
		if (count >= DDOS_PORT_SHARE * nports) {
			a->dport = v;
		} else {
			v = mode_of(sports, nports, &count);
			if (count >= DDOS_PORT_SHARE * nports)
				a->sport = v;
		}
	}
out:
	free(srcs);
	free(ids);
	free(dports);
	free(sports);
	free(protos);
}
