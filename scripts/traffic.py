#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""traffic.py - test traffic from a lab namespace, with exact counts.

  traffic.py udp DST PORT [--src ADDR] [--size N] [--count N | --duration S] [--pps R]
  traffic.py syn DST PORT [--src ADDR] [--count N | --duration S] [--pps R]
  traffic.py frame IFACE HEX

udp sends datagrams through an ordinary socket (one sendto() each); syn
sends bare TCP SYNs through a raw socket, the kernel adding the IP header;
frame writes one raw Ethernet frame (hex) on IFACE. Prints how many packets
it sent (on stderr, once a second, how far it has got). Pacing is best
effort; counts are exact.
"""
import argparse
import ipaddress
import os
import random
import socket
import struct
import sys
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def tcp_syn(src, dst, sport, dport):
    seq = random.getrandbits(32)
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if s.version == 4:
        pseudo = s.packed + d.packed + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(header))
    else:
        pseudo = s.packed + d.packed + struct.pack("!I3xB", len(header), socket.IPPROTO_TCP)
    csum = checksum(pseudo + header)
    return header[:16] + struct.pack("!H", csum) + header[18:]


def source_address(family, dst, src):
    if src:
        return src
    probe = socket.socket(family, socket.SOCK_DGRAM)
    probe.connect((dst, 9))
    return probe.getsockname()[0]


def run(args, send_one):
    interval = 1.0 / args.pps if args.pps else 0
    deadline = time.monotonic() + args.duration if args.duration else None
    sent = 0
    start = time.monotonic()
    report = start + 1
    while True:
        if time.monotonic() >= report:
            print("%s: %d sent in %.1f s" % (args.kind, sent, time.monotonic() - start),
                  file=sys.stderr, flush=True)
            report += 1
        if args.count is not None and sent >= args.count:
            break
        if deadline is not None and time.monotonic() >= deadline:
            break
        send_one()
        sent += 1
        # Sleep only when at least 5 ms ahead of schedule: a sleep may take
        # much longer than asked on a busy machine, and the schedule (not
        # the last sleep) decides how many packets are due.
        if interval:
            ahead = start + sent * interval - time.monotonic()
            if ahead > 0.005:
                time.sleep(ahead)
    print(sent)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="kind", required=True)
    for kind in ("udp", "syn"):
        p = sub.add_parser(kind)
        p.add_argument("dst")
        p.add_argument("port", type=int)
        p.add_argument("--src")
        p.add_argument("--size", type=int, default=64)
        p.add_argument("--count", type=int)
        p.add_argument("--duration", type=float)
        p.add_argument("--pps", type=float)
    p = sub.add_parser("frame")
    p.add_argument("iface")
    p.add_argument("hex")
    args = parser.parse_args()

    if args.kind == "frame":
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((args.iface, 0))
        s.send(bytes.fromhex(args.hex))
        print(1)
        return
    if args.count is None and args.duration is None:
        parser.error("give --count or --duration")

    family = socket.AF_INET6 if ":" in args.dst else socket.AF_INET
    if args.kind == "udp":
        s = socket.socket(family, socket.SOCK_DGRAM)
        if args.src:
            s.bind((args.src, 0))
        payload = b"x" * args.size
        run(args, lambda: s.sendto(payload, (args.dst, args.port)))
    else:
        src = source_address(family, args.dst, args.src)
        s = socket.socket(family, socket.SOCK_RAW, socket.IPPROTO_TCP)
        s.bind((src, 0))
        run(args, lambda: s.sendto(tcp_syn(src, args.dst, random.randint(1024, 65535), args.port),
                                   (args.dst, 0)))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
