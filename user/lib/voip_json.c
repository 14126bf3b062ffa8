// SPDX-License-Identifier: Apache-2.0
/*
 * The JSON of dialogs, SDP media and RTP streams that replay --voip and
 * the workers' voip commands share (voip_json.h).
 */
#include <arpa/inet.h>
#include <stdio.h>

#include "prefix.h"
#include "voip_json.h"

const char *fl_voip_endpoint(__u8 family, const union fl_addr *addr, __u16 port,
			     char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	fl_addr_format(family == 6 ? AF_INET6 : AF_INET, addr, a, sizeof(a));
	snprintf(buf, len, family == 6 ? "[%s]:%u" : "%s:%u", a, port);
	return buf;
}

void fl_voip_dialog_json_add(struct json_object *o,
			     const struct fl_voip_dialog *d)
{
	struct json_object *methods = json_object_new_array();
	unsigned int m;

	json_object_object_add(o, "call_id",
			       json_object_new_string(d->call_id));
	json_object_object_add(o, "from", json_object_new_string(d->from));
	json_object_object_add(o, "to", json_object_new_string(d->to));
	json_object_object_add(
		o, "state",
		json_object_new_string(fl_voip_state_name(d->state)));
	json_object_object_add(
		o, "final_status",
		d->final_status ? json_object_new_int(d->final_status) : NULL);
	for (m = 0; m <= FL_SIP_METHOD_EXT; m++)
		if (d->methods & 1U << m)
			json_object_array_add(
				methods,
				json_object_new_string(fl_sip_method_name(m)));
	json_object_object_add(o, "methods", methods);
	json_object_object_add(o, "messages",
			       json_object_new_int64(d->messages));
}

struct json_object *fl_sdp_media_json(const struct fl_sdp_media *m, int side)
{
	struct json_object *o = json_object_new_object();
	char a[INET6_ADDRSTRLEN] = "";

	if (m->family)
		fl_addr_format(m->family == 6 ? AF_INET6 : AF_INET, &m->addr, a,
			       sizeof(a));
	json_object_object_add(o, "side",
			       json_object_new_string(side == FL_VOIP_CALLER ?
							      "caller" :
							      "callee"));
	json_object_object_add(
		o, "media", json_object_new_string(fl_sdp_kind_name(m->kind)));
	json_object_object_add(o, "addr", json_object_new_string(a));
	json_object_object_add(o, "port", json_object_new_int(m->port));
	json_object_object_add(o, "direction",
			       json_object_new_string(fl_sdp_dir_name(m->dir)));
	return o;
}

void fl_rtp_stream_json_add(struct json_object *o,
			    const struct fl_rtp_stream *s, bool dst)
{
	char buf[INET6_ADDRSTRLEN + 16];

	snprintf(buf, sizeof(buf), "0x%08x", s->key.ssrc);
	json_object_object_add(o, "ssrc", json_object_new_string(buf));
	json_object_object_add(o, "src",
			       json_object_new_string(fl_voip_endpoint(
				       s->key.family, &s->key.src, s->key.sport,
				       buf, sizeof(buf))));
	if (dst)
		json_object_object_add(o, "dst",
				       json_object_new_string(fl_voip_endpoint(
					       s->key.family, &s->key.dst,
					       s->key.dport, buf,
					       sizeof(buf))));
	json_object_object_add(o, "payload_type", json_object_new_int(s->pt));
}
