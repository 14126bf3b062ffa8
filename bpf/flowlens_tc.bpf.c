// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * flowlens_tc - tc ingress, right after XDP_PASS: where the XDP program
 * verified a TCP checksum the kernel cannot check correctly on its own
 * (an IPv6 ACK for nftables' synproxy, see include/flowlens/synproxy.h), it
 * left FL_META_CSUM_OK in the metadata; mark the skb's checksum verified.
 * Anything else goes on untouched (TC_ACT_UNSPEC: the next filter runs).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <flowlens/synproxy.h>

#define TC_ACT_UNSPEC (-1)

SEC("tc")
int flowlens_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *meta = (void *)(long)skb->data_meta;

	if (meta + sizeof(__u32) <= data && *(__u32 *)meta == FL_META_CSUM_OK)
		bpf_csum_level(skb, BPF_CSUM_LEVEL_INC);
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
