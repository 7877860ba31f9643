#!/bin/sh
# mint_profile.sh - the device profile: postage-mint --calibrate measures
# this device and saves the profile under $XDG_CONFIG_HOME; --budget then
# picks the largest bits whose 95th-percentile time fits the budget, which
# this test computes from the saved rate (never from a hard-coded figure);
# a missing, damaged or foreign profile is refused with a message that
# says what to do; postage-sendmail's time_budget follows the same rule
# from the same profile.  Nothing here depends on how fast the machine is.
. "${top_srcdir:-.}/tests/lib/testlib.sh"

PS="$top_builddir/postage-sendmail"
require_built "$MINT"
unset POSTAGE_PROFILE POSTAGE_RATE_CACHE POSTAGE_KERNEL
XDG_CONFIG_HOME="$TMP/config"
HOME="$TMP/home"
export XDG_CONFIG_HOME HOME
PROFILE="$XDG_CONFIG_HOME/postage/device-profile"
CPUS=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)
DEFAULT_KERNEL=$("$MINT" --list-kernels | awk '/\(default\)/ { print $1 }')

# p95_bits BUDGET_S RATE: the largest bits b (0..160) with
# ln(20) * 2^b / RATE <= BUDGET_S, the rule of postage-mint(1).
p95_bits() {
    awk -v budget="$1" -v rate="$2" 'BEGIN {
        b = 0
        while (b < 160 && log(20) * 2 ^ (b + 1) / rate <= budget) b++
        print b }'
}
# profile_rate THREADS: that line of the saved profile.
profile_rate() { awk -v t="$1" '$1 == "rate" && $2 == t { print $3 }' "$PROFILE"; }
# json_field NAME < JSON: a number field of a one-line JSON object.
json_field() { sed -n "s/.*\"$1\":\([0-9.e+-]*\).*/\1/p"; }

# 1. No profile yet: --budget refuses, and says to calibrate.
run_capture "$MINT" --budget 2s bob@example.org
expect_eq "no profile: exit status" 2 "$rc"
expect_eq "no profile: nothing minted" "" "$out"
case $err in *"postage-mint --calibrate"*) ;; *) fail "no profile: the message does not say to calibrate: $err" ;; esac

# 2. --calibrate writes the profile under $XDG_CONFIG_HOME.
run_capture "$MINT" --calibrate
expect_eq "calibrate: exit status" 0 "$rc"
[ -s "$PROFILE" ] || { fail "no profile at $PROFILE after --calibrate"; finish; }
case $out in *"$PROFILE"*) ;; *) fail "calibrate does not name the profile it saved: $out" ;; esac
expect_eq "profile header" "postage-device-profile 1" "$(grep -v '^#' "$PROFILE" | head -n 1)"
expect_eq "profile kernel" "$DEFAULT_KERNEL" "$(awk '$1 == "kernel" { print $2 }' "$PROFILE")"
expect_eq "profile cpus" "$CPUS" "$(awk '$1 == "cpus" { print $2 }' "$PROFILE")"
grep -q '^cpu .' "$PROFILE" || fail "the profile has no CPU model"
grep -Eq '^measured [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' "$PROFILE" ||
    fail "the profile has no measured date"
R1=$(profile_rate 1)
RN=$(profile_rate "$CPUS")
[ -n "$R1" ] || fail "the profile has no rate for one thread"
[ -n "$RN" ] || fail "the profile has no rate for $CPUS threads"
expect_eq "rate_per_thread is the one-thread rate" "$R1" \
    "$(awk '$1 == "rate_per_thread" { print $2 }' "$PROFILE")"
[ -n "$R1" ] && [ -n "$RN" ] || finish

# 3. --budget without a resource: the bits the p95 rule gives for the saved
#    rate, on every CPU and on one thread.
for budget in 2 0.05 30; do
    run_capture "$MINT" --budget "${budget}s" --json
    expect_eq "budget ${budget}s: exit status" 0 "$rc"
    expect_eq "budget ${budget}s on $CPUS threads: bits" "$(p95_bits "$budget" "$RN")" \
        "$(echo "$out" | json_field bits)"
done
run_capture "$MINT" --budget 500ms -j 1 --json
expect_eq "budget 500ms on 1 thread: bits" "$(p95_bits 0.5 "$R1")" "$(echo "$out" | json_field bits)"
run_capture "$MINT" --budget 1.5m
expect_eq "budget 1.5m: bits (text)" "$(p95_bits 90 "$RN")" "$(echo "$out" | sed -n 's/^\([0-9]*\) bits:.*/\1/p')"

# 4. A real stamp with --budget carries those bits and verifies.
bits=$(p95_bits 0.05 "$RN")
run_capture "$MINT" --budget 50ms bob@example.org
expect_eq "mint with --budget: exit status" 0 "$rc"
expect_eq "mint with --budget: the stamp's bits" "$bits" "$(echo "$out" | cut -d: -f2)"
"$VERIFY" -b "$bits" -r bob@example.org "$out" > /dev/null ||
    fail "the --budget stamp does not verify at $bits bits: $out"

# 5. A profile written by hand (a slow device) is used as it stands,
#    interpolating between the thread counts it has.
cpu_line=$(grep '^cpu ' "$PROFILE")
cp "$PROFILE" "$TMP/measured-profile"
{
    echo "postage-device-profile 1"
    echo "$cpu_line"
    echo "kernel $DEFAULT_KERNEL"
    echo "cpus 4"
    echo "measured 2026-01-02T03:04:05Z"
    echo "rate 1 1000000"
    echo "rate 4 3400000"
} > "$PROFILE"
run_capture "$MINT" --budget 1s -j 1 --json
expect_eq "hand-made profile, 1 thread" "$(p95_bits 1 1000000)" "$(echo "$out" | json_field bits)"
expect_eq "hand-made profile, rate per thread by default" "1000000" "$(echo "$out" | json_field rate)"
run_capture "$MINT" --budget 1s -j 2 --json
expect_eq "hand-made profile, 2 threads interpolated: rate" "1800000" "$(echo "$out" | json_field rate)"
expect_eq "hand-made profile, 2 threads interpolated: bits" "$(p95_bits 1 1800000)" \
    "$(echo "$out" | json_field bits)"
run_capture "$MINT" --budget 1s -j 8 --json
expect_eq "hand-made profile, more threads than measured" "3400000" "$(echo "$out" | json_field rate)"

# 6. Damaged, missing and foreign profiles: refused, with what to do.
expect_damaged() {  # WHAT EXPECTED-IN-MESSAGE
    run_capture "$MINT" --budget 2s bob@example.org
    expect_eq "$1: exit status" 2 "$rc"
    expect_eq "$1: nothing minted" "" "$out"
    case $err in *"$2"*) ;; *) fail "$1: the message does not say '$2': $err" ;; esac
    case $err in *"--calibrate"*) ;; *) fail "$1: the message does not say to calibrate: $err" ;; esac
}
echo "garbage" > "$PROFILE"
expect_damaged "not a profile" "damaged"
sed 's/^rate 1 .*/rate 1 fast/' "$TMP/measured-profile" > "$PROFILE"
expect_damaged "a bad rate line" "line "
grep -v '^rate' "$TMP/measured-profile" > "$PROFILE"
expect_damaged "no rate line" "no rate"
: > "$PROFILE"
expect_damaged "an empty file" "empty"
head -c 40 "$TMP/measured-profile" > "$PROFILE"
expect_damaged "a truncated profile" "damaged"
sed 's/^postage-device-profile 1/postage-device-profile 9/' "$TMP/measured-profile" > "$PROFILE"
expect_damaged "a later format" "format"
other=portable
[ "$DEFAULT_KERNEL" = portable ] && other=sse2
sed "s/^kernel .*/kernel $other/" "$TMP/measured-profile" > "$PROFILE"
expect_damaged "another kernel" "$other"
rm -f "$PROFILE"
run_capture env POSTAGE_PROFILE="$TMP/nowhere/profile" "$MINT" --budget 2s bob@example.org
expect_eq "POSTAGE_PROFILE missing: exit status" 2 "$rc"
case $err in *"$TMP/nowhere/profile"*) ;; *) fail "the message does not name \$POSTAGE_PROFILE's file: $err" ;; esac

# 7. Usage errors.
cp "$TMP/measured-profile" "$PROFILE"
run_capture "$MINT" --budget 2s -b 20 bob@example.org
expect_eq "-b with --budget" 2 "$rc"
for bad in 2x -1s 0 s ""; do
    run_capture "$MINT" --budget "$bad" bob@example.org
    expect_eq "--budget '$bad'" 2 "$rc"
done

# 8. POSTAGE_PROFILE names another file, for --calibrate and --budget.
run_capture env POSTAGE_PROFILE="$TMP/elsewhere/p" "$MINT" --calibrate -j 1
expect_eq "calibrate into \$POSTAGE_PROFILE" 0 "$rc"
[ -s "$TMP/elsewhere/p" ] || fail "no profile written to \$POSTAGE_PROFILE"
expect_eq "a one-thread calibration has no two-thread line" "" \
    "$(awk '$1 == "rate" && $2 == 2' "$TMP/elsewhere/p")"

# 9. postage-sendmail's time_budget: the same p95 rule from the same
#    profile (a hand-made slow one, so that bits are lowered).  Its
#    default is every CPU, and the CPU model must be this one's.
if [ -x "$PS" ]; then
    {
        echo "postage-device-profile 1"
        echo "$cpu_line"
        echo "kernel $DEFAULT_KERNEL"
        echo "cpus $CPUS"
        echo "measured 2026-01-02T03:04:05Z"
        echo "rate $CPUS 5000"
    } > "$PROFILE"
    cat > "$TMP/fake-sendmail" <<EOF
#!/bin/sh
cat > "$TMP/sent.msg"
EOF
    chmod +x "$TMP/fake-sendmail"
    printf 'default_bits = 20\ntime_budget = 2s\nspool = %s/spool\nsendmail_timeout = 10s\ndns_server = none\n' \
        "$TMP" > "$TMP/ps.conf"
    printf 'From: me@example.org\nTo: ann@example.org\nSubject: budget\n\nhello\n' > "$TMP/m"
    run_capture env POSTAGE_SENDMAIL="$TMP/fake-sendmail" POSTAGE_SENDMAIL_CONF="$TMP/ps.conf" \
        "$PS" -i ann@example.org < "$TMP/m"
    expect_eq "sendmail: exit status" 0 "$rc"
    stamp=$(sed -n 's/^X-Hashcash: //p' "$TMP/sent.msg" 2>/dev/null)
    expect_eq "sendmail: bits within time_budget by the p95 rule" "$(p95_bits 2 5000)" \
        "$(echo "$stamp" | cut -d: -f2)"
    # The profile was used as it stands, not measured again.
    expect_eq "sendmail kept the profile" "rate $CPUS 5000" "$(grep '^rate ' "$PROFILE")"
fi
# 10. Argon2id: --calibrate --argon2id adds lines for those parameters on
#     each backend that can run them (and keeps the SHA-1 lines); --budget
#     --argon2id applies the same p95 rule to the faster backend's rate;
#     parameters never measured are refused with what to run; a later
#     SHA-1 calibration keeps the Argon2id lines.
rm -f "$PROFILE"
run_capture "$MINT" --calibrate --argon2id --memory 64 -j 1
expect_eq "calibrate --argon2id: exit status" 0 "$rc"
a2id_lines=$(awk '$1 == "argon2id" && $2 == 64 && $3 == 1 && $4 == 1 && $6 == 1' "$PROFILE" | wc -l)
expect_eq "calibrate --argon2id: one line per backend (libsodium, libargon2, postage)" 3 "$a2id_lines"
[ -n "$(profile_rate 1)" ] || fail "calibrate --argon2id lost the SHA-1 rate"
best=$(awk '$1 == "argon2id" && $2 == 64 && $6 == 1 { if ($7 > r) { r = $7; b = $5 } } END { print b, r }' "$PROFILE")
best_backend=${best% *}
best_rate=${best#* }
run_capture "$MINT" --argon2id --memory 64 --budget 1s -j 1 --json
expect_eq "argon2id budget: exit status" 0 "$rc"
expect_eq "argon2id budget: bits by the p95 rule" "$(p95_bits 1 "$best_rate")" "$(echo "$out" | json_field bits)"
case $out in *"\"backend\":\"$best_backend\""*) ;; *) fail "argon2id budget: not the faster backend $best_backend: $out" ;; esac
expect_eq "argon2id budget: worth in SHA-1 bits" \
    "$(awk -v b="$(echo "$out" | json_field bits)" 'BEGIN { printf "%.2f", b + 8 + log(64) / log(2) }')" \
    "$(echo "$out" | json_field sha1_equivalent_bits)"
run_capture "$MINT" --argon2id --memory 128 --budget 1s bob@example.org
expect_eq "argon2id budget, parameters never measured: exit status" 2 "$rc"
case $err in *"--calibrate --argon2id --memory 128"*) ;; *) fail "the message does not say what to calibrate: $err" ;; esac
run_capture "$MINT" --calibrate -j 1
expect_eq "a SHA-1 calibration keeps the Argon2id lines" 3 \
    "$(awk '$1 == "argon2id" && $2 == 64' "$PROFILE" | wc -l)"
sed 's/^argon2id 64 1 1 \([a-z0-9]*\) 1 .*/argon2id 64 1 1 \1 1 fast/' "$PROFILE" > "$TMP/p" && mv "$TMP/p" "$PROFILE"
run_capture "$MINT" --argon2id --memory 64 --budget 1s bob@example.org
expect_eq "a damaged argon2id line: exit status" 2 "$rc"
case $err in *"damaged"*"line "*) ;; *) fail "a damaged argon2id line: the message does not name the line: $err" ;; esac
run_capture "$MINT" --argon2id --memory 64 --budget 1s -b 3 bob@example.org
expect_eq "-b with --argon2id --budget" 2 "$rc"
run_capture "$MINT" --memory 64 bob@example.org
expect_eq "--memory without --argon2id" 2 "$rc"
run_capture "$MINT" --argon2id --lanes 2 --memory 8 bob@example.org
expect_eq "--memory below 8 KiB per lane" 2 "$rc"
finish
