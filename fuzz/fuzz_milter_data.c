/*
 * fuzz_milter_data.c - libFuzzer target for the milter's data paths, as
 * postaged's callbacks receive them (issue 16), without libmilter:
 *   - envelope addresses (policy/checks/address.c, the RFC 5321 Path parser);
 *   - header values and log lines escaped (policy/base/escape.c);
 *   - header names and values: our own headers' incoming copies, forged
 *     Authentication-Results, the Message-ID (policy/frontends/milter_headers.c).
 *
 * The input is used whole as an address and as text to escape, and split
 * at LF into "Name:value" header lines.  Invariants checked (abort on
 * failure, so libFuzzer reports it): an accepted address is a NUL-free,
 * control-free piece of the input that fits its buffer, a refused one
 * leaves ""; escaped text has no control character, fits, is cut at a
 * whole escape, reads the same escaped twice, and pd_escape_inplace agrees
 * with pd_escape; the header counts and forged indexes stay consistent.
 * ASan catches any read past the input (libFuzzer's buffer ends exactly
 * there).
 *
 * Dictionary: fuzz/milter_data.dict.
 *
 * Links with: policy/checks/address.c policy/base/escape.c policy/frontends/milter_headers.c
 * (include paths: the build directory for config.h, and the top source
 * directory).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/checks/address.h"
#include "policy/base/escape.h"
#include "policy/frontends/milter_headers.h"

#define CHECK(cond) \
    do { \
        if (!(cond)) \
            abort(); \
    } while (0)

static int
has_control(const char *s, size_t n)
{
    return pd_has_control(s, n);
}

static void
fuzz_address(const char *data, size_t size)
{
    static const size_t sizes[] = { 1, 8, 64, 512 };
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        char out[512];
        memset(out, 'Z', sizeof out);
        enum pd_addr_status st = pd_envelope_address(data, size, out, sizes[k]);
        size_t n = strnlen(out, sizes[k]);
        CHECK(n < sizes[k]);                     /* terminated within size */
        CHECK(pd_addr_status_text(st)[0] != '\0');
        if (st != PD_ADDR_OK) {
            CHECK(n == 0);
            continue;
        }
        CHECK(!has_control(out, n));
        /* The Mailbox is a piece of the input, as written. */
        if (n > 0) {
            int found = 0;
            for (size_t i = 0; i + n <= size && !found; i++)
                found = memcmp(data + i, out, n) == 0;
            CHECK(found);
        }
    }
}

static void
fuzz_escape(const char *data, size_t size)
{
    static const size_t sizes[] = { 1, 2, 5, 64, 4096 };
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t cap = sizes[k];
        char *out = malloc(cap);
        char *again = malloc(cap);
        CHECK(out != NULL && again != NULL);
        size_t n = pd_escape(out, cap, data, size);
        CHECK(n < cap && out[n] == '\0' && strlen(out) == n);
        CHECK(!has_control(out, n));
        /* The output is the escape of a whole number of input bytes:
         * never half of a "\xNN" at the end. */
        size_t w = 0;
        for (size_t i = 0; i < size && w < n; i++) {
            unsigned char c = (unsigned char) data[i];
            w += c < 0x20 || c == 0x7f ? 4 : 1;
        }
        CHECK(w == n);
        /* Idempotent. */
        CHECK(pd_escape_str(again, cap, out) == n && memcmp(again, out, n + 1) == 0);
        /* In place agrees with pd_escape, for the part before any NUL. */
        size_t text = strnlen(data, size);
        memset(again, 'Z', cap);
        size_t m = text < cap ? text : cap - 1;
        memcpy(again, data, m);
        again[m] = '\0';
        char *ref = malloc(cap);
        CHECK(ref != NULL);
        size_t rn = pd_escape(ref, cap, again, m);
        CHECK(pd_escape_inplace(again, cap) == rn && memcmp(again, ref, rn + 1) == 0);
        free(ref);
        free(out);
        free(again);
    }
}

static void
fuzz_headers(const char *data, size_t size)
{
    struct pd_own_headers h = { 0 };
    unsigned expected[PD_OWN_HEADERS] = { 0 };
    char message_id[256] = "";
    size_t off = 0;
    int refused = 0;
    while (off < size && !refused) {
        const char *nl = memchr(data + off, '\n', size - off);
        size_t len = nl ? (size_t) (nl - (data + off)) : size - off;
        char *line = malloc(len + 1);
        CHECK(line != NULL);
        memcpy(line, data + off, len);
        line[len] = '\0';
        off += len + (nl != NULL);
        /* As libmilter gives them: NUL-terminated name and value. */
        char *colon = strchr(line, ':');
        const char *value = "";
        if (colon != NULL) {
            *colon = '\0';
            value = colon + 1;
        }
        int which = pd_own_header_index(line);
        if (pd_own_headers_note(&h, line, value, "mx.example.org") != 0) {
            CHECK(which == PD_OWN_AUTH_RESULTS && h.n_forged_ar == PD_FORGED_AR_MAX);
            refused = 1;
        }
        if (which >= 0)
            expected[which]++;
        if (message_id[0] == '\0' && strcmp(line, "Message-ID") == 0) {
            pd_message_id_take(message_id, sizeof message_id, value);
            size_t n = strlen(message_id);
            CHECK(n < sizeof message_id);
            CHECK(strpbrk(message_id, " \t\r\n") == NULL);
        }
        free(line);
    }
    for (int i = 0; i < PD_OWN_HEADERS; i++)
        CHECK(h.seen[i] == expected[i]);
    CHECK(h.n_forged_ar <= h.seen[PD_OWN_AUTH_RESULTS]);
    for (size_t i = 0; i < h.n_forged_ar; i++) {
        CHECK(h.forged_ar[i] >= 1 && h.forged_ar[i] <= h.seen[PD_OWN_AUTH_RESULTS]);
        if (i > 0)
            CHECK(h.forged_ar[i] > h.forged_ar[i - 1]);
    }
    pd_own_headers_reset(&h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *) data;
    fuzz_address(text, size);
    fuzz_escape(text, size);
    fuzz_headers(text, size);
    return 0;
}
