/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: the AF_XDP workers' counters (workers.c), named once for the
 * control replies and flctl.
 */
#ifndef FLOWLENSD_WORKERS_H
#define FLOWLENSD_WORKERS_H

#define FL_WORKER_COUNTERS(X)                                             \
	X(RX, "rx") /* escalated frames received */                       \
	X(TX, "tx") /* transmitted on the egress interface (completed) */ \
	X(PASSED, "passed") /* host mode: handed to the local stack */    \
	X(CONSUMED, "consumed") /* monitor mode: inspected, not sent */   \
	X(DROPPED, "dropped") /* could not be sent on */                  \
	X(CLASSIFIED, "classified") /* verdicts found by nDPI */          \
	X(GAVE_UP, "gave_up") /* verdicts nDPI gave up on (or guessed) */ \
	X(VERDICT_LOST, "verdict_lost") /* flow no longer in the cache */ \
	X(TX_RING_FULL, "tx_ring_full")                                   \
	X(NO_TX_SOCKET, "no_tx_socket") /* egress has no socket on q */   \
	X(BAD_META, "bad_metadata")                                       \
	X(TABLE_FULL, "table_full") /* the worker's flow table */

enum fl_wc {
#define FL_X_ENUM(id, name) FL_WC_##id,
	FL_WORKER_COUNTERS(FL_X_ENUM)
#undef FL_X_ENUM
		FL_WC_COUNT,
};

#endif /* FLOWLENSD_WORKERS_H */
