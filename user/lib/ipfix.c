// SPDX-License-Identifier: Apache-2.0
/* An IPFIX message writer; see ipfix.h. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "ipfix.h"

#define VARLEN 0xffff
#define MSG_HDR 16
#define SET_HDR 4

/* What a field carries; the template table below gives each its id. */
enum field {
	F_SRC_ADDR,
	F_DST_ADDR,
	F_SPORT,
	F_DPORT,
	F_PROTO,
	F_TCP_FLAGS,
	F_TOS,
	F_OCTETS,
	F_PACKETS,
	F_START_MS,
	F_END_MS,
	F_IN_IF,
	F_OUT_IF,
	F_VLAN,
	F_END_REASON,
	F_BIFLOW_DIR,
	F_APP_ID,
	F_APP_NAME,
	F_L7_PROTO,
	F_L7_PROTO_NAME,
	F_L7_CATEGORY,
	F_SNI,
	F_JA3C,
	F_JA3S,
	F_RISK,
	F_RISK_NAME,
	F_RISK_SCORE,
};

struct ie {
	enum field field;
	__u16 id; /* information element id */
	__u16 len; /* VARLEN: a string */
	__u32 pen; /* 0: IANA */
};

#define NTOP FL_IPFIX_PEN_NTOP
/* RFC 6759 applicationId: classification engine 20 (PANA-L7-PEN), the
 * PEN, then the selector (the nDPI protocol id). Sent as a variable-length
 * field, which nfdump 1.7.1 decodes right and a fixed 7 bytes it does not.
 * tcpControlBits in one byte (RFC 7011 reduced-size encoding), the only
 * size pmacct 1.7.7 reads, as nProbe sends it. */
#define APP_ID_LEN 7
#define APP_ID_ENGINE_PANA_L7_PEN 20

/* The fields after the two addresses, which differ by family. */
#define COMMON_FIELDS                                                        \
	{ F_SPORT, 7, 2, 0 }, { F_DPORT, 11, 2, 0 }, { F_PROTO, 4, 1, 0 },   \
		{ F_TCP_FLAGS, 6, 1, 0 }, { F_TOS, 5, 1, 0 },                \
		{ F_OCTETS, 1, 8, 0 }, { F_PACKETS, 2, 8, 0 },               \
		{ F_START_MS, 152, 8, 0 }, { F_END_MS, 153, 8, 0 },          \
		{ F_IN_IF, 10, 4, 0 }, { F_OUT_IF, 14, 4, 0 },               \
		{ F_VLAN, 58, 2, 0 }, { F_END_REASON, 136, 1, 0 },           \
		{ F_BIFLOW_DIR, 239, 1, 0 }, { F_APP_ID, 95, VARLEN, 0 },    \
		{ F_APP_NAME, 96, VARLEN, 0 }, { F_L7_PROTO, 118, 2, NTOP }, \
		{ F_L7_PROTO_NAME, 119, VARLEN, NTOP },                      \
		{ F_L7_CATEGORY, 501, VARLEN, NTOP },                        \
		{ F_SNI, 188, VARLEN, NTOP }, { F_JA3C, 489, VARLEN, NTOP }, \
		{ F_JA3S, 490, VARLEN, NTOP }, { F_RISK, 509, 8, NTOP },     \
		{ F_RISK_NAME, 510, VARLEN, NTOP },                          \
	{                                                                    \
		F_RISK_SCORE, 527, 2, NTOP                                   \
	}

static const struct ie template_v4[] = {
	{ F_SRC_ADDR, 8, 4, 0 },
	{ F_DST_ADDR, 12, 4, 0 },
	COMMON_FIELDS,
};

static const struct ie template_v6[] = {
	{ F_SRC_ADDR, 27, 16, 0 },
	{ F_DST_ADDR, 28, 16, 0 },
	COMMON_FIELDS,
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const struct ie *template_of(__u8 family, size_t *n, __u16 *id)
{
	if (family == 6) {
		*n = ARRAY_LEN(template_v6);
		*id = FL_IPFIX_TEMPLATE_V6;
		return template_v6;
	}
	*n = ARRAY_LEN(template_v4);
	*id = FL_IPFIX_TEMPLATE_V4;
	return template_v4;
}

static void put8(__u8 *p, __u8 v)
{
	p[0] = v;
}

static void put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put32(__u8 *p, __u32 v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

static void put64(__u8 *p, __u64 v)
{
	put32(p, v >> 32);
	put32(p + 4, v);
}

/* A string field's value, truncated to what a one-byte length holds. */
static size_t str_len(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n < 255 ? n : 254;
}

static const char *field_str(const struct fl_ipfix_flow *f, enum field field)
{
	switch (field) {
	case F_APP_NAME:
	case F_L7_PROTO_NAME:
		return f->app_name;
	case F_L7_CATEGORY:
		return f->category_name;
	case F_SNI:
		return f->sni;
	case F_JA3C:
		return f->ja3c;
	case F_JA3S:
		return f->ja3s;
	case F_RISK_NAME:
		return f->risk_names;
	default:
		return NULL;
	}
}

size_t fl_ipfix_record_len(const struct fl_ipfix_flow *f)
{
	const struct ie *t;
	size_t i, n, len = 0;
	__u16 id;

	t = template_of(f->family, &n, &id);
	for (i = 0; i < n; i++)
		len += t[i].field == F_APP_ID ?
			       1 + APP_ID_LEN :
		       t[i].len == VARLEN ?
			       1 + str_len(field_str(f, t[i].field)) :
			       t[i].len;
	return len;
}

static size_t encode_record(__u8 *p, const struct fl_ipfix_flow *f)
{
	const struct ie *t;
	size_t i, n, alen = f->family == 6 ? 16 : 4;
	__u8 *start = p;
	const char *s;
	__u16 id;

	t = template_of(f->family, &n, &id);
	for (i = 0; i < n; i++) {
		switch (t[i].field) {
		case F_SRC_ADDR:
			memcpy(p, &f->src, alen);
			break;
		case F_DST_ADDR:
			memcpy(p, &f->dst, alen);
			break;
		case F_SPORT:
			put16(p, f->sport);
			break;
		case F_DPORT:
			put16(p, f->dport);
			break;
		case F_PROTO:
			put8(p, f->proto);
			break;
		case F_TCP_FLAGS:
			put8(p, f->tcp_flags);
			break;
		case F_TOS:
			put8(p, f->tos);
			break;
		case F_OCTETS:
			put64(p, f->bytes);
			break;
		case F_PACKETS:
			put64(p, f->packets);
			break;
		case F_START_MS:
			put64(p, f->start_ms);
			break;
		case F_END_MS:
			put64(p, f->end_ms);
			break;
		case F_IN_IF:
			put32(p, f->in_if);
			break;
		case F_OUT_IF:
			put32(p, f->out_if);
			break;
		case F_VLAN:
			put16(p, f->vlan);
			break;
		case F_END_REASON:
			put8(p, f->end_reason);
			break;
		case F_BIFLOW_DIR:
			put8(p, f->initiator ? 1 : 2);
			break;
		case F_APP_ID:
			put8(p, APP_ID_LEN);
			put8(p + 1, APP_ID_ENGINE_PANA_L7_PEN);
			put32(p + 2, FL_IPFIX_PEN_NTOP);
			put16(p + 6, f->app ?: f->master);
			p += 1 + APP_ID_LEN;
			continue;
		case F_L7_PROTO:
			put16(p, f->app ?: f->master);
			break;
		case F_RISK:
			put64(p, f->risk);
			break;
		case F_RISK_SCORE:
			put16(p, f->risk_score);
			break;
		case F_APP_NAME:
		case F_L7_PROTO_NAME:
		case F_L7_CATEGORY:
		case F_SNI:
		case F_JA3C:
		case F_JA3S:
		case F_RISK_NAME:
			s = field_str(f, t[i].field);
			put8(p, str_len(s));
			memcpy(p + 1, s ?: "", str_len(s));
			p += 1 + str_len(s);
			continue;
		}
		p += t[i].len;
	}
	return p - start;
}

/* The template set with both templates; its length. */
static size_t encode_templates(__u8 *p)
{
	static const struct {
		const struct ie *t;
		size_t n;
		__u16 id;
	} all[] = {
		{ template_v4, ARRAY_LEN(template_v4), FL_IPFIX_TEMPLATE_V4 },
		{ template_v6, ARRAY_LEN(template_v6), FL_IPFIX_TEMPLATE_V6 },
	};
	__u8 *q = p + SET_HDR;
	size_t i, k;

	for (k = 0; k < ARRAY_LEN(all); k++) {
		put16(q, all[k].id);
		put16(q + 2, all[k].n);
		q += 4;
		for (i = 0; i < all[k].n; i++) {
			const struct ie *e = &all[k].t[i];

			put16(q, e->id | (e->pen ? 0x8000 : 0));
			put16(q + 2, e->len);
			q += 4;
			if (e->pen) {
				put32(q, e->pen);
				q += 4;
			}
		}
	}
	put16(p, 2); /* set id 2: templates */
	put16(p + 2, q - p);
	return q - p;
}

static void close_set(struct fl_ipfix *x)
{
	size_t len;

	if (!x->set_off)
		return;
	/* no padding: RFC 7011 §3.3.1 makes it optional */
	len = x->len - x->set_off;
	put16(x->buf + x->set_off + 2, len);
	x->set_off = 0;
}

static ssize_t send_one(struct fl_ipfix *x)
{
	return sendto(x->fd, x->buf, x->len, x->blocking ? 0 : MSG_DONTWAIT,
		      (const struct sockaddr *)&x->ss, x->sslen);
}

/* What an ICMP error about an earlier datagram looks like at a send. */
static bool icmp_error(int err)
{
	return err == ECONNREFUSED || err == EHOSTUNREACH ||
	       err == ENETUNREACH || err == EHOSTDOWN || err == EPROTO;
}

/* Clears the socket's pending error and its queue of ICMP errors. */
static void drain_errors(int fd)
{
	char buf[256], ctl[512];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl,
			     .msg_controllen = sizeof(ctl) };
	socklen_t len = sizeof(int);
	int err, i;

	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	for (i = 0; i < 64; i++) {
		mh.msg_controllen = sizeof(ctl);
		if (recvmsg(fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			break;
	}
}

static void send_message(struct fl_ipfix *x, time_t now)
{
	ssize_t n;

	close_set(x);
	if (x->len <= MSG_HDR) {
		x->len = 0;
		return;
	}
	put16(x->buf, 10);
	put16(x->buf + 2, x->len);
	put32(x->buf + 4, now);
	put32(x->buf + 8, x->sequence);
	put32(x->buf + 12, x->domain);
	n = send_one(x);
	if (n < 0 && icmp_error(errno)) {
		/* an ICMP error for an earlier datagram (IP_RECVERR reports
		 * it at the next send, which it fails): this one still goes */
		drain_errors(x->fd);
		n = send_one(x);
	}
	if (n == (ssize_t)x->len) {
		x->stats.messages++;
		x->stats.records += x->nr_records;
		x->stats.bytes += n;
	} else {
		x->stats.send_errors++;
		x->stats.last_errno = n < 0 ? errno : EMSGSIZE;
		x->stats.lost_records += x->nr_records;
	}
	/* RFC 7011: the sequence counts every data record exported, so a
	 * collector sees a gap where a message was lost */
	x->sequence += x->nr_records;
	x->nr_records = 0;
	x->len = 0;
}

static void start_message(struct fl_ipfix *x, time_t now)
{
	unsigned int refresh = x->template_refresh ?: FL_IPFIX_TEMPLATE_REFRESH;

	if (x->len)
		return;
	x->len = MSG_HDR;
	if (!x->templates_sent || now - x->templates_sent >= (time_t)refresh) {
		x->len += encode_templates(x->buf + x->len);
		x->templates_sent = now;
		x->stats.templates++;
	}
}

void fl_ipfix_add(struct fl_ipfix *x, const struct fl_ipfix_flow *f, time_t now)
{
	size_t need = fl_ipfix_record_len(f), n;
	__u16 id;

	template_of(f->family, &n, &id);
	start_message(x, now);
	if (x->len + need + (x->set_id == id && x->set_off ? 0 : SET_HDR) >
	    sizeof(x->buf)) {
		send_message(x, now);
		start_message(x, now);
	}
	if (!x->set_off || x->set_id != id) {
		close_set(x);
		x->set_off = x->len;
		x->set_id = id;
		put16(x->buf + x->len, id);
		x->len += SET_HDR;
	}
	x->len += encode_record(x->buf + x->len, f);
	x->nr_records++;
}

void fl_ipfix_flush(struct fl_ipfix *x, time_t now)
{
	/* an empty message opened here carries the templates if they are
	 * due, and is not sent if they are not */
	start_message(x, now);
	send_message(x, now);
}

int fl_ipfix_parse_collector(const char *collector, struct sockaddr_storage *ss,
			     socklen_t *sslen, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM,
				  .ai_flags = AI_NUMERICSERV };
	char host[256];
	const char *port, *h = collector;
	struct addrinfo *res;
	size_t hlen;
	char *end;
	long p;
	int ret;

	if (!collector || !*collector) {
		snprintf(err, errlen, "no collector given (HOST:PORT)");
		return -EINVAL;
	}
	if (*h == '[') {
		const char *close = strchr(h, ']');

		if (!close || close[1] != ':') {
			snprintf(
				err, errlen,
				"collector '%s': an IPv6 address is written [ADDRESS]:PORT",
				collector);
			return -EINVAL;
		}
		h++;
		hlen = close - h;
		port = close + 2;
	} else {
		port = strrchr(h, ':');
		if (!port || strchr(h, ':') != port) {
			snprintf(
				err, errlen,
				"collector '%s' is not HOST:PORT (IPv6: [ADDRESS]:PORT)",
				collector);
			return -EINVAL;
		}
		hlen = port - h;
		port++;
	}
	errno = 0;
	p = strtol(port, &end, 10);
	if (!*port || *end || errno || p < 1 || p > 65535) {
		snprintf(
			err, errlen,
			"collector '%s': port '%s' is not a number from 1 to 65535",
			collector, port);
		return -EINVAL;
	}
	if (!hlen || hlen >= sizeof(host)) {
		snprintf(err, errlen, "collector '%s' has no host", collector);
		return -EINVAL;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	ret = getaddrinfo(host, port, &hints, &res);
	if (ret) {
		snprintf(err, errlen, "collector '%s': %s", collector,
			 gai_strerror(ret));
		return -EINVAL;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int fl_ipfix_open(struct fl_ipfix *x, const struct sockaddr_storage *ss,
		  socklen_t sslen, __u32 domain)
{
	int fd;

	memset(x, 0, sizeof(*x));
	x->fd = -1;
	if (sslen > sizeof(x->ss))
		return -EINVAL;
	fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Not connected: a connected socket would fail the send after an
	 * ICMP port unreachable, losing records while a collector restarts. */
	/* A datagram the local queue drops (ENOBUFS) is reported to the
	 * send rather than only counted by the kernel: lost, as counted. */
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &(int){ 1 },
			   sizeof(int));
	else
		setsockopt(fd, IPPROTO_IP, IP_RECVERR, &(int){ 1 },
			   sizeof(int));
	memcpy(&x->ss, ss, sslen);
	x->sslen = sslen;
	x->fd = fd;
	x->domain = domain;
	return 0;
}

void fl_ipfix_close(struct fl_ipfix *x)
{
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
}
