// SPDX-License-Identifier: Apache-2.0
/*
 * flctl hep { add | del | list }
 *
 * Sent as {"cmd": "hep-add", "words": [...]}: flowlensd checks the words
 * and names the one at fault.
 */
#include <stdio.h>
#include <string.h>

#include "flctl.h"

void flctl_help_hep(void)
{
	printf("ADDR := the collector's IPv4 or IPv6 address (203.0.113.50, 2001:db8::50)\n"
	       "PORT := its UDP port, 1-65535 (default 9060)\n"
	       "ID   := the capture agent id the collector shows for this node,\n"
	       "        0-4294967295 (default 2002, what heplify and sngrep send)\n"
	       "P    := the collector's authentication key, 1-64 characters\n"
	       "N    := HEP messages a second to this collector at most, 1 to 1M\n"
	       "        (10k: 10000; default 10k)\n"
	       "\n"
	       "Mirrors every SIP message the AF_XDP workers see, both directions, to\n"
	       "each collector (up to 8) as one HEP3 datagram over UDP: Homer,\n"
	       "heplify-server, sngrep -L, Kamailio's sipcapture. A datagram carries\n"
	       "the message's IP family and protocol, addresses and ports, the time\n"
	       "the worker saw it (seconds and microseconds), protocol type 1 (SIP),\n"
	       "the capture agent id, the authentication key when there is one, the\n"
	       "message itself, and its Call-ID as the correlation id.\n"
	       "\n"
	       "A SIP message is a UDP datagram or TCP segment from or to a SIP port\n"
	       "(5060 unless the VoIP settings name others), or of a flow nDPI named\n"
	       "SIP, whose payload begins with a request line ('INVITE sip:...\n"
	       "SIP/2.0') or a status line ('SIP/2.0 200 OK'); IPv4 and IPv6. A TCP\n"
	       "segment that begins a message goes as it is (with any message after\n"
	       "it in the segment); the rest of a message split over segments does\n"
	       "not. While a collector exists, SIP flows stay escalated to the\n"
	       "workers after nDPI's verdict, within the escalation cap ('flctl\n"
	       "config set escalate-pps'), so every message of a call is seen.\n"
	       "\n"
	       "Nothing waits on a collector: each worker sends from sockets of its\n"
	       "own without blocking. Each collector has a rate cap, a token bucket\n"
	       "every worker draws from: N messages a second, and N at once after a\n"
	       "quiet second. A message over it is not sent and is counted as\n"
	       "dropped, so a SIP flood cannot turn into a HEP flood.\n"
	       "\n"
	       "  add   start mirroring to a collector, named by ADDR and PORT; one\n"
	       "        that exists is refused (del it first to change it)\n"
	       "  del   stop; without PORT, the one collector ADDR has\n"
	       "  list  every collector, with what it was sent since it was added:\n"
	       "    sent         datagrams handed to the kernel\n"
	       "    dropped      messages over its rate cap, not sent\n"
	       "    send_errors  datagrams the socket refused (buffer full, no route)\n"
	       "        and sip_messages: the SIP messages the workers mirrored\n"
	       "\n"
	       "Collectors are kept in hep.json next to the state file: a restart or\n"
	       "a reboot keeps them (their counters start again from zero).\n"
	       "\n"
	       "Examples:\n"
	       "  %1$s hep add 203.0.113.50 port 9060 id 2001\n"
	       "  %1$s hep add 2001:db8::50 id 2001 password s3cret rate 2k\n"
	       "  %1$s -j hep list\n"
	       "  %1$s hep del 203.0.113.50\n",
	       prog_name);
}

static void collector_line(struct json_object *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s port %llu", json_get_str(c, "addr"),
		 (unsigned long long)json_get_u64(c, "port"));
}

static void print_added(struct json_object *data)
{
	struct json_object *c = json_object_object_get(data, "collector");
	struct json_object *warning;
	char name[96];

	collector_line(c, name, sizeof(name));
	printf("mirroring SIP to %s (id %llu, rate %llu/s%s)\n", name,
	       (unsigned long long)json_get_u64(c, "id"),
	       (unsigned long long)json_get_u64(c, "rate"),
	       json_object_get_boolean(json_object_object_get(c, "password")) ?
		       ", with a password" :
		       "");
	if (json_object_object_get_ex(data, "warning", &warning) && warning)
		fprintf(stderr, "%s: warning: %s\n", prog_name,
			json_object_get_string(warning));
}

static void print_deleted(struct json_object *data)
{
	struct json_object *c = json_object_object_get(data, "collector");
	char name[96];

	collector_line(c, name, sizeof(name));
	printf("no longer mirroring SIP to %s (sent %llu, dropped %llu, send errors %llu)\n",
	       name, (unsigned long long)json_get_u64(c, "sent"),
	       (unsigned long long)json_get_u64(c, "dropped"),
	       (unsigned long long)json_get_u64(c, "send_errors"));
}

int flctl_hep_add(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	if (argc < 1)
		return usage_error(
			"%s needs a collector's ADDR (e.g. 203.0.113.50 port 9060 id 2001)",
			cmd_name(cmd));
	return flctl_run_words(cmd, argc, argv, print_added);
}

int flctl_hep_del(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	if (argc < 1)
		return usage_error(
			"%s needs a collector's ADDR [port PORT] ('%s hep list')",
			cmd_name(cmd), prog_name);
	return flctl_run_words(cmd, argc, argv, print_deleted);
}

static void print_list(struct json_object *data)
{
	struct json_object *a = json_object_object_get(data, "collectors"), *c;
	size_t i, n = a ? json_object_array_length(a) : 0;
	int width = strlen("COLLECTOR");

	if (!n) {
		printf("no HEP collectors\n");
		return;
	}
	for (i = 0; i < n; i++) {
		int len = strlen(
			json_get_str(json_object_array_get_idx(a, i), "addr"));

		if (len > width)
			width = len;
	}
	printf("%-*s  %5s  %10s  %7s  %4s  %12s  %12s  %11s\n", width,
	       "COLLECTOR", "PORT", "ID", "RATE", "AUTH", "SENT", "DROPPED",
	       "SEND_ERRORS");
	for (i = 0; i < n; i++) {
		c = json_object_array_get_idx(a, i);
		printf("%-*s  %5llu  %10llu  %7llu  %4s  %12llu  %12llu  %11llu\n",
		       width, json_get_str(c, "addr"),
		       (unsigned long long)json_get_u64(c, "port"),
		       (unsigned long long)json_get_u64(c, "id"),
		       (unsigned long long)json_get_u64(c, "rate"),
		       json_object_get_boolean(
			       json_object_object_get(c, "password")) ?
			       "yes" :
			       "no",
		       (unsigned long long)json_get_u64(c, "sent"),
		       (unsigned long long)json_get_u64(c, "dropped"),
		       (unsigned long long)json_get_u64(c, "send_errors"));
	}
	printf("SIP messages mirrored: %llu\n",
	       (unsigned long long)json_get_u64(data, "sip_messages"));
}

int flctl_hep_list(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	if (argc)
		return arg_none(cmd, argc, argv);
	return flctl_run_words(cmd, 0, argv, print_list);
}
