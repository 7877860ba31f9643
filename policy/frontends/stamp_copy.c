/*
 * stamp_copy.c - inject a blind recipient's own copy through sendmail(1)
 * (stamp_copy.h).
 *
 * posix_spawn, not fork: postaged is multithreaded, and a forked child of
 * a threaded process may call only async-signal-safe functions.  The
 * child's stdout and stderr go to /dev/null (sendmail's complaints are
 * summarised by its exit status); its stdin is a pipe written here
 * without blocking past the deadline.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "policy/base/dns.h"
#include "policy/frontends/stamp_config.h"
#include "policy/frontends/stamp_copy.h"

extern char **environ;

/* Write all of @p to @fd before @deadline_ms.  0, or -1 (errno; ETIMEDOUT). */
static int
write_all(int fd, const void *p, size_t len, uint64_t deadline_ms)
{
    const char *c = p;
    while (len > 0) {
        uint64_t now = pd_dns_now_ms();
        if (now >= deadline_ms) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd pfd = { .fd = fd, .events = POLLOUT };
        int n = poll(&pfd, 1, (int) (deadline_ms - now));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            continue;
        ssize_t w = write(fd, c, len);
        if (w < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (w < 0)
            return -1;
        c += w;
        len -= (size_t) w;
    }
    return 0;
}

/* The body with each CRLF written as LF (sendmail -i reads text lines). */
static int
write_body(int fd, const unsigned char *b, size_t len, uint64_t deadline_ms)
{
    size_t start = 0;
    for (size_t i = 0; i + 1 < len; i++)
        if (b[i] == '\r' && b[i + 1] == '\n') {
            if (write_all(fd, b + start, i - start, deadline_ms) != 0)
                return -1;
            start = i + 1;
            i++;
        }
    return write_all(fd, b + start, len - start, deadline_ms);
}

int
pd_stamp_copy_send(char *const *argv, size_t argc, const char *sender, const char *rcpt,
                   const char *stamp, const char *headers, size_t hlen,
                   const unsigned char *body, size_t blen, uint64_t deadline_ms, char *err,
                   size_t errlen)
{
    /* posix_spawn takes char *const []: writable copies of the words. */
    char opt_i[] = "-i", opt_f[] = "-f", dashes[] = "--";
    char from[1024], to[1024];
    snprintf(from, sizeof from, "%s", sender);
    snprintf(to, sizeof to, "%s", rcpt);
    char *args[PD_STAMP_ARGV_MAX + 8];
    size_t n = 0;
    for (size_t i = 0; i < argc && i < PD_STAMP_ARGV_MAX; i++)
        args[n++] = argv[i];
    args[n++] = opt_i;
    args[n++] = opt_f;
    args[n++] = from;
    args[n++] = dashes;
    args[n++] = to;
    args[n] = NULL;

    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pfd[0], 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    /* Nothing else of postaged's (listening sockets, the MTAs'
     * connections, the store) is the child's business. */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
    /* The child starts with the default SIGPIPE (postaged ignores it) and
     * no blocked signals. */
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, dfl;
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &dfl);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int rc = posix_spawn(&pid, args[0], &fa, &attr, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(pfd[0]);
    if (rc != 0) {
        close(pfd[1]);
        snprintf(err, errlen, "cannot run %.200s: %s", args[0], strerror(rc));
        return -1;
    }
    fcntl(pfd[1], F_SETFL, O_NONBLOCK);
    int wrote = write_all(pfd[1], headers, hlen, deadline_ms) == 0 &&
                write_all(pfd[1], "X-Hashcash: ", 12, deadline_ms) == 0 &&
                write_all(pfd[1], stamp, strlen(stamp), deadline_ms) == 0 &&
                write_all(pfd[1], "\n\n", 2, deadline_ms) == 0 &&
                write_body(pfd[1], body, blen, deadline_ms) == 0;
    int write_errno = errno;
    close(pfd[1]);

    /* Wait for the child until the deadline, then kill it: a sendmail
     * that hangs must not hold the message (it would otherwise hold the
     * MTA's milter timeout too). */
    int status = 0, done = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            done = 1;
            break;
        }
        if (w < 0 && errno != EINTR)
            break;
        if (pd_dns_now_ms() >= deadline_ms)
            break;
        usleep(2000);
    }
    if (!done) {
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        snprintf(err, errlen, "%.200s killed after the time allowed", args[0]);
        return -1;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        if (wrote)
            return 0;
        snprintf(err, errlen, "writing to %.200s: %s", args[0], strerror(write_errno));
    } else if (WIFEXITED(status)) {
        snprintf(err, errlen, "%.200s exited with status %d", args[0], WEXITSTATUS(status));
    } else {
        snprintf(err, errlen, "%.200s killed by signal %d", args[0],
                 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    }
    return -1;
}
