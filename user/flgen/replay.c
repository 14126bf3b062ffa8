// SPDX-License-Identifier: Apache-2.0
/*
 * flgen replay: the frames of a pcap or pcapng file (read by libpcap),
 * sent one BPF_PROG_RUN each through flgen_replay, at the file's own pace
 * or as fast as possible, once or in loops.
 *
 * MACs are rewritten for the lab unless --keep-macs: the source becomes
 * the interface's (or --src-mac), the destination --dst-mac, or the next
 * hop's towards --dst, or by default the next hop's towards each packet's
 * own destination address (resolved before the first frame is sent, so
 * the timing is not disturbed). Non-IP, broadcast and multicast frames
 * keep their destination MAC. Frames the kernel cannot send as live
 * frames (too large, or captured truncated) are skipped and counted.
 *
 * (libpcap's <pcap/bpf.h> and the kernel's <linux/bpf.h> both define
 * struct bpf_insn, so this file reaches libbpf only through live.c.)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <linux/if_ether.h>

#include "flgen.h"
#include "log.h"
#include "prefix.h"

#define VLAN_HLEN 4
#define SLEEP_SLICE_NS 100000000ULL

enum skip_reason {
	SKIP_TOO_LARGE,
	SKIP_TRUNCATED,
	SKIP_TOO_SHORT,
	SKIP_COUNT,
};

static const char *const skip_names[SKIP_COUNT] = {
	[SKIP_TOO_LARGE] = "too_large",
	[SKIP_TRUNCATED] = "truncated",
	[SKIP_TOO_SHORT] = "too_short",
};

struct next_hop {
	struct {
		int family;
		union fl_addr addr;
	} key;
	unsigned char mac[6];
	UT_hash_handle hh;
};

struct replay {
	struct flgen_options *opt;
	struct flgen_iface ifc;
	unsigned int max_len;
	enum { DST_KEEP, DST_FIXED, DST_PER_PACKET } dst_mode;
	unsigned char src_mac[6], dst_mac[6];
	struct next_hop *next_hops;
	int prog_fd;
	uint64_t skipped[SKIP_COUNT];
	uint64_t frames; /* in the file */
	uint64_t ran;
};

static pcap_t *replay_open(const char *file, bool quiet)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *pcap;

	pcap = pcap_open_offline_with_tstamp_precision(
		file, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!pcap) {
		if (quiet)
			return NULL;
		if (strstr(errbuf, file)) /* libpcap named it already */
			flgen_error("cannot read %s", errbuf);
		else
			flgen_error("cannot read %s: %s", file, errbuf);
		return NULL;
	}
	if (pcap_datalink(pcap) != DLT_EN10MB) {
		if (!quiet)
			flgen_error(
				"%s: link type %s is not supported (Ethernet captures only)",
				file,
				pcap_datalink_val_to_name(pcap_datalink(pcap)) ?:
					"unknown");
		pcap_close(pcap);
		return NULL;
	}
	return pcap;
}

/* The destination IP address of an Ethernet frame, past VLAN tags. */
static int frame_dst(const unsigned char *frame, unsigned int len, int *family,
		     union fl_addr *dst)
{
	unsigned int off = 12;
	uint16_t proto;

	for (;;) {
		if (off + 2 > len)
			return -EINVAL;
		proto = frame[off] << 8 | frame[off + 1];
		if (proto != ETH_P_8021Q && proto != ETH_P_8021AD)
			break;
		off += VLAN_HLEN;
	}
	off += 2;
	memset(dst, 0, sizeof(*dst));
	if (proto == ETH_P_IP && off + 20 <= len) {
		*family = AF_INET;
		memcpy(dst->b, frame + off + 16, 4);
		/* multicast and limited broadcast keep their MAC */
		return (dst->b[0] & 0xf0) == 0xe0 || dst->w[0] == 0xffffffff ?
			       -EINVAL :
			       0;
	}
	if (proto == ETH_P_IPV6 && off + 40 <= len) {
		*family = AF_INET6;
		memcpy(dst->b, frame + off + 24, 16);
		return dst->b[0] == 0xff ? -EINVAL : 0;
	}
	return -EINVAL;
}

static struct next_hop *next_hop_find(struct replay *r, int family,
				      const union fl_addr *addr)
{
	struct next_hop probe = {}, *hop;

	probe.key.family = family;
	probe.key.addr = *addr;
	HASH_FIND(hh, r->next_hops, &probe.key, sizeof(probe.key), hop);
	return hop;
}

static int next_hop_resolve(struct replay *r, int family,
			    const union fl_addr *addr)
{
	struct next_hop *hop;
	int err;

	if (next_hop_find(r, family, addr))
		return 0;
	hop = calloc(1, sizeof(*hop));
	if (!hop)
		return -ENOMEM;
	hop->key.family = family;
	hop->key.addr = *addr;
	err = flgen_next_hop_mac(&r->ifc, family, addr, hop->mac);
	if (err) {
		free(hop);
		return err;
	}
	HASH_ADD(hh, r->next_hops, key, sizeof(hop->key), hop);
	return 0;
}

/* First pass: the file is readable, has frames, and every destination's
 * next hop is known before the clock starts. */
static int replay_scan(struct replay *r)
{
	struct pcap_pkthdr *hdr;
	const u_char *data;
	union fl_addr dst;
	pcap_t *pcap;
	int family, ret, err = 0;

	pcap = replay_open(r->opt->file, false);
	if (!pcap)
		return -EINVAL;
	while ((ret = pcap_next_ex(pcap, &hdr, &data)) == 1) {
		r->frames++;
		if (r->dst_mode == DST_PER_PACKET &&
		    !frame_dst(data, hdr->caplen, &family, &dst)) {
			err = next_hop_resolve(r, family, &dst);
			if (err)
				break;
		}
	}
	if (!err && ret == PCAP_ERROR) {
		flgen_error("%s: %s", r->opt->file, pcap_geterr(pcap));
		err = -EINVAL;
	}
	pcap_close(pcap);
	if (!err && !r->frames) {
		flgen_error("%s has no packets", r->opt->file);
		err = -ENODATA;
	}
	return err;
}

static void rewrite_macs(struct replay *r, unsigned char *frame,
			 unsigned int len)
{
	union fl_addr dst;
	struct next_hop *hop;
	int family;

	if (r->opt->keep_macs)
		return;
	memcpy(frame + 6, r->src_mac, 6);
	if (r->dst_mode == DST_FIXED) {
		memcpy(frame, r->dst_mac, 6);
	} else if (r->dst_mode == DST_PER_PACKET &&
		   !frame_dst(frame, len, &family, &dst)) {
		hop = next_hop_find(r, family, &dst);
		if (hop)
			memcpy(frame, hop->mac, 6);
	}
}

static uint64_t ts_ns(const struct pcap_pkthdr *hdr)
{
	/* tv_usec holds nanoseconds: opened with PCAP_TSTAMP_PRECISION_NANO */
	return hdr->ts.tv_sec * 1000000000ULL + hdr->ts.tv_usec;
}

/* Sleeps until due, looking at SIGINT/SIGTERM every 100 ms; false if one
 * came. */
static bool wait_until(uint64_t due)
{
	uint64_t now = flgen_now_ns();

	while (now < due) {
		if (flgen_signal_wait(0))
			return false;
		flgen_sleep_until(due - now > SLEEP_SLICE_NS ?
					  now + SLEEP_SLICE_NS :
					  due);
		now = flgen_now_ns();
	}
	return true;
}

/* One pass over the file. *clock_ns is when the file's first frame is due
 * (original timing); it advances by the file's length for the next loop. */
static int replay_once(struct replay *r, uint64_t *clock_ns, bool *stopped)
{
	static unsigned char frame[65536];
	uint64_t first_ts = 0, last_ts = 0;
	bool have_first = false;
	struct pcap_pkthdr *hdr;
	const u_char *data;
	pcap_t *pcap;
	int ret, err = 0;

	pcap = replay_open(r->opt->file, false);
	if (!pcap)
		return -EINVAL;
	while ((ret = pcap_next_ex(pcap, &hdr, &data)) == 1) {
		if (!have_first) {
			first_ts = ts_ns(hdr);
			have_first = true;
		}
		last_ts = ts_ns(hdr);

		if (hdr->caplen < hdr->len) {
			r->skipped[SKIP_TRUNCATED]++;
			continue;
		}
		if (hdr->len < FLGEN_ETH_HLEN) {
			r->skipped[SKIP_TOO_SHORT]++;
			continue;
		}
		if (hdr->len > r->max_len) {
			r->skipped[SKIP_TOO_LARGE]++;
			continue;
		}
		memcpy(frame, data, hdr->len);
		rewrite_macs(r, frame, hdr->len);

		if (r->opt->timing == TIMING_ORIGINAL) {
			uint64_t offset =
				last_ts > first_ts ? last_ts - first_ts : 0;

			if (!wait_until(*clock_ns + offset)) {
				*stopped = true;
				break;
			}
		} else if (flgen_signal_wait(0)) {
			*stopped = true;
			break;
		}
		err = flgen_live_run(r->prog_fd, r->ifc.ifindex, frame,
				     hdr->len, 1, 1);
		if (err) {
			flgen_error("sending a %u-byte frame on %s failed: %s",
				    hdr->len, r->ifc.name, strerror(-err));
			break;
		}
		r->ran++;
	}
	if (!err && ret == PCAP_ERROR) {
		flgen_error("%s: %s", r->opt->file, pcap_geterr(pcap));
		err = -EINVAL;
	}
	pcap_close(pcap);
	if (last_ts > first_ts)
		*clock_ns += last_ts - first_ts;
	return err;
}

static int replay_macs(struct replay *r)
{
	struct flgen_options *opt = r->opt;

	if (opt->keep_macs) {
		if (opt->src_mac.set || opt->dst_mac.set || opt->dst.set) {
			flgen_error(
				"--keep-macs keeps the file's MACs: it does not go with --src-mac, --dst-mac or --dst");
			return -EINVAL;
		}
		r->dst_mode = DST_KEEP;
		return 0;
	}
	memcpy(r->src_mac, opt->src_mac.set ? opt->src_mac.b : r->ifc.mac, 6);
	if (opt->dst_mac.set) {
		if (opt->dst.set) {
			flgen_error("give --dst-mac or --dst, not both");
			return -EINVAL;
		}
		memcpy(r->dst_mac, opt->dst_mac.b, 6);
		r->dst_mode = DST_FIXED;
	} else if (opt->dst.set) {
		if (!flgen_addr_is_fixed(&opt->dst)) {
			flgen_error(
				"replay: --dst takes one address (the next hop's MAC is looked up towards it)");
			return -EINVAL;
		}
		r->dst_mode = DST_FIXED;
		return flgen_next_hop_mac(&r->ifc, opt->dst.family,
					  &opt->dst.first, r->dst_mac);
	} else {
		r->dst_mode = DST_PER_PACKET;
	}
	return 0;
}

static void pin_to_current_cpu(int *cpu)
{
	cpu_set_t set;

	*cpu = sched_getcpu();
	if (*cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(*cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

int flgen_cmd_replay(struct flgen_options *opt)
{
	struct replay r = { .opt = opt };
	struct flgen_if_stats before, after;
	struct flgen_counter sent;
	struct flgen_result result = {};
	struct next_hop *hop, *tmp;
	struct flgen_config cfg = {};
	struct flgen_bpf *skel = NULL;
	uint64_t loop, clock_ns, start_ns;
	bool stopped = false;
	unsigned int live_max;
	int err;

	if (!opt->file) {
		flgen_error(
			"missing the capture file: flgen replay -i IFACE [OPTIONS] FILE");
		return -EINVAL;
	}
	err = flgen_iface_get(opt->ifname, &r.ifc);
	if (err)
		return err;
	if (!r.ifc.up) {
		flgen_error("%s is down (ip link set dev %s up)", r.ifc.name,
			    r.ifc.name);
		return -ENETDOWN;
	}
	err = replay_macs(&r);
	if (err)
		goto out;
	err = replay_scan(&r);
	if (err)
		goto out;

	err = flgen_live_load(&cfg, &skel);
	if (err)
		goto out;
	r.prog_fd = flgen_live_replay_fd(skel);
	/* The MTU, plus one VLAN tag the frame may carry, as the kernel
	 * allows; and no more than a live frame can hold. */
	r.max_len = r.ifc.mtu + FLGEN_ETH_HLEN + VLAN_HLEN;
	err = flgen_check_frame_size(skel, &r.ifc, FLGEN_MIN_FRAME, VLAN_HLEN,
				     "frame size");
	if (err)
		goto out;
	live_max = flgen_live_max_size(skel, &r.ifc);
	if (live_max < r.max_len)
		r.max_len = live_max;
	pr_debug("replay: %llu frames in %s, at most %u bytes each",
		 (unsigned long long)r.frames, opt->file, r.max_len);

	pin_to_current_cpu(&result.cpu);
	flgen_iface_stats(&r.ifc, &before);
	start_ns = clock_ns = flgen_now_ns();
	for (loop = 0; !opt->loops || loop < opt->loops; loop++) {
		err = replay_once(&r, &clock_ns, &stopped);
		if (err || stopped)
			break;
	}
	result.seconds = (flgen_now_ns() - start_ns) / 1e9;

	if (flgen_live_sent_total(skel, &sent)) {
		flgen_error("cannot read the sent counters");
		err = err ?: -EIO;
		goto out;
	}
	result.packets = sent.packets;
	result.bytes = sent.bytes;
	if (result.packets != r.ran)
		pr_warn("the program sent %llu frames, the kernel ran it %llu times",
			(unsigned long long)result.packets,
			(unsigned long long)r.ran);
	flgen_iface_settle(&r.ifc, &before, result.packets, &after);
	flgen_report_send(opt, &r.ifc, &result, 1, &before, &after, r.skipped,
			  skip_names, SKIP_COUNT);
	flgen_iface_check_delivery(&r.ifc, &before, &after, result.packets);
out:
	HASH_ITER(hh, r.next_hops, hop, tmp) {
		HASH_DEL(r.next_hops, hop);
		free(hop);
	}
	flgen_live_destroy(skel);
	return err;
}
