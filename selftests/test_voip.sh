#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# VoIP protection end to end: real SIP from sipp (sip-tester) - a carrier's
# calls, INVITE/REGISTER/OPTIONS floods, a distributed INVITE flood - from
# the client namespace to a sipp UAS in the server namespace, through
# FlowLens in host mode. What XDP counted per method is checked against
# what sipp says it sent (messages plus retransmissions), what was blocked
# against the attacks and rules flowlensd made, and the carrier against
# sipp's own successful-call count.
#
# The client owns 192.0.2.2 (the carrier, in 192.0.2.0/29) and
# 192.0.2.10-29 (attackers). Each test cleans up its thresholds and
# carriers and waits for its attacks to end.
source "$(dirname "$0")/lib.sh"

SCEN="$TOP/selftests/sip"
CARRIER=192.0.2.0/29
PROTECTED=198.51.100.0/24
SIPP_DIR=$LAB_DIR/sipp

voip_json() { flctl -j voip "$@"; }

# host_count ADDR KIND: what XDP counted of KIND towards protected ADDR.
host_count() {
	voip_json sources | jq --arg a "$1" --arg k "$2" \
		'[.entries[] | select(.address == $a and .role == "host") | .packets[$k] // 0] | add // 0'
}

uas() { # uas ADDR [sipp args...]: a sipp UAS in the server namespace
	local addr=$1
	shift
	mkdir -p "$SIPP_DIR"
	bg server sh -c "cd '$SIPP_DIR' && exec sipp -sn uas -i $addr -p 5060 -nostdin $*"
	sleep 0.5
}

# sipp_run NAME ARGS...: a sipp client in the client namespace, in the
# background, its final screen in $SIPP_DIR/NAME/*_screen.log.
sipp_run() {
	local name=$1
	shift
	rm -rf "${SIPP_DIR:?}/$name"
	mkdir -p "$SIPP_DIR/$name"
	in_ns client sh -c "cd '$SIPP_DIR/$name' && exec timeout 60 sipp -nostdin -trace_screen $* >out.txt 2>&1" &
	echo $! >>"$SIPP_DIR/pids"
}

sipp_wait() {
	local pid
	for pid in $(cat "$SIPP_DIR/pids"); do
		wait "$pid" || true
	done
	rm -f "$SIPP_DIR/pids"
}

# sipp_sent NAME METHOD: messages + retransmissions of METHOD it sent
sipp_sent() {
	awk -v m="$2" '$1 == m && $2 == "---------->" { n += $3 + $4 } END { print n + 0 }' \
		"$SIPP_DIR/$1"/*_screen.log
}

# sipp_calls NAME Successful|Failed
sipp_calls() {
	awk -v w="$2" '$1 == w && $2 == "call" { v = $NF } END { print v + 0 }' \
		"$SIPP_DIR/$1"/*_screen.log
}

cleanup() {
	voip_reset
	rm -rf "$SIPP_DIR"
}

# An INVITE, a REGISTER and an OPTIONS flood, each from a source of its
# own, while a carrier makes calls faster than the INVITE limit: each
# attacker is blocked by rules of its own (its source, the prefix, the
# SIP port), the carrier's calls all complete, and XDP counted every
# message sipp sent.
test_floods_blocked_carrier_untouched() {
	uas 198.51.100.2
	flctl voip carrier add $CARRIER name trunk-a
	flctl voip threshold add $PROTECTED method invite pps 20 hold 2
	flctl voip threshold add $PROTECTED method register pps 20 action rate-limit 5pps hold 2
	flctl voip threshold add $PROTECTED method options pps 10 hold 2
	assert_eq "$(voip_json status | jq .counting)" true "counting on"
	local k
	for k in invite register options bye ack; do
		eval "before_$k=$(host_count 198.51.100.2 $k)"
	done

	sipp_run carrier -sn uac -i 192.0.2.2 -p 5070 -r 30 -m 150 -d 200 198.51.100.2:5060
	sipp_run invite -sn uac -i 192.0.2.20 -p 5071 -r 100 -m 400 -d 100 -nr \
		-recv_timeout 1000 198.51.100.2:5060
	sipp_run register -sf "$SCEN/register_flood.xml" -i 192.0.2.21 -p 5072 -r 100 -m 400 \
		198.51.100.2:5060
	sipp_run options -sf "$SCEN/options_flood.xml" -i 192.0.2.22 -p 5073 -r 60 -m 240 \
		198.51.100.2:5060
	sipp_wait

	# the carrier: every call, though it sent more INVITEs than the limit
	assert_eq "$(sipp_calls carrier Successful)" 150 "carrier calls completed"
	assert_eq "$(sipp_calls carrier Failed)" 0 "carrier calls failed"
	# what it sent (INVITE, ACK, BYE and their retransmissions)
	assert_ge "$(voip_json carrier list | jq '.carriers[0].packets')" \
		$(($(sipp_sent carrier INVITE) + $(sipp_sent carrier ACK) + $(sipp_sent carrier BYE))) \
		"carrier packets counted"
	flctl -j rule list | jq -e '[.rules[] | select(.rule | test("src 192\\.0\\.2\\.[0-7]/"))] | length == 0' >/dev/null ||
		fail "a rule names the carrier"

	# every attacker: an attack on its method, its rules dropping
	local a m src
	for m in invite:192.0.2.20 register:192.0.2.21 options:192.0.2.22; do
		src=${m#*:}
		m=${m%%:*}
		a=$(voip_attack_of "$src" "$m")
		[ "$a" != null ] || fail "no $m attack from $src: $(flctl ddos attacks)"
		echo "$a"
		assert_eq "$(jq -r .direction <<<"$a")" source "$m attack direction"
		assert_ge "$(jq '.rules | length' <<<"$a")" 1 "$m attack's rules"
		assert_ge "$(jq .dropped <<<"$a")" 1 "$m attack dropped"
	done
	assert_eq "$(voip_attack_of 192.0.2.21 register | jq -r .action)" rate-limit "REGISTER flood's rules"

	# XDP counted exactly what sipp sent, dropped or not
	assert_eq $(($(host_count 198.51.100.2 invite) - before_invite)) \
		$(($(sipp_sent carrier INVITE) + $(sipp_sent invite INVITE))) "INVITEs counted"
	assert_eq $(($(host_count 198.51.100.2 register) - before_register)) \
		"$(sipp_sent register REGISTER)" "REGISTERs counted"
	assert_eq $(($(host_count 198.51.100.2 options) - before_options)) \
		"$(sipp_sent options OPTIONS)" "OPTIONS counted"
	# (BYEs: the attacker's first calls, answered before its rules, end
	# with BYEs its screen does not always show; at least the carrier's)
	assert_ge $(($(host_count 198.51.100.2 bye) - before_bye)) "$(sipp_sent carrier BYE)" "BYEs counted"
	assert_eq $(($(host_count 198.51.100.2 ack) - before_ack)) \
		$(($(sipp_sent carrier ACK) + $(sipp_sent invite ACK))) "ACKs counted"
}

# Ten sources, each under the per-source limit, together over the host's
# total: a method limiter on that host holds INVITEs to the total; the
# carrier's calls and another method pass untouched, and no source is
# named in a rule.
test_distributed_invite_flood() {
	local i
	uas 198.51.100.2
	flctl voip carrier add $CARRIER name trunk-a
	flctl voip threshold add $PROTECTED method invite pps 20 total 40 hold 2
	sipp_run carrier -sn uac -i 192.0.2.2 -p 5070 -r 10 -m 60 -d 100 198.51.100.2:5060
	for i in $(seq 10 19); do
		sipp_run "d$i" -sn uac -i 192.0.2.$i -p 5071 -r 8 -m 48 -d 100 -nr \
			-recv_timeout 1000 198.51.100.2:5060
	done
	local reg0
	reg0=$(host_count 198.51.100.2 register)
	sipp_run register -sf "$SCEN/register_flood.xml" -i 192.0.2.23 -p 5072 -r 20 -m 100 \
		198.51.100.2:5060
	sleep 3
	local a
	a=$(voip_attack_of 198.51.100.2 invite)
	[ "$a" != null ] || fail "no attack on the host: $(flctl ddos attacks)"
	echo "$a"
	assert_eq "$(jq -r .direction <<<"$a")" destination "attack direction"
	assert_eq "$(jq -r .mitigation <<<"$a")" method-limiter "mitigation"
	assert_eq "$(voip_json status | jq .limiters)" 1 "limiters"
	sipp_wait

	assert_eq "$(sipp_calls carrier Successful)" 60 "carrier calls completed"
	assert_ge "$(voip_json status | jq .limited.invite)" 1 "INVITEs limited"
	assert_eq "$(voip_json status | jq .limited.register)" 0 "REGISTERs limited"
	assert_eq $(($(host_count 198.51.100.2 register) - reg0)) "$(sipp_sent register REGISTER)" \
		"REGISTERs counted"
	flctl -j rule list | jq -e '[.rules[] | select(.rule | test("attack"))] | length == 0' >/dev/null ||
		fail "a distributed flood made per-source rules: $(flctl rule list)"
	# the limiter goes with its attack
	wait_until 15 voip_attacks_none
	assert_eq "$(voip_json status | jq .limiters)" 0 "limiters after the attack"
}

# SIP over IPv6 (UDP) and over TCP is counted per method too, and every
# call completes. (IPv6 through the workers in host mode: neighbour
# discovery stays out of the flow cache, so the lab's neighbours resolve.)
test_ipv6_and_tcp() {
	flctl voip threshold add 2001:db8:2::/64 method invite pps 1000
	flctl voip threshold add $PROTECTED method invite pps 1000
	uas 2001:db8:2::2
	bg server sh -c "mkdir -p '$SIPP_DIR/tcp' && cd '$SIPP_DIR/tcp' && exec sipp -sn uas -t t1 -i 198.51.100.2 -p 5060 -nostdin"
	sleep 0.5
	local v6_0 tcp_0 ack_0
	v6_0=$(host_count 2001:db8:2::2 invite)
	tcp_0=$(host_count 198.51.100.2 invite)
	ack_0=$(host_count 198.51.100.2 ack)
	sipp_run v6 -sn uac -i 2001:db8:1::2 -p 5070 -r 20 -m 20 -d 100 '[2001:db8:2::2]:5060'
	sipp_run tcp -sn uac -t t1 -i 192.0.2.2 -p 5071 -r 20 -m 20 -d 100 198.51.100.2:5060
	sipp_wait
	assert_eq "$(sipp_calls v6 Successful)" 20 "IPv6 calls"
	assert_eq "$(sipp_calls tcp Successful)" 20 "TCP calls"
	assert_eq $(($(host_count 2001:db8:2::2 invite) - v6_0)) "$(sipp_sent v6 INVITE)" "IPv6 INVITEs"
	assert_eq $(($(host_count 198.51.100.2 invite) - tcp_0)) "$(sipp_sent tcp INVITE)" "TCP INVITEs"
	assert_eq $(($(host_count 198.51.100.2 ack) - ack_0)) "$(sipp_sent tcp ACK)" "TCP ACKs"
	assert_ge "$(voip_json status | jq '.packets["2xx"]')" 80 "2xx responses"
}

# Thresholds, carriers, ports and an attack's rules survive a restart;
# the attack goes on being blocked.
test_restart_keeps_everything() {
	uas 198.51.100.2
	flctl voip ports 5060 5080
	flctl voip carrier add $CARRIER name trunk-a
	flctl voip threshold add $PROTECTED method invite pps 20 hold 30
	sipp_run invite -sn uac -i 192.0.2.24 -p 5071 -r 100 -m 200 -d 100 -nr \
		-recv_timeout 1000 198.51.100.2:5060
	sipp_wait
	local before id
	before=$(voip_attack_of 192.0.2.24 invite)
	[ "$before" != null ] || fail "no attack: $(flctl ddos attacks)"
	id=$(jq .id <<<"$before")
	lab stop
	lab start "${LAB_START_ARGS[@]}"
	assert_eq "$(voip_json ports | jq -c .ports)" "[5060,5080]" "ports"
	assert_eq "$(voip_json carrier list | jq -r '.carriers[0].name')" trunk-a "carrier"
	assert_eq "$(voip_json threshold list | jq -r '.thresholds[0].pps')" 20 "threshold"
	assert_eq "$(voip_attack_of 192.0.2.24 invite | jq -c '[.id, .state]')" "[$id,\"active\"]" "attack kept"
	assert_eq "$(flctl -j rule list | jq "[.rules[] | select(.attack == $id)] | length")" 4 \
		"its rules (udp and tcp, two ports)"
	flctl voip ports 5060
	# cleanup: the attack ends when its hold runs out; end it sooner
	flctl voip threshold del $PROTECTED
}

test_bad_arguments() {
	assert_fails_with "unknown SIP method 'invit' \(invite, register" \
		flctl voip threshold add $PROTECTED method invit pps 5
	assert_fails_with "pps '0' is not a rate" flctl voip threshold add $PROTECTED method invite pps 0
	assert_fails_with "total 5 is below pps 10" \
		flctl voip threshold add $PROTECTED method invite pps 10 total 5
	assert_fails_with "unknown word 'speed'" \
		flctl voip threshold add $PROTECTED method invite speed 5
	assert_fails_with "needs PREFIX method METHOD pps N" flctl voip threshold add $PROTECTED pps
	assert_fails_with "needs method METHOD" flctl voip threshold add $PROTECTED pps 5 hold 3
	assert_fails_with "is not an IPv4 or IPv6" flctl voip threshold add nowhere method invite pps 5
	assert_fails_with "'0' is not a port" flctl voip ports 0
	assert_fails_with "'70000' is not a port" flctl voip ports 70000
	assert_fails_with "port 5060 given twice" flctl voip ports 5060 5060
	flctl voip carrier add $CARRIER
	assert_fails_with "already a carrier" flctl voip carrier add $CARRIER
	assert_fails_with "not a carrier" flctl voip carrier del 203.0.113.0/24
	flctl ddos allow add 203.0.113.0/24
	assert_fails_with "on the DDoS allowlist" flctl voip carrier add 203.0.113.0/24
	assert_fails_with "is a VoIP carrier" flctl ddos allow add $CARRIER
	flctl ddos allow del 203.0.113.0/24
	assert_fails_with "has no VoIP threshold" flctl voip threshold del $PROTECTED
	assert_json_error "unknown SIP method" voip threshold add $PROTECTED method foo pps 5
}

run_tests
