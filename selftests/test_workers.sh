#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The AF_XDP workers end to end: real captures replayed by flgen through the
# router-mode lab are escalated (stage 7), classified by nDPI in the workers
# with the labels `flowlensd replay` gives the same file, transmitted on to
# the server side, and - once the verdict is in the flow cache - never
# escalated again. A dead daemon fails open; host mode hands escalated
# packets back to the local stack. IPv6 flows behind every kind of
# extension header get their verdicts too (none lost).
# A flow idle 2 s is given up (nDPI's guess written as its verdict), so
# every replayed flow has its verdict within seconds.
LAB_START_ARGS=(--mode router --flow-timeout 2)
source "$(dirname "$0")/lib.sh"

source "$TOP/scripts/corpus.sh"
PCAPS=$(fl_pcap_dir)
# Unicast TCP/UDP, IPv4 and IPv6, TLS, QUIC and BitTorrent: every flow is
# routed (no multicast, no TTL 1), so every one can be escalated.
CAPTURES=(443-chrome.pcap quic-23.pcap http_ipv6.pcap bittorrent.pcap)

worker_sum() { flctl -j show workers | jq "[.workers[].$1] | add // 0"; }
server_rx() { in_ns server cat /sys/class/net/eth0/statistics/rx_packets; }

# Whatever address a capture uses is routed to the server side, where the
# frames are counted on the wire (the server's kernel then drops them).
routes_to_server() {
	[ -d "$PCAPS" ] || skip "no capture corpus in $PCAPS (set FL_PCAP_DIR)"
	in_ns flowlens ip route replace default via "$SERVER4"
	in_ns flowlens ip -6 route replace default via "$SERVER6"
	in_ns flowlens ping -c1 -W2 "$SERVER4" >/dev/null
	in_ns flowlens ping -6 -c1 -W2 "$SERVER6" >/dev/null
	in_ns client ping -c1 -W2 "$SERVER4" >/dev/null
	in_ns client ping -6 -c1 -W2 "$SERVER6" >/dev/null
}

cleanup() {
	in_ns flowlens ip route del default 2>/dev/null || true
	in_ns flowlens ip -6 route del default 2>/dev/null || true
	# back to the group's own daemon after a test that changed it
	if daemon_alive && [ "$(flctl -j show workers | jq '.workers | length')" = 0 ]; then
		lab stop
		lab start "${LAB_START_ARGS[@]}"
	fi
}

# "proto endpoint endpoint app" per flow, endpoints sorted, from JSON
# objects with proto, src, sport, dst, dport, app.
flow_labels() {
	jq -r '[.proto, ([(.src + "|" + (.sport|tostring)), (.dst + "|" + (.dport|tostring))] | sort | join(" ")), .app] | join(" ")' | sort
}

# capture NAME: the capture without the frames a veth cannot carry (longer
# than 1514 bytes: captured with segmentation offload), so replay and the
# lab see the same packets; prints its path.
capture() {
	local out="$LAB_DIR/pcap-$1"
	[ -s "$out" ] || tcpdump -r "$PCAPS/$1" -w "$out" 'less 1514' 2>/dev/null
	echo "$out"
}

# replay_through_lab NAME: flgen replays the capture as fast as it can from
# the client; prints flgen's JSON report.
replay_through_lab() {
	flgen replay -i eth0 --dst "$SERVER4" --timing max -j "$(capture "$1")"
}

# What `flowlensd replay --feed xdp` says of the flows XDP escalates (a
# TCP flow that never carried payload has no cache entry).
replay_labels() {
	"$OUTPUT/flowlensd" replay --feed xdp "$(capture "$1")" |
		jq -c 'select(.dissected > 0)' | flow_labels
}

no_flow_classifying() {
	flctl -j show flows -n 0 | jq -e '[.flows[] | select(.state == "classifying" and .escalated > 0)] | length == 0' >/dev/null
}

# One worker per core, at most one per rx queue, each with a socket on
# every interface.
test_workers_shown() {
	local n queues want
	queues=$(in_ns flowlens ls /sys/class/net/cl0/queues | grep -c '^rx-')
	want=$(nproc)
	[ "$queues" -lt "$want" ] && want=$queues
	n=$(flctl -j show workers | jq '.workers | length')
	assert_eq "$n" "$want" "workers ($(nproc) cores, $queues rx queues)"
	assert_eq "$(flctl -j show workers | jq -r '[.workers[].interfaces | sort | join(",")] | unique | join(" ")')" \
		"cl0,sv0" "every worker has a socket on both interfaces"
	assert_match "$(flctl show workers)" 'worker 0 +queue 0 +cpu 0' "text form"
	assert_eq "$(flctl -j config show | jq -r .escalate)" on "escalation on with workers"
}

# Every capture: escalated, classified as `flowlensd replay` classifies it,
# every frame delivered on the server side.
test_classify_like_replay() {
	local f out sent rx0 want got missing=0
	routes_to_server
	for f in "${CAPTURES[@]}"; do
		rx0=$(server_rx)
		out=$(replay_through_lab "$f")
		sent=$(jq .packets <<<"$out")
		wait_for 5 '[ $(($(server_rx) - rx0)) -ge $sent ]' ||
			fail "$f: $sent frames sent, $(($(server_rx) - rx0)) reached the server side"
		echo "ok: $f: $sent frames sent, all reached the server side"
	done
	assert_ge "$(worker_sum rx)" 1 "packets escalated to the worker"
	assert_ge "$(worker_sum tx)" 1 "escalated packets sent on by the worker"
	# Labels: the flow cache (verdicts written by the worker) against replay.
	wait_for 10 no_flow_classifying ||
		fail "flows still classifying: $(flctl -j show flows -n 0 | jq -c "[.flows[] | select(.state == \"classifying\" and .escalated > 0)] | length, .[0:2]")"
	got=$(flctl -j show flows -n 0 | jq -c '.flows[]' | flow_labels)
	for f in "${CAPTURES[@]}"; do
		want=$(replay_labels "$f")
		[ -n "$want" ] || fail "replay of $f printed no flow"
		while read -r line; do
			if ! grep -qxF "$line" <<<"$got"; then
				echo "MISMATCH $f: replay says '$line'; cache has: $(grep -F "$(cut -d' ' -f1-3 <<<"$line")" <<<"$got" || echo none)"
				missing=$((missing + 1))
			fi
		done <<<"$want"
		echo "ok: $f: $(wc -l <<<"$want") flows compared"
	done
	assert_eq "$missing" 0 "flows labelled differently from flowlensd replay"
}

# Replaying the same flows again: their verdicts are cached in XDP, so no
# packet of them reaches a worker, and every one still gets through.
test_bypass_after_verdict() {
	local f=bittorrent.pcap rx0 bypassed0 sent out
	routes_to_server
	replay_through_lab "$f" >/dev/null
	wait_for 10 no_flow_classifying || fail "flows still classifying after the first replay"
	rx0=$(worker_sum rx)
	bypassed0=$(if_counter cl0 .flow_cache.flow_bypassed)
	out=$(replay_through_lab "$f")
	sent=$(jq .packets <<<"$out")
	assert_eq "$(worker_sum rx)" "$rx0" "packets escalated on the second replay"
	assert_ge $(($(if_counter cl0 .flow_cache.flow_bypassed) - bypassed0)) "$sent" \
		"packets handled by the cached verdict on cl0"
}

# SNI and JA3 live in the worker's table; a flow the cache still sees
# (bypassed, it no longer reaches the worker) keeps them past the worker's
# idle timeout, for as long as it is alive. (A capture no other test
# replays: a flow cached before a restart has no SNI in the new workers.)
test_sni_kept_while_alive() {
	local want got f=443-firefox.pcap
	routes_to_server
	want=$("$OUTPUT/flowlensd" replay --feed xdp "$(capture $f)" |
		jq -r 'select(.app == "TLS.ntop") | .sni')
	[ -n "$want" ] || fail "replay found no TLS.ntop SNI in $f"
	bg client flgen replay -i eth0 --dst "$SERVER4" --timing max --loop 0 "$(capture $f)"
	sleep 5 # more than twice the worker's 2 s timeout
	got=$(flctl -j show flows -n 0 --app TLS.ntop | jq -r '[.flows[] | select(.sni != "")][0].sni')
	assert_eq "$got" "$want" "SNI of the TLS.ntop flow after 5 s alive in the cache"
	assert_match "$(flctl show flows --app TLS.ntop)" "sni=$want" "text form"
}

test_apps() {
	routes_to_server
	replay_through_lab bittorrent.pcap >/dev/null
	wait_for 5 "flctl -j show apps | jq -e '.apps[] | select(.app == \"BitTorrent\" and .flows >= 1)' >/dev/null" ||
		fail "BitTorrent not in show apps: $(flctl show apps)"
	flctl show apps
	assert_match "$(flctl show apps --sort flows)" 'BitTorrent' "text form"
	assert_fails_with "unknown sort key 'size'" flctl show apps --sort size
	assert_ge "$(flctl -j show flows --app BitTorrent | jq '.flows | length')" 1 \
		"show flows --app BitTorrent"
}

# SIGKILL: no clean shutdown, the sockets die with the process, the program
# stays attached and must not black-hole anything.
test_fail_open_daemon_killed() {
	routes_to_server
	kill -KILL "$(cat "$LAB_DIR/flowlensd.pid")"
	wait_for 5 '! daemon_alive'
	tcp_transfer "$SERVER4" 500000
	tcp_transfer "$SERVER6" 500000
	lab start "${LAB_START_ARGS[@]}"
}

# Host mode: a TCP transfer to a server in the flowlens namespace itself;
# its first payload packets are escalated, inspected and handed to the
# local stack through the TUN device, byte for byte.
test_host_mode_hands_back() {
	local dir passed0
	lab stop
	lab start --flow-timeout 2
	passed0=$(worker_sum passed)
	dir=$(mktemp -d)
	head -c 300000 /dev/urandom >"$dir/sent"
	bg flowlens sh -c "nc -l 192.0.2.1 5002 > $dir/received"
	wait_until 5 in_ns flowlens sh -c "ss -ltn | grep -q ':5002 '"
	in_ns client nc -N 192.0.2.1 5002 <"$dir/sent"
	wait_until 5 cmp -s "$dir/sent" "$dir/received"
	cmp "$dir/sent" "$dir/received" || fail "payload through host mode differs"
	rm -rf "$dir"
	assert_ge $(($(worker_sum passed) - passed0)) 1 "packets handed back to the stack by the worker"
	lab stop
	lab start "${LAB_START_ARGS[@]}"
}

# IPv6 flows behind extension headers - hop-by-hop, routing, fragment
# (first fragments), AH, destination options, alone and chained, TCP and
# UDP - from scripts/ipv6_ext_pcap.py. The worker keys an escalated frame
# from the L4 offset and protocol in its metadata, where XDP's walk found
# them; a worker that walked the headers itself, differently, gave flows
# behind AH or a fragment header another key, and their verdicts were lost.
EXT_SERVER6=2001:db8:e2::20 # the generator's server

# A client address of its own for each test and run: flow cache entries
# outlive a restart of the daemon, and a flow that has its verdict from
# before would not be escalated again.
ext_client() { printf '2001:db8:e1:%x::%x\n' "$1" $((RANDOM % 0xfff0 + 16)); }

# ext_capture CLIENT: the capture, its flows from CLIENT; prints its path,
# and its flow list is in $LAB_DIR/ipv6-ext-CLIENT.flows.
ext_capture() {
	local out="$LAB_DIR/ipv6-ext-$1.pcap"
	[ -s "$out" ] || "$TOP/scripts/ipv6_ext_pcap.py" "$out" "$1" >"$LAB_DIR/ipv6-ext-$1.flows"
	echo "$out"
}

# The flows from CLIENT in the flow cache, as a JSON array.
ext_flows() {
	flctl -j show flows -n 0 |
		jq -c --arg c "$1" --arg s "$EXT_SERVER6" \
			'[.flows[] | select((.src == $c and .dst == $s) or (.src == $s and .dst == $c))]'
}

ext_escalated_all_decided() {
	ext_flows "$1" | jq -e 'map(select(.escalated > 0 and .state == "classifying")) | length == 0' >/dev/null
}

# ext_verdicts_check CLIENT ESCALATED LOST0: ESCALATED of the flows from
# CLIENT were escalated, every one has its verdict in the cache, and the
# workers' verdict_lost stayed at LOST0.
ext_verdicts_check() {
	local client=$1 want=$2 lost0=$3 flows n
	wait_for 15 "ext_escalated_all_decided $client" ||
		fail "flows behind extension headers still classifying: $(ext_flows "$client")"
	flows=$(ext_flows "$client")
	n=$(wc -l <"$LAB_DIR/ipv6-ext-$client.flows")
	assert_eq "$(jq length <<<"$flows")" "$n" "flows of the capture in the cache"
	assert_eq "$(jq 'map(select(.escalated > 0)) | length' <<<"$flows")" "$want" \
		"flows escalated"
	assert_eq "$(jq 'map(select(.escalated > 0 and (.state == "classified" or .state == "gave-up"))) | length' <<<"$flows")" \
		"$want" "escalated flows with their verdict in the cache"
	assert_eq "$(worker_sum verdict_lost)" "$lost0" "verdict_lost"
	assert_eq "$(worker_sum bad_metadata)" 0 "bad_metadata"
	echo "ok: $want of $n flows behind extension headers escalated, every verdict landed"
}

# Router mode: every chain but those that start with hop-by-hop options
# (every router must read those: XDP hands them to the kernel, counted as
# escalate_not_forwarded, and never escalates them).
test_ipv6_ext_headers_router() {
	local client pcap flows lost0 nf0
	client=$(ext_client 1)
	routes_to_server
	pcap=$(ext_capture $client)
	flows="$LAB_DIR/ipv6-ext-$client.flows"
	lost0=$(worker_sum verdict_lost)
	nf0=$(if_counter cl0 .flow_cache.escalate_not_forwarded)
	flgen replay -i eth0 --dst "$SERVER4" --timing max -j "$pcap" >/dev/null
	ext_verdicts_check $client "$(grep -vc ' hop-by-hop' "$flows")" "$lost0"
	assert_ge $(($(if_counter cl0 .flow_cache.escalate_not_forwarded) - nf0)) \
		"$(grep -c ' hop-by-hop' "$flows")" "hop-by-hop flows handed to the kernel"
}

# Host mode escalates hop-by-hop options too: every flow of the capture.
test_ipv6_ext_headers_host() {
	local client pcap
	client=$(ext_client 2)
	lab stop
	lab start --flow-timeout 2
	pcap=$(ext_capture $client)
	flgen replay -i eth0 --dst "$SERVER4" --timing max -j "$pcap" >/dev/null
	ext_verdicts_check $client "$(wc -l <"$LAB_DIR/ipv6-ext-$client.flows")" 0
	lab stop
	lab start "${LAB_START_ARGS[@]}"
}

# --workers 0: stage 7 off, nothing escalated, traffic routed at the driver.
test_no_workers() {
	local esc
	lab stop
	lab start --mode router --workers 0
	assert_eq "$(flctl -j show workers | jq '.workers | length')" 0 "workers with --workers 0"
	assert_eq "$(flctl -j config show | jq -r .escalate)" off "escalation off"
	assert_match "$(flctl show workers)" 'no worker running' "text form"
	esc=$(if_counter cl0 .flow_cache.escalated)
	tcp_transfer "$SERVER4" 200000
	assert_eq "$(if_counter cl0 .flow_cache.escalated)" "$esc" "packets escalated"
	# nothing to export: a collector is taken, with a warning
	assert_match "$(flctl export add ipfix 127.0.0.1:4739 2>&1)" 'warning: the flow cache is off' \
		"export add warns"
	flctl export del 127.0.0.1:4739 >/dev/null
	assert_fails_with "bad --workers 'x'" in_ns flowlens flowlensd -i cl0 --workers x
	assert_fails_with "bad --flow-timeout '0'" in_ns flowlens flowlensd -i cl0 --flow-timeout 0
}

# flctl config set escalate-pps: the escalation cap, per CPU. At 50 a
# second (bursts of 512 more) a flood of 3000 new flows from one CPU is
# mostly turned away, counted, and the packets still pass; back at the
# default, the setting is gone from config show; a bad value is named.
test_escalation_cap_setting() {
	local limited0 limited created0 created
	assert_fails_with "escalate-pps: '0' is not a positive rate" \
		flctl config set escalate-pps 0
	assert_fails_with "escalate-pps: '20M' is not a rate from 1 to 10000000" \
		flctl config set escalate-pps 20M
	flctl config set escalate-pps 50 >/dev/null
	assert_eq "$(flctl -j config show | jq .escalate_pps)" 50 "the cap, set"
	# kept across a restart (before the flood: a restart forgets what
	# the workers were classifying)
	lab stop
	lab start "${LAB_START_ARGS[@]}"
	assert_eq "$(flctl -j config show | jq .escalate_pps)" 50 "the cap after a restart"
	limited0=$(if_counter cl0 .flow_cache.escalate_rate_limited)
	created0=$(if_counter cl0 .flow_cache.flow_created)
	in_ns client flgen udp -i eth0 --dst "$SERVER4" --sport 1024-65000 \
		--dport 1024-65000 -n 3000 -r 3000 --cpus 0 >/dev/null
	limited=$(( $(if_counter cl0 .flow_cache.escalate_rate_limited) - limited0 ))
	created=$(( $(if_counter cl0 .flow_cache.flow_created) - created0 ))
	echo "created $created, turned away $limited"
	assert_ge "$limited" 1500 "new flows over the cap, counted"
	[ "$created" -le 1000 ] || fail "$created flows created under a cap of 50/s (+512)"
	flctl config set escalate-pps 20k >/dev/null
	assert_eq "$(flctl -j config show | jq .escalate_pps)" 20000 "back to the default"
	# the flows that were let in get their verdicts (before a later test
	# restarts the daemon, which would forget them)
	wait_for 10 no_flow_classifying || fail "flows still classifying"
}

# udp_flows N: N datagrams from the client, each very likely a new flow
# (random ports), so each is escalated, given up at the 2 s timeout and
# ends: a verdict and an end record per flow, in bursts.
udp_flows() {
	in_ns client flgen udp -i eth0 --dst "$SERVER4" --sport 1024-65000 \
		--dport 1024-65000 -n "$1" -r 1000 -j
}

# What the workers publish (verdicts, flow ends, per-app packets) goes to
# the control thread through a ring per worker; a record that finds it
# full is shed and counted (ring_shed). Under the traffic of these tests
# nothing is shed, and the counter is in both forms.
test_ring_shed_reported() {
	local f verdicts0
	routes_to_server
	verdicts0=$(($(worker_sum classified) + $(worker_sum gave_up)))
	for f in "${CAPTURES[@]}"; do
		replay_through_lab "$f" >/dev/null
	done
	udp_flows 300 >/dev/null
	wait_for 10 no_flow_classifying ||
		fail "flows still classifying: $(flctl -j show flows -n 0 | jq -c "[.flows[] | select(.state == \"classifying\" and .escalated > 0)] | length, .[0:2]")"
	sleep 3 # past the 2 s timeout: the flows' ends are published too
	assert_ge $(($(worker_sum classified) + $(worker_sum gave_up) - verdicts0)) 100 \
		"verdicts published"
	assert_eq "$(flctl -j show workers | jq '[.workers[] | has("ring_shed")] | all')" true \
		"every worker reports ring_shed"
	assert_eq "$(worker_sum ring_shed)" 0 "records shed by the workers' rings"
	assert_match "$(flctl show workers)" 'ring_shed 0' "text form"
}

# A ring of one record (FLOWLENSD_WORKER_RING, for tests) cannot hold a
# burst: records are shed and counted, while the daemon stays up and
# every packet still gets through.
test_ring_sheds_when_full() {
	local rx0 sent
	trap 'lab stop; lab start "${LAB_START_ARGS[@]}"' EXIT
	lab stop
	FLOWLENSD_WORKER_RING=1 lab start "${LAB_START_ARGS[@]}"
	routes_to_server
	rx0=$(server_rx)
	sent=$(udp_flows 2000 | jq .packets)
	wait_for 5 '[ $(($(server_rx) - rx0)) -ge $sent ]' ||
		fail "$sent datagrams sent, $(($(server_rx) - rx0)) reached the server side"
	assert_ge "$(worker_sum rx)" 1 "packets escalated"
	# expiry publishes a verdict and an end per flow in one burst
	wait_for 10 '[ "$(worker_sum ring_shed)" -ge 1 ]' ||
		fail "nothing shed through a ring of one record: $(flctl show workers)"
	echo "ok: $(worker_sum ring_shed) records shed"
	assert_match "$(flctl show workers)" 'ring_shed [1-9]' "text form"
	daemon_alive || fail "flowlensd died shedding"
	flctl -j show flows -n 0 >/dev/null
	flctl -j show apps >/dev/null
	tcp_transfer "$SERVER4" 200000
	tcp_transfer "$SERVER6" 200000
}

# Every verdict a worker writes into the flow cache reaches the control
# thread through its ring and is published on the event bus, once: new
# flows (random ports) given up after the 2 s flow timeout, and a capture.
test_verdicts_on_the_bus() {
	local verdicts
	routes_to_server
	udp_flows 200 >/dev/null
	replay_through_lab quic-23.pcap >/dev/null
	wait_for 15 '[ $(($(worker_sum classified) + $(worker_sum gave_up))) -ge 200 ]' ||
		fail "verdicts for 200 new flows: $(flctl show workers)"
	assert_eq "$(worker_sum ring_shed)" 0 "records shed"
	verdicts() { echo $(($(worker_sum classified) + $(worker_sum gave_up))); }
	wait_for 5 '[ "$(flctl -j show daemon | jq .bus.published[\"flow-verdict\"])" -eq "$(verdicts)" ]' ||
		fail "flow-verdict events: $(flctl -j show daemon | jq -c .bus.published), verdicts written: $(verdicts)"
	echo "ok: $(verdicts) verdicts, $(flctl -j show daemon | jq -c .bus.published)"
}

run_tests
