#!/bin/sh
# postfix_two_instances.sh - proves what tests/lib/postfix_harness.sh adds
# for issue 19's end-to-end tests: two private instances at once (pf_use),
# one relaying to the other (--relay), local submission (pf_sendmail),
# SMTP AUTH on a private sasldb (--sasl, pf_send --auth), several delivery
# domains (--domain twice), pf_wait_log and pf_deferred_count; and that a
# failing test leaves no process of either instance behind and still
# fails.  Needs root, postfix, swaks, python3 and saslpasswd2 (sasl2-bin);
# otherwise exit 77.
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/lib/postfix_harness.sh"

diag() {
    fail "$1"
    pf_transcript | sed 's/^/  swaks: /' >&2
    for _i in rx tx; do
        pf_use "$_i"
        pf_log | tail -n 20 | sed "s/^/  $_i: /" >&2
    done
}

# --- the receiver, then the sender relaying to it ------------------------------
pf_start --instance rx --domain example.test --domain second.test || { fail "pf_start rx"; finish; }
rx_port=$PF_PORT rx_dir=$PF_DIR rx_master=$PF_MASTER_PID
pf_start --instance tx --domain origin.test --relay "127.0.0.1:$rx_port" --sasl alice:s3cret \
    -o 'relay_domains = example.test' || { fail "pf_start tx"; finish; }
tx_port=$PF_PORT tx_dir=$PF_DIR tx_master=$PF_MASTER_PID
[ "$rx_port" != "$tx_port" ] || fail "both instances on port $rx_port"
[ "$rx_dir" != "$tx_dir" ] || fail "both instances in $rx_dir"
expect_eq "tx's directory" "$TMP/postfix-tx" "$tx_dir"
kill -0 "$rx_master" 2>/dev/null && kill -0 "$tx_master" 2>/dev/null || fail "a master is not running"
# pf_use gives each instance its own variables back
pf_use rx
expect_eq "rx's port after pf_use" "$rx_port" "$PF_PORT"
expect_eq "rx's domain" example.test "$PF_DOMAIN"
pf_use tx
expect_eq "tx's port after pf_use" "$tx_port" "$PF_PORT"
expect_eq "tx's domain" origin.test "$PF_DOMAIN"

# --- local submission, relayed -------------------------------------------------------
printf 'Subject: submitted locally\nTo: bob@example.test\n\nhello\n' |
    pf_sendmail -i -f me@origin.test bob@example.test
expect_eq "pf_sendmail status" 0 "$?"
pf_use rx
msg=$(pf_wait_delivered bob@example.test 20) || diag "the locally submitted message did not reach rx"
if [ -n "$msg" ]; then
    grep -q '^Subject: submitted locally' "$msg" || diag "the delivered copy lost its Subject"
    grep -q 'by mx\.origin\.test (Postfix, from userid 0)' "$msg" || diag "no pickup Received of tx"
    grep -q '^Received: from mx\.origin\.test (unknown \[127\.0\.0\.1\])' "$msg" ||
        diag "tx did not relay it by SMTP, saying HELO mx.origin.test"
fi
pf_use tx
pf_wait_log 'to=<bob@example.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:[0-9]+, .*status=sent' 10 ||
    diag "tx's log has no sent line for bob"
pf_wait_log 'status=sent' 1 2 && diag "pf_wait_log counted a line twice"

# a second delivery domain at rx
printf 'Subject: second domain\n\nx\n' | pf_sendmail -i -f me@origin.test carol@second.test
pf_use rx
pf_wait_delivered carol@second.test 20 > /dev/null || diag "nothing delivered to carol@second.test"

# --- SMTP AUTH --------------------------------------------------------------------------
# second.test is not a relay domain of tx: relaying needs AUTH.
pf_use tx
pf_send someone@origin.test dave@second.test
expect_eq "swaks status, relaying without AUTH" 24 "$?"
pf_send someone@origin.test dave@second.test --auth alice wrong
expect_eq "swaks status, a wrong password" 28 "$?"
grep -q '<\*\* 535 ' "$PF_TRANSCRIPT" || diag "a wrong password was not refused with 535"
pf_send alice@origin.test dave@second.test --auth alice s3cret --header 'Subject: authenticated'
expect_eq "swaks status, relaying after AUTH" 0 "$?"
grep -q '<-  235 ' "$PF_TRANSCRIPT" || diag "AUTH PLAIN did not succeed"
pf_use rx
pf_wait_delivered dave@second.test 20 > /dev/null || diag "the authenticated message did not arrive"
pf_use tx
grep -q 'sasl_method=PLAIN, sasl_username=alice' "$PF_LOG" || diag "tx's log does not show alice's login"

# --- the receiver down: the sender defers ---------------------------------------------
pf_use rx
pf_stop
kill -0 "$rx_master" 2>/dev/null && fail "rx's master still runs after pf_stop"
pf_use tx
kill -0 "$tx_master" 2>/dev/null || fail "pf_stop of rx stopped tx"
expect_eq "tx's deferred queue before" 0 "$(pf_deferred_count)"
printf 'Subject: while rx is down\n\nx\n' | pf_sendmail -i -f me@origin.test erin@example.test
pf_wait_log 'to=<erin@example.test>, .*status=deferred' 20 || diag "no deferral while rx is down"
expect_eq "tx's deferred queue after" 1 "$(pf_deferred_count)"

# --- at exit, pass or fail, both instances stop ------------------------------------------
cat > "$TMP/child.sh" <<'CHILD'
. "$top_srcdir/tests/lib/testlib.sh"
. "$top_srcdir/tests/lib/postfix_harness.sh"
pf_start --instance one || exit 3
echo "$PF_CONF $PF_MASTER_PID" > "$OUT/one"
pf_start --instance two --relay "127.0.0.1:$PF_PORT" || exit 3
echo "$PF_CONF $PF_MASTER_PID" > "$OUT/two"
pf_use one
fail "deliberate"
finish
CHILD
OUT=$TMP top_srcdir=$top_srcdir sh "$TMP/child.sh" > "$TMP/child.out" 2>&1
expect_eq "exit status of a failing test with two instances" 1 "$?"
for i in one two; do
    read -r conf master < "$TMP/$i" || { fail "the child did not start instance $i"; continue; }
    kill -0 "$master" 2>/dev/null && fail "instance $i's master $master outlived the test"
    left=$(grep -lzxF "MAIL_CONFIG=$conf" /proc/[0-9]*/environ 2>/dev/null)
    expect_eq "processes of instance $i left" "" "$left"
done

finish
