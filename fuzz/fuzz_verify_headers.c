/*
 * fuzz_verify_headers.c - libFuzzer target: the header scanning of
 * `postage-verify --message` (verify/headers.c).
 *
 * Input: a message's header block, exactly as postage-verify hands it to
 * postage_headers_next() (any bytes; the scan must stop at the first empty
 * line).  Every stamp found is unfolded into a buffer of the size
 * postage-verify uses and, as there, into a small one to take the
 * POSTAGE_ERR_TOO_LONG path; each must come back NUL-terminated, no longer
 * than the buffer, and the scan must always move forward.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postage/stamp.h"
#include "postage/status.h"
#include "postage/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static void
scan(const char *block, size_t len, size_t cap)
{
    char *out = malloc(cap);
    size_t pos = 0, out_len, prev;
    int found, n = 0;
    if (out == NULL)
        return;
    for (;;) {
        prev = pos;
        out_len = SIZE_MAX;
        found = postage_headers_next(block, len, &pos, out, cap, &out_len);
        CHECK(found == 0 || found == 1 || found == POSTAGE_ERR_TOO_LONG);
        if (found == 0)
            break;
        CHECK(pos > prev && pos <= len);
        CHECK(out_len < cap && out[out_len] == '\0');
        /* What postage-verify then does with it. */
        struct postage_stamp st;
        (void)postage_stamp_parse(out, out_len, &st);
        CHECK(++n <= (int)len);
    }
    free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so ASan sees a read past the block. */
    char *block = malloc(size ? size : 1);
    if (block == NULL)
        return 0;
    memcpy(block, data, size);
    scan(block, size, POSTAGE_STAMP_MAX + 2);
    scan(block, size, 16);

    /* One field value on its own, as postage_header_stamp() takes it. */
    char out[POSTAGE_STAMP_MAX + 2];
    size_t out_len = SIZE_MAX;
    int rc = postage_header_stamp(block, size, out, sizeof out, &out_len);
    CHECK(rc == POSTAGE_OK || rc == POSTAGE_ERR_TOO_LONG);
    CHECK(out_len < sizeof out && out[out_len] == '\0');
    free(block);
    return 0;
}
