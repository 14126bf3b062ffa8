/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: the rule engine's maps, kept by userspace (layout: include/flowlens/
 * rules.h; datapath: bpf/rules.h). flowlensd, the differential test and the
 * benchmark all change rules through this and nothing else.
 *
 *   fl_ruleset_maps_of()  the engine's maps in a loaded flowlens object
 *   fl_ruleset_open()     on the engine's maps; recovers whatever rules the
 *                         maps already hold (a daemon restart), adopting
 *                         the published shapes so filtering never pauses
 *   fl_ruleset_add()      rules, all or none: shapes, chain room and ids
 *                         are checked before anything is written
 *   fl_ruleset_del()      one rule; fl_ruleset_flush() all of them
 *   fl_ruleset_expire()   delete rules whose expiry time has passed
 *   fl_ruleset_get()      one rule as given, and its counters
 *   fl_ruleset_for_each() every rule, in id order
 *   fl_ruleset_for_each_after() the same, from the first id above one
 *   fl_ruleset_shapes()   the shapes of one family with their rule counts
 *
 * Not thread-safe; one owner per set of maps.
 */
#ifndef FL_RULESET_H
#define FL_RULESET_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <flowlens/rules.h>

struct fl_ruleset;
struct bpf_object;

struct fl_ruleset_maps {
	int shape4, shape6; /* FL_MAP_RULE_SHAPE4/6 */
	int sets; /* FL_MAP_RULE_SETS */
	int rules, tat, stats, defs; /* FL_MAP_RULES ... FL_MAP_RULE_DEFS */
};

/* A shape as operators read it. */
struct fl_ruleset_shape {
	int family; /* 4 or 6 */
	__u32 tag, slot;
	__u32 min_order;
	__u32 rules; /* rules in this shape */
	__u32 keys; /* distinct keys (hash entries) */
	__u32 capacity; /* of its hash */
	__u32 fields; /* FL_RF_* held in the key */
	__u8 src_len, dst_len; /* prefix lengths in the key */
	__u8 sport_bits, dport_bits; /* leading port bits in the key */
	__u8 tcp_mask;
	__u8 need; /* enum fl_rule_need */
};

/* The maps of a flowlens BPF object (opened or loaded), by name. */
int fl_ruleset_maps_of(struct bpf_object *obj, struct fl_ruleset_maps *maps);
/* Room for @max rule ids; on an opened object, before it is loaded. */
int fl_ruleset_set_max(struct bpf_object *obj, __u32 max);

int fl_ruleset_open(const struct fl_ruleset_maps *maps, struct fl_ruleset **rs,
		    char *err, size_t errlen);
void fl_ruleset_free(struct fl_ruleset *rs);

/*
 * Adds @n rules; each gets its id in rules[i].id. rules[i].expires is
 * relative (seconds from now); the absolute time is kept. On error nothing
 * was added, *bad is the index of the rule at fault (or n when none is) and
 * @err says why: too many shapes, a full chain, no free id, a map error.
 */
int fl_ruleset_add(struct fl_ruleset *rs, struct fl_rule *rules, size_t n,
		   size_t *bad, char *err, size_t errlen);
/* 0, or -ENOENT. */
int fl_ruleset_del(struct fl_ruleset *rs, __u32 id);
int fl_ruleset_flush(struct fl_ruleset *rs);
/* Deletes the rules expired at @now (fl_ruleset_now()); returns how
 * many, calling @fn (if set) for each before it goes. */
int fl_ruleset_expire(struct fl_ruleset *rs, __u64 now,
		      void (*fn)(const struct fl_rule_def *def, void *arg),
		      void *arg);

/* CLOCK_REALTIME in ns, the clock of fl_rule_def.expires_at. */
__u64 fl_ruleset_now(void);
/* Whole seconds @def has left at @now, rounded up; 0 once expired. */
__u64 fl_rule_seconds_left(const struct fl_rule_def *def, __u64 now);

size_t fl_ruleset_count(const struct fl_ruleset *rs);
/* 0, or -ENOENT; @stats (if set) summed over CPUs. */
int fl_ruleset_get(struct fl_ruleset *rs, __u32 id, struct fl_rule_def *def,
		   struct fl_rule_stats *stats);
/* Stops early when @fn returns non-zero, and returns that. */
int fl_ruleset_for_each(struct fl_ruleset *rs,
			int (*fn)(const struct fl_rule_def *def, void *arg),
			void *arg);
/* The rules with ids above @after, as fl_ruleset_for_each(). */
int fl_ruleset_for_each_after(struct fl_ruleset *rs, __u32 after,
			      int (*fn)(const struct fl_rule_def *def,
					void *arg),
			      void *arg);
/* Fills at most @max shapes of @family (4 or 6), ordered as the datapath
 * probes them; returns how many. */
int fl_ruleset_shapes(const struct fl_ruleset *rs, int family,
		      struct fl_ruleset_shape *out, int max);

#endif /* FL_RULESET_H */
