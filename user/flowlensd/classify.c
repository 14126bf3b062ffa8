// SPDX-License-Identifier: Apache-2.0
/*
 * The classifier a worker runs (classify.h): a flow table chained by the
 * flow's hash, a timer wheel of 1 s slots for idle expiry, and one nDPI
 * detection module. nDPI sees only the IP packet, as in ndpiReader, and
 * stops seeing a flow's packets as soon as its verdict is final: nDPI has
 * nothing more to dissect, or the flow has used its packets (ndpiReader's
 * limits), or it expired. At that point the SNI, JA3s, risk and category
 * are copied into the flow and its nDPI state is freed.
 */
#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <ndpi_api.h>

#include "classify.h"

#define WHEEL_SLOTS 512 /* seconds; longer deadlines go round again */
#define IDLE_UDP_MS 30000
#define IDLE_TCP_MS 300000

struct fl_cls {
	struct ndpi_detection_module_struct *ndpi;
	struct fl_cls_opts opts;
	struct fl_cls_flow **buckets;
	__u32 nr_buckets; /* a power of two */
	__u32 nr_flows;
	__u32 nr_dissecting; /* flows holding nDPI state */
	__u64 next_seq;
	struct fl_cls_flow *wheel[WHEEL_SLOTS];
	__u64 wheel_s; /* every slot up to this second has been run */
	int wheel_started;
	size_t ndpi_bytes; /* what nDPI allocated for flows, still held */
	struct fl_cls_stats stats;
};

/*
 * nDPI allocates through one process-wide hook. The classifier that is
 * calling into nDPI on this thread is charged for what nDPI allocates and
 * frees meanwhile, so fl_cls_memory() counts the flows' real state (the
 * struct and what the dissectors hang off it), not an estimate.
 */
static __thread struct fl_cls *charged;

static void *ndpi_malloc_counted(size_t size)
{
	void *p = malloc(size);

	if (p && charged)
		charged->ndpi_bytes += malloc_usable_size(p);
	return p;
}

static void ndpi_free_counted(void *p)
{
	if (p && charged)
		charged->ndpi_bytes -= malloc_usable_size(p);
	free(p);
}

static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

static void hooks_install(void)
{
	set_ndpi_malloc(ndpi_malloc_counted);
	set_ndpi_free(ndpi_free_counted);
}

static __u32 idle_ms(const struct fl_cls *cls, const struct fl_cls_flow *f)
{
	if (cls->opts.idle_ms)
		return cls->opts.idle_ms;
	return f->key.proto == IPPROTO_TCP ? IDLE_TCP_MS : IDLE_UDP_MS;
}

struct fl_cls *fl_cls_new(const struct fl_cls_opts *opts)
{
	NDPI_PROTOCOL_BITMASK all;
	struct fl_cls *cls;
	__u32 n;

	pthread_once(&hooks_once, hooks_install);
	cls = calloc(1, sizeof(*cls));
	if (!cls)
		return NULL;
	if (opts)
		cls->opts = *opts;
	if (!cls->opts.max_flows)
		cls->opts.max_flows = 65536;
	if (!cls->opts.max_tcp)
		cls->opts.max_tcp = FL_ESCALATE_TCP_DEFAULT;
	if (!cls->opts.max_udp)
		cls->opts.max_udp = FL_ESCALATE_UDP_DEFAULT;
	for (n = 1024; n < cls->opts.max_flows && n < (1u << 30); n <<= 1)
		;
	cls->nr_buckets = n;
	cls->buckets = calloc(n, sizeof(*cls->buckets));
	/* The module's own tables are not charged to the flows. */
	cls->ndpi = ndpi_init_detection_module(ndpi_no_prefs);
	if (!cls->buckets || !cls->ndpi) {
		fl_cls_free(cls);
		errno = ENOMEM;
		return NULL;
	}
	/* ndpiReader's defaults: every protocol, no preference changed. */
	NDPI_BITMASK_SET_ALL(all);
	ndpi_set_protocol_detection_bitmask2(cls->ndpi, &all);
	ndpi_finalize_initialization(cls->ndpi);
	return cls;
}

static void flow_state_free(struct fl_cls *cls, struct fl_cls_flow *f)
{
	if (!f->ndpi)
		return;
	charged = cls;
	ndpi_free_flow(f->ndpi);
	charged = NULL;
	f->ndpi = NULL;
	cls->nr_dissecting--;
}

static void flows_free_all(struct fl_cls *cls)
{
	__u32 i;

	for (i = 0; i < cls->nr_buckets; i++) {
		struct fl_cls_flow *f = cls->buckets[i], *next;

		for (; f; f = next) {
			next = f->next_hash;
			flow_state_free(cls, f);
			free(f);
		}
		cls->buckets[i] = NULL;
	}
	memset(cls->wheel, 0, sizeof(cls->wheel));
	cls->nr_flows = 0;
}

void fl_cls_free(struct fl_cls *cls)
{
	if (!cls)
		return;
	if (cls->buckets)
		flows_free_all(cls);
	free(cls->buckets);
	if (cls->ndpi)
		ndpi_exit_detection_module(cls->ndpi);
	free(cls);
}

/* --- the timer wheel --- */

static void wheel_insert(struct fl_cls *cls, struct fl_cls_flow *f)
{
	__u64 deadline_s = (f->last_ms + idle_ms(cls, f)) / 1000;
	struct fl_cls_flow **slot;

	/* Never a slot the wheel has already run (a deadline in the
	 * current second is checked at the next one). */
	if (deadline_s <= cls->wheel_s)
		deadline_s = cls->wheel_s + 1;
	slot = &cls->wheel[deadline_s % WHEEL_SLOTS];

	f->next_wheel = *slot;
	if (*slot)
		(*slot)->prev_wheel = &f->next_wheel;
	f->prev_wheel = slot;
	*slot = f;
}

static void wheel_remove(struct fl_cls_flow *f)
{
	if (!f->prev_wheel)
		return;
	*f->prev_wheel = f->next_wheel;
	if (f->next_wheel)
		f->next_wheel->prev_wheel = f->prev_wheel;
	f->next_wheel = NULL;
	f->prev_wheel = NULL;
}

static void hash_remove(struct fl_cls *cls, struct fl_cls_flow *f)
{
	struct fl_cls_flow **p = &cls->buckets[f->hash & (cls->nr_buckets - 1)];

	for (; *p; p = &(*p)->next_hash) {
		if (*p == f) {
			*p = f->next_hash;
			break;
		}
	}
}

/* --- verdicts --- */

static bool is_tls_like(__u16 id)
{
	switch (id) {
	case NDPI_PROTOCOL_TLS:
	case NDPI_PROTOCOL_DTLS:
	case NDPI_PROTOCOL_QUIC:
	case NDPI_PROTOCOL_MAIL_IMAPS:
	case NDPI_PROTOCOL_MAIL_POPS:
	case NDPI_PROTOCOL_MAIL_SMTPS:
		return true;
	}
	return false;
}

/* nDPI's strings are NUL-terminated in fixed arrays; a hostile packet
 * can still put anything in them, so copy only what prints. */
static void copy_printable(char *dst, size_t len, const char *src, size_t max)
{
	size_t i, n = strnlen(src, max);

	if (n >= len)
		n = len - 1;
	for (i = 0; i < n; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[n] = '\0';
}

/* The verdict is final: keep what the flow table needs, drop nDPI's state. */
static void verdict_final(struct fl_cls *cls, struct fl_cls_flow *f,
			  ndpi_protocol proto, bool gave_up, bool guessed)
{
	struct ndpi_flow_struct *nf = f->ndpi;

	f->app = proto.app_protocol;
	f->master = proto.master_protocol;
	f->category = proto.category;
	f->guessed = guessed;
	if (nf) {
		f->risk = nf->risk;
		copy_printable(f->sni, sizeof(f->sni), nf->host_server_name,
			       sizeof(nf->host_server_name));
		if (is_tls_like(f->app) || is_tls_like(f->master)) {
			copy_printable(f->ja3c, sizeof(f->ja3c),
				       nf->protos.tls_quic.ja3_client,
				       sizeof(nf->protos.tls_quic.ja3_client));
			copy_printable(f->ja3s, sizeof(f->ja3s),
				       nf->protos.tls_quic.ja3_server,
				       sizeof(nf->protos.tls_quic.ja3_server));
		}
	}
	if (f->app == NDPI_PROTOCOL_SIP || f->app == NDPI_PROTOCOL_RTP ||
	    f->app == NDPI_PROTOCOL_RTCP || f->master == NDPI_PROTOCOL_SIP ||
	    f->master == NDPI_PROTOCOL_RTP || f->master == NDPI_PROTOCOL_RTCP)
		f->flags |= FL_FLOW_F_VOIP;
	f->state = gave_up ? FL_FLOW_GAVE_UP : FL_FLOW_CLASSIFIED;
	if (gave_up)
		cls->stats.gave_up++;
	else
		cls->stats.classified++;
	if (guessed)
		cls->stats.guessed++;
	f->final = 1;
	flow_state_free(cls, f);
}

/* No more packets will come (budget used, expiry, end of the capture):
 * nDPI's guess, as ndpiReader asks for it at the end. */
static void flow_give_up(struct fl_cls *cls, struct fl_cls_flow *f)
{
	ndpi_protocol proto = NDPI_PROTOCOL_NULL;
	__u8 guessed = 0;

	if (f->final)
		return;
	if (f->ndpi) {
		charged = cls;
		proto = ndpi_detection_giveup(cls->ndpi, f->ndpi, 1, &guessed);
		charged = NULL;
	}
	verdict_final(cls, f, proto, true, guessed);
}

/* --- packets --- */

/* Where the TCP header in l3 starts (*off) and where the IP packet ends
 * (*total); false if the header is not all there (truncated, malformed). */
static bool tcp_header(const __u8 *l3, __u32 len, __u32 *l4_off, __u32 *l4_end)
{
	__u32 off, total, nh;

	if (len < 1)
		return false;
	if ((l3[0] >> 4) == 4) {
		if (len < 20)
			return false;
		off = (l3[0] & 0xf) * 4;
		total = (__u32)l3[2] << 8 | l3[3];
		if (total > len)
			total = len;
	} else if ((l3[0] >> 4) == 6) {
		if (len < 40)
			return false;
		total = 40 + ((__u32)l3[4] << 8 | l3[5]);
		if (total > len)
			total = len;
		nh = l3[6];
		off = 40;
		/* extension headers: hop-by-hop, routing, fragment, options */
		while (nh == 0 || nh == 43 || nh == 44 || nh == 60) {
			if (off + 8 > total)
				return false;
			nh = l3[off];
			off += nh == 44 ? 8 : ((__u32)l3[off + 1] + 1) * 8;
		}
	} else {
		return false;
	}
	if (off + 20 > total)
		return false;
	*l4_off = off;
	*l4_end = total;
	return true;
}

/* Whether the TCP segment in l3 carries payload; false if it cannot tell
 * (truncated or malformed), and nDPI then decides on its own. */
static bool tcp_has_payload(const __u8 *l3, __u32 len)
{
	__u32 off, total;

	return tcp_header(l3, len, &off, &total) &&
	       total > off + (l3[off + 12] >> 4) * 4;
}

/* The segment's flags; 0 if the header is not all there. */
static __u8 tcp_flags_of(const __u8 *l3, __u32 len)
{
	__u32 off, total;

	return tcp_header(l3, len, &off, &total) ? l3[off + 13] : 0;
}

static struct fl_cls_flow *
flow_lookup(struct fl_cls *cls, const struct fl_flow_key *key, __u32 hash)
{
	struct fl_cls_flow *f = cls->buckets[hash & (cls->nr_buckets - 1)];

	for (; f; f = f->next_hash)
		if (f->hash == hash && !memcmp(&f->key, key, sizeof(*key)))
			return f;
	return NULL;
}

static struct fl_cls_flow *flow_create(struct fl_cls *cls,
				       const struct fl_flow_key *key,
				       __u32 hash, int dir, __u64 now_ms)
{
	struct fl_cls_flow *f, **bucket;

	if (cls->nr_flows >= cls->opts.max_flows)
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->key = *key;
	f->hash = hash;
	f->state = FL_FLOW_CLASSIFYING;
	f->flags = dir ? 0 : FL_FLOW_F_LO_CLIENT;
	f->first_ms = f->last_ms = now_ms;
	f->seq = cls->next_seq++;
	if (!cls->wheel_started) {
		cls->wheel_s = now_ms / 1000;
		cls->wheel_started = 1;
	}
	bucket = &cls->buckets[hash & (cls->nr_buckets - 1)];
	f->next_hash = *bucket;
	*bucket = f;
	wheel_insert(cls, f);
	cls->nr_flows++;
	cls->stats.flows++;
	return f;
}

/* Packets of this flow nDPI may see before it must decide. */
static __u32 budget(const struct fl_cls *cls, const struct fl_cls_flow *f)
{
	if (f->key.proto == IPPROTO_TCP)
		return cls->opts.max_tcp;
	if (f->key.proto == IPPROTO_UDP)
		return cls->opts.max_udp;
	return FL_ESCALATE_OTHER;
}

enum fl_cls_event fl_cls_packet(struct fl_cls *cls, const void *l3,
				__u32 l3_len, __u64 now_ms,
				const struct fl_flow_key *key, __u32 hash,
				int dir, struct fl_cls_flow **flow)
{
	bool feed_all = cls->opts.feed == FL_CLS_FEED_ALL, enough;
	struct fl_cls_flow *f;
	ndpi_protocol proto;
	__u64 seen;

	cls->stats.packets++;
	f = flow_lookup(cls, key, hash);
	if (!f) {
		f = flow_create(cls, key, hash, dir, now_ms);
		if (!f) {
			cls->stats.errors++;
			*flow = NULL;
			return FL_CLS_ERROR;
		}
	}
	*flow = f;
	dir = !!dir;
	f->packets[dir]++;
	f->bytes[dir] += l3_len;
	if (key->proto == IPPROTO_TCP)
		f->tcp_flags |= tcp_flags_of(l3, l3_len);
	if (now_ms > f->last_ms)
		f->last_ms = now_ms; /* the wheel catches up when it fires */
	if (f->final)
		return FL_CLS_NONE;

	if (!f->feeding) {
		/* A handshake creates no nDPI state (XDP escalates a TCP
		 * flow from its first payload packet). */
		if (!feed_all && key->proto == IPPROTO_TCP &&
		    !tcp_has_payload(l3, l3_len))
			return FL_CLS_NONE;
		f->feeding = 1;
	}
	if (!f->ndpi) {
		charged = cls;
		f->ndpi = ndpi_flow_malloc(SIZEOF_FLOW_STRUCT);
		charged = NULL;
		if (!f->ndpi) {
			cls->stats.errors++;
			return FL_CLS_ERROR;
		}
		memset(f->ndpi, 0, SIZEOF_FLOW_STRUCT);
		cls->nr_dissecting++;
	}

	if (feed_all) {
		/* ndpiReader: the flow's packets so far, this one included,
		 * beyond the limit; only TCP and UDP ever give up early. */
		seen = f->packets[0] + f->packets[1];
		enough = (key->proto == IPPROTO_TCP ||
			  key->proto == IPPROTO_UDP) &&
			 seen > budget(cls, f);
	} else {
		/* XDP sends no more than the budget: the last one decides. */
		enough = f->dissected + 1 >= budget(cls, f);
	}
	charged = cls;
	proto = ndpi_detection_process_packet(cls->ndpi, f->ndpi, l3,
					      l3_len > 0xffff ? 0xffff : l3_len,
					      now_ms);
	charged = NULL;
	f->dissected++;
	cls->stats.fed++;
	f->app = proto.app_protocol;
	f->master = proto.master_protocol;
	f->category = proto.category;

	if (!enough && proto.app_protocol == NDPI_PROTOCOL_UNKNOWN)
		return FL_CLS_NONE;
	if (!enough && ndpi_extra_dissection_possible(cls->ndpi, f->ndpi))
		return FL_CLS_NONE; /* e.g. the server's certificate, JA3S */
	if (proto.app_protocol == NDPI_PROTOCOL_UNKNOWN)
		flow_give_up(cls, f);
	else
		verdict_final(cls, f, proto, false, false);
	return FL_CLS_VERDICT;
}

/* --- expiry, end --- */

static void flow_remove(struct fl_cls *cls, struct fl_cls_flow *f)
{
	wheel_remove(f);
	hash_remove(cls, f);
	flow_state_free(cls, f);
	cls->nr_flows--;
	free(f);
}

void fl_cls_expire(struct fl_cls *cls, __u64 now_ms, fl_cls_flow_fn done,
		   void *arg)
{
	__u64 now_s = now_ms / 1000, s;

	if (!cls->wheel_started || now_s <= cls->wheel_s)
		return;
	/* A jump of more than a turn visits every slot once. */
	s = cls->wheel_s + 1;
	if (now_s - s >= WHEEL_SLOTS)
		s = now_s - WHEEL_SLOTS + 1;
	for (; s <= now_s; s++) {
		struct fl_cls_flow **slot = &cls->wheel[s % WHEEL_SLOTS];
		struct fl_cls_flow *f = *slot, *next;

		cls->wheel_s = s;
		*slot = NULL;
		for (; f; f = next) {
			next = f->next_wheel;
			f->next_wheel = NULL;
			f->prev_wheel = NULL;
			if (f->last_ms + idle_ms(cls, f) <= now_ms) {
				flow_give_up(cls, f);
				if (done)
					done(f, arg);
				/* done() may have found it alive elsewhere */
				if (f->last_ms + idle_ms(cls, f) <= now_ms)
					flow_remove(cls, f);
				else
					wheel_insert(cls, f);
			} else {
				/* seen since: in again at its new deadline */
				wheel_insert(cls, f);
			}
		}
	}
}

static int by_seq(const void *a, const void *b)
{
	const struct fl_cls_flow *fa = *(struct fl_cls_flow *const *)a;
	const struct fl_cls_flow *fb = *(struct fl_cls_flow *const *)b;

	return fa->seq < fb->seq ? -1 : fa->seq > fb->seq;
}

void fl_cls_finish(struct fl_cls *cls, fl_cls_flow_fn fn, void *arg)
{
	struct fl_cls_flow **all;
	__u32 i, n = 0;

	all = malloc((cls->nr_flows + 1) * sizeof(*all));
	for (i = 0; i < cls->nr_buckets; i++) {
		struct fl_cls_flow *f;

		for (f = cls->buckets[i]; f; f = f->next_hash) {
			flow_give_up(cls, f);
			if (all)
				all[n++] = f;
			else if (fn)
				fn(f, arg); /* no memory to sort: any order */
		}
	}
	if (all) {
		qsort(all, n, sizeof(*all), by_seq);
		for (i = 0; i < n && fn; i++)
			fn(all[i], arg);
		free(all);
	}
	flows_free_all(cls);
	cls->wheel_started = 0;
	cls->wheel_s = 0;
}

void fl_cls_walk(struct fl_cls *cls, fl_cls_flow_fn fn, void *arg)
{
	__u32 i;

	for (i = 0; i < cls->nr_buckets; i++) {
		struct fl_cls_flow *f, *next;

		for (f = cls->buckets[i]; f; f = next) {
			next = f->next_hash;
			fn(f, arg);
		}
	}
}

/* --- names --- */

const char *fl_cls_app_name(struct fl_cls *cls, const struct fl_cls_flow *f,
			    char *buf, size_t len)
{
	ndpi_protocol proto = {
		.master_protocol = f->master,
		.app_protocol = f->app,
		.category = f->category,
	};

	if (!cls) { /* no module to ask: the numbers */
		snprintf(buf, len, "%u.%u", f->master, f->app);
		return buf;
	}
	return ndpi_protocol2name(cls->ndpi, proto, buf, len);
}

const char *fl_cls_proto_name(struct fl_cls *cls, __u16 id)
{
	return cls ? ndpi_get_proto_name(cls->ndpi, id) : "Unknown";
}

const char *fl_cls_category_name(struct fl_cls *cls, __u16 category)
{
	const char *name = cls ? ndpi_category_get_name(cls->ndpi, category) :
				 NULL;

	return name ?: "";
}

size_t fl_cls_risk_names(__u64 risk, char *buf, size_t len)
{
	size_t used = 0;
	int i, n;

	if (len)
		buf[0] = '\0';
	for (i = 1; i < NDPI_MAX_RISK && i < 64; i++) {
		if (!(risk & (1ULL << i)))
			continue;
		n = snprintf(buf + used, len > used ? len - used : 0, "%s%s",
			     used ? "," : "", ndpi_risk2str(i));
		if (n < 0)
			break;
		used += n;
	}
	return used;
}

/* --- names --- */

static int name_count(struct fl_cls *cls, enum fl_cls_name_kind kind)
{
	switch (kind) {
	case FL_CLS_NAME_APP:
		return ndpi_get_num_supported_protocols(cls->ndpi);
	case FL_CLS_NAME_CATEGORY:
		return NDPI_PROTOCOL_NUM_CATEGORIES;
	default:
		return NDPI_MAX_RISK < 64 ? NDPI_MAX_RISK : 64;
	}
}

const char *fl_cls_name_of(struct fl_cls *cls, enum fl_cls_name_kind kind,
			   int id)
{
	const char *name = NULL;

	if (id < 0 || id >= name_count(cls, kind))
		return "";
	switch (kind) {
	case FL_CLS_NAME_APP:
		name = ndpi_get_proto_name(cls->ndpi, id);
		break;
	case FL_CLS_NAME_CATEGORY:
		name = ndpi_category_get_name(cls->ndpi, id);
		break;
	default:
		name = id ? ndpi_risk2str(id) : NULL;
	}
	return name ?: "";
}

/* @s folded for comparing: lower case; for risks letters and digits only */
static void name_fold(enum fl_cls_name_kind kind, const char *s, char *out,
		      size_t len)
{
	size_t n = 0;

	for (; *s && n + 1 < len; s++) {
		if (kind == FL_CLS_NAME_RISK && !isalnum((unsigned char)*s))
			continue;
		out[n++] = tolower((unsigned char)*s);
	}
	out[n] = '\0';
}

int fl_cls_name_id(struct fl_cls *cls, enum fl_cls_name_kind kind,
		   const char *name)
{
	char want[128], have[128];
	int id, n = name_count(cls, kind);

	name_fold(kind, name, want, sizeof(want));
	if (!want[0])
		return -1;
	for (id = 0; id < n; id++) {
		name_fold(kind, fl_cls_name_of(cls, kind, id), have,
			  sizeof(have));
		if (!strcmp(want, have))
			return id;
	}
	return -1;
}

/* Levenshtein distance, capped at 9: enough to rank near misses. */
static int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	int row[128], prev, tmp, best;

	if (la > 127 || lb > 127)
		return 9;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		best = row[0];
		for (j = 1; j <= lb; j++) {
			tmp = row[j];
			row[j] = prev + (a[i - 1] != b[j - 1]);
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			if (tmp + 1 < row[j])
				row[j] = tmp + 1;
			prev = tmp;
			if (row[j] < best)
				best = row[j];
		}
		if (best >= 9)
			return 9;
	}
	return row[lb] < 9 ? row[lb] : 9;
}

int fl_cls_name_close(struct fl_cls *cls, enum fl_cls_name_kind kind,
		      const char *name, char *buf, size_t len)
{
	char want[128], have[128];
	int id, n = name_count(cls, kind), found = 0, dist, limit;
	size_t used = 0;

	if (len)
		buf[0] = '\0';
	name_fold(kind, name, want, sizeof(want));
	if (!want[0])
		return 0;
	/* by distance: 0 (contains it), then 1, 2 (3 for long names) */
	limit = strlen(want) > 6 ? 3 : 2;
	for (dist = 0; dist <= limit && found < 5; dist++) {
		for (id = 0; id < n && found < 5; id++) {
			const char *canon = fl_cls_name_of(cls, kind, id);
			int d;

			if (!canon[0])
				continue;
			name_fold(kind, canon, have, sizeof(have));
			d = strstr(have, want) ? 0 : edit_distance(want, have);
			if (d != dist || (!dist && !strstr(have, want)))
				continue;
			used += snprintf(buf + used, len > used ? len - used : 0,
					 "%s%s", found ? ", " : "", canon);
			found++;
		}
	}
	return found;
}

/* --- accounting --- */

size_t fl_cls_memory(const struct fl_cls *cls)
{
	return sizeof(*cls) + cls->nr_buckets * sizeof(*cls->buckets) +
	       cls->nr_flows * sizeof(struct fl_cls_flow) + cls->ndpi_bytes;
}

__u32 fl_cls_flows(const struct fl_cls *cls)
{
	return cls->nr_flows;
}

__u32 fl_cls_flows_dissecting(const struct fl_cls *cls)
{
	return cls->nr_dissecting;
}

size_t fl_cls_ndpi_flow_size(void)
{
	return SIZEOF_FLOW_STRUCT;
}

void fl_cls_get_stats(const struct fl_cls *cls, struct fl_cls_stats *stats)
{
	*stats = cls->stats;
}

__u32 fl_cls_idle_ms(const struct fl_cls *cls, const struct fl_cls_flow *f)
{
	return idle_ms(cls, f);
}
