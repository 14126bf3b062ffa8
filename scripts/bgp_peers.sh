# SPDX-License-Identifier: Apache-2.0
#
# bgp_peers.sh - sourced: BGP speakers for the lab, each in a namespace of
# its own joined to the flowlens namespace by a veth (selftests/
# test_flowspec.sh and scripts/demo.sh):
#
#   ctl  gobgpd as a FlowSpec controller, AS 65010, 203.0.113.2/28
#        (flowlens side 203.0.113.1, interface bg-ctl)
#   pe   FRR's bgpd (no zebra) as the upstream PE, AS 65020, 203.0.113.18/28
#        (flowlens side 203.0.113.17, interface bg-pe)
#
# flowlensd's own gobgpd (AS 65001) peers with both. The caller sets
# NS_FLOWLENS and BGP_WORK (a directory for configurations, sockets and
# logs) and P (the lab's namespace prefix), and kills the pids it gets in
# BGP_PIDS when it is done.

BGP_FL_AS=65001
BGP_CTL_AS=65010
BGP_PE_AS=65020
BGP_FL_CTL=203.0.113.1
BGP_CTL=203.0.113.2
BGP_FL_PE=203.0.113.17
BGP_PE=203.0.113.18
BGP_CTL_NS=${P:-fl}-ctl
BGP_PE_NS=${P:-fl}-pe
BGP_FRR_RUN=/run/frr/$BGP_PE_NS
BGP_PIDS=()

# bgp_link NS IFACE FL_ADDR PEER_ADDR: NS joined to flowlens by a veth,
# IFACE on the flowlens side (no XDP there: BGP is control traffic)
bgp_link() {
	local ns=$1 ifc=$2
	ip netns list | grep -qw "^$ns" && return 0
	ip netns add "$ns"
	ip link add "$ifc" netns "$NS_FLOWLENS" type veth peer name eth0 netns "$ns"
	ip -n "$NS_FLOWLENS" addr add "$3/28" dev "$ifc"
	ip -n "$NS_FLOWLENS" link set "$ifc" up
	ip -n "$ns" addr add "$4/28" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" link set lo up
}

# bgp_wait_socket SOCKET WHAT LOG: until a speaker opens SOCKET (10 s), or
# a failure naming WHAT with LOG's last lines.
bgp_wait_socket() {
	for _ in $(seq 100); do
		[ -S "$1" ] && return 0
		sleep 0.1
	done
	echo "$2 did not start: $(tail -3 "$3")" >&2
	return 1
}

# The controller's CLI.
bgp_ctl() { gobgp --target "unix://$BGP_WORK/ctl.sock" "$@"; }

# bgp_ctl_start: the controller's gobgpd (hold time 3 s), peering with
# flowlensd's with IPv4 and IPv6 FlowSpec and unicast. Its pid is the last
# of BGP_PIDS.
bgp_ctl_start() {
	local f
	mkdir -p "$BGP_WORK"
	bgp_link "$BGP_CTL_NS" bg-ctl $BGP_FL_CTL $BGP_CTL
	{
		cat <<EOF
[global.config]
  as = $BGP_CTL_AS
  router-id = "$BGP_CTL"
  port = 179
[[neighbors]]
  [neighbors.config]
    neighbor-address = "$BGP_FL_CTL"
    peer-as = $BGP_FL_AS
  [neighbors.timers.config]
    hold-time = 3
    keepalive-interval = 1
    connect-retry = 1
EOF
		for f in ipv4-flowspec ipv6-flowspec ipv4-unicast ipv6-unicast; do
			printf '  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = "%s"\n' "$f"
		done
	} >"$BGP_WORK/ctl.toml"
	rm -f "$BGP_WORK/ctl.sock"
	ip netns exec "$BGP_CTL_NS" gobgpd -f "$BGP_WORK/ctl.toml" \
		--api-hosts "unix://$BGP_WORK/ctl.sock" --pprof-disable -p -l info \
		>>"$BGP_WORK/ctl.log" 2>&1 </dev/null &
	BGP_PIDS+=($!)
	bgp_wait_socket "$BGP_WORK/ctl.sock" "the controller's gobgpd" "$BGP_WORK/ctl.log"
}

# bgp_pe_start: FRR's bgpd as the PE, eBGP to flowlensd with both FlowSpec
# families (timers 1 3). Its pid is the last of BGP_PIDS.
bgp_pe_start() {
	mkdir -p "$BGP_WORK" "$BGP_FRR_RUN"
	chown frr:frr "$BGP_FRR_RUN"
	bgp_link "$BGP_PE_NS" bg-pe $BGP_FL_PE $BGP_PE
	cat >"$BGP_WORK/bgpd.conf" <<EOF
frr defaults traditional
hostname pe
router bgp $BGP_PE_AS
 bgp router-id $BGP_PE
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 neighbor $BGP_FL_PE remote-as $BGP_FL_AS
 neighbor $BGP_FL_PE timers 1 3
 neighbor $BGP_FL_PE timers connect 1
 address-family ipv4 flowspec
  neighbor $BGP_FL_PE activate
 exit-address-family
 address-family ipv6 flowspec
  neighbor $BGP_FL_PE activate
 exit-address-family
EOF
	chmod 644 "$BGP_WORK/bgpd.conf"
	ip netns exec "$BGP_PE_NS" /usr/lib/frr/bgpd -Z -N "$BGP_PE_NS" -f "$BGP_WORK/bgpd.conf" \
		-i "$BGP_FRR_RUN/bgpd.pid" --log "file:$BGP_WORK/pe-bgpd.log" \
		>>"$BGP_WORK/pe.out" 2>&1 </dev/null &
	BGP_PIDS+=($!)
	bgp_wait_socket "$BGP_FRR_RUN/bgpd.vty" "FRR's bgpd" "$BGP_WORK/pe.out"
}

# The PE's vtysh.
bgp_pe() { vtysh --vty_socket "$BGP_FRR_RUN" -c "$1"; }
