#!/bin/bash
# .ci/packages.sh - CI's package step (issue 20): build the Debian packages
# from a clean copy of the tree, lintian-check them (errors fail), install
# them on this machine, check what postaged's postinst made (user, state
# directory, conffile), start the packaged /usr/sbin/postaged with the
# packaged configuration (not under systemd: CI has none) and have it
# answer a Postfix policy request and, when the build has metrics_listen, a
# metrics scrape; then purge the packages and check that the configuration
# and the state are gone and the "postage" user stays (debian/README.Debian).
#
# Run as root from .ci/run, after the other steps: it installs and purges
# system packages.  The test suite is not run here (DEB_BUILD_OPTIONS=
# nocheck); .ci/run runs it in full in its own steps.  Everything started
# here is stopped by PID, and the packages purged, pass or fail.  No
# debug-symbol packages (noddebs): nothing here installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

PKGS="libpostage0 libpostage-dev postage postaged"
work=$(mktemp -d /tmp/postage-pkg.XXXXXX)
# apt reads the .debs as its unprivileged _apt user.
chmod 755 "$work"
daemon_pid=
installed=0

cleanup() {
    local rc=$?
    if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
        kill -TERM "$daemon_pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$daemon_pid" 2>/dev/null || true
    fi
    if [ "$installed" = 1 ]; then
        # shellcheck disable=SC2086
        apt-get purge -y -qq $PKGS >/dev/null 2>&1 || true
    fi
    if [ "$rc" -ne 0 ] && [ -s "$work/postaged.log" ]; then
        echo "---- postaged's log" >&2
        cat "$work/postaged.log" >&2
    fi
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

fail() { echo "packages: $*" >&2; exit 1; }

# shellcheck disable=SC2086
if dpkg-query -W -f='${Status}\n' $PKGS 2>/dev/null | grep -q ' installed$'; then
    fail "some of $PKGS are installed already; this step installs and purges them itself"
fi
etc_before=no
[ -e /etc/postage ] && etc_before=yes
[ -e /var/lib/postage ] && fail "/var/lib/postage exists already; purge would remove it"

echo "== building the packages (nocheck) in a clean copy"
git clone -q "$top" "$work/src"
t0=$(date +%s)
(cd "$work/src" && DEB_BUILD_OPTIONS='nocheck noddebs parallel=2' dpkg-buildpackage -us -uc -b) \
    >"$work/build.log" 2>&1 || { tail -n 60 "$work/build.log" >&2; fail "dpkg-buildpackage failed"; }
echo "   built in $(( $(date +%s) - t0 ))s: $(cd "$work" && echo *.deb)"

echo "== lintian (errors fail; warnings listed)"
lintian_ok=yes
lintian -i --fail-on error "$work"/postage_*.changes >"$work/lintian.txt" 2>&1 || lintian_ok=no
grep -v '^running with root privileges' "$work/lintian.txt" || true
[ "$lintian_ok" = yes ] || fail "lintian reports errors"

echo "== installing"
debs=()
for p in $PKGS; do debs+=("$work/${p}_"*.deb); done
installed=1
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${debs[@]}" >"$work/apt.log" 2>&1 ||
    { cat "$work/apt.log" >&2; fail "apt-get install failed"; }

getent passwd postage >/dev/null || fail "no system user postage"
getent group postage >/dev/null || fail "no group postage"
uid=$(id -u postage)
[ "$uid" -lt 1000 ] || fail "user postage has uid $uid, not a system uid"
[ "$(stat -c '%U:%G %a' /var/lib/postage)" = "postage:postage 750" ] ||
    fail "/var/lib/postage is $(stat -c '%U:%G %a' /var/lib/postage), not postage:postage 750"
[ -f /etc/postage/postaged.conf ] || fail "no /etc/postage/postaged.conf"
dpkg-query -W -f='${Conffiles}\n' postaged | grep -q '^ /etc/postage/postaged.conf ' ||
    fail "/etc/postage/postaged.conf is not a conffile"
# The filters' rules (README, "With SpamAssassin or rspamd").
dpkg-query -W -f='${Conffiles}\n' postaged | grep -q '^ /etc/spamassassin/60_postage.cf ' ||
    fail "/etc/spamassassin/60_postage.cf is not a conffile of postaged"
[ -f /usr/share/postage/rspamd/postage.lua ] || fail "no /usr/share/postage/rspamd/postage.lua"
[ -f /usr/share/doc/postaged/price-discovery.md ] || fail "no /usr/share/doc/postaged/price-discovery.md"
for f in /usr/sbin/postaged /usr/sbin/postage-reputation /usr/sbin/postage-sendmail \
         /usr/bin/postage-mint /usr/bin/postage-verify /usr/share/man/man8/postaged.8.gz \
         /usr/share/doc/postaged/pricing.md /usr/include/postage.h; do
    [ -e "$f" ] || fail "$f is not installed"
done
# An upgrade (here: the same package again, which runs the upgrade paths of
# the maintainer scripts) keeps an edited configuration and the state
# directory as they are.
echo "# edited by the admin (CI)" >>/etc/postage/postaged.conf
dpkg -i "$work"/postaged_*.deb </dev/null >"$work/apt.log" 2>&1 ||
    { cat "$work/apt.log" >&2; fail "reinstalling postaged failed"; }
grep -qx '# edited by the admin (CI)' /etc/postage/postaged.conf ||
    fail "reinstalling postaged overwrote the edited /etc/postage/postaged.conf"
[ "$(stat -c '%U:%G %a' /var/lib/postage)" = "postage:postage 750" ] ||
    fail "after reinstalling, /var/lib/postage is $(stat -c '%U:%G %a' /var/lib/postage)"
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
pkg-config --exists libpostage || fail "pkg-config does not find libpostage"
/usr/sbin/postaged -n -c /etc/postage/postaged.conf >/dev/null || fail "the packaged config does not check"

# A copy of the tree installed under /usr/local (setup.sh) comes first in
# the library path; run the packaged programs on the packaged library.
export LD_LIBRARY_PATH=/usr/lib/$ma
ldd /usr/sbin/postaged | grep -q "libpostage.so.0 => /usr/lib/$ma/" ||
    fail "postaged does not load the packaged libpostage"

echo "== starting the packaged postaged with the packaged configuration"
port() {
    python3 -S -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
pport=$(port)
# The packaged file as it is, with the listeners moved to free ports (a
# later line overrides an earlier one) so as not to collide with anything
# on the CI machine, and the log on stderr, for this script to show.
{
    cat /etc/postage/postaged.conf
    echo "policy_listen = inet:127.0.0.1:$pport"
    echo "milter_listen ="
    echo "log = stderr"
} >"$work/postaged.conf"
metrics=no
if /usr/sbin/postaged --defaults | grep -q '^#\? *metrics_listen'; then
    metrics=yes
    mport=$(port)
    echo "metrics_listen = inet:127.0.0.1:$mport" >>"$work/postaged.conf"
fi
if /usr/sbin/postaged --defaults | grep -q '^#\? *stamp_listen'; then
    echo "stamp_listen =" >>"$work/postaged.conf"
fi
# As root, as an admin would start it by hand: it drops to the "user" of
# the packaged file (postage) and opens its store in /var/lib/postage.
/usr/sbin/postaged -f -c "$work/postaged.conf" >"$work/postaged.log" 2>&1 &
daemon_pid=$!

python3 -S - "$pport" "$daemon_pid" <<'PY' || fail "postaged did not answer the policy request"
import os, socket, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
end = time.time() + 20
while True:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=15)
        break
    except OSError:
        os.kill(pid, 0)          # still running?  (raises if it died)
        if time.time() > end:
            raise SystemExit("no listener on port %d" % port)
        time.sleep(0.1)
req = ("request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
       "client_address=192.0.2.7\nclient_name=unknown\nreverse_client_name=unknown\n"
       "helo_name=[192.0.2.7]\nsender=alice@example.org\nrecipient=bob@example.net\n"
       "queue_id=\ninstance=ci.1\nsize=0\n\n")
s.sendall(req.encode())
buf = b""
while not buf.endswith(b"\n\n"):
    chunk = s.recv(4096)
    if not chunk:
        break
    buf += chunk
line = buf.decode(errors="replace").strip()
if not line.startswith("action="):
    raise SystemExit("unexpected answer: %r" % line)
print("   policy answer: " + line)
PY

if [ "$metrics" = yes ]; then
    python3 -S - "$mport" <<'PY' || fail "the metrics scrape failed"
import sys, time, urllib.request
url = "http://127.0.0.1:%s/metrics" % sys.argv[1]
end = time.time() + 10
while True:
    try:
        body = urllib.request.urlopen(url, timeout=10).read().decode()
        break
    except OSError:
        if time.time() > end:
            raise
        time.sleep(0.1)
types = [l for l in body.splitlines() if l.startswith("# TYPE ")]
if not types:
    raise SystemExit("no '# TYPE' line in the scrape:\n" + body[:2000])
print("   metrics: %d families scraped" % len(types))
PY
else
    echo "   metrics: metrics_listen is not a key of this build, not scraped"
fi
ps -o user= -p "$daemon_pid" | grep -qx postage || fail "postaged does not run as user postage"
[ -n "$(ls -A /var/lib/postage)" ] || fail "postaged kept no state in /var/lib/postage"
kill -TERM "$daemon_pid"
wait "$daemon_pid" || fail "postaged exited with status $? on SIGTERM"
daemon_pid=

echo "== purging"
# shellcheck disable=SC2086
apt-get purge -y -qq $PKGS >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; fail "apt-get purge failed"; }
installed=0
[ ! -e /var/lib/postage ] || fail "/var/lib/postage is still there after purge"
[ ! -e /etc/postage/postaged.conf ] || fail "/etc/postage/postaged.conf is still there after purge"
[ "$etc_before" = yes ] || [ ! -e /etc/postage ] || fail "/etc/postage is still there after purge"
[ ! -e /usr/sbin/postaged ] || fail "/usr/sbin/postaged is still there after purge"
# Kept on purge, as debian/README.Debian says.
getent passwd postage >/dev/null || fail "purge removed the user postage (README.Debian says it stays)"
echo "packages: built, lintian-clean, installed, served, purged"
