#!/bin/sh
# postfix_wirings_e2e.sh - postaged on its defaults (both front-ends
# listening) behind a private Postfix wired each of the three ways the
# README documents, as an admin would:
#   policy   check_policy_service in smtpd_recipient_restrictions (and in
#            smtpd_data_restrictions and smtpd_end_of_data_restrictions),
#            no milter: postgrey's and PolicyD's habit;
#   milter   smtpd_milters alone;
#   both     the policy service and the milter.
# In each wiring:
#   - an unpaid message from an outside client (XCLIENT) to a new triplet
#     is greylisted once, and its retry after the delay is delivered;
#   - no header postaged adds names a recipient of a message with two:
#     jane's copy never shows the Bcc recipient secret (the test reads
#     every delivered copy), and each of postaged's headers is there once;
#   - with the milter in the path, forged copies of postaged's headers
#     (X-Postage-Result, X-Postage-Price, X-Greylist, Authentication-Results
#     with postaged's authserv-id) are removed; another host's
#     Authentication-Results stays;
#   - policy service alone: a single-recipient retry still gets its
#     X-Greylist header (the DATA reply carries it).
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/lib/postfix_harness.sh"
. "${top_srcdir:-.}/tests/lib/dns_harness.sh"
. "${top_srcdir:-.}/tests/lib/postaged_harness.sh"

require_built "$POSTAGED"
command -v swaks >/dev/null 2>&1 || skip "swaks is not installed (apt-get install swaks)"

dns_start
POLICY_PORT=$(free_port)
MILTER_PORT=$(free_port)
DELAY=2
HOST=wirings-e2e.example
# Defaults everywhere but where this machine differs (ports, store, log,
# user, DNS) and a greylisting delay a test can wait for.
postaged_conf "policy_listen=inet:127.0.0.1:$POLICY_PORT" \
    "milter_listen=inet:127.0.0.1:$MILTER_PORT" "hostname=$HOST" \
    "dns_server=127.0.0.1:$DNS_PORT" dns_timeout=1000 "greylist_delay=${DELAY}s"
postaged_start "$POLICY_PORT" "$MILTER_PORT"

POLICY=inet:127.0.0.1:$POLICY_PORT
wire() {   # policy | milter | both
    case $1 in
        policy) set -- --policy "$POLICY" --policy-eod "$POLICY" \
                    -o "smtpd_data_restrictions = check_policy_service $POLICY" ;;
        milter) set -- --milter "127.0.0.1:$MILTER_PORT" ;;
        both) set -- --policy "$POLICY" --policy-eod "$POLICY" \
                  -o "smtpd_data_restrictions = check_policy_service $POLICY" \
                  --milter "127.0.0.1:$MILTER_PORT" ;;
    esac
    pf_start "$@" --milter-default-action tempfail --policy-default-action DEFER_IF_PERMIT \
        -o 'smtpd_authorized_xclient_hosts = 127.0.0.0/8'
}

send() {   # CLIENT FROM TO... [--header ...]
    _addr=$1 _from=$2; shift 2
    pf_send "$_from" "$@" --helo mail.nospf.test --swaks-opt --xclient-addr --swaks-opt "$_addr"
}

# The header lines of a delivered message (unfolded), without the body.
headers_of() {
    awk '/^$/ { exit } /^[ \t]/ { printf " %s", $0; next } { if (NR > 1) print ""; printf "%s", $0 } END { print "" }' "$1"
}

# What postaged adds, by name.
OUR_HEADERS='^(X-Postage-Result|X-Postage-Price|X-Greylist|Received-SPF|Authentication-Results):'

n=0
for w in policy milter both; do
    n=$((n + 1))
    wire "$w"
    client=192.0.2.$((10 + n))
    from="s$n@nospf.test"
    jane="jane$n@example.test" secret="secret$n@example.test"
    mid="<wiring.$n.$$@nospf.test>"
    forged=
    if [ "$w" != policy ]; then
        forged=1
    fi

    # 1. New triplets, unpaid: greylisted.
    send "$client" "$from" "$jane" "$secret" --header "To: $jane" --header "Message-Id: $mid" \
        --header "Subject: $w wiring"
    pf_transcript | grep -q '^<\*\* *45[01][ -]4\.7\.1 .*Greylisted' ||
        { fail "$w: an unpaid message to new triplets was not greylisted"; show_logs; }
    expect_eq "$w: messages delivered before the delay" 0 "$(pf_mail_count "$jane")"

    # 2. The retry after the delay passes (once greylisted, not again).
    sleep $((DELAY + 1))
    set -- --header "To: $jane" --header "Message-Id: $mid" --header "Subject: $w wiring"
    if [ -n "$forged" ]; then
        set -- "$@" --header "X-Postage-Result: $HOST; price=0; forged paid" \
            --header 'X-Postage-Price: 0 forged' --header 'X-Greylist: forged' \
            --header "Authentication-Results: $HOST; spf=pass smtp.mailfrom=forged@nospf.test" \
            --header 'Authentication-Results: other.example; spf=pass smtp.mailfrom=kept@nospf.test'
    fi
    send "$client" "$from" "$jane" "$secret" "$@" ||
        { fail "$w: the retry after the delay was refused"; show_logs; continue; }
    mj=$(pf_wait_delivered "$jane" 20) || { fail "$w: nothing delivered to jane"; continue; }
    ms=$(pf_wait_delivered "$secret" 20) || { fail "$w: nothing delivered to secret"; continue; }

    # 3. No Bcc leak: jane's copy never names secret; none of postaged's
    #    headers in either copy names a recipient.
    grep -qi "secret$n@" "$mj" && { fail "$w: jane's copy names the Bcc recipient"; headers_of "$mj" >&2; }
    for m in "$mj" "$ms"; do
        headers_of "$m" | grep -E "$OUR_HEADERS" | grep -qiE "(jane|secret)$n@" &&
            { fail "$w: a header postaged added names a recipient"; headers_of "$m" | grep -E "$OUR_HEADERS" >&2; }
        expect_eq "$w: X-Greylist headers" 1 "$(headers_of "$m" | grep -c '^X-Greylist:')"
        expect_eq "$w: Received-SPF headers" 1 "$(headers_of "$m" | grep -c '^Received-SPF:')"
    done
    if [ "$w" = policy ]; then
        expect_eq "$w: X-Postage-Price headers" 1 "$(headers_of "$mj" | grep -c '^X-Postage-Price: [0-9]*$')"
    else
        expect_eq "$w: X-Postage-Result headers" 1 "$(headers_of "$mj" | grep -c '^X-Postage-Result:')"
        headers_of "$mj" | grep -q "^X-Postage-Result: $HOST; price=[0-9]*; .*; greylist-passed=2$" ||
            { fail "$w: the trace header does not count two greylist-passed recipients"; headers_of "$mj" >&2; }
    fi

    # 4. Forged copies of postaged's headers are gone; another host's
    #    Authentication-Results stays.
    if [ -n "$forged" ]; then
        headers_of "$mj" | grep -q 'forged' &&
            { fail "$w: a forged header survived"; headers_of "$mj" | grep forged >&2; }
        headers_of "$mj" | grep -q '^Authentication-Results: other.example; spf=pass smtp.mailfrom=kept@nospf.test' ||
            fail "$w: another host's Authentication-Results was removed"
    fi
    pf_stop
done

# 5. Policy service alone, one recipient: the retry's copy still carries
#    X-Greylist (one PREPEND per reply: the RCPT reply carries the SPF
#    header, the DATA reply X-Greylist).
wire policy
send 192.0.2.40 solo@nospf.test solo@example.test --header 'Subject: solo'
pf_transcript | grep -q '^<\*\* *45[01] 4\.7\.1 .*Greylisted' || { fail "solo: not greylisted"; show_logs; }
sleep $((DELAY + 1))
send 192.0.2.40 solo@nospf.test solo@example.test --header 'Subject: solo' ||
    { fail "solo: the retry was refused"; show_logs; }
m=$(pf_wait_delivered solo@example.test 20) || fail "solo: nothing delivered"
[ -n "$m" ] && expect_eq "solo: X-Greylist headers" 1 "$(headers_of "$m" | grep -c '^X-Greylist:')"
[ -n "$m" ] && expect_eq "solo: Received-SPF headers" 1 "$(headers_of "$m" | grep -c '^Received-SPF:')"

postaged_stop
finish
