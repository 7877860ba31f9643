# policy/checks/spf.mk - postaged's DNS resolver and SPF checks (libspf2 over
# our resolver), and their test against a local dnsmasq.  Included after
# policy/local.mk and tests/local.mk: it appends to their variables.
policy_libpolicy_la_SOURCES += \
	policy/base/dns.h policy/base/dns.c \
	policy/base/dns_wire.h policy/base/dns_wire.c \
	policy/checks/spf.h policy/checks/spf.c
policy_libpolicy_la_LIBADD += $(SPF2_LIBS) $(RESOLV_LIBS)

# The test driver (no Check needed) and the test against dnsmasq.
check_PROGRAMS += tests/spf_probe
tests_spf_probe_SOURCES = tests/spf_probe.c
tests_spf_probe_LDADD = policy/libpolicy.la libpostage_internal.la \
	$(POSTAGE_DEP_LIBS) $(PTHREAD_LIBS)
TESTS += tests/spf_dns.sh
EXTRA_DIST += tests/dns_harness.sh tests/spf_dns.sh
