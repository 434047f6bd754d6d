/* tests/unit/test_fault.c — the fault model's rates stay within statistical bounds
 * for a fixed seed, bursts cluster, the rate limiter serializes and tail-drops,
 * decisions are reproducible from the seed, and the netdev wrapper delays, reorders,
 * duplicates, corrupts (without touching a buffer someone else holds) and partitions
 * frames in front of a real netdev without leaking a buffer. */
#include <CUnit/Basic.h>
#include <math.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "drivers/fault.h"

#define N 100000

/* |observed - expected| within 5 standard deviations of a binomial count. */
static void assert_rate(uint64_t count, uint64_t n, double p) {
    double expected = p * (double)n, sd = sqrt((double)n * p * (1 - p));
    CU_ASSERT(fabs((double)count - expected) <= 5 * sd + 1);
}

static void test_independent_rates(void) {
    struct mg_fault_params p = {.loss = 0.1, .duplicate = 0.05, .corrupt = 0.02, .reorder = 0.03,
                                .reorder_delay_ns = 1000};
    struct mg_fault_state s;
    mg_fault_init(&s, &p, 42);
    uint64_t lost = 0, dup = 0, corrupt = 0;
    for (int i = 0; i < N; i++) {
        struct mg_fault_verdict v;
        mg_fault_decide(&s, (uint64_t)i * 1000, 1000, &v);
        if (v.drop == MG_FAULT_LOST) {
            lost++;
            continue;
        }
        CU_ASSERT_EQUAL(v.drop, MG_FAULT_KEEP);
        dup += v.copies == 2;
        if (v.corrupt) {
            corrupt++;
            CU_ASSERT(v.corrupt_bit < 8000);
        }
    }
    assert_rate(lost, N, 0.1);
    assert_rate(dup, N - lost, 0.05);
    assert_rate(corrupt, N - lost, 0.02);
    CU_ASSERT_EQUAL(s.stats.lost, lost);
    CU_ASSERT_EQUAL(s.stats.delivered, N - lost);
}

static void test_burst_loss_clusters(void) {
    /* Stationary share of the bad state: enter / (enter + exit) = 0.01/0.11; loss there 0.5. */
    struct mg_fault_params p = {.burst = true, .burst_enter = 0.01, .burst_exit = 0.1, .burst_loss = 0.5};
    struct mg_fault_state s;
    mg_fault_init(&s, &p, 7);
    uint64_t lost = 0, lost_after_lost = 0;
    bool prev = false;
    for (int i = 0; i < N; i++) {
        struct mg_fault_verdict v;
        mg_fault_decide(&s, 0, 100, &v);
        bool l = v.drop == MG_FAULT_LOST;
        lost += l;
        lost_after_lost += l && prev;
        prev = l;
    }
    double rate = (double)lost / N;
    CU_ASSERT(rate > 0.03 && rate < 0.07); /* ~0.045 */
    /* Losses cluster: P(loss | previous loss) is far above the overall rate. */
    CU_ASSERT((double)lost_after_lost / (double)lost > 3 * rate);
}

static void test_same_seed_same_decisions(void) {
    struct mg_fault_params p = {.loss = 0.2, .duplicate = 0.1, .corrupt = 0.1, .jitter_ns = 5000, .delay_ns = 100};
    struct mg_fault_state a, b, c;
    mg_fault_init(&a, &p, 99);
    mg_fault_init(&b, &p, 99);
    mg_fault_init(&c, &p, 100);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        struct mg_fault_verdict va, vb, vc;
        mg_fault_decide(&a, (uint64_t)i, 500, &va);
        mg_fault_decide(&b, (uint64_t)i, 500, &vb);
        mg_fault_decide(&c, (uint64_t)i, 500, &vc);
        CU_ASSERT_EQUAL(memcmp(&va, &vb, sizeof(va)), 0);
        differ += memcmp(&va, &vc, sizeof(va)) != 0;
    }
    CU_ASSERT(differ > 100);
}

static void test_rate_limit_and_queue(void) {
    /* 8 Mbit/s: a 1000-byte frame takes 1 ms; the queue holds 3000 bytes, the frame on
     * the wire included. */
    struct mg_fault_params p = {.rate_bps = 8000000, .queue_bytes = 3000, .delay_ns = 500};
    struct mg_fault_state s;
    mg_fault_init(&s, &p, 1);
    struct mg_fault_verdict v;
    uint64_t expect = 0;
    for (int i = 0; i < 3; i++) {
        mg_fault_decide(&s, 0, 1000, &v);
        CU_ASSERT_EQUAL(v.drop, MG_FAULT_KEEP);
        expect += 1000000;
        CU_ASSERT_EQUAL(v.deliver_at_ns[0], expect + 500);
    }
    mg_fault_decide(&s, 0, 1000, &v); /* 3 ms of backlog = 3000 bytes: full */
    CU_ASSERT_EQUAL(v.drop, MG_FAULT_QUEUE_FULL);
    mg_fault_decide(&s, 2000000, 1000, &v); /* backlog has drained to 1 ms */
    CU_ASSERT_EQUAL(v.drop, MG_FAULT_KEEP);
    CU_ASSERT_EQUAL(v.deliver_at_ns[0], 4000000 + 500);
    CU_ASSERT_EQUAL(s.stats.queue_drops, 1);
}

static void test_mtu_partition_and_bad_params(void) {
    struct mg_fault_params p = {.mtu = 1500};
    struct mg_fault_state s;
    mg_fault_init(&s, &p, 1);
    struct mg_fault_verdict v;
    mg_fault_decide(&s, 0, 1514, &v);
    CU_ASSERT_EQUAL(v.drop, MG_FAULT_KEEP);
    mg_fault_decide(&s, 0, 1515, &v);
    CU_ASSERT_EQUAL(v.drop, MG_FAULT_TOO_BIG);
    mg_fault_set_partitioned(&s, true);
    mg_fault_decide(&s, 0, 100, &v);
    CU_ASSERT_EQUAL(v.drop, MG_FAULT_PARTITIONED);
    mg_fault_set_partitioned(&s, false);
    mg_fault_decide(&s, 0, 100, &v);
    CU_ASSERT_EQUAL(v.drop, MG_FAULT_KEEP);
    struct mg_fault_params bad = {.loss = 1.5};
    CU_ASSERT_EQUAL(mg_fault_params_check(&bad), -EINVAL);
    bad.loss = NAN;
    CU_ASSERT_EQUAL(mg_fault_params_check(&bad), -EINVAL);
    bad.loss = 0.5;
    CU_ASSERT_EQUAL(mg_fault_params_check(&bad), 0);
}

/* ---- the wrapper in front of a loopback device ---- */
#define LOOP_MAX 1024
struct loopdev {
    struct mg_netdev dev;
    struct mg_buf *q[LOOP_MAX];
    unsigned head, count;
    bool destroyed;
};
static uint16_t loop_rx(struct mg_netdev *d, struct mg_buf **b, uint16_t n) {
    struct loopdev *l = (struct loopdev *)d;
    uint16_t got = 0;
    for (; got < n && l->count; got++, l->count--, l->head = (l->head + 1) % LOOP_MAX)
        b[got] = l->q[l->head];
    return got;
}
static uint16_t loop_tx(struct mg_netdev *d, struct mg_buf **b, uint16_t n) {
    struct loopdev *l = (struct loopdev *)d;
    uint16_t taken = 0;
    for (; taken < n && l->count < LOOP_MAX; taken++, l->count++)
        l->q[(l->head + l->count) % LOOP_MAX] = b[taken];
    return taken;
}
static void loop_destroy(struct mg_netdev *d) {
    struct loopdev *l = (struct loopdev *)d;
    for (; l->count; l->count--, l->head = (l->head + 1) % LOOP_MAX)
        mg_buf_free(l->q[l->head]);
    l->destroyed = true;
}
static const struct mg_netdev_ops loop_ops = {.rx_burst = loop_rx, .tx_burst = loop_tx, .destroy = loop_destroy};

static struct mg_pool *pool;
static struct loopdev loop;
static struct mg_clock clock_;

static struct mg_netdev *wrap(const struct mg_fault_wrap_opts *o) {
    memset(&loop, 0, sizeof(loop));
    loop.dev.ops = &loop_ops;
    loop.dev.pool = pool;
    loop.dev.mtu = 1500;
    mg_clock_init_manual(&clock_, 0);
    struct mg_netdev *w = NULL;
    CU_ASSERT_EQUAL(mg_fault_wrap(&loop.dev, &clock_, o, &w), 0);
    return w;
}

static struct mg_buf *numbered(uint32_t seq) {
    struct mg_buf *b = mg_buf_alloc(pool);
    uint8_t *p = mg_buf_append(b, 64);
    memset(p, 0, 64);
    memcpy(p, &seq, 4);
    return b;
}

static uint32_t number_of(const struct mg_buf *b) {
    uint32_t v;
    memcpy(&v, b->data, 4);
    return v;
}

static void test_wrapper_delays_in_order(void) {
    struct mg_fault_wrap_opts o = {.tx = {.delay_ns = 1000}, .seed = 5};
    struct mg_netdev *w = wrap(&o);
    for (uint32_t i = 0; i < 10; i++) {
        struct mg_buf *b = numbered(i);
        CU_ASSERT_EQUAL(mg_netdev_tx(w, &b, 1), 1);
    }
    struct mg_buf *got[16];
    CU_ASSERT_EQUAL(mg_netdev_rx(w, got, 16), 0); /* not yet: latency */
    CU_ASSERT_EQUAL(w->ops->next_rx_ns(w), 1000);
    mg_clock_set(&clock_, 1000);
    /* rx releases the due transmissions to the loopback, then receives them. */
    uint16_t n = mg_netdev_rx(w, got, 16);
    CU_ASSERT_EQUAL(n, 10);
    for (uint16_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(number_of(got[i]), i);
        mg_buf_free(got[i]);
    }
    mg_netdev_destroy(w);
    CU_ASSERT_TRUE(loop.destroyed);
    CU_ASSERT_EQUAL(pool->in_use, 0);
}

static void test_wrapper_faults_reproducible(void) {
    uint32_t seen[2][4000];
    unsigned count[2];
    for (int run = 0; run < 2; run++) {
        struct mg_fault_wrap_opts o = {
            .tx = {.loss = 0.1, .duplicate = 0.1, .reorder = 0.2, .reorder_delay_ns = 5000, .jitter_ns = 3000},
            .rx = {.loss = 0.05},
            .seed = 1234};
        struct mg_netdev *w = wrap(&o);
        count[run] = 0;
        for (uint32_t i = 0; i < 1000; i++) {
            struct mg_buf *b = numbered(i);
            mg_netdev_tx(w, &b, 1);
            mg_clock_advance(&clock_, 1000);
            struct mg_buf *got[8];
            uint16_t n = mg_netdev_rx(w, got, 8);
            for (uint16_t k = 0; k < n; k++) {
                seen[run][count[run]++] = number_of(got[k]);
                mg_buf_free(got[k]);
            }
        }
        for (int drain = 0; drain < 20; drain++) {
            mg_clock_advance(&clock_, 10000);
            struct mg_buf *got[64];
            uint16_t n = mg_netdev_rx(w, got, 64);
            for (uint16_t k = 0; k < n; k++) {
                seen[run][count[run]++] = number_of(got[k]);
                mg_buf_free(got[k]);
            }
        }
        const struct mg_fault_stats *tx = mg_fault_wrap_stats(w, true), *rx = mg_fault_wrap_stats(w, false);
        CU_ASSERT_PTR_NOT_NULL_FATAL(tx);
        CU_ASSERT(tx->lost > 50 && tx->duplicated > 50 && tx->reordered > 100);
        /* Every frame the model let through arrives once, its duplicates twice, minus rx losses. */
        CU_ASSERT_EQUAL(count[run], tx->delivered + tx->duplicated - rx->lost);
        mg_netdev_destroy(w);
        CU_ASSERT_EQUAL(pool->in_use, 0);
    }
    CU_ASSERT_EQUAL(count[0], count[1]);
    CU_ASSERT_EQUAL(memcmp(seen[0], seen[1], count[0] * sizeof(uint32_t)), 0);
    unsigned inversions = 0;
    for (unsigned i = 1; i < count[0]; i++)
        inversions += seen[0][i] < seen[0][i - 1];
    CU_ASSERT(inversions > 50); /* reordering happened */
}

static void test_wrapper_corrupts_a_copy_of_shared_buffers(void) {
    struct mg_fault_wrap_opts o = {.tx = {.corrupt = 1.0}, .seed = 3};
    struct mg_netdev *w = wrap(&o);
    struct mg_buf *b = numbered(77);
    mg_buf_ref(b); /* like TCP keeping it for retransmission */
    uint8_t before[64];
    memcpy(before, b->data, 64);
    CU_ASSERT_EQUAL(mg_netdev_tx(w, &b, 1), 1);
    CU_ASSERT_EQUAL(memcmp(before, b->data, 64), 0); /* the holder's bytes are untouched */
    struct mg_buf *got[2];
    CU_ASSERT_EQUAL_FATAL(mg_netdev_rx(w, got, 2), 1);
    int bits = 0;
    for (int i = 0; i < 64; i++)
        bits += __builtin_popcount((unsigned)(before[i] ^ got[0]->data[i]));
    CU_ASSERT_EQUAL(bits, 1);
    mg_buf_free(got[0]);
    mg_buf_free(b);
    mg_netdev_destroy(w);
    CU_ASSERT_EQUAL(pool->in_use, 0);
}

static void test_wrapper_partition_heals(void) {
    struct mg_fault_wrap_opts o = {.seed = 1};
    struct mg_netdev *w = wrap(&o);
    CU_ASSERT_EQUAL(mg_fault_wrap_partition(w, true), 0);
    for (uint32_t i = 0; i < 5; i++) {
        struct mg_buf *b = numbered(i);
        mg_netdev_tx(w, &b, 1);
    }
    struct mg_buf *got[8];
    CU_ASSERT_EQUAL(mg_netdev_rx(w, got, 8), 0);
    CU_ASSERT_EQUAL(mg_fault_wrap_stats(w, true)->partitioned, 5);
    CU_ASSERT_EQUAL(mg_fault_wrap_partition(w, false), 0);
    struct mg_buf *b = numbered(9);
    mg_netdev_tx(w, &b, 1);
    CU_ASSERT_EQUAL(mg_netdev_rx(w, got, 8), 1);
    CU_ASSERT_EQUAL(number_of(got[0]), 9);
    mg_buf_free(got[0]);
    CU_ASSERT_EQUAL(mg_fault_wrap_partition(&loop.dev, true), -EINVAL);
    struct mg_fault_wrap_opts bad = {.tx = {.loss = 2}};
    struct mg_netdev *w2 = NULL;
    CU_ASSERT_EQUAL(mg_fault_wrap(&loop.dev, &clock_, &bad, &w2), -EINVAL);
    mg_netdev_destroy(w);
    CU_ASSERT_EQUAL(pool->in_use, 0);
}

int main(void) {
    pool = mg_heap_pool_create("fault-test", 4096, 256, 64);
    if (!pool || CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("fault_model", NULL, NULL);
    CU_add_test(s, "independent_rates", test_independent_rates);
    CU_add_test(s, "burst_loss_clusters", test_burst_loss_clusters);
    CU_add_test(s, "same_seed_same_decisions", test_same_seed_same_decisions);
    CU_add_test(s, "rate_limit_and_queue", test_rate_limit_and_queue);
    CU_add_test(s, "mtu_partition_and_bad_params", test_mtu_partition_and_bad_params);
    CU_pSuite w = CU_add_suite("fault_wrapper", NULL, NULL);
    CU_add_test(w, "delays_in_order", test_wrapper_delays_in_order);
    CU_add_test(w, "faults_reproducible", test_wrapper_faults_reproducible);
    CU_add_test(w, "corrupts_a_copy_of_shared_buffers", test_wrapper_corrupts_a_copy_of_shared_buffers);
    CU_add_test(w, "partition_heals", test_wrapper_partition_heals);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    mg_heap_pool_destroy(pool);
    return failed ? 1 : 0;
}
