// SPDX-License-Identifier: Apache-2.0
/* How close decoded audio is to its source (audio_compare.h). */
#include <math.h>
#include <stdlib.h>

#include "audio_compare.h"

#define FRAME 160 /* 10 ms at 16 kHz */

/* Correlation of ref[i] with got[i + lag], lag either way. */
static double at_lag(const int16_t *ref, size_t nref, const int16_t *got,
		     size_t ngot, long lag)
{
	double xy = 0, xx = 0, yy = 0;
	size_t i = lag < 0 ? -lag : 0;

	for (; i < nref && (long)i + lag < (long)ngot; i++) {
		double a = ref[i], b = got[i + lag];

		xy += a * b;
		xx += a * a;
		yy += b * b;
	}
	return xx > 0 && yy > 0 ? xy / sqrt(xx * yy) : 0;
}

int audio_correlation(const int16_t *ref, size_t nref, const int16_t *got,
		      size_t ngot, size_t max_lag)
{
	double best = -1, c;
	long lag;

	for (lag = -(long)max_lag; lag <= (long)max_lag; lag++) {
		c = at_lag(ref, nref, got, ngot, lag);
		if (c > best)
			best = c;
	}
	return (int)(best * 1000);
}

/* Each 10 ms frame's RMS; how many. */
static size_t envelope(const int16_t *x, size_t n, double **out)
{
	size_t frames = n / FRAME, f, i;
	double *e = calloc(frames ? frames : 1, sizeof(*e));

	for (f = 0; e && f < frames; f++) {
		double s = 0;

		for (i = f * FRAME; i < (f + 1) * FRAME; i++)
			s += (double)x[i] * x[i];
		e[f] = sqrt(s / FRAME);
	}
	*out = e;
	return e ? frames : 0;
}

int audio_envelope_correlation(const int16_t *ref, size_t nref,
			       const int16_t *got, size_t ngot, size_t max_lag)
{
	double *a, *b, best = -1, c;
	size_t na = envelope(ref, nref, &a), nb = envelope(got, ngot, &b);
	long lag, f, m;

	for (lag = -(long)(max_lag / FRAME); lag <= (long)(max_lag / FRAME);
	     lag++) {
		double ma = 0, mb = 0, xy = 0, xx = 0, yy = 0;

		f = lag < 0 ? -lag : 0;
		for (m = 0; f + m < (long)na && f + m + lag < (long)nb; m++) {
			ma += a[f + m];
			mb += b[f + m + lag];
		}
		if (!m)
			continue;
		ma /= m;
		mb /= m;
		for (; f < (lag < 0 ? -lag : 0) + m; f++) {
			xy += (a[f] - ma) * (b[f + lag] - mb);
			xx += (a[f] - ma) * (a[f] - ma);
			yy += (b[f + lag] - mb) * (b[f + lag] - mb);
		}
		c = xx > 0 && yy > 0 ? xy / sqrt(xx * yy) : 0;
		if (c > best)
			best = c;
	}
	free(a);
	free(b);
	return (int)(best * 1000);
}
