/* tests/unit/inet_peer.h — a stack under test and a hand-driven peer on one
 * simulated link (zero latency, manual clock). The peer is a bare link endpoint:
 * tests build exact frames with the wire codecs, send them, poll the stack, and
 * read back what the stack sent. A fake transport registered for TCP's protocol
 * number records what the IP layer hands it. Header-only (static inline) so each
 * test program includes it without another library. */
#ifndef MARGAY_TESTS_INET_PEER_H
#define MARGAY_TESTS_INET_PEER_H

#include <CUnit/Basic.h>
#include <string.h>

#include "core/config.h"
#include "inet/inet.h"
#include "inet/inet_priv.h"
#include "sim/link.h"
#include "wire/be.h"
#include "wire/wire.h"

#define PEER_STACK_IP 0x0a000001u /* 10.0.0.1 */
#define PEER_IP 0x0a000002u       /* 10.0.0.2 */
#define PEER_FRAME_MAX 2048

struct peer {
    struct mg_clock clock;
    struct mg_sim_link *link;
    struct mg_netdev *sdev, *pdev;
    struct mg_inet *inet;
    uint8_t smac[6], pmac[6];
    /* what the fake transport saw */
    int l4_calls;
    uint32_t l4_len;
    uint8_t l4_bytes[64];
    int icmp_calls;
    uint8_t icmp_type, icmp_code;
    uint16_t icmp_inner_sport, icmp_inner_dport;
    int failed_calls;
    uint32_t failed_addr;
};

static inline void peer_l4_input(void *ctx, struct mg_buf *buf, const struct mg_ipv4_hdr *ip) {
    (void)ip;
    struct peer *p = ctx;
    p->l4_calls++;
    p->l4_len = buf->len;
    memcpy(p->l4_bytes, buf->data, buf->len < sizeof(p->l4_bytes) ? buf->len : sizeof(p->l4_bytes));
    mg_buf_free(buf);
}

static inline void peer_l4_icmp_error(void *ctx, uint8_t type, uint8_t code, const struct mg_ipv4_hdr *inner,
                                      const uint8_t *l4, size_t l4_len) {
    (void)inner;
    struct peer *p = ctx;
    p->icmp_calls++;
    p->icmp_type = type;
    p->icmp_code = code;
    if (l4_len >= 4) {
        p->icmp_inner_sport = mg_be16_load(l4);
        p->icmp_inner_dport = mg_be16_load(l4 + 2);
    }
}

static inline void peer_l4_neighbor_failed(void *ctx, uint32_t addr) {
    struct peer *p = ctx;
    p->failed_calls++;
    p->failed_addr = addr;
}

/* cfg: the stack's configuration (NULL = defaults with address 10.0.0.1). */
static inline void peer_setup_caps(struct peer *p, const struct mg_config *cfg, uint32_t stack_caps) {
    memset(p, 0, sizeof(*p));
    mg_clock_init_manual(&p->clock, 1000 * MG_NS_PER_S);
    struct mg_sim_link_params lp = {.clock = &p->clock, .seed = 1};
    CU_ASSERT_EQUAL_FATAL(mg_sim_link_create(&lp, &p->link), 0);
    struct mg_sim_endpoint_params se = {.mac = {0x02, 0, 0, 0, 0, 1}, .caps = stack_caps};
    struct mg_sim_endpoint_params pe = {.mac = {0x02, 0, 0, 0, 0, 2}};
    memcpy(p->smac, se.mac, 6);
    memcpy(p->pmac, pe.mac, 6);
    CU_ASSERT_FATAL(mg_sim_link_add_endpoint(p->link, &se, &p->sdev) == 0);
    CU_ASSERT_FATAL(mg_sim_link_add_endpoint(p->link, &pe, &p->pdev) == 1);
    struct mg_config c;
    if (cfg) {
        c = *cfg;
    } else {
        mg_config_defaults(&c);
        c.local_ipv4_addr = PEER_STACK_IP;
    }
    CU_ASSERT_EQUAL_FATAL(mg_inet_create(&c, p->sdev, &p->clock, 7, &p->inet), 0);
    struct mg_inet_l4_handler h = {
        .input = peer_l4_input, .icmp_error = peer_l4_icmp_error, .neighbor_failed = peer_l4_neighbor_failed, .ctx = p};
    CU_ASSERT_EQUAL_FATAL(mg_inet_register_l4(p->inet, MG_IPPROTO_TCP, &h), 0);
}

static inline void peer_setup(struct peer *p, const struct mg_config *cfg) {
    peer_setup_caps(p, cfg, 0);
}

static inline void peer_config(struct mg_config *c) {
    mg_config_defaults(c);
    c->local_ipv4_addr = PEER_STACK_IP;
}

static inline void peer_teardown(struct peer *p) {
    mg_inet_destroy(p->inet, true);
    mg_netdev_destroy(p->pdev);
    mg_sim_link_destroy(p->link);
}

/* The peer puts a frame on the wire. */
static inline void peer_send(struct peer *p, const uint8_t *frame, size_t len) {
    struct mg_buf *b = mg_buf_alloc(p->pdev->pool);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    memcpy(mg_buf_append(b, (uint32_t)len), frame, len);
    CU_ASSERT_EQUAL(mg_netdev_tx(p->pdev, &b, 1), 1);
}

/* The next frame the stack sent to the peer: its length, or -1 if none. */
static inline int peer_recv(struct peer *p, uint8_t *out) {
    struct mg_buf *b;
    if (mg_netdev_rx(p->pdev, &b, 1) != 1)
        return -1;
    int len = (int)b->len;
    memcpy(out, b->data, b->len);
    mg_buf_free(b);
    return len;
}

static inline int peer_count_frames(struct peer *p) {
    uint8_t f[PEER_FRAME_MAX];
    int n = 0;
    while (peer_recv(p, f) >= 0)
        n++;
    return n;
}

static inline void peer_advance(struct peer *p, uint64_t ns) {
    mg_clock_advance(&p->clock, ns);
    mg_inet_poll(p->inet);
}

static inline size_t peer_eth(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type) {
    struct mg_eth_hdr h = {.ethertype = type, .hdr_len = MG_ETH_HDR_LEN};
    memcpy(h.dst, dst, 6);
    memcpy(h.src, src, 6);
    return mg_eth_build(f, MG_ETH_HDR_LEN, &h);
}

/* An IPv4 frame from the peer to the stack's MAC carrying `payload`. */
static inline size_t peer_ipv4_frame(struct peer *p, uint8_t *f, uint32_t src, uint32_t dst, uint8_t proto,
                                     uint16_t frag, const uint8_t *payload, size_t plen) {
    size_t off = peer_eth(f, p->smac, p->pmac, MG_ETHERTYPE_IPV4);
    struct mg_ipv4_hdr ip = {.hdr_len = 20,
                             .total_len = (uint16_t)(20 + plen),
                             .id = 99,
                             .frag = frag,
                             .ttl = 64,
                             .proto = proto,
                             .src = src,
                             .dst = dst};
    off += mg_ipv4_build(f + off, 20, &ip, true);
    memcpy(f + off, payload, plen);
    return off + plen;
}

static inline size_t peer_arp_frame(uint8_t *f, uint16_t op, const uint8_t *eth_dst, const uint8_t *sha, uint32_t spa,
                                    const uint8_t *tha, uint32_t tpa) {
    size_t off = peer_eth(f, eth_dst, sha, MG_ETHERTYPE_ARP);
    struct mg_arp a = {.op = op, .spa = spa, .tpa = tpa};
    memcpy(a.sha, sha, 6);
    memcpy(a.tha, tha, 6);
    return off + mg_arp_build(f + off, MG_ARP_LEN, &a);
}

/* The stack sends an L4 packet of `len` bytes (first byte = tag) to dst. */
static inline int peer_stack_send(struct peer *p, uint32_t dst, uint8_t proto, uint32_t len, uint8_t tag) {
    struct mg_buf *b = mg_inet_alloc_tx(p->inet);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    uint8_t *d = mg_buf_append(b, len);
    memset(d, 0, len);
    d[0] = tag;
    return mg_inet_ipv4_output(p->inet, b, dst, proto);
}

#endif /* MARGAY_TESTS_INET_PEER_H */
