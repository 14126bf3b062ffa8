/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: flowlensd's shared state and the entry points of its parts.
 * Each part is a module (module.h) listed in main.c's table; they run on
 * one event loop (loop.c) and tell each other what happened through the
 * event bus (bus.h).
 *   loop.c     the event loop, module open/close/tick/save, commands
 *   bus.c      the event bus
 *   loader.c   open, pin, load, attach and detach the XDP program
 *   rates.c    every tick: per-CPU counters -> rates over the last second
 *   control.c  the control socket; requests go to the modules' commands
 *   commands.c the core modules' commands (stats, ip, top, protect,
 *              config, version)
 *   settings.c runtime settings (fl_config) and protected prefixes
 *   state.c    the state file that restores settings after a reboot
 *   forward.c  router mode's egress ports (the devmap)
 *   rules.c    mitigation rules: rule-* commands, expiry, the rules file
 *   ddos*.c    thresholds, attacks and automatic mitigation (ddos-* commands):
 *              ddos.c the module, ddos_engine.c, ddos_signature.c,
 *              ddos_mitigate.c, ddos_allow.c, ddos_state.c, ddos_json.c,
 *              ddos_cmd.c (ddos_priv.h); ddos_events.c the events file
 *   synproxy.c the SYN proxy's services, nftables table and sysctl
 *              (synproxy-* commands)
 *   workers.c  the AF_XDP workers' module: start and stop them, drain
 *              their rings into the control side's flow and app tables;
 *              worker_loop.c a worker's loop, worker_xsk.c its sockets
 *              and UMEM, worker_cmd.c the workers, apps and flows commands
 *              (worker_internal.h)
 *   classify.c a worker's flow table and nDPI (also `flowlensd replay`)
 */
#ifndef FLOWLENSD_H
#define FLOWLENSD_H

#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>
#include <sys/types.h>
#include <json-c/json.h>
#include <uthash.h>
#include <xdp/libxdp.h>
#include <flowlens/flowlens.h>

#include "bus.h"
#include "prefix.h"
#include "ruleset.h"

#define FL_MAX_IFACES 64
#define FL_STATE_DEFAULT "/var/lib/flowlens/state.json"
#define FL_STATE_ENV "FLOWLENS_STATE_FILE"
#define FL_BPFFS_DEFAULT "/sys/fs/bpf"
/* --max-flows: the flow cache's size (FL_FLOWS_MAX when not given). Below
 * the minimum a cache would thrash under any real traffic; the maximum
 * keeps the preallocated table (about 152 bytes a flow) near 2.5 GB. */
#define FL_MAX_FLOWS_MIN 1024
#define FL_MAX_FLOWS_MAX (16 * 1024 * 1024)

struct fl_iface {
	char name[IF_NAMESIZE];
	int ifindex;
	enum xdp_attach_mode mode; /* what it is attached in */
	bool attached;
	bool tc_attached; /* flowlens_tc on tc ingress (loader.c) */
	struct fl_if_stats now; /* summed over CPUs at the last tick */
	struct fl_if_stats before; /* ... and at the tick before */
	double pps, bps;
};

/* One address with exact counters, as the rate engine last saw it. */
struct fl_ip_id {
	int family;
	union fl_addr addr;
};

/*
 * The control tick. Per-IP rates are kept over a sliding window of
 * FL_RATE_SLOTS ticks (1 s), re-evaluated every tick, so the DDoS engine
 * sees a flood within a tenth of a second of its crossing while a rate
 * still means "per second over the last second".
 */
#define FL_TICK_MS 100
#define FL_RATE_SLOTS 10

/* The counters one address has, as a vector (see rates.c). */
enum fl_counter {
	FL_C_TX_PACKETS, /* sent */
	FL_C_TX_BYTES,
	FL_C_TX_SYNS,
	FL_C_RX_PACKETS, /* received */
	FL_C_RX_BYTES,
	FL_C_RX_SYNS,
	FL_C_RX_CLASS_PACKETS, /* + enum fl_rx_class */
	FL_C_RX_CLASS_BYTES = FL_C_RX_CLASS_PACKETS + FL_RX_COUNT,
	FL_C_COUNT = FL_C_RX_CLASS_BYTES + FL_RX_COUNT,
};

struct fl_ip_entry {
	struct fl_ip_id id; /* hash key; zero-filled before use */
	struct fl_traffic now[FL_SIDE_COUNT];
	double pps[FL_SIDE_COUNT], bps[FL_SIDE_COUNT], sps[FL_SIDE_COUNT];
	__u64 count[FL_C_COUNT]; /* totals at the last tick */
	__u32 delta[FL_RATE_SLOTS][FL_C_COUNT]; /* per tick, a ring */
	__u64 window[FL_C_COUNT]; /* the ring's sums */
	double rate[FL_C_COUNT]; /* per second over the window (bytes too) */
	/* ddos_engine.c: the threshold of each direction that covers this
	 * address (-1: none), valid while threshold_gen is the engine's */
	int threshold[2];
	unsigned int threshold_gen;
	__u32 reason;
	unsigned int generation;
	UT_hash_handle hh;
	/* rates.c: on the list of entries whose window is not all zero, the
	 * only ones an idle tick has to age */
	struct fl_ip_entry *live_next, **live_pprev;
};

struct fl_options {
	const char *ifnames[FL_MAX_IFACES];
	int nr_ifnames;
	enum fl_mode mode;
	enum xdp_attach_mode xdp_mode;
	const char *socket_path;
	const char *state_path;
	const char *bpffs;
	__u32 max_rules; /* 0: FL_RULE_MAX_DEFAULT */
	__u32 max_flows; /* 0: FL_FLOWS_MAX */
	const char *events_path; /* NULL: next to the state file */
	int workers; /* AF_XDP workers (--workers) */
	bool workers_set; /* ... given; else one per core and queue */
	bool list_commands; /* --list-commands: print them and exit */
	__u32 flow_timeout_ms; /* --flow-timeout; 0: the classifier's */
	const char *metrics_addr; /* --metrics; NULL: FL_METRICS_DEFAULT */
	bool metrics_off; /* --metrics off */
	const char *gobgp; /* --gobgp: a gobgpd that runs already */
	int verbose;
};

struct fl_ruleset;
struct fl_module;
struct loop;
struct ddos;
struct synproxy;
struct workers;
struct policy;
struct voip;
struct hep;

struct daemon {
	struct fl_options opt;
	struct flowlens_bpf *skel;
	struct xdp_program *prog;
	struct flowlens_tc_bpf *tc_skel;
	char pin_dir[256];
	int lock_fd; /* flock on pin_dir: one daemon per set of maps */
	bool maps_were_pinned; /* restart: settings and counters carried over */
	struct fl_iface ifaces[FL_MAX_IFACES];
	int nr_ifaces;
	int ncpus;
	time_t started;

	/* loop.c: the modules, in main.c's order, and how many are open */
	struct loop *loop;
	const struct fl_module *const *modules;
	int nr_modules, nr_opened;

	/* rates.c; other modules read ips (the tracked addresses and their
	 * rates, refreshed by the rates tick) but never change it */
	struct fl_ip_entry *ips;
	struct fl_ip_entry *ips_live; /* window not all zero */
	size_t nr_live;
	struct fl_ip_id *watch; /* to look up at the next tick */
	size_t nr_watch;
	bool watch_overflow; /* more than fit: read everything */
	__u64 whole_read_ns; /* CLOCK_MONOTONIC_COARSE; 0: none yet */
	bool whole_read_exact; /* the next whole read skips nothing */
	unsigned int generation;
	struct timespec last_tick;
	double slot_seconds[FL_RATE_SLOTS]; /* each tick's length, a ring */
	int slot; /* the ring's slot the last tick filled */
	double interval; /* seconds the per-IP rates cover */
	double if_interval; /* seconds between the last two interface reads */
	struct timespec if_tick;
	int ticks;

	/* ddos.c */
	struct ddos *ddos;

	/* synproxy.c */
	struct synproxy *synproxy;

	/* workers.c */
	struct workers *workers;

	/* policy.c; the workers call policy_match() (policy.h) */
	struct policy *policy;

	/* voip.c: the SIP ports (host order, 0 ends the list; 5060 until
	 * voip.c sets them), read by the workers and the HEP mirror */
	__u16 sip_ports[FL_SIP_PORTS_MAX];
	struct voip *voip;
	/* settings.c: why SIP/RTP/RTCP flows stay escalated (VOIP_WANT_*);
	 * FL_ESCALATE_F_VOIP is set while any bit is */
	unsigned int voip_wants;
	/* hep.c */
	struct hep *hep;

	/* control.c */
	int listen_fd;

	/* rules.c */
	struct fl_ruleset *rules;
	bool rules_dirty; /* the journal has lines not yet fsynced */
	FILE *rules_journal; /* changes since the last rules file */
	size_t rules_journal_lines;
	pid_t rules_snapshot_pid; /* writing a rules file, or 0 */
};

/* The modules, in the order main.c opens them. */
extern const struct fl_module control_module; /* control.c */
extern const struct fl_module loader_module; /* loader.c */
extern const struct fl_module attach_module; /* loader.c */
extern const struct fl_module forward_module; /* forward.c */
extern const struct fl_module settings_module; /* settings.c, state.c */
extern const struct fl_module rates_module; /* rates.c */
extern const struct fl_module rules_module; /* rules.c */
extern const struct fl_module ddos_module; /* ddos.c */
extern const struct fl_module events_module; /* ddos_events.c */
extern const struct fl_module synproxy_module; /* synproxy.c */
extern const struct fl_module policy_module; /* policy.c */
extern const struct fl_module voip_module; /* voip.c */
extern const struct fl_module workers_module; /* workers.c */
extern const struct fl_module export_module; /* export.c */
extern const struct fl_module bgp_module; /* bgp.c, bgp_routes.c */
extern const struct fl_module metrics_module; /* metrics.c */

/* metrics.c: Prometheus /metrics. FL_METRICS_PORT is outside 9090-9999,
 * the range Prometheus' default port allocations fill. */
#define FL_METRICS_PORT 10179
#define FL_METRICS_DEFAULT "127.0.0.1:10179"
struct sockaddr_storage;
/* --metrics ADDR:PORT or [IPv6]:PORT into @sa; 0 or -EINVAL (@err says). */
int metrics_parse_addr(const char *arg, struct sockaddr_storage *sa, char *err,
		       size_t errlen);

/* loader.c */
const char *xdp_mode_name(enum xdp_attach_mode mode);

/* rates.c: the rates module ticks every tick; the interfaces' rates
 * only once per FL_RATE_SLOTS ticks. */
int rates_read_if_stats(struct daemon *d, int ifindex, struct fl_if_stats *sum);
/* Drops an address's entry (HASH_DEL from ips and free). */
void rates_forget(struct daemon *d, struct fl_ip_entry *e);
/* An address that just had packets (a DDoS sample): read at the next
 * tick, not only at the next whole read. */
void rates_watch(struct daemon *d, int family, const union fl_addr *addr);
/* Sums one address's per-CPU counters; returns the OR of their reasons. */
__u32 rates_sum_ip_stats(const struct daemon *d,
			 const struct fl_ip_stats *percpu,
			 struct fl_traffic sum[FL_SIDE_COUNT]);

/* settings.c */
const char *mode_name(unsigned int mode);
int mode_parse(const char *name);
int settings_read(struct daemon *d, struct fl_config *cfg);
/* Reasons to keep VoIP flows escalated to the workers after their verdict
 * (fl_config FL_ESCALATE_F_VOIP): set or clear one; 0 or -errno. */
#define VOIP_WANT_HEP 0x1 /* hep.c: collectors configured */
#define VOIP_WANT_CALLS 0x2 /* voip.c: dialog and RTP tracking */
int settings_voip_want(struct daemon *d, unsigned int reason, bool on);
/* Dialog and RTP tracking is on: the one test a worker makes per frame
 * (a relaxed load and a branch; the control thread writes voip_wants). */
static inline bool voip_calls_wanted(const struct daemon *d)
{
	return __atomic_load_n(&d->voip_wants, __ATOMIC_RELAXED) &
	       VOIP_WANT_CALLS;
}
/* Is @port (host order) one of the SIP ports? */
bool sip_port(const struct daemon *d, __u16 port);
int settings_write(struct daemon *d, const struct fl_config *cfg);
int settings_set(struct daemon *d, const char *key, const char *value,
		 char *err, size_t errlen);
struct json_object *settings_to_json(const struct fl_config *cfg);
int protect_add(struct daemon *d, const struct fl_prefix *prefix);
int protect_del(struct daemon *d, const struct fl_prefix *prefix);
/* Calls fn for every protected prefix; stops early if fn returns non-zero. */
int protect_for_each(struct daemon *d,
		     int (*fn)(const struct fl_prefix *prefix, void *arg),
		     void *arg);

/* state.c: the settings module's state file */
int state_save(struct daemon *d);
int state_restore(struct daemon *d);

/* A control request's handler (a module's commands); data is the reply's
 * "data". */
typedef int (*command_fn)(struct daemon *d, struct json_object *req,
			  struct json_object **data, char *err, size_t errlen);
struct command {
	const char *name;
	command_fn fn;
};

/* commands.c: the commands of the core modules */
extern const struct command control_commands[]; /* version, daemon */
extern const struct command rates_commands[]; /* stats, ip, top */
extern const struct command settings_commands[]; /* protect, config */

/* synproxy.c: whether a SYN proxy service answers on @addr
 * (AF_INET/AF_INET6), port @port (< 0: any port). */
bool synproxy_covers(const struct daemon *d, int family,
		     const union fl_addr *addr, int port);

/* rules.c: the rule engine, for every module. Adding and removing mark
 * the rules file for saving and publish FL_EV_RULE_ADDED/REMOVED with
 * the origin (bus.h). */
bool rules_ready(const struct daemon *d);
/* The rules installed, by the origin they keep (operator, ddos); @names
 * gets each origin's name (NULL: an origin no rule keeps). Walks the
 * rules in memory, no map: a few ms with a million. 0 or -errno. */
int rules_count(const struct daemon *d, size_t by_origin[FL_ORIGIN_COUNT],
		const char **names);
int rules_add(struct daemon *d, struct fl_rule *rules, size_t n,
	      enum fl_rule_origin origin, size_t *bad, char *err,
	      size_t errlen);
int rules_del(struct daemon *d, __u32 id, enum fl_rule_origin origin);
int rules_get(const struct daemon *d, __u32 id, struct fl_rule_def *def,
	      struct fl_rule_stats *st);
int rules_for_each(const struct daemon *d,
		   int (*fn)(const struct fl_rule_def *def, void *arg),
		   void *arg);

#endif /* FLOWLENSD_H */
