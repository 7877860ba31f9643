/*
 * economics.c - what postage costs each kind of sender, by postaged's own
 * price model (policy/checks/reputation.c, linked from policy/libpolicy.la: not a
 * copy of it), for the economics table of bench/report.sh.
 *
 *   economics [--params]
 *
 * Each traffic profile below is simulated message by message at one
 * receiving site running postaged with the default parameters
 * (pd_settings_rep_defaults), with a fixed clock: before each message both of
 * its records (the sender identity and the client address) are decayed to
 * the message's time and priced with pd_price_compute; then the updates
 * postaged's engine makes are applied with pd_rep_add (policy/engine/record.c:
 * rate and messages once per message, plus spf_failures and quota_overruns
 * when they apply, and helo_failures (not to a domain: identity);
 * then, for a message that paid, accepted,
 * stamps_paid and bits_paid), and the record is passed through
 * pd_rep_encode/pd_rep_decode as the state store would keep it.  Every
 * sender pays the price it is asked (one stamp of exactly that many bits
 * per recipient) unless the price is over the cap, when the message is
 * refused, pays nothing, and is not retried.  The history days run first;
 * the figures are of the day after them.
 *
 * Output: TSV, one row per profile (header first); --params prints the
 * parameters used instead.  price_*: the bits paid by the delivered
 * messages (min, median, max, mean); asked_*: the price asked of all the
 * day's messages before the cap (a refused message was asked more than
 * the cap).  hashes_per_day: the expected SHA-1 trials, 2^bits per stamp,
 * summed over the delivered messages of the day at every site;
 * hashes_asked_per_day: the same over every message at its asked price
 * (what delivering all of them would have cost without the cap).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/checks/reputation.h"
#include "policy/checks/spf.h"
#include "policy/engine/settings.h"

#define DAY INT64_C(86400)
#define T0 INT64_C(1767225600)          /* 2026-01-01 00:00:00 UTC */
#define MAX_PER_DAY 100000

struct profile {
    const char *id;
    const char *name;
    const char *description;
    unsigned sites;           /* receiving sites, all alike               */
    unsigned per_site;        /* messages a day to each site              */
    double hours;             /* the day's messages spread evenly over the
                               * first HOURS hours of the day              */
    unsigned history_days;    /* days of the same traffic before           */
    int spf_pass;
    enum pd_spf_result spf;   /* when not pass                             */
    int helo_score;
    int bulk;                 /* a bulk sender, for the ratio column       */
};

static const struct profile profiles[] = {
    { "person", "a person, 20 new correspondents a day",
      "20 messages a day, each to someone new at a different site (no history "
      "anywhere); SPF pass, clean HELO", 20, 1, 24, 0, 1, PD_SPF_PASS, 0, 0 },
    { "list", "a mailing list, 2,000 a day to one site",
      "2,000 messages a day to the subscribers at one large site, evenly through the "
      "day, for 90 days before; SPF pass, clean HELO", 1, 2000, 24, 90, 1, PD_SPF_PASS, 0, 1 },
    { "newsletter", "a newsletter, 10,000 a day",
      "one issue a day to 10,000 subscribers at 100 sites (100 each), sent within an "
      "hour, for 90 days before; SPF pass, clean HELO", 100, 100, 1, 90, 1, PD_SPF_PASS, 0, 1 },
    { "newsletter-new", "the same newsletter's first issue",
      "as above, but the first issue: no history anywhere", 100, 100, 1, 0, 1, PD_SPF_PASS,
      0, 1 },
    { "bot", "a compromised home PC, 10,000 a day to one site",
      "10,000 messages a day to one site, evenly through the day, for 30 days before; "
      "SPF none, HELO score 2 (dynamic address, no forward-confirmed rDNS)", 1, 10000, 24, 30,
      0, PD_SPF_NONE, 2, 1 },
    { "bot-day1", "the same PC on its first day",
      "as above, but the first day: no history", 1, 10000, 24, 0, 0, PD_SPF_NONE, 2, 1 },
    { "botnet-thin", "a botnet: the same 10,000 from 1,000 PCs",
      "1,000 compromised PCs, 10 messages a day each to the same site, for 30 days "
      "before; SPF none, HELO score 2; each PC is its own identity there", 1000, 10, 24, 30,
      0, PD_SPF_NONE, 2, 1 },
};
#define NPROFILES (sizeof profiles / sizeof profiles[0])

/* As the state store keeps a record (floats, 60 bytes). */
static void
store_roundtrip(struct pd_rep_record *r)
{
    unsigned char buf[128];
    size_t n = pd_rep_encode(r, buf, sizeof buf);
    if (n == 0 || pd_rep_decode(buf, n, r) != 0) {
        fprintf(stderr, "economics: a record did not survive encode/decode\n");
        exit(1);
    }
}

static void
record(struct pd_rep_record *r, const struct pd_rep_params *p, int64_t now,
       const struct pd_rep_delta *d)
{
    pd_rep_add(r, p, now, d);
    store_roundtrip(r);
}

static int
by_int(const void *a, const void *b)
{
    return *(const int *) a - *(const int *) b;
}

struct day_result {
    unsigned messages, delivered, refused;
    int min, median, max;     /* the price paid by the delivered messages */
    int raw_median, raw_max;  /* the price asked, before the cap, of all  */
    double mean_bits;         /* of the delivered messages                */
    double hashes;            /* sum of 2^bits over the delivered         */
    double hashes_asked;      /* sum of 2^max(raw, 0) over all messages   */
};

/* One site's day after the profile's history. */
static void
simulate(const struct profile *pr, const struct pd_rep_params *p, struct day_result *out)
{
    static int prices[MAX_PER_DAY], raws[MAX_PER_DAY];
    struct pd_rep_record id, client;
    memset(&id, 0, sizeof id);
    memset(&client, 0, sizeof client);
    memset(out, 0, sizeof *out);
    double gap = pr->hours * 3600.0 / pr->per_site;
    double sum_bits = 0;

    for (unsigned day = 0; day <= pr->history_days; day++) {
        int measured = day == pr->history_days;
        for (unsigned j = 0; j < pr->per_site; j++) {
            int64_t now = T0 + (int64_t) day * DAY + (int64_t) floor(j * gap);
            pd_rep_decay(&id, p, now);
            pd_rep_decay(&client, p, now);
            struct pd_price_input in = {
                .spf_pass = pr->spf_pass,
                .spf_result = pr->spf_pass ? PD_SPF_PASS : pr->spf,
                .spf_checked = 1,
                .helo_score = pr->helo_score,
                .identity = &id,
                .client = &client,
            };
            struct pd_price price;
            pd_price_compute(p, &in, &price);

            /* The message counted once (record.c, pd_eng_count_attempt): a
             * failed HELO is the host's, so a domain: identity (SPF pass)
             * does not have it, only the ip: and sender: records. */
            struct pd_rep_delta d;
            memset(&d, 0, sizeof d);
            d.counter[PD_REP_RATE] = 1;
            d.messages = 1;
            if (!pr->spf_pass && (pr->spf == PD_SPF_FAIL || pr->spf == PD_SPF_SOFTFAIL))
                d.counter[PD_REP_SPF_FAILURES] = 1;
            if (price.over_cap)
                d.counter[PD_REP_QUOTA_OVERRUNS] = 1;
            if (pr->helo_score > 0 && !pr->spf_pass)
                d.counter[PD_REP_HELO_FAILURES] = 1;
            record(&id, p, now, &d);
            if (pr->helo_score > 0)
                d.counter[PD_REP_HELO_FAILURES] = 1;
            record(&client, p, now, &d);
            /* At end of headers, paid: one stamp of the price. */
            if (!price.over_cap) {
                memset(&d, 0, sizeof d);
                d.counter[PD_REP_ACCEPTED] = 1;
                d.counter[PD_REP_STAMPS_PAID] = 1;
                d.counter[PD_REP_BITS_PAID] = price.bits;
                record(&id, p, now, &d);
                record(&client, p, now, &d);
            }
            if (!measured)
                continue;
            raws[out->messages++] = price.raw;
            out->hashes_asked += ldexp(1.0, price.raw > 0 ? price.raw : 0);
            if (price.over_cap) {
                out->refused++;
                continue;
            }
            prices[out->delivered++] = price.bits;
            sum_bits += price.bits;
            out->hashes += ldexp(1.0, price.bits);
        }
    }
    qsort(raws, out->messages, sizeof raws[0], by_int);
    out->raw_median = raws[out->messages / 2];
    out->raw_max = raws[out->messages - 1];
    if (out->delivered > 0) {
        qsort(prices, out->delivered, sizeof prices[0], by_int);
        out->min = prices[0];
        out->median = prices[out->delivered / 2];
        out->max = prices[out->delivered - 1];
        out->mean_bits = sum_bits / out->delivered;
    }
}

int
main(int argc, char **argv)
{
    struct pd_rep_params p;
    pd_settings_rep_defaults(&p);
    if (argc > 1 && strcmp(argv[1], "--params") == 0) {
        printf("price_base\t%d\nprice_cap\t%d\nprice_spf_credit\t%d\n"
               "price_history_credit_max\t%d\nprice_spf_softfail_penalty\t%d\n"
               "price_spf_other_penalty\t%d\nprice_allowance\t%g\nprice_rate_window\t%llds\n"
               "reputation_half_life\t%llds\n", p.base, p.cap, p.spf_credit, p.credit_max,
               p.spf_softfail_penalty, p.spf_other_penalty, p.allowance,
               (long long) p.rate_window, (long long) p.half_life);
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "usage: economics [--params]\n");
        return 2;
    }
    printf("id\tprofile\tdescription\tbulk\tsites\tper_site\tmessages\tdelivered\trefused\t"
           "price_min\tprice_median\tprice_max\tprice_mean\tasked_median\tasked_max\t"
           "hashes_per_day\thashes_asked_per_day\n");
    for (size_t i = 0; i < NPROFILES; i++) {
        const struct profile *pr = &profiles[i];
        struct day_result r;
        if (pr->per_site == 0 || pr->per_site > MAX_PER_DAY) {
            fprintf(stderr, "economics: profile %s: bad messages per site\n", pr->id);
            return 1;
        }
        simulate(pr, &p, &r);
        double hashes = r.hashes * pr->sites;
        unsigned delivered = r.delivered * pr->sites;
        printf("%s\t%s\t%s\t%d\t%u\t%u\t%u\t%u\t%u\t%d\t%d\t%d\t%.2f\t%d\t%d\t%.6g\t%.6g\n",
               pr->id, pr->name, pr->description, pr->bulk, pr->sites, pr->per_site,
               r.messages * pr->sites, delivered, r.refused * pr->sites, r.min, r.median, r.max,
               r.mean_bits, r.raw_median, r.raw_max, hashes, r.hashes_asked * pr->sites);
    }
    return 0;
}
