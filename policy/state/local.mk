# policy/state/local.mk - the daemon's read-modify-write state store: the
# handle and the choice of backend (state.c) over LMDB and Redis.
policy_libpolicy_la_SOURCES += \
	policy/state/state.h policy/state/state_backend.h policy/state/state.c \
	policy/state/state_lmdb.c policy/state/state_redis.h $(REDIS_STATE_SRC)
