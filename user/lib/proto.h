/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: the one protocol table, shared by flctl and flowlensd.
 *
 * Every control command is one line of FL_PROTO_COMMANDS:
 *   X(id, object, words, request, synopsis, help)
 *     id        a C name; flctl's handler is flctl_<id>()
 *     object    flctl's object (one of FL_PROTO_OBJECTS), a bare word
 *     words     the command words after the object ("threshold add"), or
 *               "" when the object is the command (top, version)
 *     request   the "cmd" sent on the socket; flowlensd's handler for it
 *               is looked up by this name (commands.c)
 *     synopsis  the arguments, as the help shows them ("" for none; a
 *               '\n' continues them on another line)
 *     help      one line for flctl's top-level help
 * flctl's top-level help, each object's Usage block, prefix matching and
 * dispatch come from this table; flowlensd refuses to start if a table
 * entry has no handler or a handler no entry; `flctl help --commands` and
 * `flowlensd --list-commands` print each side's list (selftests/
 * test_proto.sh compares them).
 *
 *   fl_proto_cmds[]      the table, FL_PROTO_COUNT entries
 *   fl_proto_objects[]   the objects, in help order, NULL-terminated
 *   fl_proto_find()      the entry of a request name
 *   fl_proto_next_words() what may follow OBJECT [WORDS...]
 *   fl_proto_match()     exact match or unique prefix among names
 *
 * Reply fields flctl prints by name are listed here too, so the daemon
 * that emits them and flctl that prints them use one list:
 *   FL_WORKER_COUNTERS   `show workers`, per worker
 */
#ifndef FL_PROTO_H
#define FL_PROTO_H

#include <stddef.h>

#define FL_PROTO_OBJECTS(X) \
	X(show)             \
	X(top)              \
	X(protect)          \
	X(rule)             \
	X(ddos)             \
	X(synproxy)         \
	X(policy)           \
	X(policer)          \
	X(voip)             \
	X(hep)              \
	X(export)           \
	X(bgp)              \
	X(flowspec)         \
	X(config)           \
	X(version)

/* clang-format off */
#define FL_PROTO_COMMANDS(X)                                                   \
	X(show_stats, show, "stats", "stats", "[IFACE]",                       \
	  "packets, bytes, kinds, parse errors, verdicts")                     \
	X(show_ip, show, "ip", "ip", "ADDR",                                   \
	  "exact counters of one tracked address")                             \
	X(show_apps, show, "apps", "apps", "[--sort { bytes | packets | flows }]", \
	  "the applications nDPI named, with their traffic")                   \
	X(show_flows, show, "flows", "flows", "[--app APP] [-n N]",            \
	  "flows in the XDP flow cache: app, SNI, JA3, risks")                 \
	X(show_workers, show, "workers", "workers", "",                        \
	  "the AF_XDP workers and their counters")                             \
	X(show_export, show, "export", "export", "",                           \
	  "flow export: collectors, records sent and lost")                    \
	X(show_daemon, show, "daemon", "daemon", "",                           \
	  "flowlensd's modules in order, its event loop and event bus")        \
	X(top, top, "", "top", "{ src | dst } [-n N] [--by { pps | bps | syn }]\n" \
	  "apps [-n N] [--by { pps | bps | flows }]",                          \
	  "top talkers and applications over the last second")                 \
	X(protect_add, protect, "add", "protect-add", "PREFIX",                \
	  "exact per-IP counters for a prefix")                                \
	X(protect_del, protect, "del", "protect-del", "PREFIX",                \
	  "no more exact counters for a prefix")                               \
	X(protect_list, protect, "list", "protect-list", "",                   \
	  "protected prefixes and their traffic")                              \
	X(rule_add, rule, "add", "rule-add",                                   \
	  "[order N] MATCH... action ACTION [expires S]",                      \
	  "a mitigation rule, enforced in XDP")                                \
	X(rule_del, rule, "del", "rule-del", "ID", "remove a rule")            \
	X(rule_list, rule, "list", "rule-list",                                \
	  "[-n N] [--after ID] [--origin ORIGIN] [--attack ID]",               \
	  "rules with what they matched, a page at a time")                    \
	X(rule_flush, rule, "flush", "rule-flush", "", "remove every rule")    \
	X(rule_load, rule, "load", "rule-load", "FILE",                        \
	  "add every rule in FILE, or none")                                   \
	X(rule_shapes, rule, "shapes", "rule-shapes", "",                      \
	  "the rules' shapes: one hash lookup each")                           \
	X(ddos_threshold_add, ddos, "threshold add", "ddos-threshold-add",     \
	  "PREFIX [source] METRIC VALUE [METRIC VALUE]...\n"                   \
	  "[action ACTION] [hold S]",                                          \
	  "detect floods per host, mitigate them")                             \
	X(ddos_threshold_del, ddos, "threshold del", "ddos-threshold-del",     \
	  "PREFIX [source]", "remove a threshold")                             \
	X(ddos_threshold_list, ddos, "threshold list", "ddos-threshold-list",  \
	  "", "every threshold: limits, action, hold")                         \
	X(ddos_allow_add, ddos, "allow add", "ddos-allow-add", "PREFIX",       \
	  "sources never mitigated")                                           \
	X(ddos_allow_del, ddos, "allow del", "ddos-allow-del", "PREFIX",       \
	  "take a prefix off the allowlist")                                   \
	X(ddos_allow_list, ddos, "allow list", "ddos-allow-list", "",          \
	  "the allowlisted prefixes")                                          \
	X(ddos_attacks, ddos, "attacks", "ddos-attacks", "[--all]",            \
	  "active attacks (--all: ended ones too)")                            \
	X(ddos_status, ddos, "status", "ddos-status", "",                      \
	  "hosts under a threshold: rates against limits")                     \
	X(synproxy_add, synproxy, "add", "synproxy-add",                       \
	  "ADDR port PORT [mss MSS] [wscale WSCALE]",                          \
	  "SYN cookies from XDP for a TCP service")                            \
	X(synproxy_del, synproxy, "del", "synproxy-del", "ADDR port PORT",     \
	  "stop proxying a service")                                           \
	X(synproxy_list, synproxy, "list", "synproxy-list", "",                \
	  "every service with its MSS and window scale")                       \
	X(synproxy_stats, synproxy, "stats", "synproxy-stats",                 \
	  "[ADDR [port PORT]]", "the services' counters")                      \
	X(policy_add, policy, "add", "policy-add",                             \
	  "{ app | category | sni | ja3c | risk } VALUE [dev IFACE]\n"         \
	  "[{ from | to } PREFIX] [order N] action ACTION",                    \
	  "what an application's classified flows may do, in XDP")             \
	X(policy_del, policy, "del", "policy-del", "ID", "remove a policy")    \
	X(policy_list, policy, "list", "policy-list", "",                      \
	  "policies in order, with what they matched and did")                 \
	X(policer_add, policer, "add", "policer-add",                          \
	  "NAME rate RATE [burst B] [exceed { drop | dscp-mark N }]",          \
	  "a token bucket policies share (again: change it)")                  \
	X(policer_del, policer, "del", "policer-del", "NAME",                  \
	  "remove a policer no policy names")                                  \
	X(policer_list, policer, "list", "policer-list", "",                   \
	  "policers with what conformed and exceeded")                         \
	X(voip_status, voip, "status", "voip-status", "",                      \
	  "SIP ports, SIP packets by method, carriers, thresholds, attacks")    \
	X(voip_ports, voip, "ports", "voip-ports", "[PORT...]",                \
	  "the SIP ports the datapath counts (show, or set up to 8)")           \
	X(voip_carrier_add, voip, "carrier add", "voip-carrier-add",           \
	  "PREFIX [name NAME]", "a trunk that is never blocked (hits counted)") \
	X(voip_carrier_del, voip, "carrier del", "voip-carrier-del", "PREFIX", \
	  "remove a carrier")                                                  \
	X(voip_carrier_list, voip, "carrier list", "voip-carrier-list", "",    \
	  "carriers with the packets each sent")                               \
	X(voip_threshold_add, voip, "threshold add", "voip-threshold-add",     \
	  "PREFIX method METHOD pps N [total N]\n"                             \
	  "[action { drop | rate-limit N[pps] }] [hold S]",                    \
	  "a SIP method's limit per source and per host in PREFIX")            \
	X(voip_threshold_del, voip, "threshold del", "voip-threshold-del",     \
	  "PREFIX [method METHOD]", "remove a prefix's thresholds (or one)")   \
	X(voip_threshold_list, voip, "threshold list", "voip-threshold-list",  \
	  "", "the SIP thresholds")                                            \
	X(voip_sources, voip, "sources", "voip-sources", "",                   \
	  "protected hosts and heavy senders: SIP rates by method")            \
	X(voip_tracking, voip, "tracking", "voip-tracking",                    \
	  "[on | off | auto]",                                                 \
	  "dialog and RTP tracking in the workers (show, or set)")             \
	X(voip_calls, voip, "calls", "voip-calls", "",                         \
	  "live and recently ended calls: state, SDP media, their RTP")        \
	X(voip_streams, voip, "streams", "voip-streams", "",                   \
	  "RTP streams: SSRC, packets, loss, jitter, negotiated or not")       \
	X(hep_add, hep, "add", "hep-add",                                      \
	  "ADDR [port PORT] [id ID] [password P] [rate N]",                    \
	  "mirror every SIP message to a HEP3 collector (Homer)")              \
	X(hep_del, hep, "del", "hep-del", "ADDR [port PORT]",                  \
	  "stop mirroring to a collector")                                     \
	X(hep_list, hep, "list", "hep-list", "",                               \
	  "collectors: messages sent, dropped by the rate cap, errors")        \
	X(export_add, export, "add", "export-add",                             \
	  "ipfix COLLECTOR:PORT [active S] [idle S] [domain N]\n"              \
	  "[template-refresh S]",                                              \
	  "send every flow as IPFIX records to a collector")                   \
	X(export_del, export, "del", "export-del", "{ ID | COLLECTOR:PORT }",  \
	  "stop sending to a collector")                                       \
	X(export_list, export, "list", "export-list", "",                      \
	  "the collectors with their timeouts and domain")                     \
	X(export_stats, export, "stats", "export-stats", "",                   \
	  "records, messages and losses per collector")                        \
	X(bgp_neighbor_add, bgp, "neighbor add", "bgp-neighbor-add",           \
	  "ADDR as N [local-as N] [router-id ID] [passive] [hold S]\n"         \
	  "[max N] [validate { rfc8955 | rfc9117 | off }]",                     \
	  "peer with a BGP speaker for FlowSpec (gobgpd)")                     \
	X(bgp_neighbor_del, bgp, "neighbor del", "bgp-neighbor-del", "ADDR",   \
	  "stop peering; its routes' rules go")                                \
	X(bgp_status, bgp, "status", "bgp-status", "",                         \
	  "the speaker, each session, routes sent and received")               \
	X(flowspec_announce, flowspec, "announce", "flowspec-announce",        \
	  "{ on | off }", "announce the DDoS engine's mitigations upstream")    \
	X(flowspec_receive, flowspec, "receive", "flowspec-receive",           \
	  "{ on | off } [max N]", "enforce the FlowSpec routes peers announce") \
	X(flowspec_app, flowspec, "app", "flowspec-app",                       \
	  "[APP { bps | pps } RATE [action { drop | rate-limit RATE }]\n"      \
	  "[top N] [hold S] | APP off]",                                       \
	  "announce the endpoints of an application above a rate")             \
	X(flowspec_list, flowspec, "list", "flowspec-list",                    \
	  "[--received | --announced]",                                        \
	  "routes received (with their rules) and announced")                  \
	X(config_show, config, "show", "config-show", "",                      \
	  "the runtime settings, and the flow cache's size (max-flows)")        \
	X(config_set, config, "set", "config-set", "KEY VALUE",                \
	  "malformed pass|drop, heavy-pps N, heavy-bps N, escalate-pps N")      \
	X(version, version, "", "version", "",                                 \
	  "flctl's version, and flowlensd's if it runs")
/* clang-format on */

struct fl_proto_cmd {
	const char *object;
	const char *words;
	const char *request;
	const char *synopsis;
	const char *help;
};

enum fl_proto_id {
#define FL_X_ENUM(id, ...) FL_PROTO_##id,
	FL_PROTO_COMMANDS(FL_X_ENUM)
#undef FL_X_ENUM
		FL_PROTO_COUNT,
};

extern const struct fl_proto_cmd fl_proto_cmds[FL_PROTO_COUNT];
extern const char *const fl_proto_objects[]; /* NULL-terminated */

/* The entry whose request is @request, or NULL. */
const struct fl_proto_cmd *fl_proto_find(const char *request);

/* What may follow "OBJECT PATH" (PATH: the command words given so far,
 * "" for none). */
#define FL_PROTO_WORDS_MAX 16
#define FL_PROTO_WORD_MAX 16
struct fl_proto_words {
	int n;
	const char *name[FL_PROTO_WORDS_MAX]; /* -> word[i] */
	char word[FL_PROTO_WORDS_MAX][FL_PROTO_WORD_MAX];
	/* the entry whose words are PATH itself (top, version), or NULL */
	const struct fl_proto_cmd *leaf;
};

/* The next words, distinct and in table order; returns their number. */
int fl_proto_next_words(const char *object, const char *path,
			struct fl_proto_words *w);

/*
 * @arg among @names: an exact match, or a prefix of exactly one name.
 * Returns the index; -1 if none matches; -2 if @arg is ambiguous, with
 * *first and *second set to two names it abbreviates.
 */
int fl_proto_match(const char *arg, const char *const *names, int n, int *first,
		   int *second);

/*
 * Reply fields. `show workers`: the counters each worker writes (and the
 * daemon emits under these names, in this order), then the kernel's
 * FL_WORKER_RING_FULL, then flows and memory.
 */
#define FL_WORKER_COUNTERS(X)                                             \
	X(RX, "rx") /* escalated frames received */                       \
	X(TX, "tx") /* transmitted on the egress interface (completed) */ \
	X(PASSED, "passed") /* host mode: handed to the local stack */    \
	X(CONSUMED, "consumed") /* monitor mode: inspected, not sent */   \
	X(DROPPED, "dropped") /* could not be sent on */                  \
	X(CLASSIFIED, "classified") /* verdicts found by nDPI */          \
	X(GAVE_UP, "gave_up") /* verdicts nDPI gave up on (or guessed) */ \
	X(VERDICT_LOST, "verdict_lost") /* flow no longer in the cache */ \
	X(TX_RING_FULL, "tx_ring_full")                                   \
	X(NO_TX_SOCKET, "no_tx_socket") /* egress has no socket on q */   \
	X(BAD_META, "bad_metadata")                                       \
	X(TABLE_FULL, "table_full") /* the worker's flow table */         \
	X(RING_SHED, "ring_shed") /* records its ring to the control      \
				   * thread had no room for */        \
	X(REMATCHED, "rematched") /* flows given other policies after a  \
				   * change of the policies */         \
	X(SIP_MESSAGES, "sip_messages") /* tracked (VoIP tracking on) */  \
	X(SIP_MALFORMED, "sip_malformed") /* started like SIP, refused */ \
	X(RTP_PACKETS, "rtp_packets") /* tracked in RTP streams */        \
	X(RTP_UNSOLICITED, "rtp_unsolicited") /* towards a protected     \
				   * host, on a port no SDP named */
/* frames the kernel could not queue to the worker (XDP_STATISTICS) */
#define FL_WORKER_RING_FULL "ring_full"

#endif /* FL_PROTO_H */
