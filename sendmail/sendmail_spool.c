/*
 * sendmail_spool.c - the crash-safe spool of postage-sendmail
 * (sendmail_spool.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/fileio.h"
#include "sendmail/sendmail_spool.h"

int
spool_prepare(const char *dir)
{
    static const char *const subs[] = { "tmp", "new", "failed" };
    char path[4200];
    if (cli_mkdir_parents(dir, 0700) != 0)
        return -1;
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, subs[i]);
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return -1;
    }
    return 0;
}

static void
sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int
spool_add(const char *dir, int stamped, int argc, const char *const *argv,
          const struct spool_source *src, char *path, size_t pathlen, char *err, size_t errlen)
{
    char name[128], tmp[4300], head[64];
    struct timespec ts;
    static unsigned long seq;

    if (argc < 0 || argc > SPOOL_ARGS_MAX) {
        snprintf(err, errlen, "too many sendmail arguments to spool");
        return -1;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(name, sizeof name, "%lld.%09ld.%ld.%lu", (long long) ts.tv_sec, ts.tv_nsec,
             (long) getpid(), ++seq);
    snprintf(tmp, sizeof tmp, "%s/tmp/%s", dir, name);
    if (snprintf(path, pathlen, "%s/new/%s", dir, name) >= (int) pathlen) {
        snprintf(err, errlen, "spool path too long");
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    int n = snprintf(head, sizeof head, "postage-spool 1\nstamped %d\nargc %d\n", stamped ? 1 : 0,
                     argc);
    int bad = cli_write_all(fd, head, (size_t) n);
    for (int i = 0; !bad && i < argc; i++)
        bad = cli_write_all(fd, argv[i], strlen(argv[i]) + 1);
    bad = bad || cli_write_all(fd, "\n", 1);
    if (!bad && src->prefix != NULL)
        bad = cli_write_all(fd, src->prefix, src->prefix_len);
    char buf[65536];
    off_t at = src->offset;
    while (!bad) {
        ssize_t r = pread(src->fd, buf, sizeof buf, at);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            bad = 1;
        if (r <= 0)
            break;
        bad = cli_write_all(fd, buf, (size_t) r);
        at += r;
    }
    if (bad || fsync(fd) != 0) {
        snprintf(err, errlen, "writing %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    char newdir[4200];
    snprintf(newdir, sizeof newdir, "%s/new", dir);
    sync_dir(newdir);
    return 0;
}

/* Read exactly len bytes at the current offset. */
static int
read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t r = read(fd, p, len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        len -= (size_t) r;
    }
    return 0;
}

/* One "\n"-terminated line of at most size-1 bytes. */
static int
read_line(int fd, char *buf, size_t size)
{
    size_t n = 0;
    while (n + 1 < size) {
        if (read_all(fd, buf + n, 1) != 0)
            return -1;
        if (buf[n] == '\n') {
            buf[n] = '\0';
            return 0;
        }
        n++;
    }
    return -1;
}

void
spool_close(struct spool_entry *e)
{
    if (e->fd >= 0)
        close(e->fd);   /* releases the lock */
    e->fd = -1;
    free(e->argv);
    free(e->arg_bytes);
    e->argv = NULL;
    e->arg_bytes = NULL;
}

int
spool_open(const char *path, struct spool_entry *e, char *err, size_t errlen)
{
    char line[64];
    int argc = -1, stamped = -1;

    memset(e, 0, sizeof *e);
    e->fd = -1;
    snprintf(e->path, sizeof e->path, "%s", path);
    e->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (e->fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(e->fd, LOCK_EX | LOCK_NB) != 0) {
        close(e->fd);
        e->fd = -1;
        return 1;
    }
    if (read_line(e->fd, line, sizeof line) != 0 || strcmp(line, "postage-spool 1") != 0 ||
        read_line(e->fd, line, sizeof line) != 0 || sscanf(line, "stamped %d", &stamped) != 1 ||
        (stamped != 0 && stamped != 1) || read_line(e->fd, line, sizeof line) != 0 ||
        sscanf(line, "argc %d", &argc) != 1 || argc < 0 || argc > SPOOL_ARGS_MAX) {
        snprintf(err, errlen, "%s: not a postage-sendmail spool entry", path);
        spool_close(e);
        return -1;
    }
    /* The arguments: argc NUL-terminated strings, then "\n". */
    size_t cap = 4096, len = 0;
    int seen = 0;
    e->arg_bytes = malloc(cap);
    while (e->arg_bytes != NULL && seen < argc) {
        if (len + 1 > cap) {
            if (cap >= SPOOL_ARG_BYTES_MAX)
                break;
            char *bigger = realloc(e->arg_bytes, cap * 2);
            if (bigger == NULL)
                break;
            e->arg_bytes = bigger;
            cap *= 2;
        }
        if (read_all(e->fd, e->arg_bytes + len, 1) != 0)
            break;
        if (e->arg_bytes[len++] == '\0')
            seen++;
    }
    char nl;
    e->argv = calloc((size_t) argc + 2, sizeof *e->argv);
    if (seen != argc || e->argv == NULL || read_all(e->fd, &nl, 1) != 0 || nl != '\n') {
        snprintf(err, errlen, "%s: damaged spool entry (arguments)", path);
        spool_close(e);
        return -1;
    }
    static char name[] = "sendmail";
    e->argv[0] = name;
    char *p = e->arg_bytes;
    for (int i = 0; i < argc; i++) {
        e->argv[i + 1] = p;
        p += strlen(p) + 1;
    }
    e->argc = argc + 1;
    e->stamped = stamped;
    e->message_offset = lseek(e->fd, 0, SEEK_CUR);
    return 0;
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

int
spool_list(const char *dir, char ***paths)
{
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/new", dir);
    *paths = NULL;
    DIR *d = opendir(sub);
    if (d == NULL)
        return errno == ENOENT ? 0 : -1;
    int n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **bigger = realloc(*paths, (size_t) cap * sizeof *bigger);
            if (bigger == NULL)
                break;
            *paths = bigger;
        }
        size_t len = strlen(sub) + strlen(de->d_name) + 2;
        if (((*paths)[n] = malloc(len)) == NULL)
            break;
        snprintf((*paths)[n], len, "%s/%s", sub, de->d_name);
        n++;
    }
    closedir(d);
    /* Names start with the time they were spooled: oldest first. */
    if (n > 0)
        qsort(*paths, (size_t) n, sizeof **paths, by_name);
    return n;
}

void
spool_list_free(char **paths, int n)
{
    for (int i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

int
spool_fail(const char *dir, const char *path)
{
    char to[4300];
    const char *base = strrchr(path, '/');
    snprintf(to, sizeof to, "%s/failed/%s", dir, base ? base + 1 : path);
    return rename(path, to);
}
