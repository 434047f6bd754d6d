/* tests/unit/test_fault_config.c — fault injection from the configuration: an inet
 * stack whose configuration has margay.fault (loaded from YAML, as a user writes it)
 * runs its device behind the fault model (drivers/fault.h). Over the simulated link,
 * which itself loses nothing, the wrapper's counters show frames lost, duplicated and
 * reordered both ways, the peer's TCP retransmits, and a transfer in both directions
 * still completes with every byte right. The same fault seed gives the same faults;
 * without margay.fault there is no wrapper; a device the caller lends the stack is
 * left to the caller when the stack goes away. */
#include <CUnit/Basic.h>
#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>
#include <string.h>
#include <sys/socket.h>

#include "core/config.h"
#include "cunit_main.h"
#include "drivers/fault.h"
#include "drivers/netdev_open.h"
#include "inet/tcp.h"
#include "libos/inet/proto.h"
#include "tests/harness/simhosts.h"

#define SERVER 0
#define CLIENT 1
#define PORT 9000
#define BYTES (256u * 1024u)
#define CHUNK 8192u
#define MAX_WAIT_NS (600 * MG_NS_PER_S)

static const char *const faulty_yaml = "margay:\n"
                                       "  fault:\n"
                                       "    seed: 4242\n"
                                       "    tx:\n"
                                       "      loss: 0.05\n"
                                       "      duplicate: 0.02\n"
                                       "      reorder: 0.05\n"
                                       "      reorder_delay_us: 300\n"
                                       "    rx:\n"
                                       "      loss: 0.05\n"
                                       "      burst_enter: 0.01\n"
                                       "      burst_exit: 0.5\n"
                                       "      burst_loss: 0.5\n"
                                       "      delay_us: 20\n";

/* The client's configuration comes from the YAML above; the server's is plain. */
static void configure_client(unsigned i, struct mg_config *cfg, void *ctx) {
    const char *yaml = ctx;
    if (i != CLIENT || !yaml)
        return;
    char err[256];
    int rc = mg_config_load_string(cfg, yaml, strlen(yaml), err, sizeof(err));
    if (rc)
        fprintf(stderr, "\n    %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
}

static struct mg_netdev *device_of(struct simhosts *sh, unsigned i) {
    struct mg_inet_libos *lib = mg_rt_libos_state(sh->hosts[i].rt);
    return lib->dev;
}

static uint8_t pattern(unsigned dir, size_t off) {
    return (uint8_t)(off * 13 + (off >> 10) + dir * 77 + 1);
}

/* Pushes `total` bytes in CHUNK pieces on (from, qd_from); pops and checks them on
 * (to, qd_to) as they come. */
static void transfer(struct simhosts *sh, unsigned from, int qd_from, unsigned to, int qd_to, unsigned dir) {
    size_t sent = 0, got = 0;
    demi_qresult_t qr;
    while (got < BYTES) {
        if (sent < BYTES) {
            simhosts_use(sh, from);
            demi_sgarray_t sga = demi_sgaalloc(CHUNK);
            CU_ASSERT_EQUAL_FATAL(sga.sga_numsegs, 1);
            uint8_t *p = sga.sga_segs[0].sgaseg_buf;
            for (size_t i = 0; i < CHUNK; i++)
                p[i] = pattern(dir, sent + i);
            demi_qtoken_t qt;
            CU_ASSERT_EQUAL_FATAL(demi_push(&qt, qd_from, &sga), 0);
            CU_ASSERT_EQUAL_FATAL(simhosts_wait(sh, from, qt, &qr, MAX_WAIT_NS), 0);
            CU_ASSERT_EQUAL_FATAL(qr.qr_opcode, DEMI_OPC_PUSH);
            simhosts_use(sh, from);
            demi_sgafree(&sga);
            sent += CHUNK;
        }
        while (got < sent) {
            simhosts_use(sh, to);
            demi_qtoken_t qt;
            CU_ASSERT_EQUAL_FATAL(demi_pop(&qt, qd_to), 0);
            CU_ASSERT_EQUAL_FATAL(simhosts_wait(sh, to, qt, &qr, MAX_WAIT_NS), 0);
            CU_ASSERT_EQUAL_FATAL(qr.qr_opcode, DEMI_OPC_POP);
            const uint8_t *p = qr.qr_value.sga.sga_segs[0].sgaseg_buf;
            uint32_t len = qr.qr_value.sga.sga_segs[0].sgaseg_len;
            CU_ASSERT_FATAL(len > 0 && got + len <= BYTES);
            for (uint32_t i = 0; i < len; i++)
                CU_ASSERT_EQUAL_FATAL(p[i], pattern(dir, got + i));
            got += len;
            demi_sgafree(&qr.qr_value.sga);
        }
    }
}

/* Connects the client to the server and moves BYTES each way; returns the hosts. */
static struct simhosts *run_transfer(const char *yaml) {
    struct simhosts_params p = {.n = 2, .seed = 3, .configure = configure_client, .configure_ctx = (void *)yaml};
    struct simhosts *sh = NULL;
    CU_ASSERT_EQUAL_FATAL(simhosts_create(&p, &sh), 0);
    struct sockaddr_in sin = simhosts_sockaddr(sh, SERVER, PORT);
    int lqd, cqd;
    demi_qtoken_t qt_a, qt_c;
    demi_qresult_t qr;
    simhosts_use(sh, SERVER);
    CU_ASSERT_EQUAL_FATAL(demi_socket(&lqd, AF_INET, SOCK_STREAM, 0), 0);
    CU_ASSERT_EQUAL_FATAL(demi_bind(lqd, (const struct sockaddr *)&sin, sizeof(sin)), 0);
    CU_ASSERT_EQUAL_FATAL(demi_listen(lqd, 4), 0);
    CU_ASSERT_EQUAL_FATAL(demi_accept(&qt_a, lqd), 0);
    simhosts_use(sh, CLIENT);
    CU_ASSERT_EQUAL_FATAL(demi_socket(&cqd, AF_INET, SOCK_STREAM, 0), 0);
    CU_ASSERT_EQUAL_FATAL(demi_connect(&qt_c, cqd, (const struct sockaddr *)&sin, sizeof(sin)), 0);
    CU_ASSERT_EQUAL_FATAL(simhosts_wait(sh, CLIENT, qt_c, &qr, MAX_WAIT_NS), 0);
    CU_ASSERT_EQUAL_FATAL(qr.qr_opcode, DEMI_OPC_CONNECT);
    CU_ASSERT_EQUAL_FATAL(simhosts_wait(sh, SERVER, qt_a, &qr, MAX_WAIT_NS), 0);
    CU_ASSERT_EQUAL_FATAL(qr.qr_opcode, DEMI_OPC_ACCEPT);
    int sqd = qr.qr_value.ares.qd;
    transfer(sh, CLIENT, cqd, SERVER, sqd, 0);
    transfer(sh, SERVER, sqd, CLIENT, cqd, 1);
    simhosts_use(sh, CLIENT);
    CU_ASSERT_EQUAL(demi_close(cqd), 0);
    simhosts_use(sh, SERVER);
    CU_ASSERT_EQUAL(demi_close(sqd), 0);
    CU_ASSERT_EQUAL(demi_close(lqd), 0);
    simhosts_run_until(sh, NULL, NULL, 5 * MG_NS_PER_S);
    return sh;
}

static void test_configured_loss_drops_frames_transfer_completes(void) {
    struct simhosts *sh = run_transfer(faulty_yaml);
    struct mg_netdev *dev = device_of(sh, CLIENT);
    const struct mg_fault_stats *tx = mg_fault_wrap_stats(dev, true);
    const struct mg_fault_stats *rx = mg_fault_wrap_stats(dev, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tx);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rx);
    CU_ASSERT(tx->frames > 200 && rx->frames > 200);
    CU_ASSERT(tx->lost > 0);
    CU_ASSERT(tx->duplicated > 0);
    CU_ASSERT(tx->reordered > 0);
    CU_ASSERT(rx->lost > 0);
    CU_ASSERT_EQUAL(rx->duplicated, 0); /* rx asked for no duplication */
    CU_ASSERT_EQUAL(tx->lost + tx->delivered, tx->frames);
    /* The loss is the wrapper's alone: the simulated link lost nothing. */
    for (unsigned i = 0; i < 2; i++)
        CU_ASSERT_EQUAL(mg_sim_link_endpoint_stats(sh->link, i)->lost, 0);
    /* Both TCPs had to repair what the wrapper broke. */
    CU_ASSERT(mg_tcp_stats(simhosts_inet(sh, SERVER)->tcp)->retransmits > 0);
    CU_ASSERT(mg_tcp_stats(simhosts_inet(sh, CLIENT)->tcp)->retransmits > 0);
    /* The server's stack, configured without margay.fault, drives the bare endpoint. */
    CU_ASSERT_PTR_NULL(mg_fault_wrap_stats(device_of(sh, SERVER), true));
    simhosts_destroy(sh);
}

static void test_same_fault_seed_same_faults(void) {
    struct simhosts *a = run_transfer(faulty_yaml);
    struct simhosts *b = run_transfer(faulty_yaml);
    const struct mg_fault_stats *ta = mg_fault_wrap_stats(device_of(a, CLIENT), true);
    const struct mg_fault_stats *tb = mg_fault_wrap_stats(device_of(b, CLIENT), true);
    const struct mg_fault_stats *ra = mg_fault_wrap_stats(device_of(a, CLIENT), false);
    const struct mg_fault_stats *rb = mg_fault_wrap_stats(device_of(b, CLIENT), false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ta);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tb);
    CU_ASSERT_EQUAL(memcmp(ta, tb, sizeof(*ta)), 0);
    CU_ASSERT_EQUAL(memcmp(ra, rb, sizeof(*ra)), 0);
    CU_ASSERT_EQUAL(simhosts_now(a), simhosts_now(b));
    simhosts_destroy(a);
    simhosts_destroy(b);
}

static void test_no_fault_config_no_wrapper(void) {
    struct simhosts *sh = run_transfer(NULL);
    CU_ASSERT_PTR_NULL(mg_fault_wrap_stats(device_of(sh, CLIENT), true));
    simhosts_destroy(sh);
}

/* A device lent to the stack (owns_dev false) outlives the stack and its wrapper. */
static void test_borrowed_device_survives(void) {
    struct mg_clock clock;
    mg_clock_init_manual(&clock, MG_NS_PER_S);
    struct mg_sim_link_params lp = {.clock = &clock, .seed = 1};
    struct mg_sim_link *link = NULL;
    CU_ASSERT_EQUAL_FATAL(mg_sim_link_create(&lp, &link), 0);
    struct mg_sim_endpoint_params ep = {.mac = {0x02, 0, 0, 0, 0, 1}};
    struct mg_netdev *dev = NULL;
    CU_ASSERT_FATAL(mg_sim_link_add_endpoint(link, &ep, &dev) == 0);
    struct mg_config cfg;
    mg_config_defaults(&cfg);
    char err[256];
    const char *yaml = "margay:\n  libos: inet\n  fault:\n    rx:\n      loss: 0.5\n"
                       "demikernel:\n  local_ipv4_addr: 10.0.0.1\n";
    CU_ASSERT_EQUAL_FATAL(mg_config_load_string(&cfg, yaml, strlen(yaml), err, sizeof(err)), 0);
    struct mg_inet_libos_args args = {.dev = dev, .owns_dev = false};
    struct mg_rt_params rp = {.libos = &mg_libos_inet_ops, .cfg = &cfg, .clock = &clock, .libos_arg = &args};
    struct mg_rt *rt = NULL;
    CU_ASSERT_EQUAL_FATAL(mg_rt_create(&rp, &rt), 0);
    struct mg_inet_libos *lib = mg_rt_libos_state(rt);
    CU_ASSERT_PTR_NOT_NULL(mg_fault_wrap_stats(lib->dev, false));
    CU_ASSERT_PTR_NOT_EQUAL(lib->dev, dev);
    mg_rt_destroy(rt);
    /* Still ours, still working. */
    struct mg_buf *b = mg_buf_alloc(dev->pool);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    mg_buf_free(b);
    mg_config_free(&cfg);
    mg_netdev_destroy(dev);
    mg_sim_link_destroy(link);
}

/* The wrapping step itself: nothing to do without margay.fault; the configured
 * parameters and seed reach the model. */
static void test_wrap_faults_direct(void) {
    struct mg_clock clock;
    mg_clock_init_manual(&clock, MG_NS_PER_S);
    struct mg_sim_link_params lp = {.clock = &clock, .seed = 1};
    struct mg_sim_link *link = NULL;
    CU_ASSERT_EQUAL_FATAL(mg_sim_link_create(&lp, &link), 0);
    struct mg_sim_endpoint_params ep = {.mac = {0x02, 0, 0, 0, 0, 1}};
    struct mg_netdev *dev = NULL, *orig;
    CU_ASSERT_FATAL(mg_sim_link_add_endpoint(link, &ep, &dev) == 0);
    orig = dev;
    struct mg_config cfg;
    mg_config_defaults(&cfg);
    char err[256];
    CU_ASSERT_EQUAL(mg_netdev_wrap_faults(&cfg, &clock, 1, false, &dev, err, sizeof(err)), 0);
    CU_ASSERT_PTR_EQUAL(dev, orig);
    CU_ASSERT_EQUAL(mg_netdev_wrap_faults(&cfg, &clock, 1, false, NULL, err, sizeof(err)), -EINVAL);
    cfg.fault_tx.mtu = 100; /* frames above 114 bytes are dropped as too big */
    CU_ASSERT_EQUAL_FATAL(mg_netdev_wrap_faults(&cfg, &clock, 1, false, &dev, err, sizeof(err)), 0);
    CU_ASSERT_PTR_NOT_EQUAL(dev, orig);
    struct mg_buf *b = mg_buf_alloc(dev->pool);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    memset(mg_buf_append(b, 200), 0, 200);
    CU_ASSERT_EQUAL(mg_netdev_tx(dev, &b, 1), 1);
    CU_ASSERT_EQUAL(mg_fault_wrap_stats(dev, true)->too_big, 1);
    mg_netdev_destroy(dev); /* and the endpoint with it: the wrapper owned it */
    mg_sim_link_destroy(link);
}

int main(void) {
    static const struct mg_test_case cases[] = {
        {"configured_loss_drops_frames_transfer_completes", test_configured_loss_drops_frames_transfer_completes},
        {"same_fault_seed_same_faults", test_same_fault_seed_same_faults},
        {"no_fault_config_no_wrapper", test_no_fault_config_no_wrapper},
        {"borrowed_device_survives", test_borrowed_device_survives},
        {"wrap_faults_direct", test_wrap_faults_direct},
        {NULL, NULL},
    };
    return mg_run_tests("fault_config", cases);
}
