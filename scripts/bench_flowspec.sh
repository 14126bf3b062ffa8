#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# bench_flowspec.sh - BGP FlowSpec timings (issue 18). Runs in namespaces
# of its own (`lab.sh isolate`): the lab, flowlensd, and the peers of
# scripts/bgp_peers.sh (a gobgpd controller, FRR's bgpd as PE).
#
#   receive   the controller announces a discard route for a port the
#             client is flooding (flgen, 50,000 packets/s): from the
#             moment `gobgp ... add` returns to the first packet the rule
#             drops (flctl polled every 10 ms), BENCH_FS_ROUNDS times
#   announce  a flood crosses a DDoS threshold: from the moment the DDoS
#             engine's rule is there to the moment FRR lists the route
#             (both polled every 10 ms), BENCH_FS_ROUNDS times (each waits
#             for the attack to end)
#   scale     BENCH_FS_ROUTES (10,000) routes: the controller holds them
#             while its session to flowlensd is disabled; from `gobgp
#             neighbor ... enable` to every route's rule installed, and
#             from `disable` (the session goes, so do its routes) to none
#
# Prints a Markdown table and one JSON line. Timings include polling
# (10 ms) and the gobgp and vtysh processes: upper bounds. Needs root,
# `make all`, gobgpd and FRR (make deps).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${OUTPUT:-$TOP/build}
LAB="$TOP/scripts/lab.sh"
ROUNDS=${BENCH_FS_ROUNDS:-5}
ROUTES=${BENCH_FS_ROUTES:-10000}
SERVER=198.51.100.2

[ "$(id -u)" -eq 0 ] || { echo "bench_flowspec.sh: run as root" >&2; exit 1; }
command -v gobgpd >/dev/null && [ -x /usr/lib/frr/bgpd ] ||
	{ echo "bench_flowspec.sh: gobgpd or FRR missing (make deps)" >&2; exit 1; }
if [ "${FL_LAB_ISOLATED:-}" != "$(readlink /proc/self/ns/net)" ]; then
	export OUTPUT="$BUILD"
	exec "$LAB" isolate /bin/bash "$0" "$@"
fi
trap 'exit 143' TERM
trap 'exit 130' INT

export OUTPUT="$BUILD"
LAB_DIR=${FL_LAB_DIR:-/run/flowlens-lab}
P=${FL_LAB_PREFIX:-fl}
NS_FLOWLENS=$P-flowlens
BGP_WORK=$LAB_DIR/flowspec
source "$TOP/scripts/bgp_peers.sh"
flctl() { "$LAB" exec flowlens flctl "$@"; }
FLOOD=
cleanup() {
	[ -z "$FLOOD" ] || kill "$FLOOD" 2>/dev/null || true
	for pid in "${BGP_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	"$LAB" stop >/dev/null 2>&1 || true
	"$LAB" down >/dev/null 2>&1 || true
}
trap cleanup EXIT

now() { date +%s.%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
until_true() { # SECONDS CMD...: polls every 10 ms
	local end
	end=$(awk -v t="$(now)" -v s="$1" 'BEGIN { printf "%.3f", t + s }')
	shift
	while ! "$@"; do
		awk -v t="$(now)" -v e="$end" 'BEGIN { exit !(t > e) }' && return 1
		sleep 0.01
	done
}

"$LAB" up >/dev/null
"$LAB" start --workers 0 >/dev/null
bgp_ctl_start
bgp_pe_start
flctl bgp neighbor add $BGP_CTL as $BGP_CTL_AS local-as $BGP_FL_AS router-id $BGP_FL_CTL hold 3 \
	max $((ROUTES + 100)) >/dev/null
flctl bgp neighbor add $BGP_PE as $BGP_PE_AS hold 3 >/dev/null
established() {
	[ "$(flctl -j bgp status | jq '[.neighbors[] | select(.state == "established")] | length')" = 2 ]
}
until_true 60 established || { echo "bench_flowspec.sh: sessions did not come up" >&2; exit 1; }
bgp_ctl global rib -a ipv4 add 198.51.100.0/24
bgp_ctl global rib -a ipv4 add 198.18.0.0/15

# 1. receive: route announced -> first packet dropped
dropped() {
	[ "$(flctl -j rule list --origin flowspec | jq '[.rules[].dropped] | add // 0')" -gt 0 ]
}
"$LAB" exec client flgen udp -i eth0 --dst $SERVER --dport 7001 -r 50000 -d 3600 >/dev/null 2>&1 </dev/null &
FLOOD=$!
sleep 1
rx=()
for r in $(seq "$ROUNDS"); do
	bgp_ctl global rib -a ipv4-flowspec add match destination $SERVER/32 protocol udp destination-port ==7001 then discard
	t0=$(now)
	until_true 10 dropped || { echo "bench_flowspec.sh: the route dropped nothing" >&2; exit 1; }
	rx+=("$(ms "$t0" "$(now)")")
	bgp_ctl global rib -a ipv4-flowspec del match destination $SERVER/32 protocol udp destination-port ==7001
	until_true 10 sh -c "[ \"\$('$LAB' exec flowlens flctl -j rule list --origin flowspec | jq '.rules | length')\" = 0 ]"
done
kill "$FLOOD"
wait "$FLOOD" 2>/dev/null || true
FLOOD=

# 2. announce: DDoS rule -> route at FRR
flctl flowspec announce on >/dev/null
flctl ddos threshold add $SERVER/32 udp-pps 1k hold 2 >/dev/null
ddos_rule() { [ "$(flctl -j rule list --origin ddos | jq '.rules | length')" -gt 0 ]; }
at_pe() { bgp_pe 'show bgp ipv4 flowspec json' | grep -q '"from":"192.0.2.10/32"'; }
gone_pe() { ! at_pe; }
tx=()
for r in $(seq "$ROUNDS"); do
	"$LAB" exec client flgen udp -i eth0 --src 192.0.2.10 --dst $SERVER --dport 9000 -r 20000 -d 3600 \
		>/dev/null 2>&1 </dev/null &
	FLOOD=$!
	until_true 20 ddos_rule || { echo "bench_flowspec.sh: no attack" >&2; exit 1; }
	t0=$(now)
	until_true 20 at_pe || { echo "bench_flowspec.sh: the route never reached FRR" >&2; exit 1; }
	tx+=("$(ms "$t0" "$(now)")")
	kill "$FLOOD"
	wait "$FLOOD" 2>/dev/null || true
	FLOOD=
	until_true 30 gone_pe
done
flctl ddos threshold del $SERVER/32 >/dev/null
flctl flowspec announce off >/dev/null

# 3. scale: ROUTES routes at once, in and out
bgp_ctl neighbor $BGP_FL_CTL disable
until_true 20 sh -c "[ \"\$('$LAB' exec flowlens flctl -j bgp status | jq -r '.neighbors[] | select(.address == \"$BGP_CTL\") | .state')\" != established ]"
seq 0 $((ROUTES - 1)) | awk '{ printf "198.18.%d.%d %d\n", int($1 / 256), $1 % 256, 1000 + $1 % 50 }' |
	xargs -P "$(nproc)" -n 2 sh -c 'gobgp --target "unix://'"$BGP_WORK"'/ctl.sock" global rib -a ipv4-flowspec add match destination "$0/32" protocol udp destination-port "==$1" then discard'
rules() { flctl -j bgp status | jq '.neighbors[] | select(.address == "'$BGP_CTL'") | .routes_installed'; }
installed_all() { [ "$(rules)" = "$ROUTES" ]; }
installed_none() { [ "$(rules)" = 0 ]; }
bgp_ctl neighbor $BGP_FL_CTL enable
t0=$(now)
until_true 600 installed_all || { echo "bench_flowspec.sh: $(rules) of $ROUTES routes installed" >&2; exit 1; }
t_in=$(ms "$t0" "$(now)")
bgp_ctl neighbor $BGP_FL_CTL disable
t0=$(now)
until_true 600 installed_none || { echo "bench_flowspec.sh: $(rules) routes left" >&2; exit 1; }
t_out=$(ms "$t0" "$(now)")

rx_med=$(printf '%s\n' "${rx[@]}" | median)
tx_med=$(printf '%s\n' "${tx[@]}" | median)
echo "| measure | median | rounds (ms) |"
echo "| --- | ---: | --- |"
echo "| receive: route announced by the controller -> first packet dropped | ${rx_med} ms | ${rx[*]} |"
echo "| announce: DDoS rule installed -> route listed by FRR | ${tx_med} ms | ${tx[*]} |"
echo "| $ROUTES routes: session up -> all installed | ${t_in} ms | $(awk -v n="$ROUTES" -v t="$t_in" 'BEGIN { printf "%.0f routes/s", n / (t / 1000) }') |"
echo "| $ROUTES routes: session down -> all removed | ${t_out} ms | $(awk -v n="$ROUTES" -v t="$t_out" 'BEGIN { printf "%.0f routes/s", n / (t / 1000) }') |"
echo
printf '{"receive_ms": %s, "announce_ms": %s, "routes": %s, "install_ms": %s, "withdraw_ms": %s}\n' \
	"$rx_med" "$tx_med" "$ROUTES" "$t_in" "$t_out"
