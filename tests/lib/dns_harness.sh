# dns_harness.sh - a private DNS server (dnsmasq) on a loopback port for
# the resolver and SPF tests (sourced, not run; POSIX sh, after testlib.sh):
#
#     . "${top_srcdir:-.}/tests/lib/testlib.sh"
#     . "${top_srcdir:-.}/tests/lib/dns_harness.sh"
#     dns_start                 # default SPF zone; skips (77) without dnsmasq
#     spf_probe --dns 127.0.0.1:$DNS_PORT check 192.0.2.1 mail.example x@pass.test
#
# Functions:
#   dns_start [DNSMASQ-OPTION...]  start dnsmasq with the default test zone
#                               (dns_default_zone) plus these options; sets
#                               DNS_PORT, DNS_PID, DNS_LOG.  Skips the test
#                               (exit 77) if dnsmasq is not installed.
#   dns_stop                    stop it (by PID); idempotent; also runs at
#                               exit (testlib's at_exit), before $TMP is
#                               removed
#   dns_default_zone            print the default zone as dnsmasq options,
#                               one per line
#
# A port free for both UDP and TCP is the toolkit's (testlib.sh:
# free_port --udp).
#
# The zone (everything under .test, RFC 2606).  --local=/test/ (and the
# same for the reverse trees) makes dnsmasq answer NXDOMAIN / NODATA itself
# for names it does not hold,
# instead of REFUSED ("no upstream").  timeout.test is forwarded to a UDP
# port that a bound, idle socket owns and never reads, so dnsmasq gets no
# answer and sends none: the client sees a real timeout (a closed port
# would do too, as dnsmasq ignores the ICMP error, but a held port cannot
# be taken by something else meanwhile).
#
#   pass.test       v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all
#   fail.test       v=spf1 -all
#   softfail.test   v=spf1 ~all
#   neutral.test    v=spf1 ?all
#   nospf.test      an A record, no TXT                 -> none
#   txtonly.test    TXT that is not SPF                 -> none
#   include.test    v=spf1 include:_spf.include.test -all
#   _spf.include.test  v=spf1 ip4:192.0.2.0/24 -all
#   redirect.test   v=spf1 redirect=_spf.include.test
#   amx.test        v=spf1 a mx -all; A 192.0.2.20, MX mx.amx.test
#                   (192.0.2.21, 2001:db8::21)
#   ptr.test        v=spf1 ptr -all; 192.0.2.30 <-> mail.ptr.test
#   toomany.test    11 a: terms before -all             -> permerror
#   chain.test      include chain of 12 records         -> permerror
#   void.test       3 a: terms on names that do not exist -> permerror
#   syntax.test     v=spf1 bogus:x -all                 -> permerror
#   multi.test      two v=spf1 records                  -> permerror
#   tempinc.test    v=spf1 include:x.timeout.test -all  -> temperror
#   expl.test       v=spf1 -all exp=why.expl.test       -> fail + explanation
#                   (written with %_: libspf2 mangles literal spaces)
#   expl2.test      the same with literal spaces        -> fail, exp dropped
#   helo.test       v=spf1 a -all; A 192.0.2.40 (HELO identity tests)
#   big.test        8 TXT records of 200+ bytes (truncated over UDP)
#   host.test       A 192.0.2.50, AAAA 2001:db8::50; PTR 192.0.2.50
#   cname.test      CNAME to host.test
#   ttl0.test       A 192.0.2.60 served with TTL 0 (the resolver's floor)

DNS_PORT=
DNS_PID=
DNS_LOG=
DNS_SINK_PID=
_dns_wd_pid=
_dns_trap_installed=

dns_default_zone() {
    cat <<'EOF'
--txt-record=pass.test,v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all
--txt-record=fail.test,v=spf1 -all
--txt-record=softfail.test,v=spf1 ~all
--txt-record=neutral.test,v=spf1 ?all
--host-record=nospf.test,192.0.2.99
--txt-record=txtonly.test,google-site-verification=abc
--txt-record=include.test,v=spf1 include:_spf.include.test -all
--txt-record=_spf.include.test,v=spf1 ip4:192.0.2.0/24 -all
--txt-record=redirect.test,v=spf1 redirect=_spf.include.test
--txt-record=amx.test,v=spf1 a mx -all
--host-record=amx.test,192.0.2.20
--mx-host=amx.test,mx.amx.test,10
--host-record=mx.amx.test,192.0.2.21,2001:db8::21
--txt-record=ptr.test,v=spf1 ptr -all
--ptr-record=30.2.0.192.in-addr.arpa,mail.ptr.test
--host-record=mail.ptr.test,192.0.2.30
--txt-record=toomany.test,v=spf1 a:l1.toomany.test a:l2.toomany.test a:l3.toomany.test a:l4.toomany.test a:l5.toomany.test a:l6.toomany.test a:l7.toomany.test a:l8.toomany.test a:l9.toomany.test a:l10.toomany.test a:l11.toomany.test -all
--host-record=l1.toomany.test,198.18.0.1
--host-record=l2.toomany.test,198.18.0.2
--host-record=l3.toomany.test,198.18.0.3
--host-record=l4.toomany.test,198.18.0.4
--host-record=l5.toomany.test,198.18.0.5
--host-record=l6.toomany.test,198.18.0.6
--host-record=l7.toomany.test,198.18.0.7
--host-record=l8.toomany.test,198.18.0.8
--host-record=l9.toomany.test,198.18.0.9
--host-record=l10.toomany.test,198.18.0.10
--host-record=l11.toomany.test,198.18.0.11
--txt-record=void.test,v=spf1 a:v1.void.test a:v2.void.test a:v3.void.test ip4:192.0.2.0/24 -all
--txt-record=syntax.test,v=spf1 bogus:x -all
--txt-record=multi.test,v=spf1 -all
--txt-record=multi.test,v=spf1 +all
--txt-record=tempinc.test,v=spf1 include:x.timeout.test -all
--txt-record=expl.test,v=spf1 -all exp=why.expl.test
--txt-record=why.expl.test,%{i}%_may%_not%_send%_mail%_for%_%{d}
--txt-record=expl2.test,v=spf1 -all exp=why2.expl.test
--txt-record=why2.expl.test,%{i} may not send mail for %{d}
--txt-record=helo.test,v=spf1 a -all
--host-record=helo.test,192.0.2.40
--host-record=host.test,192.0.2.50,2001:db8::50
--ptr-record=50.2.0.192.in-addr.arpa,host.test
--cname=cname.test,host.test
--host-record=ttl0.test,192.0.2.60,0
EOF
    # a chain of includes: c0 -> c1 -> ... -> c11 (each record one term,
    # so only a count across includes sees twelve)
    i=0
    while [ $i -lt 11 ]; do
        echo "--txt-record=c$i.chain.test,v=spf1 include:c$((i + 1)).chain.test -all"
        i=$((i + 1))
    done
    echo "--txt-record=c11.chain.test,v=spf1 ip4:192.0.2.0/24 -all"
    echo "--txt-record=chain.test,v=spf1 include:c0.chain.test -all"
    # big.test: more than fits in 1232 bytes of UDP
    i=1
    while [ $i -le 8 ]; do
        printf -- '--txt-record=big.test,%0200d-%d\n' 0 "$i"
        i=$((i + 1))
    done
}

_dns_install_trap() {
    [ -n "$_dns_trap_installed" ] && return 0
    _dns_trap_installed=1
    at_exit 'dns_stop >/dev/null 2>&1'
}

# _dns_udp_bound PORT: is a UDP socket bound to 127.0.0.1:PORT?
_dns_udp_bound() {
    _dns_hex=$(printf '0100007F:%04X' "$1")
    awk -v a="$_dns_hex" '$2 == a { f = 1 } END { exit !f }' /proc/net/udp
}

dns_start() {
    : "${TMP:?testlib.sh must be sourced first}"
    command -v dnsmasq >/dev/null 2>&1 ||
        skip "dnsmasq is not installed (apt-get install dnsmasq-base)"
    command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
    _dns_install_trap

    # The black hole for timeout.test: a bound UDP socket nobody reads.
    _dns_sink_port=$(free_port --udp) || return 1
    python3 -S -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    time.sleep(3600)
' "$_dns_sink_port" &
    DNS_SINK_PID=$!

    DNS_LOG="$TMP/dnsmasq.log"
    dns_default_zone > "$TMP/dns_zone.args"
    for _dns_a in "$@"; do printf '%s\n' "$_dns_a"; done >> "$TMP/dns_zone.args"
    tries=0
    while :; do
        DNS_PORT=$(free_port --udp) || return 1
        # the zone options are read one per line, so spaces in TXT data
        # survive without any quoting games
        (
            set --
            while IFS= read -r line; do set -- "$@" "$line"; done < "$TMP/dns_zone.args"
            exec dnsmasq --no-daemon --keep-in-foreground --port="$DNS_PORT" \
                --listen-address=127.0.0.1 --bind-interfaces --no-resolv \
                --no-hosts --conf-file=/dev/null --pid-file= \
                --local=/test/ --local=/in-addr.arpa/ --local=/ip6.arpa/ \
                --local-ttl=300 \
                --server=/timeout.test/127.0.0.1#"$_dns_sink_port" \
                --log-queries --log-facility=- "$@"
        ) > "$DNS_LOG" 2>&1 &
        DNS_PID=$!
        i=0
        while [ $i -lt 100 ]; do
            _dns_udp_bound "$DNS_PORT" && { _dns_start_watchdog; return 0; }
            kill -0 "$DNS_PID" 2>/dev/null || break
            nap 0.05
            i=$((i + 1))
        done
        kill "$DNS_PID" 2>/dev/null
        wait "$DNS_PID" 2>/dev/null
        DNS_PID=
        tries=$((tries + 1))
        # lost a race for the port: try another; else report the log
        if [ $tries -ge 3 ]; then
            echo "dnsmasq did not start:" >&2
            cat "$DNS_LOG" >&2
            return 1
        fi
    done
}

# _dns_start_watchdog: if the test shell dies without running its EXIT
# trap (SIGKILL, or SIGPIPE when its output is piped into `head`), stop
# dnsmasq and the sink anyway.  Its output goes to /dev/null so that it
# does not keep the test driver's log pipe open.
_dns_start_watchdog() {
    # shellcheck disable=SC2016
    watchdog 'kill "$DNS_PID" "$DNS_SINK_PID"'
    _dns_wd_pid=$WATCHDOG_PID
}

dns_stop() {
    [ -n "$_dns_wd_pid" ] && kill "$_dns_wd_pid" 2>/dev/null
    _dns_wd_pid=
    # shellcheck disable=SC2086
    stop_pids $DNS_PID $DNS_SINK_PID
    DNS_PID=
    DNS_SINK_PID=
    return 0
}
