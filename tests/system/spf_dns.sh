#!/bin/sh
# spf_dns.sh - the resolver (policy/base/dns.c) and the SPF checks
# (policy/checks/spf.c) against a real DNS server: dnsmasq on a loopback port
# serving the zone of tests/lib/dns_harness.sh, driven through spf_probe.
# Skips (77) without dnsmasq.  No check depends on how long anything took.
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/lib/dns_harness.sh"

PROBE="$top_builddir/tests/system/spf_probe"
require_built "$PROBE"

dns_start || { fail "dnsmasq did not start"; finish; }
# short timeouts: the timeout cases wait for them, nothing else does
D="--dns 127.0.0.1:$DNS_PORT --timeout 400 --attempts 1"

# field NAME: the value of NAME= in $out
field() {
    printf '%s\n' "$out" | sed -n "s/^$1=//p" | head -n 1
}

# expect_field WHAT NAME VALUE
expect_field() {
    expect_eq "$1: $2" "$3" "$(field "$2")"
}

# expect_match WHAT NAME GLOB
expect_match() {
    _v=$(field "$2")
    case $_v in
        $3) ;;
        *) fail "$1: $2"; printf '  expected: %s\n  actual:   %s\n' "$3" "$_v" >&2 ;;
    esac
}

# probe ARGS...: run spf_probe; a non-zero exit (usage, or a sanitizer
# report in a --enable-sanitizers build) is a failure of its own
probe() {
    run_capture "$PROBE" $D "$@"
    [ "$rc" -eq 0 ] || { fail "spf_probe $*: exit $rc"; printf '%s\n' "$err" >&2; }
}

# --- resolver ---------------------------------------------------------------

probe lookup TXT pass.test
expect_field "TXT" rcode NOERROR
expect_field "TXT" rr "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"

probe lookup A nx.test
expect_field "NXDOMAIN" rcode NXDOMAIN
expect_field "NXDOMAIN" count 0

probe lookup A pass.test
expect_field "NODATA" rcode NOERROR
expect_field "NODATA" count 0

probe lookup A host.test
expect_field "A" rr 192.0.2.50
probe lookup AAAA host.test
expect_field "AAAA" rr 2001:db8::50
probe lookup PTR 50.2.0.192.in-addr.arpa
expect_field "PTR" rr host.test
probe lookup MX amx.test
expect_field "MX" rr "10 mx.amx.test"
probe lookup A cname.test
expect_field "CNAME followed" rr 192.0.2.50

probe lookup TXT big.test
expect_field "truncated over UDP: TCP" tcp 1
expect_field "truncated over UDP: all records" count 8

probe lookup TXT x.timeout.test
expect_field "timeout" rcode TIMEOUT
expect_field "timeout: one packet (1 attempt)" stats_packets 1

probe --twice lookup A host.test
expect_eq "cache: second answer from the cache" "0
1" "$(printf '%s\n' "$out" | sed -n 's/^cached=//p')"
expect_field "cache: one packet for two lookups" stats_packets 1

probe --twice lookup A nx.test
expect_field "negative cache" stats_cache_hits 1

# An answer served with TTL 0 is kept for the cache's floor (min_ttl,
# 10 s by default) instead of being asked again at every lookup: the HELO
# and PTR checks look up the same names for every message of a client.
# With the floor at 0 the same lookups cost a packet each, which shows the
# fixture really serves TTL 0.
probe --min-ttl 0 --twice lookup A ttl0.test
expect_eq "TTL 0 in the fixture" "0
0" "$(printf '%s\n' "$out" | sed -n 's/^rr_ttl=//p')"
expect_field "TTL 0, no floor: two packets for two lookups" stats_packets 2
probe --twice lookup A ttl0.test
expect_eq "TTL 0: second answer from the cache" "0
1" "$(printf '%s\n' "$out" | sed -n 's/^cached=//p')"
expect_field "TTL 0, default floor: one packet for two lookups" stats_packets 1

probe lookup A 'bad name.test'
expect_field "bad name" rcode BADNAME
probe lookup A "$(printf 'a%.0s' $(seq 1 64)).test"
expect_field "label over 63" rcode BADNAME

run_capture "$PROBE" --dns 127.0.0.1:notaport lookup A host.test
expect_eq "bad server setting" 2 "$rc"

# --- SPF results ------------------------------------------------------------

# check NAME CLIENT HELO SENDER RESULT ACTION [OPTIONS...]
check() {
    _n=$1 _c=$2 _h=$3 _s=$4 _r=$5 _a=$6
    shift 6
    probe "$@" check "$_c" "$_h" "$_s"
    expect_field "$_n" result "$_r"
    expect_field "$_n" action "$_a"
}

check pass 192.0.2.1 mail.test a@pass.test pass DUNNO
expect_field pass header_name Received-SPF
expect_field pass header 'Pass (mailfrom) identity=mailfrom; client-ip=192.0.2.1; helo=mail.test; envelope-from="a@pass.test"; receiver=mx.receiver.test;'
check "pass v6" 2001:db8::5 mail.test a@pass.test pass DUNNO
expect_match "pass v6" header '*client-ip="2001:db8::5";*'

check fail 198.51.100.7 mail.test a@pass.test fail REJECT
expect_match fail reply '550 5.7.23 Message rejected due to: SPF fail - 198.51.100.7 is not authorized to send mail as a@pass.test *'
expect_match fail header 'Fail (mailfrom) identity=mailfrom; *'
check "fail -all" 198.51.100.7 mail.test a@fail.test fail REJECT
check "fail, header only" 198.51.100.7 mail.test a@fail.test fail DUNNO --mailfrom-reject never

check softfail 198.51.100.7 mail.test a@softfail.test softfail DUNNO
check "softfail rejected" 198.51.100.7 mail.test a@softfail.test softfail REJECT --mailfrom-reject softfail
check neutral 198.51.100.7 mail.test a@neutral.test neutral DUNNO
check "neutral rejected" 198.51.100.7 mail.test a@neutral.test neutral REJECT --mailfrom-reject not_pass
check "none: no TXT" 198.51.100.7 mail.test a@nospf.test none DUNNO
check "none: TXT not SPF" 198.51.100.7 mail.test a@txtonly.test none DUNNO
check "none: NXDOMAIN" 198.51.100.7 mail.test a@nx.test none DUNNO
check "none: bad domain" 198.51.100.7 mail.test a@localhost none DUNNO
check "empty local part" 192.0.2.1 mail.test @pass.test pass DUNNO
check "angle brackets" 192.0.2.1 mail.test '<a@pass.test>' pass DUNNO

check "include pass" 192.0.2.1 mail.test a@include.test pass DUNNO
check "include fail" 198.51.100.7 mail.test a@include.test fail REJECT
check "redirect pass" 192.0.2.1 mail.test a@redirect.test pass DUNNO
check "redirect fail" 198.51.100.7 mail.test a@redirect.test fail REJECT
check "a" 192.0.2.20 mail.test a@amx.test pass DUNNO
check "mx" 192.0.2.21 mail.test a@amx.test pass DUNNO
check "mx v6" 2001:db8::21 mail.test a@amx.test pass DUNNO
check "a/mx miss" 192.0.2.22 mail.test a@amx.test fail REJECT
check "ptr" 192.0.2.30 mail.test a@ptr.test pass DUNNO
check "ptr miss" 192.0.2.31 mail.test a@ptr.test fail REJECT

check "too many lookups" 192.0.2.1 mail.test a@toomany.test permerror DUNNO
expect_match "too many lookups" header '*problem="more than 10 DNS-querying terms";'
check "too many lookups across includes" 192.0.2.1 mail.test a@chain.test permerror DUNNO
check "void lookups" 192.0.2.1 mail.test a@void.test permerror DUNNO
check "syntax error" 192.0.2.1 mail.test a@syntax.test permerror DUNNO
check "two records" 192.0.2.1 mail.test a@multi.test permerror DUNNO
check "permerror rejected" 192.0.2.1 mail.test a@syntax.test permerror REJECT --permerror-reject
expect_match "permerror rejected" reply '550 5.7.24 *'

check "temperror (top level)" 192.0.2.1 mail.test a@x.timeout.test temperror DUNNO
expect_match "temperror" header 'Temperror (mailfrom) identity=mailfrom; *problem=*'
check "temperror (include)" 192.0.2.1 mail.test a@tempinc.test temperror DUNNO
check "temperror deferred" 192.0.2.1 mail.test a@tempinc.test temperror DEFER --temperror-defer
expect_match "temperror deferred" reply '451 4.7.24 *'
check "whole-check deadline" 192.0.2.1 mail.test a@tempinc.test temperror DUNNO \
    --timeout 5000 --check-timeout 300
expect_field "whole-check deadline" problem "SPF check took too long"

check "explanation" 198.51.100.7 mail.test a@expl.test fail REJECT
expect_field "explanation" explanation "198.51.100.7 may not send mail for expl.test"
expect_match "explanation in reply" reply '*: 198.51.100.7 may not send mail for expl.test'
check "mangled explanation dropped" 198.51.100.7 mail.test a@expl2.test fail REJECT
expect_field "mangled explanation dropped" explanation ""

# --- HELO identity -----------------------------------------------------------

check "null sender: HELO pass" 192.0.2.40 helo.test '<>' pass DUNNO
expect_field "null sender: HELO pass" identity helo
expect_field "null sender: HELO pass" header 'Pass (helo) identity=helo; client-ip=192.0.2.40; helo=helo.test; envelope-from="<>"; receiver=mx.receiver.test;'
check "null sender: HELO fail" 198.51.100.7 helo.test '' fail REJECT
expect_match "null sender: HELO fail" reply '550 5.7.23 *identity=helo*'
check "null sender: HELO without SPF" 192.0.2.50 host.test '' none DUNNO
check "null sender: address literal HELO" 192.0.2.40 '[192.0.2.40]' '' none DUNNO
expect_field "null sender: address literal HELO" skip no-identity
check "HELO not checked for a sender" 198.51.100.7 helo.test a@pass.test fail REJECT
expect_field "HELO not checked for a sender" helo_result -
check "helo_always: HELO fail decides" 192.0.2.1 helo.test a@pass.test fail REJECT --helo-always
expect_field "helo_always: HELO fail decides" identity helo
expect_field "helo_always: MAIL FROM not checked" mailfrom_result -
check "helo_always: both pass" 192.0.2.40 helo.test a@helo.test pass DUNNO --helo-always
expect_field "helo_always: both" helo_result pass
expect_field "helo_always: both" identity mailfrom

# --- skips and headers ---------------------------------------------------------

check "local client" 127.0.0.1 helo.test a@fail.test none DUNNO
expect_field "local client" skip local
expect_field "local client" header_name X-Comment
check "local v6" ::1 helo.test a@fail.test none DUNNO
expect_field "local v6" skip local
check "client whitelist" 198.51.100.7 mail.test a@fail.test none DUNNO --whitelist 198.51.100.0/24
expect_field "client whitelist" skip client-whitelist
expect_match "client whitelist" header 'SPF skipped for whitelisted relay - client-ip=198.51.100.7;*'
check "domain whitelist" 198.51.100.7 mail.test a@sub.fail.test none DUNNO --domain-whitelist fail.test
expect_field "domain whitelist" skip domain-whitelist
check "not whitelisted" 198.51.100.7 mail.test a@fail.test fail REJECT --domain-whitelist other.test

check "Authentication-Results" 192.0.2.1 mail.test a@pass.test pass DUNNO --header ar
expect_field "Authentication-Results" header_name Authentication-Results
expect_field "Authentication-Results" header 'mx.receiver.test; spf=pass (sender SPF authorized) smtp.mailfrom=a@pass.test'
check "AR, HELO" 192.0.2.40 helo.test '' pass DUNNO --header ar
expect_field "AR, HELO" header 'mx.receiver.test; spf=pass (sender SPF authorized) smtp.helo=helo.test'
check "no header" 192.0.2.1 mail.test a@pass.test pass DUNNO --header none
expect_field "no header" header_name ""
check "hidden receiver" 192.0.2.1 mail.test a@pass.test pass DUNNO --hide-receiver
expect_match "hidden receiver" header '*receiver="<UNKNOWN>";'
check "quoted local part" 192.0.2.1 mail.test '"a b"@pass.test' pass DUNNO
expect_match "quoted local part" header '*envelope-from="\\"a b\\"@pass.test";*'

# --- threads -------------------------------------------------------------------
# one checker and one resolver (and its cache) shared by 8 threads at once
for s in a@include.test a@amx.test a@tempinc.test; do
    probe --threads 8 check 192.0.2.21 mail.test "$s"
    expect_field "threads: $s" threads_agree 1
done

finish
