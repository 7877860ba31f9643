/*
 * state_fixture.h - a fresh postaged state store per Check test: a private
 * temporary directory made in setup and removed (with everything in it)
 * in teardown, shared by the policy module tests.
 */
#ifndef POSTAGE_TESTS_STATE_FIXTURE_H
#define POSTAGE_TESTS_STATE_FIXTURE_H

#include "policy/state.h"

extern char fixture_dir[4096];    /* the test's directory             */
extern char fixture_spec[4200];   /* "lmdb:DIR/db", for pd_state_open */

/* Make the directory; `name` prefixes it (e.g. the test program's name). */
void fixture_setup(const char *name);
void fixture_teardown(void);

/* Open the fixture's store or fail the test. */
struct pd_state *fixture_open(unsigned flags);

#endif
