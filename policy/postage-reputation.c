/*
 * postage-reputation - look at and steer what postaged remembers of
 * senders: show an identity's record and the price its next clean message
 * would pay, list the top identities by volume or score, and pin or unpin
 * an identity's price.
 *
 * It finds the state store as postaged does (the same -c file, the same
 * default directory: policy/engine/config_load.c) and works on it while the
 * daemon runs: show and top read LMDB snapshots, which never block the
 * daemon, and pin and unpin are one atomic update each, like the daemon's
 * own.  It never creates a store: a missing one means postaged has not
 * run with it, and saying so beats showing an empty table.
 */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/cli.h"
#include "policy/engine/config_load.h"
#include "policy/checks/reputation.h"
#include "policy/engine/settings.h"
#include "policy/state/state.h"
#include "postage/clock.h"
#include "postage/status.h"

#define PROGRAM "postage-reputation"
#define TOP_DEFAULT 20u
#define TOP_MAX 10000u             /* rows of `top`: bounds its memory     */
#define PIN_MAX 160u               /* as pd_rep_pin: SHA-1 has 160 bits    */
#define SHOW_MAX 1000              /* identities per `show`                */
#define QUOTE_MAX 80               /* bytes of a bad argument echoed back  */
#define ID_FORMS "domain:DOMAIN, sender:NETWORK SENDER (one argument, e.g. " \
    "'sender:192.0.2.0/24 a@example.org') or ip:ADDRESS"

enum command { CMD_SHOW, CMD_TOP, CMD_PIN, CMD_UNPIN };
enum order { BY_VOLUME, BY_SCORE, BY_BAD };

static void
usage(FILE *out)
{
    fprintf(out,
"Usage: " PROGRAM " [-c FILE] [-s STORE] [--json] show IDENTITY...\n"
"       " PROGRAM " [-c FILE] [-s STORE] [--json] top [--by volume|score|bad] [-n N]\n"
"       " PROGRAM " [-c FILE] [-s STORE] pin IDENTITY BITS\n"
"       " PROGRAM " [-c FILE] [-s STORE] unpin IDENTITY\n"
"Show and steer the sender reputation postaged keeps in its state store.\n"
"\n"
"  show IDENTITY...   each identity's counters, score, rate and the price a\n"
"                     clean message would pay now\n"
"  top                the identities with the highest message rate (volume),\n"
"                     best net score (score) or worst net score (bad)\n"
"  pin IDENTITY BITS  make IDENTITY pay BITS (0-160) whatever its history\n"
"  unpin IDENTITY     let its price follow its history again\n"
"\n"
"  IDENTITY is domain:DOMAIN, 'sender:NETWORK SENDER' or ip:ADDRESS, exactly\n"
"  as postaged stores it (lowercase), e.g. domain:example.org,\n"
"  'sender:192.0.2.0/24 a@example.org', ip:192.0.2.10.\n"
"\n"
"  -c FILE        read postaged's configuration (store, price parameters);\n"
"                 default " POSTAGE_DEFAULT_CONFIG " if it exists,\n"
"                 else the built-in defaults\n"
"  -s STORE       use this store (lmdb:DIR) instead of the configured one\n"
"      --json     write one JSON document (show and top)\n"
"      --by KEY   top: volume (default), score or bad\n"
"  -n N           top: how many rows, 1-%u (default %u)\n"
"  -h, --help     show this help;  -V, --version  show the version\n"
"\n"
"Exit status: 0 done, 1 failure (no store, unknown identity, store error),\n"
"2 usage error.\n", TOP_MAX, TOP_DEFAULT);
}

/* Echo a user's argument safely: printable ASCII only, bounded. */
static void
quote(const char *s, char *out, size_t size)
{
    size_t n = 0, i;

    for (i = 0; s[i] != '\0' && n + 4 < size && i < QUOTE_MAX; i++) {
        unsigned char ch = (unsigned char) s[i];
        out[n++] = ch >= 0x20 && ch < 0x7f ? (char) ch : '?';
    }
    if (s[i] != '\0' && n + 4 <= size) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

/* Is @id an identity postaged could have stored?  Reports why not. */
static int
check_identity(const char *id)
{
    char q[QUOTE_MAX + 4];

    quote(id, q, sizeof q);
    if (!pd_rep_identity_valid(id)) {
        cli_error("'%s' is not an identity: give " ID_FORMS
                  ", printable and shorter than %d bytes", q, PD_REP_ID_MAX);
        return -1;
    }
    /* postaged lowercases identities, so a capital letter can never
     * match; pinning one would store a record nobody ever reads. */
    for (const char *p = id; *p != '\0'; p++) {
        if (*p >= 'A' && *p <= 'Z') {
            cli_error("'%s': identities are stored in lowercase; give it as postaged "
                      "stores it", q);
            return -1;
        }
    }
    return 0;
}

/* ---- formatting ---------------------------------------------------------- */

static void
format_time(int64_t t, char out[21])
{
    if (t <= 0 || postage_time_rfc3339(t, out) != POSTAGE_OK)
        snprintf(out, 21, "unknown");
}

/* A period as the configuration writes it: 1d, 12h, 90m or 3600s. */
static void
format_period(int64_t s, char *out, size_t size)
{
    if (s > 0 && s % 86400 == 0)
        snprintf(out, size, "%lldd", (long long) (s / 86400));
    else if (s > 0 && s % 3600 == 0)
        snprintf(out, size, "%lldh", (long long) (s / 3600));
    else if (s > 0 && s % 60 == 0)
        snprintf(out, size, "%lldm", (long long) (s / 60));
    else
        snprintf(out, size, "%llds", (long long) s);
}

static void
json_number(double v)
{
    /* JSON has no NaN or infinity; a record never holds one, but the
     * store's bytes are not trusted. */
    if (isfinite(v))
        printf("%.10g", v);
    else
        fputs("null", stdout);
}

static void
json_time(int64_t t)
{
    char when[21];

    if (t > 0 && postage_time_rfc3339(t, when) == POSTAGE_OK)
        printf("\"%s\"", when);
    else
        fputs("null", stdout);
}

/* Bytes of a stored key for a person: unprintable ones as '?'. */
static void
print_text_bytes(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char) s[i];
        putchar(ch >= 0x20 && ch < 0x7f ? ch : '?');
    }
}

/* ---- the store ------------------------------------------------------------ */

static void
store_failure(struct pd_state *st, const char *spec)
{
    char detail[PD_ST_ERRLEN];

    pd_state_error(st, detail, sizeof detail);
    cli_error("store %s: %s", spec, detail[0] ? detail : "failed");
}

/* postaged never writes a time before 1970; a damaged record could hold
 * one so far back that decaying it to now would overflow. */
static int
record_sane(const struct pd_rep_record *r)
{
    return r->first_seen >= 0 && r->updated_at >= 0;
}

/* Read @id's record as stored (updated_at untouched) and its expiry.
 * Returns PD_ST_OK, PD_ST_NOTFOUND, PD_ST_ERR_CALLBACK for a value that
 * is damaged or of a format this version cannot read, or the store's
 * error. */
static int
load_raw(struct pd_state *st, const char *id, int64_t now, struct pd_rep_record *r,
         int64_t *expires_at)
{
    unsigned char val[PD_ST_VALUE_MAX];
    size_t len = 0;
    int rc = pd_state_get(st, PD_TABLE_REPUTATION, id, strlen(id), now, val, sizeof val, &len,
                          expires_at);

    if (rc != PD_ST_OK)
        return rc;
    if (len > sizeof val || pd_rep_decode(val, len, r) != 0 || !record_sane(r))
        return PD_ST_ERR_CALLBACK;
    return PD_ST_OK;
}

/* ---- show ----------------------------------------------------------------- */

struct shown {
    const char *id;
    struct pd_rep_record r;        /* decayed to now                        */
    int64_t last_update;           /* as stored, before the decay           */
    int64_t expires_at;
    struct pd_price price;
};

/* The price of a clean message now: SPF passed for a "domain:" identity
 * (that is how it got the identity), nothing checked otherwise, no HELO
 * score; the client's own record is the identity's for an "ip:" one, else
 * unknown here. */
static void
clean_price(const struct pd_rep_params *p, struct shown *s, int64_t now)
{
    struct pd_rep_record fresh;
    struct pd_price_input in;
    int is_ip = strncmp(s->id, "ip:", 3) == 0;

    memset(&fresh, 0, sizeof fresh);
    fresh.updated_at = now;
    memset(&in, 0, sizeof in);
    if (strncmp(s->id, "domain:", 7) == 0) {
        in.spf_pass = 1;
        in.spf_checked = 1;
        in.spf_result = PD_SPF_PASS;
    }
    in.identity = &s->r;
    in.client = is_ip ? &s->r : &fresh;
    pd_price_compute(p, &in, &s->price);
}

static void
show_text(const struct pd_rep_params *p, const struct shown *s, int first)
{
    char t[21], window[32];

    if (!first)
        putchar('\n');
    printf("%-17s %s\n", "identity:", s->id);
    format_time(s->r.first_seen, t);
    printf("%-17s %s\n", "first seen:", t);
    format_time(s->last_update, t);
    printf("%-17s %s\n", "last update:", t);
    if (s->expires_at == PD_ST_NEVER) {
        printf("%-17s %s\n", "forgotten:", "never (pinned)");
    } else {
        format_time(s->expires_at, t);
        printf("%-17s %s\n", "forgotten:", t);
    }
    printf("%-17s %lu\n", "messages:", (unsigned long) s->r.messages);
    for (int c = 0; c < PD_REP_COUNTERS; c++) {
        char label[32];

        snprintf(label, sizeof label, "%s:", pd_rep_counter_name((enum pd_rep_counter) c));
        printf("%-17s %.2f\n", label, s->r.counter[c]);
    }
    printf("%-17s %.2f\n", "net score:", pd_rep_net(&s->r));
    printf("%-17s %s\n", "band:", pd_rep_band_name(pd_rep_band_of(pd_rep_net(&s->r))));
    format_period(p->rate_window, window, sizeof window);
    printf("%-17s %.2f messages per %s (allowance %.0f)\n", "rate per window:",
           pd_rep_rate(&s->r), window, p->allowance);
    if (s->r.pinned)
        printf("%-17s %d bits\n", "pinned:", s->r.pin_bits);
    else
        printf("%-17s %s\n", "pinned:", "no");
    if (s->price.pinned) {
        if (s->price.over_cap)
            printf("%-17s refused (pinned at %d bits, above price_cap %d)\n", "price:",
                   s->price.raw, p->cap);
        else
            printf("%-17s %d bits (pinned)\n", "price:", s->price.bits);
        return;
    }
    /* The sum as computed, then what postaged makes of it. */
    printf("%-17s ", "price:");
    if (s->price.over_cap)
        printf("refused (%d bits, above price_cap %d)", s->price.raw, p->cap);
    else if (s->price.promised)
        printf("%d bits (raw %d, lowered to published_price)", s->price.bits, s->price.raw);
    else if (s->price.raw != s->price.bits)
        printf("%d bits (raw %d, clamped)", s->price.bits, s->price.raw);
    else
        printf("%d bits", s->price.bits);
    printf(" = base %d - credit %d + penalty %d + surcharge %d\n", p->base, s->price.credit,
           s->price.penalty, s->price.surcharge);
}

static void
show_json(const struct pd_rep_params *p, const struct shown *s, int first)
{
    fputs(first ? "\n  {" : ",\n  {", stdout);
    fputs("\"identity\":", stdout);
    cli_json_string(stdout, s->id, strlen(s->id));
    fputs(",\"first_seen\":", stdout);
    json_time(s->r.first_seen);
    fputs(",\"last_update\":", stdout);
    json_time(s->last_update);
    fputs(",\"forgotten\":", stdout);
    json_time(s->expires_at == PD_ST_NEVER ? 0 : s->expires_at);
    printf(",\"messages\":%lu,\"counters\":{", (unsigned long) s->r.messages);
    for (int c = 0; c < PD_REP_COUNTERS; c++) {
        printf("%s\"%s\":", c ? "," : "", pd_rep_counter_name((enum pd_rep_counter) c));
        json_number(s->r.counter[c]);
    }
    fputs("},\"net\":", stdout);
    json_number(pd_rep_net(&s->r));
    printf(",\"band\":\"%s\",\"rate\":", pd_rep_band_name(pd_rep_band_of(pd_rep_net(&s->r))));
    json_number(pd_rep_rate(&s->r));
    printf(",\"rate_window\":%lld,\"allowance\":", (long long) p->rate_window);
    json_number(p->allowance);
    if (s->r.pinned)
        printf(",\"pinned\":%d", s->r.pin_bits);
    else
        fputs(",\"pinned\":null", stdout);
    printf(",\"price\":{\"bits\":%d,\"raw\":%d,\"over_cap\":%s,\"pinned\":%s,"
           "\"promised\":%s,\"base\":%d,\"credit\":%d,\"penalty\":%d,\"surcharge\":%d}}",
           s->price.bits, s->price.raw, s->price.over_cap ? "true" : "false",
           s->price.pinned ? "true" : "false", s->price.promised ? "true" : "false", p->base,
           s->price.credit, s->price.penalty, s->price.surcharge);
}

static int
cmd_show(struct pd_state *st, const char *spec, const struct pd_rep_params *p, int64_t now,
         char **ids, int count, int json)
{
    int status = CLI_EXIT_OK, shown = 0;

    if (json)
        putchar('[');
    for (int i = 0; i < count; i++) {
        struct shown s;
        int rc;

        memset(&s, 0, sizeof s);
        s.id = ids[i];
        rc = load_raw(st, s.id, now, &s.r, &s.expires_at);
        if (rc == PD_ST_NOTFOUND) {
            cli_error("%s: never seen (no record: not seen yet, or forgotten long ago)",
                      s.id);
            status = CLI_EXIT_FAIL;
            continue;
        }
        if (rc == PD_ST_ERR_CALLBACK) {
            cli_error("%s: the record is damaged or in a format this version cannot read",
                      s.id);
            status = CLI_EXIT_FAIL;
            continue;
        }
        if (rc != PD_ST_OK) {
            store_failure(st, spec);
            status = CLI_EXIT_FAIL;
            break;
        }
        s.last_update = s.r.updated_at;
        pd_rep_decay(&s.r, p, now);
        clean_price(p, &s, now);
        if (json)
            show_json(p, &s, shown == 0);
        else
            show_text(p, &s, shown == 0);
        shown++;
    }
    if (json)
        fputs(shown ? "\n]\n" : "]\n", stdout);
    return status;
}

/* ---- top ------------------------------------------------------------------ */

struct row {
    char id[PD_REP_ID_MAX];
    size_t idlen;
    int truncated;                 /* a long key the store abbreviated     */
    int64_t last_update;
    struct pd_rep_record r;        /* decayed to now                        */
    double net, rate;
};

struct top {
    const struct pd_rep_params *params;
    int64_t now;
    enum order by;
    unsigned cap;                  /* rows wanted                          */
    unsigned count;
    struct row *heap;              /* the best `cap` so far, worst on top   */
    unsigned long long listed, unreadable;
};

/* < 0 when a ranks before b.  Ties go by identity so the output is
 * stable from run to run. */
static int
rank_cmp(enum order by, const struct row *a, const struct row *b)
{
    double x = by == BY_VOLUME ? a->rate : a->net, y = by == BY_VOLUME ? b->rate : b->net;

    if (x != y) {
        if (by == BY_BAD)
            return x < y ? -1 : 1;
        return x > y ? -1 : 1;
    }
    size_t n = a->idlen < b->idlen ? a->idlen : b->idlen;
    int c = memcmp(a->id, b->id, n);
    if (c != 0)
        return c;
    return a->idlen < b->idlen ? -1 : a->idlen > b->idlen;
}

static enum order sort_by;

static int
qsort_cmp(const void *a, const void *b)
{
    return rank_cmp(sort_by, a, b);
}

static void
swap_rows(struct row *a, struct row *b)
{
    struct row t = *a;
    *a = *b;
    *b = t;
}

/* Keep heap[0] the worst-ranked row (a min-heap on rank). */
static void
sift_down(struct top *t, unsigned i)
{
    for (;;) {
        unsigned l = 2 * i + 1, r = l + 1, worst = i;
        if (l < t->count && rank_cmp(t->by, &t->heap[l], &t->heap[worst]) > 0)
            worst = l;
        if (r < t->count && rank_cmp(t->by, &t->heap[r], &t->heap[worst]) > 0)
            worst = r;
        if (worst == i)
            return;
        swap_rows(&t->heap[i], &t->heap[worst]);
        i = worst;
    }
}

static void
sift_up(struct top *t, unsigned i)
{
    while (i > 0) {
        unsigned parent = (i - 1) / 2;
        if (rank_cmp(t->by, &t->heap[i], &t->heap[parent]) <= 0)
            return;
        swap_rows(&t->heap[i], &t->heap[parent]);
        i = parent;
    }
}

static int
top_entry(void *ctx, const void *key, size_t keylen, const unsigned char *val, size_t vallen,
          int64_t expires_at)
{
    struct top *t = ctx;
    struct row row;

    (void) expires_at;
    t->listed++;
    memset(&row, 0, sizeof row);
    if (pd_rep_decode(val, vallen, &row.r) != 0 || !record_sane(&row.r)) {
        t->unreadable++;
        return 0;
    }
    /* A key past PD_ST_SCAN_EXACT_MAX may be abbreviated: keep only the
     * part that is the identity's own. */
    if (keylen > PD_ST_SCAN_EXACT_MAX) {
        keylen = PD_ST_SCAN_PREFIX;
        row.truncated = 1;
    }
    if (keylen >= sizeof row.id)
        keylen = sizeof row.id - 1;
    memcpy(row.id, key, keylen);
    row.idlen = keylen;
    row.last_update = row.r.updated_at;
    pd_rep_decay(&row.r, t->params, t->now);
    row.net = pd_rep_net(&row.r);
    row.rate = pd_rep_rate(&row.r);
    if (!isfinite(row.net) || !isfinite(row.rate)) {
        t->unreadable++;
        return 0;
    }
    if (t->count < t->cap) {
        t->heap[t->count++] = row;
        sift_up(t, t->count - 1);
    } else if (rank_cmp(t->by, &row, &t->heap[0]) < 0) {
        t->heap[0] = row;
        sift_down(t, 0);
    }
    return 0;
}

static const char *const order_names[] = { "volume", "score", "bad" };

static void
top_json(const struct top *t)
{
    putchar('[');
    for (unsigned i = 0; i < t->count; i++) {
        const struct row *r = &t->heap[i];

        fputs(i ? ",\n  {\"identity\":" : "\n  {\"identity\":", stdout);
        cli_json_string(stdout, r->id, r->idlen);
        printf(",\"truncated\":%s,\"rate\":", r->truncated ? "true" : "false");
        json_number(r->rate);
        fputs(",\"net\":", stdout);
        json_number(r->net);
        printf(",\"band\":\"%s\",\"messages\":%lu,\"first_seen\":",
               pd_rep_band_name(pd_rep_band_of(r->net)), (unsigned long) r->r.messages);
        json_time(r->r.first_seen);
        fputs(",\"last_update\":", stdout);
        json_time(r->last_update);
        if (r->r.pinned)
            printf(",\"pinned\":%d}", r->r.pin_bits);
        else
            fputs(",\"pinned\":null}", stdout);
    }
    fputs(t->count ? "\n]\n" : "]\n", stdout);
}

static void
top_text(const struct top *t)
{
    char num[64];
    int wrate = 4, wnet = 3, wmsg = 8;

    /* Column widths from the widest value, so the table lines up. */
    for (unsigned i = 0; i < t->count; i++) {
        const struct row *r = &t->heap[i];
        int n;

        n = snprintf(num, sizeof num, "%.2f", r->rate);
        wrate = n > wrate ? n : wrate;
        n = snprintf(num, sizeof num, "%.2f", r->net);
        wnet = n > wnet ? n : wnet;
        n = snprintf(num, sizeof num, "%lu", (unsigned long) r->r.messages);
        wmsg = n > wmsg ? n : wmsg;
    }
    printf("%*s  %*s  %-7s  %*s  %-3s  %-20s  %s\n", wrate, "RATE", wnet, "NET", "BAND", wmsg,
           "MESSAGES", "PIN", "LAST UPDATE", "IDENTITY");
    for (unsigned i = 0; i < t->count; i++) {
        const struct row *r = &t->heap[i];
        char when[21], pin[8];

        format_time(r->last_update, when);
        if (r->r.pinned)
            snprintf(pin, sizeof pin, "%d", r->r.pin_bits);
        else
            snprintf(pin, sizeof pin, "-");
        printf("%*.2f  %*.2f  %-7s  %*lu  %-3s  %-20s  ", wrate, r->rate, wnet, r->net,
               pd_rep_band_name(pd_rep_band_of(r->net)), wmsg, (unsigned long) r->r.messages,
               pin, when);
        print_text_bytes(r->id, r->idlen);
        fputs(r->truncated ? "... (truncated)\n" : "\n", stdout);
    }
    printf("(%u of %llu identities, by %s", t->count, t->listed - t->unreadable,
           order_names[t->by]);
    if (t->unreadable)
        printf("; %llu unreadable records skipped", t->unreadable);
    fputs(")\n", stdout);
}

static int
cmd_top(struct pd_state *st, const char *spec, const struct pd_rep_params *p, int64_t now,
        enum order by, unsigned n, int json)
{
    struct top t;
    int rc;

    memset(&t, 0, sizeof t);
    t.params = p;
    t.now = now;
    t.by = by;
    t.cap = n;
    t.heap = calloc(n, sizeof *t.heap);
    if (t.heap == NULL) {
        cli_error("out of memory for %u rows", n);
        return CLI_EXIT_FAIL;
    }
    rc = pd_state_scan(st, PD_TABLE_REPUTATION, now, top_entry, &t);
    if (rc != PD_ST_OK) {
        store_failure(st, spec);
        free(t.heap);
        return CLI_EXIT_FAIL;
    }
    sort_by = by;
    qsort(t.heap, t.count, sizeof *t.heap, qsort_cmp);
    if (json)
        top_json(&t);
    else
        top_text(&t);
    if (t.unreadable)
        cli_error("skipped %llu records that are damaged or in a format this version "
                  "cannot read", t.unreadable);
    free(t.heap);
    return CLI_EXIT_OK;
}

/* ---- pin and unpin -------------------------------------------------------- */

static int
cmd_pin(struct pd_state *st, const char *spec, const struct pd_rep_params *p, int64_t now,
        const char *id, int bits, const char *config)
{
    if (pd_rep_pin(st, p, id, now, bits) != PD_ST_OK) {
        store_failure(st, spec);
        return CLI_EXIT_FAIL;
    }
    printf("%s: pinned at %d bits\n", id, bits);
    /* Stored all the same: price_cap may be raised later, or the pin be
     * meant to refuse the identity's mail; but say what it does now. */
    if (bits > p->cap)
        cli_error("warning: %d bits is above price_cap %d (%s): postaged will refuse mail "
                  "from %s (price_over_cap_action) until it is unpinned or price_cap raised",
                  bits, p->cap, config, id);
    return CLI_EXIT_OK;
}

static int
cmd_unpin(struct pd_state *st, const char *spec, const struct pd_rep_params *p, int64_t now,
          const char *id)
{
    struct pd_rep_record r;
    int64_t expires_at;
    int rc = load_raw(st, id, now, &r, &expires_at);

    /* pd_rep_pin would create a record for an identity never seen. */
    if (rc == PD_ST_NOTFOUND) {
        cli_error("%s: never seen (no record), so nothing to unpin", id);
        return CLI_EXIT_FAIL;
    }
    if (rc == PD_ST_ERR_CALLBACK) {
        cli_error("%s: the record is damaged or in a format this version cannot read", id);
        return CLI_EXIT_FAIL;
    }
    if (rc != PD_ST_OK) {
        store_failure(st, spec);
        return CLI_EXIT_FAIL;
    }
    if (!r.pinned) {
        printf("%s: was not pinned\n", id);
        return CLI_EXIT_OK;
    }
    if (pd_rep_pin(st, p, id, now, -1) != PD_ST_OK) {
        store_failure(st, spec);
        return CLI_EXIT_FAIL;
    }
    printf("%s: unpinned (was %d bits)\n", id, r.pin_bits);
    return CLI_EXIT_OK;
}

/* ---- main ----------------------------------------------------------------- */

static int
usage_error(void)
{
    fprintf(stderr, "Try '" PROGRAM " --help' for more information.\n");
    return CLI_EXIT_USAGE;
}

int
main(int argc, char **argv)
{
    enum { OPT_JSON = 256, OPT_BY };
    static const struct option longopts[] = {
        { "json", no_argument, NULL, OPT_JSON },
        { "by", required_argument, NULL, OPT_BY },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    const char *file = NULL, *store = NULL;
    int json = 0, have_by = 0, have_n = 0, c;
    enum order by = BY_VOLUME;
    unsigned n = TOP_DEFAULT, bits = 0;
    enum command cmd;
    char err[1024];

    /* Fixed, not argv[0]: under libtool's wrapper that is lt-... */
    cli_set_program(PROGRAM);
    while ((c = getopt_long(argc, argv, "c:s:n:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': file = optarg; break;
        case 's':
            if (optarg[0] == '\0' || strlen(optarg) >= PD_SETTING_MAX) {
                cli_error("-s: give a store as lmdb:DIR, shorter than %d bytes",
                          PD_SETTING_MAX);
                return CLI_EXIT_USAGE;
            }
            store = optarg;
            break;
        case 'n':
            if (cli_parse_unsigned(optarg, TOP_MAX, &n) != 0 || n == 0) {
                char q[QUOTE_MAX + 4];
                quote(optarg, q, sizeof q);
                cli_error("-n: '%s' is not a number of rows from 1 to %u", q, TOP_MAX);
                return CLI_EXIT_USAGE;
            }
            have_n = 1;
            break;
        case OPT_BY:
            if (strcmp(optarg, "volume") == 0) {
                by = BY_VOLUME;
            } else if (strcmp(optarg, "score") == 0) {
                by = BY_SCORE;
            } else if (strcmp(optarg, "bad") == 0) {
                by = BY_BAD;
            } else {
                char q[QUOTE_MAX + 4];
                quote(optarg, q, sizeof q);
                cli_error("--by: '%s' is not volume, score or bad", q);
                return CLI_EXIT_USAGE;
            }
            have_by = 1;
            break;
        case OPT_JSON: json = 1; break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        case 'V': printf(PROGRAM " (postage) %s\n", PACKAGE_VERSION); return CLI_EXIT_OK;
        default: return usage_error();
        }
    }

    if (optind >= argc) {
        cli_error("no command: give show, top, pin or unpin");
        return usage_error();
    }
    const char *name = argv[optind++];
    int nargs = argc - optind;
    char **args = argv + optind;
    if (strcmp(name, "show") == 0) {
        cmd = CMD_SHOW;
        if (nargs < 1 || nargs > SHOW_MAX) {
            cli_error("show: give 1 to %d identities", SHOW_MAX);
            return usage_error();
        }
        for (int i = 0; i < nargs; i++)
            if (check_identity(args[i]) != 0)
                return CLI_EXIT_USAGE;
    } else if (strcmp(name, "top") == 0) {
        cmd = CMD_TOP;
        if (nargs != 0) {
            char q[QUOTE_MAX + 4];
            quote(args[0], q, sizeof q);
            cli_error("top: unexpected argument '%s'", q);
            return usage_error();
        }
    } else if (strcmp(name, "pin") == 0) {
        cmd = CMD_PIN;
        if (nargs != 2) {
            cli_error("pin: give IDENTITY BITS");
            return usage_error();
        }
        if (check_identity(args[0]) != 0)
            return CLI_EXIT_USAGE;
        if (cli_parse_unsigned(args[1], PIN_MAX, &bits) != 0) {
            char q[QUOTE_MAX + 4];
            quote(args[1], q, sizeof q);
            cli_error("pin: BITS '%s' is not a whole number from 0 to %u", q, PIN_MAX);
            return CLI_EXIT_USAGE;
        }
    } else if (strcmp(name, "unpin") == 0) {
        cmd = CMD_UNPIN;
        if (nargs != 1) {
            cli_error("unpin: give one IDENTITY");
            return usage_error();
        }
        if (check_identity(args[0]) != 0)
            return CLI_EXIT_USAGE;
    } else {
        char q[QUOTE_MAX + 4];
        quote(name, q, sizeof q);
        cli_error("unknown command '%s': give show, top, pin or unpin", q);
        return usage_error();
    }
    if ((have_by || have_n) && cmd != CMD_TOP) {
        cli_error("--by and -n go with top only");
        return usage_error();
    }
    if (json && (cmd == CMD_PIN || cmd == CMD_UNPIN)) {
        cli_error("--json goes with show and top only");
        return usage_error();
    }

    /* The configuration: the store, and the parameters the decay and the
     * price depend on, exactly as postaged would read them. */
    struct pd_settings settings;
    struct pd_rep_params params;
    if (file == NULL)
        file = pd_config_default_file();   /* as postaged (config_load.h) */
    if (pd_config_load(&settings, file, err, sizeof err) != 0) {
        cli_error("%s", err);
        return CLI_EXIT_FAIL;
    }
    if (pd_settings_rep_params(&settings, &params, err, sizeof err) != 0) {
        cli_error("%s: %s", file ? file : "built-in defaults", err);
        pd_settings_free(&settings);
        return CLI_EXIT_FAIL;
    }
    char spec[PD_SETTING_MAX];
    snprintf(spec, sizeof spec, "%s", store ? store : settings.store);
    pd_settings_free(&settings);

    struct pd_state *st = NULL;
    int rc = pd_state_open(spec, PD_ST_NOCREATE, &st, err, sizeof err);
    if (rc == PD_ST_ERR_NOSTORE) {
        cli_error("store %s does not exist yet: postaged has not run with it "
                  "(configuration: %s; check -c or -s) (%s)", spec,
                  file ? file : "built-in defaults", err);
        return CLI_EXIT_FAIL;
    }
    if (rc == PD_ST_ERR_INVALID) {
        cli_error("store %s: %s", spec, err);
        return store ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
    }
    if (rc != PD_ST_OK) {
        cli_error("store %s: %s", spec, err);
        return CLI_EXIT_FAIL;
    }

    int64_t now = (int64_t) time(NULL);
    int status;
    switch (cmd) {
    case CMD_SHOW: status = cmd_show(st, spec, &params, now, args, nargs, json); break;
    case CMD_TOP: status = cmd_top(st, spec, &params, now, by, n, json); break;
    case CMD_PIN:
        status = cmd_pin(st, spec, &params, now, args[0], (int) bits,
                         file ? file : "built-in defaults");
        break;
    case CMD_UNPIN: default: status = cmd_unpin(st, spec, &params, now, args[0]); break;
    }
    pd_state_close(st);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("writing the output failed");
        return CLI_EXIT_FAIL;
    }
    return status;
}
