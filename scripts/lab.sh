#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# lab.sh - a namespace lab for FlowLens: three network namespaces joined by
# veth pairs, addresses from the documentation ranges, bpffs for each.
#
#   client  eth0 ---- cl0  flowlens  sv0 ---- eth0  server
#   192.0.2.2/24      192.0.2.1    198.51.100.1     198.51.100.2/24
#   2001:db8:1::2/64  2001:db8:1::1  2001:db8:2::1  2001:db8:2::2/64
#
# The flowlens namespace is a router (IP forwarding on): in host mode the
# kernel forwards, in router mode FlowLens does it at the driver. Router
# mode redirects frames into cl0 and sv0, and flgen transmits out of the
# client's eth0; a veth only takes such frames if its peer runs an XDP
# program, so the client's and server's eth0 get a bare XDP_PASS program.
# They also compute their own checksums (tx offload off): a veth hands a
# locally sent packet on with its checksum left for "hardware" to fill
# in, and a redirected frame loses that note, so the far end would drop
# it. Packets from a real wire always carry full checksums.
#
# The client also owns 192.0.2.10-29 and 2001:db8:1::10-1d, so tests can
# send from many sources. The flowlens namespace routes between the two
# subnets (and sends 198.18.0.0/15, the benchmarking range spoofed floods
# use, back towards the client).
#
# `ip netns exec` remounts /sys, hiding bpffs; `lab.sh exec` bind-mounts
# the lab's own bpffs at /sys/fs/bpf in every command it runs, so pinned
# maps live as long as the lab, and points flowlensd/flctl at the lab's
# control socket and state file.
#
# `lab.sh isolate CMD...` runs CMD in network, mount and PID namespaces
# of its own (as xdp-tools' test_runner.sh does): /run is a private tmpfs
# there, so the lab's namespace names (/run/netns), its directory and its
# bpffs are CMD's alone (and its TMPDIR, /run/tmp), and a fresh bpffs is
# mounted at /sys/fs/bpf. Any
# number of isolated labs, from any checkouts, can be up at once, and
# when CMD ends the kernel ends everything it left running and frees its
# namespaces. Every selftests/test_*.sh runs this way (selftests/lib.sh).
set -euo pipefail

LAB_DIR=${FL_LAB_DIR:-/run/flowlens-lab}
P=${FL_LAB_PREFIX:-fl}
NS_CLIENT=$P-client
NS_FLOWLENS=$P-flowlens
NS_SERVER=$P-server
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${OUTPUT:-$TOP/build}
QUEUES=$(nproc)
[ "$QUEUES" -ge 2 ] || QUEUES=2

usage() {
	cat <<USAGE
Usage: $0 COMMAND

  up                 create the lab (tearing down any leftover first)
  down               stop everything in it and remove it
  status             namespaces, addresses, XDP programs, flowlensd
  exec NS CMD...     run CMD in namespace NS (client, flowlens, server)
                     with the lab's bpffs at /sys/fs/bpf
  start [ARGS...]    start flowlensd in the flowlens namespace on cl0 and
                     sv0 (extra ARGS are passed on, e.g. --mode router);
                     waits until it answers
  stop               stop flowlensd (SIGTERM), waiting for it to detach
  isolate CMD...     run CMD in new network, mount and PID namespaces with
                     a private /run and bpffs, where a lab can come up
                     without meeting any other (e.g. \`$0 isolate bash\`)

Environment: FL_LAB_DIR (default /run/flowlens-lab), FL_LAB_PREFIX
(namespace prefix, default fl), OUTPUT (build directory, default build).
USAGE
}

die() {
	echo "lab.sh: $*" >&2
	exit 1
}

ns_name() {
	case "$1" in
	client) echo "$NS_CLIENT" ;;
	flowlens) echo "$NS_FLOWLENS" ;;
	server) echo "$NS_SERVER" ;;
	*) die "unknown namespace '$1' (client, flowlens or server)" ;;
	esac
}

# Replaces the calling (sub)shell, so a background `( lab_exec ... ) &`
# has the pid of the command itself: ip netns exec, env and sh all exec.
lab_exec() {
	local ns
	ns=$(ns_name "$1")
	shift
	exec ip netns exec "$ns" env \
		FLOWLENS_SOCKET="$LAB_DIR/flowlensd.sock" \
		FLOWLENS_STATE_FILE="$LAB_DIR/state.json" \
		PATH="$BUILD:$PATH" \
		sh -c 'mount --bind "$0" /sys/fs/bpf && exec "$@"' \
		"$LAB_DIR/bpffs" "$@"
}

lab_down() {
	local ns pid
	for ns in $NS_CLIENT $NS_FLOWLENS $NS_SERVER; do
		ip netns list | grep -qw "^$ns" || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -TERM "$pid" 2>/dev/null || true
		done
	done
	# Give flowlensd a moment to detach cleanly, then insist.
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		local left=0
		for ns in $NS_CLIENT $NS_FLOWLENS $NS_SERVER; do
			ip netns list | grep -qw "^$ns" || continue
			[ -z "$(ip netns pids "$ns" 2>/dev/null)" ] || left=1
		done
		[ $left = 0 ] && break
		sleep 0.2
	done
	for ns in $NS_CLIENT $NS_FLOWLENS $NS_SERVER; do
		ip netns list | grep -qw "^$ns" || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null || true
		done
		ip netns del "$ns"
	done
	if mountpoint -q "$LAB_DIR/bpffs" 2>/dev/null; then
		umount "$LAB_DIR/bpffs"
	fi
	rm -rf "$LAB_DIR"
}

# Two ends of a veth, each in its namespace, with as many queues as CPUs:
# native XDP on veth needs rx queues >= the peer's tx queues.
veth_pair() {
	ip link add "$2" netns "$1" numtxqueues "$QUEUES" numrxqueues "$QUEUES" \
		type veth peer name "$4" netns "$3" \
		numtxqueues "$QUEUES" numrxqueues "$QUEUES"
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}

lab_up() {
	local ns i
	lab_down
	mkdir -p "$LAB_DIR/bpffs"
	mount -t bpf bpf "$LAB_DIR/bpffs"

	for ns in $NS_CLIENT $NS_FLOWLENS $NS_SERVER; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 \
			net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	done
	veth_pair "$NS_CLIENT" eth0 "$NS_FLOWLENS" cl0
	veth_pair "$NS_FLOWLENS" sv0 "$NS_SERVER" eth0

	ip -n "$NS_CLIENT" addr add 192.0.2.2/24 dev eth0
	ip -n "$NS_CLIENT" addr add 2001:db8:1::2/64 dev eth0 nodad
	for i in $(seq 10 29); do
		ip -n "$NS_CLIENT" addr add "192.0.2.$i/24" dev eth0
		ip -n "$NS_CLIENT" addr add "2001:db8:1::$(printf %x "$i")/64" dev eth0 nodad
	done
	ip -n "$NS_CLIENT" route add default via 192.0.2.1
	ip -n "$NS_CLIENT" -6 route add default via 2001:db8:1::1

	ip -n "$NS_FLOWLENS" addr add 192.0.2.1/24 dev cl0
	ip -n "$NS_FLOWLENS" addr add 2001:db8:1::1/64 dev cl0 nodad
	ip -n "$NS_FLOWLENS" addr add 198.51.100.1/24 dev sv0
	ip -n "$NS_FLOWLENS" addr add 2001:db8:2::1/64 dev sv0 nodad
	ip -n "$NS_FLOWLENS" route add 198.18.0.0/15 via 192.0.2.2
	ip netns exec "$NS_FLOWLENS" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1

	ip -n "$NS_SERVER" addr add 198.51.100.2/24 dev eth0
	ip -n "$NS_SERVER" addr add 2001:db8:2::2/64 dev eth0 nodad
	ip -n "$NS_SERVER" route add default via 198.51.100.1
	ip -n "$NS_SERVER" -6 route add default via 2001:db8:2::1

	[ -f "$BUILD/progs/xdp_pass.bpf.o" ] || die "$BUILD/progs/xdp_pass.bpf.o not built (run make)"
	for ns in $NS_CLIENT $NS_SERVER; do
		ip -n "$ns" link set dev eth0 xdpdrv obj "$BUILD/progs/xdp_pass.bpf.o" sec xdp ||
			die "cannot attach XDP_PASS to eth0 in $ns"
		ip netns exec "$ns" ethtool -K eth0 tx off >/dev/null ||
			die "cannot turn off checksum offload on eth0 in $ns (is ethtool installed? make deps)"
	done

	# Both families reachable end to end before anyone relies on it.
	for i in $(seq 1 50); do
		if ip netns exec "$NS_CLIENT" ping -c1 -W1 -q 198.51.100.2 >/dev/null 2>&1 &&
			ip netns exec "$NS_CLIENT" ping -6 -c1 -W1 -q 2001:db8:2::2 >/dev/null 2>&1; then
			echo "lab: up ($NS_CLIENT, $NS_FLOWLENS, $NS_SERVER; bpffs at $LAB_DIR/bpffs)"
			return 0
		fi
		sleep 0.1
	done
	die "lab is up but the server is not reachable from the client"
}

lab_status() {
	local ns
	for ns in $NS_CLIENT $NS_FLOWLENS $NS_SERVER; do
		if ! ip netns list | grep -qw "^$ns"; then
			echo "$ns: absent"
			continue
		fi
		echo "$ns:"
		ip -n "$ns" -br addr show | grep -v '^lo' | sed 's/^/  /'
		ip -n "$ns" link show | grep -o 'prog/xdp[a-z]* id [0-9]*' |
			sed 's/^/  xdp: /' || true
	done
	if [ -S "$LAB_DIR/flowlensd.sock" ]; then
		(lab_exec flowlens flctl version) | sed 's/^/  /'
	else
		echo "flowlensd: not running"
	fi
}

daemon_start() {
	[ -x "$BUILD/flowlensd" ] || die "$BUILD/flowlensd not built (run make)"
	(lab_exec flowlens flowlensd -i cl0 -i sv0 "$@") \
		>>"$LAB_DIR/flowlensd.log" 2>&1 &
	echo $! >"$LAB_DIR/flowlensd.pid"
	for _ in $(seq 1 100); do
		if (lab_exec flowlens flctl version) 2>/dev/null | grep -q '^flowlensd [0-9]'; then
			return 0
		fi
		if ! kill -0 "$(cat "$LAB_DIR/flowlensd.pid")" 2>/dev/null; then
			cat "$LAB_DIR/flowlensd.log" >&2
			die "flowlensd exited during startup"
		fi
		sleep 0.1
	done
	die "flowlensd did not answer within 10 s (log: $LAB_DIR/flowlensd.log)"
}

daemon_stop() {
	local pid
	[ -f "$LAB_DIR/flowlensd.pid" ] || return 0
	pid=$(cat "$LAB_DIR/flowlensd.pid")
	rm -f "$LAB_DIR/flowlensd.pid"
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	die "flowlensd (pid $pid) did not exit within 10 s of SIGTERM"
}

# The mounts inherited from the host include other labs' namespaces (nsfs)
# and bpffs: they are dropped, or CMD would keep them alive until it ends.
# Then /run (with /run/netns in it) and /sys/fs/bpf are made private.
isolated_mounts() {
	local m
	findmnt -rn -o TARGET,FSTYPE | awk '$2 == "nsfs" || $2 == "bpf" { print $1 }' |
		sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done
	mount -t tmpfs -o mode=0755 flowlens-run /run || return 1
	mkdir -p /run/netns || return 1
	mount -t bpf bpf /sys/fs/bpf || return 1
	ip link set lo up
}

# FL_LAB_ISOLATED names the network namespace CMD was isolated in, so a
# script can tell it already runs isolated (and not isolate itself again).
lab_isolate() {
	exec unshare --net --mount --pid --fork --kill-child --mount-proc \
		--propagation private "$0" isolated-inside "$@"
}

lab_isolated_inside() {
	isolated_mounts || die "cannot make /run and /sys/fs/bpf private"
	# Temporary files too: no other script can see (or clean up) them.
	mkdir -m 1777 /run/tmp
	FL_LAB_ISOLATED=$(readlink /proc/self/ns/net)
	export FL_LAB_ISOLATED FL_LAB_DIR=/run/flowlens-lab TMPDIR=/run/tmp
	exec "$@"
}

[ $# -ge 1 ] || { usage >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "must run as root (namespaces, bpffs, XDP)"
cmd=$1
shift
case "$cmd" in
up) lab_up ;;
down) lab_down ;;
status) lab_status ;;
exec)
	[ $# -ge 2 ] || die "exec needs NS and a command"
	lab_exec "$@"
	;;
start) daemon_start "$@" ;;
stop) daemon_stop ;;
isolate)
	[ $# -ge 1 ] || die "isolate needs a command"
	lab_isolate "$@"
	;;
isolated-inside) lab_isolated_inside "$@" ;;
-h | --help | help) usage ;;
*)
	usage >&2
	exit 1
	;;
esac
