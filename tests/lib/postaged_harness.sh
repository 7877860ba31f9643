# postaged_harness.sh - postaged beside the private Postfix of
# postfix_harness.sh, as the end-to-end tests run it (sourced, not run;
# POSIX sh; after testlib.sh and postfix_harness.sh).
#
#   postaged_start PORT...      start "$top_builddir/postaged" in the
#                               foreground on $TMP/postaged.conf, its log in
#                               $TMP/postaged.log, stopped by PID at exit;
#                               wait until it listens on every PORT (fails
#                               the test, with the log, if it does not).
#                               $POSTAGED_OPTS adds options (e.g. -v).
#                               Sets postaged_pid.
#   postaged_stop               SIGTERM it and wait.
#   show_logs                   the last swaks transcript and postaged's log
#                               tail, on stderr.
#   reply451                    the whole 451 reply of the last transaction,
#                               without codes, its lines joined by " | ".
#   asked_price                 the bits the last 451 asked for ("attach
#                               X-Hashcash with N bits"), or "".
#   rep IDENTITY EXPR           a Python expression over the identity's
#                               record `d` (postage-reputation --json show),
#                               0 if it was never seen.
#   wait_messages IDENTITY N    wait (up to 10 s) until the identity's
#                               lifetime message count reaches N: updates
#                               are written off the reply path.

postaged_pid=

postaged_start() {
    # shellcheck disable=SC2086
    "$POSTAGED" -c "$TMP/postaged.conf" -f ${POSTAGED_OPTS:-} 2> "$TMP/postaged.log" &
    postaged_pid=$!
    kill_at_exit "$postaged_pid"
    for _pd_port; do
        wait_listen "$_pd_port" 10 "$postaged_pid" ||
            { fail "postaged did not start: $(cat "$TMP/postaged.log")"; finish; }
    done
}

postaged_stop() {
    [ -n "$postaged_pid" ] || return 0
    kill "$postaged_pid" 2>/dev/null
    wait "$postaged_pid" 2>/dev/null
    postaged_pid=
}

show_logs() {
    echo "---- swaks" >&2; pf_transcript >&2
    echo "---- postaged" >&2; tail -n 20 "$TMP/postaged.log" >&2
}

reply451() {
    pf_transcript | sed -n 's/^<\*\* *451[ -]4\.7\.1 //p' |
        awk '{ printf "%s%s", (NR > 1 ? " | " : ""), $0 }'
}

asked_price() {
    reply451 | sed -n 's/.*attach X-Hashcash with \([0-9]*\) bits.*/\1/p'
}

rep() {
    "$REPUTATION" -c "$TMP/postaged.conf" --json show "$1" 2>/dev/null |
        python3 -c 'import json,sys
try: d=json.load(sys.stdin)[0]
except Exception: print(0); sys.exit(0)
print(eval(sys.argv[1]))' "$2"
}

wait_messages() {
    _pd_end=$(( $(date +%s) + 10 ))
    while [ "$(rep "$1" 'd["messages"]')" -lt "$2" ]; do
        [ "$(date +%s)" -gt "$_pd_end" ] && { fail "$1 never reached $2 messages"; return 1; }
        sleep 0.1
    done
}
