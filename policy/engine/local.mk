# policy/engine/local.mk - the engine: building it from settings, deciding,
# postage, the settings table and config file, the Argon2id pool, the
# reputation writer.
policy_libpolicy_la_SOURCES += \
	policy/engine/settings.h policy/engine/settings.c \
	policy/engine/config_load.h policy/engine/config_load.c \
	policy/engine/engine.h policy/engine/postage.c \
	policy/engine/argon2id_pool.h policy/engine/argon2id_pool.c \
	policy/engine/rep_writer.h policy/engine/rep_writer.c
