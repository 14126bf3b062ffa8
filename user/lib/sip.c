// SPDX-License-Identifier: Apache-2.0
/*
 * SIP and SDP, strictly (sip.h). The parser walks the head line by line
 * and stops at the first fault; every read is checked against the length
 * it was given, the bytes are never written, and nothing is allocated.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include "sip.h"

static const char *const method_names[FL_SIP_METHOD_COUNT] = {
#define FL_X_SIP(id, name, wire) [FL_SIP_##id] = wire,
	FL_SIP_METHODS(FL_X_SIP)
#undef FL_X_SIP
};

static const char *const error_names[FL_SIP_ERR_COUNT] = {
#define FL_X_SIP_ERR(id, name) [FL_SIP_ERR_##id] = name,
	FL_SIP_ERRORS(FL_X_SIP_ERR)
#undef FL_X_SIP_ERR
};

const char *fl_sip_method_name(unsigned int method)
{
	return method < FL_SIP_METHOD_COUNT ? method_names[method] : "other";
}

const char *fl_sip_error_name(enum fl_sip_error err)
{
	return (unsigned int)err < FL_SIP_ERR_COUNT ? error_names[err] :
						      "unknown";
}

unsigned int fl_sip_msg_kind(const struct fl_sip_msg *msg)
{
	if (!msg->request)
		return FL_SIP_RESP_1XX + msg->status / 100 - 1;
	return msg->method < FL_SIP_METHOD_COUNT ? msg->method : FL_SIP_OTHER;
}

/* RFC 3261 token characters */
static const bool token_chars[256] = {
	['0' ... '9'] = true, ['A' ... 'Z'] = true, ['a' ... 'z'] = true,
	['-'] = true,	      ['.'] = true,	    ['!'] = true,
	['%'] = true,	      ['*'] = true,	    ['_'] = true,
	['+'] = true,	      ['`'] = true,	    ['\''] = true,
	['~'] = true,
};

static bool is_token(unsigned char c)
{
	return token_chars[c];
}

/* White space, folds included (a continuation line keeps its CRLF). */
static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* @n bytes at @p equal the literal @lit, case aside. */
static bool ieq(const char *p, __u32 n, const char *lit)
{
	return strlen(lit) == n && !strncasecmp(p, lit, n);
}

static void trim(const char **p, __u32 *n)
{
	while (*n && is_ws(**p))
		(*p)++, (*n)--;
	while (*n && is_ws((*p)[*n - 1]))
		(*n)--;
}

static int method_of(const char *p, __u32 n)
{
	int m;

	for (m = 0; m < FL_SIP_METHOD_COUNT; m++)
		if (strlen(method_names[m]) == n &&
		    !memcmp(p, method_names[m], n))
			return m;
	return FL_SIP_METHOD_EXT;
}

static int fail(struct fl_sip_msg *msg, enum fl_sip_error err)
{
	msg->error = err;
	return -EBADMSG;
}

#define BYTES(b) (0x0101010101010101ULL * (b))

/* Whether any of 8 bytes is a control byte (< 0x20, or 0x7f): a test of
 * whole words first, as most lines have none. */
static bool word_has_control(__u64 w)
{
	__u64 del = w ^ BYTES(0x7f);

	return ((w - BYTES(0x20)) & ~w & BYTES(0x80)) |
	       ((del - BYTES(0x01)) & ~del & BYTES(0x80));
}

/*
 * The line at p[off]: its length without CRLF (or LF) in *line_len and
 * where the next one starts in *next. 0; -EAGAIN if it has no end yet;
 * -EBADMSG for a control byte (tab aside, and CR but before LF) or a line
 * over FL_SIP_LINE_MAX.
 */
static int next_line(const char *p, __u32 len, __u32 off, __u32 *line_len,
		     __u32 *next, struct fl_sip_msg *msg)
{
	__u32 end = len - off > FL_SIP_LINE_MAX + 2 ?
			    off + FL_SIP_LINE_MAX + 2 :
			    len;
	const char *lf = memchr(p + off, '\n', end - off);
	__u32 stop = lf ? lf - p : end, i = off, n;
	__u64 w;

	while (i < stop) {
		unsigned char c;

		if (stop - i >= 8) {
			memcpy(&w, p + i, 8);
			if (!word_has_control(w)) {
				i += 8;
				continue;
			}
		}
		c = p[i++];
		if (c >= 0x20 && c != 0x7f)
			continue;
		if (c == '\t')
			continue;
		if (c == '\r' && (i == len || p[i] == '\n'))
			continue;
		return fail(msg, c ? FL_SIP_ERR_CONTROL : FL_SIP_ERR_NUL);
	}
	if (!lf)
		return end < len ? fail(msg, FL_SIP_ERR_LINE_TOO_LONG) :
				   -EAGAIN;
	n = stop - off;
	if (n && p[stop - 1] == '\r')
		n--;
	if (n > FL_SIP_LINE_MAX)
		return fail(msg, FL_SIP_ERR_LINE_TOO_LONG);
	*line_len = n;
	*next = stop + 1;
	return 0;
}

/* "SIP/2.0 NNN reason" or "METHOD URI SIP/2.0" */
static int start_line(const char *p, __u32 n, struct fl_sip_msg *msg)
{
	__u32 i, u, ulen;

	if (n >= 8 && !strncasecmp(p, "SIP/2.0 ", 8)) {
		if (n < 11 || !is_digit(p[8]) || !is_digit(p[9]) ||
		    !is_digit(p[10]) || (n > 11 && p[11] != ' '))
			return fail(msg, FL_SIP_ERR_START_LINE);
		msg->status =
			(p[8] - '0') * 100 + (p[9] - '0') * 10 + (p[10] - '0');
		if (msg->status < 100 || msg->status > 699)
			return fail(msg, FL_SIP_ERR_STATUS);
		if (n > 12) {
			msg->reason.p = p + 12;
			msg->reason.len = n - 12;
		}
		return 0;
	}
	for (i = 0; i < n && i < 32 && is_token(p[i]); i++)
		;
	if (!i || i >= n || p[i] != ' ')
		return fail(msg, FL_SIP_ERR_NOT_SIP);
	msg->request = true;
	msg->method_name.p = p;
	msg->method_name.len = i;
	msg->method = method_of(p, i);
	if (n < i + 1 + 1 + 8 || strncasecmp(p + n - 8, " SIP/2.0", 8))
		/* "GET / HTTP/1.1" is not SIP; "INVITE x SIP/3.0" is, badly */
		return fail(msg, msg->method == FL_SIP_METHOD_EXT ?
					 FL_SIP_ERR_NOT_SIP :
					 FL_SIP_ERR_START_LINE);
	u = i + 1;
	ulen = n - 8 - u;
	/* scheme ":" ..., one word */
	for (i = u; i < u + ulen; i++)
		if (p[i] == ' ' || p[i] == '\t')
			return fail(msg, FL_SIP_ERR_START_LINE);
	for (i = u; i < u + ulen && p[i] != ':'; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') ||
		      (p[i] >= 'A' && p[i] <= 'Z') ||
		      (i > u && (is_digit(p[i]) || p[i] == '+' || p[i] == '-' ||
				 p[i] == '.'))))
			return fail(msg, FL_SIP_ERR_START_LINE);
	if (i == u || i == u + ulen)
		return fail(msg, FL_SIP_ERR_START_LINE);
	msg->uri.p = p + u;
	msg->uri.len = ulen;
	return 0;
}

/*
 * name-addr ("Alice" <sip:a@x>;tag=1) or addr-spec (sip:a@x;tag=1): the
 * URI and the tag parameter. -1 if it is neither.
 */
static int parse_address(const char *v, __u32 n, struct fl_sip_str *uri,
			 struct fl_sip_str *tag)
{
	bool quoted = false;
	__u32 i, start, end, params;

	for (i = 0; i < n; i++) {
		if (quoted) {
			if (v[i] == '\\')
				i++;
			else if (v[i] == '"')
				quoted = false;
			continue;
		}
		if (v[i] == '"')
			quoted = true;
		else if (v[i] == '<')
			break;
	}
	if (quoted)
		return -1;
	if (i < n) {
		start = i + 1;
		for (end = start; end < n && v[end] != '>'; end++)
			;
		if (end == n)
			return -1;
		params = end + 1;
	} else { /* no display name: the URI ends at white space or ';' */
		start = 0;
		for (end = 0; end < n && v[end] != ';' && !is_ws(v[end]); end++)
			if (v[end] == '"')
				return -1;
		params = end;
	}
	if (end == start || !memchr(v + start, ':', end - start))
		return -1;
	uri->p = v + start;
	uri->len = end - start;
	/* ;name[=value] ... */
	i = params;
	for (;;) {
		__u32 ns, ne, vs;

		while (i < n && is_ws(v[i]))
			i++;
		if (i == n)
			return 0;
		if (v[i++] != ';')
			return -1;
		while (i < n && is_ws(v[i]))
			i++;
		for (ns = i; i < n && is_token(v[i]); i++)
			;
		ne = i;
		if (ns == ne)
			return -1;
		while (i < n && is_ws(v[i]))
			i++;
		if (i == n || v[i] != '=')
			continue;
		i++;
		while (i < n && is_ws(v[i]))
			i++;
		vs = i;
		if (i < n && v[i] == '"') {
			for (i++; i < n && v[i] != '"'; i++)
				if (v[i] == '\\')
					i++;
			if (i >= n)
				return -1;
			i++;
		} else {
			while (i < n && (is_token(v[i]) || v[i] == ':' ||
					 v[i] == '[' || v[i] == ']'))
				i++;
		}
		if (vs == i)
			return -1;
		if (ieq(v + ns, ne - ns, "tag")) {
			tag->p = v + vs;
			tag->len = i - vs;
		}
	}
}

/* "number METHOD" */
static int parse_cseq(const char *v, __u32 n, struct fl_sip_msg *msg)
{
	__u64 num = 0;
	__u32 i, m;

	for (i = 0; i < n && is_digit(v[i]); i++) {
		num = num * 10 + (v[i] - '0');
		if (num > 0x7fffffff)
			return -1;
	}
	if (!i || i == n || !is_ws(v[i]))
		return -1;
	while (i < n && is_ws(v[i]))
		i++;
	for (m = i; i < n && is_token(v[i]); i++)
		;
	if (m == i || i != n)
		return -1;
	msg->cseq = num;
	msg->cseq_method = method_of(v + m, i - m);
	if (msg->request && (msg->method_name.len != i - m ||
			     memcmp(msg->method_name.p, v + m, i - m)))
		return -1;
	return 0;
}

enum {
	SEEN_CALL_ID = 1 << 0,
	SEEN_FROM = 1 << 1,
	SEEN_TO = 1 << 2,
	SEEN_CSEQ = 1 << 3,
	SEEN_LENGTH = 1 << 4,
	SEEN_TYPE = 1 << 5,
	SEEN_VIA = 1 << 6, /* may repeat */
};

/* The headers we read, by name, full or compact, case aside; 0 for the
 * others (Contact, m; Max-Forwards, ...). */
static unsigned int header_kind(const char *name, __u32 n)
{
	if (n == 1) {
		switch (name[0] | 0x20) {
		case 'i':
			return SEEN_CALL_ID;
		case 'f':
			return SEEN_FROM;
		case 't':
			return SEEN_TO;
		case 'l':
			return SEEN_LENGTH;
		case 'c':
			return SEEN_TYPE;
		case 'v':
			return SEEN_VIA;
		}
		return 0;
	}
	switch (n) {
	case 2:
		return ieq(name, n, "to") ? SEEN_TO : 0;
	case 3:
		return ieq(name, n, "via") ? SEEN_VIA : 0;
	case 4:
		return ieq(name, n, "from") ? SEEN_FROM :
		       ieq(name, n, "cseq") ? SEEN_CSEQ :
					      0;
	case 7:
		return ieq(name, n, "call-id") ? SEEN_CALL_ID : 0;
	case 12:
		return ieq(name, n, "content-type") ? SEEN_TYPE : 0;
	case 14:
		return ieq(name, n, "content-length") ? SEEN_LENGTH : 0;
	}
	return 0;
}

/* One header field, its value trimmed; *seen collects the unique ones. */
static int header(struct fl_sip_msg *msg, const char *name, __u32 nlen,
		  const char *v, __u32 vlen, unsigned int *seen)
{
	unsigned int bit = header_kind(name, nlen);
	__u32 i;

	if (!bit)
		return 0;
	if (bit == SEEN_VIA) { /* may repeat */
		msg->vias++;
		return 0;
	}
	if (*seen & bit)
		return fail(msg, FL_SIP_ERR_DUPLICATE);
	*seen |= bit;
	switch (bit) {
	case SEEN_CALL_ID:
		if (!vlen || vlen > FL_SIP_CALL_ID_MAX)
			return fail(msg, FL_SIP_ERR_CALL_ID);
		for (i = 0; i < vlen; i++)
			if (is_ws(v[i]))
				return fail(msg, FL_SIP_ERR_CALL_ID);
		msg->call_id.p = v;
		msg->call_id.len = vlen;
		break;
	case SEEN_FROM:
		if (parse_address(v, vlen, &msg->from, &msg->from_tag))
			return fail(msg, FL_SIP_ERR_ADDRESS);
		break;
	case SEEN_TO:
		if (parse_address(v, vlen, &msg->to, &msg->to_tag))
			return fail(msg, FL_SIP_ERR_ADDRESS);
		break;
	case SEEN_CSEQ:
		if (parse_cseq(v, vlen, msg))
			return fail(msg, FL_SIP_ERR_CSEQ);
		break;
	case SEEN_LENGTH:
		if (!vlen || vlen > 10)
			return fail(msg, FL_SIP_ERR_CONTENT_LENGTH);
		for (i = 0; i < vlen; i++) {
			if (!is_digit(v[i]))
				return fail(msg, FL_SIP_ERR_CONTENT_LENGTH);
			msg->content_length =
				msg->content_length * 10 + (v[i] - '0');
			if (msg->content_length > FL_SIP_BODY_MAX)
				return fail(msg, FL_SIP_ERR_CONTENT_LENGTH);
		}
		msg->has_content_length = true;
		break;
	case SEEN_TYPE:
		for (i = 0; i < vlen && v[i] != ';'; i++)
			;
		msg->content_type.p = v;
		msg->content_type.len = i;
		trim(&msg->content_type.p, &msg->content_type.len);
		break;
	}
	return 0;
}

/* A header line "name: value", or the end of one folded over lines. */
struct pending {
	const char *name, *value;
	__u32 nlen, vlen;
	bool set;
};

static int header_line(const char *line, __u32 n, struct pending *h,
		       struct fl_sip_msg *msg)
{
	__u32 i;

	for (i = 0; i < n && is_token(line[i]); i++)
		;
	h->name = line;
	h->nlen = i;
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (!h->nlen || i == n || line[i] != ':')
		return fail(msg, FL_SIP_ERR_HEADER);
	h->value = line + i + 1;
	h->vlen = n - i - 1;
	h->set = true;
	return 0;
}

static int header_done(struct pending *h, struct fl_sip_msg *msg,
		       unsigned int *seen)
{
	if (!h->set)
		return 0;
	h->set = false;
	trim(&h->value, &h->vlen);
	return header(msg, h->name, h->nlen, h->value, h->vlen, seen);
}

int fl_sip_parse(const char *p, size_t size, unsigned int flags,
		 struct fl_sip_msg *msg)
{
	bool stream = flags & FL_SIP_STREAM;
	struct pending h = {};
	unsigned int seen = 0;
	__u32 len, off = 0, n = 0, next = 0;
	int ret;

	memset(msg, 0, sizeof(*msg));
	/* one message is at most FL_SIP_MSG_MAX; a datagram, 64 KiB */
	len = size > 2 * FL_SIP_MSG_MAX ? 2 * FL_SIP_MSG_MAX : size;
	ret = next_line(p, len, 0, &n, &next, msg);
	if (!ret)
		ret = start_line(p, n, msg);
	off = next;
	while (!ret) {
		ret = next_line(p, len, off, &n, &next, msg);
		if (ret)
			break;
		if (next > FL_SIP_HEAD_MAX)
			return fail(msg, FL_SIP_ERR_HEAD_TOO_LONG);
		if (!n) { /* the blank line */
			ret = header_done(&h, msg, &seen);
			off = next;
			break;
		}
		if (p[off] == ' ' || p[off] == '\t') { /* a continuation */
			if (!h.set)
				return fail(msg, FL_SIP_ERR_HEADER);
			h.vlen = off + n - (h.value - p);
		} else {
			ret = header_done(&h, msg, &seen);
			if (!ret && ++msg->headers > FL_SIP_HEADERS_MAX)
				ret = fail(msg, FL_SIP_ERR_TOO_MANY_HEADERS);
			if (!ret)
				ret = header_line(p + off, n, &h, msg);
		}
		off = next;
	}
	if (ret == -EAGAIN) { /* in the head still */
		if (len > FL_SIP_HEAD_MAX)
			return fail(msg, FL_SIP_ERR_HEAD_TOO_LONG);
		if (!stream || size > len)
			return fail(msg, FL_SIP_ERR_TRUNCATED);
		return -EAGAIN;
	}
	if (ret)
		return ret;
	msg->head_len = off;
	if (!msg->vias)
		return fail(msg, FL_SIP_ERR_NO_VIA);
	if (!(seen & SEEN_FROM))
		return fail(msg, FL_SIP_ERR_NO_FROM);
	if (!(seen & SEEN_TO))
		return fail(msg, FL_SIP_ERR_NO_TO);
	if (!(seen & SEEN_CALL_ID))
		return fail(msg, FL_SIP_ERR_NO_CALL_ID);
	if (!(seen & SEEN_CSEQ))
		return fail(msg, FL_SIP_ERR_NO_CSEQ);
	if (msg->has_content_length)
		n = msg->content_length;
	else if (stream)
		return fail(msg, FL_SIP_ERR_NO_CONTENT_LENGTH);
	else
		n = len - off;
	if (off + n > len) {
		if (!stream)
			return fail(msg, FL_SIP_ERR_TRUNCATED);
		msg->need = off + n;
		return -EAGAIN;
	}
	msg->body = p + off;
	msg->body_len = n;
	msg->len = off + n;
	return msg->len;
}

enum fl_sip_looks fl_sip_looks_like(const char *p, size_t len)
{
	static const char version[] = "SIP/2.0 ";
	size_t i, n, eol;
	int m;

	if (!len)
		return FL_SIP_LOOKS_NO;
	n = len < 8 ? len : 8;
	if (!strncasecmp(p, version, n) && !memchr(p, 0, n))
		return len >= 8 ? FL_SIP_LOOKS_YES : FL_SIP_LOOKS_MAYBE;
	for (m = 0; m < FL_SIP_METHOD_COUNT; m++) {
		n = strlen(method_names[m]);
		if (len > n && !memcmp(p, method_names[m], n) && p[n] == ' ')
			return FL_SIP_LOOKS_YES;
		if (len <= n && !memcmp(p, method_names[m], len))
			return FL_SIP_LOOKS_MAYBE;
	}
	/* an extension method: "TOKEN ... SIP/2.0" on the first line */
	for (i = 0; i < len && i < 32 && is_token(p[i]); i++)
		;
	if (!i || i == len || p[i] != ' ')
		return i == len && len < 32 ? FL_SIP_LOOKS_MAYBE :
					      FL_SIP_LOOKS_NO;
	n = len < 512 ? len : 512;
	for (eol = i; eol < n && p[eol] != '\n'; eol++)
		;
	if (eol == n)
		return n < 512 ? FL_SIP_LOOKS_MAYBE : FL_SIP_LOOKS_NO;
	if (eol && p[eol - 1] == '\r')
		eol--;
	if (eol >= i + 10 && !strncasecmp(p + eol - 8, " SIP/2.0", 8))
		return FL_SIP_LOOKS_YES;
	return FL_SIP_LOOKS_NO;
}

bool fl_sip_is_keepalive(const char *p, size_t len)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t i;

	/* STUN (RFC 5389): type's top bits 0, the magic cookie, a length
	 * that is the rest of the datagram */
	if (len >= 20 && !(u[0] & 0xc0) && u[4] == 0x21 && u[5] == 0x12 &&
	    u[6] == 0xa4 && u[7] == 0x42 &&
	    20 + ((size_t)u[2] << 8 | u[3]) == len)
		return true;
	if (!len || len > 64)
		return false;
	for (i = 0; i < len; i++)
		if (!is_ws(p[i]))
			return false;
	return true;
}

int fl_sip_parse_datagram(const char *p, size_t len, fl_sip_msg_cb cb,
			  void *arg)
{
	struct fl_sip_msg msg;
	size_t off = 0;
	int ret, n = 0;

	for (;;) {
		while (off < len && (p[off] == '\r' || p[off] == '\n'))
			off++;
		if (off == len)
			break;
		if (n &&
		    fl_sip_looks_like(p + off, len - off) != FL_SIP_LOOKS_YES)
			break;
		ret = fl_sip_parse(p + off, len - off, 0, &msg);
		cb(&msg, arg);
		if (ret < 0)
			break;
		n++;
		off += ret;
	}
	return n;
}

/* ---- the TCP framer ---------------------------------------------------- */

void fl_sip_stream_init(struct fl_sip_stream *s, __u32 capacity)
{
	memset(s, 0, sizeof(*s));
	s->capacity = capacity && capacity < FL_SIP_MSG_MAX ? capacity :
							      FL_SIP_MSG_MAX;
}

void fl_sip_stream_release(struct fl_sip_stream *s)
{
	__u32 capacity = s->capacity;
	struct fl_sip_stream_stats stats = s->stats;

	free(s->buf);
	fl_sip_stream_init(s, capacity);
	s->stats = stats;
}

/* Out of step: the message being framed is given up, and segments are
 * skipped until one starts like SIP. */
static void stream_lost(struct fl_sip_stream *s)
{
	s->need = 0;
	s->scanned = 0;
	s->first_line_checked = false;
	s->lost = true;
}

static void stream_fail(struct fl_sip_stream *s, enum fl_sip_error err,
			fl_sip_msg_cb cb, void *arg)
{
	struct fl_sip_msg msg = { .error = err };

	if (err == FL_SIP_ERR_NOT_SIP)
		s->stats.not_sip++;
	else
		s->stats.malformed++;
	cb(&msg, arg);
	stream_lost(s);
}

/* Where the head that starts at p ends (after its blank line), looking
 * from @from on; 0 if it does not end in p[0..len). */
static __u32 head_end(const char *p, __u32 len, __u32 from)
{
	__u32 i;

	for (i = from > 2 ? from - 2 : 0; i < len; i++) {
		if (p[i] != '\n')
			continue;
		if (i + 1 < len && p[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && p[i + 1] == '\r' && p[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/*
 * The messages in p[0..len): each complete one parsed and passed to @cb.
 * Returns where an incomplete one starts (len if none); after a fault the
 * stream is lost, and the bytes from there on are the caller's to skip.
 * A message is parsed when its head has ended, and once before that, when
 * its first line is complete, to refuse a bad start without waiting.
 */
static __u32 stream_walk(struct fl_sip_stream *s, const char *p, __u32 len,
			 fl_sip_msg_cb cb, void *arg, int *done)
{
	struct fl_sip_msg msg;
	__u32 off = 0, avail, seen;
	int ret;

	while (off < len) {
		avail = len - off;
		if (s->need) {
			if (avail < s->need)
				return off;
		} else if (!s->scanned) { /* at a message boundary */
			if (p[off] == '\r' || p[off] == '\n') {
				while (off < len &&
				       (p[off] == '\r' || p[off] == '\n'))
					off++;
				s->stats.keepalives++;
				continue;
			}
			switch (fl_sip_looks_like(p + off, avail)) {
			case FL_SIP_LOOKS_NO:
				stream_fail(s, FL_SIP_ERR_NOT_SIP, cb, arg);
				return off;
			case FL_SIP_LOOKS_MAYBE:
				return off;
			case FL_SIP_LOOKS_YES:
				break;
			}
		}
		if (!s->need) {
			seen = s->scanned;
			if (!head_end(p + off, avail, seen) &&
			    avail <= FL_SIP_HEAD_MAX) {
				s->scanned = avail;
				if (s->first_line_checked ||
				    !memchr(p + off + seen, '\n', avail - seen))
					return off;
				s->first_line_checked = true;
			}
		}
		ret = fl_sip_parse(p + off, avail, FL_SIP_STREAM, &msg);
		if (ret == -EAGAIN) {
			if (msg.need > s->capacity) {
				stream_fail(s, FL_SIP_ERR_TOO_BIG, cb, arg);
				return off;
			}
			s->need = msg.need;
			return off;
		}
		if (ret < 0) {
			s->stats.malformed++;
			cb(&msg, arg);
			stream_lost(s);
			return off;
		}
		s->stats.messages++;
		(*done)++;
		cb(&msg, arg);
		off += ret;
		s->need = 0;
		s->scanned = 0;
		s->first_line_checked = false;
	}
	return off;
}

static bool only_crlf(const char *p, __u32 len)
{
	__u32 i;

	for (i = 0; i < len; i++)
		if (p[i] != '\r' && p[i] != '\n')
			return false;
	return true;
}

int fl_sip_stream_feed(struct fl_sip_stream *s, __u32 seq, bool syn,
		       const void *data, __u32 len, fl_sip_msg_cb cb, void *arg)
{
	const char *d = data;
	__u32 off, n, ahead;
	int done = 0;

	if (syn) {
		seq++;
		s->next_seq = seq;
		s->started = true;
	}
	if (!len)
		return 0;
	if (!s->started) {
		s->next_seq = seq;
		s->started = true;
	}
	ahead = seq - s->next_seq;
	if (ahead & 0x80000000) { /* a retransmission: only its new bytes */
		__u32 behind = -ahead;

		if (behind >= len)
			return 0;
		d += behind;
		len -= behind;
		seq = s->next_seq;
	} else if (ahead) { /* bytes we will never see */
		s->stats.gaps++;
		s->stats.skipped += s->len;
		s->len = 0;
		stream_lost(s);
	}
	s->next_seq = seq + len;

	if (s->lost) {
		if (fl_sip_looks_like(d, len) != FL_SIP_LOOKS_YES &&
		    !only_crlf(d, len)) {
			s->stats.skipped += len;
			return 0;
		}
		s->lost = false;
	}
	if (!s->len) { /* whole messages where they lie */
		off = stream_walk(s, d, len, cb, arg, &done);
		if (s->lost) {
			s->stats.skipped += len - off;
			return done;
		}
		d += off;
		len -= off;
		if (!len)
			return done;
		if (!s->buf) {
			s->buf = malloc(s->capacity);
			if (!s->buf) {
				s->stats.skipped += len;
				stream_lost(s);
				return -ENOMEM;
			}
		}
	}
	while (len) {
		n = s->capacity - s->len < len ? s->capacity - s->len : len;
		memcpy(s->buf + s->len, d, n);
		s->len += n;
		d += n;
		len -= n;
		off = stream_walk(s, s->buf, s->len, cb, arg, &done);
		if (!s->lost && off == 0 && s->len == s->capacity)
			/* full, and still no message: it cannot fit */
			stream_fail(s, FL_SIP_ERR_TOO_BIG, cb, arg);
		if (s->lost) {
			s->stats.skipped += s->len - off + len;
			s->len = 0;
			return done;
		}
		memmove(s->buf, s->buf + off, s->len - off);
		s->len -= off;
	}
	return done;
}

/* ---- SDP --------------------------------------------------------------- */

static const struct {
	__u8 pt;
	const char *name;
	__u32 rate;
} static_pts[] = {
	{ 0, "PCMU", 8000 },   { 3, "GSM", 8000 },    { 4, "G723", 8000 },
	{ 5, "DVI4", 8000 },   { 6, "DVI4", 16000 },  { 7, "LPC", 8000 },
	{ 8, "PCMA", 8000 },   { 9, "G722", 8000 },   { 10, "L16", 44100 },
	{ 11, "L16", 44100 },  { 12, "QCELP", 8000 }, { 13, "CN", 8000 },
	{ 14, "MPA", 90000 },  { 15, "G728", 8000 },  { 16, "DVI4", 11025 },
	{ 17, "DVI4", 22050 }, { 18, "G729", 8000 },  { 25, "CelB", 90000 },
	{ 26, "JPEG", 90000 }, { 28, "nv", 90000 },   { 31, "H261", 90000 },
	{ 32, "MPV", 90000 },  { 33, "MP2T", 90000 }, { 34, "H263", 90000 },
};

__u32 fl_rtp_static_pt(__u8 pt, const char **name)
{
	size_t i;

	for (i = 0; i < sizeof(static_pts) / sizeof(static_pts[0]); i++) {
		if (static_pts[i].pt == pt) {
			if (name)
				*name = static_pts[i].name;
			return static_pts[i].rate;
		}
	}
	return 0;
}

__u32 fl_sdp_clock_rate(const struct fl_sdp_media *m, __u8 pt)
{
	int i;

	for (i = 0; i < m->ncodecs; i++)
		if (m->codecs[i].pt == pt && m->codecs[i].clock_rate)
			return m->codecs[i].clock_rate;
	return fl_rtp_static_pt(pt, NULL);
}

const char *fl_sdp_kind_name(enum fl_sdp_kind kind)
{
	switch (kind) {
	case FL_SDP_AUDIO:
		return "audio";
	case FL_SDP_VIDEO:
		return "video";
	default:
		return "other";
	}
}

const char *fl_sdp_dir_name(enum fl_sdp_dir dir)
{
	static const char *const names[] = { "sendrecv", "sendonly", "recvonly",
					     "inactive" };

	return (unsigned int)dir < 4 ? names[dir] : "sendrecv";
}

/* A number of at most @max from s[*i]; -1 if there is none. */
static long number(const char *s, __u32 n, __u32 *i, long max)
{
	long v = 0;
	__u32 start = *i;

	while (*i < n && is_digit(s[*i])) {
		v = v * 10 + (s[*i] - '0');
		if (v > max)
			return -1;
		(*i)++;
	}
	return *i == start ? -1 : v;
}

/* The next space-separated word of s[0..n) from *i. */
static bool word(const char *s, __u32 n, __u32 *i, const char **w, __u32 *wlen)
{
	while (*i < n && s[*i] == ' ')
		(*i)++;
	*w = s + *i;
	while (*i < n && s[*i] != ' ')
		(*i)++;
	*wlen = s + *i - *w;
	return *wlen > 0;
}

static int sdp_fail(struct fl_sdp *sdp, const char *why)
{
	sdp->error = why;
	return -EBADMSG;
}

/* c=IN IP4 192.0.2.1[/ttl[/n]] */
static int sdp_connection(const char *v, __u32 n, union fl_addr *addr,
			  __u8 *family)
{
	const char *w;
	char text[INET6_ADDRSTRLEN];
	__u32 i = 0, wlen, alen;
	bool six;

	if (!word(v, n, &i, &w, &wlen) || !ieq(w, wlen, "IN"))
		return -1;
	if (!word(v, n, &i, &w, &wlen))
		return -1;
	if (ieq(w, wlen, "IP4"))
		six = false;
	else if (ieq(w, wlen, "IP6"))
		six = true;
	else
		return -1;
	if (!word(v, n, &i, &w, &wlen) || i != n)
		return -1;
	for (alen = 0; alen < wlen && w[alen] != '/'; alen++)
		;
	memset(addr, 0, sizeof(*addr));
	*family = 0;
	if (!alen || alen >= sizeof(text))
		return alen ? 0 : -1; /* a long name: no address */
	memcpy(text, w, alen);
	text[alen] = 0;
	if (inet_pton(six ? AF_INET6 : AF_INET, text, addr) == 1)
		*family = six ? 6 : 4;
	/* else a host name (RFC 4566 allows an FQDN): no address */
	return 0;
}

/* m=audio 49170[/2] RTP/AVP 0 8 97 */
static int sdp_media(const char *v, __u32 n, struct fl_sdp_media *m)
{
	struct fl_sdp_codec *codec;
	const char *w, *name;
	__u32 i = 0, wlen, j;
	long port, pt;

	if (!word(v, n, &i, &w, &wlen))
		return -1;
	m->kind = ieq(w, wlen, "audio") ? FL_SDP_AUDIO :
		  ieq(w, wlen, "video") ? FL_SDP_VIDEO :
					  FL_SDP_OTHER;
	if (!word(v, n, &i, &w, &wlen))
		return -1;
	j = 0;
	port = number(w, wlen, &j, 65535);
	if (port < 0)
		return -1;
	if (j < wlen && (w[j] != '/' || (j++, number(w, wlen, &j, 65535) < 1)))
		return -1;
	if (j != wlen)
		return -1;
	m->port = port;
	if (!word(v, n, &i, &w, &wlen))
		return -1;
	m->rtp = wlen >= 4 && memmem(w, wlen, "RTP/", 4);
	if (!word(v, n, &i, &w, &wlen))
		return -1; /* at least one format */
	do {
		if (!m->rtp)
			continue;
		j = 0;
		pt = number(w, wlen, &j, 127);
		if (pt < 0 || j != wlen)
			return -1;
		if (m->ncodecs == FL_SDP_PT_MAX) {
			m->truncated = true;
			continue;
		}
		codec = &m->codecs[m->ncodecs++];
		codec->pt = pt;
		codec->clock_rate = fl_rtp_static_pt(pt, &name);
		if (codec->clock_rate)
			snprintf(codec->name, FL_SDP_NAME_MAX, "%s", name);
	} while (word(v, n, &i, &w, &wlen));
	return 0;
}

/* a=rtpmap:97 iLBC/8000[/1], for a payload type of the m= line */
static int sdp_rtpmap(const char *v, __u32 n, struct fl_sdp_media *m)
{
	__u32 i = 0, ns, ne;
	long pt, rate;
	int c;

	pt = number(v, n, &i, 127);
	if (pt < 0 || i == n || v[i] != ' ')
		return -1;
	while (i < n && v[i] == ' ')
		i++;
	for (ns = i; i < n && v[i] != '/' && v[i] != ' '; i++)
		;
	ne = i;
	if (ns == ne || i == n || v[i++] != '/')
		return -1;
	rate = number(v, n, &i, 100000000);
	if (rate < 1 || (i < n && v[i] != '/'))
		return -1;
	for (c = 0; c < m->ncodecs; c++) {
		struct fl_sdp_codec *codec = &m->codecs[c];
		__u32 len = ne - ns;

		if (codec->pt != pt)
			continue;
		if (len >= FL_SDP_NAME_MAX)
			len = FL_SDP_NAME_MAX - 1;
		memcpy(codec->name, v + ns, len);
		codec->name[len] = 0;
		codec->clock_rate = rate;
		codec->mapped = true;
	}
	return 0;
}

static int sdp_direction(const char *v, __u32 n)
{
	if (ieq(v, n, "sendrecv"))
		return FL_SDP_SENDRECV;
	if (ieq(v, n, "sendonly"))
		return FL_SDP_SENDONLY;
	if (ieq(v, n, "recvonly"))
		return FL_SDP_RECVONLY;
	if (ieq(v, n, "inactive"))
		return FL_SDP_INACTIVE;
	return -1;
}

int fl_sdp_parse(const char *p, size_t size, struct fl_sdp *sdp)
{
	struct fl_sdp_media *m = NULL;
	union fl_addr session_addr = {};
	bool session_c = false, media_c[FL_SDP_MEDIA_MAX] = {};
	__u8 session_family = 0, session_dir = FL_SDP_SENDRECV;
	bool dir_set[FL_SDP_MEDIA_MAX] = {}, skipping = false;
	struct fl_sip_msg scratch;
	__u32 len, off = 0, n, next, lines = 0;
	int i, dir;

	/* not all of it: a body has a media or two, not FL_SDP_MEDIA_MAX */
	sdp->nmedia = 0;
	sdp->truncated = false;
	sdp->error = NULL;
	if (size > FL_SIP_BODY_MAX)
		return sdp_fail(sdp, "larger than a SIP body may be");
	len = size;
	while (off < len) {
		const char *line = p + off, *v;
		int ret = next_line(p, len, off, &n, &next, &scratch);

		if (ret == -EAGAIN) { /* the last line may lack its CRLF */
			n = len - off;
			next = len;
			if (n > FL_SIP_LINE_MAX)
				return sdp_fail(sdp, "a line too long");
			if (n && line[n - 1] == '\r')
				return sdp_fail(sdp, "a CR that ends no line");
		} else if (ret) {
			return sdp_fail(
				sdp, scratch.error == FL_SIP_ERR_LINE_TOO_LONG ?
					     "a line too long" :
					     "a control byte");
		}
		off = next;
		if (!n)
			continue;
		if (n < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z')
			return sdp_fail(sdp, "a line that is not x=value");
		v = line + 2;
		n -= 2;
		if (!lines++) {
			if (line[0] != 'v' || !ieq(v, n, "0"))
				return sdp_fail(sdp, "does not start with v=0");
			continue;
		}
		switch (line[0]) {
		case 'c':
			if (!m) {
				if (sdp_connection(v, n, &session_addr,
						   &session_family))
					return sdp_fail(sdp, "a bad c= line");
				session_c = true;
			} else if (!skipping) {
				if (sdp_connection(v, n, &m->addr, &m->family))
					return sdp_fail(sdp, "a bad c= line");
				media_c[m - sdp->media] = true;
			}
			break;
		case 'm':
			if (sdp->nmedia == FL_SDP_MEDIA_MAX) {
				sdp->truncated = true;
				skipping = true;
				break;
			}
			m = &sdp->media[sdp->nmedia++];
			memset(m, 0, sizeof(*m));
			if (sdp_media(v, n, m))
				return sdp_fail(sdp, "a bad m= line");
			break;
		case 'a':
			if (n > 7 && !strncasecmp(v, "rtpmap:", 7)) {
				if (m && !skipping &&
				    sdp_rtpmap(v + 7, n - 7, m))
					return sdp_fail(sdp, "a bad a=rtpmap");
				break;
			}
			dir = sdp_direction(v, n);
			if (dir < 0)
				break;
			if (!m) {
				session_dir = dir;
			} else if (!skipping) {
				m->dir = dir;
				dir_set[m - sdp->media] = true;
			}
			break;
		}
	}
	if (!lines)
		return sdp_fail(sdp, "empty");
	for (i = 0; i < sdp->nmedia; i++) {
		m = &sdp->media[i];
		if (!dir_set[i])
			m->dir = session_dir;
		if (media_c[i])
			continue;
		if (!session_c && m->port)
			return sdp_fail(sdp, "a media without c=");
		m->addr = session_addr;
		m->family = session_family;
	}
	return 0;
}
