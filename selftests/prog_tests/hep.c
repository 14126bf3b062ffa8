// SPDX-License-Identifier: Apache-2.0
/*
 * HEP3 (user/lib/hep.c): a message encoded, then read back chunk by chunk
 * by a decoder written here from the specification (not the encoder's
 * code), for IPv4 and IPv6, with and without an authentication key and a
 * correlation id; every buffer too small refused; and the two looks at
 * SIP the mirror makes (does a payload start a SIP message, its Call-ID).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "hep.h"
#include "test_progs.h"

#define CHUNK_TYPES 32

/* What a datagram holds: each generic chunk's value, by type. */
struct decoded {
	bool has[CHUNK_TYPES];
	const __u8 *value[CHUNK_TYPES];
	size_t len[CHUNK_TYPES];
	int order[CHUNK_TYPES]; /* types in the order they came */
	int nr;
};

static unsigned int be16(const __u8 *p)
{
	return p[0] << 8 | p[1];
}

static unsigned int be32(const __u8 *p)
{
	return (unsigned int)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

/* 0, or what is wrong (logged) as -1. */
static int decode(const __u8 *p, size_t n, struct decoded *d)
{
	size_t pos = 6, clen;
	unsigned int type;

	memset(d, 0, sizeof(*d));
	if (n < 6 || memcmp(p, "HEP3", 4)) {
		test__log("no HEP3 header");
		return -1;
	}
	if (be16(p + 4) != n) {
		test__log("total length %u, datagram %zu", be16(p + 4), n);
		return -1;
	}
	while (pos < n) {
		if (n - pos < 6) {
			test__log("a chunk header cut at %zu", pos);
			return -1;
		}
		type = be16(p + pos + 2);
		clen = be16(p + pos + 4);
		if (be16(p + pos) != 0 || type >= CHUNK_TYPES || clen < 6 ||
		    clen > n - pos || d->has[type]) {
			test__log("bad chunk at %zu: vendor %u type %u len %zu",
				  pos, be16(p + pos), type, clen);
			return -1;
		}
		d->has[type] = true;
		d->value[type] = p + pos + 6;
		d->len[type] = clen - 6;
		d->order[d->nr++] = type;
		pos += clen;
	}
	return 0;
}

static bool chunk_is(const struct decoded *d, int type, const void *value,
		     size_t len, const char *name)
{
	if (!ASSERT_TRUE(d->has[type], name) ||
	    !ASSERT_EQ(d->len[type], len, name))
		return false;
	return ASSERT_OK(memcmp(d->value[type], value, len), name);
}

static bool chunk_u32_is(const struct decoded *d, int type, __u32 v,
			 const char *name)
{
	return ASSERT_TRUE(d->has[type], name) &&
	       ASSERT_EQ(d->len[type], 4, name) &&
	       ASSERT_EQ(be32(d->value[type]), v, name);
}

static bool chunk_u16_is(const struct decoded *d, int type, __u16 v,
			 const char *name)
{
	return ASSERT_TRUE(d->has[type], name) &&
	       ASSERT_EQ(d->len[type], 2, name) &&
	       ASSERT_EQ(be16(d->value[type]), v, name);
}

static bool chunk_u8_is(const struct decoded *d, int type, __u8 v,
			const char *name)
{
	return ASSERT_TRUE(d->has[type], name) &&
	       ASSERT_EQ(d->len[type], 1, name) &&
	       ASSERT_EQ(d->value[type][0], v, name);
}

static const char invite[] =
	"INVITE sip:bob@198.51.100.2 SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bK-1\r\n"
	"From: <sip:alice@192.0.2.2>;tag=1\r\n"
	"To: <sip:bob@198.51.100.2>\r\n"
	"Call-ID: 1-4242@192.0.2.2\r\n"
	"CSeq: 1 INVITE\r\n"
	"Content-Length: 0\r\n\r\n";

struct encode_case {
	const char *name;
	int family;
	const char *src, *dst;
	__u8 ip_proto;
	const char *key; /* NULL: none */
	const char *correlation; /* NULL: none */
};

static void check_case(const struct encode_case *c)
{
	struct fl_hep_message m = {
		.family = c->family,
		.ip_proto = c->ip_proto,
		.proto_type = FL_HEP_PROTO_SIP,
		.sport = 5060,
		.dport = 50600,
		.ts_sec = 1700000000,
		.ts_usec = 999999,
		.capture_id = 0xfedcba98,
		.auth_key = c->key,
		.auth_key_len = c->key ? strlen(c->key) : 0,
		.payload = invite,
		.payload_len = strlen(invite),
		.correlation_id = c->correlation,
		.correlation_id_len = c->correlation ? strlen(c->correlation) :
						       0,
	};
	bool v4 = c->family == AF_INET;
	size_t alen = v4 ? 4 : 16, want, size;
	struct decoded d;
	__u8 buf[2048];
	int n, i;

	test__case("%s", c->name);
	inet_pton(c->family, c->src, m.src.b);
	inet_pton(c->family, c->dst, m.dst.b);
	/* the header, 11 chunk headers, the fixed values, the rest */
	want = 6 + 6 * 11 + 1 + 1 + 2 * alen + 2 + 2 + 4 + 4 + 1 + 4 +
	       m.payload_len;
	if (c->key)
		want += 6 + strlen(c->key);
	if (c->correlation)
		want += 6 + strlen(c->correlation);

	n = fl_hep_encode(&m, buf, sizeof(buf));
	if (!ASSERT_EQ(n, want, "datagram length") ||
	    !ASSERT_OK(decode(buf, n, &d), "decode"))
		return;
	chunk_u8_is(&d, FL_HEP_IP_FAMILY, v4 ? 2 : 10, "ip family");
	chunk_u8_is(&d, FL_HEP_IP_PROTO, c->ip_proto, "ip protocol");
	chunk_is(&d, v4 ? FL_HEP_IP4_SRC : FL_HEP_IP6_SRC, m.src.b, alen,
		 "source address");
	chunk_is(&d, v4 ? FL_HEP_IP4_DST : FL_HEP_IP6_DST, m.dst.b, alen,
		 "destination address");
	ASSERT_FALSE(d.has[v4 ? FL_HEP_IP6_SRC : FL_HEP_IP4_SRC] ||
			     d.has[v4 ? FL_HEP_IP6_DST : FL_HEP_IP4_DST],
		     "no address of the other family");
	chunk_u16_is(&d, FL_HEP_SRC_PORT, 5060, "source port");
	chunk_u16_is(&d, FL_HEP_DST_PORT, 50600, "destination port");
	chunk_u32_is(&d, FL_HEP_TS_SEC, 1700000000, "seconds");
	chunk_u32_is(&d, FL_HEP_TS_USEC, 999999, "microseconds");
	chunk_u8_is(&d, FL_HEP_PROTO_TYPE, 1, "protocol type SIP");
	chunk_u32_is(&d, FL_HEP_CAPTURE_ID, 0xfedcba98, "capture agent id");
	chunk_is(&d, FL_HEP_PAYLOAD, invite, strlen(invite), "payload");
	if (c->key)
		chunk_is(&d, FL_HEP_AUTH_KEY, c->key, strlen(c->key),
			 "auth key");
	else
		ASSERT_FALSE(d.has[FL_HEP_AUTH_KEY], "no auth key chunk");
	if (c->correlation)
		chunk_is(&d, FL_HEP_CORRELATION_ID, c->correlation,
			 strlen(c->correlation), "correlation id");
	else
		ASSERT_FALSE(d.has[FL_HEP_CORRELATION_ID],
			     "no correlation id chunk");
	ASSERT_EQ(d.nr, 11 + !!c->key + !!c->correlation, "chunks");
	/* what receivers that read a fixed prefix expect first */
	ASSERT_EQ(d.order[0], FL_HEP_IP_FAMILY, "first chunk");
	ASSERT_EQ(d.order[1], FL_HEP_IP_PROTO, "second chunk");

	/* every buffer one byte short or more: refused, never overrun */
	for (size = 0; size < (size_t)n; size++) {
		__u8 *small = malloc(size ?: 1);

		if (!small)
			return;
		i = fl_hep_encode(&m, small, size);
		free(small);
		if (!ASSERT_EQ(i, -ENOSPC, "a buffer too small")) {
			test__log("with %zu bytes of %d", size, n);
			return;
		}
	}
	ASSERT_EQ(fl_hep_encode(&m, buf, n), n, "a buffer just big enough");
}

void test_hep_encode(void)
{
	static const struct encode_case cases[] = {
		{ "ipv4 udp, key and correlation id", AF_INET, "192.0.2.2",
		  "198.51.100.2", IPPROTO_UDP, "s3cret", "1-4242@192.0.2.2" },
		{ "ipv4 udp, no key", AF_INET, "192.0.2.2", "198.51.100.2",
		  IPPROTO_UDP, NULL, "1-4242@192.0.2.2" },
		{ "ipv6 tcp, key", AF_INET6, "2001:db8:1::2", "2001:db8:2::2",
		  IPPROTO_TCP, "k", "1-4242@192.0.2.2" },
		{ "ipv6 udp, no key, no correlation id", AF_INET6,
		  "2001:db8:1::2", "2001:db8:2::2", IPPROTO_UDP, NULL, NULL },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		check_case(&cases[i]);
}

void test_hep_encode_limits(void)
{
	struct fl_hep_message m = { .family = AF_INET,
				    .payload = "x",
				    .payload_len = 1 };
	size_t big = FL_HEP_MAX + 100;
	__u8 *buf = calloc(1, big), *payload = calloc(1, big);

	if (!ASSERT_OK_PTR(buf, "buffer") || !ASSERT_OK_PTR(payload, "payload"))
		goto out;
	m.family = AF_UNIX;
	ASSERT_EQ(fl_hep_encode(&m, buf, big), -EINVAL, "family AF_UNIX");
	m.family = AF_INET;
	/* a datagram's length is 16 bits: the largest payload that fits,
	 * and one byte more */
	m.payload = payload;
	m.payload_len = 0;
	m.payload_len = FL_HEP_MAX - fl_hep_encode(&m, buf, big);
	ASSERT_EQ(fl_hep_encode(&m, buf, big), FL_HEP_MAX, "65535 bytes");
	m.payload_len++;
	ASSERT_EQ(fl_hep_encode(&m, buf, big), -ENOSPC, "65536 bytes");
	/* a key of length 0 is no key */
	m.payload_len = 1;
	m.auth_key = "";
	m.auth_key_len = 0;
	ASSERT_EQ(fl_hep_encode(&m, buf, big), 6 + 6 * 11 + 27 + 1,
		  "an empty key adds nothing");
out:
	free(buf);
	free(payload);
}

void test_hep_sip_start(void)
{
	static const struct {
		const char *text;
		bool sip;
	} cases[] = {
		{ "INVITE sip:bob@198.51.100.2 SIP/2.0\r\nVia: x\r\n", true },
		{ "ACK sip:bob@198.51.100.2;transport=udp SIP/2.0\r\n", true },
		{ "OPTIONS sip:[2001:db8:2::2]:5060 SIP/2.0\n", true },
		{ "FOO.BAR-1 sip:x SIP/2.0\r\n", true }, /* a token method */
		{ "SIP/2.0 200 OK\r\n", true },
		{ "SIP/2.0 180 Ringing\r\nVia: x\r\n", true },
		{ "SIP/2.0 200\r\n", true }, /* an empty reason phrase */
		{ "\r\n\r\n", false }, /* a keep-alive */
		{ "", false },
		{ "INVITE sip:x SIP/2.0", false }, /* no line end */
		{ "INVITE  sip:x SIP/2.0\r\n", false },
		{ "INVITE sip:x SIP/2.0 \r\n", false },
		{ "INVITE sip:x\r\n", false },
		{ " sip:x SIP/2.0\r\n", false },
		{ "GET / HTTP/1.1\r\nHost: x\r\n", false },
		{ "HTTP/1.1 200 OK\r\n", false },
		{ "SIP/2.0 2x0 OK\r\n", false },
		{ "SIP/2.0 2000 OK\r\n", false },
		{ "INV\x01TE sip:x SIP/2.0\r\n", false },
	};
	char *long_line;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		test__case("%zu: %.20s", i, cases[i].text);
		ASSERT_EQ(fl_sip_starts_message(cases[i].text,
						strlen(cases[i].text)),
			  cases[i].sip, "starts a SIP message");
	}
	/* only the given length is read */
	test__case("cut before the line end");
	ASSERT_FALSE(fl_sip_starts_message("SIP/2.0 200 OK\r\n", 14),
		     "starts a SIP message");
	/* a start line longer than FL_SIP_LINE_MAX is not looked for */
	test__case("a start line of %d bytes", FL_SIP_LINE_MAX + 16);
	long_line = malloc(FL_SIP_LINE_MAX + 64);
	if (!ASSERT_OK_PTR(long_line, "malloc"))
		return;
	memset(long_line, 'a', FL_SIP_LINE_MAX + 64);
	memcpy(long_line, "INVITE sip:", 11);
	memcpy(long_line + FL_SIP_LINE_MAX, " SIP/2.0\r\n", 10);
	ASSERT_FALSE(fl_sip_starts_message(long_line, FL_SIP_LINE_MAX + 10),
		     "starts a SIP message");
	free(long_line);
}

void test_hep_call_id(void)
{
	static const struct {
		const char *text;
		const char *id; /* NULL: none */
	} cases[] = {
		{ "INVITE sip:x SIP/2.0\r\nCall-ID: abc@host\r\n\r\n",
		  "abc@host" },
		{ "SIP/2.0 200 OK\r\nVia: x\r\ncall-id:abc\r\n\r\n", "abc" },
		{ "BYE sip:x SIP/2.0\r\ni: compact-1\r\n\r\n", "compact-1" },
		{ "BYE sip:x SIP/2.0\r\nI:\tCOMPACT \r\n\r\n", "COMPACT" },
		{ "ACK sip:x SIP/2.0\nCALL-ID  :  spaced  \nCSeq: 1 ACK\n\n",
		  "spaced" },
		{ "ACK sip:x SIP/2.0\r\nCSeq: 1 ACK\r\nCall-ID: last", "last" },
		/* not Call-ID */
		{ "INVITE sip:x SIP/2.0\r\nCall-Info: <x>\r\n\r\n", NULL },
		{ "INVITE sip:x SIP/2.0\r\nIn-Reply-To: y\r\n\r\n", NULL },
		{ "INVITE sip:x SIP/2.0\r\nX-Call-ID: z\r\n\r\n", NULL },
		{ "INVITE sip:x SIP/2.0\r\n Call-ID: folded\r\n\r\n", NULL },
		/* the body is not a header */
		{ "INVITE sip:x SIP/2.0\r\nCSeq: 1\r\n\r\nCall-ID: body\r\n",
		  NULL },
		{ "INVITE sip:x SIP/2.0\r\nCall-ID:   \r\n\r\n", NULL },
		{ "Call-ID: the-start-line\r\n\r\n", NULL },
		{ "INVITE sip:x SIP/2.0", NULL },
		{ "", NULL },
	};
	const char *id;
	size_t i, len;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		test__case("%zu: %.40s", i, cases[i].text);
		len = 0;
		id = fl_sip_call_id(cases[i].text, strlen(cases[i].text), &len);
		if (!cases[i].id) {
			ASSERT_NULL(id, "no Call-ID");
			continue;
		}
		if (ASSERT_OK_PTR(id, "Call-ID") &&
		    ASSERT_EQ(len, strlen(cases[i].id), "its length"))
			ASSERT_OK(memcmp(id, cases[i].id, len), "its value");
	}
	/* only the given length is read: the header cut in its name */
	test__case("cut in the header's name");
	ASSERT_NULL(fl_sip_call_id("ACK sip:x SIP/2.0\r\nCall-ID: x", 24, &len),
		    "no Call-ID");
}
