// SPDX-License-Identifier: Apache-2.0
/*
 * flctl policy { add | del | list }
 * flctl policer { add | del | list }
 *
 * Sent as {"cmd": "policy-add", "words": [...]}: flowlensd checks the
 * names against nDPI's tables and names what is wrong.
 */
#include <stdio.h>
#include <string.h>

#include "flctl.h"

void flctl_help_policy(void)
{
	printf("MATCH  := app NAME | category NAME | sni PATTERN | ja3c HASH | risk NAME\n"
	       "ACTION := drop | permit | police POLICER | dscp-mark N | steer table N\n"
	       "\n"
	       "What the packets of an application's flows may do, enforced in XDP on\n"
	       "the flow cache's verdict (stage 6): the packets of a flow that nDPI is\n"
	       "still classifying always pass, so it can finish; from its verdict on,\n"
	       "every packet obeys the first policy (lowest order, then oldest) that\n"
	       "matches it. Adding, changing or removing a policy applies to flows\n"
	       "already classified within a second, without classifying them again.\n"
	       "\n"
	       "  app NAME       nDPI's application or master protocol: a TLS.YouTube\n"
	       "                 flow is both YouTube and TLS ('flctl show apps')\n"
	       "  category NAME  nDPI's category (Video, Media, Download-FileTransfer-\n"
	       "                 FileSharing, ...)\n"
	       "  sni PATTERN    the TLS/QUIC SNI (or HTTP Host): exact, or *.DOMAIN for\n"
	       "                 DOMAIN and every name under it\n"
	       "  ja3c HASH      the JA3 of the client's hello, 32 hex digits\n"
	       "  risk NAME      one of nDPI's flow risks, its words joined by '-'\n"
	       "                 (known-protocol-on-non-standard-port)\n"
	       "  dev IFACE      only flows whose first packet came in on IFACE\n"
	       "  from PREFIX    only packets sent from PREFIX (to: sent to it)\n"
	       "  order N        lowest first (default 1000)\n"
	       "\n"
	       "  drop           every packet\n"
	       "  permit         counted, and no later policy applies\n"
	       "  police NAME    through the policer NAME ('flctl policer add')\n"
	       "  dscp-mark N    re-mark every packet with DSCP N (0-63), ECN kept\n"
	       "  steer table N  router mode: route with FIB table N ('ip route ...\n"
	       "                 table N') instead of the main table\n"
	       "\n"
	       "Names are checked against nDPI's own tables; a bad one is refused with\n"
	       "the names close to it. 'list' counts per policy: matched (the packets\n"
	       "of its flows before their verdicts included), dropped, conformed,\n"
	       "exceeded, re-marked and steered, packets and bytes each. Policies are\n"
	       "kept in policy.json next to the state file, and stay enforced while\n"
	       "flowlensd is down.\n"
	       "\n"
	       "Examples:\n"
	       "  %1$s policy add app BitTorrent action drop\n"
	       "  %1$s policy add category Video action police video-cap\n"
	       "  %1$s policy add sni '*.tiktok.com' action drop\n"
	       "  %1$s policy add app YouTube from 192.0.2.0/24 action dscp-mark 10\n"
	       "  %1$s policy add app Netflix action steer table 100\n"
	       "  %1$s -j policy list\n",
	       prog_name);
}

void flctl_help_policer(void)
{
	printf("RATE := bits/s (5M, 5Mbps) or packets/s (10kpps); up to 400G\n"
	       "\n"
	       "A token bucket that every policy naming it shares, across every CPU and\n"
	       "every flow: 'police NAME' holds all of them to RATE together. Bits/s\n"
	       "count IP datagrams.\n"
	       "\n"
	       "  add NAME rate RATE   a policer; again with the same NAME changes it\n"
	       "                       (and refills its bucket)\n"
	       "      burst B          bytes (40K) for a bits/s rate, packets for\n"
	       "                       packets/s (default: 100 ms of the rate; at\n"
	       "                       least 10 ms of it and 1500 bytes: the\n"
	       "                       datapath's clock moves a tick at a time)\n"
	       "      exceed drop      what is over the rate is dropped (default)\n"
	       "      exceed dscp-mark N  ... passed, re-marked with DSCP N\n"
	       "  del NAME             refused while a policy names it\n"
	       "  list                 policers with what conformed and exceeded\n"
	       "\n"
	       "Examples:\n"
	       "  %1$s policer add video-cap rate 5M burst 40K exceed dscp-mark 8\n"
	       "  %1$s policer add dns-cap rate 10kpps\n",
	       prog_name);
}

static void print_policy_line(struct json_object *p)
{
	struct json_object *c = json_object_object_get(p, "counters");
	char action[48], where[96] = "", a[16], b[16], e[16], r[16];

	snprintf(action, sizeof(action), "%s", json_get_str(p, "action"));
	if (json_object_object_get(p, "policer"))
		snprintf(action, sizeof(action), "police %s",
			 json_get_str(p, "policer"));
	else if (json_object_object_get(p, "dscp"))
		snprintf(action, sizeof(action), "dscp-mark %llu",
			 (unsigned long long)json_get_u64(p, "dscp"));
	else if (json_object_object_get(p, "table"))
		snprintf(action, sizeof(action), "steer table %llu",
			 (unsigned long long)json_get_u64(p, "table"));
	if (json_object_object_get(p, "dev"))
		snprintf(where, sizeof(where), " dev %s",
			 json_get_str(p, "dev"));
	if (json_object_object_get(p, "from"))
		snprintf(where + strlen(where), sizeof(where) - strlen(where),
			 " from %s", json_get_str(p, "from"));
	if (json_object_object_get(p, "to"))
		snprintf(where + strlen(where), sizeof(where) - strlen(where),
			 " to %s", json_get_str(p, "to"));
	printf("%-6llu %-6llu %-9s %-32s %-22s %9s %9s %9s %9s%s\n",
	       (unsigned long long)json_get_u64(p, "id"),
	       (unsigned long long)json_get_u64(p, "order"),
	       json_get_str(p, "match"), json_get_str(p, "value"), action,
	       si(json_get_u64(c, "matched_packets"), a, sizeof(a)),
	       si(json_get_u64(c, "dropped_packets"), b, sizeof(b)),
	       si(json_get_u64(c, "exceeded_packets"), e, sizeof(e)),
	       si(json_get_u64(c, "remarked_packets"), r, sizeof(r)), where);
}

static void print_policy_header(void)
{
	printf("%-6s %-6s %-9s %-32s %-22s %9s %9s %9s %9s\n", "ID", "ORDER",
	       "MATCH", "VALUE", "ACTION", "MATCHED", "DROPPED", "EXCEEDED",
	       "REMARKED");
}

static void print_policy_one(struct json_object *data)
{
	print_policy_header();
	print_policy_line(json_object_object_get(data, "policy"));
}

int flctl_policy_add(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	if (argc < 4)
		return usage_error(
			"%s needs MATCH VALUE action ACTION (e.g. app BitTorrent action drop)",
			cmd_name(cmd));
	return flctl_run_words(cmd, argc, argv, print_policy_one);
}

int flctl_policy_del(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	long id;

	if (argc != 1 || !parse_number(argv[0], 1, 0xffffffffL, &id))
		return usage_error("%s needs one policy ID ('%s policy list')",
				   cmd_name(cmd), prog_name);
	return flctl_run_words(cmd, argc, argv, print_policy_one);
}

static void print_policies(struct json_object *data)
{
	struct json_object *a = json_object_object_get(data, "policies");
	size_t i;

	print_policy_header();
	for (i = 0; a && i < json_object_array_length(a); i++)
		print_policy_line(json_object_array_get_idx(a, i));
}

int flctl_policy_list(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	if (argc)
		return arg_none(cmd, argc, argv);
	return flctl_run_words(cmd, 0, argv, print_policies);
}

static void print_policer_line(struct json_object *q)
{
	struct json_object *c = json_object_object_get(q, "counters");
	char rate[24], burst[24], exceed[24], a[16], b[16];
	int pps = !strcmp(json_get_str(q, "unit"), "pps");

	snprintf(rate, sizeof(rate), "%s%s",
		 si(json_get_u64(q, "rate"), a, sizeof(a)),
		 pps ? "pps" : "bps");
	snprintf(burst, sizeof(burst), "%s%s",
		 si(json_get_u64(q, "burst"), b, sizeof(b)), pps ? "pkt" : "B");
	if (json_object_object_get(q, "exceed_dscp"))
		snprintf(exceed, sizeof(exceed), "dscp-mark %llu",
			 (unsigned long long)json_get_u64(q, "exceed_dscp"));
	else
		snprintf(exceed, sizeof(exceed), "drop");
	printf("%-20s %10s %9s %-13s %8llu %10s", json_get_str(q, "name"), rate,
	       burst, exceed, (unsigned long long)json_get_u64(q, "policies"),
	       si(json_get_u64(c, "conformed_packets"), a, sizeof(a)));
	printf(" %10s\n",
	       si(json_get_u64(c, "exceeded_packets"), b, sizeof(b)));
}

static void print_policer_header(void)
{
	printf("%-20s %10s %9s %-13s %8s %10s %10s\n", "NAME", "RATE", "BURST",
	       "EXCEED", "POLICIES", "CONFORMED", "EXCEEDED");
}

static void print_policer_one(struct json_object *data)
{
	print_policer_header();
	print_policer_line(json_object_object_get(data, "policer"));
}

int flctl_policer_add(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	if (argc < 3)
		return usage_error(
			"%s needs NAME rate RATE (e.g. video-cap rate 5M burst 40K)",
			cmd_name(cmd));
	return flctl_run_words(cmd, argc, argv, print_policer_one);
}

int flctl_policer_del(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	if (argc != 1)
		return usage_error("%s needs one policer NAME", cmd_name(cmd));
	return flctl_run_words(cmd, argc, argv, print_policer_one);
}

static void print_policers(struct json_object *data)
{
	struct json_object *a = json_object_object_get(data, "policers");
	size_t i;

	print_policer_header();
	for (i = 0; a && i < json_object_array_length(a); i++)
		print_policer_line(json_object_array_get_idx(a, i));
}

int flctl_policer_list(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	if (argc)
		return arg_none(cmd, argc, argv);
	return flctl_run_words(cmd, 0, argv, print_policers);
}
