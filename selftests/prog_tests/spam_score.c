// SPDX-License-Identifier: Apache-2.0
/*
 * Tier 3's score (user/audio/spam_score.c) on calls whose evidence is set
 * by hand, with the default weights and thresholds:
 *   silent             nothing: 0, clean
 *   keyword alone      one keyword in a conversation: 0.3, clean
 *   monologue alone    one side talks 10 s, the other says "Hello?":
 *                      0.35, clean (a voicemail is a monologue too)
 *   keyword+monologue  0.545, suspect
 *   two keywords       in a conversation: 0.51, suspect
 *   repeats            the same keyword four times in a conversation:
 *                      0.3 + 0.7 x 0.3 x 0.75 = 0.4575, suspect
 *   robocall           three keywords in a monologue: 0.78, still
 *                      suspect; a fourth: 0.84, spam
 *   narrowband         keywords heard only in G.711/G.729 audio weigh
 *                      0.2: two in a conversation 0.36, clean; one in a
 *                      monologue 0.48, suspect
 *   short call         3 s of one side: too little speech to call it a
 *                      monologue
 *   flat voice         half the talker's voiced segments flat: e = 0.5
 *   parse              keyword lines: case and blanks folded, thresholds,
 *                      refusals
 */
#include <string.h>

#include "spam_score.h"
#include "test_progs.h"

/* @n 2 s segments of side @side, each @speech_ms of speech, voiced with
 * @pitch_cv, and keyword @kw (-1: none) in each of the first @kw_times. */
static bool narrow; /* the codec talk() says it was */

static void talk(struct fl_spam_call *c, int side, unsigned int n,
		 unsigned int speech_ms, double pitch_cv, int kw,
		 unsigned int kw_times)
{
	struct fl_audio_features f = {
		.frames = 100,
		.voiced = speech_ms / 20,
		.silence_ratio = 1 - speech_ms / 2000.0,
		.pitch_cv = pitch_cv,
	};
	struct fl_kws_hit hit = { .keyword = kw >= 0 ? kw : 0 };
	unsigned int i;

	for (i = 0; i < n; i++)
		fl_spam_segment(c, side, narrow, &f, &hit,
				kw >= 0 && i < kw_times ? 1 : 0);
}

static void check(const char *name, const struct fl_spam_call *c,
		  int score_milli, enum fl_spam_decision d)
{
	struct fl_spam_conf conf;
	struct fl_spam_evidence ev;

	test__case(name);
	fl_spam_conf_default(&conf);
	fl_spam_score(c, &conf, &ev);
	ASSERT_EQ((long long)(ev.score * 1000 + 0.5), score_milli, "score");
	ASSERT_EQ(ev.decision, d, "decision");
}

void test_spam_score(void)
{
	struct fl_spam_conf conf;
	struct fl_spam_evidence ev;
	struct fl_kws_keyword kw;
	struct fl_spam_call c;
	char err[128];

	memset(&c, 0, sizeof(c));
	check("silent", &c, 0, FL_SPAM_CLEAN);

	/* a conversation: both sides 10 s, 1.2 s of speech a segment */
	memset(&c, 0, sizeof(c));
	talk(&c, 0, 5, 1200, 0.3, 2, 1);
	talk(&c, 1, 5, 1200, 0.3, -1, 0);
	check("keyword alone", &c, 300, FL_SPAM_CLEAN);
	talk(&c, 1, 1, 1200, 0.3, 4, 1);
	check("two keywords", &c, 510, FL_SPAM_SUSPECT);

	memset(&c, 0, sizeof(c));
	talk(&c, 0, 5, 1200, 0.3, 2, 4);
	talk(&c, 1, 5, 1200, 0.3, -1, 0);
	check("repeats", &c, 458, FL_SPAM_SUSPECT);

	/* a monologue: 10 s of speech against a 0.5 s answer */
	memset(&c, 0, sizeof(c));
	talk(&c, 1, 1, 500, 0.3, -1, 0);
	talk(&c, 0, 10, 1000, 0.3, -1, 0);
	check("monologue alone", &c, 350, FL_SPAM_CLEAN);
	talk(&c, 0, 1, 1000, 0.3, 0, 1);
	check("keyword+monologue", &c, 545, FL_SPAM_SUSPECT);
	talk(&c, 0, 1, 1000, 0.3, 1, 1);
	talk(&c, 0, 1, 1000, 0.3, 3, 1);
	check("robocall", &c, 777, FL_SPAM_SUSPECT);
	talk(&c, 0, 1, 1000, 0.3, 5, 1);
	check("robocall, a fourth keyword", &c, 844, FL_SPAM_SPAM);

	narrow = true;
	memset(&c, 0, sizeof(c));
	talk(&c, 0, 5, 1200, 0.3, 2, 1);
	talk(&c, 1, 5, 1200, 0.3, 4, 1);
	check("narrowband: two keywords", &c, 360, FL_SPAM_CLEAN);
	memset(&c, 0, sizeof(c));
	talk(&c, 1, 1, 500, 0.3, -1, 0);
	talk(&c, 0, 10, 1000, 0.3, 2, 1);
	check("narrowband: keyword+monologue", &c, 480, FL_SPAM_SUSPECT);
	/* heard again in wideband audio: 0.3, and 0.3 x 1/4 for the repeat */
	narrow = false;
	talk(&c, 0, 1, 1000, 0.3, 2, 1);
	check("wideband once", &c, 579, FL_SPAM_SUSPECT);

	memset(&c, 0, sizeof(c));
	talk(&c, 0, 3, 1000, 0.3, 0, 1);
	test__case("short call");
	fl_spam_conf_default(&conf);
	fl_spam_score(&c, &conf, &ev);
	ASSERT_EQ((long long)(ev.monologue * 1000), 0, "no monologue yet");
	ASSERT_EQ(ev.decision, FL_SPAM_CLEAN, "decision");

	memset(&c, 0, sizeof(c));
	talk(&c, 0, 2, 1200, 0.01, -1, 0);
	talk(&c, 0, 2, 1200, 0.3, -1, 0);
	talk(&c, 1, 4, 1200, 0.3, -1, 0);
	test__case("flat voice");
	fl_spam_score(&c, &conf, &ev);
	ASSERT_EQ((long long)(ev.flat * 1000 + 0.5), 500, "flat share");
	ASSERT_EQ((long long)(ev.score * 1000 + 0.5), 125, "score");
	ASSERT_STREQ(fl_spam_decision_name(FL_SPAM_SUSPECT), "suspect", "name");

	test__case("parse");
	ASSERT_OK(fl_kws_parse("  Press   ONE ", &kw, err, sizeof(err)),
		  "blanks and case");
	ASSERT_STREQ(kw.phrase, "press one", "phrase");
	ASSERT_EQ((long long)(kw.threshold * 1e30 + 0.5), 1, "default 1e-30");
	ASSERT_OK(fl_kws_parse("gift card /1e-40/", &kw, err, sizeof(err)),
		  "threshold");
	ASSERT_EQ((long long)(kw.threshold * 1e40 + 0.5), 1, "1e-40");
	ASSERT_ERR(fl_kws_parse("gift card /2/", &kw, err, sizeof(err)),
		   "above 1");
	ASSERT_ERR(fl_kws_parse("gift card /1e-40", &kw, err, sizeof(err)),
		   "unclosed");
	ASSERT_ERR(fl_kws_parse("call 911", &kw, err, sizeof(err)), "digits");
	ASSERT_ERR(fl_kws_parse("   ", &kw, err, sizeof(err)), "empty");
}
