// SPDX-License-Identifier: Apache-2.0
/*
 * The control socket: a Unix stream socket, mode 0600, one JSON request and
 * one JSON reply per line (see user/lib/ctl.h). Clients are served from the
 * main loop without blocking it: each has a buffer that fills until a
 * newline arrives.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "commands.h"
#include "daemon.h"
#include "log.h"
#include "module.h"

#define MAX_CLIENTS 16
#define REQUEST_MAX 65536

struct client {
	int fd;
	size_t len;
	char buf[REQUEST_MAX];
};

static struct client *clients[MAX_CLIENTS];

static int make_parent_dir(const char *path)
{
	char *copy = strdup(path);
	int err = 0;

	if (!copy)
		return -ENOMEM;
	if (mkdir(dirname(copy), 0700) && errno != EEXIST)
		err = -errno;
	free(copy);
	return err;
}

static void client_accept(struct daemon *d, int listen_fd, uint32_t events,
			  void *arg);
static void client_drop(struct daemon *d, int slot);

static int control_open(struct daemon *d)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	const char *path = d->opt.socket_path;
	int fd, err;

	/* A request flctl sends must have a handler, and the reverse. */
	err = commands_check(d->modules, d->nr_modules);
	if (err) {
		pr_err("flctl and flowlensd disagree on the commands; not starting");
		return err;
	}
	if (strlen(path) >= sizeof(addr.sun_path)) {
		pr_err("control socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);
	err = make_parent_dir(path);
	if (err) {
		pr_err("cannot create the directory of %s: %s", path,
		       strerror(-err));
		return err;
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A socket that answers belongs to a live daemon; one that does not
	 * is left over from a crash. */
	if (!connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		pr_err("another flowlensd is running (it answers on %s)", path);
		close(fd);
		return -EADDRINUSE;
	}
	unlink(path);

	/* Created 0600 from the start: no window where others could connect. */
	mode_t old = umask(0177);
	err = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old);
	if (err || listen(fd, 16)) {
		err = -errno;
		pr_err("cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return err;
	}
	chmod(path, 0600);
	err = loop_add_fd(d, fd, EPOLLIN, client_accept, NULL);
	if (err) {
		pr_err("cannot watch %s: %s", path, strerror(-err));
		close(fd);
		unlink(path);
		return err;
	}
	d->listen_fd = fd;
	pr_info("control socket %s", path);
	return 0;
}

static void control_close(struct daemon *d)
{
	int i;

	for (i = 0; i < MAX_CLIENTS; i++)
		if (clients[i])
			client_drop(d, i);
	if (d->listen_fd >= 0) {
		loop_del_fd(d, d->listen_fd);
		close(d->listen_fd);
		unlink(d->opt.socket_path);
		d->listen_fd = -1;
	}
}

static void client_drop(struct daemon *d, int slot)
{
	loop_del_fd(d, clients[slot]->fd);
	close(clients[slot]->fd);
	free(clients[slot]);
	clients[slot] = NULL;
}

static void reply_send(int fd, struct json_object *reply)
{
	const char *text = json_object_to_json_string_ext(
		reply, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t len = strlen(text);
	int flags = fcntl(fd, F_GETFL);

	/* Replies are small; write them whole rather than buffer them. */
	fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1)
		pr_debug("control client went away before its reply");
	fcntl(fd, F_SETFL, flags);
}

static struct json_object *request_run(struct daemon *d, const char *line)
{
	struct json_object *reply = json_object_new_object();
	struct json_object *req, *cmd, *data = NULL;
	char err[512] = "";
	const struct command *c = NULL;
	int ret;

	req = json_tokener_parse(line);
	if (!req || !json_object_is_type(req, json_type_object) ||
	    !json_object_object_get_ex(req, "cmd", &cmd) ||
	    !json_object_is_type(cmd, json_type_string)) {
		snprintf(err, sizeof(err),
			 "request is not a JSON object with a \"cmd\" string");
		ret = -EINVAL;
	} else if (!(c = modules_command(d, json_object_get_string(cmd)))) {
		snprintf(err, sizeof(err), "unknown command \"%s\"",
			 json_object_get_string(cmd));
		ret = -EINVAL;
	} else {
		ret = c->fn(d, req, &data, err, sizeof(err));
		if (ret && !err[0])
			snprintf(err, sizeof(err), "%s", strerror(-ret));
	}

	json_object_object_add(reply, "ok", json_object_new_boolean(!ret));
	if (ret) {
		json_object_object_add(reply, "error",
				       json_object_new_string(err));
		json_object_put(data);
	} else {
		json_object_object_add(reply, "data",
				       data ?: json_object_new_object());
	}
	json_object_put(req);
	return reply;
}

static void client_read(struct daemon *d, int slot)
{
	struct client *c = clients[slot];
	char *nl;
	ssize_t n;

	n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_drop(d, slot);
		return;
	}
	c->len += n;
	c->buf[c->len] = '\0';

	while ((nl = memchr(c->buf, '\n', c->len))) {
		struct json_object *reply;
		size_t used = nl - c->buf + 1;

		*nl = '\0';
		reply = request_run(d, c->buf);
		reply_send(c->fd, reply);
		json_object_put(reply);
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
		c->buf[c->len] = '\0';
	}
	if (c->len == sizeof(c->buf) - 1) {
		pr_warn("control request longer than %d bytes; dropping the client",
			REQUEST_MAX);
		client_drop(d, slot);
	}
}

static void client_ready(struct daemon *d, int fd, uint32_t events,
			 void *arg)
{
	int slot = (int)(long)arg;

	if (clients[slot] && clients[slot]->fd == fd)
		client_read(d, slot);
}

static void client_accept(struct daemon *d, int listen_fd, uint32_t events,
			  void *arg)
{
	int fd, i;

	fd = accept4(d->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (i = 0; i < MAX_CLIENTS; i++) {
		if (clients[i])
			continue;
		clients[i] = calloc(1, sizeof(*clients[i]));
		if (!clients[i])
			break;
		clients[i]->fd = fd;
		if (!loop_add_fd(d, fd, EPOLLIN, client_ready, (void *)(long)i))
			return;
		free(clients[i]);
		clients[i] = NULL;
		break;
	}
	pr_warn("too many control clients; refusing one");
	close(fd);
}

const struct fl_module control_module = {
	.name = "control",
	.open = control_open,
	.close = control_close,
	.commands = control_commands,
};
