#!/bin/sh
# concurrency.sh - exactly-once spending across processes: four
# postage-verify processes check the same 1,000 stamps against one store at
# the same time; in total exactly 1,000 are ok and 3,000 spent.
. "${top_srcdir:-.}/tests/lib/testlib.sh"

i=0
set --
while [ $i -lt 1000 ]; do
    set -- "$@" "r$i@example.org"
    i=$((i + 1))
done
"$MINT" -b 6 -j 1 "$@" > "$TMP/stamps" || { fail "minting 1,000 stamps"; finish; }
expect_eq "stamps minted" 1000 "$(wc -l < "$TMP/stamps" | tr -d ' ')"
# each process reads the stamps in a different order
cp "$TMP/stamps" "$TMP/in0"
tac "$TMP/stamps" > "$TMP/in1"
sort "$TMP/stamps" > "$TMP/in2"
sort -r "$TMP/stamps" > "$TMP/in3"

pids=
for n in 0 1 2 3; do
    "$VERIFY" -b 6 --db "$TMP/db" --create < "$TMP/in$n" > "$TMP/out$n" 2> "$TMP/err$n" &
    pids="$pids $!"
done
for pid in $pids; do
    wait "$pid"
    status=$?
    [ "$status" -le 1 ] || fail "a verifier exited with $status: $(cat "$TMP"/err*)"
done
ok=$(cat "$TMP"/out0 "$TMP"/out1 "$TMP"/out2 "$TMP"/out3 | grep -c ' ok$')
spent=$(cat "$TMP"/out0 "$TMP"/out1 "$TMP"/out2 "$TMP"/out3 | grep -c ' spent$')
expect_eq "ok verdicts in total" 1000 "$ok"
expect_eq "spent verdicts in total" 3000 "$spent"
# every stamp was accepted exactly once
unique=$(cat "$TMP"/out0 "$TMP"/out1 "$TMP"/out2 "$TMP"/out3 | grep ' ok$' | sort -u | wc -l | tr -d ' ')
expect_eq "distinct ok stamps" 1000 "$unique"
finish
