/* tests/unit/test_inet_udp.c — UDP over two (or three) simulated hosts through
 * PDPIX: demi_socket/bind/pushto/pop on the inet libOS, in simulated time. Checks
 * bytes and sender addresses for every size from 1 to 1472 bytes, port unreachable
 * for closed ports, delivery over a lossy link, determinism of the frame sequence
 * for a seed, ARP failure towards an absent peer, and the UDP layer's own rules
 * (bind conflicts, ephemeral range, EMSGSIZE, queue bound, checksum paths). */
#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <demi/libos.h>
#include <demi/sga.h>
#include <demi/wait.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inet/udp.h"
#include "libos/inet/proto.h"
#include "tests/harness/simhosts.h"

#define MAX_WAIT_NS (5ull * MG_NS_PER_S)

static struct simhosts *make_hosts(unsigned n, uint64_t seed, double loss, bool static_arp, uint32_t caps) {
    struct simhosts_params p = {.n = n, .seed = seed, .loss = loss, .static_arp = static_arp, .caps = caps};
    struct simhosts *sh = NULL;
    CU_ASSERT_EQUAL_FATAL(simhosts_create(&p, &sh), 0);
    return sh;
}

static int udp_socket_bound(struct simhosts *sh, unsigned host, uint16_t port) {
    simhosts_use(sh, host);
    int qd = -1;
    CU_ASSERT_EQUAL_FATAL(demi_socket(&qd, AF_INET, SOCK_DGRAM, 0), 0);
    if (port) {
        struct sockaddr_in sin = simhosts_sockaddr(sh, host, port);
        CU_ASSERT_EQUAL_FATAL(demi_bind(qd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    }
    return qd;
}

static void fill_pattern(uint8_t *p, size_t len, unsigned salt) {
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(i * 7 + salt);
}

/* Sends len patterned bytes from host `from` (socket qd) to host `to`:port. */
static int pushto(struct simhosts *sh, unsigned from, int qd, unsigned to, uint16_t port, size_t len, unsigned salt) {
    simhosts_use(sh, from);
    demi_sgarray_t sga = demi_sgaalloc(len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sga.sga_buf);
    fill_pattern(sga.sga_segs[0].sgaseg_buf, len, salt);
    struct sockaddr_in dst = simhosts_sockaddr(sh, to, port);
    demi_qtoken_t qt;
    CU_ASSERT_EQUAL_FATAL(demi_pushto(&qt, qd, &sga, (struct sockaddr *)&dst, sizeof(dst)), 0);
    demi_qresult_t qr;
    CU_ASSERT_EQUAL_FATAL(simhosts_wait(sh, from, qt, &qr, MAX_WAIT_NS), 0);
    simhosts_use(sh, from);
    CU_ASSERT_EQUAL(demi_sgafree(&sga), 0);
    return qr.qr_opcode == DEMI_OPC_PUSH ? 0 : (int)qr.qr_ret;
}

/* One datagram from qd `from_qd` on host `from` to qd `to_qd` (bound to port) on host
 * `to`: a pop is waiting when len patterned bytes are pushed; *qr is its result. */
static void deliver(struct simhosts *sh, unsigned from, int from_qd, unsigned to, int to_qd, uint16_t port, size_t len,
                    unsigned salt, demi_qresult_t *qr) {
    simhosts_use(sh, to);
    demi_qtoken_t qt;
    CU_ASSERT_EQUAL_FATAL(demi_pop(&qt, to_qd), 0);
    CU_ASSERT_EQUAL_FATAL(pushto(sh, from, from_qd, to, port, len, salt), 0);
    CU_ASSERT_EQUAL_FATAL(simhosts_wait(sh, to, qt, qr, MAX_WAIT_NS), 0);
}

/* ---- data path ---- */

static void test_every_size_round_trips(void) {
    struct simhosts *sh = make_hosts(2, 1, 0, false, 0);
    int rx = udp_socket_bound(sh, 1, 7000);
    int tx = udp_socket_bound(sh, 0, 6000);
    unsigned bad = 0;
    for (size_t len = 1; len <= 1472; len++) {
        simhosts_use(sh, 1);
        demi_qtoken_t pop_qt;
        CU_ASSERT_EQUAL_FATAL(demi_pop(&pop_qt, rx), 0);
        CU_ASSERT_EQUAL_FATAL(pushto(sh, 0, tx, 1, 7000, len, (unsigned)len), 0);
        demi_qresult_t qr;
        CU_ASSERT_EQUAL_FATAL(simhosts_wait(sh, 1, pop_qt, &qr, MAX_WAIT_NS), 0);
        CU_ASSERT_EQUAL_FATAL(qr.qr_opcode, DEMI_OPC_POP);
        demi_sgarray_t *sga = &qr.qr_value.sga;
        uint8_t expect[1472];
        fill_pattern(expect, len, (unsigned)len);
        if (sga->sga_segs[0].sgaseg_len != len || memcmp(sga->sga_segs[0].sgaseg_buf, expect, len) != 0)
            bad++;
        CU_ASSERT_EQUAL(sga->sga_addr.sin_family, AF_INET);
        CU_ASSERT_EQUAL(ntohl(sga->sga_addr.sin_addr.s_addr), sh->hosts[0].addr);
        CU_ASSERT_EQUAL(ntohs(sga->sga_addr.sin_port), 6000);
        CU_ASSERT_EQUAL(demi_sgafree(sga), 0);
    }
    CU_ASSERT_EQUAL(bad, 0);
    /* One ARP exchange, then nothing but data. */
    CU_ASSERT_EQUAL(simhosts_inet(sh, 0)->stats.arp_requests_sent, 1);
    CU_ASSERT_EQUAL(simhosts_inet(sh, 1)->stats.arp_requests_sent, 0);
    CU_ASSERT_EQUAL(simhosts_inet(sh, 1)->stats.drops[MG_DROP_UDP_BAD_CKSUM], 0);
    simhosts_destroy(sh);
}

static void test_too_big_fails_push(void) {
    struct simhosts *sh = make_hosts(2, 2, 0, true, 0);
    int tx = udp_socket_bound(sh, 0, 6000);
    CU_ASSERT_EQUAL(pushto(sh, 0, tx, 1, 7000, 65508, 0), EMSGSIZE);
    CU_ASSERT_EQUAL(simhosts_inet(sh, 0)->stats.ipv4_out, 0);
    simhosts_destroy(sh);
}

/* Datagrams past the MTU go out in fragments and arrive whole, both ways, up to the
 * largest UDP payload over IPv4; every buffer is back in its pool afterwards. */
static void test_fragmented_sizes_round_trip(void) {
    static const size_t sizes[] = {1, 1472, 1473, 8192, 65507, 30000, 2953};
    struct simhosts *sh = make_hosts(2, 21, 0, false, 0);
    int q[2] = {udp_socket_bound(sh, 0, 6000), udp_socket_bound(sh, 1, 7000)};
    const uint16_t ports[2] = {6000, 7000};
    static uint8_t expect[65507];
    unsigned bad = 0;
    for (unsigned dir = 0; dir < 2; dir++) {
        unsigned from = dir, to = 1 - dir;
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            size_t len = sizes[i];
            demi_qresult_t qr;
            deliver(sh, from, q[from], to, q[to], ports[to], len, (unsigned)(i + dir), &qr);
            CU_ASSERT_EQUAL_FATAL(qr.qr_opcode, DEMI_OPC_POP);
            demi_sgarray_t *sga = &qr.qr_value.sga;
            fill_pattern(expect, len, (unsigned)(i + dir));
            if (sga->sga_segs[0].sgaseg_len != len || memcmp(sga->sga_segs[0].sgaseg_buf, expect, len) != 0)
                bad++;
            CU_ASSERT_EQUAL(ntohs(sga->sga_addr.sin_port), ports[from]);
            simhosts_use(sh, to);
            CU_ASSERT_EQUAL(demi_sgafree(sga), 0);
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    for (unsigned h = 0; h < 2; h++) {
        struct mg_inet *in = simhosts_inet(sh, h);
        CU_ASSERT_EQUAL(in->stats.ipv4_reassembled, 5); /* all but 1 and 1472 */
        CU_ASSERT_EQUAL(in->stats.drops[MG_DROP_UDP_BAD_CKSUM], 0);
        CU_ASSERT_EQUAL(in->dev->pool->in_use, 0);
    }
    simhosts_destroy(sh);
}

static void test_pops_complete_in_order(void) {
    struct simhosts *sh = make_hosts(2, 3, 0, true, 0);
    int rx = udp_socket_bound(sh, 1, 7000);
    int tx = udp_socket_bound(sh, 0, 0);
    demi_qtoken_t qts[3];
    simhosts_use(sh, 1);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL_FATAL(demi_pop(&qts[i], rx), 0);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL_FATAL(pushto(sh, 0, tx, 1, 7000, 10 + (size_t)i, 0), 0);
    for (int i = 0; i < 3; i++) {
        demi_qresult_t qr;
        CU_ASSERT_EQUAL_FATAL(simhosts_wait(sh, 1, qts[i], &qr, MAX_WAIT_NS), 0);
        CU_ASSERT_EQUAL(qr.qr_value.sga.sga_segs[0].sgaseg_len, 10 + (uint32_t)i);
        /* An unbound sender got an ephemeral port from the configured range. */
        CU_ASSERT(ntohs(qr.qr_value.sga.sga_addr.sin_port) >= 49152);
        demi_sgafree(&qr.qr_value.sga);
    }
    simhosts_destroy(sh);
}

static void test_checksum_offload_path(void) {
    /* Both ends claim every offload: the stack leaves checksums to the (emulated)
     * device and trusts its receive verdicts. */
    uint32_t caps = MG_NETDEV_CAP_RX_IPV4_CKSUM | MG_NETDEV_CAP_RX_UDP_CKSUM | MG_NETDEV_CAP_TX_IPV4_CKSUM |
                    MG_NETDEV_CAP_TX_UDP_CKSUM;
    struct simhosts *sh = make_hosts(2, 4, 0, true, caps);
    simhosts_inet(sh, 0)->cfg.udp_checksum_offload = true;
    CU_ASSERT_TRUE(mg_inet_l4_tx_offload(simhosts_inet(sh, 0), MG_IPPROTO_UDP));
    CU_ASSERT_FALSE(mg_inet_l4_tx_offload(simhosts_inet(sh, 1), MG_IPPROTO_UDP));
    int rx = udp_socket_bound(sh, 1, 7000);
    int tx = udp_socket_bound(sh, 0, 6000);
    demi_qresult_t qr;
    deliver(sh, 0, tx, 1, rx, 7000, 333, 9, &qr);
    uint8_t expect[333];
    fill_pattern(expect, sizeof(expect), 9);
    CU_ASSERT_EQUAL(qr.qr_value.sga.sga_segs[0].sgaseg_len, 333);
    CU_ASSERT_EQUAL(memcmp(qr.qr_value.sga.sga_segs[0].sgaseg_buf, expect, 333), 0);
    demi_sgafree(&qr.qr_value.sga);
    CU_ASSERT_EQUAL(simhosts_inet(sh, 1)->stats.drops[MG_DROP_UDP_BAD_CKSUM], 0);
    CU_ASSERT_EQUAL(simhosts_inet(sh, 1)->stats.drops[MG_DROP_IPV4_BAD_CKSUM], 0);
    simhosts_destroy(sh);
}

static void test_echo_back_popped_buffer_zero_copy(void) {
    struct simhosts *sh = make_hosts(2, 5, 0, true, 0);
    int a = udp_socket_bound(sh, 0, 6000);
    int b = udp_socket_bound(sh, 1, 7000);
    demi_qresult_t qr;
    deliver(sh, 0, a, 1, b, 7000, 100, 3, &qr);
    /* Host 1 sends the very array it popped back to the sender. */
    demi_sgarray_t got = qr.qr_value.sga;
    struct sockaddr_in back = got.sga_addr;
    simhosts_use(sh, 0);
    demi_qtoken_t qt_a;
    CU_ASSERT_EQUAL_FATAL(demi_pop(&qt_a, a), 0);
    simhosts_use(sh, 1);
    uint64_t pool_allocs = simhosts_inet(sh, 1)->dev->pool->allocs;
    demi_qtoken_t push_qt;
    CU_ASSERT_EQUAL_FATAL(demi_pushto(&push_qt, b, &got, (struct sockaddr *)&back, sizeof(back)), 0);
    CU_ASSERT_EQUAL_FATAL(simhosts_wait(sh, 1, push_qt, &qr, MAX_WAIT_NS), 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_PUSH);
    CU_ASSERT_EQUAL(simhosts_inet(sh, 1)->dev->pool->allocs, pool_allocs); /* no copy was made */
    simhosts_use(sh, 1);
    CU_ASSERT_EQUAL(demi_sgafree(&got), 0);
    CU_ASSERT_EQUAL_FATAL(simhosts_wait(sh, 0, qt_a, &qr, MAX_WAIT_NS), 0);
    uint8_t expect[100];
    fill_pattern(expect, sizeof(expect), 3);
    CU_ASSERT_EQUAL(qr.qr_value.sga.sga_segs[0].sgaseg_len, 100);
    CU_ASSERT_EQUAL(memcmp(qr.qr_value.sga.sga_segs[0].sgaseg_buf, expect, 100), 0);
    CU_ASSERT_EQUAL(ntohs(qr.qr_value.sga.sga_addr.sin_port), 7000);
    simhosts_use(sh, 0);
    demi_sgafree(&qr.qr_value.sga);
    simhosts_destroy(sh);
}

/* ---- errors ---- */

static void test_closed_port_gets_port_unreachable(void) {
    struct simhosts *sh = make_hosts(2, 6, 0, false, 0);
    int tx = udp_socket_bound(sh, 0, 6000);
    CU_ASSERT_EQUAL_FATAL(pushto(sh, 0, tx, 1, 7777, 20, 0), 0);
    CU_ASSERT_EQUAL(simhosts_run_until(sh, NULL, NULL, 10 * MG_NS_PER_MS), -ETIMEDOUT);
    struct mg_inet *in0 = simhosts_inet(sh, 0), *in1 = simhosts_inet(sh, 1);
    CU_ASSERT_EQUAL(in1->stats.drops[MG_DROP_UDP_NO_SOCKET], 1);
    CU_ASSERT_EQUAL(in1->stats.icmp_unreach_sent, 1);
    /* Host 0 got it back and matched it to its UDP layer. */
    CU_ASSERT_EQUAL(in0->stats.icmp_errors_received, 1);
    CU_ASSERT_EQUAL(in0->stats.drops[MG_DROP_ICMP_UNHANDLED], 0);
    CU_ASSERT_EQUAL(in0->stats.drops[MG_DROP_ICMP_MALFORMED], 0);
    CU_ASSERT_EQUAL(in0->stats.drops[MG_DROP_ICMP_BAD_CKSUM], 0);
    simhosts_destroy(sh);
}

static void test_arp_failure_to_absent_peer(void) {
    struct simhosts *sh = make_hosts(2, 7, 0, false, 0);
    int tx = udp_socket_bound(sh, 0, 6000);
    simhosts_use(sh, 0);
    demi_sgarray_t sga = demi_sgaalloc(10);
    struct sockaddr_in dst = simhosts_sockaddr(sh, 0, 9);
    dst.sin_addr.s_addr = htonl(0x0a000063); /* 10.0.0.99: nobody */
    demi_qtoken_t qt;
    CU_ASSERT_EQUAL_FATAL(demi_pushto(&qt, tx, &sga, (struct sockaddr *)&dst, sizeof(dst)), 0);
    demi_qresult_t qr;
    CU_ASSERT_EQUAL_FATAL(simhosts_wait(sh, 0, qt, &qr, MAX_WAIT_NS), 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_PUSH); /* taken by the stack; waits for ARP */
    demi_sgafree(&sga);
    struct mg_inet *inet0 = simhosts_inet(sh, 0);
    const struct mg_config *cfg = &inet0->cfg;
    uint64_t give_up = (cfg->arp_request_retries + 1) * cfg->arp_request_timeout_ns;
    CU_ASSERT_EQUAL(simhosts_run_until(sh, NULL, NULL, give_up + MG_NS_PER_MS), -ETIMEDOUT);
    CU_ASSERT_EQUAL(inet0->stats.arp_requests_sent, cfg->arp_request_retries + 1);
    CU_ASSERT_EQUAL(inet0->stats.arp_resolution_failures, 1);
    CU_ASSERT_EQUAL(inet0->stats.drops[MG_DROP_ARP_UNRESOLVED], 1);
    /* Host 1 saw the broadcasts and ignored them. */
    CU_ASSERT_EQUAL(simhosts_inet(sh, 1)->stats.drops[MG_DROP_ARP_NOT_FOR_US], cfg->arp_request_retries + 1);
    CU_ASSERT_EQUAL(simhosts_inet(sh, 1)->stats.arp_replies_sent, 0);
    simhosts_destroy(sh);
}

static void test_socket_kinds(void) {
    struct simhosts *sh = make_hosts(1, 8, 0, false, 0);
    simhosts_use(sh, 0);
    int qd;
    CU_ASSERT_EQUAL(demi_socket(&qd, AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT);
    CU_ASSERT_EQUAL(demi_socket(&qd, AF_INET, SOCK_DGRAM, IPPROTO_TCP), EPROTONOSUPPORT);
    CU_ASSERT_EQUAL_FATAL(demi_socket(&qd, AF_INET, SOCK_STREAM, 0), 0);
    CU_ASSERT_EQUAL(demi_close(qd), 0);
    CU_ASSERT_EQUAL(demi_socket(&qd, AF_INET6, SOCK_DGRAM, 0), EAFNOSUPPORT);
    CU_ASSERT_EQUAL(demi_socket(&qd, AF_INET, SOCK_RAW, 0), EPROTONOSUPPORT);
    simhosts_destroy(sh);
}

static void test_close_cancels_pending_pop(void) {
    struct simhosts *sh = make_hosts(1, 9, 0, false, 0);
    int qd = udp_socket_bound(sh, 0, 5000);
    demi_qtoken_t qt;
    CU_ASSERT_EQUAL_FATAL(demi_pop(&qt, qd), 0);
    CU_ASSERT_EQUAL(demi_close(qd), 0);
    demi_qresult_t qr;
    CU_ASSERT_EQUAL_FATAL(simhosts_wait(sh, 0, qt, &qr, MG_NS_PER_MS), 0);
    CU_ASSERT_EQUAL(qr.qr_opcode, DEMI_OPC_FAILED);
    CU_ASSERT_EQUAL(qr.qr_ret, ECANCELED);
    simhosts_destroy(sh);
}

/* ---- loss and determinism ---- */

/* Pops everything host 1's socket holds; returns how many, counting corrupt ones. */
static uint64_t drain(struct simhosts *sh, int qd, uint64_t *bad) {
    uint64_t got = 0;
    for (;;) {
        simhosts_use(sh, 1);
        demi_qtoken_t qt;
        CU_ASSERT_EQUAL_FATAL(demi_pop(&qt, qd), 0);
        demi_qresult_t qr;
        if (simhosts_wait(sh, 1, qt, &qr, MG_NS_PER_MS) != 0) {
            demi_close(qd); /* cancels the pop left waiting */
            return got;
        }
        const uint8_t *p = qr.qr_value.sga.sga_segs[0].sgaseg_buf;
        uint8_t expect[64];
        fill_pattern(expect, 64, p[0]); /* the pattern's first byte is its salt */
        if (qr.qr_value.sga.sga_segs[0].sgaseg_len != 64 || memcmp(p, expect, 64) != 0)
            (*bad)++;
        got++;
        demi_sgafree(&qr.qr_value.sga);
    }
}

static void test_lossy_link_delivers_the_rest(void) {
    struct simhosts *sh = make_hosts(2, 10, 0.01, true, 0);
    int tx = udp_socket_bound(sh, 0, 6000);
    enum { N = 2000, BATCH = 100 };
    uint64_t got = 0, bad = 0;
    for (int i = 0; i < N; i += BATCH) {
        int rx = udp_socket_bound(sh, 1, 7000);
        for (int j = 0; j < BATCH; j++)
            CU_ASSERT_EQUAL_FATAL(pushto(sh, 0, tx, 1, 7000, 64, (unsigned)(i + j)), 0);
        CU_ASSERT_EQUAL(simhosts_run_until(sh, NULL, NULL, MG_NS_PER_MS), -ETIMEDOUT);
        got += drain(sh, rx, &bad);
    }
    const struct mg_sim_endpoint_stats *st = mg_sim_link_endpoint_stats(sh->link, 1);
    CU_ASSERT(st->lost > 0 && st->lost < N / 20);
    CU_ASSERT_EQUAL(st->delivered + st->lost, N);
    CU_ASSERT_EQUAL(got, st->delivered);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(simhosts_inet(sh, 1)->stats.drops[MG_DROP_UDP_RECV_QUEUE_FULL], 0);
    simhosts_destroy(sh);
}

/* FNV-1a over every frame event the link reports. */
static void hash_tap(void *ctx, enum mg_sim_tap_event ev, uint64_t t, unsigned from, unsigned to, const uint8_t *frame,
                     size_t len) {
    uint64_t *h = ctx;
    uint64_t meta[4] = {ev, t, from, to};
    const uint8_t *m = (const uint8_t *)meta;
    for (size_t i = 0; i < sizeof(meta); i++)
        *h = (*h ^ m[i]) * 0x100000001b3ull;
    for (size_t i = 0; i < len; i++)
        *h = (*h ^ frame[i]) * 0x100000001b3ull;
}

static uint64_t run_scenario(uint64_t seed) {
    uint64_t h = 0xcbf29ce484222325ull;
    struct simhosts_params p = {.n = 3, .seed = seed, .loss = 0.05, .tap = hash_tap, .tap_ctx = &h};
    struct simhosts *sh = NULL;
    CU_ASSERT_EQUAL_FATAL(simhosts_create(&p, &sh), 0);
    int rx = udp_socket_bound(sh, 2, 7000);
    int tx0 = udp_socket_bound(sh, 0, 0);
    int tx1 = udp_socket_bound(sh, 1, 0);
    for (int i = 0; i < 50; i++) {
        pushto(sh, 0, tx0, 2, 7000, 20 + (size_t)i, (unsigned)i);
        pushto(sh, 1, tx1, 2, 7000, 200 + (size_t)i, (unsigned)i);
        pushto(sh, 1, tx1, 0, 7001, 10, (unsigned)i); /* closed port: ICMP errors too */
    }
    simhosts_run_until(sh, NULL, NULL, 20 * MG_NS_PER_S); /* ARP retries, if any were lost */
    (void)rx;
    simhosts_destroy(sh);
    return h;
}

static void test_same_seed_same_frames(void) {
    uint64_t a = run_scenario(42), b = run_scenario(42), c = run_scenario(43);
    CU_ASSERT_EQUAL(a, b);
    CU_ASSERT_NOT_EQUAL(a, c);
}

/* ---- the UDP layer directly ---- */

static void test_bind_rules(void) {
    struct simhosts *sh = make_hosts(1, 11, 0, false, 0);
    struct mg_inet *inet = simhosts_inet(sh, 0);
    struct mg_udp_sock *a = mg_udp_open(inet->udp, NULL, NULL);
    struct mg_udp_sock *b = mg_udp_open(inet->udp, NULL, NULL);
    CU_ASSERT_EQUAL(mg_udp_bind(a, 0, 5000), 0);
    CU_ASSERT_EQUAL(mg_udp_bind(b, 0, 5000), -EADDRINUSE);
    CU_ASSERT_EQUAL(mg_udp_bind(b, inet->ipv4_addr, 5000), -EADDRINUSE);
    CU_ASSERT_EQUAL(mg_udp_bind(b, 0x0a000063, 5001), -EADDRNOTAVAIL);
    CU_ASSERT_EQUAL(mg_udp_bind(b, inet->ipv4_addr, 5001), 0);
    CU_ASSERT_EQUAL(mg_udp_bind(b, 0, 5002), -EINVAL); /* already bound */
    uint32_t addr;
    uint16_t port;
    CU_ASSERT_EQUAL(mg_udp_local(b, &addr, &port), 0);
    CU_ASSERT_EQUAL(addr, inet->ipv4_addr);
    CU_ASSERT_EQUAL(port, 5001);
    mg_udp_close(a);
    mg_udp_close(b);
    simhosts_destroy(sh);
}

static void narrow_ephemeral(unsigned i, struct mg_config *cfg, void *ctx) {
    (void)i;
    (void)ctx;
    cfg->ephemeral_port_min = 40000;
    cfg->ephemeral_port_max = 40003;
}

static void test_ephemeral_range_exhausts(void) {
    struct simhosts_params p = {.n = 1, .seed = 12, .configure = narrow_ephemeral};
    struct simhosts *sh = NULL;
    CU_ASSERT_EQUAL_FATAL(simhosts_create(&p, &sh), 0);
    struct mg_inet *inet = simhosts_inet(sh, 0);
    struct mg_udp_sock *s[5];
    bool seen[4] = {false};
    for (int i = 0; i < 4; i++) {
        s[i] = mg_udp_open(inet->udp, NULL, NULL);
        CU_ASSERT_EQUAL_FATAL(mg_udp_bind(s[i], 0, 0), 0);
        uint16_t port;
        mg_udp_local(s[i], NULL, &port);
        CU_ASSERT_FATAL(port >= 40000 && port <= 40003);
        CU_ASSERT_FALSE(seen[port - 40000]);
        seen[port - 40000] = true;
    }
    s[4] = mg_udp_open(inet->udp, NULL, NULL);
    CU_ASSERT_EQUAL(mg_udp_bind(s[4], 0, 0), -EADDRINUSE);
    for (int i = 0; i < 5; i++)
        mg_udp_close(s[i]);
    simhosts_destroy(sh);
}

static void test_recv_queue_bound_and_bad_checksum(void) {
    struct simhosts *sh = make_hosts(2, 13, 0, true, 0);
    struct mg_inet *in0 = simhosts_inet(sh, 0), *in1 = simhosts_inet(sh, 1);
    struct mg_udp_sock *rx = mg_udp_open(in1->udp, NULL, NULL);
    CU_ASSERT_EQUAL_FATAL(mg_udp_bind(rx, 0, 7000), 0);
    struct mg_udp_sock *tx = mg_udp_open(in0->udp, NULL, NULL);
    uint8_t payload[16] = {1, 2, 3};
    for (int i = 0; i < 300; i++) {
        CU_ASSERT_EQUAL_FATAL(mg_udp_sendto(tx, NULL, payload, sizeof(payload), in1->ipv4_addr, 7000), 0);
        if (i % 32 == 31)
            simhosts_run_until(sh, NULL, NULL, MG_NS_PER_MS);
    }
    simhosts_run_until(sh, NULL, NULL, MG_NS_PER_MS);
    CU_ASSERT_EQUAL(in1->stats.drops[MG_DROP_UDP_RECV_QUEUE_FULL], 300 - 256);
    int n = 0;
    struct mg_buf *b;
    uint32_t from;
    uint16_t port;
    while (mg_udp_recvfrom(rx, &b, &from, &port) >= 0) {
        CU_ASSERT_EQUAL(b->len, sizeof(payload));
        CU_ASSERT_EQUAL(from, in0->ipv4_addr);
        mg_buf_free(b);
        n++;
    }
    CU_ASSERT_EQUAL(n, 256);
    CU_ASSERT_EQUAL(mg_udp_recvfrom(rx, &b, &from, &port), -EAGAIN);
    CU_ASSERT_EQUAL(mg_udp_sendto(tx, NULL, payload, MG_UDP_MAX_PAYLOAD + 1, in1->ipv4_addr, 7000), -EMSGSIZE);
    CU_ASSERT_EQUAL(mg_udp_sendto(tx, NULL, payload, 1, in1->ipv4_addr, 0), -EINVAL);
    mg_udp_close(tx);
    mg_udp_close(rx);
    simhosts_destroy(sh);
}

static void test_init_without_device_fails_clearly(void) {
    struct mg_config cfg;
    mg_config_defaults(&cfg);
    cfg.local_ipv4_addr = 0x0a000001;
    struct mg_clock clock;
    mg_clock_init_manual(&clock, 0);
    struct mg_rt_params rp = {.libos = &mg_libos_inet_ops, .cfg = &cfg, .clock = &clock, .libos_arg = NULL};
    struct mg_rt *rt = NULL;
    CU_ASSERT_EQUAL(mg_rt_create(&rp, &rt), -ENODEV);
    CU_ASSERT_PTR_NULL(rt);
    mg_config_free(&cfg);
}

static void test_sgaalloc_uses_device_buffers(void) {
    struct simhosts *sh = make_hosts(1, 14, 0, false, 0);
    simhosts_use(sh, 0);
    struct mg_pool *pool = simhosts_inet(sh, 0)->dev->pool;
    demi_sgarray_t small = demi_sgaalloc(1000);
    demi_sgarray_t large = demi_sgaalloc(5000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(small.sga_buf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(large.sga_buf);
    CU_ASSERT_PTR_EQUAL(((struct mg_buf *)small.sga_buf)->pool, pool);
    CU_ASSERT_PTR_NOT_EQUAL(((struct mg_buf *)large.sga_buf)->pool, pool);
    CU_ASSERT_EQUAL(large.sga_segs[0].sgaseg_len, 5000);
    CU_ASSERT_EQUAL(pool->in_use, 1);
    demi_sgafree(&small);
    demi_sgafree(&large);
    CU_ASSERT_EQUAL(pool->in_use, 0);
    simhosts_destroy(sh);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("inet_udp", NULL, NULL);
    CU_add_test(s, "every size 1..1472 round-trips via PDPIX", test_every_size_round_trips);
    CU_add_test(s, "datagram past 65507 bytes fails the push with EMSGSIZE", test_too_big_fails_push);
    CU_add_test(s, "datagrams past the MTU round-trip in fragments, both ways", test_fragmented_sizes_round_trip);
    CU_add_test(s, "pops complete in order", test_pops_complete_in_order);
    CU_add_test(s, "checksum offload path", test_checksum_offload_path);
    CU_add_test(s, "popped array pushed back without a copy", test_echo_back_popped_buffer_zero_copy);
    CU_add_test(s, "closed port gets port unreachable", test_closed_port_gets_port_unreachable);
    CU_add_test(s, "ARP failure to an absent peer", test_arp_failure_to_absent_peer);
    CU_add_test(s, "socket types", test_socket_kinds);
    CU_add_test(s, "close cancels a pending pop", test_close_cancels_pending_pop);
    CU_add_test(s, "1% loss still delivers the rest", test_lossy_link_delivers_the_rest);
    CU_add_test(s, "same seed, same frames", test_same_seed_same_frames);
    CU_add_test(s, "bind rules", test_bind_rules);
    CU_add_test(s, "ephemeral range exhausts", test_ephemeral_range_exhausts);
    CU_add_test(s, "receive queue bound, EMSGSIZE, bad arguments", test_recv_queue_bound_and_bad_checksum);
    CU_add_test(s, "no device: ENODEV", test_init_without_device_fails_clearly);
    CU_add_test(s, "demi_sgaalloc uses device buffers when they fit", test_sgaalloc_uses_device_buffers);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failures ? 1 : 0;
}
