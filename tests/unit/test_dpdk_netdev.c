/* tests/unit/test_dpdk_netdev.c — the DPDK netdev over vdevs, on hugepages or --no-huge.
 * One EAL per process, so the tests run in order in one suite: EAL start, errors
 * (no such port, MTU out of range, pool too small, port busy), then a pair of net_ring
 * ports wired back to back (A's TX ring is B's RX ring) carrying frames of 60..1514
 * bytes, zero copy, refcounted and copied transmits, software checksums, counters,
 * and finally a net_ring vdev opened through mg_netdev_open. */
#include "config.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_udp.h>

#include "core/buf.h"
#include "core/config.h"
#include "drivers/dpdk/dpdk_netdev.h"
#include "drivers/netdev_open.h"
#include "inet/netdev.h"
#include "tests/dpdk/eal_memory.h"

static const char *const eal_extra[] = {"--no-pci", "--no-telemetry", "--log-level=warning", "--vdev=net_null0",
                                       "--vdev=net_ring0"};
static struct mg_test_eal eal; /* hugepages when the machine has them, else --no-huge */

static struct mg_netdev *dev_a, *dev_b;

static void test_config(struct mg_config *cfg) {
    memset(cfg, 0, sizeof(*cfg));
    cfg->eal_args[0] = NULL;
    cfg->eal_argc = 0;
    cfg->mtu = 1500;
    cfg->dpdk_rx_desc = 256;
    cfg->dpdk_tx_desc = 256;
    cfg->dpdk_mempool_size = 2047;
    cfg->dpdk_link_timeout_ms = 1000;
}

static void test_offload_translation(void) {
    CU_ASSERT_EQUAL(mg_dpdk_rx_flags_from_mbuf(0), 0);
    CU_ASSERT_EQUAL(mg_dpdk_rx_flags_from_mbuf(RTE_MBUF_F_RX_IP_CKSUM_GOOD), MG_BUF_RX_IP_CKSUM_GOOD);
    CU_ASSERT_EQUAL(mg_dpdk_rx_flags_from_mbuf(RTE_MBUF_F_RX_IP_CKSUM_BAD), MG_BUF_RX_IP_CKSUM_BAD);
    CU_ASSERT_EQUAL(mg_dpdk_rx_flags_from_mbuf(RTE_MBUF_F_RX_IP_CKSUM_NONE), MG_BUF_RX_IP_CKSUM_GOOD);
    CU_ASSERT_EQUAL(mg_dpdk_rx_flags_from_mbuf(RTE_MBUF_F_RX_L4_CKSUM_GOOD), MG_BUF_RX_L4_CKSUM_GOOD);
    CU_ASSERT_EQUAL(mg_dpdk_rx_flags_from_mbuf(RTE_MBUF_F_RX_L4_CKSUM_BAD), MG_BUF_RX_L4_CKSUM_BAD);
    CU_ASSERT_EQUAL(mg_dpdk_rx_flags_from_mbuf(RTE_MBUF_F_RX_L4_CKSUM_NONE), MG_BUF_RX_L4_CKSUM_GOOD);
    CU_ASSERT_EQUAL(mg_dpdk_rx_flags_from_mbuf(RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_BAD),
                    MG_BUF_RX_IP_CKSUM_GOOD | MG_BUF_RX_L4_CKSUM_BAD);
    CU_ASSERT_EQUAL(mg_dpdk_rx_flags_from_mbuf(RTE_MBUF_F_RX_VLAN), 0);

    CU_ASSERT_EQUAL(mg_dpdk_tx_flags_to_mbuf(0), 0);
    CU_ASSERT_EQUAL(mg_dpdk_tx_flags_to_mbuf(MG_BUF_TX_IP_CKSUM), RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM);
    CU_ASSERT_EQUAL(mg_dpdk_tx_flags_to_mbuf(MG_BUF_TX_IP_CKSUM | MG_BUF_TX_TCP_CKSUM),
                    RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM);
    CU_ASSERT_EQUAL(mg_dpdk_tx_flags_to_mbuf(MG_BUF_TX_UDP_CKSUM), RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM);
    /* Receive flags never turn into transmit requests. */
    CU_ASSERT_EQUAL(mg_dpdk_tx_flags_to_mbuf(MG_BUF_RX_IP_CKSUM_GOOD | MG_BUF_RX_L4_CKSUM_GOOD), 0);
}

static void test_eal_starts_once(void) {
    char err[512] = "";
    CU_ASSERT_FALSE(mg_dpdk_eal_running());
    int ret = mg_dpdk_eal_init(eal.argc, eal.argv, err, sizeof(err));
    if (ret != 0)
        fprintf(stderr, "EAL: %s\n", err);
    CU_ASSERT_EQUAL_FATAL(ret, 0);
    CU_ASSERT_TRUE(mg_dpdk_eal_running());
    /* A second start (another netdev's configuration) is a no-op, whatever it says. */
    char *other[] = {"--this-is-not-an-eal-option"};
    CU_ASSERT_EQUAL(mg_dpdk_eal_init(1, other, err, sizeof(err)), 0);
}

static void test_no_such_port(void) {
    struct mg_config cfg;
    test_config(&cfg);
    struct mg_netdev *dev = (struct mg_netdev *)&cfg; /* must be reset to NULL */
    char err[512] = "";
    CU_ASSERT_EQUAL(mg_dpdk_netdev_open_port(&cfg, "net_bogus7", &dev, err, sizeof(err)), -ENODEV);
    CU_ASSERT_PTR_NULL(dev);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "net_bogus7"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "net_ring0")); /* lists what exists */
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "net_null0"));
    CU_ASSERT_EQUAL(mg_dpdk_netdev_open_port(&cfg, "77", &dev, err, sizeof(err)), -ENODEV);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'77'"));
    CU_ASSERT_EQUAL(mg_dpdk_netdev_open_port(&cfg, "0000:99:00.0", &dev, err, sizeof(err)), -ENODEV);
    uint16_t id = 999;
    CU_ASSERT_EQUAL(mg_dpdk_find_port("net_null0", &id, err, sizeof(err)), 0);
    uint16_t by_number = 999;
    char spec[8];
    snprintf(spec, sizeof(spec), "%u", id);
    CU_ASSERT_EQUAL(mg_dpdk_find_port(spec, &by_number, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(by_number, id);
}

static void test_mtu_out_of_range(void) {
    struct mg_config cfg;
    test_config(&cfg);
    cfg.mtu = 40; /* net_null's minimum is 46 */
    struct mg_netdev *dev = NULL;
    char err[512] = "";
    CU_ASSERT_EQUAL(mg_dpdk_netdev_open_port(&cfg, "net_null0", &dev, err, sizeof(err)), -EINVAL);
    CU_ASSERT_PTR_NULL(dev);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "MTU 40 is out of range"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "46.."));
}

static void test_mempool_too_small(void) {
    struct mg_config cfg;
    test_config(&cfg);
    cfg.dpdk_rx_desc = 1024;
    cfg.dpdk_tx_desc = 1024;
    cfg.dpdk_mempool_size = 1500;
    struct mg_netdev *dev = NULL;
    char err[512] = "";
    CU_ASSERT_EQUAL(mg_dpdk_netdev_open_port(&cfg, "net_null0", &dev, err, sizeof(err)), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "dpdk.mempool_size 1500 is too small"));
}

/* After failed opens, the port still opens; a second open of it is refused. */
static void test_open_null_and_busy(void) {
    struct mg_config cfg;
    test_config(&cfg);
    struct mg_netdev *dev = NULL, *again = NULL;
    char err[512] = "";
    int ret = mg_dpdk_netdev_open_port(&cfg, "net_null0", &dev, err, sizeof(err));
    if (ret != 0)
        fprintf(stderr, "open net_null0: %s\n", err);
    CU_ASSERT_EQUAL_FATAL(ret, 0);
    CU_ASSERT_TRUE(mg_dpdk_netdev_is(dev));
    CU_ASSERT_STRING_EQUAL(dev->name, "dpdk:net_null0");
    CU_ASSERT_EQUAL(dev->mtu, 1500);
    CU_ASSERT_EQUAL(dev->caps, 0); /* net_null offers no checksum offloads */
    CU_ASSERT_EQUAL(mg_dpdk_netdev_open_port(&cfg, "net_null0", &again, err, sizeof(err)), -EBUSY);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "already open"));
    /* Pool buffers are mbufs with the stack's headroom in front. */
    struct mg_buf *b = mg_buf_alloc(dev->pool);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    struct rte_mbuf *m = b->dev_priv;
    CU_ASSERT_PTR_EQUAL(b->base, m->buf_addr);
    CU_ASSERT_EQUAL(b->cap, m->buf_len);
    CU_ASSERT_EQUAL(mg_buf_headroom(b), RTE_PKTMBUF_HEADROOM);
    CU_ASSERT_TRUE(mg_buf_tailroom(b) >= 1514);
    CU_ASSERT_EQUAL(dev->pool->in_use, 1);
    mg_buf_free(b);
    CU_ASSERT_EQUAL(dev->pool->in_use, 0);
    mg_netdev_destroy(dev);
}

static void test_open_ring_pair(void) {
    struct rte_ring *ab = rte_ring_create("mg_t_ab", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    struct rte_ring *ba = rte_ring_create("mg_t_ba", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ab);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ba);
    CU_ASSERT_TRUE(rte_eth_from_rings("mg_ring_a", &ba, 1, &ab, 1, SOCKET_ID_ANY) >= 0);
    CU_ASSERT_TRUE(rte_eth_from_rings("mg_ring_b", &ab, 1, &ba, 1, SOCKET_ID_ANY) >= 0);
    struct mg_config cfg;
    test_config(&cfg);
    char err[512] = "";
    int ret = mg_dpdk_netdev_open_port(&cfg, "net_ring_mg_ring_a", &dev_a, err, sizeof(err));
    if (ret != 0)
        fprintf(stderr, "open A: %s\n", err);
    CU_ASSERT_EQUAL_FATAL(ret, 0);
    ret = mg_dpdk_netdev_open_port(&cfg, "net_ring_mg_ring_b", &dev_b, err, sizeof(err));
    if (ret != 0)
        fprintf(stderr, "open B: %s\n", err);
    CU_ASSERT_EQUAL_FATAL(ret, 0);
    CU_ASSERT_PTR_NOT_EQUAL(dev_a->pool, dev_b->pool);
}

static void fill_frame(uint8_t *p, uint32_t len, uint32_t seed) {
    for (uint32_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seed * 131u + i * 7u + (i >> 8));
}

static struct mg_buf *make_frame(struct mg_pool *pool, uint32_t len, uint32_t seed) {
    struct mg_buf *b = pool ? mg_buf_alloc(pool) : mg_buf_alloc_heap(len, 128);
    if (!b)
        return NULL;
    uint8_t *p = mg_buf_append(b, len);
    if (!p) {
        mg_buf_free(b);
        return NULL;
    }
    fill_frame(p, len, seed);
    return b;
}

static bool frame_matches(const struct mg_buf *b, uint32_t len, uint32_t seed) {
    if (b->len != len)
        return false;
    uint8_t *want = malloc(len);
    fill_frame(want, len, seed);
    bool same = memcmp(b->data, want, len) == 0;
    free(want);
    return same;
}

/* Receives exactly n frames from dev (a bounded number of polls). */
static uint16_t receive(struct mg_netdev *dev, struct mg_buf **bufs, uint16_t n) {
    uint16_t got = 0;
    for (int tries = 0; tries < 1000 && got < n; tries++)
        got += mg_netdev_rx(dev, bufs + got, (uint16_t)(n - got));
    return got;
}

static void assert_zero_copy(const struct mg_buf *b) {
    const struct rte_mbuf *m = b->dev_priv;
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_PTR_EQUAL(b->base, m->buf_addr);
    CU_ASSERT_PTR_EQUAL(b->data, rte_pktmbuf_mtod(m, const uint8_t *));
    CU_ASSERT_EQUAL(b->len, m->data_len);
    CU_ASSERT_EQUAL(b->len, m->pkt_len);
    CU_ASSERT_EQUAL(b->refcnt, 1);
    CU_ASSERT_EQUAL(b->magic, MG_BUF_MAGIC);
}

static void test_frames_all_sizes(void) {
    static const uint32_t sizes[] = {60, 61, 64, 65, 127, 128, 256, 511, 512, 1000, 1023, 1024, 1500, 1513, 1514};
    const uint16_t n = (uint16_t)(sizeof(sizes) / sizeof(sizes[0]));
    struct mg_buf *out[sizeof(sizes) / sizeof(sizes[0])], *in[sizeof(sizes) / sizeof(sizes[0])];
    uint8_t *storage[sizeof(sizes) / sizeof(sizes[0])];
    for (uint16_t i = 0; i < n; i++) {
        out[i] = make_frame(dev_a->pool, sizes[i], i);
        CU_ASSERT_PTR_NOT_NULL_FATAL(out[i]);
        storage[i] = out[i]->base;
    }
    CU_ASSERT_EQUAL(mg_netdev_tx(dev_a, out, n), n);
    CU_ASSERT_EQUAL(dev_a->pool->in_use, 0); /* handed to the device */
    CU_ASSERT_EQUAL(receive(dev_b, in, n), n);
    for (uint16_t i = 0; i < n; i++) {
        CU_ASSERT_TRUE(frame_matches(in[i], sizes[i], i));
        assert_zero_copy(in[i]);
        /* The very storage A's stack wrote is what B's stack reads. */
        CU_ASSERT_PTR_EQUAL(in[i]->base, storage[i]);
        CU_ASSERT_PTR_EQUAL(in[i]->pool, dev_a->pool);
        CU_ASSERT_EQUAL(in[i]->ol_flags, 0);
    }
    CU_ASSERT_EQUAL(dev_a->pool->in_use, n);
    for (uint16_t i = 0; i < n; i++)
        mg_buf_free(in[i]);
    CU_ASSERT_EQUAL(dev_a->pool->in_use, 0);
    CU_ASSERT_EQUAL(dev_b->pool->in_use, 0);
    CU_ASSERT_EQUAL(dev_a->stats.tx_frames, n);
    CU_ASSERT_EQUAL(dev_b->stats.rx_frames, n);
    CU_ASSERT_EQUAL(dev_a->stats.tx_copies, 0);
    struct mg_dpdk_stats sa, sb;
    CU_ASSERT_EQUAL(mg_dpdk_netdev_stats(dev_a, &sa), 0);
    CU_ASSERT_EQUAL(mg_dpdk_netdev_stats(dev_b, &sb), 0);
    CU_ASSERT_EQUAL(sa.opackets, n);
    CU_ASSERT_EQUAL(sb.ipackets, n);
    CU_ASSERT_EQUAL(sb.rx_copies, 0);
    CU_ASSERT_EQUAL(sa.mbufs_available, sa.mbufs_total);
}

/* More frames than one DPDK burst, in one call, in order. */
static void test_large_burst_in_order(void) {
    enum { N = 100 };
    struct mg_buf *out[N], *in[N];
    for (uint16_t i = 0; i < N; i++) {
        out[i] = make_frame(dev_b->pool, 60 + i, 1000 + i);
        CU_ASSERT_PTR_NOT_NULL_FATAL(out[i]);
    }
    CU_ASSERT_EQUAL(mg_netdev_tx(dev_b, out, N), N);
    CU_ASSERT_EQUAL(receive(dev_a, in, N), N);
    for (uint16_t i = 0; i < N; i++) {
        CU_ASSERT_TRUE(frame_matches(in[i], 60 + i, 1000 + i));
        mg_buf_free(in[i]);
    }
    CU_ASSERT_EQUAL(dev_b->pool->in_use, 0);
}

/* The stack keeps a reference (TCP's retransmission copy): the device sends without
 * copying, the stack's buffer stays intact, and the receiver gets its own copy
 * because the mbuf is still the sender's. */
static void test_refcounted_tx(void) {
    struct mg_buf *b = make_frame(dev_a->pool, 300, 42);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    mg_buf_ref(b);
    struct rte_mbuf *m = b->dev_priv;
    uint8_t *data = b->data;
    CU_ASSERT_EQUAL(mg_netdev_tx(dev_a, &b, 1), 1);
    CU_ASSERT_EQUAL(b->refcnt, 1);
    CU_ASSERT_EQUAL(b->magic, MG_BUF_MAGIC);
    CU_ASSERT_EQUAL(rte_mbuf_refcnt_read(m), 2);
    CU_ASSERT_EQUAL(dev_a->stats.tx_copies, 0);
    struct mg_buf *in = NULL;
    CU_ASSERT_EQUAL_FATAL(receive(dev_b, &in, 1), 1);
    CU_ASSERT_PTR_NOT_EQUAL(in, b);
    CU_ASSERT_TRUE(frame_matches(in, 300, 42));
    CU_ASSERT_PTR_EQUAL(b->data, data);
    CU_ASSERT_TRUE(frame_matches(b, 300, 42));
    struct mg_dpdk_stats sb;
    mg_dpdk_netdev_stats(dev_b, &sb);
    CU_ASSERT_EQUAL(sb.rx_copies, 1);
    CU_ASSERT_EQUAL(rte_mbuf_refcnt_read(m), 1); /* the ring's share is gone */
    mg_buf_free(in);
    mg_buf_free(b);
    CU_ASSERT_EQUAL(dev_a->pool->in_use, 0);
    CU_ASSERT_EQUAL(dev_b->pool->in_use, 0);

    /* The stack lets go before the receiver polls: the mbuf travels on, no copy. */
    b = make_frame(dev_a->pool, 200, 43);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    mg_buf_ref(b);
    CU_ASSERT_EQUAL(mg_netdev_tx(dev_a, &b, 1), 1);
    mg_buf_free(b);
    CU_ASSERT_EQUAL(dev_a->pool->in_use, 0);
    CU_ASSERT_EQUAL_FATAL(receive(dev_b, &in, 1), 1);
    CU_ASSERT_PTR_EQUAL(in, b);
    CU_ASSERT_TRUE(frame_matches(in, 200, 43));
    mg_dpdk_netdev_stats(dev_b, &sb);
    CU_ASSERT_EQUAL(sb.rx_copies, 1);
    mg_buf_free(in);
    CU_ASSERT_EQUAL(dev_a->pool->in_use, 0);
}

/* A retransmission while the first transmit is still in the device is copied. */
static void test_retransmit_in_flight_copies(void) {
    struct mg_buf *b = make_frame(dev_a->pool, 700, 7);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    mg_buf_ref(b);
    mg_buf_ref(b); /* refcnt 3: stack + two transmits */
    uint64_t copies = dev_a->stats.tx_copies;
    CU_ASSERT_EQUAL(mg_netdev_tx(dev_a, &b, 1), 1);
    CU_ASSERT_EQUAL(mg_netdev_tx(dev_a, &b, 1), 1);
    CU_ASSERT_EQUAL(dev_a->stats.tx_copies, copies + 1);
    CU_ASSERT_EQUAL(b->refcnt, 1);
    struct mg_buf *in[2];
    CU_ASSERT_EQUAL_FATAL(receive(dev_b, in, 2), 2);
    CU_ASSERT_TRUE(frame_matches(in[0], 700, 7));
    CU_ASSERT_TRUE(frame_matches(in[1], 700, 7));
    mg_buf_free(in[0]);
    mg_buf_free(in[1]);
    mg_buf_free(b);
    CU_ASSERT_EQUAL(dev_a->pool->in_use, 0);
    CU_ASSERT_EQUAL(dev_b->pool->in_use, 0);
}

static void test_heap_buffers_copied(void) {
    struct mg_buf *h[3];
    for (int i = 0; i < 3; i++) {
        h[i] = make_frame(NULL, 100 + 500 * (uint32_t)i, 90 + (uint32_t)i);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h[i]);
    }
    uint64_t copies = dev_a->stats.tx_copies;
    CU_ASSERT_EQUAL(mg_netdev_tx(dev_a, h, 3), 3); /* and freed: ASan's leak check would say otherwise */
    CU_ASSERT_EQUAL(dev_a->stats.tx_copies, copies + 3);
    struct mg_buf *in[3];
    CU_ASSERT_EQUAL_FATAL(receive(dev_b, in, 3), 3);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_TRUE(frame_matches(in[i], 100 + 500 * (uint32_t)i, 90 + (uint32_t)i));
        CU_ASSERT_PTR_EQUAL(in[i]->pool, dev_a->pool);
        mg_buf_free(in[i]);
    }
    CU_ASSERT_EQUAL(dev_a->pool->in_use, 0);
}

static void test_oversized_and_bad_dropped(void) {
    struct mg_buf *big = make_frame(dev_a->pool, 1515, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    uint64_t too_big = dev_a->stats.tx_dropped_too_big, sent = dev_a->stats.tx_frames;
    CU_ASSERT_EQUAL(mg_netdev_tx(dev_a, &big, 1), 1);
    CU_ASSERT_EQUAL(dev_a->stats.tx_dropped_too_big, too_big + 1);
    CU_ASSERT_EQUAL(dev_a->stats.tx_frames, sent);
    /* Offload request with header lengths that do not fit the frame. */
    struct mg_buf *bad = make_frame(dev_a->pool, 60, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bad);
    bad->ol_flags = MG_BUF_TX_IP_CKSUM;
    bad->l2_len = 0;
    bad->l3_len = 20;
    struct mg_buf *empty = mg_buf_alloc(dev_a->pool);
    CU_ASSERT_PTR_NOT_NULL_FATAL(empty);
    struct mg_buf *two[2] = {bad, empty};
    CU_ASSERT_EQUAL(mg_netdev_tx(dev_a, two, 2), 2);
    struct mg_dpdk_stats sa;
    mg_dpdk_netdev_stats(dev_a, &sa);
    CU_ASSERT_EQUAL(sa.tx_dropped_bad, 2);
    CU_ASSERT_EQUAL(dev_a->pool->in_use, 0);
    struct mg_buf *none = NULL;
    CU_ASSERT_EQUAL(receive(dev_b, &none, 1), 0);
}

/* net_ring has no checksum offloads: a request is filled in software. */
static void test_software_checksums(void) {
    CU_ASSERT_EQUAL(dev_a->caps, 0);
    struct mg_buf *b = mg_buf_alloc(dev_a->pool);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    const uint16_t payload = 26;
    uint8_t *p = mg_buf_append(b, 14 + 20 + 8 + payload);
    memset(p, 0, b->len);
    p[12] = 0x08; /* IPv4 */
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + 14);
    ip->version_ihl = 0x45;
    ip->total_length = rte_cpu_to_be_16(20 + 8 + payload);
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_UDP;
    ip->src_addr = rte_cpu_to_be_32(0xc6120001);
    ip->dst_addr = rte_cpu_to_be_32(0xc6120002);
    struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
    udp->src_port = rte_cpu_to_be_16(1234);
    udp->dst_port = rte_cpu_to_be_16(5678);
    udp->dgram_len = rte_cpu_to_be_16(8 + payload);
    for (uint16_t i = 0; i < payload; i++)
        ((uint8_t *)(udp + 1))[i] = (uint8_t)i;
    b->ol_flags = MG_BUF_TX_IP_CKSUM | MG_BUF_TX_UDP_CKSUM;
    b->l2_len = 14;
    b->l3_len = 20;
    CU_ASSERT_EQUAL(mg_netdev_tx(dev_a, &b, 1), 1);
    struct mg_buf *in = NULL;
    CU_ASSERT_EQUAL_FATAL(receive(dev_b, &in, 1), 1);
    struct rte_ipv4_hdr *rip = (struct rte_ipv4_hdr *)(in->data + 14);
    struct rte_udp_hdr *rudp = (struct rte_udp_hdr *)(rip + 1);
    CU_ASSERT_NOT_EQUAL(rip->hdr_checksum, 0);
    CU_ASSERT_EQUAL(rte_ipv4_cksum(rip), 0); /* a correct header sums to 0xffff */
    CU_ASSERT_NOT_EQUAL(rudp->dgram_cksum, 0);
    uint16_t sent_cksum = rudp->dgram_cksum;
    rudp->dgram_cksum = 0;
    CU_ASSERT_EQUAL(rte_ipv4_udptcp_cksum(rip, rudp), sent_cksum);
    struct mg_dpdk_stats sa;
    mg_dpdk_netdev_stats(dev_a, &sa);
    CU_ASSERT_EQUAL(sa.tx_sw_cksum, 1);
    mg_buf_free(in);
}

static void test_print_stats(void) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    mg_dpdk_netdev_print_stats(dev_a, f);
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "dpdk:net_ring_mg_ring_a"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "tx_copies 4"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "opackets"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "rx_nombuf 0"));
    free(text);
}

static void test_destroy_pair(void) {
    struct mg_dpdk_stats sa, sb;
    mg_dpdk_netdev_stats(dev_a, &sa);
    mg_dpdk_netdev_stats(dev_b, &sb);
    CU_ASSERT_EQUAL(dev_a->pool->in_use, 0);
    CU_ASSERT_EQUAL(dev_b->pool->in_use, 0);
    CU_ASSERT_EQUAL(sa.mbufs_available, sa.mbufs_total);
    CU_ASSERT_EQUAL(sb.mbufs_available, sb.mbufs_total);
    mg_netdev_destroy(dev_a);
    mg_netdev_destroy(dev_b);
    dev_a = dev_b = NULL;
    rte_ring_free(rte_ring_lookup("mg_t_ab"));
    rte_ring_free(rte_ring_lookup("mg_t_ba"));
}

/* The path the inet libOS takes: margay.netdev names the device. net_ring0 as a vdev
 * is a loopback port (its RX and TX share one ring). */
static void test_netdev_open_vdev(void) {
    struct mg_config cfg;
    test_config(&cfg);
    char err[512] = "";
    struct mg_netdev *dev = NULL;
    snprintf(cfg.netdev, sizeof(cfg.netdev), "sim-of-the-future");
    CU_ASSERT_EQUAL(mg_netdev_open(&cfg, &dev, err, sizeof(err)), -ENODEV);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "sim-of-the-future"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "dpdk"));
    snprintf(cfg.netdev, sizeof(cfg.netdev), "dpdk");
    snprintf(cfg.dpdk_port, sizeof(cfg.dpdk_port), "net_ring0");
    int ret = mg_netdev_open(&cfg, &dev, err, sizeof(err));
    if (ret != 0)
        fprintf(stderr, "open net_ring0: %s\n", err);
    CU_ASSERT_EQUAL_FATAL(ret, 0);
    CU_ASSERT_STRING_EQUAL(dev->name, "dpdk:net_ring0");
    struct mg_buf *b = make_frame(dev->pool, 1514, 5), *in = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(mg_netdev_tx(dev, &b, 1), 1);
    CU_ASSERT_EQUAL_FATAL(receive(dev, &in, 1), 1);
    CU_ASSERT_TRUE(frame_matches(in, 1514, 5));
    assert_zero_copy(in);
    mg_buf_free(in);
    CU_ASSERT_EQUAL(dev->pool->in_use, 0);
    mg_netdev_destroy(dev);
}

int main(void) {
    if (mg_test_eal_setup(&eal, "test_dpdk_netdev", 256, false, eal_extra,
                          (int)(sizeof(eal_extra) / sizeof(eal_extra[0]))) != 0)
        return 1;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("dpdk_netdev", NULL, NULL);
    CU_add_test(s, "offload flag translation", test_offload_translation);
    CU_add_test(s, "EAL starts once", test_eal_starts_once);
    CU_add_test(s, "no such port lists ports", test_no_such_port);
    CU_add_test(s, "MTU out of range", test_mtu_out_of_range);
    CU_add_test(s, "mempool too small", test_mempool_too_small);
    CU_add_test(s, "open net_null0; busy port", test_open_null_and_busy);
    CU_add_test(s, "open a net_ring pair", test_open_ring_pair);
    CU_add_test(s, "frames 60..1514 byte-identical, zero copy", test_frames_all_sizes);
    CU_add_test(s, "burst larger than a DPDK burst", test_large_burst_in_order);
    CU_add_test(s, "refcounted transmit", test_refcounted_tx);
    CU_add_test(s, "retransmit in flight is copied", test_retransmit_in_flight_copies);
    CU_add_test(s, "heap buffers copied and counted", test_heap_buffers_copied);
    CU_add_test(s, "oversized and malformed frames dropped", test_oversized_and_bad_dropped);
    CU_add_test(s, "software checksums without offload", test_software_checksums);
    CU_add_test(s, "print stats", test_print_stats);
    CU_add_test(s, "destroy returns every mbuf", test_destroy_pair);
    CU_add_test(s, "mg_netdev_open on a vdev", test_netdev_open_vdev);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    mg_dpdk_eal_cleanup();
    mg_test_eal_remove_runtime_dir(&eal);
    return failed ? 1 : 0;
}
