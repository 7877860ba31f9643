/*
 * fuzz_sendmail_headers.c - libFuzzer target for postage-sendmail's header
 * splitter and header editor (sendmail/sendmail_headers.c over
 * util/rfc5322.c).  The input's first byte chooses the edit (Bcc dropped or
 * not, 0-3 stamps); the rest is the message.  Invariants checked:
 *   - the split of the whole message is rfc5322_header_end()'s, within it,
 *     and header + body put back together is the input;
 *   - a prefix read as "more may follow" says SMH_TOO_BIG or gives exactly
 *     the whole message's end (a cut read never moves the header end:
 *     the 1 MiB defect);
 *   - the edited block is the input block with the stamp lines inserted at
 *     the reported place (and, when asked, Bcc fields removed), nothing
 *     else; the stamps are fields of the new header and no Bcc field is;
 *     header + body keep their boundary (the body stays the body).
 * Every buffer handed to the code under test is exactly as long as the
 * bytes it may read, so ASan catches any read past the end.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/rfc5322.h"
#include "sendmail/sendmail_headers.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static char *
dup_exact(const uint8_t *p, size_t n)
{
    char *b = malloc(n ? n : 1);
    CHECK(b != NULL);
    if (n > 0)
        memcpy(b, p, n);
    return b;
}

static void
check_prefix(const char *msg, size_t p, size_t end)
{
    char *copy = dup_exact((const uint8_t *) msg, p);
    size_t got = 12345;
    enum smh_split_result r = smh_split(copy, p, 0, &got);
    if (r == SMH_BLOCK)
        CHECK(got == end && got <= p);
    else
        CHECK(r == SMH_TOO_BIG && got == 0);
    free(copy);
}

static size_t
count_fields(const char *buf, size_t len, const char *name, int *any_bcc)
{
    struct rfc5322_field f;
    size_t pos = 0, n = 0;
    while (rfc5322_next_field(buf, len, &pos, &f) == 1) {
        if (rfc5322_field_name_is(&f, name))
            n++;
        if (any_bcc != NULL && rfc5322_field_is_bcc(&f))
            *any_bcc = 1;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const stamps[] = {
        "1:20:261206:ann@example.org::c2FsdA==:MTIz",
        "1:8:261206:bob@example.net::eA==:0",
        "1:0:261206:\"odd\"@[127.0.0.1]::x:y",
    };
    if (size < 1 || size > (1u << 20))
        return 0;
    int drop_bcc = data[0] & 1;
    size_t n = (size_t) (data[0] >> 1) % 4;
    size_t len = size - 1;
    char *msg = dup_exact(data + 1, len);

    /* The whole message. */
    size_t end = 12345;
    CHECK(smh_split(msg, len, 1, &end) == SMH_BLOCK);
    CHECK(end <= len && end == rfc5322_header_end(msg, len));
    char *joined = malloc(len ? len : 1);
    CHECK(joined != NULL);
    memcpy(joined, msg, end);
    memcpy(joined + end, msg + end, len - end);
    CHECK(len == 0 || memcmp(joined, data + 1, len) == 0);
    free(joined);

    /* Prefixes: all of them for short inputs, a sample and the
     * neighbourhood of the end for long ones. */
    if (len <= 512) {
        for (size_t p = 0; p <= len; p++)
            check_prefix(msg, p, end);
    } else {
        for (size_t k = 0; k <= 64; k++)
            check_prefix(msg, len * k / 64, end);
        for (size_t p = end > 3 ? end - 3 : 0; p <= end + 3 && p <= len; p++)
            check_prefix(msg, p, end);
    }

    /* The edited block. */
    char *block = dup_exact((const uint8_t *) msg, end);
    struct smh_buf out = { NULL, 0, 0 };
    struct smh_edit e;
    CHECK(smh_build(block, end, drop_bcc, stamps, n, &out, &e) == 0);
    CHECK(e.insert_at <= end);
    const char *eol = rfc5322_uses_crlf(block, end) ? "\r\n" : "\n";
    size_t eol_len = strlen(eol);
    size_t lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += 12 + strlen(stamps[i]) + eol_len;
    CHECK(!e.added_eol || end == 0 || block[0] != '\n');
    if (!drop_bcc) {
        /* block[0, at) + stamp lines (+ eol) + block[at, end), exactly */
        size_t want = end + lines + (e.added_eol ? eol_len : 0);
        CHECK(out.len == want);
        CHECK(memcmp(out.buf, block, e.insert_at) == 0);
        size_t o = e.insert_at;
        for (size_t i = 0; i < n; i++) {
            CHECK(memcmp(out.buf + o, "X-Hashcash: ", 12) == 0);
            o += 12;
            CHECK(memcmp(out.buf + o, stamps[i], strlen(stamps[i])) == 0);
            o += strlen(stamps[i]);
            CHECK(memcmp(out.buf + o, eol, eol_len) == 0);
            o += eol_len;
        }
        if (e.added_eol) {
            CHECK(memcmp(out.buf + o, eol, eol_len) == 0);
            o += eol_len;
        }
        CHECK(end - e.insert_at == out.len - o);
        CHECK(memcmp(out.buf + o, block + e.insert_at, end - e.insert_at) == 0);
    } else {
        /* Only Bcc fields gone: never longer than block + stamps. */
        CHECK(out.len <= end + lines + (e.added_eol ? eol_len : 0));
    }
    /* The stamps are fields of the new header; no Bcc is, when dropped. */
    if (out.len > 0 || n == 0) {
        char *hdr = dup_exact((const uint8_t *) out.buf, out.len);
        int any_bcc = 0;
        size_t before = count_fields(block, end, "X-Hashcash", NULL);
        size_t after = count_fields(hdr, out.len, "X-Hashcash", &any_bcc);
        CHECK(after == before + n);
        if (drop_bcc)
            CHECK(!any_bcc);
        /* The header and the body keep their boundary. */
        char *whole = malloc(out.len + (len - end) + 1);
        CHECK(whole != NULL);
        memcpy(whole, hdr, out.len);
        memcpy(whole + out.len, msg + end, len - end);
        char *exact = dup_exact((const uint8_t *) whole, out.len + (len - end));
        CHECK(rfc5322_header_end(exact, out.len + (len - end)) == out.len);
        free(exact);
        free(whole);
        free(hdr);
    }
    free(out.buf);
    free(block);
    free(msg);
    return 0;
}
