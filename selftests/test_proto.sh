#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The protocol table (user/lib/proto.h) holds both sides to one list of
# commands: flowlensd serves every request flctl sends and no other, every
# command has its help at the top level and in its object's help, and the
# live daemon answers every request the table names (an error about its
# arguments, never "unknown command"). Also what the table lists of the
# replies: show workers prints every counter the daemon sends.
source "$(dirname "$0")/lib.sh"

FLCTL_BIN="$OUTPUT/flctl"
DAEMON_BIN="$OUTPUT/flowlensd"

# "REQUEST OBJECT [WORDS...]" per line, sorted: what each side has.
flctl_commands() {
	"$FLCTL_BIN" -j help --commands |
		jq -r '.[] | [.request, .object, .words] | join(" ") | sub(" +$"; "")' | sort
}

daemon_commands() {
	"$DAEMON_BIN" --list-commands | awk '{ $1 = $1; print }' | sort
}

# flowlensd --list-commands and flctl help --commands: the same requests,
# with the same flctl words, and no request twice.
test_both_sides_agree() {
	local daemon ours
	daemon=$(daemon_commands) || fail "flowlensd --list-commands failed: its handlers and the table disagree"
	ours=$(flctl_commands)
	echo "flowlensd serves $(printf '%s\n' "$daemon" | wc -l) requests, flctl sends $(printf '%s\n' "$ours" | wc -l)"
	if [ "$daemon" != "$ours" ]; then
		diff <(printf '%s\n' "$ours") <(printf '%s\n' "$daemon") |
			sed -e 's/^< /only flctl has: /' -e 's/^> /only flowlensd has: /'
		fail "flctl's commands and flowlensd's differ"
	fi
	assert_eq "$(printf '%s\n' "$daemon" | awk '{ print $1 }' | uniq -d)" "" \
		"requests served twice"
	assert_ge "$(printf '%s\n' "$daemon" | wc -l)" 30 "commands in the table"
	assert_match "$("$DAEMON_BIN" --help)" '^ +--list-commands ' "flowlensd --help names --list-commands"
}

# Every command: a one-line help and a line of its own in flctl help, and
# a Usage line in 'flctl OBJECT help' ("flctl protect { add | del } PREFIX"
# counts for both add and del).
test_every_command_has_help() {
	local top object words last parent help usage n=0
	top=$("$FLCTL_BIN" help)
	while IFS='|' read -r object words help; do
		[ -n "$help" ] || fail "$object $words has no help line"
		assert_match "$top" "^  $object${words:+ $words}( |\$)" "flctl help lists '$object $words'"
		usage=$("$FLCTL_BIN" "$object" help | sed -n '/^Usage:/,/^$/p')
		last=${words##* }
		parent=
		[ "$words" = "$last" ] || parent="${words% *} "
		if [ -z "$words" ]; then
			assert_match "$usage" "^(Usage:)? +flctl $object( |\$)" "flctl $object help"
		else
			assert_match "$usage" "^(Usage:)? +flctl $object $parent($last( |\$)|\{ ([a-z-]+ \| )*$last( \||( \})))" \
				"flctl $object help names '$words'"
		fi
		n=$((n + 1))
	done < <("$FLCTL_BIN" -j help --commands | jq -r '.[] | [.object, .words, .help] | join("|")')
	echo "$n commands, each with its help"
	assert_ge "$n" 30 "commands checked"
}

# The running daemon knows every request the table names; one it does
# not name is refused.
test_daemon_serves_every_request() {
	local req out n=0
	for req in $("$FLCTL_BIN" -j help --commands | jq -r '.[].request'); do
		# no arguments: a read gets its data, a change its error
		case $req in
		rule-flush | version | workers | apps | flows) continue ;; # no harm, but not needed
		esac
		out=$(ctl_request "{\"cmd\": \"$req\"}")
		printf '%s -> %.100s\n' "$req" "$out"
		json_check "$out" '.ok or (.error | test("unknown command") | not)' "reply to $req"
		n=$((n + 1))
	done
	for req in version workers apps flows; do
		json_check "$(ctl_request "{\"cmd\": \"$req\"}")" '.ok' "reply to $req"
	done
	out=$(ctl_request '{"cmd": "frob"}')
	json_check "$out" '(.ok | not) and .error == "unknown command \"frob\""' "reply to frob"
	assert_ge "$n" 25 "requests sent"
}

# show workers prints every counter a worker's JSON has.
test_worker_counters_printed() {
	local json text key n=0
	json=$(flctl -j show workers)
	[ "$(printf '%s\n' "$json" | jq '.workers | length')" -gt 0 ] ||
		skip "no worker running"
	text=$(flctl show workers)
	for key in $(printf '%s\n' "$json" | jq -r '.workers[0] | to_entries[] | select(.value | type == "number") | .key'); do
		case $key in id | queue | cpu) continue ;; esac
		assert_match "$text" "(^| )$key [0-9]" "show workers prints $key"
		n=$((n + 1))
	done
	assert_ge "$n" 15 "worker counters"
}

run_tests
