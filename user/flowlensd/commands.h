/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: flowlensd's commands held against the protocol table
 * (user/lib/proto.h).
 *   commands_check()  at start: every table entry has one handler, every
 *                     handler an entry; else each mismatch is logged and
 *                     flowlensd does not start (-EPROTO)
 *   commands_list()   flowlensd --list-commands: each handler's request
 *                     and the flctl words the table gives it
 */
#ifndef FLOWLENSD_COMMANDS_H
#define FLOWLENSD_COMMANDS_H

#include <stdio.h>

struct fl_module;
/* Over the handlers of main.c's modules (their commands tables). */
int commands_check(const struct fl_module *const *modules, int n);
void commands_list(FILE *out, const struct fl_module *const *modules, int n);

/*
 * A request's "words" (flctl sends the command's arguments as they were
 * typed, for the handler to parse): up to @max strings into @words, owned
 * by @req. Their number, or -EINVAL/-E2BIG with @err saying why.
 */
struct json_object;
int command_words(struct json_object *req, char **words, int max, char *err,
		  size_t errlen);

#endif /* FLOWLENSD_COMMANDS_H */
