# util/local.mk - small helpers the programs share, outside libpostage:
# command-line parsing, whole-file reads, the error-buffer convention.
noinst_LIBRARIES += libcli.a
libcli_a_SOURCES = util/cli.c util/cli.h util/fileio.c util/fileio.h
libcli_a_CFLAGS = $(AM_CFLAGS)
EXTRA_DIST += util/errbuf.h util/hex.h util/bytes.h
