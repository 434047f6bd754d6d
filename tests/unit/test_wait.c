/* tests/unit/test_wait.c — demi_wait, demi_wait_any and demi_wait_next_n: timeouts
 * (zero polls once, short ones expire, NULL waits until completion), which op
 * wait_any reports, and that wait_next_n hands out results in completion order. Runs
 * on the pipe libOS; timeouts pass on a manual clock the libOS advances when idle,
 * and once on the real monotonic clock. */
#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "core/rt_internal.h"
#include "cunit_main.h"
#include "pipe_libos.h"

static struct mg_clock test_clock;
static const struct timespec zero_timeout = {0, 0};

static struct mg_rt *setup(void) {
    struct mg_rt *rt = pipe_rt_create_manual(&pipe_libos, NULL, &test_clock);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
    return rt;
}

static int open_queue(void) {
    int qd = -1;
    CU_ASSERT_EQUAL(demi_socket(&qd, AF_INET, SOCK_DGRAM, 0), 0);
    return qd;
}

static demi_qtoken_t push_byte(int qd, uint8_t value) {
    demi_sgarray_t sga = demi_sgaalloc(1);
    CU_ASSERT_EQUAL_FATAL(sga.sga_numsegs, 1);
    *(uint8_t *)sga.sga_segs[0].sgaseg_buf = value;
    demi_qtoken_t qt = 0;
    CU_ASSERT_EQUAL(demi_push(&qt, qd, &sga), 0);
    CU_ASSERT_EQUAL(demi_sgafree(&sga), 0);
    return qt;
}

static demi_qtoken_t start_pop(int qd) {
    demi_qtoken_t qt = 0;
    CU_ASSERT_EQUAL(demi_pop(&qt, qd), 0);
    return qt;
}

static void free_if_pop(demi_qresult_t *qr) {
    if (qr->qr_opcode == DEMI_OPC_POP)
        CU_ASSERT_EQUAL(demi_sgafree(&qr->qr_value.sga), 0);
}

static void test_zero_timeout_polls_once(void) {
    struct mg_rt *rt = setup();
    int qd = open_queue();
    demi_qtoken_t qt = start_pop(qd);
    uint64_t polls = pipe_poll_count(mg_rt_libos_state(rt));
    uint64_t t0 = mg_clock_now(&test_clock);
    demi_qresult_t qr;
    CU_ASSERT_EQUAL(demi_wait(&qr, qt, &zero_timeout), ETIMEDOUT);
    CU_ASSERT_EQUAL(pipe_poll_count(mg_rt_libos_state(rt)), polls + 1);
    CU_ASSERT_EQUAL(mg_clock_now(&test_clock), t0); /* poll was told not to block */
    /* The op is still pending and still waitable. */
    CU_ASSERT_EQUAL(rt->ops.pending_count, 1);
    /* A zero timeout also completes what one poll can. */
    demi_qtoken_t push_qt = push_byte(qd, 7);
    CU_ASSERT_EQUAL(demi_wait(&qr, qt, &zero_timeout), 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_POP);
    CU_ASSERT_EQUAL(*(uint8_t *)qr.qr_value.sga.sga_segs[0].sgaseg_buf, 7);
    free_if_pop(&qr);
    CU_ASSERT_EQUAL(demi_wait(&qr, push_qt, &zero_timeout), 0);
    mg_rt_destroy(rt);
}

static void test_short_timeout_expires_on_runtime_clock(void) {
    struct mg_rt *rt = setup();
    int qd = open_queue();
    demi_qtoken_t qt = start_pop(qd);
    uint64_t t0 = mg_clock_now(&test_clock);
    struct timespec ten_ms = {0, 10 * 1000 * 1000};
    demi_qresult_t qr;
    CU_ASSERT_EQUAL(demi_wait(&qr, qt, &ten_ms), ETIMEDOUT);
    CU_ASSERT(mg_clock_now(&test_clock) >= t0 + 10 * MG_NS_PER_MS);
    /* Seconds and nanoseconds both count. */
    t0 = mg_clock_now(&test_clock);
    struct timespec long_one = {3, 500};
    CU_ASSERT_EQUAL(demi_wait(&qr, qt, &long_one), ETIMEDOUT);
    CU_ASSERT(mg_clock_now(&test_clock) >= t0 + 3 * MG_NS_PER_S + 500);
    int offset = -1;
    CU_ASSERT_EQUAL(demi_wait_any(&qr, &offset, &qt, 1, &ten_ms), ETIMEDOUT);
    mg_rt_destroy(rt);
}

static void test_short_timeout_on_monotonic_clock(void) {
    struct mg_rt *rt = pipe_rt_create(&pipe_libos, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
    int qd = open_queue();
    demi_qtoken_t qt = start_pop(qd);
    struct timespec two_ms = {0, 2 * 1000 * 1000};
    demi_qresult_t qr;
    CU_ASSERT_EQUAL(demi_wait(&qr, qt, &two_ms), ETIMEDOUT);
    int n = -1;
    CU_ASSERT_EQUAL(demi_wait_next_n(&qr, 1, &n, &two_ms), ETIMEDOUT);
    CU_ASSERT_EQUAL(n, 0);
    mg_rt_destroy(rt);
}

static void test_bad_timespec(void) {
    struct mg_rt *rt = setup();
    int qd = open_queue();
    demi_qtoken_t qt = start_pop(qd);
    demi_qresult_t qr;
    struct timespec bad_nsec = {0, 1000000000L};
    struct timespec neg_nsec = {0, -1};
    struct timespec neg_sec = {-1, 0};
    CU_ASSERT_EQUAL(demi_wait(&qr, qt, &bad_nsec), EINVAL);
    CU_ASSERT_EQUAL(demi_wait(&qr, qt, &neg_nsec), EINVAL);
    CU_ASSERT_EQUAL(demi_wait(&qr, qt, &neg_sec), EINVAL);
    int off, n;
    CU_ASSERT_EQUAL(demi_wait_any(&qr, &off, &qt, 1, &neg_sec), EINVAL);
    CU_ASSERT_EQUAL(demi_wait_next_n(&qr, 1, &n, &bad_nsec), EINVAL);
    /* A huge timeout is "practically forever", not an overflow into the past. */
    demi_qtoken_t push_qt = push_byte(qd, 1);
    struct timespec huge = {(time_t)0x7fffffffffffffffLL, 999999999L};
    CU_ASSERT_EQUAL(demi_wait(&qr, qt, &huge), 0);
    free_if_pop(&qr);
    CU_ASSERT_EQUAL(demi_wait(&qr, push_qt, &huge), 0);
    mg_rt_destroy(rt);
}

static void test_null_timeout_waits_for_completion(void) {
    struct mg_rt *rt = setup();
    int qd = open_queue();
    demi_qtoken_t pop_qt = start_pop(qd);
    demi_qtoken_t push_qt = push_byte(qd, 42);
    demi_qresult_t qr;
    CU_ASSERT_EQUAL(demi_wait(&qr, push_qt, NULL), 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_PUSH);
    CU_ASSERT_EQUAL(demi_wait(&qr, pop_qt, NULL), 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_POP);
    CU_ASSERT_EQUAL(qr.qr_value.sga.sga_segs[0].sgaseg_len, 1);
    CU_ASSERT_EQUAL(*(uint8_t *)qr.qr_value.sga.sga_segs[0].sgaseg_buf, 42);
    CU_ASSERT_EQUAL(qr.qr_value.sga.sga_addr.sin_family, AF_INET);
    free_if_pop(&qr);
    int n = 0;
    demi_qtoken_t qt2 = push_byte(qd, 43);
    CU_ASSERT_EQUAL(demi_wait_next_n(&qr, 1, &n, NULL), 0);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(qr.qr_qt, qt2);
    mg_rt_destroy(rt);
}

static void test_wait_any_reports_the_ready_offset(void) {
    struct mg_rt *rt = setup();
    int q[3];
    demi_qtoken_t qts[3];
    for (int i = 0; i < 3; i++) {
        q[i] = open_queue();
        qts[i] = start_pop(q[i]);
    }
    demi_qresult_t qr;
    int offset = -1;
    CU_ASSERT_EQUAL(demi_wait_any(&qr, &offset, qts, 3, &zero_timeout), ETIMEDOUT);
    demi_qtoken_t push_qt = push_byte(q[1], 9);
    CU_ASSERT_EQUAL(demi_wait_any(&qr, &offset, qts, 3, NULL), 0);
    CU_ASSERT_EQUAL(offset, 1);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_POP);
    CU_ASSERT_EQUAL(qr.qr_qd, q[1]);
    CU_ASSERT_EQUAL(qr.qr_qt, qts[1]);
    free_if_pop(&qr);
    /* qts[1] is consumed now: the array is refused as a whole. */
    CU_ASSERT_EQUAL(demi_wait_any(&qr, &offset, qts, 3, &zero_timeout), EINVAL);
    demi_qtoken_t rest[3] = {qts[0], qts[2], push_qt};
    offset = -1;
    CU_ASSERT_EQUAL(demi_wait_any(&qr, &offset, rest, 3, NULL), 0);
    CU_ASSERT_EQUAL(offset, 2);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_PUSH);
    push_qt = push_byte(q[2], 10);
    CU_ASSERT_EQUAL(demi_wait_any(&qr, &offset, rest, 2, NULL), 0);
    CU_ASSERT_EQUAL(offset, 1);
    CU_ASSERT_EQUAL(qr.qr_qd, q[2]);
    free_if_pop(&qr);
    CU_ASSERT_EQUAL(demi_wait(&qr, push_qt, NULL), 0);
    mg_rt_destroy(rt);
}

static void test_wait_any_bad_arguments(void) {
    struct mg_rt *rt = setup();
    int qd = open_queue();
    demi_qtoken_t qts[2] = {start_pop(qd), 0};
    demi_qresult_t qr;
    int offset = 77;
    CU_ASSERT_EQUAL(demi_wait_any(&qr, &offset, qts, 0, &zero_timeout), EINVAL);
    CU_ASSERT_EQUAL(demi_wait_any(&qr, &offset, qts, -1, &zero_timeout), EINVAL);
    CU_ASSERT_EQUAL(demi_wait_any(NULL, &offset, qts, 1, &zero_timeout), EINVAL);
    CU_ASSERT_EQUAL(demi_wait_any(&qr, NULL, qts, 1, &zero_timeout), EINVAL);
    CU_ASSERT_EQUAL(demi_wait_any(&qr, &offset, NULL, 1, &zero_timeout), EINVAL);
    /* One forged token spoils the array, even after a valid one. */
    CU_ASSERT_EQUAL(demi_wait_any(&qr, &offset, qts, 2, &zero_timeout), EINVAL);
    qts[1] = qts[0] + (5ull << 32);
    CU_ASSERT_EQUAL(demi_wait_any(&qr, &offset, qts, 2, &zero_timeout), EINVAL);
    CU_ASSERT_EQUAL(offset, 77);
    /* Even when the valid op is already done, the forged one is still refused first. */
    demi_qtoken_t push_qt = push_byte(qd, 1);
    CU_ASSERT_EQUAL(demi_wait(&qr, push_qt, NULL), 0);
    CU_ASSERT_EQUAL(demi_wait_any(&qr, &offset, qts, 2, &zero_timeout), EINVAL);
    CU_ASSERT_EQUAL(rt->ops.done_count, 1); /* the pop: completed, not consumed */
    CU_ASSERT_EQUAL(demi_wait_any(&qr, &offset, qts, 1, &zero_timeout), 0);
    CU_ASSERT_EQUAL(offset, 0);
    free_if_pop(&qr);
    mg_rt_destroy(rt);
}

static void test_wait_next_n_completion_order(void) {
    struct mg_rt *rt = setup();
    int q1 = open_queue(), q2 = open_queue();
    demi_qtoken_t pop1 = start_pop(q1);
    demi_qtoken_t pop2 = start_pop(q2);
    demi_qtoken_t push2 = push_byte(q2, 2);
    demi_qresult_t qr[8];
    int n = -1;
    /* One poll: pop1 has no data, pop2 and push2 complete, in that order. */
    CU_ASSERT_EQUAL(demi_wait_next_n(qr, 8, &n, NULL), 0);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(qr[0].qr_qt, pop2);
    CU_ASSERT_EQUAL(qr[1].qr_qt, push2);
    free_if_pop(&qr[0]);
    demi_qtoken_t push1 = push_byte(q1, 1);
    CU_ASSERT_EQUAL(demi_wait_next_n(qr, 8, &n, NULL), 0);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(qr[0].qr_qt, pop1);
    CU_ASSERT_EQUAL(qr[0].qr_qd, q1);
    CU_ASSERT_EQUAL(qr[1].qr_qt, push1);
    free_if_pop(&qr[0]);
    /* Consumed by wait_next_n means consumed for demi_wait too. */
    CU_ASSERT_EQUAL(demi_wait(&qr[0], pop1, &zero_timeout), EINVAL);
    n = -1;
    CU_ASSERT_EQUAL(demi_wait_next_n(qr, 8, &n, &zero_timeout), ETIMEDOUT);
    CU_ASSERT_EQUAL(n, 0);
    mg_rt_destroy(rt);
}

static void test_wait_next_n_partial_counts(void) {
    struct mg_rt *rt = setup();
    int qd = open_queue();
    demi_qtoken_t qts[5];
    for (int i = 0; i < 5; i++)
        qts[i] = push_byte(qd, (uint8_t)i);
    demi_qresult_t qr[2];
    int n = -1;
    CU_ASSERT_EQUAL(demi_wait_next_n(qr, 2, &n, NULL), 0);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(qr[0].qr_qt, qts[0]);
    CU_ASSERT_EQUAL(qr[1].qr_qt, qts[1]);
    CU_ASSERT_EQUAL(demi_wait_next_n(qr, 2, &n, &zero_timeout), 0);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(qr[0].qr_qt, qts[2]);
    CU_ASSERT_EQUAL(qr[1].qr_qt, qts[3]);
    CU_ASSERT_EQUAL(demi_wait_next_n(qr, 2, &n, &zero_timeout), 0);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(qr[0].qr_qt, qts[4]);
    CU_ASSERT_EQUAL(demi_wait_next_n(qr, 2, &n, &zero_timeout), ETIMEDOUT);
    CU_ASSERT_EQUAL(n, 0);
    /* The pushed data is all there, in order, for five pops. */
    for (int i = 0; i < 5; i++) {
        demi_qtoken_t pop_qt = start_pop(qd);
        CU_ASSERT_EQUAL(demi_wait(&qr[0], pop_qt, NULL), 0);
        CU_ASSERT_EQUAL(*(uint8_t *)qr[0].qr_value.sga.sga_segs[0].sgaseg_buf, i);
        free_if_pop(&qr[0]);
    }
    mg_rt_destroy(rt);
}

static void test_wait_next_n_bad_arguments(void) {
    struct mg_rt *rt = setup();
    demi_qresult_t qr;
    int n = 5;
    CU_ASSERT_EQUAL(demi_wait_next_n(NULL, 1, &n, &zero_timeout), EINVAL);
    CU_ASSERT_EQUAL(demi_wait_next_n(&qr, 1, NULL, &zero_timeout), EINVAL);
    CU_ASSERT_EQUAL(demi_wait_next_n(&qr, 0, &n, &zero_timeout), EINVAL);
    CU_ASSERT_EQUAL(demi_wait_next_n(&qr, -3, &n, &zero_timeout), EINVAL);
    CU_ASSERT_EQUAL(demi_wait(NULL, 1, &zero_timeout), EINVAL);
    mg_rt_destroy(rt);
}

static void test_many_pending_ops_in_issue_order(void) {
    struct mg_rt *rt = setup();
    int qd = open_queue();
    enum { N = 3000 }; /* past the op table's first allocation */
    demi_qtoken_t *qts = calloc(N, sizeof(*qts));
    CU_ASSERT_PTR_NOT_NULL_FATAL(qts);
    for (int i = 0; i < N; i++)
        qts[i] = push_byte(qd, (uint8_t)i);
    CU_ASSERT_EQUAL(rt->ops.pending_count, N);
    demi_qresult_t batch[64];
    int got = 0, out_of_order = 0;
    while (got < N) {
        int n = 0;
        if (demi_wait_next_n(batch, 64, &n, NULL) != 0)
            break;
        for (int i = 0; i < n; i++)
            out_of_order += batch[i].qr_qt != qts[got + i];
        got += n;
    }
    CU_ASSERT_EQUAL(got, N);
    CU_ASSERT_EQUAL(out_of_order, 0);
    CU_ASSERT_EQUAL(rt->ops.pending_count, 0);
    CU_ASSERT_EQUAL(rt->ops.done_count, 0);
    free(qts);
    mg_rt_destroy(rt);
}

int main(void) {
    static const struct mg_test_case cases[] = {
        {"zero timeout polls once", test_zero_timeout_polls_once},
        {"short timeout expires on the runtime clock", test_short_timeout_expires_on_runtime_clock},
        {"short timeout on the monotonic clock", test_short_timeout_on_monotonic_clock},
        {"bad timespec", test_bad_timespec},
        {"NULL timeout waits for completion", test_null_timeout_waits_for_completion},
        {"wait_any reports the ready offset", test_wait_any_reports_the_ready_offset},
        {"wait_any bad arguments", test_wait_any_bad_arguments},
        {"wait_next_n completion order", test_wait_next_n_completion_order},
        {"wait_next_n partial counts", test_wait_next_n_partial_counts},
        {"wait_next_n bad arguments", test_wait_next_n_bad_arguments},
        {"many pending ops complete in issue order", test_many_pending_ops_in_issue_order},
        {NULL, NULL},
    };
    return mg_run_tests("wait", cases);
}
