#!/bin/bash
# policy_vs_postgrey.sh - postaged beside postgrey on one greylisting
# workload over the Postfix policy protocol on loopback: requests per
# second and latency percentiles, closed loop with 1, 4 and 16 connections,
# then a throughput curve (latency against offered load, open loop, 16
# connections).  A benchmark, never part of `make check`; the figures
# depend on the machine and nothing is asserted.
#
# Usage: bench/policy_vs_postgrey.sh [--quick] [--duration S]
#            [--stores "disk tmpfs"] [--results FILE]
#   top_builddir  where postaged and bench/policy_load were built
#                 (default: the source tree); nothing is built here.
#   POSTGREY      the postgrey program (default: postgrey on $PATH, or
#                 /usr/sbin/postgrey).
#   --stores      where both servers keep their state: "disk" ($TMPDIR or
#                 /tmp; each greylisting update is one fsync in both),
#                 "tmpfs" (/dev/shm: fsync costs nothing, so this shows
#                 what the servers cost without the disk).  Default both.
#   --duration    seconds measured per run (default 3; 0.5 s of warm-up
#                 comes on top).  --quick: 1 s runs, for a smoke check.
#   --results     the curve as CSV (default bench/results/policy_curve.csv
#                 in the source tree; the directory is created).
#   --greylist-only  postaged with spf = no and helo_checks = no: only the
#                 greylisting postgrey does, and no DNS lookups, so that a
#                 slow or rate-limiting name server is not what is measured
#                 (by default postaged runs its default checks, SPF and HELO
#                 included, against the system's name servers).
#
# Each server gets a fresh state directory, its default greylisting (300 s
# delay, so every answer of the run is a deferral) and its own loopback
# port; postaged runs in the foreground as the invoking user, logging to a
# file, and so does postgrey.  Every process started here is stopped by PID
# on exit, pass or fail.  The load generator (policy_load, one thread)
# shares the machine's cores with the server it measures.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=$(cd "$here/.." && pwd)
top_builddir=${top_builddir:-$top_srcdir}
POSTAGED="$top_builddir/postaged"
LOAD="$top_builddir/bench/policy_load"
PD_CLIENT="$top_builddir/tests/system/pd_client"
POSTGREY=${POSTGREY:-$(command -v postgrey 2>/dev/null || echo /usr/sbin/postgrey)}
RESULTS="$top_srcdir/bench/results/policy_curve.csv"
DURATION=3
WARMUP=0.5
STORES="disk tmpfs"
GREYLIST_ONLY=0
CLOSED_CONNS="1 4 16"
OPEN_CONNS=16
RATES="500 1000 2000 5000 10000 20000"

die() { echo "policy_vs_postgrey: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case $1 in
    --quick) DURATION=1; WARMUP=0.2; RATES="500 2000 5000 20000" ;;
    --duration) [ $# -ge 2 ] || die "--duration needs a value"; DURATION=$2; shift ;;
    --stores) [ $# -ge 2 ] || die "--stores needs a value"; STORES=$2; shift ;;
    --results) [ $# -ge 2 ] || die "--results needs a value"; RESULTS=$2; shift ;;
    --greylist-only) GREYLIST_ONLY=1 ;;
    -h|--help) sed -n '2,34p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (try --help)" ;;
    esac
    shift
done

[ -x "$POSTAGED" ] || die "$POSTAGED is missing: build first (make), or set top_builddir"
[ -x "$LOAD" ] || die "$LOAD is missing: build it first (make bench/policy_load), or set top_builddir"
[ -x "$POSTGREY" ] || die "postgrey not found (install the postgrey package, or set POSTGREY)"
case $DURATION in ''|*[!0-9.]*) die "bad --duration: $DURATION" ;; esac
for s in $STORES; do
    case $s in disk|tmpfs) ;; *) die "unknown store $s (disk or tmpfs)" ;; esac
done

# --- processes and temporary directories: all removed on exit ----------
pids=()
tmpdirs=()
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    pids=()
    [ ${#tmpdirs[@]} -eq 0 ] || rm -rf "${tmpdirs[@]}"
}
trap cleanup EXIT
trap 'echo "policy_vs_postgrey: interrupted" >&2; exit 130' INT TERM

stop_pid() {
    local p=$1 keep=() q
    kill "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    for q in "${pids[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done
    pids=("${keep[@]}")
}

# A loopback port nobody listens on (tests/system/pd_client asks the kernel; else
# try random ports until a connect is refused).
free_port() {
    if [ -x "$PD_CLIENT" ]; then
        "$PD_CLIENT" --free-port && return
    fi
    local p i
    for i in $(seq 200); do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
    die "no free loopback port found"
}

# Does a policy server answer on this port?
answers() {
    local line=
    exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
    printf 'request=smtpd_access_policy\nprotocol_state=CONNECT\n\n' >&3
    IFS= read -r -t 2 line <&3
    exec 3<&- 3>&-
    case $line in action=*) return 0 ;; esac
    return 1
}

# wait_ready PID PORT LOG NAME: bounded (10 s).
wait_ready() {
    local i
    for i in $(seq 100); do
        answers "$2" 2>/dev/null && return 0
        kill -0 "$1" 2>/dev/null || { cat "$3" >&2; die "$4 exited at startup (log above)"; }
        sleep 0.1
    done
    cat "$3" >&2
    die "$4 did not answer on 127.0.0.1:$2 within 10 s"
}

# --- one server under load -------------------------------------------
# run_load STORE SERVER PORT ARGS...: one policy_load run, its CSV row
# (prefixed with store and server) appended to $RESULTS, echoed too.
run_load() {
    local store=$1 server=$2 port=$3 row
    shift 3
    row=$("$LOAD" --port "$port" --duration "$(awk "BEGIN { print $DURATION + $WARMUP }")" \
          --warmup "$WARMUP" --timeout 2000 --seed 42 --csv "$@") ||
        echo "policy_vs_postgrey: $server: policy_load failed ($*)" >&2
    [ -n "$row" ] || return 1
    echo "$store,$server,$row" >> "$RESULTS"
    echo "$store,$server,$row"
}

# measure STORE SERVER PORT: closed loop, then the open-loop curve.  For
# postgrey the offered rate stops rising once it falls behind (achieved
# below 90% of offered); postaged gets every rate.
measure() {
    local store=$1 server=$2 port=$3 c r row achieved
    for c in $CLOSED_CONNS; do
        row=$(run_load "$store" "$server" "$port" --conns "$c") || true
        printf '  %-8s closed loop %2s conn: %s\n' "$server" "$c" "$(summ "$row")"
    done
    for r in $RATES; do
        row=$(run_load "$store" "$server" "$port" --conns "$OPEN_CONNS" --rate "$r") || true
        printf '  %-8s open loop %5s/s:   %s\n' "$server" "$r" "$(summ "$row")"
        achieved=$(echo "$row" | cut -d, -f10)
        if [ "$server" = postgrey ] &&
           awk -v a="${achieved:-0}" -v r="$r" 'BEGIN { exit !(a < 0.9 * r) }'; then
            echo "  postgrey cannot keep up with $r req/s (achieved ${achieved:-0}): higher rates not run"
            break
        fi
    done
}

# One human line from a CSV row.
summ() {
    [ -n "$1" ] || { echo "(no result)"; return; }
    echo "$1" | awk -F, '{ printf "%9.1f req/s  p50 %7.3f  p99 %8.3f ms  errors %s  unsent %s  client lag p99 %s ms", $10, $11, $13, $8, $9, $17 }'
}

start_postaged() {   # DIR PORT -> sets spid
    cat > "$1/postaged.conf" <<EOF
policy_listen = inet:127.0.0.1:$2
milter_listen =
store = lmdb:$1/state
log = stderr
user =
EOF
    [ "$GREYLIST_ONLY" = 1 ] && printf 'spf = no\nhelo_checks = no\n' >> "$1/postaged.conf"
    "$POSTAGED" -c "$1/postaged.conf" -f 2> "$1/postaged.log" &
    spid=$!
    pids+=("$spid")
    wait_ready "$spid" "$2" "$1/postaged.log" postaged
}

start_postgrey() {   # DIR PORT -> sets spid
    mkdir -p "$1/pg"
    # Foreground (logs to stderr), as the invoking user: postgrey's default
    # --user/--group postgrey would need a db dir owned by that user.
    "$POSTGREY" --inet="127.0.0.1:$2" --dbdir="$1/pg" --pidfile="$1/postgrey.pid" \
        --delay=300 --user="$(id -un)" --group="$(id -gn)" 2> "$1/postgrey.log" &
    spid=$!
    pids+=("$spid")
    wait_ready "$spid" "$2" "$1/postgrey.log" postgrey
}

# --- the table of one store, from the CSV ----------------------------
table() {
    local store=$1
    awk -F, -v store="$store" '
    $1 == store {
        key = ($3 == "closed") ? sprintf("closed loop, %2d conn", $4) : sprintf("open, %6d req/s offered", $5)
        if (!(key in seen)) { seen[key] = 1; order[++n] = key }
        v[key, $2] = sprintf("%9.1f %8.3f %8.3f", $10, $11, $13)
    }
    END {
        printf "  %-27s | %-9s %9s %8s %8s | %-9s %9s %8s %8s\n", "load", "postaged", "req/s", "p50 ms", "p99 ms", "postgrey", "req/s", "p50 ms", "p99 ms"
        for (i = 1; i <= n; i++) {
            k = order[i]
            a = ((k, "postaged") in v) ? v[k, "postaged"] : sprintf("%27s", "not run")
            b = ((k, "postgrey") in v) ? v[k, "postgrey"] : sprintf("%27s", "not run (fell behind)")
            printf "  %-27s | %9s %s | %9s %s\n", k, "", a, "", b
        }
    }' "$RESULTS"
}

verdicts() {
    local store=$1
    awk -F, -v store="$store" '
    $1 == store && $3 == "closed" {
        if ($10 > best[$2]) { best[$2] = $10; bc[$2] = $4 }
    }
    $1 == store && $2 == "postaged" && $3 == "open" && $5 == 5000 { p99 = $13; ach = $10; unsent = $9; seen5k = 1 }
    END {
        if (best["postgrey"] > 0 && best["postaged"] > 0) {
            r = best["postaged"] / best["postgrey"]
            printf "  throughput, best closed loop: postaged %.1f req/s (%d conn), postgrey %.1f req/s (%d conn): ratio %.1fx (target >= 20x: %s)\n",
                best["postaged"], bc["postaged"], best["postgrey"], bc["postgrey"], r, (r >= 20 ? "met" : "NOT met")
        }
        if (seen5k)
            printf "  postaged at 5000 req/s offered: achieved %.1f req/s, p99 %.3f ms (target < 2 ms: %s)\n",
                ach, p99, (p99 < 2 && ach >= 4500) ? "met" : "NOT met"
    }' "$RESULTS"
}

# --- main ----------------------------------------------------------------
mkdir -p "$(dirname "$RESULTS")" || die "cannot create $(dirname "$RESULTS")"
echo "store,server,$("$LOAD" --csv-header)" > "$RESULTS" || die "cannot write $RESULTS"

echo "postaged $("$POSTAGED" -V 2>&1 | head -n 1) beside $("$POSTGREY" --version 2>&1 | head -n 1)"
echo "machine: $(nproc) cores, $(uname -sr), load average$(cut -d' ' -f1-3 /proc/loadavg | sed 's/^/ /')"
echo "note: load generator and server share these $(nproc) cores (and any other work on the machine):"
echo "      throughput is of server + client together; 'client lag' is the generator's own delay."
echo "workload: greylisting, triplets from 1M client addresses x 100k senders x 10k recipients,"
echo "      20% repeats of a recent triplet, seed 42; every answer is a deferral (300 s delay);"
echo "      ${DURATION} s measured per run after ${WARMUP} s warm-up, per-request timeout 2 s;"
echo "      curve: open loop, $OPEN_CONNS connections, latency from each request's due time."
[ "$GREYLIST_ONLY" = 1 ] && echo "      postaged: greylisting only (spf = no, helo_checks = no: no DNS lookups)."

for store in $STORES; do
    case $store in
    disk)
        base=$(mktemp -d "${TMPDIR:-/tmp}/policy_bench.XXXXXX") || die "mktemp failed"
        ;;
    tmpfs)
        if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" != tmpfs ]; then
            echo "== state on tmpfs: skipped (/dev/shm is not a tmpfs)"
            continue
        fi
        base=$(mktemp -d /dev/shm/policy_bench.XXXXXX) || die "mktemp failed"
        ;;
    esac
    tmpdirs+=("$base")
    fstype=$(df -PT "$base" 2>/dev/null | awk 'NR == 2 { print $2 }')
    echo
    echo "== state on $store ($base, $fstype)"
    for server in postaged postgrey; do
        mkdir -p "$base/$server"
        port=$(free_port)
        if [ "$server" = postaged ]; then
            start_postaged "$base/$server" "$port"
        else
            start_postgrey "$base/$server" "$port"
        fi
        measure "$store" "$server" "$port"
        stop_pid "$spid"
    done
    echo
    table "$store"
    verdicts "$store"
    rm -rf "$base"
done
echo
echo "load average at the end:$(cut -d' ' -f1-3 /proc/loadavg | sed 's/^/ /')"
echo "curve written to $RESULTS"
