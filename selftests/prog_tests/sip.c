// SPDX-License-Identifier: Apache-2.0
/*
 * SIP, SDP and RTP analysis (user/lib/sip.c, voip_track.c), in userspace
 * alone: every method and response class, compact and folded headers,
 * several messages in one buffer, one split over TCP segments at every
 * byte, CRLF keep-alives, a table of malformed messages each with the
 * fault it must be refused for (and random damage that must never be read
 * past), SDP with rtpmap, the dialog states with their times and media,
 * and RTP loss and jitter on sequences whose answer is worked out by hand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "sip.h"
#include "voip_track.h"
#include "test_progs.h"

/* ---- building messages ------------------------------------------------- */

#define CALLER "\"Alice \\\"A<\\\"\" <sip:alice@example.com>;tag=a1"
#define CALLEE "<sip:bob@example.net>"

struct msg_spec {
	const char *start; /* request or status line */
	const char *call_id;
	const char *cseq;
	bool from_callee; /* a request the callee sends: From and To swap */
	bool to_tag; /* To has the callee's tag */
	const char *extra; /* more header lines, each with its CRLF */
	const char *body; /* application/sdp */
};

/* The message as a string the caller frees. */
static char *build(const struct msg_spec *m)
{
	const char *body = m->body ?: "";
	char *out = NULL;

	if (asprintf(&out,
		     "%s\r\n"
		     "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-%s\r\n"
		     "Max-Forwards: 70\r\n"
		     "From: %s%s\r\n"
		     "To: %s%s\r\n"
		     "Call-ID: %s\r\n"
		     "CSeq: %s\r\n"
		     "%s%s"
		     "Content-Length: %zu\r\n"
		     "\r\n"
		     "%s",
		     m->start, m->cseq, m->from_callee ? CALLEE : CALLER,
		     m->from_callee ? ";tag=b1" : "",
		     m->from_callee ? CALLER : CALLEE,
		     !m->from_callee && m->to_tag ? ";tag=b1" : "", m->call_id,
		     m->cseq, m->extra ?: "",
		     m->body ? "Content-Type: application/sdp\r\n" : "",
		     strlen(body), body) < 0)
		return NULL;
	return out;
}

static bool str_is(const struct fl_sip_str *s, const char *want)
{
	return s->len == strlen(want) &&
	       (!s->len || !memcmp(s->p, want, s->len));
}

#define ASSERT_SIPSTR(s, want, name)                                       \
	({                                                                 \
		bool ___ok = str_is(&(s), (want));                         \
		if (!___ok)                                                \
			test__fail(__FILE__, __LINE__,                     \
				   "%s: expected \"%s\", actual \"%.*s\"", \
				   (name), (want), (int)(s).len,           \
				   (s).p ? (s).p : "");                    \
		___ok;                                                     \
	})

/* Parses @text (all of it must be one message) from an exact-size heap
 * copy, so a read past its end is a read past an allocation. */
static int parse_exact(const char *text, size_t len, unsigned int flags,
		       struct fl_sip_msg *msg, char **copy)
{
	*copy = malloc(len ?: 1);
	if (!*copy)
		return -ENOMEM;
	memcpy(*copy, text, len);
	return fl_sip_parse(*copy, len, flags, msg);
}

/* ---- the parser -------------------------------------------------------- */

static const char *const wire_names[] = {
#define FL_X_SIP(id, name, wire) wire,
	FL_SIP_METHODS(FL_X_SIP)
#undef FL_X_SIP
};

void test_sip_methods(void)
{
	static const struct {
		int status;
		const char *reason, *cseq;
	} responses[] = {
		{ 100, "Trying", "1 INVITE" },
		{ 180, "Ringing", "1 INVITE" },
		{ 183, "Session Progress", "1 INVITE" },
		{ 200, "OK", "7 REGISTER" },
		{ 302, "Moved Temporarily", "1 INVITE" },
		{ 401, "Unauthorized", "3 REGISTER" },
		{ 486, "Busy Here", "1 INVITE" },
		{ 503, "Service Unavailable", "2 OPTIONS" },
		{ 603, "Decline", "1 INVITE" },
		{ 699, "", "1 MESSAGE" },
	};
	struct fl_sip_msg msg;
	char start[128], cseq[64], *text, *copy;
	size_t i;
	int ret;

	ASSERT_EQ(ARRAY_SIZE(wire_names), FL_SIP_METHOD_COUNT, "methods");
	for (i = 0; i < ARRAY_SIZE(wire_names); i++) {
		test__case("%s", wire_names[i]);
		snprintf(start, sizeof(start), "%s sip:bob@example.net SIP/2.0",
			 wire_names[i]);
		snprintf(cseq, sizeof(cseq), "%zu %s", i + 1, wire_names[i]);
		text = build(&(struct msg_spec){ .start = start,
						 .call_id = "m1@192.0.2.1",
						 .cseq = cseq });
		if (!ASSERT_OK_PTR(text, "build"))
			return;
		ret = parse_exact(text, strlen(text), 0, &msg, &copy);
		ASSERT_EQ(ret, strlen(text), "length");
		ASSERT_TRUE(msg.request, "request");
		ASSERT_EQ(msg.method, i, "method");
		ASSERT_EQ(msg.cseq_method, i, "CSeq method");
		ASSERT_EQ(msg.cseq, i + 1, "CSeq number");
		ASSERT_EQ(fl_sip_msg_kind(&msg), i, "kind");
		ASSERT_STREQ(fl_sip_method_name(msg.method), wire_names[i],
			     "name");
		ASSERT_SIPSTR(msg.uri, "sip:bob@example.net", "uri");
		ASSERT_SIPSTR(msg.call_id, "m1@192.0.2.1", "Call-ID");
		ASSERT_SIPSTR(msg.from, "sip:alice@example.com", "From");
		ASSERT_SIPSTR(msg.from_tag, "a1", "From tag");
		ASSERT_SIPSTR(msg.to, "sip:bob@example.net", "To");
		ASSERT_EQ(msg.to_tag.len, 0, "no To tag");
		ASSERT_EQ(msg.body_len, 0, "no body");
		ASSERT_EQ(fl_sip_looks_like(text, strlen(text)),
			  FL_SIP_LOOKS_YES, "looks like SIP");
		free(copy);
		free(text);
	}

	/* an extension method is a request all the same */
	test__case("extension");
	text = build(&(struct msg_spec){ .start = "X-FOO sip:b@x SIP/2.0",
					 .call_id = "m2",
					 .cseq = "1 X-FOO" });
	ret = parse_exact(text, strlen(text), 0, &msg, &copy);
	ASSERT_EQ(ret, strlen(text), "length");
	ASSERT_EQ(msg.method, FL_SIP_METHOD_EXT, "method");
	ASSERT_EQ(fl_sip_msg_kind(&msg), FL_SIP_OTHER, "kind");
	ASSERT_SIPSTR(msg.method_name, "X-FOO", "method name");
	ASSERT_EQ(fl_sip_looks_like(text, strlen(text)), FL_SIP_LOOKS_YES,
		  "looks like SIP");
	free(copy);
	free(text);

	for (i = 0; i < ARRAY_SIZE(responses); i++) {
		test__case("%d", responses[i].status);
		snprintf(start, sizeof(start), "SIP/2.0 %d %s",
			 responses[i].status, responses[i].reason);
		text = build(&(struct msg_spec){ .start = start,
						 .call_id = "r1",
						 .cseq = responses[i].cseq,
						 .to_tag = true });
		ret = parse_exact(text, strlen(text), 0, &msg, &copy);
		ASSERT_EQ(ret, strlen(text), "length");
		ASSERT_FALSE(msg.request, "response");
		ASSERT_EQ(msg.status, responses[i].status, "status");
		ASSERT_EQ(fl_sip_msg_kind(&msg),
			  FL_SIP_RESP_1XX + responses[i].status / 100 - 1,
			  "kind");
		ASSERT_SIPSTR(msg.reason, responses[i].reason, "reason");
		ASSERT_SIPSTR(msg.to_tag, "b1", "To tag");
		ASSERT_STREQ(fl_sip_method_name(msg.cseq_method),
			     strchr(responses[i].cseq, ' ') + 1, "CSeq method");
		free(copy);
		free(text);
	}
}

/* Compact forms, odd case, folding, LF line ends, addr-spec addresses. */
void test_sip_headers(void)
{
	static const char compact[] =
		"INVITE sip:bob@example.net;transport=udp SIP/2.0\r\n"
		"v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
		"V: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK2\r\n"
		"f: sip:alice@example.com ; tag = x9\r\n"
		"t: Bob <sip:bob@example.net>\r\n"
		"i: c0mpact@host\r\n"
		"CSEQ: 314159 INVITE\r\n"
		"m: <sip:alice@192.0.2.1>\r\n"
		"c: Application/SDP; charset=utf-8\r\n"
		"L: 4\r\n"
		"\r\n"
		"v=0\n";
	static const char folded[] = "OPTIONS sip:x@example.net SIP/2.0\n"
				     "Via: SIP/2.0/UDP 192.0.2.1\n"
				     "cAlL-iD: fold@host\n"
				     "Subject: one,\n"
				     "  two\n"
				     "From: <sip:a@example.com>\n"
				     "\t;tag=f1\n"
				     "TO: sip:x@example.net\n"
				     "cseq:   2\n"
				     "\tOPTIONS\n"
				     "content-length:0\n"
				     "\n";
	struct fl_sip_msg msg;
	char *copy;
	int ret;

	test__case("compact");
	ret = parse_exact(compact, strlen(compact), 0, &msg, &copy);
	ASSERT_EQ(ret, strlen(compact), "length");
	ASSERT_EQ(msg.vias, 2, "Via x2");
	ASSERT_SIPSTR(msg.call_id, "c0mpact@host", "i:");
	ASSERT_SIPSTR(msg.from, "sip:alice@example.com", "f:");
	ASSERT_SIPSTR(msg.from_tag, "x9", "f: tag");
	ASSERT_SIPSTR(msg.to, "sip:bob@example.net", "t:");
	ASSERT_EQ(msg.cseq, 314159, "CSEQ");
	ASSERT_SIPSTR(msg.content_type, "Application/SDP", "c:");
	ASSERT_EQ(msg.content_length, 4, "L:");
	ASSERT_EQ(msg.body_len, 4, "body");
	ASSERT_TRUE(msg.body && !memcmp(msg.body, "v=0\n", 4), "body bytes");
	ASSERT_EQ(msg.headers, 9, "headers");
	free(copy);

	test__case("folded, LF");
	ret = parse_exact(folded, strlen(folded), FL_SIP_STREAM, &msg, &copy);
	ASSERT_EQ(ret, strlen(folded), "length");
	ASSERT_SIPSTR(msg.call_id, "fold@host", "Call-ID");
	ASSERT_SIPSTR(msg.from_tag, "f1", "folded From tag");
	ASSERT_EQ(msg.cseq, 2, "folded CSeq");
	ASSERT_EQ(msg.cseq_method, FL_SIP_OPTIONS, "folded CSeq method");
	ASSERT_SIPSTR(msg.to, "sip:x@example.net", "addr-spec To");
	free(copy);
}

static void count_cb(const struct fl_sip_msg *msg, void *arg)
{
	int *counts = arg; /* [0] messages, [1] errors, [2] last error */

	if (msg->error) {
		counts[1]++;
		counts[2] = msg->error;
	} else {
		counts[0]++;
	}
}

/* Several messages in one buffer: walked by their lengths. */
void test_sip_several(void)
{
	char *a = build(&(struct msg_spec){ .start = "SIP/2.0 180 Ringing",
					    .call_id = "s1",
					    .cseq = "1 INVITE" });
	char *b = build(&(struct msg_spec){
		.start = "INVITE sip:bob@example.net SIP/2.0",
		.call_id = "s2",
		.cseq = "9 INVITE",
		.body = "v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\n" });
	char *buf = NULL, *copy;
	struct fl_sip_msg msg;
	int counts[3] = {}, ret;
	size_t len, off;

	if (!ASSERT_OK_PTR(a, "a") || !ASSERT_OK_PTR(b, "b"))
		goto out;
	len = asprintf(&buf, "%s\r\n\r\n%s%s", a, b, a);
	/* by hand, as a TCP buffer is walked */
	ret = parse_exact(buf, len, FL_SIP_STREAM, &msg, &copy);
	ASSERT_EQ(ret, strlen(a), "first");
	ASSERT_SIPSTR(msg.call_id, "s1", "first Call-ID");
	free(copy);
	off = ret + 4;
	ret = parse_exact(buf + off, len - off, FL_SIP_STREAM, &msg, &copy);
	ASSERT_EQ(ret, strlen(b), "second");
	ASSERT_SIPSTR(msg.call_id, "s2", "second Call-ID");
	ASSERT_TRUE(msg.body_len > 0 && msg.body[0] == 'v', "second body");
	free(copy);
	off += ret;
	ret = parse_exact(buf + off, len - off, FL_SIP_STREAM, &msg, &copy);
	ASSERT_EQ(ret, strlen(a), "third");
	ASSERT_EQ(off + ret, len, "all of it");
	free(copy);

	/* as a datagram: the same three, through the callback */
	ASSERT_EQ(fl_sip_parse_datagram(buf, len, count_cb, counts), 3,
		  "datagram messages");
	ASSERT_EQ(counts[0], 3, "callbacks");
	ASSERT_EQ(counts[1], 0, "errors");

	/* trailing bytes that are no SIP are dropped (RFC 3261 18.3) */
	memset(counts, 0, sizeof(counts));
	free(buf);
	len = asprintf(&buf, "%sjunk\x01", a);
	ASSERT_EQ(fl_sip_parse_datagram(buf, len, count_cb, counts), 1,
		  "junk after");
	ASSERT_EQ(counts[1], 0, "junk after: no error");

	/* over UDP, no Content-Length means the rest of the datagram */
	free(buf);
	len = asprintf(&buf, "MESSAGE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n"
			     "From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\n"
			     "Call-ID: nolen\r\nCSeq: 1 MESSAGE\r\n\r\nhello");
	ret = parse_exact(buf, len, 0, &msg, &copy);
	ASSERT_EQ(ret, len, "no Content-Length, UDP");
	ASSERT_EQ(msg.body_len, 5, "body to the end");
	free(copy);
	ret = parse_exact(buf, len, FL_SIP_STREAM, &msg, &copy);
	ASSERT_EQ(ret, -EBADMSG, "no Content-Length, TCP");
	ASSERT_EQ(msg.error, FL_SIP_ERR_NO_CONTENT_LENGTH, "TCP error");
	free(copy);

	/* keep-alives */
	ASSERT_TRUE(fl_sip_is_keepalive("\r\n\r\n", 4), "CRLFCRLF");
	ASSERT_TRUE(fl_sip_is_keepalive("\r\n", 2), "CRLF");
	ASSERT_TRUE(fl_sip_is_keepalive("     ", 5), "spaces");
	ASSERT_FALSE(fl_sip_is_keepalive("hello", 5), "hello");
	ASSERT_FALSE(fl_sip_is_keepalive("", 0), "nothing");
	ASSERT_TRUE(fl_sip_is_keepalive("\x00\x01\x00\x00\x21\x12\xa4\x42"
					"0123456789ab",
					20),
		    "STUN binding request");
	ASSERT_FALSE(fl_sip_is_keepalive("\x00\x01\x00\x04\x21\x12\xa4\x42"
					 "0123456789ab",
					 20),
		     "STUN with a wrong length");
out:
	free(a);
	free(b);
	free(buf);
}

/* ---- malformed --------------------------------------------------------- */

#define GOOD_HEADERS                                     \
	"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n" \
	"From: <sip:a@example.com>;tag=1\r\n"            \
	"To: <sip:b@example.net>\r\n"                    \
	"Call-ID: bad@host\r\n"                          \
	"CSeq: 1 INVITE\r\n"
#define REQ "INVITE sip:b@example.net SIP/2.0\r\n"
#define BIN(s) s, sizeof(s) - 1 /* a literal with NULs in it, and its length */

static char *repeat(const char *head, const char *unit, int n, const char *tail)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	char *s = malloc(hl + ul * n + tl + 1), *p = s;
	int i;

	if (!s)
		return NULL;
	memcpy(p, head, hl);
	p += hl;
	for (i = 0; i < n; i++, p += ul)
		memcpy(p, unit, ul);
	memcpy(p, tail, tl + 1);
	return s;
}

void test_sip_malformed(void)
{
	static const struct {
		const char *name, *text;
		size_t len; /* 0: strlen */
		unsigned int flags;
		enum fl_sip_error error;
	} cases[] = {
		{ "empty", "", 0, 0, FL_SIP_ERR_TRUNCATED },
		{ "no blank line", REQ GOOD_HEADERS, 0, 0,
		  FL_SIP_ERR_TRUNCATED },
		{ "cut in a line", REQ "Via: SIP/2.0/UD", 0, 0,
		  FL_SIP_ERR_TRUNCATED },
		{ "body cut short",
		  REQ GOOD_HEADERS "Content-Length: 100\r\n\r\nv=0\r\n", 0, 0,
		  FL_SIP_ERR_TRUNCATED },
		{ "NUL in a header",
		  BIN(REQ "Via: SIP/2.0/UDP h\r\nFrom: <sip:a@b>\0x\r\n\r\n"),
		  0, FL_SIP_ERR_NUL },
		{ "NUL in the start line",
		  BIN("INVITE sip:b@x\0 SIP/2.0\r\n\r\n"), 0, FL_SIP_ERR_NUL },
		{ "bare CR", REQ "Via: a\rb\r\n\r\n", 0, 0,
		  FL_SIP_ERR_CONTROL },
		{ "escape byte", REQ "Via: \x1b[31m\r\n\r\n", 0, 0,
		  FL_SIP_ERR_CONTROL },
		{ "no Call-ID",
		  REQ "Via: SIP/2.0/UDP h\r\nFrom: <sip:a@b>;tag=1\r\n"
		      "To: <sip:b@c>\r\nCSeq: 1 INVITE\r\n\r\n",
		  0, 0, FL_SIP_ERR_NO_CALL_ID },
		{ "no CSeq",
		  REQ "Via: SIP/2.0/UDP h\r\nFrom: <sip:a@b>;tag=1\r\n"
		      "To: <sip:b@c>\r\nCall-ID: x\r\n\r\n",
		  0, 0, FL_SIP_ERR_NO_CSEQ },
		{ "no From",
		  REQ "Via: SIP/2.0/UDP h\r\nTo: <sip:b@c>\r\n"
		      "Call-ID: x\r\nCSeq: 1 INVITE\r\n\r\n",
		  0, 0, FL_SIP_ERR_NO_FROM },
		{ "no To",
		  REQ "Via: SIP/2.0/UDP h\r\nFrom: <sip:b@c>\r\n"
		      "Call-ID: x\r\nCSeq: 1 INVITE\r\n\r\n",
		  0, 0, FL_SIP_ERR_NO_TO },
		{ "no Via",
		  REQ "From: <sip:a@b>\r\nTo: <sip:b@c>\r\n"
		      "Call-ID: x\r\nCSeq: 1 INVITE\r\n\r\n",
		  0, 0, FL_SIP_ERR_NO_VIA },
		{ "huge Content-Length",
		  REQ GOOD_HEADERS "Content-Length: 99999999999\r\n\r\n", 0, 0,
		  FL_SIP_ERR_CONTENT_LENGTH },
		{ "Content-Length past 64 KiB",
		  REQ GOOD_HEADERS "l: 65537\r\n\r\n", 0, FL_SIP_STREAM,
		  FL_SIP_ERR_CONTENT_LENGTH },
		{ "Content-Length not a number",
		  REQ GOOD_HEADERS "Content-Length: 1e3\r\n\r\n", 0, 0,
		  FL_SIP_ERR_CONTENT_LENGTH },
		{ "negative Content-Length",
		  REQ GOOD_HEADERS "Content-Length: -1\r\n\r\n", 0, 0,
		  FL_SIP_ERR_CONTENT_LENGTH },
		{ "two Content-Lengths",
		  REQ GOOD_HEADERS "l: 0\r\nContent-Length: 0\r\n\r\n", 0, 0,
		  FL_SIP_ERR_DUPLICATE },
		{ "two Call-IDs", REQ GOOD_HEADERS "i: other\r\n\r\n", 0, 0,
		  FL_SIP_ERR_DUPLICATE },
		{ "Call-ID with a space", REQ "Call-ID: a b\r\n\r\n", 0, 0,
		  FL_SIP_ERR_CALL_ID },
		{ "empty Call-ID", REQ "Call-ID:\r\n\r\n", 0, 0,
		  FL_SIP_ERR_CALL_ID },
		{ "CSeq of another method", REQ "CSeq: 1 BYE\r\n\r\n", 0, 0,
		  FL_SIP_ERR_CSEQ },
		{ "CSeq without a number", REQ "CSeq: INVITE\r\n\r\n", 0, 0,
		  FL_SIP_ERR_CSEQ },
		{ "CSeq past 2^31", REQ "CSeq: 2147483648 INVITE\r\n\r\n", 0, 0,
		  FL_SIP_ERR_CSEQ },
		{ "From without >", REQ "From: \"A\" <sip:a@b;tag=1\r\n\r\n", 0,
		  0, FL_SIP_ERR_ADDRESS },
		{ "From without a URI", REQ "From: Alice\r\n\r\n", 0, 0,
		  FL_SIP_ERR_ADDRESS },
		{ "To with junk after >", REQ "To: <sip:b@c> junk\r\n\r\n", 0,
		  0, FL_SIP_ERR_ADDRESS },
		{ "header without a colon", REQ "Via SIP/2.0/UDP h\r\n\r\n", 0,
		  0, FL_SIP_ERR_HEADER },
		{ "header without a name", REQ ": x\r\n\r\n", 0, 0,
		  FL_SIP_ERR_HEADER },
		{ "continuation first", REQ " folded\r\n\r\n", 0, 0,
		  FL_SIP_ERR_HEADER },
		{ "HTTP request", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0, 0,
		  FL_SIP_ERR_NOT_SIP },
		{ "HTTP response", "HTTP/1.1 200 OK\r\n\r\n", 0, 0,
		  FL_SIP_ERR_NOT_SIP },
		{ "a word", "hello\r\n", 0, 0, FL_SIP_ERR_NOT_SIP },
		{ "status 999", "SIP/2.0 999 What\r\n\r\n", 0, 0,
		  FL_SIP_ERR_STATUS },
		{ "status 099", "SIP/2.0 099 What\r\n\r\n", 0, 0,
		  FL_SIP_ERR_STATUS },
		{ "two-digit status", "SIP/2.0 20 OK\r\n\r\n", 0, 0,
		  FL_SIP_ERR_START_LINE },
		{ "SIP/3.0", "INVITE sip:b@x SIP/3.0\r\n\r\n", 0, 0,
		  FL_SIP_ERR_START_LINE },
		{ "no scheme", "INVITE bob SIP/2.0\r\n\r\n", 0, 0,
		  FL_SIP_ERR_START_LINE },
		{ "two spaces", "INVITE  sip:b@x SIP/2.0\r\n\r\n", 0, 0,
		  FL_SIP_ERR_START_LINE },
		{ "TCP without Content-Length", REQ GOOD_HEADERS "\r\n", 0,
		  FL_SIP_STREAM, FL_SIP_ERR_NO_CONTENT_LENGTH },
		{ "TLS bytes",
		  BIN("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), 0,
		  FL_SIP_ERR_CONTROL },
	};
	unsigned int seed = 20;
	struct fl_sip_msg msg;
	char *text, *copy, *good;
	size_t i, len;
	int ret, n;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		test__case("%s", cases[i].name);
		len = cases[i].len ?: strlen(cases[i].text);
		ret = parse_exact(cases[i].text, len, cases[i].flags, &msg,
				  &copy);
		ASSERT_EQ(ret, -EBADMSG, cases[i].name);
		if (msg.error != cases[i].error)
			test__fail(__FILE__, __LINE__,
				   "%s: expected error %s, got %s",
				   cases[i].name,
				   fl_sip_error_name(cases[i].error),
				   fl_sip_error_name(msg.error));
		free(copy);
	}

	/* bounds: a line, the head, the headers */
	test__case("over-long line");
	text = repeat(REQ "Subject: ", "x", FL_SIP_LINE_MAX + 1,
		      "\r\n" GOOD_HEADERS "\r\n");
	ret = parse_exact(text, strlen(text), 0, &msg, &copy);
	ASSERT_EQ(ret, -EBADMSG, "over-long line");
	ASSERT_EQ(msg.error, FL_SIP_ERR_LINE_TOO_LONG, "error");
	free(copy);
	/* over TCP too, long before the line's end arrives */
	ret = parse_exact(text, FL_SIP_LINE_MAX + 100, FL_SIP_STREAM, &msg,
			  &copy);
	ASSERT_EQ(ret, -EBADMSG, "over-long line, unfinished");
	ASSERT_EQ(msg.error, FL_SIP_ERR_LINE_TOO_LONG, "error");
	free(copy);
	free(text);

	test__case("line of the longest length");
	text = repeat(REQ GOOD_HEADERS "Subject: ", "x",
		      FL_SIP_LINE_MAX - strlen("Subject: "), "\r\n\r\n");
	ret = parse_exact(text, strlen(text), 0, &msg, &copy);
	ASSERT_EQ(ret, strlen(text), "a line of FL_SIP_LINE_MAX is fine");
	free(copy);
	free(text);

	test__case("too many headers");
	text = repeat(REQ GOOD_HEADERS, "X-A: 1\r\n", FL_SIP_HEADERS_MAX,
		      "\r\n");
	ret = parse_exact(text, strlen(text), 0, &msg, &copy);
	ASSERT_EQ(ret, -EBADMSG, "too many headers");
	ASSERT_EQ(msg.error, FL_SIP_ERR_TOO_MANY_HEADERS, "error");
	free(copy);
	free(text);

	test__case("head too long");
	good = repeat("X-Long: ", "x", 1000, "\r\n");
	text = repeat(REQ GOOD_HEADERS, good, FL_SIP_HEAD_MAX / 1000 + 1,
		      "\r\n");
	ret = parse_exact(text, strlen(text), 0, &msg, &copy);
	ASSERT_EQ(ret, -EBADMSG, "head too long");
	ASSERT_EQ(msg.error, FL_SIP_ERR_HEAD_TOO_LONG, "error");
	free(copy);
	free(text);
	free(good);

	/* every prefix of a good message is incomplete over TCP and
	 * truncated over UDP; the whole is one message */
	good = build(&(struct msg_spec){
		.start = "INVITE sip:bob@example.net SIP/2.0",
		.call_id = "prefix@host",
		.cseq = "1 INVITE",
		.body = "v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\n" });
	len = strlen(good);
	for (i = 0; i < len; i++) {
		test__case("prefix %zu", i);
		ret = parse_exact(good, i, FL_SIP_STREAM, &msg, &copy);
		free(copy);
		if (!ASSERT_EQ(ret, -EAGAIN, "prefix over TCP"))
			break;
		ret = parse_exact(good, i, 0, &msg, &copy);
		free(copy);
		if (!ASSERT_EQ(ret, -EBADMSG, "prefix over UDP") ||
		    !ASSERT_EQ(msg.error, FL_SIP_ERR_TRUNCATED, "error"))
			break;
	}

	/* random damage: whatever comes back is an answer, never a read
	 * past the copy (which an ASan build of test_progs would catch) */
	test__case("damaged copies");
	n = 0;
	for (i = 0; i < 20000 && !test__failed(); i++) {
		size_t cut = i % 4 ? len : 1 + rand_r(&seed) % len;
		char *bad = malloc(cut);
		int k, hits = 1 + rand_r(&seed) % 4;

		if (!bad)
			break;
		memcpy(bad, good, cut);
		for (k = 0; k < hits; k++)
			bad[rand_r(&seed) % cut] = rand_r(&seed) % 256;
		ret = fl_sip_parse(bad, cut, i & 1 ? FL_SIP_STREAM : 0, &msg);
		if (ret > 0) {
			n++;
			ASSERT_LE(ret, cut, "length within the input");
		} else {
			ASSERT_TRUE(ret == -EBADMSG || ret == -EAGAIN,
				    "an error code");
		}
		free(bad);
	}
	test__log("%d of 20000 damaged copies still parse", n);

	test__case("garbage");
	for (i = 0; i < 2000; i++) {
		unsigned char junk[512];
		size_t j, jl = rand_r(&seed) % sizeof(junk);

		for (j = 0; j < jl; j++)
			junk[j] = rand_r(&seed);
		ret = fl_sip_parse((char *)junk, jl, 0, &msg);
		if (!ASSERT_EQ(ret, -EBADMSG, "garbage is refused"))
			break;
	}
	free(good);
}

/* ---- the TCP framer ---------------------------------------------------- */

struct collected {
	int messages, errors;
	enum fl_sip_error last_error;
	char call_ids[8][32];
	__u32 body_lens[8];
};

static void collect_cb(const struct fl_sip_msg *msg, void *arg)
{
	struct collected *c = arg;

	if (msg->error) {
		c->errors++;
		c->last_error = msg->error;
		return;
	}
	if (c->messages < 8) {
		snprintf(c->call_ids[c->messages], 32, "%.*s",
			 (int)msg->call_id.len, msg->call_id.p);
		c->body_lens[c->messages] = msg->body_len;
	}
	c->messages++;
}

/* Feeds @text cut at @cuts (offsets, ascending) from sequence number @isn
 * (its SYN's); each piece from an exact-size heap copy. */
static int feed_pieces(struct fl_sip_stream *s, __u32 isn, const char *text,
		       size_t len, const size_t *cuts, int ncuts,
		       struct collected *c)
{
	size_t from = 0, to;
	int i, ret, total = 0;

	for (i = 0; i <= ncuts; i++) {
		char *piece;

		to = i < ncuts ? cuts[i] : len;
		piece = malloc(to - from + 1);
		memcpy(piece, text + from, to - from);
		ret = fl_sip_stream_feed(s, isn + 1 + from, false, piece,
					 to - from, collect_cb, c);
		free(piece);
		if (ret < 0)
			return ret;
		total += ret;
		from = to;
	}
	return total;
}

void test_sip_stream(void)
{
	char *a = build(&(struct msg_spec){
		.start = "INVITE sip:bob@example.net SIP/2.0",
		.call_id = "t1",
		.cseq = "1 INVITE",
		.body = "v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\n" });
	char *b = build(&(struct msg_spec){ .start = "SIP/2.0 100 Trying",
					    .call_id = "t2",
					    .cseq = "1 INVITE" });
	char *both = NULL, *big = NULL;
	const char *bad;
	struct fl_sip_stream s;
	struct collected c;
	size_t len, alen, cut, cuts[3];
	__u32 isn = 0xfffffff0; /* so the sequence numbers wrap */
	int ret;

	if (!ASSERT_OK_PTR(a, "a") || !ASSERT_OK_PTR(b, "b"))
		goto out;
	len = alen = strlen(a);

	/* one message split in two at every byte */
	for (cut = 1; cut < len; cut++) {
		test__case("split at %zu", cut);
		memset(&c, 0, sizeof(c));
		fl_sip_stream_init(&s, 0);
		fl_sip_stream_feed(&s, isn, true, NULL, 0, collect_cb, &c);
		ret = feed_pieces(&s, isn, a, len, &cut, 1, &c);
		ASSERT_EQ(ret, 1, "messages");
		ASSERT_EQ(c.errors, 0, "errors");
		ASSERT_STREQ(c.call_ids[0], "t1", "Call-ID");
		ASSERT_EQ(c.body_lens[0], strlen(strstr(a, "v=0")), "body");
		ASSERT_EQ(s.len, 0, "nothing left buffered");
		fl_sip_stream_release(&s);
		if (test__failed())
			goto out;
	}

	test__case("a byte at a time");
	memset(&c, 0, sizeof(c));
	fl_sip_stream_init(&s, 0);
	for (cut = 0; cut < len; cut++)
		fl_sip_stream_feed(&s, 1000 + cut, false, a + cut, 1,
				   collect_cb, &c);
	ASSERT_EQ(c.messages, 1, "messages");
	ASSERT_EQ(c.errors, 0, "errors");
	fl_sip_stream_release(&s);

	/* several in one segment, keep-alives between, and a boundary that
	 * falls inside the second segment */
	len = asprintf(&both, "%s\r\n\r\n%s%s\r\n%s", a, b, a, b);
	test__case("several in one segment");
	memset(&c, 0, sizeof(c));
	fl_sip_stream_init(&s, 0);
	ret = fl_sip_stream_feed(&s, 7, false, both, len, collect_cb, &c);
	ASSERT_EQ(ret, 4, "messages");
	ASSERT_STREQ(c.call_ids[1], "t2", "second");
	ASSERT_STREQ(c.call_ids[2], "t1", "third");
	ASSERT_EQ(s.stats.keepalives, 2, "CRLF runs");
	fl_sip_stream_release(&s);

	test__case("boundaries inside segments");
	memset(&c, 0, sizeof(c));
	fl_sip_stream_init(&s, 0);
	cuts[0] = strlen(a) + 2; /* in the keep-alive */
	cuts[1] = strlen(a) + 4 + strlen(b) + 10; /* in the third */
	cuts[2] = len - 3; /* in the last */
	ret = feed_pieces(&s, isn, both, len, cuts, 3, &c);
	ASSERT_EQ(ret, 4, "messages");
	ASSERT_EQ(c.errors, 0, "errors");
	ASSERT_STREQ(c.call_ids[3], "t2", "fourth");
	fl_sip_stream_release(&s);

	test__case("keep-alive alone");
	memset(&c, 0, sizeof(c));
	fl_sip_stream_init(&s, 0);
	ret = fl_sip_stream_feed(&s, 1, false, "\r\n\r\n", 4, collect_cb, &c);
	ASSERT_EQ(ret, 0, "no message");
	ASSERT_EQ(s.stats.keepalives, 1, "one ping");
	ret = fl_sip_stream_feed(&s, 5, false, "\r\n", 2, collect_cb, &c);
	ASSERT_EQ(s.stats.keepalives, 2, "one pong");
	ASSERT_EQ(c.errors, 0, "errors");
	fl_sip_stream_release(&s);

	test__case("retransmissions");
	memset(&c, 0, sizeof(c));
	fl_sip_stream_init(&s, 0);
	fl_sip_stream_feed(&s, 100, false, a, 50, collect_cb, &c);
	fl_sip_stream_feed(&s, 100, false, a, 50, collect_cb, &c); /* again */
	fl_sip_stream_feed(&s, 130, false, a + 30, alen - 30, collect_cb,
			   &c); /* overlaps */
	fl_sip_stream_feed(&s, 100, false, a, alen, collect_cb, &c); /* old */
	ASSERT_EQ(c.messages, 1, "one message");
	ASSERT_EQ(s.stats.gaps, 0, "no gap");
	fl_sip_stream_release(&s);

	test__case("gap");
	memset(&c, 0, sizeof(c));
	fl_sip_stream_init(&s, 0);
	fl_sip_stream_feed(&s, 100, false, a, 50, collect_cb, &c);
	/* 10 bytes never seen; the rest of a is skipped, b is framed */
	fl_sip_stream_feed(&s, 160, false, a + 60, alen - 60, collect_cb, &c);
	fl_sip_stream_feed(&s, 100 + alen, false, b, strlen(b), collect_cb, &c);
	ASSERT_EQ(s.stats.gaps, 1, "gaps");
	ASSERT_EQ(s.stats.skipped, alen - 10, "skipped: what came of a");
	ASSERT_EQ(c.messages, 1, "messages");
	ASSERT_STREQ(c.call_ids[0], "t2", "b after the gap");
	ASSERT_EQ(c.errors, 0, "no error: a gap is no fault of the sender");
	fl_sip_stream_release(&s);

	test__case("not SIP, then SIP");
	memset(&c, 0, sizeof(c));
	fl_sip_stream_init(&s, 0);
	fl_sip_stream_feed(&s, 1, false, "GET / HTTP/1.1\r\n\r\n", 18,
			   collect_cb, &c);
	fl_sip_stream_feed(&s, 19, false, "more junk", 9, collect_cb, &c);
	fl_sip_stream_feed(&s, 28, false, b, strlen(b), collect_cb, &c);
	ASSERT_EQ(s.stats.not_sip, 1, "not SIP");
	ASSERT_EQ(c.last_error, FL_SIP_ERR_NOT_SIP, "error");
	ASSERT_EQ(s.stats.skipped, 18 + 9, "skipped");
	ASSERT_EQ(c.messages, 1, "resynchronised");
	fl_sip_stream_release(&s);

	test__case("malformed in a stream");
	memset(&c, 0, sizeof(c));
	fl_sip_stream_init(&s, 0);
	bad = REQ "Call-ID: a b\r\nContent-Length: 100\r\n\r\n";
	fl_sip_stream_feed(&s, 1, false, bad, strlen(bad), collect_cb, &c);
	ASSERT_EQ(s.stats.malformed, 1, "malformed");
	ASSERT_EQ(c.last_error, FL_SIP_ERR_CALL_ID,
		  "refused without waiting for its body");
	fl_sip_stream_release(&s);

	test__case("bad start refused before the head ends");
	memset(&c, 0, sizeof(c));
	fl_sip_stream_init(&s, 0);
	fl_sip_stream_feed(&s, 1, false, "INVITE sip:x SIP/9.9\r\nVia: x", 28,
			   collect_cb, &c);
	ASSERT_EQ(s.stats.malformed, 1, "malformed");
	ASSERT_EQ(c.last_error, FL_SIP_ERR_START_LINE, "error");
	fl_sip_stream_release(&s);

	test__case("larger than the buffer");
	memset(&c, 0, sizeof(c));
	fl_sip_stream_init(&s, 1024);
	big = repeat("", "x", 2000, "");
	free(both);
	both = build(&(struct msg_spec){ .start = "MESSAGE sip:b@x SIP/2.0",
					 .call_id = "big",
					 .cseq = "1 MESSAGE",
					 .body = big });
	len = strlen(both);
	fl_sip_stream_feed(&s, 1, false, both, 500, collect_cb, &c);
	fl_sip_stream_feed(&s, 501, false, both + 500, len - 500, collect_cb,
			   &c);
	ASSERT_EQ(c.last_error, FL_SIP_ERR_TOO_BIG, "too big");
	ASSERT_EQ(c.messages, 0, "no message");
	ASSERT_LE(s.len, 1024, "buffer bound");
	/* the same fits in one segment: parsed where it lies */
	fl_sip_stream_feed(&s, 1 + len, false, both, len, collect_cb, &c);
	ASSERT_EQ(c.messages, 1, "in one segment");
	fl_sip_stream_release(&s);
out:
	free(a);
	free(b);
	free(both);
	free(big);
}

/* ---- SDP ---------------------------------------------------------------- */

void test_sip_sdp(void)
{
	static const char offer[] =
		"v=0\r\n"
		"o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n"
		"s=-\r\n"
		"c=IN IP4 192.0.2.10\r\n"
		"t=0 0\r\n"
		"a=sendonly\r\n"
		"m=audio 49170 RTP/AVP 0 8 97 101\r\n"
		"a=rtpmap:97 iLBC/8000\r\n"
		"a=rtpmap:101 telephone-event/8000\r\n"
		"a=fmtp:101 0-15\r\n"
		"a=sendrecv\r\n"
		"m=video 51372 RTP/AVPF 96 31\r\n"
		"c=IN IP6 2001:db8::10\r\n"
		"a=rtpmap:96 H264/90000\r\n"
		"m=image 0 udptl t38\r\n"
		"m=audio 5004 RTP/AVP 111\r\n"
		"c=IN IP4 media.example.com\r\n"
		"a=rtpmap:111 opus/48000/2";
	static const struct {
		const char *name, *text;
		size_t len; /* 0: strlen */
	} bad[] = {
		{ "no v=0", "c=IN IP4 192.0.2.1\r\nm=audio 1 RTP/AVP 0\r\n",
		  0 },
		{ "v=1", "v=1\r\n", 0 },
		{ "not x=", "v=0\r\nhello\r\n", 0 },
		{ "bad c=", "v=0\r\nc=IN IP5 192.0.2.1\r\n", 0 },
		{ "c= with nothing", "v=0\r\nc=IN IP4\r\n", 0 },
		{ "port past 65535",
		  "v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 65536 RTP/AVP 0\r\n",
		  0 },
		{ "payload type past 127",
		  "v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 128\r\n",
		  0 },
		{ "no format",
		  "v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP\r\n", 0 },
		{ "rtpmap without a rate",
		  "v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 97\r\na=rtpmap:97 iLBC\r\n",
		  0 },
		{ "media without c=", "v=0\r\nm=audio 4000 RTP/AVP 0\r\n", 0 },
		{ "NUL", BIN("v=0\r\ns=\0\r\n") },
	};
	const struct fl_sdp_media *m;
	union fl_addr want = {};
	struct fl_sdp sdp;
	size_t i;

	test__case("offer");
	if (!ASSERT_OK(fl_sdp_parse(offer, strlen(offer), &sdp), "parse"))
		test__log("%s", sdp.error);
	ASSERT_EQ(sdp.nmedia, 4, "m= lines");
	m = &sdp.media[0];
	inet_pton(AF_INET, "192.0.2.10", &want);
	ASSERT_EQ(m->family, 4, "session c=");
	ASSERT_TRUE(!memcmp(&m->addr, &want, sizeof(want)), "session address");
	ASSERT_EQ(m->port, 49170, "port");
	ASSERT_EQ(m->kind, FL_SDP_AUDIO, "audio");
	ASSERT_TRUE(m->rtp, "RTP");
	ASSERT_EQ(m->dir, FL_SDP_SENDRECV, "media a=sendrecv over session's");
	ASSERT_EQ(m->ncodecs, 4, "payload types");
	ASSERT_EQ(m->codecs[0].pt, 0, "PT 0");
	ASSERT_STREQ(m->codecs[0].name, "PCMU", "PCMU (static)");
	ASSERT_FALSE(m->codecs[0].mapped, "static, no rtpmap");
	ASSERT_STREQ(m->codecs[1].name, "PCMA", "PCMA (static)");
	ASSERT_STREQ(m->codecs[2].name, "iLBC", "rtpmap 97");
	ASSERT_TRUE(m->codecs[2].mapped, "rtpmap");
	ASSERT_STREQ(m->codecs[3].name, "telephone-event", "rtpmap 101");
	ASSERT_EQ(fl_sdp_clock_rate(m, 97), 8000, "clock 97");
	ASSERT_EQ(fl_sdp_clock_rate(m, 0), 8000, "clock 0");
	ASSERT_EQ(fl_sdp_clock_rate(m, 96), 0, "96 is not in this m=");

	m = &sdp.media[1];
	inet_pton(AF_INET6, "2001:db8::10", &want);
	ASSERT_EQ(m->family, 6, "media c= IP6");
	ASSERT_TRUE(!memcmp(&m->addr, &want, sizeof(want)), "media address");
	ASSERT_EQ(m->kind, FL_SDP_VIDEO, "video");
	ASSERT_EQ(m->dir, FL_SDP_SENDONLY, "session's a=sendonly");
	ASSERT_EQ(fl_sdp_clock_rate(m, 96), 90000, "H264");
	ASSERT_EQ(fl_sdp_clock_rate(m, 31), 90000, "H261 (static)");

	m = &sdp.media[2];
	ASSERT_EQ(m->kind, FL_SDP_OTHER, "image");
	ASSERT_EQ(m->port, 0, "refused");
	ASSERT_FALSE(m->rtp, "udptl");
	ASSERT_EQ(m->ncodecs, 0, "no payload types");

	m = &sdp.media[3];
	ASSERT_EQ(m->family, 0, "a host name: no address");
	ASSERT_EQ(fl_sdp_clock_rate(m, 111), 48000, "opus");
	ASSERT_STREQ(m->codecs[0].name, "opus", "opus");

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		test__case("%s", bad[i].name);
		ASSERT_EQ(fl_sdp_parse(bad[i].text,
				       bad[i].len ?: strlen(bad[i].text), &sdp),
			  -EBADMSG, bad[i].name);
		ASSERT_OK_PTR(sdp.error, "a reason");
	}
	ASSERT_EQ(fl_rtp_static_pt(18, NULL), 8000, "G729");
	ASSERT_EQ(fl_rtp_static_pt(9, NULL), 8000, "G722 (RFC 3551's 8000)");
	ASSERT_EQ(fl_rtp_static_pt(96, NULL), 0, "dynamic");
}

/* ---- dialogs ------------------------------------------------------------ */

#define OFFER                                         \
	"v=0\r\no=a 1 1 IN IP4 192.0.2.10\r\ns=-\r\n" \
	"c=IN IP4 192.0.2.10\r\nt=0 0\r\n"            \
	"m=audio 30000 RTP/AVP 0 8 97\r\na=rtpmap:97 iLBC/8000\r\n"
#define ANSWER                                           \
	"v=0\r\no=b 1 1 IN IP4 198.51.100.20\r\ns=-\r\n" \
	"c=IN IP4 198.51.100.20\r\nt=0 0\r\n"            \
	"m=audio 40000 RTP/AVP 8\r\n"

/* a msg_spec: start line, Call-ID, CSeq, then any other field */
#define M(start_, call_id_, cseq_, ...)                              \
	{                                                            \
		.start = start_, .call_id = call_id_, .cseq = cseq_, \
		__VA_ARGS__                                          \
	}

struct step {
	struct msg_spec m;
	__u64 at_ms;
	enum fl_voip_state state; /* after it */
};

/* Runs @steps through @t; false if a state differs. */
static bool run_steps(struct fl_voip_dialogs *t, const struct step *steps,
		      int n, __u64 base_ms, const struct fl_voip_dialog **last)
{
	struct fl_sip_msg msg;
	int i, ret;

	for (i = 0; i < n; i++) {
		char *text = build(&steps[i].m);

		ret = fl_sip_parse(text, strlen(text), 0, &msg);
		if (!ASSERT_EQ(ret, strlen(text), steps[i].m.start)) {
			test__log("%s", fl_sip_error_name(msg.error));
			free(text);
			return false;
		}
		*last = fl_voip_dialog_msg(t, &msg, base_ms + steps[i].at_ms);
		free(text);
		if (!ASSERT_OK_PTR(*last, "dialog"))
			return false;
		if ((*last)->state != steps[i].state) {
			test__fail(__FILE__, __LINE__,
				   "after '%s': state %s, expected %s",
				   steps[i].m.start,
				   fl_voip_state_name((*last)->state),
				   fl_voip_state_name(steps[i].state));
			return false;
		}
	}
	return true;
}

static void count_dialog(const struct fl_voip_dialog *d, void *arg)
{
	(*(int *)arg)++;
}

static void count_stream(const struct fl_rtp_stream *s, void *arg)
{
	(*(int *)arg)++;
}

void test_sip_dialogs(void)
{
#define INV "INVITE sip:bob@example.net SIP/2.0"
	const struct step call[] = {
		{ M(INV, "call@a", "1 INVITE", .body = OFFER), 1000,
		  FL_VOIP_TRYING },
		{ M("SIP/2.0 100 Trying", "call@a", "1 INVITE"), 1010,
		  FL_VOIP_TRYING },
		{ M("SIP/2.0 180 Ringing", "call@a", "1 INVITE",
		    .to_tag = true),
		  1500, FL_VOIP_RINGING },
		{ M("SIP/2.0 200 OK", "call@a", "1 INVITE", .to_tag = true,
		    .body = ANSWER),
		  4000, FL_VOIP_ANSWERED },
		{ M("ACK sip:bob@192.0.2.20 SIP/2.0", "call@a", "1 ACK",
		    .to_tag = true),
		  4010, FL_VOIP_ANSWERED },
		{ M("BYE sip:alice@192.0.2.10 SIP/2.0", "call@a", "1 BYE",
		    .from_callee = true),
		  64000, FL_VOIP_ENDED },
		{ M("SIP/2.0 200 OK", "call@a", "1 BYE", .from_callee = true),
		  64020, FL_VOIP_ENDED },
	};
	const struct step busy[] = {
		{ M(INV, "busy@a", "1 INVITE"), 1000, FL_VOIP_TRYING },
		{ M("SIP/2.0 486 Busy Here", "busy@a", "1 INVITE",
		    .to_tag = true),
		  1200, FL_VOIP_FAILED },
		{ M("ACK sip:bob@example.net SIP/2.0", "busy@a", "1 ACK"), 1210,
		  FL_VOIP_FAILED },
	};
	const struct step cancel[] = {
		{ M(INV, "cancel@a", "1 INVITE"), 1000, FL_VOIP_TRYING },
		{ M("SIP/2.0 180 Ringing", "cancel@a", "1 INVITE",
		    .to_tag = true),
		  1100, FL_VOIP_RINGING },
		{ M("CANCEL sip:bob@example.net SIP/2.0", "cancel@a",
		    "1 CANCEL"),
		  3000, FL_VOIP_CANCELLED },
		{ M("SIP/2.0 200 OK", "cancel@a", "1 CANCEL"), 3010,
		  FL_VOIP_CANCELLED },
		{ M("SIP/2.0 487 Request Terminated", "cancel@a", "1 INVITE",
		    .to_tag = true),
		  3020, FL_VOIP_CANCELLED },
		{ M("ACK sip:bob@example.net SIP/2.0", "cancel@a", "1 ACK"),
		  3030, FL_VOIP_CANCELLED },
	};
	/* a challenge, then the INVITE again with credentials */
	const struct step challenged[] = {
		{ M(INV, "auth@a", "1 INVITE"), 1000, FL_VOIP_TRYING },
		{ M("SIP/2.0 407 Proxy Authentication Required", "auth@a",
		    "1 INVITE", .to_tag = true),
		  1100, FL_VOIP_FAILED },
		{ M("ACK sip:bob@example.net SIP/2.0", "auth@a", "1 ACK"), 1110,
		  FL_VOIP_FAILED },
		{ M(INV, "auth@a", "2 INVITE"), 1200, FL_VOIP_TRYING },
		{ M("SIP/2.0 407 Proxy Authentication Required", "auth@a",
		    "1 INVITE", .to_tag = true),
		  1250, FL_VOIP_TRYING }, /* the old one's, again */
		{ M("SIP/2.0 183 Session Progress", "auth@a", "2 INVITE",
		    .to_tag = true),
		  1300, FL_VOIP_RINGING },
		{ M("SIP/2.0 200 OK", "auth@a", "2 INVITE", .to_tag = true),
		  2000, FL_VOIP_ANSWERED },
		/* a re-INVITE refused leaves the call up */
		{ M(INV, "auth@a", "3 INVITE"), 5000, FL_VOIP_ANSWERED },
		{ M("SIP/2.0 491 Request Pending", "auth@a", "3 INVITE",
		    .to_tag = true),
		  5010, FL_VOIP_ANSWERED },
	};
	const struct step registration[] = {
		{ M("REGISTER sip:example.com SIP/2.0", "reg@a", "1 REGISTER"),
		  1000, FL_VOIP_NON_INVITE },
		{ M("SIP/2.0 401 Unauthorized", "reg@a", "1 REGISTER"), 1010,
		  FL_VOIP_NON_INVITE },
		{ M("REGISTER sip:example.com SIP/2.0", "reg@a", "2 REGISTER"),
		  1020, FL_VOIP_NON_INVITE },
		{ M("SIP/2.0 200 OK", "reg@a", "2 REGISTER"), 1030,
		  FL_VOIP_NON_INVITE },
	};
	struct fl_voip_dialog_conf conf = { .max_dialogs = 8, .seed = 42 };
	const struct fl_voip_dialog *d = NULL;
	const struct fl_sdp_media *media;
	struct fl_voip_dialog_stats stats;
	struct fl_voip_dialogs *t;
	union fl_addr caller = {}, callee = {};
	struct fl_sip_msg msg;
	int expired = 0, walked;
	char *text;

	inet_pton(AF_INET, "192.0.2.10", &caller);
	inet_pton(AF_INET, "198.51.100.20", &callee);
	t = fl_voip_dialogs_new(&conf);
	if (!ASSERT_OK_PTR(t, "new"))
		return;

	test__case("INVITE 180 200 ACK BYE 200");
	if (run_steps(t, call, ARRAY_SIZE(call), 0, &d)) {
		ASSERT_STREQ(d->call_id, "call@a", "Call-ID");
		ASSERT_STREQ(d->from, "sip:alice@example.com", "from");
		ASSERT_STREQ(d->to, "sip:bob@example.net", "to");
		ASSERT_EQ(d->start_ms, 1000, "start");
		ASSERT_EQ(d->answer_ms, 4000, "answer");
		ASSERT_EQ(d->end_ms, 64000, "end");
		ASSERT_EQ(fl_voip_dialog_duration_ms(d), 60000, "duration");
		ASSERT_EQ(d->methods,
			  1U << FL_SIP_INVITE | 1U << FL_SIP_ACK |
				  1U << FL_SIP_BYE,
			  "methods");
		ASSERT_EQ(d->responses[0], 2, "1xx");
		ASSERT_EQ(d->responses[1], 2, "2xx");
		ASSERT_EQ(d->nmedia[FL_VOIP_CALLER], 1, "offer");
		ASSERT_EQ(d->nmedia[FL_VOIP_CALLEE], 1, "answer");
		ASSERT_EQ(d->media[FL_VOIP_CALLER][0].port, 30000,
			  "offer port");
		ASSERT_EQ(d->media[FL_VOIP_CALLER][0].ncodecs, 3, "offer PTs");
		ASSERT_EQ(d->media[FL_VOIP_CALLEE][0].port, 40000,
			  "answer port");
		ASSERT_TRUE(fl_voip_media_lookup(t, 4, &caller, 30000,
						 &media) == d,
			    "offer's address and port");
		ASSERT_EQ(fl_sdp_clock_rate(media, 97), 8000, "its rtpmap");
		ASSERT_TRUE(fl_voip_media_lookup(t, 4, &callee, 40000, NULL) ==
				    d,
			    "answer's address and port");
		ASSERT_NULL(fl_voip_media_lookup(t, 4, &callee, 40002, NULL),
			    "another port");
		ASSERT_NULL(fl_voip_media_lookup(t, 6, &callee, 40000, NULL),
			    "another family");
	}

	test__case("INVITE 486");
	if (run_steps(t, busy, ARRAY_SIZE(busy), 100000, &d)) {
		ASSERT_EQ(d->final_status, 486, "final status");
		ASSERT_EQ(d->end_ms, 101200, "end");
		ASSERT_EQ(fl_voip_dialog_duration_ms(d), 0, "no duration");
		ASSERT_EQ(d->responses[3], 1, "4xx");
	}
	test__case("CANCEL");
	if (run_steps(t, cancel, ARRAY_SIZE(cancel), 200000, &d)) {
		ASSERT_EQ(d->final_status, 487, "final status");
		ASSERT_EQ(d->end_ms, 203000, "ended at the CANCEL");
		ASSERT_TRUE(d->methods & 1U << FL_SIP_CANCEL, "CANCEL seen");
	}
	test__case("407, INVITE again");
	if (run_steps(t, challenged, ARRAY_SIZE(challenged), 300000, &d)) {
		ASSERT_EQ(d->answer_ms, 302000, "answer");
		ASSERT_EQ(fl_voip_dialog_duration_ms(d), 3010, "up so far");
	}
	test__case("REGISTER");
	run_steps(t, registration, ARRAY_SIZE(registration), 400000, &d);

	test__case("the capture began mid-call");
	text = build(&(struct msg_spec){ .start = "SIP/2.0 200 OK",
					 .call_id = "late@a",
					 .cseq = "5 INVITE",
					 .to_tag = true });
	fl_sip_parse(text, strlen(text), 0, &msg);
	d = fl_voip_dialog_msg(t, &msg, 409000);
	free(text);
	if (ASSERT_OK_PTR(d, "dialog"))
		ASSERT_EQ(d->state, FL_VOIP_ANSWERED, "answered");

	/* 6 dialogs so far, room for 8 */
	test__case("bounded");
	fl_voip_dialogs_stats(t, &stats);
	ASSERT_EQ(stats.active, 6, "active");
	text = build(&(struct msg_spec){ .start = "OPTIONS sip:x@y SIP/2.0",
					 .call_id = "more",
					 .cseq = "1 OPTIONS" });
	fl_sip_parse(text, strlen(text), 0, &msg); /* msg points into text */
	ASSERT_OK_PTR(fl_voip_dialog_msg(t, &msg, 409000), "7th");
	msg.call_id = (struct fl_sip_str){ "more2", 5 };
	ASSERT_OK_PTR(fl_voip_dialog_msg(t, &msg, 409000), "8th");
	msg.call_id = (struct fl_sip_str){ "more3", 5 };
	ASSERT_NULL(fl_voip_dialog_msg(t, &msg, 409000), "9th: no room");
	fl_voip_dialogs_stats(t, &stats);
	ASSERT_EQ(stats.dropped, 1, "dropped");
	ASSERT_EQ(stats.created, 8, "created");

	/* ended at 64020, failed at 101210, cancelled at 203030: each
	 * goes 32 s after its last message; the REGISTER and OPTIONS
	 * Call-IDs 180 s after theirs; the calls that are up stay */
	test__case("expiry");
	fl_voip_dialogs_expire(t, 64020 + 31999, count_dialog, &expired);
	ASSERT_EQ(expired, 0, "nothing yet");
	ASSERT_OK_PTR(fl_voip_dialog_find(t, "call@a", 6), "ended one kept");
	ASSERT_TRUE(fl_voip_media_lookup(t, 4, &caller, 30000, NULL) != NULL,
		    "its media still known");
	fl_voip_dialogs_expire(t, 64020 + 32000, count_dialog, &expired);
	ASSERT_EQ(expired, 1, "ended");
	ASSERT_NULL(fl_voip_dialog_find(t, "call@a", 6), "gone");
	ASSERT_NULL(fl_voip_media_lookup(t, 4, &caller, 30000, NULL),
		    "media gone with it");
	fl_voip_dialogs_expire(t, 203030 + 32000, count_dialog, &expired);
	ASSERT_EQ(expired, 3, "failed, cancelled");
	fl_voip_dialogs_expire(t, 409000 + 180000, count_dialog, &expired);
	ASSERT_EQ(expired, 6, "REGISTER, OPTIONS x2");
	ASSERT_OK_PTR(fl_voip_dialog_find(t, "auth@a", 6), "a call stays up");
	ASSERT_OK_PTR(fl_voip_dialog_find(t, "late@a", 6), "so does this");
	/* a reader's walk sees the two left and takes nothing away */
	test__case("walk");
	walked = 0;
	fl_voip_dialogs_walk(t, count_dialog, &walked);
	ASSERT_EQ(walked, 2, "walked");
	fl_voip_dialogs_stats(t, &stats);
	ASSERT_EQ(stats.active, 2, "still there");
	fl_voip_dialogs_flush(t, count_dialog, &expired);
	ASSERT_EQ(expired, 8, "flushed");
	fl_voip_dialogs_stats(t, &stats);
	ASSERT_EQ(stats.active, 0, "empty");
	/* and it fills again */
	msg.call_id.p = "again";
	msg.call_id.len = 5;
	ASSERT_OK_PTR(fl_voip_dialog_msg(t, &msg, 600000), "after a flush");
	free(text);
	fl_voip_dialogs_free(t);
#undef INV
}

/* ---- RTP ---------------------------------------------------------------- */

static void rtp_packet(__u8 *p, __u8 pt, __u16 seq, __u32 ts, __u32 ssrc)
{
	p[0] = 0x80;
	p[1] = pt;
	p[2] = seq >> 8;
	p[3] = seq;
	p[4] = ts >> 24;
	p[5] = ts >> 16;
	p[6] = ts >> 8;
	p[7] = ts;
	p[8] = ssrc >> 24;
	p[9] = ssrc >> 16;
	p[10] = ssrc >> 8;
	p[11] = ssrc;
}

/* One packet of the test stream through @t. */
static const struct fl_rtp_stream *send_rtp(struct fl_voip_rtp *t, __u32 ssrc,
					    __u8 pt, __u16 seq, __u32 ts,
					    __u64 at_us, __u32 clock_rate)
{
	struct fl_rtp_key key = {
		.sport = 30000, .dport = 40000, .ssrc = ssrc, .family = 4
	};
	__u8 p[172] = {};
	struct fl_rtp_hdr h;

	inet_pton(AF_INET, "192.0.2.10", &key.src);
	inet_pton(AF_INET, "198.51.100.20", &key.dst);
	rtp_packet(p, pt, seq, ts, ssrc);
	if (fl_rtp_parse(p, sizeof(p), &h))
		return NULL;
	return fl_voip_rtp_packet(t, &key, &h, sizeof(p), at_us, clock_rate,
				  false);
}

void test_sip_rtp(void)
{
	struct fl_voip_rtp_conf conf = { .max_streams = 4, .seed = 7 };
	const struct fl_rtp_stream *s = NULL;
	struct fl_voip_rtp_stats stats;
	__u64 t0 = 1700000000000000ULL; /* µs, as a capture's */
	struct fl_voip_rtp *t;
	struct fl_rtp_hdr h;
	__u8 p[64] = {};
	int i, n = 0;

	/* the header checks */
	test__case("header");
	rtp_packet(p, 8, 1, 2, 3);
	ASSERT_OK(fl_rtp_parse(p, 12, &h), "12 bytes, PCMA");
	ASSERT_EQ(h.pt, 8, "pt");
	ASSERT_EQ(h.ssrc, 3, "ssrc");
	ASSERT_ERR(fl_rtp_parse(p, 11, &h), "short");
	p[0] = 0x40;
	ASSERT_ERR(fl_rtp_parse(p, 64, &h), "version 1");
	p[0] = 0x8f; /* 15 CSRCs: 72 bytes of header */
	ASSERT_ERR(fl_rtp_parse(p, 64, &h), "CSRCs past the end");
	p[0] = 0x82;
	ASSERT_OK(fl_rtp_parse(p, 20, &h), "2 CSRCs");
	ASSERT_EQ(h.header_len, 20, "CSRC length");
	p[0] = 0x90; /* extension of 2 words */
	p[14] = 0;
	p[15] = 2;
	ASSERT_OK(fl_rtp_parse(p, 24, &h), "extension");
	ASSERT_EQ(h.header_len, 24, "extension length");
	ASSERT_ERR(fl_rtp_parse(p, 23, &h), "extension past the end");
	p[0] = 0xa0; /* padding 4 */
	p[31] = 4;
	ASSERT_OK(fl_rtp_parse(p, 32, &h), "padding");
	ASSERT_EQ(h.payload_len, 16, "without padding");
	p[31] = 30;
	ASSERT_ERR(fl_rtp_parse(p, 32, &h), "padding past the payload");
	p[31] = 0;
	ASSERT_ERR(fl_rtp_parse(p, 32, &h), "padding of 0");
	for (i = 72; i <= 76; i++) {
		rtp_packet(p, i, 1, 2, 3);
		ASSERT_ERR(fl_rtp_parse(p, 64, &h), "RTCP's payload types");
		rtp_packet(p, 0x80 | i, 1, 2, 3);
		ASSERT_ERR(fl_rtp_parse(p, 64, &h), "... with the marker");
	}

	test__case("RTCP");
	memset(p, 0, sizeof(p));
	p[0] = 0x80; /* SR, no report blocks: 28 bytes */
	p[1] = 200;
	p[3] = 6;
	p[28] = 0x81; /* SDES, one chunk: 12 bytes */
	p[29] = 202;
	p[31] = 2;
	ASSERT_TRUE(fl_rtcp_check(p, 40), "SR + SDES");
	ASSERT_FALSE(fl_rtcp_check(p, 41), "a byte more");
	ASSERT_FALSE(fl_rtcp_check(p, 36), "cut short");
	p[29] = 100;
	ASSERT_FALSE(fl_rtcp_check(p, 40), "second part not RTCP");

	t = fl_voip_rtp_new(&conf);
	if (!ASSERT_OK_PTR(t, "new"))
		return;

	/* seq 100..109 but 105, 106, 107; 20 ms apart, 160 ticks: lost 3 */
	test__case("a gap of 3");
	for (i = 0; i < 10; i++)
		if (i < 5 || i > 7)
			s = send_rtp(t, 1, 0, 100 + i, 160 * i, t0 + 20000 * i,
				     0);
	if (ASSERT_OK_PTR(s, "stream")) {
		ASSERT_EQ(s->packets, 7, "packets");
		ASSERT_EQ(fl_voip_rtp_expected(s), 10, "expected");
		ASSERT_EQ(fl_voip_rtp_lost(s), 3, "lost");
		ASSERT_EQ(s->clock_rate, 8000, "PCMU's clock");
		ASSERT_TRUE(s->confirmed, "confirmed");
		ASSERT_TRUE(fl_voip_rtp_jitter_ms(s) == 0, "no jitter");
		ASSERT_EQ(s->bytes, 7 * 172, "bytes");
	}

	/* constant spacing: no jitter at all */
	test__case("constant spacing");
	for (i = 0; i < 50; i++)
		s = send_rtp(t, 2, 8, 7 + i, 1000 + 160 * i, t0 + 20000 * i, 0);
	ASSERT_TRUE(s && s->jitter == 0, "jitter 0");
	ASSERT_EQ(fl_voip_rtp_lost(s), 0, "lost 0");

	/* arrivals 0, 20, 50, 60 ms, timestamps 0, 160, 320, 480 at 8 kHz:
	 * transit 0, 0, 80, 0 ticks; D 0, 80, 80; J = 80/16 = 5, then
	 * 5 + (80 - 5)/16 = 9.6875 ticks, 1.2109375 ms */
	test__case("worked example");
	send_rtp(t, 3, 18, 1, 0, t0, 0);
	send_rtp(t, 3, 18, 2, 160, t0 + 20000, 0);
	send_rtp(t, 3, 18, 3, 320, t0 + 50000, 0);
	s = send_rtp(t, 3, 18, 4, 480, t0 + 60000, 0);
	if (ASSERT_OK_PTR(s, "stream")) {
		ASSERT_TRUE(s->jitter == 9.6875, "9.6875 ticks");
		ASSERT_TRUE(fl_voip_rtp_jitter_ms(s) == 1.2109375,
			    "1.2109375 ms");
		if (test__failed())
			test__log("jitter %.6f ticks", s->jitter);
	}

	/* the sequence wraps: 65533 .. 2, nothing lost; a stream that skips
	 * 0, 1, 2 over the wrap loses 3 */
	test__case("wrap");
	for (i = 0; i < 6; i++)
		s = send_rtp(t, 4, 0, (65533 + i) & 0xffff, 160 * i,
			     t0 + 20000 * i, 0);
	ASSERT_EQ(s->cycles, 65536, "one cycle");
	ASSERT_EQ(s->cycles + s->max_seq, 65538, "extended highest");
	ASSERT_EQ(fl_voip_rtp_expected(s), 6, "expected");
	ASSERT_EQ(fl_voip_rtp_lost(s), 0, "lost");
	fl_voip_rtp_flush(t, NULL, NULL);
	send_rtp(t, 5, 0, 65534, 0, t0, 0);
	send_rtp(t, 5, 0, 65535, 160, t0 + 20000, 0);
	s = send_rtp(t, 5, 0, 3, 960, t0 + 120000, 0);
	ASSERT_EQ(fl_voip_rtp_expected(s), 6, "expected over the wrap");
	ASSERT_EQ(fl_voip_rtp_lost(s), 3, "lost over the wrap");

	/* a duplicate makes loss negative, as A.3 says */
	test__case("duplicate");
	send_rtp(t, 6, 0, 1, 0, t0, 0);
	send_rtp(t, 6, 0, 2, 160, t0 + 20000, 0);
	send_rtp(t, 6, 0, 2, 160, t0 + 20001, 0);
	s = send_rtp(t, 6, 0, 3, 320, t0 + 40000, 0);
	ASSERT_EQ(fl_voip_rtp_lost(s), -1, "lost -1");
	ASSERT_EQ(s->packets, 4, "packets");

	/* clock rates: SDP's, the static table's, else 8000 */
	test__case("clock rates");
	s = send_rtp(t, 7, 111, 1, 0, t0, 48000);
	ASSERT_EQ(s->clock_rate, 48000, "from SDP");
	fl_voip_rtp_flush(t, NULL, NULL);
	s = send_rtp(t, 8, 34, 1, 0, t0, 0);
	ASSERT_EQ(s->clock_rate, 90000, "H263");
	s = send_rtp(t, 9, 111, 1, 0, t0, 0);
	ASSERT_EQ(s->clock_rate, 8000, "dynamic, unknown");
	ASSERT_FALSE(s->confirmed, "one packet: not confirmed");

	/* bounded: 4 streams; an unconfirmed one makes room for a new one,
	 * confirmed ones do not */
	test__case("bounded");
	fl_voip_rtp_flush(t, NULL, NULL);
	for (i = 10; i < 14; i++)
		send_rtp(t, i, 0, 1, 0, t0 + i, 0); /* unconfirmed */
	s = send_rtp(t, 14, 0, 1, 0, t0 + 1000, 0);
	ASSERT_OK_PTR(s, "evicts the oldest unconfirmed");
	fl_voip_rtp_stats(t, &stats);
	ASSERT_EQ(stats.evicted, 1, "evicted");
	ASSERT_EQ(stats.active, 4, "full");
	ASSERT_NULL(fl_voip_rtp_find(t, &(struct fl_rtp_key){ .ssrc = 10 }),
		    "not this key");
	fl_voip_rtp_flush(t, NULL, NULL);
	for (i = 20; i < 24; i++) {
		send_rtp(t, i, 0, 1, 0, t0, 0);
		send_rtp(t, i, 0, 2, 160, t0 + 20000, 0);
	}
	ASSERT_NULL(send_rtp(t, 30, 0, 1, 0, t0 + 30000, 0), "no room");
	fl_voip_rtp_stats(t, &stats);
	ASSERT_EQ(stats.dropped, 1, "dropped");
	n = 0;
	fl_voip_rtp_walk(t, count_stream, &n);
	ASSERT_EQ(n, 4, "walk: every stream");
	fl_voip_rtp_stats(t, &stats);
	ASSERT_EQ(stats.active, 4, "walk: none taken away");
	n = 0;

	/* expiry: confirmed 30 s after their last packet; unconfirmed 5 s */
	test__case("expiry");
	fl_voip_rtp_flush(t, NULL, NULL);
	send_rtp(t, 40, 0, 1, 0, t0, 0);
	send_rtp(t, 40, 0, 2, 160, t0 + 20000, 0); /* last at t0 + 20 ms */
	send_rtp(t, 41, 0, 1, 0, t0, 0);
	fl_voip_rtp_expire(t, t0 / 1000 + 4999, count_stream, &n);
	ASSERT_EQ(n, 0, "nothing yet");
	fl_voip_rtp_expire(t, t0 / 1000 + 5000, count_stream, &n);
	ASSERT_EQ(n, 1, "the unconfirmed one");
	fl_voip_rtp_expire(t, t0 / 1000 + 20 + 30000, count_stream, &n);
	ASSERT_EQ(n, 2, "the confirmed one");
	fl_voip_rtp_stats(t, &stats);
	ASSERT_EQ(stats.active, 0, "empty");
	fl_voip_rtp_free(t);
}
