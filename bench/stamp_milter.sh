#!/bin/bash
# stamp_milter.sh - messages per second through a private sending Postfix
# with postaged's stamping milter (stamp_listen, issue 19) and without it,
# at 1, 5 and 50 recipients per message, each recipient's domain
# publishing BITS (default 20) in DNS.  For `make bench` (bench/report.sh,
# section "stamping").
#
# Usage: bench/stamp_milter.sh [--quick] [--out DIR] [--seconds S]
#                              [--bits B] [--rcpts "1 5 50"] [--sessions N]
#                              [--repeat N]
#
# One private Postfix 3.x (tests/lib/postfix_harness.sh) on loopback with
# two smtpd ports: one plain, one with smtpd_milters = the stamping milter;
# the same Postfix serves both, so the only difference is the milter.
# Mail for example.test is handed to discard(8): what is measured is
# Postfix taking the message and the milter pricing and minting, not a
# delivery.  smtp-source submits from 127.0.0.1 (in stamp_clients, as a
# web application or a mail client on the host would) the same message
# with R recipients (rcpt@, 2rcpt@ ... Rrcpt@example.test), all of them
# named in its To: header, so none is blind and each gets its stamp in the
# message itself.  _postage.example.test says "v=POSTAGE1; b=BITS"
# (dnsmasq, tests/lib/dns_harness.sh); postaged runs on its defaults
# (stamp_threads = every CPU, stamp_timeout = 10s).  Runs of one
# recipients count are interleaved (alone, stamping; again) and the best of
# --repeat is kept, because the machine is shared; each run is sized from
# a short probe to last about --seconds (default 4).  --quick: 8 bits, a
# handful of messages, one run each.
#
# A run is counted as stamped only from postaged's own log: the number of
# messages whose line says "stamped R of R recipients" (a message that went
# out unstamped, over budget say, would be faster and must not pass for a
# stamped one).
#
# Output in DIR (default .): stamping.tsv (best run of each recipients
# count and configuration: msgs/s, % of Postfix alone, stamps/s, messages
# fully stamped), stamping_runs.tsv (every run), stamping.md (the table
# for the report), stamping.log.  Needs root, Postfix >= 3.4 with
# smtp-source, dnsmasq, and a postaged with the stamping milter; without
# them the table says why and the script exits 77.  Nothing is asserted.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
export top_srcdir top_builddir

QUICK=0 OUTDIR=. SECS=4 BITS= RCPTS="1 5 50" SESSIONS=1 REPEAT=2
while [ $# -gt 0 ]; do
    case $1 in
    --quick) QUICK=1 ;;
    --out) OUTDIR=$2; shift ;;
    --seconds) SECS=$2; shift ;;
    --bits) BITS=$2; shift ;;
    --rcpts) RCPTS=$2; shift ;;
    --sessions) SESSIONS=$2; shift ;;
    --repeat) REPEAT=$2; shift ;;
    -h|--help) sed -n '2,/^set -u/p' "$0" | sed 's/^# \{0,1\}//; /^set -u/d'; exit 0 ;;
    *) echo "stamp_milter.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
if [ "$QUICK" = 1 ]; then
    REPEAT=1
    : "${BITS:=8}"
else
    : "${BITS:=20}"
fi
# no run may take longer than this (seconds), whatever it was sized to
RUN_LIMIT=$(( SECS * 20 < 60 ? 60 : SECS * 20 ))
mkdir -p "$OUTDIR" || exit 1
OUTDIR=$(cd "$OUTDIR" && pwd)
TSV=$OUTDIR/stamping.tsv MD=$OUTDIR/stamping.md LOG=$OUTDIR/stamping.log
: > "$LOG"

. "$top_srcdir/tests/lib/testlib.sh"
. "$top_srcdir/tests/lib/postfix_harness.sh"
. "$top_srcdir/tests/lib/dns_harness.sh"

say() { echo "[${SECONDS}s] $*" >> "$LOG"; }
TSV_HEAD='rcpts\tconfig\tmessages\tseconds\tmsgs_s\trefused\tstamped\tstamps_s\tpct_of_alone'
# skip_md REASON: the whole section cannot run; say so in the report.
skip_md() {
    printf '> Skipped: %s\n\n' "$1" > "$MD"
    printf "$TSV_HEAD\n" > "$TSV"
    echo "stamp_milter.sh: skipped: $1" >&2
    exit 77
}

[ -x "$POSTAGED" ] || skip_md "postaged is not built"
"$POSTAGED" --defaults 2>/dev/null | grep -q '^#* *stamp_listen *=' ||
    skip_md "this postaged has no stamping milter (stamp_listen)"
[ "$(id -u)" = 0 ] || skip_md "the private Postfix must be started as root"
SMTP_SOURCE=$(command -v smtp-source || echo /usr/sbin/smtp-source)
[ -x "$SMTP_SOURCE" ] || skip_md "smtp-source (Postfix) is not installed"
command -v postfix >/dev/null 2>&1 || skip_md "Postfix is not installed"
command -v dnsmasq >/dev/null 2>&1 || skip_md "dnsmasq is not installed (the DNS fixture)"

# --- the published price ---------------------------------------------------------
dns_start "--txt-record=_postage.example.test,v=POSTAGE1; b=$BITS" ||
    skip_md "the DNS fixture (dnsmasq) did not start"
say "dnsmasq on 127.0.0.1:$DNS_PORT: _postage.example.test v=POSTAGE1; b=$BITS"

# --- Postfix: one port alone, one through the stamping milter ----------------------
# Settings are changed with postconf -e (pf_set), never appended (a
# duplicate main.cf entry makes every Postfix process warn).
STAMP_PORT=$(free_port)
pf_start --milter-default-action tempfail || skip_md "the private Postfix did not start"
SMTP_STAMP=$(free_port)
echo "127.0.0.1:$SMTP_STAMP inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:$STAMP_PORT" \
    >> "$PF_CONF/master.cf"
SMTP_ALONE=$PF_PORT
pf_set 'virtual_transport = discard:' 'smtpd_client_connection_count_limit = 0' \
    'smtpd_client_connection_rate_limit = 0' 'smtpd_client_message_rate_limit = 0' \
    'smtpd_recipient_limit = 1000' 'default_process_limit = 100' ||
    skip_md "the private Postfix did not take its settings"
wait_listen "$SMTP_STAMP" 10 "$PF_MASTER_PID" || skip_md "Postfix does not listen on port $SMTP_STAMP"

# --- postaged: the stamping milter alone, on its defaults --------------------------
# Blind copies (none here) would go to the private Postfix, never the system's.
postaged_conf -o "$TMP/stamp.conf" "stamp_listen=inet:127.0.0.1:$STAMP_PORT" \
    "store=lmdb:$TMP/state" hostname=mx.origin.test "dns_server=127.0.0.1:$DNS_PORT" \
    "stamp_sendmail=$PF_SENDMAIL"
"$POSTAGED" -c "$TMP/stamp.conf" -f 2> "$TMP/stamp.log" &
STAMP_PID=$!
kill_at_exit "$STAMP_PID"
wait_listen "$STAMP_PORT" 20 "$STAMP_PID" ||
    skip_md "postaged did not start: $(tail -n 2 "$TMP/stamp.log" | tr '\n' ' ')"
say "Postfix $(postconf -d -h mail_version): alone on $SMTP_ALONE, stamping on $SMTP_STAMP; postaged PID $STAMP_PID"

# The message of R recipients: every one in To:, so none is blind.
message_file() {
    _f=$TMP/msg.$1
    {
        printf 'From: <sender@origin.test>\nTo: rcpt@example.test'
        _i=2
        while [ "$_i" -le "$1" ]; do printf ',\n    %srcpt@example.test' "$_i"; _i=$((_i + 1)); done
        printf '\nSubject: stamping bench, %s recipients\n\n' "$1"
        # about 2 KB of body, as bench/postfix_milter.sh sends
        _i=0
        while [ $_i -lt 28 ]; do
            printf 'line %02d of the body of the stamping bench, filler filler filler filler\n' "$_i"
            _i=$((_i + 1))
        done
    } > "$_f"
    echo "$_f"
}

# send RCPTS COUNT CONFIG: sets SENT_RC, ELAPSED (seconds), REFUSED
# (transactions the log shows refused) and STAMPED (messages postaged says
# it stamped for every recipient), all for this run.
send() {
    _port=$SMTP_ALONE
    [ "$3" = stamp ] && _port=$SMTP_STAMP
    _before=$(grep -c 'reject\|milter-reject\|status=deferred' "$PF_LOG")
    _s0=$(grep -c "stamped $1 of $1 recipient" "$TMP/stamp.log")
    _t0=$(date +%s.%N)
    # bounded: a wedged instance must not hang `make bench`
    timeout "$RUN_LIMIT" "$SMTP_SOURCE" -s "$SESSIONS" -m "$2" -r "$1" -f sender@origin.test \
        -t rcpt@example.test -M client.origin.test -F "$(message_file "$1")" \
        "127.0.0.1:$_port" >> "$LOG" 2>&1
    SENT_RC=$?
    _t1=$(date +%s.%N)
    ELAPSED=$(awk -v a="$_t0" -v b="$_t1" 'BEGIN { printf "%.3f", b - a }')
    REFUSED=$(( $(grep -c 'reject\|milter-reject\|status=deferred' "$PF_LOG") - _before ))
    STAMPED=$(( $(grep -c "stamped $1 of $1 recipient" "$TMP/stamp.log") - _s0 ))
}

CONFIGS="alone stamp"
printf 'rcpts\tconfig\tmessages\tseconds\tmsgs_s\trefused\tstamped\n' > "$TMP/runs.tsv"
for r in $RCPTS; do
    for c in $CONFIGS; do
        if [ "$QUICK" = 1 ]; then
            eval "count_$c=$(( r >= 50 ? 2 : 4 ))"
        else
            # probes (the first also warms up), four times larger until
            # one lasts half a second, size the run to about $SECS seconds
            _n=4
            while :; do
                send "$r" "$_n" "$c"
                awk -v t="$ELAPSED" 'BEGIN { exit !(t >= 0.5) }' && break
                [ "$_n" -ge 1000 ] && break
                _n=$((_n * 4))
            done
            _m=$(awk -v n="$_n" -v t="$ELAPSED" -v S="$SECS" -v s="$SESSIONS" 'BEGIN {
                m = n / t * S; if (m < 4 * s) m = 4 * s; if (m > 8000) m = 8000
                printf "%d", int(m / s) * s }')
            eval "count_$c=$_m"
        fi
    done
    i=1
    while [ $i -le "$REPEAT" ]; do
        for c in $CONFIGS; do
            eval "_m=\$count_$c"
            send "$r" "$_m" "$c"
            _rate=$(awk -v m="$_m" -v t="$ELAPSED" 'BEGIN { printf "%.2f", m / t }')
            # a run smtp-source did not finish counts for nothing
            [ "$SENT_RC" -eq 0 ] || { say "smtp-source ended with status $SENT_RC"; _rate=0.00; }
            [ "$c" = stamp ] || STAMPED=-
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$c" "$_m" "$ELAPSED" "$_rate" "$REFUSED" \
                "$STAMPED" >> "$TMP/runs.tsv"
            say "rcpts=$r $c: $_m messages in $ELAPSED s = $_rate msgs/s, $REFUSED refused, stamped $STAMPED"
        done
        i=$((i + 1))
    done
done

# --- the table: best run of each (rcpts, config), as % of alone ----------------------
awk -F'\t' 'NR > 1 { k = $1 "\t" $2; if (!(k in best) || $5 + 0 > best[k] + 0) { best[k] = $5; row[k] = $0 }
                     if ($2 == "alone" && (!($1 in alone) || $5 + 0 > alone[$1] + 0)) alone[$1] = $5 }
    END { for (k in row) { split(k, p, "\t"); split(row[k], f, "\t")
              printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f\n", f[1], f[2], f[3], f[4], f[5], f[6], f[7],
                  (f[2] == "stamp" ? sprintf("%.1f", f[5] * f[1]) : "-"),
                  (alone[p[1]] > 0 ? 100 * best[k] / alone[p[1]] : 0) } }' \
    "$TMP/runs.tsv" | sort -k1,1n -k2,2 > "$TMP/best.tsv"
{ printf "$TSV_HEAD\n"; cat "$TMP/best.tsv"; } > "$TSV"
cp "$TMP/runs.tsv" "$OUTDIR/stamping_runs.tsv"

cell() {  # RCPTS CONFIG
    awk -F'\t' -v r="$1" -v c="$2" '$1 == r && $2 == c {
        if (c == "alone") printf "%.1f msgs/s", $5
        else printf "%.1f msgs/s (%.0f%%)", $5, $9
        if ($6 > 0) printf ", %d refused", $6 }' "$TSV"
}
field() {  # RCPTS CONFIG COLUMN
    awk -F'\t' -v r="$1" -v c="$2" -v n="$3" '$1 == r && $2 == c { print $n }' "$TSV"
}
{
    echo "From \`bench/stamp_milter.sh\`: a private Postfix $(postconf -d -h mail_version) on loopback, mail handed to"
    echo "discard(8), smtp-source submitting the same ~2 KB message from 127.0.0.1 (in \`stamp_clients\`) with every"
    echo "recipient named in its To: header (none blind), one SMTP connection a message, $SESSIONS at a time."
    echo "postaged's stamping milter runs on its defaults ($(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc) minting"
    echo "threads here); \`_postage.example.test\` publishes $BITS bits (a local dnsmasq), so each message carries one"
    echo "$BITS-bit stamp per recipient. \"Stamped\" counts the messages postaged logged as stamped for every"
    echo "recipient, of those sent."
    echo
    echo "| recipients per message | Postfix alone | + stamping milter ($BITS bits) | stamps/s | stamped |"
    echo "|---|---|---|---|---|"
    for r in $RCPTS; do
        echo "| $r | $(cell "$r" alone) | $(cell "$r" stamp) | $(field "$r" stamp 8) |" \
            "$(field "$r" stamp 7) of $(field "$r" stamp 3) |"
    done
    echo
    if [ "$QUICK" = 1 ]; then
        echo "> Quick mode: $BITS bits, a few messages a run, one run each; the figures say nothing about the machine."
    else
        echo "> Best of $REPEAT interleaved runs of about $SECS s each; a percentage is of Postfix alone at the same"
        echo "> recipients count in this run. Every run's figures: [data/stamping_runs.tsv](data/stamping_runs.tsv)."
    fi
    echo
} > "$MD"
cat "$MD" >> "$LOG"
exit 0
