/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * API: fl_ipv6_walk() - the one walk over IPv6 extension headers, from the
 * end of the fixed header to the upper-layer (L4) header. The BPF program
 * (bpf/parse.h) and `flowlensd replay` both call it, so both find the same
 * L4 header in the same packet; the workers never walk at all, they read
 * the L4 offset and protocol XDP found from struct fl_xsk_meta (flow.h).
 *
 * Walked: hop-by-hop options (0), routing (43), fragment (44), AH (51),
 * destination options (60) and mobility (135), at most FL_IPV6_MAX_EXT of
 * them. Anything else ends the walk and is the upper-layer protocol (ESP,
 * 50, and No Next Header, 59, included: nothing after them is readable).
 * A fragment header with a non-zero offset ends the walk too: a non-first
 * fragment carries no L4 header (FL_FRAG_LATER), and its next header is
 * the protocol the whole datagram carries.
 *
 * Header-only and free of BPF helpers, so it compiles on both sides: bytes
 * are read through __u8 pointers (no byte order to convert), the loop is
 * bounded, and every read is checked first against the end of the frame
 * (@data_end: in BPF the check the verifier understands) and against the
 * end of the payload the IPv6 header declares (@payload_end: beyond it
 * lies Ethernet padding).
 */
#ifndef FLOWLENS_IPV6_H
#define FLOWLENS_IPV6_H

#include "types.h"
#include "counters.h"

#ifdef __VMLINUX_H__
#define FL_IPV6_INLINE static __always_inline
#else
#define FL_IPV6_INLINE static inline
#endif

#define FL_IPPROTO_HOPOPTS 0
#define FL_IPPROTO_ROUTING 43
#define FL_IPPROTO_FRAGMENT 44
#define FL_IPPROTO_AH 51
#define FL_IPPROTO_DSTOPTS 60
#define FL_IPPROTO_MH 135

/* Enough for hop-by-hop, routing, fragment, AH, two destination options
 * and a mobility header in one packet; more is counted as malformed. */
#define FL_IPV6_MAX_EXT 8
/* The fixed IPv6 header, before the first extension header. */
#define FL_IPV6_HDR_LEN 40

enum fl_frag {
	FL_FRAG_NONE = 0,
	FL_FRAG_FIRST = 1, /* offset 0, more fragments follow: has L4 */
	FL_FRAG_LATER = 2, /* offset > 0: no L4 header */
};

FL_IPV6_INLINE int fl_ipv6_is_ext(__u8 nexthdr)
{
	return nexthdr == FL_IPPROTO_HOPOPTS || nexthdr == FL_IPPROTO_ROUTING ||
	       nexthdr == FL_IPPROTO_DSTOPTS || nexthdr == FL_IPPROTO_MH ||
	       nexthdr == FL_IPPROTO_AH || nexthdr == FL_IPPROTO_FRAGMENT;
}

/*
 * Steps over one extension header at *pos. Returns 1 when the walk goes
 * on, 0 when *nexthdr is the upper-layer protocol, a non-first fragment
 * was found or *err was set. @last: no room left for another header.
 */
FL_IPV6_INLINE int fl_ipv6_ext_step(const __u8 **pos, const void *data_end,
				    const void *payload_end, __u8 *nexthdr,
				    __u8 *frag, __u8 *count, int *err,
				    int last)
{
	const __u8 *hdr = *pos;
	__u32 len, frag_off;

	if (!fl_ipv6_is_ext(*nexthdr))
		return 0;
	if (last) {
		*err = FL_PERR_IP6_EXT_DEPTH;
		return 0;
	}
	/* Every one of them is at least 8 bytes long (AH: 12). */
	if ((const void *)(hdr + 8) > data_end ||
	    (const void *)(hdr + 8) > payload_end)
		goto truncated;

	switch (*nexthdr) {
	case FL_IPPROTO_AH: /* length in 4-byte units, less 2 */
		len = ((__u32)hdr[1] + 2) * 4;
		break;
	case FL_IPPROTO_FRAGMENT: /* offset << 3 | M, network order */
		frag_off = (__u32)hdr[2] << 8 | hdr[3];
		if (frag_off & 0xfff8)
			*frag = FL_FRAG_LATER;
		else if (frag_off & 1)
			*frag = FL_FRAG_FIRST;
		len = 8;
		break;
	default: /* length in 8-byte units, less 1 */
		len = ((__u32)hdr[1] + 1) * 8;
		break;
	}
	if ((const void *)(hdr + len) > data_end ||
	    (const void *)(hdr + len) > payload_end)
		goto truncated;
	*nexthdr = hdr[0];
	*pos = hdr + len;
	(*count)++;
	/* Nothing after a non-first fragment's header is an L4 header. */
	return *frag != FL_FRAG_LATER;

truncated:
	*err = FL_PERR_IP6_EXT_TRUNC;
	return 0;
}

/*
 * Walks the extension headers from *pos, the end of the fixed header, and
 * *nexthdr, the fixed header's next header. Leaves *pos on the L4 header
 * (on the fragment's payload for FL_FRAG_LATER) and *nexthdr on its
 * protocol, never beyond @data_end or @payload_end; sets *frag (enum
 * fl_frag) if there is a fragment header and adds the headers walked to
 * *count. Returns FL_PARSE_OK, FL_PERR_IP6_EXT_TRUNC or
 * FL_PERR_IP6_EXT_DEPTH; on an error, *pos is the header that failed and
 * the rest says what was walked before it.
 *
 * *frag and *count are the caller's, zeroed by it, and written through
 * their pointers only when a header sets them: in BPF they are fields of
 * struct fl_packet, memory the verifier does not track. Kept as constants
 * in a local they made every path through the walk a state of its own,
 * and the program exceeded the verifier's budget.
 */
FL_IPV6_INLINE int fl_ipv6_walk(const __u8 **pos, const void *data_end,
				const void *payload_end, __u8 *nexthdr,
				__u8 *frag, __u8 *count)
{
	int i, err = FL_PARSE_OK;

	for (i = 0; i <= FL_IPV6_MAX_EXT; i++) {
		if (!fl_ipv6_ext_step(pos, data_end, payload_end, nexthdr,
				      frag, count, &err,
				      i == FL_IPV6_MAX_EXT))
			break;
	}
	return err;
}

#endif /* FLOWLENS_IPV6_H */
