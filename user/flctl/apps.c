// SPDX-License-Identifier: Apache-2.0
/* flctl show apps [--sort KEY] | show flows [--app A] [-n N] | show workers */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flctl.h"

static void print_apps(struct json_object *data)
{
	struct json_object *list, *o;
	int width = strlen("CATEGORY");
	char a[32], b[32];
	size_t i, n;

	if (!json_object_object_get_ex(data, "apps", &list))
		return;
	n = json_object_array_length(list);
	if (!n) {
		printf("no application seen yet\n");
		return;
	}
	for (i = 0; i < n; i++) {
		int len = strlen(json_get_str(json_object_array_get_idx(list, i),
					      "category"));

		if (len > width)
			width = len;
	}
	printf("%-24s %-*s %12s %12s %10s\n", "APP", width, "CATEGORY",
	       "PACKETS", "BYTES", "FLOWS");
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(list, i);
		printf("%-24s %-*s %12s %12s %10llu\n", json_get_str(o, "app"),
		       width, json_get_str(o, "category"),
		       si(json_get_u64(o, "packets"), a, sizeof(a)),
		       si(json_get_u64(o, "bytes"), b, sizeof(b)),
		       (unsigned long long)json_get_u64(o, "flows"));
	}
}

int flctl_show_apps(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	static const char *const keys[] = { "bytes", "packets", "flows" };
	struct json_object *req;
	const char *sort = "bytes";
	int k;

	for (; argc; NEXT_ARG()) {
		if (strcmp(argv[0], "--sort") && strcmp(argv[0], "sort"))
			return arg_unexpected(cmd_name(cmd), argv[0], "--sort");
		NEXT_ARG();
		if (!argc)
			return usage_error(
				"--sort needs a key: bytes, packets or flows");
		k = arg_keyword("sort key", argv[0], keys, 3);
		if (k < 0)
			return k;
		sort = keys[k];
	}
	req = request_new(cmd);
	json_object_object_add(req, "sort", json_object_new_string(sort));
	return flctl_run(req, print_apps);
}

static void print_flows(struct json_object *data)
{
	struct json_object *list, *o, *risk;
	char a[32], b[32], src[64], dst[64];
	size_t i, j, n;

	if (!json_object_object_get_ex(data, "flows", &list))
		return;
	n = json_object_array_length(list);
	printf("%-4s %-28s %-28s %-12s %-20s %8s %8s  %s\n", "PROT", "SOURCE",
	       "DESTINATION", "STATE", "APP", "PACKETS", "BYTES",
	       "SNI / JA3C / RISK");
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(list, i);
		snprintf(src, sizeof(src), "%s:%llu", json_get_str(o, "src"),
			 (unsigned long long)json_get_u64(o, "sport"));
		snprintf(dst, sizeof(dst), "%s:%llu", json_get_str(o, "dst"),
			 (unsigned long long)json_get_u64(o, "dport"));
		printf("%-4s %-28s %-28s %-12s %-20s %8s %8s ",
		       json_get_str(o, "proto"), src, dst,
		       json_get_str(o, "state"), json_get_str(o, "app"),
		       si(json_get_u64(o, "packets"), a, sizeof(a)),
		       si(json_get_u64(o, "bytes"), b, sizeof(b)));
		if (*json_get_str(o, "sni"))
			printf(" sni=%s", json_get_str(o, "sni"));
		if (*json_get_str(o, "ja3c"))
			printf(" ja3c=%s", json_get_str(o, "ja3c"));
		if (json_object_object_get_ex(o, "risk", &risk))
			for (j = 0; j < json_object_array_length(risk); j++)
				printf("%s%s", j ? "," : " risk=",
				       json_object_get_string(
					       json_object_array_get_idx(risk,
									 j)));
		printf("\n");
	}
	printf("%zu shown of %llu flows in the cache\n", n,
	       (unsigned long long)json_get_u64(data, "total"));
}

#define FLOWS_SHOWN_MAX 100000000L

int flctl_show_flows(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	const char *app = NULL;
	struct json_object *req;
	long n = -1;
	int ret;

	for (; argc; NEXT_ARG()) {
		bool is_app = !strcmp(argv[0], "--app") ||
			      !strcmp(argv[0], "app");

		if (!is_app && strcmp(argv[0], "-n"))
			return arg_unexpected(cmd_name(cmd), argv[0],
					      "--app or -n");
		if (argc < 2)
			return usage_error("%s needs a value", argv[0]);
		NEXT_ARG();
		if (is_app) {
			app = argv[0];
			continue;
		}
		ret = arg_number("-n", argv[0], 0, FLOWS_SHOWN_MAX, &n);
		if (ret)
			return ret;
	}
	req = request_new(cmd);
	if (app)
		json_object_object_add(req, "app", json_object_new_string(app));
	if (n >= 0)
		json_object_object_add(req, "limit", json_object_new_int(n));
	return flctl_run(req, print_flows);
}

static void print_workers(struct json_object *data)
{
	/* what the daemon sends, in its order (user/lib/proto.h) */
	static const char *const counters[] = {
#define FL_X_NAME(id, name) name,
		FL_WORKER_COUNTERS(FL_X_NAME)
#undef FL_X_NAME
			FL_WORKER_RING_FULL,
	};
	struct json_object *list, *o, *ifs;
	size_t i, j, n;

	if (!json_object_object_get_ex(data, "workers", &list))
		return;
	n = json_object_array_length(list);
	if (!n) {
		printf("no worker running (flowlensd --workers 0): nothing is escalated\n");
		return;
	}
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(list, i);
		printf("worker %llu  queue %llu  cpu %llu  interfaces",
		       (unsigned long long)json_get_u64(o, "id"),
		       (unsigned long long)json_get_u64(o, "queue"),
		       (unsigned long long)json_get_u64(o, "cpu"));
		if (json_object_object_get_ex(o, "interfaces", &ifs))
			for (j = 0; j < json_object_array_length(ifs); j++)
				printf(" %s", json_object_get_string(
						      json_object_array_get_idx(
							      ifs, j)));
		printf("\n ");
		for (j = 0; j < sizeof(counters) / sizeof(counters[0]); j++)
			printf(" %s %llu", counters[j],
			       (unsigned long long)json_get_u64(o,
								counters[j]));
		printf("\n  flows %llu  memory %llu bytes\n",
		       (unsigned long long)json_get_u64(o, "flows"),
		       (unsigned long long)json_get_u64(o, "memory"));
	}
}

int flctl_show_workers(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	return arg_none(cmd, argc, argv) ?: flctl_run_plain(cmd, print_workers);
}
