#!/bin/sh
# policy_spf.sh - postaged's HELO and SPF checks over the Postfix policy
# protocol, against dnsmasq serving the zone of tests/lib/dns_harness.sh:
# exact action lines for a forged sender (SPF fail), a good one (the
# Received-SPF header once per message, not once per recipient), a
# temperror with spf_temperror_defer, the SPF header and X-Greylist on
# successive recipients, bad HELO names, and the HELO DNS tests (resolves,
# resolves to the client, forward-confirmed reverse DNS; a timeout defers
# and never rejects; a HELO name served with TTL 0 is asked once for five
# messages).  Skips (77) without dnsmasq.
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/lib/dns_harness.sh"

CLIENT="$top_builddir/tests/system/pd_client"
require_built "$POSTAGED"

dns_start || { fail "dnsmasq did not start"; finish; }

pid=
stop_daemon() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        pid=
    fi
}
at_exit stop_daemon

# start_daemon NAME [extra config lines]
start_daemon() {
    PORT=$("$CLIENT" --free-port)
    postaged_conf -o "$TMP/$1.conf" "policy_listen=inet:127.0.0.1:$PORT" "store=lmdb:$TMP/state.$1" \
        hostname=mx.receiver.test "dns_server=127.0.0.1:$DNS_PORT" dns_timeout=300 postage=no
    [ -z "${2:-}" ] || printf '%s\n' "$2" >> "$TMP/$1.conf"
    "$POSTAGED" -c "$TMP/$1.conf" -f 2> "$TMP/$1.log" &
    pid=$!
    wait_policy_answer "$PORT" "$TMP/$1.log"
}

# request CLIENT HELO SENDER RECIPIENT INSTANCE [STATE]
request() {
    printf 'request=smtpd_access_policy\nprotocol_state=%s\nprotocol_name=ESMTP\n' "${6:-RCPT}"
    printf 'client_address=%s\nclient_name=unknown\nhelo_name=%s\n' "$1" "$2"
    printf 'sender=%s\nrecipient=%s\ninstance=%s\nqueue_id=\nsize=1000\n\n' "$3" "$4" "$5"
}
# actions N (stdin: requests): the N action lines, joined with '|'
actions() {
    "$CLIENT" "$PORT" --expect "$1" | grep '^action=' | tr '\n' '|' | sed 's/|$//'
}
# expect_prefix WHAT PREFIX ACTUAL
expect_prefix() {
    case $3 in
        "$2"*) ;;
        *) fail "$1"; printf '  expected: %s...\n  actual:   %s\n' "$2" "$3" >&2 ;;
    esac
}

start_daemon spf "greylist = no
spf_temperror_defer = yes"

# A forged sender: pass.test allows only 192.0.2.0/24.
got=$(request 198.51.100.7 mx.example.net x@pass.test a@example.org f1 | actions 1)
expect_eq "forged sender (SPF fail)" \
    "action=550 5.7.23 Message rejected due to: SPF fail - 198.51.100.7 is not authorized to send mail as x@pass.test (identity=mailfrom; domain=pass.test): 198.51.100.7 is not one of pass.test's designated mail servers" \
    "$got"
got=$(request 192.0.2.1 mx.example.net x@fail.test a@example.org f2 | actions 1)
expect_prefix "fail.test (-all)" "action=550 5.7.23 Message rejected due to: SPF fail - 192.0.2.1 " "$got"

# A good sender: the header with the first recipient only; the SPF result
# is computed once per message (the engine keeps it in its pd_txn).
{ request 192.0.2.1 mx.example.net x@pass.test a@example.org p1
  request 192.0.2.1 mx.example.net x@pass.test b@example.org p1
  request 192.0.2.1 mx.example.net x@pass.test c@example.org p1; } | actions 3 > "$TMP/pass"
first=$(cut -d'|' -f1 < "$TMP/pass")
expect_prefix "SPF pass: header on the first recipient" \
    "action=PREPEND Received-SPF: Pass (mailfrom) identity=mailfrom; client-ip=192.0.2.1; helo=mx.example.net; envelope-from=\"x@pass.test\"; receiver=mx.receiver.test;" \
    "$first"
expect_eq "SPF pass: nothing on the second and third recipients" "action=DUNNO|action=DUNNO" \
    "$(cut -d'|' -f2- < "$TMP/pass")"
# A new message (instance) gets its own header.
got=$(request 192.0.2.1 mx.example.net x@pass.test a@example.org p2 | actions 1)
expect_prefix "SPF pass: a new message, a new header" "action=PREPEND Received-SPF: Pass " "$got"
# A fail rejects every recipient of its message.
{ request 198.51.100.7 mx.example.net x@fail.test a@example.org f3
  request 198.51.100.7 mx.example.net x@fail.test b@example.org f3; } | actions 2 > "$TMP/fail2"
expect_eq "SPF fail: every recipient" 2 "$(tr '|' '\n' < "$TMP/fail2" | grep -c '^action=550 5.7.23 ')"

# Temperror (an include that times out) with spf_temperror_defer.
got=$(request 192.0.2.1 mx.example.net x@tempinc.test a@example.org t1 | actions 1)
expect_prefix "SPF temperror deferred" "action=451 4.7.24 Message deferred due to: SPF temperror - " "$got"

# Softfail and none are accepted, with their header.
got=$(request 192.0.2.1 mx.example.net x@softfail.test a@example.org s1 | actions 1)
expect_prefix "SPF softfail accepted" "action=PREPEND Received-SPF: Softfail " "$got"
got=$(request 192.0.2.1 mx.example.net x@nospf.test a@example.org n1 | actions 1)
expect_prefix "SPF none accepted" "action=PREPEND Received-SPF: None " "$got"

# Bad HELO names (default actions reject), before SPF.
got=$(request 192.0.2.1 localhost x@pass.test a@example.org h1 | actions 1)
expect_eq "HELO localhost" \
    "action=554 5.7.1 Invalid HELO/EHLO; localhost is not a name another host may use" "$got"
got=$(request 192.0.2.1 192.0.2.1 x@pass.test a@example.org h2 | actions 1)
expect_eq "HELO bare IP" \
    "action=501 5.5.2 Invalid HELO/EHLO; an IP address must be written as a literal such as [192.0.2.1]" \
    "$got"
got=$(request 192.0.2.1 winbox x@pass.test a@example.org h3 | actions 1)
expect_eq "HELO single label" \
    "action=504 5.5.2 Invalid HELO/EHLO; not a fully qualified domain name" "$got"
got=$(request 192.0.2.1 "" x@pass.test a@example.org h4 | actions 1)
expect_eq "no HELO" "action=503 5.5.1 Invalid HELO/EHLO; none was sent" "$got"
got=$(request 192.0.2.1 "[192.0.2.1]" x@pass.test a@example.org h5 | actions 1)
expect_prefix "HELO literal of the client" "action=PREPEND Received-SPF: Pass " "$got"
stop_daemon

# Greylisting on: the SPF header goes with the first accepted recipient,
# X-Greylist with the next, nothing with the third.
start_daemon grey "greylist_delay = 1s
spf_header = authentication-results"
{ request 192.0.2.1 mx.example.net x@pass.test a@example.org g1
  request 192.0.2.1 mx.example.net x@pass.test b@example.org g1
  request 192.0.2.1 mx.example.net x@pass.test c@example.org g1; } | actions 3 > "$TMP/g1"
expect_eq "greylisted first" 3 "$(tr '|' '\n' < "$TMP/g1" | grep -c '^action=451 4.7.1 Greylisted')"
sleep 2
{ request 192.0.2.1 mx.example.net x@pass.test a@example.org g2
  request 192.0.2.1 mx.example.net x@pass.test b@example.org g2
  request 192.0.2.1 mx.example.net x@pass.test c@example.org g2; } | actions 3 > "$TMP/g2"
expect_prefix "1st recipient: Authentication-Results" \
    "action=PREPEND Authentication-Results: mx.receiver.test; spf=pass " "$(cut -d'|' -f1 < "$TMP/g2")"
expect_prefix "2nd recipient: X-Greylist" "action=PREPEND X-Greylist: delayed " \
    "$(cut -d'|' -f2 < "$TMP/g2")"
expect_eq "3rd recipient: no header" "action=DUNNO" "$(cut -d'|' -f3 < "$TMP/g2")"
stop_daemon

# HELO checks against DNS.  host.test has A 192.0.2.50 and AAAA
# 2001:db8::50, and 192.0.2.50's PTR is host.test.
start_daemon helodns "greylist = no
spf = no
helo_resolve = reject
helo_match = reject"
got=$(request 192.0.2.50 host.test x@example.org a@example.org h1 | actions 1)
expect_eq "HELO resolves to the client" "action=DUNNO" "$got"
got=$(request 192.0.2.51 host.test x@example.org a@example.org h2 | actions 1)
expect_prefix "HELO resolves, not to the client" "action=554 5.7.1 Invalid HELO/EHLO" "$got"
got=$(request 192.0.2.50 nosuch.test x@example.org a@example.org h3 | actions 1)
expect_prefix "HELO does not resolve" "action=554 5.7.1 Invalid HELO/EHLO" "$got"
got=$(request 192.0.2.50 x.timeout.test x@example.org a@example.org h4 | actions 1)
expect_prefix "HELO lookup times out: deferred, never rejected" "action=450 4.7.1 " "$got"
stop_daemon
start_daemon fcrdns "greylist = no
spf = no
helo_fcrdns = defer"
got=$(request 192.0.2.50 host.test x@example.org a@example.org r1 | actions 1)
expect_eq "forward-confirmed reverse DNS" "action=DUNNO" "$got"
got=$(request 192.0.2.52 host.test x@example.org a@example.org r2 | actions 1)
expect_prefix "no PTR for the client" "action=450 4.7.25 " "$got"
stop_daemon

# A HELO name served with TTL 0 (ttl0.test) is looked up once for five
# messages, not once (or twice: resolves, matches the client) per message:
# the resolver keeps positive answers for at least min_ttl (a count of the
# fixture's own log, not a time).
start_daemon ttl0 "greylist = no
spf = no
helo_resolve = defer
helo_match = defer"
q0=$(grep -c 'query\[A\] ttl0\.test ' "$DNS_LOG")
for i in 1 2 3 4 5; do
    got=$(request 192.0.2.60 ttl0.test x@example.org a@example.org "t$i" | actions 1)
    expect_eq "TTL-0 HELO name, message $i" "action=DUNNO" "$got"
done
nap 0.3  # dnsmasq writes its log asynchronously
expect_eq "one A query for ttl0.test in five messages" 1 \
    "$(( $(grep -c 'query\[A\] ttl0\.test ' "$DNS_LOG") - q0 ))"
stop_daemon

# -n accepts the keys, and refuses a bad DNS server or HELO action.
printf 'dns_server = nonsense:x\n' > "$TMP/bad1.conf"
run_capture "$POSTAGED" -n -c "$TMP/bad1.conf"
case "$rc/$err" in 1/*"dns_server"*) ;; *) fail "bad dns_server: $rc $err" ;; esac
printf 'helo_bare_ip = maybe\n' > "$TMP/bad2.conf"
run_capture "$POSTAGED" -n -c "$TMP/bad2.conf"
case "$rc/$err" in 1/*"bad2.conf:1: helo_bare_ip: 'maybe' is not one of"*) ;;
    *) fail "bad helo action: $rc $err" ;; esac
printf 'spf_whitelist_clients = not-a-network\n' > "$TMP/bad3.conf"
run_capture "$POSTAGED" -n -c "$TMP/bad3.conf"
expect_eq "bad spf_whitelist_clients" 1 "$rc"
finish
