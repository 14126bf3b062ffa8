// SPDX-License-Identifier: Apache-2.0
/*
 * The control tick (FL_TICK_MS): sum the per-CPU counters the XDP program
 * keeps and turn them into rates. Per address (protected prefixes and
 * heavy hitters, the only addresses with exact counters) every tick, over
 * a sliding window of the last FL_RATE_SLOTS ticks, for the DDoS engine
 * and `flctl top`: each entry keeps its last FL_RATE_SLOTS per-tick
 * differences, so a rate is exact over the window, not an average of
 * averages. Per interface, for `flctl show stats`, once a window.
 *
 * What a tick costs grows with the addresses that are busy, not with all
 * the tracked ones. Reading a whole map costs the kernel a bucket lock
 * (interrupts off and on) per bucket, busy or not, and this process an
 * update per entry: at 65,536 hosts, more than the tick's budget. So the
 * maps are read whole once a window (FL_RATE_SLOTS ticks; also how
 * entries the LRU evicted are noticed; entries idle since the last whole
 * read are then only counted), and the ticks in between look up
 * by key only the live entries (something in their window: they had
 * packets within the last window) and the addresses the DDoS engine's
 * packet samples just named (rates_watch()), so a flood on an address
 * that was idle counts from the tick after its first samples, not a
 * window later. An address that wakes up unsampled (no threshold covers
 * it) shows up at the next whole read, within a window. When too many
 * are live for lookups one by one to be cheaper, the tick reads the maps
 * whole.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "daemon.h"
#include "ifstats.h"
#include "log.h"
#include "module.h"
#include "flowlens.skel.h"

#define BATCH_ENTRIES 1024
/* A packet counted just before a read may carry a last-seen time a bit
 * older than the read (the coarse clock's tick, the program's run). */
#define LAST_SEEN_SLACK_NS 50000000ULL
/* More live or watched addresses than this: read the maps whole. A
 * lookup by key costs about what a batch costs per bucket. */
#define LOOKUPS_MAX 4096
#define WATCH_MAX LOOKUPS_MAX
#define WATCH_RECENT 8 /* watched addresses compared with a new one */

static double timespec_diff(const struct timespec *a, const struct timespec *b)
{
	return (a->tv_sec - b->tv_sec) + (a->tv_nsec - b->tv_nsec) / 1e9;
}

int rates_read_if_stats(struct daemon *d, int ifindex, struct fl_if_stats *sum)
{
	return fl_ifstats_sum(bpf_map__fd(d->skel->maps.FL_MAP_IF_FAST),
			      bpf_map__fd(d->skel->maps.FL_MAP_IF_STATS), ifindex,
			      sum);
}

static double rate(__u64 now, __u64 before, double interval, bool fresh)
{
	if (interval <= 0)
		return 0;
	/* A fresh entry, or one the LRU evicted and re-created, counted
	 * everything it has within the last interval. */
	if (fresh || now < before)
		return now / interval;
	return (now - before) / interval;
}

__u32 rates_sum_ip_stats(const struct daemon *d,
			 const struct fl_ip_stats *percpu,
			 struct fl_traffic sum[FL_SIDE_COUNT])
{
	__u32 reason = 0;
	int cpu, side;

	memset(sum, 0, FL_SIDE_COUNT * sizeof(*sum));
	for (cpu = 0; cpu < d->ncpus; cpu++) {
		for (side = 0; side < FL_SIDE_COUNT; side++) {
			sum[side].packets += percpu[cpu].side[side].packets;
			sum[side].bytes += percpu[cpu].side[side].bytes;
			sum[side].syns += percpu[cpu].side[side].syns;
		}
		reason |= percpu[cpu].reason;
	}
	return reason;
}

/* One address's counters as a vector, indexed by enum fl_counter. */
static void counters_of(const struct fl_traffic sum[FL_SIDE_COUNT],
			const __u64 rx_packets[FL_RX_COUNT],
			const __u64 rx_bytes[FL_RX_COUNT], __u64 *c)
{
	int k;

	c[FL_C_TX_PACKETS] = sum[FL_SIDE_SRC].packets;
	c[FL_C_TX_BYTES] = sum[FL_SIDE_SRC].bytes;
	c[FL_C_TX_SYNS] = sum[FL_SIDE_SRC].syns;
	c[FL_C_RX_PACKETS] = sum[FL_SIDE_DST].packets;
	c[FL_C_RX_BYTES] = sum[FL_SIDE_DST].bytes;
	c[FL_C_RX_SYNS] = sum[FL_SIDE_DST].syns;
	for (k = 0; k < FL_RX_COUNT; k++) {
		c[FL_C_RX_CLASS_PACKETS + k] = rx_packets[k];
		c[FL_C_RX_CLASS_BYTES + k] = rx_bytes[k];
	}
}

static void live_add(struct daemon *d, struct fl_ip_entry *e)
{
	if (e->live_pprev)
		return;
	d->nr_live++;
	e->live_next = d->ips_live;
	if (d->ips_live)
		d->ips_live->live_pprev = &e->live_next;
	d->ips_live = e;
	e->live_pprev = &d->ips_live;
}

static void live_del(struct fl_ip_entry *e)
{
	if (!e->live_pprev)
		return;
	*e->live_pprev = e->live_next;
	if (e->live_next)
		e->live_next->live_pprev = e->live_pprev;
	e->live_next = NULL;
	e->live_pprev = NULL;
}

static void live_remove(struct daemon *d, struct fl_ip_entry *e)
{
	if (e->live_pprev)
		d->nr_live--;
	live_del(e);
}

void rates_forget(struct daemon *d, struct fl_ip_entry *e)
{
	live_remove(d, e);
	HASH_DEL(d->ips, e);
	free(e);
}

/* The rates from the window, and the entry on the live list or off it. */
static void ip_entry_rates(struct daemon *d, struct fl_ip_entry *e)
{
	bool live = false;
	int k;

	for (k = 0; k < FL_C_COUNT; k++) {
		e->rate[k] = d->interval > 0 ? e->window[k] / d->interval : 0;
		live |= e->window[k] != 0;
	}
	e->pps[FL_SIDE_SRC] = e->rate[FL_C_TX_PACKETS];
	e->bps[FL_SIDE_SRC] = 8 * e->rate[FL_C_TX_BYTES];
	e->sps[FL_SIDE_SRC] = e->rate[FL_C_TX_SYNS];
	e->pps[FL_SIDE_DST] = e->rate[FL_C_RX_PACKETS];
	e->bps[FL_SIDE_DST] = 8 * e->rate[FL_C_RX_BYTES];
	e->sps[FL_SIDE_DST] = e->rate[FL_C_RX_SYNS];
	if (live)
		live_add(d, e);
	else
		live_remove(d, e);
}

/* A tick that did not update @e: no packets, the window moves on. */
static void ip_entry_age(struct daemon *d, struct fl_ip_entry *e)
{
	int k;

	for (k = 0; k < FL_C_COUNT; k++) {
		e->window[k] -= e->delta[d->slot][k];
		e->delta[d->slot][k] = 0;
	}
	ip_entry_rates(d, e);
}

/* One address's counters, summed over CPUs, into its entry. */
static void ip_entry_apply(struct daemon *d, const struct fl_ip_id *id,
			   const struct fl_traffic sum[FL_SIDE_COUNT],
			   const __u64 *rx_packets, const __u64 *rx_bytes,
			   __u32 reason)
{
	__u64 c[FL_C_COUNT], delta;
	struct fl_ip_entry *e;
	bool fresh = false;
	int k;

	counters_of(sum, rx_packets, rx_bytes, c);

	HASH_FIND(hh, d->ips, id, sizeof(*id), e);
	/* Idle, and nothing in its window: every delta is and stays 0, and
	 * its rates 0. The common case of a whole read. */
	if (e && !e->live_pprev && !memcmp(c, e->count, sizeof(c))) {
		e->reason = reason;
		e->generation = d->generation;
		return;
	}
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return;
		e->id = *id;
		HASH_ADD(hh, d->ips, id, sizeof(e->id), e);
		/* On the first tick everything is old news, not a rate. */
		fresh = d->ticks > 0;
		if (!fresh)
			memcpy(e->count, c, sizeof(c));
	}
	for (k = 0; k < FL_C_COUNT; k++) {
		/* A fresh entry, or one the LRU evicted and re-created,
		 * counted everything it has within the last tick. */
		delta = fresh || c[k] < e->count[k] ? c[k] : c[k] - e->count[k];
		if (delta > UINT32_MAX)
			delta = UINT32_MAX;
		/* The window's sum, kept running: in the new, out the
		 * slot it overwrites. */
		e->window[k] += delta - e->delta[d->slot][k];
		e->delta[d->slot][k] = delta;
	}
	memcpy(e->count, c, sizeof(c));
	memcpy(e->now, sum, FL_SIDE_COUNT * sizeof(*sum));
	ip_entry_rates(d, e);
	e->reason = reason;
	e->generation = d->generation;
}

static void ip_entry_update(struct daemon *d, const struct fl_ip_id *id,
			    const struct fl_ip_stats *percpu)
{
	struct fl_traffic sum[FL_SIDE_COUNT];
	__u64 rx_packets[FL_RX_COUNT] = {}, rx_bytes[FL_RX_COUNT] = {};
	int cpu, k;
	__u32 reason;

	reason = rates_sum_ip_stats(d, percpu, sum);
	for (cpu = 0; cpu < d->ncpus; cpu++) {
		for (k = 0; k < FL_RX_COUNT; k++) {
			rx_packets[k] += percpu[cpu].rx_packets[k];
			rx_bytes[k] += percpu[cpu].rx_bytes[k];
		}
	}
	ip_entry_apply(d, id, sum, rx_packets, rx_bytes, reason);
}

/* The latest last-seen time of an entry's CPUs. */
static __u64 ip_last_seen(const struct daemon *d,
			  const struct fl_ip_stats *percpu)
{
	__u64 last = 0;
	int cpu;

	for (cpu = 0; cpu < d->ncpus; cpu++)
		if (percpu[cpu].last_seen_ns > last)
			last = percpu[cpu].last_seen_ns;
	return last;
}

/*
 * Reads one exact-counter map in batches and updates the entries, all
 * but those last seen before @idle_before (0: none is skipped), which
 * are counted in *@skipped; *@read counts every entry.
 */
static int ip_map_scan(struct daemon *d, struct bpf_map *map, int family,
		       __u64 idle_before, size_t *read, size_t *skipped)
{
	size_t key_size = bpf_map__key_size(map);
	size_t value_size = d->ncpus * sizeof(struct fl_ip_stats);
	__u32 count, i, batch_token = 0;
	bool first = true, done = false;
	struct fl_ip_id id;
	void *keys, *values;
	int fd = bpf_map__fd(map), err = 0;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	keys = calloc(BATCH_ENTRIES, key_size);
	values = calloc(BATCH_ENTRIES, value_size);
	if (!keys || !values) {
		err = -ENOMEM;
		goto out;
	}
	while (!done) {
		count = BATCH_ENTRIES;
		err = bpf_map_lookup_batch(fd, first ? NULL : &batch_token,
					   &batch_token, keys, values, &count,
					   &opts);
		if (err) {
			err = -errno;
			if (err != -ENOENT)
				goto out;
			err = 0;
			done = true; /* last, possibly partial, batch */
		}
		first = false;
		for (i = 0; i < count; i++) {
			const struct fl_ip_stats *percpu =
				(void *)((char *)values + i * value_size);

			(*read)++;
			if (idle_before &&
			    ip_last_seen(d, percpu) < idle_before) {
				(*skipped)++;
				continue;
			}
			memset(&id, 0, sizeof(id));
			id.family = family;
			memcpy(id.addr.b, (char *)keys + i * key_size,
			       key_size);
			ip_entry_update(d, &id, percpu);
		}
	}
out:
	free(keys);
	free(values);
	return err;
}

static struct bpf_map *ip_map(struct daemon *d, int family)
{
	return family == AF_INET ? d->skel->maps.FL_MAP_IP4_STATS :
				   d->skel->maps.FL_MAP_IP6_STATS;
}

/* One address by key; -ENOENT once the LRU evicted it (or never had it). */
static int ip_lookup(struct daemon *d, const struct fl_ip_id *id,
		     struct fl_ip_stats *percpu)
{
	struct bpf_map *map = ip_map(d, id->family);

	if (bpf_map__lookup_elem(map, id->addr.b, bpf_map__key_size(map),
				 percpu, d->ncpus * sizeof(*percpu), 0))
		return -errno;
	ip_entry_update(d, id, percpu);
	return 0;
}

void rates_watch(struct daemon *d, int family, const union fl_addr *addr)
{
	struct fl_ip_id id = { .family = family };
	struct fl_ip_entry *e;
	size_t i;

	memcpy(&id.addr, addr, family == AF_INET ? 4 : 16);
	HASH_FIND(hh, d->ips, &id, sizeof(id), e);
	if (e && e->live_pprev) /* read every tick anyway */
		return;
	/* a flood's samples name its victim over and over */
	for (i = d->nr_watch; i > 0 && i + WATCH_RECENT > d->nr_watch; i--)
		if (!memcmp(&d->watch[i - 1], &id, sizeof(id)))
			return;
	if (d->nr_watch == WATCH_MAX) {
		d->watch_overflow = true;
		return;
	}
	d->watch[d->nr_watch++] = id;
}

/* A tick between whole reads: the live entries and the watched ones. */
static void ip_lookup_some(struct daemon *d, struct fl_ip_stats *percpu)
{
	struct fl_ip_entry *e, *next;
	size_t i;

	for (e = d->ips_live; e; e = next) {
		next = e->live_next; /* the update may take e off the list */
		if (ip_lookup(d, &e->id, percpu) == -ENOENT)
			rates_forget(d, e);
	}
	for (i = 0; i < d->nr_watch; i++) {
		HASH_FIND(hh, d->ips, &d->watch[i], sizeof(d->watch[i]), e);
		if (!e || e->generation != d->generation)
			ip_lookup(d, &d->watch[i], percpu);
	}
}

static __u64 coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * Both maps whole. An entry last seen before the previous whole read
 * began has not changed since that read, which put it in ips: it is only
 * counted, not looked up (most of a whole read's cost at 65,536 idle
 * hosts). Live entries so skipped still age. If the maps then hold as
 * many entries as ips, none was evicted; otherwise the next whole read
 * skips nothing and finds which (*@exact tells the caller to sweep).
 */
static int ip_read_whole(struct daemon *d, bool *exact)
{
	__u64 start = coarse_ns(), idle_before = 0;
	size_t read = 0, skipped = 0;
	struct fl_ip_entry *e, *next;
	int err;

	*exact = !d->whole_read_ns || d->whole_read_exact ||
		 d->whole_read_ns < LAST_SEEN_SLACK_NS;
	if (!*exact)
		idle_before = d->whole_read_ns - LAST_SEEN_SLACK_NS;
	err = ip_map_scan(d, d->skel->maps.FL_MAP_IP4_STATS, AF_INET,
			  idle_before, &read, &skipped);
	err = err ?: ip_map_scan(d, d->skel->maps.FL_MAP_IP6_STATS, AF_INET6,
				 idle_before, &read, &skipped);
	if (err) {
		d->whole_read_exact = true;
		return err;
	}
	d->whole_read_ns = start;
	d->whole_read_exact = !*exact && read != HASH_COUNT(d->ips);
	if (*exact)
		return 0;
	for (e = d->ips_live; e; e = next) {
		next = e->live_next; /* aging may take e off the list */
		if (e->generation != d->generation)
			ip_entry_age(d, e);
	}
	return 0;
}

/*
 * The per-IP counters into their entries. Returns 0 and sets *@sweep
 * when every entry in the maps was looked at (an evicted entry is then
 * one this tick did not update).
 */
static int ip_scan(struct daemon *d, bool *sweep)
{
	struct fl_ip_stats *percpu;
	int err;

	*sweep = false;
	if (d->ticks % FL_RATE_SLOTS == 0 || d->watch_overflow ||
	    d->nr_live + d->nr_watch > LOOKUPS_MAX) {
		err = ip_read_whole(d, sweep);
	} else {
		percpu = calloc(d->ncpus, sizeof(*percpu));
		if (!percpu)
			return -ENOMEM;
		ip_lookup_some(d, percpu);
		free(percpu);
		err = 0;
	}
	d->nr_watch = 0;
	d->watch_overflow = false;
	return err;
}

static void if_rates(struct daemon *d, const struct timespec *now)
{
	int i;

	d->if_interval = d->ticks ? timespec_diff(now, &d->if_tick) : 0;
	d->if_tick = *now;
	for (i = 0; i < d->nr_ifaces; i++) {
		struct fl_iface *ifc = &d->ifaces[i];

		ifc->before = ifc->now;
		if (rates_read_if_stats(d, ifc->ifindex, &ifc->now))
			continue;
		if (!d->ticks)
			ifc->before = ifc->now;
		ifc->pps = rate(ifc->now.packets, ifc->before.packets,
				d->if_interval, false);
		ifc->bps = 8 * rate(ifc->now.bytes, ifc->before.bytes,
				    d->if_interval, false);
	}
}

static int rates_tick(struct daemon *d)
{
	struct fl_ip_entry *e, *tmp;
	struct timespec now;
	bool sweep;
	int slot, err;

	clock_gettime(CLOCK_MONOTONIC, &now);
	/* This tick's slot: its length now, its old deltas overwritten. */
	d->slot = (d->slot + 1) % FL_RATE_SLOTS;
	d->slot_seconds[d->slot] =
		d->ticks ? timespec_diff(&now, &d->last_tick) : 0;
	for (d->interval = 0, slot = 0; slot < FL_RATE_SLOTS; slot++)
		d->interval += d->slot_seconds[slot];
	d->last_tick = now;
	d->generation++;

	if (d->ticks % FL_RATE_SLOTS == 0)
		if_rates(d, &now);

	err = ip_scan(d, &sweep);
	if (err)
		pr_warn("reading per-IP counters: %s", strerror(-err));

	/* Addresses the LRU evicted since the last whole read (only known
	 * when both maps were read whole, every entry looked at). */
	if (!err && sweep) {
		HASH_ITER(hh, d->ips, e, tmp)
			if (e->generation != d->generation)
				rates_forget(d, e);
	}
	d->ticks++;
	return err;
}

static void rates_free(struct daemon *d)
{
	struct fl_ip_entry *e, *tmp;

	HASH_ITER(hh, d->ips, e, tmp)
		rates_forget(d, e);
	free(d->watch);
	d->watch = NULL;
}

/* A baseline, so the first real tick has rates. */
static int rates_open(struct daemon *d)
{
	d->watch = calloc(WATCH_MAX, sizeof(*d->watch));
	if (!d->watch)
		return -ENOMEM;
	rates_tick(d);
	return 0;
}

static void rates_module_tick(struct daemon *d)
{
	rates_tick(d);
}

const struct fl_module rates_module = {
	.name = "rates",
	.open = rates_open,
	.close = rates_free,
	.tick = rates_module_tick,
	.commands = rates_commands,
};
