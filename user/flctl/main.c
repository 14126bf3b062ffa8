// SPDX-License-Identifier: Apache-2.0
/*
 * flctl - the FlowLens command line. bpftool's grammar:
 *   flctl [OPTIONS] OBJECT { COMMAND | help } [ARGS]
 * Objects and commands match by unique prefix; every command prints JSON
 * with -j (pretty with -p) and errors as {"error": "..."}.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "flctl.h"
#include "prefix.h"
#include "units.h"

const char *prog_name = "flctl";
bool json_output;
bool pretty_output;
static const char *socket_override;

static const struct cmd objects[];

static int do_help(int argc, char **argv)
{
	/* flctl help OBJECT == flctl OBJECT help */
	if (argc > 0 && strcmp(argv[0], "help")) {
		char *args[] = { argv[0], "help" };

		return cmd_dispatch(NULL, objects, 2, args, do_help);
	}
	if (help_as_json())
		return 0;
	printf("Usage: %1$s [OPTIONS] OBJECT { COMMAND | help }\n"
	       "       %1$s version\n"
	       "\n"
	       "OBJECT := { show | top | protect | rule | ddos | synproxy | config | version }\n"
	       "OPTIONS := { -j|--json [-p|--pretty] | -s|--socket PATH |\n"
	       "             -h|--help | -V|--version }\n"
	       "\n"
	       "  show stats [IFACE]                packets, bytes, kinds, parse errors, verdicts\n"
	       "  show ip ADDR                      exact counters of one tracked address\n"
	       "  top { src | dst } [-n N] [--by { pps | bps | syn }]\n"
	       "                                    top talkers over the last second\n"
	       "  protect { add | del } PREFIX      exact per-IP counters for a prefix\n"
	       "  protect list\n"
	       "  rule add [order N] MATCH... action { drop | permit | rate-limit R }\n"
	       "                                    a mitigation rule, enforced in XDP\n"
	       "  rule { del ID | list | flush | load FILE | shapes }\n"
	       "  ddos threshold add PREFIX [source] METRIC VALUE... [action A] [hold S]\n"
	       "                                    detect floods per host, mitigate them\n"
	       "  ddos threshold { del PREFIX [source] | list }\n"
	       "  ddos allow { add PREFIX | del PREFIX | list }\n"
	       "                                    sources never mitigated\n"
	       "  ddos attacks [--all] | ddos status\n"
	       "  synproxy add ADDR port PORT [mss MSS] [wscale WSCALE]\n"
	       "                                    SYN cookies from XDP for a TCP service\n"
	       "  synproxy { del ADDR port PORT | list | stats [ADDR [port PORT]] }\n"
	       "  config show\n"
	       "  config set KEY VALUE              malformed pass|drop, heavy-pps N, heavy-bps N\n"
	       "  version\n"
	       "\n"
	       "Objects and commands may be abbreviated to a unique prefix\n"
	       "('%1$s t s' is '%1$s top src'). '%1$s OBJECT help' explains each object.\n"
	       "flctl talks to flowlensd over %2$s\n"
	       "(or $%3$s, or --socket).\n",
	       prog_name, FL_SOCKET_DEFAULT, FL_SOCKET_ENV);
	return 0;
}

bool is_prefix(const char *arg, const char *full)
{
	size_t len = strlen(arg);

	return len && !strncmp(arg, full, len);
}

void flctl_print_json(struct json_object *o)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
		    (pretty_output ?
			     JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED :
			     JSON_C_TO_STRING_PLAIN);

	if (!o) {
		puts("null");
		return;
	}
	puts(json_object_to_json_string_ext(o, flags));
}

/* Errors go to stderr as text, or to stdout as {"error": ...} with -j. */
static void error_vprint(const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (json_output) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "error", json_object_new_string(msg));
		flctl_print_json(o);
		json_object_put(o);
	} else {
		fprintf(stderr, "%s: %s\n", prog_name, msg);
	}
}

int usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vprint(fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int cmd_dispatch(const char *object, const struct cmd *cmds, int argc,
		 char **argv, int (*help)(int argc, char **argv))
{
	const struct cmd *match = NULL;
	char names[256] = "";
	int i;

	if (argc < 1)
		return help(argc, argv);

	for (i = 0; cmds[i].name; i++) {
		if (!strcmp(argv[0], cmds[i].name)) {
			match = &cmds[i];
			break;
		}
		if (!is_prefix(argv[0], cmds[i].name))
			continue;
		if (match)
			return usage_error("'%s' is ambiguous: %s or %s?",
					   argv[0], match->name, cmds[i].name);
		match = &cmds[i];
	}
	if (match)
		return match->fn(argc - 1, argv + 1);

	for (i = 0; cmds[i].name; i++) {
		strncat(names, i ? " | " : "",
			sizeof(names) - strlen(names) - 1);
		strncat(names, cmds[i].name, sizeof(names) - strlen(names) - 1);
	}
	if (!object)
		return usage_error(
			"unknown object '%s' (expected { %s }); try '%s help'",
			argv[0], names, prog_name);
	return usage_error(
		"unknown command '%s' for %s (expected { %s }); try '%s %s help'",
		argv[0], object, names, prog_name, object);
}

struct json_object *request_new(const char *cmd)
{
	struct json_object *req = json_object_new_object();

	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	return req;
}

int flctl_call_quiet(struct json_object *req, struct json_object **data,
		     char *err, size_t errlen)
{
	struct json_object *reply = NULL, *ok, *v;
	int ret;

	*data = NULL;
	ret = fl_ctl_call(fl_ctl_socket_path(socket_override), req, &reply, err,
			  errlen);
	json_object_put(req);
	if (ret)
		return ret;

	if (!json_object_object_get_ex(reply, "ok", &ok) ||
	    !json_object_get_boolean(ok)) {
		snprintf(err, errlen, "%s",
			 json_object_object_get_ex(reply, "error", &v) ?
				 json_object_get_string(v) :
				 "flowlensd refused the request");
		json_object_put(reply);
		return -EINVAL;
	}
	if (json_object_object_get_ex(reply, "data", &v))
		*data = json_object_get(v);
	json_object_put(reply);
	return 0;
}

int flctl_call(struct json_object *req, struct json_object **data)
{
	char err[512];
	int ret = flctl_call_quiet(req, data, err, sizeof(err));

	if (ret)
		usage_error("%s", err);
	return ret;
}

int flctl_run(struct json_object *req,
	      void (*print_text)(struct json_object *data))
{
	struct json_object *data;
	int ret = flctl_call(req, &data);

	if (ret)
		return ret;
	if (json_output)
		flctl_print_json(data);
	else
		print_text(data);
	json_object_put(data);
	return 0;
}

int flctl_prefix_request(const char *object, const char *cmd,
			 const char *request, int argc, char **argv,
			 void (*print_text)(struct json_object *data))
{
	struct json_object *req;
	struct fl_prefix prefix;
	char err[256];

	if (argc != 1)
		return usage_error(
			"%s %s needs exactly one PREFIX (e.g. 198.51.100.0/24)",
			object, cmd);
	if (fl_prefix_parse(argv[0], &prefix, err, sizeof(err)))
		return usage_error("%s", err);

	req = request_new(request);
	json_object_object_add(req, "prefix", json_object_new_string(argv[0]));
	return flctl_run(req, print_text);
}

bool help_as_json(void)
{
	if (json_output)
		flctl_print_json(NULL);
	return json_output;
}

const char *si(double value, char *buf, size_t len)
{
	return fl_format_si(value, buf, len);
}

double json_get_double(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ?
		       json_object_get_double(v) :
		       0;
}

__uint64_t json_get_u64(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ?
		       json_object_get_uint64(v) :
		       0;
}

const char *json_get_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ?
		       json_object_get_string(v) :
		       "";
}

static const struct cmd objects[] = {
	{ "show", do_show },	   { "top", do_top },
	{ "protect", do_protect }, { "rule", do_rule },
	{ "ddos", do_ddos },	   { "synproxy", do_synproxy },
	{ "config", do_config },   { "version", do_version },
	{ "help", do_help },	   { NULL, NULL },
};

/*
 * Global options may appear anywhere (flctl top src -j works); everything
 * else is left, in order, for the object to parse. -h anywhere asks for the
 * help of the object named so far (flctl top src -h: top's help), -V
 * anywhere for the version.
 */
static int parse_global_options(int *argc, char **argv)
{
	bool help = false, version = false;
	int i, out = 0;

	for (i = 0; i < *argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			json_output = true;
		} else if (!strcmp(a, "-p") || !strcmp(a, "--pretty")) {
			json_output = pretty_output = true;
		} else if (!strncmp(a, "--socket=", 9)) {
			if (!a[9])
				return usage_error(
					"--socket: the socket path is empty");
			socket_override = a + 9;
		} else if (!strcmp(a, "-s") || !strcmp(a, "--socket")) {
			if (i + 1 >= *argc || argv[i + 1][0] == '-')
				return usage_error("%s needs a socket path", a);
			if (!argv[i + 1][0])
				return usage_error(
					"%s: the socket path is empty", a);
			socket_override = argv[++i];
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			help = true;
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			version = true;
		} else {
			argv[out++] = argv[i];
		}
	}
	if (version) {
		argv[0] = "version";
		out = 1;
	} else if (help) {
		argv[out ? 1 : 0] = "help";
		out = out ? 2 : 1;
	}
	*argc = out;
	return 0;
}

int main(int argc, char **argv)
{
	int ret;

	argc--;
	argv++;
	if (parse_global_options(&argc, argv))
		return EXIT_FAILURE;
	ret = cmd_dispatch(NULL, objects, argc, argv, do_help);
	return ret ? EXIT_FAILURE : EXIT_SUCCESS;
}
