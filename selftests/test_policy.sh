#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Per-application policies end to end: flctl policy/policer, real captures
# replayed by flgen (and a real HTTP transfer) through the router-mode lab,
# classified by the workers, and from each flow's verdict on enforced in
# XDP. Every outcome is checked twice: by the policy's and policer's own
# counters, and by what the server (or client) side's kernel receives,
# counted per address by nftables in its prerouting hook (so neighbour
# discovery and the like never blur a count). The packets of a flow
# before its verdict always pass, and the policy credits them as
# before_verdict_packets: "what reached the server" is exactly those
# (and a TCP handshake, which the flow cache never sees).
#
# Each test replays its captures from a client address of its own (the
# capture rewritten): the flow cache outlives tests and restarts, and a
# flow with a verdict cached from an earlier test would never be
# classified again. GRO is off on the end hosts, so the kernel there
# counts the frames XDP sent, one by one.
# test: exclusive
# (test_policer_goodput measures a TCP transfer's goodput against a
# 4 Mbit/s policer: beside other tests on 2 cores, late TCP timers took
# it to the edge of its tolerance. run.sh runs it alone.)
LAB_START_ARGS=(--mode router --flow-timeout 2)
source "$(dirname "$0")/lib.sh"

source "$TOP/scripts/corpus.sh"
PCAPS=$(fl_pcap_dir)
NS_SERVER=${FL_LAB_PREFIX:-fl}-server
PINS=$LAB_DIR/bpffs/flowlens

# The captures' own client addresses (each capture's flows all have it).
BT_CLIENT=192.168.1.3 # bittorrent.pcap: 24 BitTorrent flows
SIP_CLIENT=192.168.1.2 # sip.pcap: 2 SIP flows (port 5060 at both ends), an RTP and an RTCP one
TLS_CLIENT=192.168.1.13 # 443-firefox.pcap (www.ntop.org), 443-git.pcap (github.com)

worker_sum() { flctl -j show workers | jq "[.workers[].$1] | add // 0"; }

# The end hosts count frame by frame (no GRO); every address a capture
# uses is routed to the server side.
routes_to_server() {
	[ -d "$PCAPS" ] || skip "no capture corpus in $PCAPS (set FL_PCAP_DIR)"
	in_ns client ethtool -K eth0 gro off >/dev/null
	in_ns server ethtool -K eth0 gro off >/dev/null
	in_ns flowlens ip route replace default via "$SERVER4"
	in_ns flowlens ping -c1 -W2 "$SERVER4" >/dev/null
	in_ns client ping -c1 -W2 "$SERVER4" >/dev/null
}

# capture NAME: the capture without the frames a veth cannot carry (longer
# than 1514 bytes: captured with segmentation offload); prints its path.
capture() {
	local out="$LAB_DIR/pcap-$1"
	[ -s "$out" ] || tcpdump -r "$PCAPS/$1" -w "$out" 'less 1514' 2>/dev/null
	echo "$out"
}

# capture_as NAME OLD NEW: capture NAME with the IPv4 address OLD made NEW;
# prints its path. The IP header checksum is computed afresh: frames a
# host captured as it sent them often have none (offloaded), and the
# server's kernel would drop them before counting them. TCP and UDP
# checksums are adjusted (RFC 1624), a wrong one left wrong: nothing on
# the way checks them.
capture_as() {
	local out="$LAB_DIR/pcap-$3-$1"
	[ -s "$out" ] || python3 - "$(capture "$1")" "$out" "$2" "$3" <<'EOF'
import socket, struct, sys

src, dst, old, new = sys.argv[1:5]
old, new = socket.inet_aton(old), socket.inet_aton(new)
data = open(src, "rb").read()
e = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
if struct.unpack(e + "I", data[20:24])[0] != 1:
    sys.exit(f"{src}: not an Ethernet capture")


def fold(s):
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def adjust(csum, before, after):
    s = ~csum & 0xFFFF
    for i in range(0, len(before), 2):
        s += ~int.from_bytes(before[i:i + 2], "big") & 0xFFFF
        s += int.from_bytes(after[i:i + 2], "big")
    return ~fold(s) & 0xFFFF


out = bytearray(data[:24])
off = 24
while off + 16 <= len(data):
    caplen = struct.unpack(e + "I", data[off + 8:off + 12])[0]
    frame = bytearray(data[off + 16:off + 16 + caplen])
    l3 = 18 if frame[12:14] == b"\x81\x00" else 14
    if frame[l3 - 2:l3] == b"\x08\x00" and len(frame) >= l3 + 20:
        ihl = (frame[l3] & 15) * 4
        before = bytes(frame[l3 + 12:l3 + 20])
        for at in (l3 + 12, l3 + 16):
            if frame[at:at + 4] == old:
                frame[at:at + 4] = new
        after = bytes(frame[l3 + 12:l3 + 20])
        if before != after:
            frame[l3 + 10:l3 + 12] = b"\0\0"
            s = sum(int.from_bytes(frame[l3 + i:l3 + i + 2], "big") for i in range(0, ihl, 2))
            frame[l3 + 10:l3 + 12] = (~fold(s) & 0xFFFF).to_bytes(2, "big")
            proto = frame[l3 + 9]
            first = not int.from_bytes(frame[l3 + 6:l3 + 8], "big") & 0x1FFF
            at = {6: l3 + ihl + 16, 17: l3 + ihl + 6}.get(proto)
            if first and at and len(frame) >= at + 2:
                c = int.from_bytes(frame[at:at + 2], "big")
                if proto == 6 or c:  # a UDP checksum of 0: none
                    c = adjust(c, before, after) or (0xFFFF if proto == 17 else 0)
                    frame[at:at + 2] = c.to_bytes(2, "big")
    out += data[off:off + 16] + frame
    off += 16 + caplen
open(dst, "wb").write(out)
EOF
	echo "$out"
}

# replay FILE: flgen sends it from the client as fast as it can; prints
# how many frames it sent (every one of the file: none is skipped).
replay() {
	local out
	out=$(flgen replay -i eth0 --dst "$SERVER4" --timing max -j "$1")
	echo "flgen: $(jq -c '{packets, skipped}' <<<"$out")" >&2
	json_check "$out" '.skipped | add == 0' "frames flgen skipped in $1"
	jq .packets <<<"$out"
}

# The apps `flowlensd replay` gives the flows of FILE, one line each.
replay_apps() {
	"$OUTPUT/flowlensd" replay --feed xdp "$1" | jq -r .app
}

# handshake_packets FILE: the packets of a one-flow TCP capture before its
# first with payload. The flow cache makes no entry for them (a SYN flood
# must cost no state), so they pass uncounted: not even the policy's
# credit for the packets before the verdict has them.
handshake_packets() {
	tcpdump -nr "$1" 2>/dev/null | awk '/ length [1-9]/ { print NR - 1; found = 1; exit } END { if (!found) print -1 }'
}

# classifying ADDR...: the flows to or from ADDR... that were escalated
# and have no verdict yet, as a JSON array. (Only the test's own: a flow
# escalated by an earlier daemon, and never again since, stays
# classifying in the cache; the lab's neighbour discovery makes some.)
classifying() {
	flctl -j show flows -n 0 | jq -c --arg a "$*" '($a | split(" ")) as $addrs |
		[.flows[] | select(.state == "classifying" and .escalated > 0 and
			(.src as $s | .dst as $d | any($addrs[]; . == $s or . == $d)))]'
}

# flows_decided ADDR...: every flow of ADDR... escalated has its verdict
# (a deadline: the workers take milliseconds, unless the machine is busy
# with something else).
flows_decided() {
	wait_for 20 "[ \"\$(classifying $*)\" = '[]' ]" ||
		fail "flows still classifying: $(classifying "$@" | jq -c 'length, .[0:3]'); workers: $(flctl -j show workers | jq -c .workers)"
}

# --- Counting on the end hosts: nftables counters in prerouting ---

# count_rule NS NAME RULE...: NS counts the packets RULE matches in its
# counter NAME (created the first time).
count_rule() {
	local ns=$1 name=$2
	shift 2
	in_ns "$ns" nft -f - <<-EOF
	add table ip fltest
	add chain ip fltest pre { type filter hook prerouting priority -300; }
	add counter ip fltest $name
	add rule ip fltest pre $* counter name $name
	EOF
}

# count_addr NS NAME ADDR [IFACE]: packets from or to ADDR in on IFACE
# (default eth0).
count_addr() {
	count_rule "$1" "$2" iifname "${4:-eth0}" ip saddr "$3"
	count_rule "$1" "$2" iifname "${4:-eth0}" ip daddr "$3"
}

count() {
	in_ns "$1" nft -j list counter ip fltest "$2" | jq '.nftables[] | select(.counter) | .counter.packets'
}

# count_settles NS NAME N WHAT: counter NAME reaches N, and stays there.
count_settles() {
	wait_for 5 "[ \$(count $1 $2) -ge $3 ]" || true
	sleep 0.3
	assert_eq "$(count "$1" "$2")" "$3" "$4"
}

# --- Policies ---

# policy_add WORDS...: prints the new policy's id.
policy_add() {
	flctl -j policy add "$@" | jq -er .policy.id
}

# policy_get ID JQ_PATH: one field of policy ID in `policy list -j`.
policy_get() {
	flctl -j policy list | jq -r --argjson id "$1" "[.policies[] | select(.id == \$id)][0]$2"
}

# policy_count ID NAME: one of policy ID's counters (matched_packets...).
policy_count() {
	policy_get "$1" ".counters.$2"
}

# wait_matched ID N: until policy ID matched N packets (its flows' packets
# before their verdicts, credited with the verdict, and those after, as
# XDP counts them). A deadline; the exact checks come after.
wait_matched() {
	wait_for 10 "[ \$(policy_count $1 matched_packets) -ge $2 ]" || true
}

# app_packets APP: APP's packets in `flctl show apps`.
app_packets() {
	flctl -j show apps | jq --arg app "$1" '[.apps[] | select(.app == $app) | .packets] | add // 0'
}

# app_packets_are APP N WHAT: APP's packets in `flctl show apps` reach N
# (the workers credit a flow's packets before its verdict with the
# verdict: a deadline), and are exactly N.
app_packets_are() {
	wait_for 10 "[ \$(app_packets $1) -ge $2 ]" || true
	assert_eq "$(app_packets "$1")" "$2" "$3"
}

# What `policy list -j` has that changes only with the policies themselves.
policy_defs() {
	flctl -j policy list | jq -c '[.policies[] | del(.counters)]'
}

cleanup() {
	local id name
	if ip -n "$NS_FLOWLENS" link show sv1 >/dev/null 2>&1; then
		lab stop
		ip -n "$NS_FLOWLENS" link del sv1
	fi
	daemon_alive || lab start "${LAB_START_ARGS[@]}"
	if [ "$(flctl -j config show | jq -r .mode)" != router ]; then
		lab stop
		lab start "${LAB_START_ARGS[@]}"
	fi
	for id in $(flctl -j policy list | jq '.policies[].id'); do
		flctl policy del "$id" >/dev/null
	done
	for name in $(flctl -j policer list | jq -r '.policers[].name'); do
		flctl policer del "$name" >/dev/null
	done
	in_ns client nft delete table ip fltest 2>/dev/null || true
	in_ns server nft delete table ip fltest 2>/dev/null || true
	in_ns flowlens ip route del default 2>/dev/null || true
	http_teardown
	voip_reset
}

# 24 BitTorrent flows, dropped from their verdicts on: the server gets
# exactly the packets before the verdicts, and once the flows are cached
# nothing at all. `flctl show apps` credits BitTorrent with every packet
# sent all the same: those before the verdicts, and those dropped.
test_bittorrent_drop() {
	local pcap id sent before apps0 client=10.1.0.3
	routes_to_server
	pcap=$(capture_as bittorrent.pcap $BT_CLIENT $client)
	assert_eq "$(replay_apps "$pcap" | sort -u)" BitTorrent "apps of the capture's flows"
	count_addr server bt $client
	id=$(policy_add app BitTorrent action drop)
	apps0=$(app_packets BitTorrent)

	sent=$(replay "$pcap")
	flows_decided $client
	wait_matched "$id" "$sent"
	flctl -j policy list | jq -c '.policies[]'
	assert_eq "$(policy_count "$id" matched_packets)" "$sent" "packets the policy matched"
	before=$(policy_get "$id" .before_verdict_packets)
	if [ "$before" -eq 0 ] || [ "$before" -ge "$sent" ]; then
		fail "before_verdict_packets $before: expected some of the $sent, not all"
	fi
	assert_eq "$(policy_count "$id" dropped_packets)" $((sent - before)) \
		"dropped: every packet after the verdicts"
	count_settles server bt "$before" "packets at the server (those before the verdicts)"
	app_packets_are BitTorrent $((apps0 + sent)) \
		"BitTorrent's packets in show apps (+$sent: those before the verdicts and those dropped)"
	echo "ok: $sent sent, $before before the verdicts reached the server, $((sent - before)) dropped"

	# The flows are cached with their verdicts: every packet is dropped.
	replay "$pcap" >/dev/null
	wait_matched "$id" $((2 * sent))
	assert_eq "$(policy_count "$id" dropped_packets)" $((2 * sent - before)) \
		"dropped after the second replay"
	assert_eq "$(policy_get "$id" .before_verdict_packets)" "$before" "before_verdict_packets"
	count_settles server bt "$before" "packets at the server after the second replay"
	app_packets_are BitTorrent $((apps0 + 2 * sent)) \
		"BitTorrent's packets in show apps after the second replay (every one dropped)"
	assert_match "$(flctl policy list)" "^$id +1000 +app +BitTorrent +drop +$((2 * sent)) +$((2 * sent - before)) " "text form"
}

# sni '*.DOMAIN': the TLS flow whose SNI is under DOMAIN is dropped from
# its verdict on; a TLS flow with another SNI passes whole.
test_sni() {
	local ntop git sni other domain id sent_ntop sent_git before handshake ntop_client=10.2.0.13 git_client=10.2.0.14
	routes_to_server
	ntop=$(capture_as 443-firefox.pcap $TLS_CLIENT $ntop_client)
	git=$(capture_as 443-git.pcap $TLS_CLIENT $git_client)
	handshake=$(handshake_packets "$ntop")
	assert_eq "$handshake" 3 "packets before the first with payload in $ntop (SYN, SYN-ACK, ACK)"
	sni=$("$OUTPUT/flowlensd" replay --feed xdp "$ntop" | jq -r 'select(.sni != "") | .sni')
	other=$("$OUTPUT/flowlensd" replay --feed xdp "$git" | jq -r 'select(.sni != "") | .sni')
	domain=${sni#*.}
	echo "SNIs: $sni (pattern *.$domain), $other"
	assert_eq "$(wc -w <<<"$sni $other")" 2 "one SNI in each capture"
	case $other in *"$domain") fail "$other is under $domain: pick another capture" ;; esac
	count_addr server ntop $ntop_client
	count_addr server git $git_client
	id=$(policy_add sni "*.$domain" action drop)
	assert_eq "$(policy_get "$id" .value)" "*.$domain" "the pattern as listed"

	sent_ntop=$(replay "$ntop")
	sent_git=$(replay "$git")
	flows_decided $ntop_client $git_client
	wait_matched "$id" $((sent_ntop - handshake))
	flctl -j policy list | jq -c '.policies[]'
	assert_eq "$(policy_count "$id" matched_packets)" $((sent_ntop - handshake)) \
		"packets the policy matched (all of $sni's but the handshake, none of $other's)"
	before=$(policy_get "$id" .before_verdict_packets)
	assert_ge "$(policy_count "$id" dropped_packets)" 1 "packets dropped"
	assert_eq "$(policy_count "$id" dropped_packets)" $((sent_ntop - handshake - before)) \
		"dropped: every packet of $sni after the verdict"
	count_settles server ntop $((handshake + before)) \
		"packets of $sni at the server (the handshake and those before the verdict)"
	count_settles server git "$sent_git" "packets of $other at the server"
	echo "ok: $sni: $handshake + $before of $sent_ntop passed; $other: all $sent_git"
}

# category Download, BitTorrent's (as nDPI files it): its flows are
# dropped from their verdicts on, a TLS flow of another category
# (Collaborative: GitHub) passes whole.
test_category_drop() {
	local bt git id sent_bt sent_git before bt_client=203.0.113.3 tls_client=203.0.113.14
	routes_to_server
	bt=$(capture_as bittorrent.pcap $BT_CLIENT $bt_client)
	git=$(capture_as 443-git.pcap $TLS_CLIENT $tls_client)
	assert_eq "$("$OUTPUT/flowlensd" replay --feed xdp "$bt" | jq -r .category | sort -u)" Download \
		"category of the BitTorrent flows"
	assert_eq "$("$OUTPUT/flowlensd" replay --feed xdp "$git" | jq -r .category | sort -u)" Collaborative \
		"category of the TLS flow"
	count_addr server bt $bt_client
	count_addr server git $tls_client
	id=$(policy_add category Download action drop)
	json_check "$(flctl -j policy list)" ".policies[0] | .match == \"category\" and .value == \"Download\"" \
		"the policy as listed"

	sent_bt=$(replay "$bt")
	sent_git=$(replay "$git")
	flows_decided $bt_client $tls_client
	wait_matched "$id" "$sent_bt"
	flctl -j policy list | jq -c '.policies[]'
	assert_eq "$(policy_count "$id" matched_packets)" "$sent_bt" \
		"packets the policy matched (every BitTorrent one, none of the TLS flow's)"
	before=$(policy_get "$id" .before_verdict_packets)
	assert_ge "$((sent_bt - before))" 1 "packets after the verdicts"
	assert_eq "$(policy_count "$id" dropped_packets)" $((sent_bt - before)) \
		"dropped: every BitTorrent packet after the verdicts"
	count_settles server bt "$before" "BitTorrent packets at the server (those before the verdicts)"
	count_settles server git "$sent_git" "the TLS flow's packets at the server"
	echo "ok: category Download: $before of $sent_bt BitTorrent packets passed; TLS: all $sent_git"
}

# sip_flows ADDR: ADDR's SIP flows (UDP, port 5060 at both ends) in the
# flow cache, as JSON lines.
sip_flows() {
	flctl -j show flows -n 0 | jq -c --arg a "$1" '.flows[] | select(.proto == "UDP" and
		(.src == $a or .dst == $a) and .sport == 5060 and .dport == 5060)'
}

# A VoIP flow stays escalated to the workers after its verdict (call
# tracking on: a VoIP threshold), and in router mode the worker sends on
# each packet itself: the policy is applied in XDP before the packet goes
# to the worker, so what it sends on is re-marked too. sip.pcap's SIP
# packets get DSCP 46 (EF) from their flows' verdicts on: at the server,
# exactly the packets after the verdicts have it (the policy's
# remarked_packets), those before have it not (its before_verdict_packets);
# once the flows are cached with their verdicts, every one. The RTP and
# RTCP flows of the capture are not SIP: never re-marked. The SIP flows'
# escalated counts in the flow cache show the workers had every packet
# (past the escalation budget of a flow that is not VoIP).
test_voip_escalated_mark() {
	local pcap id sip sent before remarked escalated tx client=203.0.113.5
	routes_to_server
	pcap=$(capture_as sip.pcap $SIP_CLIENT $client)
	sip=$(tcpdump -nr "$pcap" 'udp src port 5060 and udp dst port 5060' 2>/dev/null | wc -l)
	assert_eq "$(replay_apps "$pcap" | sort -u | tr '\n' ' ')" "RTCP RTP SIP " "apps of the capture's flows"
	flctl voip threshold add 198.51.100.0/24 method invite pps 1000 >/dev/null
	json_check "$(flctl -j voip tracking)" '.active' "call tracking on (VoIP flows stay escalated)"
	count_rule server sip iifname eth0 ip saddr $client udp sport 5060 udp dport 5060
	count_rule server sip iifname eth0 ip daddr $client udp sport 5060 udp dport 5060
	count_rule server sip_ef iifname eth0 ip saddr $client udp sport 5060 udp dport 5060 ip dscp 46
	count_rule server sip_ef iifname eth0 ip daddr $client udp sport 5060 udp dport 5060 ip dscp 46
	count_rule server ef iifname eth0 ip saddr $client ip dscp 46
	count_rule server ef iifname eth0 ip daddr $client ip dscp 46
	id=$(policy_add app SIP action dscp-mark 46)
	tx=$(worker_sum tx)

	sent=$(replay "$pcap")
	flows_decided $client
	wait_matched "$id" "$sip"
	flctl -j policy list | jq -c '.policies[]'
	sip_flows $client
	assert_eq "$(policy_count "$id" matched_packets)" "$sip" "packets the policy matched (every SIP one)"
	before=$(policy_get "$id" .before_verdict_packets)
	remarked=$(policy_count "$id" remarked_packets)
	assert_ge "$before" 1 "SIP packets before the verdicts"
	assert_ge "$remarked" 1 "SIP packets re-marked"
	assert_eq "$remarked" $((sip - before)) "re-marked: every SIP packet after the verdicts"
	assert_eq "$(policy_count "$id" dropped_packets)" 0 "packets the policy dropped"
	# kept escalated past the verdict: a flow that is not VoIP stops
	# after 24 packets. Not every packet: under load the datapath fails
	# open past a full ring (CI saw 64 of 102), which is by design.
	escalated=$(sip_flows $client | jq -s '[.[].escalated] | add')
	json_check "$(sip_flows $client | jq -s .)" "length == 2 and all(.[]; .app == \"SIP\") and
		([.[].escalated] | add) > 24" "the SIP flows, escalated to the workers past their verdicts"
	assert_ge $(($(worker_sum tx) - tx)) "$escalated" "packets the workers sent on (every escalated one at least)"
	count_settles server sip "$sip" "SIP packets at the server"
	count_settles server sip_ef "$remarked" "SIP packets with DSCP 46 at the server (those after the verdicts)"
	assert_eq "$(count server ef)" "$remarked" "packets with DSCP 46 at the server (SIP's alone)"
	echo "ok: $sent sent, $sip SIP: $before before the verdicts unmarked, $remarked re-marked by way of the workers"

	# The flows are cached with their verdicts: every SIP packet is
	# re-marked, and still escalated.
	escalated=$(sip_flows $client | jq -s '[.[].escalated] | add')
	replay "$pcap" >/dev/null
	wait_matched "$id" $((2 * sip))
	assert_eq "$(policy_count "$id" matched_packets)" $((2 * sip)) "packets matched after the second replay"
	assert_eq "$(policy_count "$id" remarked_packets)" $((2 * sip - before)) "re-marked after the second replay (every one)"
	assert_eq "$(policy_get "$id" .before_verdict_packets)" "$before" "before_verdict_packets"
	count_settles server sip $((2 * sip)) "SIP packets at the server after the second replay"
	count_settles server sip_ef $((2 * sip - before)) "SIP packets with DSCP 46 at the server after the second replay"
	assert_eq "$(count server ef)" $((2 * sip - before)) "packets with DSCP 46 at the server after the second replay"
	assert_ge "$(sip_flows $client | jq -s '[.[].escalated] | add')" $((escalated + 1)) \
		"SIP packets escalated in the second replay (cached flows with verdicts)"
}

# --- A real HTTP transfer through a policer ---

HTTP_FILE_BYTES=6000000

# One worker must see both directions of a TCP connection to classify it:
# a veth delivers a frame on the rx queue of the queue its peer sent it
# on, which each end picks by a hash of its own. So both end hosts send
# every frame on queue 0 (XPS), as a NIC with a symmetric RSS hash would
# have it.
http_setup() {
	local mask dir ns
	# every CPU: 32-bit words, most significant first
	mask=$(awk -v n="$(nproc)" 'BEGIN { while (n > 0) { b = n >= 32 ? 32 : n
		w = sprintf("%x", 2 ^ b - 1); s = s == "" ? w : w "," s; n -= b }; print s }')
	for ns in client server; do
		in_ns $ns sh -c "for q in /sys/class/net/eth0/queues/tx-*; do echo 0 >\$q/xps_cpus; done
			echo $mask >/sys/class/net/eth0/queues/tx-0/xps_cpus"
	done
	# The lab's round trip is 0.1 ms: TCP cannot go below 2 segments
	# a round trip (240 Mbit/s) without retransmission timeouts, so a
	# 4 Mbit/s policer holds it back by timeouts alone, and Linux's
	# 200 ms minimum RTO (chosen for WAN round trips) idles the policer
	# for longer than the 60 ms its bucket saves up: measured, 1.1 Mbit/s
	# of goodput. With a 20 ms floor the policer, not TCP's timers,
	# sets the rate (3.75-3.86 Mbit/s).
	in_ns server sysctl -qw net.ipv4.tcp_rto_min_us=20000
	dir="$LAB_DIR/www"
	mkdir -p "$dir"
	[ -s "$dir/file" ] || head -c $HTTP_FILE_BYTES /dev/urandom >"$dir/file"
	bg server python3 -m http.server --bind "$SERVER4" --directory "$dir" 80
	wait_until 10 in_ns server sh -c "ss -Hltn '( sport = :80 )' | grep -q ." || {
		in_ns server ss -ltnp
		false
	}
}

http_teardown() {
	local ns
	for ns in client server; do
		# shellcheck disable=SC2016 # $q is the inner shell's
		in_ns $ns sh -c 'for q in /sys/class/net/eth0/queues/tx-*; do echo 0 >$q/xps_cpus; done' 2>/dev/null || true
	done
	in_ns server sysctl -qw net.ipv4.tcp_rto_min_us=200000 2>/dev/null || true
}

# http_get: the file from the server over HTTP; prints "bytes seconds"
# as curl measured them (the transfer's own time, from its start).
http_get() {
	in_ns client curl -sS -o /dev/null -w '%{size_download} %{time_total}\n' \
		"http://$SERVER4/file"
}

# A 4 Mbit/s policer (exceed drop) on HTTP downloads (the packets from
# the server): a 6 MB download runs at the policer's rate, less the
# headers, and never faster.
#
# Expected goodput: the bucket counts IP datagrams. A data segment is
# 1500 bytes of IP for MSS bytes of payload (1448: 1500 - 20 IP - 20 TCP
# - 12 timestamps): 4 Mbit/s x 1448 / 1500 = 3.86 Mbit/s, if TCP keeps
# the bucket busy. Tolerance 10%: TCP's sawtooth against a bucket that
# drops is a burst of losses each time the window outgrows the bucket's
# 20 segments, and at the lab's 0.1 ms round trip no window is small
# enough (2 segments a round trip are 240 Mbit/s), so each burst ends in
# a retransmission timeout (20 ms, see http_setup); one backed off past
# the 60 ms the bucket saves up leaves it idle a while. Measured over
# ~12 s with 40-90 timeouts: 3.75-3.86 Mbit/s, 0-3% short. A broken
# policer is far outside: none runs at line rate (Gbit/s), a bucket per
# CPU at up to twice the rate, bytes taken for bits at 8 times it; with
# Linux's default 200 ms minimum timeout TCP got 1.1 Mbit/s. And,
# exactly, the policer passed no more than its burst and its rate over
# the transfer's time (test_policer_rate holds it to 2% under a steady
# overload).
#
# Why only the server's packets: 'police' on both directions of a flow
# puts the client's ACKs in the same bucket as the data, and they are
# dropped whenever the data has just emptied it; the server then stalls
# until a timeout. Measured so: 2.98-3.80 Mbit/s, erratic.
test_policer_goodput() {
	local pol id got bytes seconds goodput mss expected passed most
	routes_to_server
	http_setup
	flctl policer add cap rate 4M burst 30K exceed drop >/dev/null
	json_check "$(flctl -j policer list)" '.policers == [{"name": "cap", "rate": 4000000, "unit": "bps",
		"burst": 30000, "burst_unit": "bytes", "exceed": "drop", "policies": 0,
		"counters": .policers[0].counters}]' "the policer as listed"
	id=$(policy_add app HTTP from "$SERVER4/32" action police cap)

	got=$(http_get)
	read -r bytes seconds <<<"$got"
	assert_eq "$bytes" $HTTP_FILE_BYTES "bytes curl received"
	mss=1448
	[ "$(in_ns client sysctl -n net.ipv4.tcp_timestamps)" != 0 ] || mss=1460
	goodput=$(awk -v b="$bytes" -v s="$seconds" 'BEGIN { printf "%d", b * 8 / s }')
	expected=$(awk -v m=$mss 'BEGIN { printf "%d", 4000000 * m / 1500 }')
	pol=$(flctl -j policer list | jq -c '.policers[0].counters')
	echo "transfer: $bytes bytes in $seconds s = $goodput bit/s; policer: $pol"
	echo "server's TCP: $(in_ns server nstat -asz TcpRetransSegs TcpExtTCPTimeouts | awk '{ printf "%s %s ", $1, $2 }')"
	assert_ge "$(awk -v s="$seconds" 'BEGIN { printf "%d", s }')" 8 "seconds the transfer took"
	awk -v g="$goodput" -v e="$expected" 'BEGIN { d = g - e; if (d < 0) d = -d; exit !(d <= e * 0.1) }' ||
		fail "goodput: $goodput bit/s, expected $expected +-10%"
	echo "ok: goodput $goodput bit/s, expected $expected +-10%"
	# What the policer passed, in bits of IP (its counters count frames,
	# 14 bytes of Ethernet more), against burst + rate x time (and 2%
	# for the clocks: curl's and the coarse one the policer reads).
	passed=$(jq '(.conformed_bytes - 14 * .conformed_packets) * 8' <<<"$pol")
	most=$(awk -v s="$seconds" 'BEGIN { printf "%d", (30000 * 8 + 4000000 * s) * 1.02 }')
	echo "policer passed $passed bits of IP in $seconds s ($(awk -v p="$passed" -v s="$seconds" 'BEGIN { printf "%d", p / s }') bit/s), at most $most"
	[ "$passed" -le "$most" ] || fail "the policer passed $passed bits in $seconds s, more than $most"
	json_check "$pol" '.dropped_packets > 0 and .dropped_packets == .exceeded_packets and .remarked_packets == 0 and
		.conformed_packets > 0' "policer counters: what exceeded was dropped"
	assert_ge "$(policy_count "$id" conformed_packets)" $((HTTP_FILE_BYTES / mss)) \
		"packets the policy passed through the policer (the file's segments at least)"
	assert_eq "$(flctl -j show flows --app HTTP -n 0 | jq -r '[.flows[].state] | unique | join(" ")')" \
		classified "the HTTP flow's state"
}

# exceed dscp-mark 8: nothing is dropped, what exceeds is re-marked, and
# the end hosts get it so: DSCP 8 (TOS 0x20) on the data at the client,
# on the ACKs at the server.
test_policer_mark() {
	local id got pol exceeded marked
	routes_to_server
	http_setup
	count_rule client marked iifname eth0 ip dscp 8
	count_rule server marked iifname eth0 ip dscp 8
	count_rule client other iifname eth0 ip dscp != 0 ip dscp != 8
	flctl policer add cap rate 4M burst 30K exceed dscp-mark 8 >/dev/null
	id=$(policy_add app HTTP action police cap)

	got=$(http_get)
	echo "transfer: $got (bytes, seconds)"
	assert_eq "${got% *}" $HTTP_FILE_BYTES "bytes curl received"
	pol=$(flctl -j policer list | jq -c '.policers[0].counters')
	echo "policer: $pol"
	json_check "$pol" '.dropped_packets == 0 and .exceeded_packets > 0 and
		.remarked_packets == .exceeded_packets and .conformed_packets > 0' \
		"policer counters: nothing dropped, what exceeded re-marked"
	exceeded=$(jq .exceeded_packets <<<"$pol")
	assert_eq "$(policy_count "$id" remarked_packets)" "$exceeded" "packets the policy re-marked"
	assert_eq "$(policy_count "$id" dropped_packets)" 0 "packets the policy dropped"
	# Every re-marked frame was sent on; the veths may lose a few of a
	# transfer at full speed (TCP sends them again, unmarked or not).
	sleep 0.3
	marked=$(($(count client marked) + $(count server marked)))
	echo "DSCP 8 at the client: $(count client marked), at the server: $(count server marked), re-marked: $exceeded"
	[ "$marked" -le "$exceeded" ] || fail "$marked packets with DSCP 8 at the ends, $exceeded re-marked"
	assert_ge $((marked * 100)) $((exceeded * 90)) "DSCP 8 packets at the ends x 100 (90% of those re-marked)"
	assert_eq "$(count client other)" 0 "packets at the client with another DSCP"
}

# The policer's rate, exactly: BitTorrent's flows, cached with their
# verdicts and a police policy, replayed over and over at full speed for
# 3 s (~100 times the rate). What conforms is the burst plus 4 Mbit/s
# for as long as flgen sent, in bits of IP, to 2% (flgen's clock against
# the policer's, a few ms); it, and nothing else, reaches the server.
test_policer_rate() {
	local pcap id sent before pol0 pol out n seconds passed expected client=10.3.0.3
	routes_to_server
	pcap=$(capture_as bittorrent.pcap $BT_CLIENT $client)
	count_addr server bt $client
	flctl policer add cap rate 4M burst 30K >/dev/null
	id=$(policy_add app BitTorrent action police cap)
	sent=$(replay "$pcap")
	flows_decided $client
	wait_matched "$id" "$sent"
	before=$(policy_get "$id" .before_verdict_packets)
	pol0=$(flctl -j policer list | jq -c '.policers[0].counters')
	out=$(in_ns client timeout -s INT 3 flgen replay -i eth0 --dst "$SERVER4" --timing max --loop 0 -j "$pcap") || true
	echo "flgen: $(jq -c '{packets, seconds, mbps}' <<<"$out")"
	n=$(jq -e .packets <<<"$out")
	seconds=$(jq -e .seconds <<<"$out")
	wait_matched "$id" $((sent + n))
	assert_eq "$(policy_count "$id" matched_packets)" $((sent + n)) "packets the policy matched"
	pol=$(flctl -j policer list | jq -c '.policers[0].counters')
	echo "policer: $pol0 -> $pol"
	json_check "$pol" "(.conformed_packets + .exceeded_packets) - ($pol0.conformed_packets + $pol0.exceeded_packets) == $n and
		.dropped_packets == .exceeded_packets" "every packet of the loop through the policer, what exceeded dropped"
	passed=$(jq -n --argjson a "$pol0" --argjson b "$pol" \
		'((($b.conformed_bytes - $a.conformed_bytes) - 14 * ($b.conformed_packets - $a.conformed_packets)) * 8)')
	expected=$(awk -v s="$seconds" 'BEGIN { printf "%d", 30000 * 8 + 4000000 * s }')
	awk -v a="$passed" -v e="$expected" 'BEGIN { d = a - e; if (d < 0) d = -d; exit !(d <= e * 0.02) }' ||
		fail "bits of IP the policer passed in $seconds s: $passed, expected $expected +-2%"
	echo "ok: the policer passed $passed bits of IP in $seconds s (expected $expected +-2%)"
	assert_eq "$(policy_count "$id" dropped_packets)" "$(jq .dropped_packets <<<"$pol")" "packets the policy dropped"
	count_settles server bt $((before + $(policy_count "$id" conformed_packets))) \
		"packets at the server (before the verdicts, and what conformed)"
}

# --- steer: a second path to the server ---

# The flowlens namespace's sv1 to the server's eth1, 198.51.101.0/24, as
# the lab builds sv0-eth0 (queues, XDP_PASS on the server's end for the
# frames redirected into sv1, checksums computed by the host), and
# flowlensd restarted on cl0, sv0 and sv1.
second_path_up() {
	local queues
	queues=$(in_ns flowlens ls /sys/class/net/cl0/queues | grep -c '^tx-')
	ip link add sv1 netns "$NS_FLOWLENS" numtxqueues "$queues" numrxqueues "$queues" \
		type veth peer name eth1 netns "$NS_SERVER" numtxqueues "$queues" numrxqueues "$queues"
	ip -n "$NS_FLOWLENS" addr add 198.51.101.1/24 dev sv1
	ip -n "$NS_FLOWLENS" link set sv1 up
	ip -n "$NS_SERVER" addr add 198.51.101.2/24 dev eth1
	ip -n "$NS_SERVER" link set eth1 up
	ip -n "$NS_SERVER" link set dev eth1 xdpdrv obj "$OUTPUT/progs/xdp_pass.bpf.o" sec xdp
	in_ns server ethtool -K eth1 tx off gro off >/dev/null
	lab stop
	lab start "${LAB_START_ARGS[@]}" -i sv1
	wait_until 5 in_ns flowlens ping -c1 -W1 198.51.101.2
}

# steer table 100: BitTorrent's packets after the verdict leave by the
# route in table 100 (sv1); those before it, and every other flow's, by
# the main table's (sv0).
test_steer() {
	local bt git id sent_bt sent_git before steered bt_client=10.5.0.3 tls_client=10.5.0.14
	routes_to_server
	second_path_up
	assert_match "$(flctl -j show workers | jq -r '.workers[0].interfaces | join(",")')" sv1 \
		"the workers have sockets on sv1"
	in_ns flowlens ip route replace default via 198.51.101.2 dev sv1 table 100
	bt=$(capture_as bittorrent.pcap $BT_CLIENT $bt_client)
	git=$(capture_as 443-git.pcap $TLS_CLIENT $tls_client)
	count_addr server bt0 $bt_client eth0
	count_addr server bt1 $bt_client eth1
	count_addr server git0 $tls_client eth0
	count_addr server git1 $tls_client eth1
	id=$(policy_add app BitTorrent action steer table 100)
	json_check "$(flctl -j policy list)" ".policies[0] | .action == \"steer\" and .table == 100" "the policy as listed"

	sent_bt=$(replay "$bt")
	sent_git=$(replay "$git")
	flows_decided $bt_client $tls_client
	wait_matched "$id" "$sent_bt"
	flctl -j policy list | jq -c '.policies[]'
	assert_eq "$(policy_count "$id" matched_packets)" "$sent_bt" "packets the policy matched"
	before=$(policy_get "$id" .before_verdict_packets)
	steered=$(policy_count "$id" steered_packets)
	assert_eq "$steered" $((sent_bt - before)) "steered: every BitTorrent packet after the verdicts"
	assert_ge "$steered" 1 "packets steered"
	assert_eq "$(policy_count "$id" dropped_packets)" 0 "packets dropped"
	count_settles server bt1 "$steered" "BitTorrent packets at the server's eth1 (table 100)"
	count_settles server bt0 "$before" "BitTorrent packets at the server's eth0 (before the verdicts)"
	count_settles server git0 "$sent_git" "the TLS flow's packets at the server's eth0"
	assert_eq "$(count server git1)" 0 "the TLS flow's packets at the server's eth1"
	echo "ok: BitTorrent: $steered of $sent_bt by sv1, $before by sv0; TLS: all $sent_git by sv0"
}

# --- Restarts ---

# Policies and a policer survive a clean restart (everything equal,
# counters too: pinned maps), a crash (the datapath goes on enforcing
# them with no daemon) and a reboot (bpffs emptied: back from
# policy.json, counters from zero but for the credits of the packets
# before verdicts, which the file keeps).
test_restart_crash_reboot() {
	local pcap bt sent before list policers mark out rx credit client=10.6.0.3
	routes_to_server
	pcap=$(capture_as bittorrent.pcap $BT_CLIENT $client)
	count_addr server bt $client
	flctl policer add cap6 rate 10M burst 50K exceed dscp-mark 10 >/dev/null
	policy_add sni '*.example.com' order 20 action police cap6 >/dev/null
	bt=$(policy_add app BitTorrent order 10 action drop)
	policy_add category Video to 192.0.2.0/24 action dscp-mark 34 >/dev/null
	sent=$(replay "$pcap")
	flows_decided $client
	wait_matched "$bt" "$sent"
	before=$(policy_get "$bt" .before_verdict_packets)
	count_settles server bt "$before" "packets at the server (those before the verdicts)"
	list=$(flctl -j policy list | jq -c .policies)
	policers=$(flctl -j policer list)
	echo "before: $list $policers"
	assert_eq "$(jq -c '[.[] | [.id, .order]]' <<<"$list")" "[[$bt,10],[$((bt - 1)),20],[$((bt + 1)),1000]]" \
		"ids and order"

	mark=$(($(wc -l <"$LAB_DIR/flowlensd.log") + 1))
	lab stop
	lab start "${LAB_START_ARGS[@]}"
	assert_match "$(tail -n "+$mark" "$LAB_DIR/flowlensd.log")" \
		"policy: 3 policies and 1 policers from $LAB_DIR/policy.json" "log"
	assert_eq "$(flctl -j policy list | jq -c .policies)" "$list" "policies after a restart (counters too)"
	assert_eq "$(flctl -j policer list)" "$policers" "policers after a restart"

	# A crash: the credits are in the file within 5 s, the verdicts in
	# the flow cache, the policies in their maps; the program drops
	# every packet of the cached flows with no daemon.
	wait_for 10 "jq -e '.policies[] | select(.id == $bt) | .credit_packets == $before' $LAB_DIR/policy.json" ||
		fail "credits not saved: $(cat "$LAB_DIR/policy.json")"
	kill -KILL "$(cat "$LAB_DIR/flowlensd.pid")"
	wait_for 5 '! daemon_alive'
	rm -f "$LAB_DIR/flowlensd.pid"
	json_check "$(bpftool -j map dump pinned "$PINS/fl_policies")" \
		"[.[] | (.formatted.value // .value) | select(.id == $bt)] | length == 1 and .[0].action == 1" \
		"the drop policy in the pinned fl_policies"
	replay "$pcap" >/dev/null
	count_settles server bt "$before" "packets at the server, the daemon dead"
	lab start "${LAB_START_ARGS[@]}"
	assert_eq "$(policy_defs)" "$(jq -c '[.[] | del(.counters)]' <<<"$list")" "policies after the crash"
	assert_eq "$(policy_count "$bt" dropped_packets)" $((2 * sent - before)) \
		"dropped, counting what the program dropped with the daemon dead"

	# A reboot.
	lab stop
	rm -f "$PINS"/*
	mark=$(($(wc -l <"$LAB_DIR/flowlensd.log") + 1))
	lab start "${LAB_START_ARGS[@]}"
	assert_match "$(tail -n "+$mark" "$LAB_DIR/flowlensd.log")" \
		"policy: 3 policies and 1 policers from $LAB_DIR/policy.json" "log"
	out=$(flctl -j policy list)
	echo "after the reboot: $out"
	assert_eq "$(policy_defs)" "$(jq -c '[.[] | del(.counters)]' <<<"$list")" "policies after a reboot"
	assert_eq "$(flctl -j policer list | jq -c '[.policers[] | del(.counters)]')" \
		"$(jq -c '[.policers[] | del(.counters)]' <<<"$policers")" "policers after a reboot"
	json_check "$out" "all(.policies[]; .counters.matched_packets == .before_verdict_packets and
		.counters.dropped_packets == 0)" "counters from zero (the credits kept)"
	# Enforced again: the flow cache is new, so the flows are too.
	rx=$(count server bt)
	replay "$pcap" >/dev/null
	flows_decided $client
	wait_matched "$bt" $((before + sent))
	credit=$(($(policy_get "$bt" .before_verdict_packets) - before))
	assert_eq "$(policy_count "$bt" dropped_packets)" $((sent - credit)) \
		"dropped after the reboot: every packet after the new verdicts"
	count_settles server bt $((rx + credit)) "packets at the server after the reboot (before the new verdicts)"
}

# rematched: flows given other policy slots after a change, by flowlensd's
# pass over the cache or by the workers (whichever came first).
rematched() {
	echo $(($(worker_sum rematched) + $(flctl -j policy list | jq .flows_rematched)))
}

# Policies added and removed apply to flows already classified (cached
# with their verdicts), without classifying them again.

test_change_applies_to_cached_flows() {
	local pcap sent id rematched flows rx client=10.7.0.3
	routes_to_server
	pcap=$(capture_as bittorrent.pcap $BT_CLIENT $client)
	flows=$(replay_apps "$pcap" | wc -l)
	count_addr server bt $client
	sent=$(replay "$pcap")
	flows_decided $client
	rematched=$(rematched)
	id=$(policy_add app BitTorrent action drop)
	wait_for 2 "[ \$(rematched) -ge $((rematched + flows)) ]" || true
	# (and the BitTorrent flows of the test before, if still cached)
	assert_ge $(($(rematched) - rematched)) "$flows" "flows matched again"
	count_settles server bt "$sent" "packets at the server with no policy"
	replay "$pcap" >/dev/null
	wait_matched "$id" "$sent"
	assert_eq "$(policy_count "$id" dropped_packets)" "$sent" "packets dropped"
	assert_eq "$(policy_get "$id" .before_verdict_packets)" 0 "before_verdict_packets (the verdicts came before the policy)"
	count_settles server bt "$sent" "packets at the server with the policy"

	rx=$(count server bt)
	rematched=$(rematched)
	flctl policy del "$id" >/dev/null
	wait_for 2 "[ \$(rematched) -ge $((rematched + flows)) ]" || true
	assert_ge $(($(rematched) - rematched)) "$flows" "flows matched again once the policy is gone"
	replay "$pcap" >/dev/null
	count_settles server bt $((rx + sent)) "packets at the server once the policy is gone"
}

# refused PATTERN WORDS...: `flctl WORDS` fails saying PATTERN, and the
# policies and policers are as they were.
refused() {
	local pattern=$1 policies policers
	shift
	policies=$(flctl -j policy list)
	policers=$(flctl -j policer list)
	assert_fails_with "$pattern" flctl "$@"
	assert_eq "$(flctl -j policy list)" "$policies" "policies after 'flctl $*'"
	assert_eq "$(flctl -j policer list)" "$policers" "policers after 'flctl $*'"
}

# Each bad argument is refused, named, and nothing is added or removed.
# A flow idle past the workers' timeout (--flow-timeout 2) has left their
# tables but not the flow cache: a policy added then reaches it through
# flowlensd's own pass over the cache, and its next packets obey it.
test_change_reaches_forgotten_flows() {
	local pcap sent id rematched0 flows rx client=10.7.0.5
	routes_to_server
	pcap=$(capture_as bittorrent.pcap $BT_CLIENT $client)
	flows=$(replay_apps "$pcap" | wc -l)
	count_addr server bt $client
	sent=$(replay "$pcap")
	flows_decided $client
	count_settles server bt "$sent" "packets at the server with no policy"
	# idle past the 2 s timeout, and the workers' once-a-second aging
	wait_for 15 "[ \$(flctl -j show workers | jq '[.workers[].flows] | add') -eq 0 ]" ||
		fail "the workers still hold flows: $(flctl show workers)"
	rematched0=$(flctl -j policy list | jq .flows_rematched)
	id=$(policy_add app BitTorrent action drop)
	assert_ge $(($(flctl -j policy list | jq .flows_rematched) - rematched0)) "$flows" \
		"flows of the cache matched again by flowlensd"
	rx=$(count server bt)
	replay "$pcap" >/dev/null
	wait_matched "$id" "$sent"
	assert_eq "$(policy_count "$id" dropped_packets)" "$sent" "packets dropped"
	count_settles server bt "$rx" "packets at the server with the policy"
}

test_bad_arguments() {
	local id
	refused "unknown app 'BitTorent' \(did you mean: BitTorrent\?\)" policy add app BitTorent action drop
	assert_json_error "unknown app 'BitTorent' \(did you mean: BitTorrent\?\)" policy add app BitTorent action drop
	refused "unknown category 'Vidoe' \(did you mean: Video\?\)" policy add category Vidoe action drop
	refused "unknown risk 'no-such-risk'" policy add risk no-such-risk action drop
	refused "no policer 'nosuch' \(flctl policer add nosuch rate" policy add app HTTP action police nosuch
	refused "bad dscp-mark '64': a DSCP 0-63" policy add app HTTP action dscp-mark 64
	refused "bad sni 'a\.\.b'" policy add sni a..b action drop
	refused "bad sni 'foo\*\.com'" policy add sni 'foo*.com' action drop
	refused "bad ja3c '1234': the client's JA3, 32 hex digits" policy add ja3c 1234 action drop
	refused "bad ja3c 'z{32}'" policy add ja3c zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz action drop
	refused "bad action 'frobnicate'" policy add app HTTP action frobnicate
	refused "unknown word 'frob'" policy add app HTTP frob 1 action drop
	refused "unexpected 'extra' after the action" policy add app HTTP action drop extra
	refused "bad steer" policy add app HTTP action steer table 0
	refused "no policy 999" policy del 999
	refused "bad rate '0'" policer add p0 rate 0
	refused "bad rate '500G': beyond 400G" policer add pbig rate 500G
	refused "bad dscp-mark '64'" policer add p64 rate 1M exceed dscp-mark 64
	refused "no policer 'nosuch'" policer del nosuch
	flctl policer add p8 rate 400G >/dev/null
	id=$(policy_add app HTTP action police p8)
	refused "policer 'p8' is still named by policy $id" policer del p8
	assert_json_error "policer 'p8' is still named by policy $id" policer del p8

	# steer routes: refused in host mode.
	lab stop
	lab start --flow-timeout 2
	refused "'steer' routes packets: it needs router mode" policy add app BitTorrent action steer table 100
	lab stop
	lab start "${LAB_START_ARGS[@]}"
}

run_tests
