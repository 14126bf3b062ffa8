// SPDX-License-Identifier: Apache-2.0
/*
 * flctl synproxy { add | del | list | stats }
 *
 * The words are checked here, so a typo is named without a daemon, and
 * sent as {"cmd": "synproxy-add", "addr": ..., "port": N, "mss": N,
 * "wscale": N}; flowlensd checks them again (the socket is the API).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <flowlens/synproxy.h>

#include "flctl.h"

#define MSS_MIN 536
#define MSS_MAX 9000

void flctl_help_synproxy(void)
{
	printf("ADDR   := one IPv4 or IPv6 address, e.g. 198.51.100.2, 2001:db8:2::2\n"
	       "PORT   := a TCP port, 1-65535\n"
	       "MSS    := the MSS the SYN-ACK advertises, %2$d-%3$d (default %4$d)\n"
	       "WSCALE := the window scale it advertises, 0-%5$d (default %6$d)\n"
	       "\n"
	       "A SYN proxy for a TCP service, an address and a port, on this box\n"
	       "(host mode) or behind it (router mode, or the kernel forwarding).\n"
	       "Every SYN to the service is answered at the driver, in XDP, with a\n"
	       "SYN-ACK whose sequence number is a SYN cookie; nothing is kept per\n"
	       "SYN. Only a client that returns a valid cookie in its ACK reaches\n"
	       "the kernel, where conntrack and nftables' synproxy open the\n"
	       "connection to the server; packets of connections conntrack already\n"
	       "knows pass straight through, and anything else sent to the service\n"
	       "is dropped. A spoofed SYN flood then never reaches the server, and\n"
	       "real clients connect as usual.\n"
	       "\n"
	       "MSS and WSCALE speak for the server until it answers: give its own\n"
	       "MSS (link MTU - 40 for IPv4, - 60 for IPv6) and at most its window\n"
	       "scale. The client's SACK permission and window scale ride in the\n"
	       "SYN-ACK's timestamp, as in the kernel's own SYN cookies: a client\n"
	       "that sends no timestamp gets neither.\n"
	       "\n"
	       "While a service exists, flowlensd keeps the nftables table\n"
	       "'inet flowlens_synproxy' (rewritten in one transaction on every\n"
	       "change) and sets net.netfilter.nf_conntrack_tcp_loose to 0, so that\n"
	       "conntrack leaves a cookie ACK to synproxy; both are undone when the\n"
	       "last service goes and when flowlensd stops (SIGINT, SIGTERM). If it\n"
	       "dies, both stay and XDP keeps answering; the next flowlensd takes\n"
	       "them over. Per service the table holds:\n"
	       "  prerouting (priority raw)   a SYN to ADDR port PORT: notrack\n"
	       "  input, forward (filter)     to ADDR port PORT, ct state\n"
	       "                              invalid,untracked: synproxy mss MSS\n"
	       "                              wscale WSCALE timestamp sack-perm;\n"
	       "                              ct state invalid: drop\n"
	       "flowlensd warns when net.ipv4.tcp_timestamps is 0.\n"
	       "\n"
	       "  add    protect a service, up to %7$d; for one that exists, change\n"
	       "         its MSS and window scale (the reply says it updated it)\n"
	       "  del    stop protecting it\n"
	       "  list   every service with its MSS and window scale\n"
	       "  stats  the counters of every service, or of ADDR's, or of one,\n"
	       "         summed over CPUs since the service was added:\n"
	       "    syns_seen           SYNs (without ACK) to the service\n"
	       "    synacks_sent        answered from XDP with a cookie SYN-ACK\n"
	       "    cookies_valid       ACKs whose cookie checked out: passed on\n"
	       "    cookies_invalid     neither a SYN, nor a known connection, nor\n"
	       "                        a valid cookie: dropped\n"
	       "    passed_established  packets of connections conntrack knows\n"
	       "    bad_checksum        SYNs with a wrong IP or TCP checksum: dropped\n"
	       "    passed_to_kernel    SYNs XDP could not answer: left to nftables\n"
	       "\n"
	       "Services survive a flowlensd restart and a reboot, their counters a\n"
	       "restart.\n"
	       "\n"
	       "Examples:\n"
	       "  %1$s synproxy add 198.51.100.2 port 80\n"
	       "  %1$s synproxy add 2001:db8:2::2 port 443 mss 1440 wscale 9\n"
	       "  %1$s synproxy stats 198.51.100.2 port 80\n"
	       "  %1$s synproxy del 198.51.100.2 port 80\n",
	       prog_name, MSS_MIN, MSS_MAX, FL_SYNPROXY_MSS_DEFAULT,
	       FL_SYNPROXY_WSCALE_MAX, FL_SYNPROXY_WSCALE_DEFAULT,
	       FL_SYNPROXY_MAX);
}

/*
 * "ADDR port P [mss M] [wscale W]" into req: @keywords are the ones this
 * command takes (port first, and required when @need_port).
 */
static int service_words(const char *cmd, int argc, char **argv,
			 const char *const *keywords, bool need_port,
			 struct json_object *req)
{
	static const long min[] = { 1, MSS_MIN, 0 };
	static const long max[] = { 65535, MSS_MAX, FL_SYNPROXY_WSCALE_MAX };
	static const char *const all[] = { "port", "mss", "wscale" };
	bool seen[3] = { false };
	struct fl_prefix addr;
	char expected[64] = "";
	long value;
	int i, k, ret;

	for (k = 0; keywords[k]; k++)
		snprintf(expected + strlen(expected),
			 sizeof(expected) - strlen(expected), "%s%s",
			 k ? (keywords[k + 1] ? ", " : " or ") : "",
			 keywords[k]);
	if (argc < 1)
		return usage_error(
			"synproxy %s needs ADDR%s (e.g. 198.51.100.2 port 80)",
			cmd, need_port ? " port PORT" : "");
	ret = arg_address(argv[0], &addr);
	if (ret)
		return ret;
	json_object_object_add(req, "addr", json_object_new_string(argv[0]));

	for (i = 1; i < argc; i += 2) {
		for (k = 0; keywords[k] && strcmp(argv[i], keywords[k]); k++)
			;
		if (!keywords[k])
			return usage_error(
				"synproxy %s: unexpected '%s' (expected %s)",
				cmd, argv[i], expected);
		for (k = 0; strcmp(argv[i], all[k]); k++)
			;
		if (seen[k])
			return usage_error("synproxy %s: %s given twice", cmd,
					   all[k]);
		seen[k] = true;
		if (i + 1 >= argc)
			return usage_error("synproxy %s: %s needs a number",
					   cmd, all[k]);
		ret = arg_number(all[k], argv[i + 1], min[k], max[k], &value);
		if (ret)
			return ret;
		json_object_object_add(req, all[k], json_object_new_int(value));
	}
	if (need_port && !seen[0])
		return usage_error(
			"synproxy %s needs ADDR port PORT (e.g. %s port 80)",
			cmd, argv[0]);
	return 0;
}

static void print_added(struct json_object *data)
{
	struct json_object *s = json_object_object_get(data, "service");
	struct json_object *was = json_object_object_get(data, "was");
	struct json_object *v;

	printf("SYN proxy on %s port %d", json_get_str(s, "addr"),
	       (int)json_get_u64(s, "port"));
	if (json_object_object_get_ex(data, "updated", &v) &&
	    json_object_get_boolean(v))
		printf(" updated (mss %d, wscale %d; was mss %d, wscale %d)\n",
		       (int)json_get_u64(s, "mss"),
		       (int)json_get_u64(s, "wscale"),
		       (int)json_get_u64(was, "mss"),
		       (int)json_get_u64(was, "wscale"));
	else
		printf(" (mss %d, wscale %d)\n", (int)json_get_u64(s, "mss"),
		       (int)json_get_u64(s, "wscale"));
	if (json_object_object_get_ex(data, "warning", &v) && v)
		fprintf(stderr, "%s: warning: %s\n", prog_name,
			json_object_get_string(v));
}

static void print_deleted(struct json_object *data)
{
	struct json_object *s = json_object_object_get(data, "service");

	printf("SYN proxy on %s port %d removed\n", json_get_str(s, "addr"),
	       (int)json_get_u64(s, "port"));
}

int flctl_synproxy_add(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	static const char *const keywords[] = { "port", "mss", "wscale", NULL };
	struct json_object *req = request_new(cmd);
	int ret = service_words(cmd->words, argc, argv, keywords, true, req);

	if (ret) {
		json_object_put(req);
		return ret;
	}
	return flctl_run(req, print_added);
}

int flctl_synproxy_del(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	static const char *const keywords[] = { "port", NULL };
	struct json_object *req = request_new(cmd);
	int ret = service_words(cmd->words, argc, argv, keywords, true, req);

	if (ret) {
		json_object_put(req);
		return ret;
	}
	return flctl_run(req, print_deleted);
}

static struct json_object *services_of(struct json_object *data, size_t *n)
{
	struct json_object *list;

	if (!json_object_object_get_ex(data, "services", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		*n = 0;
		return NULL;
	}
	*n = json_object_array_length(list);
	return list;
}

static void print_list(struct json_object *data)
{
	struct json_object *list, *o;
	int width = strlen("ADDRESS");
	size_t i, n;

	list = services_of(data, &n);
	if (!n) {
		printf("no SYN proxy services\n");
		return;
	}
	for (i = 0; i < n; i++) {
		int len = strlen(json_get_str(
			json_object_array_get_idx(list, i), "addr"));

		if (len > width)
			width = len;
	}
	printf("%-*s  %5s  %4s  %6s\n", width, "ADDRESS", "PORT", "MSS",
	       "WSCALE");
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(list, i);
		printf("%-*s  %5d  %4d  %6d\n", width, json_get_str(o, "addr"),
		       (int)json_get_u64(o, "port"),
		       (int)json_get_u64(o, "mss"),
		       (int)json_get_u64(o, "wscale"));
	}
}

int flctl_synproxy_list(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	return arg_none(cmd, argc, argv) ?: flctl_run_plain(cmd, print_list);
}

static const char *const counter_names[] = {
#define FL_X_NAME(id, name) name,
	FL_SYNPROXY_COUNTERS(FL_X_NAME)
#undef FL_X_NAME
};

static void print_stats(struct json_object *data)
{
	struct json_object *list, *o;
	size_t i, n, c;

	list = services_of(data, &n);
	if (!n)
		printf("no SYN proxy services\n");
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(list, i);
		printf("%s%s port %d (mss %d, wscale %d)\n", i ? "\n" : "",
		       json_get_str(o, "addr"), (int)json_get_u64(o, "port"),
		       (int)json_get_u64(o, "mss"),
		       (int)json_get_u64(o, "wscale"));
		for (c = 0; c < FL_SP_COUNT; c++)
			printf("  %-19s %llu\n", counter_names[c],
			       (unsigned long long)json_get_u64(
				       o, counter_names[c]));
	}
}

int flctl_synproxy_stats(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	static const char *const keywords[] = { "port", NULL };
	struct json_object *req = request_new(cmd);
	int ret = 0;

	if (argc)
		ret = service_words(cmd->words, argc, argv, keywords, false,
				    req);
	if (ret) {
		json_object_put(req);
		return ret;
	}
	return flctl_run(req, print_stats);
}
