/*
 * redis_spec.c - reading a Redis specification (redis://, redis+unix://,
 * redis+sentinel://) into a struct redis_spec: the grammar is in
 * kv/redis_spec.h.  Split from redis_conn.c, which connects by it.
 */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "util/errbuf.h"
#include "util/hex.h"
#include "postage/clock.h"
#include "postage/status.h"
#include "kv/redis_conn.h"
#include "kv/redis_spec.h"
#include "kv/store_spec.h"

#define TIMEOUT_DEFAULT_MS 500
#define TIMEOUT_MAX_MS 60000
#define HOSTNAME_MAX 253
#define IPV6_TEXT_MAX 45
#define SHOWN_MAX 40          /* bytes of an offending token put in a message */

/* A parse error: "Redis specification: ..."; returns -1. */
static int bad(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
bad(char *err, size_t errlen, const char *fmt, ...)
{
    char msg[REDIS_CONN_ERRLEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    errbuf_printf(err, errlen, "Redis specification: %s", msg);
    return -1;
}

/* ---- parsing ------------------------------------------------------------ */

/* Percent-decode s[0..n) into out (outsz bytes with the NUL).  `what`
 * names the field in messages.  0, or -1 with err set. */
static int
decode(const char *s, size_t n, char *out, size_t outsz, const char *what,
       char *err, size_t errlen)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s[i];

        if (c == '%') {
            if (i + 2 >= n || hex_decode(s + i + 1, 1, &c) != 0)
                return bad(err, errlen, "bad percent-encoding in the %s (%% must be "
                           "followed by two hex digits; write %%25 for %%)", what);
            i += 2;
        }
        if (c < 0x20 || c == 0x7f)
            return bad(err, errlen, "the %s contains a NUL or control character", what);
        if (o + 1 >= outsz)
            return bad(err, errlen, "the %s is too long (at most %zu bytes)", what, outsz - 1);
        out[o++] = (char) c;
    }
    out[o] = '\0';
    return 0;
}

int
redis_spec_uint(const char *s, size_t n, unsigned long max, unsigned long *out)
{
    unsigned long long v = 0;
    size_t i;

    if (n == 0 || n > 10)
        return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned) (s[i] - '0');
    }
    if (v > max)
        return -1;
    *out = (unsigned long) v;
    return 0;
}

/* A token for a message: at most SHOWN_MAX bytes of it. */
static int
shown_len(size_t n)
{
    return (int) (n > SHOWN_MAX ? SHOWN_MAX : n);
}

static int
host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || c == '-' || c == '.' || c == '_';
}

/* HOST[:PORT] or [IPV6][:PORT] in s[0..n).  `what` is "" or "sentinel ". */
static int
parse_hostport(const char *s, size_t n, int default_port, char *host, size_t hostsz,
               int *port, const char *what, char *err, size_t errlen)
{
    const char *end = s + n, *portstr = NULL;
    size_t hlen, i;
    unsigned long v;

    if (n == 0)
        return bad(err, errlen, "empty %shost", what);
    if (s[0] == '[') {
        const char *close = memchr(s, ']', n);

        if (close == NULL)
            return bad(err, errlen, "unclosed '[' in the %saddress", what);
        hlen = (size_t) (close - s - 1);
        if (hlen == 0)
            return bad(err, errlen, "empty %shost", what);
        if (hlen > IPV6_TEXT_MAX || memchr(s + 1, ':', hlen) == NULL)
            return bad(err, errlen, "bad IPv6 address '[%.*s]'", shown_len(hlen), s + 1);
        for (i = 1; i <= hlen; i++)
            if (hex_digit_value((unsigned char) s[i]) < 0 && s[i] != ':' && s[i] != '.')
                return bad(err, errlen, "bad IPv6 address '[%.*s]'", shown_len(hlen), s + 1);
        memcpy(host, s + 1, hlen);
        host[hlen] = '\0';
        if (close + 1 < end) {
            if (close[1] != ':')
                return bad(err, errlen, "unexpected '%c' after ']' in the %saddress",
                           close[1], what);
            portstr = close + 2;
        }
    } else {
        const char *colon = memchr(s, ':', n);

        hlen = colon != NULL ? (size_t) (colon - s) : n;
        if (hlen == 0)
            return bad(err, errlen, "empty %shost", what);
        if (colon != NULL && memchr(colon + 1, ':', (size_t) (end - colon - 1)) != NULL)
            return bad(err, errlen, "an IPv6 address must be written in brackets: [%.*s]",
                       shown_len(n), s);
        if (hlen > HOSTNAME_MAX || hlen >= hostsz)
            return bad(err, errlen, "%shost name too long (%zu bytes; at most %d)", what,
                       hlen, HOSTNAME_MAX);
        for (i = 0; i < hlen; i++)
            if (!host_char(s[i])) {
                if ((unsigned char) s[i] >= 0x80 || s[i] == '%')
                    return bad(err, errlen, "bad character in the %shost name '%.*s' "
                               "(letters, digits, '-', '.', '_')", what, shown_len(hlen), s);
                return bad(err, errlen, "bad character '%c' in the %shost name '%.*s'",
                           s[i], what, shown_len(hlen), s);
            }
        memcpy(host, s, hlen);
        host[hlen] = '\0';
        if (colon != NULL)
            portstr = colon + 1;
    }
    *port = default_port;
    if (portstr != NULL) {
        size_t plen = (size_t) (end - portstr);

        if (redis_spec_uint(portstr, plen, 65535, &v) != 0 || v == 0)
            return bad(err, errlen, "bad %sport '%.*s' (must be 1 to 65535)", what,
                       shown_len(plen), portstr);
        *port = (int) v;
    }
    return 0;
}

/* [USER]:PASSWORD in s[0..n). */
static int
parse_userinfo(const char *s, size_t n, struct redis_spec *out, char *err, size_t errlen)
{
    const char *colon = memchr(s, ':', n);

    if (colon == NULL)
        return bad(err, errlen, "write the password as :PASSWORD@ (or USER:PASSWORD@); "
                   "\"X@\" alone is ambiguous");
    if (decode(s, (size_t) (colon - s), out->username, sizeof out->username, "user name",
               err, errlen) != 0)
        return -1;
    if (colon + 1 == s + n)
        return bad(err, errlen, "empty password (leave out \":@\" for none)");
    return decode(colon + 1, (size_t) (s + n - colon - 1), out->password,
                  sizeof out->password, "password", err, errlen);
}

/* A database number in s[0..n). */
static int
parse_db(const char *s, size_t n, int *db, char *err, size_t errlen)
{
    unsigned long v;

    if (redis_spec_uint(s, n, INT_MAX, &v) != 0)
        return bad(err, errlen, "bad database number '%.*s' (0 to %d)", shown_len(n), s,
                   INT_MAX);
    *db = (int) v;
    return 0;
}

static int
name_is(const char *s, size_t n, const char *name)
{
    return strlen(name) == n && memcmp(s, name, n) == 0;
}

/* The query q[0..end), after the '?'. */
static int
parse_query(const char *q, const char *end, int db_in_path, struct redis_spec *out,
            char *err, size_t errlen)
{
    int seen_prefix = 0, seen_timeout = 0, seen_db = 0, seen_grace = 0;

    for (;;) {
        const char *amp = memchr(q, '&', (size_t) (end - q));
        const char *item_end = amp != NULL ? amp : end;
        size_t n = (size_t) (item_end - q), vlen;
        const char *eq = memchr(q, '=', n), *val;
        unsigned long v;
        int *seen;

        if (n == 0)
            return bad(err, errlen, "empty query parameter (a stray '?' or '&')");
        if (eq == NULL)
            return bad(err, errlen, "query parameter '%.*s' has no value (write NAME=VALUE)",
                       shown_len(n), q);
        val = eq + 1;
        vlen = (size_t) (item_end - val);
        if (name_is(q, (size_t) (eq - q), "prefix"))
            seen = &seen_prefix;
        else if (name_is(q, (size_t) (eq - q), "timeout"))
            seen = &seen_timeout;
        else if (name_is(q, (size_t) (eq - q), "db"))
            seen = &seen_db;
        else if (name_is(q, (size_t) (eq - q), "grace"))
            seen = &seen_grace;
        else
            return bad(err, errlen, "unknown query parameter '%.*s' (known: prefix, timeout, "
                       "db, grace)", shown_len((size_t) (eq - q)), q);
        if (*seen)
            return bad(err, errlen, "query parameter '%.*s' given twice",
                       (int) (eq - q), q);
        *seen = 1;

        if (seen == &seen_prefix) {
            if (decode(val, vlen, out->prefix, sizeof out->prefix, "prefix", err, errlen) != 0)
                return -1;
        } else if (seen == &seen_timeout) {
            if (redis_spec_uint(val, vlen, TIMEOUT_MAX_MS, &v) != 0 || v == 0)
                return bad(err, errlen, "bad timeout '%.*s' (milliseconds, 1 to %d)",
                           shown_len(vlen), val, TIMEOUT_MAX_MS);
            out->timeout_ms = (int) v;
        } else if (seen == &seen_db) {
            if (db_in_path)
                return bad(err, errlen, "the database is given twice (as /DB and as db=)");
            if (parse_db(val, vlen, &out->db, err, errlen) != 0)
                return -1;
        } else {
            char text[32];

            if (vlen >= sizeof text || decode(val, vlen, text, sizeof text, "grace", NULL, 0)
                || postage_period_parse(text, &out->grace) != POSTAGE_OK)
                return bad(err, errlen, "bad grace '%.*s' (a period such as 7d, 36h or "
                           "86400, at most 10 years)", shown_len(vlen), val);
        }
        if (amp == NULL)
            return 0;
        q = amp + 1;
    }
}

int
redis_spec_parse(const char *spec, struct redis_spec *out, char *err, size_t errlen)
{
    const char *p, *end, *query, *main_end, *at = NULL;
    size_t len, i;
    int db_in_path = 0;

    errbuf_printf(err, errlen, "%s", "");
    if (out == NULL)
        return bad(err, errlen, "no place for the result");
    memset(out, 0, sizeof *out);
    out->port = 6379;
    snprintf(out->prefix, sizeof out->prefix, "%s", "postage:");
    out->timeout_ms = TIMEOUT_DEFAULT_MS;
    out->grace = REDIS_DEFAULT_GRACE;
    if (spec == NULL || spec[0] == '\0')
        return bad(err, errlen, "empty");
    len = strlen(spec);
    if (len > REDIS_SPEC_MAX)
        return bad(err, errlen, "too long (%zu bytes; at most %d)", len, REDIS_SPEC_MAX);
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char) spec[i];
        if (c <= 0x20 || c == 0x7f)
            return bad(err, errlen, "a space or control character at byte %zu "
                       "(percent-encode it)", i + 1);
        if (c == '#')
            return bad(err, errlen, "'#' is not allowed (percent-encode it as %%23)");
    }
    if (strncmp(spec, "redis+sentinel://", 17) == 0) {
        out->sentinel = 1;
        p = spec + 17;
    } else if (strncmp(spec, "redis+unix://", 13) == 0) {
        out->unix_socket = 1;
        p = spec + 13;
    } else if (strncmp(spec, "redis://", 8) == 0) {
        p = spec + 8;
    } else if (redis_scheme(spec)) {
        return bad(err, errlen, "expected \"%.*s://\" at the start",
                   (int) strcspn(spec, ":"), spec);
    } else {
        return bad(err, errlen, "not redis://, redis+unix:// or redis+sentinel://");
    }
    end = spec + len;
    query = strchr(p, '?');
    main_end = query != NULL ? query : end;

    /* The userinfo. */
    if (out->unix_socket) {
        if (p < main_end && *p != '/') {
            const char *s;
            for (s = p; s + 1 < main_end; s++)
                if (s[0] == '@' && s[1] == '/') {
                    at = s;
                    break;
                }
            if (at == NULL)
                return bad(err, errlen, "the socket path must be absolute: "
                           "redis+unix:///PATH or redis+unix://:PASSWORD@/PATH");
        }
    } else {
        const char *slash = memchr(p, '/', (size_t) (main_end - p));
        const char *auth_end = slash != NULL ? slash : main_end, *s;

        for (s = p; s < auth_end; s++)
            if (*s == '@')
                at = s;
        if (at == NULL && slash != NULL && memchr(slash, '@', (size_t) (main_end - slash)))
            return bad(err, errlen, "'@' after a '/': write a '/' in the password as %%2F");
    }
    if (at != NULL) {
        if (parse_userinfo(p, (size_t) (at - p), out, err, errlen) != 0)
            return -1;
        p = at + 1;
    }

    if (out->unix_socket) {
        if (p == main_end)
            return bad(err, errlen, "no socket path (redis+unix:///PATH)");
        if (decode(p, (size_t) (main_end - p), out->host,
                   sizeof ((struct sockaddr_un *) 0)->sun_path, "socket path",
                   err, errlen) != 0)
            return -1;
        if (strcmp(out->host, "/") == 0)
            return bad(err, errlen, "no socket path (redis+unix:///PATH)");
        out->port = 0;
    } else {
        const char *slash = memchr(p, '/', (size_t) (main_end - p));
        const char *auth_end = slash != NULL ? slash : main_end;
        const char *dbs = NULL;

        if (out->sentinel) {
            const char *s = p, *m, *mend;

            if (p == auth_end)
                return bad(err, errlen, "no sentinel address "
                           "(redis+sentinel://HOST:PORT[,HOST:PORT...]/MASTER)");
            for (;;) {
                const char *comma = memchr(s, ',', (size_t) (auth_end - s));
                const char *item_end = comma != NULL ? comma : auth_end;
                int k = out->n_sentinels;

                if (k == REDIS_SENTINELS_MAX)
                    return bad(err, errlen, "too many sentinels (at most %d)",
                               REDIS_SENTINELS_MAX);
                if (parse_hostport(s, (size_t) (item_end - s), 26379, out->sentinel_host[k],
                                   sizeof out->sentinel_host[k], &out->sentinel_port[k],
                                   "sentinel ", err, errlen) != 0)
                    return -1;
                out->n_sentinels++;
                if (comma == NULL)
                    break;
                s = comma + 1;
            }
            if (slash == NULL || slash + 1 == main_end || slash[1] == '/')
                return bad(err, errlen, "no master name (redis+sentinel://HOST:PORT/MASTER)");
            m = slash + 1;
            mend = memchr(m, '/', (size_t) (main_end - m));
            if (mend == NULL)
                mend = main_end;
            if (decode(m, (size_t) (mend - m), out->master, sizeof out->master, "master name",
                       err, errlen) != 0)
                return -1;
            if (mend < main_end)
                dbs = mend + 1;
            out->port = 0;
        } else {
            if (parse_hostport(p, (size_t) (auth_end - p), 6379, out->host, sizeof out->host,
                               &out->port, "", err, errlen) != 0)
                return -1;
            if (slash != NULL)
                dbs = slash + 1;
        }
        if (dbs != NULL && dbs < main_end) {
            const char *extra = memchr(dbs, '/', (size_t) (main_end - dbs));

            if (extra != NULL)
                return bad(err, errlen, "unexpected '%.*s' after the database number",
                           shown_len((size_t) (main_end - extra)), extra);
            if (parse_db(dbs, (size_t) (main_end - dbs), &out->db, err, errlen) != 0)
                return -1;
            db_in_path = 1;
        }
    }

    if (query != NULL && parse_query(query + 1, end, db_in_path, out, err, errlen) != 0)
        return -1;
    return 0;
}
