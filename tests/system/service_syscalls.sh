#!/bin/sh
# service_syscalls.sh - every system call postaged makes while starting,
# answering a policy request, reloading (SIGHUP) and stopping (SIGTERM) is
# one that postaged.service lets through: in SystemCallFilter=@system-service
# and not in the ~@privileged it takes away (sets as this machine's
# systemd-analyze lists them), and no mapping is both writable and
# executable (MemoryDenyWriteExecute=).  A postaged that needs a new call
# would be killed by the unit's filter (SIGSYS) on a real system; this says
# which call, here.  Skipped without strace or systemd-analyze.
. "${top_srcdir:-.}/tests/lib/testlib.sh"

require_built "$POSTAGED" "$PDCLIENT"
command -v strace > /dev/null || skip "strace not installed (Debian strace)"
command -v systemd-analyze > /dev/null || skip "systemd-analyze not installed (Debian systemd)"
bin="$top_builddir/.libs/postaged"
[ -x "$bin" ] || bin="$top_builddir/postaged"
head -c 2 "$bin" | grep -q '#!' && skip "postaged is a libtool script here, not the program itself"
ldd "$bin" 2> /dev/null | grep -q 'libasan\|libubsan' &&
    skip "a sanitizer build: ASan and UBSan make calls of their own"

# expand SET: the calls of a systemd-analyze syscall-filter set, nested
# sets expanded.
expand() {
    systemd-analyze syscall-filter "$1" | sed -n '2,$p' | sed 's/^ *//' | grep -v '^#\|^$' |
    while read -r call; do
        case $call in @*) expand "$call" ;; *) echo "$call" ;; esac
    done
}
expand @system-service | sort -u > "$TMP/service"
expand @privileged | sort -u > "$TMP/privileged"
comm -23 "$TMP/service" "$TMP/privileged" > "$TMP/allowed"
[ "$(wc -l < "$TMP/allowed")" -gt 100 ] || skip "systemd-analyze syscall-filter lists no @system-service here"

port=$(free_port)
postaged_conf policy_listen="inet:127.0.0.1:$port"
LD_LIBRARY_PATH="$top_builddir/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    strace -f -qq -o "$TMP/trace" "$bin" -f -c "$TMP/postaged.conf" 2> "$TMP/postaged.log" &
tracer=$!
kill_at_exit "$tracer"
wait_policy_answer "$port" "$TMP/postaged.log"
printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=192.0.2.1\nclient_name=mail.example.org\nhelo_name=mail.example.org\nsender=a@example.org\nrecipient=b@example.net\n\n' |
    "$PDCLIENT" "$port" --expect 1 > "$TMP/answer"
grep -q '^action=' "$TMP/answer" || fail "no answer to the policy request: $(cat "$TMP/postaged.log")"
# postaged is the tracer's child (strace runs it).
pid=$(ps -o pid= --ppid "$tracer" | tr -d ' ')
[ -n "$pid" ] || { fail "postaged is not running under strace"; finish; }
kill -HUP "$pid"
i=0
until grep -q 'reload: configuration' "$TMP/postaged.log" || [ $i -ge 50 ]; do nap 0.1; i=$((i + 1)); done
kill -TERM "$pid"
wait "$tracer"
grep -q 'stopped' "$TMP/postaged.log" || fail "postaged did not stop cleanly: $(cat "$TMP/postaged.log")"

sed -n 's/^[0-9]* *\([a-z0-9_]*\)(.*/\1/p' "$TMP/trace" | sort -u > "$TMP/used"
[ "$(wc -l < "$TMP/used")" -gt 10 ] || fail "strace saw almost no calls: $(head "$TMP/trace")"
expect_eq "calls outside @system-service minus @privileged" "" \
    "$(comm -23 "$TMP/used" "$TMP/allowed" | tr '\n' ' ')"
expect_eq "writable and executable mappings" "" \
    "$(grep -E 'PROT_WRITE.*PROT_EXEC|PROT_EXEC.*PROT_WRITE' "$TMP/trace" | head -3)"
finish
