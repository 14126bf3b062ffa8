// SPDX-License-Identifier: Apache-2.0
/*
 * flctl bgp { neighbor add | neighbor del | status }
 * flctl flowspec { announce | receive | list }
 *
 * Sent as {"cmd": "bgp-neighbor-add", "words": [...]}: flowlensd parses
 * the words and names what is wrong with them.
 */
#include <stdio.h>
#include <string.h>

#include "flctl.h"

void flctl_help_bgp(void)
{
	printf("ADDR := the peer's IPv4 or IPv6 address\n"
	       "N    := an AS number, 1-4294967295\n"
	       "\n"
	       "FlowLens speaks BGP through gobgpd (GoBGP). flowlensd starts its own\n"
	       "gobgpd once the first neighbor is added, from a configuration it\n"
	       "writes next to its state file (bgp/gobgpd.toml, log in\n"
	       "bgp/gobgpd.log), starts it again if it dies, and re-announces and\n"
	       "re-synchronises its routes then; or it uses a running gobgpd named\n"
	       "with 'flowlensd --gobgp ADDR'. Sessions carry IPv4 and IPv6\n"
	       "FlowSpec, and unicast, which the validation of received routes\n"
	       "(RFC 8955 section 6) reads. What a peer sends is never passed on to\n"
	       "another peer.\n"
	       "\n"
	       "  neighbor add  peer with ADDR in AS N; again to change it:\n"
	       "      local-as N     this box's AS (required with the first neighbor;\n"
	       "                     the box's AS from then on)\n"
	       "      router-id ID   this box's router id (default: its first IPv4\n"
	       "                     address)\n"
	       "      passive        wait for the peer to connect\n"
	       "      hold S         hold time, 3-65535 s (default 90; keepalive S/3)\n"
	       "      max N          routes this peer may have installed (default:\n"
	       "                     'flowspec receive ... max N')\n"
	       "      validate       rfc8955 (default): a destination prefix, whose\n"
	       "                     best unicast route came from this peer, and no\n"
	       "                     more specific one from another AS; rfc9117: the\n"
	       "                     same, but a route with an empty AS_PATH (from\n"
	       "                     within the AS) needs no unicast route; off\n"
	       "  neighbor del  stop peering; the rules of its routes are removed\n"
	       "  status        the speaker (pid, restarts), each session's state,\n"
	       "                uptime and FlowSpec routes received, accepted,\n"
	       "                advertised and installed; what became of received\n"
	       "                routes, and what was announced\n"
	       "\n"
	       "Examples:\n"
	       "  %1$s bgp neighbor add 192.0.2.1 as 65000 local-as 65001\n"
	       "  %1$s bgp neighbor add 2001:db8::1 as 65002 hold 9 max 500\n"
	       "  %1$s -j bgp status\n",
	       prog_name);
}

void flctl_help_flowspec(void)
{
	printf("BGP FlowSpec (RFC 8955 IPv4, RFC 8956 IPv6) through the bgp peers.\n"
	       "\n"
	       "  announce on|off  each rule the DDoS engine installs for an attack\n"
	       "                   is announced as a FlowSpec route (traffic-rate 0\n"
	       "                   for drop, traffic-rate bytes/s for a rate limit)\n"
	       "                   and withdrawn when the attack ends. Only a /32 or\n"
	       "                   /128 source, or the victim with a protocol or\n"
	       "                   port, is ever announced. Default off.\n"
	       "  receive on|off   routes peers announce become rules of origin\n"
	       "                   'flowspec PEER' (flctl rule list), enforced in XDP:\n"
	       "                   every component (prefixes, IPv6 offset 0,\n"
	       "                   protocol, ports, ICMP, TCP flags, length, DSCP,\n"
	       "                   fragment) with its operator lists, as at most 64\n"
	       "                   rules a route; traffic-rate-bytes/-packets 0 drop,\n"
	       "                   N rate-limit, traffic-marking re-marks the DSCP,\n"
	       "                   sample is counted; redirect is not done here: the\n"
	       "                   route is kept, counted as unsupported and logged.\n"
	       "                   Refused, and counted by reason: malformed,\n"
	       "                   unmatchable (an IPv6 offset, a flow label,\n"
	       "                   dont-fragment), empty, too-big, over-limit,\n"
	       "                   invalid (section 6), non-terminal (the traffic-\n"
	       "                   action T bit: the rules here stop at the first\n"
	       "                   match). The rules come after every\n"
	       "                   operator and DDoS rule: an operator's permit wins.\n"
	       "      max N        routes each peer may have installed (default 10000)\n"
	       "                   Default on.\n"
	       "  list             received routes (status, reason, rules) and\n"
	       "                   announced ones\n"
	       "  app APP bps|pps RATE [action drop | action rate-limit RATE]\n"
	       "      [top N] [hold S]\n"
	       "                   while APP (a name nDPI gives: YouTube, QUIC, ...)\n"
	       "                   is above RATE, as XDP counts its classified flows,\n"
	       "                   announce its top N senders (default 4, at most\n"
	       "                   16) as /32 or /128 sources to drop (default) or\n"
	       "                   rate-limit (bits/s); withdrawn once it has been\n"
	       "                   under 80 %% of RATE for S seconds (default 10).\n"
	       "                   The senders are ranked by the bytes they sent in\n"
	       "                   its flows active in the last 2 s, every 5 s.\n"
	       "                   'app APP off' removes it; 'app' lists them with\n"
	       "                   their rates and the endpoints announced\n"
	       "\n"
	       "Examples:\n"
	       "  %1$s flowspec announce on\n"
	       "  %1$s flowspec receive on max 2000\n"
	       "  %1$s -j flowspec list --received\n"
	       "  %1$s flowspec app YouTube bps 500M action rate-limit 100M\n",
	       prog_name);
}

static void print_neighbor(struct json_object *n)
{
	printf("neighbor %s as %llu", json_get_str(n, "address"),
	       (unsigned long long)json_get_u64(n, "as"));
	if (json_get_u64(n, "local_as"))
		printf(" local-as %llu",
		       (unsigned long long)json_get_u64(n, "local_as"));
	printf(" hold %llus validate %s",
	       (unsigned long long)json_get_u64(n, "hold"),
	       json_get_str(n, "validate"));
	if (json_get_u64(n, "max"))
		printf(" max %llu", (unsigned long long)json_get_u64(n, "max"));
	if (json_object_get_boolean(json_object_object_get(n, "passive")))
		printf(" passive");
}

static void print_added(struct json_object *data)
{
	print_neighbor(json_object_object_get(data, "neighbor"));
	printf(json_object_get_boolean(
		       json_object_object_get(data, "updated")) ?
		       ": updated\n" :
		       ": added\n");
}

static void print_deleted(struct json_object *data)
{
	print_neighbor(json_object_object_get(data, "neighbor"));
	printf(": removed\n");
}

int flctl_bgp_neighbor_add(const struct fl_proto_cmd *cmd, int argc,
			   char **argv)
{
	if (argc < 3)
		return usage_error(
			"%s needs ADDR as N (e.g. 192.0.2.1 as 65000 local-as 65001)",
			cmd_name(cmd));
	return flctl_run_words(cmd, argc, argv, print_added);
}

int flctl_bgp_neighbor_del(const struct fl_proto_cmd *cmd, int argc,
			   char **argv)
{
	if (argc != 1)
		return usage_error("%s needs one ADDR", cmd_name(cmd));
	return flctl_run_words(cmd, argc, argv, print_deleted);
}

static void print_status(struct json_object *data)
{
	struct json_object *sp = json_object_object_get(data, "speaker");
	struct json_object *nbs = json_object_object_get(data, "neighbors");
	struct json_object *fs = json_object_object_get(data, "flowspec");
	struct json_object *rx = json_object_object_get(fs, "received");
	struct json_object *tx = json_object_object_get(fs, "announced");
	struct json_object *ref =
		json_object_object_get(rx, "refused_by_reason");
	size_t i;

	printf("speaker  %s gobgpd, %s (pid %llu, %llu restarts), target %s\n",
	       json_object_get_boolean(json_object_object_get(sp, "managed")) ?
		       "own" :
		       "external",
	       json_object_get_boolean(json_object_object_get(sp, "running")) ?
		       "running" :
		       "not running",
	       (unsigned long long)json_get_u64(sp, "pid"),
	       (unsigned long long)json_get_u64(sp, "restarts"),
	       json_get_str(sp, "target"));
	printf("local    AS %llu, router id %s; announce %s, receive %s (max %llu a peer)\n",
	       (unsigned long long)json_get_u64(data, "as"),
	       json_get_str(data, "router_id"),
	       json_object_get_boolean(
		       json_object_object_get(data, "announce")) ?
		       "on" :
		       "off",
	       json_object_get_boolean(
		       json_object_object_get(data, "receive")) ?
		       "on" :
		       "off",
	       (unsigned long long)json_get_u64(data, "receive_max"));
	printf("\n%-40s %-10s %-12s %8s %8s %9s %9s\n", "NEIGHBOR", "AS",
	       "STATE", "UPTIME", "RECEIVED", "INSTALLED", "ADVERTISED");
	for (i = 0; nbs && i < json_object_array_length(nbs); i++) {
		struct json_object *n = json_object_array_get_idx(nbs, i);

		printf("%-40s %-10llu %-12s %7llus %8llu %9llu %9llu\n",
		       json_get_str(n, "address"),
		       (unsigned long long)json_get_u64(n, "as"),
		       json_get_str(n, "state"),
		       (unsigned long long)json_get_u64(n, "uptime"),
		       (unsigned long long)json_get_u64(n, "routes_received"),
		       (unsigned long long)json_get_u64(n, "routes_installed"),
		       (unsigned long long)json_get_u64(n,
							"routes_advertised"));
	}
	printf("\nreceived  %llu routes now; installed %llu, accept %llu, unsupported %llu, refused %llu (malformed %llu, unmatchable %llu, empty %llu, too-big %llu, over-limit %llu, invalid %llu, engine %llu, non-terminal %llu), withdrawn %llu\n",
	       (unsigned long long)json_get_u64(rx, "routes"),
	       (unsigned long long)json_get_u64(rx, "installed"),
	       (unsigned long long)json_get_u64(rx, "accept"),
	       (unsigned long long)json_get_u64(rx, "unsupported"),
	       (unsigned long long)json_get_u64(rx, "refused"),
	       (unsigned long long)json_get_u64(ref, "malformed"),
	       (unsigned long long)json_get_u64(ref, "unmatchable"),
	       (unsigned long long)json_get_u64(ref, "empty"),
	       (unsigned long long)json_get_u64(ref, "too-big"),
	       (unsigned long long)json_get_u64(ref, "over-limit"),
	       (unsigned long long)json_get_u64(ref, "invalid"),
	       (unsigned long long)json_get_u64(ref, "engine"),
	       (unsigned long long)json_get_u64(ref, "non-terminal"),
	       (unsigned long long)json_get_u64(rx, "withdrawn"));
	printf("announced %llu routes now; %llu announced, %llu withdrawn, %llu not announceable\n",
	       (unsigned long long)json_get_u64(tx, "routes"),
	       (unsigned long long)json_get_u64(tx, "announced"),
	       (unsigned long long)json_get_u64(tx, "withdrawn"),
	       (unsigned long long)json_get_u64(tx, "not_announceable"));
	if (json_object_object_get(sp, "last_error"))
		printf("last error: %s\n", json_get_str(sp, "last_error"));
}

int flctl_bgp_status(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	if (argc)
		return arg_none(cmd, argc, argv);
	return flctl_run_words(cmd, 0, argv, print_status);
}

static void print_switch(struct json_object *data)
{
	struct json_object *v;

	if (json_object_object_get_ex(data, "announce", &v))
		printf("announce %s (%llu routes announced)\n",
		       json_object_get_boolean(v) ? "on" : "off",
		       (unsigned long long)json_get_u64(data, "announced"));
	if (json_object_object_get_ex(data, "receive", &v))
		printf("receive %s, max %llu routes a peer\n",
		       json_object_get_boolean(v) ? "on" : "off",
		       (unsigned long long)json_get_u64(data, "max"));
}

int flctl_flowspec_announce(const struct fl_proto_cmd *cmd, int argc,
			    char **argv)
{
	if (argc != 1 || (strcmp(argv[0], "on") && strcmp(argv[0], "off")))
		return usage_error("%s takes on or off", cmd_name(cmd));
	return flctl_run_words(cmd, argc, argv, print_switch);
}

int flctl_flowspec_receive(const struct fl_proto_cmd *cmd, int argc,
			   char **argv)
{
	long max;

	if (argc < 1 || (strcmp(argv[0], "on") && strcmp(argv[0], "off")))
		return usage_error("%s takes on or off, then max N",
				   cmd_name(cmd));
	if (argc > 1 && (argc != 3 || strcmp(argv[1], "max")))
		return usage_error("%s %s: unexpected '%s' (expected max N)",
				   cmd_name(cmd), argv[0], argv[1]);
	if (argc == 3 && !parse_number(argv[2], 1, 1000000, &max))
		return usage_error("bad max '%s': routes per peer, 1-1000000",
				   argv[2]);
	return flctl_run_words(cmd, argc, argv, print_switch);
}

static void print_list(struct json_object *data)
{
	struct json_object *rx = json_object_object_get(data, "received");
	struct json_object *tx = json_object_object_get(data, "announced");
	size_t i;

	if (rx) {
		printf("%-10s %-28s %-11s %-6s %s\n", "ID", "PEER", "STATUS",
		       "RULES", "ROUTE");
		for (i = 0; i < json_object_array_length(rx); i++) {
			struct json_object *r =
				json_object_array_get_idx(rx, i);

			printf("%-10llu %-28s %-11s %-6zu %s\n",
			       (unsigned long long)json_get_u64(r, "id"),
			       json_get_str(r, "peer"),
			       json_get_str(r, "status"),
			       json_object_array_length(
				       json_object_object_get(r, "rules")),
			       json_get_str(r, "route"));
			if (json_object_object_get(r, "why"))
				printf("%-10s %s: %s\n", "",
				       json_get_str(r, "reason"),
				       json_get_str(r, "why"));
		}
	}
	if (tx) {
		if (rx)
			printf("\n");
		printf("%-8s %-8s %s\n", "RULE", "ATTACK", "ANNOUNCED ROUTE");
		for (i = 0; i < json_object_array_length(tx); i++) {
			struct json_object *a =
				json_object_array_get_idx(tx, i);

			printf("%-8llu %-8llu %s\n",
			       (unsigned long long)json_get_u64(a, "rule"),
			       (unsigned long long)json_get_u64(a, "attack"),
			       json_get_str(a, "route"));
		}
	}
}

int flctl_flowspec_list(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	if (argc > 1 || (argc == 1 && strcmp(argv[0], "--received") &&
			 strcmp(argv[0], "--announced")))
		return usage_error("%s takes --received or --announced",
				   cmd_name(cmd));
	return flctl_run_words(cmd, argc, argv, print_list);
}

static void print_apps(struct json_object *data)
{
	struct json_object *apps = json_object_object_get(data, "apps");
	struct json_object *removed = json_object_object_get(data, "removed");
	char a[16], b[16], c[16], e[16];
	size_t i;

	if (removed) {
		printf("removed the threshold of %s\n",
		       json_get_str(removed, "app"));
		return;
	}
	if (!json_object_get_boolean(json_object_object_get(data, "announce")))
		printf("(flowspec announce is off: nothing is announced)\n");
	printf("%-16s %-6s %10s %-22s %4s %5s %10s %10s %-7s %s\n", "APP",
	       "METRIC", "LIMIT", "ACTION", "TOP", "HOLD", "PPS", "BPS",
	       "STATE", "ENDPOINTS");
	for (i = 0; apps && i < json_object_array_length(apps); i++) {
		struct json_object *o = json_object_array_get_idx(apps, i);
		struct json_object *eps =
			json_object_object_get(o, "endpoints");
		char action[32];
		size_t k;

		if (json_object_object_get(o, "rate"))
			snprintf(action, sizeof(action), "rate-limit %sbps",
				 si(json_get_u64(o, "rate"), a, sizeof(a)));
		else
			snprintf(action, sizeof(action), "drop");
		printf("%-16s %-6s %10s %-22s %4llu %4llus %10s %10s %-7s ",
		       json_get_str(o, "app"), json_get_str(o, "metric"),
		       si(json_get_u64(o, "limit"), b, sizeof(b)), action,
		       (unsigned long long)json_get_u64(o, "top"),
		       (unsigned long long)json_get_u64(o, "hold"),
		       si(json_get_double(o, "pps"), c, sizeof(c)),
		       si(json_get_double(o, "bps"), e, sizeof(e)),
		       json_object_get_boolean(
			       json_object_object_get(o, "active")) ?
			       "above" :
			       "under");
		for (k = 0; eps && k < json_object_array_length(eps); k++)
			printf("%s%s", k ? "," : "",
			       json_object_get_string(
				       json_object_array_get_idx(eps, k)));
		printf("\n");
	}
}

int flctl_flowspec_app(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	if (argc == 1 ||
	    (argc > 2 && strcmp(argv[1], "bps") && strcmp(argv[1], "pps")))
		return usage_error(
			"%s: APP bps RATE, APP pps RATE or APP off (e.g. YouTube bps 500M)",
			cmd_name(cmd));
	if (argc == 2 && strcmp(argv[1], "off"))
		return usage_error("%s %s: expected off, or bps|pps RATE",
				   cmd_name(cmd), argv[0]);
	return flctl_run_words(cmd, argc, argv, print_apps);
}
