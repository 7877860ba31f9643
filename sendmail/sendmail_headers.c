/*
 * sendmail_headers.c - where postage-sendmail cuts a message into header
 * block and body, and the edited header block of each copy
 * (sendmail_headers.h).  The field syntax itself is rfc5322.c's; this file
 * only decides what a partial read can be trusted with and puts the
 * stamps in without touching any other byte.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "util/rfc5322.h"
#include "sendmail/sendmail_headers.h"

/* Does the line that ends just before `end` (its LF at end - 1) hold
 * nothing but its line end?  Then the block ended at its empty line. */
static int
ends_with_empty_line(const char *buf, size_t end)
{
    if (end == 0 || buf[end - 1] != '\n')
        return 0;
    if (end == 1 || buf[end - 2] == '\n')
        return 1;
    return buf[end - 2] == '\r' && (end == 2 || buf[end - 3] == '\n');
}

enum smh_split_result
smh_split(const char *buf, size_t len, int complete, size_t *block_len)
{
    *block_len = 0;
    if (buf == NULL)
        return complete ? SMH_BLOCK : SMH_TOO_BIG;
    size_t end = rfc5322_header_end(buf, len);
    if (complete) {
        *block_len = end;
        return SMH_BLOCK;
    }
    /* More bytes may follow.  A block that runs to the end of what was
     * read may go on (a continuation line, more fields, the rest of a cut
     * line); one that stops before it stopped at its empty line, which
     * nothing can change, or at a line that is not a field, which only
     * the rest of that line could change. */
    if (end >= len) {
        if (!ends_with_empty_line(buf, len))
            return SMH_TOO_BIG;
        *block_len = end;   /* the empty line is the last byte read */
        return SMH_BLOCK;
    }
    if (!ends_with_empty_line(buf, end) && memchr(buf + end, '\n', len - end) == NULL)
        return SMH_TOO_BIG;
    *block_len = end;
    return SMH_BLOCK;
}

static int
put(struct smh_buf *o, const char *s, size_t n)
{
    if (n > o->cap - o->len) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap - o->len < n) {
            if (cap > (size_t) -1 / 2)
                return -1;
            cap *= 2;
        }
        char *b = realloc(o->buf, cap);
        if (b == NULL)
            return -1;
        o->buf = b;
        o->cap = cap;
    }
    if (n > 0)
        memcpy(o->buf + o->len, s, n);
    o->len += n;
    return 0;
}

static int
put_stamps(struct smh_buf *o, const char *const *stamps, size_t n, const char *eol)
{
    for (size_t i = 0; i < n; i++)
        if (put(o, "X-Hashcash: ", 12) != 0 || put(o, stamps[i], strlen(stamps[i])) != 0 ||
            put(o, eol, strlen(eol)) != 0)
            return -1;
    return 0;
}

int
smh_build(const char *block, size_t blen, int drop_bcc, const char *const *stamps, size_t n,
          struct smh_buf *out, struct smh_edit *edit)
{
    const char *eol = rfc5322_uses_crlf(block, blen) ? "\r\n" : "\n";
    struct rfc5322_field f;
    size_t pos = 0, fields_end = 0, last_start = 0;
    int any = 0;
    out->len = 0;

    /* First pass: where the fields end and where the last one starts. */
    while (rfc5322_next_field(block, blen, &pos, &f) == 1) {
        any = 1;
        last_start = f.start;
        fields_end = f.end;
    }
    /* The stamps go after the last field when it ends its line; else
     * before it, so that no line end of ours is needed. */
    size_t insert_at = 0;
    int added_eol = 0;
    if (any)
        insert_at = block[fields_end - 1] == '\n' ? fields_end : last_start;
    else
        added_eol = !(blen > 0 && (block[0] == '\n' || (blen > 1 && block[0] == '\r' && block[1] == '\n')));
    if (edit != NULL) {
        edit->insert_at = insert_at;
        edit->added_eol = added_eol;
    }

    pos = 0;
    int stamped = 0;
    while (rfc5322_next_field(block, blen, &pos, &f) == 1) {
        if (!stamped && f.start == insert_at && any) {
            if (put_stamps(out, stamps, n, eol) != 0)
                return -1;
            stamped = 1;
        }
        if (drop_bcc && rfc5322_field_is_bcc(&f))
            continue;
        if (put(out, block + f.start, f.end - f.start) != 0)
            return -1;
    }
    if (!stamped) {
        if (put_stamps(out, stamps, n, eol) != 0 || (added_eol && put(out, eol, strlen(eol)) != 0))
            return -1;
    }
    return put(out, block + fields_end, blen - fields_end);
}
