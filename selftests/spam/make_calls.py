#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""make_calls.py OUTDIR ENCODER - the labelled calls spam scoring is judged on.

Speaks calls.txt's lines with espeak-ng and builds, per call, both
directions of its RTP (build/rtp_encode, ENCODER) into OUTDIR/calls.pcap,
and OUTDIR/labels.json: [{"caller": ADDR:PORT, "callee": ADDR:PORT,
"label": "spam"|"clean", "codec", "voice", "text"}].

  robocall  the callee answers ("Hello?"), then the recording plays a
            spam script to the end while the callee listens
  ordinary  two people take turns: caller, callee, caller, three of the
            ordinary sentences

Each script and each conversation is spoken by four voices (espeak-ng's
en-us, en-gb with a female variant, en-us with a male variant, Scottish
English; two of them slower or faster, two with white noise at -34 dBFS
mixed in) and sent with a codec that rotates through G.711 u-law and
A-law, G.722 and G.729 (each voice with each codec, each text with each
codec once): 48 robocalls and 48 ordinary calls. The speech is
synthetic on both sides: the ordinary calls are a stand-in for people.
sox -R keeps the noise and the dither the same on every run.
"""
import json
import os
import subprocess
import sys

RATE = 16000
VOICES = [  # (voice, words a minute, noise)
    ("en-us", 160, False),
    ("en-gb+f3", 190, True),
    ("en-us+m3", 140, True),
    ("en-gb-scotland", 175, False),
]
# other voices, for a check the calibration never saw (make_calls.py
# OUTDIR ENCODER heldout)
HELDOUT = [
    ("en-029", 170, False),
    ("en-gb-x-rp+f2", 150, True),
    ("en-us+m7", 185, True),
    ("en-gb-x-gbclan", 160, False),
]
CALLEE_VOICE = "en-us+f2"
CODECS = ["PCMU", "PCMA", "G722", "G729"]


def speak(work, voice, speed, noise, text):
    """16 kHz s16le bytes of TEXT."""
    wav = os.path.join(work, "t.wav")
    raw = os.path.join(work, "t.raw")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", wav, text],
                   check=True)
    # -R: the same dither every run (the scores move with it)
    subprocess.run(["sox", "-R", "-q", wav, "-r", str(RATE), "-c", "1", "-b", "16",
                    "-e", "signed", "-t", "raw", raw], check=True)
    if noise:
        mixed = os.path.join(work, "n.raw")
        fmt = ["-t", "raw", "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed"]
        gen = subprocess.Popen(["sox", "-R", "-q"] + fmt + [raw, "-p", "synth",
                               "whitenoise", "vol", "0.02"],
                               stdout=subprocess.PIPE)
        subprocess.run(["sox", "-R", "-q", "-m", "-v", "1"] + fmt + [raw, "-v", "1", "-",
                        "-t", "raw", mixed], stdin=gen.stdout, check=True,
                       stderr=subprocess.DEVNULL)
        gen.wait()
        raw = mixed
    with open(raw, "rb") as f:
        return f.read()


def silence(seconds):
    return b"\0\0" * int(seconds * RATE)


def turns(parts):
    """[(side, audio)] -> (caller audio, callee audio), each silent while
    the other talks, with half a second between turns."""
    sides = [b"", b""]
    for side, audio in parts:
        gap = silence(0.5) + b"\0" * len(audio)
        sides[side] += silence(0.5) + audio
        sides[1 - side] += gap
    return sides[0], sides[1]


def main():
    out, encoder = sys.argv[1], sys.argv[2]
    voices = HELDOUT if sys.argv[3:] == ["heldout"] else VOICES
    here = os.path.dirname(os.path.abspath(__file__))
    lines = [l.rstrip("\n").split("|", 1) for l in open(os.path.join(here, "calls.txt"))
             if l.strip() and not l.startswith("#")]
    spam = [t for lab, t in lines if lab == "spam"]
    clean = [t for lab, t in lines if lab == "clean"]
    work = os.path.join(out, "work")
    os.makedirs(work, exist_ok=True)
    hello = speak(work, CALLEE_VOICE, 170, False, "Hello?")
    labels, pcaps, n = [], [], 0
    for label, texts in (("spam", spam), ("clean", clean)):
        for i, text in enumerate(texts):
            for v, (voice, speed, noise) in enumerate(voices):
                n += 1
                codec = CODECS[(i + v) % len(CODECS)]
                if label == "spam":
                    said = text
                    a, b = turns([(1, hello), (0, speak(work, voice, speed, noise, text))])
                else:
                    t2 = clean[(i + 1) % len(clean)]
                    t3 = clean[(i + 2) % len(clean)]
                    said = " / ".join((text, t2, t3))
                    a, b = turns([(0, speak(work, voice, speed, noise, text)),
                                  (1, speak(work, CALLEE_VOICE, 170, False, t2)),
                                  (0, speak(work, voice, speed, noise, t3))])
                caller = "198.51.100.%d" % n
                callee = "203.0.113.%d" % n
                for side, audio, src, dst, sport, dport in (
                        (0, a, caller, callee, 40000, 50000),
                        (1, b, callee, caller, 50000, 40000)):
                    raw = os.path.join(work, "s.raw")
                    with open(raw, "wb") as f:
                        f.write(audio)
                    pcap = os.path.join(work, "%d-%d.pcap" % (n, side))
                    subprocess.run([encoder, "--codec", codec, "--src", src,
                                    "--dst", dst, "--sport", str(sport),
                                    "--dport", str(dport), "--ssrc",
                                    str(n * 2 + side), raw, pcap],
                                   check=True, stdout=subprocess.DEVNULL)
                    pcaps.append(pcap)
                labels.append({"caller": "%s:40000" % caller,
                               "callee": "%s:50000" % callee, "label": label,
                               "codec": codec, "voice": voice, "text": said})
    subprocess.run(["mergecap", "-F", "pcap", "-w", os.path.join(out, "calls.pcap")] + pcaps,
                   check=True)
    with open(os.path.join(out, "labels.json"), "w") as f:
        json.dump(labels, f, indent=1)
    print(len(labels))


if __name__ == "__main__":
    main()
