// SPDX-License-Identifier: Apache-2.0
/* HEP3 messages (hep.h) and the two looks at SIP the mirror needs. */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "hep.h"

/* ---- the encoder ---- */

struct hep_writer {
	__u8 *buf;
	size_t size, len;
	bool full; /* something did not fit: the datagram is lost */
};

static void put(struct hep_writer *w, const void *p, size_t n)
{
	if (w->full || n > w->size - w->len) {
		w->full = true;
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void put_be16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put_be32(__u8 *p, __u32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static void chunk(struct hep_writer *w, enum fl_hep_chunk type,
		  const void *value, size_t n)
{
	__u8 head[FL_HEP_CHUNK_HEADER_LEN];

	/* a chunk's length is 16 bits too */
	if (n > FL_HEP_MAX - FL_HEP_CHUNK_HEADER_LEN) {
		w->full = true;
		return;
	}
	put_be16(head, FL_HEP_VENDOR_GENERIC);
	put_be16(head + 2, type);
	put_be16(head + 4, FL_HEP_CHUNK_HEADER_LEN + n);
	put(w, head, sizeof(head));
	put(w, value, n);
}

static void chunk_u8(struct hep_writer *w, enum fl_hep_chunk type, __u8 v)
{
	chunk(w, type, &v, 1);
}

static void chunk_u16(struct hep_writer *w, enum fl_hep_chunk type, __u16 v)
{
	__u8 b[2];

	put_be16(b, v);
	chunk(w, type, b, sizeof(b));
}

static void chunk_u32(struct hep_writer *w, enum fl_hep_chunk type, __u32 v)
{
	__u8 b[4];

	put_be32(b, v);
	chunk(w, type, b, sizeof(b));
}

int fl_hep_encode(const struct fl_hep_message *m, void *buf, size_t size)
{
	struct hep_writer w = { .buf = buf, .size = size };
	bool v4 = m->family == AF_INET;
	size_t alen = v4 ? 4 : 16;

	if (m->family != AF_INET && m->family != AF_INET6)
		return -EINVAL;
	put(&w, "HEP3\0\0", FL_HEP_HEADER_LEN); /* the length comes last */
	/* HEP's family numbers are Linux's AF_INET (2) and AF_INET6 (10) */
	chunk_u8(&w, FL_HEP_IP_FAMILY, m->family);
	chunk_u8(&w, FL_HEP_IP_PROTO, m->ip_proto);
	chunk(&w, v4 ? FL_HEP_IP4_SRC : FL_HEP_IP6_SRC, m->src.b, alen);
	chunk(&w, v4 ? FL_HEP_IP4_DST : FL_HEP_IP6_DST, m->dst.b, alen);
	chunk_u16(&w, FL_HEP_SRC_PORT, m->sport);
	chunk_u16(&w, FL_HEP_DST_PORT, m->dport);
	chunk_u32(&w, FL_HEP_TS_SEC, m->ts_sec);
	chunk_u32(&w, FL_HEP_TS_USEC, m->ts_usec);
	chunk_u8(&w, FL_HEP_PROTO_TYPE, m->proto_type);
	chunk_u32(&w, FL_HEP_CAPTURE_ID, m->capture_id);
	if (m->auth_key && m->auth_key_len)
		chunk(&w, FL_HEP_AUTH_KEY, m->auth_key, m->auth_key_len);
	chunk(&w, FL_HEP_PAYLOAD, m->payload, m->payload_len);
	if (m->correlation_id && m->correlation_id_len)
		chunk(&w, FL_HEP_CORRELATION_ID, m->correlation_id,
		      m->correlation_id_len);
	if (w.full || w.len > FL_HEP_MAX)
		return -ENOSPC;
	put_be16(w.buf + 4, w.len);
	return w.len;
}

/* ---- SIP ---- */

/* RFC 3261's token characters (a method is a token). */
static bool sip_token_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || (c && strchr("-.!%*_+`'~", c));
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool fl_sip_starts_message(const void *p, size_t len)
{
	const char *s = p, *nl;
	size_t line, i = 0, uri;

	nl = memchr(s, '\n', len < FL_SIP_LINE_MAX ? len : FL_SIP_LINE_MAX);
	if (!nl)
		return false;
	line = nl - s;
	if (line && s[line - 1] == '\r')
		line--;

	/* SIP/2.0 SP 3DIGIT SP Reason-Phrase (some leave out the last SP
	 * with an empty phrase) */
	if (line >= 11 && !memcmp(s, "SIP/2.0 ", 8))
		return is_digit(s[8]) && is_digit(s[9]) && is_digit(s[10]) &&
		       (line == 11 || s[11] == ' ');

	/* Method SP Request-URI SP SIP/2.0 */
	while (i < line && sip_token_char(s[i]))
		i++;
	if (!i || i >= line || s[i] != ' ')
		return false;
	uri = ++i;
	while (i < line && s[i] != ' ')
		i++;
	if (i == uri || i >= line)
		return false;
	return line - i - 1 == 7 && !memcmp(s + i + 1, "SIP/2.0", 7);
}

/* If [line, end) is the header @name (blanks allowed before the colon),
 * where its value starts; else NULL. */
static const char *header_value(const char *line, const char *end,
				const char *name)
{
	size_t n = strlen(name);
	const char *c = line + n;

	if ((size_t)(end - line) <= n || strncasecmp(line, name, n))
		return NULL;
	while (c < end && (*c == ' ' || *c == '\t'))
		c++;
	return c < end && *c == ':' ? c + 1 : NULL;
}

const char *fl_sip_call_id(const void *p, size_t len, size_t *id_len)
{
	const char *s = p, *end = s + len, *line, *nl, *le, *v;

	nl = memchr(s, '\n', len); /* past the start line */
	if (!nl)
		return NULL;
	for (line = nl + 1; line < end; line = nl + 1) {
		nl = memchr(line, '\n', end - line);
		le = nl ? nl : end;
		if (le > line && le[-1] == '\r')
			le--;
		if (le == line)
			return NULL; /* the empty line: the headers end */
		v = header_value(line, le, "call-id");
		if (!v)
			v = header_value(line, le, "i");
		if (v) {
			while (v < le && (*v == ' ' || *v == '\t'))
				v++;
			while (le > v && (le[-1] == ' ' || le[-1] == '\t'))
				le--;
			if (le == v)
				return NULL;
			*id_len = le - v;
			return v;
		}
		if (!nl)
			break;
	}
	return NULL;
}
