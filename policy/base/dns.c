/*
 * dns.c - the stub resolver of policy/base/dns.h: sockets, retries, the
 * cache and the configuration.
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
 * The packets themselves, the query and the answer's parse, are
 * dns_wire.c's; this file is the transport, the cache and the
 * configuration.
 *
 * The cache is a fixed array of entries with hash chains and an LRU list
 * (indices, not pointers), behind one mutex.  Positive answers live for
 * their smallest TTL, raised to min_ttl and capped by max_ttl; NXDOMAIN and NODATA for
 * negative_ttl; SERVFAIL, timeouts and errors are never cached, so an
 * outage heals as soon as the server does.
 */
#include "config.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "policy/base/dns.h"
#include "policy/base/dns_wire.h"

#define UDP_BUF 4096           /* more than PD_DNS_EDNS_UDP_SIZE: some
                                * servers ignore what we offered       */

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
    unsigned timeout_ms, attempts, max_ttl, min_ttl, negative_ttl;

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
             enum pd_dns_type qtype, uint64_t deadline, struct pd_dns_parsed *p)
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
        enum pd_dns_parse_status st = pd_dns_parse_answer(buf, (size_t)n, id, qname, qtype, p);
        if (st == PD_DNS_PARSE_OK) {
            result = XFER_ANSWER;
            break;
        }
        if (st == PD_DNS_PARSE_TRUNCATED) {
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
             enum pd_dns_type qtype, uint64_t deadline, struct pd_dns_parsed *p)
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
    uint8_t frame[2 + PD_DNS_QUERY_MAX];
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
    if (pd_dns_parse_answer(buf, alen, id, qname, qtype, p) == PD_DNS_PARSE_OK)
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
            copy = pd_dns_copy_answer(d->entries[i].answer);
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
    struct pd_dns_answer *copy = pd_dns_copy_answer(a);
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

    if (!name || !pd_dns_normalize_name(name, qname)) {
        *out = pd_dns_pack_answer(PD_DNS_BADNAME, NULL);
        return *out ? PD_DNS_BADNAME : PD_DNS_ERROR;
    }
    if ((*out = cache_get(dns, qname, type)) != NULL)
        return (*out)->rcode;

    struct pd_dns_parsed *p = calloc(1, sizeof *p);
    if (!p)
        return PD_DNS_ERROR;
    /* every text comes out of one answer of at most PD_DNS_TCP_MAX bytes: joined
     * TXT strings are shorter than their rdata, names are at most
     * PD_DNS_NAME_MAX + 1 each */
    p->text_cap = PD_DNS_TCP_MAX + PD_DNS_MAX_RR * (PD_DNS_NAME_MAX + 1);
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
            uint8_t q[PD_DNS_QUERY_MAX];
            size_t qlen = pd_dns_build_query(q, id, qname, type);
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

    *out = pd_dns_pack_answer(rc, got ? p : NULL);
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
        /* The floor first, the cap last: min_ttl never outlives max_ttl.
         * Why a floor: a name served with TTL 0 (load balancers, some
         * dynamic DNS) would otherwise cost a query per lookup, and the
         * HELO and PTR checks look up the same names for every message
         * of a client; a few seconds of staleness changes no verdict
         * (caching resolvers keep such a floor too: unbound's
         * cache-min-ttl, dnsmasq's --min-cache-ttl). */
        unsigned ttl = (*out)->ttl > dns->min_ttl ? (*out)->ttl : dns->min_ttl;
        if (ttl > dns->max_ttl)
            ttl = dns->max_ttl;
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
pd_dns_config_init(struct pd_dns_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->attempts = 2;
    cfg->cache_entries = 1024;
    cfg->max_ttl = 3600;
    cfg->min_ttl = 10;
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
    d->min_ttl = cfg->min_ttl;
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
