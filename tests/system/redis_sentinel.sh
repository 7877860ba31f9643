#!/bin/sh
# redis_sentinel.sh - postaged through Redis Sentinel: a master, a replica
# and a sentinel on loopback; postaged finds the master through the
# sentinel.  The master is killed; once the sentinel has promoted the
# replica, postaged follows it without a restart and keeps spending
# stamps on the new master, each exactly once.
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/lib/redis_harness.sh"

MC="$top_builddir/tests/system/milter_client"
require_built "$POSTAGED" "$MINT" "$REPUTATION" "$MC"
command -v redis-sentinel >/dev/null 2>&1 || skip "redis-sentinel is not installed"

redis_start || { fail "redis-server did not start"; finish; }
MASTER_PORT=$REDIS_PORT
MASTER_PID=$REDIS_PID
REPLICA_PORT=$(redis_start_replica "$MASTER_PORT") || { fail "the replica did not start"; finish; }
SENTINEL_PORT=$(sentinel_start "$MASTER_PORT" postage) || { fail "the sentinel did not start"; finish; }
STORE="redis+sentinel://127.0.0.1:$SENTINEL_PORT/postage/0?timeout=300"

MILTER_PORT=$(free_port)
postaged_conf "milter_listen=inet:127.0.0.1:$MILTER_PORT" "store=$STORE" \
    hostname=sentinel.example spf=no helo_checks=no greylist_delay=1h
"$POSTAGED" -c "$TMP/postaged.conf" -f 2> "$TMP/postaged.log" &
pid=$!
kill_at_exit "$pid"
wait_listen "$MILTER_PORT" 10 "$pid" || { fail "postaged did not start: $(cat "$TMP/postaged.log")"; finish; }
"$REPUTATION" -s "$STORE" pin ip:192.0.2.10 1 > /dev/null || fail "cannot pin through the sentinel"

# present FILE: each line once, then each line again; prints "paid replays"
present() {
    cat "$1" "$1" > "$1.twice"
    "$MC" --connect "inet:127.0.0.1:$MILTER_PORT" --client-addr 192.0.2.10 --from s@sender.example \
        --stop-at eoh "$1.twice" > "$1.out" 2>> "$TMP/mc.err"
    awk -F '\t' '$2 == "accept" || $2 == "continue" { p++ } $2 == "tempfail" { t++ }
        END { printf "%d %d\n", p, t }' "$1.out"
}
stamps() {   # PREFIX N: N stamped messages
    k=0
    while [ $k -lt "$2" ]; do k=$((k + 1)); echo "$1$k@example.test"; done > "$TMP/$1.rcpts"
    # shellcheck disable=SC2046
    "$MINT" -j 1 -b 1 $(cat "$TMP/$1.rcpts") | paste "$TMP/$1.rcpts" - | sed 's/\t/\tX-Hashcash: /' > "$TMP/$1"
}

stamps before 50
expect_eq "before the failover: paid, replays refused" "50 50" "$(present "$TMP/before")"

# Kill the master; wait (bounded) for the sentinel to promote the replica.
kill -9 "$MASTER_PID"
i=0
until [ "$(redis-cli -p "$SENTINEL_PORT" sentinel get-master-addr-by-name postage 2>/dev/null | tail -n 1)" = "$REPLICA_PORT" ]; do
    i=$((i + 1)); [ $i -lt 300 ] || { fail "the sentinel did not promote the replica"; finish; }; sleep 0.1
done
# The pin lived on the old master; it reached the replica before the kill
# (replication is asynchronous, so set it again to be sure).
"$REPUTATION" -s "$STORE" pin ip:192.0.2.10 1 > /dev/null || fail "cannot pin after the failover"

# postaged follows: a probe stamp is paid again within a few tries.
i=0
until stamps "probe$i" 1 && [ "$(present "$TMP/probe$i")" = "1 1" ]; do
    i=$((i + 1)); [ $i -lt 50 ] || { fail "postaged did not follow the failover: $(tail -n 5 "$TMP/postaged.log")"; finish; }
    sleep 0.2
done
# A fresh batch on the new master: each stamp paid exactly once.
stamps fresh 200
expect_eq "after the failover: paid exactly once" "200 200" "$(present "$TMP/fresh")"
expect_eq "the new master holds the spends" 1 \
    "$(redis-cli -p "$REPLICA_PORT" role | head -n 1 | grep -c master)"
kill "$pid"
wait "$pid" 2>/dev/null
finish
