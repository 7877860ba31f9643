# testlib.sh - the shell toolkit of the system tests (sourced, not run;
# POSIX sh: works under dash and bash).  The harnesses beside it
# (postfix_harness.sh, redis_harness.sh, dns_harness.sh,
# postaged_harness.sh) are built on it and sourced after it.
#
# Every test gets a private temporary directory, $TMP, removed on exit
# whatever happens (KEEP_TMP=1 keeps it); failures print what was expected
# and what came, and exit 1.  Exit status 77 tells the automake test driver
# the test was skipped.
#
#   $MINT $VERIFY $POSTAGED $REPUTATION  the programs under test
#   $MCLIENT $PDCLIENT          the milter and policy-protocol clients
#                               (tests/system/milter_client.c, pd_client.c)
#   fail MSG                    count a failure (the test goes on)
#   skip MSG                    skip the test (exit 77)
#   finish                      exit 1 if anything failed, else 0
#   expect_eq WHAT EXPECTED ACTUAL
#   run_capture CMD...          sets $out (stdout), $err (stderr), $rc
#   require_hashcash            skip unless hashcash 1.22 is installed
#   require_built PROG...       fail the test (never skip it) when a program
#                               that `make check` builds is missing
#   require_stdbuf              skip without stdbuf(1); let it preload its
#                               library under a sanitizer build too
#   at_exit CMD                 run the shell command CMD at exit, pass or
#                               fail: after the commands added later,
#                               before those added earlier and before $TMP
#                               is removed; the test's exit status is kept
#   kill_at_exit PID...         terminate these processes at exit (TERM, up
#                               to 2 s each, then KILL); a process that has
#                               ended by then is left alone, even when its
#                               PID has been given to another process
#   watchdog CMD                run CMD in the background once this test
#                               shell has died WITHOUT its EXIT trap
#                               (SIGKILL, e.g. a hard timeout); sets
#                               WATCHDOG_PID (kill it when CMD is moot)
#   free_port [HOST]            print a TCP port nobody listens on now
#                               (default 127.0.0.1; the kernel picks it)
#   free_port --udp             the same, free for UDP too, on 127.0.0.1
#   listening PORT              true if a TCP socket (v4 or v6) is in LISTEN
#                               state on PORT
#   wait_listen PORT [TIMEOUT [PID]]
#                               wait (default 10 s) until something listens
#                               on TCP PORT; status 1 on timeout, 2 as soon
#                               as process PID (if given) has died
#   nap SECONDS                 sleep, in fractions where sleep(1) can
#   wait_policy_answer PORT LOG wait (up to 5 s) until postaged answers a
#                               policy request on PORT; else fail the test,
#                               showing LOG, and finish
#   postaged_conf [-o FILE] KEY=VALUE...
#                               write a postaged.conf (default
#                               $TMP/postaged.conf): the common base (see
#                               there), a KEY given replacing the base's
#                               line, the others appended in order as
#                               "KEY = VALUE" lines (a KEY given twice is
#                               written twice: access rules and whitelists
#                               are lists)
set -u

: "${top_builddir:=.}"
: "${top_srcdir:=.}"
# The programs under test and the helper programs `make check` builds.
MINT="$top_builddir/postage-mint"
VERIFY="$top_builddir/postage-verify"
POSTAGED="$top_builddir/postaged"
REPUTATION="$top_builddir/postage-reputation"
MCLIENT="$top_builddir/tests/system/milter_client"
PDCLIENT="$top_builddir/tests/system/pd_client"
HASHCASH="${HASHCASH:-$(command -v hashcash || true)}"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/postage-test.XXXXXX") || exit 99
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

skip() {
    echo "SKIP: $*" >&2
    exit 77
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
    if [ "$2" != "$3" ]; then
        fail "$1"
        printf '  expected: %s\n  actual:   %s\n' "$2" "$3" >&2
    fi
}

# run_capture CMD...: sets $out (stdout), $err (stderr), $rc.
run_capture() {
    "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    out=$(cat "$TMP/out")
    err=$(cat "$TMP/err")
}

require_hashcash() {
    [ -n "$HASHCASH" ] && [ -x "$HASHCASH" ] ||
        skip "hashcash 1.22 is not installed (apt-get install hashcash)"
    "$HASHCASH" -V 2>&1 | grep -q '1\.22' ||
        skip "$HASHCASH is not hashcash 1.22"
}

# A program the build should have made is a failure, not a skip: a skip
# would hide a broken build.
require_built() {
    for _tl_prog; do
        [ -x "$_tl_prog" ] || { fail "$_tl_prog is not built"; finish; }
    done
}

require_stdbuf() {
    command -v stdbuf > /dev/null 2>&1 || skip "stdbuf (coreutils) is not installed"
    # stdbuf works by LD_PRELOAD, which a sanitizer build refuses unless told
    # that the preloaded library may come before its runtime
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
    export ASAN_OPTIONS
}

finish() {
    if [ "$failures" -ne 0 ]; then
        echo "$failures check(s) failed" >&2
        exit 1
    fi
    exit 0
}

# --- exit handling: one EXIT trap for the whole test ------------------------
# Harnesses and tests add their clean-ups with at_exit rather than chaining
# traps of their own: the status is read once, first, and given back last.
# (A chained trap once re-read $? after its own clean-up and so turned
# every failure into a pass: tests/system/harness_exit_status.sh.)
_tl_at_exit=
_tl_kill_pids=
_tl_signals=

_tl_on_exit() {
    eval "$_tl_at_exit"
    _tl_at_exit=
    [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap '_tl_rc=$?; _tl_on_exit; exit $_tl_rc' EXIT

at_exit() {
    _tl_at_exit="$1
$_tl_at_exit"
    # from the first clean-up on, fatal signals run the EXIT trap too
    # (dash would not otherwise)
    if [ -z "$_tl_signals" ]; then
        _tl_signals=1
        trap 'exit 129' HUP
        trap 'exit 130' INT
        trap 'exit 143' TERM
    fi
}

nap() { sleep "$1" 2>/dev/null || sleep 1; }

# The start time (in clock ticks since boot) of process PID, or nothing
# when there is no such process.  A PID and its start time name one
# process for good: pid_max is often 32768, and with tests running in
# parallel a PID freed by a process that already exited is soon given to
# another test's process, which a late kill would then hit.
_tl_start_time() {
    sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20
}

# stop_pids PID...: TERM them all, wait up to 2 s for each, then KILL; reap
# those that are our children.  A PID registered with kill_at_exit is
# left alone once it names another process than the one registered.
stop_pids() {
    _tl_live=
    for _tl_p; do
        case $_tl_p in ''|*[!0-9]*) continue ;; esac
        eval "_tl_want=\${_tl_st_$_tl_p:-}"
        if [ -n "$_tl_want" ] && [ "$(_tl_start_time "$_tl_p")" != "$_tl_want" ]; then
            wait "$_tl_p" 2>/dev/null
            continue
        fi
        _tl_live="$_tl_live $_tl_p"
    done
    for _tl_p in $_tl_live; do
        kill "$_tl_p" 2>/dev/null
    done
    for _tl_p in $_tl_live; do
        _tl_i=0
        while kill -0 "$_tl_p" 2>/dev/null && [ $_tl_i -lt 20 ]; do
            nap 0.1; _tl_i=$((_tl_i + 1))
        done
        kill -9 "$_tl_p" 2>/dev/null
        wait "$_tl_p" 2>/dev/null
    done
    return 0
}

kill_at_exit() {
    # shellcheck disable=SC2016
    [ -n "$_tl_kill_pids" ] || at_exit 'stop_pids $_tl_kill_pids; _tl_kill_pids='
    for _tl_p; do
        case $_tl_p in ''|*[!0-9]*) continue ;; esac
        # "gone": the process ended before it was registered, so its PID
        # may already be another's.
        _tl_s=$(_tl_start_time "$_tl_p")
        eval "_tl_st_$_tl_p=\${_tl_s:-gone}"
        _tl_kill_pids="$_tl_kill_pids $_tl_p"
    done
}

# The watchdog's output goes to /dev/null so that it holds neither the test
# driver's log pipe nor a $(...) pipe open.
watchdog() {
    _tl_shell=$$
    (
        trap '' HUP INT
        while kill -0 "$_tl_shell" 2>/dev/null; do
            sleep 1
        done
        eval "$1"
    ) </dev/null >/dev/null 2>&1 &
    WATCHDOG_PID=$!
}

# --- ports --------------------------------------------------------------------

free_port() {
    if [ "${1:-}" = --udp ]; then
        python3 -S - <<'PY'
import socket
for _ in range(50):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port))
    except OSError:
        t.close()
        continue
    u.close()
    t.close()
    print(port)
    break
PY
        return
    fi
    python3 -S - "${1:-127.0.0.1}" <<'PY'
import socket, sys
host = sys.argv[1]
fam = socket.AF_INET6 if ':' in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.bind((host, 0))
print(s.getsockname()[1])
s.close()
PY
}

# Read from /proc/net: no connection is made, so a policy server or milter
# does not see a spurious client.
listening() {
    _tl_hex=$(printf ':%04X' "$1")
    set -- /proc/net/tcp
    [ -r /proc/net/tcp6 ] && set -- "$@" /proc/net/tcp6
    awk -v p="$_tl_hex" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 }
        END { exit !f }' "$@"
}

wait_listen() {
    _tl_end=$(( $(date +%s) + ${2:-10} ))
    while ! listening "$1"; do
        [ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null && return 2
        [ "$(date +%s)" -gt "$_tl_end" ] && return 1
        nap 0.05
    done
    return 0
}

# A request rather than wait_listen: the daemon answers only once its
# store is open and its checks are ready.
wait_policy_answer() {
    _tl_i=0
    until printf 'request=smtpd_access_policy\nprotocol_state=CONNECT\n\n' |
          "$PDCLIENT" "$1" --expect 1 > /dev/null 2>&1; do
        _tl_i=$((_tl_i + 1))
        [ $_tl_i -lt 50 ] || { fail "postaged did not start: $(cat "$2")"; finish; }
        nap 0.1
    done
}

# --- postaged.conf --------------------------------------------------------------
# The base: no listener (each test names its own), the state in $TMP, the
# log on stderr (the tests read it), no privilege drop.
_tl_conf_base="policy_listen= milter_listen= store=lmdb:\$TMP/state log=stderr user="

# _tl_conf_line KEY=VALUE: "KEY = VALUE" ("KEY =" for an empty value).
_tl_conf_line() {
    _tl_v=${1#*=}
    printf '%s =%s\n' "${1%%=*}" "${_tl_v:+ $_tl_v}"
}

postaged_conf() {
    _tl_conf="$TMP/postaged.conf"
    if [ "${1:-}" = -o ]; then
        _tl_conf=$2
        shift 2
    fi
    {
        for _tl_base in $_tl_conf_base; do
            eval "_tl_base=\"$_tl_base\""
            for _tl_a; do
                [ "${_tl_a%%=*}" = "${_tl_base%%=*}" ] && { _tl_base=$_tl_a; break; }
            done
            _tl_conf_line "$_tl_base"
        done
        for _tl_a; do
            case " $_tl_conf_base " in *" ${_tl_a%%=*}="*) continue ;; esac
            _tl_conf_line "$_tl_a"
        done
    } > "$_tl_conf"
}
