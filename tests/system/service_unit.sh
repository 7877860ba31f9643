#!/bin/sh
# service_unit.sh - the systemd unit make builds (systemd/postaged.service)
# passes `systemd-analyze verify`, and `systemd-analyze security` rates its
# hardening "OK" or better (issue 20).  Both are run offline on the file,
# so no running systemd is needed; ExecStart is pointed at the postaged
# just built, since verify checks that the program is there and the unit
# names the installed one.  Skipped without systemd-analyze (Debian
# systemd) or one too old for --offline (systemd < 252).
. "${top_srcdir:-.}/tests/lib/testlib.sh"

require_built "$POSTAGED"
unit="$top_builddir/systemd/postaged.service"
[ -f "$unit" ] || { fail "$unit is not built (make)"; finish; }
command -v systemd-analyze > /dev/null ||
    skip "systemd-analyze not installed (Debian systemd)"
systemd-analyze security --help 2>/dev/null | grep -q -- '--offline' ||
    skip "systemd-analyze has no --offline (systemd 252 or later needed)"

grep -q '^Type=notify$' "$unit" || fail "$unit: not Type=notify"
grep -q '^User=postage$' "$unit" || fail "$unit: not User=postage"
grep -q '^ExecStart=/.*/postaged -f$' "$unit" || fail "$unit: ExecStart is not \$(sbindir)/postaged -f"

built=$(cd "$top_builddir" && pwd)/postaged
mkdir "$TMP/units"
sed "s|^ExecStart=.*|ExecStart=$built -f|" "$unit" > "$TMP/units/postaged.service"

run_capture systemd-analyze verify "$TMP/units/postaged.service"
expect_eq "systemd-analyze verify: status" 0 "$rc"
expect_eq "systemd-analyze verify: complaints" "" "$out$err"

run_capture systemd-analyze security --offline=true --no-pager "$TMP/units/postaged.service"
expect_eq "systemd-analyze security: status" 0 "$rc"
overall=$(printf '%s\n' "$out" | sed -n 's/^→ Overall exposure level for postaged.service: //p')
echo "systemd-analyze security: $overall"
case $overall in
    [0-9]*" SAFE"*|[0-9]*" OK"*) ;;
    *) fail "systemd-analyze security rates the unit '$overall', not OK or SAFE" ;;
esac
finish
