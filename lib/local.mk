# lib/local.mk - libpostage's core: stamp grammar, clock, status codes,
# the Argon2id parameters and hash.
libpostage_internal_la_SOURCES += lib/status.c lib/clock.c lib/stamp.c lib/match.c \
	lib/argon2id_params.c lib/argon2id.c \
	lib/argon2id_core.h lib/argon2id_core.c
