// SPDX-License-Identifier: Apache-2.0
/* flctl config show, flctl config set KEY VALUE; flctl version */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "flctl.h"
#include "units.h"
#include <flowlens/flowlens.h>

void flctl_help_config(void)
{
	printf("KEY VALUE := { malformed { pass | drop } | heavy-pps RATE | heavy-bps RATE |\n"
	       "              escalate-pps RATE }\n"
	       "RATE := a number with an optional k, M or G suffix (1000-based)\n"
	       "\n"
	       "  malformed   what happens to packets whose headers do not parse;\n"
	       "              they are counted either way (default pass)\n"
	       "  heavy-pps   a source or destination above this many packets per\n"
	       "              second gets exact counters and appears in 'top'\n"
	       "              (default %1$llu)\n"
	       "  heavy-bps   ... or above this many bits per second (default %2$llu)\n"
	       "  escalate-pps  the escalation cap: packets each CPU may send to\n"
	       "              the nDPI workers a second, bursts of %4$d more\n"
	       "              after a pause (default %3$d, at most %5$d). A new\n"
	       "              flow that comes while it is spent gets no flow-cache\n"
	       "              entry (no verdict, no IPFIX record) until a later\n"
	       "              packet of it comes under the cap; counted as\n"
	       "              escalate_rate_limited in 'show stats'. Raise it\n"
	       "              when the workers keep up with more new flows, lower\n"
	       "              it to shield them from floods of new flows\n"
	       "\n"
	       "Changes apply at once and survive a restart and a reboot.\n",
	       FL_HEAVY_PPS_DEFAULT, FL_HEAVY_BPS_DEFAULT,
	       FL_ESCALATE_PPS_DEFAULT, FL_ESCALATE_BURST,
	       FL_ESCALATE_PPS_MAX);
}

static void print_config(struct json_object *data)
{
	printf("mode        %s\n", json_get_str(data, "mode"));
	printf("malformed   %s\n", json_get_str(data, "malformed"));
	printf("heavy-pps   %llu\n",
	       (unsigned long long)json_get_u64(data, "heavy_pps"));
	printf("heavy-bps   %llu\n",
	       (unsigned long long)json_get_u64(data, "heavy_bps"));
	printf("escalate-pps %llu\n",
	       (unsigned long long)json_get_u64(data, "escalate_pps"));
	/* flowlensd --max-flows; absent from an older flowlensd */
	if (json_object_object_get_ex(data, "max_flows", NULL))
		printf("max-flows   %llu\n",
		       (unsigned long long)json_get_u64(data, "max_flows"));
}

int flctl_config_show(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	return arg_none(cmd, argc, argv) ?: flctl_run_plain(cmd, print_config);
}

int flctl_config_set(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	static const char *const keys[] = { "malformed", "heavy-pps",
					    "heavy-bps", "escalate-pps" };
	struct json_object *req;
	const char *key;
	uint64_t n;
	int k;

	if (argc != 2)
		return usage_error("%s needs KEY VALUE (see '%s config help')",
				   cmd_name(cmd), prog_name);
	k = arg_keyword("setting", argv[0], keys, 4);
	if (k < 0)
		return k;
	key = keys[k];
	if (!strcmp(key, "malformed") && strcmp(argv[1], "pass") &&
	    strcmp(argv[1], "drop"))
		return usage_error(
			"malformed: '%s' is not a policy (pass or drop)",
			argv[1]);
	if (strcmp(key, "malformed") && (fl_parse_count(argv[1], &n) || !n))
		return usage_error(
			"%s: '%s' is not a positive rate (e.g. 5000, 20k, 1M)",
			key, argv[1]);

	req = request_new(cmd);
	json_object_object_add(req, "key", json_object_new_string(key));
	json_object_object_add(req, "value", json_object_new_string(argv[1]));
	return flctl_run(req, print_config);
}

/* Works without a daemon: then only flctl's own version is known. */
void flctl_help_version(void)
{
	printf("flctl's version, and flowlensd's (with its libbpf and uptime)\n"
	       "if it runs. Never fails for lack of a daemon.\n");
}

int flctl_version(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	static const char *const help[] = { "help" };
	struct json_object *data = NULL, *out;
	char err[512];
	int first, second, ret;

	if (argc && fl_proto_match(argv[0], help, 1, &first, &second) == 0)
		return object_help(cmd->object);
	ret = arg_none(cmd, argc, argv);
	if (ret)
		return ret;
	/* A missing daemon is not an error here. */
	ret = flctl_call_quiet(request_new(cmd), &data, err, sizeof(err));

	if (json_output) {
		out = json_object_new_object();
		json_object_object_add(
			out, "flctl", json_object_new_string(FLOWLENS_VERSION));
		json_object_object_add(out, "flowlensd",
				       ret ? NULL : json_object_get(data));
		flctl_print_json(out);
		json_object_put(out);
	} else {
		printf("flctl %s\n", FLOWLENS_VERSION);
		if (ret == -ENOENT || ret == -ECONNREFUSED)
			printf("flowlensd not running\n");
		else if (ret)
			printf("flowlensd: %s\n", err);
		else
			printf("flowlensd %s (libbpf %s, up %llus)\n",
			       json_get_str(data, "version"),
			       json_get_str(data, "libbpf"),
			       (unsigned long long)json_get_u64(data,
								"uptime"));
	}
	json_object_put(data);
	return 0;
}
