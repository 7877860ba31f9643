/*
 * argon2id.c - compute a stamp's Argon2id tag through libsodium, libargon2
 * or postage's own Argon2id (lib/argon2id_core.c), and measure how fast
 * each goes.
 *
 * Why two libraries: libsodium's Argon2 has SIMD code but takes one lane
 * only and maps (and faults in) fresh memory on every call; libargon2 has
 * the RFC 9106 API, any lanes, and lets the caller supply the memory, so an
 * attempt reuses a work area faulted in once.  At 64 MiB the fresh mapping
 * alone costs more than the hashing, so which one is faster depends on the
 * parameters and the machine; postage_argon2id_rate() says.  postage's own
 * beats both wherever a vector kernel runs, which is why `auto` means it
 * there (postage_argon2id_backend_resolve()).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/mman.h>

#include <argon2.h>
#include <sodium.h>

#include "lib/argon2id_core.h"
#include "postage/argon2id.h"
#include "postage/stamp.h"
#include "postage/status.h"

struct postage_argon2id_work {
    struct postage_argon2id_params params;
    int backend;
    unsigned char *area;   /* libargon2: the reusable, pre-faulted memory */
    size_t area_len;
    argon2id_core *core;   /* postage: its own reusable work area */
    const struct argon2_kernel *kernel;   /* postage: its fill-block kernel */
};

const char *
postage_argon2id_backend_name(int backend)
{
    switch (backend) {
    case POSTAGE_A2ID_AUTO:      return "auto";
    case POSTAGE_A2ID_LIBSODIUM: return "libsodium";
    case POSTAGE_A2ID_LIBARGON2: return "libargon2";
    case POSTAGE_A2ID_POSTAGE:   return "postage";
    default:                     return NULL;
    }
}

int
postage_argon2id_backend_parse(const char *name)
{
    for (int b = POSTAGE_A2ID_AUTO; b <= POSTAGE_A2ID_POSTAGE; b++)
        if (name != NULL && strcmp(name, postage_argon2id_backend_name(b)) == 0)
            return b;
    return POSTAGE_ERR_INVALID;
}

/*
 * The one place `auto` is decided.  postage's Argon2id on a vector kernel
 * (AVX-512, AVX2, NEON) runs 2-3x the faster library here; on the portable
 * kernel it runs at about 0.7x libargon2 (bench/argon2_kernels on the
 * AMD EPYC of issue 21), so there libargon2 is the better choice.  The
 * dispatch has already established, once, which kernels this CPU runs and
 * passes the self-test of: its default is the first of them.
 */
int
postage_argon2id_backend_resolve(int backend)
{
    if (postage_argon2id_backend_name(backend) == NULL)
        return POSTAGE_ERR_INVALID;
    if (backend != POSTAGE_A2ID_AUTO)
        return backend;
    return argon2_kernel_default() != &argon2_kernel_portable ? POSTAGE_A2ID_POSTAGE
                                                              : POSTAGE_A2ID_LIBARGON2;
}

size_t
postage_argon2id_kernel_count(void)
{
    return argon2_kernel_count();
}

int
postage_argon2id_kernel_get(size_t index, struct postage_argon2id_kernel_info *info)
{
    const struct argon2_kernel *k = argon2_kernel_at(index);
    if (k == NULL || info == NULL)
        return POSTAGE_ERR_INVALID;
    enum argon2_kernel_state state = argon2_kernel_state(k);
    info->name = k->name;
    info->supported = state != ARGON2_KERNEL_UNSUPPORTED;
    info->selftest_passed = state == ARGON2_KERNEL_USABLE;
    info->is_default = k == argon2_kernel_default();
    return POSTAGE_OK;
}

/* The kernel called @name if it may run here, else why not. */
static int
usable_kernel(const char *name, const struct argon2_kernel **out)
{
    const struct argon2_kernel *k = argon2_kernel_find(name);
    if (k == NULL)
        return POSTAGE_ERR_KERNEL;
    switch (argon2_kernel_state(k)) {
    case ARGON2_KERNEL_USABLE: *out = k; return POSTAGE_OK;
    case ARGON2_KERNEL_UNSUPPORTED: return POSTAGE_ERR_UNSUPPORTED;
    default: return POSTAGE_ERR_SELFTEST;
    }
}

int
postage_argon2id_kernel_check(const char *name)
{
    const struct argon2_kernel *k;
    return usable_kernel(name, &k);
}

const char *
postage_argon2id_kernel_default(void)
{
    return argon2_kernel_default()->name;
}

int
postage_argon2id_work_new(postage_argon2id_work **out,
                          const struct postage_argon2id_params *params, int backend)
{
    return postage_argon2id_work_new_kernel(out, params, backend, NULL);
}

int
postage_argon2id_work_new_kernel(postage_argon2id_work **out,
                                 const struct postage_argon2id_params *params, int backend,
                                 const char *kernel_name)
{
    char ext[POSTAGE_A2ID_EXT_MAX];
    const struct argon2_kernel *kernel = NULL;
    if (out == NULL)
        return POSTAGE_ERR_INVALID;
    *out = NULL;
    if (params == NULL || postage_argon2id_ext_format(params, ext, sizeof ext) != POSTAGE_OK ||
        postage_argon2id_backend_name(backend) == NULL)
        return POSTAGE_ERR_INVALID;
    if (kernel_name != NULL) {
        /* A named kernel is one of postage's: a library has none. */
        if (backend != POSTAGE_A2ID_AUTO && backend != POSTAGE_A2ID_POSTAGE)
            return POSTAGE_ERR_INVALID;
        int rc = usable_kernel(kernel_name, &kernel);
        if (rc != POSTAGE_OK)
            return rc;
        backend = POSTAGE_A2ID_POSTAGE;
    }
    backend = postage_argon2id_backend_resolve(backend);
    if (backend == POSTAGE_A2ID_POSTAGE && kernel == NULL)
        kernel = argon2_kernel_default();
    if (backend == POSTAGE_A2ID_LIBSODIUM && params->lanes != 1)
        return POSTAGE_ERR_UNSUPPORTED;
    if ((uint64_t) params->memory * 1024u > SIZE_MAX / 2)
        return POSTAGE_ERR_NOMEM;
    if (backend == POSTAGE_A2ID_LIBSODIUM && sodium_init() < 0)
        return POSTAGE_ERR_INTERNAL;

    postage_argon2id_work *w = calloc(1, sizeof *w);
    if (w == NULL)
        return POSTAGE_ERR_NOMEM;
    w->params = *params;
    w->backend = backend;
    w->kernel = kernel;
    if (backend == POSTAGE_A2ID_POSTAGE) {
        /* Huge pages and prefetching: Argon2 reads its memory at random. */
        int rc = argon2id_core_new(&w->core, params->memory,
                                   ARGON2ID_CORE_HUGE_PAGES | ARGON2ID_CORE_PREFETCH);
        if (rc != POSTAGE_OK) {
            free(w);
            return rc;
        }
    }
    if (backend == POSTAGE_A2ID_LIBARGON2) {
        w->area_len = (size_t) params->memory * 1024u;
        void *area = mmap(NULL, w->area_len, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (area == MAP_FAILED) {
            free(w);
            return POSTAGE_ERR_NOMEM;
        }
#ifdef MADV_HUGEPAGE
        /* Huge pages, where the system allows them: Argon2id reads its
         * memory at random, and 4 KiB pages make that a TLB miss each. */
        madvise(area, w->area_len, MADV_HUGEPAGE);
#endif
        /* Touch every page now, so that no attempt pays for faults. */
        memset(area, 0, w->area_len);
        w->area = area;
    }
    *out = w;
    return POSTAGE_OK;
}

void
postage_argon2id_work_free(postage_argon2id_work *work)
{
    if (work == NULL)
        return;
    if (work->area != NULL)
        munmap(work->area, work->area_len);
    argon2id_core_free(work->core);
    free(work);
}

int
postage_argon2id_work_backend(const postage_argon2id_work *work)
{
    return work != NULL ? work->backend : POSTAGE_ERR_INVALID;
}

const char *
postage_argon2id_work_kernel(const postage_argon2id_work *work)
{
    return work != NULL && work->kernel != NULL ? work->kernel->name : NULL;
}

/* libargon2's allocation callbacks take no context pointer, so the work
 * area of the call in progress on this thread is handed over here; it is
 * set just before argon2_ctx() and cleared right after. */
static _Thread_local struct postage_argon2id_work *lending;

static int
lend_area(uint8_t **memory, size_t bytes)
{
    if (lending == NULL || bytes > lending->area_len) {
        *memory = NULL;   /* what libargon2 actually tests */
        return ARGON2_MEMORY_ALLOCATION_ERROR;
    }
    *memory = lending->area;
    return ARGON2_OK;
}

static void
return_area(uint8_t *memory, size_t bytes)
{
    (void) memory;
    (void) bytes;
}

int
postage_argon2id_tag(postage_argon2id_work *work, const struct postage_argon2id_params *params,
                     const char *text, size_t len, unsigned char tag[POSTAGE_A2ID_TAG_LEN])
{
    static const unsigned char salt[POSTAGE_A2ID_SALT_LEN] = POSTAGE_A2ID_SALT;
    char ext[POSTAGE_A2ID_EXT_MAX];

    if (work == NULL || params == NULL || text == NULL || tag == NULL ||
        postage_argon2id_ext_format(params, ext, sizeof ext) != POSTAGE_OK ||
        params->memory > work->params.memory ||
        (work->backend == POSTAGE_A2ID_LIBSODIUM && params->lanes != 1))
        return POSTAGE_ERR_INVALID;
    if (len > POSTAGE_STAMP_MAX)
        return POSTAGE_ERR_TOO_LONG;

    if (work->backend == POSTAGE_A2ID_LIBSODIUM) {
        errno = 0;
        int rc = crypto_pwhash_argon2id(tag, POSTAGE_A2ID_TAG_LEN, text, len, salt,
                                        params->passes,
                                        (size_t) params->memory * 1024u,
                                        crypto_pwhash_argon2id_ALG_ARGON2ID13);
        if (rc != 0)
            return errno == ENOMEM ? POSTAGE_ERR_NOMEM : POSTAGE_ERR_INTERNAL;
        return POSTAGE_OK;
    }

    if (work->backend == POSTAGE_A2ID_POSTAGE) {
        struct argon2id_core_input in = {
            .password = (const uint8_t *) text, .password_len = len,
            .salt = salt, .salt_len = POSTAGE_A2ID_SALT_LEN,
            .memory = params->memory, .passes = params->passes, .lanes = params->lanes,
        };
        int rc = argon2id_core_hash(work->core, work->kernel, &in, tag, POSTAGE_A2ID_TAG_LEN);
        return rc == POSTAGE_OK ? POSTAGE_OK : POSTAGE_ERR_INTERNAL;
    }

    /* An empty password is legal in RFC 9106; libargon2 wants a non-NULL
     * pointer all the same. */
    argon2_context ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.out = tag;
    ctx.outlen = POSTAGE_A2ID_TAG_LEN;
    ctx.pwd = (uint8_t *) (uintptr_t) text;
    ctx.pwdlen = (uint32_t) len;
    ctx.salt = (uint8_t *) (uintptr_t) salt;
    ctx.saltlen = POSTAGE_A2ID_SALT_LEN;
    ctx.t_cost = params->passes;
    ctx.m_cost = params->memory;
    ctx.lanes = params->lanes;
    ctx.threads = 1;
    ctx.version = ARGON2_VERSION_13;
    ctx.allocate_cbk = lend_area;
    ctx.free_cbk = return_area;
    ctx.flags = ARGON2_DEFAULT_FLAGS;
    lending = work;
    int rc = argon2_ctx(&ctx, Argon2_id);
    lending = NULL;
    if (rc == ARGON2_MEMORY_ALLOCATION_ERROR)
        return POSTAGE_ERR_NOMEM;
    return rc == ARGON2_OK ? POSTAGE_OK : POSTAGE_ERR_INTERNAL;
}

unsigned
postage_argon2id_leading_zero_bits(const unsigned char tag[POSTAGE_A2ID_TAG_LEN])
{
    unsigned bits = 0;
    for (size_t i = 0; i < POSTAGE_A2ID_TAG_LEN; i++) {
        if (tag[i] == 0) {
            bits += 8;
            continue;
        }
        for (unsigned char b = tag[i]; !(b & 0x80); b <<= 1)
            bits++;
        break;
    }
    return bits;
}

static double
monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int
postage_argon2id_rate(const struct postage_argon2id_params *params, int backend,
                      double seconds, double *attempts_per_second)
{
    if (attempts_per_second == NULL || !(seconds >= 0.01 && seconds <= 60))
        return POSTAGE_ERR_INVALID;
    postage_argon2id_work *w;
    int rc = postage_argon2id_work_new(&w, params, backend);
    if (rc != POSTAGE_OK)
        return rc;
    char text[48];
    unsigned char tag[POSTAGE_A2ID_TAG_LEN];
    unsigned long n = 0;
    /* One attempt first, so that one-time costs (libsodium's CPU probe,
     * the first touch of code and tables) stay out of the figure. */
    rc = postage_argon2id_tag(w, params, "warm-up", 7, tag);
    double start = monotonic_seconds(), elapsed = 0;
    while (rc == POSTAGE_OK && (n < 2 || elapsed < seconds)) {
        size_t len = (size_t) snprintf(text, sizeof text, "rate:%lu", n);
        rc = postage_argon2id_tag(w, params, text, len, tag);
        n++;
        elapsed = monotonic_seconds() - start;
    }
    postage_argon2id_work_free(w);
    if (rc != POSTAGE_OK)
        return rc;
    *attempts_per_second = (double) n / (elapsed > 0 ? elapsed : 1e-9);
    return POSTAGE_OK;
}
