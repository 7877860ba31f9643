/*
 * stamp.c - the Hashcash v0/v1 stamp grammar and a stamp's value.
 *
 * The grammar is hashcash 1.22's, made strict where 1.22 is lenient by
 * accident (docs/compatibility.md lists each case): exactly one version
 * character, BITS never empty, no junk after the last field, no field
 * silently truncated.  Every stamp a hashcash minter writes is accepted.
 */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>

#include "postage/stamp.h"
#include "postage/status.h"

static int
in_alphabet(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
           (c >= 'a' && c <= 'z') || c == '+' || c == '/' || c == '=';
}

static int
all_in_alphabet(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!in_alphabet((unsigned char) s[i]))
            return 0;
    return 1;
}

static int
all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

int
postage_stamp_parse(const char *text, size_t len, struct postage_stamp *out)
{
    const char *field[8];
    size_t flen[8];
    size_t nfields = 0;

    if (text == NULL || out == NULL)
        return POSTAGE_ERR_INVALID;
    memset(out, 0, sizeof *out);
    if (len > POSTAGE_STAMP_MAX)
        return POSTAGE_ERR_TOO_LONG;
    if (memchr(text, '\0', len) != NULL)
        return POSTAGE_ERR_SYNTAX;

    /* Split at every ':'; more fields than v1 has is a syntax error. */
    const char *p = text, *end = text + len;
    for (;;) {
        const char *colon = memchr(p, ':', (size_t) (end - p));
        if (nfields == 8)
            return POSTAGE_ERR_SYNTAX;
        field[nfields] = p;
        flen[nfields] = (size_t) ((colon ? colon : end) - p);
        nfields++;
        if (colon == NULL)
            break;
        p = colon + 1;
    }

    if (flen[0] != 1 || (field[0][0] != '0' && field[0][0] != '1'))
        return POSTAGE_ERR_SYNTAX;
    out->text = text;
    out->len = len;
    out->version = (unsigned) (field[0][0] - '0');

    size_t d; /* index of the DATE field */
    if (out->version == 1) {
        if (nfields != 7)
            return POSTAGE_ERR_SYNTAX;
        if (flen[1] < 1 || flen[1] > 3 || !all_digits(field[1], flen[1]))
            return POSTAGE_ERR_SYNTAX;
        unsigned bits = 0;
        for (size_t i = 0; i < flen[1]; i++)
            bits = bits * 10 + (unsigned) (field[1][i] - '0');
        if (bits > POSTAGE_BITS_MAX)
            return POSTAGE_ERR_SYNTAX;
        out->claimed = bits;
        d = 2;
        out->ext = field[4];
        out->ext_len = flen[4];
        out->rand = field[5];
        out->rand_len = flen[5];
        out->counter = field[6];
        out->counter_len = flen[6];
        if (out->ext_len > POSTAGE_EXT_MAX || out->counter_len == 0 ||
            !all_in_alphabet(out->counter, out->counter_len))
            return POSTAGE_ERR_SYNTAX;
    } else {
        if (nfields != 4)
            return POSTAGE_ERR_SYNTAX;
        d = 1;
        out->rand = field[3];
        out->rand_len = flen[3];
        if (out->rand_len == 0)
            return POSTAGE_ERR_SYNTAX;
    }
    out->date = field[d];
    out->date_len = flen[d];
    out->resource = field[d + 1];
    out->resource_len = flen[d + 1];
    if (out->date_len < 2 || out->date_len > 12 || out->date_len % 2 != 0 ||
        !all_digits(out->date, out->date_len))
        return POSTAGE_ERR_SYNTAX;
    if (out->resource_len > POSTAGE_RESOURCE_MAX)
        return POSTAGE_ERR_SYNTAX;
    if (!all_in_alphabet(out->rand, out->rand_len))
        return POSTAGE_ERR_SYNTAX;
    return POSTAGE_OK;
}

unsigned
postage_leading_zero_bits(const char *text, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    unsigned bits = 0;

    if (text == NULL || EVP_Digest(text, len, md, &mdlen, EVP_sha1(), NULL) != 1)
        return 0;
    for (unsigned i = 0; i < mdlen; i++) {
        if (md[i] == 0) {
            bits += 8;
            continue;
        }
        for (unsigned char b = md[i]; !(b & 0x80); b <<= 1)
            bits++;
        break;
    }
    return bits;
}

unsigned
postage_stamp_value(const struct postage_stamp *stamp, unsigned *actual)
{
    unsigned a = postage_leading_zero_bits(stamp->text, stamp->len);

    if (actual != NULL)
        *actual = a;
    if (stamp->version == 0)
        return a;
    return a >= stamp->claimed ? stamp->claimed : 0;
}

int
postage_field_is_clean(const char *text, size_t len)
{
    if (text == NULL)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) text[i];
        if (c == ':' || c <= ' ' || c == 0x7f)
            return 0;
    }
    return 1;
}
