#!/bin/sh
# spend_group.sh - LMDB spends per second with 1, 2 and 8 concurrent
# spenders (sessions): one commit per spend, group commit as it was
# (the leader takes the batch at once) and group commit with gathering
# (the leader waits briefly for the crowd it saw at the last commit), in
# one run; the batch sizes; and what one fdatasync costs on the same file
# system, the floor under every commit (bench/bench_spend,
# bench/fsync_cost; report.sh's verify section prints its tables).
#
# Usage: bench/spend_group.sh [--quick] --dir DIR --data FILE
#   DIR: where the stores go (made and removed here): on the disk being
#   measured, since the point is the fsync.  FILE: the raw figures (TSV:
#   threads, stamps per message, mode, spends/s, p99 us per message,
#   commits, requests per commit, commits of 1, 2, ... requests, us in
#   the write transaction per commit, us waiting to gather per wait,
#   waits).
#   Prints Markdown tables on stdout.
# Each cell is the median of REPS runs (3; 1 with --quick), the modes of a
# row interleaved so that the machine's load falls on each alike.
#   "one commit per spend" is the store as it was before group commit:
#   bench_spend --one-per-commit lets one message spend at a time (every
#   spend was serialised on the environment's lock, one commit each), and
#   a message's stamps are spent one by one (--each);
#   "group, one by one": group commit with gathering, a message's stamps
#   spent one call each, as postaged did before postage_store_spend_many;
#   "group, no gathering": group commit as it was before gathering
#   (bench_spend --no-gather), one postage_store_spend_many a message;
#   "group + gathering": the store as it is.
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
FC="$B/bench/fsync_cost"
[ -x "$BS" ] || { echo "spend_group.sh: $BS is not built" >&2; exit 1; }
[ -x "$FC" ] || { echo "spend_group.sh: $FC is not built" >&2; exit 1; }
if [ "$QUICK" = 1 ]; then SPENDS=40; REPS=1; SYNCS=20; else SPENDS=3200; REPS=3; SYNCS=400; fi
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
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$k" "$mode" \
        "$(echo "$line" | sed 's/.* rate \([0-9]*\)\/s .*/\1/')" \
        "$(echo "$line" | sed 's/.* p99_us \([0-9]*\) .*/\1/')" \
        "$(echo "$line" | sed 's/.* commits \([0-9]*\) .*/\1/')" \
        "$(echo "$line" | sed 's/.* per_commit \([0-9.]*\) .*/\1/')" \
        "$(echo "$line" | sed 's/.* sizes \([0-9,]*\).*/\1/')" \
        "$(echo "$line" | sed 's/.* commit_us \([0-9]*\) .*/\1/')" \
        "$(echo "$line" | sed 's/.* gather_us \([0-9]*\) .*/\1/')" \
        "$(echo "$line" | sed 's/.* gathers \([0-9]*\) .*/\1/')" >> "$DATA"
}
# The fsync floor, before and after the spends (the load may change).
syncs() { "$FC" "$STORES" "$SYNCS" >> "$STORES/fsync.txt" || echo "spend_group.sh: fsync_cost failed" >&2; }
syncs
for k in 1 4; do
    for t in 1 2 8; do
        r=0
        while [ $r -lt $REPS ]; do
            r=$((r + 1))
            one "$t" "$k" before --one-per-commit --each || exit 1
            [ "$k" -gt 1 ] && { one "$t" "$k" each --each || exit 1; }
            one "$t" "$k" nogather --no-gather || exit 1
            one "$t" "$k" group || exit 1
        done
    done
done
syncs

fs=$(stat -f -c %T "$STORES" 2>/dev/null || echo "?")
echo "LMDB spends per second (each spend fsynced, the default) with 1, 2 and 8 spenders sharing one handle, as"
echo "postaged's sessions do; a spender spends a message's stamps, then the next message's. Stores on $fs"
echo "(\`bench/spend_group.sh\`; each cell the median of $REPS run(s) of $SPENDS spends, modes interleaved). *One commit per spend*"
echo "is the store before group commit: one spend at a time, each its own transaction and fsync. *Group commit*:"
echo "spenders share a commit, and a message's stamps go in one \`postage_store_spend_many\` call; *no gathering*:"
echo "the leader takes the batch at once (as before gathering); *+ gathering*: when the last commit showed a crowd,"
echo "the leader waits (at most half a commit, 200 µs) for as many spenders to queue. With one stamp per message a"
echo "commit holds at most one spend per spender, so batching alone gains at most about the number of spenders."
echo "Cells: spends/s (p99 ms per message)."
echo
echo "| spenders | stamps per message | one commit per spend | group, stamps one by one | group, no gathering | group + gathering | gathering ÷ none | group + gathering ÷ one per spend |"
echo "|---|---|---|---|---|---|---|---|"
AWKLIB='
    function median(key,   m, i, j, x, a) { m = cnt[key]; for (i = 1; i <= m; i++) a[i] = val[key, i]
        for (i = 2; i <= m; i++) { x = a[i]; j = i - 1; while (j >= 1 && a[j] > x) { a[j + 1] = a[j]; j-- } a[j + 1] = x }
        return a[int((m + 1) / 2)] }
    { key = $1 SUBSEP $2 SUBSEP $3; c = ++cnt[key]; val[key, c] = $4; p99[key, c] = $5
      c = int(S / $1 / $2); if (c < 1) c = 1; commits[key] += $6; spends[key] += $1 * c * $2
      txn_ns[key] += $9 * $6; wait_ns[key] += $10 * $11; if ($4 > 0) secs[key] += $1 * c * $2 / $4
      ns = split($8, sz, ","); for (i = 1; i <= ns; i++) hist[key, i] += sz[i]; if (ns > nh[key]) nh[key] = ns
      if (!(($1 SUBSEP $2) in seen)) { seen[$1 SUBSEP $2] = 1; rows[++nr] = $1 SUBSEP $2 } }
    function cell(key,   m, i, best) { if (!(key in cnt)) return "–"; m = median(key)
        for (i = 1; i <= cnt[key]; i++) if (val[key, i] == m) best = p99[key, i]
        return sprintf("%d (%.1f)", m, best / 1000) }
    function ratio(a, b) { return (a in cnt) && (b in cnt) && median(b) > 0 ? sprintf("%.1f×", median(a) / median(b)) : "–" }
    # Microseconds per commit, over all runs of the cell (as the time in
    # the transaction is): their time ÷ their commits.
    function us_per_commit(key) { if (!(key in cnt) || commits[key] == 0) return 0
        return 1e6 * secs[key] / commits[key] }'
awk -F'\t' -v S="$SPENDS" "$AWKLIB"'
    END { for (r = 1; r <= nr; r++) { split(rows[r], f, SUBSEP)
            b = f[1] SUBSEP f[2] SUBSEP "before"; g = f[1] SUBSEP f[2] SUBSEP "group"
            e = f[1] SUBSEP f[2] SUBSEP "each"; o = f[1] SUBSEP f[2] SUBSEP "nogather"
            printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", f[1], f[2], cell(b),
                (f[2] > 1 ? cell(e) : "(same)"), cell(o), cell(g), ratio(g, o), ratio(g, b) } }' "$DATA"
echo
echo "Commits of 1, 2, … 8 and more requests (a request is one message: 1 or 4 spends), all runs of the row"
echo "summed; a commit's cycle (the runs' time ÷ their commits), and of it the time in the write transaction"
echo "(its fdatasync included) and the leader's waiting to gather:"
echo
echo "| spenders | stamps | mode | requests per commit | µs per commit cycle | in the transaction | gathering | commits of 1 / 2 / 3 / 4 / 5 / 6 / 7 / 8 / more requests |"
echo "|---|---|---|---|---|---|---|---|"
awk -F'\t' -v S="$SPENDS" "$AWKLIB"'
    END { for (r = 1; r <= nr; r++) { split(rows[r], f, SUBSEP)
            if (f[1] == 1) continue
            split("nogather group", modes, " ")
            for (m = 1; m <= 2; m++) { key = f[1] SUBSEP f[2] SUBSEP modes[m]
                if (!(key in cnt) || commits[key] == 0) continue
                h = ""; more = 0
                for (i = 1; i <= nh[key]; i++) if (i <= 8) h = h (i > 1 ? " / " : "") (hist[key, i] + 0); else more += hist[key, i]
                for (i = nh[key] + 1; i <= 8; i++) h = h (i > 1 ? " / " : "") "0"
                printf "| %s | %s | %s | %.2f | %.0f | %.0f | %.0f | %s / %d |\n", f[1], f[2],
                    (modes[m] == "group" ? "+ gathering" : "no gathering"),
                    spends[key] / commits[key] / f[2], us_per_commit(key), txn_ns[key] / commits[key],
                    wait_ns[key] / commits[key], h, more } } }' "$DATA"
echo
# The bound: at 8 one-stamp spenders a commit carries at most 8 spends and
# costs at least what a lone commit costs (the same fdatasync, more pages).
awk -F'\t' -v S="$SPENDS" -v fsyncs="$STORES/fsync.txt" "$AWKLIB"'
    END { while ((getline line < fsyncs) > 0) { split(line, w, " ")
              if (w[1] == "overwrite") { ow += w[5]; no++ } else if (w[1] == "append") { ap += w[5]; na++ }
              else if (w[1] == "overwrite12") { o12 += w[5]; n12++ } }
          b1 = "1" SUBSEP "1" SUBSEP "before"; b8 = "8" SUBSEP "1" SUBSEP "before"; g8 = "8" SUBSEP "1" SUBSEP "group"
          printf "The floor under every commit on this file system (`bench/fsync_cost`, %d rounds of pwrite 4 KiB + fdatasync,\n", '"$SYNCS"'
          printf "before and after the spends, averaged): **%.0f µs** rewriting a page already on disk, **%.0f µs** rewriting 12\n",
              no ? ow / no : 0, n12 ? o12 / n12 : 0
          printf "scattered pages (a commit of 8 random-key spends wrote 9 pages in these small stores, more in a big one; a\n"
          printf "lone spend 4), **%.0f µs** appending one (the file grows,\n", na ? ap / na : 0
          printf "so the sync also commits its new size; LMDB reuses freed pages, so a commit seldom does). A\n"
          printf "commit in default mode (MDB_NOMETASYNC) pays one fdatasync (data pages; the meta page rides on the next one),\n"
          printf "plus its writes: one commit per spend took %.0f µs at 1 spender and %.0f µs at 8 (all runs averaged;\n",
              us_per_commit(b1), us_per_commit(b8)
          printf "%.0f µs in the write transaction at 1 spender).\n", commits[b1] ? txn_ns[b1] / commits[b1] : 0
          t8 = commits[b8] ? txn_ns[b8] / commits[b8] : 0
          if (us_per_commit(b8) > 0 && t8 > 0)
              printf "**Bound at 8 one-stamp spenders**: a commit carries at most 8 spends, and costs at least a lone commit'"'"'s\n" \
                     "write transaction (the same fdatasync and meta write; more pages). One commit per spend at 8 spenders\n" \
                     "took %.0f µs a spend, %.0f µs of it in the transaction, so even a group commit of 8 costing no more than\n" \
                     "that transaction, with nothing around it, gains at most 8 × %.0f ÷ %.0f = **%.1f×** at the same durability\n" \
                     "(measured: %.0f µs per group commit cycle of 8 spenders, gathering included, %.1f×). 10× at one stamp\n" \
                     "a message needs that ceiling above 10, i.e. the time outside the transaction (the spender'"'"'s own work, the\n" \
                     "hand-over) to be at least a quarter of the transaction; with 4 stamps a message a commit carries up to 32 spends.\n" \
                     "The bound compares commits under the same disk conditions: when other writers load the file system (its\n" \
                     "journal is shared), an fdatasync costs from about 100 µs to a few ms within a minute, the one-per-spend\n" \
                     "cells pay that once a spend and group commit once a batch, and a single run'"'"'s ratio can land above it.\n",
                     us_per_commit(b8), t8, us_per_commit(b8), t8, 8 * us_per_commit(b8) / t8,
                     us_per_commit(g8), ((b8 in cnt) && median(b8) > 0 ? median(g8) / median(b8) : 0) }' "$DATA"
echo
