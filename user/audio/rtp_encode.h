/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: 16 kHz mono PCM to RTP payloads, the other way from rtp_audio.h -
 * for the captures spam scoring is tested on (a labelled set of calls
 * built from speech), with the same libraries: G.711 u-law and A-law and
 * G.722 (spandsp), G.729 (bcg729), Opus (libopus, 32 kbit/s). 8 kHz codecs
 * get the audio resampled (speexdsp).
 *
 *   fl_audio_enc_new()     an encoder for one stream
 *   fl_audio_enc_packet()  one packet of FL_AUDIO_ENC_SAMPLES (20 ms) into
 *                          a payload; its length
 *   fl_audio_codec_pt()    the payload type to send it with: RFC 3551's, or
 *                          96 for Opus (dynamic: its SDP says "opus")
 */
#ifndef FL_RTP_ENCODE_H
#define FL_RTP_ENCODE_H

#include "rtp_audio.h"

#define FL_AUDIO_ENC_SAMPLES 320 /* 20 ms at 16 kHz */
#define FL_AUDIO_ENC_MAX 400 /* a payload's bytes at most */

struct fl_audio_enc;

/* NULL with errno: ENOTSUP for FL_AUDIO_NONE, ENOMEM. */
struct fl_audio_enc *fl_audio_enc_new(enum fl_audio_codec c);
/* The payload of @pcm (FL_AUDIO_ENC_SAMPLES at 16 kHz) in @out (at least
 * FL_AUDIO_ENC_MAX bytes): its length, or -1. */
int fl_audio_enc_packet(struct fl_audio_enc *e, const int16_t *pcm, __u8 *out);
void fl_audio_enc_free(struct fl_audio_enc *e);
__u8 fl_audio_codec_pt(enum fl_audio_codec c);

#endif /* FL_RTP_ENCODE_H */
