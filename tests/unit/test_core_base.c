/* tests/unit/test_core_base.c — the core's building blocks: timer heap, random source
 * and SipHash, packet buffers and pools, clocks. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/random.h"
#include "core/timer.h"
#include "cunit_main.h"

/* ---- timers ---- */

#define MAX_FIRED 16
struct fire_log {
    int order[MAX_FIRED];
    int count;
};

struct tagged_timer {
    struct mg_timer timer;
    int id;
    struct fire_log *log;
};

static void record_fire(struct mg_timer *t, void *arg) {
    struct tagged_timer *tt = arg;
    (void)t;
    if (tt->log->count < MAX_FIRED)
        tt->log->order[tt->log->count] = tt->id;
    tt->log->count++;
}

static void tagged_init(struct tagged_timer *tt, int id, struct fire_log *log) {
    tt->id = id;
    tt->log = log;
    mg_timer_init(&tt->timer, record_fire, tt);
}

static void test_timer_ordering(void) {
    struct mg_timers ts;
    CU_ASSERT_EQUAL_FATAL(mg_timers_init(&ts, 2), 0);
    struct fire_log log = {0};
    struct tagged_timer t[5];
    uint64_t deadlines[5] = {50, 10, 40, 20, 30};
    for (int i = 0; i < 5; i++) {
        tagged_init(&t[i], i, &log);
        CU_ASSERT_EQUAL(mg_timer_arm(&ts, &t[i].timer, deadlines[i]), 0);
    }
    CU_ASSERT_EQUAL(mg_timers_next_deadline(&ts), 10);
    CU_ASSERT_EQUAL(mg_timers_run(&ts, 9), 0);
    CU_ASSERT_EQUAL(mg_timers_run(&ts, 30), 3);
    CU_ASSERT_EQUAL(log.count, 3);
    CU_ASSERT_EQUAL(log.order[0], 1);
    CU_ASSERT_EQUAL(log.order[1], 3);
    CU_ASSERT_EQUAL(log.order[2], 4);
    CU_ASSERT_EQUAL(mg_timers_next_deadline(&ts), 40);
    CU_ASSERT_EQUAL(mg_timers_run(&ts, 1000), 2);
    CU_ASSERT_EQUAL(log.order[3], 2);
    CU_ASSERT_EQUAL(log.order[4], 0);
    CU_ASSERT_EQUAL(mg_timers_next_deadline(&ts), UINT64_MAX);
    mg_timers_fini(&ts);
}

static void test_timer_equal_deadlines_fire_in_arming_order(void) {
    struct mg_timers ts;
    CU_ASSERT_EQUAL_FATAL(mg_timers_init(&ts, 4), 0);
    struct fire_log log = {0};
    struct tagged_timer t[8];
    for (int i = 0; i < 8; i++) {
        tagged_init(&t[i], i, &log);
        CU_ASSERT_EQUAL(mg_timer_arm(&ts, &t[i].timer, 100), 0);
    }
    CU_ASSERT_EQUAL(mg_timers_run(&ts, 100), 8);
    for (int i = 0; i < 8; i++)
        CU_ASSERT_EQUAL(log.order[i], i);
    mg_timers_fini(&ts);
}

static void test_timer_rearm_and_cancel(void) {
    struct mg_timers ts;
    CU_ASSERT_EQUAL_FATAL(mg_timers_init(&ts, 4), 0);
    struct fire_log log = {0};
    struct tagged_timer a, b, c;
    tagged_init(&a, 1, &log);
    tagged_init(&b, 2, &log);
    tagged_init(&c, 3, &log);
    CU_ASSERT_FALSE(mg_timer_armed(&c.timer));
    mg_timer_cancel(&ts, &c.timer); /* unarmed: harmless */
    CU_ASSERT_FALSE(mg_timer_armed(&c.timer));
    CU_ASSERT_EQUAL(mg_timer_arm(&ts, &a.timer, 10), 0);
    CU_ASSERT_EQUAL(mg_timer_arm(&ts, &b.timer, 20), 0);
    CU_ASSERT_EQUAL(mg_timer_arm(&ts, &c.timer, 30), 0);
    CU_ASSERT_TRUE(mg_timer_armed(&a.timer));
    /* Re-arming moves the timer, it does not duplicate it. */
    CU_ASSERT_EQUAL(mg_timer_arm(&ts, &a.timer, 25), 0);
    CU_ASSERT_EQUAL(ts.count, 3);
    mg_timer_cancel(&ts, &b.timer);
    CU_ASSERT_FALSE(mg_timer_armed(&b.timer));
    mg_timer_cancel(&ts, &b.timer); /* twice: still harmless */
    CU_ASSERT_EQUAL(ts.count, 2);
    CU_ASSERT_EQUAL(mg_timers_run(&ts, 100), 2);
    CU_ASSERT_EQUAL(log.count, 2);
    CU_ASSERT_EQUAL(log.order[0], 1);
    CU_ASSERT_EQUAL(log.order[1], 3);
    CU_ASSERT_FALSE(mg_timer_armed(&a.timer));
    mg_timers_fini(&ts);
}

struct rearming_timer {
    struct mg_timer timer;
    struct mg_timers *timers;
    int fired;
    int limit;
};

static void rearm_self(struct mg_timer *t, void *arg) {
    struct rearming_timer *rt = arg;
    rt->fired++;
    if (rt->fired < rt->limit)
        mg_timer_arm(rt->timers, t, t->deadline_ns + 10);
}

static void test_timer_fire_that_rearms(void) {
    struct mg_timers ts;
    CU_ASSERT_EQUAL_FATAL(mg_timers_init(&ts, 1), 0);
    struct rearming_timer r = {.timers = &ts, .limit = 3};
    mg_timer_init(&r.timer, rearm_self, &r);
    CU_ASSERT_EQUAL(mg_timer_arm(&ts, &r.timer, 10), 0);
    /* Re-armed to 20 and 30 while running at 25: fires at 10 and 20, not yet at 30. */
    CU_ASSERT_EQUAL(mg_timers_run(&ts, 25), 2);
    CU_ASSERT_EQUAL(r.fired, 2);
    CU_ASSERT_TRUE(mg_timer_armed(&r.timer));
    CU_ASSERT_EQUAL(mg_timers_next_deadline(&ts), 30);
    CU_ASSERT_EQUAL(mg_timers_run(&ts, 1000), 1);
    CU_ASSERT_EQUAL(r.fired, 3);
    CU_ASSERT_FALSE(mg_timer_armed(&r.timer));
    mg_timers_fini(&ts);
}

struct ordered_timer {
    struct mg_timer timer;
    uint64_t *last;
    uint64_t *last_seq;
    int *violations;
    int *fired;
};

static void check_order(struct mg_timer *t, void *arg) {
    struct ordered_timer *ot = arg;
    if (t->deadline_ns < *ot->last || (t->deadline_ns == *ot->last && t->seq < *ot->last_seq))
        (*ot->violations)++;
    *ot->last = t->deadline_ns;
    *ot->last_seq = t->seq;
    (*ot->fired)++;
}

static void test_timer_many_random(void) {
    enum { N = 10000 };
    struct mg_timers ts;
    CU_ASSERT_EQUAL_FATAL(mg_timers_init(&ts, 16), 0);
    struct ordered_timer *timers = calloc(N, sizeof(*timers));
    CU_ASSERT_PTR_NOT_NULL_FATAL(timers);
    struct mg_rand r;
    mg_rand_seed(&r, 7);
    uint64_t last = 0, last_seq = 0;
    int violations = 0, fired = 0;
    for (int i = 0; i < N; i++) {
        timers[i] =
            (struct ordered_timer){.last = &last, .last_seq = &last_seq, .violations = &violations, .fired = &fired};
        mg_timer_init(&timers[i].timer, check_order, &timers[i]);
        CU_ASSERT_EQUAL(mg_timer_arm(&ts, &timers[i].timer, mg_rand_below(&r, 5000)), 0);
    }
    /* Cancel every tenth timer: those must not fire. */
    for (int i = 0; i < N; i += 10)
        mg_timer_cancel(&ts, &timers[i].timer);
    unsigned total = 0;
    for (uint64_t now = 0; now <= 5000; now += 250)
        total += mg_timers_run(&ts, now);
    CU_ASSERT_EQUAL(total, N - N / 10);
    CU_ASSERT_EQUAL(fired, N - N / 10);
    CU_ASSERT_EQUAL(violations, 0);
    CU_ASSERT_EQUAL(ts.count, 0);
    mg_timers_fini(&ts);
    free(timers);
}

/* ---- random ---- */

static void test_rand_same_seed_same_sequence(void) {
    struct mg_rand a, b, c;
    mg_rand_seed(&a, 12345);
    mg_rand_seed(&b, 12345);
    mg_rand_seed(&c, 12346);
    int differs = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = mg_rand_u64(&a);
        CU_ASSERT_EQUAL(x, mg_rand_u64(&b));
        if (x != mg_rand_u64(&c))
            differs++;
    }
    CU_ASSERT(differs > 990);
}

static void test_rand_below_bounds_and_uniformity(void) {
    struct mg_rand r;
    mg_rand_seed(&r, 99);
    enum { BUCKETS = 10, DRAWS = 100000 };
    int counts[BUCKETS] = {0};
    for (int i = 0; i < DRAWS; i++) {
        uint32_t v = mg_rand_below(&r, BUCKETS);
        CU_ASSERT_FATAL(v < BUCKETS);
        counts[v]++;
    }
    /* Expected 10,000 per bucket; 5 % slack is > 15 standard deviations. */
    for (int i = 0; i < BUCKETS; i++) {
        CU_ASSERT(counts[i] > 9500);
        CU_ASSERT(counts[i] < 10500);
    }
    for (int i = 0; i < 1000; i++)
        CU_ASSERT_EQUAL(mg_rand_below(&r, 1), 0);
    for (int i = 0; i < 1000; i++) {
        uint32_t big = mg_rand_below(&r, 0x80000001u);
        CU_ASSERT(big < 0x80000001u);
        double u = mg_rand_unit(&r);
        CU_ASSERT(u >= 0.0 && u < 1.0);
    }
}

static void test_siphash_reference_vector(void) {
    /* SipHash paper, appendix A: key 00..0f, message 00..0e (15 bytes). */
    uint8_t key[16], msg[15];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 15; i++)
        msg[i] = (uint8_t)i;
    CU_ASSERT_EQUAL(mg_siphash24(key, msg, sizeof(msg)), 0xa129ca6149be45e5ull);
    /* A different key or message changes the hash. */
    key[0] ^= 1;
    CU_ASSERT_NOT_EQUAL(mg_siphash24(key, msg, sizeof(msg)), 0xa129ca6149be45e5ull);
    key[0] ^= 1;
    CU_ASSERT_NOT_EQUAL(mg_siphash24(key, msg, 14), 0xa129ca6149be45e5ull);
}

/* ---- buffers ---- */

static void test_pool_exhaustion_counted(void) {
    struct mg_pool *pool = mg_heap_pool_create("t", 4, 256, 64);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pool);
    struct mg_buf *b[4];
    for (int i = 0; i < 4; i++) {
        b[i] = mg_buf_alloc(pool);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b[i]);
        CU_ASSERT_EQUAL(b[i]->len, 0);
        CU_ASSERT_EQUAL(b[i]->refcnt, 1);
        CU_ASSERT_EQUAL(mg_buf_headroom(b[i]), 64);
        CU_ASSERT_EQUAL(mg_buf_tailroom(b[i]), 192);
    }
    CU_ASSERT_EQUAL(pool->in_use, 4);
    CU_ASSERT_PTR_NULL(mg_buf_alloc(pool));
    CU_ASSERT_PTR_NULL(mg_buf_alloc(pool));
    CU_ASSERT_EQUAL(pool->alloc_failures, 2);
    CU_ASSERT_EQUAL(pool->allocs, 4);
    mg_buf_free(b[2]);
    CU_ASSERT_EQUAL(pool->in_use, 3);
    struct mg_buf *again = mg_buf_alloc(pool);
    CU_ASSERT_PTR_EQUAL(again, b[2]);
    for (int i = 0; i < 4; i++)
        mg_buf_free(b[i]);
    CU_ASSERT_EQUAL(pool->in_use, 0);
    CU_ASSERT_EQUAL(pool->frees, 5);
    mg_heap_pool_destroy(pool);
    CU_ASSERT_PTR_NULL(mg_heap_pool_create("bad", 0, 256, 64));
    CU_ASSERT_PTR_NULL(mg_heap_pool_create("bad", 4, 64, 64));
}

/* Buffer 0 first, then in address order; a freed buffer comes back before any
 * never-used one, most recently freed first (the simulator's determinism and its
 * small footprint rest on this order). */
static void test_pool_allocation_order(void) {
    enum { N = 64 };
    struct mg_pool *pool = mg_heap_pool_create("order", N, 256, 64);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pool);
    struct mg_buf *b[N];
    for (int i = 0; i < N / 2; i++) {
        b[i] = mg_buf_alloc(pool);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b[i]);
        if (i > 0)
            CU_ASSERT_PTR_EQUAL(b[i]->base, b[i - 1]->base + 256);
        CU_ASSERT_PTR_NULL(b[i]->next);
        CU_ASSERT_PTR_NULL(b[i]->dev_priv);
        CU_ASSERT_EQUAL(b[i]->user, 0);
    }
    mg_buf_free(b[5]);
    mg_buf_free(b[20]);
    CU_ASSERT_PTR_EQUAL(mg_buf_alloc(pool), b[20]);
    CU_ASSERT_PTR_EQUAL(mg_buf_alloc(pool), b[5]);
    struct mg_buf *next = mg_buf_alloc(pool);
    CU_ASSERT_PTR_EQUAL_FATAL(next->base, b[N / 2 - 1]->base + 256);
    b[N / 2] = next;
    for (int i = N / 2 + 1; i < N; i++)
        CU_ASSERT_PTR_NOT_NULL_FATAL(b[i] = mg_buf_alloc(pool));
    CU_ASSERT_PTR_NULL(mg_buf_alloc(pool));
    for (int i = 0; i < N; i++)
        mg_buf_free(b[i]);
    CU_ASSERT_EQUAL(pool->in_use, 0);
    mg_heap_pool_destroy(pool);
}

static void test_buf_bounds(void) {
    struct mg_pool *pool = mg_heap_pool_create("t", 1, 128, 32);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pool);
    struct mg_buf *b = mg_buf_alloc(pool);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    uint8_t *start = b->data;
    CU_ASSERT_PTR_EQUAL(mg_buf_append(b, 96), start);
    CU_ASSERT_EQUAL(b->len, 96);
    CU_ASSERT_PTR_NULL(mg_buf_append(b, 1)); /* no tailroom left */
    CU_ASSERT_EQUAL(b->len, 96);
    CU_ASSERT_PTR_EQUAL(mg_buf_prepend(b, 32), start - 32);
    CU_ASSERT_PTR_NULL(mg_buf_prepend(b, 1)); /* no headroom left */
    CU_ASSERT_EQUAL(b->len, 128);
    CU_ASSERT_EQUAL(mg_buf_pull(b, 129), -EINVAL);
    CU_ASSERT_EQUAL(mg_buf_pull(b, 28), 0);
    CU_ASSERT_EQUAL(b->len, 100);
    CU_ASSERT_EQUAL(mg_buf_trim(b, 101), -EINVAL);
    CU_ASSERT_EQUAL(mg_buf_trim(b, 10), 0);
    CU_ASSERT_EQUAL(b->len, 10);
    CU_ASSERT_EQUAL(mg_buf_pull(b, 10), 0);
    CU_ASSERT_EQUAL(b->len, 0);
    mg_buf_free(b);
    mg_heap_pool_destroy(pool);
}

static void test_buf_refcount_returns_to_pool(void) {
    struct mg_pool *pool = mg_heap_pool_create("t", 2, 128, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pool);
    struct mg_buf *b = mg_buf_alloc(pool);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    mg_buf_ref(b);
    mg_buf_ref(b);
    CU_ASSERT_EQUAL(b->refcnt, 3);
    mg_buf_free(b);
    mg_buf_free(b);
    CU_ASSERT_EQUAL(pool->in_use, 1);
    CU_ASSERT_EQUAL(b->magic, MG_BUF_MAGIC);
    mg_buf_free(b);
    CU_ASSERT_EQUAL(pool->in_use, 0);
    CU_ASSERT_EQUAL(b->magic, 0);
    mg_buf_free(NULL); /* harmless */
    mg_heap_pool_destroy(pool);

    struct mg_buf *h = mg_buf_alloc_heap(1000, 128);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(mg_buf_headroom(h), 128);
    CU_ASSERT_EQUAL(mg_buf_tailroom(h), 1000);
    mg_buf_ref(h);
    mg_buf_free(h);
    CU_ASSERT_EQUAL(h->refcnt, 1);
    mg_buf_free(h);
    CU_ASSERT_PTR_NULL(mg_buf_alloc_heap(SIZE_MAX - 8, 128));
}

/* ---- clocks ---- */

static void test_manual_clock_never_goes_backwards(void) {
    struct mg_clock c;
    mg_clock_init_manual(&c, 1000);
    CU_ASSERT_EQUAL(mg_clock_now(&c), 1000);
    mg_clock_advance(&c, 500);
    CU_ASSERT_EQUAL(mg_clock_now(&c), 1500);
    mg_clock_set(&c, 1200);
    CU_ASSERT_EQUAL(mg_clock_now(&c), 1500);
    mg_clock_set(&c, 3000);
    CU_ASSERT_EQUAL(mg_clock_now(&c), 3000);
}

static void test_monotonic_clock_is_monotonic(void) {
    struct mg_clock c;
    mg_clock_init_monotonic(&c);
    uint64_t prev = mg_clock_now(&c);
    CU_ASSERT(prev > 0);
    for (int i = 0; i < 1000; i++) {
        uint64_t now = mg_clock_now(&c);
        CU_ASSERT(now >= prev);
        prev = now;
    }
}

int main(void) {
    static const struct mg_test_case cases[] = {
        {"timer ordering", test_timer_ordering},
        {"timer equal deadlines in arming order", test_timer_equal_deadlines_fire_in_arming_order},
        {"timer re-arm and cancel", test_timer_rearm_and_cancel},
        {"timer fire that re-arms", test_timer_fire_that_rearms},
        {"10000 random timers fire in order", test_timer_many_random},
        {"rand same seed same sequence", test_rand_same_seed_same_sequence},
        {"rand_below bounds and uniformity", test_rand_below_bounds_and_uniformity},
        {"siphash reference vector", test_siphash_reference_vector},
        {"pool exhaustion counted", test_pool_exhaustion_counted},
        {"pool allocation order", test_pool_allocation_order},
        {"buffer prepend/append/pull/trim bounds", test_buf_bounds},
        {"buffer refcount returns to pool", test_buf_refcount_returns_to_pool},
        {"manual clock never goes backwards", test_manual_clock_never_goes_backwards},
        {"monotonic clock", test_monotonic_clock_is_monotonic},
        {NULL, NULL},
    };
    return mg_run_tests("core_base", cases);
}
