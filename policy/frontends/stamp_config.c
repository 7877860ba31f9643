/*
 * stamp_config.c - the stamping milter's configuration from postaged.conf
 * (stamp_config.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/frontends/stamp_config.h"

/* stamp_clients: CIDRs separated by commas and blanks. */
static int
parse_clients(struct pd_stamp_config *c, const char *text, char *err, size_t errlen)
{
    const char *p = text;
    while (*p != '\0') {
        p += strspn(p, ", \t");
        size_t len = strcspn(p, ", \t");
        if (len == 0)
            break;
        if (c->n_clients >= PD_STAMP_CLIENTS_MAX) {
            snprintf(err, errlen, "stamp_clients: more than %d networks", PD_STAMP_CLIENTS_MAX);
            return -1;
        }
        enum pd_netaddr_status st = pd_cidr_parse(p, len, 0, &c->clients[c->n_clients]);
        if (st != PD_NETADDR_OK) {
            snprintf(err, errlen, "stamp_clients: '%.*s': %s", (int) (len > 80 ? 80 : len), p,
                     pd_netaddr_strerror(st));
            return -1;
        }
        c->n_clients++;
        p += len;
    }
    return 0;
}

/* stamp_sendmail: words separated by blanks (no quoting: a path with a
 * blank goes through a wrapper script). */
static int
parse_command(struct pd_stamp_config *c, const char *text, char *err, size_t errlen)
{
    const char *p = text;
    while (*p != '\0') {
        p += strspn(p, " \t");
        size_t len = strcspn(p, " \t");
        if (len == 0)
            break;
        if (c->sendmail_argc >= PD_STAMP_ARGV_MAX) {
            snprintf(err, errlen, "stamp_sendmail: more than %d words", PD_STAMP_ARGV_MAX);
            return -1;
        }
        if ((c->sendmail_argv[c->sendmail_argc] = strndup(p, len)) == NULL) {
            snprintf(err, errlen, "stamp_sendmail: out of memory");
            return -1;
        }
        c->sendmail_argc++;
        p += len;
    }
    if (c->sendmail_argc == 0 || c->sendmail_argv[0][0] != '/') {
        snprintf(err, errlen, "stamp_sendmail: '%.200s' does not start with an absolute path",
                 text);
        return -1;
    }
    return 0;
}

static void
config_free(struct pd_stamp_config *c)
{
    for (size_t i = 0; i < c->sendmail_argc; i++)
        free(c->sendmail_argv[i]);
    if (c->dns != NULL)
        pd_dns_free(c->dns);
    free(c);
}

struct pd_stamp_config *
pd_stamp_config_new(const struct pd_settings *s, char *err, size_t errlen)
{
    struct pd_stamp_config *c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(err, errlen, "stamping milter: out of memory");
        return NULL;
    }
    c->refs = 1;
    c->default_bits = s->stamp_default_bits;
    c->max_bits = s->stamp_max_bits;
    c->threads = s->stamp_threads;
    c->timeout_ms = (uint64_t) s->stamp_timeout * 1000;
    c->on_error = s->stamp_on_error;
    c->blind = s->stamp_blind;
    c->validity = s->stamp_validity;
    c->grace = s->stamp_grace;
    if (parse_clients(c, s->stamp_clients, err, errlen) != 0 ||
        parse_command(c, s->stamp_sendmail, err, errlen) != 0) {
        config_free(c);
        return NULL;
    }
    struct pd_dns_config dc;
    pd_settings_dns_config(s, &dc);
    char why[256];
    if ((c->dns = pd_dns_new(&dc, why, sizeof why)) == NULL) {
        snprintf(err, errlen, "stamping milter: resolver: %s", why);
        config_free(c);
        return NULL;
    }
    return c;
}

struct pd_stamp_config *
pd_stamp_config_ref(struct pd_stamp_config *c)
{
    __atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
    return c;
}

void
pd_stamp_config_unref(struct pd_stamp_config *c)
{
    if (c != NULL && __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0)
        config_free(c);
}
