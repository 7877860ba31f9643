#!/bin/bash
# postfix_milter.sh - messages per second through a real Postfix, alone and
# with a milter in the path: postaged on LMDB, on Redis, with every check off, and
# OpenDKIM (verify mode) as a peer where it is installed.  Issue 18's
# measurement, for `make bench` (bench/report.sh, section "milter").
#
# Usage: bench/postfix_milter.sh [--quick] [--out DIR] [--seconds S]
#                                [--sessions "1 4"] [--repeat N] [--dns-ttl T]
#
# A private Postfix 3.x (tests/lib/postfix_harness.sh) on a loopback port,
# mail for example.test handed to discard(8), so only Postfix's receiving
# side and the milter are measured.  smtp-source sends 2 KB messages, one
# SMTP connection each, over -s 1 and -s 4 sessions.  Each configuration is
# switched in with `postfix reload` (pf_set smtpd_milters), so the same
# Postfix serves every row; the figures of one sessions count are
# interleaved (alone, postaged LMDB, postaged with every check off, postaged Redis, OpenDKIM; then again)
# and the best of --repeat runs is kept, because the machine is shared.
#
# postaged runs on its defaults except greylist_training = yes (every
# message takes the whole path and none is deferred), its DNS lookups
# answered by the private dnsmasq of tests/lib/dns_harness.sh (the HELO
# name client.bench.test and the client's PTR resolve there; --dns-ttl
# serves the name's A record with that TTL, e.g. 0 as some zones do).  The number
# of messages of a run is sized from a short probe so that each run lasts
# about --seconds (default 4; --quick: 16 messages, no probe).
#
# Output in DIR (default .): milter.tsv (one row a run: sessions, config,
# messages, seconds, msgs/s, refused, and the best msgs/s as a % of Postfix
# alone at the same sessions count), milter.md (the Markdown table and
# notes, for the report), milter.log.  A configuration whose tool is
# missing (redis-server, opendkim) is reported as "not installed".  Needs
# root, Postfix >= 3.4 with smtp-source, dnsmasq; exits 77 without them.
# Figures depend on the machine and its load; nothing is asserted.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
export top_srcdir top_builddir

QUICK=0 OUTDIR=. SECS=4 SESSIONS="1 4" REPEAT=2 DNS_TTL=
while [ $# -gt 0 ]; do
    case $1 in
    --quick) QUICK=1 ;;
    --out) OUTDIR=$2; shift ;;
    --seconds) SECS=$2; shift ;;
    --sessions) SESSIONS=$2; shift ;;
    --repeat) REPEAT=$2; shift ;;
    --dns-ttl) DNS_TTL=$2; shift ;;
    -h|--help) sed -n '2,/^set -u/p' "$0" | sed 's/^# \{0,1\}//; /^set -u/d'; exit 0 ;;
    *) echo "postfix_milter.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
[ "$QUICK" = 1 ] && REPEAT=1
# no run may take longer than this (seconds), whatever it was sized to
RUN_LIMIT=$(( SECS * 20 < 60 ? 60 : SECS * 20 ))
mkdir -p "$OUTDIR" || exit 1
OUTDIR=$(cd "$OUTDIR" && pwd)
TSV=$OUTDIR/milter.tsv MD=$OUTDIR/milter.md LOG=$OUTDIR/milter.log
: > "$LOG"

. "$top_srcdir/tests/lib/testlib.sh"
. "$top_srcdir/tests/lib/postfix_harness.sh"
. "$top_srcdir/tests/lib/dns_harness.sh"
. "$top_srcdir/tests/lib/redis_harness.sh"

say() { echo "[${SECONDS}s] $*" >> "$LOG"; }
# skip_md REASON: the whole section cannot run; say so in the report.
skip_md() {
    printf '> Skipped: %s\n\n' "$1" > "$MD"
    printf 'sessions\tconfig\tmessages\tseconds\tmsgs_s\trefused\tdns_queries\tpct_of_alone\n' > "$TSV"
    echo "postfix_milter.sh: skipped: $1" >&2
    exit 77
}

[ -x "$POSTAGED" ] || skip_md "postaged is not built"
[ "$(id -u)" = 0 ] || skip_md "the private Postfix must be started as root"
SMTP_SOURCE=$(command -v smtp-source || echo /usr/sbin/smtp-source)
[ -x "$SMTP_SOURCE" ] || skip_md "smtp-source (Postfix) is not installed"
command -v postfix >/dev/null 2>&1 || skip_md "Postfix is not installed"
command -v dnsmasq >/dev/null 2>&1 || skip_md "dnsmasq is not installed (the DNS fixture)"

# --- the DNS fixture: the HELO name and the client's PTR resolve ---------------
dns_start "--host-record=client.bench.test,127.0.0.1${DNS_TTL:+,$DNS_TTL}" \
    '--ptr-record=1.0.0.127.in-addr.arpa,client.bench.test' \
    '--txt-record=bench.test,v=spf1 ip4:127.0.0.0/8 -all' ||
    skip_md "the DNS fixture (dnsmasq) did not start"
say "dnsmasq on 127.0.0.1:$DNS_PORT${DNS_TTL:+, client.bench.test with TTL $DNS_TTL}"

# --- postaged: one on LMDB, one on Redis -------------------------------------
# start_postaged NAME STORE [SETTING...]: sets the variable port_NAME.
start_postaged() {
    _port=$(free_port) _name=$1 _store=$2
    shift 2
    postaged_conf -o "$TMP/$_name.conf" "milter_listen=inet:127.0.0.1:$_port" \
        "store=$_store" hostname=mx.example.test greylist_training=yes \
        "dns_server=127.0.0.1:$DNS_PORT" "$@"
    set -- "$_name"
    "$POSTAGED" -c "$TMP/$1.conf" -f 2> "$TMP/$1.log" &
    _pid=$!
    kill_at_exit "$_pid"
    if ! wait_listen "$_port" 20 "$_pid"; then
        say "postaged ($1) did not start: $(tail -n 3 "$TMP/$1.log")"
        return 1
    fi
    eval "port_$1=$_port pid_$1=$_pid"
    say "postaged ($1) PID $_pid on 127.0.0.1:$_port"
}

CONFIGS="alone"
LABEL_alone="Postfix alone"
LABEL_lmdb="+ postaged milter (LMDB)"
LABEL_redis="+ postaged milter (Redis)"
LABEL_bare="+ postaged, every check off"
LABEL_opendkim="+ OpenDKIM milter (verify)"
NOTE_redis='' NOTE_opendkim='' NOTE_bare=''
if start_postaged lmdb "lmdb:$TMP/state"; then
    CONFIGS="$CONFIGS lmdb"
else
    skip_md "postaged did not start: $(tail -n 2 "$TMP/lmdb.log" | tr '\n' ' ')"
fi
# The same milter with every check off: the protocol and Postfix's own
# milter handling alone, the floor under what the checks cost.
if start_postaged bare "lmdb:$TMP/bare" helo_checks=no spf=no greylist=no postage=no; then
    CONFIGS="$CONFIGS bare"
else
    NOTE_bare="did not start (see milter.log)"
fi
if ! command -v redis-server >/dev/null 2>&1; then
    NOTE_redis="not installed (redis-server)"
elif redis_start > /dev/null 2>&1 &&
     start_postaged redis "redis://127.0.0.1:$REDIS_PORT/0"; then
    CONFIGS="$CONFIGS redis"
else
    NOTE_redis="did not start (see milter.log)"
fi
if ! command -v opendkim >/dev/null 2>&1; then
    NOTE_opendkim="not installed (apt-get install opendkim)"
else
    port_opendkim=$(free_port)
    cat > "$TMP/opendkim.conf" <<EOF
Mode v
Socket inet:$port_opendkim@127.0.0.1
Syslog no
UMask 007
PidFile $TMP/opendkim.pid
UserID root
Canonicalization relaxed/simple
AlwaysAddARHeader yes
AuthservID mx.example.test
EOF
    opendkim -f -x "$TMP/opendkim.conf" >> "$TMP/opendkim.log" 2>&1 &
    _pid=$!
    kill_at_exit "$_pid"
    if wait_listen "$port_opendkim" 10 "$_pid"; then
        CONFIGS="$CONFIGS opendkim"
    else
        NOTE_opendkim="did not start: $(tail -n 2 "$TMP/opendkim.log" | tr '\n' ' ')"
    fi
fi
say "configurations: $CONFIGS"

# --- Postfix -------------------------------------------------------------------
# One instance; one smtpd port per configuration (master.cf -o
# smtpd_milters=...), so switching configuration is switching port, with no
# reload between runs.  Settings are changed with postconf -e (pf_set), never
# appended: a duplicate main.cf entry makes every Postfix process warn, and
# postlogd, logging its own warnings through its own socket, can then block.
pf_start --milter-default-action tempfail || skip_md "the private Postfix did not start"
port_alone=$PF_PORT
for c in $CONFIGS; do
    [ "$c" = alone ] && continue
    eval "_mport=\$port_$c"
    _sport=$(free_port)
    echo "127.0.0.1:$_sport inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:$_mport" >> "$PF_CONF/master.cf"
    eval "smtp_$c=$_sport"
done
smtp_alone=$PF_PORT
pf_set 'virtual_transport = discard:' 'smtpd_client_connection_count_limit = 0' \
    'smtpd_client_connection_rate_limit = 0' 'smtpd_client_message_rate_limit = 0' \
    'default_process_limit = 100' || skip_md "the private Postfix did not take its settings"
for c in $CONFIGS; do
    eval "_sport=\$smtp_$c"
    wait_listen "$_sport" 10 "$PF_MASTER_PID" || skip_md "Postfix does not listen on port $_sport ($c)"
done
say "Postfix $(postconf -d -h mail_version) on 127.0.0.1:$PF_PORT"

# send SESSIONS COUNT CONFIG: sets SENT_RC, ELAPSED (seconds), REFUSED (transactions
# the log shows refused during the run) and QUERIES (DNS queries the
# fixture saw during the run: postaged's, as Postfix here asks none).
send() {
    _before=$(grep -c 'reject\|milter-reject\|status=deferred' "$PF_LOG")
    _q0=$(grep -c 'query\[' "$DNS_LOG")
    _t0=$(date +%s.%N)
    # bounded: a wedged instance must not hang `make bench`
    timeout "$RUN_LIMIT" "$SMTP_SOURCE" -s "$1" -m "$2" -l 2048 -f sender@bench.test -t rcpt@example.test \
        -M client.bench.test -S "bench" "127.0.0.1:$(eval "echo \$smtp_$3")" >> "$LOG" 2>&1
    SENT_RC=$?
    _t1=$(date +%s.%N)
    ELAPSED=$(awk -v a="$_t0" -v b="$_t1" 'BEGIN { printf "%.3f", b - a }')
    REFUSED=$(( $(grep -c 'reject\|milter-reject\|status=deferred' "$PF_LOG") - _before ))
    # dnsmasq writes its log asynchronously: give it a moment
    nap 0.2
    QUERIES=$(( $(grep -c 'query\[' "$DNS_LOG") - _q0 ))
    [ "$QUERIES" -ge 0 ] || QUERIES=0
}

printf 'sessions\tconfig\tmessages\tseconds\tmsgs_s\trefused\tdns_queries\n' > "$TMP/runs.tsv"
for s in $SESSIONS; do
    for c in $CONFIGS; do
        if [ "$QUICK" = 1 ]; then
            eval "count_$c=16"
        else
            # a probe sizes the run to about $SECS seconds (and warms up)
            send "$s" $((20 * s)) "$c"
            _m=$(awk -v n=$((20 * s)) -v t="$ELAPSED" -v S="$SECS" -v s="$s" 'BEGIN {
                m = n / t * S; if (m < 40 * s) m = 40 * s; if (m > 8000) m = 8000
                printf "%d", int(m / s) * s }')
            eval "count_$c=$_m"
        fi
    done
    r=1
    while [ $r -le "$REPEAT" ]; do
        for c in $CONFIGS; do
                eval "_m=\$count_$c"
            send "$s" "$_m" "$c"
            _rate=$(awk -v m="$_m" -v t="$ELAPSED" 'BEGIN { printf "%.1f", m / t }')
            # a run smtp-source did not finish counts for nothing
            [ "$SENT_RC" -eq 0 ] || { say "smtp-source ended with status $SENT_RC"; _rate=0.0; }
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$c" "$_m" "$ELAPSED" "$_rate" "$REFUSED" \
                "$QUERIES" >> "$TMP/runs.tsv"
            say "sessions=$s $c: $_m messages in $ELAPSED s = $_rate msgs/s, $REFUSED refused, $QUERIES DNS queries"
        done
        r=$((r + 1))
    done
done

# --- the table: best run of each (sessions, config), as % of alone -----------------
awk -F'\t' 'NR > 1 { k = $1 "\t" $2; if (!(k in best) || $5 + 0 > best[k] + 0) { best[k] = $5; row[k] = $0 }
                     if ($2 == "alone" && (!($1 in alone) || $5 + 0 > alone[$1] + 0)) alone[$1] = $5 }
    END { print "sessions\tconfig\tmessages\tseconds\tmsgs_s\trefused\tdns_queries\tpct_of_alone"
          for (k in row) { split(k, p, "\t")
              printf "%s\t%.1f\n", row[k], (alone[p[1]] > 0 ? 100 * best[k] / alone[p[1]] : 0) } }' \
    "$TMP/runs.tsv" > "$TMP/best.tsv"
{
    head -n 1 "$TMP/best.tsv"
    tail -n +2 "$TMP/best.tsv" | sort -k1,1n -k2,2
} > "$TSV"
cp "$TMP/runs.tsv" "$OUTDIR/milter_runs.tsv"

cell() {  # SESSIONS CONFIG
    awk -F'\t' -v s="$1" -v c="$2" '$1 == s && $2 == c {
        if (c == "alone") printf "%.0f msgs/s", $5
        else printf "%.0f msgs/s (%.0f%%)", $5, $8
        if ($6 > 0) printf ", %d refused", $6 }' "$TSV"
}
{
    echo "From \`bench/postfix_milter.sh\`: a private Postfix $(postconf -d -h mail_version) on loopback, mail handed to"
    echo "discard(8), smtp-source sending 2 KB messages, one SMTP connection each. postaged runs on its defaults"
    echo "except \`greylist_training = yes\` (nothing deferred), its DNS answered by a local dnsmasq; OpenDKIM in"
    echo "verify mode is the peer. \"Every check off\" is postaged with helo_checks, spf, greylist and postage off:"
    echo "the milter protocol and Postfix's own milter handling alone, the floor under what the checks cost."
    echo "Goal (issue 18): Postfix keeps at least 90% of its messages/s with postaged."
    echo
    echo "| SMTP sessions | $LABEL_alone | $LABEL_lmdb | $LABEL_redis | $LABEL_bare | $LABEL_opendkim |"
    echo "|---|---|---|---|---|---|"
    for s in $SESSIONS; do
        row="| $s"
        for c in alone lmdb redis bare opendkim; do
            case " $CONFIGS " in
            *" $c "*) row="$row | $(cell "$s" "$c")" ;;
            *) eval "row=\"\$row | \$NOTE_$c\"" ;;
            esac
        done
        echo "$row |"
    done
    echo
    if [ "$QUICK" = 1 ]; then
        echo "> Quick mode: 16 messages a run, one run each; the figures say nothing about the machine."
    else
        echo "> Best of $REPEAT interleaved runs of about $SECS s each; a percentage is of Postfix alone at the same"
        echo "> sessions count in this run. Every run's figures: [data/milter_runs.tsv](data/milter_runs.tsv)."
    fi
    echo
    awk -F'\t' 'NR > 1 && ($2 == "lmdb" || $2 == "redis") { m += $3; q += $7 }
        END { if (m > 0) printf "> postaged'"'"'s DNS queries per message: %.2f (every run, counted by the fixture).\n", q / m }' \
        "$OUTDIR/milter_runs.tsv"
    echo
} > "$MD"
cat "$MD" >> "$LOG"
exit 0
