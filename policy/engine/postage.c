/*
 * postage.c - postage at end of headers (engine.h, pd_engine_postage):
 * the milter, with postage on, hands over the message's recipients and
 * the stamps of its X-Hashcash headers.
 *
 * The price was set at the first recipient (decide.c); each recipient's
 * need is that price or a lower one quoted to its triplet (record.c).
 * Stamps are checked and matched to the recipients they name without
 * spending anything; every recipient no stamp paid for goes through
 * greylisting.  If one is neither paid nor past greylisting, the message
 * is deferred: the reply names the price and each unpaid recipient, the
 * need is quoted, and no stamp is spent.  Otherwise the stamps that paid
 * are spent, the sender's record is credited, and the X-Postage-Result
 * trace header says what happened.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/base/escape.h"
#include "policy/engine/argon2id_pool.h"
#include "policy/engine/engine_internal.h"
#include "postage/argon2id.h"
#include "postage/stamp.h"
#include "postage/status.h"
#include "postage/verify.h"

const char *
pd_rcpt_outcome_name(enum pd_rcpt_outcome o)
{
    switch (o) {
    case PD_RCPT_PAID: return "paid";
    case PD_RCPT_FREE: return "free";
    case PD_RCPT_GREYLIST_PASSED: return "greylist-passed";
    case PD_RCPT_WHITELISTED: return "whitelisted";
    case PD_RCPT_GREYLISTED: return "greylisted";
    case PD_RCPT_UNPAID: break;
    }
    return "unpaid";
}

/* Is this an Argon2id stamp?  From its grammar alone, so that Argon2id
 * stamps can be counted before any is computed. */
static int
is_argon2id(const char *text, size_t len)
{
    struct postage_stamp st;
    return postage_stamp_parse(text, len, &st) == POSTAGE_OK &&
           postage_argon2id_ext_parse(st.ext, st.ext_len, NULL) == 1;
}

/* The recipient a stamp's resource names (ignoring case), or -1: so that
 * a stamp that does not pay can be blamed on the recipient it was for. */
static int
stamp_target(const char *text, size_t len, const struct pd_postage_rcpt *rcpts, size_t n_rcpts)
{
    struct postage_stamp st;
    if (postage_stamp_parse(text, len, &st) != POSTAGE_OK || st.resource_len == 0)
        return -1;
    for (size_t k = 0; k < n_rcpts; k++)
        if (strlen(rcpts[k].address) == st.resource_len &&
            strncasecmp(rcpts[k].address, st.resource, st.resource_len) == 0)
            return (int) k;
    return -1;
}

static void
check_options(const struct pd_engine *e, int64_t now, struct postage_check_options *opt)
{
    postage_check_options_init(opt, now);
    opt->validity = e->stamp_validity;
    opt->grace = e->stamp_grace;
    opt->kinds = e->kinds;
    opt->argon2id_max = e->a2id_max;
    opt->argon2id_min_bits = e->a2id_min_bits;
    opt->sha1_rate = e->sha1_rate;
    opt->argon2id_rate = e->a2id_rate;
}

/* Is stamps[i] the same as an earlier stamp of the message? */
static int
is_repeat(const struct pd_postage_stamp *stamps, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (stamps[j].len == stamps[i].len && memcmp(stamps[j].text, stamps[i].text, stamps[i].len) == 0)
            return 1;
    return 0;
}

/* Look up, in one store call, every stamp assign_stamps may ask about:
 * those it checks, if `look`, else only the Argon2id ones (looked up
 * before they cost a computation).  answer[i] is postage_store_is_spent's
 * answer for stamps[i] (POSTAGE_ERR_STORE when the store failed),
 * POSTAGE_OK for a stamp not looked up.  A failure is only acted on for
 * a stamp whose answer is asked (seen_before), as when each was looked
 * up on its own. */
static void
look_up_stamps(struct pd_engine *e, const struct pd_postage_stamp *stamps, size_t n_stamps,
               int look, int *answer)
{
    struct postage_store_lookup_item items[PD_POSTAGE_STAMPS_MAX];
    size_t at[PD_POSTAGE_STAMPS_MAX], n = 0;
    for (size_t i = 0; i < n_stamps && i < PD_POSTAGE_STAMPS_MAX; i++) {
        answer[i] = POSTAGE_OK;
        if (e->stamps == NULL || is_repeat(stamps, i))
            continue;
        if (!look && !((e->kinds & POSTAGE_KIND_ARGON2ID) &&
                       is_argon2id(stamps[i].text, stamps[i].len)))
            continue;
        /* One the store refuses is answered as postage_store_is_spent
         * would, without failing the others' look-up. */
        if (stamps[i].text == NULL || stamps[i].len == 0 || stamps[i].len > POSTAGE_STAMP_MAX) {
            answer[i] = POSTAGE_ERR_INVALID;
            continue;
        }
        items[n].stamp = stamps[i].text;
        items[n].len = stamps[i].len;
        at[n++] = i;
    }
    if (n == 0)
        return;
    /* The results say it all, a failure included (POSTAGE_ERR_STORE for
     * each stamp left unanswered). */
    (void) postage_store_is_spent_many(e->stamps, items, n);
    int failed = 0;
    for (size_t k = 0; k < n; k++) {
        answer[at[k]] = items[k].result;
        failed |= items[k].result == POSTAGE_ERR_STORE;
    }
    pd_metrics_store_op(e->metrics, PD_MST_STAMPS, failed);
}

/* Was the stamp spent before, by its look-up's answer?  1 (and the stamp
 * is marked replayed), 0, or -1 when the store failed.  Looking spends
 * nothing. */
static int
seen_before(struct pd_postage_stamp *st, int answer)
{
    if (answer == POSTAGE_ERR_SPENT) {
        st->outcome = PD_STAMP_REPLAYED;
        return 1;
    }
    return answer == POSTAGE_OK ? 0 : -1;
}

/* Match the stamps to the recipients without spending anything.  A stamp
 * pays for a recipient when it is worth that recipient's `need`.
 *
 * A stamp that would pay is looked up first (seen_before), so that a
 * replay is known before anything is spent: with several stamps, spending
 * one while another turns out replayed would spend for a message that is
 * then deferred.  With one stamp and one recipient there is nothing else to
 * spend or greylist, and the spend (SET NX on Redis, one round trip fewer)
 * tells a replay just as well: the recipient is then greylisted and the
 * replay counted exactly as the look-up would have it (pd_engine_postage's
 * spend loop), so the look-up is skipped.  The look-ups of a message are
 * one store call (look_up_stamps): one LMDB read transaction, one Redis
 * round trip. */
static int
assign_stamps(struct pd_engine *e, struct pd_postage_rcpt *rcpts, size_t n_rcpts,
              struct pd_postage_stamp *stamps, size_t n_stamps, int64_t now,
              const char **resources)
{
    struct postage_check_options opt;
    unsigned a2id_checks = 0;
    int look = !(n_stamps == 1 && n_rcpts == 1);
    check_options(e, now, &opt);
    /* The lowest need is asked of every stamp inside the check, so that an
     * Argon2id stamp whose claim falls short is refused before it costs a
     * computation; each recipient's own need is applied after. */
    unsigned lowest = POSTAGE_BITS_MAX;
    for (size_t k = 0; k < n_rcpts; k++)
        if (rcpts[k].need < lowest)
            lowest = rcpts[k].need;
    opt.required_bits = lowest;
    opt.resources = resources;
    opt.resource_count = n_rcpts;
    int answer[PD_POSTAGE_STAMPS_MAX];
    if (n_rcpts > 0)
        look_up_stamps(e, stamps, n_stamps, look, answer);

    for (size_t i = 0; i < n_stamps; i++) {
        struct pd_postage_stamp *st = &stamps[i];
        struct postage_check_result r;
        st->rcpt = -1;
        st->value = 0;
        st->kind = 0;
        st->target = stamp_target(st->text, st->len, rcpts, n_rcpts);
        if (i >= PD_POSTAGE_STAMPS_MAX || n_rcpts == 0) {
            st->outcome = PD_STAMP_IGNORED;
            continue;
        }
        /* The same stamp twice in one message pays once. */
        if (is_repeat(stamps, i)) {
            st->outcome = PD_STAMP_UNUSED;
            continue;
        }
        /* Only a site that takes Argon2id needs the kind before the check
         * (to look for a replay, count and take a work area); the check
         * says it for every stamp. */
        postage_argon2id_work *work = NULL;
        if ((e->kinds & POSTAGE_KIND_ARGON2ID) &&
            is_argon2id(st->text, st->len)) {
            /* A replayed Argon2id stamp is caught before it costs anything. */
            int seen = seen_before(st, answer[i]);
            if (seen != 0) {
                if (seen < 0)
                    return -1;
                continue;
            }
            if (a2id_checks >= e->a2id_per_message) {
                st->outcome = PD_STAMP_IGNORED;
                continue;
            }
            a2id_checks++;
            work = pd_a2id_pool_take(e->a2id_pool);
            if (work == NULL) {
                st->outcome = PD_STAMP_IGNORED;
                continue;
            }
        }
        opt.argon2id_work = work;
        st->check = postage_check(st->text, st->len, &opt, &r);
        st->kind = r.kind;
        pd_a2id_pool_give(e->a2id_pool, work);
        switch (st->check) {
        case POSTAGE_OK:
            break;
        case POSTAGE_ERR_RESOURCE:
            st->outcome = PD_STAMP_NO_RECIPIENT;
            continue;
        case POSTAGE_ERR_KIND:
            st->outcome = PD_STAMP_KIND_REFUSED;
            continue;
        case POSTAGE_ERR_PARAMS:
            st->outcome = PD_STAMP_OUT_OF_BOUNDS;
            continue;
        case POSTAGE_ERR_BITS:
            /* A claim that holds but is worth less than the price is
             * underpaid; an Argon2id tag that lacks the claimed bits is a
             * forgery.  (A SHA-1 forgery has always counted as underpaid,
             * as hashcash values it 0.) */
            st->value = (unsigned) (r.equivalent > 0 ? r.equivalent : 0);
            st->outcome = r.kind == POSTAGE_KIND_ARGON2ID && r.computed && r.actual < r.claimed
                              ? PD_STAMP_INVALID : PD_STAMP_UNDERPAID;
            continue;
        default:
            st->outcome = PD_STAMP_INVALID;
            continue;
        }
        st->value = (unsigned) r.equivalent;
        st->expires_at = r.expires_at;
        /* The first recipient of that address still unpaid (an address
         * may be given twice). */
        size_t k = (size_t) r.resource_index;
        while (k < n_rcpts && (rcpts[k].outcome == PD_RCPT_PAID ||
                               strcasecmp(rcpts[k].address, resources[r.resource_index]) != 0))
            k++;
        if (k >= n_rcpts) {
            st->outcome = PD_STAMP_UNUSED;
            continue;
        }
        if (st->value < rcpts[k].need) {
            st->outcome = PD_STAMP_UNDERPAID;
            continue;
        }
        int seen = look ? seen_before(st, answer[i]) : 0;
        if (seen != 0) {
            if (seen < 0)
                return -1;
            continue;
        }
        st->outcome = PD_STAMP_PAID;
        st->rcpt = (int) k;
        rcpts[k].outcome = PD_RCPT_PAID;
        rcpts[k].value = st->value;
        rcpts[k].stamp = (int) i;
    }
    return 0;
}

/* Greylist one recipient that no stamp paid for.  Returns -1 on a store
 * error, else 0 with rcpt->outcome set. */
static int
greylist_rcpt(struct pd_engine *e, struct pd_txn *txn, const struct pd_query *q,
              struct pd_postage_rcpt *rcpt, int64_t now)
{
    struct pd_query one = *q;
    struct pd_answer scratch;
    struct gl_outcome g;
    memset(&scratch, 0, sizeof scratch);
    one.recipient = rcpt->address;
    if (pd_eng_greylist(e, txn, &one, now, &scratch, &g) < 0)
        return -1;
    rcpt->outcome = g.how;
    rcpt->wait = g.wait;
    return 0;
}

/* What to attach, in the words of the 451 reply: the kinds this site
 * takes, and for Argon2id the claimed bits that pay the price at the
 * largest memory accepted (one pass, one lane). */
static void
payment_wanted(const struct pd_engine *e, unsigned price, char *out, size_t size)
{
    struct postage_argon2id_params offer = { e->a2id_max.memory, 1, 1 };
    double worth = postage_argon2id_equivalent_bits(0, &offer, e->sha1_rate, e->a2id_rate);
    double need = (double) price - worth;
    unsigned bits = e->a2id_min_bits;
    if (need > (double) bits)
        bits = (unsigned) ceil(need);
    if (!(e->kinds & POSTAGE_KIND_ARGON2ID))
        snprintf(out, size, "X-Hashcash with %u bits", price);
    else if (!(e->kinds & POSTAGE_KIND_SHA1))
        snprintf(out, size, "an Argon2id X-Hashcash worth %u bits (a2id=m%lu,t1,p1 with %u bits)",
                 price, (unsigned long) offer.memory, bits);
    else
        snprintf(out, size, "X-Hashcash with %u bits (SHA-1, or Argon2id a2id=m%lu,t1,p1 with "
                 "%u bits)", price, (unsigned long) offer.memory, bits);
}

/* Why a stamp did not pay, in a postmaster's words ("" if it did). */
static void
stamp_failure(const struct pd_postage_stamp *st, unsigned need, char *out, size_t size)
{
    out[0] = '\0';
    switch (st->outcome) {
    case PD_STAMP_REPLAYED:
        snprintf(out, size, "it is already spent");
        break;
    case PD_STAMP_UNDERPAID:
        snprintf(out, size, "it is worth %u bits, %u needed", st->value, need);
        break;
    case PD_STAMP_INVALID:
        snprintf(out, size, "%s",
                 st->check == POSTAGE_ERR_FUTURE  ? "it is dated in the future (check your clock)"
                 : st->check == POSTAGE_ERR_EXPIRED ? "it has expired"
                                                    : "it is not a valid stamp");
        break;
    case PD_STAMP_NO_RECIPIENT:
        snprintf(out, size, "it is for another recipient");
        break;
    case PD_STAMP_KIND_REFUSED:
        snprintf(out, size, "%s stamps are not accepted here",
                 st->kind == POSTAGE_KIND_ARGON2ID ? "Argon2id" : "SHA-1");
        break;
    case PD_STAMP_OUT_OF_BOUNDS:
        snprintf(out, size, "its Argon2id parameters or bits are beyond our limits");
        break;
    case PD_STAMP_IGNORED:
        snprintf(out, size, "it was not checked (too many stamps in one message)");
        break;
    case PD_STAMP_PAID:
    case PD_STAMP_UNUSED:
        break;
    }
}

/* Append one reply line to the answer's detail, within its bounds. */
static int
add_detail(struct pd_answer *a, size_t *lines, const char *line)
{
    size_t n = strlen(a->detail);
    if (*lines >= PD_DETAIL_MAX / PD_DETAIL_LINE - 1)
        return -1;
    snprintf(a->detail + n, sizeof a->detail - n, "%s%.*s", n ? "\n" : "",
             PD_DETAIL_LINE - 1, line);
    (*lines)++;
    return 0;
}

/* The reply's further lines: for each deferred recipient, the first
 * reason its stamp did not pay.  A stamp that names no recipient is
 * blamed on the one deferred recipient that has no stamp of its own, or,
 * when that is ambiguous, reported for the message. */
/* A recipient address as shown in a header or a reply line: its control
 * characters escaped (escape.h) and at most 200 bytes of it, cut at a
 * whole escape. */
#define SHOWN_ADDRESS_MAX 201
static const char *
shown_address(const char *address, char out[SHOWN_ADDRESS_MAX])
{
    pd_escape_str(out, SHOWN_ADDRESS_MAX, address);
    return out;
}

static void
explain_unpaid(const struct pd_postage_rcpt *rcpts, size_t n_rcpts,
               const struct pd_postage_stamp *stamps, size_t n_stamps, struct pd_answer *a)
{
    size_t lines = 0, untold = 0, orphans = 0;
    int first_orphan = -1;
    char why[96], line[PD_DETAIL_LINE];

    for (size_t i = 0; i < n_stamps; i++) {
        stamp_failure(&stamps[i], 0, why, sizeof why);
        if (stamps[i].target < 0 && why[0] != '\0' && orphans++ == 0)
            first_orphan = (int) i;
    }
    /* Deferred recipients without a stamp of their own. */
    size_t bare = 0;
    int bare_one = -1;
    for (size_t k = 0; k < n_rcpts; k++) {
        int own = 0;
        for (size_t i = 0; i < n_stamps && !own; i++)
            own = stamps[i].target == (int) k;
        if (rcpts[k].outcome == PD_RCPT_GREYLISTED && !own && bare++ == 0)
            bare_one = (int) k;
    }
    for (size_t k = 0; k < n_rcpts; k++) {
        if (rcpts[k].outcome != PD_RCPT_GREYLISTED)
            continue;
        const struct pd_postage_stamp *blame = NULL;
        for (size_t i = 0; i < n_stamps && blame == NULL; i++) {
            stamp_failure(&stamps[i], rcpts[k].need, why, sizeof why);
            if (stamps[i].target == (int) k && why[0] != '\0')
                blame = &stamps[i];
        }
        if (blame == NULL && bare == 1 && bare_one == (int) k && first_orphan >= 0) {
            blame = &stamps[first_orphan];
            orphans = 0;   /* told here */
        }
        if (blame == NULL)
            continue;
        stamp_failure(blame, rcpts[k].need, why, sizeof why);
        char shown[SHOWN_ADDRESS_MAX];
        snprintf(line, sizeof line, "The stamp for <%s> did not pay: %s",
                 shown_address(rcpts[k].address, shown), why);
        if (add_detail(a, &lines, line) != 0)
            untold++;
    }
    if (orphans > 0) {
        stamp_failure(&stamps[first_orphan], 0, why, sizeof why);
        snprintf(line, sizeof line, "%s attached stamp%s paid for no recipient: %s%s",
                 orphans == 1 ? "An" : "Some", orphans == 1 ? "" : "s", why,
                 orphans > 1 ? " (the first of them)" : "");
        if (add_detail(a, &lines, line) != 0)
            untold++;
    }
    if (untold > 0) {
        size_t n = strlen(a->detail);
        snprintf(line, sizeof line, "(and %zu more stamps that did not pay)", untold);
        snprintf(a->detail + n, sizeof a->detail - n, "\n%s", line);
    }
}

static void
defer_for_postage(const struct pd_engine *e, const struct pd_postage_rcpt *rcpts,
                  size_t n_rcpts, const struct pd_postage_stamp *stamps, size_t n_stamps,
                  struct pd_answer *a)
{
    int64_t wait = 0;
    size_t unpaid = 0, listed = 0, n = 0;
    unsigned need = 0;
    int same_need = 1;
    char who[PD_TEXT_MAX / 3] = "";

    for (size_t i = 0; i < n_rcpts; i++) {
        if (rcpts[i].outcome != PD_RCPT_GREYLISTED)
            continue;
        if (unpaid++ > 0 && rcpts[i].need != need)
            same_need = 0;
        if (rcpts[i].need > need)
            need = rcpts[i].need;
        if (rcpts[i].wait > wait)
            wait = rcpts[i].wait;
        char shown[SHOWN_ADDRESS_MAX];
        int w = snprintf(who + n, sizeof who - n, "%s<%s>", listed ? ", " : "",
                         shown_address(rcpts[i].address, shown));
        if (w > 0 && (size_t) w < sizeof who - n - 24) {
            n += (size_t) w;
            listed++;
        } else {
            who[n] = '\0';
        }
    }
    char more[48] = "";
    if (unpaid > listed)
        snprintf(more, sizeof more, " and %zu more", unpaid - listed);
    /* A sender who paid in a kind this site does not take is told so. */
    unsigned refused = 0;
    for (size_t i = 0; i < n_stamps; i++)
        if (stamps[i].outcome == PD_STAMP_KIND_REFUSED)
            refused |= stamps[i].kind;
    char why[96] = "";
    if (refused & POSTAGE_KIND_ARGON2ID)
        snprintf(why, sizeof why, "; Argon2id stamps are not accepted here");
    else if (refused & POSTAGE_KIND_SHA1)
        snprintf(why, sizeof why, "; SHA-1 stamps are not accepted here");
    /* Recipients quoted different prices in earlier deferrals are each
     * asked the most of them: a stamp of that value pays for any. */
    char pay[160];
    payment_wanted(e, need, pay, sizeof pay);
    a->verdict.action = PD_DEFER;
    snprintf(a->verdict.text, sizeof a->verdict.text,
             "451 4.7.1 Greylisted: retry in %lld seconds, or attach %s for %s%s%s%s",
             (long long) (wait > 0 ? wait : 1), pay, unpaid > 1 ? "each of " : "", who, more,
             why);
    explain_unpaid(rcpts, n_rcpts, stamps, n_stamps, a);
    snprintf(a->reason, sizeof a->reason,
             "%zu of %zu recipients neither paid (%s%u bits) nor past greylisting%s", unpaid,
             n_rcpts, same_need ? "" : "up to ", need, why);
}

/* The X-Postage-Result header.  It goes into the one copy every recipient
 * reads, so it names a recipient only when the message has just one:
 * otherwise a Bcc recipient would be shown to all the others. */
static void
trace_header(const struct pd_engine *e, const struct pd_txn *txn,
             const struct pd_postage_rcpt *rcpts, size_t n_rcpts,
             const struct pd_postage_stamp *stamps, size_t n_stamps, struct pd_answer *a)
{
    char v[PD_HEADER_VALUE_MAX];
    size_t replayed = 0, invalid = 0;

    for (size_t i = 0; i < n_stamps; i++) {
        replayed += stamps[i].outcome == PD_STAMP_REPLAYED;
        invalid += stamps[i].outcome == PD_STAMP_INVALID ||
                   stamps[i].outcome == PD_STAMP_OUT_OF_BOUNDS ||
                   stamps[i].outcome == PD_STAMP_KIND_REFUSED;
    }
    /* "promise": the published price lowered this sender's own. */
    int w = snprintf(v, sizeof v, "%s; price=%d%s; reputation=%s; stamps=%zu; replayed=%zu; "
                     "invalid=%zu", e->hostname, txn->price.bits,
                     txn->price.promised ? "; promise" : "", pd_rep_band_name(txn->price.band),
                     n_stamps, replayed, invalid);
    size_t n = w > 0 && (size_t) w < sizeof v ? (size_t) w : 0;
    if (n_rcpts == 1) {
        const struct pd_postage_rcpt *r = &rcpts[0];
        char shown[SHOWN_ADDRESS_MAX];
        shown_address(r->address, shown);
        if (r->outcome == PD_RCPT_PAID)
            snprintf(v + n, sizeof v - n, "; rcpt=<%s> paid %u/%u%s", shown, r->value,
                     r->need, stamps[r->stamp].kind == POSTAGE_KIND_ARGON2ID ? " argon2id" : "");
        else
            snprintf(v + n, sizeof v - n, "; rcpt=<%s> %s", shown,
                     pd_rcpt_outcome_name(r->outcome));
    } else {
        static const enum pd_rcpt_outcome order[] = {
            PD_RCPT_PAID, PD_RCPT_FREE, PD_RCPT_GREYLIST_PASSED, PD_RCPT_WHITELISTED,
            PD_RCPT_UNPAID
        };
        size_t argon2id = 0;
        for (size_t i = 0; i < n_rcpts; i++)
            argon2id += rcpts[i].outcome == PD_RCPT_PAID &&
                        stamps[rcpts[i].stamp].kind == POSTAGE_KIND_ARGON2ID;
        for (size_t o = 0; o < sizeof order / sizeof order[0]; o++) {
            size_t count = 0;
            for (size_t i = 0; i < n_rcpts; i++)
                count += rcpts[i].outcome == order[o];
            if (count == 0)
                continue;
            w = snprintf(v + n, sizeof v - n, "; %s=%zu", pd_rcpt_outcome_name(order[o]), count);
            n += w > 0 ? (size_t) w : 0;
            if (n >= sizeof v)
                n = sizeof v - 1;
        }
        if (argon2id > 0)
            snprintf(v + n, sizeof v - n, "; paid-argon2id=%zu", argon2id);
    }
    snprintf(a->prepend_name, sizeof a->prepend_name, "X-Postage-Result");
    memcpy(a->prepend_value, v, sizeof a->prepend_value);
}

void
pd_engine_postage(struct pd_engine *e, struct pd_txn *txn, const struct pd_query *q,
                  struct pd_postage_rcpt *rcpts, size_t n_rcpts,
                  struct pd_postage_stamp *stamps, size_t n_stamps, int64_t now,
                  struct pd_answer *a)
{
    memset(a, 0, sizeof *a);
    a->verdict.action = PD_DUNNO;
    a->module = PD_MM_POSTAGE;
    int spent = 0;   /* the paying stamps were spent: they count as paid */
    for (size_t i = 0; i < n_rcpts; i++) {
        rcpts[i].outcome = PD_RCPT_UNPAID;
        rcpts[i].value = 0;
        rcpts[i].stamp = -1;
        rcpts[i].wait = 0;
        rcpts[i].need = 0;
    }
    for (size_t i = 0; i < n_stamps; i++) {
        stamps[i].outcome = PD_STAMP_IGNORED;
        stamps[i].rcpt = -1;
        stamps[i].target = -1;
    }
    if (!e->postage || !txn->priced || n_rcpts == 0)
        return;
    if (e->state == NULL) {
        pd_eng_set_error(e, a, "state store");
        return;
    }

    /* The recipients' addresses, as the stamp check and the attempt marks
     * take them. */
    const char **addresses = calloc(n_rcpts, sizeof *addresses);
    if (addresses == NULL) {
        pd_eng_set_error(e, a, "postage (out of memory)");
        return;
    }
    for (size_t i = 0; i < n_rcpts; i++)
        addresses[i] = rcpts[i].address;

    if (txn->price.bits == 0) {
        for (size_t i = 0; i < n_rcpts; i++)
            rcpts[i].outcome = PD_RCPT_FREE;
    } else {
        if (pd_eng_recall_quotes(e, txn, q, rcpts, n_rcpts, now) != 0) {
            pd_eng_set_error(e, a, "postage quotes");
            goto out;
        }
        if (assign_stamps(e, rcpts, n_rcpts, stamps, n_stamps, now, addresses) != 0) {
            a->prepend_name[0] = '\0';
            pd_eng_set_stamps_error(e, a);
            goto out;
        }
    }

    /* Every recipient no stamp paid for is greylisted, so that a retry
     * finds its triplet whatever the stamps do. */
    size_t replays = 0;
    for (size_t i = 0; i < n_stamps; i++)
        replays += stamps[i].outcome == PD_STAMP_REPLAYED;
    int deferred = 0;
    for (size_t i = 0; i < n_rcpts; i++) {
        if (rcpts[i].outcome != PD_RCPT_UNPAID)
            continue;
        if (greylist_rcpt(e, txn, q, &rcpts[i], now) != 0) {
            pd_eng_set_error(e, a, "greylisting");
            goto out;
        }
        deferred |= rcpts[i].outcome == PD_RCPT_GREYLISTED;
    }

    /* Spend only for a message we take; a stamp spent by another copy
     * since we looked pays nothing after all.  The paying stamps go in
     * one call: with LMDB one transaction and one commit, so a copy of the
     * message racing this one gets all of them or none.  They were
     * checked in full above; spending needs no second computation. */
    struct postage_store_spend_item spend[PD_POSTAGE_STAMPS_MAX];
    size_t which[PD_POSTAGE_STAMPS_MAX], n_spend = 0;
    for (size_t i = 0; !deferred && e->stamps != NULL && i < n_stamps; i++) {
        if (stamps[i].outcome != PD_STAMP_PAID || n_spend >= PD_POSTAGE_STAMPS_MAX)
            continue;
        spend[n_spend] = (struct postage_store_spend_item) {
            stamps[i].text, stamps[i].len, stamps[i].expires_at, 0 };
        which[n_spend++] = i;
    }
    if (n_spend > 0) {
        int rc = postage_store_spend_many(e->stamps, spend, n_spend);
        pd_metrics_store_op(e->metrics, PD_MST_STAMPS, rc != POSTAGE_OK);
        if (rc != POSTAGE_OK) {
            pd_eng_set_stamps_error(e, a);
            goto out;
        }
    }
    spent = !deferred;
    for (size_t j = 0; j < n_spend; j++) {
        struct pd_postage_stamp *st = &stamps[which[j]];
        if (spend[j].result == POSTAGE_OK)
            continue;
        struct pd_postage_rcpt *rc = &rcpts[st->rcpt];
        st->outcome = PD_STAMP_REPLAYED;
        st->rcpt = -1;
        replays++;
        rc->stamp = -1;
        rc->value = 0;
        if (greylist_rcpt(e, txn, q, rc, now) != 0) {
            pd_eng_set_error(e, a, "greylisting");
            goto out;
        }
        deferred |= rc->outcome == PD_RCPT_GREYLISTED;
    }

    /* The message counts once toward its sender's record, however often
     * it is tried: its triplets and Message-ID mark it. */
    if (pd_eng_count_attempt(e, txn, q, addresses, n_rcpts,
                             q->message_id != NULL ? q->message_id : "", (unsigned) replays,
                             now) != 0) {
        pd_eng_set_error(e, a, "reputation");
        goto out;
    }
    if (deferred) {
        if (pd_eng_give_quotes(e, q, rcpts, n_rcpts, now) != 0) {
            pd_eng_set_error(e, a, "postage quotes");
            goto out;
        }
        defer_for_postage(e, rcpts, n_rcpts, stamps, n_stamps, a);
        size_t len = strlen(a->reason);
        if (txn->price.promised)
            snprintf(a->reason + len, sizeof a->reason - len, "; promise");
        goto out;
    }
    unsigned paid = 0, bits = 0;
    for (size_t i = 0; i < n_rcpts; i++) {
        if (rcpts[i].outcome == PD_RCPT_PAID) {
            paid++;
            bits += rcpts[i].value;
        }
    }
    if (!(txn->rep_recorded & PD_TXN_REP_ACCEPTED)) {
        struct pd_rep_delta d;
        memset(&d, 0, sizeof d);
        txn->rep_recorded |= PD_TXN_REP_ACCEPTED;
        d.counter[PD_REP_ACCEPTED] = 1;
        d.counter[PD_REP_STAMPS_PAID] = paid;
        d.counter[PD_REP_BITS_PAID] = bits;
        pd_eng_rep_record(e, txn, now, &d, NULL);
    }
    snprintf(a->reason, sizeof a->reason, "postage: price %d%s, %u of %zu recipients paid, "
             "%zu stamps replayed", txn->price.bits, txn->price.promised ? " (promise)" : "",
             paid, n_rcpts, replays);
    if (e->trace_header)
        trace_header(e, txn, rcpts, n_rcpts, stamps, n_stamps, a);
out:
    /* Each stamp looked at, by what became of it; one that would pay
     * counts as paid only once spent (a deferred message's stamps pay on
     * its retry, and are counted then). */
    for (size_t i = 0; i < n_stamps; i++)
        if (stamps[i].outcome != PD_STAMP_PAID || spent)
            pd_metrics_stamp(e->metrics, (int) stamps[i].outcome);
    free(addresses);
}
