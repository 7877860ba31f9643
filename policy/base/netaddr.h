/*
 * netaddr.h - IPv4 and IPv6 addresses and CIDR prefixes as postaged needs
 * them: parsing what Postfix sends in client_address and what an
 * administrator writes in a rule, matching one against the other, and
 * masking an address to the network a greylisting key is built from.
 */
#ifndef POSTAGE_POLICY_NETADDR_H
#define POSTAGE_POLICY_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The default greylisting networks (postgrey --ipv4cidr / --ipv6cidr). */
#define PD_NETADDR_GREY_V4_PREFIX 24
#define PD_NETADDR_GREY_V6_PREFIX 64

/* Longest text accepted as an address or a CIDR; also enough room for
 * pd_cidr_format() ("ffff:...:ffff/128" or an IPv4 form). */
#define PD_NETADDR_TEXT_MAX 64

enum pd_addr_family {
    PD_ADDR_NONE = 0,
    PD_ADDR_V4,
    PD_ADDR_V6
};

/*
 * An address in network byte order; IPv4 uses bytes[0..3].  An
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d) is stored as the IPv4 address
 * it carries: it is the same client, and a dual-stack listener reports
 * IPv4 peers that way.
 */
struct pd_addr {
    enum pd_addr_family family;
    uint8_t bytes[16];
};

/* A network: an address whose bits beyond `prefix` are zero. */
struct pd_cidr {
    struct pd_addr addr;
    unsigned prefix;   /* 0..32 for IPv4, 0..128 for IPv6 */
};

enum pd_netaddr_status {
    PD_NETADDR_OK = 0,
    PD_NETADDR_EMPTY,          /* no text at all                       */
    PD_NETADDR_TOO_LONG,       /* longer than PD_NETADDR_TEXT_MAX      */
    PD_NETADDR_BAD_ADDRESS,    /* not an IPv4 or IPv6 address         */
    PD_NETADDR_BAD_PREFIX,     /* "/" not followed by 0..32 or 0..128  */
    PD_NETADDR_HOST_BITS       /* bits set beyond the prefix           */
};

/* A short English description of a status, for error messages. */
const char *pd_netaddr_strerror(enum pd_netaddr_status status);

/*
 * Parse an address: text[0..len) (need not be NUL-terminated) in the
 * forms inet_pton(3) accepts, i.e. a dotted quad or an RFC 4291 IPv6
 * address without zone ("%eth0") and without brackets.
 */
enum pd_netaddr_status pd_addr_parse(const char *text, size_t len,
                                     struct pd_addr *out);

/* Accept "192.0.2.1/24" and keep the network 192.0.2.0/24, for lists
 * (e.g. postgrey's) whose authors were not strict about host bits. */
#define PD_CIDR_ALLOW_HOST_BITS 1u

/*
 * Parse "address/prefix" or a bare address (a /32 or /128).  Without
 * PD_CIDR_ALLOW_HOST_BITS, host bits set beyond the prefix are an error,
 * as in Postfix cidr tables, because "192.0.2.1/24" is usually a typo.
 * A mapped address ::ffff:a.b.c.d/n with n >= 96 is the IPv4 network
 * a.b.c.d/(n-96); with n < 96 it stays an IPv6 network.
 */
enum pd_netaddr_status pd_cidr_parse(const char *text, size_t len,
                                     unsigned flags, struct pd_cidr *out);

/* Does the network contain the address?  Never across families: ::/0
 * matches every IPv6 address and no IPv4 one. */
bool pd_cidr_match(const struct pd_cidr *cidr, const struct pd_addr *addr);

/* The network of `prefix` bits (clamped to the family's width) around
 * an address. */
void pd_addr_mask(const struct pd_addr *addr, unsigned prefix,
                  struct pd_cidr *out);

/*
 * Canonical text: "192.0.2.1", "2001:db8::1" (RFC 5952, lower case,
 * longest zero run compressed).  pd_cidr_format always adds the prefix:
 * "192.0.2.0/24", "2001:db8:1:2::/64".  Return the length, or 0 if cap is
 * too small (PD_NETADDR_TEXT_MAX always suffices) or the family is NONE.
 */
size_t pd_addr_format(const struct pd_addr *addr, char *buf, size_t cap);
size_t pd_cidr_format(const struct pd_cidr *cidr, char *buf, size_t cap);

/*
 * The greylisting network key of an address given as text, e.g.
 * "192.0.2.77" -> "192.0.2.0/24", "2001:db8:1:2:3::4" -> "2001:db8:1:2::/64",
 * with the prefix chosen by family.  Returns the status of parsing the
 * address, or PD_NETADDR_TOO_LONG if cap is too small for the key; buf is
 * "" unless it is PD_NETADDR_OK.
 */
enum pd_netaddr_status pd_addr_network_key(const char *text, size_t len,
                                           unsigned v4_prefix,
                                           unsigned v6_prefix,
                                           char *buf, size_t cap);

#endif
