/*
 * pd_client.c - a policy-protocol test client: sends standard input to a
 * TCP port on loopback, exactly as bytes, and prints what comes back.
 *
 *   pd_client --free-port          print a loopback port that was free
 *   pd_client PORT [--expect N] [--chunk BYTES] [--close-after-send]
 *
 * Standard input is forwarded as it arrives.  --expect N stops after N
 * complete answers (each ends with an empty line) once the input has
 * ended and been sent, or when the server closes; --chunk sends the input in pieces of that
 * size, so the server's parser sees requests split anywhere;
 * --close-after-send shuts the sending side down (a client that leaves
 * mid-request).  Every wait is bounded (10 s), so a hung server fails the
 * test instead of hanging it.  Exit 0 if the expected answers came (or the
 * server closed when none were expected), 1 otherwise.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WAIT_MS 10000

static int
free_port(void)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *) &sin, sizeof sin) != 0 ||
        getsockname(fd, (struct sockaddr *) &sin, &len) != 0)
        return 1;
    printf("%u\n", ntohs(sin.sin_port));
    close(fd);
    return 0;
}

static size_t
count_answers(const char *buf, size_t n)
{
    size_t answers = 0;
    for (size_t i = 1; i < n; i++)
        if (buf[i] == '\n' && buf[i - 1] == '\n')
            answers++;
    return answers;
}

int
main(int argc, char **argv)
{
    long expect = -1, chunk = 0;
    int close_after = 0;

    if (argc == 2 && strcmp(argv[1], "--free-port") == 0)
        return free_port();
    if (argc < 2) {
        fprintf(stderr, "usage: pd_client PORT [--expect N] [--chunk BYTES] [--close-after-send]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--expect") == 0 && i + 1 < argc)
            expect = atol(argv[++i]);
        else if (strcmp(argv[i], "--chunk") == 0 && i + 1 < argc)
            chunk = atol(argv[++i]);
        else if (strcmp(argv[i], "--close-after-send") == 0)
            close_after = 1;
        else {
            fprintf(stderr, "pd_client: unknown argument %s\n", argv[i]);
            return 2;
        }
    }

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t) port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *) &sin, sizeof sin) != 0) {
        fprintf(stderr, "pd_client: connect to 127.0.0.1:%d: %s\n", port, strerror(errno));
        return 1;
    }

    /* Standard input is forwarded as it arrives (a test can send the next
     * request later, on the same connection). */
    size_t cap = 1 << 20, len = 0, sent = 0, got = 0, got_cap = 1 << 16;
    char *in = malloc(cap), *out = malloc(got_cap);
    int in_eof = 0, peer_closed = 0, shut = 0;
    while (in != NULL && out != NULL) {
        struct pollfd p[2] = {
            { .fd = fd, .events = POLLIN | (sent < len ? POLLOUT : 0) },
            { .fd = in_eof || len == cap ? -1 : 0, .events = POLLIN },
        };
        if (poll(p, 2, WAIT_MS) <= 0) {
            fprintf(stderr, "pd_client: no progress for %d ms\n", WAIT_MS);
            break;
        }
        if (p[1].revents & (POLLIN | POLLHUP)) {
            ssize_t n = read(0, in + len, cap - len);
            if (n <= 0)
                in_eof = 1;
            else
                len += (size_t) n;
        }
        if (p[0].revents & POLLOUT) {
            size_t n = len - sent;
            if (chunk > 0 && n > (size_t) chunk)
                n = (size_t) chunk;
            ssize_t w = send(fd, in + sent, n, MSG_NOSIGNAL);
            if (w < 0) {
                peer_closed = 1;
                break;
            }
            sent += (size_t) w;
        }
        if (in_eof && sent == len && close_after && !shut) {
            shutdown(fd, SHUT_WR);
            shut = 1;
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (got == got_cap && (out = realloc(out, got_cap *= 2)) == NULL)
                break;
            ssize_t r = recv(fd, out + got, got_cap - got, 0);
            if (r <= 0) {
                peer_closed = 1;
                break;
            }
            got += (size_t) r;
        }
        if (expect >= 0 && (long) count_answers(out, got) >= expect && in_eof && sent == len)
            break;
    }
    if (out != NULL)
        fwrite(out, 1, got, stdout);
    close(fd);
    long answers = out ? (long) count_answers(out, got) : 0;
    free(in);
    free(out);
    if (expect < 0)
        return peer_closed ? 0 : 1;
    return answers == expect ? 0 : 1;
}
