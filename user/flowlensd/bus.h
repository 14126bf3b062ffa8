/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: the event bus. Modules publish typed events; any module subscribes
 * to the kinds it wants. This is how exporters learn what happened (the
 * events file today; Prometheus, IPFIX, BGP FlowSpec and HEP next) without
 * the publisher knowing they exist.
 *
 *   attack started / updated / mitigated / ended   the DDoS engine
 *   rule added / removed, with its origin          rules (operator), ddos
 *   flow verdict / flow ended                      the workers, drained
 *                                                  from their rings
 *
 * Delivery is synchronous, on the control thread, in subscription order.
 * A subscriber must not block the publisher: one whose work can take time
 * (a socket to a collector, a BGP speaker) copies what it needs into a
 * queue of its own and returns. The event and what it points to are only
 * valid during the call.
 */
#ifndef FLOWLENSD_BUS_H
#define FLOWLENSD_BUS_H

#include <json-c/json.h>
#include <flowlens/flow.h>
#include <flowlens/rules.h>

struct daemon;
struct ddos_attack;

enum fl_event_type {
	FL_EV_ATTACK_STARTED,
	FL_EV_ATTACK_UPDATED,
	FL_EV_ATTACK_MITIGATED,
	FL_EV_ATTACK_ENDED,
	FL_EV_RULE_ADDED,
	FL_EV_RULE_REMOVED,
	FL_EV_FLOW_VERDICT,
	FL_EV_FLOW_ENDED,
	FL_EV_COUNT,
};
#define FL_EV_MASK(type) (1u << (type))
#define FL_EV_ATTACK_ANY                                                       \
	(FL_EV_MASK(FL_EV_ATTACK_STARTED) | FL_EV_MASK(FL_EV_ATTACK_UPDATED) | \
	 FL_EV_MASK(FL_EV_ATTACK_MITIGATED) | FL_EV_MASK(FL_EV_ATTACK_ENDED))
#define FL_EV_RULE_ANY \
	(FL_EV_MASK(FL_EV_RULE_ADDED) | FL_EV_MASK(FL_EV_RULE_REMOVED))
#define FL_EV_FLOW_ANY \
	(FL_EV_MASK(FL_EV_FLOW_VERDICT) | FL_EV_MASK(FL_EV_FLOW_ENDED))

/* Who put a rule in. */
enum fl_rule_origin {
	FL_ORIGIN_OPERATOR, /* flctl rule add / load */
	FL_ORIGIN_DDOS, /* the DDoS engine, for an attack */
	FL_ORIGIN_FLOWSPEC, /* a BGP FlowSpec route a peer announced */
	FL_ORIGIN_EXPIRY, /* removed: its time ran out */
	FL_ORIGIN_COUNT,
};

/* A flow as the workers saw it (FL_EV_FLOW_*). */
struct fl_flow_event {
	struct fl_flow_key key;
	__u16 app, master; /* nDPI protocol ids */
	__u16 category;
	__u64 risk;
	const char *sni; /* "" when none */
	const char *ja3c; /* JA3 of the client's hello, "" when none */
	const char *ja3s; /* of the server's */
	__u64 packets, bytes; /* seen by the worker */
	int worker;
	/* VERDICT: the policy slot each direction got (0 none), and the flow
	 * cache's packets and bytes of each direction before the verdict */
	__u16 policy[2];
	__u64 pre_packets[2], pre_bytes[2];
};

struct fl_event {
	enum fl_event_type type;
	double time; /* UNIX time of the event */
	union {
		struct {
			const struct ddos_attack *attack;
			struct json_object *json; /* as flctl shows it */
		} attack;
		struct {
			const struct fl_rule *rule;
			enum fl_rule_origin origin;
			__u32 attack_id; /* FL_ORIGIN_DDOS: the attack */
		} rule;
		const struct fl_flow_event *flow;
	};
};

typedef void (*bus_fn)(void *ctx, const struct fl_event *ev);

/* Calls fn for every event whose FL_EV_MASK() is in mask; 0 or -ENOSPC. */
int bus_subscribe(struct daemon *d, const char *name, unsigned int mask,
		  bus_fn fn, void *ctx);
void bus_unsubscribe(struct daemon *d, bus_fn fn, void *ctx);
/* Delivers ev to every subscriber of its type (time filled if 0). */
void bus_publish(struct daemon *d, struct fl_event *ev);
const char *bus_event_name(enum fl_event_type type);
/* {"subscribers": [{"name", "events": [...]}], "published": {type: n}} */
struct json_object *bus_json(const struct daemon *d);

#endif /* FLOWLENSD_BUS_H */
