// SPDX-License-Identifier: Apache-2.0
/*
 * The worker-to-control ring (user/lib/spsc_ring.h): sizes it refuses,
 * wrap-around of the slots and of the 32-bit indexes, a full ring shedding
 * and counting, and a producer and a consumer thread racing over millions
 * of records: none lost, none seen twice, none torn, in order; and, with a
 * producer that never waits, every record either received or counted shed.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "spsc_ring.h"
#include "test_progs.h"

#define RACE_RECORDS (4u << 20)

struct rec {
	__u64 seq;
	__u64 check; /* ~seq: a torn record shows */
	__u8 fill[48];
};

static bool push(struct fl_spsc_ring *r, __u64 seq)
{
	struct rec *p = fl_spsc_ring_reserve(r);

	if (!p)
		return false;
	p->seq = seq;
	p->check = ~seq;
	p->fill[0] = p->fill[47] = (__u8)seq;
	fl_spsc_ring_commit(r);
	return true;
}

/* The next record, which must be seq; false (and a failure) otherwise. */
static bool pop_expect(struct fl_spsc_ring *r, __u64 seq, const char *name)
{
	struct rec *p = fl_spsc_ring_peek(r);
	bool ok;

	if (!ASSERT_OK_PTR(p, name))
		return false;
	ok = ASSERT_EQ(p->seq, seq, name) && ASSERT_EQ(p->check, ~seq, name);
	fl_spsc_ring_release(r);
	return ok;
}

static void sizes(void)
{
	struct fl_spsc_ring *r;

	test__case("sizes");
	ASSERT_NULL(fl_spsc_ring_new(0, sizeof(struct rec)), "0 records");
	ASSERT_NULL(fl_spsc_ring_new(3, sizeof(struct rec)), "3 records");
	ASSERT_NULL(fl_spsc_ring_new(1000, sizeof(struct rec)), "1000 records");
	ASSERT_NULL(fl_spsc_ring_new(8, 0), "records of 0 bytes");
	r = fl_spsc_ring_new(1, sizeof(struct rec));
	if (ASSERT_OK_PTR(r, "1 record")) {
		ASSERT_TRUE(push(r, 7), "push into a ring of one");
		ASSERT_FALSE(push(r, 8), "second push into a ring of one");
		pop_expect(r, 7, "pop from a ring of one");
		ASSERT_NULL(fl_spsc_ring_peek(r), "empty again");
		ASSERT_EQ(fl_spsc_ring_shed(r), 1, "shed from a ring of one");
	}
	fl_spsc_ring_free(r);
}

/* The slots wrap many times, and so do the 32-bit indexes. */
static void wrap_around(void)
{
	static const __u32 starts[] = { 0, 0xfffffff0u };
	struct fl_spsc_ring *r;
	__u64 in, out;
	size_t s;
	int round;

	for (s = 0; s < ARRAY_SIZE(starts); s++) {
		test__case("wrap-around from index %#x", starts[s]);
		r = fl_spsc_ring_new(4, sizeof(struct rec));
		if (!ASSERT_OK_PTR(r, "new"))
			return;
		atomic_store(&r->head, starts[s]);
		atomic_store(&r->tail, starts[s]);
		r->tail_seen = r->head_seen = starts[s];
		ASSERT_NULL(fl_spsc_ring_peek(r), "empty at the start");
		in = out = 0;
		/* 3 in, 2 out: the fill level walks up to full and back */
		for (round = 0; round < 1000; round++) {
			int k;

			for (k = 0; k < 3; k++)
				if (push(r, in))
					in++;
			for (k = 0; k < 2 && out < in; k++)
				if (!pop_expect(r, out++, "in order"))
					goto next;
			if (round % 7 == 6) /* drain now and then */
				while (out < in)
					if (!pop_expect(r, out++, "drained"))
						goto next;
		}
		while (out < in)
			if (!pop_expect(r, out++, "the rest"))
				goto next;
		ASSERT_NULL(fl_spsc_ring_peek(r), "empty at the end");
		ASSERT_GT(in, 2000, "records through a ring of 4");
		ASSERT_GE(fl_spsc_ring_shed(r), 1, "some shed when full");
next:
		fl_spsc_ring_free(r);
	}
}

static void full_sheds_and_counts(void)
{
	struct fl_spsc_ring *r = fl_spsc_ring_new(8, sizeof(struct rec));
	__u64 i;

	test__case("full ring");
	if (!ASSERT_OK_PTR(r, "new"))
		return;
	for (i = 0; i < 8; i++)
		ASSERT_TRUE(push(r, i), "push into room");
	ASSERT_TRUE(fl_spsc_ring_full(r), "full after 8");
	ASSERT_EQ(fl_spsc_ring_shed(r), 0, "full() sheds nothing");
	for (i = 100; i < 105; i++)
		ASSERT_FALSE(push(r, i), "push into a full ring");
	ASSERT_EQ(fl_spsc_ring_shed(r), 5, "shed records counted");
	pop_expect(r, 0, "oldest first");
	ASSERT_FALSE(fl_spsc_ring_full(r), "room after one release");
	ASSERT_TRUE(push(r, 8), "push into the freed slot");
	ASSERT_FALSE(push(r, 9), "full again");
	ASSERT_EQ(fl_spsc_ring_shed(r), 6, "shed counted again");
	for (i = 1; i <= 8; i++)
		if (!pop_expect(r, i, "shed records never show"))
			break;
	ASSERT_NULL(fl_spsc_ring_peek(r), "empty");
	fl_spsc_ring_free(r);
}

struct race {
	struct fl_spsc_ring *r;
	bool wait_when_full; /* else shed, as a worker does */
	_Atomic bool done; /* the producer's */
	_Atomic bool stop; /* the consumer's: it found a bad record */
	__u64 sent;
};

static void pin_to(int cpu)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	/* the runner keeps itself on one CPU: give each side its own */
	if (ncpu < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu % ncpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *producer(void *arg)
{
	struct race *race = arg;
	__u64 seq;

	pin_to(1);
	for (seq = 0; seq < RACE_RECORDS && !atomic_load(&race->stop); seq++) {
		if (race->wait_when_full)
			while (fl_spsc_ring_full(race->r) &&
			       !atomic_load(&race->stop))
				sched_yield();
		push(race->r, seq);
	}
	race->sent = seq;
	atomic_store(&race->done, true);
	return NULL;
}

/* Consumes until the producer has finished and the ring is empty; returns
 * the number received, or -1 at the first record out of order or torn. */
static long long consume(struct race *race, bool expect_every_one)
{
	struct fl_spsc_ring *r = race->r;
	long long received = 0;
	__u64 next = 0;
	bool finished = false;

	for (;;) {
		struct rec *p = fl_spsc_ring_peek(r);

		if (!p) {
			if (finished)
				return received;
			finished = atomic_load(&race->done);
			continue; /* one more look after the producer ends */
		}
		if (p->check != ~p->seq || p->fill[0] != (__u8)p->seq ||
		    p->fill[47] != (__u8)p->seq ||
		    (expect_every_one ? p->seq != next : p->seq < next)) {
			test__log("record %llu after %llu (check %llx)\n",
				  (unsigned long long)p->seq,
				  (unsigned long long)next,
				  (unsigned long long)p->check);
			atomic_store(&race->stop, true);
			return -1;
		}
		next = p->seq + 1;
		received++;
		fl_spsc_ring_release(r);
	}
}

static void race(bool wait_when_full)
{
	struct race race = { .wait_when_full = wait_when_full };
	long long received;
	pthread_t t;

	test__case("producer and consumer racing, %s",
		   wait_when_full ? "producer waits when full" :
				    "producer sheds when full");
	race.r = fl_spsc_ring_new(256, sizeof(struct rec));
	if (!ASSERT_OK_PTR(race.r, "new"))
		return;
	if (!ASSERT_OK(pthread_create(&t, NULL, producer, &race),
		       "pthread_create"))
		goto out;
	pin_to(0);
	received = consume(&race, wait_when_full);
	pthread_join(t, NULL);
	if (!ASSERT_GE(received, 0, "every record whole and in order"))
		goto out;
	ASSERT_EQ(race.sent, RACE_RECORDS, "records sent");
	if (wait_when_full) {
		ASSERT_EQ(received, RACE_RECORDS, "records received");
		ASSERT_EQ(fl_spsc_ring_shed(race.r), 0, "records shed");
	} else {
		ASSERT_EQ(received + fl_spsc_ring_shed(race.r), RACE_RECORDS,
			  "received + shed");
	}
	test__log("%lld received, %llu shed\n", received,
		  (unsigned long long)fl_spsc_ring_shed(race.r));
out:
	fl_spsc_ring_free(race.r);
}

void test_worker_ring(void)
{
	cpu_set_t saved;

	pthread_getaffinity_np(pthread_self(), sizeof(saved), &saved);
	sizes();
	wrap_around();
	full_sheds_and_counts();
	race(true);
	race(false);
	pthread_setaffinity_np(pthread_self(), sizeof(saved), &saved);
}
