# policy/local.mk - postaged: the engine and its modules as one
# convenience library (so the unit tests can link it), and the daemon.
# kv/lmdb_grow.c and kv/redis_conn.c are compiled in here too:
# postaged links the installed libpostage, which exports only postage_*
# symbols.  The state store is state.c (the handle and the choice of
# backend) over state_lmdb.c and state_redis.c.
noinst_LTLIBRARIES += policy/libpolicy.la
policy_libpolicy_la_SOURCES = \
	policy/checks/verdict.h policy/checks/verdict.c \
	policy/frontends/request.h policy/frontends/request.c \
	policy/base/netaddr.h policy/base/netaddr.c \
	policy/checks/access.h policy/checks/access.c \
	policy/state/state.h policy/state/state_backend.h policy/state/state.c \
	policy/state/state_lmdb.c policy/state/state_redis.c \
	policy/checks/greylist.h policy/checks/greylist.c \
	policy/checks/quota.h policy/checks/quota.c \
	policy/engine/settings.h policy/engine/settings.c \
	policy/engine/config_load.h policy/engine/config_load.c \
	policy/engine/engine.h policy/engine/engine.c policy/engine/argon2id_pool.h policy/engine/argon2id_pool.c \
	policy/checks/reputation.h policy/checks/reputation.c \
	policy/engine/rep_writer.h policy/engine/rep_writer.c \
	policy/base/log.h policy/base/log.c \
	policy/base/escape.h policy/base/escape.c \
	policy/frontends/warn_limit.h policy/frontends/warn_limit.c \
	policy/checks/address.h policy/checks/address.c \
	policy/frontends/milter_headers.h policy/frontends/milter_headers.c \
	policy/base/listen.h policy/base/listen.c \
	policy/helo/helo.h policy/helo/helo.c \
	policy/helo/helo_dns.h policy/helo/helo_dns.c \
	policy/frontends/milter_sessions.h policy/frontends/milter_sessions.c \
	kv/lmdb_grow.h kv/lmdb_grow.c kv/lmdb_guard.h kv/lmdb_guard.c \
	kv/redis_conn.h kv/redis_conn.c
policy_libpolicy_la_CFLAGS = $(AM_CFLAGS) $(LMDB_CFLAGS) $(SODIUM_CFLAGS) $(HIREDIS_CFLAGS)
policy_libpolicy_la_LIBADD = $(LMDB_LIBS) $(SODIUM_LIBS) $(HIREDIS_LIBS) $(PTHREAD_LIBS) $(LIBM)

sbin_PROGRAMS += postaged
postaged_SOURCES = policy/postaged.c \
	policy/frontends/policy_server.h policy/frontends/policy_server.c \
	policy/frontends/milter.h policy/frontends/milter.c
postaged_LDADD = policy/libpolicy.la libpostage.la $(MILTER_LIBS) $(POSTAGE_DEP_LIBS)
dist_man_MANS += man/postaged.8 man/postaged.conf.5

# The admin command over the reputation table of postaged's store (it
# needs no milter library: it never talks to the MTA).
sbin_PROGRAMS += postage-reputation
postage_reputation_SOURCES = policy/postage-reputation.c
postage_reputation_LDADD = policy/libpolicy.la libpostage.la libcli.a $(POSTAGE_DEP_LIBS)
dist_man_MANS += man/postage-reputation.8
