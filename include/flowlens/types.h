/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * API: fixed-width types for headers shared by the BPF program and userspace.
 * The BPF side gets them from vmlinux.h, userspace from <linux/types.h>.
 */
#ifndef FLOWLENS_TYPES_H
#define FLOWLENS_TYPES_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define FL_STRINGIFY_(x) #x
#define FL_STRINGIFY(x) FL_STRINGIFY_(x)

/* An IPv4 or IPv6 address in network byte order; IPv4 uses b[0..3]. */
union fl_addr {
	__u8 b[16];
	__be32 w[4];
	__u64 q[2];
};

#endif /* FLOWLENS_TYPES_H */
