/* tests/unit/test_inet_arp.c — the neighbour cache, against a hand-driven peer:
 * requests on first send, replies learned and waiting frames flushed in order,
 * retries at the configured interval, failure (drops, neighbor_failed, the failure
 * remembered), static entries, answering requests for us only, the pending bound,
 * expiry (the entry still used while unicast probes check it), confirmation by the
 * neighbour's traffic, disable_arp, and malformed packets. */
#include <CUnit/Basic.h>
#include <errno.h>

#include "tests/unit/inet_peer.h"

static const uint8_t zero_mac[6] = {0};

/* Reads the next frame and checks it is an ARP request from the stack for tpa. */
static void expect_request(struct peer *p, uint32_t tpa) {
    uint8_t f[PEER_FRAME_MAX];
    int len = peer_recv(p, f);
    CU_ASSERT_FATAL(len >= MG_ETH_HDR_LEN + MG_ARP_LEN);
    struct mg_eth_hdr eth;
    CU_ASSERT_EQUAL_FATAL(mg_eth_parse(f, (size_t)len, &eth), 0);
    CU_ASSERT_EQUAL(memcmp(eth.dst, mg_eth_broadcast, 6), 0);
    CU_ASSERT_EQUAL(memcmp(eth.src, p->smac, 6), 0);
    CU_ASSERT_EQUAL_FATAL(eth.ethertype, MG_ETHERTYPE_ARP);
    struct mg_arp a;
    CU_ASSERT_EQUAL_FATAL(mg_arp_parse(f + 14, (size_t)len - 14, &a), 0);
    CU_ASSERT_EQUAL(a.op, MG_ARP_OP_REQUEST);
    CU_ASSERT_EQUAL(memcmp(a.sha, p->smac, 6), 0);
    CU_ASSERT_EQUAL(a.spa, PEER_STACK_IP);
    CU_ASSERT_EQUAL(a.tpa, tpa);
}

static void peer_reply(struct peer *p, uint32_t spa) {
    uint8_t f[64];
    size_t n = peer_arp_frame(f, MG_ARP_OP_REPLY, p->smac, p->pmac, spa, p->smac, PEER_STACK_IP);
    peer_send(p, f, n);
    mg_inet_poll(p->inet);
}

/* Reads an IPv4 frame to the peer's MAC and returns its first payload byte. */
static int expect_ipv4_tag(struct peer *p) {
    uint8_t f[PEER_FRAME_MAX];
    int len = peer_recv(p, f);
    if (len < 0)
        return -1;
    struct mg_eth_hdr eth;
    CU_ASSERT_EQUAL_FATAL(mg_eth_parse(f, (size_t)len, &eth), 0);
    CU_ASSERT_EQUAL(memcmp(eth.dst, p->pmac, 6), 0);
    CU_ASSERT_EQUAL_FATAL(eth.ethertype, MG_ETHERTYPE_IPV4);
    struct mg_ipv4_hdr ip;
    CU_ASSERT_EQUAL_FATAL(mg_ipv4_parse(f + 14, (size_t)len - 14, true, &ip), 0);
    CU_ASSERT_EQUAL(ip.src, PEER_STACK_IP);
    CU_ASSERT_EQUAL(ip.ttl, 64);
    CU_ASSERT_EQUAL(ip.frag & MG_IPV4_DF, MG_IPV4_DF);
    return f[14 + ip.hdr_len];
}

static void test_request_reply_flush_in_order(void) {
    struct peer p;
    peer_setup(&p, NULL);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(peer_stack_send(&p, PEER_IP, MG_IPPROTO_TCP, 30, (uint8_t)(10 + i)), 0);
    mg_inet_flush(p.inet);
    expect_request(&p, PEER_IP);
    CU_ASSERT_EQUAL(peer_count_frames(&p), 0); /* one request for three frames */
    CU_ASSERT_EQUAL(p.inet->stats.arp_requests_sent, 1);
    uint8_t mac[6];
    CU_ASSERT_EQUAL(mg_arp_lookup(p.inet->arp, PEER_IP, mac), -ENOENT);
    peer_reply(&p, PEER_IP);
    CU_ASSERT_EQUAL(mg_arp_lookup(p.inet->arp, PEER_IP, mac), 0);
    CU_ASSERT_EQUAL(memcmp(mac, p.pmac, 6), 0);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(expect_ipv4_tag(&p), 10 + i);
    /* Resolved: the next send goes straight out. */
    CU_ASSERT_EQUAL(peer_stack_send(&p, PEER_IP, MG_IPPROTO_TCP, 30, 77), 0);
    mg_inet_flush(p.inet);
    CU_ASSERT_EQUAL(expect_ipv4_tag(&p), 77);
    CU_ASSERT_EQUAL(p.inet->stats.arp_requests_sent, 1);
    peer_teardown(&p);
}

static void short_arp_timers(struct mg_config *c) {
    peer_config(c);
    c->arp_request_timeout_ns = 100 * MG_NS_PER_MS;
    c->arp_request_retries = 3;
}

static void test_retries_then_failure(void) {
    struct mg_config c;
    short_arp_timers(&c);
    struct peer p;
    peer_setup(&p, &c);
    CU_ASSERT_EQUAL(peer_stack_send(&p, PEER_IP, MG_IPPROTO_TCP, 30, 1), 0);
    CU_ASSERT_EQUAL(peer_stack_send(&p, PEER_IP, MG_IPPROTO_TCP, 30, 2), 0);
    mg_inet_flush(p.inet);
    expect_request(&p, PEER_IP);
    for (int retry = 0; retry < 3; retry++) {
        peer_advance(&p, 99 * MG_NS_PER_MS);
        CU_ASSERT_EQUAL(peer_count_frames(&p), 0); /* not before the interval */
        peer_advance(&p, 1 * MG_NS_PER_MS);
        expect_request(&p, PEER_IP);
    }
    CU_ASSERT_EQUAL(p.inet->stats.arp_requests_sent, 4); /* the first + 3 retries */
    CU_ASSERT_EQUAL(p.failed_calls, 0);
    peer_advance(&p, 100 * MG_NS_PER_MS);
    CU_ASSERT_EQUAL(peer_count_frames(&p), 0);
    CU_ASSERT_EQUAL(p.inet->stats.arp_resolution_failures, 1);
    CU_ASSERT_EQUAL(p.inet->stats.drops[MG_DROP_ARP_UNRESOLVED], 2);
    CU_ASSERT_EQUAL(p.failed_calls, 1);
    CU_ASSERT_EQUAL(p.failed_addr, PEER_IP);
    /* The failure is remembered: a burst of sends fails at once without requests. */
    for (int i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(peer_stack_send(&p, PEER_IP, MG_IPPROTO_TCP, 30, 3), -EHOSTUNREACH);
    mg_inet_flush(p.inet);
    CU_ASSERT_EQUAL(peer_count_frames(&p), 0);
    CU_ASSERT_EQUAL(p.inet->stats.drops[MG_DROP_ARP_UNRESOLVED], 12);
    /* After the hold, a send asks again. */
    peer_advance(&p, 100 * MG_NS_PER_MS);
    CU_ASSERT_EQUAL(peer_stack_send(&p, PEER_IP, MG_IPPROTO_TCP, 30, 4), 0);
    mg_inet_flush(p.inet);
    expect_request(&p, PEER_IP);
    peer_reply(&p, PEER_IP);
    CU_ASSERT_EQUAL(expect_ipv4_tag(&p), 4);
    peer_teardown(&p);
}

static void static_peer(struct mg_config *c, const uint8_t *mac) {
    peer_config(c);
    c->arp_table_len = 1;
    c->arp_table[0].ipv4 = PEER_IP;
    memcpy(c->arp_table[0].mac, mac, 6);
}

static void test_static_entry_sends_no_request(void) {
    struct mg_config c;
    static_peer(&c, (const uint8_t[]){0x02, 0, 0, 0, 0, 2});
    struct peer p;
    peer_setup(&p, &c);
    CU_ASSERT_EQUAL(peer_stack_send(&p, PEER_IP, MG_IPPROTO_TCP, 30, 5), 0);
    mg_inet_flush(p.inet);
    CU_ASSERT_EQUAL(expect_ipv4_tag(&p), 5);
    CU_ASSERT_EQUAL(p.inet->stats.arp_requests_sent, 0);
    /* Static entries never expire and are never replaced by what the wire says. */
    peer_advance(&p, 3600 * MG_NS_PER_S);
    uint8_t f[64];
    const uint8_t other[6] = {0x02, 0, 0, 0, 0, 9};
    size_t n = peer_arp_frame(f, MG_ARP_OP_REPLY, p.smac, other, PEER_IP, p.smac, PEER_STACK_IP);
    peer_send(&p, f, n);
    mg_inet_poll(p.inet);
    uint8_t mac[6];
    CU_ASSERT_EQUAL(mg_arp_lookup(p.inet->arp, PEER_IP, mac), 0);
    CU_ASSERT_EQUAL(memcmp(mac, p.pmac, 6), 0);
    CU_ASSERT_EQUAL(peer_stack_send(&p, PEER_IP, MG_IPPROTO_TCP, 30, 6), 0);
    mg_inet_flush(p.inet);
    CU_ASSERT_EQUAL(expect_ipv4_tag(&p), 6);
    peer_teardown(&p);
}

static void test_answers_requests_for_us(void) {
    struct peer p;
    peer_setup(&p, NULL);
    uint8_t f[PEER_FRAME_MAX];
    size_t n = peer_arp_frame(f, MG_ARP_OP_REQUEST, mg_eth_broadcast, p.pmac, PEER_IP, zero_mac, PEER_STACK_IP);
    peer_send(&p, f, n);
    mg_inet_poll(p.inet);
    int len = peer_recv(&p, f);
    CU_ASSERT_FATAL(len >= 42);
    CU_ASSERT_EQUAL(len, 60); /* padded to the Ethernet minimum by the device */
    CU_ASSERT_EQUAL(memcmp(f, p.pmac, 6), 0);
    struct mg_arp a;
    CU_ASSERT_EQUAL_FATAL(mg_arp_parse(f + 14, (size_t)len - 14, &a), 0);
    CU_ASSERT_EQUAL(a.op, MG_ARP_OP_REPLY);
    CU_ASSERT_EQUAL(memcmp(a.sha, p.smac, 6), 0);
    CU_ASSERT_EQUAL(a.spa, PEER_STACK_IP);
    CU_ASSERT_EQUAL(memcmp(a.tha, p.pmac, 6), 0);
    CU_ASSERT_EQUAL(a.tpa, PEER_IP);
    CU_ASSERT_EQUAL(p.inet->stats.arp_replies_sent, 1);
    /* The request taught us the asker's address (RFC 826 merge). */
    uint8_t mac[6];
    CU_ASSERT_EQUAL(mg_arp_lookup(p.inet->arp, PEER_IP, mac), 0);
    CU_ASSERT_EQUAL(memcmp(mac, p.pmac, 6), 0);
    peer_teardown(&p);
}

static void test_ignores_requests_for_others(void) {
    struct peer p;
    peer_setup(&p, NULL);
    uint8_t f[PEER_FRAME_MAX];
    size_t n = peer_arp_frame(f, MG_ARP_OP_REQUEST, mg_eth_broadcast, p.pmac, PEER_IP, zero_mac, 0x0a00004d);
    peer_send(&p, f, n);
    mg_inet_poll(p.inet);
    CU_ASSERT_EQUAL(peer_count_frames(&p), 0);
    CU_ASSERT_EQUAL(p.inet->stats.drops[MG_DROP_ARP_NOT_FOR_US], 1);
    uint8_t mac[6];
    CU_ASSERT_EQUAL(mg_arp_lookup(p.inet->arp, PEER_IP, mac), -ENOENT);
    peer_teardown(&p);
}

static void test_pending_queue_bound(void) {
    struct peer p;
    peer_setup(&p, NULL);
    int refused = 0;
    for (int i = 0; i < 52; i++) {
        int rc = peer_stack_send(&p, PEER_IP, MG_IPPROTO_TCP, 30, (uint8_t)i);
        if (rc == -ENOBUFS)
            refused++;
        else
            CU_ASSERT_EQUAL(rc, 0);
    }
    CU_ASSERT_EQUAL(refused, 4);
    CU_ASSERT_EQUAL(p.inet->stats.drops[MG_DROP_ARP_PENDING_FULL], 4);
    mg_inet_flush(p.inet);
    expect_request(&p, PEER_IP);
    peer_reply(&p, PEER_IP);
    for (int i = 0; i < 48; i++)
        CU_ASSERT_EQUAL(expect_ipv4_tag(&p), i);
    CU_ASSERT_EQUAL(peer_count_frames(&p), 0);
    peer_teardown(&p);
}

/* Reads the next frame and checks it is a unicast ARP request (a probe) from the
 * stack for tpa, sent to the address the stack knows. */
static void expect_probe(struct peer *p, uint32_t tpa) {
    uint8_t f[PEER_FRAME_MAX];
    int len = peer_recv(p, f);
    CU_ASSERT_FATAL(len >= MG_ETH_HDR_LEN + MG_ARP_LEN);
    struct mg_eth_hdr eth;
    CU_ASSERT_EQUAL_FATAL(mg_eth_parse(f, (size_t)len, &eth), 0);
    CU_ASSERT_EQUAL(memcmp(eth.dst, p->pmac, 6), 0);
    CU_ASSERT_EQUAL_FATAL(eth.ethertype, MG_ETHERTYPE_ARP);
    struct mg_arp a;
    CU_ASSERT_EQUAL_FATAL(mg_arp_parse(f + 14, (size_t)len - 14, &a), 0);
    CU_ASSERT_EQUAL(a.op, MG_ARP_OP_REQUEST);
    CU_ASSERT_EQUAL(a.spa, PEER_STACK_IP);
    CU_ASSERT_EQUAL(a.tpa, tpa);
}

/* The peer sends one IPv4 datagram (of the fake transport's protocol) to the stack,
 * in a frame from src_mac. */
static void peer_datagram_from(struct peer *p, const uint8_t *src_mac) {
    uint8_t f[128];
    const uint8_t payload[20] = {0x77};
    size_t n = peer_ipv4_frame(p, f, PEER_IP, PEER_STACK_IP, MG_IPPROTO_TCP, MG_IPV4_DF, payload, sizeof(payload));
    memcpy(f + 6, src_mac, 6);
    int calls = p->l4_calls;
    peer_send(p, f, n);
    mg_inet_poll(p->inet);
    CU_ASSERT_EQUAL(p->l4_calls, calls + 1);
}

static void ttl_config(struct mg_config *c) {
    peer_config(c);
    c->arp_cache_ttl_ns = 2 * MG_NS_PER_S;
    c->arp_request_timeout_ns = 100 * MG_NS_PER_MS;
    c->arp_request_retries = 2;
}

/* An entry whose lifetime is over is still used: the frame goes out at once to the
 * address the entry holds, and one unicast request checks the neighbour; its answer
 * renews the entry. */
static void test_expired_entry_used_while_probed(void) {
    struct mg_config c;
    ttl_config(&c);
    struct peer p;
    peer_setup(&p, &c);
    peer_reply(&p, PEER_IP); /* unsolicited, but addressed to us: learned */
    CU_ASSERT_EQUAL(peer_stack_send(&p, PEER_IP, MG_IPPROTO_TCP, 30, 1), 0);
    mg_inet_flush(p.inet);
    CU_ASSERT_EQUAL(expect_ipv4_tag(&p), 1);
    peer_advance(&p, 2 * MG_NS_PER_S - 1);
    CU_ASSERT_EQUAL(peer_stack_send(&p, PEER_IP, MG_IPPROTO_TCP, 30, 2), 0);
    mg_inet_flush(p.inet);
    CU_ASSERT_EQUAL(expect_ipv4_tag(&p), 2);
    CU_ASSERT_EQUAL(p.inet->stats.arp_requests_sent, 0);
    peer_advance(&p, 1); /* the lifetime is over */
    CU_ASSERT_EQUAL(peer_stack_send(&p, PEER_IP, MG_IPPROTO_TCP, 30, 3), 0);
    CU_ASSERT_EQUAL(peer_stack_send(&p, PEER_IP, MG_IPPROTO_TCP, 30, 4), 0);
    mg_inet_flush(p.inet);
    expect_probe(&p, PEER_IP);
    CU_ASSERT_EQUAL(expect_ipv4_tag(&p), 3); /* not held back */
    CU_ASSERT_EQUAL(expect_ipv4_tag(&p), 4);
    CU_ASSERT_EQUAL(peer_count_frames(&p), 0);
    CU_ASSERT_EQUAL(p.inet->stats.arp_requests_sent, 1);
    uint8_t mac[6];
    CU_ASSERT_EQUAL(mg_arp_lookup(p.inet->arp, PEER_IP, mac), 0);
    peer_reply(&p, PEER_IP);
    peer_advance(&p, MG_NS_PER_S); /* no further probe: the answer renewed it */
    CU_ASSERT_EQUAL(peer_stack_send(&p, PEER_IP, MG_IPPROTO_TCP, 30, 5), 0);
    mg_inet_flush(p.inet);
    CU_ASSERT_EQUAL(expect_ipv4_tag(&p), 5);
    CU_ASSERT_EQUAL(peer_count_frames(&p), 0);
    CU_ASSERT_EQUAL(p.inet->stats.arp_requests_sent, 1);
    peer_teardown(&p);
}

/* Datagrams from the neighbour, from the address its entry holds, keep the entry
 * alive; from another address they do not (and do not change it). */
static void test_traffic_from_the_neighbour_confirms(void) {
    struct mg_config c;
    ttl_config(&c);
    struct peer p;
    peer_setup(&p, &c);
    peer_reply(&p, PEER_IP);
    for (int i = 0; i < 5; i++) { /* 7.5 s: almost four lifetimes */
        peer_advance(&p, 1500 * MG_NS_PER_MS);
        peer_datagram_from(&p, p.pmac);
    }
    peer_advance(&p, 1500 * MG_NS_PER_MS);
    CU_ASSERT_EQUAL(peer_stack_send(&p, PEER_IP, MG_IPPROTO_TCP, 30, 1), 0);
    mg_inet_flush(p.inet);
    CU_ASSERT_EQUAL(expect_ipv4_tag(&p), 1);
    CU_ASSERT_EQUAL(peer_count_frames(&p), 0);
    CU_ASSERT_EQUAL(p.inet->stats.arp_requests_sent, 0);
    /* The same address from another Ethernet address: no confirmation. */
    const uint8_t other[6] = {0x02, 0, 0, 0, 0, 0x42};
    peer_advance(&p, 1500 * MG_NS_PER_MS);
    peer_datagram_from(&p, other);
    peer_advance(&p, 1500 * MG_NS_PER_MS);
    CU_ASSERT_EQUAL(peer_stack_send(&p, PEER_IP, MG_IPPROTO_TCP, 30, 2), 0);
    mg_inet_flush(p.inet);
    expect_probe(&p, PEER_IP);
    CU_ASSERT_EQUAL(expect_ipv4_tag(&p), 2); /* still to the peer's own address */
    CU_ASSERT_EQUAL(p.inet->stats.arp_requests_sent, 1);
    /* Traffic from the right address ends the probing without an ARP answer. */
    peer_datagram_from(&p, p.pmac);
    peer_advance(&p, MG_NS_PER_S);
    CU_ASSERT_EQUAL(peer_count_frames(&p), 0);
    CU_ASSERT_EQUAL(p.inet->stats.arp_requests_sent, 1);
    peer_teardown(&p);
}

/* A neighbour that answers no probe fails like an unresolved one (the transports are
 * told), yet frames keep going to its last address: during the hold without a
 * request, after it with a broadcast request in the background (the address may have
 * moved). Traffic from the old address makes it reachable again. */
static void test_unanswered_probes_fail_frames_still_sent(void) {
    struct mg_config c;
    ttl_config(&c);
    struct peer p;
    peer_setup(&p, &c);
    peer_reply(&p, PEER_IP);
    peer_advance(&p, 2 * MG_NS_PER_S);
    CU_ASSERT_EQUAL(peer_stack_send(&p, PEER_IP, MG_IPPROTO_TCP, 30, 1), 0);
    mg_inet_flush(p.inet);
    expect_probe(&p, PEER_IP);
    CU_ASSERT_EQUAL(expect_ipv4_tag(&p), 1);
    for (int retry = 0; retry < 2; retry++) {
        peer_advance(&p, 100 * MG_NS_PER_MS);
        expect_probe(&p, PEER_IP);
    }
    CU_ASSERT_EQUAL(p.failed_calls, 0);
    peer_advance(&p, 100 * MG_NS_PER_MS);
    CU_ASSERT_EQUAL(p.failed_calls, 1);
    CU_ASSERT_EQUAL(p.failed_addr, PEER_IP);
    CU_ASSERT_EQUAL(p.inet->stats.arp_resolution_failures, 1);
    CU_ASSERT_EQUAL(peer_count_frames(&p), 0);
    /* Within the hold: the frame goes to the last address, no request. */
    CU_ASSERT_EQUAL(peer_stack_send(&p, PEER_IP, MG_IPPROTO_TCP, 30, 2), 0);
    mg_inet_flush(p.inet);
    CU_ASSERT_EQUAL(expect_ipv4_tag(&p), 2);
    CU_ASSERT_EQUAL(peer_count_frames(&p), 0);
    CU_ASSERT_EQUAL(p.inet->stats.arp_requests_sent, 3);
    /* After it: a broadcast request, and the frame at once all the same. */
    peer_advance(&p, 100 * MG_NS_PER_MS);
    CU_ASSERT_EQUAL(peer_stack_send(&p, PEER_IP, MG_IPPROTO_TCP, 30, 3), 0);
    mg_inet_flush(p.inet);
    expect_request(&p, PEER_IP);
    CU_ASSERT_EQUAL(expect_ipv4_tag(&p), 3);
    CU_ASSERT_EQUAL(peer_count_frames(&p), 0);
    CU_ASSERT_EQUAL(p.inet->stats.drops[MG_DROP_ARP_UNRESOLVED], 0);
    peer_datagram_from(&p, p.pmac); /* the old address speaks: it is there */
    peer_advance(&p, MG_NS_PER_S);
    CU_ASSERT_EQUAL(peer_count_frames(&p), 0); /* no further request */
    CU_ASSERT_EQUAL(p.inet->stats.arp_requests_sent, 4);
    peer_teardown(&p);
}

/* A neighbour that answers from a new address (it moved) is learned from its ARP
 * answer at once, whatever state its entry is in. */
static void test_moved_neighbour_learned(void) {
    struct mg_config c;
    ttl_config(&c);
    struct peer p;
    peer_setup(&p, &c);
    peer_reply(&p, PEER_IP);
    const uint8_t moved[6] = {0x02, 0, 0, 0, 0, 0x42};
    uint8_t f[64];
    size_t n = peer_arp_frame(f, MG_ARP_OP_REPLY, p.smac, moved, PEER_IP, p.smac, PEER_STACK_IP);
    peer_send(&p, f, n);
    mg_inet_poll(p.inet);
    uint8_t mac[6];
    CU_ASSERT_EQUAL(mg_arp_lookup(p.inet->arp, PEER_IP, mac), 0);
    CU_ASSERT_EQUAL(memcmp(mac, moved, 6), 0);
    /* Traffic from the old address no longer confirms the entry. */
    peer_advance(&p, 1500 * MG_NS_PER_MS);
    peer_datagram_from(&p, p.pmac);
    peer_advance(&p, 1500 * MG_NS_PER_MS);
    CU_ASSERT_EQUAL(mg_arp_lookup(p.inet->arp, PEER_IP, mac), -ENOENT);
    peer_teardown(&p);
}

static void test_disable_arp_fails_unknown_at_once(void) {
    struct mg_config c;
    static_peer(&c, (const uint8_t[]){0x02, 0, 0, 0, 0, 2});
    c.disable_arp = true;
    struct peer p;
    peer_setup(&p, &c);
    CU_ASSERT_EQUAL(peer_stack_send(&p, 0x0a000003, MG_IPPROTO_TCP, 30, 1), -EHOSTUNREACH);
    CU_ASSERT_EQUAL(p.inet->stats.drops[MG_DROP_ARP_UNRESOLVED], 1);
    CU_ASSERT_EQUAL(p.failed_calls, 0); /* never from inside the sender's call */
    mg_inet_poll(p.inet);
    CU_ASSERT_EQUAL(p.failed_calls, 1);
    CU_ASSERT_EQUAL(p.failed_addr, 0x0a000003u);
    CU_ASSERT_EQUAL(p.inet->stats.arp_requests_sent, 0);
    CU_ASSERT_EQUAL(peer_count_frames(&p), 0);
    /* Replies teach nothing new; static entries still work. */
    peer_reply(&p, 0x0a000003);
    uint8_t mac[6];
    CU_ASSERT_EQUAL(mg_arp_lookup(p.inet->arp, 0x0a000003, mac), -ENOENT);
    CU_ASSERT_EQUAL(peer_stack_send(&p, PEER_IP, MG_IPPROTO_TCP, 30, 2), 0);
    mg_inet_flush(p.inet);
    CU_ASSERT_EQUAL(expect_ipv4_tag(&p), 2);
    peer_teardown(&p);
}

static void test_malformed_arp_counted(void) {
    struct peer p;
    peer_setup(&p, NULL);
    uint8_t f[PEER_FRAME_MAX];
    size_t n = peer_arp_frame(f, MG_ARP_OP_REQUEST, mg_eth_broadcast, p.pmac, PEER_IP, zero_mac, PEER_STACK_IP);
    f[15] = 6; /* hardware type 6 (IEEE 802): unsupported */
    peer_send(&p, f, n);
    n = peer_arp_frame(f, 9, mg_eth_broadcast, p.pmac, PEER_IP, zero_mac, PEER_STACK_IP);
    peer_send(&p, f, n); /* unknown operation */
    /* A sender hardware address that is a group address. */
    const uint8_t group[6] = {0x01, 0, 0x5e, 0, 0, 1};
    n = peer_arp_frame(f, MG_ARP_OP_REQUEST, mg_eth_broadcast, p.pmac, PEER_IP, zero_mac, PEER_STACK_IP);
    memcpy(f + 14 + 8, group, 6);
    peer_send(&p, f, n);
    mg_inet_poll(p.inet);
    CU_ASSERT_EQUAL(p.inet->stats.drops[MG_DROP_ARP_UNSUPPORTED], 1);
    CU_ASSERT_EQUAL(p.inet->stats.drops[MG_DROP_ARP_MALFORMED], 2);
    CU_ASSERT_EQUAL(p.inet->stats.arp_replies_sent, 0);
    CU_ASSERT_EQUAL(peer_count_frames(&p), 0);
    peer_teardown(&p);
}

static void test_gateway_is_resolved_for_off_link(void) {
    struct mg_config c;
    peer_config(&c);
    c.ipv4_gateway = PEER_IP;
    struct peer p;
    peer_setup(&p, &c);
    CU_ASSERT_EQUAL(peer_stack_send(&p, 0xc0a80105, MG_IPPROTO_TCP, 30, 1), 0); /* 192.168.1.5 */
    mg_inet_flush(p.inet);
    expect_request(&p, PEER_IP);
    peer_reply(&p, PEER_IP);
    uint8_t f[PEER_FRAME_MAX];
    int len = peer_recv(&p, f);
    CU_ASSERT_FATAL(len > 34);
    CU_ASSERT_EQUAL(memcmp(f, p.pmac, 6), 0);
    CU_ASSERT_EQUAL(mg_be32_load(f + 14 + 16), 0xc0a80105u); /* IP destination unchanged */
    peer_teardown(&p);
}

static void test_full_table_evicts_oldest_dynamic(void) {
    struct mg_config c;
    peer_config(&c);
    c.ipv4_netmask = 0xffff0000u;
    c.arp_table_len = 1;
    c.arp_table[0].ipv4 = 0x0a000009;
    memcpy(c.arp_table[0].mac, (const uint8_t[]){0x02, 0, 0, 0, 0, 9}, 6);
    struct peer p;
    peer_setup(&p, &c);
    uint8_t f[PEER_FRAME_MAX];
    const unsigned n = 257; /* one more than the dynamic capacity */
    for (unsigned i = 0; i < n; i++) {
        uint8_t sha[6] = {0x02, 0x10, 0, 0, (uint8_t)(i >> 8), (uint8_t)i};
        size_t len =
            peer_arp_frame(f, MG_ARP_OP_REQUEST, mg_eth_broadcast, sha, 0x0a000100 + i, zero_mac, PEER_STACK_IP);
        peer_send(&p, f, len);
        mg_inet_poll(p.inet);
    }
    uint8_t mac[6];
    CU_ASSERT_EQUAL(mg_arp_lookup(p.inet->arp, 0x0a000100, mac), -ENOENT); /* the oldest went */
    CU_ASSERT_EQUAL(mg_arp_lookup(p.inet->arp, 0x0a000101, mac), 0);
    CU_ASSERT_EQUAL(mg_arp_lookup(p.inet->arp, 0x0a000100 + n - 1, mac), 0);
    CU_ASSERT_EQUAL(mac[5], (uint8_t)(n - 1));
    CU_ASSERT_EQUAL(mg_arp_lookup(p.inet->arp, 0x0a000009, mac), 0); /* static entries stay */
    CU_ASSERT_EQUAL(p.inet->stats.arp_replies_sent, n);
    peer_teardown(&p);
}

/* Destroying the cache frees the frames still waiting for a resolution, also in an
 * entry after ones that were learned, evicted and taken again (the cache walks only
 * the part of its table ever used). */
static void test_destroy_frees_waiting_frames(void) {
    struct mg_config c;
    peer_config(&c);
    c.ipv4_netmask = 0xffff0000u;
    struct peer p;
    peer_setup(&p, &c);
    uint8_t f[PEER_FRAME_MAX];
    const unsigned n = 300; /* past the dynamic capacity: evictions reuse slots */
    for (unsigned i = 0; i < n; i++) {
        uint8_t sha[6] = {0x02, 0x10, 0, 0, (uint8_t)(i >> 8), (uint8_t)i};
        size_t len =
            peer_arp_frame(f, MG_ARP_OP_REQUEST, mg_eth_broadcast, sha, 0x0a000100 + i, zero_mac, PEER_STACK_IP);
        peer_send(&p, f, len);
        mg_inet_poll(p.inet);
    }
    while (peer_recv(&p, f) >= 0) /* the replies */
        ;
    struct mg_pool *pool = p.sdev->pool;
    uint32_t before = pool->in_use;
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(peer_stack_send(&p, 0x0a000800, MG_IPPROTO_TCP, 30, (uint8_t)i), 0);
    mg_inet_flush(p.inet);
    expect_request(&p, 0x0a000800);
    CU_ASSERT_EQUAL(pool->in_use, before + 5);
    mg_inet_destroy(p.inet, false);
    CU_ASSERT_EQUAL(pool->in_use, before);
    mg_netdev_destroy(p.sdev);
    mg_netdev_destroy(p.pdev);
    mg_sim_link_destroy(p.link);
}

static void test_zero_interval_is_floored(void) {
    struct mg_config c;
    peer_config(&c);
    c.arp_request_timeout_ns = 0; /* nonsense, but must not spin */
    c.arp_request_retries = 2;
    struct peer p;
    peer_setup(&p, &c);
    CU_ASSERT_EQUAL(peer_stack_send(&p, PEER_IP, MG_IPPROTO_TCP, 30, 1), 0);
    mg_inet_poll(p.inet);
    CU_ASSERT_EQUAL(p.inet->stats.arp_requests_sent, 1);
    peer_advance(&p, MG_NS_PER_MS);
    peer_advance(&p, MG_NS_PER_MS);
    CU_ASSERT_EQUAL(p.inet->stats.arp_requests_sent, 3);
    peer_advance(&p, MG_NS_PER_MS);
    CU_ASSERT_EQUAL(p.failed_calls, 1);
    peer_teardown(&p);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("inet_arp", NULL, NULL);
    CU_add_test(s, "request on first send, reply flushes in order", test_request_reply_flush_in_order);
    CU_add_test(s, "retries at the interval, then failure", test_retries_then_failure);
    CU_add_test(s, "static entry: no request, never replaced", test_static_entry_sends_no_request);
    CU_add_test(s, "answers requests for us", test_answers_requests_for_us);
    CU_add_test(s, "ignores requests for others", test_ignores_requests_for_others);
    CU_add_test(s, "pending queue bound", test_pending_queue_bound);
    CU_add_test(s, "an expired entry is used while probed", test_expired_entry_used_while_probed);
    CU_add_test(s, "traffic from the neighbour confirms its entry", test_traffic_from_the_neighbour_confirms);
    CU_add_test(s, "unanswered probes fail the entry, frames still sent",
                test_unanswered_probes_fail_frames_still_sent);
    CU_add_test(s, "a neighbour that moved is learned at once", test_moved_neighbour_learned);
    CU_add_test(s, "disable_arp fails unknown neighbours at once", test_disable_arp_fails_unknown_at_once);
    CU_add_test(s, "malformed and unsupported ARP counted", test_malformed_arp_counted);
    CU_add_test(s, "off-link goes through the gateway", test_gateway_is_resolved_for_off_link);
    CU_add_test(s, "a zero request interval is floored", test_zero_interval_is_floored);
    CU_add_test(s, "full table evicts the oldest dynamic entry", test_full_table_evicts_oldest_dynamic);
    CU_add_test(s, "destroy frees the frames waiting for a resolution", test_destroy_frees_waiting_frames);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failures ? 1 : 0;
}
