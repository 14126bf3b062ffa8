// SPDX-License-Identifier: Apache-2.0
/*
 * RTP audio to 16 kHz PCM (user/audio/rtp_audio.c) and back
 * (rtp_encode.c). Two seconds of a voiced, speech-like signal (a gliding
 * pitch with its harmonics under 3.4 kHz, four syllables a second) are
 * encoded with each codec's own encoder - spandsp's G.711 and G.722,
 * bcg729, libopus - in 20 ms packets, and pushed to the decoder:
 *   rtp_audio_codecs     in order, the decoded audio correlates with the
 *                        source (the best lag within 40 ms) at each
 *                        codec's floor, and so does its loudness envelope
 *                        (10 ms frames); nothing concealed or late
 *   rtp_audio_loss       two packets swapped and one missing: the swap
 *                        reordered, the missing one concealed (the audio
 *                        keeps its length), still close to the source;
 *                        a packet older than what was played is late
 *   rtp_audio_payload_types  static payload types and SDP names
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio_compare.h"
#include "rtp_audio.h"
#include "rtp_encode.h"
#include "test_progs.h"

#define SECONDS 2
#define SRC_LEN (FL_AUDIO_RATE * SECONDS)
#define PACKET_MS 20
#define PACKETS (SECONDS * 1000 / PACKET_MS)
#define MAX_LAG (FL_AUDIO_RATE / 25) /* 40 ms */

struct packet {
	__u8 data[FL_AUDIO_PACKET_MAX];
	size_t len;
};

/* The signal at @rate: sample i of the same waveform at either rate. */
static double voice(double t)
{
	double pitch = 120 + 100 * t / SECONDS; /* a glide, 120 to 220 Hz */
	double phase = 2 * M_PI * (120 * t + 50 * t * t / SECONDS);
	double env = 0.55 - 0.45 * cos(2 * M_PI * 4 * t); /* syllables */
	double s = 0;
	int h;

	for (h = 1; h * pitch < 3400; h++)
		s += sin(h * phase) / h;
	return 6000 * env * s;
}

static void source(int rate, int16_t *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = (int16_t)lrint(voice((double)i / rate));
}

/* Encodes the source with @codec into PACKETS packets of 20 ms. */
static int encode(enum fl_audio_codec codec, struct packet *pk)
{
	static int16_t s16[SRC_LEN];
	struct fl_audio_enc *e = fl_audio_enc_new(codec);
	int i, n, err = 0;

	if (!e)
		return -1;
	source(FL_AUDIO_RATE, s16, SRC_LEN);
	for (i = 0; i < PACKETS; i++) {
		n = fl_audio_enc_packet(e, s16 + i * FL_AUDIO_ENC_SAMPLES,
					pk[i].data);
		if (n < 0)
			err = -1;
		pk[i].len = n > 0 ? n : 0;
	}
	fl_audio_enc_free(e);
	return err;
}

/* @got against the source, per mille (audio_compare.h): the codecs and
 * the resampler delay their output. */
static int correlation(const int16_t *got, size_t n)
{
	static int16_t src[SRC_LEN];

	source(FL_AUDIO_RATE, src, SRC_LEN);
	return audio_correlation(src, SRC_LEN, got, n, MAX_LAG);
}

static int envelope_correlation(const int16_t *got, size_t n)
{
	static int16_t src[SRC_LEN];

	source(FL_AUDIO_RATE, src, SRC_LEN);
	return audio_envelope_correlation(src, SRC_LEN, got, n, MAX_LAG);
}

/* Floors, per mille, in order: the waveform's correlation, and the
 * loudness envelope's. A CELP codec (G.729 at 8 kbit/s) keeps the
 * loudness and the pitch, not the waveform: measured 552 and 985 here;
 * the others 897-999 and 978-985. */
static const struct {
	enum fl_audio_codec codec;
	int wave, envelope;
} codecs[] = {
	{ FL_AUDIO_PCMU, 950, 900 }, { FL_AUDIO_PCMA, 950, 900 },
	{ FL_AUDIO_G722, 950, 900 }, { FL_AUDIO_G729, 450, 900 },
	{ FL_AUDIO_OPUS, 850, 900 },
};

/* Pushes packets in @order (indexes; -1 ends), flushes, pulls it all. */
static size_t run(enum fl_audio_codec codec, const struct packet *pk,
		  const int *order, int16_t *out, size_t max,
		  struct fl_audio_dec_stats *st)
{
	struct fl_audio_dec *d = fl_audio_dec_new(codec);
	size_t n = 0;
	int i;

	if (!ASSERT_OK_PTR(d, "decoder"))
		return 0;
	for (i = 0; order[i] >= 0; i++) {
		ASSERT_OK(fl_audio_dec_push(d, 1000 + order[i],
					    pk[order[i]].data,
					    pk[order[i]].len),
			  "push");
		n += fl_audio_dec_pull(d, out + n, max - n);
	}
	fl_audio_dec_flush(d);
	n += fl_audio_dec_pull(d, out + n, max - n);
	fl_audio_dec_stats(d, st);
	fl_audio_dec_free(d);
	return n;
}

/*
 * Codec @c's packets pushed in @order, then the audio against the source:
 * its length (the resampler holds a few samples back) and its two
 * correlations at the codec's floors less @slack (the envelope's less
 * half). The decoder's counters in *@st; false if it could not run.
 */
static bool check_codec(int c, const int *order, int slack,
			struct fl_audio_dec_stats *st)
{
	static struct packet pk[PACKETS];
	static int16_t out[SRC_LEN * 2];
	enum fl_audio_codec codec = codecs[c].codec;
	int corr, env;
	size_t n;

	test__case("%s", fl_audio_codec_name(codec));
	if (!ASSERT_OK(encode(codec, pk), "encode"))
		return false;
	n = run(codec, pk, order, out, ARRAY_SIZE(out), st);
	corr = correlation(out, n);
	env = envelope_correlation(out, n);
	test__log("%s: %zu samples, correlation %d/1000, envelope %d/1000",
		  fl_audio_codec_name(codec), n, corr, env);
	ASSERT_GE(n, SRC_LEN - 64, "samples (a gap filled)");
	ASSERT_LE(n, SRC_LEN, "samples");
	ASSERT_GE(corr, codecs[c].wave - slack, "correlation with the source");
	ASSERT_GE(env, codecs[c].envelope - slack / 2, "envelope correlation");
	return true;
}

void test_rtp_audio_codecs(void)
{
	int order[PACKETS + 1], c, i;
	struct fl_audio_dec_stats st;

	for (i = 0; i < PACKETS; i++)
		order[i] = i;
	order[PACKETS] = -1;
	for (c = 0; c < (int)ARRAY_SIZE(codecs); c++) {
		if (!check_codec(c, order, 0, &st))
			continue;
		ASSERT_EQ(st.packets, PACKETS, "packets");
		ASSERT_EQ(st.concealed + st.late + st.refused, 0,
			  "concealed, late, refused");
	}
}

void test_rtp_audio_loss(void)
{
	static __u8 big[FL_AUDIO_PACKET_MAX + 1];
	int order[PACKETS + 2], c, i, j = 0;
	struct fl_audio_dec_stats st;

	/* 10 and 11 swapped, 30 missing, 40 again after 60 (late) */
	for (i = 0; i < PACKETS; i++) {
		if (i == 30)
			continue;
		order[j++] = i == 10 ? 11 : i == 11 ? 10 : i;
		if (i == 60)
			order[j++] = 40;
	}
	order[j] = -1;
	for (c = 0; c < (int)ARRAY_SIZE(codecs); c++) {
		if (!check_codec(c, order, 100, &st))
			continue;
		ASSERT_EQ(st.packets, PACKETS - 1, "packets decoded");
		ASSERT_EQ(st.concealed, 1, "concealed");
		ASSERT_EQ(st.late, 1, "late");
	}
	/* the longest G.729 payload, 150 frames, then gaps */
	test__case("the longest G.729 payload");
	{
		struct fl_audio_dec *d = fl_audio_dec_new(FL_AUDIO_G729);

		if (ASSERT_OK_PTR(d, "decoder")) {
			ASSERT_OK(fl_audio_dec_push(d, 1, big,
						    FL_AUDIO_PACKET_MAX),
				  "push 1500 bytes");
			ASSERT_OK(fl_audio_dec_push(d, 3 + FL_AUDIO_REORDER,
						    big, 10),
				  "push, 2 lost");
			/* 2 and 3 given up on, 11 held until 4-10 come */
			fl_audio_dec_stats(d, &st);
			ASSERT_EQ(st.packets, 1, "packets");
			ASSERT_EQ(st.concealed, 2, "concealed");
			ASSERT_GE(st.samples, 3 * 150 * 80 * 2 - 64,
				  "samples: 1.5 s, twice as much concealed");
			fl_audio_dec_flush(d);
			fl_audio_dec_stats(d, &st);
			ASSERT_EQ(st.packets, 2, "packets after the flush");
			ASSERT_EQ(st.concealed, 2 + 7, "concealed after it");
			fl_audio_dec_free(d);
		}
	}
	/* a payload too long or empty */
	test__case("payload sizes");
	{
		struct fl_audio_dec *d = fl_audio_dec_new(FL_AUDIO_PCMU);

		if (ASSERT_OK_PTR(d, "decoder")) {
			ASSERT_EQ(fl_audio_dec_push(d, 1, big, 0), -EINVAL,
				  "empty");
			ASSERT_EQ(fl_audio_dec_push(d, 1, big,
						    FL_AUDIO_PACKET_MAX + 1),
				  -EINVAL, "too long");
			fl_audio_dec_free(d);
		}
	}
}

void test_rtp_audio_payload_types(void)
{
	ASSERT_EQ(fl_audio_codec_from(0, NULL), FL_AUDIO_PCMU, "0");
	ASSERT_EQ(fl_audio_codec_from(8, ""), FL_AUDIO_PCMA, "8");
	ASSERT_EQ(fl_audio_codec_from(9, NULL), FL_AUDIO_G722, "9");
	ASSERT_EQ(fl_audio_codec_from(18, NULL), FL_AUDIO_G729, "18");
	ASSERT_EQ(fl_audio_codec_from(3, NULL), FL_AUDIO_NONE, "3 (GSM)");
	ASSERT_EQ(fl_audio_codec_from(96, NULL), FL_AUDIO_NONE, "96 bare");
	ASSERT_EQ(fl_audio_codec_from(111, "opus"), FL_AUDIO_OPUS, "opus");
	ASSERT_EQ(fl_audio_codec_from(96, "OPUS"), FL_AUDIO_OPUS, "OPUS");
	ASSERT_EQ(fl_audio_codec_from(97, "G729"), FL_AUDIO_G729, "G729");
	ASSERT_EQ(fl_audio_codec_from(0, "telephone-event"), FL_AUDIO_NONE,
		  "telephone-event");
	ASSERT_NULL(fl_audio_dec_new(FL_AUDIO_NONE), "no decoder for none");
	ASSERT_EQ(errno, ENOTSUP, "errno");
	ASSERT_STREQ(fl_audio_codec_name(FL_AUDIO_G722), "G722", "name");
	ASSERT_EQ(fl_audio_codec_parse("pcma"), FL_AUDIO_PCMA, "parse");
	ASSERT_EQ(fl_audio_codec_parse("gsm"), FL_AUDIO_NONE, "parse gsm");
	ASSERT_EQ(fl_audio_codec_pt(FL_AUDIO_G729), 18, "G.729's type");
	ASSERT_EQ(fl_audio_codec_from(fl_audio_codec_pt(FL_AUDIO_OPUS), "opus"),
		  FL_AUDIO_OPUS, "opus's dynamic type, named");
}
