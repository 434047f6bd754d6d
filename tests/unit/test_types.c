/* tests/unit/test_types.c — the PDPIX types keep Demikernel's exact layouts, so a
 * program compiled against Demikernel's headers exchanges the same bytes with margay. */
#include <demi/types.h>
#include <stddef.h>

#include "cunit_main.h"

static void test_sizes(void) {
    CU_ASSERT_EQUAL(sizeof(demi_sgaseg_t), 12);
    CU_ASSERT_EQUAL(sizeof(demi_sgarray_t), 40);
    CU_ASSERT_EQUAL(sizeof(demi_accept_result_t), 20);
    CU_ASSERT_EQUAL(sizeof(demi_qresult_t), 64);
    CU_ASSERT_EQUAL(sizeof(struct demi_args), 20);
    CU_ASSERT_EQUAL(sizeof(demi_qtoken_t), 8);
    CU_ASSERT_EQUAL(sizeof(demi_opcode_t), 4);
}

static void test_sgarray_offsets(void) {
    CU_ASSERT_EQUAL(offsetof(demi_sgaseg_t, sgaseg_buf), 0);
    CU_ASSERT_EQUAL(offsetof(demi_sgaseg_t, sgaseg_len), 8);
    CU_ASSERT_EQUAL(offsetof(demi_sgarray_t, sga_buf), 0);
    CU_ASSERT_EQUAL(offsetof(demi_sgarray_t, sga_numsegs), 8);
    CU_ASSERT_EQUAL(offsetof(demi_sgarray_t, sga_segs), 12);
    CU_ASSERT_EQUAL(offsetof(demi_sgarray_t, sga_addr), 24);
}

static void test_qresult_offsets(void) {
    CU_ASSERT_EQUAL(offsetof(demi_accept_result_t, qd), 0);
    CU_ASSERT_EQUAL(offsetof(demi_accept_result_t, addr), 4);
    CU_ASSERT_EQUAL(offsetof(demi_qresult_t, qr_opcode), 0);
    CU_ASSERT_EQUAL(offsetof(demi_qresult_t, qr_qd), 4);
    CU_ASSERT_EQUAL(offsetof(demi_qresult_t, qr_qt), 8);
    CU_ASSERT_EQUAL(offsetof(demi_qresult_t, qr_ret), 16);
    CU_ASSERT_EQUAL(offsetof(demi_qresult_t, qr_value), 24);
    CU_ASSERT_EQUAL(offsetof(demi_qresult_t, qr_value.sga.sga_segs), 24 + 12);
    CU_ASSERT_EQUAL(offsetof(demi_qresult_t, qr_value.ares.addr), 24 + 4);
}

static void test_args_offsets(void) {
    CU_ASSERT_EQUAL(offsetof(struct demi_args, argc), 0);
    CU_ASSERT_EQUAL(offsetof(struct demi_args, argv), 4);
    CU_ASSERT_EQUAL(offsetof(struct demi_args, callback), 12);
}

static void test_opcode_values(void) {
    /* Demikernel's numbering: programs compare against these constants. */
    CU_ASSERT_EQUAL(DEMI_OPC_INVALID, 0);
    CU_ASSERT_EQUAL(DEMI_OPC_PUSH, 1);
    CU_ASSERT_EQUAL(DEMI_OPC_POP, 2);
    CU_ASSERT_EQUAL(DEMI_OPC_ACCEPT, 3);
    CU_ASSERT_EQUAL(DEMI_OPC_CONNECT, 4);
    CU_ASSERT_EQUAL(DEMI_OPC_CLOSE, 5);
    CU_ASSERT_EQUAL(DEMI_OPC_FAILED, 6);
    CU_ASSERT_EQUAL(DEMI_SGARRAY_MAXSIZE, 1);
}

int main(void) {
    static const struct mg_test_case cases[] = {
        {"sizes", test_sizes},
        {"sgarray offsets", test_sgarray_offsets},
        {"qresult offsets", test_qresult_offsets},
        {"demi_args offsets", test_args_offsets},
        {"opcode values", test_opcode_values},
        {NULL, NULL},
    };
    return mg_run_tests("types", cases);
}
