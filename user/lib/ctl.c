// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "io.h"

#define FL_CTL_TIMEOUT_MS 120000 /* loading a million rules takes seconds */

const char *fl_ctl_socket_path(const char *override)
{
	const char *env = getenv(FL_SOCKET_ENV);

	if (override && *override)
		return override;
	if (env && *env)
		return env;
	return FL_SOCKET_DEFAULT;
}

/* Reads up to the first newline; returns a malloc'ed string or NULL. */
static char *read_line(int fd, int *errp)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (!buf) {
		*errp = -ENOMEM;
		return NULL;
	}
	for (;;) {
		ssize_t n;
		int ready = poll(&pfd, 1, FL_CTL_TIMEOUT_MS);

		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0) {
			*errp = ready ? -errno : -ETIMEDOUT;
			break;
		}
		if (len + 1 >= cap) {
			char *bigger;

			if (cap >= FL_CTL_LINE_MAX) {
				*errp = -E2BIG;
				break;
			}
			bigger = realloc(buf, cap * 2);
			if (!bigger) {
				*errp = -ENOMEM;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*errp = n ? -errno : -ECONNRESET;
			break;
		}
		len += n;
		buf[len] = '\0';
		if (memchr(buf, '\n', len))
			return buf;
	}
	free(buf);
	return NULL;
}

int fl_ctl_call(const char *path, struct json_object *request,
		struct json_object **reply, char *err, size_t errlen)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	const char *text;
	char *line = NULL;
	int fd, ret = 0;

	*reply = NULL;
	if (strlen(path) >= sizeof(addr.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return ret;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		ret = -errno;
		snprintf(err, errlen,
			 "flowlensd is not running (cannot connect to %s: %s)",
			 path, strerror(errno));
		goto out;
	}

	text = json_object_to_json_string_ext(
		request,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	ret = fl_write_all(fd, text, strlen(text));
	if (!ret)
		ret = fl_write_all(fd, "\n", 1);
	if (ret) {
		snprintf(err, errlen, "sending to flowlensd: %s",
			 strerror(-ret));
		goto out;
	}

	line = read_line(fd, &ret);
	if (!line) {
		snprintf(err, errlen, "no reply from flowlensd: %s",
			 strerror(-ret));
		goto out;
	}
	*reply = json_tokener_parse(line);
	if (!*reply || !json_object_is_type(*reply, json_type_object)) {
		json_object_put(*reply);
		*reply = NULL;
		ret = -EPROTO;
		snprintf(err, errlen, "flowlensd sent a malformed reply");
	}
out:
	free(line);
	close(fd);
	return ret;
}
