// SPDX-License-Identifier: Apache-2.0
/*
 * The DDoS engine, on every control tick (rates.c has just refreshed the
 * per-IP rates over the last second):
 *
 *   1. read the packet samples XDP sent since the last tick (account.h);
 *   2. for every tracked address a threshold covers (the longest matching
 *      prefix of each direction), compare its rates with the limits. Above
 *      any limit, it is "above" (a crossing); it stays above until every
 *      rate is under 90 % of its limit (hysteresis);
 *   3. a crossing with no attack on that address starts one: the samples
 *      of the last second that match the crossed metric give its signature
 *      (sources, protocol, ports), the signature gives rules, and the rules
 *      go through the rule engine marked with the attack's id;
 *   4. an attack below its threshold for its hold time ends: its rules go.
 *      Re-crossing during hold extends it, so a flapping flood keeps its
 *      rules instead of churning them. Once a second, an active attack with
 *      a sources signature gets rules for new dominant sources.
 *
 * Thresholds, the allowlist, the next attack id, the active attacks and
 * the history live in ddos.json next to the state file, rewritten on every
 * change, so a restart or a reboot loses none of them; the rules
 * themselves persist with the rule engine (pinned maps, rules.conf).
 *
 * The engine's parts, one file each, sharing ddos_priv.h:
 *   ddos.c            the module: open (restore, allowlist, samples) and close
 *   ddos_engine.c     thresholds of an address, the tick, attacks start/end
 *   ddos_signature.c  the samples ring and an attack's signature
 *   ddos_mitigate.c   the rules of a signature, installed and removed
 *   ddos_allow.c      the allowlist, its map and its commands
 *   ddos_state.c      ddos.json: save and restore
 *   ddos_json.c       thresholds and attacks as JSON
 *   ddos_cmd.c        the threshold, attacks and status commands
 *   ddos_events.c     the events file, a bus subscriber (its own module)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "ddos_priv.h"
#include "log.h"
#include "module.h"
#include "flowlens.skel.h"

static int ddos_open(struct daemon *d)
{
	struct ddos *dd = calloc(1, sizeof(*dd));
	__u32 last;
	int i, err;

	if (!dd)
		return -ENOMEM;
	d->ddos = dd;
	dd->thresholds = calloc(DDOS_THRESHOLDS_MAX, sizeof(*dd->thresholds));
	dd->allow = calloc(FL_ALLOW_MAX, sizeof(*dd->allow));
	dd->samples = calloc(DDOS_SAMPLES_MAX, sizeof(*dd->samples));
	dd->history = json_object_new_array();
	if (!dd->thresholds || !dd->allow || !dd->samples || !dd->history)
		return -ENOMEM;
	dd->next_id = 1;
	dd->threshold_gen = 1; /* entries start at 0: not looked up yet */
	dd->now_ns = mono_ns();
	ddos_paths_init(d);

	ddos_restore(d);
	if (!dd->next_id)
		dd->next_id = 1;
	/* The file is the truth after a reboot; after a restart the pinned
	 * tries already hold the same prefixes. */
	for (i = 0; i < dd->nr_allow; i++) {
		err = allow_map_update(d, &dd->allow[i], true);
		if (err)
			pr_warn("ddos: cannot allowlist a prefix: %s",
				strerror(-err));
	}
	err = allow_count_write(d);
	if (err)
		pr_warn("ddos: cannot write the allowlist's size: %s",
			strerror(-err));
	rules_for_each(d, orphan_rule, d);
	last = ddos_events_last_id(events_file_path(d));
	if (last >= dd->next_id)
		dd->next_id = last + 1;

	dd->rb = ring_buffer__new(bpf_map__fd(d->skel->maps.FL_MAP_SAMPLES),
				  ddos_sample_read, d, NULL);
	if (!dd->rb)
		pr_warn("ddos: no packet samples (%s): attack signatures fall back to the victim",
			strerror(errno));
	dd->sample_rate = ~0U; /* unknown: the first tick writes it */
	ddos_save(d);
	return 0;
}

static void ddos_close(struct daemon *d)
{
	struct ddos *dd = d->ddos;
	struct ddos_attack *a, *next;
	struct ddos_victim *v, *tmp;

	if (!dd)
		return;
	/* Active attacks keep their rules: a stopped daemon fails open
	 * for new attacks, not for the ones already mitigated. */
	ddos_save(d);
	for (a = dd->active; a; a = next) {
		next = a->next;
		free(a);
	}
	HASH_ITER(hh, dd->victims, v, tmp) {
		HASH_DEL(dd->victims, v);
		free(v);
	}
	ring_buffer__free(dd->rb);
	json_object_put(dd->history);
	free(dd->thresholds);
	free(dd->allow);
	free(dd->samples);
	free(dd);
	d->ddos = NULL;
}

const struct fl_module ddos_module = {
	.name = "ddos",
	.open = ddos_open,
	.close = ddos_close,
	.tick = ddos_tick,
	.save = ddos_save,
	.commands = ddos_commands,
};
