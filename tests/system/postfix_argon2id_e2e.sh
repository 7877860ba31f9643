#!/bin/sh
# postfix_argon2id_e2e.sh - memory-hard (Argon2id) stamps end to end: a
# private Postfix with postaged's milter, dnsmasq serving the SPF test zone,
# mail sent with swaks, stamps minted by postage-mint --argon2id.  One
# postaged plays two sites in turn (a configuration reload between them):
#   - a site that takes SHA-1 stamps only refuses an Argon2id-stamped
#     message with a 451 that says Argon2id stamps are not accepted there
#     and what to attach instead, and spends nothing;
#   - a site that takes both names both in its 451, delivers the same
#     Argon2id stamp at once (worth price bits at the exchange rate), with
#     the trace header saying it was paid in Argon2id;
#   - there the stamp cannot pay twice; a stamp asking for more memory than
#     the site allows, a claim below the site's minimum bits, and a forged
#     claim pay nothing, and the first two are never computed.
# Memory is kept at 1 MiB so that minting takes milliseconds.
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/lib/postfix_harness.sh"
. "${top_srcdir:-.}/tests/lib/dns_harness.sh"
. "${top_srcdir:-.}/tests/lib/postaged_harness.sh"

require_built "$POSTAGED" "$MINT"
command -v swaks >/dev/null 2>&1 || skip "swaks is not installed (apt-get install swaks)"

dns_start
MILTER_PORT=$(free_port)
BASE=12
SPF_CREDIT=2
PRICE=$((BASE - SPF_CREDIT))   # an unknown sender whose SPF passes
MAX_MEMORY=1024
MIN_BITS=3
write_conf() {   # $1: postage_kinds
    postaged_conf "milter_listen=inet:127.0.0.1:$MILTER_PORT" hostname=argon2id-e2e.example \
        "dns_server=127.0.0.1:$DNS_PORT" dns_timeout=1000 helo_resolve=off helo_match=off \
        helo_fcrdns=off greylist_delay=1h "price_base=$BASE" price_cap=24 \
        "price_spf_credit=$SPF_CREDIT" "postage_kinds=$1" "argon2id_max_memory=$MAX_MEMORY" \
        argon2id_max_passes=2 "argon2id_min_bits=$MIN_BITS"
}
write_conf sha1
POSTAGED_OPTS=-v postaged_start "$MILTER_PORT"
pf_start --milter "127.0.0.1:$MILTER_PORT" --milter-default-action tempfail \
    -o 'smtpd_authorized_xclient_hosts = 127.0.0.0/8'

send() {   # FROM TO [swaks options]
    _from=$1; shift
    pf_send "$_from" "$@" --swaks-opt --xclient-addr --swaks-opt 192.0.2.10
}

# What one Argon2id attempt at 1 MiB, one pass, is worth: 8 + log2(1024)
# = 18 SHA-1 bits, so the minimum bits pay the price.
A2ID_BITS=$MIN_BITS
a2id_header() {   # RESOURCE [postage-mint options]
    _r=$1; shift
    "$MINT" -j 1 -X --argon2id --memory "$MAX_MEMORY" -b "$A2ID_BITS" "$@" "$_r"
}

# 1. The SHA-1-only site: an Argon2id stamp pays nothing, and the reply
#    says why and what would pay.
stamp=$(a2id_header bob@example.test) || fail "postage-mint --argon2id failed"
case "$stamp" in
    "X-Hashcash: 1:$A2ID_BITS:"*":bob@example.test:a2id=m$MAX_MEMORY,t1,p1:"*) ;;
    *) fail "unexpected Argon2id stamp: $stamp" ;;
esac
send alice@pass.test bob@example.test --header 'Subject: argon2id at a sha1 site' --header "$stamp"
r=$(reply451)
case "$r" in
    *"attach X-Hashcash with $PRICE bits for <bob@example.test>; Argon2id stamps are not accepted here"*) ;;
    *) fail "the SHA-1-only site did not say Argon2id is not accepted: '$r'"; show_logs ;;
esac
expect_eq "messages delivered at the SHA-1-only site" 0 "$(pf_mail_count bob@example.test)"
grep -q "stamp 1:$A2ID_BITS:.*: kind not accepted" "$TMP/postaged.log" ||
    fail "postaged did not log the stamp as 'kind not accepted'"

# 2. The same postaged, now a site that takes both kinds.
write_conf sha1+argon2id
kill -HUP "$postaged_pid"
end=$(( $(date +%s) + 10 ))
until grep -q 'reload: configuration .* loaded' "$TMP/postaged.log"; do
    [ "$(date +%s)" -gt "$end" ] && { fail "postaged did not reload"; break; }
    sleep 0.1
done
send alice@pass.test carol@example.test --header 'Subject: unpaid'
r=$(reply451)
case "$r" in
    *"attach X-Hashcash with $PRICE bits (SHA-1, or Argon2id a2id=m$MAX_MEMORY,t1,p1 with $MIN_BITS bits) for <carol@example.test>"*) ;;
    *) fail "the 451 does not name both kinds: '$r'"; show_logs ;;
esac

# 3. The stamp the first site refused (nothing was spent there) pays here.
send alice@pass.test bob@example.test --header 'Subject: argon2id paid' --header "$stamp" ||
    { fail "the Argon2id-paid message was refused"; show_logs; }
msg=$(pf_wait_delivered bob@example.test 20) || { fail "nothing delivered to bob"; show_logs; }
grep -q "^X-Postage-Result: argon2id-e2e.example; price=$PRICE; .*stamps=1; replayed=0; invalid=0; rcpt=<bob@example.test> paid $((MIN_BITS + 18))/$PRICE argon2id" "$msg" ||
    { fail "no trace header saying bob paid $((MIN_BITS + 18))/$PRICE in Argon2id"; grep '^X-Postage' "$msg" >&2; }

# 4. It cannot pay twice.
send alice@pass.test bob@example.test --header 'Subject: replay' --header "$stamp"
reply451 | grep -q 'for <bob@example.test>' || { fail "a replayed Argon2id stamp paid"; show_logs; }
expect_eq "bob's messages after the replay" 1 "$(pf_mail_count bob@example.test)"

# 5. Out of bounds: more memory than the site allows; fewer bits than its
#    minimum.  Both pay nothing, and neither is computed (the log says
#    which bound).
big=$(a2id_header dee@example.test --memory $((MAX_MEMORY * 2)))
few=$(a2id_header eve@example.test -b $((MIN_BITS - 1)))
send alice@pass.test dee@example.test eve@example.test --header 'Subject: out of bounds' \
    --header "$big" --header "$few"
r=$(reply451)
case "$r" in
    *"for each of <dee@example.test>, <eve@example.test>"*) ;;
    *) fail "out-of-bounds stamps were not refused for both: '$r'"; show_logs ;;
esac
for who in dee eve; do
    case "$r" in
        *"The stamp for <$who@example.test> did not pay: its Argon2id parameters or bits are beyond our limits"*) ;;
        *) fail "the 451 does not say why $who's stamp did not pay: '$r'" ;;
    esac
done
expect_eq "out-of-bounds stamps logged" 2 \
    "$(grep -c 'stamp 1:[0-9]*:.*: Argon2id parameters out of bounds' "$TMP/postaged.log")"

# 6. A forged claim: 12 bits claimed, the tag checked, refused.
forged="X-Hashcash: 1:12:$(date -u +%y%m%d):fay@example.test:a2id=m$MAX_MEMORY,t1,p1:forgedforgedfo:1"
send alice@pass.test fay@example.test --header 'Subject: forged' --header "$forged"
reply451 | grep -q 'for <fay@example.test>' || { fail "a forged Argon2id claim paid"; show_logs; }
grep -q "stamp 1:12:.*fay@example.test.*: invalid" "$TMP/postaged.log" ||
    fail "the forged claim was not logged as invalid"
expect_eq "messages for dee, eve, fay" 0 \
    "$(( $(pf_mail_count dee@example.test) + $(pf_mail_count eve@example.test) + $(pf_mail_count fay@example.test) ))"

postaged_stop
finish
