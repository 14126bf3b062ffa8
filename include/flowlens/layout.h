/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * API: the layout version of this contract, pinned with the maps.
 *
 * FL_LAYOUT_VERSION names the layout of everything in include/flowlens/
 * that lives on in bpffs between two flowlensd runs: the pinned maps'
 * keys and values, and what the program and the workers exchange. Bump it
 * whenever any of them changes in a way a flowlensd of the old layout
 * would misread (a field moved, resized or given another meaning; a map
 * added that must start afresh). flowlensd writes it into FL_MAP_LAYOUT
 * when it creates the maps, and refuses to run against pinned maps of
 * another version, or without the map (made before there was one).
 *
 * The map has BTF, so `bpftool map dump pinned /sys/fs/bpf/flowlens/fl_layout`
 * shows {"version": N}.
 */
#ifndef FLOWLENS_LAYOUT_H
#define FLOWLENS_LAYOUT_H

#include "types.h"

#define FL_LAYOUT_VERSION 7

/* ARRAY[1] FL_MAP_LAYOUT; 0 is never a valid version (not written yet). */
struct fl_layout {
	__u32 version;
};
_Static_assert(sizeof(struct fl_layout) == 4, "fl_layout layout");

#endif /* FLOWLENS_LAYOUT_H */
