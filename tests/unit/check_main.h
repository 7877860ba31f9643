/* check_main.h - the contract between a Check unit test and the one main()
 * they all share (tests/unit/check_main.c): each tests/unit/check_*.c
 * defines suite(), and is linked with check_main.c into its own program. */
#ifndef POSTAGE_TESTS_CHECK_MAIN_H
#define POSTAGE_TESTS_CHECK_MAIN_H

#include <check.h>

/* suite - build this program's test suite.  Called once, by main(), before
 * any test runs; it may read the environment (e.g. POSTAGE_TEST_REDIS) and
 * say on stderr what it will and will not test.  Returns the suite, which
 * main() hands to an SRunner (it takes ownership); never NULL. */
Suite *suite(void);

#endif
