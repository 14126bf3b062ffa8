/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: how close decoded audio is to what was encoded, for the audio tests
 * (prog_tests/rtp_audio.c, tools/pcm_compare.c); 16 kHz mono PCM.
 *   audio_correlation()   the waveforms' normalised correlation at the best
 *                         lag of @got behind or ahead of @ref, up to
 *                         @max_lag samples either way
 *   audio_envelope_correlation()  the same of their loudness, 10 ms frames,
 *                         at the best lag of up to @max_lag samples in whole
 *                         frames
 * Both per mille; the longer signal is cut to the shorter.
 */
#ifndef FL_AUDIO_COMPARE_H
#define FL_AUDIO_COMPARE_H

#include <stddef.h>
#include <stdint.h>

int audio_correlation(const int16_t *ref, size_t nref, const int16_t *got,
		      size_t ngot, size_t max_lag);
int audio_envelope_correlation(const int16_t *ref, size_t nref,
			       const int16_t *got, size_t ngot, size_t max_lag);

#endif /* FL_AUDIO_COMPARE_H */
