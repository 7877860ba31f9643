/*
 * store_probe.c - one long-lived double-spend store handle, driven line by
 * line, for the shell tests of what a daemon sees when its store goes
 * away and comes back (tests/system/store_redis.sh).
 *
 *     store_probe [--lazy] SPEC
 *
 * Reads commands on standard input, one per line, and answers each with
 * one line on standard output (flushed):
 *     spend STAMP     ok | spent | store MS MESSAGE | invalid MS MESSAGE
 *     is_spent STAMP  the same, "ok" meaning not spent
 *     count           count N | store MS MESSAGE
 *     quit            (exits 0; so does end of input)
 * MS is how long the call took, in milliseconds, for every answer:
 * "ok 3", "store 201 spend: redis ...".  The store's notifications go to
 * standard error as "down: WHY" and "up: WHY", one line each.  Uses only
 * the public API (libpostage), so it also proves what the library exports.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "postage.h"

static void
notified(void *ctx, int up, const char *why)
{
    (void) ctx;
    fprintf(stderr, "%s: %s\n", up ? "up" : "down", why);
    fflush(stderr);
}

static long
elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (long) ((t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000);
}

static void
answer(postage_store *s, int rc, const struct timespec *t0)
{
    long ms = elapsed_ms(t0);

    switch (rc) {
    case POSTAGE_OK: printf("ok %ld\n", ms); break;
    case POSTAGE_ERR_SPENT: printf("spent %ld\n", ms); break;
    case POSTAGE_ERR_STORE: printf("store %ld %s\n", ms, postage_store_error(s)); break;
    case POSTAGE_ERR_INVALID: printf("invalid %ld %s\n", ms, postage_store_error(s)); break;
    default: printf("status%d %ld %s\n", rc, ms, postage_store_error(s)); break;
    }
}

int
main(int argc, char **argv)
{
    char line[4096], err[POSTAGE_STORE_ERRLEN];
    postage_store *s = NULL;
    unsigned flags = 0;
    int i = 1, rc;

    if (i < argc && strcmp(argv[i], "--lazy") == 0) {
        flags |= POSTAGE_STORE_LAZY;
        i++;
    }
    if (i + 1 != argc) {
        fprintf(stderr, "usage: store_probe [--lazy] SPEC\n");
        return 2;
    }
    rc = postage_store_open(argv[i], flags, &s, err, sizeof err);
    if (rc != POSTAGE_OK) {
        fprintf(stderr, "store_probe: cannot open the store: %s\n", err);
        return 1;
    }
    postage_store_set_notify(s, notified, NULL);

    while (fgets(line, sizeof line, stdin) != NULL) {
        struct timespec t0;
        size_t n = strcspn(line, "\r\n");

        line[n] = '\0';
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (strncmp(line, "spend ", 6) == 0) {
            answer(s, postage_store_spend(s, line + 6, n - 6, INT64_C(4102444800)), &t0);
        } else if (strncmp(line, "is_spent ", 9) == 0) {
            answer(s, postage_store_is_spent(s, line + 9, n - 9), &t0);
        } else if (strcmp(line, "count") == 0) {
            uint64_t c = 0;
            rc = postage_store_count(s, &c);
            if (rc == POSTAGE_OK)
                printf("count %llu\n", (unsigned long long) c);
            else
                answer(s, rc, &t0);
        } else if (strcmp(line, "quit") == 0) {
            break;
        } else {
            printf("unknown command\n");
        }
        fflush(stdout);
    }
    postage_store_close(s);
    return 0;
}
