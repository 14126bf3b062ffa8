#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# BGP FlowSpec (issue 18) with real speakers in namespaces of their own,
# each on a link of its own to the flowlens namespace, where flowlensd runs
# its own gobgpd:
#   ctl  gobgpd as a controller (AS 65010, 203.0.113.2): what it announces
#        becomes rules that drop, rate-limit or re-mark the client's
#        traffic to the server, and goes when it is withdrawn or the
#        session is lost; bad routes are refused and counted
#   pe   FRR 8.4 bgpd as the upstream PE (AS 65020, 203.0.113.18): it
#        receives the DDoS engine's mitigations as FlowSpec routes, and
#        never the controller's
# and gobgpd killed under flowlensd: restarted, routes back.
source "$(dirname "$0")/lib.sh"

P=${FL_LAB_PREFIX:-fl}
BGP_WORK=$LAB_DIR/flowspec
WORK=$BGP_WORK
source "$TOP/scripts/bgp_peers.sh"
FL_CTL=$BGP_FL_CTL
CTL4=$BGP_CTL
PE4=$BGP_PE
FL_AS=$BGP_FL_AS
CTL_AS=$BGP_CTL_AS
PE_AS=$BGP_PE_AS

# ---- the peers ---------------------------------------------------------

ctl() { bgp_ctl "$@"; }

# ctl_start: the controller's gobgpd, killed when the test ends
ctl_start() {
	bgp_ctl_start
	CTL_PID=${BGP_PIDS[-1]}
	echo "$CTL_PID" >>"$BG_PIDS"
}

# The state of flowlensd's session with ADDR, as bgp status shows it.
session_state() {
	flctl -j bgp status | jq -r ".neighbors[] | select(.address == \"$1\") | .state"
}

ctl_session() {
	flctl bgp neighbor add $CTL4 as $CTL_AS local-as $FL_AS router-id $FL_CTL hold 3 "$@"
	wait_for 30 '[ "$(session_state $CTL4)" = established ]'
}

pe_start() {
	bgp_pe_start
	echo "${BGP_PIDS[-1]}" >>"$BG_PIDS"
}

pe() { bgp_pe "$1"; }

# The FlowSpec routes the PE has: {"routes": {TEXT: [path...]}}
pe_routes() { pe "show bgp ipv${1:-4} flowspec json"; }

cleanup() {
	local n
	if [ -e "$WORK/external" ]; then
		# back to the lab's own flowlensd, with a gobgpd of its own
		lab stop
		lab start "${LAB_START_ARGS[@]}"
		rm -f "$WORK/external"
	fi
	for n in $(flctl -j bgp status 2>/dev/null | jq -r '.neighbors[].address'); do
		flctl bgp neighbor del "$n" >/dev/null 2>&1 || true
	done
	flctl flowspec announce off >/dev/null 2>&1 || true
	flctl flowspec receive on max 10000 >/dev/null 2>&1 || true
	flctl -j flowspec app 2>/dev/null | jq -r '.apps[].app' |
		while read -r a; do flctl flowspec app "$a" off >/dev/null 2>&1; done
	flctl rule flush >/dev/null 2>&1 || true
	flctl -j ddos allow list 2>/dev/null | jq -r '.prefixes[]' |
		while read -r a; do flctl ddos allow del "$a" >/dev/null 2>&1; done
	flctl -j ddos threshold list 2>/dev/null | jq -r '.thresholds[].prefix' |
		while read -r t; do flctl ddos threshold del "$t" >/dev/null 2>&1; done
	return 0
}

# ---- helpers -----------------------------------------------------------

fs_rules() { flctl -j rule list --origin flowspec; }

# rule_of TEXT: the flowspec rule whose text contains TEXT
rule_of() {
	fs_rules | jq -c --arg t "$1" '[.rules[] | select(.rule | contains($t))]'
}

received() { flctl -j flowspec list --received; }

# route_status TEXT: the status of the received route whose text holds TEXT
route_status() {
	received | jq -r --arg t "$1" '[.received[] | select(.route | contains($t)) | .status] | first // "none"'
}

noports() { server_snmp Udp NoPorts; }

# ---- receive -----------------------------------------------------------

# A controller's routes, IPv4: drop, rate-limit and re-mark; each is a
# rule of origin flowspec naming the peer, enforced at the driver while
# other traffic passes; withdrawn, it goes.
test_receive_ipv4() {
	local r n0 dscp pid
	ctl_start
	ctl_session
	ctl global rib -a ipv4 add 198.51.100.0/24
	ctl global rib -a ipv4-flowspec add match destination $SERVER4/32 protocol udp destination-port ==5001 then discard
	ctl global rib -a ipv4-flowspec add match destination $SERVER4/32 protocol udp destination-port ==5003 then rate-limit 1250 action sample
	ctl global rib -a ipv4-flowspec add match destination $SERVER4/32 protocol udp destination-port ==5004 then mark 10
	wait_for 5 '[ "$(fs_rules | jq ".rules | length")" = 3 ]'
	fs_rules
	r=$(rule_of "dport 5001")
	json_check "$r" "length == 1 and .[0].origin == \"flowspec\" and .[0].peer == \"$CTL4\" and
		(.[0].rule | test(\"dst $SERVER4/32 proto udp dport 5001 action drop flowspec $CTL4 route [0-9]+\$\"))" \
		"the discard route's rule"
	json_check "$(rule_of "dport 5003")" '.[0].rule | test("action rate-limit 10000bps burst 12000")' \
		"the rate-limit route's rule (1250 bytes/s)"
	json_check "$(rule_of "dport 5004")" '.[0].rule | test("action mark 10 ")' "the marking route's rule"
	json_check "$(flctl -j rule list --origin flowspec)" "all(.rules[]; .order >= 2147483648)" \
		"flowspec rules come after every operator and DDoS rule"

	n0=$(noports)
	udp_send client $SERVER4 5001 20 72
	udp_send client $SERVER4 5002 20 72
	wait_for 5 '[ "$(rule_of "dport 5001" | jq ".[0].dropped")" = 20 ]'
	wait_for 5 '[ $(( $(noports) - n0 )) = 20 ]'

	# 10 kbit/s with a 12000-bit bucket: of 50 100-byte datagrams sent
	# at once, the bucket's 15 pass and few more
	udp_send client $SERVER4 5003 50 72
	wait_for 5 '[ "$(rule_of "dport 5003" | jq ".[0].packets")" = 50 ]'
	r=$(rule_of "dport 5003")
	json_check "$r" '.[0].dropped >= 30 and .[0].dropped <= 35' "the rate-limit route's drops"

	# re-marked on the way: the server sees DSCP 10
	in_ns server timeout 10 tshark -q -i eth0 -c 1 -f 'udp dst port 5004' -T fields -e ip.dsfield.dscp \
		>"$WORK/dscp" 2>"$WORK/tshark.err" &
	pid=$!
	wait_for 8 'grep -q "Capturing on" "$WORK/tshark.err"'
	udp_send client $SERVER4 5004 3 72
	wait "$pid" || true
	dscp=$(head -1 "$WORK/dscp")
	assert_eq "$dscp" 10 "DSCP of the re-marked datagram at the server"

	ctl global rib -a ipv4-flowspec del match destination $SERVER4/32 protocol udp destination-port ==5001
	wait_for 5 '[ "$(rule_of "dport 5001" | jq length)" = 0 ]'
	n0=$(noports)
	udp_send client $SERVER4 5001 10 72
	wait_for 5 '[ $(( $(noports) - n0 )) = 10 ]'
	json_check "$(flctl -j bgp status)" '.flowspec.received.withdrawn >= 1 and .flowspec.received.sampled == 1' \
		"withdrawals counted, and the route with traffic-action sample"
}

test_receive_ipv6() {
	local n0
	ctl_start
	ctl_session
	ctl global rib -a ipv6 add 2001:db8:2::/64 nexthop 2001:db8:ffff::2 2>/dev/null ||
		ctl global rib -a ipv6 add 2001:db8:2::/64
	ctl global rib -a ipv6-flowspec add match destination $SERVER6/128 protocol 17 destination-port ==5001 then discard
	wait_for 5 '[ "$(rule_of "dport 5001" | jq length)" = 1 ]'
	json_check "$(rule_of "dport 5001")" \
		".[0].rule | test(\"dst $SERVER6/128 proto udp dport 5001 action drop flowspec $CTL4\")" \
		"the IPv6 route's rule"
	n0=$(in_ns server awk '$1 == "Udp6NoPorts" { print $2 }' /proc/net/snmp6)
	udp_send client $SERVER6 5001 20 72
	udp_send client $SERVER6 5002 20 72
	wait_for 5 '[ "$(rule_of "dport 5001" | jq ".[0].dropped")" = 20 ]'
	wait_for 5 '[ $(( $(in_ns server awk "\$1 == \"Udp6NoPorts\" { print \$2 }" /proc/net/snmp6) - n0 )) = 20 ]'
}

# Every component becomes what the engine matches: ports either way,
# TCP flags, length, DSCP, fragments, ICMP type and code.
test_receive_components() {
	local r
	ctl_start
	ctl_session
	ctl global rib -a ipv4 add 198.51.100.0/24
	ctl global rib -a ipv4-flowspec add match destination 198.51.100.0/24 source 192.0.2.0/24 \
		protocol tcp port ==80 ==443 tcp-flags =S packet-length '>=40&<=1500' dscp ==0 \
		fragment '!is-fragment' then rate-limit 125000
	ctl global rib -a ipv4-flowspec add match destination $SERVER4/32 protocol icmp icmp-type ==8 \
		icmp-code ==0 then discard
	wait_for 5 '[ "$(fs_rules | jq ".rules | length")" = 5 ]'
	r=$(fs_rules)
	echo "$r" | jq -r '.rules[].rule'
	# (TCP flags match TCP packets only: no proto field needed)
	json_check "$r" '[.rules[].rule | select(test("src 192.0.2.0/24 dst 198.51.100.0/24 "))] | length == 4' \
		"port ==80 ==443 either way: four rules"
	json_check "$r" '[.rules[].rule | select(test("sport 80 ") or test("sport 443 "))] | length == 2' "source ports"
	json_check "$r" '[.rules[].rule | select(test("dport 80 ") or test("dport 443 "))] | length == 2' \
		"destination ports"
	json_check "$r" 'all(.rules[].rule | select(test("src 192.0.2.0/24")); test("tcp-flags syn/syn len 40-1500 dscp 0 frag none action rate-limit 1000000bps"))' \
		"flags, length, DSCP, fragment and rate"
	json_check "$r" "[.rules[].rule | select(test(\"dst $SERVER4/32 icmp-type 8 code 0 action drop\"))] | length == 1" \
		"ICMP type and code"
	# ping is dropped by it
	in_ns client ping -c 3 -i 0.2 -W 1 $SERVER4 >/dev/null && fail "ping went through a discard route"
	wait_for 5 '[ "$(rule_of "icmp-type 8" | jq ".[0].dropped")" -ge 3 ]'
}

# Routes this box cannot or must not enforce are refused whole and
# counted by reason; a redirect is kept as unsupported, never a drop.
test_refused() {
	local st
	ctl_start
	ctl_session max 4
	ctl global rib -a ipv4 add 198.51.100.0/24
	ctl global rib -a ipv6 add 2001:db8:2::/64
	# IPv6 prefix offset: not something XDP can match
	ctl global rib -a ipv6-flowspec add match destination 2001:db8:2::/64 source 2001:db8:1::/64 8 then discard
	# no unicast route covers 203.0.113.200: section 6 says invalid
	ctl global rib -a ipv4-flowspec add match destination 203.0.113.200/32 then discard
	# redirect: accepted, counted, no rule
	ctl global rib -a ipv4-flowspec add match destination $SERVER4/32 protocol udp destination-port ==7000 then redirect 65010:100
	# 9 DSCPs x 8 ports = 72 rules: past the bound of 64
	ctl global rib -a ipv4-flowspec add match destination $SERVER4/32 protocol udp \
		destination-port $(seq -f '==%g' 6000 2 6014 | tr '\n' ' ') dscp $(seq -f '==%g' 1 9 | tr '\n' ' ') then discard
	# 33 items in one list: more than a component may hold here
	ctl global rib -a ipv4-flowspec add match destination $SERVER4/32 protocol udp \
		destination-port $(seq -f '==%g' 6100 6132 | tr '\n' ' ') then discard
	wait_for 5 '[ "$(received | jq ".received | length")" = 5 ]'
	received | jq -c '.received[] | {route, status, reason, why}'
	assert_eq "$(route_status 'src 2001:db8:1::/64')" refused "the offset route"
	json_check "$(received)" '[.received[] | select(.reason == "unmatchable")] | length == 1' "unmatchable"
	assert_eq "$(route_status 203.0.113.200)" refused "the route without a unicast route"
	json_check "$(received)" '[.received[] | select(.reason == "invalid" and (.why | test("unicast")))] | length == 1' \
		"invalid, section 6"
	assert_eq "$(route_status '==7000')" unsupported "the redirect route"
	json_check "$(received)" '[.received[] | select(.reason == "too-big" and (.why | test("72 rules")))] | length == 1' \
		"too big"
	json_check "$(received)" '[.received[] | select(.reason == "malformed" and (.why | test("33 items")))] | length == 1' \
		"a list longer than a component holds"
	assert_eq "$(fs_rules | jq '.rules | length')" 0 "no rule from any of them"
	# the peer's limit: 4 installed, the fifth refused
	for p in 1 2 3 4 5; do
		ctl global rib -a ipv4-flowspec add match destination $SERVER4/32 protocol udp destination-port ==$((5100 + p)) then discard
	done
	wait_for 5 '[ "$(received | jq ".received | length")" = 10 ]'
	st=$(flctl -j bgp status)
	echo "$st" | jq .flowspec
	json_check "$(received)" '[.received[] | select(.status == "installed")] | length == 4' "installed up to max 4"
	json_check "$(received)" '[.received[] | select(.reason == "over-limit")] | length == 1' "the fifth: over-limit"
	json_check "$st" '.flowspec.received.refused_by_reason | .unmatchable >= 1 and .invalid >= 1 and ."too-big" >= 1 and ."over-limit" >= 1 and .malformed >= 1' \
		"refusals counted by reason"
	json_check "$st" '.flowspec.received.redirect_unsupported >= 1' "redirects counted"
}

# RFC 8955 section 6 beyond test_refused: a route without a destination
# prefix is invalid; one whose destination no unicast route covers is
# invalid until the peer announces one, and invalid again once it
# withdraws it (routes are validated again as unicast routes come and go).
test_validation() {
	ctl_start
	ctl_session
	ctl global rib -a ipv4-flowspec add match source 192.0.2.0/24 protocol udp destination-port ==5001 then discard
	ctl global rib -a ipv4-flowspec add match destination 203.0.113.200/32 protocol udp then discard
	wait_for 5 '[ "$(received | jq ".received | length")" = 2 ]'
	received | jq -c '.received[] | {route, status, reason, why}'
	json_check "$(received)" '[.received[] | select((.route | contains("src 192.0.2.0/24")) and .status == "refused" and
		.reason == "invalid" and (.why | test("no destination prefix")))] | length == 1' "the route without a destination"
	json_check "$(received)" '[.received[] | select((.route | contains("203.0.113.200")) and .reason == "invalid" and
		(.why | test("no unicast route")))] | length == 1' "the route no unicast route covers"
	ctl global rib -a ipv4 add 203.0.113.192/26
	wait_for 5 '[ "$(route_status 203.0.113.200)" = installed ]'
	json_check "$(rule_of "dst 203.0.113.200/32")" 'length == 1 and (.[0].rule | test("proto udp action drop"))' \
		"its rule once the unicast route came"
	assert_eq "$(route_status 'src 192.0.2.0/24')" refused "the route without a destination, after the unicast route"
	ctl global rib -a ipv4 del 203.0.113.192/26
	wait_for 5 '[ "$(route_status 203.0.113.200)" = refused ]'
	assert_eq "$(rule_of "dst 203.0.113.200/32" | jq length)" 0 "its rule once the unicast route went"
}

# RFC 8955 section 6 (c): a FlowSpec route whose destination the peer's
# own unicast route covers is invalid while a more specific unicast route
# from another neighbour AS (the PE, AS 65020) is in, and valid again once
# the PE withdraws it. (The PE's unicast route is configured before
# flowlensd peers with it, so its session is not reset by the new family;
# no router-id, so flowlensd's gobgpd is not restarted under the
# controller's session.)
test_validation_other_as() {
	local fr=(vtysh --vty_socket "$BGP_FRR_RUN" -c "configure terminal" -c "router bgp $PE_AS"
		-c "address-family ipv4 unicast")
	ctl_start
	ctl_session
	ctl global rib -a ipv4 add 198.18.0.0/24
	ctl global rib -a ipv4-flowspec add match destination 198.18.0.0/24 protocol udp destination-port ==5031 then discard
	wait_for 5 '[ "$(route_status 198.18.0.0/24)" = installed ]'
	assert_eq "$(rule_of "dst 198.18.0.0/24" | jq length)" 1 "the route's rule, before the PE's unicast route"
	pe_start
	# (its vty socket can be there before bgpd answers on it)
	wait_until 10 pe "show version"
	"${fr[@]}" -c "neighbor $BGP_FL_PE activate" -c "network 198.18.0.128/25"
	flctl bgp neighbor add $PE4 as $PE_AS local-as $FL_AS hold 3 >/dev/null
	wait_for 30 '[ "$(session_state $PE4)" = established ]'
	wait_for 10 '[ "$(route_status 198.18.0.0/24)" = refused ]'
	received | jq -c '.received[] | {route, status, reason, why}'
	json_check "$(received)" "[.received[] | select((.route | contains(\"198.18.0.0/24\")) and .reason == \"invalid\" and
		(.why | test(\"more specific unicast route came from another AS \\\\($PE_AS\\\\)\")))] | length == 1" \
		"the route, once another AS announced a more specific unicast route"
	assert_eq "$(rule_of "dst 198.18.0.0/24" | jq length)" 0 "its rule while the PE's /25 is in"
	assert_eq "$(session_state $CTL4)" established "the controller's session throughout"
	"${fr[@]}" -c "no network 198.18.0.128/25"
	wait_for 10 '[ "$(route_status 198.18.0.0/24)" = installed ]'
	json_check "$(rule_of "dst 198.18.0.0/24")" 'length == 1 and (.[0].rule | test("proto udp dport 5031 action drop"))' \
		"its rule once the PE withdrew the /25"
}

# Safety (issue 18, item 5): a peer's drop never overrides the DDoS
# allowlist. Of two sources a received route matches alike, the
# allowlisted one reaches the server untouched (it skips the rule stage:
# the route's rule never sees it), the other is dropped; with the
# allowlist entry gone the same route drops the first one too.
test_allowlist_over_peer_drop() {
	local n0 r
	ctl_start
	ctl_session
	ctl global rib -a ipv4 add 198.51.100.0/24
	flctl ddos allow add 192.0.2.10/32 >/dev/null
	json_check "$(flctl -j ddos allow list)" '.prefixes == ["192.0.2.10/32"]' "the allowlist"
	ctl global rib -a ipv4-flowspec add match destination $SERVER4/32 source 192.0.2.0/24 protocol udp destination-port ==5021 then discard
	wait_for 5 '[ "$(rule_of "dport 5021" | jq length)" = 1 ]'
	json_check "$(rule_of "dport 5021")" ".[0].rule | test(\"src 192.0.2.0/24 dst $SERVER4/32 proto udp dport 5021 action drop flowspec $CTL4\")" \
		"the peer's drop route's rule"
	n0=$(noports)
	udp_send client $SERVER4 5021 15 72 192.0.2.10
	udp_send client $SERVER4 5021 20 72 192.0.2.11
	wait_for 5 '[ "$(rule_of "dport 5021" | jq ".[0].dropped")" = 20 ]'
	wait_for 5 '[ $(( $(noports) - n0 )) = 15 ]'
	r=$(rule_of "dport 5021")
	echo "$r"
	json_check "$r" '.[0].packets == 20 and .[0].dropped == 20' \
		"the rule saw and dropped only the non-allowlisted source's datagrams"
	assert_eq "$(( $(noports) - n0 ))" 15 "datagrams that reached the server (the allowlisted source's)"
	# the allowlist entry gone, the same route drops 192.0.2.10 too
	flctl ddos allow del 192.0.2.10/32 >/dev/null
	n0=$(noports)
	udp_send client $SERVER4 5021 10 72 192.0.2.10
	wait_for 5 '[ "$(rule_of "dport 5021" | jq ".[0].dropped")" = 30 ]'
	assert_eq "$(( $(noports) - n0 ))" 0 "datagrams from 192.0.2.10 that reached the server once no longer allowlisted"
}

# An operator's permit wins over a peer's drop; the session's loss takes
# the peer's rules away.
test_permit_and_session_loss() {
	local n0
	ctl_start
	ctl_session
	ctl global rib -a ipv4 add 198.51.100.0/24
	flctl rule add dst $SERVER4/32 proto udp dport 5001 action permit >/dev/null
	ctl global rib -a ipv4-flowspec add match destination $SERVER4/32 protocol udp destination-port ==5001 then discard
	wait_for 5 '[ "$(rule_of "dport 5001" | jq length)" = 1 ]'
	n0=$(noports)
	udp_send client $SERVER4 5001 10 72
	wait_for 5 '[ $(( $(noports) - n0 )) = 10 ]'
	assert_eq "$(rule_of "dport 5001" | jq '.[0].packets')" 0 "packets the peer's drop saw under the permit"

	kill -9 "$CTL_PID"
	wait_for 6 '[ "$(fs_rules | jq ".rules | length")" = 0 ]'
	json_check "$(received)" '.received | length == 0' "no route left from the lost peer"
}

# gobgpd killed under flowlensd: started again, the session and the
# routes come back, and the rules are the same ones.
test_speaker_restart() {
	local pid before restarts
	ctl_start
	ctl_session
	ctl global rib -a ipv4 add 198.51.100.0/24
	ctl global rib -a ipv4-flowspec add match destination $SERVER4/32 protocol udp destination-port ==5001 then discard
	wait_for 5 '[ "$(rule_of "dport 5001" | jq length)" = 1 ]'
	before=$(rule_of "dport 5001" | jq -r '.[0].rule')
	pid=$(flctl -j bgp status | jq .speaker.pid)
	restarts=$(flctl -j bgp status | jq .speaker.restarts)
	kill -9 "$pid"
	wait_for 10 '[ "$(flctl -j bgp status | jq .speaker.restarts)" = $((restarts + 1)) ]'
	wait_for 10 '[ "$(flctl -j bgp status | jq ".speaker.pid != $pid and .speaker.pid > 0")" = true ]'
	json_check "$(received)" '.received[0].stale == true and .received[0].status == "installed"' \
		"the route kept, stale, while the speaker restarts"
	wait_for 30 '[ "$(session_state $CTL4)" = established ]'
	wait_for 10 '[ "$(received | jq -c ".received[0] | [.stale, .status]")" = "[false,\"installed\"]" ]'
	assert_eq "$(rule_of "dport 5001" | jq -r '.[0].rule')" "$before" "the rule after the restart"
	# nothing stale: withdrawn now, gone
	ctl global rib -a ipv4-flowspec del match destination $SERVER4/32 protocol udp destination-port ==5001
	wait_for 5 '[ "$(fs_rules | jq ".rules | length")" = 0 ]'
}

# More components on real traffic, IPv6: a source prefix (another source
# passes), a packet length (short datagrams pass), TCP flags with a rate
# limit (SYNs limited, ACKs untouched).
test_receive_ipv6_more() {
	local n0 r
	ctl_start
	ctl_session
	ctl global rib -a ipv6 add 2001:db8:2::/64
	ctl global rib -a ipv6-flowspec add match destination $SERVER6/128 source 2001:db8:1::/64 \
		protocol 17 destination-port ==5011 then discard
	ctl global rib -a ipv6-flowspec add match destination $SERVER6/128 protocol 17 \
		destination-port ==5012 packet-length '>=300' then discard
	ctl global rib -a ipv6-flowspec add match destination $SERVER6/128 protocol 6 \
		destination-port ==5013 tcp-flags =S then rate-limit 1250
	wait_for 5 '[ "$(fs_rules | jq ".rules | length")" = 3 ]'
	fs_rules | jq -r '.rules[].rule'
	json_check "$(rule_of "dport 5011")" ".[0].rule | test(\"src 2001:db8:1::/64 dst $SERVER6/128 proto udp dport 5011 action drop\")" \
		"the source-prefix route's rule"
	json_check "$(rule_of "dport 5012")" '.[0].rule | test("len 300-65535 action drop")' "the length route's rule"
	json_check "$(rule_of "dport 5013")" '.[0].rule | test("tcp-flags syn/syn action rate-limit 10000bps")' \
		"the TCP-flags route's rule"

	# the source prefix: the client's own address dropped, another passes
	n0=$(udp6_noports)
	udp_send client $SERVER6 5011 20 72
	flgen udp -i eth0 --src 2001:db8:f::1 --dst $SERVER6 --dport 5011 -n 15 >/dev/null
	wait_for 5 '[ "$(rule_of "dport 5011" | jq ".[0].dropped")" = 20 ]'
	wait_for 5 '[ $(( $(udp6_noports) - n0 )) = 15 ]'
	assert_eq "$(rule_of "dport 5011" | jq '.[0].packets')" 20 "datagrams the source-prefix rule saw"

	# the length: 600-byte datagrams dropped, 72-byte ones pass
	n0=$(udp6_noports)
	udp_send client $SERVER6 5012 10 72
	udp_send client $SERVER6 5012 12 600
	wait_for 5 '[ "$(rule_of "dport 5012" | jq ".[0].dropped")" = 12 ]'
	wait_for 5 '[ $(( $(udp6_noports) - n0 )) = 10 ]'

	# TCP flags and a rate: of 50 SYNs sent at once, 10 kbit/s with a
	# 12000-bit bucket passes the bucket's worth (about 20) and drops the
	# rest; 30 bare ACKs do not match
	flgen ack -i eth0 --dst $SERVER6 --dport 5013 -n 30 >/dev/null
	flgen syn -i eth0 --dst $SERVER6 --dport 5013 -n 50 >/dev/null
	wait_for 5 '[ "$(rule_of "dport 5013" | jq ".[0].packets")" = 50 ]'
	r=$(rule_of "dport 5013")
	echo "$r"
	json_check "$r" '.[0].dropped >= 20 and .[0].dropped <= 40' "SYNs the rate limit dropped"
}

# A route with a source port and nothing else but its destination: UDP
# from that port is dropped, from another port it passes.
test_receive_sport_only() {
	local n0
	ctl_start
	ctl_session
	ctl global rib -a ipv4 add 198.51.100.0/24
	ctl global rib -a ipv4-flowspec add match destination $SERVER4/32 source-port ==4444 then discard
	wait_for 5 '[ "$(rule_of "sport 4444" | jq length)" -ge 1 ]'
	fs_rules | jq -r '.rules[].rule'
	json_check "$(fs_rules)" "([.rules[].rule | select(test(\"dst $SERVER4/32 .*sport 4444 action drop\"))] | length >= 1) and
		([.rules[].rule | select(test(\"dport\"))] | length == 0)" "the source-port route's rules"
	n0=$(noports)
	flgen udp -i eth0 --dst $SERVER4 --sport 4444 --dport 9 -n 20 >/dev/null
	flgen udp -i eth0 --dst $SERVER4 --sport 4445 --dport 9 -n 15 >/dev/null
	wait_for 5 '[ "$(fs_rules | jq "[.rules[] | select(.rule | test(\"sport 4444\")) | .dropped] | add")" = 20 ]'
	wait_for 5 '[ $(( $(noports) - n0 )) = 15 ]'
}

# The traffic-action T bit (gobgp's "action terminal"): later routes
# would apply too, which the engine cannot do; refused whole and counted
# as non-terminal, never enforced as a terminal drop.
test_receive_non_terminal() {
	local n0 st before
	ctl_start
	ctl_session
	before=$(flctl -j bgp status | jq '.flowspec.received.refused_by_reason."non-terminal"')
	ctl global rib -a ipv4 add 198.51.100.0/24
	ctl global rib -a ipv4-flowspec add match destination $SERVER4/32 protocol udp destination-port ==5005 \
		then discard action terminal
	wait_for 5 '[ "$(route_status "==5005")" = refused ]'
	received | jq -c '.received[] | {route, status, reason, why}'
	json_check "$(received)" '[.received[] | select(.reason == "non-terminal" and (.why | test("non-terminal")))] | length == 1' \
		"the T-bit route's reason"
	assert_eq "$(fs_rules | jq '.rules | length')" 0 "rules from the T-bit route"
	st=$(flctl -j bgp status)
	assert_eq "$(echo "$st" | jq '.flowspec.received.refused_by_reason."non-terminal"')" $((before + 1)) \
		"non-terminal refusals counted"
	assert_match "$(flctl bgp status)" "non-terminal $((before + 1))\\)" "bgp status's text"
	n0=$(noports)
	udp_send client $SERVER4 5005 10 72
	wait_for 5 '[ $(( $(noports) - n0 )) = 10 ]'
}

# flowspec receive off: a peer's routes are listed as ignored and install
# nothing; on again, they go in; off, their rules come out.
test_receive_off() {
	local n0
	ctl_start
	ctl_session
	flctl flowspec receive off
	json_check "$(flctl -j bgp status)" '.receive == false' "receive off in bgp status"
	ctl global rib -a ipv4 add 198.51.100.0/24
	ctl global rib -a ipv4-flowspec add match destination $SERVER4/32 protocol udp destination-port ==5001 then discard
	wait_for 5 '[ "$(route_status "==5001")" = ignored ]'
	assert_eq "$(fs_rules | jq '.rules | length')" 0 "rules while receive is off"
	n0=$(noports)
	udp_send client $SERVER4 5001 10 72
	wait_for 5 '[ $(( $(noports) - n0 )) = 10 ]'
	flctl flowspec receive on
	wait_for 5 '[ "$(route_status "==5001")" = installed ]'
	udp_send client $SERVER4 5001 10 72
	wait_for 5 '[ "$(rule_of "dport 5001" | jq ".[0].dropped")" = 10 ]'
	flctl flowspec receive off
	wait_for 5 '[ "$(fs_rules | jq ".rules | length")" = 0 ]'
	assert_eq "$(route_status "==5001")" ignored "the route once receive is off again"
	n0=$(noports)
	udp_send client $SERVER4 5001 10 72
	wait_for 5 '[ $(( $(noports) - n0 )) = 10 ]'
}

# The sweep: gobgpd killed under flowlensd, and while it is down the
# controller drops its route; the new gobgpd never shows it, so once the
# grace after the restart (15 s) has passed the route and its rule go.
test_sweep() {
	local pid restarts
	ctl_start
	ctl_session
	ctl global rib -a ipv4 add 198.51.100.0/24
	ctl global rib -a ipv4-flowspec add match destination $SERVER4/32 protocol udp destination-port ==5001 then discard
	ctl global rib -a ipv4-flowspec add match destination $SERVER4/32 protocol udp destination-port ==5002 then discard
	wait_for 5 '[ "$(fs_rules | jq ".rules | length")" = 2 ]'
	pid=$(flctl -j bgp status | jq .speaker.pid)
	restarts=$(flctl -j bgp status | jq .speaker.restarts)
	kill -9 "$pid"
	ctl global rib -a ipv4-flowspec del match destination $SERVER4/32 protocol udp destination-port ==5001
	wait_for 10 '[ "$(flctl -j bgp status | jq .speaker.restarts)" = $((restarts + 1)) ]'
	wait_for 30 '[ "$(session_state $CTL4)" = established ]'
	# the route still announced is seen again; the other goes at the sweep
	wait_for 10 '[ "$(received | jq -c "[.received[] | select(.route | contains(\"==5002\")) | .stale]")" = "[false]" ]'
	wait_for 40 '[ "$(rule_of "dport 5001" | jq length)" = 0 ]'
	json_check "$(received)" '[.received[] | select(.route | contains("==5001"))] | length == 0' \
		"the route the new gobgpd does not have"
	assert_eq "$(rule_of "dport 5002" | jq length)" 1 "the rule of the route still announced"
}

# ---- push --------------------------------------------------------------

# The DDoS engine's mitigation goes to FRR as a FlowSpec route within a
# second of the attack, and away when it ends; the controller's routes
# never reach FRR; gobgpd killed, the route is announced again.
test_push_frr() {
	local out pid routes speaker
	pe_start
	ctl_start
	flctl bgp neighbor add $PE4 as $PE_AS local-as $FL_AS router-id $FL_CTL hold 3 >/dev/null
	ctl_session
	ctl global rib -a ipv4 add 198.51.100.0/24
	ctl global rib -a ipv4-flowspec add match destination $SERVER4/32 protocol udp destination-port ==5001 then discard
	flctl flowspec announce on
	wait_for 30 '[ "$(session_state $PE4)" = established ]'
	flctl -j ddos threshold add $SERVER4/32 udp-pps 1k hold 3 >/dev/null
	out=$WORK/flood.json
	"$LAB" exec client flgen udp -i eth0 --src 192.0.2.10 --dst $SERVER4 --dport 9000 -r 20000 -d 60 -j \
		>"$out" 2>>"$BG_LOG" </dev/null &
	pid=$!
	echo "$pid" >>"$BG_PIDS"
	wait_for 15 '[ "$(flctl -j flowspec list --announced | jq ".announced | length")" -ge 1 ]'
	flctl flowspec list
	wait_for 5 '[ "$(pe_routes | jq "[.routes // {} | .[][] | select(.from == \"192.0.2.10/32\")] | length")" -ge 1 ]'
	routes=$(pe_routes)
	echo "PE: $routes"
	json_check "$routes" "[.routes[][] | select(.from == \"192.0.2.10/32\" and .to == \"$SERVER4/32\" and (.proto | test(\"= 17\")))] | length == 1" \
		"the mitigation at the PE: source, victim, protocol"
	pe "show bgp ipv4 flowspec $SERVER4/32 json" | tee "$WORK/pe-detail.json"
	json_check "$(cat "$WORK/pe-detail.json")" '[.paths[] | select(.ecomlist? and (.ecomlist | test("FS:rate 0")))] | length >= 1' \
		"the route's action at the PE: traffic-rate 0 (drop)"
	json_check "$routes" '[.routes[][] | select(.port? // "" | test("5001"))] | length == 0' \
		"the controller's route is not passed on to the PE"
	# gobgpd killed: started again, and the mitigation announced again
	speaker=$(flctl -j bgp status | jq .speaker.pid)
	kill -9 "$speaker"
	wait_for 10 '[ "$(flctl -j bgp status | jq ".speaker.pid != $speaker and .speaker.pid > 0")" = true ]'
	# the PE lost the session, and the route with it ...
	wait_for 10 '[ "$(pe_routes | jq "[.routes // {} | .[][] | select(.from == \"192.0.2.10/32\")] | length")" = 0 ]'
	# ... and has it again from the new gobgpd
	wait_for 30 '[ "$(session_state $PE4)" = established ]'
	wait_for 10 '[ "$(pe_routes | jq "[.routes // {} | .[][] | select(.from == \"192.0.2.10/32\")] | length")" = 1 ]'
	kill -INT "$pid"
	wait "$pid" || true
	wait_for 15 '[ "$(pe_routes | jq "[.routes // {} | .[][] | select(.from == \"192.0.2.10/32\")] | length")" = 0 ]'
}

# pe_flowspec_count FAMILY SRC: the PE's FlowSpec routes from SRC (FRR
# writes an IPv6 prefix with its offset: "2001:db8:1::10/128/off 0")
pe_flowspec_count() {
	pe_routes "$1" | jq --arg s "$2" '[.routes // {} | .[][] | select(.from == $s or (.from // "" | startswith($s + "/off ")))] | length'
}

# push_setup: the PE up, flowlensd's session with it established
push_setup() {
	pe_start
	flctl bgp neighbor add $PE4 as $PE_AS local-as $FL_AS router-id $BGP_FL_PE hold 3 >/dev/null
	wait_for 30 '[ "$(session_state $PE4)" = established ]'
}

# An attack on an IPv6 victim reaches FRR as an IPv6 FlowSpec route (the
# attacker's /128, the victim's /128, UDP, drop), and goes when it ends.
test_push_frr_ipv6() {
	local pid routes
	push_setup
	flctl flowspec announce on
	flctl -j ddos threshold add $SERVER6/128 udp-pps 1k hold 3 >/dev/null
	flood_bg "$WORK/flood6.json" udp -i eth0 --src 2001:db8:1::10 --dst $SERVER6 --dport 9000 -r 20000 -d 60
	pid=$FLOOD_PID
	wait_for 15 '[ "$(flctl -j flowspec list --announced | jq "[.announced[] | select(.route | startswith(\"ipv6 \"))] | length")" -ge 1 ]'
	flctl flowspec list
	wait_for 5 '[ "$(pe_flowspec_count 6 2001:db8:1::10/128)" -ge 1 ]'
	routes=$(pe_routes 6)
	echo "PE: $routes"
	json_check "$routes" "[.routes[][] | select(.from == \"2001:db8:1::10/128/off 0\" and .to == \"$SERVER6/128/off 0\" and (.proto | test(\"= 17\")))] | length == 1" \
		"the IPv6 mitigation at the PE: source, victim, next header"
	pe "show bgp ipv6 flowspec $SERVER6/128 json" | tee "$WORK/pe6-detail.json"
	json_check "$(cat "$WORK/pe6-detail.json")" '[.paths[] | select(.ecomlist? and (.ecomlist | test("FS:rate 0")))] | length >= 1' \
		"the IPv6 route's action at the PE: traffic-rate 0 (drop)"
	assert_eq "$(pe_flowspec_count 4 2001:db8:1::10/128)" 0 "IPv6 routes among the PE's IPv4 ones"
	flood_stop "$pid"
	wait_for 15 '[ "$(pe_flowspec_count 6 2001:db8:1::10/128)" = 0 ]'
	json_check "$(flctl -j flowspec list --announced)" '.announced == []' "nothing announced once the attack ended"
}

# flowspec announce off: the DDoS engine's rule is in, the PE gets
# nothing; on, the PE gets it; off again, the PE loses it.
test_announce_off() {
	local pid sent
	push_setup
	flctl flowspec announce off
	json_check "$(flctl -j bgp status)" '.announce == false' "announce off in bgp status"
	sent=$(flctl -j bgp status | jq .flowspec.announced.announced)
	flctl -j ddos threshold add $SERVER4/32 udp-pps 1k hold 3 >/dev/null
	flood_bg "$WORK/flood.json" udp -i eth0 --src 192.0.2.10 --dst $SERVER4 --dport 9000 -r 20000 -d 60
	pid=$FLOOD_PID
	wait_for 15 '[ "$(flctl -j rule list --origin ddos | jq ".rules | length")" -ge 1 ]'
	flctl -j rule list --origin ddos | jq -r '.rules[].rule'
	json_check "$(flctl -j flowspec list --announced)" '.announced == []' "announced while announce is off"
	assert_eq "$(flctl -j bgp status | jq .flowspec.announced.announced)" "$sent" "routes announced while off"
	flctl flowspec announce on
	wait_for 10 '[ "$(pe_flowspec_count 4 192.0.2.10/32)" = 1 ]'
	flctl flowspec announce off
	wait_for 10 '[ "$(pe_flowspec_count 4 192.0.2.10/32)" = 0 ]'
	json_check "$(flctl -j flowspec list --announced)" '.announced == []' "announced once off again"
	assert_ge "$(flctl -j rule list --origin ddos | jq '.rules | length')" 1 "the DDoS rule, still in"
	flood_stop "$pid"
}

# A mitigation that would blackhole the victim (a spoofed flood of UDP
# and SYNs from random sources: one rule, every packet to the victim) is
# not announced: counted as not announceable, nothing at the PE.
test_not_announceable() {
	local pid1 pid2 rules sent refused
	push_setup
	flctl flowspec announce on
	sent=$(flctl -j bgp status | jq .flowspec.announced.announced)
	refused=$(flctl -j bgp status | jq .flowspec.announced.not_announceable)
	flctl -j ddos threshold add $SERVER4/32 pps 1k hold 3 >/dev/null
	flood_bg "$WORK/flood-u.json" udp -i eth0 --src 198.18.0.0/15 --dst $SERVER4 --dport 9000 -r 5000 -d 60
	pid1=$FLOOD_PID
	flood_bg "$WORK/flood-s.json" syn -i eth0 --src 198.18.0.0/15 --sport 1024-65535 --dst $SERVER4 --dport 80 -r 5000 -d 60
	pid2=$FLOOD_PID
	wait_for 15 '[ "$(flctl -j rule list --origin ddos | jq ".rules | length")" -ge 1 ]'
	rules=$(flctl -j rule list --origin ddos)
	echo "$rules" | jq -r '.rules[].rule'
	json_check "$rules" "[.rules[].rule | select(test(\"dst $SERVER4/32 action drop\") and (test(\" src | proto \") | not))] | length == 1" \
		"the DDoS engine's rule: the whole victim"
	wait_for 5 '[ "$(flctl -j bgp status | jq .flowspec.announced.not_announceable)" -gt "$refused" ]'
	json_check "$(flctl -j flowspec list --announced)" '.announced == []' "announced"
	assert_eq "$(flctl -j bgp status | jq .flowspec.announced.announced)" "$sent" "routes announced"
	assert_eq "$(pe_routes | jq '[.routes // {} | .[][]] | length')" 0 "FlowSpec routes at the PE"
	flood_stop "$pid1"
	flood_stop "$pid2"
}

# ---- application thresholds ------------------------------------------------

# A QUIC capture replayed over and over (about 190 packets/s) crosses a
# 50 packets/s threshold on QUIC: its senders reach FRR as FlowSpec routes
# (sources), and go when the replay stops and the hold has passed.
test_app_threshold() {
	local capture="$WORK/quic-23.pcap" pcaps pid list from fam
	source "$TOP/scripts/corpus.sh"
	pcaps=$(fl_pcap_dir)
	[ -f "$pcaps/quic-23.pcap" ] || skip "no capture corpus in $pcaps (set FL_PCAP_DIR)"
	mkdir -p "$WORK"
	tcpdump -r "$pcaps/quic-23.pcap" -w "$capture" 'less 1514' 2>/dev/null
	pe_start
	flctl bgp neighbor add $PE4 as $PE_AS local-as $FL_AS router-id $BGP_FL_PE hold 3 >/dev/null
	flctl flowspec announce on
	assert_fails_with "unknown application 'NoSuchApp'" flctl flowspec app NoSuchApp pps 50
	assert_fails_with "bad top '99'" flctl flowspec app QUIC pps 50 top 99
	flctl flowspec app QUIC pps 50 top 2 hold 2
	json_check "$(flctl -j flowspec app)" '.apps[0] | .app == "QUIC" and .metric == "pps" and .limit == 50 and .top == 2 and .active == false' \
		"the threshold, under it"
	wait_for 30 '[ "$(session_state $PE4)" = established ]'
	"$LAB" exec client flgen replay -i eth0 --dst "$SERVER4" --loop 0 "$capture" >/dev/null 2>>"$BG_LOG" </dev/null &
	pid=$!
	echo "$pid" >>"$BG_PIDS"
	wait_for 20 '[ "$(flctl -j flowspec app | jq ".apps[0].active")" = true ]'
	wait_for 10 '[ "$(flctl -j flowspec list --announced | jq "[.announced[] | select(.by == \"app QUIC\")] | length")" -ge 1 ]'
	list=$(flctl -j flowspec list --announced)
	echo "$list"
	flctl flowspec app
	json_check "$list" '[.announced[] | select(.by == "app QUIC")] | length <= 2 and all(.route | test("^ipv[46] src [0-9a-f.:]+/(32|128) then drop$"))' \
		"the senders as /32 or /128 sources to drop, two at most"
	from=$(echo "$list" | jq -r '[.announced[] | select(.by == "app QUIC")][0].route | capture("src (?<a>[^ ]+)").a')
	# one of the QUIC flow's endpoints
	flctl -j show flows --app QUIC | grep -qF "\"${from%/*}\"" || fail "$from is not an endpoint of a QUIC flow"
	fam=4
	[ "${from#*:}" = "$from" ] || fam=6
	wait_for 10 '[ "$(pe_routes $fam | jq "[.routes // {} | .[][] | select(.from // \"\" | startswith(\"$from\"))] | length")" = 1 ]'
	kill -INT "$pid"
	wait "$pid" || true
	wait_for 20 '[ "$(flctl -j flowspec app | jq ".apps[0].active")" = false ]'
	wait_for 10 '[ "$(pe_routes $fam | jq "[.routes // {} | .[][] | select(.from // \"\" | startswith(\"$from\"))] | length")" = 0 ]'
	flctl flowspec app QUIC off
	json_check "$(flctl -j flowspec app)" '.apps == []' "no threshold left"
}

# ---- an external gobgpd ------------------------------------------------------

# flowlensd --gobgp: a gobgpd that runs already (here in the flowlens
# namespace, started by hand) is the speaker; flowlensd adds the neighbor
# to it with `gobgp neighbor add`, and its routes become rules the same way.
test_external_speaker() {
	local n0
	mkdir -p "$WORK"
	cat >"$WORK/ext.toml" <<EOF
[global.config]
  as = $FL_AS
  router-id = "$FL_CTL"
  port = 179
EOF
	# the lab's flowlensd stops first, and its own gobgpd with it: the
	# external one listens on port 179 in the same namespace
	touch "$WORK/external" # for cleanup
	lab stop
	rm -f "$WORK/ext.sock"
	"$LAB" exec flowlens gobgpd -f "$WORK/ext.toml" --api-hosts "unix://$WORK/ext.sock" \
		--pprof-disable -p -l info >>"$WORK/ext.log" 2>&1 </dev/null &
	echo $! >>"$BG_PIDS"
	wait_until 10 test -S "$WORK/ext.sock"
	lab start "${LAB_START_ARGS[@]}" --gobgp "unix://$WORK/ext.sock"
	ctl_start
	flctl bgp neighbor add $CTL4 as $CTL_AS local-as $FL_AS
	wait_for 30 '[ "$(session_state $CTL4)" = established ]'
	json_check "$(flctl -j bgp status)" ".speaker.managed == false and .speaker.target == \"unix://$WORK/ext.sock\"" \
		"the external speaker"
	# the neighbor is the external gobgpd's now
	gobgp --target "unix://$WORK/ext.sock" -j neighbor | jq -e ".[] | select(.conf.neighbor_address == \"$CTL4\")" >/dev/null ||
		fail "the external gobgpd has no neighbor $CTL4"
	ctl global rib -a ipv4 add 198.51.100.0/24
	ctl global rib -a ipv4-flowspec add match destination $SERVER4/32 protocol udp destination-port ==5001 then discard
	wait_for 10 '[ "$(rule_of "dport 5001" | jq length)" = 1 ]'
	n0=$(noports)
	udp_send client $SERVER4 5001 10 72
	wait_for 5 '[ "$(rule_of "dport 5001" | jq ".[0].dropped")" = 10 ]'
	assert_eq "$(( $(noports) - n0 ))" 0 "datagrams that reached the server"
	flctl bgp neighbor del $CTL4 >/dev/null
	wait_for 10 '[ "$(fs_rules | jq ".rules | length")" = 0 ]'
}

# ---- a fleet ---------------------------------------------------------------

# Node A (the lab's flowlensd) and node B (a second flowlensd, host mode on
# nb0 in a namespace of its own, fed by the client's clb) are clients of a
# gobgpd route reflector (all AS 65001): a flood detected on A is dropped
# on B, and the rule goes from both when the attack ends.
RR_NS=$P-rr
NB_NS=$P-nodeb
RR_A=203.0.113.34 # the reflector, A's side
A_RR=203.0.113.33
RR_B=203.0.113.49 # ... B's side
B_RR=203.0.113.50

flctl_b() { FLOWLENS_SOCKET=$WORK/b/flowlensd.sock "$OUTPUT/flctl" "$@"; }

fleet_up() {
	local f
	mkdir -p "$WORK/b" "$WORK/bpffs-b"
	mountpoint -q "$WORK/bpffs-b" || mount -t bpf bpf "$WORK/bpffs-b"
	bgp_link "$RR_NS" bg-rr $A_RR $RR_A
	if ! ip netns list | grep -qw "^$NB_NS"; then
		ip netns add "$NB_NS"
		ip link add eth1 netns "$RR_NS" type veth peer name eth1 netns "$NB_NS"
		ip -n "$RR_NS" addr add $RR_B/28 dev eth1
		ip -n "$RR_NS" link set eth1 up
		ip -n "$NB_NS" addr add $B_RR/28 dev eth1
		ip -n "$NB_NS" link set eth1 up
		ip -n "$NB_NS" link set lo up
		ip link add clb netns "$P-client" type veth peer name nb0 netns "$NB_NS"
		ip -n "$P-client" link set clb up
		ip -n "$NB_NS" link set nb0 up
	fi
	{
		cat <<EOF
[global.config]
  as = $FL_AS
  router-id = "$RR_A"
  port = 179
EOF
		for f in $A_RR $B_RR; do
			cat <<EOF
[[neighbors]]
  [neighbors.config]
    neighbor-address = "$f"
    peer-as = $FL_AS
  [neighbors.timers.config]
    hold-time = 3
    keepalive-interval = 1
    connect-retry = 1
  [neighbors.route-reflector.config]
    route-reflector-client = true
    route-reflector-cluster-id = "$RR_A"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-flowspec"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-flowspec"
EOF
		done
	} >"$WORK/rr.toml"
	rm -f "$WORK/rr.sock"
	ip netns exec "$RR_NS" gobgpd -f "$WORK/rr.toml" --api-hosts "unix://$WORK/rr.sock" \
		--pprof-disable -p -l info >>"$WORK/rr.log" 2>&1 </dev/null &
	echo $! >>"$BG_PIDS"
	ip netns exec "$NB_NS" env LIBXDP_BPFFS="$WORK/bpffs-b" "$OUTPUT/flowlensd" -i nb0 --workers 0 --metrics off \
		--bpffs "$WORK/bpffs-b" --socket "$WORK/b/flowlensd.sock" \
		--state-file "$WORK/b/state.json" >>"$WORK/b/flowlensd.log" 2>&1 </dev/null &
	echo $! >>"$BG_PIDS"
	wait_until 20 flctl_b version
}

test_fleet() {
	local out pid pidb mac rules
	fleet_up
	flctl bgp neighbor add $RR_A as $FL_AS local-as $FL_AS router-id $A_RR hold 3 validate rfc9117
	flctl flowspec announce on
	flctl_b bgp neighbor add $RR_B as $FL_AS local-as $FL_AS router-id $B_RR hold 3 validate rfc9117
	wait_for 30 '[ "$(session_state $RR_A)" = established ]'
	wait_for 30 '[ "$(flctl_b -j bgp status | jq -r ".neighbors[0].state")" = established ]'
	flctl -j ddos threshold add $SERVER4/32 udp-pps 1k hold 3 >/dev/null
	# the same attacker reaches both nodes: A through the lab, B on clb
	mac=$(ip -n "$NB_NS" -j link show nb0 | jq -r '.[0].address')
	out=$WORK/flood-a.json
	"$LAB" exec client flgen udp -i eth0 --src 192.0.2.10 --dst $SERVER4 --dport 9000 -r 20000 -d 60 -j \
		>"$out" 2>>"$BG_LOG" </dev/null &
	pid=$!
	echo "$pid" >>"$BG_PIDS"
	"$LAB" exec client flgen udp -i clb --src 192.0.2.10 --dst $SERVER4 --dst-mac "$mac" --dport 9000 \
		-r 5000 -d 60 -j >"$WORK/flood-b.json" 2>>"$BG_LOG" </dev/null &
	pidb=$!
	echo "$pidb" >>"$BG_PIDS"
	wait_for 15 '[ "$(flctl_b -j rule list --origin flowspec | jq ".rules | length")" -ge 1 ]'
	rules=$(flctl_b -j rule list --origin flowspec)
	echo "node B: $rules"
	json_check "$rules" "[.rules[] | select(.rule | test(\"src 192.0.2.10/32 dst $SERVER4/32 proto udp action drop flowspec $RR_B\"))] | length == 1" \
		"node A's mitigation as a rule on node B"
	wait_for 5 '[ "$(flctl_b -j rule list --origin flowspec | jq ".rules[0].dropped")" -gt 1000 ]'
	kill -INT "$pid" "$pidb"
	wait "$pid" || true
	wait "$pidb" || true
	wait_for 15 '[ "$(flctl -j rule list --origin ddos | jq ".rules | length")" = 0 ]'
	wait_for 5 '[ "$(flctl_b -j rule list --origin flowspec | jq ".rules | length")" = 0 ]'
	flctl_b bgp neighbor del $RR_B >/dev/null
}

# ---- the command line ----------------------------------------------------

test_bad_arguments() {
	assert_fails_with "needs 'as N'" flctl bgp neighbor add 192.0.2.99 local-as 1
	assert_fails_with "bad neighbor '300.1.1.1'" flctl bgp neighbor add 300.1.1.1 as 1 local-as 2
	assert_fails_with "bad as 'x'" flctl bgp neighbor add 192.0.2.99 as x local-as 2
	assert_fails_with "bad hold '1'" flctl bgp neighbor add 192.0.2.99 as 1 local-as 2 hold 1
	assert_fails_with "bad validate 'maybe'" flctl bgp neighbor add 192.0.2.99 as 1 local-as 2 validate maybe
	assert_fails_with "no neighbor 192.0.2.98" flctl bgp neighbor del 192.0.2.98
	assert_fails_with "takes on or off" flctl flowspec announce maybe
	assert_fails_with "bad max '0'" flctl flowspec receive on max 0
	assert_fails_with "takes --received or --announced" flctl flowspec list --all
	# and nothing was added by any of them
	json_check "$(flctl -j bgp status)" '.neighbors == []' "no neighbor after the refusals"
}

run_tests
