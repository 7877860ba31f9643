#!/bin/sh
# postfix_e2e.sh - postaged end to end behind a real Postfix: a private
# Postfix instance on a loopback port, wired to postaged through both
# check_policy_service (RCPT and end of data) and smtpd_milters, mail sent
# with swaks.  Checks: a new triplet is deferred with 4.7.1 and accepted
# after the (short) delay with one X-Greylist header in the delivered
# message; an access-control reject reaches the client with its 5xx text;
# a sender over quota is deferred; Postfix keeps delivering while postaged
# is stopped and postaged's checks resume when it comes back.
# Skipped (77) where Postfix cannot be started; setup.sh installs it.
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/lib/postfix_harness.sh"

require_built "$POSTAGED"
command -v swaks >/dev/null 2>&1 || skip "swaks is not installed (apt-get install swaks)"

POLICY_PORT=$(free_port)
MILTER_PORT=$(free_port)
postaged_conf "policy_listen=inet:127.0.0.1:$POLICY_PORT" \
    "milter_listen=inet:127.0.0.1:$MILTER_PORT" hostname=e2e.example greylist_delay=3s \
    greylist_whitelist_recipients=quota@example.test \
    "access=sender @blocked.example REJECT 5.7.1 Mail from blocked.example is refused here" \
    "quota=sender 1h count 2 DEFER 4.7.1 Sender over quota, slow down"

postaged_pid=
start_postaged() {
    "$POSTAGED" -c "$TMP/postaged.conf" -f 2>> "$TMP/postaged.log" &
    postaged_pid=$!
    kill_at_exit "$postaged_pid"
    wait_listen "$POLICY_PORT" 10 "$postaged_pid" &&
        wait_listen "$MILTER_PORT" 10 "$postaged_pid" ||
        { fail "postaged did not start: $(cat "$TMP/postaged.log")"; finish; }
}
stop_postaged() {
    kill "$postaged_pid" 2>/dev/null
    wait "$postaged_pid" 2>/dev/null
}
show_logs() {
    echo "---- swaks" >&2; pf_transcript >&2
    echo "---- postaged" >&2; tail -n 30 "$TMP/postaged.log" >&2
    echo "---- postfix" >&2; pf_log | tail -n 30 >&2
}

start_postaged
pf_start --policy "127.0.0.1:$POLICY_PORT" --policy-eod "127.0.0.1:$POLICY_PORT" \
    --milter "127.0.0.1:$MILTER_PORT" \
    --policy-default-action DUNNO --milter-default-action accept

# 1. A new triplet is deferred ...
pf_send alice@sender.example bob@example.test --header 'Subject: greylisting'
status=$?
[ "$status" -ne 0 ] || { fail "a new triplet was accepted at once"; show_logs; }
pf_transcript | grep -q '^<\*\* *45[01] 4\.7\.1 .*Greylisted' ||
    { fail "no 450/451 4.7.1 Greylisted reply"; show_logs; }
# ... and accepted after the delay, with the trace header, once.
sleep 4
pf_send alice@sender.example bob@example.test --header 'Subject: greylisting' ||
    { fail "the retry after the delay was refused"; show_logs; }
msg=$(pf_wait_delivered bob@example.test 20) || { fail "nothing delivered to bob"; show_logs; }
expect_eq "one X-Greylist header" 1 "$(grep -c '^X-Greylist: delayed [0-9]* seconds by postaged' "$msg")"

# 2. An access-control reject gets its 5xx text.
pf_send mallory@blocked.example bob@example.test
pf_transcript | grep -q '^<\*\* *5[0-9][0-9] 5\.7\.1 .*Mail from blocked.example is refused here' ||
    { fail "no 5.7.1 reject text for blocked.example"; show_logs; }

# 3. A sender over quota is deferred: two messages (each with two
#    recipients, still two messages) pass, the third is deferred.
pf_send q@sender.example quota@example.test quota@example.test --header 'Subject: q1' ||
    { fail "quota message 1 refused"; show_logs; }
pf_send q@sender.example quota@example.test --header 'Subject: q2' ||
    { fail "quota message 2 refused"; show_logs; }
pf_send q@sender.example quota@example.test --header 'Subject: q3'
pf_transcript | grep -q '^<\*\* *45[0-9] 4\.7\.1 .*Sender over quota' ||
    { fail "the third message was not deferred for quota"; show_logs; }

# 4. Postfix keeps working while postaged is stopped ...
stop_postaged
pf_send carol@other.example dave@example.test --header 'Subject: postaged down' ||
    { fail "mail refused while postaged is down"; show_logs; }
pf_wait_delivered dave@example.test 20 > /dev/null || { fail "not delivered while postaged was down"; show_logs; }
# ... and postaged's checks resume when it comes back.
start_postaged
pf_send erin@new.example frank@example.test --header 'Subject: back'
pf_transcript | grep -q '4\.7\.1 .*Greylisted' ||
    { fail "greylisting did not resume after postaged came back"; show_logs; }

# The decisions are in postaged's log, one line each.
grep -q 'REJECT: access rule at line' "$TMP/postaged.log" || fail "no log line for the access reject"
stop_postaged
finish
