#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# run.sh [-j N] [GROUP...] - the one test runner.
#
# Runs the BPF_PROG_TEST_RUN unit tests (build/test_progs, group "unit") and
# every end-to-end script selftests/test_<group>.sh. Each script builds its
# own lab in namespaces of its own (selftests/lib.sh), so the groups run in
# parallel, N at a time (-j N, or FL_TEST_JOBS; default 3), the longest
# first (by the time each took last run, kept in $OUTPUT/selftests.times).
# A group's output is held back and printed whole when it ends, so logs
# never interleave. A script with a line `# test: exclusive` (it measures
# rates or floods the machine) runs alone, after the others.
#
# Each test prints `[name] PASS|FAIL|SKIP`; the last line is
# `N passed, N failed`, and the exit status is 0 only if something passed
# and nothing failed. With GROUP arguments only those groups run
# (e.g. `selftests/run.sh unit top`).
set -u

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${OUTPUT:-$TOP/build}
export OUTPUT=$BUILD
cd "$TOP"

usage() {
	sed -n '4,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0"
}

JOBS=${FL_TEST_JOBS:-3}
while getopts "j:h" opt; do
	case $opt in
	j) JOBS=$OPTARG ;;
	h)
		usage
		exit 0
		;;
	*)
		usage >&2
		exit 1
		;;
	esac
done
shift $((OPTIND - 1))
case $JOBS in
'' | *[!0-9]* | 0)
	echo "run.sh: -j: '$JOBS' is not a positive number" >&2
	exit 1
	;;
esac

if [ "$(id -u)" -ne 0 ]; then
	echo "run.sh: the tests load BPF programs and build network namespaces: run as root" >&2
	exit 1
fi

groups=("$@")
wanted() {
	[ ${#groups[@]} -eq 0 ] && return 0
	local g
	for g in "${groups[@]}"; do
		[ "$g" = "$1" ] && return 0
	done
	return 1
}

WORK=$(mktemp -d /tmp/fl-run.XXXXXX)
results="$WORK/results"
: >"$results"
TIMES="$BUILD/selftests.times"
# Seconds one script may take.
TIMEOUT=900

# The two queues.
parallel=()
exclusive=()
if wanted unit; then
	parallel+=(unit)
fi
for script in selftests/test_*.sh; do
	group=$(basename "$script" .sh)
	group=${group#test_}
	wanted "$group" || continue
	if grep -q '^# test: exclusive$' "$script"; then
		exclusive+=("$group")
	else
		parallel+=("$group")
	fi
done

# Longest first (last run's seconds; a group never timed counts as long).
by_duration() {
	local g
	for g in "$@"; do
		awk -v g="$g" '$1 == g { t = $2 } END { print (t == "" ? 100000 : t), g }' \
			"$TIMES" 2>/dev/null || echo "100000 $g"
	done | sort -k1,1nr -k2 | awk '{ print $2 }'
}
mapfile -t parallel < <(by_duration "${parallel[@]}")

declare -A group_of started
running=0

start_group() {
	local group=$1
	if [ "$group" = unit ]; then
		"$BUILD/test_progs" </dev/null >"$WORK/$group.out" 2>&1 &
	else
		timeout --kill-after=10 "$TIMEOUT" "selftests/test_$group.sh" \
			</dev/null >"$WORK/$group.out" 2>&1 &
	fi
	group_of[$!]=$group
	started[$group]=$SECONDS
	running=$((running + 1))
}

# Waits for any group to end, prints its output whole, records its time.
finish_group() {
	local pid rc group secs why name
	wait -n -p pid "${!group_of[@]}"
	rc=$?
	group=${group_of[$pid]}
	unset "group_of[$pid]"
	running=$((running - 1))
	secs=$((SECONDS - started[$group]))
	cat "$WORK/$group.out"
	cat "$WORK/$group.out" >>"$results"
	# A script that ends badly without saying FAIL (killed, timed out,
	# crashed between tests) fails too.
	if [ "$rc" -ne 0 ] && ! grep -q '^\[.*\] FAIL' "$WORK/$group.out"; then
		case $rc in
		124 | 137) why="timed out after $TIMEOUT s" ;;
		*) why="exit $rc" ;;
		esac
		[ "$group" = unit ] && name=unit || name=e2e/$group
		echo "[$name] FAIL ($why)" | tee -a "$results"
	fi
	echo "# $group: ${secs}s (exit $rc)"
	echo "$group $secs" >>"$WORK/times"
}

stop_all() {
	local pid
	for pid in "${!group_of[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	wait
	rm -rf "$WORK"
}
trap 'stop_all; exit 130' INT TERM

t0=$SECONDS
for group in "${parallel[@]}"; do
	[ $running -lt "$JOBS" ] || finish_group
	start_group "$group"
done
while [ $running -gt 0 ]; do
	finish_group
done
for group in "${exclusive[@]}"; do
	start_group "$group"
	finish_group
done

# Keep every group's last time, this run's replacing older ones.
if [ -s "$WORK/times" ]; then
	{
		cat "$WORK/times"
		[ -f "$TIMES" ] && cat "$TIMES"
	} | awk '!seen[$1]++' | while read -r g t; do
		# Groups that no longer exist drop out.
		[ "$g" = unit ] || [ -f "selftests/test_$g.sh" ] && echo "$g $t"
	done | sort >"$WORK/times.all" && mv "$WORK/times.all" "$TIMES"
fi

passed=$(grep -c '^\[.*\] PASS$' "$results")
failed=$(grep -c '^\[.*\] FAIL' "$results")
skipped=$(grep -c '^\[.*\] SKIP' "$results")
rm -rf "$WORK"

echo
echo "# $((SECONDS - t0))s with -j $JOBS"
[ "$skipped" -eq 0 ] || echo "($skipped skipped)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
