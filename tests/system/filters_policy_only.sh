#!/bin/sh
# filters_policy_only.sh - where the filters' trust in X-Postage-Result
# does NOT hold, and the README's remedy.  postaged as a policy server
# alone (no milter) sees no headers: it adds no X-Postage-Result and
# cannot remove one, so a forged "paid" header reaches the recipient (and
# the SpamAssassin and rspamd rules would credit it).  The README tells
# such sites to drop incoming copies in Postfix (header_checks:
# /^X-Postage-Result:/ IGNORE); with that, the forgery is gone.
# Skipped (77) where Postfix cannot be started.
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/lib/postfix_harness.sh"
. "${top_srcdir:-.}/tests/lib/postaged_harness.sh"

require_built "$POSTAGED"
command -v swaks >/dev/null 2>&1 || skip "swaks is not installed (apt-get install swaks)"

POLICY_PORT=$(free_port)
postaged_conf "policy_listen=inet:127.0.0.1:$POLICY_PORT" hostname=postage-policy.example \
    spf=no helo_checks=no greylist_delay=1s
postaged_start "$POLICY_PORT"
pf_start --policy "127.0.0.1:$POLICY_PORT"

forged='X-Postage-Result: postage-policy.example; price=20; reputation=unknown; stamps=1; replayed=0; invalid=0; rcpt=<bob@example.test> paid 30/20'
send() {   # send the forged message; greylisted at RCPT first, then passed
    pf_send mallory@sender.example bob@example.test --header 'Subject: forged' \
        --header "$forged" && return 0
    sleep 2
    pf_send mallory@sender.example bob@example.test --header 'Subject: forged' \
        --header "$forged" || { fail "the retry was refused"; show_logs; return 1; }
}

# 1. The policy server alone: the forgery is delivered as it came.
send
msg=$(pf_wait_delivered bob@example.test 20) || { fail "nothing delivered to bob"; show_logs; finish; }
expect_eq "forged X-Postage-Result delivered through the policy server alone" 1 \
    "$(grep -c '^X-Postage-Result: .*paid 30/20$' "$msg")"

# 2. With the README's header_checks, it is dropped.
printf '/^X-Postage-Result:/ IGNORE\n' > "$PF_CONF/postage_header_checks"
pf_set "header_checks = regexp:$PF_CONF/postage_header_checks"
send
msg=$(pf_wait_delivered bob@example.test 20 2) || { fail "the second message was not delivered"; show_logs; finish; }
expect_eq "X-Postage-Result headers after header_checks IGNORE" 0 \
    "$(grep -ci '^X-Postage-Result:' "$msg")"

postaged_stop
finish
