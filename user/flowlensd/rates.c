// SPDX-License-Identifier: Apache-2.0
/*
 * The control tick (FL_TICK_MS): sum the per-CPU counters the XDP program
 * keeps and turn them into rates. Per address (protected prefixes and
 * heavy hitters, the only addresses with exact counters) every tick, over
 * a sliding window of the last FL_RATE_SLOTS ticks, for the DDoS engine
 * and `flctl top`: each entry keeps its last FL_RATE_SLOTS per-tick
 * differences, so a rate is exact over the window, not an average of
 * averages. Per interface, for `flctl show stats`, once a window.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "daemon.h"
#include "log.h"
#include "module.h"
#include "flowlens.skel.h"

#define BATCH_ENTRIES 1024

static double timespec_diff(const struct timespec *a, const struct timespec *b)
{
	return (a->tv_sec - b->tv_sec) + (a->tv_nsec - b->tv_nsec) / 1e9;
}

int rates_read_if_stats(struct daemon *d, int ifindex, struct fl_if_stats *sum)
{
	const size_t words = sizeof(*sum) / sizeof(__u64);
	size_t size = d->ncpus * sizeof(*sum);
	struct fl_if_stats *percpu = malloc(size);
	__u32 key = ifindex;
	__u64 *out = (__u64 *)sum;
	int cpu, err;
	size_t i;

	if (!percpu)
		return -ENOMEM;
	memset(sum, 0, sizeof(*sum));
	err = bpf_map__lookup_elem(d->skel->maps.FL_MAP_IF_STATS, &key,
				   sizeof(key), percpu, size, 0);
	if (!err) {
		for (cpu = 0; cpu < d->ncpus; cpu++) {
			const __u64 *in = (const __u64 *)&percpu[cpu];

			for (i = 0; i < words; i++)
				out[i] += in[i];
		}
	}
	free(percpu);
	return err;
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

static void ip_entry_update(struct daemon *d, const struct fl_ip_id *id,
			    const struct fl_ip_stats *percpu)
{
	struct fl_traffic sum[FL_SIDE_COUNT];
	__u64 rx_packets[FL_RX_COUNT] = {}, rx_bytes[FL_RX_COUNT] = {};
	__u64 c[FL_C_COUNT], delta;
	struct fl_ip_entry *e;
	bool fresh = false;
	int cpu, k;
	__u32 reason;

	reason = rates_sum_ip_stats(d, percpu, sum);
	for (cpu = 0; cpu < d->ncpus; cpu++) {
		for (k = 0; k < FL_RX_COUNT; k++) {
			rx_packets[k] += percpu[cpu].rx_packets[k];
			rx_bytes[k] += percpu[cpu].rx_bytes[k];
		}
	}
	counters_of(sum, rx_packets, rx_bytes, c);

	HASH_FIND(hh, d->ips, id, sizeof(*id), e);
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
		e->rate[k] = d->interval > 0 ? e->window[k] / d->interval : 0;
	}
	memcpy(e->count, c, sizeof(c));
	memcpy(e->now, sum, sizeof(sum));
	e->pps[FL_SIDE_SRC] = e->rate[FL_C_TX_PACKETS];
	e->bps[FL_SIDE_SRC] = 8 * e->rate[FL_C_TX_BYTES];
	e->sps[FL_SIDE_SRC] = e->rate[FL_C_TX_SYNS];
	e->pps[FL_SIDE_DST] = e->rate[FL_C_RX_PACKETS];
	e->bps[FL_SIDE_DST] = 8 * e->rate[FL_C_RX_BYTES];
	e->sps[FL_SIDE_DST] = e->rate[FL_C_RX_SYNS];
	e->reason = reason;
	e->generation = d->generation;
}

/* Reads one exact-counter map in batches and updates the entries. */
static int ip_map_scan(struct daemon *d, struct bpf_map *map, int family)
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
			memset(&id, 0, sizeof(id));
			id.family = family;
			memcpy(id.addr.b, (char *)keys + i * key_size,
			       key_size);
			ip_entry_update(
				d, &id,
				(void *)((char *)values + i * value_size));
		}
	}
out:
	free(keys);
	free(values);
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

	err = ip_map_scan(d, d->skel->maps.FL_MAP_IP4_STATS, AF_INET);
	if (!err)
		err = ip_map_scan(d, d->skel->maps.FL_MAP_IP6_STATS, AF_INET6);
	if (err)
		pr_warn("reading per-IP counters: %s", strerror(-err));

	/* Addresses the LRU evicted since the last tick (only known when
	 * both scans completed). */
	HASH_ITER(hh, d->ips, e, tmp) {
		if (!err && e->generation != d->generation) {
			HASH_DEL(d->ips, e);
			free(e);
		}
	}
	d->ticks++;
	return err;
}

static void rates_free(struct daemon *d)
{
	struct fl_ip_entry *e, *tmp;

	HASH_ITER(hh, d->ips, e, tmp) {
		HASH_DEL(d->ips, e);
		free(e);
	}
}

/* A baseline, so the first real tick has rates. */
static int rates_open(struct daemon *d)
{
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
