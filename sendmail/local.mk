# sendmail/local.mk - postage-sendmail: a drop-in sendmail that stamps every
# recipient, with its argument, config, spool and RFC 5322 header parsing.
sbin_PROGRAMS += postage-sendmail
postage_sendmail_SOURCES = sendmail/postage-sendmail.c \
	sendmail/sendmail_args.c sendmail/sendmail_args.h \
	sendmail/sendmail_conf.c sendmail/sendmail_conf.h \
	sendmail/sendmail_spool.c sendmail/sendmail_spool.h \
	sendmail/sendmail_headers.c sendmail/sendmail_headers.h \
	sendmail/rfc5322.c sendmail/rfc5322.h \
	mint/calibration.c mint/calibration.h
postage_sendmail_LDADD = libpostage.la libcli.a $(LIBM)
dist_man_MANS += man/postage-sendmail.8
