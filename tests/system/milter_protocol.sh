#!/bin/sh
# milter_protocol.sh - postaged's own milter protocol (no libmilter), driven
# by tests/system/milter_client:
#   - negotiation: no reply asked for connect, HELO, headers and body
#     chunks (SMFIP_NR_*), none skipped that postaged answers (MAIL, RCPT,
#     end of headers), DATA and unknown commands not sent;
#   - no reply is sent for a stage negotiated without one: --strict finds
#     no stray reply before postaged closes after QUIT;
#   - connection reuse (SMFIC_QUIT_NC, then a new CONNECT on the same
#     connection): every client's messages answered, one connection;
#   - a refusal at a header (too many forged Authentication-Results) while
#     headers get no reply: given at end of headers, with its text;
#   - hostile packets (--raw): an oversized or zero length, an unknown
#     command, commands out of order, a truncated packet, a malformed
#     connect: each logged and the connection closed, and postaged serves
#     the next client;
#   - 20 MTA connections open at once: all served (threads are not
#     limited to the idle ones kept), and once they end at most 8 threads
#     stay for the next connections;
#   - a unix socket: served, and its file removed when postaged stops with
#     an MTA still connected (served by the thread its first client left).
. "${top_srcdir:-.}/tests/lib/testlib.sh"

CLIENT="$top_builddir/tests/system/milter_client"
require_built "$POSTAGED" "$CLIENT" "$PDCLIENT"

PORT=$("$PDCLIENT" --free-port)
postaged_conf "milter_listen=inet:127.0.0.1:$PORT" hostname=milter-proto.test \
    greylist_delay=1h spf=no helo_checks=no greylist_whitelist_clients=192.0.2.10
"$POSTAGED" -c "$TMP/postaged.conf" -f -v 2> "$TMP/postaged.log" &
postaged_pid=$!
kill_at_exit "$postaged_pid"
wait_listen "$PORT" 10 "$postaged_pid" ||
    { fail "postaged did not start: $(cat "$TMP/postaged.log")"; finish; }
SPEC="inet:127.0.0.1:$PORT"
show() {
    echo "---- $1" >&2; cat "$TMP/$1" >&2
    echo "---- postaged" >&2; tail -n 20 "$TMP/postaged.log" >&2
}

# Negotiation, and three messages with --strict: greylisted (not
# whitelisted), whitelisted (added header), and one more.
printf 'a@example.org\tSubject: one\tX-Two: two\n' > "$TMP/grey.in"
"$CLIENT" --connect "$SPEC" --client-addr 198.51.100.7 --strict --verbose --show-headers \
    "$TMP/grey.in" > "$TMP/grey.out" 2> "$TMP/grey.err"
expect_eq "strict, greylisted: exit status" 0 "$?"
expect_eq "strict, greylisted: answer" tempfail "$(cut -f 2 "$TMP/grey.out")"
flags=$(sed -n 's/^milter_client: negotiated .*(\(.*\))$/\1/p' "$TMP/grey.err" | tr ',' ' ')
for f in NR_CONN NR_HELO NR_HDR NR_BODY NODATA NOUNKNOWN; do
    case " $flags " in *" $f "*) ;; *) fail "negotiation: $f not asked for: '$flags'"; show grey.err ;; esac
done
for f in NR_MAIL NR_RCPT NR_EOH NOCONNECT NOHELO NOMAIL NORCPT NOHDRS NOEOH NOBODY; do
    case " $flags " in *" $f "*) fail "negotiation: $f asked for: '$flags'" ;; esac
done
grep -q 'negotiated version 6 actions 0x031 ' "$TMP/grey.err" ||
    { fail "negotiation: version or actions"; show grey.err; }

printf 'b@example.org\tSubject: one\tX-Two: two\nc@example.org,d@example.org\tSubject: two\n' > "$TMP/white.in"
"$CLIENT" --connect "$SPEC" --client-addr 192.0.2.10 --strict --show-headers --stats \
    "$TMP/white.in" > "$TMP/white.out" 2> "$TMP/white.err"
expect_eq "strict, whitelisted: exit status" 0 "$?"
expect_eq "strict, whitelisted: answers" "continue continue" \
    "$(awk -F '\t' '$2 != "header" { print $2 }' "$TMP/white.out" | tr '\n' ' ' | sed 's/ $//')"
grep -q ' connections 1 ' "$TMP/white.err" || { fail "strict: connections"; show white.err; }

# Connection reuse: QUIT_NC after each message, a new CONNECT and HELO on
# the same connection; the second and third clients are whitelisted, the
# first is not.  Each message is decided for its own client.
printf 'e@example.org\nf@example.org\ng@example.org\n' > "$TMP/reuse.in"
"$CLIENT" --connect "$SPEC" --client-addr 198.51.100.8 --reuse --strict --stats \
    "$TMP/reuse.in" > "$TMP/reuse.out" 2> "$TMP/reuse.err"
expect_eq "reuse: exit status" 0 "$?"
expect_eq "reuse: answers" "tempfail tempfail tempfail" \
    "$(cut -f 2 "$TMP/reuse.out" | tr '\n' ' ' | sed 's/ $//')"
grep -q ' connections 1 ' "$TMP/reuse.err" || { fail "reuse: connections"; show reuse.err; }
"$CLIENT" --connect "$SPEC" --client-addr 192.0.2.10 --reuse --strict --stats \
    "$TMP/reuse.in" > "$TMP/reuse2.out" 2> "$TMP/reuse2.err"
expect_eq "reuse, whitelisted: exit status" 0 "$?"
expect_eq "reuse, whitelisted: answers" "continue continue continue" \
    "$(cut -f 2 "$TMP/reuse2.out" | tr '\n' ' ' | sed 's/ $//')"
grep -q ' connections 1 ' "$TMP/reuse2.err" || { fail "reuse, whitelisted: connections"; show reuse2.err; }
[ "$(grep -c 'milter RCPT: client=unknown\[198.51.100.8\] .* to=<[efg]@example.org>' \
    "$TMP/postaged.log")" -eq 3 ] || { fail "reuse: three RCPT decisions for 198.51.100.8"; show reuse.out; }

# More forged Authentication-Results than postaged removes: refused at a
# header, which takes no reply, so at end of headers, with the text.
awk 'BEGIN { printf "h@example.org"
             for (i = 0; i < 4097; i++) printf "\tAuthentication-Results: milter-proto.test; spf=pass"
             printf "\n" }' > "$TMP/forged.in"
"$CLIENT" --connect "$SPEC" --client-addr 192.0.2.10 --strict "$TMP/forged.in" \
    > "$TMP/forged.out" 2> "$TMP/forged.err"
expect_eq "forged: exit status" 0 "$?"
expect_eq "forged: answer" "reject	554 5.7.1 Too many forged Authentication-Results headers" \
    "$(cut -f 2,3 "$TMP/forged.out")"

# Hostile packets.  OPTNEG as Postfix sends it: version 6, all actions,
# all protocol flags.
optneg='\000\000\000\015O\000\000\000\006\000\000\001\377\000\037\377\377'
raw() {
    printf "$2" > "$TMP/raw.$1.in"
    "$CLIENT" --connect "$SPEC" --timeout 5000 --raw "$TMP/raw.$1.in" > "$TMP/raw.$1.out" 2>&1
    expect_eq "raw $1: exit status" 0 "$?"
    expect_eq "raw $1: replies" "$3" "$(tr '\n' ' ' < "$TMP/raw.$1.out" | sed 's/ $//')"
    grep -q "milter: MTA 127.0.0.1:[0-9]*: $4" "$TMP/postaged.log" ||
        { fail "raw $1: no log line '$4'"; show "raw.$1.out"; }
}
raw oversize '\177\377\377\377O' "closed" "a packet of 2147483647 bytes (at most 65536); closing"
raw toolong "${optneg}\000\001\000\002C" "reply O closed" "a packet of 65538 bytes"
raw zero '\000\000\000\000' "closed" "a packet of 0 bytes"
raw unknown "${optneg}\000\000\000\001Z" "reply O closed" "unknown command 'Z'; closing"
raw control "${optneg}\000\000\000\001\001" "reply O closed" "unknown command 0x01; closing"
raw first '\000\000\000\001N' "closed" "command 'N' out of order; closing"
raw order "${optneg}\000\000\000\004Cx\000U\000\000\000\005R<a>\000" "reply O closed" \
    "command 'R' out of order; closing"
raw truncated "${optneg}\000\000\000\020Cabc" "reply O closed" \
    "the MTA closed the connection inside a packet; closing"
raw optneg '\000\000\000\005O\000\000\000\006' "closed" "option negotiation of 4 bytes"
raw connect "${optneg}\000\000\000\015Cname\0004\000\000x.y\000" "reply O closed" \
    "connect: the client address is not an IPv4 address"
raw header "${optneg}\000\000\000\007Cname\000U\000\000\000\004M<>\000\000\000\000\005Lname" \
    "reply O reply c closed" "header: malformed"
kill -0 "$postaged_pid" 2> /dev/null || fail "postaged died on hostile packets"

echo 'i@example.org' | "$CLIENT" --connect "$SPEC" --client-addr 192.0.2.10 --strict - \
    > "$TMP/after.out" 2> "$TMP/after.err"
expect_eq "after hostile packets: exit status" 0 "$?"
expect_eq "after hostile packets: answer" continue "$(cut -f 2 "$TMP/after.out")"

# 20 connections at once, each negotiated before any sends its message
# (its input waits for the file "go"): one thread each, though at most 8
# are kept idle between connections; when they end, the threads beyond
# those 8 end too.
threads() { ls "/proc/$postaged_pid/task" | wc -l; }
base_threads=$(threads)
base_neg=$(grep -c 'milter: MTA 127.0.0.1:[0-9]*: version 6' "$TMP/postaged.log")
burst_pids=''
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    ( _j=0; while [ ! -e "$TMP/go" ] && [ $_j -lt 300 ]; do _j=$((_j + 1)); sleep 0.1; done
      echo "burst$i@example.org" ) |
        "$CLIENT" --connect "$SPEC" --client-addr 192.0.2.10 --strict - \
            > "$TMP/burst$i.out" 2> "$TMP/burst$i.err" &
    burst_pids="$burst_pids $!"
    kill_at_exit "$!"
done
_i=0
until [ $(($(grep -c 'milter: MTA 127.0.0.1:[0-9]*: version 6' "$TMP/postaged.log") - base_neg)) \
        -ge 20 ]; do
    _i=$((_i + 1)); [ $_i -lt 300 ] || break; sleep 0.1
done
expect_eq "burst: connections negotiated at once" 20 \
    $(($(grep -c 'milter: MTA 127.0.0.1:[0-9]*: version 6' "$TMP/postaged.log") - base_neg))
touch "$TMP/go"
burst_ok=0
for p in $burst_pids; do wait "$p" && burst_ok=$((burst_ok + 1)); done
expect_eq "burst: clients that ended well" 20 "$burst_ok"
burst_cont=$(cat "$TMP"/burst*.out | cut -f 2 | grep -c '^continue$')
expect_eq "burst: messages answered" 20 "$burst_cont"
# Threads end as they find 8 idle already: wait for it, bounded.
_i=0
while [ "$(threads)" -gt $((base_threads + 8)) ] && [ $_i -lt 300 ]; do
    _i=$((_i + 1)); sleep 0.1
done
[ "$(threads)" -le $((base_threads + 8)) ] ||
    fail "burst: $(threads) threads left, more than the $base_threads before and 8 idle"
echo 'l@example.org' | "$CLIENT" --connect "$SPEC" --client-addr 192.0.2.10 --strict - \
    > "$TMP/afterburst.out" 2> "$TMP/afterburst.err"
expect_eq "after the burst: exit status" 0 "$?"
expect_eq "after the burst: answer" continue "$(cut -f 2 "$TMP/afterburst.out")"

# A unix socket: served the same (no TCP options to set), and its file
# removed when postaged stops on SIGTERM, with a client still connected.
postaged_conf -o "$TMP/unix.conf" "milter_listen=unix:$TMP/milter.sock" \
    "store=lmdb:$TMP/unix-state" hostname=milter-proto.test greylist_delay=1h spf=no \
    helo_checks=no greylist_whitelist_clients=192.0.2.10
"$POSTAGED" -c "$TMP/unix.conf" -f -v 2> "$TMP/unix.log" &
unix_pid=$!
kill_at_exit "$unix_pid"
_i=0
while [ ! -S "$TMP/milter.sock" ] && [ $_i -lt 100 ]; do _i=$((_i + 1)); sleep 0.1; done
echo 'j@example.org' | "$CLIENT" --connect "unix:$TMP/milter.sock" --client-addr 192.0.2.10 \
    --strict --reuse - > "$TMP/unix.out" 2> "$TMP/unix.err"
expect_eq "unix socket: exit status" 0 "$?"
expect_eq "unix socket: answer" continue "$(cut -f 2 "$TMP/unix.out")"
# an MTA that stays connected, silent, while postaged stops (its input, a
# FIFO held open, gives no message until the stop is over)
mkfifo "$TMP/idle.fifo"
"$CLIENT" --connect "unix:$TMP/milter.sock" --timeout 60000 "$TMP/idle.fifo" \
    > "$TMP/idle.out" 2>&1 &
idle_pid=$!
kill_at_exit "$idle_pid"
exec 3> "$TMP/idle.fifo"
_i=0
until [ "$(grep -c 'milter: MTA unix: version 6' "$TMP/unix.log")" -ge 2 ]; do
    _i=$((_i + 1)); [ $_i -lt 100 ] || break; sleep 0.1
done
kill -TERM "$unix_pid"
wait "$unix_pid"
expect_eq "unix socket: exit status of postaged on SIGTERM" 0 "$?"
exec 3>&-
wait "$idle_pid"
[ -e "$TMP/milter.sock" ] && fail "unix socket: the socket file is left after the stop"
grep -q 'postaged: info: stopped' "$TMP/unix.log" || { fail "unix socket: no 'stopped'"; show unix.log; }

finish
