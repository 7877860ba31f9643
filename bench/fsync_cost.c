/*
 * fsync_cost.c - what one durable write costs on a file system: a loop
 * of pwrite + fdatasync, for bench/spend_group.sh, so the spends/s of
 * group commit can be set against the floor the disk puts under every
 * commit (a commit of the LMDB store costs at least one fdatasync).
 *
 * Usage: fsync_cost DIR COUNT
 *   Three loops of COUNT rounds on a scratch file in DIR (removed after):
 *   "overwrite": rewrite one 4 KiB page of a file whose blocks are
 *   already written and synced (only data reaches the disk: one flush);
 *   "overwrite12": rewrite 12 pages scattered over the file, then one
 *   fdatasync (what a commit that dirtied a dozen B-tree pages syncs:
 *   eight spends of random keys touch about that many);
 *   "append": write the next 4 KiB page at the end, so the file grows
 *   and each fdatasync must also commit the new size (as an LMDB commit
 *   that extends data.mdb does).
 * The loops take turns in ten chunks, so that a change in the disk's
 * load falls on each alike.  Prints one line per loop: "MODE rounds N
 * us_per_sync X syncs_per_s Y".
 * A measuring tool, not a test.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define SPAN 64                         /* pages the overwrite loop cycles */

static double
now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

#define CHUNKS 10

/* Rounds [from, to) of a loop; pages: how many pages each round writes
 * before its one fdatasync.  Adds the time taken to *secs; 0 or 1. */
static int
loop(int fd, int append, unsigned pages, unsigned from, unsigned to, double *secs)
{
    static char page[PAGE];
    double t0 = now_seconds();
    off_t base = append ? (off_t) SPAN * PAGE : 0;

    for (unsigned i = from; i < to; i++) {
        for (unsigned p = 0; p < pages; p++) {
            /* Scattered: every fifth page (5 is prime to SPAN's 64). */
            unsigned slot = (i * pages + p) * 5 % SPAN;
            off_t at = append ? base + (off_t) i * PAGE : (off_t) slot * PAGE;

            page[(i + p) % PAGE] ^= 1;
            if (pwrite(fd, page, PAGE, at) != PAGE) {
                perror("fsync_cost: write");
                return 1;
            }
        }
        if (fdatasync(fd) != 0) {
            perror("fsync_cost: fdatasync");
            return 1;
        }
    }
    *secs += now_seconds() - t0;
    return 0;
}

int
main(int argc, char **argv)
{
    static char page[PAGE];
    char path[4096];
    unsigned count;
    static const struct { const char *name; int append; unsigned pages; } modes[] = {
        { "overwrite", 0, 1 }, { "overwrite12", 0, 12 }, { "append", 1, 1 },
    };
    double secs[3] = { 0, 0, 0 };
    int fd;

    if (argc != 3 || (count = (unsigned) strtoul(argv[2], NULL, 10)) == 0) {
        fprintf(stderr, "usage: fsync_cost DIR COUNT\n");
        return 2;
    }
    if (snprintf(path, sizeof path, "%s/fsync_cost.XXXXXX", argv[1]) >= (int) sizeof path) {
        fprintf(stderr, "fsync_cost: DIR too long\n");
        return 2;
    }
    fd = mkstemp(path);
    if (fd < 0) {
        perror("fsync_cost: mkstemp");
        return 1;
    }
    unlink(path);
    /* The overwrite loop's pages: written and synced once, before timing. */
    for (unsigned i = 0; i < SPAN; i++)
        if (pwrite(fd, page, PAGE, (off_t) i * PAGE) != PAGE) {
            perror("fsync_cost: write");
            return 1;
        }
    if (fsync(fd) != 0) {
        perror("fsync_cost: fsync");
        return 1;
    }
    for (unsigned c = 0; c < CHUNKS; c++)
        for (unsigned m = 0; m < 3; m++)
            if (loop(fd, modes[m].append, modes[m].pages, count * c / CHUNKS,
                     count * (c + 1) / CHUNKS, &secs[m]) != 0) {
                close(fd);
                return 1;
            }
    close(fd);
    for (unsigned m = 0; m < 3; m++)
        printf("%s rounds %u us_per_sync %.0f syncs_per_s %.0f\n", modes[m].name, count,
               secs[m] / count * 1e6, count / secs[m]);
    return 0;
}
