// SPDX-License-Identifier: Apache-2.0
/*
 * Dialogs and RTP streams (voip_track.h). Both tables are arrays sized at
 * creation: a hash of entry indexes chained through each entry, and age
 * lists (least recently seen first), one per timeout, so expiry looks only
 * at entries that are due. Entries are handed out from a high-water mark,
 * then from a free list, so the pages of a large table that was never
 * filled are never touched.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "voip_track.h"

#define NIL FL_VOIP_NIL

/* ---- shared: SipHash-2-4, entries, hash chains and age lists ----------- */

static __u64 rotl(__u64 x, int b)
{
	return (x << b) | (x >> (64 - b));
}

#define SIPROUND                   \
	do {                       \
		v0 += v1;          \
		v1 = rotl(v1, 13); \
		v1 ^= v0;          \
		v0 = rotl(v0, 32); \
		v2 += v3;          \
		v3 = rotl(v3, 16); \
		v3 ^= v2;          \
		v0 += v3;          \
		v3 = rotl(v3, 21); \
		v3 ^= v0;          \
		v2 += v1;          \
		v1 = rotl(v1, 17); \
		v1 ^= v2;          \
		v2 = rotl(v2, 32); \
	} while (0)

/* Keyed, so that no one outside can pick keys that share a bucket. */
static __u64 siphash(const void *data, size_t len, __u64 k0, __u64 k1)
{
	const unsigned char *p = data;
	__u64 v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
	__u64 v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
	__u64 m, b = (__u64)len << 56;
	size_t i, left = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&m, p + i, 8);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (; left; left--)
		b |= (__u64)p[i + left - 1] << (8 * (left - 1));
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

struct lru {
	__u32 head, tail;
};

#define LIST_FREE 0xff

/* An array of entries, each with a struct fl_voip_link at @link. */
struct slab {
	char *base;
	size_t stride, link;
	__u32 max, used, free_head, active;
	__u32 *buckets;
	__u32 mask;
	__u64 k0, k1;
};

static struct fl_voip_link *link_at(const struct slab *s, __u32 i)
{
	return (struct fl_voip_link *)(s->base + (size_t)i * s->stride +
				       s->link);
}

static void *entry_at(const struct slab *s, __u32 i)
{
	return s->base + (size_t)i * s->stride;
}

static __u32 pow2_at_least(__u32 n)
{
	__u32 p = 1;

	while (p < n && p < 0x80000000U)
		p <<= 1;
	return p;
}

static int slab_init(struct slab *s, __u32 max, size_t stride, size_t link,
		     __u32 buckets, __u64 seed)
{
	__u32 i;

	memset(s, 0, sizeof(*s));
	s->base = calloc(max, stride);
	s->mask = pow2_at_least(buckets) - 1;
	s->buckets = malloc(((size_t)s->mask + 1) * sizeof(__u32));
	if (!s->base || !s->buckets) {
		free(s->base);
		free(s->buckets);
		return -ENOMEM;
	}
	for (i = 0; i <= s->mask; i++)
		s->buckets[i] = NIL;
	s->stride = stride;
	s->link = link;
	s->max = max;
	s->free_head = NIL;
	s->k0 = seed;
	s->k1 = seed ^ 0x9e3779b97f4a7c15ULL;
	return 0;
}

static void slab_fini(struct slab *s)
{
	free(s->base);
	free(s->buckets);
}

static __u32 slab_alloc(struct slab *s)
{
	__u32 i;

	if (s->free_head != NIL) {
		i = s->free_head;
		s->free_head = link_at(s, i)->hnext;
	} else if (s->used < s->max) {
		i = s->used++;
	} else {
		return NIL;
	}
	memset(entry_at(s, i), 0, s->stride);
	s->active++;
	return i;
}

static void slab_release(struct slab *s, __u32 i)
{
	struct fl_voip_link *l = link_at(s, i);

	l->list = LIST_FREE;
	l->hnext = s->free_head;
	s->free_head = i;
	s->active--;
}

static void hash_insert(struct slab *s, __u32 bucket, __u32 i)
{
	link_at(s, i)->hnext = s->buckets[bucket];
	s->buckets[bucket] = i;
}

static void hash_remove(struct slab *s, __u32 bucket, __u32 i)
{
	__u32 *p = &s->buckets[bucket];

	while (*p != NIL && *p != i)
		p = &link_at(s, *p)->hnext;
	if (*p == i)
		*p = link_at(s, i)->hnext;
}

static void lru_remove(struct slab *s, struct lru *l, __u32 i)
{
	struct fl_voip_link *e = link_at(s, i);

	if (e->prev != NIL)
		link_at(s, e->prev)->next = e->next;
	else
		l->head = e->next;
	if (e->next != NIL)
		link_at(s, e->next)->prev = e->prev;
	else
		l->tail = e->prev;
}

static void lru_append(struct slab *s, struct lru *l, __u32 i)
{
	struct fl_voip_link *e = link_at(s, i);

	e->prev = l->tail;
	e->next = NIL;
	if (l->tail != NIL)
		link_at(s, l->tail)->next = i;
	else
		l->head = i;
	l->tail = i;
}

/* ---- dialogs ------------------------------------------------------------ */

enum dialog_list {
	LIST_SETUP, /* non-invite, trying, ringing */
	LIST_CALL, /* answered */
	LIST_DONE, /* ended, failed, cancelled */
	DIALOG_LISTS,
};

#define MEDIA_SLOTS (2 * FL_VOIP_MEDIA_PER_SIDE)

struct fl_voip_dialogs {
	struct fl_voip_dialog_conf conf;
	struct slab slab;
	struct lru lists[DIALOG_LISTS];
	__u32 timeout_ms[DIALOG_LISTS];
	/* (address, port) -> media slot: dialog index * MEDIA_SLOTS + slot,
	 * chained both ways through the dialogs' media_next and media_prev
	 * (many dialogs may offer the same address and port: a flood of
	 * INVITEs with one SDP must not make unlinking walk them all) */
	__u32 *media_buckets;
	__u32 media_mask;
	struct fl_voip_dialog_stats stats;
};

static const char *const state_names[FL_VOIP_STATE_COUNT] = {
#define FL_X_VOIP_STATE(id, name) [FL_VOIP_##id] = name,
	FL_VOIP_STATES(FL_X_VOIP_STATE)
#undef FL_X_VOIP_STATE
};

const char *fl_voip_state_name(enum fl_voip_state state)
{
	return (unsigned int)state < FL_VOIP_STATE_COUNT ? state_names[state] :
							   "unknown";
}

__u64 fl_voip_dialog_duration_ms(const struct fl_voip_dialog *d)
{
	__u64 end = d->end_ms ? d->end_ms : d->last_ms;

	if (!d->answer_ms || end < d->answer_ms)
		return 0;
	return end - d->answer_ms;
}

struct fl_voip_dialogs *
fl_voip_dialogs_new(const struct fl_voip_dialog_conf *conf)
{
	struct fl_voip_dialogs *t = calloc(1, sizeof(*t));
	__u32 i;

	if (!t)
		return NULL;
	t->conf = *conf;
	if (!t->conf.max_dialogs)
		t->conf.max_dialogs = 16384;
	t->timeout_ms[LIST_SETUP] = t->conf.setup_ms ?: 180000;
	t->timeout_ms[LIST_CALL] = t->conf.call_ms ?: 7200000;
	t->timeout_ms[LIST_DONE] = t->conf.linger_ms ?: 32000;
	for (i = 0; i < DIALOG_LISTS; i++)
		t->lists[i].head = t->lists[i].tail = NIL;
	if (slab_init(&t->slab, t->conf.max_dialogs,
		      sizeof(struct fl_voip_dialog),
		      offsetof(struct fl_voip_dialog, link),
		      t->conf.max_dialogs, t->conf.seed)) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->media_mask = pow2_at_least(2 * t->conf.max_dialogs) - 1;
	t->media_buckets = malloc(((size_t)t->media_mask + 1) * sizeof(__u32));
	if (!t->media_buckets) {
		slab_fini(&t->slab);
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	for (i = 0; i <= t->media_mask; i++)
		t->media_buckets[i] = NIL;
	t->stats.max_dialogs = t->conf.max_dialogs;
	return t;
}

void fl_voip_dialogs_free(struct fl_voip_dialogs *t)
{
	if (!t)
		return;
	slab_fini(&t->slab);
	free(t->media_buckets);
	free(t);
}

static struct fl_voip_dialog *dialog_at(const struct fl_voip_dialogs *t,
					__u32 i)
{
	return entry_at(&t->slab, i);
}

static __u32 call_id_bucket(const struct fl_voip_dialogs *t, const char *p,
			    __u32 len)
{
	return siphash(p, len, t->slab.k0, t->slab.k1) & t->slab.mask;
}

static __u32 dialog_lookup(const struct fl_voip_dialogs *t, const char *p,
			   __u32 len)
{
	__u32 i = t->slab.buckets[call_id_bucket(t, p, len)];

	for (; i != NIL; i = dialog_at(t, i)->link.hnext) {
		const struct fl_voip_dialog *d = dialog_at(t, i);

		if (!strncmp(d->call_id, p, len) && !d->call_id[len])
			return i;
	}
	return NIL;
}

const struct fl_voip_dialog *
fl_voip_dialog_find(const struct fl_voip_dialogs *t, const char *call_id,
		    __u32 len)
{
	__u32 i;

	if (len > FL_SIP_CALL_ID_MAX)
		return NULL;
	i = dialog_lookup(t, call_id, len);
	return i == NIL ? NULL : dialog_at(t, i);
}

struct media_key {
	union fl_addr addr;
	__u16 port;
	__u8 family;
	__u8 pad;
};

static __u32 media_bucket(const struct fl_voip_dialogs *t, __u8 family,
			  const union fl_addr *addr, __u16 port)
{
	struct media_key k = { .addr = *addr, .port = port, .family = family };

	return siphash(&k, sizeof(k), t->slab.k1, t->slab.k0) & t->media_mask;
}

static __u32 *media_next(const struct fl_voip_dialogs *t, __u32 ref)
{
	struct fl_voip_dialog *d = dialog_at(t, ref / MEDIA_SLOTS);

	return &d->media_next[0][0] + ref % MEDIA_SLOTS;
}

static __u32 *media_prev(const struct fl_voip_dialogs *t, __u32 ref)
{
	struct fl_voip_dialog *d = dialog_at(t, ref / MEDIA_SLOTS);

	return &d->media_prev[0][0] + ref % MEDIA_SLOTS;
}

static const struct fl_sdp_media *media_of(const struct fl_voip_dialogs *t,
					   __u32 ref)
{
	const struct fl_voip_dialog *d = dialog_at(t, ref / MEDIA_SLOTS);

	return &d->media[0][0] + ref % MEDIA_SLOTS;
}

static bool media_indexed(const struct fl_sdp_media *m)
{
	return m->port && m->family;
}

static void media_unindex(struct fl_voip_dialogs *t, __u32 di, int side)
{
	struct fl_voip_dialog *d = dialog_at(t, di);
	int i;

	for (i = 0; i < d->nmedia[side]; i++) {
		const struct fl_sdp_media *m = &d->media[side][i];
		__u32 ref =
			di * MEDIA_SLOTS + side * FL_VOIP_MEDIA_PER_SIDE + i;
		__u32 prev = *media_prev(t, ref), next = *media_next(t, ref);

		if (!media_indexed(m))
			continue;
		if (prev != NIL)
			*media_next(t, prev) = next;
		else
			t->media_buckets[media_bucket(t, m->family, &m->addr,
						      m->port)] = next;
		if (next != NIL)
			*media_prev(t, next) = prev;
	}
	d->nmedia[side] = 0;
}

static void media_store(struct fl_voip_dialogs *t, __u32 di, int side,
			const struct fl_sdp *sdp)
{
	struct fl_voip_dialog *d = dialog_at(t, di);
	int i;

	media_unindex(t, di, side);
	for (i = 0; i < sdp->nmedia; i++) {
		const struct fl_sdp_media *m = &sdp->media[i];
		__u32 ref, bucket;

		if (d->nmedia[side] == FL_VOIP_MEDIA_PER_SIDE) {
			t->stats.media_dropped += sdp->nmedia - i;
			break;
		}
		ref = di * MEDIA_SLOTS + side * FL_VOIP_MEDIA_PER_SIDE +
		      d->nmedia[side];
		d->media[side][d->nmedia[side]++] = *m;
		if (!media_indexed(m))
			continue;
		bucket = media_bucket(t, m->family, &m->addr, m->port);
		*media_next(t, ref) = t->media_buckets[bucket];
		*media_prev(t, ref) = NIL;
		if (t->media_buckets[bucket] != NIL)
			*media_prev(t, t->media_buckets[bucket]) = ref;
		t->media_buckets[bucket] = ref;
	}
}

const struct fl_voip_dialog *
fl_voip_media_lookup(const struct fl_voip_dialogs *t, __u8 family,
		     const union fl_addr *addr, __u16 port,
		     const struct fl_sdp_media **media)
{
	__u32 ref;

	if (!port || (family != 4 && family != 6))
		return NULL;
	ref = t->media_buckets[media_bucket(t, family, addr, port)];
	for (; ref != NIL; ref = *media_next(t, ref)) {
		const struct fl_sdp_media *m = media_of(t, ref);

		if (m->port == port && m->family == family &&
		    !memcmp(&m->addr, addr, family == 4 ? 4 : 16)) {
			if (media)
				*media = m;
			return dialog_at(t, ref / MEDIA_SLOTS);
		}
	}
	return NULL;
}

static enum dialog_list list_of(enum fl_voip_state state)
{
	switch (state) {
	case FL_VOIP_ANSWERED:
		return LIST_CALL;
	case FL_VOIP_ENDED:
	case FL_VOIP_FAILED:
	case FL_VOIP_CANCELLED:
		return LIST_DONE;
	default:
		return LIST_SETUP;
	}
}

static void dialog_remove(struct fl_voip_dialogs *t, __u32 i)
{
	struct fl_voip_dialog *d = dialog_at(t, i);

	media_unindex(t, i, FL_VOIP_CALLER);
	media_unindex(t, i, FL_VOIP_CALLEE);
	hash_remove(&t->slab, call_id_bucket(t, d->call_id, strlen(d->call_id)),
		    i);
	lru_remove(&t->slab, &t->lists[d->link.list], i);
	slab_release(&t->slab, i);
}

static void copy_str(char *dst, size_t size, const struct fl_sip_str *s)
{
	size_t n = s->len < size - 1 ? s->len : size - 1;

	memcpy(dst, s->p, n);
	dst[n] = 0;
}

static __u64 tag_hash(const struct fl_voip_dialogs *t,
		      const struct fl_sip_str *tag)
{
	return siphash(tag->p, tag->len, t->slab.k0, t->slab.k1);
}

/* The state machine: see voip_track.h. */
static void dialog_state(struct fl_voip_dialog *d, const struct fl_sip_msg *msg,
			 __u64 now)
{
	enum fl_voip_state s = d->state;

	if (msg->request) {
		switch (msg->method) {
		case FL_SIP_INVITE:
			if (d->invite_seen && msg->cseq < d->invite_cseq)
				return; /* a late retransmission */
			if (s == FL_VOIP_NON_INVITE || s == FL_VOIP_FAILED ||
			    s == FL_VOIP_CANCELLED) {
				if (s != FL_VOIP_NON_INVITE &&
				    msg->cseq == d->invite_cseq)
					return; /* the failed one, again */
				d->state = FL_VOIP_TRYING;
				d->end_ms = 0;
				d->final_status = 0;
			}
			d->invite_seen = true;
			d->invite_cseq = msg->cseq;
			break;
		case FL_SIP_CANCEL:
			if (s == FL_VOIP_TRYING || s == FL_VOIP_RINGING) {
				d->state = FL_VOIP_CANCELLED;
				d->end_ms = now;
			}
			break;
		case FL_SIP_BYE:
			if (s == FL_VOIP_TRYING || s == FL_VOIP_RINGING ||
			    s == FL_VOIP_ANSWERED) {
				d->state = FL_VOIP_ENDED;
				d->end_ms = now;
			}
			break;
		}
		return;
	}
	if (msg->cseq_method == FL_SIP_BYE) {
		if (msg->status / 100 == 2 && s == FL_VOIP_ANSWERED) {
			d->state = FL_VOIP_ENDED; /* the BYE went unseen */
			d->end_ms = now;
		}
		return;
	}
	if (msg->cseq_method != FL_SIP_INVITE)
		return;
	if (d->invite_seen && msg->cseq < d->invite_cseq)
		return; /* answers an older INVITE */
	if (!d->invite_seen) { /* the capture began after the INVITE */
		d->invite_seen = true;
		d->invite_cseq = msg->cseq;
	}
	switch (msg->status / 100) {
	case 1:
		if (s == FL_VOIP_NON_INVITE)
			d->state = FL_VOIP_TRYING;
		if (msg->status > 100 &&
		    (s == FL_VOIP_NON_INVITE || s == FL_VOIP_TRYING))
			d->state = FL_VOIP_RINGING;
		break;
	case 2:
		if (s == FL_VOIP_NON_INVITE || s == FL_VOIP_TRYING ||
		    s == FL_VOIP_RINGING || s == FL_VOIP_CANCELLED) {
			d->state = FL_VOIP_ANSWERED;
			d->answer_ms = now;
			d->end_ms = 0;
			d->final_status = msg->status;
		}
		break;
	default:
		if (s == FL_VOIP_NON_INVITE || s == FL_VOIP_TRYING ||
		    s == FL_VOIP_RINGING) {
			d->state = FL_VOIP_FAILED;
			d->end_ms = now;
			d->final_status = msg->status;
		} else if (s == FL_VOIP_CANCELLED && !d->final_status) {
			d->final_status = msg->status;
		}
		break;
	}
}

static bool is_sdp(const struct fl_sip_msg *msg)
{
	return msg->body_len && msg->content_type.len == 15 &&
	       !strncasecmp(msg->content_type.p, "application/sdp", 15);
}

const struct fl_voip_dialog *fl_voip_dialog_msg(struct fl_voip_dialogs *t,
						const struct fl_sip_msg *msg,
						__u64 now_ms)
{
	struct fl_voip_dialog *d;
	enum dialog_list list;
	bool from_caller;
	__u32 i;

	if (msg->error || !msg->call_id.len ||
	    msg->call_id.len > FL_SIP_CALL_ID_MAX)
		return NULL;
	i = dialog_lookup(t, msg->call_id.p, msg->call_id.len);
	if (i == NIL) {
		i = slab_alloc(&t->slab);
		if (i == NIL) {
			t->stats.dropped++;
			return NULL;
		}
		d = dialog_at(t, i);
		copy_str(d->call_id, sizeof(d->call_id), &msg->call_id);
		copy_str(d->from, sizeof(d->from), &msg->from);
		copy_str(d->to, sizeof(d->to), &msg->to);
		d->caller_tag = tag_hash(t, &msg->from_tag);
		d->state = FL_VOIP_NON_INVITE;
		d->start_ms = now_ms;
		memset(d->media_next, 0xff, sizeof(d->media_next));
		hash_insert(&t->slab,
			    call_id_bucket(t, msg->call_id.p, msg->call_id.len),
			    i);
		d->link.list = LIST_SETUP;
		lru_append(&t->slab, &t->lists[LIST_SETUP], i);
		t->stats.created++;
	}
	d = dialog_at(t, i);
	d->messages++;
	d->last_ms = now_ms;
	if (msg->request)
		d->methods |= 1U << (msg->method < FL_SIP_METHOD_COUNT ?
					     msg->method :
					     FL_SIP_METHOD_EXT);
	else
		d->responses[msg->status / 100 - 1]++;
	dialog_state(d, msg, now_ms);

	if (is_sdp(msg)) {
		struct fl_sdp sdp;

		d->sdp_bodies++;
		t->stats.sdp_bodies++;
		if (fl_sdp_parse(msg->body, msg->body_len, &sdp)) {
			d->sdp_malformed++;
			t->stats.sdp_malformed++;
		} else {
			from_caller = tag_hash(t, &msg->from_tag) ==
				      d->caller_tag;
			media_store(t, i,
				    msg->request == from_caller ?
					    FL_VOIP_CALLER :
					    FL_VOIP_CALLEE,
				    &sdp);
		}
	}
	/* to the young end of its state's list */
	list = list_of(d->state);
	lru_remove(&t->slab, &t->lists[d->link.list], i);
	d->link.list = list;
	lru_append(&t->slab, &t->lists[list], i);
	return d;
}

void fl_voip_dialogs_expire(struct fl_voip_dialogs *t, __u64 now_ms,
			    fl_voip_dialog_cb cb, void *arg)
{
	int l;

	for (l = 0; l < DIALOG_LISTS; l++) {
		__u32 i;

		while ((i = t->lists[l].head) != NIL) {
			struct fl_voip_dialog *d = dialog_at(t, i);

			if (d->last_ms + t->timeout_ms[l] > now_ms)
				break;
			if (cb)
				cb(d, arg);
			dialog_remove(t, i);
			t->stats.expired++;
		}
	}
}

void fl_voip_dialogs_flush(struct fl_voip_dialogs *t, fl_voip_dialog_cb cb,
			   void *arg)
{
	__u32 i;

	/* by index: the order they were made, but for reused entries */
	for (i = 0; i < t->slab.used; i++) {
		struct fl_voip_dialog *d = dialog_at(t, i);

		if (d->link.list == LIST_FREE)
			continue;
		if (cb)
			cb(d, arg);
		dialog_remove(t, i);
	}
	t->slab.used = 0;
	t->slab.free_head = NIL;
}

void fl_voip_dialogs_walk(const struct fl_voip_dialogs *t, fl_voip_dialog_cb cb,
			  void *arg)
{
	__u32 i;

	for (i = 0; i < t->slab.used; i++) {
		const struct fl_voip_dialog *d = dialog_at(t, i);

		if (d->link.list != LIST_FREE)
			cb(d, arg);
	}
}

void fl_voip_dialogs_stats(const struct fl_voip_dialogs *t,
			   struct fl_voip_dialog_stats *stats)
{
	*stats = t->stats;
	stats->active = t->slab.active;
}

/* ---- RTP ---------------------------------------------------------------- */

int fl_rtp_parse(const void *data, __u32 len, struct fl_rtp_hdr *h)
{
	const __u8 *p = data;
	__u32 hl, pad = 0;

	if (len < 12 || (p[0] >> 6) != 2)
		return -EINVAL;
	h->pt = p[1] & 0x7f;
	if (h->pt >= 72 && h->pt <= 76) /* RTCP's SR..APP with the marker */
		return -EINVAL;
	h->marker = p[1] >> 7;
	h->csrc_count = p[0] & 0xf;
	h->seq = (__u16)p[2] << 8 | p[3];
	h->ts = (__u32)p[4] << 24 | (__u32)p[5] << 16 | (__u32)p[6] << 8 | p[7];
	h->ssrc = (__u32)p[8] << 24 | (__u32)p[9] << 16 | (__u32)p[10] << 8 |
		  p[11];
	hl = 12 + 4 * h->csrc_count;
	if (p[0] & 0x10) { /* extension: profile, length in words, words */
		if (len < hl + 4)
			return -EINVAL;
		hl += 4 + 4 * ((__u32)p[hl + 2] << 8 | p[hl + 3]);
	}
	if (hl > len)
		return -EINVAL;
	if (p[0] & 0x20) { /* padding: its count is the last byte */
		pad = p[len - 1];
		if (!pad || pad > len - hl)
			return -EINVAL;
	}
	h->header_len = hl;
	h->payload_len = len - hl - pad;
	return 0;
}

bool fl_rtcp_check(const void *data, __u32 len)
{
	const __u8 *p = data;
	__u32 off = 0, part;

	if (len < 8)
		return false;
	while (off < len) {
		if (len - off < 4 || (p[off] >> 6) != 2 || p[off + 1] < 192 ||
		    p[off + 1] > 223)
			return false;
		part = 4 * ((__u32)(p[off + 2] << 8 | p[off + 3]) + 1);
		if (part > len - off)
			return false;
		/* padding only in the last part */
		if ((p[off] & 0x20) && off + part != len)
			return false;
		off += part;
	}
	return true;
}

enum stream_list {
	LIST_PROBATION, /* neither confirmed nor negotiated */
	LIST_ACTIVE,
	STREAM_LISTS,
};

struct fl_voip_rtp {
	struct fl_voip_rtp_conf conf;
	struct slab slab;
	struct lru lists[STREAM_LISTS];
	__u32 timeout_ms[STREAM_LISTS];
	struct fl_voip_rtp_stats stats;
};

#define RTP_SEQ_MOD (1U << 16)
#define MAX_DROPOUT 3000
#define MAX_MISORDER 100

struct fl_voip_rtp *fl_voip_rtp_new(const struct fl_voip_rtp_conf *conf)
{
	struct fl_voip_rtp *t = calloc(1, sizeof(*t));
	int i;

	if (!t)
		return NULL;
	t->conf = *conf;
	if (!t->conf.max_streams)
		t->conf.max_streams = 16384;
	t->timeout_ms[LIST_PROBATION] = t->conf.probation_ms ?: 5000;
	t->timeout_ms[LIST_ACTIVE] = t->conf.idle_ms ?: 30000;
	for (i = 0; i < STREAM_LISTS; i++)
		t->lists[i].head = t->lists[i].tail = NIL;
	if (slab_init(&t->slab, t->conf.max_streams,
		      sizeof(struct fl_rtp_stream),
		      offsetof(struct fl_rtp_stream, link), t->conf.max_streams,
		      t->conf.seed)) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->stats.max_streams = t->conf.max_streams;
	return t;
}

void fl_voip_rtp_free(struct fl_voip_rtp *t)
{
	if (!t)
		return;
	slab_fini(&t->slab);
	free(t);
}

static struct fl_rtp_stream *stream_at(const struct fl_voip_rtp *t, __u32 i)
{
	return entry_at(&t->slab, i);
}

static __u32 stream_bucket(const struct fl_voip_rtp *t,
			   const struct fl_rtp_key *key)
{
	return siphash(key, sizeof(*key), t->slab.k0, t->slab.k1) &
	       t->slab.mask;
}

static bool key_eq(const struct fl_rtp_key *a, const struct fl_rtp_key *b)
{
	return a->ssrc == b->ssrc && a->sport == b->sport &&
	       a->dport == b->dport && a->family == b->family &&
	       !memcmp(&a->src, &b->src, sizeof(a->src)) &&
	       !memcmp(&a->dst, &b->dst, sizeof(a->dst));
}

static __u32 stream_lookup(const struct fl_voip_rtp *t,
			   const struct fl_rtp_key *key, __u32 bucket)
{
	__u32 i;

	for (i = t->slab.buckets[bucket]; i != NIL;
	     i = stream_at(t, i)->link.hnext)
		if (key_eq(&stream_at(t, i)->key, key))
			return i;
	return NIL;
}

const struct fl_rtp_stream *fl_voip_rtp_find(const struct fl_voip_rtp *t,
					     const struct fl_rtp_key *key)
{
	__u32 i = stream_lookup(t, key, stream_bucket(t, key));

	return i == NIL ? NULL : stream_at(t, i);
}

static void stream_remove(struct fl_voip_rtp *t, __u32 i)
{
	struct fl_rtp_stream *s = stream_at(t, i);

	hash_remove(&t->slab, stream_bucket(t, &s->key), i);
	lru_remove(&t->slab, &t->lists[s->link.list], i);
	slab_release(&t->slab, i);
}

/* RFC 3550 A.1, without its probation (every packet of a stream counts,
 * from the first; confirmation is our own, see below). */
static void init_seq(struct fl_rtp_stream *s, __u16 seq)
{
	s->base_seq = seq;
	s->max_seq = seq;
	s->bad_seq = RTP_SEQ_MOD + 1;
	s->cycles = 0;
	s->received = 0;
}

enum seq_verdict {
	SEQ_BAD, /* a jump: not counted, unless the next one follows it */
	SEQ_AHEAD, /* in order, or a gap less than MAX_DROPOUT */
	SEQ_LATE, /* a duplicate or reordered packet */
};

static enum seq_verdict update_seq(struct fl_rtp_stream *s, __u16 seq)
{
	__u16 udelta = seq - s->max_seq;
	enum seq_verdict v = SEQ_LATE;

	if (udelta < MAX_DROPOUT) {
		if (seq < s->max_seq)
			s->cycles += RTP_SEQ_MOD;
		s->max_seq = seq;
		v = udelta ? SEQ_AHEAD : SEQ_LATE;
	} else if (udelta <= RTP_SEQ_MOD - MAX_MISORDER) {
		if (seq != s->bad_seq) {
			s->bad_seq = (seq + 1) & (RTP_SEQ_MOD - 1);
			return SEQ_BAD;
		}
		/* two in a row: the source restarted its sequence */
		init_seq(s, seq);
		v = SEQ_AHEAD;
	}
	s->received++;
	return v;
}

/* Arrival time in timestamp units since the stream's first packet. */
static __u32 arrival_units(const struct fl_rtp_stream *s, __u64 arrival_us)
{
	__u64 rel = arrival_us > s->first_us ? arrival_us - s->first_us : 0;

	return (__u32)(rel * s->clock_rate / 1000000);
}

/* RFC 3550 A.8 */
static void update_jitter(struct fl_rtp_stream *s, __u32 ts, __u64 arrival_us)
{
	__u32 transit = arrival_units(s, arrival_us) - ts;
	__s32 d = (__s32)(transit - s->transit);

	s->transit = transit;
	s->jitter += ((d < 0 ? -(double)d : (double)d) - s->jitter) / 16;
}

struct fl_rtp_stream *fl_voip_rtp_packet(struct fl_voip_rtp *t,
					 const struct fl_rtp_key *key,
					 const struct fl_rtp_hdr *h,
					 __u32 bytes, __u64 arrival_us,
					 __u32 clock_rate, bool negotiated)
{
	__u32 bucket = stream_bucket(t, key), i;
	struct fl_rtp_stream *s;
	enum stream_list list;

	i = stream_lookup(t, key, bucket);
	if (i == NIL) {
		i = slab_alloc(&t->slab);
		if (i == NIL && t->lists[LIST_PROBATION].head != NIL) {
			stream_remove(t, t->lists[LIST_PROBATION].head);
			t->stats.evicted++;
			i = slab_alloc(&t->slab);
		}
		if (i == NIL) {
			t->stats.dropped++;
			return NULL;
		}
		s = stream_at(t, i);
		s->key = *key;
		s->pt = h->pt;
		s->clock_rate = clock_rate			      ?:
					fl_rtp_static_pt(h->pt, NULL) ?:
									8000;
		s->first_us = arrival_us;
		s->first_ms = arrival_us / 1000;
		init_seq(s, h->seq);
		s->received = 1;
		s->transit = arrival_units(s, arrival_us) - h->ts;
		hash_insert(&t->slab, bucket, i);
		s->link.list = LIST_PROBATION;
		lru_append(&t->slab, &t->lists[LIST_PROBATION], i);
		t->stats.created++;
	} else {
		s = stream_at(t, i);
		switch (update_seq(s, h->seq)) {
		case SEQ_AHEAD:
			s->confirmed = true;
			/* fall through */
		case SEQ_LATE:
			update_jitter(s, h->ts, arrival_us);
			break;
		case SEQ_BAD:
			break;
		}
		if (h->pt != s->pt)
			s->pt_changes++;
	}
	s->packets++;
	s->bytes += bytes;
	s->last_ms = arrival_us / 1000;
	s->negotiated |= negotiated;
	list = s->confirmed || s->negotiated ? LIST_ACTIVE : LIST_PROBATION;
	lru_remove(&t->slab, &t->lists[s->link.list], i);
	s->link.list = list;
	lru_append(&t->slab, &t->lists[list], i);
	return s;
}

void fl_voip_rtp_expire(struct fl_voip_rtp *t, __u64 now_ms,
			fl_rtp_stream_cb cb, void *arg)
{
	int l;

	for (l = 0; l < STREAM_LISTS; l++) {
		__u32 i;

		while ((i = t->lists[l].head) != NIL) {
			struct fl_rtp_stream *s = stream_at(t, i);

			if (s->last_ms + t->timeout_ms[l] > now_ms)
				break;
			if (cb)
				cb(s, arg);
			stream_remove(t, i);
			t->stats.expired++;
		}
	}
}

void fl_voip_rtp_flush(struct fl_voip_rtp *t, fl_rtp_stream_cb cb, void *arg)
{
	__u32 i;

	for (i = 0; i < t->slab.used; i++) {
		struct fl_rtp_stream *s = stream_at(t, i);

		if (s->link.list == LIST_FREE)
			continue;
		if (cb)
			cb(s, arg);
		stream_remove(t, i);
	}
	t->slab.used = 0;
	t->slab.free_head = NIL;
}

void fl_voip_rtp_walk(const struct fl_voip_rtp *t, fl_rtp_stream_cb cb,
		      void *arg)
{
	__u32 i;

	for (i = 0; i < t->slab.used; i++) {
		const struct fl_rtp_stream *s = stream_at(t, i);

		if (s->link.list != LIST_FREE)
			cb(s, arg);
	}
}

void fl_voip_rtp_stats(const struct fl_voip_rtp *t,
		       struct fl_voip_rtp_stats *stats)
{
	*stats = t->stats;
	stats->active = t->slab.active;
}

__u64 fl_voip_rtp_expected(const struct fl_rtp_stream *s)
{
	return s->cycles + s->max_seq - s->base_seq + 1;
}

__s64 fl_voip_rtp_lost(const struct fl_rtp_stream *s)
{
	return (__s64)fl_voip_rtp_expected(s) - (__s64)s->received;
}

double fl_voip_rtp_jitter_ms(const struct fl_rtp_stream *s)
{
	return s->clock_rate ? s->jitter * 1000.0 / s->clock_rate : 0;
}
