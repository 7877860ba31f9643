#!/bin/sh
# sendmail_price_dns.sh - postage-sendmail pays each recipient the price
# its domain publishes at _postage.<domain> (issue 19 §3), against a
# dnsmasq zone on loopback and a stand-in for the real sendmail.  Checks,
# by postage-verify on the stamps the stand-in received: two domains
# publishing different b get stamps of exactly those bits (a bits rule for
# a publishing domain does not override its record); a domain publishing
# nothing, one whose record is invalid and one taking no SHA-1 stamps get
# the bits rules (a rule, else default_bits); a record asking more than
# max_bits is paid max_bits, and stderr says so; Bcc recipients get their
# own domain's price in their own copy.  DNS down (nothing on the port)
# and DNS silent (a timeout): the message still goes out, stamped at the
# bits rules, with exactly one line saying so; the same for a dns_server
# the resolver refuses.  dns_server = none makes no look-up at all
# (dnsmasq's query log gets no new _postage names).
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/lib/dns_harness.sh"

PS="$top_builddir/postage-sendmail"
require_built "$PS" "$VERIFY"

dns_start \
    '--txt-record=_postage.cheap.test,v=POSTAGE1; b=6' \
    '--txt-record=_postage.dear.test,v=POSTAGE1;b=9 ; k=sha1:argon2id' \
    '--txt-record=_postage.greedy.test,v=POSTAGE1; b=30' \
    '--txt-record=_postage.broken.test,v=POSTAGE1; b=x' \
    '--txt-record=_postage.a2only.test,v=POSTAGE1; b=6; k=argon2id' \
    '--txt-record=_postage.other.test,v=spf1 -all' \
    '--host-record=nopub.test,192.0.2.7'

FAKE=$TMP/fake
mkdir -p "$FAKE"
cat > "$TMP/fake-sendmail" <<'EOS'
#!/bin/sh
n=$(ls "$FAKE_DIR" | grep -c '\.args$')
n=$((n + 1))
for a in "$@"; do printf '%s\n' "$a"; done > "$FAKE_DIR/$n.args"
cat > "$FAKE_DIR/$n.msg"
EOS
chmod +x "$TMP/fake-sendmail"
export FAKE_DIR="$FAKE" POSTAGE_SENDMAIL="$TMP/fake-sendmail"
export POSTAGE_SENDMAIL_CONF="$TMP/ps.conf" POSTAGE_RATE_CACHE="$TMP/rate"
# conf DNS_SERVER [LINE...]
conf() {
    printf 'default_bits = 3\nmax_bits = 10\nbits = @nopub.test 5\nbits = @cheap.test 12\n' > "$TMP/ps.conf"
    printf 'spool = %s/spool\nsendmail_timeout = 10s\nlog_stderr = yes\ndns_server = %s\n' \
        "$TMP" "$1" >> "$TMP/ps.conf"
    shift
    for line in "$@"; do printf '%s\n' "$line" >> "$TMP/ps.conf"; done
}
reset_fake() { rm -f "$FAKE"/*; }
calls() { set -- "$FAKE"/*.args; if [ -e "$1" ]; then echo $#; else echo 0; fi; }
# stamp_of FILE RCPT: the stamp for RCPT in the recorded message FILE
stamp_of() {
    sed -n '/^$/q; s/^X-Hashcash: //p' "$1" | awk -F: -v r="$2" '$4 == r'
}
# expect_bits WHAT FILE RCPT BITS: the stamp claims exactly BITS and is
# worth them for RCPT
expect_bits() {
    s=$(stamp_of "$2" "$3")
    [ -n "$s" ] || { fail "$1: no stamp for $3 in $2"; return; }
    expect_eq "$1: bits of $3's stamp" "$4" "$(printf '%s' "$s" | cut -d: -f2)"
    "$VERIFY" -b "$4" -r "$3" "$s" > /dev/null 2>&1 || fail "$1: $3's stamp does not verify at $4 bits: $s"
}

RCPTS="ann@cheap.test bob@dear.test carl@nopub.test dee@greedy.test eve@broken.test fay@a2only.test gil@other.test"
{
    printf 'From: me@sender.test\nTo: '
    # shellcheck disable=SC2086
    printf '%s, ' $RCPTS | sed 's/, $//'
    printf '\nSubject: prices\n\nhello\n'
} > "$TMP/m1"

# 1. Each domain's own price, the rules for the rest.
conf "127.0.0.1:$DNS_PORT"
# shellcheck disable=SC2086
run_capture "$PS" -i $RCPTS < "$TMP/m1"
expect_eq "published: status" 0 "$rc"
expect_eq "published: one copy" 1 "$(calls)"
expect_bits "published b=6 (a rule says 12)" "$FAKE/1.msg" ann@cheap.test 6
expect_bits "published b=9" "$FAKE/1.msg" bob@dear.test 9
expect_bits "no record: the rule" "$FAKE/1.msg" carl@nopub.test 5
expect_bits "b=30 over max_bits" "$FAKE/1.msg" dee@greedy.test 10
expect_bits "invalid record: default_bits" "$FAKE/1.msg" eve@broken.test 3
expect_bits "argon2id only: default_bits" "$FAKE/1.msg" fay@a2only.test 3
expect_bits "not a postage record: default_bits" "$FAKE/1.msg" gil@other.test 3
case $err in *"greedy.test: _postage.greedy.test asks 30 bits, more than max_bits = 10: paying 10"*) ;;
    *) fail "the record over max_bits is not reported: $err" ;; esac
case $err in *"broken.test: invalid record"*) ;; *) fail "the invalid record is not reported: $err" ;; esac
case $err in *"a2only.test: invalid record (_postage.a2only.test takes no SHA-1 stamps)"*) ;;
    *) fail "the record without SHA-1 is not reported: $err" ;; esac
case $err in *"cheap.test: 6 bits, published at _postage.cheap.test"*) ;;
    *) fail "where the price came from is not said: $err" ;; esac
case $err in *"no price from DNS"*) fail "a DNS failure reported with DNS up: $err" ;; esac

# 2. Blind recipients: each copy carries its own domain's price.
reset_fake
printf 'From: me@sender.test\nTo: ann@cheap.test\nBcc: bob@dear.test, carl@nopub.test\nSubject: bcc\n\nx\n' > "$TMP/m2"
run_capture "$PS" -t -i < "$TMP/m2"
expect_eq "bcc: status" 0 "$rc"
expect_eq "bcc: copies" 3 "$(calls)"
expect_bits "bcc: shared copy" "$FAKE/1.msg" ann@cheap.test 6
for n in 2 3; do
    r=$(tail -n 1 "$FAKE/$n.args")
    case $r in
        bob@dear.test) expect_bits "bcc copy" "$FAKE/$n.msg" "$r" 9 ;;
        carl@nopub.test) expect_bits "bcc copy" "$FAKE/$n.msg" "$r" 5 ;;
        *) fail "bcc copy $n is for $r" ;;
    esac
done

# 3. DNS down: nothing listens on the port.  Sent, at the rules, one line.
reset_fake
conf "127.0.0.1:$(free_port --udp)" "dns_timeout = 2s"
# shellcheck disable=SC2086
run_capture "$PS" -i $RCPTS < "$TMP/m1"
expect_eq "DNS down: status" 0 "$rc"
expect_eq "DNS down: sent" 1 "$(calls)"
expect_bits "DNS down: the rule" "$FAKE/1.msg" carl@nopub.test 5
expect_bits "DNS down: the rule, not the record" "$FAKE/1.msg" ann@cheap.test 12
expect_bits "DNS down: default_bits" "$FAKE/1.msg" bob@dear.test 3
expect_eq "DNS down: one line" 1 "$(printf '%s\n' "$err" | grep -c 'no price from DNS')"
case $err in *"no price from DNS for 7 domains"*"stamping at the bits rules"*) ;;
    *) fail "DNS down not explained: $err" ;; esac

# 4. DNS silent (timeout.test is forwarded to a socket that never answers):
#    the other domains still get their prices.
reset_fake
conf "127.0.0.1:$DNS_PORT" "dns_timeout = 1s"
printf 'To: a@x.timeout.test, b@y.timeout.test, ann@cheap.test\n\nx\n' > "$TMP/m4"
run_capture "$PS" -i a@x.timeout.test b@y.timeout.test ann@cheap.test < "$TMP/m4"
expect_eq "DNS timeout: status" 0 "$rc"
expect_eq "DNS timeout: sent" 1 "$(calls)"
expect_bits "DNS timeout: default_bits" "$FAKE/1.msg" a@x.timeout.test 3
expect_bits "DNS timeout: default_bits" "$FAKE/1.msg" b@y.timeout.test 3
expect_eq "DNS timeout: one line" 1 "$(printf '%s\n' "$err" | grep -c 'no price from DNS')"
case $err in *"no price from DNS for 2 domains"*) ;; *) fail "DNS timeout not explained: $err" ;; esac

# 5. dns_server = none: the rules alone, and no query is made.
reset_fake
conf none
before=$(grep -c '_postage' "$DNS_LOG")
run_capture "$PS" -i ann@cheap.test < "$TMP/m1"
expect_eq "none: status" 0 "$rc"
expect_bits "none: the rule" "$FAKE/1.msg" ann@cheap.test 12
expect_eq "none: no query" "$before" "$(grep -c '_postage' "$DNS_LOG")"

# 6. A dns_server the resolver refuses: sent, at the rules, said once.
reset_fake
conf "mail.example.org:53"
run_capture "$PS" -i ann@cheap.test < "$TMP/m1"
expect_eq "bad dns_server: status" 0 "$rc"
expect_bits "bad dns_server: the rule" "$FAKE/1.msg" ann@cheap.test 12
expect_eq "bad dns_server: one line" 1 "$(printf '%s\n' "$err" | grep -c 'dns_server: .*stamping at the bits rules')"
finish
