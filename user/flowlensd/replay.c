// SPDX-License-Identifier: Apache-2.0
/*
 * flowlensd replay: pcap and pcapng files through the classifier the live
 * workers run (classify.c). Only what is specific to capture files lives
 * here: reading them, the link layers, IP-in-IP tunnels (decapsulated, as
 * ndpiReader does), the packet checks ndpiReader makes before a packet
 * counts, and the JSON printed per flow. The key and hash come from
 * fl_flow_key_make()/fl_flow_hash(), as in the XDP program.
 *
 * With --voip the classifier is not run: SIP (sip.h), the dialog tracker
 * and the RTP tracker (voip_track.h), the code the workers run on VoIP
 * packets, print calls and media streams instead of flows.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <json-c/json.h>
#include <pcap/pcap.h>
#include <uthash.h>
#include <flowlens/ipv6.h>

#include "classify.h"
#include "export.h"
#include "prefix.h"
#include "replay.h"
#include "sip.h"
#include "voip_track.h"
#include "audio_streams.h"
#include "kws.h"
#include "voip_json.h"

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif

#define PROG "flowlensd replay"
#define TUNNEL_DEPTH_MAX 4

/* --voip: what one capture holds at most, and how long entries live
 * without a packet (capture time). A registration refreshed every half
 * hour stays one Call-ID; a Call-ID that comes back after it was printed
 * is printed again. */
#define VOIP_DIALOGS_MAX 16384
#define VOIP_SETUP_MS 3600000
#define VOIP_LINGER_MS 300000
#define VOIP_STREAMS_MAX 16384
#define VOIP_TCP_MAX 1024 /* TCP directions carrying SIP */
#define VOIP_AUDIO_MAX 1024 /* streams decoded at once */

struct tcp_key {
	union fl_addr src, dst;
	__u16 sport, dport;
	__u8 family;
	__u8 pad[3];
};

struct tcp_dir {
	struct tcp_key key;
	struct fl_sip_stream stream;
	UT_hash_handle hh;
};

/* --voip: one capture's trackers and counters */
struct voip {
	struct fl_voip_dialogs *dialogs;
	struct fl_voip_rtp *rtp;
	struct audio_streams *audio; /* each stream's audio */
	struct tcp_dir *tcp;
	__u32 tcp_count;
	__u64 now_ms, now_us; /* the packet being read */
	__u64 sip_messages, sip_malformed, sip_not_sip, sip_keepalives,
		malformed_by[FL_SIP_ERR_COUNT];
	__u64 tcp_gaps, tcp_skipped, tcp_dropped, fragments, cut_short;
	__u64 printed_dialogs, rtp_streams, rtp_packets, rtp_unconfirmed, rtcp;
	__u64 total_messages; /* over every file, for --stats */
};

struct replay {
	struct fl_cls *cls;
	const char *file; /* printed in each flow when there are several */
	bool quiet, stats, several;
	/* --stats */
	__u64 files, files_failed, packets, ip_packets, malformed, not_ip,
		fragments, flows;
	size_t base_memory, peak_memory;
	__u32 peak_flows, peak_dissecting;
	/* the current file */
	__u64 last_ms;
	/* --ipfix: every flow as records too */
	struct fl_ipfix *ipfix;
	bool finishing; /* the file ended: records say forced end */
	/* --voip */
	bool voip;
	const char *audio_dir; /* --audio-dir: each stream's audio */
	struct fl_kws *kws; /* --spam, --keywords: tier 1 */
	__u64 hash_seed;
	struct voip v;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: flowlensd replay [OPTIONS] FILE...\n"
		"\n"
		"Classify the flows in pcap or pcapng FILEs offline with the code the\n"
		"workers run on escalated packets: the same flow key and hash as the\n"
		"XDP program, the same flow table, aging and nDPI calls. Prints one JSON\n"
		"object per flow and line on stdout, when the flow expires or at the end\n"
		"of its file, in the order the flows began:\n"
		"\n"
		"  proto      IP protocol as ndpiReader names it (TCP, UDP, ICMP, ICMPV6,\n"
		"             IGMP, VRRP, or the number)\n"
		"  src sport  the side that sent the flow's first packet, and its port\n"
		"  dst dport  the other side (ports are 0 for protocols without them)\n"
		"  app        nDPI's protocol name exactly as `ndpiReader -v 2` prints it\n"
		"             in [proto: N.M/NAME], e.g. \"TLS.YouTube\", \"DNS\", \"Unknown\"\n"
		"  category   nDPI's category name\n"
		"  sni        nDPI's host name (TLS/QUIC SNI, HTTP Host, DNS query), or \"\"\n"
		"  ja3c ja3s  TLS/QUIC JA3 client and server hashes, or \"\"\n"
		"  risk       nDPI's flow risks, an array of names\n"
		"  packets bytes  both directions; bytes are IP bytes\n"
		"  dissected  packets nDPI looked at; guessed: true if the app is nDPI's\n"
		"             guess at give-up (by port or address)\n"
		"  file       the capture, only when several FILEs are given\n"
		"\n"
		"Each FILE is a capture of its own: its flows end with it. Link types:\n"
		"Ethernet (with 802.1Q/802.1ad tags, MPLS, PPPoE, LLC/SNAP), Linux cooked\n"
		"(SLL and SLL2), raw IP, IPv4, IPv6, BSD loopback (NULL/LOOP), PPP, Cisco\n"
		"HDLC. IPv4/IPv6 in IPv4/IPv6 is decapsulated and the inner packet\n"
		"classified; IPv4 fragments past the first are skipped, as ndpiReader\n"
		"does. Malformed packets are counted (--stats) and skipped.\n"
		"\n"
		"Options:\n"
		"  --feed all|xdp   which packets go to nDPI (default all):\n"
		"                   xdp  what the XDP program escalates to the workers, so\n"
		"                        the output predicts the live verdicts: TCP from\n"
		"                        its first packet with payload (a handshake alone\n"
		"                        never reaches nDPI and is printed as Unknown), UDP\n"
		"                        and others from the first; then every packet until\n"
		"                        the verdict or the budget (--max-tcp, --max-udp,\n"
		"                        4 for other protocols), when nDPI gives up\n"
		"                   all  every packet from the first, giving up after the\n"
		"                        flow's packets exceed the budget, as ndpiReader\n"
		"  --max-tcp N      TCP packets before nDPI gives up (default %d)\n"
		"  --max-udp N      UDP packets before nDPI gives up (default %d)\n"
		"  --idle SECONDS   a flow idle this long (capture time) ends and is\n"
		"                   printed (default 300 for TCP, 30 for the others)\n"
		"  --stats          a JSON summary on stderr at the end: files, packets,\n"
		"                   malformed and skipped packets, flows, packets given to\n"
		"                   nDPI, packets per second, worker memory per flow\n"
		"                   (with --voip: packets, SIP messages, and their rates)\n"
		"  --ipfix COLLECTOR:PORT\n"
		"                   also send every flow as IPFIX records to COLLECTOR\n"
		"                   (HOST:PORT, [IPv6]:PORT), built by the code flowlensd's\n"
		"                   live export runs ('flctl export help'): one record per\n"
		"                   direction, flowEndReason idle (expired), end of flow\n"
		"                   (FIN or RST seen) or forced (the file ended); start\n"
		"                   and end are capture time, octets IP bytes\n"
		"  --domain N       the IPFIX observation domain id (default 0)\n"
		"  --voip           analyse VoIP instead of classifying flows (see below)\n"
		"  --audio-dir DIR  with --voip: each decoded stream's audio written to\n"
		"                   DIR/SSRC.raw (16 kHz, mono, signed 16-bit little-\n"
		"                   endian; SSRC-N.raw for the Nth stream of an SSRC\n"
		"                   seen before), named in its line's audio.file\n"
		"  --spam           with --voip: spam scoring over each decoded stream:\n"
		"                   keyword spotting (pocketsphinx) with the default\n"
		"                   keywords (\"press one\", \"social security\", \"final\n"
		"                   notice\", \"warranty\", \"call back\", \"gift card\")\n"
		"                   and each call's score\n"
		"  --keywords FILE  --spam with FILE's keywords instead: a phrase a\n"
		"                   line, with its threshold between slashes if not\n"
		"                   1e-30 (\"press one /1e-40/\": lower finds more);\n"
		"                   '#' starts a comment. Each word must be in\n"
		"                   pocketsphinx's dictionary\n"
		"  -q, --quiet      print no flows (with --stats: only the summary;\n"
		"                   with --voip: only each file's summary line)\n"
		"  -h, --help       show this help\n"
		"\n"
		"VoIP (--voip): the SIP parser, dialog tracker and RTP tracker the workers\n"
		"run, over each FILE; the classifier options (--feed, --max-tcp, --max-udp,\n"
		"--idle, --ipfix, --domain) do not go with it. SIP is read from UDP and\n"
		"TCP to or from port 5060, and from any UDP or TCP payload that starts\n"
		"like a request or status line; over TCP, messages are framed by\n"
		"Content-Length across segments, in sequence order (a gap skips to the\n"
		"next segment that starts like SIP). IPv4/IPv6 fragments are skipped.\n"
		"Other UDP payloads are media candidates: RTCP if every part of the\n"
		"packet checks; else RTP if its header does (version 2, payload type not\n"
		"72-76, CSRCs, extension and padding within the packet). A stream (source,\n"
		"destination, SSRC) is printed if an SDP seen earlier in the capture\n"
		"offered either end's address and port (\"sdp\": true; its a=rtpmap gives\n"
		"the clock rate), or else once a second packet of the same SSRC carried\n"
		"on the first's sequence (\"sdp\": false; the clock rate is RFC 3551's\n"
		"for a static payload type, else 8000). One JSON object per line, each\n"
		"with \"type\" and \"file\":\n"
		"\n"
		"  dialog   call_id, from, to (URIs), state (non-invite, trying, ringing,\n"
		"           answered, ended, failed, cancelled), final_status, methods\n"
		"           (requests seen, by name), responses (by class: 1xx..6xx),\n"
		"           messages, start, answer, end (capture time, seconds; null if\n"
		"           not reached), duration_s (answer to end, or to the last\n"
		"           message of a call still up), media (each side's latest SDP:\n"
		"           side, media, addr, port, direction, payload_types, codecs)\n"
		"  rtp      ssrc, src, dst (ADDR:PORT), payload_type, clock_rate,\n"
		"           packets, bytes, expected, lost (RFC 3550 A.3), jitter_ms\n"
		"           (A.8, at the end), sdp, start, duration_s, audio (null\n"
		"           unless decodable: G.711, G.722, G.729 by static payload\n"
		"           type or SDP name, Opus by SDP name): codec, payload_type,\n"
		"           seconds (decoded at 16 kHz, losses concealed), decoded,\n"
		"           concealed, late, refused (packets), segments (of 2 s;\n"
		"           a last one of 0.5 s or more counts) and the segments'\n"
		"           averages: silence_ratio, energy_std_db, pitch_hz,\n"
		"           pitch_cv, rhythm, syllable_rate, syllable_cv; with\n"
		"           --spam: keywords (the first 64 spotted, in order:\n"
		"           keyword, second of the stream), keyword_hits, and the\n"
		"           call's (both directions between the two ends) score\n"
		"           (0-1), decision (clean; suspect from 0.4; spam from 0.8)\n"
		"           and evidence: keywords (1 for each one heard, 1/4 for\n"
		"           each time again), monologue (1: one side talks, the\n"
		"           other at most 10 %% of the speech) and flat_voice (the\n"
		"           talker's segments with a flat pitch), each 0-1 before\n"
		"           its weight (0.3, 0.35, 0.25; a keyword only heard in\n"
		"           G.711 or G.729 audio 0.2); suspect_at and spam_at: the\n"
		"           second of the call it first reached each (null: never)\n"
		"  summary  one per file, last: sip_messages, sip_malformed (started\n"
		"           like SIP, refused; by reason in malformed), sip_not_sip\n"
		"           (payloads on port 5060 that are no SIP), sip_keepalives\n"
		"           (CRLF, white space or STUN on port 5060), tcp_gaps,\n"
		"           tcp_skipped_bytes, dialogs, dialogs_dropped, sdp_malformed,\n"
		"           rtp_streams, rtp_packets (of those printed),\n"
		"           rtp_unconfirmed_packets, rtcp_packets,\n"
		"           audio_streams_dropped (no room to decode them); with\n"
		"           --spam, audio_segments_silent (under 200 ms of sound:\n"
		"           not spotted for keywords)\n"
		"\n"
		"A dialog or stream is printed when it has been idle long enough (a\n"
		"Call-ID 1 hour, an answered call 2 hours, an ended one 5 minutes, a\n"
		"stream 30 s; capture time) or when its file ends. At most %d dialogs\n"
		"and %d streams are held at once (more are counted as dropped).\n"
		"\n"
		"Exit status: 0 if every FILE was read; 1 if one could not be (missing,\n"
		"not a capture, a link type not listed above): its error names it and\n"
		"why, and the other FILEs are still read; 2 for bad options.\n"
		"\n"
		"Examples:\n"
		"  flowlensd replay capture.pcapng | jq -r .app | sort | uniq -c\n"
		"  flowlensd replay --feed all --stats -q /work/pcaps/*.pcap\n"
		"  flowlensd replay -q --ipfix 192.0.2.9:4739 capture.pcap\n"
		"  flowlensd replay --voip sip.pcap | jq -c 'select(.type == \"dialog\")'\n",
		FL_ESCALATE_TCP_DEFAULT, FL_ESCALATE_UDP_DEFAULT,
		VOIP_DIALOGS_MAX, VOIP_STREAMS_MAX);
}

/* ndpiReader's names for IP protocols. */
static const char *ip_proto_name(__u8 proto, char *buf, size_t len)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "TCP";
	case IPPROTO_UDP:
		return "UDP";
	case IPPROTO_ICMP:
		return "ICMP";
	case IPPROTO_ICMPV6:
		return "ICMPV6";
	case IPPROTO_IGMP:
		return "IGMP";
	case 112:
		return "VRRP";
	}
	snprintf(buf, len, "%u", proto);
	return buf;
}

/* The flow's records, built as the live exporter builds them. */
static void export_flow(struct replay *r, const struct fl_cls_flow *c)
{
	static const __u64 none[2];
	struct fl_flow f = {
		.packets = { c->packets[0], c->packets[1] },
		.bytes = { c->bytes[0], c->bytes[1] },
		.risk = c->risk,
		.app = c->app,
		.master = c->master,
		.category = c->category,
		.flags = c->flags,
		.tcp_flags = c->tcp_flags,
	};
	struct export_flow ef = {
		.key = &c->key,
		.f = &f,
		.sent_packets = none,
		.sent_bytes = none,
		.start_ms = c->first_ms,
		.end_ms = c->last_ms,
		.l2 = 0, /* the classifier counts IP bytes */
		.sni = c->sni,
		.ja3c = c->ja3c,
		.ja3s = c->ja3s,
		.reason = c->tcp_flags & (0x01 | 0x04) ? FL_IPFIX_END_FLOW :
			  r->finishing		       ? FL_IPFIX_END_FORCED :
							 FL_IPFIX_END_IDLE,
	};

	export_records(r->ipfix, r->cls, &ef, time(NULL));
}

static void print_flow(struct fl_cls_flow *f, void *arg)
{
	struct replay *r = arg;
	const union fl_addr *src, *dst;
	char a[INET6_ADDRSTRLEN], name[64], risks[2048];
	struct json_object *o, *risk;
	__be16 sport, dport;
	int af = f->key.family == 6 ? AF_INET6 : AF_INET;
	char *tok, *save;

	r->flows++;
	if (r->ipfix)
		export_flow(r, f);
	if (r->quiet)
		return;
	if (f->flags & FL_FLOW_F_LO_CLIENT) {
		src = &f->key.lo, dst = &f->key.hi;
		sport = f->key.lo_port, dport = f->key.hi_port;
	} else {
		src = &f->key.hi, dst = &f->key.lo;
		sport = f->key.hi_port, dport = f->key.lo_port;
	}
	o = json_object_new_object();
	json_object_object_add(o, "proto",
			       json_object_new_string(ip_proto_name(
				       f->key.proto, name, sizeof(name))));
	json_object_object_add(
		o, "src",
		json_object_new_string(inet_ntop(af, src, a, sizeof(a))));
	json_object_object_add(o, "sport", json_object_new_int(ntohs(sport)));
	json_object_object_add(
		o, "dst",
		json_object_new_string(inet_ntop(af, dst, a, sizeof(a))));
	json_object_object_add(o, "dport", json_object_new_int(ntohs(dport)));
	json_object_object_add(o, "app",
			       json_object_new_string(fl_cls_app_name(
				       r->cls, f, name, sizeof(name))));
	json_object_object_add(
		o, "category",
		json_object_new_string(
			fl_cls_category_name(r->cls, f->category) ?: ""));
	json_object_object_add(o, "sni", json_object_new_string(f->sni));
	json_object_object_add(o, "ja3c", json_object_new_string(f->ja3c));
	json_object_object_add(o, "ja3s", json_object_new_string(f->ja3s));
	risk = json_object_new_array();
	fl_cls_risk_names(f->risk, risks, sizeof(risks));
	for (tok = strtok_r(risks, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save))
		json_object_array_add(risk, json_object_new_string(tok));
	json_object_object_add(o, "risk", risk);
	json_object_object_add(
		o, "packets",
		json_object_new_int64(f->packets[0] + f->packets[1]));
	json_object_object_add(
		o, "bytes", json_object_new_int64(f->bytes[0] + f->bytes[1]));
	json_object_object_add(o, "dissected",
			       json_object_new_int64(f->dissected));
	json_object_object_add(o, "guessed",
			       json_object_new_boolean(f->guessed));
	if (r->several)
		json_object_object_add(o, "file",
				       json_object_new_string(r->file));
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

static __u16 get16(const __u8 *p)
{
	return (__u16)p[0] << 8 | p[1];
}

/*
 * The offset of the IP header in a frame of link type dlt, or -1 if the
 * frame carries no IP (or is cut short).
 */
static int link_ip_offset(int dlt, const __u8 *p, __u32 len)
{
	__u32 off, type;

	switch (dlt) {
	case DLT_EN10MB:
		if (len < 14)
			return -1;
		type = get16(p + 12);
		off = 14;
		if (type <= 1500) { /* 802.3 length: LLC */
			if (len < 22)
				return -1;
			if (p[14] == 0xaa || p[15] == 0xaa) { /* SNAP */
				type = get16(p + 20);
				off = 22;
			} else if (p[14] == 0x42 || p[15] == 0x42) {
				return -1; /* spanning tree */
			}
		}
		break;
	case DLT_LINUX_SLL:
		if (len < 16)
			return -1;
		type = get16(p + 14);
		off = 16;
		break;
	case DLT_LINUX_SLL2:
		if (len < 20)
			return -1;
		type = get16(p);
		off = 20;
		break;
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		return 0;
	case DLT_NULL:
	case DLT_LOOP:
		return 4; /* the family's byte order varies: the IP version says */
	case DLT_PPP:
		if (len < 4)
			return -1;
		if (p[0] == 0xff && p[1] == 0x03) { /* address, control */
			type = get16(p + 2);
			off = 4;
		} else if (p[0] == 0x0f || p[0] == 0x8f) { /* Cisco HDLC */
			type = get16(p + 2);
			off = 4;
		} else {
			type = get16(p);
			off = 2;
		}
		break;
	case DLT_C_HDLC:
	case DLT_PPP_SERIAL:
		if (len < 4)
			return -1;
		type = get16(p + 2);
		off = 4;
		break;
	default:
		return -2;
	}
	/* Tags and shims between the link header and IP. */
	for (;;) {
		switch (type) {
		case 0x8100: /* 802.1Q */
		case 0x88a8: /* 802.1ad (QinQ outer) */
		case 0x9100:
			if (len < off + 4)
				return -1;
			type = get16(p + off + 2);
			off += 4;
			continue;
		case 0x8847: /* MPLS: labels to the bottom of the stack */
		case 0x8848:
			do {
				if (len < off + 4)
					return -1;
				off += 4;
			} while (!(p[off - 2] & 1));
			return off;
		case 0x8864: /* PPPoE session: 6 bytes, then PPP's protocol */
			if (len < off + 8)
				return -1;
			type = get16(p + off + 6);
			off += 8;
			continue;
		case 0x0806: /* ARP, RARP, LLDP: surely not IP */
		case 0x8035:
		case 0x88cc:
			return -1;
		default:
			/* IPv4, IPv6, PPP's 0x0021/0x0057, and what else
			 * claims to be something: like ndpiReader, the IP
			 * header's version decides */
			return off;
		}
	}
}

enum pkt_verdict {
	PKT_OK,
	PKT_NOT_IP,
	PKT_MALFORMED,
	PKT_FRAGMENT,
};

struct pkt {
	const __u8 *l3;
	__u32 l3_len;
	__u32 l4, l4_len; /* offset from l3, and length by the IP header */
	bool first_fragment; /* more fragments follow */
	union fl_addr src, dst;
	__be16 sport, dport;
	__u8 proto, family;
};

/* The IP packet at p + off (decapsulated), checked as ndpiReader checks
 * it before a packet belongs to a flow. */
static enum pkt_verdict parse_ip(const __u8 *p, __u32 caplen, __u32 off,
				 struct pkt *k)
{
	__u32 depth, l4, l4_len, hl, total, nh;
	__u8 nexthdr, frag, ext_count;
	const __u8 *l4p;

	for (depth = 0; depth < TUNNEL_DEPTH_MAX; depth++) {
		const __u8 *ip = p + off;
		__u32 len = caplen - off;

		if (off >= caplen)
			return PKT_MALFORMED;
		memset(&k->src, 0, sizeof(k->src));
		memset(&k->dst, 0, sizeof(k->dst));
		if ((ip[0] >> 4) == 4) {
			if (len < 20)
				return PKT_MALFORMED;
			hl = (ip[0] & 0xf) * 4;
			nh = ip[9];
			if (hl < 20 || hl > len)
				return PKT_MALFORMED;
			if (nh == IPPROTO_IPIP || nh == IPPROTO_IPV6) {
				off += hl;
				continue;
			}
			if (get16(ip + 6) & 0x1fff)
				return PKT_FRAGMENT;
			total = get16(ip + 2);
			if (total < hl || total > len)
				return PKT_MALFORMED;
			memcpy(k->src.b, ip + 12, 4);
			memcpy(k->dst.b, ip + 16, 4);
			k->family = 4;
			k->first_fragment = get16(ip + 6) & 0x2000;
			l4 = hl;
			l4_len = total - hl;
		} else if ((ip[0] >> 4) == 6) {
			if (len < 40)
				return PKT_MALFORMED;
			total = 40 + get16(ip + 4);
			if (total > len)
				return PKT_MALFORMED;
			/* the program's own walk (bpf/parse.h calls it too) */
			l4p = ip + FL_IPV6_HDR_LEN;
			nexthdr = ip[6];
			frag = ext_count = 0;
			if (fl_ipv6_walk(&l4p, ip + len, ip + total, &nexthdr,
					 &frag, &ext_count))
				return PKT_MALFORMED;
			if (frag == FL_FRAG_LATER)
				return PKT_FRAGMENT;
			nh = nexthdr;
			l4 = l4p - ip;
			if (nh == IPPROTO_IPIP || nh == IPPROTO_IPV6) {
				off += l4;
				continue;
			}
			memcpy(k->src.b, ip + 8, 16);
			memcpy(k->dst.b, ip + 24, 16);
			k->family = 6;
			k->first_fragment = frag == FL_FRAG_FIRST;
			l4_len = total - l4;
		} else {
			return PKT_NOT_IP;
		}
		k->proto = nh;
		k->l4 = l4;
		k->l4_len = l4_len;
		k->sport = k->dport = 0;
		if ((nh == IPPROTO_TCP && l4_len >= 20) ||
		    (nh == IPPROTO_UDP && l4_len >= 8)) {
			memcpy(&k->sport, ip + l4, 2);
			memcpy(&k->dport, ip + l4 + 2, 2);
		}
		/* nDPI gets what was captured from the IP header on, as in
		 * ndpiReader (an Ethernet trailer included). */
		k->l3 = ip;
		k->l3_len = len;
		return PKT_OK;
	}
	return PKT_MALFORMED;
}

static void account_peak(struct replay *r)
{
	size_t mem = fl_cls_memory(r->cls);

	if (mem > r->peak_memory) {
		r->peak_memory = mem;
		r->peak_flows = fl_cls_flows(r->cls);
		r->peak_dissecting = fl_cls_flows_dissecting(r->cls);
	}
}

/* ---- --voip ------------------------------------------------------------ */

static __u32 get32(const __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
}

/* Milliseconds as seconds, printed with three decimals. */
static struct json_object *json_seconds(__u64 ms)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu.%03llu",
		 (unsigned long long)(ms / 1000),
		 (unsigned long long)(ms % 1000));
	return json_object_new_double_s(ms / 1000.0, buf);
}

/* Capture time in seconds, or null for a time not reached (0). */
static struct json_object *json_time(__u64 ms)
{
	return ms ? json_seconds(ms) : NULL;
}

static void json_add_common(struct json_object *o, const char *type,
			    const struct replay *r)
{
	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "file", json_object_new_string(r->file));
}

static void json_print(struct json_object *o)
{
	puts(json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static struct json_object *media_json(const struct fl_sdp_media *m,
				      enum fl_voip_side side)
{
	struct json_object *o = fl_sdp_media_json(m, side), *pts, *codecs;
	char codec[FL_SDP_NAME_MAX + 16];
	int i;

	pts = json_object_new_array();
	codecs = json_object_new_array();
	for (i = 0; i < m->ncodecs; i++) {
		const struct fl_sdp_codec *c = &m->codecs[i];

		json_object_array_add(pts, json_object_new_int(c->pt));
		if (c->name[0])
			snprintf(codec, sizeof(codec), "%s/%u", c->name,
				 c->clock_rate);
		else
			snprintf(codec, sizeof(codec), "unknown");
		json_object_array_add(codecs, json_object_new_string(codec));
	}
	json_object_object_add(o, "payload_types", pts);
	json_object_object_add(o, "codecs", codecs);
	return o;
}

static void print_dialog(const struct fl_voip_dialog *d, void *arg)
{
	static const char *const classes[] = { "1xx", "2xx", "3xx",
					       "4xx", "5xx", "6xx" };
	struct replay *r = arg;
	struct json_object *o, *responses, *media;
	int side, i;

	r->v.printed_dialogs++;
	if (r->quiet)
		return;
	o = json_object_new_object();
	json_add_common(o, "dialog", r);
	fl_voip_dialog_json_add(o, d);
	responses = json_object_new_object();
	for (i = 0; i < 6; i++)
		json_object_object_add(responses, classes[i],
				       json_object_new_int64(d->responses[i]));
	json_object_object_add(o, "responses", responses);
	json_object_object_add(o, "start", json_time(d->start_ms));
	json_object_object_add(o, "answer", json_time(d->answer_ms));
	json_object_object_add(o, "end", json_time(d->end_ms));
	json_object_object_add(o, "duration_s",
			       json_seconds(fl_voip_dialog_duration_ms(d)));
	media = json_object_new_array();
	for (side = FL_VOIP_CALLER; side <= FL_VOIP_CALLEE; side++)
		for (i = 0; i < d->nmedia[side]; i++)
			json_object_array_add(
				media, media_json(&d->media[side][i], side));
	json_object_object_add(o, "media", media);
	json_print(o);
}

static void print_stream(const struct fl_rtp_stream *s, void *arg)
{
	struct replay *r = arg;
	struct json_object *o, *audio;

	audio = audio_streams_json(r->v.audio, &s->key);
	if (!s->confirmed && !s->negotiated) {
		r->v.rtp_unconfirmed += s->packets;
		json_object_put(audio);
		return;
	}
	r->v.rtp_streams++;
	r->v.rtp_packets += s->packets;
	if (r->quiet) {
		json_object_put(audio);
		return;
	}
	o = json_object_new_object();
	json_add_common(o, "rtp", r);
	fl_rtp_stream_json_add(o, s, true);
	json_object_object_add(o, "clock_rate",
			       json_object_new_int64(s->clock_rate));
	json_object_object_add(o, "packets", json_object_new_int64(s->packets));
	json_object_object_add(o, "bytes", json_object_new_int64(s->bytes));
	json_object_object_add(o, "expected",
			       json_object_new_int64(fl_voip_rtp_expected(s)));
	json_object_object_add(o, "lost",
			       json_object_new_int64(fl_voip_rtp_lost(s)));
	/* in microseconds, shown as milliseconds */
	json_object_object_add(
		o, "jitter_ms",
		json_seconds((__u64)(fl_voip_rtp_jitter_ms(s) * 1000 + 0.5)));
	json_object_object_add(o, "sdp",
			       json_object_new_boolean(s->negotiated));
	json_object_object_add(o, "start", json_time(s->first_ms));
	json_object_object_add(o, "duration_s",
			       json_seconds(s->last_ms - s->first_ms));
	json_object_object_add(o, "audio", audio);
	json_print(o);
}

static void print_voip_summary(struct replay *r)
{
	struct fl_voip_dialog_stats ds;
	struct fl_voip_rtp_stats rs;
	struct json_object *o = json_object_new_object(), *why;
	struct voip *v = &r->v;
	int e;

	fl_voip_dialogs_stats(v->dialogs, &ds);
	fl_voip_rtp_stats(v->rtp, &rs);
	json_add_common(o, "summary", r);
#define ADD(name, val) \
	json_object_object_add(o, name, json_object_new_int64(val))
	ADD("sip_messages", v->sip_messages);
	ADD("sip_malformed", v->sip_malformed);
	why = json_object_new_object();
	for (e = 0; e < FL_SIP_ERR_COUNT; e++)
		if (v->malformed_by[e])
			json_object_object_add(
				why, fl_sip_error_name(e),
				json_object_new_int64(v->malformed_by[e]));
	json_object_object_add(o, "malformed", why);
	ADD("sip_not_sip", v->sip_not_sip);
	ADD("sip_keepalives", v->sip_keepalives);
	ADD("tcp_gaps", v->tcp_gaps);
	ADD("tcp_skipped_bytes", v->tcp_skipped);
	ADD("tcp_dropped", v->tcp_dropped);
	ADD("fragments", v->fragments);
	ADD("cut_short", v->cut_short);
	ADD("dialogs", v->printed_dialogs);
	ADD("dialogs_dropped", ds.dropped);
	ADD("sdp_malformed", ds.sdp_malformed);
	ADD("rtp_streams", v->rtp_streams);
	ADD("rtp_packets", v->rtp_packets);
	ADD("rtp_unconfirmed_packets", v->rtp_unconfirmed);
	ADD("rtp_dropped", rs.dropped);
	ADD("audio_streams_dropped", audio_streams_dropped(v->audio));
	if (r->kws)
		ADD("audio_segments_silent", audio_streams_unspotted(v->audio));
	ADD("rtcp_packets", v->rtcp);
#undef ADD
	json_print(o);
}

static void sip_msg(const struct fl_sip_msg *msg, void *arg)
{
	struct replay *r = arg;
	struct voip *v = &r->v;

	if (msg->error == FL_SIP_ERR_NOT_SIP) {
		v->sip_not_sip++;
	} else if (msg->error) {
		v->sip_malformed++;
		v->malformed_by[msg->error]++;
	} else {
		v->sip_messages++;
		v->total_messages++;
		fl_voip_dialog_msg(v->dialogs, msg, v->now_ms);
	}
}

static void voip_tcp_close(struct voip *v, struct tcp_dir *t)
{
	v->tcp_gaps += t->stream.stats.gaps;
	v->tcp_skipped += t->stream.stats.skipped;
	v->sip_keepalives += t->stream.stats.keepalives;
	fl_sip_stream_release(&t->stream);
	HASH_DEL(v->tcp, t);
	v->tcp_count--;
	free(t);
}

/* One direction of a TCP connection that carries SIP: on port 5060 from
 * its SYN or first segment, elsewhere from a segment that starts like SIP. */
static void voip_tcp(struct replay *r, const struct pkt *k, __u16 sport,
		     __u16 dport, const __u8 *tcp, __u32 hl, __u32 plen)
{
	struct voip *v = &r->v;
	struct tcp_key key = { .src = k->src,
			       .dst = k->dst,
			       .sport = sport,
			       .dport = dport,
			       .family = k->family };
	const char *payload = (const char *)tcp + hl;
	__u8 flags = tcp[13];
	struct tcp_dir *t;

	HASH_FIND(hh, v->tcp, &key, sizeof(key), t);
	if (!t) {
		if ((flags & 0x04) || (!plen && !(flags & 0x02)))
			return; /* a RST, or an ACK: nothing to frame */
		if (sport != FL_SIP_PORT && dport != FL_SIP_PORT &&
		    (!plen ||
		     fl_sip_looks_like(payload, plen) != FL_SIP_LOOKS_YES))
			return;
		if (v->tcp_count >= VOIP_TCP_MAX) {
			v->tcp_dropped++;
			return;
		}
		t = calloc(1, sizeof(*t));
		if (!t) {
			v->tcp_dropped++;
			return;
		}
		t->key = key;
		fl_sip_stream_init(&t->stream, 0);
		HASH_ADD(hh, v->tcp, key, sizeof(key), t);
		v->tcp_count++;
	}
	fl_sip_stream_feed(&t->stream, get32(tcp + 4), flags & 0x02, payload,
			   plen, sip_msg, r);
	if (flags & (0x01 | 0x04)) /* FIN, RST: that direction is done */
		voip_tcp_close(v, t);
}

/* The name an SDP media gives payload type @pt, or NULL. */
static const char *sdp_codec_name(const struct fl_sdp_media *m, __u8 pt)
{
	int i;

	for (i = 0; m && i < m->ncodecs; i++)
		if (m->codecs[i].pt == pt && m->codecs[i].name[0])
			return m->codecs[i].name;
	return NULL;
}

static void voip_udp(struct replay *r, const struct pkt *k, __u16 sport,
		     __u16 dport, const __u8 *p, __u32 len)
{
	struct voip *v = &r->v;
	const struct fl_sdp_media *media = NULL;
	const struct fl_voip_dialog *d;
	const struct fl_rtp_stream *s;
	struct fl_rtp_key key;
	struct fl_rtp_hdr h;

	if (sport == FL_SIP_PORT || dport == FL_SIP_PORT) {
		if (fl_sip_is_keepalive((const char *)p, len))
			v->sip_keepalives++;
		else if (fl_sip_looks_like((const char *)p, len) !=
			 FL_SIP_LOOKS_YES)
			v->sip_not_sip++;
		else
			fl_sip_parse_datagram((const char *)p, len, sip_msg, r);
		return;
	}
	if (fl_sip_looks_like((const char *)p, len) == FL_SIP_LOOKS_YES) {
		fl_sip_parse_datagram((const char *)p, len, sip_msg, r);
		return;
	}
	if (fl_rtcp_check(p, len)) {
		v->rtcp++;
		return;
	}
	if (fl_rtp_parse(p, len, &h))
		return;
	/* the receiver's SDP says what its payload types are */
	d = fl_voip_media_lookup(v->dialogs, k->family, &k->dst, dport, &media);
	if (!d)
		d = fl_voip_media_lookup(v->dialogs, k->family, &k->src, sport,
					 &media);
	memset(&key, 0, sizeof(key));
	key.src = k->src;
	key.dst = k->dst;
	key.sport = sport;
	key.dport = dport;
	key.ssrc = h.ssrc;
	key.family = k->family;
	s = fl_voip_rtp_packet(v->rtp, &key, &h, len, v->now_us,
			       d ? fl_sdp_clock_rate(media, h.pt) : 0,
			       d != NULL);
	/* audio from RTP beyond doubt, as the streams printed */
	if (s && (s->confirmed || s->negotiated))
		audio_streams_packet(v->audio, &key, &h, p,
				     d ? sdp_codec_name(media, h.pt) : NULL);
}

static void voip_packet(struct replay *r, const struct pkt *k)
{
	struct voip *v = &r->v;
	const __u8 *l4 = k->l3 + k->l4;
	__u32 caplen = k->l3_len - k->l4, len, hl;
	__u16 sport = ntohs(k->sport), dport = ntohs(k->dport);

	if (k->proto != IPPROTO_UDP && k->proto != IPPROTO_TCP)
		return;
	if (k->first_fragment) {
		v->fragments++;
		return;
	}
	if (k->proto == IPPROTO_UDP) {
		if (k->l4_len < 8 || caplen < 8)
			return;
		len = get16(l4 + 4);
		if (len < 8 || len > k->l4_len)
			return; /* malformed UDP */
		if (len > caplen) {
			v->cut_short++; /* the capture's snap length */
			return;
		}
		voip_udp(r, k, sport, dport, l4 + 8, len - 8);
		return;
	}
	if (k->l4_len < 20 || caplen < 20)
		return;
	hl = (l4[12] >> 4) * 4;
	if (hl < 20 || hl > k->l4_len)
		return;
	if (k->l4_len > caplen) {
		v->cut_short++;
		return;
	}
	voip_tcp(r, k, sport, dport, l4, hl, k->l4_len - hl);
}

static int voip_begin(struct replay *r)
{
	struct fl_voip_dialog_conf dc = {
		.max_dialogs = VOIP_DIALOGS_MAX,
		.setup_ms = VOIP_SETUP_MS,
		.linger_ms = VOIP_LINGER_MS,
		.seed = r->hash_seed,
	};
	struct fl_voip_rtp_conf rc = {
		.max_streams = VOIP_STREAMS_MAX,
		.seed = r->hash_seed,
	};
	__u64 total = r->v.total_messages;

	memset(&r->v, 0, sizeof(r->v));
	r->v.total_messages = total;
	r->v.dialogs = fl_voip_dialogs_new(&dc);
	r->v.rtp = fl_voip_rtp_new(&rc);
	r->v.audio = audio_streams_new(VOIP_AUDIO_MAX, r->audio_dir, r->kws);
	if (!r->v.dialogs || !r->v.rtp || !r->v.audio) {
		fl_voip_dialogs_free(r->v.dialogs);
		fl_voip_rtp_free(r->v.rtp);
		audio_streams_free(r->v.audio);
		fprintf(stderr, PROG ": --voip: %s\n", strerror(ENOMEM));
		return -ENOMEM;
	}
	return 0;
}

/* The file ended: what is left is printed, then its summary. */
static void voip_end(struct replay *r)
{
	struct voip *v = &r->v;
	struct tcp_dir *t, *tmp;

	HASH_ITER(hh, v->tcp, t, tmp)
		voip_tcp_close(v, t);
	fl_voip_dialogs_flush(v->dialogs, print_dialog, r);
	audio_streams_finish(v->audio);
	fl_voip_rtp_flush(v->rtp, print_stream, r);
	print_voip_summary(r);
	fl_voip_dialogs_free(v->dialogs);
	fl_voip_rtp_free(v->rtp);
	audio_streams_free(v->audio);
	v->dialogs = NULL;
	v->rtp = NULL;
	v->audio = NULL;
}

static int replay_file(struct replay *r, const char *file)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct pcap_pkthdr *hdr;
	const u_char *data;
	__u64 last_s = 0;
	pcap_t *pcap;
	int dlt, rc;

	r->file = file;
	pcap = pcap_open_offline_with_tstamp_precision(
		file, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
	if (!pcap) {
		const char *why = errbuf;
		size_t n = strlen(file);

		/* libpcap names the file itself for some errors */
		if (!strncmp(why, file, n) && !strncmp(why + n, ": ", 2))
			why += n + 2;
		fprintf(stderr, PROG ": %s: cannot read it: %s\n", file, why);
		return -1;
	}
	dlt = pcap_datalink(pcap);
	if (link_ip_offset(dlt, NULL, 0) == -2) {
		fprintf(stderr,
			PROG
			": %s: link type %s (%d) is not supported (see --help)\n",
			file, pcap_datalink_val_to_name(dlt) ?: "unknown", dlt);
		pcap_close(pcap);
		return -1;
	}
	if (r->voip && voip_begin(r)) {
		pcap_close(pcap);
		return -1;
	}
	r->last_ms = 0;
	while ((rc = pcap_next_ex(pcap, &hdr, &data)) == 1) {
		struct fl_cls_flow *flow;
		struct fl_flow_key key;
		struct pkt k;
		__u64 now_ms, now_us;
		int off, dir;

		r->packets++;
		/* Capture time; never backwards (ndpiReader repairs it so) */
		now_us = (__u64)hdr->ts.tv_sec * 1000000 + hdr->ts.tv_usec;
		if (now_us < r->v.now_us)
			now_us = r->v.now_us;
		r->v.now_us = now_us;
		now_ms = (__u64)hdr->ts.tv_sec * 1000 + hdr->ts.tv_usec / 1000;
		if (now_ms < r->last_ms)
			now_ms = r->last_ms;
		r->last_ms = now_ms;
		r->v.now_ms = now_ms;
		if (now_ms / 1000 != last_s) {
			last_s = now_ms / 1000;
			if (r->voip) {
				fl_voip_dialogs_expire(r->v.dialogs, now_ms,
						       print_dialog, r);
				fl_voip_rtp_expire(r->v.rtp, now_ms,
						   print_stream, r);
			} else {
				fl_cls_expire(r->cls, now_ms, print_flow, r);
			}
		}
		/* ndpiReader's floor: room for an IP and a UDP header */
		if (hdr->caplen < 28) {
			r->malformed++;
			continue;
		}
		off = link_ip_offset(dlt, data, hdr->caplen);
		if (off < 0) {
			r->not_ip++;
			continue;
		}
		switch (parse_ip(data, hdr->caplen, off, &k)) {
		case PKT_OK:
			break;
		case PKT_NOT_IP:
			r->not_ip++;
			continue;
		case PKT_FRAGMENT:
			r->fragments++;
			continue;
		case PKT_MALFORMED:
			r->malformed++;
			continue;
		}
		r->ip_packets++;
		if (r->voip) {
			voip_packet(r, &k);
			continue;
		}
		dir = fl_flow_key_make(&key, &k.src, &k.dst, k.sport, k.dport,
				       k.proto, k.family);
		fl_cls_packet(r->cls, k.l3, k.l3_len, now_ms, &key,
			      fl_flow_hash(&key), dir, &flow);
		if (r->stats)
			account_peak(r);
	}
	if (rc == PCAP_ERROR)
		fprintf(stderr,
			PROG
			": %s: truncated or damaged: %s (its flows so far are printed)\n",
			file, pcap_geterr(pcap));
	if (r->voip) {
		voip_end(r);
	} else {
		r->finishing = true;
		fl_cls_finish(r->cls, print_flow, r);
		r->finishing = false;
	}
	pcap_close(pcap);
	return 0;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void print_stats(struct replay *r, double seconds)
{
	struct fl_cls_stats s;
	struct json_object *o = json_object_new_object();
	size_t flow_bytes = sizeof(struct fl_cls_flow);

	fl_cls_get_stats(r->cls, &s);
#define ADD(name, v) json_object_object_add(o, name, json_object_new_int64(v))
	ADD("files", r->files);
	ADD("files_failed", r->files_failed);
	ADD("packets", r->packets);
	ADD("ip_packets", r->ip_packets);
	ADD("malformed", r->malformed);
	ADD("not_ip", r->not_ip);
	ADD("fragments", r->fragments);
	ADD("flows", r->flows);
	ADD("fed", s.fed);
	ADD("classified", s.classified);
	ADD("gave_up", s.gave_up);
	ADD("guessed", s.guessed);
	ADD("errors", s.errors);
	json_object_object_add(o, "seconds", json_object_new_double(seconds));
	ADD("pps", seconds > 0 ? (__u64)(r->packets / seconds) : 0);
	/* Memory in a worker: the table's entry for every flow, plus nDPI's
	 * state (the struct and what hangs off it) for those still being
	 * dissected; measured when the table held the most. */
	ADD("flow_entry_bytes", flow_bytes);
	ADD("ndpi_flow_struct_bytes", fl_cls_ndpi_flow_size());
	ADD("table_memory", r->base_memory); /* fixed: buckets, wheel */
	ADD("peak_memory", r->peak_memory);
	ADD("peak_flows", r->peak_flows);
	ADD("peak_dissecting", r->peak_dissecting);
	ADD("peak_memory_per_flow",
	    r->peak_flows ? (r->peak_memory - r->base_memory) / r->peak_flows :
			    0);
	ADD("ndpi_bytes_per_dissecting_flow",
	    r->peak_dissecting ? (r->peak_memory - r->base_memory -
				  r->peak_flows * flow_bytes) /
					 r->peak_dissecting :
				 0);
#undef ADD
	fprintf(stderr, "%s\n",
		json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

/* --stats with --voip: what was read, and how fast */
static void print_voip_stats(struct replay *r, double seconds)
{
	struct json_object *o = json_object_new_object();

#define ADD(name, v) json_object_object_add(o, name, json_object_new_int64(v))
	ADD("files", r->files);
	ADD("files_failed", r->files_failed);
	ADD("packets", r->packets);
	ADD("ip_packets", r->ip_packets);
	ADD("malformed", r->malformed);
	ADD("not_ip", r->not_ip);
	ADD("fragments", r->fragments);
	ADD("sip_messages", r->v.total_messages);
	json_object_object_add(o, "seconds", json_object_new_double(seconds));
	ADD("pps", seconds > 0 ? (__u64)(r->packets / seconds) : 0);
	ADD("sip_messages_per_s",
	    seconds > 0 ? (__u64)(r->v.total_messages / seconds) : 0);
#undef ADD
	fprintf(stderr, "%s\n",
		json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

static int parse_count(const char *what, const char *s, unsigned long max,
		       unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || *end || !*s || *out < 1 || *out > max) {
		fprintf(stderr, PROG ": bad %s '%s': a number, 1-%lu\n", what,
			s, max);
		return -1;
	}
	return 0;
}

enum {
	OPT_FEED = 256,
	OPT_MAX_TCP,
	OPT_MAX_UDP,
	OPT_IDLE,
	OPT_STATS,
	OPT_IPFIX,
	OPT_DOMAIN,
	OPT_VOIP,
	OPT_AUDIO_DIR,
	OPT_SPAM,
	OPT_KEYWORDS
};

/* --keywords FILE: its keywords, or -1 with the line at fault named. */
static int keywords_load(const char *path, struct fl_kws_keyword *kw,
			 unsigned int *n)
{
	char line[256], err[256], *hash;
	unsigned int lineno = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		fprintf(stderr, PROG ": --keywords %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	*n = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[strspn(line, " \t")])
			continue;
		if (*n == FL_KWS_MAX) {
			fprintf(stderr,
				PROG
				": --keywords %s:%u: more than %d keywords\n",
				path, lineno, FL_KWS_MAX);
			goto bad;
		}
		if (fl_kws_parse(line, &kw[*n], err, sizeof(err))) {
			fprintf(stderr, PROG ": --keywords %s:%u: %s\n", path,
				lineno, err);
			goto bad;
		}
		(*n)++;
	}
	fclose(f);
	if (!*n) {
		fprintf(stderr, PROG ": --keywords %s: no keywords in it\n",
			path);
		return -1;
	}
	return 0;
bad:
	fclose(f);
	return -1;
}

int replay_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "feed", required_argument, NULL, OPT_FEED },
		{ "max-tcp", required_argument, NULL, OPT_MAX_TCP },
		{ "max-udp", required_argument, NULL, OPT_MAX_UDP },
		{ "idle", required_argument, NULL, OPT_IDLE },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "ipfix", required_argument, NULL, OPT_IPFIX },
		{ "domain", required_argument, NULL, OPT_DOMAIN },
		{ "voip", no_argument, NULL, OPT_VOIP },
		{ "audio-dir", required_argument, NULL, OPT_AUDIO_DIR },
		{ "spam", no_argument, NULL, OPT_SPAM },
		{ "keywords", required_argument, NULL, OPT_KEYWORDS },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	/* all by default: xdp matches ndpiReader on fewer flows (96.4 %
	 * against 99.9 % on nDPI's own captures), all of them flows whose
	 * TCP never carries payload, which XDP never escalates */
	struct fl_cls_opts opts = { .feed = FL_CLS_FEED_ALL };
	struct replay r = {};
	const char *collector = NULL;
	struct sockaddr_storage ss;
	struct fl_ipfix ipfix;
	socklen_t sslen = 0;
	__u32 domain = 0;
	const char *classifier_opt = NULL; /* one --voip has no use for */
	const char *keywords = NULL;
	struct fl_kws_keyword kw[FL_KWS_MAX];
	const struct fl_kws_keyword *kwp;
	unsigned int nkw = 0;
	bool spam = false;
	char err[256];
	unsigned long n;
	double start;
	int c, i, idx, failed = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "qh", longopts, &idx)) != -1) {
		if (c >= OPT_FEED && c <= OPT_DOMAIN && c != OPT_STATS &&
		    !classifier_opt)
			classifier_opt = longopts[idx].name;
		switch (c) {
		case OPT_FEED:
			if (!strcmp(optarg, "xdp")) {
				opts.feed = FL_CLS_FEED_XDP;
			} else if (!strcmp(optarg, "all")) {
				opts.feed = FL_CLS_FEED_ALL;
			} else {
				fprintf(stderr,
					PROG
					": unknown --feed '%s' (xdp or all)\n",
					optarg);
				return 2;
			}
			break;
		case OPT_MAX_TCP:
		case OPT_MAX_UDP:
			if (parse_count(c == OPT_MAX_TCP ? "--max-tcp" :
							   "--max-udp",
					optarg, 65535, &n))
				return 2;
			if (c == OPT_MAX_TCP)
				opts.max_tcp = n;
			else
				opts.max_udp = n;
			break;
		case OPT_IDLE:
			if (parse_count("--idle", optarg, 86400, &n))
				return 2;
			opts.idle_ms = n * 1000;
			break;
		case OPT_STATS:
			r.stats = true;
			break;
		case OPT_IPFIX:
			if (fl_ipfix_parse_collector(optarg, &ss, &sslen, err,
						     sizeof(err))) {
				fprintf(stderr, PROG ": --ipfix: %s\n", err);
				return 2;
			}
			collector = optarg;
			break;
		case OPT_DOMAIN:
			if (!strcmp(optarg, "0")) {
				domain = 0;
				break;
			}
			if (parse_count("--domain", optarg, 0xffffffffUL, &n))
				return 2;
			domain = n;
			break;
		case OPT_VOIP:
			r.voip = true;
			break;
		case OPT_AUDIO_DIR:
			r.audio_dir = optarg;
			break;
		case OPT_SPAM:
			spam = true;
			break;
		case OPT_KEYWORDS:
			spam = true;
			keywords = optarg;
			break;
		case 'q':
			r.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'flowlensd replay --help'.\n");
			return 2;
		}
	}
	if (r.voip && classifier_opt) {
		fprintf(stderr,
			PROG
			": --%s sets up the flow classifier, which --voip does not run\n",
			classifier_opt);
		return 2;
	}
	if (r.audio_dir && !r.voip) {
		fprintf(stderr, PROG ": --audio-dir needs --voip\n");
		return 2;
	}
	if (spam && !r.voip) {
		fprintf(stderr, PROG ": --%s needs --voip\n",
			keywords ? "keywords" : "spam");
		return 2;
	}
	if (r.audio_dir && access(r.audio_dir, W_OK)) {
		fprintf(stderr, PROG ": --audio-dir %s: %s\n", r.audio_dir,
			strerror(errno));
		return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, PROG ": no capture file given (see --help)\n");
		return 2;
	}
	r.several = argc - optind > 1;
	if (spam) {
		if (keywords) {
			if (keywords_load(keywords, kw, &nkw))
				return 2;
			kwp = kw;
		} else {
			nkw = fl_kws_default(&kwp);
		}
		r.kws = fl_kws_new(kwp, nkw, err, sizeof(err));
		if (!r.kws) {
			fprintf(stderr, PROG ": --%s: %s\n",
				keywords ? "keywords" : "spam", err);
			return keywords ? 2 : 1;
		}
	}
	if (r.voip) {
		if (getrandom(&r.hash_seed, sizeof(r.hash_seed), 0) !=
		    sizeof(r.hash_seed))
			r.hash_seed = (__u64)time(NULL) * 0x9e3779b97f4a7c15ULL;
		start = now_seconds();
		for (i = optind; i < argc; i++) {
			r.files++;
			if (replay_file(&r, argv[i])) {
				r.files_failed++;
				failed = 1;
			}
		}
		fflush(stdout);
		if (r.stats)
			print_voip_stats(&r, now_seconds() - start);
		fl_kws_free(r.kws);
		return failed;
	}
	r.cls = fl_cls_new(&opts);
	if (!r.cls) {
		fprintf(stderr, PROG ": cannot set up nDPI: %s\n",
			strerror(errno));
		return 1;
	}
	if (collector) {
		int ret = fl_ipfix_open(&ipfix, &ss, sslen, domain);

		if (ret) {
			fprintf(stderr, PROG ": --ipfix %s: %s\n", collector,
				strerror(-ret));
			fl_cls_free(r.cls);
			return 1;
		}
		/* offline: wait for room rather than lose records */
		ipfix.blocking = true;
		r.ipfix = &ipfix;
	}
	r.base_memory = r.peak_memory = fl_cls_memory(r.cls);
	start = now_seconds();
	for (i = optind; i < argc; i++) {
		r.files++;
		if (replay_file(&r, argv[i])) {
			r.files_failed++;
			failed = 1;
		}
	}
	fflush(stdout);
	if (r.ipfix) {
		fl_ipfix_flush(r.ipfix, time(NULL));
		if (r.ipfix->stats.lost_records)
			fprintf(stderr,
				PROG ": --ipfix %s: %llu records lost (%s)\n",
				collector,
				(unsigned long long)r.ipfix->stats.lost_records,
				strerror(r.ipfix->stats.last_errno));
		fl_ipfix_close(r.ipfix);
	}
	if (r.stats)
		print_stats(&r, now_seconds() - start);
	fl_cls_free(r.cls);
	return failed;
}
