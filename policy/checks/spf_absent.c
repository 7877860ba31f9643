/*
 * spf_absent.c - the SPF module's interface (policy/checks/spf.h) in a
 * build without libspf2 (configure --without-spf).
 *
 * The engine makes a checker whatever the spf setting says, and refuses
 * spf = yes in such a build (policy/engine/build.c), so a checker here
 * is an empty object that is never asked to check.  Should it be, every
 * message is "not checked" (no identity), is accepted and gets no header.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "policy/checks/spf.h"

struct pd_spf_checker {
    int unused;
};

void
pd_spf_config_init(struct pd_spf_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
}

struct pd_spf_checker *
pd_spf_new(const struct pd_spf_config *cfg, char *err, size_t errlen)
{
    (void) cfg;
    if (errlen > 0)
        err[0] = '\0';
    return calloc(1, sizeof(struct pd_spf_checker));
}

void
pd_spf_free(struct pd_spf_checker *checker)
{
    free(checker);
}

void
pd_spf_check(struct pd_spf_checker *checker, const char *client_address, const char *helo,
             const char *sender, struct pd_spf_outcome *out)
{
    (void) checker, (void) client_address, (void) helo, (void) sender;
    memset(out, 0, sizeof *out);
    out->skip = PD_SPF_SKIP_NO_IDENTITY;
}

void
pd_spf_decide(const struct pd_spf_checker *checker, const struct pd_spf_outcome *outcome,
              struct pd_spf_verdict *verdict)
{
    (void) checker, (void) outcome;
    memset(verdict, 0, sizeof *verdict);
    verdict->action = PD_SPF_ACT_ACCEPT;
}

bool
pd_spf_header(const struct pd_spf_checker *checker, const struct pd_spf_outcome *outcome,
              const char **name, char *buf, size_t cap)
{
    (void) checker, (void) outcome, (void) name, (void) buf, (void) cap;
    return false;
}

const char *
pd_spf_result_name(enum pd_spf_result result)
{
    (void) result;
    return "none";
}

const char *
pd_spf_skip_name(enum pd_spf_skip skip)
{
    (void) skip;
    return "not built";
}
