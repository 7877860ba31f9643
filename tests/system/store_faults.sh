#!/bin/sh
# store_faults.sh - a damaged, lost or replaced LMDB store is refused, never
# crashed on and never started over (issue 16, defects 2 and 3).
#
# postage-verify, on a store of 2,000 spent stamps whose data.mdb is then
#   truncated to 8 KiB, emptied, removed, overwritten (3 pages in the
#   middle with random bytes, with zeros; the meta pages) or replaced by
#   another store's: exit status 2, an error naming DIR/data.mdb and what is
#   wrong with it, and never "ok" for a stamp the store had spent; --create
#   does not start a lost store over.
# postaged, with its policy port and its milter, while running: the spend
#   store's data.mdb truncated, emptied, removed or replaced, then the state
#   store's: the milter answers a stamped message with on_error (451 4.3.0),
#   the policy port answers with on_error too, the log names the file and
#   the reason once, and the daemon is still alive.  At its next start on
#   the damaged store it starts all the same (issue 16: it must not
#   refuse): it stays up, logs exactly one error line naming the file and
#   what is wrong, answers each request that needs that store with
#   on_error's action (the default, tempfail, and on_error = dunno, to
#   show it is the setting that answers), the other store's requests as
#   usual, and leaves data.mdb and the marker as they were: a lost store
#   is never made anew.
. "${top_srcdir:-.}/tests/lib/testlib.sh"

require_built "$VERIFY" "$MINT" "$POSTAGED" "$MCLIENT" "$PDCLIENT"

NOW=261206
stamp() { echo "1:0:$NOW:foo@example.org::r$1:0"; }
i=1
while [ $i -le 2000 ]; do stamp $i; i=$((i + 1)); done > "$TMP/stamps"

# A pristine store of 2,000 spent stamps, and another store.
"$VERIFY" -b 0 --now $NOW --db "$TMP/pristine" --create < "$TMP/stamps" > /dev/null ||
    { fail "making the store"; finish; }
"$VERIFY" -b 0 --now $NOW --db "$TMP/other" --create "$(stamp other)" > /dev/null ||
    { fail "making the other store"; finish; }
pages=$(( $(wc -c < "$TMP/pristine/data.mdb") / 4096 ))
[ "$pages" -ge 16 ] || { fail "the store has only $pages pages"; finish; }

# damaged NAME PATTERN [--create]: postage-verify on $TMP/NAME refuses it:
# exit 2, DIR/data.mdb and PATTERN in the error, no stamp said ok.
damaged() {
    _d=$TMP/$1 _p=$2; shift 2
    run_capture "$VERIFY" -b 0 --now $NOW --db "$_d" "$@" "$(stamp 1)" "$(stamp 1000)" \
        "$(stamp fresh)"
    expect_eq "$(basename "$_d") $*: exit status" 2 "$rc"
    case $err in *"$_d/data.mdb"*"$_p"*) ;;
        *) fail "$(basename "$_d") $*: the error lacks '$_d/data.mdb ... $_p': $err" ;; esac
    case $out in *" ok"*) fail "$(basename "$_d") $*: a stamp passed: $out" ;; esac
}
fresh() { rm -rf "$TMP/$1"; cp -R "$TMP/pristine" "$TMP/$1"; }

# The pristine store answers "spent" for its stamps.
run_capture "$VERIFY" -b 0 --now $NOW --db "$TMP/pristine" "$(stamp 1)" "$(stamp 2000)"
expect_eq "pristine store" "$(stamp 1) spent
$(stamp 2000) spent/1" "$out/$rc"

fresh truncated; dd if=/dev/null of="$TMP/truncated/data.mdb" bs=8192 seek=1 2>/dev/null
damaged truncated "truncated"
fresh emptied; : > "$TMP/emptied/data.mdb"
damaged emptied "is empty"
damaged emptied "is empty" --create
fresh removed; rm "$TMP/removed/data.mdb"
damaged removed "is missing"
damaged removed "is missing" --create
mid=$((pages / 2))
fresh random; dd if=/dev/urandom of="$TMP/random/data.mdb" bs=4096 seek=$mid count=3 \
    conv=notrunc 2>/dev/null
damaged random "is damaged"
fresh zeros; dd if=/dev/zero of="$TMP/zeros/data.mdb" bs=4096 seek=$mid count=3 \
    conv=notrunc 2>/dev/null
damaged zeros "is damaged"
fresh meta; dd if=/dev/urandom of="$TMP/meta/data.mdb" bs=4096 count=2 conv=notrunc 2>/dev/null
damaged meta "MDB_INVALID"
fresh replaced; cp "$TMP/other/data.mdb" "$TMP/replaced/data.mdb"
damaged replaced "was replaced"
damaged replaced "was replaced" --create
# A store whose marker went missing names itself again (it is whole).
fresh unmarked; rm "$TMP/unmarked/postage-store-id"
run_capture "$VERIFY" -b 0 --now $NOW --db "$TMP/unmarked" "$(stamp 1)"
expect_eq "marker removed: the whole store still knows its stamps" "$(stamp 1) spent/1" \
    "$out/$rc"
cmp -s "$TMP/pristine/postage-store-id" "$TMP/unmarked/postage-store-id" ||
    fail "marker removed: not written back with the store's own id"

# ---- postaged -------------------------------------------------------------

PORT=$("$PDCLIENT" --free-port)
MPORT=$("$PDCLIENT" --free-port)
while [ "$MPORT" = "$PORT" ]; do MPORT=$("$PDCLIENT" --free-port); done
postaged_conf "policy_listen=inet:127.0.0.1:$PORT" "milter_listen=inet:127.0.0.1:$MPORT" \
    hostname=store-faults.test postage=yes price_base=8 greylist_delay=1h spf=no \
    helo_checks=no price_allowance=1000000
# on_error at its default (tempfail), and set to dunno.
cp "$TMP/postaged.conf" "$TMP/dunno.conf"
echo "on_error = dunno" >> "$TMP/dunno.conf"
TEMPFAIL_ANSWER="action=451 4.3.0 Temporary policy failure, please retry"

pd_pid=
# start_postaged [CONF [LOG]]
start_postaged() {
    "$POSTAGED" -c "${1:-$TMP/postaged.conf}" -f 2> "${2:-$TMP/postaged.log}" &
    pd_pid=$!
    kill_at_exit "$pd_pid"
    wait_listen "$MPORT" 10 "$pd_pid" && wait_listen "$PORT" 10 "$pd_pid"
}
stop_postaged() {
    kill "$pd_pid" 2>/dev/null
    wait "$pd_pid" 2>/dev/null
}
# milter N: one stamped message for bob (a fresh stamp each time); sets
# $action and $reply.
milter() {
    _s=$("$MINT" -b 8 -X bob@example.org) || fail "postage-mint failed"
    printf 'bob@example.org\tSubject: %s\t%s\n' "$1" "$_s" > "$TMP/m.in"
    "$MCLIENT" --connect "inet:127.0.0.1:$MPORT" "$TMP/m.in" > "$TMP/m.out" 2> "$TMP/m.err"
    action=$(awk -F '\t' '$1 == 1 { print $2; exit }' "$TMP/m.out")
    reply=$(awk -F '\t' '$1 == 1 { print $3; exit }' "$TMP/m.out")
}
policy() {
    printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nclient_address=192.0.2.%s\nclient_name=mx.example.net\nhelo_name=mx.example.net\nsender=a%s@example.net\nrecipient=bob@example.org\ninstance=i%s\n\n' \
        "$1" "$1" "$1" | "$PDCLIENT" "$PORT" --expect 1 | head -n 1
}

# restart WHAT STORE-DIR KIND PATTERN CONF: start postaged with CONF on
# the store damaged by fault (STORE-DIR/data.mdb), and expect it up, one
# error line "STORE down: STORE-DIR/data.mdb ... PATTERN", on_error's answer
# (CONF's) to what needs that store, and the files left as they were.
restart() {
    _rw="$1 (restart, $(basename "$5"))" _rd=$2 _rk=$3 _rp=$4 _rc=$5
    cp "$_rd/postage-store-id" "$TMP/marker.before"
    rm -f "$TMP/data.before"
    [ -e "$_rd/data.mdb" ] && cp "$_rd/data.mdb" "$TMP/data.before"
    case $_rc in *dunno*) _rm=dunno ;; *) _rm=tempfail ;; esac
    if ! start_postaged "$_rc" "$TMP/restart.log"; then
        fail "$_rw: postaged did not start: $(tail -n 5 "$TMP/restart.log")"
        stop_postaged
        return
    fi
    if [ "$_rd" = "$TMP/state/policy" ]; then
        store="state store"
        got=$(policy 10)
        if [ $_rm = tempfail ]; then
            expect_eq "$_rw: policy answer" "$TEMPFAIL_ANSWER" "$got"
        else
            expect_eq "$_rw: policy answer" "action=DUNNO" "$got"
        fi
    else
        store="spent-stamp store"
        # The policy port needs only the state store: it answers as usual.
        got=$(policy 10)
        case $got in "$TEMPFAIL_ANSWER" | "") fail "$_rw: policy answer '$got'" ;; esac
    fi
    # A stamped message needs both stores (its stamp, its greylisting).
    milter "restart"
    if [ $_rm = tempfail ]; then
        expect_eq "$_rw: milter action" tempfail "$action"
        case $reply in "451 4.3.0"*) ;; *) fail "$_rw: milter reply: $reply" ;; esac
    else
        # dunno: the message goes on, and nothing is spent.
        case $action in continue | accept) ;;
            *) fail "$_rw: milter action $action $reply" ;; esac
    fi
    kill -0 "$pd_pid" 2>/dev/null || fail "$_rw: postaged died: $(tail -n 5 "$TMP/restart.log")"
    n=$(grep -c "error: " "$TMP/restart.log")
    expect_eq "$_rw: error lines" 1 "$n"
    n=$(grep -c "error: $store down: .*$_rd/data.mdb.*$_rp" "$TMP/restart.log")
    expect_eq "$_rw: '$store down: ... $_rd/data.mdb ... $_rp' logged" 1 "$n"
    [ "$n" -eq 1 ] || tail -n 8 "$TMP/restart.log" >&2
    stop_postaged
    # Nothing was made anew: the marker and data.mdb (or its absence) stand.
    cmp -s "$TMP/marker.before" "$_rd/postage-store-id" ||
        fail "$_rw: the marker $_rd/postage-store-id changed"
    if [ -e "$TMP/data.before" ]; then
        cmp -s "$TMP/data.before" "$_rd/data.mdb" || fail "$_rw: $_rd/data.mdb changed"
    elif [ -e "$_rd/data.mdb" ]; then
        fail "$_rw: a new $_rd/data.mdb was made over the lost store"
    fi
}

# fault WHAT STORE-DIR KIND PATTERN START-PATTERN DUNNO-KIND: damage
# STORE-DIR/data.mdb while postaged runs, then expect on_error from the
# milter (spend store) or the policy port (state store), one log line
# naming it, a live daemon; then restart on it, with on_error at its
# default, and set to dunno too when KIND is DUNNO-KIND (one kind per
# store: each daemon stop waits a few seconds for libmilter's worker).
fault() {
    _what=$1 _dir=$2 _kind=$3 _pat=$4 _spat=$5
    rm -rf "$TMP/state"
    start_postaged || { fail "$_what: postaged did not start: $(cat "$TMP/postaged.log")"; return; }
    milter "before"
    case $action in accept | continue) ;;
        *) fail "$_what: a stamped message before the damage: $action $reply" ;; esac
    policy 1 > /dev/null
    case $_kind in
        truncated) dd if=/dev/null of="$_dir/data.mdb" bs=8192 seek=1 2>/dev/null ;;
        emptied) : > "$_dir/data.mdb" ;;
        removed) rm "$_dir/data.mdb" ;;
        replaced) cp "$TMP/other/data.mdb" "$_dir/data.mdb.new" &&
                  mv "$_dir/data.mdb.new" "$_dir/data.mdb" ;;
    esac
    if [ "$_dir" = "$TMP/state/policy" ]; then
        for n in 2 3; do
            got=$(policy $n)
            expect_eq "$_what: policy answer $n" "$TEMPFAIL_ANSWER" "$got"
        done
        store="state store"
    else
        for n in 2 3; do
            milter "after $n"
            expect_eq "$_what: milter action $n" tempfail "$action"
            case $reply in "451 4.3.0"*) ;; *) fail "$_what: milter reply $n: $reply" ;; esac
        done
        store="spent-stamp store"
    fi
    kill -0 "$pd_pid" 2>/dev/null || fail "$_what: postaged died: $(tail -n 5 "$TMP/postaged.log")"
    n=$(grep -c "$store down: .*$_dir/data.mdb.*$_pat" "$TMP/postaged.log")
    expect_eq "$_what: '$store down ... $_pat' logged once" 1 "$n"
    [ "$n" -eq 1 ] || tail -n 8 "$TMP/postaged.log" >&2
    stop_postaged
    restart "$_what" "$_dir" "$_kind" "$_spat" "$TMP/postaged.conf"
    if [ "$_kind" = "$6" ]; then
        restart "$_what" "$_dir" "$_kind" "$_spat" "$TMP/dunno.conf"
    fi
}

# POSTAGE_TEST_QUICK=1: one fault per store.  The
# patterns: what the running daemon sees, then what the open at restart
# finds.
kinds="truncated emptied removed replaced" state_kinds="truncated removed"
[ "${POSTAGE_TEST_QUICK:-0}" = 1 ] && kinds="truncated replaced" state_kinds="removed"
for kind in $kinds; do
    case $kind in
        truncated) pat="truncated" spat="truncated" ;;
        emptied) pat="truncated" spat="is empty" ;;
        removed) pat="removed" spat="is missing" ;;
        replaced) pat="replaced" spat="was replaced" ;;
    esac
    fault "spend store $kind" "$TMP/state" "$kind" "$pat" "$spat" replaced
done
for kind in $state_kinds; do
    case $kind in
        truncated) pat="truncated" spat="truncated" ;;
        removed) pat="removed" spat="is missing" ;;
    esac
    fault "state store $kind" "$TMP/state/policy" "$kind" "$pat" "$spat" removed
done

finish
