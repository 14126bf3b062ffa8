// SPDX-License-Identifier: Apache-2.0
/* flctl protect { add | del } PREFIX, flctl protect list */
#include <stdio.h>
#include <string.h>

#include "flctl.h"
#include "prefix.h"

void flctl_help_protect(void)
{
	printf("PREFIX := { IPv4 | IPv6 }[/LEN], e.g. 198.51.100.0/24, 2001:db8::/32\n"
	       "\n"
	       "Every address inside a protected prefix gets exact per-IP counters\n"
	       "(packets, bytes, SYNs sent and received) as soon as it sends or\n"
	       "receives a packet; other addresses get them only when they become\n"
	       "heavy hitters. 'list' shows each prefix with its tracked hosts and\n"
	       "what they received (rx) and sent (tx) over the last second.\n"
	       "Protected prefixes survive a flowlensd restart and a reboot.\n");
}

static void print_added(struct json_object *data)
{
	printf("protecting %s\n", json_get_str(data, "prefix"));
}

static void print_deleted(struct json_object *data)
{
	printf("no longer protecting %s\n", json_get_str(data, "prefix"));
}

int flctl_protect_add(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	return flctl_prefix_request(cmd, argc, argv, print_added);
}

int flctl_protect_del(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	return flctl_prefix_request(cmd, argc, argv, print_deleted);
}

static void print_list(struct json_object *data)
{
	struct json_object *list = NULL, *o;
	char a[32], b[32], c[32], d[32];
	size_t i, n;

	json_object_object_get_ex(data, "prefixes", &list);
	n = list ? json_object_array_length(list) : 0;
	if (!n)
		printf("no protected prefixes\n");
	else
		printf("%-43s %6s %8s %8s %8s %8s\n", "PREFIX", "HOSTS",
		       "RX-PPS", "RX-BPS", "TX-PPS", "TX-BPS");
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(list, i);
		printf("%-43s %6d %8s %8s %8s %8s\n", json_get_str(o, "prefix"),
		       (int)json_get_u64(o, "hosts"),
		       si(json_get_double(o, "rx_pps"), a, sizeof(a)),
		       si(json_get_double(o, "rx_bps"), b, sizeof(b)),
		       si(json_get_double(o, "tx_pps"), c, sizeof(c)),
		       si(json_get_double(o, "tx_bps"), d, sizeof(d)));
	}
}

int flctl_protect_list(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	return arg_none(cmd, argc, argv) ?: flctl_run_plain(cmd, print_list);
}
