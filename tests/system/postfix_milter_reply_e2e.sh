#!/bin/sh
# postfix_milter_reply_e2e.sh - the reply an access rule's own text asks
# for reaches the SMTP client through the milter exactly as through the
# policy service: postaged behind a private Postfix wired with
# smtpd_milters alone, mail sent with swaks.  The milter reads a rule's
# text with the one reply-code splitter the policy service uses
# (pd_reply_split): the code and enhanced status it names are the ones
# the client sees, spaces between them do not matter, and a rule with no
# text after its codes still gets its codes.
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/lib/postfix_harness.sh"
. "${top_srcdir:-.}/tests/lib/postaged_harness.sh"

require_built "$POSTAGED"
command -v swaks >/dev/null 2>&1 || skip "swaks is not installed (apt-get install swaks)"

MILTER_PORT=$(free_port)
postaged_conf "milter_listen=inet:127.0.0.1:$MILTER_PORT" hostname=milter-reply.example \
    spf=no helo_checks=no \
    "access=sender @plain.example REJECT 550 5.7.2 Mail from plain.example is refused" \
    "access=sender @spaced.example REJECT 553   5.7.3   Spaced out" \
    "access=sender @bare.example DEFER 451 4.7.5"
postaged_start "$MILTER_PORT"
pf_start --milter "127.0.0.1:$MILTER_PORT" --milter-default-action tempfail

# expect_reply WHAT SENDER PATTERN: the last server reply of a message from
# SENDER matches the extended regular expression PATTERN.
expect_reply() {
    pf_send "$2" bob@example.test --header "Subject: $1"
    _last=$(pf_transcript | grep '^<\*\* ' | tail -n 1)
    printf '%s\n' "$_last" | grep -Eq "$3" ||
        { fail "$1: expected a reply matching /$3/, got: $_last"; show_logs; }
}
expect_reply "code, enhanced code and text" a@plain.example \
    '^<\*\* +550 5\.7\.2 Mail from plain\.example is refused$'
expect_reply "spaces between the parts" a@spaced.example '^<\*\* +553 5\.7\.3 Spaced out$'
expect_reply "codes without text" a@bare.example '^<\*\* +451 4\.7\.5'
grep -q 'milter' "$TMP/postaged.log" || fail "postaged logged no milter decision"
finish
