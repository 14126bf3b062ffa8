#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Router and monitor modes in the lab: FlowLens routes between the client
# and server subnets at the driver, with the kernel's FIB and neighbour
# tables as its control plane, and hands the kernel only what the FIB
# cannot resolve. The kernel's own forwarding counters (Ip ForwDatagrams,
# Ip6 OutForwDatagrams) prove which path a packet took.
LAB_START_ARGS=(--mode router)
source "$(dirname "$0")/lib.sh"

# Routed at the driver, or escalated to a worker that sent it on (the
# first packets of each flow, until its verdict).
fwd() { flctl -j show stats "$1" | jq '.interfaces[0] | .forwarded + .flow_cache.escalated'; }
fwd_pass() { if_counter "$1" ".forward_passed.$2"; }

# Datagrams the kernel in the flowlens namespace forwarded itself.
kernel_forwarded() {
	in_ns flowlens cat /proc/net/snmp /proc/net/snmp6 | awk '
		/^Ip: Forwarding/ { for (i = 1; i <= NF; i++) col[$i] = i; next }
		/^Ip: / { v4 = $col["ForwDatagrams"] }
		/^Ip6OutForwDatagrams/ { v6 = $2 }
		END { print v4 + v6 }'
}

test_mode_shown() {
	assert_eq "$(flctl -j show stats | jq -r .mode)" router "mode in show stats"
	assert_eq "$(flctl -j config show | jq -r .mode)" router "mode in config show"
	assert_match "$(flctl show stats cl0)" 'forwarded +[0-9]+ packets routed at the driver' \
		"show stats prints the forwarded count in router mode"
}

# A 2 MB TCP transfer checked byte for byte, and nearly every
# packet of it routed by XDP rather than the kernel.
routed_transfer() {
	local kernel fwd_before fwd_after
	kernel=$(kernel_forwarded)
	fwd_before=$(fwd cl0)
	tcp_transfer "$1" 2000000
	fwd_after=$(fwd cl0)
	# 2 MB is at least 1,400 full-size segments, each crossing cl0.
	assert_ge $((fwd_after - fwd_before)) 1400 "segments routed at the driver on cl0"
	assert_ge "$(fwd sv0)" 1 "ACKs routed at the driver on sv0"
	# The kernel may see the odd packet (a neighbour refresh), not the flow.
	[ $(($(kernel_forwarded) - kernel)) -lt 20 ] ||
		fail "the kernel forwarded $(($(kernel_forwarded) - kernel)) datagrams: XDP did not route the transfer"
}

test_tcp_ipv4() {
	routed_transfer "$SERVER4"
}

test_tcp_ipv6() {
	routed_transfer "$SERVER6"
}

# Exactly N datagrams to a closed port: N forwarded on cl0, N port
# unreachables counted by the server, none forwarded by the kernel.
test_udp_exact() {
	local n=300 fwd0 kernel
	fwd0=$(fwd cl0)
	kernel=$(kernel_forwarded)
	delivered_exactly $n "datagrams that reached the server" udp_send client "$SERVER4" 9 $n 200
	assert_eq "$(fwd cl0)" $((fwd0 + n)) "datagrams routed at the driver on cl0"
	assert_eq "$(kernel_forwarded)" "$kernel" "datagrams the kernel forwarded"
}

test_udp_ipv6() {
	local n=200 fwd0
	fwd0=$(fwd cl0)
	udp_send client "$SERVER6" 9 $n 200
	wait_for 5 '[ "$(fwd cl0)" -ge $((fwd0 + n)) ]'
	assert_eq "$(fwd cl0)" $((fwd0 + n)) "IPv6 datagrams routed at the driver on cl0"
}

# flgen at full speed through the router: every frame routed at the
# driver and delivered, none turned back for an expiring TTL.
test_flgen_through_router() {
	local n=200000 fwd0 ttl0
	fwd0=$(fwd cl0)
	ttl0=$(fwd_pass cl0 ttl_expiring)
	delivered_exactly $n "flgen datagrams that reached the server" \
		in_ns client flgen udp -i eth0 --dst "$SERVER4" --dport 9 -n $n
	assert_eq "$(fwd cl0)" $((fwd0 + n)) "flgen datagrams routed at the driver"
	assert_eq "$(fwd_pass cl0 ttl_expiring)" "$ttl0" "none passed for an expiring TTL"
}

# The same through the kernel's forwarding (FlowLens in host mode): the
# kernel decrements the TTL in the very page flgen's frame lives in, and
# that page returns to flgen's pool - flgen must restore its headers.
test_flgen_through_kernel_forwarding() {
	local n=200000
	lab stop
	lab start
	# Paced: unpaced, flgen can outrun the kernel's forwarding on this
	# shared 2-core VM and overflow the veth peer's 256-frame ring
	# (flgen then warns of the drop), which is not what this tests.
	delivered_exactly $n "flgen datagrams the kernel delivered" \
		in_ns client flgen udp -i eth0 --dst "$SERVER4" --dport 9 -n $n -r 200k
}

# ICMP both ways; the replies arrive one hop older (TTL/hop limit 63).
test_icmp_ttl_decremented() {
	local out f_cl f_sv
	f_cl=$(fwd cl0)
	f_sv=$(fwd sv0)
	out=$(in_ns client ping -c 5 -i 0.2 -W 2 "$SERVER4")
	assert_match "$out" '5 received' "IPv4 ping through the router"
	assert_match "$out" 'ttl=63' "IPv4 TTL decremented once"
	out=$(in_ns client ping -6 -c 5 -i 0.2 -W 2 "$SERVER6")
	assert_match "$out" '5 received' "IPv6 ping through the router"
	assert_match "$out" 'hlim=63|ttl=63' "IPv6 hop limit decremented once"
	assert_ge $(($(fwd cl0) - f_cl)) 10 "echo requests routed at the driver"
	assert_ge $(($(fwd sv0) - f_sv)) 10 "echo replies routed at the driver"
}

# TTL 1: the kernel, not XDP, answers with time exceeded.
test_ttl_expiring_goes_to_kernel() {
	local before out
	before=$(fwd_pass cl0 ttl_expiring)
	out=$(in_ns client ping -c 1 -t 1 -W 2 "$SERVER4" || true)
	assert_match "$out" '192.0.2.1.*(Time to live exceeded|Time exceeded)' "time exceeded from the router"
	assert_eq "$(fwd_pass cl0 ttl_expiring)" $((before + 1)) "ttl_expiring counted"
}

# No neighbour entry yet: the first packet goes to the kernel, which
# resolves it, and the flow continues at the driver.
test_unresolved_neighbour() {
	local before fwd0
	in_ns flowlens ip neigh flush dev sv0
	in_ns flowlens ip -6 neigh flush dev sv0
	before=$(fwd_pass cl0 no_neighbour)
	fwd0=$(fwd cl0)
	in_ns client ping -c 3 -i 0.2 -W 2 "$SERVER4" >/dev/null
	in_ns client ping -6 -c 3 -i 0.2 -W 2 "$SERVER6" >/dev/null
	assert_ge $(($(fwd_pass cl0 no_neighbour) - before)) 2 "first packets passed for resolution"
	assert_ge $(($(fwd cl0) - fwd0)) 2 "later packets routed at the driver"
}

# Destinations the FIB does not forward still behave as on any router.
test_unknown_destinations() {
	local before out
	before=$(fwd_pass cl0 not_forwarded)
	out=$(in_ns client ping -c 1 -W 2 203.0.113.50 || true)
	assert_match "$out" 'Unreachable' "no route: the kernel sends destination unreachable"
	out=$(in_ns client ping -c 2 -i 0.2 -W 2 198.51.100.1)
	assert_match "$out" '2 received' "the router's own far address answers"
	assert_ge $(($(fwd_pass cl0 not_forwarded) - before)) 3 "not_forwarded counted"
}

# A frame addressed to another host's MAC (cl0 in promiscuous mode, as
# under tcpdump or in a bridge) is left to the kernel, which drops it.
test_other_hosts_frames_not_routed() {
	local hex before fwd0
	hex=$(python3 -c '
import socket, struct
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 0, 0, 64, 17, 0,
                 socket.inet_aton("192.0.2.2"), socket.inet_aton("198.51.100.2"))
s = sum(struct.unpack("!10H", ip)); s = (s & 0xffff) + (s >> 16)
ip = ip[:10] + struct.pack("!H", ~s & 0xffff) + ip[12:]
print((bytes.fromhex("020000000099" "020000000001" "0800") + ip +
       struct.pack("!HHHH", 40000, 9, 8, 0)).hex())')
	in_ns flowlens ip link set cl0 promisc on
	before=$(fwd_pass cl0 not_for_this_host)
	fwd0=$(fwd cl0)
	in_ns client "$TRAFFIC" frame eth0 "$hex" >/dev/null
	wait_for 5 '[ "$(fwd_pass cl0 not_for_this_host)" -ge $((before + 1)) ]'
	in_ns flowlens ip link set cl0 promisc off
	assert_eq "$(fwd_pass cl0 not_for_this_host)" $((before + 1)) "frame for another MAC passed to the kernel"
	assert_eq "$(fwd cl0)" "$fwd0" "and not routed"
}

# A route added with ip(8) takes effect at the driver at once.
test_follows_kernel_routes() {
	local fwd0
	in_ns server ip addr add 203.0.113.2/32 dev lo
	in_ns flowlens ip route add 203.0.113.0/24 via 198.51.100.2
	fwd0=$(fwd cl0)
	assert_match "$(in_ns client ping -c 3 -i 0.2 -W 2 203.0.113.2)" '3 received' \
		"a destination behind a new static route"
	assert_ge $(($(fwd cl0) - fwd0)) 3 "routed at the driver via the new route"
}

cleanup() {
	in_ns flowlens ip route del 203.0.113.0/24 2>/dev/null || true
	in_ns server ip addr del 203.0.113.2/32 dev lo 2>/dev/null || true
	# Back to a router daemon for the next test.
	if [ "$(flctl -j config show 2>/dev/null | jq -r .mode)" != router ]; then
		lab stop || true
		lab start "${LAB_START_ARGS[@]}"
	fi
}

# A daemon killed outright leaves the program and its maps: forwarding
# goes on, and the next daemon finds every packet counted.
test_forwarding_survives_sigkill() {
	local fwd0 n=200
	fwd0=$(fwd cl0)
	kill -KILL "$(cat "$LAB_DIR/flowlensd.pid")"
	rm -f "$LAB_DIR/flowlensd.pid"
	assert_match "$(ip -n "$NS_FLOWLENS" link show cl0)" 'prog/xdp id' "program still attached"
	udp_send client "$SERVER4" 9 $n 200
	assert_match "$(in_ns client ping -c 2 -i 0.2 -W 2 "$SERVER4")" '2 received' \
		"traffic still crosses with no daemon"
	lab start "${LAB_START_ARGS[@]}"
	assert_ge $(($(fwd cl0) - fwd0)) $((n + 2)) "routed at the driver while no daemon ran"
}

# Generic (skb) XDP routes too, for drivers without native XDP.
test_router_skb_mode() {
	local fwd0
	lab stop
	lab start --mode router --xdp-mode skb
	assert_eq "$(if_counter cl0 .xdp_mode)" skb "attached in skb mode"
	fwd0=$(fwd cl0)
	assert_match "$(in_ns client ping -c 3 -i 0.2 -W 2 "$SERVER4")" '3 received' "ping in skb mode"
	assert_ge $(($(fwd cl0) - fwd0)) 3 "routed by generic XDP"
	lab stop
	lab start "${LAB_START_ARGS[@]}"
}

# Monitor (SPAN port): everything counted, nothing goes anywhere.
test_monitor_counts_and_drops() {
	local n=150 pkts drops udp noports fwd0
	lab stop
	lab start --mode monitor
	assert_eq "$(flctl -j config show | jq -r .mode)" monitor "mode"
	# Both from one snapshot: a stray packet (a neighbour solicitation)
	# between two reads would put them one apart for good.
	read -r drops pkts < <(flctl -j show stats cl0 | jq -r '.interfaces[0] | "\(.verdicts.drop + .flow_cache.escalated) \(.packets)"')
	udp=$(if_counter cl0 .kinds.udp)
	fwd0=$(if_counter cl0 .forwarded)
	noports=$(server_snmp Udp NoPorts)
	udp_send client "$SERVER4" 9 $n 200
	wait_for 5 '[ "$(if_counter cl0 .kinds.udp)" -ge $((udp + n)) ]'
	assert_eq "$(if_counter cl0 .kinds.udp)" $((udp + n)) "every datagram counted"
	# Whatever else the client sent (neighbour solicitations) went too;
	# both counters from one snapshot, retried: a stray packet can be
	# between its packet count and its verdict while the snapshot is read.
	# The first packets of the flow went to a worker, which consumed them.
	local now
	drops_match() {
		now=$(flctl -j show stats cl0 | jq -r '.interfaces[0] | "\(.verdicts.drop + .flow_cache.escalated) \(.packets)"')
		[ $((${now% *} - drops)) -eq $((${now#* } - pkts)) ]
	}
	wait_until 5 drops_match || true
	assert_eq $((${now% *} - drops)) $((${now#* } - pkts)) "every packet dropped after accounting or consumed by a worker"
	assert_eq "$(server_snmp Udp NoPorts)" "$noports" "nothing reached the server"
	assert_eq "$(if_counter cl0 .forwarded)" "$fwd0" "nothing forwarded"
	if in_ns client ping -c 1 -W 1 "$SERVER4" >/dev/null 2>&1; then
		fail "a ping crossed a monitor port"
	fi
}

run_tests
