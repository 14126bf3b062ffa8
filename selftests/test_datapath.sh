#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The datapath in host mode: FlowLens attached natively on both lab
# interfaces, real transfers crossing it intact, and counters that equal
# exactly the packets sent.
source "$(dirname "$0")/lib.sh"

test_attached_native() {
	local ifc
	for ifc in cl0 sv0; do
		assert_match "$(ip -n "$NS_FLOWLENS" link show "$ifc")" 'prog/xdp id [0-9]+ name flowlens' \
			"$ifc has the flowlens program in native mode"
		assert_eq "$(if_counter "$ifc" .xdp_mode)" native "$ifc xdp_mode"
	done
}

# A 2 MB TCP transfer, checked byte for byte, all of it counted on cl0.
counted_transfer() {
	local before after
	before=$(if_counter cl0 .bytes)
	tcp_transfer "$1" 2000000
	after=$(if_counter cl0 .bytes)
	assert_ge $((after - before)) 2000000 "bytes counted on cl0 for a 2 MB transfer"
}

test_tcp_transfer_ipv4() {
	counted_transfer "$SERVER4"
}

test_tcp_transfer_ipv6() {
	counted_transfer "$SERVER6"
}

# N datagrams of a known size: the protected server's exact counters and
# cl0's UDP and byte counters must move by exactly N and N * frame size.
exact_counts() {
	local prefix=$1 server=$2 client=$3 frame=$4 n=250
	local pkts bytes udp ifbytes
	flctl protect add "$prefix"
	pkts=$(ip_counter "$server" dst packets)
	bytes=$(ip_counter "$server" dst bytes)
	udp=$(if_counter cl0 .kinds.udp)
	ifbytes=$(flctl -j show stats cl0 | jq '.interfaces[0].bytes')

	udp_send client "$server" 9 $n 100 "$client"

	wait_for 5 '[ "$(ip_counter "$server" dst packets)" -ge $((pkts + n)) ]'
	assert_eq "$(ip_counter "$server" dst packets)" $((pkts + n)) "$server received packets"
	assert_eq "$(ip_counter "$server" dst bytes)" $((bytes + n * frame)) "$server received bytes"
	assert_eq "$(if_counter cl0 .kinds.udp)" $((udp + n)) "UDP packets on cl0"
	assert_ge $(($(if_counter cl0 .bytes) - ifbytes)) $((n * frame)) "bytes on cl0"
	assert_match "$(flctl -j show ip "$server" | jq -c .reasons)" protected "$server tracked as protected"
	flctl protect del "$prefix"
}

test_exact_counts_ipv4() {
	exact_counts 198.51.100.0/24 "$SERVER4" "$CLIENT4" $((14 + 20 + 8 + 100))
}

test_exact_counts_ipv6() {
	exact_counts 2001:db8:2::/64 "$SERVER6" "$CLIENT6" $((14 + 40 + 8 + 100))
}

# Outside protected prefixes, quiet addresses get no exact counters.
test_untracked_stays_untracked() {
	udp_send client "$SERVER4" 9 20 100 192.0.2.29
	assert_eq "$(flctl -j show ip 192.0.2.29 | jq .tracked)" false "a quiet source is not tracked"
}

run_tests
