#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# bench_spam.sh - make bench, spam scoring (issue 21), offline: no lab.
# Prints a Markdown section on stdout; scripts/bench.sh records it in
# BENCHMARKS.md. selftests/spam/make_calls.py builds test_spam.sh's 96
# labelled calls (192 RTP streams, every call at the same time), and
# `flowlensd replay --voip` reads them on one core:
#
#   1. segments a second per core: without --spam (decoding and tier 2's
#      heuristics) and with it (keyword spotting and the call's score
#      too), each the best of BENCH_SPAM_RUNS runs of user+system CPU
#      time; and from them the concurrent calls one core keeps up with
#      (a call is two streams, each a 2 s segment every 2 s);
#   2. decision latency: where in the call (seconds of its audio) each
#      robocall first became suspect, median and worst, and the message's
#      first word (it starts after the callee's "Hello?");
#   3. memory per scored call: the peak RSS of the 96 calls at once, less
#      that of the first call alone, over 95.
#
# Environment: BENCH_SPAM_RUNS (default 3).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${OUTPUT:-$TOP/build}
RUNS=${BENCH_SPAM_RUNS:-3}
work=$(mktemp -d /tmp/fl-bench-spam.XXXXXX)
trap 'rm -rf "$work"' EXIT

python3 "$TOP/selftests/spam/make_calls.py" "$work" "$BUILD/rtp_encode" >/dev/null 2>"$work/make.log" || {
	cat "$work/make.log" >&2
	exit 1
}
mergecap -F pcap -w "$work/one.pcap" "$work"/work/1-0.pcap "$work"/work/1-1.pcap

# run OUT ARGS...: replay, its JSON in OUT; prints "cpu_seconds peak_kb"
run() {
	local out=$1
	shift
	/usr/bin/time -f "%U %S %M" -o "$work/time" "$BUILD/flowlensd" replay --voip "$@" >"$out"
	awk '{ printf "%.3f %d\n", $1 + $2, $3 }' "$work/time"
}

# best OUT ARGS...: the least CPU of RUNS runs, and that run's peak RSS
best() {
	local i r cpu=0 kb=0 c k
	for i in $(seq "$RUNS"); do
		r=$(run "$@")
		read -r c k <<<"$r"
		if [ "$i" = 1 ] || awk -v a="$c" -v b="$cpu" 'BEGIN { exit !(a < b) }'; then
			cpu=$c
			kb=$k
		fi
	done
	echo "$cpu $kb"
}

read -r cpu2 kb2 <<<"$(best "$work/tier2.json" "$work/calls.pcap")"
read -r cpu1 kb1 <<<"$(best "$work/tier1.json" --spam "$work/calls.pcap")"
read -r cpu_one kb_one <<<"$(run "$work/one.json" --spam "$work/one.pcap")"
segments=$(jq -s '[.[] | select(.type == "rtp") | .audio.segments] | add' "$work/tier1.json")
seconds=$(jq -s '[.[] | select(.type == "rtp") | .audio.seconds] | add' "$work/tier1.json")
# robocalls' callers: where each first became suspect
jq -r '.[] | select(.label == "spam") | .caller' "$work/labels.json" >"$work/robocallers"
jq -r --rawfile c "$work/robocallers" 'select(.type == "rtp" and
	(.src as $s | $c | split("\n") | index($s))) | .audio.suspect_at // empty' \
	"$work/tier1.json" | sort -n >"$work/latency"
flagged=$(wc -l <"$work/latency")
median=$(awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }' "$work/latency")
worst=$(tail -1 "$work/latency")

awk -v s="$segments" -v c2="$cpu2" -v c1="$cpu1" -v sec="$seconds" \
	-v k2="$kb2" -v k1="$kb1" -v kone="$kb_one" -v f="$flagged" -v med="$median" -v w="$worst" '
BEGIN {
	printf "### Spam scoring (issue 21)\n\n"
	printf "scripts/bench_spam.sh, offline: test_spam.sh'"'"'s 96 labelled calls (192 RTP streams, %d segments of 2 s, %.0f s of audio, every call at once) read by `flowlensd replay --voip` on one core, the best of its runs in CPU time.\n\n", s, sec
	printf "| work | CPU s | segments/s per core | concurrent calls per core |\n"
	printf "| --- | ---: | ---: | ---: |\n"
	printf "| decoding + tier 2 (heuristics) | %.2f | %.0f | %.0f |\n", c2, s / c2, s / c2
	printf "| + tier 1 (keyword spotting) + tier 3 | %.2f | %.0f | %.0f |\n", c1, s / c1, s / c1
	printf "| tier 1 + 3 alone (the difference) | %.2f | %.0f | |\n\n", c1 - c2, s / (c1 - c2)
	printf "A call is two streams, each a segment every 2 s: one segment a second a call, so segments/s is also the calls one core keeps up with.\n\n"
	printf "Decision latency: %d of 48 robocalls became suspect, at a median of %s s into the call (worst %s s); their messages start after the callee'"'"'s \"Hello?\", at about 1.5 s, and last 5-8 s. A one-shot message reaches suspect when it ends or close to it: its keywords and its monologue come in over its whole length.\n\n", f, med, w
	printf "Memory per scored call: %.0f KB (peak RSS %d KB for the 96 calls at once, %d KB for one: decoders, 2 s segment and 1 s overlap buffers per stream; the pocketsphinx model and dictionary are shared, in the one-call figure).\n", (k1 - kone) / 95, k1, kone
}'
