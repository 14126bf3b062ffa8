// SPDX-License-Identifier: Apache-2.0
/*
 * flctl voip { status | ports | carrier ... | threshold ... | sources }
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
	       "  threshold del PREFIX [method METHOD]\n"
	       "  threshold list\n"
	       "  sources                 protected hosts and tracked senders, with\n"
	       "                          their rates (per second) and packets by method\n"
	       "\n"
	       "Counting is on while a port was set, or a threshold or a carrier\n"
	       "exists. Everything is kept in voip.json next to the state file; the\n"
	       "rules and limiters stay enforced while flowlensd is down.\n"
	       "\n"
	       "Examples:\n"
	       "  %1$s voip carrier add 192.0.2.0/26 name trunk-a\n"
	       "  %1$s voip threshold add 198.51.100.0/24 method invite pps 50 action drop hold 60\n"
	       "  %1$s voip threshold add 198.51.100.0/24 method register pps 20 action rate-limit 5pps\n"
	       "  %1$s voip threshold add 198.51.100.0/24 method options pps 10\n"
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
	printf("%-43s %-10s %10s %10s %-18s %6s\n", "PREFIX", "METHOD", "PPS",
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
	printf("%-43s %-10s %10llu %10llu %-18s %6llu\n",
	       json_get_str(t, "prefix"), json_get_str(t, "method"),
	       (unsigned long long)json_get_u64(t, "pps"),
	       (unsigned long long)json_get_u64(t, "total"), action,
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
			"%s needs PREFIX method METHOD pps N (e.g. 198.51.100.0/24 method invite pps 50)",
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
	if (argc != 1 && argc != 3)
		return usage_error("%s needs PREFIX [method METHOD]",
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

	printf("%-40s %-7s %-20s %s\n", "ADDRESS", "ROLE", "PREFIX",
	       "RATES (/s) AND PACKETS BY METHOD");
	for (i = 0; a && i < json_object_array_length(a); i++) {
		struct json_object *e = json_object_array_get_idx(a, i);
		struct json_object *r = json_object_object_get(e, "rates");
		struct json_object *c = json_object_object_get(e, "packets");

		printf("%-40s %-7s %-20s", json_get_str(e, "address"),
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
