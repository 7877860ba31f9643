#!/bin/sh
# policy_pressure.sh - postaged's policy port under hostile clients
# (issue 16), with tests/system/policy_pressure.py as the clients:
#   1. 1,000 idle connections (max_connections, the default 1000; 50 with
#      POSTAGE_TEST_QUICK=1) and then real clients: each full request is
#      answered, the idle connections closed to make room are really
#      closed, and the shedding is logged once for the episode (defect 4);
#   2. the same with max_connections = 20 set in the configuration;
#   3. 3,000 blank lines (each an empty request) on one connection and 200
#      connections sending junk: the request after them is answered, the
#      log holds client_warning_limit (5) warnings and, by shutdown, one
#      summary counting the rest (defect 10);
#   4. a request whose HELO name, sender and recipient hold CR, ESC, TAB,
#      BEL and DEL is answered, and postaged's log shows them escaped, with
#      no raw control character (defect 5, the policy front-end);
#   5. out of file descriptors before max_connections (a hard limit of 64):
#      100 idle connections, and a real client is still answered, postaged
#      saying once that it sheds for want of descriptors.
. "${top_srcdir:-.}/tests/lib/testlib.sh"

PY="${top_srcdir:-.}/tests/system/policy_pressure.py"
require_built "$POSTAGED" "$PDCLIENT"
command -v python3 > /dev/null || skip "python3 is not installed"
[ -d /proc/self/fd ] || skip "no /proc (the test counts postaged's descriptors)"
# 1,000 client sockets here and 1,000 in postaged, its store and the rest.
ulimit -n 4096 2> /dev/null || [ "$(ulimit -n)" -ge 2400 ] ||
    skip "cannot raise the open file limit to 4096 (ulimit -n is $(ulimit -n))"

# start NAME [EXTRA]: postaged on a free port with a private store, EXTRA
# (key = value lines) added to its configuration; sets $port and $pid.
# (Not in a pipeline: dash would run it in a subshell.)
start() {
    port=$("$PDCLIENT" --free-port)
    postaged_conf -o "$TMP/$1.conf" "policy_listen=inet:127.0.0.1:$port" "store=lmdb:$TMP/state.$1" \
        hostname=pressure.test spf=no helo_checks=no postage=no greylist_delay=60s
    printf '%s\n' "${2:-}" >> "$TMP/$1.conf"
    "$POSTAGED" -c "$TMP/$1.conf" -f 2> "$TMP/$1.log" &
    pid=$!
    kill_at_exit "$pid"
    wait_listen "$port" 10 "$pid" ||
        { fail "postaged did not start: $(cat "$TMP/$1.log")"; finish; }
}
stop() {
    kill "$pid" 2> /dev/null
    wait "$pid" 2> /dev/null
}

# idle_then_real NAME N REALS: N idle connections, then REALS real clients
# one after another, each of which must be answered.
idle_then_real() {
    rm -f "$TMP/ready" "$TMP/stop" "$TMP/result"
    python3 "$PY" idle "$port" "$2" "$pid" "$TMP/ready" "$TMP/stop" "$TMP/result" &
    holder=$!
    kill_at_exit "$holder"
    i=0
    while [ ! -s "$TMP/ready" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
    [ -s "$TMP/ready" ] || { fail "$1: the idle connections were not held"; return; }
    # Each real client keeps its connection, as Postfix does, so each
    # needs a place of its own.
    r=1 realpids=
    while [ $r -le "$3" ]; do
        python3 "$PY" real "$port" "$TMP/stop" > "$TMP/$1.real.$r" 2>&1 &
        realpid=$!
        realpids="$realpids $realpid"
        kill_at_exit "$realpid"
        i=0
        while [ ! -s "$TMP/$1.real.$r" ] && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
        answer=$(head -n 1 "$TMP/$1.real.$r")
        case $answer in
            action=DEFER_IF_PERMIT* | action=DUNNO* | action=defer* | action=4*) ;;
            *) fail "$1: real client $r of $3 got no answer with $2 idle connections open: '$answer'" ;;
        esac
        r=$((r + 1))
    done
    : > "$TMP/stop"
    wait "$holder"
    # shellcheck disable=SC2086
    wait $realpids
    closed=$(sed -n 's/^closed //p' "$TMP/result")
    [ "${closed:-0}" -ge "$3" ] ||
        fail "$1: $3 real clients, but only ${closed:-0} idle connections were closed"
    [ "${closed:-0}" -le "$2" ] || fail "$1: more connections closed than were open"
    shed=$(grep -c 'closing the longest-idle connections to make room' "$TMP/$1.log")
    expect_eq "$1: the shedding is logged once for the episode" 1 "$shed"
}

# 1. The default limit.
n=1000
[ "${POSTAGE_TEST_QUICK:-0}" = 1 ] && n=50
if [ $n -eq 1000 ]; then
    start default
else
    start default "max_connections = $n"
fi
idle_then_real default $n 5
stop
[ "$failures" -eq 0 ] || tail -n 20 "$TMP/default.log" >&2

# 2. A smaller limit from the configuration.
start small "max_connections = 20"
idle_then_real small 20 3
stop
[ "$failures" -eq 0 ] || tail -n 20 "$TMP/small.log" >&2

# 3. Warnings, rate-limited per client.
start junk "client_warning_limit = 5
client_warning_interval = 1h"
out=$(python3 "$PY" junk "$port" 3000 200) ||
    fail "junk: the request after 3,000 blank lines was not answered ($out)"
expect_eq "junk: every blank line and the request answered" "answers 3001" "$out"
answer=$(python3 "$PY" real "$port") || fail "junk: a new client was not answered"
stop
warnings=$(grep 'warning: policy client ' "$TMP/junk.log" | grep -vc 'warnings suppressed')
expect_eq "junk: warnings logged (client_warning_limit)" 5 "$warnings"
summary=$(grep 'policy client 127.0.0.1: .* similar warnings suppressed' "$TMP/junk.log")
case $summary in
    *": 3195 similar warnings suppressed"*) ;;
    *) fail "junk: no summary of the 3,195 suppressed warnings: '$summary'" ;;
esac
[ "$failures" -eq 0 ] || tail -n 20 "$TMP/junk.log" >&2

# 4. Control characters in policy attributes reach the log escaped.
start hostile
answer=$(python3 "$PY" hostile "$port") || fail "hostile attributes: no answer ($answer)"
stop
grep -q 'helo=<helo\\x0dforged: line\\x1b\[31m> from=<evil\\x07\\x7f@example.net> to=<bob\\x0d\\x09@example.org>' \
    "$TMP/hostile.log" || fail "hostile attributes: the log line does not show them escaped"
if LC_ALL=C grep -q "$(printf '[\001-\010\013-\037\177\r]')" "$TMP/hostile.log" ||
    LC_ALL=C tr -d '\n' < "$TMP/hostile.log" | LC_ALL=C grep -q "$(printf '\t')"; then
    fail "hostile attributes: raw control characters in the log"
fi
[ "$failures" -eq 0 ] || tail -n 5 "$TMP/hostile.log" | od -c | tail -n 20 >&2

# 5. Out of descriptors: accept fails with EMFILE long before
# max_connections, and the same shedding makes room.
port=$("$PDCLIENT" --free-port)
sed "s/^policy_listen = .*/policy_listen = inet:127.0.0.1:$port/; s/state\.junk/state.fds/" \
    "$TMP/junk.conf" > "$TMP/fds.conf"
(ulimit -n 64 && ulimit -Hn 64 && exec "$POSTAGED" -c "$TMP/fds.conf" -f 2> "$TMP/fds.log") &
pid=$!
kill_at_exit "$pid"
wait_listen "$port" 10 "$pid" || { fail "postaged did not start: $(cat "$TMP/fds.log")"; finish; }
rm -f "$TMP/ready" "$TMP/stop" "$TMP/result"
# 100 connections: postaged holds what its 64 descriptors allow (the
# holder stops waiting for more after 30 s at most).
python3 "$PY" idle "$port" 100 "$pid" "$TMP/ready" "$TMP/stop" "$TMP/result" &
holder=$!
kill_at_exit "$holder"
i=0
while [ ! -s "$TMP/ready" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
answer=$(python3 "$PY" real "$port") ||
    fail "out of descriptors: the real client got no answer ($answer)"
: > "$TMP/stop"
wait "$holder"
kill -0 "$pid" 2> /dev/null || fail "out of descriptors: postaged died"
stop
expect_eq "out of descriptors: the shedding is logged once" 1 \
    "$(grep -c 'out of file descriptors; closing the longest-idle connections' "$TMP/fds.log")"
grep -q 'but only 64 file descriptors' "$TMP/fds.log" ||
    fail "out of descriptors: no warning at start-up that 64 are too few"
[ "$failures" -eq 0 ] || tail -n 10 "$TMP/fds.log" >&2

finish
