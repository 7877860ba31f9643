/*
 * check_kernels.c - unit tests of the SHA-1 search kernels and their
 * dispatcher.
 *
 * Every compiled kernel this CPU supports is checked against two oracles:
 * the portable kernel and OpenSSL's SHA-1 of the whole stamp message hashed
 * from scratch.  Jobs are built exactly as the minting engine builds them:
 * prefix, '0' padding, seven counter digits, so that the message ends at
 * byte 55 of its last block.  Random inputs come from a fixed-seed
 * generator, so a failure is reproducible; messages say which input failed.
 */
#include "config.h"

#include <check.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simd/sha1_kernels.h"
#include "tests/unit/check_main.h"
#define TEST_RNG_START UINT64_C(0)   /* rng_seed() before any use */
#include "tests/unit/test_rng.h"

#define SPACE SHA1_SEARCH_SPACE
#define OUTER (UINT64_C(1) << 18) /* W12 changes every 64^3 counters */
#define MAX_PREFIX 200
#define MAX_MESSAGE (MAX_PREFIX + 64 + SHA1_SEARCH_DIGITS)
#define MAX_HITS 512

static const char alphabet[] = SHA1_SEARCH_ALPHABET;

/* The one digest with more than 32 leading zero bits we know of: prefix
 * KNOWN_PREFIX with counter KNOWN_COUNTER has KNOWN_BITS (found with the
 * AVX-512 kernel, confirmed by Python's hashlib; the test re-checks it
 * with OpenSSL). */
#define KNOWN_PREFIX "1:20:261127:selftest@postage.invalid::Xy7Kq3Zp00"
#define KNOWN_COUNTER UINT64_C(12476979839)
#define KNOWN_BITS 37u

/* ---- helpers ------------------------------------------------------- */

static void rng_seed(uint64_t seed)
{
    test_rng_state = seed * UINT64_C(0x9E3779B97F4A7C15) + 1;
}

static uint64_t rng_below(uint64_t n)
{
    return test_rng() % n;
}

/* A message as the engine lays it out, and its search job. */
struct stamp {
    uint8_t msg[MAX_MESSAGE];
    size_t len; /* total length; the digits are the last seven bytes */
    struct sha1_search_job job;
};

static void stamp_build(struct stamp *s, const uint8_t *prefix, size_t plen)
{
    const size_t pad = (SHA1_SEARCH_DIGITS_OFFSET + 64 - plen % 64) % 64;
    size_t done;
    uint64_t bit_len;
    int i;

    ck_assert_uint_le(plen, MAX_PREFIX);
    memcpy(s->msg, prefix, plen);
    memset(s->msg + plen, '0', pad + SHA1_SEARCH_DIGITS);
    s->len = plen + pad + SHA1_SEARCH_DIGITS;
    ck_assert_uint_eq(s->len % 64, SHA1_SEARCH_END_OFFSET);

    s->job.midstate[0] = SHA1_IV0;
    s->job.midstate[1] = SHA1_IV1;
    s->job.midstate[2] = SHA1_IV2;
    s->job.midstate[3] = SHA1_IV3;
    s->job.midstate[4] = SHA1_IV4;
    for (done = 0; s->len - done > 64; done += 64)
        sha1_compress(s->job.midstate, s->msg + done);
    memset(s->job.block, 0, sizeof s->job.block);
    memcpy(s->job.block, s->msg + done, s->len - done);
    s->job.block[SHA1_SEARCH_END_OFFSET] = 0x80;
    bit_len = (uint64_t)s->len * 8;
    for (i = 0; i < 8; i++)
        s->job.block[63 - i] = (uint8_t)(bit_len >> (8 * i));
    /* Kernels must ignore whatever the job holds in bytes 48..54. */
    memset(s->job.block + SHA1_SEARCH_DIGITS_OFFSET, '?', SHA1_SEARCH_DIGITS);
}

static void stamp_random(struct stamp *s, size_t plen)
{
    uint8_t prefix[MAX_PREFIX];
    size_t i;

    for (i = 0; i < plen; i++)
        prefix[i] = (uint8_t)(33 + rng_below(94));
    stamp_build(s, prefix, plen);
}

/* Leading zero bits of SHA-1(message with counter n), by OpenSSL. */
static unsigned openssl_bits(struct stamp *s, uint64_t n)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    uint64_t v = n;
    uint32_t h0, h1;
    int i;

    for (i = SHA1_SEARCH_DIGITS - 1; i >= 0; i--) {
        s->msg[s->len - SHA1_SEARCH_DIGITS + (size_t)i] =
            (uint8_t)alphabet[v & 63];
        v >>= 6;
    }
    ck_assert_int_eq(EVP_Digest(s->msg, s->len, md, &mdlen, EVP_sha1(), NULL),
                     1);
    ck_assert_uint_eq(mdlen, 20);
    h0 = (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 |
         (uint32_t)md[2] << 8 | md[3];
    h1 = (uint32_t)md[4] << 24 | (uint32_t)md[5] << 16 |
         (uint32_t)md[6] << 8 | md[7];
    return sha1_leading_zero_bits(h0, h1);
}

/* All hits in [first, first + count) by repeated search from found + 1. */
static size_t kernel_hits(const struct sha1_kernel *k, const struct stamp *s,
                          uint64_t first, uint64_t count, unsigned bits,
                          uint64_t *hits)
{
    const uint64_t end = first + count;
    uint64_t pos = first, found;
    size_t n = 0;

    while (pos < end) {
        found = ~UINT64_C(0);
        if (!k->search(&s->job, pos, end - pos, bits, &found))
            break;
        ck_assert_msg(found >= pos && found < end,
                      "%s: hit %llu outside [%llu, %llu)", k->name,
                      (unsigned long long)found, (unsigned long long)pos,
                      (unsigned long long)end);
        ck_assert_uint_lt(n, MAX_HITS);
        hits[n++] = found;
        pos = found + 1;
    }
    return n;
}

static size_t openssl_hits(struct stamp *s, uint64_t first, uint64_t count,
                           unsigned bits, uint64_t *hits)
{
    uint64_t n;
    size_t found = 0;

    for (n = first; n < first + count; n++) {
        if (openssl_bits(s, n) >= bits) {
            ck_assert_uint_lt(found, MAX_HITS);
            hits[found++] = n;
        }
    }
    return found;
}

static void compare_hits(const char *who, const struct sha1_kernel *k,
                         size_t plen, uint64_t first, uint64_t count,
                         unsigned bits, const uint64_t *got, size_t ngot,
                         const uint64_t *want, size_t nwant)
{
    size_t i;

    ck_assert_msg(ngot == nwant,
                  "%s vs %s: prefix length %zu, first %llu, count %llu, "
                  "bits %u: %zu hits, expected %zu",
                  k->name, who, plen, (unsigned long long)first,
                  (unsigned long long)count, bits, ngot, nwant);
    for (i = 0; i < ngot; i++)
        ck_assert_msg(got[i] == want[i],
                      "%s vs %s: prefix length %zu, first %llu, bits %u: "
                      "hit %zu is %llu, expected %llu",
                      k->name, who, plen, (unsigned long long)first, bits, i,
                      (unsigned long long)got[i],
                      (unsigned long long)want[i]);
}

/* Kernel i of the table, or NULL (test skipped) if this CPU lacks it. */
static const struct sha1_kernel *supported_kernel(int i)
{
    const struct sha1_kernel *k = sha1_kernel_at((size_t)i);

    ck_assert_ptr_nonnull(k);
    if (!k->cpu_supported()) {
        printf("check_kernels: %s not supported here, skipped\n", k->name);
        return NULL;
    }
    return k;
}

/* A start of a range of `count`: lane-aligned, unaligned, next to a W12
 * change, next to the top of the counter space, next to 0. */
static uint64_t pick_first(unsigned kind, unsigned lanes, uint64_t count)
{
    const uint64_t room = SPACE - count;

    switch (kind % 6) {
    case 0:
        return rng_below(room) & ~(uint64_t)(lanes - 1);
    case 1:
        return rng_below(room) | 1;
    case 2: /* crosses W12/W13 right at the start */
        return (1 + rng_below((SPACE >> 18) - 1)) * OUTER - 1 -
               rng_below(lanes + 2);
    case 3: /* ends at, or just below, the top of the space */
        return room - rng_below(lanes + 2);
    case 4: /* crosses a change of the second-lowest digit */
        return (1 + rng_below(room / 64)) * 64 - rng_below(lanes + 2);
    default:
        return rng_below(lanes + 3);
    }
}

/* ---- portable helpers ---------------------------------------------- */

START_TEST(test_leading_zero_bits)
{
    ck_assert_uint_eq(sha1_leading_zero_bits(0, 0), 64);
    ck_assert_uint_eq(sha1_leading_zero_bits(0, 1), 63);
    ck_assert_uint_eq(sha1_leading_zero_bits(0, 0x00010000), 47);
    ck_assert_uint_eq(sha1_leading_zero_bits(0, 0x40000000), 33);
    ck_assert_uint_eq(sha1_leading_zero_bits(0, 0x80000000), 32);
    ck_assert_uint_eq(sha1_leading_zero_bits(1, 0), 31);
    ck_assert_uint_eq(sha1_leading_zero_bits(1, 0xFFFFFFFF), 31);
    ck_assert_uint_eq(sha1_leading_zero_bits(0x00800000, 0), 8);
    ck_assert_uint_eq(sha1_leading_zero_bits(0x80000000, 0), 0);
    ck_assert_uint_eq(sha1_leading_zero_bits(0xFFFFFFFF, 0xFFFFFFFF), 0);
}
END_TEST

START_TEST(test_write_counter)
{
    uint8_t block[64];

    memset(block, 'x', sizeof block);
    sha1_search_write_counter(block, 0);
    ck_assert_int_eq(memcmp(block + 48, "0000000", 7), 0);
    sha1_search_write_counter(block, 64 * 10 + 63);
    ck_assert_int_eq(memcmp(block + 48, "00000A/", 7), 0);
    sha1_search_write_counter(block, SPACE - 1);
    ck_assert_int_eq(memcmp(block + 48, "///////", 7), 0);
    sha1_search_write_counter(block, OUTER);
    ck_assert_int_eq(memcmp(block + 48, "0001000", 7), 0);
    sha1_search_write_counter(block, UINT64_C(36) << 36 | 62);
    ck_assert_int_eq(memcmp(block + 48, "a00000+", 7), 0);
    ck_assert_int_eq(block[47], 'x');
    ck_assert_int_eq(block[55], 'x');
}
END_TEST

/* sha1_compress with the usual padding gives OpenSSL's digest. */
START_TEST(test_compress_vs_openssl)
{
    uint8_t msg[300], buf[384];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen;
    size_t len, i, padded;

    rng_seed(11);
    for (len = 0; len < sizeof msg; len++) {
        uint32_t st[5] = { SHA1_IV0, SHA1_IV1, SHA1_IV2, SHA1_IV3, SHA1_IV4 };

        for (i = 0; i < len; i++)
            msg[i] = (uint8_t)test_rng();
        memset(buf, 0, sizeof buf);
        memcpy(buf, msg, len);
        buf[len] = 0x80;
        padded = (len + 8) / 64 * 64 + 64;
        for (i = 0; i < 8; i++)
            buf[padded - 1 - i] = (uint8_t)(((uint64_t)len * 8) >> (8 * i));
        for (i = 0; i < padded; i += 64)
            sha1_compress(st, buf + i);
        ck_assert_int_eq(EVP_Digest(msg, len, md, &mdlen, EVP_sha1(), NULL), 1);
        for (i = 0; i < 5; i++)
            ck_assert_msg(st[i] == ((uint32_t)md[4 * i] << 24 |
                                    (uint32_t)md[4 * i + 1] << 16 |
                                    (uint32_t)md[4 * i + 2] << 8 |
                                    md[4 * i + 3]),
                          "length %zu, word %zu", len, i);
    }
}
END_TEST

/* ---- every kernel against OpenSSL ---------------------------------- */

/*
 * Every prefix length 0..200, several random prefixes each: all hits at
 * 6..8 bits in a short range, from the kernel by repeated search and from
 * OpenSSL by hashing every counter.
 */
START_TEST(test_kernel_vs_openssl)
{
    const struct sha1_kernel *k = supported_kernel(_i);
    static uint64_t got[MAX_HITS], want[MAX_HITS];
    struct stamp s;
    size_t plen, rep, ngot, nwant;

    if (k == NULL)
        return;
    rng_seed(100 + (uint64_t)_i);
    for (plen = 0; plen <= MAX_PREFIX; plen++) {
        for (rep = 0; rep < 6; rep++) {
            const uint64_t count = 1 + rng_below(3 * 64);
            const uint64_t first =
                pick_first((unsigned)(plen + rep), k->lanes, count);
            const unsigned bits = 6 + (unsigned)rng_below(3);

            stamp_random(&s, plen);
            ngot = kernel_hits(k, &s, first, count, bits, got);
            nwant = openssl_hits(&s, first, count, bits, want);
            compare_hits("OpenSSL", k, plen, first, count, bits, got, ngot,
                         want, nwant);
        }
    }
}
END_TEST

/* bits = 1: about every other counter hits, including inside one vector. */
START_TEST(test_kernel_bits1)
{
    const struct sha1_kernel *k = supported_kernel(_i);
    static uint64_t got[MAX_HITS], want[MAX_HITS];
    struct stamp s;
    unsigned rep;

    if (k == NULL)
        return;
    rng_seed(200 + (uint64_t)_i);
    for (rep = 0; rep < 60; rep++) {
        const uint64_t count = 1 + rng_below(100);
        const uint64_t first = pick_first(rep, k->lanes, count);
        size_t ngot, nwant;

        stamp_random(&s, rng_below(MAX_PREFIX + 1));
        ngot = kernel_hits(k, &s, first, count, 1, got);
        nwant = openssl_hits(&s, first, count, 1, want);
        compare_hits("OpenSSL", k, s.len, first, count, 1, got, ngot, want,
                     nwant);
    }
}
END_TEST

/* The 37-bit digest: bits 31..37 find it, 38 and 64 do not (H1 path). */
START_TEST(test_kernel_high_bits)
{
    const struct sha1_kernel *k = supported_kernel(_i);
    static uint64_t want[MAX_HITS];
    struct stamp s;
    unsigned bits;
    uint64_t found, first, count;

    if (k == NULL)
        return;
    stamp_build(&s, (const uint8_t *)KNOWN_PREFIX, strlen(KNOWN_PREFIX));
    ck_assert_uint_eq(openssl_bits(&s, KNOWN_COUNTER), KNOWN_BITS);
    for (first = KNOWN_COUNTER - 37; first <= KNOWN_COUNTER; first += 37) {
        count = KNOWN_COUNTER + 29 - first;
        /* Nothing else in the range reaches even 20 bits. */
        ck_assert_uint_eq(openssl_hits(&s, first, count, 20, want), 1);
        for (bits = 20; bits <= KNOWN_BITS; bits++) {
            found = 0;
            ck_assert_msg(k->search(&s.job, first, count, bits, &found) == 1,
                          "%s missed the %u-bit digest at bits %u", k->name,
                          KNOWN_BITS, bits);
            ck_assert_uint_eq(found, KNOWN_COUNTER);
        }
        for (bits = KNOWN_BITS + 1; bits <= 64; bits++)
            ck_assert_msg(k->search(&s.job, first, count, bits, &found) == 0,
                          "%s: false hit at bits %u", k->name, bits);
    }
    /* A range ending just before it, and one starting just after it. */
    ck_assert_int_eq(k->search(&s.job, KNOWN_COUNTER - 40, 40, 32, &found), 0);
    ck_assert_int_eq(k->search(&s.job, KNOWN_COUNTER + 1, 40, 32, &found), 0);
}
END_TEST

/* Over a few million counters no hit at bits 31..40 is false. */
START_TEST(test_kernel_no_false_high_hits)
{
    const struct sha1_kernel *k = supported_kernel(_i);
    const uint64_t count = UINT64_C(1) << 21;
    struct stamp s;
    unsigned bits;
    uint64_t found;

    if (k == NULL)
        return;
    rng_seed(300 + (uint64_t)_i);
    for (bits = 31; bits <= 40; bits++) {
        const uint64_t first = pick_first(bits, k->lanes, count);

        stamp_random(&s, rng_below(MAX_PREFIX + 1));
        if (k->search(&s.job, first, count, bits, &found)) {
            ck_assert_msg(found >= first && found < first + count,
                          "%s: hit outside the range", k->name);
            ck_assert_msg(openssl_bits(&s, found) >= bits,
                          "%s: false hit %llu at bits %u", k->name,
                          (unsigned long long)found, bits);
        }
    }
}
END_TEST

/* ---- every kernel against the portable one ------------------------- */

/*
 * Longer ranges (several vectors, a W12 change inside) at 9..12 bits:
 * every hit of the kernel equals every hit of the portable kernel.
 */
START_TEST(test_kernel_vs_portable)
{
    const struct sha1_kernel *k = supported_kernel(_i);
    static uint64_t got[MAX_HITS], want[MAX_HITS];
    struct stamp s;
    unsigned rep;

    if (k == NULL)
        return;
    rng_seed(400 + (uint64_t)_i);
    for (rep = 0; rep < 60; rep++) {
        const uint64_t count = 1000 + rng_below(20000);
        const unsigned bits = 9 + (unsigned)rng_below(4);
        uint64_t first;
        size_t ngot, nwant;

        if (rep % 3 == 0) /* a W12 change somewhere in the middle */
            first = (1 + rng_below((SPACE >> 18) - 1)) * OUTER -
                    1 - rng_below(count);
        else
            first = pick_first(rep, k->lanes, count);
        stamp_random(&s, rng_below(MAX_PREFIX + 1));
        ngot = kernel_hits(k, &s, first, count, bits, got);
        nwant = kernel_hits(&sha1_kernel_portable, &s, first, count, bits,
                            want);
        compare_hits("portable", k, s.len, first, count, bits, got, ngot,
                     want, nwant);
    }
}
END_TEST

/* Degenerate arguments: empty range, a range of one, bits beyond 64. */
START_TEST(test_kernel_edges)
{
    const struct sha1_kernel *k = supported_kernel(_i);
    struct stamp s;
    uint64_t found = 0, n;

    if (k == NULL)
        return;
    stamp_build(&s, (const uint8_t *)KNOWN_PREFIX, strlen(KNOWN_PREFIX));
    ck_assert_int_eq(k->search(&s.job, 0, 0, 1, &found), 0);
    ck_assert_int_eq(k->search(&s.job, SPACE - 5, 0, 1, &found), 0);
    /* Each single counter agrees with OpenSSL at 1 bit. */
    for (n = SPACE - 70; n < SPACE; n++) {
        const int want = openssl_bits(&s, n) >= 1;

        ck_assert_int_eq(k->search(&s.job, n, 1, 1, &found), want);
        if (want)
            ck_assert_uint_eq(found, n);
    }
    ck_assert_int_eq(k->search(&s.job, KNOWN_COUNTER - 5, 11, 65, &found), 0);
}
END_TEST

/* Search functions are pure: two threads on one job agree with one. */
struct par_arg {
    const struct sha1_kernel *k;
    const struct stamp *s;
    uint64_t first;
    uint64_t hits[MAX_HITS];
    size_t n;
};

static void *par_run(void *p)
{
    struct par_arg *a = p;
    uint64_t pos = a->first, end = a->first + 200000, found;

    a->n = 0;
    while (pos < end && a->n < MAX_HITS &&
           a->k->search(&a->s->job, pos, end - pos, 11, &found)) {
        a->hits[a->n++] = found;
        pos = found + 1;
    }
    return NULL;
}

START_TEST(test_kernel_threads)
{
    const struct sha1_kernel *k = supported_kernel(_i);
    static struct par_arg args[3];
    pthread_t t[2];
    struct stamp s;
    int i;

    if (k == NULL)
        return;
    rng_seed(500);
    stamp_random(&s, 77);
    for (i = 0; i < 3; i++) {
        args[i].k = k;
        args[i].s = &s;
        args[i].first = 4 * OUTER - 100000;
    }
    for (i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, par_run, &args[i]), 0);
    par_run(&args[2]);
    for (i = 0; i < 2; i++) {
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
        ck_assert_uint_eq(args[i].n, args[2].n);
        ck_assert_int_eq(memcmp(args[i].hits, args[2].hits,
                                args[2].n * sizeof args[2].hits[0]), 0);
    }
    ck_assert_uint_gt(args[2].n, 0);
}
END_TEST

/* ---- dispatcher ---------------------------------------------------- */

START_TEST(test_table)
{
    static const char *const names[] = { "portable", "sse2", "avx2", "avx512",
                                         "sha-ni", "neon", "armv8-sha" };
    size_t n = sha1_kernel_count(), i, j;

    ck_assert_uint_ge(n, 1);
    ck_assert_ptr_eq(sha1_kernel_at(n - 1), &sha1_kernel_portable);
    ck_assert_ptr_null(sha1_kernel_at(n));
    for (i = 0; i < n; i++) {
        const struct sha1_kernel *k = sha1_kernel_at(i);
        int known = 0;

        ck_assert_ptr_nonnull(k);
        ck_assert_ptr_eq(sha1_kernel_find(k->name), k);
        ck_assert_uint_ge(k->lanes, 1);
        ck_assert_ptr_nonnull(k->cpu_supported);
        ck_assert_ptr_nonnull(k->search);
        for (j = 0; j < sizeof names / sizeof names[0]; j++)
            known |= strcmp(k->name, names[j]) == 0;
        ck_assert_msg(known, "unexpected kernel name %s", k->name);
    }
    ck_assert_ptr_null(sha1_kernel_find("no-such-kernel"));
    ck_assert_ptr_null(sha1_kernel_find(NULL));
    ck_assert_ptr_null(sha1_kernel_find(""));
}
END_TEST

static void *state_first(void *p)
{
    const struct sha1_kernel **out = p;

    *out = sha1_kernel_default();
    return NULL;
}

/* The first calls race; all must see the same, complete answers. */
START_TEST(test_states_and_default)
{
    const struct sha1_kernel *seen[4];
    pthread_t t[4];
    const struct sha1_kernel *def;
    size_t i;

    for (i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, state_first, &seen[i]),
                         0);
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    def = sha1_kernel_default();
    for (i = 0; i < 4; i++)
        ck_assert_ptr_eq(seen[i], def);
    ck_assert_int_eq(sha1_kernel_state(def), SHA1_KERNEL_USABLE);
    for (i = 0; i < sha1_kernel_count(); i++) {
        const struct sha1_kernel *k = sha1_kernel_at(i);
        const enum sha1_kernel_state st = sha1_kernel_state(k);

        if (k->cpu_supported())
            ck_assert_msg(st == SHA1_KERNEL_USABLE, "%s: state %d", k->name,
                          (int)st);
        else
            ck_assert_int_eq(st, SHA1_KERNEL_UNSUPPORTED);
        /* The default is the first usable kernel in preference order. */
        if (k == def)
            break;
        ck_assert_int_ne(st, SHA1_KERNEL_USABLE);
    }
    ck_assert_int_eq(sha1_kernel_state(&sha1_kernel_portable),
                     SHA1_KERNEL_USABLE);
    ck_assert_int_eq(sha1_kernel_state(NULL), SHA1_KERNEL_UNSUPPORTED);
}
END_TEST

START_TEST(test_selftest)
{
    const struct sha1_kernel *k = supported_kernel(_i);

    if (k == NULL)
        return;
    ck_assert_msg(sha1_kernel_selftest(k) == 1, "%s failed its self-test",
                  k->name);
}
END_TEST

/* Deliberately broken kernels: each gets one detail wrong. */
static int always_supported(void)
{
    return 1;
}

static int off_by_one_search(const struct sha1_search_job *job,
                             uint64_t first, uint64_t count, unsigned bits,
                             uint64_t *found)
{
    int r = sha1_kernel_portable.search(job, first, count, bits, found);

    if (r)
        *found += 1;
    return r;
}

static int never_search(const struct sha1_search_job *job, uint64_t first,
                        uint64_t count, unsigned bits, uint64_t *found)
{
    (void)job;
    (void)first;
    (void)count;
    (void)bits;
    (void)found;
    return 0;
}

/* Ignores `first` below a multiple of 4, as a kernel that forgot to mask
 * the lanes of its first vector would. */
static int unmasked_search(const struct sha1_search_job *job, uint64_t first,
                           uint64_t count, unsigned bits, uint64_t *found)
{
    const uint64_t aligned = first & ~UINT64_C(3);

    return sha1_kernel_portable.search(job, aligned, count + (first - aligned),
                                       bits, found);
}

/* Checks only H0, as a kernel with a broken H1 path would. */
static int h0_only_search(const struct sha1_search_job *job, uint64_t first,
                          uint64_t count, unsigned bits, uint64_t *found)
{
    return sha1_kernel_portable.search(job, first, count,
                                       bits > 32 ? 32 : bits, found);
}

START_TEST(test_broken_kernels_fail)
{
    static const sha1_search_fn broken[] = { off_by_one_search, never_search,
                                             unmasked_search, h0_only_search };
    size_t i;

    for (i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        const struct sha1_kernel k = { "broken", 1, always_supported,
                                       broken[i] };

        ck_assert_msg(sha1_kernel_selftest(&k) == 0,
                      "broken kernel %zu passed the self-test", i);
        ck_assert_int_eq(sha1_kernel_state(&k), SHA1_KERNEL_SELFTEST_FAILED);
    }
}
END_TEST

Suite *
suite(void)
{
    Suite *s = suite_create("kernels");
    TCase *helpers = tcase_create("helpers");
    TCase *kernels = tcase_create("kernels");
    TCase *dispatch = tcase_create("dispatch");
    const int n = (int)sha1_kernel_count();

    tcase_add_test(helpers, test_leading_zero_bits);
    tcase_add_test(helpers, test_write_counter);
    tcase_add_test(helpers, test_compress_vs_openssl);
    suite_add_tcase(s, helpers);

    /* Generous: the OpenSSL oracle is slow under AddressSanitizer. */
    tcase_set_timeout(kernels, 120);
    tcase_add_loop_test(kernels, test_kernel_vs_openssl, 0, n);
    tcase_add_loop_test(kernels, test_kernel_bits1, 0, n);
    tcase_add_loop_test(kernels, test_kernel_high_bits, 0, n);
    tcase_add_loop_test(kernels, test_kernel_no_false_high_hits, 0, n);
    tcase_add_loop_test(kernels, test_kernel_vs_portable, 0, n);
    tcase_add_loop_test(kernels, test_kernel_edges, 0, n);
    tcase_add_loop_test(kernels, test_kernel_threads, 0, n);
    suite_add_tcase(s, kernels);

    tcase_set_timeout(dispatch, 60);
    tcase_add_test(dispatch, test_table);
    tcase_add_test(dispatch, test_states_and_default);
    tcase_add_loop_test(dispatch, test_selftest, 0, n);
    tcase_add_test(dispatch, test_broken_kernels_fail);
    suite_add_tcase(s, dispatch);
    return s;
}
