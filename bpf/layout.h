/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * API: none for the program. FL_MAP_LAYOUT holds the layout version of the
 * pinned maps (include/flowlens/layout.h); flowlensd writes and checks it,
 * the program never reads it. Defined here so it is pinned, with BTF, with
 * the others.
 */
#ifndef FLOWLENS_BPF_LAYOUT_H
#define FLOWLENS_BPF_LAYOUT_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <flowlens/flowlens.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fl_layout);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_LAYOUT SEC(".maps");

#endif /* FLOWLENS_BPF_LAYOUT_H */
