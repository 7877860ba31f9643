/*
 * fuzz_price_record.c - libFuzzer target: the _postage.<domain> TXT record
 * as any DNS server may send it (policy/base/price_record.c), and the
 * address-to-domain step the senders take before looking it up.
 *
 * Checked beyond "no crash": a record that parses is within the bounds
 * the header promises, formats, and parses back to the same values; a
 * domain that is accepted is a lower-case host name.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/base/price_record.h"
#include "postage/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so ASan sees a read past the input. */
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);

    struct pd_price_record r, back;
    char err[160], text[PD_PRICE_RECORD_TEXT_MAX];
    int rc = pd_price_record_parse(buf, size, &r, err, sizeof err);
    CHECK(rc >= -1 && rc <= 1);
    if (rc == 0) {
        CHECK(r.bits <= PD_PRICE_RECORD_MAX_BITS);
        CHECK((r.kinds & (POSTAGE_KIND_SHA1 | POSTAGE_KIND_ARGON2ID)) != 0);
        size_t n = pd_price_record_format(&r, text, sizeof text);
        CHECK(n > 0 && n == strlen(text));
        CHECK(pd_price_record_parse(text, n, &back, err, sizeof err) == 0);
        CHECK(memcmp(&r, &back, sizeof r) == 0);
    } else if (rc < 0) {
        CHECK(memchr(err, '\0', sizeof err) != NULL && err[0] != '\0');
    }

    /* The same bytes as an address, NUL-terminated. */
    char *address = malloc(size + 1);
    if (address != NULL) {
        memcpy(address, data, size);
        address[size] = '\0';
        char domain[PD_DNS_NAME_MAX + 1];
        if (pd_price_domain_of(address, domain, sizeof domain) == 0) {
            size_t n = strlen(domain);
            CHECK(n > 0 && n <= PD_DNS_NAME_MAX);
            for (size_t i = 0; i < n; i++)
                CHECK((domain[i] >= 'a' && domain[i] <= 'z') || (domain[i] >= '0' && domain[i] <= '9') ||
                      domain[i] == '-' || domain[i] == '.' || domain[i] == '_');
        }
        free(address);
    }
    free(buf);
    return 0;
}
