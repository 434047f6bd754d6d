/* tests/unit/test_qtoken.c — qtokens: a stale, consumed, forged or recycled token is
 * refused with EINVAL and never touches an operation; close cancels pending ops; the
 * queue-descriptor table reuses the lowest qd and scales to many queues. Runs on the
 * in-memory pipe libOS under a manual clock. */
#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>
#include <errno.h>
#include <margay/margay.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "core/rt_internal.h"
#include "cunit_main.h"
#include "pipe_libos.h"

static struct mg_clock test_clock;
static const struct timespec zero_timeout = {0, 0};

static struct mg_rt *setup_with(bool forget_on_close) {
    struct pipe_options opts = {.forget_on_close = forget_on_close};
    struct mg_rt *rt = pipe_rt_create_manual(&pipe_libos, &opts, &test_clock);
    CU_ASSERT_PTR_NOT_NULL(rt);
    return rt;
}

static struct mg_rt *setup(void) {
    return setup_with(false);
}

static void teardown(struct mg_rt *rt) {
    mg_rt_destroy(rt);
}

static int open_queue(void) {
    int qd = -1;
    CU_ASSERT_EQUAL(demi_socket(&qd, AF_INET, SOCK_STREAM, 0), 0);
    return qd;
}

/* Starts a push of `len` bytes of `fill` on qd; the array is freed at once (the pipe
 * libOS copies), which also checks that freeing after push is allowed. */
static demi_qtoken_t push_bytes(int qd, uint8_t fill, uint32_t len) {
    demi_sgarray_t sga = demi_sgaalloc(len);
    CU_ASSERT_EQUAL_FATAL(sga.sga_numsegs, 1);
    memset(sga.sga_segs[0].sgaseg_buf, fill, len);
    demi_qtoken_t qt = 0;
    CU_ASSERT_EQUAL(demi_push(&qt, qd, &sga), 0);
    CU_ASSERT_EQUAL(demi_sgafree(&sga), 0);
    return qt;
}

static void test_consumed_token_is_refused(void) {
    struct mg_rt *rt = setup();
    int qd = open_queue();
    demi_qtoken_t qt = push_bytes(qd, 'a', 10);
    CU_ASSERT_NOT_EQUAL(qt, 0);
    demi_qresult_t qr;
    CU_ASSERT_EQUAL(demi_wait(&qr, qt, NULL), 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_PUSH);
    CU_ASSERT_EQUAL(qr.qr_qd, qd);
    CU_ASSERT_EQUAL(qr.qr_qt, qt);
    CU_ASSERT_EQUAL(qr.qr_ret, 0);
    /* Second wait on the same token: consumed. */
    CU_ASSERT_EQUAL(demi_wait(&qr, qt, &zero_timeout), EINVAL);
    CU_ASSERT_EQUAL(demi_wait(&qr, qt, NULL), EINVAL);
    int offset = -1;
    CU_ASSERT_EQUAL(demi_wait_any(&qr, &offset, &qt, 1, &zero_timeout), EINVAL);
    teardown(rt);
}

static void test_stale_token_after_slot_recycling(void) {
    struct mg_rt *rt = setup();
    int qd = open_queue();
    demi_qtoken_t first = push_bytes(qd, 'a', 4);
    demi_qresult_t qr;
    CU_ASSERT_EQUAL(demi_wait(&qr, first, NULL), 0);
    /* The freed slot is reused at once; only the generation tells the tokens apart. */
    demi_qtoken_t second = push_bytes(qd, 'b', 4);
    CU_ASSERT_EQUAL(MG_QT_SLOT(second), MG_QT_SLOT(first));
    CU_ASSERT_NOT_EQUAL(MG_QT_GEN(second), MG_QT_GEN(first));
    CU_ASSERT_EQUAL(demi_wait(&qr, first, &zero_timeout), EINVAL);
    CU_ASSERT_EQUAL(demi_wait(&qr, second, NULL), 0);
    CU_ASSERT_EQUAL(qr.qr_qt, second);
    teardown(rt);
}

static void test_token_reuse_many_cycles(void) {
    struct mg_rt *rt = setup();
    int qd = open_queue();
    enum { CYCLES = 5000 };
    demi_qtoken_t *seen = calloc(CYCLES, sizeof(*seen));
    CU_ASSERT_PTR_NOT_NULL_FATAL(seen);
    demi_qresult_t qr;
    for (int i = 0; i < CYCLES; i++) {
        seen[i] = push_bytes(qd, (uint8_t)i, 1);
        CU_ASSERT_NOT_EQUAL(seen[i], 0);
        if (i > 0)
            CU_ASSERT_NOT_EQUAL(seen[i], seen[i - 1]);
        CU_ASSERT_EQUAL(demi_wait(&qr, seen[i], NULL), 0);
    }
    /* Every token ever issued is now stale, even though the slots are in use again. */
    demi_qtoken_t live = push_bytes(qd, 'z', 1);
    int refused = 0;
    for (int i = 0; i < CYCLES; i++)
        refused += demi_wait(&qr, seen[i], &zero_timeout) == EINVAL;
    CU_ASSERT_EQUAL(refused, CYCLES);
    CU_ASSERT_EQUAL(demi_wait(&qr, live, NULL), 0);
    free(seen);
    teardown(rt);
}

/* Slots are handed out lowest first, past the table's initial size; a freed slot is
 * reused before any never-used one, most recently freed first; a token naming a slot
 * never handed out is refused. (The simulator's determinism rests on this order.) */
static void test_slot_order_and_growth(void) {
    struct mg_rt *rt = setup();
    int qd = open_queue();
    enum { HELD = 1300 }; /* more than the initial table */
    demi_qtoken_t *qts = calloc(HELD, sizeof(*qts));
    CU_ASSERT_PTR_NOT_NULL_FATAL(qts);
    for (uint32_t i = 0; i < HELD; i++) {
        qts[i] = push_bytes(qd, (uint8_t)i, 1);
        CU_ASSERT_EQUAL(MG_QT_SLOT(qts[i]), i);
    }
    for (uint64_t slot = HELD; slot < HELD + 600; slot += 7)
        for (uint64_t gen = 0; gen < 2; gen++)
            CU_ASSERT_EQUAL(demi_wait(&(demi_qresult_t){0}, (gen << 32) | (slot + 1), &zero_timeout), EINVAL);
    demi_qresult_t qr;
    const uint32_t freed[] = {10, 1100, 3};
    for (int k = 0; k < 3; k++)
        CU_ASSERT_EQUAL(demi_wait(&qr, qts[freed[k]], NULL), 0);
    CU_ASSERT_EQUAL(MG_QT_SLOT(push_bytes(qd, 'r', 1)), 3);
    CU_ASSERT_EQUAL(MG_QT_SLOT(push_bytes(qd, 'r', 1)), 1100);
    CU_ASSERT_EQUAL(MG_QT_SLOT(push_bytes(qd, 'r', 1)), 10);
    CU_ASSERT_EQUAL(MG_QT_SLOT(push_bytes(qd, 'r', 1)), HELD);
    free(qts);
    teardown(rt);
}

static void test_forged_tokens(void) {
    struct mg_rt *rt = setup();
    int qd = open_queue();
    demi_qtoken_t pop_qt = 0;
    CU_ASSERT_EQUAL(demi_pop(&pop_qt, qd), 0); /* stays pending: no data */
    demi_qresult_t qr;
    memset(&qr, 0x5a, sizeof(qr));
    CU_ASSERT_EQUAL(demi_wait(&qr, 0, &zero_timeout), EINVAL);
    CU_ASSERT_EQUAL(demi_wait(&qr, UINT64_MAX, &zero_timeout), EINVAL);
    CU_ASSERT_EQUAL(demi_wait(&qr, 0xffffffff00000000ull, &zero_timeout), EINVAL);
    /* The right slot with the wrong generation, either way. */
    CU_ASSERT_EQUAL(demi_wait(&qr, pop_qt + (1ull << 32), &zero_timeout), EINVAL);
    CU_ASSERT_EQUAL(demi_wait(&qr, pop_qt - (1ull << 32), &zero_timeout), EINVAL);
    CU_ASSERT_EQUAL(demi_wait(&qr, pop_qt ^ (0x80000000ull << 32), &zero_timeout), EINVAL);
    /* A free slot with a plausible generation; a slot far past the table. */
    CU_ASSERT_EQUAL(demi_wait(&qr, pop_qt + 1, &zero_timeout), EINVAL);
    CU_ASSERT_EQUAL(demi_wait(&qr, 0x00000000fffffff0ull, &zero_timeout), EINVAL);
    struct mg_rand r;
    mg_rand_seed(&r, 2024);
    int refused = 0;
    for (int i = 0; i < 10000; i++) {
        demi_qtoken_t forged = mg_rand_u64(&r);
        if (forged == pop_qt)
            continue;
        refused += demi_wait(&qr, forged, &zero_timeout) == EINVAL;
    }
    CU_ASSERT_EQUAL(refused, 10000);
    /* Small forged values: slot numbers in range, generation 0..3. */
    for (uint64_t gen = 0; gen < 4; gen++)
        for (uint64_t slot = 1; slot <= 64; slot++) {
            demi_qtoken_t forged = (gen << 32) | slot;
            if (forged != pop_qt)
                CU_ASSERT_EQUAL(demi_wait(&qr, forged, &zero_timeout), EINVAL);
        }
    /* None of it disturbed the real operation. */
    CU_ASSERT_EQUAL(rt->ops.pending_count, 1);
    demi_qtoken_t push_qt = push_bytes(qd, 'x', 3);
    CU_ASSERT_EQUAL(demi_wait(&qr, pop_qt, NULL), 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_POP);
    CU_ASSERT_EQUAL(qr.qr_value.sga.sga_segs[0].sgaseg_len, 3);
    CU_ASSERT_EQUAL(demi_sgafree(&qr.qr_value.sga), 0);
    CU_ASSERT_EQUAL(demi_wait(&qr, push_qt, NULL), 0);
    teardown(rt);
}

static void check_cancelled(demi_qtoken_t qt, int qd, demi_opcode_t what) {
    demi_qresult_t qr;
    CU_ASSERT_EQUAL(demi_wait(&qr, qt, &zero_timeout), 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_FAILED);
    CU_ASSERT_EQUAL(qr.qr_ret, ECANCELED);
    CU_ASSERT_EQUAL(qr.qr_qd, qd);
    CU_ASSERT_EQUAL(qr.qr_qt, qt);
    CU_ASSERT_EQUAL(demi_wait(&qr, qt, &zero_timeout), EINVAL);
    (void)what;
}

static void close_cancels_pending(bool forget_on_close) {
    struct mg_rt *rt = setup_with(forget_on_close);
    int qd = open_queue();
    int other = open_queue();
    demi_qtoken_t pops[3];
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(demi_pop(&pops[i], qd), 0);
    demi_qtoken_t other_pop;
    CU_ASSERT_EQUAL(demi_pop(&other_pop, other), 0);
    CU_ASSERT_EQUAL(rt->ops.pending_count, 4);
    CU_ASSERT_EQUAL(demi_close(qd), 0);
    CU_ASSERT_EQUAL(rt->ops.pending_count, 1);
    for (int i = 0; i < 3; i++)
        check_cancelled(pops[i], qd, DEMI_OPC_POP);
    /* The other queue's op is untouched and the closed qd is gone. */
    demi_qresult_t qr;
    CU_ASSERT_EQUAL(demi_wait(&qr, other_pop, &zero_timeout), ETIMEDOUT);
    CU_ASSERT_EQUAL(demi_close(qd), EBADF);
    demi_qtoken_t qt;
    CU_ASSERT_EQUAL(demi_pop(&qt, qd), EBADF);
    teardown(rt);
}

static void test_wait_after_close_is_ecanceled(void) {
    close_cancels_pending(false);
}

/* A libOS that forgets its pending ops on close: the core's safety net fails them. */
static void test_close_safety_net(void) {
    close_cancels_pending(true);
}

static void test_close_with_pending_accept(void) {
    struct mg_rt *rt = setup();
    int lqd = open_queue();
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(7000)};
    CU_ASSERT_EQUAL(demi_bind(lqd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    CU_ASSERT_EQUAL(demi_listen(lqd, 8), 0);
    demi_qtoken_t qt;
    CU_ASSERT_EQUAL(demi_accept(&qt, lqd), 0);
    CU_ASSERT_EQUAL(demi_close(lqd), 0);
    check_cancelled(qt, lqd, DEMI_OPC_ACCEPT);
    teardown(rt);
}

static void test_connect_accept_push_pop_eof(void) {
    struct mg_rt *rt = setup();
    int lqd = open_queue();
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(8080)};
    CU_ASSERT_EQUAL(demi_bind(lqd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    CU_ASSERT_EQUAL(demi_listen(lqd, 8), 0);
    demi_qtoken_t accept_qt, connect_qt;
    CU_ASSERT_EQUAL(demi_accept(&accept_qt, lqd), 0);
    int cqd = open_queue();
    CU_ASSERT_EQUAL(demi_connect(&connect_qt, cqd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    demi_qresult_t qr;
    CU_ASSERT_EQUAL(demi_wait(&qr, connect_qt, NULL), 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_CONNECT);
    CU_ASSERT_EQUAL(qr.qr_qd, cqd);
    CU_ASSERT_EQUAL(demi_wait(&qr, accept_qt, NULL), 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_ACCEPT);
    CU_ASSERT_EQUAL(qr.qr_qd, lqd);
    int sqd = qr.qr_value.ares.qd;
    CU_ASSERT(sqd >= 0 && sqd != lqd && sqd != cqd);
    CU_ASSERT_EQUAL(qr.qr_value.ares.addr.sin_family, AF_INET);

    demi_qtoken_t push_qt = push_bytes(cqd, 'q', 100);
    demi_qtoken_t pop_qt;
    CU_ASSERT_EQUAL(demi_pop(&pop_qt, sqd), 0);
    CU_ASSERT_EQUAL(demi_wait(&qr, pop_qt, NULL), 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_POP);
    CU_ASSERT_EQUAL(qr.qr_qd, sqd);
    CU_ASSERT_EQUAL(qr.qr_value.sga.sga_numsegs, 1);
    CU_ASSERT_EQUAL(qr.qr_value.sga.sga_segs[0].sgaseg_len, 100);
    CU_ASSERT_EQUAL(((uint8_t *)qr.qr_value.sga.sga_segs[0].sgaseg_buf)[99], 'q');
    CU_ASSERT_EQUAL(demi_sgafree(&qr.qr_value.sga), 0);
    CU_ASSERT_EQUAL(demi_wait(&qr, push_qt, NULL), 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_PUSH);

    struct sockaddr_in peer;
    socklen_t peerlen = sizeof(peer);
    CU_ASSERT_EQUAL(demi_getpeername(sqd, (struct sockaddr *)&peer, &peerlen), 0);
    CU_ASSERT_EQUAL(peerlen, sizeof(peer));
    CU_ASSERT_EQUAL(peer.sin_family, AF_INET);

    /* The client leaves: the server's next pop is the zero-length end of stream. */
    CU_ASSERT_EQUAL(demi_close(cqd), 0);
    CU_ASSERT_EQUAL(demi_pop(&pop_qt, sqd), 0);
    CU_ASSERT_EQUAL(demi_wait(&qr, pop_qt, NULL), 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_POP);
    CU_ASSERT_EQUAL(qr.qr_value.sga.sga_numsegs, 1);
    CU_ASSERT_EQUAL(qr.qr_value.sga.sga_segs[0].sgaseg_len, 0);
    CU_ASSERT_EQUAL(demi_sgafree(&qr.qr_value.sga), 0);
    CU_ASSERT_EQUAL(demi_getpeername(sqd, (struct sockaddr *)&peer, &peerlen), ENOTCONN);
    teardown(rt);
}

static void test_connect_refused(void) {
    struct mg_rt *rt = setup();
    int cqd = open_queue();
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(9)};
    demi_qtoken_t qt;
    CU_ASSERT_EQUAL(demi_connect(&qt, cqd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    demi_qresult_t qr;
    CU_ASSERT_EQUAL(demi_wait(&qr, qt, NULL), 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_FAILED);
    CU_ASSERT_EQUAL(qr.qr_ret, ECONNREFUSED);
    teardown(rt);
}

static void test_qd_lowest_first_reuse(void) {
    struct mg_rt *rt = setup();
    int qds[6];
    for (int i = 0; i < 6; i++) {
        qds[i] = open_queue();
        CU_ASSERT_EQUAL(qds[i], i);
    }
    CU_ASSERT_EQUAL(demi_close(4), 0);
    CU_ASSERT_EQUAL(demi_close(1), 0);
    CU_ASSERT_EQUAL(demi_close(3), 0);
    CU_ASSERT_EQUAL(open_queue(), 1);
    CU_ASSERT_EQUAL(open_queue(), 3);
    CU_ASSERT_EQUAL(open_queue(), 4);
    CU_ASSERT_EQUAL(open_queue(), 6);
    teardown(rt);
}

static void test_ten_thousand_queues(void) {
    struct mg_rt *rt = setup();
    enum { N = 12000 };
    for (int i = 0; i < N; i++)
        if (open_queue() != i) {
            CU_FAIL("qds must be dense from 0");
            break;
        }
    CU_ASSERT_EQUAL(rt->qds.open_count, N);
    /* Every queue works: a pop on each, pushes on a few, and the right ones complete. */
    demi_qtoken_t last_pop;
    CU_ASSERT_EQUAL(demi_pop(&last_pop, N - 1), 0);
    demi_qtoken_t push_qt = push_bytes(N - 1, 'e', 8);
    demi_qresult_t qr;
    CU_ASSERT_EQUAL(demi_wait(&qr, last_pop, NULL), 0);
    CU_ASSERT_EQUAL(qr.qr_qd, N - 1);
    CU_ASSERT_EQUAL(demi_sgafree(&qr.qr_value.sga), 0);
    CU_ASSERT_EQUAL(demi_wait(&qr, push_qt, NULL), 0);
    /* Close every other one from the top, then reopen: lowest first. */
    for (int i = N - 1; i >= 0; i -= 2)
        CU_ASSERT_EQUAL(demi_close(i), 0);
    CU_ASSERT_EQUAL(rt->qds.open_count, N / 2);
    for (int i = 1; i < N; i += 2)
        if (open_queue() != i) {
            CU_FAIL("released qds must be reused lowest first");
            break;
        }
    CU_ASSERT_EQUAL(open_queue(), N);
    teardown(rt);
}

static void test_libos_misuse_of_completion_is_ignored(void) {
    struct mg_rt *rt = setup();
    int qd = open_queue();
    demi_qtoken_t a, b, c;
    CU_ASSERT_EQUAL(demi_pop(&a, qd), 0);
    CU_ASSERT_EQUAL(demi_pop(&b, qd), 0);
    CU_ASSERT_EQUAL(demi_pop(&c, qd), 0);
    struct mg_op *op_a = mg_op_lookup(&rt->ops, a);
    struct mg_op *op_b = mg_op_lookup(&rt->ops, b);
    struct mg_op *op_c = mg_op_lookup(&rt->ops, c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(op_a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(op_b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(op_c);
    /* Completed by "the libOS" directly: a negative errno is taken as its magnitude, a
     * NULL result becomes EINVAL, and a second completion of a done op is ignored. */
    mg_op_fail(rt, op_a, -ENETDOWN);
    mg_op_complete_push(rt, op_a);
    mg_op_complete(rt, op_b, NULL);
    demi_qresult_t custom;
    memset(&custom, 0, sizeof(custom));
    custom.qr_opcode = DEMI_OPC_CONNECT;
    custom.qr_qd = 999;  /* overwritten with the op's own qd */
    custom.qr_qt = 1234; /* and token */
    mg_op_complete(rt, op_c, &custom);
    mg_op_fail(NULL, op_c, EIO);
    mg_op_fail(rt, NULL, EIO);
    CU_ASSERT_EQUAL(rt->ops.done_count, 3);
    CU_ASSERT_EQUAL(rt->ops.pending_count, 0);
    demi_qresult_t qr;
    CU_ASSERT_EQUAL(demi_wait(&qr, a, &zero_timeout), 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_FAILED);
    CU_ASSERT_EQUAL(qr.qr_ret, ENETDOWN);
    CU_ASSERT_EQUAL(demi_wait(&qr, b, &zero_timeout), 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_FAILED);
    CU_ASSERT_EQUAL(qr.qr_ret, EINVAL);
    CU_ASSERT_EQUAL(demi_wait(&qr, c, &zero_timeout), 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_CONNECT);
    CU_ASSERT_EQUAL(qr.qr_qd, qd);
    CU_ASSERT_EQUAL(qr.qr_qt, c);
    /* Completing a consumed (freed) op is ignored too. */
    mg_op_complete_connect(rt, op_c);
    CU_ASSERT_EQUAL(rt->ops.done_count, 0);
    teardown(rt);
}

static void test_create_refuses_incomplete_libos(void) {
    struct mg_rt *rt = NULL;
    struct mg_libos_ops no_poll = pipe_libos;
    no_poll.poll = NULL;
    struct mg_rt_params params = {.libos = &no_poll};
    CU_ASSERT_EQUAL(mg_rt_create(&params, &rt), -EINVAL);
    CU_ASSERT_PTR_NULL(rt);
    params.libos = NULL;
    CU_ASSERT_EQUAL(mg_rt_create(&params, &rt), -EINVAL);
    params.libos = &pipe_libos;
    CU_ASSERT_EQUAL(mg_rt_create(NULL, &rt), -EINVAL);
    CU_ASSERT_EQUAL(mg_rt_create(&params, NULL), -EINVAL);
    /* Defaults when no config is given; the runtime is not made current by create. */
    CU_ASSERT_EQUAL_FATAL(mg_rt_create(&params, &rt), 0);
    CU_ASSERT_PTR_NULL(mg_rt_current());
    CU_ASSERT_EQUAL(mg_rt_config(rt)->mtu, 1500);
    CU_ASSERT_PTR_NOT_NULL(mg_rt_clock(rt));
    CU_ASSERT_PTR_NOT_NULL(mg_rt_libos_state(rt));
    mg_rt_destroy(rt);
}

static void test_config_is_copied_and_seed_used(void) {
    struct mg_config cfg;
    mg_config_defaults(&cfg);
    cfg.seed = 77;
    cfg.seed_set = true;
    cfg.eal_args[0] = strdup("-l");
    cfg.eal_args[1] = strdup("0");
    cfg.eal_argc = 2;
    struct mg_rt_params params = {.libos = &pipe_libos, .cfg = &cfg};
    struct mg_rt *r1 = NULL, *r2 = NULL;
    CU_ASSERT_EQUAL_FATAL(mg_rt_create(&params, &r1), 0);
    CU_ASSERT_EQUAL_FATAL(mg_rt_create(&params, &r2), 0);
    mg_config_free(&cfg); /* the runtimes own their copies */
    CU_ASSERT_EQUAL(mg_rt_config(r1)->eal_argc, 2);
    CU_ASSERT_STRING_EQUAL(mg_rt_config(r1)->eal_args[1], "0");
    CU_ASSERT_PTR_NOT_EQUAL(mg_rt_config(r1)->eal_args[0], mg_rt_config(r2)->eal_args[0]);
    /* Same seed, same random sequence: runs are reproducible. */
    for (int i = 0; i < 100; i++)
        CU_ASSERT_EQUAL(mg_rand_u64(mg_rt_rand(r1)), mg_rand_u64(mg_rt_rand(r2)));
    mg_rt_destroy(r1);
    mg_rt_destroy(r2);
}

static void test_destroy_with_everything_outstanding(void) {
    struct mg_rt *rt = setup();
    int lqd = open_queue();
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(6000)};
    CU_ASSERT_EQUAL(demi_bind(lqd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    CU_ASSERT_EQUAL(demi_listen(lqd, 8), 0);
    int cqd = open_queue();
    demi_qtoken_t qt;
    CU_ASSERT_EQUAL(demi_connect(&qt, cqd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    CU_ASSERT_EQUAL(demi_accept(&qt, lqd), 0);
    push_bytes(cqd, 'p', 50);
    CU_ASSERT_EQUAL(demi_pop(&qt, cqd), 0);
    demi_qresult_t qr;
    int n;
    CU_ASSERT_EQUAL(demi_wait_next_n(&qr, 1, &n, NULL), 0); /* the rest stays done or pending */
    demi_sgarray_t held = demi_sgaalloc(100);
    CU_ASSERT_EQUAL(held.sga_numsegs, 1);
    /* Open queues, pending and done ops, an accepted queue, data in flight and a held
     * array: all released (the sanitizer build checks for leaks). */
    CU_ASSERT_PTR_EQUAL(mg_rt_current(), rt);
    CU_ASSERT_EQUAL(margay_shutdown(), 0);
    CU_ASSERT_PTR_NULL(mg_rt_current());
}

int main(void) {
    static const struct mg_test_case cases[] = {
        {"consumed token is refused (double wait)", test_consumed_token_is_refused},
        {"stale token after slot recycling", test_stale_token_after_slot_recycling},
        {"token reuse over many cycles", test_token_reuse_many_cycles},
        {"forged tokens", test_forged_tokens},
        {"slots lowest first, freed most recent first, growth", test_slot_order_and_growth},
        {"wait after close gives ECANCELED", test_wait_after_close_is_ecanceled},
        {"close safety net for forgetful libOS", test_close_safety_net},
        {"close with pending accept", test_close_with_pending_accept},
        {"connect, accept, push, pop, end of stream", test_connect_accept_push_pop_eof},
        {"connect refused", test_connect_refused},
        {"qd reuse lowest first", test_qd_lowest_first_reuse},
        {"ten thousand queues", test_ten_thousand_queues},
        {"libOS misuse of completion is ignored", test_libos_misuse_of_completion_is_ignored},
        {"create refuses an incomplete libOS", test_create_refuses_incomplete_libos},
        {"config is copied and the seed used", test_config_is_copied_and_seed_used},
        {"teardown with everything outstanding", test_destroy_with_everything_outstanding},
        {NULL, NULL},
    };
    return mg_run_tests("qtoken", cases);
}
