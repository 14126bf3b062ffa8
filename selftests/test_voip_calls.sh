#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Calls in the workers end to end: sipp (sip-tester) makes real calls with
# real RTP - its uac_pcap scenario plays /usr/share/sip-tester/g711a.pcap
# (and an RFC 2833 digit) to a sipp UAS that echoes every RTP packet back
# (-rtp_echo) - from the client namespace to the server, through FlowLens
# in host mode. What sipp logged (-trace_msg) and what tcpdump counts at
# the server are the truth:
#   - `voip calls` shows every Call-ID sipp used, answered while the call
#     is up and ended after its BYE, with the caller's SDP media port and
#     the callee's, and the RTP streams seen for them;
#   - `voip streams` counts every RTP packet tcpdump saw on each stream;
#   - RTP towards a protected host on a port no SDP offered (a flood from
#     scripts/rtp_send.py) is counted as unsolicited and its stream
#     flagged; the call's streams and RTP towards an unprotected host are
#     not;
#   - with tracking off no call is tracked; malformed SIP is counted; SIP
#     over TCP is framed into the same dialogs.
#
# Each test removes its thresholds and sets tracking back to auto.
source "$(dirname "$0")/lib.sh"

PROTECTED=198.51.100.0/24
UAS_MEDIA_PORT=6000
SIPP_DIR=$LAB_DIR/sipp-calls
RTP_SEND="$TOP/scripts/rtp_send.py"

voip_json() { flctl -j voip "$@"; }

cleanup() {
	local p
	for p in $(voip_json threshold list 2>/dev/null | jq -r '.thresholds[].prefix' | sort -u); do
		flctl voip threshold del "$p" >/dev/null || true
	done
	flctl voip tracking auto >/dev/null 2>&1 || true
}

# uas [TRANSPORT]: sipp's UAS on 198.51.100.2:5060 in the server namespace,
# echoing RTP on $UAS_MEDIA_PORT, what it sends and receives logged.
uas() {
	mkdir -p "$SIPP_DIR/uas"
	bg server sh -c "cd '$SIPP_DIR/uas' && exec sipp -sn uas -i 198.51.100.2 -p 5060 -t ${1:-u1} -mi 198.51.100.2 -mp $UAS_MEDIA_PORT -rtp_echo -nostdin -trace_msg -message_file '$SIPP_DIR/uas/messages.log'"
	wait_until 5 in_ns server sh -c "ss -Hlntu '( sport = :5060 )' | grep -q ."
}

# sipp_run NAME ARGS...: a sipp UAC in the client namespace, in the
# background (its pid in $SIPP_PID), in $SIPP_DIR/NAME, where pcap/ holds
# sip-tester's RTP captures for uac_pcap; its messages in messages.log.
sipp_run() {
	local name=$1
	shift
	rm -rf "${SIPP_DIR:?}/$name"
	mkdir -p "$SIPP_DIR/$name"
	ln -s /usr/share/sip-tester "$SIPP_DIR/$name/pcap"
	in_ns client sh -c "cd '$SIPP_DIR/$name' && exec timeout 90 sipp -nostdin -trace_screen -trace_msg -message_file messages.log $* >out.txt 2>&1" &
	SIPP_PID=$!
}

# sipp_calls NAME Successful|Failed
sipp_calls() {
	awk -v w="$2" '$1 == w && $2 == "call" { v = $NF } END { print v + 0 }' \
		"$SIPP_DIR/$1"/*_screen.log
}

# call_ids NAME: the Call-IDs of the messages sipp logged, sorted.
call_ids() {
	tr -d '\r' <"$SIPP_DIR/$1/messages.log" | awk 'tolower($1) == "call-id:" { print $2 }' | sort -u
}

# offers NAME: "Call-ID port" of each INVITE's SDP sipp sent.
offers() {
	tr -d '\r' <"$SIPP_DIR/$1/messages.log" | awk '
		/message sent/ { sent = 1; invite = 0; next }
		/message received/ { sent = 0; next }
		sent && /^INVITE / { invite = 1 }
		sent && invite && tolower($1) == "call-id:" { id = $2 }
		sent && invite && /^m=audio / { print id, $2; invite = 0 }' | sort -u
}

# tracked_ids PORT: the Call-IDs `voip calls` shows of calls from a sipp
# on PORT (each test's sipp has a port of its own: ended calls of the
# test before may still be shown), sorted.
tracked_ids() {
	voip_json calls | jq -r --arg p ":$1" '.calls[] | select(.from | endswith($p)) | .call_id' | sort -u
}

# call_field CALL-ID JQ: JQ on that call in `voip calls`.
call_field() { voip_json calls | jq -r --arg id "$1" ".calls[] | select(.call_id == \$id) | $2"; }

# pcap_flows PCAP: "SRC:SPORT>DST:DPORT packets" per UDP 5-tuple.
pcap_flows() {
	tcpdump -nq -r "$1" udp 2>/dev/null | awk '
		$2 == "IP" { s = $3; d = $5; sub(/:$/, "", d)
			sub(/\.[0-9]+$/, ":&", s); sub(/:\./, ":", s)
			sub(/\.[0-9]+$/, ":&", d); sub(/:\./, ":", d)
			n[s ">" d]++ }
		END { for (k in n) print k, n[k] }' | sort
}

# stream_flows PORT: the same, from `voip streams`, of the streams from or
# to PORT (SSRCs of one 5-tuple summed).
stream_flows() {
	voip_json streams | jq -r --arg p ":$1" '[.streams[] | select((.src | endswith($p)) or (.dst | endswith($p))) |
		{k: "\(.src)>\(.dst)", p: .packets}] |
		group_by(.k)[] | "\(.[0].k) \(map(.p) | add)"' | sort
}

unsolicited() { voip_json status | jq .unsolicited_rtp_packets; }
worker_sum() { flctl -j show workers | jq "[.workers[].$1] | add // 0"; }

# Three calls with media at once (sipp gives each its own media port
# then): every Call-ID is tracked,
# answered during the call and ended after it, with both sides' media
# ports; every RTP packet tcpdump saw at the server is in `voip streams`,
# on its own stream, negotiated, and in its call.
test_calls_with_media() {
	flctl voip threshold add $PROTECTED method invite pps 1000
	json_check "$(voip_json tracking)" '.tracking == "auto" and .active' "tracking on with a threshold"
	uas
	bg server tcpdump -n -i eth0 -U -w "$SIPP_DIR/rtp.pcap" "udp port $UAS_MEDIA_PORT"
	local dump=$!
	sleep 1
	sipp_run media -sn uac_pcap -i 192.0.2.2 -p 5070 -mi 192.0.2.2 -m 3 -r 3 -l 3 198.51.100.2:5060
	local pid=$SIPP_PID
	# during the calls (8 s of audio)
	wait_for 10 '[ "$(voip_json calls | jq "[.calls[] | select(.state == \"answered\")] | length")" = 3 ]'
	voip_json calls | jq -c '.calls[] | {call_id, state, media: [.media[] | {side, port, rtp: [.rtp[].packets]}]}'
	wait "$pid" || { cat "$SIPP_DIR/media/out.txt"; fail "sipp uac_pcap failed"; }
	assert_eq "$(sipp_calls media Successful)" 3 "sipp's calls"
	sleep 1
	kill -INT "$dump"
	sleep 0.5

	local ids
	echo "offers:"
	offers media
	ids=$(call_ids media)
	assert_eq "$(printf '%s\n' "$ids" | wc -l)" 3 "Call-IDs sipp used"
	assert_eq "$(tracked_ids 5070)" "$ids" "Call-IDs tracked"
	local id port
	while read -r id port; do
		json_check "$(voip_json calls | jq --arg id "$id" '.calls[] | select(.call_id == $id)')" \
			".state == \"ended\" and .duration_s > 7 and (.methods | index(\"INVITE\") and index(\"ACK\") and index(\"BYE\"))
			 and ([.media[] | select(.side == \"caller\")][0] | .addr == \"192.0.2.2\" and .port == $port and (.codecs | index(\"8 PCMA/8000\")))
			 and ([.media[] | select(.side == \"callee\")][0] | .addr == \"198.51.100.2\" and .port == $UAS_MEDIA_PORT)
			 and ([.media[] | select(.side == \"callee\")][0].rtp | any(.payload_type == 8 and .packets >= 236))
			 and ([.media[] | select(.side == \"caller\")][0].rtp | any(.payload_type == 8 and .packets >= 236))" \
			"call $id"
	done < <(offers media)
	assert_eq "$(offers media | wc -l)" 3 "INVITEs with SDP"

	# every RTP packet at the server, on its stream (both directions)
	local want have
	want=$(pcap_flows "$SIPP_DIR/rtp.pcap")
	have=$(stream_flows $UAS_MEDIA_PORT)
	echo "tcpdump at the server:"
	echo "$want"
	echo "voip streams:"
	echo "$have"
	assert_eq "$(printf '%s\n' "$want" | wc -l)" 6 "RTP flows at the server (3 calls, both ways)"
	assert_eq "$have" "$want" "RTP packets per stream"
	# (the RFC 2833 digit's last packet comes three times: lost -2)
	json_check "$(voip_json streams)" '[.streams[] | .negotiated and (.unsolicited | not) and .lost <= 0] | all' \
		"the calls' streams negotiated, none unsolicited"
	json_check "$(voip_json streams)" '[.streams[] | select(.ssrc == "0xdee0ee8f") | .lost == 0 and .packets == 236 and .payload_type == 8] | length == 6 and all' \
		"the G.711 streams: every packet of the capture, none lost"
}

# A flood of RTP towards the protected server on a port no SDP offered,
# during a call: counted as unsolicited, its stream flagged; the call's
# streams are not, nor is RTP towards the unprotected client.
test_unsolicited_media() {
	flctl voip threshold add $PROTECTED method invite pps 1000
	uas
	local u0
	u0=$(unsolicited)
	sipp_run one -sn uac_pcap -i 192.0.2.2 -p 5074 -mi 192.0.2.2 -m 1 198.51.100.2:5060
	local pid=$SIPP_PID
	sleep 2
	local sent
	sent=$(in_ns client "$RTP_SEND" 198.51.100.2 7078 --src 192.0.2.10 --sport 40000 \
		--count 300 --pps 150 --ssrc 0xbad00001)
	assert_eq "$sent" 300 "flood sent"
	in_ns server "$RTP_SEND" 192.0.2.2 7090 --src 198.51.100.2 --sport 40002 \
		--count 100 --pps 150 --ssrc 0x600d0001 >/dev/null
	wait "$pid" || { cat "$SIPP_DIR/one/out.txt"; fail "sipp uac_pcap failed"; }

	local s
	s=$(voip_json streams)
	echo "$s" | jq -c '.streams[] | {ssrc, src, dst, packets, negotiated, unsolicited, unsolicited_packets}'
	local flood
	flood=$(jq '.streams[] | select(.ssrc == "0xbad00001")' <<<"$s")
	json_check "$flood" '.dst == "198.51.100.2:7078" and (.negotiated | not) and .unsolicited' "the flood's stream"
	# every packet of it, but the first while its sequence was unproven
	assert_ge "$(jq .unsolicited_packets <<<"$flood")" 299 "the flood's unsolicited packets"
	assert_eq $(($(unsolicited) - u0)) "$(jq .unsolicited_packets <<<"$flood")" \
		"unsolicited_rtp_packets in voip status"
	json_check "$s" '[.streams[] | select(.ssrc == "0x600d0001")][0] | (.negotiated | not) and (.unsolicited | not) and .packets == 100' \
		"RTP towards the unprotected client"
	json_check "$s" '[.streams[] | select(.negotiated)] | length >= 2 and all(.unsolicited | not)' \
		"the call's streams"
	assert_match "$(flctl voip status)" "unsolicited RTP packets: [1-9]" "voip status text"
}

# Unsolicited media over its limit during a call: an attack on the DDoS
# engine's books, a rule for the flood's source and port; the call
# completes, its caller never named.
test_unsolicited_media_blocked() {
	flctl voip threshold add $PROTECTED unsolicited pps 50 hold 5
	uas
	sipp_run blocked -sn uac_pcap -i 192.0.2.2 -p 5075 -mi 192.0.2.2 -m 1 198.51.100.2:5060
	local pid=$SIPP_PID
	sleep 2
	local sent a id
	sent=$(in_ns client "$RTP_SEND" 198.51.100.2 7080 --src 192.0.2.14 --sport 40004 \
		--count 600 --pps 150 --ssrc 0xbad00002)
	assert_eq "$sent" 600 "flood sent"
	a=$(voip_attack_of 192.0.2.14 unsolicited)
	[ "$a" != null ] || fail "no unsolicited-media attack from 192.0.2.14: $(flctl ddos attacks --all)"
	echo "$a"
	json_check "$a" '.state == "active" and .direction == "source" and .metric == "unsolicited-rtp-pps" and .limit == 50' \
		"the flood's attack"
	id=$(jq .id <<<"$a")
	assert_eq "$(attack_rules "$id")" \
		"order 900 src 192.0.2.14/32 dst 198.51.100.0/24 proto udp dport 7080 action drop attack $id" \
		"its rule: the source, the prefix, the flood's port"
	assert_ge "$(voip_attack_of 192.0.2.14 unsolicited | jq .dropped)" 300 "dropped at the driver"
	assert_match "$(flctl ddos attacks)" "unsolicited RTP towards 198.51.100.0/24" "ddos attacks text"

	wait "$pid" || { cat "$SIPP_DIR/blocked/out.txt"; fail "sipp uac_pcap failed"; }
	assert_eq "$(sipp_calls blocked Successful)" 1 "the call"
	assert_eq "$(voip_attack_of 192.0.2.2 unsolicited)" null "an attack on the caller"
	flctl -j rule list | jq -e '[.rules[] | select(.rule | test("192\\.0\\.2\\.2/"))] | length == 0' >/dev/null ||
		fail "a rule names the caller: $(flctl rule list)"
}

# Tracking off: calls are not tracked, whatever thresholds exist; on
# again, they are; the setting survives a restart.
test_tracking_off() {
	flctl voip threshold add $PROTECTED method invite pps 1000
	uas
	flctl voip tracking off
	json_check "$(voip_json tracking)" '.tracking == "off" and (.active | not)' "tracking off"
	json_check "$(voip_json status)" '.tracking == "off" and (.tracking_active | not)' "status"
	local m0
	m0=$(worker_sum sip_messages)
	sipp_run off -sn uac -i 192.0.2.2 -p 5072 -m 3 -r 10 -d 100 198.51.100.2:5060
	wait "$SIPP_PID" || fail "sipp failed"
	assert_eq "$(sipp_calls off Successful)" 3 "calls made"
	local id
	for id in $(call_ids off); do
		[ -z "$(call_field "$id" .state)" ] || fail "call $id tracked with tracking off"
	done
	assert_eq "$(worker_sum sip_messages)" "$m0" "SIP messages tracked while off"

	flctl voip tracking on
	sipp_run on -sn uac -i 192.0.2.2 -p 5073 -m 3 -r 10 -d 100 198.51.100.2:5060
	wait "$SIPP_PID" || fail "sipp failed"
	for id in $(call_ids on); do
		assert_eq "$(call_field "$id" .state)" ended "call $id with tracking on"
	done
	lab stop
	lab start "${LAB_START_ARGS[@]}"
	json_check "$(voip_json tracking)" '.tracking == "on" and .active' "tracking after a restart"
	flctl voip tracking auto
	flctl voip threshold del $PROTECTED
	json_check "$(voip_json tracking)" '.tracking == "auto" and (.active | not)' \
		"auto without threshold, carrier or HEP collector"
}

# SIP over TCP: the framer makes the same dialogs of it.
test_calls_over_tcp() {
	flctl voip tracking on
	uas t1
	sipp_run tcp -sn uac -t t1 -i 192.0.2.2 -p 5071 -m 10 -r 10 -d 100 198.51.100.2:5060
	wait "$SIPP_PID" || { cat "$SIPP_DIR/tcp/out.txt"; fail "sipp over TCP failed"; }
	assert_eq "$(sipp_calls tcp Successful)" 10 "TCP calls"
	local id n=0
	for id in $(call_ids tcp); do
		assert_eq "$(call_field "$id" .state)" ended "TCP call $id"
		n=$((n + 1))
	done
	assert_eq "$n" 10 "TCP Call-IDs"
}

# Malformed SIP is counted by the workers, and they go on.
test_malformed_sip_counted() {
	flctl voip tracking on
	local bad0 i
	bad0=$(worker_sum sip_malformed)
	for i in 1 2 3 4 5; do
		in_ns client python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.11", 5100 + int(sys.argv[1])))
msg = (b"INVITE sip:bob@198.51.100.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.11\r\n"
       b"From: <sip:a@192.0.2.11>;tag=1\r\nTo: <sip:bob@198.51.100.2>\r\n"
       b"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")   # no Call-ID
s.sendto(msg, ("198.51.100.2", 5060))
' "$i"
	done
	wait_for 5 '[ "$(worker_sum sip_malformed)" -ge $((bad0 + 5)) ]'
	assert_eq "$(worker_sum sip_malformed)" $((bad0 + 5)) "malformed SIP counted"
	daemon_alive || fail "flowlensd died"
}

test_bad_arguments() {
	assert_fails_with "expected on, off or auto, got 'maybe'" flctl voip tracking maybe
	assert_fails_with "takes on, off or auto" flctl voip tracking on off
	assert_fails_with "unexpected|takes no" flctl voip calls now
	assert_fails_with "unexpected|takes no" flctl voip streams all
	assert_json_error "expected on, off or auto" voip tracking maybe
}

run_tests
