// SPDX-License-Identifier: Apache-2.0
/*
 * flctl top { src | dst } [-n N] [--by { pps | bps | syn }]
 * flctl top apps [-n N] [--by { pps | bps | flows }]
 */
#include <stdio.h>
#include <string.h>

#include "flctl.h"

void flctl_help_top(void)
{
	printf("What is busiest now: rates over the last second, highest first,\n"
	       "with the totals since the counters began. -n N lists at most N\n"
	       "(default 10); --by chooses the rate that ranks them (default pps).\n"
	       "Whatever had nothing in the last second is left out.\n"
	       "\n"
	       "src, dst\n"
	       "    The addresses that sent (src) or received (dst) the most,\n"
	       "    by packets (pps), bits (bps) or TCP SYNs (syn) per second.\n"
	       "    Only addresses with exact counters appear: those inside a\n"
	       "    protected prefix ('%1$s protect add') and heavy hitters,\n"
	       "    which the XDP program's count-min sketch flags once they\n"
	       "    exceed the heavy-pps or heavy-bps setting ('%1$s config\n"
	       "    show'). TRACKED says which.\n"
	       "\n"
	       "apps\n"
	       "    The applications nDPI named (those of '%1$s show apps'), by\n"
	       "    packets (pps), bits (bps) or newly classified flows (flows)\n"
	       "    per second; CATEGORY is nDPI's category of the application's\n"
	       "    latest flow. flowlensd reads the per-application totals once\n"
	       "    a second; the rates are those between its last two reads.\n"
	       "    A flow counts from its verdict: the packets before it come\n"
	       "    in at once, in the second it is classified. Empty when\n"
	       "    flowlensd runs without workers (--workers 0).\n"
	       "\n"
	       "Examples:\n"
	       "    %1$s top src -n 5 --by bps\n"
	       "    %1$s top apps --by flows\n"
	       "    %1$s -j top apps -n 3\n",
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

/* Column width: the header's, or the longest value of key. */
static int column_width(struct json_object *list, const char *key,
			const char *header)
{
	size_t i, w = strlen(header);

	for (i = 0; i < json_object_array_length(list); i++) {
		size_t len = strlen(
			json_get_str(json_object_array_get_idx(list, i), key));

		if (len > w)
			w = len;
	}
	return w;
}

static void print_top_apps(struct json_object *data)
{
	char pps[32], bps[32], fps[32], pkts[32], bytes[32];
	struct json_object *list = NULL, *e;
	size_t i, count;
	int app_w, cat_w;

	json_object_object_get_ex(data, "entries", &list);
	count = list ? json_object_array_length(list) : 0;
	printf("Top applications by %s over the last %.2f s (%d applications seen)\n",
	       json_get_str(data, "by"), json_get_double(data, "interval"),
	       (int)json_get_u64(data, "apps_seen"));
	if (!count) {
		printf("  no application had traffic\n");
		return;
	}
	app_w = column_width(list, "app", "APP");
	cat_w = column_width(list, "category", "CATEGORY");
	printf("%3s  %-*s  %-*s %8s %8s %8s %9s %9s\n", "#", app_w, "APP",
	       cat_w, "CATEGORY", "PPS", "BPS", "FLOWS/S", "PACKETS", "BYTES");
	for (i = 0; i < count; i++) {
		e = json_object_array_get_idx(list, i);
		printf("%3zu  %-*s  %-*s %8s %8s %8s %9s %9s\n", i + 1, app_w,
		       json_get_str(e, "app"), cat_w,
		       *json_get_str(e, "category") ?
			       json_get_str(e, "category") :
			       "-",
		       si(json_get_double(e, "pps"), pps, sizeof(pps)),
		       si(json_get_double(e, "bps"), bps, sizeof(bps)),
		       si(json_get_double(e, "flows_per_s"), fps, sizeof(fps)),
		       si(json_get_u64(e, "packets"), pkts, sizeof(pkts)),
		       si(json_get_u64(e, "bytes"), bytes, sizeof(bytes)));
	}
}

static const struct fl_proto_cmd *top_cmd;

/* What each side ranks by (the first: the default), and how it prints. */
struct top_side {
	const char *name;
	const char *keys[3];
	void (*print)(struct json_object *data);
};

static const struct top_side top_sides[] = {
	{ "src", { "pps", "bps", "syn" }, print_top },
	{ "dst", { "pps", "bps", "syn" }, print_top },
	{ "apps", { "pps", "bps", "flows" }, print_top_apps },
};

static int top_run(const struct top_side *side, int argc, char **argv)
{
	const char *const *keys = side->keys;
	struct json_object *req;
	const char *by = keys[0];
	char what[32];
	long n = 10;
	int ret;

	snprintf(what, sizeof(what), "top %s", side->name);
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
				return usage_error("--by needs %s, %s or %s",
						   keys[0], keys[1], keys[2]);
			NEXT_ARG();
			by = argv[0];
			if (strcmp(by, keys[0]) && strcmp(by, keys[1]) &&
			    strcmp(by, keys[2]))
				return usage_error(
					"--by: '%s' is not one of %s, %s, %s",
					by, keys[0], keys[1], keys[2]);
		} else {
			return arg_unexpected(what, argv[0],
					      "-n N or --by KEY");
		}
	}

	req = request_new(top_cmd);
	json_object_object_add(req, "side", json_object_new_string(side->name));
	json_object_object_add(req, "by", json_object_new_string(by));
	json_object_object_add(req, "n", json_object_new_int(n));
	return flctl_run(req, side->print);
}

static int top_src(int argc, char **argv)
{
	return top_run(&top_sides[0], argc, argv);
}

static int top_dst(int argc, char **argv)
{
	return top_run(&top_sides[1], argc, argv);
}

static int top_apps(int argc, char **argv)
{
	return top_run(&top_sides[2], argc, argv);
}

/* top's command is the object itself; src, dst and apps are its first
 * word. */
int flctl_top(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	static const struct cmd sides[] = {
		{ "src", top_src },
		{ "dst", top_dst },
		{ "apps", top_apps },
		{ "help", top_help },
		{ NULL, NULL },
	};

	top_cmd = cmd;
	return cmd_dispatch("top", sides, argc, argv, top_help);
}
