#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Prometheus /metrics (issue 17, part 1): flowlensd serves the text
# format on its --metrics address (the lab's daemon: the default,
# 127.0.0.1:10179 in the flowlens namespace); promtool finds no problem in
# a scrape after traffic; a real Prometheus scraping it every second
# reports the very packet counts and application names flctl reports;
# the flow cache's occupancy is bpftool's count of its map, while a
# collector is configured and only then; wrong paths, methods and --metrics arguments get clear answers.
LAB_START_ARGS=(--mode router --flow-timeout 2)
source "$(dirname "$0")/lib.sh"
source "$TOP/scripts/corpus.sh"

URL=http://127.0.0.1:10179
PROM=127.0.0.1:9090
PCAPS=$(fl_pcap_dir)

scrape() { in_ns flowlens curl -sf "$URL/metrics"; }

# value METRIC LABELS: one sample's value from a fresh scrape ("" if none).
value() {
	scrape | awk -v m="$1$2" '$1 == m { print $2; exit }'
}

test_promtool_finds_no_problem() {
	local page problems
	udp_send client "$SERVER4" 9 20 64
	page=$(scrape)
	echo "$page" | head -40
	problems=$(echo "$page" | promtool check metrics 2>&1) ||
		fail "promtool check metrics: $problems"
	assert_eq "$problems" "" "promtool's complaints"
	assert_match "$page" '# TYPE flowlens_interface_packets_total counter' "a counter family"
	assert_match "$page" 'flowlens_interface_packets_total\{interface="cl0"\} [0-9]' "cl0's packets"
	assert_match "$page" 'flowlens_build_info\{version="[0-9.]+",mode="router"\} 1' "build info"
	assert_match "$page" 'flowlens_interface_verdict_packets_total\{interface="cl0",verdict="pass"\}' \
		"verdicts by label"
	assert_match "$page" 'process_cpu_seconds_total [0-9]' "the process's CPU"
	assert_match "$page" 'flowlens_ticks_total [1-9][0-9]*' "the control thread's ticks"
	echo "$page" | awk '$1 == "flowlens_tick_seconds_total" && $2 > 0 { ok = 1 } END { exit !ok }' ||
		fail "no time in ticks on /metrics"
}

# same_as_flctl CMD: CMD prints cl0's packet count as some reader sees it;
# true once it equals flctl's, read before and after it with nothing in
# between (the lab's own neighbour discovery trickles in now and then).
same_as_flctl() {
	local a got b
	a=$(if_counter cl0 .packets)
	got=$("$@")
	b=$(if_counter cl0 .packets)
	echo "flctl $a, reader $got, flctl $b"
	[ "$a" = "$b" ] && [ "$got" = "$a" ]
}

metrics_cl0() { value flowlens_interface_packets_total '{interface="cl0"}'; }

test_counts_equal_flctl() {
	local before after
	before=$(metrics_cl0)
	[ -n "$before" ] || fail "no flowlens_interface_packets_total for cl0"
	udp_send client "$SERVER4" 9 500 64
	wait_until 10 same_as_flctl metrics_cl0
	after=$(metrics_cl0)
	assert_ge $((after - before)) 500 "the burst counted"
}

test_http_errors() {
	local code
	code=$(in_ns flowlens curl -s -o /dev/null -w '%{http_code}' "$URL/nothing")
	assert_eq "$code" 404 "an unknown path"
	code=$(in_ns flowlens curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/metrics")
	assert_eq "$code" 405 "POST"
	assert_match "$(in_ns flowlens curl -sf "$URL/")" '/metrics' "the root page links /metrics"
}

test_bad_metrics_arguments() {
	local arg
	for arg in 127.0.0.1 127.0.0.1:0 127.0.0.1:70000 'nohost:10179' '[2001:db8::1:10179'; do
		assert_fails_with "bad --metrics" in_ns flowlens flowlensd --metrics "$arg" -i cl0
	done
	# Asked for an address that is taken: an error before anything is
	# attached or pinned (the module opens second, after the socket).
	assert_fails_with "cannot serve /metrics on 127.0.0.1 port 10179" \
		in_ns flowlens flowlensd --metrics 127.0.0.1:10179 -i sv0 \
		--socket "$LAB_DIR/second.sock"
	assert_eq "$(flctl -j show stats sv0 | jq -r '.interfaces[0].name')" sv0 \
		"the lab's daemon still on sv0"
}

test_metrics_off() {
	lab stop
	lab start "${LAB_START_ARGS[@]}" --metrics off
	if in_ns flowlens curl -sf "$URL/metrics" >/dev/null; then
		fail "--metrics off still serves /metrics"
	fi
	lab stop
	lab start "${LAB_START_ARGS[@]}" --metrics '[::1]:10180'
	assert_match "$(in_ns flowlens curl -sf 'http://[::1]:10180/metrics')" \
		'flowlens_build_info' "served on [::1]:10180"
	lab stop
	lab start "${LAB_START_ARGS[@]}"
}

# A real Prometheus in the flowlens namespace, scraping every second, from
# an empty database.
prometheus_start() {
	local dir=$LAB_DIR/prometheus
	rm -rf "$dir"
	mkdir -p "$dir/data"
	cat >"$dir/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: flowlens
    static_configs:
      - targets: ['127.0.0.1:10179']
EOF
	bg flowlens prometheus --config.file="$dir/prometheus.yml" \
		--storage.tsdb.path="$dir/data" --web.listen-address="$PROM" \
		--log.level=warn
	wait_until 30 prom_query 'up{job="flowlens"} == 1'
}

# cl0's packets in Prometheus's latest scrape, after waiting out one.
prom_cl0() {
	sleep 1.5
	prom_query 'flowlens_interface_packets_total{interface="cl0"}' | jq -r '.[0].value[1]'
}

# prom_query EXPR: the instant query's result vector as JSON; fails if it
# is empty.
prom_query() {
	local out
	out=$(in_ns flowlens curl -sf --get "http://$PROM/api/v1/query" --data-urlencode "query=$1") ||
		return 1
	echo "$out" | jq -e '.status == "success" and (.data.result | length > 0)' >/dev/null || return 1
	echo "$out" | jq -c '.data.result'
}

cleanup() {
	in_ns flowlens ip route del default 2>/dev/null || true
	flctl synproxy del "$SERVER4" port 80 >/dev/null 2>&1 || true
	flctl ddos threshold del 198.51.100.0/24 >/dev/null 2>&1 || true
	flctl rule flush >/dev/null 2>&1 || true
	flctl export del "$EXPORT_TO" >/dev/null 2>&1 || true
}

# An attack: a victim's rate and limit are on /metrics while it lasts and
# only then; attacks started and ended are counted, and the engine's rules
# show as origin ddos.
test_attack_series() {
	local started ended page
	started=$(value flowlens_ddos_attacks_started_total '')
	ended=$(value flowlens_ddos_attacks_ended_total '')
	flctl ddos threshold add 198.51.100.0/24 udp-pps 1k hold 2 >/dev/null
	assert_eq "$(scrape | grep -c '^flowlens_ddos_victim_' || true)" 0 "no victim series before an attack"
	flood_bg "$(mktemp)" udp -i eth0 --src 192.0.2.10 --dst "$SERVER4" --dport 1000-2000 \
		-r 20000 -d 60 --cpus 0
	wait_for 15 '[ "$(value flowlens_ddos_active_attacks "")" -ge 1 ]'
	wait_for 10 'scrape | grep -q "^flowlens_ddos_victim_limit{victim=\"$SERVER4\",direction=\"destination\",metric=\"udp-pps\"} 1000$"'
	page=$(scrape)
	echo "$page" | grep '^flowlens_ddos_victim_'
	echo "$page" | awk -v s="flowlens_ddos_victim_rate{victim=\"$SERVER4\",direction=\"destination\",metric=\"udp-pps\"}" \
		'$1 == s && $2 > 1000 { ok = 1 } END { exit !ok }' || fail "the victim's rate over its limit"
	wait_for 10 '[ "$(value flowlens_rules "{origin=\"ddos\"}")" -ge 1 ]'
	assert_eq "$(value flowlens_ddos_attacks_started_total '')" $((started + 1)) "attacks started"
	# the engine's rules' drops, summed by the datapath under origin ddos
	scrape | awk '$1 ~ /^flowlens_rule_dropped_packets_total\{origin="ddos",/ { n += $2 } END { exit !(n > 0) }' ||
		fail "no drops by origin ddos on /metrics"
	flood_stop "$FLOOD_PID"
	wait_for 20 '[ "$(value flowlens_ddos_active_attacks "")" = 0 ]'
	assert_eq "$(scrape | grep -c '^flowlens_ddos_victim_' || true)" 0 "no victim series once it ended"
	assert_eq "$(value flowlens_ddos_attacks_ended_total '')" $((ended + 1)) "attacks ended"
}

# An operator's drop rule: what it matched and dropped, exactly, under
# origin operator and action drop; the other rows are there at zero.
test_rule_drops_by_origin() {
	local labels='{origin="operator",action="drop"}' p0 b0 m0 id
	p0=$(value flowlens_rule_dropped_packets_total "$labels")
	b0=$(value flowlens_rule_dropped_bytes_total "$labels")
	m0=$(value flowlens_rule_matched_packets_total "$labels")
	[ -n "$p0" ] || fail "no flowlens_rule_dropped_packets_total$labels before any drop"
	id=$(flctl -j rule add proto udp dport 7777 action drop | jq -er .id)
	udp_send client "$SERVER4" 7777 300 100
	assert_eq "$(value flowlens_rule_dropped_packets_total "$labels")" $((p0 + 300)) "packets dropped"
	assert_eq "$(value flowlens_rule_matched_packets_total "$labels")" $((m0 + 300)) "packets matched"
	# 100 bytes of payload: + 8 UDP + 20 IPv4 + 14 Ethernet
	assert_eq "$(value flowlens_rule_dropped_bytes_total "$labels")" $((b0 + 300 * 142)) "bytes dropped"
	assert_match "$(scrape)" 'flowlens_rule_dropped_packets_total\{origin="ddos",action="rate-limit"\} [0-9]' \
		"the ddos rate-limit row"
	flctl rule del "$id" >/dev/null
}

# A collector nothing listens on: the gauge only needs one configured.
EXPORT_TO=127.0.0.1:4739

# The entries of the XDP flow cache, as bpftool counts them.
flows_in_map() {
	in_ns flowlens bpftool -j map dump pinned /sys/fs/bpf/flowlens/fl_flows | jq length
}

# gauge_is_map: flowlens_flow_cache_flows equals the map's entries, read
# before and after it with no change (the gauge is the export's last
# read: a read a second).
gauge_is_map() {
	local a g b
	a=$(flows_in_map)
	sleep 1.5
	g=$(value flowlens_flow_cache_flows '')
	b=$(flows_in_map)
	echo "bpftool $a, gauge $g, bpftool $b"
	[ "$a" = "$b" ] && [ "$g" = "$a" ]
}

# The flow cache's occupancy: no series while no collector is configured
# (nothing else reads the whole cache); with one, the flows in the map as
# bpftool counts them, 50 new flows included; gone again with the
# collector.
test_flow_cache_flows_gauge() {
	local before g
	assert_eq "$(scrape | grep -c '^flowlens_flow_cache_flows ' || true)" 0 \
		"the gauge without a collector"
	before=$(flows_in_map)
	flctl export add ipfix "$EXPORT_TO" idle 300 >/dev/null
	# 50 flows: 1000 datagrams from 50 source ports at random
	flgen udp -i eth0 --dst "$SERVER4" --sport 21000-21049 --dport 7200 -n 1000 >/dev/null
	wait_until 20 gauge_is_map
	g=$(value flowlens_flow_cache_flows '')
	assert_ge "$g" $((before + 50)) "flows in the cache: $before before, and the 50 new ones"
	assert_match "$(scrape)" '# TYPE flowlens_flow_cache_flows gauge' "its type"
	flctl export del "$EXPORT_TO" >/dev/null
	assert_eq "$(scrape | grep -c '^flowlens_flow_cache_flows ' || true)" 0 \
		"the gauge once the collector is gone"
}

DASHBOARD="$TOP/contrib/grafana/flowlens.json"

# Every query of the shipped Grafana dashboard, its variables replaced as
# Grafana would with "All" and a 1 m rate window, returns data from the
# real Prometheus; and every variable's metric and label exist.
test_dashboard_panels_return_data() {
	local expr n=0 q
	jq -e '.schemaVersion >= 36 and (.templating.list | map(.name) | index("datasource") != null)' \
		"$DASHBOARD" >/dev/null || fail "the dashboard has no data source variable"
	flctl synproxy add "$SERVER4" port 80 >/dev/null
	prometheus_start
	udp_send client "$SERVER4" 9 200 64
	# rate() over 1 m needs two scrapes of the series
	sleep 3
	udp_send client "$SERVER4" 9 200 64
	while read -r expr; do
		q=${expr//\$__rate_interval/1m}
		q=${q//\$__range/1h}
		q=${q//\$interface/.*}
		q=${q//\$app/.*}
		wait_until 15 prom_query "$q" || fail "no data for the dashboard's query: $expr"
		echo "ok: $q"
		n=$((n + 1))
	done < <(jq -r '.panels[].targets[].expr' "$DASHBOARD")
	assert_ge "$n" 14 "queries checked"
	# variables: label_values(METRIC, LABEL) -> count by (LABEL) (METRIC)
	while read -r expr; do
		q=$(echo "$expr" | sed -E 's/^label_values\(([a-z_]+), *([a-z_]+)\)$/count by (\2) (\1)/')
		[ "$q" != "$expr" ] || fail "a variable query that is not label_values(M, L): $expr"
		wait_until 15 prom_query "$q" || fail "no values for the variable query: $expr"
		echo "ok: $expr"
	done < <(jq -r '.templating.list[] | select(.type == "query") | .definition' "$DASHBOARD")
}

test_prometheus_scrapes_what_flctl_says() {
	local apps app capture
	prometheus_start
	udp_send client "$SERVER4" 9 300 64
	# Prometheus's latest sample, once flctl's count held still for longer
	# than a scrape interval around it
	wait_until 20 same_as_flctl prom_cl0

	# Applications: a TLS capture replayed through the lab and classified
	# by the workers, named in Prometheus as flctl names them.
	[ -d "$PCAPS" ] || skip "no capture corpus in $PCAPS (set FL_PCAP_DIR)"
	in_ns flowlens ip route replace default via "$SERVER4"
	in_ns client ping -c1 -W2 "$SERVER4" >/dev/null
	capture="$LAB_DIR/pcap-443-chrome"
	tcpdump -r "$PCAPS/443-chrome.pcap" -w "$capture" 'less 1514' 2>/dev/null
	flgen replay -i eth0 --dst "$SERVER4" --timing max -j "$capture" >/dev/null
	wait_for 15 '[ "$(flctl -j show apps | jq "[.apps[] | select(.flows > 0)] | length")" -gt 0 ]'
	apps=$(flctl_apps)
	echo "flctl: $apps"
	[ "$apps" != '[]' ] || fail "no application with a flow"
	wait_for 20 '[ "$(prom_apps)" = "$(flctl_apps)" ]'
	# each with the category flctl gives it (a verdict may land between
	# two scrapes: until they agree)
	wait_until 20 same_categories
	# and the capture's top application's packets, exactly
	app=$(flctl -j show apps | jq -r '.apps | max_by(.packets) | .app')
	wait_until 20 same_app_packets "$app"
}

# The applications with flows and their categories, in Prometheus as in
# flctl.
same_categories() {
	local a got
	a=$(flctl -j show apps | jq -c '[.apps[] | select(.flows > 0) | [.app, .category]] | sort')
	sleep 1.5
	got=$(prom_query 'flowlens_app_flows_total > 0' | jq -c '[.[].metric | [.app, .category]] | sort')
	echo "flctl $a, Prometheus $got"
	[ "$a" = "$got" ] && [ "$a" != '[]' ]
}

# The applications with flows, as flctl and as Prometheus name them.
flctl_apps() { flctl -j show apps | jq -c '[.apps[] | select(.flows > 0) | .app] | sort'; }
prom_apps() {
	sleep 1.5
	prom_query 'flowlens_app_flows_total > 0' | jq -c '[.[].metric.app] | sort'
}

# same_app_packets APP: Prometheus's packets of APP equal flctl's, read
# before and after it.
same_app_packets() {
	local a got b
	a=$(flctl -j show apps | jq --arg app "$1" '[.apps[] | select(.app == $app) | .packets] | add')
	sleep 1.5
	got=$(prom_query "sum(flowlens_app_packets_total{app=\"$1\"})" | jq -r '.[0].value[1]')
	b=$(flctl -j show apps | jq --arg app "$1" '[.apps[] | select(.app == $app) | .packets] | add')
	echo "$1: flctl $a, Prometheus $got, flctl $b"
	[ "$a" = "$b" ] && [ "$got" = "$a" ]
}

run_tests
