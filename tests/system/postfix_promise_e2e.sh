#!/bin/sh
# postfix_promise_e2e.sh - the published price is a promise (issue 19), end
# to end: a private Postfix with postaged's milter on defaults, dnsmasq
# serving the test zone, mail from swaks presenting outside addresses with
# XCLIENT (as postfix_spf_e2e.sh explains), stamps from postage-mint at the
# bits of the record `postaged --dns-record` prints.  Every sender below has
# a HELO name that does not resolve and an SPF-less domain (nospf.test), so
# its own price is above the published one.
#   - a sender not in bad standing, paying exactly the published bits, is
#     taken on the first attempt, and the trace header says "promise";
#   - such a sender unpaid is greylisted, the 451 naming the published price;
#   - a sender in bad standing (its record seeded with a HELO failure) is
#     asked its own, higher price, and a stamp at the published bits does not
#     pay for it.
# Each sender has its own address and client address, so that one's record
# does not change another's.
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/lib/postfix_harness.sh"
. "${top_srcdir:-.}/tests/lib/dns_harness.sh"
. "${top_srcdir:-.}/tests/lib/postaged_harness.sh"

SEED="$top_builddir/tests/system/rep_seed"
require_built "$POSTAGED" "$MINT" "$REPUTATION" "$SEED"
command -v swaks >/dev/null 2>&1 || skip "swaks is not installed (apt-get install swaks)"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

dns_start
MILTER_PORT=$(free_port)
postaged_conf "milter_listen=inet:127.0.0.1:$MILTER_PORT" hostname=promise-e2e.example \
    "dns_server=127.0.0.1:$DNS_PORT" dns_timeout=1000

# The record, as the postmaster would publish it.
line=$("$POSTAGED" -c "$TMP/postaged.conf" --dns-record example.test) ||
    { fail "postaged --dns-record failed"; finish; }
BITS=$(printf '%s\n' "$line" | sed -n 's/^_postage\.example\.test\. [0-9]* IN TXT "v=POSTAGE1; b=\([0-9]*\)"$/\1/p')
[ -n "$BITS" ] || { fail "no b= in the record: $line"; finish; }
expect_eq "the published price on defaults is price_base" 20 "$BITS"

# A sender in bad standing: an SPF failure on its record (net -4, which
# adds 2 bits; its own price stays under price_cap, so it is not refused).
BAD_SENDER=bad@nospf.test
BAD_ADDR=192.0.2.79
"$SEED" "lmdb:$TMP/state" "$(date +%s)" "sender:192.0.2.0/24 $BAD_SENDER" spf_failures=1 \
    messages=1 || fail "rep_seed"

postaged_start "$MILTER_PORT"
pf_start --milter "127.0.0.1:$MILTER_PORT" --milter-default-action tempfail \
    -o 'smtpd_authorized_xclient_hosts = 127.0.0.0/8'

HELO=mail.nowhere.test          # not in the zone: NXDOMAIN
# send FROM CLIENT_ADDRESS TO [--header ...]
send() {
    _from=$1 _addr=$2; shift 2
    pf_send "$_from" "$@" --helo "$HELO" --swaks-opt --xclient-addr --swaks-opt "$_addr"
}
stamp_header() {   # RESOURCE BITS: an "X-Hashcash: ..." line
    "$MINT" -j 1 -X -b "$2" "$1"
}

# 1. Not in bad standing, paying exactly the published bits: taken at once.
stamp=$(stamp_header bob@example.test "$BITS")
send good@nospf.test 192.0.2.77 bob@example.test --header 'Subject: paid' --header "$stamp" ||
    { fail "the paid message was not taken on the first attempt"; show_logs; }
msg=$(pf_wait_delivered bob@example.test 20) || { fail "nothing delivered to bob"; show_logs; }
grep -q "^X-Postage-Result: promise-e2e.example; price=$BITS; promise; reputation=unknown; stamps=1; replayed=0; invalid=0; rcpt=<bob@example.test> paid [0-9]*/$BITS\$" "$msg" ||
    { fail "no X-Postage-Result saying bob paid the promised $BITS"; grep '^X-Postage' "$msg" >&2; }
# The sender's own price was higher: the promise lowered it (the HELO name
# and SPF none each add to it).
grep -q "postage: price $BITS (promise)" "$TMP/postaged.log" || fail "the log does not say the promise applied"

# 1b. The same host and sender again, to another recipient.  Its first
#     message counted a failed HELO test against it (4 points, more than the
#     3 that message earned), so its record's score is below 0 now; but a
#     HELO name that does not resolve is how a host is set up, not abuse,
#     and it keeps the promise.
wait_messages "ip:192.0.2.77" 1
expect_eq "the host's failed HELO tests" 1 "$(rep ip:192.0.2.77 'round(d["counters"]["helo_failures"])')"
expect_eq "the host's band after one message" bad "$(rep ip:192.0.2.77 'd["band"]')"
stamp=$(stamp_header erin@example.test "$BITS")
send good@nospf.test 192.0.2.77 erin@example.test --header 'Subject: paid again' --header "$stamp" ||
    { fail "the second paid message from a host with a failing HELO name was not taken"; show_logs; }
pf_wait_delivered erin@example.test 20 >/dev/null || { fail "nothing delivered to erin"; show_logs; }

# 2. The same kind of sender without a stamp: greylisted, and the 451
#    names the published price.
send other@nospf.test 192.0.2.78 carol@example.test --header 'Subject: unpaid'
pf_transcript | grep -q '^<\*\* *451[ -]4\.7\.1 Greylisted: retry in [0-9]* seconds, or attach X-Hashcash with [0-9]* bits for <carol@example.test>' ||
    { fail "the unpaid sender was not greylisted naming the price"; show_logs; }
expect_eq "the price asked of an unpaid sender in good standing" "$BITS" "$(asked_price)"
expect_eq "carol's messages" 0 "$(pf_mail_count carol@example.test)"

# 3. In bad standing: its own price, above the published one, named in the
#    451; a stamp at the published bits does not pay for it.
stamp=$(stamp_header dave@example.test "$BITS")
send "$BAD_SENDER" "$BAD_ADDR" dave@example.test --header 'Subject: bad standing' \
    --header "$stamp"
own=$(asked_price)
[ -n "$own" ] && [ "$own" -gt "$BITS" ] ||
    { fail "a sender in bad standing was asked '$own', not more than $BITS"; show_logs; }
pf_transcript | grep -q "^<\*\* *451 4\.7\.1 The stamp for <dave@example.test> did not pay: it is worth [0-9]* bits, $own needed" ||
    { fail "the deferral did not say the published bits are too few for a bad sender"; show_logs; }
expect_eq "dave's messages" 0 "$(pf_mail_count dave@example.test)"
finish
