/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* API: config_get() - the one struct fl_config flowlensd maintains. */
#ifndef FLOWLENS_BPF_CONFIG_H
#define FLOWLENS_BPF_CONFIG_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <flowlens/flowlens.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fl_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} FL_MAP_CONFIG SEC(".maps");

static __always_inline const struct fl_config *config_get(void)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(&FL_MAP_CONFIG, &key);
}

#endif /* FLOWLENS_BPF_CONFIG_H */
