# policy/helo/local.mk - the HELO/EHLO checks: the RFC 5321 grammar, their
# configuration, DNS decisions, tracking, the whole check, and the resolver
# callbacks over postaged's DNS resolver.
policy_libpolicy_la_SOURCES += \
	policy/helo/helo.h policy/helo/helo_internal.h \
	policy/helo/helo_syntax.c policy/helo/helo_config.c \
	policy/helo/helo_decide.c policy/helo/helo_track.c \
	policy/helo/helo_check.c \
	policy/helo/helo_dns.h policy/helo/helo_dns.c
