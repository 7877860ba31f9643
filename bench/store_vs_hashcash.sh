#!/bin/bash
# store_vs_hashcash.sh - per-process check cost with a double-spend
# database: postage-verify (LMDB store) against hashcash 1.22 (flat file,
# linear scan), at several database sizes.
#
# Both tools check the same kind of stamp (0 claimed bits, so no minting
# time is involved) and both spend it: one process per check, as a mail
# filter calling a program per message would.  Each fresh stamp must be
# accepted; before timing, a preloaded stamp must be reported spent by both,
# which shows the preloaded databases are really consulted.
#
# The hashcash database is written directly in its text format
# ("last_purged 700101000000", then "STAMP 2419200" lines).  The postage
# store is bulk-loaded with mdb_load in its documented layout (database
# "spent", key SHA-256 of the stamp, value big-endian int64 expiry; see
# verify/store_lmdb.c); without python3 or mdb_load it falls back to feeding
# the stamps to postage-verify on standard input, which is much slower.
#
# Usage: bench/store_vs_hashcash.sh [--quick] [--sizes a,b,c] [-k K]
#   top_builddir  where postage-verify was built (default: the repo root)
#   HASHCASH      the hashcash 1.22 binary (default: from PATH)
#   TMPDIR        where the databases go (default /tmp)
#   HC_BUDGET     seconds allowed for the timed hashcash runs per size
#                 (default 60); fewer invocations are timed when one is slow
#   SETTLE        seconds to wait after writing the databases, so the disk
#                 has absorbed the bulk load before fsync-bound spends are
#                 timed (default 30; 0 with --quick)
# This is a measuring tool, not a test; times depend on the machine.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top_builddir=${top_builddir:-$(cd "$here/.." && pwd)}
sizes="0,100000,1000000"
k=200
hc_budget=${HC_BUDGET:-60}
settle=${SETTLE:-30}

while [ $# -gt 0 ]; do
    case $1 in
        --quick) sizes="0,1000"; k=20; settle=${SETTLE:-0}; shift ;;
        --sizes) sizes=${2:?--sizes needs a list}; shift 2 ;;
        -k) k=${2:?-k needs a number}; shift 2 ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed 's/^# \{0,1\}//; /^set -e/d'; exit 0 ;;
        *) echo "store_vs_hashcash.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
case $sizes in *[!0-9,]*|'') echo "store_vs_hashcash.sh: bad --sizes '$sizes'" >&2; exit 2 ;; esac
case $k in *[!0-9]*|''|0) echo "store_vs_hashcash.sh: bad -k '$k'" >&2; exit 2 ;; esac

die() { echo "store_vs_hashcash.sh: $*" >&2; exit 1; }

# Run the real binary rather than libtool's wrapper script, whose own
# start-up would be timed with every check.
pv_env=()
if [ -x "$top_builddir/.libs/lt-postage-verify" ]; then
    pv="$top_builddir/.libs/lt-postage-verify"; pv_env=(env "LD_LIBRARY_PATH=$top_builddir/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
elif [ -x "$top_builddir/.libs/postage-verify" ]; then
    pv="$top_builddir/.libs/postage-verify"; pv_env=(env "LD_LIBRARY_PATH=$top_builddir/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
elif [ -x "$top_builddir/postage-verify" ]; then
    pv="$top_builddir/postage-verify"
else
    die "postage-verify not found in $top_builddir (build it with make, or set top_builddir)"
fi
hc=${HASHCASH:-$(command -v hashcash || true)}
if [ -z "$hc" ] || [ ! -x "$hc" ]; then die "hashcash not found (apt-get install hashcash, or set HASHCASH)"; fi

resource="bench@example.org"
date6=261127                 # every stamp's DATE; both clocks are pinned to it
hc_now=${date6}000000
validity=2419200
# expires_at = 2026-11-27 00:00:00 UTC + 28 days, as postage-verify stores it
expires=$(( $(date -u -d 2026-11-27 +%s) + validity ))

work=$(mktemp -d "${TMPDIR:-/tmp}/store_vs_hashcash.XXXXXX")
trap 'rm -rf "$work"' EXIT

stamps() {  # stamps PREFIX COUNT: COUNT distinct stamps, one per line
    awk -v p="$1" -v n="$2" -v d="$date6" -v r="$resource" \
        'BEGIN { for (i = 0; i < n; i++) printf "1:0:%s:%s::%s%010d:%d\n", d, r, p, i, i }'
}

postage() { "${pv_env[@]}" "$pv" --db "$1" --create -b 0 -r "$resource" --now "$date6" "$2"; }
hashcash_check() { "$hc" -u -t "$hc_now" -cd -f "$1" -b 0 -r "$resource" "$2" 2>/dev/null; }

preload_postage() {  # DIR STAMPFILE COUNT
    local dir=$1 file=$2 n=$3
    if [ "$n" -eq 0 ]; then
        postage "$dir" "1:0:$date6:$resource::warmup:0" >/dev/null
        return
    fi
    if command -v python3 >/dev/null && command -v mdb_load >/dev/null; then
        mkdir -m 0700 "$dir"
        python3 - "$file" "$expires" <<'EOF' | mdb_load -s spent "$dir"
import hashlib, struct, sys
out = sys.stdout
out.write("VERSION=3\nformat=bytevalue\ntype=btree\nmapsize=4294967296\n"
          "maxreaders=126\nHEADER=END\n")
value = struct.pack(">q", int(sys.argv[2])).hex()
with open(sys.argv[1], "rb") as f:
    for line in f:
        out.write(" %s\n %s\n" % (hashlib.sha256(line.rstrip(b"\n")).hexdigest(), value))
out.write("DATA=END\n")
EOF
    else
        echo "  (no python3/mdb_load: preloading through postage-verify, slowly)"
        "${pv_env[@]}" "$pv" --db "$dir" --create -b 0 -r "$resource" --now "$date6" <"$file" >/dev/null || true
    fi
}

preload_hashcash() {  # FILE STAMPFILE
    { echo "last_purged 700101000000"; awk -v v="$validity" '{ print $0 " " v }' "$2"; } >"$1"
}

now_s() { echo "${EPOCHREALTIME/,/.}"; }

time_runs() {  # time_runs CMD DB PREFIX COUNT -> seconds on stdout; fails on a non-ok
    local cmd=$1 db=$2 prefix=$3 n=$4 i t0 t1
    t0=$(now_s)
    for ((i = 0; i < n; i++)); do
        $cmd "$db" "1:0:$date6:$resource::$prefix$(printf %010d "$i"):$i" >/dev/null \
            || die "$cmd did not accept fresh stamp $i ($prefix)"
    done
    t1=$(now_s)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }'
}

echo "postage-verify: $pv"
echo "hashcash:       $hc ($("$hc" -V 2>&1 | head -1))"
echo "databases under ${TMPDIR:-/tmp}; one process per check; clocks pinned to $date6; ${settle}s settle"
echo
printf '%10s | %6s %10s %10s | %6s %10s %10s | %8s\n' stored K "pv ms" "pv chk/s" K "hc ms" "hc chk/s" "hc/pv"
notes=()
IFS=, read -r -a size_list <<<"$sizes"
for n in "${size_list[@]}"; do
    n=$((10#$n))
    sfile="$work/stamps.$n"
    stamps "pre$n" "$n" >"$sfile"
    pdir="$work/pv.$n"
    hfile="$work/hc.$n.sdb"
    preload_postage "$pdir" "$sfile" "$n"
    preload_hashcash "$hfile" "$sfile"
    if [ "$n" -gt 0 ] && [ "$settle" -gt 0 ]; then
        sync
        sleep "$settle"
    fi

    # The databases must really be consulted: a preloaded stamp is spent.
    if [ "$n" -gt 0 ]; then
        probe=$(sed -n "$(( n / 2 + 1 ))p" "$sfile")
        out=$(postage "$pdir" "$probe" || true)
        [ "$out" = "$probe spent" ] || die "postage-verify did not report a preloaded stamp spent: $out"
        if hashcash_check "$hfile" "$probe"; then
            die "hashcash accepted a preloaded stamp: the generated $hfile is not read"
        fi
        out=$("$hc" -u -t "$hc_now" -cd -f "$hfile" -b 0 -r "$resource" "$probe" 2>&1 || true)
        case $out in
            *"spent stamp"*) ;;
            *) die "hashcash did not say 'spent stamp' for a preloaded stamp: $out" ;;
        esac
    fi

    pv_s=$(time_runs postage "$pdir" "pv$n" "$k")

    # Calibrate hashcash on one run; time fewer runs when each is slow.
    one=$(time_runs hashcash_check "$hfile" "cal$n" 1)
    hk=$(awk -v b="$hc_budget" -v o="$one" -v k="$k" \
        'BEGIN { m = int(b / (o > 0 ? o : 0.001)); if (m > k) m = k; if (m < 3) m = 3; print m }')
    [ "$hk" -lt "$k" ] && notes+=("at $n stored, hashcash was timed over $hk checks, not $k (one takes $(awk -v o="$one" 'BEGIN{printf "%.0f", o*1000}') ms; HC_BUDGET=${hc_budget}s)")
    hc_s=$(time_runs hashcash_check "$hfile" "hc$n" "$hk")

    awk -v n="$n" -v k="$k" -v ps="$pv_s" -v hk="$hk" -v hs="$hc_s" 'BEGIN {
        pm = ps * 1000 / k; hm = hs * 1000 / hk
        printf "%10d | %6d %10.2f %10.0f | %6d %10.2f %10.0f | %7.1fx\n",
               n, k, pm, 1000 / pm, hk, hm, 1000 / hm, hm / pm }'
    rm -rf "$pdir" "$hfile" "$sfile"
done
echo
echo "hc/pv: hashcash's time per check divided by postage-verify's (above 1: postage is faster)."
for note in "${notes[@]+"${notes[@]}"}"; do echo "note: $note"; done
