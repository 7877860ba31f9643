#!/bin/sh
# cli_golden.sh - exact output and exit status of postage-verify for every
# verdict, of its input modes and usage errors, and of postage-mint's output
# formats and errors.  The clock is pinned (--now / --time) so the expected
# text below is exact.
. "${top_srcdir:-.}/tests/lib/testlib.sh"

NOW=261127120000
S2='1:12:261127:foo@example.org::gVZBMGPUSjjYbhLq:0000Gw'
S1='1:12:261127:foo@example.org::JY5nFvirAbr+OB85:0000Hv'
EXP='1:10:261001:foo@example.org::psx3CsRl/qRZci1S:00006U'
V0='0:040308:adam@cypherspace.org:819167212bbd56f2'

# verdict ARGS... -- one stamp, expected "verdict/rc"
verdict() {
    want=$1; shift
    run_capture "$VERIFY" --now "$NOW" "$@"
    expect_eq "postage-verify $*" "$want" "$out/$rc"
}
verdict "$S2 ok/0"       -b 12 -r foo@example.org "$S2"
verdict "$S2 resource/1" -b 12 -r bar@example.org "$S2"
verdict "$S2 bits/1"     -b 13 -r foo@example.org "$S2"
verdict "$S2 bits/1"     -r foo@example.org "$S2"        # default is 20 bits
verdict "$EXP expired/1" -b 10 -r foo@example.org "$EXP"
verdict "$EXP ok/0"      -b 10 -e 0 -r foo@example.org "$EXP"
verdict "$EXP ok/0"      -b 10 -e 60d -r foo@example.org "$EXP"
verdict "1:12:261127:foo@example.org::gVZBMGPUSjjYbhL-:0000Gw syntax/1" \
    -b 12 -r foo@example.org '1:12:261127:foo@example.org::gVZBMGPUSjjYbhL-:0000Gw'
verdict "1:20:261127:foo::abc:def bits/1" -b 1 -r foo '1:20:261127:foo::abc:def'
verdict "$V0 ok/0"       -b 21 -e 0 -r adam@cypherspace.org "$V0"
verdict "$V0 bits/1"     -b 22 -e 0 -r adam@cypherspace.org "$V0"
verdict "$S2 ok/0"       -b 12 --wildcard -r '*@example.org' "$S2"
verdict "$S2 resource/1" -b 12 -r '*@example.org' "$S2"
verdict "$S2 resource/1" -b 12 --case-sensitive -r FOO@example.org "$S2"

run_capture "$VERIFY" --now 261124235959 -b 12 -r foo@example.org "$S2"
expect_eq "future" "$S2 future/1" "$out/$rc"
run_capture "$VERIFY" --now 261124235959 -g 3d -b 12 -r foo@example.org "$S2"
expect_eq "future within a longer grace" "$S2 ok/0" "$out/$rc"

# a store is made only when asked for (--create): a lost one must not be
# silently made anew
run_capture "$VERIFY" --now "$NOW" -b 12 -r foo@example.org --db "$TMP/db" "$S2"
expect_eq "no store without --create" 2 "$rc"
case "$err" in *"no store in $TMP/db"*"--db '$TMP/db' --create"*) ;;
    *) fail "no store without --create: $err" ;; esac
[ ! -e "$TMP/db" ] || fail "a store directory was made without --create"
# spent: the second use of the same stamp, in a store created on first use
run_capture "$VERIFY" --now "$NOW" -b 12 -r foo@example.org --db "$TMP/db" --create "$S2"
expect_eq "first spend" "$S2 ok/0" "$out/$rc"
run_capture "$VERIFY" --now "$NOW" -b 12 -r foo@example.org --db "$TMP/db" "$S2" "$S1"
expect_eq "second spend" "$S2 spent
$S1 ok/0" "$out/$rc"
# a stamp that fails is not recorded, so it is not "spent" later
run_capture "$VERIFY" --db "$TMP/db2" --create < /dev/null
expect_eq "--create alone" "0/" "$rc/$out$err"
run_capture "$VERIFY" --now "$NOW" -b 20 -r foo@example.org --db "$TMP/db2" "$S2"
run_capture "$VERIFY" --now "$NOW" -b 12 -r foo@example.org --db "$TMP/db2" "$S2"
expect_eq "a failed stamp is not recorded" "$S2 ok/0" "$out/$rc"
# purge: at 2027-01-01 both entries are past expiry + grace
run_capture "$VERIFY" --now 270101000000 --db "$TMP/db" --purge
expect_eq "purge exit" 0 "$rc"
expect_eq "purge message" "postage-verify: purged 2 expired entries from $TMP/db" "$err"
run_capture "$VERIFY" --now "$NOW" -b 12 -r foo@example.org --db "$TMP/db" "$S2"
expect_eq "purged stamp is fresh again" "$S2 ok/0" "$out/$rc"

# JSON
run_capture "$VERIFY" --now "$NOW" -b 12 -r foo@example.org --json "$S2" 1:x
expect_eq "json" '{"stamp":"1:12:261127:foo@example.org::gVZBMGPUSjjYbhLq:0000Gw","verdict":"ok","value":12,"version":1,"claimed":12,"actual":12,"resource":"foo@example.org","date":"2026-11-27T00:00:00Z","expires":"2026-12-25T00:00:00Z"}
{"stamp":"1:x","verdict":"syntax","value":0,"version":null,"claimed":null,"actual":null,"resource":null,"date":null,"expires":null}/0' "$out/$rc"

# JSON stays valid for any bytes: UTF-8 passes through, other bytes become \u00XX
printf '1:0:261127:caf\351::a:b\n1:0:261127:caf\303\251::a:b\n' > "$TMP/latin"
run_capture "$VERIFY" --now "$NOW" -b 0 --json < "$TMP/latin"
expect_eq "json of a non-UTF-8 resource" '"resource":"caf\u00e9"' \
    "$(echo "$out" | head -n 1 | grep -o '"resource":"[^"]*"')"
expect_eq "json of a UTF-8 resource" "$(printf '"resource":"caf\303\251"')" \
    "$(echo "$out" | tail -n 1 | grep -o '"resource":"[^"]*"')"

# stdin: one stamp per line, CRLF and surrounding blanks trimmed, blank lines skipped
printf '\r\n  %s\r\n\n%s \n' "$S2" "$S1" > "$TMP/in"
run_capture "$VERIFY" --now "$NOW" -b 12 -r foo@example.org < "$TMP/in"
expect_eq "stdin" "$S2 ok
$S1 ok/0" "$out/$rc"
# a line longer than any stamp is a syntax verdict, not a crash
head -c 5000 /dev/zero | tr '\0' 'a' > "$TMP/long"; echo >> "$TMP/long"
run_capture "$VERIFY" --now "$NOW" < "$TMP/long"
expect_eq "over-long line verdict" "syntax/1" "${out##* }/$rc"
# no stamps at all
run_capture "$VERIFY" --now "$NOW" < /dev/null
expect_eq "empty input" "/1" "$out/$rc"

# --message: the header block only, one stamp per recipient
cat > "$TMP/msg" <<MSG
From: alice@example.net
To: foo@example.org
X-Hashcash: $S2
Subject: hello
x-hashcash: 1:12:261127:foo@example.org::JY5nFvir
	Abr+OB85:0000Hv

X-Hashcash: $EXP
MSG
run_capture "$VERIFY" --now "$NOW" -b 12 -r foo@example.org --message < "$TMP/msg"
expect_eq "message" "$S2 ok
$S1 ok/0" "$out/$rc"
run_capture "$VERIFY" --now "$NOW" -b 12 -r foo@example.org -r bar@example.org --message < "$TMP/msg"
expect_eq "message with an unpaid recipient" "$S2 ok
$S1 ok/1" "$out/$rc"
run_capture "$VERIFY" --now "$NOW" -b 12 -r foo@example.org --message --json < "$TMP/msg"
case "$out" in *'"recipient":"foo@example.org"}'*) ;; *) fail "json recipient: $out" ;; esac

# usage errors: exit 2 and a message naming the problem
usage_error() {
    pattern=$1; shift
    run_capture "$@"
    expect_eq "$* exits 2" 2 "$rc"
    case "$err" in *"$pattern"*) ;; *) fail "$*: stderr lacks '$pattern': $err" ;; esac
}
usage_error "not a number of bits" "$VERIFY" -b abc "$S2"
usage_error "not a number of bits" "$VERIFY" -b 161 "$S2"
usage_error "not a period" "$VERIFY" -e 5x "$S2"
usage_error "not a period" "$VERIFY" -g -1 "$S2"
usage_error "not a UTC time" "$VERIFY" --now 2611 "$S2"
usage_error "not a UTC time" "$VERIFY" --now 261345 "$S2"
usage_error "--purge needs --db" "$VERIFY" --purge
usage_error "--create needs --db" "$VERIFY" --create
usage_error "needs at least one -r" "$VERIFY" --message
usage_error "unrecognized option" "$VERIFY" --bogus
mkdir -p "$TMP/ro" && : > "$TMP/ro/file"
usage_error "cannot open the double-spend store" "$VERIFY" --db "$TMP/ro/file/sub" --create "$S2"

# postage-mint: formats, pinned date, errors
run_capture "$MINT" -b 0 --time 261127120000 --case-sensitive Foo@Example.org
case "$out" in 1:0:261127:Foo@Example.org::????????????????:*) ;; *) fail "mint -b 0: $out" ;; esac
expect_eq "mint -b 0 exit" 0 "$rc"
run_capture "$MINT" -b 4 -z 12 --time 261127120102 -X bob
case "$out" in "X-Hashcash: 1:4:261127120102:bob::"*) ;; *) fail "mint -X: $out" ;; esac
run_capture "$MINT" -b 4 --json bob
case "$out" in '{"resource":"bob","stamp":"1:4:'*'"bits":4,'*) ;; *) fail "mint --json: $out" ;; esac
run_capture "$MINT" -b 4 a b c
expect_eq "three resources, three lines, in order" "a b c" \
    "$(echo "$out" | cut -d: -f4 | tr '\n' ' ' | sed 's/ $//')"
usage_error "must be 1 to 256 bytes" "$MINT" 'a:b'
usage_error "must be 1 to 256 bytes" "$MINT" 'a b'
usage_error "extension must be" "$MINT" -x 'a:b' bob
usage_error "date width must be 6, 10 or 12" "$MINT" -z 8 bob
usage_error "not a number of bits" "$MINT" -b 161 bob
usage_error "no resource given" "$MINT"
usage_error "go with -b auto" "$MINT" --fallback-bits 3 bob@example.org
usage_error "go with -b auto" "$MINT" --dns-server 127.0.0.1:53 bob@example.org
usage_error "not with --argon2id" "$MINT" -b auto --argon2id bob@example.org
usage_error "not a number of bits from 0 to 160, nor auto" "$MINT" -b automatic bob
usage_error "no such SHA-1 kernel" "$MINT" --kernel nonesuch bob
POSTAGE_KERNEL=nonesuch run_capture "$MINT" bob
expect_eq "POSTAGE_KERNEL is honoured" 2 "$rc"
run_capture "$MINT" --max-time 0.2 -b 70 bob
expect_eq "--max-time gives up with exit 3" 3 "$rc"
case "$err" in *"no 70-bit stamp found within 0.2 s"*) ;; *) fail "--max-time message: $err" ;; esac
run_capture "$MINT" --help
expect_eq "--help exit" 0 "$rc"
# Every option of the help is on a line of its own that fits a terminal
# (a missing "\n" in the usage text once ran two options together).
for prog in "$MINT" "$VERIFY"; do
    run_capture "$prog" --help
    expect_eq "$(basename "$prog") --help: lines over 79 columns" "" \
        "$(echo "$out" | awk 'length($0) > 79')"
    expect_eq "$(basename "$prog") --help: options run together" "" \
        "$(echo "$out" | grep -E '[a-z.)]  +-[-a-zA-Z]' | grep -v '^ *-')"
done
run_capture "$MINT" --help
for opt in --argon2id --memory --passes --lanes --argon2id-backend --fallback-bits --dns-server; do
    case $out in *"
      $opt "*) ;; *) fail "postage-mint --help does not list $opt" ;; esac
done
# postage-verify --argon2id sizes its work area to the stamps, after the
# bounds check: a 64 KiB stamp (bob of docs/argon2id.md's vectors) must not
# fault in the 64 MiB that the default --max-memory allows, nor a 4 GiB one
# refused as params.  Peak RSS (not time) is compared with the same program
# checking a SHA-1 stamp, which also holds under the sanitizers.
A2_64='1:6:261127:bob@example.org:a2id=m64,t1,p1:punYK4XM7d8fJHw3:25'
A2_1M='1:8:261127:carol@example.org:a2id=m1024,t1,p1:CSgucjGSDIGxo+j7:2d'
A2_4G='1:6:261127:bob@example.org:a2id=m4194304,t1,p1:punYK4XM7d8fJHw3:25'
if command -v python3 > /dev/null; then
    # peak_kib CMD...: run CMD (stdout to $TMP/out), print its peak RSS in KiB.
    peak_kib() {
        python3 -c 'import resource, subprocess, sys
with open(sys.argv[1], "w") as out:
    subprocess.run(sys.argv[2:], stdout=out)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$TMP/out" "$@"
    }
    base=$(peak_kib "$VERIFY" --argon2id --now "$NOW" -b 12 "$S2")
    expect_eq "RSS baseline: SHA-1 stamp" "$S2 ok" "$(cat "$TMP/out")"
    small=$(peak_kib "$VERIFY" --argon2id --now "$NOW" -b 20 "$A2_64")
    expect_eq "64 KiB Argon2id stamp" "$A2_64 ok" "$(cat "$TMP/out")"
    big=$(peak_kib "$VERIFY" --argon2id --now "$NOW" -b 20 "$A2_4G")
    expect_eq "4 GiB Argon2id stamp" "$A2_4G params" "$(cat "$TMP/out")"
    [ $((small - base)) -lt 16384 ] ||
        fail "a 64 KiB Argon2id stamp took $((small - base)) KiB more than a SHA-1 one (max-memory 64 MiB)"
    [ $((big - base)) -lt 16384 ] ||
        fail "a 4 GiB Argon2id stamp refused as params took $((big - base)) KiB more than a SHA-1 one"
else
    echo "python3 not found: Argon2id RSS checks skipped" >&2
fi
# The work area grows for a larger stamp later in the run, and a stamp
# over --max-memory is refused whatever came before.
run_capture "$VERIFY" --argon2id --now "$NOW" -b 20 "$A2_64" "$A2_1M" "$A2_4G" "$A2_64"
expect_eq "Argon2id stamps of rising sizes in one run" \
    "$A2_64 ok|$A2_1M ok|$A2_4G params|$A2_64 ok/0" "$(echo "$out" | tr '\n' '|' | sed 's/|$//')/$rc"
run_capture "$VERIFY" --argon2id --max-memory 512 --now "$NOW" -b 20 "$A2_64" "$A2_1M"
expect_eq "--max-memory below a later stamp" "$A2_64 ok|$A2_1M params/0" \
    "$(echo "$out" | tr '\n' '|' | sed 's/|$//')/$rc"

run_capture "$VERIFY" --version
expect_eq "--version" "postage-verify (postage) $(sed -n 's/^AC_INIT(\[postage\], \[\([^]]*\)\].*/\1/p' "$top_srcdir/configure.ac")/0" "$out/$rc"

finish
