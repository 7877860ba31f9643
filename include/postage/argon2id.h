/*
 * postage/argon2id.h - memory-hard stamps: a hashcash v1 stamp whose EXT
 * field names Argon2id parameters, and whose value is the leading zero bits
 * of Argon2id (RFC 9106) over the stamp instead of SHA-1.
 *
 *   1:BITS:DATE:RESOURCE:a2id=mMEMORY,tPASSES,pLANES:RAND:COUNTER
 *
 * The full specification, with test vectors, is docs/argon2id.md.  In short:
 * password = the stamp's bytes exactly as sent; salt = the 16 ASCII bytes
 * "postage/argon2id"; no secret, no associated data; version 0x13; a 32-byte
 * tag.  The value is BITS when the tag has at least BITS leading zero bits,
 * else 0: hashcash v1's rule.  A v1 checker that knows nothing of Argon2id
 * sees an ordinary stamp whose SHA-1 simply lacks the claimed bits.
 *
 * One attempt costs MEMORY KiB filled PASSES times, whatever the lanes, so a
 * stamp is priced against SHA-1 stamps by the work it stands for on a
 * reference core (postage_argon2id_equivalent_bits()).
 */
#ifndef POSTAGE_ARGON2ID_H
#define POSTAGE_ARGON2ID_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define POSTAGE_A2ID_NAME "a2id"              /* the EXT entry's name      */
#define POSTAGE_A2ID_SALT "postage/argon2id"  /* 16 bytes, no NUL          */
#define POSTAGE_A2ID_SALT_LEN 16
#define POSTAGE_A2ID_TAG_LEN 32               /* bytes of Argon2id output  */
#define POSTAGE_A2ID_EXT_MAX 40               /* longest canonical EXT + NUL */

/* The grammar's own limits (RFC 9106's, narrowed to what a stamp needs):
 * memory 8*lanes .. 2^32-1 KiB, passes 1 .. 2^32-1, lanes 1 .. 255. */
#define POSTAGE_A2ID_LANES_MAX 255

/* Defaults for what a verifier accepts: 64 MiB, 3 passes, 4 lanes.  One
 * such check costs about 0.2 s and 64 MiB on one core of a 2020s PC. */
#define POSTAGE_A2ID_DEFAULT_MAX_MEMORY 65536u
#define POSTAGE_A2ID_DEFAULT_MAX_PASSES 3u
#define POSTAGE_A2ID_DEFAULT_MAX_LANES 4u
/* Fewest claimed bits accepted by default.  A stamp with b claimed bits is
 * a correct guess, made without computing anything, once in 2^b tries; see
 * docs/argon2id.md, "Guessing". */
#define POSTAGE_A2ID_DEFAULT_MIN_BITS 4u

/* The reference core of the exchange rate (docs/argon2id.md): 2^28 SHA-1
 * trials per second and 2^20 KiB of Argon2id memory-passes per second (one
 * core of the x86-64 machine the rates were measured on, AVX-512 SHA-1 and
 * libargon2).  At these rates an Argon2id attempt is worth
 * 8 + log2(MEMORY * PASSES) SHA-1 bits. */
#define POSTAGE_REF_SHA1_RATE 268435456.0
#define POSTAGE_REF_ARGON2ID_RATE 1048576.0

struct postage_argon2id_params {
    uint32_t memory;  /* KiB of memory, m in RFC 9106                  */
    uint32_t passes;  /* passes over the memory, t                     */
    uint32_t lanes;   /* lanes, p (degree of parallelism)              */
};

/**
 * postage_argon2id_ext_parse - is an EXT field an Argon2id one?
 * @ext, @len: a stamp's EXT field (not NUL-terminated).
 * @params:    receives the parameters when the answer is 1; may be NULL.
 *
 * EXT is a ';'-separated list of NAME[=VALUE] entries.  When no entry is
 * named "a2id" the stamp is a plain SHA-1 stamp: returns 0.  When one is,
 * the whole field must be exactly "a2id=m<M>,t<T>,p<P>" with decimal
 * numbers without leading zeros, M >= 8*P, T >= 1, 1 <= P <= 255, each at
 * most 4294967295: returns 1.  Anything else naming "a2id" (another entry
 * beside it, another order, a missing or extra parameter, "m065536")
 * returns POSTAGE_ERR_SYNTAX, so that a stamp meant as Argon2id can never be
 * valued as SHA-1.
 */
int postage_argon2id_ext_parse(const char *ext, size_t len,
                               struct postage_argon2id_params *params);

/**
 * postage_argon2id_ext_format - write the canonical EXT for @params.
 * @out, @size: receives "a2id=m<M>,t<T>,p<P>" and a NUL;
 *              POSTAGE_A2ID_EXT_MAX is always enough.
 * Returns POSTAGE_OK, POSTAGE_ERR_INVALID for parameters outside the
 * grammar's limits, POSTAGE_ERR_TOO_LONG if @size is too small.
 */
int postage_argon2id_ext_format(const struct postage_argon2id_params *params,
                                char *out, size_t size);

/**
 * postage_argon2id_equivalent_bits - what an Argon2id stamp is worth in
 * SHA-1 bits at an exchange rate.
 * @bits:       the stamp's value (claimed bits, when they hold).
 * @params:     its parameters.
 * @sha1_rate:  SHA-1 trials per second of the reference core (> 0).
 * @a2id_rate:  KiB of Argon2id memory-passes per second of the same core.
 *
 * Returns bits + log2(sha1_rate * memory * passes / a2id_rate): the SHA-1
 * bits whose expected work takes that core as long as the Argon2id stamp's
 * expected work.  With the reference rates this is
 * bits + 8 + log2(memory * passes).
 */
double postage_argon2id_equivalent_bits(unsigned bits,
                                        const struct postage_argon2id_params *params,
                                        double sha1_rate, double a2id_rate);

/* Which code computes Argon2id.  libsodium has SIMD code but handles one
 * lane only and maps fresh memory for every call; libargon2 (the RFC 9106
 * reference API) takes any lanes and can reuse a caller's work area;
 * postage's own (lib/argon2id_core.c) takes any lanes, reuses its work
 * area and fills blocks with the fastest SIMD kernel this CPU passes the
 * self-test of (simd/argon2_kernels.h). */
enum postage_argon2id_backend {
    POSTAGE_A2ID_AUTO = 0,
    POSTAGE_A2ID_LIBSODIUM = 1,
    POSTAGE_A2ID_LIBARGON2 = 2,
    POSTAGE_A2ID_POSTAGE = 3
};

/** postage_argon2id_backend_name - "auto", "libsodium", "libargon2" or
 * "postage"; NULL for any other value. */
const char *postage_argon2id_backend_name(int backend);

/** postage_argon2id_backend_parse - the backend named @name ("auto",
 * "libsodium", "libargon2", "postage"); POSTAGE_ERR_INVALID for any other
 * name. */
int postage_argon2id_backend_parse(const char *name);

/**
 * postage_argon2id_backend_resolve - the backend @backend stands for here.
 * POSTAGE_A2ID_AUTO becomes POSTAGE_A2ID_POSTAGE when postage's Argon2
 * dispatch chose a vector kernel (AVX-512, AVX2 or NEON) that this CPU runs
 * and that passed its self-test, and POSTAGE_A2ID_LIBARGON2 otherwise: on
 * its portable kernel postage's Argon2id runs at about 0.7x libargon2
 * (bench/argon2_kernels), on a vector kernel at 2-3x the faster library.
 * Every backend computes the same tags; this only decides the speed.  Any
 * other backend is returned as it is; POSTAGE_ERR_INVALID for a value that
 * names none.  This is the rule wherever `auto` is taken (mint, verify,
 * postaged's pool).
 */
int postage_argon2id_backend_resolve(int backend);

/* postage's own Argon2id fills its blocks with one of several kernels, one
 * per instruction set (simd/argon2_kernels.h).  Each is checked once, on
 * first use: does this CPU (and OS) run it, and does it give the known
 * answers?  The default is the first that passes both, in order of
 * preference (avx512, avx2, neon, portable). */
struct postage_argon2id_kernel_info {
    const char *name;        /* "avx512", "avx2", "neon" or "portable"   */
    int supported;           /* 1 if this CPU and OS can run it           */
    int selftest_passed;     /* 1 if it gave the known answers            */
    int is_default;          /* 1 for the kernel used when none is named  */
};

/** postage_argon2id_kernel_count - Argon2 kernels compiled into this
 * build (at least 1: the portable one). */
size_t postage_argon2id_kernel_count(void);

/**
 * postage_argon2id_kernel_get - describe the @index-th compiled Argon2
 * kernel (in order of preference).  Returns POSTAGE_OK, or
 * POSTAGE_ERR_INVALID past the end or for a NULL @info.
 */
int postage_argon2id_kernel_get(size_t index, struct postage_argon2id_kernel_info *info);

/**
 * postage_argon2id_kernel_check - may Argon2 kernel @name be used here?
 * Returns POSTAGE_OK, POSTAGE_ERR_KERNEL (no such kernel in this build, or
 * NULL), POSTAGE_ERR_UNSUPPORTED (CPU or OS lacks it) or
 * POSTAGE_ERR_SELFTEST.
 */
int postage_argon2id_kernel_check(const char *name);

/** postage_argon2id_kernel_default - name of the default Argon2 kernel;
 * never NULL. */
const char *postage_argon2id_kernel_default(void);

/* A reusable computation: its backend and, for libargon2, a work area
 * allocated and touched once so that no attempt pays for page faults.  It
 * serves any parameters up to the memory it was made for.  Use one per
 * thread. */
typedef struct postage_argon2id_work postage_argon2id_work;

/**
 * postage_argon2id_work_new - prepare to compute Argon2id.
 * @out:     receives the new work area.
 * @params:  the largest parameters it will serve (within the grammar's
 *           limits): its memory is allocated now, for libargon2.
 * @backend: POSTAGE_A2ID_LIBSODIUM, POSTAGE_A2ID_LIBARGON2,
 *           POSTAGE_A2ID_POSTAGE, or POSTAGE_A2ID_AUTO, which picks as
 *           postage_argon2id_backend_resolve() says (callers that want the
 *           fastest for their parameters measure with
 *           postage_argon2id_rate()).  postage's work area asks for huge
 *           pages and is never cleared: a stamp holds no secret
 *           (lib/argon2id_core.h says why); it fills blocks with the
 *           default kernel (postage_argon2id_kernel_default()).
 *
 * Returns POSTAGE_OK; POSTAGE_ERR_INVALID for bad parameters or backend;
 * POSTAGE_ERR_UNSUPPORTED for libsodium with more than one lane;
 * POSTAGE_ERR_NOMEM if the work area could not be had.
 */
int postage_argon2id_work_new(postage_argon2id_work **out,
                              const struct postage_argon2id_params *params, int backend);

/**
 * postage_argon2id_work_new_kernel - postage_argon2id_work_new() with
 * postage's Argon2id on a chosen fill-block kernel, to compare kernels or
 * test one.  Tags are the same on every kernel.
 * @kernel:  an Argon2 kernel's name (postage_argon2id_kernel_get()), or
 *           NULL for postage_argon2id_work_new() exactly.  With a name,
 *           @backend must be POSTAGE_A2ID_POSTAGE or POSTAGE_A2ID_AUTO
 *           (naming a kernel means postage's own, even "portable").
 *
 * Returns what postage_argon2id_work_new() does, and, for a named kernel,
 * POSTAGE_ERR_INVALID with a library @backend, or the errors of
 * postage_argon2id_kernel_check().
 */
int postage_argon2id_work_new_kernel(postage_argon2id_work **out,
                                     const struct postage_argon2id_params *params,
                                     int backend, const char *kernel);

/** postage_argon2id_work_free - release @work (NULL is allowed). */
void postage_argon2id_work_free(postage_argon2id_work *work);

/** postage_argon2id_work_backend - the backend @work computes with
 * (never POSTAGE_A2ID_AUTO: resolved when @work was made). */
int postage_argon2id_work_backend(const postage_argon2id_work *work);

/** postage_argon2id_work_kernel - the name of the Argon2 kernel @work
 * fills blocks with; NULL for a library backend (or a NULL @work). */
const char *postage_argon2id_work_kernel(const postage_argon2id_work *work);

/**
 * postage_argon2id_tag - compute a stamp's Argon2id tag.
 * @work:      from postage_argon2id_work_new().
 * @params:    the stamp's parameters; memory at most what @work was made
 *             for, and one lane when @work is libsodium's.
 * @text, @len: the stamp's bytes (the password).
 * @tag:       receives POSTAGE_A2ID_TAG_LEN bytes.
 *
 * Returns POSTAGE_OK; POSTAGE_ERR_INVALID for parameters @work cannot
 * serve; POSTAGE_ERR_TOO_LONG for more than POSTAGE_STAMP_MAX bytes; POSTAGE_ERR_NOMEM if the backend could not get
 * its memory (libsodium allocates per call); POSTAGE_ERR_INTERNAL if the
 * backend failed otherwise.
 */
int postage_argon2id_tag(postage_argon2id_work *work,
                         const struct postage_argon2id_params *params,
                         const char *text, size_t len,
                         unsigned char tag[POSTAGE_A2ID_TAG_LEN]);

/**
 * postage_argon2id_leading_zero_bits - leading zero bits of a tag, 0..256.
 */
unsigned postage_argon2id_leading_zero_bits(const unsigned char tag[POSTAGE_A2ID_TAG_LEN]);

/**
 * postage_argon2id_rate - how many Argon2id attempts per second one thread
 * achieves here with @params on @backend.
 * @seconds: how long to measure at least, 0.01 to 60 (always at least two
 *           attempts after a warm-up one).
 * @attempts_per_second: receives the rate.
 * Returns POSTAGE_OK or the errors of postage_argon2id_work_new() and
 * postage_argon2id_tag().
 */
int postage_argon2id_rate(const struct postage_argon2id_params *params, int backend,
                          double seconds, double *attempts_per_second);

#ifdef __cplusplus
}
#endif
#endif
