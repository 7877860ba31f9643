#!/usr/bin/env python3
"""policy_pressure.py - hostile clients of postaged's policy port, for
tests/system/policy_pressure.sh (loopback only, every wait bounded).

  policy_pressure.py idle PORT N PID READY_FILE STOP_FILE RESULT_FILE
      Open N connections and send nothing.  Once postaged (PID) holds at
      least N descriptors more than before (or its count stops growing),
      write READY_FILE; then wait
      until STOP_FILE exists (at most 60 s) and write to RESULT_FILE how
      many of the N postaged closed ("closed K").
  policy_pressure.py real PORT [STOP_FILE]
      One full RCPT request; print the answer's action line, exit 1
      without one (10 s).  With STOP_FILE, keep the connection open (as
      Postfix does) until that file exists (at most 60 s).
  policy_pressure.py junk PORT BLANKS CONNS
      On one connection: BLANKS empty lines (each an empty request that
      postaged answers DUNNO with a warning), then a full request whose
      answer must come.  Then CONNS connections that each send one line
      without '=' (a framing error: postaged warns and closes).  Prints
      "answers A", exit 1 if the final request was not answered.
  policy_pressure.py hostile PORT
      One RCPT request whose helo_name, sender and recipient hold CR
      (not before the LF), ESC, TAB, BEL and DEL; print the answer's action
      line, exit 1 without one.
"""
import os
import select
import socket
import sys
import time

REQUEST = (b"request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
           b"client_address=198.51.100.9\nclient_name=mx.example.net\n"
           b"helo_name=mx.example.net\nsender=alice@example.net\n"
           b"recipient=bob@example.org\ninstance=pressure.1\n\n")


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s


def read_answers(s, want, deadline):
    """Read until `want` answers (each ends with an empty line) came."""
    buf = b""
    s.setblocking(False)
    while buf.count(b"\n\n") < want and time.time() < deadline:
        r, _, _ = select.select([s], [], [], 0.2)
        if not r:
            continue
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, BlockingIOError):
            break
        if not chunk:
            break
        buf += chunk
    return buf


def idle(port, n, pid, ready, stop, result):
    before = fds(pid)
    conns = []
    for _ in range(n):
        conns.append(connect(port))
    # Until postaged holds them all, or (out of descriptors) its count
    # has not grown for 2 s; 30 s at most.
    deadline = time.time() + 30
    last, since = fds(pid), time.time()
    while last < before + n and time.time() < deadline and time.time() - since < 2:
        time.sleep(0.05)
        now = fds(pid)
        if now != last:
            last, since = now, time.time()
    with open(ready, "w") as f:
        f.write("%d %d\n" % (before, fds(pid)))
    deadline = time.time() + 60
    while not os.path.exists(stop) and time.time() < deadline:
        time.sleep(0.05)
    closed = 0
    for s in conns:
        s.setblocking(False)
        try:
            closed += s.recv(1) == b""
        except BlockingIOError:
            pass
        except ConnectionResetError:
            closed += 1
    with open(result, "w") as f:
        f.write("closed %d\n" % closed)


def real(port, stop=None):
    s = connect(port)
    s.sendall(REQUEST)
    buf = read_answers(s, 1, time.time() + 10)
    line = buf.split(b"\n")[0].decode("ascii", "replace")
    print(line, flush=True)
    if stop is not None:
        deadline = time.time() + 60
        while not os.path.exists(stop) and time.time() < deadline:
            time.sleep(0.05)
    return 0 if line.startswith("action=") else 1


def junk(port, blanks, conns):
    s = connect(port)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    # Send in batches and read as we go: postaged stops reading a client
    # that does not read its answers.
    answers = 0
    sent = 0
    deadline = time.time() + 20
    buf = b""
    while sent < blanks and time.time() < deadline:
        batch = min(200, blanks - sent)
        s.sendall(b"\n" * batch)
        sent += batch
        got = read_answers(s, batch, time.time() + 10)
        answers += got.count(b"\n\n")
    s.setblocking(True)
    s.sendall(REQUEST)
    got = read_answers(s, 1, time.time() + 10)
    ok = got.startswith(b"action=")
    answers += got.count(b"\n\n")
    s.close()
    for _ in range(conns):
        c = connect(port)
        c.sendall(b"this line has no equals sign\n")
        read_answers(c, 1, time.time() + 10)   # postaged closes it
        c.close()
    print("answers %d" % answers)
    return 0 if ok else 1


def hostile(port):
    req = (b"request=smtpd_access_policy\nprotocol_state=RCPT\n"
           b"client_address=198.51.100.10\nclient_name=mx.example.net\n"
           b"helo_name=helo\rforged: line\x1b[31m\n"
           b"sender=evil\x07\x7f@example.net\n"
           b"recipient=bob\r\t@example.org\ninstance=hostile.1\n\n")
    s = connect(port)
    s.sendall(req)
    buf = read_answers(s, 1, time.time() + 10)
    line = buf.split(b"\n")[0].decode("ascii", "replace")
    print(line)
    return 0 if line.startswith("action=") else 1


def main(argv):
    if argv[1] == "idle":
        idle(int(argv[2]), int(argv[3]), int(argv[4]), argv[5], argv[6], argv[7])
        return 0
    if argv[1] == "real":
        return real(int(argv[2]), argv[3] if len(argv) > 3 else None)
    if argv[1] == "hostile":
        return hostile(int(argv[2]))
    if argv[1] == "junk":
        return junk(int(argv[2]), int(argv[3]), int(argv[4]))
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
