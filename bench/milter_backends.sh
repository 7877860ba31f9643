#!/bin/sh
# milter_backends.sh - messages per second through postaged's milter with
# its store on LMDB and on Redis, side by side in one run (issue 18,
# point 3: the Redis path at >= 80% of LMDB's), and the round trips to
# Redis one message costs.  Prints a Markdown subsection (bench/report.sh
# puts it in its verifier section); a measuring tool, nothing asserted.
#
# Usage: bench/milter_backends.sh [--quick]
#   Each message carries one 1-bit stamp for its one recipient (the host
#   is pinned at 1 bit), so every message takes the whole postage path:
#   price, quote, replay look-up, spend, attempt mark, reputation.  Two
#   milter clients (tests/system/milter_client) share the messages; the
#   rate is the messages of both over the slower one's time.  LMDB and
#   Redis alternate, REPEAT rounds each, and the median round is shown.
#   LMDB runs on its defaults (fsync per spend); Redis is a private
#   redis-server (tests/lib/redis_harness.sh) without persistence.
#
# Environment: top_builddir, top_srcdir; BENCH_MESSAGES (default 6000;
# --quick 200), BENCH_REPEAT (default 3; --quick 1); BENCH_BASE_BUILD, a
# second build tree (e.g. of main before a change) measured in the same
# run, its row beside this build's.
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/lib/redis_harness.sh"

MESSAGES=${BENCH_MESSAGES:-6000}
REPEAT=${BENCH_REPEAT:-3}
if [ "${1:-}" = --quick ]; then
    MESSAGES=${BENCH_MESSAGES:-200}
    REPEAT=${BENCH_REPEAT:-1}
fi
B=$(cd "${top_builddir:-.}" && pwd)
BUILDS="$B"
[ -n "${BENCH_BASE_BUILD:-}" ] && BUILDS="$(cd "$BENCH_BASE_BUILD" && pwd) $B"

echo "### Through the milter: LMDB beside Redis"
echo
for b in $BUILDS; do
    for p in postaged postage-mint postage-reputation tests/system/milter_client; do
        [ -x "$b/$p" ] || { echo "> Skipped: $b/$p is not built."; echo; exit 0; }
    done
done
if ! redis_start >/dev/null 2>&1; then
    echo "> Skipped: redis-server is not installed (or did not start)."
    echo
    exit 0
fi
REDIS="redis://127.0.0.1:$REDIS_PORT/0?prefix=mb:"

# mint FILE TAG: one stamped message per recipient, recipients unique to TAG.
mint() {
    i=0
    while [ $i -lt "$MESSAGES" ]; do i=$((i + 1)); echo "m$i@$2.example.test"; done > "$TMP/rcpts"
    # shellcheck disable=SC2046
    "$B/postage-mint" -j 1 -b 1 $(cat "$TMP/rcpts") | paste "$TMP/rcpts" - |
        sed 's/\t/\tX-Hashcash: /' > "$1"
}

# run BUILD SPEC TAG: print msgs/s of two clients through BUILD's postaged.
run() {
    port=$(free_port)
    postaged_conf -o "$TMP/p.conf" "milter_listen=inet:127.0.0.1:$port" "store=$2" spf=no \
        helo_checks=no greylist_delay=1h
    "$1/postaged" -c "$TMP/p.conf" -f 2> "$TMP/p.log" &
    pid=$!
    kill_at_exit "$pid"
    wait_listen "$port" 10 "$pid" || { echo "postaged did not start: $(tail -n 2 "$TMP/p.log")" >&2; return 1; }
    "$1/postage-reputation" -c "$TMP/p.conf" pin ip:192.0.2.10 1 > /dev/null
    mint "$TMP/messages" "$3"
    rm -f "$TMP"/part.*
    split -n l/2 -d "$TMP/messages" "$TMP/part."
    cpids=
    for part in "$TMP"/part.??; do
        "$1/tests/system/milter_client" --connect "inet:127.0.0.1:$port" --client-addr 192.0.2.10 \
            --from s@sender.example --stop-at eoh --stats "$part" > "$part.out" 2> "$part.stats" &
        cpids="$cpids $!"
    done
    # shellcheck disable=SC2086
    wait $cpids
    kill "$pid"
    wait "$pid" 2>/dev/null
    # Every message must have been taken, or the figure means nothing.
    cat "$TMP"/part.??.stats | awk '
        { for (i = 1; i < NF; i++) { if ($i == "messages") n += $(i + 1); if ($i == "accepted") a += $(i + 1)
                                     if ($i == "seconds" && $(i + 1) > s) s = $(i + 1) } }
        END { if (a != n || s <= 0) print "NaN"; else printf "%.0f\n", n / s }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "NaN"; else print v[int((NR + 1) / 2)] }'; }

echo "Messages per second through postaged's milter, 2 clients, $MESSAGES messages per round, each with"
echo "one stamp that pays (price, quote, replay look-up, spend, attempt mark, reputation); median of"
echo "$REPEAT round(s), LMDB (fsync per spend) and Redis (loopback, no persistence) alternating in one run."
echo
echo "| build | LMDB msgs/s | Redis msgs/s | Redis / LMDB |"
echo "|---|---|---|---|"
round=0
for b in $BUILDS; do
    : > "$TMP/lmdb.rates"
    : > "$TMP/redis.rates"
    r=0
    while [ $r -lt "$REPEAT" ]; do
        r=$((r + 1))
        round=$((round + 1))
        run "$b" "lmdb:$TMP/lmdb.$round" "l$round" >> "$TMP/lmdb.rates"
        run "$b" "$REDIS" "r$round" >> "$TMP/redis.rates"
    done
    l=$(median < "$TMP/lmdb.rates")
    x=$(median < "$TMP/redis.rates")
    label="this build"
    [ "$b" = "$B" ] || label="base ($b)"
    ratio=$(awk -v l="$l" -v x="$x" 'BEGIN { if (l + 0 > 0 && x + 0 > 0) printf "%.2f", x / l; else print "–" }')
    echo "| $label | $l | $x | $ratio |"
done
echo
