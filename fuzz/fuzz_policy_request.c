/*
 * fuzz_policy_request.c - libFuzzer target: the Postfix policy protocol
 * codec (policy/frontends/request.c) as postaged's policy server drives it, and the
 * reply formatter fed with what a client sent.
 *
 * Input: one byte choosing how the stream is cut into reads (1 to 32
 * bytes, or all at once), then the bytes a client sends.  Every request
 * parsed is copied, and its attribute values go into replies of every
 * action and into a PREPEND header.  Checked beyond "no crash": the parser
 * consumes what it says; a framing error sticks and its message is
 * printable ASCII; every reply is one protocol line: "action=", no CR, LF
 * or other control byte, "\n\n", within PD_RESPONSE_MAX.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/frontends/request.h"
#include "policy/checks/verdict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static void
check_reply(const char *buf, size_t n)
{
    if (n == 0)
        return;
    CHECK(n < PD_RESPONSE_MAX && strlen(buf) == n);
    CHECK(n >= 9 && memcmp(buf, "action=", 7) == 0);
    CHECK(buf[n - 1] == '\n' && buf[n - 2] == '\n');
    for (size_t i = 0; i < n - 2; i++)
        CHECK((unsigned char)buf[i] >= 0x20 && buf[i] != 0x7f);
}

static void
check_printable(const char *s)
{
    for (; *s; s++)
        CHECK(*s >= 0x20 && *s < 0x7f);
}

static void
use_request(const struct pd_request *req, unsigned n)
{
    static struct pd_request copy;
    pd_request_copy(&copy, req);
    CHECK(strcmp(copy.recipient, req->recipient) == 0 && copy.recipient != req->recipient);
    CHECK(strcmp(copy.client_name, req->client_name) == 0);
    (void)pd_protocol_state_name(req->state);

    const char *texts[] = { req->recipient, req->sender, req->helo_name, req->ccert_subject,
                            req->client_name };
    char buf[PD_RESPONSE_MAX];
    struct pd_verdict v;
    for (unsigned a = PD_DUNNO; a <= PD_DISCARD; a++) {
        const char *t = texts[(n + a) % 5];
        v.action = (enum pd_action)a;
        /* Not NUL-terminated when it fills the text: the formatter must
         * stop at PD_TEXT_MAX - 1 on its own. */
        memset(v.text, 'x', sizeof v.text);
        memcpy(v.text, t, strnlen(t, sizeof v.text));
        if (strlen(t) < sizeof v.text)
            v.text[strlen(t)] = '\0';
        check_reply(buf, pd_response_format(&v, buf, sizeof buf));
        unsigned code;
        (void)pd_reply_code_prefix(t, strlen(t), &code);
    }
    check_reply(buf, pd_response_format_prepend(req->helo_name, req->sender, buf, sizeof buf));
    check_reply(buf, pd_response_format_prepend("X-Postage-Result", req->recipient, buf,
                                                sizeof buf));
    enum pd_action act;
    (void)pd_action_parse(req->protocol_name, strlen(req->protocol_name), &act);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = data[0] % 33;   /* 0: everything in one read */
    data++;
    size--;

    static struct pd_req_parser parser;
    static struct pd_request req;
    pd_req_parser_init(&parser);

    size_t off = 0;
    unsigned n = 0;
    while (off < size) {
        size_t want = chunk ? (size - off < chunk ? size - off : chunk) : size - off;
        /* An exact-size copy of each read, so ASan sees a read past it. */
        char *piece = malloc(want);
        if (piece == NULL)
            return 0;
        memcpy(piece, data + off, want);
        size_t used = 0;
        while (used < want) {
            size_t consumed = SIZE_MAX;
            enum pd_req_status st = pd_req_feed(&parser, piece + used, want - used,
                                                &consumed, &req);
            CHECK(consumed <= want - used);
            check_printable(pd_req_parser_error(&parser));
            if (pd_req_status_is_framing_error(st)) {
                size_t again = SIZE_MAX;
                CHECK(pd_req_feed(&parser, piece + used, want - used, &again, &req) == st);
                CHECK(again == 0);
                free(piece);
                return 0;
            }
            used += consumed;
            if (st == PD_REQ_MORE) {
                CHECK(used == want);
                break;
            }
            use_request(&req, n++);
        }
        free(piece);
        off += want;
    }
    return 0;
}
