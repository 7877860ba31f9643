#!/bin/sh
# dns_record_cli.sh - postaged -c FILE --dns-record DOMAIN: the zone-file line
# of the price the configuration promises, checked field by field (owner
# name, TTL, class, type, and each tag of the record) for the defaults, a
# published_price, and Argon2id kinds; a bad domain exits 2 with its reason,
# a configuration with nothing to publish exits 1, and neither prints a line.
. "${top_srcdir:-.}/tests/lib/testlib.sh"

require_built "$POSTAGED"

# The configuration files below serve a policy port (nothing is started):
# a configuration -n refuses has no price to publish.
conf() {
    postaged_conf policy_listen=inet:127.0.0.1:10031 "$@"
}

# record FIELD...: run postaged, split its one line into $owner $ttl $class
# $type and the record's text $text (without its quotes).
record() {
    run_capture "$POSTAGED" "$@"
    expect_eq "postaged $* exits 0" 0 "$rc"
    expect_eq "postaged $* says nothing on stderr" "" "$err"
    expect_eq "postaged $* prints one line" 1 "$(printf '%s\n' "$out" | wc -l)"
    owner=$(printf '%s' "$out" | cut -d' ' -f1)
    ttl=$(printf '%s' "$out" | cut -d' ' -f2)
    class=$(printf '%s' "$out" | cut -d' ' -f3)
    type=$(printf '%s' "$out" | cut -d' ' -f4)
    text=$(printf '%s' "$out" | sed -n 's/^[^"]*"\([^"]*\)"$/\1/p')
}
# tag NAME: the value of tag NAME in $text ("" if absent); the tags are
# separated by "; " as postaged writes them.
tag() {
    printf '%s\n' "$text" | tr ';' '\n' | sed 's/^ *//' | sed -n "s/^$1=//p"
}
ntags() {
    printf '%s\n' "$text" | tr ';' '\n' | grep -c .
}

# The built-in defaults: b = price_base = 20, SHA-1 only.
record --dns-record example.org
expect_eq "owner" "_postage.example.org." "$owner"
expect_eq "ttl" 3600 "$ttl"
expect_eq "class" IN "$class"
expect_eq "type" TXT "$type"
expect_eq "version first" "v=POSTAGE1" "$(printf '%s' "$text" | cut -d';' -f1)"
expect_eq "b" 20 "$(tag b)"
expect_eq "tags of a SHA-1 record" 2 "$(ntags)"

# A configuration file: the published price, an upper-case domain with its
# trailing dot.
conf published_price=18
record -c "$TMP/postaged.conf" --dns-record Mail.Example.ORG.
expect_eq "owner, canonical" "_postage.mail.example.org." "$owner"
expect_eq "b = published_price" 18 "$(tag b)"
# price_base moves it when published_price is not set.
conf price_base=23
record -c "$TMP/postaged.conf" --dns-record example.org
expect_eq "b = price_base" 23 "$(tag b)"

# Argon2id: k, am and at from the settings.
conf postage_kinds=sha1+argon2id argon2id_max_memory=16384 argon2id_max_passes=2
record -c "$TMP/postaged.conf" --dns-record example.org
expect_eq "k" "sha1:argon2id" "$(tag k)"
expect_eq "am" 16384 "$(tag am)"
expect_eq "at" 2 "$(tag at)"
expect_eq "b with Argon2id" 20 "$(tag b)"
expect_eq "tags of an Argon2id record" 5 "$(ntags)"

# A bad domain: exit 2, the reason, no line.
bad_domain() {   # DOMAIN EXPECTED-PART-OF-THE-MESSAGE
    run_capture "$POSTAGED" --dns-record "$1"
    expect_eq "--dns-record '$1' exits 2" 2 "$rc"
    expect_eq "--dns-record '$1' prints no line" "" "$out"
    case "$err" in
        "postaged: --dns-record: "*"$2"*) ;;
        *) fail "--dns-record '$1': the message does not say '$2': $err" ;;
    esac
}
bad_domain "" "empty"
bad_domain "bob@example.org" "is an address"
bad_domain "exa mple.org" "cannot have"
bad_domain "a..org" "empty label"
bad_domain "192.0.2.1" "not a domain"
bad_domain "$(printf 'b\303\274cher.de')" "xn--"
bad_domain "$(printf '%070d' 0 | tr 0 a).org" "over 63"
# The domain is checked before the configuration is read.
run_capture "$POSTAGED" -c "$TMP/missing.conf" --dns-record "a b"
expect_eq "a bad domain with a missing file exits 2" 2 "$rc"

# Nothing to publish: exit 1 with the reason, no line.
no_record() {   # EXPECTED-PART-OF-THE-MESSAGE KEY=VALUE...
    _want=$1; shift
    conf "$@"
    run_capture "$POSTAGED" -c "$TMP/postaged.conf" --dns-record example.org
    expect_eq "$* exits 1" 1 "$rc"
    expect_eq "$* prints no line" "" "$out"
    case "$err" in *"$_want"*) ;; *) fail "$*: the message does not say '$_want': $err" ;; esac
}
no_record "published_price is above price_cap" published_price=29
no_record "published_price: 'twenty'" published_price=twenty
no_record "postage is off" postage=no
no_record "over the 40 bits" price_cap=50 published_price=41
run_capture "$POSTAGED" -c "$TMP/missing.conf" --dns-record example.org
expect_eq "a missing configuration file exits 1" 1 "$rc"

# -n takes published_price as the engine does.
conf published_price=29
run_capture "$POSTAGED" -c "$TMP/postaged.conf" -n
expect_eq "-n refuses published_price above price_cap" 1 "$rc"

finish
