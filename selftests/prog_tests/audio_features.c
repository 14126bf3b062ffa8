// SPDX-License-Identifier: Apache-2.0
/*
 * Tier 2's audio heuristics (user/audio/audio_features.c) on signals whose
 * answers are known, 2 s at 16 kHz each:
 *   silence            all frames silent, nothing voiced
 *   robot              a 150 Hz buzz with its harmonics, four equal
 *                      syllables a second: the pitch within 3 %, flat;
 *                      a rhythm near 1; four syllables a second, evenly
 *                      spaced
 *   talker             a pitch that wanders between 110 and 230 Hz and
 *                      syllables of uneven length and spacing: the pitch
 *                      varies, the rhythm and the spacing are irregular -
 *                      each on the other side of the robot's
 *   half silent        one silent second, then the robot: half the frames
 *   too short          less than a frame refused
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio_features.h"
#include "test_progs.h"

#define RATE 16000
#define LEN (2 * RATE)

static int16_t pcm[LEN];

/* A harmonic buzz whose phase advances by @pitch Hz, scaled by @env. */
static void voice(int16_t *out, size_t n, double (*pitch)(double),
		  double (*env)(double))
{
	double phase = 0, t;
	size_t i;
	int h;

	for (i = 0; i < n; i++) {
		double s = 0, p;

		t = (double)i / RATE;
		p = pitch(t);
		phase += 2 * M_PI * p / RATE;
		for (h = 1; h * p < 3400; h++)
			s += sin(h * phase) / h;
		out[i] = (int16_t)lrint(6000 * env(t) * s);
	}
}

static double flat_150(double t)
{
	return 150;
}

static double even_4hz(double t)
{
	return 0.55 - 0.45 * cos(2 * M_PI * 4 * t);
}

static double wander(double t)
{
	return 170 + 40 * sin(2 * M_PI * 0.7 * t) +
	       20 * sin(2 * M_PI * 2.3 * t);
}

/* Syllables of 120 to 300 ms, each a raised cosine, with pauses of 50 to
 * 400 ms between them. */
static double uneven(double t)
{
	static const double syl[][2] = { { 0.00, 0.15 }, { 0.20, 0.35 },
					 { 0.75, 0.95 }, { 1.00, 1.12 },
					 { 1.45, 1.75 }, { 1.80, 1.92 } };
	size_t i;

	for (i = 0; i < sizeof(syl) / sizeof(syl[0]); i++)
		if (t >= syl[i][0] && t < syl[i][1])
			return 0.55 - 0.45 * cos(2 * M_PI * (t - syl[i][0]) /
						 (syl[i][1] - syl[i][0]));
	return 0.1;
}

static void show(const char *what, const struct fl_audio_features *f)
{
	test__log(
		"%s: frames %u voiced %u silence %.2f energy_std %.1f dB pitch %.1f Hz cv %.3f rhythm %.2f syllables %u, %.2f/s cv %.2f",
		what, f->frames, f->voiced, f->silence_ratio, f->energy_std_db,
		f->pitch_hz, f->pitch_cv, f->rhythm, f->peaks, f->syllable_rate,
		f->syllable_cv);
}

void test_audio_features(void)
{
	struct fl_audio_features robot, talker, f;

	test__case("silence");
	memset(pcm, 0, sizeof(pcm));
	if (ASSERT_OK(fl_audio_features(pcm, LEN, &f), "features")) {
		show("silence", &f);
		ASSERT_EQ(f.frames, 100, "frames");
		ASSERT_EQ((int)(f.silence_ratio * 100), 100, "silence ratio");
		ASSERT_EQ(f.voiced, 0, "voiced");
		ASSERT_EQ(f.peaks, 0, "syllables");
	}

	test__case("robot");
	voice(pcm, LEN, flat_150, even_4hz);
	if (!ASSERT_OK(fl_audio_features(pcm, LEN, &robot), "features"))
		return;
	show("robot", &robot);
	ASSERT_EQ((int)(robot.silence_ratio * 100), 0, "silence ratio");
	ASSERT_GE(robot.voiced, 90, "voiced frames");
	ASSERT_GE((int)(robot.pitch_hz * 10), 1455, "pitch (0.1 Hz)");
	ASSERT_LE((int)(robot.pitch_hz * 10), 1545, "pitch (0.1 Hz)");
	ASSERT_LE((int)(robot.pitch_cv * 1000), 30, "pitch cv (per mille)");
	ASSERT_GE((int)(robot.rhythm * 100), 80, "rhythm (%)");
	ASSERT_GE(robot.peaks, 7, "syllables");
	ASSERT_LE(robot.peaks, 9, "syllables");
	ASSERT_LE((int)(robot.syllable_cv * 100), 10, "syllable cv (%)");

	test__case("talker");
	voice(pcm, LEN, wander, uneven);
	if (!ASSERT_OK(fl_audio_features(pcm, LEN, &talker), "features"))
		return;
	show("talker", &talker);
	ASSERT_GE(talker.pitch_hz, 110, "pitch");
	ASSERT_LE(talker.pitch_hz, 230, "pitch");
	ASSERT_GE((int)(talker.pitch_cv * 1000), 100, "pitch cv (per mille)");
	ASSERT_LT((int)(talker.rhythm * 100), (int)(robot.rhythm * 100),
		  "rhythm under the robot's");
	ASSERT_GE((int)(talker.syllable_cv * 100), 20, "syllable cv (%)");
	ASSERT_GE(talker.peaks, 5, "syllables");

	test__case("half silent");
	memset(pcm, 0, sizeof(pcm));
	voice(pcm + RATE, RATE, flat_150, even_4hz);
	if (ASSERT_OK(fl_audio_features(pcm, LEN, &f), "features")) {
		show("half silent", &f);
		ASSERT_GE((int)(f.silence_ratio * 100), 45, "silence ratio");
		ASSERT_LE((int)(f.silence_ratio * 100), 55, "silence ratio");
		ASSERT_GE((int)(f.pitch_hz * 10), 1455, "pitch (0.1 Hz)");
	}

	test__case("too short");
	ASSERT_EQ(fl_audio_features(pcm, FL_FEATURES_FRAME - 1, &f), -1,
		  "less than a frame");
}
