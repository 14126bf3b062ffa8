// SPDX-License-Identifier: Apache-2.0
/* flctl top { src | dst } [-n N] [--by { pps | bps | syn }] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flctl.h"

static int top_help(int argc, char **argv)
{
	if (help_as_json())
		return 0;
	printf("Usage: %1$s top { src | dst } [-n N] [--by { pps | bps | syn }]\n"
	       "       %1$s top help\n"
	       "\n"
	       "The addresses that sent (src) or received (dst) the most over the\n"
	       "last second, highest first. Ranked by packets (pps, the default),\n"
	       "bits (bps) or TCP SYNs (syn) per second; -n limits the list\n"
	       "(default 10).\n"
	       "\n"
	       "Only addresses with exact counters appear: those inside a protected\n"
	       "prefix ('%1$s protect add') and heavy hitters, which the XDP\n"
	       "program's count-min sketch flags once they exceed the heavy-pps or\n"
	       "heavy-bps setting ('%1$s config show'). TRACKED says which.\n",
	       prog_name);
	return 0;
}

static void print_top(struct json_object *data)
{
	const char *side = json_get_str(data, "side");
	char pps[32], bps[32], sps[32], pkts[32], bytes[32], tracked[64];
	struct json_object *list = NULL, *e, *t;
	size_t i, count;

	json_object_object_get_ex(data, "entries", &list);
	count = list ? json_object_array_length(list) : 0;
	printf("Top %s by %s over the last %.2f s (%d addresses tracked)\n",
	       !strcmp(side, "src") ? "sources" : "destinations",
	       json_get_str(data, "by"), json_get_double(data, "interval"),
	       (int)json_get_u64(data, "tracked_addresses"));
	if (!count) {
		printf("  no tracked address sent or received anything\n");
		return;
	}
	printf("%3s  %-39s %8s %8s %8s %9s %9s  %s\n", "#", "ADDRESS", "PPS",
	       "BPS", "SYN/S", "PACKETS", "BYTES", "TRACKED");
	for (i = 0; i < count; i++) {
		e = json_object_array_get_idx(list, i);
		tracked[0] = '\0';
		if (json_object_object_get_ex(e, "tracked", &t)) {
			size_t k;

			for (k = 0; k < json_object_array_length(t); k++) {
				if (k)
					strcat(tracked, ",");
				strncat(tracked,
					json_object_get_string(
						json_object_array_get_idx(t,
									  k)),
					sizeof(tracked) - strlen(tracked) - 2);
			}
		}
		printf("%3zu  %-39s %8s %8s %8s %9s %9s  %s\n", i + 1,
		       json_get_str(e, "addr"),
		       si(json_get_double(e, "pps"), pps, sizeof(pps)),
		       si(json_get_double(e, "bps"), bps, sizeof(bps)),
		       si(json_get_double(e, "syn_pps"), sps, sizeof(sps)),
		       si(json_get_u64(e, "packets"), pkts, sizeof(pkts)),
		       si(json_get_u64(e, "bytes"), bytes, sizeof(bytes)),
		       tracked);
	}
}

static int top_side(const char *side, int argc, char **argv)
{
	struct json_object *req = request_new("top");
	const char *by = "pps";
	long n = 10;

	while (argc > 0) {
		if (!strcmp(argv[0], "-n") || !strcmp(argv[0], "--count")) {
			char *end;

			if (argc < 2) {
				json_object_put(req);
				return usage_error("%s needs a number",
						   argv[0]);
			}
			n = strtol(argv[1], &end, 10);
			if (*end || end == argv[1] || n < 1 || n > 100000) {
				json_object_put(req);
				return usage_error(
					"-n: '%s' is not a number from 1 to 100000",
					argv[1]);
			}
			argc -= 2;
			argv += 2;
		} else if (!strcmp(argv[0], "--by") || !strcmp(argv[0], "by")) {
			if (argc < 2) {
				json_object_put(req);
				return usage_error(
					"--by needs pps, bps or syn");
			}
			by = argv[1];
			if (strcmp(by, "pps") && strcmp(by, "bps") &&
			    strcmp(by, "syn")) {
				json_object_put(req);
				return usage_error(
					"--by: '%s' is not one of pps, bps, syn",
					by);
			}
			argc -= 2;
			argv += 2;
		} else {
			json_object_put(req);
			return usage_error(
				"top %s: unexpected argument '%s' (see '%s top help')",
				side, argv[0], prog_name);
		}
	}

	json_object_object_add(req, "side", json_object_new_string(side));
	json_object_object_add(req, "by", json_object_new_string(by));
	json_object_object_add(req, "n", json_object_new_int(n));
	return flctl_run(req, print_top);
}

static int top_src(int argc, char **argv)
{
	return top_side("src", argc, argv);
}

static int top_dst(int argc, char **argv)
{
	return top_side("dst", argc, argv);
}

int do_top(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "src", top_src },
		{ "dst", top_dst },
		{ "help", top_help },
		{ NULL, NULL },
	};

	return cmd_dispatch("top", cmds, argc, argv, top_help);
}
