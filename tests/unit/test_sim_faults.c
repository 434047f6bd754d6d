/* tests/unit/test_sim_faults.c — the simulator's pieces on their own: the fault model
 * on link directions (loss within statistical bounds over 10,000 frames, Gilbert–
 * Elliott bursts, ordering with and without reordering, duplication, corruption of
 * exactly one bit, partitions and heals, bandwidth with a bounded queue and tail drop,
 * determinism of a seed), coroutines (order of switches, exit from deep inside), and
 * the scenario options (durations, partitions, processes, seeded fault mixes, the
 * stack configuration every host applies). */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "sim/coro.h"
#include "sim/link.h"
#include "sim/scenario.h"
#include "wire/be.h"

struct fixture {
    struct mg_clock clock;
    struct mg_sim_link *link;
    struct mg_netdev *dev[2];
};

static void setup(struct fixture *f, uint64_t seed) {
    memset(f, 0, sizeof(*f));
    mg_clock_init_manual(&f->clock, 0);
    struct mg_sim_link_params p = {.clock = &f->clock, .seed = seed, .latency_ns = 1000};
    CU_ASSERT_EQUAL_FATAL(mg_sim_link_create(&p, &f->link), 0);
    for (unsigned i = 0; i < 2; i++) {
        struct mg_sim_endpoint_params ep = {.mac = {0x02, 0, 0, 0, 0, (uint8_t)(i + 1)}, .pool_bufs = 4096};
        CU_ASSERT_EQUAL_FATAL(mg_sim_link_add_endpoint(f->link, &ep, &f->dev[i]), (int)i);
    }
}

static void teardown(struct fixture *f) {
    for (unsigned i = 0; i < 2; i++)
        mg_netdev_destroy(f->dev[i]);
    mg_sim_link_destroy(f->link);
}

/* A frame of `len` bytes from 0 to 1 carrying a 32-bit sequence number at byte 14. */
static void send_seq(struct fixture *f, uint32_t seq, uint32_t len) {
    struct mg_buf *b = mg_buf_alloc(f->dev[0]->pool);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    uint8_t *p = mg_buf_append(b, len);
    memset(p, 0xa5, len);
    memcpy(p, f->dev[1]->mac, 6);
    memcpy(p + 6, f->dev[0]->mac, 6);
    mg_be16_store(p + 12, 0x88b5);
    mg_be32_store(p + 14, seq);
    CU_ASSERT_EQUAL(mg_netdev_tx(f->dev[0], &b, 1), 1);
}

/* Receives everything due at endpoint 1: sequence numbers into seqs, returns count. */
static unsigned drain(struct fixture *f, uint32_t *seqs, unsigned max) {
    unsigned n = 0;
    struct mg_buf *b;
    while (mg_netdev_rx(f->dev[1], &b, 1) == 1) {
        if (n < max)
            seqs[n] = mg_be32_load(b->data + 14);
        n++;
        mg_buf_free(b);
    }
    return n;
}

static void test_fault_loss_within_bounds(void) {
    struct fixture f;
    setup(&f, 7);
    struct mg_fault_params fp = {.loss = 0.2, .delay_ns = 1000};
    CU_ASSERT_EQUAL(mg_sim_link_set_fault(f.link, 0, 1, &fp, 99), 0);
    enum { N = 10000 };
    unsigned got = 0;
    uint32_t seqs[4];
    for (uint32_t i = 0; i < N; i++) {
        send_seq(&f, i, 100);
        mg_clock_advance(&f.clock, 2000);
        got += drain(&f, seqs, 4);
    }
    const struct mg_fault_stats *st = mg_sim_link_fault_stats(f.link, 0, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    CU_ASSERT_EQUAL(st->frames, N);
    CU_ASSERT_EQUAL(st->lost + got, N);
    /* Expected 2000 lost, sd 40: allow 5 sd. */
    CU_ASSERT(st->lost >= 1800 && st->lost <= 2200);
    CU_ASSERT_EQUAL(mg_sim_link_endpoint_stats(f.link, 1)->lost, st->lost);
    CU_ASSERT_PTR_NULL(mg_sim_link_fault_stats(f.link, 1, 0)); /* the other direction has none */
    teardown(&f);
}

static void test_fault_bursts_cluster(void) {
    struct fixture f;
    setup(&f, 8);
    struct mg_fault_params fp = {
        .burst = true, .burst_enter = 0.01, .burst_exit = 0.2, .burst_loss = 1.0, .delay_ns = 1000};
    CU_ASSERT_EQUAL(mg_sim_link_set_fault(f.link, 0, 1, &fp, 5), 0);
    enum { N = 10000 };
    bool prev_lost = false;
    unsigned lost = 0, lost_after_lost = 0;
    uint32_t seqs[4];
    for (uint32_t i = 0; i < N; i++) {
        send_seq(&f, i, 100);
        mg_clock_advance(&f.clock, 2000);
        bool is_lost = drain(&f, seqs, 4) == 0;
        lost += is_lost;
        lost_after_lost += is_lost && prev_lost;
        prev_lost = is_lost;
    }
    /* Stationary bad fraction 0.01/0.21 ~ 4.8%: expect ~476 lost. */
    CU_ASSERT(lost > 300 && lost < 700);
    /* Bursty: a loss follows a loss far more often than the overall rate (~80% vs 5%). */
    CU_ASSERT(lost_after_lost * 2 > lost);
    teardown(&f);
}

static void test_fault_order_kept_without_reorder(void) {
    struct fixture f;
    setup(&f, 9);
    struct mg_fault_params fp = {.delay_ns = 5000};
    CU_ASSERT_EQUAL(mg_sim_link_set_fault(f.link, 0, 1, &fp, 1), 0);
    for (uint32_t i = 0; i < 100; i++)
        send_seq(&f, i, 80);
    mg_clock_set(&f.clock, 4999);
    uint32_t seqs[128];
    CU_ASSERT_EQUAL(drain(&f, seqs, 128), 0); /* latency is respected */
    mg_clock_set(&f.clock, 5000);
    CU_ASSERT_EQUAL_FATAL(drain(&f, seqs, 128), 100);
    for (uint32_t i = 0; i < 100; i++)
        CU_ASSERT_EQUAL(seqs[i], i);
    teardown(&f);
}

static void test_fault_reorder_delivers_all(void) {
    struct fixture f;
    setup(&f, 10);
    struct mg_fault_params fp = {.delay_ns = 1000, .reorder = 0.3, .reorder_delay_ns = 50000};
    CU_ASSERT_EQUAL(mg_sim_link_set_fault(f.link, 0, 1, &fp, 3), 0);
    enum { N = 1000 };
    uint32_t seqs[N];
    unsigned got = 0;
    for (uint32_t i = 0; i < N; i++) {
        send_seq(&f, i, 80);
        mg_clock_advance(&f.clock, 1000);
        got += drain(&f, seqs + got, N - got);
    }
    mg_clock_advance(&f.clock, 100000);
    got += drain(&f, seqs + got, N - got);
    CU_ASSERT_EQUAL_FATAL(got, N);
    unsigned inversions = 0;
    bool seen[N] = {false};
    for (unsigned i = 0; i < N; i++) {
        CU_ASSERT_FALSE(seen[seqs[i]]);
        seen[seqs[i]] = true;
        if (i > 0 && seqs[i] < seqs[i - 1])
            inversions++;
    }
    CU_ASSERT(inversions > 100); /* ~300 held back */
    CU_ASSERT(mg_sim_link_fault_stats(f.link, 0, 1)->reordered > 200);
    teardown(&f);
}

static void test_fault_duplicate_and_corrupt(void) {
    struct fixture f;
    setup(&f, 11);
    struct mg_fault_params fp = {.delay_ns = 1000, .duplicate = 1.0, .corrupt = 1.0};
    CU_ASSERT_EQUAL(mg_sim_link_set_fault(f.link, 0, 1, &fp, 4), 0);
    send_seq(&f, 42, 200);
    mg_clock_advance(&f.clock, 10000);
    struct mg_buf *b[2];
    CU_ASSERT_EQUAL_FATAL(mg_netdev_rx(f.dev[1], b, 2), 2);
    CU_ASSERT_EQUAL(b[0]->len, 200);
    CU_ASSERT_EQUAL(b[1]->len, 200);
    /* Exactly one of the copies differs, by exactly one bit. */
    unsigned bits = 0;
    for (unsigned i = 0; i < 200; i++)
        bits += (unsigned)__builtin_popcount(b[0]->data[i] ^ b[1]->data[i]);
    CU_ASSERT_EQUAL(bits, 1);
    mg_buf_free(b[0]);
    mg_buf_free(b[1]);
    const struct mg_fault_stats *st = mg_sim_link_fault_stats(f.link, 0, 1);
    CU_ASSERT_EQUAL(st->duplicated, 1);
    CU_ASSERT_EQUAL(st->corrupted, 1);
    teardown(&f);
}

static void test_partition_and_heal(void) {
    struct fixture f;
    setup(&f, 12);
    uint32_t seqs[16];
    CU_ASSERT_EQUAL(mg_sim_link_set_partition(f.link, 0, 1, true), 0);
    for (uint32_t i = 0; i < 10; i++)
        send_seq(&f, i, 80);
    mg_clock_advance(&f.clock, 100000);
    CU_ASSERT_EQUAL(drain(&f, seqs, 16), 0);
    CU_ASSERT_EQUAL(mg_sim_link_fault_stats(f.link, 0, 1)->partitioned, 10);
    CU_ASSERT_EQUAL(mg_sim_link_set_partition(f.link, 0, 1, false), 0);
    for (uint32_t i = 0; i < 10; i++)
        send_seq(&f, 100 + i, 80);
    mg_clock_advance(&f.clock, 100000);
    CU_ASSERT_EQUAL_FATAL(drain(&f, seqs, 16), 10); /* the path kept its latency and zero loss */
    CU_ASSERT_EQUAL(seqs[0], 100);
    CU_ASSERT_EQUAL(mg_sim_link_set_partition(f.link, 99, 1, true), -EINVAL);
    teardown(&f);
}

static void test_bandwidth_and_tail_drop(void) {
    struct fixture f;
    setup(&f, 13);
    /* 8 Mbit/s: a 1000-byte frame takes 1 ms; a 10,000-byte queue holds 10 of them. */
    struct mg_fault_params fp = {.rate_bps = 8000000, .queue_bytes = 10000};
    CU_ASSERT_EQUAL(mg_sim_link_set_fault(f.link, 0, 1, &fp, 6), 0);
    for (uint32_t i = 0; i < 30; i++)
        send_seq(&f, i, 1000);
    const struct mg_fault_stats *st = mg_sim_link_fault_stats(f.link, 0, 1);
    CU_ASSERT(st->queue_drops >= 18 && st->queue_drops <= 20);
    unsigned accepted = 30 - (unsigned)st->queue_drops;
    uint32_t seqs[32];
    /* Serialization spaces deliveries 1 ms apart, in order. */
    unsigned got = 0;
    for (unsigned ms = 1; ms <= accepted; ms++) {
        mg_clock_set(&f.clock, ms * 1000000ull);
        unsigned n = drain(&f, seqs + got, 32 - got);
        CU_ASSERT_EQUAL(n, 1);
        got += n;
    }
    CU_ASSERT_EQUAL(got, accepted);
    for (unsigned i = 0; i < got; i++)
        CU_ASSERT_EQUAL(seqs[i], i);
    teardown(&f);
}

static void hash_tap(void *ctx, enum mg_sim_tap_event ev, uint64_t t, unsigned from, unsigned to, const uint8_t *frame,
                     size_t len) {
    uint64_t *h = ctx;
    uint64_t meta[4] = {ev, t, from, to};
    for (size_t i = 0; i < sizeof(meta); i++)
        *h = (*h ^ ((const uint8_t *)meta)[i]) * 0x100000001b3ull;
    for (size_t i = 0; i < len; i++)
        *h = (*h ^ frame[i]) * 0x100000001b3ull;
}

static uint64_t faulty_run(uint64_t seed) {
    struct fixture f;
    setup(&f, seed);
    struct mg_fault_params fp = {.loss = 0.1,
                                 .duplicate = 0.1,
                                 .corrupt = 0.1,
                                 .reorder = 0.1,
                                 .reorder_delay_ns = 7000,
                                 .delay_ns = 1000,
                                 .jitter_ns = 3000};
    mg_sim_link_set_fault(f.link, 0, 1, &fp, seed * 3);
    uint64_t h = 0xcbf29ce484222325ull;
    mg_sim_link_set_tap(f.link, hash_tap, &h);
    uint32_t seqs[8];
    for (uint32_t i = 0; i < 500; i++) {
        send_seq(&f, i, 64 + i % 200);
        mg_clock_advance(&f.clock, 700);
        drain(&f, seqs, 8);
    }
    teardown(&f);
    return h;
}

static void test_fault_determinism(void) {
    CU_ASSERT_EQUAL(faulty_run(21), faulty_run(21));
    CU_ASSERT_NOT_EQUAL(faulty_run(21), faulty_run(22));
}

/* ---- coroutines ---- */

static char order[64];
static size_t order_len;
static void note(char c) {
    if (order_len + 1 < sizeof(order))
        order[order_len++] = c;
}

/* Exits the coroutine from `depth` frames down its stack (called through a pointer
 * so the compiler keeps every frame). */
static void deep_exit(int depth);
static void (*volatile deep_exit_ptr)(int) = deep_exit;
static void deep_exit(int depth) {
    char pad[256];
    memset(pad, depth, sizeof(pad));
    if (depth > 0 && pad[depth % 256] == (char)depth)
        deep_exit_ptr(depth - 1);
    note('x');
    mg_coro_exit();
}

static void coro_a(void *arg) {
    note(*(char *)arg);
    mg_coro_yield();
    note('b');
    CU_ASSERT_PTR_NOT_NULL(mg_coro_current());
    mg_coro_yield();
    deep_exit(50);
    note('!'); /* never reached */
}

static void coro_b(void *arg) {
    (void)arg;
    note('1');
    mg_coro_yield();
    note('2');
}

static void test_coroutines(void) {
    order_len = 0;
    char tag = 'a';
    struct mg_coro *a = mg_coro_create(coro_a, &tag, 0), *b = mg_coro_create(coro_b, NULL, 64 * 1024);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_PTR_NULL(mg_coro_current());
    CU_ASSERT_TRUE(mg_coro_resume(a));
    CU_ASSERT_TRUE(mg_coro_resume(b));
    CU_ASSERT_TRUE(mg_coro_resume(a));
    CU_ASSERT_FALSE(mg_coro_resume(b)); /* returned from its function */
    CU_ASSERT_FALSE(mg_coro_resume(a)); /* exited from deep inside */
    CU_ASSERT_TRUE(mg_coro_finished(a));
    CU_ASSERT_FALSE(mg_coro_resume(a)); /* a finished coroutine stays finished */
    order[order_len] = '\0';
    CU_ASSERT_STRING_EQUAL(order, "a1b2x");
    mg_coro_destroy(a);
    mg_coro_destroy(b);
}

/* ---- scenario options ---- */

static void test_durations(void) {
    uint64_t ns;
    CU_ASSERT_EQUAL(mg_sim_parse_duration("10", &ns), 0);
    CU_ASSERT_EQUAL(ns, 10000000000ull);
    CU_ASSERT_EQUAL(mg_sim_parse_duration("250ms", &ns), 0);
    CU_ASSERT_EQUAL(ns, 250000000ull);
    CU_ASSERT_EQUAL(mg_sim_parse_duration("40us", &ns), 0);
    CU_ASSERT_EQUAL(ns, 40000ull);
    CU_ASSERT_EQUAL(mg_sim_parse_duration("2m", &ns), 0);
    CU_ASSERT_EQUAL(ns, 120000000000ull);
    CU_ASSERT_EQUAL(mg_sim_parse_duration("1h", &ns), 0);
    CU_ASSERT_EQUAL(ns, 3600000000000ull);
    CU_ASSERT_EQUAL(mg_sim_parse_duration("5parsecs", &ns), -EINVAL);
    CU_ASSERT_EQUAL(mg_sim_parse_duration("-1", &ns), -EINVAL);
    CU_ASSERT_EQUAL(mg_sim_parse_duration("", &ns), -EINVAL);
}

static int opt(struct mg_sim_options *o, const char *k, const char *v) {
    bool used;
    char err[256];
    return mg_sim_option(o, k, v, &used, err, sizeof(err));
}

static void test_options(void) {
    struct mg_sim_options o;
    mg_sim_options_init(&o);
    CU_ASSERT_EQUAL(opt(&o, "proc", "3:xfer --client 10.0.0.1 80"), 0);
    CU_ASSERT_EQUAL(o.sc.nhosts, 4); /* grows to fit the process */
    CU_ASSERT_EQUAL(o.sc.procs[0].argc, 4);
    CU_ASSERT_STRING_EQUAL(o.sc.procs[0].argv[0], "xfer");
    CU_ASSERT_FALSE(o.sc.procs[0].daemon);
    CU_ASSERT_EQUAL(opt(&o, "daemon", "0:xfer --server 10.0.0.1 80"), 0);
    CU_ASSERT_TRUE(o.sc.procs[1].daemon);
    CU_ASSERT_EQUAL(opt(&o, "proc", "x:xfer"), -EINVAL);
    CU_ASSERT_EQUAL(opt(&o, "proc", "1:"), -EINVAL);
    CU_ASSERT_EQUAL(opt(&o, "loss", "0.25"), 0);
    CU_ASSERT_EQUAL(o.sc.fault.loss, 0.25);
    CU_ASSERT_EQUAL(opt(&o, "loss", "1.5"), -EINVAL);
    CU_ASSERT_EQUAL(opt(&o, "reorder", "0.1,300us"), 0);
    CU_ASSERT_EQUAL(o.sc.fault.reorder_delay_ns, 300000);
    CU_ASSERT_EQUAL(opt(&o, "burst", "0.01,0.3,0.9"), 0);
    CU_ASSERT_TRUE(o.sc.fault.burst);
    CU_ASSERT_EQUAL(opt(&o, "partition", "0-1@2s+3s"), 0);
    CU_ASSERT_EQUAL(o.sc.partitions[0].at_ns, 2000000000ull);
    CU_ASSERT_EQUAL(o.sc.partitions[0].heal_ns, 5000000000ull);
    CU_ASSERT_EQUAL(opt(&o, "partition", "2-*@1s"), 0);
    CU_ASSERT_EQUAL(o.sc.partitions[1].b, MG_SIM_ALL_HOSTS);
    CU_ASSERT_EQUAL(o.sc.partitions[1].heal_ns, 0);
    CU_ASSERT_EQUAL(opt(&o, "partition", "0-1"), -EINVAL);
    CU_ASSERT_EQUAL(opt(&o, "frobnicate", "1"), -EINVAL);
    char err[256];
    CU_ASSERT_EQUAL(mg_sim_options_finish(&o, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(opt(&o, "hosts", "2"), 0);
    CU_ASSERT_EQUAL(mg_sim_options_finish(&o, err, sizeof(err)), -EINVAL); /* process on host 3 */
    mg_sim_options_free(&o);
}

/* The stack configuration a host of the scenario would run with. */
static struct mg_config host_config(const struct mg_sim_options *o) {
    struct mg_config cfg;
    char err[256];
    mg_config_defaults(&cfg);
    CU_ASSERT_EQUAL(mg_sim_stack_config_apply(&o->sc, &cfg, err, sizeof(err)), 0);
    return cfg;
}

static void test_stack_options(void) {
    struct mg_sim_options o;
    mg_sim_options_init(&o);
    struct mg_config cfg = host_config(&o);
    CU_ASSERT_EQUAL(cfg.tcp_retries, 15); /* the defaults without any */
    CU_ASSERT_EQUAL(opt(&o, "stack", "tcp.retries 30"), 0);
    CU_ASSERT_EQUAL(opt(&o, "stack", "tcp_socket_options.nodelay=true"), 0);
    CU_ASSERT_EQUAL(opt(&o, "stack", "tcp.max_rto_ms = 10000"), 0);
    cfg = host_config(&o);
    CU_ASSERT_EQUAL(cfg.tcp_retries, 30);
    CU_ASSERT_TRUE(cfg.nodelay);
    CU_ASSERT_EQUAL(cfg.tcp_max_rto_ns, 10000ull * 1000000ull);
    CU_ASSERT_EQUAL(o.sc.nstack_config, 3);

    /* Refused, and nothing kept of them: a bad value, an unknown key, keys that are
     * the simulator's, malformed keys. */
    const char *bad[] = {"tcp.retries 0",
                         "tcp.frobnicate 1",
                         "demikernel.local_ipv4_addr 1.2.3.4",
                         "margay.libos posix",
                         "margay.netdev sim",
                         "margay.seed 7",
                         "margay.capture x.pcapng",
                         "margay.fault.tx.loss 1",
                         "tcp..retries 1",
                         ".tcp 1",
                         "tcp. 1",
                         "tcp.retries",
                         "tcp:retries 1",
                         "tcp.retries\n1"};
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bool used;
        char err[256] = "";
        CU_ASSERT_EQUAL(mg_sim_option(&o, "stack", bad[i], &used, err, sizeof(err)), -EINVAL);
        CU_ASSERT_NOT_EQUAL(err[0], '\0');
    }
    CU_ASSERT_EQUAL(o.sc.nstack_config, 3);
    cfg = host_config(&o);
    CU_ASSERT_EQUAL(cfg.tcp_retries, 30);

    /* A configuration file applies in order with the keys: later wins. */
    char path[] = "/tmp/margay-test-sim-config.XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    const char yaml[] = "tcp:\n  retries: 40\ntcp_socket_options:\n  keepalive:\n    enabled: true\n";
    CU_ASSERT_EQUAL(write(fd, yaml, sizeof(yaml) - 1), (ssize_t)(sizeof(yaml) - 1));
    close(fd);
    CU_ASSERT_EQUAL(opt(&o, "config", path), 0);
    cfg = host_config(&o);
    CU_ASSERT_EQUAL(cfg.tcp_retries, 40);
    CU_ASSERT_TRUE(cfg.keepalive_enabled);
    CU_ASSERT_EQUAL(opt(&o, "stack", "tcp.retries 50"), 0);
    cfg = host_config(&o);
    CU_ASSERT_EQUAL(cfg.tcp_retries, 50);
    unlink(path);
    CU_ASSERT_EQUAL(opt(&o, "config", path), -ENOENT);

    /* Bounded: a scenario holds at most MG_SIM_MAX_STACK_CONFIG pieces. */
    while (o.sc.nstack_config < MG_SIM_MAX_STACK_CONFIG)
        CU_ASSERT_EQUAL_FATAL(opt(&o, "stack", "tcp.syn_retries 9"), 0);
    CU_ASSERT_EQUAL(opt(&o, "stack", "tcp.syn_retries 9"), -EINVAL);
    mg_sim_options_free(&o);
    CU_ASSERT_EQUAL(o.sc.nstack_config, 0);
}

static void test_random_faults_per_seed(void) {
    struct mg_sim_options o;
    mg_sim_options_init(&o);
    CU_ASSERT_EQUAL(opt(&o, "hosts", "3"), 0);
    bool used;
    char err[64];
    CU_ASSERT_EQUAL(mg_sim_option(&o, "random-faults", NULL, &used, err, sizeof(err)), 0);
    CU_ASSERT_FALSE(used);
    struct mg_sim_scenario a, b, c;
    mg_sim_scenario_for_seed(&o, 5, &a);
    mg_sim_scenario_for_seed(&o, 5, &b);
    mg_sim_scenario_for_seed(&o, 6, &c);
    CU_ASSERT_EQUAL(memcmp(&a.fault, &b.fault, sizeof(a.fault)), 0);
    CU_ASSERT_NOT_EQUAL(a.fault.loss, c.fault.loss);
    for (uint64_t s = 0; s < 200; s++) {
        mg_sim_scenario_for_seed(&o, s, &a);
        CU_ASSERT(a.fault.loss >= 0 && a.fault.loss <= 0.3);
        CU_ASSERT_EQUAL(a.npartitions, 1);
        CU_ASSERT(a.partitions[0].a != a.partitions[0].b && a.partitions[0].b < 3);
        CU_ASSERT(a.partitions[0].heal_ns > a.partitions[0].at_ns);
        CU_ASSERT_EQUAL(mg_fault_params_check(&a.fault), 0);
    }
    mg_sim_options_free(&o);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return CU_get_error();
    CU_pSuite s = CU_add_suite("sim_faults", NULL, NULL);
    CU_add_test(s, "fault loss within statistical bounds", test_fault_loss_within_bounds);
    CU_add_test(s, "Gilbert-Elliott losses cluster", test_fault_bursts_cluster);
    CU_add_test(s, "order kept without reordering", test_fault_order_kept_without_reorder);
    CU_add_test(s, "reordering delivers every frame once", test_fault_reorder_delivers_all);
    CU_add_test(s, "duplicate and one-bit corruption", test_fault_duplicate_and_corrupt);
    CU_add_test(s, "partition and heal", test_partition_and_heal);
    CU_add_test(s, "bandwidth and tail drop", test_bandwidth_and_tail_drop);
    CU_add_test(s, "same seed, same faults", test_fault_determinism);
    CU_add_test(s, "coroutines", test_coroutines);
    CU_add_test(s, "durations", test_durations);
    CU_add_test(s, "options", test_options);
    CU_add_test(s, "random faults per seed", test_random_faults_per_seed);
    CU_add_test(s, "stack configuration for every host", test_stack_options);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failures ? 1 : 0;
}
