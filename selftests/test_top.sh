#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# flctl top: a heavy source ranks first among real talkers, the sketch
# flags heavy hitters on its own, and --by / -n do what they say; top
# apps ranks the applications the workers classified by their rates.
source "$(dirname "$0")/lib.sh"

source "$TOP/scripts/corpus.sh"
PCAPS=$(fl_pcap_dir)

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

# ---- flctl top apps ----

top_apps_first() {
	flctl -j top apps "$@" | jq -r '.entries[0].app // empty'
}

# One app's field in `top apps` (ranked by pps, all of them), 0 if absent.
top_app_field() {
	flctl -j top apps -n 100 | jq --arg a "$1" "[.entries[] | select(.app == \$a) | .$2] | first // 0 | floor"
}

# A QUIC flow (nDPI's QUIC on its first packet) replayed from the client
# over and over at the capture's own pace: 20 frames in 0.107 s, about
# 190 pps; and datagrams nDPI cannot name ("Unknown", its verdict after
# 24 packets) at 80 pps, fewer packets but bigger ones: more bits.
test_top_apps() {
	local capture="$LAB_DIR/pcap-quic-23" top quic_pid
	[ -f "$PCAPS/quic-23.pcap" ] || skip "no capture corpus in $PCAPS (set FL_PCAP_DIR)"
	tcpdump -r "$PCAPS/quic-23.pcap" -w "$capture" 'less 1514' 2>/dev/null
	# The UDP of the tests before (Unknown too) gone from the rates
	wait_for 5 '[ "$(top_app_field Unknown pps)" = 0 ]'
	bg client flgen replay -i eth0 --dst "$SERVER4" --loop 0 "$capture"
	quic_pid=$(tail -n 1 "$BG_PIDS")
	# Its verdict: one new QUIC flow in the next window.
	wait_for 10 '[ "$(flctl -j top apps --by flows | jq "[.entries[] | select(.app == \"QUIC\" and .flows_per_s > 0)] | length")" = 1 ]'
	top=$(flctl -j top apps --by flows)
	echo "$top" | jq -c '.entries[] | [.app, .flows_per_s, .flows]'
	json_check "$top" '.by == "flows" and ([.entries[].flows_per_s] | . == (sort | reverse))' "sorted by flows/s"

	bg client "$TRAFFIC" udp "$SERVER4" 9 --size 1400 --pps 80 --duration 60
	wait_for 15 '[ "$(top_app_field Unknown pps)" -ge 40 ] && [ "$(top_apps_first)" = QUIC ] &&
		[ "$(top_apps_first --by bps)" = Unknown ]'
	top=$(flctl -j top apps)
	echo "$top" | jq -c '.entries[] | [.app, .category, .pps, .bps, .flows_per_s, .packets, .bytes]'
	json_check "$top" '.side == "apps" and .by == "pps" and .interval > 0.5 and .interval < 2' "top apps reply"
	assert_eq "$(echo "$top" | jq -r '.entries[0].app')" QUIC "first app by pps"
	# The replay's pace, give or take what a busy machine does to it.
	json_check "$top" '.entries[0].pps >= 50 and .entries[0].pps <= 1000' "QUIC's pps"
	json_check "$top" '.entries[0] | .packets > 0 and .bytes > .packets and .flows >= 1' "QUIC's totals"
	json_check "$top" '[.entries[].pps] | . == (sort | reverse)' "sorted by pps"
	# nDPI's category, as show apps names it
	assert_match "$(echo "$top" | jq -r '.entries[0].category')" '^[A-Z][A-Za-z-]+$' "QUIC's category"
	assert_eq "$(echo "$top" | jq -r '.entries[0].category')" \
		"$(flctl -j show apps | jq -r '.apps[] | select(.app == "QUIC") | .category')" \
		"QUIC's category in top apps and show apps"

	# By bits the 1400-byte datagrams come first.
	top=$(flctl -j top apps --by bps)
	echo "$top" | jq -c '.entries[] | [.app, .pps, .bps]'
	assert_eq "$(echo "$top" | jq -r .by)" bps "--by bps"
	assert_eq "$(echo "$top" | jq -r '.entries[0].app')" Unknown "first app by bps"
	json_check "$top" '[.entries[].bps] | . == (sort | reverse)' "sorted by bps"

	top=$(flctl -j top apps -n 1)
	assert_eq "$(echo "$top" | jq '.entries | length')" 1 "-n 1 lists one"
	assert_eq "$(echo "$top" | jq -r '.entries[0].app')" QUIC "-n 1: the first"
	assert_eq "$(top_apps_first -n 1 --by bps)" Unknown "-n 1 --by bps"

	top=$(flctl top apps)
	echo "$top"
	assert_match "$top" '^Top applications by pps over the last [0-9.]+ s' "text header"
	assert_match "$top" '^ +#  APP +CATEGORY +PPS +BPS +FLOWS/S +PACKETS +BYTES$' "text columns"
	assert_match "$top" '^ +1  QUIC +[A-Z]' "text: QUIC first"

	# Rates, not totals: a silent app leaves the list, its totals stay.
	kill -TERM "$quic_pid"
	wait_for 5 '[ "$(top_app_field QUIC pps)" = 0 ]'
	assert_eq "$(top_apps_first)" Unknown "first app once QUIC is silent"
	json_check "$(flctl -j show apps)" '.apps[] | select(.app == "QUIC") | .packets > 0' "QUIC's totals in show apps"
}

# Each bad argument is named, by flctl and by flowlensd (the socket is
# the API: a client other than flctl gets the same checks).
test_top_apps_bad_args() {
	assert_fails_with "--by: 'syn' is not one of pps, bps, flows" flctl top apps --by syn
	assert_fails_with "--by: 'flows' is not one of pps, bps, syn" flctl top src --by flows
	assert_fails_with "--by needs pps, bps or flows" flctl top apps --by
	assert_fails_with "-n: '0' is not a number from 1 to 100000" flctl top apps -n 0
	assert_fails_with "-n: 'ten' is not a number from 1 to 100000" flctl top apps -n ten
	assert_fails_with "-n needs a number" flctl top apps -n
	assert_fails_with "top apps: unexpected argument 'extra'" flctl top apps extra
	assert_json_error "--by: 'syn' is not one of pps, bps, flows" top apps --by syn
	json_check "$(ctl_request '{"cmd": "top", "side": "apps", "by": "syn"}')" \
		'(.ok | not) and (.error | test("--by must be pps, bps or flows for apps, not .syn."))' "flowlensd: by syn"
	json_check "$(ctl_request '{"cmd": "top", "side": "apps", "n": 0}')" \
		'(.ok | not) and (.error | test("-n must be a positive number"))' "flowlensd: n 0"
	json_check "$(ctl_request '{"cmd": "top", "side": "app"}')" \
		'(.ok | not) and (.error | test("side must be src, dst or apps, not .app."))' "flowlensd: side app"
}

run_tests
