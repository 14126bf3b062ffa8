#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# IPFIX export (issue 17): flowlensd sends the flow cache's flows to real
# collectors started here, in the flowlens namespace on loopback.
#   nfcapd + nfdump   per-flow packets and bytes equal flgen's, IPv4 and
#                     IPv6; a long flow's active-timeout records add up
#   tshark            decodes every record, no malformed packet, and reads
#                     the ntop elements
#   nfacctd (pmacct)  the app name, SNI and JA3 of replayed TLS captures,
#                     through the ntop elements declared as primitives,
#                     equal `flowlensd replay`'s
# and flctl export's commands, their errors, and collectors kept across a
# restart.
source "$(dirname "$0")/lib.sh"
source "$TOP/scripts/corpus.sh"

PORT=4739
COLLECTOR=127.0.0.1:$PORT
WORK=

RESTART=0

cleanup() {
	local id
	if [ "$RESTART" = 1 ]; then
		# back to the lab's own flowlensd
		lab stop
		lab start "${LAB_START_ARGS[@]}"
		RESTART=0
	fi
	in_ns flowlens ip route del default 2>/dev/null || true
	in_ns flowlens ip -6 route del default 2>/dev/null || true
	for id in $(flctl -j export list 2>/dev/null | jq -r '.collectors[].id'); do
		flctl export del "$id" >/dev/null 2>&1 || true
	done
	[ -z "$WORK" ] || rm -rf "$WORK"
	WORK=
}

work_dir() {
	WORK=$(mktemp -d /tmp/fl-export.XXXXXX)
}

# nfcapd in the flowlens namespace, writing to $WORK/nf; its pid in NFCAPD.
NFCAPD=
nfcapd_start() {
	mkdir -p "$WORK/nf"
	"$LAB" exec flowlens nfcapd -b 127.0.0.1 -p "$PORT" -w "$WORK/nf" -t 3600 \
		>>"$BG_LOG" 2>&1 </dev/null &
	NFCAPD=$!
	echo "$NFCAPD" >>"$BG_PIDS"
	wait_until 5 in_ns flowlens sh -c "ss -Hlun '( sport = :$PORT )' | grep -q ."
}

# Ends nfcapd (it writes out its file) and prints every flow as CSV lines
# "proto,src,sport,dst,dport,packets,bytes" (proto as a number).
nfcapd_flows() {
	kill -TERM "$NFCAPD"
	wait "$NFCAPD" 2>/dev/null || true
	nfdump -q -6 -N -R "$WORK/nf" -o 'fmt:%pr,%sa,%sp,%da,%dp,%pkt,%byt' 2>/dev/null |
		tr -d ' '
}

# tshark_start FILE: tshark captures the collector's port on the flowlens
# namespace's loopback into FILE; returns once it captures (it writes the
# file's header then: on a busy machine that takes seconds, and a capture
# that misses the templates decodes nothing).
tshark_start() {
	bg flowlens tshark -q -i lo -f "udp port $PORT" -w "$1"
	wait_until 30 test -s "$1"
}

# records_at_least N: the collectors have had N records or more.
records_at_least() {
	[ "$(flctl -j export stats | jq '[.collectors[].records] | add // 0')" -ge "$1" ]
}

# stat_at_least FIELD N: the first collector's FIELD (a jq path in its
# stats) is N or more.
stat_at_least() {
	[ "$(flctl -j export stats | jq ".collectors[0]$1")" -ge "$2" ]
}

# Every address the captures use is routed to the server side.
routes_to_server() {
	in_ns flowlens ip route replace default via "$SERVER4"
	in_ns flowlens ip -6 route replace default via "$SERVER6"
	in_ns flowlens ping -c1 -W2 "$SERVER4" >/dev/null
	in_ns flowlens ping -6 -c1 -W2 "$SERVER6" >/dev/null
	in_ns client ping -c1 -W2 "$SERVER4" >/dev/null
}

# nfacctd in the flowlens namespace with contrib/pmacct's configuration,
# writing JSON lines to $WORK/flows.json; its pid in NFACCTD (SIGINT: it
# writes what it has and exits).
NFACCTD=
# nfacctd writes its flows once, when it stops (nfacctd_stop): a timed
# write as well (every 60 s in contrib's configuration) can race the last
# one on a slow machine and print every flow twice.
nfacctd_start() {
	sed -e "s|^nfacctd_port:.*|nfacctd_port: $PORT|" \
		-e "s|^nfacctd_templates_file:.*|nfacctd_templates_file: $WORK/templates.json|" \
		-e "s|^aggregate_primitives:.*|aggregate_primitives: $TOP/contrib/pmacct/primitives.lst|" \
		-e "s|^print_output_file\[flows\]:.*|print_output_file[flows]: $WORK/flows.json|" \
		-e "s|^print_refresh_time\[flows\]:.*|print_refresh_time[flows]: 3600|" \
		"$TOP/contrib/pmacct/nfacctd.conf" >"$WORK/nfacctd.conf"
	"$LAB" exec flowlens nfacctd -f "$WORK/nfacctd.conf" >>"$BG_LOG" 2>&1 </dev/null &
	NFACCTD=$!
	echo "$NFACCTD" >>"$BG_PIDS"
	wait_until 5 in_ns flowlens sh -c "ss -Hlun '( sport = :$PORT )' | grep -q ."
}

nfacctd_stop() {
	kill -INT "$NFACCTD"
	wait "$NFACCTD" 2>/dev/null || true
}

# The sum of packets and bytes nfdump has for one flow (all its records),
# by its destination (flgen picks the client's source address).
flow_total() { # proto dst dport
	awk -F, -v p="$1" -v d="$2" -v dp="$3" \
		'$1 == p && $4 == d && $5 == dp { n += $6; b += $7 } END { print n + 0, b + 0 }'
}

test_nfdump_counts_equal_flgen() {
	local flows v4 v6 base reads
	work_dir
	nfcapd_start
	flctl export add ipfix "$COLLECTOR" idle 2
	# one flow each: 1000 frames of 200 bytes, 700 of 1000 bytes
	flgen udp -i eth0 --dst "$SERVER4" --sport 4000 --dport 5000 -n 1000 -l 200 >/dev/null
	flgen udp -i eth0 --dst "$SERVER6" --sport 4001 --dport 5001 -n 700 -l 1000 >/dev/null
	# Other flows (the setup's pings) make records too, so a count of
	# records says little: wait
	# until both flows are past their idle timeout (2 s) and the exporter
	# has read the cache after it (a read a second, EXPORT_SCAN_MS).
	reads=$(flctl -j export stats | jq .reads)
	wait_until 30 eval '[ "$(flctl -j export stats | jq .reads)" -ge $((reads + 4)) ]'
	wait_until 20 records_at_least 2
	flctl export stats
	flows=$(nfcapd_flows)
	echo "$flows"
	v4=$(echo "$flows" | flow_total 17 "$SERVER4" 5000)
	v6=$(echo "$flows" | flow_total 17 "$SERVER6" 5001)
	# octetDeltaCount is IP bytes: the frame less its 14-byte Ethernet header
	assert_eq "$v4" "1000 $((1000 * 186))" "IPv4 flow: packets, bytes"
	assert_eq "$v6" "700 $((700 * 986))" "IPv6 flow: packets, bytes"
	assert_eq "$(flctl -j export stats | jq '.collectors[0].records_lost')" 0 "records lost"
}

test_active_timeout_deltas_add_up() {
	local flows recs total
	work_dir
	nfcapd_start
	flctl export add ipfix "$COLLECTOR" active 2 idle 30
	# 7 s at 500 pps: three or more active-timeout records
	flgen udp -i eth0 --dst "$SERVER4" --sport 4100 --dport 5100 -r 500 -n 3500 -l 100 >/dev/null
	# the last packets leave at the next active timeout
	wait_until 20 stat_at_least .records_by_reason.active 4
	sleep 3
	flctl export stats
	flows=$(nfcapd_flows | awk -F, '$5 == 5100')
	echo "$flows"
	recs=$(echo "$flows" | grep -c .)
	assert_ge "$recs" 3 "records of the long flow"
	total=$(echo "$flows" | flow_total 17 "$SERVER4" 5100)
	assert_eq "$total" "3500 $((3500 * 86))" "the records' deltas add up to the flow"
}

test_tshark_decodes_every_record() {
	local pcap out malformed
	work_dir
	pcap=$WORK/ipfix.pcap
	tshark_start "$pcap"
	flctl export add ipfix "$COLLECTOR" idle 1 domain 42
	flgen udp -i eth0 --dst "$SERVER4" --sport 4200 --dport 5200 -n 50 -l 300 >/dev/null
	flgen udp -i eth0 --dst "$SERVER6" --sport 4201 --dport 5201 -n 60 -l 300 >/dev/null
	wait_until 20 records_at_least 2
	sleep 1
	bg_kill
	out=$(tshark -r "$pcap" -d "udp.port==$PORT,cflow" -V 2>&1)
	malformed=$(echo "$out" | grep -ci 'malformed\|expert info (warn\|expert info (error' || true)
	echo "$out" | grep -E 'Observation Domain|Sequence|Template Id|Packets:|Octets:|L7|Application' | head -40
	assert_eq "$malformed" 0 "tshark's malformed or warning entries"
	# one line per message; a field's values, one per record, joined by ','
	out=$(tshark -r "$pcap" -d "udp.port==$PORT,cflow" -T fields -e cflow.od_id \
		-e cflow.dstport -e cflow.packets -Y cflow.packets 2>/dev/null |
		awk -F'\t' '{ n = split($2, port, ","); split($3, pkts, ",")
			for (i = 1; i <= n; i++) print $1, port[i], pkts[i] }')
	echo "$out"
	assert_match "$out" "^42 5200 50\$" "the IPv4 flow's record: domain, port, packets"
	assert_match "$out" "^42 5201 60\$" "the IPv6 flow's record"
	assert_match "$(tshark -r "$pcap" -d "udp.port==$PORT,cflow" -V 2>/dev/null)" \
		"SrcAddr: $CLIENT4" "the IPv4 source"
}

# The TLS captures whose app, SNI and JA3 nfacctd must report.
TLS_CAPTURES="443-chrome.pcap 443-firefox.pcap 443-git.pcap long_tls_certificate.pcap tls-rdn-extract.pcap tls_alert.pcap tls_esni_sni_both.pcap tls_ech.pcapng"

test_nfacctd_reads_ndpi_fields_of_replay() {
	local pcaps=() f want got
	PCAPS=$(fl_pcap_dir)
	for f in $TLS_CAPTURES; do
		pcaps+=("$PCAPS/$f")
	done
	work_dir
	nfacctd_start
	# the same replay twice: once printed, once as IPFIX
	in_ns flowlens flowlensd replay "${pcaps[@]}" >"$WORK/replay.json"
	in_ns flowlens flowlensd replay -q --ipfix "$COLLECTOR" "${pcaps[@]}"
	sleep 1
	nfacctd_stop
	want=$(jq -r 'select(.sni != "") | [.src, .sport, .dst, .dport, .app, .sni, .ja3c, .ja3s,
		(.risk | join(","))] | @tsv' "$WORK/replay.json" | sort)
	got=$(jq -r 'select(.biflow_dir == "1" and .tls_sni != "") | [.ip_src, .port_src, .ip_dst,
		.port_dst, .ndpi_l7_name, .tls_sni, .ja3c, .ja3s, .ndpi_risk_name] | @tsv' "$WORK/flows.json" | sort)
	echo "replay:"
	echo "$want"
	echo "nfacctd:"
	echo "$got"
	assert_ge "$(echo "$want" | grep -c .)" 8 "TLS flows with an SNI in the captures"
	assert_match "$want" "Weak TLS Cipher,TLS Expired Certificate" "a flow with several risks"
	assert_eq "$got" "$want" "app, SNI, JA3 and risks at nfacctd"
	# and the numbers: every record's packets add up to replay's
	assert_eq "$(jq -s 'map(.packets) | add' "$WORK/flows.json")" \
		"$(jq -s 'map(.packets) | add' "$WORK/replay.json")" "packets of every flow"
}

# A flow cache far too small for the flows: what the LRU evicts is
# counted, never silently dropped - as lost (evicted after a read, its
# record sent as last read) or unseen (created and evicted between two
# reads) - and every flow flgen made is one or the other, or exported.
test_evictions_are_counted() {
	local st flows exported lost unseen page
	RESTART=1
	lab stop
	lab start "${LAB_START_ARGS[@]}" --max-flows 1024
	work_dir
	nfcapd_start
	flctl export add ipfix "$COLLECTOR" idle 2
	# 8000 one-packet flows at 4000 a second: 1024 fit
	flgen udp -i eth0 --dst "$SERVER4" --sport 1024-65535 --dport 6000 -r 4000 -n 8000 >/dev/null
	wait_until 20 stat_at_least .flows_lost 1
	sleep 4
	st=$(flctl -j export stats)
	echo "$st" | jq -c '{flows_evicted, flows_unseen, c: .collectors[0] | {records, flows_lost, records_by_reason}}'
	lost=$(echo "$st" | jq '.collectors[0].flows_lost')
	unseen=$(echo "$st" | jq '.flows_unseen')
	assert_ge "$lost" 1 "flows lost"
	assert_ge "$(echo "$st" | jq '.collectors[0].records_by_reason.evicted')" "$lost" "their records, marked evicted"
	page=$(in_ns flowlens curl -sf http://127.0.0.1:10179/metrics)
	assert_match "$page" "flowlens_export_flows_lost_total\{collector=\"$COLLECTOR\"\} $lost" "flows lost on /metrics"
	assert_match "$page" 'flowlens_flow_cache_evictions_total [1-9]' "evictions on /metrics"
	flows=$(nfcapd_flows | awk -F, '$5 == 6000' | sort -u | grep -c .)
	exported=$flows
	echo "exported $exported, unseen $unseen (lost $lost are among the exported)"
	# sources that repeat a port are one flow: flgen's 8000 packets made at
	# most 8000 flows, and every one of them is exported or unseen
	assert_ge $((exported + unseen)) 7000 "flows exported or counted unseen"
	[ $((exported + unseen)) -le 8000 ] || fail "more flows than flgen sent: $exported + $unseen"
}

# Live: TLS captures replayed through the lab, classified by the workers;
# their records at nfacctd carry the app, SNI and JA3 the workers found,
# as `flctl show flows` shows them.
test_live_records_carry_ndpi_fields() {
	local f capture want got
	PCAPS=$(fl_pcap_dir)
	[ -d "$PCAPS" ] || skip "no capture corpus in $PCAPS (set FL_PCAP_DIR)"
	work_dir
	nfacctd_start
	flctl export add ipfix "$COLLECTOR" idle 3
	# the captures' replies carry their own addresses: route them on
	routes_to_server
	for f in 443-firefox.pcap 443-git.pcap long_tls_certificate.pcap tls_esni_sni_both.pcap \
		tls-rdn-extract.pcap; do
		capture="$WORK/$f"
		tcpdump -r "$PCAPS/$f" -w "$capture" 'less 1514' 2>/dev/null
		flgen replay -i eth0 --dst "$SERVER4" --timing max -j "$capture" >/dev/null
	done
	wait_for 15 '[ "$(flctl -j show flows -n 1000 | jq "[.flows[] | select(.sni != \"\")] | length")" -ge 6 ]'
	want=$(flctl -j show flows -n 1000 | jq -r '.flows[] | select(.sni != "") | [.app, .sni, .ja3c, .ja3s] | @tsv' | sort)
	# every flow idle for 3 s leaves; then nfacctd writes what it has
	wait_until 20 stat_at_least .records 12
	sleep 2
	nfacctd_stop
	got=$(jq -r 'select(.biflow_dir == "1" and .tls_sni != "") | [.ndpi_l7_name, .tls_sni, .ja3c, .ja3s] | @tsv' \
		"$WORK/flows.json" | sort)
	echo "flctl show flows:"
	echo "$want"
	echo "nfacctd:"
	echo "$got"
	assert_ge "$(echo "$want" | grep -c .)" 6 "classified TLS flows with an SNI"
	assert_eq "$got" "$want" "app, SNI and JA3 of the live flows at nfacctd"
}

# The SNIs in the records of a capture of IPFIX messages (tshark reads
# one still being written).
snis() {
	tshark -r "$1" -d "udp.port==$PORT,cflow" -T fields -e cflow.pie.ntop.ssl_server_name \
		-Y cflow.pie.ntop.ssl_server_name 2>/dev/null | tr ',' '\n' | sort -u
}
sni_recorded() { snis "$1" | grep -qx 'www\.ntop\.org'; }

# A flow classified before the collector was added: its later records
# still carry the SNI and JA3 the workers found (kept from the verdict,
# collector or not).
test_flow_classified_before_the_collector() {
	local capture pcap out
	PCAPS=$(fl_pcap_dir)
	[ -d "$PCAPS" ] || skip "no capture corpus in $PCAPS (set FL_PCAP_DIR)"
	work_dir
	routes_to_server
	capture="$WORK/443-firefox.pcap"
	tcpdump -r "$PCAPS/443-firefox.pcap" -w "$capture" 'less 1514' 2>/dev/null
	# the same flow again and again: classified once, then in XDP
	bg client flgen replay -i eth0 --dst "$SERVER4" --loop 0 "$capture"
	wait_for 15 '[ "$(flctl -j show flows -n 0 | jq "[.flows[] | select(.sni == \"www.ntop.org\")] | length")" -ge 1 ]'
	pcap=$WORK/ipfix.pcap
	tshark_start "$pcap"
	flctl export add ipfix "$COLLECTOR" active 1
	# the capture's own timing has pauses: its packets, and records, come
	# in bursts (one loop is 8.4 s)
	wait_until 30 sni_recorded "$pcap" || true
	bg_kill
	out=$(snis "$pcap")
	echo "SNIs in the records: $out"
	assert_match "$out" '^www\.ntop\.org$' "the SNI in the active-timeout records"
	assert_ge "$(flctl -j export stats | jq '.collectors[0].records_by_reason.active')" 1 \
		"active-timeout records"
}

# ipfix_fields PCAP FIELD...: one line per data record in a capture of
# IPFIX messages, its FIELDs (tshark's cflow names) separated by spaces
# (tshark prints a message's records' values joined by ',').
ipfix_fields() {
	local pcap=$1 f args=()
	shift
	for f in "$@"; do
		args+=(-e "$f")
	done
	tshark -r "$pcap" -d "udp.port==$PORT,cflow" -T fields "${args[@]}" -Y "$1" 2>/dev/null |
		awk -F'\t' '{ n = split($1, v, ",")
			for (i = 1; i <= n; i++) {
				line = v[i]
				for (f = 2; f <= NF; f++) { split($f, w, ","); line = line " " w[i] }
				print line
			} }'
}

# A TCP connection that closes (FIN), and one aborted (RST): each
# direction's record leaves as the end of the flow (flowEndReason 3, as
# tshark decodes it), neither idle (30 s) nor active (300 s) timeout, and
# records_by_reason.end counts them.
test_tcp_close_ends_flow_record() {
	local pcap recs
	work_dir
	pcap=$WORK/ipfix.pcap
	nfcapd_start
	tshark_start "$pcap"
	flctl export add ipfix "$COLLECTOR" active 300 idle 30
	assert_eq "$(flctl -j export stats | jq '.collectors[0].records_by_reason.end')" 0 "end records before"
	tcp_transfer "$SERVER4" 20000
	# a connection with data, aborted: the client closes with SO_LINGER 0
	# (a RST, no FIN). (One refused at the SYN has no payload: the flow
	# cache makes no entry for it.)
	echo_server server "$SERVER4" 5002
	in_ns client python3 -c '
import socket, struct, sys
s = socket.create_connection((sys.argv[1], 5002))
s.sendall(b"x" * 1000)
got = b""
while len(got) < 1000:
    got += s.recv(1000 - len(got))
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
' "$SERVER4"
	# FIN or RST, then a second with no packet: both flows' two records
	wait_until 20 stat_at_least .records_by_reason.end 4
	sleep 1
	flctl export stats
	bg_kill
	recs=$(ipfix_fields "$pcap" cflow.srcport cflow.dstport cflow.flow_end_reason \
		cflow.tcpflags.fin cflow.tcpflags.rst)
	echo "sport dport reason fin rst:"
	echo "$recs"
	# the client's direction and the server's, each once, reason 3
	assert_eq "$(echo "$recs" | awk '$2 == 5001 { print $3, $4 }')" "3 1" \
		"the closed connection's client record: reason, FIN"
	assert_eq "$(echo "$recs" | awk '$1 == 5001 { print $3, $4 }')" "3 1" \
		"the closed connection's server record: reason, FIN"
	assert_eq "$(echo "$recs" | awk '$2 == 5002 { print $3, $5 }')" "3 1" \
		"the aborted connection's client record: reason, RST"
	assert_eq "$(echo "$recs" | awk '$1 == 5002 { print $3, $5 }')" "3 1" \
		"the aborted connection's server record: reason, RST"
	assert_eq "$(flctl -j export stats | jq -c '.collectors[0].records_by_reason | [.end, .idle, .active]')" \
		"[4,0,0]" "records by reason: end, idle, active"
}

# RFC 7011: each message's sequence number is the count of data records
# the domain sent before it; the templates come first and again every
# template-refresh seconds (30 by default; 1 here, through flctl's
# keyword, whose bounds are checked first).
test_sequence_numbers_and_template_refresh() {
	local pcap msgs out
	assert_fails_with "template-refresh: '0' is not a number from 1 to 86400" \
		flctl export add ipfix "$COLLECTOR" template-refresh 0
	assert_fails_with "template-refresh: '86401' is not a number from 1 to 86400" \
		flctl export add ipfix "$COLLECTOR" template-refresh 86401
	assert_fails_with "template-refresh needs a number" \
		flctl export add ipfix "$COLLECTOR" template-refresh
	assert_eq "$(flctl -j export list | jq '.collectors | length')" 0 "no collector added by the refused ones"
	work_dir
	pcap=$WORK/ipfix.pcap
	nfcapd_start
	tshark_start "$pcap"
	out=$(flctl -j export add ipfix "$COLLECTOR" idle 1 domain 9 template-refresh 1)
	json_check "$out" '.collector.template_refresh == 1 and .collector.domain == 9' \
		"export add with template-refresh"
	assert_eq "$(flctl -j export list | jq '.collectors[0].template_refresh')" 1 "template_refresh listed"
	assert_match "$(flctl export list)" '127\.0\.0\.1:4739 +60s +1s +9 +1s' "template refresh in the list as text"
	# about 200 IPv4 and 100 IPv6 flows: records in many messages, two
	# reads apart
	flgen udp -i eth0 --dst "$SERVER4" --sport 20000-20199 --dport 5300 -n 4000 >/dev/null
	wait_until 20 records_at_least 150
	flgen udp -i eth0 --dst "$SERVER6" --sport 20000-20099 --dport 5301 -n 2000 >/dev/null
	wait_until 20 records_at_least 250
	# templates resent at least three times after the first
	wait_until 20 stat_at_least .templates 4
	sleep 1
	flctl export stats
	bg_kill
	# one line a message: domain, sequence, set ids, data records
	msgs=$(tshark -r "$pcap" -d "udp.port==$PORT,cflow" -T fields -e cflow.od_id \
		-e cflow.sequence -e cflow.flowset_id -e cflow.srcport -Y cflow 2>/dev/null |
		awk -F'\t' '{ print $1, $2, $3, ($4 == "" ? 0 : split($4, r, ",")) }')
	echo "domain sequence sets records:"
	echo "$msgs" | head -5
	echo "... $(echo "$msgs" | grep -c .) messages"
	assert_eq "$(echo "$msgs" | awk '$1 != 9' | grep -c . || true)" 0 "messages of another domain"
	assert_ge "$(echo "$msgs" | awk '{ n += $4 } END { print n + 0 }')" 250 "data records decoded"
	# the sequence: the records of every message before
	out=$(echo "$msgs" | awk '$2 != seq { printf "message %d: sequence %s, expected %d\n", NR, $2, seq }
		{ seq += $4 }')
	assert_eq "$out" "" "sequence numbers"
	assert_eq "$(echo "$msgs" | awk '{ n += $4 } END { print n }')" \
		"$(flctl -j export stats | jq '.collectors[0].sequence')" "the exporter's sequence: every record"
	# the templates: in the first message, and again after records
	assert_match "$(echo "$msgs" | head -1 | awk '{ print $3 }')" '^2(,|$)' "the first message's template set"
	assert_ge "$(echo "$msgs" | awk '$2 > 0 && $3 ~ /^2(,|$)/' | grep -c . || true)" 3 \
		"messages carrying the templates again, after data records"
}

test_cli_errors_and_list() {
	local out
	assert_fails_with "unknown type 'netflow'" flctl export add netflow 127.0.0.1:2055
	assert_fails_with "has no port" flctl export add ipfix 127.0.0.1
	assert_fails_with "port '99999' is not a number" flctl export add ipfix 127.0.0.1:99999
	assert_fails_with "unexpected 'bogus'" flctl export add ipfix 127.0.0.1:2055 bogus 1
	assert_fails_with "idle" flctl export add ipfix 127.0.0.1:2055 idle 0
	assert_fails_with "no collector 7" flctl export del 7
	flctl export add ipfix 127.0.0.1:2055 active 300 idle 15 domain 7
	flctl export add ipfix '[::1]:2056'
	assert_fails_with "already a collector" flctl export add ipfix 127.0.0.1:2055
	out=$(flctl -j export list)
	echo "$out"
	assert_eq "$(echo "$out" | jq -c '[.collectors[] | [.collector, .active, .idle, .domain, .template_refresh]]')" \
		'[["127.0.0.1:2055",300,15,7,30],["[::1]:2056",60,30,0,30]]' "the collectors, defaults filled"
	assert_match "$(flctl export list)" '127\.0\.0\.1:2055 +300s +15s +7' "list as text"
	assert_match "$(flctl show export)" 'templates' "show export"
	flctl export del '[::1]:2056'
	assert_eq "$(flctl -j export list | jq '.collectors | length')" 1 "one left"
}

test_collectors_survive_restart() {
	flctl export add ipfix 127.0.0.1:2057 idle 5 template-refresh 120
	lab stop
	lab start "${LAB_START_ARGS[@]}"
	assert_eq "$(flctl -j export list | jq -c '[.collectors[] | [.collector, .idle, .template_refresh]]')" \
		'[["127.0.0.1:2057",5,120]]' "restored from export.json"
}

run_tests
