/*
 * headers.c - find the stamps in a message's X-Hashcash: header fields.
 *
 * Unfolding follows hashcash 1.22, not RFC 5322: a line break and exactly
 * one following SP or TAB are removed, so a stamp folded by 1.22 (or by
 * postage-mint) comes back byte for byte.  Only the header block is read:
 * a stamp quoted in a body (a forwarded message, a reply) is not postage
 * paid for this message, and spending it would steal it from its owner.
 * hashcash 1.22 scans bodies too (docs/compatibility.md).
 */
#include "config.h"

#include <string.h>

#include "postage/status.h"
#include "postage/verify.h"

static int
is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

int
postage_header_stamp(const char *value, size_t len, char *out, size_t size,
                     size_t *out_len)
{
    size_t n = 0, i = 0;
    int truncated = 0;

    if (value == NULL || out == NULL || size == 0 || out_len == NULL)
        return POSTAGE_ERR_INVALID;

    /* Leading whitespace (including any fold) goes first. */
    while (i < len && is_space((unsigned char) value[i]))
        i++;
    while (i < len) {
        size_t line_break = 0;
        if (value[i] == '\r' && i + 1 < len && value[i + 1] == '\n')
            line_break = 2;
        else if (value[i] == '\n')
            line_break = 1;
        if (line_break) {
            i += line_break;
            if (i < len && (value[i] == ' ' || value[i] == '\t'))
                i++;
            continue;
        }
        if (n + 1 < size)
            out[n++] = value[i];
        else
            truncated = 1;
        i++;
    }
    while (n > 0 && is_space((unsigned char) out[n - 1]))
        n--;
    out[n] = '\0';
    *out_len = n;
    return truncated ? POSTAGE_ERR_TOO_LONG : POSTAGE_OK;
}

/* Length of the line starting at `p` (up to, not including, its LF). */
static size_t
line_length(const char *p, size_t left)
{
    const char *lf = memchr(p, '\n', left);
    return lf ? (size_t) (lf - p) : left;
}

static int
has_field_name(const char *line, size_t n, const char *name, size_t *value_at)
{
    size_t k = strlen(name);
    if (n < k)
        return 0;
    for (size_t i = 0; i < k; i++) {
        unsigned char c = (unsigned char) line[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char) (c - 'A' + 'a');
        if (c != (unsigned char) name[i])
            return 0;
    }
    *value_at = k;
    return 1;
}

int
postage_headers_next(const char *block, size_t len, size_t *pos, char *out,
                     size_t size, size_t *out_len)
{
    if (block == NULL || pos == NULL || out == NULL || out_len == NULL)
        return POSTAGE_ERR_INVALID;

    size_t at = *pos;
    while (at < len) {
        size_t n = line_length(block + at, len - at);
        size_t content = n;
        if (content > 0 && block[at + content - 1] == '\r')
            content--;
        if (content == 0) { /* the blank line that ends the header block */
            *pos = len;
            return 0;
        }
        size_t next = at + n + (at + n < len ? 1 : 0);
        size_t value_at;
        if (has_field_name(block + at, content, "x-hashcash:", &value_at) ||
            has_field_name(block + at, content, "hashcash:", &value_at)) {
            /* The field runs on over continuation lines. */
            size_t end = next;
            while (end < len && (block[end] == ' ' || block[end] == '\t'))
                end += line_length(block + end, len - end) + 1;
            if (end > len)
                end = len;
            *pos = end;
            return postage_header_stamp(block + at + value_at, end - at - value_at,
                                        out, size, out_len) == POSTAGE_OK
                       ? 1
                       : POSTAGE_ERR_TOO_LONG;
        }
        at = next;
    }
    *pos = len;
    return 0;
}
