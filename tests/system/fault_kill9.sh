#!/bin/sh
# fault_kill9.sh - spend-once survives SIGKILL under load.  One LMDB store
# is shared by postaged (its milter, driven by tests/system/milter_client) and
# several `postage-verify --db` processes, all spending the same stamps at
# once.  Round after round, fresh stamps (and some already spent) go to
# every spender in a different order, and at a random moment the
# verifiers, postaged or both are killed with SIGKILL; postaged is then
# started again on the same store.  Group commit (several threads' spends
# in one transaction, answered only once it is committed) is killed in
# the middle too: tests/system/spend_crowd spends the same stamps from
# CROWD threads of one process, one stamp a call or several
# (postage_store_spend_many), and is killed with the verifiers; postaged
# has several milter sessions at once, one sending one-recipient
# messages, MSESSIONS more messages of two recipients and two stamps
# (spent in one call), each pairing the stamps its own way.  Every answer is recorded as it is
# printed (line-buffered), so answers given just before a kill count too.
# At the end:
#   - no stamp was answered as paid (verify `ok`, milter accept/continue
#     with every recipient paid) more than once over the whole run, the
#     final replay included, answers given just before a kill included;
#   - every stamp answered as paid is refused as `spent` by postage-verify
#     and does not pay through the restarted milter ("already spent");
#   - postaged came back after every kill (the store was never left
#     unusable), and some stamps were paid through each path (else the
#     test proved nothing).
# POSTAGE_TEST_QUICK=1: 8 rounds instead of 30.
. "${top_srcdir:-.}/tests/lib/testlib.sh"

CROWD_BIN="$top_builddir/tests/system/spend_crowd"
require_built "$POSTAGED" "$MINT" "$VERIFY" "$MCLIENT" "$PDCLIENT" "$CROWD_BIN"
require_stdbuf
command -v shuf > /dev/null 2>&1 || skip "shuf (coreutils) is not installed"

ROUNDS=30
[ "${POSTAGE_TEST_QUICK:-0}" = 1 ] && ROUNDS=8
FRESH=150       # new stamps per round
VERIFIERS=3
MSESSIONS=2     # milter sessions with two-stamp messages, beside the one-stamp one
CROWD=8         # spend_crowd's threads

# Every process we start is a child of this shell: until it is waited for
# its PID cannot be reused, so killing what is in $live is always safe.
live=
forget() {
    _n=
    for _p in $live; do [ "$_p" = "$1" ] || _n="$_n $_p"; done
    live=$_n
}
reap() {    # reap PID: wait for it, drop it from $live, status in $reaped
    wait "$1" 2>/dev/null
    reaped=$?
    forget "$1"
}
# wait_bounded PID SECONDS: 0 once the child has exited (a zombie, not yet
# reaped, or gone), 1 if it still runs after SECONDS.  Nothing here should
# take more than a second or two: a process still running after 15 s is
# stuck (e.g. waiting forever on the store's lock, which a process killed
# while holding it or while being handed it must not leave behind).
wait_bounded() {
    _end=$(( $(date +%s) + $2 ))
    while [ -r "/proc/$1/stat" ] && [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]; do
        [ "$(date +%s)" -ge "$_end" ] && return 1
        sleep 0.05
    done
    return 0
}
# stuck WHAT PID: report a stuck process (where it waits), then kill it.
stuck() {
    fail "$1 (PID $2) was still running after 15 s: wchan $(cat "/proc/$2/wchan" 2>/dev/null)," \
        "after a SIGKILL of $killed_what in round $r"
    [ -r "/proc/$2/stack" ] && sed 's/^/    /' "/proc/$2/stack" >&2
    if [ -n "$postaged_pid" ] && [ -d "/proc/$postaged_pid/task" ]; then
        echo "    postaged's threads (wait channel, kernel stack top):" >&2
        for _t in /proc/"$postaged_pid"/task/*; do
            echo "      ${_t##*/} $(cat "$_t/wchan" 2>/dev/null) $(sed -n 1p "$_t/stack" 2>/dev/null)" >&2
        done
        # where in user space, when gdb is there (attaching wakes a futex
        # wait up: the process may go on afterwards)
        command -v gdb > /dev/null 2>&1 &&
            gdb -p "$postaged_pid" -batch -ex 'thread apply all bt 8' 2>/dev/null |
                grep -E '^#|^Thread' | grep -B1 -A6 'mdb_\|lmdb' | sed 's/^/      /' >&2
    fi
    kill -9 "$2" 2>/dev/null
    was_stuck=1
}
cleanup() {
    for _p in $live; do kill -9 "$_p" 2>/dev/null; wait "$_p" 2>/dev/null; done
    live=
}
at_exit cleanup

# make_store DIR: create the double-spend store, once, explicitly.
make_store() {
    _s=$("$MINT" -b 4 make-store@example.org) || return 1
    "$VERIFY" -b 4 --db "$1" --create "$_s" > /dev/null
}

DB="$TMP/store"
make_store "$DB" || { fail "cannot create the store"; finish; }

PORT=$("$PDCLIENT" --free-port)
postaged_conf "milter_listen=inet:127.0.0.1:$PORT" "store=lmdb:$DB" hostname=kill9.test \
    postage=yes price_base=8 greylist_delay=1h spf=no helo_checks=no price_allowance=1000000 \
    price_history_credit_max=0

postaged_pid=
start_postaged() {
    "$POSTAGED" -c "$TMP/postaged.conf" -f 2>> "$TMP/postaged.log" &
    postaged_pid=$!
    live="$live $postaged_pid"
    wait_listen "$PORT" 10 "$postaged_pid" ||
        { fail "postaged did not start again after a SIGKILL: $(tail -n 5 "$TMP/postaged.log")"; finish; }
}

# Stamps: 16 bits against a price of 8, one per recipient: replays raise a
# sender's price (its reputation, up to 13 bits here), and the slack keeps
# the stamps that are not spent yet paying.  No credit for a good history
# either: a message priced at 0 would pass "free", its stamp unspent.
total=$((ROUNDS * FRESH))
i=0
set --
while [ $i -lt $total ]; do set -- "$@" "r$i@example.org"; i=$((i + 1)); done
"$MINT" -b 16 "$@" > "$TMP/stamps" || { fail "minting $total stamps"; finish; }
expect_eq "stamps minted" "$total" "$(wc -l < "$TMP/stamps" | tr -d ' ')"

# Answers: $TMP/paid gets one line per "paid" answer (the stamp).
: > "$TMP/paid"
collect_verify() {    # FILE
    awk '$2 == "ok" { print $1 }' "$1" >> "$TMP/paid"
}
# The milter's answers (--show-headers): a message let through whose
# X-Postage-Result says "paid" ("paid=N" for N recipients, all of them)
# spent its stamps.
collect_milter() {    # INPUT OUTPUT: lines paid -> their stamps
    awk -F '\t' 'NR == FNR { n[FNR] = NF - 1; for (i = 2; i <= NF; i++) s[FNR, i - 1] = substr($i, 13); next }
        $2 == "accept" || $2 == "continue" { through[$1] = 1 }
        $2 == "header" && through[$1] && (n[$1] == 1 && $3 ~ /^X-Postage-Result: .*> paid / ||
            n[$1] > 1 && $3 ~ ("^X-Postage-Result: .*; paid=" n[$1] "(;|$)")) {
            for (i = 1; i <= n[$1]; i++) print s[$1, i] }' \
        "$1" "$2" >> "$TMP/paid"
}

start_postaged
kills=0 postaged_kills=0 verifier_kills=0
r=0
while [ $r -lt $ROUNDS ]; do
    # this round's stamps: FRESH new ones plus up to 20 older ones
    sed -n "$((r * FRESH + 1)),$(((r + 1) * FRESH))p" "$TMP/stamps" > "$TMP/fresh"
    if [ $r -gt 0 ]; then
        head -n $((r * FRESH)) "$TMP/stamps" | shuf -n 20 >> "$TMP/fresh"
    fi
    # The crowd's own: ten new stamps no other spender is given this
    # round, so that the crowd pays something whenever it is not killed
    # first (it starts last, and could lose every race for the shared ones).
    head -n 10 "$TMP/fresh" > "$TMP/own"
    tail -n +11 "$TMP/fresh" > "$TMP/shared"
    pids=
    v=0
    while [ $v -lt $VERIFIERS ]; do
        shuf "$TMP/shared" > "$TMP/in.$r.$v"
        stdbuf -oL "$VERIFY" -b 8 --db "$DB" < "$TMP/in.$r.$v" > "$TMP/out.$r.$v" 2> "$TMP/err.$r.$v" &
        pids="$pids $!"
        v=$((v + 1))
    done
    # the crowd: 1, 2 or 3 stamps a call, by round
    cat "$TMP/shared" "$TMP/own" | shuf > "$TMP/crowd.$r.in"
    stdbuf -oL "$CROWD_BIN" "lmdb:$DB" "$CROWD" $((r % 3 + 1)) < "$TMP/crowd.$r.in" \
        > "$TMP/out.$r.crowd" 2> "$TMP/err.$r.crowd" &
    cpid=$!
    pids="$pids $cpid"
    live="$live $pids"
    shuf "$TMP/shared" | awk '{ split($0, f, ":"); printf "%s\tX-Hashcash: %s\n", f[4], $0 }' \
        > "$TMP/m.$r.in"
    stdbuf -oL "$MCLIENT" --show-headers --connect "inet:127.0.0.1:$PORT" --timeout 3000 \
        --client-addr "198.51.100.$((r % 250 + 1))" --from "round$r@r$r.example.net" \
        "$TMP/m.$r.in" > "$TMP/m.$r.out" 2> "$TMP/m.$r.err" &
    mpid=$!
    live="$live $mpid"
    # the two-stamp sessions: each pairs the shuffled stamps its own way
    mpids=
    c=0
    while [ $c -lt $MSESSIONS ]; do
        shuf "$TMP/shared" | awk '{ split($0, f, ":"); r[NR % 2] = f[4]; h[NR % 2] = $0 }
            NR % 2 == 0 { printf "%s,%s\tX-Hashcash: %s\tX-Hashcash: %s\n", r[1], r[0], h[1], h[0] }' \
            > "$TMP/m.$r.c$c.in"
        stdbuf -oL "$MCLIENT" --show-headers --connect "inet:127.0.0.1:$PORT" --timeout 3000 \
            --client-addr "198.51.100.$((r % 250 + 1))" --from "round$r.c$c@r$r.example.net" \
            "$TMP/m.$r.c$c.in" > "$TMP/m.$r.c$c.out" 2> "$TMP/m.$r.c$c.err" &
        mpids="$mpids $!"
        c=$((c + 1))
    done
    live="$live $mpids"

    # a random moment, then SIGKILL: the verifiers, postaged, or both
    sleep "$(shuf -i 2-60 -n 1 | awk '{ printf "%.3f", $1 / 1000 }')"
    # the first round kills postaged only, so that the verifiers and the
    # crowd run to their end at least once (else, with the few rounds of
    # POSTAGE_TEST_QUICK, all of them could be killed before paying)
    what=$(shuf -i 0-2 -n 1)
    [ $r -gt 0 ] || what=1
    case $what in 0) killed_what="the verifiers" ;; 1) killed_what=postaged ;; *) killed_what="both" ;; esac
    if [ "$what" != 1 ]; then
        for p in $pids; do
            kill -9 "$p" 2>/dev/null && { kills=$((kills + 1)); verifier_kills=$((verifier_kills + 1)); }
        done
    fi
    if [ "$what" != 0 ]; then
        kill -9 "$postaged_pid" 2>/dev/null && { kills=$((kills + 1)); postaged_kills=$((postaged_kills + 1)); }
    fi
    for p in $pids; do
        wait_bounded "$p" 15 || stuck "postage-verify" "$p"
        reap "$p"
        # 137: killed; 0/1: finished (the crowd: 0); anything else is a
        # crash or an error
        case $reaped in
            0 | 137) ;;
            1) [ "$p" != "$cpid" ] || fail "round $r: spend_crowd failed: $(cat "$TMP/err.$r.crowd")" ;;
            *) fail "round $r: postage-verify or spend_crowd exited with $reaped: $(cat "$TMP"/err.$r.*)" ;;
        esac
    done
    for p in $mpid $mpids; do
        if [ "$what" = 0 ]; then
            # postaged is alive: the clients finish
            was_stuck=
            wait_bounded "$p" 15 || stuck "milter_client (talking to postaged)" "$p"
            reap "$p"
            [ -n "$was_stuck" ] || [ "$reaped" -le 1 ] ||
                fail "round $r: milter_client exited with $reaped: $(cat "$TMP"/m.$r.*err)"
        else
            kill -9 "$p" 2>/dev/null
            reap "$p"
        fi
    done
    if [ "$what" = 0 ]; then
        # not killed this round: it must still be running
        kill -0 "$postaged_pid" 2>/dev/null ||
            { fail "round $r: postaged died without being killed: $(tail -n 5 "$TMP/postaged.log")"; finish; }
    else
        reap "$postaged_pid"
    fi
    v=0
    while [ $v -lt $VERIFIERS ]; do collect_verify "$TMP/out.$r.$v"; v=$((v + 1)); done
    collect_verify "$TMP/out.$r.crowd"
    collect_milter "$TMP/m.$r.in" "$TMP/m.$r.out"
    c=0
    while [ $c -lt $MSESSIONS ]; do collect_milter "$TMP/m.$r.c$c.in" "$TMP/m.$r.c$c.out"; c=$((c + 1)); done
    [ "$what" = 0 ] || start_postaged
    r=$((r + 1))
done

# The final replay, with nothing killed: every stamp once through
# postage-verify, then every stamp paid so far once through the milter.
"$VERIFY" -b 8 --db "$DB" < "$TMP/stamps" > "$TMP/final" 2> "$TMP/final.err"
rc=$?
[ $rc -le 1 ] || fail "final replay: postage-verify exited with $rc: $(cat "$TMP/final.err")"
expect_eq "final replay: one verdict per stamp" "$total" \
    "$(awk '$2 == "ok" || $2 == "spent"' "$TMP/final" | wc -l | tr -d ' ')"
sort -u "$TMP/paid" > "$TMP/paid.set"
awk '$2 == "spent" { print $1 }' "$TMP/final" | sort -u > "$TMP/final.spent"
not_spent=$(comm -23 "$TMP/paid.set" "$TMP/final.spent" | wc -l | tr -d ' ')
expect_eq "stamps paid during the run that are not refused as spent now" 0 "$not_spent"
collect_verify "$TMP/final"

# (in chunks of 20, each from a sender and client of its own, so that the
# price raised by the replays themselves does not hide the reason)
sort -u "$TMP/paid.set" | awk '{ split($0, f, ":"); printf "%s\tX-Hashcash: %s\n", f[4], $0 }' \
    > "$TMP/replay.in"
split -l 20 "$TMP/replay.in" "$TMP/replay.part."
: > "$TMP/replay.out"
n=0
for part in "$TMP"/replay.part.*; do
    n=$((n + 1))
    "$MCLIENT" --show-headers --connect "inet:127.0.0.1:$PORT" --client-addr "203.0.113.$((n % 250 + 1))" \
        --from "replay@p$n.example.net" "$part" > "$part.out" 2> "$part.err"
    rc=$?
    [ $rc -eq 0 ] || fail "milter replay: exit status $rc: $(cat "$part.err")"
    # line numbers relative to the whole replay input
    awk -F '\t' -v OFS='\t' -v base=$(((n - 1) * 20)) '{ $1 += base; print }' "$part.out" \
        >> "$TMP/replay.out"
done
expect_eq "milter replay: answers" "$(wc -l < "$TMP/replay.in" | tr -d ' ')" \
    "$(awk -F '\t' '$2 != "header"' "$TMP/replay.out" | wc -l | tr -d ' ')"
expect_eq "milter replay: spent stamps let through" 0 \
    "$(awk -F '\t' '$2 != "tempfail" && $2 != "header"' "$TMP/replay.out" | wc -l | tr -d ' ')"
expect_eq "milter replay: logged as already spent" "$(wc -l < "$TMP/replay.in" | tr -d ' ')" \
    "$(grep -c 'from=<replay@p[0-9]*\.example\.net>: The stamp for <[^>]*> did not pay: it is already spent$' \
        "$TMP/postaged.log")"
collect_milter "$TMP/replay.in" "$TMP/replay.out"

# The heart of it: no stamp paid twice, over every run and every path.
twice=$(sort "$TMP/paid" | uniq -d)
[ -z "$twice" ] || fail "stamps paid more than once: $(echo "$twice" | head -n 5)"

# The run must have been a real one.
via_verify=$(cat "$TMP"/out.*[0-9] | grep -c ' ok$')
via_crowd=$(cat "$TMP"/out.*.crowd | grep -c ' ok$')
via_milter=$(cat "$TMP"/m.*.out | grep -c '^[0-9]*	header	X-Postage-Result: .*> paid ')
via_pairs=$(cat "$TMP"/m.*.c*.out | grep -c '^[0-9]*	header	X-Postage-Result: .*; paid=2\(;\|$\)')
echo "rounds $ROUNDS kills $kills (postaged $postaged_kills, verifiers $verifier_kills)" \
    "paid: $via_verify by postage-verify, $via_crowd by spend_crowd, $via_milter by the milter," \
    "$via_pairs two-stamp messages;" \
    "$(wc -l < "$TMP/paid.set" | tr -d ' ') of $total stamps paid before the final replay"
[ "$postaged_kills" -ge 1 ] || fail "postaged was never killed"
[ "$verifier_kills" -ge 1 ] || fail "no verifier was killed while it ran"
[ "$via_verify" -ge 1 ] || fail "no stamp was paid through postage-verify"
[ "$via_milter" -ge 1 ] || fail "no stamp was paid through the milter"
[ "$via_pairs" -ge 1 ] || fail "no two-stamp message was paid through the milter"
[ "$via_crowd" -ge 1 ] || fail "no stamp was paid through spend_crowd"
[ "$failures" -eq 0 ] || tail -n 20 "$TMP/postaged.log" >&2
finish
