#!/bin/sh
# harness_exit_status.sh - a failing test that uses both the Postfix and the
# DNS harness must exit non-zero.  Their clean-ups, and the toolkit's
# kill_at_exit, run from testlib.sh's one EXIT trap (at_exit); a chained
# trap once re-read $? after its own cleanup and so turned every failure
# into a pass.
. "${top_srcdir:-.}/tests/lib/testlib.sh"
command -v dnsmasq >/dev/null 2>&1 || skip "dnsmasq is not installed (apt-get install dnsmasq-base)"

cat > "$TMP/child.sh" <<'CHILD'
. "$top_srcdir/tests/lib/testlib.sh"
. "$top_srcdir/tests/lib/postfix_harness.sh"
. "$top_srcdir/tests/lib/dns_harness.sh"
_pf_install_trap        # as pf_start does, without starting Postfix
dns_start
sleep 60 &
kill_at_exit $!
fail "deliberate"
finish
CHILD
top_srcdir=$top_srcdir sh "$TMP/child.sh" > "$TMP/out" 2>&1
expect_eq "exit status of a failing test under both harnesses" 1 $?
finish
