#!/bin/sh
# policy_daemon.sh - postaged over the Postfix policy protocol, as Postfix
# would talk to it: exact transcripts (request in, response out) for each
# module, malformed input (over-long lines, NUL bytes, junk, missing and
# repeated attributes, a client leaving mid-request), a thousand requests
# on one connection, SIGHUP reload without dropping the connection, the
# configuration checker, and that every key is documented.
. "${top_srcdir:-.}/tests/lib/testlib.sh"

CLIENT="$top_builddir/tests/system/pd_client"
require_built "$POSTAGED"

PORT=$("$CLIENT" --free-port)
postaged_conf "policy_listen=inet:127.0.0.1:$PORT" "pidfile=$TMP/postaged.pid" \
    hostname=test.example spf=no helo_checks=no postage=no greylist_delay=60s \
    "access=client 192.0.2.0/24 REJECT 5.7.1 Go away" "access=sender @trusted.example OK" \
    "access=recipient hold@example.org HOLD" greylist_whitelist_clients=203.0.113.0/24 \
    "quota=sender 1h count 3 DEFER 4.7.1 Slow down"

pid=
stop_daemon() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        pid=
    fi
}
# A detached daemon is not our child: stop it by the PID from its pidfile,
# waiting (bounded) until it is gone.
detached=
stop_detached() {
    [ -n "$detached" ] || return 0
    kill "$detached" 2>/dev/null
    i=0
    while kill -0 "$detached" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    kill -0 "$detached" 2>/dev/null && { fail "the daemon ignored SIGTERM"; kill -9 "$detached"; }
    detached=
}
at_exit 'stop_daemon; stop_detached'

"$POSTAGED" -c "$TMP/postaged.conf" -f 2> "$TMP/log" &
pid=$!
wait_policy_answer "$PORT" "$TMP/log"

# request CLIENT SENDER RECIPIENT INSTANCE [STATE] [extra lines]
request() {
    printf 'request=smtpd_access_policy\nprotocol_state=%s\nprotocol_name=ESMTP\n' "${5:-RCPT}"
    printf 'client_address=%s\nclient_name=mx.example.net\nhelo_name=mx.example.net\n' "$1"
    printf 'sender=%s\nrecipient=%s\ninstance=%s\nqueue_id=%s\nsize=1000\n' "$2" "$3" "$4" "Q$4"
    [ -z "${6:-}" ] || printf '%s\n' "$6"
    printf '\n'
}
# transcript WHAT EXPECTED-ACTION-LINE (stdin: requests)
# It runs at the end of a pipeline, that is in a subshell, where fail's
# count is lost: a mismatch is also noted in a file, counted at the end.
transcript() {
    got=$("$CLIENT" "$PORT" --expect 1 | head -n 1)
    expect_eq "$1" "$2" "$got"
    [ "$2" = "$got" ] || echo "$1" >> "$TMP/transcripts.failed"
}

request 192.0.2.7 a@example.net b@example.org i1 | transcript "access reject" "action=REJECT 5.7.1 Go away"
request 198.51.100.7 x@trusted.example b@example.org i2 | transcript "access OK" "action=OK"
request 198.51.100.7 a@example.net hold@example.org i3 | transcript "access HOLD" "action=HOLD"
request 198.51.100.7 a@example.net b@example.org i4 |
    transcript "new triplet greylisted" "action=451 4.7.1 Greylisted, please retry in 60 seconds"
request 198.51.100.99 a@example.net b@example.org i5 |
    transcript "same /24 is the same triplet" "action=451 4.7.1 Greylisted, please retry in 60 seconds"
request 203.0.113.5 a@example.net b@example.org i6 | transcript "whitelisted client" "action=DUNNO"
request 198.51.100.7 a@example.net b@example.org i7 CONNECT | transcript "CONNECT stage" "action=DUNNO"
request 198.51.100.7 a@example.net b@example.org i7 END-OF-MESSAGE |
    transcript "end of message" "action=DUNNO"

# Quota: three messages from one sender pass (counted once per message at
# END-OF-MESSAGE, however many recipients), the fourth is deferred.
for n in 1 2 3; do
    { request 203.0.113.5 q@example.net r1@example.org m$n
      request 203.0.113.5 q@example.net r2@example.org m$n
      request 203.0.113.5 q@example.net "" m$n END-OF-MESSAGE "recipient_count=2"; } |
        "$CLIENT" "$PORT" --expect 3 > "$TMP/q$n"
    expect_eq "message $n within quota" "action=DUNNO action=DUNNO action=DUNNO" \
        "$(grep action "$TMP/q$n" | tr '\n' ' ' | sed 's/ $//')"
done
request 203.0.113.5 q@example.net r1@example.org m4 | transcript "fourth message over quota" \
    "action=DEFER 4.7.1 Slow down"

# Malformed input.  Framing errors close the connection with no reply.
awk 'BEGIN { printf "request=smtpd_access_policy\nsender="; for (i = 0; i < 5000; i++) printf "a"; printf "\n\n" }' |
    "$CLIENT" "$PORT" > "$TMP/long"
expect_eq "over-long line: closed, no reply" "" "$(cat "$TMP/long")"
printf 'request=smtpd_access_policy\nsender=a\000b\n\n' | "$CLIENT" "$PORT" > "$TMP/nul"
expect_eq "NUL byte: closed, no reply" "" "$(cat "$TMP/nul")"
head -c 3000 /dev/urandom | "$CLIENT" "$PORT" > "$TMP/junk" || true
case "$(cat "$TMP/junk")" in *action=*) fail "binary junk got an answer" ;; esac
printf 'protocol_state=RCPT\nrecipient=b@example.org\n\n' | transcript "missing request= gets DUNNO" "action=DUNNO"
printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=198.51.100.7\nclient_address=192.0.2.1\nsender=a@example.net\nrecipient=b@example.org\ninstance=r1\n\n' |
    transcript "repeated attribute: the last one counts" "action=REJECT 5.7.1 Go away"
printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nsender=a@example.net\nrecipient=b@example.org\ninstance=r2\n\n' |
    transcript "no client_address: no triplet" "action=DUNNO"
printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nsender=a@exa' |
    "$CLIENT" "$PORT" --close-after-send > /dev/null
# ... and it still serves after all of that, on a split request:
request 192.0.2.8 a@example.net b@example.org i8 | "$CLIENT" "$PORT" --expect 1 --chunk 3 > "$TMP/split"
expect_eq "a request split in 3-byte pieces" "action=REJECT 5.7.1 Go away" "$(head -n 1 "$TMP/split")"

# A thousand requests on one connection, pipelined.
i=0
while [ $i -lt 1000 ]; do
    request 192.0.2.$((i % 200 + 1)) a@example.net b@example.org k$i
    i=$((i + 1))
done > "$TMP/many"
"$CLIENT" "$PORT" --expect 1000 < "$TMP/many" > "$TMP/many.out"
expect_eq "1000 answers on one connection" 1000 "$(grep -c '^action=REJECT 5.7.1 Go away$' "$TMP/many.out")"

# SIGHUP: a new rule takes effect on an open connection; a broken file is
# refused and the running configuration kept.
mkfifo "$TMP/fifo"
"$CLIENT" "$PORT" --expect 2 < "$TMP/fifo" > "$TMP/hup.out" &
client=$!
exec 3> "$TMP/fifo"
request 198.51.100.50 z@example.net new@example.org h1 >&3
sleep 0.5
sed -i 's/^access = client 192.0.2.0\/24 REJECT 5.7.1 Go away$/access = client 198.51.100.50 REJECT 5.7.1 Reloaded/' "$TMP/postaged.conf"
kill -HUP "$pid"
sleep 0.5
request 198.51.100.50 z@example.net new@example.org h2 >&3
exec 3>&-
wait "$client"
expect_eq "reload on an open connection" \
    "action=451 4.7.1 Greylisted, please retry in 60 seconds|action=REJECT 5.7.1 Reloaded" \
    "$(grep action "$TMP/hup.out" | tr '\n' '|' | sed 's/|$//')"
echo "access = client nonsense REJECT" >> "$TMP/postaged.conf"
kill -HUP "$pid"
sleep 0.5
request 198.51.100.50 z@example.net new@example.org h3 | transcript "broken reload keeps the running rules" \
    "action=REJECT 5.7.1 Reloaded"
grep -q "reload: .*postaged.conf:[0-9]*: access:.*keeping the running configuration" "$TMP/log" ||
    fail "broken reload not logged with its line: $(tail -n 3 "$TMP/log")"

# Postage through the policy protocol alone: the server cannot see stamps,
# so it announces the price for a content check further on.  Without SPF
# and HELO checks and with no history, that is price_base.
sed -i '/^access = client nonsense REJECT$/d; s/^postage = no$/postage = yes\nprice_base = 21/' "$TMP/postaged.conf"
kill -HUP "$pid"
sleep 0.5
request 203.0.113.9 p@example.net b@example.org p1 | transcript "price announced" \
    "action=PREPEND X-Postage-Price: 21"
# price_cap is the most ever asked: a pin above it refuses the mail as a
# computed price above it does, and the reply says the price was pinned.
"$top_builddir/postage-reputation" -c "$TMP/postaged.conf" pin ip:203.0.113.10 40 > "$TMP/pin.out" 2>&1 ||
    fail "postage-reputation pin: $(cat "$TMP/pin.out")"
request 203.0.113.10 p@example.net b@example.org p2 | transcript "a pin over price_cap refuses" \
    "action=451 4.7.1 Refused for now: postage for this message would be 40 bits, over our limit of 28 (price pinned by the postmaster); try again later"
echo "access = client nonsense REJECT" >> "$TMP/postaged.conf"   # for -n below

# A socket that is taken: the error says why.
busy_conf() {
    printf 'policy_listen = %s\nmilter_listen = %s\nstore = lmdb:%s/busystate\nlog = stderr\nuser =\n' \
        "$1" "$2" "$TMP" > "$TMP/busy.conf"
}
busy_conf "" "inet:127.0.0.1:$PORT"
run_capture timeout 30 "$POSTAGED" -f -c "$TMP/busy.conf"
case "$rc/$err" in 1/*"milter_listen: inet:127.0.0.1:$PORT: Address already in use"*) ;;
    *) fail "milter on a port in use: $rc $err" ;; esac
busy_conf "inet:127.0.0.1:$PORT" ""
run_capture timeout 30 "$POSTAGED" -f -c "$TMP/busy.conf"
case "$rc/$err" in 1/*"policy_listen: inet:127.0.0.1:$PORT: Address already in use"*) ;;
    *) fail "policy service on a port in use: $rc $err" ;; esac

# Daemon mode (no -f) with log = syslog: a start-up failure still reaches
# the terminal and the exit status (a port in use, a store path that is a
# file); a good start exits 0 once it serves; a start on a damaged store
# (decided after detaching: the child tells the parent, which waits for
# it) exits 0 too, prints the store's error line, and answers with
# on_error.
DPORT=$("$CLIENT" --free-port)
daemon_conf() {
    printf 'policy_listen = %s\nmilter_listen =\nstore = %s\nlog = syslog\nuser =\npidfile = %s/daemon.pid\nspf = no\nhelo_checks = no\n' \
        "$1" "$2" "$TMP" > "$TMP/daemon.conf"
}
daemon_conf "inet:127.0.0.1:$PORT" "lmdb:$TMP/daemonstate"
run_capture timeout 30 "$POSTAGED" -c "$TMP/daemon.conf"
case "$rc/$err" in 1/"postaged: policy_listen: inet:127.0.0.1:$PORT: Address already in use") ;;
    *) fail "daemon mode, port in use: $rc [$err]" ;; esac
: > "$TMP/notadir"
daemon_conf "inet:127.0.0.1:$DPORT" "lmdb:$TMP/notadir"
run_capture timeout 30 "$POSTAGED" -c "$TMP/daemon.conf"
case "$rc/$err" in 1/"postaged: store lmdb:$TMP/notadir: "*"not a directory") ;;
    *) fail "daemon mode, store not a directory: $rc [$err]" ;; esac
[ ! -e "$TMP/daemon.pid" ] || fail "a failed start left its pidfile behind"
daemon_conf "inet:127.0.0.1:$DPORT" "lmdb:$TMP/daemonstate"
run_capture timeout 30 "$POSTAGED" -c "$TMP/daemon.conf"
expect_eq "daemon mode, good start: exit status and stderr" "0/" "$rc/$err"
detached=$(cat "$TMP/daemon.pid" 2>/dev/null)
if [ -n "$detached" ] && kill -0 "$detached" 2>/dev/null; then
    printf 'request=smtpd_access_policy\nprotocol_state=CONNECT\n\n' |
        "$CLIENT" "$DPORT" --expect 1 > "$TMP/daemon.out" 2>&1
    expect_eq "the detached daemon serves at once" "action=DUNNO" "$(head -n 1 "$TMP/daemon.out")"
    stop_detached
    [ ! -e "$TMP/daemon.pid" ] || fail "the detached daemon left its pidfile behind"
else
    fail "no running daemon after a good start (pidfile: '$detached')"
fi
: > "$TMP/daemonstate/policy/data.mdb"
run_capture timeout 30 "$POSTAGED" -c "$TMP/daemon.conf"
case "$rc/$err" in
    "0/postaged: state store down: $TMP/daemonstate/policy/data.mdb is empty"*"answering with on_error"*) ;;
    *) fail "daemon mode, damaged store: $rc [$err]" ;; esac
detached=$(cat "$TMP/daemon.pid" 2>/dev/null)
if [ -n "$detached" ] && kill -0 "$detached" 2>/dev/null; then
    printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=192.0.2.9\nsender=a@example.net\nrecipient=b@example.org\ninstance=d1\n\n' |
        "$CLIENT" "$DPORT" --expect 1 > "$TMP/daemon.out" 2>&1
    expect_eq "the daemon on a damaged store answers with on_error" \
        "action=451 4.3.0 Temporary policy failure, please retry" "$(head -n 1 "$TMP/daemon.out")"
    stop_detached
else
    fail "no running daemon after a start on a damaged store (pidfile: '$detached')"
fi
[ -s "$TMP/daemonstate/policy/data.mdb" ] && fail "the damaged store was made anew"

# One log line per decision, with the reason.
grep -q 'policy RCPT: client=mx.example.net\[192.0.2.7\] .* REJECT: access rule at line' "$TMP/log" ||
    fail "no decision log line for the access reject"
expect_eq "the pidfile names the daemon" "$pid" "$(cat "$TMP/postaged.pid" 2>/dev/null)"
stop_daemon
grep -q "stopped" "$TMP/log" || fail "SIGTERM did not stop cleanly: $(tail -n 3 "$TMP/log")"
[ ! -e "$TMP/postaged.pid" ] || fail "the pidfile is still there after SIGTERM"

# ... but a pidfile that names another process since is left alone.
printf 'policy_listen = inet:127.0.0.1:%s\nmilter_listen =\nstore = lmdb:%s/state\nlog = stderr\nuser =\npidfile = %s/other.pid\n' \
    "$PORT" "$TMP" "$TMP" > "$TMP/other.conf"
"$POSTAGED" -c "$TMP/other.conf" -f 2> "$TMP/other.log" &
pid=$!
i=0
until [ "$(cat "$TMP/other.pid" 2>/dev/null)" = "$pid" ]; do
    i=$((i + 1))
    [ $i -lt 100 ] || { fail "no pidfile: $(cat "$TMP/other.log")"; break; }
    sleep 0.1
done
echo 1 > "$TMP/other.pid"
stop_daemon
expect_eq "a pidfile taken over by another PID stays" 1 "$(cat "$TMP/other.pid" 2>/dev/null)"

# -n: 0 for a valid file, 1 with FILE:LINE for a broken one.
run_capture "$POSTAGED" -n -c "$TMP/postaged.conf"
expect_eq "-n on a broken file" 1 "$rc"
line=$(wc -l < "$TMP/postaged.conf" | tr -d ' ')
case "$err" in *"postaged.conf:$line: access:"*) ;; *) fail "-n message lacks file:$line: $err" ;; esac
printf 'greylist_delay = soon\n' > "$TMP/bad2.conf"
run_capture "$POSTAGED" -n -c "$TMP/bad2.conf"
case "$rc/$err" in 1/*"bad2.conf:1: greylist_delay: 'soon' is not a period"*) ;;
    *) fail "bad period: $rc $err" ;; esac
printf 'no_such_key = 1\n' > "$TMP/bad3.conf"
run_capture "$POSTAGED" -n -c "$TMP/bad3.conf"
case "$rc/$err" in 1/*"bad3.conf:1: unknown key 'no_such_key'"*) ;; *) fail "unknown key: $rc $err" ;; esac
printf 'quota = sender 1h count many DEFER\n' > "$TMP/bad4.conf"
run_capture "$POSTAGED" -n -c "$TMP/bad4.conf"
case "$rc/$err" in 1/*"bad4.conf:1: quota: 'many' is not a positive whole number"*) ;;
    *) fail "bad quota: $rc $err" ;; esac
# Listen specs are checked as the file is read, with their line: a port
# out of range used to pass -n and fail only at the start.
printf '# sockets\npolicy_listen = inet:127.0.0.1:99999\n' > "$TMP/bad5.conf"
run_capture "$POSTAGED" -n -c "$TMP/bad5.conf"
case "$rc/$err" in
    1/*"bad5.conf:2: policy_listen: 'inet:127.0.0.1:99999': port '99999' is not a number from 1 to 65535"*) ;;
    *) fail "policy_listen port 99999: $rc $err" ;; esac
for spec in inet:127.0.0.1:0 inet:127.0.0.1:http inet:127.0.0.1: inet:[::1]10032 inet::10032 \
            tcp:10032 unix: "unix:/$(printf '%0120d' 0)"; do
    printf 'milter_listen = %s\n' "$spec" > "$TMP/bad6.conf"
    run_capture "$POSTAGED" -n -c "$TMP/bad6.conf"
    case "$rc/$err" in 1/*"bad6.conf:1: milter_listen: "*) ;;
        *) fail "milter_listen = $spec: $rc $err" ;; esac
done
printf 'milter_listen = inet:10032@127.0.0.1\n' > "$TMP/bad7.conf"
run_capture "$POSTAGED" -n -c "$TMP/bad7.conf"
case "$rc/$err" in
    1/*"bad7.conf:1: milter_listen: 'inet:10032@127.0.0.1' is libmilter's spelling; write inet:127.0.0.1:10032"*) ;;
    *) fail "libmilter spelling: $rc $err" ;; esac
printf 'policy_listen = inet:[::1]:10031\nmilter_listen = unix:%s/milter.sock\n' "$TMP" > "$TMP/good.conf"
run_capture "$POSTAGED" -n -c "$TMP/good.conf"
expect_eq "-n with inet:[::1]:PORT and unix:PATH" "0" "$rc"
run_capture "$POSTAGED" -n
expect_eq "-n with built-in defaults" "0" "$rc"

# As root: a detached daemon on a unix socket drops to an unprivileged
# user after binding, writes its pidfile, and creates the store for it.
if [ "$(id -u)" -eq 0 ] && id nobody > /dev/null 2>&1; then
    # The pidfile's directory belongs to nobody, so that the daemon can
    # still remove it at the end, after dropping privileges.
    mkdir -p "$TMP/run" "$TMP/piddir" && chmod 0711 "$TMP" && chown nobody "$TMP/piddir"
    cat > "$TMP/root.conf" <<EOF
policy_listen = unix:$TMP/run/policy.sock
milter_listen =
store = lmdb:$TMP/rootstate
user = nobody
pidfile = $TMP/piddir/postaged.pid
log = stderr
EOF
    "$POSTAGED" -c "$TMP/root.conf" 2> "$TMP/root.log"
    i=0
    while [ ! -s "$TMP/piddir/postaged.pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    dpid=$(cat "$TMP/piddir/postaged.pid" 2>/dev/null)
    if [ -z "$dpid" ] || ! kill -0 "$dpid" 2>/dev/null; then
        fail "the detached daemon did not start: $(cat "$TMP/root.log")"
    else
        expect_eq "runs as nobody" "$(id -u nobody)" \
            "$(awk '/^Uid:/ {print $2}' "/proc/$dpid/status")"
        expect_eq "store belongs to nobody" nobody "$(stat -c %U "$TMP/rootstate")"
        expect_eq "unix socket exists" yes "$([ -S "$TMP/run/policy.sock" ] && echo yes)"
        kill "$dpid"
        i=0
        while kill -0 "$dpid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
        kill -0 "$dpid" 2>/dev/null && { fail "the daemon ignored SIGTERM"; kill -9 "$dpid"; }
        [ ! -e "$TMP/piddir/postaged.pid" ] ||
            fail "the pidfile is still there after SIGTERM as nobody: $(tail -n 2 "$TMP/root.log")"
    fi
fi

# Every key of the table is documented in postaged.conf(5), with no extras.
"$POSTAGED" --defaults | sed -n 's/^#\([a-z_0-9]*\) = .*/\1/p' | sort > "$TMP/keys"
sed -n 's/^\.B \([a-z_0-9]*\)$/\1/p' "$top_srcdir/man/postaged.conf.5" | sort > "$TMP/documented"
expect_eq "keys documented in man/postaged.conf.5" "$(cat "$TMP/keys")" "$(cat "$TMP/documented")"
[ ! -s "$TMP/transcripts.failed" ] ||
    failures=$((failures + $(wc -l < "$TMP/transcripts.failed")))
finish
