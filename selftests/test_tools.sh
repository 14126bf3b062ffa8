#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The ecosystem's own tools work on our object and maps: xdp-loader attaches
# bpf/flowlens.bpf.o by hand (alone, or sharing flowlensd's pinned maps),
# and bpftool dumps every pinned map with readable keys and values.
source "$(dirname "$0")/lib.sh"

OBJ="$TOP/bpf/flowlens.bpf.o"
PIN=/sys/fs/bpf/flowlens

# Packets the program counted on IFACE, read with bpftool: from the hash
# by ifindex (MAP: "pinned PATH" or "id ID"), plus, given the pinned
# directory as a third argument, from the interface's fl_if_fast slot
# where the interface owns it (include/flowlens/counters.h).
bpftool_if_packets() {
	local map=$1 ifindex hash fast=0
	ifindex=$(ip -n "$NS_FLOWLENS" -j link show "$2" | jq '.[0].ifindex')
	hash=$(in_ns flowlens bpftool -j map lookup $map key $(printf '%d %d %d %d' \
		$((ifindex & 255)) $((ifindex >> 8 & 255)) 0 0) 2>/dev/null |
		jq '[.formatted.values[]?.value.packets] | add // 0')
	if [ -n "${3:-}" ]; then
		fast=$(in_ns flowlens bpftool -j map lookup pinned "$3/fl_if_fast" \
			key $((ifindex % 64)) 0 0 0 |
			jq --argjson i "$ifindex" \
				'[.formatted.values[].value | select(.ifindex == $i) | .s.packets] | add // 0')
	fi
	echo $((${hash:-0} + fast))
}

# Pings through a hand-loaded program and checks MAP (and the fast slots
# of pinned directory $2, if given) counted them on cl0; prints the count
# after. Runs inside $(...), where set -e does not
# reach, so every failure returns explicitly.
assert_counts_pings() {
	local before after
	before=$(bpftool_if_packets "$1" cl0 "${2:-}")
	in_ns client ping -c 5 -i 0.05 -q "$SERVER4" >&2 ||
		{ fail "no traffic through the hand-loaded program"; return 1; }
	after=$(bpftool_if_packets "$1" cl0 "${2:-}")
	assert_ge $((after - before)) 5 "packets counted in $1" || return 1
	echo "$after"
}

# A test that failed half-way may have left a hand-loaded program behind.
cleanup() {
	if ! daemon_alive; then
		in_ns flowlens xdp-loader unload cl0 --all 2>/dev/null || true
	fi
	flctl protect del 198.51.100.0/24 2>/dev/null || true
}

test_xdp_loader_shares_pins() {
	local after
	lab stop
	in_ns flowlens xdp-loader load -m native -p "$PIN" cl0 "$OBJ"
	assert_match "$(in_ns flowlens xdp-loader status cl0)" 'cl0 +flowlens +native' "xdp-loader status"
	# flowlensd claimed cl0's fl_if_fast slot: the hand-loaded program
	# counts there, through the shared pins.
	after=$(assert_counts_pings "pinned $PIN/fl_if_stats" "$PIN")
	in_ns flowlens xdp-loader unload cl0 --all
	lab start
	# flowlensd reads the same counters the hand-loaded program wrote.
	assert_ge "$(if_counter cl0 .packets)" "$after" "flowlensd sees them"
}

test_xdp_loader_plain() {
	local id map
	lab stop
	in_ns flowlens xdp-loader load -m native cl0 "$OBJ"
	id=$(ip -n "$NS_FLOWLENS" -j link show cl0 | jq '.[0].xdp.prog.id')
	map=$(in_ns flowlens bpftool -j prog show id "$id" | jq -r '.map_ids[]' |
		while read -r m; do
			in_ns flowlens bpftool -j map show id "$m" | jq -r 'select(.name == "fl_if_stats") | .id'
		done)
	[ -n "$map" ] || fail "no fl_if_stats map on program $id"
	assert_counts_pings "id $map" >/dev/null
	in_ns flowlens xdp-loader unload cl0 --all
	lab start
}

test_bpftool_dumps_readable() {
	local map dump
	flctl protect add 198.51.100.0/24
	udp_send client "$SERVER4" 9 20 100
	for map in fl_config fl_if_fast fl_if_stats fl_sketch fl_ip4_stats fl_ip6_stats fl_protect4 fl_protect6; do
		# The kernel name equals the pinned name (15 characters or less).
		assert_eq "$(in_ns flowlens bpftool -j map show pinned "$PIN/$map" | jq -r .name)" \
			"$map" "kernel name of $PIN/$map"
		in_ns flowlens bpftool map dump pinned "$PIN/$map" >/dev/null ||
			fail "bpftool cannot dump $map"
	done
	dump=$(in_ns flowlens bpftool -j map dump pinned "$PIN/fl_ip4_stats")
	assert_ge "$(echo "$dump" | jq '[.[].formatted | select(.key.addr == [198,51,100,2]) |
		.values[].value.side[1].packets] | add')" 20 "server's packets, by field name"
	assert_eq "$(in_ns flowlens bpftool -j map dump pinned "$PIN/fl_protect4" |
		jq -c '.[0].formatted.key')" '{"prefixlen":24,"addr":[198,51,100,0]}' "protected prefix key"
	assert_eq "$(in_ns flowlens bpftool -j map dump pinned "$PIN/fl_config" |
		jq '.[0].formatted.value.heavy_pps')" "$(flctl -j config show | jq .heavy_pps)" "config by field name"
	assert_match "$(in_ns flowlens bpftool map dump pinned "$PIN/fl_if_fast")" '"tcp_syn"' \
		"kind counters by name"
	flctl protect del 198.51.100.0/24
}

run_tests
