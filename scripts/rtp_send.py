#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""rtp_send.py - one RTP stream from a lab namespace, with an exact count.

  rtp_send.py DST PORT [--src ADDR] [--sport N] [--count N] [--pps R]
              [--ssrc X] [--pt N] [--size N]

Sends COUNT RTP packets (RFC 3550 version 2, consecutive sequence numbers,
timestamps 20 ms of 8 kHz audio apart, SIZE bytes of payload) from SRC:SPORT
to DST:PORT through an ordinary UDP socket, paced at PPS, and prints how
many it sent. What a media flood towards a port no SDP offered looks like
(selftests/test_voip_calls.sh).
"""
import argparse
import socket
import struct
import sys
import time


def main():
    ap = argparse.ArgumentParser(description="send one RTP stream")
    ap.add_argument("dst")
    ap.add_argument("port", type=int)
    ap.add_argument("--src", default="")
    ap.add_argument("--sport", type=int, default=0)
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--pps", type=float, default=50)
    ap.add_argument("--ssrc", type=lambda x: int(x, 0), default=0x5EED0001)
    ap.add_argument("--pt", type=int, default=0)
    ap.add_argument("--size", type=int, default=160)
    a = ap.parse_args()

    family = socket.AF_INET6 if ":" in a.dst else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((a.src, a.sport))
    payload = bytes(a.size)
    seq, ts, sent = 1000, 160000, 0
    start = time.monotonic()
    for i in range(a.count):
        header = struct.pack("!BBHII", 0x80, a.pt & 0x7F, seq & 0xFFFF,
                             ts & 0xFFFFFFFF, a.ssrc)
        s.sendto(header + payload, (a.dst, a.port))
        sent += 1
        seq += 1
        ts += 160
        delay = start + (i + 1) / a.pps - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    print(sent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
