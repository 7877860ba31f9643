/*
 * listen.c - listening sockets from "inet:HOST:PORT", "inet:[V6]:PORT" or
 * "unix:PATH".
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "policy/base/listen.h"

/* Split "HOST:PORT" or "[V6]:PORT" of the spec "inet:" @hp.  The port
 * must be decimal, 1 to 65535: getaddrinfo would take a service name or
 * wrap a large number, and a bad port should be found when the
 * configuration is checked, not when the daemon starts.  Returns 0, or -1
 * with what is wrong in err. */
static int
split_host_port(const char *hp, char *host, size_t hsize, char *port, size_t psize,
                char *err, size_t errlen)
{
    const char *spec = hp, *colon, *p;
    size_t hlen;

    if (hp[0] == '[') {
        const char *close = strchr(hp, ']');
        if (close == NULL || close[1] != ':') {
            snprintf(err, errlen, "'inet:%.200s': expected inet:[IPV6]:PORT", hp);
            return -1;
        }
        hlen = (size_t) (close - hp - 1);
        hp++;
        colon = close + 1;
    } else {
        colon = strrchr(hp, ':');
        if (colon == NULL) {
            const char *at = strchr(hp, '@');
            if (at != NULL)
                snprintf(err, errlen, "'inet:%.200s' is libmilter's spelling; write "
                         "inet:%.200s:%.*s", hp, at + 1, (int) (at - hp), hp);
            else
                snprintf(err, errlen, "'inet:%.200s': expected inet:HOST:PORT", hp);
            return -1;
        }
        hlen = (size_t) (colon - hp);
    }
    if (hlen == 0 || hlen >= hsize) {
        snprintf(err, errlen, "'inet:%.200s': the host is %s", spec,
                 hlen == 0 ? "empty" : "too long");
        return -1;
    }
    unsigned long n = 0;
    for (p = colon + 1; *p >= '0' && *p <= '9' && n <= 65535; p++)
        n = n * 10 + (unsigned long) (*p - '0');
    if (p == colon + 1 || *p != '\0' || n < 1 || n > 65535 || strlen(colon + 1) >= psize) {
        snprintf(err, errlen, "'inet:%.200s': port '%.20s' is not a number from 1 to 65535",
                 spec, colon + 1);
        return -1;
    }
    memcpy(host, hp, hlen);
    host[hlen] = '\0';
    strcpy(port, colon + 1);
    return 0;
}

static int
listen_inet(const char *hp, char *err, size_t errlen)
{
    char host[256], port[16];
    struct addrinfo hints, *res;

    if (split_host_port(hp, host, sizeof host, port, sizeof port, err, errlen) != 0)
        return -1;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "inet:%s: %s", hp, gai_strerror(gai));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "inet:%s: socket: %s", hp, strerror(errno));
        freeaddrinfo(res);
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 256) != 0) {
        snprintf(err, errlen, "inet:%s: %s", hp, strerror(errno));
        close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    return fd;
}

/* A socket path must fit sockaddr_un (108 bytes on Linux, with its NUL). */
static int
check_unix_path(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sun;

    if (path[0] == '\0') {
        snprintf(err, errlen, "'unix:': the path is empty");
        return -1;
    }
    if (strlen(path) >= sizeof sun.sun_path) {
        snprintf(err, errlen, "'unix:%.60s...': the path is longer than %zu bytes", path,
                 sizeof sun.sun_path - 1);
        return -1;
    }
    return 0;
}

static int
listen_unix(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sun;

    if (check_unix_path(path, err, errlen) != 0)
        return -1;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    strcpy(sun.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "unix:%s: socket: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path); /* a stale socket from an earlier run */
    if (bind(fd, (struct sockaddr *) &sun, sizeof sun) != 0 || chmod(path, 0666) != 0 ||
        listen(fd, 256) != 0) {
        snprintf(err, errlen, "unix:%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static void
unknown_kind(const char *spec, char *err, size_t errlen)
{
    snprintf(err, errlen, "'%.200s': expected inet:HOST:PORT, inet:[IPV6]:PORT or unix:PATH",
             spec);
}

int
pd_listen(const char *spec, char *err, size_t errlen)
{
    if (strncmp(spec, "inet:", 5) == 0)
        return listen_inet(spec + 5, err, errlen);
    if (strncmp(spec, "unix:", 5) == 0)
        return listen_unix(spec + 5, err, errlen);
    unknown_kind(spec, err, errlen);
    return -1;
}

int
pd_listen_check(const char *spec, char *err, size_t errlen)
{
    char host[256], port[16];

    if (strncmp(spec, "inet:", 5) == 0)
        return split_host_port(spec + 5, host, sizeof host, port, sizeof port, err, errlen);
    if (strncmp(spec, "unix:", 5) == 0)
        return check_unix_path(spec + 5, err, errlen);
    unknown_kind(spec, err, errlen);
    return -1;
}
