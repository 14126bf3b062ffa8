// SPDX-License-Identifier: Apache-2.0
/*
 * Stage 5, the SYN proxy (bpf/synproxy.h), on crafted packets:
 *   synproxy_synack       a SYN to a service is answered with XDP_TX: MACs
 *                         swapped, VLAN tags kept, a fresh IP header
 *                         (IPv4 options and IPv6 extension headers left out,
 *                         SYN payload trimmed), ports swapped, ack = seq + 1,
 *                         window 0, valid checksums, the options the SYN
 *                         allows (MSS from the service, SACK, timestamps
 *                         with the client's wscale and SACK in tsval's low
 *                         bits, our wscale), whatever order the SYN's
 *                         options came in; then the client's ACK echoing
 *                         the cookie passes and an ACK with any other
 *                         number is dropped. IPv4 and IPv6; an IPv6 ACK's
 *                         checksum is verified and the verdict left in the
 *                         XDP metadata for bpf/flowlens_tc.bpf.c.
 *   synproxy_rejects      bad TCP or IPv4 header checksums, RST, SYN-ACK and
 *                         bare ACKs with no cookie are dropped and counted
 *   synproxy_bystanders   another port, another address, the stage switched
 *                         off (synproxy_services 0) and an allowlisted
 *                         source pass untouched; router mode hands the
 *                         server's side to the kernel
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <netinet/in.h>

#include "pkt.h"
#include "test_progs.h"

#define SVC4 "198.51.100.1"
#define SVC6 "2001:db8::2"
#define CLIENT_TSVAL 0x11223344
#define CONF_MSS 1400
#define CONF_WSCALE 9

/* ---- helpers ------------------------------------------------------------ */

static int setup(struct fl_fixture *fx, __u32 mode)
{
	struct fl_config cfg = { .mode = mode, .synproxy_services = 2 };
	struct fl_synproxy_conf conf = { .mss = CONF_MSS,
					 .wscale = CONF_WSCALE };
	const char *addrs[] = { SVC4, SVC6 };
	struct fl_synproxy_stats *zero;
	int i, err = 0;

	if (fl_fixture_open(fx))
		return -1;
	zero = calloc(libbpf_num_possible_cpus(), sizeof(*zero));
	for (i = 0; i < 2 && zero && !err; i++) {
		int family = i ? AF_INET6 : AF_INET;
		struct fl_synproxy_key key = {
			.addr = fl_addr_of(family, addrs[i]),
			.port = htons(80),
			.family = i ? 6 : 4,
		};

		err = bpf_map_update_elem(
			bpf_map__fd(fx->skel->maps.fl_synproxy), &key, &conf,
			BPF_ANY);
		err = err   ?:
			      bpf_map_update_elem(
				      bpf_map__fd(
					      fx->skel->maps.fl_synproxy_cnt),
				      &key, zero, BPF_ANY);
	}
	free(zero);
	return zero ? (err ?: fl_config_write(fx, &cfg)) : -1;
}

/* The service's counters, summed over CPUs. */
static void counters(struct fl_fixture *fx, int family,
		     struct fl_synproxy_stats *sum)
{
	struct fl_synproxy_key key = {
		.addr = fl_addr_of(family, family == AF_INET ? SVC4 : SVC6),
		.port = htons(80),
		.family = family == AF_INET ? 4 : 6,
	};
	int n = libbpf_num_possible_cpus(), cpu, c;
	struct fl_synproxy_stats *v = calloc(n, sizeof(*v));

	memset(sum, 0, sizeof(*sum));
	if (!v || fl_percpu_lookup(bpf_map__fd(fx->skel->maps.fl_synproxy_cnt),
				   &key, v, sizeof(*v))) {
		test__fail(__FILE__, __LINE__, "no counters for the service");
		free(v);
		return;
	}
	for (cpu = 0; cpu < n; cpu++)
		for (c = 0; c < FL_SP_COUNT; c++)
			sum->c[c] += v[cpu].c[c];
	free(v);
}

static const char *const counter_names[] = {
#define FL_X_NAME(id, name) name,
	FL_SYNPROXY_COUNTERS(FL_X_NAME)
#undef FL_X_NAME
};

/* Every counter of the service against @expect (the rest must be 0). */
static void expect_counters(struct fl_fixture *fx, int family,
			    const __u64 expect[FL_SP_COUNT])
{
	struct fl_synproxy_stats sum;
	int c;

	counters(fx, family, &sum);
	for (c = 0; c < FL_SP_COUNT; c++)
		ASSERT_EQ(sum.c[c], expect[c], counter_names[c]);
}

static int run_out(struct fl_fixture *fx, const struct pkt *in, struct pkt *out,
		   __u32 *action)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in->data,
		    .data_size_in = in->len, .data_out = out->data,
		    .data_size_out = sizeof(out->data));
	int err = bpf_prog_test_run_opts(fx->prog_fd, &opts);

	if (err)
		return err;
	*action = opts.retval;
	out->len = opts.data_size_out;
	return 0;
}

/* Like run_out(), also returning the XDP metadata the program left
 * (@meta_len 0: none). */
static int run_meta(struct fl_fixture *fx, const struct pkt *in, __u32 *action,
		    __u32 *meta, __u32 *meta_len)
{
	struct xdp_md ctx_in = { .data_end = in->len }, ctx_out = {};
	__u8 out[PKT_MAX + 64];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in->data,
		    .data_size_in = in->len, .data_out = out,
		    .data_size_out = sizeof(out), .ctx_in = &ctx_in,
		    .ctx_size_in = sizeof(ctx_in), .ctx_out = &ctx_out,
		    .ctx_size_out = sizeof(ctx_out));
	int err = bpf_prog_test_run_opts(fx->prog_fd, &opts);

	if (err)
		return err;
	*action = opts.retval;
	*meta_len = ctx_out.data - ctx_out.data_meta;
	if (*meta_len >= 4)
		memcpy(meta, out, 4);
	return 0;
}

static __u32 sum16(__u32 sum, const void *data, __u32 len)
{
	const __u8 *b = data;
	__u32 i;

	for (i = 0; i + 1 < len; i += 2)
		sum += b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += b[len - 1] << 8;
	return sum;
}

/* The TCP checksum of the segment at @l4 (@len bytes), IPv4 or IPv6
 * header at @l3; 0 when the segment's checksum field is right. */
static __u16 tcp_csum(const __u8 *l3, const __u8 *l4, __u32 len)
{
	__u32 sum = 0;

	if ((l3[0] >> 4) == 4)
		sum = sum16(sum, l3 + 12, 8);
	else
		sum = sum16(sum, l3 + 8, 32);
	sum += IPPROTO_TCP + len;
	sum = sum16(sum, l4, len);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

/* Refreshes the TCP checksum after the options were poked in. */
static void fix_tcp_csum(struct pkt *p)
{
	__u32 len = p->ip_end - p->l4_off;
	__u16 csum;

	pkt_poke16(p, p->l4_off + 16, 0);
	csum = tcp_csum(p->data + p->l3_off, p->data + p->l4_off, len);
	pkt_poke16(p, p->l4_off + 16, csum);
}

/* What the SYN's options ask for. */
struct syn_want {
	bool ts, ws, sack;
	__u8 wscale;
};

/* Option layouts for a 20-byte TCP option area. */
static const __u8 opts_linux[20] = {
	2,    4,    0x05, 0xb4, 4, 2, 8, 10, 0x11, 0x22,
	0x33, 0x44, 0,	  0,	0, 0, 1, 3,  3,	   7,
};
static const __u8 opts_reordered[20] = {
	3, 3, 12, 1, 8, 10, 0x11, 0x22, 0x33, 0x44,
	0, 0, 0,  0, 2, 4,  0x05, 0xb4, 1,    0,
};
static const __u8 opts_mss_only[4] = { 2, 4, 0x05, 0xb4 };
static const __u8 opts_ts_only[12] = {
	1, 1, 8, 10, 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0,
};

struct syn_case {
	const char *name;
	struct pkt_spec spec;
	const __u8 *opts; /* poked over the spec's NOP option bytes */
	__u8 opts_len;
	struct syn_want want;
};

static int build_syn(const struct syn_case *c, struct pkt *p)
{
	__u32 i;

	if (pkt_build(&c->spec, p))
		return -1;
	for (i = 0; i < c->opts_len; i++)
		pkt_poke8(p, p->l4_off + 20 + i, c->opts[i]);
	fix_tcp_csum(p);
	return 0;
}

/* The reply's option walk. */
struct reply_opts {
	int mss, wscale, sack;
	bool ts;
	__u32 tsval, tsecr;
};

static void walk_opts(const __u8 *o, int len, struct reply_opts *r)
{
	int i = 0;

	memset(r, 0, sizeof(*r));
	r->mss = r->wscale = -1;
	while (i < len) {
		if (o[i] == 0)
			break;
		if (o[i] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= len || o[i + 1] < 2 || i + o[i + 1] > len)
			break;
		if (o[i] == 2)
			r->mss = o[i + 2] << 8 | o[i + 3];
		else if (o[i] == 3)
			r->wscale = o[i + 2];
		else if (o[i] == 4)
			r->sack = 1;
		else if (o[i] == 8) {
			r->ts = true;
			memcpy(&r->tsval, o + i + 2, 4);
			memcpy(&r->tsecr, o + i + 6, 4);
			r->tsval = ntohl(r->tsval);
			r->tsecr = ntohl(r->tsecr);
		}
		i += o[i + 1];
	}
}

/* The client's third packet: an ACK for @reply, acking cookie + 1 + @bump. */
static void build_ack(const struct pkt *syn, const struct pkt *reply,
		      __u32 bump, struct pkt *ack)
{
	struct pkt_spec s = { .l3 = PKT_IPV4, .l4 = PKT_TCP };
	const __u8 *rl3 = reply->data + reply->l3_off;
	__u32 seq, cookie;
	int v6 = (rl3[0] >> 4) == 6;
	__u32 rl4 = reply->l3_off + (v6 ? 40 : 20);
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];

	/* addresses and ports straight from the reply, reversed */
	inet_ntop(v6 ? AF_INET6 : AF_INET, rl3 + (v6 ? 24 : 16), src,
		  sizeof(src));
	inet_ntop(v6 ? AF_INET6 : AF_INET, rl3 + (v6 ? 8 : 12), dst,
		  sizeof(dst));
	s.l3 = v6 ? PKT_IPV6 : PKT_IPV4;
	s.src = src;
	s.dst = dst;
	s.tcp.sport = reply->data[rl4 + 2] << 8 | reply->data[rl4 + 3];
	s.tcp.dport = reply->data[rl4] << 8 | reply->data[rl4 + 1];
	s.tcp.flags = PKT_TCP_ACK;
	pkt_build(&s, ack);
	memcpy(&seq, syn->data + syn->l4_off + 4, 4);
	memcpy(&cookie, reply->data + rl4 + 4, 4);
	pkt_poke32(ack, ack->l4_off + 4, ntohl(seq) + 1);
	pkt_poke32(ack, ack->l4_off + 8, ntohl(cookie) + 1 + bump);
	fix_tcp_csum(ack);
}

static void check_reply(const struct syn_case *c, const struct pkt *syn,
			const struct pkt *r)
{
	const __u8 *sl3 = syn->data + syn->l3_off, *rl3 = r->data + syn->l3_off;
	const __u8 *sl4 = syn->data + syn->l4_off;
	int v6 = c->spec.l3 == PKT_IPV6, ip_len = v6 ? 40 : 20;
	const struct tcphdr *th = (const void *)(rl3 + ip_len);
	const struct tcphdr *sth = (const void *)sl4;
	struct reply_opts o;
	__u32 tcp_len, opts_want, want_len;

	/* L2: addresses swapped, tags and ethertype as they were */
	ASSERT_TRUE(!memcmp(r->data, syn->data + 6, 6), "dst MAC");
	ASSERT_TRUE(!memcmp(r->data + 6, syn->data, 6), "src MAC");
	ASSERT_TRUE(!memcmp(r->data + 12, syn->data + 12, syn->l3_off - 12),
		    "VLAN tags and ethertype");
	if (!ASSERT_GE(r->len, syn->l3_off + ip_len + 20, "reply length"))
		return;
	tcp_len = th->doff * 4;
	/* the reply, then padding up to Ethernet's minimum at most */
	want_len = syn->l3_off + ip_len + tcp_len;
	if (want_len < 60 && syn->len > want_len)
		want_len = syn->len < 60 ? syn->len : 60;
	ASSERT_EQ(r->len, want_len, "frame length: reply, minimum padding");
	if (v6) {
		const struct ipv6hdr *ip6 = (const void *)rl3;

		ASSERT_EQ(ip6->version, 6, "version");
		ASSERT_EQ(ip6->nexthdr, IPPROTO_TCP, "no extension headers");
		ASSERT_EQ(ntohs(ip6->payload_len), tcp_len, "payload_len");
		ASSERT_TRUE(!memcmp(rl3 + 8, sl3 + 24, 16), "saddr");
		ASSERT_TRUE(!memcmp(rl3 + 24, sl3 + 8, 16), "daddr");
	} else {
		const struct iphdr *ip = (const void *)rl3;

		ASSERT_EQ(ip->ihl, 5, "no IPv4 options");
		ASSERT_EQ(ip->protocol, IPPROTO_TCP, "protocol");
		ASSERT_EQ(ntohs(ip->tot_len), 20 + tcp_len, "tot_len");
		ASSERT_EQ(pkt_inet_csum(ip, 20), 0, "IPv4 checksum");
		ASSERT_TRUE(!memcmp(rl3 + 12, sl3 + 16, 4), "saddr");
		ASSERT_TRUE(!memcmp(rl3 + 16, sl3 + 12, 4), "daddr");
	}
	ASSERT_EQ(th->source, sth->dest, "sport");
	ASSERT_EQ(th->dest, sth->source, "dport");
	ASSERT_EQ(ntohl(th->ack_seq), ntohl(sth->seq) + 1, "ack = seq + 1");
	ASSERT_EQ(((const __u8 *)th)[13], 0x12, "flags SYN|ACK");
	ASSERT_EQ(th->window, 0, "window 0 until the server's");
	ASSERT_EQ(tcp_csum(rl3, (const void *)th, tcp_len), 0, "TCP checksum");

	walk_opts((const __u8 *)(th + 1), tcp_len - 20, &o);
	ASSERT_EQ(o.mss, CONF_MSS, "MSS option: the service's");
	ASSERT_EQ(o.ts, c->want.ts, "timestamps iff the SYN had them");
	ASSERT_EQ(o.sack, c->want.ts && c->want.sack, "SACK-perm");
	ASSERT_EQ(o.wscale, c->want.ts && c->want.ws ? CONF_WSCALE : -1,
		  "window scale");
	if (c->want.ts) {
		opts_want = (c->want.ws ? c->want.wscale : 0xf) |
			    (c->want.sack ? 0x10 : 0);
		ASSERT_EQ(o.tsecr, CLIENT_TSVAL, "tsecr echoes the client");
		ASSERT_EQ(o.tsval & 0x3f, opts_want,
			  "tsval carries wscale and SACK");
	}
}

/* ---- tests --------------------------------------------------------------- */

/* clang-format off */
#define SYN_(l3_, dst_, opt_len_, ...) { .l3 = l3_, .dst = dst_, .l4 = PKT_TCP, \
		    .tcp = { .flags = PKT_TCP_SYN, .opt_len = opt_len_ }, __VA_ARGS__ }
#define SYN4(...) SYN_(PKT_IPV4, SVC4, 20, __VA_ARGS__)
#define SYN6(...) SYN_(PKT_IPV6, SVC6, 20, __VA_ARGS__)
#define LINUX_OPTS opts_linux, 20, { .ts = 1, .ws = 1, .sack = 1, .wscale = 7 }
/* clang-format on */

static const struct syn_case syn_cases[] = {
	{ "ipv4, MSS SACK TS WS", SYN4(), LINUX_OPTS },
	{ "ipv4, WS TS MSS, no SACK",
	  SYN4(),
	  opts_reordered,
	  20,
	  { .ts = 1, .ws = 1, .wscale = 12 } },
	{ "ipv4, MSS only: no TS, so no SACK or WS",
	  SYN_(PKT_IPV4, SVC4, 4),
	  opts_mss_only,
	  4,
	  {} },
	{ "ipv4, no options: the reply grows by its MSS option",
	  SYN_(PKT_IPV4, SVC4, 0),
	  NULL,
	  0,
	  {} },
	{ "ipv4, no options, 6 bytes of data (flgen's SYN)",
	  SYN_(PKT_IPV4, SVC4, 0, .payload_len = 6),
	  NULL,
	  0,
	  {} },
	{ "ipv4, TS only",
	  SYN_(PKT_IPV4, SVC4, 12),
	  opts_ts_only,
	  12,
	  { .ts = 1 } },
	{ "ipv4 with 12 option bytes", SYN4(.ip4 = { .opt_len = 12 }),
	  LINUX_OPTS },
	{ "ipv4 with 40 option bytes", SYN4(.ip4 = { .opt_len = 40 }),
	  LINUX_OPTS },
	{ "802.1Q", SYN4(.vlan = { .count = 1 }), LINUX_OPTS },
	{ "QinQ", SYN4(.vlan = { .count = 2 }), LINUX_OPTS },
	{ "ipv4 SYN carrying 100 bytes of data", SYN4(.payload_len = 100),
	  LINUX_OPTS },
	{ "ipv4 SYN carrying 1001 bytes of data", SYN4(.payload_len = 1001),
	  LINUX_OPTS },
	{ "ipv4 with Ethernet padding", SYN4(.pad_len = 6), LINUX_OPTS },
	{ "ipv6", SYN6(), LINUX_OPTS },
	{ "ipv6, hop-by-hop and destination options",
	  SYN6(.ip6 = { .nr_ext = 2,
			.ext = { PKT_EXT(HOPOPTS),
				 PKT_EXT(DSTOPTS, .len = 16) } }),
	  LINUX_OPTS },
	{ "ipv6 over QinQ, MSS only",
	  SYN_(PKT_IPV6, SVC6, 4, .vlan = { .count = 2 }),
	  opts_mss_only,
	  4,
	  {} },
};

void test_synproxy_synack(void)
{
	__u64 expect4[FL_SP_COUNT] = {}, expect6[FL_SP_COUNT] = {};
	struct fl_fixture fx;
	struct pkt syn, reply, ack;
	__u32 action, meta = 0, meta_len;
	size_t i;

	if (!ASSERT_OK(setup(&fx, FL_MODE_HOST), "setup"))
		return;
	for (i = 0; i < sizeof(syn_cases) / sizeof(syn_cases[0]); i++) {
		const struct syn_case *c = &syn_cases[i];
		__u64 *expect = c->spec.l3 == PKT_IPV6 ? expect6 : expect4;

		test__case("%s", c->name);
		if (!ASSERT_OK(build_syn(c, &syn), "build SYN") ||
		    !ASSERT_OK(run_out(&fx, &syn, &reply, &action), "run SYN"))
			continue;
		expect[FL_SP_SYNS_SEEN]++;
		if (!ASSERT_EQ(action, XDP_TX, "SYN answered"))
			continue;
		expect[FL_SP_SYNACKS_SENT]++;
		reply.l3_off = syn.l3_off;
		check_reply(c, &syn, &reply);

		/* the client's ACK: the right cookie passes, others don't */
		build_ack(&syn, &reply, 0, &ack);
		if (ASSERT_OK(run_meta(&fx, &ack, &action, &meta, &meta_len),
			      "run ACK")) {
			ASSERT_EQ(action, XDP_PASS, "valid cookie passes");
			/* IPv6: checksum verified for nftables' synproxy */
			if (c->spec.l3 == PKT_IPV6 &&
			    ASSERT_EQ(meta_len, 4, "IPv6 ACK: metadata"))
				ASSERT_EQ(meta, FL_META_CSUM_OK,
					  "IPv6 ACK: checksum verified");
			if (c->spec.l3 == PKT_IPV4)
				ASSERT_EQ(meta_len, 0, "IPv4 ACK: no metadata");
		}
		expect[FL_SP_COOKIES_VALID]++;

		/* the same ACK with a broken checksum: IPv6 checks it */
		pkt_poke8(&ack, ack.l4_off + 16, ack.data[ack.l4_off + 16] ^ 1);
		if (ASSERT_OK(run_out(&fx, &ack, &reply, &action), "run ACK"))
			ASSERT_EQ(action,
				  c->spec.l3 == PKT_IPV6 ? XDP_DROP : XDP_PASS,
				  "ACK with a bad checksum");
		expect[c->spec.l3 == PKT_IPV6 ? FL_SP_BAD_CHECKSUM :
						FL_SP_COOKIES_VALID]++;
		build_syn(c, &syn);
		run_out(&fx, &syn, &reply, &action);
		reply.l3_off = syn.l3_off;
		expect[FL_SP_SYNS_SEEN]++;
		expect[FL_SP_SYNACKS_SENT]++;
		/* +1 would only pick another MSS slot of the same cookie:
		 * the kernel accepts any of the four; change the hash bits */
		build_ack(&syn, &reply, 1 << 20, &ack);
		if (ASSERT_OK(run_out(&fx, &ack, &reply, &action), "run ACK+1"))
			ASSERT_EQ(action, XDP_DROP, "forged cookie dropped");
		expect[FL_SP_COOKIES_INVALID]++;
	}
	test__case("counters");
	expect_counters(&fx, AF_INET, expect4);
	expect_counters(&fx, AF_INET6, expect6);
	fl_fixture_close(&fx);
}

void test_synproxy_rejects(void)
{
	static const struct {
		const char *name;
		__u8 flags;
		int poke; /* 1: TCP checksum, 2: IPv4 header checksum */
		int counter;
	} cases[] = {
		{ "TCP checksum wrong", PKT_TCP_SYN, 1, FL_SP_BAD_CHECKSUM },
		{ "IPv4 header checksum wrong", PKT_TCP_SYN, 2,
		  FL_SP_BAD_CHECKSUM },
		{ "RST", PKT_TCP_RST, 0, FL_SP_COOKIES_INVALID },
		{ "RST|ACK", PKT_TCP_RST | PKT_TCP_ACK, 0,
		  FL_SP_COOKIES_INVALID },
		{ "SYN|ACK", PKT_TCP_SYN | PKT_TCP_ACK, 0,
		  FL_SP_COOKIES_INVALID },
		{ "bare ACK, no cookie", PKT_TCP_ACK, 0,
		  FL_SP_COOKIES_INVALID },
		{ "FIN|ACK", PKT_TCP_FIN | PKT_TCP_ACK, 0,
		  FL_SP_COOKIES_INVALID },
		{ "no flags", 0, 0, FL_SP_COOKIES_INVALID },
	};
	__u64 expect[FL_SP_COUNT] = {};
	struct fl_fixture fx;
	struct pkt p, out;
	__u32 action;
	size_t i;

	if (!ASSERT_OK(setup(&fx, FL_MODE_HOST), "setup"))
		return;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pkt_spec s = SYN4();

		test__case("%s", cases[i].name);
		s.tcp.flags = cases[i].flags;
		if (!ASSERT_OK(pkt_build(&s, &p), "build"))
			continue;
		if (cases[i].poke == 1)
			pkt_poke16(&p, p.l4_off + 16,
				   (p.data[p.l4_off + 16] << 8 |
				    p.data[p.l4_off + 17]) ^
					   0x0101);
		if (cases[i].poke == 2)
			pkt_poke8(&p, p.l3_off + 8, 7); /* TTL, no refresh */
		if (ASSERT_OK(run_out(&fx, &p, &out, &action), "run"))
			ASSERT_EQ(action, XDP_DROP, "dropped");
		if (cases[i].flags == PKT_TCP_SYN)
			expect[FL_SP_SYNS_SEEN]++;
		expect[cases[i].counter]++;
	}
	test__case("counters");
	expect_counters(&fx, AF_INET, expect);
	fl_fixture_close(&fx);
}

static int allow_src(struct fl_fixture *fx, const char *addr)
{
	struct fl_lpm4_key key = { .prefixlen = 32 };
	struct fl_allow val = {};

	inet_pton(AF_INET, addr, key.addr);
	return bpf_map_update_elem(bpf_map__fd(fx->skel->maps.fl_allow4), &key,
				   &val, BPF_ANY) ?:
		       fl_allow_prefixes_set(fx, 1);
}

void test_synproxy_bystanders(void)
{
	__u64 none[FL_SP_COUNT] = {};
	struct fl_if_stats before, after;
	struct fl_config off = {};
	struct fl_fixture fx;
	struct pkt p, out;
	__u32 action;

	if (!ASSERT_OK(setup(&fx, FL_MODE_HOST), "setup"))
		return;

	test__case("SYN to another port");
	pkt_build(&(struct pkt_spec){ .l3 = PKT_IPV4,
				      .dst = SVC4,
				      .l4 = PKT_TCP,
				      .tcp = { .flags = PKT_TCP_SYN,
					       .dport = 81 } },
		  &p);
	if (ASSERT_OK(run_out(&fx, &p, &out, &action), "run")) {
		ASSERT_EQ(action, XDP_PASS, "passed");
		ASSERT_TRUE(out.len == p.len &&
				    !memcmp(out.data, p.data, p.len),
			    "untouched");
	}
	test__case("SYN to another address");
	pkt_build(&(struct pkt_spec)SYN_(PKT_IPV4, "198.51.100.7", 20), &p);
	if (ASSERT_OK(run_out(&fx, &p, &out, &action), "run"))
		ASSERT_EQ(action, XDP_PASS, "passed");
	test__case("UDP to the service's port");
	pkt_build(&(struct pkt_spec){ .l3 = PKT_IPV4,
				      .dst = SVC4,
				      .l4 = PKT_UDP,
				      .udp = { .dport = 80 } },
		  &p);
	if (ASSERT_OK(run_out(&fx, &p, &out, &action), "run"))
		ASSERT_EQ(action, XDP_PASS, "passed");
	test__case("allowlisted source");
	ASSERT_OK(allow_src(&fx, "192.0.2.1"), "allow");
	pkt_build(&(struct pkt_spec)SYN4(), &p);
	if (ASSERT_OK(run_out(&fx, &p, &out, &action), "run"))
		ASSERT_EQ(action, XDP_PASS, "left to the kernel");
	expect_counters(&fx, AF_INET, none);

	test__case("stage off: synproxy_services 0");
	ASSERT_OK(fl_config_write(&fx, &off), "config");
	pkt_build(&(struct pkt_spec)SYN4(.src = "192.0.2.9"), &p);
	if (ASSERT_OK(run_out(&fx, &p, &out, &action), "run"))
		ASSERT_EQ(action, XDP_PASS, "passed");
	expect_counters(&fx, AF_INET, none);
	fl_fixture_close(&fx);

	/* Router mode: the server's packets go to netfilter, not the FIB. */
	if (!ASSERT_OK(setup(&fx, FL_MODE_ROUTER), "router setup"))
		return;
	test__case("router: the server's SYN-ACK");
	pkt_build(&(struct pkt_spec){ .l3 = PKT_IPV4,
				      .src = SVC4,
				      .dst = "192.0.2.9",
				      .l4 = PKT_TCP,
				      .tcp = { .sport = 80,
					       .dport = 40000,
					       .flags = PKT_TCP_SYN |
							PKT_TCP_ACK } },
		  &p);
	fl_if_stats_read(&fx, &before);
	if (ASSERT_OK(run_out(&fx, &p, &out, &action), "run"))
		ASSERT_EQ(action, XDP_PASS, "to the kernel");
	fl_if_stats_read(&fx, &after);
	ASSERT_EQ(after.fwd_pass[FL_FWD_PASS_SYNPROXY] -
			  before.fwd_pass[FL_FWD_PASS_SYNPROXY],
		  1, "fwd_pass[synproxy]");
	test__case("router: a SYN is still answered");
	pkt_build(&(struct pkt_spec)SYN4(), &p);
	if (ASSERT_OK(run_out(&fx, &p, &out, &action), "run"))
		ASSERT_EQ(action, XDP_TX, "answered");
	fl_fixture_close(&fx);
}
