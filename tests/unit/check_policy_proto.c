/*
 * check_policy_proto.c - unit tests of postaged's Postfix policy protocol
 * codec (policy/frontends/request.c), its verdict words (policy/checks/verdict.c) and its
 * address handling (policy/base/netaddr.c): every split of the input, every
 * bound and error, hostile bytes, and the reply's sanitising.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/base/netaddr.h"
#include "policy/frontends/request.h"
#include "policy/checks/verdict.h"
#include "tests/unit/check_main.h"

/* A request as Postfix 3.7 sends it at RCPT (shared/spec/mail-policy.md
 * 1a), with an attribute postaged does not know. */
static const char sample[] =
    "request=smtpd_access_policy\n"
    "protocol_state=RCPT\n"
    "protocol_name=ESMTP\n"
    "helo_name=mx.example.org\n"
    "queue_id=\n"
    "sender=alice@example.org\n"
    "recipient=bob@example.net\n"
    "recipient_count=0\n"
    "client_address=192.0.2.7\n"
    "client_name=mx.example.org\n"
    "reverse_client_name=mx.example.org\n"
    "instance=1a2b.5f3e1c2d.7a9.0\n"
    "sasl_method=\n"
    "sasl_username=\n"
    "sasl_sender=\n"
    "size=12345\n"
    "ccert_subject=\n"
    "ccert_issuer=\n"
    "ccert_fingerprint=\n"
    "encryption_protocol=TLSv1.3\n"
    "encryption_cipher=TLS_AES_256_GCM_SHA384\n"
    "encryption_keysize=256\n"
    "etrn_domain=\n"
    "stress=\n"
    "client_port=40000\n"
    "policy_context=\n"
    "server_address=198.51.100.1\n"
    "server_port=25\n"
    "\n";

/* Deterministic, so a failing split can be reproduced. */
static unsigned
next_random(unsigned *state)
{
    *state = *state * 1103515245u + 12345u;
    return (*state >> 16) & 0x7fff;
}

static void
check_sample_fields(const struct pd_request *r)
{
    ck_assert_str_eq(r->request, "smtpd_access_policy");
    ck_assert_str_eq(r->protocol_state, "RCPT");
    ck_assert_int_eq(r->state, PD_STATE_RCPT);
    ck_assert_str_eq(r->protocol_name, "ESMTP");
    ck_assert_str_eq(r->helo_name, "mx.example.org");
    ck_assert_str_eq(r->queue_id, "");
    ck_assert_str_eq(r->sender, "alice@example.org");
    ck_assert_str_eq(r->recipient, "bob@example.net");
    ck_assert_uint_eq(r->recipient_count_value, 0);
    ck_assert(!r->recipient_count_malformed);
    ck_assert_str_eq(r->client_address, "192.0.2.7");
    ck_assert_str_eq(r->client_name, "mx.example.org");
    ck_assert_str_eq(r->reverse_client_name, "mx.example.org");
    ck_assert_str_eq(r->instance, "1a2b.5f3e1c2d.7a9.0");
    ck_assert_str_eq(r->sasl_username, "");
    ck_assert_str_eq(r->size, "12345");
    ck_assert_uint_eq(r->size_value, 12345);
    ck_assert(!r->size_malformed);
    ck_assert_str_eq(r->encryption_protocol, "TLSv1.3");
    ck_assert_str_eq(r->client_port, "40000");
    ck_assert_str_eq(r->server_address, "198.51.100.1");
    ck_assert_str_eq(r->server_port, "25");
    ck_assert_str_eq(r->policy_context, "");
    ck_assert_str_eq(r->stress, "");
}

/* Parse a buffer that holds exactly one request. */
static enum pd_req_status
parse_one(const char *text, size_t len, struct pd_request *out,
          struct pd_req_parser *parser)
{
    size_t consumed = 0;
    pd_req_parser_init(parser);
    enum pd_req_status status = pd_req_feed(parser, text, len, &consumed, out);
    if (status == PD_REQ_READY)
        ck_assert_uint_eq(consumed, len);
    return status;
}

static struct pd_req_parser parser_storage;   /* large: kept off the stack */
static struct pd_request request_storage;

/* ---- verdict words ---------------------------------------------------- */

START_TEST(test_action_words)
{
    static const struct { const char *word; enum pd_action action; } good[] = {
        { "DUNNO", PD_DUNNO }, { "ok", PD_OK }, { "Reject", PD_REJECT },
        { "defer", PD_DEFER }, { "HOLD", PD_HOLD }, { "disCARD", PD_DISCARD },
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        enum pd_action a = PD_DUNNO;
        ck_assert_int_eq(pd_action_parse(good[i].word, strlen(good[i].word), &a), 0);
        ck_assert_int_eq(a, good[i].action);
    }
    static const char *bad[] = { "", "REJECTX", "REJEC", "PREPEND", "DEFER_IF_PERMIT",
                                 "O K", "450", "\xff\xfe" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        enum pd_action a = PD_HOLD;
        ck_assert_int_eq(pd_action_parse(bad[i], strlen(bad[i]), &a), -1);
        ck_assert_int_eq(a, PD_HOLD);
    }
    /* The length bounds the word: "OKAY" cut to 2 is OK. */
    enum pd_action a;
    ck_assert_int_eq(pd_action_parse("OKAY", 2, &a), 0);
    ck_assert_int_eq(a, PD_OK);
    ck_assert_str_eq(pd_action_name(PD_DUNNO), "DUNNO");
    ck_assert_str_eq(pd_action_name(PD_DISCARD), "DISCARD");
    ck_assert_str_eq(pd_action_name((enum pd_action) 99), "DUNNO");
}
END_TEST

/* ---- parser: splits ----------------------------------------------------- */

START_TEST(test_whole_request)
{
    struct pd_req_parser *p = &parser_storage;
    struct pd_request *r = &request_storage;
    ck_assert_int_eq(parse_one(sample, strlen(sample), r, p), PD_REQ_READY);
    check_sample_fields(r);
    ck_assert_str_eq(pd_req_parser_error(p), "");
}
END_TEST

START_TEST(test_byte_by_byte)
{
    struct pd_req_parser *p = &parser_storage;
    struct pd_request *r = &request_storage;
    size_t len = strlen(sample), consumed;
    pd_req_parser_init(p);
    for (size_t i = 0; i + 1 < len; i++) {
        ck_assert_int_eq(pd_req_feed(p, sample + i, 1, &consumed, r), PD_REQ_MORE);
        ck_assert_uint_eq(consumed, 1);
    }
    ck_assert_int_eq(pd_req_feed(p, sample + len - 1, 1, &consumed, r), PD_REQ_READY);
    ck_assert_uint_eq(consumed, 1);
    check_sample_fields(r);
}
END_TEST

START_TEST(test_random_splits)
{
    enum { COPIES = 5 };
    static char stream[COPIES * sizeof sample];
    size_t one = strlen(sample), total = 0;
    for (int i = 0; i < COPIES; i++) {
        memcpy(stream + total, sample, one);
        total += one;
    }
    unsigned seed = 12345;
    for (int round = 0; round < 200; round++) {
        struct pd_req_parser *p = &parser_storage;
        struct pd_request *r = &request_storage;
        pd_req_parser_init(p);
        size_t at = 0;
        int ready = 0;
        while (at < total) {
            size_t chunk = 1 + next_random(&seed) % 97;
            if (chunk > total - at)
                chunk = total - at;
            size_t off = 0;
            while (off < chunk) {
                size_t consumed = 0;
                enum pd_req_status s = pd_req_feed(p, stream + at + off, chunk - off,
                                                   &consumed, r);
                ck_assert(consumed > 0);
                off += consumed;
                if (s == PD_REQ_READY) {
                    check_sample_fields(r);
                    ready++;
                } else {
                    ck_assert_int_eq(s, PD_REQ_MORE);
                }
            }
            at += chunk;
        }
        ck_assert_int_eq(ready, COPIES);
    }
}
END_TEST

START_TEST(test_crlf)
{
    static char crlf[2 * sizeof sample];
    size_t n = 0;
    for (const char *c = sample; *c; c++) {
        if (*c == '\n')
            crlf[n++] = '\r';
        crlf[n++] = *c;
    }
    struct pd_req_parser *p = &parser_storage;
    struct pd_request *r = &request_storage;
    ck_assert_int_eq(parse_one(crlf, n, r, p), PD_REQ_READY);
    check_sample_fields(r);

    /* Split between every CR and its LF. */
    pd_req_parser_init(p);
    size_t at = 0, consumed;
    enum pd_req_status s = PD_REQ_MORE;
    while (at < n) {
        const char *cr = memchr(crlf + at, '\r', n - at);
        size_t chunk = cr ? (size_t) (cr - (crlf + at)) + 1 : n - at;
        s = pd_req_feed(p, crlf + at, chunk, &consumed, r);
        ck_assert_uint_eq(consumed, chunk);
        at += chunk;
    }
    ck_assert_int_eq(s, PD_REQ_READY);
    check_sample_fields(r);

    /* A CR not followed by LF stays in the value; only CRLF is a terminator. */
    static const char bare_cr[] = "request=smtpd_access_policy\nsender=a\rb\n\n";
    ck_assert_int_eq(parse_one(bare_cr, strlen(bare_cr), r, p), PD_REQ_READY);
    ck_assert_str_eq(r->sender, "a\rb");
}
END_TEST

START_TEST(test_back_to_back)
{
    static const char two[] =
        "request=smtpd_access_policy\ninstance=one\n\n"
        "request=smtpd_access_policy\ninstance=two\n\n";
    struct pd_req_parser *p = &parser_storage;
    struct pd_request *r = &request_storage;
    size_t consumed, len = strlen(two);
    pd_req_parser_init(p);
    ck_assert_int_eq(pd_req_feed(p, two, len, &consumed, r), PD_REQ_READY);
    ck_assert_uint_eq(consumed, strlen("request=smtpd_access_policy\ninstance=one\n\n"));
    ck_assert_str_eq(r->instance, "one");
    size_t first = consumed;
    ck_assert_int_eq(pd_req_feed(p, two + first, len - first, &consumed, r), PD_REQ_READY);
    ck_assert_uint_eq(first + consumed, len);
    ck_assert_str_eq(r->instance, "two");
    ck_assert_int_eq(pd_req_feed(p, two + len, 0, &consumed, r), PD_REQ_MORE);
    ck_assert_uint_eq(consumed, 0);
}
END_TEST

START_TEST(test_thousand_requests)
{
    enum { COUNT = 1000 };
    size_t cap = COUNT * 80, len = 0;
    char *stream = malloc(cap);
    ck_assert_ptr_nonnull(stream);
    for (int i = 0; i < COUNT; i++)
        len += (size_t) snprintf(stream + len, cap - len,
                                 "request=smtpd_access_policy\ninstance=%d\nsize=%d\n\n",
                                 i, i * 3);
    struct pd_req_parser *p = &parser_storage;
    struct pd_request *r = &request_storage;
    pd_req_parser_init(p);
    size_t at = 0;
    int seen = 0;
    while (at < len) {
        size_t consumed;
        enum pd_req_status s = pd_req_feed(p, stream + at, len - at, &consumed, r);
        at += consumed;
        if (s == PD_REQ_MORE)
            break;
        ck_assert_int_eq(s, PD_REQ_READY);
        char want[16];
        snprintf(want, sizeof want, "%d", seen);
        ck_assert_str_eq(r->instance, want);
        ck_assert_uint_eq(r->size_value, (uint64_t) seen * 3);
        seen++;
    }
    ck_assert_uint_eq(at, len);
    ck_assert_int_eq(seen, COUNT);
    free(stream);
}
END_TEST

/* ---- parser: content rules ------------------------------------------- */

START_TEST(test_repeated_last_wins)
{
    static const char text[] =
        "request=smtpd_access_policy\nsender=first@example.org\n"
        "sender=\nsender=last@example.org\nclient_address=192.0.2.1\n\n";
    struct pd_request *r = &request_storage;
    ck_assert_int_eq(parse_one(text, strlen(text), r, &parser_storage), PD_REQ_READY);
    ck_assert_str_eq(r->sender, "last@example.org");
    ck_assert_str_eq(r->client_address, "192.0.2.1");
}
END_TEST

START_TEST(test_unknown_ignored_and_values_kept_raw)
{
    static const char text[] =
        "x-future=1\nrequest=smtpd_access_policy\nmail_version=3.8.0\n"
        "compatibility_level=3.6\nhelo_name=a=b=c\nccert_subject=C+3DDE\n"
        "sender=\xc3\xa9l\xe8ve@example.org\nrecipient=\n\n";
    struct pd_request *r = &request_storage;
    ck_assert_int_eq(parse_one(text, strlen(text), r, &parser_storage), PD_REQ_READY);
    ck_assert_str_eq(r->helo_name, "a=b=c");   /* split at the first '=' */
    ck_assert_str_eq(r->ccert_subject, "C+3DDE");
    ck_assert_str_eq(r->sender, "\xc3\xa9l\xe8ve@example.org");
    ck_assert_str_eq(r->recipient, "");
    ck_assert_str_eq(r->client_name, "");   /* absent reads as "" */
    ck_assert_int_eq(r->state, PD_STATE_UNKNOWN);
}
END_TEST

START_TEST(test_missing_request)
{
    static const char text[] =
        "protocol_state=RCPT\nsender=a@example.org\n\n"
        "request=smtpd_access_policy\nsender=b@example.org\n\n";
    struct pd_req_parser *p = &parser_storage;
    struct pd_request *r = &request_storage;
    size_t consumed, len = strlen(text);
    pd_req_parser_init(p);
    enum pd_req_status s = pd_req_feed(p, text, len, &consumed, r);
    ck_assert_int_eq(s, PD_REQ_ERR_NO_REQUEST);
    ck_assert(!pd_req_status_is_framing_error(s));
    ck_assert_ptr_nonnull(strstr(pd_req_parser_error(p), "no request= attribute"));
    ck_assert_str_eq(r->sender, "a@example.org");   /* there for logging */
    /* The connection goes on. */
    size_t first = consumed;
    ck_assert_int_eq(pd_req_feed(p, text + first, len - first, &consumed, r), PD_REQ_READY);
    ck_assert_str_eq(r->sender, "b@example.org");
    ck_assert_str_eq(pd_req_parser_error(p), "");
}
END_TEST

START_TEST(test_wrong_request)
{
    static const char text[] =
        "request=junk\x01policy\nsender=a@example.org\n\n"
        "request=smtpd_access_policy\n\n";
    struct pd_req_parser *p = &parser_storage;
    struct pd_request *r = &request_storage;
    size_t consumed, len = strlen(text);
    pd_req_parser_init(p);
    enum pd_req_status s = pd_req_feed(p, text, len, &consumed, r);
    ck_assert_int_eq(s, PD_REQ_ERR_WRONG_REQUEST);
    ck_assert(!pd_req_status_is_framing_error(s));
    ck_assert_str_eq(pd_req_parser_error(p),
                     "request=\"junk\\x01policy\" is not smtpd_access_policy");
    size_t first = consumed;
    ck_assert_int_eq(pd_req_feed(p, text + first, len - first, &consumed, r), PD_REQ_READY);

    /* Case matters: Postfix sends it in lower case only. */
    ck_assert_int_eq(parse_one("request=SMTPD_ACCESS_POLICY\n\n", 29, r, p),
                     PD_REQ_ERR_WRONG_REQUEST);
}
END_TEST

START_TEST(test_empty_request)
{
    struct pd_req_parser *p = &parser_storage;
    struct pd_request *r = &request_storage;
    ck_assert_int_eq(parse_one("\n", 1, r, p), PD_REQ_ERR_NO_REQUEST);
    ck_assert_ptr_nonnull(strstr(pd_req_parser_error(p), "empty request"));
    ck_assert_int_eq(parse_one("\r\n", 2, r, p), PD_REQ_ERR_NO_REQUEST);
}
END_TEST

START_TEST(test_numbers)
{
    static const struct {
        const char *count, *size;
        uint32_t count_value;
        bool count_bad;
        uint64_t size_value;
        bool size_bad;
    } cases[] = {
        { "0", "0", 0, false, 0, false },
        { "", "", 0, false, 0, false },
        { "7", "18446744073709551615", 7, false, UINT64_MAX, false },
        { "4294967295", "18446744073709551616", UINT32_MAX, false, 0, true },
        { "4294967296", "99999999999999999999999", 0, true, 0, true },
        { "-1", "+5", 0, true, 0, true },
        { " 5", "5 ", 0, true, 0, true },
        { "12a", "0x10", 0, true, 0, true },
        { "007", "1e3", 7, false, 0, true },
    };
    struct pd_request *r = &request_storage;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[256];
        int n = snprintf(text, sizeof text,
                         "request=smtpd_access_policy\nrecipient_count=%s\nsize=%s\n\n",
                         cases[i].count, cases[i].size);
        ck_assert_int_eq(parse_one(text, (size_t) n, r, &parser_storage), PD_REQ_READY);
        ck_assert_msg(r->recipient_count_value == cases[i].count_value
                      && r->recipient_count_malformed == cases[i].count_bad,
                      "recipient_count=%s", cases[i].count);
        ck_assert_msg(r->size_value == cases[i].size_value
                      && r->size_malformed == cases[i].size_bad, "size=%s", cases[i].size);
        ck_assert_str_eq(r->size, cases[i].size);   /* the text is kept */
    }
    /* Absent numbers are 0 and not malformed. */
    ck_assert_int_eq(parse_one("request=smtpd_access_policy\n\n", 29, r, &parser_storage),
                     PD_REQ_READY);
    ck_assert(!r->size_malformed && !r->recipient_count_malformed);
    ck_assert_uint_eq(r->size_value, 0);
}
END_TEST

START_TEST(test_protocol_states)
{
    static const struct { const char *text; enum pd_protocol_state state; } cases[] = {
        { "CONNECT", PD_STATE_CONNECT }, { "EHLO", PD_STATE_EHLO },
        { "HELO", PD_STATE_HELO }, { "MAIL", PD_STATE_MAIL }, { "RCPT", PD_STATE_RCPT },
        { "DATA", PD_STATE_DATA }, { "END-OF-MESSAGE", PD_STATE_END_OF_MESSAGE },
        { "VRFY", PD_STATE_VRFY }, { "ETRN", PD_STATE_ETRN }, { "rcpt", PD_STATE_RCPT },
        { "", PD_STATE_UNKNOWN }, { "BDAT", PD_STATE_UNKNOWN },
        { "RCPTX", PD_STATE_UNKNOWN }, { "RCP", PD_STATE_UNKNOWN },
        { "unknown", PD_STATE_UNKNOWN },
    };
    struct pd_request *r = &request_storage;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[128];
        int n = snprintf(text, sizeof text,
                         "request=smtpd_access_policy\nprotocol_state=%s\n\n", cases[i].text);
        ck_assert_int_eq(parse_one(text, (size_t) n, r, &parser_storage), PD_REQ_READY);
        ck_assert_msg(r->state == cases[i].state, "protocol_state=%s", cases[i].text);
    }
    ck_assert_str_eq(pd_protocol_state_name(PD_STATE_END_OF_MESSAGE), "END-OF-MESSAGE");
    ck_assert_str_eq(pd_protocol_state_name(PD_STATE_UNKNOWN), "unknown");
    ck_assert_str_eq(pd_protocol_state_name((enum pd_protocol_state) 77), "unknown");
}
END_TEST

START_TEST(test_request_copy)
{
    static struct pd_request copy;
    struct pd_req_parser *p = &parser_storage;
    struct pd_request *r = &request_storage;
    ck_assert_int_eq(parse_one(sample, strlen(sample), r, p), PD_REQ_READY);
    pd_request_copy(&copy, r);
    /* Overwrite the original with another request. */
    static const char other[] = "request=smtpd_access_policy\nsender=zzz\n\n";
    ck_assert_int_eq(parse_one(other, strlen(other), r, p), PD_REQ_READY);
    check_sample_fields(&copy);
    ck_assert(copy.sender >= copy.arena && copy.sender < copy.arena + sizeof copy.arena);
    ck_assert(copy.queue_id == copy.arena);   /* empty: the shared "" */
    ck_assert_str_eq(r->sender, "zzz");
}
END_TEST

/* ---- parser: bounds and hostile input ---------------------------------- */

/* "helo_name=xxxx...\n" with a line (without terminator) of line_len. */
static size_t
long_line(char *buf, size_t line_len, const char *terminator)
{
    static const char head[] = "request=smtpd_access_policy\nhelo_name=";
    size_t n = strlen(head);
    memcpy(buf, head, n);
    size_t value = line_len - strlen("helo_name=");
    memset(buf + n, 'x', value);
    n += value;
    memcpy(buf + n, terminator, strlen(terminator));
    n += strlen(terminator);
    memcpy(buf + n, "\n", 1);
    return n + 1;
}

START_TEST(test_line_length)
{
    static char buf[PD_REQ_LINE_MAX + 128];
    struct pd_req_parser *p = &parser_storage;
    struct pd_request *r = &request_storage;

    size_t n = long_line(buf, PD_REQ_LINE_MAX, "\n");
    ck_assert_int_eq(parse_one(buf, n, r, p), PD_REQ_READY);
    ck_assert_uint_eq(strlen(r->helo_name), PD_REQ_LINE_MAX - strlen("helo_name="));

    n = long_line(buf, PD_REQ_LINE_MAX, "\r\n");
    ck_assert_int_eq(parse_one(buf, n, r, p), PD_REQ_READY);
    ck_assert_uint_eq(strlen(r->helo_name), PD_REQ_LINE_MAX - strlen("helo_name="));

    n = long_line(buf, PD_REQ_LINE_MAX + 1, "\n");
    ck_assert_int_eq(parse_one(buf, n, r, p), PD_REQ_ERR_LINE_TOO_LONG);
    ck_assert(pd_req_status_is_framing_error(PD_REQ_ERR_LINE_TOO_LONG));
    ck_assert_str_eq(pd_req_parser_error(p), "request line 2 is longer than 2048 bytes");

    /* The CR allowance is only for a CR right before LF. */
    n = long_line(buf, PD_REQ_LINE_MAX, "\rx\n");
    ck_assert_int_eq(parse_one(buf, n, r, p), PD_REQ_ERR_LINE_TOO_LONG);

    /* After a framing error the parser refuses everything. */
    size_t consumed = 99;
    ck_assert_int_eq(pd_req_feed(p, "request=smtpd_access_policy\n\n", 29, &consumed, r),
                     PD_REQ_ERR_LINE_TOO_LONG);
    ck_assert_uint_eq(consumed, 0);
    /* ... until it is initialised again. */
    ck_assert_int_eq(parse_one("request=smtpd_access_policy\n\n", 29, r, p), PD_REQ_READY);

    /* A line that never ends is stopped at the bound, not buffered. */
    static char endless[PD_REQ_LINE_MAX * 3];
    memset(endless, 'a', sizeof endless);
    pd_req_parser_init(p);
    ck_assert_int_eq(pd_req_feed(p, endless, sizeof endless, &consumed, r),
                     PD_REQ_ERR_LINE_TOO_LONG);
    ck_assert_uint_eq(consumed, PD_REQ_LINE_MAX + 1);
}
END_TEST

START_TEST(test_attribute_count)
{
    static char buf[PD_REQ_ATTRS_MAX * 32];
    struct pd_req_parser *p = &parser_storage;
    struct pd_request *r = &request_storage;
    size_t n = (size_t) sprintf(buf, "request=smtpd_access_policy\n");
    for (int i = 1; i < PD_REQ_ATTRS_MAX; i++)
        n += (size_t) sprintf(buf + n, "x%d=%d\n", i, i);
    memcpy(buf + n, "\n", 2);
    ck_assert_int_eq(parse_one(buf, n + 1, r, p), PD_REQ_READY);

    /* One more, even a repeat of a known name, is too many. */
    n += (size_t) sprintf(buf + n, "request=smtpd_access_policy\n\n");
    ck_assert_int_eq(parse_one(buf, n, r, p), PD_REQ_ERR_TOO_MANY_ATTRS);
    ck_assert_str_eq(pd_req_parser_error(p), "request has more than 64 attributes");
}
END_TEST

START_TEST(test_request_size)
{
    static char buf[PD_REQ_SIZE_MAX + 4096];
    struct pd_req_parser *p = &parser_storage;
    struct pd_request *r = &request_storage;
    /* 9 lines of "ccert_subject=<1000 x>\n" (1015 bytes) repeat a known
     * attribute, so the arena holds every copy: its worst case. */
    size_t n = (size_t) sprintf(buf, "request=smtpd_access_policy\n");
    while (n + 1015 + 1 <= PD_REQ_SIZE_MAX - 100) {
        n += (size_t) sprintf(buf + n, "ccert_subject=");
        memset(buf + n, 'y', 1000);
        n += 1000;
        buf[n++] = '\n';
    }
    /* Pad to exactly PD_REQ_SIZE_MAX with the final empty line. */
    size_t pad = PD_REQ_SIZE_MAX - n - 1 - strlen("sender=") - 1;
    n += (size_t) sprintf(buf + n, "sender=");
    memset(buf + n, 's', pad);
    n += pad;
    buf[n++] = '\n';
    buf[n++] = '\n';
    ck_assert_uint_eq(n, PD_REQ_SIZE_MAX);
    ck_assert_int_eq(parse_one(buf, n, r, p), PD_REQ_READY);
    ck_assert_uint_eq(strlen(r->sender), pad);
    ck_assert_uint_le(r->arena_used, sizeof r->arena);

    /* One byte more. */
    memmove(buf + n - 2, "s\n\n", 3);
    n++;
    ck_assert_int_eq(parse_one(buf, n, r, p), PD_REQ_ERR_TOO_LARGE);
    ck_assert_str_eq(pd_req_parser_error(p), "request is larger than 16384 bytes");

    /* A flood of short lines stops at the attribute bound, well before
     * the size bound: the parser holds nothing for them. */
    n = 0;
    for (int i = 0; i < 150; i++)
        n += (size_t) sprintf(buf + n, "a=%0100d\n", i);
    size_t consumed;
    pd_req_parser_init(p);
    ck_assert_int_eq(pd_req_feed(p, buf, n, &consumed, r), PD_REQ_ERR_TOO_MANY_ATTRS);
    ck_assert_uint_eq(consumed, (PD_REQ_ATTRS_MAX + 1) * 103);
}
END_TEST

START_TEST(test_nul_byte)
{
    static const char text[] = "request=smtpd_access_policy\nsender=a\0b@example.org\n\n";
    struct pd_req_parser *p = &parser_storage;
    struct pd_request *r = &request_storage;
    ck_assert_int_eq(parse_one(text, sizeof text - 1, r, p), PD_REQ_ERR_NUL_BYTE);
    ck_assert_str_eq(pd_req_parser_error(p), "request line 2 contains a NUL byte");
    ck_assert_int_eq(parse_one("\0", 1, r, p), PD_REQ_ERR_NUL_BYTE);
}
END_TEST

START_TEST(test_no_equals_and_empty_name)
{
    struct pd_req_parser *p = &parser_storage;
    struct pd_request *r = &request_storage;
    static const char no_eq[] = "request=smtpd_access_policy\nGET / HTTP/1.0\n\n";
    ck_assert_int_eq(parse_one(no_eq, strlen(no_eq), r, p), PD_REQ_ERR_NO_EQUALS);
    ck_assert_str_eq(pd_req_parser_error(p), "request line 2 has no '=': \"GET / HTTP/1.0\"");

    static const char empty_name[] = "=smtpd_access_policy\n\n";
    ck_assert_int_eq(parse_one(empty_name, strlen(empty_name), r, p), PD_REQ_ERR_EMPTY_NAME);
    ck_assert_str_eq(pd_req_parser_error(p),
                     "request line 1 has an empty attribute name: \"=smtpd_access_policy\"");
    ck_assert(pd_req_status_is_framing_error(PD_REQ_ERR_NO_EQUALS));
    ck_assert(pd_req_status_is_framing_error(PD_REQ_ERR_EMPTY_NAME));
    ck_assert(pd_req_status_is_framing_error(PD_REQ_ERR_NUL_BYTE));
    ck_assert(pd_req_status_is_framing_error(PD_REQ_ERR_TOO_LARGE));
    ck_assert(pd_req_status_is_framing_error(PD_REQ_ERR_TOO_MANY_ATTRS));
    ck_assert(!pd_req_status_is_framing_error(PD_REQ_READY));
    ck_assert(!pd_req_status_is_framing_error(PD_REQ_MORE));

    /* Binary bytes in the excerpt are escaped and it is cut short. */
    static const char binary[] = "\x1b[31m\xff\xfe and a long tail of text well past forty bytes\n";
    ck_assert_int_eq(parse_one(binary, strlen(binary), r, p), PD_REQ_ERR_NO_EQUALS);
    const char *e = pd_req_parser_error(p);
    for (const char *c = e; *c; c++)
        ck_assert(*c >= 0x20 && *c < 0x7f);
    ck_assert_ptr_nonnull(strstr(e, "\\x1b[31m\\xff\\xfe"));
    ck_assert_ptr_nonnull(strstr(e, "...\""));
}
END_TEST

START_TEST(test_binary_junk)
{
    static char junk[4096];
    unsigned seed = 777;
    struct pd_req_parser *p = &parser_storage;
    struct pd_request *r = &request_storage;
    for (int round = 0; round < 300; round++) {
        /* Skewed toward the bytes that matter to the parser. */
        for (size_t i = 0; i < sizeof junk; i++) {
            unsigned pick = next_random(&seed) % 16;
            junk[i] = pick == 0 ? '\n' : pick == 1 ? '=' : pick == 2 ? '\r'
                : (round % 3 == 0 && pick == 3) ? '\0' : (char) next_random(&seed);
        }
        pd_req_parser_init(p);
        size_t at = 0;
        bool dead = false;
        while (at < sizeof junk && !dead) {
            size_t chunk = 1 + next_random(&seed) % 300, consumed = 0;
            if (chunk > sizeof junk - at)
                chunk = sizeof junk - at;
            enum pd_req_status s = pd_req_feed(p, junk + at, chunk, &consumed, r);
            ck_assert_uint_le(consumed, chunk);
            at += consumed;
            if (pd_req_status_is_framing_error(s)) {
                dead = true;
                ck_assert_str_ne(pd_req_parser_error(p), "");
            } else if (s == PD_REQ_MORE) {
                ck_assert_uint_eq(consumed, chunk);
            } else {
                ck_assert_uint_lt(r->arena_used, sizeof r->arena + 1);
            }
        }
    }
}
END_TEST

/* ---- replies ---------------------------------------------------------- */

static const char *
format(enum pd_action action, const char *text)
{
    static char buf[PD_RESPONSE_MAX];
    struct pd_verdict v = { .action = action };
    snprintf(v.text, sizeof v.text, "%s", text);
    size_t n = pd_response_format(&v, buf, sizeof buf);
    ck_assert_uint_eq(n, strlen(buf));
    return buf;
}

START_TEST(test_response_format)
{
    ck_assert_str_eq(format(PD_DUNNO, ""), "action=DUNNO\n\n");
    ck_assert_str_eq(format(PD_DUNNO, "ignored"), "action=DUNNO\n\n");
    ck_assert_str_eq(format(PD_OK, "ignored"), "action=OK\n\n");
    ck_assert_str_eq(format(PD_REJECT, ""), "action=REJECT\n\n");
    ck_assert_str_eq(format(PD_REJECT, "Go away"), "action=REJECT Go away\n\n");
    ck_assert_str_eq(format(PD_HOLD, "look at this"), "action=HOLD look at this\n\n");
    ck_assert_str_eq(format(PD_DISCARD, "x"), "action=DISCARD x\n\n");
    ck_assert_str_eq(format(PD_DEFER, "  try later  "), "action=DEFER try later\n\n");
    /* CR and LF would end the reply early and inject a second one. */
    ck_assert_str_eq(format(PD_REJECT, "no\r\n\naction=OK\n\nmore"),
                     "action=REJECT no   action=OK  more\n\n");
    ck_assert_str_eq(format(PD_REJECT, "tab\there\x7f\x01"), "action=REJECT tab here\n\n");
    ck_assert_str_eq(format(PD_REJECT, "\r\n"), "action=REJECT\n\n");
    /* Reply codes of the action's class go out in numeric form. */
    ck_assert_str_eq(format(PD_DEFER, "451 4.7.1 Greylisted, come back later"),
                     "action=451 4.7.1 Greylisted, come back later\n\n");
    ck_assert_str_eq(format(PD_REJECT, "550 5.7.1 No"), "action=550 5.7.1 No\n\n");
    ck_assert_str_eq(format(PD_REJECT, "521"), "action=521\n\n");
    ck_assert_str_eq(format(PD_DEFER, "421 4.3.2 closing"), "action=421 4.3.2 closing\n\n");
    /* ... and of the wrong class, or on HOLD/DISCARD, are dropped. */
    ck_assert_str_eq(format(PD_REJECT, "451 4.7.1 Greylisted"), "action=REJECT Greylisted\n\n");
    ck_assert_str_eq(format(PD_DEFER, "554 5.7.1 No"), "action=DEFER No\n\n");
    ck_assert_str_eq(format(PD_HOLD, "450 4.7.1 held"), "action=HOLD held\n\n");
    ck_assert_str_eq(format(PD_DEFER, "451"), "action=451\n\n");
    ck_assert_str_eq(format(PD_DEFER, "551"), "action=DEFER\n\n");
    /* Not codes. */
    ck_assert_str_eq(format(PD_REJECT, "5000 bytes"), "action=REJECT 5000 bytes\n\n");
    ck_assert_str_eq(format(PD_REJECT, "250 ok"), "action=REJECT 250 ok\n\n");
    ck_assert_str_eq(format(PD_REJECT, "550 4.7.1 mixed"), "action=550 4.7.1 mixed\n\n");
}
END_TEST

START_TEST(test_response_bounds)
{
    char buf[PD_RESPONSE_MAX];
    struct pd_verdict v = { .action = PD_DISCARD };
    /* Text filled to the brim without a terminating NUL. */
    memset(v.text, 'z', sizeof v.text);
    size_t n = pd_response_format(&v, buf, sizeof buf);
    ck_assert_uint_eq(n, strlen("action=DISCARD ") + PD_TEXT_MAX - 1 + 2);
    ck_assert_uint_lt(n, sizeof buf);
    ck_assert(buf[n - 1] == '\n' && buf[n - 2] == '\n' && buf[n - 3] == 'z');

    /* Too small a buffer gives 0 and "", never a cut reply. */
    char small[10];
    v.action = PD_REJECT;
    strcpy(v.text, "Go away");
    ck_assert_uint_eq(pd_response_format(&v, small, sizeof small), 0);
    ck_assert_str_eq(small, "");
    ck_assert_uint_eq(pd_response_format(&v, small, 0), 0);

    unsigned code = 0;
    ck_assert_uint_eq(pd_reply_code_prefix("451 4.7.1 x", 11, &code), 10);
    ck_assert_uint_eq(code, 451);
    ck_assert_uint_eq(pd_reply_code_prefix("554 x", 5, &code), 4);
    ck_assert_uint_eq(pd_reply_code_prefix("554 5.7.1234 x", 14, NULL), 4);
    ck_assert_uint_eq(pd_reply_code_prefix("45", 2, NULL), 0);
    ck_assert_uint_eq(pd_reply_code_prefix(NULL, 0, NULL), 0);
}
END_TEST

/* The one splitter both front-ends read a verdict's text with: the policy
 * server (pd_reply_code_prefix) and the milter (smfi_setreply's code,
 * xcode and text).  Before issue 17 the milter had its own, which read
 * "550" as text under a default 554 and kept "5.7.1234" as an enhanced
 * code libmilter then refused. */
static void
expect_split(const char *text, unsigned code, const char *enhanced, const char *rest)
{
    struct pd_reply_parts p;
    size_t n = pd_reply_split(text, strlen(text), &p);

    ck_assert_msg(n > 0, "no reply code found in \"%s\"", text);
    ck_assert_uint_eq(n, p.text);
    ck_assert_uint_eq(p.code, code);
    ck_assert_uint_eq(p.enhanced_len, strlen(enhanced));
    ck_assert_msg(strncmp(text + p.enhanced, enhanced, p.enhanced_len) == 0,
                  "enhanced code of \"%s\"", text);
    ck_assert_str_eq(text + p.text, rest);
    ck_assert_uint_eq(pd_reply_code_prefix(text, strlen(text), NULL), n);
}

START_TEST(test_reply_split)
{
    expect_split("451 4.7.1 Greylisted, try later", 451, "4.7.1", "Greylisted, try later");
    expect_split("554 Go away", 554, "", "Go away");
    expect_split("550", 550, "", "");
    expect_split("550 5.7.2", 550, "5.7.2", "");
    expect_split("550   5.7.2   Go away", 550, "5.7.2", "Go away");
    expect_split("421 4.3.0 x", 421, "4.3.0", "x");
    expect_split("552 5.3.4 ", 552, "5.3.4", "");
    expect_split("450 4.123.456 x", 450, "4.123.456", "x");
    /* Not an enhanced code: left in the text. */
    expect_split("550 5.7.1234 x", 550, "", "5.7.1234 x");
    expect_split("550 4.7.1 x", 550, "", "4.7.1 x");
    expect_split("451 5.7.1 x", 451, "", "5.7.1 x");
    expect_split("550 5.7.1x", 550, "", "5.7.1x");

    /* Not a reply code at all: nothing split, parts all zero. */
    const char *none[] = { "Go away", "250 ok", "45", "4511 x", "550x", "x550 5.7.1", "" };
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        struct pd_reply_parts p = { 1, 1, 1, 1 };
        ck_assert_uint_eq(pd_reply_split(none[i], strlen(none[i]), &p), 0);
        ck_assert_uint_eq(p.code, 0);
        ck_assert_uint_eq(p.enhanced_len, 0);
        ck_assert_uint_eq(p.text, 0);
    }
    ck_assert_uint_eq(pd_reply_split(NULL, 0, NULL), 0);
    /* Bounded by len, never by the NUL. */
    ck_assert_uint_eq(pd_reply_split("550 5.7.1 x", 2, NULL), 0);
}
END_TEST

START_TEST(test_prepend)
{
    char buf[PD_RESPONSE_MAX];
    ck_assert_uint_gt(pd_response_format_prepend("X-Greylist", "delayed 300 seconds", buf,
                                                 sizeof buf), 0);
    ck_assert_str_eq(buf, "action=PREPEND X-Greylist: delayed 300 seconds\n\n");
    pd_response_format_prepend("X-Hashcash-Checked", "yes\r\nBcc: evil@example", buf, sizeof buf);
    ck_assert_str_eq(buf, "action=PREPEND X-Hashcash-Checked: yes  Bcc: evil@example\n\n");
    ck_assert_uint_eq(pd_response_format_prepend("Bad Name", "v", buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "");
    ck_assert_uint_eq(pd_response_format_prepend("Bad:Name", "v", buf, sizeof buf), 0);
    ck_assert_uint_eq(pd_response_format_prepend("", "v", buf, sizeof buf), 0);
    ck_assert_uint_eq(pd_response_format_prepend(NULL, "v", buf, sizeof buf), 0);
    pd_response_format_prepend("X-Empty", "\r\n", buf, sizeof buf);
    ck_assert_str_eq(buf, "action=PREPEND X-Empty:\n\n");
    pd_response_format_prepend("X-Null", NULL, buf, sizeof buf);
    ck_assert_str_eq(buf, "action=PREPEND X-Null:\n\n");
    ck_assert_uint_eq(pd_response_format_prepend("X-Small", "v", buf, 12), 0);
    ck_assert_str_eq(buf, "");
    static char long_value[2000];
    memset(long_value, 'v', sizeof long_value - 1);
    size_t n = pd_response_format_prepend("X-Long", long_value, buf, sizeof buf);
    ck_assert_uint_gt(n, 0);
    ck_assert_uint_lt(n, sizeof buf);
}
END_TEST

/* ---- netaddr ---------------------------------------------------------- */

static struct pd_addr
addr_of(const char *text)
{
    struct pd_addr a;
    ck_assert_msg(pd_addr_parse(text, strlen(text), &a) == PD_NETADDR_OK, "%s", text);
    return a;
}

static struct pd_cidr
cidr_of(const char *text)
{
    struct pd_cidr c;
    enum pd_netaddr_status s = pd_cidr_parse(text, strlen(text), 0, &c);
    ck_assert_msg(s == PD_NETADDR_OK, "%s: %s", text, pd_netaddr_strerror(s));
    return c;
}

static bool
cidr_has(const struct pd_cidr *c, const char *text)
{
    struct pd_addr a = addr_of(text);
    return pd_cidr_match(c, &a);
}

static const char *
addr_text(const struct pd_addr *a)
{
    static char buf[PD_NETADDR_TEXT_MAX];
    ck_assert_uint_gt(pd_addr_format(a, buf, sizeof buf), 0);
    return buf;
}

static const char *
cidr_text(const struct pd_cidr *c)
{
    static char buf[PD_NETADDR_TEXT_MAX];
    ck_assert_uint_gt(pd_cidr_format(c, buf, sizeof buf), 0);
    return buf;
}

START_TEST(test_addr_parse)
{
    struct pd_addr a = addr_of("192.0.2.7");
    ck_assert_int_eq(a.family, PD_ADDR_V4);
    ck_assert_str_eq(addr_text(&a), "192.0.2.7");
    a = addr_of("2001:DB8:0:0:0:0:0:1");
    ck_assert_int_eq(a.family, PD_ADDR_V6);
    ck_assert_str_eq(addr_text(&a), "2001:db8::1");
    a = addr_of("::1");
    ck_assert_str_eq(addr_text(&a), "::1");
    a = addr_of("::ffff:192.0.2.7");
    ck_assert_int_eq(a.family, PD_ADDR_V4);
    ck_assert_str_eq(addr_text(&a), "192.0.2.7");
    a = addr_of("::FFFF:c000:0207");
    ck_assert_int_eq(a.family, PD_ADDR_V4);
    ck_assert_str_eq(addr_text(&a), "192.0.2.7");

    static const char *bad[] = { "1.2.3", "256.1.1.1", "1.2.3.4.5", "1.2.3.4 ", " 1.2.3.4",
                                 "::g", "fe80::1%eth0", "[::1]", "1:2:3:4:5:6:7:8:9",
                                 "example.org", "192.0.2.0/24", "-1.2.3.4", "unknown" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(pd_addr_parse(bad[i], strlen(bad[i]), &a) == PD_NETADDR_BAD_ADDRESS,
                      "%s", bad[i]);
    ck_assert_int_eq(pd_addr_parse("", 0, &a), PD_NETADDR_EMPTY);
    ck_assert_int_eq(pd_addr_parse(NULL, 0, &a), PD_NETADDR_EMPTY);
    ck_assert_int_eq(pd_addr_parse("1.2.3.4\0junk", 12, &a), PD_NETADDR_BAD_ADDRESS);
    /* The length bounds the text: no NUL needed. */
    ck_assert_int_eq(pd_addr_parse("10.0.0.1xyz", 8, &a), PD_NETADDR_OK);
    ck_assert_str_eq(addr_text(&a), "10.0.0.1");
    char longtext[200];
    memset(longtext, '1', sizeof longtext);
    ck_assert_int_eq(pd_addr_parse(longtext, sizeof longtext, &a), PD_NETADDR_TOO_LONG);
    ck_assert_int_eq(a.family, PD_ADDR_NONE);
}
END_TEST

START_TEST(test_cidr_parse_and_match)
{
    struct pd_cidr c = cidr_of("192.0.2.0/24");
    ck_assert_str_eq(cidr_text(&c), "192.0.2.0/24");
    struct pd_addr in = addr_of("192.0.2.255"), out = addr_of("192.0.3.0");
    ck_assert(pd_cidr_match(&c, &in));
    ck_assert(!pd_cidr_match(&c, &out));
    ck_assert(cidr_has(&c, "::ffff:192.0.2.1"));

    c = cidr_of("192.0.2.0/25");
    struct pd_addr a127 = addr_of("192.0.2.127"), a128 = addr_of("192.0.2.128");
    ck_assert(pd_cidr_match(&c, &a127));
    ck_assert(!pd_cidr_match(&c, &a128));

    /* /0: everything of its own family only. */
    c = cidr_of("0.0.0.0/0");
    struct pd_addr v4 = addr_of("203.0.113.9"), v6 = addr_of("2001:db8::9");
    ck_assert(pd_cidr_match(&c, &v4));
    ck_assert(!pd_cidr_match(&c, &v6));
    c = cidr_of("::/0");
    ck_assert(pd_cidr_match(&c, &v6));
    ck_assert(!pd_cidr_match(&c, &v4));

    /* Bare addresses and full-length prefixes are single hosts. */
    c = cidr_of("203.0.113.9");
    ck_assert_uint_eq(c.prefix, 32);
    ck_assert(pd_cidr_match(&c, &v4));
    ck_assert(!cidr_has(&c, "203.0.113.8"));
    c = cidr_of("203.0.113.9/32");
    ck_assert(pd_cidr_match(&c, &v4));
    c = cidr_of("2001:db8::9/128");
    ck_assert_uint_eq(c.prefix, 128);
    ck_assert(pd_cidr_match(&c, &v6));
    ck_assert(!cidr_has(&c, "2001:db8::8"));
    c = cidr_of("2001:db8::9");
    ck_assert_uint_eq(c.prefix, 128);

    c = cidr_of("2001:db8::/32");
    ck_assert_str_eq(cidr_text(&c), "2001:db8::/32");
    ck_assert(pd_cidr_match(&c, &v6));
    ck_assert(cidr_has(&c, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
    ck_assert(!cidr_has(&c, "2001:db9::"));
    c = cidr_of("2001:db8::/33");
    ck_assert(!cidr_has(&c, "2001:db8:8000::1"));
    ck_assert(cidr_has(&c, "2001:db8:7fff::1"));

    /* Mapped networks are IPv4 networks. */
    c = cidr_of("::ffff:192.0.2.0/120");
    ck_assert_int_eq(c.addr.family, PD_ADDR_V4);
    ck_assert_str_eq(cidr_text(&c), "192.0.2.0/24");
    c = cidr_of("::ffff:0:0/96");
    ck_assert_str_eq(cidr_text(&c), "0.0.0.0/0");
    c = cidr_of("::ffff:192.0.2.9");
    ck_assert_str_eq(cidr_text(&c), "192.0.2.9/32");
    /* Below /96 a mapped prefix always has host bits; masked, it is an
     * ordinary IPv6 network. */
    ck_assert_int_eq(pd_cidr_parse("::ffff:0:0/95", 13, 0, &c), PD_NETADDR_HOST_BITS);
    ck_assert_int_eq(pd_cidr_parse("::ffff:0:0/95", 13, PD_CIDR_ALLOW_HOST_BITS, &c),
                     PD_NETADDR_OK);
    ck_assert_int_eq(c.addr.family, PD_ADDR_V6);
    ck_assert_str_eq(cidr_text(&c), "::fffe:0:0/95");

    struct { const char *text; enum pd_netaddr_status status; } bad[] = {
        { "192.0.2.0/33", PD_NETADDR_BAD_PREFIX }, { "2001:db8::/129", PD_NETADDR_BAD_PREFIX },
        { "192.0.2.0/", PD_NETADDR_BAD_PREFIX }, { "192.0.2.0/-1", PD_NETADDR_BAD_PREFIX },
        { "192.0.2.0/a", PD_NETADDR_BAD_PREFIX }, { "192.0.2.0/1000", PD_NETADDR_BAD_PREFIX },
        { "192.0.2.0/24/24", PD_NETADDR_BAD_PREFIX }, { "192.0.2.0/ 24", PD_NETADDR_BAD_PREFIX },
        { "/24", PD_NETADDR_BAD_ADDRESS }, { "192.0.2/24", PD_NETADDR_BAD_ADDRESS },
        { "junk", PD_NETADDR_BAD_ADDRESS }, { "", PD_NETADDR_EMPTY },
        { "192.0.2.1/24", PD_NETADDR_HOST_BITS }, { "2001:db8::1/64", PD_NETADDR_HOST_BITS },
        { "0.0.0.1/0", PD_NETADDR_HOST_BITS },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        enum pd_netaddr_status s = pd_cidr_parse(bad[i].text, strlen(bad[i].text), 0, &c);
        ck_assert_msg(s == bad[i].status, "%s gave %s", bad[i].text, pd_netaddr_strerror(s));
    }
    ck_assert_int_eq(pd_cidr_parse("192.0.2.1/24", 12, PD_CIDR_ALLOW_HOST_BITS, &c),
                     PD_NETADDR_OK);
    ck_assert_str_eq(cidr_text(&c), "192.0.2.0/24");
    ck_assert_str_eq(pd_netaddr_strerror(PD_NETADDR_HOST_BITS),
                     "address has bits set beyond the prefix length");
    ck_assert_ptr_nonnull(strstr(pd_netaddr_strerror(PD_NETADDR_BAD_PREFIX), "/0../32"));

    /* An empty network matches nothing. */
    struct pd_cidr none = { { PD_ADDR_NONE, { 0 } }, 0 };
    ck_assert(!pd_cidr_match(&none, &v4));
}
END_TEST

START_TEST(test_masking)
{
    struct pd_cidr c;
    struct pd_addr a = addr_of("192.0.2.77");
    pd_addr_mask(&a, 24, &c);
    ck_assert_str_eq(cidr_text(&c), "192.0.2.0/24");
    pd_addr_mask(&a, 0, &c);
    ck_assert_str_eq(cidr_text(&c), "0.0.0.0/0");
    pd_addr_mask(&a, 200, &c);   /* clamped */
    ck_assert_str_eq(cidr_text(&c), "192.0.2.77/32");
    pd_addr_mask(&a, 27, &c);
    ck_assert_str_eq(cidr_text(&c), "192.0.2.64/27");
    ck_assert(pd_cidr_match(&c, &a));

    a = addr_of("2001:db8:1:2:3:4:5:6");
    pd_addr_mask(&a, 64, &c);
    ck_assert_str_eq(cidr_text(&c), "2001:db8:1:2::/64");
    pd_addr_mask(&a, 128, &c);
    ck_assert_str_eq(cidr_text(&c), "2001:db8:1:2:3:4:5:6/128");
    pd_addr_mask(&a, 0, &c);
    ck_assert_str_eq(cidr_text(&c), "::/0");
    pd_addr_mask(&a, 49, &c);
    ck_assert_str_eq(cidr_text(&c), "2001:db8:1::/49");
    pd_addr_mask(&a, 33, &c);
    ck_assert_str_eq(cidr_text(&c), "2001:db8::/33");

    char key[PD_NETADDR_TEXT_MAX];
    ck_assert_int_eq(pd_addr_network_key("192.0.2.77", 10, PD_NETADDR_GREY_V4_PREFIX,
                                         PD_NETADDR_GREY_V6_PREFIX, key, sizeof key),
                     PD_NETADDR_OK);
    ck_assert_str_eq(key, "192.0.2.0/24");
    ck_assert_int_eq(pd_addr_network_key("2001:db8:1:2:3::4", 17, 24, 64, key, sizeof key),
                     PD_NETADDR_OK);
    ck_assert_str_eq(key, "2001:db8:1:2::/64");
    ck_assert_int_eq(pd_addr_network_key("::ffff:198.51.100.200", 21, 24, 64, key, sizeof key),
                     PD_NETADDR_OK);
    ck_assert_str_eq(key, "198.51.100.0/24");
    ck_assert_int_eq(pd_addr_network_key("unknown", 7, 24, 64, key, sizeof key),
                     PD_NETADDR_BAD_ADDRESS);
    ck_assert_str_eq(key, "");
    char tiny[8];
    ck_assert_int_eq(pd_addr_network_key("192.0.2.77", 10, 24, 64, tiny, sizeof tiny),
                     PD_NETADDR_TOO_LONG);
    ck_assert_str_eq(tiny, "");
    struct pd_addr none = { PD_ADDR_NONE, { 0 } };
    ck_assert_uint_eq(pd_addr_format(&none, key, sizeof key), 0);
}
END_TEST

Suite *
suite(void)
{
    Suite *s = suite_create("policy_proto");
    TCase *words = tcase_create("verdict");
    tcase_add_test(words, test_action_words);
    suite_add_tcase(s, words);

    TCase *parser = tcase_create("parser");
    tcase_add_test(parser, test_whole_request);
    tcase_add_test(parser, test_byte_by_byte);
    tcase_add_test(parser, test_random_splits);
    tcase_add_test(parser, test_crlf);
    tcase_add_test(parser, test_back_to_back);
    tcase_add_test(parser, test_thousand_requests);
    tcase_add_test(parser, test_repeated_last_wins);
    tcase_add_test(parser, test_unknown_ignored_and_values_kept_raw);
    tcase_add_test(parser, test_missing_request);
    tcase_add_test(parser, test_wrong_request);
    tcase_add_test(parser, test_empty_request);
    tcase_add_test(parser, test_numbers);
    tcase_add_test(parser, test_protocol_states);
    tcase_add_test(parser, test_request_copy);
    suite_add_tcase(s, parser);

    TCase *hostile = tcase_create("bounds");
    tcase_add_test(hostile, test_line_length);
    tcase_add_test(hostile, test_attribute_count);
    tcase_add_test(hostile, test_request_size);
    tcase_add_test(hostile, test_nul_byte);
    tcase_add_test(hostile, test_no_equals_and_empty_name);
    tcase_add_test(hostile, test_binary_junk);
    suite_add_tcase(s, hostile);

    TCase *reply = tcase_create("reply");
    tcase_add_test(reply, test_response_format);
    tcase_add_test(reply, test_response_bounds);
    tcase_add_test(reply, test_prepend);
    tcase_add_test(reply, test_reply_split);
    suite_add_tcase(s, reply);

    TCase *net = tcase_create("netaddr");
    tcase_add_test(net, test_addr_parse);
    tcase_add_test(net, test_cidr_parse_and_match);
    tcase_add_test(net, test_masking);
    suite_add_tcase(s, net);
    return s;
}
