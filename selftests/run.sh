#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# run.sh [GROUP...] - the one test runner.
#
# Runs the BPF_PROG_TEST_RUN unit tests (build/test_progs, group "unit") and
# every end-to-end script selftests/test_<group>.sh in the namespace lab.
# Each test prints `[name] PASS|FAIL|SKIP`; the last line is
# `N passed, N failed`. With GROUP arguments only those groups run
# (e.g. `selftests/run.sh unit top`). The lab is torn down at the end,
# whatever happened.
set -u

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${OUTPUT:-$TOP/build}
export OUTPUT=$BUILD
cd "$TOP"

if [ "$(id -u)" -ne 0 ]; then
	echo "run.sh: the tests load BPF programs and build network namespaces: run as root" >&2
	exit 1
fi

cleanup() {
	scripts/lab.sh down >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

groups=("$@")
wanted() {
	[ ${#groups[@]} -eq 0 ] && return 0
	local g
	for g in "${groups[@]}"; do
		[ "$g" = "$1" ] && return 0
	done
	return 1
}

results=$(mktemp)
run_group() {
	local name=$1
	shift
	# Output passes through; result lines are also collected for counting.
	"$@" 2>&1 | tee -a "$results"
}

if wanted unit; then
	run_group unit "$BUILD/test_progs"
fi
for script in selftests/test_*.sh; do
	group=$(basename "$script" .sh)
	group=${group#test_}
	wanted "$group" || continue
	cleanup
	run_group "$group" timeout --kill-after=10 900 "$script"
	rc=${PIPESTATUS[0]}
	if [ "$rc" -ne 0 ] && ! grep -q "^\[e2e/$group\." "$results"; then
		echo "[e2e/$group] FAIL (exit $rc before any test reported)" | tee -a "$results"
	fi
done

passed=$(grep -c '^\[.*\] PASS$' "$results")
failed=$(grep -c '^\[.*\] FAIL' "$results")
skipped=$(grep -c '^\[.*\] SKIP' "$results")
rm -f "$results"

echo
[ "$skipped" -eq 0 ] || echo "($skipped skipped)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
