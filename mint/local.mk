# mint/local.mk - the minting engine and postage-mint.
libpostage_internal_la_SOURCES += mint/mint.c mint/kernel_info.c mint/rate.c \
	mint/mint_argon2id.c mint/mint_argon2id.h mint/mint_crew.c mint/mint_crew.h

bin_PROGRAMS += postage-mint
postage_mint_SOURCES = mint/postage-mint.c mint/speed_report.c mint/speed_report.h \
	mint/calibration.c mint/calibration.h
postage_mint_LDADD = libpostage.la libcli.a $(LIBM)

# postage-sendmail: a drop-in sendmail that stamps every recipient.
sbin_PROGRAMS += postage-sendmail
postage_sendmail_SOURCES = mint/postage-sendmail.c \
	mint/sendmail_args.c mint/sendmail_args.h \
	mint/sendmail_conf.c mint/sendmail_conf.h \
	mint/sendmail_spool.c mint/sendmail_spool.h \
	mint/sendmail_headers.c mint/sendmail_headers.h \
	mint/rfc5322.c mint/rfc5322.h \
	mint/calibration.c mint/calibration.h
postage_sendmail_LDADD = libpostage.la libcli.a $(LIBM)
dist_man_MANS += man/postage-sendmail.8
