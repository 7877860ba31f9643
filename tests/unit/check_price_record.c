/*
 * check_price_record.c - the published price's record
 * (policy/base/price_record.c): what parses, what is ignored, what is
 * invalid and why, the text postaged --dns-record prints, and the domain
 * a recipient address is looked up under.  The look-up itself runs against
 * a real DNS server in the system tests that use it.
 */
#include "config.h"

#include <string.h>

#include "policy/base/price_record.h"
#include "postage/verify.h"
#include "tests/unit/check_main.h"

static int
parse(const char *text, struct pd_price_record *r, char *err, size_t errlen)
{
    return pd_price_record_parse(text, strlen(text), r, err, errlen);
}

START_TEST(test_valid_records)
{
    struct pd_price_record r;
    char err[160];

    ck_assert_int_eq(parse("v=POSTAGE1; b=20", &r, err, sizeof err), 0);
    ck_assert_uint_eq(r.bits, 20);
    ck_assert_uint_eq(r.kinds, POSTAGE_KIND_SHA1);
    ck_assert_uint_eq(r.argon2id_max_memory, 0);
    ck_assert_uint_eq(r.argon2id_max_passes, 0);

    ck_assert_int_eq(parse("v=POSTAGE1;b=0", &r, err, sizeof err), 0);
    ck_assert_uint_eq(r.bits, 0);
    ck_assert_int_eq(parse(" v = POSTAGE1 ;\tb = 40 ; ", &r, err, sizeof err), 0);
    ck_assert_uint_eq(r.bits, 40);

    ck_assert_int_eq(parse("v=POSTAGE1; b=22; k=sha1:argon2id; am=65536; at=3", &r, err, sizeof err), 0);
    ck_assert_uint_eq(r.bits, 22);
    ck_assert_uint_eq(r.kinds, POSTAGE_KIND_SHA1 | POSTAGE_KIND_ARGON2ID);
    ck_assert_uint_eq(r.argon2id_max_memory, 65536);
    ck_assert_uint_eq(r.argon2id_max_passes, 3);

    /* unknown tags and unknown kinds are for later versions: ignored */
    ck_assert_int_eq(parse("v=POSTAGE1; x=whatever; b=18; k=Argon2id:quantum; y=", &r, err, sizeof err), 0);
    ck_assert_uint_eq(r.bits, 18);
    ck_assert_uint_eq(r.kinds, POSTAGE_KIND_ARGON2ID);
    ck_assert_int_eq(parse("v=POSTAGE1;; b=7;;", &r, err, sizeof err), 0);
    ck_assert_uint_eq(r.bits, 7);
}
END_TEST

START_TEST(test_not_postage_records)
{
    struct pd_price_record r = { .bits = 99 };
    char err[160];
    static const char *const others[] = {
        "v=spf1 -all", "v=DMARC1; p=none", "b=20; v=POSTAGE1", "v=POSTAGE2; b=20",
        "v=postage1; b=20", "", "   ", "hello world", "v=POSTAGE1x; b=3", ";v=POSTAGE1; b=3",
    };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        ck_assert_msg(parse(others[i], &r, err, sizeof err) == 1, "'%s' taken as ours", others[i]);
    ck_assert_uint_eq(r.bits, 99);   /* untouched */
}
END_TEST

/* expect_invalid: -1, and the reason names what was wrong */
static void
expect_invalid(const char *text, const char *reason)
{
    struct pd_price_record r = { .bits = 99 };
    char err[160] = "";
    ck_assert_msg(parse(text, &r, err, sizeof err) == -1, "'%s' not refused", text);
    ck_assert_msg(strstr(err, reason) != NULL, "'%s': reason '%s' lacks '%s'", text, err, reason);
    ck_assert_uint_eq(r.bits, 99);
}

START_TEST(test_invalid_records)
{
    expect_invalid("v=POSTAGE1", "no b=");
    expect_invalid("v=POSTAGE1; k=sha1", "no b=");
    expect_invalid("v=POSTAGE1; b=41", "b=41");
    expect_invalid("v=POSTAGE1; b=99999999999999999999", "b=");
    expect_invalid("v=POSTAGE1; b=-1", "b=-1");
    expect_invalid("v=POSTAGE1; b=2 0", "b=2 0");
    expect_invalid("v=POSTAGE1; b=", "b=");
    expect_invalid("v=POSTAGE1; b=20; b=21", "tag b given twice");
    expect_invalid("v=POSTAGE1; b=20; v=POSTAGE1", "tag v given twice");
    expect_invalid("v=POSTAGE1; b=20; zz=1; zz=2", "tag zz given twice");
    expect_invalid("v=POSTAGE1; b=20; k=quantum", "k=quantum");
    expect_invalid("v=POSTAGE1; b=20; am=4", "am=4");
    expect_invalid("v=POSTAGE1; b=20; at=0", "at=0");
    expect_invalid("v=POSTAGE1; b=20; 9x=1", "letter");
    expect_invalid("v=POSTAGE1; b=20; novalue", "no '='");
    expect_invalid("v=POSTAGE1; b=20; c=caf\xc3\xa9", "0xc3");

    /* a NUL inside the record is a byte like any other, and refused */
    struct pd_price_record r;
    char err[160];
    ck_assert_int_eq(pd_price_record_parse("v=POSTAGE1; b=2\0" "0", 17, &r, err, sizeof err), -1);
}
END_TEST

START_TEST(test_format_round_trip)
{
    struct pd_price_record r = { .bits = 20, .kinds = POSTAGE_KIND_SHA1 }, back;
    char text[PD_PRICE_RECORD_TEXT_MAX], err[160];

    ck_assert_uint_eq(pd_price_record_format(&r, text, sizeof text), strlen("v=POSTAGE1; b=20"));
    ck_assert_str_eq(text, "v=POSTAGE1; b=20");

    r = (struct pd_price_record) { .bits = 22, .kinds = POSTAGE_KIND_SHA1 | POSTAGE_KIND_ARGON2ID,
                                   .argon2id_max_memory = 65536, .argon2id_max_passes = 3 };
    size_t n = pd_price_record_format(&r, text, sizeof text);
    ck_assert_str_eq(text, "v=POSTAGE1; b=22; k=sha1:argon2id; am=65536; at=3");
    ck_assert_int_eq(pd_price_record_parse(text, n, &back, err, sizeof err), 0);
    ck_assert_mem_eq(&r, &back, sizeof r);

    r.kinds = POSTAGE_KIND_ARGON2ID;
    pd_price_record_format(&r, text, sizeof text);
    ck_assert_str_eq(text, "v=POSTAGE1; b=22; k=argon2id; am=65536; at=3");

    /* too small a buffer, or a record no reader would take: nothing */
    ck_assert_uint_eq(pd_price_record_format(&r, text, 10), 0);
    r.bits = PD_PRICE_RECORD_MAX_BITS + 1;
    ck_assert_uint_eq(pd_price_record_format(&r, text, sizeof text), 0);
    r.bits = 20;
    r.kinds = 0;
    ck_assert_uint_eq(pd_price_record_format(&r, text, sizeof text), 0);
}
END_TEST

static void
expect_domain(const char *address, const char *want)
{
    char d[PD_DNS_NAME_MAX + 1];
    int rc = pd_price_domain_of(address, d, sizeof d);
    if (want == NULL) {
        ck_assert_msg(rc == -1, "'%s' gave domain '%s'", address, rc == 0 ? d : "");
    } else {
        ck_assert_msg(rc == 0, "'%s' gave no domain", address);
        ck_assert_str_eq(d, want);
    }
}

START_TEST(test_domain_of)
{
    expect_domain("bob@example.org", "example.org");
    expect_domain("<Bob@Mail.Example.ORG.>", "mail.example.org");
    expect_domain("\"odd@local\"@example.net", "example.net");
    expect_domain("  carol@x-y.example  ", "x-y.example");
    expect_domain("bob", NULL);
    expect_domain("bob@", NULL);
    expect_domain("bob@[192.0.2.1]", NULL);
    expect_domain("bob@exa mple.org", NULL);
    expect_domain("bob@example..org", NULL);
    expect_domain("bob@.example.org", NULL);
    expect_domain("", NULL);

    char long_label[100];
    memset(long_label, 'a', 64);
    strcpy(long_label + 64, ".org");
    char address[120] = "bob@";
    strcat(address, long_label);
    expect_domain(address, NULL);

    char small[8];
    ck_assert_int_eq(pd_price_domain_of("bob@example.org", small, sizeof small), -1);
}
END_TEST

Suite *
suite(void)
{
    Suite *s = suite_create("price_record");
    TCase *t = tcase_create("record");
    tcase_add_test(t, test_valid_records);
    tcase_add_test(t, test_not_postage_records);
    tcase_add_test(t, test_invalid_records);
    tcase_add_test(t, test_format_round_trip);
    tcase_add_test(t, test_domain_of);
    suite_add_tcase(s, t);
    return s;
}
