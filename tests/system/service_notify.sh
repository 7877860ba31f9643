#!/bin/sh
# service_notify.sh - postaged tells a Type=notify unit what it is doing
# (policy/base/notify.h): READY=1 once it answers policy requests, then on
# SIGHUP RELOADING=1 (with MONOTONIC_USEC) followed by READY=1, and
# STOPPING=1 on SIGTERM, in that order.  systemd's side is played by a
# python3 listener on a unix datagram socket named in $NOTIFY_SOCKET.
# Skipped when postaged was built without libsystemd (then it sends
# nothing by design).
. "${top_srcdir:-.}/tests/lib/testlib.sh"

require_built "$POSTAGED" "$PDCLIENT"
grep -q '^#define HAVE_SYSTEMD 1' "$top_builddir/config.h" ||
    skip "postaged built without libsystemd (configure --with-systemd; Debian libsystemd-dev)"
command -v python3 > /dev/null || skip "python3 not installed"

port=$(free_port)
postaged_conf policy_listen="inet:127.0.0.1:$port"
sock="$TMP/notify.sock"
msgs="$TMP/notify.log"

# The listener: one line per datagram, its fields joined by '|'; it stops
# after STOPPING=1 or 60 s.
python3 - "$sock" > "$msgs" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
try:
    while True:
        m = s.recv(4096).decode("utf-8", "replace").strip("\n")
        print(m.replace("\n", "|"), flush=True)
        if "STOPPING=1" in m.split("\n"):
            break
except socket.timeout:
    pass
PY
listener=$!
kill_at_exit "$listener"
i=0
while [ ! -S "$sock" ] && [ $i -lt 50 ]; do nap 0.1; i=$((i + 1)); done
[ -S "$sock" ] || { fail "the notify listener did not start"; finish; }

NOTIFY_SOCKET=$sock "$POSTAGED" -f -c "$TMP/postaged.conf" 2> "$TMP/postaged.log" &
pid=$!
kill_at_exit "$pid"
wait_policy_answer "$port" "$TMP/postaged.log"

# lines_with FIELD: how many messages so far carry FIELD.
lines_with() { grep -c "\(^\||\)$1\(|\|$\)" "$msgs" || true; }
# wait_for FIELD COUNT: until COUNT messages carry FIELD (10 s).
wait_for() {
    i=0
    while [ "$(lines_with "$1")" -lt "$2" ] && [ $i -lt 100 ]; do nap 0.1; i=$((i + 1)); done
}

wait_for READY=1 1
expect_eq "READY=1 once serving" 1 "$(lines_with READY=1)"
kill -HUP "$pid"
wait_for READY=1 2
# A reload that fails (a configuration it cannot read) ends with READY=1
# all the same, saying so: the daemon runs on, on the old configuration.
echo "no such key = 1" >> "$TMP/postaged.conf"
kill -HUP "$pid"
wait_for READY=1 3
kill -TERM "$pid"
wait "$pid"
expect_eq "postaged exit status on SIGTERM" 0 "$?"
wait "$listener"

# The sequence, field names only.
seq=$(sed -e 's/|.*//' -e 's/=.*//' "$msgs" | tr '\n' ' ')
expect_eq "the notifications in order" "READY RELOADING READY RELOADING READY STOPPING " "$seq"
grep -q '^RELOADING=1|MONOTONIC_USEC=[0-9][0-9]*|' "$msgs" ||
    fail "RELOADING=1 without MONOTONIC_USEC: $(cat "$msgs")"
grep -q "^READY=1|STATUS=serving: policy inet:127.0.0.1:$port," "$msgs" ||
    fail "the first READY=1 does not say what is served: $(cat "$msgs")"
grep -q '^READY=1|STATUS=configuration reloaded$' "$msgs" ||
    fail "the READY=1 after the reload does not say it took: $(cat "$msgs")"
grep -q '^READY=1|STATUS=reload failed; running the previous configuration$' "$msgs" ||
    fail "the READY=1 after a failed reload does not say it failed: $(cat "$msgs")"

finish
