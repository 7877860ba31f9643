#!/bin/sh
# aarch64_argon2.sh - cross-build the aarch64 Argon2 fill-block kernels
# (NEON and the portable one) and postage's Argon2id on them
# (lib/argon2id_core.c with its Blake2b, simd/blake2b_*.c; the stand-in
# tests/system/xsodium/ only for sodium_init and sodium_memzero)
# with gcc-aarch64-linux-gnu and run their checks (tests/system/xargon2.c:
# kernels against portable, RFC 9106's and docs/argon2id.md's vectors)
# under qemu-user on three CPU models: max, the Cortex-A53 and the
# Cortex-A72 (the Raspberry Pi 4's core).  Then a cross-architecture
# round trip: a stamp minted on the NEON kernel under qemu is accepted by
# this host's postage-verify on every kernel and library, and stamps minted
# here (and their counters altered) have the same Argon2id value on NEON
# as on this host.
# Skipped (exit 77) when the cross compiler or qemu-aarch64 is missing;
# setup.sh installs both, so CI runs it.
. "${top_srcdir:-.}/tests/lib/testlib.sh"

CC_AARCH64=${CC_AARCH64:-aarch64-linux-gnu-gcc}
QEMU=${QEMU_AARCH64:-qemu-aarch64}
command -v "$CC_AARCH64" >/dev/null 2>&1 ||
    skip "$CC_AARCH64 not found (apt-get install gcc-aarch64-linux-gnu)"
command -v "$QEMU" >/dev/null 2>&1 || skip "$QEMU not found (apt-get install qemu-user)"

src=$top_srcdir
cat > "$TMP/config.h" <<'CONFIG'
#define _GNU_SOURCE 1
#define HAVE_KERNEL_NEON 1
#define HAVE_GETAUXVAL 1
#define HAVE_SYS_AUXV_H 1
CONFIG
flags="-std=c11 -O2 -Wall -Wextra -Werror -I$TMP -I$src -I$src/include"
compile() { # FILE EXTRA-FLAGS...
    f=$1; shift
    # shellcheck disable=SC2086
    "$CC_AARCH64" $flags "$@" -c "$src/$f" -o "$TMP/$(basename "$f" .c).o" ||
        { fail "cross-compiling $f"; finish; }
}
compile simd/argon2_portable.c
compile simd/cpu_features.c
compile simd/argon2_kernels.c
compile simd/argon2_neon.c
compile simd/blake2b_portable.c
compile simd/blake2b_kernels.c
compile lib/argon2id_core.c -I"$src/tests/system/xsodium"
compile tests/system/xargon2.c
"$CC_AARCH64" -static -o "$TMP/xargon2" "$TMP"/*.o -lpthread ||
    { fail "linking the aarch64 test"; finish; }

for cpu in max cortex-a53 cortex-a72; do
    "$QEMU" -cpu "$cpu" "$TMP/xargon2" > "$TMP/out.$cpu" 2>&1
    status=$?
    sed "s/^/[$cpu] /" "$TMP/out.$cpu"
    expect_eq "aarch64 Argon2 kernels under qemu -cpu $cpu" 0 "$status"
    grep -q '^neon self-test ok' "$TMP/out.$cpu" || fail "$cpu: the NEON kernel did not run"
    grep -q '^neon against portable: ok' "$TMP/out.$cpu" || fail "$cpu: NEON differs from portable"
    grep -q '^neon Argon2id vectors: ok' "$TMP/out.$cpu" || fail "$cpu: NEON hashes are wrong"
done

# The cross-architecture round trip, two lanes and two passes so that
# every part of Argon2id is crossed.
require_built "$MINT" "$VERIFY"
M=256 T=2 P=2 BITS=4 RES=neon@example.org
host_kernels=$("$MINT" --argon2id --list-kernels |
    awk '$4 == "supported" && $5 == "self-test" && $6 == "ok" { printf "%s%s", s, $1; s = " " }')
prefix="1:$BITS:$(date -u +%y%m%d):$RES:a2id=m$M,t$T,p$P:qemuNEONroundtr:"
for cpu in max cortex-a72; do
    stamp=$("$QEMU" -cpu "$cpu" "$TMP/xargon2" mint neon $M $T $P $BITS "$prefix") ||
        { fail "$cpu: minting on NEON: $stamp"; continue; }
    for how in $(for k in $host_kernels; do printf 'postage:%s ' "$k"; done) libargon2 libsodium; do
        set -- --argon2id-backend "${how%%:*}"
        [ "$how" = "${how#*:}" ] || set -- "$@" --argon2-kernel "${how#*:}"
        expect_eq "minted on NEON (qemu -cpu $cpu), checked here on $how" "$stamp ok" \
            "$("$VERIFY" --argon2id -b 0 -r "$RES" "$@" "$stamp" 2>&1)"
    done
    echo "minted on NEON (qemu -cpu $cpu): $stamp, checked here on $host_kernels libargon2 libsodium"
done
hstamp=$("$MINT" -j 1 --argon2id --memory $M --passes $T --lanes $P -b $BITS "$RES") ||
    fail "postage-mint --argon2id failed"
for s in "$hstamp" "${hstamp%?}A" "${hstamp%?}B" "${hstamp%?}C" "${hstamp%?}D"; do
    here=$("$VERIFY" --argon2id -b 0 --json "$s" | sed -n 's/.*"actual":\([0-9]*\).*/\1/p')
    neon=$("$QEMU" -cpu max "$TMP/xargon2" zeros neon $M $T $P "$s")
    echo "$s: $here leading zero bits here, $neon on NEON"
    expect_eq "leading zero bits of $s: NEON under qemu against this host" "$here" "$neon"
done
[ -n "$here" ] || fail "postage-verify --json gave no actual bits"
finish
