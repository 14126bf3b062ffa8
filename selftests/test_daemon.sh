#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# flowlensd as an operator meets it: bad options are refused before it
# touches anything, a second instance refuses to start and leaves the first
# alone, --xdp-mode skb attaches in generic mode, and SIGTERM detaches from
# every interface and removes the control socket.
source "$(dirname "$0")/lib.sh"

SOCKET="$LAB_DIR/flowlensd.sock"
DAEMON_LOG="$LAB_DIR/flowlensd.log"

# The `ip link show` of IFACE in the flowlens namespace.
link_show() {
	ip -n "$NS_FLOWLENS" link show "$1"
}

# The id of the XDP program attached to IFACE, or nothing.
xdp_prog_id() {
	link_show "$1" | sed -n 's/.*prog\/xdp[a-z]* id \([0-9]*\).*/\1/p'
}

# flowlensd, bounded: an option check that failed to fail must not leave a
# second daemon running.
flowlensd_once() {
	in_ns flowlens timeout 20 flowlensd "$@"
}

daemon_pid() {
	cat "$LAB_DIR/flowlensd.pid"
}

daemon_answers() {
	flctl version | grep -q '^flowlensd [0-9]'
}

# Leaves a native-mode daemon running for the next test, whatever this one
# did to it.
daemon_restore_native() {
	if daemon_answers 2>/dev/null &&
		[ "$(flctl -j show stats cl0 | jq -r '.interfaces[0].xdp_mode')" = native ]; then
		return 0
	fi
	lab stop || true
	lab start
}

assert_native() {
	local link
	link=$(link_show "$1")
	assert_match "$link" 'prog/xdp ' "$1 has a native XDP program"
	assert_match "$link" 'mtu [0-9]+ xdp ' "$1 in native XDP mode"
	assert_eq "$(flctl -j show stats "$1" | jq -r '.interfaces[0].xdp_mode')" native \
		"xdp_mode of $1"
}

test_bad_options() {
	local cl0_id pid
	cl0_id=$(xdp_prog_id cl0)
	pid=$(daemon_pid)
	assert_fails_with "no interface given; use -i IFACE" flowlensd_once
	assert_fails_with "no interface given; use -i IFACE" flowlensd_once --xdp-mode skb
	assert_fails_with "option requires an argument -- 'i'" flowlensd_once -i
	assert_fails_with "no such interface: nosuch0" flowlensd_once -i nosuch0
	assert_fails_with "no such interface: nosuch0" flowlensd_once -i cl0 -i nosuch0
	assert_fails_with "interface cl0 given twice" flowlensd_once -i cl0 -i cl0
	assert_fails_with "interface sv0 given twice" \
		flowlensd_once --interface sv0 -i cl0 -i sv0
	assert_fails_with "unknown mode 'bridge' \(host, router or monitor\)" \
		flowlensd_once -i cl0 --mode bridge
	assert_fails_with "unknown mode 'Router'" flowlensd_once -m Router -i cl0
	assert_fails_with "unknown XDP mode 'fast' \(native or skb\)" \
		flowlensd_once -i cl0 --xdp-mode fast
	assert_fails_with "unknown XDP mode 'fast'" flowlensd_once -x fast -i cl0
	assert_fails_with "unexpected argument 'sv0' \(interfaces are given with -i\)" \
		flowlensd_once -i cl0 sv0
	assert_fails_with "unrecognized option '--frob'" flowlensd_once -i cl0 --frob
	assert_fails_with "Try 'flowlensd --help'" flowlensd_once -i cl0 --frob

	# None of them touched the running daemon or its program.
	kill -0 "$pid" || fail "flowlensd (pid $pid) is gone"
	assert_eq "$(daemon_pid)" "$pid" "flowlensd pid"
	assert_eq "$(xdp_prog_id cl0)" "$cl0_id" "XDP program on cl0"
	daemon_answers || fail "flowlensd stopped answering"
}

test_second_instance() {
	local cl0_id sv0_id pid before
	cl0_id=$(xdp_prog_id cl0)
	sv0_id=$(xdp_prog_id sv0)
	pid=$(daemon_pid)
	[ -n "$cl0_id" ] || fail "no XDP program on cl0 before the test"
	[ -n "$sv0_id" ] || fail "no XDP program on sv0 before the test"
	before=$(flctl -j show stats | jq -c '[.interfaces[] | [.name, .ifindex, .xdp_mode]]')

	assert_fails_with "another flowlensd is running \(it answers on $SOCKET\)" \
		flowlensd_once -i cl0 -i sv0
	assert_fails_with "another flowlensd is running" \
		flowlensd_once -i sv0 --xdp-mode skb
	# Another socket gets past the socket check; the lock on the pinned
	# maps must still stop it before it touches an interface.
	assert_fails_with "another flowlensd is running with the maps in /sys/fs/bpf/flowlens" \
		flowlensd_once -i cl0 -s "$LAB_DIR/second.sock"
	[ ! -e "$LAB_DIR/second.sock" ] || fail "the refused daemon left its socket behind"

	kill -0 "$pid" || fail "the first flowlensd (pid $pid) is gone"
	[ -S "$SOCKET" ] || fail "the control socket $SOCKET is gone"
	daemon_answers || fail "the first flowlensd stopped answering"
	assert_eq "$(flctl -j show stats | jq -c '[.interfaces[] | [.name, .ifindex, .xdp_mode]]')" \
		"$before" "interfaces of the first flowlensd"
	assert_eq "$(xdp_prog_id cl0)" "$cl0_id" "XDP program on cl0"
	assert_eq "$(xdp_prog_id sv0)" "$sv0_id" "XDP program on sv0"
	assert_native cl0
	assert_native sv0
}

test_skb_mode() {
	trap daemon_restore_native EXIT
	assert_native cl0
	lab stop
	lab start --xdp-mode skb
	local iface link
	for iface in cl0 sv0; do
		link=$(link_show $iface)
		echo "$link"
		# Older iproute2 says prog/xdpgeneric, newer prog/xdp: the mode is
		# the word after the MTU.
		assert_match "$link" 'mtu [0-9]+ xdpgeneric ' "$iface in generic (skb) XDP mode"
		assert_match "$link" 'prog/xdp(generic)? id [0-9]+' "$iface has an XDP program"
		assert_eq "$(flctl -j show stats $iface | jq -r '.interfaces[0].xdp_mode')" skb \
			"xdp_mode of $iface"
	done
	assert_match "$(flctl show stats cl0)" '^cl0 \(ifindex [0-9]+, skb XDP, host mode\)$' \
		"flctl show stats cl0 in skb mode"
	assert_match "$(tail -n 5 "$DAEMON_LOG")" 'attached to cl0 \(ifindex [0-9]+\) in skb mode' \
		"log of the skb start"

	lab stop
	lab start
	for iface in cl0 sv0; do
		link=$(link_show $iface)
		echo "$link"
		assert_native $iface
		if printf '%s\n' "$link" | grep -q xdpgeneric; then
			fail "$iface still in generic mode after a native start: $link"
		fi
	done
}

test_sigterm_detaches() {
	local pid lines log iface
	trap daemon_restore_native EXIT
	pid=$(daemon_pid)
	lines=$(wc -l <"$DAEMON_LOG")
	[ -n "$(xdp_prog_id cl0)" ] || fail "no XDP program on cl0 before the test"
	[ -S "$SOCKET" ] || fail "no control socket before the test"

	lab stop # SIGTERM, then waits for it to exit
	if kill -0 "$pid" 2>/dev/null; then
		fail "flowlensd (pid $pid) still running after SIGTERM"
	fi
	for iface in cl0 sv0; do
		assert_eq "$(xdp_prog_id $iface)" "" "XDP program left on $iface"
		if link_show $iface | grep -qE 'xdp(generic|offload)?[ /]'; then
			fail "$iface still has XDP: $(link_show $iface)"
		fi
	done
	[ ! -e "$SOCKET" ] || fail "control socket $SOCKET left behind"
	log=$(tail -n +"$((lines + 1))" "$DAEMON_LOG")
	echo "$log"
	assert_match "$log" 'Terminated: shutting down' "log after SIGTERM"
	assert_match "$log" 'detached from cl0$' "log after SIGTERM"
	assert_match "$log" 'detached from sv0$' "log after SIGTERM"
	assert_fails_with "flowlensd is not running" flctl show stats

	# It comes back on the same interfaces.
	lab start
	assert_native cl0
	assert_native sv0
}

cleanup() {
	if ip -n "$NS_FLOWLENS" link show fl-br0 >/dev/null 2>&1; then
		lab stop
		ip -n "$NS_FLOWLENS" link del fl-br0
	fi
}

# A bridge has no native XDP: flowlensd must say so and fall back to skb
# mode on it, while the veths next to it stay native.
test_native_falls_back_to_skb() {
	ip -n "$NS_FLOWLENS" link add fl-br0 type bridge
	ip -n "$NS_FLOWLENS" link set fl-br0 up
	lab stop
	lab start -i fl-br0
	assert_match "$(cat "$DAEMON_LOG")" \
		'fl-br0: native XDP attach failed \(Operation not supported\); falling back to skb' "log"
	assert_match "$(link_show fl-br0)" 'mtu [0-9]+ xdpgeneric ' "fl-br0 in generic mode"
	assert_eq "$(flctl -j show stats fl-br0 | jq -r '.interfaces[0].xdp_mode')" skb "fl-br0 xdp_mode"
	assert_native cl0
	lab stop
	ip -n "$NS_FLOWLENS" link del fl-br0
	lab start
}

# The control socket is for root alone.
test_socket_mode_0600() {
	assert_eq "$(stat -c %a "$SOCKET")" 600 "mode of $SOCKET"
}

run_tests
