// SPDX-License-Identifier: Apache-2.0
/* flctl show stats [IFACE] | show ip ADDR (apps, flows, workers: apps.c) */
#include <stdio.h>
#include <string.h>

#include "flctl.h"
#include "prefix.h"

void flctl_help_show(void)
{
	static const char *const counters[] = {
#define FL_X_NAME(id, name) name,
		FL_WORKER_COUNTERS(FL_X_NAME)
#undef FL_X_NAME
	};
	size_t i;

	printf("stats: per-interface counters from the XDP program, and their sum:\n"
	       "packets and bytes received with their rates over the last second,\n"
	       "the verdicts given (pass, drop, ...), what kinds of packets were\n"
	       "seen (ipv4, vlan, tcp_syn, fragment, ...) and every parse error by\n"
	       "kind. Counters are cumulative and survive a flowlensd restart.\n"
	       "In router mode also: packets forwarded at the driver, and those\n"
	       "handed to the kernel with the reason (no_neighbour, not_forwarded\n"
	       "for local or unroutable destinations, ttl_expiring, mtu_exceeded,\n"
	       "not_ip for ARP, egress_not_managed, ...).\n"
	       "\n"
	       "ip: the exact counters of one address, as sender (src) and as\n"
	       "receiver (dst): packets, bytes and SYNs since it was first tracked,\n"
	       "and their rates over the last second. Only addresses in a protected\n"
	       "prefix and heavy hitters are tracked; others show \"not tracked\".\n"
	       "\n"
	       "apps: every application nDPI has named (YouTube, TLS, DNS, SIP, ...)\n"
	       "with its packets, bytes and flows, summed over the workers (packets\n"
	       "until the verdict) and the XDP flow cache (every packet after it),\n"
	       "largest first by --sort (default bytes), with nDPI's category. A\n"
	       "flow counts under its app, or its master protocol when nDPI named\n"
	       "no app.\n"
	       "\n"
	       "flows: the flows in the XDP flow cache, largest first (-n N, default\n"
	       "50; 0 shows all): protocol, client and server as the first packet\n"
	       "had them, state (classifying, classified, gave-up), app as nDPI\n"
	       "names it (\"TLS.YouTube\": master.app), category, TLS/QUIC SNI, JA3\n"
	       "client and server hashes, nDPI's risks, packets and bytes in both\n"
	       "directions. --app keeps the flows of one app (the full name or\n"
	       "either part, case-insensitive).\n"
	       "\n"
	       "workers: each AF_XDP worker's queue, core, interfaces and counters:\n"
	       "rx (escalated packets), tx (sent on by the worker, router mode),\n"
	       "passed (host mode, to the local stack), consumed (monitor), dropped,\n"
	       "classified and gave_up (verdicts), ring_full (packets the kernel\n"
	       "could not queue to the worker), its flows and memory.\n"
	       "\n"
	       "export: IPFIX export ('%1$s export help'): each collector's records\n"
	       "by reason, messages, bytes, templates and losses, and the reads of\n"
	       "the flow cache; the same as '%1$s export stats'.\n"
	       "\n"
	       "The workers' counters, all of them:\n"
	       " ", prog_name);
	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		printf(" %s", counters[i]);
	printf(" %s\n", FL_WORKER_RING_FULL);
}

/* Prints "label name value ..." for the non-zero members of a JSON object. */
static void print_nonzero(const char *label, struct json_object *o)
{
	int shown = 0;

	printf("  %-9s", label);
	json_object_object_foreach(o, key, val) {
		__uint64_t n = json_object_get_uint64(val);

		if (!n)
			continue;
		printf(" %s %llu", key, (unsigned long long)n);
		shown++;
	}
	printf("%s\n", shown ? "" : " none");
}

static void print_stats(const char *title, struct json_object *s, bool router)
{
	struct json_object *v;
	char a[32], b[32], c[32], d[32];

	printf("%s\n", title);
	printf("  %-9s %s packets  %s bytes  %s pps  %sbit/s\n", "rx",
	       si(json_get_u64(s, "packets"), a, sizeof(a)),
	       si(json_get_u64(s, "bytes"), b, sizeof(b)),
	       si(json_get_double(s, "pps"), c, sizeof(c)),
	       si(json_get_double(s, "bps"), d, sizeof(d)));
	if (json_object_object_get_ex(s, "verdicts", &v))
		print_nonzero("verdicts", v);
	if (json_object_object_get_ex(s, "kinds", &v))
		print_nonzero("kinds", v);
	if (json_object_object_get_ex(s, "parse_errors", &v))
		print_nonzero("errors", v);
	if (json_object_object_get_ex(s, "flow_cache", &v))
		print_nonzero("flows", v);
	if (json_get_u64(s, "allowlisted"))
		printf("  %-9s %llu packets from allowlisted sources skipped the rules\n",
		       "allowlist",
		       (unsigned long long)json_get_u64(s, "allowlisted"));
	if (!router)
		return;
	printf("  %-9s %llu packets routed at the driver\n", "forwarded",
	       (unsigned long long)json_get_u64(s, "forwarded"));
	if (json_object_object_get_ex(s, "forward_passed", &v))
		print_nonzero("to kernel", v);
}

static void print_all_stats(struct json_object *data)
{
	struct json_object *list, *o;
	bool router = !strcmp(json_get_str(data, "mode"), "router");
	char title[128];
	size_t i, n;

	if (json_object_object_get_ex(data, "interfaces", &list)) {
		n = json_object_array_length(list);
		for (i = 0; i < n; i++) {
			o = json_object_array_get_idx(list, i);
			snprintf(title, sizeof(title),
				 "%s (ifindex %d, %s XDP, %s mode)",
				 json_get_str(o, "name"),
				 (int)json_get_u64(o, "ifindex"),
				 json_get_str(o, "xdp_mode"),
				 json_get_str(data, "mode"));
			print_stats(title, o, router);
		}
		if (n > 1 && json_object_object_get_ex(data, "total", &o))
			print_stats("total", o, router);
	}
}

int flctl_show_stats(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	struct json_object *req;

	if (argc > 1)
		return usage_error("%s takes at most one interface, not '%s'",
				   cmd_name(cmd), argv[1]);
	req = request_new(cmd);
	if (argc == 1)
		json_object_object_add(req, "interface",
				       json_object_new_string(argv[0]));
	return flctl_run(req, print_all_stats);
}

static void print_traffic(const char *label, struct json_object *t)
{
	char a[32], b[32];

	printf("  %-4s %llu packets  %llu bytes  %llu syns  %s pps  %sbit/s\n",
	       label, (unsigned long long)json_get_u64(t, "packets"),
	       (unsigned long long)json_get_u64(t, "bytes"),
	       (unsigned long long)json_get_u64(t, "syns"),
	       si(json_get_double(t, "pps"), a, sizeof(a)),
	       si(json_get_double(t, "bps"), b, sizeof(b)));
}

static void print_ip(struct json_object *data)
{
	struct json_object *v;

	json_object_object_get_ex(data, "tracked", &v);
	if (!json_object_get_boolean(v)) {
		printf("%s: not tracked (not in a protected prefix, not a heavy hitter)\n",
		       json_get_str(data, "addr"));
	} else {
		printf("%s (tracked:", json_get_str(data, "addr"));
		if (json_object_object_get_ex(data, "reasons", &v)) {
			size_t i;

			for (i = 0; i < json_object_array_length(v); i++)
				printf(" %s", json_object_get_string(
						      json_object_array_get_idx(
							      v, i)));
		}
		printf(")\n");
		if (json_object_object_get_ex(data, "src", &v))
			print_traffic("src", v);
		if (json_object_object_get_ex(data, "dst", &v))
			print_traffic("dst", v);
	}
}

int flctl_show_ip(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	struct json_object *req;
	struct fl_prefix addr;
	int ret;

	if (argc != 1)
		return usage_error("%s needs exactly one address",
				   cmd_name(cmd));
	ret = arg_address(argv[0], &addr);
	if (ret)
		return ret;
	req = request_new(cmd);
	json_object_object_add(req, "addr", json_object_new_string(argv[0]));
	return flctl_run(req, print_ip);
}

/* show daemon: the modules in their order, the loop, the bus. */
static void print_daemon(struct json_object *data)
{
	struct json_object *list, *o, *v, *bus, *pub;
	size_t i, j;

	printf("modules, in the order they open (they close in reverse):\n");
	printf("  %-10s %-5s %8s %5s %9s\n", "name", "open", "tick", "save",
	       "commands");
	if (json_object_object_get_ex(data, "modules", &list)) {
		for (i = 0; i < json_object_array_length(list); i++) {
			char tick[32] = "-";

			o = json_object_array_get_idx(list, i);
			if (json_get_u64(o, "tick_ms"))
				snprintf(tick, sizeof(tick), "%llu ms",
					 (unsigned long long)json_get_u64(
						 o, "tick_ms"));
			printf("  %-10s %-5s %8s %5s %9llu\n",
			       json_get_str(o, "name"),
			       json_object_get_boolean(
				       json_object_object_get(o, "open")) ?
				       "yes" :
				       "no",
			       tick,
			       json_object_get_boolean(
				       json_object_object_get(o, "saves")) ?
				       "yes" :
				       "-",
			       (unsigned long long)json_get_u64(o, "commands"));
		}
	}
	if (json_object_object_get_ex(data, "loop", &o))
		printf("loop: %llu ticks (%.3f s in all, the last %.2f ms, the longest %.2f ms), %llu descriptors watched\n",
		       (unsigned long long)json_get_u64(o, "ticks"),
		       json_get_double(o, "tick_seconds"),
		       json_get_double(o, "tick_last_seconds") * 1e3,
		       json_get_double(o, "tick_max_seconds") * 1e3,
		       (unsigned long long)json_get_u64(o, "descriptors"));
	if (!json_object_object_get_ex(data, "bus", &bus))
		return;
	printf("bus subscribers:\n");
	if (json_object_object_get_ex(bus, "subscribers", &list)) {
		for (i = 0; i < json_object_array_length(list); i++) {
			o = json_object_array_get_idx(list, i);
			printf("  %-10s", json_get_str(o, "name"));
			if (json_object_object_get_ex(o, "events", &v))
				for (j = 0; j < json_object_array_length(v);
				     j++)
					printf(" %s",
					       json_object_get_string(
						       json_object_array_get_idx(
							       v, j)));
			printf("\n");
		}
	}
	printf("bus events published:\n");
	if (json_object_object_get_ex(bus, "published", &pub)) {
		json_object_object_foreach(pub, key, val)
			printf("  %-18s %llu\n", key,
			       (unsigned long long)json_object_get_uint64(val));
	}
}

int flctl_show_daemon(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	return arg_none(cmd, argc, argv) ?: flctl_run_plain(cmd, print_daemon);
}
