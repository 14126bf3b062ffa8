// SPDX-License-Identifier: Apache-2.0
/* flctl rule { add | del | list | flush | load | shapes } */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flctl.h"
#include "rule.h"

void flctl_help_rule(void)
{
	printf("MATCH := { src PREFIX | dst PREFIX | proto PROTO | sport P[-P] |\n"
	       "           dport P[-P] | tcp-flags FLAGS/MASK | len A-B | dscp D |\n"
	       "           frag { any | first | non-first | none } |\n"
	       "           icmp-type T [code C] }     (at least one)\n"
	       "ACTION := { drop | permit [mark D] | mark D |\n"
	       "           rate-limit RATE [burst B] [mark D] }\n"
	       "PROTO  := { tcp | udp | icmp | icmpv6 | gre | esp | ah | sctp | igmp | 0-255 }\n"
	       "FLAGS  := { fin,syn,rst,psh,ack,urg,ece,cwr | 0xNN }\n"
	       "RATE   := N[k|M|G][pps] (packets/s) or N[k|M|G]bps (bits/s)\n"
	       "\n"
	       "Mitigation rules, enforced in XDP before a packet reaches the stack\n"
	       "or is routed. Of the rules that match a packet, the one with the\n"
	       "lowest order wins (default order %2$d; equal orders: the lower id).\n"
	       "  drop        drop it\n"
	       "  rate-limit  a token bucket per rule, shared by all CPUs: RATE\n"
	       "              packets or bits (of IP datagram) per second, bursts of\n"
	       "              B (default a tenth of a second's worth); the excess\n"
	       "              is dropped\n"
	       "  permit      let it through, and no later mitigation touches it\n"
	       "  mark D      re-mark its DSCP to D (0-63; ECN kept) and go on; after\n"
	       "              permit or rate-limit, re-marks what those let through\n"
	       "A rule with src/dst applies to that address family, one without\n"
	       "to both. Ports match TCP and UDP, and not non-first fragments;\n"
	       "len is the IP datagram's length.\n"
	       "\n"
	       "  add     install a rule; prints its id. 'expires S' removes it\n"
	       "          S seconds later (it stops matching at that moment)\n"
	       "  del     remove rule ID\n"
	       "  list    every rule in the order they are tried, with packets and\n"
	       "          bytes matched, packets dropped and seconds left;\n"
	       "          [-n N] [--after ID] [--origin { operator | ddos | flowspec }]\n"
	       "          [--attack ID]: at most N rules, those with ids above ID\n"
	       "          (with -n or --after the rules come in id order, and a\n"
	       "          full page says which --after fetches the next one),\n"
	       "          only an operator's, the DDoS engine's or FlowSpec peers'\n"
	       "          rules ('flowspec PEER route N' in their text), only\n"
	       "          those of DDoS attack ID\n"
	       "  flush   remove every rule\n"
	       "  load    add every rule in FILE, one per line as for 'add' ('#'\n"
	       "          starts a comment); a bad line is named by number and\n"
	       "          nothing is added\n"
	       "  shapes  the distinct shapes (fields and prefix lengths) the rules\n"
	       "          use, per family: each costs one hash lookup per packet,\n"
	       "          whatever its number of rules; at most %3$d per family\n"
	       "\n"
	       "Rules survive a flowlensd restart (pinned maps) and a reboot (the\n"
	       "rules file next to the state file).\n"
	       "\n"
	       "Examples:\n"
	       "  %1$s rule add dst 198.51.100.0/24 proto udp dport 1000-2000 action drop\n"
	       "  %1$s rule add order 10 src 203.0.113.7 action permit\n"
	       "  %1$s rule add dst 198.51.100.10 proto tcp tcp-flags syn/syn,ack \\\n"
	       "        action rate-limit 10kpps expires 600\n"
	       "  %1$s rule add dst 2001:db8::/32 frag any action drop\n",
	       prog_name, FL_RULE_ORDER_DEFAULT, FL_RULE_SHAPES_MAX);
}

static void print_one(struct json_object *data)
{
	printf("rule %llu: %s\n", (unsigned long long)json_get_u64(data, "id"),
	       json_get_str(data, "rule"));
}

int flctl_rule_add(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	struct json_object *req, *words;
	struct fl_rule rule;
	char err[384];
	int i;

	if (!argc)
		return usage_error(
			"%s needs a rule, e.g. 'dst 198.51.100.0/24 proto udp action drop'",
			cmd_name(cmd));
	/* Checked here too, so a mistake is named without a daemon. */
	if (fl_rule_parse(argc, argv, FL_RULE_ORDER_DEFAULT, &rule, err,
			  sizeof(err)))
		return usage_error("%s", err);
	req = request_new(cmd);
	words = json_object_new_array();
	for (i = 0; i < argc; i++)
		json_object_array_add(words, json_object_new_string(argv[i]));
	json_object_object_add(req, "words", words);
	return flctl_run(req, print_one);
}

static void print_deleted(struct json_object *data)
{
	printf("deleted rule %llu: %s\n",
	       (unsigned long long)json_get_u64(data, "id"),
	       json_get_str(data, "rule"));
}

int flctl_rule_del(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	struct json_object *req;
	long id;

	if (argc != 1)
		return usage_error(
			"%s needs exactly one ID (see '%s rule list')",
			cmd_name(cmd), prog_name);
	if (!parse_number(argv[0], 1, 0xffffffffL, &id))
		return usage_error(
			"bad rule ID '%s': a number from '%s rule list'",
			argv[0], prog_name);
	req = request_new(cmd);
	json_object_object_add(req, "id", json_object_new_int64(id));
	return flctl_run(req, print_deleted);
}

static long list_limit; /* -n, for the hint to the next page */

static void print_list(struct json_object *data)
{
	struct json_object *list = NULL, *o, *exp, *next = NULL;
	char p[32], b[32], dr[32], left[32];
	size_t i, n;

	json_object_object_get_ex(data, "rules", &list);
	json_object_object_get_ex(data, "next_after", &next);
	n = list ? json_object_array_length(list) : 0;
	if (!n) {
		printf("no rules\n");
		return;
	}
	printf("%-8s %8s %8s %8s %8s  %s\n", "ID", "PACKETS", "BYTES",
	       "DROPPED", "EXPIRES", "RULE");
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(list, i);
		exp = json_object_object_get(o, "expires_in");
		if (exp)
			snprintf(left, sizeof(left), "%llds",
				 (long long)json_object_get_int64(exp));
		else
			snprintf(left, sizeof(left), "-");
		printf("%-8llu %8s %8s %8s %8s  %s\n",
		       (unsigned long long)json_get_u64(o, "id"),
		       si(json_get_u64(o, "packets"), p, sizeof(p)),
		       si(json_get_u64(o, "bytes"), b, sizeof(b)),
		       si(json_get_u64(o, "dropped"), dr, sizeof(dr)), left,
		       json_get_str(o, "rule"));
	}
	if (next)
		printf("more: %s rule list -n %ld --after %lld\n", prog_name,
		       list_limit, (long long)json_object_get_int64(next));
}

/* -n N, --after ID, --origin ORIGIN, --attack ID, in any order. */
static int list_options(const struct fl_proto_cmd *cmd, int argc, char **argv,
			struct json_object *req)
{
	static const char *const origins[] = { "operator", "ddos", "flowspec",
					       NULL };
	const char *what = cmd_name(cmd);
	long value;
	int ret;

	for (; argc; argc -= 2, argv += 2) {
		const char *opt = argv[0];

		if (strcmp(opt, "-n") && strcmp(opt, "--after") &&
		    strcmp(opt, "--origin") && strcmp(opt, "--attack"))
			return arg_unexpected(
				what, opt,
				"-n N, --after ID, --origin ORIGIN or --attack ID");
		if (argc < 2)
			return usage_error("%s: %s needs a value", what, opt);
		if (!strcmp(opt, "--origin")) {
			if (strcmp(argv[1], origins[0]) &&
			    strcmp(argv[1], origins[1]) &&
			    strcmp(argv[1], origins[2]))
				return usage_error(
					"%s: --origin: '%s' is not one of operator, ddos, flowspec",
					what, argv[1]);
			json_object_object_add(req, "origin",
					       json_object_new_string(argv[1]));
			continue;
		}
		ret = !strcmp(opt, "-n") ?
			      arg_number("-n", argv[1], 1, 1000000, &value) :
		      !strcmp(opt, "--after") ?
			      arg_number("--after", argv[1], 0, 0xffffffffL,
					 &value) :
			      arg_number("--attack", argv[1], 1, 0xffffffffL,
					 &value);
		if (ret)
			return ret;
		if (!strcmp(opt, "-n"))
			list_limit = value;
		json_object_object_add(req,
				       !strcmp(opt, "-n")      ? "limit" :
				       !strcmp(opt, "--after") ? "after" :
								 "attack",
				       json_object_new_int64(value));
	}
	return 0;
}

int flctl_rule_list(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	struct json_object *req = request_new(cmd);
	int ret;

	ret = list_options(cmd, argc, argv, req);
	if (ret) {
		json_object_put(req);
		return ret;
	}
	return flctl_run(req, print_list);
}

static void print_flushed(struct json_object *data)
{
	printf("deleted %llu rules\n",
	       (unsigned long long)json_get_u64(data, "deleted"));
}

int flctl_rule_flush(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	return arg_none(cmd, argc, argv) ?: flctl_run_plain(cmd, print_flushed);
}

static void print_loaded(struct json_object *data)
{
	printf("added %llu rules in %.2f s; %llu installed\n",
	       (unsigned long long)json_get_u64(data, "added"),
	       json_get_double(data, "seconds"),
	       (unsigned long long)json_get_u64(data, "rules"));
}

int flctl_rule_load(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	struct json_object *req;
	char path[PATH_MAX];

	if (argc != 1)
		return usage_error("%s needs exactly one FILE", cmd_name(cmd));
	/* flowlensd reads it, from its own working directory */
	if (!realpath(argv[0], path))
		return usage_error("cannot read '%s': %s", argv[0],
				   strerror(errno));
	req = request_new(cmd);
	json_object_object_add(req, "path", json_object_new_string(path));
	return flctl_run(req, print_loaded);
}

static void print_family(struct json_object *data, const char *family)
{
	struct json_object *list = NULL, *o;
	size_t i, n;

	json_object_object_get_ex(data, family, &list);
	n = list ? json_object_array_length(list) : 0;
	printf("%s: %zu of %llu shapes\n", family, n,
	       (unsigned long long)json_get_u64(data, "max_per_family"));
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(list, i);
		printf("  %-44s %8llu rules %8llu keys  from order %llu\n",
		       json_get_str(o, "key"),
		       (unsigned long long)json_get_u64(o, "rules"),
		       (unsigned long long)json_get_u64(o, "keys"),
		       (unsigned long long)json_get_u64(o, "min_order"));
	}
}

static void print_shapes(struct json_object *data)
{
	print_family(data, "ipv4");
	print_family(data, "ipv6");
}

int flctl_rule_shapes(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	return arg_none(cmd, argc, argv) ?: flctl_run_plain(cmd, print_shapes);
}
