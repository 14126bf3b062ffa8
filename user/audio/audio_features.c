// SPDX-License-Identifier: Apache-2.0
/*
 * Tier 2's audio heuristics (audio_features.h): loudness and pitch per
 * 20 ms frame, then what they say about the segment.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "audio_features.h"

#define RATE 16000
#define PITCH_MIN_LAG (RATE / 400)
#define PITCH_MAX_LAG (RATE / 60)
#define VOICED_R 0.6 /* the autocorrelation's peak of a voiced frame */
#define OCTAVE_R 0.92 /* the shortest lag this close to the peak wins */
#define SILENCE_BELOW_DB 40.0
#define SILENCE_FLOOR_DB -55.0
#define RHYTHM_MIN_LAG 5 /* frames: 100 ms */
#define RHYTHM_MAX_LAG 25 /* 500 ms */
#define PEAK_HALF 3 /* a peak is the loudest of 7 frames */
#define PEAK_SPAN 6 /* and 6 dB over the quietest of 13 */
#define PEAK_PROMINENCE_DB 6.0

static double frame_db(const int16_t *x)
{
	double e = 0;
	int i;

	for (i = 0; i < FL_FEATURES_FRAME; i++)
		e += (double)x[i] * x[i];
	return 20 * log10(sqrt(e / FL_FEATURES_FRAME) / 32768.0 + 1e-9);
}

/* The pitch of the frame at @x (with PITCH_MAX_LAG samples after it), Hz,
 * or 0 if it is not voiced. */
static double frame_pitch(const int16_t *x)
{
	double r[PITCH_MAX_LAG + 1], best = 0, x0 = 0;
	int lag, t, pick = 0;

	for (t = 0; t < FL_FEATURES_FRAME; t++)
		x0 += (double)x[t] * x[t];
	if (x0 <= 0)
		return 0;
	for (lag = PITCH_MIN_LAG; lag <= PITCH_MAX_LAG; lag++) {
		double xy = 0, yy = 0;

		for (t = 0; t < FL_FEATURES_FRAME; t++) {
			xy += (double)x[t] * x[t + lag];
			yy += (double)x[t + lag] * x[t + lag];
		}
		r[lag] = yy > 0 ? xy / sqrt(x0 * yy) : 0;
		if (r[lag] > best)
			best = r[lag];
	}
	if (best < VOICED_R)
		return 0;
	/* the first local peak near the best: not an octave below it */
	for (lag = PITCH_MIN_LAG + 1; lag < PITCH_MAX_LAG; lag++)
		if (r[lag] >= OCTAVE_R * best && r[lag] >= r[lag - 1] &&
		    r[lag] >= r[lag + 1]) {
			pick = lag;
			break;
		}
	return pick ? (double)RATE / pick : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Mean and coefficient of variation of @n values. */
static double cv_of(const double *v, int n, double *mean)
{
	double m = 0, s = 0;
	int i;

	for (i = 0; i < n; i++)
		m += v[i];
	m = n ? m / n : 0;
	for (i = 0; i < n; i++)
		s += (v[i] - m) * (v[i] - m);
	if (mean)
		*mean = m;
	return n > 1 && m > 0 ? sqrt(s / n) / m : 0;
}

/* The loudness contour's periodicity: its normalised autocorrelation at
 * the best lag between RHYTHM_MIN_LAG and RHYTHM_MAX_LAG frames. */
static double rhythm_of(const double *db, int n)
{
	double m = 0, var = 0, best = 0;
	int i, lag;

	for (i = 0; i < n; i++)
		m += db[i];
	m /= n;
	for (i = 0; i < n; i++)
		var += (db[i] - m) * (db[i] - m);
	if (var <= 0)
		return 0;
	for (lag = RHYTHM_MIN_LAG; lag <= RHYTHM_MAX_LAG && lag < n / 2;
	     lag++) {
		double c = 0;

		for (i = 0; i + lag < n; i++)
			c += (db[i] - m) * (db[i + lag] - m);
		/* as if the whole contour overlapped: unbiased */
		c = c / (n - lag) / (var / n);
		if (c > best)
			best = c;
	}
	return best > 1 ? 1 : best;
}

int fl_audio_features(const int16_t *pcm, size_t n, struct fl_audio_features *f)
{
	double db[FL_FEATURES_FRAMES_MAX], pitch[FL_FEATURES_FRAMES_MAX];
	double speech[FL_FEATURES_FRAMES_MAX], gaps[FL_FEATURES_FRAMES_MAX];
	bool silent[FL_FEATURES_FRAMES_MAX];
	double top = -200, floor_db, mean;
	int frames = n / FL_FEATURES_FRAME, i, j, nv = 0, ns = 0, last = -1;

	memset(f, 0, sizeof(*f));
	if (frames < 1)
		return -1;
	if (frames > FL_FEATURES_FRAMES_MAX)
		frames = FL_FEATURES_FRAMES_MAX;
	f->frames = frames;
	for (i = 0; i < frames; i++) {
		db[i] = frame_db(pcm + i * FL_FEATURES_FRAME);
		if (db[i] > top)
			top = db[i];
	}
	floor_db = top - SILENCE_BELOW_DB > SILENCE_FLOOR_DB ?
			   top - SILENCE_BELOW_DB :
			   SILENCE_FLOOR_DB;
	for (i = 0; i < frames; i++) {
		silent[i] = db[i] < floor_db;
		if (silent[i]) {
			db[i] = floor_db; /* the contour's floor */
			continue;
		}
		speech[ns++] = db[i];
		/* the pitch needs PITCH_MAX_LAG samples past the frame */
		if ((size_t)(i + 1) * FL_FEATURES_FRAME + PITCH_MAX_LAG <= n) {
			double p = frame_pitch(pcm + i * FL_FEATURES_FRAME);

			if (p > 0)
				pitch[nv++] = p;
		}
	}
	f->silence_ratio = (double)(frames - ns) / frames;
	if (ns > 1) {
		double s = 0;

		cv_of(speech, ns, &mean);
		for (i = 0; i < ns; i++)
			s += (speech[i] - mean) * (speech[i] - mean);
		f->energy_std_db = sqrt(s / ns);
	}
	f->voiced = nv;
	if (nv) {
		f->pitch_cv = cv_of(pitch, nv, NULL);
		qsort(pitch, nv, sizeof(*pitch), cmp_double);
		f->pitch_hz = pitch[nv / 2];
	}
	f->rhythm = rhythm_of(db, frames);
	/* syllable nuclei: loudest of their neighbourhood, and prominent */
	for (i = 0; i < frames; i++) {
		double lo = db[i];
		bool peak = !silent[i];

		for (j = i - PEAK_SPAN; peak && j <= i + PEAK_SPAN; j++) {
			if (j < 0 || j >= frames)
				continue;
			if (j != i && abs(j - i) <= PEAK_HALF &&
			    (db[j] > db[i] || (db[j] == db[i] && j < i)))
				peak = false;
			if (db[j] < lo)
				lo = db[j];
		}
		if (!peak || db[i] - lo < PEAK_PROMINENCE_DB)
			continue;
		if (last >= 0)
			gaps[f->peaks - 1] = (i - last) * 0.02;
		last = i;
		f->peaks++;
	}
	f->syllable_rate = ns ? f->peaks / (ns * 0.02) : 0;
	f->syllable_cv = f->peaks > 2 ? cv_of(gaps, f->peaks - 1, NULL) : 0;
	return 0;
}
