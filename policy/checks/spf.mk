# policy/checks/spf.mk - the test of postaged's SPF checks against a local
# dnsmasq, and its driver.  (The resolver and the SPF module themselves are
# listed in policy/base/local.mk and policy/checks/local.mk.)  Included
# after tests/local.mk: it appends to its variables.  Only with SPF
# (configure --without-spf builds no SPF module to test).
if WITH_SPF
# The test driver (no Check needed) and the test against dnsmasq.
check_PROGRAMS += tests/spf_probe
tests_spf_probe_SOURCES = tests/spf_probe.c
tests_spf_probe_LDADD = policy/libpolicy.la libpostage_internal.la \
	$(POSTAGE_DEP_LIBS) $(PTHREAD_LIBS)
TESTS += tests/spf_dns.sh
endif
EXTRA_DIST += tests/dns_harness.sh tests/spf_dns.sh
