#!/bin/bash
# postfix_milter.sh - messages per second through a real Postfix, alone and
# with a milter in the path: postaged on LMDB, on Redis, with every check off, and
# OpenDKIM (verify mode) as a peer where it is installed; and a milter that
# does nothing (bench/null_milter.c), once with postaged's stages and
# answers, once with every stage Postfix lets a milter skip skipped: what any
# milter costs here.  Issue 18's measurement, for `make bench`
# (bench/report.sh, section "milter").
#
# Usage: bench/postfix_milter.sh [--quick] [--out DIR] [--seconds S]
#                                [--sessions "1 4"] [--repeat N] [--dns-ttl T]
#                                [--configs "alone null floor lmdb ..."]
#
# A private Postfix 3.x (tests/lib/postfix_harness.sh) on a loopback port,
# mail for example.test handed to discard(8), so only Postfix's receiving
# side and the milter are measured.  smtp-source sends 2 KB messages, one
# SMTP connection each, over -s 1 and -s 4 sessions.  Each configuration is
# switched in with `postfix reload` (pf_set smtpd_milters), so the same
# Postfix serves every row; the figures of one sessions count are
# interleaved (alone, the null milters, postaged LMDB, postaged with every
# check off, postaged Redis, OpenDKIM; then again)
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

QUICK=0 OUTDIR=. SECS=4 SESSIONS="1 4" REPEAT=2 DNS_TTL= ONLY_CONFIGS=
while [ $# -gt 0 ]; do
    case $1 in
    --quick) QUICK=1 ;;
    --out) OUTDIR=$2; shift ;;
    --seconds) SECS=$2; shift ;;
    --sessions) SESSIONS=$2; shift ;;
    --repeat) REPEAT=$2; shift ;;
    --dns-ttl) DNS_TTL=$2; shift ;;
    --configs) ONLY_CONFIGS=$2; shift ;;
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
    printf 'sessions\tconfig\tmessages\tseconds\tmsgs_s\trefused\tdns_queries\tcpu_ms_msg\tpct_of_alone\n' > "$TSV"
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

# wanted CONFIG: the row is asked for (--configs; all by default)
wanted() {
    [ -z "$ONLY_CONFIGS" ] && return 0
    case " $ONLY_CONFIGS " in *" $1 "*) return 0 ;; esac
    return 1
}
CONFIGS="alone"
LABEL_alone="Postfix alone"
LABEL_null="+ null milter (postaged's stages)"
LABEL_floor="+ null milter (floor)"
LABEL_lmdb="+ postaged milter (LMDB)"
LABEL_redis="+ postaged milter (Redis)"
LABEL_bare="+ postaged, every check off"
LABEL_opendkim="+ OpenDKIM milter (verify)"
NOTE_redis='' NOTE_opendkim='' NOTE_bare='' NOTE_null='' NOTE_floor=''
# The milter that does nothing, postaged's protocol code with empty
# callbacks: with postaged's stages and answers, and with every stage
# skipped (the floor: connection, negotiation and end of message).
# start_null NAME [--floor]
start_null() {
    _port=$(free_port) _name=$1
    shift
    "$top_builddir/bench/null_milter" "$@" "inet:127.0.0.1:$_port" 2> "$TMP/$_name.log" &
    _pid=$!
    kill_at_exit "$_pid"
    if ! wait_listen "$_port" 10 "$_pid"; then
        say "null_milter ($_name) did not start: $(tail -n 3 "$TMP/$_name.log")"
        return 1
    fi
    eval "port_$_name=$_port pid_$_name=$_pid"
    say "null_milter ($_name) PID $_pid on 127.0.0.1:$_port"
}
for c in null floor; do
    wanted "$c" || { eval "NOTE_$c='not asked (--configs)'"; continue; }
    if [ ! -x "$top_builddir/bench/null_milter" ]; then
        eval "NOTE_$c='not built (bench/null_milter)'"
    elif start_null "$c" $([ "$c" = floor ] && echo --floor); then
        CONFIGS="$CONFIGS $c"
    else
        eval "NOTE_$c='did not start (see milter.log)'"
    fi
done
NOTE_lmdb=''
if ! wanted lmdb; then
    NOTE_lmdb='not asked (--configs)'
elif start_postaged lmdb "lmdb:$TMP/state"; then
    CONFIGS="$CONFIGS lmdb"
else
    skip_md "postaged did not start: $(tail -n 2 "$TMP/lmdb.log" | tr '\n' ' ')"
fi
# The same milter with every check off: the protocol and Postfix's own
# milter handling alone, the floor under what the checks cost.
if ! wanted bare; then
    NOTE_bare='not asked (--configs)'
elif start_postaged bare "lmdb:$TMP/bare" helo_checks=no spf=no greylist=no postage=no; then
    CONFIGS="$CONFIGS bare"
else
    NOTE_bare="did not start (see milter.log)"
fi
if ! wanted redis; then
    NOTE_redis='not asked (--configs)'
elif ! command -v redis-server >/dev/null 2>&1; then
    NOTE_redis="not installed (redis-server)"
elif redis_start > /dev/null 2>&1 &&
     start_postaged redis "redis://127.0.0.1:$REDIS_PORT/0"; then
    CONFIGS="$CONFIGS redis"
else
    NOTE_redis="did not start (see milter.log)"
fi
if ! wanted opendkim; then
    NOTE_opendkim='not asked (--configs)'
elif ! command -v opendkim >/dev/null 2>&1; then
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

# cpu_ticks [PID...]: the CPU time (clock ticks, user and system) the
# private Postfix has used so far, its master and every child (the
# children that ended are in the master's reaped-children times), and
# PID's (a milter).  Read from /proc: the CPU a message costs is much less
# disturbed by the shared machine's load than its messages/s.
cpu_ticks() {
    # cat, not awk, opens the files: a process may end between the glob and
    # the read, and some awks stop at a file they cannot open
    cat /proc/[0-9]*/stat 2>/dev/null | awk -v m="$PF_MASTER_PID" -v extra=" $* " '{
            line = $0; pid = $1; sub(/^.*\) /, "", line); split(line, f, " ")
            # f[2] is the parent; f[12], f[13] the process, f[14], f[15] its reaped children
            if (pid == m || f[2] == m || index(extra, " " pid " ") > 0) t += f[12] + f[13] + f[14] + f[15]
        } END { printf "%d", t }'
}
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

# send SESSIONS COUNT CONFIG: sets SENT_RC, ELAPSED (seconds), REFUSED (transactions
# the log shows refused during the run) and QUERIES (DNS queries the
# fixture saw during the run: postaged's, as Postfix here asks none).
send() {
    _before=$(grep -c 'reject\|milter-reject\|status=deferred' "$PF_LOG")
    _q0=$(grep -c 'query\[' "$DNS_LOG")
    eval "_mpid=\${pid_$3:-}"
    _c0=$(cpu_ticks $_mpid)
    _t0=$(date +%s.%N)
    # bounded: a wedged instance must not hang `make bench`
    timeout "$RUN_LIMIT" "$SMTP_SOURCE" -s "$1" -m "$2" -l 2048 -f sender@bench.test -t rcpt@example.test \
        -M client.bench.test -S "bench" "127.0.0.1:$(eval "echo \$smtp_$3")" >> "$LOG" 2>&1
    SENT_RC=$?
    _t1=$(date +%s.%N)
    _c1=$(cpu_ticks $_mpid)
    # CPU milliseconds per message, Postfix and the milter together
    CPU_MS=$(awk -v a="$_c0" -v b="$_c1" -v n="$2" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) * 1000 / hz / n }')
    ELAPSED=$(awk -v a="$_t0" -v b="$_t1" 'BEGIN { printf "%.3f", b - a }')
    REFUSED=$(( $(grep -c 'reject\|milter-reject\|status=deferred' "$PF_LOG") - _before ))
    # dnsmasq writes its log asynchronously: give it a moment
    nap 0.2
    QUERIES=$(( $(grep -c 'query\[' "$DNS_LOG") - _q0 ))
    [ "$QUERIES" -ge 0 ] || QUERIES=0
}

printf 'sessions\tconfig\tmessages\tseconds\tmsgs_s\trefused\tdns_queries\tcpu_ms_msg\n' > "$TMP/runs.tsv"
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
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$c" "$_m" "$ELAPSED" "$_rate" "$REFUSED" \
                "$QUERIES" "$CPU_MS" >> "$TMP/runs.tsv"
            say "sessions=$s $c: $_m messages in $ELAPSED s = $_rate msgs/s, $REFUSED refused, $QUERIES DNS queries, $CPU_MS CPU ms a message"
        done
        r=$((r + 1))
    done
done

# --- the table: best run of each (sessions, config), as % of alone -----------------
awk -F'\t' 'NR > 1 { k = $1 "\t" $2; if (!(k in best) || $5 + 0 > best[k] + 0) { best[k] = $5; row[k] = $0 }
                     if ($2 == "alone" && (!($1 in alone) || $5 + 0 > alone[$1] + 0)) alone[$1] = $5 }
    END { print "sessions\tconfig\tmessages\tseconds\tmsgs_s\trefused\tdns_queries\tcpu_ms_msg\tpct_of_alone"
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
        else printf "%.0f msgs/s (%.0f%%)", $5, $9
        if ($6 > 0) printf ", %d refused", $6 }' "$TSV"
}
{
    echo "From \`bench/postfix_milter.sh\`: a private Postfix $(postconf -d -h mail_version) on loopback, mail handed to"
    echo "discard(8), smtp-source sending 2 KB messages, one SMTP connection each. postaged runs on its defaults"
    echo "except \`greylist_training = yes\` (nothing deferred), its DNS answered by a local dnsmasq; OpenDKIM in"
    echo "verify mode is the peer. \"Every check off\" is postaged with helo_checks, spf, greylist and postage off."
    echo "The null milter (bench/null_milter.c) is postaged's protocol code with callbacks that do nothing: with"
    echo "postaged's stages and answers it is the milter protocol and Postfix's own milter handling alone, the"
    echo "fair target for postaged; \"floor\" skips every stage Postfix lets a milter skip and asks no action (the"
    echo "connection, the negotiation and end of message remain), the least any milter costs here."
    echo "Goal (issue 18): Postfix keeps at least 90% of its messages/s with postaged."
    echo
    # table ROW... : one line per sessions count, a cell per configuration
    table() {
        _h="| SMTP sessions" _l="|---"
        for c in "$@"; do eval "_h=\"\$_h | \$LABEL_$c\""; _l="$_l|---"; done
        echo "$_h |"
        echo "$_l|"
        for s in $SESSIONS; do
            row="| $s"
            for c in "$@"; do
                case " $CONFIGS " in
                *" $c "*) row="$row | $(cell "$s" "$c")" ;;
                *) eval "row=\"\$row | \$NOTE_$c\"" ;;
                esac
            done
            echo "$row |"
        done
        echo
    }
    table alone lmdb redis bare opendkim
    echo "What any milter costs here: the null milter, with every stage skipped (the floor) and with postaged's stages,"
    echo "beside Postfix alone and postaged in the same runs."
    echo
    table alone floor null lmdb
    if [ "$QUICK" = 1 ]; then
        echo "> Quick mode: 16 messages a run, one run each; the figures say nothing about the machine."
    else
        echo "> Best of $REPEAT interleaved runs of about $SECS s each; a percentage is of Postfix alone at the same"
        echo "> sessions count in this run. Every run's figures: [data/milter_runs.tsv](data/milter_runs.tsv)."
    fi
    echo
    # Round by round (a round is one run of each configuration, back to
    # back, so the load the machine is under changes least within it): each
    # row against Postfix alone, and postaged against the null milter of
    # the same stages, its own share.  Median and range of the rounds.
    if [ "$QUICK" != 1 ]; then
        echo "Round by round: each configuration's messages/s as a % of Postfix alone in the same round, median [min-max]"
        echo "of the $REPEAT rounds; the last column is postaged (LMDB) as a % of the null milter with its stages."
        echo
        echo "| SMTP sessions | $LABEL_floor | $LABEL_null | $LABEL_lmdb | $LABEL_bare | postaged / null milter |"
        echo "|---|---|---|---|---|---|"
        awk -F'\t' -v sessions="$SESSIONS" '
            function med(s, k,   n, v, i, j, t) {   # "median [min-max]" of ratio list k
                n = split(lists[s, k], v, " "); if (n == 0 || lists[s, k] == "") return "-"
                for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
                return sprintf("%.0f%% [%.0f-%.0f]", (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2), v[1], v[n]) }
            function flush(   c) {
                if (cur == "" || alone <= 0) return
                for (c in rate) if (c != "alone" && rate[c] > 0) lists[cur, c] = lists[cur, c] " " 100 * rate[c] / alone
                if (rate["null"] > 0 && rate["lmdb"] > 0) lists[cur, "pn"] = lists[cur, "pn"] " " 100 * rate["lmdb"] / rate["null"]
            }
            NR > 1 { if ($2 == "alone") { flush(); delete rate; cur = $1; alone = $5 } rate[$2] = $5 }
            END { flush(); n = split(sessions, S, " ")
                for (i = 1; i <= n; i++)
                    printf "| %s | %s | %s | %s | %s | %s |\n", S[i], med(S[i], "floor"), med(S[i], "null"),
                        med(S[i], "lmdb"), med(S[i], "bare"), med(S[i], "pn") }' "$OUTDIR/milter_runs.tsv"
        echo
        echo "CPU a message costs Postfix and the milter together (from /proc: Postfix's master and children, and the"
        echo "milter's process; smtp-source left out), median of the rounds; in brackets, Postfix alone's CPU a message"
        echo "as a % of this row's: the share of Postfix's messages/s left when the CPU is what limits (both cores busy)."
        echo "Much less disturbed than messages/s by the shared machine's load."
        echo
        echo "| SMTP sessions | $LABEL_alone | $LABEL_floor | $LABEL_null | $LABEL_lmdb | $LABEL_bare |"
        echo "|---|---|---|---|---|---|"
        awk -F'\t' -v sessions="$SESSIONS" '
            function med(s, k,   n, v, i, j, t) {
                n = split(lists[s, k], v, " "); if (n == 0) return ""
                for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
                return (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2) }
            NR > 1 && $8 + 0 > 0 { lists[$1, $2] = lists[$1, $2] " " $8 }
            END { n = split(sessions, S, " ")
                for (i = 1; i <= n; i++) {
                    a = med(S[i], "alone"); row = "| " S[i]
                    split("alone floor null lmdb bare", C, " ")
                    for (k = 1; k <= 5; k++) {
                        m = med(S[i], C[k])
                        if (m == "") row = row " | -"
                        else if (C[k] == "alone" || a == "") row = row sprintf(" | %.2f ms", m)
                        else row = row sprintf(" | %.2f ms (%.0f%%)", m, 100 * a / m)
                    }
                    print row " |" } }' "$OUTDIR/milter_runs.tsv"
        echo
    fi
    awk -F'\t' 'NR > 1 && ($2 == "lmdb" || $2 == "redis") { m += $3; q += $7 }
        END { if (m > 0) printf "> postaged'"'"'s DNS queries per message: %.2f (every run, counted by the fixture).\n", q / m }' \
        "$OUTDIR/milter_runs.tsv"
    echo
} > "$MD"
cat "$MD" >> "$LOG"
exit 0
