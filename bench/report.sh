#!/bin/bash
# report.sh - the cost report: what postage costs an honest sender, a bulk
# sender and a spammer, on this machine and on others, in tables and plots.
#
# Usage: bench/report.sh [--quick] [--out DIR] [--only "SECTION..."]
#   (`make bench` runs it; `make check` runs it with --quick in
#   tests/system/bench_report.sh, which checks the report's structure only.)
#
# Sections (all by default; --only picks some, in this order):
#   mint       mint cost curves: every kernel's rate on 1..N threads; the
#              geometric model's mean, median and p95 time for 8..32 bits;
#              real mints at several bit levels checked against it; batch
#              minting on 1 and N threads beside the per-stamp path
#              (bench/mint_batch)
#   devices    `postage-mint --calibrate` here (into a private config
#              directory), --budget's choice from that profile, and the
#              reference devices of bench/devices.tsv (cited or estimated)
#   argon2id   memory-hard stamps (bench/argon2id_curve): Argon2id attempts/s
#              per memory size on postage's own backend beside libargon2 and
#              libsodium (1 thread with a reused work area, libargon2 and
#              postage with a fresh one, N threads through postage_mint);
#              real mints (backend auto) against the geometric model; the
#              cost of checking one stamp; issue 21's goals, one thread, side
#              by side in one run of bench/argon2_kernels (postage against
#              the faster library, against a copy's bandwidth, and the GPU's
#              lead against SHA-1's), beside the before figures; and one RTX
#              4090 against one core here (bench/argon2id_devices.tsv: cited,
#              or estimated from memory bandwidth), beside the same ratio for
#              SHA-1
#   verify     verify+spend per second against stored stamps, 0 to 10
#              million: LMDB (library path, with and without fsync), Redis
#              (tests/lib/redis_harness.sh's redis_start when it exists, else a
#              private redis-server), postage-verify as one process per
#              check, and hashcash 1.22's flat file as far as it gets;
#              LMDB spends/s with 1, 2 and 8 spenders, group commit
#              beside one commit per spend (bench/spend_group.sh); and
#              messages/s through postaged's milter, LMDB beside Redis
#              (bench/milter_backends.sh)
#   economics  postaged's price model (bench/economics, linked with
#              policy/libpolicy.la) on documented traffic profiles: bits and
#              CPU time per message and per day on each device
#   policy     postaged beside postgrey (bench/policy_vs_postgrey.sh):
#              requests per second and p99 latency against offered load
#   milter     messages/s through a private Postfix alone and with a milter
#              (bench/postfix_milter.sh): postaged on LMDB and on Redis,
#              OpenDKIM as a peer, a milter that does nothing (the floor),
#              at 1 and 4 SMTP sessions
#   stamping   messages/s through a private sending Postfix with postaged's
#              stamping milter and without it, at 1, 5 and 50 recipients
#              per message paying 20 bits each (bench/stamp_milter.sh)
#
# Output: DIR (default bench/results/YYYY-MM-DD-HOST in the source tree):
# report.md, PNG and SVG plots (gnuplot), and data/ with every measured
# figure as TSV/CSV and every gnuplot script.  A section whose tools are
# missing (hashcash, postgrey, redis-server, gnuplot) says so in the report
# instead of failing.  The full run takes 11 to 17 minutes on 2 cores;
# --quick takes well under a minute, with tiny sizes, for the test.
#
# Environment: top_builddir (the build tree, default the source tree),
# top_srcdir, HASHCASH, POSTGREY, GNUPLOT.  Figures depend on the machine
# and its load; nothing here is asserted about time.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
top_srcdir=$(cd "$top_srcdir" && pwd) || exit 1
top_builddir=$(cd "$top_builddir" && pwd) || exit 1
B=$top_builddir
QUICK=0
OUT=
ONLY="mint devices argon2id verify economics policy milter stamping"

die() { echo "report.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case $1 in
    --quick) QUICK=1 ;;
    --out) [ $# -ge 2 ] || die "--out needs a directory"; OUT=$2; shift ;;
    --only) [ $# -ge 2 ] || die "--only needs a list of sections"; ONLY=$2; shift ;;
    -h|--help) sed -n '2,/^set -u/p' "$0" | sed 's/^# \{0,1\}//; /^set -u/d'; exit 0 ;;
    *) die "unknown argument: $1 (try --help)" ;;
    esac
    shift
done
for s in $ONLY; do
    case $s in mint|devices|argon2id|verify|economics|policy|milter|stamping) ;; *) die "unknown section: $s" ;; esac
done
want() { case " $ONLY " in *" $1 "*) return 0 ;; esac; return 1; }

MINT="$B/postage-mint"
MC="$B/bench/mint_curve"
VC="$B/bench/verify_curve"
ECON="$B/bench/economics"
A2C="$B/bench/argon2id_curve"
A2K="$B/bench/argon2_kernels"
A2F="$B/bench/argon2_floor"
DEVICES="$top_srcdir/bench/devices.tsv"
for p in "$MINT" "$MC" "$VC" "$ECON" "$A2C" "$A2K" "$A2F"; do
    [ -x "$p" ] || die "$p is not built: run make first (or set top_builddir)"
done
[ -r "$DEVICES" ] || die "$DEVICES is missing"
HC=${HASHCASH:-$(command -v hashcash 2>/dev/null || true)}
GNUPLOT=${GNUPLOT:-$(command -v gnuplot 2>/dev/null || true)}
# The real postage-verify binary rather than libtool's wrapper script,
# whose own start-up would be timed with every check.
if [ -x "$B/.libs/lt-postage-verify" ]; then
    PV="$B/.libs/lt-postage-verify"; PV_LIBS="$B/.libs"
elif [ -x "$B/.libs/postage-verify" ]; then
    PV="$B/.libs/postage-verify"; PV_LIBS="$B/.libs"
else
    PV="$B/postage-verify"; PV_LIBS=
fi

CPU=$(grep -m1 -E '^(model name|Model)' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')
[ -n "$CPU" ] || CPU="unknown CPU"
CPUS=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)
SHA_KERNEL=$("$MINT" --list-kernels | awk '/\(default\)/ { print $1 }')
OS_KERNEL=$(uname -sr)
HOST=$(hostname -s 2>/dev/null || hostname)
DATE=$(date -u +%Y-%m-%dT%H:%MZ)
VERSION=$("$MINT" -V | head -n 1)
[ -n "$OUT" ] || OUT="$top_srcdir/bench/results/$(date -u +%Y-%m-%d)-$HOST"
mkdir -p "$OUT/data" || die "cannot create $OUT/data"
OUT=$(cd "$OUT" && pwd)
D="$OUT/data"
R="$OUT/report.md"

# --- sizes and budgets ----------------------------------------------------
if [ "$QUICK" = 1 ]; then
    MODE="quick (tiny sizes: checks the report's structure, not the machine)"
    MC_FLAGS="--quick"
    VSIZES="0,100,1000"; VCHECKS=200; VSYNC=20; VBUDGET=60; PV_K=3
    RSIZES="0,100,1000"; RCHECKS=200
    HSIZES="0 100 1000"; HC_K=3; HC_BUDGET=20
    POLICY_FLAGS="--quick --duration 0.3 --greylist-only"
    A2_RATES_FLAGS="--sizes 64,1024 --seconds 0.05 --repeat 1"
    A2_MINTS_FLAGS="--levels 64=2,4/1024=1,2 --min-count 3 --max-count 5 --level-seconds 0.1 --total-seconds 3"
    A2_VERIFY_FLAGS="--sizes 64,1024 --seconds 0.05"
    A2K_T1_FLAGS="--sizes 64,1024 --passes 1 --seconds 0.01 --repeat 1"
    A2K_T3_FLAGS="--sizes 64 --passes 3 --seconds 0.01 --repeat 1"
    A2F_KIB=1024; A2F_FLAGS="--memory $A2F_KIB --repeat 1"
else
    MODE="full"
    MC_FLAGS="--total-seconds 90"
    VSIZES="0,1000,10000,100000,300000,1000000,3000000,10000000"
    VCHECKS=20000; VSYNC=300; VBUDGET=150; PV_K=20
    RSIZES=$VSIZES; RCHECKS=5000
    HSIZES="0 1000 10000 100000 300000 1000000 3000000 10000000"; HC_K=20; HC_BUDGET=60
    POLICY_FLAGS="--duration 2 --greylist-only"
    # About 3 minutes together (bench/argon2id_curve's defaults: 64 KiB to
    # 64 MiB, and 64 MiB with 3 passes, the cited GPU figure's parameters).
    A2_RATES_FLAGS="--sizes 64,1024,16384,65536,65536:3 --seconds 0.5 --repeat 3"
    A2_MINTS_FLAGS="--levels 64=4,6,8,10/1024=2,4,6,8/16384=1,2,3,4/65536=1,2,3 --total-seconds 50"
    A2_VERIFY_FLAGS="--sizes 64,1024,16384,65536,65536:3 --seconds 1"
    # Issue 21's goals: about 70 s together (every kernel and flag set,
    # both libraries and the copy, interleaved three times per size).
    A2K_T1_FLAGS="--sizes 64,1024,16384,65536 --passes 1 --seconds 0.3 --repeat 3"
    A2K_T3_FLAGS="--sizes 65536 --passes 3 --seconds 0.3 --repeat 3"
    # Where a 64 MiB hash's time goes: a few seconds.
    A2F_KIB=65536; A2F_FLAGS="--memory $A2F_KIB --repeat 7"
fi

# --- processes and temporary files: all removed on exit --------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/postage-report.XXXXXX") || die "mktemp failed"
pids=()
cleanup() {
    local p
    for p in "${pids[@]+"${pids[@]}"}"; do
        kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "report.sh: interrupted" >&2; exit 130' INT TERM

T0=$SECONDS
log() { echo "[$((SECONDS - T0))s] $*" >&2; }
note() { printf '> %s\n\n' "$*" >> "$R"; }
# plot_files NAME: the Markdown lines showing NAME.png and linking NAME.svg.
plot_files() {
    if [ -s "$OUT/$1.png" ]; then
        printf '![%s](%s.png)\n\n(vector: [%s.svg](%s.svg))\n\n' "$2" "$1" "$1" "$1" >> "$R"
    else
        note "Plot $1 not drawn: $PLOT_NOTE"
    fi
}
PLOT_NOTE="gnuplot is not installed (apt-get install gnuplot-nox; setup.sh installs it)"
# gplot NAME: run the gnuplot script $D/NAME.gp (it writes NAME.png and NAME.svg).
gplot() {
    [ -n "$GNUPLOT" ] || return 0
    (cd "$OUT" && "$GNUPLOT" "$D/$1.gp") > "$D/$1.gnuplot.log" 2>&1 ||
        { log "gnuplot failed on $1 (see $D/$1.gnuplot.log)"; PLOT_NOTE="gnuplot failed (data/$1.gnuplot.log)"; }
}
# The terminals every plot is drawn on, PNG then SVG.
gp_head() {  # NAME TITLE
    cat <<EOF
set encoding utf8
set terminal pngcairo size 960,600 enhanced font 'sans,10'
set output '$1.png'
set title "$2" noenhanced
set grid
EOF
}
gp_svg() {  # NAME
    cat <<EOF
set terminal svg size 960,600 dynamic enhanced font 'sans,11'
set output '$1.svg'
replot
EOF
}

# lat_row LABEL SIZE STORED FILE: one verify TSV row from FILE's lines
# "START END" (EPOCHREALTIME pairs, one a check): checks/s, p50 and p99.
lat_row() {
    awk '{ printf "%.9f\n", $2 - $1 }' "$4" | sort -n | awk -v l="$1" -v n="$2" -v st="$3" '
        { d[NR] = $1; s += $1 }
        END { m = NR; if (m == 0) exit 1
              i99 = int(m * 0.99 + 0.999999); if (i99 < 1) i99 = 1; if (i99 > m) i99 = m
              printf "%s\t%d\t%d\tprocess\t%d\t%.4f\t%.1f\t%.0f\t%.0f\n", l, n, st, m, s, m / s,
                     d[int((m + 1) / 2)] * 1e6, d[i99] * 1e6 }'
}

# Shared awk functions: durations and numbers for people.
AWK_FMT='
function dur(s) {
    if (s != s + 0 || s < 0) return "–"
    if (s < 1e-6) return sprintf("%.0f ns", s * 1e9)
    if (s < 1e-3) return sprintf("%.0f µs", s * 1e6)
    if (s < 1) return sprintf("%.1f ms", s * 1e3)
    if (s < 120) return sprintf("%.1f s", s)
    if (s < 7200) return sprintf("%.1f min", s / 60)
    if (s < 172800) return sprintf("%.1f h", s / 3600)
    if (s < 2 * 31557600) return sprintf("%.1f days", s / 86400)
    return sprintf("%.3g years", s / 31557600)
}
function mrate(r) { return sprintf("%.1f", r / 1e6) }
function big(x) {
    if (x < 1e4) return sprintf("%.0f", x)
    if (x < 1e6) return sprintf("%.1fk", x / 1e3)
    if (x < 1e9) return sprintf("%.1fM", x / 1e6)
    if (x < 1e12) return sprintf("%.1fG", x / 1e9)
    return sprintf("%.2g", x)
}
function ratio(x) {
    if (x <= 0) return "–"
    if (x >= 1) return x < 1e5 ? sprintf("%.3g×", x) : sprintf("%.2g×", x)
    return 1 / x < 1e5 ? sprintf("1/%.0f", 1 / x) : sprintf("1/%.2g", 1 / x)
}
function log2(x) { return log(x) / log(2) }
'

# --- the header ---------------------------------------------------------------
{
    echo "# What postage costs: mint, verify and pay"
    echo
    echo "| | |"
    echo "|---|---|"
    echo "| machine | $CPU, $CPUS CPUs ($HOST) |"
    echo "| SHA-1 kernel | $SHA_KERNEL (the default here; every kernel is measured below) |"
    echo "| operating system | $OS_KERNEL |"
    echo "| date | $DATE |"
    echo "| postage | $VERSION |"
    echo "| mode | $MODE |"
    echo
    echo "Made by \`bench/report.sh\` (\`make bench\`). Every figure here was measured on this machine in this run,"
    echo "except the reference devices, which are marked *cited* or *estimated* with their sources. The machine may"
    echo "have been busy with other work: nothing here is a guarantee, and the raw data is in [data/](data/)."
    echo
} > "$R"

# --- 1. mint cost curves --------------------------------------------------------
if want mint; then
    log "mint cost curves"
    # shellcheck disable=SC2086
    "$MC" "$D" $MC_FLAGS > "$D/mint_curve.log" 2> "$D/mint_curve.err" ||
        die "mint_curve failed: $(cat "$D/mint_curve.err")"
    RATE_ALL=$(awk -F'\t' -v t="$CPUS" '$3 == 1 && $4 == t { print $5 }' "$D/rates.tsv")
    {
        echo "## Mint cost curves"
        echo
        echo "Every SHA-1 kernel this CPU runs, on 1 to $CPUS threads (\`postage_mint_rate\`: a real search, stopped"
        echo "after a fixed time). The time columns are the geometric model's: a stamp of b bits takes on average"
        echo "2^b trials; the median is ln 2 and the 95th percentile ln 20 (about 3) times the mean."
        echo
        echo "### Rates"
        echo
        echo "| kernel | lanes | threads | M trials/s | M trials/s per thread | mean at 20 bits | p95 at 24 bits |"
        echo "|---|---|---|---|---|---|---|"
        awk -F'\t' "$AWK_FMT"'
            NR > 1 { printf "| %s%s | %s | %s | %s | %s | %s | %s |\n", $1, ($3 == 1 ? " (default)" : ""),
                     $2, $4, mrate($5), mrate($5 / $4), dur(2 ^ 20 / $5), dur(log(20) * 2 ^ 24 / $5) }' \
            "$D/rates.tsv"
        echo
        MODEL_RATE=$(sed -n 's/^# kernel .* rate \([0-9]*\).*/\1/p' "$D/model.tsv")
        echo "### Time to mint, predicted from the rate ($SHA_KERNEL, $CPUS threads)"
        echo
        echo "From the default kernel's rate measured again just before the real mints below:"
        echo "$(awk -v r="$MODEL_RATE" 'BEGIN { printf "%.1f", r / 1e6 }') M trials/s."
        echo
        echo "| bits | mean trials | median | mean | 95th percentile |"
        echo "|---|---|---|---|---|"
        awk -F'\t' "$AWK_FMT"'
            /^[0-9]/ && $1 % 2 == 0 { printf "| %d | %s | %s | %s | %s |\n", $1, big(2 ^ $1), dur($3), dur($2), dur($4) }' \
            "$D/model.tsv"
        echo
        echo "### The model checked against real mints"
        echo
        echo "Real mints of fresh stamps ($SHA_KERNEL, $CPUS threads, each timed from the call to its return), as"
        echo "many at each level as fit a few seconds. *within p95* is the share no slower than the predicted 95th"
        echo "percentile: the model says 95%. At low bits the fixed cost of a mint (starting threads, the"
        echo "random part, the final OpenSSL check) is larger than the search itself, so the measured times sit"
        echo "above the curve there; from about 16 bits on, the search dominates."
        echo
        echo "| bits | mints | mean (model) | mean (measured) | median (model) | median (measured) | p95 (model) | p95 (measured) | within p95 |"
        echo "|---|---|---|---|---|---|---|---|---|"
        awk -F'\t' "$AWK_FMT"'
            NR > 1 { printf "| %d | %d | %s | %s | %s | %s | %s | %s | %.0f%% |\n", $1, $2, dur($3), dur($4),
                     dur($5), dur($6), dur($7), dur($8), $9 * 100 }' "$D/check.tsv"
        echo
        if [ -s "$D/mint_curve.err" ]; then
            sed 's/^mint_curve: /> /; s/$/\n/' "$D/mint_curve.err"
        fi
    } >> "$R"
    # shellcheck disable=SC2046
    "$B/bench/mint_batch" --data "$D" $([ "$QUICK" = 1 ] && echo --quick) >> "$R" 2> "$D/mint_batch.err" ||
        die "mint_batch failed: $(cat "$D/mint_batch.err")"
    # plot data
    awk -F'\t' '/^[0-9]/' "$D/model.tsv" > "$D/plot_model.dat"
    awk -F'\t' 'NR > 1' "$D/samples.tsv" > "$D/plot_samples.dat"
    awk -F'\t' 'NR > 1' "$D/check.tsv" > "$D/plot_check.dat"
    {
        gp_head mint_cost "Time to mint one stamp: the geometric model and real mints ($CPU, $SHA_KERNEL, $CPUS threads)"
        cat <<'EOF'
set logscale y
set format y "10^{%T}"
set xlabel "bits"
set ylabel "seconds"
set xrange [7:33]
set xtics 8,2,32
set key top left
set datafile separator "\t"
plot 'data/plot_model.dat' using 1:4 with lines lw 2 lc rgb "#c0392b" title "model: 95th percentile", \
     'data/plot_model.dat' using 1:2 with lines lw 2 lc rgb "#2c3e50" title "model: mean", \
     'data/plot_model.dat' using 1:3 with lines lw 2 dt 2 lc rgb "#2980b9" title "model: median", \
     'data/plot_samples.dat' using ($1 + (rand(0) - 0.5) * 0.5):2 with points pt 7 ps 0.35 lc rgb "#8027ae60" title "real mints (jittered)", \
     'data/plot_check.dat' using 1:8 with points pt 9 ps 1.6 lc rgb "#c0392b" title "measured 95th percentile", \
     'data/plot_check.dat' using 1:4 with points pt 5 ps 1.2 lc rgb "#2c3e50" title "measured mean", \
     'data/plot_check.dat' using 1:6 with points pt 13 ps 1.3 lc rgb "#2980b9" title "measured median"
EOF
        gp_svg mint_cost
    } > "$D/mint_cost.gp"
    gplot mint_cost
    awk -F'\t' 'NR > 1 { printf "%s\t%s\t%s\n", $1, $4, $5 / 1e6 }' "$D/rates.tsv" > "$D/plot_rates.dat"
    {
        gp_head mint_rates "SHA-1 search rate by kernel and threads ($CPU)"
        cat <<EOF
set xlabel "threads"
set ylabel "M trials/s"
set xrange [0.5:$CPUS + 0.5]
set xtics 1
set yrange [0:*]
set key top left
set datafile separator "\t"
kernels = system("cut -f1 data/plot_rates.dat | uniq | tr '\\\\n' ' '")
plot for [k in kernels] 'data/plot_rates.dat' using (strcol(1) eq k ? \$2 : NaN):3 with linespoints lw 2 pt 7 title k
EOF
        gp_svg mint_rates
    } > "$D/mint_rates.gp"
    gplot mint_rates
    {
        plot_files mint_cost "time to mint against bits"
        plot_files mint_rates "rate by kernel and threads"
    }
    MINT_DONE=1
fi

# --- 2. device profiles ---------------------------------------------------------
if want devices || want economics; then
    log "device profile (postage-mint --calibrate)"
    mkdir -p "$WORK/config"
    XDG_CONFIG_HOME="$WORK/config" POSTAGE_PROFILE= POSTAGE_RATE_CACHE= \
        "$MINT" --calibrate > "$D/calibrate.txt" 2>&1 || die "postage-mint --calibrate failed: $(cat "$D/calibrate.txt")"
    cp "$WORK/config/postage/device-profile" "$D/device-profile"
    XDG_CONFIG_HOME="$WORK/config" POSTAGE_PROFILE= POSTAGE_RATE_CACHE= \
        "$MINT" --budget 2s --json > "$D/budget.json" 2>&1 || die "postage-mint --budget failed: $(cat "$D/budget.json")"
    BUDGET_BITS=$(sed -n 's/.*"bits":\([0-9]*\).*/\1/p' "$D/budget.json")
    P_RATE=$(awk -v t="$CPUS" '$1 == "rate" && $2 == t { print $3 }' "$D/device-profile")
    P_RATE1=$(awk '$1 == "rate" && $2 == 1 { print $3 }' "$D/device-profile")
    # The device list: this machine (measured), then the reference rows.
    {
        printf 'here\tthis machine, %s threads: %s\tmeasured\t%s\t%s\tpostage-mint --calibrate in this run (%s)\tthis machine, %s threads\n' \
            "$CPUS" "$CPU" "$CPUS" "$P_RATE" "$SHA_KERNEL" "$CPUS"
        printf 'here1\tthis machine, one thread\tmeasured\t1\t%s\tpostage-mint --calibrate in this run (%s)\tthis machine, 1 thread\n' \
            "$P_RATE1" "$SHA_KERNEL"
        grep -v '^#' "$DEVICES" | grep .
    } > "$D/devices.tsv"
fi
if want devices; then
    {
        echo "## Device profiles"
        echo
        echo "\`postage-mint --calibrate\` measures a device once (about a second per thread count) and saves its"
        echo "profile — kernel, CPU model, date, trials per second on each thread count — in"
        echo "\`~/.config/postage/device-profile\` (format: postage-mint(1)). \`postage-mint --budget 2s\` and"
        echo "postage-sendmail's \`time_budget\` then choose the largest bits whose 95th-percentile time fits the"
        echo "budget. In this run the profile measured $(awk -v r="$P_RATE" 'BEGIN { printf "%.1f", r / 1e6 }') M trials/s on $CPUS threads, and"
        echo "\`postage-mint --budget 2s\` chose **$BUDGET_BITS bits** from it ([data/device-profile](data/device-profile),"
        echo "[data/budget.json](data/budget.json))."
        echo
        echo "Mean time to mint one stamp on each device (the median is 0.69 and the 95th percentile 3.0 times"
        echo "these). *measured*: this run; *cited*: a published figure; *estimated*: worked out from published"
        echo "figures, as the notes say. None of the reference rows was measured by this project."
        echo
        echo "| device | figure | threads | M trials/s | 16 bits | 18 bits | 20 bits | 22 bits | 24 bits | 26 bits | 28 bits | bits for a 2 s budget (p95) |"
        echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
        awk -F'\t' "$AWK_FMT"'
            { b = 0; while (b < 160 && log(20) * 2 ^ (b + 1) / $5 <= 2) b++
              printf "| %s | %s | %s | %s |", $2, $3, $4, mrate($5)
              for (k = 16; k <= 28; k += 2) printf " %s |", dur(2 ^ k / $5)
              printf " %d |\n", b }' "$D/devices.tsv"
        echo
        echo "Notes on the reference rows:"
        echo
        awk -F'\t' '$3 != "measured" { printf "- **%s** (%s): %s.\n", $2, $3, $6 }' "$D/devices.tsv"
        echo
    } >> "$R"
    awk -F'\t' 'BEGIN { printf "bits" } { printf "\t%s", $1; r[NR] = $5; n = NR }
        END { printf "\n"; for (b = 12; b <= 32; b++) { printf "%d", b; for (i = 1; i <= n; i++) printf "\t%.9g", 2 ^ b / r[i]; printf "\n" } }' \
        "$D/devices.tsv" > "$D/plot_devices.dat"
    awk -F'\t' '{ print ($7 != "" ? $7 : $2) }' "$D/devices.tsv" > "$D/plot_devices.names"
    {
        gp_head devices "Mean time to mint one stamp, by device (measured here; others cited or estimated)"
        cat <<'EOF'
set logscale y
set format y "10^{%T}"
set xlabel "bits"
set ylabel "seconds (mean; p95 is 3 times this)"
set xrange [12:32]
set xtics 12,2,32
set key top left noenhanced
set datafile separator "\t"
name(i) = system(sprintf("sed -n '%dp' data/plot_devices.names", i))
n = int(system("wc -l < data/plot_devices.names"))
set arrow from 12,1 to 32,1 nohead dt 3 lc rgb "#888888"
set arrow from 12,60 to 32,60 nohead dt 3 lc rgb "#888888"
set arrow from 12,86400 to 32,86400 nohead dt 3 lc rgb "#888888"
set label "1 s" at 31.9,1.5 right
set label "1 min" at 31.9,90 right
set label "1 day" at 31.9,130000 right
plot for [i=1:n] 'data/plot_devices.dat' using 1:(column(i + 1)) every ::1 with linespoints lw 2 pt 7 ps 0.6 title name(i)
EOF
        gp_svg devices
    } > "$D/devices.gp"
    gplot devices
    plot_files devices "mean time to mint by device"
fi

# --- 2b. memory-hard stamps (Argon2id) ----------------------------------------------
if want argon2id; then
    A2D="$top_srcdir/bench/argon2id_devices.tsv"
    [ -r "$A2D" ] || die "$A2D is missing"
    # kib(m): a memory size for people; shared with the tables below.
    A2_FMT="$AWK_FMT"'
function kib(m) {
    if (m >= 1048576 && m % 1048576 == 0) return sprintf("%d GiB", m / 1048576)
    if (m >= 1024 && m % 1024 == 0) return sprintf("%d MiB", m / 1024)
    return sprintf("%d KiB", m)
}
function persec(r) { return r > 0 ? big(r) "/s" : "–" }
function commas(n,   s) { s = sprintf("%.0f", n); while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s); return s }
function times(x) { if (x >= 1e4) x = sprintf("%.3g", x) + 0; return x >= 100 ? commas(x) "×" : ratio(x) }
function bits1(x) { return x == int(x) ? sprintf("%d", x) : sprintf("%.1f", x) }
function rel(x) { return x >= 0.1 && x < 10 ? sprintf("%.2f×", x) : ratio(x) }
'
    log "memory-hard stamps: Argon2id rates by backend"
    # shellcheck disable=SC2086
    "$A2C" rates --threads "$CPUS" $A2_RATES_FLAGS > "$D/argon2id_rates.tsv" 2> "$D/argon2id_rates.err" ||
        die "argon2id_curve rates failed: $(tail -n 3 "$D/argon2id_rates.err")"
    log "memory-hard stamps: real Argon2id mints"
    # shellcheck disable=SC2086
    "$A2C" mints --threads "$CPUS" $A2_MINTS_FLAGS > "$D/argon2id_mints.tsv" 2> "$D/argon2id_mints.err" ||
        die "argon2id_curve mints failed: $(tail -n 3 "$D/argon2id_mints.err")"
    log "memory-hard stamps: verification cost per stamp"
    # shellcheck disable=SC2086
    "$A2C" verify --threads "$CPUS" $A2_VERIFY_FLAGS > "$D/argon2id_verify.tsv" 2> "$D/argon2id_verify.err" ||
        die "argon2id_curve verify failed: $(tail -n 3 "$D/argon2id_verify.err")"
    # What auto resolves to and which Argon2 kernel postage's backend runs
    # here: asked of the library, never assumed.
    "$A2C" info > "$D/argon2id_info.tsv" 2> "$D/argon2id_info.err" ||
        die "argon2id_curve info failed: $(cat "$D/argon2id_info.err")"
    A2_AUTO=$(awk -F'\t' '$1 == "auto" { print $2 }' "$D/argon2id_info.tsv")
    A2_KERNEL=$(awk -F'\t' '$1 == "postage_kernel" { print $2 }' "$D/argon2id_info.tsv")
    A2_MB=$(awk -F'\t' 'NR == 2 { print $3; exit }' "$D/argon2id_mints.tsv")
    [ -n "$A2_MB" ] || A2_MB=$A2_AUTO
    log "memory-hard stamps: issue 21's goals (bench/argon2_kernels, t=1 then t=3)"
    # shellcheck disable=SC2086
    "$A2K" $A2K_T1_FLAGS > "$D/argon2_kernels_t1.tsv" 2> "$D/argon2_kernels_t1.err" ||
        die "argon2_kernels failed: $(tail -n 3 "$D/argon2_kernels_t1.err")"
    # shellcheck disable=SC2086
    "$A2K" $A2K_T3_FLAGS > "$D/argon2_kernels_t3.tsv" 2> "$D/argon2_kernels_t3.err" ||
        die "argon2_kernels failed: $(tail -n 3 "$D/argon2_kernels_t3.err")"
    log "memory-hard stamps: where one hash's time goes (bench/argon2_floor)"
    # shellcheck disable=SC2086
    "$A2F" $A2F_FLAGS > "$D/argon2_floor.tsv" 2> "$D/argon2_floor.err" ||
        die "argon2_floor failed: $(tail -n 3 "$D/argon2_floor.err")"

    # SHA-1 on this machine, for the GPU table: the best kernel on one
    # thread and on every thread, from the mint section of this run when it
    # ran, else from postage-mint --speed.
    if [ "${MINT_DONE:-0}" = 1 ] && [ -s "$D/rates.tsv" ]; then
        awk -F'\t' -v t="$CPUS" 'NR > 1 && $4 == 1 && $5 > r1 { r1 = $5; k1 = $1 }
            NR > 1 && $4 == t && $5 > rn { rn = $5; kn = $1 }
            END { printf "%.0f\t%s\t%.0f\t%s\n", r1, k1, rn, kn }' "$D/rates.tsv" > "$D/argon2id_sha1.tsv"
        SHA1_HOW="the mint section above (postage_mint_rate, every kernel)"
    else
        "$MINT" --speed --json > "$D/argon2id_sha1_speed.json" 2> "$D/argon2id_sha1_speed.err" ||
            die "postage-mint --speed --json failed: $(cat "$D/argon2id_sha1_speed.err")"
        awk 'BEGIN { RS = "{" }
            /"name":/ && /"supported":true/ && /"selftest":true/ {
                match($0, /"name":"[^"]*"/); n = substr($0, RSTART + 8, RLENGTH - 9)
                match($0, /"rate_1":[0-9.]+/); r1 = substr($0, RSTART + 9, RLENGTH - 9) + 0
                match($0, /"rate_all":[0-9.]+/); ra = substr($0, RSTART + 11, RLENGTH - 11) + 0
                if (r1 > b1) { b1 = r1; k1 = n }
                if (ra > ba) { ba = ra; ka = n } }
            END { printf "%.0f\t%s\t%.0f\t%s\n", b1, k1, ba, ka }' "$D/argon2id_sha1_speed.json" > "$D/argon2id_sha1.tsv"
        SHA1_HOW="\`postage-mint --speed --json\` in this section ([data/argon2id_sha1_speed.json](data/argon2id_sha1_speed.json))"
    fi
    IFS=$'\t' read -r SHA1_1 SHA1_1K SHA1_N SHA1_NK < "$D/argon2id_sha1.tsv"
    GPU_SHA1=$(awk -F'\t' '$1 == "rtx4090" { print $5 }' "$DEVICES")
    GPU_SHA1_SRC=$(awk -F'\t' '$1 == "rtx4090" { print $6 }' "$DEVICES")
    [ -n "$GPU_SHA1" ] || die "$DEVICES has no rtx4090 row"

    # The model against the mints: per memory size and bits, from the mint
    # rate on every thread of the backend the mints used (auto's choice).
    awk -F'\t' -v mb="$A2_MB" '
        FNR == NR { if (FNR > 1 && $3 == mb) r[$1, $2, $4] = $6; next }
        FNR == 1 { next }
        { k = $1 SUBSEP $2 SUBSEP $5; if (!(k in n)) order[++g] = k
          if ($9 > 0) before[$1, $2] = $9
          i = ++n[k]; s[k, i] = $6; att[k] += $7 }
        END {
            print "memory_kib\tpasses\tbits\tmints\tmodel_mean\tmean\tmodel_p95\tp95\tmodel_attempts\tmean_attempts\twithin_p95\tsetup"
            for (j = 1; j <= g; j++) { k = order[j]; split(k, a, SUBSEP); m = n[k]
                for (x = 2; x <= m; x++) { v = s[k, x]; y = x - 1      # insertion sort, a few hundred at most
                    while (y >= 1 && s[k, y] > v) { s[k, y + 1] = s[k, y]; y-- } s[k, y + 1] = v }
                sum = 0; for (x = 1; x <= m; x++) sum += s[k, x]
                q = int(0.95 * m + 0.999999); if (q < 1) q = 1
                rt = ((a[1], a[2]) in before) ? before[a[1], a[2]] : r[a[1], a[2], "mint"]; mm = rt > 0 ? 2 ^ a[3] / rt : -1
                fr = r[a[1], a[2], "fresh"]; ru = r[a[1], a[2], "reuse"]
                su = fr > 0 && ru > fr ? 1 / fr - 1 / ru : -1
                w = 0; if (rt > 0) for (x = 1; x <= m; x++) w += s[k, x] <= log(20) * mm
                printf "%d\t%d\t%d\t%d\t%.9g\t%.9g\t%.9g\t%.9g\t%.0f\t%.3f\t%.3f\t%.9g\n", a[1], a[2], a[3], m, mm, sum / m,
                       (rt > 0 ? log(20) * mm : -1), s[k, q], 2 ^ a[3], att[k] / m, (rt > 0 ? w / m : -1), su } }' \
        "$D/argon2id_rates.tsv" "$D/argon2id_mints.tsv" > "$D/argon2id_mint_check.tsv"

    # The GPU table: measured CPU rates beside cited and estimated GPU ones.
    awk -F'\t' -v s1="$SHA1_1" -v s1k="$SHA1_1K" -v sn="$SHA1_N" -v snk="$SHA1_NK" -v gs="$GPU_SHA1" '
        function log2(x) { return log(x) / log(2) }
        FNR == NR { if (FNR == 1) next
            k = $1 SUBSEP $2; if (!(k in eq)) order[++n] = k
            eq[k] = $8
            if ($4 == "reuse" && $6 > c1[k]) { c1[k] = $6; b1[k] = $3 }
            if ($4 == "reuse" && $3 != "postage" && $6 > l1[k]) { l1[k] = $6; lb1[k] = $3 }
            if ($4 == "mint" && $6 > cn[k]) { cn[k] = $6; bn[k] = $3 }
            next }
        /^#/ || NF < 8 { next }
        $4 == "bandwidth" { bw = $7; next }
        $4 == "argon2id" { k = $5 SUBSEP $6; cited[k] = $7; if (!(k in eq)) { order[++n] = k; eq[k] = 8 + log2($5 * $6) } }
        END {
            print "stamp\tmemory_kib\tpasses\tcpu_core\tcpu_core_backend\tcpu_all\tcpu_all_backend\tgpu\tgpu_basis\tequivalent_bits_reference\tequivalent_bits_here\tcpu_core_library\tcpu_core_library_backend"
            printf "sha1\t0\t0\t%s\t%s\t%s\t%s\t%s\tcited\t0\t0\t%s\t%s\n", s1, s1k, sn, snk, gs, s1, s1k
            for (i = 1; i <= n; i++) { k = order[i]; split(k, a, SUBSEP)
                here = c1[k] > 0 && s1 > 0 ? sprintf("%.2f", log2(s1 / c1[k])) : "-"
                lib = sprintf("%s\t%s", l1[k] + 0, (k in lb1) ? lb1[k] : "-")
                if (bw > 0) printf "argon2id\t%d\t%d\t%s\t%s\t%s\t%s\t%.6g\testimated\t%.2f\t%s\t%s\n", a[1], a[2], c1[k] + 0,
                    (k in b1) ? b1[k] : "-", cn[k] + 0, (k in bn) ? bn[k] : "-", bw / (2 * a[1] * a[2] * 1024), eq[k], here, lib
                if (k in cited) printf "argon2id\t%d\t%d\t%s\t%s\t%s\t%s\t%s\tcited\t%.2f\t%s\t%s\n", a[1], a[2], c1[k] + 0,
                    (k in b1) ? b1[k] : "-", cn[k] + 0, (k in bn) ? bn[k] : "-", cited[k], eq[k], here, lib } }' \
        "$D/argon2id_rates.tsv" "$A2D" > "$D/argon2id_gpu.tsv"

    # Issue 21's goals, from bench/argon2_kernels (one thread, every
    # configuration interleaved in one run).  postage is the configuration
    # its backend runs (lib/argon2id.c): the dispatch's kernel with huge
    # pages and prefetching.  The verdicts are computed here, never written.
    GPU_A2=$(awk -F'\t' '$4 == "argon2id" && $5 == 65536 && $6 == 3 { print $7; exit }' "$A2D")
    [ -n "$GPU_A2" ] || die "$A2D has no cited Argon2id row at 65536 KiB, 3 passes"
    awk -F'\t' -v pc="postage/$A2_KERNEL/huge+prefetch" -v s1="$SHA1_1" -v gs="$GPU_SHA1" -v ga="$GPU_A2" '
        FNR == 1 { f++; next }
        { k = $1 SUBSEP $2 }
        f == 1 && !(k in seen1) { seen1[k] = 1; o1[++n1] = k }
        f == 2 && !(k in seen3) { seen3[k] = 1; o3[++n3] = k }
        $3 == pc { pg[k] = $4 }
        $3 ~ /^postage\// && $4 > bp[k] { bp[k] = $4; bc[k] = substr($3, 9) }
        $3 == "libargon2" { la[k] = $4 }
        $3 == "libsodium" { ls[k] = $4 }
        $3 ~ /^limit/ { lim[k] = $4; g = $3; sub(/^limit \(copy /, "", g); sub(/ GB.*/, "", g); gb[k] = g }
        function lib(k) { return la[k] > ls[k] ? la[k] : ls[k] }
        function row(goal, k, value, before, target, met, sha,   a) { split(k, a, SUBSEP)
            printf "%s\t%d\t%d\t%.6g\t%.6g\t%.6g\t%.6g\t%.6g\t%.6g\t%s\t%s\t%s\t%.6g\t%s\t%.6g\t%.6g\t%.6g\n", goal, a[1], a[2],
                pg[k], la[k], ls[k], lib(k), value, before, target, met ? "met" : "not met", gb[k], lim[k], bc[k], bp[k], sha, ga }
        END {
            print "goal\tmemory_kib\tpasses\tpostage\tlibargon2\tlibsodium\tfaster_library\tvalue\tbefore\ttarget\tverdict\tcopy_gbs\tlimit\tbest_postage_config\tbest_postage_rate\tsha1_gpu_over_core\tgpu"
            for (i = 1; i <= n1; i++) { k = o1[i]; v = lib(k) > 0 ? pg[k] / lib(k) : 0
                row("library", k, v, 1, "2", v >= 2, 0)
                split(k, a, SUBSEP); if (a[1] + 0 >= big) { big = a[1] + 0; kb = k } }
            if (kb != "") { v = lim[kb] > 0 ? pg[kb] / lim[kb] : 0
                row("limit", kb, v, lim[kb] > 0 ? lib(kb) / lim[kb] : 0, "0.667", v * 1.5 >= 1, 0) }
            for (i = 1; i <= n3; i++) { k = o3[i]; sr = s1 > 0 ? gs / s1 : 0; v = pg[k] > 0 ? ga / pg[k] : 0
                row("gpu", k, v, lib(k) > 0 ? ga / lib(k) : 0, "sha1", v > 0 && sr > 0 && v < sr, sr) } }' \
        "$D/argon2_kernels_t1.tsv" "$D/argon2_kernels_t3.tsv" > "$D/argon2id_goals.tsv"

    {
        echo "## Memory-hard stamps (Argon2id)"
        echo
        echo "An Argon2id stamp (EXT \`a2id=m<KiB>,t<passes>,p<lanes>\`, docs/argon2id.md) is valued by the leading"
        echo "zero bits of Argon2id over the stamp: each attempt fills *m* KiB of memory *t* times. Measured here with"
        echo "one lane (libsodium computes one lane only) by \`bench/argon2id_curve\` on three backends: *postage*, its"
        echo "own (lib/argon2id_core.c on the **$A2_KERNEL** fill-block kernel, the dispatch's choice on this CPU), and"
        echo "the libargon2 and libsodium libraries. Each on one thread with one work area reused for every attempt"
        echo "(\`postage_argon2id_rate\`; libsodium maps fresh memory inside every call whatever the caller does);"
        echo "libargon2 and postage with a fresh work area made, mapped and faulted in for every attempt, as a checker"
        echo "without a work area of its own pays; and a real \`postage_mint\` on all $CPUS"
        echo "threads, stopped by its progress callback as \`postage_mint_rate\` does for SHA-1 (the rate between"
        echo "its first progress report and the stop). *≈ SHA-1 bits* is what one attempt stands for at the"
        echo "reference exchange rate, \`postage_argon2id_equivalent_bits(0, …)\` = 8 + log2(m·t)."
        echo
        echo "### Rates by backend"
        echo
        echo "Cells: attempts per second (time of one attempt on one thread); each the median of interleaved"
        echo "repetitions ($(awk -F'\t' 'NR > 1 { print $9 == $10 ? "one run each" : "their range is in data/argon2id_rates.tsv"; exit }' "$D/argon2id_rates.tsv"))."
        echo
        echo "| memory | passes | ≈ SHA-1 bits an attempt | postage, 1 thread | libargon2, 1 thread | libsodium, 1 thread | postage, fresh area each attempt | libargon2, fresh area each attempt | postage, $CPUS threads | libargon2, $CPUS threads | libsodium, $CPUS threads | faster library on 1 thread | postage ÷ faster library, 1 thread |"
        echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        awk -F'\t' "$A2_FMT"'
            function cell(r, t) { return r > 0 ? sprintf("%s (%s)", persec(r), dur(t / r)) : "–" }
            function mint(b) { return cell(r[k, b "/mint"], th[k, b "/mint"]) }
            NR == 1 { next }
            { k = $1 SUBSEP $2; if (!(k in eq)) order[++n] = k; eq[k] = $8; r[k, $3 "/" $4] = $6; th[k, $3 "/" $4] = $5 }
            END { for (i = 1; i <= n; i++) { k = order[i]; split(k, a, SUBSEP)
                la = r[k, "libargon2/reuse"]; ls = r[k, "libsodium/reuse"]; po = r[k, "postage/reuse"]
                win = la >= ls ? sprintf("libargon2, %.1f×", la / ls) : sprintf("libsodium, %.1f×", ls / la)
                printf "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", kib(a[1]), a[2], bits1(eq[k]),
                    cell(po, 1), cell(la, 1), cell(ls, 1), cell(r[k, "postage/fresh"], 1), cell(r[k, "libargon2/fresh"], 1),
                    mint("postage"), mint("libargon2"), mint("libsodium"), win,
                    (po > 0 && (la > 0 || ls > 0) ? rel(po / (la > ls ? la : ls)) : "–") } }' \
            "$D/argon2id_rates.tsv"
        echo
        awk -F'\t' "$A2_FMT"'
            NR == 1 { next }
            { k = $1 SUBSEP $2; if (!(k in seen)) { seen[k] = 1; order[++n] = k }; r[k, $3 "/" $4] = $6 }
            END { for (i = 1; i <= n; i++) { k = order[i]; split(k, a, SUBSEP)
                    la = r[k, "libargon2/reuse"]; ls = r[k, "libsodium/reuse"]; lf = r[k, "libargon2/fresh"]
                    name = kib(a[1]) (a[2] > 1 ? sprintf(", %d passes", a[2]) : "")
                    po = r[k, "postage/reuse"]
                    if (po > 0) pw = pw sprintf("%s%s %s", (pw == "" ? "" : "; "), name, rel(po / (la > ls ? la : ls)))
                    if (la >= ls) a2 = a2 sprintf("%s%s %.1f×", (a2 == "" ? "" : "; "), name, la / ls)
                    else so = so sprintf("%s%s %.1f×", (so == "" ? "" : "; "), name, ls / la)
                    if (la > lf * 1.05)
                        sv = sv sprintf("%s%s: %s an attempt (fresh %s, %.1f× the reused)", (sv == "" ? "" : "; "),
                                        name, dur(1 / lf - 1 / la), dur(1 / lf), la / lf)
                    else
                        sv = sv sprintf("%s%s: nothing measurable (fresh %s, reused %s)", (sv == "" ? "" : "; "),
                                        name, dur(1 / lf), dur(1 / la))
                    if (a[2] == 1 && lf > 0 && la > lf)
                        pg = pg sprintf("%s%s at %s", (pg == "" ? "" : ", "), dur((1 / lf - 1 / la) / (a[1] / 4)), kib(a[1])) }
                  printf "On one thread here, "
                  if (a2 != "") printf "libargon2 (reused work area) is the faster library at %s", a2
                  if (a2 != "" && so != "") printf ", and "
                  if (so != "") printf "libsodium is the faster at %s", so
                  printf ". "
                  if (pw != "") printf "postage'"'"'s own backend, against the faster library on one thread: %s. ", pw
                  printf "Reusing a work area saves, against a fresh one per attempt: %s. ", sv
                  printf "The fresh area is mapped, faulted in and unmapped on every attempt"
                  if (pg != "") printf ": per 4 KiB of area that cost %s here. The library asks for transparent huge pages, which only an area of 2 MiB or more can get; below that every 4 KiB page is a fault of its own", pg
                  printf ". What faults cost depends heavily on the kernel and on virtualisation (this machine may be a virtual one), "
                  printf "so a minter or a busy checker should keep one area per thread.\n" }' "$D/argon2id_rates.tsv"
        echo
        echo "### Time to mint against bits"
        echo
        echo "Real mints of fresh stamps (\`postage_mint\`, $CPUS threads, each timed from the call to its return) with the"
        echo "backend named *auto* (auto: postage when a vector Argon2 kernel runs here, else libargon2; here it resolved"
        echo "to **$A2_MB**) against the geometric model: a stamp of b bits takes on average 2^b attempts, so"
        echo "mean = 2^b / rate and p95 = ln 20 · 2^b / rate, from the $A2_MB rate on $CPUS threads measured again"
        echo "just before each size's mints (the machine's load changes; the rates are in data/argon2id_mints.tsv). At low"
        echo "bits a mint cannot take less than one attempt on one thread, and every mint first maps and faults"
        echo "in a work area on each thread: *set-up* is what one fresh area costs more than a reused one (the rates"
        echo "above; the threads make theirs side by side), and the plot draws the model mean plus it as a dotted"
        echo "line. A mint also returns only once every thread has finished the attempt it was in (an attempt"
        echo "cannot be interrupted), which adds up to one attempt's time more. *attempts* counts the finished"
        echo "attempts of all threads (some run past the winning one)."
        echo
        echo "| memory | bits | mints | attempts (model) | attempts (measured mean) | set-up | mean (model) | mean (measured) | p95 (model) | p95 (measured) | within p95 |"
        echo "|---|---|---|---|---|---|---|---|---|---|---|"
        awk -F'\t' "$A2_FMT"'
            NR > 1 { printf "| %s%s | %d | %d | %s | %.1f | %s | %s | %s | %s | %s | %s |\n", kib($1), ($2 > 1 ? sprintf(", %d passes", $2) : ""),
                     $3, $4, big($9), $10, dur($12), dur($5), dur($6), dur($7), dur($8), ($11 >= 0 ? sprintf("%.0f%%", $11 * 100) : "–") }' \
            "$D/argon2id_mint_check.tsv"
        echo
        if [ -s "$D/argon2id_mints.err" ]; then
            grep '^argon2id_curve: ' "$D/argon2id_mints.err" | sed 's/^argon2id_curve: /> /; s/$/\n/'
        fi
        echo "### Verification cost per stamp"
        echo
        echo "\`postage_check\` of one valid Argon2id stamp again and again (one thread, no store), with the"
        echo "caller's reused work area (\`options.argon2id_work\`) of libargon2 and of postage, with none (a fresh area"
        echo "each check) on each, and with libsodium; beside it a 20-bit SHA-1 stamp, and an Argon2id stamp refused on its"
        echo "parameters (1 GiB claimed, beyond the bounds) before anything is computed. Cells: time per check"
        echo "(checks per second)."
        echo
        echo "| stamp | memory | passes | postage, reused area | postage, fresh area | libargon2, reused area | libargon2, fresh area | libsodium | postage ÷ libargon2, reused area | postage, reused area ÷ a SHA-1 check |"
        echo "|---|---|---|---|---|---|---|---|---|---|"
        awk -F'\t' "$A2_FMT"'
            function cell(us) { return us > 0 ? sprintf("%s (%s/s)", dur(us / 1e6), big(1e6 / us)) : "–" }
            NR == 1 { next }
            $1 == "sha1" { sha = $6; next }
            $1 == "argon2id-params-refused" { ref = $6; refm = $2; next }
            { t = ($1 ~ /-t[0-9]+$/) ? substr($1, index($1, "-t") + 2) : 1
              k = $2 SUBSEP t; if (!(k in seen)) { seen[k] = 1; order[++n] = k }; us[k, $3 "/" $4] = $6 }
            END {
                for (i = 1; i <= n; i++) { k = order[i]; split(k, a, SUBSEP)
                    pr = us[k, "postage/reused"]; lr = us[k, "libargon2/reused"]
                    printf "| Argon2id | %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", kib(a[1]), a[2], cell(pr), cell(us[k, "postage/fresh"]),
                        cell(lr), cell(us[k, "libargon2/fresh"]), cell(us[k, "libsodium/fresh"]),
                        (pr > 0 && lr > 0 ? rel(lr / pr) : "–"), (sha > 0 ? times(pr / sha) : "–") }
                printf "| Argon2id, out of bounds: refused | %s claimed | 1 | %s | – | – | – | – | – | %s |\n", kib(refm), cell(ref), (sha > 0 ? ratio(ref / sha) : "–")
                printf "| SHA-1, 20 bits | – | – | %s | – | – | – | – | – | 1× |\n", cell(sha) }' "$D/argon2id_verify.tsv"
        echo
        echo "### Goals of issue 21"
        echo
        echo "Issue 21 asks postage's own Argon2id (\`--argon2id-backend postage\`) for three things, one thread, on this"
        echo "machine, side by side in one run. All figures below come from one run of \`bench/argon2_kernels\` per row"
        echo "group ([data/argon2_kernels_t1.tsv](data/argon2_kernels_t1.tsv), [data/argon2_kernels_t3.tsv](data/argon2_kernels_t3.tsv)):"
        echo "every configuration interleaved, the median of the repetitions. *postage* is the configuration its backend"
        echo "runs: the dispatch's kernel here (**$A2_KERNEL**) with huge pages and prefetching (the other kernels and"
        echo "flag sets are in the data). **Before**: the faster of libargon2 and libsodium measured in the same run (the"
        echo "only choice before this backend), and the issue's own figures, *cited* (libargon2 and libsodium, one thread,"
        echo "on the issue reporter's 2-vCPU Intel Xeon with AVX-512: not this machine). The verdicts are computed from"
        echo "the figures in this run."
        echo
        echo "| goal | memory, passes | postage | before: faster library, this run | before: issue 21 (cited, another machine) | measured | target | verdict |"
        echo "|---|---|---|---|---|---|---|---|"
        awk -F'\t' "$A2_FMT"'
            BEGIN { ia["64"] = "22,980"; is["64"] = "25,030"; ia["1024"] = "2,160"; is["1024"] = "3,465"
                    ia["16384"] = "103"; is["16384"] = "161"; ia["65536"] = "18.3"; is["65536"] = "23.3" }
            function libs() { return sprintf("%s (libargon2 %s, libsodium %s)", persec($7), persec($5), persec($6)) }
            function mp() { return kib($2) ", t=" $3 }
            NR == 1 { next }
            $1 == "library" {
                printf "| ≥ 2× the faster library | %s | %s | %s | %s | %s | ≥ 2× | %s |\n", mp(), persec($4), libs(),
                    ($2 in ia) ? sprintf("libargon2 %s/s, libsodium %s/s", ia[$2], is[$2]) : "–", rel($8), $11 }
            $1 == "limit" {
                printf "| within 1.5× of the copy limit | %s | %s (%.2f of the limit) | %s (%.2f of the limit) | %s | %.2f of the limit (copy %.1f GB/s ÷ %s a hash = %s) | ≥ 0.67 | %s |\n",
                    mp(), persec($4), $8, libs(), $9, ($2 == 65536 && $3 == 1 ? "libsodium 23.3/s against ~75/s (~15 GB/s ÷ 192 MiB): about 1/3" : "–"),
                    $8, $12, kib(3 * $2 * $3), persec($13), $11 }
            $1 == "gpu" {
                printf "| GPU ÷ one core below SHA-1'"'"'s | %s | %s: RTX 4090 %s ÷ it = %s | %s: GPU ÷ it = %s | RTX 4090 ÷ one core 259–518× against SHA-1'"'"'s 179× (the report before) | %s | below SHA-1'"'"'s %s | %s |\n",
                    mp(), persec($4), persec($17), times($8), persec($7), times($9), times($8), times($16), $11 }' "$D/argon2id_goals.tsv"
        echo
        awk -F'\t' "$A2_FMT"'
            NR == 1 { next }
            $1 == "gpu" && $2 != 65536 { q = 1 }
            { name = kib($2) ($3 > 1 ? sprintf(", t=%d", $3) : "")
              if (!(($2, $3) in said) && $15 > $4 * 1.03) said[$2, $3] = 1; else next
              alt = alt sprintf("%s%s: %s (%s, %s the backend'"'"'s)", (alt == "" ? "" : "; "), name, $14, persec($15), rel($15 / $4)) }
            END {
                printf "SHA-1'"'"'s ratio is the cited RTX 4090 figure (bench/devices.tsv) over this machine'"'"'s fastest SHA-1 kernel on one thread, from %s; the GPU'"'"'s Argon2id figure is the one cited at 64 MiB, 3 passes (bench/argon2id_devices.tsv). ", sha1how
                if (alt != "") printf "Where another kernel or flag set beat the backend'"'"'s configuration by more than 3%%: %s. ", alt
                if (q) printf "(Quick mode: the GPU row divides the 64 MiB figure by a smaller size'"'"'s rate; only the full run'"'"'s row means anything.) "
                printf "The limit is a copy'"'"'s bandwidth on one core divided by the bytes a hash moves (3 KiB a block: its reference block read, the block it overwrites read and written), as bench/argon2_kernels measures it.\n" }' \
            sha1how="$SHA1_HOW" "$D/argon2id_goals.tsv"
        echo
        echo "#### Where one hash's time goes: why one thread stops short of the copy limit"
        echo
        echo "One fill of $((A2F_KIB / 1024)) MiB, t=1 (\`bench/argon2_floor\`, one lane, one pass, the **$A2_KERNEL** kernel, medians of"
        echo "interleaved repetitions: [data/argon2_floor.tsv](data/argon2_floor.tsv)), slice by slice, beside the same loop"
        echo "with its memory or its arithmetic taken away, and two hashes computed at once. Nanoseconds per block."
        echo
        echo "| what | slice 0 | slice 1 | slice 2 | slice 3 | whole fill | fills/s | of the limit |"
        echo "|---|---|---|---|---|---|---|---|"
        awk -F'\t' "$A2_FMT"'
            BEGIN { d["hash"] = "one hash: the kernel'"'"'s segment loop, prefetching, huge pages"
                    d["pair"] = "two hashes at once, block by block in turn (per block of either)"
                    d["compute"] = "the arithmetic alone: three blocks in L1"
                    d["compute_dependent"] = "the same, each reference picked by the word 0 before"
                    d["memory"] = "the memory alone: the same loop and references, G replaced by XOR"
                    d["limit"] = "the copy limit (3 KiB a block at a copy'"'"'s bandwidth)"
                    d["latency"] = "one random load from the area (a pointer chase)" }
            NR == 1 { next }
            $1 == "latency" { printf "| %s | %s ns a load | | | | | | |\n", d[$1], $6; next }
            { printf "| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %s | %.2f |\n", ($1 in d) ? d[$1] : $1, $2, $3, $4, $5, $6, persec($7), $8 }' \
            "$D/argon2_floor.tsv"
        echo
        # The argument, computed from the figures above: what 0.67 of the
        # limit needs per block, what the arithmetic alone reaches, how
        # much of a data-dependent block is waiting, and what a pair gave.
        awk -F'\t' "$A2_FMT"'
            NR == 1 { next }
            { s0[$1] = $2; s1[$1] = $3; s2[$1] = $4; s3[$1] = $5; ns[$1] = $6; of[$1] = $8 }
            END {
                need = ns["limit"] * 1.5; ind = (s0["hash"] + s1["hash"]) / 2; dep = (s2["hash"] + s3["hash"]) / 2
                wait = dep - ind; lat = ns["latency"]; need_dep = 2 * need - ind
                printf "Within 1.5× of the limit means at most %.0f ns a block on average. The arithmetic alone takes %.0f ns (%.2f of the limit if memory were free): %.0f%% of that allowance before any block waits for memory. ", need, ns["compute"], of["compute"], 100 * ns["compute"] / need
                printf "The data-independent slices (0 and 1), whose references are known ahead and prefetched, run at %.0f ns a block. In the data-dependent slices (2 and 3) a block takes its reference from word 0 of the block before, final only after that block'"'"'s row rounds and first column round, so each block waits for one random load (%.0f ns here) with only the rest of the block before to overlap it: ", ind, lat
                if (wait > 0) printf "they run at %.0f ns, %.0f ns more. ", dep, wait
                else printf "they run at %.0f ns, no slower (at this size the references stay in cache). ", dep
                if (of["hash"] * 1.5 >= 1) printf "Here one hash reaches %.2f of the limit: the goal holds. ", of["hash"]
                else if (need_dep > ns["compute"]) printf "With the first half as it is, reaching 0.67 would need %.0f ns a block in the second: at most %.0f ns of waiting a block, %.0f%% of one load. ", need_dep, need_dep - ns["compute"], 100 * (need_dep - ns["compute"]) / lat
                else printf "With the first half as it is, reaching 0.67 would need %.0f ns a block in the second, less than the arithmetic alone. ", need_dep
                mi = (s0["memory"] + s1["memory"]) / 2; md = (s2["memory"] + s3["memory"]) / 2
                printf "Without the arithmetic, the same loop moves a data-independent block in %.0f ns (the limit allows %.0f)%s, and a data-dependent one in %.0f ns, about one load: the waits, not the traffic, are what cost. ", mi, ns["limit"], (mi < ns["limit"] ? ", so the bandwidth is there" : ""), md
                printf "Computing a second hash while the first waits is the one way to fill those waits from one thread. Measured, two hashes at once run at %.0f ns a block, %s the speed of one at a time (%.2f of the limit)", ns["pair"], rel(ns["hash"] / ns["pair"]), of["pair"]
                if (ns["pair"] > ns["hash"]) printf ": slower%s.\n", (s0["pair"] > s0["hash"] && s1["pair"] > s1["hash"] ? ", and slower in the data-independent slices too, where no block waits on the one before: the two hashes compete for the core'"'"'s caches and its outstanding misses instead of filling each other'"'"'s waits" : "")
                else printf "%s.\n", (of["pair"] * 1.5 >= 1 ? ", within the goal: a two-attempt minter would reach it" : ", still short of the goal")
                if (quick) printf "\n(Quick mode: %s fits in this machine'"'"'s caches; only the full run'"'"'s 64 MiB figures mean anything.)\n", "1 MiB" }' quick="$QUICK" \
            "$D/argon2_floor.tsv"
        echo
        echo "### GPU against CPU: the attacker's advantage"
        echo
        echo "What one RTX 4090 could do against one core of this machine. CPU columns are measured in this run:"
        echo "Argon2id on the fastest backend per size (reused work area; *all cores*: a real mint on $CPUS threads; the"
        echo "*before* column: the faster library alone, the only choice before postage's own backend),"
        echo "SHA-1 on the fastest kernel, from $SHA1_HOW. GPU figures are **not measured here**: SHA-1 is *cited*"
        echo "(bench/devices.tsv: $GPU_SHA1_SRC); Argon2id at 64 MiB and 3 passes is *cited* (bench/argon2id_devices.tsv:"
        echo "$(awk -F'\t' '$4 == "argon2id" { print $9; exit }' "$A2D")); every other Argon2id figure is *estimated*"
        echo "as memory-bandwidth-bound: $(awk -F'\t' '$4 == "bandwidth" { printf "%.0f GB/s", $7 / 1e9; exit }' "$A2D") (NVIDIA's specification) divided by"
        echo "2 · m · t KiB an attempt (every block written once a pass and one reference block read for it; the"
        echo "previous block assumed on chip) — a ceiling on bandwidth alone, not a benchmark. *SHA-1 bits an"
        echo "attempt is worth*: at the reference exchange rate, and here (log2 of this core's SHA-1 rate over its"
        echo "Argon2id rate). The last column divides the GPU's lead at that size by its lead at SHA-1: below 1×,"
        echo "memory-hardness narrows the gap; above, it widens it."
        echo
        echo "| stamp | SHA-1 bits an attempt is worth: reference / here | this machine, one core (measured) | this machine, all $CPUS cores (measured) | RTX 4090 | GPU figure | GPU ÷ one core | GPU ÷ this machine | GPU ÷ one core, against SHA-1's | before: GPU ÷ one core on the faster library |"
        echo "|---|---|---|---|---|---|---|---|---|---|"
        awk -F'\t' "$A2_FMT"'
            function cpu(r, b) { return r > 0 ? sprintf("%s (%s)", persec(r), b) : "not measured" }
            function q(g, c) { return c > 0 ? times(g / c) : "–" }
            NR == 1 { next }
            $1 == "sha1" { sr = $4 > 0 ? $8 / $4 : 0
                printf "| SHA-1 (hashcash) | 1 / 1 | %s | %s | %s | cited | %s | %s | 1.00× | %s |\n", cpu($4, $5), cpu($6, $7), persec($8), q($8, $4), q($8, $6), q($8, $4); next }
            { printf "| Argon2id, %s%s | %s / %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", kib($2), ($3 > 1 ? sprintf(", %d passes", $3) : ""),
                bits1($10), ($11 == "-" ? "–" : sprintf("%.1f", $11)), cpu($4, $5), cpu($6, $7), persec($8), $9, q($8, $4), q($8, $6),
                ($4 > 0 && sr > 0 ? rel($8 / $4 / sr) : "–"), ($12 > 0 ? sprintf("%s (%s)", q($8, $12), $13) : "–") }' "$D/argon2id_gpu.tsv"
        echo
        awk -F'\t' "$A2_FMT"'
            NR == 1 { next }
            $1 == "sha1" { sr = $4 > 0 ? $8 / $4 : 0; sk = $5; next }
            $4 > 0 && sr > 0 { name = kib($2) ($3 > 1 ? sprintf(", %d passes", $3) : "") " (" $9 ")"
                x = $8 / $4 / sr; all = all sprintf("%s%s at %s", (all == "" ? "" : ", "), rel(x), name)
                if (x < 1) nar = nar (nar == "" ? "" : ", ") name; else wid++
                if ($9 == "cited") { cm = $2; ct = $3; cg = $8 } else est[$2, $3] = $8
                if ($9 == "estimated" && $3 == 1) { if (lo_m == "" || $2 + 0 < lo_m) { lo_m = $2 + 0; lo_r = $8 / $4 }
                                                    if ($2 + 0 > hi_m) { hi_m = $2 + 0; hi_r = $8 / $4 } } }
            END {
                printf "Against SHA-1, where one RTX 4090 does %s the work of one core here, its lead at each Argon2id size, as a multiple of that, is %s. ", times(sr), all
                if (nar != "") printf "So memory-hardness narrows the GPU'"'"'s lead below SHA-1'"'"'s at %s%s. ", nar, (wid ? ", and not at the other sizes" : ": at every size measured")
                else printf "So on this machine memory-hardness does not narrow the GPU'"'"'s lead below SHA-1'"'"'s at any size measured (the SHA-1 side is postage'"'"'s %s kernel). ", sk
                printf "Differences of a few tens of percent are within this machine'"'"'s run-to-run noise (the ranges are in data/argon2id_rates.tsv). "
                if (cg > 0 && ((cm, ct) in est))
                    printf "For the one size with a cited figure (%s, %d passes) the bandwidth ceiling gives %s/s, the benchmark %s/s (%.0f%% of it), so the estimated rows are, if anything, generous to the GPU. ", kib(cm), ct, big(est[cm, ct]), big(cg), 100 * cg / est[cm, ct]
                if (lo_m > 0 && hi_m > lo_m)
                    printf "With the bandwidth estimate, the GPU'"'"'s lead over one core goes from %s at %s to %s at %s: the estimate falls as 1/(m·t), and the CPU'"'"'s time grows with m too (a little faster once the area outgrows its caches). ", times(lo_r), kib(lo_m), times(hi_r), kib(hi_m)
                printf "The CPU code measured is postage'"'"'s own backend (the %s kernel), libargon2 as Debian builds it (the portable reference code) and libsodium; the last column is what the faster library alone gave, as before postage had its own. ", kern
                if (bw > 0 && gbs > 0) printf "Why memory-hardness narrows the lead: a memory-bound hash runs as fast as memory lets it, on the GPU and on the core alike, and the RTX 4090'"'"'s %.0f GB/s is %s this core'"'"'s copy bandwidth measured in this run (%.1f GB/s, the goals above), where its SHA-1 lead, arithmetic alone, is %s. ", bw / 1e9, times(bw / 1e9 / gbs), gbs, times(sr)
                printf "\n" }' \
            kern="$A2_KERNEL" bw="$(awk -F'\t' '$4 == "bandwidth" { print $7; exit }' "$A2D")" \
            gbs="$(awk -F'\t' '$1 == "limit" { print $12; exit }' "$D/argon2id_goals.tsv")" \
            "$D/argon2id_gpu.tsv"
        echo
        echo "Limits, honestly:"
        echo
        awk -F'\t' "$A2_FMT"'
            NR == 1 { next }
            $1 == "argon2id" && $4 == "reused" && $3 == ab { if ($2 >= m) { m = $2; us = $6 } }
            END {
                b = '"$(awk '/#define POSTAGE_A2ID_DEFAULT_MIN_BITS/ { sub(/u$/, "", $3); print $3 }' "$top_srcdir/include/postage/argon2id.h")"'
                printf "- **Guessing.** A b-bit stamp is a correct guess, made without computing anything, with probability 2^-b whatever the memory. At the default minimum of %d bits one forged stamp in %d passes; the forger spends nothing, and the receiver spends one full check on every forgery", b, 2 ^ b
                if (m > 0) printf " (%s at %s here, with a reused area: %s of the receiving CPU for each forged stamp that gets through)", dur(us / 1e6), kib(m), dur(2 ^ b * us / 1e6)
                printf ". Memory-hardness prices minting, not guessing: the required bits, the double-spend store and the bounds checked before computing are what keep this in check.\n"
                printf "- **Verification costs one attempt.** A SHA-1 stamp costs its checker about a microsecond; an Argon2id stamp costs what one minting attempt costs (the table above), so a receiver that accepts large memory sizes accepts that cost per message, and should keep a work area per thread and the bounds (`argon2id_max`) tight.\n"
                printf "- **The GPU figures are not measurements.** One cited benchmark at one size; the other sizes are a bandwidth ceiling. At small memory a GPU may be limited by compute instead, or keep many instances in its 72 MB L2 cache and beat the DRAM ceiling. No ASIC, FPGA or multi-GPU figure is considered.\n"
                printf "- **The CPU figures are one shared, possibly virtual, machine** with postage'"'"'s own Argon2id on its %s kernel beside the Debian build of libargon2 (reference code) and libsodium; other CPUs, memory systems and Argon2 implementations differ, and page-fault costs in particular vary widely.\n", kern }' \
            ab="$A2_AUTO" kern="$A2_KERNEL" "$D/argon2id_verify.tsv"
        echo
        for f in argon2id_rates argon2id_verify; do
            if grep -qv '^\(rates\|verify\) ' "$D/$f.err" 2>/dev/null; then
                grep -v '^\(rates\|verify\) ' "$D/$f.err" | sed 's/^argon2id_curve: //; s/^/> /; s/$/\n/'
            fi
        done
    } >> "$R"

    # Plot: time to mint against bits, by memory size.
    awk -F'\t' 'NR > 1 { print $1 "\t" $2 "\t" $5 "\t" $6 }' "$D/argon2id_mints.tsv" > "$D/plot_a2id_samples.dat"
    awk -F'\t' 'NR > 1' "$D/argon2id_mint_check.tsv" > "$D/plot_a2id_check.dat"
    A2_MAXB=$(awk -F'\t' 'NR > 1 && $3 > m { m = $3 } END { print m + 1 }' "$D/argon2id_mint_check.tsv")
    {
        gp_head argon2id_mint "Time to mint one Argon2id stamp (t = 1, p = 1): model and real mints (auto: $A2_MB, $CPUS threads)"
        cat <<EOF
set logscale y
set format y "10^{%T}"
set xlabel "bits"
set ylabel "seconds"
set xrange [-0.5:$A2_MAXB + 0.5]
set xtics 1
set samples 400
set key outside right top noenhanced
set datafile separator "\t"
EOF
        # One colour a memory size; the line styles are explained once, in
        # black, so that the key stays short.  Model lines span the bits
        # measured at that size, half a bit either side.
        awk -F'\t' '
            function kib(m) { return m >= 1024 && m % 1024 == 0 ? sprintf("%d MiB", m / 1024) : sprintf("%d KiB", m) }
            NR > 1 && $2 == 1 { if (!($1 in seen)) { seen[$1] = 1; m[++n] = $1; lo[$1] = $3; hi[$1] = $3 }
                if ($3 < lo[$1]) lo[$1] = $3; if ($3 > hi[$1]) hi[$1] = $3
                if ($5 > 0) rate[$1] = 2 ^ $3 / $5; su[$1] = $12 }
            END {
                split("#2c3e50 #c0392b #27ae60 #8e44ad #d35400 #2980b9 #7f8c8d", col, " ")
                nl = ", \\\n     "
                printf "plot NaN with lines lw 2 lc rgb \"black\" title \"model mean (2^b / rate)\""
                printf "%sNaN with lines lw 1 dt 2 lc rgb \"black\" title \"model p95\"", nl
                printf "%sNaN with lines lw 1 dt 3 lc rgb \"black\" title \"model mean + set-up\"", nl
                printf "%sNaN with points pt 7 ps 0.4 lc rgb \"black\" title \"one mint (jittered)\"", nl
                printf "%sNaN with points pt 5 ps 1.3 lc rgb \"black\" title \"measured mean\"", nl
                printf "%sNaN with points pt 9 ps 1.5 lc rgb \"black\" title \"measured p95\"", nl
                for (i = 1; i <= n; i++) { c = col[(i - 1) % 7 + 1]; r = rate[m[i]]; k = m[i]
                    span = sprintf("(x >= %g && x <= %g ? %%s : NaN)", lo[k] - 0.5, hi[k] + 0.5)
                    if (r > 0) {
                        printf "%s" span " with lines lw 2 lc rgb \"%s\" title \"%s\"", nl, sprintf("2**x / %.9g", r), c, kib(k)
                        printf "%s" span " with lines lw 1 dt 2 lc rgb \"%s\" notitle", nl, sprintf("log(20) * 2**x / %.9g", r), c
                        if (su[k] > 0)
                            printf "%s" span " with lines lw 1 dt 3 lc rgb \"%s\" notitle", nl, sprintf("2**x / %.9g + %.9g", r, su[k]), c
                    } else
                        printf "%sNaN with lines lw 2 lc rgb \"%s\" title \"%s\"", nl, c, kib(k)
                    printf "%s'"'"'data/plot_a2id_samples.dat'"'"' using ($1 == %d && $2 == 1 ? $3 + (rand(0) - 0.5) * 0.4 : NaN):4 with points pt 7 ps 0.3 lc rgb \"%s\" notitle", nl, k, c
                    printf "%s'"'"'data/plot_a2id_check.dat'"'"' using ($1 == %d && $2 == 1 ? $3 : NaN):6 with points pt 5 ps 1.3 lc rgb \"%s\" notitle", nl, k, c
                    printf "%s'"'"'data/plot_a2id_check.dat'"'"' using ($1 == %d && $2 == 1 ? $3 : NaN):8 with points pt 9 ps 1.5 lc rgb \"%s\" notitle", nl, k, c }
                printf "\n" }' "$D/argon2id_mint_check.tsv"
        gp_svg argon2id_mint
    } > "$D/argon2id_mint.gp"
    gplot argon2id_mint

    # Plot: verification cost per stamp against memory.
    awk -F'\t' 'NR > 1 && $1 == "argon2id" { v[$2, $3 "/" $4] = $6 / 1e6; if (!($2 in s)) { s[$2] = 1; m[++n] = $2 } }
        END { for (i = 1; i <= n; i++) printf "%d\t%.9g\t%.9g\t%.9g\t%.9g\n", m[i], v[m[i], "libargon2/reused"], v[m[i], "libargon2/fresh"], v[m[i], "libsodium/fresh"], v[m[i], "postage/reused"] }' \
        "$D/argon2id_verify.tsv" > "$D/plot_a2id_verify.dat"
    A2_SHA=$(awk -F'\t' '$1 == "sha1" { printf "%.9g", $6 / 1e6 }' "$D/argon2id_verify.tsv")
    A2_REF=$(awk -F'\t' '$1 == "argon2id-params-refused" { printf "%.9g", $6 / 1e6 }' "$D/argon2id_verify.tsv")
    A2_XR=$(awk -F'\t' 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%g:%g", lo / 2, hi * 2 }' "$D/plot_a2id_verify.dat")
    A2_XT=$(awk -F'\t' '{ l = $1 >= 1024 ? sprintf("%d MiB", $1 / 1024) : sprintf("%d KiB", $1); printf "%s\"%s\" %d", (NR > 1 ? ", " : ""), l, $1 }' "$D/plot_a2id_verify.dat")
    {
        gp_head argon2id_verify "Cost of checking one Argon2id stamp (t = 1, p = 1) against its memory, one thread ($CPU)"
        cat <<EOF
set logscale xy
set format y "10^{%T}"
set xtics ($A2_XT)
set xrange [$A2_XR]
set xlabel "memory per attempt"
set ylabel "seconds per check"
set key right center noenhanced box opaque
set datafile separator "\t"
plot 'data/plot_a2id_verify.dat' using 1:5 with linespoints lw 2 pt 13 lc rgb "#d35400" title "postage ($A2_KERNEL), reused work area", \\
     'data/plot_a2id_verify.dat' using 1:2 with linespoints lw 2 pt 7 lc rgb "#27ae60" title "libargon2, reused work area", \\
     'data/plot_a2id_verify.dat' using 1:3 with linespoints lw 2 pt 5 lc rgb "#c0392b" title "libargon2, fresh area each check", \\
     'data/plot_a2id_verify.dat' using 1:4 with linespoints lw 2 pt 9 lc rgb "#8e44ad" title "libsodium (fresh memory each call)", \\
     ${A2_SHA:-NaN} with lines dt 2 lw 2 lc rgb "#2c3e50" title "a 20-bit SHA-1 stamp", \\
     ${A2_REF:-NaN} with lines dt 3 lw 2 lc rgb "#7f8c8d" title "an Argon2id stamp refused on its bounds"
EOF
        gp_svg argon2id_verify
    } > "$D/argon2id_verify.gp"
    gplot argon2id_verify
    {
        plot_files argon2id_mint "time to mint an Argon2id stamp against bits"
        plot_files argon2id_verify "cost of checking one Argon2id stamp against memory"
    }
fi

# --- 3. verifier cost curves -----------------------------------------------------
redis_curve() {  # -> $D/verify_redis.tsv, or a note in $D/verify_redis.note
    local harness="$top_srcdir/tests/lib/redis_harness.sh" rc
    : > "$D/verify_redis.tsv"
    rm -f "$D/verify_redis.note"
    if [ -r "$harness" ]; then
        # The harness is the test suite's (POSIX sh, sourced after
        # testlib.sh); it stops its server, by PID, when this sub-shell exits.
        top_srcdir="$top_srcdir" VC="$VC" RSIZES="$RSIZES" RCHECKS="$RCHECKS" VBUDGET="$VBUDGET" \
            sh -c '
            . "$top_srcdir/tests/lib/testlib.sh"
            . "$top_srcdir/tests/lib/redis_harness.sh"
            redis_start || { echo "redis_start failed" >&2; exit 3; }
            "$VC" "redis://127.0.0.1:$REDIS_PORT/0?prefix=bench:" --label redis --sizes "$RSIZES" \
                --checks "$RCHECKS" --budget "$VBUDGET" \
                --fill-pipe "redis-cli -p $REDIS_PORT --pipe > /dev/null"
            ' > "$D/verify_redis.tsv" 2> "$D/verify_redis.err"
        rc=$?
        REDIS_HOW="tests/lib/redis_harness.sh's redis_start"
    elif command -v redis-server > /dev/null && command -v redis-cli > /dev/null; then
        local port
        port=$(awk 'BEGIN { srand(); print 20000 + int(rand() * 30000) }')
        redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
            --dir "$WORK" > "$D/redis-server.log" 2>&1 &
        local rpid=$!
        pids+=("$rpid")
        local i
        for i in $(seq 50); do
            redis-cli -p "$port" ping > /dev/null 2>&1 && break
            sleep 0.1
        done
        "$VC" "redis://127.0.0.1:$port/0?prefix=bench:" --label redis --sizes "$RSIZES" \
            --checks "$RCHECKS" --budget "$VBUDGET" \
            --fill-pipe "redis-cli -p $port --pipe > /dev/null" > "$D/verify_redis.tsv" 2> "$D/verify_redis.err"
        rc=$?
        kill "$rpid" 2>/dev/null; wait "$rpid" 2>/dev/null
        REDIS_HOW="a private redis-server on loopback, no persistence (tests/lib/redis_harness.sh is not there yet)"
    else
        echo "Redis skipped: redis-server is not installed (apt-get install redis-server)." > "$D/verify_redis.note"
        return
    fi
    if [ "$rc" -eq 77 ]; then
        echo "Redis skipped: $REDIS_HOW could not run Redis here ($(tr '\n' ' ' < "$D/verify_redis.err"))." > "$D/verify_redis.note"
        : > "$D/verify_redis.tsv"
    elif [ "$rc" -ne 0 ]; then
        echo "Redis failed ($REDIS_HOW): $(tr '\n' ' ' < "$D/verify_redis.err")" > "$D/verify_redis.note"
    elif [ -s "$D/verify_redis.err" ]; then
        echo "Redis ($REDIS_HOW): $(tr '\n' ' ' < "$D/verify_redis.err")" > "$D/verify_redis.note"
    else
        echo "Redis: $REDIS_HOW." > "$D/verify_redis.note"
    fi
}

hashcash_curve() {  # -> $D/verify_hashcash.tsv, notes in $D/verify_hashcash.note
    : > "$D/verify_hashcash.tsv"
    : > "$D/verify_hashcash.note"
    if [ -z "$HC" ] || ! "$HC" -V 2>&1 | grep -q '1\.22'; then
        echo "hashcash 1.22 skipped: not installed (apt-get install hashcash)." > "$D/verify_hashcash.note"
        return
    fi
    local db="$WORK/hashcash.sdb" have=0 n start=$SECONDS t0 t1 one k i lat res="bench@example.org"
    echo "last_purged 700101000000" > "$db"
    for n in $HSIZES; do
        if [ "$n" -gt "$have" ]; then
            awk -v a="$have" -v b="$n" -v r="$res" \
                'BEGIN { for (i = a; i < b; i++) printf "1:0:261127:%s::pre%010d:%d 2419200\n", r, i, i }' >> "$db"
            have=$n
        fi
        if [ "$n" -gt 0 ] && [ -z "${hc_probed:-}" ]; then
            # The file really is read: a stored stamp is refused as spent.
            if "$HC" -u -t 261127000000 -cd -f "$db" -b 0 -r "$res" \
                "1:0:261127:$res::pre$(printf %010d $((n / 2))):$((n / 2))" > /dev/null 2>&1; then
                echo "hashcash accepted a stamp stored in its database: the generated file is not read; curve dropped." >> "$D/verify_hashcash.note"
                : > "$D/verify_hashcash.tsv"
                return
            fi
            hc_probed=1
        fi
        # One check first, to see how many fit the budget.
        t0=$EPOCHREALTIME
        "$HC" -u -t 261127000000 -cd -f "$db" -b 0 -r "$res" "1:0:261127:$res::cal$n:0" > /dev/null 2>&1 ||
            { echo "hashcash refused a fresh stamp at $n stored; curve stopped." >> "$D/verify_hashcash.note"; return; }
        t1=$EPOCHREALTIME
        one=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
        k=$(awk -v left=$((HC_BUDGET - (SECONDS - start))) -v o="$one" -v k="$HC_K" \
            'BEGIN { m = int(left / (o > 0 ? o : 0.001)); if (m > k) m = k; print m }')
        if [ "$k" -lt 3 ]; then
            echo "hashcash stopped before $n stored: one check took $(awk -v o="$one" 'BEGIN { printf "%.2f", o }') s, and three more would overrun the ${HC_BUDGET} s allowed." >> "$D/verify_hashcash.note"
            break
        fi
        : > "$WORK/hc.lat"
        for ((i = 0; i < k; i++)); do
            t0=$EPOCHREALTIME
            "$HC" -u -t 261127000000 -cd -f "$db" -b 0 -r "$res" "1:0:261127:$res::hc${n}x$i:$i" > /dev/null 2>&1 ||
                { echo "hashcash refused a fresh stamp at $n stored; curve stopped." >> "$D/verify_hashcash.note"; return; }
            t1=$EPOCHREALTIME
            echo "$t0 $t1" >> "$WORK/hc.lat"
        done
        lat_row hashcash "$n" "$n" "$WORK/hc.lat" >> "$D/verify_hashcash.tsv"
        [ "$k" -lt "$HC_K" ] && echo "hashcash at $n stored: timed over $k checks, not $HC_K (one takes $(awk -v o="$one" 'BEGIN { printf "%.2f", o }') s)." >> "$D/verify_hashcash.note"
    done
    rm -f "$db"
}

if want verify; then
    log "verifier cost curves: LMDB"
    # The hook times postage-verify processes against the store at each size.
    cat > "$WORK/pv_hook.sh" <<EOF
#!/bin/bash
. "$WORK/lat_row.sh"
: > "$WORK/pv.lat"
for ((i = 0; i < $PV_K; i++)); do
    s="1:0:261127:bench@example.org::pv\${VC_STORED}x\$i:\$i"
    t0=\$EPOCHREALTIME
    out=\$(LD_LIBRARY_PATH="$PV_LIBS\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" "$PV" --db "lmdb:$WORK/lmdb" -b 0 -r bench@example.org --now 261127 "\$s") || { echo "postage-verify failed: \$out" >&2; exit 1; }
    t1=\$EPOCHREALTIME
    [ "\$out" = "\$s ok" ] || { echo "postage-verify did not accept a fresh stamp: \$out" >&2; exit 1; }
    echo "\$t0 \$t1" >> "$WORK/pv.lat"
done
lat_row postage-verify "\$VC_SIZE" "\$VC_STORED" "$WORK/pv.lat" >> "$D/verify_process.tsv"
EOF
    chmod +x "$WORK/pv_hook.sh"
    declare -f lat_row > "$WORK/lat_row.sh"
    : > "$D/verify_process.tsv"
    "$VC" "lmdb:$WORK/lmdb" --label lmdb --sizes "$VSIZES" --checks "$VCHECKS" --sync-checks "$VSYNC" \
        --fill-lmdb --budget "$VBUDGET" --hook "$WORK/pv_hook.sh" > "$D/verify_lmdb.tsv" 2> "$D/verify_lmdb.err" ||
        die "verify_curve (LMDB) failed: $(cat "$D/verify_lmdb.err")"
    rm -rf "$WORK/lmdb"
    log "verifier cost curves: Redis"
    redis_curve
    log "verifier cost curves: hashcash 1.22"
    hashcash_curve
    cat "$D/verify_lmdb.tsv" "$D/verify_redis.tsv" "$D/verify_process.tsv" "$D/verify_hashcash.tsv" > "$D/verify.tsv"
    {
        echo "## Verifier cost curves"
        echo
        echo "Verify+spend per second against the number of stamps the store already holds. Library rows run"
        echo "\`postage_check()\` with the store, one stamp after another in one thread (parse, SHA-1, date window,"
        echo "atomic spend); process rows start one program per stamp, as a mail filter calling a program per"
        echo "message would (\`postage-verify --db\` with LMDB, fsync per spend; \`hashcash -cd\` with its flat file,"
        echo "which it scans from the top on every check). Stores are filled in bulk with distinct stamps in each"
        echo "store's own layout, and a filled stamp must then be reported spent, so the fill is known to be read."
        echo "Cells: checks per second (p99 latency)."
        echo
        awk -F'\t' "$AWK_FMT"'
            { key = $1 "/" $4; if (!(key in seen)) { seen[key] = 1; cols[++nc] = key }
              if (!($2 in rowseen)) { rowseen[$2] = 1; rows[++nr] = $2 }
              v[$2, key] = sprintf($7 < 10 ? "%.2g (%s)" : "%.0f (%s)", $7, dur($9 / 1e6)) }
            END {
                name["lmdb/nosync"] = "LMDB, no fsync"; name["lmdb/sync"] = "LMDB, fsync per spend (default)"
                name["redis/net"] = "Redis (loopback)"; name["postage-verify/process"] = "postage-verify process, LMDB"
                name["hashcash/process"] = "hashcash 1.22 process, flat file"
                # rows in ascending order (insertion sort; a handful)
                for (i = 2; i <= nr; i++) { x = rows[i]; j = i - 1
                    while (j >= 1 && rows[j] + 0 > x + 0) { rows[j + 1] = rows[j]; j-- } rows[j + 1] = x }
                printf "| stamps stored |"; for (c = 1; c <= nc; c++) printf " %s |", name[cols[c]]; printf "\n|---|"
                for (c = 1; c <= nc; c++) printf "---|"; printf "\n"
                for (r = 1; r <= nr; r++) { printf "| %s |", big(rows[r])
                    for (c = 1; c <= nc; c++) printf " %s |", ((rows[r], cols[c]) in v) ? v[rows[r], cols[c]] : "–"; printf "\n" }
            }' "$D/verify.tsv"
        echo
        [ -s "$D/verify_lmdb.err" ] && note "LMDB: $(tr '\n' ' ' < "$D/verify_lmdb.err")"
        [ -s "$D/verify_redis.note" ] && note "$(cat "$D/verify_redis.note")"
        if [ -s "$D/verify_hashcash.note" ]; then
            while IFS= read -r line; do note "$line"; done < "$D/verify_hashcash.note"
        fi
        echo "Each row is measured after filling the store to that size; the fresh stamps of the earlier"
        echo "measurements come on top (data/verify.tsv has the exact counts)."
        echo
    } >> "$R"
    for key in lmdb:sync lmdb:nosync redis:net postage-verify:process hashcash:process; do
        awk -F'\t' -v l="${key%%:*}" -v m="${key#*:}" '$1 == l && $4 == m { print ($2 < 1 ? 1 : $2) "\t" $7 }' \
            "$D/verify.tsv" > "$D/plot_verify_${key%%:*}_${key#*:}.dat"
    done
    {
        gp_head verify_curve "Verify+spend per second against stamps stored ($CPU)"
        cat <<'EOF'
set logscale xy
set format y "10^{%T}"
set xtics ("0" 1, "10" 10, "100" 100, "1k" 1e3, "10k" 1e4, "100k" 1e5, "1M" 1e6, "10M" 1e7)
set xrange [0.7:2e7]
set xlabel "stamps already stored"
set ylabel "checks per second"
set key below maxrows 3 noenhanced
set datafile separator "\t"
set style data linespoints
files = "lmdb_nosync lmdb_sync redis_net postage-verify_process hashcash_process"
titles = "'LMDB, library, no fsync' 'LMDB, library, fsync per spend' 'Redis, library' 'postage-verify, one process per check' 'hashcash 1.22 -cd, one process per check'"
plot for [i=1:words(files)] sprintf('data/plot_verify_%s.dat', word(files, i)) using 1:2 lw 2 pt 7 title word(titles, i)
EOF
        gp_svg verify_curve
    } > "$D/verify_curve.gp"
    # Empty series would stop gnuplot: give them a NaN point.
    for f in "$D"/plot_verify_*.dat; do [ -s "$f" ] || printf '1\tNaN\n' > "$f"; done
    gplot verify_curve
    plot_files verify_curve "checks per second against stamps stored"
    log "concurrent spends: group commit"
    { echo "### Concurrent spends: group commit"; echo; } >> "$R"
    top_builddir="$B" "$top_srcdir/bench/spend_group.sh" $([ "$QUICK" = 1 ] && echo --quick) \
        --dir "$OUT" --data "$D/spend_group.tsv" >> "$R" 2> "$D/spend_group.err" ||
        note "bench/spend_group.sh failed: $(tail -n 3 "$D/spend_group.err" | tr '\n' ' ')"
    log "through the milter: LMDB beside Redis"
    top_builddir="$B" top_srcdir="$top_srcdir" sh "$top_srcdir/bench/milter_backends.sh" $([ "$QUICK" = 1 ] && echo --quick) >> "$R" 2> "$D/milter_backends.log"
fi

# --- 4. economics -----------------------------------------------------------------
if want economics; then
    log "economics"
    "$ECON" --params > "$D/economics_params.tsv" || die "bench/economics --params failed"
    "$ECON" > "$D/economics.tsv" || die "bench/economics failed"
    {
        echo "## Economics: what each sender pays"
        echo
        echo "The price is postaged's own model (\`pd_price_compute\` and the record and decay code of"
        echo "\`policy/checks/reputation.c\`, linked into \`bench/economics\`), with its default settings:"
        echo
        echo "| setting | default |"
        echo "|---|---|"
        awk -F'\t' '{ printf "| `%s` | %s |\n", $1, $2 }' "$D/economics_params.tsv"
        echo
        echo "Each traffic profile is simulated message by message at each receiving site with a fixed clock:"
        echo "before each message both of its records (sender identity and client address) are decayed to that"
        echo "time and priced; then the updates postaged makes are applied (rate and messages, HELO and SPF"
        echo "failures, refusals over the cap; and, for a message that paid, accepted, stamps and bits paid). Every"
        echo "sender pays the price it is asked, one stamp of exactly that many bits per recipient, unless it is"
        echo "over the cap: then the message is refused and not retried. The figures are of the day after the"
        echo "profile's history."
        echo
        echo "The profiles:"
        echo
        awk -F'\t' 'NR > 1 { printf "- **%s**: %s.\n", $2, $3 }' "$D/economics.tsv"
        echo
        echo "### Bits"
        echo
        echo "*paid*: the price of the delivered messages. *asked*: the price before the cap, of every message of"
        echo "the day (a refused message was asked more than the cap of 28). *work a day*: the expected SHA-1"
        echo "trials (2^bits a stamp) for the delivered messages, and as bits (log2). The ratios compare with the"
        echo "person, per message at the asked price and per day to deliver everything at the asked price."
        echo
        echo "| sender | messages a day | delivered | refused | paid, bits: median (range) | asked, bits: median (max) | work a day | ≈ bits a day | per message vs the person | per day vs the person |"
        echo "|---|---|---|---|---|---|---|---|---|---|"
        awk -F'\t' "$AWK_FMT"'
            NR == 2 { pm = $14; pd = $17 }
            NR > 1 { paid = $8 > 0 ? sprintf("%d (%d–%d)", $11, $10, $12) : "–"
                     printf "| %s | %s | %s | %s | %s | %d (%d) | %s | %s | %s | %s |\n", $2, big($7), big($8), big($9), paid,
                            $14, $15, big($16), ($16 > 0 ? sprintf("%.1f", log2($16)) : "–"),
                            ratio(2 ^ ($14 - pm)), ratio($17 / pd) }' "$D/economics.tsv"
        echo
        echo "### CPU time on each device"
        echo
        echo "Per message: one stamp at the median asked price (**†**: over the cap, so refused whatever is paid;"
        echo "the time is what the price would have cost). Per day: minting the stamps of the delivered messages."
        echo
        awk -F'\t' "$AWK_FMT"'
            FNR == NR { dn[++nd] = $2; dr[nd] = $5; next }
            FNR == 1 { printf "| sender |"; for (i = 1; i <= nd; i++) printf " %s |", dn[i]; printf "\n|---|"
                       for (i = 1; i <= nd; i++) printf "---|"; printf "\n"; next }
            { printf "| %s |", $2
              for (i = 1; i <= nd; i++) printf " %s%s / %s |", dur(2 ^ $14 / dr[i]), ($14 > 28 ? " †" : ""), ($8 > 0 ? dur($16 / dr[i]) : "none delivered")
              printf "\n" }' "$D/devices.tsv" "$D/economics.tsv"
        echo
        awk -F'\t' "$AWK_FMT"'
            FNR == NR { if ($1 == "here") here = $5; next }
            FNR == 1 { next }
            $1 == "person" { p = $14; pday = $16 }
            $1 == "newsletter" { n = $14 }
            $1 == "bot" { b = $14; bref = $9 }
            $1 == "bot-day1" { b1 = $14; b1del = $8; b1day = $16 }
            END {
                printf "In short: the person pays %d bits a message (%s on this machine, %s a day). ", p, dur(2 ^ p / here), dur(pday / here)
                printf "An established newsletter pays %d bits, %s as much per message as the person. ", n, ratio(2 ^ (n - p))
                printf "A compromised home PC sending 10,000 a day to one site is asked %d bits on its first day (%s as much per message as the person) and delivers %d messages at a cost of %s here; ", b1, ratio(2 ^ (b1 - p)), b1del, dur(b1day / here)
                printf "once its record has caught up with it, it is asked %d bits and all %s of its messages are refused: it pays in time, not CPU.\n", b, big(bref)
            }' "$D/devices.tsv" "$D/economics.tsv"
        echo
    } >> "$R"
    awk -F'\t' 'FNR == NR { dn[++nd] = $1; dr[nd] = $5; next }
        FNR == 1 { next }
        { label = $1; sub(/^newsletter-new$/, "newsletter,\\n1st issue", label); sub(/^bot-day1$/, "home PC,\\nday 1", label)
          sub(/^bot$/, "home PC", label); sub(/^botnet-thin$/, "botnet,\\nspread thin", label)
          printf "%s", label; for (i = 1; i <= nd; i++) printf "\t%.6g", $17 / dr[i]; printf "\n" }' \
        "$D/devices.tsv" "$D/economics.tsv" > "$D/plot_economics.dat"
    awk -F'\t' '{ print ($7 != "" ? $7 : $2) }' "$D/devices.tsv" > "$D/plot_economics.names"
    {
        gp_head economics "CPU time a day to deliver every message at the price asked (log scale)"
        cat <<'EOF'
set logscale y
set format y "10^{%T}"
set ylabel "CPU seconds a day"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics noenhanced
set bmargin 4
set key inside top left vertical noenhanced
set datafile separator "\t"
set yrange [1e-6:*]
set arrow from graph 0, first 86400 to graph 1, first 86400 nohead dt 2 lc rgb "#c0392b"
set label "one CPU-day" at graph 0.99, first 130000 right tc rgb "#c0392b"
n = int(system("wc -l < data/plot_economics.names"))
name(i) = system(sprintf("sed -n '%dp' data/plot_economics.names", i))
plot for [i=2:n+1] 'data/plot_economics.dat' using i:xtic(1) title name(i - 1)
EOF
        gp_svg economics
    } > "$D/economics.gp"
    gplot economics
    plot_files economics "CPU time a day by sender and device"
fi

# --- 5. the policy daemon ---------------------------------------------------------
if want policy; then
    log "policy daemon: postaged beside postgrey"
    POLICY_SCRIPT="$top_srcdir/bench/policy_vs_postgrey.sh"
    {
        echo "## Policy daemon throughput"
        echo
    } >> "$R"
    if [ ! -x "$B/postaged" ] || [ ! -x "$B/bench/policy_load" ]; then
        note "Skipped: postaged or bench/policy_load is not built."
    else
        # shellcheck disable=SC2086
        top_builddir="$B" "$POLICY_SCRIPT" --stores disk $POLICY_FLAGS --results "$D/policy_curve.csv" \
            > "$D/policy.log" 2>&1
        prc=$?
        if [ ! -s "$D/policy_curve.csv" ] || [ "$(wc -l < "$D/policy_curve.csv")" -lt 2 ]; then
            note "Skipped: bench/policy_vs_postgrey.sh produced no curve (status $prc): $(tail -n 3 "$D/policy.log" | tr '\n' ' ')"
        else
            [ "$prc" -eq 0 ] || note "bench/policy_vs_postgrey.sh ended with status $prc: $(tail -n 2 "$D/policy.log" | tr '\n' ' ')"
            {
                echo "From \`bench/policy_vs_postgrey.sh --greylist-only\`: the same greylisting workload over the Postfix"
                echo "policy protocol on loopback, state on disk, every answer a deferral. postaged runs with"
                echo "\`spf = no\` and \`helo_checks = no\`, doing only what postgrey does, so that no name server's"
                echo "latency is measured (its SPF and HELO checks are DNS-bound). The load generator shares the machine's"
                echo "$CPUS cores with the server it measures. Closed loop: each connection sends its next request"
                echo "when the answer comes. Open loop: requests are due at the offered rate over 16 connections, and"
                echo "latency runs from each request's due time (a server that falls behind is charged for the wait)."
                echo "Postgrey's offered rate stops rising once it falls behind. Full log: [data/policy.log](data/policy.log)."
                echo
                echo "| load | postaged req/s | p50 ms | p99 ms | postgrey req/s | p50 ms | p99 ms |"
                echo "|---|---|---|---|---|---|---|"
                awk -F, '
                    NR > 1 && $1 == "disk" {
                        key = ($3 == "closed") ? sprintf("closed loop, %d connection%s", $4, $4 == 1 ? "" : "s") : sprintf("open loop, %d req/s offered", $5)
                        if (!(key in seen)) { seen[key] = 1; order[++n] = key }
                        v[key, $2] = sprintf("%.0f | %.3f | %.3f", $10, $11, $13) }
                    END { for (i = 1; i <= n; i++) { k = order[i]
                        printf "| %s | %s | %s |\n", k, ((k, "postaged") in v) ? v[k, "postaged"] : "– | – | –",
                               ((k, "postgrey") in v) ? v[k, "postgrey"] : "not run | – | –" } }' "$D/policy_curve.csv"
                echo
                grep -E '^  (throughput|postaged at)' "$D/policy.log" | sed 's/^  /> /; s/$/\n/'
            } >> "$R"
            for srv in postaged postgrey; do
                awk -F, -v s="$srv" 'NR > 1 && $1 == "disk" && $2 == s && $3 == "open" { print $5 "\t" $10 "\t" $13 }' \
                    "$D/policy_curve.csv" > "$D/plot_policy_$srv.dat"
                [ -s "$D/plot_policy_$srv.dat" ] || printf '1\tNaN\tNaN\n' > "$D/plot_policy_$srv.dat"
            done
            {
                gp_head policy_curve "Policy daemon under offered load: postaged beside postgrey (state on disk, $CPU)"
                cat <<'EOF'
unset title
set multiplot layout 1,2 title "Policy daemon under offered load: postaged beside postgrey (open loop, 16 connections)" noenhanced
set logscale xy
set xlabel "offered load, requests/s"
set key top left noenhanced
set datafile separator "\t"
set ylabel "answered, requests/s"
plot 'data/plot_policy_postaged.dat' using 1:2 with linespoints lw 2 pt 7 title "postaged", \
     'data/plot_policy_postgrey.dat' using 1:2 with linespoints lw 2 pt 5 title "postgrey", \
     x with lines dt 2 lc rgb "#888888" title "answered = offered"
set ylabel "p99 latency, ms"
set format y "10^{%T}"
plot 'data/plot_policy_postaged.dat' using 1:3 with linespoints lw 2 pt 7 title "postaged", \
     'data/plot_policy_postgrey.dat' using 1:3 with linespoints lw 2 pt 5 title "postgrey"
unset multiplot
EOF
                echo "set terminal svg size 960,600 dynamic enhanced font 'sans,11'"
                echo "set output 'policy_curve.svg'"
                cat <<'EOF'
set multiplot layout 1,2 title "Policy daemon under offered load: postaged beside postgrey (open loop, 16 connections)" noenhanced
set format y "%g"
set ylabel "answered, requests/s"
plot 'data/plot_policy_postaged.dat' using 1:2 with linespoints lw 2 pt 7 title "postaged", \
     'data/plot_policy_postgrey.dat' using 1:2 with linespoints lw 2 pt 5 title "postgrey", \
     x with lines dt 2 lc rgb "#888888" title "answered = offered"
set ylabel "p99 latency, ms"
set format y "10^{%T}"
plot 'data/plot_policy_postaged.dat' using 1:3 with linespoints lw 2 pt 7 title "postaged", \
     'data/plot_policy_postgrey.dat' using 1:3 with linespoints lw 2 pt 5 title "postgrey"
unset multiplot
EOF
            } > "$D/policy_curve.gp"
            gplot policy_curve
            plot_files policy_curve "requests per second and p99 latency against offered load"
        fi
    fi
fi

# --- 6. the milter through Postfix (bench/postfix_milter.sh writes the table) ---
if want milter; then
    log "milter: through a private Postfix"
    printf '## Milter through Postfix\n\n' >> "$R"
    top_builddir="$B" "$top_srcdir/bench/postfix_milter.sh" $([ "$QUICK" = 1 ] && echo --quick) --out "$D" \
        > /dev/null 2>&1
    if [ -s "$D/milter.md" ]; then cat "$D/milter.md" >> "$R"
    else note "Skipped: bench/postfix_milter.sh wrote no table (see data/milter.log)."; fi
fi

# --- 7. the stamping milter through Postfix (bench/stamp_milter.sh writes the table) ---
if want stamping; then
    log "stamping: through a private sending Postfix"
    printf '## Stamping milter through Postfix\n\n' >> "$R"
    top_builddir="$B" "$top_srcdir/bench/stamp_milter.sh" $([ "$QUICK" = 1 ] && echo --quick) --out "$D" \
        > /dev/null 2>&1
    if [ -s "$D/stamping.md" ]; then cat "$D/stamping.md" >> "$R"
    else note "Skipped: bench/stamp_milter.sh wrote no table (see data/stamping.log)."; fi
fi

{
    echo "## Files"
    echo
    echo "Made in $((SECONDS - T0)) s. Plots: $(cd "$OUT" && ls *.png 2>/dev/null | tr '\n' ' ')(and SVG beside each)."
    echo "Data and gnuplot scripts: [data/](data/)."
} >> "$R"
log "report written: $R"
echo "$R"
