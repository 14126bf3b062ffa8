#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# bench_workers.sh - the AF_XDP workers in the lab (router mode), as part
# of make bench (step 8) or alone:
#
#   1. the share of packets escalated when every capture of nDPI's corpus
#      (../shared/pcap/ndpi, frames up to 1514 bytes) is replayed through
#      the lab by flgen: packets escalated to the workers (the program's
#      flow_cache.escalated on cl0) against packets sent;
#   2. the end-to-end rate through the lab with the workers on against
#      --workers 0 (nothing escalated), alternating rounds, medians: 60-byte
#      UDP frames of 64 flows (each classified once, then handled by its
#      cached verdict), and the worst case, every frame a new flow (a
#      random-port flood: every one escalated).
#
# Prints a markdown section on stdout. Environment: BENCH_ROUNDS (default
# 3), BENCH_SECONDS (per round, default 3), BENCH_WORKERS_IN_LAB=1 (set by
# bench.sh: its lab is up; leave it up), FL_LAB_PREFIX/FL_LAB_DIR as lab.sh
# (default a private lab, flb).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
export OUTPUT=${OUTPUT:-$TOP/build}
export FL_LAB_PREFIX=${FL_LAB_PREFIX:-flb} FL_LAB_DIR=${FL_LAB_DIR:-/run/flowlens-lab-bench}
source "$TOP/scripts/corpus.sh"
PCAP_DIR=$(fl_pcap_dir)
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECONDS:-3}
LAB="$TOP/scripts/lab.sh"
in_ns() { "$LAB" exec "$@"; }
flctl() { "$LAB" exec flowlens flctl "$@"; }

[ "$(id -u)" -eq 0 ] || { echo "bench_workers.sh: run as root" >&2; exit 1; }
[ -d "$PCAP_DIR" ] || { echo "bench_workers.sh: no captures in $PCAP_DIR (set FL_PCAP_DIR)" >&2; exit 1; }
work=$(mktemp -d)
cleanup() {
	"$LAB" stop >/dev/null 2>&1 || true
	in_ns flowlens ip route del default >/dev/null 2>&1 || true
	in_ns flowlens ip -6 route del default >/dev/null 2>&1 || true
	[ -n "${BENCH_WORKERS_IN_LAB:-}" ] || "$LAB" down >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
[ -n "${BENCH_WORKERS_IN_LAB:-}" ] || "$LAB" up >/dev/null
"$LAB" stop >/dev/null 2>&1 || true

cl0() { flctl -j show stats cl0 | jq ".interfaces[0]$1"; }
workers_rx() { flctl -j show workers | jq '[.workers[].rx] | add // 0'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# 1. The corpus through the lab. Every address is routed to the server
# side, which drops what is not its own (with forwarding off there: a
# forwarding server would send it back, and round it goes until TTL 0).
fwd4=$(in_ns server sysctl -n net.ipv4.ip_forward)
fwd6=$(in_ns server sysctl -n net.ipv6.conf.all.forwarding)
in_ns server sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
"$LAB" start --mode router >/dev/null
in_ns flowlens ip route replace default via 198.51.100.2
in_ns flowlens ip -6 route replace default via 2001:db8:2::2
in_ns client ping -c1 -W2 198.51.100.2 >/dev/null
in_ns client ping -6 -c1 -W2 2001:db8:2::2 >/dev/null || true
in_ns flowlens ping -c1 -W2 198.51.100.2 >/dev/null
in_ns flowlens ping -6 -c1 -W2 2001:db8:2::2 >/dev/null || true
both() { flctl -j show stats | jq "[.interfaces[] | $1] | add"; }
esc0=$(both .flow_cache.escalated)
pk0=$(both .packets)
rx0=$(workers_rx)
sent=0
files=0
for f in "$PCAP_DIR"/*.pcap "$PCAP_DIR"/*.pcapng; do
	tcpdump -r "$f" -w "$work/cap.pcap" 'less 1514' 2>/dev/null || continue
	n=$(in_ns client flgen replay -i eth0 --dst 198.51.100.2 --timing max -j "$work/cap.pcap" 2>/dev/null |
		jq '.packets // 0') || continue
	sent=$((sent + n))
	files=$((files + 1))
done
sleep 1
escalated=$(($(both .flow_cache.escalated) - esc0))
seen=$(($(both .packets) - pk0))
worker_rx=$(($(workers_rx) - rx0))
# The flow cache's kernel memory, as the kernel accounts it.
flows_map=$(in_ns flowlens bpftool -j map show pinned /sys/fs/bpf/flowlens/fl_flows)
flows_mem=$(jq .bytes_memlock <<<"$flows_map")
flows_max=$(jq .max_entries <<<"$flows_map")
cached=$(flctl -j show flows -n 1 | jq .total)
"$LAB" stop >/dev/null
in_ns flowlens ip route del default
in_ns flowlens ip -6 route del default
in_ns server sysctl -qw net.ipv4.ip_forward="$fwd4" net.ipv6.conf.all.forwarding="$fwd6"

# 1b. A long flow: 20 MB over one TCP connection through the lab; its
# packets on both interfaces against those escalated.
"$LAB" start --mode router >/dev/null
head -c 20000000 /dev/urandom >"$work/bulk"
in_ns server sh -c "nc -l 198.51.100.2 5009 >/dev/null" &
nc_pid=$!
sleep 0.5
pk0=$(($(cl0 .packets) + $(flctl -j show stats sv0 | jq '.interfaces[0].packets')))
esc0=$(($(cl0 .flow_cache.escalated) + $(flctl -j show stats sv0 | jq '.interfaces[0].flow_cache.escalated')))
in_ns client nc -N 198.51.100.2 5009 <"$work/bulk"
wait "$nc_pid" || true
bulk_packets=$(($(cl0 .packets) + $(flctl -j show stats sv0 | jq '.interfaces[0].packets') - pk0))
bulk_escalated=$(($(cl0 .flow_cache.escalated) + $(flctl -j show stats sv0 | jq '.interfaces[0].flow_cache.escalated') - esc0))
"$LAB" stop >/dev/null

# 2. The rate through the lab, workers on and off. The server drops
# 203.0.113.0/24 on a blackhole route and counts what it received.
in_ns server ip route replace blackhole 203.0.113.0/24
in_ns flowlens ip route replace 203.0.113.0/24 via 198.51.100.2
received() { in_ns server nstat -az IpInReceives | awk '$1 == "IpInReceives" { print $2 }'; }
# round ARGS...: flgen's rate (pps) and the server's, one line
round() {
	local before after
	before=$(received)
	in_ns client flgen udp -i eth0 --dst 203.0.113.9 -d "$SECS" --cpus 0 -j "$@" >"$work/gen.json"
	sleep 0.5
	after=$(received)
	jq -r --argjson n $((after - before)) '"\(.pps | floor) \(($n / .seconds) | floor)"' "$work/gen.json"
}
: >"$work/flows_on" && : >"$work/flows_off" && : >"$work/new_on" && : >"$work/new_off"
for _ in $(seq 1 "$ROUNDS"); do
	for mode in on off; do
		if [ $mode = on ]; then
			"$LAB" start --mode router >/dev/null
		else
			"$LAB" start --mode router --workers 0 >/dev/null
		fi
		in_ns client ping -c1 -W2 203.0.113.9 >/dev/null 2>&1 || true
		round --sport 10000-10063 >>"$work/flows_$mode"
		round --dport 1-65535 --sport 1-65535 >>"$work/new_$mode"
		[ $mode = on ] && flctl -j show workers >"$work/workers.json"
		"$LAB" stop >/dev/null
	done
done
in_ns flowlens ip route del 203.0.113.0/24
in_ns server ip route del blackhole 203.0.113.0/24

col() { cut -d' ' -f2 "$work/$1" | median; }
mpps() { awk -v v="$1" 'BEGIN { printf "%.3f", v / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
{
	echo "### The AF_XDP workers in the lab"
	echo
	echo "**Escalated share.** Every capture of nDPI's corpus ($files files; frames up to"
	echo "1514 bytes, as a veth carries them) replayed by flgen through the router-mode lab,"
	echo "every address routed to the server side: $sent packets sent, $seen seen by the"
	echo "program on cl0 and sv0, $escalated escalated to the workers ($(awk -v e="$escalated" -v s="$seen" 'BEGIN { printf "%.1f", s ? 100 * e / s : 0 }') %),"
	echo "$worker_rx received by them. The rest never left the"
	echo "driver: TCP handshakes (no state before payload), packets after a cached verdict,"
	echo "packets past a flow's budget, and what the router hands to the kernel (multicast,"
	echo "broadcast, TTL 1) - not escalated."
	echo
	echo "**A long flow**: 20 MB over one TCP connection through the lab, $bulk_packets packets on"
	echo "cl0 and sv0, $bulk_escalated escalated ($(awk -v e="$bulk_escalated" -v s="$bulk_packets" 'BEGIN { printf "%.3f", s ? 100 * e / s : 0 }') %): the handshake creates no state, the first"
	echo "payload packets go to the worker until its verdict, the rest stays in XDP."
	echo
	echo '**Flow cache memory** (`fl_flows`, an LRU hash preallocated for '"$flows_max"' flows):'
	echo "$flows_mem bytes as the kernel accounts them, $((flows_mem / flows_max)) bytes per flow; $cached flows were"
	echo "in it after the corpus."
	echo
	echo "**Rate through the lab**, 60-byte UDP frames from one flgen thread on CPU 0 for"
	echo "$SECS s, median of $ROUNDS alternating rounds; delivered = what the server received."
	echo
	echo "| traffic | workers on Mpps | --workers 0 Mpps | ratio |"
	echo "| --- | ---: | ---: | ---: |"
	echo "| 64 flows (classified once, then cached) | $(mpps "$(col flows_on)") | $(mpps "$(col flows_off)") | $(ratio "$(col flows_on)" "$(col flows_off)") |"
	echo "| every frame a new flow (random ports) | $(mpps "$(col new_on)") | $(mpps "$(col new_off)") | $(ratio "$(col new_on)" "$(col new_off)") |"
	echo
	echo "Worker counters after the last round with workers: $(jq -c '[.workers[] | {rx, tx, dropped, ring_full, classified, gave_up}]' "$work/workers.json")."
}
