# policy/local.mk - postaged: the engine and its modules as one
# convenience library (so the unit tests can link it), and the daemon.
# verify/lmdb_grow.c and verify/redis_conn.c are compiled in here too:
# postaged links the installed libpostage, which exports only postage_*
# symbols.  The state store is state.c (the handle and the choice of
# backend) over state_lmdb.c and state_redis.c.
noinst_LTLIBRARIES += policy/libpolicy.la
policy_libpolicy_la_SOURCES = \
	policy/verdict.h policy/verdict.c \
	policy/request.h policy/request.c \
	policy/netaddr.h policy/netaddr.c \
	policy/access.h policy/access.c \
	policy/state.h policy/state_backend.h policy/state.c \
	policy/state_lmdb.c policy/state_redis.c \
	policy/greylist.h policy/greylist.c \
	policy/quota.h policy/quota.c \
	policy/settings.h policy/settings.c \
	policy/config_load.h policy/config_load.c \
	policy/engine.h policy/engine.c policy/argon2id_pool.h policy/argon2id_pool.c \
	policy/reputation.h policy/reputation.c \
	policy/rep_writer.h policy/rep_writer.c \
	policy/log.h policy/log.c \
	policy/escape.h policy/escape.c \
	policy/warn_limit.h policy/warn_limit.c \
	policy/address.h policy/address.c \
	policy/milter_headers.h policy/milter_headers.c \
	policy/listen.h policy/listen.c \
	policy/helo.h policy/helo.c \
	policy/helo_dns.h policy/helo_dns.c \
	policy/milter_sessions.h policy/milter_sessions.c \
	verify/lmdb_grow.h verify/lmdb_grow.c verify/lmdb_guard.h verify/lmdb_guard.c \
	verify/redis_conn.h verify/redis_conn.c
policy_libpolicy_la_CFLAGS = $(AM_CFLAGS) $(LMDB_CFLAGS) $(SODIUM_CFLAGS) $(HIREDIS_CFLAGS)
policy_libpolicy_la_LIBADD = $(LMDB_LIBS) $(SODIUM_LIBS) $(HIREDIS_LIBS) $(PTHREAD_LIBS) $(LIBM)

sbin_PROGRAMS += postaged
postaged_SOURCES = policy/postaged.c \
	policy/policy_server.h policy/policy_server.c \
	policy/milter.h policy/milter.c
postaged_LDADD = policy/libpolicy.la libpostage.la $(MILTER_LIBS) $(POSTAGE_DEP_LIBS)
dist_man_MANS += man/postaged.8 man/postaged.conf.5

# The admin command over the reputation table of postaged's store (it
# needs no milter library: it never talks to the MTA).
sbin_PROGRAMS += postage-reputation
postage_reputation_SOURCES = policy/postage-reputation.c
postage_reputation_LDADD = policy/libpolicy.la libpostage.la libcli.a $(POSTAGE_DEP_LIBS)
dist_man_MANS += man/postage-reputation.8
