#!/usr/bin/env python3
"""fake_dns.py - a hostile DNS server for tests/system/fault_dns.sh.

    fake_dns.py PORT LOGFILE

Listens on 127.0.0.1:PORT over UDP and TCP.  How it answers depends on
the label before the last one of the name asked (...MODE.test):

  garbage     UDP: random bytes (1-600 of them)
  wrongid     UDP: a well-formed answer with the ID off by one
  wrongq      UDP: a well-formed answer for another question
  short       UDP: the first 5 bytes of a header only
  silent      never answers (UDP or TCP)
  tcclose     UDP: truncated (TC bit); TCP: accept, read, close
  tcgarbage   UDP: truncated; TCP: a length prefix and random bytes
  tcstall     UDP: truncated; TCP: half a length prefix, then nothing
  tchuge      UDP: truncated; TCP: claims 65535 bytes, sends 20, closes
  anything else: NXDOMAIN, at once

Each query is logged as "TRANSPORT MODE QNAME QTYPE" (flushed), so the test
can check which paths were really taken.  Runs until killed.
"""
import os
import random
import socket
import struct
import sys
import threading

port, logname = int(sys.argv[1]), sys.argv[2]
log_lock = threading.Lock()
logf = open(logname, "a")
rnd = random.Random(53)


def log(*words):
    with log_lock:
        logf.write(" ".join(str(w) for w in words) + "\n")
        logf.flush()


def parse(q):
    """(id, qname, qtype, question bytes) or None."""
    if len(q) < 12:
        return None
    qid = struct.unpack(">H", q[:2])[0]
    i, labels = 12, []
    while i < len(q) and q[i] != 0:
        n = q[i]
        if n & 0xC0 or i + 1 + n > len(q):
            return None
        labels.append(q[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    if i + 5 > len(q):
        return None
    qtype = struct.unpack(">H", q[i + 1:i + 3])[0]
    return qid, ".".join(labels).lower(), qtype, q[12:i + 5]


def mode_of(name):
    labels = name.split(".")
    return labels[-2] if len(labels) >= 2 else ""


def reply(qid, question, flags=0x8180, rcode=0):
    return struct.pack(">HHHHHH", qid & 0xFFFF, flags | rcode, 1, 0, 0, 0) + question


TC = 0x8380


def udp_answer(q):
    p = parse(q)
    if p is None:
        return None
    qid, name, qtype, question = p
    mode = mode_of(name)
    log("udp", mode, name, qtype)
    if mode == "garbage":
        return os.urandom(rnd.randint(1, 600))
    if mode == "wrongid":
        return reply(qid + 1, question)
    if mode == "wrongq":
        other = b"\x05other\x04test\x00" + question[-4:]
        return reply(qid, other)
    if mode == "short":
        return reply(qid, question)[:5]
    if mode == "silent":
        return None
    if mode.startswith("tc"):
        return reply(qid, question, TC)
    return reply(qid, question, rcode=3)


def tcp_client(c):
    try:
        c.settimeout(30)
        hdr = c.recv(2)
        if len(hdr) < 2:
            return
        n = struct.unpack(">H", hdr)[0]
        q = b""
        while len(q) < n:
            b = c.recv(n - len(q))
            if not b:
                return
            q += b
        p = parse(q)
        if p is None:
            return
        qid, name, qtype, question = p
        mode = mode_of(name)
        log("tcp", mode, name, qtype)
        if mode == "tcgarbage":
            junk = os.urandom(rnd.randint(1, 300))
            c.sendall(struct.pack(">H", len(junk)) + junk)
            c.recv(1)
        elif mode == "tcstall" or mode == "silent":
            c.sendall(b"\x00")
            c.recv(1)          # until the client gives up
        elif mode == "tchuge":
            c.sendall(b"\xff\xff" + os.urandom(20))
        elif mode == "tcclose":
            pass
        else:
            r = reply(qid, question, rcode=3)
            c.sendall(struct.pack(">H", len(r)) + r)
    except OSError:
        pass
    finally:
        c.close()


def tcp_loop(ts):
    while True:
        c, _ = ts.accept()
        threading.Thread(target=tcp_client, args=(c,), daemon=True).start()


us = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
us.bind(("127.0.0.1", port))
ts = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ts.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ts.bind(("127.0.0.1", port))
ts.listen(64)
threading.Thread(target=tcp_loop, args=(ts,), daemon=True).start()
log("ready", port)
while True:
    q, addr = us.recvfrom(4096)
    a = udp_answer(q)
    if a is not None:
        us.sendto(a, addr)
