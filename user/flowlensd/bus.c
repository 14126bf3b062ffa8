// SPDX-License-Identifier: Apache-2.0
/*
 * The event bus (bus.h): a fixed table of subscribers, each with the mask
 * of event types it takes, called in subscription order.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "bus.h"
#include "daemon.h"

#define BUS_SUBSCRIBERS_MAX 32

struct subscriber {
	const char *name;
	unsigned int mask;
	bus_fn fn;
	void *ctx;
};

/* One bus per process: there is one control thread. */
static struct {
	struct subscriber subs[BUS_SUBSCRIBERS_MAX];
	int nr_subs;
	unsigned long long published[FL_EV_COUNT];
} bus;

static const char *const event_names[FL_EV_COUNT] = {
	[FL_EV_ATTACK_STARTED] = "attack-started",
	[FL_EV_ATTACK_UPDATED] = "attack-updated",
	[FL_EV_ATTACK_MITIGATED] = "attack-mitigated",
	[FL_EV_ATTACK_ENDED] = "attack-ended",
	[FL_EV_RULE_ADDED] = "rule-added",
	[FL_EV_RULE_REMOVED] = "rule-removed",
	[FL_EV_FLOW_VERDICT] = "flow-verdict",
	[FL_EV_FLOW_ENDED] = "flow-ended",
};

const char *bus_event_name(enum fl_event_type type)
{
	return type < FL_EV_COUNT ? event_names[type] : "?";
}

int bus_subscribe(struct daemon *d, const char *name, unsigned int mask,
		  bus_fn fn, void *ctx)
{
	if (bus.nr_subs == BUS_SUBSCRIBERS_MAX)
		return -ENOSPC;
	bus.subs[bus.nr_subs++] = (struct subscriber){
		.name = name, .mask = mask, .fn = fn, .ctx = ctx
	};
	return 0;
}

void bus_unsubscribe(struct daemon *d, bus_fn fn, void *ctx)
{
	int i;

	for (i = 0; i < bus.nr_subs; i++) {
		if (bus.subs[i].fn != fn || bus.subs[i].ctx != ctx)
			continue;
		memmove(&bus.subs[i], &bus.subs[i + 1],
			(bus.nr_subs - i - 1) * sizeof(bus.subs[0]));
		bus.nr_subs--;
		i--;
	}
}

void bus_publish(struct daemon *d, struct fl_event *ev)
{
	struct timespec ts;
	int i, n;

	if (ev->type >= FL_EV_COUNT)
		return;
	if (!ev->time) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ev->time = ts.tv_sec + ts.tv_nsec / 1e9;
	}
	bus.published[ev->type]++;
	/* Subscribers added by a subscriber get the next event, not this. */
	n = bus.nr_subs;
	for (i = 0; i < n && i < bus.nr_subs; i++)
		if (bus.subs[i].mask & FL_EV_MASK(ev->type))
			bus.subs[i].fn(bus.subs[i].ctx, ev);
}

struct json_object *bus_json(const struct daemon *d)
{
	struct json_object *o = json_object_new_object(), *subs, *pub, *ev;
	int i, t;

	subs = json_object_new_array();
	for (i = 0; i < bus.nr_subs; i++) {
		struct json_object *s = json_object_new_object();

		json_object_object_add(s, "name",
				       json_object_new_string(bus.subs[i].name));
		ev = json_object_new_array();
		for (t = 0; t < FL_EV_COUNT; t++)
			if (bus.subs[i].mask & FL_EV_MASK(t))
				json_object_array_add(
					ev, json_object_new_string(
						    event_names[t]));
		json_object_object_add(s, "events", ev);
		json_object_array_add(subs, s);
	}
	json_object_object_add(o, "subscribers", subs);
	pub = json_object_new_object();
	for (t = 0; t < FL_EV_COUNT; t++)
		json_object_object_add(pub, event_names[t],
				       json_object_new_uint64(bus.published[t]));
	json_object_object_add(o, "published", pub);
	return o;
}
