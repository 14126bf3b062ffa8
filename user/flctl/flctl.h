/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: what flctl's objects share.
 *   flctl_<id>()    one command of the protocol table (user/lib/proto.h)
 *   object_help()   an object's help: Usage from the table, then its text
 *   cmd_dispatch()  a local choice of words by unique prefix, or help
 *   arg_*()         argument checks with one message shape each
 *   flctl_call()    one request to flowlensd; prints the error itself
 *   flctl_print_json()
 */
#ifndef FLCTL_H
#define FLCTL_H

#include <stdbool.h>
#include <json-c/json.h>

#include "prefix.h"
#include "proto.h"

extern const char *prog_name;
extern bool json_output;
extern bool pretty_output;

/*
 * The commands of the protocol table (proto.h): flctl_<id>() runs one,
 * with the words after its command words. Every entry needs one: a
 * missing handler does not link.
 */
#define FL_X_HANDLER(id, ...) \
	int flctl_##id(const struct fl_proto_cmd *cmd, int argc, char **argv);
FL_PROTO_COMMANDS(FL_X_HANDLER)
#undef FL_X_HANDLER

/*
 * What each object's help says after its Usage block (which comes from
 * the table): flctl_help_<object>() prints it.
 */
#define FL_X_HELP(object) void flctl_help_##object(void);
FL_PROTO_OBJECTS(FL_X_HELP)
#undef FL_X_HELP

/* "OBJECT help": the Usage block from the table, then the object's text.
 * Prints null for -j (help has no JSON form). Returns 0. */
int object_help(const char *object);

/* A local choice among fixed words (top { src | dst }), matched as the
 * table's commands are: exact, or a unique prefix; "help" is one too. */
struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
};

/*
 * Runs the command argv[0] names (exact, or a unique prefix) with the rest
 * of argv; with no argv, runs help. what names the level in messages.
 */
int cmd_dispatch(const char *what, const struct cmd *cmds, int argc,
		 char **argv, int (*help)(int argc, char **argv));

/* ---- argument checks, in bpftool's style: one parser, one message ---- */

/* Steps over the word just read. */
#define NEXT_ARG()      \
	({              \
		argc--; \
		argv++; \
	})
/* The command's words as a user types them: "ddos threshold add". */
const char *cmd_name(const struct fl_proto_cmd *cmd);
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* 0, or "CMD takes no arguments, not 'X'" if there are any. */
int arg_none(const struct fl_proto_cmd *cmd, int argc, char **argv);
/* "WHAT: unexpected argument 'X' (expected E)" */
int arg_unexpected(const char *what, const char *word, const char *expected);
/* A whole decimal number from min to max: true if text is one. */
bool parse_number(const char *text, long min, long max, long *value);
/* The same, or "NAME: 'X' is not a number from MIN to MAX". */
int arg_number(const char *name, const char *text, long min, long max,
	       long *value);
/* A prefix, or the parser's message ("'foo' is not an IPv4 or IPv6 ...") */
int arg_prefix(const char *text, struct fl_prefix *prefix);
/* One address: a prefix of full length, or "'X' is a prefix; give one ..." */
int arg_address(const char *text, struct fl_prefix *addr);
/*
 * @arg among @names (exact, or a unique prefix): its index, or an error:
 * "'X' is ambiguous: A or B?" or "unknown WHAT 'X' (names)".
 */
int arg_keyword(const char *what, const char *arg, const char *const *names,
		int n);

/* Sends req (consumed) and returns 0 with *data set (caller puts it). */
int flctl_call(struct json_object *req, struct json_object **data);
/*
 * Sends req (consumed) and prints the reply: as JSON with -j, else through
 * print_text. Returns 0 or the error flctl_call printed.
 */
int flctl_run(struct json_object *req,
	      void (*print_text)(struct json_object *data));
/* Sends {"cmd": request, "words": [argv...]} - flowlensd parses the
 * words and names what is wrong with them - and prints the reply. */
int flctl_run_words(const struct fl_proto_cmd *cmd, int argc, char **argv,
		    void (*print_text)(struct json_object *data));
/* Sends the command with no arguments and prints the reply. */
int flctl_run_plain(const struct fl_proto_cmd *cmd,
		    void (*print_text)(struct json_object *data));
/* "OBJECT CMD PREFIX": checks the one PREFIX, sends {"cmd": request,
 * "prefix": PREFIX} and prints the reply as flctl_run does. */
int flctl_prefix_request(const struct fl_proto_cmd *cmd, int argc, char **argv,
			 void (*print_text)(struct json_object *data));
/* Prints null for -j (help has no JSON form) and returns true then. */
bool help_as_json(void);
/* The same as flctl_call, but the error goes to err instead of being printed. */
int flctl_call_quiet(struct json_object *req, struct json_object **data,
		     char *err, size_t errlen);
/* {"cmd": the command's request name} */
struct json_object *request_new(const struct fl_proto_cmd *cmd);
void flctl_print_json(struct json_object *o);

/* Formatting for text output. */
const char *si(double value, char *buf, size_t len);
double json_get_double(struct json_object *o, const char *key);
__uint64_t json_get_u64(struct json_object *o, const char *key);
const char *json_get_str(struct json_object *o, const char *key);

#endif /* FLCTL_H */
