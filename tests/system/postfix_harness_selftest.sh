#!/bin/sh
# postfix_harness_selftest.sh - proves tests/lib/postfix_harness.sh: a private
# Postfix instance delivers a message with its headers; a stub policy server
# wired in with check_policy_service defers with its own text and its
# PREPEND header arrives; everything of the instance is gone afterwards.
# Needs root, postfix, swaks and python3 (otherwise exit 77).
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/lib/postfix_harness.sh"

# show the Postfix log and the last SMTP transcript when something failed
diag() {
    fail "$1"
    pf_transcript | sed 's/^/  swaks: /' >&2
    pf_log | tail -n 40 | sed 's/^/  /' >&2
}

# --- 1. plain delivery --------------------------------------------------------
pf_start || { fail "pf_start"; finish; }

pf_send sender@example.org alice@example.test \
    --header 'Subject: harness selftest' --header 'X-Test: one' \
    --body 'body line of the selftest'
expect_eq "swaks status, plain message" 0 "$?"
msg=$(pf_wait_delivered alice@example.test 15) || diag "no delivery to alice"
if [ -n "$msg" ]; then
    grep -q '^Subject: harness selftest' "$msg" || diag "Subject header missing"
    grep -q '^X-Test: one' "$msg" || diag "X-Test header missing"
    grep -q '^Delivered-To: alice@example.test' "$msg" || diag "Delivered-To missing"
    grep -q '^Received: from client.example.org ' "$msg" &&
        grep -q 'by mx.example.test (Postfix) with ESMTP' "$msg" ||
        diag "Received header of the private instance missing"
    grep -q '^body line of the selftest' "$msg" || diag "body missing"
fi

# recipients are folded to lower case; a second message for the same
# recipient makes the count 2 and the newest one is reported
pf_send sender@example.org ALICE@Example.TEST --header 'X-Test: two'
expect_eq "swaks status, upper-case recipient" 0 "$?"
msg=$(pf_wait_delivered alice@example.test 15 2) || diag "second message not delivered"
[ -n "$msg" ] && { grep -q '^X-Test: two' "$msg" || diag "newest message is not the second one"; }
expect_eq "messages for alice" 2 "$(pf_mail_count alice@example.test)"
pf_mail_for alice@example.test | grep -c '^X-Test: ' > "$TMP/n"
expect_eq "pf_mail_for prints both" 2 "$(cat "$TMP/n")"

# no relaying to other domains
pf_send sender@example.org someone@example.org
expect_eq "swaks status, relay attempt" 24 "$?"
grep -q '<\*\* 554 5\.7\.1 .*Relay access denied' "$PF_TRANSCRIPT" ||
    diag "relay attempt not refused with 554 5.7.1"

first_master=$PF_MASTER_PID

# --- 2. stub policy server ----------------------------------------------------
# RCPT: PREPEND for stamp@example.test, DEFER_IF_PERMIT for everyone else;
# any other state (END-OF-MESSAGE here): DUNNO.  Logs every request.
cat > "$TMP/stub.py" <<'EOF'
import socketserver, sys
portfile, logfile = sys.argv[1], sys.argv[2]

class H(socketserver.StreamRequestHandler):
    def handle(self):
        req = {}
        for raw in self.rfile:
            line = raw.decode('utf-8', 'replace').rstrip('\r\n')
            if line:
                k, _, v = line.partition('=')
                req.setdefault(k, v)
                continue
            st, rcpt = req.get('protocol_state'), req.get('recipient', '')
            if st == 'RCPT' and rcpt == 'stamp@example.test':
                act = 'PREPEND X-Stub: yes'
            elif st == 'RCPT':
                act = 'DEFER_IF_PERMIT 4.7.1 stub says later'
            else:
                act = 'DUNNO'
            with open(logfile, 'a') as f:
                f.write('%s %s %s\n' % (st, rcpt or '-', act))
            self.wfile.write(('action=%s\n\n' % act).encode())
            self.wfile.flush()
            req = {}

class S(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

srv = S(('127.0.0.1', 0), H)
with open(portfile + '.tmp', 'w') as f:
    f.write('%d\n' % srv.server_address[1])
import os; os.rename(portfile + '.tmp', portfile)
srv.serve_forever()
EOF
: > "$TMP/stub.log"
python3 "$TMP/stub.py" "$TMP/stub.port" "$TMP/stub.log" &
stub_pid=$!
kill_at_exit "$stub_pid"
i=0
while [ ! -s "$TMP/stub.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
stub_port=$(cat "$TMP/stub.port" 2>/dev/null)
[ -n "$stub_port" ] || { fail "stub policy server did not start"; finish; }

# a restart with the policy service at RCPT and at END-OF-MESSAGE
pf_start --policy "$stub_port" --policy-eod "$stub_port" \
    --policy-default-action 'DEFER 4.3.5 policy stub unreachable' ||
    { fail "pf_start with policy"; finish; }
kill -0 "$first_master" 2>/dev/null && fail "first master $first_master still running"
expect_eq "recipient restrictions" "check_policy_service inet:127.0.0.1:$stub_port" \
    "$(postconf -c "$PF_CONF" -h smtpd_recipient_restrictions)"

pf_send sender@example.org later@example.test --header 'Subject: deferred'
expect_eq "swaks status, deferred recipient" 24 "$?"
grep -q '<\*\* 45[01] 4\.7\.1 .*stub says later' "$PF_TRANSCRIPT" ||
    diag "no 45x 4.7.1 ... stub says later after RCPT"

pf_send sender@example.org stamp@example.test --header 'Subject: prepended'
expect_eq "swaks status, prepend recipient" 0 "$?"
msg=$(pf_wait_delivered stamp@example.test 15) || diag "no delivery to stamp"
if [ -n "$msg" ]; then
    grep -q '^X-Stub: yes' "$msg" || diag "X-Stub header (PREPEND) missing"
    grep -q '^Subject: prepended' "$msg" || diag "Subject missing"
fi

# one transaction, one deferred and one accepted recipient
pf_send sender@example.org later@example.test stamp@example.test --header 'Subject: both'
expect_eq "swaks status, mixed recipients" 0 "$?"
grep -q '<\*\* 45[01] 4\.7\.1 .*stub says later' "$PF_TRANSCRIPT" ||
    diag "mixed: later@ not deferred"
pf_wait_delivered stamp@example.test 15 2 > /dev/null || diag "mixed: stamp@ not delivered"
expect_eq "nothing delivered to later@" 0 "$(pf_mail_count later@example.test)"
grep -q '^RCPT later@example.test DEFER_IF_PERMIT' "$TMP/stub.log" ||
    fail "stub saw no RCPT for later@"
grep -q '^END-OF-MESSAGE ' "$TMP/stub.log" ||
    { fail "stub saw no END-OF-MESSAGE request"; cat "$TMP/stub.log" >&2; }

# the policy server goes away: smtpd_policy_service_default_action applies
kill "$stub_pid"
wait "$stub_pid" 2>/dev/null
kill -0 "$stub_pid" 2>/dev/null && fail "stub server $stub_pid still running"
pf_send sender@example.org stamp@example.test --header 'Subject: no policy'
expect_eq "swaks status, policy server gone" 24 "$?"
grep -q '<\*\* 450 4\.3\.5 .*policy stub unreachable' "$PF_TRANSCRIPT" ||
    diag "no 450 4.3.5 default action without the policy server"

# pf_set + reload: without the policy the same recipient is accepted
pf_set 'smtpd_recipient_restrictions =' 'smtpd_end_of_data_restrictions =' ||
    fail "pf_set"
pf_send sender@example.org later@example.test --header 'Subject: after reload'
expect_eq "swaks status after reload" 0 "$?"
pf_wait_delivered later@example.test 15 > /dev/null || diag "not delivered after reload"
expect_eq "queue empty" 0 "$(pf_queue_count)"

# --- 3. everything stops ------------------------------------------------------
master=$PF_MASTER_PID
pf_stop
kill -0 "$master" 2>/dev/null && fail "master $master still running after pf_stop"
left=$(pf_pids)
[ -z "$left" ] || { fail "processes of the instance left: $left"; ps -o pid,ppid,user,args -p "$(echo $left | tr ' ' ,)" >&2; }
ps -eo pid=,ppid= | awk -v m="$master" '$1 == m || $2 == m' | grep -q . &&
    fail "ps still shows master $master or its children"
finish
