# policy/base/local.mk - the ground every room stands on: addresses and
# networks, the DNS resolver, listening sockets, logging and the escaping of
# untrusted text.
policy_libpolicy_la_SOURCES += \
	policy/base/netaddr.h policy/base/netaddr.c \
	policy/base/listen.h policy/base/listen.c \
	policy/base/log.h policy/base/log.c \
	policy/base/escape.h policy/base/escape.c \
	policy/base/dns.h policy/base/dns.c \
	policy/base/dns_wire.h policy/base/dns_wire.c
