/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: an RTP stream's audio decoded to 16 kHz mono 16-bit PCM, what spam
 * scoring listens to (issue 21).
 *
 *   fl_audio_codec_from()   a payload type's codec: its SDP name (rtpmap)
 *                           when there is one, else RFC 3551's static table
 *   fl_audio_dec_new()      a decoder for one stream
 *   fl_audio_dec_push()     one RTP packet's payload by sequence number,
 *                           held in a reordering window of FL_AUDIO_REORDER
 *                           packets while one before it is missing
 *   fl_audio_dec_pull()     the audio decoded so far, in order
 *   fl_audio_dec_flush()    the stream ended: every held packet out
 *   fl_audio_dec_stats()    packets decoded, concealed, late, refused
 *
 * Codecs: G.711 u-law and A-law (spandsp's tables), G.722 (spandsp), G.729
 * A/B (bcg729), Opus (libopus, decoded at 16 kHz); 8 kHz audio is resampled
 * (speexdsp). A packet the window gave up on is concealed, never stitched:
 * the audio keeps its length, filled by the codec's own concealment (G.729,
 * Opus), the packet before it again, fading out (G.711; silence for a
 * second one in a row), or silence (G.722), as long as the packet before
 * it lasted. A packet older than what was already
 * played is late: counted, not decoded.
 *
 * Not thread-safe: one stream, one thread.
 */
#ifndef FL_RTP_AUDIO_H
#define FL_RTP_AUDIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <flowlens/types.h>

#define FL_AUDIO_RATE 16000 /* what every decoder gives, Hz */
#define FL_AUDIO_REORDER 8 /* packets held while one is missing */
#define FL_AUDIO_PACKET_MAX 1500 /* payload bytes kept per packet */

enum fl_audio_codec {
	FL_AUDIO_NONE = 0,
	FL_AUDIO_PCMU,
	FL_AUDIO_PCMA,
	FL_AUDIO_G722,
	FL_AUDIO_G729,
	FL_AUDIO_OPUS,
	FL_AUDIO_CODECS,
};

/* The codec of payload type @pt whose SDP rtpmap names @name (NULL or "":
 * none), or FL_AUDIO_NONE for one it cannot decode. */
enum fl_audio_codec fl_audio_codec_from(__u8 pt, const char *name);
const char *fl_audio_codec_name(enum fl_audio_codec c);
/* An 8 kHz codec (G.711, G.729): nothing above 4 kHz in its audio. */
static inline bool fl_audio_codec_narrow(enum fl_audio_codec c)
{
	return c == FL_AUDIO_PCMU || c == FL_AUDIO_PCMA || c == FL_AUDIO_G729;
}
/* The codec a name fl_audio_codec_name() gives (any case) or an SDP's
 * rtpmap names, or FL_AUDIO_NONE. */
enum fl_audio_codec fl_audio_codec_parse(const char *name);

struct fl_audio_dec;

struct fl_audio_dec_stats {
	__u64 packets; /* decoded */
	__u64 concealed; /* missing packets filled in */
	__u64 late; /* arrived after their place was played */
	__u64 refused; /* payloads the codec would not take */
	__u64 samples; /* at FL_AUDIO_RATE, concealment included */
};

/* NULL with errno: ENOTSUP for FL_AUDIO_NONE, ENOMEM. */
struct fl_audio_dec *fl_audio_dec_new(enum fl_audio_codec c);
void fl_audio_dec_free(struct fl_audio_dec *d);
/* 0; -EINVAL for a payload over FL_AUDIO_PACKET_MAX or empty. */
int fl_audio_dec_push(struct fl_audio_dec *d, __u16 seq, const void *payload,
		      size_t len);
void fl_audio_dec_flush(struct fl_audio_dec *d);
/* Up to @max samples of what is decoded, oldest first; how many. */
size_t fl_audio_dec_pull(struct fl_audio_dec *d, int16_t *out, size_t max);
void fl_audio_dec_stats(const struct fl_audio_dec *d,
			struct fl_audio_dec_stats *st);

#endif /* FL_RTP_AUDIO_H */
