/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: inside the bgp module (bgp.c the speaker, bgp_routes.c FlowSpec
 * received and announced). Nothing outside the module includes this.
 *
 * gobgpd is FlowLens's BGP speaker. flowlensd drives it through GoBGP's
 * own command line, `gobgp --target unix://SOCK -j ...`: the JSON it
 * prints is the API's own messages (protojson), the tool ships in the same
 * Debian package as gobgpd and always speaks its version, and C has no gRPC
 * client in Debian that would spare generating and linking C++ stubs.
 *   - the speaker: a gobgpd flowlensd starts from a configuration it writes
 *     (bgp/gobgpd.toml next to the state file), restarts if it dies and
 *     re-reads with SIGHUP when a neighbor changes; or, with --gobgp, one
 *     that runs already, whose neighbors are set with `gobgp neighbor`.
 *   - one `gobgp monitor global rib --current` child streams every path
 *     (the whole table first, then each change, one JSON array a line);
 *     received FlowSpec paths become rules (bgp_routes.c).
 *   - everything else is a job: one `gobgp` run at a time, in order, its
 *     output read from a pipe on the event loop; never a blocking call.
 */
#ifndef FLOWLENSD_BGP_PRIV_H
#define FLOWLENSD_BGP_PRIV_H

#include <stdbool.h>
#include <sys/types.h>
#include <uthash.h>
#include <flowlens/rules.h>

#include "flowspec.h"

struct daemon;
struct fl_cls;
struct fl_event;
struct json_object;

#define BGP_NEIGHBORS_MAX 32
#define BGP_HOLD_DEFAULT 90
#define BGP_RECEIVE_MAX_DEFAULT 10000 /* routes per peer */
/* Received routes' rules sit above every operator and DDoS rule: the
 * lowest order wins, so an operator's permit always beats a peer's drop. */
#define BGP_ORDER_BASE FL_RULE_ORDER_FLOWSPEC

enum bgp_validate {
	BGP_VALIDATE_RFC8955, /* section 6 */
	BGP_VALIDATE_RFC9117, /* ... with its iBGP relaxation */
	BGP_VALIDATE_OFF,
};

struct bgp_neighbor {
	char addr[48]; /* as given, canonical */
	int family; /* AF_INET, AF_INET6 */
	union fl_addr a;
	__u32 as, local_as; /* local_as 0: the global AS */
	bool passive;
	unsigned int hold;
	__u32 max; /* received routes it may install */
	enum bgp_validate validate;
	/* from `gobgp -j neighbor`, every status poll */
	int state; /* 6: established */
	__u64 uptime;
	__u64 received, accepted, advertised;
	bool seen; /* in the last poll */
	__u32 installed; /* its received routes with rules in (bgp_routes.c) */
};

/* A child process whose output we read. */
struct bgp_proc {
	pid_t pid; /* 0: none */
	int fd; /* its stdout (and stderr), or -1 */
	char *buf;
	size_t len, cap;
};

enum bgp_job_kind {
	JOB_ANNOUNCE, /* gobgp global rib -a F add ... */
	JOB_WITHDRAW, /* ... del ... */
	JOB_NEIGHBOR, /* gobgp neighbor add/del (--gobgp only) */
	JOB_STATUS, /* gobgp -j neighbor */
};

struct bgp_job {
	enum bgp_job_kind kind;
	__u32 key; /* JOB_ANNOUNCE/WITHDRAW: the announced rule's id */
	char *words[64]; /* after "gobgp --target T" */
	int nr_words;
	char text[1024]; /* what words point into */
	struct bgp_job *next;
};

/* A route received from a peer. */
enum fs_status {
	FS_ST_INSTALLED, /* its rules are in the engine */
	FS_ST_ACCEPT, /* no traffic action: nothing to install */
	FS_ST_REFUSED, /* see why */
	FS_ST_UNSUPPORTED, /* redirect alone: accepted, counted, no rule */
	FS_ST_IGNORED, /* receive is off */
	FS_ST_COUNT,
};

enum fs_reason {
	FS_R_NONE,
	FS_R_MALFORMED,
	FS_R_UNMATCHABLE,
	FS_R_EMPTY,
	FS_R_TOO_BIG,
	FS_R_OVER_LIMIT, /* the peer's max */
	FS_R_INVALID, /* RFC 8955 section 6 */
	FS_R_ENGINE, /* the rule engine said no (shape or chain full) */
	FS_R_NON_TERMINAL, /* traffic-action T bit with an action */
	FS_R_COUNT,
};

struct fs_received {
	char key[600]; /* peer + " " + the route's text: the hash key */
	__u32 id;
	char peer[48];
	int peer_family;
	union fl_addr peer_addr;
	struct fs_route route;
	char text[512];
	enum fs_status status;
	enum fs_reason reason;
	char why[256];
	bool redirect; /* asked to redirect: counted as unsupported */
	__u32 first_as; /* its AS_PATH's left-most AS, for validation */
	bool empty_path; /* ... or it had none (from within the AS) */
	__u32 *rules; /* ids in the engine */
	size_t nr_rules;
	bool seen; /* since the speaker last (re)started */
	double since;
	UT_hash_handle hh;
	UT_hash_handle hh_id;
};

/* An application threshold (bgp_apps.c). */
#define BGP_APPS_MAX 16
#define BGP_APP_TOP_DEFAULT 4
#define BGP_APP_TOP_MAX 16
#define BGP_APP_HOLD_DEFAULT 10
/* The announced table's key of threshold i's n-th endpoint: above every
 * rule id. */
#define FS_APP_KEY(i, n) (0xF0000000U | ((__u32)(i) << 8) | (__u32)(n))

struct bgp_app {
	char name[32]; /* nDPI's */
	__u16 id;
	bool bps; /* the limit is bits/s; else packets/s */
	__u64 limit;
	__u8 action; /* FL_RULE_DROP or FL_RULE_RATE_LIMIT */
	__u64 rate; /* rate-limit: bits/s */
	__u32 top, hold;
	/* state */
	bool have_last, active;
	__u64 last_packets, last_bytes;
	double last_time, rate_pps, rate_bps;
	double below_since, next_rank;
	__u64 crossed;
	size_t nr_endpoints;
	__u8 ep_family[BGP_APP_TOP_MAX];
	union fl_addr ep[BGP_APP_TOP_MAX];
};

/* A DDoS rule announced upstream. */
struct fs_announced {
	__u32 rule; /* the DDoS rule's id: the hash key */
	__u32 attack;
	char by[48]; /* "ddos", or "app NAME" */
	int family; /* 4 or 6 */
	char text[512]; /* the route, as fs_route_format() */
	char words[1024]; /* "match ... then ..." for gobgp */
	bool sent; /* gobgpd has it (or the job is queued) */
	double since;
	UT_hash_handle hh;
};

struct bgp {
	/* configuration, kept in bgp.json */
	__u32 as;
	char router_id[16];
	int port; /* listen; 0: do not listen */
	bool announce, receive;
	__u32 receive_max; /* default per-peer limit */
	struct bgp_neighbor nb[BGP_NEIGHBORS_MAX];
	int nr_nb;

	/* the speaker */
	const char *external; /* --gobgp ADDR; NULL: our own gobgpd */
	char target[320]; /* for `gobgp --target` */
	char dir[256]; /* bgp/ next to the state file */
	char conf_path[300], sock_path[300], log_path[300], json_path[300];
	pid_t gobgpd; /* 0: not running */
	double gobgpd_started; /* CLOCK_MONOTONIC s */
	double next_start; /* when to try again after it died */
	unsigned int restarts;
	bool configured; /* global AS and router id known */
	bool sighup; /* neighbors changed: re-read the file */

	/* jobs, in order; one runs at a time */
	struct bgp_job *head, *tail;
	struct bgp_job *running;
	struct bgp_proc job_proc;
	double job_started;
	__u64 jobs_done, jobs_failed;
	char last_error[256];

	/* the RIB stream */
	struct bgp_proc monitor;
	double monitor_started;
	double next_monitor;
	double sweep_at; /* drop what the speaker no longer has; 0: none */
	double next_status;
	double next_apps;

	/* FlowSpec */
	struct fs_received *received; /* by key */
	struct fs_received *received_by_id;
	struct fs_announced *announced;
	__u64 count[FS_ST_COUNT]; /* routes received, by what became of them */
	__u64 refused[FS_R_COUNT];
	__u64 withdrawn, unsupported_redirect;
	__u64 sampled; /* routes with traffic-action sample, taken in */
	__u64 announced_total, withdrawn_total, not_announceable;
	__u64 bad_lines;

	/* application thresholds */
	struct bgp_app apps[BGP_APPS_MAX];
	int nr_apps;
	struct fl_cls *names; /* nDPI's names, made when first needed */
};

extern struct bgp *bgp_state;

double bgp_now(void);
/* Queues a gobgp run; words are split on blanks ("global rib -a
 * ipv4-flowspec add match ..."). 0 or -errno. */
int bgp_job(struct bgp *b, enum bgp_job_kind kind, __u32 key, const char *fmt,
	    ...) __attribute__((format(printf, 4, 5)));
struct bgp_neighbor *bgp_neighbor_find(struct bgp *b, const char *addr);

/* bgp_apps.c */
void fs_apps_tick(struct daemon *d, struct bgp *b);
int fs_app_parse(struct bgp *b, char **w, int n, struct bgp_app *a, char *err,
		 size_t errlen);
void fs_app_del(struct bgp *b, int i);
struct json_object *fs_app_json(const struct bgp *b, int i, bool state);
void fs_apps_free(struct bgp *b);

/* bgp_routes.c */
void fs_monitor_line(struct daemon *d, struct bgp *b, char *line);
/* The speaker (re)started: everything received is unseen until the new
 * stream shows it again; announced routes are sent again. */
void fs_speaker_restarted(struct daemon *d, struct bgp *b);
/* Removes the rules of every received route the stream did not show. */
void fs_sweep(struct daemon *d, struct bgp *b);
/* Removes the rules of every received route (receive off, a neighbor
 * deleted: only its routes when @peer is not NULL). */
void fs_drop_received(struct daemon *d, struct bgp *b, const char *peer);
/* Re-evaluates every received route (receive on, a limit changed). */
void fs_reevaluate(struct daemon *d, struct bgp *b);
/* Announce on: every DDoS rule; off: withdraw them all. */
void fs_announce_all(struct daemon *d, struct bgp *b);
void fs_withdraw_all(struct daemon *d, struct bgp *b);
/* Announces @rule under @key (a DDoS rule's id; FS_APP_KEY() for an
 * application threshold's endpoints), once; by: who asked. */
void fs_announce_key(struct bgp *b, const struct fl_rule *rule, __u32 key,
		     const char *by);
void fs_withdraw_key(struct bgp *b, __u32 key);
/* The bus: DDoS rules added and removed. */
void fs_on_rule(void *ctx, const struct fl_event *ev);
/* flowlensd restarted: FlowSpec rules still in the engine are adopted
 * as received routes not yet seen. */
void fs_adopt_rules(struct daemon *d, struct bgp *b);
void fs_free(struct bgp *b);
struct json_object *fs_received_json(const struct fs_received *r);
struct json_object *fs_announced_json(const struct fs_announced *a);
struct json_object *fs_counts_json(const struct bgp *b);
const char *fs_status_name(enum fs_status s);
const char *fs_reason_name(enum fs_reason r);

#endif /* FLOWLENSD_BGP_PRIV_H */
