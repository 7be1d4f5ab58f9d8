#!/usr/bin/env python3
"""A kernel-TCP peer for the kernel lab: plain sockets, so the Linux stack does all the TCP.

Each connection sends --send bytes of random data (then shuts down its write side, unless
--reset-after says to abort) while a second thread reads to end of stream; both directions are
hashed. One JSON line per connection goes to stdout:

  {"role": "server", "conn": 0, "peer": "198.18.1.2:40000", "tx_bytes": N, "tx_sha256": "...",
   "rx_bytes": M, "rx_sha256": "...", "secs": 1.23, "error": null}

The server prints "ready PORT" once it listens. Everything is bounded by --timeout.

  peer.py serve  --bind ADDR --port P [--count N] [--send BYTES] [--reset-after BYTES] [--after-eof] [--timeout S]
  peer.py client --connect ADDR --port P [--count N] [--send BYTES] [--reset-after BYTES] [--timeout S]
"""
import argparse
import hashlib
import json
import os
import socket
import struct
import sys
import threading
import time

CHUNK = 64 * 1024


def run_connection(sock, role, index, args, lock):
    sock.settimeout(args.timeout)
    start = time.monotonic()
    rx = {"bytes": 0, "sha": hashlib.sha256(), "error": None}

    def reader():
        try:
            while True:
                data = sock.recv(CHUNK)
                if not data:
                    return
                rx["bytes"] += len(data)
                rx["sha"].update(data)
        except OSError as e:  # a reset, or the timeout
            rx["error"] = type(e).__name__ + ": " + str(e)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    if args.after_eof:
        # Strict half-close: send only once the other end has half-closed (its FIN has arrived).
        t.join(args.timeout)
    tx_sha = hashlib.sha256()
    sent = 0
    error = None
    try:
        limit = args.send if args.reset_after < 0 else min(args.send, args.reset_after)
        while sent < limit:
            block = os.urandom(min(CHUNK, limit - sent))
            sock.sendall(block)
            tx_sha.update(block)
            sent += len(block)
        if args.reset_after >= 0:
            # SO_LINGER {on, 0}: close() sends RST and discards unsent data (RFC 9293 §3.10.5 ABORT).
            # The reader thread must leave recv() first: while a syscall holds the socket, close()
            # only drops the descriptor and no RST goes out. SHUT_RD wakes it without a packet.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.shutdown(socket.SHUT_RD)
            t.join(args.timeout)
            rx["error"] = None
            sock.close()
        else:
            sock.shutdown(socket.SHUT_WR)
    except OSError as e:
        error = type(e).__name__ + ": " + str(e)
    t.join(args.timeout)
    if t.is_alive():
        error = error or "reader still running after %ss" % args.timeout
    secs = time.monotonic() - start
    try:
        peer = "%s:%d" % sock.getpeername()
    except OSError:
        peer = "?"
    try:
        sock.close()
    except OSError:
        pass
    line = json.dumps({"role": role, "conn": index, "peer": peer, "tx_bytes": sent,
                       "tx_sha256": tx_sha.hexdigest(), "rx_bytes": rx["bytes"],
                       "rx_sha256": rx["sha"].hexdigest(), "secs": round(secs, 6),
                       "error": error or rx["error"]})
    with lock:
        print(line, flush=True)


def serve(args):
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((args.bind, args.port))
    lsock.listen(max(args.count, 16))
    lsock.settimeout(args.timeout)
    print("ready %d" % lsock.getsockname()[1], flush=True)
    lock = threading.Lock()
    threads = []
    for i in range(args.count):
        try:
            conn, _ = lsock.accept()
        except OSError as e:
            print(json.dumps({"role": "server", "conn": i, "error": "accept: %s" % e}), flush=True)
            return 1
        th = threading.Thread(target=run_connection, args=(conn, "server", i, args, lock), daemon=True)
        th.start()
        threads.append(th)
    for th in threads:
        th.join(args.timeout)
    return 0


def client(args):
    lock = threading.Lock()
    threads = []

    def one(i):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(args.timeout)
        try:
            s.connect((args.connect, args.port))
        except OSError as e:
            with lock:
                print(json.dumps({"role": "client", "conn": i, "error": "connect: %s" % e}), flush=True)
            return
        run_connection(s, "client", i, args, lock)

    for i in range(args.count):
        th = threading.Thread(target=one, args=(i,), daemon=True)
        th.start()
        threads.append(th)
    for th in threads:
        th.join(args.timeout)
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["serve", "client"])
    p.add_argument("--bind", default="0.0.0.0")
    p.add_argument("--connect")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--send", type=int, default=0)
    p.add_argument("--reset-after", type=int, default=-1)
    p.add_argument("--after-eof", action="store_true",
                   help="read to end of stream before sending (the peer half-closes first)")
    p.add_argument("--timeout", type=float, default=120.0)
    args = p.parse_args()
    return serve(args) if args.mode == "serve" else client(args)


if __name__ == "__main__":
    sys.exit(main())
