#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# bench_cores.sh - scaling with cores: FlowLens in the lab with 1 and then
# 2 rx queues (and as many workers), and the ratio 2-to-1, for
#
#   gen       flgen alone into a sink on cl0 (no FlowLens): the load
#             generator's own ceiling at 1 and 2 threads;
#   forward   router mode, --workers 0 (stages 6 and 7 off): 60-byte UDP
#             frames of one flow per sending thread, routed at the driver
#             to the server; rate = what the server received;
#   cached    router mode, a worker per queue: 64 flows, classified once,
#             then forwarded on their cached verdict (stage 6 hit);
#             rate = what the server received;
#   classify  router mode, a worker per queue: every frame a new flow
#             (random ports), so every frame is escalated, offered at
#             BENCH_CLASSIFY_PPS per queue (flgen -r; unpaced, the sending
#             threads would take the cores the workers need); rate =
#             frames the workers received and ran through nDPI (flctl
#             show workers: rx). The escalation cap (fl_config.escalate_pps,
#             default 20,000 a second per CPU) is raised to
#             BENCH_ESCALATE_PPS for these rounds - with the default the
#             cap, not the workers, sets the rate (and scales per CPU the
#             same way) - and set back after. Raised or not, the cap's
#             coarse clock lets a CPU escalate at most 513 packets a
#             scheduler tick (README: Scaling with cores).
#
# The load is flgen (BPF_F_TEST_XDP_LIVE_FRAMES) out of the client's eth0:
# --cpus 0 for one queue, --cpus 0,1 for two. A veth hands a frame sent on
# CPU c to its peer's rx queue c (modulo its queues), and that queue's NAPI
# runs on CPU c, so each sending thread feeds one rx queue of cl0, and
# worker q (pinned to core q) reads queue q. Generator, router, worker and
# server share the lab's cores: "2 queues" is the whole lab on 2 cores
# against 1. Rounds alternate between 1 and 2 queues; medians.
#
# Run after `make all`, as root. Prints a markdown table and one JSON
# line on stdout. Environment: BENCH_ROUNDS (default 3), BENCH_SECONDS
# (per round, default 3), BENCH_ESCALATE_PPS (default 1000000),
# BENCH_CLASSIFY_PPS (offered per queue, default 200000),
# FL_LAB_PREFIX/FL_LAB_DIR as lab.sh (default a private lab, flc).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
export OUTPUT=${OUTPUT:-$TOP/build}
export FL_LAB_PREFIX=${FL_LAB_PREFIX:-flc} FL_LAB_DIR=${FL_LAB_DIR:-/run/flowlens-lab-cores}
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECONDS:-3}
ESCALATE_PPS=${BENCH_ESCALATE_PPS:-1000000}
CLASSIFY_PPS=${BENCH_CLASSIFY_PPS:-200000}
LAB="$TOP/scripts/lab.sh"
in_ns() { "$LAB" exec "$@"; }
flctl() { "$LAB" exec flowlens flctl "$@"; }
CONFIG_PIN=/sys/fs/bpf/flowlens/fl_config

[ "$(id -u)" -eq 0 ] || { echo "bench_cores.sh: run as root" >&2; exit 1; }
[ -x "$OUTPUT/flgen" ] && [ -x "$OUTPUT/flowlensd" ] ||
	{ echo "bench_cores.sh: build first (make all)" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "bench_cores.sh: needs 2 CPUs" >&2; exit 1; }
work=$(mktemp -d)
cleanup() {
	"$LAB" down >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
"$LAB" up >/dev/null

# The server drops 203.0.113.0/24 on a blackhole route and counts it.
in_ns server ip route replace blackhole 203.0.113.0/24
in_ns flowlens ip route replace 203.0.113.0/24 via 198.51.100.2
received() { in_ns server nstat -az IpInReceives | awk '$1 == "IpInReceives" { print $2 }'; }
workers_rx() { flctl -j show workers | jq '[.workers[].rx] | add // 0'; }
workers_ring_full() { flctl -j show workers | jq '[.workers[].ring_full] | add // 0'; }

# set_escalate_pps N: fl_config.escalate_pps in the pinned map, at the
# offset its BTF gives (no layout assumed); the rest of the value as is.
# 0 is the default (FL_ESCALATE_PPS_DEFAULT). No flctl setting exists for
# it: this is for the bench alone.
set_escalate_pps() {
	local off value
	off=$(in_ns flowlens bpftool -j btf dump map pinned "$CONFIG_PIN" value |
		jq '.types[] | select(.name == "fl_config") | .members[] |
			select(.name == "escalate_pps") | .bits_offset / 8')
	[ -n "$off" ] || { echo "bench_cores.sh: no escalate_pps in fl_config's BTF" >&2; return 1; }
	value=$(in_ns flowlens bpftool -j map lookup pinned "$CONFIG_PIN" key 0 0 0 0 |
		jq -r --argjson off "$off" --argjson n "$1" '
			def hex2: . as $b | "0123456789abcdef" as $d |
				$d[($b / 16 | floor):($b / 16 | floor) + 1] + $d[($b % 16):($b % 16) + 1];
			.value | map(ltrimstr("0x")) |
			reduce range(0; 4) as $i (.;
				.[$off + $i] = (($n / pow(256; $i) | floor) % 256 | hex2)) |
			join(" ")')
	in_ns flowlens bpftool map update pinned "$CONFIG_PIN" key 0 0 0 0 value hex $value
	# 0 reads back as the default
	[ "$1" = 0 ] || [ "$(flctl -j config show | jq .escalate_pps)" = "$1" ] ||
		{ echo "bench_cores.sh: escalate_pps not set to $1" >&2; return 1; }
}

# gen_round QUEUES: flgen alone, into `flgen sink` on cl0 (counts and
# drops; no flowlensd): what the generator sustains, to tell whether it
# or FlowLens was the limit. Same three columns as round.
gen_round() {
	local cpus=0 sink_pid
	[ "$1" = 1 ] || cpus=0,1
	in_ns flowlens flgen sink -i cl0 -d $((SECS + 2)) -j >"$work/sink.json" 2>"$work/sink.err" &
	sink_pid=$!
	sleep 1
	in_ns client flgen udp -i eth0 --dst 203.0.113.9 -d "$SECS" --cpus "$cpus" \
		-j >"$work/gen.json"
	wait "$sink_pid" || { cat "$work/sink.err" >&2; return 1; }
	jq -r --slurpfile s "$work/sink.json" \
		'"\(($s[0].packets / .seconds) | floor) \(.pps | floor) 0"' "$work/gen.json"
}

# round KIND QUEUES: one flgen run; prints the rate in packets a second,
# flgen's own rate, and (classify) the workers' ring_full a second.
round() {
	local kind=$1 queues=$2 cpus=0 before after rx0 rf0 rx1 rf1
	[ "$queues" = 1 ] || cpus=0,1
	[ "$kind" != gen ] || { gen_round "$queues"; return; }
	case $kind in
	forward) "$LAB" start --mode router --workers 0 >/dev/null ;;
	*) "$LAB" start --mode router --workers "$queues" >/dev/null ;;
	esac
	in_ns client ping -c1 -W2 203.0.113.9 >/dev/null 2>&1 || true
	local args=(--sport 10000-10063)
	case $kind in
	forward) args=() ;;
	classify)
		set_escalate_pps "$ESCALATE_PPS"
		args=(--sport 1-65535 --dport 1-65535 -r $((CLASSIFY_PPS * queues)))
		;;
	esac
	before=$(received)
	rx0=$(workers_rx)
	rf0=$(workers_ring_full)
	in_ns client flgen udp -i eth0 --dst 203.0.113.9 -d "$SECS" --cpus "$cpus" \
		-j "${args[@]}" >"$work/gen.json"
	sleep 0.5
	after=$(received)
	rx1=$(workers_rx)
	rf1=$(workers_ring_full)
	[ "$kind" != classify ] || set_escalate_pps 0
	"$LAB" stop >/dev/null
	jq -r --argjson n $((after - before)) --argjson rx $((rx1 - rx0)) \
		--argjson rf $((rf1 - rf0)) --arg kind "$kind" '
		(if $kind == "classify" then $rx else $n end) as $v |
		"\(($v / .seconds) | floor) \(.pps | floor) \(($rf / .seconds) | floor)"' "$work/gen.json"
}

for kind in gen forward cached classify; do
	: >"$work/$kind.1" && : >"$work/$kind.2"
done
for _ in $(seq 1 "$ROUNDS"); do
	for kind in gen forward cached classify; do
		for queues in 1 2; do
			round "$kind" "$queues" >>"$work/$kind.$queues"
		done
	done
done

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
col() { cut -d' ' -f"$2" "$work/$1" | median; }
mpps() { awk -v v="$1" 'BEGIN { printf "%.3f", v / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
describe() {
	case $1 in
	gen) echo "flgen alone (sink on cl0, nothing routed)" ;;
	forward) echo "forwarding, router mode, --workers 0 (one flow per thread)" ;;
	cached) echo "forwarding, router mode, a worker per queue, 64 flows on cached verdicts" ;;
	classify) echo "classification: every frame a new flow, frames through the workers (nDPI)" ;;
	esac
}
{
	echo "### Scaling with cores"
	echo
	echo "The lab on $(nproc) CPUs, router mode; flgen sends 60-byte UDP frames from CPU 0"
	echo "(1 queue) or CPUs 0 and 1 (2 queues; a worker per queue where workers run) for"
	echo "$SECS s; median of $ROUNDS alternating rounds. Forwarding rows count what the server"
	echo "received; the classification row counts frames the workers received, offered"
	echo "$CLASSIFY_PPS a second per queue (escalation cap raised to $ESCALATE_PPS a second"
	echo "per CPU for it). Generator, router, workers and server share the cores."
	echo
	echo "| workload | 1 queue Mpps | 2 queues Mpps | 2-to-1 | flgen sent Mpps (1 / 2) |"
	echo "| --- | ---: | ---: | ---: | ---: |"
	for kind in gen forward cached classify; do
		one=$(col "$kind.1" 1)
		two=$(col "$kind.2" 1)
		echo "| $(describe $kind) | $(mpps "$one") | $(mpps "$two") | $(ratio "$two" "$one") | $(mpps "$(col "$kind.1" 2)") / $(mpps "$(col "$kind.2" 2)") |"
	done
	echo
	echo "Classification: frames the kernel could not queue to a worker (ring_full), per second, median: $(col classify.1 3) with 1 queue, $(col classify.2 3) with 2."
	echo
	printf '{"bench":"cores","cpus":%d,"rounds":%d,"seconds":%s' "$(nproc)" "$ROUNDS" "$SECS"
	for kind in gen forward cached classify; do
		one=$(col "$kind.1" 1)
		two=$(col "$kind.2" 1)
		printf ',"%s":{"pps_1":%d,"pps_2":%d,"ratio":%s,"sent_pps_1":%d,"sent_pps_2":%d}' \
			"$kind" "$one" "$two" "$(ratio "$two" "$one")" "$(col "$kind.1" 2)" "$(col "$kind.2" 2)"
	done
	printf ',"classify_ring_full_pps_1":%d,"classify_ring_full_pps_2":%d,"escalate_pps":%d,"classify_offered_pps_per_queue":%d}\n' \
		"$(col classify.1 3)" "$(col classify.2 3)" "$ESCALATE_PPS" "$CLASSIFY_PPS"
}
