#!/bin/sh
# interop_hashcash.sh - postage and the reference tool hashcash 1.22 agree:
# stamps hashcash mints (every -b, -z, -x, -Z mode, mixed-case resources)
# pass postage-verify; stamps postage-mint mints (every usable kernel, every
# date width, with and without EXT) pass `hashcash -c`; the published
# vectors of shared/spec/hashcash-v1.md pass both with a pinned clock; and
# 1.22 never takes a memory-hard (Argon2id) stamp for a valid one.
. "${top_srcdir:-.}/tests/lib/testlib.sh"
require_hashcash

# hashcash -> postage-verify
for bits in 8 10 12 14 16; do
    for width in 6 10 12; do
        stamp=$("$HASHCASH" -q -m -b "$bits" -z "$width" bob@example.org) ||
            { fail "hashcash -m -b $bits -z $width"; continue; }
        run_capture "$VERIFY" -b "$bits" -r bob@example.org "$stamp"
        expect_eq "hashcash -b $bits -z $width stamp checked by postage-verify" \
            "$stamp ok/0" "$out/$rc"
    done
done
for z in 0 1 2; do
    stamp=$("$HASHCASH" -q -m -b 12 -Z "$z" bob@example.org)
    run_capture "$VERIFY" -b 12 -r bob@example.org "$stamp"
    expect_eq "hashcash -Z $z stamp" "$stamp ok/0" "$out/$rc"
done
stamp=$("$HASHCASH" -q -m -b 10 -x 'name1=2,3;name2' bob@example.org)
run_capture "$VERIFY" -b 10 -r bob@example.org "$stamp"
expect_eq "hashcash -x stamp" "$stamp ok/0" "$out/$rc"
stamp=$("$HASHCASH" -q -m -b 8 Mixed@Example.ORG)
case "$stamp" in *:mixed@example.org:*) ;; *) fail "hashcash lowercased: $stamp" ;; esac
run_capture "$VERIFY" -b 8 -r MIXED@example.ORG "$stamp"
expect_eq "mixed-case resource matches case-blind" "$stamp ok/0" "$out/$rc"
# More bits than asked earns nothing extra: a 12-bit claim fails -b 13.
stamp=$("$HASHCASH" -q -m -b 12 bob@example.org)
run_capture "$VERIFY" -b 13 -r bob@example.org "$stamp"
expect_eq "claimed bits rule" "$stamp bits/1" "$out/$rc"

# hashcash -X headers, folded by 1.22, read back by --message.
"$HASHCASH" -q -X -m -b 10 -z 12 a-rather-long-recipient-name@subdomain.example.org > "$TMP/hdr"
{ echo "From: alice@example.net"; cat "$TMP/hdr"; echo "Subject: hi"; echo; echo body; } > "$TMP/msg"
run_capture "$VERIFY" -b 10 -r a-rather-long-recipient-name@subdomain.example.org --message < "$TMP/msg"
expect_eq "hashcash -X header (folded) via --message" "0" "$rc"

# postage-mint -> hashcash -c (fully checked: -d -b -r gives exit 0)
kernels=$("$MINT" --list-kernels | awk '$4 == "supported" && $5 == "self-test" {print $1}')
[ -n "$kernels" ] || fail "no usable kernel listed"
for kernel in $kernels; do
    for bits in 8 12 16 18; do
        stamp=$("$MINT" --kernel "$kernel" -b "$bits" carol@example.org) ||
            { fail "postage-mint --kernel $kernel -b $bits"; continue; }
        "$HASHCASH" -q -c -d -f "$TMP/hc.sdb" -b "$bits" -r carol@example.org "$stamp"
        expect_eq "hashcash -c accepts $kernel -b $bits: $stamp" 0 $?
    done
done
for width in 6 10 12; do
    stamp=$("$MINT" -b 12 -z "$width" -x 'name1=2,3;name2' Dave@Example.org)
    "$HASHCASH" -q -c -d -f "$TMP/hc.sdb" -b 12 -r dave@example.org "$stamp"
    expect_eq "hashcash -c accepts -z $width -x stamp $stamp" 0 $?
    # and hashcash's own value matches the claim
    value=$("$HASHCASH" -q -w "$stamp")
    expect_eq "hashcash -w of $stamp" 12 "$value"
done
# A spent stamp is spent for hashcash too: its database takes our stamp.
stamp=$("$MINT" -b 10 erin@example.org)
"$HASHCASH" -q -c -d -f "$TMP/hc2.sdb" -b 10 -r erin@example.org "$stamp"
"$HASHCASH" -q -c -d -f "$TMP/hc2.sdb" -b 10 -r erin@example.org "$stamp"
expect_eq "hashcash sees the second use as spent" 1 $?
# -X output is read by hashcash -cX.
"$MINT" -X -b 10 frank@example.org > "$TMP/x"
{ echo "Subject: x"; cat "$TMP/x"; echo; } | "$HASHCASH" -q -cX -d -f "$TMP/hc3.sdb" -b 10 -r frank@example.org
expect_eq "hashcash -cX reads postage-mint -X" 0 $?

# The published vectors, with the clock pinned at 2026-11-27 12:00 UTC.
while read -r bits stamp; do
    run_capture "$VERIFY" --now 261127120000 -b "$bits" -r foo@example.org "$stamp"
    expect_eq "vector $stamp" "$stamp ok/0" "$out/$rc"
    "$HASHCASH" -q -c -u -t 261127120000 -y -b "$bits" -r foo@example.org "$stamp"
    expect_eq "hashcash agrees on vector $stamp" 0 $?
done <<'VECTORS'
12 1:12:261127:foo@example.org::JY5nFvirAbr+OB85:0000Hv
12 1:12:261127:foo@example.org::gVZBMGPUSjjYbhLq:0000Gw
16 1:16:261127:foo@example.org::GujMGx8hskvHjFnH:000Gt0
10 1:10:2611270114:foo@example.org::ThpTBVvp2fAaMnaA:0000000000000000000000000000000000000000000005
10 1:10:261127011456:foo@example.org::wNAgPcfwo2pfguzS:00000000000000000000000000000000000000000076
12 1:12:261127:foo@example.org:name1=2,3;name2:UrspnJ09CNje9oKM:000000000000000000000000000000001B6
14 1:14:261127:foo@example.org::G/HnU/bjxGR7v6Am:4gc
14 1:14:261127:foo@example.org::yrTnWpOovUhOb3sd:1Oa
VECTORS

# Argon2id stamps (rows of docs/argon2id.md's vectors): 1.22 reads them as
# ordinary v1 stamps and values them by SHA-1, which their minter never
# searched, so the claimed bits are missing.  It must never call them valid,
# whatever postage-verify --argon2id says (carol's tag holds its claim,
# heidi's is forged).
while read -r bits resource verdict stamp; do
    "$HASHCASH" -q -c -u -t 261127120000 -y -b "$bits" -r "$resource" "$stamp"
    expect_eq "hashcash refuses Argon2id stamp $stamp" 1 $?
    value=$("$HASHCASH" -q -w "$stamp")
    expect_eq "hashcash -w of Argon2id stamp $stamp" 0 "$value"
    run_capture "$VERIFY" --argon2id --now 261127120000 -b "$bits" -r "$resource" "$stamp"
    expect_eq "postage-verify --argon2id $stamp" "$stamp $verdict" "$out/$rc"
done <<'A2ID'
8 carol@example.org ok/0 1:8:261127:carol@example.org:a2id=m1024,t1,p1:CSgucjGSDIGxo+j7:2d
12 heidi@example.org bits/1 1:12:261127:heidi@example.org:a2id=m64,t1,p1:poAC2ovQxB1iAywB:0
A2ID

finish
