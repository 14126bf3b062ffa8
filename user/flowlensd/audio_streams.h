/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: the audio of RTP streams, per stream (by its tracker key): decoded
 * (user/audio/rtp_audio.h) and measured in 2-second segments
 * (audio_features.h) - what spam scoring builds on. flowlensd replay
 * --voip adds it to each stream it prints.
 *
 *   audio_streams_new()      room for @max streams with audio; with a
 *                            @dir, each one's audio is written there too
 *                            (SSRC.raw, or SSRC-N.raw for the Nth stream
 *                            of an SSRC: 16 kHz mono s16le); with
 *                            @kws (kws.h), each segment's keywords are
 *                            spotted, with the last second of the one
 *                            before
 *   audio_streams_packet()   one RTP packet (@rtp, @len bytes with its
 *                            header @h) of stream @key; @codec_name: the
 *                            SDP's name of its payload type, or NULL
 *   audio_streams_json()     the stream's "audio" object (null for none it
 *                            could decode), its state freed; with @kws,
 *                            its call's spam score too (spam_score.h:
 *                            a call is the two directions between two
 *                            ends, scored as it stands then)
 *   audio_streams_free()
 */
#ifndef FLOWLENSD_AUDIO_STREAMS_H
#define FLOWLENSD_AUDIO_STREAMS_H

#include <json-c/json.h>

#include "voip_track.h"

struct audio_streams;

struct fl_kws;
struct audio_streams *audio_streams_new(unsigned int max, const char *dir,
					struct fl_kws *kws);
void audio_streams_packet(struct audio_streams *as,
			  const struct fl_rtp_key *key,
			  const struct fl_rtp_hdr *h, const __u8 *rtp,
			  const char *codec_name);
struct json_object *audio_streams_json(struct audio_streams *as,
				       const struct fl_rtp_key *key);
/* Every stream's audio to its end: the calls' scores take in both
 * directions before either is shown. */
void audio_streams_finish(struct audio_streams *as);
/* Segments too silent for keyword spotting (under 200 ms of sound). */
__u64 audio_streams_unspotted(const struct audio_streams *as);
/* Streams it had no room for. */
__u64 audio_streams_dropped(const struct audio_streams *as);
void audio_streams_free(struct audio_streams *as);

#endif /* FLOWLENSD_AUDIO_STREAMS_H */
