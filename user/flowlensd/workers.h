/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: the AF_XDP workers' counters (workers.c), named once for the
 * control replies and flctl (FL_WORKER_COUNTERS, user/lib/proto.h).
 */
#ifndef FLOWLENSD_WORKERS_H
#define FLOWLENSD_WORKERS_H

/* FL_WORKER_COUNTERS is in the protocol table, for flctl to print them. */
#include "proto.h"

enum fl_wc {
#define FL_X_ENUM(id, name) FL_WC_##id,
	FL_WORKER_COUNTERS(FL_X_ENUM)
#undef FL_X_ENUM
		FL_WC_COUNT,
};

#endif /* FLOWLENSD_WORKERS_H */
