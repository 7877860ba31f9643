# kv/local.mk - the storage plumbing under both stores: the LMDB
# environment (open, guard, grow) and the Redis connection.
#
# One convenience library, compiled once, taken by both libraries that
# need it: libpostage_internal (the double-spend store, so libpostage)
# and policy/libpolicy (postaged's state store).  postaged links the
# installed libpostage, which exports only postage_* symbols, so libpolicy
# must carry its own copy of these objects; a program that links both
# convenience libraries (the unit tests) takes each object once, from
# whichever archive the linker reads first.
noinst_LTLIBRARIES += kv/libkv.la
kv_libkv_la_SOURCES = \
	kv/lmdb_grow.h kv/lmdb_grow.c kv/lmdb_guard.h kv/lmdb_guard.c \
	kv/lmdb_env.h kv/lmdb_env.c \
	kv/store_spec.h kv/store_spec.c kv/redis_spec.h kv/redis_conn.h $(REDIS_CONN_SRC)
kv_libkv_la_CFLAGS = $(AM_CFLAGS) $(LMDB_CFLAGS) $(SODIUM_CFLAGS) $(HIREDIS_CFLAGS)
libpostage_internal_la_LIBADD += kv/libkv.la
