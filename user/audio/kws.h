/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: spam scoring's tier 1 (issue 21), keyword spotting over 16 kHz
 * speech with pocketsphinx in its keyword-spotting mode (Debian's
 * pocketsphinx-en-us acoustic model and dictionary). A phrase is spotted
 * when its posterior passes the phrase's own threshold (1e-50 finds
 * nearly everything, 1e-10 little): longer phrases need lower ones.
 *
 *   fl_kws_new()       a decoder over @n keywords; the model and its
 *                      dictionary take about 20 MB and half a second, so
 *                      one decoder serves many streams, one thread at a
 *                      time. NULL with @err saying why (a word not in the
 *                      dictionary is named)
 *   fl_kws_scan()      one window of audio: the hits whose end lies
 *                      at or after sample @from (what a window shares
 *                      with the one before was scanned then), at most
 *                      @max, each with its keyword's index. Returns how
 *                      many, or -1
 *   fl_kws_default()   the built-in list ("press one", "social security",
 *                      "final notice", "warranty", "call back",
 *                      "gift card") with thresholds measured on spoken
 *                      calls (test_audio.sh)
 *   fl_kws_parse()     a keyword file line: "phrase" or
 *                      "phrase /threshold/" (pocketsphinx's own format);
 *                      -1 with @err for a bad one
 */
#ifndef FL_KWS_H
#define FL_KWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FL_KWS_PHRASE_MAX 64
/* narrowband audio (8 kHz codecs, resampled): each threshold times this,
 * and the band above 4 kHz filled with faint noise */
#ifndef FL_KWS_NARROW
#define FL_KWS_NARROW 1e-5
#endif
#define FL_KWS_MAX 64

struct fl_kws_keyword {
	char phrase[FL_KWS_PHRASE_MAX];
	double threshold;
};

struct fl_kws_hit {
	unsigned int keyword; /* its index in the list */
	unsigned int start_ms, end_ms; /* within the window */
};

struct fl_kws;

struct fl_kws *fl_kws_new(const struct fl_kws_keyword *kw, unsigned int n,
			  char *err, size_t errlen);
int fl_kws_scan(struct fl_kws *k, const int16_t *pcm, size_t n, size_t from,
		bool narrow, struct fl_kws_hit *hits, unsigned int max);
const struct fl_kws_keyword *fl_kws_keyword(const struct fl_kws *k,
					    unsigned int i);
unsigned int fl_kws_count(const struct fl_kws *k);
void fl_kws_free(struct fl_kws *k);

unsigned int fl_kws_default(const struct fl_kws_keyword **kw);
int fl_kws_parse(const char *line, struct fl_kws_keyword *kw, char *err,
		 size_t errlen);

#endif /* FL_KWS_H */
