/*
 * fuzz_rfc5322.c - libFuzzer target: RFC 5322 header blocks and address
 * lists as postage-sendmail -t reads them (util/rfc5322.c).
 *
 * Input: a message (any bytes).  It is taken both as a header block
 * (rfc5322_header_end, rfc5322_next_field, rfc5322_recipients) and as one
 * address-list field value (rfc5322_parse_addresses).  Checked beyond
 * "no crash": fields tile the block in order and stay inside it, and every
 * address is at most RFC5322_ADDR_MAX bytes with no control byte or NUL,
 * as the header promises.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/rfc5322.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static void
check_addrs(const struct rfc5322_addrs *l)
{
    CHECK(l->count <= RFC5322_LIST_MAX && l->count <= l->cap);
    for (size_t i = 0; i < l->count; i++) {
        const char *a = l->addr[i];
        size_t n = strlen(a);
        CHECK(n > 0 && n <= RFC5322_ADDR_MAX);
        for (size_t j = 0; j < n; j++)
            CHECK((unsigned char)a[j] >= 0x20 && a[j] != 0x7f);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so ASan sees a read past the input. */
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);

    size_t end = rfc5322_header_end(buf, size);
    CHECK(end <= size);
    (void)rfc5322_uses_crlf(buf, size);

    struct rfc5322_field f;
    size_t pos = 0, last_end = 0;
    while (rfc5322_next_field(buf, size, &pos, &f) == 1) {
        CHECK(f.start >= last_end && f.start < f.end && f.end <= end);
        CHECK(pos == f.end);
        CHECK(f.name == buf + f.start && f.name_len > 0);
        CHECK(f.value >= f.name + f.name_len && f.value + f.value_len <= buf + f.end);
        (void)rfc5322_field_is_bcc(&f);
        (void)rfc5322_field_name_is(&f, "To");
        struct rfc5322_addrs one = { 0 };
        if (rfc5322_parse_addresses(f.value, f.value_len, &one) == 0)
            check_addrs(&one);
        rfc5322_addrs_free(&one);
        last_end = f.end;
    }

    struct rfc5322_addrs shown = { 0 }, blind = { 0 }, list = { 0 };
    if (rfc5322_recipients(buf, size, &shown, &blind) == 0) {
        check_addrs(&shown);
        check_addrs(&blind);
    }
    if (rfc5322_parse_addresses(buf, size, &list) == 0)
        check_addrs(&list);
    rfc5322_addrs_free(&shown);
    rfc5322_addrs_free(&blind);
    rfc5322_addrs_free(&list);
    CHECK(list.count == 0 && list.addr == NULL);
    free(buf);
    return 0;
}
