/* tests/unit/test_dpdk_stack.c — two inet stacks in one process over DPDK net_ring
 * pairs, one thread, polled in turn, on real time: the stack code that runs on a PCI
 * NIC, unchanged, on DPDK's in-memory ring device. An echo server on one stack and a
 * client on the other (the client pushes, the server pops and pushes the very buffer
 * back, the client checks every byte), and a one-way bulk transfer checked byte for
 * byte by the receiver, for payloads of 1 B .. 16 MiB; then the same over a second
 * ring pair with the fault-injection wrapper in front of one side (loss, duplicates,
 * reordering, corruption). ARP resolves for real (no static entries). After every
 * run both TCP layers keep their invariants; at the end every mbuf is back. */
#include "config.h"

#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/runtime.h"
#include "cunit_main.h"
#include "drivers/dpdk/dpdk_netdev.h"
#include "drivers/fault.h"
#include "inet/inet.h"
#include "inet/netdev.h"
#include "inet/tcp.h"
#include "libos/inet/proto.h"
#include "tests/dpdk/eal_memory.h"

#define SERVER 0
#define CLIENT 1
#define RUN_LIMIT_NS (120ull * MG_NS_PER_S) /* real time per run; a healthy run takes < 2 s */

#ifdef MARGAY_SANITIZERS
#define BIG_SIZE (4u << 20) /* ASan makes every byte check ~10x slower */
#else
#define BIG_SIZE (16u << 20)
#endif

static const char *const eal_extra[] = {"--no-pci", "--no-telemetry", "--log-level=warning"};
static struct mg_test_eal eal; /* hugepages when the machine has them, else --no-huge */

/* Two stacks joined by one ring pair. */
struct pair {
    struct mg_rt *rt[2];
    struct mg_clock clock; /* for the fault wrapper */
    struct mg_netdev *fault_dev;
    uint32_t addr[2];
};

static struct pair plain, faulty;
static uint16_t next_port = 7000;

static struct mg_inet_libos *lib_of(struct pair *p, unsigned h) {
    return mg_rt_libos_state(p->rt[h]);
}

static void use(struct pair *p, unsigned h) {
    mg_rt_set_current(p->rt[h]);
}

static void poll_both(struct pair *p) {
    for (unsigned h = 0; h < 2; h++) {
        mg_rt_set_current(p->rt[h]);
        mg_libos_inet_ops.poll(lib_of(p, h), 0);
    }
}

static int open_ring_port(const char *name, struct rte_ring *rx, struct rte_ring *tx, struct mg_netdev **dev) {
    static uint8_t next_mac = 1;
    int port = rte_eth_from_rings(name, &rx, 1, &tx, 1, SOCKET_ID_ANY);
    if (port < 0)
        return -ENODEV;
    struct mg_config cfg;
    mg_config_defaults(&cfg);
    cfg.dpdk_rx_desc = 512;
    cfg.dpdk_tx_desc = 512;
    cfg.dpdk_mempool_size = 8191;
    cfg.dpdk_link_timeout_ms = 1000;
    char spec[64], err[512] = "";
    snprintf(spec, sizeof(spec), "net_ring_%s", name);
    int rc = mg_dpdk_netdev_open_port(&cfg, spec, dev, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "open %s: %s\n", spec, err);
    /* Ports made by rte_eth_from_rings all share one MAC and net_ring cannot change
     * it (no mac_addr_set); a ring delivers every frame regardless, so giving the
     * netdev its own station address is enough for the two stacks to tell each
     * other apart. */
    if (rc == 0) {
        const uint8_t mac[6] = {0x02, 0x00, 0xc6, 0x12, 0x00, next_mac++};
        memcpy((*dev)->mac, mac, 6);
    }
    mg_config_free(&cfg);
    return rc;
}

static int make_stack(struct pair *p, unsigned h, struct mg_netdev *dev, uint64_t seed) {
    struct mg_config cfg;
    mg_config_defaults(&cfg);
    strcpy(cfg.libos, "inet");
    strcpy(cfg.netdev, "dpdk");
    cfg.seed = seed;
    cfg.seed_set = true;
    cfg.local_ipv4_addr = p->addr[h];
    cfg.ipv4_netmask = 0xffffff00u;
    /* Received payload stays in mbufs until the application frees it and the echo
     * server sends those mbufs back: bound what a connection holds by the pool. */
    cfg.tcp_recv_buffer = 512 * 1024;
    cfg.tcp_send_buffer = 512 * 1024;
    cfg.tcp_delayed_ack_ns = 0;
    struct mg_inet_libos_args args = {.dev = dev, .owns_dev = true};
    struct mg_rt_params rp = {.libos = &mg_libos_inet_ops, .cfg = &cfg, .libos_arg = &args};
    int rc = mg_rt_create(&rp, &p->rt[h]);
    mg_config_free(&cfg);
    if (rc < 0)
        mg_netdev_destroy(dev);
    return rc;
}

static int make_pair(struct pair *p, const char *tag, uint32_t net, const struct mg_fault_wrap_opts *fault) {
    char n0[32], n1[32];
    snprintf(n0, sizeof(n0), "%s_ab", tag);
    snprintf(n1, sizeof(n1), "%s_ba", tag);
    struct rte_ring *ab = rte_ring_create(n0, 2048, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    struct rte_ring *ba = rte_ring_create(n1, 2048, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!ab || !ba)
        return -ENOMEM;
    struct mg_netdev *d0 = NULL, *d1 = NULL;
    snprintf(n0, sizeof(n0), "%s0", tag);
    snprintf(n1, sizeof(n1), "%s1", tag);
    int rc = open_ring_port(n0, ba, ab, &d0);
    if (rc == 0)
        rc = open_ring_port(n1, ab, ba, &d1);
    if (rc != 0)
        return rc;
    if (fault) {
        mg_clock_init_monotonic(&p->clock);
        rc = mg_fault_wrap(d1, &p->clock, fault, &p->fault_dev);
        if (rc != 0)
            return rc;
        d1 = p->fault_dev;
    }
    p->addr[SERVER] = net | 1;
    p->addr[CLIENT] = net | 2;
    rc = make_stack(p, SERVER, d0, 11);
    if (rc == 0)
        rc = make_stack(p, CLIENT, d1, 12);
    return rc;
}

static uint64_t now_ns(void);

static void destroy_pair(struct pair *p) {
    /* Frames still in a ring or held back by the fault wrapper are pool buffers too:
     * let them arrive first. */
    uint64_t until = now_ns() + 200 * MG_NS_PER_MS;
    while (p->rt[0] && p->rt[1] && now_ns() < until)
        poll_both(p);
    for (unsigned h = 0; h < 2; h++) {
        if (!p->rt[h])
            continue;
        struct mg_netdev *dev = lib_of(p, h)->dev;
        if (dev->pool->in_use != 0)
            fprintf(stderr, "stack %u: %u pool buffers still in use\n", h, dev->pool->in_use);
        CU_ASSERT_EQUAL(dev->pool->in_use, 0);
        if (mg_rt_current() == p->rt[h])
            mg_rt_set_current(NULL);
        mg_rt_destroy(p->rt[h]);
        p->rt[h] = NULL;
    }
}

/* ---- the echo and bulk drivers ---- */

enum tok_kind { K_ACCEPT, K_SPOP, K_SPUSH, K_CONNECT, K_CPUSH, K_CPOP };

struct tok {
    enum tok_kind kind;
    int qd;
    demi_sgarray_t sga;
};

#define MAX_TOKS 4096 /* echo: a push per popped segment may be in flight */

struct run {
    struct pair *p;
    size_t size;
    bool echo; /* false: bulk, the client only sends and the server checks */
    demi_qtoken_t qts[2][MAX_TOKS];
    struct tok meta[2][MAX_TOKS];
    int n[2];
    int lqd, cqd;
    size_t sent_chunks_bytes; /* bulk: bytes handed to push so far */
    size_t received;          /* echo: at the client; bulk: at the server */
    bool done, failed, corrupt;
    int fail_errno;
};

static void fill_pattern(uint8_t *b, size_t len, size_t from) {
    for (size_t i = 0; i < len; i++)
        b[i] = (uint8_t)((from + i) * 13 + ((from + i) >> 11) + 5);
}

static bool pattern_ok(const uint8_t *b, size_t len, size_t from) {
    for (size_t i = 0; i < len; i++)
        if (b[i] != (uint8_t)((from + i) * 13 + ((from + i) >> 11) + 5))
            return false;
    return true;
}

static void tok_add(struct run *r, unsigned h, demi_qtoken_t qt, struct tok t) {
    CU_ASSERT_FATAL(r->n[h] < MAX_TOKS);
    r->qts[h][r->n[h]] = qt;
    r->meta[h][r->n[h]] = t;
    r->n[h]++;
}

static void issue_pop(struct run *r, unsigned h, enum tok_kind k, int qd) {
    use(r->p, h);
    demi_qtoken_t qt;
    CU_ASSERT_EQUAL_FATAL(demi_pop(&qt, qd), 0);
    tok_add(r, h, qt, (struct tok){.kind = k, .qd = qd});
}

static void issue_push(struct run *r, unsigned h, enum tok_kind k, int qd, demi_sgarray_t sga) {
    use(r->p, h);
    demi_qtoken_t qt;
    CU_ASSERT_EQUAL_FATAL(demi_push(&qt, qd, &sga), 0);
    tok_add(r, h, qt, (struct tok){.kind = k, .qd = qd, .sga = sga});
}

#define BULK_CHUNK (256u * 1024u)

/* Bulk: keeps up to two chunks in flight. */
static void bulk_send_more(struct run *r) {
    while (r->sent_chunks_bytes < r->size && r->n[CLIENT] < 3) {
        size_t len = r->size - r->sent_chunks_bytes;
        if (len > BULK_CHUNK)
            len = BULK_CHUNK;
        use(r->p, CLIENT);
        demi_sgarray_t sga = demi_sgaalloc(len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(sga.sga_buf);
        fill_pattern(sga.sga_segs[0].sgaseg_buf, len, r->sent_chunks_bytes);
        r->sent_chunks_bytes += len;
        issue_push(r, CLIENT, K_CPUSH, r->cqd, sga);
    }
}

static void fail(struct run *r, int err) {
    if (!r->failed && !r->done) {
        r->failed = true;
        r->fail_errno = err;
    }
}

static void handle(struct run *r, unsigned h, struct tok m, const demi_qresult_t *qr) {
    use(r->p, h);
    bool failed = qr->qr_opcode == DEMI_OPC_FAILED;
    switch (m.kind) {
    case K_ACCEPT:
        if (failed)
            return fail(r, (int)qr->qr_ret);
        issue_pop(r, h, K_SPOP, qr->qr_value.ares.qd);
        return;
    case K_SPOP: {
        if (failed) {
            demi_close(m.qd);
            return;
        }
        demi_sgarray_t sga = qr->qr_value.sga;
        size_t len = sga.sga_segs[0].sgaseg_len;
        if (len == 0) {
            demi_sgafree(&sga);
            demi_close(m.qd);
            return;
        }
        if (r->echo) {
            issue_push(r, h, K_SPUSH, m.qd, sga);
        } else {
            if (r->received + len > r->size || !pattern_ok(sga.sga_segs[0].sgaseg_buf, len, r->received))
                r->corrupt = true;
            r->received += len;
            demi_sgafree(&sga);
            if (r->received >= r->size)
                r->done = true;
        }
        issue_pop(r, h, K_SPOP, m.qd);
        return;
    }
    case K_SPUSH:
    case K_CPUSH:
        demi_sgafree(&m.sga);
        if (failed)
            fail(r, (int)qr->qr_ret);
        else if (!r->echo && m.kind == K_CPUSH)
            bulk_send_more(r);
        return;
    case K_CONNECT: {
        if (failed)
            return fail(r, (int)qr->qr_ret);
        if (r->echo) {
            demi_sgarray_t sga = demi_sgaalloc(r->size);
            CU_ASSERT_PTR_NOT_NULL_FATAL(sga.sga_buf);
            fill_pattern(sga.sga_segs[0].sgaseg_buf, r->size, 0);
            issue_push(r, h, K_CPUSH, r->cqd, sga);
            issue_pop(r, h, K_CPOP, r->cqd);
        } else {
            bulk_send_more(r);
        }
        return;
    }
    case K_CPOP: {
        if (failed)
            return fail(r, (int)qr->qr_ret);
        demi_sgarray_t sga = qr->qr_value.sga;
        size_t len = sga.sga_segs[0].sgaseg_len;
        if (len == 0 || r->received + len > r->size || !pattern_ok(sga.sga_segs[0].sgaseg_buf, len, r->received)) {
            r->corrupt = true;
            demi_sgafree(&sga);
            return fail(r, EPROTO);
        }
        r->received += len;
        demi_sgafree(&sga);
        if (r->received == r->size)
            r->done = true;
        else
            issue_pop(r, h, K_CPOP, r->cqd);
        return;
    }
    }
}

/* Polls both stacks and runs every completed operation. */
static void step(struct run *r) {
    const struct timespec zero = {0, 0};
    poll_both(r->p);
    for (unsigned h = 0; h < 2; h++) {
        while (r->n[h] > 0) {
            use(r->p, h);
            demi_qresult_t qr;
            int off = -1;
            if (demi_wait_any(&qr, &off, r->qts[h], r->n[h], &zero) != 0)
                break;
            struct tok m = r->meta[h][off];
            r->n[h]--;
            r->qts[h][off] = r->qts[h][r->n[h]];
            r->meta[h][off] = r->meta[h][r->n[h]];
            handle(r, h, m, &qr);
        }
    }
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * MG_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static bool all_pushes_done(struct run *r) {
    for (unsigned h = 0; h < 2; h++)
        for (int i = 0; i < r->n[h]; i++)
            if (r->meta[h][i].kind == K_SPUSH || r->meta[h][i].kind == K_CPUSH)
                return false;
    return true;
}

static void check_invariants(struct pair *p) {
    for (unsigned h = 0; h < 2; h++) {
        char why[256] = "";
        int rc = mg_tcp_check_invariants(lib_of(p, h)->inet->tcp, why, sizeof(why));
        if (rc)
            fprintf(stderr, "stack %u: %s\n", h, why);
        CU_ASSERT_EQUAL(rc, 0);
    }
}

static void transfer(struct pair *p, size_t size, bool echo) {
    struct run *r = calloc(1, sizeof(*r));
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    r->p = p;
    r->size = size;
    r->echo = echo;
    uint16_t port = next_port++;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
    sin.sin_addr.s_addr = htonl(p->addr[SERVER]);

    use(p, SERVER);
    CU_ASSERT_EQUAL_FATAL(demi_socket(&r->lqd, AF_INET, SOCK_STREAM, 0), 0);
    CU_ASSERT_EQUAL_FATAL(demi_bind(r->lqd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    CU_ASSERT_EQUAL_FATAL(demi_listen(r->lqd, 16), 0);
    demi_qtoken_t qt;
    CU_ASSERT_EQUAL_FATAL(demi_accept(&qt, r->lqd), 0);
    tok_add(r, SERVER, qt, (struct tok){.kind = K_ACCEPT, .qd = r->lqd});
    use(p, CLIENT);
    CU_ASSERT_EQUAL_FATAL(demi_socket(&r->cqd, AF_INET, SOCK_STREAM, 0), 0);
    CU_ASSERT_EQUAL_FATAL(demi_connect(&qt, r->cqd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    tok_add(r, CLIENT, qt, (struct tok){.kind = K_CONNECT, .qd = r->cqd});

    uint64_t start = now_ns();
    while (!r->done && !r->failed && now_ns() - start < RUN_LIMIT_NS)
        step(r);
    /* Let the last pushes complete so their buffers come back before closing. */
    uint64_t drain_start = now_ns();
    while (r->done && !all_pushes_done(r) && now_ns() - drain_start < 10ull * MG_NS_PER_S)
        step(r);
    uint64_t took = now_ns() - start;
    if (getenv("DPDK_STACK_VERBOSE"))
        fprintf(stderr, "[%s %zu B: %.3f s] ", echo ? "echo" : "bulk", size, took / 1e9);
    if (!r->done || r->corrupt)
        fprintf(stderr, "%s %zu B: done %d failed %d (errno %d) corrupt %d received %zu after %.1f s\n",
                echo ? "echo" : "bulk", size, r->done, r->failed, r->fail_errno, r->corrupt, r->received, took / 1e9);
    CU_ASSERT_TRUE(r->done);
    CU_ASSERT_FALSE(r->failed);
    CU_ASSERT_FALSE(r->corrupt);
    CU_ASSERT_EQUAL(r->received, size);
    check_invariants(p);

    /* Close both ends; closing cancels what is pending, and the cancelled tokens
     * are collected (and their buffers freed) by a few more steps. */
    use(p, CLIENT);
    demi_close(r->cqd);
    use(p, SERVER);
    demi_close(r->lqd);
    uint64_t close_start = now_ns();
    while ((r->n[SERVER] > 0 || r->n[CLIENT] > 0) && now_ns() - close_start < 10ull * MG_NS_PER_S)
        step(r);
    CU_ASSERT_EQUAL(r->n[SERVER], 0);
    CU_ASSERT_EQUAL(r->n[CLIENT], 0);
    free(r);
}

/* ---- tests ---- */

static void test_eal_and_pairs(void) {
    char err[512] = "";
    int rc = mg_dpdk_eal_init(eal.argc, eal.argv, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "EAL: %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL_FATAL(make_pair(&plain, "mgp", 0xc6120000u /* 198.18.0.0 */, NULL), 0);
    struct mg_fault_wrap_opts fo;
    memset(&fo, 0, sizeof(fo));
    fo.seed = 42;
    fo.tx.loss = 0.01;
    fo.tx.duplicate = 0.01;
    fo.tx.reorder = 0.01;
    fo.tx.reorder_delay_ns = 200 * MG_NS_PER_US;
    fo.rx.loss = 0.01;
    fo.rx.corrupt = 0.005;
    CU_ASSERT_EQUAL_FATAL(make_pair(&faulty, "mgf", 0xc6120100u /* 198.18.1.0 */, &fo), 0);
}

static void test_echo_small(void) {
    transfer(&plain, 1, true);
    transfer(&plain, 100, true);
    transfer(&plain, 1460, true);
    transfer(&plain, 1461, true);
    transfer(&plain, 64 * 1024, true);
}

static void test_echo_large(void) {
    transfer(&plain, 1024 * 1024, true);
    transfer(&plain, BIG_SIZE, true);
}

static void test_bulk(void) {
    transfer(&plain, 1, false);
    transfer(&plain, 1024 * 1024, false);
    transfer(&plain, BIG_SIZE, false);
}

static void test_echo_with_faults(void) {
    transfer(&faulty, 1, true);
    transfer(&faulty, 64 * 1024, true);
    transfer(&faulty, 1024 * 1024, true);
    const struct mg_fault_stats *tx = mg_fault_wrap_stats(faulty.fault_dev, true);
    const struct mg_fault_stats *rx = mg_fault_wrap_stats(faulty.fault_dev, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tx);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rx);
    /* The faults really happened, and TCP recovered from them. */
    CU_ASSERT_TRUE(tx->lost + rx->lost > 0);
    CU_ASSERT_TRUE(tx->duplicated > 0);
    if (getenv("DPDK_STACK_VERBOSE"))
        fprintf(stderr, "[faults: lost %lu+%lu dup %lu reordered %lu corrupted %lu] ",
                (unsigned long)tx->lost, (unsigned long)rx->lost, (unsigned long)tx->duplicated,
                (unsigned long)tx->reordered, (unsigned long)rx->corrupted);
}

static void test_bulk_with_faults(void) {
    transfer(&faulty, 4 * 1024 * 1024, false);
}

static void test_teardown(void) {
    destroy_pair(&plain);
    destroy_pair(&faulty);
}

int main(void) {
    if (mg_test_eal_setup(&eal, "test_dpdk_stack", 256, false, eal_extra,
                          (int)(sizeof(eal_extra) / sizeof(eal_extra[0]))) != 0)
        return 1;
    static const struct mg_test_case cases[] = {
        {"EAL and two net_ring pairs with a stack on each end", test_eal_and_pairs},
        {"echo 1 B .. 64 KiB", test_echo_small},
        {"echo 1 MiB and 16 MiB", test_echo_large},
        {"bulk 1 B, 1 MiB, 16 MiB", test_bulk},
        {"echo through the fault wrapper", test_echo_with_faults},
        {"bulk through the fault wrapper", test_bulk_with_faults},
        {"teardown returns every buffer", test_teardown},
        {NULL, NULL},
    };
    int rc = mg_run_tests("dpdk_stack", cases);
    mg_dpdk_eal_cleanup();
    mg_test_eal_remove_runtime_dir(&eal);
    return rc;
}
