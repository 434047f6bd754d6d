/* tests/unit/test_inet_ipv4.c — Ethernet/IPv4 input validation (each bad frame
 * dropped under its own reason), dispatch to transports, IPv4 output rules, ICMP
 * echo, the ICMP errors we send (protocol unreachable; rate limit; never about
 * errors or broadcasts) and those we receive (matched to the transport). */
#include <CUnit/Basic.h>
#include <errno.h>

#include "tests/unit/inet_peer.h"

static void static_peer_config(struct mg_config *c) {
    peer_config(c);
    c->arp_table_len = 1;
    c->arp_table[0].ipv4 = PEER_IP;
    memcpy(c->arp_table[0].mac, (const uint8_t[]){0x02, 0, 0, 0, 0, 2}, 6);
}

static void setup_static(struct peer *p, uint32_t caps) {
    struct mg_config c;
    static_peer_config(&c);
    peer_setup_caps(p, &c, caps);
}

static void send_and_poll(struct peer *p, const uint8_t *f, size_t n) {
    peer_send(p, f, n);
    mg_inet_poll(p->inet);
}

/* A datagram from the peer to dst (a broadcast address), in an Ethernet broadcast. */
static void send_broadcast(struct peer *p, uint32_t dst, uint8_t proto, const uint8_t *data, size_t len) {
    uint8_t f[PEER_FRAME_MAX];
    size_t n = peer_ipv4_frame(p, f, PEER_IP, dst, proto, 0, data, len);
    memcpy(f, mg_eth_broadcast, 6);
    send_and_poll(p, f, n);
}

static const uint8_t payload8[8] = {0x30, 0x39, 0x00, 0x50, 1, 2, 3, 4}; /* ports 12345 -> 80 */

static void test_validation_drops(void) {
    struct peer p;
    setup_static(&p, 0);
    uint8_t f[PEER_FRAME_MAX];
    size_t n;
    const uint64_t *d = p.inet->stats.drops;

    n = peer_ipv4_frame(&p, f, PEER_IP, PEER_STACK_IP, MG_IPPROTO_TCP, 0, payload8, 8);
    f[14 + 10] ^= 0x5a; /* header checksum */
    send_and_poll(&p, f, n);
    CU_ASSERT_EQUAL(d[MG_DROP_IPV4_BAD_CKSUM], 1);

    n = peer_ipv4_frame(&p, f, PEER_IP, 0x0a000032, MG_IPPROTO_TCP, 0, payload8, 8);
    send_and_poll(&p, f, n);
    CU_ASSERT_EQUAL(d[MG_DROP_IPV4_NOT_FOR_US], 1);

    /* Fragments go to reassembly (tests/unit/test_inet_frag.c), not to TCP. */
    n = peer_ipv4_frame(&p, f, PEER_IP, PEER_STACK_IP, MG_IPPROTO_TCP, MG_IPV4_MF, payload8, 8);
    send_and_poll(&p, f, n);
    n = peer_ipv4_frame(&p, f, PEER_IP, PEER_STACK_IP, MG_IPPROTO_TCP, 185, payload8, 8);
    send_and_poll(&p, f, n);
    CU_ASSERT_EQUAL(p.inet->stats.ipv4_fragments_in, 2);
    CU_ASSERT_EQUAL(p.l4_calls, 0);

    /* Truncated: the header says more than the frame holds (beyond the padding). */
    uint8_t big[200] = {0};
    n = peer_ipv4_frame(&p, f, PEER_IP, PEER_STACK_IP, MG_IPPROTO_TCP, 0, big, sizeof(big));
    send_and_poll(&p, f, n - 100);
    /* Too short for a header at all. */
    send_and_poll(&p, f, 14 + 10);
    /* Version 6 in an IPv4 ethertype. */
    n = peer_ipv4_frame(&p, f, PEER_IP, PEER_STACK_IP, MG_IPPROTO_TCP, 0, payload8, 8);
    f[14] = 0x65;
    send_and_poll(&p, f, n);
    CU_ASSERT_EQUAL(d[MG_DROP_IPV4_MALFORMED], 3);

    n = peer_ipv4_frame(&p, f, 0xffffffff, PEER_STACK_IP, MG_IPPROTO_TCP, 0, payload8, 8);
    send_and_poll(&p, f, n);
    n = peer_ipv4_frame(&p, f, PEER_STACK_IP, PEER_STACK_IP, MG_IPPROTO_TCP, 0, payload8, 8);
    send_and_poll(&p, f, n);
    n = peer_ipv4_frame(&p, f, 0xe0000001, PEER_STACK_IP, MG_IPPROTO_TCP, 0, payload8, 8);
    send_and_poll(&p, f, n);
    CU_ASSERT_EQUAL(d[MG_DROP_IPV4_BAD_SRC], 3);

    /* Ethernet: another host's MAC, an unsupported type, a runt. */
    n = peer_ipv4_frame(&p, f, PEER_IP, PEER_STACK_IP, MG_IPPROTO_TCP, 0, payload8, 8);
    f[5] = 0x44;
    send_and_poll(&p, f, n);
    CU_ASSERT_EQUAL(d[MG_DROP_ETH_NOT_FOR_US], 1);
    n = peer_ipv4_frame(&p, f, PEER_IP, PEER_STACK_IP, MG_IPPROTO_TCP, 0, payload8, 8);
    mg_be16_store(f + 12, MG_ETHERTYPE_IPV6);
    send_and_poll(&p, f, n);
    CU_ASSERT_EQUAL(d[MG_DROP_ETH_UNSUPPORTED_TYPE], 1);
    CU_ASSERT_EQUAL(p.l4_calls, 0);
    CU_ASSERT_EQUAL(p.inet->stats.ipv4_in, 0);
    /* Nothing was answered. */
    CU_ASSERT_EQUAL(peer_count_frames(&p), 0);
    peer_teardown(&p);
}

static void test_runt_ethernet_frame(void) {
    struct peer p;
    setup_static(&p, 0);
    /* The link pads to 60 bytes, so feed the stack directly. */
    struct mg_buf *b = mg_buf_alloc(p.sdev->pool);
    memset(mg_buf_append(b, 10), 0xff, 10);
    mg_inet_input(p.inet, b);
    CU_ASSERT_EQUAL(p.inet->stats.drops[MG_DROP_ETH_MALFORMED], 1);
    CU_ASSERT_EQUAL(p.inet->stats.rx_frames, 1);
    peer_teardown(&p);
}

static void test_device_checksum_verdicts(void) {
    /* The stack's device verifies IPv4 checksums: a bad one arrives flagged. */
    struct peer p;
    setup_static(&p, MG_NETDEV_CAP_RX_IPV4_CKSUM);
    uint8_t f[PEER_FRAME_MAX];
    size_t n = peer_ipv4_frame(&p, f, PEER_IP, PEER_STACK_IP, MG_IPPROTO_TCP, 0, payload8, 8);
    f[14 + 11] ^= 1;
    send_and_poll(&p, f, n);
    CU_ASSERT_EQUAL(p.inet->stats.drops[MG_DROP_IPV4_BAD_CKSUM], 1);
    n = peer_ipv4_frame(&p, f, PEER_IP, PEER_STACK_IP, MG_IPPROTO_TCP, 0, payload8, 8);
    send_and_poll(&p, f, n);
    CU_ASSERT_EQUAL(p.l4_calls, 1);
    peer_teardown(&p);
}

static void test_dispatch_trims_padding(void) {
    struct peer p;
    setup_static(&p, 0);
    uint8_t f[PEER_FRAME_MAX];
    const uint8_t four[4] = {9, 8, 7, 6};
    size_t n = peer_ipv4_frame(&p, f, PEER_IP, PEER_STACK_IP, MG_IPPROTO_TCP, 0, four, 4);
    send_and_poll(&p, f, n); /* 38 bytes, padded to 60 on the wire */
    CU_ASSERT_EQUAL_FATAL(p.l4_calls, 1);
    CU_ASSERT_EQUAL(p.l4_len, 4);
    CU_ASSERT_EQUAL(memcmp(p.l4_bytes, four, 4), 0);
    /* Broadcasts are ours too. */
    send_broadcast(&p, 0x0a0000ff, MG_IPPROTO_TCP, four, 4);
    CU_ASSERT_EQUAL(p.l4_calls, 2);
    CU_ASSERT_EQUAL(p.inet->stats.ipv4_in, 2);
    peer_teardown(&p);
}

/* Reads the next frame as ICMP: returns the ICMP header and checks both checksums. */
static int expect_icmp(struct peer *p, uint8_t *f, struct mg_ipv4_hdr *ip, struct mg_icmp_hdr *icmp) {
    int len = peer_recv(p, f);
    if (len < 0)
        return -1;
    CU_ASSERT_EQUAL_FATAL(mg_ipv4_parse(f + 14, (size_t)len - 14, true, ip), 0);
    CU_ASSERT_EQUAL_FATAL(ip->proto, MG_IPPROTO_ICMP);
    CU_ASSERT_EQUAL(ip->src, PEER_STACK_IP);
    CU_ASSERT_EQUAL(ip->dst, PEER_IP);
    CU_ASSERT_EQUAL_FATAL(mg_icmp_parse(f + 14 + ip->hdr_len, ip->total_len - ip->hdr_len, true, icmp), 0);
    return len;
}

static void test_unknown_protocol_gets_protocol_unreachable(void) {
    struct peer p;
    setup_static(&p, 0);
    uint8_t f[PEER_FRAME_MAX], r[PEER_FRAME_MAX];
    uint8_t data[40];
    for (int i = 0; i < 40; i++)
        data[i] = (uint8_t)i;
    size_t n = peer_ipv4_frame(&p, f, PEER_IP, PEER_STACK_IP, 47 /* GRE */, 0, data, sizeof(data));
    send_and_poll(&p, f, n);
    CU_ASSERT_EQUAL(p.inet->stats.drops[MG_DROP_IPV4_UNSUPPORTED_PROTO], 1);
    struct mg_ipv4_hdr ip;
    struct mg_icmp_hdr icmp;
    CU_ASSERT_FATAL(expect_icmp(&p, r, &ip, &icmp) > 0);
    CU_ASSERT_EQUAL(icmp.type, MG_ICMP_DEST_UNREACH);
    CU_ASSERT_EQUAL(icmp.code, MG_ICMP_CODE_PROTO_UNREACH);
    /* RFC 792: the offending header and the first 8 bytes of its data. */
    CU_ASSERT_EQUAL_FATAL(icmp.payload_len, 28);
    CU_ASSERT_EQUAL(memcmp(icmp.payload, f + 14, 28), 0);
    CU_ASSERT_EQUAL(p.inet->stats.icmp_unreach_sent, 1);
    /* Not about broadcasts. */
    send_broadcast(&p, 0xffffffff, 47, data, sizeof(data));
    CU_ASSERT_EQUAL(p.inet->stats.drops[MG_DROP_IPV4_UNSUPPORTED_PROTO], 2);
    CU_ASSERT_EQUAL(peer_count_frames(&p), 0);
    peer_teardown(&p);
}

static void test_icmp_error_rate_limit(void) {
    struct peer p;
    setup_static(&p, 0);
    uint8_t f[PEER_FRAME_MAX];
    size_t n = peer_ipv4_frame(&p, f, PEER_IP, PEER_STACK_IP, 47, 0, payload8, 8);
    for (unsigned i = 0; i < MG_INET_ICMP_ERR_BURST + 5; i++)
        send_and_poll(&p, f, n);
    CU_ASSERT_EQUAL(peer_count_frames(&p), MG_INET_ICMP_ERR_BURST);
    CU_ASSERT_EQUAL(p.inet->stats.drops[MG_DROP_ICMP_RATE_LIMITED], 5);
    /* One interval later, one more token. */
    mg_clock_advance(&p.clock, MG_INET_ICMP_ERR_INTERVAL_NS);
    send_and_poll(&p, f, n);
    send_and_poll(&p, f, n);
    CU_ASSERT_EQUAL(peer_count_frames(&p), 1);
    CU_ASSERT_EQUAL(p.inet->stats.drops[MG_DROP_ICMP_RATE_LIMITED], 6);
    /* A long pause refills only up to the burst. */
    mg_clock_advance(&p.clock, 1000 * MG_INET_ICMP_ERR_INTERVAL_NS);
    for (unsigned i = 0; i < MG_INET_ICMP_ERR_BURST + 3; i++)
        send_and_poll(&p, f, n);
    CU_ASSERT_EQUAL(peer_count_frames(&p), MG_INET_ICMP_ERR_BURST);
    peer_teardown(&p);
}

static void test_echo_reply(void) {
    struct peer p;
    setup_static(&p, 0);
    uint8_t icmp_bytes[8 + 56];
    for (int i = 0; i < 56; i++)
        icmp_bytes[8 + i] = (uint8_t)(0xa0 + i);
    struct mg_icmp_hdr req = {.type = MG_ICMP_ECHO_REQUEST, .code = 0, .rest = 0x12340007};
    mg_icmp_build(icmp_bytes, sizeof(icmp_bytes), &req, 56);
    uint8_t f[PEER_FRAME_MAX], r[PEER_FRAME_MAX];
    size_t n = peer_ipv4_frame(&p, f, PEER_IP, PEER_STACK_IP, MG_IPPROTO_ICMP, 0, icmp_bytes, sizeof(icmp_bytes));
    send_and_poll(&p, f, n);
    struct mg_ipv4_hdr ip;
    struct mg_icmp_hdr rep;
    CU_ASSERT_FATAL(expect_icmp(&p, r, &ip, &rep) > 0);
    CU_ASSERT_EQUAL(rep.type, MG_ICMP_ECHO_REPLY);
    CU_ASSERT_EQUAL(rep.code, 0);
    CU_ASSERT_EQUAL(rep.rest, 0x12340007u);
    CU_ASSERT_EQUAL_FATAL(rep.payload_len, 56);
    CU_ASSERT_EQUAL(memcmp(rep.payload, icmp_bytes + 8, 56), 0);
    CU_ASSERT_EQUAL(memcmp(r, p.pmac, 6), 0);
    CU_ASSERT_EQUAL(p.inet->stats.icmp_echo_replies_sent, 1);
    /* A corrupted request is dropped, not answered. */
    n = peer_ipv4_frame(&p, f, PEER_IP, PEER_STACK_IP, MG_IPPROTO_ICMP, 0, icmp_bytes, sizeof(icmp_bytes));
    f[14 + 20 + 30] ^= 0xff;
    send_and_poll(&p, f, n);
    CU_ASSERT_EQUAL(p.inet->stats.drops[MG_DROP_ICMP_BAD_CKSUM], 1);
    /* A runt ICMP message. */
    n = peer_ipv4_frame(&p, f, PEER_IP, PEER_STACK_IP, MG_IPPROTO_ICMP, 0, icmp_bytes, 4);
    send_and_poll(&p, f, n);
    CU_ASSERT_EQUAL(p.inet->stats.drops[MG_DROP_ICMP_MALFORMED], 1);
    /* An echo to the broadcast address goes unanswered. */
    send_broadcast(&p, 0x0a0000ff, MG_IPPROTO_ICMP, icmp_bytes, sizeof(icmp_bytes));
    CU_ASSERT_EQUAL(p.inet->stats.drops[MG_DROP_ICMP_UNHANDLED], 1);
    CU_ASSERT_EQUAL(peer_count_frames(&p), 0);
    peer_teardown(&p);
}

static void test_echo_reply_with_tx_offload(void) {
    struct peer p;
    setup_static(&p, MG_NETDEV_CAP_TX_IPV4_CKSUM);
    uint8_t icmp_bytes[8 + 10] = {0};
    struct mg_icmp_hdr req = {.type = MG_ICMP_ECHO_REQUEST, .rest = 0x00010002};
    mg_icmp_build(icmp_bytes, sizeof(icmp_bytes), &req, 10);
    uint8_t f[PEER_FRAME_MAX], r[PEER_FRAME_MAX];
    size_t n = peer_ipv4_frame(&p, f, PEER_IP, PEER_STACK_IP, MG_IPPROTO_ICMP, 0, icmp_bytes, sizeof(icmp_bytes));
    send_and_poll(&p, f, n);
    struct mg_ipv4_hdr ip;
    struct mg_icmp_hdr rep;
    /* expect_icmp verifies the IPv4 checksum the (emulated) device filled. */
    CU_ASSERT_FATAL(expect_icmp(&p, r, &ip, &rep) > 0);
    CU_ASSERT_EQUAL(rep.type, MG_ICMP_ECHO_REPLY);
    peer_teardown(&p);
}

/* An ICMP error from the peer quoting a datagram with the given source. */
static size_t icmp_error_frame(struct peer *p, uint8_t *f, uint8_t type, uint8_t code, uint32_t inner_src,
                               uint8_t inner_proto) {
    uint8_t msg[8 + 28];
    struct mg_ipv4_hdr inner = {.hdr_len = 20,
                                .total_len = 60,
                                .id = 5,
                                .frag = MG_IPV4_DF,
                                .ttl = 64,
                                .proto = inner_proto,
                                .src = inner_src,
                                .dst = PEER_IP};
    mg_ipv4_build(msg + 8, 20, &inner, true);
    memcpy(msg + 28, payload8, 8);
    struct mg_icmp_hdr h = {.type = type, .code = code};
    mg_icmp_build(msg, sizeof(msg), &h, 28);
    return peer_ipv4_frame(p, f, PEER_IP, PEER_STACK_IP, MG_IPPROTO_ICMP, 0, msg, sizeof(msg));
}

static void test_received_errors_reach_the_transport(void) {
    struct peer p;
    setup_static(&p, 0);
    uint8_t f[PEER_FRAME_MAX];
    size_t n = icmp_error_frame(&p, f, MG_ICMP_DEST_UNREACH, MG_ICMP_CODE_PORT_UNREACH, PEER_STACK_IP, MG_IPPROTO_TCP);
    send_and_poll(&p, f, n);
    CU_ASSERT_EQUAL_FATAL(p.icmp_calls, 1);
    CU_ASSERT_EQUAL(p.icmp_type, MG_ICMP_DEST_UNREACH);
    CU_ASSERT_EQUAL(p.icmp_code, MG_ICMP_CODE_PORT_UNREACH);
    CU_ASSERT_EQUAL(p.icmp_inner_sport, 12345);
    CU_ASSERT_EQUAL(p.icmp_inner_dport, 80);
    n = icmp_error_frame(&p, f, MG_ICMP_TIME_EXCEEDED, 0, PEER_STACK_IP, MG_IPPROTO_TCP);
    send_and_poll(&p, f, n);
    CU_ASSERT_EQUAL(p.icmp_calls, 2);
    CU_ASSERT_EQUAL(p.inet->stats.icmp_errors_received, 2);
    /* Not about a datagram we sent, or about a protocol with no transport: unhandled. */
    n = icmp_error_frame(&p, f, MG_ICMP_DEST_UNREACH, 1, 0x0a000009, MG_IPPROTO_TCP);
    send_and_poll(&p, f, n);
    n = icmp_error_frame(&p, f, MG_ICMP_DEST_UNREACH, 1, PEER_STACK_IP, MG_IPPROTO_UDP);
    send_and_poll(&p, f, n);
    CU_ASSERT_EQUAL(p.icmp_calls, 2);
    CU_ASSERT_EQUAL(p.inet->stats.drops[MG_DROP_ICMP_UNHANDLED], 2);
    /* A quote too short to hold 8 bytes of the transport header. */
    n = icmp_error_frame(&p, f, MG_ICMP_DEST_UNREACH, 1, PEER_STACK_IP, MG_IPPROTO_TCP);
    uint8_t short_msg[8 + 24];
    memcpy(short_msg, f + 34, sizeof(short_msg));
    struct mg_icmp_hdr h = {.type = MG_ICMP_DEST_UNREACH, .code = 1};
    mg_icmp_build(short_msg, sizeof(short_msg), &h, 24);
    n = peer_ipv4_frame(&p, f, PEER_IP, PEER_STACK_IP, MG_IPPROTO_ICMP, 0, short_msg, sizeof(short_msg));
    send_and_poll(&p, f, n);
    CU_ASSERT_EQUAL(p.inet->stats.drops[MG_DROP_ICMP_MALFORMED], 1);
    /* Errors are never answered with errors. */
    CU_ASSERT_EQUAL(peer_count_frames(&p), 0);
    peer_teardown(&p);
}

static void test_no_error_about_errors(void) {
    struct peer p;
    setup_static(&p, 0);
    uint8_t icmp_err[8 + 28] = {0};
    struct mg_icmp_hdr h = {.type = MG_ICMP_DEST_UNREACH, .code = 3};
    mg_icmp_build(icmp_err, sizeof(icmp_err), &h, 28);
    /* Feed an IPv4 datagram holding an ICMP error straight to the error path. */
    uint8_t dgram[20 + sizeof(icmp_err)];
    struct mg_ipv4_hdr ip = {.hdr_len = 20,
                             .total_len = sizeof(dgram),
                             .ttl = 64,
                             .proto = MG_IPPROTO_ICMP,
                             .src = PEER_IP,
                             .dst = PEER_STACK_IP};
    mg_ipv4_build(dgram, 20, &ip, true);
    memcpy(dgram + 20, icmp_err, sizeof(icmp_err));
    mg_inet_icmp_send_error(p.inet, dgram, sizeof(dgram), MG_ICMP_DEST_UNREACH, MG_ICMP_CODE_PROTO_UNREACH);
    /* A non-initial fragment. */
    ip.proto = 47;
    ip.frag = 100;
    mg_ipv4_build(dgram, 20, &ip, true);
    mg_inet_icmp_send_error(p.inet, dgram, sizeof(dgram), MG_ICMP_DEST_UNREACH, MG_ICMP_CODE_PROTO_UNREACH);
    /* An echo request is not an error: that one may be answered. */
    ip.proto = MG_IPPROTO_ICMP;
    ip.frag = 0;
    mg_ipv4_build(dgram, 20, &ip, true);
    dgram[20] = MG_ICMP_ECHO_REQUEST;
    mg_inet_icmp_send_error(p.inet, dgram, sizeof(dgram), MG_ICMP_DEST_UNREACH, MG_ICMP_CODE_PROTO_UNREACH);
    mg_inet_flush(p.inet);
    CU_ASSERT_EQUAL(peer_count_frames(&p), 1);
    CU_ASSERT_EQUAL(p.inet->stats.icmp_unreach_sent, 1);
    peer_teardown(&p);
}

static void test_output_rules(void) {
    struct peer p;
    setup_static(&p, 0);
    /* Off-link without a gateway. */
    CU_ASSERT_EQUAL(peer_stack_send(&p, 0xc0a80001, MG_IPPROTO_TCP, 20, 1), -ENETUNREACH);
    CU_ASSERT_EQUAL(peer_stack_send(&p, 0, MG_IPPROTO_TCP, 20, 1), -ENETUNREACH);
    CU_ASSERT_EQUAL(peer_stack_send(&p, 0xe0000001, MG_IPPROTO_TCP, 20, 1), -ENETUNREACH);
    CU_ASSERT_EQUAL(p.inet->stats.drops[MG_DROP_TX_NO_ROUTE], 3);
    /* Past the MTU. */
    CU_ASSERT_EQUAL(peer_stack_send(&p, PEER_IP, MG_IPPROTO_TCP, 1481, 1), -EMSGSIZE);
    CU_ASSERT_EQUAL(p.inet->stats.drops[MG_DROP_TX_TOO_BIG], 1);
    CU_ASSERT_EQUAL(peer_stack_send(&p, PEER_IP, MG_IPPROTO_TCP, 1480, 1), 0);
    /* A buffer without headroom is copied, not refused. */
    struct mg_buf *b = mg_buf_alloc_heap(10, 0);
    memset(mg_buf_append(b, 10), 0x77, 10);
    CU_ASSERT_EQUAL(mg_inet_ipv4_output(p.inet, b, PEER_IP, MG_IPPROTO_TCP), 0);
    mg_inet_flush(p.inet);
    uint8_t f[PEER_FRAME_MAX];
    CU_ASSERT_EQUAL(peer_recv(&p, f), 14 + 20 + 1480);
    struct mg_ipv4_hdr ip;
    int len = peer_recv(&p, f);
    CU_ASSERT_EQUAL_FATAL(len, 60);
    CU_ASSERT_EQUAL_FATAL(mg_ipv4_parse(f + 14, 46, true, &ip), 0);
    CU_ASSERT_EQUAL(ip.total_len, 30);
    CU_ASSERT_EQUAL(f[34], 0x77);
    CU_ASSERT_EQUAL(p.inet->stats.tx_frames, 2);
    CU_ASSERT_EQUAL(p.inet->stats.ipv4_out, 2);
    peer_teardown(&p);
}

static void test_create_derives_mtu_mss_mac(void) {
    struct peer p;
    struct mg_config c;
    peer_config(&c);
    c.mtu = 9000;
    peer_setup(&p, &c);
    CU_ASSERT_EQUAL(p.inet->mtu, 1500); /* the device's is smaller */
    CU_ASSERT_EQUAL(p.inet->mss, 1460);
    CU_ASSERT_EQUAL(p.inet->netmask, 0xffffff00u);
    CU_ASSERT_EQUAL(memcmp(p.inet->mac, p.smac, 6), 0);
    CU_ASSERT_TRUE(mg_inet_on_link(p.inet, 0x0a0000fe));
    CU_ASSERT_FALSE(mg_inet_on_link(p.inet, 0x0a000100));
    peer_teardown(&p);

    peer_config(&c);
    c.mtu = 1400;
    c.mss = 1000;
    c.local_link_addr_set = true;
    memcpy(c.local_link_addr, (const uint8_t[]){0x02, 9, 9, 9, 9, 9}, 6);
    c.ipv4_netmask = 0xffff0000u;
    peer_setup(&p, &c);
    CU_ASSERT_EQUAL(p.inet->mtu, 1400);
    CU_ASSERT_EQUAL(p.inet->mss, 1000);
    CU_ASSERT_EQUAL(p.inet->mac[1], 9);
    CU_ASSERT_TRUE(mg_inet_on_link(p.inet, 0x0a00ff01));
    peer_teardown(&p);

    /* No address: refused with a clear error. */
    struct mg_clock clock;
    mg_clock_init_manual(&clock, 0);
    struct mg_sim_link *link;
    struct mg_sim_link_params lp = {.clock = &clock};
    CU_ASSERT_EQUAL_FATAL(mg_sim_link_create(&lp, &link), 0);
    struct mg_netdev *dev;
    struct mg_sim_endpoint_params ep = {.mac = {2, 0, 0, 0, 0, 1}};
    CU_ASSERT_EQUAL_FATAL(mg_sim_link_add_endpoint(link, &ep, &dev), 0);
    mg_config_defaults(&c);
    struct mg_inet *inet = NULL;
    CU_ASSERT_EQUAL(mg_inet_create(&c, dev, &clock, 1, &inet), -EINVAL);
    CU_ASSERT_PTR_NULL(inet);
    mg_sim_link_destroy(link);
}

static void test_register_rules_and_drop_names(void) {
    struct peer p;
    setup_static(&p, 0);
    struct mg_inet_l4_handler h = {.input = peer_l4_input, .ctx = &p};
    CU_ASSERT_EQUAL(mg_inet_register_l4(p.inet, MG_IPPROTO_TCP, &h), -EEXIST);
    CU_ASSERT_EQUAL(mg_inet_register_l4(p.inet, 47, &h), -EINVAL);
    CU_ASSERT_EQUAL(mg_inet_register_l4(p.inet, MG_IPPROTO_UDP, &h), 0);
    mg_inet_unregister_l4(p.inet, MG_IPPROTO_UDP);
    CU_ASSERT_EQUAL(mg_inet_register_l4(p.inet, MG_IPPROTO_UDP, &h), 0);
    for (int i = 0; i < MG_DROP__COUNT; i++) {
        const char *name = mg_inet_drop_name((enum mg_inet_drop)i);
        CU_ASSERT_STRING_NOT_EQUAL(name, "unknown");
        for (int j = 0; j < i; j++)
            CU_ASSERT_STRING_NOT_EQUAL(name, mg_inet_drop_name((enum mg_inet_drop)j));
    }
    CU_ASSERT_STRING_EQUAL(mg_inet_drop_name(MG_DROP__COUNT), "unknown");
    peer_teardown(&p);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("inet_ipv4", NULL, NULL);
    CU_add_test(s, "validation drops, each under its reason", test_validation_drops);
    CU_add_test(s, "runt Ethernet frame", test_runt_ethernet_frame);
    CU_add_test(s, "device checksum verdicts", test_device_checksum_verdicts);
    CU_add_test(s, "dispatch trims Ethernet padding; broadcasts", test_dispatch_trims_padding);
    CU_add_test(s, "unknown protocol gets protocol unreachable", test_unknown_protocol_gets_protocol_unreachable);
    CU_add_test(s, "ICMP error rate limit", test_icmp_error_rate_limit);
    CU_add_test(s, "echo reply", test_echo_reply);
    CU_add_test(s, "echo reply with IPv4 checksum offload", test_echo_reply_with_tx_offload);
    CU_add_test(s, "received errors reach the transport", test_received_errors_reach_the_transport);
    CU_add_test(s, "no errors about errors or fragments", test_no_error_about_errors);
    CU_add_test(s, "output rules", test_output_rules);
    CU_add_test(s, "create derives MTU, MSS, MAC, netmask", test_create_derives_mtu_mss_mac);
    CU_add_test(s, "register rules; drop names", test_register_rules_and_drop_names);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failures ? 1 : 0;
}
