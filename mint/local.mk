# mint/local.mk - the minting engine and postage-mint.
libpostage_internal_la_SOURCES += mint/mint.c mint/mint_layout.h mint/mint_batch.c mint/mint_batch.h \
	mint/kernel_info.c mint/rate.c \
	mint/mint_argon2id.c mint/mint_argon2id.h mint/mint_crew.c mint/mint_crew.h

bin_PROGRAMS += postage-mint
# auto_bits.c: -b auto reads the published price through the resolver of
# policy/base/libpricedns.la (not the rest of postaged).
postage_mint_SOURCES = mint/postage-mint.c mint/speed_report.c mint/speed_report.h \
	mint/auto_bits.c mint/auto_bits.h
postage_mint_LDADD = mint/libcalibration.a policy/base/libpricedns.la libpostage.la libcli.a $(LIBM)

# The device profile (--calibrate, --budget), shared by postage-mint and
# postage-sendmail's time_budget: built once, linked by both.  Not part of
# libpostage: it reads and writes a file.
noinst_LIBRARIES += mint/libcalibration.a
mint_libcalibration_a_SOURCES = mint/calibration.c mint/calibration.h
mint_libcalibration_a_CFLAGS = $(AM_CFLAGS)
