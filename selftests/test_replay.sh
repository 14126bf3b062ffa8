#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# flowlensd replay against Debian's ndpiReader (nDPI 4.2) on every capture
# of nDPI's own test corpus (FL_PCAP_DIR, default ../shared/pcap/ndpi):
# the same app for the same flow on at least 97 % of the flows ndpiReader
# prints, every mismatch printed; no capture crashes it, in the normal
# build and in the AddressSanitizer/UBSan one (make asan), leaks included.
# Needs no lab: the tests run the binaries on files.
source "$(dirname "$0")/lib.sh"

source "$TOP/scripts/corpus.sh"
PCAP_DIR=$(fl_pcap_dir)
REPLAY="$OUTPUT/flowlensd"
REPLAY_ASAN="$OUTPUT/asan/flowlensd"
PARITY_MIN=97
WORK=$(mktemp -d /tmp/fl-replay.XXXXXX)

# No namespaces, no daemon: the lab stays down. The binaries are copied
# first, so a rebuild meanwhile cannot pull them from under the tests.
lab_setup() {
	if [ -x "$REPLAY" ]; then
		cp "$REPLAY" "$WORK/flowlensd"
		REPLAY="$WORK/flowlensd"
	fi
}
lab_teardown() { rm -rf "$WORK"; }
after_test() { bg_kill; }

# Flows matched by protocol and unordered endpoints (IPv6 written the way
# ndpiReader writes it), duplicates in order; a flow ndpiReader prints
# that replay lacks is a mismatch. Flows only replay prints do not count.
cat >"$WORK/parity.py" <<'EOF'
import json, os, re, sys

LINE = re.compile(r'^\t\d+\t(\S+) (\S+) (?:<->|->) (\S+) .*?\[proto: [0-9.]+/([^\]]+)\]')

def endpoint(s):
    addr, _, port = s.rpartition(':')
    return (addr.strip('[]'), int(port))

def ndpi_ipv6(s):
    # ndpi_patchIPv6Address(): every ":0:" becomes "::"
    out, i = [], 0
    while i < len(s):
        if s[i:i + 3] == ':0:':
            out.append('::')
            i += 3
        else:
            out.append(s[i])
            i += 1
    return ''.join(out)

refdir, ourdir = sys.argv[1], sys.argv[2]
total = matched = 0
for name in sys.argv[3:]:
    ref = []
    with open(os.path.join(refdir, name + '.txt'), 'rb') as f:
        for raw in f:
            m = LINE.match(raw.decode('utf-8', 'replace'))
            if m:
                ref.append((m.group(1), endpoint(m.group(2)),
                            endpoint(m.group(3)), m.group(4)))
    ours = {}
    with open(os.path.join(ourdir, name + '.json'), 'rb') as f:
        for raw in f:
            o = json.loads(raw)
            src, dst = o['src'], o['dst']
            if ':' in src:
                src, dst = ndpi_ipv6(src), ndpi_ipv6(dst)
            key = (o['proto'],) + tuple(sorted([(src, o['sport']), (dst, o['dport'])]))
            ours.setdefault(key, []).append(o['app'])
    ok = 0
    for proto, a, b, app in ref:
        got = ours.get((proto,) + tuple(sorted([a, b])))
        got = got.pop(0) if got else '(missing)'
        if got == app:
            ok += 1
        else:
            print('mismatch: %s %s %s:%d <-> %s:%d ndpiReader %s, replay %s'
                  % (name, proto, a[0], a[1], b[0], b[1], app, got))
    total += len(ref)
    matched += ok
    if ref:
        print('capture: %s %d/%d %.1f %%' % (name, ok, len(ref), 100.0 * ok / len(ref)))
pct = 100.0 * matched / total if total else 0.0
print('total: %d/%d %.2f %%' % (matched, total, pct))
print('PARITY %.2f' % pct)
EOF

captures() {
	(cd "$PCAP_DIR" && ls | grep -E '\.(pcap|pcapng|cap)$')
}

need_corpus() {
	[ -d "$PCAP_DIR" ] || skip "no capture corpus in $PCAP_DIR (set FL_PCAP_DIR)"
	command -v ndpiReader >/dev/null || skip "ndpiReader not installed (apt install libndpi-bin)"
	[ -x "$REPLAY" ] || fail "$REPLAY not built (make)"
}

# run_corpus DIR CMD...: CMD FILE for every capture, two at a time; FILE's
# stdout, stderr and exit status in DIR/FILE.{json,err,rc}.
run_corpus() {
	local dir=$1
	shift
	mkdir -p "$dir"
	captures | (cd "$PCAP_DIR" && xargs -P2 -I{} sh -c \
		'"$@" "{}" >"'"$dir"'/{}.json" 2>"'"$dir"'/{}.err"; echo $? >"'"$dir"'/{}.rc"' \
		sh "$@")
}

# The reference, once for every test that needs it.
reference() {
	[ -f "$WORK/ref.done" ] && return 0
	run_corpus "$WORK/ref" ndpiReader -v 2 -i
	# ndpiReader prints to stdout; keep its listing under .txt
	for f in $(captures); do mv "$WORK/ref/$f.json" "$WORK/ref/$f.txt"; done
	touch "$WORK/ref.done"
}

# no_crash DIR WHAT: every run exited by itself, 0 (read) or 1 (a file
# it refused, such as an unsupported link type), with no sanitizer report.
no_crash() {
	local dir=$1 what=$2 f rc bad=0
	for f in $(captures); do
		rc=$(cat "$dir/$f.rc")
		if [ "$rc" -gt 1 ] || grep -qE 'Sanitizer|runtime error' "$dir/$f.err"; then
			echo "$what crashed on $f (exit $rc):"
			head -n 30 "$dir/$f.err"
			bad=1
		fi
	done
	[ $bad -eq 0 ] || fail "$what crashed on some captures"
	echo "ok: $(captures | wc -l) captures, no crash in $what"
}

# parity DIR: every mismatch, each capture's and the total parity on
# stdout (the test's log), and the total in PCT.
PCT=
parity() {
	python3 "$WORK/parity.py" "$WORK/ref" "$1" $(captures) >"$1.parity"
	grep -v '^PARITY' "$1.parity"
	PCT=$(sed -n 's/^PARITY //p' "$1.parity")
}

test_parity() {
	local pct
	need_corpus
	reference
	run_corpus "$WORK/all" "$REPLAY" replay
	no_crash "$WORK/all" "flowlensd replay"
	parity "$WORK/all"
	pct=$PCT
	echo "parity with ndpiReader (default --feed all): $pct %"
	awk -v p="$pct" -v min=$PARITY_MIN 'BEGIN { exit !(p >= min) }' ||
		fail "parity $pct % is under $PARITY_MIN %"
}

# What the live workers would see: measured and shown, not held to 97 %
# (flows whose TCP never carries payload never reach nDPI there).
test_parity_feed_xdp() {
	local pct
	need_corpus
	reference
	run_corpus "$WORK/xdp" "$REPLAY" replay --feed xdp
	no_crash "$WORK/xdp" "flowlensd replay --feed xdp"
	parity "$WORK/xdp"
	pct=$PCT
	echo "parity with ndpiReader (--feed xdp): $pct %"
	# Its misses: flows nDPI never saw, and a few that lacked a handshake.
	awk -v p="$pct" 'BEGIN { exit !(p >= 90) }' ||
		fail "--feed xdp parity $pct % is far below what it was (96.4 %)"
}

# The checker itself: replay's output with one flow in ten given another
# app must fail the 97 % bar, and the mismatches must be named.
test_parity_catches_mismatches() {
	local f pct
	need_corpus
	reference
	[ -d "$WORK/all" ] || run_corpus "$WORK/all" "$REPLAY" replay
	mkdir -p "$WORK/broken"
	for f in $(captures); do
		awk 'NR % 10 == 0 { sub(/"app":"[^"]*"/, "\"app\":\"Broken\"") } { print }' \
			"$WORK/all/$f.json" >"$WORK/broken/$f.json"
	done
	parity "$WORK/broken" >/dev/null
	pct=$PCT
	grep -q 'replay Broken$' "$WORK/broken.parity" || fail "the mismatches are not printed"
	awk -v p="$pct" -v min=$PARITY_MIN 'BEGIN { exit !(p < min) }' ||
		fail "a replay with one app in ten wrong still passes ($pct %)"
	echo "ok: broken output scores $pct %"
}

test_asan_corpus() {
	need_corpus
	if [ ! -x "$REPLAY_ASAN" ]; then
		make -C "$TOP" --no-print-directory asan >/dev/null ||
			fail "make asan failed"
	fi
	cp "$REPLAY_ASAN" "$WORK/flowlensd-asan"
	REPLAY_ASAN="$WORK/flowlensd-asan"
	# Stop at the first error of any kind; leaks count (nDPI 4.2 leaks
	# nothing here, so nothing is suppressed).
	ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:exitcode=99 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		run_corpus "$WORK/asan" "$REPLAY_ASAN" replay
	no_crash "$WORK/asan" "flowlensd replay (ASan/UBSan)"
}

test_errors() {
	local out rc
	need_corpus
	assert_fails_with 'nope\.pcap: cannot read it: No such file' \
		"$REPLAY" replay "$WORK/nope.pcap"
	echo "not a capture" >"$WORK/text.pcap"
	assert_fails_with 'text\.pcap: cannot read it: unknown file format' \
		"$REPLAY" replay "$WORK/text.pcap"
	assert_fails_with "unknown --feed 'some'" "$REPLAY" replay --feed some x
	assert_fails_with 'no capture file' "$REPLAY" replay
	# A bad file does not stop the others; the exit status says it.
	set +e
	out=$("$REPLAY" replay "$WORK/nope.pcap" "$PCAP_DIR/dns.pcap" 2>/dev/null)
	rc=$?
	set -e
	assert_eq "$rc" 1 "exit status with one unreadable file"
	assert_eq "$(printf '%s\n' "$out" | grep -c '"file":".*dns.pcap"')" 3 "dns.pcap's flows"
	"$REPLAY" replay --help | grep -q 'Exit status' || fail "--help"
}

test_json() {
	local out
	need_corpus
	out=$("$REPLAY" replay "$PCAP_DIR/tls_verylong_certificate.pcap" | head -n 1)
	json_check "$out" '.proto == "TCP" and .src == "192.168.1.160" and .sport == 54804 and .dport == 443' "5-tuple, client first"
	json_check "$out" '.app == "TLS" and .sni == "feodotracker.abuse.ch"' "app, SNI"
	json_check "$out" '(.ja3c | length) == 32 and (.ja3s | length) == 32' "JA3 client and server"
	json_check "$out" '(.risk | type) == "array" and .packets == 48 and .bytes > 0 and (.category | length) > 0' "risk, counters, category"
	out=$("$REPLAY" replay "$PCAP_DIR/dns.pcap" | grep WhatsApp)
	json_check "$out" '.app == "DNS.WhatsApp" and .sni == "e7.whatsapp.net"' "master.app name"
}

# --feed xdp: a TCP handshake never reaches nDPI, and nDPI sees fewer
# packets overall than with --feed all.
test_feed_xdp() {
	local xdp all
	need_corpus
	"$REPLAY" replay --feed xdp "$PCAP_DIR/synscan.pcap" >"$WORK/synscan.json"
	[ "$(jq -s '[.[] | select(.proto == "TCP" and .packets == 1 and .dissected > 0)] | length' "$WORK/synscan.json")" = 0 ] ||
		fail "a lone SYN went to nDPI with --feed xdp"
	xdp=$("$REPLAY" replay --feed xdp --stats -q "$PCAP_DIR/443-git.pcap" 2>&1 | jq .fed)
	all=$("$REPLAY" replay --feed all --stats -q "$PCAP_DIR/443-git.pcap" 2>&1 | jq .fed)
	echo "443-git.pcap: nDPI saw $xdp packets with --feed xdp, $all with --feed all"
	[ "$xdp" -lt "$all" ] || fail "--feed xdp fed $xdp packets, --feed all $all"
}

run_tests
