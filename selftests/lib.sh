#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# lib.sh - sourced by every selftests/test_<group>.sh.
#
# A script defines test_<name> functions and ends with `run_tests`. Each
# test runs in a subshell with `set -e`, its output kept in a log that is
# printed only if it fails; it reports `[e2e/<group>.<name>] PASS|FAIL|SKIP`.
# An optional `cleanup` function runs after each test, pass or fail.
# A script that sets LAB_START_ARGS (an array, e.g. (--mode router)) before
# sourcing this file gets its daemon started, and restarted, with them.
# The lab comes up before the first test and goes down when the script
# exits, however it exits.
#
# Every script runs in a lab of its own: sourcing this file re-executes
# the script with `lab.sh isolate`, in new network, mount and PID
# namespaces (as xdp-tools' test_runner.sh does) where /run is a private
# tmpfs (so `ip netns add` names, the lab directory and its bpffs are the
# script's alone) and /sys/fs/bpf a fresh bpffs. Two scripts, or two
# checkouts, can run at once; nothing they create is seen by the other
# or by the host, and when the script exits the kernel ends whatever it
# left running and frees its namespaces.
#
# A script that sets NO_LAB=1 before sourcing this file runs as it is,
# with no namespaces, no lab and no daemon (tests of flctl's and
# flowlensd's command lines): flctl then points at a socket nobody
# listens on, and in_ns is refused.
set -u

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB="$TOP/scripts/lab.sh"
GROUP=$(basename "$0" .sh)
GROUP=${GROUP#test_}
export OUTPUT=${OUTPUT:-$TOP/build}
SKIP=77
[ -n "${LAB_START_ARGS+set}" ] || LAB_START_ARGS=()
NO_LAB=${NO_LAB:-0}

if [ "$NO_LAB" = 1 ]; then
	NOLAB_DIR=$(mktemp -d /tmp/fl-nolab.XXXXXX)
	trap 'rm -rf "$NOLAB_DIR"' EXIT
	export PATH="$OUTPUT:$PATH" FLOWLENS_SOCKET="$NOLAB_DIR/flowlensd.sock" \
		FLOWLENS_STATE_FILE="$NOLAB_DIR/state.json"
	LAB_DIR=$NOLAB_DIR
elif [ "${FL_LAB_ISOLATED:-}" != "$(readlink /proc/self/ns/net)" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "$0: the lab needs root (namespaces, bpffs, XDP)" >&2
		exit 1
	fi
	exec "$LAB" isolate /bin/bash "$0" "$@"
else
	# bash is PID 1 here: without handlers it would ignore SIGTERM/SIGINT.
	trap 'exit 143' TERM
	trap 'exit 130' INT
fi
[ "$NO_LAB" = 1 ] || LAB_DIR=${FL_LAB_DIR:-/run/flowlens-lab}
NS_FLOWLENS=${FL_LAB_PREFIX:-fl}-flowlens

SERVER4=198.51.100.2
SERVER6=2001:db8:2::2
CLIENT4=192.0.2.2
CLIENT6=2001:db8:1::2

if [ "$NO_LAB" = 1 ]; then
	lab() { fail "lab $*: $GROUP runs without a lab (NO_LAB=1)"; }
	in_ns() { fail "in_ns $*: $GROUP runs without a lab (NO_LAB=1)"; }
	flctl() { command flctl "$@"; }
else
	lab() { "$LAB" "$@"; }
	in_ns() { "$LAB" exec "$@"; }
	flctl() { "$LAB" exec flowlens flctl "$@"; }
fi

fail() {
	echo "FAIL: $*" >&2
	return 1
}

skip() {
	echo "SKIP: $*"
	exit $SKIP
}

assert_eq() {
	[ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
}

assert_ge() {
	[ "$1" -ge "$2" ] || fail "$3: expected >= $2, got $1"
}

assert_match() {
	printf '%s\n' "$1" | grep -qE -- "$2" || fail "$3: '$2' not found in: $1"
}

# json_check JSON JQ_FILTER WHAT: the filter must hold (jq -e) for JSON.
# voip_attack_of ADDR KIND: the last VoIP attack (active or ended) on or
# from ADDR about KIND (a SIP method, rtp or unsolicited), as JSON; null
voip_attack_of() {
	flctl -j ddos attacks --all | jq -c --arg v "$1" --arg m "$2" \
		'[.attacks[] | select(.sip_method == $m and .victim == $v)] | last'
}

# voip_reset: every VoIP threshold and carrier deleted, and the VoIP
# attacks waited out (their hold; 15 s at most)
voip_reset() {
	local p
	for p in $(flctl -j voip threshold list 2>/dev/null | jq -r '.thresholds[].prefix' | sort -u); do
		flctl voip threshold del "$p" >/dev/null || true
	done
	for p in $(flctl -j voip carrier list 2>/dev/null | jq -r '.carriers[].prefix'); do
		flctl voip carrier del "$p" >/dev/null || true
	done
	wait_until 15 voip_attacks_none || true
}

voip_attacks_none() { [ "$(flctl -j voip status | jq '.attacks | length')" = 0 ]; }

# attack_rules ID: the text of each rule attack ID installed
attack_rules() {
	flctl -j rule list | jq -r --argjson id "$1" '.rules[] | select(.attack == $id) | .rule'
}

json_check() {
	printf '%s\n' "$1" | jq -e "$2" >/dev/null ||
		fail "$3: '$2' does not hold for: $1"
}

# Runs "$@" and expects it to fail with a message matching $1 on stderr
# (or in the {"error": ...} JSON on stdout).
assert_fails_with() {
	local pattern=$1 out rc
	shift
	set +e
	out=$("$@" 2>&1)
	rc=$?
	set -e
	[ $rc -ne 0 ] || fail "'$*' succeeded but should have failed"
	printf '%s\n' "$out" | grep -qE -- "$pattern" ||
		fail "'$*' failed without saying '$pattern': $out"
	echo "ok: '$*' -> $out"
}

# assert_json_error PATTERN ARGS...: `flctl -j ARGS` must exit non-zero,
# print nothing on stderr and exactly one {"error": ...} on stdout whose
# message matches PATTERN.
assert_json_error() {
	local pattern=$1 out err rc=0
	shift
	err=$(mktemp)
	out=$(flctl -j "$@" 2>"$err") || rc=$?
	[ $rc -ne 0 ] || fail "'flctl -j $*' succeeded but should have failed"
	[ ! -s "$err" ] || fail "'flctl -j $*' wrote to stderr: $(cat "$err")"
	rm -f "$err"
	json_check "$out" '(keys == ["error"]) and (.error | type == "string")' \
		"'flctl -j $*' error object"
	assert_match "$(printf '%s\n' "$out" | jq -r .error)" "$pattern" \
		"'flctl -j $*' error message"
	echo "ok: 'flctl -j $*' -> $out"
}

# wait_until SECONDS CMD... : polls CMD every 0.1 s. A deadline to stop
# waiting, never a measurement: tests assert on counts, not on time.
# Arguments are expanded once; for a condition that must be re-evaluated
# each time (one with $(...) in it) use wait_for.
wait_until() {
	local deadline=$(($1 * 10))
	shift
	while [ $deadline -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		deadline=$((deadline - 1))
	done
	"$@" || fail "gave up waiting for: $*"
}

# wait_for SECONDS 'EXPR' : like wait_until, but EXPR is a shell expression
# evaluated afresh each time, e.g. wait_for 10 '[ "$(top_first src)" = "$A" ]'
wait_for() {
	local deadline=$(($1 * 10))
	while [ $deadline -gt 0 ]; do
		eval "$2" >/dev/null 2>&1 && return 0
		sleep 0.1
		deadline=$((deadline - 1))
	done
	eval "$2" || fail "gave up waiting for: $2"
}

# The SYN proxy's counters for each service (flctl synproxy stats).
SP_COUNTERS="syns_seen synacks_sent cookies_valid cookies_invalid passed_established bad_checksum passed_to_kernel"

# ctl_request JSON: one request straight to flowlensd's socket, the reply
# on stdout (what a client other than flctl sees).
ctl_request() {
	in_ns flowlens python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(os.environ["FLOWLENS_SOCKET"])
s.sendall(sys.argv[1].encode() + b"\n")
print(s.makefile().readline().strip())
' "$1"
}

# A counter from `flctl -j show stats IFACE`, as a jq path.
if_counter() {
	flctl -j show stats "$1" | jq -r ".interfaces[0]$2"
}

# Exact per-IP counters, read live: ip_counter ADDR SIDE FIELD
# (src|dst, packets|bytes|syns; 0 while the address is not tracked).
ip_counter() {
	flctl -j show ip "$1" | jq -r ".$2.$3"
}

TRAFFIC="$TOP/scripts/traffic.py"

# udp_send NS ADDR PORT COUNT SIZE [SRC]: exactly COUNT datagrams.
udp_send() {
	local src=()
	[ -z "${6:-}" ] || src=(--src "$6")
	in_ns "$1" "$TRAFFIC" udp "$2" "$3" --count "$4" --size "$5" "${src[@]}" >/dev/null
}

# The client's traffic generator.
flgen() { in_ns client flgen "$@"; }

# flood_bg FILE ARGS...: flgen in the background, its JSON report in FILE,
# its pid in FLOOD_PID. (Not through in_ns, a function: $! must be flgen
# itself, so that bg_kill ends it if the test fails.)
FLOOD_PID=
flood_bg() {
	local out=$1
	shift
	"$LAB" exec client flgen "$@" -j >"$out" 2>>"$BG_LOG" </dev/null &
	FLOOD_PID=$!
	echo "$FLOOD_PID" >>"$BG_PIDS"
}

# flood_wait PID: flgen must end well.
flood_wait() {
	wait "$1" || fail "flgen (pid $1) exited with status $?"
}

# flood_stop PID: SIGINT, then flgen reports what it sent and exits.
flood_stop() {
	kill -INT "$1"
	flood_wait "$1"
}

# The server's IPv6 datagrams to closed ports (Udp NoPorts for IPv4 is
# server_snmp Udp NoPorts).
udp6_noports() {
	in_ns server awk '$1 == "Udp6NoPorts" { print $2 }' /proc/net/snmp6
}

# tcp_transfer SERVER [BYTES]: BYTES (default 1 MB) of random data from
# the client to SERVER (port 5001) over TCP, checked byte for byte.
tcp_transfer() {
	local server=$1 bytes=${2:-1000000} dir
	dir=$(mktemp -d)
	head -c "$bytes" /dev/urandom >"$dir/sent"
	bg server sh -c "nc -l $server 5001 > $dir/received"
	wait_until 5 in_ns server sh -c "ss -ltn | grep -q ':5001 '"
	in_ns client nc -N "$server" 5001 <"$dir/sent"
	wait_until 5 cmp -s "$dir/sent" "$dir/received"
	cmp "$dir/sent" "$dir/received" || fail "TCP payload to $server differs"
	rm -rf "$dir"
	echo "ok: $bytes bytes over TCP to $server"
}

# server_snmp TABLE FIELD: a counter from the server's /proc/net/snmp.
server_snmp() {
	in_ns server cat /proc/net/snmp | awk -v t="$1:" -v f="$2" '
		$1 == t && !seen { for (i = 2; i <= NF; i++) col[$i] = i; seen = 1; next }
		$1 == t { print $col[f] }'
}

# delivered_exactly N WHAT CMD...: CMD sends N datagrams to the server's
# closed port 9; the server must count exactly N port unreachables.
delivered_exactly() {
	local n=$1 what=$2 noports
	shift 2
	noports=$(server_snmp Udp NoPorts)
	"$@" >/dev/null
	wait_for 5 '[ "$(server_snmp Udp NoPorts)" -ge $((noports + n)) ]'
	assert_eq "$(server_snmp Udp NoPorts)" $((noports + n)) "$what"
}

# bg NS CMD... : runs CMD in namespace NS in the background; its output
# goes to the test's log (shown if the test fails), and whatever is still
# running is killed when the test ends. (lab.sh exec exec()s all the way
# down, so $! is CMD itself.)
bg() {
	"$LAB" exec "$@" </dev/null >>"$BG_LOG" 2>&1 &
	echo $! >>"$BG_PIDS"
	echo "bg: pid $! in $1: ${*:2}" >>"$BG_LOG"
}

bg_kill() {
	local pid
	[ -s "$BG_PIDS" ] || return 0
	for pid in $(cat "$BG_PIDS"); do
		kill -TERM "$pid" 2>/dev/null || true
	done
	# They were started by the test's subshell, so poll rather than wait.
	for pid in $(cat "$BG_PIDS"); do
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	done
	: >"$BG_PIDS"
}

daemon_alive() {
	[ -f "$LAB_DIR/flowlensd.pid" ] && kill -0 "$(cat "$LAB_DIR/flowlensd.pid")" 2>/dev/null
}

# After every test: the script's own `cleanup` if it has one, then a
# running daemon again, so one failure does not cascade into the next test.
after_test() {
	bg_kill
	if declare -F cleanup >/dev/null; then
		cleanup || true
	fi
	[ "$NO_LAB" = 1 ] || daemon_alive || lab start "${LAB_START_ARGS[@]}"
}

lab_setup() {
	[ "$NO_LAB" = 1 ] && return 0
	lab up >/dev/null
	lab start "${LAB_START_ARGS[@]}"
}

lab_teardown() {
	if [ "$NO_LAB" = 1 ]; then
		rm -rf "$NOLAB_DIR"
		return 0
	fi
	lab down >/dev/null 2>&1 || true
}

run_tests() {
	local name rc result log
	BG_PIDS=$(mktemp)
	BG_LOG=$(mktemp)
	trap 'bg_kill; rm -f "$BG_PIDS" "$BG_LOG"; lab_teardown' EXIT
	log=$(mktemp)
	if ! lab_setup >"$log" 2>&1; then
		sed 's/^/  /' "$log"
		echo "[e2e/$GROUP.setup] FAIL"
		exit 1
	fi
	rm -f "$log"
	for name in $(declare -F | awk '{print $3}' | grep '^test_' | sed 's/^test_//'); do
		log=$(mktemp)
		(
			set -e
			"test_$name"
		) >"$log" 2>&1
		rc=$?
		after_test >>"$log" 2>&1
		if [ -s "$BG_LOG" ]; then
			sed 's/^/background: /' "$BG_LOG" >>"$log"
			: >"$BG_LOG"
		fi
		case $rc in
		0) result=PASS ;;
		"$SKIP") result=SKIP ;;
		*) result=FAIL ;;
		esac
		if [ $result != PASS ]; then
			sed 's/^/  /' "$log"
		fi
		[ $result = FAIL ] && [ -f "$LAB_DIR/flowlensd.log" ] &&
			tail -n 20 "$LAB_DIR/flowlensd.log" | sed 's/^/  flowlensd: /'
		echo "[e2e/$GROUP.$name] $result"
		rm -f "$log"
	done
}

# --- Real TCP clients and servers, kernel counters (test_synproxy.sh) ---

TCPCHECK="$TOP/scripts/tcpcheck.py"

# echo_server NS ADDR PORT [BACKLOG]: scripts/tcpcheck.py's echo server
# in NS, in the background (killed when the test ends), listen() backlog
# BACKLOG (default 128); returns once it listens.
echo_server() {
	bg "$1" "$TCPCHECK" serve "$2" "$3" --backlog "${4:-128}"
	wait_until 5 in_ns "$1" sh -c "ss -Hltn '( sport = :$3 )' | grep -q ."
}

# tcp_connects NS ADDR PORT N [TCPCHECK_ARGS...]: N connections in a row
# from NS, each echoing 64 KB of random data byte for byte; prints
# tcpcheck's JSON report and fails unless every one came back intact (it
# stops at the first that did not).
tcp_connects() {
	local ns=$1 addr=$2 port=$3 n=$4 out
	shift 4
	out=$(in_ns "$ns" "$TCPCHECK" connect "$addr" "$port" -n "$n" --max-failures 1 -j "$@") || {
		echo "$out"
		fail "$n connections to $addr port $port did not all come back intact"
		return 1
	}
	echo "$out"
}

# ns_nstat NS COUNTER: a kernel counter in NS as nstat names it
# (TcpExtListenDrops, IpInAddrErrors...), its absolute value; nstat's
# history file is neither read nor written.
ns_nstat() {
	in_ns "$1" nstat -asz "$2" | awk -v c="$2" '$1 == c { print $2; found = 1 } END { if (!found) print 0 }'
}

# syn_recv NS PORT: request sockets (SYN-RECV) of NS's listener on PORT.
syn_recv() {
	in_ns "$1" ss -Htn state syn-recv "( sport = :$2 )" | wc -l
}

# accept_queue NS PORT: connections waiting in the accept queue of NS's
# listener on PORT (the listener's Recv-Q).
accept_queue() {
	in_ns "$1" ss -Hltn "( sport = :$2 )" | awk '{ print $2; exit }'
}

# conntrack_count NS: entries in NS's conntrack table.
conntrack_count() {
	in_ns "$1" cat /proc/sys/net/netfilter/nf_conntrack_count
}

# daemon_mode host|router: flowlensd running in that mode, restarted in
# it if it was not (its state, such as protected services, carries over).
daemon_mode() {
	local have
	have=$(flctl -j config show 2>/dev/null | jq -r .mode) || have=
	[ "$have" = "$1" ] && return 0
	lab stop
	if [ "$1" = host ]; then
		lab start
	else
		lab start --mode "$1"
	fi
}
