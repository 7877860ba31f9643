# util/local.mk - small helpers the programs share, outside libpostage:
# command-line parsing, whole-file reads, the error-buffer convention,
# RFC 5322 parsing.
noinst_LIBRARIES += libcli.a
libcli_a_SOURCES = util/cli.c util/cli.h util/fileio.c util/fileio.h \
	util/cli_argon2.c util/cli_argon2.h
libcli_a_CFLAGS = $(AM_CFLAGS)
EXTRA_DIST += util/errbuf.h util/hex.h util/bytes.h

# RFC 5322 header and address parsing: postage-sendmail -t reads its
# recipients with it, and postaged's stamping milter finds the blind ones.
# A libtool convenience library, so that libpolicy.la can take it too.
noinst_LTLIBRARIES += util/librfc5322.la
util_librfc5322_la_SOURCES = util/rfc5322.c util/rfc5322.h
util_librfc5322_la_CFLAGS = $(AM_CFLAGS)
