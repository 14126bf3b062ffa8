// SPDX-License-Identifier: Apache-2.0
/*
 * RTP streams' audio (audio_streams.h): a decoder per stream, fed the
 * packets of the payload type it started with (a stream's telephone-event
 * packets, RFC 4733, are not audio), its output cut into 2 s segments and
 * each segment measured; the segments' features averaged when the stream
 * is shown. A last segment of at least half a second counts too.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uthash.h>

#include "audio_features.h"
#include "audio_streams.h"
#include "kws.h"
#include "rtp_audio.h"
#include "spam_score.h"

#define SEGMENT (2 * FL_AUDIO_RATE)
#define SEGMENT_MIN (FL_AUDIO_RATE / 2)
/* what a keyword window keeps of the segment before: a phrase cut by a
 * segment's end is whole in the next window */
#define OVERLAP FL_AUDIO_RATE
#define HITS_MAX 64 /* a stream's keyword hits shown */
#define SPOT_MIN_FRAMES 10 /* 200 ms of sound in a segment to spot it */

/* A call: the two directions between two ends, whichever comes first. */
struct call_key {
	union fl_addr lo, hi;
	__u16 lo_port, hi_port;
	__u8 family;
	__u8 pad[3];
};

struct audio_call {
	struct call_key key;
	struct fl_spam_call spam;
	/* where in the call (ms of audio, either side) it first became
	 * suspect and spam; 0: not yet */
	unsigned int suspect_ms, spam_ms;
	unsigned int streams; /* holding it */
	UT_hash_handle hh;
};

struct audio_stream {
	struct fl_rtp_key key;
	struct audio_call *call; /* with keyword spotting */
	int side; /* 0: from the call's lo end */
	struct fl_audio_dec *dec; /* NULL: not audio it can decode */
	enum fl_audio_codec codec;
	__u8 pt;
	int16_t *seg; /* SEGMENT samples */
	size_t seg_len;
	unsigned int segments;
	struct fl_audio_features sum; /* of the segments' features */
	size_t done; /* samples in the segments before this one */
	int16_t *tail; /* OVERLAP samples: the last segment's end */
	size_t tail_len;
	struct fl_kws_hit hits[HITS_MAX]; /* start_ms: in the stream */
	unsigned int nr_hits, hits_total;
	FILE *file; /* the audio, with a directory */
	char path[PATH_MAX];
	UT_hash_handle hh;
};

struct audio_streams {
	struct audio_stream *streams;
	unsigned int nr, max;
	__u64 dropped;
	const char *dir;
	struct fl_kws *kws;
	struct fl_spam_conf spam;
	struct audio_call *calls;
	__u64 unspotted; /* segments too silent to spot */
	int16_t window[OVERLAP + SEGMENT]; /* a keyword scan's audio */
};

struct audio_streams *audio_streams_new(unsigned int max, const char *dir,
					struct fl_kws *kws)
{
	struct audio_streams *as = calloc(1, sizeof(*as));

	if (as) {
		as->max = max;
		as->dir = dir;
		as->kws = kws;
		fl_spam_conf_default(&as->spam);
	}
	return as;
}

static int endpoint_cmp(const union fl_addr *a, __u16 ap,
			const union fl_addr *b, __u16 bp)
{
	int c = memcmp(a, b, sizeof(*a));

	return c ? c : (int)ap - (int)bp;
}

/* The stream's call, made if it is the first of its two directions. */
static struct audio_call *call_get(struct audio_streams *as,
				   const struct fl_rtp_key *k, int *side)
{
	struct call_key ck = { .family = k->family };
	struct audio_call *c;

	*side = endpoint_cmp(&k->src, k->sport, &k->dst, k->dport) > 0;
	ck.lo = *side ? k->dst : k->src;
	ck.hi = *side ? k->src : k->dst;
	ck.lo_port = *side ? k->dport : k->sport;
	ck.hi_port = *side ? k->sport : k->dport;
	HASH_FIND(hh, as->calls, &ck, sizeof(ck), c);
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return NULL;
		c->key = ck;
		HASH_ADD(hh, as->calls, key, sizeof(c->key), c);
	}
	c->streams++;
	return c;
}

static void stream_free(struct audio_streams *as, struct audio_stream *s)
{
	if (s->call && !--s->call->streams) {
		HASH_DEL(as->calls, s->call);
		free(s->call);
	}
	HASH_DEL(as->streams, s);
	as->nr--;
	if (s->file)
		fclose(s->file);
	fl_audio_dec_free(s->dec);
	free(s->seg);
	free(s->tail);
	free(s);
}

void audio_streams_free(struct audio_streams *as)
{
	struct audio_stream *s, *tmp;

	if (!as)
		return;
	HASH_ITER(hh, as->streams, s, tmp)
		stream_free(as, s);
	free(as);
}

__u64 audio_streams_unspotted(const struct audio_streams *as)
{
	return as->unspotted;
}

__u64 audio_streams_dropped(const struct audio_streams *as)
{
	return as->dropped;
}

/* The segment into its call's evidence, and when the call's decision
 * first changed. */
static void call_segment(struct audio_streams *as, struct audio_stream *s,
			 const struct fl_audio_features *f,
			 const struct fl_kws_hit *hits, unsigned int n)
{
	struct audio_call *c = s->call;
	struct fl_spam_evidence ev;
	unsigned int at;

	fl_spam_segment(&c->spam, s->side, fl_audio_codec_narrow(s->codec), f,
			hits, n);
	fl_spam_score(&c->spam, &as->spam, &ev);
	at = (s->done + s->seg_len) * 1000 / FL_AUDIO_RATE;
	if (ev.decision >= FL_SPAM_SUSPECT && !c->suspect_ms)
		c->suspect_ms = at;
	if (ev.decision == FL_SPAM_SPAM && !c->spam_ms)
		c->spam_ms = at;
}

/* Tier 1 over the segment, with the end of the one before. */
static void segment_keywords(struct audio_streams *as, struct audio_stream *s,
			     const struct fl_audio_features *f)
{
	struct fl_kws_hit hits[16];
	size_t start = s->done - s->tail_len;
	int i, n = 0;

	/* a phrase that ends in a silent segment is not in it: a silent
	 * segment (listening, on hold) is not spotted at all */
	if (f->frames - f->silence_ratio * f->frames >= SPOT_MIN_FRAMES) {
		memcpy(as->window, s->tail, s->tail_len * sizeof(*s->tail));
		memcpy(as->window + s->tail_len, s->seg,
		       s->seg_len * sizeof(*s->seg));
		n = fl_kws_scan(as->kws, as->window, s->tail_len + s->seg_len,
				s->tail_len, fl_audio_codec_narrow(s->codec),
				hits, 16);
	} else {
		as->unspotted++;
	}
	for (i = 1; i < n; i++) { /* in the order said */
		struct fl_kws_hit h = hits[i];
		int j = i;

		for (; j > 0 && hits[j - 1].start_ms > h.start_ms; j--)
			hits[j] = hits[j - 1];
		hits[j] = h;
	}
	if (n < 0)
		n = 0;
	if (s->call)
		call_segment(as, s, f, hits, n);
	for (i = 0; i < n; i++) {
		if (s->hits_total++ >= HITS_MAX)
			continue;
		hits[i].start_ms += start * 1000 / FL_AUDIO_RATE;
		hits[i].end_ms += start * 1000 / FL_AUDIO_RATE;
		s->hits[s->nr_hits++] = hits[i];
	}
	s->tail_len = s->seg_len < OVERLAP ? s->seg_len : OVERLAP;
	memcpy(s->tail, s->seg + s->seg_len - s->tail_len,
	       s->tail_len * sizeof(*s->seg));
}

/* The segment so far, measured and added up. */
static void segment_end(struct audio_streams *as, struct audio_stream *s)
{
	struct fl_audio_features f;

	if (s->seg_len >= SEGMENT_MIN &&
	    !fl_audio_features(s->seg, s->seg_len, &f)) {
		s->segments++;
		s->sum.frames += f.frames;
		s->sum.voiced += f.voiced;
		s->sum.peaks += f.peaks;
		s->sum.silence_ratio += f.silence_ratio;
		s->sum.energy_std_db += f.energy_std_db;
		s->sum.pitch_hz += f.pitch_hz;
		s->sum.pitch_cv += f.pitch_cv;
		s->sum.rhythm += f.rhythm;
		s->sum.syllable_rate += f.syllable_rate;
		s->sum.syllable_cv += f.syllable_cv;
		if (as->kws && s->tail)
			segment_keywords(as, s, &f);
	}
	s->done += s->seg_len;
	s->seg_len = 0;
}

/* What the decoder has, into segments (and the file). */
static void drain(struct audio_streams *as, struct audio_stream *s)
{
	size_t n;

	do {
		n = fl_audio_dec_pull(s->dec, s->seg + s->seg_len,
				      SEGMENT - s->seg_len);
		if (s->file && n &&
		    fwrite(s->seg + s->seg_len, sizeof(*s->seg), n, s->file) !=
			    n) {
			fclose(s->file); /* full: the JSON says null */
			s->file = NULL;
			s->path[0] = '\0';
		}
		s->seg_len += n;
		if (s->seg_len == SEGMENT)
			segment_end(as, s);
	} while (n);
}

/* DIR/SSRC.raw, or SSRC-N.raw if another stream of its SSRC had it. */
static void file_open(struct audio_streams *as, struct audio_stream *s)
{
	unsigned int n;

	for (n = 1; n < 1000; n++) {
		if (n == 1)
			snprintf(s->path, sizeof(s->path), "%s/%08x.raw",
				 as->dir, s->key.ssrc);
		else
			snprintf(s->path, sizeof(s->path), "%s/%08x-%u.raw",
				 as->dir, s->key.ssrc, n);
		if (access(s->path, F_OK))
			break;
	}
	s->file = fopen(s->path, "wbx");
	if (!s->file)
		s->path[0] = '\0';
}

void audio_streams_packet(struct audio_streams *as,
			  const struct fl_rtp_key *key,
			  const struct fl_rtp_hdr *h, const __u8 *rtp,
			  const char *codec_name)
{
	struct audio_stream *s;

	HASH_FIND(hh, as->streams, key, sizeof(*key), s);
	if (!s) {
		if (as->nr >= as->max || !(s = calloc(1, sizeof(*s)))) {
			as->dropped++;
			return;
		}
		s->key = *key;
		s->pt = h->pt;
		s->codec = fl_audio_codec_from(h->pt, codec_name);
		if (s->codec != FL_AUDIO_NONE) {
			s->dec = fl_audio_dec_new(s->codec);
			s->seg = malloc(SEGMENT * sizeof(*s->seg));
			if (as->kws)
				s->tail = malloc(OVERLAP * sizeof(*s->tail));
			if (!s->dec || !s->seg || (as->kws && !s->tail)) {
				fl_audio_dec_free(s->dec);
				free(s->seg);
				free(s->tail);
				s->dec = NULL;
				s->seg = NULL;
				s->tail = NULL;
			}
		}
		HASH_ADD(hh, as->streams, key, sizeof(s->key), s);
		as->nr++;
		if (s->dec && as->kws)
			s->call = call_get(as, key, &s->side);
		if (s->dec && as->dir)
			file_open(as, s);
	}
	if (!s->dec || h->pt != s->pt || !h->payload_len)
		return;
	if (fl_audio_dec_push(s->dec, h->seq, rtp + h->header_len,
			      h->payload_len))
		return;
	drain(as, s);
}

void audio_streams_finish(struct audio_streams *as)
{
	struct audio_stream *s, *tmp;

	HASH_ITER(hh, as->streams, s, tmp) {
		if (!s->dec)
			continue;
		fl_audio_dec_flush(s->dec);
		drain(as, s);
		segment_end(as, s);
	}
}

static struct json_object *avg(double sum, unsigned int n, double scale)
{
	return json_object_new_double(
		n ? (double)(long long)(sum / n * scale + 0.5) / scale : 0);
}

/* Tier 3: the call's score as it stands, and its evidence. */
static void spam_json(struct audio_streams *as, struct audio_call *c,
		      struct json_object *o)
{
	struct fl_spam_evidence ev;
	struct json_object *e = json_object_new_object();

	fl_spam_score(&c->spam, &as->spam, &ev);
	json_object_object_add(o, "score", avg(ev.score, 1, 1000));
	json_object_object_add(
		o, "decision",
		json_object_new_string(fl_spam_decision_name(ev.decision)));
	json_object_object_add(e, "keywords", avg(ev.keywords, 1, 1000));
	json_object_object_add(e, "monologue", avg(ev.monologue, 1, 1000));
	json_object_object_add(e, "flat_voice", avg(ev.flat, 1, 1000));
	json_object_object_add(o, "evidence", e);
	json_object_object_add(o, "suspect_at",
			       c->suspect_ms ? avg(c->suspect_ms, 1000, 100) :
					       NULL);
	json_object_object_add(o, "spam_at",
			       c->spam_ms ? avg(c->spam_ms, 1000, 100) : NULL);
}

/* Tier 1's hits in the order heard: [{"keyword", "second"}] */
static struct json_object *keywords_json(struct audio_streams *as,
					 struct audio_stream *s)
{
	struct json_object *a = json_object_new_array(), *o;
	unsigned int i;

	for (i = 0; i < s->nr_hits; i++) {
		o = json_object_new_object();
		json_object_object_add(
			o, "keyword",
			json_object_new_string(
				fl_kws_keyword(as->kws, s->hits[i].keyword)
					->phrase));
		json_object_object_add(o, "second",
				       avg(s->hits[i].start_ms, 1000, 100));
		json_object_array_add(a, o);
	}
	return a;
}

struct json_object *audio_streams_json(struct audio_streams *as,
				       const struct fl_rtp_key *key)
{
	struct fl_audio_dec_stats st;
	struct json_object *o;
	struct audio_stream *s;
	unsigned int n;

	HASH_FIND(hh, as->streams, key, sizeof(*key), s);
	if (!s)
		return NULL;
	if (!s->dec) {
		stream_free(as, s);
		return NULL;
	}
	fl_audio_dec_flush(s->dec);
	drain(as, s);
	segment_end(as, s);
	fl_audio_dec_stats(s->dec, &st);
	n = s->segments;
	o = json_object_new_object();
	json_object_object_add(
		o, "codec",
		json_object_new_string(fl_audio_codec_name(s->codec)));
	json_object_object_add(o, "payload_type", json_object_new_int(s->pt));
	json_object_object_add(o, "seconds",
			       avg(st.samples, FL_AUDIO_RATE, 1000));
	json_object_object_add(o, "decoded",
			       json_object_new_uint64(st.packets));
	json_object_object_add(o, "concealed",
			       json_object_new_uint64(st.concealed));
	json_object_object_add(o, "late", json_object_new_uint64(st.late));
	json_object_object_add(o, "refused",
			       json_object_new_uint64(st.refused));
	json_object_object_add(o, "segments", json_object_new_int(n));
	json_object_object_add(
		o, "file", s->path[0] ? json_object_new_string(s->path) : NULL);
	/* the segments' averages */
	json_object_object_add(o, "silence_ratio",
			       avg(s->sum.silence_ratio, n, 1000));
	json_object_object_add(o, "energy_std_db",
			       avg(s->sum.energy_std_db, n, 10));
	json_object_object_add(o, "pitch_hz", avg(s->sum.pitch_hz, n, 10));
	json_object_object_add(o, "pitch_cv", avg(s->sum.pitch_cv, n, 1000));
	json_object_object_add(o, "rhythm", avg(s->sum.rhythm, n, 1000));
	json_object_object_add(o, "syllable_rate",
			       avg(s->sum.syllable_rate, n, 100));
	json_object_object_add(o, "syllable_cv",
			       avg(s->sum.syllable_cv, n, 1000));
	if (as->kws) {
		/* the first HITS_MAX of keyword_hits */
		json_object_object_add(o, "keywords", keywords_json(as, s));
		json_object_object_add(o, "keyword_hits",
				       json_object_new_int(s->hits_total));
		if (s->call)
			spam_json(as, s->call, o);
	}
	stream_free(as, s);
	return o;
}
