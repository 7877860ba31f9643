# mint/local.mk - the minting engine and postage-mint.
libpostage_internal_la_SOURCES += mint/mint.c mint/kernel_info.c mint/rate.c

bin_PROGRAMS += postage-mint
postage_mint_SOURCES = mint/postage-mint.c mint/speed_report.c mint/speed_report.h
postage_mint_LDADD = libpostage.la libcli.a
