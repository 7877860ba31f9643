/*
 * check_published.c - the record postaged publishes (policy/engine/published.c,
 * `postaged --dns-record`): the zone-file line made from the settings, parsed
 * back with the readers' own parser (pd_price_record_parse) so that what
 * postaged prints is what the senders read; which domains it takes and why
 * it refuses the others.  tests/system/dns_record_cli.sh runs the program.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "policy/base/price_record.h"
#include "policy/engine/published.h"
#include "policy/engine/settings.h"
#include "postage/verify.h"
#include "tests/unit/check_main.h"

static struct pd_settings S;

static void
setup(void)
{
    pd_settings_defaults(&S, "/nonexistent");
}

static void
teardown(void)
{
    pd_settings_free(&S);
}

static void
set(const char *key, const char *value)
{
    char err[256];
    ck_assert_msg(pd_settings_set(&S, key, value, err, sizeof err) == 0, "%s", err);
}

/* The line for @domain, split: owner name, TTL, the record parsed back. */
static void
line_of(const char *domain, char *owner, unsigned *ttl, struct pd_price_record *r)
{
    char line[PD_PUBLISHED_LINE_MAX], err[256], text[PD_PRICE_RECORD_TEXT_MAX + 2];
    int bad = -1;
    ck_assert_msg(pd_published_zone_line(&S, domain, line, sizeof line, &bad, err,
                                         sizeof err) == 0, "%s", err);
    ck_assert_int_eq(bad, 0);
    int end = 0;
    ck_assert_msg(sscanf(line, "%253s %u IN TXT \"%97[^\"]\"%n", owner, ttl, text, &end) == 3,
                  "%s", line);
    ck_assert_msg((size_t) end == strlen(line), "trailing text: %s", line);
    ck_assert_msg(pd_price_record_parse(text, strlen(text), r, err, sizeof err) == 0, "%s: %s",
                  text, err);
}

START_TEST(test_defaults)
{
    char owner[260];
    unsigned ttl;
    struct pd_price_record r;
    line_of("example.org", owner, &ttl, &r);
    ck_assert_str_eq(owner, "_postage.example.org.");
    ck_assert_uint_eq(ttl, 3600);
    ck_assert_uint_eq(r.bits, 20);                 /* published_price = price_base */
    ck_assert_uint_eq(r.kinds, POSTAGE_KIND_SHA1);
    ck_assert_uint_eq(r.argon2id_max_memory, 0);
    ck_assert_uint_eq(r.argon2id_max_passes, 0);

    /* The exact text, as the man page shows it. */
    char line[PD_PUBLISHED_LINE_MAX], err[256];
    ck_assert_int_eq(pd_published_zone_line(&S, "Mail.Example.ORG.", line, sizeof line, NULL,
                                            err, sizeof err), 0);
    ck_assert_str_eq(line, "_postage.mail.example.org. 3600 IN TXT \"v=POSTAGE1; b=20\"");
}
END_TEST

/* b follows what the engine enforces: published_price, or price_base. */
START_TEST(test_bits_follow_the_settings)
{
    char owner[260];
    unsigned ttl;
    struct pd_price_record r;
    set("price_base", "23");
    line_of("example.org", owner, &ttl, &r);
    ck_assert_uint_eq(r.bits, 23);
    set("published_price", "17");
    line_of("example.org", owner, &ttl, &r);
    ck_assert_uint_eq(r.bits, 17);
    set("published_price", "0");
    line_of("example.org", owner, &ttl, &r);
    ck_assert_uint_eq(r.bits, 0);
}
END_TEST

START_TEST(test_argon2id_kinds_and_bounds)
{
    char owner[260];
    unsigned ttl;
    struct pd_price_record r;
    set("postage_kinds", "sha1+argon2id");
    set("argon2id_max_memory", "16384");
    set("argon2id_max_passes", "2");
    line_of("example.org", owner, &ttl, &r);
    ck_assert_uint_eq(r.kinds, POSTAGE_KIND_SHA1 | POSTAGE_KIND_ARGON2ID);
    ck_assert_uint_eq(r.argon2id_max_memory, 16384);
    ck_assert_uint_eq(r.argon2id_max_passes, 2);
    set("postage_kinds", "argon2id");
    line_of("example.org", owner, &ttl, &r);
    ck_assert_uint_eq(r.kinds, POSTAGE_KIND_ARGON2ID);
}
END_TEST

/* Settings that promise nothing a record can say are refused, and the
 * domain is not blamed. */
START_TEST(test_settings_without_a_record)
{
    char line[PD_PUBLISHED_LINE_MAX], err[256];
    int bad = -1;
    set("published_price", "29");                  /* over price_cap 28 */
    ck_assert_int_eq(pd_published_zone_line(&S, "example.org", line, sizeof line, &bad, err,
                                            sizeof err), -1);
    ck_assert_int_eq(bad, 0);
    ck_assert_msg(strstr(err, "published_price is above price_cap") != NULL, "%s", err);
    set("price_cap", "60");
    set("published_price", "41");                  /* over what a record may ask */
    ck_assert_int_eq(pd_published_zone_line(&S, "example.org", line, sizeof line, &bad, err,
                                            sizeof err), -1);
    ck_assert_msg(strstr(err, "over the 40 bits") != NULL, "%s", err);
    set("published_price", "40");
    ck_assert_int_eq(pd_published_zone_line(&S, "example.org", line, sizeof line, &bad, err,
                                            sizeof err), 0);
    set("postage", "no");
    ck_assert_int_eq(pd_published_zone_line(&S, "example.org", line, sizeof line, &bad, err,
                                            sizeof err), -1);
    ck_assert_msg(strstr(err, "postage is off") != NULL, "%s", err);
}
END_TEST

START_TEST(test_domains)
{
    char out[PD_DNS_NAME_MAX + 1], err[256];
    static const char *const good[][2] = {
        { "example.org", "example.org" }, { "EXAMPLE.org.", "example.org" },
        { "a-b.c0.example", "a-b.c0.example" }, { "xn--bcher-kva.de", "xn--bcher-kva.de" },
        { "localhost", "localhost" }, { "3com.com", "3com.com" },
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        ck_assert_msg(pd_published_domain(good[i][0], out, sizeof out, err, sizeof err) == 0,
                      "%s: %s", good[i][0], err);
        ck_assert_str_eq(out, good[i][1]);
    }
    /* Each refused with its reason. */
    static const char *const bad[][2] = {
        { "", "empty" }, { ".", "empty" }, { "a..org", "empty label" },
        { ".example.org", "empty label" }, { "example.org..", "empty label" },
        { "-a.org", "begin or end with '-'" }, { "a-.org", "begin or end with '-'" },
        { "bob@example.org", "is an address" }, { "192.0.2.1", "an address, not a domain" },
        { "_dmarc.example.org", "cannot have: '_'" }, { "exa mple.org", "cannot have: ' '" },
        { "b\xc3\xbc" "cher.de", "A-label" }, { "a\nb.org", "cannot have: '?'" },
        { "a\"; b=0.org", "cannot have: '\"'" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(pd_published_domain(bad[i][0], out, sizeof out, err, sizeof err) == -1,
                      "'%s' was taken", bad[i][0]);
        ck_assert_msg(strstr(err, bad[i][1]) != NULL, "'%s': %s", bad[i][0], err);
    }
    /* Label and name lengths: 63 is a label, 64 is not; _postage. and
     * the domain must fit in 253. */
    char name[400];
    memset(name, 'a', 63);
    strcpy(name + 63, ".org");
    ck_assert_int_eq(pd_published_domain(name, out, sizeof out, err, sizeof err), 0);
    memset(name, 'a', 64);
    strcpy(name + 64, ".org");
    ck_assert_int_eq(pd_published_domain(name, out, sizeof out, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "over 63") != NULL, "%s", err);
    size_t n = 0;
    while (n + 10 <= 253 - 9) {              /* 9-letter labels and dots */
        memcpy(name + n, "abcdefghi.", 10);
        n += 10;
    }
    while (n < 253 - 9 - 1)
        name[n++] = 'z';
    name[n++] = 'z';                         /* exactly 244: 253 with the prefix */
    name[n] = '\0';
    ck_assert_int_eq(strlen(name), 244);
    ck_assert_msg(pd_published_domain(name, out, sizeof out, err, sizeof err) == 0, "%s", err);
    strcat(name, "z");
    ck_assert_int_eq(pd_published_domain(name, out, sizeof out, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "too long") != NULL, "%s", err);

    /* The line blames the domain, not the settings. */
    char line[PD_PUBLISHED_LINE_MAX];
    int was_domain = 0;
    ck_assert_int_eq(pd_published_zone_line(&S, "a@b.org", line, sizeof line, &was_domain, err,
                                            sizeof err), -1);
    ck_assert_int_eq(was_domain, 1);
}
END_TEST

Suite *
suite(void)
{
    Suite *s = suite_create("published");
    TCase *t = tcase_create("published");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_defaults);
    tcase_add_test(t, test_bits_follow_the_settings);
    tcase_add_test(t, test_argon2id_kinds_and_bounds);
    tcase_add_test(t, test_settings_without_a_record);
    tcase_add_test(t, test_domains);
    suite_add_tcase(s, t);
    return s;
}
