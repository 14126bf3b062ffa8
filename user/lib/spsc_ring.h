/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: a bounded, lock-free ring of fixed-size records between exactly one
 * producer thread and one consumer thread (C11 atomics). A flowlensd worker
 * publishes what it learns through one; the control thread drains it. The
 * producer never waits: when the ring is full the record is shed, and
 * counted.
 *   fl_spsc_ring_new()      room for 2^n records of record_size bytes,
 *                           allocated once; NULL if n is not a power of two
 *   fl_spsc_ring_free()
 *   fl_spsc_ring_reserve()  producer: the next free slot to fill in place,
 *                           or NULL when the ring is full (one record shed)
 *   fl_spsc_ring_commit()   producer: the reserved slot is the consumer's
 *   fl_spsc_ring_full()     producer: whether reserve would fail now (and
 *                           shed nothing), to keep a record for later
 *   fl_spsc_ring_peek()     consumer: the oldest record, or NULL if empty
 *   fl_spsc_ring_release()  consumer: done with that record, its slot is
 *                           free again
 *   fl_spsc_ring_shed()     records shed so far (any thread)
 *
 * head and tail count records ever committed and released (they wrap at
 * 2^32, which the unsigned differences survive); a slot is index & mask.
 * Each side reads the other's index only when its cached copy says full
 * (producer) or empty (consumer), so a record costs one release store on
 * each side. The two indexes live on separate cache lines.
 */
#ifndef FL_SPSC_RING_H
#define FL_SPSC_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define FL_SPSC_CACHE_LINE 64

struct fl_spsc_ring {
	/* the producer's line */
	_Alignas(FL_SPSC_CACHE_LINE) _Atomic __u32 head;
	__u32 tail_seen; /* the producer's last read of tail */
	_Atomic __u64 shed;
	/* the consumer's line */
	_Alignas(FL_SPSC_CACHE_LINE) _Atomic __u32 tail;
	__u32 head_seen; /* the consumer's last read of head */
	/* read-only after fl_spsc_ring_new() */
	_Alignas(FL_SPSC_CACHE_LINE) __u32 mask;
	__u32 record_size;
	unsigned char *records;
};

struct fl_spsc_ring *fl_spsc_ring_new(__u32 nr_records, __u32 record_size);
void fl_spsc_ring_free(struct fl_spsc_ring *r);

static inline void *fl_spsc_ring_slot(struct fl_spsc_ring *r, __u32 index)
{
	return r->records + (size_t)(index & r->mask) * r->record_size;
}

static inline bool fl_spsc_ring_full(struct fl_spsc_ring *r)
{
	__u32 head = atomic_load_explicit(&r->head, memory_order_relaxed);

	if (head - r->tail_seen <= r->mask)
		return false;
	/* acquire: the consumer's reads of the slot are over before we
	 * write it again */
	r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
	return head - r->tail_seen > r->mask;
}

static inline void *fl_spsc_ring_reserve(struct fl_spsc_ring *r)
{
	if (fl_spsc_ring_full(r)) {
		/* one writer: no read-modify-write needed */
		atomic_store_explicit(
			&r->shed,
			atomic_load_explicit(&r->shed, memory_order_relaxed) + 1,
			memory_order_relaxed);
		return NULL;
	}
	return fl_spsc_ring_slot(
		r, atomic_load_explicit(&r->head, memory_order_relaxed));
}

static inline void fl_spsc_ring_commit(struct fl_spsc_ring *r)
{
	__u32 head = atomic_load_explicit(&r->head, memory_order_relaxed);

	/* release: the record's bytes are visible before the new head */
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
}

static inline void *fl_spsc_ring_peek(struct fl_spsc_ring *r)
{
	__u32 tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

	if (tail == r->head_seen) {
		r->head_seen =
			atomic_load_explicit(&r->head, memory_order_acquire);
		if (tail == r->head_seen)
			return NULL;
	}
	return fl_spsc_ring_slot(r, tail);
}

static inline void fl_spsc_ring_release(struct fl_spsc_ring *r)
{
	__u32 tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

	atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
}

static inline __u64 fl_spsc_ring_shed(struct fl_spsc_ring *r)
{
	return atomic_load_explicit(&r->shed, memory_order_relaxed);
}

#endif /* FL_SPSC_RING_H */
