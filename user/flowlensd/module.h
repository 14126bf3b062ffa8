/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: flowlensd's modules and the one event loop that runs them.
 *
 * A module is a part of the daemon with a life of its own: it opens (and
 * registers the descriptors and timers it wants with the loop), answers its
 * control commands, runs on the 100 ms tick if it has work to do there,
 * writes its state file when asked, and closes. main.c lists the modules
 * in one table; they are opened in that order and closed in the reverse
 * order, and their ticks run in that order. Nothing else knows the order.
 *
 * Everything here runs on the control thread. A callback must not block:
 * what can take time is queued by the module itself. Modules talk through
 * the event bus (bus.h), never by reaching into each other's state.
 */
#ifndef FLOWLENSD_MODULE_H
#define FLOWLENSD_MODULE_H

#include <stdbool.h>
#include <stdint.h>

struct daemon;
struct command;

struct fl_module {
	const char *name;
	/* 0 or -errno; an error stops the daemon's start (already opened
	 * modules are closed). NULL: nothing to open. */
	int (*open)(struct daemon *d);
	/* In reverse order, for every module whose open() ran, even one
	 * that failed: close() undoes a partial open. */
	void (*close)(struct daemon *d);
	/* Runs every tick_every ticks (FL_TICK_MS each); NULL: no tick. */
	void (*tick)(struct daemon *d);
	unsigned int tick_every;
	/* Writes the module's state file now (SIGHUP, clean stop); 0 or
	 * -errno. NULL: nothing kept. */
	int (*save)(struct daemon *d);
	/* The control commands the module answers; ends with a NULL name. */
	const struct command *commands;
};

/* Descriptor and timer callbacks. events are EPOLLIN/EPOLLOUT/... */
typedef void (*loop_fd_fn)(struct daemon *d, int fd, uint32_t events,
			   void *arg);
typedef void (*loop_timer_fn)(struct daemon *d, void *arg);

/*
 * Watches fd for events (EPOLLIN, ...); fn runs on the control thread each
 * time it is ready. 0 or -errno. The caller keeps owning fd and removes it
 * with loop_del_fd() before closing it.
 */
int loop_add_fd(struct daemon *d, int fd, uint32_t events, loop_fd_fn fn,
		void *arg);
void loop_del_fd(struct daemon *d, int fd);

/*
 * A periodic timer (a timerfd) every interval_ms, first firing after one
 * interval. Returns its id (>= 0) for loop_del_timer(), or -errno.
 */
int loop_add_timer(struct daemon *d, unsigned int interval_ms,
		   loop_timer_fn fn, void *arg);
void loop_del_timer(struct daemon *d, int id);

/*
 * Opens every module of the table in order, runs the loop until SIGINT or
 * SIGTERM (SIGHUP saves every module's state), then closes the opened
 * modules in reverse order. 0, or the first error.
 */
int loop_run(struct daemon *d, const struct fl_module *const *modules,
	     int nr_modules);

/* Asks every module with a save() to write its state; the first error. */
int modules_save(struct daemon *d);

/* The command handler for a request name, from every module's table. */
struct command;
const struct command *modules_command(const struct daemon *d,
				      const char *name);

/* The "daemon" request (flctl show daemon): the modules in their order,
 * whether each is open, its tick, save and commands; the loop's ticks
 * and descriptors; the bus's subscribers and events published. */
struct json_object;
int loop_cmd_daemon(struct daemon *d, struct json_object *req,
		    struct json_object **data, char *err, size_t errlen);

#endif /* FLOWLENSD_MODULE_H */
