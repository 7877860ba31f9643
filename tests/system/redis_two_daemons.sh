#!/bin/sh
# redis_two_daemons.sh - two postaged processes sharing one Redis, as two
# MX hosts of one site would.  Checks:
#   - 8 concurrent milter clients, 4 on each daemon, each presenting the
#     same 10,000 stamps (each stamp for its own recipient): exactly
#     10,000 presentations are paid, whatever the interleaving;
#   - a triplet greylisted on one daemon passes on the other after the
#     delay;
#   - quota counts add up across both daemons;
#   - Redis stopped under load: every request is still answered, with
#     on_error's answer, and the outage is logged once; Redis restarted:
#     normal answers resume without restarting postaged.
. "${top_srcdir:-.}/tests/lib/testlib.sh"
. "${top_srcdir:-.}/tests/lib/redis_harness.sh"

MC="$top_builddir/tests/system/milter_client"
PC="$top_builddir/tests/system/pd_client"
require_built "$POSTAGED" "$MINT" "$REPUTATION" "$MC" "$PC"
command -v shuf >/dev/null 2>&1 || skip "shuf is not installed"

redis_start || { fail "redis-server did not start"; finish; }
STORE="redis://127.0.0.1:$REDIS_PORT/0?prefix=two$$:&timeout=300"

# daemon NAME: write its configuration ($1.conf) and start it.
write_conf() {   # NAME POLICY_PORT MILTER_PORT GREYLIST_DELAY [EXTRA LINE]
    postaged_conf -o "$TMP/$1.conf" "policy_listen=inet:127.0.0.1:$2" "milter_listen=inet:127.0.0.1:$3" \
        "store=$STORE" "hostname=$1.example" spf=no helo_checks=no "greylist_delay=$4"
    printf '%s\n' "${5:-}" >> "$TMP/$1.conf"
}
start_daemon() {   # NAME
    "$POSTAGED" -c "$TMP/$1.conf" -f 2>> "$TMP/$1.log" &
    eval "${1}_pid=\$!"
    eval "kill_at_exit \$${1}_pid"
}
A_POLICY=$(free_port); A_MILTER=$(free_port)
B_POLICY=$(free_port); B_MILTER=$(free_port)
write_conf a "$A_POLICY" "$A_MILTER" 1h
write_conf b "$B_POLICY" "$B_MILTER" 1h
start_daemon a
start_daemon b
for p in "$A_POLICY $a_pid" "$A_MILTER $a_pid" "$B_POLICY $b_pid" "$B_MILTER $b_pid"; do
    set -- $p
    wait_listen "$1" 10 "$2" || { fail "postaged did not start: $(cat "$TMP/a.log" "$TMP/b.log")"; finish; }
done

# 1. The same 10,000 stamps through both daemons, 8 clients at once
#    (2,000 with POSTAGE_TEST_QUICK, which CI sets for the sanitizer run,
#    where 80,000 milter transactions would take many minutes).  The
#    client host pays a pinned 1 bit, so that the replays' bad record
#    cannot raise the price mid-test; every unpaid copy is greylisted for
#    an hour, so only a paid presentation is accepted.
"$REPUTATION" -s "$STORE" pin ip:192.0.2.10 1 > /dev/null || fail "cannot pin the test host's price"
STAMPS=10000
[ -n "${POSTAGE_TEST_QUICK:-}" ] && STAMPS=2000
i=0
while [ $i -lt $STAMPS ]; do i=$((i + 1)); echo "r$i@example.test"; done > "$TMP/rcpts"
# shellcheck disable=SC2046
"$MINT" -j 1 -b 1 $(cat "$TMP/rcpts") > "$TMP/stamps" || { fail "minting failed"; finish; }
paste "$TMP/rcpts" "$TMP/stamps" | sed 's/\t/\tX-Hashcash: /' > "$TMP/messages"
expect_eq "messages prepared" $STAMPS "$(wc -l < "$TMP/messages")"
# The clients wait up to 30 s for an answer: Debian's libmilter serves
# sessions from a worker pool whose idle workers and controller wake up
# every 10 s, and under this load a session now and then waits for that
# wake-up (seen about once in ten runs).  This part counts payments, not
# latency; a lost answer still fails it.
pids=
for c in 1 2 3 4 5 6 7 8; do
    port=$A_MILTER; [ $c -gt 4 ] && port=$B_MILTER
    shuf "$TMP/messages" > "$TMP/messages.$c"
    "$MC" --timeout 30000 --connect "inet:127.0.0.1:$port" --client-addr 192.0.2.10 --from s@sender.example \
        --stop-at eoh "$TMP/messages.$c" > "$TMP/out.$c" 2> "$TMP/err.$c" &
    pids="$pids $!"
done
for p in $pids; do
    wait "$p" || fail "a milter client failed: $(cat "$TMP"/err.* | head -n 5)$(
        awk -F '\t' '$2 == "timeout" || $2 == "error"' "$TMP"/out.* | head -n 5)"
done
paid=$(cat "$TMP"/out.* | awk -F '\t' '$2 == "accept" || $2 == "continue"' | wc -l)
answered=$(cat "$TMP"/out.* | grep -c .)
expect_eq "presentations answered" $((8 * STAMPS)) "$answered"
expect_eq "presentations paid (each stamp once)" $STAMPS "$paid"
expect_eq "distinct recipients paid" $STAMPS \
    "$(for c in 1 2 3 4 5 6 7 8; do
           awk -F '\t' 'NR == FNR { if ($2 == "accept" || $2 == "continue") ok[$1] = 1; next }
                        (FNR in ok) { print $1 }' "$TMP/out.$c" "$TMP/messages.$c"
       done | sort -u | wc -l)"

# 2. Greylisting across daemons: first seen on a, retried on b after the
#    delay.
# The quota client talks to the policy services alone, which therefore
# greylist it (postgrey's wiring): it is whitelisted, so that what is
# counted is the quota.
QUOTA='quota = sender 1h count 5 DEFER 4.7.1 Slow down
greylist_whitelist_clients = 203.0.113.0/24'
write_conf a "$A_POLICY" "$A_MILTER" 2s "$QUOTA"
write_conf b "$B_POLICY" "$B_MILTER" 2s "$QUOTA"
kill -HUP "$a_pid" "$b_pid"
for n in a b; do
    i=0
    until [ "$(grep -c 'reload: configuration' "$TMP/$n.log")" -ge 1 ]; do
        i=$((i + 1)); [ $i -lt 100 ] || { fail "$n did not reload"; break; }; sleep 0.1
    done
done
printf 'grey@example.test\n' > "$TMP/grey"
"$MC" --connect "inet:127.0.0.1:$A_MILTER" --client-addr 198.51.100.20 --from g@sender.example \
    --stop-at eoh "$TMP/grey" > "$TMP/grey.a"
expect_eq "first attempt on a" tempfail "$(cut -f 2 "$TMP/grey.a")"
sleep 3
"$MC" --connect "inet:127.0.0.1:$B_MILTER" --client-addr 198.51.100.20 --from g@sender.example \
    --stop-at eoh "$TMP/grey" > "$TMP/grey.b"
case $(cut -f 2 "$TMP/grey.b") in accept | continue) ;; *) fail "the retry on b was not let through: $(cat "$TMP/grey.b")" ;; esac

# 3. Quotas add up: 5 messages per sender and hour, three counted on each
#    daemon; the sixth, on either, is deferred.
policy() {   # PORT INSTANCE STATE
    printf 'request=smtpd_access_policy\nprotocol_state=%s\nprotocol_name=ESMTP\n' "$3"
    printf 'client_address=203.0.113.5\nclient_name=mx.example.net\nhelo_name=mx.example.net\n'
    printf 'sender=q@quota.example\nrecipient=x@example.test\ninstance=%s\nqueue_id=Q%s\nsize=100\n\n' "$2" "$2"
}
for m in 1 2 3 4 5 6; do
    port=$A_POLICY; [ $((m % 2)) -eq 0 ] && port=$B_POLICY
    answer=$({ policy "$port" "q$m" RCPT; } | "$PC" "$port" --expect 1 | head -n 1)
    case $answer in *"Slow down"*) over=$m; break ;; esac
    { policy "$port" "q$m" END-OF-MESSAGE; } | "$PC" "$port" --expect 1 > /dev/null
done
expect_eq "first message over the shared quota" 6 "${over:-none}"

# 4. Redis stopped under load: every request answered with on_error's
#    answer (451 4.3.0); the outage logged once per daemon; Redis back:
#    normal answers again, without restarting postaged.
redis_stop
i=0
: > "$TMP/outage"
while [ $i -lt 40 ]; do
    i=$((i + 1))
    port=$A_POLICY; [ $((i % 2)) -eq 0 ] && port=$B_POLICY
    { policy "$port" "o$i" RCPT; } | "$PC" "$port" --expect 1 | head -n 1 >> "$TMP/outage" ||
        fail "request $i got no answer while Redis was down"
done
expect_eq "answers during the outage" 40 "$(grep -c . "$TMP/outage")"
expect_eq "on_error answers during the outage" 40 "$(grep -c '^action=451 4.3.0 ' "$TMP/outage")"
for n in a b; do
    expect_eq "$n logged the outage once" 1 "$(grep -c 'state store down' "$TMP/$n.log")"
done
redis_restart || { fail "redis did not restart"; finish; }
"$REPUTATION" -s "$STORE" pin ip:192.0.2.10 1 > /dev/null
for n in a b; do
    port=$A_POLICY; [ $n = b ] && port=$B_POLICY
    i=0
    until { policy "$port" "back$n$i" RCPT; } | "$PC" "$port" --expect 1 | head -n 1 |
            grep -q '^action=PREPEND X-Postage-Price'; do
        i=$((i + 1)); [ $i -lt 100 ] || { fail "$n did not come back after Redis did"; break; }; sleep 0.1
    done
    expect_eq "$n logged the recovery once" 1 "$(grep -c 'state store up' "$TMP/$n.log")"
done
kill "$a_pid" "$b_pid"
wait "$a_pid" "$b_pid" 2>/dev/null
finish
