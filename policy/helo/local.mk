# policy/helo/local.mk - the HELO/EHLO checks: the RFC 5321 grammar, their
# configuration, DNS decisions and tracking.
policy_libpolicy_la_SOURCES += \
	policy/helo/helo.h policy/helo/helo.c \
	policy/helo/helo_dns.h policy/helo/helo_dns.c
