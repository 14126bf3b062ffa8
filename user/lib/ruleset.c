// SPDX-License-Identifier: Apache-2.0
/*
 * The rule engine's userspace half: turns rules into shapes, keys and
 * chains (the layout include/flowlens/rules.h describes) and keeps the maps
 * in step. The model here mirrors the maps exactly; the maps are written
 * in an order that keeps every published state whole:
 *
 *   add     entries and defs of the new ids first (nothing points at
 *           them yet); a new shape's hash is filled before it goes into
 *           its slot, and the slot before the shape list that names it is
 *           published; a shape that outgrows its hash gets a bigger one,
 *           filled, then swapped into the slot (same tag, same keys)
 *   delete  off its chain (each hash update replaces one entry
 *           atomically), entry marked free, and a shape left empty leaves
 *           the published list before its slot is emptied
 *
 * Ids are handed out by a cursor that wraps, so a deleted id is reused
 * only after every other free id has been: a packet still holding it from
 * a lookup made before the delete would have to take a million rule
 * changes to see it reused.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <uthash.h>

#include <flowlens/maps.h>

#include "log.h"
#include "ruleset.h"

#define HASH_MIN_CAPACITY 1024U
#define BATCH 65536U

/* One key of one shape, and the rules that share it. */
struct chain {
	UT_hash_handle hh;
	__u32 n;
	__u32 ids[FL_RULE_CHAIN_MAX]; /* by (order, id) */
	/* changed since the hash was last written: on its shape's list of
	 * such chains, so a write touches only them */
	struct chain *dirty_next, **dirty_pprev;
	union {
		struct fl_rule_key4 k4;
		struct fl_rule_key6 k6;
	} key;
};

/* How many of a shape's rules have one order: min_order without a walk. */
struct order_count {
	UT_hash_handle hh;
	__u32 order;
	__u32 count;
};

struct shape {
	bool used;
	bool rebuild; /* write a whole new hash and swap it in */
	struct fl_rule_shape desc; /* tag, slot, masks, need: as published */
	__u32 fields;
	int hash_fd;
	__u32 capacity;
	__u32 nrules, nkeys;
	struct chain *chains;
	struct chain *dirty; /* chains to write */
	struct order_count *orders;
};

struct rec {
	struct fl_rule_def def;
	__s8 slot[2]; /* its shape in each family, or -1 */
};

struct fl_ruleset {
	struct fl_ruleset_maps maps;
	__u32 max_rules;
	int ncpus;
	struct rec **by_id;
	size_t count;
	__u32 cursor;
	__u32 next_tag;
	struct shape shapes[2][FL_RULE_SHAPES_MAX]; /* index: slot */
	/* what the datapath walks now, to publish only a change */
	struct fl_rule_shape_set published[2];
	bool published_valid[2];
	/* no rule expires before this (CLOCK_REALTIME ns; 0: none does) */
	__u64 next_expiry;
};

static size_t key_size(int v6)
{
	return v6 ? sizeof(struct fl_rule_key6) : sizeof(struct fl_rule_key4);
}

/* ---- rules -> shapes, keys, entries ------------------------------------ */

static void prefix_mask(union fl_addr *mask, unsigned int len)
{
	unsigned int i;

	memset(mask, 0, sizeof(*mask));
	for (i = 0; i < len / 8; i++)
		mask->b[i] = 0xff;
	if (len % 8)
		mask->b[i] = 0xff << (8 - len % 8);
}

/* Leading bits a port range fixes if it is an aligned power-of-two block
 * (16 for a single port, 0 for 0-65535), or -1. */
static int port_block_bits(__u16 min, __u16 max)
{
	__u32 size = (__u32)max - min + 1;
	int bits = 16;

	if (size & (size - 1) || min & (size - 1))
		return -1;
	while (size > 1) {
		size >>= 1;
		bits--;
	}
	return bits;
}

static __u16 port_mask(int bits)
{
	return bits > 0 ? (0xffffU << (16 - bits)) & 0xffff : 0;
}

/* Does @r apply to family index @v6 (0: IPv4, 1: IPv6)? */
static bool rule_in_family(const struct fl_rule *r, int v6)
{
	return !r->family || r->family == (v6 ? 6 : 4);
}

/* The shape (masks and needs; tag, slot, min_order left 0) and the key. */
static void rule_compile(const struct fl_rule *r, int v6,
			 struct fl_rule_shape *sh, __u32 *fields, void *key)
{
	struct fl_rule_key4 *k4 = key;
	struct fl_rule_key6 *k6 = key;
	struct fl_rule_key_l4 *kl4 = v6 ? &k6->l4 : &k4->l4;
	struct fl_rule_key_l4 *ml4 = &sh->l4_mask;
	__u32 f = r->fields;
	int bits;

	memset(sh, 0, sizeof(*sh));
	memset(key, 0, key_size(v6));
	*fields = 0;
	if (f & FL_RF_SRC) {
		prefix_mask(&sh->src_mask, r->src_len);
		if (v6)
			k6->src = r->src;
		else
			k4->src = r->src.w[0];
		*fields |= FL_RF_SRC;
	}
	if (f & FL_RF_DST) {
		prefix_mask(&sh->dst_mask, r->dst_len);
		if (v6)
			k6->dst = r->dst;
		else
			k4->dst = r->dst.w[0];
		*fields |= FL_RF_DST;
	}
	if (f & FL_RF_PROTO) {
		ml4->proto = 0xff;
		kl4->proto = r->proto;
		*fields |= FL_RF_PROTO;
	}
	if (f & FL_RF_SPORT) {
		sh->need |= FL_NEED_PORTS;
		bits = port_block_bits(r->sport_min, r->sport_max);
		ml4->sport = port_mask(bits);
		kl4->sport = r->sport_min & ml4->sport;
		if (bits > 0)
			*fields |= FL_RF_SPORT;
	}
	if (f & FL_RF_DPORT) {
		sh->need |= FL_NEED_PORTS;
		bits = port_block_bits(r->dport_min, r->dport_max);
		ml4->dport = port_mask(bits);
		kl4->dport = r->dport_min & ml4->dport;
		if (bits > 0)
			*fields |= FL_RF_DPORT;
	}
	if (f & FL_RF_TCP_FLAGS) {
		sh->need |= FL_NEED_TCP;
		ml4->tcp_flags = r->tcp_mask;
		kl4->tcp_flags =
			r->tcp_flags; /* bits outside the mask: never */
		*fields |= FL_RF_TCP_FLAGS;
	}
	if (f & FL_RF_DSCP) {
		ml4->dscp = 0x3f;
		kl4->dscp = r->dscp;
		*fields |= FL_RF_DSCP;
	}
	if (f & FL_RF_ICMP_TYPE) {
		sh->need |= FL_NEED_ICMP;
		ml4->icmp_type = 0xff;
		kl4->icmp_type = r->icmp_type;
		*fields |= FL_RF_ICMP_TYPE;
	}
	if (f & FL_RF_ICMP_CODE) {
		sh->need |= FL_NEED_ICMP;
		ml4->icmp_code = 0xff;
		kl4->icmp_code = r->icmp_code;
		*fields |= FL_RF_ICMP_CODE;
	}
}

/* rule_compile() leaves the tag out: it is the shape's, known later. */
static void key_set_tag(void *key, int v6, __u32 tag)
{
	if (v6)
		((struct fl_rule_key6 *)key)->tag = tag;
	else
		((struct fl_rule_key4 *)key)->tag = tag;
}

/* Same masks and needs: the part of a shape a rule decides. */
static bool shape_same(const struct fl_rule_shape *a,
		       const struct fl_rule_shape *b)
{
	return a->need == b->need &&
	       !memcmp(&a->src_mask, &b->src_mask, sizeof(a->src_mask)) &&
	       !memcmp(&a->dst_mask, &b->dst_mask, sizeof(a->dst_mask)) &&
	       !memcmp(&a->l4_mask, &b->l4_mask, sizeof(a->l4_mask));
}

static __u64 clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* The datapath's clock (bpf_ktime_get_ns). */
static __u64 mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

__u64 fl_ruleset_now(void)
{
	return clock_ns(CLOCK_REALTIME);
}

__u64 fl_rule_seconds_left(const struct fl_rule_def *def, __u64 now)
{
	if (!def->expires_at || def->expires_at <= now)
		return 0;
	return (def->expires_at - now + 999999999ULL) / 1000000000ULL;
}

static void rule_entry(const struct fl_rule_def *def, struct fl_rule_entry *e)
{
	const struct fl_rule *r = &def->rule;
	unsigned __int128 depth;
	__u8 bits = 0;

	memset(e, 0, sizeof(*e));
	e->order = r->order;
	e->action = r->action;
	e->frag = r->frag;
	e->rate_unit = r->rate_unit;
	e->origin = r->origin	      ?:
			    r->attack ? FL_RULE_FROM_DDOS :
					FL_RULE_FROM_OPERATOR;
	e->mark = r->mark;
	if ((r->fields & FL_RF_SPORT) &&
	    port_block_bits(r->sport_min, r->sport_max) < 0)
		bits |= FL_CHECK_SPORT;
	if ((r->fields & FL_RF_DPORT) &&
	    port_block_bits(r->dport_min, r->dport_max) < 0)
		bits |= FL_CHECK_DPORT;
	if (r->fields & FL_RF_LEN)
		bits |= FL_CHECK_LEN;
	if (r->fields & FL_RF_FRAG)
		bits |= FL_CHECK_FRAG;
	e->check = bits;
	e->sport_min = r->sport_min;
	e->sport_max = r->sport_max;
	e->dport_min = r->dport_min;
	e->dport_max = r->dport_max;
	e->len_min = r->len_min;
	e->len_max = r->len_max;
	if (r->action == FL_RULE_RATE_LIMIT && r->rate) {
		/* ns per packet, or per byte (the rate is in bits) */
		if (r->rate_unit == FL_RATE_BPS) {
			e->cost = (8000000000ULL << FL_RATE_SHIFT) / r->rate;
			depth = (unsigned __int128)r->burst * e->cost / 8;
		} else {
			e->cost = (1000000000ULL << FL_RATE_SHIFT) / r->rate;
			depth = (unsigned __int128)r->burst * e->cost;
		}
		depth >>= FL_RATE_SHIFT;
		e->depth = depth > ~0ULL ? ~0ULL : (__u64)depth;
	}
	if (def->expires_at) {
		__u64 now = fl_ruleset_now();

		e->expires_ns =
			mono_ns() +
			(def->expires_at > now ? def->expires_at - now : 0);
	}
}

/* ---- maps --------------------------------------------------------------- */

static int hash_create(int v6, __u32 capacity)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);

	return bpf_map_create(BPF_MAP_TYPE_HASH,
			      v6 ? "fl_rule_hash6" : "fl_rule_hash4",
			      key_size(v6), sizeof(struct fl_rule_ids),
			      capacity, &opts);
}

static void chain_value(const struct chain *c, struct fl_rule_ids *v)
{
	memset(v, 0, sizeof(*v));
	memcpy(v->id, c->ids, c->n * sizeof(c->ids[0]));
}

static void chain_mark_dirty(struct shape *sh, struct chain *c)
{
	if (c->dirty_pprev)
		return;
	c->dirty_next = sh->dirty;
	if (sh->dirty)
		sh->dirty->dirty_pprev = &c->dirty_next;
	sh->dirty = c;
	c->dirty_pprev = &sh->dirty;
}

static void chain_mark_clean(struct chain *c)
{
	if (!c->dirty_pprev)
		return;
	*c->dirty_pprev = c->dirty_next;
	if (c->dirty_next)
		c->dirty_next->dirty_pprev = c->dirty_pprev;
	c->dirty_next = NULL;
	c->dirty_pprev = NULL;
}

static void shape_mark_clean(struct shape *sh)
{
	while (sh->dirty)
		chain_mark_clean(sh->dirty);
}

/* Writes @n chains to @fd in batches. */
static int hash_write(int fd, int v6, struct chain **list, size_t n)
{
	size_t ks = key_size(v6), done = 0;
	struct fl_rule_ids *vals;
	char *keys;
	int err = 0;

	if (!n)
		return 0;
	keys = malloc((n < BATCH ? n : BATCH) * ks);
	vals = malloc((n < BATCH ? n : BATCH) * sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (done < n) {
		__u32 i, count = n - done < BATCH ? n - done : BATCH;

		for (i = 0; i < count; i++) {
			memcpy(keys + i * ks, &list[done + i]->key, ks);
			chain_value(list[done + i], &vals[i]);
		}
		if (bpf_map_update_batch(fd, keys, vals, &count, NULL)) {
			err = -errno;
			break;
		}
		done += count;
	}
out:
	free(keys);
	free(vals);
	return err;
}

static __u32 capacity_for(__u32 nkeys)
{
	__u32 cap = HASH_MIN_CAPACITY;

	while (cap < 2 * (__u64)nkeys && cap < (1U << 30))
		cap <<= 1;
	return cap;
}

/* A fresh hash with every chain of @sh, put into its slot. */
static int shape_rebuild(struct fl_ruleset *rs, int v6, struct shape *sh)
{
	int outer = v6 ? rs->maps.shape6 : rs->maps.shape4;
	struct chain **list, *c, *tmp;
	__u32 cap = capacity_for(sh->nkeys), slot = sh->desc.slot;
	size_t i = 0;
	int fd, err;

	list = malloc((sh->nkeys ?: 1) * sizeof(*list));
	if (!list)
		return -ENOMEM;
	HASH_ITER(hh, sh->chains, c, tmp)
		list[i++] = c;
	shape_mark_clean(sh);
	fd = hash_create(v6, cap);
	if (fd < 0) {
		free(list);
		return -errno;
	}
	err = hash_write(fd, v6, list, i);
	free(list);
	if (!err && bpf_map_update_elem(outer, &slot, &fd, BPF_ANY))
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	if (sh->hash_fd >= 0)
		close(sh->hash_fd);
	sh->hash_fd = fd;
	sh->capacity = cap;
	sh->rebuild = false;
	return 0;
}

/* Writes the chains changed since the last write, and only them. */
static int shape_flush_dirty(int v6, struct shape *sh)
{
	struct chain **list, *c;
	size_t n = 0;
	int err;

	if (!sh->dirty)
		return 0;
	for (c = sh->dirty; c; c = c->dirty_next)
		n++;
	list = malloc(n * sizeof(*list));
	if (!list)
		return -ENOMEM;
	for (n = 0, c = sh->dirty; c; c = c->dirty_next)
		list[n++] = c;
	shape_mark_clean(sh);
	err = hash_write(sh->hash_fd, v6, list, n);
	free(list);
	return err;
}

static int shape_cmp(const void *a, const void *b)
{
	const struct fl_rule_shape *x = a, *y = b;

	if (x->min_order != y->min_order)
		return x->min_order < y->min_order ? -1 : 1;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/*
 * The list the datapath walks: a new array map, swapped in whole; only
 * when it differs from the one published last (a shape came or went, or
 * a shape's lowest order moved), since most changes leave it as it is.
 */
static int publish(struct fl_ruleset *rs, int v6)
{
	struct fl_rule_shape_set set = {};
	__u32 key = v6, zero = 0;
	int i, fd, err = 0;

	for (i = 0; i < FL_RULE_SHAPES_MAX; i++)
		if (rs->shapes[v6][i].used && rs->shapes[v6][i].nrules)
			set.shapes[set.count++] = rs->shapes[v6][i].desc;
	qsort(set.shapes, set.count, sizeof(set.shapes[0]), shape_cmp);
	if (rs->published_valid[v6] &&
	    !memcmp(&set, &rs->published[v6], sizeof(set)))
		return 0;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY,
			    v6 ? "fl_rule_set6" : "fl_rule_set4", sizeof(__u32),
			    sizeof(set), 1, NULL);
	if (fd < 0)
		return -errno;
	if (bpf_map_update_elem(fd, &zero, &set, BPF_ANY) ||
	    bpf_map_update_elem(rs->maps.sets, &key, &fd, BPF_ANY))
		err = -errno;
	close(fd);
	rs->published[v6] = set;
	rs->published_valid[v6] = !err;
	return err;
}

static void orders_free(struct shape *sh)
{
	struct order_count *o, *tmp;

	HASH_ITER(hh, sh->orders, o, tmp) {
		HASH_DEL(sh->orders, o);
		free(o);
	}
}

static void shape_release(struct fl_ruleset *rs, int v6, struct shape *sh)
{
	int outer = v6 ? rs->maps.shape6 : rs->maps.shape4;
	struct chain *c, *tmp;
	__u32 slot = sh->desc.slot;

	HASH_ITER(hh, sh->chains, c, tmp) {
		HASH_DEL(sh->chains, c);
		free(c);
	}
	orders_free(sh);
	bpf_map_delete_elem(outer, &slot);
	if (sh->hash_fd >= 0)
		close(sh->hash_fd);
	memset(sh, 0, sizeof(*sh));
	sh->hash_fd = -1;
}

/* Drops the shapes left without rules: unpublished first, then emptied. */
static int shapes_sweep(struct fl_ruleset *rs, int v6)
{
	int i, err;

	err = publish(rs, v6);
	if (err)
		return err;
	for (i = 0; i < FL_RULE_SHAPES_MAX; i++)
		if (rs->shapes[v6][i].used && !rs->shapes[v6][i].nrules)
			shape_release(rs, v6, &rs->shapes[v6][i]);
	return 0;
}

/* ---- the model ---------------------------------------------------------- */

static __u32 rule_order(const struct fl_ruleset *rs, __u32 id)
{
	return rs->by_id[id]->def.rule.order;
}

static bool before(const struct fl_ruleset *rs, __u32 a, __u32 b)
{
	__u32 oa = rule_order(rs, a), ob = rule_order(rs, b);

	return oa < ob || (oa == ob && a < b);
}

static struct chain *chain_find(struct shape *sh, const void *key, int v6)
{
	struct chain *c;

	HASH_FIND(hh, sh->chains, key, key_size(v6), c);
	return c;
}

/* One more rule of @order in @sh. */
static int order_add(struct shape *sh, __u32 order)
{
	struct order_count *o;

	HASH_FIND(hh, sh->orders, &order, sizeof(order), o);
	if (!o) {
		o = calloc(1, sizeof(*o));
		if (!o)
			return -ENOMEM;
		o->order = order;
		HASH_ADD(hh, sh->orders, order, sizeof(o->order), o);
	}
	o->count++;
	return 0;
}

/*
 * One rule of @order less in @sh. The lowest order is looked for again
 * only when its last rule goes, and then among the distinct orders (a
 * handful), never among the rules.
 */
static void order_remove(struct shape *sh, __u32 order)
{
	struct order_count *o, *tmp;
	__u32 min = ~0U;

	HASH_FIND(hh, sh->orders, &order, sizeof(order), o);
	if (!o || --o->count)
		return;
	HASH_DEL(sh->orders, o);
	free(o);
	if (order != sh->desc.min_order)
		return;
	HASH_ITER(hh, sh->orders, o, tmp)
		if (o->order < min)
			min = o->order;
	sh->desc.min_order = min;
}

/* Room was checked by the caller. */
static int chain_insert(struct fl_ruleset *rs, struct shape *sh, int v6,
			const void *key, __u32 id)
{
	struct chain *c = chain_find(sh, key, v6);
	__u32 i;

	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return -ENOMEM;
		memcpy(&c->key, key, key_size(v6));
		HASH_ADD_KEYPTR(hh, sh->chains, &c->key, key_size(v6), c);
		sh->nkeys++;
	}
	if (order_add(sh, rule_order(rs, id)))
		return -ENOMEM;
	for (i = c->n; i > 0 && before(rs, id, c->ids[i - 1]); i--)
		c->ids[i] = c->ids[i - 1];
	c->ids[i] = id;
	c->n++;
	chain_mark_dirty(sh, c);
	sh->nrules++;
	if (sh->nrules == 1 || rule_order(rs, id) < sh->desc.min_order)
		sh->desc.min_order = rule_order(rs, id);
	return 0;
}

/* A used shape like @proto, or -1. */
static int shape_lookup(const struct fl_ruleset *rs, int v6,
			const struct fl_rule_shape *proto)
{
	int i;

	for (i = 0; i < FL_RULE_SHAPES_MAX; i++)
		if (rs->shapes[v6][i].used &&
		    shape_same(&rs->shapes[v6][i].desc, proto))
			return i;
	return -1;
}

static int shape_new(struct fl_ruleset *rs, int v6,
		     const struct fl_rule_shape *proto, __u32 fields)
{
	int i;

	for (i = 0; i < FL_RULE_SHAPES_MAX; i++) {
		struct shape *sh = &rs->shapes[v6][i];

		if (sh->used)
			continue;
		memset(sh, 0, sizeof(*sh));
		sh->used = true;
		sh->rebuild = true;
		sh->hash_fd = -1;
		sh->desc = *proto;
		sh->desc.tag = rs->next_tag++;
		sh->desc.slot = i;
		sh->fields = fields;
		return i;
	}
	return -1;
}

/* ---- add ---------------------------------------------------------------- */

/* What a pending add would put on one chain, to check room first. */
struct pending {
	UT_hash_handle hh;
	__u32 count;
	struct {
		__u32 v6, slot;
		union {
			struct fl_rule_key4 k4;
			struct fl_rule_key6 k6;
		} key;
	} id;
};

static void pending_free(struct pending **head)
{
	struct pending *p, *tmp;

	HASH_ITER(hh, *head, p, tmp) {
		HASH_DEL(*head, p);
		free(p);
	}
}

static __u32 next_free_id(struct fl_ruleset *rs, __u32 from)
{
	__u32 id = from, n;

	for (n = 0; n < rs->max_rules; n++, id++) {
		if (id >= rs->max_rules || id == 0)
			id = 1;
		if (!rs->by_id[id])
			return id;
	}
	return 0;
}

static const char *family_name(int v6)
{
	return v6 ? "IPv6" : "IPv4";
}

/*
 * Plans the add without touching anything: shapes (new ones are marked
 * planned in @planned), chain room, ids. Returns 0 or an error about *bad.
 */
static int plan(struct fl_ruleset *rs, const struct fl_rule_def *defs, size_t n,
		bool new_ids, size_t *bad, char *err, size_t errlen)
{
	struct fl_rule_shape planned[2][FL_RULE_SHAPES_MAX], proto;
	int nplanned[2] = { 0, 0 }, used[2] = { 0, 0 }, i, v6, ret = 0;
	struct pending *head = NULL, *p;
	size_t k, need_ids = 0;
	__u32 fields;
	char key[sizeof(struct fl_rule_key6)];

	for (v6 = 0; v6 < 2; v6++)
		for (i = 0; i < FL_RULE_SHAPES_MAX; i++)
			used[v6] += rs->shapes[v6][i].used;

	for (k = 0; k < n && !ret; k++) {
		*bad = k;
		for (v6 = 0; v6 < 2 && !ret; v6++) {
			struct shape *sh = NULL;
			__u32 slot, have;

			if (!rule_in_family(&defs[k].rule, v6))
				continue;
			rule_compile(&defs[k].rule, v6, &proto, &fields, key);
			i = shape_lookup(rs, v6, &proto);
			if (i >= 0) {
				sh = &rs->shapes[v6][i];
				slot = i;
				key_set_tag(key, v6, sh->desc.tag);
			} else {
				for (i = 0; i < nplanned[v6]; i++)
					if (shape_same(&planned[v6][i], &proto))
						break;
				if (i == nplanned[v6]) {
					if (used[v6] + nplanned[v6] >=
					    FL_RULE_SHAPES_MAX) {
						ret = fl_errf(
							err, errlen, -ENOSPC,
							"it would be shape %d of %s, and at most %d shapes (distinct sets of fields and prefix lengths) can be probed; see 'flctl rule shapes'",
							FL_RULE_SHAPES_MAX + 1,
							family_name(v6),
							FL_RULE_SHAPES_MAX);
						break;
					}
					planned[v6][nplanned[v6]++] = proto;
				}
				slot = FL_RULE_SHAPES_MAX + i;
			}
			p = calloc(1, sizeof(*p));
			if (!p) {
				ret = -ENOMEM;
				break;
			}
			p->id.v6 = v6;
			p->id.slot = slot;
			memcpy(&p->id.key, key, key_size(v6));
			{
				struct pending *found;

				HASH_FIND(hh, head, &p->id, sizeof(p->id),
					  found);
				if (found) {
					free(p);
					p = found;
				} else {
					HASH_ADD(hh, head, id, sizeof(p->id),
						 p);
				}
			}
			have = 0;
			if (sh) {
				struct chain *c = chain_find(sh, key, v6);

				have = c ? c->n : 0;
			}
			if (have + ++p->count > FL_RULE_CHAIN_MAX)
				ret = fl_errf(
					err, errlen, -ENOSPC,
					"%d rules would share one key of one %s shape (the same masked fields), and at most %d can: such rules differ only in a port or length range, tcp-flags or frag; merge them or give one a narrower prefix",
					have + p->count, family_name(v6),
					FL_RULE_CHAIN_MAX);
		}
		need_ids += new_ids;
	}
	pending_free(&head);
	if (ret)
		return ret;
	*bad = n;
	if (need_ids > rs->max_rules - 1 - rs->count)
		return fl_errf(
			err, errlen, -ENOSPC,
			"no room for %zu more rules: %zu are installed and the maps hold %u (flowlensd --max-rules)",
			need_ids, rs->count, rs->max_rules - 1);
	return 0;
}

/* Batched writes of entries, defs and (for new ids) zeroed state. */
static int write_rules(struct fl_ruleset *rs, const __u32 *ids, size_t n,
		       bool fresh)
{
	size_t done = 0, pcpu = 0, room = n < BATCH ? n : BATCH;
	struct fl_rule_entry *entries = NULL;
	struct fl_rule_def *defs = NULL;
	__u64 *zeros = NULL;
	void *stats = NULL;
	int err = 0;

	/* sized for this call: one rule must not pay for a full batch */
	room = room ?: 1;
	entries = malloc(room * sizeof(*entries));
	defs = malloc(room * sizeof(*defs));
	zeros = calloc(room, sizeof(*zeros));
	pcpu = (size_t)rs->ncpus * ((sizeof(struct fl_rule_stats) + 7) & ~7);
	stats = calloc(room, pcpu);
	if (!entries || !defs || !zeros || !stats) {
		err = -ENOMEM;
		goto out;
	}
	while (done < n) {
		__u32 i, count = n - done < BATCH ? n - done : BATCH, c;

		for (i = 0; i < count; i++) {
			defs[i] = rs->by_id[ids[done + i]]->def;
			rule_entry(&defs[i], &entries[i]);
		}
		if (fresh) {
			c = count;
			if (bpf_map_update_batch(rs->maps.tat, ids + done,
						 zeros, &c, NULL))
				goto fail;
			c = count;
			if (bpf_map_update_batch(rs->maps.stats, ids + done,
						 stats, &c, NULL))
				goto fail;
			c = count;
			if (bpf_map_update_batch(rs->maps.defs, ids + done,
						 defs, &c, NULL))
				goto fail;
		}
		c = count;
		if (bpf_map_update_batch(rs->maps.rules, ids + done, entries,
					 &c, NULL))
			goto fail;
		done += count;
	}
	goto out;
fail:
	err = -errno;
out:
	free(entries);
	free(defs);
	free(zeros);
	free(stats);
	return err;
}

static int del_one(struct fl_ruleset *rs, __u32 id, bool *touched);

/*
 * The apply half of an add; @ids[k] is rule k's id (given for recovered
 * rules, else assigned). @fresh: new rules (defs written, state zeroed).
 */
static int apply(struct fl_ruleset *rs, const struct fl_rule_def *defs,
		 size_t n, __u32 *ids, bool fresh, char *err, size_t errlen)
{
	bool touched[2] = { false, false };
	struct fl_rule_shape proto;
	char key[sizeof(struct fl_rule_key6)];
	__u32 fields;
	size_t k, added = 0;
	int v6, i, ret = 0;

	for (k = 0; k < n; k++) {
		struct rec *rec = calloc(1, sizeof(*rec));

		if (!rec) {
			ret = -ENOMEM;
			goto undo;
		}
		if (!ids[k]) {
			ids[k] = next_free_id(rs, rs->cursor);
			rs->cursor = ids[k] + 1;
		}
		rec->def = defs[k];
		rec->def.rule.id = ids[k];
		rec->slot[0] = rec->slot[1] = -1;
		if (rec->def.expires_at &&
		    (!rs->next_expiry || rec->def.expires_at < rs->next_expiry))
			rs->next_expiry = rec->def.expires_at;
		rs->by_id[ids[k]] = rec;
		rs->count++;
		added++;
		for (v6 = 0; v6 < 2; v6++) {
			if (!rule_in_family(&rec->def.rule, v6))
				continue;
			rule_compile(&rec->def.rule, v6, &proto, &fields, key);
			i = shape_lookup(rs, v6, &proto);
			if (i < 0)
				i = shape_new(rs, v6, &proto, fields);
			if (i < 0) { /* plan() said there was room */
				ret = -ENOSPC;
				goto undo;
			}
			key_set_tag(key, v6, rs->shapes[v6][i].desc.tag);
			ret = chain_insert(rs, &rs->shapes[v6][i], v6, key,
					   ids[k]);
			if (ret)
				goto undo;
			rec->slot[v6] = i;
			touched[v6] = true;
		}
	}
	ret = write_rules(rs, ids, n, fresh);
	if (ret)
		goto undo;
	for (v6 = 0; v6 < 2; v6++) {
		if (!touched[v6])
			continue;
		for (i = 0; i < FL_RULE_SHAPES_MAX; i++) {
			struct shape *sh = &rs->shapes[v6][i];

			if (!sh->used)
				continue;
			if (sh->rebuild || sh->nkeys > sh->capacity)
				ret = shape_rebuild(rs, v6, sh);
			else
				ret = shape_flush_dirty(v6, sh);
			if (ret)
				goto undo;
		}
		ret = publish(rs, v6);
		if (ret)
			goto undo;
	}
	return 0;

undo:
	fl_errf(err, errlen, ret, "cannot write the rule maps: %s",
		strerror(-ret));
	for (k = 0; k < added; k++) {
		bool t[2];

		del_one(rs, ids[k], t);
	}
	for (v6 = 0; v6 < 2; v6++)
		shapes_sweep(rs, v6);
	return ret;
}

int fl_ruleset_add(struct fl_ruleset *rs, struct fl_rule *rules, size_t n,
		   size_t *bad, char *err, size_t errlen)
{
	struct fl_rule_def *defs;
	__u64 now = fl_ruleset_now();
	__u32 *ids;
	size_t k;
	int ret;

	defs = calloc(n ?: 1, sizeof(*defs));
	ids = calloc(n ?: 1, sizeof(*ids));
	if (!defs || !ids) {
		ret = fl_errf(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	for (k = 0; k < n; k++) {
		defs[k].rule = rules[k];
		defs[k].expires_at =
			rules[k].expires ?
				now + rules[k].expires * 1000000000ULL :
				0;
	}
	ret = plan(rs, defs, n, true, bad, err, errlen);
	if (!ret)
		ret = apply(rs, defs, n, ids, true, err, errlen);
	for (k = 0; !ret && k < n; k++)
		rules[k].id = ids[k];
out:
	free(defs);
	free(ids);
	return ret;
}

/* ---- delete ------------------------------------------------------------- */

/* Off its chains and out of the maps; shapes left empty are not swept. */
static int del_one(struct fl_ruleset *rs, __u32 id, bool *touched)
{
	struct fl_rule_entry freed = {};
	struct fl_rule_shape proto;
	char key[sizeof(struct fl_rule_key6)];
	struct rec *rec;
	__u32 fields, i;
	int v6, err = 0;

	if (!id || id >= rs->max_rules || !(rec = rs->by_id[id]))
		return -ENOENT;
	for (v6 = 0; v6 < 2; v6++) {
		struct shape *sh;
		struct chain *c;

		touched[v6] = false;
		if (rec->slot[v6] < 0)
			continue;
		sh = &rs->shapes[v6][rec->slot[v6]];
		rule_compile(&rec->def.rule, v6, &proto, &fields, key);
		key_set_tag(key, v6, sh->desc.tag);
		c = chain_find(sh, key, v6);
		if (!c)
			continue;
		for (i = 0; i < c->n && c->ids[i] != id; i++)
			;
		if (i == c->n)
			continue;
		memmove(&c->ids[i], &c->ids[i + 1],
			(c->n - i - 1) * sizeof(c->ids[0]));
		c->n--;
		sh->nrules--;
		order_remove(sh, rec->def.rule.order);
		if (sh->hash_fd >= 0) {
			struct fl_rule_ids v;

			chain_value(c, &v);
			if (c->n ? bpf_map_update_elem(sh->hash_fd, &c->key, &v,
						       BPF_ANY) :
				   bpf_map_delete_elem(sh->hash_fd, &c->key))
				err = -errno;
		}
		if (!c->n) {
			chain_mark_clean(c);
			HASH_DEL(sh->chains, c);
			free(c);
			sh->nkeys--;
		}
		touched[v6] = true;
	}
	if (bpf_map_update_elem(rs->maps.rules, &id, &freed, BPF_ANY) ||
	    (bpf_map_delete_elem(rs->maps.defs, &id) && errno != ENOENT))
		err = err ?: -errno;
	rs->by_id[id] = NULL;
	rs->count--;
	free(rec);
	return err;
}

int fl_ruleset_del(struct fl_ruleset *rs, __u32 id)
{
	bool touched[2];
	int v6, err, err2;

	err = del_one(rs, id, touched);
	if (err == -ENOENT)
		return err;
	for (v6 = 0; v6 < 2; v6++) {
		if (!touched[v6])
			continue;
		err2 = shapes_sweep(rs, v6);
		err = err ?: err2;
	}
	return err;
}

int fl_ruleset_flush(struct fl_ruleset *rs)
{
	__u32 id, *ids, n = 0, done, count;
	int v6, i, err = 0;

	/* Unpublish everything first: from here on nothing matches, and
	 * no packet can reach a rule entry any more. */
	for (v6 = 0; v6 < 2; v6++) {
		for (i = 0; i < FL_RULE_SHAPES_MAX; i++)
			rs->shapes[v6][i].nrules = 0;
		err = err ?: shapes_sweep(rs, v6);
	}
	ids = malloc((rs->count ?: 1) * sizeof(*ids));
	for (id = 1; id < rs->max_rules; id++) {
		if (!rs->by_id[id])
			continue;
		if (ids)
			ids[n++] = id;
		else if (bpf_map_delete_elem(rs->maps.defs, &id) &&
			 errno != ENOENT)
			err = err ?: -errno;
		free(rs->by_id[id]);
		rs->by_id[id] = NULL;
	}
	for (done = 0; done < n; done += count) {
		count = n - done < BATCH ? n - done : BATCH;
		if (bpf_map_delete_batch(rs->maps.defs, ids + done, &count,
					 NULL)) {
			err = err ?: -errno;
			break;
		}
	}
	free(ids);
	rs->count = 0;
	return err;
}

int fl_ruleset_expire(struct fl_ruleset *rs, __u64 now,
		      void (*fn)(const struct fl_rule_def *def, void *arg),
		      void *arg)
{
	bool touched[2], any[2] = { false, false };
	__u64 next = 0;
	int v6, n = 0;
	__u32 id;

	/* Nothing due: no walk over the ids, which is most ticks. */
	if (!rs->next_expiry || now < rs->next_expiry)
		return 0;
	for (id = 1; id < rs->max_rules; id++) {
		struct rec *rec = rs->by_id[id];

		if (!rec || !rec->def.expires_at)
			continue;
		if (rec->def.expires_at > now) {
			if (!next || rec->def.expires_at < next)
				next = rec->def.expires_at;
			continue;
		}
		if (fn)
			fn(&rec->def, arg);
		del_one(rs, id, touched);
		any[0] |= touched[0];
		any[1] |= touched[1];
		n++;
	}
	rs->next_expiry = next;
	for (v6 = 0; v6 < 2; v6++)
		if (any[v6])
			shapes_sweep(rs, v6);
	return n;
}

/* ---- reading ------------------------------------------------------------ */

size_t fl_ruleset_count(const struct fl_ruleset *rs)
{
	return rs->count;
}

int fl_ruleset_get(struct fl_ruleset *rs, __u32 id, struct fl_rule_def *def,
		   struct fl_rule_stats *stats)
{
	struct fl_rule_stats *percpu;
	int cpu;

	if (!id || id >= rs->max_rules || !rs->by_id[id])
		return -ENOENT;
	if (def)
		*def = rs->by_id[id]->def;
	if (!stats)
		return 0;
	memset(stats, 0, sizeof(*stats));
	percpu = calloc(rs->ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	if (!bpf_map_lookup_elem(rs->maps.stats, &id, percpu))
		for (cpu = 0; cpu < rs->ncpus; cpu++) {
			stats->packets += percpu[cpu].packets;
			stats->bytes += percpu[cpu].bytes;
			stats->dropped += percpu[cpu].dropped;
		}
	free(percpu);
	return 0;
}

int fl_ruleset_for_each(struct fl_ruleset *rs,
			int (*fn)(const struct fl_rule_def *def, void *arg),
			void *arg)
{
	return fl_ruleset_for_each_after(rs, 0, fn, arg);
}

int fl_ruleset_for_each_after(struct fl_ruleset *rs, __u32 after,
			      int (*fn)(const struct fl_rule_def *def,
					void *arg),
			      void *arg)
{
	__u32 id;
	int ret;

	for (id = after + 1; id && id < rs->max_rules; id++) {
		if (!rs->by_id[id])
			continue;
		ret = fn(&rs->by_id[id]->def, arg);
		if (ret)
			return ret;
	}
	return 0;
}

static int mask_bits(const void *mask, size_t len)
{
	const __u8 *b = mask;
	int bits = 0;
	size_t i;

	for (i = 0; i < len; i++)
		bits += __builtin_popcount(b[i]);
	return bits;
}

int fl_ruleset_shapes(const struct fl_ruleset *rs, int family,
		      struct fl_ruleset_shape *out, int max)
{
	struct fl_rule_shape order[FL_RULE_SHAPES_MAX];
	int v6 = family == 6, n = 0, i, j;

	for (i = 0; i < FL_RULE_SHAPES_MAX; i++)
		if (rs->shapes[v6][i].used)
			order[n++] = rs->shapes[v6][i].desc;
	qsort(order, n, sizeof(order[0]), shape_cmp);
	for (j = 0; j < n && j < max; j++) {
		const struct shape *sh = &rs->shapes[v6][order[j].slot];
		struct fl_ruleset_shape *o = &out[j];

		memset(o, 0, sizeof(*o));
		o->family = v6 ? 6 : 4;
		o->tag = sh->desc.tag;
		o->slot = sh->desc.slot;
		o->min_order = sh->desc.min_order;
		o->rules = sh->nrules;
		o->keys = sh->nkeys;
		o->capacity = sh->capacity;
		o->fields = sh->fields;
		o->src_len = mask_bits(&sh->desc.src_mask, v6 ? 16 : 4);
		o->dst_len = mask_bits(&sh->desc.dst_mask, v6 ? 16 : 4);
		o->sport_bits = mask_bits(&sh->desc.l4_mask.sport, 2);
		o->dport_bits = mask_bits(&sh->desc.l4_mask.dport, 2);
		o->tcp_mask = sh->desc.l4_mask.tcp_flags;
		o->need = sh->desc.need;
	}
	return j;
}

/* ---- open and recover --------------------------------------------------- */

int fl_ruleset_maps_of(struct bpf_object *obj, struct fl_ruleset_maps *maps)
{
	struct {
		const char *name;
		int *fd;
	} want[] = {
		{ FL_STRINGIFY(FL_MAP_RULE_SHAPE4), &maps->shape4 },
		{ FL_STRINGIFY(FL_MAP_RULE_SHAPE6), &maps->shape6 },
		{ FL_STRINGIFY(FL_MAP_RULE_SETS), &maps->sets },
		{ FL_STRINGIFY(FL_MAP_RULES), &maps->rules },
		{ FL_STRINGIFY(FL_MAP_RULE_TAT), &maps->tat },
		{ FL_STRINGIFY(FL_MAP_RULE_STATS), &maps->stats },
		{ FL_STRINGIFY(FL_MAP_RULE_DEFS), &maps->defs },
	};
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		*want[i].fd =
			bpf_object__find_map_fd_by_name(obj, want[i].name);
		if (*want[i].fd < 0)
			return -ENOENT;
	}
	return 0;
}

int fl_ruleset_set_max(struct bpf_object *obj, __u32 max)
{
	static const char *const sized[] = {
		FL_STRINGIFY(FL_MAP_RULES),
		FL_STRINGIFY(FL_MAP_RULE_TAT),
		FL_STRINGIFY(FL_MAP_RULE_STATS),
		FL_STRINGIFY(FL_MAP_RULE_DEFS),
	};
	size_t i;
	int err;

	for (i = 0; i < sizeof(sized) / sizeof(sized[0]); i++) {
		struct bpf_map *map =
			bpf_object__find_map_by_name(obj, sized[i]);

		if (!map)
			return -ENOENT;
		err = bpf_map__set_max_entries(map, max);
		if (err)
			return err;
	}
	return 0;
}

static int map_fd_of_slot(int outer, __u32 slot)
{
	__u32 id;

	if (bpf_map_lookup_elem(outer, &slot, &id))
		return -errno;
	return bpf_map_get_fd_by_id(id);
}

/* Takes over the shapes the datapath uses now, tags and slots as they are,
 * so rebuilding them swaps equal hashes in. */
static void adopt_published(struct fl_ruleset *rs)
{
	struct fl_rule_shape_set set;
	__u32 zero = 0;
	int v6, fd, i;

	for (v6 = 0; v6 < 2; v6++) {
		fd = map_fd_of_slot(rs->maps.sets, v6);
		if (fd < 0)
			continue;
		if (bpf_map_lookup_elem(fd, &zero, &set))
			set.count = 0;
		close(fd);
		for (i = 0; i < (int)set.count && i < FL_RULE_SHAPES_MAX; i++) {
			const struct fl_rule_shape *d = &set.shapes[i];
			struct shape *sh;

			if (d->slot >= FL_RULE_SHAPES_MAX ||
			    rs->shapes[v6][d->slot].used)
				continue;
			sh = &rs->shapes[v6][d->slot];
			sh->used = true;
			sh->rebuild = true;
			sh->desc = *d;
			sh->desc.min_order = 0;
			sh->hash_fd = map_fd_of_slot(v6 ? rs->maps.shape6 :
							  rs->maps.shape4,
						     d->slot);
			if (d->tag >= rs->next_tag)
				rs->next_tag = d->tag + 1;
		}
	}
}

static int recover(struct fl_ruleset *rs, char *err, size_t errlen)
{
	struct fl_rule_def *defs = NULL;
	__u32 *ids = NULL, *keys = NULL, batch, out_batch, count;
	size_t n = 0, cap = 0, i, bad;
	bool first = true;
	int ret = 0;

	adopt_published(rs);
	keys = malloc(4096 * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (;;) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		struct fl_rule_def chunk[4096];

		count = 4096;
		ret = bpf_map_lookup_batch(rs->maps.defs, first ? NULL : &batch,
					   &out_batch, keys, chunk, &count,
					   &opts);
		if (ret && errno != ENOENT) {
			ret = fl_errf(
				err, errlen, -errno,
				"cannot read the rules in the pinned maps: %s",
				strerror(errno));
			goto out;
		}
		if (n + count > cap) {
			cap = (n + count) * 2;
			defs = realloc(defs, cap * sizeof(*defs));
			ids = realloc(ids, cap * sizeof(*ids));
			if (!defs || !ids) {
				ret = -ENOMEM;
				goto out;
			}
		}
		for (i = 0; i < count; i++) {
			if (!keys[i] || keys[i] >= rs->max_rules)
				continue;
			defs[n] = chunk[i];
			ids[n++] = keys[i];
		}
		if (ret) /* ENOENT: that was the last batch */
			break;
		batch = out_batch;
		first = false;
	}
	ret = 0;
	/* Maps this code wrote always fit; if these do not (the limits
	 * changed), keep what fits, rule by rule, and say what is dropped. */
	if (n && !plan(rs, defs, n, false, &bad, err, errlen)) {
		ret = apply(rs, defs, n, ids, false, err, errlen);
	} else {
		for (i = 0; i < n && !ret; i++) {
			if (plan(rs, &defs[i], 1, false, &bad, err, errlen)) {
				fprintf(stderr,
					"flowlens: dropping recovered rule %u: %s\n",
					ids[i], err);
				continue;
			}
			ret = apply(rs, &defs[i], 1, &ids[i], false, err,
				    errlen);
		}
	}
	for (i = 0; !ret && i < n; i++)
		if (ids[i] >= rs->cursor)
			rs->cursor = ids[i] + 1;
	if (!ret) {
		int v6;

		for (v6 = 0; v6 < 2; v6++)
			ret = ret ?: shapes_sweep(rs, v6);
	}
out:
	free(keys);
	free(defs);
	free(ids);
	return ret;
}

int fl_ruleset_open(const struct fl_ruleset_maps *maps, struct fl_ruleset **out,
		    char *err, size_t errlen)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct fl_ruleset *rs;
	int v6, i, ret;

	if (bpf_obj_get_info_by_fd(maps->rules, &info, &len))
		return fl_errf(err, errlen, -errno,
			       "cannot read the rule map: %s", strerror(errno));
	rs = calloc(1, sizeof(*rs));
	if (!rs)
		return -ENOMEM;
	rs->maps = *maps;
	rs->max_rules = info.max_entries;
	rs->ncpus = libbpf_num_possible_cpus();
	rs->cursor = 1;
	rs->next_tag = 1;
	for (v6 = 0; v6 < 2; v6++)
		for (i = 0; i < FL_RULE_SHAPES_MAX; i++)
			rs->shapes[v6][i].hash_fd = -1;
	rs->by_id = calloc(rs->max_rules, sizeof(*rs->by_id));
	if (!rs->by_id || rs->ncpus <= 0) {
		fl_ruleset_free(rs);
		return fl_errf(err, errlen, -ENOMEM, "out of memory");
	}
	ret = recover(rs, err, errlen);
	if (ret) {
		fl_ruleset_free(rs);
		return ret;
	}
	*out = rs;
	return 0;
}

void fl_ruleset_free(struct fl_ruleset *rs)
{
	struct chain *c, *tmp;
	int v6, i;
	__u32 id;

	if (!rs)
		return;
	for (v6 = 0; v6 < 2; v6++)
		for (i = 0; i < FL_RULE_SHAPES_MAX; i++) {
			struct shape *sh = &rs->shapes[v6][i];

			HASH_ITER(hh, sh->chains, c, tmp) {
				HASH_DEL(sh->chains, c);
				free(c);
			}
			orders_free(sh);
			if (sh->hash_fd >= 0)
				close(sh->hash_fd);
		}
	if (rs->by_id)
		for (id = 1; id < rs->max_rules; id++)
			free(rs->by_id[id]);
	free(rs->by_id);
	free(rs);
}
