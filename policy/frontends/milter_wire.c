/*
 * milter_wire.c - milter packet framing: the buffered, bounded reader and
 * the gathering writer of milter_wire.h, and the field helpers.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "policy/frontends/milter_wire.h"

uint32_t
pd_mw_get32(const unsigned char *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

void
pd_mw_put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char) (v >> 24);
    p[1] = (unsigned char) (v >> 16);
    p[2] = (unsigned char) (v >> 8);
    p[3] = (unsigned char) v;
}

void
pd_mw_reader_init(struct pd_mw_reader *r, int fd, int quickack)
{
    r->fd = fd;
    r->quickack = quickack;
    r->ack_owed = 0;
    r->start = r->end = 0;
}

/* Read more into the buffer; returns the bytes read, 0 at end of file,
 * -1 on error or timeout (errno). */
static ssize_t
fill(struct pd_mw_reader *r)
{
    if (r->start > 0 && (r->end == sizeof r->buf || r->start == r->end ||
                         r->start > sizeof r->buf / 2)) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
#ifdef TCP_QUICKACK
    /* About to wait for the MTA, having read without replying: the kernel
     * may be delaying the ACK of it, and the MTA's next packet waits on
     * that ACK (Nagle).  Setting TCP_QUICKACK sends it now. */
    if (r->quickack && r->ack_owed) {
        int one = 1;
        (void) setsockopt(r->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
        r->ack_owed = 0;
    }
#endif
    ssize_t n;
    do
        n = recv(r->fd, r->buf + r->end, sizeof r->buf - r->end, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        r->end += (size_t) n;
        r->ack_owed = 1;
    }
    return n;
}

enum pd_mw_status
pd_mw_read(struct pd_mw_reader *r, char *cmd, const unsigned char **data, size_t *len)
{
    uint32_t plen = 0;
    for (;;) {
        size_t have = r->end - r->start;
        if (have >= 4) {
            plen = pd_mw_get32(r->buf + r->start);
            if (plen == 0 || plen > PD_MW_DATA_MAX + 1) {
                *len = plen;
                return PD_MW_TOOBIG;
            }
            if (have >= 4 + (size_t) plen)
                break;
        }
        ssize_t n = fill(r);
        if (n == 0)
            return have == 0 ? PD_MW_EOF : PD_MW_TRUNCATED;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? PD_MW_TIMEOUT : PD_MW_IOERR;
    }
    *cmd = (char) r->buf[r->start + 4];
    *data = r->buf + r->start + 5;
    *len = plen - 1;
    r->start += 4 + (size_t) plen;
    return PD_MW_OK;
}

const char *
pd_mw_status_text(enum pd_mw_status st)
{
    switch (st) {
    case PD_MW_OK: return "ok";
    case PD_MW_EOF: return "the MTA closed the connection";
    case PD_MW_TRUNCATED: return "the MTA closed the connection inside a packet";
    case PD_MW_TOOBIG: return "a packet length of 0 or over 64 KiB";
    case PD_MW_TIMEOUT: return "the MTA sent nothing within the timeout";
    case PD_MW_IOERR: return "read error";
    }
    return "?";
}

void
pd_mw_writer_init(struct pd_mw_writer *w, int fd, struct pd_mw_reader *rd)
{
    w->fd = fd;
    w->rd = rd;
    w->failed = 0;
    w->len = 0;
}

int
pd_mw_flush(struct pd_mw_writer *w)
{
    size_t done = 0;
    while (done < w->len && !w->failed) {
        ssize_t n = send(w->fd, w->buf + done, w->len - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            w->failed = 1;
        else
            done += (size_t) n;
    }
    /* Data sent carries the ACK of everything read before it. */
    if (done > 0 && w->rd != NULL)
        w->rd->ack_owed = 0;
    w->len = 0;
    return w->failed ? -1 : 0;
}

int
pd_mw_append(struct pd_mw_writer *w, char cmd, const struct pd_mw_part *parts, size_t n)
{
    size_t total = 1;
    for (size_t i = 0; i < n; i++) {
        size_t l = parts[i].len == PD_MW_STR ? strlen(parts[i].p) + 1 : parts[i].len;
        if (l > PD_MW_DATA_MAX)
            return -1;
        total += l;
    }
    if (total > PD_MW_DATA_MAX + 1)
        return -1;
    if (w->len + 4 + total > sizeof w->buf && pd_mw_flush(w) != 0)
        return -1;
    unsigned char *p = w->buf + w->len;
    pd_mw_put32(p, (uint32_t) total);
    p[4] = (unsigned char) cmd;
    p += 5;
    for (size_t i = 0; i < n; i++) {
        size_t l = parts[i].len == PD_MW_STR ? strlen(parts[i].p) + 1 : parts[i].len;
        memcpy(p, parts[i].p, l);
        p += l;
    }
    w->len += 4 + total;
    return 0;
}

int
pd_mw_strings(const unsigned char *data, size_t len, const char **out, int max)
{
    int n = 0;
    if (len == 0)
        return 0;
    if (data[len - 1] != '\0')
        return -1;
    for (size_t i = 0; i < len;) {
        if (n == max)
            return -1;
        out[n++] = (const char *) data + i;
        i += strlen((const char *) data + i) + 1;
    }
    return n;
}
