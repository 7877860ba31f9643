# bench/local.mk - benchmarks (`make bench`: the cost report; `make bench-detail`);
# the report's quick mode runs in `make check` (tests/system/bench_report.sh).
noinst_PROGRAMS += bench/bench_kernels
bench_bench_kernels_SOURCES = bench/bench_kernels.c
bench_bench_kernels_LDADD = libpostage_internal.la $(POSTAGE_DEP_LIBS)

noinst_PROGRAMS += bench/bench_store
bench_bench_store_SOURCES = bench/bench_store.c
bench_bench_store_LDADD = libpostage_internal.la $(POSTAGE_DEP_LIBS)

noinst_PROGRAMS += bench/bench_spend
bench_bench_spend_SOURCES = bench/bench_spend.c
bench_bench_spend_CFLAGS = $(AM_CFLAGS) $(LMDB_CFLAGS)
bench_bench_spend_LDADD = libpostage_internal.la $(POSTAGE_DEP_LIBS)

# What one pwrite + fdatasync costs, the floor under every commit
# (bench/spend_group.sh).
noinst_PROGRAMS += bench/fsync_cost
bench_fsync_cost_SOURCES = bench/fsync_cost.c

noinst_PROGRAMS += bench/policy_load
bench_policy_load_SOURCES = bench/policy_load.c
bench_policy_load_LDADD = $(PTHREAD_LIBS)

EXTRA_DIST += bench/store_vs_hashcash.sh bench/kernels_vs_peers.sh bench/policy_vs_postgrey.sh \
	bench/store_backends.sh bench/spend_group.sh bench/milter_backends.sh bench/milter_socket.sh

# The cost report's helpers (bench/report.sh): mint cost curves, the
# verifier's cost curve, and the economics table from postaged's price
# model (policy/libpolicy.la: its own code, not a copy).
noinst_PROGRAMS += bench/mint_curve bench/verify_curve bench/economics
bench_mint_curve_SOURCES = bench/mint_curve.c
bench_mint_curve_LDADD = libpostage_internal.la $(POSTAGE_DEP_LIBS) $(LIBM)
bench_verify_curve_SOURCES = bench/verify_curve.c
bench_verify_curve_CFLAGS = $(AM_CFLAGS) $(SODIUM_CFLAGS) $(LMDB_CFLAGS)
bench_verify_curve_LDADD = libpostage_internal.la $(POSTAGE_DEP_LIBS)
bench_economics_SOURCES = bench/economics.c
bench_economics_LDADD = policy/libpolicy.la libpostage_internal.la $(POSTAGE_DEP_LIBS) $(LIBM)
# Memory-hard stamps: Argon2id rates by backend, real mints and the
# verifier's cost per stamp (the report's argon2id section).
noinst_PROGRAMS += bench/argon2id_curve
bench_argon2id_curve_SOURCES = bench/argon2id_curve.c
bench_argon2id_curve_LDADD = libpostage_internal.la $(POSTAGE_DEP_LIBS) $(LIBM)
# postage's own Argon2id kernel by kernel, huge pages and prefetching on
# and off, beside both libraries and a copy's bandwidth (issue 21).
noinst_PROGRAMS += bench/argon2_kernels
bench_argon2_kernels_SOURCES = bench/argon2_kernels.c bench/argon2_bench.h
bench_argon2_kernels_LDADD = libpostage_internal.la $(POSTAGE_DEP_LIBS)
# Where one Argon2id hash's time goes at 64 MiB, beside the same loop
# without its memory or its arithmetic, and two hashes at once (the
# report's "why not the copy limit").
noinst_PROGRAMS += bench/argon2_floor
bench_argon2_floor_SOURCES = bench/argon2_floor.c bench/argon2_bench.h
bench_argon2_floor_LDADD = libpostage_internal.la $(POSTAGE_DEP_LIBS)
# Batch minting on 1 and all threads, beside the per-stamp path (the
# report's mint section).
noinst_PROGRAMS += bench/mint_batch
bench_mint_batch_SOURCES = bench/mint_batch.c
bench_mint_batch_CFLAGS = $(AM_CFLAGS) $(SODIUM_CFLAGS)
bench_mint_batch_LDADD = libpostage_internal.la $(POSTAGE_DEP_LIBS)
EXTRA_DIST += bench/report.sh bench/devices.tsv bench/argon2id_devices.tsv bench/postfix_milter.sh
EXTRA_DIST += bench/stamp_milter.sh

# A milter that does nothing (postaged's protocol code, empty callbacks):
# bench/postfix_milter.sh's floor under any milter's cost.
noinst_PROGRAMS += bench/null_milter
bench_null_milter_SOURCES = bench/null_milter.c
bench_null_milter_LDADD = policy/libpolicy.la libpostage_internal.la $(POSTAGE_DEP_LIBS) $(LIBM)

# `make bench`: the cost report (bench/report.sh; under 17 minutes):
# Markdown, PNG and SVG in bench/results/DATE-HOST/.  BENCH_REPORT_FLAGS
# passes options (e.g. --quick, --out DIR).  Not a test: the figures depend
# on the machine and are never asserted.
bench: all $(noinst_PROGRAMS)
	top_builddir=$(abs_top_builddir) top_srcdir=$(abs_top_srcdir) \
	  $(top_srcdir)/bench/report.sh $(BENCH_REPORT_FLAGS)

# `make bench-detail`: every detailed benchmark, in one run on this machine.
bench-detail: all $(noinst_PROGRAMS)
	@echo "== SHA-1 kernels, one core, beside OpenSSL and hashcash 1.22"
	top_builddir=$(abs_top_builddir) $(top_srcdir)/bench/kernels_vs_peers.sh
	@echo "== double-spend store, library path"
	bench/bench_store $(BENCH_STORE_FLAGS)
	@echo "== postage-verify --db against hashcash -cd, one process per check"
	top_builddir=$(abs_top_builddir) $(top_srcdir)/bench/store_vs_hashcash.sh $(BENCH_STORE_FLAGS)
	@echo "== policy protocol: postaged beside postgrey, greylisting over loopback"
	top_builddir=$(abs_top_builddir) $(top_srcdir)/bench/policy_vs_postgrey.sh
	@echo "== spends: library path and through postaged, LMDB beside Redis"
	top_builddir=$(abs_top_builddir) top_srcdir=$(abs_top_srcdir) $(top_srcdir)/bench/store_backends.sh

# `make bench-soak`: one postaged under 30 minutes (SOAK_SECONDS) of mixed
# policy, milter and spend traffic with hostile connections mixed in; its
# RSS and open fds sampled every 10 s must stay flat (bench/soak.sh says
# the tolerances).  Not in CI, not in make check.
bench-soak: all bench/policy_load$(EXEEXT) tests/system/milter_client$(EXEEXT) tests/system/pd_client$(EXEEXT)
	top_builddir=$(abs_top_builddir) top_srcdir=$(abs_top_srcdir) $(top_srcdir)/bench/soak.sh
EXTRA_DIST += bench/soak.sh
.PHONY: bench bench-detail bench-soak
