#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# flctl top: a heavy source ranks first among real talkers, the sketch
# flags heavy hitters on its own, and --by / -n do what they say.
source "$(dirname "$0")/lib.sh"

HEAVY=192.0.2.10

# UDP from $HEAVY (an address the client owns) at ~5k pps for a while.
heavy_udp() {
	bg client "$TRAFFIC" udp "$SERVER4" 9 --src "$HEAVY" --pps 5000 --duration 60
}

light_pings() {
	local i
	for i in 11 12 13 14; do
		bg client ping -q -i 0.05 -I "192.0.2.$i" "$SERVER4"
	done
}

cleanup() {
	flctl protect del 192.0.2.0/24 >/dev/null 2>&1 || true
}

top_first() {
	flctl -j top "$@" | jq -r '.entries[0].addr // empty'
}

# The heavy source's rate over the last tick, 0 if it is not listed.
heavy_pps() {
	flctl -j top src -n 100 | jq --arg a "$HEAVY" '[.entries[] | select(.addr == $a) | .pps] | first // 0 | floor'
}

# The first tick after the sender starts sees only part of a second of
# it; rankings are asserted once a whole second at full rate is in.
wait_heavy_at_rate() {
	wait_for 15 '[ "$(heavy_pps)" -ge 2500 ]'
}

# With the client subnet protected every client address is tracked
# exactly, so the ranking is among all of them.
test_heavy_source_first() {
	flctl protect add 192.0.2.0/24
	light_pings
	heavy_udp
	wait_heavy_at_rate
	wait_for 5 '[ "$(flctl -j top src -n 10 | jq ".entries | length")" -ge 5 ]'
	local top
	top=$(flctl -j top src -n 10)
	echo "$top" | jq -c '.entries[] | [.addr, .pps, .tracked]'
	assert_eq "$(echo "$top" | jq -r '.entries[0].addr')" "$HEAVY" "first source"
	# Every light source is listed, each well below the heavy one.
	local i
	for i in 11 12 13 14; do
		assert_match "$(echo "$top" | jq -r '.entries[].addr')" "^192\.0\.2\.$i\$" "light source .$i listed"
	done
	assert_eq "$(echo "$top" | jq '.entries[0].pps > 10 * .entries[1].pps')" true \
		"heavy source at least 10x the next"
	assert_eq "$(top_first dst)" "$SERVER4" "first destination"
	flctl protect del 192.0.2.0/24
}

# Nothing protected: the sketch alone must flag the heavy source, and leave
# the light ones untracked.
test_sketch_flags_heavy_hitter() {
	light_pings
	heavy_udp
	wait_heavy_at_rate
	assert_eq "$(top_first src)" "$HEAVY" "first source"
	assert_match "$(flctl -j show ip "$HEAVY" | jq -c .reasons)" heavy "$HEAVY tracked as heavy"
	assert_eq "$(flctl -j show ip 192.0.2.12 | jq .tracked)" false "a light source stays untracked"
}

test_top_options() {
	flctl protect add 192.0.2.0/24
	light_pings
	heavy_udp
	wait_heavy_at_rate
	wait_for 5 '[ "$(flctl -j top src | jq ".entries | length")" -ge 3 ]'
	assert_eq "$(flctl -j top src -n 2 | jq '.entries | length')" 2 "-n 2 lists two"
	assert_eq "$(flctl -j top src --by bps | jq -r .by)" bps "--by bps"
	assert_eq "$(top_first src --by bps)" "$HEAVY" "first by bps"
	# Sorted: each entry's pps is at least the next one's.
	assert_eq "$(flctl -j top src | jq '[.entries[].pps] | . == (sort | reverse)')" true "sorted by pps"
	flctl protect del 192.0.2.0/24
}

# A SYN flood from one address: first by SYN rate, with syns counted.
test_top_by_syn() {
	flctl protect add 192.0.2.0/24
	heavy_udp
	bg client "$TRAFFIC" syn "$SERVER4" 80 --src 192.0.2.13 --pps 2000 --duration 60
	wait_for 15 '[ "$(top_first src --by syn)" = 192.0.2.13 ]'
	assert_ge "$(ip_counter 192.0.2.13 src syns)" 100 "SYNs counted for 192.0.2.13"
	assert_eq "$(ip_counter "$HEAVY" src syns)" 0 "no SYNs counted for the UDP source"
	flctl protect del 192.0.2.0/24
}

run_tests
