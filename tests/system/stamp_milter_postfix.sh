#!/bin/sh
# stamp_milter_postfix.sh - the stamping milter behind a real Postfix (the
# private instance of tests/lib/postfix_harness.sh) as non_smtpd_milters,
# the price served by a private dnsmasq: "_postage.example.test" b=10.
#
# A message submitted with Postfix's sendmail(1) to bob (in To) and dave
# (blind) must reach Postfix's milter as a local submission (what cleanup
# pretends for non-SMTP mail: "localhost" [127.0.0.1] port 0, which the
# milter tells from an SMTP client), and be delivered once to each: bob's
# copy with exactly one stamp, for bob, and not a word of dave; dave's copy
# (injected through stamp_sendmail = Postfix's sendmail -C, which comes
# back through the milter and is passed as it is) with exactly one stamp,
# for dave.  Each stamp is checked by postage-verify.  Then the same with
# stamp_sendmail failing: dave's mail is delivered all the same, in the
# shared message, unstamped.
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/lib/postfix_harness.sh"
. "${top_srcdir:-.}/tests/lib/dns_harness.sh"

require_built "$POSTAGED"
require_built "$VERIFY"
[ -x /usr/sbin/sendmail ] && command -v postconf > /dev/null 2>&1 ||
    skip "Postfix's sendmail is not installed (apt-get install postfix)"
watchdog 300

dns_start "--txt-record=_postage.example.test,v=POSTAGE1; b=10"

STAMP_PORT=$(free_port)
pf_start -o "non_smtpd_milters = inet:127.0.0.1:$STAMP_PORT" \
    -o "milter_default_action = tempfail"
postaged_conf "stamp_listen=inet:127.0.0.1:$STAMP_PORT" "dns_server=127.0.0.1:$DNS_PORT" \
    stamp_clients= stamp_timeout=30s "stamp_sendmail=/usr/sbin/sendmail -C $PF_CONF"
"$POSTAGED" -c "$TMP/postaged.conf" -f 2> "$TMP/postaged.log" &
pid=$!
kill_at_exit "$pid"
wait_listen "$STAMP_PORT" 10 "$pid" ||
    { fail "postaged did not start: $(cat "$TMP/postaged.log")"; finish; }

show_logs() {
    echo "---- postaged" >&2; tail -n 20 "$TMP/postaged.log" >&2
    echo "---- postfix" >&2; pf_log | tail -n 30 >&2
}

# submit SUBJECT: ann@sender.test to bob (To) and dave (blind)
submit() {
    printf 'From: ann@sender.test\nTo: bob@example.test\nSubject: %s\n\nHello.\n' "$1" |
        /usr/sbin/sendmail -C "$PF_CONF" -i -f ann@sender.test -- bob@example.test dave@example.test ||
        fail "$1: sendmail failed"
}
# stamps FILE: the X-Hashcash stamps of a delivered message's header
stamps() { sed -n '/^$/q; s/^X-Hashcash: //p' "$1"; }
# one_stamp WHAT FILE RCPT: exactly one stamp, and it verifies for RCPT at 10 bits
one_stamp() {
    _s=$(stamps "$2")
    expect_eq "$1: one stamp" 1 "$(printf '%s' "$_s" | grep -c .)"
    "$VERIFY" -b 10 -r "$3" "$_s" > /dev/null || fail "$1: the stamp does not verify for $3: $_s"
}

submit first
bob=$(pf_wait_delivered bob@example.test 30) || { fail "nothing delivered to bob"; show_logs; finish; }
dave=$(pf_wait_delivered dave@example.test 30) || { fail "nothing delivered to dave"; show_logs; finish; }
one_stamp "bob's copy" "$bob" bob@example.test
one_stamp "dave's copy" "$dave" dave@example.test
grep -qi dave "$bob" && { fail "bob's copy names dave"; sed -n '/^$/q;p' "$bob" >&2; }
grep -q 'Subject: first' "$dave" || fail "dave's copy lost its Subject"
grep -q '^Hello\.' "$dave" || fail "dave's copy lost its body"
grep -q 'stamp: queue-id [0-9A-F]*: stamped 2 of 2 recipients, 1 in a copy of their own (submitted locally' \
    "$TMP/postaged.log" || { fail "no log line for the shared message"; show_logs; }
grep -q 'stamp: queue-id [0-9A-F]*: stamped 0 of 1 recipient, 1 paid already (submitted locally' \
    "$TMP/postaged.log" || { fail "no log line for dave's copy coming back"; show_logs; }

# The injection failing: dave gets the shared message, unstamped.
cat > "$TMP/failing-sendmail" <<'EOF'
#!/bin/sh
cat > /dev/null
exit 75
EOF
chmod +x "$TMP/failing-sendmail"
printf 'stamp_sendmail = %s\n' "$TMP/failing-sendmail" >> "$TMP/postaged.conf"
kill -HUP "$pid"
i=0
until grep -q 'reload: configuration' "$TMP/postaged.log"; do
    i=$((i + 1)); [ $i -lt 100 ] || { fail "no reload"; break; }; sleep 0.1
done
submit second
bob=$(pf_wait_delivered bob@example.test 30 2) || { fail "the second message not delivered to bob"; show_logs; finish; }
dave=$(pf_wait_delivered dave@example.test 30 2) || { fail "the second message not delivered to dave"; show_logs; finish; }
grep -q 'Subject: second' "$dave" || fail "dave's newest mail is not the second message"
one_stamp "bob's second" "$bob" bob@example.test
expect_eq "dave's second: no stamp for dave" "" "$(stamps "$dave" | grep -i dave)"
grep -q 'exited with status 75; kept unstamped' "$TMP/postaged.log" ||
    { fail "the failed injection is not logged"; show_logs; }
expect_eq "each got each message once" "2 2" \
    "$(pf_mail_count bob@example.test) $(pf_mail_count dave@example.test)"
finish
