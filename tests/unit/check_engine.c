/*
 * check_engine.c - unit tests of postaged's engine with a fixed clock: the
 * order of the modules, the X-Greylist header once per message, a message
 * counted once against quotas however many recipients and front-ends see
 * it, on_error when the store is missing, configuration errors naming
 * their line, and postage: the price, stamps paying at end of headers,
 * paid recipients skipping greylisting, replays, the cap, a recipient
 * named twice counted once toward the rate, and reputation recorded by
 * one front-end only.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/engine/engine.h"
#include "policy/frontends/milter_sessions.h"
#include "policy/checks/reputation.h"
#include "policy/engine/settings.h"
#include "policy/state/state.h"
#include "postage/mint.h"
#include "postage/status.h"
#include "postage/store.h"
#include "tests/unit/check_main.h"

#define T0 INT64_C(1795780800) /* 2026-11-27 12:00:00 UTC */

static char dir[256];
static struct pd_state *state;

static void
setup(void)
{
    char err[PD_ST_ERRLEN], spec[300];
    snprintf(dir, sizeof dir, "%s/check_engine.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(spec, sizeof spec, "lmdb:%s", dir);
    ck_assert_int_eq(pd_state_open(spec, PD_ST_NOSYNC, &state, err, sizeof err), PD_ST_OK);
}

static void
teardown(void)
{
    char cmd[300];
    pd_state_close(state);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static struct pd_engine *
engine_with(const char *const *lines, struct pd_state *st)
{
    struct pd_settings s;
    struct pd_engine *e;
    char err[512];
    pd_settings_defaults(&s, "/nonexistent");
    /* No network in unit tests: SPF off unless a test turns it on, and
     * any lookup goes to a port where nothing answers. */
    ck_assert_int_eq(pd_settings_set(&s, "spf", "no", err, sizeof err), 0);
    ck_assert_int_eq(pd_settings_set(&s, "dns_server", "127.0.0.1:9", err, sizeof err), 0);
    ck_assert_int_eq(pd_settings_set(&s, "dns_timeout", "100", err, sizeof err), 0);
    /* The classic modules' tests run without postage; its own tests turn
     * it on. */
    ck_assert_int_eq(pd_settings_set(&s, "postage", "no", err, sizeof err), 0);
    for (; lines && *lines; lines += 2)
        ck_assert_msg(pd_settings_set(&s, lines[0], lines[1], err, sizeof err) == 0, "%s", err);
    ck_assert_msg(pd_engine_create(&s, "test.conf", st, &e, err, sizeof err) == 0, "%s", err);
    pd_settings_free(&s);
    return e;
}

static struct pd_query
rcpt(const char *client, const char *sender, const char *recipient, const char *instance)
{
    struct pd_query q = {
        .stage = PD_STAGE_RCPT, .instance = instance, .queue_id = "", .client_address = client,
        .client_name = "mx.example.net", .helo_name = "mx.example.net", .sender = sender,
        .recipient = recipient, .sasl_username = "", .size = 0, .recipient_count = 0,
    };
    return q;
}

START_TEST(test_access_before_greylisting)
{
    static const char *const conf[] = { "access", "sender @example.net REJECT 5.7.1 no", NULL };
    struct pd_engine *e = engine_with(conf, state);
    struct pd_txn txn = { 0 };
    struct pd_answer a;
    struct pd_query q = rcpt("198.51.100.7", "a@example.net", "b@example.org", "i1");
    pd_engine_decide(e, &txn, &q, T0, &a);
    ck_assert_int_eq(a.verdict.action, PD_REJECT);
    ck_assert_str_eq(a.verdict.text, "5.7.1 no");
    /* Another sender reaches greylisting. */
    q.sender = "a@example.com";
    pd_engine_decide(e, &txn, &q, T0, &a);
    ck_assert_int_eq(a.verdict.action, PD_DEFER);
    ck_assert_str_eq(a.verdict.text, "451 4.7.1 Greylisted, please retry in 300 seconds");
    pd_engine_unref(e);
}
END_TEST

START_TEST(test_greylist_header_once_per_message)
{
    struct pd_engine *e = engine_with(NULL, state);
    struct pd_txn txn = { 0 };
    struct pd_answer a;
    struct pd_query q1 = rcpt("198.51.100.7", "a@example.com", "b@example.org", "i1");
    struct pd_query q2 = rcpt("198.51.100.7", "a@example.com", "c@example.org", "i1");
    pd_engine_decide(e, &txn, &q1, T0, &a);
    pd_engine_decide(e, &txn, &q2, T0, &a);
    ck_assert_int_eq(a.verdict.action, PD_DEFER);
    memset(&txn, 0, sizeof txn);
    pd_engine_decide(e, &txn, &q1, T0 + 301, &a);
    ck_assert_int_eq(a.verdict.action, PD_DUNNO);
    ck_assert_str_eq(a.prepend_name, "X-Greylist");
    ck_assert_msg(strncmp(a.prepend_value, "delayed 301 seconds by postaged-", 32) == 0, "%s",
                  a.prepend_value);
    pd_engine_decide(e, &txn, &q2, T0 + 301, &a);
    ck_assert_int_eq(a.verdict.action, PD_DUNNO);
    ck_assert_str_eq(a.prepend_name, "");   /* once per message */
    pd_engine_unref(e);
}
END_TEST

/* A bad HELO is rejected before SPF and greylisting, for every
 * recipient of the message; a good one goes on. */
START_TEST(test_helo_checks)
{
    struct pd_engine *e = engine_with(NULL, state);
    struct pd_txn txn = { 0 };
    struct pd_answer a;
    struct pd_query q = rcpt("198.51.100.7", "a@example.com", "b@example.org", "h1");
    q.helo_name = "localhost";
    for (int i = 0; i < 2; i++) {
        pd_engine_decide(e, &txn, &q, T0, &a);
        ck_assert_int_eq(a.verdict.action, PD_REJECT);
        ck_assert_msg(strncmp(a.verdict.text, "5", 1) == 0, "%s", a.verdict.text);
        ck_assert_ptr_nonnull(strstr(a.reason, "HELO"));
    }
    memset(&txn, 0, sizeof txn);
    q.helo_name = "192.0.2.1";
    pd_engine_decide(e, &txn, &q, T0, &a);
    ck_assert_int_eq(a.verdict.action, PD_REJECT);
    memset(&txn, 0, sizeof txn);
    q.helo_name = "";
    pd_engine_decide(e, &txn, &q, T0, &a);
    ck_assert_int_eq(a.verdict.action, PD_REJECT);
    /* Per-test actions. */
    pd_engine_unref(e);
    static const char *const conf[] = { "helo_bare_ip", "defer", "helo_localhost", "off",
                                        "greylist", "no", NULL };
    e = engine_with(conf, state);
    memset(&txn, 0, sizeof txn);
    q.helo_name = "192.0.2.1";
    pd_engine_decide(e, &txn, &q, T0, &a);
    ck_assert_int_eq(a.verdict.action, PD_DEFER);
    ck_assert_msg(strncmp(a.verdict.text, "4", 1) == 0, "%s", a.verdict.text);
    memset(&txn, 0, sizeof txn);
    q.helo_name = "localhost";
    pd_engine_decide(e, &txn, &q, T0, &a);
    ck_assert_int_eq(a.verdict.action, PD_DUNNO);
    pd_engine_unref(e);
    static const char *const off[] = { "helo_checks", "no", "greylist", "no", NULL };
    e = engine_with(off, state);
    memset(&txn, 0, sizeof txn);
    q.helo_name = "";
    pd_engine_decide(e, &txn, &q, T0, &a);
    ck_assert_int_eq(a.verdict.action, PD_DUNNO);
    pd_engine_unref(e);
}
END_TEST

/* Two trace headers for one message: a skipped SPF check's X-Comment
 * (policyd-spf adds one for a whitelisted client; no DNS needed) yields
 * to X-Greylist, which goes out with the first accepted recipient, the
 * X-Comment with the second, nothing with the third; at DATA or for the
 * milter, what is left is still there.  (A real SPF result goes first:
 * see tests/system/policy_spf.sh.) */
START_TEST(test_headers_one_per_reply)
{
    static const char *const conf[] = { "spf", "yes", "spf_whitelist_clients", "198.51.100.0/24",
                                        NULL };
    struct pd_engine *e = engine_with(conf, state);
    struct pd_txn txn = { 0 };
    struct pd_answer a;
    struct pd_header h;
    struct pd_query q1 = rcpt("198.51.100.7", "a@example.com", "b@example.org", "g1");
    struct pd_query q2 = rcpt("198.51.100.7", "a@example.com", "c@example.org", "g1");
    struct pd_query q3 = rcpt("198.51.100.7", "a@example.com", "d@example.org", "g1");
    pd_engine_decide(e, &txn, &q1, T0, &a);
    ck_assert_int_eq(a.verdict.action, PD_DEFER);
    /* The SPF header waits for an accepted recipient. */
    ck_assert_str_eq(a.prepend_name, "");
    pd_engine_decide(e, &txn, &q2, T0, &a);
    pd_engine_decide(e, &txn, &q3, T0, &a);
    ck_assert_int_eq(a.verdict.action, PD_DEFER);
    memset(&txn, 0, sizeof txn);
    pd_engine_decide(e, &txn, &q1, T0 + 301, &a);
    ck_assert_int_eq(a.verdict.action, PD_DUNNO);
    ck_assert_str_eq(a.prepend_name, "X-Greylist");
    pd_engine_decide(e, &txn, &q2, T0 + 301, &a);
    ck_assert_int_eq(a.verdict.action, PD_DUNNO);
    ck_assert_str_eq(a.prepend_name, "X-Comment");
    pd_engine_decide(e, &txn, &q3, T0 + 301, &a);
    ck_assert_int_eq(a.verdict.action, PD_DUNNO);
    ck_assert_str_eq(a.prepend_name, "");
    pd_engine_unref(e);

    /* Only one accepted recipient: the X-Comment is left for DATA (or
     * the milter's end of message). */
    e = engine_with(conf, state);
    memset(&txn, 0, sizeof txn);
    struct pd_query n1 = rcpt("198.51.100.8", "z@example.com", "b@example.org", "g2");
    pd_engine_decide(e, &txn, &n1, T0, &a);
    ck_assert_int_eq(a.verdict.action, PD_DEFER);
    memset(&txn, 0, sizeof txn);
    pd_engine_decide(e, &txn, &n1, T0 + 400, &a);
    ck_assert_int_eq(a.verdict.action, PD_DUNNO);
    ck_assert_str_eq(a.prepend_name, "X-Greylist");
    ck_assert_uint_eq(txn.n_headers, 1);
    struct pd_query data = n1;
    data.stage = PD_STAGE_DATA;
    struct pd_txn copy = txn;
    pd_engine_decide(e, &txn, &data, T0 + 400, &a);
    ck_assert_str_eq(a.prepend_name, "X-Comment");
    pd_engine_decide(e, &txn, &data, T0 + 400, &a);
    ck_assert_str_eq(a.prepend_name, "");
    ck_assert_int_eq(pd_txn_take_header(&copy, &h), 1);
    ck_assert_str_eq(h.name, "X-Comment");
    ck_assert_int_eq(pd_txn_take_header(&copy, &h), 0);
    pd_engine_unref(e);
}
END_TEST

START_TEST(test_quota_counts_messages_once)
{
    static const char *const conf[] = { "greylist", "no",
                                        "quota", "sender 1h count 2 DEFER 4.7.1 slow down", NULL };
    struct pd_engine *e = engine_with(conf, state);
    struct pd_answer a;
    for (int msg = 0; msg < 2; msg++) {
        struct pd_txn policy_txn = { 0 }, milter_txn = { 0 };
        char id[16];
        snprintf(id, sizeof id, "Q%d", msg);
        for (int r = 0; r < 3; r++) {   /* three recipients: still one message */
            struct pd_query q = rcpt("198.51.100.7", "a@example.com", "b@example.org", id);
            pd_engine_decide(e, &policy_txn, &q, T0 + msg, &a);
            ck_assert_int_eq(a.verdict.action, PD_DUNNO);
        }
        struct pd_query eom = rcpt("198.51.100.7", "a@example.com", "", id);
        eom.stage = PD_STAGE_END_OF_MESSAGE;
        eom.queue_id = id;
        eom.size = 5000;
        eom.recipient_count = 3;
        pd_engine_decide(e, &policy_txn, &eom, T0 + msg, &a);
        ck_assert_int_eq(a.verdict.action, PD_DUNNO);
        /* The milter sees the same message: not counted again. */
        pd_engine_decide(e, &milter_txn, &eom, T0 + msg, &a);
        ck_assert_int_eq(a.verdict.action, PD_DUNNO);
    }
    struct pd_txn txn = { 0 };
    struct pd_query q = rcpt("198.51.100.7", "a@example.com", "b@example.org", "third");
    pd_engine_decide(e, &txn, &q, T0 + 10, &a);
    ck_assert_int_eq(a.verdict.action, PD_DEFER);
    ck_assert_str_eq(a.verdict.text, "4.7.1 slow down");
    pd_engine_unref(e);
}
END_TEST

START_TEST(test_on_error)
{
    struct pd_txn txn = { 0 };
    struct pd_answer a;
    struct pd_query q = rcpt("198.51.100.7", "a@example.com", "b@example.org", "i1");
    struct pd_engine *e = engine_with(NULL, NULL);
    pd_engine_decide(e, &txn, &q, T0, &a);
    ck_assert_int_eq(a.verdict.action, PD_DEFER);
    ck_assert_str_eq(a.verdict.text, "451 4.3.0 Temporary policy failure, please retry");
    ck_assert_ptr_nonnull(strstr(a.reason, "on_error=tempfail"));
    pd_engine_unref(e);
    static const char *const dunno[] = { "on_error", "dunno", NULL };
    e = engine_with(dunno, NULL);
    pd_engine_decide(e, &txn, &q, T0, &a);
    ck_assert_int_eq(a.verdict.action, PD_DUNNO);
    pd_engine_unref(e);
}
END_TEST

START_TEST(test_config_errors_name_the_line)
{
    struct pd_settings s;
    struct pd_engine *e;
    char err[512], path[300];
    snprintf(path, sizeof path, "%s/bad.conf", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("# comment\n\ngreylist = yes\naccount = x\n", f);
    fclose(f);
    pd_settings_defaults(&s, "/nonexistent");
    ck_assert_int_eq(pd_settings_load(&s, path, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "bad.conf:4: unknown key 'account'") != NULL, "%s", err);
    pd_settings_free(&s);

    f = fopen(path, "w");
    fputs("accounting = sender fortnight count 5 REJECT\n", f);
    fclose(f);
    pd_settings_defaults(&s, "/nonexistent");
    ck_assert_int_eq(pd_settings_load(&s, path, err, sizeof err), 0);
    ck_assert_int_eq(pd_engine_create(&s, path, NULL, &e, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "bad.conf:1: accounting: 'fortnight' is not day, week or month"),
                  "%s", err);
    pd_settings_free(&s);

    pd_settings_defaults(&s, "/nonexistent");
    ck_assert_int_eq(pd_settings_set(&s, "greylist_ipv4_prefix", "33", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "from 8 to 32") != NULL, "%s", err);
    ck_assert_int_eq(pd_settings_set(&s, "on_error", "maybe", err, sizeof err), -1);
    ck_assert_int_eq(pd_settings_set(&s, "greylist_text", "a %d b", err, sizeof err), 0);
    ck_assert_int_eq(pd_engine_create(&s, "x.conf", NULL, &e, err, sizeof err), -1);
    pd_settings_free(&s);
}
END_TEST

/* The SPF trace header is added once: by the milter when the session
 * passes through it (it removes forged headers first), else by the
 * policy service.  (A loopback client is skipped by SPF without DNS, and
 * the skip is itself traced with an X-Comment header.) */
START_TEST(test_spf_header_from_one_front_end)
{
    static const char *const both[] = { "spf", "yes", "greylist", "no", NULL };
    struct pd_answer a;
    struct pd_query q = rcpt("127.0.0.1", "a@example.com", "b@example.org", "m1");
    struct pd_engine *e = engine_with(both, state);

    /* Both front-ends in the session: the milter adds it ... */
    struct pd_txn txn = { 0 };
    q.from_milter = 1;
    pd_engine_decide(e, &txn, &q, T0, &a);
    ck_assert_int_eq(a.verdict.action, PD_DUNNO);
    ck_assert_str_eq(a.prepend_name, "X-Comment");
    /* ... and the policy service does not. */
    memset(&txn, 0, sizeof txn);
    q.from_milter = 0;
    q.milter_in_path = 1;
    pd_engine_decide(e, &txn, &q, T0, &a);
    ck_assert_int_eq(a.verdict.action, PD_DUNNO);
    ck_assert_str_eq(a.prepend_name, "");
    struct pd_header h;
    ck_assert_int_eq(pd_txn_take_header(&txn, &h), 0);
    /* The policy service alone adds it. */
    memset(&txn, 0, sizeof txn);
    q.milter_in_path = 0;
    pd_engine_decide(e, &txn, &q, T0, &a);
    ck_assert_str_eq(a.prepend_name, "X-Comment");
    pd_engine_unref(e);
}
END_TEST


/* ---- postage --------------------------------------------------------- */

static postage_store *
stamp_store(void)
{
    char spec[300], err[POSTAGE_STORE_ERRLEN];
    postage_store *ps = NULL;
    snprintf(spec, sizeof spec, "lmdb:%s/stamps", dir);
    ck_assert_msg(postage_store_open(spec, POSTAGE_STORE_NOSYNC, &ps, err, sizeof err) ==
                  POSTAGE_OK, "%s", err);
    return ps;
}

static void
mint(const char *resource, unsigned bits, char *out)
{
    struct postage_mint_options o;
    postage_mint_options_init(&o, T0);
    o.bits = bits;
    o.threads = 1;
    ck_assert_int_eq(postage_mint(resource, &o, out, POSTAGE_MINT_STAMP_SIZE, NULL), POSTAGE_OK);
}

/* RCPT for each recipient from the milter; all must pass (greylisting
 * waits for end of headers). */
static void
milter_rcpts(struct pd_engine *e, struct pd_txn *txn, const char *instance,
             const char *const *rcpts, size_t n, int64_t now)
{
    struct pd_answer a;
    memset(txn, 0, sizeof *txn);
    /* The instance doubles as the message's Message-ID (see eoh). */
    snprintf(txn->instance, sizeof txn->instance, "%s", instance);
    for (size_t i = 0; i < n; i++) {
        struct pd_query q = rcpt("198.51.100.7", "a@example.net", rcpts[i], instance);
        q.from_milter = 1;
        pd_engine_decide(e, txn, &q, now, &a);
        ck_assert_msg(a.verdict.action == PD_DUNNO, "RCPT %s: %s", rcpts[i], a.reason);
    }
}

static void
eoh(struct pd_engine *e, struct pd_txn *txn, const char *const *rcpt_addrs,
    struct pd_postage_rcpt *rcpts, size_t n, char stamps_text[][POSTAGE_MINT_STAMP_SIZE],
    struct pd_postage_stamp *stamps, size_t n_stamps, int64_t now, struct pd_answer *a)
{
    struct pd_query q = rcpt("198.51.100.7", "a@example.net", "", "x");
    q.from_milter = 1;
    q.stage = PD_STAGE_OTHER;
    q.message_id = txn->instance;
    for (size_t i = 0; i < n; i++)
        rcpts[i].address = rcpt_addrs[i];
    for (size_t i = 0; i < n_stamps; i++) {
        memset(&stamps[i], 0, sizeof stamps[i]);
        stamps[i].text = stamps_text[i];
        stamps[i].len = strlen(stamps_text[i]);
    }
    pd_engine_postage(e, txn, &q, rcpts, n, stamps, n_stamps, now, a);
}

static const char *const postage_conf[] = { "postage", "yes", "price_base", "10", NULL };

START_TEST(test_postage_stamps_pay_and_the_rest_is_greylisted)
{
    struct pd_engine *e = engine_with(postage_conf, state);
    postage_store *ps = stamp_store();
    pd_engine_attach(e, ps, NULL);
    ck_assert(pd_engine_greylists_at_headers(e));
    static const char *const to[] = { "a@example.org", "b@example.org", "c@example.org" };
    char st[2][POSTAGE_MINT_STAMP_SIZE];
    struct pd_postage_rcpt r[3];
    struct pd_postage_stamp sp[2];
    struct pd_txn txn;
    struct pd_answer a;

    milter_rcpts(e, &txn, "m1", to, 3, T0);
    ck_assert(txn.priced);
    ck_assert_int_eq(txn.price.bits, 10);
    mint("a@example.org", 10, st[0]);
    mint("B@example.org", 12, st[1]);   /* resources match case-blind */

    /* Stamps for two of three: the message waits for c, nothing is spent. */
    eoh(e, &txn, to, r, 3, st, sp, 2, T0, &a);
    ck_assert_int_eq(a.verdict.action, PD_DEFER);
    ck_assert_msg(strstr(a.verdict.text, "451 4.7.1 Greylisted") == a.verdict.text, "%s",
                  a.verdict.text);
    ck_assert_msg(strstr(a.verdict.text, "X-Hashcash with 10 bits for <c@example.org>") != NULL,
                  "%s", a.verdict.text);
    ck_assert_ptr_null(strstr(a.verdict.text, "<a@example.org>"));
    ck_assert_int_eq(r[0].outcome, PD_RCPT_PAID);
    ck_assert_int_eq(r[1].outcome, PD_RCPT_PAID);
    ck_assert_uint_ge(r[1].value, 12);
    ck_assert_int_eq(r[2].outcome, PD_RCPT_GREYLISTED);
    ck_assert_int_eq(postage_store_is_spent(ps, st[0], strlen(st[0])), POSTAGE_OK);
    ck_assert_int_eq(postage_store_is_spent(ps, st[1], strlen(st[1])), POSTAGE_OK);

    /* The retry after the delay (the same message, so the same
     * Message-ID): the same stamps pay, c is past greylisting, and now the
     * stamps are spent. */
    milter_rcpts(e, &txn, "m1", to, 3, T0 + 301);
    eoh(e, &txn, to, r, 3, st, sp, 2, T0 + 301, &a);
    ck_assert_msg(a.verdict.action == PD_DUNNO, "%s", a.reason);
    ck_assert_int_eq(r[0].outcome, PD_RCPT_PAID);
    ck_assert_int_eq(r[2].outcome, PD_RCPT_GREYLIST_PASSED);
    ck_assert_str_eq(a.prepend_name, "X-Postage-Result");
    ck_assert_msg(strstr(a.prepend_value, "price=10; reputation=unknown; stamps=2; replayed=0") !=
                  NULL, "%s", a.prepend_value);
    /* Every recipient reads this header: counts, never addresses. */
    ck_assert_msg(strstr(a.prepend_value, "; paid=2; greylist-passed=1") != NULL, "%s",
                  a.prepend_value);
    ck_assert_msg(strstr(a.prepend_value, "@example.org") == NULL, "%s", a.prepend_value);
    ck_assert_int_eq(postage_store_is_spent(ps, st[0], strlen(st[0])), POSTAGE_ERR_SPENT);
    ck_assert_int_eq(postage_store_is_spent(ps, st[1], strlen(st[1])), POSTAGE_ERR_SPENT);

    /* The same stamps again, to new recipients' triplets: they pay
     * nothing, the message is greylisted, and the replays count against
     * the sender. */
    static const char *const to2[] = { "a@example.org", "b@example.org" };
    struct pd_rep_params p;
    struct pd_rep_record rec;
    pd_settings_rep_defaults(&p);
    milter_rcpts(e, &txn, "m3", to2, 2, T0 + 400);
    eoh(e, &txn, to2, r, 2, st, sp, 2, T0 + 400, &a);
    ck_assert_int_eq(sp[0].outcome, PD_STAMP_REPLAYED);
    ck_assert_int_eq(sp[1].outcome, PD_STAMP_REPLAYED);
    /* a and b passed greylisting? No: their triplets were never recorded
     * (they were paid), so they are new now. */
    ck_assert_int_eq(a.verdict.action, PD_DEFER);
    ck_assert_int_eq(pd_rep_load(state, &p, "sender:198.51.100.0/24 a@example.net", T0 + 400,
                                 &rec), PD_ST_OK);
    ck_assert_double_eq_tol(rec.counter[PD_REP_REPLAYED], 2, 0.01);
    ck_assert_double_eq_tol(rec.counter[PD_REP_ACCEPTED], 1, 0.01);
    ck_assert_double_eq_tol(rec.counter[PD_REP_STAMPS_PAID], 2, 0.01);
    /* m1 and m3; m1's retry is not a new message. */
    ck_assert_uint_eq(rec.messages, 2);
    pd_engine_unref(e);
    postage_store_close(ps);
}
END_TEST

/* One message through the milter from `sender` (RCPT for each recipient,
 * then end of headers without stamps), its instance its Message-ID. */
static void
milter_message(struct pd_engine *e, const char *sender, const char *instance,
               const char *const *to, size_t n, int64_t now, struct pd_answer *a)
{
    struct pd_postage_rcpt r[8];
    struct pd_txn txn;
    memset(&txn, 0, sizeof txn);
    ck_assert_uint_le(n, 8);
    snprintf(txn.instance, sizeof txn.instance, "%s", instance);
    for (size_t i = 0; i < n; i++) {
        struct pd_query q = rcpt("198.51.100.7", sender, to[i], instance);
        q.from_milter = 1;
        pd_engine_decide(e, &txn, &q, now, a);
        ck_assert_msg(a->verdict.action == PD_DUNNO, "RCPT %s: %s", to[i], a->reason);
    }
    struct pd_query q = rcpt("198.51.100.7", sender, "", instance);
    q.from_milter = 1;
    q.stage = PD_STAGE_OTHER;
    q.message_id = txn.instance;
    memset(r, 0, sizeof r);
    for (size_t i = 0; i < n; i++)
        r[i].address = to[i];
    pd_engine_postage(e, &txn, &q, r, n, NULL, 0, now, a);
}

/* A recipient named twice has one triplet, marked once: the message
 * counts toward its sender's rate exactly as the same message to distinct
 * recipients does (the second mark of the same triplet once made it look
 * like a retry, so a sender dodged the rate by naming someone twice); a
 * real retry of it still does not count again. */
START_TEST(test_postage_recipient_twice_counts_once)
{
    struct pd_engine *e = engine_with(postage_conf, state);
    static const char *const twice[] = { "a@example.org", "b@example.org", "a@example.org" };
    static const char *const distinct[] = { "a@example.org", "b@example.org" };
    static const char *const dup_id = "sender:198.51.100.0/24 dup@example.net";
    static const char *const plain_id = "sender:198.51.100.0/24 plain@example.net";
    struct pd_rep_params p;
    struct pd_rep_record dup, plain;
    struct pd_answer a;
    pd_settings_rep_defaults(&p);

    milter_message(e, "dup@example.net", "m1", twice, 3, T0, &a);
    ck_assert_int_eq(a.verdict.action, PD_DEFER);      /* greylisted, no stamps */
    milter_message(e, "plain@example.net", "m2", distinct, 2, T0, &a);
    ck_assert_int_eq(a.verdict.action, PD_DEFER);
    ck_assert_int_eq(pd_rep_load(state, &p, dup_id, T0, &dup), PD_ST_OK);
    ck_assert_int_eq(pd_rep_load(state, &p, plain_id, T0, &plain), PD_ST_OK);
    ck_assert_uint_eq(plain.messages, 1);
    ck_assert_double_gt(plain.counter[PD_REP_RATE], 0.5);
    ck_assert_uint_eq(dup.messages, plain.messages);
    ck_assert_double_eq_tol(dup.counter[PD_REP_RATE], plain.counter[PD_REP_RATE], 1e-9);

    /* The retry past greylisting (same triplets, same Message-ID): not a
     * new message, for either. */
    milter_message(e, "dup@example.net", "m1", twice, 3, T0 + 301, &a);
    ck_assert_msg(a.verdict.action == PD_DUNNO, "%s", a.reason);
    milter_message(e, "plain@example.net", "m2", distinct, 2, T0 + 301, &a);
    ck_assert_msg(a.verdict.action == PD_DUNNO, "%s", a.reason);
    ck_assert_int_eq(pd_rep_load(state, &p, dup_id, T0 + 301, &dup), PD_ST_OK);
    ck_assert_int_eq(pd_rep_load(state, &p, plain_id, T0 + 301, &plain), PD_ST_OK);
    ck_assert_uint_eq(dup.messages, 1);
    ck_assert_uint_eq(plain.messages, 1);
    ck_assert_double_eq_tol(dup.counter[PD_REP_RATE], plain.counter[PD_REP_RATE], 1e-9);

    /* A new message with the duplicate counts again, as a new one would. */
    milter_message(e, "dup@example.net", "m3", twice, 3, T0 + 302, &a);
    ck_assert_int_eq(pd_rep_load(state, &p, dup_id, T0 + 302, &dup), PD_ST_OK);
    ck_assert_uint_eq(dup.messages, 2);
    pd_engine_unref(e);
}
END_TEST

START_TEST(test_postage_stamp_outcomes)
{
    struct pd_engine *e = engine_with(postage_conf, state);
    postage_store *ps = stamp_store();
    pd_engine_attach(e, ps, NULL);
    static const char *const to[] = { "a@example.org", "a@example.org" };
    char st[4][POSTAGE_MINT_STAMP_SIZE];
    struct pd_postage_rcpt r[2];
    struct pd_postage_stamp sp[4];
    struct pd_txn txn;
    struct pd_answer a;

    milter_rcpts(e, &txn, "m1", to, 2, T0);
    mint("a@example.org", 10, st[0]);
    snprintf(st[1], sizeof st[1], "%s", st[0]);          /* the same stamp twice */
    mint("a@example.org", 9, st[2]);                     /* under the price */
    mint("z@example.org", 12, st[3]);                    /* for someone else */
    eoh(e, &txn, to, r, 2, st, sp, 4, T0, &a);
    ck_assert_int_eq(sp[0].outcome, PD_STAMP_PAID);
    ck_assert_int_eq(sp[0].rcpt, 0);
    /* One stamp pays for one recipient only, even for the same address. */
    ck_assert_int_eq(sp[1].outcome, PD_STAMP_UNUSED);
    ck_assert_int_eq(sp[2].outcome, PD_STAMP_UNDERPAID);
    ck_assert_int_eq(sp[3].outcome, PD_STAMP_NO_RECIPIENT);
    ck_assert_int_eq(r[1].outcome, PD_RCPT_GREYLISTED);
    ck_assert_int_eq(a.verdict.action, PD_DEFER);
    /* Deferred: nothing spent, not even the stamp that paid. */
    ck_assert_int_eq(postage_store_is_spent(ps, st[0], strlen(st[0])), POSTAGE_OK);

    /* An expired stamp is invalid. */
    char old[1][POSTAGE_MINT_STAMP_SIZE];
    struct postage_mint_options o;
    postage_mint_options_init(&o, T0 - 40 * 86400);
    o.bits = 10;
    o.threads = 1;
    ck_assert_int_eq(postage_mint("a@example.org", &o, old[0], sizeof old[0], NULL), POSTAGE_OK);
    eoh(e, &txn, to, r, 1, old, sp, 1, T0, &a);
    ck_assert_int_eq(sp[0].outcome, PD_STAMP_INVALID);
    pd_engine_unref(e);
    postage_store_close(ps);
}
END_TEST

/* One recipient, one stamp (the common message): a stamp spent before
 * (here through the library, as another daemon would) pays nothing, the
 * recipient is greylisted and told why, the replay counts once against the
 * sender, and the stamp stays spent; a fresh stamp pays and is spent. */
START_TEST(test_postage_one_stamp_replayed)
{
    struct pd_engine *e = engine_with(postage_conf, state);
    postage_store *ps = stamp_store();
    pd_engine_attach(e, ps, NULL);
    static const char *const to[] = { "a@example.org" };
    char st[1][POSTAGE_MINT_STAMP_SIZE];
    struct pd_postage_rcpt r[1];
    struct pd_postage_stamp sp[1];
    struct pd_txn txn;
    struct pd_answer a;
    struct pd_rep_params p;
    struct pd_rep_record rec;
    pd_settings_rep_defaults(&p);

    mint("a@example.org", 10, st[0]);
    ck_assert_int_eq(postage_store_spend(ps, st[0], strlen(st[0]), T0 + 86400), POSTAGE_OK);
    milter_rcpts(e, &txn, "m1", to, 1, T0);
    eoh(e, &txn, to, r, 1, st, sp, 1, T0, &a);
    ck_assert_int_eq(sp[0].outcome, PD_STAMP_REPLAYED);
    ck_assert_int_eq(sp[0].rcpt, -1);
    ck_assert_int_eq(r[0].outcome, PD_RCPT_GREYLISTED);
    ck_assert_int_eq(r[0].stamp, -1);
    ck_assert_int_eq(a.verdict.action, PD_DEFER);
    ck_assert_msg(strstr(a.detail, "did not pay: it is already spent") != NULL, "%s", a.detail);
    ck_assert_int_eq(postage_store_is_spent(ps, st[0], strlen(st[0])), POSTAGE_ERR_SPENT);
    ck_assert_int_eq(pd_rep_load(state, &p, "sender:198.51.100.0/24 a@example.net", T0, &rec),
                     PD_ST_OK);
    ck_assert_double_eq_tol(rec.counter[PD_REP_REPLAYED], 1, 0.01);
    ck_assert_uint_eq(rec.messages, 1);

    /* A fresh stamp for the next message: paid, spent, taken. */
    mint("a@example.org", 10, st[0]);
    milter_rcpts(e, &txn, "m2", to, 1, T0 + 1);
    eoh(e, &txn, to, r, 1, st, sp, 1, T0 + 1, &a);
    ck_assert_msg(a.verdict.action == PD_DUNNO, "%s", a.reason);
    ck_assert_int_eq(sp[0].outcome, PD_STAMP_PAID);
    ck_assert_int_eq(r[0].outcome, PD_RCPT_PAID);
    ck_assert_int_eq(postage_store_is_spent(ps, st[0], strlen(st[0])), POSTAGE_ERR_SPENT);
    pd_engine_unref(e);
    postage_store_close(ps);
}
END_TEST

START_TEST(test_postage_price_zero_skips_greylisting)
{
    struct pd_engine *e = engine_with(postage_conf, state);
    struct pd_rep_params p;
    pd_settings_rep_defaults(&p);
    ck_assert_int_eq(pd_rep_pin(state, &p, "ip:198.51.100.7", T0, 0), PD_ST_OK);
    static const char *const to[] = { "a@example.org" };
    struct pd_postage_rcpt r[1];
    struct pd_postage_stamp sp[1];
    char none[1][POSTAGE_MINT_STAMP_SIZE];
    struct pd_txn txn;
    struct pd_answer a;
    milter_rcpts(e, &txn, "m1", to, 1, T0);
    ck_assert_int_eq(txn.price.bits, 0);
    ck_assert(txn.price.pinned);
    eoh(e, &txn, to, r, 1, none, sp, 0, T0, &a);
    ck_assert_int_eq(a.verdict.action, PD_DUNNO);
    ck_assert_int_eq(r[0].outcome, PD_RCPT_FREE);
    uint64_t n = 99;
    ck_assert_int_eq(pd_state_count(state, PD_TABLE_GREYLIST, &n), PD_ST_OK);
    ck_assert_uint_eq(n, 0);
    pd_engine_unref(e);
}
END_TEST

/* A deferral's price is a promise to its triplet: after the sender's
 * price is raised (a pin), the quoted stamp still pays on the retry; a
 * stamp of the same value for a recipient never quoted it does not, and
 * the reply says why. */
START_TEST(test_postage_quote_is_kept)
{
    struct pd_engine *e = engine_with(postage_conf, state);
    postage_store *ps = stamp_store();
    pd_engine_attach(e, ps, NULL);
    struct pd_rep_params p;
    pd_settings_rep_defaults(&p);
    static const char *const to[] = { "a@example.org" };
    static const char *const other[] = { "b@example.org" };
    char st[1][POSTAGE_MINT_STAMP_SIZE];
    struct pd_postage_rcpt r[1];
    struct pd_postage_stamp sp[1];
    struct pd_txn txn;
    struct pd_answer a;

    milter_rcpts(e, &txn, "q1", to, 1, T0);
    ck_assert_int_eq(txn.price.bits, 10);
    eoh(e, &txn, to, r, 1, st, sp, 0, T0, &a);
    ck_assert_int_eq(a.verdict.action, PD_DEFER);
    ck_assert_msg(strstr(a.verdict.text, "with 10 bits for <a@example.org>") != NULL, "%s",
                  a.verdict.text);
    ck_assert_str_eq(a.detail, "");   /* no stamp: nothing to explain */

    ck_assert_int_eq(pd_rep_pin(state, &p, "ip:198.51.100.7", T0, 14), PD_ST_OK);
    mint("a@example.org", 10, st[0]);
    milter_rcpts(e, &txn, "q1", to, 1, T0 + 60);
    ck_assert_int_eq(txn.price.bits, 14);
    eoh(e, &txn, to, r, 1, st, sp, 1, T0 + 60, &a);
    ck_assert_msg(a.verdict.action == PD_DUNNO, "%s", a.verdict.text);
    ck_assert_int_eq(r[0].outcome, PD_RCPT_PAID);
    ck_assert_uint_eq(r[0].need, 10);

    mint("b@example.org", 10, st[0]);
    milter_rcpts(e, &txn, "q2", other, 1, T0 + 60);
    eoh(e, &txn, other, r, 1, st, sp, 1, T0 + 60, &a);
    ck_assert_int_eq(a.verdict.action, PD_DEFER);
    ck_assert_str_eq(a.detail, "The stamp for <b@example.org> did not pay: it is worth 10 bits, "
                               "14 needed");
    pd_engine_unref(e);
    postage_store_close(ps);
}
END_TEST

/* The milter's open transactions, as the policy server asks about them. */
START_TEST(test_milter_sessions)
{
    uint64_t k1, k2, k3;
    ck_assert(!pd_milter_session_active("192.0.2.1", "mx.example.org"));
    ck_assert_int_eq(pd_milter_session_enter("192.0.2.1", "mx.example.org", &k1), 0);
    ck_assert_int_eq(pd_milter_session_enter("192.0.2.1", "MX.example.org", &k2), 0);
    ck_assert(pd_milter_session_active("192.0.2.1", "mx.EXAMPLE.org"));
    ck_assert(!pd_milter_session_active("192.0.2.1", "other.example.org"));
    ck_assert(!pd_milter_session_active("192.0.2.2", "mx.example.org"));
    pd_milter_session_leave(k1);
    ck_assert(pd_milter_session_active("192.0.2.1", "mx.example.org"));   /* k2 still open */
    pd_milter_session_leave(k2);
    ck_assert(!pd_milter_session_active("192.0.2.1", "mx.example.org"));
    /* A full table refuses, and never reports a session it does not hold. */
    uint64_t keys[PD_MILTER_SESSIONS_MAX];
    size_t entered = 0;
    char addr[64];
    for (size_t i = 0; i < PD_MILTER_SESSIONS_MAX + 10; i++) {
        snprintf(addr, sizeof addr, "198.51.%zu.%zu", i / 256, i % 256);
        if (pd_milter_session_enter(addr, "h", &k3) == 0 && entered < PD_MILTER_SESSIONS_MAX)
            keys[entered++] = k3;
    }
    ck_assert_uint_le(entered, PD_MILTER_SESSIONS_MAX);
    ck_assert(!pd_milter_session_active("203.0.113.1", "h"));
    for (size_t i = 0; i < entered; i++)
        pd_milter_session_leave(keys[i]);
    ck_assert(!pd_milter_session_active("198.51.0.1", "h"));
}
END_TEST

START_TEST(test_postage_over_cap)
{
    static const char *const defer[] = { "postage", "yes", "price_allowance", "1", NULL };
    static const char *const reject[] = { "postage", "yes", "price_allowance", "1",
                                          "price_over_cap_action", "reject", NULL };
    struct pd_rep_params p;
    struct pd_rep_delta d;
    pd_settings_rep_defaults(&p);
    memset(&d, 0, sizeof d);
    d.counter[PD_REP_RATE] = 1024;   /* 2^10 times the allowance: +10 bits */
    /* A host in bad standing (net -0.5, too little for a history
     * penalty): the published price does not cap its price. */
    d.counter[PD_REP_REPLAYED] = 0.125;
    ck_assert_int_eq(pd_rep_apply(state, &p, "ip:198.51.100.7", T0, &d), PD_ST_OK);
    struct pd_answer a;
    struct pd_txn txn = { 0 };
    struct pd_query q = rcpt("198.51.100.7", "a@example.net", "b@example.org", "i1");
    q.from_milter = 1;

    struct pd_engine *e = engine_with(defer, state);
    pd_engine_decide(e, &txn, &q, T0, &a);
    ck_assert_int_eq(a.verdict.action, PD_DEFER);
    ck_assert_msg(strstr(a.verdict.text, "451 4.7.1 Refused for now: postage for this message "
                         "would be 30 bits, over our limit of 28 (too much mail") == a.verdict.text,
                  "%s", a.verdict.text);
    pd_engine_unref(e);

    e = engine_with(reject, state);
    memset(&txn, 0, sizeof txn);
    pd_engine_decide(e, &txn, &q, T0, &a);
    ck_assert_int_eq(a.verdict.action, PD_REJECT);
    ck_assert_msg(strncmp(a.verdict.text, "550 5.7.1 Refused: ", 19) == 0, "%s", a.verdict.text);
    pd_engine_unref(e);

    /* The second refusal was of the same triplet, a retry: one overrun.
     * A message to another recipient is a new one, and counts. */
    struct pd_rep_record rec;
    ck_assert_int_eq(pd_rep_load(state, &p, "ip:198.51.100.7", T0, &rec), PD_ST_OK);
    ck_assert_double_eq_tol(rec.counter[PD_REP_QUOTA_OVERRUNS], 1, 0.01);
    e = engine_with(reject, state);
    memset(&txn, 0, sizeof txn);
    q.recipient = "c@example.org";
    pd_engine_decide(e, &txn, &q, T0, &a);
    ck_assert_int_eq(a.verdict.action, PD_REJECT);
    pd_engine_unref(e);
    ck_assert_int_eq(pd_rep_load(state, &p, "ip:198.51.100.7", T0, &rec), PD_ST_OK);
    ck_assert_double_eq_tol(rec.counter[PD_REP_QUOTA_OVERRUNS], 2, 0.01);
}
END_TEST

/* The promise: a sender not in bad standing is asked at most
 * published_price (default price_base) for every recipient, by the milter
 * and by the policy server alike, however much its volume and its HELO
 * name would raise its price; a 20-bit stamp per recipient takes the
 * message at once.  (A host in bad standing is still refused over the
 * cap: test_postage_over_cap.) */
START_TEST(test_postage_promise)
{
    static const char *const defaults[] = { "postage", "yes", "price_allowance", "1", NULL };
    static const char *const high[] = { "postage", "yes", "price_allowance", "1",
                                        "published_price", "28", NULL };
    static const char *const policy_only[] = { "postage", "yes", "price_allowance", "1",
                                               "milter_listen", "", NULL };
    struct pd_rep_params p;
    struct pd_rep_delta d;
    pd_settings_rep_defaults(&p);
    memset(&d, 0, sizeof d);
    d.counter[PD_REP_RATE] = 1024;   /* 2^10 times the allowance: +10 bits */
    ck_assert_int_eq(pd_rep_apply(state, &p, "ip:198.51.100.7", T0, &d), PD_ST_OK);

    struct pd_engine *e = engine_with(defaults, state);
    postage_store *ps = stamp_store();
    pd_engine_attach(e, ps, NULL);
    static const char *const to[] = { "a@example.org", "b@example.org" };
    struct pd_postage_rcpt r[2];
    struct pd_postage_stamp sp[2];
    char st[2][POSTAGE_MINT_STAMP_SIZE];
    struct pd_txn txn;
    struct pd_answer a;

    milter_rcpts(e, &txn, "p1", to, 2, T0);
    ck_assert_int_eq(txn.price.raw, 30);
    ck_assert_int_eq(txn.price.bits, 20);
    ck_assert(txn.price.promised && !txn.price.over_cap);
    /* Unpaid: greylisted, and the 451 names the published price. */
    eoh(e, &txn, to, r, 2, st, sp, 0, T0, &a);
    ck_assert_int_eq(a.verdict.action, PD_DEFER);
    ck_assert_msg(strstr(a.verdict.text, "attach X-Hashcash with 20 bits for each of") != NULL,
                  "%s", a.verdict.text);
    ck_assert_msg(strstr(a.reason, "; promise") != NULL, "%s", a.reason);
    /* Paid at the published price, for every recipient: taken at once. */
    mint("a@example.org", 20, st[0]);
    mint("b@example.org", 20, st[1]);
    milter_rcpts(e, &txn, "p2", to, 2, T0 + 1);
    eoh(e, &txn, to, r, 2, st, sp, 2, T0 + 1, &a);
    ck_assert_msg(a.verdict.action == PD_DUNNO, "%s", a.reason);
    ck_assert_int_eq(r[0].outcome, PD_RCPT_PAID);
    ck_assert_int_eq(r[1].outcome, PD_RCPT_PAID);
    ck_assert_int_eq(r[0].need, 20);
    ck_assert_int_eq(r[1].need, 20);
    ck_assert_msg(strstr(a.prepend_value, "; price=20; promise; reputation=unknown;") != NULL,
                  "%s", a.prepend_value);
    ck_assert_msg(strstr(a.reason, "price 20 (promise)") != NULL, "%s", a.reason);
    pd_engine_unref(e);

    /* The policy server alone announces the same price. */
    e = engine_with(policy_only, state);
    memset(&txn, 0, sizeof txn);
    struct pd_query q = rcpt("198.51.100.7", "a@example.net", "c@example.org", "p3");
    pd_engine_decide(e, &txn, &q, T0 + 2, &a);
    ck_assert_int_eq(txn.price.bits, 20);
    ck_assert_int_eq(a.verdict.action, PD_DEFER);   /* greylisted, not refused */
    ck_assert_msg(strstr(a.verdict.text, "Greylisted") != NULL, "%s", a.verdict.text);
    struct pd_header h;
    int announced = 0;
    while (pd_txn_take_header(&txn, &h))
        announced |= strcmp(h.name, "X-Postage-Price") == 0 && strcmp(h.value, "20") == 0;
    ck_assert(announced);
    pd_engine_unref(e);

    /* Published at the cap: the same sender's own price, 31 by now, is
     * over it, and it is asked the cap, not refused. */
    e = engine_with(high, state);
    memset(&txn, 0, sizeof txn);
    q = rcpt("198.51.100.7", "a@example.net", "d@example.org", "p4");
    q.from_milter = 1;
    pd_engine_decide(e, &txn, &q, T0 + 3, &a);
    ck_assert_int_eq(a.verdict.action, PD_DUNNO);
    ck_assert_int_gt(txn.price.raw, 28);
    ck_assert_int_eq(txn.price.bits, 28);
    pd_engine_unref(e);
    postage_store_close(ps);
}
END_TEST

/* A session that postaged's milter is in is priced, greylisted and
 * recorded by the milter; the policy front-end only announces the price
 * of sessions it has alone (and then greylists and records them itself),
 * so a message seen by both counts once. */
START_TEST(test_postage_policy_front_end)
{
    static const char *const both[] = { "postage", "yes", "greylist", "no", NULL };
    static const char *const policy_only[] = { "postage", "yes", "milter_listen", "", NULL };
    struct pd_rep_params p;
    struct pd_rep_record rec;
    struct pd_answer a;
    pd_settings_rep_defaults(&p);

    struct pd_engine *e = engine_with(both, state);
    struct pd_txn txn = { 0 };
    struct pd_query q = rcpt("198.51.100.7", "a@example.net", "b@example.org", "i1");
    q.milter_in_path = 1;
    pd_engine_decide(e, &txn, &q, T0, &a);
    ck_assert_int_eq(a.verdict.action, PD_DUNNO);
    ck_assert_str_eq(a.prepend_name, "");   /* the milter adds X-Postage-Result instead */
    ck_assert_int_eq(pd_rep_load(state, &p, "ip:198.51.100.7", T0, &rec), PD_ST_OK);
    ck_assert_uint_eq(rec.messages, 0);
    struct pd_txn mtxn = { 0 };
    q.from_milter = 1;
    pd_engine_decide(e, &mtxn, &q, T0, &a);
    ck_assert_str_eq(a.prepend_name, "");
    struct pd_postage_rcpt r = { .address = "b@example.org" };
    struct pd_query eohq = q;
    eohq.stage = PD_STAGE_OTHER;
    eohq.message_id = "<i1@example.net>";
    pd_engine_postage(e, &mtxn, &eohq, &r, 1, NULL, 0, T0, &a);
    ck_assert_int_eq(pd_rep_load(state, &p, "ip:198.51.100.7", T0, &rec), PD_ST_OK);
    ck_assert_uint_eq(rec.messages, 1);

    /* The same configuration, but Postfix calls only the policy service
     * (postgrey's wiring): it announces the price and records. */
    memset(&txn, 0, sizeof txn);
    q.from_milter = 0;
    q.milter_in_path = 0;
    q.recipient = "c@example.org";
    pd_engine_decide(e, &txn, &q, T0, &a);
    ck_assert_int_eq(a.verdict.action, PD_DUNNO);
    ck_assert_str_eq(a.prepend_name, "X-Postage-Price");
    ck_assert_msg(a.prepend_value[0] != '\0' &&
                  strspn(a.prepend_value, "0123456789") == strlen(a.prepend_value), "%s",
                  a.prepend_value);
    ck_assert_int_eq(pd_rep_load(state, &p, "ip:198.51.100.7", T0, &rec), PD_ST_OK);
    ck_assert_uint_eq(rec.messages, 2);
    pd_engine_unref(e);

    /* Policy server alone: it greylists at RCPT and records. */
    e = engine_with(policy_only, state);
    ck_assert(!pd_engine_greylists_at_headers(e));
    memset(&txn, 0, sizeof txn);
    q.from_milter = 0;
    q.recipient = "d@example.org";
    pd_engine_decide(e, &txn, &q, T0, &a);
    ck_assert_int_eq(a.verdict.action, PD_DEFER);
    ck_assert_int_eq(pd_rep_load(state, &p, "ip:198.51.100.7", T0, &rec), PD_ST_OK);
    ck_assert_uint_eq(rec.messages, 3);
    pd_engine_unref(e);
}
END_TEST

Suite *
suite(void)
{
    Suite *s = suite_create("engine");
    TCase *t = tcase_create("engine");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_access_before_greylisting);
    tcase_add_test(t, test_postage_stamps_pay_and_the_rest_is_greylisted);
    tcase_add_test(t, test_postage_stamp_outcomes);
    tcase_add_test(t, test_postage_recipient_twice_counts_once);
    tcase_add_test(t, test_postage_one_stamp_replayed);
    tcase_add_test(t, test_postage_price_zero_skips_greylisting);
    tcase_add_test(t, test_postage_over_cap);
    tcase_add_test(t, test_postage_promise);
    tcase_add_test(t, test_postage_quote_is_kept);
    tcase_add_test(t, test_milter_sessions);
    tcase_add_test(t, test_postage_policy_front_end);
    tcase_add_test(t, test_greylist_header_once_per_message);
    tcase_add_test(t, test_helo_checks);
    tcase_add_test(t, test_headers_one_per_reply);
    tcase_add_test(t, test_quota_counts_messages_once);
    tcase_add_test(t, test_on_error);
    tcase_add_test(t, test_spf_header_from_one_front_end);
    tcase_add_test(t, test_config_errors_name_the_line);
    suite_add_tcase(s, t);
    return s;
}
