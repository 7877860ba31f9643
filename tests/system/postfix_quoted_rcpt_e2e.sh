#!/bin/sh
# postfix_quoted_rcpt_e2e.sh - envelope addresses as a real Postfix hands
# them to postaged's milter (issue 16, defect 6): a private Postfix, the
# milter only, postage priced at 8 bits, greylisting for an hour (so
# whatever is accepted was paid for).
#   1. RCPT TO:<"a>b"@example.test> with a stamp minted for
#      "a>b"@example.test is accepted, and postaged's log says that whole
#      address paid (it was cut to "a before);
#   2. the same without a stamp is deferred, the 451 naming the whole
#      quoted address.
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/lib/postfix_harness.sh"
. "${top_srcdir:-.}/tests/lib/postaged_harness.sh"

require_built "$POSTAGED" "$MINT"
command -v swaks >/dev/null 2>&1 || skip "swaks is not installed (apt-get install swaks)"

MILTER_PORT=$(free_port)
postaged_conf "milter_listen=inet:127.0.0.1:$MILTER_PORT" hostname=quoted-e2e.example spf=no \
    helo_checks=no postage=yes price_base=8 greylist_delay=1h price_allowance=1000000
postaged_start "$MILTER_PORT"
pf_start --milter "127.0.0.1:$MILTER_PORT" --milter-default-action tempfail

# 1. A quoted '>' in the local part, paid.
stamp=$("$MINT" -j 1 -X -b 8 '"a>b"@example.test') || { fail "postage-mint failed"; finish; }
pf_send alice@example.net '"a>b"@example.test' --header "$stamp"
rc=$?
expect_eq "quoted '>' with its stamp: swaks status (0: accepted)" 0 "$rc"
grep -q 'to=<"a>b"@example.test> paid by a stamp' "$TMP/postaged.log" ||
    { fail "quoted '>': the log does not say \"a>b\"@example.test paid"; show_logs; }

# 2. The same without a stamp: deferred, naming the whole address.
pf_send carol@example.net '"a>b"@example.test'
rc=$?
[ "$rc" -ne 0 ] || fail "quoted '>' without a stamp was accepted"
case $(reply451) in
    *'<"a>b"@example.test>'*) ;;
    *) fail "quoted '>' without a stamp: the 451 does not name the address: '$(reply451)'"
       show_logs ;;
esac

finish
