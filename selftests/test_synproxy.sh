#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The SYN proxy end to end (issue 6): `flctl synproxy add ADDR port P`,
# spoofed floods from flgen in the client namespace, a real client
# (scripts/tcpcheck.py) and a real server (its echo server), in host mode
# (the server on the box: in the flowlens namespace, on 192.0.2.1 or
# 2001:db8:1::1) and in router mode (the server behind it, in the server
# namespace).
#
# Every claim is a count, never a time: the server's SYN queue (ss), its
# kernel counters (nstat in its namespace: TcpExtTCPReqQFullDoCookies when
# the SYN queue overflowed into cookies, TcpExtListenDrops, TcpInSegs),
# the conntrack table of the namespace that runs netfilter (the flowlens
# one), flgen's exact packet counts and the proxy's own counters.
#
# Each flood test runs the same flood twice, without and with the proxy:
# without, it fills the server's SYN queue to its backlog and every SYN
# after that costs the kernel a cookie; with it, the flood is at least
# as big (as many SYNs seen by the proxy as flgen sent the first time)
# and the server's queue stays empty while N real connections go through,
# each echoing its data byte for byte. The floods go at full rate, one
# flgen thread on CPU 0. The two halves use two ports, because the SYN-RECV
# sockets of the first flood linger for a minute.
# test: exclusive
# (Full-rate floods whose every packet must be counted: in host mode a
# flood's first packets go through a worker and TUN, and with other
# scripts beside it on 2 cores a worker fell behind and forged ACKs were
# lost before the server counted them. run.sh runs it alone.)
source "$(dirname "$0")/lib.sh"

BACKLOG=128
N=20 # connections in a row through a flood
SPOOF4=198.18.0.0/15
SPOOF6=2001:db8:f::/48
HOST4=192.0.2.1
HOST6=2001:db8:1::1

flood_file() {
	mktemp "${TMPDIR:-/tmp}"/fl-synproxy-test.XXXX
}

# delivered FILE: the packets of flgen's report FILE that its veth handed
# to cl0 (sent less those dropped because cl0's ring was full).
delivered() {
	jq '.packets - (.interface_counters.tx_dropped // 0)' "$1"
}

# sp_stats ADDR PORT: the service's counters, one JSON object.
sp_stats() {
	flctl -j synproxy stats "$1" port "$2" | jq -c '.services[0]'
}

# sp_counter ADDR PORT NAME
sp_counter() {
	sp_stats "$1" "$2" | jq -r ".$3"
}

# nft_ruleset: the flowlens namespace's whole nftables ruleset.
nft_ruleset() {
	in_ns flowlens nft list ruleset
}

# synproxy_kernel_stat FIELD: netfilter synproxy's own counter in the
# flowlens namespace (syn_received, cookie_invalid, cookie_valid ...),
# summed over CPUs (/proc/net/stat/synproxy is per CPU, in hex).
synproxy_kernel_stat() {
	in_ns flowlens cat /proc/net/stat/synproxy | {
		local header col i n=0 value
		read -r -a header
		for i in "${!header[@]}"; do
			[ "${header[$i]}" = "$1" ] && col=$i
		done
		while read -r -a value; do
			n=$((n + 16#${value[$col]}))
		done
		echo "$n"
	}
}

# spoof6_route: the flowlens namespace routes SPOOF6 back to the client,
# as lab.sh does for 198.18.0.0/15, so that the kernel's own SYN-ACKs to
# the IPv6 flood's sources go somewhere (the client drops them).
spoof6_route() {
	in_ns flowlens ip -6 route replace "$SPOOF6" via 2001:db8:1::2
}

# explain_failed_connections ADDR PORT NFT_VALID0 NFT_INVALID0: after
# real connections through the proxy failed, where their cookie ACKs went
# (netfilter synproxy's counters were NFT_VALID0 and NFT_INVALID0 before).
explain_failed_connections() {
	local stats valid invalid
	stats=$(sp_stats "$1" "$2")
	valid=$(($(synproxy_kernel_stat cookie_valid) - $3))
	invalid=$(($(synproxy_kernel_stat cookie_invalid) - $4))
	echo "the proxy's counters: $stats"
	echo "netfilter synproxy in the flowlens namespace: cookie_valid +$valid, cookie_invalid +$invalid"
	if [ "$(jq .cookies_valid <<<"$stats")" -gt 0 ] && [ $valid = 0 ] && [ $invalid = 0 ]; then
		echo "XDP passed cookie ACKs on, and netfilter's synproxy dropped them without checking the cookie."
		[ "${1#*:}" = "$1" ] ||
			echo "For IPv6 that is what nft_synproxy does on Linux $(uname -r) with a packet whose TCP checksum the stack has not validated yet (CHECKSUM_NONE, as veth delivers it with the sender's tx checksum offload off): it checks it with nf_ip_checksum, the IPv4 routine, and drops it."
	fi
}

cleanup() {
	local s
	daemon_alive || lab start
	flctl -j synproxy list 2>/dev/null | jq -r '.services[] | "\(.addr) \(.port)"' |
		while read -r s; do
			# shellcheck disable=SC2086 # ADDR PORT
			set -- $s
			flctl synproxy del "$1" port "$2" >/dev/null
		done
	rm -f "${TMPDIR:-/tmp}"/fl-synproxy-test.*
}

# proxy_protects MODE ADDR NS SPOOF PORT: the flood-twice test above for
# the service ADDR port PORT (then PORT + 1) served from namespace NS.
proxy_protects() {
	local mode=$1 addr=$2 ns=$3 spoof=$4 port=$5 port2=$(($5 + 1))
	local out sent1 reqfull0 cookies0 drops0 overflows0 ct0 before after stats synrecv nft_valid0 nft_invalid0
	daemon_mode "$mode"
	[ "${addr#*:}" = "$addr" ] || spoof6_route
	local flood=(syn -i eth0 --src "$spoof" --sport 1024-65535 --dst "$addr" -d 120 --cpus 0)

	# 1. Without the proxy the flood fills the SYN queue, then every SYN
	# overflows into a cookie the server's kernel computes.
	echo_server "$ns" "$addr" "$port" $BACKLOG
	reqfull0=$(ns_nstat "$ns" TcpExtTCPReqQFullDoCookies)
	out=$(flood_file)
	flood_bg "$out" "${flood[@]}" --dport "$port"
	wait_for 60 '[ "$(syn_recv "$ns" "$port")" -ge $BACKLOG ]'
	wait_for 60 '[ "$(ns_nstat "$ns" TcpExtTCPReqQFullDoCookies)" -ge $((reqfull0 + 10 * BACKLOG)) ]'
	flood_stop "$FLOOD_PID"
	sent1=$(delivered "$out")
	synrecv=$(syn_recv "$ns" "$port")
	echo "without the proxy: flgen sent $(jq -c '{packets, pps}' "$out"); the server in $ns:" \
		"SYN-RECV $synrecv (backlog $BACKLOG)," \
		"TcpExtTCPReqQFullDoCookies +$(($(ns_nstat "$ns" TcpExtTCPReqQFullDoCookies) - reqfull0))"
	assert_ge "$synrecv" $BACKLOG "SYN-RECV sockets on $addr port $port after a flood without the proxy"

	# 2. With the proxy, a flood at least as big: the server never hears
	# of it, and N real connections in a row go through intact.
	echo_server "$ns" "$addr" "$port2" $BACKLOG
	flctl synproxy add "$addr" port "$port2"
	reqfull0=$(ns_nstat "$ns" TcpExtTCPReqQFullDoCookies)
	cookies0=$(ns_nstat "$ns" TcpExtSyncookiesSent)
	drops0=$(ns_nstat "$ns" TcpExtListenDrops)
	overflows0=$(ns_nstat "$ns" TcpExtListenOverflows)
	ct0=$(conntrack_count flowlens)
	out=$(flood_file)
	flood_bg "$out" "${flood[@]}" --dport "$port2"
	wait_for 120 '[ "$(sp_counter "$addr" "$port2" syns_seen)" -ge "$sent1" ]'
	before=$(sp_stats "$addr" "$port2")
	nft_valid0=$(synproxy_kernel_stat cookie_valid)
	nft_invalid0=$(synproxy_kernel_stat cookie_invalid)
	tcp_connects client "$addr" "$port2" $N --timeout 30 || {
		explain_failed_connections "$addr" "$port2" "$nft_valid0" "$nft_invalid0"
		return 1
	}
	after=$(sp_stats "$addr" "$port2")
	synrecv=$(syn_recv "$ns" "$port2")
	flood_stop "$FLOOD_PID"
	stats=$(sp_stats "$addr" "$port2")
	echo "with the proxy: flgen sent $(jq -c '{packets, pps}' "$out"); stats $stats"
	echo "the server in $ns during the flood: SYN-RECV $synrecv, accept queue $(accept_queue "$ns" "$port2")," \
		"TcpExtTCPReqQFullDoCookies +$(($(ns_nstat "$ns" TcpExtTCPReqQFullDoCookies) - reqfull0))," \
		"TcpExtSyncookiesSent +$(($(ns_nstat "$ns" TcpExtSyncookiesSent) - cookies0))," \
		"TcpExtListenDrops +$(($(ns_nstat "$ns" TcpExtListenDrops) - drops0))," \
		"TcpExtListenOverflows +$(($(ns_nstat "$ns" TcpExtListenOverflows) - overflows0));" \
		"conntrack entries in flowlens: $ct0 before, $(conntrack_count flowlens) after"
	json_check "$stats" ".syns_seen >= $sent1 and .synacks_sent == .syns_seen and
		.bad_checksum == 0 and .passed_to_kernel == 0" "every SYN of the flood answered from XDP"
	json_check "$after" ".cookies_valid - $(jq .cookies_valid <<<"$before") >= $N and
		.passed_established - $(jq .passed_established <<<"$before") >= $N" \
		"the $N connections' cookie ACKs and established packets passed"
	assert_eq "$synrecv" 0 "SYN-RECV sockets on $addr port $port2 during the flood with the proxy"
	assert_eq "$(ns_nstat "$ns" TcpExtTCPReqQFullDoCookies)" "$reqfull0" "TcpExtTCPReqQFullDoCookies with the proxy"
	assert_eq "$(ns_nstat "$ns" TcpExtSyncookiesSent)" "$cookies0" "TcpExtSyncookiesSent with the proxy"
	assert_eq "$(ns_nstat "$ns" TcpExtListenDrops)" "$drops0" "TcpExtListenDrops with the proxy"
	# The N connections' entries (in TIME_WAIT, or closing) and no more.
	assert_ge $((ct0 + N + 5)) "$(conntrack_count flowlens)" "conntrack entries after the flood (+N+5 at most)"
}

test_host_ipv4_flood() {
	proxy_protects host $HOST4 flowlens $SPOOF4 8100
}

test_host_ipv6_flood() {
	proxy_protects host $HOST6 flowlens $SPOOF6 8110
}

test_router_ipv4_flood() {
	proxy_protects router "$SERVER4" server $SPOOF4 8120
}

test_router_ipv6_flood() {
	proxy_protects router "$SERVER6" server $SPOOF6 8130
}

# forged_acks MODE ADDR NS SPOOF PORT: bare ACKs with random sequence and
# acknowledgment numbers from spoofed sources. Without the proxy every one
# reaches the server's TCP (TcpInSegs counts each exactly, and it answers
# with a reset); with it, each is counted as cookies_invalid, dropped in
# XDP, and none reaches the server, nor netfilter's synproxy, nor the
# conntrack table.
forged_acks() {
	local mode=$1 addr=$2 ns=$3 spoof=$4 port=$5 out segs0 n ct0 ct1 nft_invalid0 stats
	daemon_mode "$mode"
	[ "${addr#*:}" = "$addr" ] || spoof6_route
	local acks=(ack -i eth0 --src "$spoof" --sport 1024-65535 --dst "$addr" --dport "$port" --cpus 0 -j)
	echo_server "$ns" "$addr" "$port" $BACKLOG

	segs0=$(ns_nstat "$ns" TcpInSegs)
	out=$(flood_file)
	flgen "${acks[@]}" -n 2000 >"$out"
	n=$(delivered "$out")
	wait_for 10 '[ "$(ns_nstat "$ns" TcpInSegs)" -ge $((segs0 + n)) ]'
	echo "without the proxy: $n forged ACKs delivered, the server's TcpInSegs +$(($(ns_nstat "$ns" TcpInSegs) - segs0))"
	assert_eq "$(($(ns_nstat "$ns" TcpInSegs) - segs0))" "$n" "forged ACKs reaching $addr's TCP without the proxy"

	flctl synproxy add "$addr" port "$port"
	segs0=$(ns_nstat "$ns" TcpInSegs)
	ct0=$(conntrack_count flowlens)
	nft_invalid0=$(synproxy_kernel_stat cookie_invalid)
	out=$(flood_file)
	flgen "${acks[@]}" -n 20000 >"$out"
	n=$(delivered "$out")
	wait_for 10 '[ "$(sp_counter "$addr" "$port" cookies_invalid)" -ge "$n" ]'
	stats=$(sp_stats "$addr" "$port")
	ct1=$(conntrack_count flowlens)
	echo "with the proxy: $n forged ACKs delivered; stats $stats"
	echo "the server in $ns: TcpInSegs +$(($(ns_nstat "$ns" TcpInSegs) - segs0)), SYN-RECV $(syn_recv "$ns" "$port")," \
		"accept queue $(accept_queue "$ns" "$port"); conntrack entries in flowlens: $ct0 before, $ct1 after;" \
		"netfilter synproxy cookie_invalid +$(($(synproxy_kernel_stat cookie_invalid) - nft_invalid0))"
	# A random ACK is a valid cookie with a chance of about 3 in 10^9.
	json_check "$stats" ".cookies_invalid == $n and .cookies_valid == 0 and .passed_established == 0 and
		.syns_seen == 0" "every forged ACK dropped as cookies_invalid"
	assert_eq "$(($(ns_nstat "$ns" TcpInSegs) - segs0))" 0 "forged ACKs reaching $addr's TCP with the proxy"
	assert_eq "$(syn_recv "$ns" "$port")" 0 "SYN-RECV sockets on $addr port $port"
	assert_eq "$(accept_queue "$ns" "$port")" 0 "accept queue of $addr port $port"
	assert_eq "$(synproxy_kernel_stat cookie_invalid)" "$nft_invalid0" "forged ACKs reaching netfilter's synproxy"
	assert_ge $((ct0 + 2)) "$ct1" "conntrack entries after the forged ACKs (+2 at most)"
	flctl synproxy del "$addr" port "$port"
}

test_forged_acks_host_ipv4() {
	forged_acks host $HOST4 flowlens $SPOOF4 8200
}

test_forged_acks_router_ipv4() {
	forged_acks router "$SERVER4" server $SPOOF4 8210
}

test_forged_acks_router_ipv6() {
	forged_acks router "$SERVER6" server $SPOOF6 8220
}

# The counters, exactly: spoofed SYNs are seen and answered one for one,
# and their SYN-ACKs arrive at the client (which drops them: IpInAddrErrors,
# not its address); a real client's handshakes pass as valid cookies,
# which netfilter's synproxy checks again, and its data as established.
test_stats_counters() {
	local port=8300 out n addr_errors0 stats nft_valid0 nft_invalid0 list
	daemon_mode host
	echo_server flowlens $HOST4 $port $BACKLOG
	flctl synproxy add $HOST4 port $port mss 1400 wscale 5
	list=$(flctl -j synproxy list)
	echo "list: $list"
	json_check "$list" ".services == [{\"addr\": \"$HOST4\", \"port\": $port, \"mss\": 1400, \"wscale\": 5}]" "synproxy list"
	json_check "$(flctl -j synproxy stats)" "[.services[] | select(.addr == \"$HOST4\" and .port == $port)] | length == 1" \
		"synproxy stats lists the service"
	json_check "$(sp_stats $HOST4 $port)" '[.syns_seen, .synacks_sent, .cookies_valid, .cookies_invalid,
		.passed_established, .bad_checksum, .passed_to_kernel] == [0, 0, 0, 0, 0, 0, 0]' "counters of a new service"

	addr_errors0=$(ns_nstat client IpInAddrErrors)
	out=$(flood_file)
	flgen syn -i eth0 --src $SPOOF4 --sport 1024-65535 --dst $HOST4 --dport $port -n 1000 -j >"$out"
	n=$(delivered "$out")
	wait_for 10 '[ "$(sp_counter $HOST4 $port synacks_sent)" -ge "$n" ]'
	wait_for 10 '[ "$(ns_nstat client IpInAddrErrors)" -ge $((addr_errors0 + n)) ]'
	stats=$(sp_stats $HOST4 $port)
	echo "after $n spoofed SYNs: $stats; SYN-ACKs at the client: $(($(ns_nstat client IpInAddrErrors) - addr_errors0))"
	json_check "$stats" ".syns_seen == $n and .synacks_sent == $n and .cookies_valid == 0 and
		.cookies_invalid == 0 and .passed_established == 0 and .bad_checksum == 0 and
		.passed_to_kernel == 0" "counters after $n spoofed SYNs"
	assert_eq "$(($(ns_nstat client IpInAddrErrors) - addr_errors0))" "$n" "SYN-ACKs arriving at the client"
	assert_eq "$(syn_recv flowlens $port)" 0 "SYN-RECV sockets on the server"

	nft_valid0=$(synproxy_kernel_stat cookie_valid)
	nft_invalid0=$(synproxy_kernel_stat cookie_invalid)
	tcp_connects client $HOST4 $port 5 || {
		explain_failed_connections $HOST4 $port "$nft_valid0" "$nft_invalid0"
		return 1
	}
	stats=$(sp_stats $HOST4 $port)
	echo "after 5 connections: $stats; netfilter synproxy cookie_valid +$(($(synproxy_kernel_stat cookie_valid) - nft_valid0))"
	json_check "$stats" ".syns_seen >= $n + 5 and .synacks_sent == .syns_seen and .cookies_valid >= 5 and
		.passed_established >= 5 and .cookies_invalid == 0 and .bad_checksum == 0 and
		.passed_to_kernel == 0" "counters after 5 real connections"
	assert_ge "$(($(synproxy_kernel_stat cookie_valid) - nft_valid0))" 5 "cookie ACKs netfilter's synproxy took"
}

# tc_filters: flowlensd's tc ingress filters on cl0 and sv0 (the IPv6
# checksum mark), one line each.
tc_filters() {
	local ifname
	for ifname in cl0 sv0; do
		in_ns flowlens tc filter show dev "$ifname" ingress | sed "s/^/$ifname: /"
	done
}

# flowlensd's nftables table and tcp_loose: there while a service is, gone
# (and tcp_loose back) when the last one goes and when flowlensd stops;
# after a crash both stay, and the next flowlensd takes them over. Its tc
# ingress filters go with a clean stop too.
test_teardown_leaves_no_rules() {
	local port=8400 loose0 pid
	daemon_mode host
	loose0=$(in_ns flowlens sysctl -n net.netfilter.nf_conntrack_tcp_loose)
	assert_eq "$(nft_ruleset)" "" "nftables ruleset before any service"

	flctl synproxy add $HOST4 port $port
	flctl synproxy add $HOST6 port $port
	nft_ruleset
	assert_match "$(nft_ruleset)" "table inet flowlens_synproxy" "the table with two services"
	assert_match "$(nft_ruleset)" "ip6 daddr" "IPv6 rules"
	assert_eq "$(in_ns flowlens sysctl -n net.netfilter.nf_conntrack_tcp_loose)" 0 "tcp_loose with services"
	flctl synproxy del $HOST4 port $port
	assert_match "$(nft_ruleset)" "table inet flowlens_synproxy" "the table with one service left"
	flctl synproxy del $HOST6 port $port
	assert_eq "$(nft_ruleset)" "" "nftables ruleset after the last del"
	assert_eq "$(in_ns flowlens sysctl -n net.netfilter.nf_conntrack_tcp_loose)" "$loose0" "tcp_loose after the last del"

	# A clean stop takes the table away; a start puts it back.
	flctl synproxy add $HOST4 port $port
	lab stop
	assert_eq "$(nft_ruleset)" "" "nftables ruleset after flowlensd stopped"
	assert_eq "$(tc_filters)" "" "tc ingress filters after flowlensd stopped"
	assert_eq "$(in_ns flowlens sysctl -n net.netfilter.nf_conntrack_tcp_loose)" "$loose0" "tcp_loose after flowlensd stopped"
	lab start
	json_check "$(flctl -j synproxy list)" "[.services[] | [.addr, .port]] == [[\"$HOST4\", $port]]" \
		"the service after a restart"
	assert_match "$(nft_ruleset)" "table inet flowlens_synproxy" "the table after a restart"
	echo_server flowlens $HOST4 $port $BACKLOG
	tcp_connects client $HOST4 $port 3
	json_check "$(sp_stats $HOST4 $port)" '.cookies_valid >= 3' "XDP answering after a restart"

	# A crash leaves both; the next flowlensd takes them over, and its
	# stop removes them.
	pid=$(cat "$LAB_DIR/flowlensd.pid")
	kill -KILL "$pid"
	wait_for 10 '! kill -0 '"$pid"
	assert_match "$(nft_ruleset)" "table inet flowlens_synproxy" "the table after flowlensd was killed"
	lab start
	assert_eq "$(nft_ruleset | grep -c 'table inet flowlens_synproxy')" 1 "tables after the restart"
	tc_filters
	assert_eq "$(tc_filters | grep -c '^cl0: .*handle 0xf10 ')" 1 "tc ingress filters on cl0 after the restart"
	assert_eq "$(tc_filters | grep -c '^sv0: .*handle 0xf10 ')" 1 "tc ingress filters on sv0 after the restart"
	tcp_connects client $HOST4 $port 3
	lab stop
	assert_eq "$(nft_ruleset)" "" "nftables ruleset after the restarted flowlensd stopped"
	assert_eq "$(tc_filters)" "" "tc ingress filters after the restarted flowlensd stopped"
	assert_eq "$(in_ns flowlens sysctl -n net.netfilter.nf_conntrack_tcp_loose)" "$loose0" "tcp_loose in the end"
	lab start
	flctl synproxy del $HOST4 port $port
	assert_eq "$(nft_ruleset)" "" "nftables ruleset in the end"
}

run_tests
