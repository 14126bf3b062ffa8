// SPDX-License-Identifier: Apache-2.0
/*
 * flowlensd - attaches FlowLens to interfaces, owns its pinned maps, runs
 * the control tick (rates, DDoS engine, rule expiry) and serves flctl on a
 * Unix socket.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <bpf/libbpf.h>

#include "ctl.h"
#include "commands.h"
#include "daemon.h"
#include "hep.h"
#include "log.h"
#include "module.h"
#include "replay.h"

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %1$s [OPTIONS] -i IFACE [-i IFACE ...]\n"
		"       %1$s replay [OPTIONS] FILE...   (classify pcaps offline; replay --help)\n"
		"\n"
		"Attach the FlowLens XDP program to each IFACE, pin its maps under\n"
		"BPFFS/flowlens/, turn its per-CPU counters into rates (over the last\n"
		"second, ten times a second), run the DDoS engine on them and answer\n"
		"flctl on a Unix socket. Runs in the foreground; SIGINT or\n"
		"SIGTERM detaches from every interface, takes back what the SYN\n"
		"proxy changed (its nftables table, a sysctl) and exits. Maps stay\n"
		"pinned, so a restarted flowlensd loses no counter and no setting.\n"
		"\n"
		"Options:\n"
		"  -i, --interface IFACE   attach to IFACE (repeat for more, up to %2$d)\n"
		"  -m, --mode MODE         what happens to a packet that passes every check:\n"
		"                          host     (default) XDP_PASS to the local stack\n"
		"                          router   routed at the driver: bpf_fib_lookup in\n"
		"                                   the kernel's FIB and neighbour tables,\n"
		"                                   MACs rewritten, TTL decremented, then\n"
		"                                   XDP_REDIRECT to the egress IFACE; what\n"
		"                                   the FIB cannot resolve (ARP/ND, no route\n"
		"                                   or neighbour yet, TTL 1, packets for this\n"
		"                                   box, egress not among the IFACEs) goes\n"
		"                                   to the kernel. Needs IP forwarding on.\n"
		"                          monitor  SPAN/mirror port: account, then XDP_DROP\n"
		"  -x, --xdp-mode MODE     native (default; falls back to skb with a\n"
		"                          warning where the driver lacks native XDP) or skb\n"
		"  -s, --socket PATH       control socket (default: $%3$s or\n"
		"                          %4$s)\n"
		"      --state-file PATH   settings kept across reboots (default:\n"
		"                          $%5$s or %6$s)\n"
		"      --bpffs DIR         bpf filesystem to pin maps in (default %7$s;\n"
		"                          mounted there if it is not)\n"
		"      --max-rules N       room for N mitigation rules (default %8$d);\n"
		"                          the maps keep about 72 + 28 x CPUs bytes per\n"
		"                          rule of room, in use or not. Fixed when the maps\n"
		"                          are first pinned: to change it, stop flowlensd\n"
		"                          and remove BPFFS/flowlens/fl_rule* (the rules\n"
		"                          come back from the rules file)\n"
		"      --max-flows N       room for N flows in the flow cache (default\n"
		"                          %9$d; %10$d-%11$d), preallocated: about 152\n"
		"                          bytes each. The flow cache is only a cache: a\n"
		"                          restart with another N replaces it with an\n"
		"                          empty one of the new size (logged), and the\n"
		"                          workers classify its flows again; every other\n"
		"                          map is kept\n"
		"      --events FILE       append the DDoS engine's JSON events to FILE\n"
		"                          (default: ddos-events.jsonl next to the\n"
		"                          state file)\n"
		"      --workers N         AF_XDP workers that classify escalated flows\n"
		"                          with nDPI: worker q reads rx queue q of every\n"
		"                          IFACE and runs pinned to core q (default: one\n"
		"                          per core, at most one per rx queue). 0: none;\n"
		"                          no flow is escalated, every packet is handled\n"
		"                          in XDP. In host mode escalated packets go back\n"
		"                          to the local stack through the TUN device\n"
		"                          flowlens-in\n"
		"      --flow-timeout S    a worker gives up on a flow idle S seconds and\n"
		"                          writes nDPI's guess as its verdict (default: 30\n"
		"                          for UDP and others, 300 for TCP)\n"
		"      --metrics ADDR:PORT serve Prometheus metrics on http://ADDR:PORT/metrics\n"
		"                          (default %12$s; [IPv6]:PORT; 'off': none).\n"
		"                          Port %13$d is outside 9090-9999, which\n"
		"                          Prometheus' default port allocations fill\n"
		"      --gobgp ADDR        use the gobgpd that answers at ADDR (unix:///PATH\n"
		"                          or HOST:PORT of its gRPC API) as the BGP speaker;\n"
		"                          without it flowlensd starts and watches its own\n"
		"                          gobgpd once 'flctl bgp neighbor add' names a peer\n"
		"      --list-commands     print the control requests flowlensd serves\n"
		"                          (one per line, with flctl's words) and exit\n"
		"  -v, --verbose           more detail, including libbpf and libxdp\n"
		"  -h, --help              show this help\n"
		"  -V, --version           show the version\n"
		"\n"
		"Examples:\n"
		"  %1$s -i eth0\n"
		"  %1$s -i eth0 -i eth1 --xdp-mode skb\n"
		"  %1$s --mode router -i eth0 -i eth1\n"
		"  %1$s --mode monitor -i span0\n"
		"\n"
		"See also: flctl help\n",
		prog, FL_MAX_IFACES, FL_SOCKET_ENV, FL_SOCKET_DEFAULT,
		FL_STATE_ENV, FL_STATE_DEFAULT, FL_BPFFS_DEFAULT,
		FL_RULE_MAX_DEFAULT, FL_FLOWS_MAX, FL_MAX_FLOWS_MIN,
		FL_MAX_FLOWS_MAX, FL_METRICS_DEFAULT, FL_METRICS_PORT);
}

enum {
	OPT_STATE_FILE = 256,
	OPT_BPFFS,
	OPT_MAX_RULES,
	OPT_MAX_FLOWS,
	OPT_EVENTS,
	OPT_WORKERS,
	OPT_FLOW_TIMEOUT,
	OPT_LIST_COMMANDS,
	OPT_METRICS,
	OPT_GOBGP,
};

/* A whole decimal number in [min, max]; 0, or -1 if ARG is not one. */
static int number_arg(const char *arg, long min, long max, long *n)
{
	char *end;

	errno = 0;
	*n = strtol(arg, &end, 10);
	return errno || *end || end == arg || *n < min || *n > max ? -1 : 0;
}

static int parse_options(int argc, char **argv, struct fl_options *opt)
{
	static const struct option longopts[] = {
		{ "interface", required_argument, NULL, 'i' },
		{ "mode", required_argument, NULL, 'm' },
		{ "xdp-mode", required_argument, NULL, 'x' },
		{ "socket", required_argument, NULL, 's' },
		{ "state-file", required_argument, NULL, OPT_STATE_FILE },
		{ "bpffs", required_argument, NULL, OPT_BPFFS },
		{ "max-rules", required_argument, NULL, OPT_MAX_RULES },
		{ "max-flows", required_argument, NULL, OPT_MAX_FLOWS },
		{ "events", required_argument, NULL, OPT_EVENTS },
		{ "workers", required_argument, NULL, OPT_WORKERS },
		{ "flow-timeout", required_argument, NULL, OPT_FLOW_TIMEOUT },
		{ "list-commands", no_argument, NULL, OPT_LIST_COMMANDS },
		{ "metrics", required_argument, NULL, OPT_METRICS },
		{ "gobgp", required_argument, NULL, OPT_GOBGP },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{},
	};
	long n;
	int c;

	opt->mode = FL_MODE_HOST;
	opt->xdp_mode = XDP_MODE_NATIVE;
	opt->bpffs = FL_BPFFS_DEFAULT;
	opt->state_path = getenv(FL_STATE_ENV) ?: FL_STATE_DEFAULT;

	while ((c = getopt_long(argc, argv, "i:m:x:s:vhV", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'i':
			if (opt->nr_ifnames == FL_MAX_IFACES) {
				pr_err("too many interfaces (at most %d)",
				       FL_MAX_IFACES);
				return -EINVAL;
			}
			opt->ifnames[opt->nr_ifnames++] = optarg;
			break;
		case 'm':
			c = mode_parse(optarg);
			if (c < 0) {
				pr_err("unknown mode '%s' (host, router or monitor)",
				       optarg);
				return -EINVAL;
			}
			opt->mode = c;
			break;
		case 'x':
			if (!strcmp(optarg, "native")) {
				opt->xdp_mode = XDP_MODE_NATIVE;
			} else if (!strcmp(optarg, "skb")) {
				opt->xdp_mode = XDP_MODE_SKB;
			} else {
				pr_err("unknown XDP mode '%s' (native or skb)",
				       optarg);
				return -EINVAL;
			}
			break;
		case 's':
			opt->socket_path = optarg;
			break;
		case OPT_STATE_FILE:
			opt->state_path = optarg;
			break;
		case OPT_BPFFS:
			opt->bpffs = optarg;
			break;
		case OPT_EVENTS:
			opt->events_path = optarg;
			break;
		case OPT_WORKERS:
			if (number_arg(optarg, 0, FL_XSKS_MAX, &n)) {
				pr_err("bad --workers '%s': a number of workers, 0-%d",
				       optarg, FL_XSKS_MAX);
				return -EINVAL;
			}
			opt->workers = n;
			opt->workers_set = true;
			break;
		case OPT_FLOW_TIMEOUT:
			if (number_arg(optarg, 1, 86400, &n)) {
				pr_err("bad --flow-timeout '%s': seconds, 1-86400",
				       optarg);
				return -EINVAL;
			}
			opt->flow_timeout_ms = n * 1000;
			break;
		case OPT_MAX_RULES: {
			char *end;
			unsigned long n;

			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno || *end || n < 1 || n > 100000000) {
				pr_err("bad --max-rules '%s': a number of rules, 1-100000000",
				       optarg);
				return -EINVAL;
			}
			opt->max_rules = n + 1; /* id 0 is never used */
			break;
		}
		case OPT_MAX_FLOWS:
			if (number_arg(optarg, FL_MAX_FLOWS_MIN,
				       FL_MAX_FLOWS_MAX, &n)) {
				pr_err("bad --max-flows '%s': a number of flows, %d-%d",
				       optarg, FL_MAX_FLOWS_MIN,
				       FL_MAX_FLOWS_MAX);
				return -EINVAL;
			}
			opt->max_flows = n;
			break;
		case OPT_LIST_COMMANDS:
			opt->list_commands = true;
			return 0;
		case OPT_METRICS: {
			struct sockaddr_storage sa;
			char err[160];

			if (!strcmp(optarg, "off")) {
				opt->metrics_off = true;
				break;
			}
			if (metrics_parse_addr(optarg, &sa, err, sizeof(err))) {
				pr_err("bad --metrics: %s", err);
				return -EINVAL;
			}
			opt->metrics_off = false;
			opt->metrics_addr = optarg;
			break;
		}
		case OPT_GOBGP:
			if (!strchr(optarg, ':')) {
				pr_err("bad --gobgp '%s': unix:///PATH or HOST:PORT of gobgpd's API",
				       optarg);
				return -EINVAL;
			}
			opt->gobgp = optarg;
			break;
		case 'v':
			opt->verbose++;
			break;
		case 'h':
			usage(stdout, argv[0]);
			exit(EXIT_SUCCESS);
		case 'V':
			printf("flowlensd %s (libbpf %u.%u)\n",
			       FLOWLENS_VERSION, libbpf_major_version(),
			       libbpf_minor_version());
			exit(EXIT_SUCCESS);
		default:
			fprintf(stderr, "Try '%s --help'.\n", argv[0]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		pr_err("unexpected argument '%s' (interfaces are given with -i)",
		       argv[optind]);
		return -EINVAL;
	}
	if (!opt->nr_ifnames) {
		pr_err("no interface given; use -i IFACE (see --help)");
		return -EINVAL;
	}
	opt->socket_path = fl_ctl_socket_path(opt->socket_path);
	return 0;
}

static int resolve_interfaces(struct daemon *d)
{
	int i, j;

	for (i = 0; i < d->opt.nr_ifnames; i++) {
		struct fl_iface *ifc = &d->ifaces[d->nr_ifaces];
		const char *name = d->opt.ifnames[i];

		if (strlen(name) >= IF_NAMESIZE) {
			pr_err("interface name too long: %s", name);
			return -EINVAL;
		}
		for (j = 0; j < d->nr_ifaces; j++) {
			if (!strcmp(d->ifaces[j].name, name)) {
				pr_err("interface %s given twice", name);
				return -EINVAL;
			}
		}
		ifc->ifindex = if_nametoindex(name);
		if (!ifc->ifindex) {
			pr_err("no such interface: %s", name);
			return -ENODEV;
		}
		strcpy(ifc->name, name);
		d->nr_ifaces++;
	}
	return 0;
}

/*
 * The daemon's modules, in the order they open (and the reverse of the
 * order they close); their ticks run in this order too. Nothing else
 * knows it:
 *   control   the control socket first, so a second daemon is refused
 *             before it touches anything
 *   metrics   Prometheus /metrics (--metrics): a taken address stops the
 *             start before anything is attached; a scrape asks the other
 *             modules' command handlers, so it needs none of them open
 *   loader    the interfaces, the BPF object and its pinned maps
 *   attach    XDP (and tc) on every interface; libxdp loads the program
 *             on the first attach (as a dispatcher's component where the
 *             kernel allows one), which creates the maps the rest fill
 *   forward   router mode's egress ports
 *   settings  runtime settings and protected prefixes (state file)
 *   rates     per-CPU counters -> rates, every tick, before the engines
 *   rules     the rule engine (rules file); the DDoS engine adopts rules
 *   events    the events file and the log of attacks (a bus subscriber)
 *   ddos      thresholds, attacks and their rules
 *   synproxy  the SYN proxy's services, nftables table and sysctl
 *   policy    per-application policies and policers: before the workers,
 *             which match every verdict against them
 *   workers   AF_XDP workers
 *   export    IPFIX flow records
 *   bgp       gobgpd and BGP FlowSpec: after the rule engine and the DDoS
 *             engine, whose rules it announces and next to which it
 *             installs what peers send
 */
#define FL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* clang-format off */
static const struct fl_module *const modules[] = {
	&control_module, &metrics_module, &loader_module, &attach_module,
	&forward_module, &settings_module, &rates_module, &rules_module,
	&events_module, &ddos_module, &synproxy_module, &policy_module,
	&voip_module,
	&hep_module,
	&workers_module,
	&export_module, &bgp_module,
};
/* clang-format on */

int main(int argc, char **argv)
{
	struct daemon d = { .listen_fd = -1, .lock_fd = -1,
			   .sip_ports = { 5060 } };
	int err;

	if (argc > 1 && !strcmp(argv[1], "replay"))
		return replay_main(argc - 1, argv + 1);
	fl_log_init("flowlensd", FL_LOG_INFO);
	if (parse_options(argc, argv, &d.opt))
		return EXIT_FAILURE;
	if (d.opt.verbose)
		fl_log_set_level(FL_LOG_DEBUG);
	if (d.opt.list_commands) {
		commands_list(stdout, modules, FL_ARRAY_SIZE(modules));
		return commands_check(modules, FL_ARRAY_SIZE(modules)) ?
			       EXIT_FAILURE :
			       EXIT_SUCCESS;
	}
	d.started = time(NULL);

	/* Named interfaces are checked with the options, before anything
	 * (such as another daemon's socket) is looked at. */
	if (resolve_interfaces(&d))
		return EXIT_FAILURE;
	err = loop_run(&d, modules, FL_ARRAY_SIZE(modules));
	return err ? EXIT_FAILURE : EXIT_SUCCESS;
}
