#!/bin/sh
# spend_group.sh - LMDB spends per second with 1, 2 and 8 concurrent
# spenders (sessions), group commit beside one commit per spend, in one
# run (bench/bench_spend; report.sh's verify section prints its table).
#
# Usage: bench/spend_group.sh [--quick] --dir DIR --data FILE
#   DIR: where the stores go (made and removed here): on the disk being
#   measured, since the point is the fsync.  FILE: the raw figures (TSV:
#   threads, stamps per message, mode, spends/s, p99 us per message).
#   Prints a Markdown table on stdout.
# Each cell is the median of REPS runs (3; 1 with --quick), the modes of a
# row interleaved so that the machine's load falls on each alike.
#   "one commit per spend" is the store as it was before group commit:
#   bench_spend --one-per-commit lets one message spend at a time (every
#   spend was serialised on the environment's lock, one commit each), and
#   a message's stamps are spent one by one (--each);
#   "group, one by one": group commit, a message's stamps spent one call
#   each, as postaged did before postage_store_spend_many;
#   "group commit": group commit, one postage_store_spend_many a message.
# A measuring tool, not a test: nothing is asserted.
set -u
B=${top_builddir:-.}
QUICK=0 DIR= DATA=
while [ $# -gt 0 ]; do
    case $1 in
    --quick) QUICK=1 ;;
    --dir) DIR=$2; shift ;;
    --data) DATA=$2; shift ;;
    *) echo "spend_group.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
[ -n "$DIR" ] && [ -n "$DATA" ] || { echo "usage: spend_group.sh [--quick] --dir DIR --data FILE" >&2; exit 2; }
BS="$B/bench/bench_spend"
[ -x "$BS" ] || { echo "spend_group.sh: $BS is not built" >&2; exit 1; }
if [ "$QUICK" = 1 ]; then SPENDS=40; REPS=1; else SPENDS=1600; REPS=3; fi
mkdir -p "$DIR" || exit 1
STORES=$(mktemp -d "$DIR/spend.XXXXXX") || exit 1
trap 'rm -rf "$STORES"' EXIT INT TERM
: > "$DATA"

n=0
# one THREADS STAMPS MODE FLAGS...: one run on a fresh store, one TSV row.
one() {
    t=$1 k=$2 mode=$3
    shift 3
    n=$((n + 1))
    # The same number of spends in every cell: COUNT messages per thread.
    count=$((SPENDS / t / k)); [ "$count" -ge 1 ] || count=1
    line=$("$BS" "$@" --stamps "$k" "lmdb:$STORES/s$n" "$count" "$t") ||
        { echo "spend_group.sh: bench_spend $* failed: $line" >&2; return 1; }
    rm -rf "$STORES/s$n"
    printf '%s\t%s\t%s\t%s\t%s\n' "$t" "$k" "$mode" \
        "$(echo "$line" | sed 's/.* rate \([0-9]*\)\/s .*/\1/')" \
        "$(echo "$line" | sed 's/.* p99_us \([0-9]*\) .*/\1/')" >> "$DATA"
}
for k in 1 4; do
    for t in 1 2 8; do
        r=0
        while [ $r -lt $REPS ]; do
            r=$((r + 1))
            one "$t" "$k" before --one-per-commit --each || exit 1
            [ "$k" -gt 1 ] && { one "$t" "$k" each --each || exit 1; }
            one "$t" "$k" group || exit 1
        done
    done
done

fs=$(stat -f -c %T "$STORES" 2>/dev/null || echo "?")
echo "LMDB spends per second (each spend fsynced, the default) with 1, 2 and 8 spenders sharing one handle, as"
echo "postaged's sessions do; a spender spends a message's stamps, then the next message's. Stores on $fs"
echo "(\`bench/spend_group.sh\`; each cell the median of $REPS run(s) of $SPENDS spends, modes interleaved). *One commit per spend*"
echo "is the store before group commit: one spend at a time, each its own transaction and fsync. *Group commit*:"
echo "spenders share a commit, and a message's stamps go in one \`postage_store_spend_many\` call. With one stamp"
echo "per message a commit holds at most one spend per spender, so batching alone gains at most about the number"
echo "of spenders. Cells: spends/s (p99 ms per message)."
echo
echo "| spenders | stamps per message | one commit per spend | group commit, stamps one by one | group commit | group ÷ one per spend |"
echo "|---|---|---|---|---|---|"
awk -F'\t' '
    function median(key,   m, i, j, x, a) { m = cnt[key]; for (i = 1; i <= m; i++) a[i] = val[key, i]
        for (i = 2; i <= m; i++) { x = a[i]; j = i - 1; while (j >= 1 && a[j] > x) { a[j + 1] = a[j]; j-- } a[j + 1] = x }
        return a[int((m + 1) / 2)] }
    { key = $1 SUBSEP $2 SUBSEP $3; c = ++cnt[key]; val[key, c] = $4; p99[key, c] = $5
      if (!(($1 SUBSEP $2) in seen)) { seen[$1 SUBSEP $2] = 1; rows[++nr] = $1 SUBSEP $2 } }
    function cell(key,   m, i, best) { if (!(key in cnt)) return "–"; m = median(key)
        for (i = 1; i <= cnt[key]; i++) if (val[key, i] == m) best = p99[key, i]
        return sprintf("%d (%.1f)", m, best / 1000) }
    END { for (r = 1; r <= nr; r++) { split(rows[r], f, SUBSEP)
            b = f[1] SUBSEP f[2] SUBSEP "before"; g = f[1] SUBSEP f[2] SUBSEP "group"
            e = f[1] SUBSEP f[2] SUBSEP "each"
            ratio = (b in cnt) && (g in cnt) && median(b) > 0 ? sprintf("%.1f×", median(g) / median(b)) : "–"
            printf "| %s | %s | %s | %s | %s | %s |\n", f[1], f[2], cell(b), (f[2] > 1 ? cell(e) : "(same)"), cell(g), ratio } }' "$DATA"
echo
