/*
 * check_mint.c - unit tests of the minting engine: every stamp it returns
 * must parse, carry the requested fields, be worth its bits under an
 * independent SHA-1 (OpenSSL, through postage_check), and end at byte 55 of
 * its last SHA-1 block; bad arguments are refused; every usable kernel,
 * forced, mints valid stamps; the progress callback can stop a search.
 * Batches (postage_mint_batch()) on one thread, several, and more threads
 * than stamps: every stamp valid for its own resource at its own bits, in
 * the same hashcash 1.22 layout; bad items refused alone; a stop keeps the
 * stamps minted by then.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "postage.h"
#include "mint/mint_batch.h"
#include "mint/mint_crew.h"
#include "mint/mint_layout.h"
#include "simd/sha1_kernels.h"
#include "tests/unit/check_main.h"

#define NOON_261127 INT64_C(1795780800) /* 2026-11-27 12:00:00 UTC */

static void
mint_ok(const char *resource, const struct postage_mint_options *o, char *stamp)
{
    struct postage_mint_result r;
    int rc = postage_mint(resource, o, stamp, POSTAGE_MINT_STAMP_SIZE, &r);
    ck_assert_msg(rc == POSTAGE_OK, "mint %s: %s", resource, postage_strerror(rc));
    ck_assert_uint_ge(r.actual, o->bits);
    ck_assert_uint_eq(r.actual, postage_leading_zero_bits(stamp, strlen(stamp)));
}

static void
assert_valid(const char *stamp, unsigned bits, const char *resource, int64_t now)
{
    struct postage_check_options o;
    struct postage_check_result r;
    const char *res[1] = { resource };
    postage_check_options_init(&o, now);
    o.required_bits = bits;
    o.resources = res;
    o.resource_count = 1;
    int rc = postage_check(stamp, strlen(stamp), &o, &r);
    ck_assert_msg(rc == POSTAGE_OK, "'%s' for %s: %s", stamp, resource, postage_strerror(rc));
    ck_assert_uint_eq(r.claimed, bits);
}

START_TEST(test_mint_bits_range)
{
    struct postage_mint_options o;
    char stamp[POSTAGE_MINT_STAMP_SIZE];
    postage_mint_options_init(&o, NOON_261127);
    o.threads = 2;
    for (unsigned bits = 0; bits <= 18; bits++) {
        o.bits = bits;
        mint_ok("bob@example.org", &o, stamp);
        assert_valid(stamp, bits, "bob@example.org", NOON_261127);
        ck_assert_uint_eq(strlen(stamp) % 64, 55);
    }
}
END_TEST

START_TEST(test_mint_fields)
{
    struct postage_mint_options o;
    struct postage_stamp st;
    char stamp[POSTAGE_MINT_STAMP_SIZE];
    postage_mint_options_init(&o, NOON_261127 + 3600 + 14 * 60 + 56); /* 13:14:56 */
    o.bits = 8;
    o.ext = "name1=2,3;name2";
    o.date_width = 12;
    mint_ok("Mixed@Example.ORG", &o, stamp);
    ck_assert_int_eq(postage_stamp_parse(stamp, strlen(stamp), &st), POSTAGE_OK);
    ck_assert_int_eq(strncmp(stamp, "1:8:261127131456:mixed@example.org:name1=2,3;name2:", 51), 0);
    ck_assert_uint_eq(st.rand_len, POSTAGE_RAND_LEN);
    ck_assert_uint_ge(st.counter_len, 7);
    for (size_t i = 0; i < st.rand_len; i++)
        ck_assert_ptr_nonnull(strchr(POSTAGE_ALPHABET, st.rand[i]));

    o.date_width = 10;
    o.case_sensitive = 1;
    o.ext = NULL;
    mint_ok("Mixed@Example.ORG", &o, stamp);
    ck_assert_int_eq(strncmp(stamp, "1:8:2611271314:Mixed@Example.ORG::", 34), 0);

    o.date_width = 6;
    mint_ok("a", &o, stamp);
    ck_assert_int_eq(strncmp(stamp, "1:8:261127:a::", 14), 0);
}
END_TEST

START_TEST(test_mint_rand_differs)
{
    struct postage_mint_options o;
    char a[POSTAGE_MINT_STAMP_SIZE], b[POSTAGE_MINT_STAMP_SIZE];
    postage_mint_options_init(&o, NOON_261127);
    o.bits = 4;
    mint_ok("bob@example.org", &o, a);
    mint_ok("bob@example.org", &o, b);
    ck_assert_str_ne(a, b);
}
END_TEST

/* Every prefix length puts the counter in a different place relative to
 * the block boundaries, including padding that spills into a new block. */
START_TEST(test_mint_every_prefix_length)
{
    struct postage_mint_options o;
    char stamp[POSTAGE_MINT_STAMP_SIZE], resource[POSTAGE_RESOURCE_MAX + 1];
    postage_mint_options_init(&o, NOON_261127);
    o.bits = 6;
    o.threads = 1;
    for (size_t n = 1; n <= 140; n++) {
        memset(resource, 'r', n);
        resource[n] = '\0';
        mint_ok(resource, &o, stamp);
        assert_valid(stamp, 6, resource, NOON_261127);
        ck_assert_uint_eq(strlen(stamp) % 64, 55);
    }
    /* The longest fields allowed. */
    char ext[POSTAGE_EXT_MAX + 1];
    memset(resource, 'x', POSTAGE_RESOURCE_MAX);
    resource[POSTAGE_RESOURCE_MAX] = '\0';
    memset(ext, 'e', POSTAGE_EXT_MAX);
    ext[POSTAGE_EXT_MAX] = '\0';
    o.ext = ext;
    mint_ok(resource, &o, stamp);
    assert_valid(stamp, 6, resource, NOON_261127);
}
END_TEST

START_TEST(test_mint_refuses)
{
    struct postage_mint_options o;
    char stamp[POSTAGE_MINT_STAMP_SIZE], longres[POSTAGE_RESOURCE_MAX + 2];
    postage_mint_options_init(&o, NOON_261127);
    o.bits = 1;
    static const char *bad[] = { "", "foo:bar", "foo bar", "foo\tbar", "foo\nbar", "a\x01" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_int_eq(postage_mint(bad[i], &o, stamp, sizeof stamp, NULL), POSTAGE_ERR_INVALID);
    memset(longres, 'r', POSTAGE_RESOURCE_MAX + 1);
    longres[POSTAGE_RESOURCE_MAX + 1] = '\0';
    ck_assert_int_eq(postage_mint(longres, &o, stamp, sizeof stamp, NULL), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_mint(NULL, &o, stamp, sizeof stamp, NULL), POSTAGE_ERR_INVALID);

    o.ext = "a:b";
    ck_assert_int_eq(postage_mint("bob", &o, stamp, sizeof stamp, NULL), POSTAGE_ERR_INVALID);
    o.ext = NULL;
    o.bits = 161;
    ck_assert_int_eq(postage_mint("bob", &o, stamp, sizeof stamp, NULL), POSTAGE_ERR_INVALID);
    o.bits = 1;
    o.date_width = 8;
    ck_assert_int_eq(postage_mint("bob", &o, stamp, sizeof stamp, NULL), POSTAGE_ERR_INVALID);
    o.date_width = 6;
    o.now = -5;
    ck_assert_int_eq(postage_mint("bob", &o, stamp, sizeof stamp, NULL), POSTAGE_ERR_INVALID);
    o.now = NOON_261127;
    o.kernel = "no-such-kernel";
    ck_assert_int_eq(postage_mint("bob", &o, stamp, sizeof stamp, NULL), POSTAGE_ERR_KERNEL);
    o.kernel = NULL;
    ck_assert_int_eq(postage_mint("bob", &o, stamp, 10, NULL), POSTAGE_ERR_TOO_LONG);
    ck_assert_str_eq(stamp, "");
}
END_TEST

START_TEST(test_mint_each_kernel)
{
    struct postage_kernel_info k;
    ck_assert_int_eq(postage_kernel_get((size_t) _i, &k), POSTAGE_OK);
    struct postage_mint_options o;
    char stamp[POSTAGE_MINT_STAMP_SIZE];
    postage_mint_options_init(&o, NOON_261127);
    o.kernel = k.name;
    o.bits = 14;
    o.threads = 2;
    int rc = postage_kernel_check(k.name);
    if (!k.supported) {
        ck_assert_int_eq(rc, POSTAGE_ERR_UNSUPPORTED);
        ck_assert_int_eq(postage_mint("bob@example.org", &o, stamp, sizeof stamp, NULL),
                         POSTAGE_ERR_UNSUPPORTED);
        return;
    }
    ck_assert_msg(k.selftest_passed, "kernel %s failed its self-test", k.name);
    ck_assert_int_eq(rc, POSTAGE_OK);
    for (int i = 0; i < 5; i++) {
        mint_ok("bob@example.org", &o, stamp);
        assert_valid(stamp, 14, "bob@example.org", NOON_261127);
    }
}
END_TEST

START_TEST(test_kernel_table)
{
    size_t n = postage_kernel_count(), defaults = 0;
    ck_assert_uint_ge(n, 1);
    struct postage_kernel_info k;
    int have_portable = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(postage_kernel_get(i, &k), POSTAGE_OK);
        defaults += (size_t) k.is_default;
        if (strcmp(k.name, "portable") == 0) {
            have_portable = 1;
            ck_assert(k.supported && k.selftest_passed);
        }
        if (k.is_default)
            ck_assert_str_eq(k.name, postage_kernel_default());
    }
    ck_assert(have_portable);
    ck_assert_uint_eq(defaults, 1);
    ck_assert_int_eq(postage_kernel_get(n, &k), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_kernel_check("nonesuch"), POSTAGE_ERR_KERNEL);
    ck_assert_int_eq(postage_kernel_check(NULL), POSTAGE_ERR_KERNEL);
}
END_TEST

static int
stop_at_once(void *ctx, const struct postage_mint_progress *p)
{
    int *calls = ctx;
    (*calls)++;
    ck_assert(p->expected_trials > 1e15);
    return 1;
}

START_TEST(test_mint_cancel)
{
    struct postage_mint_options o;
    char stamp[POSTAGE_MINT_STAMP_SIZE];
    int calls = 0;
    postage_mint_options_init(&o, NOON_261127);
    o.bits = 60; /* far beyond reach */
    o.progress = stop_at_once;
    o.progress_ctx = &calls;
    ck_assert_int_eq(postage_mint("bob", &o, stamp, sizeof stamp, NULL), POSTAGE_ERR_CANCELLED);
    ck_assert_int_eq(calls, 1);
    ck_assert_str_eq(stamp, "");
}
END_TEST


/* A batch of @n stamps for "rN@example.org" at bits i % (top + 1). */
struct batch_fixture {
    struct postage_mint_batch_item items[64];
    char resources[64][48];
    char stamps[64][POSTAGE_MINT_STAMP_SIZE];
};

static void
batch_fill(struct batch_fixture *f, size_t n, unsigned top)
{
    memset(f, 0, sizeof *f);
    for (size_t i = 0; i < n; i++) {
        snprintf(f->resources[i], sizeof f->resources[i], "r%zu@Example.org", i);
        f->items[i].resource = f->resources[i];
        f->items[i].bits = (unsigned) (i % (top + 1));
        f->items[i].stamp = f->stamps[i];
        f->items[i].size = sizeof f->stamps[i];
        f->items[i].status = 12345; /* must be overwritten */
    }
}

/* Each stamp valid for its own (lowercased) resource at its own bits, in
 * 1.22's layout (7+ counter digits ending at byte 55 of a block). */
static void
batch_assert_valid(const struct batch_fixture *f, size_t n, unsigned threads)
{
    for (size_t i = 0; i < n; i++) {
        const struct postage_mint_batch_item *it = &f->items[i];
        char lower[48];
        struct postage_stamp st;
        ck_assert_msg(it->status == POSTAGE_OK, "item %zu: %s", i, postage_strerror(it->status));
        snprintf(lower, sizeof lower, "r%zu@example.org", i);
        assert_valid(it->stamp, it->bits, lower, NOON_261127);
        ck_assert_uint_eq(strlen(it->stamp) % 64, 55);
        ck_assert_int_eq(postage_stamp_parse(it->stamp, strlen(it->stamp), &st), POSTAGE_OK);
        ck_assert_uint_eq(st.rand_len, POSTAGE_RAND_LEN);
        ck_assert_uint_ge(st.counter_len, 7);
        ck_assert_uint_eq(it->result.actual, postage_leading_zero_bits(it->stamp,
                                                                      strlen(it->stamp)));
        ck_assert_uint_ge(it->result.actual, it->bits);
        ck_assert_uint_eq(it->result.threads, threads);
        ck_assert_str_eq(it->result.kernel, postage_kernel_default());
    }
}

/* Loop index: threads 1, 2, 3 and 8 (more threads than some batches have
 * stamps). */
static const unsigned batch_threads[] = { 1, 2, 3, 8 };

START_TEST(test_batch_valid)
{
    unsigned threads = batch_threads[_i];
    static struct batch_fixture f;
    struct postage_mint_options o;
    postage_mint_options_init(&o, NOON_261127);
    o.threads = threads;
    o.bits = 99; /* not used by a batch: each item has its own */
    for (size_t n = 1; n <= 64; n *= 4) {
        batch_fill(&f, n, 16);
        ck_assert_int_eq(postage_mint_batch(f.items, n, &o), POSTAGE_OK);
        batch_assert_valid(&f, n, threads);
        char seen[64][POSTAGE_RAND_LEN + 1];
        for (size_t i = 0; i < n; i++) {
            struct postage_stamp st;
            ck_assert_int_eq(postage_stamp_parse(f.stamps[i], strlen(f.stamps[i]), &st),
                             POSTAGE_OK);
            memcpy(seen[i], st.rand, POSTAGE_RAND_LEN);
            seen[i][POSTAGE_RAND_LEN] = '\0';
            for (size_t j = 0; j < i; j++)
                ck_assert_str_ne(seen[i], seen[j]);
        }
    }
}
END_TEST

/* The same bits for every stamp, few stamps and many threads, with the
 * fields of test_mint_fields: the batch writes what postage_mint() does. */
START_TEST(test_batch_fields)
{
    static struct batch_fixture f;
    struct postage_mint_options o;
    postage_mint_options_init(&o, NOON_261127 + 3600 + 14 * 60 + 56);
    o.ext = "name1=2,3;name2";
    o.date_width = 12;
    o.threads = 8;
    batch_fill(&f, 3, 0);
    for (size_t i = 0; i < 3; i++)
        f.items[i].bits = 15;
    ck_assert_int_eq(postage_mint_batch(f.items, 3, &o), POSTAGE_OK);
    for (size_t i = 0; i < 3; i++) {
        char want[96];
        snprintf(want, sizeof want, "1:15:261127131456:r%zu@example.org:name1=2,3;name2:", i);
        ck_assert_int_eq(strncmp(f.stamps[i], want, strlen(want)), 0);
        ck_assert_uint_ge(postage_leading_zero_bits(f.stamps[i], strlen(f.stamps[i])), 15);
        ck_assert_uint_eq(strlen(f.stamps[i]) % 64, 55);
        ck_assert_uint_eq(f.items[i].result.threads, 8);
    }
}
END_TEST

START_TEST(test_batch_refuses)
{
    static struct batch_fixture f;
    struct postage_mint_options o;
    char tiny[10];
    postage_mint_options_init(&o, NOON_261127);
    o.threads = 2;
    batch_fill(&f, 8, 10);
    f.items[1].resource = "bad:resource";
    f.items[3].bits = 161;
    f.items[4].stamp = NULL;
    f.items[5].stamp = tiny;
    f.items[5].size = sizeof tiny;
    f.items[6].resource = NULL;
    ck_assert_int_eq(postage_mint_batch(f.items, 8, &o), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(f.items[1].status, POSTAGE_ERR_INVALID);
    ck_assert_str_eq(f.stamps[1], "");
    ck_assert_int_eq(f.items[3].status, POSTAGE_ERR_INVALID);
    ck_assert_int_eq(f.items[4].status, POSTAGE_ERR_INVALID);
    ck_assert_int_eq(f.items[5].status, POSTAGE_ERR_TOO_LONG);
    ck_assert_str_eq(tiny, "");
    ck_assert_int_eq(f.items[6].status, POSTAGE_ERR_INVALID);
    /* The good ones are minted all the same. */
    static const size_t good[] = { 0, 2, 7 };
    for (size_t k = 0; k < 3; k++) {
        size_t i = good[k];
        char lower[48];
        ck_assert_int_eq(f.items[i].status, POSTAGE_OK);
        snprintf(lower, sizeof lower, "r%zu@example.org", i);
        assert_valid(f.stamps[i], f.items[i].bits, lower, NOON_261127);
    }

    /* An error of the options is every item's. */
    batch_fill(&f, 3, 4);
    o.kernel = "no-such-kernel";
    ck_assert_int_eq(postage_mint_batch(f.items, 3, &o), POSTAGE_ERR_KERNEL);
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(f.items[i].status, POSTAGE_ERR_KERNEL);
        ck_assert_str_eq(f.stamps[i], "");
    }
    o.kernel = NULL;
    o.ext = "a:b";
    ck_assert_int_eq(postage_mint_batch(f.items, 3, &o), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(f.items[2].status, POSTAGE_ERR_INVALID);
    o.ext = NULL;
    ck_assert_int_eq(postage_mint_batch(NULL, 3, &o), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_mint_batch(f.items, 3, NULL), POSTAGE_ERR_INVALID);
    ck_assert_int_eq(postage_mint_batch(NULL, 0, &o), POSTAGE_OK);
}
END_TEST

struct batch_stop {
    int calls;
    size_t stamps;
};

/* Stop once the 0-bit stamp is done: the others are out of reach. */
static int
stop_after_first(void *ctx, const struct postage_mint_progress *p)
{
    struct batch_stop *bs = ctx;
    bs->calls++;
    bs->stamps = p->stamps;
    ck_assert(p->expected_trials > 3e18); /* 3 * 2^60 */
    ck_assert_uint_le(p->stamps_done, 1);
    return p->stamps_done >= 1;
}

START_TEST(test_batch_cancel)
{
    unsigned threads = batch_threads[_i];
    static struct batch_fixture f;
    struct postage_mint_options o;
    struct batch_stop bs = { 0, 0 };
    postage_mint_options_init(&o, NOON_261127);
    o.threads = threads;
    o.progress = stop_after_first;
    o.progress_ctx = &bs;
    batch_fill(&f, 4, 0);
    f.items[1].bits = f.items[2].bits = f.items[3].bits = 60;
    ck_assert_int_eq(postage_mint_batch(f.items, 4, &o), POSTAGE_ERR_CANCELLED);
    ck_assert_int_ge(bs.calls, 1);
    ck_assert_uint_eq(bs.stamps, 4);
    ck_assert_int_eq(f.items[0].status, POSTAGE_OK);
    assert_valid(f.stamps[0], 0, "r0@example.org", NOON_261127);
    for (size_t i = 1; i < 4; i++) {
        ck_assert_int_eq(f.items[i].status, POSTAGE_ERR_CANCELLED);
        ck_assert_str_eq(f.stamps[i], "");
    }
}
END_TEST

/* Argon2id stamps are minted one after the other, each still valid. */
START_TEST(test_batch_argon2id)
{
    static struct batch_fixture f;
    struct postage_mint_options o;
    postage_mint_options_init(&o, NOON_261127);
    o.argon2id = 1;
    o.argon2id_params.memory = 64;
    o.threads = 2;
    batch_fill(&f, 3, 2);
    ck_assert_int_eq(postage_mint_batch(f.items, 3, &o), POSTAGE_OK);
    for (size_t i = 0; i < 3; i++) {
        char want[96];
        ck_assert_int_eq(f.items[i].status, POSTAGE_OK);
        snprintf(want, sizeof want, "1:%u:261127:r%zu@example.org:a2id=m64,t1,p1:",
                 f.items[i].bits, i);
        ck_assert_int_eq(strncmp(f.stamps[i], want, strlen(want)), 0);
        ck_assert_uint_ge(f.items[i].result.actual, f.items[i].bits);
    }
}
END_TEST

/* A kernel that finds nothing in the first stamp layout it is shown, so
 * that all 64^7 counters of that RAND run out, and searches truly (the
 * portable kernel) in any other.  It counts the counters it was offered in
 * the first layout. */
static struct sha1_search_job dry_job;
static atomic_int dry_state;            /* 0 none yet, 1 storing, 2 stored */
static atomic_uint_fast64_t dry_offered;
static atomic_uint dry_other_calls;

static int
dry_search(const struct sha1_search_job *job, uint64_t first, uint64_t count, unsigned bits,
           uint64_t *found)
{
    int expect = 0;
    if (atomic_compare_exchange_strong(&dry_state, &expect, 1)) {
        dry_job = *job;
        atomic_store(&dry_state, 2);
    }
    while (atomic_load(&dry_state) != 2)
        ;
    if (memcmp(job, &dry_job, sizeof *job) == 0) {
        atomic_fetch_add(&dry_offered, count);
        return 0;
    }
    atomic_fetch_add(&dry_other_calls, 1);
    return sha1_kernel_portable.search(job, first, count, bits, found);
}

static const struct sha1_kernel dry_kernel = { "dry", 2, NULL, dry_search };

/* When a stamp's counters run out, the last thread out of it lays it out
 * again with a fresh RAND and the batch still ends with a valid stamp;
 * every counter of the first RAND was offered exactly once. */
START_TEST(test_batch_space_runs_out)
{
    unsigned threads = batch_threads[_i];
    struct postage_mint_options o;
    char date[MINT_DATE_SIZE], stamp[POSTAGE_MINT_STAMP_SIZE];
    postage_mint_options_init(&o, NOON_261127);
    o.threads = threads;
    ck_assert_int_eq(mint_check_options(&o, date), POSTAGE_OK);
    atomic_store(&dry_state, 0);
    atomic_store(&dry_offered, 0);
    atomic_store(&dry_other_calls, 0);
    struct postage_mint_batch_item item = {
        .resource = "bob@example.org", .bits = 5, .stamp = stamp, .size = sizeof stamp,
    };
    ck_assert_int_eq(mint_sha1_batch(&item, 1, &o, &dry_kernel, date, mint_seconds()),
                     POSTAGE_OK);
    ck_assert_uint_eq(atomic_load(&dry_offered), UINT64_C(1) << 42);
    ck_assert_uint_ge(atomic_load(&dry_other_calls), 1);
    assert_valid(stamp, 5, "bob@example.org", NOON_261127);
    ck_assert_uint_ge(item.result.trials, UINT64_C(1) << 42);
}
END_TEST

Suite *
suite(void)
{
    Suite *s = suite_create("mint");
    TCase *t = tcase_create("engine");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, test_mint_bits_range);
    tcase_add_test(t, test_mint_fields);
    tcase_add_test(t, test_mint_rand_differs);
    tcase_add_test(t, test_mint_every_prefix_length);
    tcase_add_test(t, test_mint_refuses);
    tcase_add_test(t, test_kernel_table);
    tcase_add_loop_test(t, test_mint_each_kernel, 0, (int) postage_kernel_count());
    tcase_add_test(t, test_mint_cancel);
    int nthreads = (int) (sizeof batch_threads / sizeof batch_threads[0]);
    tcase_add_loop_test(t, test_batch_valid, 0, nthreads);
    tcase_add_test(t, test_batch_fields);
    tcase_add_test(t, test_batch_refuses);
    tcase_add_loop_test(t, test_batch_cancel, 0, nthreads);
    tcase_add_test(t, test_batch_argon2id);
    tcase_add_loop_test(t, test_batch_space_runs_out, 0, 2);
    suite_add_tcase(s, t);
    return s;
}
