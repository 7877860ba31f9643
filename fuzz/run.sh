#!/bin/sh
# fuzz/run.sh - run libFuzzer targets on their seed corpora.
#
#   fuzz/run.sh BUILD_DIR SECONDS NAME...
#
# `make fuzz FUZZ_SECONDS=N` calls this after building; it can also be run
# by hand on a built BUILD_DIR (fuzz-build/ in the build tree).  Each
# target runs SECONDS seconds (0: each seed input once, nothing more) with
# its dictionary, nice'd, on fuzz/corpus/NAME/ read-only: what it finds
# goes to BUILD_DIR/run/NAME/corpus, never into the tree.  A crash, a leak,
# a timeout, running out of memory (-rss_limit_mb, -malloc_limit_mb), or
# anything written to standard output (the library never prints) fails the
# target; the crashing input is in BUILD_DIR/run/NAME/.  Extra libFuzzer
# options can be given in FUZZ_FLAGS (e.g. FUZZ_FLAGS=-jobs=2).
set -u
build=$1 seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
failed=
summary=

for name in "$@"; do
    prog=$build/fuzz_$name
    seeds=$here/corpus/$name
    work=$build/run/$name
    rm -rf "$work"
    mkdir -p "$work/corpus"
    set -- -rss_limit_mb=1024 -malloc_limit_mb=512 -timeout=20 \
        -print_final_stats=1 -artifact_prefix="$work/"
    [ -f "$here/$name.dict" ] && set -- "$@" -dict="$here/$name.dict"
    if [ "$seconds" -gt 0 ]; then
        set -- "$@" -max_total_time="$seconds"
    else
        set -- "$@" -runs=0
    fi
    echo "fuzz: $name for ${seconds}s: $prog $* $work/corpus $seeds"
    # shellcheck disable=SC2086
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
        nice "$prog" "$@" ${FUZZ_FLAGS:-} "$work/corpus" "$seeds" \
        >"$work/stdout" 2>"$work/log"
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -n 1)
    why=
    [ "$rc" -ne 0 ] && why="exit status $rc"
    [ -s "$work/stdout" ] && why="${why:+$why, }wrote to standard output"
    if [ -n "$why" ]; then
        echo "fuzz: $name FAILED ($why); log: $work/log" >&2
        tail -n 60 "$work/log" >&2
        head -c 2000 "$work/stdout" >&2
        ls "$work" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' | sed "s|^|fuzz: input: $work/|" >&2
        failed="$failed $name"
    fi
    summary="$summary$(printf '%-16s %12s execs %8s exec/s  %s' "$name" "${runs:-?}" "${rate:-?}" \
        "${why:-ok}")
"
done

printf '%s' "$summary"
if [ -n "$failed" ]; then
    echo "fuzz: failed:$failed" >&2
    exit 1
fi
echo "fuzz: all targets passed (${seconds}s each)"
