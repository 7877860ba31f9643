# lib/local.mk - the shared core: stamp grammar, clock, status codes, and
# (outside libpostage) the small helpers the command-line programs share.
libpostage_internal_la_SOURCES += lib/status.c lib/clock.c lib/stamp.c lib/match.c \
	lib/argon2id_params.c lib/argon2id.c

noinst_LIBRARIES += libcli.a
libcli_a_SOURCES = lib/cli.c lib/cli.h lib/fileio.c lib/fileio.h
libcli_a_CFLAGS = $(AM_CFLAGS)
EXTRA_DIST += lib/errbuf.h
