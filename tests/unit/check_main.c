/* check_main.c - the main() of every Check unit test (tests/unit/check_*.c):
 * run the program's suite() and exit 0 only if every test passed, which is
 * what the automake test driver reads.
 *
 * The output mode is CK_ENV: CK_VERBOSITY=verbose lists each test, and
 * with CK_VERBOSITY unset Check prints as CK_NORMAL (one summary line and
 * the failures).  CK_FORK, CK_RUN_SUITE, CK_RUN_CASE and CK_DEFAULT_TIMEOUT
 * are read by Check itself, as for any srunner. */
#include <stdlib.h>

#include <check.h>

#include "tests/unit/check_main.h"

int
main(void)
{
    SRunner *runner = srunner_create(suite());
    srunner_run_all(runner, CK_ENV);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
