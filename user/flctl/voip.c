// SPDX-License-Identifier: Apache-2.0
/*
 * flctl voip { status | ports | carrier ... | threshold ... | sources |
 *              tracking | calls | streams }
 *
 * Sent as {"cmd": "voip-...", "words": [...]}: flowlensd parses the words
 * and names what is wrong with them.
 */
#include <stdio.h>
#include <string.h>

#include "flctl.h"

void flctl_help_voip(void)
{
	printf("METHOD := invite | register | options | bye | cancel | ack | subscribe |\n"
	       "          notify | message | info | prack | update | refer | publish\n"
	       "\n"
	       "SIP flood protection at the driver. XDP counts every UDP datagram and\n"
	       "TCP segment from or to a SIP port by its request method (or response\n"
	       "class), and for a prefix with a threshold, exactly per protected host\n"
	       "and per sender that sends enough to matter (a count-min sketch decides,\n"
	       "so a flood from random spoofed sources inserts nothing). flowlensd\n"
	       "judges the rates every 100 ms, over the last second:\n"
	       "\n"
	       "  a source over a method's pps   an attack; rules for that source\n"
	       "                                 towards PREFIX on the SIP ports\n"
	       "                                 (UDP and TCP): drop or rate-limit\n"
	       "  a host over a method's total   a distributed flood; a method limiter\n"
	       "                                 in XDP holds that method to that host\n"
	       "                                 to total/s, other methods untouched\n"
	       "  a source over rtp pps          an RTP burst: rules for that source's\n"
	       "                                 UDP towards PREFIX on the ports of its\n"
	       "                                 streams (all its UDP for more than 8)\n"
	       "  a source over unsolicited pps  unsolicited media (RTP towards PREFIX\n"
	       "                                 on ports no live call's SDP named):\n"
	       "                                 rules for those ports, the same way\n"
	       "\n"
	       "RTP is counted by the workers, while call tracking is on: what the\n"
	       "escalation cap lets through reaches them, so set it above the largest\n"
	       "rtp limit ('flctl config set escalate-pps').\n"
	       "\n"
	       "Attacks are the DDoS engine's ('flctl ddos attacks'): events, hold,\n"
	       "history, FlowSpec announcements of their rules. A carrier is never\n"
	       "blocked, limited or named in a rule, and its packets are counted.\n"
	       "\n"
	       "  status                  counting on or off, the SIP ports, packets\n"
	       "                          by method and class, what the limiters\n"
	       "                          dropped, the VoIP attacks that are active\n"
	       "  ports [PORT...]         show the SIP ports, or set them (up to 8;\n"
	       "                          default 5060)\n"
	       "  carrier add PREFIX [name NAME]   a trunk: skips every mitigation\n"
	       "  carrier del PREFIX\n"
	       "  carrier list            carriers with the packets each sent\n"
	       "  threshold add PREFIX method METHOD pps N [total N]\n"
	       "                [action { drop | rate-limit N[pps] }] [hold S]\n"
	       "                          per source: N packets/s of METHOD towards\n"
	       "                          PREFIX; per host: total (default 10 x N)\n"
	       "                          from every source together; action for a\n"
	       "                          source's rules (default drop); hold: seconds\n"
	       "                          under 90 %% of the limit before the attack\n"
	       "                          ends (default 60). Again for the same PREFIX\n"
	       "                          and METHOD: changed. The longest PREFIX\n"
	       "                          holding a host is the one that applies.\n"
	       "  threshold add PREFIX { rtp | unsolicited } pps N\n"
	       "                [action { drop | rate-limit N[pps] }] [hold S]\n"
	       "                          per source: N RTP packets/s towards PREFIX\n"
	       "                          (rtp), or N of them that no SDP negotiated\n"
	       "                          (unsolicited)\n"
	       "  threshold del PREFIX [method METHOD | rtp | unsolicited]\n"
	       "  threshold list\n"
	       "  sources                 protected hosts and tracked senders, with\n"
	       "                          their rates (per second) and packets by method,\n"
	       "                          and RTP senders towards protected prefixes\n"
	       "                          (role rtp-source: rtp and unsolicited)\n"
	       "  tracking [on | off | auto]\n"
	       "                          SIP dialogs and RTP streams in the workers:\n"
	       "                          show, or set (auto, the default: on while a\n"
	       "                          threshold, a carrier or a HEP collector exists)\n"
	       "  calls                   live calls and those ended in the last 32 s:\n"
	       "                          Call-ID, from, to, state (trying, ringing,\n"
	       "                          answered, ended, failed, cancelled), start,\n"
	       "                          duration, methods, and each side's SDP media\n"
	       "                          (address, port, codecs) with the RTP streams\n"
	       "                          seen towards it (SSRC, payload type, packets,\n"
	       "                          lost, jitter)\n"
	       "  streams                 every RTP stream: SSRC, source, destination,\n"
	       "                          payload type, packets, lost, jitter, whether a\n"
	       "                          live dialog's SDP negotiated it, and whether it\n"
	       "                          is unsolicited (towards a host under a VoIP\n"
	       "                          threshold on a port no SDP named)\n"
	       "\n"
	       "Counting is on while a port was set, or a threshold or a carrier\n"
	       "exists; call tracking (auto) while a threshold, a carrier or a HEP\n"
	       "collector does. Everything is kept in voip.json next to the state\n"
	       "file; the rules and limiters stay enforced while flowlensd is down.\n"
	       "\n"
	       "Examples:\n"
	       "  %1$s voip carrier add 192.0.2.0/26 name trunk-a\n"
	       "  %1$s voip threshold add 198.51.100.0/24 method invite pps 50 action drop hold 60\n"
	       "  %1$s voip threshold add 198.51.100.0/24 method register pps 20 action rate-limit 5pps\n"
	       "  %1$s voip threshold add 198.51.100.0/24 method options pps 10\n"
	       "  %1$s voip threshold add 198.51.100.0/24 rtp pps 2000\n"
	       "  %1$s voip threshold add 198.51.100.0/24 unsolicited pps 50 hold 300\n"
	       "  %1$s -j voip status\n",
	       prog_name);
}

static const char *const kinds[] = {
	"invite",    "register", "options", "bye",  "cancel", "ack",
	"subscribe", "notify",	 "message", "info", "prack",  "update",
	"refer",     "publish",	 "1xx",	    "2xx",  "3xx",    "4xx",
	"5xx",	     "6xx",	 "other",
};

static void print_ports(struct json_object *data)
{
	struct json_object *a = json_object_object_get(data, "ports");
	size_t i;

	printf("SIP ports:");
	for (i = 0; a && i < json_object_array_length(a); i++)
		printf(" %s%d", i ? "" : "id ",
		       json_object_get_int(json_object_array_get_idx(a, i)));
	printf("\n");
}

static void print_status(struct json_object *data)
{
	struct json_object *p = json_object_object_get(data, "packets");
	struct json_object *l = json_object_object_get(data, "limited");
	struct json_object *a = json_object_object_get(data, "attacks");
	char b1[16], b2[16];
	size_t i;

	printf("counting:   %s\n",
	       json_object_get_boolean(
		       json_object_object_get(data, "counting")) ?
		       "on" :
		       "off (no port set, threshold or carrier)");
	print_ports(data);
	printf("carriers:   %llu   thresholds: %llu   limiters: %llu   tracked entries: %llu\n",
	       (unsigned long long)json_get_u64(data, "carriers"),
	       (unsigned long long)json_get_u64(data, "thresholds"),
	       (unsigned long long)json_get_u64(data, "limiters"),
	       (unsigned long long)json_get_u64(data, "entries"));
	printf("towards protected prefixes: %s packets; senders tracked: %s\n",
	       si(json_get_u64(data, "protected_packets"), b1, sizeof(b1)),
	       si(json_get_u64(data, "sources_tracked"), b2, sizeof(b2)));
	printf("\n%-10s %12s %12s\n", "KIND", "PACKETS", "LIMITED");
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		__u64 n = json_get_u64(p, kinds[i]);

		if (!n)
			continue;
		printf("%-10s %12llu", kinds[i], (unsigned long long)n);
		if (i < 14)
			printf(" %12llu",
			       (unsigned long long)json_get_u64(l, kinds[i]));
		printf("\n");
	}
	printf("\nactive VoIP attacks:");
	for (i = 0; a && i < json_object_array_length(a); i++)
		printf(" %d",
		       json_object_get_int(json_object_array_get_idx(a, i)));
	printf("%s ('flctl ddos attacks')\n",
	       a && json_object_array_length(a) ? "" : " none");
	printf("RTP sources towards protected prefixes: %llu\n",
	       (unsigned long long)json_get_u64(data, "rtp_sources"));
	printf("call tracking: %s (%s); unsolicited RTP packets: %llu\n",
	       json_object_get_boolean(
		       json_object_object_get(data, "tracking_active")) ?
		       "on" :
		       "off",
	       json_get_str(data, "tracking"),
	       (unsigned long long)json_get_u64(data,
						"unsolicited_rtp_packets"));
}

int flctl_voip_status(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	if (argc)
		return arg_none(cmd, argc, argv);
	return flctl_run_words(cmd, 0, argv, print_status);
}

int flctl_voip_ports(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	return flctl_run_words(cmd, argc, argv, print_ports);
}

static void print_carrier_header(void)
{
	printf("%-43s %-24s %12s\n", "PREFIX", "NAME", "PACKETS");
}

static void print_carrier_line(struct json_object *c)
{
	printf("%-43s %-24s %12llu\n", json_get_str(c, "prefix"),
	       json_get_str(c, "name"),
	       (unsigned long long)json_get_u64(c, "packets"));
}

static void print_carrier_one(struct json_object *data)
{
	print_carrier_header();
	print_carrier_line(json_object_object_get(data, "carrier"));
}

int flctl_voip_carrier_add(const struct fl_proto_cmd *cmd, int argc,
			   char **argv)
{
	if (argc != 1 && argc != 3)
		return usage_error("%s needs PREFIX [name NAME]",
				   cmd_name(cmd));
	return flctl_run_words(cmd, argc, argv, print_carrier_one);
}

int flctl_voip_carrier_del(const struct fl_proto_cmd *cmd, int argc,
			   char **argv)
{
	if (argc != 1)
		return usage_error("%s needs one PREFIX", cmd_name(cmd));
	return flctl_run_words(cmd, argc, argv, print_carrier_one);
}

static void print_carriers(struct json_object *data)
{
	struct json_object *a = json_object_object_get(data, "carriers");
	size_t i;

	print_carrier_header();
	for (i = 0; a && i < json_object_array_length(a); i++)
		print_carrier_line(json_object_array_get_idx(a, i));
}

int flctl_voip_carrier_list(const struct fl_proto_cmd *cmd, int argc,
			    char **argv)
{
	if (argc)
		return arg_none(cmd, argc, argv);
	return flctl_run_words(cmd, 0, argv, print_carriers);
}

static void print_threshold_header(void)
{
	printf("%-43s %-11s %10s %10s %-18s %6s\n", "PREFIX", "METHOD", "PPS",
	       "TOTAL", "ACTION", "HOLD");
}

static void print_threshold_line(struct json_object *t)
{
	char action[32];

	if (!strcmp(json_get_str(t, "action"), "rate-limit"))
		snprintf(action, sizeof(action), "rate-limit %llupps",
			 (unsigned long long)json_get_u64(t, "rate"));
	else
		snprintf(action, sizeof(action), "drop");
	char total[24] = "-";

	if (json_object_object_get(t, "total"))
		snprintf(total, sizeof(total), "%llu",
			 (unsigned long long)json_get_u64(t, "total"));
	printf("%-43s %-11s %10llu %10s %-18s %6llu\n",
	       json_get_str(t, "prefix"), json_get_str(t, "method"),
	       (unsigned long long)json_get_u64(t, "pps"), total, action,
	       (unsigned long long)json_get_u64(t, "hold"));
}

static void print_threshold_one(struct json_object *data)
{
	print_threshold_header();
	print_threshold_line(json_object_object_get(data, "threshold"));
}

int flctl_voip_threshold_add(const struct fl_proto_cmd *cmd, int argc,
			     char **argv)
{
	if (argc < 3)
		return usage_error(
			"%s needs PREFIX method METHOD pps N (e.g. 198.51.100.0/24 method invite pps 50), or PREFIX rtp pps N",
			cmd_name(cmd));
	return flctl_run_words(cmd, argc, argv, print_threshold_one);
}

static void print_removed(struct json_object *data)
{
	struct json_object *a = json_object_object_get(data, "removed");
	size_t i;

	print_threshold_header();
	for (i = 0; a && i < json_object_array_length(a); i++)
		print_threshold_line(json_object_array_get_idx(a, i));
}

int flctl_voip_threshold_del(const struct fl_proto_cmd *cmd, int argc,
			     char **argv)
{
	if (argc < 1 || argc > 3)
		return usage_error(
			"%s needs PREFIX [method METHOD | rtp | unsolicited]",
			cmd_name(cmd));
	return flctl_run_words(cmd, argc, argv, print_removed);
}

static void print_thresholds(struct json_object *data)
{
	struct json_object *a = json_object_object_get(data, "thresholds");
	size_t i;

	print_threshold_header();
	for (i = 0; a && i < json_object_array_length(a); i++)
		print_threshold_line(json_object_array_get_idx(a, i));
}

int flctl_voip_threshold_list(const struct fl_proto_cmd *cmd, int argc,
			      char **argv)
{
	if (argc)
		return arg_none(cmd, argc, argv);
	return flctl_run_words(cmd, 0, argv, print_thresholds);
}

static void print_sources(struct json_object *data)
{
	struct json_object *a = json_object_object_get(data, "entries");
	size_t i;

	printf("%-40s %-10s %-20s %s\n", "ADDRESS", "ROLE", "PREFIX",
	       "RATES (/s) AND PACKETS BY METHOD");
	for (i = 0; a && i < json_object_array_length(a); i++) {
		struct json_object *e = json_object_array_get_idx(a, i);
		struct json_object *r = json_object_object_get(e, "rates");
		struct json_object *c = json_object_object_get(e, "packets");

		printf("%-40s %-10s %-20s", json_get_str(e, "address"),
		       json_get_str(e, "role"), json_get_str(e, "prefix"));
		json_object_object_foreach(c, k, val) {
			printf(" %s %.1f/s (%llu)", k, json_get_double(r, k),
			       (unsigned long long)json_object_get_uint64(val));
		}
		printf("\n");
	}
}

int flctl_voip_sources(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	if (argc)
		return arg_none(cmd, argc, argv);
	return flctl_run_words(cmd, 0, argv, print_sources);
}

static void print_tracking(struct json_object *data)
{
	printf("call tracking: %s (%s)\n",
	       json_object_get_boolean(json_object_object_get(data, "active")) ?
		       "on" :
		       "off",
	       json_get_str(data, "tracking"));
}

int flctl_voip_tracking(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	if (argc > 1)
		return usage_error("%s takes on, off or auto", cmd_name(cmd));
	return flctl_run_words(cmd, argc, argv, print_tracking);
}

static void print_rtp_line(struct json_object *r, const char *indent)
{
	printf("%s%-10s %-28s %4llu %9llu %6lld %9.2f\n", indent,
	       json_get_str(r, "ssrc"), json_get_str(r, "src"),
	       (unsigned long long)json_get_u64(r, "payload_type"),
	       (unsigned long long)json_get_u64(r, "packets"),
	       (long long)json_object_get_int64(
		       json_object_object_get(r, "lost")),
	       json_get_double(r, "jitter_ms"));
}

static void print_calls(struct json_object *data)
{
	struct json_object *a = json_object_object_get(data, "calls");
	size_t i, j, k;

	if (!json_object_get_boolean(json_object_object_get(data, "tracking")))
		printf("call tracking is off ('flctl voip tracking on')\n");
	for (i = 0; a && i < json_object_array_length(a); i++) {
		struct json_object *c = json_object_array_get_idx(a, i);
		struct json_object *m = json_object_object_get(c, "methods");
		struct json_object *media = json_object_object_get(c, "media");

		printf("%s\n  from %s  to %s\n  %s", json_get_str(c, "call_id"),
		       json_get_str(c, "from"), json_get_str(c, "to"),
		       json_get_str(c, "state"));
		if (json_get_u64(c, "final_status"))
			printf(" (%llu)", (unsigned long long)json_get_u64(
						  c, "final_status"));
		printf("  duration %.1f s  methods",
		       json_get_double(c, "duration_s"));
		for (j = 0; m && j < json_object_array_length(m); j++)
			printf(" %s", json_object_get_string(
					      json_object_array_get_idx(m, j)));
		printf("\n");
		for (j = 0; media && j < json_object_array_length(media); j++) {
			struct json_object *o =
				json_object_array_get_idx(media, j);
			struct json_object *cs =
				json_object_object_get(o, "codecs");
			struct json_object *rtp =
				json_object_object_get(o, "rtp");

			printf("  %-6s %s %s:%llu %s", json_get_str(o, "side"),
			       json_get_str(o, "media"),
			       json_get_str(o, "addr"),
			       (unsigned long long)json_get_u64(o, "port"),
			       json_get_str(o, "direction"));
			for (k = 0; cs && k < json_object_array_length(cs); k++)
				printf("%s%s", k ? ", " : "  ",
				       json_object_get_string(
					       json_object_array_get_idx(cs,
									 k)));
			printf("\n");
			for (k = 0; rtp && k < json_object_array_length(rtp);
			     k++)
				print_rtp_line(json_object_array_get_idx(rtp,
									 k),
					       "    rtp ");
		}
	}
	printf("%llu dialogs (of %llu), %llu dropped (table full)\n",
	       (unsigned long long)json_get_u64(data, "dialogs"),
	       (unsigned long long)json_get_u64(data, "dialogs_max"),
	       (unsigned long long)json_get_u64(data, "dialogs_dropped"));
}

int flctl_voip_calls(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	if (argc)
		return arg_none(cmd, argc, argv);
	return flctl_run_words(cmd, 0, argv, print_calls);
}

static void print_streams(struct json_object *data)
{
	struct json_object *a = json_object_object_get(data, "streams");
	size_t i;

	if (!json_object_get_boolean(json_object_object_get(data, "tracking")))
		printf("call tracking is off ('flctl voip tracking on')\n");
	printf("%-10s %-28s %-28s %4s %9s %6s %9s %-10s %s\n", "SSRC", "SRC",
	       "DST", "PT", "PACKETS", "LOST", "JITTER_MS", "NEGOTIATED",
	       "UNSOLICITED");
	for (i = 0; a && i < json_object_array_length(a); i++) {
		struct json_object *r = json_object_array_get_idx(a, i);

		printf("%-10s %-28s %-28s %4llu %9llu %6lld %9.2f %-10s %s\n",
		       json_get_str(r, "ssrc"), json_get_str(r, "src"),
		       json_get_str(r, "dst"),
		       (unsigned long long)json_get_u64(r, "payload_type"),
		       (unsigned long long)json_get_u64(r, "packets"),
		       (long long)json_object_get_int64(
			       json_object_object_get(r, "lost")),
		       json_get_double(r, "jitter_ms"),
		       json_object_get_boolean(
			       json_object_object_get(r, "negotiated")) ?
			       "yes" :
			       "no",
		       json_object_get_boolean(
			       json_object_object_get(r, "unsolicited")) ?
			       "yes" :
			       "no");
	}
	printf("%llu streams (of %llu), %llu dropped (table full)\n",
	       (unsigned long long)json_get_u64(data, "active"),
	       (unsigned long long)json_get_u64(data, "max"),
	       (unsigned long long)json_get_u64(data, "dropped"));
}

int flctl_voip_streams(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	if (argc)
		return arg_none(cmd, argc, argv);
	return flctl_run_words(cmd, 0, argv, print_streams);
}
