# testlib.sh - shared helpers for the shell tests (sourced, not run).
#
# Every test gets a private temporary directory, removed on exit whatever
# happens; failures print what was expected and what came, and exit 1.
# Exit status 77 tells the automake test driver the test was skipped.
set -u

: "${top_builddir:=.}"
: "${top_srcdir:=.}"
MINT="$top_builddir/postage-mint"
VERIFY="$top_builddir/postage-verify"
HASHCASH="${HASHCASH:-$(command -v hashcash || true)}"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/postage-test.XXXXXX") || exit 99
trap 'rm -rf "$TMP"' EXIT
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

skip() {
    echo "SKIP: $*" >&2
    exit 77
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
    if [ "$2" != "$3" ]; then
        fail "$1"
        printf '  expected: %s\n  actual:   %s\n' "$2" "$3" >&2
    fi
}

# run_capture CMD...: sets $out (stdout), $err (stderr), $rc.
run_capture() {
    "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    out=$(cat "$TMP/out")
    err=$(cat "$TMP/err")
}

require_hashcash() {
    [ -n "$HASHCASH" ] && [ -x "$HASHCASH" ] ||
        skip "hashcash 1.22 is not installed (apt-get install hashcash)"
    "$HASHCASH" -V 2>&1 | grep -q '1\.22' ||
        skip "$HASHCASH is not hashcash 1.22"
}

finish() {
    if [ "$failures" -ne 0 ]; then
        echo "$failures check(s) failed" >&2
        exit 1
    fi
    exit 0
}
