// SPDX-License-Identifier: Apache-2.0
/*
 * flctl ddos { threshold | allow | attacks | status }
 *
 * A thin client: threshold add/del send the operator's words as they are
 * and flowlensd parses them (one parser, one set of messages); flctl only
 * checks that enough words were given, and parses allowlist prefixes itself
 * so a typo is named without a daemon.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flctl.h"
#include "prefix.h"
#include "threshold.h"

void flctl_help_ddos(void)
{
	printf("PREFIX := { IPv4 | IPv6 }[/LEN], e.g. 198.51.100.0/24, 2001:db8::/32\n"
	       "METRIC := { pps | bps | sps |                   (either direction)\n"
	       "            tcp-pps | tcp-bps | udp-pps | udp-bps |\n"
	       "            icmp-pps | icmp-bps | frag-pps | frag-bps }\n"
	       "                                                (destination only)\n"
	       "VALUE  := N[k|M|G], per second (100M for bps is 100 Mbit/s)\n"
	       "ACTION := { drop | rate-limit RATE }            (default drop)\n"
	       "RATE   := N[k|M|G][pps] (packets/s) or N[k|M|G]bps (bits/s),\n"
	       "          as for '%1$s rule add ... action rate-limit'\n"
	       "\n"
	       "Automatic DDoS detection and mitigation. flowlensd measures every\n"
	       "host a threshold covers over a sliding 1-second window, re-evaluated\n"
	       "every 100 ms; a host is above its threshold as soon as any metric\n"
	       "given is above its limit.\n"
	       "  pps, bps    packets and bits (of IP datagram) per second\n"
	       "  sps         TCP SYNs per second\n"
	       "  tcp-*, udp-*, icmp-*\n"
	       "              the same for one protocol (icmp: ICMP and ICMPv6)\n"
	       "  frag-*      IP fragments of any protocol (also counted in their\n"
	       "              protocol's metrics)\n"
	       "\n"
	       "A threshold belongs to a PREFIX and a direction:\n"
	       "  destination (the default) each host inside PREFIX is checked on\n"
	       "              its own (not the prefix's total) against what it\n"
	       "              RECEIVES. Its hosts need exact counters: an\n"
	       "              unprotected PREFIX is protected ('%1$s protect add')\n"
	       "              by the same command.\n"
	       "  source      each address inside PREFIX that sends enough to be a\n"
	       "              heavy hitter ('%1$s config show'), or that is\n"
	       "              protected, is checked against what it SENDS; only\n"
	       "              pps, bps and sps.\n"
	       "A host is judged by the longest matching PREFIX of each direction.\n"
	       "There is one threshold per PREFIX and direction: adding another\n"
	       "replaces it.\n"
	       "\n"
	       "When a host goes above, an attack starts. It gets an id (1, 2, ...;\n"
	       "never reused) and a signature, read from the packets to the victim\n"
	       "sampled over the last second:\n"
	       "  sources     up to 8 sources carry at least 80 %% of the packets:\n"
	       "              one rule per source, 'src S dst VICTIM [proto P]'\n"
	       "  victim      otherwise (spoofed or widely spread sources): one rule\n"
	       "              'dst VICTIM [proto P] [dport N | sport N]', with\n"
	       "              'tcp-flags syn/syn,ack' for a SYN flood\n"
	       "  source      a source threshold's attack: 'src ADDRESS'\n"
	       "Each rule carries the threshold's ACTION. They are ordinary rules\n"
	       "of order 900, ahead of manual rules (default %2$d): '%1$s rule list'\n"
	       "shows them, marked 'attack ID'. While the attack lasts, a new\n"
	       "dominant source gets a rule of its own. The attack ends, and its\n"
	       "rules are removed, once the host has stayed below 90 %% of its\n"
	       "limits for hold S seconds (default %3$d); going above again in that\n"
	       "time starts the count over.\n"
	       "\n"
	       "The allowlist holds source prefixes that are never mitigated: a\n"
	       "packet from an allowlisted source skips the rule stage entirely,\n"
	       "automatic and manual rules alike, and no attack ever gets a rule\n"
	       "for such a source. Use it for your own resolvers, monitoring and\n"
	       "peers.\n"
	       "\n"
	       "  threshold add   add the threshold of PREFIX and direction, or\n"
	       "                  replace it; prints it in canonical form\n"
	       "  threshold del   remove it (add 'source' for a source threshold)\n"
	       "  threshold list  every threshold: limits, action, hold\n"
	       "  allow           add, remove or list allowlisted source prefixes\n"
	       "  attacks         the active attacks, newest first: victim, metric\n"
	       "                  crossed, peak rate, signature, rules, packets\n"
	       "                  dropped, top sources; --all adds the ended ones\n"
	       "  status          every tracked host a threshold covers: its rates\n"
	       "                  against its limits, whether it is above, its\n"
	       "                  attack, and how many times it has gone above\n"
	       "\n"
	       "flowlensd logs each attack's start, update (new rules), mitigation\n"
	       "and end on stderr ('ddos: attack 3 start: ...') and appends each as\n"
	       "a JSON line to its events file (--events FILE, default\n"
	       "ddos-events.jsonl next to the state file). Thresholds, the\n"
	       "allowlist, attack ids, active attacks and the last 256 ended ones\n"
	       "survive a flowlensd restart and a reboot.\n"
	       "\n"
	       "Examples:\n"
	       "  %1$s ddos threshold add 198.51.100.0/24 pps 50k udp-pps 20k\n"
	       "  %1$s ddos threshold add 2001:db8:2::/64 sps 5k \\\n"
	       "        action rate-limit 1kpps hold 300\n"
	       "  %1$s ddos threshold add 192.0.2.0/24 source pps 10k bps 100M\n"
	       "  %1$s ddos threshold del 192.0.2.0/24 source\n"
	       "  %1$s ddos allow add 192.0.2.53\n"
	       "  %1$s ddos attacks --all\n",
	       prog_name, FL_RULE_ORDER_DEFAULT, FL_THRESHOLD_HOLD_DEFAULT);
}

/*
 * A text table whose columns are as wide as their widest cell, so long
 * IPv6 addresses and short IPv4 ones both line up. A row may carry a note,
 * printed indented on the next line.
 */
struct table {
	int columns;
	const char *const *headers;
	const char *align; /* 'l' or 'r' per column */
	char **cells; /* rows * columns */
	char **notes; /* per row, or NULL */
	size_t rows, capacity;
};

static void table_add(struct table *t, const char *note, ...)
{
	va_list ap;
	int c;

	if (t->rows == t->capacity) {
		t->capacity = t->capacity ? 2 * t->capacity : 16;
		t->cells = realloc(t->cells,
				   t->capacity * t->columns * sizeof(char *));
		t->notes = realloc(t->notes, t->capacity * sizeof(char *));
		if (!t->cells || !t->notes) {
			perror(prog_name);
			exit(EXIT_FAILURE);
		}
	}
	va_start(ap, note);
	for (c = 0; c < t->columns; c++)
		t->cells[t->rows * t->columns + c] =
			strdup(va_arg(ap, const char *));
	va_end(ap);
	t->notes[t->rows++] = note && *note ? strdup(note) : NULL;
}

static void table_print_row(const struct table *t, const int *width,
			    const char *const *cell)
{
	int c;

	for (c = 0; c < t->columns; c++) {
		bool last = c == t->columns - 1;

		if (t->align[c] == 'r')
			printf("%*s", width[c], cell[c]);
		else
			printf("%-*s", last ? 0 : width[c], cell[c]);
		printf("%s", last ? "\n" : "  ");
	}
}

/* Prints and frees the table. */
static void table_print(struct table *t)
{
	int width[16] = { 0 }, c;
	size_t r;

	for (c = 0; c < t->columns; c++)
		width[c] = strlen(t->headers[c]);
	for (r = 0; r < t->rows; r++)
		for (c = 0; c < t->columns; c++) {
			int len = strlen(t->cells[r * t->columns + c]);

			if (len > width[c])
				width[c] = len;
		}
	table_print_row(t, width, t->headers);
	for (r = 0; r < t->rows; r++) {
		table_print_row(t, width,
				(const char *const *)&t->cells[r * t->columns]);
		if (t->notes[r])
			printf("    %s\n", t->notes[r]);
	}
	for (r = 0; r < t->rows; r++) {
		for (c = 0; c < t->columns; c++)
			free(t->cells[r * t->columns + c]);
		free(t->notes[r]);
	}
	free(t->cells);
	free(t->notes);
}

/* Appends printf output to buf (of size len), after sep unless it is empty. */
static void append(char *buf, size_t len, const char *sep, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t len, const char *sep, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used)
		snprintf(buf + used, len - used, "%s", sep);
	used = strlen(buf);
	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

static struct json_object *get_array(struct json_object *o, const char *key,
				     size_t *count)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_array)) {
		*count = 0;
		return NULL;
	}
	*count = json_object_array_length(v);
	return v;
}

/*
 * A limit as the operator typed it: 50000 is "50k", 1500 "1500"; si()
 * would round (1.50k) and show 50000 as "50.0k".
 */
static const char *limit_text(double value, char *buf, size_t len)
{
	static const char suffix[] = { '\0', 'k', 'M', 'G' };
	unsigned long long v = value;
	unsigned int i = 0;

	if (value != (double)v)
		return si(value, buf, len);
	while (v && v % 1000 == 0 && i < sizeof(suffix) - 1) {
		v /= 1000;
		i++;
	}
	snprintf(buf, len, "%llu%.*s", v, i ? 1 : 0, &suffix[i]);
	return buf;
}

/* "drop", or "rate-limit 10kpps" */
static const char *action_text(struct json_object *o, char *buf, size_t len)
{
	char rate[32];

	if (strcmp(json_get_str(o, "action"), "rate-limit"))
		return json_get_str(o, "action");
	snprintf(buf, len, "rate-limit %s%s",
		 limit_text(json_get_double(o, "rate"), rate, sizeof(rate)),
		 json_get_str(o, "rate_unit"));
	return buf;
}

/* "pps 50k udp-pps 20k", with "/limit" after each rate if rates is given */
static const char *limits_text(struct json_object *limits,
			       struct json_object *rates, char *buf, size_t len)
{
	char a[32], b[32];

	buf[0] = '\0';
	if (!limits)
		return buf;
	json_object_object_foreach(limits, metric, limit) {
		limit_text(json_object_get_double(limit), b, sizeof(b));
		if (rates)
			append(buf, len, " ", "%s %s/%s", metric,
			       si(json_get_double(rates, metric), a, sizeof(a)),
			       b);
		else
			append(buf, len, " ", "%s %s", metric, b);
	}
	return buf;
}

/* 42s, 5m03s, 2h10m, 3d04h */
static const char *duration_text(double seconds, char *buf, size_t len)
{
	long s = seconds > 0 ? (long)seconds : 0;

	if (s < 60)
		snprintf(buf, len, "%lds", s);
	else if (s < 3600)
		snprintf(buf, len, "%ldm%02lds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%ldh%02ldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%ldd%02ldh", s / 86400, s % 86400 / 3600);
	return buf;
}

/* Local time: 14:02:11 today, 2025-03-01 14:02 before. */
static const char *clock_text(double unix_time, char *buf, size_t len)
{
	time_t t = (time_t)unix_time, now = time(NULL);
	struct tm tm, today;

	localtime_r(&t, &tm);
	localtime_r(&now, &today);
	strftime(buf, len,
		 tm.tm_yday == today.tm_yday && tm.tm_year == today.tm_year ?
			 "%H:%M:%S" :
			 "%Y-%m-%d %H:%M",
		 &tm);
	return buf;
}

static double now_unix(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void print_threshold_added(struct json_object *data)
{
	struct json_object *th = json_object_object_get(data, "threshold");
	struct json_object *v;

	printf("%s threshold %s\n",
	       json_object_object_get_ex(data, "replaced", &v) &&
			       json_object_get_boolean(v) ?
		       "replaced" :
		       "added",
	       json_get_str(th, "text"));
	if (json_object_object_get_ex(data, "protected", &v) &&
	    json_object_get_boolean(v))
		printf("protecting %s too (its hosts need exact counters)\n",
		       json_get_str(th, "prefix"));
}

int flctl_ddos_threshold_add(const struct fl_proto_cmd *cmd, int argc,
			     char **argv)
{
	int limits = argc - 1;

	if (argc > 1 && !strcmp(argv[1], "source"))
		limits--;
	if (limits < 2)
		return usage_error(
			"%s needs PREFIX and at least one METRIC VALUE (e.g. '198.51.100.0/24 pps 50k')",
			cmd_name(cmd));
	return flctl_run_words(cmd, argc, argv, print_threshold_added);
}

static void print_threshold_deleted(struct json_object *data)
{
	printf("deleted threshold %s\n",
	       json_get_str(json_object_object_get(data, "threshold"), "text"));
}

int flctl_ddos_threshold_del(const struct fl_proto_cmd *cmd, int argc,
			     char **argv)
{
	if (argc < 1 || argc > 2)
		return usage_error(
			"%s needs PREFIX, and 'source' for a source threshold",
			cmd_name(cmd));
	return flctl_run_words(cmd, argc, argv, print_threshold_deleted);
}

static void print_threshold_list(struct json_object *data)
{
	static const char *const headers[] = { "PREFIX", "DIRECTION", "LIMITS",
					       "ACTION", "HOLD" };
	struct table t = { .columns = 5, .headers = headers, .align = "lllll" };
	char limits[512], action[64], hold[32];
	struct json_object *list, *o;
	size_t i, n;

	list = get_array(data, "thresholds", &n);
	if (!n) {
		printf("no thresholds\n");
		return;
	}
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(list, i);
		snprintf(hold, sizeof(hold), "%llus",
			 (unsigned long long)json_get_u64(o, "hold"));
		table_add(&t, NULL, json_get_str(o, "prefix"),
			  json_get_str(o, "direction"),
			  limits_text(json_object_object_get(o, "limits"), NULL,
				      limits, sizeof(limits)),
			  action_text(o, action, sizeof(action)), hold);
	}
	table_print(&t);
}

int flctl_ddos_threshold_list(const struct fl_proto_cmd *cmd, int argc,
			      char **argv)
{
	return arg_none(cmd, argc, argv) ?:
		       flctl_run_plain(cmd, print_threshold_list);
}

static void print_allow_added(struct json_object *data)
{
	printf("allowlisted %s\n", json_get_str(data, "prefix"));
}

static void print_allow_deleted(struct json_object *data)
{
	printf("no longer allowlisted %s\n", json_get_str(data, "prefix"));
}

int flctl_ddos_allow_add(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	return flctl_prefix_request(cmd, argc, argv, print_allow_added);
}

int flctl_ddos_allow_del(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	return flctl_prefix_request(cmd, argc, argv, print_allow_deleted);
}

static void print_allow_list(struct json_object *data)
{
	struct json_object *list;
	size_t i, n;

	list = get_array(data, "prefixes", &n);
	if (!n)
		printf("no allowlisted prefixes\n");
	for (i = 0; i < n; i++)
		printf("%s\n", json_object_get_string(
				       json_object_array_get_idx(list, i)));
}

int flctl_ddos_allow_list(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	return arg_none(cmd, argc, argv) ?:
					   flctl_run_plain(cmd, print_allow_list);
}

#define NOTE_SOURCES_MAX 5 /* a spoofed flood's list is long and says little */

/*
 * The note under an attack's row: its traffic, its top sources with their
 * share of the sampled packets, its rules, what went wrong installing them
 * and, once over, how long it lasted.
 */
static void attack_note(struct json_object *a, char *buf, size_t len)
{
	struct json_object *list, *v;
	char part[512], d[32];
	size_t i, n;

	buf[0] = part[0] = '\0';
	if (json_object_object_get_ex(a, "sip_method", &v) && v) {
		/* a VoIP attack: a method from one source, or to one host;
		 * or RTP from one source */
		const char *m = json_object_get_string(v);

		append(buf, len, "; ", "%s%s towards %s%s",
		       !strcmp(m, "rtp")	 ? "RTP burst" :
		       !strcmp(m, "unsolicited") ? "unsolicited RTP" :
						   "SIP ",
		       !strcmp(m, "rtp") || !strcmp(m, "unsolicited") ? "" : m,
		       json_get_str(a, "threshold"),
		       strcmp(json_get_str(a, "mitigation"), "rules") ?
			       "; a method limiter on the host" :
			       "");
		goto rules;
	}
	append(part, sizeof(part), " ", "%s", json_get_str(a, "protocol"));
	if (json_object_object_get_ex(a, "dport", &v) && v)
		append(part, sizeof(part), " ", "dport %d",
		       json_object_get_int(v));
	if (json_object_object_get_ex(a, "sport", &v) && v)
		append(part, sizeof(part), " ", "sport %d",
		       json_object_get_int(v));
	append(buf, len, "; ", "%s", part);

	part[0] = '\0';
	list = get_array(a, "sources", &n);
	for (i = 0; i < n && i < NOTE_SOURCES_MAX; i++) {
		struct json_object *s = json_object_array_get_idx(list, i);
		double share = 100 * json_get_double(s, "share");

		if (share < 0.5)
			append(part, sizeof(part), ", ", "%s <1%%",
			       json_get_str(s, "address"));
		else
			append(part, sizeof(part), ", ", "%s %.0f%%",
			       json_get_str(s, "address"), share);
	}
	if (n > NOTE_SOURCES_MAX)
		append(part, sizeof(part), ", ", "%zu more",
		       n - NOTE_SOURCES_MAX);
	append(buf, len, "; ", "%s%s", n ? "sources " : "no sources sampled",
	       part);

rules:
	part[0] = '\0';
	list = get_array(a, "rules", &n);
	for (i = 0; i < n; i++)
		append(part, sizeof(part), " ", "%llu",
		       (unsigned long long)json_object_get_uint64(
			       json_object_array_get_idx(list, i)));
	append(buf, len, "; ", "%s%s",
	       n > 1 ? "rules " :
	       n     ? "rule " :
		       "no rules",
	       part);

	if (json_object_object_get_ex(a, "error", &v) && v)
		append(buf, len, "; ", "%s", json_object_get_string(v));
	if (json_object_object_get_ex(a, "ended", &v) && v)
		append(buf, len, "; ", "lasted %s",
		       duration_text(json_object_get_double(v) -
					     json_get_double(a, "started"),
				     d, sizeof(d)));
}

static bool attacks_all; /* --all: the printer says "no attacks" */

static void print_attacks(struct json_object *data)
{
	static const char *const headers[] = {
		"ID",	     "STATE", "VICTIM",	 "METRIC",  "PEAK-PPS",
		"SIGNATURE", "RULES", "DROPPED", "STARTED", "AGE"
	};
	struct table t = { .columns = 10,
			   .headers = headers,
			   .align = "rlllrlrrlr" };
	char id[32], metric[64], peak[32], rules[32], dropped[32], started[32],
		age[32], limit[32], note[1024];
	struct json_object *list, *a;
	double now = now_unix();
	size_t i, n, nrules;

	list = get_array(data, "attacks", &n);
	if (!n) {
		printf("%s\n",
		       attacks_all ? "no attacks" : "no active attacks");
		return;
	}
	for (i = 0; i < n; i++) {
		a = json_object_array_get_idx(list, i);
		snprintf(id, sizeof(id), "%llu",
			 (unsigned long long)json_get_u64(a, "id"));
		snprintf(metric, sizeof(metric), "%s>%s",
			 json_get_str(a, "metric"),
			 limit_text(json_get_double(a, "limit"), limit,
				    sizeof(limit)));
		get_array(a, "rules", &nrules);
		snprintf(rules, sizeof(rules), "%zu", nrules);
		attack_note(a, note, sizeof(note));
		table_add(&t, note, id, json_get_str(a, "state"),
			  json_get_str(a, "victim"), metric,
			  si(json_get_double(json_object_object_get(a, "peak"),
					     "pps"),
			     peak, sizeof(peak)),
			  json_get_str(a, "signature"), rules,
			  si(json_get_u64(a, "dropped"), dropped,
			     sizeof(dropped)),
			  clock_text(json_get_double(a, "started"), started,
				     sizeof(started)),
			  duration_text(now - json_get_double(a, "started"),
					age, sizeof(age)));
	}
	table_print(&t);
}

int flctl_ddos_attacks(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	struct json_object *req;
	bool all = false;

	for (; argc; NEXT_ARG()) {
		if (strcmp(argv[0], "--all"))
			return arg_unexpected(cmd_name(cmd), argv[0], "--all");
		all = true;
	}
	attacks_all = all;
	req = request_new(cmd);
	json_object_object_add(req, "all", json_object_new_boolean(all));
	return flctl_run(req, print_attacks);
}

static const char *yes_no(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) &&
			       json_object_get_boolean(v) ?
		       "yes" :
		       "no";
}

static void print_status(struct json_object *data)
{
	static const char *const headers[] = { "VICTIM",    "DIRECTION",
					       "THRESHOLD", "RATE/LIMIT",
					       "ABOVE",	    "ACTIVE",
					       "ATTACK",    "CROSSINGS" };
	struct table t = { .columns = 8,
			   .headers = headers,
			   .align = "lllllllr" };
	char limits[512], attack[32], crossings[32];
	unsigned long long thresholds, active;
	struct json_object *list, *o, *v;
	size_t i, n;

	list = get_array(data, "victims", &n);
	thresholds = json_get_u64(data, "thresholds");
	active = json_get_u64(data, "active");
	printf("%llu threshold%s, %llu active attack%s\n", thresholds,
	       thresholds == 1 ? "" : "s", active, active == 1 ? "" : "s");
	if (*json_get_str(data, "events_file"))
		printf("events appended to %s\n",
		       json_get_str(data, "events_file"));
	if (!n) {
		printf("no tracked host under a threshold\n");
		return;
	}
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(list, i);
		if (json_object_object_get_ex(o, "attack", &v) && v)
			snprintf(attack, sizeof(attack), "%llu",
				 (unsigned long long)json_object_get_uint64(v));
		else
			snprintf(attack, sizeof(attack), "-");
		snprintf(crossings, sizeof(crossings), "%llu",
			 (unsigned long long)json_get_u64(o, "crossings"));
		table_add(&t, NULL, json_get_str(o, "address"),
			  json_get_str(o, "direction"),
			  json_get_str(o, "threshold"),
			  limits_text(json_object_object_get(o, "limits"),
				      json_object_object_get(o, "rates"),
				      limits, sizeof(limits)),
			  yes_no(o, "above"), yes_no(o, "active"), attack,
			  crossings);
	}
	table_print(&t);
}

int flctl_ddos_status(const struct fl_proto_cmd *cmd, int argc, char **argv)
{
	return arg_none(cmd, argc, argv) ?: flctl_run_plain(cmd, print_status);
}
