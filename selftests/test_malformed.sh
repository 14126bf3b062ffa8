#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Malformed packets on the wire: counted by kind, passed by default and
# dropped under `config set malformed drop`, and still accounted to their
# addresses when the IP header itself is sound.
source "$(dirname "$0")/lib.sh"

mac_hex() {
	ip -n "$1" -j link show "$2" | jq -r '.[0].address' | tr -d :
}

# An Ethernet frame from the client to cl0 carrying HEX as its IPv4 packet.
frame4() {
	echo "$(mac_hex "$NS_FLOWLENS" cl0)$(mac_hex "${FL_LAB_PREFIX:-fl}-client" eth0)0800$1"
}

# 192.0.2.2 -> 198.51.100.2, TTL 64; version/IHL byte, protocol and total
# length given (checksums are not checked by the parser, so left zero).
ipv4_header() {
	printf '%s00%04x0000000040%s0000c0000202c6336402' "$1" "$3" "$2"
}

send_frame() {
	in_ns client "$TRAFFIC" frame eth0 "$1" >/dev/null
}

error_count() {
	if_counter cl0 ".parse_errors.$1"
}

verdict_count() {
	if_counter cl0 ".verdicts.$1"
}

cleanup() {
	flctl config set malformed pass >/dev/null 2>&1 || true
	flctl protect del 198.51.100.0/24 >/dev/null 2>&1 || true
}

# IHL 3 (12 bytes): the IPv4 header cannot be trusted at all.
BAD_IHL=$(ipv4_header 43 11 40)0000000000000000000000000000000000000000
# A sound IPv4 header (20 + 20 bytes) with TCP data offset 3.
BAD_DOFF=$(ipv4_header 45 06 40)0400005000000001000000003002ffff00000000

test_counted_and_passed_by_default() {
	local errors pass
	errors=$(error_count ipv4_bad_header_length)
	pass=$(verdict_count pass)
	send_frame "$(frame4 "$BAD_IHL")"
	wait_for 5 '[ "$(error_count ipv4_bad_header_length)" -eq $((errors + 1)) ]'
	assert_ge "$(verdict_count pass)" $((pass + 1)) "passed"
	assert_ge "$(if_counter cl0 .kinds.malformed)" 1 "counted as malformed"
}

test_dropped_under_drop_policy() {
	local errors drop
	flctl config set malformed drop
	errors=$(error_count tcp_bad_data_offset)
	drop=$(verdict_count drop)
	send_frame "$(frame4 "$BAD_DOFF")"
	wait_for 5 '[ "$(error_count tcp_bad_data_offset)" -eq $((errors + 1)) ]'
	assert_eq "$(verdict_count drop)" $((drop + 1)) "dropped"
	# Valid traffic still passes under the drop policy.
	in_ns client ping -c 3 -i 0.05 -q "$SERVER4" || fail "valid traffic dropped"
	assert_eq "$(verdict_count drop)" $((drop + 1)) "nothing else dropped"
}

# A broken TCP header inside a sound IPv4 header: its addresses still count.
test_malformed_l4_still_accounted() {
	local before
	flctl protect add 198.51.100.0/24
	before=$(ip_counter "$SERVER4" dst packets)
	send_frame "$(frame4 "$BAD_DOFF")"
	wait_for 5 '[ "$(ip_counter "$SERVER4" dst packets)" -eq $((before + 1)) ]'
}

# Garbage of every length must never stop the datapath.
test_random_garbage_never_breaks_traffic() {
	local i len
	for i in $(seq 1 200); do
		len=$((RANDOM % 120 + 1))
		send_frame "$(frame4 "$(head -c "$len" /dev/urandom | od -An -tx1 | tr -d ' \n')")"
	done
	in_ns client ping -c 3 -i 0.05 -q "$SERVER4" || fail "traffic broken after garbage"
	daemon_alive || fail "flowlensd died"
}

run_tests
