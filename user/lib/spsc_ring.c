// SPDX-License-Identifier: Apache-2.0
/*
 * The single-producer/single-consumer ring's allocation; the hot path is
 * inline in spsc_ring.h.
 */
#include <stdlib.h>
#include <string.h>

#include "spsc_ring.h"

struct fl_spsc_ring *fl_spsc_ring_new(__u32 nr_records, __u32 record_size)
{
	struct fl_spsc_ring *r;

	if (!nr_records || (nr_records & (nr_records - 1)) || !record_size)
		return NULL;
	/* the struct's cache-line alignment needs an aligned allocation */
	r = aligned_alloc(FL_SPSC_CACHE_LINE, sizeof(*r));
	if (!r)
		return NULL;
	memset(r, 0, sizeof(*r));
	r->mask = nr_records - 1;
	r->record_size = record_size;
	r->records = calloc(nr_records, record_size);
	if (!r->records) {
		free(r);
		return NULL;
	}
	return r;
}

void fl_spsc_ring_free(struct fl_spsc_ring *r)
{
	if (!r)
		return;
	free(r->records);
	free(r);
}
