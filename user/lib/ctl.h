/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: the control protocol between flctl and flowlensd.
 *
 * A Unix stream socket (mode 0600). Each request is one JSON object on one
 * line, {"cmd": "NAME", ...arguments}; each reply is one line,
 * {"ok": true, "data": ...} or {"ok": false, "error": "message"}.
 */
#ifndef FL_CTL_H
#define FL_CTL_H

#include <stddef.h>
#include <json-c/json.h>

#define FL_SOCKET_DEFAULT "/run/flowlens/flowlensd.sock"
#define FL_SOCKET_ENV "FLOWLENS_SOCKET"
#define FL_CTL_LINE_MAX (1 << 30) /* longest reply line (rule list) */

/* The socket path: override if set, else $FLOWLENS_SOCKET, else default. */
const char *fl_ctl_socket_path(const char *override);

/*
 * Sends one request and waits for its reply. Returns 0 with *reply set
 * (the caller puts it), -ECONNREFUSED/-ENOENT when no daemon listens, or
 * another -errno; err says what happened.
 */
int fl_ctl_call(const char *path, struct json_object *request,
		struct json_object **reply, char *err, size_t errlen);

#endif /* FL_CTL_H */
