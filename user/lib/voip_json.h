/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: the JSON both `flowlensd replay --voip` and `flctl voip calls|streams`
 * show of a dialog, an SDP media and an RTP stream: the fields they share.
 * Each caller adds its own (times, codecs, where a stream was seen).
 *   fl_voip_endpoint()        "192.0.2.1:5060", "[2001:db8::1]:5060"
 *   fl_voip_dialog_json_add() call_id, from, to, state, final_status,
 *                             methods, messages
 *   fl_sdp_media_json()       side, media, addr, port, direction
 *   fl_rtp_stream_json_add()  ssrc, src, [dst,] payload_type
 */
#ifndef FL_VOIP_JSON_H
#define FL_VOIP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#include "voip_track.h"

const char *fl_voip_endpoint(__u8 family, const union fl_addr *addr, __u16 port,
			     char *buf, size_t len);
void fl_voip_dialog_json_add(struct json_object *o,
			     const struct fl_voip_dialog *d);
struct json_object *fl_sdp_media_json(const struct fl_sdp_media *m, int side);
void fl_rtp_stream_json_add(struct json_object *o,
			    const struct fl_rtp_stream *s, bool dst);

#endif /* FL_VOIP_JSON_H */
