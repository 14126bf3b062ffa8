#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# bench_replay.sh [REPS] - the workers' classifier against ndpiReader:
# packets per second of `flowlensd replay` and of Debian's `ndpiReader`
# (nDPI 4.2) over the same captures, in the same run, each pinned to one
# core (taskset -c $BENCH_CPU, default 1), alternating, REPS rounds
# (default 5), the median round kept, over one capture made of every
# classic Ethernet pcap of nDPI's corpus end to end (so nDPI's set-up,
# paid once by each, weighs little). Then the memory a worker holds per
# flow, from `flowlensd replay --stats` over the whole corpus.
#
# Prints a markdown section on stdout (for BENCHMARKS.md) and the ratio.
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
OUTPUT=${OUTPUT:-$TOP/build}
source "$TOP/scripts/corpus.sh"
PCAP_DIR=$(fl_pcap_dir)
REPS=${1:-5}
CPU=${BENCH_CPU:-1}
REPLAY="$OUTPUT/flowlensd"

die() {
	echo "bench_replay.sh: $*" >&2
	exit 1
}
[ -x "$REPLAY" ] || die "$REPLAY not built (make)"
command -v ndpiReader >/dev/null || die "ndpiReader not installed (apt install libndpi-bin)"
[ -d "$PCAP_DIR" ] || die "no captures in $PCAP_DIR (set FL_PCAP_DIR)"
command -v jq >/dev/null || die "jq not installed"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$REPLAY" "$work/flowlensd"

# One capture of all the corpus's classic Ethernet pcaps end to end, so
# the rate is the packet path's and not nDPI's set-up (each tool sets up
# once); ndpiReader and replay both keep time from going backwards.
python3 - "$work/corpus.pcap" "$PCAP_DIR"/*.pcap <<'PY'
import struct, sys
out = open(sys.argv[1], 'wb')
out.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
for name in sys.argv[2:]:
    data = open(name, 'rb').read()
    if len(data) < 24 or struct.unpack('<I', data[:4])[0] != 0xa1b2c3d4:
        continue  # big-endian, nanosecond or pcapng: left out
    if struct.unpack('<I', data[20:24])[0] != 1:
        continue  # not Ethernet
    off = 24
    while off + 16 <= len(data):
        caplen = struct.unpack('<I', data[off + 8:off + 12])[0]
        if caplen > 262144 or off + 16 + caplen > len(data):
            break
        out.write(data[off:off + 16 + caplen])
        off += 16 + caplen
PY
files=("$work/corpus.pcap")
packets=$("$work/flowlensd" replay -q --stats "$work/corpus.pcap" 2>&1 >/dev/null | grep '^{' | jq .packets)

# Seconds (wall clock, pinned) for CMD FILE over every file.
run_all() {
	local start end f
	start=$(date +%s%N)
	for f in "${files[@]}"; do
		taskset -c "$CPU" "$@" "$f" >/dev/null 2>&1 || true
	done
	end=$(date +%s%N)
	echo "$(((end - start) / 1000))"
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

: >"$work/ours"
: >"$work/ndpi"
: >"$work/ours_xdp"
for _ in $(seq 1 "$REPS"); do
	run_all ndpiReader -q -i >>"$work/ndpi"
	run_all "$work/flowlensd" replay -q --feed all >>"$work/ours"
	run_all "$work/flowlensd" replay -q --feed xdp >>"$work/ours_xdp"
done
ndpi_us=$(median <"$work/ndpi")
ours_us=$(median <"$work/ours")
xdp_us=$(median <"$work/ours_xdp")
pps() { awk -v p="$packets" -v us="$1" 'BEGIN { printf "%.0f", p / (us / 1e6) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }

# Memory per flow in a worker, over the whole corpus (--feed xdp: the
# live workers' case; --feed all holds nDPI state for handshakes too).
stats_xdp=$("$work/flowlensd" replay -q --stats --feed xdp "$PCAP_DIR"/*.pcap "$PCAP_DIR"/*.pcapng 2>&1 >/dev/null | grep '^{')
stats_all=$("$work/flowlensd" replay -q --stats --feed all "$PCAP_DIR"/*.pcap "$PCAP_DIR"/*.pcapng 2>&1 >/dev/null | grep '^{')
entry=$(jq .flow_entry_bytes <<<"$stats_all")
ndpi_struct=$(jq .ndpi_flow_struct_bytes <<<"$stats_all")
ndpi_held=$(jq .ndpi_bytes_per_dissecting_flow <<<"$stats_all")

cat <<EOF
### Classifier: flowlensd replay against ndpiReader

nDPI's corpus (its classic Ethernet pcaps end to end in one capture, $packets
packets), pinned to CPU $CPU, median of $REPS rounds, packets per second of wall
clock including each tool's start.

| classifier | packets/s | vs ndpiReader |
| --- | ---: | ---: |
| ndpiReader 4.2 (\`-q -i FILE\`) | $(pps "$ndpi_us") | 1.00 |
| flowlensd replay --feed all | $(pps "$ours_us") | $(ratio "$ours_us" "$ndpi_us") |
| flowlensd replay --feed xdp | $(pps "$xdp_us") | $(ratio "$xdp_us" "$ndpi_us") |

Worker memory per flow: $entry bytes of table entry for every flow; while nDPI
dissects it, sizeof(struct ndpi_flow_struct) = $ndpi_struct bytes, $ndpi_held bytes held
by nDPI per dissecting flow as allocated (struct, dissector buffers, malloc's
overhead), freed at the verdict.
EOF
echo "ratio: flowlensd replay (--feed all) / ndpiReader = $(ratio "$ours_us" "$ndpi_us")x" >&2
echo "stats (--feed xdp): $stats_xdp" >&2
