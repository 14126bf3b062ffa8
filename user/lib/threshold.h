/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: DDoS thresholds as operators type them.
 *   fl_threshold_parse()   "198.51.100.0/24 udp-pps 20k action drop hold 60"
 *                          (as words) -> struct fl_threshold
 *   fl_threshold_format()  the canonical text, which parses back the same
 *   fl_metric_name(), fl_metric_source_ok()
 *
 * A destination threshold checks every host inside its prefix, each on its
 * own, against what the host receives; a source threshold ("source" after
 * the prefix) checks every tracked address inside it against what it
 * sends. Rates are per second.
 */
#ifndef FL_THRESHOLD_H
#define FL_THRESHOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <flowlens/rules.h>

#include "prefix.h"

/* id, name, also a source metric */
#define FL_METRICS(X)                  \
	X(PPS, "pps", true)            \
	X(BPS, "bps", true)            \
	X(SPS, "sps", true)            \
	X(TCP_PPS, "tcp-pps", false)   \
	X(TCP_BPS, "tcp-bps", false)   \
	X(UDP_PPS, "udp-pps", false)   \
	X(UDP_BPS, "udp-bps", false)   \
	X(ICMP_PPS, "icmp-pps", false) \
	X(ICMP_BPS, "icmp-bps", false) \
	X(FRAG_PPS, "frag-pps", false) \
	X(FRAG_BPS, "frag-bps", false)

enum fl_metric {
#define FL_X_METRIC(id, name, src) FL_METRIC_##id,
	FL_METRICS(FL_X_METRIC)
#undef FL_X_METRIC
		FL_METRIC_COUNT,
};

enum fl_ddos_dir {
	FL_DDOS_DST = 0, /* per host, what it receives */
	FL_DDOS_SRC = 1, /* per source, what it sends */
};

#define FL_THRESHOLD_HOLD_DEFAULT 60
#define FL_THRESHOLD_STRLEN 512

struct fl_threshold {
	struct fl_prefix prefix;
	enum fl_ddos_dir direction;
	__u64 limit[FL_METRIC_COUNT]; /* 0: not checked */
	__u8 action; /* FL_RULE_DROP or FL_RULE_RATE_LIMIT */
	__u8 rate_unit; /* rate-limit: enum fl_rate_unit */
	__u64 rate; /* rate-limit: per rule the engine installs */
	__u32 hold; /* seconds below the threshold before the rules go */
};

/* Parses @argc words; 0, or -EINVAL naming the offending word in @err. */
int fl_threshold_parse(int argc, char **argv, struct fl_threshold *t, char *err,
		       size_t errlen);
const char *fl_threshold_format(const struct fl_threshold *t, char *buf,
				size_t len);
const char *fl_metric_name(enum fl_metric m);
bool fl_metric_source_ok(enum fl_metric m);
const char *fl_ddos_dir_name(enum fl_ddos_dir dir);
/* A metric counts bits (bps) rather than packets. */
bool fl_metric_is_bits(enum fl_metric m);

#endif /* FL_THRESHOLD_H */
