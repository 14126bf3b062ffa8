/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: the DDoS engine's attack records.
 *
 * Other modules learn about attacks from the event bus (bus.h): the
 * engine publishes FL_EV_ATTACK_STARTED/UPDATED/MITIGATED/ENDED with the
 * attack and its JSON, and the rule engine publishes every rule the
 * engine installs or removes (FL_EV_RULE_ADDED/REMOVED, origin
 * FL_ORIGIN_DDOS, with the attack's id): what BGP FlowSpec announces
 * upstream and withdraws.
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
#define DDOS_RULE_ORDER 900 /* before an operator's default order */
#define DDOS_MEDIA_PORTS_MAX 8 /* an RTP attack's ports with a rule each */

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
	/* A VoIP attack (voip.c): a SIP method over its limit, from one
	 * source towards threshold.prefix (FL_DDOS_SRC: rules for the source
	 * and the SIP ports) or towards one host from many (FL_DDOS_DST: a
	 * method limiter in XDP, which carriers skip); or RTP from one
	 * source over its rtp or unsolicited limit (rules for the source and
	 * its streams' ports). */
	bool voip;
	int sip_method; /* enum fl_sip_method, VOIP_RTP or VOIP_UNSOLICITED */
	__u64 sip_limit; /* packets/s */
	/* RTP (VOIP_RTP, VOIP_UNSOLICITED) from one source: its rules are
	 * for these destination ports of its streams (none: all its UDP
	 * towards the prefix) */
	__u16 media_ports[DDOS_MEDIA_PORTS_MAX];
	int nr_media_ports;
	struct ddos_attack *next; /* active list */
};

const char *ddos_signature_name(enum ddos_signature signature);
/* The attack as flctl and the events file show it (caller puts it). */
struct json_object *ddos_attack_json(struct daemon *d,
				     const struct ddos_attack *attack);

/*
 * Attacks other engines find (voip.c), kept with the DDoS engine's: the
 * same records, events, rules, hold and history. ddos_attack_open() gives
 * @tmpl (victim, direction, threshold, metric, ...) an id, publishes it,
 * installs its rules (unless @mitigated: the caller's own mitigation is in
 * place) and returns the live record; the caller sets last_above_ns and
 * the rates while it stays above, and the DDoS tick ends it after its
 * threshold's hold.
 */
struct ddos_attack *ddos_attack_open(struct daemon *d,
				     const struct ddos_attack *tmpl,
				     bool mitigated);
struct ddos_attack *ddos_attack_find(struct daemon *d, __u32 id);
/* What the attack's rules (or method limiter) matched and dropped. */
void ddos_attack_counters(struct daemon *d, const struct ddos_attack *a,
			  __u64 *matched, __u64 *dropped);
/* The active attacks, a list through ->next. */
struct ddos_attack *ddos_active(struct daemon *d);
/* Is exactly @p on the DDoS allowlist (flctl ddos allow)? */
bool ddos_allow_has(struct daemon *d, const struct fl_prefix *p);
/* The DDoS allowlist or a VoIP carrier holds @id. */
bool ddos_allowlisted(struct daemon *d, const struct fl_ip_id *id);
/* voip.c's carriers, allowlisted like the DDoS allowlist (the caller keeps
 * the array); refreshes fl_config.allow_prefixes. */
int ddos_carriers_set(struct daemon *d, const struct fl_prefix *carriers,
		      int n);

/* ddos_events.c: the events file (one JSON line per attack event). */
const char *events_file_path(const struct daemon *d);

#endif /* FLOWLENSD_DDOS_H */
