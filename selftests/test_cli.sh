#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# flctl's and flowlensd's command lines with no daemon and no lab: every
# bad argument flctl refuses on its own is refused with a message that
# names what is wrong (as {"error": ...} with -j), and help answers at
# every level. flctl points at a socket nobody listens on, so a check
# that needed the daemon would fail here with "flowlensd is not running".
# (What the daemon itself refuses is test_flctl.sh's.)
NO_LAB=1
source "$(dirname "$0")/lib.sh"

# Prefixes no other test uses (TEST-NET-3, a documentation /48 outside
# the lab's subnets), as in test_flctl.sh.
PROTECT4=203.0.113.0/24
PROTECT6=2001:db8:ff::/48

test_unknown_object_and_command() {
	assert_fails_with "unknown object 'frob' \(expected \{ show \| top \| protect \| rule \| ddos \| synproxy \| policy \| policer \| voip \| hep \| export \| bgp \| flowspec \| config \| version \| help \}\)" \
		flctl frob
	assert_fails_with "unknown command 'frob' for show \(expected \{ stats \| ip \| apps \| flows \| workers \| export \| daemon \| help \}\)" \
		flctl show frob
	assert_fails_with "unknown command 'sideways' for top \(expected \{ src \| dst \| apps \| help \}\)" \
		flctl top sideways
	assert_fails_with "unknown command 'frob' for protect \(expected \{ add \| del \| list \| help \}\)" \
		flctl protect frob
	assert_fails_with "unknown command 'frob' for config \(expected \{ show \| set \| help \}\)" \
		flctl config frob
	assert_fails_with "unknown command 'frob' for ddos \(expected \{ threshold \| allow \| attacks \| status \| help \}\)" \
		flctl ddos frob
	assert_fails_with "unknown command 'frob' for ddos threshold \(expected \{ add \| del \| list \| help \}\); try 'flctl ddos threshold help'" \
		flctl ddos threshold frob
	assert_fails_with "unknown command 'frob' for ddos allow \(expected \{ add \| del \| list \| help \}\)" \
		flctl ddos allow frob
	assert_fails_with "unknown command 'frob' for synproxy \(expected \{ add \| del \| list \| stats \| help \}\); try 'flctl synproxy help'" \
		flctl synproxy frob
	assert_fails_with "'s' is ambiguous: show or synproxy\?" flctl s
	# Each object's error says where to look next.
	assert_fails_with "try 'flctl config help'" flctl config frob
	assert_fails_with "-s needs a socket path" flctl show stats -s
}

test_bad_top_options() {
	assert_fails_with "-n: '0' is not a number from 1 to 100000" flctl top src -n 0
	assert_fails_with "-n: 'abc' is not a number from 1 to 100000" flctl top src -n abc
	assert_fails_with "-n: '100001' is not a number" flctl top dst -n 100001
	assert_fails_with "-n needs a number" flctl top src -n
	assert_fails_with "--by: 'foo' is not one of pps, bps, syn" flctl top dst --by foo
	assert_fails_with "--by needs pps, bps or syn" flctl top dst --by
	assert_fails_with "top src: unexpected argument 'extra'" flctl top src extra
}

# What flctl itself refuses of the ddos commands, before asking flowlensd
# (which checks metrics, values, actions and hold itself).
test_bad_ddos_arguments() {
	local need="ddos threshold add needs PREFIX and at least one METRIC VALUE"
	assert_fails_with "$need" flctl ddos threshold add
	assert_fails_with "$need" flctl ddos threshold add 198.51.100.0/24
	assert_fails_with "$need" flctl ddos threshold add 198.51.100.0/24 pps
	assert_fails_with "$need" flctl ddos threshold add 198.51.100.0/24 source pps
	assert_fails_with "ddos threshold del needs PREFIX, and 'source' for a source threshold" \
		flctl ddos threshold del
	assert_fails_with "ddos threshold del needs PREFIX" \
		flctl ddos threshold del 198.51.100.0/24 source extra
	assert_fails_with "ddos threshold list takes no arguments, not 'x'" \
		flctl ddos threshold list x
	assert_fails_with "unknown command 'frob' for ddos " flctl ddos frob
	assert_fails_with "'a' is ambiguous: allow or attacks\?" flctl ddos a
	assert_fails_with "ddos attacks: unexpected argument '--bogus' \(expected --all\)" \
		flctl ddos attacks --bogus
	assert_fails_with "ddos attacks: unexpected argument 'all' \(expected --all\)" \
		flctl ddos attacks all
	assert_fails_with "ddos allow add needs exactly one PREFIX \(e\.g\. " \
		flctl ddos allow add
	assert_fails_with "ddos allow del needs exactly one PREFIX" \
		flctl ddos allow del 192.0.2.0/24 192.0.2.10
	assert_fails_with "'notaprefix' is not an IPv4 or IPv6 address" \
		flctl ddos allow add notaprefix
	assert_fails_with "'192\.0\.2\.7/24' has host bits set \(did you mean 192\.0\.2\.0/24\?\)" \
		flctl ddos allow add 192.0.2.7/24
	assert_fails_with "ddos allow list takes no arguments, not 'x'" \
		flctl ddos allow list x
	assert_fails_with "ddos status takes no arguments, not 'x'" \
		flctl ddos status x
	assert_json_error "ddos threshold add needs PREFIX" ddos threshold add
	assert_json_error "unexpected argument '--bogus'" ddos attacks --bogus
	assert_json_error "'notaprefix' is not an IPv4 or IPv6 address" \
		ddos allow add notaprefix
}

test_synproxy_help() {
	local out args c
	for args in "help synproxy" "synproxy help" "synproxy -h" "sy he" "synproxy" \
		"synproxy add -h" "synproxy stats --help"; do
		# shellcheck disable=SC2086
		out=$(flctl $args)
		assert_match "$out" '^Usage: flctl synproxy add ADDR port PORT \[mss MSS\] \[wscale WSCALE\]$' "flctl $args"
		assert_match "$out" '^ +flctl synproxy del ADDR port PORT$' "flctl $args"
		assert_match "$out" '^ +flctl synproxy list$' "flctl $args"
		assert_match "$out" '^ +flctl synproxy stats \[ADDR \[port PORT\]\]$' "flctl $args"
		assert_eq "$out" "$(flctl synproxy help)" "flctl $args == flctl synproxy help"
	done
	out=$(flctl synproxy help)
	for c in $SP_COUNTERS; do
		assert_match "$out" "^    $c +[A-Za-z]" "synproxy help explains $c"
	done
	assert_match "$out" '^MSS +:= .*536-9000 \(default 1460\)$' "synproxy help: MSS"
	assert_match "$out" '^WSCALE := .*0-14 \(default 7\)$' "synproxy help: WSCALE"
	assert_match "$out" "'inet flowlens_synproxy'" "synproxy help: the table"
	assert_match "$out" 'net\.netfilter\.nf_conntrack_tcp_loose to 0' "synproxy help: the sysctl"
	assert_match "$out" 'net\.ipv4\.tcp_timestamps' "synproxy help: timestamps"
	assert_match "$out" 'up to 1024' "synproxy help: the limit"
	assert_match "$out" 'survive a flowlensd restart and a reboot' "synproxy help: persistence"
	assert_match "$out" '^  flctl synproxy add 198\.51\.100\.2 port 80$' "synproxy help: example"
	assert_eq "$(flctl -j synproxy help)" null "flctl -j synproxy help"
}

test_unexpected_arguments() {
	assert_fails_with "show stats takes at most one interface, not 'b'" \
		flctl show stats a b
	assert_fails_with "protect list takes no arguments, not 'x'" \
		flctl protect list x
	assert_fails_with "config show takes no arguments, not 'x'" \
		flctl config show x
	assert_fails_with "version takes no arguments, not 'x'" flctl version x
	assert_fails_with "show ip needs exactly one address" flctl show ip
	assert_fails_with "show ip needs exactly one address" \
		flctl show ip "$SERVER4" "$CLIENT4"
	assert_fails_with "protect del needs exactly one PREFIX" \
		flctl protect del "$PROTECT4" "$PROTECT6"
	assert_fails_with "config set needs KEY VALUE" flctl config set heavy-pps
}

test_bad_prefixes() {
	assert_fails_with "protect add needs exactly one PREFIX \(e\.g\. " \
		flctl protect add
	assert_fails_with "'300\.1\.1\.1' is not an IPv4 or IPv6 address" \
		flctl protect add 300.1.1.1
	assert_fails_with "'foo' is not an IPv4 or IPv6 address" \
		flctl protect add foo
	assert_fails_with "'foo' is not an IPv4 or IPv6 address" \
		flctl protect del foo/24
	assert_fails_with "'198\.51\.100\.7/24' has host bits set \(did you mean 198\.51\.100\.0/24\?\)" \
		flctl protect add 198.51.100.7/24
	assert_fails_with "'10\.1\.2\.3/12' has host bits set \(did you mean 10\.0\.0\.0/12\?\)" \
		flctl protect add 10.1.2.3/12
	assert_fails_with "'2001:db8::1/32' has host bits set \(did you mean 2001:db8::/32\?\)" \
		flctl protect add 2001:db8::1/32
	assert_fails_with "'10\.0\.0\.0/33': prefix length must be 0-32" \
		flctl protect add 10.0.0.0/33
	assert_fails_with "'2001:db8::/129': prefix length must be 0-128" \
		flctl protect add 2001:db8::/129
	assert_fails_with "prefix length must be 0-32" flctl protect add 10.0.0.0/
	assert_fails_with "prefix length must be 0-32" flctl protect add 10.0.0.0/x
	assert_fails_with "'nohost' is not an IPv4 or IPv6 address" \
		flctl show ip nohost
}

test_bad_config_set() {
	assert_fails_with "unknown setting 'colour' \(malformed, heavy-pps, heavy-bps, escalate-pps\)" \
		flctl config set colour red
	assert_fails_with "'heavy' is ambiguous: heavy-pps or heavy-bps\?" \
		flctl config set heavy 5000
	assert_fails_with "malformed: 'maybe' is not a policy \(pass or drop\)" \
		flctl config set malformed maybe
	assert_fails_with "heavy-pps: '0' is not a positive rate" \
		flctl config set heavy-pps 0
	assert_fails_with "heavy-pps: 'abc' is not a positive rate" \
		flctl config set heavy-pps abc
	assert_fails_with "heavy-bps: '10x' is not a positive rate" \
		flctl config set heavy-bps 10x
	assert_fails_with "heavy-bps: '-5' is not a positive rate" \
		flctl config set heavy-bps -5
}

# -j turns every error into {"error": ...} on stdout, whether flctl or
# flowlensd found it; -p makes it pretty.
test_json_errors() {
	assert_json_error "unknown object 'frob'" frob
	assert_json_error "unknown command 'frob' for top" top frob
	assert_json_error "-n: 'abc' is not a number" top src -n abc
	assert_json_error "has host bits set \(did you mean 198\.51\.100\.0/24\?\)" \
		protect add 198.51.100.7/24
	assert_json_error "'heavy' is ambiguous" config set heavy 1k
	assert_json_error "'s' is ambiguous: show or set\?" config s
	assert_json_error "version takes no arguments" version x
	# Global options may come anywhere.
	local out rc=0
	out=$(flctl top src -n 0 -j 2>/dev/null) || rc=$?
	[ $rc -ne 0 ] || fail "'flctl top src -n 0 -j' succeeded"
	json_check "$out" '.error | test("-n: .0. is not a number")' "trailing -j"
	rc=0
	out=$(flctl -p top src -n 0 2>/dev/null) || rc=$?
	[ $rc -ne 0 ] || fail "'flctl -p top src -n 0' succeeded"
	assert_ge "$(printf '%s\n' "$out" | wc -l)" 3 "lines of a pretty error"
	json_check "$out" '.error | test("is not a number")' "pretty error"
}

test_help() {
	local out args
	# Top-level help in all its spellings, identical.
	for args in "" help -h --help "-j -h"; do
		# shellcheck disable=SC2086 # word splitting is the point
		out=$(flctl $args)
		echo "flctl $args: $(printf '%s\n' "$out" | head -n 1)"
		if [ "$args" = "-j -h" ]; then
			assert_eq "$out" null "flctl -j -h"
			continue
		fi
		assert_match "$out" '^Usage: flctl \[OPTIONS\] OBJECT \{ COMMAND \| help \}$' "flctl $args"
		assert_match "$out" '^OBJECT := \{ show \| top \| protect \| rule \| ddos \| synproxy \| policy \| policer \| voip \| hep \| export \| bgp \| flowspec \| config \| version \}$' "flctl $args"
		assert_match "$out" '^  synproxy add ADDR port PORT \[mss MSS\] \[wscale WSCALE\]$' "flctl $args"
		# one line per command, as each object's Usage has it
		assert_match "$out" '^  ddos threshold add PREFIX \[source\] METRIC VALUE \[METRIC VALUE\]\.\.\.$' "flctl $args"
		assert_match "$out" '^  ddos attacks \[--all\] +active attacks' "flctl $args"
		assert_match "$out" '^  ddos status +hosts under a threshold' "flctl $args"
		assert_match "$out" '^  show apps \[--sort ' "flctl $args"
		assert_match "$out" '^  show flows \[--app APP\] \[-n N\] ' "flctl $args"
		assert_match "$out" '^  show workers +the AF_XDP workers' "flctl $args"
		assert_match "$out" '^  show daemon +flowlensd.s modules' "flctl $args"
		assert_eq "$out" "$(flctl help)" "flctl $args == flctl help"
	done

	# Each object's help, however it is asked for.
	for args in "help show" "show help" "show -h" "sh he"; do
		# shellcheck disable=SC2086
		out=$(flctl $args)
		assert_match "$out" '^Usage: flctl show stats \[IFACE\]$' "flctl $args"
	done
	for args in "help top" "top help" "top -h" "top --help"; do
		# shellcheck disable=SC2086
		out=$(flctl $args)
		assert_match "$out" '^Usage: flctl top \{ src \| dst \} \[-n N\]' "flctl $args"
	done
	for args in "help protect" "protect help" "protect -h"; do
		# shellcheck disable=SC2086
		out=$(flctl $args)
		assert_match "$out" '^Usage: flctl protect \{ add \| del \} PREFIX$' "flctl $args"
	done
	for args in "help config" "config help" "config -h"; do
		# shellcheck disable=SC2086
		out=$(flctl $args)
		assert_match "$out" '^Usage: flctl config show$' "flctl $args"
		assert_match "$out" '^ +flctl config set KEY VALUE$' "flctl $args"
		assert_match "$out" 'heavy-pps RATE' "flctl $args"
	done
	for args in "help rule" "rule help" "rule -h" "ru he"; do
		# shellcheck disable=SC2086
		out=$(flctl $args)
		assert_match "$out" '^Usage: flctl rule add \[order N\] MATCH\.\.\. action ACTION \[expires S\]$' "flctl $args"
		assert_match "$out" '^ +flctl rule load FILE$' "flctl $args"
		assert_match "$out" 'at most 32 per family' "flctl $args"
	done
	# ddos help: at every level, the grammar, every metric, the defaults.
	for args in "help ddos" "ddos help" "ddos -h" "dd he" "ddos" \
		"ddos threshold help" "ddos thr" "ddos allow help" "ddos attacks -h"; do
		# shellcheck disable=SC2086
		out=$(flctl $args)
		assert_match "$out" '^Usage: flctl ddos threshold add PREFIX \[source\] METRIC VALUE \[METRIC VALUE\]\.\.\.$' "flctl $args"
		assert_match "$out" '^ +flctl ddos allow \{ add \| del \} PREFIX$' "flctl $args"
		assert_match "$out" '^ +flctl ddos attacks \[--all\]$' "flctl $args"
		assert_match "$out" '^ +flctl ddos status$' "flctl $args"
		assert_eq "$out" "$(flctl ddos help)" "flctl $args == flctl ddos help"
	done
	out=$(flctl ddos help)
	for args in pps bps sps tcp-pps tcp-bps udp-pps udp-bps icmp-pps icmp-bps \
		frag-pps frag-bps; do
		assert_match "$out" "(^|[ {|])$args( |$)" "ddos help names metric $args"
	done
	assert_match "$out" 'ACTION := \{ drop \| rate-limit RATE \} +\(default drop\)' "ddos help: default action"
	assert_match "$out" 'hold S seconds \(default 60\)' "ddos help: default hold"
	assert_match "$out" 'sliding 1-second window' "ddos help: window"
	assert_match "$out" 'every 100 ms' "ddos help: evaluation"
	assert_match "$out" '90 %' "ddos help: hysteresis"
	assert_match "$out" '^  source +each address inside PREFIX' "ddos help: source direction"
	assert_match "$out" 'automatic and manual rules alike' "ddos help: the allowlist"
	assert_match "$out" '^  flctl ddos threshold add 198\.51\.100\.0/24 pps 50k udp-pps 20k$' "ddos help: example"
	assert_eq "$(flctl -j ddos help)" null "flctl -j ddos help"
	assert_fails_with "unknown object 'frob'" flctl help frob

	out=$(flowlensd --help)
	assert_match "$out" '^Usage: flowlensd \[OPTIONS\] -i IFACE' "flowlensd --help"
	assert_match "$out" '--xdp-mode' "flowlensd --help"
	out=$(flowlensd -h)
	assert_match "$out" '^Usage: flowlensd ' "flowlensd -h"
}

# -h and -V are global wherever they appear, and never leak into another
# command's arguments; -s wants a real path; rates are plain decimals.
test_option_edge_cases() {
	local cmd
	for cmd in "version help" "help version" "version -h"; do
		# shellcheck disable=SC2086
		assert_match "$(flctl $cmd)" '^Usage: flctl version' "flctl $cmd"
	done
	assert_match "$(flctl protect add -h)" '^Usage: flctl protect' "protect add -h"
	assert_match "$(flctl top src -h)" '^Usage: flctl top' "top src -h"
	assert_match "$(flctl show stats -V)" '^flctl [0-9]' "show stats -V"
	assert_fails_with '-s needs a socket path' flctl -s -j show stats
	assert_fails_with 'socket path is empty' flctl -s '' show stats
	assert_fails_with 'socket path is empty' flctl --socket= show stats
	for cmd in 0x10 1e3 0.6 -5 1k5 ''; do
		assert_fails_with 'is not a positive rate' flctl config set heavy-pps "$cmd"
	done
}

# What flctl refuses before asking flowlensd (what flowlensd refuses of a
# request flctl would not send: test_flctl.sh).
test_bad_synproxy_arguments() {
	local need="synproxy add needs ADDR port PORT \(e\.g\. "
	assert_fails_with "$need" flctl synproxy add
	assert_fails_with "synproxy add needs ADDR port PORT \(e\.g\. 192\.0\.2\.9 port 80\)" \
		flctl synproxy add 192.0.2.9
	assert_fails_with "synproxy add needs ADDR port PORT" flctl synproxy add 192.0.2.9 mss 1400
	assert_fails_with "synproxy del needs ADDR port PORT" flctl synproxy del
	assert_fails_with "synproxy del needs ADDR port PORT" flctl synproxy del 192.0.2.9
	assert_fails_with "'nohost' is not an IPv4 or IPv6 address" flctl synproxy add nohost port 80
	assert_fails_with "'300\.1\.1\.1' is not an IPv4 or IPv6 address" flctl synproxy del 300.1.1.1 port 80
	assert_fails_with "'198\.51\.100\.0/24' is a prefix; give one address" \
		flctl synproxy add 198.51.100.0/24 port 80
	assert_fails_with "'2001:db8::/64' is a prefix; give one address" \
		flctl synproxy stats 2001:db8::/64
	local port
	for port in 0 65536 -1 x 0x50 8o ''; do
		assert_fails_with "port: '$port' is not a number from 1 to 65535" \
			flctl synproxy add 192.0.2.9 port "$port"
	done
	assert_fails_with "mss: '535' is not a number from 536 to 9000" flctl synproxy add 192.0.2.9 port 80 mss 535
	assert_fails_with "mss: '9001' is not a number from 536 to 9000" flctl synproxy add 192.0.2.9 port 80 mss 9001
	assert_fails_with "wscale: '15' is not a number from 0 to 14" flctl synproxy add 192.0.2.9 port 80 wscale 15
	assert_fails_with "wscale: '-1' is not a number from 0 to 14" flctl synproxy add 192.0.2.9 port 80 wscale -1
	assert_fails_with "synproxy add: port needs a number" flctl synproxy add 192.0.2.9 port
	assert_fails_with "synproxy add: wscale needs a number" flctl synproxy add 192.0.2.9 port 80 wscale
	assert_fails_with "synproxy add: port given twice" flctl synproxy add 192.0.2.9 port 80 port 81
	assert_fails_with "synproxy add: unexpected 'prot' \(expected port, mss or wscale\)" \
		flctl synproxy add 192.0.2.9 prot 80
	assert_fails_with "synproxy del: unexpected 'mss' \(expected port\)" \
		flctl synproxy del 192.0.2.9 port 80 mss 1400
	assert_fails_with "synproxy stats: unexpected 'wscale' \(expected port\)" \
		flctl synproxy stats 192.0.2.9 wscale 7
	assert_fails_with "synproxy list takes no arguments, not 'x'" flctl synproxy list x
	assert_json_error "synproxy add needs ADDR port PORT" synproxy add
	assert_json_error "mss: '100' is not a number from 536 to 9000" synproxy add 192.0.2.9 port 80 mss 100
	assert_json_error "is a prefix; give one address" synproxy del 192.0.2.0/24 port 80

}

run_tests
