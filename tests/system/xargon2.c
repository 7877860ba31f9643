/*
 * xargon2.c - a self-contained check of every compiled Argon2 fill-block
 * kernel, for builds without Check, libargon2 or libsodium: the aarch64
 * cross build run under qemu-user (tests/system/aarch64_argon2.sh).
 *
 * For each kernel the CPU supports: its known-answer self-test; every
 * output block compared with the portable kernel's on random blocks, with
 * and without the XOR into the old block, and with next aliasing prev and
 * ref; and whole Argon2id hashes through lib/argon2id_core.c on that
 * kernel: RFC 9106's Argon2id vector (§5.3) and rows of docs/argon2id.md's
 * table (tags from the argon2 CLI).  Blake2b is postage's portable one
 * (simd/blake2b_portable.c), which those vectors check too.
 * Prints "N passed, N failed" and exits non-zero on any failure.
 *
 * Two more modes make a cross-architecture round trip with the host's
 * postage-mint and postage-verify (the script compares what each finds):
 *   xargon2 mint KERNEL M T P BITS PREFIX   counters 0, 1, ... after PREFIX
 *       (a stamp up to its counter) until KERNEL's Argon2id tag has BITS
 *       leading zero bits; prints the stamp.
 *   xargon2 zeros KERNEL M T P STAMP        the leading zero bits of
 *       STAMP's tag on KERNEL.
 * Both exit 2 when KERNEL cannot run here or the arguments are wrong.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/argon2id_core.h"
#include "postage/status.h"
#include "simd/argon2_kernels.h"

static uint64_t rng_state = UINT64_C(0x9E3779B97F4A7C15);

static uint64_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void
random_block(argon2_block *b)
{
    for (size_t i = 0; i < ARGON2_BLOCK_WORDS; i++)
        b->v[i] = rng();
}

/* Returns 1 if k agrees with the portable kernel on n random cases. */
static int
matches_portable(const struct argon2_kernel *k, int n)
{
    for (int round = 0; round < n; round++) {
        argon2_block prev, ref, old, want, got;
        int with_xor = round & 1;
        random_block(&prev);
        random_block(&ref);
        random_block(&old);
        want = old;
        got = old;
        argon2_kernel_portable.fill_block(&prev, &ref, &want, with_xor, NULL);
        k->fill_block(&prev, &ref, &got, with_xor, NULL);
        if (memcmp(&want, &got, sizeof want) != 0)
            return 0;
        want = prev;
        got = prev;
        argon2_kernel_portable.fill_block(&want, &ref, &want, with_xor, NULL);
        k->fill_block(&got, &ref, &got, with_xor, NULL);
        if (memcmp(&want, &got, sizeof want) != 0)
            return 0;
    }
    return 1;
}

struct vector {
    const char *password, *tag_hex;
    uint32_t m, t, p;
};

/* Rows of docs/argon2id.md's vector table: salt "postage/argon2id". */
static const struct vector docs[] = {
    { "1:4:261127:ann@example.org:a2id=m8,t1,p1:EPRQQGhBe5hRcUHX:D",
      "0ea9003c5ad496f5949b7b7fb448720a637ec7ef6010296bbf47c6004f36cbd2", 8, 1, 1 },
    { "1:5:261127:dave@example.org:a2id=m1024,t3,p1:V4Ow9ePLbRgHQznO:i",
      "0561d7699d9cb992a3e2c646023eba043dd0f1a5ea3f7281df3decf2f2685c26", 1024, 3, 1 },
    { "1:6:261127:frank@example.org:a2id=m256,t1,p4:moI1cS9+NyqNyXxv:C",
      "008cfa00d32b4d59b1a4609d83f831cff4d9300dd26f5cd4e616bb3edf661aad", 256, 1, 4 },
    { "1:5:261127120000:grace@example.org:a2id=m16,t2,p2:S802vO5NdmjaS7yz:J",
      "02077d571b23e6d4d5eb07d8d663f6ff5fd4e4dbc2d317f71f65162501c2a358", 16, 2, 2 },
    { "1:4:2611271200:erin@example.org:a2id=m4096,t2,p1:Bad7+a2W4f589/oQ:1",
      "08dc3cb53f5809bf2a8d409a6f2ff801bd25d97f44fd136ad13f94cc03821593", 4096, 2, 1 },
};

static int
same_hex(const uint8_t *tag, size_t n, const char *hex)
{
    char got[2 * 64 + 1];
    for (size_t i = 0; i < n; i++)
        snprintf(got + 2 * i, 3, "%02x", tag[i]);
    return strcmp(got, hex) == 0;
}

/* Returns 1 if every vector comes out right on k. */
static int
hashes_right(const struct argon2_kernel *k, argon2id_core *core)
{
    uint8_t tag[32], pwd[32], salt[16], secret[8], ad[12];
    memset(pwd, 1, sizeof pwd);
    memset(salt, 2, sizeof salt);
    memset(secret, 3, sizeof secret);
    memset(ad, 4, sizeof ad);
    struct argon2id_core_input rfc = { pwd, sizeof pwd, salt, sizeof salt, secret, sizeof secret,
                                       ad, sizeof ad, 32, 3, 4 };
    if (argon2id_core_hash(core, k, &rfc, tag, sizeof tag) != POSTAGE_OK ||
        !same_hex(tag, sizeof tag, "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"))
        return 0;
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        struct argon2id_core_input in = {
            (const uint8_t *) docs[i].password, strlen(docs[i].password),
            (const uint8_t *) "postage/argon2id", 16, NULL, 0, NULL, 0,
            docs[i].m, docs[i].t, docs[i].p,
        };
        if (argon2id_core_hash(core, k, &in, tag, sizeof tag) != POSTAGE_OK ||
            !same_hex(tag, sizeof tag, docs[i].tag_hex))
            return 0;
    }
    return 1;
}

static unsigned
leading_zero_bits(const uint8_t *tag, size_t n)
{
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++) {
        if (tag[i] == 0) {
            bits += 8;
            continue;
        }
        for (uint8_t b = tag[i]; !(b & 0x80); b <<= 1)
            bits++;
        break;
    }
    return bits;
}

/* The stamp modes: argv = MODE KERNEL M T P (BITS PREFIX | STAMP). */
static int
stamp_mode(int argc, char **argv)
{
    int mint = strcmp(argv[1], "mint") == 0;
    if (argc != (mint ? 8 : 7))
        return 2;
    const struct argon2_kernel *k = argon2_kernel_find(argv[2]);
    if (k == NULL || argon2_kernel_state(k) != ARGON2_KERNEL_USABLE) {
        printf("kernel %s cannot run here\n", argv[2]);
        return 2;
    }
    uint32_t m = (uint32_t) strtoul(argv[3], NULL, 10), t = (uint32_t) strtoul(argv[4], NULL, 10),
             p = (uint32_t) strtoul(argv[5], NULL, 10);
    argon2id_core *core;
    if (argon2id_core_new(&core, m, ARGON2ID_CORE_PREFETCH) != POSTAGE_OK)
        return 2;
    char text[512];
    uint8_t tag[32];
    int rc = 2;
    for (unsigned long n = 0; n < 1000000; n++) {
        int len = mint ? snprintf(text, sizeof text, "%s%lu", argv[7], n)
                       : snprintf(text, sizeof text, "%s", argv[6]);
        if (len < 0 || (size_t) len >= sizeof text)
            break;
        struct argon2id_core_input in = {
            (const uint8_t *) text, (size_t) len, (const uint8_t *) "postage/argon2id", 16,
            NULL, 0, NULL, 0, m, t, p,
        };
        if (argon2id_core_hash(core, k, &in, tag, sizeof tag) != POSTAGE_OK)
            break;
        unsigned zeros = leading_zero_bits(tag, sizeof tag);
        if (!mint) {
            printf("%u\n", zeros);
            rc = 0;
            break;
        }
        if (zeros >= (unsigned) strtoul(argv[6], NULL, 10)) {
            printf("%s\n", text);
            rc = 0;
            break;
        }
    }
    argon2id_core_free(core);
    return rc;
}

int
main(int argc, char **argv)
{
    unsigned passed = 0, failed = 0;
    argon2id_core *core;
    if (argc > 1)
        return strcmp(argv[1], "mint") == 0 || strcmp(argv[1], "zeros") == 0
                   ? stamp_mode(argc, argv) : 2;
    if (argon2id_core_new(&core, 4096, ARGON2ID_CORE_HUGE_PAGES | ARGON2ID_CORE_PREFETCH) !=
        POSTAGE_OK) {
        printf("no work area\n");
        return 1;
    }
    for (size_t i = 0; i < argon2_kernel_count(); i++) {
        const struct argon2_kernel *k = argon2_kernel_at(i);
        enum argon2_kernel_state st = argon2_kernel_state(k);
        if (st == ARGON2_KERNEL_UNSUPPORTED) {
            printf("%s not supported here\n", k->name);
            continue;
        }
        int ok = st == ARGON2_KERNEL_USABLE && argon2_kernel_selftest(k);
        printf("%s self-test %s\n", k->name, ok ? "ok" : "FAILED");
        ok ? passed++ : failed++;
        int same = matches_portable(k, 200);
        printf("%s against portable: %s\n", k->name, same ? "ok" : "FAILED");
        same ? passed++ : failed++;
        int right = hashes_right(k, core);
        printf("%s Argon2id vectors: %s\n", k->name, right ? "ok" : "FAILED");
        right ? passed++ : failed++;
    }
    argon2id_core_free(core);
    printf("%u passed, %u failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
