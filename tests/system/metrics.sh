#!/bin/sh
# metrics.sh - postaged's metrics endpoint (metrics_listen) during a run:
# postaged with the policy server, the milter and metrics on free loopback
# ports (postage priced at 8 bits, greylisting for an hour, no SPF or HELO
# checks); the test makes a known set of decisions and scrapes /metrics
# with python3's urllib:
#   - the answer is the Prometheus text format (Content-Type version
#     0.0.4), and `promtool check metrics` (Debian prometheus) passes it
#     when promtool is installed (else that one check is skipped, said);
#   - 3 recipients greylisted by the policy server: 3 policy/greylist/DEFER
#     decisions and 3 policy latencies; through the milter, a stamp that
#     pays and the same stamp again: 1 postage/DUNNO and 1 postage/DEFER
#     decision at end of headers, stamps paid 1 and replayed 1; 5 prices;
#     store calls counted, none failed;
#   - with dnsmasq (tests/lib/dns_harness.sh), one message through the
#     stamping milter: 1 stamp/stamp/DUNNO decision, 1 minting time, its
#     price looked up by the stamp resolver (else that part is skipped, said);
#   - after SIGHUP no counter is lower, and a decision after it counts on;
#   - another path is 404; metrics_listen = unix:... is refused by -n; a
#     metrics port already taken refuses the start, naming metrics_listen.
. "${top_srcdir:-.}/tests/lib/testlib.sh"

require_built "$POSTAGED" "$MINT" "$MCLIENT" "$PDCLIENT"
command -v python3 > /dev/null 2>&1 || skip "python3 is not installed"

PPORT=$("$PDCLIENT" --free-port)
MPORT=$("$PDCLIENT" --free-port)
XPORT=$("$PDCLIENT" --free-port)
SPORT=
if command -v dnsmasq > /dev/null 2>&1; then
    . "${top_srcdir:-.}/tests/lib/dns_harness.sh"
    dns_start "--txt-record=_postage.paid.test,v=POSTAGE1; b=8"
    SPORT=$("$PDCLIENT" --free-port)
else
    echo "metrics.sh: dnsmasq not installed: the stamping milter's metrics are not checked" >&2
fi
postaged_conf "policy_listen=inet:127.0.0.1:$PPORT" "milter_listen=inet:127.0.0.1:$MPORT" \
    "metrics_listen=inet:127.0.0.1:$XPORT" hostname=metrics.test postage=yes price_base=8 \
    greylist_delay=1h spf=no helo_checks=no price_allowance=1000000 \
    ${SPORT:+"stamp_listen=inet:127.0.0.1:$SPORT" "dns_server=127.0.0.1:$DNS_PORT" stamp_threads=1}

# A metrics_listen no scraper can reach is refused by the check.
postaged_conf -o "$TMP/unix.conf" "policy_listen=inet:127.0.0.1:$PPORT" \
    "metrics_listen=unix:$TMP/metrics.sock"
run_capture "$POSTAGED" -n -c "$TMP/unix.conf"
expect_eq "metrics_listen = unix:...: -n exit status" 1 "$rc"
case $err in
    *"metrics_listen"*"inet:HOST:PORT"*) ;;
    *) fail "metrics_listen = unix:...: unclear message: $err" ;;
esac

"$POSTAGED" -c "$TMP/postaged.conf" -f 2> "$TMP/postaged.log" &
pid=$!
kill_at_exit "$pid"
wait_policy_answer "$PPORT" "$TMP/postaged.log"
wait_listen "$MPORT" 10 "$pid" || { fail "milter did not start: $(cat "$TMP/postaged.log")"; finish; }
wait_listen "$XPORT" 10 "$pid" || { fail "metrics did not start: $(cat "$TMP/postaged.log")"; finish; }

# scrape FILE: GET /metrics into FILE (the body), FILE.type (Content-Type).
cat > "$TMP/scrape.py" <<'PY'
import sys, urllib.request, urllib.error
url, out = sys.argv[1], sys.argv[2]
try:
    with urllib.request.urlopen(url, timeout=10) as r:
        body = r.read()
        ctype = r.headers.get("Content-Type", "")
        status = r.status
except urllib.error.HTTPError as e:
    body, ctype, status = b"", "", e.code
open(out, "wb").write(body)
open(out + ".type", "w").write("%d %s\n" % (status, ctype))
PY
scrape() {
    python3 "$TMP/scrape.py" "http://127.0.0.1:$XPORT${2:-/metrics}" "$1" ||
        fail "scraping ${2:-/metrics} failed"
}
# value FILE SERIES: the sample's value (SERIES as written, labels included);
# "absent" if there is none.
value() {
    awk -v s="$2" '$1 == s { v = $2 } END { print (v == "" ? "absent" : v) }' "$1"
}

# 3 recipients greylisted by the policy server (3 messages).
request() {
    printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n'
    printf 'client_address=192.0.2.%s\nclient_name=mx.example.net\nhelo_name=mx.example.net\n' "$1"
    printf 'sender=alice@example.net\nrecipient=rcpt%s@example.org\ninstance=i%s\n\n' "$1" "$1"
}
for n in 1 2 3; do
    got=$(request "$n" | "$PDCLIENT" "$PPORT" --expect 1 | head -n 1)
    case $got in action=DEFER* | "action=4"[0-9][0-9]" "*) ;; *) fail "policy request $n: '$got', expected a deferral" ;; esac
done

# Through the milter: a stamp that pays, then the same stamp again.
stamp=$("$MINT" -b 8 -X bob@example.org) || { fail "postage-mint failed"; finish; }
printf 'bob@example.org\tSubject: stamped\t%s\n' "$stamp" > "$TMP/paid.in"
printf 'bob@example.org\tSubject: again\t%s\n' "$stamp" > "$TMP/replay.in"
"$MCLIENT" --connect "inet:127.0.0.1:$MPORT" "$TMP/paid.in" > "$TMP/paid.out" 2>&1 ||
    fail "milter client (paid): $(cat "$TMP/paid.out")"
"$MCLIENT" --connect "inet:127.0.0.1:$MPORT" "$TMP/replay.in" > "$TMP/replay.out" 2>&1 ||
    fail "milter client (replay): $(cat "$TMP/replay.out")"
expect_eq "replayed stamp: action" tempfail "$(cut -f 2 "$TMP/replay.out" | head -n 1)"

# The stamping milter: an authenticated client's message to a domain
# that asks 8 bits.
if [ -n "$SPORT" ]; then
    wait_listen "$SPORT" 10 "$pid" || fail "the stamping milter did not start"
    printf 'bob@paid.test\tTo: bob@paid.test\n' > "$TMP/stamp.in"
    "$MCLIENT" --connect "inet:127.0.0.1:$SPORT" --show-headers --timeout 60000 \
        --client-addr 203.0.113.5 --auth alice "$TMP/stamp.in" > "$TMP/stamp.out" 2>&1 ||
        fail "milter client (stamp): $(cat "$TMP/stamp.out")"
    grep -q 'X-Hashcash: 1:8:' "$TMP/stamp.out" || fail "no stamp added: $(cat "$TMP/stamp.out")"
fi

scrape "$TMP/m1"
case $(cat "$TMP/m1.type") in
    "200 text/plain; version=0.0.4"*) ;;
    *) fail "/metrics: status and type '$(cat "$TMP/m1.type")'" ;;
esac
PROMTOOL=${PROMTOOL:-$(command -v promtool || true)}
if [ -n "$PROMTOOL" ]; then
    "$PROMTOOL" check metrics < "$TMP/m1" > "$TMP/promtool.out" 2>&1 ||
        fail "promtool check metrics: $(cat "$TMP/promtool.out")"
else
    echo "metrics.sh: promtool not installed (Debian prometheus): its check is skipped" >&2
fi
D=postage_decisions_total
expect_eq "policy greylist defers" 3 "$(value "$TMP/m1" "$D{frontend=\"policy\",module=\"greylist\",action=\"DEFER\"}")"
expect_eq "milter: paid message" 1 "$(value "$TMP/m1" "$D{frontend=\"milter\",module=\"postage\",action=\"DUNNO\"}")"
expect_eq "milter: replayed message" 1 "$(value "$TMP/m1" "$D{frontend=\"milter\",module=\"postage\",action=\"DEFER\"}")"
expect_eq "stamps paid" 1 "$(value "$TMP/m1" 'postage_stamps_total{result="paid"}')"
expect_eq "stamps replayed" 1 "$(value "$TMP/m1" 'postage_stamps_total{result="replayed"}')"
expect_eq "policy latencies" 3 "$(value "$TMP/m1" 'postage_request_duration_seconds_count{frontend="policy"}')"
expect_eq "prices" 5 "$(value "$TMP/m1" 'postage_message_price_count')"
expect_eq "price +Inf bucket" 5 "$(value "$TMP/m1" 'postage_message_price_bucket{le="+Inf"}')"
expect_eq "state store errors" 0 "$(value "$TMP/m1" 'postage_store_errors_total{store="state"}')"
expect_eq "stamp store errors" 0 "$(value "$TMP/m1" 'postage_store_errors_total{store="stamps"}')"
ops=$(value "$TMP/m1" 'postage_store_operations_total{store="state"}')
[ "$ops" != absent ] && [ "$ops" -gt 0 ] || fail "state store operations: $ops"
# one look-up and one spend at least
ops=$(value "$TMP/m1" 'postage_store_operations_total{store="stamps"}')
[ "$ops" != absent ] && [ "$ops" -ge 2 ] || fail "stamp store operations: $ops"
if [ -n "$SPORT" ]; then
    expect_eq "stamping milter: decisions" 1 "$(value "$TMP/m1" "$D{frontend=\"stamp\",module=\"stamp\",action=\"DUNNO\"}")"
    expect_eq "stamping milter: latencies" 1 "$(value "$TMP/m1" 'postage_request_duration_seconds_count{frontend="stamp"}')"
    expect_eq "stamping milter: mintings" 1 "$(value "$TMP/m1" 'postage_mint_duration_seconds_count')"
    n=$(value "$TMP/m1" 'postage_dns_lookups_total{resolver="stamp"}')
    [ "$n" != absent ] && [ "$n" -ge 1 ] || fail "stamp resolver lookups: $n"
fi
expect_eq "no DNS checks: no lookups" 0 "$(value "$TMP/m1" 'postage_dns_lookups_total{resolver="checks"}')"

# SIGHUP: the registry is not rebuilt, no counter goes lower, and a
# decision made by the new engine counts on.
kill -HUP "$pid"
i=0
until grep -q 'reload: configuration' "$TMP/postaged.log"; do
    i=$((i + 1)); [ $i -lt 50 ] || { fail "no reload logged"; break; }
    nap 0.1
done
scrape "$TMP/m2"
awk 'NR == FNR { if ($1 !~ /^#/) was[$1] = $2; next }
     $1 !~ /^#/ && ($1 in was) && $2 + 0 < was[$1] + 0 { print $1, was[$1], "->", $2 }
     END { }' "$TMP/m1" "$TMP/m2" > "$TMP/lower"
[ -s "$TMP/lower" ] && fail "counters lower after SIGHUP: $(cat "$TMP/lower")"
expect_eq "after SIGHUP: series" "$(grep -vc '^#' "$TMP/m1")" "$(grep -vc '^#' "$TMP/m2")"
got=$(request 4 | "$PDCLIENT" "$PPORT" --expect 1 | head -n 1)
case $got in action=DEFER* | "action=4"[0-9][0-9]" "*) ;; *) fail "policy request 4: '$got', expected a deferral" ;; esac
scrape "$TMP/m3"
expect_eq "after SIGHUP: greylist defers count on" 4 "$(value "$TMP/m3" "$D{frontend=\"policy\",module=\"greylist\",action=\"DEFER\"}")"
expect_eq "after SIGHUP: stamps paid kept" 1 "$(value "$TMP/m3" 'postage_stamps_total{result="paid"}')"

# A second daemon on the same metrics port does not start.
postaged_conf -o "$TMP/busy.conf" "policy_listen=inet:127.0.0.1:$("$PDCLIENT" --free-port)" \
    "metrics_listen=inet:127.0.0.1:$XPORT" "store=lmdb:$TMP/state2"
run_capture "$POSTAGED" -f -c "$TMP/busy.conf"
expect_eq "metrics port taken: exit status" 1 "$rc"
case $err in
    *"metrics_listen: inet:127.0.0.1:$XPORT: "*) ;;
    *) fail "metrics port taken: unclear message: $err" ;;
esac

scrape "$TMP/nf" /nothing
expect_eq "another path" 404 "$(cut -d ' ' -f 1 "$TMP/nf.type")"
[ "$failures" -eq 0 ] || { echo "---- metrics" >&2; cat "$TMP/m1" >&2; tail -n 20 "$TMP/postaged.log" >&2; }
finish
