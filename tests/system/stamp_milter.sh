#!/bin/sh
# stamp_milter.sh - the stamping milter (stamp_listen, issue 19), driven by
# tests/system/milter_client as Postfix would drive it, its prices served
# by a private dnsmasq (tests/lib/dns_harness.sh):
#
#   _postage.paid.test    "v=POSTAGE1; b=10"
#   _postage.greedy.test  "v=POSTAGE1; b=30"   (over stamp_max_bits 26)
#   _postage.bad.test     "v=POSTAGE1; b=x"    (invalid: publishes nothing)
#   none.test             nothing
#   *.timeout.test        never answered
#
# Which mail: a SASL-authenticated client, a client in stamp_clients and a
# local submission (Postfix's "localhost" [127.0.0.1] port 0) are stamped;
# an outside client and, with stamp_clients emptied by a SIGHUP, a loopback
# SMTP client are not.  What: one stamp per paid recipient, each checked
# with postage-verify (its bits, and the recipient as its resource), none
# for a domain that publishes nothing, asks too much or publishes an
# invalid record; stamp_default_bits pays those that publish nothing.  A
# recipient already paid (as the copies come back) is not paid again.
# Blind recipients: removed from the shared message (SMFIR_DELRCPT) and
# sent their own copy through stamp_sendmail (a script recording its
# arguments and input): the copy carries exactly one stamp, for that
# recipient, and the shared message none naming it; with the script
# failing, the recipient stays, unstamped; with stamp_blind = unstamped
# it stays unstamped and nothing is injected.  Faults: the DNS server gone or
# silent, or a stamp not minted within stamp_timeout, send the message on
# unstamped where the fault was (the milter still answers, within the
# client's wait), or tempfail it with stamp_on_error = tempfail.  A
# recipient no stamp can name (a ':') goes unpaid without being a fault;
# more recipients than the milter keeps, unstamped.  Each message gets its
# one log line saying why.
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/lib/dns_harness.sh"

CLIENT="$top_builddir/tests/system/milter_client"
require_built "$POSTAGED"
require_built "$CLIENT"
require_built "$VERIFY"
watchdog 300

dns_start "--txt-record=_postage.paid.test,v=POSTAGE1; b=10" \
    "--txt-record=_postage.greedy.test,v=POSTAGE1; b=30" \
    "--txt-record=_postage.bad.test,v=POSTAGE1; b=x" \
    "--txt-record=_postage.huge.test,v=POSTAGE1; b=40"

# The fake sendmail: each run writes its arguments (one a line) and its
# standard input to $TMP/copies/N.argv and N.msg; exit status from
# $TMP/sendmail.exit (0 when absent).
mkdir "$TMP/copies"
cat > "$TMP/fake-sendmail" <<EOF
#!/bin/sh
n=\$(ls "$TMP/copies" | grep -c '\\.argv\$')
printf '%s\\n' "\$@" > "$TMP/copies/\$n.argv"
cat > "$TMP/copies/\$n.msg"
[ -f "$TMP/sendmail.exit" ] && exit "\$(cat "$TMP/sendmail.exit")"
exit 0
EOF
chmod +x "$TMP/fake-sendmail"

# postaged -n checks the stamping milter's settings when it is on.
postaged_conf -o "$TMP/bad.conf" stamp_listen=inet:127.0.0.1:1 "stamp_sendmail=sendmail -i"
"$POSTAGED" -c "$TMP/bad.conf" -n > /dev/null 2> "$TMP/bad.err" && fail "-n took a relative stamp_sendmail"
grep -q "stamp_sendmail: 'sendmail -i' does not start with an absolute path" "$TMP/bad.err" ||
    fail "-n: $(cat "$TMP/bad.err")"
postaged_conf -o "$TMP/bad.conf" stamp_listen=inet:127.0.0.1:1 "stamp_clients=10.0.0.1/8"
"$POSTAGED" -c "$TMP/bad.conf" -n > /dev/null 2> "$TMP/bad.err" && fail "-n took 10.0.0.1/8"
grep -q "stamp_clients: '10.0.0.1/8'" "$TMP/bad.err" || fail "-n: $(cat "$TMP/bad.err")"
postaged_conf -o "$TMP/good.conf" stamp_listen=inet:127.0.0.1:1
"$POSTAGED" -c "$TMP/good.conf" -n > /dev/null 2>&1 || fail "-n refused the stamping milter alone"

PORT=$(free_port)
postaged_conf "stamp_listen=inet:127.0.0.1:$PORT" "dns_server=127.0.0.1:$DNS_PORT" \
    dns_timeout=300 stamp_timeout=20s stamp_threads=2 \
    "stamp_sendmail=$TMP/fake-sendmail -C $TMP/postfix-conf"
"$POSTAGED" -c "$TMP/postaged.conf" -f 2> "$TMP/postaged.log" &
pid=$!
kill_at_exit "$pid"
wait_listen "$PORT" 10 "$pid" || { fail "postaged did not start: $(cat "$TMP/postaged.log")"; finish; }

n=0
# send NAME LINE [milter_client options...]: one message; its answer and
# modifications in $TMP/NAME.out, its log line in $TMP/NAME.log
send() {
    _name=$1 _line=$2
    shift 2
    printf '%s\n' "$_line" > "$TMP/$_name.in"
    "$CLIENT" --connect "inet:127.0.0.1:$PORT" --show-headers --timeout 60000 "$@" \
        "$TMP/$_name.in" > "$TMP/$_name.out" 2> "$TMP/$_name.err" ||
        fail "$_name: milter_client failed: $(cat "$TMP/$_name.err")"
    n=$((n + 1))
    # the n-th "stamp:" line is this message's (written before the answer)
    grep ' stamp: queue-id ' "$TMP/postaged.log" | sed -n "${n}p" > "$TMP/$_name.log"
    [ -s "$TMP/$_name.log" ] || fail "$_name: no log line: $(tail -n 3 "$TMP/postaged.log")"
}
# stamps NAME: the stamps the milter added, one a line
stamps() { sed -n 's/^1	header	X-Hashcash: //p' "$TMP/$1.out"; }
# paid NAME RCPT BITS: exactly one added stamp names RCPT, and it verifies
# at BITS for RCPT
paid() {
    _s=$(stamps "$1" | grep -i ":$2:" || true)
    expect_eq "$1: one stamp for $2" 1 "$(printf '%s' "$_s" | grep -c .)"
    [ -z "$_s" ] || "$VERIFY" -b "$3" -r "$2" "$_s" > /dev/null ||
        fail "$1: the stamp for $2 does not verify at $3 bits: $_s"
}
unpaid() {
    stamps "$1" | grep -qi ":$2:" && fail "$1: a stamp for $2: $(stamps "$1")"
    return 0
}
logged() {    # NAME TEXT
    grep -qF -- "$2" "$TMP/$1.log" || fail "$1: the log line does not say '$2': $(cat "$TMP/$1.log")"
}
answer() { sed -n '1s/^1	\([a-z]*\).*/\1/p' "$TMP/$1.out"; }

TAB=$(printf '\t')
HDRS="To: bob@paid.test, carol@none.test${TAB}Subject: hello"

# --- which mail ---------------------------------------------------------------
send auth "bob@paid.test,carol@none.test${TAB}$HDRS" --client-addr 203.0.113.5 --auth alice
expect_eq "auth: answered continue" continue "$(answer auth)"
paid auth bob@paid.test 10
unpaid auth carol@none.test
expect_eq "auth: one stamp in all" 1 "$(stamps auth | grep -c .)"
logged auth "stamped 1 of 2 recipients"
logged auth "authenticated as alice"
logged auth "paid.test b=10 published"
logged auth "none.test publishes nothing"

send outside "bob@paid.test${TAB}To: bob@paid.test" --client-addr 203.0.113.5
expect_eq "outside: answered continue" continue "$(answer outside)"
expect_eq "outside: no stamp" "" "$(stamps outside)"
logged outside "not stamped: client 203.0.113.5 is neither authenticated nor in stamp_clients"

send loopback "bob@paid.test${TAB}To: bob@paid.test" --client-addr 127.0.0.1 --client-port 40000
paid loopback bob@paid.test 10
logged loopback "client 127.0.0.1 is in stamp_clients"

send local "bob@paid.test${TAB}To: bob@paid.test" --client-addr 127.0.0.1 \
    --client-name localhost --client-port 0
paid local bob@paid.test 10
logged local "submitted locally"

# --- what is paid ---------------------------------------------------------------
send prices "carol@none.test,gina@greedy.test,bert@bad.test${TAB}To: carol@none.test, gina@greedy.test, bert@bad.test" --auth alice
expect_eq "prices: no stamp" "" "$(stamps prices)"
logged prices "stamped 0 of 3 recipients"
logged prices "greedy.test asks 30 bits, over stamp_max_bits 26"
logged prices "bad.test has an invalid record"

# A recipient no stamp can name (a ':' in its local part) is not paid,
# and that is no fault.
send colon '"a:b"@paid.test,bob@paid.test'"${TAB}To: bob@paid.test, \"a:b\"@paid.test" --auth alice
paid colon bob@paid.test 10
expect_eq "colon: one stamp" 1 "$(stamps colon | grep -c .)"
logged colon 'no stamp for <"a:b"@paid.test>'

# More recipients than the milter keeps (1000, Postfix's
# smtpd_recipient_limit): passed unstamped, with its log line.
many=$(i=0; while [ $i -le 1000 ]; do printf 'r%d@paid.test,' $i; i=$((i + 1)); done)
send many "${many%,}${TAB}To: r0@paid.test" --auth alice
expect_eq "many: answered continue" continue "$(answer many)"
expect_eq "many: no stamp" "" "$(stamps many)"
logged many "not stamped: too many recipients"

# A message already carrying a good stamp for its recipient is passed.
S=$(stamps local)
send already "bob@paid.test${TAB}To: bob@paid.test${TAB}X-Hashcash: $S" --auth alice
expect_eq "already: no stamp added" "" "$(stamps already)"
logged already "stamped 0 of 1 recipient, 1 paid already"

# --- blind recipients -------------------------------------------------------------
send blind "bob@paid.test,dave@paid.test,carol@none.test${TAB}$HDRS" --auth alice --from ann@sender.test
paid blind bob@paid.test 10
unpaid blind dave@paid.test
expect_eq "blind: dave removed from the shared message" "1	delrcpt	<dave@paid.test>" \
    "$(grep '	delrcpt	' "$TMP/blind.out")"
logged blind "stamped 2 of 3 recipients, 1 in a copy of their own"
expect_eq "blind: one copy injected" 1 "$(ls "$TMP/copies" | grep -c '\.argv$')"
expect_eq "blind: the copy's command line" \
    "$(printf '%s\n' -C "$TMP/postfix-conf" -i -f ann@sender.test -- dave@paid.test)" \
    "$(cat "$TMP/copies/0.argv")"
copy_stamps=$(sed -n '/^$/q; s/^X-Hashcash: //p' "$TMP/copies/0.msg")
expect_eq "blind: the copy has exactly one stamp" 1 "$(printf '%s\n' "$copy_stamps" | grep -c .)"
"$VERIFY" -b 10 -r dave@paid.test "$copy_stamps" > /dev/null ||
    fail "blind: the copy's stamp does not verify for dave@paid.test: $copy_stamps"
grep -q '^Subject: hello$' "$TMP/copies/0.msg" || fail "blind: the copy lost its Subject"
grep -q '^This is a test message' "$TMP/copies/0.msg" || fail "blind: the copy lost its body"
# The copy comes back through non_smtpd_milters: passed as it is.
send copyback "dave@paid.test${TAB}To: bob@paid.test, carol@none.test${TAB}X-Hashcash: $copy_stamps" \
    --client-addr 127.0.0.1 --client-name localhost
expect_eq "copyback: nothing added" "" "$(stamps copyback)"
expect_eq "copyback: no recipient removed" "" "$(grep '	delrcpt	' "$TMP/copyback.out")"
expect_eq "copyback: not injected again" 1 "$(ls "$TMP/copies" | grep -c '\.argv$')"
logged copyback "1 paid already"

# Every recipient blind (To: undisclosed-recipients:;): the shared message
# goes to the first alone, stamped in place; the other gets a copy.
send allblind "bob@paid.test,dave@paid.test${TAB}To: undisclosed-recipients:;" --auth alice
paid allblind bob@paid.test 10
unpaid allblind dave@paid.test
expect_eq "allblind: dave removed" "1	delrcpt	<dave@paid.test>" "$(grep '	delrcpt	' "$TMP/allblind.out")"
expect_eq "allblind: one more copy" 2 "$(ls "$TMP/copies" | grep -c '\.argv$')"
expect_eq "allblind: the copy is dave's" dave@paid.test "$(tail -n 1 "$TMP/copies/1.argv")"

# The injection failing: dave and erin stay in the shared message,
# unstamped; after one failure the other copy is not tried.
echo 75 > "$TMP/sendmail.exit"
send blindfail "bob@paid.test,dave@paid.test,erin@paid.test${TAB}To: bob@paid.test" --auth alice
paid blindfail bob@paid.test 10
unpaid blindfail dave@paid.test
unpaid blindfail erin@paid.test
expect_eq "blindfail: dave and erin kept" "" "$(grep '	delrcpt	' "$TMP/blindfail.out")"
expect_eq "blindfail: one try" 3 "$(ls "$TMP/copies" | grep -c '\.argv$')"
logged blindfail "exited with status 75; kept unstamped"
logged blindfail "2 blind recipients kept unstamped, the rest untried"
rm -f "$TMP/sendmail.exit"

# --- a reload: stamp_clients emptied, stamp_default_bits 8, stamp_blind unstamped ----
printf 'stamp_clients =\nstamp_default_bits = 8\nstamp_blind = unstamped\n' >> "$TMP/postaged.conf"
kill -HUP "$pid"
i=0
until grep -q 'reload: configuration' "$TMP/postaged.log"; do
    i=$((i + 1)); [ $i -lt 100 ] || { fail "no reload"; break; }; sleep 0.1
done
send reloop "bob@paid.test${TAB}To: bob@paid.test" --client-addr 127.0.0.1 --client-port 40000
expect_eq "reloop: a loopback SMTP client is no longer stamped" "" "$(stamps reloop)"
logged reloop "not stamped: client 127.0.0.1 is neither"
send relocal "carol@none.test${TAB}To: carol@none.test" --client-addr 127.0.0.1 --client-name localhost
paid relocal carol@none.test 8
logged relocal "none.test publishes nothing, stamp_default_bits 8"
copies_before=$(ls "$TMP/copies" | grep -c '\.argv$')
send noblind "bob@paid.test,dave@paid.test${TAB}To: bob@paid.test" --auth alice
paid noblind bob@paid.test 10
unpaid noblind dave@paid.test
expect_eq "noblind: dave kept" "" "$(grep '	delrcpt	' "$TMP/noblind.out")"
expect_eq "noblind: no copy" "$copies_before" "$(ls "$TMP/copies" | grep -c '\.argv$')"
logged noblind "blind recipients unstamped (stamp_blind = unstamped)"

# --- faults --------------------------------------------------------------------------
# A server that never answers (timeout.test is forwarded to a silent port).
send silent "bob@paid.test,tim@x.timeout.test${TAB}To: bob@paid.test, tim@x.timeout.test" --auth alice
expect_eq "silent: answered continue" continue "$(answer silent)"
paid silent bob@paid.test 10
unpaid silent tim@x.timeout.test
logged silent "x.timeout.test: DNS"

# Minting over the budget: 40 bits (about 2^40 trials, hours here) within
# stamp_timeout = 1s.  What was found by then (bob's 10 bits) is kept.
printf 'stamp_timeout = 1s\nstamp_max_bits = 40\n' >> "$TMP/postaged.conf"
kill -HUP "$pid"
i=0
until [ "$(grep -c 'reload: configuration' "$TMP/postaged.log")" -ge 2 ]; do
    i=$((i + 1)); [ $i -lt 100 ] || { fail "no second reload"; break; }; sleep 0.1
done
send huge "bob@paid.test,hugh@huge.test${TAB}To: bob@paid.test, hugh@huge.test" --auth alice
expect_eq "huge: answered continue" continue "$(answer huge)"
paid huge bob@paid.test 10
unpaid huge hugh@huge.test
logged huge "huge.test b=40 published"
logged huge "1 stamp not minted within stamp_timeout"
stop_pids "$pid"

# No DNS server at all, on sending and on tempfail.
DEAD=$(free_port --udp)
PORT=$(free_port)
postaged_conf "stamp_listen=inet:127.0.0.1:$PORT" "dns_server=127.0.0.1:$DEAD" \
    dns_timeout=200 stamp_timeout=5s "stamp_sendmail=$TMP/fake-sendmail"
"$POSTAGED" -c "$TMP/postaged.conf" -f 2> "$TMP/postaged.log" &
pid=$!
kill_at_exit "$pid"
wait_listen "$PORT" 10 "$pid" || { fail "postaged did not start: $(cat "$TMP/postaged.log")"; finish; }
n=0
send dnsdown "bob@paid.test${TAB}To: bob@paid.test" --auth alice
expect_eq "dnsdown: answered continue" continue "$(answer dnsdown)"
expect_eq "dnsdown: no stamp" "" "$(stamps dnsdown)"
logged dnsdown "stamped 0 of 1 recipient"
logged dnsdown "paid.test: DNS"
printf 'stamp_on_error = tempfail\n' >> "$TMP/postaged.conf"
kill -HUP "$pid"
i=0
until grep -q 'reload: configuration' "$TMP/postaged.log"; do
    i=$((i + 1)); [ $i -lt 100 ] || { fail "no reload"; break; }; sleep 0.1
done
send dnstemp "bob@paid.test${TAB}To: bob@paid.test" --auth alice
expect_eq "dnstemp: tempfail" tempfail "$(answer dnstemp)"
logged dnstemp "tempfail (stamp_on_error)"
expect_eq "dnstemp: no copy injected" 3 "$(ls "$TMP/copies" | grep -c '\.argv$')"
stop_pids "$pid"
finish
