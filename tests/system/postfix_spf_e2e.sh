#!/bin/sh
# postfix_spf_e2e.sh - SPF end to end: dnsmasq serves the test zone on a
# loopback port, postaged resolves through it (dns_server), and a private
# Postfix wired to both of postaged's front-ends receives mail from swaks.
# A forged sender is rejected with 5.7.23; a good one is delivered with the
# Received-SPF header exactly once in each copy, even with three recipients.
# Tests may only talk to loopback, and libspf2 passes every loopback
# client whatever the record says, so swaks presents a documentation
# address (192.0.2.10) with Postfix's XCLIENT command: Postfix then hands
# that address to both front-ends as the client's.  pass.test authorises
# 192.0.2.0/24.
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/lib/postfix_harness.sh"
. "${top_srcdir:-.}/tests/lib/dns_harness.sh"

require_built "$POSTAGED"
command -v swaks >/dev/null 2>&1 || skip "swaks is not installed (apt-get install swaks)"

dns_start
POLICY_PORT=$(free_port)
MILTER_PORT=$(free_port)
postaged_conf "policy_listen=inet:127.0.0.1:$POLICY_PORT" \
    "milter_listen=inet:127.0.0.1:$MILTER_PORT" hostname=spf-e2e.example greylist=no \
    "dns_server=127.0.0.1:$DNS_PORT" dns_timeout=1000
"$POSTAGED" -c "$TMP/postaged.conf" -f 2> "$TMP/postaged.log" &
postaged_pid=$!
kill_at_exit "$postaged_pid"
wait_listen "$POLICY_PORT" 10 "$postaged_pid" && wait_listen "$MILTER_PORT" 10 "$postaged_pid" ||
    { fail "postaged did not start: $(cat "$TMP/postaged.log")"; finish; }
pf_start --policy "127.0.0.1:$POLICY_PORT" --milter "127.0.0.1:$MILTER_PORT" \
    --policy-default-action DUNNO --milter-default-action accept \
    -o 'smtpd_authorized_xclient_hosts = 127.0.0.0/8'

show_logs() {
    echo "---- swaks" >&2; pf_transcript >&2
    echo "---- postaged" >&2; tail -n 20 "$TMP/postaged.log" >&2
}

# A forged sender: fail.test publishes "v=spf1 -all".
AS_CLIENT="--swaks-opt --xclient-addr --swaks-opt 192.0.2.10"
# shellcheck disable=SC2086
pf_send forger@fail.test bob@example.test --header 'Subject: forged' $AS_CLIENT
pf_transcript | grep -q '^<\*\* *550 5\.7\.23 ' || { fail "forged sender not rejected with 5.7.23"; show_logs; }

# A good sender, three recipients: one Received-SPF header in each copy.
# shellcheck disable=SC2086
pf_send alice@pass.test r1@example.test r2@example.test r3@example.test \
    --header 'Subject: good' $AS_CLIENT || { fail "the good sender was refused"; show_logs; }
for r in r1 r2 r3; do
    msg=$(pf_wait_delivered "$r@example.test" 20) || { fail "nothing delivered to $r"; show_logs; continue; }
    expect_eq "Received-SPF headers for $r" 1 "$(grep -c '^Received-SPF: Pass ' "$msg")"
done
grep -q 'SPF pass' "$TMP/postaged.log" || fail "no SPF decision in postaged's log"

# The same through the milter alone (as with Sendmail): postaged without a
# policy service adds the header itself, once, at end of message.
kill "$postaged_pid"
wait "$postaged_pid" 2>/dev/null
sed -i 's/^policy_listen = .*/policy_listen =/' "$TMP/postaged.conf"
"$POSTAGED" -c "$TMP/postaged.conf" -f 2> "$TMP/postaged2.log" &
postaged_pid=$!
kill_at_exit "$postaged_pid"
wait_listen "$MILTER_PORT" 10 "$postaged_pid" ||
    { fail "postaged (milter only) did not start: $(cat "$TMP/postaged2.log")"; finish; }
pf_start --milter "127.0.0.1:$MILTER_PORT" --milter-default-action accept \
    -o 'smtpd_authorized_xclient_hosts = 127.0.0.0/8'
# shellcheck disable=SC2086
pf_send forger@fail.test bob@example.test --header 'Subject: forged' $AS_CLIENT
pf_transcript | grep -q '^<\*\* *550 5\.7\.23 ' ||
    { fail "milter: forged sender not rejected with 5.7.23"; show_logs; }
# shellcheck disable=SC2086
pf_send carol@pass.test m1@example.test m2@example.test --header 'Subject: milter' $AS_CLIENT ||
    { fail "milter: the good sender was refused"; show_logs; }
for r in m1 m2; do
    msg=$(pf_wait_delivered "$r@example.test" 20) || { fail "milter: nothing delivered to $r"; continue; }
    expect_eq "milter: Received-SPF headers for $r" 1 "$(grep -c '^Received-SPF: Pass ' "$msg")"
done
finish
