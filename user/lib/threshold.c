// SPDX-License-Identifier: Apache-2.0
/* DDoS thresholds: parse and format. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rule.h"
#include "threshold.h"
#include "units.h"

static const struct {
	const char *name;
	bool source;
} metrics[FL_METRIC_COUNT] = {
#define FL_X_METRIC(id, n, src) [FL_METRIC_##id] = { n, src },
	FL_METRICS(FL_X_METRIC)
#undef FL_X_METRIC
};

const char *fl_metric_name(enum fl_metric m)
{
	return m < FL_METRIC_COUNT ? metrics[m].name : "?";
}

bool fl_metric_source_ok(enum fl_metric m)
{
	return m < FL_METRIC_COUNT && metrics[m].source;
}

bool fl_metric_is_bits(enum fl_metric m)
{
	const char *name = fl_metric_name(m);
	size_t len = strlen(name);

	return len >= 3 && !strcmp(name + len - 3, "bps");
}

const char *fl_ddos_dir_name(enum fl_ddos_dir dir)
{
	return dir == FL_DDOS_SRC ? "source" : "destination";
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

static int metric_lookup(const char *name)
{
	int m;

	for (m = 0; m < FL_METRIC_COUNT; m++)
		if (!strcmp(name, metrics[m].name))
			return m;
	return -1;
}

/* "500k", "500kpps" for packet metrics; "1G", "1Gbps" for bit metrics. */
static int parse_value(const char *text, enum fl_metric m, __u64 *value)
{
	const char *unit = fl_metric_is_bits(m) ? "bps" : "pps";
	size_t len = strlen(text);
	char buf[32];
	uint64_t v;

	if (len >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, text);
	if (len > 3 && !strcmp(buf + len - 3, unit))
		buf[len - 3] = '\0';
	if (fl_parse_count(buf, &v) || !v)
		return -EINVAL;
	*value = v;
	return 0;
}

int fl_threshold_parse(int argc, char **argv, struct fl_threshold *t, char *err,
		       size_t errlen)
{
	bool have_limit = false, have_action = false, have_hold = false;
	char perr[128];
	int i = 0, m;

	memset(t, 0, sizeof(*t));
	t->action = FL_RULE_DROP;
	t->hold = FL_THRESHOLD_HOLD_DEFAULT;
	if (argc < 1)
		return fail(
			err, errlen,
			"a threshold starts with a PREFIX (198.51.100.0/24)");
	if (fl_prefix_parse(argv[0], &t->prefix, perr, sizeof(perr)))
		return fail(err, errlen, "%s", perr);
	i = 1;
	if (i < argc && !strcmp(argv[i], "source")) {
		t->direction = FL_DDOS_SRC;
		i++;
	}
	for (; i < argc; i++) {
		const char *kw = argv[i];

		if (!strcmp(kw, "action")) {
			if (have_action)
				return fail(err, errlen,
					    "'action' given twice");
			if (++i >= argc)
				return fail(
					err, errlen,
					"'action' needs drop or rate-limit RATE");
			if (!strcmp(argv[i], "drop")) {
				t->action = FL_RULE_DROP;
			} else if (!strcmp(argv[i], "rate-limit")) {
				if (++i >= argc)
					return fail(
						err, errlen,
						"'rate-limit' needs a rate (10k, 10kpps, 100Mbps)");
				if (fl_rule_parse_rate(argv[i], &t->rate,
						       &t->rate_unit))
					return fail(
						err, errlen,
						"bad rate '%s': packets/s (10k, 10kpps) or bits/s (100Mbps), above 0",
						argv[i]);
				t->action = FL_RULE_RATE_LIMIT;
			} else {
				return fail(
					err, errlen,
					"bad action '%s': drop or rate-limit RATE",
					argv[i]);
			}
			have_action = true;
			continue;
		}
		if (!strcmp(kw, "hold")) {
			uint64_t v;

			if (have_hold)
				return fail(err, errlen, "'hold' given twice");
			if (++i >= argc || fl_parse_count(argv[i], &v) || !v ||
			    v > 86400 * 7)
				return fail(
					err, errlen,
					"'hold' needs whole seconds above 0 (at most a week)%s%s%s",
					i < argc ? ", not '" : "",
					i < argc ? argv[i] : "",
					i < argc ? "'" : "");
			t->hold = v;
			have_hold = true;
			continue;
		}
		m = metric_lookup(kw);
		if (m < 0)
			return fail(
				err, errlen,
				"unknown word '%s' (expected a metric: pps, bps, sps, tcp-pps, tcp-bps, udp-pps, udp-bps, icmp-pps, icmp-bps, frag-pps, frag-bps; or action, hold)",
				kw);
		if (t->direction == FL_DDOS_SRC && !metrics[m].source)
			return fail(
				err, errlen,
				"'%s' is not a source metric (a source threshold takes pps, bps and sps)",
				kw);
		if (t->limit[m])
			return fail(err, errlen, "'%s' given twice", kw);
		if (++i >= argc)
			return fail(err, errlen, "'%s' needs a value", kw);
		if (parse_value(argv[i], m, &t->limit[m]))
			return fail(
				err, errlen,
				"bad value '%s' for %s: a number above 0 (k, M, G)",
				argv[i], kw);
		have_limit = true;
	}
	if (!have_limit)
		return fail(
			err, errlen,
			"no limit: give at least one METRIC VALUE (pps 500k)");
	return 0;
}

const char *fl_threshold_format(const struct fl_threshold *t, char *buf,
				size_t len)
{
	char pfx[FL_PREFIX_STRLEN];
	size_t off;
	int m;

	snprintf(buf, len, "%s%s",
		 fl_prefix_format(&t->prefix, pfx, sizeof(pfx)),
		 t->direction == FL_DDOS_SRC ? " source" : "");
	for (m = 0; m < FL_METRIC_COUNT; m++) {
		if (!t->limit[m])
			continue;
		off = strlen(buf);
		snprintf(buf + off, len - off, " %s %llu", metrics[m].name,
			 (unsigned long long)t->limit[m]);
	}
	off = strlen(buf);
	if (t->action == FL_RULE_RATE_LIMIT)
		snprintf(buf + off, len - off, " action rate-limit %llu%s",
			 (unsigned long long)t->rate,
			 t->rate_unit == FL_RATE_BPS ? "bps" : "pps");
	else
		snprintf(buf + off, len - off, " action drop");
	off = strlen(buf);
	snprintf(buf + off, len - off, " hold %u", t->hold);
	return buf;
}
