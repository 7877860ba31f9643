# policy/local.mk - postaged: the engine and its modules as one
# convenience library (so the unit tests can link it), and the daemon.
# It takes the storage plumbing, kv/libkv.la, itself (see kv/local.mk):
# postaged links the installed libpostage, which exports only postage_*
# symbols.  The state store is state.c (the handle and the choice of
# backend) over state_lmdb.c and state_redis.c.  Each room lists its own
# files in its local.mk.
noinst_LTLIBRARIES += policy/libpolicy.la
policy_libpolicy_la_SOURCES =
include policy/base/local.mk
include policy/state/local.mk
include policy/checks/local.mk
include policy/helo/local.mk
include policy/engine/local.mk
include policy/frontends/local.mk
policy_libpolicy_la_CFLAGS = $(AM_CFLAGS) $(LMDB_CFLAGS) $(SODIUM_CFLAGS) $(HIREDIS_CFLAGS) $(MICROHTTPD_CFLAGS)
policy_libpolicy_la_LIBADD = policy/base/libpricedns.la util/librfc5322.la kv/libkv.la $(LMDB_LIBS) $(SODIUM_LIBS) $(HIREDIS_LIBS) $(SPF2_LIBS) $(MICROHTTPD_LIBS) \
	$(RESOLV_LIBS) $(PTHREAD_LIBS) $(LIBM)

sbin_PROGRAMS += postaged
postaged_SOURCES = policy/postaged.c \
	policy/frontends/policy_server.h policy/frontends/policy_server.c \
	policy/frontends/milter.h $(MILTER_SRC)
postaged_LDADD = policy/libpolicy.la libpostage.la $(POSTAGE_DEP_LIBS)
dist_man_MANS += man/postaged.8 man/postaged.conf.5

# The admin command over the reputation table of postaged's store (it
# never talks to the MTA).
sbin_PROGRAMS += postage-reputation
postage_reputation_SOURCES = policy/postage-reputation.c
postage_reputation_LDADD = policy/libpolicy.la libpostage.la libcli.a $(POSTAGE_DEP_LIBS)
dist_man_MANS += man/postage-reputation.8
