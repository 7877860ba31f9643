#!/bin/sh
# fault_dns.sh - postaged facing a hostile DNS server (tests/system/fake_dns.py on
# a loopback UDP+TCP port): answers of random bytes, with the wrong ID or
# the wrong question, cut-off headers, silence, and truncated (TC) answers
# whose TCP retry is closed, garbage, stalled or over-long.  For each, over
# the policy protocol, both the SPF check (spf_temperror_defer = yes) and
# the HELO DNS test (helo_resolve = reject) must give their documented
# temporary outcome: SPF "451 4.7.24 ... SPF temperror", HELO "450 4.7.1"
# (a DNS failure only defers, never rejects), and the log must say why.
# All of it also at once, on parallel connections.  postaged must still be
# running and answering at the end; the fake server's own log proves the
# queries reached it (over TCP too, for the truncated ones).
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/lib/dns_harness.sh"    # free_port --udp

CLIENT="$top_builddir/tests/system/pd_client"
FAKE="$top_srcdir/tests/system/fake_dns.py"
require_built "$POSTAGED"
command -v python3 > /dev/null 2>&1 || skip "python3 is not installed"

MODES="garbage wrongid wrongq short silent tcclose tcgarbage tcstall tchuge"

pid= fake=
stop_daemon() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        pid=
    fi
}
# shellcheck disable=SC2016
at_exit 'stop_daemon; [ -n "$fake" ] && { kill "$fake" 2>/dev/null; wait "$fake" 2>/dev/null; }'

DNS_PORT=$(free_port --udp)
python3 "$FAKE" "$DNS_PORT" "$TMP/fake.log" 2> "$TMP/fake.err" &
fake=$!
i=0
until grep -q '^ready' "$TMP/fake.log" 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 100 ] && kill -0 "$fake" 2>/dev/null ||
        { fail "the fake DNS server did not start: $(cat "$TMP/fake.err")"; finish; }
    sleep 0.05
done

# start_daemon NAME [extra config lines]
start_daemon() {
    PORT=$("$CLIENT" --free-port)
    postaged_conf -o "$TMP/$1.conf" "policy_listen=inet:127.0.0.1:$PORT" "store=lmdb:$TMP/state.$1" \
        hostname=mx.receiver.test "dns_server=127.0.0.1:$DNS_PORT" dns_timeout=200 postage=no greylist=no
    [ -z "${2:-}" ] || printf '%s\n' "$2" >> "$TMP/$1.conf"
    "$POSTAGED" -c "$TMP/$1.conf" -f 2> "$TMP/$1.log" &
    pid=$!
    wait_policy_answer "$PORT" "$TMP/$1.log"
}

# request CLIENT HELO SENDER INSTANCE
request() {
    printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n'
    printf 'client_address=%s\nclient_name=unknown\nhelo_name=%s\n' "$1" "$2"
    printf 'sender=%s\nrecipient=rcpt@example.org\ninstance=%s\nqueue_id=\nsize=1000\n\n' "$3" "$4"
}
# action: the first action line of one answer (pd_client waits at most
# 10 s: an answer that never comes is an empty string, and a failure)
action() {
    "$CLIENT" "$PORT" --expect 1 | sed -n 's/^action=//p' | head -n 1
}
expect_prefix() {    # WHAT PREFIX ACTUAL
    case $3 in
        "$2"*) ;;
        *) fail "$1"; printf '  expected: %s...\n  actual:   %s\n' "$2" "$3" >&2 ;;
    esac
}
still_serving() {    # NAME
    kill -0 "$pid" 2>/dev/null || { fail "$1: postaged died: $(tail -n 5 "$TMP/$1.log")"; return; }
    got=$(printf 'request=smtpd_access_policy\nprotocol_state=CONNECT\n\n' | action)
    expect_eq "$1: still answering afterwards" DUNNO "$got"
}

# --- SPF ---------------------------------------------------------------------
start_daemon spf "spf = yes
spf_temperror_defer = yes
helo_checks = no"
for m in $MODES; do
    got=$(request 192.0.2.1 mx.example.net "x@$m.test" "s-$m" | action)
    expect_eq "SPF, DNS server mode $m: deferred as temperror" \
        "451 4.7.24 Message deferred due to: SPF temperror - temporary error checking $m.test (identity=mailfrom; ip=192.0.2.1; problem: Temporary DNS failure for '$m.test'.). Please try again later" \
        "$got"
done
# all at once (new instances: nothing cached from above... failures are
# never cached anyway)
for m in $MODES; do
    request 192.0.2.1 mx.example.net "y@$m.test" "p-$m" | "$CLIENT" "$PORT" --expect 1 \
        > "$TMP/par.$m" 2>&1 &
    echo $! >> "$TMP/par.pids"
done
for p in $(cat "$TMP/par.pids"); do wait "$p"; done
for m in $MODES; do
    expect_prefix "SPF in parallel, mode $m" "action=451 4.7.24 Message deferred due to: SPF temperror - " \
        "$(grep '^action=' "$TMP/par.$m" | head -n 1)"
done
still_serving spf
for m in $MODES; do
    grep -q "from=<x@$m\.test> to=<rcpt@example\.org> DEFER: SPF temperror\$" "$TMP/spf.log" ||
        fail "SPF, mode $m: no 'DEFER: SPF temperror' for x@$m.test in the log"
done
stop_daemon

# --- HELO --------------------------------------------------------------------
start_daemon helo "spf = no
helo_resolve = reject
helo_match = reject"
for m in $MODES; do
    got=$(request 192.0.2.50 "mail.$m.test" "x@example.net" "h-$m" | action)
    expect_eq "HELO lookup, DNS server mode $m: deferred, never rejected" \
        "450 4.7.1 Invalid HELO/EHLO; temporary DNS failure looking up the name" "$got"
done
still_serving helo
for m in $MODES; do
    grep -q "helo=<mail\.$m\.test> .* DEFER: HELO: helo=\"mail\.$m\.test\" class=fqdn test=resolve " \
        "$TMP/helo.log" || fail "HELO, mode $m: no 'DEFER: HELO ... test=resolve' for mail.$m.test in the log"
done
stop_daemon

# The queries really reached the fake server, over TCP for the truncated.
for m in $MODES; do
    grep -q "^udp $m " "$TMP/fake.log" || fail "mode $m: no UDP query reached the fake server"
done
for m in tcclose tcgarbage tcstall tchuge; do
    grep -q "^tcp $m " "$TMP/fake.log" || fail "mode $m: the truncated answer was not retried over TCP"
done
if [ "$failures" -ne 0 ]; then
    echo "---- spf.log" >&2; tail -n 30 "$TMP/spf.log" >&2
    echo "---- helo.log" >&2; tail -n 30 "$TMP/helo.log" >&2
fi
finish
