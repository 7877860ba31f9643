# verify/local.mk - checking stamps, the double-spend store, postage-verify.
libpostage_internal_la_SOURCES += verify/verify.c verify/headers.c \
	verify/store_backend.h verify/store.c verify/store_lmdb.h verify/store_lmdb.c $(REDIS_STORE_SRC)

bin_PROGRAMS += postage-verify
postage_verify_SOURCES = verify/postage-verify.c
postage_verify_LDADD = libpostage.la libcli.a
