// SPDX-License-Identifier: Apache-2.0
/*
 * flctl export { add | del | list | stats }, flctl show export
 *
 * Sent as {"cmd": "export-add", "type": "ipfix", "collector": "HOST:PORT",
 * "active": S, "idle": S, "domain": N, "template_refresh": S}; flowlensd
 * checks them again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flctl.h"
#include "ipfix.h"

#define ACTIVE_DEFAULT 60
#define IDLE_DEFAULT 30
#define TIMEOUT_MAX 86400

void flctl_help_export(void)
{
	printf("COLLECTOR := a host name or address and a UDP port: 192.0.2.9:4739,\n"
	       "             collector.example.net:2055, [2001:db8::9]:4739\n"
	       "S         := seconds, 1-%2$d\n"
	       "N         := the observation domain id, 0-4294967295 (default 0)\n"
	       "\n"
	       "Every flow the XDP flow cache holds leaves as IPFIX (RFC 7011) records\n"
	       "over UDP, one per direction that had packets (uniflow; biflowDirection\n"
	       "says which one is the initiator's), carrying what the nDPI workers\n"
	       "found: applicationId and applicationName (RFC 6759), and ntop's\n"
	       "elements (enterprise 35632) as nProbe exports them: L7_PROTO,\n"
	       "L7_PROTO_NAME, L7_PROTO_CATEGORY, TLS_SERVER_NAME, JA3C_HASH,\n"
	       "JA3S_HASH, L7_PROTO_RISK, L7_PROTO_RISK_NAME, L7_RISK_SCORE. Templates\n"
	       "256 (IPv4) and 257 (IPv6) are sent when the collector is added and\n"
	       "every template-refresh seconds after (default %5$d s; RFC 7011 8.4).\n"
	       "\n"
	       "flowlensd reads the flow cache once a second. A direction's record\n"
	       "leaves with the packets and bytes since its last one when:\n"
	       "  the flow saw FIN or RST and then a second without packets  (end)\n"
	       "  it had no packet for the idle time (default %3$d s)           (idle)\n"
	       "  the active time passed since its last record (default %4$d s) (active)\n"
	       "  the flow cache evicted it first: what the read before saw is\n"
	       "  sent, and the flow counted in flows_lost                 (evicted)\n"
	       "  the collector is removed or flowlensd stops              (forced)\n"
	       "A flow created and evicted between two reads has no record: stats\n"
	       "counts it in flows_unseen (the interfaces' flows created that no read\n"
	       "found); a larger --max-flows avoids both kinds of loss.\n"
	       "A TCP flow's entry starts at its first packet with payload: the\n"
	       "handshake before it is not in its records.\n"
	       "\n"
	       "  add    start sending to a collector, up to 4; kept across restarts\n"
	       "  del    stop (its flows' last records leave first)\n"
	       "  list   the collectors: id, address, timeouts, domain, template\n"
	       "         refresh\n"
	       "  stats  per collector: messages, records (by reason), bytes,\n"
	       "         templates, records_lost (datagrams the socket refused),\n"
	       "         flows_lost; and the reads: flows, seconds per read\n"
	       "\n"
	       "Examples:\n"
	       "  %1$s export add ipfix 192.0.2.9:4739\n"
	       "  %1$s export add ipfix [2001:db8::9]:4739 active 300 idle 15 domain 7\n"
	       "  %1$s export add ipfix 192.0.2.9:4739 template-refresh 300\n"
	       "  %1$s export stats\n"
	       "  %1$s export del 1\n",
	       prog_name, TIMEOUT_MAX, IDLE_DEFAULT, ACTIVE_DEFAULT,
	       FL_IPFIX_TEMPLATE_REFRESH);
}

static void print_changed(struct json_object *data, const char *what)
{
	struct json_object *c = json_object_object_get(data, "collector");

	printf("%s %d: %s %s (active %ds, idle %ds, domain %llu, templates every %ds)\n",
	       what, (int)json_get_u64(c, "id"), json_get_str(c, "type"),
	       json_get_str(c, "collector"), (int)json_get_u64(c, "active"),
	       (int)json_get_u64(c, "idle"),
	       (unsigned long long)json_get_u64(c, "domain"),
	       (int)json_get_u64(c, "template_refresh"));
}

static void print_added(struct json_object *data)
{
	struct json_object *v;

	print_changed(data, "collector");
	if (json_object_object_get_ex(data, "warning", &v) && v)
		fprintf(stderr, "%s: warning: %s\n", prog_name,
			json_object_get_string(v));
}

static void print_deleted(struct json_object *data)
{
	struct json_object *c = json_object_object_get(data, "collector");

	print_changed(data, "removed collector");
	printf("  it had %llu records, %llu lost\n",
	       (unsigned long long)json_get_u64(c, "records"),
	       (unsigned long long)json_get_u64(c, "records_lost"));
}

int flctl_export_add(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	static const char *const keywords[] = { "active", "idle", "domain",
						"template-refresh" };
	/* the request's names for them */
	static const char *const keys[] = { "active", "idle", "domain",
					    "template_refresh" };
	static const long max[] = { TIMEOUT_MAX, TIMEOUT_MAX, 4294967295L,
				    TIMEOUT_MAX };
	static const long min[] = { 1, 1, 0, 1 };
	enum { NKEYWORDS = sizeof(keywords) / sizeof(keywords[0]) };
	bool seen[NKEYWORDS] = { false };
	struct json_object *req;
	long value;
	int i, k, ret;

	if (argc < 1)
		return usage_error(
			"export add needs a type and a collector (e.g. ipfix 192.0.2.9:4739)");
	if (strcmp(argv[0], "ipfix"))
		return usage_error(
			"export add: unknown type '%s' (expected ipfix)",
			argv[0]);
	if (argc < 2)
		return usage_error(
			"export add ipfix needs COLLECTOR:PORT (e.g. 192.0.2.9:4739)");
	if (!strrchr(argv[1], ':'))
		return usage_error(
			"export add: collector '%s' has no port (HOST:PORT, [IPv6]:PORT)",
			argv[1]);
	req = request_new(cmd);
	json_object_object_add(req, "type", json_object_new_string("ipfix"));
	json_object_object_add(req, "collector",
			       json_object_new_string(argv[1]));
	for (i = 2; i < argc; i += 2) {
		for (k = 0; k < NKEYWORDS && strcmp(argv[i], keywords[k]); k++)
			;
		if (k == NKEYWORDS) {
			ret = usage_error(
				"export add: unexpected '%s' (expected active, idle, domain or template-refresh)",
				argv[i]);
			goto err;
		}
		if (seen[k]) {
			ret = usage_error("export add: %s given twice",
					  keywords[k]);
			goto err;
		}
		seen[k] = true;
		if (i + 1 >= argc) {
			ret = usage_error("export add: %s needs a number",
					  keywords[k]);
			goto err;
		}
		ret = arg_number(keywords[k], argv[i + 1], min[k], max[k],
				 &value);
		if (ret)
			goto err;
		json_object_object_add(req, keys[k],
				       json_object_new_int64(value));
	}
	return flctl_run(req, print_added);
err:
	json_object_put(req);
	return ret;
}

int flctl_export_del(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	struct json_object *req;

	if (argc != 1)
		return usage_error(
			argc ? "export del: unexpected '%s' (one ID or COLLECTOR:PORT)" :
			       "export del needs an ID or COLLECTOR:PORT (see 'export list')%s",
			argc ? argv[1] : "");
	req = request_new(cmd);
	json_object_object_add(req, "collector",
			       json_object_new_string(argv[0]));
	return flctl_run(req, print_deleted);
}

static struct json_object *collectors_of(struct json_object *data, size_t *n)
{
	struct json_object *list;

	if (!json_object_object_get_ex(data, "collectors", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		*n = 0;
		return NULL;
	}
	*n = json_object_array_length(list);
	return list;
}

static void print_list(struct json_object *data)
{
	struct json_object *list, *o;
	size_t i, n;

	list = collectors_of(data, &n);
	if (!n) {
		printf("no collectors ('%s export add ipfix HOST:PORT' adds one)\n",
		       prog_name);
		return;
	}
	printf("%4s  %-5s  %-40s %6s %6s %10s %9s\n", "ID", "TYPE", "COLLECTOR",
	       "ACTIVE", "IDLE", "DOMAIN", "TEMPLATES");
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(list, i);
		printf("%4d  %-5s  %-40s %5ds %5ds %10llu %8ds\n",
		       (int)json_get_u64(o, "id"), json_get_str(o, "type"),
		       json_get_str(o, "collector"),
		       (int)json_get_u64(o, "active"),
		       (int)json_get_u64(o, "idle"),
		       (unsigned long long)json_get_u64(o, "domain"),
		       (int)json_get_u64(o, "template_refresh"));
	}
}

int flctl_export_list(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	return arg_none(cmd, argc, argv) ?: flctl_run_plain(cmd, print_list);
}

static void print_stats(struct json_object *data)
{
	static const char *const reasons[] = { "end", "idle", "active",
					       "evicted", "forced" };
	struct json_object *list, *o, *by = NULL;
	size_t i, n, k;

	list = collectors_of(data, &n);
	printf("Flows followed: %llu (%llu bytes); reads: %llu, last %.3f s, longest %.3f s\n",
	       (unsigned long long)json_get_u64(data, "flows"),
	       (unsigned long long)json_get_u64(data, "shadow_bytes"),
	       (unsigned long long)json_get_u64(data, "reads"),
	       json_get_double(data, "read_seconds_last"),
	       json_get_double(data, "read_seconds_max"));
	printf("Flows evicted between reads: %llu, of them never read: %llu\n",
	       (unsigned long long)json_get_u64(data, "flows_evicted"),
	       (unsigned long long)json_get_u64(data, "flows_unseen"));
	if (!n)
		printf("no collectors\n");
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(list, i);
		printf("\n%d: %s %s (active %ds, idle %ds, domain %llu, templates every %ds)\n",
		       (int)json_get_u64(o, "id"), json_get_str(o, "type"),
		       json_get_str(o, "collector"),
		       (int)json_get_u64(o, "active"),
		       (int)json_get_u64(o, "idle"),
		       (unsigned long long)json_get_u64(o, "domain"),
		       (int)json_get_u64(o, "template_refresh"));
		printf("  %-14s %llu\n", "records",
		       (unsigned long long)json_get_u64(o, "records"));
		json_object_object_get_ex(o, "records_by_reason", &by);
		for (k = 0; k < sizeof(reasons) / sizeof(reasons[0]); k++)
			printf("    %-12s %llu\n", reasons[k],
			       (unsigned long long)json_get_u64(by,
								reasons[k]));
		printf("  %-14s %llu\n", "messages",
		       (unsigned long long)json_get_u64(o, "messages"));
		printf("  %-14s %llu\n", "bytes",
		       (unsigned long long)json_get_u64(o, "bytes"));
		printf("  %-14s %llu\n", "templates",
		       (unsigned long long)json_get_u64(o, "templates"));
		printf("  %-14s %llu\n", "records_lost",
		       (unsigned long long)json_get_u64(o, "records_lost"));
		printf("  %-14s %llu\n", "flows_lost",
		       (unsigned long long)json_get_u64(o, "flows_lost"));
		if (*json_get_str(o, "last_error"))
			printf("  %-14s %s\n", "last_error",
			       json_get_str(o, "last_error"));
	}
}

int flctl_export_stats(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	return arg_none(cmd, argc, argv) ?: flctl_run_plain(cmd, print_stats);
}

int flctl_show_export(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	return flctl_export_stats(cmd, argc, argv);
}
