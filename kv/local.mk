# kv/local.mk - the storage plumbing under both stores: the LMDB
# environment (open, guard, grow) and the Redis connection.
libpostage_internal_la_SOURCES += \
	kv/lmdb_grow.h kv/lmdb_grow.c kv/lmdb_guard.h kv/lmdb_guard.c \
	kv/redis_conn.h kv/redis_conn.c
