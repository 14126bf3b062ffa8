/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: the audio heuristics of spam scoring's tier 2 (issue 21), one
 * segment of 16 kHz mono PCM at a time (2 s is what the scorer cuts), no
 * transcript needed. 20 ms frames; per frame its loudness and, where it is
 * voiced, its pitch (the autocorrelation's peak between 60 and 400 Hz);
 * over the segment:
 *
 *   silence_ratio     frames 40 dB under the segment's loudest, or under
 *                     -55 dBFS: a recorded message's pauses are
 *                     regular, a conversation's are not
 *   energy_std_db     how much the speaking frames' loudness varies
 *   pitch_hz          the voiced frames' median pitch (0: none voiced)
 *   pitch_cv          their pitch's coefficient of variation: a flat,
 *                     synthetic voice is near 0, a human one above 0.1
 *   rhythm            the loudness contour's autocorrelation at its best
 *                     lag between 100 and 500 ms: 1 for a metronome
 *   syllable_rate     loudness peaks (syllable nuclei) a second of speech
 *   syllable_cv       the intervals between them, their coefficient of
 *                     variation: speaking-rate regularity
 *
 * Pure functions: no allocation, safe from any thread.
 */
#ifndef FL_AUDIO_FEATURES_H
#define FL_AUDIO_FEATURES_H

#include <stddef.h>
#include <stdint.h>

#define FL_FEATURES_FRAME 320 /* 20 ms at 16 kHz */
#define FL_FEATURES_FRAMES_MAX 500 /* 10 s: a segment's longest */

struct fl_audio_features {
	unsigned int frames, voiced, peaks;
	double silence_ratio;
	double energy_std_db;
	double pitch_hz, pitch_cv;
	double rhythm;
	double syllable_rate, syllable_cv;
};

/* The features of @n samples (16 kHz; frames beyond
 * FL_FEATURES_FRAMES_MAX are left out). 0, or -1 for less than a frame. */
int fl_audio_features(const int16_t *pcm, size_t n,
		      struct fl_audio_features *f);

#endif /* FL_AUDIO_FEATURES_H */
