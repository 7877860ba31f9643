#!/bin/sh
# redis_round_trips.sh - how many round trips to Redis one message costs
# through postaged's milter (issue 18: "one round trip per message"): a
# count, read from the server's own counters, never a time.
#
# Each message carries one stamp that pays for its one recipient (the
# sender's host is pinned at 1 bit), so it takes the whole postage path:
# price at RCPT, quote, spend, attempt mark at end of headers, and the reputation writer's updates after.  Redis's INFO stats
# total_reads_processed counts the reads of client requests the server
# made: a command, or a pipeline written at once, is one.  Two INFO calls
# with nothing in between give what the counting itself costs.
#
# The request path costs 4: MGET (both records, for the price), MGET
# (quotes), SET NX (the spend, which with one stamp for one recipient also
# tells a replay: no look-up before it), then EVALSHA (the attempt mark's
# script).  The reputation writer adds 2 per batch (WATCH+MGET,
# MULTI..EXEC), and a message queues 4 updates, which it may take in 1 to
# 4 batches: at most 12 per message.  (The script's first run loads it:
# SCRIPT LOAD and EVAL in one pipeline, still one round trip.)  Before the pipelines
# (issue 18) one message cost 30.  Also checks that every stamp was spent
# exactly once and the reputation writer kept up (the records show the
# messages).
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/lib/redis_harness.sh"

MC="$top_builddir/tests/system/milter_client"
require_built "$POSTAGED" "$MINT" "$REPUTATION" "$MC"
redis_start || { fail "redis-server did not start"; finish; }
STORE="redis://127.0.0.1:$REDIS_PORT/0?prefix=rt:"
MESSAGES=5
MAX_PER_MESSAGE=12
REQUEST_PATH=4

port=$(free_port)
postaged_conf "milter_listen=inet:127.0.0.1:$port" "store=$STORE" spf=no helo_checks=no \
    greylist_delay=1h
"$POSTAGED" -c "$TMP/postaged.conf" -f 2> "$TMP/postaged.log" &
pid=$!
kill_at_exit "$pid"
wait_listen "$port" 10 "$pid" || { cat "$TMP/postaged.log" >&2; fail "postaged did not start"; finish; }
"$REPUTATION" -c "$TMP/postaged.conf" pin ip:192.0.2.10 1 > /dev/null ||
    { fail "pinning the host"; finish; }

i=0
while [ $i -lt $MESSAGES ]; do i=$((i + 1)); echo "r$i@example.test"; done > "$TMP/rcpts"
# shellcheck disable=SC2046
"$MINT" -j 1 -b 1 $(cat "$TMP/rcpts") | paste "$TMP/rcpts" - |
    sed 's/\t/\tX-Hashcash: /' > "$TMP/messages"

reads() {
    redis_cli "$REDIS_PORT" INFO stats | tr -d '\r' | sed -n 's/^total_reads_processed://p'
}
# The reputation writer has applied everything: the host's record counts
# $1 messages (a record the writer has not written yet shows 0).
writer_done() {
    "$REPUTATION" -c "$TMP/postaged.conf" show ip:192.0.2.10 2>/dev/null |
        grep -Eq "messages:? *$1\b"
}
# What the counting costs: reading the counter (redis-cli), and one
# `show` of the record.
a=$(reads); b=$(reads)
overhead=$((b - a))
a=$(reads); writer_done 0; b=$(reads)
show=$((b - a - overhead))
i=0
while [ $i -lt $MESSAGES ]; do
    i=$((i + 1))
    sed -n "${i}p" "$TMP/messages" > "$TMP/one"
    a=$(reads)
    "$MC" --connect "inet:127.0.0.1:$port" --client-addr 192.0.2.10 --from s@sender.example \
        --stop-at eoh "$TMP/one" > "$TMP/out.$i" || fail "message $i: milter_client failed"
    grep -q "	continue	" "$TMP/out.$i" || fail "message $i was not taken: $(cat "$TMP/out.$i")"
    n=0
    until writer_done "$i"; do
        n=$((n + 1))
        [ $n -lt 100 ] || { fail "message $i: the reputation writer did not record it"; break; }
        sleep 0.1
    done
    b=$(reads)
    trips=$((b - a - overhead - (n + 1) * show))
    echo "message $i: $trips round trips to Redis"
    [ "$trips" -ge "$REQUEST_PATH" ] || fail "message $i: $trips round trips, fewer than the request path's $REQUEST_PATH: is the count wrong?"
    [ "$trips" -le "$MAX_PER_MESSAGE" ] || fail "message $i: $trips round trips, over $MAX_PER_MESSAGE"
done
# Every stamp spent exactly once: the keys of the double-spend store
# (binary: counted by the server, not by lines).
spent=$(redis_cli "$REDIS_PORT" EVAL "return #redis.call('KEYS', ARGV[1])" 0 'rt:s:*')
[ "$spent" = "$MESSAGES" ] || fail "$spent stamps spent, $MESSAGES expected"
finish
