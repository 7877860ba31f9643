# tests/local.mk - `make check`: Check unit tests, then integration tests
# against the real hashcash 1.22 and the installed programs.
TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CRYPTO_CFLAGS) $(SODIUM_CFLAGS) $(LMDB_CFLAGS) \
	$(HIREDIS_CFLAGS)
TEST_LIBS = libpostage_internal.la $(CHECK_LIBS) $(POSTAGE_DEP_LIBS)
AM_TESTS_ENVIRONMENT = \
	top_srcdir='$(top_srcdir)'; top_builddir='$(top_builddir)'; \
	HASHCASH='$(HASHCASH)'; export top_srcdir top_builddir HASHCASH;

if HAVE_CHECK
check_PROGRAMS += tests/check_kernels
tests_check_kernels_SOURCES = tests/check_kernels.c
tests_check_kernels_CFLAGS = $(TEST_CFLAGS)
tests_check_kernels_LDADD = $(TEST_LIBS)
TESTS += tests/check_kernels
endif

if WITH_REDIS
if HAVE_CHECK
check_PROGRAMS += tests/check_store
tests_check_store_SOURCES = tests/check_store.c
tests_check_store_CFLAGS = $(TEST_CFLAGS)
tests_check_store_LDADD = $(TEST_LIBS)
TESTS += tests/check_store
endif
endif

# The double-spend store on a private redis-server (tests/redis_harness.sh):
# check_store's conformance suite with POSTAGE_TEST_REDIS set, postage-verify
# --db redis://..., and store_probe, a long-lived handle (public API only)
# driven through Redis outages.  Skipped without redis-server.
if WITH_REDIS
check_PROGRAMS += tests/store_probe
tests_store_probe_SOURCES = tests/store_probe.c
tests_store_probe_LDADD = libpostage.la
TESTS += tests/store_redis.sh
endif
EXTRA_DIST += tests/store_redis.sh tests/redis_harness.sh

if HAVE_CHECK
check_PROGRAMS += tests/check_core tests/check_mint
tests_check_core_SOURCES = tests/check_core.c
tests_check_core_CFLAGS = $(TEST_CFLAGS)
tests_check_core_LDADD = $(TEST_LIBS)
tests_check_mint_SOURCES = tests/check_mint.c
tests_check_mint_CFLAGS = $(TEST_CFLAGS)
tests_check_mint_LDADD = $(TEST_LIBS)
TESTS += tests/check_core tests/check_mint
endif

# Memory-hard stamps (docs/argon2id.md, whose test vectors it reads); it
# also calls libargon2 directly for RFC 9106's vector.
if HAVE_CHECK
check_PROGRAMS += tests/check_argon2id
tests_check_argon2id_SOURCES = tests/check_argon2id.c
tests_check_argon2id_CFLAGS = $(TEST_CFLAGS) $(ARGON2_CFLAGS)
tests_check_argon2id_LDADD = $(TEST_LIBS)
TESTS += tests/check_argon2id
endif

# The header and address parsing of postage-sendmail -t (sendmail/rfc5322.c,
# from sendmail/libsendmail.a: it is not part of libpostage).
if HAVE_CHECK
check_PROGRAMS += tests/check_rfc5322
tests_check_rfc5322_SOURCES = tests/check_rfc5322.c
tests_check_rfc5322_CFLAGS = $(TEST_CFLAGS)
tests_check_rfc5322_LDADD = sendmail/libsendmail.a $(CHECK_LIBS)
TESTS += tests/check_rfc5322
endif

if HAVE_CHECK
check_PROGRAMS += tests/check_sendmail
tests_check_sendmail_SOURCES = tests/check_sendmail.c
tests_check_sendmail_CFLAGS = $(TEST_CFLAGS)
tests_check_sendmail_LDADD = sendmail/libsendmail.a libcli.a $(CHECK_LIBS)
TESTS += tests/check_sendmail
endif

# Shell tests of the installed programs (they need no Check).
SHELL_TESTS = tests/cli_golden.sh tests/interop_hashcash.sh tests/concurrency.sh
TESTS += $(SHELL_TESTS)
EXTRA_DIST += tests/testlib.sh $(SHELL_TESTS)

# The aarch64 kernels, cross-built and run under qemu-user when the cross
# compiler and qemu are installed (setup.sh installs them).
TESTS += tests/aarch64_kernels.sh
EXTRA_DIST += tests/aarch64_kernels.sh tests/xkernels.c

# postaged's modules (Check) and the daemon over the policy protocol.
if HAVE_CHECK
check_PROGRAMS += tests/check_policy_proto tests/check_access tests/check_greylist \
	tests/check_quota
POLICY_TEST_LIBS = policy/libpolicy.la $(TEST_LIBS)
tests_check_policy_proto_SOURCES = tests/check_policy_proto.c
tests_check_policy_proto_CFLAGS = $(TEST_CFLAGS)
tests_check_policy_proto_LDADD = $(POLICY_TEST_LIBS)
tests_check_access_SOURCES = tests/check_access.c
tests_check_access_CFLAGS = $(TEST_CFLAGS)
tests_check_access_LDADD = $(POLICY_TEST_LIBS)
tests_check_greylist_SOURCES = tests/check_greylist.c tests/state_fixture.c tests/state_fixture.h
tests_check_greylist_CFLAGS = $(TEST_CFLAGS)
tests_check_greylist_LDADD = $(POLICY_TEST_LIBS)
tests_check_quota_SOURCES = tests/check_quota.c tests/state_fixture.c tests/state_fixture.h
tests_check_quota_CFLAGS = $(TEST_CFLAGS)
tests_check_quota_LDADD = $(POLICY_TEST_LIBS)
check_PROGRAMS += tests/check_helo
tests_check_helo_SOURCES = tests/check_helo.c tests/state_fixture.c tests/state_fixture.h
tests_check_helo_CFLAGS = $(TEST_CFLAGS)
tests_check_helo_LDADD = $(POLICY_TEST_LIBS)
TESTS += tests/check_helo
check_PROGRAMS += tests/check_reputation
tests_check_reputation_SOURCES = tests/check_reputation.c tests/state_fixture.c tests/state_fixture.h
tests_check_reputation_CFLAGS = $(TEST_CFLAGS)
tests_check_reputation_LDADD = $(POLICY_TEST_LIBS) $(LIBM)
TESTS += tests/check_reputation
TESTS += tests/check_policy_proto tests/check_access tests/check_greylist tests/check_quota
# The engine's tests use SPF and the default milter_listen.
if WITH_MILTER
if WITH_SPF
check_PROGRAMS += tests/check_engine
tests_check_engine_SOURCES = tests/check_engine.c
tests_check_engine_CFLAGS = $(TEST_CFLAGS)
tests_check_engine_LDADD = $(POLICY_TEST_LIBS)
TESTS += tests/check_engine
endif
endif
endif

# The milter's data paths as pure functions (issue 16): envelope
# addresses, the escaping of header values and log lines, our headers'
# incoming copies and the Message-ID.
if HAVE_CHECK
check_PROGRAMS += tests/check_milter_data
tests_check_milter_data_SOURCES = tests/check_milter_data.c
tests_check_milter_data_CFLAGS = $(TEST_CFLAGS)
tests_check_milter_data_LDADD = $(POLICY_TEST_LIBS)
TESTS += tests/check_milter_data
endif

# The policy server's per-client warning budget (issue 16, defect 10).
if HAVE_CHECK
check_PROGRAMS += tests/check_warn_limit
tests_check_warn_limit_SOURCES = tests/check_warn_limit.c
tests_check_warn_limit_CFLAGS = $(TEST_CFLAGS)
tests_check_warn_limit_LDADD = $(POLICY_TEST_LIBS)
TESTS += tests/check_warn_limit
endif

# The state store (policy/state/state.h): one conformance suite over every
# backend, LMDB always and Redis when POSTAGE_TEST_REDIS holds a
# specification.  state_redis.sh sets it against a private redis-server
# (tests/redis_harness.sh), runs the suite and the module tests there, and
# drives state_outage through a stop and restart of the server.
if WITH_REDIS
if HAVE_CHECK
check_PROGRAMS += tests/check_state tests/state_outage
tests_check_state_SOURCES = tests/check_state.c tests/state_fixture.c tests/state_fixture.h
tests_check_state_CFLAGS = $(TEST_CFLAGS)
tests_check_state_LDADD = $(POLICY_TEST_LIBS)
tests_state_outage_SOURCES = tests/state_outage.c
tests_state_outage_LDADD = policy/libpolicy.la libpostage_internal.la $(POSTAGE_DEP_LIBS)
TESTS += tests/check_state tests/state_redis.sh
EXTRA_DIST += tests/state_redis.sh
endif
endif
check_PROGRAMS += tests/pd_client
tests_pd_client_SOURCES = tests/pd_client.c
# A milter protocol (version 6) client of its own, no libmilter: drives
# postaged's milter as Postfix would, for tests and benchmarks.
check_PROGRAMS += tests/milter_client
tests_milter_client_SOURCES = tests/milter_client.c
if WITH_MILTER
TESTS += tests/milter_client.sh
endif
EXTRA_DIST += tests/milter_client.sh
# Hostile and unusual envelope addresses through the milter (issue 16):
# no raw control character in a header or log line, quoted local parts,
# source routes.
if WITH_MILTER
TESTS += tests/milter_hostile.sh
endif
EXTRA_DIST += tests/milter_hostile.sh
# A damaged, lost or replaced LMDB store (issue 16): postage-verify
# refuses it cleanly, postaged runs on with on_error for what needs it, at
# start too, and neither makes it anew (tests/store_faults.sh); a full disk and a
# read-only store (tests/store_diskfull.sh, root only: tmpfs mounts).
if WITH_MILTER
TESTS += tests/store_faults.sh
# A full disk under LMDB and under Redis.
if WITH_REDIS
TESTS += tests/store_diskfull.sh
endif
endif
EXTRA_DIST += tests/store_faults.sh tests/store_diskfull.sh
if WITH_MILTER
TESTS += tests/policy_daemon.sh
endif
if WITH_SPF
TESTS += tests/policy_spf.sh
endif
EXTRA_DIST += tests/policy_daemon.sh tests/policy_spf.sh
# The policy port under hostile clients (issue 16): idle connections shed
# to make room, warnings rate-limited per client.
TESTS += tests/policy_pressure.sh
EXTRA_DIST += tests/policy_pressure.sh tests/policy_pressure.py

# postage-reputation against a store seeded with known records (no Check
# needed: rep_seed writes them through the reputation module itself).
check_PROGRAMS += tests/rep_seed
tests_rep_seed_SOURCES = tests/rep_seed.c
tests_rep_seed_LDADD = policy/libpolicy.la libpostage_internal.la $(POSTAGE_DEP_LIBS)
if WITH_REDIS
TESTS += tests/reputation_admin.sh
endif
EXTRA_DIST += tests/reputation_admin.sh

# End to end behind a private Postfix instance (needs root, postfix, swaks;
# skipped where they are missing — setup.sh installs them).
TESTS += tests/postfix_harness_selftest.sh tests/harness_exit_status.sh
if WITH_MILTER
TESTS += tests/postfix_e2e.sh tests/postfix_sendmail_e2e.sh
# These price SPF-pass senders, or count SPF headers.
if WITH_SPF
TESTS += tests/postfix_spf_e2e.sh tests/postfix_postage_e2e.sh tests/postfix_argon2id_e2e.sh \
	tests/postfix_quote_e2e.sh tests/postfix_wirings_e2e.sh
endif
endif
EXTRA_DIST += tests/postfix_harness.sh tests/postaged_harness.sh tests/postfix_harness_selftest.sh \
	tests/postfix_e2e.sh \
	tests/postfix_spf_e2e.sh tests/postfix_postage_e2e.sh tests/postfix_sendmail_e2e.sh \
	tests/harness_exit_status.sh tests/postfix_argon2id_e2e.sh tests/postfix_quote_e2e.sh \
	tests/postfix_wirings_e2e.sh

# A quoted local part through a real Postfix and the milter (issue 16).
if WITH_MILTER
TESTS += tests/postfix_quoted_rcpt_e2e.sh
endif
EXTRA_DIST += tests/postfix_quoted_rcpt_e2e.sh

# postage-sendmail against a stand-in sendmail that fails on demand.
TESTS += tests/sendmail_faults.sh
EXTRA_DIST += tests/sendmail_faults.sh

# The device profile: postage-mint --calibrate, --budget and postage-sendmail's
# time_budget by the p95 rule.
TESTS += tests/mint_profile.sh
EXTRA_DIST += tests/mint_profile.sh

# The cost report (bench/report.sh, `make bench`) in its quick mode: its
# structure, never its figures.
if WITH_REDIS
TESTS += tests/bench_report.sh
endif
EXTRA_DIST += tests/bench_report.sh

# Several daemons on one Redis (two postaged processes: stamps, greylisting,
# quotas, an outage) and Redis Sentinel failover.  Skipped without
# redis-server / redis-sentinel.
# (Their daemons serve the milter too.)
if WITH_REDIS
if WITH_MILTER
TESTS += tests/redis_two_daemons.sh tests/redis_sentinel.sh
endif
endif
EXTRA_DIST += tests/redis_two_daemons.sh tests/redis_sentinel.sh

# Fault injection: SIGKILL of postaged and of postage-verify under load,
# spending from one LMDB store (no stamp pays twice); Redis killed and
# stopped in the middle of spends; a DNS server answering garbage,
# truncating or never answering.
if WITH_MILTER
TESTS += tests/fault_kill9.sh
endif
if WITH_SPF
TESTS += tests/fault_dns.sh
endif
if WITH_REDIS
if WITH_MILTER
TESTS += tests/fault_redis.sh
endif
endif
EXTRA_DIST += tests/fault_kill9.sh tests/fault_dns.sh tests/fake_dns.py tests/fault_redis.sh
