/*
 * fuzz_stamp.c - libFuzzer target: a stamp from outside, parsed and
 * checked as postage-verify and postaged check it, Argon2id stamps
 * included.
 *
 * Input: one selector byte, then the stamp's bytes.  The selector picks
 * the checker's options (kinds, required bits, validity, resource list,
 * "now" at the stamp's own date or at a fixed time, a reusable Argon2id
 * work area or a fresh one on either library), so one corpus covers every
 * path.
 *
 * The allocation bound: the Argon2id checks here run with small bounds
 * (at most FUZZ_A2ID_MEMORY KiB), so the tag is cheap to compute, and
 * run.sh gives libFuzzer -malloc_limit_mb: a stamp's memory parameter that
 * got past the checker's bounds would ask for up to 4 TiB and be caught.
 * The same stamp is also checked with the library's default bounds
 * (64 MiB) but only when its parameters exceed them, where the checker
 * must refuse it before computing anything.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postage/argon2id.h"
#include "postage/clock.h"
#include "postage/stamp.h"
#include "postage/status.h"
#include "postage/verify.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The small bounds: 256 KiB, 2 passes, 4 lanes costs well under a
 * millisecond per check. */
#define FUZZ_A2ID_MEMORY 256u
#define FUZZ_A2ID_PASSES 2u
#define FUZZ_A2ID_LANES 4u
/* 2026-12-06 00:00:00 UTC: the seed stamps' day. */
#define FUZZ_NOW INT64_C(1796515200)

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static postage_argon2id_work *work;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct postage_argon2id_params max = { FUZZ_A2ID_MEMORY, FUZZ_A2ID_PASSES,
                                           FUZZ_A2ID_LANES };
    (void)argc;
    (void)argv;
    if (postage_argon2id_work_new(&work, &max, POSTAGE_A2ID_LIBARGON2) != POSTAGE_OK)
        abort();
    return 0;
}

/* Every field of a parse lies inside the text. */
static void
check_fields(const struct postage_stamp *s, const char *text, size_t len)
{
    const char *end = text + len;
    CHECK(s->text == text && s->len == len);
    CHECK(s->version <= 1 && s->claimed <= POSTAGE_BITS_MAX);
    CHECK(s->date >= text && s->date + s->date_len <= end);
    CHECK(s->resource_len <= POSTAGE_RESOURCE_MAX);
    CHECK(s->resource >= text && s->resource + s->resource_len <= end);
    CHECK(s->ext_len <= POSTAGE_EXT_MAX);
    CHECK(s->ext_len == 0 || (s->ext >= text && s->ext + s->ext_len <= end));
    CHECK(s->rand_len == 0 || (s->rand >= text && s->rand + s->rand_len <= end));
    CHECK(s->counter_len == 0 ||
          (s->counter >= text && s->counter + s->counter_len <= end));
}

/* A parsed Argon2id EXT formats back to exactly itself (only the
 * canonical form parses). */
static void
check_a2id_ext(const char *ext, size_t len)
{
    struct postage_argon2id_params p;
    char canon[POSTAGE_A2ID_EXT_MAX];
    int rc = postage_argon2id_ext_parse(ext, len, &p);
    CHECK(rc == 0 || rc == 1 || rc == POSTAGE_ERR_SYNTAX);
    if (rc != 1)
        return;
    CHECK(p.lanes >= 1 && p.lanes <= POSTAGE_A2ID_LANES_MAX);
    CHECK(p.passes >= 1 && p.memory >= 8 * p.lanes);
    CHECK(postage_argon2id_ext_format(&p, canon, sizeof canon) == POSTAGE_OK);
    CHECK(strlen(canon) == len && memcmp(canon, ext, len) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned sel = data[0];
    /* A copy of exactly the stamp's size, so ASan sees any read past it. */
    size_t len = size - 1;
    char *text = malloc(len ? len : 1);
    if (text == NULL)
        return 0;
    memcpy(text, data + 1, len);

    struct postage_stamp st;
    int64_t date = 0;
    int parsed = postage_stamp_parse(text, len, &st);
    CHECK(parsed == POSTAGE_OK || parsed == POSTAGE_ERR_SYNTAX ||
          parsed == POSTAGE_ERR_TOO_LONG);
    if (parsed == POSTAGE_OK) {
        unsigned actual = 0, value;
        check_fields(&st, text, len);
        value = postage_stamp_value(&st, &actual);
        CHECK(actual <= 160 && (value == 0 || value == (st.version ? st.claimed : actual)));
        if (postage_date_parse(st.date, st.date_len, FUZZ_NOW, &date) != POSTAGE_OK)
            date = 0;
        check_a2id_ext(st.ext, st.ext_len);
        /* Matching a resource against itself, either way round. */
        CHECK(postage_resource_match(st.resource, st.resource_len, st.resource,
                                     st.resource_len, 0) == 1);
        (void)postage_resource_match(st.resource, st.resource_len, st.resource,
                                     st.resource_len, POSTAGE_MATCH_WILDCARD);
        (void)postage_field_is_clean(st.resource, st.resource_len);
    }

    /* The check, with options from the selector. */
    static const char *const plain[] = { "you@example.org", "postmaster@example.net" };
    static const char *const wild[] = { "*@example.org", "*" };
    struct postage_check_options o;
    struct postage_check_result r;
    int64_t now = (sel & 0x80) && date > 0 ? date + 3600 : FUZZ_NOW;
    postage_check_options_init(&o, now);
    o.kinds = (sel & 1) ? POSTAGE_KIND_SHA1 | POSTAGE_KIND_ARGON2ID
                        : ((sel & 2) ? POSTAGE_KIND_ARGON2ID : POSTAGE_KIND_SHA1);
    o.required_bits = (sel >> 2) & 0x7 ? 4u * ((sel >> 2) & 0x7) : 0;
    if (sel & 0x20)
        o.validity = 0;
    if (sel & 0x40) {
        o.resources = wild;
        o.resource_count = 2;
        o.match_flags = POSTAGE_MATCH_WILDCARD;
    } else if (sel & 0x10) {
        o.resources = plain;
        o.resource_count = 2;
    }
    o.argon2id_max.memory = FUZZ_A2ID_MEMORY;
    o.argon2id_max.passes = FUZZ_A2ID_PASSES;
    o.argon2id_max.lanes = FUZZ_A2ID_LANES;
    o.argon2id_min_bits = 1;
    o.argon2id_work = (sel & 0x08) ? NULL : work;
    /* A fresh computation on either library (libsodium hands lanes over
     * to libargon2); the stamp's length parity picks which. */
    o.argon2id_backend = (sel & 0x08) && (len & 1) ? POSTAGE_A2ID_LIBSODIUM
                                                  : POSTAGE_A2ID_LIBARGON2;

    int v = postage_check(text, len, &o, &r);
    CHECK(v == r.verdict);
    CHECK((v <= 0 && v >= POSTAGE_ERR_PARAMS) || v == POSTAGE_ERR_NOMEM);
    CHECK(v != POSTAGE_ERR_NOMEM);  /* the bounds leave nothing to run out of */
    if (r.computed && r.kind == POSTAGE_KIND_ARGON2ID) {
        CHECK(r.argon2id.memory <= FUZZ_A2ID_MEMORY && r.argon2id.passes <= FUZZ_A2ID_PASSES &&
              r.argon2id.lanes <= FUZZ_A2ID_LANES);
    }
    if (v == POSTAGE_OK) {
        CHECK(parsed == POSTAGE_OK);
        CHECK(r.equivalent >= (double)o.required_bits);
        CHECK(o.resource_count == 0 || r.resource_index >= 0);
    }

    /* The default bounds refuse, uncomputed, what exceeds them. */
    if (r.kind == POSTAGE_KIND_ARGON2ID &&
        (r.argon2id.memory > POSTAGE_A2ID_DEFAULT_MAX_MEMORY ||
         r.argon2id.passes > POSTAGE_A2ID_DEFAULT_MAX_PASSES ||
         r.argon2id.lanes > POSTAGE_A2ID_DEFAULT_MAX_LANES)) {
        struct postage_check_options d;
        postage_check_options_init(&d, now);
        d.kinds = POSTAGE_KIND_ARGON2ID;
        v = postage_check(text, len, &d, &r);
        CHECK(v == POSTAGE_ERR_PARAMS && !r.computed);
    }
    free(text);
    return 0;
}
