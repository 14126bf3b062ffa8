#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# flowlensd's core: the modules open in main.c's order and all answer
# `flctl show daemon`; the loop ticks; the event bus carries every rule
# added or removed (operator, expiry); SIGHUP has every module write its
# state file through the one writer; every request the protocol table
# defines is served by exactly one module.
source "$(dirname "$0")/lib.sh"

MODULES='["control","metrics","loader","attach","forward","settings","rates","rules","events","ddos","synproxy","policy","voip","hep","workers","export","bgp"]'

published() { flctl -j show daemon | jq ".bus.published[\"$1\"]"; }

cleanup() {
	flctl rule flush >/dev/null 2>&1 || true
}

test_modules_in_order() {
	local out
	out=$(flctl -j show daemon)
	echo "$out" | jq -c '.modules'
	json_check "$out" "[.modules[].name] == $MODULES" "modules in main.c's order"
	json_check "$out" '[.modules[] | select(.open | not)] == []' "every module open"
	json_check "$out" '.modules[] | select(.name == "rates") | .tick_ms == 100' "rates every tick"
	json_check "$out" '.modules[] | select(.name == "rules") | .tick_ms == 1000' "rules once a second"
	json_check "$out" '[.modules[] | select(.saves) | .name] == ["settings","rules","ddos","synproxy","policy","voip","hep","export","bgp"]' \
		"the modules that keep a file"
	# every request the daemon lists is one module's
	assert_eq "$(echo "$out" | jq '[.modules[].commands] | add')" \
		"$(in_ns flowlens flowlensd --list-commands | wc -l)" "commands over the modules"
	json_check "$out" '.bus.subscribers[] | select(.name == "events") | .events | index("attack-started") != null' \
		"the events file subscribes to attacks"
	# the text form names them in the same order
	assert_eq "$(flctl show daemon | awk '/^  [a-z]+ +(yes|no) / { print $1 }' | paste -sd,)" \
		"$(echo "$MODULES" | jq -r 'join(",")')" "show daemon's text"
	assert_match "$(flctl show daemon)" \
		'^loop: [0-9]+ ticks \([0-9.]+ s in all, the last [0-9.]+ ms, the longest [0-9.]+ ms\), [0-9]+ descriptors watched$' \
		"the loop's tick times in the text"
}

test_loop_ticks() {
	local t0
	t0=$(flctl -j show daemon | jq .loop.ticks)
	wait_for 10 '[ "$(flctl -j show daemon | jq .loop.ticks)" -ge $((t0 + 10)) ]'
	json_check "$(flctl -j show daemon)" '.loop.descriptors >= 3' "signal, tick and socket watched"
	json_check "$(flctl -j show daemon)" \
		'.loop.tick_seconds > 0 and .loop.tick_max_seconds >= .loop.tick_last_seconds and .loop.tick_last_seconds > 0' \
		"time spent in ticks"
}

test_rule_events_on_the_bus() {
	local added removed id
	added=$(published rule-added)
	removed=$(published rule-removed)
	id=$(flctl -j rule add dst 198.51.100.77/32 proto udp action drop | jq .id)
	flctl rule add dst 198.51.100.78/32 action drop >/dev/null
	flctl rule add dst 198.51.100.79/32 action drop >/dev/null
	assert_eq "$(published rule-added)" $((added + 3)) "rule-added events"
	flctl rule del "$id" >/dev/null
	assert_eq "$(published rule-removed)" $((removed + 1)) "rule-removed after del"
	flctl rule flush >/dev/null
	assert_eq "$(published rule-removed)" $((removed + 3)) "rule-removed after flush"
	# an expiring rule is removed by the rules module's tick
	flctl rule add dst 198.51.100.80/32 action drop expires 1 >/dev/null
	wait_for 10 '[ "$(published rule-removed)" -eq $((removed + 4)) ]'
	assert_eq "$(published rule-added)" $((added + 4)) "rule-added events in all"
}

test_sighup_saves_every_module() {
	local f
	flctl rule add dst 198.51.100.81/32 action drop >/dev/null
	for f in state.json rules.conf synproxy.json ddos.json; do
		rm -f "$LAB_DIR/$f"
	done
	kill -HUP "$(cat "$LAB_DIR/flowlensd.pid")"
	wait_until 5 test -s "$LAB_DIR/ddos.json"
	for f in state rules synproxy ddos; do
		case $f in
		rules) file=rules.conf ;;
		*) file=$f.json ;;
		esac
		wait_until 5 test -s "$LAB_DIR/$file"
		json_check "$(cat "$LAB_DIR/$file")" ".format == \"flowlens-$f\"" "$file after SIGHUP"
	done
	json_check "$(cat "$LAB_DIR/rules.conf")" '.rules | index("order 1000 dst 198.51.100.81/32 action drop") != null' \
		"the rule in rules.conf"
	daemon_alive || fail "flowlensd did not survive SIGHUP"
	ls "$LAB_DIR" | grep -v '\.tmp' >/dev/null
	[ -z "$(find "$LAB_DIR" -maxdepth 1 -name '*.tmp*')" ] || fail "temporary files left: $(ls "$LAB_DIR")"
}

run_tests
