/*
 * bytes.h - big-endian integers in byte buffers: the layout of every
 * number a store keeps (expiry times in the spent-stamp store, counters
 * and times in postaged's state records), so that an LMDB file reads the
 * same on any host.  Header-only (static inline), like errbuf.h.
 */
#ifndef POSTAGE_UTIL_BYTES_H
#define POSTAGE_UTIL_BYTES_H

#include <stdint.h>

static inline void
be_put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char) (v >> 24);
    p[1] = (unsigned char) (v >> 16);
    p[2] = (unsigned char) (v >> 8);
    p[3] = (unsigned char) v;
}

static inline void
be_put_u64(unsigned char *p, uint64_t v)
{
    be_put_u32(p, (uint32_t) (v >> 32));
    be_put_u32(p + 4, (uint32_t) v);
}

/* Two's complement, as the 64-bit unsigned pattern. */
static inline void
be_put_i64(unsigned char *p, int64_t v)
{
    be_put_u64(p, (uint64_t) v);
}

static inline uint32_t
be_get_u32(const unsigned char *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static inline uint64_t
be_get_u64(const unsigned char *p)
{
    return (uint64_t) be_get_u32(p) << 32 | be_get_u32(p + 4);
}

/* Back from two's complement without the implementation-defined
 * conversion of a value above INT64_MAX. */
static inline int64_t
be_get_i64(const unsigned char *p)
{
    uint64_t u = be_get_u64(p);

    if (u <= (uint64_t) INT64_MAX)
        return (int64_t) u;
    return -(int64_t) (~u) - 1;
}

#endif
