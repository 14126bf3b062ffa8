// SPDX-License-Identifier: Apache-2.0
/* flctl show apps [--sort KEY] | show flows [--app A] [-n N] | show workers */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flctl.h"

static void print_apps(struct json_object *data)
{
	struct json_object *list, *o;
	char a[32], b[32];
	size_t i, n;

	if (!json_object_object_get_ex(data, "apps", &list))
		return;
	n = json_object_array_length(list);
	if (!n) {
		printf("no application seen yet\n");
		return;
	}
	printf("%-24s %12s %12s %10s\n", "APP", "PACKETS", "BYTES", "FLOWS");
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(list, i);
		printf("%-24s %12s %12s %10llu\n", json_get_str(o, "app"),
		       si(json_get_u64(o, "packets"), a, sizeof(a)),
		       si(json_get_u64(o, "bytes"), b, sizeof(b)),
		       (unsigned long long)json_get_u64(o, "flows"));
	}
}

int show_apps(int argc, char **argv)
{
	struct json_object *req = request_new("apps");
	const char *sort = "bytes";
	int i;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--sort") || !strcmp(argv[i], "sort")) {
			if (++i == argc) {
				json_object_put(req);
				return usage_error(
					"--sort needs a key: bytes, packets or flows");
			}
			sort = argv[i];
			if (strcmp(sort, "bytes") && strcmp(sort, "packets") &&
			    strcmp(sort, "flows")) {
				json_object_put(req);
				return usage_error(
					"unknown sort key '%s': bytes, packets or flows",
					sort);
			}
		} else {
			json_object_put(req);
			return usage_error(
				"show apps: unexpected '%s' (see show help)",
				argv[i]);
		}
	}
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

int show_flows(int argc, char **argv)
{
	struct json_object *req = request_new("flows");
	int i;

	for (i = 0; i < argc; i++) {
		bool app = !strcmp(argv[i], "--app") || !strcmp(argv[i], "app");
		bool count = !strcmp(argv[i], "-n");

		if (!app && !count) {
			json_object_put(req);
			return usage_error(
				"show flows: unexpected '%s' (see show help)",
				argv[i]);
		}
		if (++i == argc) {
			json_object_put(req);
			return usage_error("%s needs a value", argv[i - 1]);
		}
		if (app) {
			json_object_object_add(req, "app",
					       json_object_new_string(argv[i]));
		} else {
			char *end;
			long n = strtol(argv[i], &end, 10);

			if (*end || end == argv[i] || n < 0) {
				json_object_put(req);
				return usage_error(
					"-n needs a number of flows (0: all), not '%s'",
					argv[i]);
			}
			json_object_object_add(req, "limit",
					       json_object_new_int(n));
		}
	}
	return flctl_run(req, print_flows);
}

static void print_workers(struct json_object *data)
{
	static const char *const counters[] = {
		"rx",		"tx",		"passed",  "consumed",
		"dropped",	"classified",	"gave_up", "ring_full",
		"verdict_lost", "bad_metadata", "ring_shed",
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

int show_workers(int argc, char **argv)
{
	if (argc)
		return usage_error("show workers takes no argument, not '%s'",
				   argv[0]);
	return flctl_run(request_new("workers"), print_workers);
}
