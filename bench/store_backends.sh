#!/bin/sh
# store_backends.sh - spends per second and latency, LMDB beside Redis, in
# one run on this machine:
#   1. the library path (bench/bench_spend: postage_check with a store),
#      one thread and two;
#   2. through postaged's milter (tests/system/milter_client --stats): each
#      message carries one stamp for its recipient, which postaged checks,
#      finds unspent and spends at end of headers.
# Redis is a private redis-server on a loopback port (no persistence,
# like LMDB with its default sync); LMDB is a fresh directory.  A measuring
# tool, not a test: nothing is asserted.
#   BENCH_SPENDS (default 20000) library spends per run;
#   BENCH_MESSAGES (default 5000) messages through postaged.
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/lib/redis_harness.sh"

B=${top_builddir:-.}
SPENDS=${BENCH_SPENDS:-20000}
MESSAGES=${BENCH_MESSAGES:-5000}
for p in "$B/bench/bench_spend" "$B/postaged" "$B/postage-mint" "$B/postage-reputation" \
    "$B/tests/system/milter_client"; do
    [ -x "$p" ] || { echo "store_backends.sh: $p not built (make; make check builds tests/system/)" >&2; exit 1; }
done
redis_start || { echo "store_backends.sh: redis-server did not start" >&2; exit 1; }
REDIS="redis://127.0.0.1:$REDIS_PORT/0?prefix=bench:"

echo "-- library path, $SPENDS spends per thread (fsync per spend on LMDB: the default)"
for spec in "lmdb:$TMP/lmdb-lib" "$REDIS"; do
    for t in 1 2; do "$B/bench/bench_spend" "$spec" "$SPENDS" "$t"; done
done
echo "-- library path, LMDB without fsync (POSTAGE_STORE_NOSYNC)"
BENCH_NOSYNC=1 "$B/bench/bench_spend" "lmdb:$TMP/lmdb-nosync" "$SPENDS" 1

# One stamped message per recipient, minted once for both runs.
i=0
while [ $i -lt "$MESSAGES" ]; do i=$((i + 1)); echo "b$i@example.test"; done > "$TMP/rcpts"
# shellcheck disable=SC2046
"$B/postage-mint" -j 1 -b 1 $(cat "$TMP/rcpts") | paste "$TMP/rcpts" - |
    sed 's/\t/\tX-Hashcash: /' > "$TMP/messages"

echo "-- through postaged's milter, $MESSAGES messages, one stamp each, 1 and 2 clients"
for spec in "lmdb:$TMP/lmdb-daemon" "$REDIS"; do
    port=$(free_port)
    postaged_conf -o "$TMP/p.conf" "milter_listen=inet:127.0.0.1:$port" "store=$spec" spf=no \
        helo_checks=no greylist_delay=1h
    "$B/postaged" -c "$TMP/p.conf" -f 2> "$TMP/p.log" &
    pid=$!
    kill_at_exit "$pid"
    wait_listen "$port" 10 "$pid" || { cat "$TMP/p.log" >&2; exit 1; }
    "$B/postage-reputation" -c "$TMP/p.conf" pin ip:192.0.2.10 1 > /dev/null
    for clients in 1 2; do
        rm -f "$TMP"/part.*
        split -n "l/$clients" -d "$TMP/messages" "$TMP/part.$clients."
        clients_pids=
        for part in "$TMP"/part.$clients.??; do
            "$B/tests/system/milter_client" --connect "inet:127.0.0.1:$port" --client-addr 192.0.2.10 \
                --from s@sender.example --stop-at eoh --stats "$part" > /dev/null 2> "$part.stats" &
            clients_pids="$clients_pids $!"
        done
        # shellcheck disable=SC2086
        wait $clients_pids
        echo "$spec, $clients client(s):"
        cat "$TMP"/part.$clients.*.stats | sed 's/^/    /'
        # the next round needs unspent stamps: a fresh set
        sed "s/@example.test/@r$clients.example.test/" "$TMP/rcpts" > "$TMP/rcpts.n"
        # shellcheck disable=SC2046
        "$B/postage-mint" -j 1 -b 1 $(cat "$TMP/rcpts.n") | paste "$TMP/rcpts.n" - |
            sed 's/\t/\tX-Hashcash: /' > "$TMP/messages"
    done
    kill "$pid"
    wait "$pid" 2>/dev/null
done
