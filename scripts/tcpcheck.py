#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tcpcheck.py - a real TCP client and server for lab tests, with exact results.

  tcpcheck.py serve ADDR PORT [--backlog N]
  tcpcheck.py connect ADDR PORT [-n N | --duration S] [--bytes B]
                      [--timeout S] [--interval S] [--source ADDR]
                      [--max-failures K] [-j [--samples]]

serve is an echo server: every connection it accepts gets back, byte for
byte, what it sent, until it closes its side. listen() gets --backlog
(default 128), the bound on the kernel's SYN and accept queues.

connect opens N connections one after the other (or as many as fit in
--duration seconds, --interval apart; or until K of them have failed,
with --max-failures). Each one connects, sends B random bytes (default
64 KB), half-closes, reads the echo to EOF and compares it with what it
sent; all of it within --timeout seconds (default 10), or the connection
counts as failed. It reports attempts, connections made, connections whose
data came back intact, failures (the first few errors), and the connect
latency (the time connect() took, SYN to established, in ms): median, p99,
max.
With --samples the JSON report also lists every connect latency, sorted
(connect_ms_all), so that runs can be pooled. Exit status 0 only if every
attempt came back intact.
"""
import argparse
import json
import os
import socket
import sys
import threading
import time


def echo(conn):
    with conn:
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                conn.sendall(data)
        except OSError:
            pass


def serve(args):
    family = socket.AF_INET6 if ":" in args.addr else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((args.addr, args.port))
    s.listen(args.backlog)
    print("tcpcheck: echo server on %s port %d, backlog %d" % (args.addr, args.port, args.backlog),
          flush=True)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=echo, args=(conn,), daemon=True).start()


def one_connection(args, family):
    """Returns (connect seconds or None, error or None)."""
    payload = os.urandom(args.bytes)
    s = socket.socket(family, socket.SOCK_STREAM)
    deadline = time.monotonic() + args.timeout
    connect_s = None
    try:
        if args.source:
            s.bind((args.source, 0))
        s.settimeout(args.timeout)
        t0 = time.perf_counter()
        s.connect((args.addr, args.port))
        connect_s = time.perf_counter() - t0
        s.settimeout(max(deadline - time.monotonic(), 0.001))
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        received = bytearray()
        while True:
            s.settimeout(max(deadline - time.monotonic(), 0.001))
            data = s.recv(65536)
            if not data:
                break
            received += data
        if bytes(received) != payload:
            return connect_s, "echo differs: sent %d bytes, got %d back%s" % (
                len(payload), len(received),
                "" if len(received) != len(payload) else " (same length, other bytes)")
        return connect_s, None
    except OSError as e:
        phase = "connect" if connect_s is None else "transfer"
        return connect_s, "%s: %s" % (phase, e.strerror or e)
    finally:
        s.close()


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    # Nearest rank: the smallest value with at least p % at or below it.
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def connect(args):
    family = socket.AF_INET6 if ":" in args.addr else socket.AF_INET
    start = time.monotonic()
    attempts = connected = intact = 0
    errors = []
    latencies = []
    while True:
        if args.count is not None and attempts >= args.count:
            break
        if args.duration is not None and time.monotonic() - start >= args.duration:
            break
        if args.max_failures is not None and attempts - intact >= args.max_failures:
            break
        attempts += 1
        connect_s, error = one_connection(args, family)
        if connect_s is not None:
            connected += 1
            latencies.append(connect_s * 1000)
        if error is None:
            intact += 1
        elif len(errors) < 5:
            errors.append("#%d: %s" % (attempts, error))
        if args.interval:
            time.sleep(args.interval)
    latencies.sort()
    result = {
        "attempts": attempts,
        "connected": connected,
        "intact": intact,
        "failed": attempts - intact,
        "bytes": args.bytes,
        "errors": errors,
        "connect_ms": {
            "median": percentile(latencies, 50),
            "p99": percentile(latencies, 99),
            "max": latencies[-1] if latencies else None,
        },
        "seconds": round(time.monotonic() - start, 3),
    }
    if args.samples:
        result["connect_ms_all"] = [round(v, 3) for v in latencies]
    if args.json:
        print(json.dumps(result))
    else:
        ms = result["connect_ms"]
        print("%d attempts, %d connected, %d intact (%d bytes each way), %d failed" %
              (attempts, connected, intact, args.bytes, attempts - intact))
        if latencies:
            print("connect ms: median %.3f, p99 %.3f, max %.3f" % (ms["median"], ms["p99"], ms["max"]))
        for e in errors:
            print("  " + e)
    return 0 if attempts > 0 and intact == attempts else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="kind", required=True)
    p = sub.add_parser("serve")
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("--backlog", type=int, default=128)
    p = sub.add_parser("connect")
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("-n", "--count", type=int)
    p.add_argument("--duration", type=float)
    p.add_argument("--bytes", type=int, default=65536)
    p.add_argument("--timeout", type=float, default=10)
    p.add_argument("--interval", type=float, default=0)
    p.add_argument("--source")
    p.add_argument("--max-failures", type=int)
    p.add_argument("--samples", action="store_true")
    p.add_argument("-j", "--json", action="store_true")
    args = parser.parse_args()
    if args.kind == "serve":
        serve(args)
        return 0
    if args.count is None and args.duration is None:
        args.count = 1
    return connect(args)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
