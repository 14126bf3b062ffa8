/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * API: synproxy_packet() - stage 5 of DESIGN.md, the SYN proxy; the
 * contract with flowlensd is include/flowlens/synproxy.h.
 *
 * For TCP to a protected address:port:
 *   SYN      checksums verified, then answered in place with a SYN-ACK
 *            whose sequence number is a kernel SYN cookie (XDP_TX). The
 *            reply is rebuilt from the L3 header on: IPv4 options, IPv6
 *            extension headers and any SYN payload are left out, VLAN tags
 *            stay. Window 0, as nftables' synproxy answers: the client
 *            waits for the server's window, which synproxy relays.
 *   other    a connection conntrack has confirmed passes; else an ACK
 *            whose cookie checks out passes, and netfilter's synproxy
 *            (flowlensd's nftables table) opens the connection to the
 *            server; anything else is dropped.
 * Router mode hands every packet to or from a service to the kernel, so
 * conntrack and synproxy's sequence translation see both directions.
 *
 * The segment is copied to a per-CPU scratch buffer once: the checksum,
 * the option walk and the cookie helper all read it there, with sizes the
 * verifier can bound.
 */
#ifndef FLOWLENS_BPF_SYNPROXY_H
#define FLOWLENS_BPF_SYNPROXY_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <flowlens/flowlens.h>

#include "parse.h"

#define SP_NONE (-1) /* not a packet for a protected service */

/* Longest SYN segment checked and answered; a longer one (a jumbo TFO
 * SYN) is left to the kernel's synproxy. */
#define SP_SEG_MAX 1500
#define SP_CSUM_CHUNK 512 /* bpf_csum_diff's limit */
#define SP_ETH_MIN 60 /* shortest Ethernet frame, without the FCS */

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOPT_WINDOW 3
#define TCPOPT_SACK_PERM 4
#define TCPOPT_TIMESTAMP 8

/* The kernel's cookie timestamp encoding (cookie_init_timestamp()):
 * the low 6 bits of tsval carry the client's wscale (0xf: none), SACK
 * permitted and ECN. */
#define TS_OPT_WSCALE_MASK 0xf
#define TS_OPT_SACK (1 << 4)
#define TSBITS 6
#define TSMASK ((1 << TSBITS) - 1)

#define SP_OPTS_MAX 40
#define SP_REPLY_OPTS 20 /* MSS 4 + SACK-perm/NOP 2 + TS 10 + NOP/WS 4 */

/* nf_conntrack's IPS_CONFIRMED and bpf_ct_opts' first version. */
#define SP_CT_CONFIRMED (1UL << IPS_CONFIRMED_BIT)
#define SP_CT_OPTS_SZ 12
#define SP_CURRENT_NETNS (-1)

extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *xdp_ctx,
					 struct bpf_sock_tuple *bpf_tuple,
					 __u32 len_tuple,
					 struct bpf_ct_opts *opts,
					 __u32 len_opts) __ksym;
extern void bpf_ct_release(struct nf_conn *ct) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FL_SYNPROXY_MAX);
	__type(key, struct fl_synproxy_key);
	__type(value, struct fl_synproxy_conf);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_SYNPROXY SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, FL_SYNPROXY_MAX);
	__type(key, struct fl_synproxy_key);
	__type(value, struct fl_synproxy_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_SYNPROXY_STATS SEC(".maps");

struct sp_reply_tcp {
	struct tcphdr th;
	__u8 opts[SP_REPLY_OPTS];
};

struct sp_scratch {
	/* the SYN's TCP segment, zero-padded to a multiple of 4 */
	__u8 seg[SP_SEG_MAX + 4];
	union {
		__u8 ip4_opts[60]; /* IPv4 header with options */
		struct iphdr ip4;
		struct ipv6hdr ip6;
	};
	/* the reply from the IP header on, stored with one call */
	union {
		struct {
			struct iphdr ip;
			struct sp_reply_tcp tcp;
		} v4;
		struct {
			struct ipv6hdr ip;
			struct sp_reply_tcp tcp;
		} v6;
	} reply;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sp_scratch);
} sp_scratch SEC(".maps");

/* What the SYN asked for, from its options. */
struct sp_syn_opts {
	__u32 tsval;
	__u8 wscale;
	__u8 has_ts;
	__u8 has_ws;
	__u8 sack_ok;
};

struct sp_opt_walk {
	const __u8 *opt; /* scratch seg + 20 */
	__u32 off;
	__u32 len;
	struct sp_syn_opts o;
};

static __always_inline void sp_count(struct fl_synproxy_stats *st,
				     enum fl_synproxy_counter c)
{
	if (st && c < FL_SP_COUNT)
		st->c[c]++;
}

static __always_inline __u16 csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/* One TCP option per call (bpf_loop: the verifier checks the body once,
 * whatever order and number of options a packet carries). */
static long sp_opt_step(__u32 i, void *data)
{
	struct sp_opt_walk *w = data;
	const __u8 *opt = w->opt;
	__u32 off = w->off;
	__u8 kind, len;

	if (off >= w->len || off >= SP_OPTS_MAX)
		return 1;
	kind = opt[off & 63];
	if (kind == TCPOPT_EOL)
		return 1;
	if (kind == TCPOPT_NOP) {
		w->off = off + 1;
		return 0;
	}
	if (off + 2 > w->len)
		return 1;
	len = opt[(off + 1) & 63];
	if (len < 2 || off + len > w->len)
		return 1; /* malformed: stop, keep what was found */
	if (kind == TCPOPT_WINDOW && len == 3) {
		w->o.wscale = opt[(off + 2) & 63];
		w->o.has_ws = 1;
	} else if (kind == TCPOPT_SACK_PERM && len == 2) {
		w->o.sack_ok = 1;
	} else if (kind == TCPOPT_TIMESTAMP && len == 10) {
		w->o.tsval = (__u32)opt[(off + 2) & 63] << 24 |
			     (__u32)opt[(off + 3) & 63] << 16 |
			     (__u32)opt[(off + 4) & 63] << 8 |
			     opt[(off + 5) & 63];
		w->o.has_ts = 1;
	}
	w->off = off + len;
	return 0;
}

/* Sum of @len bytes of the zero-padded scratch segment, plus @sum. */
/* Sum of the first @n (at most @max) 32-bit words at @w: inline, for
 * the short runs every SYN and SYN-ACK has (a helper call costs more). */
static __always_inline __u64 sum_words(const __u32 *w, __u32 n, int max)
{
	__u64 sum = 0;
	int i;

	for (i = 0; i < max; i++) {
		if (i >= n)
			break;
		sum += w[i];
	}
	return sum;
}

#define SP_INLINE_WORDS 16 /* a TCP header with options, and some */

static __always_inline __u64 seg_csum(struct sp_scratch *s, __u32 len,
				      __u64 sum)
{
	__u32 words = (len + 3) & ~3U, off = 0;
	int i;

	if (words <= SP_INLINE_WORDS * 4)
		return sum + sum_words((const __u32 *)s->seg, words / 4,
				       SP_INLINE_WORDS);

#pragma unroll
	for (i = 0; i < (SP_SEG_MAX + 4 + SP_CSUM_CHUNK - 1) / SP_CSUM_CHUNK;
	     i++) {
		__u32 n = words - off;
		__s64 r;

		if (off >= words)
			break;
		if (n > SP_CSUM_CHUNK)
			n = SP_CSUM_CHUNK;
		r = bpf_csum_diff(NULL, 0, (void *)(s->seg + i * SP_CSUM_CHUNK),
				  n, 0);
		if (r < 0)
			return 0;
		sum += (__u32)r;
		off += n;
	}
	return sum;
}

/* The pseudo-header's share of a TCP checksum, in network byte order. */
static __always_inline __u64 pseudo_sum(const struct fl_packet *pkt,
					const union fl_addr *src,
					const union fl_addr *dst, __u32 len)
{
	__u64 sum;

	if (pkt->l3_proto == ETH_P_IP)
		return (__u64)src->w[0] + dst->w[0] +
		       bpf_htonl((FL_IPPROTO_TCP << 16) | len);
	sum = (__u64)src->w[0] + src->w[1] + src->w[2] + src->w[3];
	sum += (__u64)dst->w[0] + dst->w[1] + dst->w[2] + dst->w[3];
	return sum + bpf_htonl(len) + bpf_htonl(FL_IPPROTO_TCP);
}

/* Loads the TCP segment (at most SP_SEG_MAX bytes) into the scratch
 * buffer, zero-padded; 1 if its checksum is right. */
static __always_inline int tcp_csum_ok(struct xdp_md *ctx,
				       const struct fl_packet *pkt,
				       struct sp_scratch *s)
{
	__u32 len = pkt->l4_len;
	__u64 sum;

	if (len > SP_SEG_MAX || len < sizeof(struct tcphdr))
		return 0;
	if (bpf_xdp_load_bytes(ctx, pkt->l4_off, s->seg, len))
		return 0;
	s->seg[len] = 0;
	s->seg[len + 1] = 0;
	s->seg[len + 2] = 0;
	sum = seg_csum(s, len, pseudo_sum(pkt, &pkt->src, &pkt->dst, len));
	return csum_fold(sum) == 0xffff;
}

/* Tells bpf/flowlens_tc.bpf.c the TCP checksum was verified (synproxy.h
 * in include/ says why). Moves data_meta: do it last. */
static __always_inline void mark_csum_verified(struct xdp_md *ctx)
{
	void *data, *meta;

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(__u32)))
		return; /* no room: the kernel's check decides */
	data = (void *)(long)ctx->data;
	meta = (void *)(long)ctx->data_meta;
	if (meta + sizeof(__u32) > data)
		return;
	*(__u32 *)meta = FL_META_CSUM_OK;
}

/* The cookie timestamp: a millisecond clock, its low bits the options.
 * The coarse clock (CLOCK_MONOTONIC_COARSE, a tick behind at most): RFC
 * 7323 asks a timestamp clock for 1 ms to 1 s a tick, it is never ahead of
 * the kernel's own TCP clock, and bpf_ktime_get_ns() cost every SYN-ACK
 * about 30 ns more under kvm-clock. */
static __always_inline __u32 cookie_tsval(const struct sp_syn_opts *o)
{
	__u32 now = bpf_ktime_get_coarse_ns() / 1000000;
	__u32 options, ts;

	options = o->has_ws ? (o->wscale > FL_SYNPROXY_WSCALE_MAX ?
				       FL_SYNPROXY_WSCALE_MAX :
				       o->wscale) :
			      TS_OPT_WSCALE_MASK;
	if (o->sack_ok)
		options |= TS_OPT_SACK;
	ts = (now & ~(__u32)TSMASK) | options;
	if (ts > now)
		ts -= TSMASK + 1;
	return ts;
}

/* The SYN-ACK's TCP header and options; returns its length. */
static __always_inline __u32 build_tcp(struct sp_reply_tcp *r,
				       const struct tcphdr *syn,
				       const struct fl_synproxy_conf *conf,
				       const struct sp_syn_opts *o,
				       __u32 cookie)
{
	__u8 *p = r->opts;
	__u32 len = sizeof(r->th) + 4;

	__builtin_memset(r, 0, sizeof(*r));
	r->th.source = syn->dest;
	r->th.dest = syn->source;
	r->th.seq = bpf_htonl(cookie);
	r->th.ack_seq = bpf_htonl(bpf_ntohl(syn->seq) + 1);
	r->th.syn = 1;
	r->th.ack = 1;
	r->th.window = 0;

	p[0] = TCPOPT_MSS;
	p[1] = 4;
	p[2] = conf->mss >> 8;
	p[3] = conf->mss & 0xff;
	/* Without timestamps a cookie cannot carry wscale or SACK. */
	if (o->has_ts) {
		__u32 tsval = bpf_htonl(cookie_tsval(o));
		__u32 tsecr = bpf_htonl(o->tsval);

		if (o->sack_ok) {
			p[4] = TCPOPT_SACK_PERM;
			p[5] = 2;
		} else {
			p[4] = TCPOPT_NOP;
			p[5] = TCPOPT_NOP;
		}
		p[6] = TCPOPT_TIMESTAMP;
		p[7] = 10;
		__builtin_memcpy(p + 8, &tsval, 4);
		__builtin_memcpy(p + 12, &tsecr, 4);
		len += 12;
		if (o->has_ws) {
			p[16] = TCPOPT_NOP;
			p[17] = TCPOPT_WINDOW;
			p[18] = 3;
			p[19] = conf->wscale;
			len += 4;
		}
	}
	r->th.doff = len / 4;
	return len;
}

/* Swaps the Ethernet addresses; VLAN tags and ethertype stay. */
static __always_inline int swap_macs(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 tmp[6];

	if ((void *)(eth + 1) > data_end)
		return -1;
	__builtin_memcpy(tmp, eth->h_dest, 6);
	__builtin_memcpy(eth->h_dest, eth->h_source, 6);
	__builtin_memcpy(eth->h_source, tmp, 6);
	return 0;
}

/*
 * A SYN: verify, cookie, rewrite in place. Returns an XDP action; every
 * outcome is counted.
 */
static __always_inline int answer_syn(struct xdp_md *ctx,
				      const struct fl_packet *pkt,
				      struct fl_synproxy_stats *st,
				      const struct fl_synproxy_conf *conf)
{
	struct sp_opt_walk walk = {};
	struct sp_reply_tcp *tcp;
	struct sp_scratch *s;
	__u32 zero = 0, seg_len = pkt->l4_len, th_len, ip_len, tcp_len;
	__u32 frame_len, new_len;
	__s64 cookie;
	__u64 sum;

	sp_count(st, FL_SP_SYNS_SEEN);
	s = bpf_map_lookup_elem(&sp_scratch, &zero);
	if (!s)
		return XDP_PASS;
	if (seg_len > SP_SEG_MAX || seg_len < sizeof(struct tcphdr)) {
		sp_count(st, FL_SP_PASSED_TO_KERNEL);
		return XDP_PASS;
	}
	/* Checksums first: the kernel would drop a bad one, so do we. */
	if (!tcp_csum_ok(ctx, pkt, s))
		goto bad_csum;
	if (pkt->l3_proto == ETH_P_IP) {
		ip_len = pkt->l4_off - pkt->l3_off;
		if (ip_len < sizeof(struct iphdr) || ip_len > 60)
			return XDP_PASS;
		if (bpf_xdp_load_bytes(ctx, pkt->l3_off, s->ip4_opts, ip_len))
			return XDP_PASS;
		sum = sum_words((const __u32 *)s->ip4_opts, ip_len / 4, 15);
		if (csum_fold(sum) != 0xffff)
			goto bad_csum;
	} else {
		if (bpf_xdp_load_bytes(ctx, pkt->l3_off, &s->ip6,
				       sizeof(s->ip6)))
			return XDP_PASS;
	}

	th_len = ((struct tcphdr *)s->seg)->doff * 4;
	if (th_len < sizeof(struct tcphdr) || th_len > seg_len)
		return XDP_PASS; /* parse_packet() checked this already */
	walk.opt = s->seg + sizeof(struct tcphdr);
	walk.len = th_len - sizeof(struct tcphdr);
	if (walk.len)
		bpf_loop(SP_OPTS_MAX, sp_opt_step, &walk, 0);

	if (pkt->l3_proto == ETH_P_IP)
		cookie = bpf_tcp_raw_gen_syncookie_ipv4(
			&s->ip4, (struct tcphdr *)s->seg, th_len);
	else
		cookie = bpf_tcp_raw_gen_syncookie_ipv6(
			&s->ip6, (struct tcphdr *)s->seg, th_len);
	if (cookie < 0) {
		sp_count(st, FL_SP_PASSED_TO_KERNEL);
		return XDP_PASS;
	}

	/* The reply: L3 and TCP built in scratch, checksums included. */
	tcp = pkt->l3_proto == ETH_P_IP ? &s->reply.v4.tcp : &s->reply.v6.tcp;
	tcp_len = build_tcp(tcp, (struct tcphdr *)s->seg, conf, &walk.o,
			    (__u32)cookie);
	if (tcp_len > sizeof(*tcp))
		return XDP_PASS;
	sum = pseudo_sum(pkt, &pkt->dst, &pkt->src, tcp_len);
	sum += sum_words((const __u32 *)tcp, tcp_len / 4, sizeof(*tcp) / 4);
	tcp->th.check = ~csum_fold(sum);

	if (pkt->l3_proto == ETH_P_IP) {
		struct iphdr *ip = &s->reply.v4.ip;

		__builtin_memset(ip, 0, sizeof(*ip));
		ip_len = sizeof(*ip);
		ip->version = 4;
		ip->ihl = 5;
		ip->tot_len = bpf_htons(ip_len + tcp_len);
		ip->frag_off = bpf_htons(0x4000); /* DF */
		ip->ttl = 64;
		ip->protocol = FL_IPPROTO_TCP;
		ip->saddr = pkt->dst.w[0];
		ip->daddr = pkt->src.w[0];
		ip->check = ~csum_fold(sum_words((const __u32 *)ip, 5, 5));
	} else {
		struct ipv6hdr *ip6 = &s->reply.v6.ip;

		__builtin_memset(ip6, 0, sizeof(*ip6));
		ip_len = sizeof(*ip6);
		ip6->version = 6;
		ip6->payload_len = bpf_htons(tcp_len);
		ip6->nexthdr = FL_IPPROTO_TCP;
		ip6->hop_limit = 64;
		__builtin_memcpy(&ip6->saddr, pkt->dst.b, 16);
		__builtin_memcpy(&ip6->daddr, pkt->src.b, 16);
	}

	/* Resize to L2 + reply: the old L3 header may have been longer
	 * (options, extension headers) and the SYN may carry data. A frame
	 * no longer than Ethernet's minimum keeps its length: what follows
	 * the reply is padding, as a NIC would add (and no resize). */
	frame_len = ctx->data_end - ctx->data;
	new_len = pkt->l3_off + ip_len + tcp_len;
	if (frame_len > new_len && new_len < SP_ETH_MIN)
		new_len = frame_len < SP_ETH_MIN ? frame_len : SP_ETH_MIN;
	if (new_len != frame_len &&
	    bpf_xdp_adjust_tail(ctx, (int)new_len - (int)frame_len)) {
		sp_count(st, FL_SP_PASSED_TO_KERNEL);
		return XDP_PASS; /* untouched: netfilter's synproxy answers */
	}
	if (bpf_xdp_store_bytes(ctx, pkt->l3_off, &s->reply,
				ip_len + tcp_len) ||
	    swap_macs(ctx))
		return XDP_DROP; /* half-written: cannot pass it on */
	sp_count(st, FL_SP_SYNACKS_SENT);
	return XDP_TX;

bad_csum:
	sp_count(st, FL_SP_BAD_CHECKSUM);
	return XDP_DROP;
}

/* Whether conntrack has confirmed this connection (either direction). */
static __always_inline int ct_confirmed(struct xdp_md *ctx,
					const struct fl_packet *pkt)
{
	struct bpf_ct_opts opts = {
		.netns_id = SP_CURRENT_NETNS,
		.l4proto = FL_IPPROTO_TCP,
	};
	struct bpf_sock_tuple tup = {};
	unsigned long status;
	struct nf_conn *ct;
	__u32 tup_len;

	if (pkt->l3_proto == ETH_P_IP) {
		tup.ipv4.saddr = pkt->src.w[0];
		tup.ipv4.daddr = pkt->dst.w[0];
		tup.ipv4.sport = pkt->sport;
		tup.ipv4.dport = pkt->dport;
		tup_len = sizeof(tup.ipv4);
	} else {
		__builtin_memcpy(tup.ipv6.saddr, pkt->src.w, 16);
		__builtin_memcpy(tup.ipv6.daddr, pkt->dst.w, 16);
		tup.ipv6.sport = pkt->sport;
		tup.ipv6.dport = pkt->dport;
		tup_len = sizeof(tup.ipv6);
	}
	ct = bpf_xdp_ct_lookup(ctx, &tup, tup_len, &opts, SP_CT_OPTS_SZ);
	if (!ct)
		return 0;
	status = ct->status;
	bpf_ct_release(ct);
	return !!(status & SP_CT_CONFIRMED);
}

/* Not a SYN: a known connection, a valid cookie, or nothing we let in. */
static __always_inline int check_ack(struct xdp_md *ctx,
				     const struct fl_packet *pkt,
				     struct fl_synproxy_stats *st)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct tcphdr *th;
	long err;

	if (ct_confirmed(ctx, pkt)) {
		sp_count(st, FL_SP_PASSED_ESTABLISHED);
		return XDP_PASS;
	}
	th = data + (pkt->l4_off & 0x3ff);
	if ((void *)(th + 1) > data_end)
		goto invalid;
	if (pkt->l3_proto == ETH_P_IP) {
		struct iphdr *ip = data + (pkt->l3_off & 0xff);

		if ((void *)(ip + 1) > data_end)
			goto invalid;
		err = bpf_tcp_raw_check_syncookie_ipv4(ip, th);
	} else {
		struct ipv6hdr *ip6 = data + (pkt->l3_off & 0xff);

		if ((void *)(ip6 + 1) > data_end)
			goto invalid;
		err = bpf_tcp_raw_check_syncookie_ipv6(ip6, th);
	}
	if (err)
		goto invalid;
	if (pkt->l3_proto == ETH_P_IPV6) {
		/* nftables' synproxy cannot check it (see FL_META_CSUM_OK) */
		__u32 zero = 0;
		struct sp_scratch *s = bpf_map_lookup_elem(&sp_scratch, &zero);

		if (!s || !tcp_csum_ok(ctx, pkt, s)) {
			sp_count(st, FL_SP_BAD_CHECKSUM);
			return XDP_DROP;
		}
		mark_csum_verified(ctx);
	}
	sp_count(st, FL_SP_COOKIES_VALID);
	return XDP_PASS;

invalid:
	sp_count(st, FL_SP_COOKIES_INVALID);
	return XDP_DROP;
}

static __always_inline int sp_lookup(const struct fl_packet *pkt,
				     const union fl_addr *addr, __be16 port,
				     struct fl_synproxy_key *key,
				     struct fl_synproxy_conf **conf)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->addr = *addr;
	key->port = port;
	key->family = pkt->l3_proto == ETH_P_IP ? 4 : 6;
	*conf = bpf_map_lookup_elem(&FL_MAP_SYNPROXY, key);
	return *conf != NULL;
}

/* Whether stage 5 can concern the packet at all: checked inline, so the
 * call below costs nothing while no service exists. */
static __always_inline int synproxy_wanted(const struct fl_config *cfg,
					   const struct fl_packet *pkt)
{
	return cfg->synproxy_services && pkt->has_l4 &&
	       pkt->l4_proto == FL_IPPROTO_TCP && pkt->frag == FL_FRAG_NONE;
}

/*
 * Stage 5, for a packet synproxy_wanted(). Returns SP_NONE for a packet
 * that is no service's business, else the XDP action. @exempt: allowlisted or permitted by a rule, so not
 * challenged (router mode still hands it to the kernel).
 */
static __noinline int synproxy_packet(struct xdp_md *ctx,
				      const struct fl_config *cfg,
				      const struct fl_packet *pkt, int exempt)
{
	struct fl_synproxy_conf *conf;
	struct fl_synproxy_stats *st;
	struct fl_synproxy_key key;

	if (!sp_lookup(pkt, &pkt->dst, pkt->dport, &key, &conf)) {
		/* the server's side of a proxied connection: the kernel's */
		if (cfg->mode == FL_MODE_ROUTER &&
		    sp_lookup(pkt, &pkt->src, pkt->sport, &key, &conf))
			return XDP_PASS;
		return SP_NONE;
	}
	if (exempt)
		return XDP_PASS;
	/* one lookup of the counters per packet, whatever it counts */
	st = bpf_map_lookup_elem(&FL_MAP_SYNPROXY_STATS, &key);
	if ((pkt->tcp_flags &
	     (FL_TCP_SYN | FL_TCP_ACK | FL_TCP_RST | FL_TCP_FIN)) == FL_TCP_SYN)
		return answer_syn(ctx, pkt, st, conf);
	return check_ack(ctx, pkt, st);
}

#endif /* FLOWLENS_BPF_SYNPROXY_H */
