/*
 * dns.c - the stub resolver of policy/base/dns.h.
 *
 * One lookup: the name is checked (length, labels, characters) and looked
 * for in the cache; then, round after round (`attempts`), each server is
 * asked once over a fresh UDP socket bound to a random port, with a random
 * query ID and an EDNS0 OPT record offering 1232 bytes (the DNS flag day
 * 2020 size, which avoids IP fragmentation).  An answer counts only if it
 * comes from the server asked (the socket is connected), carries our ID,
 * is a response to a standard query and repeats our question exactly;
 * anything else is ignored and the wait goes on, so a spoofed or stale
 * packet cannot end a lookup.  A truncated answer is asked again over TCP.
 * Every wait is bounded by min(per-attempt timeout, caller's deadline),
 * measured on CLOCK_MONOTONIC: wall-clock steps cannot stretch it.
 *
 * Packets are built by hand (it is 30 lines, and res_nmkquery needs a
 * res_state) and parsed with libresolv's ns_initparse/ns_parserr/
 * ns_name_uncompress, which bounds-check every offset.
 *
 * The cache is a fixed array of entries with hash chains and an LRU list
 * (indices, not pointers), behind one mutex.  Positive answers live for
 * their smallest TTL, capped by max_ttl; NXDOMAIN and NODATA for
 * negative_ttl; SERVFAIL, timeouts and errors are never cached, so an
 * outage heals as soon as the server does.
 */
#include "config.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "policy/base/dns.h"

#define EDNS_UDP_SIZE 1232
#define UDP_BUF 4096           /* more than EDNS_UDP_SIZE: some servers
                                * ignore what we offered               */
#define TCP_MAX 65535
#define QUERY_MAX 512          /* 12 + 255 + 4 + 11 fits easily        */
#define MAX_CHAIN 8            /* CNAMEs followed inside one answer    */
#define MAX_RR_SCANNED 512     /* answer RRs looked at, at most        */

struct server {
    struct sockaddr_storage addr;
    socklen_t len;
};

struct cache_entry {
    int used;
    int hnext;                 /* next in hash chain, -1 ends          */
    int prev, next;            /* LRU list, -1 ends; head = newest     */
    unsigned hash;
    enum pd_dns_type type;
    uint64_t expires_ms;
    char name[PD_DNS_NAME_MAX + 1];
    struct pd_dns_answer *answer;
};

struct pd_dns {
    struct server servers[PD_DNS_MAX_SERVERS];
    size_t nservers;
    unsigned timeout_ms, attempts, max_ttl, negative_ttl;

    pthread_mutex_t lock;      /* guards everything below              */
    struct pd_dns_stats stats;
    size_t cache_cap, cache_used;
    struct cache_entry *entries;
    int *buckets;
    size_t nbuckets;           /* a power of two                       */
    int lru_head, lru_tail, free_head;
};

/* ------------------------------------------------------------------ */
/* small helpers                                                        */

uint64_t
pd_dns_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
set_err(char *err, size_t errlen, const char *msg, const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, "%s%s%s", msg, what ? ": " : "", what ? what : "");
}

const char *
pd_dns_rcode_name(enum pd_dns_rcode rcode)
{
    switch (rcode) {
    case PD_DNS_NOERROR: return "NOERROR";
    case PD_DNS_NXDOMAIN: return "NXDOMAIN";
    case PD_DNS_SERVFAIL: return "SERVFAIL";
    case PD_DNS_TIMEOUT: return "TIMEOUT";
    case PD_DNS_BADNAME: return "BADNAME";
    case PD_DNS_ERROR: return "ERROR";
    }
    return "?";
}

const char *
pd_dns_type_name(enum pd_dns_type type)
{
    switch (type) {
    case PD_DNS_A: return "A";
    case PD_DNS_PTR: return "PTR";
    case PD_DNS_MX: return "MX";
    case PD_DNS_TXT: return "TXT";
    case PD_DNS_AAAA: return "AAAA";
    }
    return "?";
}

bool
pd_dns_type_parse(const char *text, enum pd_dns_type *type)
{
    static const enum pd_dns_type all[] = {
        PD_DNS_A, PD_DNS_PTR, PD_DNS_MX, PD_DNS_TXT, PD_DNS_AAAA
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcasecmp(text, pd_dns_type_name(all[i])) == 0) {
            *type = all[i];
            return true;
        }
    return false;
}

/* Random bytes from the kernel.  If getrandom fails (it should not after
 * boot), fall back to the clock: the lookup still works, and the answer
 * checks (question, connected socket) still hold. */
static void
random_bytes(void *buf, size_t len)
{
    uint8_t *p = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(p + got, len - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        got += (size_t)n;
    }
    if (got < len) {
        uint64_t t = pd_dns_now_ms() * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
        for (size_t i = got; i < len; i++, t = t * 6364136223846793005ull + 1)
            p[i] = (uint8_t)(t >> 56);
    }
}

/*
 * Check a name and copy it, lowercased and without a trailing dot, into
 * out (PD_DNS_NAME_MAX + 1 bytes).  Refused: empty, too long, an empty or
 * over-long label, and bytes that are control characters, space, DEL or
 * backslash (which libresolv would read as an escape).  Other bytes pass:
 * SPF macros may produce "_" or "+" labels and DNS allows them.
 */
static bool
normalize_name(const char *name, char *out)
{
    size_t len = strnlen(name, PD_DNS_NAME_MAX + 2);
    if (len > 0 && name[len - 1] == '.')
        len--;
    if (len == 0 || len > PD_DNS_NAME_MAX)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else {
            if (c <= 0x20 || c == 0x7f || c == '\\')
                return false;
            if (++label > 63)
                return false;
        }
        out[i] = (char)tolower(c);
    }
    if (label == 0)
        return false;
    out[len] = '\0';
    return true;
}

/* The query: header, question, EDNS0 OPT.  Returns its length. */
static size_t
build_query(uint8_t *q, uint16_t id, const char *name, enum pd_dns_type type)
{
    size_t n = 0;
    q[n++] = (uint8_t)(id >> 8);
    q[n++] = (uint8_t)id;
    q[n++] = 0x01;  /* RD */
    q[n++] = 0x00;
    q[n++] = 0; q[n++] = 1;  /* QDCOUNT */
    q[n++] = 0; q[n++] = 0;  /* ANCOUNT */
    q[n++] = 0; q[n++] = 0;  /* NSCOUNT */
    q[n++] = 0; q[n++] = 1;  /* ARCOUNT: the OPT record */
    const char *p = name;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        q[n++] = (uint8_t)l;
        memcpy(q + n, p, l);
        n += l;
        p += l;
        if (*p == '.')
            p++;
    }
    q[n++] = 0;
    q[n++] = 0; q[n++] = (uint8_t)type;
    q[n++] = 0; q[n++] = 1;  /* class IN */
    /* OPT: root name, type 41, class = UDP payload size, TTL 0, no data */
    q[n++] = 0;
    q[n++] = 0; q[n++] = 41;
    q[n++] = (uint8_t)(EDNS_UDP_SIZE >> 8); q[n++] = (uint8_t)(EDNS_UDP_SIZE & 0xff);
    q[n++] = 0; q[n++] = 0; q[n++] = 0; q[n++] = 0;
    q[n++] = 0; q[n++] = 0;
    return n;
}

/* ------------------------------------------------------------------ */
/* parsing                                                              */

enum parse_status {
    PARSE_OK,        /* a valid answer to our question                */
    PARSE_IGNORE,    /* not ours (ID, question) or not a response     */
    PARSE_TRUNCATED, /* ours, but TC is set                           */
    PARSE_BAD        /* ours by ID, but malformed                     */
};

struct parsed {
    int rcode;       /* the DNS RCODE                                 */
    size_t count, dropped;
    uint32_t ttl;
    struct pd_dns_rr rr[PD_DNS_MAX_RR];
    size_t text_off[PD_DNS_MAX_RR];
    char *texts;     /* scratch, text_cap bytes                       */
    size_t text_used, text_cap;
};

static bool
chain_has(char chain[][NS_MAXDNAME], size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(chain[i], name) == 0)
            return true;
    return false;
}

static bool
add_text(struct parsed *p, size_t idx, const char *s, size_t len)
{
    if (len + 1 > p->text_cap - p->text_used)
        return false;
    memcpy(p->texts + p->text_used, s, len);
    p->texts[p->text_used + len] = '\0';
    p->text_off[idx] = p->text_used;
    p->rr[idx].text_len = len;
    p->text_used += len + 1;
    return true;
}

static enum parse_status
parse_answer(const uint8_t *msg, size_t len, uint16_t id, const char *qname,
             enum pd_dns_type qtype, struct parsed *p)
{
    ns_msg h;
    ns_rr rr;

    if (len < NS_HFIXEDSZ)
        return PARSE_IGNORE;
    if (((unsigned)msg[0] << 8 | msg[1]) != id)
        return PARSE_IGNORE;
    if (ns_initparse(msg, (int)len, &h) < 0)
        return PARSE_BAD;
    if (!ns_msg_getflag(h, ns_f_qr) || ns_msg_getflag(h, ns_f_opcode) != ns_o_query)
        return PARSE_IGNORE;
    /* The question must be ours: a forged answer for another name (or a
     * late one for an earlier query reusing the ID) is not taken. */
    if (ns_msg_count(h, ns_s_qd) != 1 || ns_parserr(&h, ns_s_qd, 0, &rr) < 0)
        return PARSE_IGNORE;
    if (ns_rr_type(rr) != (ns_type)qtype || ns_rr_class(rr) != ns_c_in ||
        strcasecmp(ns_rr_name(rr), qname) != 0)
        return PARSE_IGNORE;
    if (ns_msg_getflag(h, ns_f_tc))
        return PARSE_TRUNCATED;

    p->rcode = ns_msg_getflag(h, ns_f_rcode);
    p->count = p->dropped = 0;
    p->ttl = UINT32_MAX;
    p->text_used = 0;
    if (p->rcode != ns_r_noerror)
        return PARSE_OK;

    int nan = ns_msg_count(h, ns_s_an);
    if (nan > MAX_RR_SCANNED)
        nan = MAX_RR_SCANNED;

    /* The CNAME chain from qname, whatever order the RRs come in. */
    char chain[MAX_CHAIN + 1][NS_MAXDNAME];
    size_t nchain = 1;
    snprintf(chain[0], sizeof chain[0], "%s", qname);
    for (bool grew = true; grew && nchain <= MAX_CHAIN;) {
        grew = false;
        for (int i = 0; i < nan && nchain <= MAX_CHAIN; i++) {
            if (ns_parserr(&h, ns_s_an, i, &rr) < 0)
                return PARSE_BAD;
            if (ns_rr_type(rr) != ns_t_cname || ns_rr_class(rr) != ns_c_in)
                continue;
            if (strcasecmp(ns_rr_name(rr), chain[nchain - 1]) != 0)
                continue;
            char target[NS_MAXDNAME];
            if (ns_name_uncompress(ns_msg_base(h), ns_msg_end(h), ns_rr_rdata(rr),
                                   target, sizeof target) < 0)
                return PARSE_BAD;
            if (chain_has(chain, nchain, target))
                continue;  /* a loop */
            snprintf(chain[nchain++], sizeof chain[0], "%s", target);
            grew = true;
        }
    }

    for (int i = 0; i < nan; i++) {
        if (ns_parserr(&h, ns_s_an, i, &rr) < 0)
            return PARSE_BAD;
        if (ns_rr_type(rr) != (ns_type)qtype || ns_rr_class(rr) != ns_c_in)
            continue;
        if (!chain_has(chain, nchain, ns_rr_name(rr)))
            continue;  /* not about our name: out-of-zone data */
        if (p->count >= PD_DNS_MAX_RR) {
            p->dropped++;
            continue;
        }
        size_t k = p->count;
        struct pd_dns_rr *out = &p->rr[k];
        const uint8_t *rd = ns_rr_rdata(rr);
        size_t rdlen = ns_rr_rdlen(rr);
        char name[NS_MAXDNAME];
        memset(out, 0, sizeof *out);
        out->type = qtype;
        out->ttl = ns_rr_ttl(rr);
        p->text_off[k] = SIZE_MAX;
        bool keep = false;
        switch (qtype) {
        case PD_DNS_A:
            if ((keep = rdlen == 4))
                memcpy(out->addr, rd, 4);
            break;
        case PD_DNS_AAAA:
            if ((keep = rdlen == 16))
                memcpy(out->addr, rd, 16);
            break;
        case PD_DNS_TXT: {
            /* join the <character-string>s; each is a length byte and
             * that many bytes, all inside rdata */
            char buf[PD_DNS_TXT_MAX + 1];
            size_t o = 0, j = 0;
            keep = true;
            while (j < rdlen) {
                size_t l = rd[j++];
                if (l > rdlen - j || o + l > PD_DNS_TXT_MAX) {
                    keep = false;
                    break;
                }
                memcpy(buf + o, rd + j, l);
                o += l;
                j += l;
            }
            /* a NUL inside cannot be handed on as a C string */
            if (keep && memchr(buf, '\0', o) != NULL)
                keep = false;
            if (keep)
                keep = add_text(p, k, buf, o);
            break;
        }
        case PD_DNS_MX:
            if (rdlen < 3)
                break;
            out->pref = (uint16_t)ns_get16(rd);
            rd += 2;
            /* fall through */
        case PD_DNS_PTR:
            if (ns_name_uncompress(ns_msg_base(h), ns_msg_end(h), rd,
                                   name, sizeof name) < 0)
                return PARSE_BAD;
            if (strlen(name) <= PD_DNS_NAME_MAX && strcmp(name, ".") != 0)
                keep = add_text(p, k, name, strlen(name));
            break;
        }
        if (!keep) {
            p->dropped++;
            continue;
        }
        if (out->ttl < p->ttl)
            p->ttl = out->ttl;
        p->count++;
    }
    return PARSE_OK;
}

/* Pack a parse into one allocation (so caching is one memcpy). */
static struct pd_dns_answer *
pack_answer(enum pd_dns_rcode rcode, const struct parsed *p)
{
    size_t count = p ? p->count : 0;
    size_t texts = p ? p->text_used : 0;
    size_t size = sizeof(struct pd_dns_answer) + count * sizeof(struct pd_dns_rr) + texts;
    struct pd_dns_answer *a = calloc(1, size);
    if (!a)
        return NULL;
    a->rcode = rcode;
    a->alloc_size_ = size;
    a->rr = (struct pd_dns_rr *)(a + 1);
    if (p) {
        a->count = count;
        a->dropped = p->dropped;
        a->ttl = count ? p->ttl : 0;
        char *tbase = (char *)(a->rr + count);
        memcpy(tbase, p->texts, texts);
        for (size_t i = 0; i < count; i++) {
            a->rr[i] = p->rr[i];
            if (p->text_off[i] != SIZE_MAX)
                a->rr[i].text = tbase + p->text_off[i];
        }
    }
    return a;
}

static struct pd_dns_answer *
copy_answer(const struct pd_dns_answer *src)
{
    struct pd_dns_answer *a = malloc(src->alloc_size_);
    if (!a)
        return NULL;
    memcpy(a, src, src->alloc_size_);
    a->rr = (struct pd_dns_rr *)(a + 1);
    const char *sbase = (const char *)src;
    for (size_t i = 0; i < a->count; i++)
        if (src->rr[i].text)
            a->rr[i].text = (const char *)a + (src->rr[i].text - sbase);
    return a;
}

void
pd_dns_answer_free(struct pd_dns_answer *answer)
{
    free(answer);
}

/* ------------------------------------------------------------------ */
/* transport                                                            */

/* Wait for fd to be ready until deadline; false on timeout or error. */
static bool
wait_fd(int fd, short events, uint64_t deadline)
{
    for (;;) {
        uint64_t now = pd_dns_now_ms();
        if (now >= deadline)
            return false;
        struct pollfd pfd = { .fd = fd, .events = events };
        uint64_t left = deadline - now;
        int r = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
        if (r > 0)
            return true;
        if (r < 0 && errno != EINTR)
            return false;
    }
}

/* A UDP socket bound to a random port (a few tries; then the kernel's
 * choice, which Linux randomises too), connected to the server so that
 * packets from anyone else are dropped by the kernel. */
static int
udp_socket(const struct server *s)
{
    int fd = socket(s->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    for (int i = 0; i < 8; i++) {
        uint16_t port;
        random_bytes(&port, sizeof port);
        if (port < 1024)
            continue;
        struct sockaddr_storage local;
        memset(&local, 0, sizeof local);
        local.ss_family = s->addr.ss_family;
        socklen_t llen;
        if (local.ss_family == AF_INET6) {
            ((struct sockaddr_in6 *)&local)->sin6_port = htons(port);
            llen = sizeof(struct sockaddr_in6);
        } else {
            ((struct sockaddr_in *)&local)->sin_port = htons(port);
            llen = sizeof(struct sockaddr_in);
        }
        if (bind(fd, (struct sockaddr *)&local, llen) == 0)
            break;
    }
    if (connect(fd, (const struct sockaddr *)&s->addr, s->len) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

enum xfer {
    XFER_ANSWER,     /* p holds a valid answer                        */
    XFER_TRUNCATED,
    XFER_TIMEOUT,
    XFER_FAILED      /* refused connection, malformed answer...       */
};

static enum xfer
udp_exchange(struct pd_dns *dns, const struct server *s, const uint8_t *q,
             size_t qlen, uint16_t id, const char *qname,
             enum pd_dns_type qtype, uint64_t deadline, struct parsed *p)
{
    int fd = udp_socket(s);
    if (fd < 0)
        return XFER_FAILED;
    pthread_mutex_lock(&dns->lock);
    dns->stats.packets_sent++;
    pthread_mutex_unlock(&dns->lock);
    if (send(fd, q, qlen, 0) != (ssize_t)qlen) {
        close(fd);
        return XFER_FAILED;
    }
    uint8_t buf[UDP_BUF];
    enum xfer result = XFER_TIMEOUT;
    while (wait_fd(fd, POLLIN, deadline)) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            result = XFER_FAILED;  /* e.g. ICMP port unreachable */
            break;
        }
        enum parse_status st = parse_answer(buf, (size_t)n, id, qname, qtype, p);
        if (st == PARSE_OK) {
            result = XFER_ANSWER;
            break;
        }
        if (st == PARSE_TRUNCATED) {
            result = XFER_TRUNCATED;
            break;
        }
        /* not ours (or garbage under our ID, which a forger could send):
         * keep waiting for the real answer until the deadline */
        pthread_mutex_lock(&dns->lock);
        dns->stats.mismatched++;
        pthread_mutex_unlock(&dns->lock);
    }
    close(fd);
    return result;
}

static bool
io_all(int fd, uint8_t *buf, size_t len, bool writing, uint64_t deadline)
{
    size_t done = 0;
    while (done < len) {
        if (!wait_fd(fd, writing ? POLLOUT : POLLIN, deadline))
            return false;
        ssize_t n = writing ? send(fd, buf + done, len - done, MSG_NOSIGNAL)
                            : recv(fd, buf + done, len - done, 0);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return false;
        }
        if (n == 0)
            return false;
        done += (size_t)n;
    }
    return true;
}

static enum xfer
tcp_exchange(struct pd_dns *dns, const struct server *s, const uint8_t *q,
             size_t qlen, uint16_t id, const char *qname,
             enum pd_dns_type qtype, uint64_t deadline, struct parsed *p)
{
    int fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return XFER_FAILED;
    pthread_mutex_lock(&dns->lock);
    dns->stats.packets_sent++;
    dns->stats.tcp_fallbacks++;
    pthread_mutex_unlock(&dns->lock);
    enum xfer result = XFER_FAILED;
    uint8_t *buf = NULL;
    if (connect(fd, (const struct sockaddr *)&s->addr, s->len) < 0) {
        if (errno != EINPROGRESS)
            goto out;
        if (!wait_fd(fd, POLLOUT, deadline)) {
            result = XFER_TIMEOUT;
            goto out;
        }
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0)
            goto out;
    }
    uint8_t frame[2 + QUERY_MAX];
    frame[0] = (uint8_t)(qlen >> 8);
    frame[1] = (uint8_t)qlen;
    memcpy(frame + 2, q, qlen);
    if (!io_all(fd, frame, qlen + 2, true, deadline)) {
        result = pd_dns_now_ms() >= deadline ? XFER_TIMEOUT : XFER_FAILED;
        goto out;
    }
    uint8_t lenbuf[2];
    if (!io_all(fd, lenbuf, 2, false, deadline)) {
        result = pd_dns_now_ms() >= deadline ? XFER_TIMEOUT : XFER_FAILED;
        goto out;
    }
    size_t alen = (size_t)lenbuf[0] << 8 | lenbuf[1];
    buf = malloc(alen ? alen : 1);
    if (!buf)
        goto out;
    if (!io_all(fd, buf, alen, false, deadline)) {
        result = pd_dns_now_ms() >= deadline ? XFER_TIMEOUT : XFER_FAILED;
        goto out;
    }
    /* over TCP the answer must be ours outright; TC makes no sense */
    if (parse_answer(buf, alen, id, qname, qtype, p) == PARSE_OK)
        result = XFER_ANSWER;
out:
    free(buf);
    close(fd);
    return result;
}

/* ------------------------------------------------------------------ */
/* cache                                                                */

static unsigned
hash_key(const char *name, enum pd_dns_type type)
{
    /* FNV-1a; names are already lowercased */
    unsigned h = 2166136261u ^ (unsigned)type;
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h;
}

static void
lru_unlink(struct pd_dns *d, int i)
{
    struct cache_entry *e = &d->entries[i];
    if (e->prev >= 0) d->entries[e->prev].next = e->next; else d->lru_head = e->next;
    if (e->next >= 0) d->entries[e->next].prev = e->prev; else d->lru_tail = e->prev;
    e->prev = e->next = -1;
}

static void
lru_push_front(struct pd_dns *d, int i)
{
    struct cache_entry *e = &d->entries[i];
    e->prev = -1;
    e->next = d->lru_head;
    if (d->lru_head >= 0)
        d->entries[d->lru_head].prev = i;
    d->lru_head = i;
    if (d->lru_tail < 0)
        d->lru_tail = i;
}

static void
cache_remove(struct pd_dns *d, int i)
{
    struct cache_entry *e = &d->entries[i];
    int *pp = &d->buckets[e->hash & (d->nbuckets - 1)];
    while (*pp != i)
        pp = &d->entries[*pp].hnext;
    *pp = e->hnext;
    lru_unlink(d, i);
    pd_dns_answer_free(e->answer);
    e->answer = NULL;
    e->used = 0;
    e->hnext = d->free_head;
    d->free_head = i;
    d->cache_used--;
}

static int
cache_find(struct pd_dns *d, const char *name, enum pd_dns_type type, unsigned h)
{
    for (int i = d->buckets[h & (d->nbuckets - 1)]; i >= 0; i = d->entries[i].hnext) {
        struct cache_entry *e = &d->entries[i];
        if (e->hash == h && e->type == type && strcmp(e->name, name) == 0)
            return i;
    }
    return -1;
}

/* A copy of the cached answer, or NULL. */
static struct pd_dns_answer *
cache_get(struct pd_dns *d, const char *name, enum pd_dns_type type)
{
    if (d->cache_cap == 0)
        return NULL;
    unsigned h = hash_key(name, type);
    struct pd_dns_answer *copy = NULL;
    pthread_mutex_lock(&d->lock);
    int i = cache_find(d, name, type, h);
    if (i >= 0) {
        if (d->entries[i].expires_ms <= pd_dns_now_ms()) {
            cache_remove(d, i);
        } else {
            lru_unlink(d, i);
            lru_push_front(d, i);
            copy = copy_answer(d->entries[i].answer);
            if (copy) {
                copy->from_cache = true;
                d->stats.cache_hits++;
            }
        }
    }
    pthread_mutex_unlock(&d->lock);
    return copy;
}

static void
cache_put(struct pd_dns *d, const char *name, enum pd_dns_type type,
          const struct pd_dns_answer *a, unsigned ttl)
{
    if (d->cache_cap == 0 || ttl == 0)
        return;
    struct pd_dns_answer *copy = copy_answer(a);
    if (!copy)
        return;
    copy->used_tcp = false;
    unsigned h = hash_key(name, type);
    pthread_mutex_lock(&d->lock);
    int i = cache_find(d, name, type, h);
    if (i >= 0)
        cache_remove(d, i);
    if (d->free_head < 0)
        cache_remove(d, d->lru_tail);  /* evict the least recently used */
    i = d->free_head;
    struct cache_entry *e = &d->entries[i];
    d->free_head = e->hnext;
    e->used = 1;
    e->hash = h;
    e->type = type;
    snprintf(e->name, sizeof e->name, "%s", name);
    e->answer = copy;
    e->expires_ms = pd_dns_now_ms() + (uint64_t)ttl * 1000u;
    e->hnext = d->buckets[h & (d->nbuckets - 1)];
    d->buckets[h & (d->nbuckets - 1)] = i;
    lru_push_front(d, i);
    d->cache_used++;
    pthread_mutex_unlock(&d->lock);
}

void
pd_dns_cache_clear(struct pd_dns *d)
{
    pthread_mutex_lock(&d->lock);
    while (d->lru_head >= 0)
        cache_remove(d, d->lru_head);
    pthread_mutex_unlock(&d->lock);
}

/* ------------------------------------------------------------------ */
/* lookup                                                               */

enum pd_dns_rcode
pd_dns_lookup(struct pd_dns *dns, const char *name, enum pd_dns_type type,
              uint64_t deadline_ms, struct pd_dns_answer **out)
{
    char qname[PD_DNS_NAME_MAX + 1];
    *out = NULL;

    pthread_mutex_lock(&dns->lock);
    dns->stats.lookups++;
    pthread_mutex_unlock(&dns->lock);

    if (!name || !normalize_name(name, qname)) {
        *out = pack_answer(PD_DNS_BADNAME, NULL);
        return *out ? PD_DNS_BADNAME : PD_DNS_ERROR;
    }
    if ((*out = cache_get(dns, qname, type)) != NULL)
        return (*out)->rcode;

    struct parsed *p = calloc(1, sizeof *p);
    if (!p)
        return PD_DNS_ERROR;
    /* every text comes out of one answer of at most TCP_MAX bytes: joined
     * TXT strings are shorter than their rdata, names are at most
     * PD_DNS_NAME_MAX + 1 each */
    p->text_cap = TCP_MAX + PD_DNS_MAX_RR * (PD_DNS_NAME_MAX + 1);
    p->texts = malloc(p->text_cap);
    if (!p->texts) {
        free(p);
        return PD_DNS_ERROR;
    }

    bool saw_servfail = false, saw_timeout = false, got = false, used_tcp = false;
    for (unsigned round = 0; round < dns->attempts && !got; round++) {
        for (size_t si = 0; si < dns->nservers && !got; si++) {
            uint64_t now = pd_dns_now_ms();
            uint64_t until = now + dns->timeout_ms;
            if (deadline_ms && deadline_ms < until)
                until = deadline_ms;
            if (until <= now) {
                saw_timeout = true;
                goto done;
            }
            uint16_t id;
            random_bytes(&id, sizeof id);
            uint8_t q[QUERY_MAX];
            size_t qlen = build_query(q, id, qname, type);
            const struct server *s = &dns->servers[si];
            enum xfer x = udp_exchange(dns, s, q, qlen, id, qname, type, until, p);
            if (x == XFER_TRUNCATED) {
                /* TCP gets its own full timeout, within the deadline */
                uint64_t tuntil = pd_dns_now_ms() + dns->timeout_ms;
                if (deadline_ms && deadline_ms < tuntil)
                    tuntil = deadline_ms;
                used_tcp = true;
                x = tcp_exchange(dns, s, q, qlen, id, qname, type, tuntil, p);
            }
            if (x == XFER_TIMEOUT) {
                saw_timeout = true;
            } else if (x == XFER_ANSWER) {
                if (p->rcode == ns_r_noerror || p->rcode == ns_r_nxdomain)
                    got = true;
                else if (p->rcode == ns_r_servfail)
                    saw_servfail = true;
                /* REFUSED, NOTIMP, FORMERR: this server cannot help */
            }
        }
    }
done:;
    enum pd_dns_rcode rc;
    if (got)
        rc = p->rcode == ns_r_nxdomain ? PD_DNS_NXDOMAIN : PD_DNS_NOERROR;
    else if (saw_servfail)
        rc = PD_DNS_SERVFAIL;
    else if (saw_timeout)
        rc = PD_DNS_TIMEOUT;
    else
        rc = PD_DNS_ERROR;

    *out = pack_answer(rc, got ? p : NULL);
    free(p->texts);
    free(p);
    if (!*out)
        return PD_DNS_ERROR;
    (*out)->used_tcp = used_tcp;
    if (rc == PD_DNS_TIMEOUT) {
        pthread_mutex_lock(&dns->lock);
        dns->stats.timeouts++;
        pthread_mutex_unlock(&dns->lock);
    }
    if (rc == PD_DNS_NOERROR && (*out)->count > 0) {
        unsigned ttl = (*out)->ttl < dns->max_ttl ? (*out)->ttl : dns->max_ttl;
        (*out)->ttl = ttl;
        cache_put(dns, qname, type, *out, ttl);
    } else if (rc == PD_DNS_NOERROR || rc == PD_DNS_NXDOMAIN) {
        (*out)->ttl = dns->negative_ttl;
        cache_put(dns, qname, type, *out, dns->negative_ttl);
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* setup                                                                */

void
pd_dns_config_defaults(struct pd_dns_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->timeout_ms = 2000;
    cfg->attempts = 2;
    cfg->cache_entries = 1024;
    cfg->max_ttl = 3600;
    cfg->negative_ttl = 60;
}

/* One numeric server: "1.2.3.4", "1.2.3.4:5353", "::1", "[::1]:5353". */
static bool
parse_server(const char *spec, size_t len, struct server *s)
{
    char host[INET6_ADDRSTRLEN + 16], port[8] = "53";
    if (len == 0 || len >= sizeof host)
        return false;
    char buf[sizeof host];
    memcpy(buf, spec, len);
    buf[len] = '\0';
    const char *colon = strchr(buf, ':');
    if (buf[0] == '[') {
        char *close = strchr(buf, ']');
        if (!close)
            return false;
        *close = '\0';
        snprintf(host, sizeof host, "%s", buf + 1);
        if (close[1] == ':')
            snprintf(port, sizeof port, "%.7s", close + 2);
        else if (close[1] != '\0')
            return false;
    } else if (colon && strchr(colon + 1, ':') == NULL) {
        snprintf(host, sizeof host, "%.*s", (int)(colon - buf), buf);
        if (strlen(colon + 1) >= sizeof port)
            return false;
        snprintf(port, sizeof port, "%s", colon + 1);
    } else {
        snprintf(host, sizeof host, "%s", buf);
    }
    if (port[0] == '\0' || strspn(port, "0123456789") != strlen(port))
        return false;
    long pn = strtol(port, NULL, 10);
    if (pn < 1 || pn > 65535)
        return false;
    struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
                              .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM };
    struct addrinfo *ai = NULL;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
        return false;
    bool ok = ai->ai_addrlen <= sizeof s->addr;
    if (ok) {
        memset(&s->addr, 0, sizeof s->addr);
        memcpy(&s->addr, ai->ai_addr, ai->ai_addrlen);
        s->len = (socklen_t)ai->ai_addrlen;
    }
    freeaddrinfo(ai);
    return ok;
}

static void
read_resolv_conf(struct pd_dns *d, const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f) && d->nservers < PD_DNS_MAX_SERVERS) {
        char *p = line;
        if (strncmp(p, "nameserver", 10) != 0 || (p[10] != ' ' && p[10] != '\t'))
            continue;
        p += 10;
        p += strspn(p, " \t");
        size_t l = strcspn(p, " \t\r\n#;");
        /* resolv.conf addresses never carry a port: a bare IPv4 or IPv6 */
        char spec[INET6_ADDRSTRLEN + 20];
        if (l == 0 || l + 3 > sizeof spec)
            continue;
        snprintf(spec, sizeof spec, "[%.*s]", (int)l, p);
        if (parse_server(spec, strlen(spec), &d->servers[d->nservers]))
            d->nservers++;
    }
    fclose(f);
}

struct pd_dns *
pd_dns_new(const struct pd_dns_config *cfg, char *err, size_t errlen)
{
    struct pd_dns *d = calloc(1, sizeof *d);
    if (!d) {
        set_err(err, errlen, "out of memory", NULL);
        return NULL;
    }
    d->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 2000;
    d->attempts = cfg->attempts ? cfg->attempts : 1;
    d->max_ttl = cfg->max_ttl;
    d->negative_ttl = cfg->negative_ttl;
    d->lru_head = d->lru_tail = d->free_head = -1;

    const char *sv = cfg->servers;
    if (sv && *sv && strcmp(sv, "system") != 0) {
        const char *p = sv;
        while (*p) {
            p += strspn(p, ", \t");
            size_t l = strcspn(p, ", \t");
            if (l == 0)
                break;
            if (d->nservers == PD_DNS_MAX_SERVERS) {
                set_err(err, errlen, "too many DNS servers (at most 3)", sv);
                free(d);
                return NULL;
            }
            if (!parse_server(p, l, &d->servers[d->nservers])) {
                set_err(err, errlen, "bad DNS server (want numeric HOST:PORT)", sv);
                free(d);
                return NULL;
            }
            d->nservers++;
            p += l;
        }
        if (d->nservers == 0) {
            set_err(err, errlen, "no DNS server given", sv);
            free(d);
            return NULL;
        }
    } else {
        read_resolv_conf(d, cfg->resolv_conf ? cfg->resolv_conf : "/etc/resolv.conf");
        if (d->nservers == 0)  /* glibc's default */
            parse_server("127.0.0.1", 9, &d->servers[d->nservers++]);
    }

    d->cache_cap = cfg->cache_entries;
    if (d->cache_cap > 1u << 20)
        d->cache_cap = 1u << 20;
    if (d->cache_cap) {
        d->nbuckets = 1;
        while (d->nbuckets < d->cache_cap * 2)
            d->nbuckets <<= 1;
        d->entries = calloc(d->cache_cap, sizeof *d->entries);
        d->buckets = malloc(d->nbuckets * sizeof *d->buckets);
        if (!d->entries || !d->buckets) {
            free(d->entries);
            free(d->buckets);
            free(d);
            set_err(err, errlen, "out of memory", NULL);
            return NULL;
        }
        for (size_t i = 0; i < d->nbuckets; i++)
            d->buckets[i] = -1;
        for (size_t i = 0; i < d->cache_cap; i++) {
            d->entries[i].prev = d->entries[i].next = -1;
            d->entries[i].hnext = i + 1 < d->cache_cap ? (int)(i + 1) : -1;
        }
        d->free_head = 0;
    }
    if (pthread_mutex_init(&d->lock, NULL) != 0) {
        free(d->entries);
        free(d->buckets);
        free(d);
        set_err(err, errlen, "cannot create a mutex", NULL);
        return NULL;
    }
    return d;
}

void
pd_dns_free(struct pd_dns *d)
{
    if (!d)
        return;
    if (d->cache_cap)
        pd_dns_cache_clear(d);
    pthread_mutex_destroy(&d->lock);
    free(d->entries);
    free(d->buckets);
    free(d);
}

void
pd_dns_get_stats(struct pd_dns *d, struct pd_dns_stats *stats)
{
    pthread_mutex_lock(&d->lock);
    *stats = d->stats;
    pthread_mutex_unlock(&d->lock);
}
