#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Nothing is lost across restarts: a clean restart keeps every counter and
# setting (pinned maps), a crash fails open and the next daemon takes over
# the program left behind, and the state file restores settings when the
# pins are gone (as after a reboot).
source "$(dirname "$0")/lib.sh"

PREFIX=198.51.100.0/24
PINS=$LAB_DIR/bpffs/flowlens
SYNPROXY_ADDR=198.51.100.2

no_xdp_on() {
	! ip -n "$NS_FLOWLENS" link show "$1" | grep -q 'prog/xdp'
}

test_clean_restart_keeps_counters() {
	local pkts ifpkts
	flctl protect add "$PREFIX"
	flctl config set heavy-pps 7777
	udp_send client "$SERVER4" 9 100 100
	pkts=$(ip_counter "$SERVER4" dst packets)
	ifpkts=$(if_counter cl0 .packets)
	assert_ge "$pkts" 100 "server packets before restart"

	lab stop
	no_xdp_on cl0 || fail "cl0 still has an XDP program after SIGTERM"
	no_xdp_on sv0 || fail "sv0 still has an XDP program after SIGTERM"
	assert_match "$(cat "$LAB_DIR/flowlensd.log")" 'detached from cl0' "log"
	lab start

	assert_eq "$(ip_counter "$SERVER4" dst packets)" "$pkts" "server packets after restart"
	assert_ge "$(if_counter cl0 .packets)" "$ifpkts" "cl0 packets after restart"
	assert_match "$(cat "$LAB_DIR/flowlensd.log")" 'reusing pinned maps' "log"
	assert_eq "$(flctl -j config show | jq .heavy_pps)" 7777 "heavy-pps after restart"
	assert_eq "$(flctl -j protect list | jq -r '.prefixes[].prefix')" "$PREFIX" "protected after restart"

	udp_send client "$SERVER4" 9 50 100
	assert_eq "$(ip_counter "$SERVER4" dst packets)" $((pkts + 50)) "counting goes on"
	flctl config set heavy-pps 1000
	flctl protect del "$PREFIX"
}

# SIGKILL: no chance to detach. Traffic must keep flowing (and counting)
# with no daemon, and a new daemon replaces the orphaned program.
test_crash_fails_open() {
	local pkts
	flctl protect add "$PREFIX"
	kill -KILL "$(cat "$LAB_DIR/flowlensd.pid")"
	wait_until 5 sh -c "! kill -0 $(cat "$LAB_DIR/flowlensd.pid")"
	rm -f "$LAB_DIR/flowlensd.pid"
	assert_match "$(ip -n "$NS_FLOWLENS" link show cl0)" 'prog/xdp' "program still attached"
	in_ns client ping -c 3 -i 0.05 -q "$SERVER4" || fail "traffic stopped with the daemon dead"

	lab start
	assert_match "$(cat "$LAB_DIR/flowlensd.log")" 'replacing a flowlens program left attached' "log"
	assert_eq "$(ip -n "$NS_FLOWLENS" link show cl0 | grep -c 'prog/xdp')" 1 "one program on cl0"
	pkts=$(ip_counter "$SERVER4" dst packets)
	assert_ge "$pkts" 3 "pings counted while the daemon was dead"
	udp_send client "$SERVER4" 9 10 100
	assert_eq "$(ip_counter "$SERVER4" dst packets)" $((pkts + 10)) "counting after takeover"
	flctl protect del "$PREFIX"
}

# A crash, then a reboot: the rule changes since the last rules.conf are
# in its journal, written as they happen, and nothing is lost.
test_rules_journal_after_crash() {
	local a b c mark
	mark=$(($(wc -l <"$LAB_DIR/flowlensd.log") + 1))
	a=$(flctl -j rule add dst "$SERVER4" proto udp dport 7501 action drop | jq .id)
	b=$(flctl -j rule add dst "$SERVER4" proto udp dport 7502 action drop expires 600 | jq .id)
	c=$(flctl -j rule add dst "$SERVER6" proto udp dport 7503 action drop | jq .id)
	flctl rule del "$a" >/dev/null
	assert_match "$(cat "$LAB_DIR/rules.journal")" "add $b [0-9]+ (order [0-9]+ )?dst 198.51.100.2/32 proto udp dport 7502 action drop expires" "the journal"
	kill -KILL "$(cat "$LAB_DIR/flowlensd.pid")"
	wait_until 5 sh -c "! kill -0 $(cat "$LAB_DIR/flowlensd.pid")"
	rm -f "$LAB_DIR/flowlensd.pid"
	rm -f "$PINS"/*
	lab start
	assert_match "$(tail -n "+$mark" "$LAB_DIR/flowlensd.log")" "[0-9]+ rule changes replayed from the journal" "log"
	json_check "$(flctl -j rule list)" "[.rules[].rule | sub(\" expires [0-9]+$\"; \"\") | sub(\"^order [0-9]+ \"; \"\")] | sort ==
		[\"dst 198.51.100.2/32 proto udp dport 7502 action drop\", \"dst 2001:db8:2::2/128 proto udp dport 7503 action drop\"]" "rules after the crash"
	json_check "$(flctl -j rule list)" '[.rules[].expires_in | select(. != null)] | length == 1 and .[0] > 500' "the expiring rule"
	# the start wrote rules.conf with the new ids and emptied the journal
	json_check "$(cat "$LAB_DIR/rules.conf")" '.rules | length == 2' "rules.conf after the start"
	assert_eq "$(stat -c %s "$LAB_DIR/rules.journal")" 0 "journal after the start"
	flctl rule flush >/dev/null
}

# The pins vanish (a reboot empties bpffs): settings come back from the
# state file; counters start again from zero.
test_state_file_restores_settings() {
	flctl protect add "$PREFIX"
	flctl protect add 2001:db8:2::/64
	flctl config set heavy-pps 4321
	flctl config set malformed drop
	lab stop
	rm -f "$LAB_DIR"/bpffs/flowlens/*
	lab start
	assert_match "$(cat "$LAB_DIR/flowlensd.log")" 'restored settings from' "log"
	assert_eq "$(flctl -j protect list | jq -r '[.prefixes[].prefix] | sort | join(" ")')" \
		"198.51.100.0/24 2001:db8:2::/64" "protected prefixes"
	assert_eq "$(flctl -j config show | jq -c '[.heavy_pps, .malformed]')" '[4321,"drop"]' "settings"
	flctl config set heavy-pps 1000
	flctl config set malformed pass
	flctl protect del "$PREFIX"
	flctl protect del 2001:db8:2::/64
}

# The state files flowlensd keeps, each in its envelope, and nothing left
# beside them by a save.
check_envelopes() {
	local f format
	for f in state.json:flowlens-state rules.conf:flowlens-rules \
		synproxy.json:flowlens-synproxy ddos.json:flowlens-ddos; do
		format=${f#*:}
		f=$LAB_DIR/${f%%:*}
		json_check "$(cat "$f")" ".format == \"$format\" and .version == 2 and .saved_at > 0" "$f"
		assert_eq "$(stat -c %a "$f")" 600 "mode of $f"
	done
	assert_eq "$(find "$LAB_DIR" -maxdepth 1 -name '*.tmp*' | wc -l)" 0 "temporary files left"
}

# What a reboot should bring back: settings, protected prefixes, a rule,
# a SYN proxy service and a DDoS threshold.
persisted() {
	echo "config: $(flctl -j config show | jq -c '[.heavy_pps, .malformed]')"
	echo "protect: $(flctl -j protect list | jq -c '[.prefixes[].prefix] | sort')"
	echo "rules: $(flctl -j rule list | jq -c '[.rules[].rule | sub(" expires [0-9]+$"; " expires")] | sort')"
	echo "synproxy: $(flctl -j synproxy list | jq -c '.services')"
	echo "thresholds: $(flctl -j ddos threshold list | jq -c '[.thresholds[].prefix]')"
	echo "allow: $(flctl -j ddos allow list | jq -c '.prefixes')"
}

# Back to what the other tests expect: nothing of the above.
forget_persisted() {
	flctl rule flush >/dev/null || true
	flctl synproxy del "$SYNPROXY_ADDR" port 8080 >/dev/null 2>&1 || true
	flctl ddos threshold del "$PREFIX" >/dev/null 2>&1 || true
	flctl ddos allow del 192.0.2.0/24 >/dev/null 2>&1 || true
	flctl protect del "$PREFIX" >/dev/null 2>&1 || true
	flctl protect del 2001:db8:2::/64 >/dev/null 2>&1 || true
	flctl config set heavy-pps 1000
	flctl config set malformed pass
}

# A reboot with the files as this flowlensd writes them.
test_files_restore_everything() {
	local before
	flctl protect add "$PREFIX"
	flctl config set heavy-pps 4321
	flctl config set malformed drop
	flctl rule add dst "$SERVER4" proto udp dport 7000 action drop >/dev/null
	flctl rule add dst "$SERVER6" action rate-limit 1000pps expires 600 >/dev/null
	flctl synproxy add "$SYNPROXY_ADDR" port 8080 mss 1400 >/dev/null
	flctl ddos threshold add "$PREFIX" udp-pps 50k >/dev/null
	flctl ddos allow add 192.0.2.0/24 >/dev/null
	before=$(persisted)
	echo "before: $before"
	lab stop
	check_envelopes
	rm -f "$PINS"/*
	lab start
	assert_eq "$(persisted)" "$before" "after a reboot"
	assert_match "$(cat "$LAB_DIR/flowlensd.log")" "restored 2 rules from $LAB_DIR/rules.conf" "log"
	check_envelopes
	forget_persisted
}

# The files as the flowlensd before the envelope wrote them (state.json,
# synproxy.json and ddos.json version 1 with no "format", rules.conf as
# text with a saved-at line) are read after a reboot, and written anew.
test_legacy_files_read() {
	local mark now
	lab stop
	now=$(date +%s)
	cat >"$LAB_DIR/state.json" <<-EOF
	{
	  "version":1,
	  "config":{
	    "mode":"host",
	    "malformed":"drop",
	    "heavy_pps":4321,
	    "heavy_bps":10000000,
	    "escalate":"off",
	    "escalate_tcp":24,
	    "escalate_udp":16,
	    "escalate_pps":20000
	  },
	  "protect":[
	    "$PREFIX",
	    "2001:db8:2::/64"
	  ]
	}
	EOF
	cat >"$LAB_DIR/rules.conf" <<-EOF
	# flowlens rules: one per line, as 'flctl rule load' reads them
	# saved-at $now
	order 100 dst $SERVER4/32 proto udp dport 7000 action drop
	order 50 dst $SERVER6/128 action rate-limit 1000pps burst 100 expires 600
	EOF
	cat >"$LAB_DIR/synproxy.json" <<-EOF
	{
	  "version":1,
	  "services":[
	    {
	      "addr":"$SYNPROXY_ADDR",
	      "port":8080,
	      "mss":1400,
	      "wscale":7
	    }
	  ],
	  "nft_table":false
	}
	EOF
	printf '%s' '{"version":1,"next_id":7,"thresholds":["'"$PREFIX"' udp-pps 50000 action drop hold 10"],"allow":["192.0.2.0/24"],"active":[],"history":[]}' \
		>"$LAB_DIR/ddos.json"
	rm -f "$PINS"/*
	mark=$(($(wc -l <"$LAB_DIR/flowlensd.log") + 1))
	lab start
	echo "after: $(persisted)"
	assert_match "$(tail -n +"$mark" "$LAB_DIR/flowlensd.log")" "restored settings from $LAB_DIR/state.json \(an older version\)" "log"
	assert_eq "$(flctl -j config show | jq -c '[.heavy_pps, .malformed]')" '[4321,"drop"]' "settings"
	assert_eq "$(flctl -j protect list | jq -c '[.prefixes[].prefix] | sort')" \
		"[\"$PREFIX\",\"2001:db8:2::/64\"]" "protected prefixes"
	assert_match "$(tail -n +"$mark" "$LAB_DIR/flowlensd.log")" "restored 2 rules from $LAB_DIR/rules.conf" "log"
	json_check "$(flctl -j rule list)" "[.rules[].rule | sub(\" expires [0-9]+$\"; \"\")] | sort ==
		[\"order 100 dst $SERVER4/32 proto udp dport 7000 action drop\",
		 \"order 50 dst $SERVER6/128 action rate-limit 1000pps burst 100\"]" "rules"
	json_check "$(flctl -j rule list)" '[.rules[].expires_in | select(. != null)] | length == 1 and .[0] > 500' "the expiring rule"
	json_check "$(flctl -j synproxy list)" ".services == [{\"addr\": \"$SYNPROXY_ADDR\", \"port\": 8080, \"mss\": 1400, \"wscale\": 7}]" "SYN proxy"
	json_check "$(flctl -j ddos threshold list)" "[.thresholds[] | [.prefix, .limits]] == [[\"$PREFIX\", {\"udp-pps\": 50000}]]" "thresholds"
	json_check "$(flctl -j ddos allow list)" '.prefixes == ["192.0.2.0/24"]' "allowlist"
	# Written again in the new format as soon as each module saves.
	flctl rule add dst "$SERVER4" proto udp dport 7001 action drop >/dev/null
	lab stop
	check_envelopes
	lab start
	forget_persisted
}

# The pinned maps: every one with its map id, to see nothing was replaced.
pinned_ids() {
	local f
	for f in "$PINS"/*; do
		echo "$(basename "$f") $(bpftool -j map show pinned "$f" | jq .id)"
	done
}

# The version this build writes (include/flowlens/layout.h).
LAYOUT=$(sed -n 's/^#define FL_LAYOUT_VERSION \([0-9]*\)$/\1/p' "$TOP/include/flowlens/layout.h")

layout_version() {
	bpftool -j map dump pinned "$PINS/fl_layout" | jq '.[0].formatted.value.version // .[0].value.version'
}

# flowlensd against the maps as they are; its exit status and output.
daemon_once() {
	local rc=0
	timeout 20 "$LAB" exec flowlens flowlensd -i cl0 -i sv0 >"$LAB_DIR/once.log" 2>&1 || rc=$?
	cat "$LAB_DIR/once.log"
	return $rc
}

test_layout_version_pinned() {
	assert_match "$LAYOUT" "^[0-9]+$" "FL_LAYOUT_VERSION found in layout.h"
	assert_eq "$(layout_version)" "$LAYOUT" "fl_layout read with bpftool"
}

# Maps of another layout version: refused, with what was found, what is
# expected and what to do, and left as they were.
test_layout_version_mismatch_refused() {
	local ids out rc=0
	lab stop
	bpftool map update pinned "$PINS/fl_layout" key hex 00 00 00 00 value hex 63 00 00 00
	ids=$(pinned_ids)
	out=$(daemon_once) || rc=$?
	echo "$out"
	assert_eq "$rc" 1 "exit status"
	assert_match "$out" "the maps pinned in /sys/fs/bpf/flowlens have layout version 99; this flowlensd uses layout version $LAYOUT and will not run against them" "message"
	assert_match "$out" "rm -r /sys/fs/bpf/flowlens" "what to do"
	assert_eq "$(pinned_ids)" "$ids" "the maps as they were"
	assert_eq "$(layout_version)" 99 "their version as it was"
	no_xdp_on cl0 || fail "a program was attached"
	bpftool map update pinned "$PINS/fl_layout" key hex 00 00 00 00 value $(printf '%d 0 0 0' "$LAYOUT")
	lab start
}

# Maps with no version (pinned by a flowlensd from before fl_layout):
# refused the same way; the advice given works, and the state files bring
# the settings back.
test_layout_version_missing_refused() {
	local ids out rc=0
	flctl protect add "$PREFIX"
	flctl config set heavy-pps 4321
	lab stop
	rm "$PINS/fl_layout"
	ids=$(pinned_ids)
	out=$(daemon_once) || rc=$?
	echo "$out"
	assert_eq "$rc" 1 "exit status"
	assert_match "$out" "the maps pinned in /sys/fs/bpf/flowlens have no layout version \(no fl_layout: made by an older flowlensd\); this flowlensd uses layout version $LAYOUT" "message"
	assert_eq "$(pinned_ids)" "$ids" "the maps as they were"
	[ ! -e "$PINS/fl_layout" ] || fail "fl_layout was created"
	no_xdp_on cl0 || fail "a program was attached"
	rm -r "$PINS"
	lab start
	assert_eq "$(layout_version)" "$LAYOUT" "a version with the new maps"
	assert_eq "$(flctl -j config show | jq .heavy_pps)" 4321 "heavy-pps from the state file"
	assert_eq "$(flctl -j protect list | jq -r '.prefixes[].prefix')" "$PREFIX" "protected from the state file"
	forget_persisted
}

# The flow cache's size (max_entries of fl_flows) as the kernel has it.
flows_max_entries() {
	in_ns flowlens bpftool -j map show pinned /sys/fs/bpf/flowlens/fl_flows | jq .max_entries
}

# --max-flows sizes the flow cache; a restart with another size replaces
# that map alone (an empty one, logged), every other pinned map is kept,
# and flctl reports the size.
test_max_flows_resizes_flow_cache() {
	local ids mark
	assert_eq "$(flows_max_entries)" 131072 "default size"
	assert_eq "$(flctl -j config show | jq .max_flows)" 131072 "max_flows by default"
	ids=$(pinned_ids | grep -v '^fl_flows ')
	udp_send client "$SERVER4" 9 10 100
	lab stop
	mark=$(($(wc -l <"$LAB_DIR/flowlensd.log") + 1))
	lab start --max-flows 262144
	assert_eq "$(flows_max_entries)" 262144 "bpftool: max_entries of fl_flows"
	assert_eq "$(flctl -j config show | jq .max_flows)" 262144 "flctl -j config show"
	assert_match "$(flctl config show)" '^max-flows +262144$' "flctl config show"
	assert_match "$(tail -n +"$mark" "$LAB_DIR/flowlensd.log")" \
		'the flow cache was pinned with room for 131072 flows, --max-flows asks for 262144: replaced by an empty one' "log"
	assert_eq "$(pinned_ids | grep -v '^fl_flows ')" "$ids" "every other map kept"
	assert_eq "$(layout_version)" "$LAYOUT" "layout version"
	# the same size again: the map is reused, nothing said
	ids=$(pinned_ids)
	lab stop
	mark=$(($(wc -l <"$LAB_DIR/flowlensd.log") + 1))
	lab start --max-flows 262144
	assert_eq "$(pinned_ids)" "$ids" "the same size: every map kept"
	if tail -n +"$mark" "$LAB_DIR/flowlensd.log" | grep -q 'replaced by an empty one'; then
		fail "the flow cache was replaced at the same size"
	fi
	delivered_exactly 10 "traffic after the resize" \
		udp_send client "$SERVER4" 9 10 100
	lab stop
	lab start
	assert_eq "$(flows_max_entries)" 131072 "back to the default"
}

# A bad --max-flows is refused before anything is touched.
test_max_flows_bad_value_refused() {
	local v ids
	ids=$(pinned_ids)
	lab stop
	for v in 100 16777217 0 abc 1k -5; do
		assert_fails_with "bad --max-flows '$v': a number of flows, 1024-16777216" \
			"$LAB" exec flowlens flowlensd -i cl0 -i sv0 --max-flows "$v"
	done
	assert_eq "$(pinned_ids)" "$ids" "the maps as they were"
	no_xdp_on cl0 || fail "a program was attached"
	lab start
}

# A state file from a newer flowlensd: not read, not written over.
test_newer_state_file_untouched() {
	local newer='{"format": "flowlens-state", "version": 99, "saved_at": 1, "config": {"heavy_pps": 5}}'
	lab stop
	echo "$newer" >"$LAB_DIR/state.json"
	rm -f "$PINS"/*
	lab start
	assert_match "$(cat "$LAB_DIR/flowlensd.log")" "state.json is version 99 of flowlens-state, newer than this flowlensd knows \(2\)" "log"
	flctl config set heavy-pps 2000
	lab stop
	assert_eq "$(cat "$LAB_DIR/state.json")" "$newer" "the file as it was"
	rm "$LAB_DIR/state.json"
	lab start
	flctl config set heavy-pps 1000
}

run_tests
