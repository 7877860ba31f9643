/*
 * netaddr.c - IPv4/IPv6 parsing, CIDR matching and masking on top of
 * inet_pton/inet_ntop, so that the text forms are exactly the libc's and
 * the only logic here is bounds, prefixes and the IPv4-mapped case.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "policy/base/netaddr.h"

static const uint8_t v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

const char *
pd_netaddr_strerror(enum pd_netaddr_status status)
{
    switch (status) {
    case PD_NETADDR_OK:
        return "ok";
    case PD_NETADDR_EMPTY:
        return "empty address";
    case PD_NETADDR_TOO_LONG:
        return "address text too long";
    case PD_NETADDR_BAD_ADDRESS:
        return "not an IPv4 or IPv6 address";
    case PD_NETADDR_BAD_PREFIX:
        return "bad prefix length (IPv4 takes /0../32, IPv6 /0../128)";
    case PD_NETADDR_HOST_BITS:
        return "address has bits set beyond the prefix length";
    }
    return "unknown address error";
}

static unsigned
family_width(enum pd_addr_family family)
{
    return family == PD_ADDR_V4 ? 32 : family == PD_ADDR_V6 ? 128 : 0;
}

enum pd_netaddr_status
pd_addr_parse(const char *text, size_t len, struct pd_addr *out)
{
    char copy[PD_NETADDR_TEXT_MAX + 1];

    memset(out, 0, sizeof *out);
    if (text == NULL || len == 0)
        return PD_NETADDR_EMPTY;
    if (len > PD_NETADDR_TEXT_MAX)
        return PD_NETADDR_TOO_LONG;
    /* inet_pton wants a C string; an embedded NUL would hide the rest. */
    if (memchr(text, '\0', len) != NULL)
        return PD_NETADDR_BAD_ADDRESS;
    memcpy(copy, text, len);
    copy[len] = '\0';

    if (inet_pton(AF_INET, copy, out->bytes) == 1) {
        out->family = PD_ADDR_V4;
        return PD_NETADDR_OK;
    }
    uint8_t v6[16];
    if (inet_pton(AF_INET6, copy, v6) == 1) {
        if (memcmp(v6, v4_mapped_prefix, sizeof v4_mapped_prefix) == 0) {
            out->family = PD_ADDR_V4;
            memcpy(out->bytes, v6 + 12, 4);
        } else {
            out->family = PD_ADDR_V6;
            memcpy(out->bytes, v6, 16);
        }
        return PD_NETADDR_OK;
    }
    return PD_NETADDR_BAD_ADDRESS;
}

/* Zero every bit past `prefix`; reports whether any was set. */
static bool
clear_host_bits(uint8_t *bytes, unsigned width, unsigned prefix)
{
    bool had_host_bits = false;
    for (unsigned bit = prefix; bit < width; bit++) {
        uint8_t mask = (uint8_t) (0x80u >> (bit % 8));
        if (bytes[bit / 8] & mask) {
            had_host_bits = true;
            bytes[bit / 8] &= (uint8_t) ~mask;
        }
    }
    return had_host_bits;
}

enum pd_netaddr_status
pd_cidr_parse(const char *text, size_t len, unsigned flags, struct pd_cidr *out)
{
    memset(out, 0, sizeof *out);
    if (text == NULL || len == 0)
        return PD_NETADDR_EMPTY;
    if (len > PD_NETADDR_TEXT_MAX)
        return PD_NETADDR_TOO_LONG;

    const char *slash = memchr(text, '/', len);
    size_t addr_len = slash != NULL ? (size_t) (slash - text) : len;
    char copy[PD_NETADDR_TEXT_MAX + 1];
    uint8_t raw[16] = { 0 };
    enum pd_addr_family family;

    if (addr_len == 0)
        return PD_NETADDR_BAD_ADDRESS;
    if (memchr(text, '\0', len) != NULL)
        return PD_NETADDR_BAD_ADDRESS;
    memcpy(copy, text, addr_len);
    copy[addr_len] = '\0';
    /* Parsed raw here rather than with pd_addr_parse, because a mapped
     * address must keep its 128-bit form until the prefix is known. */
    if (inet_pton(AF_INET, copy, raw) == 1)
        family = PD_ADDR_V4;
    else if (inet_pton(AF_INET6, copy, raw) == 1)
        family = PD_ADDR_V6;
    else
        return PD_NETADDR_BAD_ADDRESS;

    unsigned width = family_width(family);
    unsigned prefix = width;
    if (slash != NULL) {
        const char *digits = slash + 1;
        size_t count = len - addr_len - 1;
        if (count == 0 || count > 3)
            return PD_NETADDR_BAD_PREFIX;
        prefix = 0;
        for (size_t i = 0; i < count; i++) {
            if (digits[i] < '0' || digits[i] > '9')
                return PD_NETADDR_BAD_PREFIX;
            prefix = prefix * 10 + (unsigned) (digits[i] - '0');
        }
        if (prefix > width)
            return PD_NETADDR_BAD_PREFIX;
    }

    if (clear_host_bits(raw, width, prefix) && !(flags & PD_CIDR_ALLOW_HOST_BITS))
        return PD_NETADDR_HOST_BITS;

    if (family == PD_ADDR_V6 && prefix >= 96
        && memcmp(raw, v4_mapped_prefix, sizeof v4_mapped_prefix) == 0) {
        family = PD_ADDR_V4;
        memmove(raw, raw + 12, 4);
        memset(raw + 4, 0, 12);
        prefix -= 96;
    }
    out->addr.family = family;
    memcpy(out->addr.bytes, raw, sizeof raw);
    out->prefix = prefix;
    return PD_NETADDR_OK;
}

bool
pd_cidr_match(const struct pd_cidr *cidr, const struct pd_addr *addr)
{
    if (cidr->addr.family == PD_ADDR_NONE || cidr->addr.family != addr->family)
        return false;
    unsigned prefix = cidr->prefix;
    if (prefix > family_width(addr->family))
        return false;
    unsigned whole = prefix / 8, rest = prefix % 8;
    if (memcmp(cidr->addr.bytes, addr->bytes, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t) (0xffu << (8 - rest));
    return ((cidr->addr.bytes[whole] ^ addr->bytes[whole]) & mask) == 0;
}

void
pd_addr_mask(const struct pd_addr *addr, unsigned prefix, struct pd_cidr *out)
{
    unsigned width = family_width(addr->family);
    if (prefix > width)
        prefix = width;
    out->addr = *addr;
    out->prefix = prefix;
    clear_host_bits(out->addr.bytes, width, prefix);
}

size_t
pd_addr_format(const struct pd_addr *addr, char *buf, size_t cap)
{
    char text[INET6_ADDRSTRLEN];
    const char *ok = NULL;

    if (cap > 0)
        buf[0] = '\0';
    if (addr->family == PD_ADDR_V4)
        ok = inet_ntop(AF_INET, addr->bytes, text, sizeof text);
    else if (addr->family == PD_ADDR_V6)
        ok = inet_ntop(AF_INET6, addr->bytes, text, sizeof text);
    if (ok == NULL)
        return 0;
    size_t len = strlen(text);
    if (len + 1 > cap)
        return 0;
    memcpy(buf, text, len + 1);
    return len;
}

size_t
pd_cidr_format(const struct pd_cidr *cidr, char *buf, size_t cap)
{
    char text[INET6_ADDRSTRLEN];
    if (pd_addr_format(&cidr->addr, text, sizeof text) == 0) {
        if (cap > 0)
            buf[0] = '\0';
        return 0;
    }
    int written = snprintf(buf, cap, "%s/%u", text, cidr->prefix);
    if (written < 0 || (size_t) written >= cap) {
        if (cap > 0)
            buf[0] = '\0';
        return 0;
    }
    return (size_t) written;
}

enum pd_netaddr_status
pd_addr_network_key(const char *text, size_t len, unsigned v4_prefix,
                    unsigned v6_prefix, char *buf, size_t cap)
{
    struct pd_addr addr;
    struct pd_cidr network;

    if (cap > 0)
        buf[0] = '\0';
    enum pd_netaddr_status status = pd_addr_parse(text, len, &addr);
    if (status != PD_NETADDR_OK)
        return status;
    pd_addr_mask(&addr, addr.family == PD_ADDR_V4 ? v4_prefix : v6_prefix, &network);
    if (pd_cidr_format(&network, buf, cap) == 0)
        return PD_NETADDR_TOO_LONG;
    return PD_NETADDR_OK;
}
