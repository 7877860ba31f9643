/*
 * spf_probe.c - test driver for policy/base/dns.c and policy/checks/spf.c: one DNS
 * lookup or one SPF check against a given server, printed as key=value
 * lines that tests/system/spf_dns.sh compares.
 *
 *   spf_probe [options] lookup TYPE NAME      (TYPE: A AAAA TXT PTR MX)
 *   spf_probe [options] check CLIENT_IP HELO SENDER
 *
 * Options: --dns HOST:PORT  --timeout MS  --attempts N  --check-timeout MS
 *   --twice (lookup: ask again, report whether the cache answered)
 *   --min-ttl S (the cache's floor on a positive answer's life)
 *   --threads N (check: also run the same check in N threads at once on
 *     one checker and resolver, and print threads_agree=1 if every thread
 *     got the same outcome as the first run: the thread-safety test)
 *   --helo-always --permerror-reject --temperror-defer
 *   --mailfrom-reject fail|softfail|not_pass|never (same: --helo-reject)
 *   --header spf|ar|none  --receiver NAME  --hide-receiver
 *   --skip CIDRS  --whitelist CIDRS  --domain-whitelist DOMAINS
 *
 * Output of check: result=, identity=, helo_result=, mailfrom_result=,
 * skip=, action=, reply=, header_name=, header=, comment=, problem=,
 * explanation=.  Exit status 0, or 2 on a usage error.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/base/dns.h"
#include "policy/checks/spf.h"
#include "policy/engine/settings.h"

static void
usage(void)
{
    fprintf(stderr, "usage: spf_probe [options] lookup TYPE NAME\n"
                    "       spf_probe [options] check CLIENT_IP HELO SENDER\n");
    exit(2);
}

static enum pd_spf_reject
parse_reject(const char *s)
{
    if (strcmp(s, "fail") == 0) return PD_SPF_REJECT_FAIL;
    if (strcmp(s, "softfail") == 0) return PD_SPF_REJECT_SOFTFAIL;
    if (strcmp(s, "not_pass") == 0) return PD_SPF_REJECT_NOT_PASS;
    if (strcmp(s, "never") == 0) return PD_SPF_REJECT_NEVER;
    usage();
    return PD_SPF_REJECT_FAIL;
}

#define MAX_THREADS 16

struct thread_arg {
    struct pd_spf_checker *ck;
    const char *ip, *helo, *sender;
    struct pd_spf_outcome out;
};

static void *
thread_check(void *p)
{
    struct thread_arg *a = p;
    pd_spf_check(a->ck, a->ip, a->helo, a->sender, &a->out);
    return NULL;
}

/* Same result, header and reply as the reference outcome? */
static bool
same_outcome(struct pd_spf_checker *ck, const struct pd_spf_outcome *x,
             const struct pd_spf_outcome *y)
{
    char hx[PD_SPF_HEADER_MAX], hy[PD_SPF_HEADER_MAX];
    struct pd_spf_verdict vx, vy;
    const char *n;
    pd_spf_header(ck, x, &n, hx, sizeof hx);
    pd_spf_header(ck, y, &n, hy, sizeof hy);
    pd_spf_decide(ck, x, &vx);
    pd_spf_decide(ck, y, &vy);
    return x->result == y->result && x->skip == y->skip &&
           strcmp(hx, hy) == 0 && strcmp(vx.text, vy.text) == 0;
}

static int
do_lookup(struct pd_dns *dns, const char *tname, const char *name, bool twice)
{
    enum pd_dns_type type;
    if (!pd_dns_type_parse(tname, &type))
        usage();
    for (int round = 0; round < (twice ? 2 : 1); round++) {
        struct pd_dns_answer *a = NULL;
        enum pd_dns_rcode rc = pd_dns_lookup(dns, name, type, 0, &a);
        printf("rcode=%s\n", pd_dns_rcode_name(rc));
        if (!a)
            return 0;
        printf("count=%zu\ncached=%d\ntcp=%d\n", a->count, a->from_cache, a->used_tcp);
        for (size_t i = 0; i < a->count; i++) {
            const struct pd_dns_rr *r = &a->rr[i];
            char ip[64];
            printf("rr_ttl=%u\n", (unsigned)r->ttl);
            switch (type) {
            case PD_DNS_A:
                snprintf(ip, sizeof ip, "%u.%u.%u.%u", r->addr[0], r->addr[1], r->addr[2], r->addr[3]);
                printf("rr=%s\n", ip);
                break;
            case PD_DNS_AAAA: {
                struct pd_addr ad = { .family = PD_ADDR_V6 };
                memcpy(ad.bytes, r->addr, 16);
                pd_addr_format(&ad, ip, sizeof ip);
                printf("rr=%s\n", ip);
                break;
            }
            case PD_DNS_MX:
                printf("rr=%u %s\n", r->pref, r->text);
                break;
            default:
                printf("rr=%s\n", r->text);
                break;
            }
        }
        pd_dns_answer_free(a);
    }
    struct pd_dns_stats st;
    pd_dns_get_stats(dns, &st);
    printf("stats_packets=%llu\nstats_cache_hits=%llu\n",
           (unsigned long long)st.packets_sent, (unsigned long long)st.cache_hits);
    return 0;
}

int
main(int argc, char **argv)
{
    struct pd_dns_config dcfg;
    struct pd_spf_config scfg;
    pd_settings_dns_config(pd_settings_builtin(), &dcfg);
    pd_settings_spf_config(pd_settings_builtin(), &scfg);
    scfg.receiver = "mx.receiver.test";
    bool twice = false;
    int threads = 0;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG() do { if (!v) usage(); i++; } while (0)
        if (strcmp(o, "--dns") == 0) { ARG(); dcfg.servers = v; }
        else if (strcmp(o, "--timeout") == 0) { ARG(); dcfg.timeout_ms = (unsigned)atoi(v); }
        else if (strcmp(o, "--attempts") == 0) { ARG(); dcfg.attempts = (unsigned)atoi(v); }
        else if (strcmp(o, "--min-ttl") == 0) { ARG(); dcfg.min_ttl = (unsigned)atoi(v); }
        else if (strcmp(o, "--check-timeout") == 0) { ARG(); scfg.check_timeout_ms = (unsigned)atoi(v); }
        else if (strcmp(o, "--twice") == 0) twice = true;
        else if (strcmp(o, "--threads") == 0) {
            ARG();
            threads = atoi(v);
            if (threads < 1 || threads > MAX_THREADS)
                usage();
        }
        else if (strcmp(o, "--helo-always") == 0) scfg.helo_always = true;
        else if (strcmp(o, "--permerror-reject") == 0) scfg.permerror_reject = true;
        else if (strcmp(o, "--temperror-defer") == 0) scfg.temperror_defer = true;
        else if (strcmp(o, "--mailfrom-reject") == 0) { ARG(); scfg.mailfrom_reject = parse_reject(v); }
        else if (strcmp(o, "--helo-reject") == 0) { ARG(); scfg.helo_reject = parse_reject(v); }
        else if (strcmp(o, "--header") == 0) {
            ARG();
            scfg.header_type = strcmp(v, "ar") == 0 ? PD_SPF_HEADER_AUTH_RESULTS
                             : strcmp(v, "none") == 0 ? PD_SPF_HEADER_NONE
                             : PD_SPF_HEADER_RECEIVED_SPF;
        }
        else if (strcmp(o, "--receiver") == 0) { ARG(); scfg.receiver = v; }
        else if (strcmp(o, "--hide-receiver") == 0) scfg.hide_receiver = true;
        else if (strcmp(o, "--skip") == 0) { ARG(); scfg.skip_addresses = v; }
        else if (strcmp(o, "--whitelist") == 0) { ARG(); scfg.client_whitelist = v; }
        else if (strcmp(o, "--domain-whitelist") == 0) { ARG(); scfg.domain_whitelist = v; }
        else usage();
#undef ARG
    }
    if (i >= argc)
        usage();

    char err[256];
    struct pd_dns *dns = pd_dns_new(&dcfg, err, sizeof err);
    if (!dns) {
        fprintf(stderr, "spf_probe: %s\n", err);
        return 2;
    }
    int rc = 0;
    if (strcmp(argv[i], "lookup") == 0 && argc - i == 3) {
        rc = do_lookup(dns, argv[i + 1], argv[i + 2], twice);
    } else if (strcmp(argv[i], "check") == 0 && argc - i == 4) {
        scfg.dns = dns;
        struct pd_spf_checker *ck = pd_spf_new(&scfg, err, sizeof err);
        if (!ck) {
            fprintf(stderr, "spf_probe: %s\n", err);
            pd_dns_free(dns);
            return 2;
        }
        struct pd_spf_outcome o;
        struct pd_spf_verdict v;
        pd_spf_check(ck, argv[i + 1], argv[i + 2], argv[i + 3], &o);
        pd_spf_decide(ck, &o, &v);
        const char *hname;
        char hval[PD_SPF_HEADER_MAX];
        bool have = pd_spf_header(ck, &o, &hname, hval, sizeof hval);
        const struct pd_spf_id_result *id = o.decisive == PD_SPF_ID_HELO ? &o.helo : &o.mailfrom;
        printf("result=%s\n", pd_spf_result_name(o.result));
        printf("identity=%s\n", o.decisive == PD_SPF_ID_HELO ? "helo"
                                : o.decisive == PD_SPF_ID_MAILFROM ? "mailfrom" : "none");
        printf("helo_result=%s\n", o.helo.checked ? pd_spf_result_name(o.helo.result) : "-");
        printf("mailfrom_result=%s\n", o.mailfrom.checked ? pd_spf_result_name(o.mailfrom.result) : "-");
        printf("skip=%s\n", pd_spf_skip_name(o.skip));
        printf("action=%s\n", v.action == PD_SPF_ACT_REJECT ? "REJECT"
                              : v.action == PD_SPF_ACT_DEFER ? "DEFER" : "DUNNO");
        printf("reply=%s\n", v.text);
        printf("header_name=%s\n", have ? hname : "");
        printf("header=%s\n", have ? hval : "");
        printf("comment=%s\n", id->comment);
        printf("problem=%s\n", id->problem);
        printf("explanation=%s\n", id->explanation);
        if (threads > 0) {
            struct thread_arg args[MAX_THREADS];
            pthread_t tid[MAX_THREADS];
            bool agree = true;
            for (int t = 0; t < threads; t++) {
                args[t] = (struct thread_arg){ ck, argv[i + 1], argv[i + 2], argv[i + 3], { 0 } };
                if (pthread_create(&tid[t], NULL, thread_check, &args[t]) != 0) {
                    fprintf(stderr, "spf_probe: pthread_create failed\n");
                    return 1;
                }
            }
            for (int t = 0; t < threads; t++) {
                pthread_join(tid[t], NULL);
                if (!same_outcome(ck, &o, &args[t].out))
                    agree = false;
            }
            printf("threads_agree=%d\n", agree);
        }
        pd_spf_free(ck);
    } else {
        usage();
    }
    pd_dns_free(dns);
    return rc;
}
