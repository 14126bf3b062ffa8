#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# demo.sh - FlowLens in the namespace lab (make demo).
#
# Brings the lab up, starts flowlensd on the flowlens namespace's two
# interfaces, sends a mix of traffic through it (pings from five light
# sources, a TCP transfer, and one heavy UDP source), then shows what
# FlowLens saw; then router mode, manual rules, the DDoS engine
# catching two floods on its own, and the SYN proxy under a SYN flood.
# Tears everything down on exit, Ctrl-C included.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
LAB="$TOP/scripts/lab.sh"
TRAFFIC="$TOP/scripts/traffic.py"
SERVER=198.51.100.2
HEAVY=192.0.2.10
pids=()

cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	"$LAB" down >/dev/null 2>&1 || true
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
	"$LAB" exec flowlens ip route del default
	"$LAB" exec flowlens ip -6 route del default
else
	echo "no captures in $PCAPS: skipped"
fi

step "Done: $HEAVY topped 'flctl top src'; router mode forwarded flgen's million packets; the rules dropped the flood and held the rate; the DDoS engine caught both floods, dropped them and removed its rules after the hold; the SYN proxy answered a SYN flood while curl connected; the workers named every application in the captures, and /metrics shows them to Prometheus; tearing down"
