// SPDX-License-Identifier: Apache-2.0
/*
 * RTP audio to 16 kHz PCM (rtp_audio.h): a reordering window in front of
 * one of five decoders, the 8 kHz ones through a resampler.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <bcg729/decoder.h>
#include <opus/opus.h>
#include <speex/speex_resampler.h>
/* spandsp's headers want these first */
#include <inttypes.h>
#include <spandsp/telephony.h>
#include <spandsp/bit_operations.h>
#include <spandsp/g711.h>
#include <spandsp/g722.h>

#include "rtp_audio.h"

#define G729_FRAME 10 /* bytes: 10 ms */
#define G729_SID 2 /* a comfort-noise (Annex B) frame */
#define G729_SAMPLES 80 /* a frame's, at 8 kHz */
#define OPUS_MAX 1920 /* 120 ms at 16 kHz: Opus's longest packet */
#define DEFAULT_SAMPLES 320 /* 20 ms at 16 kHz, before any packet */
#define RESAMPLE_QUALITY 3
/* a packet's samples at most: G.729's 8 a byte (80 per 10-byte frame) */
#define PCM_MAX (8 * FL_AUDIO_PACKET_MAX)

struct held {
	bool used;
	__u16 len;
	__u8 data[FL_AUDIO_PACKET_MAX];
};

struct fl_audio_dec {
	enum fl_audio_codec codec;
	bool started;
	__u16 next; /* the sequence number played next */
	struct held win[FL_AUDIO_REORDER]; /* by seq % FL_AUDIO_REORDER */
	size_t last_samples; /* the last packet's, at 16 kHz */
	/* the codec's */
	int16_t hist[FL_AUDIO_PACKET_MAX]; /* G.711: the last packet, 8 kHz */
	size_t hist_len;
	g722_decode_state_t *g722;
	bcg729DecoderChannelContextStruct *g729;
	OpusDecoder *opus;
	SpeexResamplerState *rs; /* 8 kHz codecs */
	/* decoded, not yet pulled */
	int16_t *out;
	size_t head, len, cap;
	struct fl_audio_dec_stats st;
};

static const char *const codec_names[FL_AUDIO_CODECS] = {
	[FL_AUDIO_NONE] = "none", [FL_AUDIO_PCMU] = "PCMU",
	[FL_AUDIO_PCMA] = "PCMA", [FL_AUDIO_G722] = "G722",
	[FL_AUDIO_G729] = "G729", [FL_AUDIO_OPUS] = "opus",
};

const char *fl_audio_codec_name(enum fl_audio_codec c)
{
	return c < FL_AUDIO_CODECS ? codec_names[c] : "none";
}

enum fl_audio_codec fl_audio_codec_parse(const char *name)
{
	int c;

	for (c = FL_AUDIO_PCMU; c < FL_AUDIO_CODECS; c++)
		if (!strcasecmp(name, codec_names[c]))
			return c;
	return FL_AUDIO_NONE;
}

enum fl_audio_codec fl_audio_codec_from(__u8 pt, const char *name)
{
	if (name && *name)
		return fl_audio_codec_parse(name);
	switch (pt) { /* RFC 3551, table 4 */
	case 0:
		return FL_AUDIO_PCMU;
	case 8:
		return FL_AUDIO_PCMA;
	case 9:
		return FL_AUDIO_G722;
	case 18:
		return FL_AUDIO_G729;
	default:
		return FL_AUDIO_NONE;
	}
}

static bool is_8k(enum fl_audio_codec c)
{
	return c == FL_AUDIO_PCMU || c == FL_AUDIO_PCMA || c == FL_AUDIO_G729;
}

struct fl_audio_dec *fl_audio_dec_new(enum fl_audio_codec c)
{
	struct fl_audio_dec *d;
	int err = 0;

	if (c == FL_AUDIO_NONE || c >= FL_AUDIO_CODECS) {
		errno = ENOTSUP;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->codec = c;
	d->last_samples = DEFAULT_SAMPLES;
	switch (c) {
	case FL_AUDIO_PCMU:
	case FL_AUDIO_PCMA:
		break;
	case FL_AUDIO_G722:
		d->g722 = g722_decode_init(NULL, 64000, 0);
		err = !d->g722;
		break;
	case FL_AUDIO_G729:
		d->g729 = initBcg729DecoderChannel();
		err = !d->g729;
		break;
	default:
		d->opus = opus_decoder_create(FL_AUDIO_RATE, 1, &err);
		break;
	}
	if (!err && is_8k(c)) {
		d->rs = speex_resampler_init(1, 8000, FL_AUDIO_RATE,
					     RESAMPLE_QUALITY, &err);
		err = err || !d->rs;
	}
	if (err) {
		fl_audio_dec_free(d);
		errno = ENOMEM;
		return NULL;
	}
	return d;
}

void fl_audio_dec_free(struct fl_audio_dec *d)
{
	if (!d)
		return;
	if (d->g722)
		g722_decode_free(d->g722);
	if (d->g729)
		closeBcg729DecoderChannel(d->g729);
	if (d->opus)
		opus_decoder_destroy(d->opus);
	if (d->rs)
		speex_resampler_destroy(d->rs);
	free(d->out);
	free(d);
}

/* Room for @n more samples at the end of the output; false if none. */
static bool out_room(struct fl_audio_dec *d, size_t n)
{
	size_t cap;
	int16_t *p;

	if (d->head && d->head + d->len + n > d->cap) {
		memmove(d->out, d->out + d->head, d->len * sizeof(*d->out));
		d->head = 0;
	}
	if (d->head + d->len + n <= d->cap)
		return true;
	for (cap = d->cap ? d->cap : 4096; cap < d->len + n; cap *= 2)
		;
	p = realloc(d->out, cap * sizeof(*p));
	if (!p)
		return false;
	d->out = p;
	d->cap = cap;
	return true;
}

/* @n samples at @rate (8000 or 16000) onto the output. */
static void emit(struct fl_audio_dec *d, const int16_t *pcm, size_t n)
{
	spx_uint32_t in_len, out_len;

	if (!n)
		return;
	if (!d->rs) {
		if (!out_room(d, n))
			return;
		memcpy(d->out + d->head + d->len, pcm, n * sizeof(*pcm));
		d->len += n;
		d->st.samples += n;
		d->last_samples = n;
		return;
	}
	if (!out_room(d, 2 * n + 16))
		return;
	in_len = n;
	out_len = 2 * n + 16;
	speex_resampler_process_int(d->rs, 0, pcm, &in_len,
				    d->out + d->head + d->len, &out_len);
	d->len += out_len;
	d->st.samples += out_len;
	d->last_samples = 2 * n;
}

/* One packet's payload, in its turn. */
static void decode(struct fl_audio_dec *d, const __u8 *p, size_t len)
{
	int16_t pcm[PCM_MAX];
	size_t i, n = 0;
	int r;

	switch (d->codec) {
	case FL_AUDIO_PCMU:
	case FL_AUDIO_PCMA:
		for (i = 0; i < len; i++)
			pcm[i] = d->codec == FL_AUDIO_PCMU ?
					 ulaw_to_linear(p[i]) :
					 alaw_to_linear(p[i]);
		memcpy(d->hist, pcm, len * sizeof(*pcm));
		d->hist_len = n = len;
		break;
	case FL_AUDIO_G722:
		r = g722_decode(d->g722, pcm, p, len);
		n = r > 0 ? r : 0;
		break;
	case FL_AUDIO_G729:
		/* 10-byte frames, then perhaps a 2-byte SID (RFC 3551 4.5.6) */
		if (len % G729_FRAME != 0 && len % G729_FRAME != G729_SID)
			goto refused;
		for (i = 0; i + G729_FRAME <= len; i += G729_FRAME, n += 80)
			bcg729Decoder(d->g729, p + i, G729_FRAME, 0, 0, 0,
				      pcm + n);
		if (len - i == G729_SID) {
			bcg729Decoder(d->g729, p + i, G729_SID, 0, 1, 1,
				      pcm + n);
			n += G729_SAMPLES;
		}
		break;
	default:
		r = opus_decode(d->opus, p, len, pcm, OPUS_MAX, 0);
		if (r < 0)
			goto refused;
		n = r;
		break;
	}
	d->st.packets++;
	emit(d, pcm, n);
	return;
refused:
	d->st.refused++;
}

/* A missing packet: as long as the one before it, filled in. */
static void conceal(struct fl_audio_dec *d)
{
	static const __u8 erased[G729_FRAME]; /* not read: erasure */
	int16_t pcm[PCM_MAX];
	size_t n = d->last_samples, i;
	int r;

	if (is_8k(d->codec))
		n /= 2;
	if (n > (d->codec == FL_AUDIO_OPUS ? OPUS_MAX : PCM_MAX))
		n = d->codec == FL_AUDIO_OPUS ? OPUS_MAX : PCM_MAX;
	switch (d->codec) {
	case FL_AUDIO_PCMU:
	case FL_AUDIO_PCMA:
		/* the last packet again, fading out; silence after that */
		for (i = 0; i < n; i++)
			pcm[i] = d->hist_len ? d->hist[i % d->hist_len] *
						       (double)(n - i) / n :
					       0;
		d->hist_len = 0;
		break;
	case FL_AUDIO_G729:
		n -= n % G729_SAMPLES;
		for (i = 0; i < n; i += G729_SAMPLES)
			bcg729Decoder(d->g729, erased, G729_FRAME, 1, 0, 0,
				      pcm + i);
		break;
	case FL_AUDIO_OPUS:
		r = opus_decode(d->opus, NULL, 0, pcm, n, 0);
		n = r > 0 ? r : 0;
		break;
	default: /* G.722: silence */
		memset(pcm, 0, n * sizeof(*pcm));
		break;
	}
	d->st.concealed++;
	emit(d, pcm, n);
	d->last_samples = is_8k(d->codec) ? 2 * n : n;
}

/* Plays what is in order from d->next on. */
static void play_ready(struct fl_audio_dec *d)
{
	struct held *h;

	while ((h = &d->win[d->next % FL_AUDIO_REORDER])->used) {
		decode(d, h->data, h->len);
		h->used = false;
		d->next++;
	}
}

/* Gives up on d->next: concealed, or played if it is there. */
static void advance(struct fl_audio_dec *d)
{
	struct held *h = &d->win[d->next % FL_AUDIO_REORDER];

	if (h->used) {
		decode(d, h->data, h->len);
		h->used = false;
	} else {
		conceal(d);
	}
	d->next++;
}

int fl_audio_dec_push(struct fl_audio_dec *d, __u16 seq, const void *payload,
		      size_t len)
{
	struct held *h;
	__s16 ahead;

	if (!len || len > FL_AUDIO_PACKET_MAX)
		return -EINVAL;
	if (!d->started) {
		d->started = true;
		d->next = seq;
	}
	ahead = (__s16)(seq - d->next);
	if (ahead < 0) {
		d->st.late++;
		return 0;
	}
	/* beyond the window: what it waited for is lost */
	while (ahead >= FL_AUDIO_REORDER) {
		advance(d);
		ahead--;
	}
	h = &d->win[seq % FL_AUDIO_REORDER];
	if (h->used) { /* a duplicate */
		d->st.late++;
		return 0;
	}
	memcpy(h->data, payload, len);
	h->len = len;
	h->used = true;
	play_ready(d);
	return 0;
}

void fl_audio_dec_flush(struct fl_audio_dec *d)
{
	int i, last = -1;

	for (i = 0; i < FL_AUDIO_REORDER; i++)
		if (d->win[(__u16)(d->next + i) % FL_AUDIO_REORDER].used)
			last = i;
	for (i = 0; i <= last; i++)
		advance(d);
}

size_t fl_audio_dec_pull(struct fl_audio_dec *d, int16_t *out, size_t max)
{
	size_t n = d->len < max ? d->len : max;

	memcpy(out, d->out + d->head, n * sizeof(*out));
	d->head += n;
	d->len -= n;
	if (!d->len)
		d->head = 0;
	return n;
}

void fl_audio_dec_stats(const struct fl_audio_dec *d,
			struct fl_audio_dec_stats *st)
{
	*st = d->st;
}
