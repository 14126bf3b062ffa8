#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# flctl against a running flowlensd: the daemon's errors (as {"error": ...}
# with -j too), objects and commands match by unique prefix, every command
# prints valid JSON, a missing daemon is reported in one line, and the
# protect, config and synproxy commands round-trip through flowlensd (the
# SYN proxy's nftables table and sysctl too, across restarts and a crash).
# What flctl and flowlensd refuse or explain on their own, with no daemon
# (bad arguments, help), is test_cli.sh's.
source "$(dirname "$0")/lib.sh"

# Prefixes and addresses no other test uses (TEST-NET-3, a documentation
# /48 outside the lab's subnets).
PROTECT4=203.0.113.0/24
PROTECT6=2001:db8:ff::/48

# The first address/prefix column of `flctl protect list`.
protect_list_text() {
	flctl protect list | awk 'NR > 1 { print $1 }'
}

protect_listed_json() {
	flctl -j protect list |
		jq -e --arg p "$1" 'any(.prefixes[]; .prefix == $p)' >/dev/null
}

protect_cleanup() {
	flctl protect del "$PROTECT4" >/dev/null 2>&1 || true
	flctl protect del "$PROTECT6" >/dev/null 2>&1 || true
	flctl protect del "$SERVER6/128" >/dev/null 2>&1 || true
}

# An interface flowlensd is not attached to is the daemon's error.
test_unknown_interface() {
	assert_fails_with "flowlensd is not attached to 'nosuch0'" \
		flctl show stats nosuch0
}

# flctl refuses bad prefixes itself (test_cli.sh); none of them reaches
# the daemon's protected list. Whether a prefix is a host is the daemon's
# question.
test_bad_prefixes() {
	local p
	for p in "" 300.1.1.1 foo 198.51.100.7/24 10.1.2.3/12 2001:db8::1/32 \
		10.0.0.0/33 2001:db8::/129 10.0.0.0/ 10.0.0.0/x; do
		# shellcheck disable=SC2086 # "" is no argument at all
		if flctl protect add $p 2>/dev/null; then
			fail "protect add '$p' succeeded"
		fi
	done
	assert_fails_with "'198\.51\.100\.0/24' is a prefix; give one address" \
		flctl show ip 198.51.100.0/24
	assert_fails_with "'2001:db8:2::/64' is a prefix; give one address" \
		flctl show ip 2001:db8:2::/64
	# None of them reached the protected list.
	assert_eq "$(flctl -j protect list | jq -c .prefixes)" "[]" \
		"protected prefixes after bad adds"
}

# flctl refuses bad settings itself (test_cli.sh); none of them changes
# the daemon's.
test_bad_config_set() {
	local before kv
	before=$(flctl -j config show)
	for kv in "colour red" "heavy 5000" "malformed maybe" "heavy-pps 0" \
		"heavy-pps abc" "heavy-bps 10x" "heavy-bps -5"; do
		# shellcheck disable=SC2086 # word splitting is the point
		if flctl config set $kv 2>/dev/null; then
			fail "config set $kv succeeded"
		fi
	done
	assert_eq "$(flctl -j config show)" "$before" \
		"settings after refused config set"
}

ddos_cleanup() {
	flctl ddos threshold del "$PROTECT4" >/dev/null 2>&1 || true
	flctl ddos threshold del "$PROTECT4" source >/dev/null 2>&1 || true
	flctl ddos allow del "$PROTECT6" >/dev/null 2>&1 || true
	protect_cleanup
}

# The ddos commands against flowlensd: what flctl sends comes back in the
# canonical form, -j prints the reply, the daemon's errors name the word.
test_ddos_round_trip() {
	local out
	trap ddos_cleanup EXIT
	out=$(flctl ddos threshold add "$PROTECT4" pps 50k udp-pps 20k)
	assert_eq "$out" "added threshold $PROTECT4 pps 50000 udp-pps 20000 action drop hold 60
protecting $PROTECT4 too (its hosts need exact counters)" "ddos threshold add"
	assert_match "$(flctl protect list)" "^$PROTECT4 " "protected by threshold add"
	out=$(flctl -j ddos threshold add "$PROTECT4" pps 5k action rate-limit 10kpps hold 30)
	json_check "$out" ".replaced and (.protected | not) and .threshold.prefix == \"$PROTECT4\" and .threshold.limits == {\"pps\": 5000} and .threshold.rate_unit == \"pps\" and .threshold.hold == 30" \
		"flctl -j ddos threshold add (replacing)"
	flctl ddos threshold add "$PROTECT4" source pps 10k bps 100M >/dev/null
	out=$(flctl ddos threshold list | grep -F "$PROTECT4")
	assert_match "$out" "^$PROTECT4 +destination +pps 5k +rate-limit 10kpps +30s$" "threshold list"
	assert_match "$out" "^$PROTECT4 +source +pps 10k bps 100M +drop +60s$" "threshold list"
	assert_match "$(flctl ddos threshold list)" '^PREFIX +DIRECTION +LIMITS +ACTION +HOLD$' "threshold list header"
	assert_fails_with "unknown word 'ppx'" flctl ddos threshold add "$PROTECT4" ppx 5
	assert_fails_with "'tcp-pps' is not a source metric" \
		flctl ddos threshold add "$PROTECT4" source tcp-pps 5
	assert_json_error "bad value 'x' for pps" ddos threshold add "$PROTECT4" pps x
	assert_eq "$(flctl ddos t d "$PROTECT4" source)" \
		"deleted threshold $PROTECT4 source pps 10000 bps 100000000 action drop hold 60" \
		"ddos t d PREFIX source"
	flctl ddos threshold del "$PROTECT4" >/dev/null
	assert_fails_with "$PROTECT4 has no destination threshold" \
		flctl ddos threshold del "$PROTECT4"

	assert_eq "$(flctl ddos allow add 2001:DB8:FF::/48)" "allowlisted $PROTECT6" "ddos allow add"
	assert_fails_with "$PROTECT6 is already allowlisted" flctl ddos allow add "$PROTECT6"
	assert_eq "$(flctl ddos allow list | grep -cxF "$PROTECT6")" 1 "ddos allow list"
	json_check "$(flctl -j ddos allow list)" "any(.prefixes[]; . == \"$PROTECT6\")" "flctl -j ddos allow list"
	assert_eq "$(flctl ddos al d "$PROTECT6")" "no longer allowlisted $PROTECT6" "ddos al d"
	assert_fails_with "$PROTECT6 is not allowlisted" flctl ddos allow del "$PROTECT6"

	json_check "$(flctl -j ddos attacks)" '.attacks | type == "array"' "flctl -j ddos attacks"
	json_check "$(flctl -j ddos attacks --all)" '.attacks | type == "array"' "flctl -j ddos attacks --all"
	json_check "$(flctl -j ddos status)" '(.victims | type == "array") and (.active | type == "number") and (.thresholds | type == "number")' \
		"flctl -j ddos status"
	assert_match "$(flctl ddos status)" '^[0-9]+ thresholds?, [0-9]+ active attacks?$' "ddos status"
}

# -j turns the errors from the daemon's side of the socket into
# {"error": ...} too (flctl's own: test_cli.sh).
test_json_daemon_errors() {
	assert_json_error "flowlensd is not attached to 'nosuch0'" show stats nosuch0
	assert_json_error "is a prefix; give one address" show ip 198.51.100.0/24
	assert_json_error "is not protected" protect del "$PROTECT4"
}

test_prefix_matching() {
	local full short
	# flctl sh st == flctl show stats: same interfaces, same shape.
	full=$(flctl -j show stats | jq -c '[.interfaces[] | [.name, .xdp_mode, keys]], (.total | keys)')
	short=$(flctl -j sh st | jq -c '[.interfaces[] | [.name, .xdp_mode, keys]], (.total | keys)')
	assert_eq "$short" "$full" "flctl -j sh st"
	full=$(flctl show stats | grep -v '^ ')
	short=$(flctl sh st | grep -v '^ ')
	assert_eq "$short" "$full" "section titles of flctl sh st"
	assert_match "$short" '^cl0 \(ifindex [0-9]+, native XDP, host mode\)$' "flctl sh st"
	# Interface names are names, not prefixes.
	assert_fails_with "flowlensd is not attached to 'sv'" flctl sh st sv

	# flctl t s -n 1 == flctl top src -n 1
	assert_eq "$(flctl -j t s -n 1 | jq -c '[.side, .by, (.entries | length <= 1)]')" \
		'["src","pps",true]' "flctl -j t s -n 1"
	assert_match "$(flctl t s -n 1)" '^Top sources by pps over the last' "flctl t s -n 1"
	assert_eq "$(flctl -j t d --by syn | jq -c '[.side, .by]')" '["dst","syn"]' \
		"flctl -j t d --by syn"

	# flctl pr a / pr l / pro d == protect add / list / del; 'p' alone
	# is protect, policy or policer
	trap protect_cleanup EXIT
	assert_fails_with "'p' is ambiguous: protect or policy" flctl p l
	assert_eq "$(flctl pr a "$PROTECT4")" "protecting $PROTECT4" "flctl pr a"
	assert_eq "$(flctl pr l)" "$(flctl protect list)" "flctl pr l"
	assert_match "$(flctl pr l | awk '{ print $1 }')" "^$PROTECT4\$" "flctl pr l"
	assert_eq "$(flctl pro d "$PROTECT4")" "no longer protecting $PROTECT4" "flctl pro d"
	assert_eq "$(flctl pr l)" "no protected prefixes" "flctl pr l after pro d"

	# flctl co sh == flctl config show
	assert_eq "$(flctl co sh)" "$(flctl config show)" "flctl co sh"
	assert_eq "$(flctl -j c sh)" "$(flctl -j config show)" "flctl -j c sh"
	assert_match "$(flctl co sh)" '^heavy-pps +[0-9]+$' "flctl co sh"
	assert_match "$(flctl hel)" '^Usage: flctl ' "flctl hel"
	assert_match "$(flctl ve)" '^flctl [0-9]' "flctl ve"
	assert_fails_with "'h' is ambiguous: hep or help\?" flctl h
	assert_fails_with "'v' is ambiguous: voip or version\?" flctl v

	# Ambiguous prefixes name every candidate.
	assert_fails_with "'s' is ambiguous: show or set\?" flctl config s
	assert_fails_with "'s' is ambiguous: show or set\?" flctl co s x
	assert_fails_with "'heavy' is ambiguous: heavy-pps or heavy-bps\?" \
		flctl co se heavy 5k
	assert_fails_with "'heavy-' is ambiguous: heavy-pps or heavy-bps\?" \
		flctl config set heavy- 5k
}

test_version() {
	local daemon_version out json args
	daemon_version=$(in_ns flowlens flowlensd -V | awk '{ print $2 }')
	assert_match "$daemon_version" '^[0-9]+\.[0-9]+' "flowlensd -V"
	for args in -V --version version ve; do
		out=$(flctl "$args")
		echo "flctl $args: $out"
		assert_eq "$(printf '%s\n' "$out" | wc -l)" 2 "lines of flctl $args"
		assert_eq "$(printf '%s\n' "$out" | sed -n 1p)" "flctl $daemon_version" \
			"flctl $args, first line"
		assert_match "$(printf '%s\n' "$out" | sed -n 2p)" \
			"^flowlensd $daemon_version \(libbpf [0-9]+\.[0-9]+, up [0-9]+s\)\$" \
			"flctl $args, second line"
	done
	json=$(flctl -j -V)
	json_check "$json" '.flctl | type == "string"' "flctl -j -V"
	json_check "$json" '.flowlensd.uptime >= 0' "flctl -j -V"
}

# Every command's -j output parses and has its keys.
test_json_output() {
	local out
	out=$(flctl -j show stats)
	json_check "$out" '[.interfaces[].name] == ["cl0", "sv0"]' "show stats interfaces"
	json_check "$out" '.interfaces | all(has("ifindex") and has("xdp_mode") and has("packets") and has("bytes") and has("pps") and has("bps"))' \
		"show stats interface keys"
	json_check "$out" '.total | has("packets") and has("bytes") and has("pps") and has("bps")' \
		"show stats total"
	json_check "$out" '.total.verdicts | has("pass") and has("drop")' "show stats verdicts"
	json_check "$out" '.total.kinds | has("ipv4") and has("ipv6") and has("tcp_syn")' \
		"show stats kinds"
	json_check "$out" '.total.parse_errors | has("ipv4_truncated")' "show stats parse_errors"
	# One reply reads each interface once, so the total is their exact sum.
	json_check "$out" '.total.packets == ([.interfaces[].packets] | add) and .total.bytes == ([.interfaces[].bytes] | add)' \
		"show stats total is the sum of the interfaces"

	out=$(flctl -j show stats cl0)
	json_check "$out" '.interfaces | length == 1' "show stats cl0: one interface"
	json_check "$out" '.interfaces[0] | .name == "cl0" and .xdp_mode == "native" and (.ifindex | type == "number")' \
		"show stats cl0"
	json_check "$out" 'has("total")' "show stats cl0: total"

	out=$(flctl -j show ip "$SERVER4")
	json_check "$out" '.addr == "198.51.100.2"' "show ip addr"
	json_check "$out" '(.tracked | type == "boolean") and (.reasons | type == "array")' \
		"show ip tracked, reasons"
	json_check "$out" '[.src, .dst] | all(has("packets") and has("bytes") and has("syns") and has("pps") and has("bps") and has("syn_pps"))' \
		"show ip src, dst"
	out=$(flctl -j show ip 2001:DB8:2:0::2)
	json_check "$out" '.addr == "2001:db8:2::2"' "show ip prints the address canonically"

	out=$(flctl -j top src)
	json_check "$out" '.side == "src" and .by == "pps"' "top src"
	json_check "$out" '(.entries | type == "array") and (.interval | type == "number") and (.tracked_addresses | type == "number")' \
		"top src keys"
	out=$(flctl -j top dst -n 3 --by bps)
	json_check "$out" '.side == "dst" and .by == "bps" and (.entries | length <= 3)' \
		"top dst -n 3 --by bps"

	out=$(flctl -j protect list)
	json_check "$out" '.prefixes | type == "array"' "protect list"

	out=$(flctl -j synproxy list)
	json_check "$out" '(.services | type == "array") and (.nft_table | type == "boolean") and has("tcp_loose_saved")' \
		"synproxy list"
	out=$(flctl -j synproxy stats)
	json_check "$out" '.services | type == "array"' "synproxy stats"

	out=$(flctl -j config show)
	json_check "$out" '.mode == "host" and (.malformed | test("^(pass|drop)$"))' "config show"
	json_check "$out" '(.heavy_pps | type == "number") and (.heavy_bps | type == "number")' \
		"config show rates"

	out=$(flctl -j version)
	json_check "$out" '(.flctl | type == "string") and (.flowlensd | has("version") and has("libbpf") and has("uptime"))' \
		"version"

	# Help and the objects' help print JSON null, not text, with -j.
	assert_eq "$(flctl -j top help)" null "flctl -j top help"
}

test_pretty_json() {
	local args plain pretty
	for args in "show stats" "show stats cl0" "show ip $SERVER4" "top src" \
		"top dst -n 3 --by bps" "protect list" "config show" "version" \
		"synproxy list" "synproxy stats"; do
		# shellcheck disable=SC2086
		plain=$(flctl -j $args)
		# shellcheck disable=SC2086
		pretty=$(flctl -p $args)
		assert_eq "$(printf '%s\n' "$plain" | wc -l)" 1 "lines of flctl -j $args"
		assert_ge "$(printf '%s\n' "$pretty" | wc -l)" 3 "lines of flctl -p $args"
		printf '%s\n' "$pretty" | jq -e . >/dev/null ||
			fail "flctl -p $args is not JSON: $pretty"
		assert_eq "$(printf '%s\n' "$pretty" | jq -c 'paths | map(tostring) | join(".")' | sort | md5sum)" \
			"$(printf '%s\n' "$plain" | jq -c 'paths | map(tostring) | join(".")' | sort | md5sum)" \
			"the same keys in flctl -p $args and -j"
	done
	# Settings do not move, so pretty and plain are the same document.
	assert_eq "$(flctl -p config show | jq -c .)" "$(flctl -j config show | jq -c .)" \
		"flctl -p config show"
	assert_eq "$(flctl config show --pretty | jq -c .)" "$(flctl -j config show | jq -c .)" \
		"flctl config show --pretty"
}

# FLOWLENS_SOCKET and -s point flctl elsewhere; with nobody listening there
# it says so in one line.
test_daemon_not_running() {
	local sock="$LAB_DIR/nobody-listens.sock" stale="$LAB_DIR/stale.sock"
	local out err rc how
	# shellcheck disable=SC2064 # expand now: the locals are gone at exit
	trap "rm -f '$stale'" EXIT
	rm -f "$sock" "$stale"
	# A socket file left behind by a dead daemon: connect() is refused.
	python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$stale"
	[ -S "$stale" ] || fail "could not create $stale"

	for how in env -s --socket= stale; do
		rc=0
		case $how in
		env) err=$( (in_ns flowlens env FLOWLENS_SOCKET="$sock" flctl show stats >/dev/null) 2>&1) || rc=$? ;;
		-s) err=$( (flctl -s "$sock" show stats >/dev/null) 2>&1) || rc=$? ;;
		--socket=) err=$( (flctl show stats --socket="$sock" >/dev/null) 2>&1) || rc=$? ;;
		stale) err=$( (flctl -s "$stale" show stats >/dev/null) 2>&1) || rc=$? ;;
		esac
		echo "$how: rc $rc: $err"
		[ $rc -ne 0 ] || fail "$how: flctl show stats succeeded without a daemon"
		assert_eq "$(printf '%s\n' "$err" | wc -l)" 1 "$how: lines on stderr"
		assert_match "$err" '^flctl: flowlensd is not running \(cannot connect to .*\)$' "$how: stderr"
	done
	assert_match "$(flctl -s "$sock" show stats 2>&1 || true)" "No such file or directory" \
		"missing socket"
	assert_match "$(flctl -s "$stale" show stats 2>&1 || true)" "Connection refused" \
		"stale socket"
	out=$(flctl -s "$sock" show stats 2>/dev/null || true)
	assert_eq "$out" "" "stdout of a failed flctl show stats"
	assert_json_error "flowlensd is not running" -s "$sock" protect list

	# version needs no daemon.
	out=$(in_ns flowlens env FLOWLENS_SOCKET="$sock" flctl version)
	assert_match "$out" '^flctl [0-9]+\.[0-9]+' "flctl version without a daemon"
	assert_match "$out" '^flowlensd not running$' "flctl version without a daemon"
	out=$(flctl -s "$stale" -V)
	assert_match "$out" '^flowlensd not running$' "flctl -V with a stale socket"
	out=$(flctl -j -s "$sock" version)
	json_check "$out" '(.flctl | type == "string") and .flowlensd == null' \
		"flctl -j version without a daemon"

	# The real daemon is still there, and its socket is the default.
	assert_match "$(flctl version)" '^flowlensd [0-9]' "flctl version with the daemon"
}

protect_round_trip() {
	local given=$1 prefix=$2 out
	out=$(flctl protect add "$given")
	assert_eq "$out" "protecting $prefix" "protect add $given"
	assert_eq "$(protect_list_text | grep -cxF "$prefix")" 1 "text list after add"
	protect_listed_json "$prefix" || fail "$prefix not in flctl -j protect list"
	json_check "$(flctl -j protect list)" \
		"any(.prefixes[]; .prefix == \"$prefix\" and (.hosts | type == \"number\") and has(\"rx_pps\") and has(\"tx_bps\"))" \
		"list entry of $prefix"

	assert_fails_with "$prefix is already protected" flctl protect add "$prefix"
	assert_fails_with "$prefix is already protected" flctl protect add "$given"
	assert_eq "$(protect_list_text | grep -cxF "$prefix")" 1 "times $prefix is listed"

	out=$(flctl -j protect del "$given")
	json_check "$out" ".prefix == \"$prefix\"" "protect del $given"
	assert_eq "$(protect_list_text | grep -cxF "$prefix")" 0 "text list after del"
	if protect_listed_json "$prefix"; then
		fail "$prefix still in flctl -j protect list after del"
	fi
	assert_fails_with "$prefix is not protected" flctl protect del "$prefix"
}

test_protect_round_trip() {
	trap protect_cleanup EXIT
	assert_eq "$(flctl protect list)" "no protected prefixes" "protect list at start"
	protect_round_trip "$PROTECT4" "$PROTECT4"
	# Given in another spelling, shown canonically.
	protect_round_trip 2001:DB8:FF:0::/48 "$PROTECT6"
	protect_round_trip "$SERVER6" "$SERVER6/128"

	# Both families at once (IPv4 listed first), and one leaves without
	# taking the other.
	flctl protect add "$PROTECT6" >/dev/null
	flctl protect add "$PROTECT4" >/dev/null
	assert_eq "$(protect_list_text | tr '\n' ' ')" "$PROTECT4 $PROTECT6 " \
		"both families listed"
	flctl protect del "$PROTECT4" >/dev/null
	assert_eq "$(protect_list_text | tr '\n' ' ')" "$PROTECT6 " "after deleting $PROTECT4"
	flctl protect del "$PROTECT6" >/dev/null
	assert_eq "$(flctl protect list)" "no protected prefixes" "protect list at the end"
}

config_restore() {
	flctl config set malformed "$(printf '%s\n' "$ORIG_CONFIG" | jq -r .malformed)" >/dev/null || true
	flctl config set heavy-pps "$(printf '%s\n' "$ORIG_CONFIG" | jq -r .heavy_pps)" >/dev/null || true
	flctl config set heavy-bps "$(printf '%s\n' "$ORIG_CONFIG" | jq -r .heavy_bps)" >/dev/null || true
}

test_config_set() {
	local out
	ORIG_CONFIG=$(flctl -j config show)
	trap config_restore EXIT
	# A fresh lab has the documented defaults.
	json_check "$ORIG_CONFIG" '.malformed == "pass" and .heavy_pps == 1000 and .heavy_bps == 10000000' \
		"default settings"
	assert_match "$(flctl config help)" '\(default 1000\)' "config help names the default"

	out=$(flctl config set malformed drop)
	assert_match "$out" '^malformed +drop$' "config set prints the new settings"
	assert_match "$(flctl config show)" '^malformed +drop$' "config show after set malformed drop"
	assert_eq "$(flctl -j config show | jq -r .malformed)" drop "malformed after set drop"
	flctl config set malformed pass >/dev/null
	assert_match "$(flctl config show)" '^malformed +pass$' "config show after set malformed pass"

	out=$(flctl -j config set heavy-pps 20k)
	json_check "$out" '.heavy_pps == 20000' "flctl -j config set heavy-pps 20k"
	assert_match "$(flctl config show)" '^heavy-pps +20000$' "config show after heavy-pps 20k"
	assert_eq "$(flctl -j config show | jq .heavy_pps)" 20000 "heavy_pps after 20k"
	# A unique key prefix is enough; M and decimals scale.
	flctl config set heavy-b 2.5M >/dev/null
	assert_eq "$(flctl -j config show | jq .heavy_bps)" 2500000 "heavy_bps after 2.5M"
	flctl config set mal drop >/dev/null
	assert_eq "$(flctl -j config show | jq -r .malformed)" drop "malformed after 'mal drop'"
	# Each set leaves the others alone.
	json_check "$(flctl -j config show)" '.heavy_pps == 20000 and .heavy_bps == 2500000 and .mode == "host"' \
		"settings after three changes"

	config_restore
	assert_eq "$(flctl -j config show)" "$ORIG_CONFIG" "settings restored"
}

# Rates are plain decimals with a unit (what flctl refuses: test_cli.sh).
test_decimal_rate() {
	flctl config set heavy-pps 2.5k
	assert_eq "$(flctl -j config show | jq .heavy_pps)" 2500 "2.5k"
	flctl config set heavy-pps 1000
}

# ---- the SYN proxy ----

# The server's address and tcp_transfer's port, so a real connection goes
# through the proxy; a second service on IPv6.
SP4=$SERVER4
SP6=$SERVER6
SP_PORT=5001
SP_TABLE="table inet flowlens_synproxy"

sp_tcp_loose() {
	in_ns flowlens sysctl -n net.netfilter.nf_conntrack_tcp_loose
}

sp_table_present() {
	in_ns flowlens nft list tables | grep -qxF "$SP_TABLE"
}

# sp_counter ADDR PORT NAME: one counter from flctl -j synproxy stats.
sp_counter() {
	flctl -j synproxy stats "$1" port "$2" | jq -r ".services[0].$3"
}

synproxy_cleanup() {
	local s
	for s in $(flctl -j synproxy list 2>/dev/null | jq -r '.services[] | "\(.addr)/\(.port)"'); do
		flctl synproxy del "${s%/*}" port "${s##*/}" >/dev/null 2>&1 || true
	done
}

# What flowlensd refuses of a request flctl would not send (what flctl
# refuses itself: test_cli.sh); nothing reaches the service list.
test_bad_synproxy_requests() {
	# The daemon's own checks, for clients other than flctl.
	local req out
	for req in '{"cmd": "synproxy-add"}|missing "addr"' \
		'{"cmd": "synproxy-add", "addr": "192.0.2.9"}|missing "port"' \
		'{"cmd": "synproxy-add", "addr": "192.0.2.9", "port": "80"}|port must be a number from 1 to 65535' \
		'{"cmd": "synproxy-add", "addr": "192.0.2.9", "port": 70000}|port must be a number from 1 to 65535, not 70000' \
		'{"cmd": "synproxy-add", "addr": "192.0.2.9", "port": 80, "mss": 100}|mss must be a number from 536 to 9000, not 100' \
		'{"cmd": "synproxy-add", "addr": "192.0.2.9", "port": 80, "wscale": 15}|wscale must be a number from 0 to 14, not 15' \
		'{"cmd": "synproxy-add", "addr": "192.0.2.0/24", "port": 80}|is a prefix; give one address' \
		'{"cmd": "synproxy-stats", "port": 80}|"port" needs an "addr"' \
		'{"cmd": "synproxy-del", "addr": "192.0.2.9", "port": 80}|no SYN proxy on 192\.0\.2\.9 port 80'; do
		out=$(ctl_request "${req%%|*}")
		echo "${req%%|*} -> $out"
		json_check "$out" '.ok == false' "reply to ${req%%|*}"
		assert_match "$(printf '%s\n' "$out" | jq -r .error)" "${req#*|}" "error for ${req%%|*}"
	done

	json_check "$(flctl -j synproxy list)" '.services == []' "services after bad adds"
	sp_table_present && fail "$SP_TABLE exists with no service"
	return 0
}

test_synproxy_round_trip() {
	local out loose
	trap synproxy_cleanup EXIT
	loose=$(sp_tcp_loose)
	echo "nf_conntrack_tcp_loose at start: $loose"
	assert_eq "$(flctl synproxy list)" "no SYN proxy services" "synproxy list at start"
	sp_table_present && fail "$SP_TABLE exists before any service"

	out=$(flctl synproxy add "$SP4" port "$SP_PORT")
	assert_eq "$out" "SYN proxy on $SP4 port $SP_PORT (mss 1460, wscale 7)" "synproxy add"
	sp_table_present || fail "no $SP_TABLE after synproxy add"
	assert_eq "$(sp_tcp_loose)" 0 "nf_conntrack_tcp_loose with a service"
	out=$(in_ns flowlens nft list table inet flowlens_synproxy)
	assert_match "$out" "elements = \{ $SP4 \. $SP_PORT \}" "nft set of $SP4"
	assert_match "$out" 'synproxy mss 1460 wscale 7 timestamp sack-perm' "nft synproxy statement"
	assert_match "$out" 'type filter hook prerouting priority raw' "nft prerouting chain"
	assert_match "$out" 'notrack' "nft notrack rule"
	assert_match "$out" 'ct state invalid drop' "nft drop rule"

	# IPv6, in another spelling, with its own settings, through -j.
	out=$(flctl -j synproxy add 2001:DB8:2:0::2 port 443 mss 1440 wscale 9)
	json_check "$out" ".service == {\"addr\": \"$SP6\", \"port\": 443, \"mss\": 1440, \"wscale\": 9} and (.updated | not) and .warning == null" \
		"flctl -j synproxy add (IPv6)"
	out=$(in_ns flowlens nft list table inet flowlens_synproxy)
	assert_match "$out" "elements = \{ $SP6 \. 443 \}" "nft set of $SP6"
	assert_match "$out" 'ip6 daddr \. tcp dport @[a-z0-9_]+ ct state invalid,untracked synproxy mss 1440 wscale 9 timestamp sack-perm' \
		"nft synproxy statement for IPv6"

	# list: sorted, IPv4 first; text and JSON agree.
	out=$(flctl synproxy list)
	assert_match "$out" '^ADDRESS +PORT +MSS +WSCALE$' "synproxy list header"
	assert_eq "$(printf '%s\n' "$out" | awk 'NR > 1 { print $1, $2, $3, $4 }' | tr '\n' ';')" \
		"$SP4 $SP_PORT 1460 7;$SP6 443 1440 9;" "synproxy list"
	json_check "$(flctl -j synproxy list)" ".services == [{\"addr\": \"$SP4\", \"port\": $SP_PORT, \"mss\": 1460, \"wscale\": 7}, {\"addr\": \"$SP6\", \"port\": 443, \"mss\": 1440, \"wscale\": 9}] and .nft_table" \
		"flctl -j synproxy list"

	# An existing service gets new settings, and the reply says so.
	out=$(flctl synproxy add "$SP4" port "$SP_PORT" mss 1400)
	assert_eq "$out" "SYN proxy on $SP4 port $SP_PORT updated (mss 1400, wscale 7; was mss 1460, wscale 7)" \
		"synproxy add on an existing service"
	out=$(flctl -j synproxy add "$SP4" port "$SP_PORT" mss 1400 wscale 5)
	json_check "$out" '.updated and .service.mss == 1400 and .service.wscale == 5 and .was.wscale == 7' \
		"flctl -j synproxy add on an existing service"
	assert_match "$(in_ns flowlens nft list table inet flowlens_synproxy)" \
		'ip daddr \. tcp dport @[a-z0-9_]+ ct state invalid,untracked synproxy mss 1400 wscale 5 ' "nft after the update"
	assert_eq "$(flctl -j synproxy list | jq -c '[.services[] | [.port, .mss, .wscale]]')" \
		"[[$SP_PORT,1400,5],[443,1440,9]]" "settings after the update"

	# stats: every counter of every service, or of one address, or one.
	out=$(flctl -j synproxy stats)
	json_check "$out" '.services | length == 2' "synproxy stats: two services"
	for c in $SP_COUNTERS addr port mss wscale; do
		json_check "$out" "all(.services[]; has(\"$c\"))" "synproxy stats has $c"
	done
	json_check "$out" "all(.services[]; [$(printf '.%s,' $SP_COUNTERS | sed 's/,$//')] | all(type == \"number\"))" \
		"synproxy stats counters are numbers"
	json_check "$(flctl -j synproxy stats "$SP6")" ".services | length == 1 and .[0].addr == \"$SP6\"" \
		"synproxy stats ADDR"
	json_check "$(flctl -j synproxy stats "$SP6" port 443)" ".services | length == 1 and .[0].port == 443" \
		"synproxy stats ADDR port PORT"
	out=$(flctl synproxy stats "$SP4" port "$SP_PORT")
	assert_match "$out" "^$SP4 port $SP_PORT \(mss 1400, wscale 5\)$" "synproxy stats text"
	for c in $SP_COUNTERS; do
		assert_match "$out" "^  $c +[0-9]+$" "synproxy stats text: $c"
	done
	assert_fails_with "no SYN proxy on $SP4 port 443" flctl synproxy stats "$SP4" port 443
	assert_fails_with "no SYN proxy on 192\.0\.2\.9$" flctl synproxy stats 192.0.2.9
	assert_json_error "no SYN proxy on $SP6 port 80" synproxy stats "$SP6" port 80

	# del: the table stays while a service does, and goes with the last.
	assert_eq "$(flctl sy d "$SP4" port "$SP_PORT")" "SYN proxy on $SP4 port $SP_PORT removed" "synproxy del"
	assert_fails_with "no SYN proxy on $SP4 port $SP_PORT" flctl synproxy del "$SP4" port "$SP_PORT"
	sp_table_present || fail "$SP_TABLE gone while $SP6 port 443 is left"
	assert_eq "$(sp_tcp_loose)" 0 "nf_conntrack_tcp_loose while a service is left"
	if in_ns flowlens nft list table inet flowlens_synproxy | grep -qF "$SP4"; then
		fail "$SP4 still in $SP_TABLE after its del"
	fi
	out=$(flctl -j synproxy del "$SP6" port 443)
	json_check "$out" ".service.addr == \"$SP6\" and .service.port == 443 and .services == 0" "flctl -j synproxy del"
	sp_table_present && fail "$SP_TABLE still there after the last del"
	assert_eq "$(sp_tcp_loose)" "$loose" "nf_conntrack_tcp_loose restored after the last del"
	assert_eq "$(flctl synproxy list)" "no SYN proxy services" "synproxy list at the end"
	assert_eq "$(flctl synproxy stats)" "no SYN proxy services" "synproxy stats at the end"
	json_check "$(flctl -j synproxy list)" '.services == [] and (.nft_table | not) and .tcp_loose_saved == null' \
		"flctl -j synproxy list at the end"
}

# A real connection through the proxy moves its counters, and a new
# service starts from zero.
test_synproxy_counters() {
	local c
	trap synproxy_cleanup EXIT
	flctl synproxy add "$SP4" port "$SP_PORT" >/dev/null
	for c in $SP_COUNTERS; do
		assert_eq "$(sp_counter "$SP4" "$SP_PORT" "$c")" 0 "$c of a new service"
	done
	tcp_transfer "$SP4" 100000
	flctl synproxy stats "$SP4" port "$SP_PORT"
	assert_ge "$(sp_counter "$SP4" "$SP_PORT" syns_seen)" 1 "syns_seen after a connection"
	assert_ge "$(sp_counter "$SP4" "$SP_PORT" synacks_sent)" 1 "synacks_sent after a connection"
	assert_ge "$(sp_counter "$SP4" "$SP_PORT" cookies_valid)" 1 "cookies_valid after a connection"
	assert_ge "$(sp_counter "$SP4" "$SP_PORT" passed_established)" 1 "passed_established after a connection"
	assert_eq "$(sp_counter "$SP4" "$SP_PORT" bad_checksum)" 0 "bad_checksum after a connection"

	# del and add again: counters from zero.
	flctl synproxy del "$SP4" port "$SP_PORT" >/dev/null
	flctl synproxy add "$SP4" port "$SP_PORT" >/dev/null
	assert_eq "$(sp_counter "$SP4" "$SP_PORT" syns_seen)" 0 "syns_seen after del and add"
}

# Services survive a clean restart (pinned maps, with their counters), a
# crash (the table and the sysctl stay; the old value is still restored
# at the end) and a reboot (the file).
test_synproxy_restarts() {
	local loose syns
	trap synproxy_cleanup EXIT
	loose=$(sp_tcp_loose)
	flctl synproxy add "$SP4" port "$SP_PORT" mss 1400 >/dev/null
	flctl synproxy add "$SP6" port 443 wscale 9 >/dev/null
	tcp_transfer "$SP4" 10000
	syns=$(sp_counter "$SP4" "$SP_PORT" syns_seen)
	assert_ge "$syns" 1 "syns_seen before the restart"

	# Clean stop: the table goes and the sysctl comes back ...
	lab stop
	sp_table_present && fail "$SP_TABLE still there after SIGTERM"
	assert_eq "$(sp_tcp_loose)" "$loose" "nf_conntrack_tcp_loose after SIGTERM"
	assert_match "$(cat "$LAB_DIR/flowlensd.log")" 'synproxy: removed nftables table inet flowlens_synproxy' "log"
	# ... and on start both are back, with the services and counters.
	lab start
	sp_table_present || fail "no $SP_TABLE after restart"
	assert_eq "$(sp_tcp_loose)" 0 "nf_conntrack_tcp_loose after restart"
	assert_eq "$(flctl -j synproxy list | jq -c '[.services[] | [.addr, .port, .mss, .wscale]]')" \
		"[[\"$SP4\",$SP_PORT,1400,7],[\"$SP6\",443,1460,9]]" "services after restart"
	assert_eq "$(sp_counter "$SP4" "$SP_PORT" syns_seen)" "$syns" "syns_seen after restart"
	tcp_transfer "$SP4" 10000

	# Crash: nothing is undone; the next daemon takes over, and the
	# value from before the first service is the one restored at the end.
	kill -KILL "$(cat "$LAB_DIR/flowlensd.pid")"
	wait_until 5 sh -c "! kill -0 $(cat "$LAB_DIR/flowlensd.pid")"
	rm -f "$LAB_DIR/flowlensd.pid"
	sp_table_present || fail "$SP_TABLE gone after a crash"
	assert_eq "$(sp_tcp_loose)" 0 "nf_conntrack_tcp_loose after a crash"
	lab start
	sp_table_present || fail "no $SP_TABLE after the crash and restart"
	json_check "$(flctl -j synproxy list)" "(.services | length == 2) and .tcp_loose_saved == $loose" \
		"services after the crash"
	tcp_transfer "$SP4" 10000

	# Reboot: the pins are gone, the file brings the services back;
	# counters start from zero.
	lab stop
	rm -f "$LAB_DIR"/bpffs/flowlens/*
	lab start
	assert_match "$(cat "$LAB_DIR/flowlensd.log")" 'synproxy: restored 2 services from ' "log"
	assert_eq "$(flctl -j synproxy list | jq -c '[.services[] | [.addr, .port, .mss, .wscale]]')" \
		"[[\"$SP4\",$SP_PORT,1400,7],[\"$SP6\",443,1460,9]]" "services after a reboot"
	assert_eq "$(sp_counter "$SP4" "$SP_PORT" syns_seen)" 0 "syns_seen after a reboot"
	sp_table_present || fail "no $SP_TABLE after a reboot"
	tcp_transfer "$SP4" 10000

	flctl synproxy del "$SP4" port "$SP_PORT" >/dev/null
	flctl synproxy del "$SP6" port 443 >/dev/null
	sp_table_present && fail "$SP_TABLE still there after the last del"
	assert_eq "$(sp_tcp_loose)" "$loose" "nf_conntrack_tcp_loose at the end"
}

# FL_SYNPROXY_MAX services, then one more is refused by name; every
# change is one nftables transaction, so this also shows they stay fast.
test_synproxy_table_full() {
	trap synproxy_cleanup EXIT
	in_ns flowlens python3 -c '
import json, os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(os.environ["FLOWLENS_SOCKET"])
f = s.makefile()
for i in range(1024):
    req = {"cmd": "synproxy-add", "addr": "203.0.113.%d" % (i // 256 + 1), "port": 1000 + i % 256}
    s.sendall((json.dumps(req) + "\n").encode())
    reply = json.loads(f.readline())
    if not reply["ok"]:
        sys.exit("service %d: %s" % (i, reply["error"]))
'
	assert_eq "$(flctl -j synproxy list | jq '.services | length')" 1024 "services"
	assert_fails_with "cannot add 203\.0\.113\.9 port 80: all 1024 services in use" \
		flctl synproxy add 203.0.113.9 port 80
	# An existing one can still be changed; the table has one set per
	# family and one per family and settings, not a rule per service.
	flctl synproxy add 203.0.113.1 port 1000 mss 1400 >/dev/null
	assert_eq "$(in_ns flowlens nft list table inet flowlens_synproxy | awk '$1 == "set" { print $2 }' | tr '\n' ' ')" \
		"services4 services4_mss1400_wscale7 services4_mss1460_wscale7 " "nft sets"
	assert_eq "$(in_ns flowlens nft list chain inet flowlens_synproxy input | grep -c 'synproxy mss')" 2 \
		"synproxy rules in the input chain"
}

run_tests
