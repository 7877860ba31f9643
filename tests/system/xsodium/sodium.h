/*
 * sodium.h - a stand-in for the two libsodium calls lib/argon2id_core.c
 * makes (sodium_init, sodium_memzero), for the aarch64 cross build of
 * tests/system/aarch64_argon2.sh, where no arm64 libsodium is at hand.
 * (Blake2b is postage's own, simd/blake2b_portable.c, cross-compiled with
 * the rest.)  Test code only; the real build uses libsodium.
 */
#ifndef POSTAGE_XSODIUM_H
#define POSTAGE_XSODIUM_H

#include <stddef.h>

static inline void sodium_memzero(void *p, size_t len)
{
    volatile unsigned char *v = p;
    while (len--)
        *v++ = 0;
}

static inline int sodium_init(void)
{
    return 0;
}

#endif
