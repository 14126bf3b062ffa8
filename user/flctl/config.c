// SPDX-License-Identifier: Apache-2.0
/* flctl config show, flctl config set KEY VALUE; flctl version */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "flctl.h"
#include "units.h"
#include <flowlens/flowlens.h>

static int config_help(int argc, char **argv)
{
	if (help_as_json())
		return 0;
	printf("Usage: %1$s config show\n"
	       "       %1$s config set KEY VALUE\n"
	       "       %1$s config help\n"
	       "\n"
	       "KEY VALUE := { malformed { pass | drop } | heavy-pps RATE | heavy-bps RATE }\n"
	       "RATE := a number with an optional k, M or G suffix (1000-based)\n"
	       "\n"
	       "  malformed   what happens to packets whose headers do not parse;\n"
	       "              they are counted either way (default pass)\n"
	       "  heavy-pps   a source or destination above this many packets per\n"
	       "              second gets exact counters and appears in 'top'\n"
	       "              (default %2$llu)\n"
	       "  heavy-bps   ... or above this many bits per second (default %3$llu)\n"
	       "\n"
	       "Changes apply at once and survive a restart and a reboot.\n",
	       prog_name, FL_HEAVY_PPS_DEFAULT, FL_HEAVY_BPS_DEFAULT);
	return 0;
}

static void print_config(struct json_object *data)
{
	printf("mode        %s\n", json_get_str(data, "mode"));
	printf("malformed   %s\n", json_get_str(data, "malformed"));
	printf("heavy-pps   %llu\n",
	       (unsigned long long)json_get_u64(data, "heavy_pps"));
	printf("heavy-bps   %llu\n",
	       (unsigned long long)json_get_u64(data, "heavy_bps"));
}

static int config_show(int argc, char **argv)
{
	if (argc)
		return usage_error("config show takes no arguments, not '%s'",
				   argv[0]);
	return flctl_run(request_new("config-show"), print_config);
}

static int config_set(int argc, char **argv)
{
	static const char *const keys[] = { "malformed", "heavy-pps",
					    "heavy-bps" };
	struct json_object *req;
	const char *key = NULL;
	uint64_t n;
	size_t i;

	if (argc != 2)
		return usage_error(
			"config set needs KEY VALUE (see '%s config help')",
			prog_name);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!is_prefix(argv[0], keys[i]))
			continue;
		if (key)
			return usage_error("'%s' is ambiguous: %s or %s?",
					   argv[0], key, keys[i]);
		key = keys[i];
	}
	if (!key)
		return usage_error(
			"unknown setting '%s' (malformed, heavy-pps, heavy-bps)",
			argv[0]);
	if (!strcmp(key, "malformed") && strcmp(argv[1], "pass") &&
	    strcmp(argv[1], "drop"))
		return usage_error(
			"malformed: '%s' is not a policy (pass or drop)",
			argv[1]);
	if (strcmp(key, "malformed") && (fl_parse_count(argv[1], &n) || !n))
		return usage_error(
			"%s: '%s' is not a positive rate (e.g. 5000, 20k, 1M)",
			key, argv[1]);

	req = request_new("config-set");
	json_object_object_add(req, "key", json_object_new_string(key));
	json_object_object_add(req, "value", json_object_new_string(argv[1]));
	return flctl_run(req, print_config);
}

int do_config(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "show", config_show },
		{ "set", config_set },
		{ "help", config_help },
		{ NULL, NULL },
	};

	return cmd_dispatch("config", cmds, argc, argv, config_help);
}

/* Works without a daemon: then only flctl's own version is known. */
int do_version(int argc, char **argv)
{
	struct json_object *data = NULL, *out;
	char err[512];
	int ret;

	if (argc && is_prefix(argv[0], "help")) {
		printf("Usage: %s version\n\n"
		       "flctl's version, and flowlensd's (with its libbpf and uptime)\n"
		       "if it runs. Never fails for lack of a daemon.\n",
		       prog_name);
		return 0;
	}
	if (argc)
		return usage_error("version takes no arguments, not '%s'",
				   argv[0]);
	/* A missing daemon is not an error here. */
	ret = flctl_call_quiet(request_new("version"), &data, err, sizeof(err));

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
