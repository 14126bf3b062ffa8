// SPDX-License-Identifier: Apache-2.0
/*
 * What flgen says: results on stdout (text, or one JSON object with -j),
 * errors on stderr, or as {"error": "..."} on stdout with -j, bpftool's
 * way. Mbit/s count the frame as it is on the wire without the FCS, the
 * same bytes the packet counters count.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "flgen.h"
#include "units.h"

static bool report_json, report_pretty;

void flgen_report_init(bool json, bool pretty)
{
	report_json = json || pretty;
	report_pretty = pretty;
}

bool flgen_json(void)
{
	return report_json;
}

static void json_print(struct json_object *obj)
{
	int flags = report_pretty ? JSON_C_TO_STRING_PRETTY :
				    JSON_C_TO_STRING_PLAIN;

	printf("%s\n", json_object_to_json_string_ext(
			       obj, flags | JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
}

void flgen_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (report_json) {
		struct json_object *obj = json_object_new_object();

		json_object_object_add(obj, "error",
				       json_object_new_string(msg));
		json_print(obj);
		json_object_put(obj);
	} else {
		fprintf(stderr, "flgen: %s\n", msg);
	}
}

static double per_second(double value, double seconds)
{
	return seconds > 0 ? value / seconds : 0;
}

static void add_u64(struct json_object *obj, const char *key, uint64_t value)
{
	json_object_object_add(obj, key, json_object_new_uint64(value));
}

static void add_double(struct json_object *obj, const char *key, double value)
{
	char text[32];

	/* A fixed number of decimals; json-c would print 17 digits. */
	snprintf(text, sizeof(text), "%.6f", value);
	json_object_object_add(obj, key, json_object_new_double_s(value, text));
}

static struct json_object *rate_json(uint64_t packets, uint64_t bytes,
				     double seconds)
{
	struct json_object *obj = json_object_new_object();

	add_u64(obj, "packets", packets);
	add_u64(obj, "bytes", bytes);
	add_double(obj, "seconds", seconds);
	add_double(obj, "pps", per_second(packets, seconds));
	add_double(obj, "mbps", per_second(bytes * 8.0 / 1e6, seconds));
	return obj;
}

static void rate_text(const char *prefix, uint64_t packets, uint64_t bytes,
		      double seconds)
{
	char pps[16], bits[16];

	printf("%s%llu packets (%llu bytes) in %.3f s: %s pps, %sbit/s\n",
	       prefix, (unsigned long long)packets, (unsigned long long)bytes,
	       seconds,
	       fl_format_si(per_second(packets, seconds), pps, sizeof(pps)),
	       fl_format_si(per_second(bytes * 8.0, seconds), bits,
			    sizeof(bits)));
}

static uint64_t delta(uint64_t after, uint64_t before)
{
	return after >= before ? after - before : 0;
}

void flgen_report_send(const struct flgen_options *opt,
		       const struct flgen_iface *ifc,
		       const struct flgen_result *threads,
		       unsigned int nr_threads,
		       const struct flgen_if_stats *before,
		       const struct flgen_if_stats *after,
		       const uint64_t *skipped, const char *const *skip_names,
		       unsigned int nr_skipped)
{
	uint64_t packets = 0, bytes = 0;
	struct flgen_if_stats d = {
		.tx_packets = delta(after->tx_packets, before->tx_packets),
		.tx_bytes = delta(after->tx_bytes, before->tx_bytes),
		.tx_dropped = delta(after->tx_dropped, before->tx_dropped),
		.tx_errors = delta(after->tx_errors, before->tx_errors),
	};
	double seconds = 0;
	unsigned int i;

	for (i = 0; i < nr_threads; i++) {
		packets += threads[i].packets;
		bytes += threads[i].bytes;
		if (threads[i].seconds > seconds)
			seconds = threads[i].seconds;
	}

	if (report_json) {
		struct json_object *obj = rate_json(packets, bytes, seconds);
		struct json_object *list = json_object_new_array(), *counters;

		json_object_object_add(
			obj, "command",
			json_object_new_string(opt->command_name));
		json_object_object_add(obj, "interface",
				       json_object_new_string(ifc->name));
		if (opt->command != CMD_REPLAY)
			add_u64(obj, "size", opt->size);
		for (i = 0; i < nr_threads; i++) {
			struct json_object *t = rate_json(threads[i].packets,
							  threads[i].bytes,
							  threads[i].seconds);

			json_object_object_add(
				t, "cpu", json_object_new_int(threads[i].cpu));
			json_object_array_add(list, t);
		}
		json_object_object_add(obj, "threads", list);
		if (nr_skipped) {
			struct json_object *skip = json_object_new_object();

			for (i = 0; i < nr_skipped; i++)
				add_u64(skip, skip_names[i], skipped[i]);
			json_object_object_add(obj, "skipped", skip);
		}
		counters = json_object_new_object();
		add_u64(counters, "tx_packets", d.tx_packets);
		add_u64(counters, "tx_bytes", d.tx_bytes);
		add_u64(counters, "tx_dropped", d.tx_dropped);
		add_u64(counters, "tx_errors", d.tx_errors);
		json_object_object_add(obj, "interface_counters", counters);
		json_print(obj);
		json_object_put(obj);
		return;
	}

	rate_text("sent ", packets, bytes, seconds);
	for (i = 0; nr_threads > 1 && i < nr_threads; i++) {
		char prefix[32];

		snprintf(prefix, sizeof(prefix), "  cpu %d: ", threads[i].cpu);
		rate_text(prefix, threads[i].packets, threads[i].bytes,
			  threads[i].seconds);
	}
	for (i = 0; i < nr_skipped; i++)
		if (skipped[i])
			printf("skipped %llu frames: %s\n",
			       (unsigned long long)skipped[i], skip_names[i]);
	printf("%s counters: tx_packets +%llu, tx_bytes +%llu, tx_dropped +%llu, tx_errors +%llu\n",
	       ifc->name, (unsigned long long)d.tx_packets,
	       (unsigned long long)d.tx_bytes, (unsigned long long)d.tx_dropped,
	       (unsigned long long)d.tx_errors);
	fflush(stdout);
}

void flgen_report_sink(const struct flgen_iface *ifc, const char *mode,
		       bool pass, uint64_t packets, uint64_t bytes,
		       double seconds, double active_seconds)
{
	if (report_json) {
		struct json_object *obj =
			rate_json(packets, bytes, active_seconds);

		json_object_object_add(obj, "command",
				       json_object_new_string("sink"));
		json_object_object_add(obj, "interface",
				       json_object_new_string(ifc->name));
		json_object_object_add(obj, "xdp_mode",
				       json_object_new_string(mode));
		json_object_object_add(obj, "action",
				       json_object_new_string(pass ? "pass" :
								     "drop"));
		add_double(obj, "attached_seconds", seconds);
		json_print(obj);
		json_object_put(obj);
		return;
	}
	printf("received %llu packets (%llu bytes) on %s in %.3f s attached (%s, %s)\n",
	       (unsigned long long)packets, (unsigned long long)bytes,
	       ifc->name, seconds, mode, pass ? "passed on" : "dropped");
	rate_text("while traffic arrived: ", packets, bytes, active_seconds);
	fflush(stdout);
}
