#!/bin/sh
# metrics_redis.sh - store outages and errors in postaged's metrics
# (metrics_listen): postaged's state on a private Redis
# (tests/lib/redis_harness.sh), greylisting only.  A request while Redis
# works counts store calls and no error; with Redis stopped, a request is
# answered with on_error and counts a state store error, and the outage
# (logged once) counts once; with Redis back, requests count no new
# error and no new outage.
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/lib/redis_harness.sh"

require_built "$POSTAGED" "$PDCLIENT"
command -v python3 > /dev/null 2>&1 || skip "python3 is not installed"
redis_start || { fail "redis did not start"; finish; }

PPORT=$("$PDCLIENT" --free-port)
XPORT=$("$PDCLIENT" --free-port)
postaged_conf "policy_listen=inet:127.0.0.1:$PPORT" "metrics_listen=inet:127.0.0.1:$XPORT" \
    "store=redis://127.0.0.1:$REDIS_PORT/0?timeout=500" postage=no spf=no helo_checks=no \
    greylist_delay=1h
"$POSTAGED" -c "$TMP/postaged.conf" -f 2> "$TMP/postaged.log" &
pid=$!
kill_at_exit "$pid"
wait_policy_answer "$PPORT" "$TMP/postaged.log"
wait_listen "$XPORT" 10 "$pid" || { fail "metrics did not start: $(cat "$TMP/postaged.log")"; finish; }

scrape() {
    python3 -c '
import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())
' "http://127.0.0.1:$XPORT/metrics" > "$1" || fail "scraping /metrics failed"
}
value() {
    awk -v s="$2" '$1 == s { v = $2 } END { print (v == "" ? "absent" : v) }' "$1"
}
request() {
    printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n'
    printf 'client_address=192.0.2.%s\nclient_name=mx.example.net\nhelo_name=mx.example.net\n' "$1"
    printf 'sender=alice@example.net\nrecipient=rcpt%s@example.org\ninstance=i%s\n\n' "$1" "$1"
}
ERRORS='postage_store_errors_total{store="state"}'
OPS='postage_store_operations_total{store="state"}'
OUTAGES='postage_store_outages_total{store="state"}'

request 1 | "$PDCLIENT" "$PPORT" --expect 1 > /dev/null || fail "request 1 unanswered"
scrape "$TMP/up"
expect_eq "Redis up: errors" 0 "$(value "$TMP/up" "$ERRORS")"
expect_eq "Redis up: outages" 0 "$(value "$TMP/up" "$OUTAGES")"
ops=$(value "$TMP/up" "$OPS")
[ "$ops" != absent ] && [ "$ops" -gt 0 ] || fail "Redis up: state store operations: $ops"

redis_stop
request 2 | "$PDCLIENT" "$PPORT" --expect 1 > /dev/null || fail "request 2 unanswered"
i=0
until grep -q 'state store down' "$TMP/postaged.log"; do
    i=$((i + 1)); [ $i -lt 50 ] || { fail "no outage logged"; break; }
    nap 0.1
done
request 3 | "$PDCLIENT" "$PPORT" --expect 1 > /dev/null || fail "request 3 unanswered"
scrape "$TMP/down"
errors=$(value "$TMP/down" "$ERRORS")
[ "$errors" != absent ] && [ "$errors" -ge 2 ] || fail "Redis down: state store errors: $errors"
expect_eq "Redis down: one outage" 1 "$(value "$TMP/down" "$OUTAGES")"
# request 1 greylisted, requests 2 and 3 answered with on_error (tempfail),
# counted under the step whose store call failed
expect_eq "Redis down: greylisting's DEFERs" 3 \
    "$(value "$TMP/down" 'postage_decisions_total{frontend="policy",module="greylist",action="DEFER"}')"

redis_restart || { fail "redis did not restart"; finish; }
i=0
until request 4 | "$PDCLIENT" "$PPORT" --expect 1 | grep -q 'Greylisted'; do
    i=$((i + 1)); [ $i -lt 50 ] || { fail "Redis back: no greylisting answer"; break; }
    nap 0.2
done
scrape "$TMP/back"
expect_eq "Redis back: still one outage" 1 "$(value "$TMP/back" "$OUTAGES")"
errors_back=$(value "$TMP/back" "$ERRORS")
request 5 | "$PDCLIENT" "$PPORT" --expect 1 > /dev/null || fail "request 5 unanswered"
scrape "$TMP/after"
expect_eq "Redis back: no new error" "$errors_back" "$(value "$TMP/after" "$ERRORS")"
[ "$failures" -eq 0 ] || { grep -v '^#' "$TMP/after" | grep store >&2; tail -n 20 "$TMP/postaged.log" >&2; }
finish
