#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""sip_pcap.py - a pcap of SIP requests for flgen replay (make bench).

    sip_pcap.py OUT --method INVITE --dst 198.51.100.2 --rate 500 --count 1000
                [--src 192.0.2.20 | --spoof 198.18.0.0/15] [--sport 5071]

COUNT IPv4/UDP frames, one request each (a fresh Call-ID and branch per
frame), to DST port 5060, RATE a second apart in the file's timestamps
(flgen replay --timing original keeps them; --timing max ignores them).
Sources: one address (--src), or a new random one of a prefix per frame
(--spoof). The IP header checksum is computed; the UDP one is left 0, as
IPv4 allows. Standard library only.
"""
import argparse
import ipaddress
import random
import struct
import sys


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def request(method, src, dst, sport, n):
    body = (
        f"{method} sip:bench@{dst}:5060 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {src}:{sport};branch=z9hG4bK-{n:x}\r\n"
        f"From: <sip:flood@{src}>;tag={n}\r\n"
        f"To: <sip:bench@{dst}>\r\n"
        f"Call-ID: {n}-{random.getrandbits(32):08x}@{src}\r\n"
        f"CSeq: 1 {method}\r\n"
        f"Contact: <sip:flood@{src}:{sport}>\r\n"
        "Max-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()
    udp = struct.pack("!HHHH", sport, 5060, 8 + len(body), 0) + body
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), n & 0xFFFF, 0,
                     64, 17, 0, ipaddress.IPv4Address(src).packed,
                     ipaddress.IPv4Address(dst).packed)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return b"\0" * 6 + b"\x02\0\0\0\0\1" + b"\x08\x00" + ip + udp


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--method", default="INVITE")
    ap.add_argument("--dst", required=True)
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--src")
    ap.add_argument("--spoof")
    ap.add_argument("--sport", type=int, default=5071)
    a = ap.parse_args()
    if bool(a.src) == bool(a.spoof):
        sys.exit("sip_pcap.py: give one of --src and --spoof")
    net = ipaddress.IPv4Network(a.spoof) if a.spoof else None
    with open(a.out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 1))
        for n in range(a.count):
            src = a.src or str(net[random.randrange(1, net.num_addresses - 1)])
            frame = request(a.method, src, a.dst, a.sport, n)
            t = n / a.rate
            sec = int(t)
            f.write(struct.pack("<IIII", sec, int((t - sec) * 1e9),
                                len(frame), len(frame)))
            f.write(frame)


if __name__ == "__main__":
    main()
