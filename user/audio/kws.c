// SPDX-License-Identifier: Apache-2.0
/*
 * Keyword spotting (kws.h) on pocketsphinx 5prealpha: one decoder with no
 * search of its own, the phrases checked against its dictionary word by
 * word (a missing word would otherwise fail deep in ps_set_kws() with
 * nothing but a log line), then a "kws" search over a keyword file written
 * to a memfd. A window is one utterance, decoded whole (the model's
 * cepstral mean is per utterance); hits come back as its segments.
 */
#include <ctype.h>
#include <errno.h>
#include <pocketsphinx.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/types.h>

#include "kws.h"

#define MODEL_DIR "/usr/share/pocketsphinx/model/en-us"
#define FRAME_MS 10 /* the model's frame rate: 100 a second */
#define FL_KWS_FILL 1000 /* band_fill()'s level, of 32768 */

struct fl_kws {
	int16_t *buf; /* narrowband audio, its empty band filled */
	size_t buf_len;
	int search; /* the one set: 0 none yet, 1 wide, 2 narrow */
	ps_decoder_t *ps;
	cmd_ln_t *config;
	struct fl_kws_keyword kw[FL_KWS_MAX];
	unsigned int n;
};

/*
 * Measured on 12 robocall scripts and 12 ordinary sentences, each spoken
 * by espeak-ng in four voices (two with noise), wideband: the lowest
 * threshold (of 1e-10, -20, ... -50) at which each spotted none of the
 * ordinary sentences. "warranty" is short and sounds like much else: at
 * 1e-20 it still heard one sentence in two voices ("... the first part of
 * the lecture"), and at 1e-10 it spots a quarter of its own.
 */
static const struct fl_kws_keyword defaults[] = {
	{ "press one", 1e-40 },	   { "social security", 1e-40 },
	{ "final notice", 1e-50 }, { "warranty", 1e-20 },
	{ "call back", 1e-30 },	   { "gift card", 1e-35 },
};

unsigned int fl_kws_default(const struct fl_kws_keyword **kw)
{
	*kw = defaults;
	return sizeof(defaults) / sizeof(defaults[0]);
}

int fl_kws_parse(const char *line, struct fl_kws_keyword *kw, char *err,
		 size_t errlen)
{
	const char *slash = strchr(line, '/');
	size_t len = slash ? (size_t)(slash - line) : strlen(line);
	size_t i, o = 0;
	int space = 1;

	memset(kw, 0, sizeof(*kw));
	kw->threshold = 1e-30;
	for (i = 0; i < len; i++) {
		unsigned char c = line[i];

		if (isspace(c)) {
			space = 1;
			continue;
		}
		if (!isalpha(c) && c != '\'') {
			snprintf(err, errlen,
				 "'%s': a keyword is words of letters", line);
			return -1;
		}
		if (space && o) {
			if (o + 1 >= sizeof(kw->phrase))
				goto long_phrase;
			kw->phrase[o++] = ' ';
		}
		space = 0;
		if (o + 1 >= sizeof(kw->phrase))
			goto long_phrase;
		kw->phrase[o++] = tolower(c);
	}
	if (!o) {
		snprintf(err, errlen, "'%s': an empty keyword", line);
		return -1;
	}
	if (slash) {
		char *end;

		errno = 0;
		kw->threshold = strtod(slash + 1, &end);
		if (errno || end == slash + 1 || *end != '/' ||
		    end[1 + strspn(end + 1, " \t\r\n")] ||
		    !(kw->threshold > 0) || kw->threshold > 1) {
			snprintf(err, errlen,
				 "'%s': the threshold goes between slashes, "
				 "above 0 and at most 1 (1e-30)",
				 line);
			return -1;
		}
	}
	return 0;
long_phrase:
	snprintf(err, errlen, "'%s': a keyword is at most %d characters", line,
		 FL_KWS_PHRASE_MAX - 1);
	return -1;
}

/* Every word of every phrase, in the dictionary. */
static int words_known(struct fl_kws *k, char *err, size_t errlen)
{
	char word[FL_KWS_PHRASE_MAX], *save, *w;
	unsigned int i;

	for (i = 0; i < k->n; i++) {
		snprintf(word, sizeof(word), "%s", k->kw[i].phrase);
		for (w = strtok_r(word, " ", &save); w;
		     w = strtok_r(NULL, " ", &save)) {
			char *pron = ps_lookup_word(k->ps, w);

			if (!pron) {
				snprintf(err, errlen,
					 "keyword '%s': '%s' is not in the "
					 "dictionary",
					 k->kw[i].phrase, w);
				return -1;
			}
			ckd_free(pron);
		}
	}
	return 0;
}

static int search_set(struct fl_kws *k, const char *name, double factor,
		      char *err, size_t errlen)
{
	char path[64];
	unsigned int i;
	FILE *f;
	int fd;

	fd = memfd_create("flowlens-kws", MFD_CLOEXEC);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		snprintf(err, errlen, "memfd: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (i = 0; i < k->n; i++)
		fprintf(f, "%s /%g/\n", k->kw[i].phrase,
			k->kw[i].threshold * factor);
	fflush(f);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (ps_set_kws(k->ps, name, path)) {
		snprintf(err, errlen, "pocketsphinx refused the keywords");
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

struct fl_kws *fl_kws_new(const struct fl_kws_keyword *kw, unsigned int n,
			  char *err, size_t errlen)
{
	struct fl_kws *k;

	if (!n || n > FL_KWS_MAX) {
		snprintf(err, errlen, "%u keywords: from 1 to %d", n,
			 FL_KWS_MAX);
		return NULL;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(k->kw, kw, n * sizeof(*kw));
	k->n = n;
	k->config = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm",
				MODEL_DIR "/en-us", "-dict",
				MODEL_DIR "/cmudict-en-us.dict", "-logfn",
				"/dev/null", NULL);
	if (k->config)
		k->ps = ps_init(k->config);
	if (!k->ps) {
		snprintf(err, errlen,
			 "pocketsphinx could not load its model from %s "
			 "(package pocketsphinx-en-us)",
			 MODEL_DIR);
		fl_kws_free(k);
		return NULL;
	}
	if (words_known(k, err, errlen) ||
	    search_set(k, "narrow", FL_KWS_NARROW, err, errlen) ||
	    search_set(k, "wide", 1, err, errlen)) {
		fl_kws_free(k);
		return NULL;
	}
	return k;
}

void fl_kws_free(struct fl_kws *k)
{
	if (!k)
		return;
	if (k->ps)
		ps_free(k->ps);
	if (k->config)
		cmd_ln_free_r(k->config);
	free(k->buf);
	free(k);
}

const struct fl_kws_keyword *fl_kws_keyword(const struct fl_kws *k,
					    unsigned int i)
{
	return i < k->n ? &k->kw[i] : NULL;
}

unsigned int fl_kws_count(const struct fl_kws *k)
{
	return k->n;
}

static int keyword_index(const struct fl_kws *k, const char *word)
{
	unsigned int i;
	size_t len;

	/* the segment's word is the phrase, maybe with trailing blanks */
	len = strlen(word);
	while (len && word[len - 1] == ' ')
		len--;
	for (i = 0; i < k->n; i++)
		if (strlen(k->kw[i].phrase) == len &&
		    !strncmp(k->kw[i].phrase, word, len))
			return i;
	return -1;
}

/*
 * Noise above 4 kHz where a narrowband codec left nothing: white noise,
 * smoothed (mostly under 4 kHz) then mirrored to above it, about -36 dBFS.
 * The model was trained on 16 kHz speech, whose top filters always hold
 * some energy: with them empty, it spotted "press one" in 16 of 28 G.711
 * robocalls at 1e-50 (and 6 ordinary sentences); with them filled, 22 at
 * 1e-40 (3). The filled copy is only what the spotter hears.
 */
static const int16_t *band_fill(struct fl_kws *k, const int16_t *pcm, size_t n,
				int level)
{
	__u32 seed = 0x5eed;
	int prev = 0, w, v;
	size_t i;

	if (k->buf_len < n) {
		int16_t *b = realloc(k->buf, n * sizeof(*b));

		if (!b)
			return pcm;
		k->buf = b;
		k->buf_len = n;
	}
	for (i = 0; i < n; i++) {
		seed = seed * 1664525 + 1013904223;
		w = (int)(seed >> 16) - 32768;
		v = (w + prev) / 2 * level / 32768;
		prev = w;
		v = pcm[i] + (i & 1 ? -v : v);
		k->buf[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
	}
	return k->buf;
}

int fl_kws_scan(struct fl_kws *k, const int16_t *pcm, size_t n, size_t from,
		bool narrow, struct fl_kws_hit *hits, unsigned int max)
{
	unsigned int nr = 0;
	ps_seg_t *seg;

	/* not ps_get_search(): 5prealpha's leaks a hash iterator a call */
	if (k->search != (narrow ? 2 : 1)) {
		if (ps_set_search(k->ps, narrow ? "narrow" : "wide"))
			return -1;
		k->search = narrow ? 2 : 1;
	}
	if (narrow)
		pcm = band_fill(k, pcm, n, FL_KWS_FILL);
	if (ps_start_utt(k->ps) < 0)
		return -1;
	if (ps_process_raw(k->ps, pcm, n, FALSE, TRUE) < 0) {
		ps_end_utt(k->ps);
		return -1;
	}
	ps_end_utt(k->ps);
	for (seg = ps_seg_iter(k->ps); seg; seg = ps_seg_next(seg)) {
		int sf, ef, i = keyword_index(k, ps_seg_word(seg));

		ps_seg_frames(seg, &sf, &ef);
		if (i < 0 || ef < 0 || (size_t)ef * FRAME_MS * 16 < from ||
		    nr == max)
			continue;
		hits[nr].keyword = i;
		hits[nr].start_ms = sf > 0 ? sf * FRAME_MS : 0;
		hits[nr].end_ms = ef * FRAME_MS;
		nr++;
	}
	return nr;
}
