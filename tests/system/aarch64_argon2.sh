#!/bin/sh
# aarch64_argon2.sh - cross-build the aarch64 Argon2 fill-block kernels
# (NEON and the portable one) and postage's Argon2id on them
# (lib/argon2id_core.c, with the Blake2b stand-in tests/system/xsodium/)
# with gcc-aarch64-linux-gnu and run their checks (tests/system/xargon2.c:
# kernels against portable, RFC 9106's and docs/argon2id.md's vectors)
# under qemu-user on three CPU models: max, the Cortex-A53 and the
# Cortex-A72 (the Raspberry Pi 4's core).
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
finish
