/* tests/unit/test_wire.c — entry point of the src/wire test program: registers the
 * per-protocol suites (cksum, l2l3, tcp, pcap, robust) and runs them. Exit status is
 * non-zero when any assertion fails, so `make check` reports it. */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "wire_test.h"

uint8_t *wire_test_dup(const void *p, size_t len) {
    /* malloc(0) under ASan returns a zero-sized block: any read from it trips. */
    uint8_t *q = malloc(len);
    if (q == NULL && len != 0)
        abort();
    if (len)
        memcpy(q, p, len);
    return q;
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return CU_get_error();
    int (*const registrars[])(void) = {
        wire_register_cksum_suite, wire_register_l2l3_suite,   wire_register_tcp_suite,
        wire_register_pcap_suite,  wire_register_robust_suite,
    };
    for (size_t i = 0; i < sizeof(registrars) / sizeof(registrars[0]); i++) {
        if (registrars[i]() != CUE_SUCCESS) {
            CU_cleanup_registry();
            return 1;
        }
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failures ? 1 : 0;
}
