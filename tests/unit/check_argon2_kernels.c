/*
 * check_argon2_kernels.c - unit tests of Argon2's fill-block kernels
 * (simd/argon2_kernels.h) and of postage's own Argon2id on them
 * (lib/argon2id_core.h).
 *
 * Every compiled kernel that this CPU runs is checked against the portable
 * one on random blocks, and every whole hash, on every kernel, against an
 * independent oracle: libargon2's argon2id_hash_raw / argon2_ctx (Debian's
 * reference build), RFC 9106's Argon2id vector (§5.3) and the vectors of
 * docs/argon2id.md (computed with the argon2 CLI).  A kernel this CPU does
 * not run is reported on stderr and skipped, not failed.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>

#include "lib/argon2id_core.h"
#include "postage/argon2id.h"
#include "postage/status.h"
#include "simd/argon2_kernels.h"
#include "tests/unit/check_main.h"

#include "tests/unit/test_rng.h"

static void
random_block(argon2_block *b)
{
    for (size_t i = 0; i < ARGON2_BLOCK_WORDS; i++)
        b->v[i] = test_rng();
}

static int
usable(const struct argon2_kernel *k)
{
    return argon2_kernel_state(k) == ARGON2_KERNEL_USABLE;
}

/* ---- the kernels --------------------------------------------------- */

START_TEST(test_states)
{
    ck_assert_uint_ge(argon2_kernel_count(), 1);
    ck_assert_ptr_eq(argon2_kernel_find("portable"), &argon2_kernel_portable);
    ck_assert_ptr_null(argon2_kernel_find("no-such-kernel"));
    ck_assert_ptr_null(argon2_kernel_at(argon2_kernel_count()));
    ck_assert_int_eq(argon2_kernel_state(&argon2_kernel_portable), ARGON2_KERNEL_USABLE);
    for (size_t i = 0; i < argon2_kernel_count(); i++) {
        const struct argon2_kernel *k = argon2_kernel_at(i);
        /* A kernel the CPU runs must pass its self-test. */
        ck_assert_msg(argon2_kernel_state(k) != ARGON2_KERNEL_SELFTEST_FAILED,
                      "%s failed its self-test", k->name);
        fprintf(stderr, "argon2 kernel %s: %s\n", k->name,
                usable(k) ? "usable" : "not supported here, skipped");
    }
    ck_assert(usable(argon2_kernel_default()));
}
END_TEST

/* A kernel whose answers are wrong (the portable one, one bit off) must
 * fail the self-test, or the self-test proves nothing. */
static void
broken_fill(const argon2_block *prev, const argon2_block *ref, argon2_block *next, int with_xor,
            const struct argon2_fill_hook *hook)
{
    argon2_kernel_portable.fill_block(prev, ref, next, with_xor, hook);
    next->v[77] ^= 1u << 5;
}

static int
always(void)
{
    return 1;
}

START_TEST(test_selftest_catches_a_wrong_kernel)
{
    const struct argon2_kernel broken = { "broken", always, broken_fill, NULL };
    ck_assert_int_eq(argon2_kernel_selftest(&broken), 0);
    ck_assert_int_eq(argon2_kernel_state(&broken), ARGON2_KERNEL_SELFTEST_FAILED);
    ck_assert_int_eq(argon2_kernel_selftest(&argon2_kernel_portable), 1);
}
END_TEST

/* A kernel whose G is right but whose segment loop is wrong must fail
 * too; one with no segment loop of its own (the block-by-block one then
 * serves) and a right G passes. */
static void
broken_segment(const struct argon2_segment *seg)
{
    argon2_kernel_portable.fill_segment(seg);
    seg->memory[seg->lane * seg->lane_length + seg->slice * seg->segment_length].v[3] ^= 1;
}

START_TEST(test_selftest_checks_segments)
{
    const struct argon2_kernel broken = { "broken-seg", always, argon2_kernel_portable.fill_block,
                                          broken_segment };
    ck_assert_int_eq(argon2_kernel_selftest(&broken), 0);
    const struct argon2_kernel by_block = { "by-block", always, argon2_kernel_portable.fill_block,
                                            NULL };
    ck_assert_int_eq(argon2_kernel_selftest(&by_block), 1);
}
END_TEST

/* Every kernel's segment loop leaves the memory the portable one does,
 * bit for bit, segment after segment over whole passes (so references
 * into blocks filled by the same loop), with and without prefetching:
 * one lane and several, segments shorter than an address block and
 * longer (address block refills), and the block-by-block loop over the
 * kernel's fill_block agrees too. */
static void
fill_all(argon2_block *mem, uint32_t lanes, uint32_t lane_length, uint32_t passes,
         argon2_segment_fn fn, argon2_fill_fn fill, int prefetch)
{
    for (uint32_t pass = 0; pass < passes; pass++)
        for (uint32_t slice = 0; slice < 4; slice++)
            for (uint32_t lane = 0; lane < lanes; lane++) {
                const struct argon2_segment seg = { mem, pass, lane, slice, passes, lanes,
                                                    lanes * lane_length, lane_length,
                                                    lane_length / 4, prefetch, fill };
                fn(&seg);
            }
}

START_TEST(test_segments_match_portable)
{
    const struct argon2_kernel *k = argon2_kernel_at((size_t) _i);
    if (!usable(k))
        return;
    static const struct { uint32_t lanes, lane_length, passes; } shapes[] = {
        { 1, 8, 1 }, { 1, 16, 3 }, { 3, 12, 2 }, { 2, 520, 2 }, { 1, 1028, 1 }, { 4, 264, 1 },
    };
    ck_assert_ptr_nonnull(k->fill_segment);
    for (size_t sh = 0; sh < sizeof shapes / sizeof shapes[0]; sh++) {
        const uint32_t lanes = shapes[sh].lanes, q = shapes[sh].lane_length;
        const size_t n = (size_t) lanes * q, bytes = n * sizeof(argon2_block);
        argon2_block *want = aligned_alloc(_Alignof(argon2_block), bytes);
        argon2_block *got = aligned_alloc(_Alignof(argon2_block), bytes);
        ck_assert(want != NULL && got != NULL);
        for (size_t b = 0; b < n; b++)
            random_block(&want[b]);
        for (int variant = 0; variant < 3; variant++) {
            memcpy(got, want, bytes);
            argon2_block *w = aligned_alloc(_Alignof(argon2_block), bytes);
            ck_assert_ptr_nonnull(w);
            memcpy(w, want, bytes);
            fill_all(w, lanes, q, shapes[sh].passes, argon2_kernel_portable.fill_segment,
                     argon2_kernel_portable.fill_block, 0);
            if (variant < 2)
                fill_all(got, lanes, q, shapes[sh].passes, k->fill_segment, k->fill_block,
                         variant);
            else
                fill_all(got, lanes, q, shapes[sh].passes, argon2_fill_segment_by_block,
                         k->fill_block, 1);
            ck_assert_msg(memcmp(w, got, bytes) == 0, "%s: segments differ (p%u q%u t%u, %d)",
                          k->name, (unsigned) lanes, (unsigned) q, (unsigned) shapes[sh].passes,
                          variant);
            free(w);
        }
        free(want);
        free(got);
    }
}
END_TEST

/* Every kernel gives the portable kernel's block, bit for bit, with and
 * without the XOR into the old block, and when next is prev or ref. */
START_TEST(test_kernels_match_portable)
{
    const struct argon2_kernel *k = argon2_kernel_at((size_t) _i);
    if (!usable(k))
        return;
    for (int round = 0; round < 300; round++) {
        argon2_block prev, ref, old, want, got;
        random_block(&prev);
        random_block(&ref);
        random_block(&old);
        int with_xor = round & 1;
        want = old;
        got = old;
        argon2_kernel_portable.fill_block(&prev, &ref, &want, with_xor, NULL);
        k->fill_block(&prev, &ref, &got, with_xor, NULL);
        ck_assert_msg(memcmp(&want, &got, sizeof want) == 0, "%s differs, round %d", k->name,
                      round);
        /* next aliasing prev, then ref */
        want = prev;
        got = prev;
        argon2_kernel_portable.fill_block(&want, &ref, &want, with_xor, NULL);
        k->fill_block(&got, &ref, &got, with_xor, NULL);
        ck_assert_msg(memcmp(&want, &got, sizeof want) == 0, "%s differs (next = prev)", k->name);
        want = ref;
        got = ref;
        argon2_kernel_portable.fill_block(&prev, &want, &want, with_xor, NULL);
        k->fill_block(&prev, &got, &got, with_xor, NULL);
        ck_assert_msg(memcmp(&want, &got, sizeof want) == 0, "%s differs (next = ref)", k->name);
    }
    /* Edge words: all ones, where BlaMka's 2*x*y wraps hardest. */
    argon2_block ones, zero, want, got;
    memset(&ones, 0xFF, sizeof ones);
    memset(&zero, 0, sizeof zero);
    want = zero;
    got = zero;
    argon2_kernel_portable.fill_block(&ones, &zero, &want, 0, NULL);
    k->fill_block(&ones, &zero, &got, 0, NULL);
    ck_assert_msg(memcmp(&want, &got, sizeof want) == 0, "%s differs on all-ones", k->name);
}
END_TEST

/* A kernel hands its hook word 0 of the new block, once, and the same
 * word it stores. */
struct seen {
    uint64_t w0;
    int calls;
};

static void
remember(void *ctx, uint64_t w0)
{
    struct seen *s = ctx;
    s->w0 = w0;
    s->calls++;
}

START_TEST(test_kernels_hook_word0)
{
    const struct argon2_kernel *k = argon2_kernel_at((size_t) _i);
    if (!usable(k))
        return;
    for (int round = 0; round < 50; round++) {
        argon2_block prev, ref, next, plain;
        struct seen seen = { 0, 0 };
        const struct argon2_fill_hook hook = { remember, &seen };
        random_block(&prev);
        random_block(&ref);
        random_block(&next);
        plain = next;
        k->fill_block(&prev, &ref, &next, round & 1, &hook);
        k->fill_block(&prev, &ref, &plain, round & 1, NULL);
        ck_assert_int_eq(seen.calls, 1);
        ck_assert_msg(seen.w0 == next.v[0], "%s: hook saw another word 0", k->name);
        ck_assert_msg(memcmp(&next, &plain, sizeof next) == 0, "%s: the hook changed the block",
                      k->name);
    }
}
END_TEST

/* ---- whole hashes against libargon2 ---------------------------------- */

static void
core_hash(argon2id_core *core, const struct argon2_kernel *k, const struct argon2id_core_input *in,
          uint8_t *out, size_t out_len)
{
    int rc = argon2id_core_hash(core, k, in, out, out_len);
    ck_assert_msg(rc == POSTAGE_OK, "%s m%u t%u p%u: %s", k->name, (unsigned) in->memory,
                  (unsigned) in->passes, (unsigned) in->lanes, postage_strerror(rc));
}

/* m from 8 KiB to 4 MiB (some not multiples of 4 * lanes), t = 1..3,
 * p = 1 (and a few lanes at small m), against argon2id_hash_raw.  One work
 * area per kernel serves every size, largest first, never cleared: reuse
 * must not change a tag. */
START_TEST(test_core_matches_libargon2)
{
    const struct argon2_kernel *k = argon2_kernel_at((size_t) _i);
    if (!usable(k))
        return;
    static const struct { uint32_t m, p; } sizes[] = {
        { 4096, 1 }, { 8, 1 }, { 13, 1 }, { 64, 1 }, { 100, 1 }, { 1024, 1 }, { 2050, 1 },
        { 16, 2 }, { 64, 4 }, { 99, 3 },
    };
    argon2id_core *core;
    ck_assert_int_eq(argon2id_core_new(&core, 4096, ARGON2ID_CORE_HUGE_PAGES | ARGON2ID_CORE_PREFETCH),
                     POSTAGE_OK);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (uint32_t t = 1; t <= 3; t++) {
            char pwd[64];
            uint8_t salt[16], want[32], got[32];
            int n = snprintf(pwd, sizeof pwd, "1:8:261127:x@example.org::%u:%u",
                             (unsigned) sizes[s].m, (unsigned) t);
            for (size_t i = 0; i < sizeof salt; i++)
                salt[i] = (uint8_t) test_rng();
            ck_assert_int_eq(argon2id_hash_raw(t, sizes[s].m, sizes[s].p, pwd, (size_t) n, salt,
                                               sizeof salt, want, sizeof want),
                             ARGON2_OK);
            struct argon2id_core_input in = { (const uint8_t *) pwd, (size_t) n, salt, sizeof salt,
                                              NULL, 0, NULL, 0, sizes[s].m, t, sizes[s].p };
            core_hash(core, k, &in, got, sizeof got);
            ck_assert_msg(memcmp(want, got, sizeof want) == 0, "%s m%u t%u p%u: tag differs",
                          k->name, (unsigned) sizes[s].m, (unsigned) t, (unsigned) sizes[s].p);
        }
    }
    argon2id_core_free(core);
}
END_TEST

/* Tag lengths other than 32 (H' above 64 bytes, and its shortest form),
 * an empty password, and a long one. */
START_TEST(test_core_lengths)
{
    const struct argon2_kernel *k = argon2_kernel_default();
    static const size_t lens[] = { 16, 64, 65, 96, 100, 1024 };
    static uint8_t pwd[3000];
    static const uint8_t salt[] = "postage/argon2id";
    argon2id_core *core;
    ck_assert_int_eq(argon2id_core_new(&core, 64, 0), POSTAGE_OK);
    for (size_t i = 0; i < sizeof pwd; i++)
        pwd[i] = (uint8_t) test_rng();
    for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
        for (size_t plen = 0; plen <= sizeof pwd; plen += 1500) {
            uint8_t want[1024], got[1024];
            ck_assert_int_eq(argon2id_hash_raw(2, 64, 1, plen ? pwd : (const void *) "", plen,
                                               salt, 16, want, lens[l]),
                             ARGON2_OK);
            struct argon2id_core_input in = { plen ? pwd : NULL, plen, salt, 16, NULL, 0,
                                              NULL, 0, 64, 2, 1 };
            core_hash(core, k, &in, got, lens[l]);
            ck_assert_msg(memcmp(want, got, lens[l]) == 0, "tag of %zu bytes differs", lens[l]);
        }
    }
    argon2id_core_free(core);
}
END_TEST

/* RFC 9106 §5.3: secret and associated data, four lanes, three passes. */
START_TEST(test_core_rfc9106)
{
    const struct argon2_kernel *k = argon2_kernel_at((size_t) _i);
    if (!usable(k))
        return;
    static const uint8_t want[32] = {
        0x0d, 0x64, 0x0d, 0xf5, 0x8d, 0x78, 0x76, 0x6c, 0x08, 0xc0, 0x37, 0xa3, 0x4a, 0x8b, 0x53, 0xc9,
        0xd0, 0x1e, 0xf0, 0x45, 0x2d, 0x75, 0xb6, 0x5e, 0xb5, 0x25, 0x20, 0xe9, 0x6b, 0x01, 0xe6, 0x59,
    };
    uint8_t pwd[32], salt[16], secret[8], ad[12], got[32];
    memset(pwd, 1, sizeof pwd);
    memset(salt, 2, sizeof salt);
    memset(secret, 3, sizeof secret);
    memset(ad, 4, sizeof ad);
    argon2id_core *core;
    ck_assert_int_eq(argon2id_core_new(&core, 32, 0), POSTAGE_OK);
    struct argon2id_core_input in = { pwd, sizeof pwd, salt, sizeof salt, secret, sizeof secret,
                                      ad, sizeof ad, 32, 3, 4 };
    core_hash(core, k, &in, got, sizeof got);
    ck_assert_msg(memcmp(want, got, sizeof want) == 0, "%s: RFC 9106 vector differs", k->name);
    argon2id_core_wipe(core);
    argon2id_core_free(core);
}
END_TEST

static char *
trim(char *s)
{
    while (*s == ' ' || *s == '`')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '`'))
        s[--n] = '\0';
    return s;
}

/* Every row of docs/argon2id.md's vector table (tags from the argon2 CLI),
 * computed as a stamp is: password = the stamp, salt "postage/argon2id". */
START_TEST(test_core_docs_vectors)
{
    const struct argon2_kernel *k = argon2_kernel_at((size_t) _i);
    if (!usable(k))
        return;
    char path[4096], line[4096];
    const char *top = getenv("top_srcdir");
    snprintf(path, sizeof path, "%s/docs/argon2id.md", top ? top : ".");
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    argon2id_core *core;
    ck_assert_int_eq(argon2id_core_new(&core, 4096, ARGON2ID_CORE_HUGE_PAGES | ARGON2ID_CORE_PREFETCH),
                     POSTAGE_OK);
    int in_table = 0, rows = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "<!-- a2id-vectors", 17) == 0) {
            in_table = 1;
            continue;
        }
        if (strncmp(line, "<!-- end a2id-vectors", 21) == 0)
            break;
        if (!in_table || line[0] != '|' || strncmp(line, "|---", 4) == 0 ||
            strncmp(line, "| stamp |", 9) == 0)
            continue;
        char *cols[8];
        int n = 0;
        for (char *c = strtok(line + 1, "|"); c != NULL && n < 8; c = strtok(NULL, "|"))
            cols[n++] = trim(c);
        ck_assert_int_ge(n, 5);
        const char *stamp = cols[0], *hex = cols[4];
        struct argon2id_core_input in = {
            (const uint8_t *) stamp, strlen(stamp),
            (const uint8_t *) POSTAGE_A2ID_SALT, POSTAGE_A2ID_SALT_LEN, NULL, 0, NULL, 0,
            (uint32_t) strtoul(cols[1], NULL, 10), (uint32_t) strtoul(cols[2], NULL, 10),
            (uint32_t) strtoul(cols[3], NULL, 10),
        };
        uint8_t tag[POSTAGE_A2ID_TAG_LEN];
        char tag_hex[2 * POSTAGE_A2ID_TAG_LEN + 1];
        core_hash(core, k, &in, tag, sizeof tag);
        for (size_t i = 0; i < sizeof tag; i++)
            sprintf(tag_hex + 2 * i, "%02x", tag[i]);
        ck_assert_msg(strcmp(tag_hex, hex) == 0, "%s with %s: tag %s, the table says %s", stamp,
                      k->name, tag_hex, hex);
        rows++;
    }
    fclose(f);
    argon2id_core_free(core);
    ck_assert_int_ge(rows, 8);
}
END_TEST

/* Inputs outside RFC 9106's limits or the work area are refused. */
START_TEST(test_core_refuses)
{
    argon2id_core *core;
    uint8_t out[32];
    ck_assert_int_eq(argon2id_core_new(&core, 7, 0), POSTAGE_ERR_INVALID);
    ck_assert_ptr_null(core);
    ck_assert_int_eq(argon2id_core_new(NULL, 64, 0), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(argon2id_core_new(&core, 64, 0), POSTAGE_OK);
    ck_assert_uint_eq(argon2id_core_memory(core), 64);
    struct argon2id_core_input ok = { NULL, 0, NULL, 0, NULL, 0, NULL, 0, 64, 1, 1 }, in;
    ck_assert_int_eq(argon2id_core_hash(core, NULL, &ok, out, sizeof out), POSTAGE_OK);
    in = ok; in.memory = 65;            /* more than the area */
    ck_assert_int_eq(argon2id_core_hash(core, NULL, &in, out, sizeof out), POSTAGE_ERR_INVALID);
    in = ok; in.memory = 15; in.lanes = 2;   /* m < 8p */
    ck_assert_int_eq(argon2id_core_hash(core, NULL, &in, out, sizeof out), POSTAGE_ERR_INVALID);
    in = ok; in.passes = 0;
    ck_assert_int_eq(argon2id_core_hash(core, NULL, &in, out, sizeof out), POSTAGE_ERR_INVALID);
    in = ok; in.lanes = 0;
    ck_assert_int_eq(argon2id_core_hash(core, NULL, &in, out, sizeof out), POSTAGE_ERR_INVALID);
    in = ok; in.password_len = 3;       /* NULL with a length */
    ck_assert_int_eq(argon2id_core_hash(core, NULL, &in, out, sizeof out), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(argon2id_core_hash(core, NULL, &ok, out, 15), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(argon2id_core_hash(core, NULL, &ok, out, 1025), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(argon2id_core_hash(NULL, NULL, &ok, out, sizeof out), POSTAGE_ERR_INVALID);
    argon2id_core_free(core);
    argon2id_core_free(NULL);
}
END_TEST

Suite *
suite(void)
{
    Suite *s = suite_create("argon2_kernels");
    int n = (int) argon2_kernel_count();
    TCase *t = tcase_create("kernels");
    tcase_add_test(t, test_states);
    tcase_add_test(t, test_selftest_catches_a_wrong_kernel);
    tcase_add_loop_test(t, test_kernels_match_portable, 0, n);
    tcase_add_loop_test(t, test_kernels_hook_word0, 0, n);
    tcase_add_test(t, test_selftest_checks_segments);
    tcase_add_loop_test(t, test_segments_match_portable, 0, n);
    suite_add_tcase(s, t);
    t = tcase_create("argon2id");
    tcase_set_timeout(t, 300);
    tcase_add_loop_test(t, test_core_matches_libargon2, 0, n);
    tcase_add_test(t, test_core_lengths);
    tcase_add_loop_test(t, test_core_rfc9106, 0, n);
    tcase_add_loop_test(t, test_core_docs_vectors, 0, n);
    tcase_add_test(t, test_core_refuses);
    suite_add_tcase(s, t);
    return s;
}
