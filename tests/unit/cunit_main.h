/* tests/unit/cunit_main.h — the main() every core test program shares: one suite, a
 * table of tests, the basic runner, and an exit status that make check understands. */
#ifndef MARGAY_TESTS_CUNIT_MAIN_H
#define MARGAY_TESTS_CUNIT_MAIN_H

#include <CUnit/Basic.h>
#include <stdio.h>

struct mg_test_case {
    const char *name;
    void (*fn)(void);
};

static inline int mg_run_tests(const char *suite_name, const struct mg_test_case *cases) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 99;
    CU_pSuite suite = CU_add_suite(suite_name, NULL, NULL);
    if (!suite)
        goto error;
    for (const struct mg_test_case *c = cases; c->name; c++)
        if (!CU_add_test(suite, c->name, c->fn))
            goto error;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    unsigned run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    if (run == 0) {
        fprintf(stderr, "%s: no test ran\n", suite_name);
        return 1;
    }
    return failed ? 1 : 0;
error:
    fprintf(stderr, "%s: CUnit setup failed: %s\n", suite_name, CU_get_error_msg());
    CU_cleanup_registry();
    return 99;
}

#endif /* MARGAY_TESTS_CUNIT_MAIN_H */
