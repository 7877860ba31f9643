# redis_harness.sh - private Redis servers (and a Sentinel) on loopback
# ports for the tests (sourced, not run; POSIX sh, after testlib.sh):
#
#     . "${top_srcdir:-.}/tests/lib/testlib.sh"
#     . "${top_srcdir:-.}/tests/lib/redis_harness.sh"
#     redis_start                       # skips (77) without redis-server
#     "$VERIFY" --db "redis://127.0.0.1:$REDIS_PORT/0" STAMP
#
# Every server runs in the foreground of a background job, without
# persistence (no RDB, no AOF), with its working directory, log and
# configuration under $TMP/redis.PORT, so nothing outside $TMP is read or
# written.  Each process is killed by PID at exit, pass or fail, before
# $TMP is removed (testlib's at_exit); a watchdog also kills them if the test
# shell dies without running its trap (SIGKILL).  The PIDs are kept in a
# file ($TMP/.redis_procs, "PORT PID" lines), not in a variable, so that
# servers started inside $(...) (REPLICA_PORT=$(redis_start_replica P))
# are known to the test shell and killed at its exit as well.
#
# Functions (non-zero status on failure; only the skips exit):
#   redis_start                 start a server on a free port; sets
#                               REDIS_PORT, REDIS_PID, REDIS_SOCKET (a Unix
#                               socket, mode 0700, beside it) and REDIS_LOG.
#                               Skips the test (77) if redis-server is not
#                               installed (apt-get install redis-server).
#   redis_stop [PORT]           stop it (SIGTERM, then SIGKILL), by PID;
#                               default $REDIS_PORT; idempotent
#   redis_restart [PORT]        stop and start again on the same port (and
#                               socket; the data is gone: no persistence);
#                               sets REDIS_PID (for $REDIS_PORT)
#   redis_pid PORT              print the PID of our server on PORT
#   redis_cli PORT ARGS...      redis-cli -h 127.0.0.1 -p PORT ARGS...
#   redis_start_replica MASTER_PORT
#                               start a replica of the server on
#                               MASTER_PORT and wait until it is in sync;
#                               prints its port (for $(...)) and sets
#                               REPLICA_PORT, REPLICA_PID (inside $(...)
#                               they are lost: use redis_pid PORT)
#   sentinel_start MASTER_PORT NAME
#                               start a Sentinel watching that master as
#                               NAME (quorum 1, down-after-milliseconds
#                               1000, failover-timeout 5000) and wait until
#                               it knows the master; prints its port and
#                               sets SENTINEL_PORT, SENTINEL_PID.  Skips
#                               (77) without redis-sentinel.
#
# Ports, waiting for a listener and killing a client or daemon at exit are
# the toolkit's (testlib.sh: free_port, wait_listen, kill_at_exit).

REDIS_PORT='' REDIS_PID='' REDIS_SOCKET='' REDIS_LOG=''
REPLICA_PORT='' REPLICA_PID=''
SENTINEL_PORT='' SENTINEL_PID=''
_redis_trap_installed=

redis_cli() {
    _redis_p=$1
    shift
    redis-cli -h 127.0.0.1 -p "$_redis_p" "$@"
}

# --- the registry of our processes ------------------------------------------

_redis_add() {    # PORT PID
    echo "$1 $2" >> "$TMP/.redis_procs"
}

redis_pid() {     # PORT
    [ -r "$TMP/.redis_procs" ] || return 1
    awk -v p="$1" '$1 == p { pid = $2 } END { if (pid == "") exit 1; print pid }' \
        "$TMP/.redis_procs"
}

_redis_forget() {  # PORT
    [ -r "$TMP/.redis_procs" ] || return 0
    awk -v p="$1" '$1 != p' "$TMP/.redis_procs" > "$TMP/.redis_procs.new"
    mv "$TMP/.redis_procs.new" "$TMP/.redis_procs"
}

_redis_on_exit() {
    [ -r "$TMP/.redis_wd" ] && kill "$(cat "$TMP/.redis_wd")" 2>/dev/null
    # shellcheck disable=SC2046
    [ -r "$TMP/.redis_procs" ] && stop_pids $(awk '{ print $2 }' "$TMP/.redis_procs")
    rm -f "$TMP/.redis_procs" "$TMP/.redis_wd"
}

_redis_install_trap() {
    [ -n "$_redis_trap_installed" ] && return 0
    _redis_trap_installed=1
    at_exit _redis_on_exit
}

# The watchdog: if the test shell ($$, also inside $(...)) dies without
# its EXIT trap, kill every process in the registry.  One per test, known
# by a file so that one started inside $(...) counts too.
_redis_watchdog() {
    [ -e "$TMP/.redis_wd" ] && return 0
    # shellcheck disable=SC2016
    watchdog '[ -r "$TMP/.redis_procs" ] && kill $(awk "{ print \$2 }" "$TMP/.redis_procs")'
    echo "$WATCHDOG_PID" > "$TMP/.redis_wd"
}

_redis_require() {
    : "${TMP:?testlib.sh must be sourced first}"
    command -v redis-server >/dev/null 2>&1 ||
        skip "redis-server is not installed (apt-get install redis-server)"
    command -v redis-cli >/dev/null 2>&1 ||
        skip "redis-cli is not installed (apt-get install redis-tools)"
    command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
    _redis_install_trap
}

# _redis_run PORT PROGRAM CONF: start it in $TMP/redis.PORT, register it,
# wait for the port; sets _redis_launched (the PID).  Status 1 if it did
# not come up (its log goes to stderr).
_redis_run() {
    "$2" "$3" >> "$TMP/redis.$1/stdout" 2>&1 </dev/null &
    _redis_launched=$!
    _redis_add "$1" "$_redis_launched"
    _redis_watchdog
    if ! wait_listen "$1" 10 "$_redis_launched"; then
        echo "$2 on port $1 did not start:" >&2
        cat "$TMP/redis.$1"/*.log "$TMP/redis.$1/stdout" >&2 2>/dev/null
        redis_stop "$1"
        return 1
    fi
    return 0
}

# _redis_launch PORT [EXTRA CONFIG LINE...]: a redis-server on PORT.
_redis_launch() {
    _redis_port=$1
    shift
    _redis_dir="$TMP/redis.$_redis_port"
    mkdir -p "$_redis_dir" || return 1
    {
        echo "port $_redis_port"
        echo "bind 127.0.0.1"
        echo "dir $_redis_dir"
        echo "logfile $_redis_dir/redis.log"
        echo "pidfile $_redis_dir/redis.pid"
        echo "unixsocket $_redis_dir/redis.sock"
        echo "unixsocketperm 700"
        echo "daemonize no"
        echo "save \"\""
        echo "appendonly no"
        echo "protected-mode yes"
        for _redis_line in "$@"; do echo "$_redis_line"; done
    } > "$_redis_dir/redis.conf"
    _redis_run "$_redis_port" redis-server "$_redis_dir/redis.conf"
}

redis_start() {
    _redis_require
    _redis_tries=0
    while :; do
        REDIS_PORT=$(free_port) || return 1
        _redis_launch "$REDIS_PORT" && break
        # lost a race for the port: try another
        _redis_tries=$((_redis_tries + 1))
        [ $_redis_tries -ge 3 ] && return 1
    done
    REDIS_PID=$_redis_launched
    REDIS_SOCKET="$TMP/redis.$REDIS_PORT/redis.sock"
    REDIS_LOG="$TMP/redis.$REDIS_PORT/redis.log"
    return 0
}

redis_stop() {
    _redis_sp=${1:-$REDIS_PORT}
    [ -n "$_redis_sp" ] || return 0
    _redis_spid=$(redis_pid "$_redis_sp") || return 0
    stop_pids "$_redis_spid"
    _redis_forget "$_redis_sp"
    return 0
}

redis_restart() {
    _redis_rp=${1:-$REDIS_PORT}
    [ -n "$_redis_rp" ] && [ -r "$TMP/redis.$_redis_rp/redis.conf" ] || return 1
    redis_stop "$_redis_rp"
    # the configuration file is reused as it is: same port, same socket
    _redis_run "$_redis_rp" redis-server "$TMP/redis.$_redis_rp/redis.conf" || return 1
    [ "$_redis_rp" = "$REDIS_PORT" ] && REDIS_PID=$_redis_launched
    return 0
}

redis_start_replica() {
    _redis_require
    _redis_master=$1
    _redis_tries=0
    while :; do
        REPLICA_PORT=$(free_port) || return 1
        _redis_launch "$REPLICA_PORT" "replicaof 127.0.0.1 $_redis_master" && break
        _redis_tries=$((_redis_tries + 1))
        [ $_redis_tries -ge 3 ] && return 1
    done
    REPLICA_PID=$_redis_launched
    _redis_i=0
    until redis_cli "$REPLICA_PORT" INFO replication 2>/dev/null |
            grep -q '^master_link_status:up'; do
        _redis_i=$((_redis_i + 1))
        if [ $_redis_i -gt 200 ]; then
            echo "replica on $REPLICA_PORT never synced with $_redis_master:" >&2
            cat "$TMP/redis.$REPLICA_PORT/redis.log" >&2
            return 1
        fi
        nap 0.05
    done
    echo "$REPLICA_PORT"
    return 0
}

sentinel_start() {
    _redis_require
    command -v redis-sentinel >/dev/null 2>&1 ||
        skip "redis-sentinel is not installed (apt-get install redis-sentinel)"
    _redis_master=$1 _redis_name=$2
    _redis_tries=0
    while :; do
        SENTINEL_PORT=$(free_port) || return 1
        _redis_dir="$TMP/redis.$SENTINEL_PORT"
        mkdir -p "$_redis_dir" || return 1
        # Sentinel rewrites its configuration file, so it lives in $TMP.
        {
            echo "port $SENTINEL_PORT"
            echo "bind 127.0.0.1"
            echo "dir $_redis_dir"
            echo "logfile $_redis_dir/sentinel.log"
            echo "pidfile $_redis_dir/sentinel.pid"
            echo "daemonize no"
            echo "protected-mode no"
            echo "sentinel monitor $_redis_name 127.0.0.1 $_redis_master 1"
            echo "sentinel down-after-milliseconds $_redis_name 1000"
            echo "sentinel failover-timeout $_redis_name 5000"
            echo "sentinel parallel-syncs $_redis_name 1"
        } > "$_redis_dir/sentinel.conf"
        _redis_run "$SENTINEL_PORT" redis-sentinel "$_redis_dir/sentinel.conf" && break
        _redis_tries=$((_redis_tries + 1))
        [ $_redis_tries -ge 3 ] && return 1
    done
    SENTINEL_PID=$_redis_launched
    _redis_i=0
    until redis_cli "$SENTINEL_PORT" SENTINEL get-master-addr-by-name "$_redis_name" \
            2>/dev/null | grep -qx "$_redis_master"; do
        _redis_i=$((_redis_i + 1))
        if [ $_redis_i -gt 200 ]; then
            echo "sentinel on $SENTINEL_PORT does not know $_redis_name:" >&2
            cat "$TMP/redis.$SENTINEL_PORT/sentinel.log" >&2
            return 1
        fi
        nap 0.05
    done
    echo "$SENTINEL_PORT"
    return 0
}

# Installed when sourced (after testlib.sh), so that servers first started
# inside $(...) are still killed at the test shell's exit.
if [ -n "${TMP:-}" ] && [ -d "$TMP" ]; then
    _redis_install_trap
fi
