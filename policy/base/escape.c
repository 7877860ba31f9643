/*
 * escape.c - control characters made visible for header values and log
 * lines (escape.h says why and how).
 */
#include "config.h"

#include <string.h>

#include "policy/base/escape.h"

static int
is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

size_t
pd_escape(char *dst, size_t size, const char *src, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;

    if (size == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) src[i];
        if (!is_control(c)) {
            if (n + 1 >= size)
                break;
            dst[n++] = (char) c;
            continue;
        }
        if (n + 4 >= size)
            break;
        dst[n++] = '\\';
        dst[n++] = 'x';
        dst[n++] = hex[c >> 4];
        dst[n++] = hex[c & 15];
    }
    dst[n] = '\0';
    return n;
}

size_t
pd_escape_str(char *dst, size_t size, const char *src)
{
    return src != NULL ? pd_escape(dst, size, src, strlen(src)) : pd_escape(dst, size, "", 0);
}

int
pd_has_control(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (is_control((unsigned char) s[i]))
            return 1;
    return 0;
}

size_t
pd_escape_inplace(char *buf, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    size_t len = strnlen(buf, size);
    if (size == 0)
        return 0;
    if (len == size) {           /* not terminated: make it so */
        len--;
        buf[len] = '\0';
    }
    /* How much of the text fits once escaped, then fill from the end so
     * that nothing is overwritten before it is read. */
    size_t fit = 0, out = 0;
    while (fit < len) {
        size_t w = is_control((unsigned char) buf[fit]) ? 4 : 1;
        if (out + w >= size)
            break;
        out += w;
        fit++;
    }
    size_t n = out;
    buf[n] = '\0';
    for (size_t i = fit; i-- > 0;) {
        unsigned char c = (unsigned char) buf[i];
        if (!is_control(c)) {
            buf[--n] = (char) c;
            continue;
        }
        buf[--n] = hex[c & 15];
        buf[--n] = hex[c >> 4];
        buf[--n] = 'x';
        buf[--n] = '\\';
    }
    return out;
}
