/* bench/dpdk_ring_bench.c — TCP over two inet stacks in one process, joined by a DPDK
 * net_ring pair and polled in turn by one thread: the third row of bench/compare.sh
 * (beside the posix libOS on loopback and the inet libOS over net_memif between two
 * processes). Through PDPIX, like the examples: ping-pong round trips (median, p99)
 * for a message size, then a one-way bulk transfer. Prints numbers only.
 *
 * Usage: dpdk_ring_bench [MSG_SIZE] [ROUND_TRIPS] [BULK_MiB] */
#include "config.h"

#include <arpa/inet.h>
#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eth_ring.h>
#include <rte_ring.h>

#include "core/config.h"
#include "core/runtime.h"
#include "drivers/dpdk/dpdk_netdev.h"
#include "inet/netdev.h"
#include "libos/inet/proto.h"

static struct mg_rt *rt[2];

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "dpdk_ring_bench: %s\n", what);
    exit(1);
}

static void poll_both(void) {
    for (int h = 0; h < 2; h++) {
        mg_rt_set_current(rt[h]);
        mg_libos_inet_ops.poll(mg_rt_libos_state(rt[h]), 0);
    }
}

/* Polls both stacks until qt (an operation of stack h) completes. */
static void wait_on(int h, demi_qtoken_t qt, demi_qresult_t *qr) {
    const struct timespec zero = {0, 0};
    uint64_t deadline = now_ns() + 30ull * 1000000000ull;
    for (;;) {
        poll_both();
        mg_rt_set_current(rt[h]);
        if (demi_wait(qr, qt, &zero) == 0)
            break;
        if (now_ns() > deadline)
            die("an operation took more than 30 s");
    }
    if (qr->qr_opcode == DEMI_OPC_FAILED)
        die("an operation failed");
}

static struct mg_netdev *open_port(const char *name, struct rte_ring *rx, struct rte_ring *tx, uint8_t mac_last) {
    if (rte_eth_from_rings(name, &rx, 1, &tx, 1, SOCKET_ID_ANY) < 0)
        die("rte_eth_from_rings");
    struct mg_config cfg;
    mg_config_defaults(&cfg);
    char spec[64], err[512];
    snprintf(spec, sizeof(spec), "net_ring_%s", name);
    struct mg_netdev *dev = NULL;
    if (mg_dpdk_netdev_open_port(&cfg, spec, &dev, err, sizeof(err)) != 0)
        die(err);
    mg_config_free(&cfg);
    const uint8_t mac[6] = {0x02, 0, 0xc6, 0x12, 0, mac_last}; /* ring ports share one MAC */
    memcpy(dev->mac, mac, 6);
    return dev;
}

static void make_stack(int h, struct mg_netdev *dev) {
    struct mg_config cfg;
    mg_config_defaults(&cfg);
    strcpy(cfg.libos, "inet");
    cfg.local_ipv4_addr = 0xc6120001u + (uint32_t)h;
    cfg.nodelay = true;
    struct mg_inet_libos_args args = {.dev = dev, .owns_dev = true};
    struct mg_rt_params rp = {.libos = &mg_libos_inet_ops, .cfg = &cfg, .libos_arg = &args};
    if (mg_rt_create(&rp, &rt[h]) != 0)
        die("mg_rt_create");
    mg_config_free(&cfg);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    uint32_t size = argc > 1 ? (uint32_t)atoi(argv[1]) : 64;
    uint32_t trips = argc > 2 ? (uint32_t)atoi(argv[2]) : 10000;
    uint32_t bulk_mib = argc > 3 ? (uint32_t)atoi(argv[3]) : 64;
    if (size == 0 || trips == 0)
        die("usage: dpdk_ring_bench [MSG_SIZE] [ROUND_TRIPS] [BULK_MiB]");
    char *eal[] = {"--no-huge", "-m", "512", "--no-shconf", "--no-pci", "--no-telemetry", "--log-level=warning"};
    char err[512];
    if (mg_dpdk_eal_init(7, eal, err, sizeof(err)) != 0)
        die(err);
    struct rte_ring *ab = rte_ring_create("bench_ab", 2048, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    struct rte_ring *ba = rte_ring_create("bench_ba", 2048, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!ab || !ba)
        die("rte_ring_create");
    make_stack(0, open_port("b0", ba, ab, 1));
    make_stack(1, open_port("b1", ab, ba, 2));

    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(7000)};
    sin.sin_addr.s_addr = htonl(0xc6120001u);
    int lqd, sqd, cqd;
    demi_qtoken_t aqt, qt;
    demi_qresult_t qr;
    mg_rt_set_current(rt[0]);
    int rc = demi_socket(&lqd, AF_INET, SOCK_STREAM, 0);
    if (rc) {
        fprintf(stderr, "dpdk_ring_bench: demi_socket: %s\n", strerror(rc));
        return 1;
    }
    if (demi_bind(lqd, (struct sockaddr *)&sin, sizeof(sin)))
        die("bind");
    if (demi_listen(lqd, 16) || demi_accept(&aqt, lqd))
        die("listen");
    mg_rt_set_current(rt[1]);
    if (demi_socket(&cqd, AF_INET, SOCK_STREAM, 0) || demi_connect(&qt, cqd, (struct sockaddr *)&sin, sizeof(sin)))
        die("connect");
    wait_on(1, qt, &qr);
    wait_on(0, aqt, &qr);
    sqd = qr.qr_value.ares.qd;

    /* Ping-pong: the server pops and pushes the popped array back; the client pops
     * until the whole message is back. */
    uint64_t *rtt = calloc(trips, sizeof(*rtt));
    for (uint32_t i = 0; i < trips; i++) {
        uint64_t t0 = now_ns();
        mg_rt_set_current(rt[1]);
        demi_sgarray_t msg = demi_sgaalloc(size);
        memset(msg.sga_segs[0].sgaseg_buf, (int)i, size);
        if (demi_push(&qt, cqd, &msg))
            die("push");
        demi_qtoken_t cpush = qt;
        uint32_t echoed = 0, back = 0;
        while (echoed < size) {
            mg_rt_set_current(rt[0]);
            if (demi_pop(&qt, sqd))
                die("pop");
            wait_on(0, qt, &qr);
            demi_sgarray_t in = qr.qr_value.sga;
            echoed += in.sga_segs[0].sgaseg_len;
            mg_rt_set_current(rt[0]);
            if (demi_push(&qt, sqd, &in))
                die("push back");
            wait_on(0, qt, &qr);
            mg_rt_set_current(rt[0]);
            demi_sgafree(&in);
        }
        wait_on(1, cpush, &qr);
        mg_rt_set_current(rt[1]);
        demi_sgafree(&msg);
        while (back < size) {
            mg_rt_set_current(rt[1]);
            if (demi_pop(&qt, cqd))
                die("pop reply");
            wait_on(1, qt, &qr);
            back += qr.qr_value.sga.sga_segs[0].sgaseg_len;
            mg_rt_set_current(rt[1]);
            demi_sgafree(&qr.qr_value.sga);
        }
        rtt[i] = now_ns() - t0;
    }
    qsort(rtt, trips, sizeof(*rtt), cmp_u64);
    printf("ring pingpong %u B: median %.1f us p99 %.1f us\n", size, rtt[trips / 2] / 1e3,
           rtt[(size_t)((trips - 1) * 0.99)] / 1e3);

    /* Bulk: 256 KiB pushes from the client, the server pops and frees. */
    const uint32_t chunk = 256 * 1024;
    uint64_t total = (uint64_t)bulk_mib << 20, got = 0, sent = 0;
    uint64_t t0 = now_ns();
    const struct timespec zero = {0, 0};
    demi_qtoken_t spop = 0, cpush = 0;
    bool spop_live = false, cpush_live = false;
    while (got < total) {
        poll_both();
        mg_rt_set_current(rt[1]);
        if (cpush_live && demi_wait(&qr, cpush, &zero) == 0) {
            cpush_live = false;
            mg_rt_set_current(rt[1]);
        }
        if (!cpush_live && sent < total) {
            demi_sgarray_t s = demi_sgaalloc(chunk);
            if (demi_push(&cpush, cqd, &s))
                die("bulk push");
            demi_sgafree(&s); /* the stack holds its own reference until sent */
            sent += chunk;
            cpush_live = true;
        }
        mg_rt_set_current(rt[0]);
        if (!spop_live) {
            if (demi_pop(&spop, sqd))
                die("bulk pop");
            spop_live = true;
        }
        if (demi_wait(&qr, spop, &zero) == 0) {
            spop_live = false;
            got += qr.qr_value.sga.sga_segs[0].sgaseg_len;
            mg_rt_set_current(rt[0]);
            demi_sgafree(&qr.qr_value.sga);
        }
        if (now_ns() - t0 > 60ull * 1000000000ull)
            die("bulk transfer took more than 60 s");
    }
    double secs = (now_ns() - t0) / 1e9;
    printf("ring bulk %u MiB: %.2f s, %.2f Gbit/s\n", bulk_mib, secs, total * 8 / secs / 1e9);
    free(rtt);
    return 0;
}
