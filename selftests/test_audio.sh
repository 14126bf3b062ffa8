#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# RTP audio end to end, offline: speech from espeak-ng (resampled to 16 kHz
# by sox) encoded by build/rtp_encode with each codec into a capture of
# one RTP stream, read back by `flowlensd replay --voip --audio-dir`, and
# the audio it wrote compared with the speech by build/pcm_compare:
#   - G.711 u-law and A-law, G.722, G.729: the codec named, as many
#     seconds as were sent, every packet decoded, the waveform and the
#     loudness envelope close to the speech (each codec's floor);
#   - two packets missing: concealed, the audio as long as before;
#   - Opus on its dynamic payload type with no SDP in the capture: not
#     decoded (nothing names it; sip.pcap's SDP path: test_replay.sh);
#   - --audio-dir without --voip, or a directory that is not writable,
#     refused;
#   - keyword spotting (--spam, --keywords): a robocall's "final notice",
#     "warranty" and "press one" spotted in order at the seconds they are
#     said, "press one" across the 4 s segment boundary (found only with
#     the window's overlap); an ordinary sentence spotted nothing; an
#     operator's own list; words outside the dictionary, bad thresholds
#     and empty lists refused.
NO_LAB=1
source "$(dirname "$0")/lib.sh"

REPLAY="$OUTPUT/flowlensd"
ENCODE="$OUTPUT/rtp_encode"
COMPARE="$OUTPUT/pcm_compare"
WORK=$(mktemp -d /tmp/fl-audio.XXXXXX)
SPEECH="Hello, this is a message about your account. Please call us back at your earliest convenience."

lab_setup() {
	local t
	for t in espeak-ng sox jq; do
		command -v $t >/dev/null || fail "$t is not installed (make deps)"
	done
	[ -x "$REPLAY" ] && [ -x "$ENCODE" ] && [ -x "$COMPARE" ] || fail "not built (make)"
	espeak-ng -v en-us -s 150 -w "$WORK/speech.wav" "$SPEECH" &&
		sox "$WORK/speech.wav" -r 16000 -c 1 -b 16 -e signed -t raw "$WORK/speech.raw" ||
		fail "cannot make the speech"
}

lab_teardown() { rm -rf "$WORK"; }

# call CODEC NAME [rtp_encode args]: the capture, replayed; its one rtp
# line in $WORK/NAME.rtp, its audio in $WORK/NAME/
call() {
	local codec=$1 name=$2 sent
	shift 2
	mkdir -p "$WORK/$name"
	sent=$("$ENCODE" --codec "$codec" "$@" "$WORK/speech.raw" "$WORK/$name.pcap") ||
		fail "rtp_encode $codec failed"
	"$REPLAY" replay --voip --audio-dir "$WORK/$name" "$WORK/$name.pcap" >"$WORK/$name.json" ||
		fail "replay failed"
	jq -c 'select(.type == "rtp")' "$WORK/$name.json" >"$WORK/$name.rtp"
	assert_eq "$(wc -l <"$WORK/$name.rtp")" 1 "$name: one RTP stream"
	assert_eq "$(jq .packets "$WORK/$name.rtp")" "$sent" "$name: packets"
}

speech_seconds() { echo "$(($(stat -c %s "$WORK/speech.raw") / 2))" | awk '{ printf "%.3f", $1 / 16000 }'; }

test_codecs() {
	local codec wave env row out cmp
	# codec, waveform floor, envelope floor (per mille); this speech
	# measured 989, 989, 998 and 815, envelopes 974, 974, 990 and 949
	for row in PCMU:950:900 PCMA:950:900 G722:950:900 G729:700:900; do
		IFS=: read -r codec wave env <<<"$row"
		call "$codec" "$codec"
		out=$(cat "$WORK/$codec.rtp")
		echo "$out" | jq -c '.audio | {codec, seconds, decoded, concealed, segments, pitch_hz, pitch_cv}'
		# the first packet is on probation: decoded from the second on
		json_check "$out" ".audio.codec == \"$codec\" and .audio.decoded == .packets - 1 and .audio.concealed == 0
			and .audio.refused == 0 and ((.audio.seconds - $(speech_seconds)) | fabs) <= 0.05
			and .audio.file == \"$WORK/$codec/5eed0001.raw\"" \
			"$codec: decoded whole"
		cmp=$("$COMPARE" "$WORK/speech.raw" "$WORK/$codec/5eed0001.raw")
		echo "$codec: $cmp"
		json_check "$cmp" ".correlation >= $wave and .envelope >= $env" "$codec: close to the speech"
		json_check "$out" '.audio.pitch_hz >= 70 and .audio.pitch_hz <= 300 and .audio.silence_ratio < 0.6' \
			"$codec: a voice"
	done
}

test_loss_concealed() {
	local out
	call PCMA whole
	call PCMA lossy --drop 50 --drop 51
	out=$(cat "$WORK/lossy.rtp")
	json_check "$out" '.lost == 2 and .audio.concealed == 2 and .audio.decoded == .packets - 1' "lossy: concealed"
	assert_eq "$(jq .audio.seconds "$WORK/lossy.rtp")" "$(jq .audio.seconds "$WORK/whole.rtp")" \
		"lossy: as long as without the loss"
	json_check "$("$COMPARE" "$WORK/speech.raw" "$WORK/lossy/5eed0001.raw")" '.envelope >= 900' \
		"lossy: close to the speech"
}

test_opus_needs_sdp() {
	call opus opus
	json_check "$(cat "$WORK/opus.rtp")" '.payload_type == 96 and .audio == null' \
		"opus on 96 with no SDP: not decoded"
}

ROBOCALL="This is a final notice about your car's extended warranty. Press one to speak to an agent now."
CLEAN="Did you remember to pick up the milk and the bread on the way home from work."

# spoken NAME TEXT [sox effects]: one G.722 stream of TEXT, $WORK/NAME.pcap
spoken() {
	local name=$1 text=$2
	shift 2
	espeak-ng -v en-us -s 160 -w "$WORK/$name.wav" "$text" &&
		sox "$WORK/$name.wav" -r 16000 -c 1 -b 16 -e signed -t raw "$WORK/$name.raw" "$@" &&
		"$ENCODE" --codec G722 "$WORK/$name.raw" "$WORK/$name.pcap" >/dev/null ||
		fail "cannot make $name"
}

keywords() { "$REPLAY" replay --voip "$@" | jq -c 'select(.type == "rtp") | .audio'; }

test_keywords() {
	local out
	# 0.3 s of silence first puts "press one" at 3.83-4.3 s, across
	# the second segment's end
	spoken robocall "$ROBOCALL" pad 0.3 0
	out=$(keywords --spam "$WORK/robocall.pcap")
	json_check "$out" '[.keywords[].keyword] == ["final notice", "warranty", "press one"] and .keyword_hits == 3' \
		"robocall: its three keywords, in order"
	json_check "$out" '.keywords[0].second >= 0.5 and .keywords[0].second <= 0.9 and
		.keywords[2].second >= 3.6 and .keywords[2].second < 4' \
		"robocall: at the seconds they are said"
	spoken clean "$CLEAN"
	json_check "$(keywords --spam "$WORK/clean.pcap")" '.keywords == [] and .keyword_hits == 0' \
		"ordinary sentence: no keyword"
	printf '# an operator'"'"'s list\nspeak to an agent /1e-50/\n\n  Press  One\n' >"$WORK/kw.txt"
	json_check "$(keywords --keywords "$WORK/kw.txt" "$WORK/robocall.pcap")" \
		'[.keywords[].keyword] == ["press one", "speak to an agent"]' "own list: only its keywords"
}

test_keyword_errors() {
	spoken clean "$CLEAN"
	assert_fails_with "--spam needs --voip" "$REPLAY" replay --spam "$WORK/clean.pcap"
	printf 'press one\nflowlenz now\n' >"$WORK/bad.txt"
	assert_fails_with "keyword 'flowlenz now': 'flowlenz' is not in the dictionary" \
		"$REPLAY" replay --voip --keywords "$WORK/bad.txt" "$WORK/clean.pcap"
	printf 'press one /x/\n' >"$WORK/bad.txt"
	assert_fails_with "bad.txt:1: 'press one /x/': the threshold goes between slashes" \
		"$REPLAY" replay --voip --keywords "$WORK/bad.txt" "$WORK/clean.pcap"
	printf 'press one\ngift card 2\n' >"$WORK/bad.txt"
	assert_fails_with "bad.txt:2: .*a keyword is words of letters" \
		"$REPLAY" replay --voip --keywords "$WORK/bad.txt" "$WORK/clean.pcap"
	printf '# nothing\n' >"$WORK/bad.txt"
	assert_fails_with "no keywords in it" "$REPLAY" replay --voip --keywords "$WORK/bad.txt" "$WORK/clean.pcap"
	assert_fails_with "--keywords /nonexistent: No such file" \
		"$REPLAY" replay --voip --keywords /nonexistent "$WORK/clean.pcap"
}

test_errors() {
	assert_fails_with "--audio-dir needs --voip" "$REPLAY" replay --audio-dir "$WORK" "$WORK/whole.pcap"
	assert_fails_with "--audio-dir /nonexistent" "$REPLAY" replay --voip --audio-dir /nonexistent "$WORK/whole.pcap"
	assert_fails_with "unknown codec 'gsm'" "$ENCODE" --codec gsm "$WORK/speech.raw" "$WORK/x.pcap"
}

run_tests
