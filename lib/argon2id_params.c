/*
 * argon2id_params.c - the "a2id=mM,tT,pP" EXT grammar of memory-hard
 * stamps, and their exchange rate against SHA-1 bits.
 *
 * The grammar is strict on purpose: a stamp that names "a2id" anywhere in
 * its EXT but not in the one canonical form is malformed, never quietly a
 * SHA-1 stamp, and a stamp has exactly one spelling of its parameters, so
 * the same work cannot be presented twice under two texts.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "postage/argon2id.h"
#include "postage/status.h"

/* Read "<letter><decimal>" at *p: no leading zero, at most 2^32-1.
 * Returns 1 and advances *p on success. */
static int
read_param(const char **p, const char *end, char letter, uint32_t *value)
{
    const char *s = *p;
    if (s >= end || *s != letter)
        return 0;
    s++;
    if (s >= end || *s < '1' || *s > '9')
        return 0;
    uint64_t v = 0;
    size_t digits = 0;
    while (s < end && *s >= '0' && *s <= '9') {
        if (++digits > 10)
            return 0;
        v = v * 10 + (uint64_t) (*s - '0');
        s++;
    }
    if (v > UINT32_MAX)
        return 0;
    *value = (uint32_t) v;
    *p = s;
    return 1;
}

static int
names_a2id(const char *ext, size_t len)
{
    const size_t n = sizeof POSTAGE_A2ID_NAME - 1;
    size_t i = 0;
    while (i <= len) {
        size_t j = i;
        while (j < len && ext[j] != ';')
            j++;
        /* The entry ext[i..j): its name ends at '=' or at its end. */
        size_t k = i;
        while (k < j && ext[k] != '=')
            k++;
        if (k - i == n && memcmp(ext + i, POSTAGE_A2ID_NAME, n) == 0)
            return 1;
        i = j + 1;
    }
    return 0;
}

static int
params_in_grammar(const struct postage_argon2id_params *p)
{
    return p->lanes >= 1 && p->lanes <= POSTAGE_A2ID_LANES_MAX && p->passes >= 1 &&
           (uint64_t) p->memory >= 8u * (uint64_t) p->lanes;
}

int
postage_argon2id_ext_parse(const char *ext, size_t len,
                           struct postage_argon2id_params *params)
{
    if (ext == NULL && len > 0)
        return POSTAGE_ERR_INVALID;
    if (len == 0 || !names_a2id(ext, len))
        return 0;

    static const char head[] = POSTAGE_A2ID_NAME "=";
    const char *p = ext, *end = ext + len;
    struct postage_argon2id_params v;
    if (len < sizeof head - 1 || memcmp(p, head, sizeof head - 1) != 0)
        return POSTAGE_ERR_SYNTAX;
    p += sizeof head - 1;
    if (!read_param(&p, end, 'm', &v.memory) || p >= end || *p++ != ',' ||
        !read_param(&p, end, 't', &v.passes) || p >= end || *p++ != ',' ||
        !read_param(&p, end, 'p', &v.lanes) || p != end)
        return POSTAGE_ERR_SYNTAX;
    if (!params_in_grammar(&v))
        return POSTAGE_ERR_SYNTAX;
    if (params != NULL)
        *params = v;
    return 1;
}

int
postage_argon2id_ext_format(const struct postage_argon2id_params *params, char *out,
                            size_t size)
{
    if (params == NULL || out == NULL || !params_in_grammar(params))
        return POSTAGE_ERR_INVALID;
    int n = snprintf(out, size, POSTAGE_A2ID_NAME "=m%lu,t%lu,p%lu",
                     (unsigned long) params->memory, (unsigned long) params->passes,
                     (unsigned long) params->lanes);
    if (n < 0 || (size_t) n >= size)
        return POSTAGE_ERR_TOO_LONG;
    return POSTAGE_OK;
}

double
postage_argon2id_equivalent_bits(unsigned bits, const struct postage_argon2id_params *params,
                                 double sha1_rate, double a2id_rate)
{
    if (params == NULL || !(sha1_rate > 0) || !(a2id_rate > 0))
        return 0;
    double work = (double) params->memory * (double) params->passes;
    return (double) bits + log2(sha1_rate * work / a2id_rate);
}
