#!/bin/sh
# mint_auto_dns.sh - postage-mint -b auto (issue 19 §3) against a dnsmasq
# zone on loopback: each resource is minted at the price its domain
# publishes at _postage.<domain>, checked by postage-verify, in one run
# with resources of two domains and repeats (the batch path: each item its
# own bits, in order); stderr says once per domain where the figure came
# from.  A domain publishing nothing, an invalid record, one taking no
# SHA-1 stamps, a resource without a domain and DNS down are usage errors
# (exit 2) that name the domain and print no stamp; with --fallback-bits
# they are minted at those bits, and stderr says why.
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/lib/dns_harness.sh"

require_built "$MINT" "$VERIFY"

dns_start \
    '--txt-record=_postage.cheap.test,v=POSTAGE1; b=6' \
    '--txt-record=_postage.dear.test,v=POSTAGE1; b=9; k=sha1:argon2id; am=65536' \
    '--txt-record=_postage.broken.test,v=POSTAGE1; b=6; b=7' \
    '--txt-record=_postage.a2only.test,v=POSTAGE1; b=6; k=argon2id' \
    '--host-record=nopub.test,192.0.2.7'
DNS="127.0.0.1:$DNS_PORT"

# expect_stamp WHAT STAMP RCPT BITS: STAMP is for RCPT, claims exactly
# BITS and is worth them
expect_stamp() {
    expect_eq "$1: resource" "$3" "$(printf '%s' "$2" | cut -d: -f4)"
    expect_eq "$1: bits" "$4" "$(printf '%s' "$2" | cut -d: -f2)"
    "$VERIFY" -b "$4" -r "$3" "$2" > /dev/null 2>&1 || fail "$1: does not verify at $4 bits: $2"
}

# 1. Two domains, two prices, in the order given; one line per domain.
run_capture "$MINT" -b auto --dns-server "$DNS" ann@cheap.test bob@dear.test Carl@Cheap.test dee@dear.test
expect_eq "auto: status" 0 "$rc"
expect_eq "auto: stamps" 4 "$(printf '%s\n' "$out" | wc -l)"
expect_stamp "auto 1" "$(printf '%s\n' "$out" | sed -n 1p)" ann@cheap.test 6
expect_stamp "auto 2" "$(printf '%s\n' "$out" | sed -n 2p)" bob@dear.test 9
expect_stamp "auto 3" "$(printf '%s\n' "$out" | sed -n 3p)" carl@cheap.test 6
expect_stamp "auto 4" "$(printf '%s\n' "$out" | sed -n 4p)" dee@dear.test 9
expect_eq "auto: where the figures came from" \
    "postage-mint: 6 bits, published at _postage.cheap.test|postage-mint: 9 bits, published at _postage.dear.test" \
    "$(printf '%s\n' "$err" | tr '\n' '|' | sed 's/|$//')"
# --json says each stamp's own bits
run_capture "$MINT" -b auto --json --dns-server "$DNS" ann@cheap.test bob@dear.test
case $out in *'"resource":"ann@cheap.test"'*'"bits":6,'*'"resource":"bob@dear.test"'*'"bits":9,'*) ;;
    *) fail "auto --json: $out" ;; esac

# 2. No usable price: exit 2, the domain named, no stamp printed (not even
#    for the resources that had one).
for case in "nopub.test:no record at _postage.nopub.test" \
            "broken.test:_postage.broken.test" \
            "a2only.test:_postage.a2only.test takes no SHA-1 stamps"; do
    dom=${case%%:*} why=${case#*:}
    run_capture "$MINT" -b auto --dns-server "$DNS" ann@cheap.test "x@$dom"
    expect_eq "$dom: status" 2 "$rc"
    expect_eq "$dom: no stamp" "" "$out"
    case $err in *"-b auto: no price for $dom: $why"*) ;; *) fail "$dom: not explained: $err" ;; esac
done
run_capture "$MINT" -b auto --dns-server "$DNS" bob
expect_eq "no domain: status" 2 "$rc"
case $err in *"no price for 'bob': not an address with a domain"*) ;; *) fail "no domain: $err" ;; esac

# 3. DNS down (nothing on the port): an error naming the domain.
DEAD="127.0.0.1:$(free_port --udp)"
run_capture "$MINT" -b auto --dns-server "$DEAD" ann@cheap.test
expect_eq "DNS down: status" 2 "$rc"
expect_eq "DNS down: no stamp" "" "$out"
case $err in *"no price for cheap.test: DNS look-up of _postage.cheap.test"*) ;; *) fail "DNS down: $err" ;; esac

# 4. --fallback-bits: the published price where there is one, the
#    fallback elsewhere, each said.
run_capture "$MINT" -b auto --fallback-bits 4 --dns-server "$DNS" ann@cheap.test x@nopub.test bob
expect_eq "fallback: status" 0 "$rc"
expect_stamp "fallback 1" "$(printf '%s\n' "$out" | sed -n 1p)" ann@cheap.test 6
expect_stamp "fallback 2" "$(printf '%s\n' "$out" | sed -n 2p)" x@nopub.test 4
expect_stamp "fallback 3" "$(printf '%s\n' "$out" | sed -n 3p)" bob 4
case $err in *"4 bits for nopub.test (--fallback-bits): no record at _postage.nopub.test"*) ;;
    *) fail "fallback not said: $err" ;; esac
run_capture "$MINT" -b auto --fallback-bits 5 --dns-server "$DEAD" ann@cheap.test
expect_eq "fallback, DNS down: status" 0 "$rc"
expect_stamp "fallback, DNS down" "$out" ann@cheap.test 5
case $err in *"5 bits for cheap.test (--fallback-bits): DNS look-up"*) ;; *) fail "fallback, DNS down: $err" ;; esac
finish
