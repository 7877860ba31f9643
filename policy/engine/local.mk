# policy/engine/local.mk - the engine: building it from settings, deciding,
# what a message records, postage at end of headers, the reload slot, the
# settings table and config file, the Argon2id pool, the reputation
# writer, the record of the published price.
policy_libpolicy_la_SOURCES += \
	policy/engine/settings.h policy/engine/settings.c \
	policy/engine/config_load.h policy/engine/config_load.c \
	policy/engine/engine.h policy/engine/engine_internal.h \
	policy/engine/build.c policy/engine/decide.c policy/engine/record.c \
	policy/engine/postage.c policy/engine/slot.c \
	policy/engine/argon2id_pool.h policy/engine/argon2id_pool.c \
	policy/engine/rep_writer.h policy/engine/rep_writer.c \
	policy/engine/published.h policy/engine/published.c
