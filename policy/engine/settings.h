/*
 * settings.h - postaged's configuration: every key, its type, default and
 * bounds in one table (settings.c), the parser of `key = value` files, and
 * the checks `postaged -n` runs.
 *
 * A configuration is loaded into a fresh struct pd_settings and only then
 * swapped in, so a SIGHUP with a broken file leaves the running
 * configuration untouched.
 */
#ifndef POSTAGE_POLICY_SETTINGS_H
#define POSTAGE_POLICY_SETTINGS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "policy/checks/spf.h"      /* enum pd_spf_header_type */
#include "policy/helo/helo.h"       /* enum pd_helo_act, enum pd_helo_test */
#include "postage/verify.h"         /* POSTAGE_KIND_* */

#define PD_SETTING_MAX 1024   /* longest value of one key            */
#define PD_LIST_MAX 4096      /* most lines of one repeatable key    */

/* A repeatable key's lines, in file order. */
struct pd_list {
    char **items;
    unsigned *lines;   /* line number of each item in its file (0: built in) */
    size_t count;
};

/* The keys with a choice of words are stored as these values; the table
 * in settings.c maps each word to its value, so nothing reads the words
 * again. */
enum pd_log_to { PD_LOG_TO_SYSLOG = 0, PD_LOG_TO_STDERR };
enum pd_on_error { PD_ON_ERROR_TEMPFAIL = 0, PD_ON_ERROR_DUNNO };
enum pd_over_cap_action { PD_OVER_CAP_DEFER = 0, PD_OVER_CAP_REJECT };
enum pd_postage_header { PD_POSTAGE_HEADER_X_POSTAGE_RESULT = 0, PD_POSTAGE_HEADER_NONE };
enum pd_stamp_on_error { PD_STAMP_ON_ERROR_SEND = 0, PD_STAMP_ON_ERROR_TEMPFAIL };
enum pd_stamp_blind { PD_STAMP_BLIND_COPY = 0, PD_STAMP_BLIND_UNSTAMPED };
#define PD_STAMP_BITS_NONE 0xffffffffu  /* stamp_default_bits = none */
enum pd_postage_kinds {          /* the POSTAGE_KIND_* bits a stamp may have */
    PD_POSTAGE_KINDS_SHA1 = POSTAGE_KIND_SHA1,
    PD_POSTAGE_KINDS_ARGON2ID = POSTAGE_KIND_ARGON2ID,
    PD_POSTAGE_KINDS_BOTH = POSTAGE_KIND_SHA1 | POSTAGE_KIND_ARGON2ID
};

struct pd_settings {
    /* daemon */
    char policy_listen[PD_SETTING_MAX];
    char milter_listen[PD_SETTING_MAX];
    char store[PD_SETTING_MAX];
    char user[64];
    char pidfile[PD_SETTING_MAX];
    enum pd_log_to log;
    enum pd_on_error on_error;
    char hostname[256];           /* for trace headers; "" = gethostname */
    unsigned max_connections;
    int64_t idle_timeout;
    unsigned client_warning_limit;  /* policy warnings per client and ... */
    int64_t client_warning_interval; /* ... this many seconds            */
    int64_t maintenance_interval;
    int64_t sync_interval;        /* 0: fsync every state update        */

    /* access control */
    struct pd_list access;

    /* greylisting */
    int greylist;
    int64_t greylist_delay;
    int64_t greylist_retry_window;
    int64_t greylist_max_age;
    unsigned greylist_ipv4_prefix;
    unsigned greylist_ipv6_prefix;
    unsigned greylist_awl_count;
    int greylist_training;
    int greylist_header;
    char greylist_text[512];
    struct pd_list greylist_whitelist_clients;
    struct pd_list greylist_whitelist_recipients;

    /* DNS (HELO and SPF checks) */
    char dns_server[PD_SETTING_MAX];  /* "system" or HOST:PORT list      */
    unsigned dns_timeout;             /* milliseconds per attempt        */

    /* HELO/EHLO checks */
    int helo_checks;
    enum pd_helo_act helo_act[PD_HELO_TEST_COUNT];  /* helo_TEST, per test */
    struct pd_list helo_own_names;

    /* SPF */
    int spf;
    enum pd_spf_header_type spf_header;
    int spf_helo_always;
    int spf_temperror_defer;
    int spf_permerror_reject;
    char spf_skip_addresses[PD_SETTING_MAX];
    struct pd_list spf_whitelist_clients;
    struct pd_list spf_whitelist_domains;

    /* quotas and accounting */
    struct pd_list quota;
    struct pd_list accounting;

    /* postage: reputation-priced Hashcash stamps */
    int postage;
    unsigned price_base;
    unsigned price_cap;
    char published_price[16];         /* bits, or "price_base"          */
    unsigned price_spf_credit;
    unsigned price_history_credit_max;
    unsigned price_spf_softfail_penalty;
    unsigned price_spf_other_penalty;
    unsigned price_allowance;         /* messages per price_rate_window */
    int64_t price_rate_window;
    enum pd_over_cap_action price_over_cap_action;
    int64_t reputation_half_life;
    int64_t stamp_validity;
    int64_t stamp_grace;
    enum pd_postage_header postage_header;
    enum pd_postage_kinds postage_kinds;
    unsigned argon2id_max_memory;     /* KiB */
    unsigned argon2id_max_passes;
    unsigned argon2id_max_lanes;
    unsigned argon2id_min_bits;
    unsigned argon2id_max_per_message;
    unsigned price_sha1_rate;         /* SHA-1 trials/s, reference core  */
    unsigned price_argon2id_rate;     /* KiB-passes/s, reference core    */

    /* the stamping milter (sending side, policy/frontends/stamp_milter.c) */
    char stamp_listen[PD_SETTING_MAX];    /* "": off                       */
    char stamp_clients[PD_SETTING_MAX];   /* CIDRs, comma or space separated */
    unsigned stamp_default_bits;          /* PD_STAMP_BITS_NONE: no stamp  */
    unsigned stamp_max_bits;
    int64_t stamp_timeout;                /* seconds, DNS and minting      */
    unsigned stamp_threads;               /* 0: one per online CPU         */
    enum pd_stamp_on_error stamp_on_error;
    enum pd_stamp_blind stamp_blind;
    char stamp_sendmail[PD_SETTING_MAX];  /* command and its arguments     */

    /* the metrics endpoint (policy/frontends/metrics_http.c) */
    char metrics_listen[PD_SETTING_MAX];  /* inet:HOST:PORT; "": off       */
};

/* ---- what the modules are given ----------------------------------------
 * Defined in policy/engine/build.c, where every setting becomes a
 * module's parameter; these are the conversions the tools and tests need
 * besides the engine. */

struct pd_rep_params;
struct pd_greylist_config;

/* The reputation and price parameters of @s.  Returns -1 with a message
 * naming the key when they do not make sense together. */
int pd_settings_rep_params(const struct pd_settings *s, struct pd_rep_params *out,
                           char *err, size_t errlen);

/* The HELO checks' configuration of @s: each test's action (helo_TEST),
 * its score, and own_names pointing into s->helo_own_names (valid while
 * @s is; pd_helo_config_check is the caller's).  The other parameters
 * (underscores allowed, randomisation: more than 5 names a day, IPv6
 * clients per address) are fixed. */
void pd_settings_helo_config(const struct pd_settings *s, struct pd_helo_config *cfg);

/* The greylisting module's configuration of @s (greylist_delay,
 * greylist_retry_window, greylist_max_age, greylist_awl_count,
 * greylist_training; awl_interval is the module's PD_GL_AWL_INTERVAL). */
void pd_settings_greylist_config(const struct pd_settings *s, struct pd_greylist_config *cfg);

/* The resolver's configuration of @s: servers points into s->dns_server
 * (valid while @s is), timeout_ms is dns_timeout, the rest is
 * pd_dns_config_init's. */
void pd_settings_dns_config(const struct pd_settings *s, struct pd_dns_config *cfg);

/* The SPF settings of @s over pd_spf_config_init: helo_always,
 * temperror_defer, permerror_reject, header_type, and skip_addresses
 * pointing into s->spf_skip_addresses (valid while @s is).  dns, receiver
 * and the whitelists (repeatable keys, joined by the engine) are the
 * caller's. */
void pd_settings_spf_config(const struct pd_settings *s, struct pd_spf_config *cfg);

/* The built-in defaults (pd_settings_defaults with the state directory
 * left empty), made once and kept for the life of the process: for the
 * tools and tests that run a module without a configuration file, as
 * pd_settings_greylist_config(pd_settings_builtin(), &cfg).  Read only. */
const struct pd_settings *pd_settings_builtin(void);

/* The price parameters and the HELO configuration of the built-in
 * defaults (they pass pd_rep_params_check; no own names). */
void pd_settings_rep_defaults(struct pd_rep_params *p);
void pd_settings_helo_defaults(struct pd_helo_config *cfg);

/* Fill with the built-in defaults.  state_dir_default is where `store`
 * points when not configured (chosen by the caller: /var/lib/postage for
 * root, the user's state directory otherwise). */
void pd_settings_defaults(struct pd_settings *s, const char *state_dir_default);

/* Load FILE over the defaults.  On error returns -1 and writes
 * "FILE:LINE: message" into err. */
int pd_settings_load(struct pd_settings *s, const char *file, char *err, size_t errlen);

/* Parse one "key = value" assignment (used by the loader and by tests). */
int pd_settings_set(struct pd_settings *s, const char *key, const char *value,
                    char *err, size_t errlen);

/* Release the lists. */
void pd_settings_free(struct pd_settings *s);

/* Print every key with its default and a one-line description, in the
 * format of the configuration file (postaged --defaults). */
void pd_settings_print_defaults(FILE *out);

#endif
