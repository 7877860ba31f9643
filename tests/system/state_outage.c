/*
 * state_outage.c - one state store handle kept open across a Redis outage,
 * driven line by line by tests/system/state_redis.sh, which stops and starts the
 * server in between.  Usage: state_outage SPEC.  It opens SPEC (which must
 * work whether or not the server is up), sets an outage callback, then
 * answers each command read from standard input with one line:
 *
 *   ok           one update: "ok COUNTER", or "fail RC ERROR"
 *   fail         40 calls (update, get, scan, count) that must all fail
 *                with PD_ST_ERR_BACKEND: "failed MAX_MS ERROR" (the
 *                slowest call, and the last error text), or "unexpected
 *                ..." if one did not fail
 *   wait-ok SECS updates every 50 ms until one works: "ok MS" (how long it
 *                took), or "timeout ERROR"
 *   notes        "down=N up=M": how often the callback was told each
 *   quit         closes the handle and exits
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/state/state.h"

#define NOW 1700000000LL

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int downs, ups;

static void
notify(void *ctx, int up, const char *why)
{
    (void) ctx;
    pthread_mutex_lock(&lock);
    if (up)
        ups++;
    else
        downs++;
    pthread_mutex_unlock(&lock);
    fprintf(stderr, "state_outage: told %s: %s\n", up ? "up" : "down", why);
}

static double
ms_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static enum pd_st_op
incr(void *ctx, int64_t now, const unsigned char *cur, size_t curlen, unsigned char *out,
     size_t *outlen, int64_t *expires_at)
{
    uint32_t v = (cur != NULL && curlen == 4) ? pd_st_get_u32(cur) : 0;

    *(uint32_t *) ctx = v + 1;
    pd_st_put_u32(out, v + 1);
    *outlen = 4;
    *expires_at = now + 3600;
    return PD_ST_PUT;
}

static int
list_nothing(void *ctx, const void *key, size_t keylen, const unsigned char *val,
             size_t vallen, int64_t expires_at)
{
    (void) ctx; (void) key; (void) keylen; (void) val; (void) vallen; (void) expires_at;
    return 0;
}

int
main(int argc, char **argv)
{
    struct pd_state *st = NULL;
    char line[256], err[PD_ST_ERRLEN];
    uint32_t after = 0;
    uint64_t n;
    int rc;

    if (argc != 2) {
        fprintf(stderr, "usage: state_outage SPEC\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    rc = pd_state_open(argv[1], 0, &st, err, sizeof err);
    if (rc != PD_ST_OK) {
        printf("open-failed %d %s\n", rc, err);
        return 1;
    }
    pd_state_set_notify(st, notify, NULL);
    printf("open\n");
    while (fgets(line, sizeof line, stdin) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strcmp(line, "ok") == 0) {
            rc = pd_state_update(st, PD_TABLE_QUOTA, "outage", 6, NOW, incr, &after);
            pd_state_error(st, err, sizeof err);
            if (rc == PD_ST_OK)
                printf("ok %u\n", (unsigned) after);
            else
                printf("fail %d %s\n", rc, err);
        } else if (strcmp(line, "fail") == 0) {
            double worst = 0, t, d;
            int i, bad = 0;

            for (i = 0; i < 10 && !bad; i++) {
                t = ms_now();
                bad |= pd_state_update(st, PD_TABLE_QUOTA, "outage", 6, NOW, incr, &after)
                       != PD_ST_ERR_BACKEND;
                bad |= pd_state_get(st, PD_TABLE_QUOTA, "outage", 6, NOW, NULL, 0, NULL, NULL)
                       != PD_ST_ERR_BACKEND;
                bad |= pd_state_scan(st, PD_TABLE_QUOTA, NOW, list_nothing, NULL)
                       != PD_ST_ERR_BACKEND;
                bad |= pd_state_count(st, PD_TABLE_QUOTA, &n) != PD_ST_ERR_BACKEND;
                d = (ms_now() - t) / 4;
                if (d > worst)
                    worst = d;
            }
            pd_state_error(st, err, sizeof err);
            if (bad)
                printf("unexpected success or status (%s)\n", err);
            else
                printf("failed %.0f %s\n", worst, err);
        } else if (strncmp(line, "wait-ok ", 8) == 0) {
            double start = ms_now(), limit = atof(line + 8) * 1e3;
            struct timespec pause = { 0, 50 * 1000 * 1000 };

            for (;;) {
                rc = pd_state_update(st, PD_TABLE_QUOTA, "outage", 6, NOW, incr, &after);
                if (rc == PD_ST_OK) {
                    printf("ok %.0f\n", ms_now() - start);
                    break;
                }
                if (ms_now() - start > limit) {
                    pd_state_error(st, err, sizeof err);
                    printf("timeout %s\n", err);
                    break;
                }
                nanosleep(&pause, NULL);
            }
        } else if (strcmp(line, "notes") == 0) {
            pthread_mutex_lock(&lock);
            printf("down=%d up=%d\n", downs, ups);
            pthread_mutex_unlock(&lock);
        } else if (strcmp(line, "quit") == 0) {
            break;
        } else {
            printf("unknown command %s\n", line);
        }
    }
    pd_state_close(st);
    return 0;
}
