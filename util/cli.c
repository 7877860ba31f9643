/*
 * cli.c - helpers shared by the command-line programs: messages, number and
 * time arguments, JSON strings.
 */
#include "config.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "util/cli.h"
#include "postage/clock.h"
#include "postage/status.h"

static const char *program = "postage";

void
cli_set_program(const char *argv0)
{
    const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
    program = slash ? slash + 1 : (argv0 ? argv0 : program);
}

const char *
cli_program(void)
{
    return program;
}

void
cli_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", program);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int
cli_parse_unsigned(const char *text, unsigned max, unsigned *out)
{
    unsigned long v = 0;

    if (text == NULL || *text == '\0')
        return -1;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (unsigned long) (*p - '0');
        if (v > max)
            return -1;
    }
    *out = (unsigned) v;
    return 0;
}

int
cli_parse_time(const char *text, int64_t *out)
{
    size_t n = text ? strlen(text) : 0;

    if (n != 6 && n != 10 && n != 12)
        return -1;
    if (postage_date_parse(text, n, (int64_t) time(NULL), out) != POSTAGE_OK)
        return -1;
    /* Refuse what the normaliser would silently move (e.g. 261345). */
    char back[13];
    if (postage_date_format(*out, (unsigned) n, back) != POSTAGE_OK ||
        memcmp(back, text, n) != 0)
        return -1;
    return 0;
}

/* Length of the valid UTF-8 sequence at s (1..4 bytes), or 0. */
static size_t
utf8_sequence(const unsigned char *s, size_t n)
{
    size_t len;
    unsigned min;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) { len = 2; min = 0x80; }
    else if (s[0] >= 0xe0 && s[0] <= 0xef) { len = 3; min = 0x800; }
    else if (s[0] >= 0xf0 && s[0] <= 0xf4) { len = 4; min = 0x10000; }
    else return 0;
    if (n < len)
        return 0;
    unsigned cp = s[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

void
cli_json_string(FILE *out, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *) s;
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = u[i];
        switch (c) {
        case '"':  fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (c < 0x20 || c == 0x7f) {
                fprintf(out, "\\u%04x", c);
            } else if (c < 0x80) {
                fputc(c, out);
            } else {
                /* Valid UTF-8 passes through; any other byte is shown as
                 * the Latin-1 character of the same value, so the output
                 * is always valid JSON. */
                size_t len = utf8_sequence(u + i, n - i);
                if (len == 0) {
                    fprintf(out, "\\u%04x", c);
                } else {
                    fwrite(u + i, 1, len, out);
                    i += len - 1;
                }
            }
        }
    }
    fputc('"', out);
}
