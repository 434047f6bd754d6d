/* tests/unit/tcp_seg_helper.c — the segment-level TCP test bench (see the header). */
#include "tcp_seg_helper.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

struct th_bench th;

static const uint8_t local_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t peer_mac[6] = {0x02, 0, 0, 0, 0, 0x02};

static uint16_t cap_rx(struct mg_netdev *dev, struct mg_buf **bufs, uint16_t n) {
    (void)dev;
    (void)bufs;
    (void)n;
    return 0;
}

static uint16_t cap_tx(struct mg_netdev *dev, struct mg_buf **bufs, uint16_t n) {
    (void)dev;
    uint16_t i;
    for (i = 0; i < n; i++) {
        if (th.tail - th.head >= TH_MAX_FRAMES)
            break;
        th.frames[th.tail++ % TH_MAX_FRAMES] = bufs[i];
    }
    return i;
}

static const struct mg_netdev_ops cap_ops = {.rx_burst = cap_rx, .tx_burst = cap_tx};

void th_setup(void (*cfg_tweak)(struct mg_config *cfg)) {
    memset(&th, 0, sizeof(th));
    mg_clock_init_manual(&th.clock, 1000 * MG_NS_PER_S);
    th.pool = mg_heap_pool_create("th", 8192, 2048, 128);
    CU_ASSERT_FATAL(th.pool != NULL);
    th.dev.ops = &cap_ops;
    snprintf(th.dev.name, sizeof(th.dev.name), "capture");
    memcpy(th.dev.mac, local_mac, 6);
    th.dev.mtu = 1500;
    th.dev.pool = th.pool;
    struct mg_config cfg;
    mg_config_defaults(&cfg);
    cfg.local_ipv4_addr = TH_LOCAL_IP;
    cfg.arp_table[0].ipv4 = TH_PEER_IP;
    memcpy(cfg.arp_table[0].mac, peer_mac, 6);
    cfg.arp_table_len = 1;
    cfg.tcp_checksum_offload = false;
    if (cfg_tweak)
        cfg_tweak(&cfg);
    CU_ASSERT_FATAL(mg_inet_create(&cfg, &th.dev, &th.clock, 42, &th.inet) == 0);
    CU_ASSERT_FATAL(mg_tcp_layer_create(th.inet, &th.tcp) == 0);
}

void th_drain(void) {
    mg_inet_flush(th.inet);
    while (th.head != th.tail)
        mg_buf_free(th.frames[th.head++ % TH_MAX_FRAMES]);
}

void th_teardown(void) {
    th_check();
    th_drain();
    mg_tcp_layer_destroy(th.tcp);
    mg_inet_destroy(th.inet, false);
    CU_ASSERT(th.pool->in_use == 0);
    mg_heap_pool_destroy(th.pool);
}

void th_check(void) {
    char why[256] = "";
    int rc = mg_tcp_check_invariants(th.tcp, why, sizeof(why));
    if (rc != 0)
        fprintf(stderr, "invariant: %s\n", why);
    CU_ASSERT(rc == 0);
}

void th_inject(uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t window,
               const struct mg_tcp_opts *opts, const void *payload, uint32_t len) {
    struct mg_buf *b = mg_buf_alloc(th.pool);
    CU_ASSERT_FATAL(b != NULL);
    struct mg_tcp_hdr h;
    memset(&h, 0, sizeof(h));
    h.sport = sport;
    h.dport = dport;
    h.seq = seq;
    h.ack = ack;
    h.flags = flags;
    h.window = window;
    if (opts)
        h.opts = *opts;
    size_t thl = MG_TCP_HDR_LEN + mg_tcp_opts_len(&h.opts);
    size_t total = MG_ETH_HDR_LEN + MG_IPV4_HDR_LEN + thl + len;
    uint8_t *p = mg_buf_append(b, (uint32_t)total);
    CU_ASSERT_FATAL(p != NULL);
    struct mg_eth_hdr eh = {.ethertype = MG_ETHERTYPE_IPV4};
    memcpy(eh.dst, local_mac, 6);
    memcpy(eh.src, peer_mac, 6);
    mg_eth_build(p, MG_ETH_HDR_LEN, &eh);
    struct mg_ipv4_hdr ih = {.hdr_len = 20,
                             .total_len = (uint16_t)(MG_IPV4_HDR_LEN + thl + len),
                             .ttl = 64,
                             .proto = MG_IPPROTO_TCP,
                             .src = TH_PEER_IP,
                             .dst = TH_LOCAL_IP};
    mg_ipv4_build(p + MG_ETH_HDR_LEN, MG_IPV4_HDR_LEN, &ih, true);
    uint8_t *tp = p + MG_ETH_HDR_LEN + MG_IPV4_HDR_LEN;
    mg_tcp_build(tp, thl, &h);
    if (len)
        memcpy(tp + thl, payload, len);
    uint16_t ck = mg_l4_cksum_ipv4(TH_PEER_IP, TH_LOCAL_IP, MG_IPPROTO_TCP, tp, thl + len);
    tp[16] = (uint8_t)(ck >> 8);
    tp[17] = (uint8_t)ck;
    mg_inet_input(th.inet, b);
    mg_inet_flush(th.inet);
}

unsigned th_pending(void) {
    mg_inet_flush(th.inet);
    return th.tail - th.head;
}

bool th_pop(struct th_sent *out) {
    mg_inet_flush(th.inet);
    if (th.head == th.tail)
        return false;
    struct mg_buf *b = th.frames[th.head++ % TH_MAX_FRAMES];
    struct mg_eth_hdr eh;
    memset(out, 0, sizeof(*out));
    bool ok = mg_eth_parse(b->data, b->len, &eh) == 0 && eh.ethertype == MG_ETHERTYPE_IPV4 &&
              mg_ipv4_parse(b->data + eh.hdr_len, b->len - eh.hdr_len, true, &out->ip) == 0 &&
              out->ip.proto == MG_IPPROTO_TCP;
    CU_ASSERT(ok);
    if (ok) {
        const uint8_t *tp = b->data + eh.hdr_len + out->ip.hdr_len;
        size_t tl = out->ip.total_len - out->ip.hdr_len;
        CU_ASSERT(mg_l4_cksum_ipv4(out->ip.src, out->ip.dst, MG_IPPROTO_TCP, tp, tl) == 0);
        CU_ASSERT(mg_tcp_parse(tp, tl, &out->tcp) == 0);
        out->len = (uint32_t)(tl - out->tcp.hdr_len);
        if (out->len <= sizeof(out->payload))
            memcpy(out->payload, tp + out->tcp.hdr_len, out->len);
    }
    mg_buf_free(b);
    return ok;
}

void th_advance(uint64_t ns) {
    mg_clock_advance(&th.clock, ns);
    mg_inet_poll(th.inet);
}

void th_record(struct mg_tcp_sock *s, unsigned events, void *user) {
    (void)s;
    struct th_sock_events *ev = user;
    ev->events |= events;
    ev->count++;
}

struct mg_tcp_sock *th_connect(uint16_t pport, uint32_t pisn, uint16_t pwnd, const struct mg_tcp_opts *popts,
                               struct th_sock_events *ev, uint32_t *iss_out, uint16_t *lport_out) {
    struct mg_tcp_sock *s = mg_tcp_open(th.tcp, th_record, ev);
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT_FATAL(mg_tcp_connect(s, TH_PEER_IP, pport) == 0);
    struct th_sent syn;
    CU_ASSERT_FATAL(th_pop(&syn));
    CU_ASSERT(syn.tcp.flags == MG_TCP_SYN);
    th_inject(pport, syn.tcp.sport, pisn, syn.tcp.seq + 1, MG_TCP_SYN | MG_TCP_ACK, pwnd, popts, NULL, 0);
    struct th_sent ack;
    CU_ASSERT_FATAL(th_pop(&ack));
    CU_ASSERT(ack.tcp.flags == MG_TCP_ACK);
    CU_ASSERT(ack.tcp.ack == pisn + 1);
    CU_ASSERT(mg_tcp_sock_state(s) == MG_TCP_ESTABLISHED);
    if (iss_out)
        *iss_out = syn.tcp.seq;
    if (lport_out)
        *lport_out = syn.tcp.sport;
    return s;
}

struct mg_tcp_sock *th_accept(struct mg_tcp_sock *listener, uint16_t lport, uint16_t pport, uint32_t pisn,
                              uint16_t pwnd, const struct mg_tcp_opts *popts, uint32_t *iss_out) {
    th_inject(pport, lport, pisn, 0, MG_TCP_SYN, pwnd, popts, NULL, 0);
    struct th_sent sa;
    CU_ASSERT_FATAL(th_pop(&sa));
    CU_ASSERT(sa.tcp.flags == (MG_TCP_SYN | MG_TCP_ACK));
    CU_ASSERT(sa.tcp.ack == pisn + 1);
    th_inject(pport, lport, pisn + 1, sa.tcp.seq + 1, MG_TCP_ACK, pwnd, NULL, NULL, 0);
    struct mg_tcp_sock *child = NULL;
    uint32_t pa = 0;
    uint16_t pp = 0;
    CU_ASSERT_FATAL(mg_tcp_accept(listener, &child, &pa, &pp) == 0);
    CU_ASSERT(pa == TH_PEER_IP && pp == pport);
    if (iss_out)
        *iss_out = sa.tcp.seq;
    return child;
}
