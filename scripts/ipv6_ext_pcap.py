#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""ipv6_ext_pcap.py OUT.pcap [CLIENT] - IPv6 flows behind extension headers.

Writes a capture (Ethernet, microsecond pcap) of short TCP and UDP flows,
each carried behind one IPv6 extension-header chain: hop-by-hop options,
routing, fragment (first fragments, offset 0, and their second halves),
AH, destination options, and two chains of several. Every packet of a
flow has the same chain, in both directions, and carries payload, so
every flow is escalated to the workers (selftests/test_workers.sh).

The flows run between CLIENT (default 2001:db8:e1::10; a test that needs
flows of its own gives another) and SERVER below. Prints one line per
flow: "proto client-port server-port chain". Standard library only.
"""
import struct
import sys

HOPOPTS, ROUTING, FRAGMENT, AH, DSTOPTS = 0, 43, 44, 51, 60
TCP, UDP = 6, 17

# name, chain: each flow's extension headers, outermost first
CHAINS = [
    ("hop-by-hop", [HOPOPTS]),
    ("routing", [ROUTING]),
    ("fragment", [FRAGMENT]),
    ("ah", [AH]),
    ("dstopts", [DSTOPTS]),
    ("dstopts+routing+fragment+ah+dstopts",
     [DSTOPTS, ROUTING, FRAGMENT, AH, DSTOPTS]),
    ("hop-by-hop+dstopts+routing+ah+fragment",
     [HOPOPTS, DSTOPTS, ROUTING, AH, FRAGMENT]),
]
PACKETS_PER_FLOW = 6  # alternating directions, client first
CLIENT = "2001:db8:e1::10"
SERVER = "2001:db8:e2::20"
MAC_CLIENT = bytes.fromhex("020000e10010")
MAC_SERVER = bytes.fromhex("020000e20020")


def addr6(text):
    """inet_pton for the plain forms used here (a::b)."""
    head, _, tail = text.partition("::")
    h = [int(x, 16) for x in head.split(":") if x]
    t = [int(x, 16) for x in tail.split(":") if x]
    return struct.pack("!8H", *(h + [0] * (8 - len(h) - len(t)) + t))


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def l4_segment(proto, src, dst, sport, dport, seq, ack, payload):
    if proto == TCP:
        hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4,
                          0x18, 65535, 0, 0)  # PSH|ACK
        cpos = 16
    else:
        hdr = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
        cpos = 6
    seg = hdr + payload
    pseudo = src + dst + struct.pack("!IxxxB", len(seg), proto)
    c = csum(pseudo + seg) or 0xffff
    return seg[:cpos] + struct.pack("!H", c) + seg[cpos + 2:]


def ext_header(kind, nxt, frag_off=0, ident=0):
    if kind == FRAGMENT:
        return struct.pack("!BBHI", nxt, 0, frag_off, ident)
    if kind == AH:  # 24 bytes: SPI, sequence, 12-byte ICV
        return struct.pack("!BBHII", nxt, 24 // 4 - 2, 0, 0x100, 1) + \
            b"\xa5" * 12
    if kind == ROUTING:  # type 0, segments left 0: ignored by routers
        return struct.pack("!BBBB", nxt, 24 // 8 - 1, 0, 0) + b"\0" * 20
    # hop-by-hop, destination options: a PadN option fills 16 bytes
    return struct.pack("!BBBB", nxt, 16 // 8 - 1, 1, 12) + b"\0" * 12


def ipv6_packets(chain, proto, src, dst, l4, ident):
    """The datagram; with a fragment header, its two fragments."""
    frag = FRAGMENT in chain
    if frag:
        # what follows the fragment header is fragmentable: cut the L4
        # data in two at an 8-byte boundary behind the L4 header
        i = chain.index(FRAGMENT)
        unfrag, fragable = chain[:i], chain[i + 1:]
    else:
        unfrag, fragable = chain, []
    tail = b""
    kinds = fragable + [proto]
    for k, nxt in zip(reversed(fragable), reversed(kinds[1:])):
        tail = ext_header(k, nxt) + tail
    tail += l4
    pieces = [(0, tail)]
    if frag:
        cut = (len(tail) // 2 + 7) & ~7
        if cut >= len(tail):
            cut = len(tail) - (len(tail) % 8 or 8)
        pieces = [(0, tail[:cut]), (cut, tail[cut:])]
    out = []
    for n, (off, piece) in enumerate(pieces):
        body = piece
        if frag:
            more = 1 if n + 1 < len(pieces) else 0
            first_next = fragable[0] if fragable else proto
            body = ext_header(FRAGMENT, first_next, off | more, ident) + body
        kinds = unfrag + [FRAGMENT if frag else proto]
        for k, nxt in zip(reversed(unfrag), reversed(kinds[1:])):
            body = ext_header(k, nxt) + body
        first = kinds[0]
        ip = struct.pack("!IHBB", 6 << 28, len(body), first, 64) + src + dst
        out.append(ip + body)
    return out


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    client = sys.argv[2] if len(sys.argv) == 3 else CLIENT
    src, dst = addr6(client), addr6(SERVER)
    frames = []
    ident = 0x1000
    for c, (name, chain) in enumerate(CHAINS):
        for proto in (TCP, UDP):
            cport = 41000 + c * 2 + (proto == UDP)
            sport = 7000 + c if proto == TCP else 7100 + c
            print("%s %d %d %s" % ("tcp" if proto == TCP else "udp",
                                   cport, sport, name))
            seq = [1000, 5000]
            for n in range(PACKETS_PER_FLOW):
                back = n % 2
                payload = (b"%s %s packet %d " % (name.encode(),
                           b"tcp" if proto == TCP else b"udp", n)) * 4
                s, d = (dst, src) if back else (src, dst)
                ps, pd = (sport, cport) if back else (cport, sport)
                l4 = l4_segment(proto, s, d, ps, pd, seq[back],
                                seq[1 - back], payload)
                seq[back] += len(payload)
                ident += 1
                for ip in ipv6_packets(chain, proto, s, d, l4, ident):
                    eth = (MAC_CLIENT + MAC_SERVER) if back else \
                        (MAC_SERVER + MAC_CLIENT)
                    frames.append(eth + struct.pack("!H", 0x86DD) + ip)
    with open(sys.argv[1], "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, frame in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000, i * 1000,
                                len(frame), len(frame)))
            f.write(frame)


if __name__ == "__main__":
    main()
