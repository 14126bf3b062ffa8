// SPDX-License-Identifier: Apache-2.0
/*
 * HEP3 mirroring: every SIP message the workers see, both directions, sent
 * to each configured collector (Homer, heplify-server, sngrep, Kamailio's
 * sipcapture) as one HEP3 datagram over UDP, with the message's Call-ID as
 * its correlation id (user/lib/hep.h writes the datagram).
 *
 * The control thread keeps the collectors (hep-add, hep-del, hep-list) and
 * publishes them to the workers as one table under h->lock, moving h->gen
 * on. A worker copies the table when gen has moved, and that is the only
 * time it takes the lock: on the path every message takes it reads its
 * own copy, and shared state only through atomics:
 *   - the number of collectors, hep_wanted(): the one test per frame;
 *   - each collector's rate cap, a GCRA bucket (a theoretical arrival
 *     time moved by compare-and-swap) that every worker shares: RATE
 *     messages a second in all, and RATE at once after a quiet second.
 *     A message over it is counted as dropped and not sent, so a SIP flood
 *     never becomes a HEP flood towards the collector;
 *   - its own counters per collector (sent, dropped, send errors), which
 *     hep-list sums over the workers.
 * Each worker sends from a UDP socket of its own per address family, with
 * sendto(MSG_DONTWAIT): a full socket buffer or an unreachable collector
 * is a counted send error, never a wait.
 *
 * A collector's counters live in its slot; slots are handed out round
 * robin and a new collector's counters start from what its slot already
 * had, so a worker still sending with last round's table cannot add to
 * a collector it never knew.
 *
 * HEP_FILE, next to the state file, is written at every change:
 *   {"format": "flowlens-hep", "version": 1, "saved_at": ...,
 *    "collectors": [{"addr", "port", "id", "rate", "password"}, ...]}
 * ("password" only when one was given; the file is 0600 as every file
 * flowlensd keeps).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <json-c/json.h>

#include "../lib/hep.h" /* the encoder: "hep.h" here is this module's */
#include "commands.h"
#include "daemon.h"
#include "hep.h"
#include "log.h"
#include "module.h"
#include "persist.h"
#include "units.h"

#define HEP_FILE "hep.json"
#define HEP_COLLECTORS_MAX 8
#define HEP_WORKERS_MAX FL_XSKS_MAX /* a worker per rx queue at most */
#define HEP_PORT_DEFAULT 9060
#define HEP_ID_DEFAULT 2002 /* what heplify and sngrep send by default */
#define HEP_RATE_DEFAULT 10000
#define HEP_RATE_MAX 1000000
#define HEP_KEY_MAX 64 /* sngrep keeps the key it checks in 100 bytes */
#define HEP_WORDS_MAX 16
#define NSEC_PER_SEC 1000000000ULL

static const struct fl_persist_format hep_format = {
	.name = "flowlens-hep",
	.version = 1,
};

enum hep_counter { HEP_C_SENT, HEP_C_DROPPED, HEP_C_ERRORS, HEP_C_COUNT };
static const char *const counter_names[HEP_C_COUNT] = { "sent", "dropped",
							"send_errors" };

struct hep_collector {
	int slot;
	int family;
	union fl_addr addr;
	__u16 port;
	__u32 id;
	__u32 rate; /* messages a second */
	char password[HEP_KEY_MAX + 1]; /* "": none */
};

/* What a worker needs to send to one collector. */
struct hep_target {
	int slot;
	struct sockaddr_storage sa;
	socklen_t salen;
	__u32 capture_id;
	__u64 cost_ns; /* one message's share of a second */
	__u64 burst_ns; /* how far the bucket may run ahead: a second */
	size_t key_len;
	char key[HEP_KEY_MAX];
};

struct hep_table {
	int n;
	struct hep_target t[HEP_COLLECTORS_MAX];
};

struct hep_worker {
	/* the worker's own */
	unsigned int gen; /* of its copy of the table */
	struct hep_table table;
	int fd[2]; /* UDP sockets: AF_INET, AF_INET6; -1 until needed */
	/* written by the worker, read by the control thread */
	_Atomic __u64 messages; /* SIP messages it mirrored */
	_Atomic __u64 c[HEP_COLLECTORS_MAX][HEP_C_COUNT];
} __attribute__((aligned(64)));

struct hep {
	struct hep_head head; /* first: hep_wanted() reads it */
	pthread_mutex_t lock; /* table */
	struct hep_table table;
	_Atomic unsigned int gen;
	_Atomic __u64 tat[HEP_COLLECTORS_MAX]; /* each slot's bucket */
	struct hep_worker *workers; /* HEP_WORKERS_MAX of them */

	/* the control thread's */
	struct hep_collector coll[HEP_COLLECTORS_MAX]; /* in the order added */
	int nr;
	int next_slot;
	__u64 base[HEP_COLLECTORS_MAX][HEP_C_COUNT]; /* at the slot's add */
	char path[PATH_MAX];
};

/* ---- the workers' side ---- */

/*
 * The addresses, ports and payload of an IPv4 or IPv6 packet carrying UDP
 * or TCP, into @m; -1 for anything else, a packet cut short or a fragment.
 */
static int packet_parse(const __u8 *ip, size_t len, size_t l4_off,
			__u8 l4_proto, struct fl_hep_message *m)
{
	const __u8 *l4;
	size_t end, hl, udp_len;

	if (len < 1)
		return -1;
	switch (ip[0] >> 4) {
	case 4:
		if (len < 20 || (ip[6] & 0x3f) || ip[7]) /* MF, or an offset */
			return -1;
		end = ip[2] << 8 | ip[3];
		m->family = AF_INET;
		memcpy(m->src.b, ip + 12, 4);
		memcpy(m->dst.b, ip + 16, 4);
		break;
	case 6:
		if (len < 40)
			return -1;
		end = 40 + (ip[4] << 8 | ip[5]);
		m->family = AF_INET6;
		memcpy(m->src.b, ip + 8, 16);
		memcpy(m->dst.b, ip + 24, 16);
		break;
	default:
		return -1;
	}
	/* the datagram ends where its IP header says, not at the frame's
	 * end (Ethernet pads short frames) */
	if (end > len || l4_off >= end)
		return -1;
	l4 = ip + l4_off;
	if (l4_proto == IPPROTO_UDP) {
		if (end - l4_off < 8)
			return -1;
		hl = 8;
		udp_len = l4[4] << 8 | l4[5];
		if (udp_len < 8 || udp_len > end - l4_off)
			return -1;
		end = l4_off + udp_len;
	} else if (l4_proto == IPPROTO_TCP) {
		if (end - l4_off < 20)
			return -1;
		hl = (l4[12] >> 4) * 4;
		if (hl < 20 || hl > end - l4_off)
			return -1;
	} else {
		return -1;
	}
	m->ip_proto = l4_proto;
	m->sport = l4[0] << 8 | l4[1];
	m->dport = l4[2] << 8 | l4[3];
	m->payload = l4 + hl;
	m->payload_len = end - l4_off - hl;
	return 0;
}

/* The collectors changed: the worker takes the new table, and a socket
 * for a family it had none for. */
static void worker_refresh(struct hep *h, struct hep_worker *hw)
{
	int i, v6;

	pthread_mutex_lock(&h->lock);
	hw->table = h->table;
	hw->gen = atomic_load_explicit(&h->gen, memory_order_relaxed);
	pthread_mutex_unlock(&h->lock);
	for (i = 0; i < hw->table.n; i++) {
		v6 = hw->table.t[i].sa.ss_family == AF_INET6;
		if (hw->fd[v6] < 0)
			hw->fd[v6] = socket(v6 ? AF_INET6 : AF_INET,
					    SOCK_DGRAM | SOCK_CLOEXEC, 0);
	}
}

/* One message through a collector's bucket (GCRA): false if it is over
 * the rate, and the bucket is left as it was. */
static bool bucket_take(_Atomic __u64 *tat, const struct hep_target *t,
			__u64 now)
{
	__u64 old = atomic_load_explicit(tat, memory_order_relaxed), next;

	do {
		next = (old > now ? old : now) + t->cost_ns;
		if (next - now > t->burst_ns)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(
		tat, &old, next, memory_order_relaxed, memory_order_relaxed));
	return true;
}

static void count(struct hep_worker *hw, int slot, enum hep_counter c)
{
	atomic_fetch_add_explicit(&hw->c[slot][c], 1, memory_order_relaxed);
}

void hep_mirror(struct daemon *d, int worker, const void *l3, size_t l3_len,
		size_t l4_off, __u8 l4_proto, bool sip_flow)
{
	struct fl_hep_message m = { .proto_type = FL_HEP_PROTO_SIP };
	struct hep *h = d->hep;
	struct timespec real, mono;
	struct hep_worker *hw;
	__u8 buf[FL_HEP_MAX];
	__u64 now;
	int i, n, fd;

	if (worker < 0 || worker >= HEP_WORKERS_MAX ||
	    packet_parse(l3, l3_len, l4_off, l4_proto, &m))
		return;
	if (!sip_flow && !sip_port(d, m.sport) && !sip_port(d, m.dport))
		return;
	if (!fl_sip_starts_message(m.payload, m.payload_len))
		return;

	hw = &h->workers[worker];
	if (atomic_load_explicit(&h->gen, memory_order_acquire) != hw->gen)
		worker_refresh(h, hw);
	atomic_fetch_add_explicit(&hw->messages, 1, memory_order_relaxed);
	m.correlation_id =
		fl_sip_call_id(m.payload, m.payload_len, &m.correlation_id_len);
	clock_gettime(CLOCK_REALTIME, &real);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	m.ts_sec = real.tv_sec;
	m.ts_usec = real.tv_nsec / 1000;
	now = mono.tv_sec * NSEC_PER_SEC + mono.tv_nsec;

	for (i = 0; i < hw->table.n; i++) {
		const struct hep_target *t = &hw->table.t[i];

		if (!bucket_take(&h->tat[t->slot], t, now)) {
			count(hw, t->slot, HEP_C_DROPPED);
			continue;
		}
		m.capture_id = t->capture_id;
		m.auth_key = t->key;
		m.auth_key_len = t->key_len;
		n = fl_hep_encode(&m, buf, sizeof(buf));
		fd = hw->fd[t->sa.ss_family == AF_INET6];
		if (n < 0 || fd < 0 ||
		    sendto(fd, buf, n, MSG_DONTWAIT,
			   (const struct sockaddr *)&t->sa, t->salen) != n)
			count(hw, t->slot, HEP_C_ERRORS);
		else
			count(hw, t->slot, HEP_C_SENT);
	}
}

/* ---- the collectors (control thread) ---- */

static const char *collector_name(const struct hep_collector *c, char *buf,
				  size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	inet_ntop(c->family, c->addr.b, addr, sizeof(addr));
	snprintf(buf, len, "%s port %u", addr, c->port);
	return buf;
}

static struct hep_collector *collector_find(struct hep *h, int family,
					    const union fl_addr *addr, int port)
{
	int i;

	for (i = 0; i < h->nr; i++)
		if (h->coll[i].family == family &&
		    !memcmp(&h->coll[i].addr, addr, sizeof(*addr)) &&
		    h->coll[i].port == port)
			return &h->coll[i];
	return NULL;
}

static __u64 counter_sum(const struct hep *h, int slot, enum hep_counter c)
{
	__u64 sum = 0;
	int w;

	for (w = 0; w < HEP_WORKERS_MAX; w++)
		sum += atomic_load_explicit(&h->workers[w].c[slot][c],
					    memory_order_relaxed);
	return sum;
}

static void target_fill(const struct hep_collector *c, struct hep_target *t)
{
	memset(t, 0, sizeof(*t));
	t->slot = c->slot;
	if (c->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&t->sa;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(c->port);
		memcpy(&sin->sin_addr, c->addr.b, 4);
		t->salen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->sa;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(c->port);
		memcpy(&sin6->sin6_addr, c->addr.b, 16);
		t->salen = sizeof(*sin6);
	}
	t->capture_id = c->id;
	t->cost_ns = NSEC_PER_SEC / c->rate;
	t->burst_ns = t->cost_ns * c->rate;
	t->key_len = strlen(c->password);
	memcpy(t->key, c->password, t->key_len);
}

/* The workers take the collectors as they are now at their next SIP
 * message. */
static void table_publish(struct hep *h)
{
	struct hep_table t = { .n = h->nr };
	int i;

	for (i = 0; i < h->nr; i++)
		target_fill(&h->coll[i], &t.t[i]);
	pthread_mutex_lock(&h->lock);
	h->table = t;
	atomic_fetch_add_explicit(&h->gen, 1, memory_order_release);
	pthread_mutex_unlock(&h->lock);
	atomic_store_explicit(&h->head.collectors, h->nr, memory_order_relaxed);
}

static bool slot_used(const struct hep *h, int slot)
{
	int i;

	for (i = 0; i < h->nr; i++)
		if (h->coll[i].slot == slot)
			return true;
	return false;
}

/* Round robin: a slot comes back only after every other one. */
static int slot_alloc(struct hep *h)
{
	int i, slot;

	for (i = 0; i < HEP_COLLECTORS_MAX; i++) {
		slot = (h->next_slot + i) % HEP_COLLECTORS_MAX;
		if (!slot_used(h, slot)) {
			h->next_slot = (slot + 1) % HEP_COLLECTORS_MAX;
			return slot;
		}
	}
	return -1;
}

/* A new collector in a free slot, its counters and bucket from zero;
 * the caller publishes the table. */
static void collector_insert(struct hep *h, struct hep_collector *c)
{
	int k;

	c->slot = slot_alloc(h);
	for (k = 0; k < HEP_C_COUNT; k++)
		h->base[c->slot][k] = counter_sum(h, c->slot, k);
	atomic_store_explicit(&h->tat[c->slot], 0, memory_order_relaxed);
	h->coll[h->nr++] = *c;
}

static struct json_object *collector_json(const struct hep *h,
					  const struct hep_collector *c,
					  bool counters)
{
	struct json_object *o = json_object_new_object();
	char addr[INET6_ADDRSTRLEN];
	int k;

	inet_ntop(c->family, c->addr.b, addr, sizeof(addr));
	json_object_object_add(o, "addr", json_object_new_string(addr));
	json_object_object_add(o, "port", json_object_new_int(c->port));
	json_object_object_add(o, "id", json_object_new_int64(c->id));
	json_object_object_add(o, "rate", json_object_new_int64(c->rate));
	json_object_object_add(o, "password",
			       json_object_new_boolean(c->password[0]));
	for (k = 0; counters && k < HEP_C_COUNT; k++)
		json_object_object_add(
			o, counter_names[k],
			json_object_new_uint64(counter_sum(h, c->slot, k) -
					       h->base[c->slot][k]));
	return o;
}

/* ---- parsing ---- */

static bool parse_ulong(const char *text, unsigned long long min,
			unsigned long long max, unsigned long long *v)
{
	char *end;

	if (!text || !*text || *text == '-' || *text == '+')
		return false;
	errno = 0;
	*v = strtoull(text, &end, 10);
	return !errno && !*end && *v >= min && *v <= max;
}

static int addr_parse(const char *text, struct hep_collector *c, char *err,
		      size_t errlen)
{
	static const union fl_addr none;

	memset(&c->addr, 0, sizeof(c->addr));
	if (inet_pton(AF_INET, text, c->addr.b) == 1)
		c->family = AF_INET;
	else if (inet_pton(AF_INET6, text, c->addr.b) == 1)
		c->family = AF_INET6;
	else
		return fl_errf(
			err, errlen, -EINVAL,
			"bad collector address '%s': an IPv4 or IPv6 address (203.0.113.50, 2001:db8::50)",
			text);
	if (!memcmp(&c->addr, &none, sizeof(none)))
		return fl_errf(
			err, errlen, -EINVAL,
			"bad collector address '%s': the unspecified address receives nothing",
			text);
	return 0;
}

static int port_parse(const char *text, __u16 *port, char *err, size_t errlen)
{
	unsigned long long v;

	if (!parse_ulong(text, 1, 65535, &v))
		return fl_errf(err, errlen, -EINVAL,
			       "bad port '%s': a UDP port, 1-65535",
			       text ?: "");
	*port = v;
	return 0;
}

static int password_check(const char *text, char *err, size_t errlen)
{
	size_t len = strlen(text);

	if (!len || len > HEP_KEY_MAX)
		return fl_errf(
			err, errlen, -EINVAL,
			"bad password: 1 to %d characters (this one has %zu)",
			HEP_KEY_MAX, len);
	return 0;
}

/*
 * "ADDR [port PORT] [id ID] [password P] [rate N]" (@add) or "ADDR [port
 * PORT]" into @c; @port_given says whether the port was given.
 */
static int collector_parse(char **w, int nw, bool add, struct hep_collector *c,
			   bool *port_given, char *err, size_t errlen)
{
	enum { KW_PORT, KW_ID, KW_PASSWORD, KW_RATE, KW_COUNT };
	static const char *const keywords[KW_COUNT] = {
		[KW_PORT] = "port",
		[KW_ID] = "id",
		[KW_PASSWORD] = "password",
		[KW_RATE] = "rate",
	};
	int i, k, ret, nk = add ? KW_COUNT : 1; /* del: a port alone */
	bool seen[KW_COUNT] = { false };
	unsigned long long v;
	uint64_t rate;

	memset(c, 0, sizeof(*c));
	c->port = HEP_PORT_DEFAULT;
	c->id = HEP_ID_DEFAULT;
	c->rate = HEP_RATE_DEFAULT;
	if (nw < 1)
		return fl_errf(
			err, errlen, -EINVAL,
			"hep %s needs a collector's ADDR (e.g. 203.0.113.50 port 9060%s)",
			add ? "add" : "del", add ? " id 2001" : "");
	ret = addr_parse(w[0], c, err, errlen);
	if (ret)
		return ret;
	for (i = 1; i < nw; i += 2) {
		const char *arg = i + 1 < nw ? w[i + 1] : NULL;

		for (k = 0; k < nk && strcmp(w[i], keywords[k]); k++)
			;
		if (k == nk)
			return fl_errf(
				err, errlen, -EINVAL,
				add ? "unknown word '%s': port, id, password or rate" :
				      "unknown word '%s': port",
				w[i]);
		if (seen[k])
			return fl_errf(err, errlen, -EINVAL, "%s given twice",
				       keywords[k]);
		seen[k] = true;
		if (!arg)
			return fl_errf(err, errlen, -EINVAL, "%s needs a value",
				       keywords[k]);
		switch (k) {
		case KW_PORT:
			ret = port_parse(arg, &c->port, err, errlen);
			break;
		case KW_ID:
			if (!parse_ulong(arg, 0, 0xffffffffULL, &v))
				return fl_errf(
					err, errlen, -EINVAL,
					"bad id '%s': a capture agent id, 0-4294967295",
					arg);
			c->id = v;
			break;
		case KW_PASSWORD:
			ret = password_check(arg, err, errlen);
			if (!ret)
				snprintf(c->password, sizeof(c->password), "%s",
					 arg);
			break;
		case KW_RATE:
			if (fl_parse_count(arg, &rate) || !rate ||
			    rate > HEP_RATE_MAX)
				return fl_errf(
					err, errlen, -EINVAL,
					"bad rate '%s': messages a second, 1 to 1M (10k is 10000)",
					arg);
			c->rate = rate;
			break;
		}
		if (ret)
			return ret;
	}
	*port_given = seen[KW_PORT];
	return 0;
}

/* ---- the file ---- */

static int hep_fill(struct json_object *root, void *arg)
{
	struct hep *h = arg;
	struct json_object *a = json_object_new_array(), *o;
	char addr[INET6_ADDRSTRLEN];
	int i;

	for (i = 0; i < h->nr; i++) {
		const struct hep_collector *c = &h->coll[i];

		o = json_object_new_object();
		inet_ntop(c->family, c->addr.b, addr, sizeof(addr));
		json_object_object_add(o, "addr", json_object_new_string(addr));
		json_object_object_add(o, "port", json_object_new_int(c->port));
		json_object_object_add(o, "id", json_object_new_int64(c->id));
		json_object_object_add(o, "rate",
				       json_object_new_int64(c->rate));
		if (c->password[0])
			json_object_object_add(
				o, "password",
				json_object_new_string(c->password));
		json_object_array_add(a, o);
	}
	json_object_object_add(root, "collectors", a);
	return 0;
}

static int hep_save(struct daemon *d)
{
	struct hep *h = d->hep;

	if (!h)
		return 0;
	return fl_persist_save(h->path, &hep_format, hep_fill, h);
}

/* Back from the file; an entry that no longer checks out is logged and
 * left out. */
static void hep_restore(struct hep *h)
{
	struct json_object *root, *a, *o;
	struct hep_collector c;
	char err[256], name[80];
	int version, ret;
	size_t i;

	ret = fl_persist_load(h->path, &hep_format, &root, &version, err,
			      sizeof(err));
	if (ret == -ENOENT)
		return;
	if (ret) {
		pr_warn("hep: %s; no HEP collectors restored", err);
		return;
	}
	a = json_object_object_get(root, "collectors");
	for (i = 0; a && i < json_object_array_length(a); i++) {
		__u64 id, rate;
		const char *pw;

		o = json_object_array_get_idx(a, i);
		memset(&c, 0, sizeof(c));
		id = fl_json_u64(o, "id");
		rate = fl_json_u64(o, "rate");
		pw = fl_json_str(o, "password");
		ret = addr_parse(fl_json_str(o, "addr"), &c, err, sizeof(err));
		if (!ret &&
		    (!fl_json_u64(o, "port") ||
		     fl_json_u64(o, "port") > 65535 || id > 0xffffffffULL ||
		     !rate || rate > HEP_RATE_MAX || strlen(pw) > HEP_KEY_MAX))
			ret = fl_errf(
				err, sizeof(err), -EINVAL,
				"a port, id, rate or password out of range");
		c.port = fl_json_u64(o, "port");
		if (!ret && collector_find(h, c.family, &c.addr, c.port))
			ret = fl_errf(err, sizeof(err), -EEXIST, "twice");
		if (!ret && h->nr == HEP_COLLECTORS_MAX)
			ret = fl_errf(err, sizeof(err), -ENOSPC,
				      "more than %d collectors",
				      HEP_COLLECTORS_MAX);
		if (ret) {
			pr_warn("hep: %s: collector %zu left out: %s", h->path,
				i, err);
			continue;
		}
		c.id = id;
		c.rate = rate;
		snprintf(c.password, sizeof(c.password), "%s", pw);
		collector_insert(h, &c);
		pr_info("hep: mirroring SIP to %s (id %u)",
			collector_name(&c, name, sizeof(name)), c.id);
	}
	json_object_put(root);
}

/* ---- control requests ---- */

static int cmd_hep_add(struct daemon *d, struct json_object *req,
		       struct json_object **data, char *err, size_t errlen)
{
	const char *warning = NULL;
	char *w[HEP_WORDS_MAX], name[80];
	struct hep *h = d->hep;
	struct hep_collector c;
	bool port_given;
	int nw, ret;

	nw = command_words(req, w, HEP_WORDS_MAX, err, errlen);
	if (nw < 0)
		return nw;
	ret = collector_parse(w, nw, true, &c, &port_given, err, errlen);
	if (ret)
		return ret;
	collector_name(&c, name, sizeof(name));
	if (collector_find(h, c.family, &c.addr, c.port))
		return fl_errf(
			err, errlen, -EEXIST,
			"%s is a HEP collector already (hep del it first to change it)",
			name);
	if (h->nr == HEP_COLLECTORS_MAX)
		return fl_errf(
			err, errlen, -ENOSPC,
			"cannot add %s: %d collectors already, the most there can be",
			name, HEP_COLLECTORS_MAX);
	/* SIP flows must reach the workers after their verdict too */
	ret = settings_voip_want(d, VOIP_WANT_HEP, true);
	if (ret)
		return fl_errf(
			err, errlen, ret,
			"cannot keep SIP flows escalated to the workers: %s",
			strerror(-ret));
	collector_insert(h, &c);
	table_publish(h);
	hep_save(d);
	pr_info("hep: mirroring SIP to %s (id %u, rate %u/s%s)", name, c.id,
		c.rate, c.password[0] ? ", with a password" : "");
	if (!d->workers) {
		warning =
			"no AF_XDP workers run (--workers 0): nothing is mirrored";
		pr_warn("hep: %s", warning);
	}
	*data = json_object_new_object();
	json_object_object_add(*data, "collector",
			       collector_json(h, &c, false));
	json_object_object_add(*data, "warning",
			       warning ? json_object_new_string(warning) :
					 NULL);
	return 0;
}

static int cmd_hep_del(struct daemon *d, struct json_object *req,
		       struct json_object **data, char *err, size_t errlen)
{
	char *w[HEP_WORDS_MAX], name[80], ports[64] = "";
	struct hep_collector c, *found = NULL;
	struct hep *h = d->hep;
	int nw, ret, i, n = 0;
	bool port_given;

	nw = command_words(req, w, HEP_WORDS_MAX, err, errlen);
	if (nw < 0)
		return nw;
	ret = collector_parse(w, nw, false, &c, &port_given, err, errlen);
	if (ret)
		return ret;
	if (port_given) {
		found = collector_find(h, c.family, &c.addr, c.port);
	} else {
		/* the address alone: its one collector, whatever its port */
		for (i = 0; i < h->nr; i++) {
			if (h->coll[i].family != c.family ||
			    memcmp(&h->coll[i].addr, &c.addr, sizeof(c.addr)))
				continue;
			found = &h->coll[i];
			snprintf(ports + strlen(ports),
				 sizeof(ports) - strlen(ports), "%s%u",
				 n++ ? ", " : "", h->coll[i].port);
		}
		if (n > 1)
			return fl_errf(
				err, errlen, -EINVAL,
				"%s has %d collectors (ports %s): say which with port PORT",
				w[0], n, ports);
	}
	if (!found)
		return fl_errf(err, errlen, -ENOENT, "no HEP collector %s%s",
			       port_given ?
				       collector_name(&c, name, sizeof(name)) :
				       w[0],
			       port_given ? "" : " (any port)");
	c = *found;
	*data = json_object_new_object();
	json_object_object_add(*data, "collector", collector_json(h, &c, true));
	memmove(found, found + 1,
		(h->coll + h->nr - found - 1) * sizeof(*found));
	h->nr--;
	table_publish(h);
	hep_save(d);
	pr_info("hep: no longer mirroring SIP to %s",
		collector_name(&c, name, sizeof(name)));
	if (!h->nr) {
		ret = settings_voip_want(d, VOIP_WANT_HEP, false);
		if (ret)
			pr_warn("hep: SIP flows stay escalated: %s",
				strerror(-ret));
	}
	return 0;
}

static int cmd_hep_list(struct daemon *d, struct json_object *req,
			struct json_object **data, char *err, size_t errlen)
{
	struct hep *h = d->hep;
	struct json_object *a;
	__u64 messages = 0;
	char *w[1];
	int i, nw;

	nw = command_words(req, w, 0, err, errlen);
	if (nw < 0)
		return nw;
	a = json_object_new_array();
	for (i = 0; i < h->nr; i++)
		json_object_array_add(a, collector_json(h, &h->coll[i], true));
	for (i = 0; i < HEP_WORKERS_MAX; i++)
		messages += atomic_load_explicit(&h->workers[i].messages,
						 memory_order_relaxed);
	*data = json_object_new_object();
	json_object_object_add(*data, "collectors", a);
	json_object_object_add(*data, "sip_messages",
			       json_object_new_uint64(messages));
	return 0;
}

/* ---- the module ---- */

static int hep_open(struct daemon *d)
{
	struct hep *h;
	char *copy;
	int i, ret;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	/* a cache line each: the workers write their counters there */
	if (posix_memalign((void **)&h->workers, 64,
			   HEP_WORKERS_MAX * sizeof(*h->workers))) {
		free(h);
		return -ENOMEM;
	}
	memset(h->workers, 0, HEP_WORKERS_MAX * sizeof(*h->workers));
	for (i = 0; i < HEP_WORKERS_MAX; i++)
		h->workers[i].fd[0] = h->workers[i].fd[1] = -1;
	pthread_mutex_init(&h->lock, NULL);
	atomic_init(&h->gen, 1); /* every worker's copy is older */
	copy = strdup(d->opt.state_path);
	snprintf(h->path, sizeof(h->path), "%s/" HEP_FILE,
		 copy ? dirname(copy) : ".");
	free(copy);
	d->hep = h;

	hep_restore(h);
	table_publish(h);
	if (h->nr) {
		ret = settings_voip_want(d, VOIP_WANT_HEP, true);
		if (ret)
			pr_warn("hep: cannot keep SIP flows escalated to the workers (%s): only what they see before a verdict is mirrored",
				strerror(-ret));
	}
	return 0;
}

static void hep_close(struct daemon *d)
{
	struct hep *h = d->hep;
	int i;

	if (!h)
		return;
	hep_save(d);
	/* the workers have stopped: they open after this module */
	for (i = 0; i < HEP_WORKERS_MAX; i++) {
		if (h->workers[i].fd[0] >= 0)
			close(h->workers[i].fd[0]);
		if (h->workers[i].fd[1] >= 0)
			close(h->workers[i].fd[1]);
	}
	d->hep = NULL;
	pthread_mutex_destroy(&h->lock);
	free(h->workers);
	free(h);
}

static const struct command hep_commands[] = {
	{ "hep-add", cmd_hep_add },
	{ "hep-del", cmd_hep_del },
	{ "hep-list", cmd_hep_list },
	{ NULL, NULL },
};

const struct fl_module hep_module = {
	.name = "hep",
	.open = hep_open,
	.close = hep_close,
	.save = hep_save,
	.commands = hep_commands,
};
