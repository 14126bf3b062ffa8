// SPDX-License-Identifier: Apache-2.0
/*
 * The worker thread: one per rx queue, pinned to a core, running the
 * classifier (classify.c) over the packets stage 7 escalates.
 *
 * The loop: poll; per socket reclaim completions, refill the fill ring,
 * take a batch of rx descriptors; kick the tx rings that need it; once a
 * second age the flow table; publish. Nothing on that path takes a lock
 * or waits for the control thread: counters are written by their worker
 * alone (relaxed atomics), and what the control thread wants to know -
 * verdicts with their SNI and JA3, flow ends, per-app packets - goes into
 * the worker's ring (struct fl_worker_record), where a record that finds
 * the ring full is shed and counted (ring_shed). After a round that
 * published, the worker writes the shared eventfd, unless it already did
 * since the control thread's last drain.
 *
 * An escalated packet carries struct fl_xsk_meta in front of it: the flow
 * hash, the direction, where XDP found the IP and L4 headers and the L4
 * protocol (so the worker builds XDP's own key and never walks extension
 * headers), and what to do afterwards:
 *   FL_XSK_TX       router: the program already rewrote MACs and TTL for
 *                   meta.ifindex_out; the worker sends the frame there
 *   FL_XSK_PASS     host: written to a TUN device (flowlens-in), so the
 *                   local stack receives the IP packet as if from the wire
 *   FL_XSK_CONSUME  monitor: nothing to send
 * When the classifier's verdict becomes final it is written into the
 * flow's FL_MAP_FLOWS entry (app, master, category, risk, BYPASS), and
 * the program stops escalating the flow.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <ndpi/ndpi_protocol_ids.h>

#include "hep.h"
#include "policy.h"
#include "worker_internal.h"

/* ---- publishing on the ring ---- */

/* A record to fill in place, or NULL: the ring is full and the record
 * is shed (counted). */
static struct fl_worker_record *record_start(struct worker *w, __u16 type,
					     const struct fl_flow_key *key)
{
	struct fl_worker_record *r = fl_spsc_ring_reserve(w->ring);

	if (!r) {
		wc_add(w, FL_WC_RING_SHED, 1);
		return NULL;
	}
	r->type = type;
	r->worker = w->id;
	r->pad = 0;
	r->time_ms = worker_now_ms();
	if (key)
		r->key = *key;
	else
		memset(&r->key, 0, sizeof(r->key));
	return r;
}

static void record_done(struct worker *w)
{
	fl_spsc_ring_commit(w->ring);
	w->published = true;
}

static void publish_verdict(struct worker *w, const struct fl_cls_flow *f,
			    const struct fl_flow *v)
{
	struct fl_worker_record *r = record_start(w, FL_WREC_VERDICT, &f->key);

	if (!r)
		return;
	r->verdict.app = f->app;
	r->verdict.master = f->master;
	r->verdict.category = f->category;
	r->verdict.state = v->state;
	r->verdict.flags = v->flags;
	r->verdict.risk = f->risk;
	memcpy(r->verdict.packets, v->packets, sizeof(r->verdict.packets));
	memcpy(r->verdict.bytes, v->bytes, sizeof(r->verdict.bytes));
	memcpy(r->verdict.policy, v->policy, sizeof(r->verdict.policy));
	r->verdict.first_ms = f->first_ms;
	memcpy(r->verdict.sni, f->sni, sizeof(r->verdict.sni));
	memcpy(r->verdict.ja3c, f->ja3c, sizeof(r->verdict.ja3c));
	memcpy(r->verdict.ja3s, f->ja3s, sizeof(r->verdict.ja3s));
	record_done(w);
}

static void publish_flow_end(struct worker *w, const struct fl_cls_flow *f)
{
	struct fl_worker_record *r = record_start(w, FL_WREC_FLOW_END, &f->key);

	if (!r)
		return;
	r->end.app = f->app;
	r->end.master = f->master;
	memcpy(r->end.packets, f->packets, sizeof(r->end.packets));
	memcpy(r->end.bytes, f->bytes, sizeof(r->end.bytes));
	r->end.first_ms = f->first_ms;
	r->end.last_ms = f->last_ms;
	record_done(w);
}

static void app_packets_add(struct worker *w, __u16 app, __u64 bytes)
{
	struct app_pending *p = &w->app_pending[app];

	if (!p->packets)
		w->app_touched[w->nr_app_touched++] = app;
	p->packets++;
	p->bytes += bytes;
}

/* One record per app with packets this round; what finds the ring full
 * waits for the next round rather than being shed. */
static void app_packets_publish(struct worker *w)
{
	while (w->nr_app_touched) {
		__u16 app = w->app_touched[w->nr_app_touched - 1];
		struct app_pending *p = &w->app_pending[app];
		struct fl_worker_record *r;

		if (fl_spsc_ring_full(w->ring))
			return;
		r = record_start(w, FL_WREC_APP_PACKETS, NULL);
		r->app.app = app;
		r->app.packets = p->packets;
		r->app.bytes = p->bytes;
		record_done(w);
		p->packets = p->bytes = 0;
		w->nr_app_touched--;
	}
}

/* Tell the control thread, once until it drains. */
static void publish_signal(struct worker *w)
{
	__u64 one = 1;

	if (!w->published)
		return;
	w->published = false;
	if (w->event_fd >= 0 && !atomic_exchange(&w->signalled, true) &&
	    write(w->event_fd, &one, sizeof(one)) < 0)
		atomic_store(&w->signalled, false); /* next round, again */
}

/* ---- verdicts ---- */

static bool is_voip(__u16 id)
{
	return id == NDPI_PROTOCOL_SIP || id == NDPI_PROTOCOL_RTP ||
	       id == NDPI_PROTOCOL_RTCP;
}

/* The policy slots of the flow's two directions (policy.h). */
static void policy_slots(struct worker *w, const struct fl_cls_flow *f,
			 const struct fl_flow *v, __u16 slots[2])
{
	struct policy_flow pf = {
		.key = &f->key,
		.ifindex = v->ifindex,
		.app = f->app,
		.master = f->master,
		.category = f->category,
		.risk = f->risk,
		.sni = f->sni,
		.ja3c = f->ja3c,
	};

	policy_match(w->d, &pf, slots);
}

/* Write the final verdict into the XDP flow cache, with the flow's
 * policies, and publish it with the packets the flow had until now (the
 * app's and the policies' counters take them). */
static void write_verdict(struct worker *w, struct fl_cls_flow *f)
{
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
	/* RTP whose endpoints a dialog's SDP negotiated, or that the RTP
	 * tracker found (worker_voip.c), stays escalated as VoIP too,
	 * whatever nDPI made of it */
	if (is_voip(f->app) || is_voip(f->master) ||
	    (f->flags & FL_FLOW_F_VOIP) ||
	    (voip_calls_wanted(w->d) &&
	     worker_voip_flow_negotiated(w, &f->key)))
		v.flags |= FL_FLOW_F_VOIP;
	policy_slots(w, f, &v, v.policy);
	if (bpf_map_update_elem(w->flows_fd, &f->key, &v, BPF_EXIST)) {
		wc_add(w, FL_WC_VERDICT_LOST, 1);
		return;
	}
	publish_verdict(w, f, &v);
	wc_add(w,
	       v.state == FL_FLOW_CLASSIFIED ? FL_WC_CLASSIFIED : FL_WC_GAVE_UP,
	       1);
}

/* One escalated frame; returns true if the frame was handed to a tx ring. */
static bool handle(struct worker *w, struct wsock *s, __u64 addr, __u32 len)
{
	__u8 *data = xsk_umem__get_data(w->area, addr);
	const struct fl_xsk_meta *meta = (const void *)(data - sizeof(*meta));
	struct fl_cls_flow *f = NULL;
	struct fl_flow_key key;

	/* the key as XDP made it, from the metadata: no header walked */
	if (fl_flow_key_from_meta(&key, meta, data, len)) {
		wc_add(w, FL_WC_BAD_META, 1);
		wc_add(w, FL_WC_DROPPED, 1);
		return false;
	}
	switch (fl_cls_packet(w->cls, data + meta->l3_off, len - meta->l3_off,
			      worker_now_ms(), &key, meta->hash, meta->dir,
			      &f)) {
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
			if (meta->state == FL_FLOW_CLASSIFYING)
				write_verdict(w, f);
			else
				app_packets_add(w, app_index(f->app, f->master),
						len);
		}
	}
	/* calls: SIP dialogs and RTP streams, while VoIP tracking is on */
	if (voip_calls_wanted(w->d))
		worker_voip_frame(w, data + meta->l3_off, len - meta->l3_off,
				  meta->l4_off - meta->l3_off, meta->l4_proto,
				  f);
	/* HEP3: SIP messages to the collectors, while there are any */
	if (hep_wanted(w->d))
		hep_mirror(w->d, w->id, data + meta->l3_off, len - meta->l3_off,
			   meta->l4_off - meta->l3_off, meta->l4_proto,
			   f && (f->app == NDPI_PROTOCOL_SIP ||
				 f->master == NDPI_PROTOCOL_SIP));

	switch (meta->action) {
	case FL_XSK_TX:
		if (worker_tx(w, meta->ifindex_out, addr, len))
			return true;
		break;
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

/* A flow given up at expiry gets its verdict (nDPI's guess) too; one
 * already written is left as it is. A flow the XDP cache still sees
 * (bypassed: it no longer reaches the worker) stays in the table, so
 * its SNI and JA3 stay with the control thread; one that goes is
 * published as ended. */
static void expired(struct fl_cls_flow *f, void *arg)
{
	struct worker *w = arg;
	struct fl_flow v;
	__u64 seen_ms;

	write_verdict(w, f);
	if (bpf_map_lookup_elem(w->flows_fd, &f->key, &v) == 0) {
		seen_ms = v.last_seen / 1000000; /* CLOCK_MONOTONIC */
		if (seen_ms > f->last_ms)
			f->last_ms = seen_ms;
	}
	if (f->last_ms + fl_cls_idle_ms(w->cls, f) <= w->expire_now_ms)
		publish_flow_end(w, f);
}

/* The policies changed: a final flow whose slots are no longer what its
 * verdict matches gets the new ones, without being classified again. */
static void rematch(struct fl_cls_flow *f, void *arg)
{
	struct worker *w = arg;
	struct fl_flow v;
	__u16 slots[2];

	if (!f->final || bpf_map_lookup_elem(w->flows_fd, &f->key, &v) ||
	    !(v.flags & FL_FLOW_F_BYPASS))
		return;
	policy_slots(w, f, &v, slots);
	if (slots[0] == v.policy[0] && slots[1] == v.policy[1])
		return;
	v.policy[0] = slots[0];
	v.policy[1] = slots[1];
	/* the packets counted between the read and the write are lost to
	 * the flow's counters: a policy change is rare */
	if (bpf_map_update_elem(w->flows_fd, &f->key, &v, BPF_EXIST) == 0)
		wc_add(w, FL_WC_REMATCHED, 1);
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
			worker_frame_free(w, desc->addr);
	}
	xsk_ring_cons__release(&s->rx, n);
}

void *worker_main(void *arg)
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

			worker_reclaim(w, s);
			worker_refill(w, s);
			rx_batch(w, s);
		}
		for (i = 0; i < w->nsocks; i++)
			worker_tx_kick(&w->socks[i]);
		now = worker_now_ms();
		if (now >= w->next_expire_ms) {
			w->expire_now_ms = now;
			fl_cls_expire(w->cls, now, expired, w);
			worker_voip_expire(w, now);
			w->next_expire_ms = now + 1000;
		}
		if (policy_generation(w->d) != w->policy_gen) {
			w->policy_gen = policy_generation(w->d);
			fl_cls_walk(w->cls, rematch, w);
		}
		app_packets_publish(w);
		publish_signal(w);
		atomic_store_explicit(&w->nr_flows, fl_cls_flows(w->cls),
				      memory_order_relaxed);
		atomic_store_explicit(&w->memory, fl_cls_memory(w->cls),
				      memory_order_relaxed);
		for (i = 0; i < w->nsocks; i++)
			if (xsk_cons_nb_avail(&w->socks[i].rx, 1))
				break;
		if (i == w->nsocks)
			poll(pfd, w->nsocks, W_POLL_MS);
	}
	return NULL;
}

/* ---- host mode: the TUN device ---- */

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

/* The TUN device host mode hands inspected packets back through, up;
 * its descriptor, or -errno. */
int worker_tun_open(void)
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
	tun_sysctls();
	return fd;
err:
	close(fd);
	return -errno;
}
