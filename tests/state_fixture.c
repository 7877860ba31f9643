/*
 * state_fixture.c - temporary state stores for the policy module tests.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/state_fixture.h"

char fixture_dir[4096];
char fixture_spec[4200];

static int
rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void) sb;
    (void) type;
    (void) ftw;
    return remove(path);
}

void
fixture_setup(const char *name)
{
    const char *base = getenv("TMPDIR");

    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    snprintf(fixture_dir, sizeof fixture_dir, "%s/%s.XXXXXX", base, name);
    ck_assert_msg(mkdtemp(fixture_dir) != NULL, "mkdtemp %s: %s", fixture_dir, strerror(errno));
    snprintf(fixture_spec, sizeof fixture_spec, "lmdb:%s/db", fixture_dir);
}

void
fixture_teardown(void)
{
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
