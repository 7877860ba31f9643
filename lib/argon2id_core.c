/*
 * argon2id_core.c - Argon2id (RFC 9106 §3, version 0x13) on postage's
 * fill-block kernels, with a work area reused across hashes.
 *
 * The structure follows the RFC: H0 over the inputs (Blake2b,
 * simd/blake2b.h); the first two blocks of each lane from H', both chains
 * at once on a Blake2b kernel; then, pass after pass and
 * slice after slice, each lane's segment, every block G(previous block,
 * reference block) where the reference comes from an address block
 * (data-independent: pass 0, slices 0 and 1) or from the previous block's
 * first word (data-dependent: everything after); the tag is H' of the XOR
 * of every lane's last block.  Lanes are computed one after the other on
 * the calling thread: a stamp's lanes do not change its tag, and a minter
 * gets its parallelism from attempts on other threads.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/argon2id_core.h"
#include "postage/status.h"
#include "simd/blake2b.h"

#define SYNC_POINTS 4                 /* slices per pass */
#define ARGON2_VERSION 0x13
#define ARGON2_TYPE_ID 2

struct argon2id_core {
    argon2_block *blocks;
    size_t map_len;
    uint32_t memory;    /* KiB = blocks */
    unsigned flags;     /* ARGON2ID_CORE_* */
};

/* What one hash needs while it fills memory. */
struct fill_state {
    argon2_block *mem;
    argon2_fill_fn fill;
    argon2_segment_fn fill_segment;   /* NULL: block by block through fill */
    uint32_t lanes, passes;
    uint32_t blocks;          /* m' */
    uint32_t lane_length;     /* q = m' / p */
    uint32_t segment_length;  /* q / 4 */
    int prefetch;             /* ARGON2ID_CORE_PREFETCH */
};

static void store32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t) (v >> (8 * i));
}

/* A block's words are its bytes read little-endian: on a little-endian
 * host they ARE its bytes, so the conversions are copies. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_IS_LE 1
#else
#define HOST_IS_LE 0
#endif

/* @n little-endian words from @bytes. */
static void load_words(uint64_t *w, const uint8_t *bytes, size_t n)
{
#if HOST_IS_LE
    memcpy(w, bytes, 8 * n);
#else
    for (size_t i = 0; i < n; i++) {
        uint64_t x = 0;
        for (int k = 7; k >= 0; k--)
            x = x << 8 | bytes[8 * i + (size_t) k];
        w[i] = x;
    }
#endif
}

#if !HOST_IS_LE
static void store_block(uint8_t *bytes, const argon2_block *b)
{
    for (size_t i = 0; i < ARGON2_BLOCK_WORDS; i++)
        for (int k = 0; k < 8; k++)
            bytes[8 * i + (size_t) k] = (uint8_t) (b->v[i] >> (8 * k));
}
#endif

#define HUGE_PAGE ((size_t) 2 << 20)   /* x86-64's and arm64's (4 KiB granule) */

/* An anonymous mapping of @len bytes, or NULL.  With @huge, and @len at
 * least a huge page, it starts on a huge-page boundary: the kernel only
 * backs aligned 2 MiB stretches with huge pages, and does not align every
 * mapping itself (only recent kernels do, and not for every size), so an
 * unaligned map would lose a huge page at each end and, on such kernels,
 * all of them.  The surplus around the aligned range is given back. */
static void *
map_area(size_t len, int huge)
{
    const int prot = PROT_READ | PROT_WRITE, how = MAP_PRIVATE | MAP_ANONYMOUS;
    if (!huge || len < HUGE_PAGE || len > SIZE_MAX - HUGE_PAGE) {
        void *p = mmap(NULL, len, prot, how, -1, 0);
        return p == MAP_FAILED ? NULL : p;
    }
    unsigned char *p = mmap(NULL, len + HUGE_PAGE, prot, how, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    size_t head = (HUGE_PAGE - (uintptr_t) p % HUGE_PAGE) % HUGE_PAGE;
    if (head > 0)
        munmap(p, head);
    /* The map is whole pages: len rounded up to one, plus HUGE_PAGE
     * (itself whole pages), so what lies past the kept range is
     * HUGE_PAGE - head bytes, never none. */
    long page = sysconf(_SC_PAGESIZE);
    size_t kept = page > 0 ? (len + (size_t) page - 1) / (size_t) page * (size_t) page : len;
    munmap(p + head + kept, HUGE_PAGE - head);
    return p + head;
}

int
argon2id_core_new(argon2id_core **out, uint32_t memory, unsigned flags)
{
    if (out == NULL)
        return POSTAGE_ERR_INVALID;
    *out = NULL;
    if (memory < 8)
        return POSTAGE_ERR_INVALID;
#if SIZE_MAX <= UINT32_MAX
    /* A 32-bit address space: 2^32 KiB would not fit. */
    if ((uint64_t) memory > SIZE_MAX / ARGON2_BLOCK_SIZE / 2)
        return POSTAGE_ERR_NOMEM;
#endif
    if (sodium_init() < 0)   /* libsodium wants it before any call (wipe) */
        return POSTAGE_ERR_INTERNAL;
    argon2id_core *c = calloc(1, sizeof *c);
    if (c == NULL)
        return POSTAGE_ERR_NOMEM;
    c->memory = memory;
    c->flags = flags;
    c->map_len = (size_t) memory * ARGON2_BLOCK_SIZE;
    /* mmap gives page alignment (so block alignment) and lets huge pages
     * be asked for on exactly this range. */
    void *area = map_area(c->map_len, (flags & ARGON2ID_CORE_HUGE_PAGES) != 0);
    if (area == NULL) {
        free(c);
        return POSTAGE_ERR_NOMEM;
    }
#ifdef MADV_HUGEPAGE
    if (flags & ARGON2ID_CORE_HUGE_PAGES)
        (void) madvise(area, c->map_len, MADV_HUGEPAGE);   /* a wish, not a need */
#endif
    /* Fault every page in now rather than during the first attempts. */
    memset(area, 0, c->map_len);
    c->blocks = area;
    *out = c;
    return POSTAGE_OK;
}

void
argon2id_core_free(argon2id_core *core)
{
    if (core == NULL)
        return;
    munmap(core->blocks, core->map_len);
    free(core);
}

void
argon2id_core_wipe(argon2id_core *core)
{
    if (core != NULL)
        sodium_memzero(core->blocks, core->map_len);
}

uint32_t
argon2id_core_memory(const argon2id_core *core)
{
    return core != NULL ? core->memory : 0;
}

/* H'^T (RFC 9106 §3.3): a hash of any length T of @a, from Blake2b.
 * 1 <= T <= 1024.  (The first blocks, T = 1024 twice per lane, go
 * through the chain kernels instead: first_blocks().) */
static void
hprime(uint8_t *out, size_t t, const uint8_t *a, size_t a_len)
{
    struct postage_blake2b st;
    uint8_t len[4], v[64];

    store32(len, (uint32_t) t);
    postage_blake2b_init(&st, t <= 64 ? t : 64);
    postage_blake2b_update(&st, len, sizeof len);
    postage_blake2b_update(&st, a, a_len);
    if (t <= 64) {
        postage_blake2b_final(&st, out);
        return;
    }
    /* r = ceil(T/32) - 2 blocks of 64 bytes, each giving its first 32,
     * then the last T - 32r bytes (33..64) in one go. */
    size_t r = (t + 31) / 32 - 2;
    postage_blake2b_final(&st, v);
    memcpy(out, v, 32);
    for (size_t i = 1; i < r; i++) {
        postage_blake2b_init(&st, 64);
        postage_blake2b_update(&st, v, 64);
        postage_blake2b_final(&st, v);
        memcpy(out + 32 * i, v, 32);
    }
    postage_blake2b_init(&st, t - 32 * r);
    postage_blake2b_update(&st, v, 64);
    postage_blake2b_final(&st, out + 32 * r);
}

/* H0 (RFC 9106 §3.2): Blake2b-512 over the parameters and inputs. */
static void
h0(uint8_t out[64], const struct argon2id_core_input *in, size_t out_len)
{
    struct postage_blake2b st;
    uint8_t head[6 * 4];
    const uint32_t words[6] = { in->lanes, (uint32_t) out_len, in->memory, in->passes,
                                ARGON2_VERSION, ARGON2_TYPE_ID };
    const struct { const uint8_t *p; size_t n; } vars[4] = {
        { in->password, in->password_len }, { in->salt, in->salt_len },
        { in->secret, in->secret_len }, { in->ad, in->ad_len },
    };

    for (int i = 0; i < 6; i++)
        store32(head + 4 * i, words[i]);
    postage_blake2b_init(&st, 64);
    postage_blake2b_update(&st, head, sizeof head);
    for (int i = 0; i < 4; i++) {
        uint8_t w[4];
        store32(w, (uint32_t) vars[i].n);
        postage_blake2b_update(&st, w, 4);
        postage_blake2b_update(&st, vars[i].p, vars[i].n);
    }
    postage_blake2b_final(&st, out);
}

/* Blocks 0 and 1 of every lane: H'^1024(H0 || LE32(j) || LE32(lane)),
 * both of a lane at once on the Blake2b chain kernel, written straight
 * into the work area. */
static void
first_blocks(argon2_block *mem, uint32_t lanes, uint32_t lane_length, const uint8_t h0v[64])
{
    const struct blake2b_kernel *k = blake2b_kernel_default();
    /* Blake2b's first message block: LE32(1024) || H0 || LE32(j) ||
     * LE32(lane), 76 bytes, zero to 128. */
    uint8_t first[BLAKE2B_BLOCK_BYTES] = { 0 };
    uint64_t m0[16], m1[16];

    store32(first, ARGON2_BLOCK_SIZE);
    memcpy(first + 4, h0v, 64);
    for (uint32_t lane = 0; lane < lanes; lane++) {
        store32(first + 72, lane);
        store32(first + 68, 0);
        load_words(m0, first, 16);
        store32(first + 68, 1);
        load_words(m1, first, 16);
        argon2_block *b = mem + (size_t) lane * lane_length;
        k->hprime1k_x2(m0, m1, 76, &b[0], &b[1]);
    }
}

/* One lane's segment, by the kernel's own segment loop
 * (simd/argon2_segment.h: the reference index computation and the
 * prefetching are inlined there, beside the kernel's G). */
static void
fill_segment(const struct fill_state *s, uint32_t pass, uint32_t lane, uint32_t slice)
{
    const struct argon2_segment seg = {
        s->mem, pass, lane, slice, s->passes, s->lanes, s->blocks, s->lane_length,
        s->segment_length, s->prefetch, s->fill,
    };
    if (s->fill_segment != NULL)
        s->fill_segment(&seg);
    else
        argon2_fill_segment_by_block(&seg);
}

int
argon2id_core_hash(argon2id_core *core, const struct argon2_kernel *kernel,
                   const struct argon2id_core_input *in, uint8_t *out, size_t out_len)
{
    if (core == NULL || in == NULL || out == NULL || out_len < ARGON2ID_CORE_OUT_MIN ||
        out_len > ARGON2ID_CORE_OUT_MAX || in->lanes < 1 ||
        in->lanes > ARGON2ID_CORE_LANES_MAX || in->passes < 1 ||
        (uint64_t) in->memory < 8u * (uint64_t) in->lanes || in->memory > core->memory ||
        in->password_len > UINT32_MAX || in->salt_len > UINT32_MAX ||
        in->secret_len > UINT32_MAX || in->ad_len > UINT32_MAX ||
        (in->password == NULL && in->password_len > 0) ||
        (in->salt == NULL && in->salt_len > 0) || (in->secret == NULL && in->secret_len > 0) ||
        (in->ad == NULL && in->ad_len > 0))
        return POSTAGE_ERR_INVALID;
    if (kernel == NULL)
        kernel = argon2_kernel_default();

    struct fill_state s;
    s.mem = core->blocks;
    s.fill = kernel->fill_block;
    s.fill_segment = kernel->fill_segment;
    s.prefetch = (core->flags & ARGON2ID_CORE_PREFETCH) != 0;
    s.lanes = in->lanes;
    s.passes = in->passes;
    s.segment_length = in->memory / (SYNC_POINTS * in->lanes);
    s.lane_length = s.segment_length * SYNC_POINTS;
    s.blocks = s.lane_length * in->lanes;

    uint8_t seed[64];
    h0(seed, in, out_len);
    first_blocks(s.mem, s.lanes, s.lane_length, seed);
    for (uint32_t pass = 0; pass < s.passes; pass++)
        for (uint32_t slice = 0; slice < SYNC_POINTS; slice++)
            for (uint32_t lane = 0; lane < s.lanes; lane++)
                fill_segment(&s, pass, lane, slice);

    argon2_block last = s.mem[s.lane_length - 1];
    for (uint32_t lane = 1; lane < s.lanes; lane++) {
        const argon2_block *b = &s.mem[(size_t) lane * s.lane_length + s.lane_length - 1];
        for (size_t k = 0; k < ARGON2_BLOCK_WORDS; k++)
            last.v[k] ^= b->v[k];
    }
#if HOST_IS_LE
    hprime(out, out_len, (const uint8_t *) last.v, sizeof last.v);
#else
    uint8_t bytes[ARGON2_BLOCK_SIZE];
    store_block(bytes, &last);
    hprime(out, out_len, bytes, sizeof bytes);
#endif
    return POSTAGE_OK;
}
