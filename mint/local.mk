# mint/local.mk - the minting engine and postage-mint.
libpostage_internal_la_SOURCES += mint/mint.c mint/kernel_info.c mint/rate.c \
	mint/mint_argon2id.c mint/mint_argon2id.h mint/mint_crew.c mint/mint_crew.h

bin_PROGRAMS += postage-mint
postage_mint_SOURCES = mint/postage-mint.c mint/speed_report.c mint/speed_report.h \
	mint/calibration.c mint/calibration.h
postage_mint_LDADD = libpostage.la libcli.a $(LIBM)
