#!/bin/sh
# postfix_sendmail_e2e.sh - the sender's side end to end: postage-sendmail
# -> Postfix's own sendmail -> a private Postfix instance whose cleanup
# runs postaged's milter (non_smtpd_milters) -> delivery.  One message with
# To, Cc (in a group) and two Bcc recipients.  Checks: every recipient is
# delivered at once and postaged counts each as paid (X-Postage-Result);
# the shared copies carry no Bcc header, address or stamp; each Bcc copy
# carries only its own stamp, and no Bcc header or other Bcc address.
# Then a header block over 1 MiB goes through unstamped and unchanged, so
# that Postfix's sendmail -t still finds its recipient.
# Greylisting waits an hour, so a recipient that did not pay would not be
# delivered during the test.
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/lib/postfix_harness.sh"

PS="$top_builddir/postage-sendmail"
require_built "$POSTAGED" "$PS"
[ -x /usr/sbin/sendmail ] && command -v postconf >/dev/null 2>&1 ||
    skip "Postfix's sendmail is not installed (apt-get install postfix)"

MILTER_PORT=$(free_port)
postaged_conf "milter_listen=inet:127.0.0.1:$MILTER_PORT" hostname=sendmail-e2e.example \
    spf=no helo_checks=no greylist_delay=1h price_base=10
"$POSTAGED" -c "$TMP/postaged.conf" -f 2> "$TMP/postaged.log" &
postaged_pid=$!
kill_at_exit "$postaged_pid"
wait_listen "$MILTER_PORT" 10 "$postaged_pid" ||
    { fail "postaged did not start: $(cat "$TMP/postaged.log")"; finish; }
pf_start --milter "127.0.0.1:$MILTER_PORT" --milter-default-action tempfail \
    -o "non_smtpd_milters = inet:127.0.0.1:$MILTER_PORT"

show_logs() {
    echo "---- postaged" >&2; tail -n 20 "$TMP/postaged.log" >&2
    echo "---- postfix" >&2; pf_log | tail -n 20 >&2
}

# postage-sendmail hands the message to Postfix's sendmail of the private
# instance (MAIL_CONFIG), stamping at postaged's price.
cat > "$TMP/ps.conf" <<EOF
sendmail = /usr/sbin/sendmail
default_bits = 10
spool = $TMP/spool
dns_server = none
EOF
export POSTAGE_SENDMAIL_CONF="$TMP/ps.conf" POSTAGE_RATE_CACHE="$TMP/rate" MAIL_CONFIG="$PF_CONF"

cat > "$TMP/msg" <<'EOF'
From: Sender <sender@example.org>
To: Ann <ann@example.test>
Cc: team: bob@example.test, "Carl C." <carl@example.test>;
Bcc: dee@example.test,
 Eve <eve@example.test>
Subject: postage-sendmail end to end

Four recipients, two of them blind.
EOF
"$PS" -t -i -f sender@example.org < "$TMP/msg" ||
    { fail "postage-sendmail failed"; show_logs; finish; }

for r in ann bob carl dee eve; do
    m=$(pf_wait_delivered "$r@example.test" 30) || { fail "nothing delivered to $r"; show_logs; continue; }
    eval "msg_$r=\$m"
    grep -q "^X-Postage-Result: sendmail-e2e.example; price=[0-9]*;" "$m" ||
        { fail "$r's copy has no X-Postage-Result"; sed -n '1,25p' "$m" >&2; }
    # Every stamp paid at least the price asked (which falls as the
    # sender's history grows: the first copy is asked price_base).
    grep '^X-Postage-Result:' "$m" | grep -o 'paid [0-9]*/[0-9]*' | sed 's/paid //' |
        while IFS=/ read -r v p; do [ "$v" -ge "$p" ] || echo "underpaid $v/$p"; done |
        grep -q underpaid && fail "$r's copy shows a stamp below the price"
    grep -qi '^Bcc:' "$m" && fail "$r's copy has a Bcc header"
done

# The shared copy went first, to an unknown sender: price_base.
grep -q '^X-Postage-Result: sendmail-e2e.example; price=10;' "$msg_ann" ||
    fail "the first copy was not asked price_base (10)"

# Shown recipients: one copy, three stamps, all paid, no blind address
# (the trace header counts recipients of a shared copy, never names them).
for r in ann bob carl; do
    eval "m=\$msg_$r"
    [ -n "$m" ] || continue
    expect_eq "stamps in $r's copy" 3 "$(grep -c '^X-Hashcash: 1:10:' "$m")"
    grep -q "^X-Postage-Result: .*stamps=3; replayed=0; invalid=0; paid=3\$" "$m" ||
        fail "$r's copy does not say all three paid"
    grep -q 'dee@\|eve@' "$m" && fail "$r's copy names a Bcc recipient"
done

# Blind recipients: a copy each, only its own stamp, paid.
for r in dee eve; do
    eval "m=\$msg_$r"
    [ -n "$m" ] || continue
    expect_eq "stamps in $r's copy" 1 "$(grep -c '^X-Hashcash: ' "$m")"
    grep -q "^X-Hashcash: 1:10:[0-9]*:$r@example.test:" "$m" || fail "$r's stamp is not for $r"
    grep -q "^X-Postage-Result: .*stamps=1; .*rcpt=<$r@example.test> paid [0-9]*/[0-9]*" "$m" ||
        fail "$r's copy does not say $r paid"
    other=eve; [ "$r" = eve ] && other=dee
    grep -q "$other@" "$m" && fail "$r's copy names $other"
done

# A header block over 1 MiB (16,000 ordinary fields before To) cannot be
# stamped; it must reach Postfix's sendmail -t unchanged, so that -t still
# finds Fay in To (a cut block once put an empty line before To, and
# Postfix found no recipient).  Unstamped mail would be greylisted for an
# hour, so the milter is taken out first: this is about the header only.
pf_set 'non_smtpd_milters =' || fail "cannot take the milter out"
{ printf 'From: Sender <sender@example.org>\nMessage-ID: <big.1@example.org>\n'
  awk 'BEGIN { for (i = 0; i < 16000; i++) printf "X-Filler-%05d: an ordinary header field of an ordinary size, as mail has\n", i }'
  printf 'To: Fay <fay@example.test>\nSubject: a header block over 1 MiB\n\nthe body\n'; } > "$TMP/big"
"$PS" -t -i -f sender@example.org < "$TMP/big" || fail "postage-sendmail failed on the 1 MiB header block"
if m=$(pf_wait_delivered fay@example.test 30); then
    sed -n '/^$/q; p' "$m" > "$TMP/big.head"
    grep -q '^X-Filler-15999: ' "$TMP/big.head" || fail "Fay's copy lost header fields"
    grep -q '^To: Fay <fay@example.test>$' "$TMP/big.head" || fail "To is not in the header of Fay's copy"
    grep -q '^X-Hashcash:' "$TMP/big.head" && fail "a 1 MiB header block was stamped"
    expect_eq "Fay's body" "the body" "$(sed '1,/^$/d' "$m")"
else
    fail "nothing delivered to fay: Postfix's sendmail -t found no recipient"; show_logs
fi

kill "$postaged_pid"
wait "$postaged_pid" 2>/dev/null
finish
