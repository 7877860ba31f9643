#!/bin/sh
# soak.sh - `make bench-soak`: one postaged (policy port and milter, LMDB
# store) under mixed traffic for a long time, watching for leaks.  Not a
# test and not in CI: 30 minutes by default.
#
#   SOAK_SECONDS=N     length of the traffic (default 1800)
#   SOAK_INTERVAL=N    seconds between samples (default 10)
#   SOAK_WARMUP=N      samples before this are left out of the trend
#                      (default a tenth of the run, at least 60 s)
#   SOAK_RSS_TOLERANCE_KB   allowed growth of the anonymous RSS after
#                      warm-up (default 16384)
#   SOAK_RSS_SLOPE_KB_H     allowed trend of the anonymous RSS, KiB per
#                      hour, judged only when at least 10 minutes follow
#                      the warm-up (default 32768)
#   SOAK_FD_TOLERANCE  allowed extra open fds once traffic has stopped,
#                      against the quiet count before it (default 2)
#   SOAK_OUT=DIR       where the results go (default
#                      bench/results/soak-DATE-HOST)
#
# Traffic, all on loopback, all at once:
#   - policy requests: bench/policy_load, open loop, 8 connections;
#   - milter sessions: tests/system/milter_client, batches of messages with fresh
#     stamps, without one, and replayed ones;
#   - spends: postage-verify --db on postaged's own store (fresh stamps and
#     replays), so the store is shared as in production;
#   - hostile connections to both ports: garbage bytes, an oversized line,
#     a milter packet claiming 2 GB, requests cut off mid-way (RST),
#     half-open connections left idle (up to 40 at a time, for 5-30 s).
# postaged's VmRSS (split into RssAnon and RssFile), open file descriptors
# and the store's size are sampled every SOAK_INTERVAL seconds into
# samples.tsv; summary.txt has the first, last and max of each, the
# least-squares slope per hour after warm-up, the quiet fd counts before
# and after the traffic, and the verdict.  The verdict is on RssAnon: the
# file-backed part is the LMDB map, which grows with the store (every new
# greylisting triplet and spent stamp) by design and follows store_kb;
# a leak shows in the anonymous part.  Exit status 1 when it or the fds
# grew beyond the tolerances, or postaged died.
set -u

: "${top_builddir:=.}"
: "${top_srcdir:=.}"
SOAK_SECONDS=${SOAK_SECONDS:-1800}
SOAK_INTERVAL=${SOAK_INTERVAL:-10}
_w=$((SOAK_SECONDS / 10))
[ $_w -lt 60 ] && _w=60
SOAK_WARMUP=${SOAK_WARMUP:-$_w}
SOAK_RSS_TOLERANCE_KB=${SOAK_RSS_TOLERANCE_KB:-16384}
SOAK_RSS_SLOPE_KB_H=${SOAK_RSS_SLOPE_KB_H:-32768}
SOAK_FD_TOLERANCE=${SOAK_FD_TOLERANCE:-2}
OUT=${SOAK_OUT:-$top_builddir/bench/results/soak-$(date -u +%Y%m%d-%H%M%S)-$(hostname -s 2>/dev/null || echo host)}

POSTAGED="$top_builddir/postaged"
MINT="$top_builddir/postage-mint"
VERIFY="$top_builddir/postage-verify"
MCLIENT="$top_builddir/tests/system/milter_client"
PDCLIENT="$top_builddir/tests/system/pd_client"
LOAD="$top_builddir/bench/policy_load"
for p in "$POSTAGED" "$MINT" "$VERIFY" "$MCLIENT" "$PDCLIENT" "$LOAD"; do
    [ -x "$p" ] || { echo "soak: $p is not built (make all check_PROGRAMS)" >&2; exit 2; }
done
command -v python3 > /dev/null 2>&1 || { echo "soak: python3 is needed" >&2; exit 2; }

mkdir -p "$OUT" || exit 2
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/postage-soak.XXXXXX") || exit 2

# Every process we start, killed by PID at exit, pass or fail.
pids=
postaged_pid=
cleanup() {
    for p in $pids $postaged_pid; do kill "$p" 2>/dev/null; done
    for p in $pids $postaged_pid; do
        i=0
        while kill -0 "$p" 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
        kill -9 "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$WORK"
}
trap 'rc=$?; cleanup; exit $rc' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

PPORT=$("$PDCLIENT" --free-port)
MPORT=$("$PDCLIENT" --free-port)
while [ "$MPORT" = "$PPORT" ]; do MPORT=$("$PDCLIENT" --free-port); done
DB="$WORK/store"
cat > "$WORK/postaged.conf" <<EOF
policy_listen = inet:127.0.0.1:$PPORT
milter_listen = inet:127.0.0.1:$MPORT
store = lmdb:$DB
log = stderr
user =
pidfile = $WORK/postaged.pid
hostname = soak.test
postage = yes
price_base = 8
greylist_delay = 1h
spf = no
helo_checks = no
price_allowance = 1000000
idle_timeout = 60s
EOF

"$POSTAGED" -c "$WORK/postaged.conf" -f 2> "$WORK/postaged.log" &
postaged_pid=$!
i=0
until printf 'request=smtpd_access_policy\nprotocol_state=CONNECT\n\n' |
      "$PDCLIENT" "$PPORT" --expect 1 > /dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 100 ] || { echo "soak: postaged did not start:" >&2; cat "$WORK/postaged.log" >&2; exit 1; }
    sleep 0.1
done
# the real process (the libtool wrapper execs it, but be sure)
[ -r "$WORK/postaged.pid" ] && postaged_pid=$(cat "$WORK/postaged.pid")

# sample: elapsed seconds, VmRSS, its anonymous part (the heap: where a
# leak shows), its file-backed part (mostly the LMDB map, which grows with
# the store by design), open fds, and the store's size on disk (KiB)
sample() {
    _m=$(awk '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 } /^RssFile:/ { f = $2 }
              END { printf "%d\t%d\t%d", r, a, f }' "/proc/$postaged_pid/status" 2>/dev/null)
    _fds=$(ls "/proc/$postaged_pid/fd" 2>/dev/null | wc -l | tr -d ' ')
    _db=$(du -k "$DB" 2>/dev/null | tail -n 1 | cut -f 1)
    printf '%s\t%s\t%s\t%s\n' "$(( $(date +%s) - start ))" "${_m:-0	0	0}" "$_fds" "${_db:-0}"
}

start=$(date +%s)
quiet_before=$(sample | cut -f 5)
end=$((start + SOAK_SECONDS))
echo "soak: postaged $postaged_pid, policy $PPORT, milter $MPORT, $SOAK_SECONDS s; results in $OUT"

# --- the traffic -------------------------------------------------------------

"$LOAD" --port "$PPORT" --conns 8 --rate 150 --duration "$SOAK_SECONDS" --timeout 5000 \
    > "$WORK/policy_load.out" 2>&1 &
pids="$pids $!"

# milter: 20 fresh stamps, 3 messages without one, 2 replays of the last
# batch, per session; a session every half second
(
    n=0
    : > "$WORK/milter.prev"
    while [ "$(date +%s)" -lt "$end" ]; do
        n=$((n + 1))
        set --
        i=0
        while [ $i -lt 20 ]; do set -- "$@" "m$n.$i@example.org"; i=$((i + 1)); done
        "$MINT" -b 10 -j 1 -X "$@" > "$WORK/milter.stamps" 2>/dev/null
        {
            i=0
            while IFS= read -r h; do
                printf 'm%s.%s@example.org\t%s\tSubject: soak %s\n' "$n" "$i" "$h" "$n"
                i=$((i + 1))
            done < "$WORK/milter.stamps"
            printf 'nostamp%s@example.org\tSubject: none\n' 1 2 3
            head -n 2 "$WORK/milter.prev"
        } > "$WORK/milter.in"
        cp "$WORK/milter.in" "$WORK/milter.prev"
        "$MCLIENT" --connect "inet:127.0.0.1:$MPORT" --timeout 5000 \
            --client-addr "198.51.100.$((n % 250 + 1))" --from "s$((n % 50))@soak$((n % 7)).example.net" \
            --stats "$WORK/milter.in" > /dev/null 2>> "$WORK/milter.stats"
        sleep 0.5
    done
) &
pids="$pids $!"

# spends through postage-verify on the same store: 50 fresh, 10 replays
(
    n=0
    while [ "$(date +%s)" -lt "$end" ]; do
        n=$((n + 1))
        set --
        i=0
        while [ $i -lt 50 ]; do set -- "$@" "v$n.$i@example.org"; i=$((i + 1)); done
        "$MINT" -b 8 -j 1 "$@" > "$WORK/spend.new" 2>/dev/null
        [ -s "$WORK/spend.old" ] && head -n 10 "$WORK/spend.old" >> "$WORK/spend.new"
        "$VERIFY" -b 8 --db "$DB" < "$WORK/spend.new" 2>> "$WORK/spend.err" |
            awk '{ c[$2]++ } END { for (k in c) printf "%s %d\n", k, c[k] }' >> "$WORK/spend.counts"
        mv "$WORK/spend.new" "$WORK/spend.old"
        sleep 0.5
    done
) &
pids="$pids $!"

# hostile connections
python3 - "$PPORT" "$MPORT" "$end" > "$WORK/hostile.out" 2>&1 <<'EOF' &
import os, random, socket, struct, sys, time
pport, mport, end = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(16)
idle = []          # (close_at, socket)
counts = {}

def conn(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    return s

def rst_close(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()

def drain(s, t=0.5):
    s.settimeout(t)
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass

def garbage(port):
    s = conn(port)
    s.sendall(os.urandom(rnd.randint(1, 4096)))
    drain(s)
    s.close()

def oversized(port):
    s = conn(port)
    try:
        s.sendall(b"request=smtpd_access_policy\nsender=" + b"a" * 100000 + b"\n\n")
    except OSError:
        pass
    drain(s)
    s.close()

def huge_packet(port):
    s = conn(port)
    try:
        s.sendall(struct.pack(">I", 0x7fffffff) + b"O" + b"\0" * 64)
    except OSError:
        pass
    drain(s)
    s.close()

def cut_off(port):
    s = conn(port)
    if port == pport:
        s.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\nsender=a@ex")
    else:
        # the start of an OPTNEG, then nothing
        s.sendall(struct.pack(">I", 13) + b"O" + struct.pack(">I", 6))
    time.sleep(0.05)
    rst_close(s)

def half_open(port):
    if len(idle) >= 40:
        return
    s = conn(port)
    if rnd.random() < 0.5:
        s.sendall(b"request=smtpd_access_policy\n" if port == pport else struct.pack(">I", 13))
    idle.append((time.time() + rnd.uniform(5, 30), s))

actions = [garbage, oversized, huge_packet, cut_off, half_open]
while time.time() < end:
    now = time.time()
    keep = []
    for t, s in idle:
        if t <= now:
            (rst_close if rnd.random() < 0.5 else socket.socket.close)(s)
        else:
            keep.append((t, s))
    idle[:] = keep
    a = rnd.choice(actions)
    port = rnd.choice((pport, mport))
    if a is oversized:
        port = pport
    if a is huge_packet:
        port = mport
    try:
        a(port)
        counts[a.__name__] = counts.get(a.__name__, 0) + 1
    except OSError as e:
        counts["oserror"] = counts.get("oserror", 0) + 1
    time.sleep(0.2)
for t, s in idle:
    s.close()
print(" ".join("%s=%d" % kv for kv in sorted(counts.items())))
EOF
pids="$pids $!"

# --- sampling ----------------------------------------------------------------

printf 'seconds\trss_kb\tanon_kb\tfile_kb\tfds\tstore_kb\n' > "$OUT/samples.tsv"
died=
while :; do
    if ! kill -0 "$postaged_pid" 2>/dev/null; then died=1; break; fi
    sample >> "$OUT/samples.tsv"
    [ "$(date +%s)" -ge "$end" ] && break
    sleep "$SOAK_INTERVAL"
done

# wait for the traffic to end by itself (bounded), then a quiet count
for p in $pids; do
    i=0
    while kill -0 "$p" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
done
sleep 3
quiet_after=
if [ -z "$died" ] && kill -0 "$postaged_pid" 2>/dev/null; then
    quiet_after=$(sample | cut -f 5)
else
    died=1
fi

# --- summary -----------------------------------------------------------------

{
    echo "postaged soak: $SOAK_SECONDS s, sample every $SOAK_INTERVAL s, warm-up $SOAK_WARMUP s"
    echo "policy_load: $(tail -n 1 "$WORK/policy_load.out")"
    awk '{ m += $2; a += $4; t += $6; r += $10; x += $14; e += $16 }
         END { printf "milter: %d messages, %d accepted, %d tempfail, %d timeout, %d error\n", m, a, t, x, e }' \
        "$WORK/milter.stats" 2>/dev/null
    awk '{ c[$1] += $2 } END { printf "spends:"; for (k in c) printf " %s %d", k, c[k]; printf "\n" }' \
        "$WORK/spend.counts" 2>/dev/null
    echo "hostile: $(cat "$WORK/hostile.out")"
    echo "postaged log: $(wc -l < "$WORK/postaged.log" | tr -d ' ') lines," \
        "$(grep -c ': warning: ' "$WORK/postaged.log") warnings," \
        "$(grep -c ': error: \|: crit: \|: fatal: ' "$WORK/postaged.log") errors"
} > "$OUT/summary.txt"
tail -n 2000 "$WORK/postaged.log" > "$OUT/postaged.log.tail"

python3 - "$OUT/samples.tsv" "$SOAK_WARMUP" "$SOAK_RSS_TOLERANCE_KB" "$SOAK_RSS_SLOPE_KB_H" \
    "$SOAK_FD_TOLERANCE" "$quiet_before" "${quiet_after:-}" "${died:-}" >> "$OUT/summary.txt" <<'EOF'
import sys
path, warm, rss_tol, slope_tol, fd_tol = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), \
    float(sys.argv[4]), int(sys.argv[5])
quiet_before = int(sys.argv[6]) if sys.argv[6] else None
quiet_after = int(sys.argv[7]) if sys.argv[7] else None
died = bool(sys.argv[8])
rows = []
for line in open(path).read().splitlines()[1:]:
    t, r, a, fb, f, db = line.split("\t")
    rows.append((float(t), int(a), int(f), int(r), int(fb), int(db)))
bad = []

def slope(pts):   # least squares, per hour
    n = len(pts)
    if n < 2:
        return 0.0
    mx = sum(p[0] for p in pts) / n
    my = sum(p[1] for p in pts) / n
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    if sxx == 0:
        return 0.0
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx * 3600

if not rows:
    print("no samples"); sys.exit(1)
after = [r for r in rows if r[0] >= warm] or rows[-1:]
span = after[-1][0] - after[0][0]
for name, i, unit in (("RSS", 3, "KiB"), ("anon", 1, "KiB"), ("file", 4, "KiB"), ("fds", 2, ""),
                      ("store", 5, "KiB")):
    vals = [r[i] for r in rows]
    s = slope([(r[0], r[i]) for r in after])
    print("%-4s first %d last %d max %d %s; after warm-up: from %d, max %d, slope %+.1f%s/hour over %d s (%d samples)"
          % (name, vals[0], vals[-1], max(vals), unit, after[0][i], max(r[i] for r in after), s,
             " " + unit if unit else "", span, len(after)))
    if name == "anon":
        growth = max(r[1] for r in after) - after[0][1]
        if growth > rss_tol:
            bad.append("anonymous RSS grew %d KiB after warm-up (tolerance %d KiB)" % (growth, rss_tol))
        if span >= 600 and s > slope_tol:
            bad.append("anonymous RSS trend %+.0f KiB/hour (tolerance %.0f)" % (s, slope_tol))
print("fds when quiet: before the traffic %s, after it %s (tolerance +%d)"
      % (quiet_before, quiet_after, fd_tol))
if died:
    bad.append("postaged died during the soak")
elif quiet_before is not None and quiet_after is not None and quiet_after > quiet_before + fd_tol:
    bad.append("open fds grew from %d to %d once the traffic stopped" % (quiet_before, quiet_after))
print("verdict: " + ("FAIL: " + "; ".join(bad) if bad else
      "PASS (anonymous RSS and fds flat within tolerance)"))
sys.exit(1 if bad else 0)
EOF
verdict=$?
cat "$OUT/summary.txt"
exit $verdict
