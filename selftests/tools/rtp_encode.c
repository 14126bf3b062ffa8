// SPDX-License-Identifier: Apache-2.0
/*
 * rtp_encode - 16 kHz mono speech (raw signed 16-bit little-endian, as
 * `sox ... -r 16000 -c 1 -b 16 -e signed -t raw` writes it) to a pcap of
 * one RTP stream, 20 ms a packet, encoded with user/audio/rtp_encode.c:
 * the calls spam scoring is tested on.
 *
 *   rtp_encode --codec PCMU|PCMA|G722|G729|opus [--src ADDR] [--dst ADDR]
 *              [--sport N] [--dport N] [--ssrc N] [--drop SEQ]... IN OUT
 *
 * Ethernet, IPv4 (header checksum computed), UDP (checksum 0, as IPv4
 * allows), RTP version 2 with the codec's payload type (96 for Opus),
 * sequence numbers from 1000, timestamps at the codec's clock (8 kHz for
 * G.711, G.722 and G.729, 48 kHz for Opus), capture times 20 ms apart.
 * --drop leaves a packet out (by its index from 0), repeatable. Prints
 * the packets written.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtp_encode.h"

#define DROPS_MAX 64

static __u16 csum(const __u8 *p, size_t n)
{
	__u32 s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += p[i] << 8 | p[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ~s & 0xffff;
}

/* network order, at any alignment */
#define PUT16(p, v) memcpy((p), &(__u16){ htons(v) }, 2)
#define PUT32(p, v) memcpy((p), &(__u32){ htonl(v) }, 4)

static int usage(void)
{
	fprintf(stderr,
		"usage: rtp_encode --codec PCMU|PCMA|G722|G729|opus [--src ADDR] [--dst ADDR]\n"
		"                  [--sport N] [--dport N] [--ssrc N] [--drop SEQ]... IN.raw OUT.pcap\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "codec", required_argument, NULL, 'c' },
		{ "src", required_argument, NULL, 's' },
		{ "dst", required_argument, NULL, 'd' },
		{ "sport", required_argument, NULL, 'S' },
		{ "dport", required_argument, NULL, 'D' },
		{ "ssrc", required_argument, NULL, 'x' },
		{ "drop", required_argument, NULL, 'r' },
		{},
	};
	enum fl_audio_codec codec = FL_AUDIO_NONE;
	struct in_addr src = { htonl(0xc0000202) }, dst = { htonl(0xc6336402) };
	unsigned long sport = 40000, dport = 6000, ssrc = 0x5eed0001;
	long drops[DROPS_MAX];
	int nr_drops = 0, o, i, n, written = 0;
	int16_t pcm[FL_AUDIO_ENC_SAMPLES];
	__u8 frame[14 + 20 + 8 + 12 + FL_AUDIO_ENC_MAX];
	struct fl_audio_enc *e;
	struct pcap_pkthdr h;
	pcap_dumper_t *out;
	pcap_t *dead;
	FILE *in;
	long idx;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			codec = fl_audio_codec_parse(optarg);
			if (codec == FL_AUDIO_NONE) {
				fprintf(stderr,
					"rtp_encode: unknown codec '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 's':
		case 'd':
			if (!inet_aton(optarg, o == 's' ? &src : &dst)) {
				fprintf(stderr,
					"rtp_encode: '%s' is no IPv4 address\n",
					optarg);
				return 2;
			}
			break;
		case 'S':
			sport = strtoul(optarg, NULL, 0);
			break;
		case 'D':
			dport = strtoul(optarg, NULL, 0);
			break;
		case 'x':
			ssrc = strtoul(optarg, NULL, 0);
			break;
		case 'r':
			if (nr_drops == DROPS_MAX)
				return usage();
			drops[nr_drops++] = strtol(optarg, NULL, 0);
			break;
		default:
			return usage();
		}
	}
	if (codec == FL_AUDIO_NONE || argc - optind != 2)
		return usage();
	in = fopen(argv[optind], "rb");
	if (!in) {
		fprintf(stderr, "rtp_encode: %s: %s\n", argv[optind],
			strerror(errno));
		return 1;
	}
	e = fl_audio_enc_new(codec);
	dead = pcap_open_dead(DLT_EN10MB, 65535);
	out = dead ? pcap_dump_open(dead, argv[optind + 1]) : NULL;
	if (!e || !out) {
		fprintf(stderr, "rtp_encode: %s: cannot write it\n",
			argv[optind + 1]);
		return 1;
	}
	memset(frame, 0, sizeof(frame));
	memcpy(frame,
	       "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00", 14);
	for (idx = 0;; idx++) {
		__u8 *ip = frame + 14, *udp = ip + 20, *rtp = udp + 8;
		bool drop = false;

		memset(pcm, 0, sizeof(pcm));
		if (fread(pcm, sizeof(*pcm), FL_AUDIO_ENC_SAMPLES, in) == 0)
			break;
		n = fl_audio_enc_packet(e, pcm, rtp + 12);
		if (n < 0) {
			fprintf(stderr,
				"rtp_encode: packet %ld: encoder failed\n",
				idx);
			return 1;
		}
		for (i = 0; i < nr_drops; i++)
			drop |= drops[i] == idx;
		if (drop)
			continue;
		rtp[0] = 0x80;
		rtp[1] = fl_audio_codec_pt(codec);
		PUT16(rtp + 2, 1000 + idx);
		PUT32(rtp + 4,
		      160000 + idx * (codec == FL_AUDIO_OPUS ? 960 : 160));
		PUT32(rtp + 8, ssrc);
		PUT16(udp, sport);
		PUT16(udp + 2, dport);
		PUT16(udp + 4, 8 + 12 + n);
		PUT16(udp + 6, 0);
		ip[0] = 0x45;
		PUT16(ip + 2, 20 + 8 + 12 + n);
		ip[8] = 64;
		ip[9] = 17;
		memcpy(ip + 12, &src, 4);
		memcpy(ip + 16, &dst, 4);
		PUT16(ip + 10, 0);
		PUT16(ip + 10, csum(ip, 20));
		h.ts.tv_sec = 1700000000 + idx / 50;
		h.ts.tv_usec = idx % 50 * 20000;
		h.caplen = h.len = 14 + 20 + 8 + 12 + n;
		pcap_dump((u_char *)out, &h, frame);
		written++;
	}
	pcap_dump_close(out);
	pcap_close(dead);
	fl_audio_enc_free(e);
	fclose(in);
	printf("%d\n", written);
	return 0;
}
