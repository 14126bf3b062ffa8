// SPDX-License-Identifier: Apache-2.0
/*
 * The event loop: one epoll instance on the control thread. Signals come
 * in through a signalfd, the 100 ms tick and every module's timers through
 * timerfds, and the control socket, its clients and the workers' rings
 * through descriptors the modules register. Modules are opened in their
 * table's order and closed in reverse (module.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "daemon.h"
#include "log.h"
#include "module.h"
#include "proto.h"

#define LOOP_WATCHES_MAX 256
#define LOOP_EVENTS 32

struct watch {
	int fd; /* -1: free */
	loop_fd_fn fn;
	void *arg;
	/* a timer: its callback (fn is the loop's own timer reader) */
	loop_timer_fn timer_fn;
};

struct loop {
	int epoll_fd;
	struct watch watches[LOOP_WATCHES_MAX];
	int nr_watches; /* high-water mark of used slots */
	unsigned long ticks; /* d->ticks is the rates module's */
	double tick_seconds; /* every tick's modules, summed (CLOCK_MONOTONIC) */
	double tick_last, tick_max; /* the last tick's, the longest */
	bool stop;
};

static struct watch *watch_find(struct loop *l, int fd)
{
	int i;

	for (i = 0; i < l->nr_watches; i++)
		if (l->watches[i].fd == fd)
			return &l->watches[i];
	return NULL;
}

static int watch_add(struct daemon *d, int fd, uint32_t events, loop_fd_fn fn,
		     loop_timer_fn timer_fn, void *arg)
{
	struct loop *l = d->loop;
	struct epoll_event ev = { .events = events };
	struct watch *w;
	int i;

	if (!l)
		return -EINVAL;
	if (watch_find(l, fd))
		return -EEXIST;
	for (i = 0; i < l->nr_watches; i++)
		if (l->watches[i].fd < 0)
			break;
	if (i == LOOP_WATCHES_MAX)
		return -ENOSPC;
	w = &l->watches[i];
	ev.data.ptr = w;
	if (epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	*w = (struct watch){ .fd = fd, .fn = fn, .arg = arg,
			     .timer_fn = timer_fn };
	if (i == l->nr_watches)
		l->nr_watches++;
	return 0;
}

int loop_add_fd(struct daemon *d, int fd, uint32_t events, loop_fd_fn fn,
		void *arg)
{
	return watch_add(d, fd, events, fn, NULL, arg);
}

void loop_del_fd(struct daemon *d, int fd)
{
	struct watch *w;

	if (!d->loop || !(w = watch_find(d->loop, fd)))
		return;
	epoll_ctl(d->loop->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
	w->fd = -1;
}

static void timer_ready(struct daemon *d, int fd, uint32_t events, void *arg)
{
	struct watch *w = watch_find(d->loop, fd);
	__u64 expirations;

	/* Several missed expirations still run the callback once: a tick
	 * measures its own interval (rates.c), it never counts them. */
	if (read(fd, &expirations, sizeof(expirations)) <= 0 || !w)
		return;
	w->timer_fn(d, arg);
}

int loop_add_timer(struct daemon *d, unsigned int interval_ms,
		   loop_timer_fn fn, void *arg)
{
	struct itimerspec spec = {
		.it_interval = { interval_ms / 1000,
				 (interval_ms % 1000) * 1000000L },
	};
	int fd, err;

	spec.it_value = spec.it_interval;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (timerfd_settime(fd, 0, &spec, NULL)) {
		err = -errno;
		close(fd);
		return err;
	}
	err = watch_add(d, fd, EPOLLIN, timer_ready, fn, arg);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

void loop_del_timer(struct daemon *d, int id)
{
	if (id < 0)
		return;
	loop_del_fd(d, id);
	close(id);
}

int modules_save(struct daemon *d)
{
	int i, err, first = 0;

	for (i = 0; i < d->nr_opened; i++) {
		if (!d->modules[i]->save)
			continue;
		err = d->modules[i]->save(d);
		if (err && !first)
			first = err;
	}
	return first;
}

const struct command *modules_command(const struct daemon *d,
				      const char *name)
{
	const struct command *c;
	int i;

	/* Only what the protocol table defines is served. */
	if (!fl_proto_find(name))
		return NULL;
	for (i = 0; i < d->nr_opened; i++)
		for (c = d->modules[i]->commands; c && c->name; c++)
			if (!strcmp(c->name, name))
				return c;
	return NULL;
}

/* flctl show daemon: the modules in their order, the loop, the bus. */
int loop_cmd_daemon(struct daemon *d, struct json_object *req,
		    struct json_object **data, char *err, size_t errlen)
{
	struct json_object *mods = json_object_new_array(), *o, *loop;
	const struct command *c;
	int i, n, watches = 0;

	for (i = 0; i < d->nr_modules; i++) {
		const struct fl_module *m = d->modules[i];

		for (n = 0, c = m->commands; c && c->name; c++)
			n++;
		o = json_object_new_object();
		json_object_object_add(o, "name",
				       json_object_new_string(m->name));
		json_object_object_add(o, "open", json_object_new_boolean(
							  i < d->nr_opened));
		json_object_object_add(
			o, "tick_ms",
			json_object_new_int(m->tick ? FL_TICK_MS *
							      (m->tick_every ?: 1) :
						      0));
		json_object_object_add(o, "saves",
				       json_object_new_boolean(m->save != NULL));
		json_object_object_add(o, "commands", json_object_new_int(n));
		json_object_array_add(mods, o);
	}
	for (i = 0; i < d->loop->nr_watches; i++)
		if (d->loop->watches[i].fd >= 0)
			watches++;
	loop = json_object_new_object();
	json_object_object_add(loop, "ticks",
			       json_object_new_uint64(d->loop->ticks));
	json_object_object_add(loop, "descriptors",
			       json_object_new_int(watches));
	json_object_object_add(loop, "tick_seconds",
			       json_object_new_double(d->loop->tick_seconds));
	json_object_object_add(loop, "tick_last_seconds",
			       json_object_new_double(d->loop->tick_last));
	json_object_object_add(loop, "tick_max_seconds",
			       json_object_new_double(d->loop->tick_max));
	*data = json_object_new_object();
	json_object_object_add(*data, "modules", mods);
	json_object_object_add(*data, "loop", loop);
	json_object_object_add(*data, "bus", bus_json(d));
	return 0;
}

/* The 100 ms tick: every module's tick, in the table's order. */
static double monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void tick(struct daemon *d, void *arg)
{
	double t0 = monotonic_s(), dt;
	int i;

	d->loop->ticks++;
	for (i = 0; i < d->nr_opened; i++) {
		const struct fl_module *m = d->modules[i];

		if (m->tick && d->loop->ticks % (m->tick_every ?: 1) == 0)
			m->tick(d);
	}
	/* what the tick took: flctl show daemon, /metrics */
	dt = monotonic_s() - t0;
	d->loop->tick_seconds += dt;
	d->loop->tick_last = dt;
	if (dt > d->loop->tick_max)
		d->loop->tick_max = dt;
}

static void signal_ready(struct daemon *d, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		pr_info("SIGHUP: saving state");
		modules_save(d);
		return;
	}
	pr_info("%s: shutting down", strsignal(si.ssi_signo));
	d->loop->stop = true;
}

static int loop_wait(struct daemon *d)
{
	struct epoll_event events[LOOP_EVENTS];
	struct loop *l = d->loop;
	int n, i;

	while (!l->stop) {
		n = epoll_wait(l->epoll_fd, events, LOOP_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			pr_err("epoll_wait: %s", strerror(errno));
			return -errno;
		}
		for (i = 0; i < n && !l->stop; i++) {
			struct watch *w = events[i].data.ptr;

			/* an earlier callback of this batch may have
			 * removed it */
			if (w->fd >= 0)
				w->fn(d, w->fd, events[i].events, w->arg);
		}
	}
	return 0;
}

int loop_run(struct daemon *d, const struct fl_module *const *modules,
	     int nr_modules)
{
	struct loop *l = calloc(1, sizeof(*l));
	int sig_fd = -1, tick_id = -1, err = 0, i;
	sigset_t mask;

	if (!l)
		return -ENOMEM;
	for (i = 0; i < LOOP_WATCHES_MAX; i++)
		l->watches[i].fd = -1;
	l->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epoll_fd < 0) {
		err = -errno;
		free(l);
		return err;
	}
	d->loop = l;
	d->modules = modules;
	d->nr_modules = nr_modules;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sig_fd < 0 ||
	    (err = loop_add_fd(d, sig_fd, EPOLLIN, signal_ready, NULL))) {
		err = err ?: -errno;
		pr_err("cannot set up signals: %s", strerror(-err));
		goto out;
	}

	for (d->nr_opened = 0; d->nr_opened < nr_modules; d->nr_opened++) {
		const struct fl_module *m = modules[d->nr_opened];

		pr_debug("opening %s", m->name);
		err = m->open ? m->open(d) : 0;
		if (err) {
			d->nr_opened++; /* its close() undoes a partial open */
			goto out;
		}
	}

	tick_id = loop_add_timer(d, FL_TICK_MS, tick, NULL);
	if (tick_id < 0) {
		err = tick_id;
		pr_err("cannot set up the tick: %s", strerror(-err));
		goto out;
	}
	err = loop_wait(d);
out:
	loop_del_timer(d, tick_id);
	while (d->nr_opened > 0) {
		const struct fl_module *m = modules[--d->nr_opened];

		pr_debug("closing %s", m->name);
		if (m->close)
			m->close(d);
	}
	if (sig_fd >= 0) {
		loop_del_fd(d, sig_fd);
		close(sig_fd);
	}
	close(l->epoll_fd);
	free(l);
	d->loop = NULL;
	return err;
}
