// SPDX-License-Identifier: Apache-2.0
/*
 * flgen - FlowLens's traffic generator. `flgen COMMAND -i IFACE [OPTIONS]`;
 * commands may be abbreviated to any unique prefix, bpftool's way.
 *
 * One table lists every option with the commands it applies to and its
 * help; each command's getopt table and --help are made from it, so the
 * help never lists an option the command would refuse, nor misses one.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include <flowlens/flowlens.h>

#include "flgen.h"
#include "log.h"
#include "units.h"

#define GEN (1U << CMD_UDP | 1U << CMD_SYN | 1U << CMD_ACK | 1U << CMD_ICMP)
#define TCP_UDP (1U << CMD_UDP | 1U << CMD_SYN | 1U << CMD_ACK)
#define REPLAY (1U << CMD_REPLAY)
#define SINK (1U << CMD_SINK)
#define ALL (GEN | REPLAY | SINK)

struct command {
	const char *name;
	enum flgen_command id;
	const char *args;
	const char *summary;
	const char *examples;
};

static const struct command commands[] = {
	{ "udp", CMD_UDP, "-i IFACE --dst ADDR [OPTIONS]",
	  "Send UDP datagrams out of IFACE.",
	  "  flgen udp -i eth0 --dst 198.51.100.2 --dport 5001 -r 10k -d 30\n"
	  "  flgen udp -i eth0 --dst 2001:db8:2::2 -n 1000000 -l 1514 -T 2\n" },
	{ "syn", CMD_SYN, "-i IFACE --dst ADDR [OPTIONS]",
	  "Send TCP SYNs (random sequence numbers) out of IFACE.",
	  "  flgen syn -i eth0 --src 198.18.0.0/15 --sport 1024-65535 \\\n"
	  "            --dst 198.51.100.2 --dport 80 -r 1M -d 60 -T 2\n" },
	{ "ack", CMD_ACK, "-i IFACE --dst ADDR [OPTIONS]",
	  "Send bare TCP ACKs (random sequence and acknowledgment numbers).",
	  "  flgen ack -i eth0 --src 2001:db8:f::/48 --dst 2001:db8:2::2 -d 10\n" },
	{ "icmp", CMD_ICMP, "-i IFACE --dst ADDR [OPTIONS]",
	  "Send ICMP echo requests (ICMPv6 for an IPv6 --dst).",
	  "  flgen icmp -i eth0 --dst 198.51.100.2 -n 100 -r 10\n" },
	{ "replay", CMD_REPLAY, "-i IFACE [OPTIONS] FILE",
	  "Send the frames of a pcap or pcapng FILE out of IFACE.",
	  "  flgen replay -i eth0 capture.pcapng\n"
	  "  flgen replay -i eth0 --timing max --loop 10 --keep-macs capture.pcap\n" },
	{ "sink", CMD_SINK, "-i IFACE [OPTIONS]",
	  "Count and drop (or pass on) what IFACE receives; report it at the end.",
	  "  flgen sink -i eth1 -d 10\n"
	  "  flgen sink -i eth1 --pass -j\n" },
};

enum {
	OPT_SRC = 256,
	OPT_DST,
	OPT_SPORT,
	OPT_DPORT,
	OPT_SRC_MAC,
	OPT_DST_MAC,
	OPT_CPUS,
	OPT_TIMING,
	OPT_LOOP,
	OPT_KEEP_MACS,
	OPT_PASS,
};

struct option_spec {
	const char *name;
	int val; /* short option or OPT_* */
	const char *arg; /* NULL: takes no argument */
	unsigned int commands;
	const char *help;
};

static const struct option_spec option_specs[] = {
	{ "interface", 'i', "IFACE", GEN | REPLAY,
	  "the interface to send on; it must be in this network namespace" },
	{ "interface", 'i', "IFACE", SINK,
	  "the interface to count on; it must be in this network namespace "
	  "and have no XDP program yet" },
	{ "dst", OPT_DST, "ADDR", GEN,
	  "destination: an address, a prefix (198.51.100.0/24) or a range "
	  "(A-B) to pick from at random per packet; IPv4 or IPv6 follows "
	  "from it (required)" },
	{ "src", OPT_SRC, "ADDR", GEN,
	  "source: an address, or a prefix (198.18.0.0/15, 2001:db8:f::/48) "
	  "or range (A-B) to pick from at random per packet, for a spoofed "
	  "flood (default: the address the kernel would use towards --dst)" },
	{ "sport", OPT_SPORT, "PORT", TCP_UDP,
	  "source port, or range A-B to pick from at random (default 1024)" },
	{ "dport", OPT_DPORT, "PORT", TCP_UDP,
	  "destination port, or range A-B to pick from at random (default 9 "
	  "for udp, 80 for syn and ack)" },
	{ "count", 'n', "N", GEN,
	  "send exactly N packets (k, M, G suffixes), then stop" },
	{ "duration", 'd', "SECONDS", GEN,
	  "stop after SECONDS (decimals allowed)" },
	{ "duration", 'd', "SECONDS", SINK,
	  "stop counting after SECONDS (default: at SIGINT or SIGTERM)" },
	{ "rate", 'r', "PPS", GEN,
	  "packets per second over all threads (k, M, G suffixes); 0 or "
	  "absent: as fast as possible" },
	{ "size", 'l', "BYTES", GEN,
	  "frame size on the wire without the FCS (default: 60, or the "
	  "headers' size if larger); at most the MTU + 14, and what a live "
	  "frame holds (a page less the kernel's head- and tailroom)" },
	{ "threads", 'T', "N", GEN,
	  "sending threads, one per CPU, each pinned to its CPU (default 1); "
	  "-n and -r are split between them exactly" },
	{ "cpus", OPT_CPUS, "LIST", GEN,
	  "the CPUs to send from, one thread each (e.g. 0,1 or 0-3; default: "
	  "the first -T CPUs flgen may run on)" },
	{ "batch", 'b', "N", GEN,
	  "frames the kernel runs between two flushes to the driver, 1-256 "
	  "(default 64)" },
	{ "src-mac", OPT_SRC_MAC, "MAC", GEN | REPLAY,
	  "source MAC (default: the interface's)" },
	{ "dst-mac", OPT_DST_MAC, "MAC", GEN,
	  "destination MAC (default: the MAC of the next hop towards --dst, "
	  "or its first address, from the kernel's routes and neighbours, "
	  "resolved if need be)" },
	{ "dst-mac", OPT_DST_MAC, "MAC", REPLAY,
	  "destination MAC of every frame (default: the MAC of the next hop "
	  "towards each frame's own destination address)" },
	{ "dst", OPT_DST, "ADDR", REPLAY,
	  "give every frame the MAC of the next hop towards ADDR" },
	{ "timing", OPT_TIMING, "MODE", REPLAY,
	  "original (default: the gaps between the file's timestamps) or max "
	  "(as fast as possible)" },
	{ "loop", OPT_LOOP, "N", REPLAY,
	  "send the file N times (default 1; 0: until SIGINT or SIGTERM)" },
	{ "keep-macs", OPT_KEEP_MACS, NULL, REPLAY,
	  "send the frames with the MACs they were captured with" },
	{ "pass", OPT_PASS, NULL, SINK,
	  "count, then pass frames on to the stack (XDP_PASS) instead of "
	  "dropping them" },
	{ "json", 'j', NULL, ALL, "print the result as one JSON object" },
	{ "pretty", 'p', NULL, ALL, "pretty-printed JSON (implies -j)" },
	{ "verbose", 'v', NULL, ALL,
	  "more detail, including libbpf's own messages" },
	{ "help", 'h', NULL, ALL, "show this help" },
};

#define NR_OPTIONS (sizeof(option_specs) / sizeof(option_specs[0]))
#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage_main(FILE *out)
{
	unsigned int i;

	fprintf(out,
		"Usage: flgen COMMAND -i IFACE [OPTIONS]\n"
		"       flgen help [COMMAND]\n"
		"       flgen COMMAND --help\n"
		"\n"
		"FlowLens's traffic generator. The packets are built once, rewritten per\n"
		"packet by an XDP program that BPF_PROG_RUN runs in the kernel with live\n"
		"frames, and handed straight to IFACE's driver (XDP_TX): no socket, no\n"
		"stack. It counts exactly what it hands to the driver.\n"
		"\n"
		"Commands (any unique prefix will do):\n");
	for (i = 0; i < NR_COMMANDS; i++)
		fprintf(out, "  %-7s %.*s\n", commands[i].name,
			(int)strcspn(commands[i].summary, "\n"),
			commands[i].summary);
	fprintf(out,
		"\n"
		"Results go to stdout: packets, bytes, seconds, packets/s and Mbit/s\n"
		"(bytes on the wire without the FCS), per thread too, and how IFACE's\n"
		"own tx counters moved (a veth counts the frames its peer took and\n"
		"the ones it dropped). Exit status 0 on success, 1 on any error.\n"
		"\n"
		"IFACE must be in flgen's network namespace; a veth delivers the\n"
		"frames only if its peer has an XDP program (flowlensd, flgen sink).\n"
		"\n"
		"Version: flgen %s (libbpf %u.%u). See also: flctl help\n",
		FLOWLENS_VERSION, libbpf_major_version(),
		libbpf_minor_version());
}

#define HELP_INDENT 27
#define HELP_WIDTH 79

/* "  -x, --long ARG   help text", the text wrapped at word boundaries and
 * continued under itself. */
static void print_wrapped(FILE *out, const char *left, const char *text)
{
	int width = HELP_WIDTH - HELP_INDENT;

	fprintf(out, "  %-*s", HELP_INDENT - 2, left);
	if (strlen(left) > HELP_INDENT - 3)
		fprintf(out, "\n%*s", HELP_INDENT, "");
	while (*text) {
		int len = strlen(text), cut = len;

		if (len > width) {
			for (cut = width; cut > 0 && text[cut] != ' '; cut--)
				;
			if (!cut)
				cut = width;
		}
		fprintf(out, "%.*s\n", cut, text);
		text += cut;
		while (*text == ' ')
			text++;
		if (*text)
			fprintf(out, "%*s", HELP_INDENT, "");
	}
}

static void usage_command(FILE *out, const struct command *cmd)
{
	unsigned int i;

	fprintf(out, "Usage: flgen %s %s\n\n%s\n\nOptions:\n", cmd->name,
		cmd->args, cmd->summary);
	for (i = 0; i < NR_OPTIONS; i++) {
		const struct option_spec *o = &option_specs[i];
		char left[48];

		if (!(o->commands & (1U << cmd->id)))
			continue;
		if (o->val < 256)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->val,
				 o->name, o->arg ? " " : "", o->arg ?: "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name,
				 o->arg ? " " : "", o->arg ?: "");
		print_wrapped(out, left, o->help);
	}
	if (cmd->id != CMD_SINK && cmd->id != CMD_REPLAY)
		fprintf(out,
			"\nWithout -n or -d it runs until SIGINT or SIGTERM, then reports.\n"
			"With both, it stops at whichever comes first.\n");
	if (cmd->id == CMD_REPLAY)
		fprintf(out,
			"\nFrames longer than the MTU (+ one VLAN tag) or than a live frame\n"
			"holds, and frames captured truncated, are skipped and counted.\n"
			"Without --dst-mac, --dst or --keep-macs, each IP frame gets the MAC of\n"
			"the next hop towards its own destination.\n");
	if (cmd->id == CMD_SINK)
		fprintf(out,
			"\nNative XDP, or skb mode with a warning where the driver has none.\n"
			"The rate is over the time frames arrived, not the time attached.\n");
	fprintf(out, "\nExamples:\n%s", cmd->examples);
}

static const struct command *find_command(const char *name)
{
	const struct command *found = NULL;
	unsigned int i, matches = 0;
	char list[128] = "";

	for (i = 0; i < NR_COMMANDS; i++) {
		if (!strcmp(commands[i].name, name))
			return &commands[i];
		if (!strncmp(commands[i].name, name, strlen(name))) {
			found = &commands[i];
			matches++;
			snprintf(list + strlen(list),
				 sizeof(list) - strlen(list), "%s%s",
				 *list ? ", " : "", commands[i].name);
		}
	}
	if (matches == 1)
		return found;
	if (matches > 1)
		flgen_error("ambiguous command '%s': %s", name, list);
	else
		flgen_error(
			"unknown command '%s' (udp, syn, ack, icmp, replay or sink; see flgen help)",
			name);
	return NULL;
}

static int parse_number(const char *opt, const char *text, uint64_t min,
			uint64_t max, uint64_t *value)
{
	if (fl_parse_count(text, value) || *value < min || *value > max) {
		if (max >= UINT64_MAX / 2)
			flgen_error(
				"--%s: '%s' is not a whole number from %llu up (k, M, G suffixes allowed)",
				opt, text, (unsigned long long)min);
		else
			flgen_error(
				"--%s: '%s' is not a number from %llu to %llu",
				opt, text, (unsigned long long)min,
				(unsigned long long)max);
		return -EINVAL;
	}
	return 0;
}

static int parse_seconds(const char *text, double *seconds)
{
	char *end;

	errno = 0;
	*seconds = strtod(text, &end);
	if (errno || end == text || *end || !(*seconds > 0) || *seconds > 1e9) {
		flgen_error(
			"--duration: '%s' is not a number of seconds above 0",
			text);
		return -EINVAL;
	}
	return 0;
}

static int parse_option(struct flgen_options *opt, const char *name, int c,
			const char *arg)
{
	char err[256];
	uint64_t value;

	switch (c) {
	case 'i':
		opt->ifname = arg;
		return 0;
	case OPT_SRC:
	case OPT_DST:
		if (flgen_parse_addr(arg, c == OPT_SRC ? &opt->src : &opt->dst,
				     err, sizeof(err))) {
			flgen_error("--%s: %s", name, err);
			return -EINVAL;
		}
		return 0;
	case OPT_SPORT:
	case OPT_DPORT:
		if (flgen_parse_port(arg,
				     c == OPT_SPORT ? &opt->sport : &opt->dport,
				     err, sizeof(err))) {
			flgen_error("--%s: %s", name, err);
			return -EINVAL;
		}
		*(c == OPT_SPORT ? &opt->sport_set : &opt->dport_set) = true;
		return 0;
	case OPT_SRC_MAC:
	case OPT_DST_MAC: {
		struct flgen_mac *mac = c == OPT_SRC_MAC ? &opt->src_mac :
							   &opt->dst_mac;

		if (flgen_parse_mac(arg, mac->b)) {
			flgen_error(
				"--%s: '%s' is not a MAC address (expected e.g. 02:00:00:00:00:01)",
				name, arg);
			return -EINVAL;
		}
		mac->set = true;
		return 0;
	}
	case 'n':
		return parse_number(name, arg, 1, UINT64_MAX / 2, &opt->count);
	case 'd':
		return parse_seconds(arg, &opt->duration);
	case 'r':
		return parse_number(name, arg, 0, 1000000000000ULL, &opt->rate);
	case 'l':
		if (parse_number(name, arg, 1, 65535, &value))
			return -EINVAL;
		opt->size = value;
		return 0;
	case 'T':
		if (parse_number(name, arg, 1, FLGEN_MAX_THREADS, &value))
			return -EINVAL;
		opt->threads = value;
		return 0;
	case OPT_CPUS:
		if (flgen_parse_cpus(arg, opt->cpus, FLGEN_MAX_THREADS,
				     &opt->nr_cpus, err, sizeof(err))) {
			flgen_error("--cpus: %s", err);
			return -EINVAL;
		}
		opt->cpus_set = true;
		return 0;
	case 'b':
		if (parse_number(name, arg, 1, FLGEN_MAX_BATCH, &value))
			return -EINVAL;
		opt->batch = value;
		return 0;
	case OPT_TIMING:
		if (!strcmp(arg, "original")) {
			opt->timing = TIMING_ORIGINAL;
		} else if (!strcmp(arg, "max")) {
			opt->timing = TIMING_MAX;
		} else {
			flgen_error(
				"--timing: '%s' is neither original nor max",
				arg);
			return -EINVAL;
		}
		return 0;
	case OPT_LOOP:
		return parse_number(name, arg, 0, UINT64_MAX / 2, &opt->loops);
	case OPT_KEEP_MACS:
		opt->keep_macs = true;
		return 0;
	case OPT_PASS:
		opt->pass = true;
		return 0;
	case 'j':
		opt->json = true;
		return 0;
	case 'p':
		opt->pretty = true;
		return 0;
	case 'v':
		opt->verbose++;
		return 0;
	}
	return -EINVAL;
}

/* -j and -p first, so errors about the other options come out as JSON. */
static void scan_output_options(int argc, char **argv)
{
	bool json = false, pretty = false;
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json"))
			json = true;
		if (!strcmp(argv[i], "-p") || !strcmp(argv[i], "--pretty"))
			pretty = true;
	}
	flgen_report_init(json, pretty);
}

static int parse_command_line(int argc, char **argv, const struct command *cmd,
			      struct flgen_options *opt)
{
	struct option longopts[NR_OPTIONS + 1];
	const char *names[NR_OPTIONS + 1];
	char shortopts[3 * NR_OPTIONS + 2] = ":";
	unsigned int i, n = 0;
	int c, index;

	memset(longopts, 0, sizeof(longopts));
	for (i = 0; i < NR_OPTIONS; i++) {
		const struct option_spec *o = &option_specs[i];

		if (!(o->commands & (1U << cmd->id)))
			continue;
		longopts[n] = (struct option){ o->name,
					       o->arg ? required_argument :
							no_argument,
					       NULL, o->val };
		names[n++] = o->name;
		if (o->val < 256) {
			size_t len = strlen(shortopts);

			shortopts[len] = o->val;
			shortopts[len + 1] = o->arg ? ':' : '\0';
			shortopts[len + 2] = '\0';
		}
	}

	opt->command = cmd->id;
	opt->command_name = cmd->name;
	opt->batch = FLGEN_DEFAULT_BATCH;
	opt->timing = TIMING_ORIGINAL;
	opt->loops = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, longopts, &index)) !=
	       -1) {
		const char *name = NULL;
		const char *bad = argv[optind - 1];

		switch (c) {
		case 'h':
			usage_command(stdout, cmd);
			exit(EXIT_SUCCESS);
		case ':':
			flgen_error("%s: missing value (see flgen %s --help)",
				    bad, cmd->name);
			return -EINVAL;
		case '?':
			if (optopt && optopt < 256)
				flgen_error(
					"%s: unknown option -%c (see flgen %s --help)",
					cmd->name, optopt, cmd->name);
			else
				flgen_error(
					"%s: unknown option %s (see flgen %s --help)",
					cmd->name, bad, cmd->name);
			return -EINVAL;
		}
		for (i = 0; i < n; i++)
			if (longopts[i].val == c)
				name = names[i];
		if (parse_option(opt, name ?: "?", c, optarg))
			return -EINVAL;
	}
	if (cmd->id == CMD_REPLAY && optind < argc)
		opt->file = argv[optind++];
	if (optind < argc) {
		flgen_error(
			"%s: unexpected argument '%s' (see flgen %s --help)",
			cmd->name, argv[optind], cmd->name);
		return -EINVAL;
	}
	if (!opt->ifname) {
		flgen_error("%s: no interface given: use -i IFACE", cmd->name);
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct flgen_options opt = {};
	const struct command *cmd;
	int err;

	fl_log_init("flgen", FL_LOG_INFO);
	scan_output_options(argc, argv);
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage_main(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_FAILURE : EXIT_SUCCESS;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("flgen %s (libbpf %u.%u)\n", FLOWLENS_VERSION,
		       libbpf_major_version(), libbpf_minor_version());
		return EXIT_SUCCESS;
	}
	if (!strcmp(argv[1], "help")) {
		if (argc < 3) {
			usage_main(stdout);
			return EXIT_SUCCESS;
		}
		cmd = find_command(argv[2]);
		if (!cmd)
			return EXIT_FAILURE;
		usage_command(stdout, cmd);
		return EXIT_SUCCESS;
	}
	cmd = find_command(argv[1]);
	if (!cmd)
		return EXIT_FAILURE;
	/* getopt sees the command's own arguments, the command as argv[0]. */
	err = parse_command_line(argc - 1, argv + 1, cmd, &opt);
	if (err)
		return EXIT_FAILURE;
	if (opt.verbose)
		fl_log_set_level(FL_LOG_DEBUG);

	flgen_signals_block();
	switch (cmd->id) {
	case CMD_REPLAY:
		err = flgen_cmd_replay(&opt);
		break;
	case CMD_SINK:
		err = flgen_cmd_sink(&opt);
		break;
	default:
		err = flgen_cmd_generate(&opt);
		break;
	}
	return err ? EXIT_FAILURE : EXIT_SUCCESS;
}
