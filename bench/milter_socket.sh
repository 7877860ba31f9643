#!/bin/bash
# milter_socket.sh - issue 18 point 1: messages per second through a real
# Postfix, alone, with a postaged built on libmilter (the "before"; give
# its binary with --before), and with this tree's postaged, which speaks
# the milter protocol itself (TCP_NODELAY, TCP_QUICKACK, no-reply stages).
# Also counts the kernel's delayed ACKs (nstat TcpExtDelayedACKs, system
# wide) during each run: libmilter's ~1 per message is the 40 ms stall.
#
# Usage: bench/milter_socket.sh [--before PATH] [--seconds S]
#                               [--sessions "1 4"] [--repeat N] [--out DIR]
#
# A private Postfix (tests/lib/postfix_harness.sh) on a loopback port,
# mail for example.test handed to discard(8); smtp-source sends 2 KB
# messages, one SMTP connection each.  postaged runs on its defaults with
# greylist_training = yes, its DNS answered by tests/lib/dns_harness.sh's
# dnsmasq.  Configurations are switched with `postfix reload` and
# interleaved; each run's size comes from a short probe (about --seconds,
# default 6); the best of --repeat (default 2) is kept, among the runs in
# which smtp-source sent every message and the milter decided every one
# (none for Postfix alone): a reload that had not taken yet would measure
# another configuration.  Output: a table
# on standard output, DIR/milter_socket.tsv (every run),
# DIR/milter_socket.log (smtp-source's complaints) and DIR/postaged_*.log
# (each postaged's log but its per-message lines).  Nothing is
# asserted; the machine is shared, so compare within one run only.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
export top_srcdir top_builddir

BEFORE='' OUTDIR=. SECS=6 SESSIONS="1 4" REPEAT=2
while [ $# -gt 0 ]; do
    case $1 in
    --before) BEFORE=$2; shift ;;
    --out) OUTDIR=$2; shift ;;
    --seconds) SECS=$2; shift ;;
    --sessions) SESSIONS=$2; shift ;;
    --repeat) REPEAT=$2; shift ;;
    -h|--help) sed -n '2,/^set -u/p' "$0" | sed 's/^# \{0,1\}//; /^set -u/d'; exit 0 ;;
    *) echo "milter_socket.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
mkdir -p "$OUTDIR" || exit 1
OUTDIR=$(cd "$OUTDIR" && pwd)

. "$top_srcdir/tests/lib/testlib.sh"
. "$top_srcdir/tests/lib/postfix_harness.sh"
. "$top_srcdir/tests/lib/dns_harness.sh"

SMTP_SOURCE=$(command -v smtp-source || echo /usr/sbin/smtp-source)
[ -x "$SMTP_SOURCE" ] || { echo "milter_socket.sh: smtp-source is not installed" >&2; exit 77; }
command -v dnsmasq > /dev/null 2>&1 || { echo "milter_socket.sh: dnsmasq is not installed" >&2; exit 77; }
delayed_acks() { nstat -az TcpExtDelayedACKs 2> /dev/null | awk '$1 == "TcpExtDelayedACKs" { print $2 }'; }

dns_start '--host-record=client.bench.test,127.0.0.1' \
    '--ptr-record=1.0.0.127.in-addr.arpa,client.bench.test' \
    '--txt-record=bench.test,v=spf1 ip4:127.0.0.0/8 -all' || exit 1

# start NAME BINARY: postaged on a port of its own (port_NAME).
start() {
    _port=$(free_port)
    postaged_conf -o "$TMP/$1.conf" "milter_listen=inet:127.0.0.1:$_port" \
        "store=lmdb:$TMP/state.$1" hostname=mx.example.test greylist_training=yes \
        "dns_server=127.0.0.1:$DNS_PORT"
    "$2" -c "$TMP/$1.conf" -f 2> "$TMP/$1.log" &
    _pid=$!
    kill_at_exit "$_pid"
    wait_listen "$_port" 20 "$_pid" || { echo "postaged $1 did not start" >&2; tail -3 "$TMP/$1.log" >&2; exit 1; }
    eval "port_$1=$_port"
}
CONFIGS="alone"
if [ -n "$BEFORE" ]; then
    start before "$BEFORE"
    CONFIGS="$CONFIGS before"
fi
start after "$POSTAGED"
CONFIGS="$CONFIGS after"

pf_start --milter-default-action tempfail -o 'virtual_transport = discard:' \
    -o 'smtpd_client_connection_count_limit = 0' -o 'smtpd_client_connection_rate_limit = 0' \
    -o 'smtpd_client_message_rate_limit = 0' -o 'default_process_limit = 100' || exit 1

use() {
    case $1 in
    alone) pf_set 'smtpd_milters =' ;;
    *) eval "pf_set \"smtpd_milters = inet:127.0.0.1:\$port_$1\"" ;;
    esac
}
# seen CONFIG: the messages its postaged has decided at end of message.
seen() { [ "$1" = alone ] && echo 0 || grep -c 'milter END-OF-MESSAGE' "$TMP/$1.log"; }
# send SESSIONS COUNT CONFIG: ELAPSED, REFUSED, ACKS (delayed ACKs during
# the run), SEEN (messages the config's milter saw: a check that Postfix
# had reloaded into it)
send() {
    _s0=$(seen "$3")
    _before=$(grep -c 'reject\|milter-reject\|status=deferred' "$PF_LOG")
    _a0=$(delayed_acks)
    _t0=$(date +%s.%N)
    "$SMTP_SOURCE" -s "$1" -m "$2" -l 2048 -f sender@bench.test -t rcpt@example.test \
        -M client.bench.test -S bench "127.0.0.1:$PF_PORT" >> "$OUTDIR/milter_socket.log" 2>&1
    RC=$?
    _t1=$(date +%s.%N)
    _a1=$(delayed_acks)
    ELAPSED=$(awk -v a="$_t0" -v b="$_t1" 'BEGIN { printf "%.3f", b - a }')
    REFUSED=$(( $(grep -c 'reject\|milter-reject\|status=deferred' "$PF_LOG") - _before ))
    ACKS=$(( ${_a1:-0} - ${_a0:-0} ))
    SEEN=$(( $(seen "$3") - _s0 ))
}

TSV=$OUTDIR/milter_socket.tsv
: > "$OUTDIR/milter_socket.log"
printf 'sessions\tconfig\tmessages\tseconds\tmsgs_s\trefused\tdelayed_acks\tmilter_saw\tsmtp_source_rc\n' > "$TSV"
for s in $SESSIONS; do
    for c in $CONFIGS; do
        use "$c"
        send "$s" $((10 * s)) "$c"
        eval "count_$c=$(awk -v n=$((10 * s)) -v t="$ELAPSED" -v S="$SECS" -v s="$s" 'BEGIN {
            m = n / t * S; if (m < 40 * s) m = 40 * s; if (m > 4000) m = 4000
            printf "%d", int(m / s) * s }')"
    done
    r=1
    while [ "$r" -le "$REPEAT" ]; do
        for c in $CONFIGS; do
            use "$c"
            eval "_m=\$count_$c"
            send "$s" "$_m" "$c"
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$c" "$_m" "$ELAPSED" \
                "$(awk -v m="$_m" -v t="$ELAPSED" 'BEGIN { printf "%.1f", m / t }')" \
                "$REFUSED" "$ACKS" "$SEEN" "$RC" >> "$TSV"
        done
        r=$((r + 1))
    done
done

for c in $CONFIGS; do
    [ "$c" = alone ] || grep -v 'info: milter ' "$TMP/$c.log" > "$OUTDIR/postaged_$c.log"
done

echo "| sessions | config | best msgs/s | % of Postfix alone | delayed ACKs per message | refused |"
echo "|---|---|---|---|---|---|"
awk -F'\t' 'NR > 1 && $9 == 0 && ($2 == "alone" ? $8 == 0 : $8 == $3) { k = $1 SUBSEP $2
        if (!(k in best) || $5 + 0 > best[k] + 0) { best[k] = $5; acks[k] = $7 / $3; ref[k] = $6 }
        if (!($1 SUBSEP "order" SUBSEP $2 in seen)) { seen[$1 SUBSEP "order" SUBSEP $2] = 1; order[++n] = k } }
    END { for (i = 1; i <= n; i++) { k = order[i]; split(k, p, SUBSEP)
            printf "| %s | %s | %.1f | %.0f%% | %.2f | %d |\n", p[1], p[2], best[k],
                100 * best[k] / best[p[1] SUBSEP "alone"], acks[k], ref[k] } }' "$TSV"
