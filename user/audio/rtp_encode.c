// SPDX-License-Identifier: Apache-2.0
/*
 * 16 kHz PCM to RTP payloads (rtp_encode.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <bcg729/encoder.h>
#include <opus/opus.h>
#include <speex/speex_resampler.h>
#include <inttypes.h>
#include <spandsp/telephony.h>
#include <spandsp/bit_operations.h>
#include <spandsp/g711.h>
#include <spandsp/g722.h>

#include "rtp_encode.h"

#define OPUS_BITRATE 32000
#define RESAMPLE_QUALITY 5

struct fl_audio_enc {
	enum fl_audio_codec codec;
	SpeexResamplerState *rs; /* 16 kHz to 8 kHz */
	g722_encode_state_t *g722;
	bcg729EncoderChannelContextStruct *g729;
	OpusEncoder *opus;
};

__u8 fl_audio_codec_pt(enum fl_audio_codec c)
{
	switch (c) {
	case FL_AUDIO_PCMU:
		return 0;
	case FL_AUDIO_PCMA:
		return 8;
	case FL_AUDIO_G722:
		return 9;
	case FL_AUDIO_G729:
		return 18;
	default:
		return 96;
	}
}

struct fl_audio_enc *fl_audio_enc_new(enum fl_audio_codec c)
{
	struct fl_audio_enc *e;
	int err = 0;

	if (c == FL_AUDIO_NONE || c >= FL_AUDIO_CODECS) {
		errno = ENOTSUP;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->codec = c;
	switch (c) {
	case FL_AUDIO_G722:
		e->g722 = g722_encode_init(NULL, 64000, 0);
		err = !e->g722;
		break;
	case FL_AUDIO_G729:
		e->g729 = initBcg729EncoderChannel(0);
		err = !e->g729;
		break;
	case FL_AUDIO_OPUS:
		e->opus = opus_encoder_create(FL_AUDIO_RATE, 1,
					      OPUS_APPLICATION_VOIP, &err);
		if (!err)
			opus_encoder_ctl(e->opus,
					 OPUS_SET_BITRATE(OPUS_BITRATE));
		break;
	default:
		break;
	}
	if (!err &&
	    (c == FL_AUDIO_PCMU || c == FL_AUDIO_PCMA || c == FL_AUDIO_G729)) {
		e->rs = speex_resampler_init(1, FL_AUDIO_RATE, 8000,
					     RESAMPLE_QUALITY, &err);
		err = err || !e->rs;
	}
	if (err) {
		fl_audio_enc_free(e);
		errno = ENOMEM;
		return NULL;
	}
	return e;
}

void fl_audio_enc_free(struct fl_audio_enc *e)
{
	if (!e)
		return;
	if (e->rs)
		speex_resampler_destroy(e->rs);
	if (e->g722)
		g722_encode_free(e->g722);
	if (e->g729)
		closeBcg729EncoderChannel(e->g729);
	if (e->opus)
		opus_encoder_destroy(e->opus);
	free(e);
}

int fl_audio_enc_packet(struct fl_audio_enc *e, const int16_t *pcm, __u8 *out)
{
	int16_t s8[FL_AUDIO_ENC_SAMPLES / 2];
	spx_uint32_t in_len = FL_AUDIO_ENC_SAMPLES, out_len = sizeof(s8) / 2;
	__u8 len = 0;
	int i, n;

	if (e->rs) {
		speex_resampler_process_int(e->rs, 0, pcm, &in_len, s8,
					    &out_len);
		for (i = out_len; i < (int)(sizeof(s8) / 2); i++)
			s8[i] = 0; /* the resampler's first call, short */
	}
	switch (e->codec) {
	case FL_AUDIO_PCMU:
	case FL_AUDIO_PCMA:
		for (i = 0; i < FL_AUDIO_ENC_SAMPLES / 2; i++)
			out[i] = e->codec == FL_AUDIO_PCMU ?
					 linear_to_ulaw(s8[i]) :
					 linear_to_alaw(s8[i]);
		return FL_AUDIO_ENC_SAMPLES / 2;
	case FL_AUDIO_G722:
		return g722_encode(e->g722, out, pcm, FL_AUDIO_ENC_SAMPLES);
	case FL_AUDIO_G729:
		for (i = 0; i < 2; i++) {
			bcg729Encoder(e->g729, s8 + 80 * i, out + 10 * i, &len);
			if (len != 10)
				return -1;
		}
		return 20;
	default:
		n = opus_encode(e->opus, pcm, FL_AUDIO_ENC_SAMPLES, out,
				FL_AUDIO_ENC_MAX);
		return n > 0 ? n : -1;
	}
}
