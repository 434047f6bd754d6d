/* bench/dpdk_ring_bench.c — TCP over two inet stacks in one process, joined by a DPDK
 * net_ring pair and polled in turn by one thread: the third row of bench/compare.sh
 * (beside the posix libOS on loopback and the inet libOS over net_memif between two
 * processes). Through PDPIX, like the examples: ping-pong round trips (median, p99)
 * for a message size, then a one-way bulk transfer. Prints numbers only.
 *
 * With --server / --client it is instead one side of the same one-way bulk
 * transfer between two processes, on whatever libOS demi_init picks (DEMI_LIBOS,
 * DEMI_CONFIG): compare.sh's bulk column for the posix and net_memif rows. The
 * receiver answers one byte once it has every byte, and the sender's clock stops
 * there: a sender that exits right after its last push (as the examples'
 * tcp-push-pop client does) would take unsent data with it on a libOS whose TCP
 * runs in the process.
 *
 * Usage: dpdk_ring_bench [MSG_SIZE] [ROUND_TRIPS] [BULK_MiB]
 *        dpdk_ring_bench --server|--client IPV4 PORT --bulk MiB */
#include "config.h"

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
#include <rte_ring.h>

#include "core/config.h"
#include "core/runtime.h"
#include "drivers/dpdk/dpdk_netdev.h"
#include "inet/netdev.h"
#include "inet/tcp.h"
#include "libos/inet/proto.h"

static struct mg_rt *rt[2];

/* Bytes per push in the bulk transfers, in one process and between two. */
#define BULK_CHUNK (256u * 1024u)

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Hugepages as in the tests (tests/dpdk/eal_memory.c) and compare.sh: 128 MB free and
 * hugetlbfs mounted, unless MARGAY_TEST_HUGEPAGES=no. */
static bool hugepages_usable(void) {
    const char *want = getenv("MARGAY_TEST_HUGEPAGES");
    if (want && strcmp(want, "no") == 0)
        return false;
    unsigned long free_pages = 0, kb = 0;
    bool mounted = false;
    char line[256];
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        while (fgets(line, sizeof(line), f)) {
            sscanf(line, "HugePages_Free: %lu", &free_pages);
            sscanf(line, "Hugepagesize: %lu kB", &kb);
        }
        fclose(f);
    }
    f = fopen("/proc/mounts", "r");
    if (f) {
        while (fgets(line, sizeof(line), f))
            mounted = mounted || strstr(line, " hugetlbfs ") != NULL;
        fclose(f);
    }
    return mounted && free_pages * kb / 1024 >= 128;
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

/* ---- two processes: one-way bulk over the configured libOS ---- */

/* With MARGAY_BENCH_STATS set: the stack's and the device's counters (inet libOS). */
static void bulk_stats(const char *side) {
    struct mg_rt *cur = mg_rt_current();
    if (!getenv("MARGAY_BENCH_STATS") || !cur || strcmp(mg_libos_canonical_name(mg_rt_config(cur)->libos), "inet") != 0)
        return;
    struct mg_inet_libos *lib = mg_rt_libos_state(cur);
    const struct mg_tcp_stats *t = mg_tcp_stats(lib->inet->tcp);
    fprintf(stderr,
            "%s tcp: segs_in %llu segs_out %llu retransmits %llu (%llu bytes) fast %llu timeouts %llu copies %llu "
            "sack: recoveries %llu hole retransmits %llu blocks in %llu (ignored %llu) out %llu\n",
            side, (unsigned long long)t->segs_in, (unsigned long long)t->segs_out, (unsigned long long)t->retransmits,
            (unsigned long long)t->retransmit_bytes, (unsigned long long)t->fast_retransmits,
            (unsigned long long)t->timeouts, (unsigned long long)t->payload_copies,
            (unsigned long long)t->sack_recoveries, (unsigned long long)t->sack_hole_retransmits,
            (unsigned long long)t->sack_blocks_received, (unsigned long long)t->sack_blocks_ignored,
            (unsigned long long)t->sack_blocks_sent);
    if (mg_dpdk_netdev_is(lib->dev))
        mg_dpdk_netdev_print_stats(lib->dev, stderr);
}

#define BULK_LIMIT_NS (120ull * 1000000000ull)

static uint64_t bulk_deadline;

/* Waits for qt on the current runtime (demi_init's) until the bulk deadline. */
static void bulk_wait(demi_qtoken_t qt, demi_qresult_t *qr, const char *what) {
    uint64_t now = now_ns();
    if (now >= bulk_deadline)
        die(what);
    uint64_t left = bulk_deadline - now;
    struct timespec ts = {.tv_sec = (time_t)(left / 1000000000ull), .tv_nsec = (long)(left % 1000000000ull)};
    int rc = demi_wait(qr, qt, &ts);
    if (rc != 0 || qr->qr_opcode == DEMI_OPC_FAILED) {
        fprintf(stderr, "dpdk_ring_bench: %s: %s\n", what, strerror(rc ? rc : (int)qr->qr_ret));
        exit(1);
    }
}

static void bulk_init(int argc, char **argv, struct sockaddr_in *sin, uint64_t *bytes) {
    if (argc != 6 || strcmp(argv[4], "--bulk") != 0)
        die("usage: dpdk_ring_bench --server|--client IPV4 PORT --bulk MiB");
    memset(sin, 0, sizeof(*sin));
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)atoi(argv[3]));
    if (inet_pton(AF_INET, argv[2], &sin->sin_addr) != 1)
        die("bad IPv4 address");
    *bytes = (uint64_t)strtoull(argv[5], NULL, 10) << 20;
    if (*bytes == 0)
        die("MiB must be positive");
    struct demi_args da;
    memset(&da, 0, sizeof(da));
    da.argc = 1;
    da.argv = argv;
    if (demi_init(&da) != 0)
        die("demi_init failed (DEMI_LIBOS, DEMI_CONFIG?)");
    bulk_deadline = now_ns() + BULK_LIMIT_NS;
}

/* Receives `bytes`, answers one byte, then waits (briefly) for the sender's close. */
static int bulk_server(int argc, char **argv) {
    struct sockaddr_in sin;
    uint64_t total, got = 0;
    bulk_init(argc, argv, &sin, &total);
    int lqd, qd;
    demi_qtoken_t qt;
    demi_qresult_t qr;
    if (demi_socket(&lqd, AF_INET, SOCK_STREAM, 0) || demi_bind(lqd, (struct sockaddr *)&sin, sizeof(sin)) ||
        demi_listen(lqd, 4) || demi_accept(&qt, lqd))
        die("listen");
    printf("dpdk_ring_bench: bulk server ready\n");
    fflush(stdout);
    bulk_wait(qt, &qr, "accept");
    qd = qr.qr_value.ares.qd;
    while (got < total) {
        if (demi_pop(&qt, qd))
            die("pop");
        bulk_wait(qt, &qr, "pop");
        uint32_t len = qr.qr_value.sga.sga_segs[0].sgaseg_len;
        demi_sgafree(&qr.qr_value.sga);
        if (len == 0)
            die("the sender closed early");
        got += len;
    }
    demi_sgarray_t done = demi_sgaalloc(1);
    ((uint8_t *)done.sga_segs[0].sgaseg_buf)[0] = 'k';
    if (demi_push(&qt, qd, &done))
        die("push");
    bulk_wait(qt, &qr, "push");
    demi_sgafree(&done);
    /* Its close tells that the byte arrived; do not wait long for it. */
    bulk_deadline = now_ns() + 5000000000ull;
    if (demi_pop(&qt, qd) == 0) {
        uint64_t left = bulk_deadline - now_ns();
        struct timespec ts = {.tv_sec = (time_t)(left / 1000000000ull), .tv_nsec = (long)(left % 1000000000ull)};
        if (demi_wait(&qr, qt, &ts) == 0 && qr.qr_opcode == DEMI_OPC_POP)
            demi_sgafree(&qr.qr_value.sga);
    }
    bulk_stats("server");
    demi_close(qd);
    demi_close(lqd);
    printf("dpdk_ring_bench: bulk server received %llu bytes\n", (unsigned long long)got);
    return got == total ? 0 : 1;
}

/* Sends `bytes` in BULK_CHUNK pushes and times it up to the receiver's answer. */
static int bulk_client(int argc, char **argv) {
    struct sockaddr_in sin;
    uint64_t total, sent = 0;
    bulk_init(argc, argv, &sin, &total);
    int qd;
    demi_qtoken_t qt;
    demi_qresult_t qr;
    if (demi_socket(&qd, AF_INET, SOCK_STREAM, 0) || demi_connect(&qt, qd, (struct sockaddr *)&sin, sizeof(sin)))
        die("connect");
    bulk_wait(qt, &qr, "connect");
    uint64_t t0 = now_ns();
    while (sent < total) {
        uint32_t len = (uint32_t)(total - sent < BULK_CHUNK ? total - sent : BULK_CHUNK);
        demi_sgarray_t chunk = demi_sgaalloc(len);
        if (chunk.sga_numsegs != 1)
            die("demi_sgaalloc");
        memset(chunk.sga_segs[0].sgaseg_buf, (int)(sent >> 20), len);
        if (demi_push(&qt, qd, &chunk))
            die("push");
        bulk_wait(qt, &qr, "push");
        demi_sgafree(&chunk); /* the stack keeps its own reference to what it has not sent */
        sent += len;
    }
    if (demi_pop(&qt, qd))
        die("pop");
    bulk_wait(qt, &qr, "the receiver's answer");
    double secs = (now_ns() - t0) / 1e9;
    bool answered = qr.qr_value.sga.sga_segs[0].sgaseg_len == 1;
    demi_sgafree(&qr.qr_value.sga);
    bulk_stats("client");
    demi_close(qd);
    if (!answered)
        die("no answer from the receiver");
    printf("bulk %llu MiB: %.2f s, %.2f Gbit/s\n", (unsigned long long)(total >> 20), secs, total * 8 / secs / 1e9);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--server") == 0)
        return bulk_server(argc, argv);
    if (argc > 1 && strcmp(argv[1], "--client") == 0)
        return bulk_client(argc, argv);
    uint32_t size = argc > 1 ? (uint32_t)atoi(argv[1]) : 64;
    uint32_t trips = argc > 2 ? (uint32_t)atoi(argv[2]) : 10000;
    uint32_t bulk_mib = argc > 3 ? (uint32_t)atoi(argv[3]) : 64;
    if (size == 0 || trips == 0)
        die("usage: dpdk_ring_bench [MSG_SIZE] [ROUND_TRIPS] [BULK_MiB]");
    char *huge[] = {"--in-memory", "--no-pci", "--no-telemetry", "--log-level=warning"};
    char *nohuge[] = {"--no-huge", "-m", "512", "--no-shconf", "--no-pci", "--no-telemetry", "--log-level=warning"};
    char err[512];
    if ((hugepages_usable() ? mg_dpdk_eal_init(4, huge, err, sizeof(err))
                            : mg_dpdk_eal_init(7, nohuge, err, sizeof(err))) != 0)
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

    /* Bulk: BULK_CHUNK pushes from the client, the server pops and frees. */
    const uint32_t chunk = BULK_CHUNK;
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
            memset(s.sga_segs[0].sgaseg_buf, (int)(sent >> 20), chunk);
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
