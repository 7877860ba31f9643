#!/bin/sh
# state_redis.sh - postaged's state store on Redis, against a private
# redis-server on a free loopback port:
#   - the state store's conformance suite (tests/unit/check_state) and the
#     greylisting, quota, reputation and HELO module tests, each test under
#     a key prefix of its own (POSTAGE_TEST_REDIS, see tests/unit/state_fixture.h);
#   - one handle kept open while the server is stopped and started again
#     on the same port (tests/system/state_outage): calls fail at once with
#     PD_ST_ERR_BACKEND naming the server, the outage callback hears
#     "down" once and "up" once per outage, and calls work again without
#     reopening; the same for a handle opened while the server is down.
. "${top_srcdir:-.}/tests/lib/testlib.sh"

. "${top_srcdir:-.}/tests/lib/redis_harness.sh"

OUTAGE="$top_builddir/tests/system/state_outage"
require_built "$OUTAGE"

redis_start || { fail "redis-server did not start"; finish; }
SPEC="redis://127.0.0.1:$REDIS_PORT/0?timeout=300"

# ---- the suites, on Redis ---------------------------------------------------
POSTAGE_TEST_REDIS=$SPEC
export POSTAGE_TEST_REDIS
suites_ok=1
for t in check_state check_greylist check_quota check_reputation check_helo; do
    prog="$top_builddir/tests/unit/$t"
    if [ ! -x "$prog" ]; then
        fail "$prog not built"
        suites_ok=0
        continue
    fi
    if ! CK_VERBOSITY=verbose "$prog" > "$TMP/$t.log" 2>&1; then
        fail "$t on Redis"
        grep -v ':P:' "$TMP/$t.log" | tail -n 20 >&2
        suites_ok=0
    fi
done
# The Redis test cases of check_state really ran, not only LMDB's.
n=$(grep -c ':P:conformance-redis:' "$TMP/check_state.log")
[ "$n" -ge 10 ] || fail "check_state: only $n Redis conformance tests passed"
n=$(grep -c ':P:redis:' "$TMP/check_state.log")
[ "$n" -ge 2 ] || fail "check_state: only $n Redis layout tests passed"
unset POSTAGE_TEST_REDIS
# Each test deletes its keys in teardown: nothing is left behind.
if [ $suites_ok = 1 ]; then
    left=$(redis_cli "$REDIS_PORT" --scan --pattern 'ptest:*' | wc -l)
    expect_eq "keys the tests left in Redis" 0 "$left"
fi

# ---- outages ------------------------------------------------------------------
# start_driver NAME: state_outage on $SPEC, talked to through fd 3 (its
# input) and fd 4 (its output).  A watchdog ends it if it ever hangs.
start_driver() {
    rm -f "$TMP/$1.in" "$TMP/$1.out"
    mkfifo "$TMP/$1.in" "$TMP/$1.out" || { fail "mkfifo"; finish; }
    timeout 120 "$OUTAGE" "$SPEC" < "$TMP/$1.in" > "$TMP/$1.out" 2> "$TMP/$1.err" &
    driver=$!
    exec 3> "$TMP/$1.in" 4< "$TMP/$1.out"
    IFS= read -r reply <&4 || reply="(no answer)"
    expect_eq "$1: open" "open" "$reply"
}
stop_driver() {
    printf 'quit\n' >&3
    exec 3>&- 4<&-
    wait "$driver" || fail "state_outage exited with $?: $(cat "$TMP/$1.err")"
}
# ask COMMAND: sets $reply to the driver's answer.
ask() {
    printf '%s\n' "$1" >&3
    IFS= read -r reply <&4 || reply="(no answer)"
}
# expect_failing WHAT: the calls fail, each at once, naming the server.
expect_failing() {
    ask fail
    case $reply in
    failed\ *) ;;
    *) fail "$1: calls did not fail: $reply"; return;;
    esac
    ms=$(echo "$reply" | cut -d' ' -f2)
    [ "$ms" -lt 1000 ] || fail "$1: a call took $ms ms with Redis down (timeout 300 ms)"
    case $reply in
    *"127.0.0.1:$REDIS_PORT"*) ;;
    *) fail "$1: the error does not name the server: $reply";;
    esac
}
# expect_back WHAT: calls work again within 20 s (the backoff is 5 s at most).
expect_back() {
    ask "wait-ok 20"
    case $reply in
    ok\ *) ;;
    *) fail "$1: calls did not work again: $reply";;
    esac
}

start_driver running
ask ok
expect_eq "update with Redis up" "ok 1" "$reply"
ask notes
expect_eq "no outage yet" "down=0 up=0" "$reply"
for round in 1 2; do
    redis_stop
    expect_failing "outage $round"
    expect_failing "outage $round, again"
    ask notes
    expect_eq "outage $round told once" "down=$round up=$((round - 1))" "$reply"
    redis_restart || { fail "redis did not restart"; finish; }
    expect_back "after outage $round"
    ask ok
    case $reply in ok\ *) ;; *) fail "update after outage $round: $reply";; esac
    ask notes
    expect_eq "recovery $round told once" "down=$round up=$round" "$reply"
done
stop_driver running

# Opened while Redis is down: the open works, the outage is told at once.
redis_stop
start_driver down
ask notes
expect_eq "opened during an outage: told" "down=1 up=0" "$reply"
expect_failing "opened during an outage"
redis_restart || { fail "redis did not restart"; finish; }
expect_back "opened during an outage, then Redis came"
ask notes
expect_eq "opened during an outage: recovery told" "down=1 up=1" "$reply"
stop_driver down

finish
