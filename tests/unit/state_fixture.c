/*
 * state_fixture.c - temporary state stores for the state store's and the
 * policy modules' tests (see state_fixture.h).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/state_fixture.h"

#define EXTRA_SPECS 4

char fixture_dir[4096];
char fixture_spec[4200];
char fixture_lmdb_spec[4200];

/* Redis specifications whose keys teardown deletes. */
static char redis_specs[1 + EXTRA_SPECS][4200];
static int n_redis_specs;
static char redis_prefix[96];         /* this test's key prefix (raw)  */

static int
rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void) sb;
    (void) type;
    (void) ftw;
    return remove(path);
}

/* Append s to out, percent-encoding all but [A-Za-z0-9:._-]. */
static void
append_encoded(char *out, size_t outlen, const char *s)
{
    size_t n = strlen(out);

    for (; *s != '\0' && n + 4 < outlen; s++) {
        unsigned char c = (unsigned char) *s;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
            || c == ':' || c == '.' || c == '_' || c == '-')
            out[n++] = (char) c;
        else
            n += (size_t) snprintf(out + n, outlen - n, "%%%02X", c);
    }
    out[n] = '\0';
}

/* base with its prefix= (if any) replaced by `prefix`. */
static void
with_prefix(const char *base, const char *prefix, char *out, size_t outlen)
{
    const char *q = strchr(base, '?'), *p = NULL, *end;
    size_t n;

    if (q != NULL) {
        const char *s = q + 1;

        while (s != NULL && *s != '\0') {
            if (strncmp(s, "prefix=", 7) == 0) {
                p = s;
                break;
            }
            s = strchr(s, '&');
            if (s != NULL)
                s++;
        }
    }
    if (p == NULL) {
        snprintf(out, outlen, "%s%sprefix=", base, q == NULL ? "?" : "&");
        append_encoded(out, outlen, prefix);
        return;
    }
    end = strchr(p, '&');
    if (end == NULL)
        end = p + strlen(p);
    n = (size_t) (p - base) + 7;
    snprintf(out, outlen, "%.*s", (int) n, base);
    append_encoded(out, outlen, prefix);
    n = strlen(out);
    snprintf(out + n, outlen - n, "%s", end);
}

void
fixture_setup(const char *name)
{
    const char *base = getenv("TMPDIR");
    const char *redis = getenv("POSTAGE_TEST_REDIS");
    struct timespec ts;

    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    snprintf(fixture_dir, sizeof fixture_dir, "%s/%s.XXXXXX", base, name);
    ck_assert_msg(mkdtemp(fixture_dir) != NULL, "mkdtemp %s: %s", fixture_dir, strerror(errno));
    snprintf(fixture_lmdb_spec, sizeof fixture_lmdb_spec, "lmdb:%s/db", fixture_dir);
    snprintf(fixture_spec, sizeof fixture_spec, "%s", fixture_lmdb_spec);
    n_redis_specs = 0;
    if (redis == NULL || redis[0] == '\0')
        return;
    /* A prefix of this test's own: the program, the process (Check runs
     * each test in a child of its own) and the clock. */
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(redis_prefix, sizeof redis_prefix, "ptest:%.24s:%ld:%lx%08lx:", name,
             (long) getpid(), (unsigned long) ts.tv_sec & 0xfffffUL,
             (unsigned long) ts.tv_nsec);
    with_prefix(redis, redis_prefix, fixture_spec, sizeof fixture_spec);
    snprintf(redis_specs[0], sizeof redis_specs[0], "%s", fixture_spec);
    n_redis_specs = 1;
}

void
fixture_use_lmdb(void)
{
    snprintf(fixture_spec, sizeof fixture_spec, "%s", fixture_lmdb_spec);
    n_redis_specs = 0;
}

int
fixture_is_redis(void)
{
    return strncmp(fixture_spec, "redis", 5) == 0;
}

void
fixture_redis_spec(const char *extra, char *out, size_t outlen)
{
    char prefix[256];

    ck_assert_msg(fixture_is_redis(), "fixture_redis_spec without POSTAGE_TEST_REDIS");
    snprintf(prefix, sizeof prefix, "%s%s", redis_prefix, extra);
    with_prefix(getenv("POSTAGE_TEST_REDIS"), prefix, out, outlen);
    if (n_redis_specs < 1 + EXTRA_SPECS)
        snprintf(redis_specs[n_redis_specs++], sizeof redis_specs[0], "%s", out);
}

/* Teardown on Redis: delete every entry of every table under the test's
 * prefixes.  A scan at the earliest `now` lists dead entries too; an
 * unreachable server (a test that stopped it) is left alone. */
struct sweep {
    struct pd_state *st;
    enum pd_table table;
};

static enum pd_st_op
sweep_delete(void *ctx, int64_t now, const unsigned char *cur, size_t curlen,
             unsigned char *out, size_t *outlen, int64_t *expires_at)
{
    (void) ctx; (void) now; (void) cur; (void) curlen; (void) out; (void) outlen;
    (void) expires_at;
    return PD_ST_DELETE;
}

static int
sweep_entry(void *ctx, const void *key, size_t keylen, const unsigned char *val,
            size_t vallen, int64_t expires_at)
{
    struct sweep *s = ctx;

    (void) val; (void) vallen; (void) expires_at;
    return pd_state_update(s->st, s->table, key, keylen, INT64_MIN, sweep_delete, NULL)
           != PD_ST_OK;
}

static void
sweep_redis(const char *spec)
{
    struct sweep s;
    char err[PD_ST_ERRLEN];
    int t;

    if (pd_state_open(spec, 0, &s.st, err, sizeof err) != PD_ST_OK)
        return;
    for (t = 0; t < PD_TABLE_COUNT; t++) {
        s.table = (enum pd_table) t;
        if (pd_state_scan(s.st, s.table, INT64_MIN, sweep_entry, &s) != PD_ST_OK)
            break;
    }
    pd_state_close(s.st);
}

void
fixture_teardown(void)
{
    int i;

    for (i = 0; i < n_redis_specs; i++)
        sweep_redis(redis_specs[i]);
    n_redis_specs = 0;
    if (fixture_dir[0] != '\0')
        nftw(fixture_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    fixture_dir[0] = '\0';
}

struct pd_state *
fixture_open(unsigned flags)
{
    struct pd_state *st = NULL;
    char err[PD_ST_ERRLEN] = "";
    int rc = pd_state_open(fixture_spec, flags, &st, err, sizeof err);

    ck_assert_msg(rc == PD_ST_OK, "open %s: %d %s", fixture_spec, rc, err);
    ck_assert_ptr_nonnull(st);
    return st;
}
