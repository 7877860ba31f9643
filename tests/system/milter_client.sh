#!/bin/sh
# milter_client.sh - tests/system/milter_client, the milter protocol client the
# tests and benchmarks drive postaged's milter with, against postaged
# itself (milter only, a private configuration and store; postage priced at
# 8 bits, greylisting for an hour, no SPF or HELO checks, and an allowance
# high enough that 200 messages raise no rate surcharge):
#   - a message without a stamp is deferred, 451 naming the price;
#   - a stamp for its recipient pays: accepted, X-Postage-Result "paid";
#   - the same stamp again pays nothing: deferred (also with --stop-at eoh);
#   - 200 messages with distinct stamps on one connection: 200 accepted;
#     the same 200 again from a new sender over IPv6: 200 deferred;
#   - a milter that is not listening: exit 1 and a clear error;
#   - usage and input errors: exit 2.
# Then, when python3 is there, against a scripted fake milter: the exact
# command sequence sent, the modifications reported, a milter that closes
# the connection after every message (reconnect), one that stalls (timeout,
# then the next message on a new connection), one that keeps asking for
# time (SMFIR_PROGRESS), and one that answers with a 2 GB packet (error).
. "${top_srcdir:-.}/tests/lib/testlib.sh"

CLIENT="$top_builddir/tests/system/milter_client"
require_built "$POSTAGED" "$MINT" "$CLIENT" "$PDCLIENT"

PORT=$("$PDCLIENT" --free-port)
postaged_conf "milter_listen=inet:127.0.0.1:$PORT" hostname=milter-client.test postage=yes \
    price_base=8 greylist_delay=1h spf=no helo_checks=no price_allowance=1000000
"$POSTAGED" -c "$TMP/postaged.conf" -f 2> "$TMP/postaged.log" &
postaged_pid=$!
kill_at_exit "$postaged_pid"
wait_listen "$PORT" 10 "$postaged_pid" ||
    { fail "postaged did not start: $(cat "$TMP/postaged.log")"; finish; }
SPEC="inet:127.0.0.1:$PORT"
TAB=$(printf '\t')

# client NAME [options]: run the client on $TMP/NAME.in; sets $rc, leaves
# $TMP/NAME.out and $TMP/NAME.err.  (Not at the end of a pipeline: dash
# would run it in a subshell.)
client() {
    _n=$1; shift
    "$CLIENT" --connect "$SPEC" "$@" "$TMP/$_n.in" > "$TMP/$_n.out" 2> "$TMP/$_n.err"
    rc=$?
}
# field N LINE FILE: field N of the result line for input line LINE (the
# first output line for it; modifications follow it).
field() {
    awk -F '\t' -v l="$2" -v f="$1" '$1 == l { print $f; exit }' "$3"
}
show() {
    echo "---- $1.out" >&2; cat "$TMP/$1.out" >&2
    echo "---- $1.err" >&2; cat "$TMP/$1.err" >&2
    echo "---- postaged" >&2; tail -n 5 "$TMP/postaged.log" >&2
}

stamp=$("$MINT" -b 8 -X bob@example.org) || { fail "postage-mint failed"; finish; }
case $stamp in "X-Hashcash: 1:8:"*) ;; *) fail "unexpected stamp: $stamp"; finish ;; esac

# 1. No stamp: greylisted, and the 451 names the price.
printf 'bob@example.org\tSubject: no stamp\n' > "$TMP/nostamp.in"
client nostamp --stats
expect_eq "no stamp: exit status" 0 "$rc"
expect_eq "no stamp: action" tempfail "$(field 2 1 "$TMP/nostamp.out")"
reply=$(field 3 1 "$TMP/nostamp.out")
case $reply in
    "451 4.7.1 "*"with 8 bits for <bob@example.org>"*) ;;
    *) fail "no stamp: the reply does not name the price: '$reply'" ;;
esac
grep -q '^messages 1 accepted 0 tempfail 1 ' "$TMP/nostamp.err" ||
    fail "no stamp: stats: $(cat "$TMP/nostamp.err")"
[ "$failures" -eq 0 ] || show nostamp

# 2. A stamp for the recipient pays: through, with the trace header.
printf 'bob@example.org\tSubject: stamped\t%s\n' "$stamp" > "$TMP/paid.in"
client paid --show-headers
expect_eq "stamp: exit status" 0 "$rc"
case $(field 2 1 "$TMP/paid.out") in
    accept | continue) ;;
    *) fail "stamp: action '$(field 2 1 "$TMP/paid.out")', expected accept or continue"; show paid ;;
esac
trace=$(awk -F '\t' '$1 == 1 && $2 == "header" { print $3 }' "$TMP/paid.out")
case $trace in
    "X-Postage-Result: "*"rcpt=<bob@example.org> paid 8/8"*) ;;
    *) fail "stamp: no X-Postage-Result saying paid: '$trace'"; show paid ;;
esac

# 3. The same stamp again pays nothing.
printf 'bob@example.org\tSubject: stamped again\t%s\n' "$stamp" > "$TMP/replay.in"
client replay
expect_eq "replayed stamp: exit status" 0 "$rc"
expect_eq "replayed stamp: action" tempfail "$(field 2 1 "$TMP/replay.out")"
case $(field 3 1 "$TMP/replay.out") in
    "451-4.7.1 "*"The stamp for <bob@example.org> did not pay: it is already spent"*) ;;
    *) fail "replayed stamp: reply '$(field 3 1 "$TMP/replay.out")'" ;;
esac

# ... and stopping at end of headers gives the same decisions there.  (A
# replay raises the sender's price, so each check from here on comes from
# a client and sender of its own.)
stamp2=$("$MINT" -b 8 -X carol@example.org)
printf 'carol@example.org\t%s\ncarol@example.org\t%s\ncarol@example.org\n' "$stamp2" "$stamp2" \
    > "$TMP/eoh.in"
client eoh --stop-at eoh --client-addr 198.51.100.7 --from eoh@example.net
expect_eq "--stop-at eoh: actions" "continue tempfail tempfail" \
    "$(cut -f 2 "$TMP/eoh.out" | tr '\n' ' ' | sed 's/ $//')"

# 4. 200 messages with distinct stamps, on one connection.  (--quickack:
# against a milter that leaves Nagle on, as libmilter did, each would
# take some 40 ms; see milter_client.c.)
i=0
while [ $i -lt 200 ]; do
    echo "u$i@example.org"
    i=$((i + 1))
done > "$TMP/rcpts200"
# shellcheck disable=SC2046
"$MINT" -b 8 -X $(cat "$TMP/rcpts200") > "$TMP/stamps200" || fail "minting 200 stamps failed"
paste "$TMP/rcpts200" "$TMP/stamps200" > "$TMP/in200"
cp "$TMP/in200" "$TMP/many.in"
client many --stats --quickack --client-addr 203.0.113.7 --from many@example.net
expect_eq "200 messages: exit status" 0 "$rc"
expect_eq "200 messages: result lines" 200 "$(wc -l < "$TMP/many.out" | tr -d ' ')"
expect_eq "200 messages: accepted" 200 "$(cut -f 2 "$TMP/many.out" | grep -cxE 'accept|continue')"
grep -q '^messages 200 accepted 200 .* connections 1 ' "$TMP/many.err" ||
    fail "200 messages: stats: $(cat "$TMP/many.err")"
# The same 200 again, from a new sender (whose price is still 8: the first
# one has earned enough credit to pay nothing), over IPv6: all replays.
cp "$TMP/in200" "$TMP/many_again.in"
client many_again --client-addr 2001:db8::7 --from again@example.net
expect_eq "200 replays: tempfail" 200 "$(cut -f 2 "$TMP/many_again.out" | grep -cx tempfail)"

# 5. Nobody listening: exit 1, saying so.
DEAD=$("$PDCLIENT" --free-port)
echo 'bob@example.org' | "$CLIENT" --connect "inet:127.0.0.1:$DEAD" - > "$TMP/dead.out" 2> "$TMP/dead.err"
expect_eq "no milter: exit status" 1 "$?"
grep -q "cannot connect to inet:127.0.0.1:$DEAD: Connection refused" "$TMP/dead.err" ||
    fail "no milter: stderr: $(cat "$TMP/dead.err")"
expect_eq "no milter: no result lines" "" "$(cat "$TMP/dead.out")"
echo 'bob@example.org' | "$CLIENT" --connect "unix:$TMP/nothing-here" - 2> "$TMP/dead2.err"
expect_eq "no unix socket: exit status" 1 "$?"
grep -q "cannot connect to unix:$TMP/nothing-here" "$TMP/dead2.err" ||
    fail "no unix socket: stderr: $(cat "$TMP/dead2.err")"

# Usage and input errors: exit 2.
"$CLIENT" - < /dev/null 2> /dev/null
expect_eq "no --connect: exit status" 2 "$?"
"$CLIENT" --connect "$SPEC" --bogus - < /dev/null 2> /dev/null
expect_eq "unknown option: exit status" 2 "$?"
"$CLIENT" --connect "$SPEC" --timeout 0 - < /dev/null 2> /dev/null
expect_eq "bad --timeout: exit status" 2 "$?"
printf 'bob@example.org\tno colon here\n' > "$TMP/badline.in"
client badline
expect_eq "header without a colon: exit status" 2 "$rc"
grep -q "badline.in:1: header without a colon" "$TMP/badline.err" ||
    fail "header without a colon: stderr: $(cat "$TMP/badline.err")"
printf '\n# comment\n,bob@example.org\n' > "$TMP/badrcpt.in"
client badrcpt
expect_eq "empty recipient: exit status" 2 "$rc"
grep -q "badrcpt.in:3: empty recipient" "$TMP/badrcpt.err" ||
    fail "empty recipient: stderr: $(cat "$TMP/badrcpt.err")"

# ---- a scripted fake milter -------------------------------------------------
if ! command -v python3 > /dev/null 2>&1; then
    echo "python3 missing: fake-milter checks skipped" >&2
    finish
fi
cat > "$TMP/fake.py" <<'EOF'
# fake milter: MODE PORTFILE TRACEFILE.  Logs every command byte it reads
# (one line per connection), answers continue to everything, accept at end
# of body after asking for an added and an inserted header and quarantine.
import socket, struct, sys, threading, time
mode, portfile, tracefile = sys.argv[1:4]
lock = threading.Lock()
state = {"eoh": 0}
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.bind(("127.0.0.1", 0))
srv.listen(16)

def readn(c, n):
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d:
            return None
        b += d
    return b

def send(c, cmd, data=b""):
    c.sendall(struct.pack(">I", len(data) + 1) + cmd + data)

def serve(c):
    trace = []
    try:
        while True:
            h = readn(c, 4)
            if h is None:
                return
            (n,) = struct.unpack(">I", h)
            p = readn(c, n)
            if p is None:
                return
            cmd, data = p[:1], p[1:]
            if cmd in (b"C", b"H", b"M", b"R", b"L"):
                # the NUL-separated strings, the CONNECT family and port as text
                if cmd == b"C":
                    name, rest = data.split(b"\0", 1)
                    data = name + b"\0" + rest[:1] + b"\0" + str(
                        struct.unpack(">H", rest[1:3])[0]).encode() + b"\0" + rest[3:]
                trace.append(cmd.decode() + "(" + data.rstrip(b"\0").replace(
                    b"\0", b"|").decode("ascii", "backslashreplace") + ")")
            else:
                trace.append(cmd.decode())
            if cmd == b"O":
                send(c, b"O", struct.pack(">III", 6, 0x1FF, 0))
            elif cmd in (b"D", b"A"):
                pass
            elif cmd == b"Q":
                return
            elif cmd == b"R" and mode == "huge":
                c.sendall(struct.pack(">I", 0x7FFFFFFF) + b"c" + b"x" * 1000)
            elif cmd == b"N" and mode == "stall":
                with lock:
                    state["eoh"] += 1
                    first = state["eoh"] == 1
                if first:
                    time.sleep(2)
                    return
                send(c, b"c")
            elif cmd == b"N" and mode == "progress":
                for _ in range(6):
                    time.sleep(0.1)
                    send(c, b"p")
                send(c, b"c")
            elif cmd == b"E":
                send(c, b"h", b"X-Fake\0added\0")
                send(c, b"i", struct.pack(">I", 0) + b"X-Top\0inserted\r\n\tfolded\0")
                send(c, b"q", b"held for review\0")
                send(c, b"a")
                if mode == "close":
                    return
            else:
                send(c, b"c")
    finally:
        with lock:
            with open(tracefile, "a") as f:
                f.write("".join(trace) + "\n")
        c.close()

with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.getsockname()[1]))
import os
os.rename(portfile + ".tmp", portfile)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF

# fake MODE: start the fake milter; sets FAKE (its spec) and TRACE.
fake() {
    TRACE="$TMP/trace.$1"
    rm -f "$TMP/port.$1"
    python3 "$TMP/fake.py" "$1" "$TMP/port.$1" "$TRACE" 2> "$TMP/fake.$1.log" &
    kill_at_exit $!
    _i=0
    until [ -s "$TMP/port.$1" ]; do
        _i=$((_i + 1))
        [ $_i -lt 100 ] || { fail "fake milter $1 did not start: $(cat "$TMP/fake.$1.log")"; finish; }
        sleep 0.05
    done
    FAKE="inet:127.0.0.1:$(cat "$TMP/port.$1")"
}
# wait_trace LINES: until the fake has logged LINES connections (bounded).
wait_trace() {
    _i=0
    while [ "$(cat "$TRACE" 2> /dev/null | wc -l)" -lt "$1" ] && [ $_i -lt 100 ]; do
        _i=$((_i + 1)); sleep 0.05
    done
}

fake plain
printf 'a@example.org,<b@example.org>\tSubject:  one\tX-Two:two\nc@example.org\n' |
    "$CLIENT" --connect "$FAKE" --show-headers --client-addr 198.51.100.9 --helo h.example \
    --from '' - > "$TMP/plain.out" 2> "$TMP/plain.err"
expect_eq "fake: exit status" 0 "$?"
wait_trace 1
# OPTNEG, macros+CONNECT, HELO; per message macros+MAIL, macros+RCPT (x2),
# DATA, HEADER (x2: one space after the colon eaten, as Postfix does), EOH,
# BODY, macros+BODYEOB, ABORT; QUIT.
expect_eq "fake: the command sequence" \
    "OD$(printf 'C([198.51.100.9]|4|0|198.51.100.9)H(h.example)DM(<>)DR(<a@example.org>)DR(<b@example.org>)TL(Subject| one)L(X-Two|two)NBDEADM(<>)DR(<c@example.org>)TNBDEAQ')" \
    "$(cat "$TRACE")"
cat > "$TMP/plain.expected" <<EOF
1${TAB}accept${TAB}
1${TAB}header${TAB}X-Fake: added
1${TAB}header${TAB}X-Top: inserted\\r\\n\\tfolded
1${TAB}quarantine${TAB}held for review
2${TAB}accept${TAB}
2${TAB}header${TAB}X-Fake: added
2${TAB}header${TAB}X-Top: inserted\\r\\n\\tfolded
2${TAB}quarantine${TAB}held for review
EOF
cmp -s "$TMP/plain.expected" "$TMP/plain.out" ||
    { fail "fake: output"; diff "$TMP/plain.expected" "$TMP/plain.out" >&2; }

# A milter that closes the connection after every message: reconnected,
# every message answered.
fake close
printf 'a@example.org\nb@example.org\nc@example.org\n' |
    "$CLIENT" --connect "$FAKE" --stats - > "$TMP/close.out" 2> "$TMP/close.err"
expect_eq "closing milter: exit status" 0 "$?"
expect_eq "closing milter: actions" "accept accept accept" \
    "$(cut -f 2 "$TMP/close.out" | tr '\n' ' ' | sed 's/ $//')"
grep -q ' connections 3 ' "$TMP/close.err" || fail "closing milter: stats: $(cat "$TMP/close.err")"

# A milter that stalls at the first end of headers: that message times
# out, the next goes through on a new connection, exit status 1.
fake stall
printf 'a@example.org\nb@example.org\n' |
    "$CLIENT" --connect "$FAKE" --timeout 300 - > "$TMP/stall.out" 2> "$TMP/stall.err"
expect_eq "stalling milter: exit status" 1 "$?"
expect_eq "stalling milter: actions" "timeout accept" \
    "$(cut -f 2 "$TMP/stall.out" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "stalling milter: timeout text" "no answer within 300 ms" "$(field 3 1 "$TMP/stall.out")"

# SMFIR_PROGRESS restarts the wait: 600 ms of progress notes, 300 ms timeout.
fake progress
echo 'a@example.org' | "$CLIENT" --connect "$FAKE" --timeout 300 - > "$TMP/progress.out" 2>&1
expect_eq "progress: exit status" 0 "$?"
expect_eq "progress: action" accept "$(field 2 1 "$TMP/progress.out")"

# A 2 GB reply packet is refused, not allocated.
fake huge
printf 'a@example.org\nb@example.org\n' |
    "$CLIENT" --connect "$FAKE" - > "$TMP/huge.out" 2> "$TMP/huge.err"
expect_eq "huge reply: exit status" 1 "$?"
expect_eq "huge reply: actions" "error error" "$(cut -f 2 "$TMP/huge.out" | tr '\n' ' ' | sed 's/ $//')"
case $(field 3 1 "$TMP/huge.out") in
    *"2147483647 bytes (more than 64 KiB)"*) ;;
    *) fail "huge reply: error text '$(field 3 1 "$TMP/huge.out")'" ;;
esac

finish
