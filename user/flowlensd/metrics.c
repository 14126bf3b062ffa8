// SPDX-License-Identifier: Apache-2.0
/*
 * metrics - Prometheus /metrics for flowlensd (--metrics ADDR:PORT).
 *
 * libmicrohttpd serves the text exposition format (version 0.0.4) from the
 * control thread: MHD runs without a thread of its own (MHD_USE_EPOLL), its
 * epoll descriptor sits in the daemon's loop, and a scrape renders the
 * page there. So a scrape reads the very counters flctl shows, through
 * the modules' own command handlers ("stats", "apps", "workers", ...), and
 * never touches the packet path; the next tick waits for it, no lock needed.
 *
 * Cardinality is bounded by what FlowLens has, never by traffic: labels
 * are interfaces, verdicts, kinds, reasons, applications (nDPI's list),
 * workers and SYN proxy services - never a rule id, an address or a flow.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include <microhttpd.h>

#include "daemon.h"
#include "log.h"
#include "module.h"
#include "promtext.h"
#include "flowlens.skel.h"

struct metrics {
	struct MHD_Daemon *mhd;
	int epoll_fd;
	__u64 scrapes;
	double last_render_s; /* how long the last page took to render */
};

static struct metrics metrics_state;

/* The text format (user/lib/promtext.c), under short names. */
#define family fl_prom_family
#define sample fl_prom_sample

/* A family of one sample without labels. */
static void scalar(FILE *f, const char *name, const char *type,
		   const char *help, double value)
{
	family(f, name, type, help);
	sample(f, name, NULL, value);
}

/* ---- reading what flctl reads ----------------------------------------- */

/* The reply of one of the daemon's own requests, or NULL (logged once a
 * scrape at debug level: a module may be off, e.g. no workers). */
static struct json_object *ask(struct daemon *d, const char *request)
{
	const struct command *c = modules_command(d, request);
	struct json_object *req = json_object_new_object(), *data = NULL;
	char err[256] = "";

	if (!c || c->fn(d, req, &data, err, sizeof(err))) {
		pr_debug("metrics: %s: %s", request, err[0] ? err : "no such request");
		json_object_put(data);
		data = NULL;
	}
	json_object_put(req);
	return data;
}

static double num(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return 0;
	return json_object_get_double(v);
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return "";
	return json_object_get_string(v);
}

static struct json_object *member(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* A family over an array of objects: for each element, its numeric
 * member @field (see columns()). */
struct column {
	const char *name, *type, *help;
	const char *field;
};

/* One family per column over the elements of an array, labelled by
 * @labels: pairs of label name and element member, NULL-terminated. */
static void columns(FILE *f, struct json_object *arr,
		    const char *const *labels, const struct column *cols,
		    size_t ncols)
{
	size_t c, i, k, n = arr ? json_object_array_length(arr) : 0;

	for (c = 0; c < ncols; c++) {
		family(f, cols[c].name, cols[c].type, cols[c].help);
		for (i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(arr, i);
			const char *lv[7] = { NULL };
			char v[3][64];

			for (k = 0; k < 3 && labels[2 * k]; k++) {
				snprintf(v[k], sizeof(v[k]), "%s",
					 str(e, labels[2 * k + 1]));
				lv[2 * k] = labels[2 * k];
				lv[2 * k + 1] = v[k];
			}
			sample(f, cols[c].name, lv, num(e, cols[c].field));
		}
	}
}

/*
 * A family over the numeric members of one object of each element of an
 * array: element[@object] = { key: n, ... } becomes NAME{@label=element
 * [@label_field], @key_label=key} n.
 */
static void breakdown(FILE *f, struct json_object *arr, const char *label,
		      const char *label_field, const char *object,
		      const char *key_label, const char *name,
		      const char *help)
{
	size_t i, n = arr ? json_object_array_length(arr) : 0;

	family(f, name, "counter", help);
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		struct json_object *o = member(e, object);
		char who[64];

		if (!o || !json_object_is_type(o, json_type_object))
			continue;
		snprintf(who, sizeof(who), "%s", str(e, label_field));
		json_object_object_foreach(o, key, val)
		{
			const char *labels[] = { label, who, key_label, key,
						 NULL };

			sample(f, name, labels, json_object_get_double(val));
		}
	}
}

/* ---- the families ----------------------------------------------------- */

static void interfaces(struct daemon *d, FILE *f)
{
	static const struct column cols[] = {
		{ "flowlens_interface_packets_total", "counter",
		  "Packets the XDP program saw on the interface.", "packets" },
		{ "flowlens_interface_bytes_total", "counter",
		  "Bytes (whole frames) the XDP program saw on the interface.",
		  "bytes" },
		{ "flowlens_interface_forwarded_packets_total", "counter",
		  "Router mode: packets routed at the driver (XDP_REDIRECT to a port).",
		  "forwarded" },
		{ "flowlens_interface_allowlisted_packets_total", "counter",
		  "Packets from DDoS-allowlisted sources, which skipped every rule.",
		  "allowlisted" },
	};
	struct json_object *stats = ask(d, "stats");
	struct json_object *arr = member(stats, "interfaces");

	columns(f, arr, (const char *const[]){ "interface", "name", NULL }, cols,
		sizeof(cols) / sizeof(cols[0]));
	breakdown(f, arr, "interface", "name", "verdicts", "verdict",
		  "flowlens_interface_verdict_packets_total",
		  "Packets by the XDP program's verdict (aborted, drop, pass, tx, redirect).");
	breakdown(f, arr, "interface", "name", "kinds", "kind",
		  "flowlens_interface_kind_packets_total",
		  "Packets by what the parser saw; a packet counts in every kind that applies.");
	breakdown(f, arr, "interface", "name", "parse_errors", "error",
		  "flowlens_interface_malformed_packets_total",
		  "Packets whose headers did not parse, by the first error.");
	breakdown(f, arr, "interface", "name", "forward_passed", "reason",
		  "flowlens_interface_passed_to_kernel_packets_total",
		  "Router mode: packets handed to the kernel instead of routed at the driver, by reason.");
	breakdown(f, arr, "interface", "name", "flow_cache", "event",
		  "flowlens_interface_flow_cache_events_total",
		  "Flow cache and escalation events (stages 6 and 7) on the interface.");
	json_object_put(stats);
}

static void apps(struct daemon *d, FILE *f)
{
	static const struct column cols[] = {
		{ "flowlens_app_packets_total", "counter",
		  "Packets of classified flows by nDPI application, credited as flctl show apps credits them.",
		  "packets" },
		{ "flowlens_app_bytes_total", "counter",
		  "Bytes of classified flows by nDPI application.", "bytes" },
		{ "flowlens_app_flows_total", "counter",
		  "Flows the workers classified, by nDPI application.",
		  "flows" },
	};
	struct json_object *reply = ask(d, "apps");

	/* id too: nDPI calls every id it does not know "Unknown" */
	columns(f, member(reply, "apps"),
		(const char *const[]){ "app", "app", "id", "id", "category",
				       "category", NULL },
		cols,
		sizeof(cols) / sizeof(cols[0]));
	json_object_put(reply);
}

static void workers(struct daemon *d, FILE *f)
{
	static const struct column cols[] = {
		{ "flowlens_worker_rx_packets_total", "counter",
		  "Frames the worker received from XDP.", "rx" },
		{ "flowlens_worker_tx_packets_total", "counter",
		  "Frames the worker sent on (router mode: transmitted; host mode: to the stack).",
		  "tx" },
		{ "flowlens_worker_dropped_packets_total", "counter",
		  "Frames the worker could not send on.", "dropped" },
		{ "flowlens_worker_ring_full_packets_total", "counter",
		  "Frames the kernel could not queue to the worker (its rings were full).",
		  "ring_full" },
		{ "flowlens_worker_classified_flows_total", "counter",
		  "Flows the worker gave a verdict.", "classified" },
		{ "flowlens_worker_gave_up_flows_total", "counter",
		  "Flows the worker gave up on (nDPI found nothing or guessed).",
		  "gave_up" },
		{ "flowlens_worker_flows", "gauge",
		  "Flows in the worker's table now.", "flows" },
		{ "flowlens_worker_memory_bytes", "gauge",
		  "Memory the worker's classifier holds now.", "memory" },
	};
	struct json_object *reply = ask(d, "workers");

	columns(f, member(reply, "workers"),
		(const char *const[]){ "worker", "id", "queue", "queue", NULL },
		cols, sizeof(cols) / sizeof(cols[0]));
	json_object_put(reply);
}

static void synproxy(struct daemon *d, FILE *f)
{
	struct json_object *reply = ask(d, "synproxy-stats");
	struct json_object *arr = member(reply, "services");
	size_t i, n = arr ? json_object_array_length(arr) : 0;
	static const char *const counters[] = {
#define FL_X_NAME(id, name) name,
		FL_SYNPROXY_COUNTERS(FL_X_NAME)
#undef FL_X_NAME
	};
	size_t c;

	family(f, "flowlens_synproxy_packets_total", "counter",
	       "SYN proxy packets by service and event (syns_seen, synacks_sent, cookies_valid, ...).");
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		char service[80];

		snprintf(service, sizeof(service), "%s%s%s:%d",
			 strchr(str(e, "addr"), ':') ? "[" : "", str(e, "addr"),
			 strchr(str(e, "addr"), ':') ? "]" : "",
			 (int)num(e, "port"));
		for (c = 0; c < sizeof(counters) / sizeof(counters[0]); c++) {
			const char *labels[] = { "service", service, "event",
						 counters[c], NULL };

			sample(f, "flowlens_synproxy_packets_total", labels,
			       num(e, counters[c]));
		}
	}
	scalar(f, "flowlens_synproxy_services", "gauge",
	       "SYN proxy services configured.",
	       n);
	json_object_put(reply);
}

/*
 * Per victim under an active attack, and only then: its rate and its
 * threshold's limit for each metric the threshold sets. A victim is
 * labelled by address and direction: bounded by the attacks the engine
 * declares, never by traffic alone.
 */
static void victims(FILE *f, struct json_object *arr)
{
	static const char *const names[] = { "flowlens_ddos_victim_rate",
					     "flowlens_ddos_victim_limit" };
	static const char *const helps[] = {
		"Rate of a victim under an active attack, per metric (pps, bps, syn-pps, ...), over the last second.",
		"The limit its threshold sets for the metric.",
	};
	size_t i, n = arr ? json_object_array_length(arr) : 0;
	int k;

	for (k = 0; k < 2; k++) {
		family(f, names[k], "gauge", helps[k]);
		for (i = 0; i < n; i++) {
			struct json_object *v = json_object_array_get_idx(arr, i);
			struct json_object *limits = member(v, "limits");
			struct json_object *active = member(v, "active");

			if (!active || !json_object_get_boolean(active) || !limits)
				continue;
			json_object_object_foreach(limits, metric, limit)
			{
				const char *labels[] = { "victim", str(v, "address"),
							 "direction", str(v, "direction"),
							 "metric", metric, NULL };

				sample(f, names[k], labels,
				       k ? json_object_get_double(limit) :
					   num(member(v, "rates"), metric));
			}
		}
	}
}

static void ddos(struct daemon *d, FILE *f)
{
	struct json_object *reply = ask(d, "ddos-status");

	scalar(f, "flowlens_ddos_active_attacks", "gauge",
	       "Attacks the DDoS engine sees now.",
	       num(reply, "active"));
	scalar(f, "flowlens_ddos_thresholds", "gauge",
	       "DDoS thresholds configured.",
	       num(reply, "thresholds"));
	scalar(f, "flowlens_ddos_samples_read_total", "counter",
	       "Packet samples the DDoS engine read from the XDP program.",
	       num(member(reply, "samples"), "read"));
	victims(f, member(reply, "victims"));
	json_object_put(reply);
}

static void rules(struct daemon *d, FILE *f)
{
	size_t counts[FL_ORIGIN_COUNT];
	const char *names[FL_ORIGIN_COUNT];
	int i;

	if (rules_count(d, counts, names))
		return;
	family(f, "flowlens_rules", "gauge",
	       "Mitigation rules installed, by origin (operator: flctl; ddos: the DDoS engine's; flowspec: BGP FlowSpec routes a peer announced).");
	for (i = 0; i < FL_ORIGIN_COUNT; i++) {
		const char *labels[] = { "origin", names[i], NULL };

		if (names[i])
			sample(f, "flowlens_rules", labels, counts[i]);
	}
}

/* What the rules matched and dropped, by origin and action: the
 * datapath's own sums (FL_MAP_RULE_ORIGIN_STATS), a few entries. */
static void rule_traffic(struct daemon *d, FILE *f)
{
	static const char *const origin[FL_RULE_ORIGINS] = {
		[FL_RULE_FROM_OPERATOR] = "operator",
		[FL_RULE_FROM_DDOS] = "ddos",
		[FL_RULE_FROM_FLOWSPEC] = "flowspec",
	};
	static const char *const action[FL_RULE_ACTIONS] = {
		[FL_RULE_DROP] = "drop",
		[FL_RULE_RATE_LIMIT] = "rate-limit",
		[FL_RULE_PERMIT] = "permit",
		[FL_RULE_MARK] = "mark",
	};
	static const struct {
		const char *name, *help;
		size_t off;
	} fams[] = {
		{ "flowlens_rule_matched_packets_total",
		  "Packets that matched a rule, by the rule's origin and action.",
		  offsetof(struct fl_rule_origin_stats, packets) },
		{ "flowlens_rule_matched_bytes_total",
		  "Frame bytes that matched a rule, by origin and action.",
		  offsetof(struct fl_rule_origin_stats, bytes) },
		{ "flowlens_rule_dropped_packets_total",
		  "Packets rules dropped (drop: every match; rate-limit: over the rate), by origin and action.",
		  offsetof(struct fl_rule_origin_stats, dropped) },
		{ "flowlens_rule_dropped_bytes_total",
		  "Frame bytes rules dropped, by origin and action.",
		  offsetof(struct fl_rule_origin_stats, dropped_bytes) },
	};
	__u64 sum[FL_RULE_ORIGINS * FL_RULE_ACTIONS][4] = {};
	struct fl_rule_origin_stats *pc;
	struct bpf_map *map;
	__u32 row;
	size_t i;
	int cpu;

	map = bpf_object__find_map_by_name(
		d->skel->obj, FL_STRINGIFY(FL_MAP_RULE_ORIGIN_STATS));
	pc = calloc(d->ncpus, sizeof(*pc));
	if (!map || !pc) {
		free(pc);
		return;
	}
	for (row = 0; row < FL_RULE_ORIGINS * FL_RULE_ACTIONS; row++) {
		if (bpf_map_lookup_elem(bpf_map__fd(map), &row, pc))
			continue;
		for (cpu = 0; cpu < d->ncpus; cpu++) {
			sum[row][0] += pc[cpu].packets;
			sum[row][1] += pc[cpu].bytes;
			sum[row][2] += pc[cpu].dropped;
			sum[row][3] += pc[cpu].dropped_bytes;
		}
	}
	free(pc);
	for (i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		family(f, fams[i].name, "counter", fams[i].help);
		for (row = 0; row < FL_RULE_ORIGINS * FL_RULE_ACTIONS; row++) {
			const char *o = origin[row / FL_RULE_ACTIONS],
				   *a = action[row % FL_RULE_ACTIONS];
			const char *labels[] = { "origin", o, "action", a,
						 NULL };

			/* every origin and action, zeros too: a query
			 * for drops has a series before the first one */
			if (o && a)
				sample(f, fams[i].name, labels,
				       sum[row][fams[i].off / sizeof(__u64)]);
		}
	}
}

/* IPFIX export per collector, and the flow cache as its reads see it. */
static void export(struct daemon *d, FILE *f)
{
	static const struct column cols[] = {
		{ "flowlens_export_records_total", "counter",
		  "IPFIX records sent to the collector.", "records" },
		{ "flowlens_export_messages_total", "counter",
		  "IPFIX messages (datagrams) sent to the collector.",
		  "messages" },
		{ "flowlens_export_bytes_total", "counter",
		  "IPFIX bytes sent to the collector.", "bytes" },
		{ "flowlens_export_records_lost_total", "counter",
		  "Records in datagrams the socket refused (never resent).",
		  "records_lost" },
		{ "flowlens_export_flows_lost_total", "counter",
		  "Flows the flow cache evicted before their last record: sent as last read.",
		  "flows_lost" },
	};
	struct json_object *reply = ask(d, "export-stats");

	if (!reply)
		return;
	columns(f, member(reply, "collectors"),
		(const char *const[]){ "collector", "collector", NULL }, cols,
		sizeof(cols) / sizeof(cols[0]));
	/* known only while a collector is configured: the export reads the
	 * map once a second, nothing else counts an LRU hash */
	if (member(reply, "collectors") &&
	    json_object_array_length(member(reply, "collectors"))) {
		scalar(f, "flowlens_flow_cache_flows", "gauge",
		       "Flows in the XDP flow cache at the export's last read (only while exporting).",
		       num(reply, "flows"));
		scalar(f, "flowlens_flow_cache_evictions_total", "counter",
		       "Flows that left the XDP flow cache between two export reads: LRU evictions (only while exporting).",
		       num(reply, "flows_evicted"));
		scalar(f, "flowlens_export_flows_unseen_total", "counter",
		       "Flows the XDP flow cache created and evicted between two export reads: never exported (only while exporting).",
		       num(reply, "flows_unseen"));
	}
	json_object_put(reply);
}

static void daemon_loop(struct daemon *d, FILE *f)
{
	struct json_object *reply = ask(d, "daemon");
	struct json_object *loop = member(reply, "loop");

	scalar(f, "flowlens_tick_seconds_total", "counter",
	       "Time the control thread spent in its 100 ms ticks (every module's tick).",
	       num(loop, "tick_seconds"));
	scalar(f, "flowlens_ticks_total", "counter",
	       "Ticks the control thread ran.",
	       num(loop, "ticks"));
	scalar(f, "flowlens_tick_max_seconds", "gauge",
	       "The longest tick since flowlensd started.",
	       num(loop, "tick_max_seconds"));
	scalar(f, "flowlens_ddos_attacks_started_total", "counter",
	       "Attacks the DDoS engine declared since flowlensd started.",
	       num(member(member(reply, "bus"), "published"), "attack-started"));
	scalar(f, "flowlens_ddos_attacks_ended_total", "counter",
	       "Attacks the DDoS engine declared over since flowlensd started.",
	       num(member(member(reply, "bus"), "published"), "attack-ended"));
	json_object_put(reply);
}

/* The process families every Prometheus client exports. */
static void process(FILE *f)
{
	struct rusage ru;
	long pages = 0, rss = 0;
	FILE *statm;

	if (!getrusage(RUSAGE_SELF, &ru)) {
		family(f, "process_cpu_seconds_total", "counter",
		       "Total user and system CPU time spent in seconds.");
		sample(f, "process_cpu_seconds_total", NULL,
		       ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
			       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	}
	statm = fopen("/proc/self/statm", "r");
	if (statm) {
		if (fscanf(statm, "%ld %ld", &pages, &rss) == 2) {
			family(f, "process_resident_memory_bytes", "gauge",
			       "Resident memory size in bytes.");
			sample(f, "process_resident_memory_bytes", NULL,
			       (double)rss * sysconf(_SC_PAGESIZE));
		}
		fclose(statm);
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The whole page; NULL on allocation failure. */
static char *render(struct daemon *d, size_t *len)
{
	struct metrics *m = &metrics_state;
	const char *labels[] = { "version", FLOWLENS_VERSION, "mode",
				 mode_name(d->opt.mode), NULL };
	double t0 = now_s();
	char *buf = NULL;
	FILE *f;

	f = open_memstream(&buf, len);
	if (!f)
		return NULL;
	family(f, "flowlens_build_info", "gauge",
	       "flowlensd's version and mode; always 1.");
	sample(f, "flowlens_build_info", labels, 1);
	interfaces(d, f);
	apps(d, f);
	workers(d, f);
	rules(d, f);
	rule_traffic(d, f);
	export(d, f);
	synproxy(d, f);
	ddos(d, f);
	daemon_loop(d, f);
	process(f);
	scalar(f, "flowlens_scrapes_total", "counter",
	       "Scrapes of /metrics served, this one included.",
	       (double)++m->scrapes);
	scalar(f, "flowlens_scrape_render_seconds", "gauge",
	       "Time the previous scrape took to render on the control thread.",
	       m->last_render_s);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	m->last_render_s = now_s() - t0;
	return buf;
}

/* ---- HTTP ------------------------------------------------------------- */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status,
			     const char *type, char *body, size_t len,
			     enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, mode);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_len, void **state)
{
	static const char root[] =
		"<html><head><title>flowlensd</title></head><body>"
		"<a href=\"/metrics\">/metrics</a></body></html>\n";
	static const char not_found[] = "not found: flowlensd serves /metrics\n";
	static const char bad_method[] = "only GET and HEAD\n";
	struct daemon *d = cls;
	char *body;
	size_t len;

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)state;
	if (strcmp(method, MHD_HTTP_METHOD_GET) &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
			     (char *)bad_method, sizeof(bad_method) - 1,
			     MHD_RESPMEM_PERSISTENT);
	if (!strcmp(url, "/"))
		return reply(c, MHD_HTTP_OK, "text/html", (char *)root,
			     sizeof(root) - 1, MHD_RESPMEM_PERSISTENT);
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, "text/plain",
			     (char *)not_found, sizeof(not_found) - 1,
			     MHD_RESPMEM_PERSISTENT);
	body = render(d, &len);
	if (!body)
		return MHD_NO;
	return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
		     body, len, MHD_RESPMEM_MUST_FREE);
}

static void on_ready(struct daemon *d, int fd, uint32_t events, void *arg)
{
	struct metrics *m = arg;

	(void)d;
	(void)fd;
	(void)events;
	MHD_run(m->mhd);
}

/*
 * --metrics ADDR:PORT ([ADDR]:PORT for IPv6), or "off". Fills @sa; 0, or
 * -EINVAL with @err saying what is wrong.
 */
int metrics_parse_addr(const char *arg, struct sockaddr_storage *sa,
		       char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 2] = "", *end;
	const char *colon = strrchr(arg, ':');
	size_t hlen;
	long port;

	memset(sa, 0, sizeof(*sa));
	if (!colon || colon == arg) {
		snprintf(err, errlen, "'%s' is not ADDR:PORT (e.g. 127.0.0.1:%d)",
			 arg, FL_METRICS_PORT);
		return -EINVAL;
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || port < 1 || port > 65535) {
		snprintf(err, errlen, "bad port in '%s': 1-65535", arg);
		return -EINVAL;
	}
	hlen = colon - arg;
	if (arg[0] == '[' && hlen >= 2 && arg[hlen - 1] == ']') {
		arg++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host)) {
		snprintf(err, errlen, "bad address in '%s'", arg);
		return -EINVAL;
	}
	memcpy(host, arg, hlen);
	if (inet_pton(AF_INET, host,
		      &((struct sockaddr_in *)sa)->sin_addr) == 1) {
		((struct sockaddr_in *)sa)->sin_family = AF_INET;
		((struct sockaddr_in *)sa)->sin_port = htons(port);
		return 0;
	}
	if (inet_pton(AF_INET6, host,
		      &((struct sockaddr_in6 *)sa)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)sa)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
		return 0;
	}
	snprintf(err, errlen,
		 "bad address '%s' in '%s': an IPv4 or [IPv6] address", host,
		 colon - hlen);
	return -EINVAL;
}

static int metrics_open(struct daemon *d)
{
	struct metrics *m = &metrics_state;
	const union MHD_DaemonInfo *info;
	struct sockaddr_storage sa;
	char err[160], name[INET6_ADDRSTRLEN + 8];
	int ret;

	memset(m, 0, sizeof(*m));
	m->epoll_fd = -1;
	if (d->opt.metrics_off)
		return 0;
	ret = metrics_parse_addr(d->opt.metrics_addr ?: FL_METRICS_DEFAULT,
				 &sa, err, sizeof(err));
	if (ret) {
		pr_err("--metrics: %s", err);
		return ret;
	}
	m->mhd = MHD_start_daemon(
		MHD_USE_EPOLL | (sa.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
		0, NULL, NULL, on_request, d, MHD_OPTION_SOCK_ADDR, &sa,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)16,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
		MHD_OPTION_END);
	getnameinfo((struct sockaddr *)&sa, sizeof(sa), name, sizeof(name),
		    NULL, 0, NI_NUMERICHOST);
	if (!m->mhd) {
		/* Asked for: an error. The default: a warning, and no page. */
		if (d->opt.metrics_addr) {
			pr_err("cannot serve /metrics on %s port %d (in use, or not an address of this host?); --metrics ADDR:PORT picks another, --metrics off none",
			       name, ntohs(((struct sockaddr_in *)&sa)->sin_port));
			return -EADDRINUSE;
		}
		pr_warn("no Prometheus metrics: cannot listen on %s port %d (in use, or no loopback?); --metrics ADDR:PORT picks another",
			name, ntohs(((struct sockaddr_in *)&sa)->sin_port));
		return 0;
	}
	info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		MHD_stop_daemon(m->mhd);
		m->mhd = NULL;
		return -EINVAL;
	}
	m->epoll_fd = info->epoll_fd;
	ret = loop_add_fd(d, m->epoll_fd, EPOLLIN, on_ready, m);
	if (ret) {
		MHD_stop_daemon(m->mhd);
		m->mhd = NULL;
		return ret;
	}
	pr_info("serving Prometheus metrics on http://%s%s%s:%d/metrics",
		sa.ss_family == AF_INET6 ? "[" : "", name,
		sa.ss_family == AF_INET6 ? "]" : "",
		ntohs(((struct sockaddr_in *)&sa)->sin_port));
	return 0;
}

static void metrics_close(struct daemon *d)
{
	struct metrics *m = &metrics_state;

	if (m->epoll_fd >= 0)
		loop_del_fd(d, m->epoll_fd);
	if (m->mhd)
		MHD_stop_daemon(m->mhd);
	m->mhd = NULL;
	m->epoll_fd = -1;
}

/* Connection timeouts: MHD only acts on them when it runs. */
static void metrics_tick(struct daemon *d)
{
	(void)d;
	if (metrics_state.mhd)
		MHD_run(metrics_state.mhd);
}

const struct fl_module metrics_module = {
	.name = "metrics",
	.open = metrics_open,
	.close = metrics_close,
	.tick = metrics_tick,
	.tick_every = 10,
};
