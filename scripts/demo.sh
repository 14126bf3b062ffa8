#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# demo.sh - FlowLens in the namespace lab (make demo).
#
# Brings the lab up, starts flowlensd on the flowlens namespace's two
# interfaces, sends a mix of traffic through it (pings from five light
# sources, a TCP transfer, and one heavy UDP source), then shows what
# FlowLens saw; then router mode, manual rules, the DDoS engine
# catching two floods on its own, the SYN proxy under a SYN flood, real
# captures classified by the workers, and their flows as IPFIX records
# that nfcapd/nfdump and tshark decode; then BGP FlowSpec with a gobgpd
# controller and FRR as PE. A collector tool that is not
# installed is skipped, never a failure. Tears everything down on exit,
# Ctrl-C included.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
LAB="$TOP/scripts/lab.sh"
TRAFFIC="$TOP/scripts/traffic.py"
SERVER=198.51.100.2
HEAVY=192.0.2.10
LAB_DIR=${FL_LAB_DIR:-/run/flowlens-lab}
pids=()

cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	"$LAB" down >/dev/null 2>&1 || true
	# the BGP peers' namespaces (scripts/bgp_peers.sh), if the demo got there
	for ns in "${BGP_CTL_NS:-}" "${BGP_PE_NS:-}"; do
		[ -n "$ns" ] && ip netns del "$ns" 2>/dev/null || true
	done
	[ -z "${BGP_FRR_RUN:-}" ] || rm -rf "$BGP_FRR_RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() {
	if [ -t 1 ]; then
		printf '\n\033[1m== %s\033[0m\n' "$*"
	else
		printf '\n== %s\n' "$*"
	fi
}

flctl() {
	echo "\$ flctl $*"
	"$LAB" exec flowlens flctl "$@"
}

background() {
	"$LAB" exec "$@" </dev/null >/dev/null 2>&1 &
	pids+=($!)
}

# Runs CMD... every 0.1 s until it succeeds, for at most SECONDS.
wait_for() { # SECONDS CMD...
	local tries=$(($1 * 10))
	shift
	while [ "$tries" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	return 1
}

# The IPFIX collectors: nfcapd and tshark on 127.0.0.1:4739 in the
# flowlens namespace, where flowlensd sends. Either may be missing (make
# deps installs nfdump and tshark): the demo goes on without it.
IPFIX_PORT=4739
IPFIX_DIR=$LAB_DIR/ipfix
NFCAPD_PID=
TSHARK_PID=

udp_port_bound() {
	"$LAB" exec flowlens ss -Hlun "( sport = :$IPFIX_PORT )" 2>/dev/null | grep -q .
}

ipfix_collectors_start() {
	mkdir -p "$IPFIX_DIR/nf"
	if command -v tshark >/dev/null; then
		echo "\$ tshark -i lo -f 'udp port $IPFIX_PORT' -w ipfix.pcap &   (in the flowlens namespace)"
		"$LAB" exec flowlens tshark -q -i lo -f "udp port $IPFIX_PORT" \
			-w "$IPFIX_DIR/ipfix.pcap" </dev/null >/dev/null 2>"$IPFIX_DIR/tshark.log" &
		TSHARK_PID=$!
		pids+=("$TSHARK_PID")
		wait_for 10 grep -q "^Capturing on" "$IPFIX_DIR/tshark.log" ||
			echo "(tshark did not start capturing: see $IPFIX_DIR/tshark.log)"
	else
		echo "(tshark is not installed: no capture to decode; 'make deps' installs it)"
	fi
	if command -v nfcapd >/dev/null && command -v nfdump >/dev/null; then
		echo "\$ nfcapd -b 127.0.0.1 -p $IPFIX_PORT -w nf/ &   (in the flowlens namespace)"
		"$LAB" exec flowlens nfcapd -b 127.0.0.1 -p "$IPFIX_PORT" -w "$IPFIX_DIR/nf" -t 3600 \
			</dev/null >"$IPFIX_DIR/nfcapd.log" 2>&1 &
		NFCAPD_PID=$!
		pids+=("$NFCAPD_PID")
		# the templates go out when the collector is added: nfcapd
		# must be listening by then, or it drops the records until
		# the next ones, 30 s later
		wait_for 10 udp_port_bound ||
			echo "(nfcapd is not listening: see $IPFIX_DIR/nfcapd.log)"
	else
		echo "(nfcapd/nfdump are not installed: 'make deps' installs nfdump)"
	fi
}

# What the collectors made of the records. Never fails the demo.
ipfix_collectors_show() {
	local prev=-1 n tries=15
	# idle 2: a flow's records leave 2-3 s after its last packet (1 s
	# after a FIN or RST); wait until the count stops moving
	sleep 3
	while [ "$tries" -gt 0 ]; do
		n=$("$LAB" exec flowlens flctl -j export stats 2>/dev/null |
			jq '[.collectors[].records] | add // 0' 2>/dev/null) || n=0
		[ "$n" -gt 0 ] && [ "$n" = "$prev" ] && break
		prev=$n
		sleep 1
		tries=$((tries - 1))
	done
	flctl export stats || true
	if [ -n "$NFCAPD_PID" ]; then
		kill -TERM "$NFCAPD_PID" 2>/dev/null || true # it writes out its file
		wait "$NFCAPD_PID" 2>/dev/null || true
		echo
		echo "\$ nfdump -R nf/ -B -O bytes -n 6   (nfcapd's file: the largest flows, each flow's two uniflow records joined)"
		nfdump -R "$IPFIX_DIR/nf" -B -O bytes -n 6 2>&1 | head -n 7 || true
		echo
		echo "\$ nfdump -R nf/ -o raw 'proto tcp and port 443' | grep -E 'biFlow|end reason|app ID' | head -3   (one record's IPFIX-only fields)"
		nfdump -R "$IPFIX_DIR/nf" -q -o raw 'proto tcp and port 443' 2>/dev/null |
			grep -E 'biFlow Dir|end reason|app ID' | head -n 3 || true
	fi
	if [ -n "$TSHARK_PID" ]; then
		kill -INT "$TSHARK_PID" 2>/dev/null || true
		wait "$TSHARK_PID" 2>/dev/null || true
		echo
		echo "\$ tshark -r ipfix.pcap -d udp.port==$IPFIX_PORT,cflow -V   (the first record with an SNI: nDPI's fields, ntop's elements)"
		tshark -r "$IPFIX_DIR/ipfix.pcap" -d "udp.port==$IPFIX_PORT,cflow" -V 2>/dev/null |
			awk '/^        Flow [0-9]+$/ { if (sni) exit; rec = $0 "\n"; next }
			     /^    Set / { if (sni) exit; rec = ""; next }
			     /SSL server name: ./ { sni = 1 }
			     /^            (SrcAddr|DstAddr|SrcPort|DstPort|Protocol|Octets|Packets|Flow End Reason|Biflow Direction|ApplicationName|Layer 7 protocol|SSL server name|Enterprise Private entry: \(ntop\) Type (501|489|510))/ { rec = rec $0 "\n" }
			     END { if (sni) printf "%s", rec; else print "(no record with an SNI)" }' || true
		echo
		echo "\$ tshark ... -V | awk ...   (the records with an SNI: one per direction, biflowDirection telling which)"
		tshark -r "$IPFIX_DIR/ipfix.pcap" -d "udp.port==$IPFIX_PORT,cflow" -V 2>/dev/null |
			awk 'function out() { if (sni != "") printf "  %-14s %-28s %-9s %s:%s -> %s:%s %s packets\n", app, sni, dir, src, sport, dst, dport, pkts; sni = "" }
			     /^        Flow [0-9]+$/ { out(); next }
			     /^            SrcAddr: / { src = $2 } /^            DstAddr: / { dst = $2 }
			     /^            SrcPort: / { sport = $2 } /^            DstPort: / { dport = $2 }
			     /^            Packets: / { pkts = $2 }
			     /^            Biflow Direction: / { dir = $3 == "Initiator" ? "initiator" : "reverse" }
			     /^            Layer 7 protocol name: / { app = $5 }
			     /^            SSL server name: / { sni = $4 }
			     END { out() }' | head -n 6 || true
	fi
}

step "Lab: client -- flowlens -- server (network namespaces, veth)"
"$LAB" up
"$LAB" start
tail -n +1 "${FL_LAB_DIR:-/run/flowlens-lab}/flowlensd.log"

step "Protect both subnets: their hosts get exact per-IP counters"
flctl protect add 198.51.100.0/24
flctl protect add 192.0.2.0/24

step "Traffic: 5 light sources, a TCP transfer, one heavy UDP source ($HEAVY)"
for i in 11 12 13 14 15; do
	background client ping -q -i 0.1 -I "192.0.2.$i" "$SERVER"
done
background server sh -c 'nc -l 198.51.100.2 5001 >/dev/null'
sleep 0.5
background client sh -c 'head -c 50000000 /dev/zero | nc -N 198.51.100.2 5001'
background client "$TRAFFIC" udp "$SERVER" 9 --src "$HEAVY" --size 200 --pps 8000 --duration 30
echo "sending for 4 seconds..."
sleep 4

step "What FlowLens saw"
flctl show stats
echo
flctl top src
echo
flctl top dst -n 3
echo
flctl protect list
echo
flctl show ip "$HEAVY"

step "Router mode: FlowLens routes client -> server at the driver"
for pid in "${pids[@]}"; do
	kill "$pid" 2>/dev/null || true
done
pids=()
"$LAB" stop
"$LAB" start --mode router
echo "\$ flgen udp -i eth0 --dst $SERVER -n 1000000   (in the client namespace)"
"$LAB" exec client flgen udp -i eth0 --dst "$SERVER" -n 1000000
echo
echo "\$ ping -c 2 $SERVER   (TTL one lower: routed once)"
"$LAB" exec client ping -c 2 -i 0.2 "$SERVER" | grep ttl
echo
flctl show stats cl0

step "Mitigation rules: enforced at the driver, before routing"
flctl rule add dst "$SERVER" proto udp dport 1000-2000 action drop
flctl rule add dst "$SERVER" proto udp dport 7000 action rate-limit 10kpps
flctl rule add order 10 src 192.0.2.0/24 proto icmp action permit
echo "\$ flgen udp -i eth0 --dst $SERVER --dport 1000-2000 -n 1000000   (a flood on a port range)"
"$LAB" exec client flgen udp -i eth0 --dst "$SERVER" --dport 1000-2000 -n 1000000
echo "\$ flgen udp -i eth0 --dst $SERVER --dport 7000 -r 50000 -d 2   (5x the rate-limit)"
"$LAB" exec client flgen udp -i eth0 --dst "$SERVER" --dport 7000 -r 50000 -d 2
echo
echo "\$ ping -c 2 $SERVER   (other traffic still passes)"
"$LAB" exec client ping -c 2 -i 0.2 "$SERVER" | grep ttl
echo
flctl rule list
echo
flctl rule shapes

step "DDoS engine: thresholds install and remove the rules by themselves"
flctl rule flush
flctl ddos threshold add 198.51.100.0/24 udp-pps 20k sps 10k hold 3
echo "\$ flgen udp -i eth0 --dst $SERVER --src 192.0.2.20-192.0.2.22 -r 100000 -d 2   (3 sources, 5x the limit)"
"$LAB" exec client flgen udp -i eth0 --dst "$SERVER" --src 192.0.2.20-192.0.2.22 --dport 9 -r 100000 -d 2
flctl ddos attacks
echo
flctl rule list
echo
echo "\$ flgen syn -i eth0 --dst $SERVER --src 198.18.0.0/15 --dport 80 -r 100000 -d 2   (spoofed SYN flood)"
"$LAB" exec client flgen syn -i eth0 --dst "$SERVER" --src 198.18.0.0/15 --dport 80 -r 100000 -d 2
flctl ddos attacks
echo
flctl ddos status
echo "waiting for the hold (3 s under the threshold)..."
sleep 5
flctl ddos attacks --all
echo
flctl rule list
echo
echo "\$ tail -n 2 ddos-events.jsonl | jq -c '{event, id: .attack.id, dropped: .attack.dropped}'"
tail -n 2 "${FL_LAB_DIR:-/run/flowlens-lab}/ddos-events.jsonl" |
	jq -c '{event, id: .attack.id, dropped: .attack.dropped}'

step "SYN proxy: a spoofed SYN flood answered at the driver, real clients still connect"
flctl ddos threshold del 198.51.100.0/24
flctl synproxy add "$SERVER" port 8080
background server python3 -m http.server 8080 --bind "$SERVER"
echo "\$ flgen syn -i eth0 --dst $SERVER --src 198.18.0.0/15 --dport 8080 -d 4 &   (full rate, in the background)"
background client flgen syn -i eth0 --dst "$SERVER" --src 198.18.0.0/15 --dport 8080 -d 4
sleep 1
for i in 1 2 3; do
	"$LAB" exec client curl -s -o /dev/null --max-time 5 \
		-w "curl http://$SERVER:8080/ -> HTTP %{http_code}, connected in %{time_connect} s\n" \
		"http://$SERVER:8080/" || echo "curl http://$SERVER:8080/ failed"
done
sleep 4
flctl synproxy stats
echo
echo "\$ nft list tables   (in the flowlens namespace: the table flowlensd keeps behind the proxy)"
"$LAB" exec flowlens nft list tables

step "IPFIX export: nfcapd and tshark listen on 127.0.0.1:$IPFIX_PORT; flowlensd sends them every flow"
ipfix_collectors_start
flctl export add ipfix "127.0.0.1:$IPFIX_PORT" idle 2 || true

step "Applications: real captures through the router, classified by nDPI in the AF_XDP workers"
source "$TOP/scripts/corpus.sh"
PCAPS=$(fl_pcap_dir)
if [ -d "$PCAPS" ]; then
	# every address a capture uses is routed to the server side
	"$LAB" exec flowlens ip route replace default via "$SERVER"
	"$LAB" exec flowlens ip -6 route replace default via 2001:db8:2::2
	"$LAB" exec flowlens ping -c1 -W2 "$SERVER" >/dev/null
	"$LAB" exec flowlens ping -6 -c1 -W2 2001:db8:2::2 >/dev/null || true
	for f in bittorrent.pcap http_ipv6.pcap quic-23.pcap 443-chrome.pcap; do
		cap="${FL_LAB_DIR:-/run/flowlens-lab}/demo-$f"
		tcpdump -r "$PCAPS/$f" -w "$cap" 'less 1514' 2>/dev/null
		echo "\$ flgen replay -i eth0 --timing max $f   (in the client namespace)"
		"$LAB" exec client flgen replay -i eth0 --dst "$SERVER" --timing max "$cap" | head -1
	done
	sleep 1
	echo
	flctl show apps
	echo
	flctl show flows -n 6
	echo
	flctl show workers
	echo
	echo "\$ curl -s http://127.0.0.1:10179/metrics | grep -E 'flowlens_app_flows_total|interface_packets_total'   (in the flowlens namespace: Prometheus' view)"
	"$LAB" exec flowlens curl -s http://127.0.0.1:10179/metrics |
		grep -E '^flowlens_(app_flows_total|interface_packets_total)' | head -12 ||
		echo "(no answer on /metrics)"

	step "Application policy: BitTorrent dropped and QUIC policed at the driver, on the flows' cached verdicts"
	flctl policer add quic-cap rate 1M burst 3K
	flctl policy add app BitTorrent action drop
	flctl policy add app QUIC action police quic-cap
	sleep 1 # the workers match the flows already classified again
	for f in bittorrent.pcap quic-23.pcap; do
		echo "\$ flgen replay -i eth0 --timing max $f   (in the client namespace, again)"
		"$LAB" exec client flgen replay -i eth0 --dst "$SERVER" --timing max \
			"${FL_LAB_DIR:-/run/flowlens-lab}/demo-$f" | head -1
	done
	sleep 1
	echo
	flctl policy list
	echo
	flctl policer list
	for id in $("$LAB" exec flowlens flctl -j policy list | jq -r '.policies[].id'); do
		"$LAB" exec flowlens flctl policy del "$id" >/dev/null
	done
	"$LAB" exec flowlens flctl policer del quic-cap >/dev/null
	"$LAB" exec flowlens ip route del default
	"$LAB" exec flowlens ip -6 route del default
else
	echo "no captures in $PCAPS: skipped"
fi

step "IPFIX: the flows' records, as the collectors decode them"
echo "\$ ping -c 3 $SERVER   (in the client namespace: one more flow)"
"$LAB" exec client ping -c 3 -i 0.2 "$SERVER" | grep ttl || true
ipfix_collectors_show

bgp_sessions_up() {
	[ "$("$LAB" exec flowlens flctl -j bgp status |
		jq '[.neighbors[] | select(.state == "established")] | length')" = 2 ]
}
pe_has() { bgp_pe 'show bgp ipv4 flowspec json' | grep -q "$1"; }
pe_lacks() { ! pe_has "$1"; }

step "BGP FlowSpec: a controller's route dropped at the driver; the DDoS engine's mitigation announced to FRR"
if command -v gobgpd >/dev/null && [ -x /usr/lib/frr/bgpd ]; then
	NS_FLOWLENS=${FL_LAB_PREFIX:-fl}-flowlens
	BGP_WORK=$LAB_DIR/flowspec
	source "$TOP/scripts/bgp_peers.sh"
	bgp_ctl_start
	bgp_pe_start
	pids+=("${BGP_PIDS[@]}")
	flctl bgp neighbor add $BGP_CTL as $BGP_CTL_AS local-as $BGP_FL_AS router-id $BGP_FL_CTL hold 3
	flctl bgp neighbor add $BGP_PE as $BGP_PE_AS hold 3
	flctl flowspec announce on
	echo "waiting for both sessions..."
	wait_for 40 bgp_sessions_up || true
	flctl bgp status
	echo
	echo "\$ gobgp global rib -a ipv4-flowspec add match destination $SERVER/32 protocol udp destination-port ==5001 then discard   (on the controller)"
	bgp_ctl global rib -a ipv4 add 198.51.100.0/24
	bgp_ctl global rib -a ipv4-flowspec add match destination "$SERVER/32" protocol udp destination-port ==5001 then discard
	sleep 1
	flctl flowspec list --received
	echo "\$ traffic.py udp $SERVER 5001 --count 100   (in the client namespace)"
	"$LAB" exec client "$TRAFFIC" udp "$SERVER" 5001 --count 100 >/dev/null
	sleep 0.5
	flctl rule list --origin flowspec
	echo
	flctl ddos threshold add 198.51.100.0/24 udp-pps 20k hold 3
	echo "\$ flgen udp -i eth0 --dst $SERVER --src 192.0.2.23 -r 100000 -d 3   (a flood from one source)"
	"$LAB" exec client flgen udp -i eth0 --dst "$SERVER" --src 192.0.2.23 --dport 9 -r 100000 -d 3 >/dev/null &
	flood=$!
	wait_for 8 pe_has 192.0.2.23 || true
	flctl flowspec list --announced
	echo "\$ vtysh -c 'show bgp ipv4 flowspec detail'   (on the PE, FRR)"
	bgp_pe 'show bgp ipv4 flowspec detail'
	wait "$flood" || true
	echo "waiting for the attack's hold (3 s) to end..."
	wait_for 15 pe_lacks 192.0.2.23 || true
	echo "\$ vtysh -c 'show bgp ipv4 flowspec'   (on the PE: withdrawn)"
	bgp_pe 'show bgp ipv4 flowspec'
	flctl ddos threshold del 198.51.100.0/24
else
	echo "gobgpd or FRR not installed (make deps installs them): skipped"
fi

step "VoIP: an INVITE flood blocked at the driver while a carrier's calls go through; sngrep gets every SIP message over HEP3"
if command -v sipp >/dev/null; then
	VOIP_DIR=$(mktemp -d "$LAB_DIR/demo-voip.XXXXXX")
	chmod 755 "$VOIP_DIR"
	flctl voip carrier add 192.0.2.0/29 name trunk-a
	flctl voip threshold add 198.51.100.0/24 method invite pps 20 hold 3
	sng=
	if command -v sngrep >/dev/null; then
		"$LAB" exec server sngrep -N -q -L "udp:$SERVER:9060" -O "$VOIP_DIR/hep.pcap" </dev/null >/dev/null 2>&1 &
		sng=$!
		pids+=("$sng")
		flctl hep add "$SERVER" port 9060
	fi
	background server sh -c "cd $VOIP_DIR && exec sipp -sn uas -i $SERVER -p 5060 -nostdin"
	sleep 1
	echo "\$ sipp -sn uac -i 192.0.2.2 -r 30 -m 90 $SERVER   (the carrier: 30 calls a second, over the INVITE limit)"
	"$LAB" exec client sh -c "cd $VOIP_DIR && exec sipp -sn uac -i 192.0.2.2 -p 5070 -r 30 -m 90 -d 200 -nostdin -trace_screen $SERVER:5060" >/dev/null 2>&1 &
	carrier=$!
	echo "\$ sipp -sn uac -i 192.0.2.20 -r 150 -m 600 $SERVER   (an INVITE flood)"
	"$LAB" exec client sh -c "cd $VOIP_DIR && exec sipp -sn uac -i 192.0.2.20 -p 5071 -r 150 -m 600 -nr -recv_timeout 1000 -nostdin $SERVER:5060" >/dev/null 2>&1 || true
	wait "$carrier" || true
	echo "the carrier's calls:"
	grep -E "Successful call|Failed call" "$VOIP_DIR"/uac_*_screen.log | sed 's/^/  /'
	flctl voip status
	flctl ddos attacks --all
	flctl voip carrier list
	if [ -n "$sng" ]; then
		flctl hep list
		kill -TERM "$sng" 2>/dev/null || true
		wait "$sng" 2>/dev/null || true
		echo "what sngrep decoded from HEP (tshark -r its capture):"
		tshark -r "$VOIP_DIR/hep.pcap" -Y sip -T fields -e sip.Method -e sip.Status-Code 2>/dev/null |
			sort | uniq -c | sed 's/^/  /' || true
	fi
	flctl hep del "$SERVER" port 9060 >/dev/null 2>&1 || true
	flctl voip threshold del 198.51.100.0/24 >/dev/null
	flctl voip carrier del 192.0.2.0/29 >/dev/null
else
	echo "sipp not installed (make deps installs sip-tester): skipped"
fi

step "Done: $HEAVY topped 'flctl top src'; router mode forwarded flgen's million packets; the rules dropped the flood and held the rate; the DDoS engine caught both floods, dropped them and removed its rules after the hold; the SYN proxy answered a SYN flood while curl connected; the workers named every application in the captures, a policy dropped BitTorrent and a policer held QUIC at the driver, /metrics shows them to Prometheus, and their flows left as IPFIX records: nfdump lists them, tshark shows nDPI's app and SNI in them; a controller's FlowSpec route dropped its traffic at the driver and the flood's rule reached FRR as a FlowSpec route until the attack ended; the carrier's calls all went through an INVITE flood that its own rules dropped, and sngrep saw every SIP message over HEP3; tearing down"
