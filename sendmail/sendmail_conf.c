/*
 * sendmail_conf.c - reading postage-sendmail's configuration file
 * (sendmail_conf.h).  Lines are `key = value`; `#` starts a comment line.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "sendmail/sendmail_conf.h"

#define LINE_MAX_LEN 2048

void
smc_defaults(struct smc_conf *c, const char *spool_default)
{
    memset(c, 0, sizeof *c);
    snprintf(c->sendmail, sizeof c->sendmail, "/usr/sbin/sendmail");
    c->default_bits = SMC_DEFAULT_BITS;
    c->max_bits = SMC_DEFAULT_MAX_BITS;
    snprintf(c->dns_server, sizeof c->dns_server, "system");
    c->dns_timeout = 5;
    c->time_budget = 10;
    snprintf(c->spool, sizeof c->spool, "%s", spool_default);
    c->on_mint_failure = SMC_SEND;
    c->sendmail_timeout = 300;
}

void
smc_free(struct smc_conf *c)
{
    free(c->rules);
    c->rules = NULL;
    c->n_rules = 0;
}

static char *
trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static int
parse_uint(const char *v, unsigned max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (*v < '0' || *v > '9' || *end != '\0' || errno != 0 || n > max)
        return -1;
    *out = (unsigned) n;
    return 0;
}

static int
parse_seconds(const char *v, double max, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    /* the bound is checked once the unit is known (500ms) */
    if (*v < '0' || *v > '9' || errno != 0 || !(d >= 0))
        return -1;
    if (*end == 's' && end[1] == '\0')
        end++;
    else if (end[0] == 'm' && end[1] == 's' && end[2] == '\0') {
        d /= 1000;
        end += 2;
    } else if (*end == 'm' && end[1] == '\0') {
        d *= 60;
        end++;
    } else if (*end == 'h' && end[1] == '\0') {
        d *= 3600;
        end++;
    }
    if (*end != '\0' || d > max)
        return -1;
    *out = d;
    return 0;
}

static int
parse_bool(const char *v, int *out)
{
    if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0)
        *out = 1;
    else if (strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0)
        *out = 0;
    else
        return -1;
    return 0;
}

/* "PATTERN BITS" */
static int
add_rule(struct smc_conf *c, const char *v, char *why, size_t whylen)
{
    char pattern[sizeof c->rules[0].pattern];
    unsigned bits;
    const char *sp = strpbrk(v, " \t");
    if (sp == NULL || (size_t) (sp - v) >= sizeof c->rules[0].pattern) {
        snprintf(why, whylen, "expected PATTERN BITS, e.g. '@example.org 24'");
        return -1;
    }
    memcpy(pattern, v, (size_t) (sp - v));
    pattern[sp - v] = '\0';
    while (*sp == ' ' || *sp == '\t')
        sp++;
    if (parse_uint(sp, 160, &bits) != 0) {
        snprintf(why, whylen, "'%.40s' is not a number of bits 0-160", sp);
        return -1;
    }
    if (strcmp(pattern, "*") != 0 && strchr(pattern, '@') == NULL && pattern[0] != '.') {
        snprintf(why, whylen, "'%.80s' is not user@domain, @domain, .domain or *", pattern);
        return -1;
    }
    if (c->n_rules >= SMC_RULES_MAX) {
        snprintf(why, whylen, "more than %d bits rules", SMC_RULES_MAX);
        return -1;
    }
    struct smc_rule *r = realloc(c->rules, (c->n_rules + 1) * sizeof *r);
    if (r == NULL) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    c->rules = r;
    snprintf(r[c->n_rules].pattern, sizeof r[c->n_rules].pattern, "%s", pattern);
    r[c->n_rules].bits = bits;
    c->n_rules++;
    return 0;
}

static int
set_key(struct smc_conf *c, const char *k, const char *v, char *why, size_t whylen)
{
    int b;
    if (strcmp(k, "sendmail") == 0) {
        if (v[0] != '/' || strlen(v) >= sizeof c->sendmail) {
            snprintf(why, whylen, "sendmail must be an absolute path");
            return -1;
        }
        snprintf(c->sendmail, sizeof c->sendmail, "%s", v);
    } else if (strcmp(k, "spool") == 0) {
        if (v[0] != '/' || strlen(v) >= sizeof c->spool) {
            snprintf(why, whylen, "spool must be an absolute path");
            return -1;
        }
        snprintf(c->spool, sizeof c->spool, "%s", v);
    } else if (strcmp(k, "bits") == 0) {
        return add_rule(c, v, why, whylen);
    } else if (strcmp(k, "default_bits") == 0) {
        if (parse_uint(v, 160, &c->default_bits) != 0) {
            snprintf(why, whylen, "'%.40s' is not a number of bits 0-160", v);
            return -1;
        }
    } else if (strcmp(k, "max_bits") == 0) {
        /* a record asks at most 40 (price_record.h) */
        if (parse_uint(v, 40, &c->max_bits) != 0) {
            snprintf(why, whylen, "'%.40s' is not a number of bits 0-40", v);
            return -1;
        }
    } else if (strcmp(k, "dns_server") == 0) {
        /* The list's syntax is the resolver's, checked when it starts
         * (a bad one then means no look-ups, with a warning). */
        if (v[0] == '\0' || strlen(v) >= sizeof c->dns_server) {
            snprintf(why, whylen, "dns_server must be system, none or a HOST:PORT list "
                     "of at most %d bytes", SMC_DNS_SERVER_MAX - 1);
            return -1;
        }
        snprintf(c->dns_server, sizeof c->dns_server, "%s", v);
    } else if (strcmp(k, "dns_timeout") == 0) {
        if (parse_seconds(v, 600, &c->dns_timeout) != 0 || c->dns_timeout < 0.001) {
            snprintf(why, whylen, "'%.40s' is not a time from 1ms to 10m, such as 5s or 500ms", v);
            return -1;
        }
    } else if (strcmp(k, "threads") == 0) {
        if (parse_uint(v, 1024, &c->threads) != 0) {
            snprintf(why, whylen, "'%.40s' is not a number of threads 0-1024", v);
            return -1;
        }
    } else if (strcmp(k, "time_budget") == 0 || strcmp(k, "sendmail_timeout") == 0) {
        double *d = k[0] == 't' ? &c->time_budget : &c->sendmail_timeout;
        if (parse_seconds(v, 86400, d) != 0) {
            snprintf(why, whylen, "'%.40s' is not a time such as 10s, 5m or 1h", v);
            return -1;
        }
    } else if (strcmp(k, "background") == 0 || strcmp(k, "log_stderr") == 0) {
        if (parse_bool(v, &b) != 0) {
            snprintf(why, whylen, "'%.40s' is not yes or no", v);
            return -1;
        }
        *(k[0] == 'b' ? &c->background : &c->log_stderr) = b;
    } else if (strcmp(k, "on_mint_failure") == 0) {
        if (strcmp(v, "send") == 0)
            c->on_mint_failure = SMC_SEND;
        else if (strcmp(v, "queue") == 0)
            c->on_mint_failure = SMC_QUEUE;
        else {
            snprintf(why, whylen, "'%.40s' is not send or queue", v);
            return -1;
        }
    } else {
        snprintf(why, whylen, "unknown key '%.60s'", k);
        return -1;
    }
    return 0;
}

int
smc_load(struct smc_conf *c, const char *file, int optional, char *err, size_t errlen)
{
    FILE *f = fopen(file, "r");
    if (f == NULL) {
        if (optional && errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s: %s", file, strerror(errno));
        return -1;
    }
    /* fopen() opens a directory for reading, and fgets() then fails at
     * once: without this it would pass for an empty configuration. */
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: is a directory, not a configuration file", file);
        fclose(f);
        return -1;
    }
    char line[LINE_MAX_LEN + 2];
    unsigned lineno = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        lineno++;
        char why[256];
        if (strchr(line, '\n') == NULL && !feof(f)) {
            snprintf(err, errlen, "%s:%u: line longer than %d bytes", file, lineno, LINE_MAX_LEN);
            fclose(f);
            return -1;
        }
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (eq == NULL) {
            snprintf(err, errlen, "%s:%u: expected key = value", file, lineno);
            fclose(f);
            return -1;
        }
        *eq = '\0';
        if (set_key(c, trim(s), trim(eq + 1), why, sizeof why) != 0) {
            snprintf(err, errlen, "%s:%u: %s", file, lineno, why);
            fclose(f);
            return -1;
        }
    }
    /* A read error ends fgets() as the end of the file does. */
    if (ferror(f)) {
        snprintf(err, errlen, "%s:%u: read error: %s", file, lineno + 1, strerror(errno));
        fclose(f);
        return -1;
    }
    fclose(f);
    return 0;
}

static int
ends_with_nocase(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

unsigned
smc_bits_for(const struct smc_conf *c, const char *address)
{
    const char *at = strrchr(address, '@');
    const char *domain = at != NULL ? at + 1 : "";
    for (size_t i = 0; i < c->n_rules; i++) {
        const char *p = c->rules[i].pattern;
        int hit;
        if (strcmp(p, "*") == 0)
            hit = 1;
        else if (p[0] == '@')
            hit = strcasecmp(domain, p + 1) == 0;
        else if (p[0] == '.')
            hit = ends_with_nocase(domain, p);
        else
            hit = strcasecmp(address, p) == 0;
        if (hit)
            return c->rules[i].bits;
    }
    return c->default_bits;
}
