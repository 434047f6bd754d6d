/* tests/unit/test_sim_link.c — the simulated link on its own: delivery order by
 * (time, sequence) across paths of different latency, next_rx_ns, loss fraction
 * over 10,000 frames for a fixed seed, determinism of the tap, flooding and MAC
 * learning, receive-pool exhaustion, padding, MTU, checksum offload emulation, and
 * frames of mixed sizes through the link's reused events. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <string.h>

#include "sim/link.h"
#include "wire/be.h"
#include "wire/wire.h"

struct fixture {
    struct mg_clock clock;
    struct mg_sim_link *link;
    struct mg_netdev *dev[4];
};

static void setup(struct fixture *f, unsigned n, uint64_t seed, double loss, bool learn, uint32_t pool_bufs) {
    memset(f, 0, sizeof(*f));
    mg_clock_init_manual(&f->clock, 0);
    struct mg_sim_link_params p = {
        .clock = &f->clock, .seed = seed, .latency_ns = 1000, .loss = loss, .learn_macs = learn};
    CU_ASSERT_EQUAL_FATAL(mg_sim_link_create(&p, &f->link), 0);
    for (unsigned i = 0; i < n; i++) {
        struct mg_sim_endpoint_params ep = {.mac = {0x02, 0, 0, 0, 0, (uint8_t)(i + 1)}, .pool_bufs = pool_bufs};
        CU_ASSERT_EQUAL_FATAL(mg_sim_link_add_endpoint(f->link, &ep, &f->dev[i]), (int)i);
    }
}

static void teardown(struct fixture *f, unsigned n) {
    for (unsigned i = 0; i < n; i++)
        mg_netdev_destroy(f->dev[i]);
    mg_sim_link_destroy(f->link);
}

static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* Sends a 100-byte frame from endpoint `from` to MAC dst, tagged at byte 14. */
static void send_tagged(struct fixture *f, unsigned from, const uint8_t *dst, uint8_t tag) {
    struct mg_buf *b = mg_buf_alloc(f->dev[from]->pool);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    uint8_t *p = mg_buf_append(b, 100);
    memset(p, 0, 100);
    memcpy(p, dst, 6);
    memcpy(p + 6, f->dev[from]->mac, 6);
    mg_be16_store(p + 12, 0x88b5); /* local experimental ethertype */
    p[14] = tag;
    CU_ASSERT_EQUAL(mg_netdev_tx(f->dev[from], &b, 1), 1);
}

static int recv_tag(struct fixture *f, unsigned at) {
    struct mg_buf *b;
    if (mg_netdev_rx(f->dev[at], &b, 1) != 1)
        return -1;
    int tag = b->data[14];
    mg_buf_free(b);
    return tag;
}

static void test_delivery_order_and_next_rx(void) {
    struct fixture f;
    setup(&f, 3, 1, 0, false, 0);
    mg_sim_link_set_path(f.link, 0, 2, 100000, 0); /* 0 -> 2: 100 us */
    mg_sim_link_set_path(f.link, 1, 2, 10000, 0);  /* 1 -> 2: 10 us */
    send_tagged(&f, 0, f.dev[2]->mac, 1);
    send_tagged(&f, 1, f.dev[2]->mac, 2);
    send_tagged(&f, 1, f.dev[2]->mac, 3); /* same arrival time as 2: sent later, delivered later */
    CU_ASSERT_EQUAL(mg_sim_link_in_flight(f.link), 3);
    CU_ASSERT_EQUAL(f.dev[2]->ops->next_rx_ns(f.dev[2]), 10000);
    CU_ASSERT_EQUAL(mg_sim_link_next_delivery(f.link), 10000);
    CU_ASSERT_EQUAL(recv_tag(&f, 2), -1); /* nothing before its time */
    mg_clock_set(&f.clock, 9999);
    CU_ASSERT_EQUAL(recv_tag(&f, 2), -1);
    mg_clock_set(&f.clock, 10000);
    CU_ASSERT_EQUAL(recv_tag(&f, 2), 2);
    CU_ASSERT_EQUAL(recv_tag(&f, 2), 3);
    CU_ASSERT_EQUAL(recv_tag(&f, 2), -1);
    CU_ASSERT_EQUAL(f.dev[2]->ops->next_rx_ns(f.dev[2]), 100000);
    mg_clock_set(&f.clock, 200000);
    CU_ASSERT_EQUAL(recv_tag(&f, 2), 1);
    CU_ASSERT_EQUAL(f.dev[2]->ops->next_rx_ns(f.dev[2]), UINT64_MAX);
    CU_ASSERT_EQUAL(mg_sim_link_next_delivery(f.link), UINT64_MAX);
    CU_ASSERT_EQUAL(f.dev[2]->ops->wait_fd(f.dev[2]), -1);
    /* Nothing leaked to the third endpoint: unicast to a known MAC. */
    CU_ASSERT_EQUAL(recv_tag(&f, 0), -1);
    CU_ASSERT_EQUAL(recv_tag(&f, 1), -1);
    CU_ASSERT_EQUAL(mg_sim_link_endpoint_stats(f.link, 2)->delivered, 3);
    CU_ASSERT_EQUAL(mg_sim_link_endpoint_stats(f.link, 0)->sent, 1);
    teardown(&f, 3);
}

static void test_loss_fraction(void) {
    struct fixture f;
    setup(&f, 2, 12345, 0.1, false, 0);
    enum { N = 10000 };
    uint64_t received = 0;
    for (int i = 0; i < N; i++) {
        send_tagged(&f, 0, f.dev[1]->mac, (uint8_t)i);
        mg_clock_advance(&f.clock, 1000);
        while (recv_tag(&f, 1) >= 0)
            received++;
    }
    const struct mg_sim_endpoint_stats *st = mg_sim_link_endpoint_stats(f.link, 1);
    CU_ASSERT_EQUAL(st->delivered, received);
    CU_ASSERT_EQUAL(st->delivered + st->lost, N);
    /* Expected 1000 lost, sd 30: allow 5 sd. */
    CU_ASSERT(st->lost >= 850 && st->lost <= 1150);
    teardown(&f, 2);
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

static uint64_t lossy_run(uint64_t seed) {
    struct fixture f;
    setup(&f, 3, seed, 0.3, true, 0);
    uint64_t h = 0xcbf29ce484222325ull;
    mg_sim_link_set_tap(f.link, hash_tap, &h);
    for (int i = 0; i < 300; i++) {
        send_tagged(&f, (unsigned)i % 3, i % 7 == 0 ? bcast : f.dev[(i + 1) % 3]->mac, (uint8_t)i);
        mg_clock_advance(&f.clock, 300);
        for (unsigned e = 0; e < 3; e++)
            while (recv_tag(&f, e) >= 0) {
            }
    }
    teardown(&f, 3);
    return h;
}

static void test_same_seed_same_tap(void) {
    uint64_t a = lossy_run(99), b = lossy_run(99), c = lossy_run(100);
    CU_ASSERT_EQUAL(a, b);
    CU_ASSERT_NOT_EQUAL(a, c);
}

static void test_flooding_and_learning(void) {
    struct fixture f;
    setup(&f, 3, 1, 0, true, 0);
    send_tagged(&f, 0, bcast, 1);
    const uint8_t unknown[6] = {0x02, 0x55, 0, 0, 0, 9};
    send_tagged(&f, 1, unknown, 2);
    mg_clock_advance(&f.clock, 1000);
    CU_ASSERT_EQUAL(recv_tag(&f, 1), 1);
    CU_ASSERT_EQUAL(recv_tag(&f, 2), 1);
    CU_ASSERT_EQUAL(recv_tag(&f, 0), 2); /* unknown unicast flooded */
    CU_ASSERT_EQUAL(recv_tag(&f, 2), 2);
    CU_ASSERT_EQUAL(recv_tag(&f, 0), -1); /* never back to the sender */
    CU_ASSERT_EQUAL(recv_tag(&f, 1), -1);
    /* Endpoint 2 sends with a second source MAC: the switch learns it lives there. */
    struct mg_buf *b = mg_buf_alloc(f.dev[2]->pool);
    uint8_t *p = mg_buf_append(b, 60);
    memset(p, 0, 60);
    memcpy(p, f.dev[0]->mac, 6);
    memcpy(p + 6, unknown, 6);
    mg_netdev_tx(f.dev[2], &b, 1);
    send_tagged(&f, 1, unknown, 3);
    mg_clock_advance(&f.clock, 1000);
    CU_ASSERT_EQUAL(recv_tag(&f, 0), 0); /* the frame from 2 */
    CU_ASSERT_EQUAL(recv_tag(&f, 2), 3); /* now unicast to the learned port */
    CU_ASSERT_EQUAL(recv_tag(&f, 0), -1);
    teardown(&f, 3);
}

static void test_no_buffer_counted(void) {
    struct fixture f;
    setup(&f, 2, 1, 0, false, 4);
    for (int i = 0; i < 3; i++)
        send_tagged(&f, 0, f.dev[1]->mac, (uint8_t)i); /* sender's buffers return at once */
    for (int i = 3; i < 10; i++)
        send_tagged(&f, 0, f.dev[1]->mac, (uint8_t)i);
    mg_clock_advance(&f.clock, 1000);
    struct mg_buf *held[16];
    uint16_t got = mg_netdev_rx(f.dev[1], held, 16);
    CU_ASSERT_EQUAL(got, 4);
    CU_ASSERT_EQUAL(mg_sim_link_endpoint_stats(f.link, 1)->dropped_no_buf, 6);
    CU_ASSERT_EQUAL(f.dev[1]->stats.rx_dropped_no_buf, 6);
    /* The receiver owns its copy: changing it changes nothing else. */
    held[0]->data[14] = 0xee;
    for (uint16_t i = 0; i < got; i++)
        mg_buf_free(held[i]);
    teardown(&f, 2);
}

static void test_padding_and_mtu(void) {
    struct fixture f;
    setup(&f, 2, 1, 0, false, 0);
    struct mg_buf *b = mg_buf_alloc(f.dev[0]->pool);
    uint8_t *p = mg_buf_append(b, 20);
    memset(p, 0xab, 20);
    memcpy(p, f.dev[1]->mac, 6);
    mg_netdev_tx(f.dev[0], &b, 1);
    b = mg_buf_alloc(f.dev[0]->pool);
    p = mg_buf_append(b, 1500 + 14 + 4 + 1); /* one byte too long even with a VLAN tag */
    memcpy(p, f.dev[1]->mac, 6);
    mg_netdev_tx(f.dev[0], &b, 1);
    mg_clock_advance(&f.clock, 1000);
    CU_ASSERT_EQUAL_FATAL(mg_netdev_rx(f.dev[1], &b, 1), 1);
    CU_ASSERT_EQUAL(b->len, 60);
    CU_ASSERT_EQUAL(b->data[19], 0xab);
    CU_ASSERT_EQUAL(b->data[20], 0);
    mg_buf_free(b);
    CU_ASSERT_EQUAL(mg_netdev_rx(f.dev[1], &b, 1), 0);
    CU_ASSERT_EQUAL(mg_sim_link_endpoint_stats(f.link, 0)->dropped_too_big, 1);
    CU_ASSERT_EQUAL(f.dev[0]->pool->in_use, 0);
    teardown(&f, 2);
}

/* A UDP/IPv4 frame with the checksums left to the device. */
static struct mg_buf *offload_frame(struct mg_netdev *from, const uint8_t *dst_mac) {
    struct mg_buf *b = mg_buf_alloc(from->pool);
    uint8_t *p = mg_buf_append(b, 14 + 20 + 8 + 5);
    struct mg_eth_hdr eth = {.ethertype = MG_ETHERTYPE_IPV4};
    memcpy(eth.dst, dst_mac, 6);
    memcpy(eth.src, from->mac, 6);
    mg_eth_build(p, 14, &eth);
    struct mg_ipv4_hdr ip = {
        .hdr_len = 20, .total_len = 33, .ttl = 64, .proto = MG_IPPROTO_UDP, .src = 0x0a000001, .dst = 0x0a000002};
    mg_ipv4_build(p + 14, 20, &ip, false);
    struct mg_udp_hdr u = {.sport = 1, .dport = 2, .len = 13};
    u.cksum = (uint16_t)~mg_cksum_finish(mg_cksum_pseudo_ipv4(ip.src, ip.dst, MG_IPPROTO_UDP, 13));
    mg_udp_build(p + 34, 8, &u);
    memcpy(p + 42, "hello", 5);
    b->ol_flags = MG_BUF_TX_IP_CKSUM | MG_BUF_TX_UDP_CKSUM;
    b->l2_len = 14;
    b->l3_len = 20;
    return b;
}

static void test_checksum_offload_emulation(void) {
    struct mg_clock clock;
    mg_clock_init_manual(&clock, 0);
    struct mg_sim_link *link;
    struct mg_sim_link_params lp = {.clock = &clock};
    CU_ASSERT_EQUAL_FATAL(mg_sim_link_create(&lp, &link), 0);
    uint32_t all = MG_NETDEV_CAP_TX_IPV4_CKSUM | MG_NETDEV_CAP_TX_UDP_CKSUM | MG_NETDEV_CAP_RX_IPV4_CKSUM |
                   MG_NETDEV_CAP_RX_UDP_CKSUM;
    struct mg_sim_endpoint_params a = {.mac = {2, 0, 0, 0, 0, 1}, .caps = all};
    struct mg_sim_endpoint_params b = {.mac = {2, 0, 0, 0, 0, 2}, .caps = all};
    struct mg_sim_endpoint_params c = {.mac = {2, 0, 0, 0, 0, 3}}; /* no offloads at all */
    struct mg_netdev *da, *db, *dc;
    mg_sim_link_add_endpoint(link, &a, &da);
    mg_sim_link_add_endpoint(link, &b, &db);
    mg_sim_link_add_endpoint(link, &c, &dc);
    struct mg_buf *f = offload_frame(da, db->mac);
    mg_netdev_tx(da, &f, 1);
    CU_ASSERT_EQUAL_FATAL(mg_netdev_rx(db, &f, 1), 1);
    CU_ASSERT_EQUAL(f->ol_flags, MG_BUF_RX_IP_CKSUM_GOOD | MG_BUF_RX_L4_CKSUM_GOOD);
    CU_ASSERT_EQUAL(mg_cksum(f->data + 14, 20), 0);
    CU_ASSERT_EQUAL(mg_l4_cksum_ipv4(0x0a000001, 0x0a000002, MG_IPPROTO_UDP, f->data + 34, 13), 0);
    mg_buf_free(f);
    /* A device without the caps does not fill them: the receiver sees them bad. */
    f = offload_frame(dc, db->mac);
    mg_netdev_tx(dc, &f, 1);
    CU_ASSERT_EQUAL_FATAL(mg_netdev_rx(db, &f, 1), 1);
    CU_ASSERT_EQUAL(f->ol_flags, MG_BUF_RX_IP_CKSUM_BAD | MG_BUF_RX_L4_CKSUM_BAD);
    mg_buf_free(f);
    /* A receiver without the caps gets no verdict. */
    f = offload_frame(da, dc->mac);
    mg_netdev_tx(da, &f, 1);
    CU_ASSERT_EQUAL_FATAL(mg_netdev_rx(dc, &f, 1), 1);
    CU_ASSERT_EQUAL(f->ol_flags, 0);
    mg_buf_free(f);
    mg_netdev_destroy(da);
    mg_netdev_destroy(db);
    mg_netdev_destroy(dc);
    mg_sim_link_destroy(link);
}

static void test_bad_parameters(void) {
    struct mg_clock clock;
    mg_clock_init_manual(&clock, 0);
    struct mg_sim_link *link;
    struct mg_sim_link_params lp = {.clock = &clock, .loss = 1.5};
    CU_ASSERT_EQUAL(mg_sim_link_create(&lp, &link), -EINVAL);
    lp.loss = 0;
    lp.clock = NULL;
    CU_ASSERT_EQUAL(mg_sim_link_create(&lp, &link), -EINVAL);
    lp.clock = &clock;
    CU_ASSERT_EQUAL_FATAL(mg_sim_link_create(&lp, &link), 0);
    struct mg_netdev *d;
    struct mg_sim_endpoint_params group = {.mac = {1, 0, 0, 0, 0, 1}};
    CU_ASSERT_EQUAL(mg_sim_link_add_endpoint(link, &group, &d), -EINVAL);
    struct mg_sim_endpoint_params tiny = {.mac = {2, 0, 0, 0, 0, 1}, .buf_size = 512};
    CU_ASSERT_EQUAL(mg_sim_link_add_endpoint(link, &tiny, &d), -EINVAL);
    CU_ASSERT_EQUAL(mg_sim_link_set_path(link, 0, 1, 0, -0.1), -EINVAL);
    CU_ASSERT_EQUAL(mg_sim_link_set_path(link, 1000, 1, 0, 0), -EINVAL);
    CU_ASSERT_EQUAL(mg_sim_link_set_egress(link, 0, 5, 0.5), 0);
    CU_ASSERT_PTR_NULL(mg_sim_link_endpoint_stats(link, 0));
    mg_sim_link_destroy(link); /* also frees endpoints never destroyed (none here) */
}

/* Frames of mixed sizes through reused events: a jumbo frame after small ones, small
 * ones after it, each delivered with its own bytes; the sender's buffer is free (and
 * may be overwritten) as soon as it is sent. */
static void send_filled(struct mg_netdev *from, const uint8_t *dst, uint32_t len, uint8_t fill) {
    struct mg_buf *b = mg_buf_alloc(from->pool);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    uint8_t *p = mg_buf_append(b, len);
    memset(p, fill, len);
    memcpy(p, dst, 6);
    memcpy(p + 6, from->mac, 6);
    CU_ASSERT_EQUAL(mg_netdev_tx(from, &b, 1), 1);
    CU_ASSERT_EQUAL(from->pool->in_use, 0);
    memset(p, 0xee, len); /* the link must have its own copy */
}

static void test_mixed_sizes_reuse_events(void) {
    struct mg_clock clock;
    mg_clock_init_manual(&clock, 0);
    struct mg_sim_link_params lp = {.clock = &clock, .seed = 3, .latency_ns = 1000};
    struct mg_sim_link *link;
    CU_ASSERT_EQUAL_FATAL(mg_sim_link_create(&lp, &link), 0);
    struct mg_netdev *dev[2];
    for (unsigned i = 0; i < 2; i++) {
        struct mg_sim_endpoint_params ep = {
            .mac = {0x02, 0, 0, 0, 0, (uint8_t)(i + 1)}, .mtu = 9000, .buf_size = 9300, .pool_bufs = 64};
        CU_ASSERT_EQUAL_FATAL(mg_sim_link_add_endpoint(link, &ep, &dev[i]), (int)i);
    }
    const uint32_t sizes[] = {100, 1514, 60, 9000, 200, 9018, 64, 1514};
    for (int round = 0; round < 3; round++) {
        for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
            send_filled(dev[0], dev[1]->mac, sizes[k], (uint8_t)(16 * round + k + 1));
        mg_clock_advance(&clock, 1000);
        for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
            struct mg_buf *b;
            CU_ASSERT_EQUAL_FATAL(mg_netdev_rx(dev[1], &b, 1), 1);
            CU_ASSERT_EQUAL(b->len, sizes[k]);
            unsigned wrong = 0;
            for (uint32_t i = 12; i < b->len; i++)
                wrong += b->data[i] != (uint8_t)(16 * round + k + 1);
            CU_ASSERT_EQUAL(wrong, 0);
            CU_ASSERT_EQUAL(memcmp(b->data, dev[1]->mac, 6), 0);
            mg_buf_free(b);
        }
    }
    CU_ASSERT_EQUAL(mg_sim_link_endpoint_stats(link, 1)->delivered, 24);
    for (unsigned i = 0; i < 2; i++)
        mg_netdev_destroy(dev[i]);
    mg_sim_link_destroy(link);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("sim_link", NULL, NULL);
    CU_add_test(s, "delivery order by (time, sequence); next_rx_ns", test_delivery_order_and_next_rx);
    CU_add_test(s, "loss fraction over 10,000 frames", test_loss_fraction);
    CU_add_test(s, "same seed, same tap", test_same_seed_same_tap);
    CU_add_test(s, "flooding and MAC learning", test_flooding_and_learning);
    CU_add_test(s, "receive pool exhaustion counted", test_no_buffer_counted);
    CU_add_test(s, "padding and MTU", test_padding_and_mtu);
    CU_add_test(s, "checksum offload emulation", test_checksum_offload_emulation);
    CU_add_test(s, "bad parameters", test_bad_parameters);
    CU_add_test(s, "mixed frame sizes through reused events", test_mixed_sizes_reuse_events);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failures ? 1 : 0;
}
