# sendmail/local.mk - postage-sendmail: a drop-in sendmail that stamps every
# recipient, with its argument, config, spool and RFC 5322 header parsing.
# Those pieces are one convenience library, built once and linked by the
# program and by its unit tests (tests/check_sendmail, tests/check_rfc5322).
noinst_LIBRARIES += sendmail/libsendmail.a
sendmail_libsendmail_a_SOURCES = \
	sendmail/sendmail_args.c sendmail/sendmail_args.h \
	sendmail/sendmail_conf.c sendmail/sendmail_conf.h \
	sendmail/sendmail_spool.c sendmail/sendmail_spool.h \
	sendmail/sendmail_headers.c sendmail/sendmail_headers.h
sendmail_libsendmail_a_CFLAGS = $(AM_CFLAGS)

sbin_PROGRAMS += postage-sendmail
# sendmail_price.c reads the recipients' published prices through the
# resolver of policy/base/libpricedns.la; it stays out of libsendmail.a so
# that the unit tests of the rest need no resolver.
postage_sendmail_SOURCES = sendmail/postage-sendmail.c \
	sendmail/sendmail_price.c sendmail/sendmail_price.h
postage_sendmail_LDADD = sendmail/libsendmail.a util/librfc5322.la policy/base/libpricedns.la \
	mint/libcalibration.a libpostage.la libcli.a $(LIBM)
dist_man_MANS += man/postage-sendmail.8
