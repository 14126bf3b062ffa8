// SPDX-License-Identifier: Apache-2.0
/*
 * The 1-second control tick: sum the per-CPU counters the XDP program
 * keeps, and turn the difference from the previous tick into rates. Per
 * interface for `flctl show stats`; per address (protected prefixes and
 * heavy hitters, the only addresses with exact counters) for `flctl top`.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "daemon.h"
#include "log.h"
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

static void ip_entry_update(struct daemon *d, const struct fl_ip_id *id,
			    const struct fl_ip_stats *percpu)
{
	struct fl_traffic sum[FL_SIDE_COUNT];
	struct fl_ip_entry *e;
	bool fresh = false;
	__u32 reason;
	int side;

	reason = rates_sum_ip_stats(d, percpu, sum);

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
			memcpy(e->now, sum, sizeof(sum));
	}
	for (side = 0; side < FL_SIDE_COUNT; side++) {
		e->pps[side] = rate(sum[side].packets, e->now[side].packets,
				    d->interval, fresh);
		e->bps[side] = 8 * rate(sum[side].bytes, e->now[side].bytes,
					d->interval, fresh);
		e->sps[side] = rate(sum[side].syns, e->now[side].syns,
				    d->interval, fresh);
	}
	memcpy(e->now, sum, sizeof(sum));
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

int rates_tick(struct daemon *d)
{
	struct fl_ip_entry *e, *tmp;
	struct timespec now;
	int i, err;

	clock_gettime(CLOCK_MONOTONIC, &now);
	d->interval = d->ticks ? timespec_diff(&now, &d->last_tick) : 0;
	d->last_tick = now;
	d->generation++;

	for (i = 0; i < d->nr_ifaces; i++) {
		struct fl_iface *ifc = &d->ifaces[i];

		ifc->before = ifc->now;
		if (rates_read_if_stats(d, ifc->ifindex, &ifc->now))
			continue;
		if (!d->ticks)
			ifc->before = ifc->now;
		ifc->pps = rate(ifc->now.packets, ifc->before.packets,
				d->interval, false);
		ifc->bps = 8 * rate(ifc->now.bytes, ifc->before.bytes,
				    d->interval, false);
	}

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

void rates_free(struct daemon *d)
{
	struct fl_ip_entry *e, *tmp;

	HASH_ITER(hh, d->ips, e, tmp) {
		HASH_DEL(d->ips, e);
		free(e);
	}
}
