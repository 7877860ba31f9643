# fuzz/local.mk - the libFuzzer targets: the one list to edit.
#
# A target NAME is fuzz/fuzz_NAME.c (defining LLVMFuzzerTestOneInput), its
# seed corpus fuzz/corpus/NAME/, an optional dictionary fuzz/NAME.dict, and
# lines here: NAME in FUZZ_TARGETS, and in FUZZ_SRCS_NAME the library
# sources it links (compiled once each with clang and the sanitizers,
# shared between targets, and linked from an archive: only what is used
# is linked, but what that drags in must be listed too).  Every target
# links FUZZ_LIBS, and FUZZ_LIBS_NAME when set.  `make fuzz
# FUZZ_SECONDS=N` builds and runs them all with fuzz/fuzz.mk (GNU make)
# and fuzz/run.sh, apart from the gcc build.  See fuzz/README.md.

# postage's own Argon2id (lib/argon2id.c's third backend), its
# fill-block kernels and its Blake2b; fuzz.mk gives each instruction-set file its flags.
FUZZ_ARGON2 = lib/argon2id_core.c simd/argon2_kernels.c simd/argon2_portable.c \
	simd/argon2_avx2.c simd/argon2_avx512.c simd/argon2_neon.c simd/cpu_features.c \
	simd/blake2b_portable.c simd/blake2b_kernels.c simd/blake2b_avx2.c

# The core stamp code: grammar, dates, matching, Argon2id, checking,
# header scanning, and the double-spend store checking links against.
FUZZ_CORE = lib/status.c lib/clock.c lib/stamp.c lib/match.c \
	lib/argon2id_params.c lib/argon2id.c $(FUZZ_ARGON2) \
	verify/verify.c verify/headers.c verify/store.c verify/store_lmdb.c \
	verify/store_redis.c kv/lmdb_grow.c kv/lmdb_guard.c kv/lmdb_env.c \
	kv/store_spec.c kv/redis_spec.c kv/redis_conn.c

FUZZ_TARGETS = stamp verify_headers rfc5322 policy_request dns config \
	sendmail_headers milter_data milter_conn price_record
FUZZ_SRCS_stamp = $(FUZZ_CORE)
FUZZ_SRCS_verify_headers = $(FUZZ_CORE)
FUZZ_SRCS_rfc5322 = util/rfc5322.c
FUZZ_SRCS_policy_request = policy/frontends/request.c policy/checks/verdict.c
# The DNS wire format alone: the query, the answer's parse and packing.
FUZZ_SRCS_dns = policy/base/dns_wire.c
# The price parameters are checked by policy/engine/build.c, where every
# setting becomes a module's parameter: it links the modules it configures.
FUZZ_SRCS_config = policy/engine/config_load.c policy/engine/settings.c policy/base/listen.c \
	policy/engine/build.c policy/engine/argon2id_pool.c policy/checks/access.c \
	policy/checks/verdict.c policy/checks/greylist.c policy/checks/quota.c policy/checks/spf.c \
	policy/base/dns.c policy/base/dns_wire.c policy/helo/helo_syntax.c policy/helo/helo_config.c \
	policy/helo/helo_check.c policy/helo/helo_decide.c policy/helo/helo_track.c policy/frontends/request.c \
	policy/checks/reputation.c policy/base/netaddr.c policy/state/state.c policy/state/state_lmdb.c \
	policy/state/state_redis.c policy/state/state_redis_update.c kv/lmdb_grow.c \
	kv/lmdb_guard.c kv/lmdb_env.c kv/store_spec.c kv/redis_spec.c kv/redis_conn.c \
	lib/clock.c lib/status.c lib/argon2id_params.c lib/argon2id.c policy/base/metrics.c $(FUZZ_ARGON2)
# postage-sendmail's header splitter and editor.
FUZZ_SRCS_sendmail_headers = sendmail/sendmail_headers.c util/rfc5322.c
# The milter's data paths without libmilter: envelope addresses, header
# bookkeeping, escaping.
FUZZ_SRCS_milter_data = policy/checks/address.c policy/base/escape.c policy/frontends/milter_headers.c
# postaged's own milter protocol: one MTA connection's packets.
FUZZ_SRCS_milter_conn = policy/frontends/milter_conn.c policy/frontends/milter_wire.c
# The published price's record and the address-to-domain step.
FUZZ_SRCS_price_record = policy/base/price_record.c policy/base/dns.c policy/base/dns_wire.c

FUZZ_SECONDS = 10
FUZZ_LIBS = $(POSTAGE_DEP_LIBS) $(RESOLV_LIBS) $(SPF2_LIBS)

# A sub-make with GNU make (fuzz/fuzz.mk, which includes this file for
# the lists above, so the libraries the lists name are passed down):
# automake never sees its pattern rules.  The objects
# and programs go to fuzz-build/ in the build tree.
fuzz:
	@if test -z "$(FUZZ_CC)"; then \
	  echo "make fuzz: configure found no clang with libFuzzer; on Debian:" \
	       "apt-get install clang libclang-rt-14-dev, then run ./configure again" >&2; \
	  exit 1; fi
	$(AM_V_at)$(MAKE) -f $(abs_top_srcdir)/fuzz/fuzz.mk \
	  top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	  FUZZ_CC='$(FUZZ_CC)' FUZZ_SECONDS='$(FUZZ_SECONDS)' FUZZ_TARGETS='$(FUZZ_TARGETS)' \
	  POSTAGE_DEP_LIBS='$(POSTAGE_DEP_LIBS)' RESOLV_LIBS='$(RESOLV_LIBS)' \
	  SPF2_LIBS='$(SPF2_LIBS)' \
	  CFLAGS_AVX2='$(CFLAGS_AVX2)' CFLAGS_AVX512='$(CFLAGS_AVX512)' CFLAGS_NEON='$(CFLAGS_NEON)' \
	  FUZZ_DEP_CFLAGS='$(CRYPTO_CFLAGS) $(SODIUM_CFLAGS) $(ARGON2_CFLAGS) $(LMDB_CFLAGS) $(HIREDIS_CFLAGS)' \
	  run

clean-local: clean-fuzz
clean-fuzz:
	-rm -rf fuzz-build

.PHONY: fuzz clean-fuzz
# The whole folder: a new target, corpus file or dictionary needs no line
# here.
EXTRA_DIST += fuzz
