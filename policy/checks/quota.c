/*
 * quota.c - rolling quotas and calendar accounting (policy/checks/quota.h), kept
 * in the "quota" and "accounting" tables of the state store.
 *
 * Key (both tables): rule name NUL track name NUL tracked value.
 *
 * Rolling value, version 1, 25 bytes, big-endian:
 *   [0] version = 1  [1..8] count in thousandths  [9..16] bytes
 *   [17..24] time of the last update
 * It expires `window` seconds after its last update, when it has decayed
 * to zero anyway.
 *
 * Accounting value, version 1, 25 bytes, big-endian:
 *   [0] version = 1  [1..8] bucket start  [9..16] messages  [17..24] bytes
 * One entry per track key holds only the current bucket: a value from an
 * older bucket reads as zero, and it expires at its bucket's end, so no
 * row per period piles up (PolicyD's accounting table never shrinks).
 *
 * Counters saturate instead of wrapping; a saturated counter is simply
 * over every limit.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "policy/checks/quota.h"
#include "policy/state/state.h"

#define Q_VERSION 1
#define Q_LEN 25
#define MILLI 1000u
#define KEY_MAX (PD_QUOTA_NAME_MAX + 1 + 16 + 1 + PD_QUOTA_VALUE_MAX)
/* Calendar arithmetic is kept to years 1 .. 9999, far inside int64. */
#define CAL_MIN (-62135596800LL)
#define CAL_MAX 253402300799LL

static const char *const track_names[] = {
    "sender", "sender_domain", "client_address", "client_network", "sasl_username",
    "recipient"
};
#define TRACK_COUNT (sizeof track_names / sizeof track_names[0])

const char *
pd_track_name(enum pd_track track)
{
    if ((unsigned) track >= TRACK_COUNT)
        return "?";
    return track_names[track];
}

int
pd_track_parse(const char *word, enum pd_track *out)
{
    size_t i;

    if (word == NULL || out == NULL)
        return -1;
    for (i = 0; i < TRACK_COUNT; i++) {
        if (strcmp(word, track_names[i]) == 0) {
            *out = (enum pd_track) i;
            return 0;
        }
    }
    return -1;
}

int
pd_period_parse(const char *word, enum pd_quota_period *out)
{
    if (word == NULL || out == NULL)
        return -1;
    if (strcmp(word, "day") == 0)
        *out = PD_PERIOD_DAY;
    else if (strcmp(word, "week") == 0)
        *out = PD_PERIOD_WEEK;
    else if (strcmp(word, "month") == 0)
        *out = PD_PERIOD_MONTH;
    else
        return -1;
    return 0;
}

int
pd_quota_per_recipient(const struct pd_quota *q)
{
    return q != NULL && q->track == PD_TRACK_RECIPIENT;
}

static uint64_t
add_u64(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t
mul_u64(uint64_t a, uint64_t b)
{
    return (b != 0 && a > UINT64_MAX / b) ? UINT64_MAX : a * b;
}

uint64_t
pd_quota_decay(uint64_t stored, int64_t elapsed, int64_t window)
{
    uint64_t w, left;

    if (elapsed <= 0)
        return stored;
    if (window <= 0 || elapsed >= window)
        return 0;
    w = (uint64_t) window;
    left = w - (uint64_t) elapsed;
    /* stored * left / w without a 128-bit product: the remainder part is
     * below w * w, and w is bounded by PD_QUOTA_WINDOW_MAX < 2^29. */
    return (stored / w) * left + (stored % w) * left / w;
}

/* ---- the calendar (proleptic Gregorian, UTC) ------------------------------- */

static int64_t
floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Days since 1970-01-01 of y-m-d (H. Hinnant's days_from_civil). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = floor_div(y, 400);
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, unsigned *m)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = floor_div(z, 146097);
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *m = (unsigned) (mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

int
pd_quota_bucket(enum pd_quota_period period, int64_t now, int64_t *start, int64_t *end)
{
    int64_t day, s, e, y;
    unsigned m;

    if (start == NULL || end == NULL || now < CAL_MIN || now > CAL_MAX)
        return -1;
    day = floor_div(now, 86400);
    switch (period) {
    case PD_PERIOD_DAY:
        s = day;
        e = day + 1;
        break;
    case PD_PERIOD_WEEK:
        /* 1970-01-01 was a Thursday: (day + 3) mod 7 is 0 on Mondays. */
        s = day - (day + 3 - floor_div(day + 3, 7) * 7);
        e = s + 7;
        break;
    case PD_PERIOD_MONTH:
        civil_from_days(day, &y, &m);
        s = days_from_civil(y, m, 1);
        e = m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1);
        break;
    case PD_PERIOD_ROLLING:
    default:
        return -1;
    }
    *start = s * 86400;
    *end = e * 86400;
    return 0;
}

/* ---- keys --------------------------------------------------------------------- */

static int
valid_rule(const struct pd_quota *q)
{
    size_t n;

    if (q == NULL || q->name == NULL || (unsigned) q->track >= TRACK_COUNT)
        return 0;
    n = strlen(q->name);
    if (n == 0 || n > PD_QUOTA_NAME_MAX)
        return 0;
    switch (q->period) {
    case PD_PERIOD_ROLLING:
        return q->window > 0 && q->window <= PD_QUOTA_WINDOW_MAX;
    case PD_PERIOD_DAY:
    case PD_PERIOD_WEEK:
    case PD_PERIOD_MONTH:
        return 1;
    default:
        return 0;
    }
}

static size_t
append_lower(char *dst, const char *src, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? (char) (src[i] - 'A' + 'a') : src[i];
    return n;
}

/* Build the key; 0 on success, -1 if the tracked value is missing or long. */
static int
make_key(const struct pd_quota *q, const struct pd_quota_subject *s, char *key, size_t *klen)
{
    const char *v = NULL, *tn = track_names[q->track];
    size_t n = 0, nl = strlen(q->name), tl = strlen(tn);
    int required = 1;

    if (s == NULL)
        return -1;
    switch (q->track) {
    case PD_TRACK_SENDER:
        v = (s->sender != NULL && s->sender[0] != '\0') ? s->sender : "<>";
        break;
    case PD_TRACK_SENDER_DOMAIN:
        if (s->sender == NULL || s->sender[0] == '\0') {
            v = "<>";
        } else {
            const char *at = strrchr(s->sender, '@');

            v = at != NULL ? at + 1 : "";
            required = 0;
        }
        break;
    case PD_TRACK_CLIENT_ADDRESS:
        v = s->client_address;
        break;
    case PD_TRACK_CLIENT_NET:
        v = s->client_net;
        break;
    case PD_TRACK_SASL_USER:
        v = (s->sasl_username != NULL && s->sasl_username[0] != '\0') ? s->sasl_username : "-";
        break;
    case PD_TRACK_RECIPIENT:
        v = s->recipient;
        break;
    }
    if (v == NULL)
        return -1;
    n = strlen(v);
    if ((required && n == 0) || n > PD_QUOTA_VALUE_MAX)
        return -1;
    memcpy(key, q->name, nl);
    key[nl] = '\0';
    memcpy(key + nl + 1, tn, tl);
    key[nl + 1 + tl] = '\0';
    *klen = nl + 1 + tl + 1 + append_lower(key + nl + 1 + tl + 1, v, n);
    return 0;
}

/* ---- counters ------------------------------------------------------------------- */

struct counter {
    uint64_t count_milli;
    uint64_t bytes;
    int64_t bucket_start, bucket_end;
};

/* The counter's current worth at `now` from a stored value (or none). */
static void
current(const struct pd_quota *q, const unsigned char *v, size_t vlen, int64_t now,
        struct counter *c)
{
    c->count_milli = 0;
    c->bytes = 0;
    if (q->period == PD_PERIOD_ROLLING) {
        c->bucket_start = c->bucket_end = 0;
        if (v != NULL && vlen == Q_LEN && v[0] == Q_VERSION) {
            int64_t last = pd_st_get_i64(v + 17);
            int64_t elapsed = 0;

            if (now > last) {
                /* In unsigned arithmetic: now - last may not fit in int64. */
                uint64_t d = (uint64_t) now - (uint64_t) last;

                elapsed = d > (uint64_t) INT64_MAX ? INT64_MAX : (int64_t) d;
            }
            c->count_milli = pd_quota_decay(pd_st_get_u64(v + 1), elapsed, q->window);
            c->bytes = pd_quota_decay(pd_st_get_u64(v + 9), elapsed, q->window);
        }
        return;
    }
    /* Callers have checked that the bucket exists. */
    pd_quota_bucket(q->period, now, &c->bucket_start, &c->bucket_end);
    if (v != NULL && vlen == Q_LEN && v[0] == Q_VERSION
        && pd_st_get_i64(v + 1) == c->bucket_start) {
        c->count_milli = mul_u64(pd_st_get_u64(v + 9), MILLI);
        c->bytes = pd_st_get_u64(v + 17);
    }
}

/* Fill the result: over when `count_milli + add_milli` or `bytes + size`
 * passes a limit. */
static void
judge(const struct pd_quota *q, const struct counter *c, uint64_t add_milli, uint64_t size,
      struct pd_quota_result *out)
{
    uint64_t limit_milli = mul_u64(q->max_count, MILLI);

    memset(out, 0, sizeof *out);
    out->count_milli = c->count_milli;
    out->bytes = c->bytes;
    out->bucket_start = c->bucket_start;
    out->bucket_end = c->bucket_end;
    out->over_count = q->max_count > 0 && add_u64(c->count_milli, add_milli) > limit_milli;
    out->over_bytes = q->max_bytes > 0 && add_u64(c->bytes, size) > q->max_bytes;
    out->over = out->over_count || out->over_bytes;
    out->verdict.action = PD_DUNNO;
    if (!out->over)
        return;
    out->verdict.action = q->action == PD_DUNNO ? PD_DEFER : q->action;
    if (q->text != NULL && q->text[0] != '\0')
        snprintf(out->verdict.text, sizeof out->verdict.text, "%s", q->text);
    else
        snprintf(out->verdict.text, sizeof out->verdict.text,
                 "Policy rejection; Message %s quota exceeded",
                 out->over_count ? "count" : "size");
}

static int
prepare(const struct pd_quota *q, const struct pd_quota_subject *subj, int64_t now,
        char *key, size_t *klen)
{
    int64_t s, e;

    if (!valid_rule(q))
        return PD_ST_ERR_INVALID;
    if (q->period != PD_PERIOD_ROLLING && pd_quota_bucket(q->period, now, &s, &e) != 0)
        return PD_ST_ERR_INVALID;
    if (make_key(q, subj, key, klen) != 0)
        return PD_ST_ERR_INVALID;
    return PD_ST_OK;
}

static enum pd_table
table_of(const struct pd_quota *q)
{
    return q->period == PD_PERIOD_ROLLING ? PD_TABLE_QUOTA : PD_TABLE_ACCOUNTING;
}

int
pd_quota_check(struct pd_state *st, const struct pd_quota *q,
               const struct pd_quota_subject *subj, uint64_t size, int64_t now,
               struct pd_quota_result *out)
{
    char key[KEY_MAX];
    unsigned char v[PD_ST_VALUE_MAX];
    size_t klen = 0, vlen = 0;
    struct counter c;
    int rc;

    if (out == NULL)
        return PD_ST_ERR_INVALID;
    memset(out, 0, sizeof *out);
    if (st == NULL)
        return PD_ST_ERR_INVALID;
    rc = prepare(q, subj, now, key, &klen);
    if (rc != PD_ST_OK)
        return rc;
    rc = pd_state_get(st, table_of(q), key, klen, now, v, sizeof v, &vlen, NULL);
    if (rc < 0)
        return rc;
    current(q, rc == PD_ST_OK ? v : NULL, rc == PD_ST_OK ? vlen : 0, now, &c);
    judge(q, &c, MILLI, size, out);
    return PD_ST_OK;
}

struct account_ctx {
    const struct pd_quota *q;
    uint64_t add_milli, size;
    struct counter after;
};

static enum pd_st_op
account_fn(void *vctx, int64_t now, const unsigned char *cur, size_t curlen,
           unsigned char *out, size_t *outlen, int64_t *expires_at)
{
    struct account_ctx *a = vctx;
    const struct pd_quota *q = a->q;
    struct counter c;

    current(q, cur, curlen, now, &c);
    c.count_milli = add_u64(c.count_milli, a->add_milli);
    c.bytes = add_u64(c.bytes, a->size);
    a->after = c;

    out[0] = Q_VERSION;
    if (q->period == PD_PERIOD_ROLLING) {
        pd_st_put_u64(out + 1, c.count_milli);
        pd_st_put_u64(out + 9, c.bytes);
        pd_st_put_i64(out + 17, now);
        *expires_at = now > INT64_MAX - q->window ? INT64_MAX : now + q->window;
    } else {
        pd_st_put_i64(out + 1, c.bucket_start);
        pd_st_put_u64(out + 9, c.count_milli / MILLI);
        pd_st_put_u64(out + 17, c.bytes);
        *expires_at = c.bucket_end;
    }
    *outlen = Q_LEN;
    return PD_ST_PUT;
}

int
pd_quota_account(struct pd_state *st, const struct pd_quota *q,
                 const struct pd_quota_subject *subj, uint64_t count, uint64_t size,
                 int64_t now, struct pd_quota_result *out)
{
    char key[KEY_MAX];
    struct account_ctx a;
    size_t klen = 0;
    int rc;

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (st == NULL)
        return PD_ST_ERR_INVALID;
    rc = prepare(q, subj, now, key, &klen);
    if (rc != PD_ST_OK)
        return rc;
    memset(&a, 0, sizeof a);
    a.q = q;
    a.add_milli = mul_u64(count, MILLI);
    a.size = size;
    rc = pd_state_update(st, table_of(q), key, klen, now, account_fn, &a);
    if (rc < 0)
        return rc;
    if (out != NULL)
        judge(q, &a.after, 0, 0, out);
    return PD_ST_OK;
}
