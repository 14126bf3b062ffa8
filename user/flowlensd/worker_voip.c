// SPDX-License-Identifier: Apache-2.0
/*
 * Calls in the workers: while VoIP tracking is on (voip_calls_wanted(),
 * voip.c decides), every escalated frame of a VoIP flow goes through here
 * after the classifier, into
 *   - one dialog tracker (user/lib/voip_track.h) that every worker feeds,
 *     W_VOIP_DIALOGS Call-IDs per worker: a dialog's requests and its
 *     responses travel in opposite directions, which RSS (or a veth's
 *     transmit queue) may hand to different queues, so a table per worker
 *     would hold halves of dialogs. Every SIP message goes in: UDP
 *     datagrams (several messages in one are parsed in turn), and TCP
 *     through a framer per direction and worker (W_VOIP_TCP directions at
 *     once, each buffering at most W_VOIP_TCP_BUF bytes of a message
 *     split over segments);
 *   - an RTP tracker per worker, W_VOIP_STREAMS streams: a stream is one
 *     direction, whose packets one queue gets. It is fed with the RTP
 *     packets of UDP flows whose address and port a live dialog's SDP
 *     offered, that nDPI named RTP, or that nDPI is still looking at (a
 *     stream that is none of those stays on probation and is evicted
 *     first, see voip_track.h). A flow with a stream past probation gets
 *     FL_FLOW_F_VOIP with its verdict: it stays escalated, as RTP nDPI
 *     named does.
 * Both expire on the worker's one-second timer.
 *
 * Unsolicited media: an RTP packet towards a host in a VoIP threshold's
 * protected prefix (FL_MAP_VOIP4/6, the datapath's own tries) whose stream
 * no SDP negotiated, once the stream is RTP beyond doubt (its second
 * packet followed the first's sequence, or nDPI named the flow RTP):
 * counted per worker (rtp_unsolicited) and per stream.
 *
 * RTP bursts: every such packet towards a protected prefix, negotiated or
 * not, is also counted per (source, prefix) in the worker's sources
 * table, W_VOIP_RTP_SOURCES of them; the control thread drains the
 * counts every tick (workers_voip_rtp_drain()) and voip.c judges them
 * against the prefix's rtp and unsolicited thresholds. A stream looks its
 * destination up once, and again after the prefixes change (a
 * generation, voip_prefixes_gen): not a syscall per packet.
 *
 * Locking (worker_internal.h): a worker holds its own lock only while it
 * updates its RTP tracker, and the dialogs' lock only while it puts a SIP
 * message in or looks a media up; never both at once. SIP is a few
 * messages a call, and the escalation cap bounds a flood of it. The
 * control thread's voip calls and voip streams take the same locks, one
 * at a time, while they read the tables.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <ndpi/ndpi_protocol_ids.h>

#include "prefix.h"
#include "sip.h"
#include "voip_json.h"
#include "voip_track.h"
#include "worker_internal.h"

#define W_VOIP_DIALOGS 4096
#define W_VOIP_STREAMS 8192
#define W_VOIP_TCP 256 /* TCP directions framed at once */
#define W_VOIP_TCP_BUF 16384 /* a SIP message split over segments */
#define W_VOIP_TCP_IDLE_MS 120000
#define W_VOIP_RTP_SOURCES 1024 /* per worker, between two drains */
#define W_VOIP_SLOT_NONE 0xffff /* a stream's tag: not protected */

struct voip_rtp_src {
	struct workers_rtp_source key;
	__u64 rtp, unsolicited; /* since the last drain */
	UT_hash_handle hh;
};

struct voip_tcp_key {
	union fl_addr src, dst;
	__u16 sport, dport;
	__u8 family;
	__u8 pad[3];
};

struct voip_tcp {
	struct voip_tcp_key key;
	struct fl_sip_stream stream;
	__u64 last_ms;
	UT_hash_handle hh;
};

/* What a frame carries, from its IP header on. */
struct voip_pkt {
	__u8 family; /* 4 or 6 */
	__u8 proto;
	union fl_addr src, dst;
	__u16 sport, dport; /* host order */
	const __u8 *l4;
	const char *payload;
	__u32 len;
};

static __u64 random_seed(const void *salt)
{
	__u64 seed = 0;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (__u64)time(NULL) * 0x9e3779b97f4a7c15ULL ^
		       (__u64)(unsigned long)salt;
	return seed;
}

int workers_voip_open(struct workers *ws, int nr)
{
	pthread_mutex_init(&ws->dialogs_lock, NULL);
	/* the tables' pages are touched as they fill */
	ws->dialogs = fl_voip_dialogs_new(&(struct fl_voip_dialog_conf){
		.max_dialogs = W_VOIP_DIALOGS * (nr > 0 ? nr : 1),
		.seed = random_seed(ws) });
	return ws->dialogs ? 0 : -ENOMEM;
}

void workers_voip_close(struct workers *ws)
{
	fl_voip_dialogs_free(ws->dialogs);
	ws->dialogs = NULL;
	pthread_mutex_destroy(&ws->dialogs_lock);
}

int worker_voip_open(struct worker *w)
{
	struct worker_voip *v = &w->voip;

	pthread_mutex_init(&v->lock, NULL);
	v->prefix_fd[0] = workers_map_fd(w->d, FL_STRINGIFY(FL_MAP_VOIP4));
	v->prefix_fd[1] = workers_map_fd(w->d, FL_STRINGIFY(FL_MAP_VOIP6));
	v->rtp = fl_voip_rtp_new(&(struct fl_voip_rtp_conf){
		.max_streams = W_VOIP_STREAMS, .seed = random_seed(w) });
	return v->rtp ? 0 : -ENOMEM;
}

static void tcp_close(struct worker_voip *v, struct voip_tcp *t)
{
	fl_sip_stream_release(&t->stream);
	HASH_DEL(v->tcp, t);
	v->nr_tcp--;
	free(t);
}

void worker_voip_close(struct worker *w)
{
	struct worker_voip *v = &w->voip;
	struct voip_rtp_src *src, *stmp;
	struct voip_tcp *t, *tmp;

	HASH_ITER(hh, v->tcp, t, tmp)
		tcp_close(v, t);
	HASH_ITER(hh, v->sources, src, stmp) {
		HASH_DEL(v->sources, src);
		free(src);
	}
	v->nr_sources = 0;
	fl_voip_rtp_free(v->rtp);
	v->rtp = NULL;
	pthread_mutex_destroy(&v->lock);
}

/* ---- the worker's side ---- */

static __u16 get16(const __u8 *p)
{
	return p[0] << 8 | p[1];
}

/* 0, or -1 for what is not a whole UDP datagram or TCP segment of an
 * unfragmented IPv4 or IPv6 packet. */
static int pkt_parse(const __u8 *l3, size_t l3_len, size_t l4_off, __u8 proto,
		     struct voip_pkt *p)
{
	size_t total, hl;

	memset(p, 0, sizeof(*p));
	if (l3_len < 20)
		return -1;
	if (l3[0] >> 4 == 4) {
		total = get16(l3 + 2);
		if (get16(l3 + 6) & 0x3fff) /* MF or an offset: a fragment */
			return -1;
		p->family = 4;
		memcpy(p->src.b, l3 + 12, 4);
		memcpy(p->dst.b, l3 + 16, 4);
	} else if (l3[0] >> 4 == 6 && l3_len >= 40) {
		total = 40 + get16(l3 + 4);
		p->family = 6;
		memcpy(p->src.b, l3 + 8, 16);
		memcpy(p->dst.b, l3 + 24, 16);
	} else {
		return -1;
	}
	/* Ethernet padding may follow the datagram: the IP length counts */
	if (total > l3_len || l4_off >= total)
		return -1;
	p->proto = proto;
	p->l4 = l3 + l4_off;
	if (proto == IPPROTO_UDP) {
		size_t ulen;

		if (l4_off + 8 > total)
			return -1;
		ulen = get16(p->l4 + 4);
		if (ulen < 8 || l4_off + ulen > total)
			return -1;
		p->payload = (const char *)p->l4 + 8;
		p->len = ulen - 8;
	} else if (proto == IPPROTO_TCP) {
		if (l4_off + 20 > total)
			return -1;
		hl = (p->l4[12] >> 4) * 4;
		if (hl < 20 || l4_off + hl > total)
			return -1;
		p->payload = (const char *)p->l4 + hl;
		p->len = total - l4_off - hl;
	} else {
		return -1;
	}
	p->sport = get16(p->l4);
	p->dport = get16(p->l4 + 2);
	return 0;
}

struct sip_ctx {
	struct worker *w;
	__u64 now_ms;
};

/* Under the dialogs' lock. */
static void sip_msg(const struct fl_sip_msg *msg, void *arg)
{
	struct sip_ctx *c = arg;

	if (msg->error == FL_SIP_ERR_NOT_SIP)
		return; /* trailing bytes, or a TCP message boundary lost */
	if (msg->error) {
		wc_add(c->w, FL_WC_SIP_MALFORMED, 1);
		return;
	}
	wc_add(c->w, FL_WC_SIP_MESSAGES, 1);
	fl_voip_dialog_msg(c->w->d->workers->dialogs, msg, c->now_ms);
}

static void sip_datagram(struct worker *w, const struct voip_pkt *p)
{
	struct sip_ctx c = { .w = w, .now_ms = worker_now_ms() };
	struct workers *ws = w->d->workers;

	pthread_mutex_lock(&ws->dialogs_lock);
	fl_sip_parse_datagram(p->payload, p->len, sip_msg, &c);
	pthread_mutex_unlock(&ws->dialogs_lock);
}

/* One TCP segment of a SIP flow: into its direction's framer. */
static void sip_segment(struct worker *w, const struct voip_pkt *p)
{
	struct worker_voip *v = &w->voip;
	struct sip_ctx c = { .w = w, .now_ms = worker_now_ms() };
	struct voip_tcp_key key;
	__u8 flags = p->l4[13];
	struct voip_tcp *t;
	__u32 seq;

	memset(&key, 0, sizeof(key));
	key.src = p->src;
	key.dst = p->dst;
	key.sport = p->sport;
	key.dport = p->dport;
	key.family = p->family;
	HASH_FIND(hh, v->tcp, &key, sizeof(key), t);
	if (!t) {
		if ((flags & 0x04) || !p->len)
			return; /* a RST, or no data: nothing to frame */
		if (v->nr_tcp >= W_VOIP_TCP) {
			atomic_fetch_add_explicit(&v->tcp_dropped, 1,
						  memory_order_relaxed);
			return;
		}
		t = calloc(1, sizeof(*t));
		if (!t)
			return;
		t->key = key;
		fl_sip_stream_init(&t->stream, W_VOIP_TCP_BUF);
		HASH_ADD(hh, v->tcp, key, sizeof(key), t);
		v->nr_tcp++;
	}
	t->last_ms = c.now_ms;
	seq = (__u32)get16(p->l4 + 4) << 16 | get16(p->l4 + 6);
	if (p->len || (flags & 0x02)) {
		pthread_mutex_lock(&w->d->workers->dialogs_lock);
		fl_sip_stream_feed(&t->stream, seq, flags & 0x02, p->payload,
				   p->len, sip_msg, &c);
		pthread_mutex_unlock(&w->d->workers->dialogs_lock);
	}
	if (flags & (0x01 | 0x04)) /* FIN, RST: that direction is done */
		tcp_close(v, t);
}

/* The media at (family, addr, port) in a live dialog's SDP: the clock
 * rate of @pt there in *clock_rate. One hash lookup, under the dialogs'
 * lock. */
static bool media_negotiated(struct worker *w, __u8 family,
			     const union fl_addr *addr, __u16 port, __u8 pt,
			     __u32 *clock_rate)
{
	struct workers *ws = w->d->workers;
	const struct fl_sdp_media *m = NULL;
	bool found;

	pthread_mutex_lock(&ws->dialogs_lock);
	found = fl_voip_media_lookup(ws->dialogs, family, addr, port, &m);
	if (found && clock_rate)
		*clock_rate = fl_sdp_clock_rate(m, pt);
	pthread_mutex_unlock(&ws->dialogs_lock);
	return found;
}

bool worker_voip_flow_negotiated(struct worker *w,
				 const struct fl_flow_key *key)
{
	if (key->proto != IPPROTO_UDP || !w->voip.rtp)
		return false;
	return media_negotiated(w, key->family, &key->lo, ntohs(key->lo_port),
				0, NULL) ||
	       media_negotiated(w, key->family, &key->hi, ntohs(key->hi_port),
				0, NULL);
}

static bool is_app(const struct fl_cls_flow *f, __u16 id)
{
	return f && (f->app == id || f->master == id);
}

/* The slot of the VoIP threshold's prefix that holds the packet's
 * destination (the datapath's own tries), or W_VOIP_SLOT_NONE. */
static __u32 dst_slot(struct worker *w, const struct voip_pkt *p)
{
	struct fl_lpm6_key key = { .prefixlen = p->family == 6 ? 128 : 32 };
	struct fl_voip_prefix val;
	int fd = w->voip.prefix_fd[p->family == 6];

	memcpy(key.addr, p->dst.b, p->family == 6 ? 16 : 4);
	if (fd < 0 || bpf_map_lookup_elem(fd, &key, &val) ||
	    val.slot >= W_VOIP_SLOT_NONE)
		return W_VOIP_SLOT_NONE;
	return val.slot;
}

/* Under the worker's lock: one RTP packet of @p's source towards @slot. */
static void source_count(struct worker_voip *v, const struct voip_pkt *p,
			 __u32 slot, bool unsolicited)
{
	struct workers_rtp_source key;
	struct voip_rtp_src *src;

	memset(&key, 0, sizeof(key));
	key.addr = p->src;
	key.slot = slot;
	key.family = p->family;
	HASH_FIND(hh, v->sources, &key, sizeof(key), src);
	if (!src) {
		if (v->nr_sources >= W_VOIP_RTP_SOURCES ||
		    !(src = calloc(1, sizeof(*src)))) {
			atomic_fetch_add_explicit(&v->sources_dropped, 1,
						  memory_order_relaxed);
			return;
		}
		src->key = key;
		HASH_ADD(hh, v->sources, key, sizeof(key), src);
		v->nr_sources++;
	}
	src->rtp++;
	src->unsolicited += unsolicited;
}

static void rtp_packet(struct worker *w, const struct voip_pkt *p,
		       const struct fl_rtp_hdr *h, struct fl_cls_flow *f)
{
	bool named_rtp = is_app(f, NDPI_PROTOCOL_RTP),
	     deciding = !f || !f->final;
	struct worker_voip *v = &w->voip;
	__u32 gen = atomic_load_explicit(&w->d->workers->voip_prefixes_gen,
					 memory_order_relaxed) &
		    0xffff,
	      slot;
	const struct fl_rtp_stream *old;
	struct fl_rtp_stream *s;
	struct fl_rtp_key key;
	struct timespec ts;
	bool negotiated, rtp, unsolicited = false;
	__u32 clock_rate = 0;

	memset(&key, 0, sizeof(key));
	key.src = p->src;
	key.dst = p->dst;
	key.sport = p->sport;
	key.dport = p->dport;
	key.ssrc = h->ssrc;
	key.family = p->family;
	old = fl_voip_rtp_find(v->rtp, &key);
	/* the receiver's SDP says what its payload types are */
	negotiated = (old && old->negotiated) ||
		     media_negotiated(w, p->family, &p->dst, p->dport, h->pt,
				      &clock_rate) ||
		     media_negotiated(w, p->family, &p->src, p->sport, h->pt,
				      &clock_rate);
	if (!negotiated && !named_rtp && !deciding && !old)
		return; /* a flow nDPI named something else */
	/* the stream's tag: the prefixes' generation and its slot */
	slot = old && old->tag >> 16 == gen ? old->tag & 0xffff :
					      dst_slot(w, p);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	pthread_mutex_lock(&v->lock);
	s = fl_voip_rtp_packet(v->rtp, &key, h, p->len,
			       ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000,
			       clock_rate, negotiated);
	rtp = s && (s->confirmed || s->negotiated || named_rtp);
	if (s) {
		s->tag = gen << 16 | slot;
		if (rtp && slot != W_VOIP_SLOT_NONE) {
			unsolicited = !s->negotiated;
			s->unsolicited += unsolicited;
			source_count(v, p, slot, unsolicited);
		}
	}
	pthread_mutex_unlock(&v->lock);
	if (!s)
		return;
	/* RTP beyond doubt: its verdict keeps it escalated as VoIP */
	if (f && (s->confirmed || s->negotiated))
		f->flags |= FL_FLOW_F_VOIP;
	wc_add(w, FL_WC_RTP_PACKETS, 1);
	if (unsolicited)
		wc_add(w, FL_WC_RTP_UNSOLICITED, 1);
}

void worker_voip_frame(struct worker *w, const void *l3, size_t l3_len,
		       size_t l4_off, __u8 l4_proto, struct fl_cls_flow *f)
{
	bool sip_flow = is_app(f, NDPI_PROTOCOL_SIP);
	struct fl_rtp_hdr h;
	struct voip_pkt p;

	if (!w->voip.rtp || pkt_parse(l3, l3_len, l4_off, l4_proto, &p))
		return;
	if (p.proto == IPPROTO_TCP) {
		if (sip_flow || sip_port(w->d, p.sport) ||
		    sip_port(w->d, p.dport))
			sip_segment(w, &p);
		return;
	}
	if (!p.len || fl_sip_is_keepalive(p.payload, p.len))
		return;
	if (fl_sip_looks_like(p.payload, p.len) == FL_SIP_LOOKS_YES) {
		sip_datagram(w, &p);
		return;
	}
	if (sip_flow || sip_port(w->d, p.sport) || sip_port(w->d, p.dport)) {
		/* on a SIP port, not SIP: refused as the parser says */
		sip_datagram(w, &p);
		return;
	}
	if (fl_rtcp_check(p.payload, p.len) ||
	    fl_rtp_parse(p.payload, p.len, &h))
		return;
	rtp_packet(w, &p, &h, f);
}

void worker_voip_expire(struct worker *w, __u64 now_ms)
{
	struct worker_voip *v = &w->voip;
	struct voip_tcp *t, *tmp;

	struct workers *ws = w->d->workers;

	if (!v->rtp)
		return;
	/* any worker's timer will do for the dialogs: cheap if none is due */
	pthread_mutex_lock(&ws->dialogs_lock);
	fl_voip_dialogs_expire(ws->dialogs, now_ms, NULL, NULL);
	pthread_mutex_unlock(&ws->dialogs_lock);
	pthread_mutex_lock(&v->lock);
	fl_voip_rtp_expire(v->rtp, now_ms, NULL, NULL);
	pthread_mutex_unlock(&v->lock);
	HASH_ITER(hh, v->tcp, t, tmp)
		if (t->last_ms + W_VOIP_TCP_IDLE_MS <= now_ms)
			tcp_close(v, t);
}

/* ---- the control thread's side: RTP per source, for voip.c ---- */

void workers_voip_prefixes_changed(struct daemon *d)
{
	if (d->workers)
		atomic_fetch_add_explicit(&d->workers->voip_prefixes_gen, 1,
					  memory_order_relaxed);
}

void workers_voip_rtp_drain(struct daemon *d, workers_rtp_fn fn, void *arg)
{
	struct workers *ws = d->workers;
	struct voip_rtp_src *src, *tmp;
	int i;

	for (i = 0; ws && i < ws->nr; i++) {
		struct worker_voip *v = &ws->w[i].voip;

		if (!v->rtp)
			continue;
		pthread_mutex_lock(&v->lock);
		HASH_ITER(hh, v->sources, src, tmp) {
			if (src->rtp) {
				fn(&src->key, src->rtp, src->unsolicited, arg);
				src->rtp = src->unsolicited = 0;
				continue;
			}
			/* quiet for a tick: room for the next */
			HASH_DEL(v->sources, src);
			v->nr_sources--;
			free(src);
		}
		pthread_mutex_unlock(&v->lock);
	}
}

/* ---- the control thread's side: voip calls, voip streams ---- */

/* CLOCK_MONOTONIC milliseconds as seconds since the epoch. */
static struct json_object *wall_time(__u64 mono_ms, __u64 now_mono_ms,
				     double now_real)
{
	if (!mono_ms)
		return NULL;
	return json_object_new_double(
		(double)(long long)((now_real - (now_mono_ms - mono_ms) / 1e3) *
				    1000) /
		1000);
}

static struct json_object *seconds(__u64 ms)
{
	return json_object_new_double(ms / 1e3);
}

/* Every worker's streams, copied under its lock. */
struct stream_copy {
	struct fl_rtp_stream s;
	int worker;
};

struct streams {
	struct stream_copy *v;
	size_t n, cap;
	int worker;
	bool failed;
};

static void stream_take(const struct fl_rtp_stream *s, void *arg)
{
	struct streams *ss = arg;

	if (ss->n == ss->cap) {
		size_t cap = ss->cap ? ss->cap * 2 : 256;
		struct stream_copy *v = realloc(ss->v, cap * sizeof(*v));

		if (!v) {
			ss->failed = true;
			return;
		}
		ss->v = v;
		ss->cap = cap;
	}
	ss->v[ss->n].s = *s;
	ss->v[ss->n].worker = ss->worker;
	ss->n++;
}

/* By destination: a dialog's media finds the streams sent to it. */
static int stream_dst_cmp(const void *a, const void *b)
{
	const struct fl_rtp_key *x = &((const struct stream_copy *)a)->s.key;
	const struct fl_rtp_key *y = &((const struct stream_copy *)b)->s.key;
	int c = x->family - y->family;

	if (!c)
		c = memcmp(&x->dst, &y->dst, sizeof(x->dst));
	if (!c)
		c = x->dport - y->dport;
	return c;
}

static int streams_read(struct workers *ws, struct streams *ss)
{
	int i;

	memset(ss, 0, sizeof(*ss));
	for (i = 0; ws && i < ws->nr; i++) {
		struct worker_voip *v = &ws->w[i].voip;

		if (!v->rtp)
			continue;
		ss->worker = i;
		pthread_mutex_lock(&v->lock);
		fl_voip_rtp_walk(v->rtp, stream_take, ss);
		pthread_mutex_unlock(&v->lock);
	}
	if (ss->failed) {
		free(ss->v);
		return -ENOMEM;
	}
	qsort(ss->v, ss->n, sizeof(*ss->v), stream_dst_cmp);
	return 0;
}

/* The streams a source sent towards its slot in the last two seconds
 * (only the unsolicited ones if asked): their destination ports. */
int workers_voip_rtp_ports(struct daemon *d,
			   const struct workers_rtp_source *src,
			   bool unsolicited, __u16 *ports, int max)
{
	__u64 now = worker_now_ms(), since = now > 2000 ? now - 2000 : 0;
	struct streams ss;
	bool more = false;
	int n = 0, j, ret;
	size_t i;

	ret = streams_read(d->workers, &ss);
	if (ret)
		return ret;
	for (i = 0; i < ss.n; i++) {
		const struct fl_rtp_stream *s = &ss.v[i].s;

		if (s->key.family != src->family ||
		    memcmp(&s->key.src, &src->addr, sizeof(s->key.src)) ||
		    (s->tag & 0xffff) != src->slot || s->last_ms < since ||
		    (unsolicited && !s->unsolicited))
			continue;
		for (j = 0; j < n && ports[j] != s->key.dport; j++)
			;
		if (j < n)
			continue;
		if (n == max)
			more = true;
		else
			ports[n++] = s->key.dport;
	}
	free(ss.v);
	return more ? -E2BIG : n;
}

static struct json_object *stream_json(const struct stream_copy *c,
				       bool endpoints)
{
	const struct fl_rtp_stream *s = &c->s;
	struct json_object *o = json_object_new_object();

	fl_rtp_stream_json_add(o, s, endpoints);
	json_object_object_add(o, "packets",
			       json_object_new_uint64(s->packets));
	json_object_object_add(o, "lost",
			       json_object_new_int64(fl_voip_rtp_lost(s)));
	json_object_object_add(
		o, "jitter_ms",
		json_object_new_double(
			(double)(long long)(fl_voip_rtp_jitter_ms(s) * 1000 +
					    0.5) /
			1000));
	if (!endpoints)
		return o;
	json_object_object_add(o, "clock_rate",
			       json_object_new_int64(s->clock_rate));
	json_object_object_add(o, "bytes", json_object_new_uint64(s->bytes));
	json_object_object_add(o, "expected",
			       json_object_new_uint64(fl_voip_rtp_expected(s)));
	json_object_object_add(o, "negotiated",
			       json_object_new_boolean(s->negotiated));
	json_object_object_add(o, "confirmed",
			       json_object_new_boolean(s->confirmed));
	json_object_object_add(o, "unsolicited",
			       json_object_new_boolean(s->unsolicited > 0));
	json_object_object_add(o, "unsolicited_packets",
			       json_object_new_uint64(s->unsolicited));
	json_object_object_add(o, "worker", json_object_new_int(c->worker));
	return o;
}

struct calls_ctx {
	struct json_object *list;
	const struct streams *ss;
	__u64 now_ms;
	double now_real;
};

/* The stream comes from a media the other side of the dialog offered. */
static bool from_peer(const struct fl_voip_dialog *d, int side,
		      const struct fl_rtp_key *k)
{
	const struct fl_sdp_media *m;
	int i;

	for (i = 0; i < d->nmedia[!side]; i++) {
		m = &d->media[!side][i];
		if (m->family == k->family && m->port == k->sport &&
		    !memcmp(&m->addr, &k->src, sizeof(m->addr)))
			return true;
	}
	return false;
}

/* The stream had packets while the dialog lived (its last message, for
 * one that ended, and a second for packets in flight): media ports are
 * reused, by the next call of a phone or a gateway, and the ended dialog
 * of the last call must not claim the next one's stream. */
static bool stream_in_dialog(const struct fl_voip_dialog *d,
			     const struct fl_rtp_stream *s)
{
	bool over = d->state == FL_VOIP_ENDED || d->state == FL_VOIP_FAILED ||
		    d->state == FL_VOIP_CANCELLED;

	return s->last_ms >= d->start_ms &&
	       (!over || s->first_ms <= d->last_ms + 1000);
}

/*
 * One side's media, with the RTP streams seen towards it while the
 * dialog lived: those from the other side's media address and port
 * (symmetric RTP, RFC 4961, as nearly every endpoint sends), or if none
 * is, every stream towards it.
 */
static struct json_object *media_json(const struct fl_voip_dialog *d, int side,
				      int index, const struct streams *ss)
{
	const struct fl_sdp_media *m = &d->media[side][index];
	struct json_object *o = fl_sdp_media_json(m, side), *codecs, *rtp;
	char codec[FL_SDP_NAME_MAX + 16];
	struct stream_copy probe;
	size_t lo = 0, hi = ss->n, i;
	bool any_from_peer = false;
	int j;

	codecs = json_object_new_array();
	for (j = 0; j < m->ncodecs; j++) {
		const struct fl_sdp_codec *c = &m->codecs[j];

		if (c->name[0])
			snprintf(codec, sizeof(codec), "%u %s/%u", c->pt,
				 c->name, c->clock_rate);
		else
			snprintf(codec, sizeof(codec), "%u", c->pt);
		json_object_array_add(codecs, json_object_new_string(codec));
	}
	json_object_object_add(o, "codecs", codecs);
	/* the RTP streams seen towards it: the first at or after it, on */
	rtp = json_object_new_array();
	memset(&probe, 0, sizeof(probe));
	probe.s.key.family = m->family;
	probe.s.key.dst = m->addr;
	probe.s.key.dport = m->port;
	while (m->family && m->port && lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (stream_dst_cmp(&ss->v[mid], &probe) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; m->family && m->port && i < ss->n &&
		     !stream_dst_cmp(&ss->v[i], &probe);
	     i++)
		if (stream_in_dialog(d, &ss->v[i].s))
			any_from_peer |= from_peer(d, side, &ss->v[i].s.key);
	for (i = lo; m->family && m->port && i < ss->n &&
		     !stream_dst_cmp(&ss->v[i], &probe);
	     i++)
		if (stream_in_dialog(d, &ss->v[i].s) &&
		    (!any_from_peer || from_peer(d, side, &ss->v[i].s.key)))
			json_object_array_add(rtp,
					      stream_json(&ss->v[i], false));
	json_object_object_add(o, "rtp", rtp);
	return o;
}

static void call_json(const struct fl_voip_dialog *d, void *arg)
{
	struct calls_ctx *c = arg;
	struct json_object *o, *media;
	int side, i;

	if (d->state == FL_VOIP_NON_INVITE)
		return; /* a REGISTER's or an OPTIONS' Call-ID: not a call */
	o = json_object_new_object();
	fl_voip_dialog_json_add(o, d);
	json_object_object_add(o, "start",
			       wall_time(d->start_ms, c->now_ms, c->now_real));
	json_object_object_add(o, "answer",
			       wall_time(d->answer_ms, c->now_ms, c->now_real));
	json_object_object_add(o, "end",
			       wall_time(d->end_ms, c->now_ms, c->now_real));
	json_object_object_add(o, "duration_s",
			       seconds(fl_voip_dialog_duration_ms(d)));
	media = json_object_new_array();
	for (side = FL_VOIP_CALLER; side <= FL_VOIP_CALLEE; side++)
		for (i = 0; i < d->nmedia[side]; i++)
			json_object_array_add(media,
					      media_json(d, side, i, c->ss));
	json_object_object_add(o, "media", media);
	json_object_array_add(c->list, o);
}

static void now_both(__u64 *mono_ms, double *real)
{
	struct timespec ts;

	*mono_ms = worker_now_ms();
	clock_gettime(CLOCK_REALTIME, &ts);
	*real = ts.tv_sec + ts.tv_nsec / 1e9;
}

int worker_voip_calls(struct daemon *d, struct json_object *req,
		      struct json_object **data, char *err, size_t errlen)
{
	struct workers *ws = d->workers;
	struct fl_voip_dialog_stats sum = {};
	struct calls_ctx c = {};
	struct streams ss;
	int ret;

	ret = streams_read(ws, &ss);
	if (ret) {
		snprintf(err, errlen, "cannot copy the RTP streams: %s",
			 strerror(-ret));
		return ret;
	}
	now_both(&c.now_ms, &c.now_real);
	c.list = json_object_new_array();
	c.ss = &ss;
	if (ws && ws->dialogs) {
		pthread_mutex_lock(&ws->dialogs_lock);
		fl_voip_dialogs_walk(ws->dialogs, call_json, &c);
		fl_voip_dialogs_stats(ws->dialogs, &sum);
		pthread_mutex_unlock(&ws->dialogs_lock);
	}
	free(ss.v);
	*data = json_object_new_object();
	json_object_object_add(*data, "tracking",
			       json_object_new_boolean(voip_calls_wanted(d)));
	json_object_object_add(*data, "calls", c.list);
	json_object_object_add(*data, "dialogs",
			       json_object_new_uint64(sum.active));
	json_object_object_add(*data, "dialogs_max",
			       json_object_new_uint64(sum.max_dialogs));
	json_object_object_add(*data, "dialogs_created",
			       json_object_new_uint64(sum.created));
	json_object_object_add(*data, "dialogs_dropped",
			       json_object_new_uint64(sum.dropped));
	json_object_object_add(*data, "sdp_malformed",
			       json_object_new_uint64(sum.sdp_malformed));
	return 0;
}

int worker_voip_streams(struct daemon *d, struct json_object *req,
			struct json_object **data, char *err, size_t errlen)
{
	struct workers *ws = d->workers;
	struct fl_voip_rtp_stats st, sum = {};
	struct json_object *list;
	__u64 tcp_dropped = 0, sources_dropped = 0;
	struct streams ss;
	size_t i;
	int ret, w;

	ret = streams_read(ws, &ss);
	if (ret) {
		snprintf(err, errlen, "cannot copy the RTP streams: %s",
			 strerror(-ret));
		return ret;
	}
	list = json_object_new_array();
	for (i = 0; i < ss.n; i++)
		json_object_array_add(list, stream_json(&ss.v[i], true));
	free(ss.v);
	for (w = 0; ws && w < ws->nr; w++) {
		struct worker_voip *v = &ws->w[w].voip;

		if (!v->rtp)
			continue;
		pthread_mutex_lock(&v->lock);
		fl_voip_rtp_stats(v->rtp, &st);
		pthread_mutex_unlock(&v->lock);
		sum.active += st.active;
		sum.max_streams += st.max_streams;
		sum.dropped += st.dropped;
		sum.evicted += st.evicted;
		tcp_dropped += atomic_load_explicit(&v->tcp_dropped,
						    memory_order_relaxed);
		sources_dropped += atomic_load_explicit(&v->sources_dropped,
							memory_order_relaxed);
	}
	*data = json_object_new_object();
	json_object_object_add(*data, "tracking",
			       json_object_new_boolean(voip_calls_wanted(d)));
	json_object_object_add(*data, "streams", list);
	json_object_object_add(*data, "active",
			       json_object_new_uint64(sum.active));
	json_object_object_add(*data, "max",
			       json_object_new_uint64(sum.max_streams));
	json_object_object_add(*data, "dropped",
			       json_object_new_uint64(sum.dropped));
	json_object_object_add(*data, "evicted",
			       json_object_new_uint64(sum.evicted));
	json_object_object_add(*data, "sip_tcp_dropped",
			       json_object_new_uint64(tcp_dropped));
	json_object_object_add(*data, "rtp_sources_dropped",
			       json_object_new_uint64(sources_dropped));
	return 0;
}
