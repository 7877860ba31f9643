#!/bin/sh
# service_default_config.sh - without -c, postaged and postage-reputation
# read $(sysconfdir)/postage/postaged.conf when it exists (and say so), and
# their built-in defaults when it does not; -c still wins.  postage-sendmail
# reads $(sysconfdir)/postage/sendmail.conf.  The path is compiled in, so
# the test gives the programs a sysconfdir of its own without touching the
# machine's: it runs in a private mount namespace (unshare -m, as root)
# with a temporary directory mounted over the compiled-in sysconfdir.
# Skipped where that is not possible (not root, no unshare, a sysconfdir
# that does not exist to mount over).
if [ -z "${POSTAGE_IN_MOUNT_NS:-}" ]; then
    if [ "$(id -u)" -eq 0 ] && command -v unshare > /dev/null &&
       unshare -m true 2> /dev/null; then
        POSTAGE_IN_MOUNT_NS=1 exec unshare -m sh "$0" "$@"
    fi
    echo "SKIP: needs root and unshare -m (a private mount namespace) to give" \
         "postaged a sysconfdir of its own"
    exit 77
fi
. "${top_srcdir:-.}/tests/lib/testlib.sh"

require_built "$POSTAGED" "$REPUTATION" "$PDCLIENT" "$top_builddir/postage-sendmail"

# The compiled-in file, as postaged --help names it.
conf=$("$POSTAGED" --help | sed -n 's|^ *\(/.*/postage/postaged\.conf\) if it exists,$|\1|p')
[ -n "$conf" ] || { fail "postaged --help does not name its default file"; finish; }
etc=${conf%/postage/postaged.conf}
[ -d "$etc" ] || skip "the compiled-in sysconfdir $etc does not exist to mount over"
mkdir "$TMP/etc"
mount --make-rprivate / 2> /dev/null
mount --bind "$TMP/etc" "$etc" || skip "cannot mount over $etc"
at_exit "umount '$etc'"

# No file: the built-in defaults, as before.
run_capture "$POSTAGED" -n
expect_eq "postaged -n without the file" "postaged: built-in defaults: configuration OK" "$out"
run_capture "$REPUTATION" show ip:192.0.2.1
case $err in *"configuration: built-in defaults;"*) ;;
    *) fail "postage-reputation without the file: $err" ;; esac

# The file: read without -c, and named.
mkdir "$etc/postage"
port=$(free_port)
postaged_conf -o "$conf" policy_listen="inet:127.0.0.1:$port" store="lmdb:$TMP/state"
run_capture "$POSTAGED" -n
expect_eq "postaged -n with the file" "postaged: $conf: configuration OK" "$out"
run_capture "$REPUTATION" show ip:192.0.2.1
case $err in *"store lmdb:$TMP/state does not exist yet"*"configuration: $conf;"*) ;;
    *) fail "postage-reputation does not take the store from $conf: $err" ;; esac

# The daemon runs on it, answers on its port, and logs which file it read.
"$POSTAGED" -f 2> "$TMP/postaged.log" &
pid=$!
kill_at_exit "$pid"
wait_policy_answer "$port" "$TMP/postaged.log"
grep -q "configuration: $conf\$" "$TMP/postaged.log" ||
    fail "postaged does not log the file it read: $(cat "$TMP/postaged.log")"
stop_pids "$pid"

# -c wins over the file.
postaged_conf -o "$TMP/other.conf" policy_listen="inet:127.0.0.1:$port"
run_capture "$POSTAGED" -c "$TMP/other.conf" -n
expect_eq "postaged -c FILE -n" "postaged: $TMP/other.conf: configuration OK" "$out"

# A broken file is an error naming it, not a quiet fall-back to defaults.
echo "no_such_key = 1" >> "$conf"
run_capture "$POSTAGED" -n
expect_eq "postaged -n with a broken file: status" 1 "$rc"
case $err in *"$conf"*) ;; *) fail "postaged -n with a broken file: $err" ;; esac
run_capture "$REPUTATION" show ip:192.0.2.1
case $err in *"$conf"*) ;; *) fail "postage-reputation with a broken file: $err" ;; esac

# postage-sendmail's file sits beside it.
echo "no_such_key = 1" > "$etc/postage/sendmail.conf"
run_capture env -u POSTAGE_SENDMAIL_CONF "$top_builddir/postage-sendmail" -t < /dev/null
case $err in *"$etc/postage/sendmail.conf"*) ;;
    *) fail "postage-sendmail does not read $etc/postage/sendmail.conf: $err" ;; esac
finish
