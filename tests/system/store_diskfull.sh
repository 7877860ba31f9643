#!/bin/sh
# store_diskfull.sh - a full disk and a read-only store (issue 16, defect 7),
# on small tmpfs mounts (root only: skipped otherwise; unmounted at exit).
#
#   - LMDB spend store, disk full: postage-verify stops with exit 2 and
#     "DIR/data.mdb: ... No space left on device (disk full)" (it used to
#     say "Input/output error"); every stamp it said ok is still spent once
#     there is room again, and the refused one was not recorded.
#   - postaged, spend store full (state store on a tmpfs of its own): the
#     milter answers 451 4.3.0 and the log says "double-spend store failed
#     (DIR/data.mdb: ... No space left on device ...)" (it used to log
#     "double-spend store failed ()", the state store's empty error).
#   - postaged, state store full: the policy port answers 451 4.3.0 and the
#     log names DIR/policy/data.mdb and "No space left on device".
#   - Redis with appendonly on a full tmpfs: it refuses writes (MISCONF);
#     postage-verify says so and exits 2, never "ok" without recording.
#   - A read-only store (tmpfs remounted ro): postage-verify fails cleanly,
#     naming the store and "Read-only file system"; postaged starts all the
#     same, logs that once per store and answers with on_error (451 4.3.0).
. "${top_srcdir:-.}/tests/lib/testlib.sh"

[ "$(id -u)" = 0 ] || skip "needs root to mount small tmpfs file systems"
mounts=
# Unmount (lazily: a process may still hold a file) before $TMP goes; the
# process killers added later (at_exit) run before this.
# shellcheck disable=SC2016
at_exit 'for m in $mounts; do umount -l "$m" 2>/dev/null; done'
mnt() {  # mnt DIR SIZE
    mkdir -p "$1" && mount -t tmpfs -o "size=$2,mode=0700" tmpfs "$1" ||
        skip "cannot mount a tmpfs on $1"
    mounts="$1 $mounts"
}
# fill DIR [ROOM]: fill DIR's file system, then give back ROOM bytes.
fill() {
    dd if=/dev/zero of="$1/fill" bs=4096 2>/dev/null
    [ -z "${2:-}" ] || truncate -s "-$2" "$1/fill"
}

require_built "$VERIFY" "$MINT" "$POSTAGED" "$MCLIENT" "$PDCLIENT"
NOW=261206
i=1
while [ $i -le 3000 ]; do echo "1:0:$NOW:foo@example.org::r$i:0"; i=$((i + 1)); done > "$TMP/stamps"

# ---- 1. LMDB spend store, postage-verify ----------------------------------
# LMDB reports a write cut short by the full disk as EIO, one that wrote
# nothing as ENOSPC: which one depends on the room left, so try several.
mnt "$TMP/full1" 512k
for room in 4096 8192 16384 65536; do
    rm -rf "$TMP/full1/db" "$TMP/full1/fill"
    "$VERIFY" --db "$TMP/full1/db" --create < /dev/null || fail "creating the store"
    fill "$TMP/full1" $room
    run_capture "$VERIFY" -b 0 --now $NOW --db "$TMP/full1/db" < "$TMP/stamps"
    expect_eq "disk full ($room bytes left): exit status" 2 "$rc"
    case $err in *"$TMP/full1/db/data.mdb: recording a spent stamp: No space left on device (disk full)"*) ;;
        *) fail "disk full ($room bytes left): the error does not say so: $err" ;; esac
    printf '%s\n' "$out" | sed -n 's/ ok$//p' > "$TMP/ok1"
    n=$(wc -l < "$TMP/ok1" | tr -d ' ')
    next=$(sed -n "$((n + 1))p" "$TMP/stamps")
    rm -f "$TMP/full1/fill"
    run_capture "$VERIFY" -b 0 --now $NOW --db "$TMP/full1/db" $(cat "$TMP/ok1") "$next"
    { sed 's/$/ spent/' "$TMP/ok1"; echo "$next ok"; } > "$TMP/want1"
    expect_eq "disk full ($room bytes left): the $n stamps said ok are spent, the refused one is not" \
        "$(cat "$TMP/want1")" "$out"
done

# ---- 2. postaged: spend store full, then state store full -----------------
mnt "$TMP/full2" 256k
mkdir -p "$TMP/full2/state/policy"
mnt "$TMP/full2/state/policy" 256k
PORT=$("$PDCLIENT" --free-port)
MPORT=$("$PDCLIENT" --free-port)
while [ "$MPORT" = "$PORT" ]; do MPORT=$("$PDCLIENT" --free-port); done
postaged_conf "policy_listen=inet:127.0.0.1:$PORT" "milter_listen=inet:127.0.0.1:$MPORT" \
    "store=lmdb:$TMP/full2/state" hostname=diskfull.test postage=yes price_base=8 \
    greylist_delay=1h spf=no helo_checks=no price_allowance=1000000 on_error=tempfail
"$POSTAGED" -c "$TMP/postaged.conf" -f 2> "$TMP/postaged.log" &
pd_pid=$!
kill_at_exit "$pd_pid"
{ wait_listen "$MPORT" 10 "$pd_pid" && wait_listen "$PORT" 10 "$pd_pid"; } ||
    { fail "postaged did not start: $(cat "$TMP/postaged.log")"; finish; }
TAB=$(printf '\t')
# 400 stamped messages for bob, one connection.
set --
i=0
while [ $i -lt 400 ]; do set -- "$@" bob@example.org; i=$((i + 1)); done
"$MINT" -b 8 -X "$@" | sed "s/^/bob@example.org${TAB}Subject: m${TAB}/" > "$TMP/m.in" ||
    fail "minting"
head -n 1 "$TMP/m.in" > "$TMP/m1.in"
"$MCLIENT" --connect "inet:127.0.0.1:$MPORT" "$TMP/m1.in" > "$TMP/m1.out" 2>&1
case $(awk -F '\t' '$1 == 1 { print $2; exit }' "$TMP/m1.out") in accept | continue) ;;
    *) fail "a stamped message before the disk filled: $(cat "$TMP/m1.out")" ;; esac
fill "$TMP/full2"
"$MCLIENT" --connect "inet:127.0.0.1:$MPORT" "$TMP/m.in" > "$TMP/m.out" 2>&1
tf=$(awk -F '\t' '$2 == "tempfail" && $3 ~ /^451 4\.3\.0/' "$TMP/m.out" | wc -l | tr -d ' ')
[ "$tf" -gt 0 ] || fail "spend store full: no 451 4.3.0 from the milter: $(tail -n 3 "$TMP/m.out")"
grep -q "double-spend store failed ($TMP/full2/state/data.mdb: recording a spent stamp: No space left on device (disk full))" \
    "$TMP/postaged.log" ||
    fail "spend store full: the log lacks the reason: $(grep 'store failed' "$TMP/postaged.log" | tail -n 2)"
kill -0 "$pd_pid" 2>/dev/null || fail "postaged died with the spend store full"

fill "$TMP/full2/state/policy"
i=1 got=
while [ $i -le 300 ]; do
    got=$(printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nclient_address=198.51.100.%s\nclient_name=mx.example.net\nhelo_name=mx.example.net\nsender=s%s@example.net\nrecipient=bob@example.org\ninstance=i%s\n\n' \
        $((i % 250 + 1)) "$i" "$i" | "$PDCLIENT" "$PORT" --expect 1 | head -n 1)
    [ "$got" = "action=451 4.3.0 Temporary policy failure, please retry" ] && break
    i=$((i + 1))
done
expect_eq "state store full: the policy answer" \
    "action=451 4.3.0 Temporary policy failure, please retry" "$got"
grep "failed ($TMP/full2/state/policy/data.mdb: " "$TMP/postaged.log" |
    grep -q "No space left on device" ||
    fail "state store full: the log lacks the reason: $(grep 'failed (' "$TMP/postaged.log" | tail -n 2)"
kill -0 "$pd_pid" 2>/dev/null || fail "postaged died with the state store full"
kill "$pd_pid" 2>/dev/null
wait "$pd_pid" 2>/dev/null

# ---- 3. Redis with its append-only file on a full tmpfs -------------------
if command -v redis-server > /dev/null; then
    . "${top_srcdir:-.}/tests/lib/redis_harness.sh"
    mnt "$TMP/full3" 1m
    # Its own server: "dir" cannot be changed at run time (Redis 7).
    RPORT=$(free_port)
    redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$TMP/full3" --save '' \
        --appendonly yes --appendfsync everysec --daemonize no > "$TMP/redis.log" 2>&1 &
    kill_at_exit $!
    wait_listen "$RPORT" 10 $! || fail "redis did not start: $(cat "$TMP/redis.log")"
    SPEC="redis://127.0.0.1:$RPORT/0"
    fill "$TMP/full3"
    run_capture "$VERIFY" -b 0 --now $NOW --db "$SPEC" < "$TMP/stamps"
    expect_eq "redis, disk full: exit status" 2 "$rc"
    case $err in *MISCONF*|*"No space left"*) ;;
        *) fail "redis, disk full: the error does not say so: $err" ;; esac
    n=$(printf '%s\n' "$out" | grep -c ' ok$')
    [ "$n" -lt 3000 ] || fail "redis, disk full: every stamp passed"
else
    echo "redis-server is not installed: the Redis part is skipped" >&2
fi

# ---- 4. a read-only store ---------------------------------------------------
mnt "$TMP/ro" 1m
"$VERIFY" --db "$TMP/ro/db" --create < /dev/null || fail "creating the store"
mount -o remount,ro "$TMP/ro" || fail "cannot remount $TMP/ro read-only"
run_capture "$VERIFY" -b 0 --now $NOW --db "$TMP/ro/db" "1:0:$NOW:foo@example.org::ro:0"
expect_eq "read-only store: exit status" 2 "$rc"
case $err in *"$TMP/ro/db"*"Read-only file system"*) ;;
    *) fail "read-only store: the error does not say so: $err" ;; esac
case $out in *" ok"*) fail "read-only store: a stamp passed: $out" ;; esac
sed "s|^store = .*|store = lmdb:$TMP/ro/db|" "$TMP/postaged.conf" > "$TMP/ro.conf"
# postaged starts on it all the same (a store it cannot open is a store
# that is down, issue 16), says why once per store, and answers on_error.
"$POSTAGED" -c "$TMP/ro.conf" -f 2> "$TMP/ro.log" &
ro_pid=$!
kill_at_exit "$ro_pid"
if { wait_listen "$MPORT" 10 "$ro_pid" && wait_listen "$PORT" 10 "$ro_pid"; }; then
    got=$(printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nclient_address=198.51.100.1\nclient_name=mx.example.net\nhelo_name=mx.example.net\nsender=ro@example.net\nrecipient=bob@example.org\ninstance=ro1\n\n' |
        "$PDCLIENT" "$PORT" --expect 1 | head -n 1)
    expect_eq "read-only store: the policy answer" \
        "action=451 4.3.0 Temporary policy failure, please retry" "$got"
    kill -0 "$ro_pid" 2>/dev/null || fail "postaged died on a read-only store"
    for store in "spent-stamp store" "state store"; do
        n=$(grep -c "error: $store down: .*$TMP/ro/db.*Read-only file system" "$TMP/ro.log")
        expect_eq "read-only store: '$store down ... Read-only file system' logged" 1 "$n"
    done
    kill "$ro_pid" 2>/dev/null
    wait "$ro_pid" 2>/dev/null
else
    fail "postaged on a read-only store did not start: $(cat "$TMP/ro.log")"
fi

finish
