// SPDX-License-Identifier: Apache-2.0
/* flctl top { src | dst } [-n N] [--by { pps | bps | syn }] */
#include <stdio.h>
#include <string.h>

#include "flctl.h"

void flctl_help_top(void)
{
	printf("The addresses that sent (src) or received (dst) the most over the\n"
	       "last second, highest first. Ranked by packets (pps, the default),\n"
	       "bits (bps) or TCP SYNs (syn) per second; -n limits the list\n"
	       "(default 10).\n"
	       "\n"
	       "Only addresses with exact counters appear: those inside a protected\n"
	       "prefix ('%1$s protect add') and heavy hitters, which the XDP\n"
	       "program's count-min sketch flags once they exceed the heavy-pps or\n"
	       "heavy-bps setting ('%1$s config show'). TRACKED says which.\n",
	       prog_name);
}

static int top_help(int argc, char **argv)
{
	return object_help("top");
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

static const struct fl_proto_cmd *top_cmd;

static int top_side(const char *side, int argc, char **argv)
{
	static const char *const keys[] = { "pps", "bps", "syn" };
	struct json_object *req;
	const char *by = "pps";
	char what[32];
	long n = 10;
	int ret;

	snprintf(what, sizeof(what), "top %s", side);
	for (; argc; NEXT_ARG()) {
		if (!strcmp(argv[0], "-n") || !strcmp(argv[0], "--count")) {
			if (argc < 2)
				return usage_error("%s needs a number",
						   argv[0]);
			NEXT_ARG();
			ret = arg_number("-n", argv[0], 1, 100000, &n);
			if (ret)
				return ret;
		} else if (!strcmp(argv[0], "--by") || !strcmp(argv[0], "by")) {
			if (argc < 2)
				return usage_error(
					"--by needs pps, bps or syn");
			NEXT_ARG();
			by = argv[0];
			if (strcmp(by, keys[0]) && strcmp(by, keys[1]) &&
			    strcmp(by, keys[2]))
				return usage_error(
					"--by: '%s' is not one of pps, bps, syn",
					by);
		} else {
			return arg_unexpected(what, argv[0],
					      "-n N or --by KEY");
		}
	}

	req = request_new(top_cmd);
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

/* top's command is the object itself; src and dst are its first word. */
int flctl_top(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	static const struct cmd sides[] = {
		{ "src", top_src },
		{ "dst", top_dst },
		{ "help", top_help },
		{ NULL, NULL },
	};

	top_cmd = cmd;
	return cmd_dispatch("top", sides, argc, argv, top_help);
}
