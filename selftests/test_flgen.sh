#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# flgen, the traffic generator, as a black box: it runs in the client
# namespace and sends out of eth0 into cl0, where flowlensd counts every
# frame exactly, so each count flgen claims is checked against what
# actually arrived. The server's own kernel counters check that the frames
# are valid (checksums, MACs) all the way through; a veth pair in the
# client namespace carries flgen into flgen sink.
# test: exclusive
# (Floods at full rate, and counts or rates that depend on them: with
# other scripts beside it on 2 cores its floods fell short. run.sh runs
# it alone.)
source "$(dirname "$0")/lib.sh"

NS_CLIENT=${FL_LAB_PREFIX:-fl}-client
NS_SERVER=${FL_LAB_PREFIX:-fl}-server
SPOOF4=198.18.0.0/15
SPOOF6=2001:db8:f::/48

mac_of() {
	ip -n "$1" -j link show "$2" | jq -r '.[0].address'
}

# pin_neighbours NS_A IF_A NS_B IF_B: every address of IF_B (link-local
# too) gets a permanent neighbour entry on IF_A, so NS_A never sends an
# ARP or ND probe for one (nor makes IF_B answer).
pin_neighbours() {
	local mac addr
	mac=$(mac_of "$3" "$4")
	for addr in $(ip -n "$3" -j addr show dev "$4" | jq -r '.[0].addr_info[].local'); do
		ip -n "$1" neigh replace "$addr" lladdr "$mac" dev "$2" nud permanent
	done
}

# Exact interface counters need a quiet wire: nothing but flgen may send
# into cl0 while a test measures. Permanent neighbours on every hop (the
# client's many addresses included: the kernel's source address for
# --dst may be any of them, and the replies to it would make the router
# probe it) and no more router solicitations; then wait until what the
# lab's start-up sent has died down. Once per lab.
quiet_lab() {
	local last now same=0
	[ ! -f "$LAB_DIR/flgen-quiet" ] || return 0
	pin_neighbours "$NS_CLIENT" eth0 "$NS_FLOWLENS" cl0
	pin_neighbours "$NS_FLOWLENS" cl0 "$NS_CLIENT" eth0
	pin_neighbours "$NS_FLOWLENS" sv0 "$NS_SERVER" eth0
	pin_neighbours "$NS_SERVER" eth0 "$NS_FLOWLENS" sv0
	ip netns exec "$NS_CLIENT" sysctl -qw net.ipv6.conf.eth0.router_solicitations=0
	last=$(if_counter cl0 .packets)
	for _ in $(seq 1 60); do
		sleep 0.5
		now=$(if_counter cl0 .packets)
		if [ "$now" = "$last" ]; then
			same=$((same + 1))
			[ $same -lt 4 ] || break
		else
			same=0
		fi
		last=$now
	done
	touch "$LAB_DIR/flgen-quiet"
}

cl0_snapshot() {
	flctl -j show stats cl0 | jq -c '.interfaces[0] | {packets, bytes} + .kinds'
}

# delta BEFORE AFTER FIELD: how much a counter of cl0_snapshot moved.
delta() {
	jq -n --argjson a "$1" --argjson b "$2" "\$b.$3 - \$a.$3"
}

# Every counter of cl0_snapshot that moved, for the log.
all_deltas() {
	jq -n -c --argjson a "$1" --argjson b "$2" \
		'$b | to_entries | map({(.key): (.value - $a[.key])}) | add | with_entries(select(.value != 0))'
}

# A counter of the server's kernel: snmp Udp NoPorts, or snmp6 Udp6NoPorts.
snmp() {
	ip netns exec "$NS_SERVER" awk -v p="$1:" -v f="$2" '
		$1 == p && !seen { for (i = 2; i <= NF; i++) if ($i == f) c = i; seen = 1; next }
		$1 == p && seen { print $c; exit }' /proc/net/snmp
}

snmp6() {
	ip netns exec "$NS_SERVER" awk -v f="$1" '$1 == f { print $2 }' /proc/net/snmp6
}

# send_exact KIND DST SIZE N KIND_COUNTER [FLGEN ARGS...]: flgen sends
# exactly N frames of SIZE bytes, says so, and cl0 counted exactly them.
send_exact() {
	local kind=$1 dst=$2 size=$3 n=$4 counter=$5 before after out
	shift 5
	quiet_lab
	before=$(cl0_snapshot)
	out=$(flgen "$kind" -i eth0 --dst "$dst" -n "$n" -l "$size" -j "$@")
	after=$(cl0_snapshot)
	echo "flgen: $out"
	echo "cl0 moved by: $(all_deltas "$before" "$after")"
	json_check "$out" ".packets == $n and .bytes == $((n * size))" "what flgen says it sent"
	json_check "$out" ".interface_counters.tx_packets == $n and .interface_counters.tx_dropped == 0" \
		"eth0's own counters"
	assert_eq "$(delta "$before" "$after" packets)" "$n" "packets on cl0"
	assert_eq "$(delta "$before" "$after" bytes)" $((n * size)) "bytes on cl0"
	assert_eq "$(delta "$before" "$after" "$counter")" "$n" "$counter on cl0"
	assert_eq "$(delta "$before" "$after" malformed)" 0 "malformed on cl0"
}

test_udp_ipv4_exact() {
	send_exact udp "$SERVER4" 100 1000 udp
}

test_udp_ipv6_exact() {
	send_exact udp "$SERVER6" 200 1000 udp
}

test_syn_exact() {
	send_exact syn "$SERVER4" 60 1000 tcp_syn --dport 80
	send_exact syn "$SERVER6" 74 1000 tcp_syn --dport 80
}

test_ack_exact() {
	local before after
	before=$(cl0_snapshot)
	send_exact ack "$SERVER4" 64 1000 tcp
	send_exact ack "$SERVER6" 90 1000 tcp
	after=$(cl0_snapshot)
	assert_eq "$(delta "$before" "$after" tcp_syn)" 0 "ACKs counted as SYNs"
}

test_icmp_exact() {
	send_exact icmp "$SERVER4" 98 1000 icmp
	send_exact icmp "$SERVER6" 118 1000 icmpv6
}

# The largest frame the MTU allows, and the default (minimum) size.
test_sizes() {
	send_exact udp "$SERVER4" 1514 500 udp
	quiet_lab
	local out
	out=$(flgen syn -i eth0 --dst "$SERVER6" -n 10 -j)
	json_check "$out" '.size == 74 and .bytes == 740' "default size of an IPv6 SYN"
	out=$(flgen udp -i eth0 --dst "$SERVER4" -n 10 -j)
	json_check "$out" '.size == 60 and .bytes == 600' "default size of an IPv4 UDP packet"
}

csum_errors() {
	echo "IPv4 $(($(snmp Udp InCsumErrors) + $(snmp Tcp InCsumErrors) + $(snmp Icmp InCsumErrors))), IPv6 $(($(snmp6 Udp6InCsumErrors) + $(snmp6 Icmp6InCsumErrors)))"
}

# What the server's kernel took of one kind (udp4, syn6, icmp4, ...).
server_received() {
	case $1 in
	udp4) snmp Udp NoPorts ;;
	udp6) snmp6 Udp6NoPorts ;;
	syn* | ack*) snmp Tcp InSegs ;;
	icmp4) snmp Icmp InEchos ;;
	icmp6) snmp6 Icmp6InEchos ;;
	esac
}

# Every kind and family, random sources and ports, reaches the server's
# kernel intact: its counters see every packet and no checksum error.
test_checksums_valid() {
	local k fam dst src csum4 csum6 ports=() before after
	quiet_lab
	csum4=$(($(snmp Udp InCsumErrors) + $(snmp Tcp InCsumErrors) + $(snmp Icmp InCsumErrors)))
	csum6=$(($(snmp6 Udp6InCsumErrors) + $(snmp6 Icmp6InCsumErrors)))
	for fam in 4 6; do
		if [ $fam = 4 ]; then dst=$SERVER4 src=$SPOOF4; else dst=$SERVER6 src=$SPOOF6; fi
		for k in udp syn ack icmp; do
			ports=(--sport 1-65535 --dport 1000-1999)
			[ $k != icmp ] || ports=()
			before=$(server_received "$k$fam")
			flgen "$k" -i eth0 --src "$src" --dst "$dst" "${ports[@]}" -n 200 -r 5000 -l 101 >/dev/null
			for _ in $(seq 1 50); do
				[ $(($(server_received "$k$fam") - before)) -lt 200 ] || break
				sleep 0.1
			done
			after=$(server_received "$k$fam")
			assert_eq $((after - before)) 200 \
				"IPv$fam $k packets the server's kernel took (checksum errors: $(csum_errors))"
		done
	done
	assert_eq $(($(snmp Udp InCsumErrors) + $(snmp Tcp InCsumErrors) + $(snmp Icmp InCsumErrors))) \
		"$csum4" "IPv4 checksum errors on the server"
	assert_eq $(($(snmp6 Udp6InCsumErrors) + $(snmp6 Icmp6InCsumErrors))) "$csum6" \
		"IPv6 checksum errors on the server"
}

# top_sources PATTERN: "count sum" of the top-src entries matching PATTERN.
top_sources() {
	flctl -j top src -n 5000 | jq -r --arg p "$1" \
		'[.entries[] | select(.addr | test($p))] | "\(length) \(map(.packets) | add // 0)"'
}

# A spoofed SYN flood: every source inside the /24 asked for (the whole
# /15 is protected, so one outside it would show), many distinct ones,
# and their exact counters add up to what was sent.
test_spoofed_sources_ipv4() {
	local inside outside
	quiet_lab
	flctl protect add "$SPOOF4"
	flgen syn -i eth0 --src 198.18.0.0/24 --sport 1024-65535 --dst "$SERVER4" -n 2000 >/dev/null
	# top ranks by the last second's rate: read it once the tick saw them.
	wait_for 5 '[ "$(top_sources "^198\\.18\\." | cut -d" " -f2)" = 2000 ]'
	inside=$(top_sources '^198\.18\.0\.')
	outside=$(top_sources '^198\.(18\.([1-9]|[1-9][0-9]|1[0-9][0-9]|2[0-5][0-9])|19)\.')
	echo "inside 198.18.0.0/24: $inside; elsewhere in $SPOOF4: $outside"
	assert_eq "${inside#* }" 2000 "packets from 198.18.0.0/24"
	assert_eq "$outside" "0 0" "sources outside 198.18.0.0/24"
	assert_ge "${inside% *}" 200 "distinct sources (of 256)"
}

# Random IPv6 sources in a /64: all inside, all distinct (64 random bits).
test_spoofed_sources_ipv6() {
	local inside
	quiet_lab
	flctl protect add "$SPOOF6"
	flgen udp -i eth0 --src 2001:db8:f:1::/64 --dst "$SERVER6" -n 500 >/dev/null
	wait_for 5 '[ "$(top_sources "^2001:db8:f:" | cut -d" " -f2)" = 500 ]'
	inside=$(top_sources '^2001:db8:f:1:')
	assert_eq "$inside" "500 500" "distinct sources in 2001:db8:f:1::/64 and their packets"
	assert_eq "$(top_sources '^2001:db8:f:')" "500 500" "sources anywhere in $SPOOF6"
}

# A range A-B: every source inside it.
test_source_range() {
	local inside
	quiet_lab
	flctl protect add "$SPOOF4"
	flgen udp -i eth0 --src 198.18.7.10-198.18.7.19 --dst "$SERVER4" -n 1000 >/dev/null
	wait_for 5 '[ "$(top_sources "^198\\.1[89]\\." | cut -d" " -f2)" = 1000 ]'
	inside=$(top_sources '^198\.18\.7\.1[0-9]$')
	assert_eq "$inside" "10 1000" "the 10 sources of the range and their packets"

	flctl protect add "$SPOOF6"
	flgen udp -i eth0 --src 2001:db8:f::10-2001:db8:f::1f --dst "$SERVER6" -n 1000 >/dev/null
	wait_for 5 '[ "$(top_sources "^2001:db8:f:" | cut -d" " -f2)" = 1000 ]'
	inside=$(top_sources '^2001:db8:f::1[0-9a-f]$')
	assert_eq "$inside" "16 1000" "the 16 sources of the IPv6 range and their packets"
}

test_threads_split_exactly() {
	local before after out
	quiet_lab
	before=$(cl0_snapshot)
	out=$(flgen udp -i eth0 --dst "$SERVER4" -T 2 -n 1001 -j)
	after=$(cl0_snapshot)
	echo "$out"
	json_check "$out" '.packets == 1001 and (.threads | length) == 2' "two threads, 1001 packets"
	json_check "$out" '[.threads[].packets] | sort == [500, 501]' "1001 split 501/500"
	json_check "$out" '[.threads[].cpu] | sort == [0, 1]' "one thread per CPU"
	assert_eq "$(delta "$before" "$after" packets)" 1001 "packets on cl0"
	out=$(flgen udp -i eth0 --dst "$SERVER4" --cpus 1 -n 10 -j)
	json_check "$out" '.threads[0].cpu == 1 and .threads[0].packets == 10' "--cpus 1"
}

# Rate-limited: the count is exact (the time is not asserted).
test_rate_exact_count() {
	local before after out
	quiet_lab
	before=$(cl0_snapshot)
	out=$(flgen udp -i eth0 --dst "$SERVER4" -r 2000 -n 500 -j)
	json_check "$out" '.packets == 500' "-r 2000 -n 500"
	out=$(flgen icmp -i eth0 --dst "$SERVER6" -T 2 -r 3k -n 301 -j)
	json_check "$out" '.packets == 301 and ([.threads[].packets] | sort == [150, 151])' \
		"-T 2 -r 3k -n 301"
	after=$(cl0_snapshot)
	assert_eq "$(delta "$before" "$after" packets)" 801 "packets on cl0"
}

# -d: whatever was sent in the time is what arrived, per thread and in all.
test_duration() {
	local before after out n
	quiet_lab
	before=$(cl0_snapshot)
	out=$(flgen udp -i eth0 --dst "$SERVER4" -d 0.5 -r 10k -T 2 -j)
	after=$(cl0_snapshot)
	echo "$out"
	n=$(echo "$out" | jq .packets)
	assert_ge "$n" 1 "packets sent in 0.5 s"
	json_check "$out" '.packets == ([.threads[].packets] | add)' "threads add up"
	assert_eq "$(delta "$before" "$after" packets)" "$n" "packets on cl0"
}

# stop_and_wait PID SIGNAL WHAT: the signal must end the process within
# 5 s (a deadline for a hang, not a measurement).
stop_and_wait() {
	local rc
	kill "-$2" "$1"
	for _ in $(seq 1 50); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -KILL "$1"
		fail "$3 did not end on SIG$2"
	fi
	wait "$1" && rc=0 || rc=$?
	assert_eq "$rc" 0 "$3's exit status after SIG$2"
}

# SIGINT ends an endless run cleanly, with a report that matches cl0.
test_sigint_reports() {
	local before after out pid n
	quiet_lab
	out=$(mktemp)
	before=$(cl0_snapshot)
	# Not through in_ns (a function): $! must be flgen itself. -d 60
	# only so that a broken signal path cannot hang the tests.
	"$LAB" exec client flgen udp -i eth0 --dst "$SERVER4" -r 1000 -d 60 -j >"$out" &
	pid=$!
	sleep 0.5
	stop_and_wait $pid INT flgen
	after=$(cl0_snapshot)
	cat "$out"
	n=$(jq .packets "$out")
	assert_ge "$n" 1 "packets before SIGINT"
	assert_eq "$(delta "$before" "$after" packets)" "$n" "packets on cl0"
	rm -f "$out"
}

# write_pcap FILE: 40 IPv4 and 10 IPv6 UDP datagrams to the server, 1 ms
# apart, of 60..(60+49*20) bytes; then 2 frames too large for the MTU and
# one captured truncated. Prints the bytes of the 50 good frames.
write_pcap() {
	python3 - "$1" <<'EOF'
import socket, struct, sys

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

def udp4(size):
    payload = b"x" * (size - 42)
    src, dst = socket.inet_aton("192.0.2.2"), socket.inet_aton("198.51.100.2")
    udp = struct.pack("!HHHH", 4000, 9, 8 + len(payload), 0) + payload
    c = csum(src + dst + struct.pack("!BBH", 0, 17, len(udp)) + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\0" * 6 + b"\x02\0\0\0\0\x01" + b"\x08\x00" + ip + udp

def udp6(size):
    payload = b"y" * (size - 62)
    src = socket.inet_pton(socket.AF_INET6, "2001:db8:1::2")
    dst = socket.inet_pton(socket.AF_INET6, "2001:db8:2::2")
    udp = struct.pack("!HHHH", 4000, 9, 8 + len(payload), 0) + payload
    c = csum(src + dst + struct.pack("!I3xB", len(udp), 17) + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    ip = struct.pack("!IHBB16s16s", 6 << 28, len(udp), 17, 64, src, dst)
    return b"\0" * 6 + b"\x02\0\0\0\0\x01" + b"\x86\xdd" + ip + udp

frames, good = [], 0
for i in range(50):
    f = udp4(60 + i * 20) if i < 40 else udp6(80 + i * 20)
    frames.append((f, len(f)))
    good += len(f)
big = udp4(3000)
frames += [(big, len(big)), (big, len(big)), (udp4(100)[:60], 100)]
with open(sys.argv[1], "wb") as out:
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for n, (data, length) in enumerate(frames):
        out.write(struct.pack("<IIII", 1700000000, n * 1000, len(data), length) + data)
print(good)
EOF
}

# A capture replayed at its own pace: exactly its good frames arrive, the
# others are skipped and counted, and the rewritten MACs get every
# datagram through the router to the server's kernel.
test_replay_exact() {
	local dir bytes before after out noports4 noports6
	quiet_lab
	dir=$(mktemp -d)
	bytes=$(write_pcap "$dir/udp.pcap")
	before=$(cl0_snapshot)
	noports4=$(snmp Udp NoPorts)
	noports6=$(snmp6 Udp6NoPorts)
	out=$(flgen replay -i eth0 -j "$dir/udp.pcap")
	after=$(cl0_snapshot)
	echo "$out"
	json_check "$out" ".packets == 50 and .bytes == $bytes" "what flgen says it replayed"
	json_check "$out" '.skipped.too_large == 2 and .skipped.truncated == 1' "skipped frames"
	assert_eq "$(delta "$before" "$after" packets)" 50 "packets on cl0"
	assert_eq "$(delta "$before" "$after" bytes)" "$bytes" "bytes on cl0"
	assert_eq "$(delta "$before" "$after" udp)" 50 "UDP on cl0"
	wait_for 5 '[ $(($(snmp Udp NoPorts) - noports4)) -ge 40 ]'
	wait_for 5 '[ $(($(snmp6 Udp6NoPorts) - noports6)) -ge 10 ]'
	assert_eq $(($(snmp Udp NoPorts) - noports4)) 40 "IPv4 datagrams at the server"
	assert_eq $(($(snmp6 Udp6NoPorts) - noports6)) 10 "IPv6 datagrams at the server"

	# As fast as possible, three times over.
	before=$(cl0_snapshot)
	out=$(flgen replay -i eth0 --timing max --loop 3 -j "$dir/udp.pcap")
	after=$(cl0_snapshot)
	json_check "$out" ".packets == 150 and .bytes == $((3 * bytes)) and .skipped.too_large == 6" \
		"--loop 3"
	assert_eq "$(delta "$before" "$after" packets)" 150 "packets on cl0 for --loop 3"
	rm -rf "$dir"
}

# --keep-macs sends the file's MACs: the router's stack drops frames not
# addressed to it, but cl0's XDP program still counts every one.
test_replay_keep_macs() {
	local dir before after out
	quiet_lab
	dir=$(mktemp -d)
	write_pcap "$dir/udp.pcap" >/dev/null
	before=$(cl0_snapshot)
	out=$(flgen replay -i eth0 --keep-macs --timing max -j "$dir/udp.pcap")
	after=$(cl0_snapshot)
	json_check "$out" '.packets == 50' "--keep-macs"
	assert_eq "$(delta "$before" "$after" packets)" 50 "packets on cl0"
	rm -rf "$dir"
}

# A veth pair of its own in the client namespace: flgen on one end, flgen
# sink on the other.
# sink_veth [MTU]: sk0 -- sk1 in the client namespace, with IPv6 off so
# the kernel sends nothing on them by itself (no RS, no MLD reports).
sink_veth() {
	ip -n "$NS_CLIENT" link add sk0 numtxqueues 2 numrxqueues 2 mtu "${1:-1500}" type veth \
		peer name sk1 numtxqueues 2 numrxqueues 2 mtu "${1:-1500}"
	ip netns exec "$NS_CLIENT" sysctl -qw net.ipv6.conf.sk0.disable_ipv6=1 \
		net.ipv6.conf.sk1.disable_ipv6=1
	ip -n "$NS_CLIENT" link set sk0 up
	ip -n "$NS_CLIENT" link set sk1 up
}

SINK_OUT=
SINK_PID=
sink_start() {
	sink_veth 3500
	SINK_OUT=$(mktemp)
	"$LAB" exec client flgen sink -i sk1 -d 60 -j "$@" >"$SINK_OUT" &
	SINK_PID=$!
	wait_for 5 'ip -n "$NS_CLIENT" link show sk1 | grep -q "prog/xdp id [0-9]* name flgen_sink"'
}

sink_stop() {
	stop_and_wait "$SINK_PID" TERM "flgen sink"
	cat "$SINK_OUT"
}

cleanup() {
	ip -n "$NS_CLIENT" link del sk0 2>/dev/null || true
	flctl protect del "$SPOOF4" 2>/dev/null || true
	flctl protect del "$SPOOF6" 2>/dev/null || true
	rm -f "$SINK_OUT"
}

SINK_ARGS=(--src 203.0.113.1 --dst 203.0.113.2 --dst-mac 02:00:00:00:00:02)

test_sink_counts_exactly() {
	local out result
	sink_start
	assert_match "$(ip -n "$NS_CLIENT" link show sk1)" ' xdp ' "sink attached in native mode"
	out=$(flgen udp -i sk0 "${SINK_ARGS[@]}" -n 5000 -l 128 -j)
	json_check "$out" '.packets == 5000 and .interface_counters.tx_packets == 5000' "flgen's count"
	out=$(flgen syn -i sk0 "${SINK_ARGS[@]}" -n 3001 -T 2 -j)
	json_check "$out" '.packets == 3001' "flgen's count, two threads"
	sink_stop
	result=$(cat "$SINK_OUT")
	json_check "$result" '.packets == 8001 and .bytes == 5000 * 128 + 3001 * 60' "what the sink counted"
	json_check "$result" '.xdp_mode == "native" and .action == "drop"' "sink mode"
	# SIGTERM detached it.
	if ip -n "$NS_CLIENT" link show sk1 | grep -q 'prog/xdp'; then
		fail "the sink left its program on sk1"
	fi
}

test_sink_pass_and_duration() {
	local result
	sink_veth
	SINK_OUT=$(mktemp)
	"$LAB" exec client flgen sink -i sk1 --pass -d 3 -j >"$SINK_OUT" &
	SINK_PID=$!
	wait_for 5 'ip -n "$NS_CLIENT" link show sk1 | grep -q "name flgen_sink"'
	flgen icmp -i sk0 "${SINK_ARGS[@]}" -n 777 >/dev/null
	wait "$SINK_PID" || fail "flgen sink -d 3 exited with $?"
	result=$(cat "$SINK_OUT")
	echo "$result"
	json_check "$result" '.packets == 777 and .action == "pass"' "sink --pass -d 3"
}

# Frames a veth's peer does not take are not hidden: the interface's counters
# and a warning say so. And the largest live frame is enforced.
test_veth_honesty() {
	local out
	sink_veth 3500
	out=$(flgen udp -i sk0 "${SINK_ARGS[@]}" -n 100 2>&1)
	echo "$out"
	assert_match "$out" 'sent 100 packets' "flgen sent them"
	assert_match "$out" "sk0's counters show only 0 of the 100 frames" "and says they went nowhere"
	assert_fails_with 'frame size 3450 is larger than live frames allow on this kernel \(at most [0-9]+ bytes\)' \
		flgen udp -i sk0 "${SINK_ARGS[@]}" -n 1 -l 3450
}

test_unresolvable_next_hop() {
	assert_fails_with '^flgen: cannot find the next hop.s MAC address for 192\.0\.2\.99 on eth0: use --dst-mac$' \
		flgen udp -i eth0 --dst 192.0.2.99 -n 1
	# With the MAC given, it sends.
	assert_match "$(flgen udp -i eth0 --dst 192.0.2.99 --dst-mac 02:00:00:00:00:99 -n 3)" \
		'sent 3 packets' "--dst-mac instead of the lookup"
}

test_bad_arguments() {
	# -n 1 everywhere: a check that fails to fail must not run forever.
	local f=(flgen udp -i eth0 --dst "$SERVER4" -n 1)
	assert_fails_with "missing --dst" flgen udp -i eth0 -n 1
	assert_fails_with "udp: no interface given: use -i IFACE" flgen udp --dst "$SERVER4" -n 1
	assert_fails_with "unknown interface 'nope0'" flgen udp -i nope0 --dst "$SERVER4" -n 1
	assert_fails_with "'300.1.2.3' is not an IPv4 or IPv6 address" flgen udp -i eth0 --dst 300.1.2.3 -n 1
	assert_fails_with "prefix length must be 0-32" "${f[@]}" --src 198.18.0.0/33
	assert_fails_with "has host bits set \(did you mean 198.18.0.0/15\?\)" "${f[@]}" --src 198.19.0.0/15
	assert_fails_with "the first address is above the last" "${f[@]}" --src 198.18.0.9-198.18.0.1
	assert_fails_with "mixes IPv4 and IPv6" "${f[@]}" --src 198.18.0.1-2001:db8::1
	assert_fails_with "an IPv6 range must differ only in its last 32 bits" flgen udp -i eth0 \
		--dst "$SERVER6" --src 2001:db8::1-2001:db9::1 -n 1
	assert_fails_with "--src 2001:db8::1 and --dst 198.51.100.2 are not the same IP version" \
		"${f[@]}" --src 2001:db8::1
	assert_fails_with "'70000' is not a port or port range" "${f[@]}" --dport 70000
	assert_fails_with "port range '20-10': the first port is above the last" "${f[@]}" --sport 20-10
	assert_fails_with "icmp: unknown option --dport" flgen icmp -i eth0 --dst "$SERVER4" --dport 80 -n 1
	assert_fails_with "^flgen: -l: missing value" "${f[@]}" -l
	assert_fails_with "--count: 'abc' is not a whole number from 1 up" "${f[@]}" -n abc
	assert_fails_with "--duration: '0' is not a number of seconds above 0" "${f[@]}" -d 0
	assert_fails_with "--rate: '-5' is not a number" "${f[@]}" -r -5
	assert_fails_with "frame size 30 is too small for an IPv4 UDP packet \(at least 42 bytes\)" \
		"${f[@]}" -l 30
	assert_fails_with "frame size 70 is too small for an IPv6 TCP packet \(at least 74 bytes\)" \
		flgen syn -i eth0 --dst "$SERVER6" -l 70 -n 1
	assert_fails_with "frame size 1515 is larger than eth0's MTU allows \(MTU 1500: at most 1514 bytes\)" \
		"${f[@]}" -l 1515
	assert_fails_with "--threads 3: only 2 CPUs are available" "${f[@]}" -T 3
	assert_fails_with "CPU 0 is listed twice" "${f[@]}" --cpus 0,0
	assert_fails_with "--threads 1 does not match --cpus, which lists 2 CPUs" "${f[@]}" -T 1 --cpus 0-1
	assert_fails_with "--rate 1 is less than one packet/s for each of the 2 threads" "${f[@]}" -r 1 -T 2
	assert_fails_with "--dst-mac: 'zz' is not a MAC address" "${f[@]}" --dst-mac zz
	assert_fails_with "udp: unknown option --bogus" "${f[@]}" --bogus
	assert_fails_with "udp: unknown option --timing" "${f[@]}" --timing max
	assert_fails_with "unexpected argument 'extra'" "${f[@]}" extra
	assert_fails_with "unknown command 'bogus'" flgen bogus
	assert_fails_with "ambiguous command 's': syn, sink" flgen s -i eth0 -n 1
	assert_fails_with "missing the capture file" flgen replay -i eth0
	assert_fails_with "cannot read /nonexistent.pcap" flgen replay -i eth0 /nonexistent.pcap
	assert_fails_with "--timing: 'fast' is neither original nor max" flgen replay -i eth0 --timing fast x.pcap
	assert_fails_with "cl0 already has an XDP program \(id [0-9]+\): detach it first" \
		in_ns flowlens flgen sink -i cl0 -d 1
}

# -j: results and errors are JSON that jq reads; -p pretty-prints.
test_json_output() {
	local out
	out=$(flgen ack -i eth0 --dst "$SERVER4" -n 5 -j)
	json_check "$out" '.command == "ack" and .interface == "eth0" and .packets == 5 and .seconds >= 0 and .pps >= 0 and .mbps >= 0' \
		"result object"
	json_check "$out" '.threads[0] | has("cpu") and has("packets") and has("bytes") and has("pps") and has("mbps")' \
		"per-thread object"
	[ "$(flgen ack -i eth0 --dst "$SERVER4" -n 5 -p | wc -l)" -gt 5 ] || fail "-p is not pretty-printed"
	out=$(flgen udp -i eth0 --dst 300.1.2.3 -j) && fail "a bad address succeeded with -j"
	json_check "$out" '.error | test("not an IPv4 or IPv6 address")' "error object"
}

test_help() {
	local out opt cmd
	out=$(flgen --help)
	for cmd in udp syn ack icmp replay sink; do
		assert_match "$out" "^  $cmd " "flgen --help lists $cmd"
	done
	out=$(flgen syn --help)
	for opt in --interface --dst --src --sport --dport --count --duration --rate --size \
		--threads --cpus --batch --src-mac --dst-mac --json --help; do
		assert_match "$out" "$opt" "flgen syn --help documents $opt"
	done
	assert_match "$(flgen help replay)" '--timing MODE' "flgen help replay"
	assert_match "$(flgen sink --help)" '--pass' "flgen sink --help"
	if flgen sink --help | grep -q -- '--rate'; then
		fail "flgen sink --help lists an option sink refuses"
	fi
}

run_tests
