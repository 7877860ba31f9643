/*
 * rep_seed.c - put known reputation records into a state store, for the
 * tests of postage-reputation (tests/system/reputation_admin.sh).
 *
 *   rep_seed STORE TIME IDENTITY [NAME=VALUE]...
 *
 * applies one pd_rep_apply at TIME (Unix seconds) to IDENTITY with the
 * default reputation parameters, adding VALUE to the counter NAME (as
 * pd_rep_counter_name spells it: accepted, rate, helo_failures, ...) or,
 * for NAME "messages", to the lifetime total.  The store is created if
 * missing, as postaged would.
 *
 *   rep_seed STORE TIME IDENTITY --raw HEX
 *
 * stores the bytes HEX (at most PD_ST_VALUE_MAX) as IDENTITY's value
 * instead, live for a day from TIME: a damaged or foreign record.
 *
 * Exit 0 done, 1 store failure, 2 usage.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/checks/reputation.h"
#include "policy/engine/settings.h"
#include "policy/state/state.h"
#include "util/hex.h"

#define VALUE_MAX 1e9

static int
usage(void)
{
    fprintf(stderr, "usage: rep_seed STORE TIME IDENTITY [NAME=VALUE]...\n"
                    "       rep_seed STORE TIME IDENTITY --raw HEX\n"
                    "  NAME: a counter (accepted, rate, ...) or messages\n");
    return 2;
}

struct raw {
    unsigned char bytes[PD_ST_VALUE_MAX];
    size_t len;
};

static int
parse_hex(const char *text, struct raw *out)
{
    size_t n = strlen(text);

    if (n % 2 != 0 || n / 2 > sizeof out->bytes)
        return -1;
    if (hex_decode(text, n / 2, out->bytes) != 0)
        return -1;
    out->len = n / 2;
    return 0;
}

static enum pd_st_op
put_raw(void *ctx, int64_t now, const unsigned char *cur, size_t curlen, unsigned char *out,
        size_t *outlen, int64_t *expires_at)
{
    const struct raw *r = ctx;

    (void) cur;
    (void) curlen;
    memcpy(out, r->bytes, r->len);
    *outlen = r->len;
    *expires_at = now + 86400;
    return PD_ST_PUT;
}

/* A whole or fractional number in [0, VALUE_MAX]. */
static int
parse_value(const char *text, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(text, &end);
    return errno == 0 && end != text && *end == '\0' && isfinite(*out) && *out >= 0 &&
                   *out <= VALUE_MAX
               ? 0
               : -1;
}

int
main(int argc, char **argv)
{
    struct pd_rep_params params;
    struct pd_rep_delta delta;
    struct pd_state *st;
    char err[PD_ST_ERRLEN];
    long long when;
    char *end;
    int rc;

    if (argc < 4)
        return usage();
    errno = 0;
    when = strtoll(argv[2], &end, 10);
    if (errno != 0 || end == argv[2] || *end != '\0' || when <= 0) {
        fprintf(stderr, "rep_seed: TIME '%s' is not Unix seconds\n", argv[2]);
        return 2;
    }
    if (argv[3][0] == '\0' || strlen(argv[3]) >= PD_REP_ID_MAX) {
        fprintf(stderr, "rep_seed: IDENTITY must be 1 to %d bytes\n", PD_REP_ID_MAX - 1);
        return 2;
    }
    static struct raw raw;
    int use_raw = argc > 4 && strcmp(argv[4], "--raw") == 0;
    if (use_raw && (argc != 6 || parse_hex(argv[5], &raw) != 0)) {
        fprintf(stderr, "rep_seed: --raw takes one HEX value of at most %d bytes\n",
                PD_ST_VALUE_MAX);
        return 2;
    }
    memset(&delta, 0, sizeof delta);
    for (int i = 4; i < argc && !use_raw; i++) {
        const char *eq = strchr(argv[i], '=');
        size_t len = eq ? (size_t) (eq - argv[i]) : 0;
        double v;
        int c;

        if (eq == NULL || parse_value(eq + 1, &v) != 0) {
            fprintf(stderr, "rep_seed: '%s' is not NAME=VALUE (0 .. 1e9)\n", argv[i]);
            return 2;
        }
        if (len == 8 && strncmp(argv[i], "messages", 8) == 0) {
            delta.messages += (uint32_t) v;
            continue;
        }
        for (c = 0; c < PD_REP_COUNTERS; c++) {
            const char *name = pd_rep_counter_name((enum pd_rep_counter) c);
            if (strlen(name) == len && strncmp(argv[i], name, len) == 0)
                break;
        }
        if (c == PD_REP_COUNTERS) {
            fprintf(stderr, "rep_seed: unknown counter in '%s'\n", argv[i]);
            return 2;
        }
        delta.counter[c] += v;
    }

    pd_settings_rep_defaults(&params);
    if (pd_state_open(argv[1], 0, &st, err, sizeof err) != PD_ST_OK) {
        fprintf(stderr, "rep_seed: %s\n", err);
        return 1;
    }
    if (use_raw)
        rc = pd_state_update(st, PD_TABLE_REPUTATION, argv[3], strlen(argv[3]), (int64_t) when,
                             put_raw, &raw);
    else
        rc = pd_rep_apply(st, &params, argv[3], (int64_t) when, &delta);
    if (rc != PD_ST_OK) {
        pd_state_error(st, err, sizeof err);
        fprintf(stderr, "rep_seed: %s: %s\n", argv[3], err);
    }
    pd_state_close(st);
    return rc == PD_ST_OK ? 0 : 1;
}
