// SPDX-License-Identifier: Apache-2.0
/*
 * The DDoS engine's JSON: thresholds and attacks as flctl, the events
 * file and ddos.json show them, and the names of signatures and
 * protocols in them.
 */
#include "ddos_priv.h"
#include "voip.h"

const char *const ddos_signature_names[] = {
	[DDOS_SIG_SOURCES] = "sources",
	[DDOS_SIG_VICTIM] = "victim",
	[DDOS_SIG_SOURCE] = "source",
};

const char *ddos_signature_name(enum ddos_signature signature)
{
	return signature <= DDOS_SIG_SOURCE ? ddos_signature_names[signature] :
					      "?";
}

static const char *proto_text(__u8 proto)
{
	switch (proto) {
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 1:
	case 58:
		return "icmp";
	case 0:
		return "mixed";
	default:
		return "other";
	}
}

/* ---- JSON ---- */

static struct json_object *time_json(double t)
{
	return t ? json_object_new_double(t) : NULL;
}

struct json_object *limits_json(const struct fl_threshold *t)
{
	struct json_object *o = json_object_new_object();
	int m;

	for (m = 0; m < FL_METRIC_COUNT; m++)
		if (t->limit[m])
			json_object_object_add(
				o, fl_metric_name(m),
				json_object_new_uint64(t->limit[m]));
	return o;
}

struct json_object *threshold_json(const struct fl_threshold *t)
{
	struct json_object *o = json_object_new_object();
	char buf[FL_THRESHOLD_STRLEN], pfx[FL_PREFIX_STRLEN];
	bool rl = t->action == FL_RULE_RATE_LIMIT;

	json_object_object_add(o, "prefix",
			       json_object_new_string(fl_prefix_format(
				       &t->prefix, pfx, sizeof(pfx))));
	json_object_object_add(
		o, "direction",
		json_object_new_string(fl_ddos_dir_name(t->direction)));
	json_object_object_add(o, "limits", limits_json(t));
	json_object_object_add(o, "action",
			       json_object_new_string(rl ? "rate-limit" :
							   "drop"));
	json_object_object_add(o, "rate",
			       rl ? json_object_new_uint64(t->rate) : NULL);
	json_object_object_add(
		o, "rate_unit",
		rl ? json_object_new_string(
			     t->rate_unit == FL_RATE_BPS ? "bps" : "pps") :
		     NULL);
	json_object_object_add(o, "hold", json_object_new_int64(t->hold));
	json_object_object_add(o, "text",
			       json_object_new_string(fl_threshold_format(
				       t, buf, sizeof(buf))));
	return o;
}

void ddos_attack_counters(struct daemon *d, const struct ddos_attack *a,
			  __u64 *matched, __u64 *dropped)
{
	struct fl_rule_stats st;
	struct fl_rule_def def;
	int i;

	*matched = a->matched;
	*dropped = a->dropped;
	if (!a->active)
		return;
	if (a->voip && a->direction == FL_DDOS_DST) {
		/* the method limiter's: what it let through and dropped */
		__u64 passed = 0, limited = 0;

		voip_limiter_counters(d, a, &passed, &limited);
		*matched += passed + limited;
		*dropped += limited;
		return;
	}
	for (i = 0; i < a->nr_rules; i++) {
		if (rules_get(d, a->rules[i], &def, &st))
			continue;
		*matched += st.packets;
		*dropped += st.dropped;
	}
}

struct json_object *ddos_attack_json(struct daemon *d,
				     const struct ddos_attack *a)
{
	struct json_object *o = json_object_new_object(), *sub;
	char buf[FL_PREFIX_STRLEN];
	__u64 matched, dropped;
	int i;

	json_object_object_add(o, "id", json_object_new_int64(a->id));
	json_object_object_add(o, "state",
			       json_object_new_string(a->active ? "active" :
								  "ended"));
	json_object_object_add(
		o, "direction",
		json_object_new_string(fl_ddos_dir_name(a->direction)));
	json_object_object_add(
		o, "victim",
		json_object_new_string(ip_text(&a->victim, buf, sizeof(buf))));
	json_object_object_add(
		o, "threshold",
		json_object_new_string(fl_prefix_format(&a->threshold.prefix,
							buf, sizeof(buf))));
	json_object_object_add(o, "started", time_json(a->started));
	json_object_object_add(o, "mitigated", time_json(a->mitigated));
	json_object_object_add(o, "ended", time_json(a->ended));
	if (a->voip) {
		if (voip_is_media(a->sip_method))
			snprintf(buf, sizeof(buf), "%s-pps",
				 a->sip_method == VOIP_RTP ? "rtp" :
							     "unsolicited-rtp");
		else
			snprintf(buf, sizeof(buf), "sip-%s-pps",
				 voip_method_name(a->sip_method));
		json_object_object_add(o, "metric",
				       json_object_new_string(buf));
		json_object_object_add(o, "limit",
				       json_object_new_uint64(a->sip_limit));
		json_object_object_add(o, "sip_method",
				       json_object_new_string(voip_method_name(
					       a->sip_method)));
		json_object_object_add(
			o, "mitigation",
			json_object_new_string(a->direction == FL_DDOS_DST ?
						       "method-limiter" :
						       "rules"));
	} else {
		json_object_object_add(
			o, "metric",
			json_object_new_string(fl_metric_name(a->metric)));
		json_object_object_add(
			o, "limit",
			json_object_new_uint64(
				a->metric < FL_METRIC_COUNT ?
					a->threshold.limit[a->metric] :
					0));
	}
	sub = json_object_new_object();
	json_object_object_add(sub, "pps", json_object_new_double(a->peak_pps));
	json_object_object_add(sub, "bps", json_object_new_double(a->peak_bps));
	json_object_object_add(sub, "sps", json_object_new_double(a->peak_sps));
	json_object_object_add(o, "peak", sub);
	sub = json_object_new_object();
	json_object_object_add(sub, "pps", json_object_new_double(a->pps));
	json_object_object_add(sub, "bps", json_object_new_double(a->bps));
	json_object_object_add(sub, "sps", json_object_new_double(a->sps));
	json_object_object_add(o, "rates", sub);
	json_object_object_add(o, "protocol",
			       json_object_new_string(proto_text(a->proto)));
	json_object_object_add(o, "dport",
			       a->dport >= 0 ? json_object_new_int(a->dport) :
					       NULL);
	json_object_object_add(o, "sport",
			       a->sport >= 0 ? json_object_new_int(a->sport) :
					       NULL);
	json_object_object_add(
		o, "signature",
		json_object_new_string(ddos_signature_names[a->signature]));
	sub = json_object_new_array();
	for (i = 0; i < a->nr_sources; i++) {
		struct json_object *s = json_object_new_object();

		json_object_object_add(
			s, "address",
			json_object_new_string(ip_text(&a->sources[i].addr, buf,
						       sizeof(buf))));
		json_object_object_add(
			s, "share",
			json_object_new_double(a->sources[i].share));
		json_object_array_add(sub, s);
	}
	json_object_object_add(o, "sources", sub);
	sub = json_object_new_array();
	for (i = 0; i < a->nr_rules; i++)
		json_object_array_add(sub, json_object_new_int64(a->rules[i]));
	json_object_object_add(o, "rules", sub);
	ddos_attack_counters(d, a, &matched, &dropped);
	json_object_object_add(o, "matched", json_object_new_uint64(matched));
	json_object_object_add(o, "dropped", json_object_new_uint64(dropped));
	json_object_object_add(o, "crossings",
			       json_object_new_int64(a->crossings));
	json_object_object_add(o, "hold",
			       json_object_new_int64(a->threshold.hold));
	json_object_object_add(
		o, "action",
		json_object_new_string(a->threshold.action ==
						       FL_RULE_RATE_LIMIT ?
					       "rate-limit" :
					       "drop"));
	json_object_object_add(o, "error",
			       a->error[0] ? json_object_new_string(a->error) :
					     NULL);
	return o;
}
