// SPDX-License-Identifier: Apache-2.0
/*
 * The bgp module: gobgpd as FlowLens's BGP speaker (bgp_priv.h says how
 * it is driven), its neighbors, and the bgp-* and flowspec-* commands.
 * What the routes become is bgp_routes.c's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <json-c/json.h>

#include "bgp_priv.h"
#include "commands.h"
#include "daemon.h"
#include "log.h"
#include "module.h"
#include "persist.h"
#include "prefix.h"

#define BGP_DIR "bgp"
#define BGP_FILE "bgp.json"
#define BGP_RESTART_DELAY 1.0 /* s after gobgpd died, doubling to 30 */
#define BGP_STATUS_EVERY 2.0 /* s between `gobgp -j neighbor` polls */
#define BGP_SWEEP_GRACE 15.0 /* s after a restart before unseen routes go */
#define BGP_JOB_TIMEOUT 10.0
/* Received paths are tagged with this community on import and never
 * exported: a peer's routes are not passed on to another peer. */
#define BGP_NO_TRANSIT "64496:1"

struct bgp *bgp_state;

static const struct fl_persist_format bgp_format = {
	.name = "flowlens-bgp",
	.version = 1,
};

static const char *const validate_names[] = {
	[BGP_VALIDATE_RFC8955] = "rfc8955",
	[BGP_VALIDATE_RFC9117] = "rfc9117",
	[BGP_VALIDATE_OFF] = "off",
};

double bgp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- child processes ---------------------------------------------------- */

/* fork + exec with stdout and stderr to a pipe we read (out_fd < 0) or to
 * out_fd; the child dies with flowlensd. */
static pid_t spawn(char *const argv[], int out_fd, int *pipe_fd)
{
	int p[2] = { -1, -1 };
	pid_t pid;

	if (out_fd < 0 && pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(p[0]);
		close(p[1]);
		return -e;
	}
	if (!pid) {
		int fd = out_fd >= 0 ? out_fd : p[1];
		int null = open("/dev/null", O_RDONLY);

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (null >= 0)
			dup2(null, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		/* a fresh process group: ^C at flowlensd's terminal is
		 * flowlensd's to handle */
		setpgid(0, 0);
		execvp(argv[0], argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (out_fd < 0) {
		close(p[1]);
		fcntl(p[0], F_SETFL, O_NONBLOCK);
		*pipe_fd = p[0];
	}
	return pid;
}

/* Reads what is there; returns 0 at EOF, 1 if more may come. */
static int proc_read(struct bgp_proc *p)
{
	for (;;) {
		ssize_t n;

		if (p->cap - p->len < 4096) {
			size_t cap = p->cap ? p->cap * 2 : 65536;
			char *buf = realloc(p->buf, cap);

			if (!buf)
				return 1;
			p->buf = buf;
			p->cap = cap;
		}
		n = read(p->fd, p->buf + p->len, p->cap - p->len - 1);
		if (n > 0) {
			p->len += n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 1;
		return 0;
	}
}

/* Stops a child: closes its pipe, reaps it; its exit status. */
static int proc_end(struct daemon *d, struct bgp_proc *p, bool kill_it)
{
	int status = -1;

	if (p->fd >= 0) {
		loop_del_fd(d, p->fd);
		close(p->fd);
		p->fd = -1;
	}
	if (p->pid > 0) {
		if (kill_it)
			kill(p->pid, SIGTERM);
		if (waitpid(p->pid, &status, 0) < 0)
			status = -1;
	}
	p->pid = 0;
	return status; /* what it wrote stays in buf until the next start */
}

/* ---- the speaker's configuration ---------------------------------------- */

static void toml_neighbor(FILE *f, const struct bgp_neighbor *n)
{
	static const char *const families[] = { "ipv4-flowspec",
						"ipv6-flowspec", "ipv4-unicast",
						"ipv6-unicast" };
	size_t i;

	fprintf(f,
		"[[neighbors]]\n  [neighbors.config]\n"
		"    neighbor-address = \"%s\"\n    peer-as = %u\n",
		n->addr, n->as);
	if (n->local_as)
		fprintf(f, "    local-as = %u\n", n->local_as);
	fprintf(f,
		"  [neighbors.timers.config]\n    hold-time = %u\n"
		"    keepalive-interval = %u\n    connect-retry = 1\n",
		n->hold, n->hold / 3 ?: 1);
	if (n->passive)
		fprintf(f, "  [neighbors.transport.config]\n"
			   "    passive-mode = true\n");
	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		fprintf(f,
			"  [[neighbors.afi-safis]]\n"
			"    [neighbors.afi-safis.config]\n"
			"      afi-safi-name = \"%s\"\n",
			families[i]);
}

/*
 * gobgpd.toml: the global AS and router id, every neighbor with both
 * FlowSpec families (and unicast, which section 6's validation reads), and
 * the policy that tags what peers send so it is never exported: this box
 * announces its own mitigations only.
 */
static int write_config(struct bgp *b)
{
	char tmp[320];
	FILE *f;
	int i;

	snprintf(tmp, sizeof(tmp), "%s.tmp", b->conf_path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f,
		"# written by flowlensd: flctl bgp changes it\n"
		"[global.config]\n  as = %u\n  router-id = \"%s\"\n"
		"  port = %d\n",
		b->as, b->router_id, b->port ? b->port : -1);
	if (b->nr_nb) {
		fprintf(f, "[global.apply-policy.config]\n"
			   "  import-policy-list = [\"flowlens-tag\"]\n"
			   "  default-import-policy = \"accept-route\"\n"
			   "  export-policy-list = [\"flowlens-no-transit\"]\n"
			   "  default-export-policy = \"accept-route\"\n"
			   "[[defined-sets.neighbor-sets]]\n"
			   "  neighbor-set-name = \"flowlens-peers\"\n"
			   "  neighbor-info-list = [");
		for (i = 0; i < b->nr_nb; i++)
			fprintf(f, "%s\"%s\"", i ? ", " : "", b->nb[i].addr);
		fprintf(f,
			"]\n[[defined-sets.bgp-defined-sets.community-sets]]\n"
			"  community-set-name = \"flowlens-received\"\n"
			"  community-list = [\"" BGP_NO_TRANSIT "\"]\n"
			"[[policy-definitions]]\n  name = \"flowlens-tag\"\n"
			"  [[policy-definitions.statements]]\n"
			"    name = \"tag\"\n"
			"    [policy-definitions.statements.conditions.match-neighbor-set]\n"
			"      neighbor-set = \"flowlens-peers\"\n"
			"      match-set-options = \"any\"\n"
			"    [policy-definitions.statements.actions]\n"
			"      route-disposition = \"accept-route\"\n"
			"    [policy-definitions.statements.actions.bgp-actions.set-community]\n"
			"      options = \"add\"\n"
			"      [policy-definitions.statements.actions.bgp-actions.set-community.set-community-method]\n"
			"        communities-list = [\"" BGP_NO_TRANSIT "\"]\n"
			"[[policy-definitions]]\n"
			"  name = \"flowlens-no-transit\"\n"
			"  [[policy-definitions.statements]]\n"
			"    name = \"received\"\n"
			"    [policy-definitions.statements.conditions.bgp-conditions.match-community-set]\n"
			"      community-set = \"flowlens-received\"\n"
			"      match-set-options = \"any\"\n"
			"    [policy-definitions.statements.actions]\n"
			"      route-disposition = \"reject-route\"\n");
	}
	for (i = 0; i < b->nr_nb; i++)
		toml_neighbor(f, &b->nb[i]);
	if (fflush(f) || fsync(fileno(f))) {
		int e = errno;

		fclose(f);
		unlink(tmp);
		return -e;
	}
	fclose(f);
	if (rename(tmp, b->conf_path))
		return -errno;
	return 0;
}

/* ---- gobgpd -------------------------------------------------------------- */

static void monitor_stop(struct daemon *d, struct bgp *b)
{
	if (b->monitor.pid || b->monitor.fd >= 0)
		proc_end(d, &b->monitor, true);
}

static void job_abort(struct daemon *d, struct bgp *b)
{
	if (b->running) {
		proc_end(d, &b->job_proc, true);
		free(b->running);
		b->running = NULL;
	}
}

static int gobgpd_start(struct daemon *d, struct bgp *b)
{
	char api[320];
	char *argv[] = {
		"gobgpd", "-f",	  b->conf_path, "--api-hosts",	   api,
		"-l",	  "info", "-p",		"--pprof-disable", NULL
	};
	int ret, log;
	pid_t pid;

	ret = write_config(b);
	if (ret) {
		pr_warn("bgp: cannot write %s: %s", b->conf_path,
			strerror(-ret));
		return ret;
	}
	snprintf(api, sizeof(api), "unix://%s", b->sock_path);
	unlink(b->sock_path); /* a killed gobgpd leaves it */
	log = open(b->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		   0600);
	if (log < 0)
		return -errno;
	pid = spawn(argv, log, NULL);
	close(log);
	if (pid < 0) {
		pr_warn("bgp: cannot start gobgpd: %s", strerror(-pid));
		return pid;
	}
	b->gobgpd = pid;
	b->gobgpd_started = bgp_now();
	b->sighup = false;
	pr_info("bgp: gobgpd started (pid %d, AS %u, router id %s, log %s)",
		pid, b->as, b->router_id, b->log_path);
	return 0;
}

static void gobgpd_stop(struct daemon *d, struct bgp *b)
{
	int status;

	if (b->gobgpd <= 0)
		return;
	kill(b->gobgpd, SIGTERM);
	waitpid(b->gobgpd, &status, 0);
	b->gobgpd = 0;
}

/* The speaker is up (again): a new stream, and what was announced goes
 * out again. */
static void speaker_restarted(struct daemon *d, struct bgp *b)
{
	monitor_stop(d, b);
	job_abort(d, b);
	b->next_monitor = bgp_now() + 0.2;
	b->sweep_at = bgp_now() + BGP_SWEEP_GRACE;
	fs_speaker_restarted(d, b);
}

/* Once a second: gobgpd still alive? If not, start it again, sooner the
 * first times. */
static void gobgpd_watch(struct daemon *d, struct bgp *b)
{
	double now = bgp_now();
	int status;

	if (b->external || !b->configured)
		return;
	if (b->gobgpd > 0 &&
	    waitpid(b->gobgpd, &status, WNOHANG) == b->gobgpd) {
		pr_warn("bgp: gobgpd (pid %d) %s %d; starting it again",
			b->gobgpd,
			WIFSIGNALED(status) ? "was killed by signal" :
					      "exited with",
			WIFSIGNALED(status) ? WTERMSIG(status) :
					      WEXITSTATUS(status));
		b->gobgpd = 0;
		b->restarts++;
		b->next_start =
			now +
			(now - b->gobgpd_started < 30 ?
				 BGP_RESTART_DELAY * (b->restarts < 5 ?
							      1 << b->restarts :
							      30) :
				 BGP_RESTART_DELAY);
		monitor_stop(d, b);
		job_abort(d, b);
	}
	if (b->gobgpd <= 0 && now >= b->next_start) {
		if (gobgpd_start(d, b) == 0)
			speaker_restarted(d, b);
		else
			b->next_start = now + 5;
	} else if (b->gobgpd > 0 && b->sighup) {
		if (write_config(b) == 0)
			kill(b->gobgpd, SIGHUP);
		b->sighup = false;
	}
}

/* ---- jobs ----------------------------------------------------------------- */

int bgp_job(struct bgp *b, enum bgp_job_kind kind, __u32 key, const char *fmt,
	    ...)
{
	struct bgp_job *j = calloc(1, sizeof(*j));
	char *save, *w;
	va_list ap;

	if (!j)
		return -ENOMEM;
	j->kind = kind;
	j->key = key;
	va_start(ap, fmt);
	vsnprintf(j->text, sizeof(j->text), fmt, ap);
	va_end(ap);
	for (w = strtok_r(j->text, " ", &save); w && j->nr_words < 63;
	     w = strtok_r(NULL, " ", &save))
		j->words[j->nr_words++] = w;
	if (b->tail)
		b->tail->next = j;
	else
		b->head = j;
	b->tail = j;
	return 0;
}

static void job_done(struct daemon *d, struct bgp *b, int status);

static void on_job_output(struct daemon *d, int fd, uint32_t events, void *arg)
{
	struct bgp *b = arg;

	(void)fd;
	(void)events;
	if (proc_read(&b->job_proc))
		return;
	job_done(d, b, proc_end(d, &b->job_proc, false));
}

static void job_next(struct daemon *d, struct bgp *b)
{
	char *argv[72];
	struct bgp_job *j;
	int i, n = 0, fd;
	pid_t pid;

	if (b->running || !b->head)
		return;
	if (!b->external && (b->gobgpd <= 0 || !b->monitor.pid))
		return; /* not before the speaker answers */
	j = b->head;
	b->head = j->next;
	if (!b->head)
		b->tail = NULL;
	argv[n++] = "gobgp";
	argv[n++] = "--target";
	argv[n++] = b->target;
	if (j->kind == JOB_STATUS)
		argv[n++] = "-j";
	for (i = 0; i < j->nr_words; i++)
		argv[n++] = j->words[i];
	argv[n] = NULL;
	pid = spawn(argv, -1, &fd);
	if (pid < 0) {
		free(j);
		return;
	}
	b->running = j;
	b->job_proc.pid = pid;
	b->job_proc.fd = fd;
	b->job_proc.len = 0;
	b->job_started = bgp_now();
	if (loop_add_fd(d, fd, EPOLLIN, on_job_output, b))
		job_done(d, b, proc_end(d, &b->job_proc, true));
}

static void status_parse(struct bgp *b, const char *out);

static void job_done(struct daemon *d, struct bgp *b, int status)
{
	struct bgp_job *j = b->running;
	bool ok = status == 0;

	b->running = NULL;
	if (!j)
		return;
	if (b->job_proc.buf)
		b->job_proc.buf[b->job_proc.len] = '\0';
	if (ok) {
		b->jobs_done++;
		if (j->kind == JOB_STATUS && b->job_proc.buf)
			status_parse(b, b->job_proc.buf);
	} else {
		char *nl;

		b->jobs_failed++;
		snprintf(b->last_error, sizeof(b->last_error), "gobgp %s: %s",
			 j->nr_words > 2 ? j->words[2] : j->words[0],
			 b->job_proc.buf ? b->job_proc.buf : "");
		nl = strchr(b->last_error, '\n');
		if (nl)
			*nl = '\0';
		if (j->kind != JOB_STATUS)
			pr_warn("bgp: %s", b->last_error);
	}
	b->job_proc.len = 0;
	free(j);
	job_next(d, b);
}

/* ---- the RIB stream -------------------------------------------------------- */

static void on_monitor(struct daemon *d, int fd, uint32_t events, void *arg)
{
	struct bgp *b = arg;
	struct bgp_proc *p = &b->monitor;
	int more = proc_read(p);
	char *line = p->buf, *nl;

	(void)fd;
	(void)events;
	if (!p->buf)
		return;
	p->buf[p->len] = '\0';
	while ((nl = strchr(line, '\n'))) {
		*nl = '\0';
		if (*line)
			fs_monitor_line(d, b, line);
		line = nl + 1;
	}
	p->len -= line - p->buf;
	memmove(p->buf, line, p->len);
	if (!more) {
		int status = proc_end(d, p, false);

		pr_info("bgp: the RIB stream ended (status %d); again in 1 s",
			status);
		b->next_monitor = bgp_now() + 1;
	}
}

static void monitor_start(struct daemon *d, struct bgp *b)
{
	char *argv[] = { "gobgp",  "--target", b->target,   "-j", "monitor",
			 "global", "rib",      "--current", NULL };
	int fd;
	pid_t pid;

	if (!b->external && b->gobgpd <= 0)
		return;
	/* gobgpd takes a moment to open its API socket */
	if (!b->external && access(b->sock_path, F_OK)) {
		b->next_monitor = bgp_now() + 0.2;
		return;
	}
	pid = spawn(argv, -1, &fd);
	if (pid < 0) {
		b->next_monitor = bgp_now() + 1;
		return;
	}
	b->monitor.pid = pid;
	b->monitor.fd = fd;
	b->monitor.len = 0;
	b->monitor_started = bgp_now();
	if (loop_add_fd(d, fd, EPOLLIN, on_monitor, b)) {
		proc_end(d, &b->monitor, true);
		b->next_monitor = bgp_now() + 1;
		return;
	}
	job_next(d, b);
}

/* ---- neighbor status ------------------------------------------------------- */

static struct json_object *json_path(struct json_object *o, const char *a,
				     const char *b)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, a, &v))
		return NULL;
	if (b && !json_object_object_get_ex(v, b, &v))
		return NULL;
	return v;
}

/* `gobgp -j neighbor`: each neighbor's state and its FlowSpec counters
 * (zeros are left out of protojson). */
static void status_parse(struct bgp *b, const char *out)
{
	struct json_object *all = json_tokener_parse(out);
	size_t i, k;
	int n;

	for (n = 0; n < b->nr_nb; n++)
		b->nb[n].seen = false;
	if (!all || !json_object_is_type(all, json_type_array)) {
		json_object_put(all);
		return;
	}
	for (i = 0; i < json_object_array_length(all); i++) {
		struct json_object *p = json_object_array_get_idx(all, i);
		struct json_object *conf = json_path(p, "conf", NULL);
		struct json_object *afs = json_path(p, "afi_safis", NULL);
		struct json_object *v;
		struct bgp_neighbor *nb;

		if (!conf ||
		    !json_object_object_get_ex(conf, "neighbor_address", &v))
			continue;
		nb = bgp_neighbor_find(b, json_object_get_string(v));
		if (!nb)
			continue;
		nb->seen = true;
		nb->state = fl_json_u64(json_path(p, "state", NULL),
					"session_state");
		/* "uptime" is when the session came up */
		v = json_path(json_path(p, "timers", "state"), "uptime",
			      "seconds");
		nb->uptime = v && nb->state == 6 &&
					     json_object_get_uint64(v) <=
						     (__u64)time(NULL) ?
				     time(NULL) - json_object_get_uint64(v) :
				     0;
		nb->received = nb->accepted = nb->advertised = 0;
		for (k = 0; afs && k < json_object_array_length(afs); k++) {
			struct json_object *st =
				json_path(json_object_array_get_idx(afs, k),
					  "state", NULL);
			struct json_object *fam = json_path(st, "family", NULL);

			if (fl_json_u64(fam, "safi") != 133)
				continue;
			nb->received += fl_json_u64(st, "received");
			nb->accepted += fl_json_u64(st, "accepted");
			nb->advertised += fl_json_u64(st, "advertised");
		}
	}
	json_object_put(all);
}

/* ---- configuration file ------------------------------------------------------ */

struct bgp_neighbor *bgp_neighbor_find(struct bgp *b, const char *addr)
{
	struct fl_prefix p;
	char err[64];
	int i;

	if (fl_prefix_parse(addr, &p, err, sizeof(err)))
		return NULL;
	for (i = 0; i < b->nr_nb; i++)
		if (b->nb[i].family == p.family &&
		    !memcmp(&b->nb[i].a, &p.addr, sizeof(p.addr)))
			return &b->nb[i];
	return NULL;
}

static struct json_object *neighbor_conf_json(const struct bgp_neighbor *n)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "address", json_object_new_string(n->addr));
	json_object_object_add(o, "as", json_object_new_int64(n->as));
	json_object_object_add(o, "local_as",
			       json_object_new_int64(n->local_as));
	json_object_object_add(o, "passive",
			       json_object_new_boolean(n->passive));
	json_object_object_add(o, "hold", json_object_new_int(n->hold));
	json_object_object_add(o, "max", json_object_new_int64(n->max));
	json_object_object_add(
		o, "validate",
		json_object_new_string(validate_names[n->validate]));
	return o;
}

static int bgp_fill(struct json_object *root, void *arg)
{
	struct bgp *b = arg;
	struct json_object *nbs = json_object_new_array();
	int i;

	json_object_object_add(root, "as", json_object_new_int64(b->as));
	json_object_object_add(root, "router_id",
			       json_object_new_string(b->router_id));
	json_object_object_add(root, "port", json_object_new_int(b->port));
	json_object_object_add(root, "announce",
			       json_object_new_boolean(b->announce));
	json_object_object_add(root, "receive",
			       json_object_new_boolean(b->receive));
	json_object_object_add(root, "receive_max",
			       json_object_new_int64(b->receive_max));
	for (i = 0; i < b->nr_nb; i++)
		json_object_array_add(nbs, neighbor_conf_json(&b->nb[i]));
	json_object_object_add(root, "neighbors", nbs);
	nbs = json_object_new_array();
	for (i = 0; i < b->nr_apps; i++)
		json_object_array_add(nbs, fs_app_json(b, i, false));
	json_object_object_add(root, "apps", nbs);
	return 0;
}

/* An application threshold as bgp.json keeps it, back into words. */
static void app_load(struct bgp *b, struct json_object *o)
{
	char *w[10], limit[24], rate[24], top[12], hold[12], err[256];
	struct json_object *v;
	int n = 0;

	if (b->nr_apps == BGP_APPS_MAX)
		return;
	w[n++] = (char *)json_object_get_string(
		json_object_object_get(o, "app"));
	w[n++] = (char *)json_object_get_string(
		json_object_object_get(o, "metric"));
	snprintf(limit, sizeof(limit), "%llu",
		 (unsigned long long)fl_json_u64(o, "limit"));
	w[n++] = limit;
	if (json_object_object_get_ex(o, "rate", &v) && v) {
		snprintf(rate, sizeof(rate), "%llu",
			 (unsigned long long)json_object_get_uint64(v));
		w[n++] = "action";
		w[n++] = "rate-limit";
		w[n++] = rate;
	}
	snprintf(top, sizeof(top), "%llu",
		 (unsigned long long)fl_json_u64(o, "top"));
	snprintf(hold, sizeof(hold), "%llu",
		 (unsigned long long)fl_json_u64(o, "hold"));
	w[n++] = "top";
	w[n++] = top;
	w[n++] = "hold";
	w[n++] = hold;
	if (!w[0] || !w[1] ||
	    fs_app_parse(b, w, n, &b->apps[b->nr_apps], err, sizeof(err))) {
		pr_warn("bgp: an application threshold in %s is not taken: %s",
			b->json_path, w[0] ? err : "no app");
		return;
	}
	b->nr_apps++;
}

static int bgp_save(struct daemon *d)
{
	(void)d;
	if (!bgp_state)
		return 0;
	return fl_persist_save(bgp_state->json_path, &bgp_format, bgp_fill,
			       bgp_state);
}

static int neighbor_set(struct bgp_neighbor *n, const char *addr, char *err,
			size_t errlen);

static void bgp_load(struct bgp *b)
{
	struct json_object *root, *v, *nbs;
	char err[256] = "";
	int version;
	size_t i;

	if (fl_persist_load(b->json_path, &bgp_format, &root, &version, err,
			    sizeof(err))) {
		if (err[0])
			pr_warn("bgp: %s", err);
		return;
	}
	b->as = fl_json_u64(root, "as");
	if (json_object_object_get_ex(root, "router_id", &v))
		snprintf(b->router_id, sizeof(b->router_id), "%s",
			 json_object_get_string(v));
	b->port = fl_json_u64(root, "port");
	if (json_object_object_get_ex(root, "announce", &v))
		b->announce = json_object_get_boolean(v);
	if (json_object_object_get_ex(root, "receive", &v))
		b->receive = json_object_get_boolean(v);
	if (json_object_object_get_ex(root, "receive_max", &v))
		b->receive_max = json_object_get_uint64(v);
	if (json_object_object_get_ex(root, "neighbors", &nbs))
		for (i = 0; i < json_object_array_length(nbs) &&
			    b->nr_nb < BGP_NEIGHBORS_MAX;
		     i++) {
			struct json_object *o =
				json_object_array_get_idx(nbs, i);
			struct bgp_neighbor *n = &b->nb[b->nr_nb];
			int k;

			if (!json_object_object_get_ex(o, "address", &v) ||
			    neighbor_set(n, json_object_get_string(v), err,
					 sizeof(err)))
				continue;
			n->as = fl_json_u64(o, "as");
			n->local_as = fl_json_u64(o, "local_as");
			n->hold = fl_json_u64(o, "hold") ?: BGP_HOLD_DEFAULT;
			n->max = fl_json_u64(o, "max");
			if (json_object_object_get_ex(o, "passive", &v))
				n->passive = json_object_get_boolean(v);
			if (json_object_object_get_ex(o, "validate", &v))
				for (k = 0; k <= BGP_VALIDATE_OFF; k++)
					if (!strcmp(json_object_get_string(v),
						    validate_names[k]))
						n->validate = k;
			b->nr_nb++;
		}
	if (json_object_object_get_ex(root, "apps", &nbs))
		for (i = 0; i < json_object_array_length(nbs); i++)
			app_load(b, json_object_array_get_idx(nbs, i));
	b->configured = b->as && b->router_id[0];
	json_object_put(root);
}

/* ---- commands ------------------------------------------------------------------ */

static int neighbor_set(struct bgp_neighbor *n, const char *addr, char *err,
			size_t errlen)
{
	struct fl_prefix p;
	char perr[128];

	memset(n, 0, sizeof(*n));
	if (fl_prefix_parse(addr, &p, perr, sizeof(perr)) ||
	    p.len != (p.family == AF_INET6 ? 128 : 32))
		return fl_errf(err, errlen, -EINVAL,
			       "bad neighbor '%s': an IPv4 or IPv6 address",
			       addr);
	n->family = p.family;
	n->a = p.addr;
	inet_ntop(p.family, &p.addr, n->addr, sizeof(n->addr));
	n->hold = BGP_HOLD_DEFAULT;
	return 0;
}

static bool parse_u32(const char *text, unsigned long min, unsigned long max,
		      __u32 *v)
{
	char *end;
	unsigned long n;

	if (!text || !*text || *text == '-')
		return false;
	errno = 0;
	n = strtoul(text, &end, 10);
	if (errno || *end || n < min || n > max)
		return false;
	*v = n;
	return true;
}

/* The first IPv4 address of this host that is not a loopback's. */
static int default_router_id(char *buf, size_t len)
{
	struct ifaddrs *ifa, *i;
	int ret = -ENOENT;

	if (getifaddrs(&ifa))
		return -errno;
	for (i = ifa; i; i = i->ifa_next) {
		struct sockaddr_in *sin = (void *)i->ifa_addr;

		if (!sin || sin->sin_family != AF_INET ||
		    (ntohl(sin->sin_addr.s_addr) >> 24) == 127)
			continue;
		inet_ntop(AF_INET, &sin->sin_addr, buf, len);
		ret = 0;
		break;
	}
	freeifaddrs(ifa);
	return ret;
}

static void neighbor_changed(struct bgp *b)
{
	if (b->external)
		return;
	if (b->gobgpd > 0)
		b->sighup = true;
	else
		b->next_start = 0;
}

/* bgp neighbor add ADDR as N [local-as N] [router-id ID] [passive]
 *                  [hold S] [max N] [validate rfc8955|rfc9117|off] */
static int cmd_neighbor_add(struct daemon *d, struct json_object *req,
			    struct json_object **data, char *err, size_t errlen)
{
	struct bgp *b = bgp_state;
	struct bgp_neighbor n, *old;
	char *w[32], rid[16] = "";
	__u32 local_as = 0;
	bool have_as = false;
	int nw, i, k;

	(void)d;
	nw = command_words(req, w, 32, err, errlen);
	if (nw < 0)
		return nw;
	if (nw < 1)
		return fl_errf(err, errlen, -EINVAL,
			       "bgp neighbor add needs ADDR as N");
	if (neighbor_set(&n, w[0], err, errlen))
		return -EINVAL;
	for (i = 1; i < nw; i++) {
		const char *kw = w[i], *arg = i + 1 < nw ? w[i + 1] : NULL;

		if (!strcmp(kw, "passive")) {
			n.passive = true;
			continue;
		}
		if (!arg)
			return fl_errf(err, errlen, -EINVAL,
				       "'%s' needs a value", kw);
		i++;
		if (!strcmp(kw, "as")) {
			if (!parse_u32(arg, 1, 4294967295UL, &n.as))
				return fl_errf(
					err, errlen, -EINVAL,
					"bad as '%s': an AS number 1-4294967295",
					arg);
			have_as = true;
		} else if (!strcmp(kw, "local-as")) {
			if (!parse_u32(arg, 1, 4294967295UL, &local_as))
				return fl_errf(
					err, errlen, -EINVAL,
					"bad local-as '%s': an AS number 1-4294967295",
					arg);
		} else if (!strcmp(kw, "router-id")) {
			struct in_addr a;

			if (inet_pton(AF_INET, arg, &a) != 1)
				return fl_errf(
					err, errlen, -EINVAL,
					"bad router-id '%s': an IPv4 address",
					arg);
			snprintf(rid, sizeof(rid), "%s", arg);
		} else if (!strcmp(kw, "hold")) {
			if (!parse_u32(arg, 3, 65535, &n.hold))
				return fl_errf(
					err, errlen, -EINVAL,
					"bad hold '%s': seconds, 3-65535", arg);
		} else if (!strcmp(kw, "max")) {
			if (!parse_u32(arg, 1, 1000000, &n.max))
				return fl_errf(
					err, errlen, -EINVAL,
					"bad max '%s': routes, 1-1000000", arg);
		} else if (!strcmp(kw, "validate")) {
			for (k = 0; k <= BGP_VALIDATE_OFF; k++)
				if (!strcmp(arg, validate_names[k]))
					break;
			if (k > BGP_VALIDATE_OFF)
				return fl_errf(
					err, errlen, -EINVAL,
					"bad validate '%s': rfc8955, rfc9117 or off",
					arg);
			n.validate = k;
		} else {
			return fl_errf(
				err, errlen, -EINVAL,
				"unexpected '%s' (expected as, local-as, router-id, passive, hold, max or validate)",
				kw);
		}
	}
	if (!have_as)
		return fl_errf(
			err, errlen, -EINVAL,
			"bgp neighbor add %s needs 'as N', the peer's AS",
			n.addr);
	if (!b->as && !local_as)
		return fl_errf(
			err, errlen, -EINVAL,
			"this box has no AS yet: give 'local-as N' with the first neighbor");
	if (!rid[0] && !b->router_id[0] && default_router_id(rid, sizeof(rid)))
		return fl_errf(
			err, errlen, -EINVAL,
			"no IPv4 address to take a router id from: give 'router-id A.B.C.D'");
	old = bgp_neighbor_find(b, n.addr);
	if (!old && b->nr_nb == BGP_NEIGHBORS_MAX)
		return fl_errf(err, errlen, -ENOSPC, "%d neighbors already",
			       BGP_NEIGHBORS_MAX);
	if (!b->as) {
		b->as = local_as;
	} else if (local_as && local_as != b->as) {
		n.local_as = local_as;
	}
	if (rid[0] && strcmp(rid, b->router_id)) {
		bool restart = b->router_id[0] && b->gobgpd > 0;

		snprintf(b->router_id, sizeof(b->router_id), "%s", rid);
		if (restart) /* gobgpd takes a router id only at start */
			gobgpd_stop(d, b);
	}
	if (old) {
		n.installed = old->installed;
		*old = n;
	} else
		b->nb[b->nr_nb++] = n;
	b->configured = true;
	if (b->external)
		bgp_job(b, JOB_NEIGHBOR, 0,
			"neighbor add %s as %u%s%.0u family ipv4-flowspec,ipv6-flowspec,ipv4-unicast,ipv6-unicast",
			n.addr, n.as, n.local_as ? " local-as " : "",
			n.local_as);
	neighbor_changed(b);
	bgp_save(d);
	*data = json_object_new_object();
	json_object_object_add(*data, "neighbor", neighbor_conf_json(&n));
	json_object_object_add(*data, "updated",
			       json_object_new_boolean(old != NULL));
	job_next(d, b);
	return 0;
}

static int cmd_neighbor_del(struct daemon *d, struct json_object *req,
			    struct json_object **data, char *err, size_t errlen)
{
	struct bgp *b = bgp_state;
	struct bgp_neighbor *n;
	char *w[4], addr[48];
	int nw;

	nw = command_words(req, w, 4, err, errlen);
	if (nw < 0)
		return nw;
	if (nw != 1)
		return fl_errf(err, errlen, -EINVAL,
			       "bgp neighbor del needs one address");
	n = bgp_neighbor_find(b, w[0]);
	if (!n)
		return fl_errf(err, errlen, -ENOENT, "no neighbor %s", w[0]);
	snprintf(addr, sizeof(addr), "%s", n->addr);
	*data = json_object_new_object();
	json_object_object_add(*data, "neighbor", neighbor_conf_json(n));
	*n = b->nb[--b->nr_nb];
	if (b->external)
		bgp_job(b, JOB_NEIGHBOR, 0, "neighbor del %s", addr);
	fs_drop_received(d, b, addr);
	neighbor_changed(b);
	bgp_save(d);
	job_next(d, b);
	return 0;
}

static const char *state_name(int state)
{
	static const char *const names[] = { "unknown",	   "idle",
					     "connect",	   "active",
					     "opensent",   "openconfirm",
					     "established" };

	return state >= 0 && state <= 6 ? names[state] : "unknown";
}

static int cmd_status(struct daemon *d, struct json_object *req,
		      struct json_object **data, char *err, size_t errlen)
{
	struct bgp *b = bgp_state;
	struct json_object *o = json_object_new_object(), *nbs, *sp;
	struct fs_received *r, *tmp;
	int i;

	(void)d;
	(void)req;
	(void)err;
	(void)errlen;
	sp = json_object_new_object();
	json_object_object_add(sp, "managed",
			       json_object_new_boolean(!b->external));
	json_object_object_add(sp, "target", json_object_new_string(b->target));
	json_object_object_add(sp, "running",
			       json_object_new_boolean(b->external ||
						       b->gobgpd > 0));
	json_object_object_add(sp, "pid", json_object_new_int(b->gobgpd));
	json_object_object_add(sp, "restarts",
			       json_object_new_int(b->restarts));
	json_object_object_add(sp, "streaming",
			       json_object_new_boolean(b->monitor.pid > 0));
	json_object_object_add(sp, "jobs_queued",
			       json_object_new_boolean(b->head != NULL));
	json_object_object_add(sp, "jobs_done",
			       json_object_new_uint64(b->jobs_done));
	json_object_object_add(sp, "jobs_failed",
			       json_object_new_uint64(b->jobs_failed));
	json_object_object_add(sp, "last_error",
			       b->last_error[0] ?
				       json_object_new_string(b->last_error) :
				       NULL);
	json_object_object_add(
		sp, "log",
		b->external ? NULL : json_object_new_string(b->log_path));
	json_object_object_add(o, "speaker", sp);
	json_object_object_add(o, "as", json_object_new_int64(b->as));
	json_object_object_add(o, "router_id",
			       json_object_new_string(b->router_id));
	json_object_object_add(o, "announce",
			       json_object_new_boolean(b->announce));
	json_object_object_add(o, "receive",
			       json_object_new_boolean(b->receive));
	json_object_object_add(o, "receive_max",
			       json_object_new_int64(b->receive_max));
	nbs = json_object_new_array();
	for (i = 0; i < b->nr_nb; i++) {
		struct bgp_neighbor *n = &b->nb[i];
		struct json_object *no = neighbor_conf_json(n);
		__u64 installed = 0, refused = 0;

		HASH_ITER(hh, b->received, r, tmp) {
			if (strcmp(r->peer, n->addr))
				continue;
			installed += r->status == FS_ST_INSTALLED;
			refused += r->status == FS_ST_REFUSED;
		}
		json_object_object_add(
			no, "state",
			json_object_new_string(n->seen ? state_name(n->state) :
							 "unknown"));
		json_object_object_add(no, "uptime",
				       json_object_new_uint64(n->uptime));
		json_object_object_add(no, "routes_received",
				       json_object_new_uint64(n->received));
		json_object_object_add(no, "routes_accepted",
				       json_object_new_uint64(n->accepted));
		json_object_object_add(no, "routes_advertised",
				       json_object_new_uint64(n->advertised));
		json_object_object_add(no, "routes_installed",
				       json_object_new_uint64(installed));
		json_object_object_add(no, "routes_refused",
				       json_object_new_uint64(refused));
		json_object_array_add(nbs, no);
	}
	json_object_object_add(o, "neighbors", nbs);
	json_object_object_add(o, "flowspec", fs_counts_json(b));
	*data = o;
	return 0;
}

static int on_off(const char *w, bool *v)
{
	if (!strcmp(w, "on"))
		*v = true;
	else if (!strcmp(w, "off"))
		*v = false;
	else
		return -EINVAL;
	return 0;
}

static int cmd_announce(struct daemon *d, struct json_object *req,
			struct json_object **data, char *err, size_t errlen)
{
	struct bgp *b = bgp_state;
	char *w[4];
	bool on;
	int nw;

	nw = command_words(req, w, 4, err, errlen);
	if (nw < 0)
		return nw;
	if (nw != 1 || on_off(w[0], &on))
		return fl_errf(err, errlen, -EINVAL,
			       "flowspec announce takes on or off");
	if (on != b->announce) {
		b->announce = on;
		if (on) {
			fs_announce_all(d, b);
		} else {
			int i;

			fs_withdraw_all(d, b);
			for (i = 0; i < b->nr_apps; i++) {
				b->apps[i].nr_endpoints = 0;
				b->apps[i].next_rank = 0;
			}
		}
		bgp_save(d);
	}
	*data = json_object_new_object();
	json_object_object_add(*data, "announce", json_object_new_boolean(on));
	json_object_object_add(*data, "announced",
			       json_object_new_int(HASH_COUNT(b->announced)));
	job_next(d, b);
	return 0;
}

static int cmd_receive(struct daemon *d, struct json_object *req,
		       struct json_object **data, char *err, size_t errlen)
{
	struct bgp *b = bgp_state;
	__u32 max = b->receive_max;
	char *w[4];
	bool on;
	int nw;

	nw = command_words(req, w, 4, err, errlen);
	if (nw < 0)
		return nw;
	if (nw < 1 || on_off(w[0], &on))
		return fl_errf(err, errlen, -EINVAL,
			       "flowspec receive takes on or off, then max N");
	if (nw > 1 && (nw != 3 || strcmp(w[1], "max") ||
		       !parse_u32(w[2], 1, 1000000, &max)))
		return fl_errf(
			err, errlen, -EINVAL,
			nw == 3 && !strcmp(w[1], "max") ?
				"bad max '%s': routes per peer, 1-1000000" :
				"flowspec receive %s: expected 'max N' after it",
			nw == 3 ? w[2] : w[0]);
	if (on != b->receive || max != b->receive_max) {
		b->receive = on;
		b->receive_max = max;
		if (on)
			fs_reevaluate(d, b);
		else
			fs_drop_received(d, b, NULL);
		bgp_save(d);
	}
	*data = json_object_new_object();
	json_object_object_add(*data, "receive", json_object_new_boolean(on));
	json_object_object_add(*data, "max", json_object_new_int64(max));
	return 0;
}

static int by_id(const void *a, const void *b)
{
	const struct fs_received *x = *(const struct fs_received *const *)a;
	const struct fs_received *y = *(const struct fs_received *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int cmd_list(struct daemon *d, struct json_object *req,
		    struct json_object **data, char *err, size_t errlen)
{
	struct bgp *b = bgp_state;
	bool rx = true, tx = true;
	struct fs_received *r, *rt, **v;
	struct fs_announced *a, *at;
	struct json_object *o, *arr;
	char *w[4];
	size_t n = 0, i;
	int nw;

	(void)d;
	nw = command_words(req, w, 4, err, errlen);
	if (nw < 0)
		return nw;
	if (nw > 1 || (nw == 1 && strcmp(w[0], "--received") &&
		       strcmp(w[0], "--announced")))
		return fl_errf(err, errlen, -EINVAL,
			       "flowspec list takes --received or --announced");
	if (nw == 1) {
		rx = !strcmp(w[0], "--received");
		tx = !rx;
	}
	o = json_object_new_object();
	if (rx) {
		v = calloc(HASH_CNT(hh, b->received) + 1, sizeof(*v));
		arr = json_object_new_array();
		HASH_ITER(hh, b->received, r, rt)
			if (v)
				v[n++] = r;
		if (v)
			qsort(v, n, sizeof(*v), by_id);
		for (i = 0; i < n; i++)
			json_object_array_add(arr, fs_received_json(v[i]));
		free(v);
		json_object_object_add(o, "received", arr);
	}
	if (tx) {
		arr = json_object_new_array();
		HASH_ITER(hh, b->announced, a, at)
			json_object_array_add(arr, fs_announced_json(a));
		json_object_object_add(o, "announced", arr);
	}
	*data = o;
	return 0;
}

/* flowspec app [APP { bps | pps } RATE [action ...] [top N] [hold S] |
 * APP off] */
static int cmd_app(struct daemon *d, struct json_object *req,
		   struct json_object **data, char *err, size_t errlen)
{
	struct bgp *b = bgp_state;
	struct json_object *arr;
	struct bgp_app a;
	char *w[16];
	int nw, i;

	nw = command_words(req, w, 16, err, errlen);
	if (nw < 0)
		return nw;
	if (nw == 2 && !strcmp(w[1], "off")) {
		for (i = 0; i < b->nr_apps; i++)
			if (!strcasecmp(b->apps[i].name, w[0]))
				break;
		if (i == b->nr_apps)
			return fl_errf(err, errlen, -ENOENT,
				       "no threshold for application '%s'",
				       w[0]);
		*data = json_object_new_object();
		json_object_object_add(*data, "removed",
				       fs_app_json(b, i, false));
		fs_app_del(b, i);
		bgp_save(d);
		job_next(d, b);
		return 0;
	}
	if (nw) {
		if (fs_app_parse(b, w, nw, &a, err, errlen))
			return -EINVAL;
		for (i = 0; i < b->nr_apps; i++)
			if (b->apps[i].id == a.id)
				break;
		if (i == BGP_APPS_MAX)
			return fl_errf(err, errlen, -ENOSPC,
				       "%d application thresholds already",
				       BGP_APPS_MAX);
		if (i < b->nr_apps) {
			/* a new limit: what it announced goes first */
			fs_app_del(b, i);
			i = b->nr_apps;
		}
		b->apps[b->nr_apps++] = a;
		bgp_save(d);
	}
	*data = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0; i < b->nr_apps; i++)
		json_object_array_add(arr, fs_app_json(b, i, true));
	json_object_object_add(*data, "apps", arr);
	json_object_object_add(*data, "announce",
			       json_object_new_boolean(b->announce));
	return 0;
}

static const struct command bgp_commands[] = {
	{ "flowspec-app", cmd_app },
	{ "bgp-neighbor-add", cmd_neighbor_add },
	{ "bgp-neighbor-del", cmd_neighbor_del },
	{ "bgp-status", cmd_status },
	{ "flowspec-announce", cmd_announce },
	{ "flowspec-receive", cmd_receive },
	{ "flowspec-list", cmd_list },
	{},
};

/* ---- the module ------------------------------------------------------------------ */

static void bgp_tick(struct daemon *d)
{
	struct bgp *b = bgp_state;
	double now = bgp_now();

	if (!b)
		return;
	gobgpd_watch(d, b);
	if (!b->monitor.pid && (b->external || b->gobgpd > 0) &&
	    now >= b->next_monitor)
		monitor_start(d, b);
	if (b->running && now - b->job_started > BGP_JOB_TIMEOUT) {
		pr_warn("bgp: gobgp %s took over %.0f s: stopped",
			b->running->words[0], BGP_JOB_TIMEOUT);
		job_done(d, b, proc_end(d, &b->job_proc, true));
	}
	if (b->sweep_at && now >= b->sweep_at) {
		fs_sweep(d, b);
		b->sweep_at = 0;
	}
	if (b->nr_apps && now >= b->next_apps) {
		b->next_apps = now + 1;
		fs_apps_tick(d, b);
	}
	if (b->nr_nb && now >= b->next_status && b->monitor.pid) {
		b->next_status = now + BGP_STATUS_EVERY;
		bgp_job(b, JOB_STATUS, 0, "neighbor");
	}
	job_next(d, b);
}

static int bgp_open(struct daemon *d)
{
	struct bgp *b = calloc(1, sizeof(*b));
	char *copy;
	int ret;

	if (!b)
		return -ENOMEM;
	b->monitor.fd = b->job_proc.fd = -1;
	b->receive = true;
	b->receive_max = BGP_RECEIVE_MAX_DEFAULT;
	b->port = 179;
	copy = strdup(d->opt.state_path);
	snprintf(b->dir, sizeof(b->dir), "%s/" BGP_DIR,
		 copy ? dirname(copy) : ".");
	free(copy);
	snprintf(b->conf_path, sizeof(b->conf_path), "%s/gobgpd.toml", b->dir);
	snprintf(b->sock_path, sizeof(b->sock_path), "%s/gobgpd.sock", b->dir);
	snprintf(b->log_path, sizeof(b->log_path), "%s/gobgpd.log", b->dir);
	snprintf(b->json_path, sizeof(b->json_path), "%s/" BGP_FILE, b->dir);
	if (mkdir(b->dir, 0700) && errno != EEXIST) {
		ret = fl_persist_mkdir_parents(b->conf_path);
		if (ret || (mkdir(b->dir, 0700) && errno != EEXIST)) {
			pr_warn("bgp: cannot make %s: %s", b->dir,
				strerror(errno));
			free(b);
			return -errno;
		}
	}
	b->external = d->opt.gobgp;
	if (b->external)
		snprintf(b->target, sizeof(b->target), "%s", b->external);
	else
		snprintf(b->target, sizeof(b->target), "unix://%s",
			 b->sock_path);
	bgp_state = b;
	bgp_load(b);
	ret = bus_subscribe(d, "bgp", FL_EV_RULE_ANY, fs_on_rule, b);
	if (ret)
		return ret;
	fs_adopt_rules(d, b);
	if (b->external) {
		int i;

		/* its neighbors are ours: add what is missing */
		for (i = 0; i < b->nr_nb; i++)
			bgp_job(b, JOB_NEIGHBOR, 0,
				"neighbor add %s as %u family ipv4-flowspec,ipv6-flowspec,ipv4-unicast,ipv6-unicast",
				b->nb[i].addr, b->nb[i].as);
		speaker_restarted(d, b);
	} else if (b->configured) {
		b->next_start = 0; /* the first tick starts it */
		b->sweep_at = bgp_now() + BGP_SWEEP_GRACE;
	}
	return 0;
}

static void bgp_close(struct daemon *d)
{
	struct bgp *b = bgp_state;
	struct bgp_job *j;

	if (!b)
		return;
	bus_unsubscribe(d, fs_on_rule, b);
	bgp_save(d);
	monitor_stop(d, b);
	job_abort(d, b);
	while ((j = b->head)) {
		b->head = j->next;
		free(j);
	}
	/* our sessions close with it: peers withdraw what we announced */
	gobgpd_stop(d, b);
	fs_free(b);
	fs_apps_free(b);
	free(b->monitor.buf);
	free(b->job_proc.buf);
	free(b);
	bgp_state = NULL;
}

const struct fl_module bgp_module = {
	.name = "bgp",
	.open = bgp_open,
	.close = bgp_close,
	.tick = bgp_tick,
	.tick_every = 1,
	.save = bgp_save,
	.commands = bgp_commands,
};
