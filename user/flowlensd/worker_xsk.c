// SPDX-License-Identifier: Apache-2.0
/*
 * A worker's AF_XDP side: its UMEM, its sockets and their four rings.
 *
 * Worker q owns one UMEM and one AF_XDP socket per interface on queue q,
 * all sharing that UMEM (XDP_SHARED_UMEM, each with its own fill and
 * completion ring), so a packet received on one interface is transmitted
 * on another without a copy. Frames not in a ring are on the worker's
 * free stack.
 *
 * The sockets sit in FL_MAP_XSKS at slot * FL_XSKS_MAX + queue, where the
 * interface's slot base is in FL_MAP_XSK_SLOTS. When flowlensd dies the
 * kernel removes the sockets from the map and the program fails open.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_xdp.h>
#include <bpf/bpf.h>

#include "log.h"
#include "worker_internal.h"

int worker_rx_queues(const char *ifname)
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

void worker_frame_free(struct worker *w, __u64 addr)
{
	if (w->nfree < W_FRAMES)
		w->free[w->nfree++] = xsk_umem__extract_addr(addr);
}

void worker_refill(struct worker *w, struct wsock *s)
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

void worker_reclaim(struct worker *w, struct wsock *s)
{
	__u32 idx, n, i;

	n = xsk_ring_cons__peek(&s->cq, W_RING, &idx);
	for (i = 0; i < n; i++)
		worker_frame_free(w, *xsk_ring_cons__comp_addr(&s->cq, idx + i));
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

bool worker_tx(struct worker *w, int ifindex, __u64 addr, __u32 len)
{
	struct wsock *out = sock_for(w, ifindex);
	struct xdp_desc *desc;
	__u32 idx;

	if (!out || xsk_ring_prod__reserve(&out->tx, 1, &idx) != 1) {
		wc_add(w, out ? FL_WC_TX_RING_FULL : FL_WC_NO_TX_SOCKET, 1);
		return false;
	}
	desc = xsk_ring_prod__tx_desc(&out->tx, idx);
	desc->addr = addr;
	desc->len = len;
	desc->options = 0;
	xsk_ring_prod__submit(&out->tx, 1);
	out->tx_unkicked++;
	return true;
}

/* In copy mode one sendto() transmits a batch (the kernel's TX_BATCH_SIZE,
 * 32) and says EAGAIN while more is left: kick until the ring is drained;
 * if the device pushes back (ENOBUFS, EBUSY), again on the next round. */
void worker_tx_kick(struct wsock *s)
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

void worker_xsk_stats(struct wsock *s, struct xdp_statistics *sum)
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

/* The UMEM, its frames on the free stack, and a socket on every interface
 * that has rx queue w->queue. */
int worker_xsk_open(struct daemon *d, struct worker *w, int xsks_fd,
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
	int i, err;
	__u32 f;

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
		if (worker_rx_queues(d->ifaces[i].name) <= w->queue)
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
	return 0;
}

void worker_xsk_close(struct worker *w)
{
	int i;

	for (i = 0; i < w->nsocks; i++)
		xsk_socket__delete(w->socks[i].xsk);
	w->nsocks = 0;
	if (w->umem)
		xsk_umem__delete(w->umem);
	w->umem = NULL;
	if (w->area)
		munmap(w->area, (size_t)W_FRAMES * W_FRAME_SIZE);
	w->area = NULL;
}
