/*
 * settings.c - the table of postaged's configuration keys and the loader
 * of `key = value` files.
 *
 * The table is the one place where a key's type, default, bounds and
 * description live: the loader, `postaged -n`, `postaged --defaults` and
 * the test that man/postaged.conf.5 documents every key all read it.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/base/listen.h"
#include "policy/engine/settings.h"
#include "postage/clock.h"
#include "postage/status.h"

/* K_LISTEN: a socket spec (policy/base/listen.h), checked as it is read so that
 * `postaged -n` finds a bad port with its line, not the start. */
enum kind { K_STRING, K_BOOL, K_UINT, K_PERIOD, K_CHOICE, K_LIST, K_LISTEN, K_BITS_OR_NONE };

/* A K_CHOICE key's words and the values stored for them (an enum of
 * settings.h, int-sized), ended by a NULL word. */
struct choice {
    const char *word;
    int value;
};

struct key {
    const char *name;
    enum kind kind;
    size_t offset;
    size_t size;           /* K_STRING, K_LISTEN: buffer size */
    const char *def;       /* default, as text (K_LIST: none) */
    unsigned min, max;     /* K_UINT bounds; K_PERIOD max in days */
    const struct choice *choices;   /* K_CHOICE */
    const char *doc;
};

/* A build without libmilter or libspf2 (configure --without-milter,
 * --without-spf) serves neither by default, and refuses them when set:
 * policy/postaged.c (milter_listen) and policy/engine/build.c (spf). */
#ifdef HAVE_MILTER
#define MILTER_LISTEN_DEFAULT "inet:127.0.0.1:10032"
#else
#define MILTER_LISTEN_DEFAULT ""
#endif
#ifdef HAVE_SPF
#define SPF_DEFAULT "yes"
#else
#define SPF_DEFAULT "no"
#endif

#define F(field) offsetof(struct pd_settings, field), sizeof(((struct pd_settings *) 0)->field)
#define HELO(test) F(helo_act[PD_HELO_TEST_##test])

/* set_key stores a choice as an int. */
_Static_assert(sizeof(enum pd_log_to) == sizeof(int) && sizeof(enum pd_on_error) == sizeof(int) &&
                   sizeof(enum pd_helo_act) == sizeof(int) &&
                   sizeof(enum pd_spf_header_type) == sizeof(int) &&
                   sizeof(enum pd_over_cap_action) == sizeof(int) &&
                   sizeof(enum pd_postage_header) == sizeof(int) &&
                   sizeof(enum pd_postage_kinds) == sizeof(int) &&
                   sizeof(enum pd_stamp_on_error) == sizeof(int) &&
                   sizeof(enum pd_stamp_blind) == sizeof(int),
               "a choice key's enum is int-sized");

static const struct choice log_words[] = {
    { "syslog", PD_LOG_TO_SYSLOG }, { "stderr", PD_LOG_TO_STDERR }, { NULL, 0 }
};
static const struct choice on_error_words[] = {
    { "tempfail", PD_ON_ERROR_TEMPFAIL }, { "dunno", PD_ON_ERROR_DUNNO }, { NULL, 0 }
};
static const struct choice helo_act_words[] = {
    { "off", PD_HELO_ACT_OFF }, { "score", PD_HELO_ACT_SCORE },
    { "defer", PD_HELO_ACT_DEFER }, { "reject", PD_HELO_ACT_REJECT }, { NULL, 0 }
};
static const struct choice spf_header_words[] = {
    { "received-spf", PD_SPF_HEADER_RECEIVED_SPF },
    { "authentication-results", PD_SPF_HEADER_AUTH_RESULTS },
    { "none", PD_SPF_HEADER_NONE }, { NULL, 0 }
};
static const struct choice over_cap_words[] = {
    { "defer", PD_OVER_CAP_DEFER }, { "reject", PD_OVER_CAP_REJECT }, { NULL, 0 }
};
static const struct choice postage_header_words[] = {
    { "x-postage-result", PD_POSTAGE_HEADER_X_POSTAGE_RESULT },
    { "none", PD_POSTAGE_HEADER_NONE }, { NULL, 0 }
};
static const struct choice postage_kinds_words[] = {
    { "sha1", PD_POSTAGE_KINDS_SHA1 }, { "argon2id", PD_POSTAGE_KINDS_ARGON2ID },
    { "sha1+argon2id", PD_POSTAGE_KINDS_BOTH }, { NULL, 0 }
};
static const struct choice stamp_on_error_words[] = {
    { "send", PD_STAMP_ON_ERROR_SEND }, { "tempfail", PD_STAMP_ON_ERROR_TEMPFAIL }, { NULL, 0 }
};
static const struct choice stamp_blind_words[] = {
    { "copy", PD_STAMP_BLIND_COPY }, { "unstamped", PD_STAMP_BLIND_UNSTAMPED }, { NULL, 0 }
};

static const struct key keys[] = {
    { "policy_listen", K_LISTEN, F(policy_listen), "inet:127.0.0.1:10031", 0, 0, NULL,
      "Postfix policy service socket: inet:HOST:PORT or unix:PATH; empty disables it" },
    { "milter_listen", K_LISTEN, F(milter_listen), MILTER_LISTEN_DEFAULT, 0, 0, NULL,
      "milter socket: inet:HOST:PORT or unix:PATH; empty disables it" },
    { "store", K_STRING, F(store), "lmdb:/var/lib/postage", 0, 0, NULL,
      "where state lives: lmdb:DIR (default /var/lib/postage as root, else the user's state directory), or redis://HOST:PORT/DB, redis+unix:///PATH, redis+sentinel://HOST:PORT,.../MASTER" },
    { "user", K_STRING, F(user), "nobody", 0, 0, NULL,
      "when started as root, run as this user after binding the sockets" },
    { "pidfile", K_STRING, F(pidfile), "", 0, 0, NULL,
      "write the daemon's PID here (empty: no pidfile)" },
    { "log", K_CHOICE, F(log), "syslog", 0, 0, log_words,
      "where log lines go (syslog facility mail)" },
    { "on_error", K_CHOICE, F(on_error), "tempfail", 0, 0, on_error_words,
      "answer when the store or a module fails: tempfail (451 4.3.0) or dunno" },
    { "hostname", K_STRING, F(hostname), "", 0, 0, NULL,
      "name used in trace headers (empty: this host's name)" },
    { "max_connections", K_UINT, F(max_connections), "1000", 1, 100000, NULL,
      "most simultaneous policy connections" },
    { "idle_timeout", K_PERIOD, F(idle_timeout), "1100s", 0, 1, NULL,
      "close a policy connection idle this long (Postfix's max_ttl is 1000s)" },
    { "client_warning_limit", K_UINT, F(client_warning_limit), "10", 0, 1000000, NULL,
      "policy protocol warnings logged per client address and client_warning_interval; the rest are counted in one summary line" },
    { "client_warning_interval", K_PERIOD, F(client_warning_interval), "60s", 0, 1, NULL,
      "the period client_warning_limit counts over (0 counts as 1s)" },
    { "maintenance_interval", K_PERIOD, F(maintenance_interval), "1h", 0, 30, NULL,
      "how often expired state is removed, off the request path" },
    { "sync_interval", K_PERIOD, F(sync_interval), "1s", 0, 1, NULL,
      "write state to disk this often (0: on every update, much slower)" },
    { "access", K_LIST, F(access), NULL, 0, 0, NULL,
      "an access rule: SELECTOR PATTERN ACTION [text]; repeatable, first match wins" },
    { "dns_server", K_STRING, F(dns_server), "system", 0, 0, NULL,
      "DNS server for HELO and SPF lookups: system (/etc/resolv.conf) or HOST:PORT (up to 3, comma separated)" },
    { "dns_timeout", K_UINT, F(dns_timeout), "2000", 50, 60000, NULL,
      "milliseconds to wait for one DNS answer (each lookup tries twice)" },
    { "helo_checks", K_BOOL, F(helo_checks), "yes", 0, 0, NULL,
      "check the HELO/EHLO name (the helo_TEST keys say what each failed test does)" },
    /* The HELO tests' defaults: reject what RFC 5321 forbids outright and
     * no MTA needs (missing, malformed, bare IP, single label, localhost,
     * our own name); only score everything RFC 5321 section 4.1.4 says a
     * server MUST NOT refuse mail over (a name or literal that does not
     * correspond to the client's address), FCrDNS, and randomisation (NAT
     * in front of several MTAs looks the same). */
    { "helo_missing", K_CHOICE, HELO(MISSING), "reject", 0, 0, helo_act_words,
      "no HELO/EHLO given: off, score, defer or reject" },
    { "helo_syntax", K_CHOICE, HELO(SYNTAX), "reject", 0, 0, helo_act_words,
      "a malformed HELO/EHLO name or literal" },
    { "helo_bare_ip", K_CHOICE, HELO(BARE_IP), "reject", 0, 0, helo_act_words,
      "an address not written as a literal [192.0.2.1]" },
    { "helo_single_label", K_CHOICE, HELO(SINGLE_LABEL), "reject", 0, 0, helo_act_words,
      "a name that is not fully qualified" },
    { "helo_localhost", K_CHOICE, HELO(LOCALHOST), "reject", 0, 0, helo_act_words,
      "localhost or a loopback literal from another host" },
    { "helo_own", K_CHOICE, HELO(OWN), "reject", 0, 0, helo_act_words,
      "one of helo_own_names (or our address) from another host" },
    { "helo_literal", K_CHOICE, HELO(LITERAL), "score", 0, 0, helo_act_words,
      "an address literal other than the client's address" },
    { "helo_resolve", K_CHOICE, HELO(RESOLVE), "score", 0, 0, helo_act_words,
      "DNS: the HELO name has no address" },
    { "helo_match", K_CHOICE, HELO(MATCH), "score", 0, 0, helo_act_words,
      "DNS: no address of the HELO name is the client" },
    { "helo_fcrdns", K_CHOICE, HELO(FCRDNS), "score", 0, 0, helo_act_words,
      "DNS: the client has no forward-confirmed reverse DNS" },
    { "helo_random", K_CHOICE, HELO(RANDOM), "score", 0, 0, helo_act_words,
      "more than 5 distinct HELO names from one client in a day" },
    { "helo_own_names", K_LIST, F(helo_own_names), NULL, 0, 0, NULL,
      "a name of this server that other hosts may not use in HELO/EHLO; repeatable" },
    { "spf", K_BOOL, F(spf), SPF_DEFAULT, 0, 0, NULL,
      "check SPF (RFC 7208) as postfix-policyd-spf-python does by default" },
    { "spf_header", K_CHOICE, F(spf_header), "received-spf", 0, 0, spf_header_words,
      "the SPF trace header added once per message" },
    { "spf_helo_always", K_BOOL, F(spf_helo_always), "no", 0, 0, NULL,
      "check the HELO identity for every message, not only for the null sender" },
    { "spf_temperror_defer", K_BOOL, F(spf_temperror_defer), "no", 0, 0, NULL,
      "defer (451 4.7.24) on an SPF temperror instead of accepting" },
    { "spf_permerror_reject", K_BOOL, F(spf_permerror_reject), "no", 0, 0, NULL,
      "reject (550 5.7.24) on an SPF permerror instead of accepting" },
    { "spf_skip_addresses", K_STRING, F(spf_skip_addresses), "127.0.0.0/8,::ffff:127.0.0.0/104,::1",
      0, 0, NULL, "clients never SPF-checked (comma-separated CIDRs; empty: none)" },
    { "spf_whitelist_clients", K_LIST, F(spf_whitelist_clients), NULL, 0, 0, NULL,
      "a client address or CIDR network whose mail is not SPF-checked; repeatable" },
    { "spf_whitelist_domains", K_LIST, F(spf_whitelist_domains), NULL, 0, 0, NULL,
      "a sender domain (and its subdomains) not SPF-checked; repeatable" },
    { "greylist", K_BOOL, F(greylist), "yes", 0, 0, NULL, "enable greylisting" },
    { "greylist_delay", K_PERIOD, F(greylist_delay), "300s", 0, 1, NULL,
      "how long a new triplet is deferred" },
    { "greylist_retry_window", K_PERIOD, F(greylist_retry_window), "2d", 0, 30, NULL,
      "a first retry later than this starts over" },
    { "greylist_max_age", K_PERIOD, F(greylist_max_age), "35d", 1, 3650, NULL,
      "triplets and auto-whitelist entries unseen this long are forgotten" },
    { "greylist_ipv4_prefix", K_UINT, F(greylist_ipv4_prefix), "24", 8, 32, NULL,
      "IPv4 client network of a triplet, in bits" },
    { "greylist_ipv6_prefix", K_UINT, F(greylist_ipv6_prefix), "64", 16, 128, NULL,
      "IPv6 client network of a triplet, in bits" },
    { "greylist_awl_count", K_UINT, F(greylist_awl_count), "5", 0, 1000000, NULL,
      "auto-whitelist a client address after this many passes (0: never)" },
    { "greylist_training", K_BOOL, F(greylist_training), "no", 0, 0, NULL,
      "record triplets but never defer" },
    { "greylist_header", K_BOOL, F(greylist_header), "yes", 0, 0, NULL,
      "add an X-Greylist trace header on the first pass after a delay" },
    { "greylist_text", K_STRING, F(greylist_text), "Greylisted, please retry in %s seconds", 0, 0,
      NULL, "reply text of a greylisting deferral (%s: seconds left)" },
    { "greylist_whitelist_clients", K_LIST, F(greylist_whitelist_clients), NULL, 0, 0, NULL,
      "a client never greylisted: address, CIDR or domain (and its subdomains); repeatable" },
    { "greylist_whitelist_recipients", K_LIST, F(greylist_whitelist_recipients), NULL, 0, 0, NULL,
      "a recipient never greylisted: user@domain, @domain or user@; repeatable" },
    { "quota", K_LIST, F(quota), NULL, 0, 0, NULL,
      "a rolling quota: TRACK WINDOW count|size LIMIT ACTION [text]; repeatable" },
    { "accounting", K_LIST, F(accounting), NULL, 0, 0, NULL,
      "a calendar limit: TRACK day|week|month count|size LIMIT ACTION [text]; repeatable" },
    { "postage", K_BOOL, F(postage), "yes", 0, 0, NULL,
      "price each message in Hashcash bits by its sender's reputation; a stamp that pays skips greylisting" },
    { "price_base", K_UINT, F(price_base), "20", 0, 160, NULL,
      "bits an unknown sender pays before credits, penalties and surcharges" },
    { "price_cap", K_UINT, F(price_cap), "28", 0, 160, NULL,
      "highest price asked; a message priced above it is refused (price_over_cap_action)" },
    { "published_price", K_STRING, F(published_price), "price_base", 0, 0, NULL,
      "bits promised in DNS (postaged --dns-record): the most a sender not in bad standing is asked; price_base (the price an unknown sender pays) or 0 .. price_cap" },
    { "price_spf_credit", K_UINT, F(price_spf_credit), "4", 0, 160, NULL,
      "bits off when SPF passes for the sender's domain" },
    { "price_history_credit_max", K_UINT, F(price_history_credit_max), "16", 0, 160, NULL,
      "most bits off for a good history (one bit per doubling of the net score)" },
    { "price_spf_softfail_penalty", K_UINT, F(price_spf_softfail_penalty), "4", 0, 160, NULL,
      "bits added for an SPF softfail (or a fail that was not rejected)" },
    { "price_spf_other_penalty", K_UINT, F(price_spf_other_penalty), "2", 0, 160, NULL,
      "bits added for SPF none, neutral, temperror or permerror" },
    { "price_allowance", K_UINT, F(price_allowance), "50", 1, 1000000000, NULL,
      "messages per price_rate_window an identity sends before the volume surcharge (one bit per doubling)" },
    { "price_rate_window", K_PERIOD, F(price_rate_window), "1d", 0, 30, NULL,
      "time constant of the message rate behind the volume surcharge" },
    { "price_over_cap_action", K_CHOICE, F(price_over_cap_action), "defer", 0, 0, over_cap_words,
      "answer to a message priced above price_cap: defer (451 4.7.1) or reject (550 5.7.1)" },
    { "reputation_half_life", K_PERIOD, F(reputation_half_life), "30d", 0, 3650, NULL,
      "how fast a sender's history fades: each counter halves in this time" },
    { "stamp_validity", K_PERIOD, F(stamp_validity), "28d", 0, 3650, NULL,
      "how long a stamp stays valid after its date (0: forever), as hashcash -e" },
    { "stamp_grace", K_PERIOD, F(stamp_grace), "2d", 0, 365, NULL,
      "clock skew allowed at both ends of a stamp's validity, as hashcash -g" },
    { "postage_header", K_CHOICE, F(postage_header), "x-postage-result", 0, 0,
      postage_header_words, "the trace header the milter adds to accepted mail" },
    { "postage_kinds", K_CHOICE, F(postage_kinds), "sha1", 0, 0, postage_kinds_words,
      "kinds of stamp that pay: SHA-1 (hashcash), Argon2id (memory-hard), or both" },
    { "argon2id_max_memory", K_UINT, F(argon2id_max_memory), "65536", 8, 4194304, NULL,
      "largest Argon2id memory in KiB a stamp may ask the checker to fill" },
    { "argon2id_max_passes", K_UINT, F(argon2id_max_passes), "3", 1, 1000, NULL,
      "most Argon2id passes a stamp may ask for" },
    { "argon2id_max_lanes", K_UINT, F(argon2id_max_lanes), "4", 1, 255, NULL,
      "most Argon2id lanes a stamp may ask for" },
    { "argon2id_min_bits", K_UINT, F(argon2id_min_bits), "4", 0, 160, NULL,
      "fewest claimed bits of an Argon2id stamp (a b-bit stamp is a right guess once in 2^b)" },
    { "argon2id_max_per_message", K_UINT, F(argon2id_max_per_message), "8", 0, 64, NULL,
      "Argon2id stamps checked per message at most; the rest pay nothing" },
    { "price_sha1_rate", K_UINT, F(price_sha1_rate), "268435456", 1, 4294967295u, NULL,
      "exchange rate: SHA-1 trials per second of the reference core" },
    { "price_argon2id_rate", K_UINT, F(price_argon2id_rate), "1048576", 1, 4294967295u, NULL,
      "exchange rate: KiB of Argon2id memory-passes per second of the reference core" },
    /* The stamping milter: the sending side, off unless stamp_listen is set. */
    { "stamp_listen", K_LISTEN, F(stamp_listen), "", 0, 0, NULL,
      "stamping milter socket (for the sending MTA's non_smtpd_milters and submission smtpd_milters): inet:HOST:PORT or unix:PATH; empty disables it" },
    { "stamp_clients", K_STRING, F(stamp_clients), "127.0.0.0/8, ::1/128", 0, 0, NULL,
      "clients whose mail is stamped besides SASL-authenticated ones and local submission (comma-separated CIDRs; empty: none)" },
    { "stamp_default_bits", K_BITS_OR_NONE, F(stamp_default_bits), "none", 0, 40, NULL,
      "bits paid to a domain that publishes no _postage record (none: no stamp)" },
    { "stamp_max_bits", K_UINT, F(stamp_max_bits), "26", 0, 40, NULL,
      "most bits paid per stamp; a domain asking more gets no stamp" },
    { "stamp_timeout", K_PERIOD, F(stamp_timeout), "10s", 0, 1, NULL,
      "most time one message may spend in DNS look-ups and minting; past it the rest goes unstamped" },
    { "stamp_threads", K_UINT, F(stamp_threads), "0", 0, 1024, NULL,
      "minting threads per message (0: one per online CPU)" },
    { "stamp_on_error", K_CHOICE, F(stamp_on_error), "send", 0, 0, stamp_on_error_words,
      "a message that could not be stamped as it should (DNS down, over time, injection failed): send it (unstamped) or tempfail" },
    { "stamp_blind", K_CHOICE, F(stamp_blind), "copy", 0, 0, stamp_blind_words,
      "blind recipients (in no To/Cc): each gets a copy of its own with only its stamp (copy), or goes unstamped" },
    { "stamp_sendmail", K_STRING, F(stamp_sendmail), "/usr/sbin/sendmail", 0, 0, NULL,
      "command (with arguments) that injects a blind recipient's copy; run as COMMAND -i -f SENDER -- RECIPIENT" },
    /* Prometheus metrics over HTTP: off unless metrics_listen is set. */
    { "metrics_listen", K_LISTEN, F(metrics_listen), "", 0, 0, NULL,
      "Prometheus metrics endpoint (GET /metrics over HTTP): inet:HOST:PORT or inet:[IPV6]:PORT; empty disables it" },
};

#define KEY_COUNT (sizeof keys / sizeof keys[0])

static void *
field_of(struct pd_settings *s, const struct key *k)
{
    return (char *) s + k->offset;
}

static void
list_free(struct pd_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    free(l->lines);
    memset(l, 0, sizeof *l);
}

static int
list_append(struct pd_list *l, const char *value, unsigned line)
{
    if (l->count >= PD_LIST_MAX)
        return -1;
    char **items = realloc(l->items, (l->count + 1) * sizeof *items);
    if (items == NULL)
        return -1;
    l->items = items;
    unsigned *lines = realloc(l->lines, (l->count + 1) * sizeof *lines);
    if (lines == NULL)
        return -1;
    l->lines = lines;
    if ((l->items[l->count] = strdup(value)) == NULL)
        return -1;
    l->lines[l->count++] = line;
    return 0;
}

static int
parse_bool(const char *v, int *out)
{
    if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "on"))
        *out = 1;
    else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "off"))
        *out = 0;
    else
        return -1;
    return 0;
}

/* The value of word v among the choices: 0 and *value, or -1. */
static int
choice_value(const struct choice *choices, const char *v, int *value)
{
    for (const struct choice *c = choices; c->word != NULL; c++)
        if (strcmp(c->word, v) == 0) {
            *value = c->value;
            return 0;
        }
    return -1;
}

/* The choices as the documentation writes them: "a|b|c". */
static void
choice_words(const struct choice *choices, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (const struct choice *c = choices; c->word != NULL; c++) {
        int w = snprintf(out + n, size - n, "%s%s", c == choices ? "" : "|", c->word);
        if (w < 0 || (size_t) w >= size - n)
            return;
        n += (size_t) w;
    }
}

static int
set_key(struct pd_settings *s, const struct key *k, const char *v, unsigned line,
        char *err, size_t errlen)
{
    void *f = field_of(s, k);

    switch (k->kind) {
    case K_STRING:
    case K_LISTEN:
        if (strlen(v) >= k->size) {
            snprintf(err, errlen, "%s: value longer than %zu bytes", k->name, k->size - 1);
            return -1;
        }
        if (k->kind == K_LISTEN && v[0] != '\0') {
            char why[400];
            if (pd_listen_check(v, why, sizeof why) != 0) {
                snprintf(err, errlen, "%s: %s", k->name, why);
                return -1;
            }
        }
        strcpy((char *) f, v);
        return 0;
    case K_CHOICE: {
        int value;
        if (choice_value(k->choices, v, &value) != 0) {
            char words[128];
            choice_words(k->choices, words, sizeof words);
            snprintf(err, errlen, "%s: '%s' is not one of %s", k->name, v, words);
            return -1;
        }
        memcpy(f, &value, sizeof value);
        return 0;
    }
    case K_BOOL:
        if (parse_bool(v, (int *) f) != 0) {
            snprintf(err, errlen, "%s: '%s' is not yes or no", k->name, v);
            return -1;
        }
        return 0;
    case K_BITS_OR_NONE:
        if (strcmp(v, "none") == 0) {
            *(unsigned *) f = PD_STAMP_BITS_NONE;
            return 0;
        }
        /* else a number of bits, read as K_UINT */
        __attribute__((fallthrough));
    case K_UINT: {
        char *end;
        errno = 0;
        unsigned long n = strtoul(v, &end, 10);
        if (*v < '0' || *v > '9' || *end != '\0' || errno != 0 || n < k->min || n > k->max) {
            snprintf(err, errlen, "%s: '%s' is not a whole number from %u to %u%s", k->name, v,
                     k->min, k->max, k->kind == K_BITS_OR_NONE ? ", or none" : "");
            return -1;
        }
        *(unsigned *) f = (unsigned) n;
        return 0;
    }
    case K_PERIOD: {
        int64_t secs;
        if (postage_period_parse(v, &secs) != POSTAGE_OK || secs > (int64_t) k->max * 86400 ||
            (k->min > 0 && secs < (int64_t) k->min * 86400)) {
            snprintf(err, errlen, "%s: '%s' is not a period (N[s|m|h|d|w]) from %ud to %ud",
                     k->name, v, k->min, k->max);
            return -1;
        }
        *(int64_t *) f = secs;
        return 0;
    }
    case K_LIST:
        if (*v == '\0') {
            snprintf(err, errlen, "%s: empty value", k->name);
            return -1;
        }
        if (list_append((struct pd_list *) f, v, line) != 0) {
            snprintf(err, errlen, "%s: too many lines (at most %d) or out of memory", k->name,
                     PD_LIST_MAX);
            return -1;
        }
        return 0;
    }
    return -1;
}

static const struct key *
find_key(const char *name)
{
    for (size_t i = 0; i < KEY_COUNT; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

void
pd_settings_defaults(struct pd_settings *s, const char *state_dir_default)
{
    char err[256];

    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < KEY_COUNT; i++) {
        const struct key *k = &keys[i];
        if (k->def == NULL)
            continue;
        if (strcmp(k->name, "store") == 0) {
            snprintf(s->store, sizeof s->store, "lmdb:%s", state_dir_default);
            continue;
        }
        set_key(s, k, k->def, 0, err, sizeof err);
    }
}

int
pd_settings_set(struct pd_settings *s, const char *key, const char *value, char *err,
                size_t errlen)
{
    const struct key *k = find_key(key);
    if (k == NULL) {
        snprintf(err, errlen, "unknown key '%s' (postaged --defaults lists them)", key);
        return -1;
    }
    return set_key(s, k, value, 0, err, errlen);
}

static char *
trim(char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strlen(p);
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
        p[--n] = '\0';
    return p;
}

int
pd_settings_load(struct pd_settings *s, const char *file, char *err, size_t errlen)
{
    char line[PD_SETTING_MAX + 128], msg[512];
    unsigned lineno = 0;
    FILE *f = fopen(file, "r");

    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", file, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        lineno++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            snprintf(err, errlen, "%s:%u: line longer than %zu bytes", file, lineno,
                     sizeof line - 2);
            fclose(f);
            return -1;
        }
        char *p = trim(line);
        if (*p == '\0' || *p == '#')
            continue;
        char *eq = strchr(p, '=');
        if (eq == NULL) {
            snprintf(err, errlen, "%s:%u: expected 'key = value', got '%.60s'", file, lineno, p);
            fclose(f);
            return -1;
        }
        *eq = '\0';
        char *key = trim(p), *value = trim(eq + 1);
        const struct key *k = find_key(key);
        if (k == NULL) {
            snprintf(err, errlen, "%s:%u: unknown key '%.60s' (postaged --defaults lists them)",
                     file, lineno, key);
            fclose(f);
            return -1;
        }
        if (set_key(s, k, value, lineno, msg, sizeof msg) != 0) {
            snprintf(err, errlen, "%s:%u: %s", file, lineno, msg);
            fclose(f);
            return -1;
        }
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        snprintf(err, errlen, "%s: read error", file);
        return -1;
    }
    return 0;
}

void
pd_settings_free(struct pd_settings *s)
{
    for (size_t i = 0; i < KEY_COUNT; i++)
        if (keys[i].kind == K_LIST)
            list_free((struct pd_list *) field_of(s, &keys[i]));
}

void
pd_settings_print_defaults(FILE *out)
{
    for (size_t i = 0; i < KEY_COUNT; i++) {
        const struct key *k = &keys[i];
        fprintf(out, "# %s\n", k->doc);
        if (k->kind == K_LIST)
            fprintf(out, "#%s = ...\n\n", k->name);
        else if (strcmp(k->name, "store") == 0)
            fprintf(out, "#%s = lmdb:/var/lib/postage\n\n", k->name);
        else
            fprintf(out, "#%s = %s\n\n", k->name, k->def);
    }
}
