// SPDX-License-Identifier: Apache-2.0
/*
 * Tier 3 (spam_score.h): a call's evidence and its score.
 */
#include "spam_score.h"

#define FRAME_MS 20 /* audio_features' frames */

void fl_spam_conf_default(struct fl_spam_conf *c)
{
	c->suspect = 0.4;
	c->spam = 0.8;
	c->w_keyword = 0.3;
	c->w_keyword_narrow = 0.2;
	c->w_monologue = 0.35;
	c->w_flat = 0.25;
}

void fl_spam_segment(struct fl_spam_call *call, int side, bool narrow,
		     const struct fl_audio_features *f,
		     const struct fl_kws_hit *hits, unsigned int n)
{
	struct fl_spam_side *s = &call->side[side & 1];
	unsigned int i, silent;

	s->segments++;
	silent = (unsigned int)(f->silence_ratio * f->frames + 0.5);
	if (silent < f->frames)
		s->speech_ms += (f->frames - silent) * FRAME_MS;
	/* a pitch needs a few voiced frames to mean anything */
	if (f->voiced >= 10) {
		s->voiced_segments++;
		if (f->pitch_cv < FL_SPAM_FLAT_PITCH_CV)
			s->flat_segments++;
	}
	for (i = 0; i < n; i++) {
		if (hits[i].keyword >= FL_KWS_MAX)
			continue;
		call->heard[hits[i].keyword]++;
		if (!narrow)
			call->heard_wide[hits[i].keyword] = true;
	}
}

static double take(double score, double w, double e)
{
	if (e <= 0)
		return score;
	if (e > 1)
		e = 1;
	return score + (1 - score) * w * e;
}

void fl_spam_score(const struct fl_spam_call *call,
		   const struct fl_spam_conf *c, struct fl_spam_evidence *ev)
{
	const struct fl_spam_side *a = &call->side[0], *b = &call->side[1];
	const struct fl_spam_side *talker = a->speech_ms >= b->speech_ms ? a :
									   b;
	unsigned int speech = a->speech_ms + b->speech_ms, quiet, i;
	double score = 0;

	ev->keywords = 0;
	for (i = 0; i < FL_KWS_MAX; i++) {
		double w = call->heard_wide[i] ? c->w_keyword :
						 c->w_keyword_narrow;

		if (!call->heard[i])
			continue;
		/* each first hearing is its own piece of evidence */
		score = take(score, w, 1);
		ev->keywords += 1;
		if (call->heard[i] > 1) {
			double again = (call->heard[i] - 1) / 4.0;

			score = take(score, w, again);
			ev->keywords += again;
		}
	}
	ev->monologue = 0;
	if (speech >= FL_SPAM_MONOLOGUE_MIN_MS) {
		quiet = a->speech_ms + b->speech_ms - talker->speech_ms;
		/* 1 up to a 10 % share (an answer, "Hello?"), 0 from 30 % */
		ev->monologue = (0.3 - (double)quiet / speech) / 0.2;
		if (ev->monologue < 0)
			ev->monologue = 0;
		if (ev->monologue > 1)
			ev->monologue = 1;
		score = take(score, c->w_monologue, ev->monologue);
	}
	ev->flat = talker->voiced_segments ? (double)talker->flat_segments /
						     talker->voiced_segments :
					     0;
	score = take(score, c->w_flat, ev->flat);
	ev->score = score;
	ev->decision = score >= c->spam	   ? FL_SPAM_SPAM :
		       score >= c->suspect ? FL_SPAM_SUSPECT :
					     FL_SPAM_CLEAN;
}

const char *fl_spam_decision_name(enum fl_spam_decision d)
{
	switch (d) {
	case FL_SPAM_SUSPECT:
		return "suspect";
	case FL_SPAM_SPAM:
		return "spam";
	default:
		return "clean";
	}
}
