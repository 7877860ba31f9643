/*
 * state_fixture.h - a fresh postaged state store per Check test, shared by
 * the state store's and the policy modules' tests.
 *
 * Each test gets a private temporary directory, made in setup and removed
 * (with everything in it) in teardown.  The store is LMDB in that
 * directory, unless the environment variable POSTAGE_TEST_REDIS holds a
 * Redis specification ("redis://127.0.0.1:6390/0", as tests/system/state_redis.sh
 * sets it): then the store is that Redis under a key prefix of the test's
 * own (any prefix= in the variable is replaced), so tests never see each
 * other's keys, and teardown deletes what the test left there.
 *
 * A test that depends on LMDB itself (its directory layout, what
 * pd_state_expire sweeps, its key digests) calls fixture_use_lmdb() first.
 */
#ifndef POSTAGE_TESTS_STATE_FIXTURE_H
#define POSTAGE_TESTS_STATE_FIXTURE_H

#include <stddef.h>

#include "policy/state/state.h"

extern char fixture_dir[4096];        /* the test's directory                  */
extern char fixture_spec[4200];       /* the store under test, for pd_state_open */
extern char fixture_lmdb_spec[4200];  /* "lmdb:DIR/db", whatever the backend   */

/* Make the directory and choose the store; `name` prefixes both (e.g. the
 * test program's name). */
void fixture_setup(const char *name);
void fixture_teardown(void);

/* This test needs LMDB: fixture_spec becomes fixture_lmdb_spec.  Call it
 * before opening anything. */
void fixture_use_lmdb(void);

/* Is fixture_spec a Redis specification? */
int fixture_is_redis(void);

/* A Redis specification like fixture_spec whose key prefix is the test's
 * followed by `extra` (percent-encoded as needed); its keys are deleted in
 * teardown too.  Only when fixture_is_redis(). */
void fixture_redis_spec(const char *extra, char *out, size_t outlen);

/* Open fixture_spec or fail the test. */
struct pd_state *fixture_open(unsigned flags);

#endif
