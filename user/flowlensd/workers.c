// SPDX-License-Identifier: Apache-2.0
/*
 * The AF_XDP workers: one pthread per rx queue, pinned to a core, running
 * the classifier (classify.c) over the packets stage 7 escalates.
 *
 * Worker q owns one UMEM and one AF_XDP socket per interface on queue q,
 * all sharing that UMEM (XDP_SHARED_UMEM, each with its own fill and
 * completion ring), so a packet received on one interface is transmitted
 * on another without a copy. Frames not in a ring are on the worker's
 * free stack. The loop: poll; per socket reclaim completions, refill the
 * fill ring, take a batch of rx descriptors; kick the tx rings that need
 * it; once a second age the flow table. Nothing on that path takes a
 * lock: counters are written by their worker alone and read by the
 * control thread with relaxed atomics.
 *
 * An escalated packet carries struct fl_xsk_meta in front of it: the flow
 * hash, the direction, the IP header's offset and what to do afterwards:
 *   FL_XSK_TX       router: the program already rewrote MACs and TTL for
 *                   meta.ifindex_out; the worker sends the frame there
 *   FL_XSK_PASS     host: written to a TUN device (flowlens-in), so the
 *                   local stack receives the IP packet as if from the wire
 *   FL_XSK_CONSUME  monitor: nothing to send
 * When the classifier's verdict becomes final it is written into the
 * flow's FL_MAP_FLOWS entry (app, master, category, risk, BYPASS), and
 * the program stops escalating the flow.
 *
 * The sockets sit in FL_MAP_XSKS at slot * FL_XSKS_MAX + queue, where the
 * interface's slot base is in FL_MAP_XSK_SLOTS. When flowlensd dies the
 * kernel removes the sockets from the map and the program fails open.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <linux/if_xdp.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>
#include <ndpi/ndpi_protocol_ids.h>

#include "classify.h"
#include "daemon.h"
#include "log.h"
#include "workers.h"
#include "flowlens.skel.h"

#define W_FRAMES 8192
#define W_FRAME_SIZE XSK_UMEM__DEFAULT_FRAME_SIZE
#define W_RING 1024 /* rx, tx, fill and completion ring sizes */
#define W_BATCH 64
#define W_POLL_MS 100
#define W_TUN_NAME "flowlens-in"

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

struct app_count {
	_Atomic __u64 packets, bytes, flows;
};

/* A flow's details for `show flows`, copied by the worker on request. */
struct flow_detail {
	struct fl_flow_key key;
	char sni[FL_CLS_SNI_MAX];
	char ja3c[FL_CLS_JA3_LEN], ja3s[FL_CLS_JA3_LEN];
};

struct worker {
	struct daemon *d;
	int id, queue, cpu;
	pthread_t thread;
	bool running;
	void *area;
	struct xsk_umem *umem;
	struct wsock socks[FL_MAX_IFACES];
	int nsocks;
	__u64 free[W_FRAMES];
	__u32 nfree;
	struct fl_cls *cls;
	int flows_fd, tun_fd;
	__u64 next_expire_ms;

	/* FL_WORKER_COUNTERS, written by this worker only */
	_Atomic __u64 c[FL_WC_COUNT];
	struct app_count apps[FL_APPS_MAX];

	/* `show flows`: the control thread asks, the worker copies */
	pthread_mutex_t snap_lock;
	pthread_cond_t snap_cond;
	_Atomic int snap_req;
	struct flow_detail *snap;
	__u32 nsnap;
	bool snap_valid; /* the control thread's: answered in time */
};

struct workers {
	struct worker *w;
	int nr;
	_Atomic bool stop;
	int tun_fd;
	struct fl_cls *names; /* the control thread's, for names only */
};

static const char *const wc_names[FL_WC_COUNT] = {
#define FL_X_NAME(id, name) name,
	FL_WORKER_COUNTERS(FL_X_NAME)
#undef FL_X_NAME
};

static inline void wc_add(struct worker *w, enum fl_wc c, __u64 n)
{
	atomic_fetch_add_explicit(&w->c[c], n, memory_order_relaxed);
}

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

static int rx_queues(const char *ifname)
{
	char path[128];
	int n = 0;

	for (;;) {
		snprintf(path, sizeof(path), "/sys/class/net/%s/queues/rx-%d",
			 ifname, n);
		if (access(path, F_OK))
			break;
		n++;
	}
	return n ? n : 1;
}

/* ---- the worker thread ---- */

static void frame_free(struct worker *w, __u64 addr)
{
	if (w->nfree < W_FRAMES)
		w->free[w->nfree++] = xsk_umem__extract_addr(addr);
}

static void refill(struct worker *w, struct wsock *s)
{
	__u32 n = xsk_prod_nb_free(&s->fq, w->nfree), idx, i;

	if (n > w->nfree)
		n = w->nfree;
	if (!n || xsk_ring_prod__reserve(&s->fq, n, &idx) != n)
		return;
	for (i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&s->fq, idx + i) =
			w->free[--w->nfree];
	xsk_ring_prod__submit(&s->fq, n);
}

static void reclaim(struct worker *w, struct wsock *s)
{
	__u32 idx, n, i;

	n = xsk_ring_cons__peek(&s->cq, W_RING, &idx);
	for (i = 0; i < n; i++)
		frame_free(w, *xsk_ring_cons__comp_addr(&s->cq, idx + i));
	if (n) {
		xsk_ring_cons__release(&s->cq, n);
		wc_add(w, FL_WC_TX, n);
	}
}

static struct wsock *sock_for(struct worker *w, int ifindex)
{
	int i;

	for (i = 0; i < w->nsocks; i++)
		if (w->socks[i].ifindex == ifindex)
			return &w->socks[i];
	return NULL;
}

static bool is_voip(__u16 id)
{
	return id == NDPI_PROTOCOL_SIP || id == NDPI_PROTOCOL_RTP ||
	       id == NDPI_PROTOCOL_RTCP;
}

static __u16 app_index(__u16 app, __u16 master)
{
	__u16 id = app ? app : master;

	return id < FL_APPS_MAX ? id : 0;
}

/* Write the final verdict into the XDP flow cache; the app's counters
 * take the packets the flow had until now. */
static void write_verdict(struct worker *w, struct fl_cls_flow *f)
{
	struct app_count *a = &w->apps[app_index(f->app, f->master)];
	struct fl_flow v;

	if (bpf_map_lookup_elem(w->flows_fd, &f->key, &v)) {
		/* evicted (or escalated by hand): the next packet re-creates it */
		wc_add(w, FL_WC_VERDICT_LOST, 1);
		return;
	}
	if (v.flags & FL_FLOW_F_BYPASS)
		return; /* written before (a packet already in flight) */
	v.app = f->app;
	v.master = f->master;
	v.category = f->category;
	v.risk = f->risk;
	v.state = f->guessed || !(f->app || f->master) ? FL_FLOW_GAVE_UP :
							 FL_FLOW_CLASSIFIED;
	v.flags |= FL_FLOW_F_BYPASS;
	if (is_voip(f->app) || is_voip(f->master))
		v.flags |= FL_FLOW_F_VOIP;
	if (bpf_map_update_elem(w->flows_fd, &f->key, &v, BPF_EXIST)) {
		wc_add(w, FL_WC_VERDICT_LOST, 1);
		return;
	}
	atomic_fetch_add_explicit(&a->flows, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&a->packets, v.packets, memory_order_relaxed);
	atomic_fetch_add_explicit(&a->bytes, v.bytes, memory_order_relaxed);
	wc_add(w,
	       v.state == FL_FLOW_CLASSIFIED ? FL_WC_CLASSIFIED : FL_WC_GAVE_UP,
	       1);
}

/* The flow key from the IP header (the hash and direction come from the
 * metadata). Returns 0, or -1 if the header is not one stage 7 sends. */
static int l3_key(const __u8 *l3, __u32 len, struct fl_flow_key *key)
{
	union fl_addr src = {}, dst = {};
	__be16 sport = 0, dport = 0;
	__u32 off;
	__u8 proto, family;

	if (len < 20)
		return -1;
	if ((l3[0] >> 4) == 4) {
		off = (l3[0] & 0xf) * 4;
		if (off < 20 || off > len)
			return -1;
		proto = l3[9];
		memcpy(src.b, l3 + 12, 4);
		memcpy(dst.b, l3 + 16, 4);
		family = 4;
	} else if ((l3[0] >> 4) == 6 && len >= 40) {
		proto = l3[6];
		memcpy(src.b, l3 + 8, 16);
		memcpy(dst.b, l3 + 24, 16);
		off = 40;
		family = 6;
		/* extension headers, as the program walks them */
		while ((proto == IPPROTO_HOPOPTS || proto == IPPROTO_ROUTING ||
			proto == IPPROTO_DSTOPTS) &&
		       off + 8 <= len) {
			proto = l3[off];
			off += (l3[off + 1] + 1) * 8;
		}
	} else {
		return -1;
	}
	if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) && off + 4 <= len) {
		memcpy(&sport, l3 + off, 2);
		memcpy(&dport, l3 + off + 2, 2);
	}
	fl_flow_key_make(key, &src, &dst, sport, dport, proto, family);
	return 0;
}

/* One escalated frame; returns true if the frame was handed to a tx ring. */
static bool handle(struct worker *w, struct wsock *s, __u64 addr, __u32 len)
{
	__u8 *data = xsk_umem__get_data(w->area, addr);
	const struct fl_xsk_meta *meta = (const void *)(data - sizeof(*meta));
	struct fl_cls_flow *f = NULL;
	struct fl_flow_key key;
	struct wsock *out;
	__u32 idx;

	if (meta->magic != FL_XSK_META_MAGIC || meta->l3_off >= len ||
	    l3_key(data + meta->l3_off, len - meta->l3_off, &key)) {
		wc_add(w, FL_WC_BAD_META, 1);
		wc_add(w, FL_WC_DROPPED, 1);
		return false;
	}
	switch (fl_cls_packet(w->cls, data + meta->l3_off, len - meta->l3_off,
			      now_ms(), &key, meta->hash, meta->dir, &f)) {
	case FL_CLS_VERDICT:
		write_verdict(w, f);
		break;
	case FL_CLS_ERROR:
		wc_add(w, FL_WC_TABLE_FULL, 1);
		break;
	default:
		/* escalated after the verdict: VoIP, or a verdict that did
		 * not reach the cache (evicted meanwhile): write it again */
		if (f && f->final) {
			struct app_count *a =
				&w->apps[app_index(f->app, f->master)];

			if (meta->state == FL_FLOW_CLASSIFYING)
				write_verdict(w, f);
			else {
				atomic_fetch_add_explicit(&a->packets, 1,
							  memory_order_relaxed);
				atomic_fetch_add_explicit(&a->bytes, len,
							  memory_order_relaxed);
			}
		}
	}

	switch (meta->action) {
	case FL_XSK_TX:
		out = sock_for(w, meta->ifindex_out);
		if (!out || xsk_ring_prod__reserve(&out->tx, 1, &idx) != 1) {
			wc_add(w, out ? FL_WC_TX_RING_FULL : FL_WC_NO_TX_SOCKET,
			       1);
			break;
		}
		xsk_ring_prod__tx_desc(&out->tx, idx)->addr = addr;
		xsk_ring_prod__tx_desc(&out->tx, idx)->len = len;
		xsk_ring_prod__tx_desc(&out->tx, idx)->options = 0;
		xsk_ring_prod__submit(&out->tx, 1);
		out->tx_unkicked++;
		return true;
	case FL_XSK_PASS:
		if (w->tun_fd >= 0 && write(w->tun_fd, data + meta->l3_off,
					    len - meta->l3_off) > 0) {
			wc_add(w, FL_WC_PASSED, 1);
			return false;
		}
		break;
	case FL_XSK_CONSUME:
		wc_add(w, FL_WC_CONSUMED, 1);
		return false;
	}
	wc_add(w, FL_WC_DROPPED, 1);
	return false;
}

/* In copy mode one sendto() transmits a batch (the kernel's TX_BATCH_SIZE,
 * 32) and says EAGAIN while more is left: kick until the ring is drained;
 * if the device pushes back (ENOBUFS, EBUSY), again on the next round. */
static void tx_kick(struct wsock *s)
{
	int i;

	if (!s->tx_unkicked)
		return;
	for (i = 0; i < W_RING / 32 + 1; i++) {
		if (sendto(xsk_socket__fd(s->xsk), NULL, 0, MSG_DONTWAIT, NULL,
			   0) >= 0)
			break;
		if (errno == ENOBUFS || errno == EBUSY)
			return;
		if (errno != EAGAIN)
			break;
	}
	s->tx_unkicked = 0;
}

/* A flow given up at expiry gets its verdict (nDPI's guess) too; one
 * already written is left as it is. A flow the XDP cache still sees
 * (bypassed: it no longer reaches the worker) stays in the table, so
 * `show flows` keeps its SNI and JA3. */
static void expired(struct fl_cls_flow *f, void *arg)
{
	struct worker *w = arg;
	struct fl_flow v;
	__u64 seen_ms;

	write_verdict(w, f);
	if (bpf_map_lookup_elem(w->flows_fd, &f->key, &v))
		return;
	seen_ms = v.last_seen / 1000000; /* CLOCK_MONOTONIC, as now_ms() */
	if (seen_ms > f->last_ms)
		f->last_ms = seen_ms;
}

static void rx_batch(struct worker *w, struct wsock *s)
{
	__u32 idx, n, i;

	n = xsk_ring_cons__peek(&s->rx, W_BATCH, &idx);
	if (!n)
		return;
	wc_add(w, FL_WC_RX, n);
	for (i = 0; i < n; i++) {
		const struct xdp_desc *desc =
			xsk_ring_cons__rx_desc(&s->rx, idx + i);

		if (!handle(w, s, desc->addr, desc->len))
			frame_free(w, desc->addr);
	}
	xsk_ring_cons__release(&s->rx, n);
}

static void snapshot_one(struct fl_cls_flow *f, void *arg)
{
	struct worker *w = arg;
	struct flow_detail *fd;

	if (!w->snap)
		return;
	fd = &w->snap[w->nsnap++];
	fd->key = f->key;
	memcpy(fd->sni, f->sni, sizeof(fd->sni));
	memcpy(fd->ja3c, f->ja3c, sizeof(fd->ja3c));
	memcpy(fd->ja3s, f->ja3s, sizeof(fd->ja3s));
}

static void snapshot(struct worker *w)
{
	pthread_mutex_lock(&w->snap_lock);
	free(w->snap);
	w->nsnap = 0;
	w->snap = calloc(fl_cls_flows(w->cls) + 1, sizeof(*w->snap));
	fl_cls_walk(w->cls, snapshot_one, w);
	atomic_store(&w->snap_req, 0);
	pthread_cond_broadcast(&w->snap_cond);
	pthread_mutex_unlock(&w->snap_lock);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct workers *ws = w->d->workers;
	struct pollfd pfd[FL_MAX_IFACES];
	int i;

	for (i = 0; i < w->nsocks; i++)
		pfd[i] = (struct pollfd){ .fd = xsk_socket__fd(w->socks[i].xsk),
					  .events = POLLIN };
	while (!atomic_load_explicit(&ws->stop, memory_order_relaxed)) {
		__u64 now;

		for (i = 0; i < w->nsocks; i++) {
			struct wsock *s = &w->socks[i];

			reclaim(w, s);
			refill(w, s);
			rx_batch(w, s);
		}
		for (i = 0; i < w->nsocks; i++)
			tx_kick(&w->socks[i]);
		now = now_ms();
		if (now >= w->next_expire_ms) {
			fl_cls_expire(w->cls, now, expired, w);
			w->next_expire_ms = now + 1000;
		}
		if (atomic_load_explicit(&w->snap_req, memory_order_acquire))
			snapshot(w);
		for (i = 0; i < w->nsocks; i++)
			if (xsk_cons_nb_avail(&w->socks[i].rx, 1))
				break;
		if (i == w->nsocks)
			poll(pfd, w->nsocks, W_POLL_MS);
	}
	return NULL;
}

/* ---- setup ---- */

static int open_tun(void)
{
	struct ifreq ifr = { .ifr_flags = IFF_TUN | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), sk;

	if (fd < 0)
		return -errno;
	strcpy(ifr.ifr_name, W_TUN_NAME);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		goto err;
	sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sk < 0)
		goto err;
	if (ioctl(sk, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		ioctl(sk, SIOCSIFFLAGS, &ifr);
	}
	close(sk);
	return fd;
err:
	close(fd);
	return -errno;
}

/* Packets written to the TUN device come "from" it: strict reverse-path
 * filtering would drop them. */
static void tun_sysctls(void)
{
	static const char *const files[] = {
		"/proc/sys/net/ipv4/conf/" W_TUN_NAME "/rp_filter",
		"/proc/sys/net/ipv4/conf/" W_TUN_NAME "/accept_local",
	};
	static const char *const values[] = { "0", "1" };
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		FILE *f = fopen(files[i], "w");

		if (f) {
			fputs(values[i], f);
			fclose(f);
		}
	}
}

static int sock_open(struct daemon *d, struct worker *w, int slot, int xsks_fd,
		     int slots_fd)
{
	struct xsk_socket_config cfg = {
		.rx_size = W_RING,
		.tx_size = W_RING,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_COPY | XDP_USE_NEED_WAKEUP,
	};
	struct fl_iface *ifc = &d->ifaces[slot];
	struct wsock *s = &w->socks[w->nsocks];
	__u32 key = slot * FL_XSKS_MAX + w->queue, base = slot * FL_XSKS_MAX;
	int err, fd;

	err = xsk_socket__create_shared(&s->xsk, ifc->name, w->queue, w->umem,
					&s->rx, &s->tx, &s->fq, &s->cq, &cfg);
	if (err) {
		pr_err("worker %d: AF_XDP socket on %s queue %d: %s", w->id,
		       ifc->name, w->queue, strerror(-err));
		return err;
	}
	fd = xsk_socket__fd(s->xsk);
	if (bpf_map_update_elem(xsks_fd, &key, &fd, 0) ||
	    bpf_map_update_elem(slots_fd, &ifc->ifindex, &base, 0)) {
		err = -errno;
		pr_err("worker %d: cannot add the socket of %s to the maps: %s",
		       w->id, ifc->name, strerror(errno));
		xsk_socket__delete(s->xsk);
		return err;
	}
	s->ifindex = ifc->ifindex;
	s->slot = slot;
	w->nsocks++;
	return 0;
}

static int worker_open(struct daemon *d, struct worker *w, int xsks_fd,
		       int slots_fd)
{
	struct xsk_umem_config ucfg = {
		.fill_size = W_RING,
		.comp_size = W_RING,
		.frame_size = W_FRAME_SIZE,
		.frame_headroom = 0,
	};
	/* libxdp leaves the cached indexes to the caller: start at zero */
	struct xsk_ring_prod fq = {};
	struct xsk_ring_cons cq = {};
	struct fl_cls_opts copts = { .idle_ms = d->opt.flow_timeout_ms };
	struct fl_config cfg;
	int i, err;
	__u32 f;

	pthread_mutex_init(&w->snap_lock, NULL);
	pthread_cond_init(&w->snap_cond, NULL);
	w->area = mmap(NULL, (size_t)W_FRAMES * W_FRAME_SIZE,
		       PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		       0);
	if (w->area == MAP_FAILED) {
		w->area = NULL;
		return -ENOMEM;
	}
	err = xsk_umem__create(&w->umem, w->area,
			       (__u64)W_FRAMES * W_FRAME_SIZE, &fq, &cq, &ucfg);
	if (err) {
		pr_err("worker %d: UMEM: %s", w->id, strerror(-err));
		return err;
	}
	for (f = 0; f < W_FRAMES; f++)
		w->free[w->nfree++] = (__u64)f * W_FRAME_SIZE;
	for (i = 0; i < d->nr_ifaces; i++) {
		if (rx_queues(d->ifaces[i].name) <= w->queue)
			continue;
		/* the first socket takes over the UMEM's own rings */
		if (!w->nsocks) {
			w->socks[0].fq = fq;
			w->socks[0].cq = cq;
		}
		err = sock_open(d, w, i, xsks_fd, slots_fd);
		if (err)
			return err;
	}
	/* nDPI gives up where the program stops escalating */
	if (settings_read(d, &cfg) == 0) {
		copts.max_tcp = cfg.escalate_tcp ?: FL_ESCALATE_TCP_DEFAULT;
		copts.max_udp = cfg.escalate_udp ?: FL_ESCALATE_UDP_DEFAULT;
	}
	w->cls = fl_cls_new(&copts);
	if (!w->cls)
		return -ENOMEM;
	return 0;
}

static void worker_close(struct worker *w)
{
	int i;

	for (i = 0; i < w->nsocks; i++)
		xsk_socket__delete(w->socks[i].xsk);
	w->nsocks = 0;
	if (w->umem)
		xsk_umem__delete(w->umem);
	if (w->area)
		munmap(w->area, (size_t)W_FRAMES * W_FRAME_SIZE);
	if (w->cls)
		fl_cls_free(w->cls);
	free(w->snap);
	pthread_mutex_destroy(&w->snap_lock);
	pthread_cond_destroy(&w->snap_cond);
}

static int map_fd(struct daemon *d, const char *name)
{
	int fd = bpf_object__find_map_fd_by_name(d->skel->obj, name);

	if (fd < 0)
		pr_err("the program has no map %s", name);
	return fd;
}

static int escalation_set(struct daemon *d, bool on)
{
	struct fl_config cfg;

	if (settings_read(d, &cfg))
		return -1;
	if (on)
		cfg.escalate_flags &= ~FL_ESCALATE_F_OFF;
	else
		cfg.escalate_flags |= FL_ESCALATE_F_OFF;
	return settings_write(d, &cfg);
}

int workers_open(struct daemon *d)
{
	int nr = d->opt.workers, queues = 1, i, err = 0, xsks_fd, slots_fd;
	struct workers *ws;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	sigset_t all, old;

	if (d->opt.workers_set && nr == 0) {
		pr_info("workers: none (--workers 0): no flow is escalated");
		return escalation_set(d, false);
	}
	for (i = 0; i < d->nr_ifaces; i++)
		if (rx_queues(d->ifaces[i].name) > queues)
			queues = rx_queues(d->ifaces[i].name);
	if (!d->opt.workers_set)
		nr = ncpu > 0 ? ncpu : 1;
	if (nr > queues) {
		if (d->opt.workers_set)
			pr_info("workers: %d asked, the interfaces have %d rx queue%s: starting %d",
				nr, queues, queues > 1 ? "s" : "", queues);
		nr = queues;
	}
	xsks_fd = map_fd(d, FL_STRINGIFY(FL_MAP_XSKS));
	slots_fd = map_fd(d, FL_STRINGIFY(FL_MAP_XSK_SLOTS));
	if (xsks_fd < 0 || slots_fd < 0)
		return -ENOENT;

	ws = calloc(1, sizeof(*ws));
	if (!ws)
		return -ENOMEM;
	ws->w = calloc(nr, sizeof(*ws->w));
	ws->names = fl_cls_new(&(struct fl_cls_opts){ .max_flows = 1 });
	if (!ws->w || !ws->names) {
		free(ws->w);
		free(ws);
		return -ENOMEM;
	}
	d->workers = ws;
	ws->tun_fd = -1;
	if (d->opt.mode == FL_MODE_HOST) {
		ws->tun_fd = open_tun();
		if (ws->tun_fd < 0) {
			pr_err("workers: cannot create TUN device %s (host mode hands inspected packets back through it): %s",
			       W_TUN_NAME, strerror(-ws->tun_fd));
			return ws->tun_fd;
		}
		tun_sysctls();
	}
	for (i = 0; i < nr; i++) {
		struct worker *w = &ws->w[i];

		w->d = d;
		w->id = i;
		w->queue = i;
		w->cpu = ncpu > 0 ? i % ncpu : 0;
		w->tun_fd = ws->tun_fd;
		w->flows_fd = map_fd(d, FL_STRINGIFY(FL_MAP_FLOWS));
		ws->nr++;
		err = worker_open(d, w, xsks_fd, slots_fd);
		if (err)
			return err;
	}
	/* Signals are the control thread's (a signalfd): the workers start
	 * with every signal blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < ws->nr; i++) {
		struct worker *w = &ws->w[i];
		cpu_set_t set;

		err = pthread_create(&w->thread, NULL, worker_main, w);
		if (err) {
			pr_err("worker %d: pthread_create: %s", i,
			       strerror(err));
			return -err;
		}
		w->running = true;
		CPU_ZERO(&set);
		CPU_SET(w->cpu, &set);
		pthread_setaffinity_np(w->thread, sizeof(set), &set);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pr_info("workers: %d started (queue q on core q), %d socket%s", ws->nr,
		ws->w[0].nsocks * ws->nr, ws->nr > 1 ? "s" : "");
	return escalation_set(d, true);
}

void workers_close(struct daemon *d)
{
	struct workers *ws = d->workers;
	int i;

	if (!ws)
		return;
	atomic_store(&ws->stop, true);
	for (i = 0; i < ws->nr; i++)
		if (ws->w[i].running)
			pthread_join(ws->w[i].thread, NULL);
	for (i = 0; i < ws->nr; i++)
		worker_close(&ws->w[i]);
	if (ws->tun_fd >= 0)
		close(ws->tun_fd);
	if (ws->names)
		fl_cls_free(ws->names);
	free(ws->w);
	free(ws);
	d->workers = NULL;
}

/* ---- control requests ---- */

static void xsk_stats(struct wsock *s, struct xdp_statistics *sum)
{
	struct xdp_statistics st;
	socklen_t len = sizeof(st);

	if (getsockopt(xsk_socket__fd(s->xsk), SOL_XDP, XDP_STATISTICS, &st,
		       &len))
		return;
	sum->rx_dropped += st.rx_dropped;
	sum->rx_invalid_descs += st.rx_invalid_descs;
	sum->tx_invalid_descs += st.tx_invalid_descs;
	sum->rx_ring_full += st.rx_ring_full;
	sum->rx_fill_ring_empty_descs += st.rx_fill_ring_empty_descs;
}

static int cmd_workers(struct daemon *d, struct json_object *req,
		       struct json_object **data, char *err, size_t errlen)
{
	struct workers *ws = d->workers;
	struct json_object *arr = json_object_new_array();
	int i, j;

	*data = json_object_new_object();
	json_object_object_add(*data, "workers", arr);
	if (!ws)
		return 0;
	for (i = 0; i < ws->nr; i++) {
		struct worker *w = &ws->w[i];
		struct json_object *o = json_object_new_object(), *ifs;
		struct xdp_statistics st = {};

		json_object_object_add(o, "id", json_object_new_int(w->id));
		json_object_object_add(o, "queue",
				       json_object_new_int(w->queue));
		json_object_object_add(o, "cpu", json_object_new_int(w->cpu));
		ifs = json_object_new_array();
		for (j = 0; j < w->nsocks; j++) {
			json_object_array_add(
				ifs, json_object_new_string(
					     d->ifaces[w->socks[j].slot].name));
			xsk_stats(&w->socks[j], &st);
		}
		json_object_object_add(o, "interfaces", ifs);
		for (j = 0; j < FL_WC_COUNT; j++)
			json_object_object_add(
				o, wc_names[j],
				json_object_new_uint64(atomic_load_explicit(
					&w->c[j], memory_order_relaxed)));
		/* the kernel's view: frames it could not hand to this worker */
		json_object_object_add(
			o, FL_WORKER_RING_FULL,
			json_object_new_uint64(st.rx_ring_full +
					       st.rx_fill_ring_empty_descs +
					       st.rx_dropped));
		json_object_object_add(
			o, "flows",
			json_object_new_uint64(fl_cls_flows(w->cls)));
		json_object_object_add(
			o, "memory",
			json_object_new_uint64(fl_cls_memory(w->cls)));
		json_object_array_add(arr, o);
	}
	return 0;
}

struct app_row {
	__u16 id;
	__u64 packets, bytes, flows;
};

static int app_cmp_key;
static int app_cmp(const void *a, const void *b)
{
	const struct app_row *x = a, *y = b;
	__u64 u = app_cmp_key == 0 ? x->bytes :
		  app_cmp_key == 1 ? x->packets :
				     x->flows;
	__u64 v = app_cmp_key == 0 ? y->bytes :
		  app_cmp_key == 1 ? y->packets :
				     y->flows;

	return u < v ? 1 : u > v ? -1 : x->id - y->id;
}

static int cmd_apps(struct daemon *d, struct json_object *req,
		    struct json_object **data, char *err, size_t errlen)
{
	struct workers *ws = d->workers;
	struct app_row *rows = calloc(FL_APPS_MAX, sizeof(*rows));
	struct fl_app_stats *percpu;
	struct json_object *v, *arr;
	const char *sort = "bytes";
	int fd, i, j, nrows = 0;

	if (json_object_object_get_ex(req, "sort", &v))
		sort = json_object_get_string(v);
	if (!strcmp(sort, "bytes"))
		app_cmp_key = 0;
	else if (!strcmp(sort, "packets"))
		app_cmp_key = 1;
	else if (!strcmp(sort, "flows"))
		app_cmp_key = 2;
	else {
		snprintf(err, errlen,
			 "unknown sort key '%s' (bytes, packets or flows)",
			 sort);
		free(rows);
		return -EINVAL;
	}
	percpu = calloc(d->ncpus, sizeof(*percpu));
	fd = map_fd(d, FL_STRINGIFY(FL_MAP_APP_STATS));
	if (!rows || !percpu || fd < 0) {
		free(rows);
		free(percpu);
		snprintf(err, errlen, "cannot read the per-app counters");
		return -ENOMEM;
	}
	for (i = 0; i < FL_APPS_MAX; i++) {
		__u32 key = i;

		rows[i].id = i;
		if (bpf_map_lookup_elem(fd, &key, percpu))
			continue;
		for (j = 0; j < d->ncpus; j++) {
			rows[i].packets += percpu[j].packets;
			rows[i].bytes += percpu[j].bytes;
		}
	}
	free(percpu);
	for (i = 0; ws && i < ws->nr; i++) {
		for (j = 0; j < FL_APPS_MAX; j++) {
			struct app_count *a = &ws->w[i].apps[j];

			rows[j].packets += atomic_load_explicit(
				&a->packets, memory_order_relaxed);
			rows[j].bytes += atomic_load_explicit(
				&a->bytes, memory_order_relaxed);
			rows[j].flows += atomic_load_explicit(
				&a->flows, memory_order_relaxed);
		}
	}
	for (i = 0; i < FL_APPS_MAX; i++)
		if (rows[i].packets || rows[i].flows)
			rows[nrows++] = rows[i];
	qsort(rows, nrows, sizeof(*rows), app_cmp);

	*data = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0; i < nrows; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(
			o, "app",
			json_object_new_string(
				ws ? fl_cls_proto_name(ws->names, rows[i].id) :
				     "?"));
		json_object_object_add(o, "id",
				       json_object_new_int(rows[i].id));
		json_object_object_add(o, "packets",
				       json_object_new_uint64(rows[i].packets));
		json_object_object_add(o, "bytes",
				       json_object_new_uint64(rows[i].bytes));
		json_object_object_add(o, "flows",
				       json_object_new_uint64(rows[i].flows));
		json_object_array_add(arr, o);
	}
	json_object_object_add(*data, "sort", json_object_new_string(sort));
	json_object_object_add(*data, "apps", arr);
	free(rows);
	return 0;
}

static int detail_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct fl_flow_key)); /* key comes first */
}

/* Ask every worker for its table's details; waits at most a second each. */
static void snapshots_take(struct workers *ws)
{
	struct timespec deadline;
	int i;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 1;
	for (i = 0; i < ws->nr; i++)
		atomic_store_explicit(&ws->w[i].snap_req, 1,
				      memory_order_release);
	for (i = 0; i < ws->nr; i++) {
		struct worker *w = &ws->w[i];

		pthread_mutex_lock(&w->snap_lock);
		while (atomic_load(&w->snap_req) &&
		       pthread_cond_timedwait(&w->snap_cond, &w->snap_lock,
					      &deadline) == 0)
			;
		/* a worker that did not answer in time may still write its
		 * snapshot: not read this time */
		w->snap_valid = !atomic_load(&w->snap_req);
		pthread_mutex_unlock(&w->snap_lock);
		if (w->snap_valid && w->snap)
			qsort(w->snap, w->nsnap, sizeof(*w->snap), detail_cmp);
	}
}

/* The details of one flow in the workers' snapshots (sorted by
 * snapshots_take()), or NULL. */
static const struct flow_detail *detail_find(struct workers *ws,
					     const struct fl_flow_key *key)
{
	const struct flow_detail *fd;
	int i;

	for (i = 0; ws && i < ws->nr; i++) {
		if (!ws->w[i].snap_valid)
			continue;
		fd = bsearch(key, ws->w[i].snap, ws->w[i].nsnap, sizeof(*fd),
			     detail_cmp);
		if (fd)
			return fd;
	}
	return NULL;
}

struct flow_row {
	struct fl_flow_key key;
	struct fl_flow v;
};

static int flow_row_cmp(const void *a, const void *b)
{
	const struct flow_row *x = a, *y = b;

	return x->v.bytes < y->v.bytes ? 1 : x->v.bytes > y->v.bytes ? -1 : 0;
}

static const char *const state_names[] = { "new", "classifying", "classified",
					   "gave-up" };

static void addr_str(const struct fl_flow_key *k, const union fl_addr *a,
		     char *buf)
{
	inet_ntop(k->family == 6 ? AF_INET6 : AF_INET, a, buf,
		  INET6_ADDRSTRLEN);
}

static int cmd_flows(struct daemon *d, struct json_object *req,
		     struct json_object **data, char *err, size_t errlen)
{
	struct workers *ws = d->workers;
	struct flow_row *rows = NULL;
	struct fl_flow_key key, next;
	struct json_object *v, *arr;
	const char *app = NULL;
	size_t n = 0, cap = 0, i;
	int fd = map_fd(d, FL_STRINGIFY(FL_MAP_FLOWS)), limit = 50, found;
	void *prev = NULL;

	if (json_object_object_get_ex(req, "app", &v))
		app = json_object_get_string(v);
	if (json_object_object_get_ex(req, "limit", &v))
		limit = json_object_get_int(v);
	if (fd < 0) {
		snprintf(err, errlen, "no flow cache map");
		return -ENOENT;
	}
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (n == cap) {
			struct flow_row *r;

			cap = cap ? cap * 2 : 1024;
			r = realloc(rows, cap * sizeof(*rows));
			if (!r)
				break;
			rows = r;
		}
		rows[n].key = key;
		if (bpf_map_lookup_elem(fd, &key, &rows[n].v) == 0)
			n++;
	}
	qsort(rows, n, sizeof(*rows), flow_row_cmp);
	if (ws)
		snapshots_take(ws);

	*data = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0, found = 0; i < n && (limit <= 0 || found < limit); i++) {
		const struct fl_flow *f = &rows[i].v;
		const struct fl_flow_key *k = &rows[i].key;
		const struct flow_detail *fd2 = detail_find(ws, k);
		bool lo_client = f->flags & FL_FLOW_F_LO_CLIENT;
		struct json_object *o, *risks;
		char name[64], a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
		char rbuf[1024], *tok, *save;

		if (ws) {
			struct fl_cls_flow tmp = { .app = f->app,
						   .master = f->master };

			fl_cls_app_name(ws->names, &tmp, name, sizeof(name));
		} else {
			snprintf(name, sizeof(name), "%u.%u", f->master,
				 f->app);
		}
		if (app && strcasecmp(app, name) &&
		    strcasecmp(app,
			       fl_cls_proto_name(ws ? ws->names : NULL,
						 app_index(f->app, f->master))))
			continue;
		found++;
		o = json_object_new_object();
		addr_str(k, lo_client ? &k->lo : &k->hi, a);
		addr_str(k, lo_client ? &k->hi : &k->lo, b);
		json_object_object_add(
			o, "proto",
			json_object_new_string(k->proto == IPPROTO_TCP ? "TCP" :
					       k->proto == IPPROTO_UDP ? "UDP" :
									 "IP"));
		json_object_object_add(o, "ip_proto",
				       json_object_new_int(k->proto));
		json_object_object_add(o, "src", json_object_new_string(a));
		json_object_object_add(
			o, "sport",
			json_object_new_int(
				ntohs(lo_client ? k->lo_port : k->hi_port)));
		json_object_object_add(o, "dst", json_object_new_string(b));
		json_object_object_add(
			o, "dport",
			json_object_new_int(
				ntohs(lo_client ? k->hi_port : k->lo_port)));
		json_object_object_add(
			o, "state",
			json_object_new_string(
				f->state < 4 ? state_names[f->state] : "?"));
		json_object_object_add(o, "app", json_object_new_string(name));
		json_object_object_add(
			o, "category",
			json_object_new_string(
				ws ? fl_cls_category_name(ws->names,
							  f->category) :
				     ""));
		json_object_object_add(
			o, "sni", json_object_new_string(fd2 ? fd2->sni : ""));
		json_object_object_add(o, "ja3c",
				       json_object_new_string(fd2 ? fd2->ja3c :
								    ""));
		json_object_object_add(o, "ja3s",
				       json_object_new_string(fd2 ? fd2->ja3s :
								    ""));
		risks = json_object_new_array();
		fl_cls_risk_names(f->risk, rbuf, sizeof(rbuf));
		for (tok = strtok_r(rbuf, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save))
			json_object_array_add(risks,
					      json_object_new_string(tok));
		json_object_object_add(o, "risk", risks);
		json_object_object_add(o, "packets",
				       json_object_new_uint64(f->packets));
		json_object_object_add(o, "bytes",
				       json_object_new_uint64(f->bytes));
		json_object_object_add(o, "escalated",
				       json_object_new_uint64(f->escalated));
		json_object_array_add(arr, o);
	}
	json_object_object_add(*data, "flows", arr);
	json_object_object_add(*data, "total", json_object_new_uint64(n));
	free(rows);
	return 0;
}

const struct command worker_commands[] = {
	{ "workers", cmd_workers },
	{ "apps", cmd_apps },
	{ "flows", cmd_flows },
	{ NULL, NULL },
};
