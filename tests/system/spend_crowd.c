/*
 * spend_crowd.c - many threads spending stamps from one store handle at
 * once, so that their spends are group-committed (kv_lmdb_write_grouped),
 * for tests/system/fault_kill9.sh: killed with SIGKILL in the middle, every
 * stamp it answered "ok" must be found spent afterwards, and none paid
 * twice.
 *
 *     spend_crowd SPEC THREADS K < STAMPS
 *
 * STAMPS: one stamp a line (at most 1023 bytes; longer lines are refused).
 * Each of THREADS threads (1 .. 64) takes the next K lines (1 .. 16) and
 * spends them: K = 1 with postage_store_spend, K > 1 with one
 * postage_store_spend_many call (a message's stamps).  Only once the call
 * has returned does it print each stamp's answer, "STAMP ok" or "STAMP
 * spent" (postage-verify's words), and flush: a line on standard output
 * is an acknowledged answer.  Stamps are not checked, only spent (they
 * expire never).  Exits 0 at the end of input, 1 if the store failed
 * (the reason on standard error), 2 on bad usage.  Public API only.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "postage.h"

#define LINE_MAX_ 1024
#define K_MAX 16

static pthread_mutex_t in_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static postage_store *store;
static unsigned k_per_call;
static int failed;

/* The next line of standard input, without its newline: 1, or 0 at the
 * end (in_lock held). */
static int
next_line(char *buf)
{
    size_t len;

    if (fgets(buf, LINE_MAX_, stdin) == NULL)
        return 0;
    len = strlen(buf);
    if (len > 0 && buf[len - 1] == '\n')
        buf[--len] = '\0';
    else if (!feof(stdin)) {
        fprintf(stderr, "spend_crowd: a line is longer than %d bytes\n", LINE_MAX_ - 1);
        exit(2);
    }
    return 1;
}

static void *
spender(void *arg)
{
    char text[K_MAX][LINE_MAX_];
    struct postage_store_spend_item it[K_MAX];
    unsigned n, i;
    int rc;

    (void) arg;
    for (;;) {
        pthread_mutex_lock(&in_lock);
        for (n = 0; n < k_per_call && next_line(text[n]); n++)
            ;
        pthread_mutex_unlock(&in_lock);
        if (n == 0)
            return NULL;
        for (i = 0; i < n; i++)
            it[i] = (struct postage_store_spend_item) { text[i], strlen(text[i]),
                                                        POSTAGE_NEVER_EXPIRES, 0 };
        if (k_per_call == 1)
            rc = it[0].result = postage_store_spend(store, text[0], it[0].len,
                                                    POSTAGE_NEVER_EXPIRES);
        else
            rc = postage_store_spend_many(store, it, n);
        pthread_mutex_lock(&out_lock);
        if (rc != POSTAGE_OK && rc != POSTAGE_ERR_SPENT) {
            fprintf(stderr, "spend_crowd: %s\n", postage_store_error(store));
            failed = 1;
        } else {
            for (i = 0; i < n; i++)
                printf("%s %s\n", text[i], it[i].result == POSTAGE_OK ? "ok" : "spent");
            fflush(stdout);
        }
        pthread_mutex_unlock(&out_lock);
    }
}

int
main(int argc, char **argv)
{
    pthread_t th[64];
    char err[POSTAGE_STORE_ERRLEN];
    unsigned threads, t;

    if (argc != 4) {
        fprintf(stderr, "usage: spend_crowd SPEC THREADS K < STAMPS\n");
        return 2;
    }
    threads = (unsigned) strtoul(argv[2], NULL, 10);
    k_per_call = (unsigned) strtoul(argv[3], NULL, 10);
    if (threads < 1 || threads > 64 || k_per_call < 1 || k_per_call > K_MAX) {
        fprintf(stderr, "spend_crowd: THREADS must be 1 .. 64 and K 1 .. %d\n", K_MAX);
        return 2;
    }
    if (postage_store_open(argv[1], POSTAGE_STORE_NOCREATE, &store, err, sizeof err)
        != POSTAGE_OK) {
        fprintf(stderr, "spend_crowd: %s\n", err);
        return 1;
    }
    for (t = 0; t < threads; t++)
        if (pthread_create(&th[t], NULL, spender, NULL) != 0) {
            fprintf(stderr, "spend_crowd: cannot start thread %u\n", t);
            return 1;
        }
    for (t = 0; t < threads; t++)
        pthread_join(th[t], NULL);
    postage_store_close(store);
    return failed;
}
