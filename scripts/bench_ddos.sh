#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# bench_ddos.sh - make bench, the DDoS engine (issue 5). Prints a Markdown
# section on stdout; scripts/bench.sh calls it inside its own lab and
# records the section in BENCHMARKS.md. Run alone (as root) it brings up
# the same private lab (FL_LAB_PREFIX=flb) and takes it down afterwards.
#
#   1. detection-to-mitigation latency: a threshold `udp-pps 20000 hold 2`
#      on 203.0.113.0/24 (routed to the server, dropped there on a
#      blackhole route), FlowLens in router mode; flgen floods 203.0.113.9
#      from 4 client addresses at a constant rate R, BENCH_DDOS_RUNS times
#      at 5x the limit and as many at 2x, each run after the previous
#      attack has ended. What got through before the automatic rules
#      dropped the rest, divided by the rate, is the latency:
#      (sent - dropped by the attack's rules) / R. Cross-checks: the same
#      from what the server received, and the "mitigation" event's time
#      against flgen's start. The issue's bar: under 1 s at 5x; exit
#      status 2 when the slowest run misses it (the section is printed
#      first);
#   2. per-packet cost of accounting and threshold enforcement
#      (prog_cost -D, bpf_prog_test_run): untracked, a protected victim
#      with a threshold, and a packet an automatic rule drops;
#   3. forwarding rate under a spoofed flood (random sources from
#      198.18.0.0/15) against the same flood from one source, in router
#      mode, alternating rounds; and the counter-example, the spoofed
#      flood with 198.18.0.0/15 protected, so every packet's source takes
#      an exact counter (an LRU insert, mostly evicting another).
#
# Environment: BENCH_DDOS_RUNS (latency runs per rate, default 10),
# BENCH_DDOS_LIMIT (the threshold, udp-pps, default 20000),
# BENCH_ROUNDS and BENCH_SECONDS (forwarding rounds and their length,
# defaults 3 and 3), BENCH_PACKETS (prog_cost packets per round, default
# 1000000), BENCH_DDOS_IN_LAB=1 (set by bench.sh: its lab is up and the
# server set up as below; leave it up).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${OUTPUT:-$TOP/build}
RUNS=${BENCH_DDOS_RUNS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
SECONDS_PER_ROUND=${BENCH_SECONDS:-3}
PACKETS=${BENCH_PACKETS:-1000000}

PREFIX=203.0.113.0/24
VICTIM=203.0.113.9
SOURCES=192.0.2.10-192.0.2.13 # 4 of the client's own addresses
NSOURCES=4
LIMIT=${BENCH_DDOS_LIMIT:-20000} # udp-pps; the floods are 5x and 2x it
HOLD=2
FLOOD_SECONDS=2 # per latency run; a run never mitigated shows as 2 s
BAR=1.0         # seconds, the issue's bar for the slowest run at 5x
SPOOFED=198.18.0.0/15

[ "$(id -u)" -eq 0 ] || { echo "bench_ddos.sh: run as root (loads BPF programs, builds namespaces)" >&2; exit 1; }

export FL_LAB_PREFIX=flb FL_LAB_DIR=/run/flowlens-lab-bench OUTPUT="$BUILD"
LAB="$TOP/scripts/lab.sh"
in_ns() { "$LAB" exec "$@"; }
flctl() { "$LAB" exec flowlens flctl "$@"; }
work=$(mktemp -d)
cleanup() {
	"$LAB" stop >/dev/null 2>&1 || true
	[ -n "${BENCH_DDOS_IN_LAB:-}" ] || "$LAB" down >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

# The same lab as bench.sh: the server takes 203.0.113.0/24 without XDP
# on its side and drops it on a blackhole route (IpInReceives counts it).
if [ -z "${BENCH_DDOS_IN_LAB:-}" ]; then
	"$LAB" up >/dev/null
	ip -n "$FL_LAB_PREFIX-server" link set dev eth0 xdp off
	ip netns exec "$FL_LAB_PREFIX-server" ethtool -K eth0 gro on >/dev/null
	ip netns exec "$FL_LAB_PREFIX-server" sysctl -qw net.ipv4.ip_forward=1
	ip -n "$FL_LAB_PREFIX-server" route add blackhole 203.0.113.0/24
	ip -n "$FL_LAB_PREFIX-flowlens" route add 203.0.113.0/24 via 198.51.100.2
fi
server_received() {
	ip netns exec "$FL_LAB_PREFIX-server" nstat -az IpInReceives | awk '$1 == "IpInReceives" { print $2 }'
}

# Over the numbers on stdin ("-", a run without the value, is left out).
median() { awk '$1 ~ /^[0-9.e+-]+$/ && $1 != "-"' | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
max() { awk '$1 ~ /^[0-9.e+-]+$/ && $1 != "-"' | sort -g | tail -1; }
ms() { awk -v v="$1" 'BEGIN { if (v == "" || v == "-") print "-"; else printf "%.0f", v * 1000 }'; }

# A clean daemon: no thresholds, attacks or events from an earlier step.
EVENTS="$work/ddos-events.jsonl"
: >"$EVENTS"
rm -f "$FL_LAB_DIR/state.json" "$FL_LAB_DIR/ddos-events.jsonl"
"$LAB" start --mode router --events "$EVENTS" >/dev/null
flctl ddos threshold add "$PREFIX" udp-pps "$LIMIT" hold "$HOLD" >/dev/null

# The newest attack on VICTIM as JSON, or null.
attack_json() {
	flctl -j ddos attacks --all |
		jq -c --arg v "$VICTIM" '[.attacks[] | select(.victim == $v)] | max_by(.id)'
}

# Packets the rules of attack $1 dropped, from the live rule counters.
rules_dropped() {
	flctl -j rule list | jq --argjson id "$1" '[.rules[] | select(.attack == $id) | .dropped] | add // 0'
}

# wait_ended ID: until attack ID has ended (hold + the 1 s window), and
# no attack at all is active, so the next run starts from quiet.
wait_ended() {
	local i
	for i in $(seq 1 300); do
		if [ "$(flctl -j ddos attacks | jq '.attacks | length')" = 0 ]; then
			return 0
		fi
		sleep 0.1
	done
	echo "bench_ddos.sh: attack $1 still active 30 s after its flood ended (hold $HOLD s)" >&2
	flctl -j ddos attacks >&2
	return 1
}

# latency_run RATE: one flood; appends to $work/lat-RATE:
# pps sent dropped passed_at_server latency latency_server
# latency_events engine_s attack signature rules
latency_run() {
	local rate=$1 before after t_exit last id attack dropped try sent
	for try in 1 2 3; do
		last=$(attack_json | jq '.id // 0')
		before=$(server_received)
		in_ns client flgen udp -i eth0 --dst "$VICTIM" --src "$SOURCES" \
			-r "$rate" -d "$FLOOD_SECONDS" --cpus 0 -j >"$work/gen.json"
		t_exit=$(date +%s.%N)
		sleep 0.3 # the last frames through cl0's XDP and the server
		attack=$(attack_json)
		id=$(jq -r '.id // 0' <<<"$attack")
		sent=$(jq '.pps | floor' "$work/gen.json")
		# A busy machine can hold flgen well below its rate; the
		# latency is only meaningful at the rate asked for.
		if [ "$sent" -ge $((rate * 9 / 10)) ]; then
			break
		fi
		echo "bench_ddos.sh: flgen sent $sent pps of the $rate asked for (a busy machine?); run again" >&2
		[ "$id" -le "$last" ] || wait_ended "$id"
		[ "$try" -lt 3 ] || {
			echo "bench_ddos.sh: flgen could not keep $rate pps three times running: no latency measured" >&2
			unmeasured="flgen could not keep $rate pps (it sent $sent pps, three times running): the machine was too busy"
			return 0
		}
	done
	if [ "$id" -le "$last" ]; then
		echo "bench_ddos.sh: a $rate pps flood against $VICTIM (limit udp-pps $LIMIT) started no attack" >&2
		flctl -j ddos status >&2
		exit 1
	fi
	dropped=$(rules_dropped "$id")
	after=$(server_received)
	wait_ended "$id"
	attack=$(attack_json)
	# A rule the engine removed before we read it: its count is the
	# attack's own sum, kept in the history.
	dropped=$(jq -r --argjson d "$dropped" '[$d, .dropped] | max' <<<"$attack")
	jq -r --argjson dropped "$dropped" --argjson server $((after - before)) \
		--argjson t_exit "$t_exit" --argjson attack "$attack" \
		--slurpfile events "$EVENTS" '
		(.packets / .seconds) as $pps
		| ($t_exit - .seconds) as $t_start
		| ([$events[] | select(.attack.id == $attack.id and .event == "mitigation") | .time] | min) as $mit
		| [($pps | floor), .packets, $dropped, $server,
		   ((.packets - $dropped) / $pps), ($server / $pps),
		   (if $mit then $mit - $t_start else "-" end),
		   (if $attack.mitigated then $attack.mitigated - $attack.started else "-" end),
		   $attack.id, $attack.signature, ($attack.rules | length)]
		| map(tostring) | join(" ")' "$work/gen.json" >>"$work/lat-$rate"
}

# 1. Latency, 5x and 2x the limit, interleaved so drift hits both alike.
FAST=$((LIMIT * 5))
SLOW=$((LIMIT * 2))
: >"$work/lat-$FAST" && : >"$work/lat-$SLOW"
unmeasured=
for _ in $(seq 1 "$RUNS"); do
	latency_run "$FAST"
	[ -z "$unmeasured" ] || break
	latency_run "$SLOW"
	[ -z "$unmeasured" ] || break
done

# 3. Spoofed against single-source forwarding. The victim keeps a
# threshold it never reaches, so every packet pays for the engine's
# accounting and sampling but none is dropped.
flctl ddos threshold add "$PREFIX" udp-pps 1000000000 hold "$HOLD" >/dev/null
round() {
	local before after
	before=$(server_received)
	in_ns client flgen udp -i eth0 --dst "$VICTIM" --src "$1" \
		--sport 1024-65535 -d "$SECONDS_PER_ROUND" --cpus 0 -j >"$work/gen.json"
	sleep 0.5
	after=$(server_received)
	jq -r --argjson n $((after - before)) '"\(.pps | floor) \(($n / .seconds) | floor)"' "$work/gen.json"
}
: >"$work/single" && : >"$work/spoofed" && : >"$work/lru"
for _ in $(seq 1 "$ROUNDS"); do
	round 192.0.2.10 >>"$work/single"
	round "$SPOOFED" >>"$work/spoofed"
	flctl protect add "$SPOOFED" >/dev/null
	round "$SPOOFED" >>"$work/lru"
	flctl protect del "$SPOOFED" >/dev/null
done
[ "$(flctl -j ddos status | jq '.active')" = 0 ] || {
	echo "bench_ddos.sh: the forwarding rounds started an attack (limit udp-pps 1000000000)" >&2
	exit 1
}
for path in single spoofed lru; do
	awk -v p=$path '$2 < 0.99 * $1 { print "bench_ddos.sh: " p " forwarding lost packets: sent " $1 " pps, delivered " $2 " pps" > "/dev/stderr"; bad = 1 } END { exit bad }' "$work/$path" || exit 1
done
"$LAB" stop

# 2. Per-packet cost; private maps, so the daemon's state does not matter.
in_ns flowlens "$BUILD/prog_cost" -b "$BUILD/progs" -D -r 9 -n "$PACKETS" -m \
	>"$work/cost.md"

# The report.
stats() { # FILE COLUMN -> "median max" ("-" for none)
	local m x
	m=$(cut -d' ' -f"$2" "$1" | median)
	x=$(cut -d' ' -f"$2" "$1" | max)
	echo "${m:--} ${x:--}"
}
mpps() { awk -v v="$1" 'BEGIN { printf "%.2f", v / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
latency_row() { # RATE LABEL
	local f="$work/lat-$1" lat server events engine
	read -r -a lat <<<"$(stats "$f" 5)"
	read -r -a server <<<"$(stats "$f" 6)"
	read -r -a events <<<"$(stats "$f" 7)"
	read -r -a engine <<<"$(stats "$f" 8)"
	echo "| $2 | $(cut -d' ' -f1 "$f" | median) | $(wc -l <"$f") | $(ms "${lat[0]}") | $(ms "${lat[1]}") | $(ms "${server[0]}") | $(ms "${server[1]}") | $(ms "${events[0]}") | $(ms "${events[1]}") | $(ms "${engine[0]}") | $(sort -u -k10,11 "$f" | awk '{ printf "%s%s (%s rules)", (NR > 1 ? ", " : ""), $10, $11 }') |"
}
runs_list() { # RATE
	awk '{ printf "%s%.0f", (NR > 1 ? ", " : ""), $5 * 1000 }' "$work/lat-$1"
}
worst=$(cut -d' ' -f5 "$work/lat-$FAST" | max)
latency_table() {
	if [ -n "$unmeasured" ]; then
		echo "**Not measured**: $unmeasured. flgen paces its flood in 1 ms chunks, one"
		echo "BPF_PROG_RUN call each; when a call takes longer than that, the rate falls"
		echo "behind and the latency would be measured at a flood far below 5x the limit."
		[ -s "$work/lat-$FAST" ] || return 0
		echo "The runs completed before it (not the bar):"
		echo
	fi
	echo "| flood | pps sent | runs | latency median ms | max ms | server median ms | max ms | event median ms | max ms | engine median ms | signature |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
	latency_row "$FAST" "5x limit"
	[ ! -s "$work/lat-$SLOW" ] || latency_row "$SLOW" "2x limit"
	echo
	echo "Every run, ms: 5x $(runs_list "$FAST"); 2x $(runs_list "$SLOW")."
}
single_pps=$(cut -d' ' -f2 "$work/single" | median)
spoofed_pps=$(cut -d' ' -f2 "$work/spoofed" | median)
lru_pps=$(cut -d' ' -f2 "$work/lru" | median)

cat <<EOF
### The DDoS engine

#### Detection to mitigation

FlowLens in router mode; threshold \`$PREFIX udp-pps $LIMIT hold $HOLD\` (the
prefix is routed to the server and dropped there). flgen floods $VICTIM with
60-byte UDP frames from $NSOURCES client addresses ($SOURCES, random per
packet) at a constant rate for $FLOOD_SECONDS s, $RUNS times at 5x and $RUNS times at 2x the
limit, interleaved; each run starts after the previous attack has ended.
Latency = (packets sent - packets the attack's rules dropped) / rate: how
long the flood went through before the automatic rules stopped it. "server"
is the same from what the server received instead of the rules' counters;
"event" is the "mitigation" event's time minus flgen's start, taken as its
exit time less the seconds it reports sending: late by flgen's teardown, so a
lower bound (on a busy machine it can even come out negative); "engine" is the attack's own
mitigated - started. The issue's bar: the slowest run at 5x under ${BAR%.0} s.
(At 2x the 1-second window itself needs half a second of flood to exceed the
limit, so that set shows the floor, not the bar.)

$(latency_table)

#### Per-packet cost of accounting and thresholds (bpf_prog_test_run)

build/prog_cost -D: four copies of flowlens (host mode, private maps) and
XDP_PASS in 9 alternating rounds of $PACKETS packets, medians. The same IPv4 UDP
packet, 64 B payload, its source never a heavy hitter, goes to a destination
that is: untracked (no exact counters, the sketch only); a protected victim
with a threshold (exact per-protocol counters, and sampling for the
signatures at 1 in 64; flowlensd aims at 8192 samples a second, so 1 in 64
is what a 0.5 Mpps flood to protected hosts gets); the same with every
packet a sampling candidate (rate 1: the start of a flood, before flowlensd
adapts the rate; the per-CPU budget of 1024 samples per 67 ms caps it);
and the victim's packet an automatic rule drops (\`src S/32 dst V/32 proto
udp action drop\`, order 900). The last column is what was actually sampled:
the budget holds it below the rate when test runs go faster than it allows.

$(cat "$work/cost.md")

#### Forwarding rate under a spoofed flood

Router mode, $VICTIM protected with a threshold it never reaches (so every
packet pays for the engine's accounting). flgen sends 60-byte UDP frames as
fast as one thread on CPU 0 can, random source ports, from one source
(192.0.2.10) or from random sources in $SPOOFED (131,072 addresses,
twice the 65,536 exact-counter entries); the server counts what arrives.
Median of $ROUNDS alternating rounds of ${SECONDS_PER_ROUND} s. The last row is the
counter-example: the same spoofed flood with $SPOOFED protected, so
every source gets an exact counter, an LRU insert (mostly evicting another)
per packet, the cost a per-IP hash would pay.

| flood | flgen sent Mpps | delivered Mpps | vs one source |
| --- | ---: | ---: | ---: |
| one source | $(mpps "$(cut -d' ' -f1 "$work/single" | median)") | $(mpps "$single_pps") | 1.00 |
| spoofed, random sources | $(mpps "$(cut -d' ' -f1 "$work/spoofed" | median)") | $(mpps "$spoofed_pps") | $(ratio "$spoofed_pps" "$single_pps") |
| spoofed, every source protected (LRU insert per packet) | $(mpps "$(cut -d' ' -f1 "$work/lru" | median)") | $(mpps "$lru_pps") | $(ratio "$lru_pps" "$single_pps") |
EOF

if [ -n "$unmeasured" ]; then
	echo "bench_ddos.sh: detection to mitigation not measured ($unmeasured), so the issue's bar is not shown to be met" >&2
	exit 2
fi
if awk -v w="$worst" -v b="$BAR" 'BEGIN { exit !(w >= b) }'; then
	echo "bench_ddos.sh: detection to mitigation missed the issue's bar: the slowest of $RUNS runs at 5x the limit took $(ms "$worst") ms (bar: under $(ms "$BAR") ms)" >&2
	exit 2
fi
