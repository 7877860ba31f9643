#!/bin/sh
# harness_exit_status.sh - a failing test that uses both the Postfix and the
# DNS harness must exit non-zero.  Their clean-ups, and the toolkit's
# kill_at_exit, run from testlib.sh's one EXIT trap (at_exit); a chained
# trap once re-read $? after its own cleanup and so turned every failure
# into a pass.  Also: kill_at_exit leaves alone a PID that has come to name
# another process.
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

# kill_at_exit never kills a PID that has come to name another process:
# with pid_max at 32768 and tests in parallel, the PID of a process that
# ended early is soon another test's (a stray TERM once killed spf_dns.sh's
# probe).  The child registers a process that stands for "ended early":
# its recorded start time is made not to match, as a reused PID's would
# not; it must still be alive after the child's exit.  A second one,
# registered as it is, must be stopped.
sleep 60 &
bystander=$!
kill_at_exit "$bystander"
cat > "$TMP/reuse.sh" <<'CHILD'
. "$top_srcdir/tests/lib/testlib.sh"
sleep 60 &
echo "$!" > "$TMP_OUT/own"
kill_at_exit "$!" "$BYSTANDER"
eval "_tl_st_$BYSTANDER=1"
finish
CHILD
TMP_OUT=$TMP BYSTANDER=$bystander top_srcdir=$top_srcdir sh "$TMP/reuse.sh" > "$TMP/reuse.out" 2>&1
expect_eq "exit status of the kill_at_exit child" 0 $?
kill -0 "$bystander" 2>/dev/null
expect_eq "a registered PID that names another process is left alone" 0 $?
own=$(cat "$TMP/own")
kill -0 "$own" 2>/dev/null
expect_eq "a registered process that is still the one registered is stopped" 1 $?
finish
