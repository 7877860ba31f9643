#!/bin/sh
# store_redis.sh - the double-spend store on Redis, against a private
# redis-server (tests/lib/redis_harness.sh):
#   1. tests/unit/check_store's conformance suite, over TCP and over the Unix
#      socket (POSTAGE_TEST_REDIS; only its "redis" test case is run here,
#      the rest runs in tests/unit/check_store itself);
#   2. postage-verify --db redis://...: spend once, the second time spent,
#      exit codes, a password (never shown), --purge;
#   3. unreachable Redis and malformed specifications: exit 2, at once,
#      with the problem named;
#   4. a long-lived handle (tests/system/store_probe): Redis stopped, hung
#      (SIGSTOP) and restarted under it: POSTAGE_ERR_STORE quickly, never a
#      hang; the handle reconnects by itself; one "down" and one "up"
#      notice per outage; a connection closed while idle is replaced
#      without an error;
#   5. through Sentinel (when redis-sentinel is installed): discovery, a
#      dead sentinel skipped, and the same handle following a failover
#      (SENTINEL FAILOVER: nothing written to the demoted master) and the
#      master's death (kill -9).
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/lib/redis_harness.sh"

CHECK_STORE="$top_builddir/tests/unit/check_store"
PROBE="$top_builddir/tests/system/store_probe"
require_built "$VERIFY" "$MINT" "$PROBE"

redis_start || { fail "redis-server did not start"; finish; }
SPEC="redis://127.0.0.1:$REDIS_PORT/0"
WHERE="redis 127.0.0.1:$REDIS_PORT"

# contains WHAT TEXT PATTERN
contains() {
    case "$2" in *"$3"*) ;; *) fail "$1: '$3' not in: $2" ;; esac
}
lacks() {
    case "$2" in *"$3"*) fail "$1: '$3' should not be in: $2" ;; esac
}

# --- 1. the conformance suite ---------------------------------------------------
if [ -x "$CHECK_STORE" ]; then
    for base in "$SPEC?prefix=t$$:" "redis+unix://$REDIS_SOCKET?db=1&prefix=u$$:"; do
        CK_RUN_CASE=redis POSTAGE_TEST_REDIS=$base "$CHECK_STORE" > "$TMP/check.out" 2>&1
        status=$?
        checks=$(sed -n 's/.*Checks: \([0-9]*\).*/\1/p' "$TMP/check.out")
        if [ "$status" -ne 0 ] || [ "${checks:-0}" -lt 10 ]; then
            fail "check_store against $base (status $status, ${checks:-no} checks)"
            cat "$TMP/check.out" >&2
        fi
    done
else
    echo "tests/unit/check_store is not built (configure --without-check): suite not run" >&2
fi

# --- 2. postage-verify --db redis://... -----------------------------------------
"$MINT" -j 1 -b 8 foo@example.org foo@example.org foo@example.org foo@example.org \
    > "$TMP/stamps" || { fail "minting"; finish; }
S1=$(sed -n 1p "$TMP/stamps") S2=$(sed -n 2p "$TMP/stamps")
S3=$(sed -n 3p "$TMP/stamps") S4=$(sed -n 4p "$TMP/stamps")

run_capture "$VERIFY" -b 8 -r foo@example.org --db "$SPEC" "$S1"
expect_eq "first spend through Redis" "$S1 ok/0" "$out/$rc"
run_capture "$VERIFY" -b 8 -r foo@example.org --db "$SPEC" "$S1"
expect_eq "second spend through Redis" "$S1 spent/1" "$out/$rc"
# the Unix socket reaches the same database: the same store
run_capture "$VERIFY" -b 8 -r foo@example.org --db "redis+unix://$REDIS_SOCKET" "$S1"
expect_eq "spent, seen through the Unix socket" "$S1 spent/1" "$out/$rc"
# another prefix, or another database, is another store
run_capture "$VERIFY" -b 8 -r foo@example.org --db "$SPEC?prefix=other:" "$S1"
expect_eq "another prefix" "$S1 ok/0" "$out/$rc"
run_capture "$VERIFY" -b 8 -r foo@example.org --db "redis://127.0.0.1:$REDIS_PORT/3" "$S1"
expect_eq "another database" "$S1 ok/0" "$out/$rc"
# standard input, one spent and one fresh: exit 0
printf '%s\n%s\n' "$S1" "$S2" > "$TMP/in"
run_capture "$VERIFY" -b 8 -r foo@example.org --db "$SPEC" < "$TMP/in"
expect_eq "stdin through Redis" "$S1 spent
$S2 ok/0" "$out/$rc"
# (counted in Redis: the keys are binary and may hold a newline)
expect_eq "keys under the default prefix" 2 \
    "$(redis_cli "$REDIS_PORT" EVAL "return #redis.call('KEYS', ARGV[1])" 0 'postage:s:*')"
# a stamp that fails is not recorded
run_capture "$VERIFY" -b 30 -r foo@example.org --db "$SPEC" "$S3"
expect_eq "a failed stamp through Redis" "$S3 bits/1" "$out/$rc"
# Redis expires the entries itself: --purge removes nothing
run_capture "$VERIFY" --db "$SPEC" --purge
expect_eq "purge exit" 0 "$rc"
expect_eq "purge message" "postage-verify: purged 0 expired entries from $SPEC" "$err"

# A password: given to AUTH, percent-decoded, never shown.
redis_cli "$REDIS_PORT" CONFIG SET requirepass 's3cr/et@x' > /dev/null ||
    fail "cannot set a password"
run_capture "$VERIFY" -b 8 -r foo@example.org --db "redis://:s3cr%2Fet@x@127.0.0.1:$REDIS_PORT/0" "$S3"
expect_eq "spend with the password" "$S3 ok/0" "$out/$rc"
run_capture "$VERIFY" -b 8 -r foo@example.org --db "$SPEC" "$S4"
expect_eq "without the password: exit" 2 "$rc"
contains "without the password" "$err" "NOAUTH"
contains "without the password" "$err" "$WHERE"
run_capture "$VERIFY" -b 8 -r foo@example.org --db "redis://:wr0ng@127.0.0.1:$REDIS_PORT/0" "$S4"
expect_eq "a wrong password: exit" 2 "$rc"
contains "a wrong password" "$err" "AUTH"
contains "a wrong password" "$err" "'redis://***@127.0.0.1:$REDIS_PORT/0'"
lacks "a wrong password" "$err" "wr0ng"
redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --no-auth-warning -a 's3cr/et@x' \
    CONFIG SET requirepass '' > /dev/null || fail "cannot clear the password"

# --- 3. unreachable, malformed ----------------------------------------------------
closed=$(free_port)
t0=$(date +%s)
run_capture "$VERIFY" -b 8 -r foo@example.org --db "redis://:s3cret@127.0.0.1:$closed/0" "$S4"
expect_eq "unreachable Redis: exit" 2 "$rc"
expect_eq "unreachable Redis: output" "" "$out"
contains "unreachable Redis" "$err" "cannot open the double-spend store 'redis://***@127.0.0.1:$closed/0'"
contains "unreachable Redis" "$err" "redis 127.0.0.1:$closed: cannot connect: Connection refused"
lacks "unreachable Redis" "$err" "s3cret"
[ $(( $(date +%s) - t0 )) -le 2 ] || fail "postage-verify took long to give up on an unreachable Redis"

bad_spec() {   # SPEC PATTERN
    run_capture "$VERIFY" -b 8 --db "$1" "$S4"
    expect_eq "--db $1: exit" 2 "$rc"
    contains "--db $1" "$err" "$2"
}
bad_spec "redis://127.0.0.1:0/0" "bad port '0'"
bad_spec "redis://127.0.0.1:65536/0" "bad port '65536'"
bad_spec "redis://:6379/0" "empty host"
bad_spec "redis://127.0.0.1:$REDIS_PORT/0?prefx=a" "unknown query parameter 'prefx'"
bad_spec "redis://127.0.0.1/0?timeout=0" "bad timeout '0'"
bad_spec "redis://127.0.0.1/x" "bad database number 'x'"
bad_spec "redis+unix://relative.sock" "must be absolute"
bad_spec "redis+sentinel://127.0.0.1/" "no master name"
bad_spec "redis://127.0.0.1/0?prefix=$(printf '%0200d' 0)" "prefix is too long"
bad_spec "redis://$(printf '%03000d' 0)" "too long"
bad_spec "rediss://127.0.0.1" "unknown store scheme \"rediss:\""
run_capture "$VERIFY" -b 8 --db "redis://:s3cret@127.0.0.1:0/0" "$S4"
lacks "a bad spec with a password" "$err" "s3cret"
# a server that answers errors: SELECT of a database that does not exist
bad_spec "redis://127.0.0.1:$REDIS_PORT/99999" "SELECT refused: ERR DB index is out of range"

# --- 4. a long-lived handle through outages --------------------------------------
mkfifo "$TMP/probe.in" "$TMP/probe.out" || { fail "mkfifo"; finish; }
"$PROBE" --lazy "$SPEC?prefix=probe:&timeout=300" < "$TMP/probe.in" > "$TMP/probe.out" \
    2> "$TMP/probe.err" &
probe_pid=$!
kill_at_exit "$probe_pid"
exec 3> "$TMP/probe.in" 4< "$TMP/probe.out"

# ask COMMAND: sets $reply (the probe's answer), $word (its first word) and
# $ms (the call's duration in milliseconds).
ask() {
    echo "$*" >&3
    IFS= read -r reply <&4 || reply="(no answer: the probe died)"
    word=${reply%% *}
    ms=$(echo "$reply" | cut -d ' ' -f 2)
    case $ms in '' | *[!0-9]*) ms=0 ;; esac
}
# until_ok COMMAND SECONDS: ask until the answer is ok
until_ok() {
    _n=0
    while ask "$1"; [ "$word" != ok ]; do
        _n=$((_n + 1))
        [ $_n -lt $(($2 * 10)) ] || return 1
        sleep 0.1
    done
    return 0
}

ask spend a1; expect_eq "probe: spend" ok "$word"
ask spend a1; expect_eq "probe: spend again" spent "$word"
ask count; expect_eq "probe: count" "count 1" "$reply"
ask is_spent a1; expect_eq "probe: is_spent" spent "$word"

# Redis stops: every call fails at once with the reason.
redis_stop
ask spend a2
expect_eq "Redis stopped: spend" store "$word"
contains "Redis stopped" "$reply" "spend: $WHERE"
i=0
while [ $i -lt 10 ]; do
    ask spend a2
    expect_eq "Redis stopped: spend $i" store "$word"
    [ "$ms" -lt 1000 ] || fail "Redis stopped: a spend took $ms ms"
    i=$((i + 1))
done
ask is_spent a2; expect_eq "Redis stopped: is_spent" store "$word"
ask count; expect_eq "Redis stopped: count" store "$word"

# Redis is back on the same port (empty: no persistence): the same handle
# reconnects by itself, within the backoff (at most 5 s).
redis_restart || { fail "redis_restart"; finish; }
until_ok "spend b1" 10 || fail "the handle did not reconnect: $reply"
ask spend b1; expect_eq "after the restart: spend again" spent "$word"
expect_eq "one down notice for the outage" 1 "$(grep -c '^down: ' "$TMP/probe.err")"
expect_eq "one up notice for the outage" 1 "$(grep -c '^up: ' "$TMP/probe.err")"
contains "the down notice" "$(grep '^down: ' "$TMP/probe.err")" "$WHERE"

# Redis hangs (SIGSTOP): each call gives up after the 300 ms timeout.
kill -STOP "$REDIS_PID"
for c in c1 c2 c3; do
    ask spend "$c"
    expect_eq "Redis hung: spend $c" store "$word"
    [ "$ms" -lt 1500 ] || fail "Redis hung: a spend took $ms ms"
    [ "$c" = c1 ] && contains "Redis hung" "$reply" "spend: $WHERE: no reply within 300 ms"
done
kill -CONT "$REDIS_PID"
until_ok "spend c4" 10 || fail "the handle did not recover from the hang: $reply"
expect_eq "down notices after two outages" 2 "$(grep -c '^down: ' "$TMP/probe.err")"
expect_eq "up notices after two outages" 2 "$(grep -c '^up: ' "$TMP/probe.err")"

# A restart while the connection is idle: the closed connection is seen
# before it is used and replaced, so the next call just works.
ask spend d1; expect_eq "before an idle restart" ok "$word"
redis_restart || { fail "redis_restart"; finish; }
ask spend d2; expect_eq "first call after an idle restart" ok "$word"
expect_eq "an idle restart is no outage" 2 "$(grep -c '^down: ' "$TMP/probe.err")"

echo quit >&3
exec 3>&- 4<&-
wait "$probe_pid" || fail "store_probe exited with $?"

# --- 5. Sentinel --------------------------------------------------------------------
if command -v redis-sentinel >/dev/null 2>&1; then
    REPLICA_PORT=$(redis_start_replica "$REDIS_PORT") || { fail "the replica did not start"; finish; }
    SENTINEL_PORT=$(sentinel_start "$REDIS_PORT" postage) || { fail "the sentinel did not start"; finish; }
    SSPEC="redis+sentinel://127.0.0.1:$SENTINEL_PORT/postage/0?prefix=sent:&timeout=300"

    run_capture "$VERIFY" -b 8 -r foo@example.org --db "$SSPEC" "$S4"
    expect_eq "through the sentinel" "$S4 ok/0" "$out/$rc"
    # a dead sentinel first: the next one is asked
    run_capture "$VERIFY" -b 8 -r foo@example.org \
        --db "redis+sentinel://127.0.0.1:$closed,127.0.0.1:$SENTINEL_PORT/postage/0?prefix=sent:" "$S4"
    expect_eq "past a dead sentinel" "$S4 spent/1" "$out/$rc"
    run_capture "$VERIFY" -b 8 --db "redis+sentinel://127.0.0.1:$SENTINEL_PORT/nosuch" "$S4"
    expect_eq "an unknown master: exit" 2 "$rc"
    contains "an unknown master" "$err" "sentinel 127.0.0.1:$SENTINEL_PORT: does not know master 'nosuch'"
    run_capture "$VERIFY" -b 8 --db "redis+sentinel://127.0.0.1:$closed/postage" "$S4"
    contains "no sentinel" "$err" "redis master 'postage': sentinel 127.0.0.1:$closed: cannot connect"

    # A failover under a long-lived handle: it follows the new master.
    "$PROBE" --lazy "$SSPEC" < "$TMP/probe.in" > "$TMP/probe.out" 2> "$TMP/probe2.err" &
    probe_pid=$!
    kill_at_exit "$probe_pid"
    exec 3> "$TMP/probe.in" 4< "$TMP/probe.out"
    ask spend e1; expect_eq "sentinel probe: spend" ok "$word"
    # the spend has reached the replica before the failover
    redis_cli "$REDIS_PORT" WAIT 1 5000 > /dev/null
    redis_cli "$SENTINEL_PORT" SENTINEL FAILOVER postage > /dev/null || fail "SENTINEL FAILOVER"
    i=0
    until [ "$(redis_cli "$SENTINEL_PORT" SENTINEL get-master-addr-by-name postage | tail -n 1)" \
            = "$REPLICA_PORT" ]; do
        i=$((i + 1))
        [ $i -lt 200 ] || { fail "the sentinel did not promote the replica"; break; }
        sleep 0.1
    done
    until_ok "spend e2" 15 || fail "the handle did not follow the failover: $reply"
    ask spend e1; expect_eq "spent before the failover, still spent" spent "$word"
    ask spend e2; expect_eq "spent after the failover" spent "$word"
    expect_eq "the replica is the master now" master \
        "$(redis_cli "$REPLICA_PORT" ROLE | head -n 1)"
    # S4 (postage-verify), e1 (replicated) and e2 (written after the switch,
    # not to the old master, where it would be lost)
    expect_eq "the new master holds the spends" 3 \
        "$(redis_cli "$REPLICA_PORT" EVAL "return #redis.call('KEYS', ARGV[1])" 0 'sent:s:*')"

    # The new master dies (kill -9): the sentinel promotes the old one
    # (now its replica) and the handle follows once it has.
    i=0
    until [ "$(redis_cli "$REPLICA_PORT" WAIT 1 1000)" = 1 ]; do
        i=$((i + 1))
        [ $i -lt 20 ] || { fail "the old master never became a replica in sync"; break; }
    done
    kill -9 "$(redis_pid "$REPLICA_PORT")"
    until_ok "spend f1" 20 || fail "the handle did not follow the master's death: $reply"
    expect_eq "the old master is the master again" master \
        "$(redis_cli "$REDIS_PORT" ROLE | head -n 1)"
    ask spend e2; expect_eq "spent before the death, still spent" spent "$word"
    expect_eq "down notices over two failovers" 1 "$(grep -c '^down: ' "$TMP/probe2.err")"
    echo quit >&3
    exec 3>&- 4<&-
    wait "$probe_pid" || fail "store_probe exited with $?"
else
    echo "redis-sentinel is not installed: the Sentinel checks are skipped" >&2
fi

finish
