/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * API: dscp_remark() - rewrites a packet's DSCP, for the rules' mark
 * (bpf/rules.h) and the application policies' (bpf/policy.h).
 */
#ifndef FLOWLENS_BPF_DSCP_H
#define FLOWLENS_BPF_DSCP_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <flowlens/flowlens.h>

#include "parse.h"

/*
 * Writes the DSCP a mark asks for into the packet's IP header (ECN kept).
 * IPv4: the checksum changes by the difference of the first header word,
 * as RFC 1624 updates it. IPv6: the traffic class straddles the first two
 * bytes.
 */
static __always_inline void dscp_remark(struct xdp_md *ctx,
					struct fl_packet *pkt, __u8 mark)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 dscp = mark & FL_MARK_DSCP;
	__u16 off = pkt->l3_off;

	if (off > 64) /* VLAN tags at most; keeps the verifier's range small */
		return;
	if (pkt->l3_proto == ETH_P_IP) {
		struct iphdr *ip = data + off;
		__u16 old, new;
		__u32 sum;

		if ((void *)(ip + 1) > data_end)
			return;
		/* the 16-bit word that holds the TOS, host order */
		old = bpf_ntohs(*(__be16 *)ip);
		new = (old & 0xff03) | (dscp << 2);
		ip->tos = new & 0xff;
		/* HC' = ~(~HC + ~m + m') */
		sum = (__u16)~bpf_ntohs(ip->check) + (__u16)~old + new;
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		ip->check = bpf_htons((__u16)~sum);
	} else {
		__u8 *b = data + off;

		if ((void *)(b + 2) > data_end)
			return;
		/* version(4) | tc(8) | flow label(20); tc = dscp(6) | ecn(2) */
		b[0] = (b[0] & 0xf0) | (dscp >> 2);
		b[1] = (b[1] & 0x3f) | ((dscp & 3) << 6);
	}
	pkt->dscp = dscp;
}

#endif /* FLOWLENS_BPF_DSCP_H */
