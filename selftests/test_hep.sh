#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# HEP3 mirroring end to end: real calls made by sipp (Debian's sip-tester,
# its built-in uac and uas scenarios) from the client to the server
# through the router-mode lab, escalated to the AF_XDP workers, and every
# SIP message of every call, both directions, mirrored to the collectors.
#
# The collectors live in the server namespace, on addresses of their own
# (203.0.113.50 and 2001:db8:3::50) that the flowlens namespace routes
# there, as a Homer box behind the protected network would be. Two
# receivers read what arrives:
#   - sngrep, listening for HEP (-L udp:203.0.113.50:9060, with the
#     collector's password when it has one), writes the SIP messages it
#     decoded to a capture, which tshark reads back (Call-ID, addresses);
#   - tcpdump captures the HEP datagrams themselves, which hep_check below
#     decodes chunk by chunk (neither sngrep nor Debian's tshark shows the
#     correlation id, and tshark 4.0 has no HEP dissector).
# What sipp logged it sent (-trace_msg) is the truth: every message sent
# by either side must arrive at each collector once, byte for byte, with
# its addresses, ports and protocol, its Call-ID as the correlation id,
# the collector's capture agent id and password, and a capture time
# within the run.
LAB_START_ARGS=(--mode router)
source "$(dirname "$0")/lib.sh"

COLLECTOR4=203.0.113.50
COLLECTOR6=2001:db8:3::50
HEP_PORT=9060
SIP_PORT=5060

worker_sum() { flctl -j show workers | jq "[.workers[].$1] | add // 0"; }
hep_list() { flctl -j hep list; }
# Packets the flow cache's SIP flows had escalated to the workers.
sip_escalated() { flctl -j show flows -n 0 --app SIP | jq '[.flows[].escalated] | add // 0'; }
# A collector's field in `hep list` (ADDR FIELD).
hep_field() { hep_list | jq -r --arg a "$1" ".collectors[] | select(.addr == \$a) | .$2"; }

# The collectors' addresses on the server's loopback, routed there; and
# the lab's neighbours known both ways: a frame XDP cannot forward yet (no
# neighbour entry) goes to the kernel instead of a worker, and the worker
# never sees that SIP message.
collectors_up() {
	in_ns server ip addr replace "$COLLECTOR4/32" dev lo
	in_ns server ip addr replace "$COLLECTOR6/128" dev lo
	in_ns flowlens ip route replace "$COLLECTOR4/32" via "$SERVER4"
	in_ns flowlens ip -6 route replace "$COLLECTOR6/128" via "$SERVER6"
	in_ns client ping -c1 -W2 "$SERVER4" >/dev/null
	in_ns client ping -6 -c1 -W2 "$SERVER6" >/dev/null
	in_ns server ping -c1 -W2 "$CLIENT4" >/dev/null
	in_ns server ping -6 -c1 -W2 "$CLIENT6" >/dev/null
}

cleanup() {
	local c
	for c in $(flctl -j hep list 2>/dev/null | jq -r '.collectors[] | "\(.addr)|\(.port)"'); do
		flctl hep del "${c%|*}" port "${c#*|}" >/dev/null 2>&1 || true
	done
}

# A fresh directory for the test's captures and logs (in the lab's own
# /run, which goes with it).
workdir() {
	W=$(mktemp -d "$LAB_DIR/hep.XXXXXX")
	chmod 755 "$W"
}

# hep_capture_start: tcpdump writes every HEP datagram the server gets to
# $W/hep.pcap; HEP_CAPTURE_PID.
hep_capture_start() {
	bg server sh -c "exec tcpdump -n -i eth0 -U -w $W/hep.pcap 'udp and dst port $HEP_PORT' 2>$W/tcpdump.err"
	HEP_CAPTURE_PID=$!
	wait_until 5 grep -q "listening on" "$W/tcpdump.err"
}

# captured [DST]: the HEP datagrams tcpdump has written so far (to DST).
# shellcheck disable=SC2120 # DST is given in wait_for's expressions
captured() {
	tcpdump -n -r "$W/hep.pcap" ${1:+"dst host $1"} 2>/dev/null | wc -l
}

# sngrep_start [PASSWORD]: sngrep's HEP listener on COLLECTOR4, the SIP it
# decodes written to $W/sngrep.pcap; SNGREP_PID.
sngrep_start() {
	local conf=()
	if [ -n "${1:-}" ]; then
		printf 'set eep.listen.pass %s\n' "$1" >"$W/sngrep.conf"
		conf=(-f "$W/sngrep.conf")
	fi
	bg server sngrep -F "${conf[@]}" -N -q -L "udp:$COLLECTOR4:$HEP_PORT" -O "$W/sngrep.pcap"
	SNGREP_PID=$!
	wait_until 5 in_ns server sh -c "ss -Hlun '( sport = :$HEP_PORT )' | grep -q '$COLLECTOR4'"
}

# stop PID...: SIGTERM, and wait for each to write what it holds and exit.
stop() {
	local pid
	for pid in "$@"; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
}

# uas_start ADDR [TRANSPORT]: sipp's uas scenario on ADDR port 5060,
# logging what it sends and receives to $W/uas-ADDR.log; UAS_PID.
uas_start() {
	bg server sh -c "cd $W && exec sipp -sn uas -i $1 -p $SIP_PORT -t ${2:-u1} -nostdin -trace_msg -message_file $W/uas-$1.log"
	UAS_PID=$!
	wait_until 5 in_ns server sh -c "ss -Hlntu '( sport = :$SIP_PORT )' | grep -q ."
}

# calls FROM TO N [TRANSPORT]: N calls (uac scenario) from FROM to the
# uas on TO, 10 a second; every one must complete. Logs to
# $W/uac-FROM.log.
calls() {
	local to=$2
	case $to in *:*) to="[$to]" ;; esac
	in_ns client sh -c "cd $W && exec sipp -sn uac $to:$SIP_PORT -i $1 -p $SIP_PORT -t ${4:-u1} -m $3 -r ${CALL_RATE:-10} -nostdin -trace_msg -message_file $W/uac-$1.log -timeout 60 -timeout_error" \
		>"$W/uac-$1.out" 2>&1 || {
		cat "$W/uac-$1.out"
		fail "sipp: $3 calls from $1 to $2 did not all complete"
	}
	echo "ok: $3 calls from $1 to $2 (${4:-u1})"
}

# hep_check PCAP ID KEY [--stream] [--call-ids FILE] -- LOG SRC DST ... :
# decodes every HEP datagram of PCAP and holds it against what the sipp
# logs say was sent (LOG: the messages SRC sent to DST, to or from port
# 5060).
# Prints a JSON summary. --stream (TCP): per direction, the payloads in
# order must be the messages sent in order (a segment may carry two; one
# the kernel sent again, after a loss, counts once).
hep_check() {
	python3 - "$@" <<'EOF'
import json, re, socket, struct, sys

args = sys.argv[1:]
pcap, want_id, want_key = args[0], int(args[1]), args[2].encode()
args = args[3:]
stream, ids_out = False, None
while args and args[0] != "--":
    if args[0] == "--stream":
        stream = True
        args = args[1:]
    elif args[0] == "--call-ids":
        ids_out, args = args[1], args[2:]
    else:
        sys.exit("hep_check: unknown option " + args[0])
sides = [args[i:i + 3] for i in range(1, len(args), 3)]


def call_id(payload):
    head = payload.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n")[1:]:
        m = re.match(rb"(?i)(call-id|i)[ \t]*:[ \t]*(.*?)[ \t]*$", line)
        if m:
            return m.group(2)
    return None


def sent_messages(log):
    data = open(log, "rb").read()
    out = []
    for m in re.finditer(rb"^(UDP|TCP) message sent \((\d+) bytes\):\n\n", data, re.M):
        start = m.end()
        out.append(data[start:start + int(m.group(2))])
    return out


def addr(text):
    fam = socket.AF_INET6 if ":" in text else socket.AF_INET
    return socket.inet_pton(fam, text)


def datagrams(path):
    data = open(path, "rb").read()
    e = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    off = 24
    while off + 16 <= len(data):
        caplen = struct.unpack(e + "I", data[off + 8:off + 12])[0]
        frame = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        kind = frame[12:14]
        if kind == b"\x08\x00":
            ihl = (frame[14] & 15) * 4
            if frame[23] == 17:
                yield frame[14 + ihl + 8:]
        elif kind == b"\x86\xdd" and frame[20] == 17:
            yield frame[14 + 40 + 8:]


def decode(d):
    if d[:4] != b"HEP3" or struct.unpack("!H", d[4:6])[0] != len(d):
        raise ValueError("bad HEP3 header")
    chunks, pos = {}, 6
    while pos < len(d):
        vendor, ctype, clen = struct.unpack("!HHH", d[pos:pos + 6])
        if vendor != 0 or clen < 6 or pos + clen > len(d) or ctype in chunks:
            raise ValueError(f"bad chunk at {pos}")
        chunks[ctype] = d[pos + 6:pos + clen]
        pos += clen
    return chunks


expected = {}  # (proto, src, sport, dst, dport) -> messages, in order
for log, src, dst in sides:
    key = (addr(src), addr(dst))
    expected.setdefault(key, []).extend(sent_messages(log))
n_expected = sum(len(v) for v in expected.values())

summary = {"received": 0, "expected": n_expected, "matched": 0, "bad": [],
           "ts_min": None, "ts_max": None, "ip_proto": []}
got = {}
for d in datagrams(pcap):
    summary["received"] += 1
    try:
        c = decode(d)
        fam = c[1][0]
        v4 = fam == socket.AF_INET
        src, dst = c[3 if v4 else 5], c[4 if v4 else 6]
        if fam not in (socket.AF_INET, socket.AF_INET6) or len(src) != (4 if v4 else 16):
            raise ValueError("family and addresses disagree")
        sport, dport = struct.unpack("!H", c[7])[0], struct.unpack("!H", c[8])[0]
        if 5060 not in (sport, dport) or not (sport and dport):
            raise ValueError(f"ports {sport} {dport}")
        if c[11] != b"\x01":
            raise ValueError("protocol type is not SIP")
        if struct.unpack("!I", c[12])[0] != want_id:
            raise ValueError("capture id " + str(struct.unpack("!I", c[12])[0]))
        if c.get(14, b"") != want_key:
            raise ValueError("auth key " + repr(c.get(14)))
        payload = c[15]
        if c.get(17) != call_id(payload) or not c.get(17):
            raise ValueError(f"correlation id {c.get(17)!r}, Call-ID {call_id(payload)!r}")
        if c[2][0] not in summary["ip_proto"]:
            summary["ip_proto"].append(c[2][0])
        ts = struct.unpack("!I", c[9])[0] + struct.unpack("!I", c[10])[0] / 1e6
        if struct.unpack("!I", c[10])[0] >= 1000000:
            raise ValueError("microseconds beyond a second")
        summary["ts_min"] = min(summary["ts_min"] or ts, ts)
        summary["ts_max"] = max(summary["ts_max"] or ts, ts)
        got.setdefault((src, dst), []).append(payload)
    except (KeyError, IndexError, ValueError, struct.error) as e:
        summary["bad"].append(str(e))

if stream:
    # a segment TCP sent again is mirrored again: once is enough here
    summary["retransmitted"] = 0
    for k in expected:
        seen, parts = set(), []
        for p in got.get(k, []):
            if p in seen:
                summary["retransmitted"] += 1
                continue
            seen.add(p)
            parts.append(p)
        if b"".join(parts) == b"".join(expected[k]):
            summary["matched"] += len(expected[k])
else:
    for k, msgs in expected.items():
        left = list(got.get(k, []))
        for m in msgs:
            if m in left:
                left.remove(m)
                summary["matched"] += 1
if ids_out:
    ids = sorted(call_id(m).decode() for v in expected.values() for m in v)
    open(ids_out, "w").write("".join(i + "\n" for i in ids))
summary["bad"] = summary["bad"][:5]
print(json.dumps(summary))
EOF
}

# hep_assert SUMMARY WHAT: every message sent arrived once, each as it
# should, within the run ($T0 to now).
hep_assert() {
	local now
	now=$(date +%s)
	echo "$2: $1"
	# (what was captured, by sender and collector: shown if it fails)
	tcpdump -n -r "$W/hep.pcap" 2>/dev/null | awk '{ print $3, $5 }' | sort | uniq -c
	json_check "$1" '.bad == []' "$2: every datagram decodes as it should"
	json_check "$1" '.expected > 0' "$2: sipp logged what it sent"
	json_check "$1" '.received == .expected and .matched == .expected' \
		"$2: each message once, byte for byte, with its addresses and ports"
	json_check "$1" ".ts_min >= $T0 - 1 and .ts_max <= $now + 1" \
		"$2: capture times within the run"
}

# The Call-IDs of the SIP messages sngrep decoded from HEP, sorted.
sngrep_call_ids() {
	tshark -r "$W/sngrep.pcap" -T fields -e sip.Call-ID 2>/dev/null | sort
}

# Every SIP message of every call, both directions, over IPv4 and IPv6, at
# two collectors at once: sngrep (with a password) and a bare one on IPv6.
test_every_message_mirrored() {
	local s4 s6 rx0 m0 n
	collectors_up
	workdir
	T0=$(date +%s)
	flctl hep add "$COLLECTOR4" port "$HEP_PORT" id 2001 password s3cret
	flctl hep add "$COLLECTOR6" id 4242
	json_check "$(hep_list)" '[.collectors[] | .sent] == [0, 0]' "fresh counters"
	hep_capture_start
	sngrep_start s3cret
	rx0=$(worker_sum rx)
	m0=$(hep_list | jq .sip_messages)

	uas_start "$SERVER4"
	calls "$CLIENT4" "$SERVER4" 5
	stop "$UAS_PID"
	uas_start "$SERVER6"
	calls "$CLIENT6" "$SERVER6" 5
	stop "$UAS_PID"

	n=$(cat "$W"/uac-*.log "$W"/uas-*.log | grep -c '^UDP message sent')
	echo "sipp sent $n SIP messages (10 calls of 6: INVITE 180 200 ACK BYE 200)"
	assert_ge "$n" 60 "messages sipp sent"
	wait_for 10 '[ "$(hep_field $COLLECTOR4 sent)" -ge $n ] && [ "$(hep_field $COLLECTOR6 sent)" -ge $n ]'
	# the last datagrams have left flowlensd; give the receivers a moment
	wait_for 5 '[ "$(captured)" -ge $((2 * n)) ]'
	stop "$HEP_CAPTURE_PID" "$SNGREP_PID"

	set -- -- "$W/uac-$CLIENT4.log" "$CLIENT4" "$SERVER4" \
		"$W/uas-$SERVER4.log" "$SERVER4" "$CLIENT4" \
		"$W/uac-$CLIENT6.log" "$CLIENT6" "$SERVER6" \
		"$W/uas-$SERVER6.log" "$SERVER6" "$CLIENT6"
	tcpdump -r "$W/hep.pcap" -w "$W/hep4.pcap" "dst host $COLLECTOR4" 2>/dev/null
	tcpdump -r "$W/hep.pcap" -w "$W/hep6.pcap" "dst host $COLLECTOR6" 2>/dev/null
	s4=$(hep_check "$W/hep4.pcap" 2001 s3cret --call-ids "$W/call-ids" "$@")
	s6=$(hep_check "$W/hep6.pcap" 4242 "" "$@")
	hep_assert "$s4" "collector $COLLECTOR4 (id 2001, password)"
	hep_assert "$s6" "collector $COLLECTOR6 (id 4242)"
	json_check "$s4" '.ip_proto == [17]' "UDP, said so"

	# sngrep decoded each one (its password checked), Call-IDs as sent
	assert_eq "$(sngrep_call_ids | wc -l)" "$n" "messages sngrep decoded"
	assert_eq "$(sngrep_call_ids | md5sum)" "$(md5sum <"$W/call-ids")" \
		"the Call-IDs sngrep decoded"
	assert_eq "$(sort -u "$W/call-ids" | wc -l)" 10 "calls"
	assert_eq "$(tshark -r "$W/sngrep.pcap" -T fields -e ip.src -e ip.dst \
		-Y "sip.Method == \"INVITE\" && sip.Call-ID contains \"@$CLIENT4\"" 2>/dev/null | sort | uniq -c | awk '{ $1 = $1; print }')" \
		"5 $CLIENT4 $SERVER4" "the IPv4 INVITEs as sngrep saw them"

	# what flowlensd counted: every message, once per collector
	json_check "$(hep_list)" "[.collectors[] | [.sent, .dropped, .send_errors]] == [[$n, 0, 0], [$n, 0, 0]] and .sip_messages == $((m0 + n))" \
		"hep list's counters"
	assert_ge "$(worker_sum rx)" $((rx0 + n)) "frames the workers received"
	flctl hep list
}

# SIP over TCP: the segments that carry messages, as they went.
test_tcp() {
	local s n
	collectors_up
	workdir
	T0=$(date +%s)
	flctl hep add "$COLLECTOR4"
	hep_capture_start
	uas_start "$SERVER4" t1
	calls "$CLIENT4" "$SERVER4" 3 t1
	stop "$UAS_PID"
	n=$(cat "$W"/uac-*.log "$W"/uas-*.log | grep -c '^TCP message sent')
	wait_for 10 '[ "$(hep_field $COLLECTOR4 sent)" -gt 0 ] && [ "$(captured)" -ge "$(hep_field $COLLECTOR4 sent)" ]'
	stop "$HEP_CAPTURE_PID"
	s=$(hep_check "$W/hep.pcap" 2002 "" --stream -- \
		"$W/uac-$CLIENT4.log" "$CLIENT4" "$SERVER4" \
		"$W/uas-$SERVER4.log" "$SERVER4" "$CLIENT4")
	echo "TCP: $n messages sent: $s"
	json_check "$s" '.bad == [] and .ip_proto == [6]' "TCP datagrams decode, said TCP"
	json_check "$s" ".expected == $n and .matched == $n" \
		"each direction's stream, as the collector got it, is what sipp sent"
}

# A collector's rate cap: a burst of calls far above it is mostly dropped,
# counted as such, and the collector gets no more than the cap allows.
test_rate_cap() {
	local n sent dropped t1 limit m0
	collectors_up
	workdir
	T0=$(date +%s.%N)
	m0=$(hep_list | jq .sip_messages)
	flctl hep add "$COLLECTOR4" rate 5
	hep_capture_start
	uas_start "$SERVER4"
	CALL_RATE=50 calls "$CLIENT4" "$SERVER4" 20
	t1=$(date +%s.%N)
	stop "$UAS_PID"
	n=$(cat "$W"/uac-*.log "$W"/uas-*.log | grep -c '^UDP message sent')
	wait_for 5 '[ "$(hep_list | jq .sip_messages)" -ge $((m0 + n)) ]'
	sent=$(hep_field "$COLLECTOR4" sent)
	dropped=$(hep_field "$COLLECTOR4" dropped)
	# 5 at once (a full bucket), then 5 a second while the calls ran
	limit=$(awk -v a="$T0" -v b="$t1" 'BEGIN { print 5 + int(5 * (b - a)) + 1 }')
	echo "$n messages in $(awk -v a="$T0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s: sent $sent, dropped $dropped (at most $limit may go)"
	assert_eq "$(($(hep_list | jq .sip_messages) - m0))" "$n" "SIP messages mirrored"
	assert_eq "$((sent + dropped))" "$n" "sent + dropped"
	assert_ge "$dropped" 1 "dropped by the rate cap"
	assert_ge "$limit" "$sent" "sent within the cap"
	assert_eq "$(hep_field "$COLLECTOR4" send_errors)" 0 "send errors"
	wait_for 5 '[ "$(captured)" -ge $sent ]'
	stop "$HEP_CAPTURE_PID"
	assert_eq "$(captured)" "$sent" \
		"datagrams the collector received"
	assert_match "$(flctl hep list)" "^$COLLECTOR4 +9060 +2002 +5 +no +$sent +$dropped +0\$" "hep list"
}

# hep del: nothing more reaches the collector, and SIP flows are no
# longer escalated for HEP's sake (their packets bypass the workers).
test_del_stops_mirroring() {
	local escalated
	collectors_up
	workdir
	flctl hep add "$COLLECTOR4"
	hep_capture_start
	uas_start "$SERVER4"
	calls "$CLIENT4" "$SERVER4" 1
	wait_for 5 '[ "$(captured)" -ge 6 ]'
	flctl hep del "$COLLECTOR4"
	assert_eq "$(hep_list | jq -c .collectors)" "[]" "collectors after del"
	escalated=$(sip_escalated)
	calls "$CLIENT4" "$SERVER4" 2
	stop "$UAS_PID"
	sleep 0.5 # what would have come after del
	stop "$HEP_CAPTURE_PID"
	assert_eq "$(captured)" 6 \
		"datagrams: the first call's, none after del"
	assert_eq "$(sip_escalated)" "$escalated" \
		"SIP packets escalated after del (the flow has its verdict)"
}

# The collectors survive a restart (and their file a reboot), and
# mirroring starts again by itself.
test_restart_keeps_collectors() {
	local before after
	collectors_up
	workdir
	flctl hep add "$COLLECTOR4" port 9061 id 7 password pw rate 2k
	flctl hep add "$COLLECTOR6" port "$HEP_PORT" id 8
	before=$(hep_list | jq -c '[.collectors[] | {addr, port, id, rate, password}]')
	assert_eq "$(stat -c %a "$LAB_DIR/hep.json")" 600 "hep.json's mode"
	lab stop
	lab start "${LAB_START_ARGS[@]}"
	after=$(hep_list | jq -c '[.collectors[] | {addr, port, id, rate, password}]')
	assert_eq "$after" "$before" "collectors after a restart"
	grep -q 'hep: mirroring SIP to 203.0.113.50 port 9061 (id 7)' "$LAB_DIR/flowlensd.log" ||
		fail "flowlensd did not log the restored collector"

	T0=$(date +%s)
	hep_capture_start
	uas_start "$SERVER4"
	calls "$CLIENT4" "$SERVER4" 1
	stop "$UAS_PID"
	wait_for 5 '[ "$(hep_field $COLLECTOR6 sent)" -ge 6 ] && [ "$(hep_field $COLLECTOR4 sent)" -ge 6 ]'
	wait_for 5 '[ "$(captured $COLLECTOR6)" -ge 6 ]'
	stop "$HEP_CAPTURE_PID"
	tcpdump -r "$W/hep.pcap" -w "$W/hep6.pcap" "dst host $COLLECTOR6" 2>/dev/null
	hep_assert "$(hep_check "$W/hep6.pcap" 8 "" -- \
		"$W/uac-$CLIENT4.log" "$CLIENT4" "$SERVER4" \
		"$W/uas-$SERVER4.log" "$SERVER4" "$CLIENT4")" "after the restart"
}

test_bad_arguments() {
	local long i
	long=$(printf 'x%.0s' $(seq 1 65))
	assert_fails_with "bad collector address 'nothing'" flctl hep add nothing
	assert_fails_with "bad collector address '0.0.0.0': the unspecified" flctl hep add 0.0.0.0
	assert_fails_with "bad collector address '203.0.113.0/24'" flctl hep add 203.0.113.0/24
	assert_fails_with "bad port '0': a UDP port, 1-65535" flctl hep add "$COLLECTOR4" port 0
	assert_fails_with "bad port '70000'" flctl hep add "$COLLECTOR4" port 70000
	assert_fails_with "bad port 'x'" flctl hep add "$COLLECTOR4" port x
	assert_fails_with "bad id '-1'" flctl hep add "$COLLECTOR4" id -1
	assert_fails_with "bad id '4294967296'" flctl hep add "$COLLECTOR4" id 4294967296
	assert_fails_with "bad rate '0'" flctl hep add "$COLLECTOR4" rate 0
	assert_fails_with "bad rate '2M'" flctl hep add "$COLLECTOR4" rate 2M
	assert_fails_with "bad password: 1 to 64 characters \(this one has 65\)" \
		flctl hep add "$COLLECTOR4" password "$long"
	assert_fails_with "password needs a value" flctl hep add "$COLLECTOR4" password
	assert_fails_with "unknown word 'colour': port, id, password or rate" \
		flctl hep add "$COLLECTOR4" colour red
	assert_fails_with "port given twice" flctl hep add "$COLLECTOR4" port 1 port 2
	assert_fails_with "hep add needs a collector's ADDR" flctl hep add
	assert_fails_with "hep del needs a collector's ADDR" flctl hep del
	assert_fails_with "hep list takes no arguments" flctl hep list now
	assert_json_error "bad port '65536'" hep add "$COLLECTOR4" port 65536
	assert_eq "$(hep_list | jq -c .collectors)" "[]" "nothing added by a bad command"

	flctl hep add "$COLLECTOR4"
	assert_fails_with "203.0.113.50 port 9060 is a HEP collector already" \
		flctl hep add "$COLLECTOR4" id 5
	assert_json_error "is a HEP collector already" hep add "$COLLECTOR4" port 9060
	assert_fails_with "no HEP collector 203.0.113.99 \(any port\)" flctl hep del 203.0.113.99
	assert_fails_with "no HEP collector 203.0.113.50 port 9999" flctl hep del "$COLLECTOR4" port 9999
	assert_fails_with "unknown word 'id': port" flctl hep del "$COLLECTOR4" id 1
	flctl hep add "$COLLECTOR4" port 9061
	assert_fails_with "203.0.113.50 has 2 collectors \(ports 9060, 9061\): say which with port PORT" \
		flctl hep del "$COLLECTOR4"
	for i in $(seq 2 7); do
		flctl hep add "203.0.113.$i" >/dev/null
	done
	assert_fails_with "cannot add 203.0.113.8 port 9060: 8 collectors already" \
		flctl hep add 203.0.113.8
	assert_eq "$(hep_list | jq '.collectors | length')" 8 "collectors"
	flctl hep del "$COLLECTOR4" port 9061
	assert_eq "$(hep_list | jq '.collectors | length')" 7 "collectors after del"
}

run_tests
