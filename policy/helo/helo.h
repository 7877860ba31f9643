/*
 * helo.h - postaged's CheckHelo module (shared/spec/mail-policy.md
 * section 3c), done as a careful postmaster would want it: what the
 * HELO/EHLO argument says about the client, as structured results that a
 * per-test action table turns into a verdict and a score.
 *
 * Four layers, each usable alone:
 *
 *   pd_helo_syntax      the RFC 5321 shape of the argument (domain or
 *                       address literal) and the pure local checks:
 *                       localhost, our own names and addresses, a literal
 *                       that is not the client's address.  No I/O.
 *   pd_helo_dns_*       decisions over DNS answers the caller supplies
 *                       (the module never resolves anything itself): the
 *                       name resolves, it resolves to the client, the
 *                       client has forward-confirmed reverse DNS.  A
 *                       SERVFAIL or timeout is a TEMPORARY outcome, never a
 *                       failure.  pd_helo_dns_collect fills the answers
 *                       through a small callback interface (struct
 *                       pd_helo_resolver) that a real resolver implements.
 *   pd_helo_track       HELO randomisation: distinct names per client in a
 *                       sliding window, in the state store's "helo" table.
 *   pd_helo_check       all of the above for one recipient, then the
 *                       action table: a pd_verdict plus a score.
 *
 * Decisions (see helo_syntax.c and helo_check.c for the reasons):
 *   - A single trailing dot is accepted and dropped ("MAIL.EXAMPLE.ORG."
 *     is mail.example.org); "a..b", ".a.b" and "." are syntax errors.
 *   - Underscores are accepted in labels by default (Windows host names
 *     send them; DNS itself allows them); allow_underscore = 0 refuses.
 *   - A-labels ("xn--...") are ordinary LDH labels.  Raw UTF-8 (and any
 *     byte >= 0x80) is a syntax error: EHLO precedes any SMTPUTF8
 *     negotiation, so a conforming client sends A-labels.
 *   - Names: labels 1..63, total <= 253 characters without the trailing
 *     dot (255 octets on the wire), no leading/trailing hyphen, and the
 *     last label not all digits (RFC 3696 section 2); all-numeric dotted
 *     names ("10.1.1", "300.1.1.1") count as bare IP addresses.
 *   - Literals: "[a.b.c.d]" with RFC 5321 Snum octets (1..3 decimal
 *     digits, 0..255, leading zeros read as decimal), "[IPv6:...]" (tag
 *     case-insensitive) with the RFC 4291 text forms including an
 *     embedded IPv4 tail and a "::" for a single group (RFC 5321's
 *     grammar requires "::" to stand for at least two groups; RFC 4291
 *     allows one, and refusing that would punish a harmless spelling),
 *     no zone ("%eth0").  A General-address-literal "[tag:content]" is
 *     valid syntax, but no tag other than IPv6 is registered, so it can
 *     never equal the client: it fails the literal test.
 *   - Self-connections are exempt: "localhost" or a loopback literal from
 *     a loopback client, and our own name or address from one of our own
 *     addresses, are PD_HELO_OK_LOCAL (a content filter reinjecting mail).
 */
#ifndef POSTAGE_POLICY_HELO_H
#define POSTAGE_POLICY_HELO_H

#include <stddef.h>
#include <stdint.h>

#include "policy/base/netaddr.h"
#include "policy/checks/verdict.h"

struct pd_state;

/* Longest domain name, in characters, without a trailing dot. */
#define PD_HELO_NAME_MAX 253
/* Input beyond this many bytes is not even scanned (it is a syntax error
 * whatever it holds); the longest valid argument is an IPv6 literal or a
 * 253-character name plus its dot. */
#define PD_HELO_INPUT_MAX 512

/* ---- syntax --------------------------------------------------------------- */

enum pd_helo_syntax {
    PD_HELO_OK_FQDN = 0,          /* a fully qualified domain name           */
    PD_HELO_OK_LITERAL,           /* an address literal equal to the client  */
    PD_HELO_OK_LOCAL,             /* a self-connection (see above)           */
    PD_HELO_BAD_EMPTY,            /* no HELO/EHLO at all                     */
    PD_HELO_BAD_BARE_IP,          /* "192.0.2.1" instead of "[192.0.2.1]"    */
    PD_HELO_BAD_SINGLE_LABEL,     /* "WIN-ABC123", "example"                 */
    PD_HELO_BAD_LOCALHOST,        /* localhost, *.localhost, [127.0.0.1] ... */
    PD_HELO_BAD_SYNTAX,           /* malformed; parsed.defect says how       */
    PD_HELO_BAD_OWN_NAME,         /* one of our names or addresses           */
    PD_HELO_BAD_LITERAL_MISMATCH  /* a literal that is not the client        */
};

/* Why a HELO is PD_HELO_BAD_SYNTAX. */
enum pd_helo_defect {
    PD_HELO_DEF_NONE = 0,
    PD_HELO_DEF_TOO_LONG,         /* more than 253 characters                */
    PD_HELO_DEF_EMPTY_LABEL,      /* "a..b", ".a", "."                       */
    PD_HELO_DEF_LABEL_TOO_LONG,   /* a label of more than 63 characters      */
    PD_HELO_DEF_HYPHEN,           /* a label starts or ends with '-'         */
    PD_HELO_DEF_UNDERSCORE,       /* '_' with allow_underscore off           */
    PD_HELO_DEF_BAD_CHAR,         /* space, control or punctuation           */
    PD_HELO_DEF_NON_ASCII,        /* raw UTF-8 or any byte >= 0x80           */
    PD_HELO_DEF_NUMERIC_TLD,      /* "host.123"                              */
    PD_HELO_DEF_LITERAL_OPEN,     /* "[...": brackets not balanced           */
    PD_HELO_DEF_LITERAL_IPV4,     /* "[300.1.1.1]"                           */
    PD_HELO_DEF_LITERAL_IPV6,     /* "[IPv6:zz]"                             */
    PD_HELO_DEF_LITERAL_GENERAL   /* "[]", "[name]", "[tag:bad content]"     */
};

enum pd_helo_literal {
    PD_HELO_LIT_NONE = 0,
    PD_HELO_LIT_V4,               /* [192.0.2.1]                             */
    PD_HELO_LIT_V6,               /* [IPv6:2001:db8::1]                      */
    PD_HELO_LIT_GENERAL           /* [tag:content], tag not IPv6             */
};

struct pd_helo_parsed {
    enum pd_helo_defect defect;
    enum pd_helo_literal literal;
    /* The literal's address (LIT_V4/LIT_V6) or a bare IP's; an
     * IPv4-mapped IPv6 address is stored as IPv4, as in netaddr.h. */
    struct pd_addr addr;
    /* A name (FQDN, single label, localhost, own name): lower case,
     * without the trailing dot; "" otherwise. */
    char name[PD_HELO_NAME_MAX + 1];
    unsigned labels;              /* labels in name                          */
    int trailing_dot;             /* the argument ended in '.'               */
    int underscore;               /* some label holds '_'                    */
    int idn;                      /* some label is an A-label ("xn--")      */
};

/* ---- configuration and the action table -------------------------------- */

/* The tests, in the order their failures explain a verdict. */
enum pd_helo_test {
    PD_HELO_TEST_MISSING = 0,     /* no HELO/EHLO was given                  */
    PD_HELO_TEST_SYNTAX,          /* malformed                               */
    PD_HELO_TEST_BARE_IP,         /* an address not written as a literal     */
    PD_HELO_TEST_SINGLE_LABEL,    /* not fully qualified                     */
    PD_HELO_TEST_LOCALHOST,
    PD_HELO_TEST_OWN,             /* claims to be us                         */
    PD_HELO_TEST_LITERAL,         /* a literal other than the client's       */
    PD_HELO_TEST_RESOLVE,         /* DNS: the name has no A/AAAA record      */
    PD_HELO_TEST_MATCH,           /* DNS: no A/AAAA record is the client     */
    PD_HELO_TEST_FCRDNS,          /* DNS: client lacks forward-confirmed PTR */
    PD_HELO_TEST_RANDOM,          /* too many distinct names in the window   */
    PD_HELO_TEST_COUNT
};

enum pd_helo_act {
    PD_HELO_ACT_OFF = 0,          /* the test is not run                     */
    PD_HELO_ACT_SCORE,            /* a failure only adds its score           */
    PD_HELO_ACT_DEFER,            /* a failure defers (4xx) and scores       */
    PD_HELO_ACT_REJECT            /* a failure rejects (5xx) and scores;     */
                                  /* a temporary DNS failure only defers     */
};

struct pd_helo_rule {
    enum pd_helo_act act;
    int score;                    /* added when the test fails (any act)     */
};

/* The randomisation record holds this many names; random_limit must be
 * below it so that "more than random_limit" can be seen. */
#define PD_HELO_RANDOM_SLOTS 9
#define PD_HELO_RANDOM_LIMIT_MAX (PD_HELO_RANDOM_SLOTS - 1)
/* Longest window: ages are kept in 32 bits (see helo_track.c). */
#define PD_HELO_RANDOM_WINDOW_MAX ((int64_t) 1 << 29)

struct pd_helo_config {
    /* Our own host names (any case, trailing dot allowed) and addresses;
     * the caller owns the arrays, which must outlive the config. */
    const char *const *own_names;
    size_t own_name_count;
    const struct pd_addr *own_addrs;
    size_t own_addr_count;
    int allow_underscore;         /* default 1                               */
    struct pd_helo_rule rule[PD_HELO_TEST_COUNT];
    /* Randomisation: flagged when more than random_limit (1..8) distinct
     * names were used within random_window seconds (1..2^29). */
    unsigned random_limit;        /* default 5                               */
    int64_t random_window;        /* default 86400                           */
    /* IPv6 clients are tracked per network of this many bits (default
     * 128: per address; 64 follows one host that rotates addresses but
     * lumps together the VMs of a provider that shares a /64). */
    unsigned random_v6_prefix;
};

/* 0 if the config is usable, else -1 with a reason in err. */
int pd_helo_config_check(const struct pd_helo_config *cfg, char *err, size_t errlen);

/* "missing", "syntax", "bare_ip", ... (for settings and logs), or "?". */
const char *pd_helo_test_name(enum pd_helo_test test);
/* The inverse of pd_helo_test_name (exact length len): 0 and *out, or -1. */
int pd_helo_test_parse(const char *word, size_t len, enum pd_helo_test *out);
/* "off", "score", "defer", "reject" (case-insensitive) and back. */
const char *pd_helo_act_name(enum pd_helo_act act);
int pd_helo_act_parse(const char *word, size_t len, enum pd_helo_act *out);

/**
 * pd_helo_syntax - classify a HELO/EHLO argument.
 * @helo:   the argument as the client sent it (NUL-terminated; NULL is
 *          treated as "").
 * @cfg:    own names and addresses, allow_underscore; NULL: no own
 *          checks, underscores allowed.
 * @client: the client's address, or NULL (or family NONE) if unknown:
 *          then a literal is not compared and nothing is a
 *          self-connection.
 * @out:    details (may be NULL).
 *
 * The checks run in this order, the first that applies wins: empty;
 * literal (malformed, loopback, own, mismatch); bare IP (loopback, own);
 * domain syntax; localhost names; own names; single label.
 */
enum pd_helo_syntax pd_helo_syntax(const char *helo, const struct pd_helo_config *cfg,
                                   const struct pd_addr *client, struct pd_helo_parsed *out);

/* The class as a log word ("fqdn", "bare_ip", "own_name", ...). */
const char *pd_helo_syntax_name(enum pd_helo_syntax s);
/* A short English description ("label longer than 63 characters"), used
 * in reply texts. */
const char *pd_helo_defect_text(enum pd_helo_defect d);

/* Do two addresses denote the same host?  IPv4-mapped IPv6 equals IPv4. */
int pd_helo_addr_equal(const struct pd_addr *a, const struct pd_addr *b);

/* ---- DNS answers and decisions -------------------------------------------- */

/* What one DNS query gave.  UNASKED (zero) means the query was not made
 * and counts neither way. */
enum pd_helo_rcode {
    PD_HELO_RC_UNASKED = 0,
    PD_HELO_RC_NOERROR,           /* an answer; no records = NODATA          */
    PD_HELO_RC_NXDOMAIN,          /* the name does not exist                 */
    PD_HELO_RC_SERVFAIL,          /* temporary                               */
    PD_HELO_RC_TIMEOUT,           /* temporary                               */
    PD_HELO_RC_ERROR              /* any other failure (REFUSED, network...):*/
                                  /* temporary                               */
};

#define PD_HELO_DNS_ADDRS 16      /* addresses kept per query                */
#define PD_HELO_DNS_PTRS 8        /* PTR names checked per client            */

struct pd_helo_addrs {
    enum pd_helo_rcode rcode;
    unsigned count;               /* used entries of addr (<= DNS_ADDRS)     */
    struct pd_addr addr[PD_HELO_DNS_ADDRS];
};

/* The A and AAAA answers for one name. */
struct pd_helo_fwd {
    struct pd_helo_addrs a, aaaa;
};

/* The PTR answer for the client and the forward answers of each name. */
struct pd_helo_ptr {
    enum pd_helo_rcode rcode;
    unsigned count;               /* used entries of name/fwd (<= DNS_PTRS)  */
    char name[PD_HELO_DNS_PTRS][PD_HELO_NAME_MAX + 2];
    struct pd_helo_fwd fwd[PD_HELO_DNS_PTRS];
};

/* Everything pd_helo_check may use; have_* = 0 means "not looked up"
 * and the tests that need it are not run. */
struct pd_helo_dns {
    int have_helo;
    struct pd_helo_fwd helo;      /* A/AAAA of the HELO name                 */
    int have_ptr;
    struct pd_helo_ptr ptr;       /* PTR of the client address               */
};

enum pd_helo_outcome {
    PD_HELO_NOT_RUN = 0,
    PD_HELO_PASS,
    PD_HELO_FAIL,                 /* a permanent, known failure              */
    PD_HELO_TEMP                  /* could not tell (DNS failure)            */
};

const char *pd_helo_outcome_name(enum pd_helo_outcome o);

/* Does the name have an address?  PASS if either query returned one;
 * else TEMP if either failed temporarily; else FAIL (NXDOMAIN, NODATA). */
enum pd_helo_outcome pd_helo_dns_resolves(const struct pd_helo_fwd *fwd);

/* Is the client among the name's addresses?  PASS if so; else TEMP if
 * the query of the client's own family failed temporarily; else FAIL. */
enum pd_helo_outcome pd_helo_dns_matches(const struct pd_helo_fwd *fwd,
                                         const struct pd_addr *client);

/* Forward-confirmed reverse DNS: PASS if some syntactically valid PTR
 * name has the client among its addresses; TEMP if the PTR query, or the
 * forward query of a name that could have confirmed it, failed
 * temporarily; else FAIL (no PTR, NXDOMAIN, nothing confirms). */
enum pd_helo_outcome pd_helo_dns_fcrdns(const struct pd_helo_ptr *ptr,
                                        const struct pd_addr *client);

/*
 * The callback interface a resolver implements.  Both calls are
 * synchronous from the module's view and must bound their own time (a
 * timeout is reported as PD_HELO_RC_TIMEOUT, never waited out here).
 *   lookup_addr: the A (family PD_ADDR_V4) or AAAA (PD_ADDR_V6) records
 *                of `name` (lower case, no trailing dot); set out->rcode
 *                and at most PD_HELO_DNS_ADDRS addresses.  out is zeroed.
 *   lookup_ptr:  the PTR names of `addr`; set out->rcode, out->count and
 *                out->name[i] (NUL-terminated; fwd[] is ignored and filled
 *                by the module).  out is zeroed.
 */
struct pd_helo_resolver {
    void *ctx;
    void (*lookup_addr)(void *ctx, const char *name, enum pd_addr_family family,
                        struct pd_helo_addrs *out);
    void (*lookup_ptr)(void *ctx, const struct pd_addr *addr, struct pd_helo_ptr *out);
};

/* Which lookups pd_helo_check could use, given the config and the
 * syntax result: PD_HELO_WANT_* bits (0 when none is needed, e.g. for a
 * literal, a syntax failure, or with the DNS tests off). */
#define PD_HELO_WANT_FWD 1u
#define PD_HELO_WANT_PTR 2u
unsigned pd_helo_dns_wanted(const struct pd_helo_config *cfg, enum pd_helo_syntax s,
                            const struct pd_addr *client);

/*
 * pd_helo_dns_collect - make the lookups in `want` through `r` and fill
 * `out` (zeroed first).  Only what the decisions need is asked: the HELO
 * name's records of the client's family first and the other family only
 * if that gave no address; for FCrDNS, the PTR names (the first
 * PD_HELO_DNS_PTRS names the resolver gives; those that are not valid
 * host names are skipped) and their records of the client's family.
 * Whatever the callbacks return is clamped (counts) and NUL-terminated,
 * so a broken resolver cannot overrun anything.
 */
void pd_helo_dns_collect(const struct pd_helo_resolver *r, unsigned want,
                         const char *name, const struct pd_addr *client,
                         struct pd_helo_dns *out);

/* ---- randomisation ----------------------------------------------------------- */

/**
 * pd_helo_track - record that @client said @helo at @now and count the
 * distinct names it used within the window (this one included).
 * Names are compared after lower-casing and dropping a trailing dot.
 * @distinct: receives the count (1..PD_HELO_RANDOM_SLOTS).
 * Returns PD_ST_OK, PD_ST_ERR_INVALID (bad arguments or config) or the
 * store's error.
 */
int pd_helo_track(struct pd_state *st, const struct pd_helo_config *cfg,
                  const struct pd_addr *client, const char *helo, int64_t now,
                  unsigned *distinct);

/* ---- everything together ----------------------------------------------------- */

struct pd_helo_result {
    enum pd_helo_syntax syntax;
    struct pd_helo_parsed parsed;
    enum pd_helo_outcome outcome[PD_HELO_TEST_COUNT];
    unsigned distinct;            /* randomisation count; 0 if not tracked   */
    int score;                    /* sum of the failed tests' scores         */
    /* The test whose text the verdict carries; PD_HELO_TEST_COUNT for
     * DUNNO. */
    enum pd_helo_test decided_by;
    int temporary;                /* the verdict comes from a DNS failure    */
    /* DUNNO, REJECT or DEFER; text "CODE X.Y.Z Invalid HELO/EHLO; ..." */
    struct pd_verdict verdict;
    char reason[256];             /* for the log; the HELO shown escaped     */
};

/**
 * pd_helo_check - run every enabled test and apply the action table.
 * @cfg:    the configuration (pd_helo_config_check must accept it).
 * @st:     the state store for randomisation, or NULL to skip it.
 * @helo:   the HELO/EHLO argument ("" or NULL: none was given).
 * @client: the client's address, or NULL if unknown (then the literal,
 *          FCrDNS, match and randomisation tests are not run).
 * @dns:    answers for the DNS tests, or NULL (those tests not run).
 * @now:    the current time (UTC seconds); only randomisation uses it.
 * @out:    the result.
 *
 * The verdict: REJECT if some test failed permanently with act REJECT;
 * else DEFER if some test failed with act DEFER, or a DNS test with act
 * REJECT or DEFER came out TEMP; else DUNNO.  The text is that of the
 * first such test in enum order.  A TEMP outcome never adds a score (it
 * is no evidence) and never rejects.
 *
 * Returns PD_ST_OK; PD_ST_ERR_INVALID (bad config or out == NULL); or the
 * store's error, in which case @out holds the result of every other test
 * and the caller decides (e.g. by on_error) what to do.
 */
int pd_helo_check(const struct pd_helo_config *cfg, struct pd_state *st, const char *helo,
                  const struct pd_addr *client, const struct pd_helo_dns *dns, int64_t now,
                  struct pd_helo_result *out);

#endif
