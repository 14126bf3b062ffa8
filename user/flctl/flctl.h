/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: what flctl's objects share.
 *   cmd_dispatch()  pick a command by unique prefix, or print help
 *   flctl_call()    one request to flowlensd; prints the error itself
 *   flctl_print_json()
 */
#ifndef FLCTL_H
#define FLCTL_H

#include <stdbool.h>
#include <json-c/json.h>

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
};

extern const char *prog_name;
extern bool json_output;
extern bool pretty_output;

/*
 * Runs the command argv[0] names (exact, or a unique prefix) with the rest
 * of argv; with no argv, runs help. object is NULL at the top level.
 */
int cmd_dispatch(const char *object, const struct cmd *cmds, int argc,
		 char **argv, int (*help)(int argc, char **argv));
bool is_prefix(const char *arg, const char *full);
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Sends req (consumed) and returns 0 with *data set (caller puts it). */
int flctl_call(struct json_object *req, struct json_object **data);
/*
 * Sends req (consumed) and prints the reply: as JSON with -j, else through
 * print_text. Returns 0 or the error flctl_call printed.
 */
int flctl_run(struct json_object *req,
	      void (*print_text)(struct json_object *data));
/* "OBJECT CMD PREFIX": checks the one PREFIX, sends {"cmd": request,
 * "prefix": PREFIX} and prints the reply as flctl_run does. */
int flctl_prefix_request(const char *object, const char *cmd,
			 const char *request, int argc, char **argv,
			 void (*print_text)(struct json_object *data));
/* Prints null for -j (help has no JSON form) and returns true then. */
bool help_as_json(void);
/* The same as flctl_call, but the error goes to err instead of being printed. */
int flctl_call_quiet(struct json_object *req, struct json_object **data,
		     char *err, size_t errlen);
struct json_object *request_new(const char *cmd);
void flctl_print_json(struct json_object *o);

/* Formatting for text output. */
const char *si(double value, char *buf, size_t len);
double json_get_double(struct json_object *o, const char *key);
__uint64_t json_get_u64(struct json_object *o, const char *key);
const char *json_get_str(struct json_object *o, const char *key);

/* The objects. */
int do_show(int argc, char **argv);
/* apps.c: show apps, flows and workers */
int show_apps(int argc, char **argv);
int show_flows(int argc, char **argv);
int show_workers(int argc, char **argv);
int do_top(int argc, char **argv);
int do_protect(int argc, char **argv);
int do_rule(int argc, char **argv);
int do_ddos(int argc, char **argv);
int do_synproxy(int argc, char **argv);
int do_config(int argc, char **argv);
int do_version(int argc, char **argv);

#endif /* FLCTL_H */
