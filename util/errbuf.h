/*
 * errbuf.h - formatting a failure's description into a caller's buffer,
 * the one helper every store backend and the Redis connection share.
 * Header-only (static inline) so that both libpostage and postaged's own
 * library can use it: postaged links the installed libpostage, which
 * exports only postage_* symbols.
 */
#ifndef POSTAGE_LIB_ERRBUF_H
#define POSTAGE_LIB_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* printf into err[errlen]; a NULL or empty buffer is left alone. */
static inline void errbuf_printf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void
errbuf_printf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

#endif
