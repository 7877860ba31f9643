#!/bin/sh
# postfix_quote_e2e.sh - the promises a deferral makes to a sender, kept at
# the SMTP level: a private Postfix with postaged's milter, dnsmasq serving
# the SPF test zone, clients at outside addresses through XCLIENT, stamps
# minted by postage-mint.  The sender here does exactly what each 451 says.
#   1. A quote is a promise: an SPF-passing relay whose HELO name does not
#      resolve is quoted P bits; the retry with a P-bit stamp is delivered.
#   2. It holds whatever the counters do: after the quote the host's price
#      is pinned higher, and the quoted stamp still pays.  It is bound to
#      its triplet: another recipient, or another sender, pays the new
#      price.
#   3. A retry is not a new message: six messages to new recipients, each
#      deferred once and then paid as quoted, are quoted a price that never
#      rises, and the domain's record counts each message once.
#   4. Host faults stay with the host: the HELO failures are charged to
#      ip:192.0.2.10, not to domain:pass.test, and a well-configured host
#      of the same domain pays no more than a stranger with SPF pass.
#   5. A refusal says why: a stamp that is malformed, for another
#      recipient, worth too few bits, expired, dated in the future, a v0
#      stamp, or already spent, gets a multi-line 451 naming the reason
#      (and the log line says the same).
# Greylisting waits an hour, so that every delivery here was paid for.
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/lib/postfix_harness.sh"
. "${top_srcdir:-.}/tests/lib/dns_harness.sh"
. "${top_srcdir:-.}/tests/lib/postaged_harness.sh"

require_built "$POSTAGED" "$MINT" "$REPUTATION"
command -v swaks >/dev/null 2>&1 || skip "swaks is not installed (apt-get install swaks)"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

dns_start
MILTER_PORT=$(free_port)
BASE=12
SPF_CREDIT=2
# The HELO tests are on their defaults (the DNS tests score), so that a
# HELO name without an address raises the price, as for a real relay.
postaged_conf "milter_listen=inet:127.0.0.1:$MILTER_PORT" hostname=quote-e2e.example \
    "dns_server=127.0.0.1:$DNS_PORT" dns_timeout=1000 greylist_delay=1h "price_base=$BASE" \
    price_cap=24 "price_spf_credit=$SPF_CREDIT"
postaged_start "$MILTER_PORT"
pf_start --milter "127.0.0.1:$MILTER_PORT" --milter-default-action tempfail \
    -o 'smtpd_authorized_xclient_hosts = 127.0.0.0/8'

# send HELO CLIENT_ADDRESS FROM TO... [--header ...]
send() {
    _helo=$1 _addr=$2 _from=$3; shift 3
    pf_send "$_from" "$@" --helo "$_helo" --swaks-opt --xclient-addr --swaks-opt "$_addr"
}

stamp_header() {   # RESOURCE BITS [postage-mint options]
    _r=$1 _b=$2; shift 2
    "$MINT" -j 1 -X -b "$_b" "$@" "$_r"
}

RELAY=192.0.2.10
BAD_HELO=relay.pass.test        # no address in the zone: helo_resolve etc. fail

# deliver_as_quoted TO SUBJECT: the first try is deferred with a price;
# the sender attaches a stamp of exactly that price and sends the same
# message again (same Message-ID), which must be delivered.  Sets $quoted.
deliver_as_quoted() {
    _to=$1 _subject=$2
    _mid="<$(date +%s).$$.$_to>"
    send "$BAD_HELO" "$RELAY" alice@pass.test "$_to" --header "Subject: $_subject" \
        --header "Message-Id: $_mid"
    quoted=$(asked_price)
    [ -n "$quoted" ] || { fail "$_subject: no price quoted"; show_logs; return 1; }
    _st=$(stamp_header "$_to" "$quoted")
    send "$BAD_HELO" "$RELAY" alice@pass.test "$_to" --header "Subject: $_subject" \
        --header "Message-Id: $_mid" --header "$_st" ||
        { fail "$_subject: the stamp of the quoted $quoted bits did not pay: $(reply451)"; show_logs; return 1; }
    pf_wait_delivered "$_to" 20 >/dev/null ||
        { fail "$_subject: nothing delivered to $_to"; return 1; }
}

# 1. A quote is a promise.
deliver_as_quoted bob@example.test "first message"
first_quote=$quoted
[ -n "$first_quote" ] && [ "$first_quote" -gt $((BASE - SPF_CREDIT)) ] ||
    fail "a relay with a failing HELO name was not charged for it ($first_quote bits)"

# 2. The quote holds whatever the counters do: quote carol, then pin the
#    host 6 bits higher; the quoted stamp still pays.
send "$BAD_HELO" "$RELAY" alice@pass.test carol@example.test --header 'Subject: pinned' \
    --header 'Message-Id: <pinned.1@pass.test>'
carol_quote=$(asked_price)
[ -n "$carol_quote" ] || { fail "carol was quoted no price"; show_logs; }
pinned=$((carol_quote + 6))
"$REPUTATION" -c "$TMP/postaged.conf" pin "ip:$RELAY" "$pinned" ||
    fail "postage-reputation pin failed"
send "$BAD_HELO" "$RELAY" alice@pass.test dan@example.test --header 'Subject: probe'
expect_eq "the price after the pin" "$pinned" "$(asked_price)"
st=$(stamp_header carol@example.test "$carol_quote")
send "$BAD_HELO" "$RELAY" alice@pass.test carol@example.test --header 'Subject: pinned' \
    --header 'Message-Id: <pinned.1@pass.test>' --header "$st" ||
    { fail "the stamp quoted to carol ($carol_quote bits) did not pay after the pin: $(reply451)"; show_logs; }
#    Bound to its triplet: the same value for dan (not quoted that price),
#    or for carol from another sender, pays nothing.
st=$(stamp_header dan@example.test "$carol_quote")
send "$BAD_HELO" "$RELAY" alice@pass.test dan@example.test --header 'Subject: farm' --header "$st"
case $(reply451) in
    *"The stamp for <dan@example.test> did not pay: it is worth $carol_quote bits, $pinned needed"*) ;;
    *) fail "a quote made to carol paid for dan: '$(reply451)'"; show_logs ;;
esac
st=$(stamp_header carol@example.test "$carol_quote")
send "$BAD_HELO" "$RELAY" mallory@pass.test carol@example.test --header 'Subject: farm' --header "$st"
case $(reply451) in
    *"with $pinned bits for <carol@example.test>"*) ;;
    *) fail "a quote made to alice paid for mallory: '$(reply451)'"; show_logs ;;
esac
"$REPUTATION" -c "$TMP/postaged.conf" unpin "ip:$RELAY" || fail "postage-reputation unpin failed"

# 3. A retry is not a new message: the quotes never rise.
prev=$first_quote
for i in 1 2 3 4 5 6; do
    deliver_as_quoted "new$i@example.test" "new correspondent $i" || continue
    [ "$quoted" -le "$prev" ] || fail "message $i was quoted $quoted bits, more than the $prev before"
    prev=$quoted
done
# Delivered: bob, carol, new1..new6 = 8 messages; tried besides: dan twice
# and mallory once, each a message of its own; no retry counts.
wait_messages domain:pass.test 11
sleep 1
expect_eq "messages counted for domain:pass.test" 11 "$(rep domain:pass.test 'd["messages"]')"

# 4. Host faults stay with the host.
expect_eq "HELO failures charged to the domain" 0 \
    "$(rep domain:pass.test 'round(d["counters"]["helo_failures"])')"
[ "$(rep "ip:$RELAY" 'round(d["counters"]["helo_failures"])')" -ge 1 ] ||
    fail "the relay's HELO failures were not charged to ip:$RELAY"
#    A well-configured host of the same domain (FCrDNS: mail.ptr.test is
#    192.0.2.30 both ways) pays at most what SPF pass alone earns.
send mail.ptr.test 192.0.2.30 zoe@pass.test yan@example.test --header 'Subject: good host'
good=$(asked_price)
[ -n "$good" ] && [ "$good" -le $((BASE - SPF_CREDIT)) ] ||
    { fail "a good host of pass.test was asked $good bits (a stranger with SPF pass: $((BASE - SPF_CREDIT)))"; show_logs; }

# 5. A refusal says why.  One recipient each, from the good host, so that
#    the price is known: $good bits.
today=$(date -u +%y%m%d)
reason_for() {   # TO EXPECTED-REASON HEADER
    send mail.ptr.test 192.0.2.30 zoe@pass.test "$1" --header 'Subject: why' --header "$3"
    case $(reply451) in
        *"or attach X-Hashcash with $good bits for <$1> | The stamp for <$1> did not pay: $2"*) ;;
        *) fail "$1: expected the reason '$2', got: '$(reply451)'"; show_logs ;;
    esac
    grep -q "from=<zoe@pass.test>: The stamp for <$1> did not pay: $2" "$TMP/postaged.log" ||
        fail "$1: the log does not give the reason '$2'"
}
reason_for r1@example.test "it is not a valid stamp" "X-Hashcash: 1:$good:$today:r1@example.test:garbage"
reason_for r2@example.test "it is for another recipient" "$(stamp_header someone@example.test "$good")"
[ "$good" -ge 3 ] || fail "the good host's price ($good) leaves no room for an underpaid stamp"
reason_for r3@example.test "it is worth $((good - 2)) bits, $good needed" \
    "$(stamp_header r3@example.test $((good - 2)))"
reason_for r4@example.test "it has expired" "$(stamp_header r4@example.test "$good" --time 200101)"
future=$(python3 -c 'import time; print(time.strftime("%y%m%d", time.gmtime(time.time() + 30 * 86400)))')
reason_for r5@example.test "it is dated in the future (check your clock)" \
    "$(stamp_header r5@example.test "$good" --time "$future")"
#    A v0 stamp is worth its leading zero bits: pick one with none.
v0=$(python3 -c 'import hashlib, sys
for i in range(1000):
    s = "0:%s:r6@example.test:%d" % (sys.argv[1], i)
    if hashlib.sha1(s.encode()).digest()[0] >= 0x80:
        print(s); break' "$today")
reason_for r6@example.test "it is worth 0 bits, $good needed" "X-Hashcash: $v0"
#    Already spent: paid once, then presented again.
st=$(stamp_header r7@example.test "$good")
send mail.ptr.test 192.0.2.30 zoe@pass.test r7@example.test --header 'Subject: spend' --header "$st" ||
    { fail "r7's stamp did not pay"; show_logs; }
reason_for r7@example.test "it is already spent" "$st"
#    Every line of the reply is within RFC 5321's 512 octets.
pf_transcript | awk 'length($0) > 520 { bad = 1 } END { exit bad }' ||
    fail "a reply line is longer than RFC 5321 allows"

postaged_stop
finish
