# policy/base/local.mk - the ground every room stands on: addresses and
# networks, the DNS resolver, listening sockets, logging and the escaping of
# untrusted text; the published price.
policy_libpolicy_la_SOURCES += \
	policy/base/netaddr.h policy/base/netaddr.c \
	policy/base/listen.h policy/base/listen.c \
	policy/base/log.h policy/base/log.c \
	policy/base/escape.h policy/base/escape.c
# Prometheus counters and their text format (served by metrics_http.c).
policy_libpolicy_la_SOURCES += policy/base/metrics.h policy/base/metrics.c

# The resolver and the published-price record (_postage.<domain>) form a
# library of their own: the sending programs (postage-sendmail,
# postage-mint -b auto) read the record without linking the rest of
# postaged.  libpolicy.la takes it whole (policy/local.mk).
noinst_LTLIBRARIES += policy/base/libpricedns.la
policy_base_libpricedns_la_SOURCES = \
	policy/base/dns.h policy/base/dns.c \
	policy/base/dns_wire.h policy/base/dns_wire.c \
	policy/base/price_record.h policy/base/price_record.c \
	policy/base/price_batch.h policy/base/price_batch.c
policy_base_libpricedns_la_CFLAGS = $(AM_CFLAGS)
policy_base_libpricedns_la_LIBADD = $(RESOLV_LIBS) $(PTHREAD_LIBS)
