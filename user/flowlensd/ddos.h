/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: the DDoS engine's attack records and the one interface through
 * which other parts of flowlensd learn about attacks.
 *
 * Exporters (JSON events, IPFIX, Prometheus) and BGP FlowSpec register a
 * struct ddos_hooks with ddos_hooks_register(); the engine calls
 *   event()     on every attack start, update, mitigation and end,
 *   announce()  for every rule it installs for an attack (FlowSpec:
 *               announce the same match upstream),
 *   withdraw()  for every rule it removes (FlowSpec: withdraw it).
 * Hooks run on the control thread, in registration order, and must not
 * block: they queue work of their own if it can take time.
 */
#ifndef FLOWLENSD_DDOS_H
#define FLOWLENSD_DDOS_H

#include <json-c/json.h>
#include <flowlens/rules.h>

#include "daemon.h"
#include "threshold.h"

#define DDOS_SOURCES_MAX 8 /* "a handful of sources" */
#define DDOS_RULES_MAX 16 /* rules one attack may install */
#define DDOS_HISTORY_MAX 256 /* ended attacks kept */
#define DDOS_HOOKS_MAX 8
#define DDOS_RULE_ORDER 900 /* before an operator's default order */

enum ddos_event {
	DDOS_EV_START,
	DDOS_EV_UPDATE,
	DDOS_EV_MITIGATION,
	DDOS_EV_END,
};

enum ddos_signature {
	DDOS_SIG_SOURCES, /* a handful of sources: one rule each */
	DDOS_SIG_VICTIM, /* spread (spoofed) sources: victim + proto/port */
	DDOS_SIG_SOURCE, /* a source threshold: the source itself */
};

struct ddos_source {
	struct fl_ip_id addr;
	double share; /* of the attack's sampled packets */
};

struct ddos_attack {
	__u32 id;
	enum fl_ddos_dir direction;
	struct fl_ip_id victim; /* the source, for a source threshold */
	struct fl_threshold threshold; /* as it was when the attack began */
	bool active;
	double started, mitigated, ended; /* UNIX times; 0: not (yet) */
	__u64 last_above_ns; /* CLOCK_MONOTONIC */
	enum fl_metric metric; /* the first metric that crossed */
	enum fl_metric vector; /* the metric the last signature is for */
	double peak_pps, peak_bps, peak_sps;
	double pps, bps, sps; /* at the last tick */
	double rate; /* of the metric that crossed, at the last tick */
	__u8 proto; /* 0: mixed */
	int dport, sport; /* -1: none in the signature */
	enum ddos_signature signature;
	struct ddos_source sources[DDOS_SOURCES_MAX]; /* the top ones */
	int nr_sources;
	int nr_dominant; /* sources[0..nr_dominant) carry 80 %: their rules */
	bool allowlisted_only; /* the last signature saw only allowlisted
				  sources: no rule for it */
	__u32 rules[DDOS_RULES_MAX];
	int nr_rules;
	__u64 matched, dropped; /* frozen when the attack ends */
	__u32 crossings; /* of this attack, the first one included */
	char error[320]; /* why no rule was installed, if none was */
	struct ddos_attack *next; /* active list */
};

struct ddos_hooks {
	const char *name;
	void (*event)(void *ctx, enum ddos_event ev,
		      const struct ddos_attack *attack,
		      struct json_object *attack_json);
	void (*announce)(void *ctx, const struct ddos_attack *attack,
			 const struct fl_rule *rule);
	void (*withdraw)(void *ctx, const struct ddos_attack *attack,
			 const struct fl_rule *rule);
};

int ddos_hooks_register(struct daemon *d, const struct ddos_hooks *hooks,
			void *ctx);
const char *ddos_event_name(enum ddos_event ev);
/* The attack as flctl and the events file show it (caller puts it). */
struct json_object *ddos_attack_json(struct daemon *d,
				     const struct ddos_attack *attack);

#endif /* FLOWLENSD_DDOS_H */
