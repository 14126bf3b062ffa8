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

#endif /* FLOWLENSD_COMMANDS_H */
