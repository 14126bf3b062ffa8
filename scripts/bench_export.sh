#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# bench_export.sh - IPFIX export at scale (issue 17: records per second
# exported on one core with no loss at the collector, target 200,000 or
# more; bytes per record). Runs in network, mount and PID namespaces of its
# own (`lab.sh isolate`), brings up the lab, starts flowlensd with room
# for twice BENCH_EXPORT_FLOWS flows and --workers 0 (the flow cache off:
# the datapath adds no flow of its own, as the lab's ICMPv6 would, so
# every record is one flow_fill wrote; `export add` warns, and exports
# what is in the map) and nfcapd on the flowlens namespace's loopback,
# then:
#
#   1. `flow_fill fill` writes BENCH_EXPORT_FLOWS (default 500,000)
#      classified flows into the pinned flow cache, BENCH_EXPORT_BIDI
#      percent of them (default 50) with packets both ways, real nDPI ids
#      (TLS.Google, QUIC.YouTube, DNS, ...), one in 4 IPv6, one in 8 with a
#      risk, the last packet 10 s ago; `flow_fill read` times a bare
#      batched read of the map (bpf_map_lookup_batch, 4,096 a call, as the
#      exporter reads): the floor of any read;
#   2. BENCH_EXPORT_ROUNDS rounds (default 3), each against two collectors
#      in turn: nfcapd with a large socket buffer (-B net.core.rmem_max,
#      the most SO_RCVBUF can have) and nfcapd with the default one. A
#      round: `export add ipfix 127.0.0.1:PORT idle 1`; the exporter's
#      first read learns every flow (no record: a collector gets what flows
#      do after it is added), its second reads them all again with nothing
#      to send (the steady read); right after it the flows are written
#      again with more packets, idle (`flow_fill fill ... ROUND`), so the
#      third read sends one record per direction of every flow - every
#      flow at once, the worst second an exporter can have (a third read
#      that began before the writing ended is not counted: the round tries
#      again, up to 3 times); a fourth read is steady again. Then `export
#      del`, nfcapd stopped (SIGTERM writes its file) and read back with
#      nfdump.
#
# Records per second = the records of the third read / its time
# (flowlensd's own read_seconds_last: reading the map, comparing with the
# shadow, encoding, sending). The export thread (the one that worked
# through the first read) is pinned to the last CPU, nfcapd and this
# script's processes to CPU 0; its CPU time over the send read (utime +
# stime, which on loopback includes delivering each datagram into
# nfcapd's socket) gives records per CPU-second. The steady read is the
# baseline in the same round: send read - steady read is what encoding and
# sending cost. Loss is counted at both ends: records_lost (sends the
# exporter's socket refused) and what nfcapd did not receive (its flows,
# its sequence errors, and the namespace's UdpRcvbufErrors: datagrams
# dropped because nfcapd's socket was full).
# Beside them, from /metrics: how much longer the control thread's 100 ms
# ticks took over the send read than idle ones (export_tick takes the
# export lock, which the exporter holds through each batch it reads,
# encodes and sends), and the longest tick since flowlensd started.
#
# Prints Markdown tables and one JSON line; exit status 2 when the bar is
# missed (the large-buffer collector short of any record, or the median
# rate under 200,000 records/s). Needs root, `make all`, nfcapd and nfdump
# (Debian's nfdump package, in make deps).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${OUTPUT:-$TOP/build}
LAB="$TOP/scripts/lab.sh"
FLOWS=${BENCH_EXPORT_FLOWS:-500000}
BIDI=${BENCH_EXPORT_BIDI:-50}
ROUNDS=${BENCH_EXPORT_ROUNDS:-3}
PORT=4739
BAR_RATE=200000

[ "$(id -u)" -eq 0 ] || { echo "bench_export.sh: run as root (loads BPF programs, builds namespaces)" >&2; exit 1; }
for bin in flowlensd flctl flow_fill; do
	[ -x "$BUILD/$bin" ] || { echo "bench_export.sh: $BUILD/$bin not built (run make all)" >&2; exit 1; }
done
for bin in nfcapd nfdump; do
	command -v "$bin" >/dev/null || { echo "bench_export.sh: $bin not found (apt-get install nfdump)" >&2; exit 1; }
done
if [ "${FL_LAB_ISOLATED:-}" != "$(readlink /proc/self/ns/net)" ]; then
	export OUTPUT="$BUILD"
	exec "$LAB" isolate /bin/bash "$0" "$@"
fi
# bash is PID 1 here: without handlers it would ignore SIGTERM/SIGINT.
trap 'exit 143' TERM
trap 'exit 130' INT

export OUTPUT="$BUILD"
in_flowlens() { "$LAB" exec flowlens "$@"; }
MAP=/sys/fs/bpf/flowlens/fl_flows
work=$(mktemp -d)
NFCAPD=
cleanup() {
	[ -z "$NFCAPD" ] || kill -TERM "$NFCAPD" 2>/dev/null || true
	"$LAB" stop >/dev/null 2>&1 || true
	"$LAB" down >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

# The largest buffer nfcapd can ask for: SO_RCVBUF is capped by the host's
# net.core.rmem_max (not per network namespace, and not ours to raise).
RCVBUF_LARGE=$(cat /proc/sys/net/core/rmem_max)
RCVBUF_DEFAULT=$(cat /proc/sys/net/core/rmem_default)

"$LAB" up >/dev/null
"$LAB" start --max-flows $((2 * FLOWS)) --workers 0 >/dev/null
pid=$(pidof flowlensd)

# 1. the flows, and the bare read
fill=$(in_flowlens "$BUILD/flow_fill" fill "$MAP" "$FLOWS" "$BIDI")
bare=$(in_flowlens "$BUILD/flow_fill" read "$MAP" 5)

# nfcapd on loopback, writing into $work/nf-NAME; -B BYTES or none.
nfcapd_start() { # name rcvbuf|""
	mkdir -p "$work/nf-$1"
	# lab.sh exec execs down to nfcapd: $! is nfcapd's pid
	"$LAB" exec flowlens nfcapd -b 127.0.0.1 -p "$PORT" -w "$work/nf-$1" -t 3600 \
		${2:+-B "$2"} >"$work/nfcapd-$1.log" 2>&1 </dev/null &
	NFCAPD=$!
	# a core of its own where there are two: the exporter gets the other
	[ "$(nproc)" -lt 2 ] || taskset -p -c 0 "$NFCAPD" >/dev/null
	for _ in $(seq 1 50); do
		in_flowlens ss -Hlun "( sport = :$PORT )" | grep -q . && return 0
		sleep 0.1
	done
	echo "bench_export.sh: nfcapd did not start:" >&2
	cat "$work/nfcapd-$1.log" >&2
	exit 1
}

# Stops nfcapd (it writes its file on SIGTERM) and sets NF_FLOWS and
# NF_SEQ_ERRORS (its exit summary), NF_READ (the records nfdump reads
# from its file) and NF_CPU (its CPU seconds). Not in a subshell: it waits
# for nfcapd, its child.
nfcapd_stop() { # name
	NF_CPU=$(awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$NFCAPD/stat")
	kill -TERM "$NFCAPD"
	wait "$NFCAPD" 2>/dev/null || true
	NFCAPD=
	NF_FLOWS=$(sed -n 's/.*Flows: \([0-9]*\).*/\1/p' "$work/nfcapd-$1.log" | tail -1)
	NF_SEQ_ERRORS=$(sed -n 's/.*Sequence Errors: \([0-9]*\).*/\1/p' "$work/nfcapd-$1.log" | tail -1)
	NF_READ=$(nfdump -q -N -R "$work/nf-$1" -o 'fmt:%pkt' 2>/dev/null | wc -l)
	if [ -z "$NF_FLOWS" ] || [ -z "$NF_SEQ_ERRORS" ]; then
		echo "bench_export.sh: nfcapd left no summary:" >&2
		cat "$work/nfcapd-$1.log" >&2
		exit 1
	fi
}

rcvbuf_errors() {
	in_flowlens nstat -az UdpRcvbufErrors | awk '$1 == "UdpRcvbufErrors" { print $2 }'
}

# One round against the collector already started: prints one JSON line.
# Driven from one python3 process on the control socket, polling every
# 20 ms (a flctl process per poll would cost the exporter's core more).
round() { # flow_fill's ROUND for the first attempt (each next one adds 1)
	in_flowlens python3 - "127.0.0.1:$PORT" "$pid" "$1" \
		"$BUILD/flow_fill" fill "$MAP" "$FLOWS" "$BIDI" <<'PY'
import json, os, socket, subprocess, sys, time, urllib.request
path = os.environ["FLOWLENS_SOCKET"]
collector, pid, gen, fill = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
ATTEMPTS = 3
if os.cpu_count() > 1:
    os.sched_setaffinity(0, {0}) # and flow_fill: off the exporter's core

def request(obj):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(json.dumps(obj).encode() + b"\n")
    reply = json.loads(s.makefile().readline())
    s.close()
    if not reply.get("ok"):
        sys.exit("bench_export.sh: %s: %s" % (obj["cmd"], reply.get("error")))
    return reply.get("data") or {}

def threads():
    """CPU ticks of each of flowlensd's threads."""
    ticks = {}
    for tid in os.listdir("/proc/%s/task" % pid):
        try:
            with open("/proc/%s/task/%s/stat" % (pid, tid)) as f:
                v = f.read().rsplit(")", 1)[1].split()
            ticks[tid] = int(v[11]) + int(v[12])
        except OSError:
            pass
    return ticks

def rss():
    with open("/proc/%s/status" % pid) as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmRSS:"))

def tick():
    """The control thread's tick counters from /metrics: (seconds in
    ticks, ticks, longest); None without /metrics."""
    try:
        page = urllib.request.urlopen("http://127.0.0.1:10179/metrics",
                                      timeout=5).read().decode()
    except OSError:
        return None
    v = dict(l.split()[:2] for l in page.splitlines()
             if l.startswith("flowlens_tick"))
    return (float(v["flowlens_tick_seconds_total"]),
            float(v["flowlens_ticks_total"]),
            float(v["flowlens_tick_max_seconds"]))

def tick_mean(a, b):
    """The mean tick between two tick() samples."""
    return (b[0] - a[0]) / (b[1] - a[1]) if a and b and b[1] > a[1] else None

def wait_reads(n, timeout=60):
    """Polls until flowlensd has done read n; its stats then."""
    t0 = time.monotonic()
    while True:
        d = request({"cmd": "export-stats"})
        if d["reads"] > n:
            sys.exit("bench_export.sh: missed read %d (polling too slow?)" % n)
        if d["reads"] == n:
            return d
        if time.monotonic() - t0 > timeout:
            sys.exit("bench_export.sh: no read within %d s" % timeout)
        time.sleep(0.02)

def records(d):
    c = d["collectors"][0]
    return c["records"] + c["records_lost"]

# the shadow of the round before goes once no collector is left
t0 = time.monotonic()
while request({"cmd": "export-stats"})["flows"] and time.monotonic() - t0 < 5:
    time.sleep(0.1)
base = request({"cmd": "export-stats"})["reads"]
# the tick with no collector, over a second
idle0 = tick()
time.sleep(1)
idle1 = tick()
ticks_add, rss_add = threads(), rss()
request({"cmd": "export-add", "type": "ipfix", "collector": collector, "idle": 1})
first = wait_reads(base + 1)
ticks_first, rss_first = threads(), rss()
# the export thread: the one that worked through the first read; on a
# core of its own (the last), nfcapd on the first (the shell pins it)
export_tid = max(ticks_first, key=lambda t: ticks_first[t] - ticks_add.get(t, 0))
if os.cpu_count() > 1:
    os.sched_setaffinity(int(export_tid), {os.cpu_count() - 1})
steady = wait_reads(base + 2)
n = base + 2
for attempt in range(ATTEMPTS):
    # The next read starts a second after this one ended: the flows are
    # written again in between, all due at once. A read that began before
    # the write ended may see some of them only: then again.
    before = records(steady if attempt == 0 else after)
    t_fill = time.monotonic()
    due = json.loads(subprocess.run(fill + [str(gen + attempt)], check=True,
                                    capture_output=True, text=True).stdout)
    t_filled = time.monotonic()
    ticks0, tick0 = threads(), tick()
    send = wait_reads(n + 1)
    ticks1, tick1 = threads(), tick()
    # it began read_seconds_last before it was seen to end (20 ms late at
    # most, and a request's time)
    overlap = time.monotonic() - send["read_seconds_last"] - 0.05 < t_filled
    after = wait_reads(n + 2)
    n += 2
    if not overlap and records(send) - before == due["records"]:
        break
else:
    sys.exit("bench_export.sh: %d attempts, each read overlapped the flows' writing or sent part of them" % ATTEMPTS)
gone = request({"cmd": "export-del", "collector": collector})["collector"]
c = send["collectors"][0]
cpu = (ticks1[export_tid] - ticks0[export_tid]) / os.sysconf("SC_CLK_TCK")
idle = tick_mean(idle0, idle1)
excess = (tick1[0] - tick0[0]) - (tick1[1] - tick0[1]) * idle if idle is not None and tick0 and tick1 else None
print(json.dumps({
    "flows": send["flows"], "records_due": due["records"],
    "fill_s": round(t_filled - t_fill, 3), "attempts": attempt + 1,
    "read_first_s": first["read_seconds_last"],
    "read_steady_s": steady["read_seconds_last"],
    "read_send_s": send["read_seconds_last"],
    "read_after_s": after["read_seconds_last"],
    "records_read": records(send) - before,
    "thread_cpu_s": cpu, "rss_growth": rss_first - rss_add,
    "shadow_bytes": first["shadow_bytes"],
    # the control thread's ticks over the send read beyond their idle
    # time (export_tick no longer takes the export lock: it should be ~0)
    "tick_idle_s": idle, "tick_excess_s": excess,
    "tick_max_s": tick1[2] if tick1 else None,
    # the whole round, as the collector got it
    "records": gone["records"], "records_lost": gone["records_lost"],
    "messages": gone["messages"], "bytes": gone["bytes"],
    "send_errors": gone["send_errors"], "last_error": gone["last_error"]}))
PY
}

# 2. the rounds, the two collectors alternating
gen=0
for r in $(seq 1 "$ROUNDS"); do
	for kind in large default; do
		case $kind in
		large) buf=$RCVBUF_LARGE ;;
		default) buf= ;;
		esac
		nfcapd_start "$kind-$r" "$buf"
		e0=$(rcvbuf_errors)
		gen=$((gen + 10))
		one=$(round "$gen")
		e1=$(rcvbuf_errors)
		nfcapd_stop "$kind-$r"
		jq -c --arg kind "$kind" --argjson r "$r" --argjson rcvbuf "${buf:-$RCVBUF_DEFAULT}" \
			--argjson nf_flows "$NF_FLOWS" --argjson nf_seq "$NF_SEQ_ERRORS" \
			--argjson nf_read "$NF_READ" --argjson nf_cpu "$NF_CPU" \
			--argjson rcvbuf_errors $((e1 - e0)) \
			'. + {kind: $kind, round: $r, rcvbuf: $rcvbuf, nf_flows: $nf_flows,
			      nf_seq_errors: $nf_seq, nf_read: $nf_read, nf_cpu_s: $nf_cpu,
			      rcvbuf_errors: $rcvbuf_errors}' <<<"$one" >>"$work/rounds.json"
	done
done

# Sums and medians over the rounds of each collector, and the bar.
jq -s --argjson bar "$BAR_RATE" --argjson fill "$fill" --argjson bare "$bare" '
	def median: sort | if length % 2 == 1 then .[length / 2 | floor]
		else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	def kind(k): map(select(.kind == k)) | {
		rounds: length,
		records_due: (map(.records_due) | add),
		records: (map(.records) | add),
		records_lost: (map(.records_lost) | add),
		received: (map(.nf_flows) | add),
		nfdump: (map(.nf_read) | add),
		seq_errors: (map(.nf_seq_errors) | add),
		rcvbuf_errors: (map(.rcvbuf_errors) | add),
		rcvbuf: .[0].rcvbuf,
		read_steady_s: (map(.read_steady_s) | median),
		read_send_s: (map(.read_send_s) | median),
		read_after_s: (map(.read_after_s) | median),
		thread_cpu_s: (map(.thread_cpu_s) | median),
		tick_idle_s: (map(.tick_idle_s // empty) | median? // null),
		tick_excess_s: (map(.tick_excess_s // empty) | median? // null),
		tick_max_s: (map(.tick_max_s // empty) | max),
		nf_cpu_s: (map(.nf_cpu_s) | median),
		rate: (map(.records_read / .read_send_s) | median),
		rate_cpu: (map(.records_read / .thread_cpu_s) | median),
		bytes_per_record: ((map(.bytes) | add) / (map(.records) | add)),
		records_per_message: ((map(.records) | add) / (map(.messages) | add)),
		fill_s: (map(.fill_s) | max),
		attempts: (map(.attempts) | add)
	} | . + {lost: (.records - .received)};
	# the first round is the first read ever: the shadow in memory new to
	# flowlensd (later rounds reuse what the round before freed)
	{bench: "export", flows: $fill.flows, records_per_read: .[0].records_due,
	 bare_read_s: $bare.seconds, rss_growth: .[0].rss_growth,
	 shadow_bytes: .[0].shadow_bytes, read_first_s: .[0].read_first_s,
	 large: kind("large"), default: kind("default")}
	| . + {pass: (.large.lost == 0 and .large.records_lost == 0 and
		      .large.seq_errors == 0 and .large.rate >= $bar)}
' "$work/rounds.json" >"$work/summary.json"
S() { jq -r "$1" "$work/summary.json"; }
fmt() { awk -v v="$1" -v d="${2:-0}" 'BEGIN { printf "%.*f", d, v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

flows=$(S .flows)
per_read=$(S .records_per_read)
send=$(S .large.read_send_s)
steady=$(S .large.read_steady_s)
first=$(S .read_first_s)
after=$(S .large.read_after_s)
bare_s=$(S .bare_read_s)
rate=$(S .large.rate)
met=$(S 'if .pass then "yes" else "NO" end')
cat <<EOF
### IPFIX export ($flows flows, $per_read records a read)

| read | seconds | vs the send read |
| --- | ---: | ---: |
| bare batched read of the map (\`flow_fill read\`, no exporter; median of 5) | $(fmt "$bare_s" 3) | $(ratio "$bare_s" "$send") |
| the exporter's first read (round 1: learns every flow, sends nothing) | $(fmt "$first" 3) | $(ratio "$first" "$send") |
| steady read (every flow read and compared, nothing due; median, large-buffer rounds) | $(fmt "$steady" 3) | $(ratio "$steady" "$send") |
| send read (every flow due: $per_read records encoded and sent; median) | $(fmt "$send" 3) | 1.00 |
| the read after it (nothing due again; median) | $(fmt "$after" 3) | $(ratio "$after" "$send") |

Encoding and sending (send read less steady read): $(awk -v s="$send" -v t="$steady" -v n="$per_read" 'BEGIN { printf "%.2f us a record, %.0f %% of the send read", (s - t) / n * 1e6, (s - t) / s * 100 }').
The export thread's CPU time over the send read: $(fmt "$(S .large.thread_cpu_s)" 2) s.
$(jq -r '.large | if .tick_excess_s then "The control thread'"'"'s 100 ms tick (which no longer waits for the export lock): over the send read its ticks took \(.tick_excess_s * 1e4 | round / 10) ms more than idle ones (\(.tick_idle_s * 1e6 | round / 1000) ms a tick), \(.tick_excess_s / ('"$send"' * 10) * 1e4 | round / 10) ms more a tick of the read; the longest tick since flowlensd started: \(.tick_max_s * 1e4 | round / 10) ms." else empty end' "$work/summary.json")
flowlensd's resident memory grew by $(awk -v a="$(S .rss_growth)" 'BEGIN { printf "%.1f", a / 1048576 }') MiB when the first read learnt the $flows flows ($(awk -v a="$(S .rss_growth)" -v n="$flows" 'BEGIN { printf "%.0f", a / n }') B a flow; \`shadow_bytes\` counts $(awk -v a="$(S .shadow_bytes)" -v n="$flows" 'BEGIN { printf "%.0f", a / n }')).

| collector | rounds | records sent | received (nfcapd) | in nfdump | lost | sequence errors | UdpRcvbufErrors | records/s (send read) | records per CPU-s (export thread) | nfcapd CPU s a round | bytes a record | records a message |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
EOF
for k in large default; do
	case $k in
	large) label="nfcapd -B $(S .large.rcvbuf) (net.core.rmem_max)" ;;
	default) label="nfcapd, default buffer (net.core.rmem_default $(S .default.rcvbuf))" ;;
	esac
	jq -r --arg name "$label" --arg k "$k" '.[$k] |
		"| \($name) | \(.rounds) | \(.records) | \(.received) | \(.nfdump) | \(.lost) | \(.seq_errors) | \(.rcvbuf_errors) | \(.rate | round) | \(.rate_cpu | round) | \(.nf_cpu_s * 100 | round / 100) | \(.bytes_per_record * 10 | round / 10) | \(.records_per_message * 10 | round / 10) |"' \
		"$work/summary.json"
done
cat <<EOF

| measure | value | bar | met |
| --- | --- | --- | --- |
| records/s exported (send read, median), nfcapd -B | $(fmt "$rate"), $(S .large.lost) lost | >= $BAR_RATE, none lost | $met |

EOF
jq -c 'del(.large.rcvbuf, .default.rcvbuf)' "$work/summary.json"
[ "$met" = yes ] || exit 2
