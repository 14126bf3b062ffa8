/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: what the workers' files share, and no other file reads.
 *   worker_xsk.c   UMEM, AF_XDP sockets and their rings: fill, completion,
 *                  rx, tx and the tx kick
 *   worker_loop.c  the worker thread: rx batches, the classifier, the
 *                  verdict written back to the flow cache, the TUN device,
 *                  and what it publishes on its ring
 *   workers.c      open and close, the escalation switch, and the control
 *                  side: draining the rings into its flow and app tables
 *   worker_cmd.c   the workers, apps and flows commands
 *   worker_voip.c  SIP dialogs and RTP streams (VoIP tracking), and the
 *                  voip calls and voip streams commands
 *
 * A worker's own state (struct worker below the "the worker's" line) is
 * touched by its thread alone; the control thread reads its counters
 * (relaxed atomics) and its ring, nothing else - but for its VoIP
 * tracking (struct worker_voip), read under its lock. The
 * control thread's tables are in struct workers and no worker touches
 * them.
 */
#ifndef FLOWLENSD_WORKER_INTERNAL_H
#define FLOWLENSD_WORKER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
#include <uthash.h>
#include <xdp/xsk.h>

#include "classify.h"
#include "daemon.h"
#include "spsc_ring.h"
#include "workers.h"

#define W_FRAMES 8192
#define W_FRAME_SIZE XSK_UMEM__DEFAULT_FRAME_SIZE
#define W_RING 1024 /* rx, tx, fill and completion ring sizes */
#define W_BATCH 64
#define W_POLL_MS 100
#define W_TUN_NAME "flowlens-in"
/* Records in each worker's ring to the control thread (a power of two);
 * the environment variable sets another size (tests: a tiny ring). */
#define W_RECORDS 4096
#define W_RECORDS_ENV "FLOWLENSD_WORKER_RING"
/* The control side's flow table forgets a flow absent from the flow
 * cache and not heard of for this long (its end record was shed). */
#define W_FLOW_FORGET_MS 60000

_Static_assert(FL_XSKS_MAX <= 64, "a flow's workers are a 64-bit mask");

struct wsock {
	int ifindex;
	int slot; /* d->ifaces[] index */
	struct xsk_socket *xsk;
	struct xsk_ring_cons rx;
	struct xsk_ring_prod tx;
	struct xsk_ring_prod fq;
	struct xsk_ring_cons cq;
	__u32 tx_unkicked; /* submitted since the last sendto() */
};

/*
 * A worker's VoIP tracking (worker_voip.c): its RTP streams, which only
 * the worker writes, holding the lock while it does (it reads them
 * without); the control thread (voip calls, voip streams) reads them
 * under the lock. The dialogs are the workers' together (struct
 * workers).
 */
struct voip_tcp;
struct voip_rtp_src;
struct worker_voip {
	pthread_mutex_t lock;
	struct fl_voip_rtp *rtp;
	/* RTP per source towards protected prefixes since the control
	 * thread's last drain (uthash, W_VOIP_RTP_SOURCES at most) */
	struct voip_rtp_src *sources;
	__u32 nr_sources;
	_Atomic __u64 sources_dropped; /* a source with no room */
	/* the worker's alone: TCP directions being framed (uthash) */
	struct voip_tcp *tcp;
	__u32 nr_tcp;
	int prefix_fd[2]; /* FL_MAP_VOIP4, FL_MAP_VOIP6: protected hosts */
	_Atomic __u64 tcp_dropped; /* a direction with no framer free */
};

/* Packets of classified flows escalated after their verdict, summed per
 * app until the end of the loop's round (one record per app). */
struct app_pending {
	__u64 packets, bytes;
};

struct worker {
	struct daemon *d;
	int id, queue, cpu;
	pthread_t thread;
	bool running;

	/* shared with the control thread */
	struct fl_spsc_ring *ring; /* worker -> control */
	_Atomic bool signalled; /* event_fd written since the last drain */
	int event_fd;
	_Atomic __u64 c[FL_WC_COUNT]; /* FL_WORKER_COUNTERS */
	_Atomic __u64 nr_flows, memory; /* its table, at the last round */

	/* the worker's */
	void *area;
	struct xsk_umem *umem;
	struct wsock socks[FL_MAX_IFACES];
	int nsocks;
	__u64 free[W_FRAMES];
	__u32 nfree;
	struct fl_cls *cls;
	int flows_fd, tun_fd;
	__u64 next_expire_ms, expire_now_ms;
	bool published; /* this round */
	unsigned int policy_gen; /* policy_generation() its flows match */
	struct app_pending app_pending[FL_APPS_MAX];
	__u16 app_touched[FL_APPS_MAX];
	__u32 nr_app_touched;
	struct worker_voip voip;
};

/* The control side's view of one flow, from the workers' records. */
struct flow_info {
	struct fl_flow_key key; /* hash key */
	__u64 workers; /* bit per worker that has it in its table */
	__u64 updated_ms;
	__u16 app, master, category;
	__u64 risk;
	char sni[FL_CLS_SNI_MAX];
	char ja3c[FL_CLS_JA3_LEN], ja3s[FL_CLS_JA3_LEN];
	UT_hash_handle hh;
};

struct app_total {
	__u64 packets, bytes, flows;
	__u16 category; /* nDPI's, of the app's latest verdict (with flows) */
};

struct workers {
	struct worker *w;
	int nr;
	_Atomic bool stop;
	int tun_fd;
	int event_fd; /* eventfd: a worker published */
	/* worker_voip.c: the SIP dialogs every worker feeds, under the
	 * lock (never taken with a worker's own) */
	pthread_mutex_t dialogs_lock;
	struct fl_voip_dialogs *dialogs;
	/* bumped when the protected prefixes change: a stream looks its
	 * destination up again */
	_Atomic __u32 voip_prefixes_gen;

	/* the control thread's */
	struct fl_cls *names; /* for names only */
	struct flow_info *flows; /* uthash, by key */
	__u32 nr_flows, max_flows;
	struct app_total apps[FL_APPS_MAX];
	__u64 next_forget_ms;

	/* worker_cmd.c: every app's totals as `show apps` counts them, read
	 * once a window (FL_RATE_SLOTS ticks), the last two reads kept for
	 * `flctl top apps` */
	struct app_total apps_read[2][FL_APPS_MAX];
	int apps_last; /* apps_read[] of the last read */
	unsigned int apps_reads;
	double apps_interval; /* seconds between the two; 0: one read yet */
	struct timespec apps_read_at;
	unsigned int apps_ticks;
};

static inline __u64 worker_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

static inline void wc_add(struct worker *w, enum fl_wc c, __u64 n)
{
	atomic_fetch_add_explicit(&w->c[c], n, memory_order_relaxed);
}

/* The per-app counters' index of a verdict (nDPI's app, else its master). */
static inline __u16 app_index(__u16 app, __u16 master)
{
	__u16 id = app ? app : master;

	return id < FL_APPS_MAX ? id : 0;
}

/* worker_xsk.c */
int worker_rx_queues(const char *ifname);
int worker_xsk_open(struct daemon *d, struct worker *w, int xsks_fd,
		    int slots_fd);
void worker_xsk_close(struct worker *w);
void worker_frame_free(struct worker *w, __u64 addr);
void worker_refill(struct worker *w, struct wsock *s);
void worker_reclaim(struct worker *w, struct wsock *s);
/* Hands the frame at addr to the tx ring of the socket on ifindex; false
 * (counted) if there is none or its ring is full. */
bool worker_tx(struct worker *w, int ifindex, __u64 addr, __u32 len);
void worker_tx_kick(struct wsock *s);
/* The kernel's drop counters of one socket, added to sum. */
struct xdp_statistics;
void worker_xsk_stats(struct wsock *s, struct xdp_statistics *sum);

/* worker_loop.c */
void *worker_main(void *arg);
int worker_tun_open(void);

/* workers.c */
int workers_map_fd(struct daemon *d, const char *name);
const struct flow_info *workers_flow_find(struct workers *ws,
					  const struct fl_flow_key *key);

/* worker_voip.c */
int workers_voip_open(struct workers *ws, int nr);
void workers_voip_close(struct workers *ws);
int worker_voip_open(struct worker *w);
void worker_voip_close(struct worker *w);
/* One escalated frame while VoIP tracking is on (voip_calls_wanted()):
 * SIP into the dialogs, RTP into the streams. @f: the classifier's flow,
 * or NULL; a flow found to carry RTP gets FL_FLOW_F_VOIP in f->flags. */
struct fl_cls_flow;
void worker_voip_frame(struct worker *w, const void *l3, size_t l3_len,
		       size_t l4_off, __u8 l4_proto, struct fl_cls_flow *f);
/* Either end of the flow is media a live dialog negotiated: its verdict
 * keeps it escalated as VoIP. */
bool worker_voip_flow_negotiated(struct worker *w,
				 const struct fl_flow_key *key);
/* The worker's timer: dialogs, streams and TCP framers past their time. */
void worker_voip_expire(struct worker *w, __u64 now_ms);
/* voip-calls, voip-streams */
int worker_voip_calls(struct daemon *d, struct json_object *req,
		      struct json_object **data, char *err, size_t errlen);
int worker_voip_streams(struct daemon *d, struct json_object *req,
			struct json_object **data, char *err, size_t errlen);

/* worker_cmd.c: the workers, apps and flows commands */
extern const struct command worker_commands[];
/* The module's tick: a drain (what the last one left for later), and
 * once a window a read of the per-app totals for `flctl top apps`. */
void workers_tick(struct daemon *d);

#endif /* FLOWLENSD_WORKER_INTERNAL_H */
