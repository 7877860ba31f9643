#!/bin/sh
# bench_report.sh - the cost report generator (bench/report.sh, `make bench`)
# in its quick mode, so that it cannot rot: it must run to the end and
# write a report with every section, the tables' headers, and each plot as
# a non-empty PNG and SVG.  Only the report's structure is checked, never a
# figure: the machine may be slow or busy.  A section whose tool is missing
# here (Redis, hashcash, postgrey) must say so in the report instead; with
# no gnuplot the plot checks are skipped, with a message.
. "${top_srcdir:-.}/tests/lib/testlib.sh"

REPORT="$top_srcdir/bench/report.sh"
[ -x "$REPORT" ] || { fail "$REPORT is missing or not executable"; finish; }
require_built "$top_builddir/bench/mint_curve" "$top_builddir/bench/verify_curve" \
    "$top_builddir/bench/economics" "$top_builddir/bench/argon2id_curve" \
    "$top_builddir/bench/argon2_kernels" "$top_builddir/bench/argon2_floor" "$MINT" "$VERIFY"
unset POSTAGE_PROFILE POSTAGE_RATE_CACHE POSTAGE_KERNEL
# The report must not touch the user's own device profile.
HOME="$TMP/home"
XDG_CONFIG_HOME="$TMP/home/.config"
export HOME XDG_CONFIG_HOME

OUT="$TMP/results"
run_capture env top_srcdir="$top_srcdir" top_builddir="$top_builddir" "$REPORT" --quick --out "$OUT"
expect_eq "report.sh --quick: exit status" 0 "$rc"
[ "$rc" -eq 0 ] || printf '%s\n' "$err" | tail -n 20 >&2
R="$OUT/report.md"
[ -s "$R" ] || { fail "no report at $R"; finish; }
expect_eq "the report's path on stdout" "$R" "$out"
[ -e "$XDG_CONFIG_HOME/postage/device-profile" ] &&
    fail "report.sh wrote the user's device profile"

# has LINE: the report has this exact line.
has() { grep -qxF -- "$1" "$R" || fail "the report has no line '$1'"; }
# has_prefix TEXT: a line of the report starts with TEXT.
has_prefix() {
    awk -v p="$1" 'index($0, p) == 1 { found = 1 } END { exit !found }' "$R" ||
        fail "the report has no line starting '$1'"
}

# The stamp: CPU model, kernels, date.
has "# What postage costs: mint, verify and pay"
has_prefix "| machine | "
has_prefix "| SHA-1 kernel | "
has_prefix "| operating system | "
has_prefix "| date | "
has_prefix "| mode | quick"

# The sections, in order.
expect_eq "sections in order" \
    "Mint cost curves|Device profiles|Memory-hard stamps (Argon2id)|Verifier cost curves|Economics: what each sender pays|Policy daemon throughput|Milter through Postfix|Stamping milter through Postfix|Files" \
    "$(sed -n 's/^## //p' "$R" | tr '\n' '|' | sed 's/|$//')"

# Mint cost curves: the rates of every usable kernel, the model, the check.
has "| kernel | lanes | threads | M trials/s | M trials/s per thread | mean at 20 bits | p95 at 24 bits |"
for k in $("$MINT" --list-kernels | awk '$4 == "supported" && $5 == "self-test" { print $1 }'); do
    grep -q "^| $k\( (default)\)\{0,1\} | " "$R" || fail "no rate row for kernel $k"
done
has "| bits | mean trials | median | mean | 95th percentile |"
for b in 8 16 24 32; do has_prefix "| $b | "; done
has "| bits | mints | mean (model) | mean (measured) | median (model) | median (measured) | p95 (model) | p95 (measured) | within p95 |"
has_prefix "| bits | stamps | per-stamp, 1 thread | per-stamp, "

# Device profiles: the measured rows and every reference row, labelled.
has "| device | figure | threads | M trials/s | 16 bits | 18 bits | 20 bits | 22 bits | 24 bits | 26 bits | 28 bits | bits for a 2 s budget (p95) |"
grep -q '^| this machine, .* | measured | ' "$R" || fail "no measured device row"
for d in "Raspberry Pi 4" "Raspberry Pi 5" "a laptop" "NVIDIA RTX 4090"; do
    grep -q "^| $d.* | \(cited\|estimated\) | " "$R" || fail "no cited or estimated row for $d"
done
grep -q 'chose \*\*[0-9]* bits\*\*' "$R" || fail "the report does not say what --budget chose"
[ -s "$OUT/data/device-profile" ] || fail "the calibrated profile is not kept in data/"

# Memory-hard stamps: rates by backend (postage's own beside both
# libraries), mints against the model, the cost of a check, issue 21's
# goals with computed verdicts, and the GPU table with its measured, cited
# and estimated rows.
NCPU=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)
for h in "Rates by backend" "Time to mint against bits" "Verification cost per stamp" \
    "Goals of issue 21" "GPU against CPU: the attacker's advantage"; do
    has "### $h"
done
has "| memory | passes | ≈ SHA-1 bits an attempt | postage, 1 thread | libargon2, 1 thread | libsodium, 1 thread | postage, fresh area each attempt | libargon2, fresh area each attempt | postage, $NCPU threads | libargon2, $NCPU threads | libsodium, $NCPU threads | faster library on 1 thread | postage ÷ faster library, 1 thread |"
for m in "64 KiB" "1 MiB"; do has_prefix "| $m | 1 | "; done
# Every postage cell of the rates table holds a measured rate.
awk -F' [|] ' '/^[|] (64 KiB|1 MiB) [|] 1 [|] / && NF >= 13 { n++; for (i = 4; i <= 9; i += (i == 4 ? 3 : 2)) if ($i !~ /^[0-9.]+[kMG]?\/s \(/) bad = 1 }
    END { exit !(n == 2 && !bad) }' "$R" || fail "the rates table lacks postage's rates"
# auto is named with what it resolved to, looked up in this run.
auto=$("$top_builddir/bench/argon2id_curve" info | awk -F'\t' '$1 == "auto" { print $2 }')
grep -qF "here it resolved" "$R" && grep -qF "to **$auto**)" "$R" ||
    fail "the mint table does not say that auto resolved to $auto"
grep -qF "from the $auto rate on $NCPU threads" "$R" ||
    fail "the mints' model is not the rate of the backend auto resolved to"
# The goals: each row with its target and a computed verdict.
has "| goal | memory, passes | postage | before: faster library, this run | before: issue 21 (cited, another machine) | measured | target | verdict |"
goals=$(grep -c '^| \(≥ 2× the faster library\|within 1\.5× of the copy limit\|GPU ÷ one core below SHA-1'"'"'s\) | ' "$R")
expect_eq "goal rows (2 sizes, the limit, the GPU)" 4 "$goals"
bad=$(grep '^| \(≥ 2× the faster library\|within 1\.5× of the copy limit\|GPU ÷ one core below SHA-1'"'"'s\) | ' "$R" |
    grep -cv ' | \(met\|not met\) |$')
expect_eq "goal rows without a verdict" 0 "$bad"
grep -q '^| ≥ 2× the faster library | 64 KiB, t=1 | .* | libargon2 22,980/s, libsodium 25,030/s | ' "$R" ||
    fail "the goals table does not quote the issue's before figures"
# The verdicts follow from the figures (data/argon2id_goals.tsv), never written in.
awk -F'\t' 'NR > 1 { want = ($1 == "library" ? $8 >= 2 : $1 == "limit" ? $8 * 1.5 >= 1 : $8 > 0 && $8 < $16) ? "met" : "not met"
                      if ($11 != want) { print "goal " $1 " " $2 ": " $11 ", figures say " want; bad = 1 } n++ }
    END { exit bad || n != 4 }' "$OUT/data/argon2id_goals.tsv" >&2 || fail "a goal's verdict does not follow from its figures"
# Where one hash's time goes (bench/argon2_floor): every row measured, and
# the sentence on two hashes at once says what its figures say.
has "#### Where one hash's time goes: why one thread stops short of the copy limit"
has "| what | slice 0 | slice 1 | slice 2 | slice 3 | whole fill | fills/s | of the limit |"
floor_rows=$(awk -F'\t' 'NR > 1 && $1 != "latency" && $6 > 0 && $7 > 0 && $8 > 0 { n++ }
    NR > 1 && $1 == "latency" && $6 > 0 { n++ } END { print n + 0 }' "$OUT/data/argon2_floor.tsv")
expect_eq "measured rows in data/argon2_floor.tsv" 7 "$floor_rows"
expect_eq "rows of the where-the-time-goes table" 7 \
    "$(grep -c '^| \(one hash\|two hashes at once\|the arithmetic alone\|the same, each reference\|the memory alone\|the copy limit\|one random load\)' "$R")"
pair_slower=$(awk -F'\t' '$1 == "hash" { h = $6 } $1 == "pair" { p = $6 } END { print (p > h) ? 1 : 0 }' \
    "$OUT/data/argon2_floor.tsv")
if [ "$pair_slower" = 1 ]; then
    grep -q 'the speed of one at a time ([0-9.]* of the limit): slower\.' "$R" ||
        fail "two hashes at once were slower, and the report does not say so"
else
    grep -q 'the speed of one at a time ([0-9.]* of the limit), \(within\|still short of\) the goal' "$R" ||
        fail "two hashes at once were not slower, and the report does not say so"
fi
has "| memory | bits | mints | attempts (model) | attempts (measured mean) | set-up | mean (model) | mean (measured) | p95 (model) | p95 (measured) | within p95 |"
has "| stamp | memory | passes | postage, reused area | postage, fresh area | libargon2, reused area | libargon2, fresh area | libsodium | postage ÷ libargon2, reused area | postage, reused area ÷ a SHA-1 check |"
has_prefix "| Argon2id | 64 KiB | 1 | "
has_prefix "| Argon2id, out of bounds: refused | "
has_prefix "| SHA-1, 20 bits | "
has "| stamp | SHA-1 bits an attempt is worth: reference / here | this machine, one core (measured) | this machine, all $NCPU cores (measured) | RTX 4090 | GPU figure | GPU ÷ one core | GPU ÷ this machine | GPU ÷ one core, against SHA-1's | before: GPU ÷ one core on the faster library |"
grep -q '^| SHA-1 (hashcash) | .* | cited | ' "$R" || fail "no cited SHA-1 row in the GPU table"
grep -q '^| Argon2id, 64 KiB | .* | estimated | ' "$R" || fail "no estimated Argon2id row in the GPU table"
grep -q '^| Argon2id, 64 MiB, 3 passes | .* | cited | ' "$R" || fail "no cited Argon2id row in the GPU table"
grep -q '^- \*\*Guessing\.\*\*' "$R" || fail "the Argon2id section does not state the guessing limit"

# Verifier curves: LMDB always; Redis and hashcash measured or explained.
has_prefix "| stamps stored | LMDB, no fsync | LMDB, fsync per spend (default) |"
grep -q '^| stamps stored |.*Redis' "$R" || grep -q '^> Redis skipped' "$R" ||
    fail "the verifier section neither measures Redis nor says why not"
grep -q '^| stamps stored |.*hashcash 1.22' "$R" || grep -q '^> hashcash' "$R" ||
    fail "the verifier section neither measures hashcash nor says why not"
for n in 0 100 1000; do has_prefix "| $n | "; done

# Economics: the model's settings, every profile, both tables.
has "| setting | default |"
has "| \`price_base\` | 20 |"
has "| sender | messages a day | delivered | refused | paid, bits: median (range) | asked, bits: median (max) | work a day | ≈ bits a day | per message vs the person | per day vs the person |"
for p in "a person, 20 new correspondents a day" "a mailing list, 2,000 a day to one site" \
    "a newsletter, 10,000 a day" "a compromised home PC, 10,000 a day to one site"; do
    [ "$(grep -c "^| $p | " "$R")" -eq 2 ] || fail "the profile '$p' is not in both economics tables"
done
grep -q '^| sender | this machine' "$R" || fail "no CPU-time table by device"

# The daemon curve, or why not.
grep -q '^| load | postaged req/s | p50 ms | p99 ms | postgrey req/s | p50 ms | p99 ms |$' "$R" ||
    grep -q '^> Skipped' "$R" || fail "the policy section has neither its table nor a reason"

# The milter through Postfix, or why not.
grep -q '^| SMTP sessions | Postfix alone | + postaged milter (LMDB) | + postaged milter (Redis) | + postaged, every check off | + OpenDKIM milter (verify) |$' "$R" ||
    sed -n '/^## Milter through Postfix/,/^## /p' "$R" | grep -q '^> Skipped' ||
    fail "the milter section has neither its table nor a reason"
# The stamping milter through Postfix, or why not.
grep -q '^| recipients per message | Postfix alone | + stamping milter ([0-9]* bits) | stamps/s | stamped |$' "$R" ||
    sed -n '/^## Stamping milter through Postfix/,/^## /p' "$R" | grep -q '^> Skipped' ||
    fail "the stamping section has neither its table nor a reason"

# Every table row has as many cells as its header.
awk '/^\|/ { n = gsub(/\|/, "|"); if (!inside) { want = n; inside = 1; head = $0 }
             else if (n != want) { printf "row with %d bars under a header with %d: %s\n", n, want, $0; bad = 1 } }
     !/^\|/ { inside = 0 }
     END { exit bad }' "$R" >&2 || fail "a table row does not match its header"

# The plots.
if [ -z "$(command -v gnuplot)" ]; then
    echo "SKIP (plots): gnuplot is not installed (apt-get install gnuplot-nox; setup.sh installs it)" >&2
    grep -q 'not drawn: gnuplot is not installed' "$R" || fail "the report does not say the plots are missing"
else
    plots="mint_cost mint_rates devices argon2id_mint argon2id_verify verify_curve economics"
    grep -q '^| load | postaged req/s' "$R" && plots="$plots policy_curve"
    for p in $plots; do
        png="$OUT/$p.png" svg="$OUT/$p.svg"
        [ -s "$png" ] || { fail "$p.png is missing or empty"; continue; }
        [ -s "$svg" ] || { fail "$p.svg is missing or empty"; continue; }
        expect_eq "$p.png is a PNG" "89504e470d0a1a0a" "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')"
        grep -q '<svg' "$svg" || fail "$p.svg is not an SVG"
        grep -q '</svg>' "$svg" || fail "$p.svg is cut short"
        grep -qF "]($p.png)" "$R" || fail "the report does not show $p.png"
        grep -qF "($p.svg)" "$R" || fail "the report does not link $p.svg"
    done
fi
finish
