/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: spam scoring's tier 3 (issue 21), a call's evidence added up into a
 * score between 0 and 1 and a decision. A call has two sides (each
 * direction's stream); every 2 s segment of either adds what tiers 1 and 2
 * found in it. The evidence, each e between 0 and 1 with its weight w:
 *
 *   keywords    a keyword spotted on either side: e = 1 for each one
 *               heard (w_keyword), and e = 1/4 for each time one is
 *               heard again (a looped message says it again); a keyword
 *               only ever heard in narrowband audio weighs
 *               w_keyword_narrow: spotting is less sure there
 *   monologue   one side talks and the other does not, as a recorded
 *               message plays to someone listening: once the call has
 *               had MONOLOGUE_MIN_MS of speech, e = 1 while the quieter
 *               side's share of it is 10 % or less (an answer, "Hello?"),
 *               falling to 0 at 30 % (w_monologue)
 *   flat voice  the share of the talker's voiced segments whose pitch
 *               barely moves (pitch_cv under FLAT_PITCH_CV), as a
 *               synthetic voice's (w_flat)
 *
 * score = 1 - product of (1 - w x e): each piece of evidence takes its
 * share of what is left, so none alone passes its weight and together they
 * approach 1. clean below `suspect`, suspect from it, spam from `spam`.
 * Pure: no allocation, no locks.
 */
#ifndef FL_SPAM_SCORE_H
#define FL_SPAM_SCORE_H

#include <stdbool.h>

#include "audio_features.h"
#include "kws.h"

#define FL_SPAM_MONOLOGUE_MIN_MS 4000
#define FL_SPAM_FLAT_PITCH_CV 0.05

enum fl_spam_decision { FL_SPAM_CLEAN, FL_SPAM_SUSPECT, FL_SPAM_SPAM };

struct fl_spam_conf {
	double suspect, spam; /* decision thresholds */
	double w_keyword, w_keyword_narrow, w_monologue, w_flat;
};

struct fl_spam_side {
	unsigned int segments, speech_ms, voiced_segments, flat_segments;
};

struct fl_spam_call {
	struct fl_spam_side side[2];
	unsigned int heard[FL_KWS_MAX]; /* times each keyword was spotted */
	bool heard_wide[FL_KWS_MAX]; /* once at least in wideband audio */
};

struct fl_spam_evidence {
	double keywords, monologue, flat; /* each e, before its weight */
	double score;
	enum fl_spam_decision decision;
};

/* suspect 0.4, spam 0.8; w_keyword 0.3 (narrowband 0.2), w_monologue
 * 0.35, w_flat 0.25: neither a keyword nor a monologue alone makes a call
 * suspect, a keyword in a monologue does, and two in wideband audio */
void fl_spam_conf_default(struct fl_spam_conf *c);
/* One segment of side @side (0 or 1): its features and the keywords (by
 * index) spotted in it; @narrow: the side's codec is an 8 kHz one. */
void fl_spam_segment(struct fl_spam_call *call, int side, bool narrow,
		     const struct fl_audio_features *f,
		     const struct fl_kws_hit *hits, unsigned int n);
void fl_spam_score(const struct fl_spam_call *call,
		   const struct fl_spam_conf *c, struct fl_spam_evidence *ev);
const char *fl_spam_decision_name(enum fl_spam_decision d);

#endif /* FL_SPAM_SCORE_H */
