#!/bin/sh
# sendmail_faults.sh - postage-sendmail against a stand-in for the real
# sendmail that records what it is given, and fails, hangs or is missing
# on demand.  Checks: the arguments pass unchanged; one stamp per
# recipient, each valid for its recipient; -t with Bcc gives the shared
# copy no Bcc header, address or stamp and each Bcc recipient a copy with
# only its own stamp; CRLF and 8-bit bodies pass byte for byte; "." ends
# the input without -i only; and every fault ends with the message either
# delivered or still held: a missing, failing or hung sendmail gives the
# caller a failure status (75, or sendmail's own), a failure after some
# copies went out spools the rest, a minter killed mid-way leaves the
# message refused to the caller (foreground) or in the spool (background),
# and a broken configuration (a directory too) sends the message
# unstamped, named in the error.  Byte for byte: a header block over 1 MiB
# goes through unchanged (-t still finds its recipients), and a stamped
# copy differs from the input only by its X-Hashcash lines (and, split,
# its Bcc field).  Argument recipients shown to nobody go in one run with
# a stamp each; one named in Bcc, or hidden from the To/Cc recipients,
# gets a copy of its own.
. "${top_srcdir:-.}/tests/lib/testlib.sh"

PS="$top_builddir/postage-sendmail"
require_built "$PS"

FAKE=$TMP/fake
mkdir -p "$FAKE"
# The stand-in: call N writes N.args (one argument a line) and N.msg.
cat > "$TMP/fake-sendmail" <<'EOF'
#!/bin/sh
n=$(ls "$FAKE_DIR" | grep -c '\.args$')
n=$((n + 1))
for a in "$@"; do printf '%s\n' "$a"; done > "$FAKE_DIR/$n.args"
cat > "$FAKE_DIR/$n.msg"
[ -n "$FAKE_SLEEP" ] && sleep "$FAKE_SLEEP"
if [ -n "$FAKE_FAIL_FROM" ] && [ "$n" -ge "$FAKE_FAIL_FROM" ]; then exit "${FAKE_EXIT:-75}"; fi
exit "${FAKE_EXIT_ALL:-0}"
EOF
chmod +x "$TMP/fake-sendmail"
export FAKE_DIR="$FAKE" POSTAGE_SENDMAIL="$TMP/fake-sendmail"
export POSTAGE_SENDMAIL_CONF="$TMP/ps.conf" POSTAGE_RATE_CACHE="$TMP/rate"
conf() {
    # dns_server = none: the bits rules alone, no look-up in the real DNS
    # (sendmail_price_dns.sh tests the published prices)
    printf 'default_bits = 8\nspool = %s/spool\nsendmail_timeout = 3s\ndns_server = none\n' "$TMP" > "$TMP/ps.conf"
    for line in "$@"; do printf '%s\n' "$line" >> "$TMP/ps.conf"; done
}
reset_fake() { rm -f "$FAKE"/*; }
calls() { ls "$FAKE" | grep -c '\.args$'; }
# the stamps in a recorded message
stamps() { sed -n '/^\r\{0,1\}$/q; s/^X-Hashcash: \([^\r]*\)\r\{0,1\}$/\1/p' "$1"; }
# the body (after the first empty line) of a file
body() { awk 'found { print; next } /^\r?$/ { found = 1 }' "$1"; }
conf

# 1. Recipients as arguments, shown in the headers: the arguments pass
#    unchanged, and each recipient has a valid stamp.
printf 'From: me@example.org\nTo: Ann <ann@example.org>\nCc: "Doe, Bob" <bob@example.net>\nSubject: hi\n\nhello\n' > "$TMP/m1"
"$PS" -oi -f me@example.org ann@example.org bob@example.net < "$TMP/m1"
expect_eq "exit status" 0 $?
expect_eq "one call" 1 "$(calls)"
expect_eq "arguments unchanged" "-oi|-f|me@example.org|ann@example.org|bob@example.net" \
    "$(tr '\n' '|' < "$FAKE/1.args" | sed 's/|$//')"
expect_eq "stamps" 2 "$(stamps "$FAKE/1.msg" | wc -l)"
for r in ann@example.org bob@example.net; do
    s=$(stamps "$FAKE/1.msg" | grep ":$r:")
    [ -n "$s" ] || { fail "no stamp for $r"; continue; }
    "$VERIFY" -b 8 -r "$r" "$s" > /dev/null || fail "the stamp for $r does not verify: $s"
done
expect_eq "body unchanged" "hello" "$(body "$FAKE/1.msg")"
# The stamps come last in the header block, after the original fields.
expect_eq "header order" "From|To|Cc|Subject|X-Hashcash|X-Hashcash" \
    "$(sed -n '/^$/q; s/^\([A-Za-z-]*\):.*/\1/p' "$FAKE/1.msg" | tr '\n' '|' | sed 's/|$//')"

# 2. -t with Bcc: one shared copy without any trace of the Bcc recipients,
#    and one copy per Bcc recipient with only its own stamp.
reset_fake
printf 'From: me@example.org\nTo: ann@example.org\nCc: team: bob@example.net,\n  carl@example.net;\nBcc: dee@example.org, Eve <eve@example.com>\nSubject: bcc\n\nsecret list\n' > "$TMP/m2"
"$PS" -t -i < "$TMP/m2"
expect_eq "-t exit status" 0 $?
expect_eq "copies" 3 "$(calls)"
expect_eq "shared copy's arguments" "-i|--|ann@example.org|bob@example.net|carl@example.net" \
    "$(tr '\n' '|' < "$FAKE/1.args" | sed 's/|$//')"
grep -qi '^bcc:' "$FAKE/1.msg" && fail "the shared copy has a Bcc header"
grep -q 'dee@\|eve@' "$FAKE/1.msg" && fail "the shared copy names a Bcc recipient"
expect_eq "stamps in the shared copy" 3 "$(stamps "$FAKE/1.msg" | wc -l)"
for n in 2 3; do
    r=$(tail -n 1 "$FAKE/$n.args")
    expect_eq "Bcc copy $n's arguments" "-i|--|$r" "$(tr '\n' '|' < "$FAKE/$n.args" | sed 's/|$//')"
    expect_eq "Bcc copy $n's stamps" 1 "$(stamps "$FAKE/$n.msg" | wc -l)"
    stamps "$FAKE/$n.msg" | grep -q ":$r:" || fail "Bcc copy $n's stamp is not for $r"
    grep -qi '^bcc:' "$FAKE/$n.msg" && fail "Bcc copy $n has a Bcc header"
    other=dee@; [ "$r" = dee@example.org ] && other=eve@
    grep -q "$other" "$FAKE/$n.msg" && fail "Bcc copy $n names the other Bcc recipient"
done
expect_eq "Bcc recipients" "dee@example.org eve@example.com" "$(tail -qn 1 "$FAKE/2.args" "$FAKE/3.args" | sort | tr '\n' ' ' | sed 's/ $//')"

# 3. CRLF and 8-bit content pass byte for byte.
reset_fake
printf 'To: ann@example.org\r\nSubject: =?UTF-8?B?Y2Fmw6k=?=\r\n\r\ncaf\303\251 \377\r\n.leading dot\r\nend\r\n' > "$TMP/m3"
"$PS" -i ann@example.org < "$TMP/m3"
body "$TMP/m3" > "$TMP/m3.body"
body "$FAKE/1.msg" > "$TMP/out3.body"
cmp -s "$TMP/m3.body" "$TMP/out3.body" || fail "CRLF/8-bit body changed"
grep -q "$(printf 'X-Hashcash: 1:8:[^\r]*\r$')" "$FAKE/1.msg" || fail "the stamp header does not end in CRLF"

# 4. Without -i a line "." ends the message; with -i it is content.
reset_fake
printf 'To: ann@example.org\n\nbefore\n.\nafter\n' | "$PS" ann@example.org
expect_eq "dot ends input" "before" "$(body "$FAKE/1.msg")"
reset_fake
printf 'To: ann@example.org\n\nbefore\n.\nafter\n' | "$PS" -i ann@example.org
expect_eq "dot with -i" "before|.|after" "$(body "$FAKE/1.msg" | tr '\n' '|' | sed 's/|$//')"

# 5. The real sendmail missing: 75, said on stderr.
reset_fake
run_capture env POSTAGE_SENDMAIL=/nonexistent/sendmail "$PS" -i ann@example.org < "$TMP/m1"
expect_eq "missing sendmail: status" 75 "$rc"
case $err in *"cannot run the real sendmail /nonexistent/sendmail"*) ;; *) fail "missing sendmail not explained: $err" ;; esac

# 6. The real sendmail failing: its own status.
for code in 69 75 78; do
    reset_fake
    FAKE_FAIL_FROM=1 FAKE_EXIT=$code "$PS" -i ann@example.org < "$TMP/m1"
    expect_eq "sendmail exit $code passed on" "$code" $?
done

# 7. The real sendmail hanging: killed after sendmail_timeout, 75.
reset_fake
FAKE_SLEEP=30 "$PS" -i ann@example.org < "$TMP/m1"
expect_eq "hung sendmail" 75 $?

# 8. A failure after the shared copy went out: the Bcc copies are spooled
#    (the caller must not send the shared copy again), then --flush sends
#    them exactly as they were stamped.
reset_fake
FAKE_FAIL_FROM=2 "$PS" -t -i < "$TMP/m2"
expect_eq "partial failure: status" 0 $?
expect_eq "partial failure: queued" 2 "$("$PS" --queue | grep -c 'stamped')"
cp "$FAKE/2.msg" "$TMP/bcc-copy.msg"
"$PS" --flush > /dev/null
expect_eq "flush status" 0 $?
expect_eq "calls after the flush" 5 "$(calls)"
expect_eq "spool after the flush" 0 "$("$PS" --queue | grep -c 'stamped')"
cmp -s "$TMP/bcc-copy.msg" "$FAKE/4.msg" || cmp -s "$TMP/bcc-copy.msg" "$FAKE/5.msg" ||
    fail "the flushed copy differs from the one that failed"

# 9. The minter killed mid-way in the foreground: the caller sees the
#    failure (the mail program keeps the message), nothing was sent.
reset_fake
conf 'default_bits = 44' 'time_budget = 1h'
"$PS" -i ann@example.org < "$TMP/m1" &
pid=$!
sleep 1
kill -9 "$pid"
wait "$pid"
status=$?
[ "$status" -ne 0 ] || fail "a killed postage-sendmail exited 0"
expect_eq "nothing sent by the killed minter" 0 "$(calls)"

# ... and in the background: the message waits in the spool, and the
# next flush delivers it.
tag="killme-$$"
conf 'default_bits = 44' 'time_budget = 1h' 'background = yes'
"$PS" -i "$tag@example.org" < "$TMP/m1"
expect_eq "background returns at once" 0 $?
i=0
until pgrep -f "$tag@example.org" > /dev/null; do
    i=$((i + 1)); [ $i -lt 50 ] || break; sleep 0.1
done
pkill -9 -f "$tag@example.org"
sleep 0.2
expect_eq "spooled after the kill" 1 "$("$PS" --queue | grep -c "to stamp.*$tag")"
expect_eq "nothing sent yet" 0 "$(calls)"
conf
"$PS" --flush > /dev/null
expect_eq "flush after the kill" 0 $?
expect_eq "delivered by the flush" 1 "$(calls)"
stamps "$FAKE/1.msg" | grep -q ":8:[0-9]*:$tag@example.org:" || fail "the flushed message is not stamped"

# 10. A broken configuration: sent unstamped, with the reason.
reset_fake
conf 'bits = example.org 22'
run_capture "$PS" -i ann@example.org < "$TMP/m1"
expect_eq "broken config: status" 0 "$rc"
expect_eq "broken config: sent" 1 "$(calls)"
expect_eq "broken config: unstamped" 0 "$(stamps "$FAKE/1.msg" | wc -l)"
case $err in *"ps.conf:5: 'example.org' is not user@domain"*) ;; *) fail "broken config not explained: $err" ;; esac

# 11. A Bcc address that cannot be read: no split that could leave it
#     out; the real sendmail gets the message as it came (-t, Bcc header
#     and all) and judges the address itself.
reset_fake
conf
printf 'To: ann@example.org\nBcc: dee@example.org, "broken <\n\nbody\n' > "$TMP/m11"
"$PS" -t -i < "$TMP/m11"
expect_eq "unreadable Bcc: status" 0 $?
expect_eq "unreadable Bcc: one call" 1 "$(calls)"
expect_eq "unreadable Bcc: arguments unchanged" "-t|-i" "$(tr '\n' '|' < "$FAKE/1.args" | sed 's/|$//')"
grep -q '^Bcc: dee@example.org' "$FAKE/1.msg" || fail "unreadable Bcc: the Bcc header was not left to sendmail"

# 12. postage-sendmail as its own real sendmail: refused, not a loop.
reset_fake
conf
run_capture env POSTAGE_SENDMAIL="$(cd "$(dirname "$PS")" && pwd)/$(basename "$PS")" "$PS" -i ann@example.org < "$TMP/m1"
expect_eq "self as sendmail: status" 75 "$rc"

# 13. A header block over 1 MiB cannot be stamped: the message reaches
#     sendmail byte for byte, with its arguments as given, and with -t the
#     recipients are still in its header block.  Two shapes: one 1.1 MB
#     Subject line, and 16,000 ordinary fields before To and Subject (the
#     1 MiB mark falls inside a field name there, where a cut line looks
#     like the end of the block: an empty line was put there, and To went
#     into the body).
reset_fake
conf
{ printf 'From: me@example.org\nTo: ann@example.org\nSubject: '
  head -c 1100000 /dev/zero | tr '\0' 'x'
  printf '\n\nbody\n'; } > "$TMP/big1"
{ printf 'From: me@example.org\nMessage-ID: <20261206.00000001@example.org>\n'
  awk 'BEGIN { for (i = 0; i < 16000; i++) printf "X-Filler-%05d: an ordinary header field of an ordinary size, as mail has\n", i }'
  printf 'To: ann@example.org, bob@example.net\nSubject: after the fillers\n\nbody\n'; } > "$TMP/big2"
n=0
for big in big1 big2; do
    for mode in -t args; do
        reset_fake
        if [ "$mode" = -t ]; then "$PS" -t -i < "$TMP/$big"; else "$PS" -i ann@example.org < "$TMP/$big"; fi
        expect_eq "$big $mode: status" 0 $?
        expect_eq "$big $mode: one call" 1 "$(calls)"
        cmp -s "$TMP/$big" "$FAKE/1.msg" || fail "$big $mode: the message was changed ($(cmp "$TMP/$big" "$FAKE/1.msg" 2>&1))"
        if [ "$mode" = -t ]; then
            expect_eq "$big -t: arguments unchanged" "-t|-i" "$(tr '\n' '|' < "$FAKE/1.args" | sed 's/|$//')"
            # what sendmail -t reads: the To field, in the header block
            sed -n '/^$/q; /^To: /p' "$FAKE/1.msg" | grep -q 'ann@example.org' ||
                fail "$big -t: To is no longer in the header block: sendmail -t finds no recipient"
        fi
    done
done

# 14. The stamped path changes nothing but the added X-Hashcash lines:
#     LF and CRLF, folded fields, 8-bit, a block without a final newline,
#     and a block that ends at a line that is not a field.
conf
printf 'From: me@example.org\nTo: ann@example.org,\n\tbob@example.net\nSubject: folded\n  subject\n\nbody\n' > "$TMP/s1"
printf 'From: me@example.org\r\nTo: ann@example.org\r\nSubject: caf\303\251\r\n\r\n\377 body\r\n' > "$TMP/s2"
printf 'To: ann@example.org\nSubject: no newline' > "$TMP/s3"
printf 'To: ann@example.org\nSubject: no empty line\nthis line is not a field\nbody\n' > "$TMP/s4"
for m in s1 s2 s3 s4; do
    reset_fake
    "$PS" -i ann@example.org < "$TMP/$m"
    expect_eq "$m: status" 0 $?
    expect_eq "$m: one stamp" 1 "$(grep -ac '^X-Hashcash: ' "$FAKE/1.msg")"
    LC_ALL=C sed '/^X-Hashcash: /d' "$FAKE/1.msg" > "$TMP/$m.back"
    cmp -s "$TMP/$m" "$TMP/$m.back" || fail "$m: more than the stamp was changed ($(cmp "$TMP/$m" "$TMP/$m.back" 2>&1))"
done
# ... and a split copy changes only that, and drops its Bcc field.
reset_fake
"$PS" -t -i < "$TMP/m2"
LC_ALL=C sed '/^X-Hashcash: /d' "$FAKE/1.msg" > "$TMP/m2.back"
LC_ALL=C sed '/^Bcc: /d' "$TMP/m2" > "$TMP/m2.nobcc"
cmp -s "$TMP/m2.nobcc" "$TMP/m2.back" || fail "-t: the shared copy changed more than its stamps and Bcc"

# 15. Recipients given as arguments that To or Cc shows: one sendmail run
#     for them all, every one with its own valid stamp (not one run each).
N=200
[ "${POSTAGE_TEST_QUICK:-0}" = 1 ] && N=50
i=0; : > "$TMP/rcpts"
while [ $i -lt $N ]; do i=$((i + 1)); echo "r$i@example.org" >> "$TMP/rcpts"; done
{
    printf 'From: me@example.org\nTo: '
    sed '$!s/$/,/; 1!s/^/ /' "$TMP/rcpts"
    printf 'Subject: to many\n\nbody\n'
} > "$TMP/m15"
for how in arguments -t; do
    reset_fake
    if [ "$how" = -t ]; then
        "$PS" -i -t -f me@example.org < "$TMP/m15"
    else
        # shellcheck disable=SC2046
        "$PS" -i -f me@example.org $(cat "$TMP/rcpts") < "$TMP/m15"
    fi
    expect_eq "$N shown recipients ($how): status" 0 $?
    expect_eq "$N shown recipients ($how): sendmail runs" 1 "$(calls)"
    [ "$how" = arguments ] &&
        expect_eq "$N shown recipients ($how): arguments unchanged" "-i|-f|me@example.org|$(tr '\n' '|' < "$TMP/rcpts" | sed 's/|$//')" \
            "$(tr '\n' '|' < "$FAKE/1.args" | sed 's/|$//')"
    expect_eq "$N shown recipients ($how): stamps" "$N" "$(stamps "$FAKE/1.msg" | wc -l)"
    bad=0
    while read -r r; do
        s=$(stamps "$FAKE/1.msg" | grep ":$r:")
        "$VERIFY" -b 8 -r "$r" "$s" > /dev/null 2>&1 || bad=$((bad + 1))
    done < "$TMP/rcpts"
    expect_eq "$N shown recipients ($how): stamps that do not verify" 0 "$bad"
done
# Arguments that no header shows, to "undisclosed-recipients:;" or to a
# list address: the sender hid them from each other, so each gets a copy
# of its own, and no copy names another of them (address or stamp).
for to in 'undisclosed-recipients:;' 'list@example.org'; do
    reset_fake
    printf 'From: me@example.org\nTo: %s\nSubject: hidden\n\nbody\n' "$to" > "$TMP/m15u"
    "$PS" -i u1@example.org u2@example.org u3@example.org < "$TMP/m15u"
    expect_eq "hidden arguments ($to): status" 0 $?
    expect_eq "hidden arguments ($to): one private copy each" 3 "$(calls)"
    for n in 1 2 3; do
        f=$(grep -l "u$n@example.org" "$FAKE"/*.args | head -n 1)
        [ -n "$f" ] || { fail "hidden arguments ($to): no copy for u$n"; continue; }
        m=${f%.args}.msg
        expect_eq "hidden arguments ($to): u$n's copy carries only its stamp" "u$n@example.org" \
            "$(stamps "$m" | cut -d: -f4 | tr '\n' ' ' | sed 's/ $//')"
        for o in 1 2 3; do
            [ "$o" = "$n" ] && continue
            grep -q "u$o@" "$m" && fail "hidden arguments ($to): u$n's copy names u$o"
        done
    done
done
# ... but one the sender named in Bcc stays blind: a copy of its own,
# and neither its address nor its stamp in the shared copy.
reset_fake
printf 'From: me@example.org\nTo: r1@example.org, r3@example.org\nBcc: r2@example.org\nSubject: one hidden\n\nbody\n' > "$TMP/m15b"
"$PS" -i r1@example.org r2@example.org r3@example.org < "$TMP/m15b"
expect_eq "Bcc among arguments: runs" 2 "$(calls)"
expect_eq "Bcc among arguments: shared arguments" "-i|--|r1@example.org|r3@example.org" "$(tr '\n' '|' < "$FAKE/1.args" | sed 's/|$//')"
grep -q 'r2@' "$FAKE/1.msg" && fail "Bcc among arguments: the shared copy names the Bcc recipient"
expect_eq "Bcc among arguments: private copy" "-i|--|r2@example.org" "$(tr '\n' '|' < "$FAKE/2.args" | sed 's/|$//')"
expect_eq "Bcc among arguments: private stamp" "r2@example.org" "$(stamps "$FAKE/2.msg" | cut -d: -f4 | tr '\n' ' ' | sed 's/ $//')"
# ... and so does an argument hidden from the shown recipients (mutt's,
# mailx's and git send-email's Bcc: an argument with no header).
reset_fake
"$PS" -i ann@example.org bob@example.net dee@example.org < "$TMP/m1"
expect_eq "argument hidden from To/Cc: runs" 2 "$(calls)"
grep -q 'dee@' "$FAKE/1.msg" && fail "argument hidden from To/Cc: the shared copy names it"
expect_eq "argument hidden from To/Cc: private stamp" "dee@example.org" "$(stamps "$FAKE/2.msg" | cut -d: -f4)"
# The one run failing: its status, nothing spooled, nothing else sent.
reset_fake
# shellcheck disable=SC2046
FAKE_FAIL_FROM=1 FAKE_EXIT=69 "$PS" -i $(cat "$TMP/rcpts") < "$TMP/m15"
expect_eq "$N arguments, sendmail fails: status" 69 $?
expect_eq "$N arguments, sendmail fails: runs" 1 "$(calls)"
expect_eq "$N arguments, sendmail fails: spooled" 0 "$("$PS" --queue | grep -c 'stamped')"

# 16. A directory as the configuration: an error naming it, and the
#     message sent unstamped (as for any broken configuration).
reset_fake
mkdir -p "$TMP/conf.d"
run_capture env POSTAGE_SENDMAIL_CONF="$TMP/conf.d" "$PS" -i ann@example.org < "$TMP/m1"
expect_eq "directory as configuration: status" 0 "$rc"
expect_eq "directory as configuration: sent" 1 "$(calls)"
expect_eq "directory as configuration: unstamped" 0 "$(stamps "$FAKE/1.msg" | wc -l)"
case $err in *"$TMP/conf.d: is a directory"*) ;; *) fail "directory as configuration not explained: $err" ;; esac
cmp -s "$TMP/m1" "$FAKE/1.msg" || fail "directory as configuration: the unstamped message was changed"
finish
