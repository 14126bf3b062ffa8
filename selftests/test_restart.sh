#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Nothing is lost across restarts: a clean restart keeps every counter and
# setting (pinned maps), a crash fails open and the next daemon takes over
# the program left behind, and the state file restores settings when the
# pins are gone (as after a reboot).
source "$(dirname "$0")/lib.sh"

PREFIX=198.51.100.0/24

no_xdp_on() {
	! ip -n "$NS_FLOWLENS" link show "$1" | grep -q 'prog/xdp'
}

test_clean_restart_keeps_counters() {
	local pkts ifpkts
	flctl protect add "$PREFIX"
	flctl config set heavy-pps 7777
	udp_send client "$SERVER4" 9 100 100
	pkts=$(ip_counter "$SERVER4" dst packets)
	ifpkts=$(if_counter cl0 .packets)
	assert_ge "$pkts" 100 "server packets before restart"

	lab stop
	no_xdp_on cl0 || fail "cl0 still has an XDP program after SIGTERM"
	no_xdp_on sv0 || fail "sv0 still has an XDP program after SIGTERM"
	assert_match "$(cat "$LAB_DIR/flowlensd.log")" 'detached from cl0' "log"
	lab start

	assert_eq "$(ip_counter "$SERVER4" dst packets)" "$pkts" "server packets after restart"
	assert_ge "$(if_counter cl0 .packets)" "$ifpkts" "cl0 packets after restart"
	assert_match "$(cat "$LAB_DIR/flowlensd.log")" 'reusing pinned maps' "log"
	assert_eq "$(flctl -j config show | jq .heavy_pps)" 7777 "heavy-pps after restart"
	assert_eq "$(flctl -j protect list | jq -r '.prefixes[].prefix')" "$PREFIX" "protected after restart"

	udp_send client "$SERVER4" 9 50 100
	assert_eq "$(ip_counter "$SERVER4" dst packets)" $((pkts + 50)) "counting goes on"
	flctl config set heavy-pps 1000
	flctl protect del "$PREFIX"
}

# SIGKILL: no chance to detach. Traffic must keep flowing (and counting)
# with no daemon, and a new daemon replaces the orphaned program.
test_crash_fails_open() {
	local pkts
	flctl protect add "$PREFIX"
	kill -KILL "$(cat "$LAB_DIR/flowlensd.pid")"
	wait_until 5 sh -c "! kill -0 $(cat "$LAB_DIR/flowlensd.pid")"
	rm -f "$LAB_DIR/flowlensd.pid"
	assert_match "$(ip -n "$NS_FLOWLENS" link show cl0)" 'prog/xdp' "program still attached"
	in_ns client ping -c 3 -i 0.05 -q "$SERVER4" || fail "traffic stopped with the daemon dead"

	lab start
	assert_match "$(cat "$LAB_DIR/flowlensd.log")" 'replacing a flowlens program left attached' "log"
	assert_eq "$(ip -n "$NS_FLOWLENS" link show cl0 | grep -c 'prog/xdp')" 1 "one program on cl0"
	pkts=$(ip_counter "$SERVER4" dst packets)
	assert_ge "$pkts" 3 "pings counted while the daemon was dead"
	udp_send client "$SERVER4" 9 10 100
	assert_eq "$(ip_counter "$SERVER4" dst packets)" $((pkts + 10)) "counting after takeover"
	flctl protect del "$PREFIX"
}

# The pins vanish (a reboot empties bpffs): settings come back from the
# state file; counters start again from zero.
test_state_file_restores_settings() {
	flctl protect add "$PREFIX"
	flctl protect add 2001:db8:2::/64
	flctl config set heavy-pps 4321
	flctl config set malformed drop
	lab stop
	rm -f "$LAB_DIR"/bpffs/flowlens/*
	lab start
	assert_match "$(cat "$LAB_DIR/flowlensd.log")" 'restored settings from' "log"
	assert_eq "$(flctl -j protect list | jq -r '[.prefixes[].prefix] | sort | join(" ")')" \
		"198.51.100.0/24 2001:db8:2::/64" "protected prefixes"
	assert_eq "$(flctl -j config show | jq -c '[.heavy_pps, .malformed]')" '[4321,"drop"]' "settings"
	flctl config set heavy-pps 1000
	flctl config set malformed pass
	flctl protect del "$PREFIX"
	flctl protect del 2001:db8:2::/64
}

run_tests
