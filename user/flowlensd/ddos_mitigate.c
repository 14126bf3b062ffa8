// SPDX-License-Identifier: Apache-2.0
/*
 * Mitigation: the rules an attack's signature calls for, installed
 * through the rule engine marked with the attack's id (origin
 * FL_ORIGIN_DDOS), and removed when the attack ends.
 */
#include <stdio.h>
#include <string.h>

#include "ddos_priv.h"
#include "log.h"
#include "rule.h"
#include "voip.h"

/* ---- rules ---- */

/* The rule whose match @text (@off bytes of FL_RULE_STRLEN) begins:
 * the attack's action and id appended, split into words as flctl would
 * send them. */
static int rule_from_text(const struct ddos_attack *a, char *text, int off,
			  struct fl_rule *rule, char *err, size_t errlen)
{
	const struct fl_threshold *t = &a->threshold;
	size_t size = FL_RULE_STRLEN;
	char *argv[32], *save, *w;
	int argc = 0;

	if (t->action == FL_RULE_RATE_LIMIT)
		off += snprintf(text + off, size - off,
				" action rate-limit %llu%s",
				(unsigned long long)t->rate,
				t->rate_unit == FL_RATE_BPS ? "bps" : "pps");
	else
		off += snprintf(text + off, size - off, " action drop");
	snprintf(text + off, size - off, " attack %u", a->id);

	for (w = strtok_r(text, " ", &save); w && argc < 32;
	     w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	return fl_rule_parse(argc, argv, DDOS_RULE_ORDER, rule, err, errlen);
}

static int rule_for(const struct ddos_attack *a, const struct fl_ip_id *src,
		    struct fl_rule *rule, char *err, size_t errlen)
{
	char text[FL_RULE_STRLEN], addr[FL_PREFIX_STRLEN];
	int host = a->victim.family == AF_INET ? 32 : 128, off = 0;

#define ADD(...) off += snprintf(text + off, sizeof(text) - off, __VA_ARGS__)
	ADD("order %d", DDOS_RULE_ORDER);
	if (src)
		ADD(" src %s/%d", ip_text(src, addr, sizeof(addr)), host);
	if (a->direction == FL_DDOS_DST)
		ADD(" dst %s/%d", ip_text(&a->victim, addr, sizeof(addr)),
		    host);
	if (a->proto && a->direction == FL_DDOS_DST) {
		ADD(" proto %u", a->proto);
		if (a->vector == FL_METRIC_SPS)
			ADD(" tcp-flags syn/syn,ack");
		if (a->signature == DDOS_SIG_VICTIM && a->dport >= 0)
			ADD(" dport %d", a->dport);
		else if (a->signature == DDOS_SIG_VICTIM && a->sport >= 0)
			ADD(" sport %d", a->sport);
	}
	if (a->vector == FL_METRIC_FRAG_PPS || a->vector == FL_METRIC_FRAG_BPS)
		ADD(" frag any");
#undef ADD
	return rule_from_text(a, text, off, rule, err, errlen);
}

/* A VoIP attack from one source: its SIP packets towards the threshold's
 * prefix, on every SIP port, UDP and TCP; nothing else it sends. Or its
 * RTP: UDP to the ports of its streams (@port -1: every port). */
static int voip_rule_for(const struct ddos_attack *a, const char *proto,
			 int port, struct fl_rule *rule, char *err,
			 size_t errlen)
{
	const struct fl_threshold *t = &a->threshold;
	char text[FL_RULE_STRLEN], addr[FL_PREFIX_STRLEN];
	int host = a->victim.family == AF_INET ? 32 : 128, off = 0;

#define ADD(...) off += snprintf(text + off, sizeof(text) - off, __VA_ARGS__)
	ADD("order %d src %s/%d", DDOS_RULE_ORDER,
	    ip_text(&a->victim, addr, sizeof(addr)), host);
	ADD(" dst %s proto %s",
	    fl_prefix_format(&t->prefix, addr, sizeof(addr)), proto);
	if (port >= 0)
		ADD(" dport %d", port);
#undef ADD
	return rule_from_text(a, text, off, rule, err, errlen);
}

/* Has the attack a rule with the same match as @rule? */
static bool attack_has_rule(struct daemon *d, const struct ddos_attack *a,
			    const struct fl_rule *rule)
{
	struct fl_rule_def def;
	struct fl_rule want = *rule;
	int i;

	want.id = 0;
	for (i = 0; i < a->nr_rules; i++) {
		if (rules_get(d, a->rules[i], &def, NULL))
			continue;
		def.rule.id = 0;
		def.rule.expires = want.expires;
		if (!memcmp(&def.rule, &want, sizeof(want)))
			return true;
	}
	return false;
}

/*
 * A SYN flood on a host the SYN proxy serves: the proxy answers it, and a
 * victim rule (all SYNs to the host, or to the port) would drop the real
 * clients' SYNs before the proxy sees them. Per-source rules still go in.
 */
static bool syn_proxied(struct daemon *d, struct ddos_attack *a)
{
	char addr[FL_PREFIX_STRLEN];

	if (a->direction != FL_DDOS_DST || a->vector != FL_METRIC_SPS ||
	    !synproxy_covers(d, a->victim.family, &a->victim.addr, a->dport))
		return false;
	ip_text(&a->victim, addr, sizeof(addr));
	if (a->dport >= 0)
		snprintf(a->error, sizeof(a->error),
			 "no rule: the SYN proxy answers SYNs to %s port %d",
			 addr, a->dport);
	else
		snprintf(
			a->error, sizeof(a->error),
			"no rule: a victim-wide SYN rule would drop the SYNs the SYN proxy answers on %s",
			addr);
	return true;
}

/* Installs the rules the signature calls for that the attack lacks;
 * returns how many it added. */
int attack_mitigate(struct daemon *d, struct ddos_attack *a)
{
	struct fl_rule rules[DDOS_RULES_MAX];
	const struct fl_ip_id *src;
	char err[256], msg[sizeof(a->error)];
	size_t bad;
	int n = 0, i, room = DDOS_RULES_MAX - a->nr_rules;

	if (!rules_ready(d))
		return 0;
	if (a->voip && voip_is_media(a->sip_method)) {
		/* RTP from a source: its streams' ports, or all its UDP */
		for (i = 0; i < a->nr_media_ports && n < room; i++, n++)
			if (voip_rule_for(a, "udp", a->media_ports[i],
					  &rules[n], err, sizeof(err)))
				goto fail;
		if (!a->nr_media_ports &&
		    voip_rule_for(a, "udp", -1, &rules[n++], err, sizeof(err)))
			goto fail;
	} else if (a->voip) {
		/* only a source's attack has rules (a host's: a limiter) */
		for (i = 0; a->direction == FL_DDOS_SRC && n + 1 < room &&
			    i < FL_SIP_PORTS_MAX && d->sip_ports[i];
		     i++) {
			if (voip_rule_for(a, "udp", d->sip_ports[i], &rules[n],
					  err, sizeof(err)) ||
			    voip_rule_for(a, "tcp", d->sip_ports[i],
					  &rules[n + 1], err, sizeof(err)))
				goto fail;
			n += 2;
		}
	}
	if (a->voip) {
		if (!n || ddos_allowlisted(d, &a->victim))
			return 0;
		if (rules_add(d, rules, n, FL_ORIGIN_DDOS, &bad, err,
			      sizeof(err)))
			goto fail;
		a->error[0] = '\0';
		for (i = 0; i < n; i++)
			a->rules[a->nr_rules++] = rules[i].id;
		return n;
	}
	if (a->allowlisted_only) {
		snprintf(
			a->error, sizeof(a->error),
			"no rule: the traffic over the threshold is from allowlisted sources");
		return 0;
	}
	for (i = 0; n < room; i++) {
		if (a->signature == DDOS_SIG_SOURCES) {
			if (i == a->nr_dominant)
				break;
			src = &a->sources[i].addr;
			if (allowlisted(d->ddos, src))
				continue;
		} else {
			if (i == 1)
				break;
			if (syn_proxied(d, a))
				return 0;
			src = a->direction == FL_DDOS_SRC ? &a->victim : NULL;
			if (src && allowlisted(d->ddos, src)) {
				snprintf(a->error, sizeof(a->error),
					 "the source is allowlisted");
				return 0;
			}
		}
		if (rule_for(a, src, &rules[n], err, sizeof(err)))
			goto fail;
		if (!attack_has_rule(d, a, &rules[n]))
			n++;
	}
	if (!n)
		return 0;
	if (rules_add(d, rules, n, FL_ORIGIN_DDOS, &bad, err, sizeof(err)))
		goto fail;
	a->error[0] = '\0';
	for (i = 0; i < n; i++)
		a->rules[a->nr_rules++] = rules[i].id;
	return n;
fail:
	/* retried every second while the attack lasts: log each new
	 * reason once */
	snprintf(msg, sizeof(msg), "no rule installed: %s", err);
	if (strcmp(msg, a->error)) {
		snprintf(a->error, sizeof(a->error), "%s", msg);
		pr_warn("ddos: attack %u: %s", a->id, a->error);
	}
	return 0;
}

void attack_unmitigate(struct daemon *d, struct ddos_attack *a)
{
	struct fl_rule_stats st;
	struct fl_rule_def def;
	int i;

	for (i = 0; i < a->nr_rules; i++) {
		if (rules_get(d, a->rules[i], &def, &st))
			continue;
		a->matched += st.packets;
		a->dropped += st.dropped;
		rules_del(d, a->rules[i], FL_ORIGIN_DDOS);
	}
}
