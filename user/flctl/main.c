// SPDX-License-Identifier: Apache-2.0
/*
 * flctl - the FlowLens command line. bpftool's grammar:
 *   flctl [OPTIONS] OBJECT { COMMAND | help } [ARGS]
 * Objects and commands match by unique prefix; every command prints JSON
 * with -j (pretty with -p) and errors as {"error": "..."}. The objects, the
 * commands, their words, arguments and help come from the protocol table
 * (user/lib/proto.h) that flowlensd serves too.
 */
#include <errno.h>
#include <limits.h>
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

typedef int (*flctl_fn)(const struct fl_proto_cmd *cmd, int argc, char **argv);

static const flctl_fn handlers[FL_PROTO_COUNT] = {
#define FL_X_HANDLER(id, ...) [FL_PROTO_##id] = flctl_##id,
	FL_PROTO_COMMANDS(FL_X_HANDLER)
#undef FL_X_HANDLER
};

static const struct {
	const char *name;
	void (*help)(void);
} object_helps[] = {
#define FL_X_HELP(object) { #object, flctl_help_##object },
	FL_PROTO_OBJECTS(FL_X_HELP)
#undef FL_X_HELP
};

#define HELP_COLUMN 36 /* where the top-level help's one-liners start */

const char *cmd_name(const struct fl_proto_cmd *cmd)
{
	static char name[64];

	snprintf(name, sizeof(name), "%s%s%s", cmd->object,
		 *cmd->words ? " " : "", cmd->words);
	return name;
}

/* Prints a synopsis from its first line on; later lines start at indent. */
static void print_synopsis(const char *synopsis, int indent)
{
	const char *nl;

	while ((nl = strchr(synopsis, '\n'))) {
		printf("%.*s\n%*s", (int)(nl - synopsis), synopsis, indent, "");
		synopsis = nl + 1;
	}
	printf("%s", synopsis);
}

/* The last word of a command's words, and the length of those before it. */
static const char *last_word(const char *words, size_t *parent_len)
{
	const char *sp = strrchr(words, ' ');

	*parent_len = sp ? (size_t)(sp - words) : 0;
	return sp ? sp + 1 : words;
}

/*
 * The Usage block of an object, one line per command; neighbours with the
 * same arguments share one ("protect { add | del } PREFIX").
 */
static void print_usage(const char *object)
{
	const struct fl_proto_cmd *c, *next;
	bool first = true;
	size_t plen, nplen;
	int i, j, indent;

	for (i = 0; i < FL_PROTO_COUNT; i = j) {
		c = &fl_proto_cmds[i];
		j = i + 1;
		if (strcmp(c->object, object))
			continue;
		last_word(c->words, &plen);
		/* how many neighbours share the parent words and synopsis */
		while (j < FL_PROTO_COUNT && *c->synopsis && *c->words) {
			next = &fl_proto_cmds[j];
			last_word(next->words, &nplen);
			if (strcmp(next->object, object) ||
			    strcmp(next->synopsis, c->synopsis) ||
			    nplen != plen ||
			    strncmp(next->words, c->words, plen))
				break;
			j++;
		}
		indent = printf("%s%s %s", first ? "Usage: " : "       ",
				prog_name, object);
		if (j - i > 1) {
			indent += printf(" %.*s%s{", (int)plen, c->words,
					 plen ? " " : "");
			for (; i < j; i++)
				indent +=
					printf(" %s%s",
					       last_word(fl_proto_cmds[i].words,
							 &nplen),
					       i + 1 < j ? " |" : " }");
		} else if (*c->words) {
			indent += printf(" %s", c->words);
		}
		if (*c->synopsis) {
			indent++;
			printf(" ");
			print_synopsis(c->synopsis, indent);
		}
		printf("\n");
		first = false;
	}
	printf("       %s %s help\n", prog_name, object);
}

int object_help(const char *object)
{
	size_t i;

	if (help_as_json())
		return 0;
	print_usage(object);
	for (i = 0; i < sizeof(object_helps) / sizeof(object_helps[0]); i++) {
		if (strcmp(object_helps[i].name, object))
			continue;
		printf("\n");
		object_helps[i].help();
	}
	return 0;
}

/* flctl help --commands: every command flctl has, for test_proto.sh. */
static int list_commands(void)
{
	struct json_object *list = json_object_new_array(), *o;
	int i;

	for (i = 0; i < FL_PROTO_COUNT; i++) {
		const struct fl_proto_cmd *c = &fl_proto_cmds[i];

		if (!handlers[i])
			continue;
		if (!json_output) {
			printf("%-20s %s\n", c->request, cmd_name(c));
			continue;
		}
		o = json_object_new_object();
		json_object_object_add(o, "request",
				       json_object_new_string(c->request));
		json_object_object_add(o, "object",
				       json_object_new_string(c->object));
		json_object_object_add(o, "words",
				       json_object_new_string(c->words));
		json_object_object_add(o, "synopsis",
				       json_object_new_string(c->synopsis));
		json_object_object_add(o, "help",
				       json_object_new_string(c->help));
		json_object_array_add(list, o);
	}
	if (json_output)
		flctl_print_json(list);
	json_object_put(list);
	return 0;
}

static int dispatch(const char *object, const char *path, int argc,
		    char **argv);

static int do_help(int argc, char **argv)
{
	const struct fl_proto_cmd *c;
	int i;

	if (argc > 0 && !strcmp(argv[0], "--commands"))
		return list_commands();
	/* flctl help OBJECT == flctl OBJECT help */
	if (argc > 0 && strcmp(argv[0], "help")) {
		char *args[] = { argv[0], "help" };

		return dispatch(NULL, NULL, 2, args);
	}
	if (help_as_json())
		return 0;
	printf("Usage: %1$s [OPTIONS] OBJECT { COMMAND | help }\n"
	       "       %1$s version\n"
	       "\n"
	       "OBJECT := {",
	       prog_name);
	for (i = 0; fl_proto_objects[i]; i++)
		printf(" %s%s", fl_proto_objects[i],
		       fl_proto_objects[i + 1] ? " |" : " }\n");
	printf("OPTIONS := { -j|--json [-p|--pretty] | -s|--socket PATH |\n"
	       "             -h|--help | -V|--version }\n"
	       "\n");
	for (i = 0; i < FL_PROTO_COUNT; i++) {
		int col;

		c = &fl_proto_cmds[i];
		col = printf("  %s", cmd_name(c));
		if (*c->synopsis) {
			col++;
			printf(" ");
			print_synopsis(c->synopsis, col);
			col += strlen(c->synopsis);
		}
		if (strchr(c->synopsis, '\n') || col >= HELP_COLUMN)
			printf("\n%*s%s\n", HELP_COLUMN, "", c->help);
		else
			printf("%*s%s\n", HELP_COLUMN - col, "", c->help);
	}
	printf("\n"
	       "Objects and commands may be abbreviated to a unique prefix\n"
	       "('%1$s t s' is '%1$s top src'). '%1$s OBJECT help' explains each object.\n"
	       "flctl talks to flowlensd over %2$s\n"
	       "(or $%3$s, or --socket).\n",
	       prog_name, FL_SOCKET_DEFAULT, FL_SOCKET_ENV);
	return 0;
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

/* "'X' is ambiguous: A or B?", or "unknown WHAT 'X' (expected {...})..." */
static int match_error(int idx, int first, int second, const char *kind,
		       const char *what, const char *arg,
		       const char *const *names, int n)
{
	char list[256] = "";
	int i;

	if (idx == -2)
		return usage_error("'%s' is ambiguous: %s or %s?", arg,
				   names[first], names[second]);
	for (i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
			 "%s%s", i ? " | " : "", names[i]);
	if (!what)
		return usage_error(
			"unknown %s '%s' (expected { %s }); try '%s help'",
			kind, arg, list, prog_name);
	return usage_error(
		"unknown %s '%s' for %s (expected { %s }); try '%s %s help'",
		kind, arg, what, list, prog_name, what);
}

int cmd_dispatch(const char *what, const struct cmd *cmds, int argc,
		 char **argv, int (*help)(int argc, char **argv))
{
	const char *names[FL_PROTO_WORDS_MAX];
	int i, n, idx, first, second;

	if (argc < 1)
		return help(argc, argv);
	for (n = 0; cmds[n].name && n < FL_PROTO_WORDS_MAX; n++)
		names[n] = cmds[n].name;
	idx = fl_proto_match(argv[0], names, n, &first, &second);
	if (idx < 0)
		return match_error(idx, first, second, "command", what, argv[0],
				   names, n);
	i = idx;
	return cmds[i].fn(argc - 1, argv + 1);
}

/*
 * Runs "OBJECT PATH argv...": argv[0] is matched among the words that
 * may follow PATH in the table (and "help"), until a command's words are
 * complete; the command gets the rest. With object NULL, argv[0] is the
 * object (or "help").
 */
static int dispatch(const char *object, const char *path, int argc, char **argv)
{
	struct fl_proto_words w;
	char what[64], next[64];
	int idx, first, second;

	if (!object) {
		const char *names[FL_PROTO_WORDS_MAX];
		int n;

		for (n = 0; fl_proto_objects[n]; n++)
			names[n] = fl_proto_objects[n];
		names[n++] = "help";
		if (argc < 1)
			return do_help(0, argv);
		idx = fl_proto_match(argv[0], names, n, &first, &second);
		if (idx < 0)
			return match_error(idx, first, second, "object", NULL,
					   argv[0], names, n);
		if (idx == n - 1)
			return do_help(argc - 1, argv + 1);
		return dispatch(names[idx], "", argc - 1, argv + 1);
	}

	fl_proto_next_words(object, path, &w);
	if (w.leaf)
		return handlers[w.leaf - fl_proto_cmds](w.leaf, argc, argv);
	if (argc < 1)
		return object_help(object);
	w.name[w.n++] = "help";
	snprintf(what, sizeof(what), "%s%s%s", object, *path ? " " : "", path);
	idx = fl_proto_match(argv[0], w.name, w.n, &first, &second);
	if (idx < 0)
		return match_error(idx, first, second, "command", what, argv[0],
				   w.name, w.n);
	if (idx == w.n - 1)
		return object_help(object);
	snprintf(next, sizeof(next), "%s%s%s", path, *path ? " " : "",
		 w.name[idx]);
	return dispatch(object, next, argc - 1, argv + 1);
}

int arg_none(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	if (argc)
		return usage_error("%s takes no arguments, not '%s'",
				   cmd_name(cmd), argv[0]);
	return 0;
}

int arg_unexpected(const char *what, const char *word, const char *expected)
{
	return usage_error("%s: unexpected argument '%s' (expected %s)", what,
			   word, expected);
}

bool parse_number(const char *text, long min, long max, long *value)
{
	char *end;

	errno = 0;
	*value = strtol(text, &end, 10);
	return *text && !*end && !errno && *value >= min && *value <= max;
}

int arg_number(const char *name, const char *text, long min, long max,
	       long *value)
{
	if (!parse_number(text, min, max, value))
		return usage_error("%s: '%s' is not a number from %ld to %ld",
				   name, text, min, max);
	return 0;
}

int arg_prefix(const char *text, struct fl_prefix *prefix)
{
	char err[256];

	if (fl_prefix_parse(text, prefix, err, sizeof(err)))
		return usage_error("%s", err);
	return 0;
}

int arg_address(const char *text, struct fl_prefix *addr)
{
	int ret = arg_prefix(text, addr);

	if (ret)
		return ret;
	if (addr->len != (addr->family == AF_INET ? 32 : 128))
		return usage_error("'%s' is a prefix; give one address", text);
	return 0;
}

int arg_keyword(const char *what, const char *arg, const char *const *names,
		int n)
{
	char list[256] = "";
	int i, idx, first, second;

	idx = fl_proto_match(arg, names, n, &first, &second);
	if (idx == -2)
		return usage_error("'%s' is ambiguous: %s or %s?", arg,
				   names[first], names[second]);
	if (idx >= 0)
		return idx;
	for (i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
			 "%s%s", i ? ", " : "", names[i]);
	return usage_error("unknown %s '%s' (%s)", what, arg, list);
}

struct json_object *request_new(const struct fl_proto_cmd *cmd)
{
	struct json_object *req = json_object_new_object();

	json_object_object_add(req, "cmd",
			       json_object_new_string(cmd->request));
	return req;
}

int flctl_run_words(const struct fl_proto_cmd *cmd, int argc, char **argv,
		    void (*print_text)(struct json_object *data))
{
	struct json_object *req = request_new(cmd), *words;
	int i;

	words = json_object_new_array();
	for (i = 0; i < argc; i++)
		json_object_array_add(words, json_object_new_string(argv[i]));
	json_object_object_add(req, "words", words);
	return flctl_run(req, print_text);
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

int flctl_run_plain(const struct fl_proto_cmd *cmd,
		    void (*print_text)(struct json_object *data))
{
	return flctl_run(request_new(cmd), print_text);
}

int flctl_prefix_request(const struct fl_proto_cmd *cmd, int argc, char **argv,
			 void (*print_text)(struct json_object *data))
{
	struct json_object *req;
	struct fl_prefix prefix;
	int ret;

	if (argc != 1)
		return usage_error(
			"%s needs exactly one PREFIX (e.g. 198.51.100.0/24)",
			cmd_name(cmd));
	ret = arg_prefix(argv[0], &prefix);
	if (ret)
		return ret;
	req = request_new(cmd);
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
	ret = dispatch(NULL, NULL, argc, argv);
	return ret ? EXIT_FAILURE : EXIT_SUCCESS;
}
