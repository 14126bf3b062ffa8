#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# bench.sh - make bench: measure, print one table, record it in
# BENCHMARKS.md (between the bench markers, with date, kernel and CPU).
#
# Everything is a ratio against a baseline measured in the same run; the
# absolute numbers on a shared VM are noise-prone, the ratios much less.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${OUTPUT:-$TOP/build}
OUT="$TOP/BENCHMARKS.md"
cd "$TOP"

[ "$(id -u)" -eq 0 ] || { echo "bench.sh: run as root (loads BPF programs)" >&2; exit 1; }

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
section=$(mktemp)
{
	echo "Measured $(date -u +'%Y-%m-%d %H:%M UTC') on Linux $(uname -r), $(nproc) x ${cpu:-unknown CPU}."
	echo
	echo "### Per-packet cost of the XDP program (bpf_prog_test_run)"
	echo
	echo "Median of 9 alternating rounds of 1,000,000 packets each, host mode."
	echo "\"flowlens work\" is flowlens minus XDP_PASS: the time FlowLens adds to a packet."
	echo
	"$BUILD/prog_cost" -m -r 9 -n 1000000
} >"$section"
cat "$section"

begin='<!-- bench:begin -->'
end='<!-- bench:end -->'
if [ ! -f "$OUT" ] || ! grep -q "$begin" "$OUT"; then
	printf '# Benchmarks\n\n%s\n%s\n' "$begin" "$end" >>"$OUT"
fi
awk -v begin="$begin" -v end="$end" -v file="$section" '
	$0 == begin { print; while ((getline line < file) > 0) print line; skip = 1; next }
	$0 == end { skip = 0 }
	!skip { print }
' "$OUT" >"$OUT.tmp" && mv "$OUT.tmp" "$OUT"
rm -f "$section"
echo
echo "bench: recorded in $OUT"
