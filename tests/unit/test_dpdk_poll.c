/* tests/unit/test_dpdk_poll.c — how the inet libOS drives a poll-mode device (a DPDK
 * port: nothing to sleep on, real time), the part of the datapath that decides
 * latency over net_memif:
 *  - the stack reads the time once per libOS call, not at every timestamp and timer;
 *  - a push leaves for the device before the call returns, not at the next poll;
 *  - waiting spins on the device's receive queue and reads the clock only every so
 *    many empty looks, re-offers frames the device could not take, and returns when
 *    frames arrive — or, with a clock that does not move, after a bounded spin.
 * The first cases run on a DPDK net_ring pair (port A carries the stack, the test
 * plays the peer on port B); the spin is checked on a fake poll-mode device whose
 * frames arrive after a chosen number of looks, under a clock that counts its reads. */
#include "config.h"

#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eth_ring.h>
#include <rte_ring.h>

#include "core/config.h"
#include "core/runtime.h"
#include "cunit_main.h"
#include "drivers/dpdk/dpdk_netdev.h"
#include "inet/netdev.h"
#include "libos/inet/proto.h"
#include "tests/dpdk/eal_memory.h"

#define OUR_IP 0xc6120001u  /* 198.18.0.1 */
#define PEER_IP 0xc6120002u /* 198.18.0.2 */
static const uint8_t our_mac[6] = {0x02, 0x00, 0xc6, 0x12, 0x00, 0x01};
static const uint8_t peer_mac[6] = {0x02, 0x00, 0xc6, 0x12, 0x00, 0x02};

static struct mg_test_eal eal;

/* A manual clock that counts how often it is read. */
struct counting_clock {
    struct mg_clock clock; /* first: the stack sees a struct mg_clock */
    uint64_t reads;
};

static uint64_t counting_now(struct mg_clock *c) {
    ((struct counting_clock *)c)->reads++;
    return c->manual_ns;
}

static void counting_clock_init(struct counting_clock *c) {
    memset(c, 0, sizeof(*c));
    c->clock.now = counting_now;
    c->clock.manual_ns = MG_NS_PER_S;
}

/* A runtime of the inet libOS on dev (which it owns), on clock, with the peer's MAC
 * known statically. */
static struct mg_rt *stack_on(struct mg_netdev *dev, struct counting_clock *clock) {
    struct mg_config cfg;
    mg_config_defaults(&cfg);
    strcpy(cfg.libos, "inet");
    cfg.local_ipv4_addr = OUR_IP;
    memcpy(cfg.local_link_addr, our_mac, 6);
    cfg.local_link_addr_set = true;
    memcpy(cfg.arp_table[0].mac, peer_mac, 6);
    cfg.arp_table[0].ipv4 = PEER_IP;
    cfg.arp_table_len = 1;
    struct mg_inet_libos_args args = {.dev = dev, .owns_dev = true};
    struct mg_rt_params rp = {.libos = &mg_libos_inet_ops, .cfg = &cfg, .clock = &clock->clock, .libos_arg = &args};
    struct mg_rt *rt = NULL;
    int rc = mg_rt_create(&rp, &rt);
    mg_config_free(&cfg);
    CU_ASSERT_EQUAL(rc, 0);
    return rc == 0 ? rt : NULL;
}

static struct mg_inet_libos *lib_of(struct mg_rt *rt) {
    return mg_rt_libos_state(rt);
}

static int udp_socket(void) {
    int qd = -1;
    CU_ASSERT_EQUAL_FATAL(demi_socket(&qd, AF_INET, SOCK_DGRAM, 0), 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(5000), .sin_addr.s_addr = htonl(OUR_IP)};
    CU_ASSERT_EQUAL_FATAL(demi_bind(qd, (const struct sockaddr *)&sin, sizeof(sin)), 0);
    return qd;
}

/* Pushes a datagram of len bytes (first byte `tag`) to the peer's port 6000 and
 * consumes the completion without polling (a push completes at once). */
static void push_datagram(int qd, uint32_t len, uint8_t tag) {
    demi_sgarray_t sga = demi_sgaalloc(len);
    CU_ASSERT_EQUAL_FATAL(sga.sga_numsegs, 1);
    memset(sga.sga_segs[0].sgaseg_buf, tag, len);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(6000), .sin_addr.s_addr = htonl(PEER_IP)};
    demi_qtoken_t qt;
    CU_ASSERT_EQUAL_FATAL(demi_pushto(&qt, qd, &sga, (const struct sockaddr *)&to, sizeof(to)), 0);
    const struct timespec zero = {0, 0};
    demi_qresult_t qr;
    CU_ASSERT_EQUAL(demi_wait(&qr, qt, &zero), 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_PUSH);
    demi_sgafree(&sga);
}

static uint16_t get16(const uint8_t *p) {
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* ---- on a DPDK net_ring pair ---- */

static struct counting_clock ring_clock;
static struct mg_netdev *peer; /* port B: the test's end */
static struct mg_rt *ring_rt;  /* the stack on port A */

static struct mg_netdev *open_ring_port(const char *name, struct rte_ring *rx, struct rte_ring *tx) {
    if (rte_eth_from_rings(name, &rx, 1, &tx, 1, SOCKET_ID_ANY) < 0)
        return NULL;
    struct mg_config cfg;
    mg_config_defaults(&cfg);
    cfg.dpdk_rx_desc = 64;
    cfg.dpdk_tx_desc = 64;
    cfg.dpdk_mempool_size = 1023;
    cfg.dpdk_link_timeout_ms = 1000;
    char spec[64], err[512] = "";
    snprintf(spec, sizeof(spec), "net_ring_%s", name);
    struct mg_netdev *dev = NULL;
    if (mg_dpdk_netdev_open_port(&cfg, spec, &dev, err, sizeof(err)) != 0)
        fprintf(stderr, "%s: %s\n", spec, err);
    mg_config_free(&cfg);
    return dev;
}

static void test_ring_stack(void) {
    char err[512] = "";
    int rc = mg_dpdk_eal_init(eal.argc, eal.argv, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "EAL: %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    struct rte_ring *ab = rte_ring_create("poll_ab", 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    struct rte_ring *ba = rte_ring_create("poll_ba", 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    CU_ASSERT_FATAL(ab && ba);
    struct mg_netdev *a = open_ring_port("pa", ba, ab);
    peer = open_ring_port("pb", ab, ba);
    CU_ASSERT_FATAL(a && peer);
    counting_clock_init(&ring_clock);
    ring_rt = stack_on(a, &ring_clock);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ring_rt);
    mg_rt_set_current(ring_rt);
    CU_ASSERT_TRUE(mg_dpdk_netdev_is(lib_of(ring_rt)->dev));
    CU_ASSERT_TRUE(lib_of(ring_rt)->poll_mode);
}

static void test_time_read_once_per_call(void) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(ring_rt);
    struct mg_inet_libos *lib = lib_of(ring_rt);
    uint64_t t0 = mg_inet_now(lib->inet);
    CU_ASSERT_EQUAL(t0, ring_clock.clock.manual_ns);
    /* Between calls the stack's time stands still ... */
    ring_clock.clock.manual_ns += 5 * MG_NS_PER_MS;
    CU_ASSERT_EQUAL(mg_inet_now(lib->inet), t0);
    /* ... and a call moves it, with one read of the runtime's clock. */
    uint64_t reads = ring_clock.reads;
    CU_ASSERT_EQUAL(mg_libos_inet_ops.poll(lib, 0), 0);
    CU_ASSERT_EQUAL(ring_clock.reads - reads, 1);
    CU_ASSERT_EQUAL(mg_inet_now(lib->inet), t0 + 5 * MG_NS_PER_MS);
    ring_clock.clock.manual_ns += MG_NS_PER_MS;
    int qd = udp_socket();
    CU_ASSERT_EQUAL(mg_inet_now(lib->inet), t0 + 6 * MG_NS_PER_MS);
    CU_ASSERT_EQUAL(demi_close(qd), 0);
}

static void test_push_leaves_at_once(void) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(ring_rt);
    int qd = udp_socket();
    for (uint8_t i = 0; i < 3; i++) {
        push_datagram(qd, 100, i);
        /* No poll since the push: the datagram is already on the wire. */
        struct mg_buf *in[4];
        uint16_t n = mg_netdev_rx(peer, in, 4);
        CU_ASSERT_EQUAL_FATAL(n, 1);
        const uint8_t *f = in[0]->data;
        CU_ASSERT_EQUAL(in[0]->len, 14 + 20 + 8 + 100);
        CU_ASSERT_EQUAL(memcmp(f, peer_mac, 6), 0);
        CU_ASSERT_EQUAL(get16(f + 12), 0x0800);
        CU_ASSERT_EQUAL(f[14 + 9], 17);
        CU_ASSERT_EQUAL(get16(f + 14 + 20 + 2), 6000);
        CU_ASSERT_EQUAL(f[14 + 20 + 8], i);
        mg_buf_free(in[0]);
    }
    CU_ASSERT_EQUAL(demi_close(qd), 0);
}

static void test_ring_teardown(void) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(ring_rt);
    mg_rt_set_current(NULL);
    mg_rt_destroy(ring_rt);
    ring_rt = NULL;
    CU_ASSERT_EQUAL(peer->pool->in_use, 0);
    mg_netdev_destroy(peer);
    peer = NULL;
    rte_ring_free(rte_ring_lookup("poll_ab"));
    rte_ring_free(rte_ring_lookup("poll_ba"));
}

/* ---- the spin, on a fake poll-mode device ---- */

struct fake {
    struct mg_netdev dev;
    unsigned rx_calls;
    unsigned arrive_at;       /* the rx call that returns the ARP request (0: never) */
    unsigned tx_blocked_till; /* tx takes nothing before this rx call */
    unsigned sent;            /* frames taken by tx */
    unsigned arp_replies, udp_frames;
    unsigned udp_sent_at;     /* rx_calls when the UDP datagram left */
};

/* An ARP request from the peer for our address. */
static struct mg_buf *arp_request(struct mg_pool *pool) {
    struct mg_buf *b = mg_buf_alloc(pool);
    if (!b)
        return NULL;
    uint8_t *f = mg_buf_append(b, 60);
    memset(f, 0, 60);
    memset(f, 0xff, 6);
    memcpy(f + 6, peer_mac, 6);
    f[12] = 0x08, f[13] = 0x06;
    uint8_t *a = f + 14;
    a[1] = 1, a[2] = 0x08, a[4] = 6, a[5] = 4, a[7] = 1;
    memcpy(a + 8, peer_mac, 6);
    uint32_t spa = htonl(PEER_IP), tpa = htonl(OUR_IP);
    memcpy(a + 14, &spa, 4);
    memcpy(a + 24, &tpa, 4);
    return b;
}

static uint16_t fake_rx(struct mg_netdev *d, struct mg_buf **bufs, uint16_t n) {
    struct fake *f = d->priv;
    f->rx_calls++;
    if (n == 0 || f->rx_calls != f->arrive_at)
        return 0;
    bufs[0] = arp_request(d->pool);
    return bufs[0] ? 1 : 0;
}

static uint16_t fake_tx(struct mg_netdev *d, struct mg_buf **bufs, uint16_t n) {
    struct fake *f = d->priv;
    if (f->rx_calls < f->tx_blocked_till)
        return 0; /* a full transmit ring */
    for (uint16_t i = 0; i < n; i++) {
        const uint8_t *p = bufs[i]->data;
        if (bufs[i]->len >= 22 && get16(p + 12) == 0x0806 && get16(p + 20) == 2)
            f->arp_replies++;
        if (bufs[i]->len >= 24 && get16(p + 12) == 0x0800 && p[23] == 17) {
            f->udp_frames++;
            f->udp_sent_at = f->rx_calls;
        }
        mg_buf_free(bufs[i]);
    }
    f->sent += n;
    return n;
}

static void fake_destroy(struct mg_netdev *d) {
    mg_heap_pool_destroy(d->pool);
}

/* No wait_fd, no next_rx_ns: a device that can only be polled. */
static const struct mg_netdev_ops fake_ops = {.rx_burst = fake_rx, .tx_burst = fake_tx, .destroy = fake_destroy};

static struct fake fake;
static struct counting_clock fake_clock;
static struct mg_rt *fake_rt;

static void test_fake_stack(void) {
    memset(&fake, 0, sizeof(fake));
    fake.dev.ops = &fake_ops;
    strcpy(fake.dev.name, "fake-poll-mode");
    memcpy(fake.dev.mac, our_mac, 6);
    fake.dev.mtu = 1500;
    fake.dev.pool = mg_heap_pool_create("fake", 64, 2048, 128);
    fake.dev.priv = &fake;
    CU_ASSERT_PTR_NOT_NULL_FATAL(fake.dev.pool);
    counting_clock_init(&fake_clock);
    fake_rt = stack_on(&fake.dev, &fake_clock);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fake_rt);
    mg_rt_set_current(fake_rt);
    CU_ASSERT_TRUE(lib_of(fake_rt)->poll_mode);
}

/* A frame that turns up on the 300th look is handled in the same poll call, and the
 * spin up to it read the clock a handful of times, not 300. */
static void test_spin_reads_clock_rarely(void) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(fake_rt);
    fake.rx_calls = 0;
    fake.arrive_at = 300;
    uint64_t reads = fake_clock.reads;
    int n = mg_libos_inet_ops.poll(lib_of(fake_rt), UINT64_MAX);
    CU_ASSERT_TRUE(n > 0);
    CU_ASSERT_TRUE(fake.rx_calls >= 300);
    CU_ASSERT_EQUAL(fake.arp_replies, 1);
    CU_ASSERT_TRUE(fake_clock.reads - reads <= 2 + 300 / 64);
}

/* Nothing arrives and the clock never moves: the spin still hands control back. */
static void test_spin_bounded(void) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(fake_rt);
    fake.rx_calls = 0;
    fake.arrive_at = 0;
    uint64_t reads = fake_clock.reads;
    CU_ASSERT_EQUAL(mg_libos_inet_ops.poll(lib_of(fake_rt), UINT64_MAX), 0);
    CU_ASSERT_TRUE(fake.rx_calls > 64);
    CU_ASSERT_TRUE(fake_clock.reads - reads < fake.rx_calls / 16);
}

/* A datagram the device refused (its transmit ring full) leaves during the spin as
 * soon as the device takes it, before anything arrives. */
static void test_spin_offers_refused_frames_again(void) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(fake_rt);
    fake.rx_calls = 0;
    fake.arrive_at = 0;
    fake.tx_blocked_till = 100;
    fake.udp_frames = 0;
    int qd = udp_socket();
    push_datagram(qd, 64, 7);
    CU_ASSERT_EQUAL(fake.udp_frames, 0); /* refused: still queued */
    fake.arrive_at = 200;
    CU_ASSERT_TRUE(mg_libos_inet_ops.poll(lib_of(fake_rt), UINT64_MAX) > 0);
    CU_ASSERT_EQUAL(fake.udp_frames, 1);
    CU_ASSERT_TRUE(fake.udp_sent_at >= 100 && fake.udp_sent_at < 200);
    fake.tx_blocked_till = 0;
    CU_ASSERT_EQUAL(demi_close(qd), 0);
}

static void test_fake_teardown(void) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(fake_rt);
    mg_rt_set_current(NULL);
    mg_rt_destroy(fake_rt); /* destroys the fake and its pool */
    fake_rt = NULL;
}

int main(void) {
    static const char *const extra[] = {"--no-pci", "--no-telemetry", "--log-level=warning"};
    if (mg_test_eal_setup(&eal, "test_dpdk_poll", 128, false, extra, (int)(sizeof(extra) / sizeof(extra[0]))))
        return 1;
    static const struct mg_test_case cases[] = {
        {"inet libOS on a DPDK net_ring port: poll mode", test_ring_stack},
        {"the stack reads the time once per libOS call", test_time_read_once_per_call},
        {"a push is on the wire when the call returns", test_push_leaves_at_once},
        {"net_ring teardown", test_ring_teardown},
        {"fake poll-mode device", test_fake_stack},
        {"spin: a frame after 300 looks, a few clock reads", test_spin_reads_clock_rarely},
        {"spin: bounded under a clock that does not move", test_spin_bounded},
        {"spin: refused frames offered again", test_spin_offers_refused_frames_again},
        {"fake device teardown", test_fake_teardown},
        {NULL, NULL},
    };
    int rc = mg_run_tests("dpdk_poll", cases);
    mg_dpdk_eal_cleanup();
    mg_test_eal_remove_runtime_dir(&eal);
    return rc;
}
