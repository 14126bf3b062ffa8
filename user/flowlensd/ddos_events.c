// SPDX-License-Identifier: Apache-2.0
/*
 * The events module: a subscriber of the event bus that writes what the
 * DDoS engine does to the log, and each attack event as one JSON line to
 * the events file (--events, default ddos-events.jsonl next to the state
 * file):
 *   {"time": UNIX, "event": "start|update|mitigation|end", "attack": {...}}
 * and logs every rule the engine installs or removes for an attack.
 * Exporters to come (Prometheus, IPFIX, FlowSpec, HEP) are subscribers
 * of the same kind.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "ddos.h"
#include "log.h"
#include "module.h"
#include "rule.h"

static struct {
	char path[512];
	FILE *file;
} events;

const char *events_file_path(const struct daemon *d)
{
	return events.path;
}

/* The names the events file has always used. */
static const char *attack_event_name(enum fl_event_type type)
{
	switch (type) {
	case FL_EV_ATTACK_STARTED:
		return "start";
	case FL_EV_ATTACK_UPDATED:
		return "update";
	case FL_EV_ATTACK_MITIGATED:
		return "mitigation";
	case FL_EV_ATTACK_ENDED:
		return "end";
	default:
		return bus_event_name(type);
	}
}

static void log_attack(const struct fl_event *ev)
{
	const struct ddos_attack *a = ev->attack.attack;
	char victim[FL_PREFIX_STRLEN];

	fl_addr_format(a->victim.family, &a->victim.addr, victim,
		       sizeof(victim));
	switch (ev->type) {
	case FL_EV_ATTACK_STARTED:
		pr_info("ddos: attack %u start: %s %s %s %.0f > %llu", a->id,
			fl_ddos_dir_name(a->direction), victim,
			fl_metric_name(a->metric), a->rate,
			(unsigned long long)a->threshold.limit[a->metric]);
		break;
	case FL_EV_ATTACK_MITIGATED:
	case FL_EV_ATTACK_UPDATED:
		pr_info("ddos: attack %u %s: %s signature, %d rule%s%s%s",
			a->id, attack_event_name(ev->type),
			ddos_signature_name(a->signature), a->nr_rules,
			a->nr_rules == 1 ? "" : "s", a->error[0] ? ": " : "",
			a->error);
		break;
	case FL_EV_ATTACK_ENDED:
		pr_info("ddos: attack %u end: %s, %llu packets dropped", a->id,
			victim, (unsigned long long)a->dropped);
		break;
	default:
		break;
	}
}

static void write_attack(const struct fl_event *ev)
{
	struct json_object *line;

	if (!events.file)
		return;
	line = json_object_new_object();
	json_object_object_add(line, "time", json_object_new_double(ev->time));
	json_object_object_add(
		line, "event",
		json_object_new_string(attack_event_name(ev->type)));
	json_object_object_add(line, "attack",
			       json_object_get(ev->attack.json));
	fprintf(events.file, "%s\n",
		json_object_to_json_string_ext(
			line, JSON_C_TO_STRING_PLAIN |
				      JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(events.file);
	json_object_put(line);
}

static void log_rule(const struct fl_event *ev)
{
	char text[FL_RULE_STRLEN];

	if (ev->rule.origin != FL_ORIGIN_DDOS)
		return;
	pr_info("ddos: attack %u %s rule %u: %s", ev->rule.attack_id,
		ev->type == FL_EV_RULE_ADDED ? "installs" : "removes",
		ev->rule.rule->id,
		fl_rule_format(ev->rule.rule, text, sizeof(text)));
}

static void on_event(void *ctx, const struct fl_event *ev)
{
	switch (ev->type) {
	case FL_EV_RULE_ADDED:
	case FL_EV_RULE_REMOVED:
		log_rule(ev);
		break;
	default:
		log_attack(ev);
		write_attack(ev);
		break;
	}
}

static int events_open(struct daemon *d)
{
	char *copy;

	if (d->opt.events_path) {
		snprintf(events.path, sizeof(events.path), "%s",
			 d->opt.events_path);
	} else {
		copy = strdup(d->opt.state_path);
		if (!copy)
			return -ENOMEM;
		snprintf(events.path, sizeof(events.path),
			 "%s/ddos-events.jsonl", dirname(copy));
		free(copy);
	}
	events.file = fopen(events.path, "a");
	if (!events.file)
		pr_warn("ddos: cannot open the events file %s: %s",
			events.path, strerror(errno));
	return bus_subscribe(d, "events", FL_EV_ATTACK_ANY | FL_EV_RULE_ANY,
			     on_event, NULL);
}

static void events_close(struct daemon *d)
{
	bus_unsubscribe(d, on_event, NULL);
	if (events.file)
		fclose(events.file);
	events.file = NULL;
}

const struct fl_module events_module = {
	.name = "events",
	.open = events_open,
	.close = events_close,
};
