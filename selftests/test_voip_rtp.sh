#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# RTP bursts end to end: RTP streams from scripts/rtp_send.py in the client
# namespace to the server, through FlowLens in host mode, with an `rtp pps`
# threshold on the server's prefix. What tcpdump counts at the server and
# what rtp_send.py says it sent are the truth:
#   - a source over the limit is an attack on the DDoS engine's books
#     (metric rtp-pps), mitigated by a rule for its UDP towards the prefix
#     on its stream's port; every packet it sent either reached the server
#     or was dropped by that rule; a source under the limit, at the same
#     time, loses nothing and is not named;
#   - the attack ends after its hold and its rule goes with it;
#   - a carrier's burst is never judged nor named in a rule;
#   - rtp and unsolicited thresholds survive a restart, bad ones are
#     refused with what is wrong.
# (Unsolicited media during a real call: test_voip_calls.sh.)
source "$(dirname "$0")/lib.sh"

PROTECTED=198.51.100.0/24
RTP_SEND="$TOP/scripts/rtp_send.py"
PCAP_DIR=$LAB_DIR/voip-rtp

voip_json() { flctl -j voip "$@"; }

cleanup() {
	voip_reset
	rm -rf "$PCAP_DIR"
}

# capture PORT...: tcpdump at the server of UDP to those ports, in the
# background ($DUMP_PID), into $PCAP_DIR/rtp.pcap
capture() {
	local filter="" p
	for p in "$@"; do
		filter="${filter:+$filter or }udp dst port $p"
	done
	mkdir -p "$PCAP_DIR"
	bg server tcpdump -n -i eth0 --immediate-mode -U -w "$PCAP_DIR/rtp.pcap" "$filter"
	DUMP_PID=$!
	sleep 1
}

capture_stop() {
	sleep 0.5
	kill -INT "$DUMP_PID"
	wait "$DUMP_PID" 2>/dev/null || true
}

# received SRC PORT: packets from SRC to the server's PORT in the capture
received() {
	tcpdump -nq -r "$PCAP_DIR/rtp.pcap" "src host $1 and udp dst port $2" 2>/dev/null | wc -l
}

# A burst at 5x the limit from one source while another sends under it:
# the burst's source is blocked on its port, the other untouched.
test_burst_blocked() {
	flctl voip threshold add $PROTECTED rtp pps 200 hold 5
	capture 7000 7002
	local slow burst
	in_ns client "$RTP_SEND" 198.51.100.2 7002 --src 192.0.2.13 --sport 41002 \
		--count 150 --pps 50 --ssrc 0x600d0002 >"$PCAP_DIR/slow.out" &
	slow=$!
	in_ns client "$RTP_SEND" 198.51.100.2 7000 --src 192.0.2.12 --sport 41000 \
		--count 3000 --pps 1000 --ssrc 0xb0257001 >"$PCAP_DIR/burst.out" &
	burst=$!
	# both counted while they send, the slow one under its limit
	wait_for 5 '[ "$(voip_json sources | jq "[.entries[] | select(.role == \"rtp-source\" and .address == \"192.0.2.13\")][0].packets.rtp // 0")" -ge 20 ]'
	json_check "$(voip_json sources)" '[.entries[] | select(.role == "rtp-source" and .address == "192.0.2.13")][0] | .prefix == "198.51.100.0/24" and .rates.rtp <= 60' \
		"the slow source's rate"
	wait "$burst" || fail "the burst's sender failed"
	wait "$slow" || fail "the slow stream's sender failed"
	assert_eq "$(cat "$PCAP_DIR/burst.out")" 3000 "burst sent"
	assert_eq "$(cat "$PCAP_DIR/slow.out")" 150 "slow stream sent"
	capture_stop

	# still active: what its rule drops counts as its rate
	local a id
	a=$(voip_attack_of 192.0.2.12 rtp)
	[ "$a" != null ] || fail "no RTP attack from 192.0.2.12: $(flctl ddos attacks --all)"
	echo "$a"
	json_check "$a" '.state == "active" and .direction == "source" and .metric == "rtp-pps" and .limit == 200 and .threshold == "198.51.100.0/24"' \
		"the burst's attack"
	id=$(jq .id <<<"$a")
	assert_eq "$(attack_rules "$id")" \
		"order 900 src 192.0.2.12/32 dst 198.51.100.0/24 proto udp dport 7000 action drop attack $id" \
		"its rule: the source, the prefix, its stream's port"
	local dropped got
	dropped=$(voip_attack_of 192.0.2.12 rtp | jq .dropped)
	got=$(received 192.0.2.12 7000)
	echo "burst: $got at the server, $dropped dropped by the rule"
	assert_ge "$dropped" 1500 "dropped at the driver"
	assert_eq $((got + dropped)) 3000 "every burst packet reached the server or the rule"
	# the source under the limit
	assert_eq "$(received 192.0.2.13 7002)" 150 "the slow stream at the server"
	assert_eq "$(voip_attack_of 192.0.2.13 rtp)" null "an attack on the slow stream's source"
	flctl -j rule list | jq -e '[.rules[] | select(.rule | test("192\\.0\\.2\\.13/"))] | length == 0' >/dev/null ||
		fail "a rule names the slow source: $(flctl rule list)"
	assert_match "$(flctl ddos attacks --all)" "RTP burst towards 198.51.100.0/24" "ddos attacks text"

	# over: the attack ends after its hold, its rule with it
	wait_for 15 '[ "$(voip_attack_of 192.0.2.12 rtp | jq -r .state)" = ended ]'
	assert_eq "$(attack_rules "$id")" "" "the ended attack's rules"
	assert_eq "$(voip_attack_of 192.0.2.12 rtp | jq .dropped)" "$dropped" "dropped, frozen at its end"
}

# A carrier sending RTP faster than the limit: counted, never judged.
test_carrier_not_judged() {
	flctl voip carrier add 192.0.2.16/30 name trunk-b
	flctl voip threshold add $PROTECTED rtp pps 100 hold 2
	capture 7010
	local sent
	sent=$(in_ns client "$RTP_SEND" 198.51.100.2 7010 --src 192.0.2.17 --sport 41010 \
		--count 1500 --pps 500 --ssrc 0xca771e01)
	assert_eq "$sent" 1500 "carrier burst sent"
	capture_stop
	json_check "$(voip_json sources)" '[.entries[] | select(.role == "rtp-source" and .address == "192.0.2.17")] | length == 1' \
		"the carrier's RTP counted"
	assert_eq "$(voip_attack_of 192.0.2.17 rtp)" null "an attack on the carrier"
	flctl -j rule list | jq -e '[.rules[] | select(.rule | test("192\\.0\\.2\\.1[6-9]/"))] | length == 0' >/dev/null ||
		fail "a rule names the carrier: $(flctl rule list)"
	assert_eq "$(received 192.0.2.17 7010)" 1500 "the carrier's packets at the server"
}

# rtp and unsolicited thresholds: listed, kept over a restart, deleted
# one at a time; bad ones refused.
test_thresholds_and_arguments() {
	flctl voip threshold add $PROTECTED rtp pps 2000
	flctl voip threshold add $PROTECTED unsolicited pps 50 action rate-limit 10pps hold 300
	local want
	want=$(voip_json threshold list | jq -c '.thresholds | sort_by(.method)')
	json_check "$want" 'length == 2 and .[0].method == "rtp" and .[0].pps == 2000 and .[0].total == null and .[0].action == "drop"
		and .[1].method == "unsolicited" and .[1].pps == 50 and .[1].action == "rate-limit" and .[1].rate == 10 and .[1].hold == 300' \
		"the thresholds"
	assert_match "$(flctl voip threshold list)" "198.51.100.0/24 +unsolicited +50 +- +rate-limit 10pps +300" "threshold list text"
	lab stop
	lab start "${LAB_START_ARGS[@]}"
	assert_eq "$(voip_json threshold list | jq -c '.thresholds | sort_by(.method)')" "$want" "after a restart"
	flctl voip threshold del $PROTECTED rtp
	json_check "$(voip_json threshold list)" '[.thresholds[].method] == ["unsolicited"]' "rtp deleted alone"
	assert_fails_with "has no VoIP threshold for rtp" flctl voip threshold del $PROTECTED rtp
	flctl voip threshold del $PROTECTED unsolicited

	assert_json_error "'total' is for SIP methods" voip threshold add $PROTECTED rtp pps 5 total 50
	assert_json_error "one method per threshold" voip threshold add $PROTECTED rtp method invite pps 5
	assert_json_error "one method per threshold" voip threshold add $PROTECTED method invite method bye pps 5
	assert_json_error "needs pps N" voip threshold add $PROTECTED unsolicited hold 5
	assert_json_error "is not a rate" voip threshold add $PROTECTED rtp pps 0
	assert_fails_with "needs PREFIX \\[method METHOD \\| rtp \\| unsolicited\\]" \
		flctl voip threshold del $PROTECTED rtp now
	assert_eq "$(voip_json threshold list | jq '.thresholds | length')" 0 "nothing added by bad arguments"
}

run_tests
