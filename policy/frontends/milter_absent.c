/*
 * milter_absent.c - postaged's milter front-end in a build without it
 * (configure --without-milter).
 *
 * postaged refuses a non-empty milter_listen before it gets here (and its
 * default is empty in such a build), so these are never reached with a
 * socket to serve; they fail, and say why, should that ever change.
 */
#include "config.h"

#include <stdio.h>

#include "policy/frontends/milter.h"

int
pd_milter_open(const char *spec, char *err, size_t errlen)
{
    snprintf(err, errlen, "cannot listen on %s: postaged was built without milter support "
             "(configure --with-milter)", spec);
    return -1;
}

int
pd_milter_run(struct pd_engine_slot *engines)
{
    (void) engines;
    return -1;
}

void
pd_milter_stop(void)
{
}

void
pd_milter_close(void)
{
}
