/* tests/unit/test_wire_l2l3.c — Ethernet, ARP, IPv4, ICMP and UDP codecs: round
 * trips both ways, every truncation length, and each malformed field with the error
 * code wire.h promises. Truncated inputs are exact-size heap copies so that the
 * sanitizer build catches any read past len. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire.h"
#include "wire_test.h"

/* Parser signatures differ; these adapters give truncation loops one shape. */
typedef int (*parse_fn)(const uint8_t *p, size_t len);

static int parse_eth(const uint8_t *p, size_t len) {
    struct mg_eth_hdr h;
    return mg_eth_parse(p, len, &h);
}
static int parse_arp(const uint8_t *p, size_t len) {
    struct mg_arp a;
    return mg_arp_parse(p, len, &a);
}
static int parse_ipv4(const uint8_t *p, size_t len) {
    struct mg_ipv4_hdr h;
    return mg_ipv4_parse(p, len, true, &h);
}
static int parse_icmp(const uint8_t *p, size_t len) {
    struct mg_icmp_hdr h;
    return mg_icmp_parse(p, len, false, &h);
}
static int parse_udp(const uint8_t *p, size_t len) {
    struct mg_udp_hdr h;
    return mg_udp_parse(p, len, &h);
}

/* Parses every prefix [0, n) of bytes with lengths from..to-1 and expects err. */
static void expect_prefixes(parse_fn parse, const uint8_t *bytes, size_t from, size_t to, int err) {
    for (size_t len = from; len < to; len++) {
        uint8_t *p = wire_test_dup(bytes, len);
        int rc = parse(p, len);
        free(p);
        CU_ASSERT_EQUAL(rc, err);
        if (rc != err)
            fprintf(stderr, "  prefix len %zu: got %d, want %d\n", len, rc, err);
    }
}

static int parse_exact(parse_fn parse, const uint8_t *bytes, size_t len) {
    uint8_t *p = wire_test_dup(bytes, len);
    int rc = parse(p, len);
    free(p);
    return rc;
}

/* ---- Ethernet ---- */

static const uint8_t eth_untagged[] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, /* dst */
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, /* src */
    0x08, 0x00,                         /* IPv4 */
};

static void test_eth_roundtrip(void) {
    struct mg_eth_hdr h;
    CU_ASSERT_EQUAL_FATAL(mg_eth_parse(eth_untagged, sizeof(eth_untagged), &h), 0);
    CU_ASSERT_EQUAL(h.ethertype, MG_ETHERTYPE_IPV4);
    CU_ASSERT_EQUAL(h.hdr_len, 14);
    CU_ASSERT_FALSE(h.has_vlan);
    CU_ASSERT_EQUAL(memcmp(h.dst, eth_untagged, 6), 0);
    CU_ASSERT_EQUAL(memcmp(h.src, eth_untagged + 6, 6), 0);
    uint8_t out[14];
    CU_ASSERT_EQUAL(mg_eth_build(out, sizeof(out), &h), 14);
    CU_ASSERT_EQUAL(memcmp(out, eth_untagged, 14), 0);

    struct mg_eth_hdr b = {.ethertype = MG_ETHERTYPE_ARP};
    memcpy(b.dst, mg_eth_broadcast, 6);
    memcpy(b.src, "\x02\x11\x22\x33\x44\x55", 6);
    CU_ASSERT_EQUAL(mg_eth_build(out, sizeof(out), &b), 14);
    struct mg_eth_hdr back;
    CU_ASSERT_EQUAL_FATAL(mg_eth_parse(out, sizeof(out), &back), 0);
    CU_ASSERT_EQUAL(back.ethertype, MG_ETHERTYPE_ARP);
    CU_ASSERT_EQUAL(memcmp(back.dst, "\xff\xff\xff\xff\xff\xff", 6), 0);
    CU_ASSERT_EQUAL(memcmp(back.src, b.src, 6), 0);
    CU_ASSERT_EQUAL(mg_eth_build(out, 13, &b), 0);
}

static void test_eth_vlan(void) {
    uint8_t f[18 + 20];
    memcpy(f, eth_untagged, 12);
    f[12] = 0x81, f[13] = 0x00; /* 802.1Q */
    f[14] = 0xa0, f[15] = 0x64; /* PCP 5, VID 100 */
    f[16] = 0x86, f[17] = 0xdd; /* IPv6 inside */
    memset(f + 18, 0x60, sizeof(f) - 18);
    struct mg_eth_hdr h;
    CU_ASSERT_EQUAL_FATAL(mg_eth_parse(f, sizeof(f), &h), 0);
    CU_ASSERT_TRUE(h.has_vlan);
    CU_ASSERT_EQUAL(h.vlan_tci, 0xa064);
    CU_ASSERT_EQUAL(h.ethertype, MG_ETHERTYPE_IPV6);
    CU_ASSERT_EQUAL(h.hdr_len, 18);
    CU_ASSERT_EQUAL(parse_exact(parse_eth, f, 18), 0);
    /* The tag is there but cut short: the inner type is missing. */
    expect_prefixes(parse_eth, f, 14, 18, -EMSGSIZE);

    /* Stacked tags: 8100/8100, 8100/88a8, 8100/9100 and an outer 88a8 S-tag. */
    static const uint16_t inner_tags[] = {0x8100, 0x88a8, 0x9100};
    for (size_t i = 0; i < 3; i++) {
        f[16] = (uint8_t)(inner_tags[i] >> 8), f[17] = (uint8_t)inner_tags[i];
        CU_ASSERT_EQUAL(mg_eth_parse(f, sizeof(f), &h), -EPROTONOSUPPORT);
    }
    f[12] = 0x88, f[13] = 0xa8, f[16] = 0x81, f[17] = 0x00;
    CU_ASSERT_EQUAL(mg_eth_parse(f, sizeof(f), &h), -EPROTONOSUPPORT);
}

static void test_eth_truncated(void) {
    expect_prefixes(parse_eth, eth_untagged, 0, 14, -EMSGSIZE);
}

/* ---- ARP ---- */

/* Who has 10.0.0.2? Tell 10.0.0.1 (02:00:00:00:00:01). */
static const uint8_t arp_request[] = {
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, /* Ethernet/IPv4, request */
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x02,
};

static void test_arp_roundtrip(void) {
    struct mg_arp a;
    CU_ASSERT_EQUAL_FATAL(mg_arp_parse(arp_request, sizeof(arp_request), &a), 0);
    CU_ASSERT_EQUAL(a.op, MG_ARP_OP_REQUEST);
    CU_ASSERT_EQUAL(a.spa, 0x0a000001);
    CU_ASSERT_EQUAL(a.tpa, 0x0a000002);
    CU_ASSERT_EQUAL(memcmp(a.sha, arp_request + 8, 6), 0);
    CU_ASSERT_EQUAL(memcmp(a.tha, "\0\0\0\0\0\0", 6), 0);
    uint8_t out[MG_ARP_LEN];
    CU_ASSERT_EQUAL(mg_arp_build(out, sizeof(out), &a), MG_ARP_LEN);
    CU_ASSERT_EQUAL(memcmp(out, arp_request, MG_ARP_LEN), 0);
    CU_ASSERT_EQUAL(mg_arp_build(out, MG_ARP_LEN - 1, &a), 0);

    struct mg_arp reply = {.op = MG_ARP_OP_REPLY, .spa = 0xc0a80101, .tpa = 0xc0a80102};
    memcpy(reply.sha, "\x02\xaa\xbb\xcc\xdd\xee", 6);
    memcpy(reply.tha, "\x02\x11\x22\x33\x44\x55", 6);
    CU_ASSERT_EQUAL(mg_arp_build(out, sizeof(out), &reply), MG_ARP_LEN);
    struct mg_arp back;
    CU_ASSERT_EQUAL_FATAL(mg_arp_parse(out, sizeof(out), &back), 0);
    CU_ASSERT_EQUAL(back.op, MG_ARP_OP_REPLY);
    CU_ASSERT_EQUAL(back.spa, reply.spa);
    CU_ASSERT_EQUAL(back.tpa, reply.tpa);
    CU_ASSERT_EQUAL(memcmp(back.sha, reply.sha, 6), 0);
    CU_ASSERT_EQUAL(memcmp(back.tha, reply.tha, 6), 0);

    /* Minimum-frame padding after the body is fine. */
    uint8_t padded[46] = {0};
    memcpy(padded, arp_request, sizeof(arp_request));
    CU_ASSERT_EQUAL(parse_exact(parse_arp, padded, sizeof(padded)), 0);
}

static void test_arp_rejects(void) {
    expect_prefixes(parse_arp, arp_request, 0, MG_ARP_LEN, -EMSGSIZE);
    uint8_t b[MG_ARP_LEN];
    struct mg_arp a;
    /* Each of htype, ptype, hlen, plen off by one value. */
    static const struct {
        size_t off;
        uint8_t val;
    } unsupported[] = {{1, 6}, {0, 1}, {2, 0x86}, {3, 0xdd}, {4, 8}, {4, 14}, {5, 16}, {5, 0}};
    for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
        memcpy(b, arp_request, sizeof(b));
        b[unsupported[i].off] = unsupported[i].val;
        CU_ASSERT_EQUAL(mg_arp_parse(b, sizeof(b), &a), -EPROTONOSUPPORT);
    }
    static const uint16_t bad_ops[] = {0, 3, 4, 8, 9, 0x0101, 0xffff}; /* RARP (3/4), InARP (8/9) too */
    for (size_t i = 0; i < sizeof(bad_ops) / sizeof(bad_ops[0]); i++) {
        memcpy(b, arp_request, sizeof(b));
        b[6] = (uint8_t)(bad_ops[i] >> 8), b[7] = (uint8_t)bad_ops[i];
        CU_ASSERT_EQUAL(mg_arp_parse(b, sizeof(b), &a), -EBADMSG);
    }
}

/* ---- IPv4 ---- */

/* 10.0.0.1 -> 10.0.0.2, TCP, total 40 (20 header + 20 payload), DF, TTL 64, id 0x1c46;
 * checksum filled by the test. */
static void make_ipv4_packet(uint8_t *p) {
    static const uint8_t hdr[20] = {0x45, 0x10, 0x00, 0x28, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06,
                                    0x00, 0x00, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02};
    memcpy(p, hdr, 20);
    for (int i = 20; i < 40; i++)
        p[i] = (uint8_t)i;
    uint16_t ck = mg_cksum(p, 20);
    p[10] = (uint8_t)(ck >> 8), p[11] = (uint8_t)ck;
}

static void test_ipv4_roundtrip(void) {
    uint8_t pkt[40];
    make_ipv4_packet(pkt);
    struct mg_ipv4_hdr h;
    CU_ASSERT_EQUAL_FATAL(mg_ipv4_parse(pkt, sizeof(pkt), true, &h), 0);
    CU_ASSERT_EQUAL(h.hdr_len, 20);
    CU_ASSERT_EQUAL(h.tos, 0x10);
    CU_ASSERT_EQUAL(h.total_len, 40);
    CU_ASSERT_EQUAL(h.id, 0x1c46);
    CU_ASSERT_EQUAL(h.frag, MG_IPV4_DF);
    CU_ASSERT_FALSE(mg_ipv4_is_fragment(&h));
    CU_ASSERT_EQUAL(h.ttl, 64);
    CU_ASSERT_EQUAL(h.proto, MG_IPPROTO_TCP);
    CU_ASSERT_EQUAL(h.src, 0x0a000001);
    CU_ASSERT_EQUAL(h.dst, 0x0a000002);
    CU_ASSERT_EQUAL(h.cksum, (uint16_t)(pkt[10] << 8 | pkt[11]));

    /* parse -> build reproduces the bytes, with the stored or a filled checksum. */
    uint8_t out[20];
    CU_ASSERT_EQUAL(mg_ipv4_build(out, sizeof(out), &h, false), 20);
    CU_ASSERT_EQUAL(memcmp(out, pkt, 20), 0);
    memset(out, 0xee, sizeof(out));
    CU_ASSERT_EQUAL(mg_ipv4_build(out, sizeof(out), &h, true), 20);
    CU_ASSERT_EQUAL(memcmp(out, pkt, 20), 0);
    CU_ASSERT_EQUAL(mg_ipv4_build(out, 19, &h, true), 0);

    /* build -> parse: a fragment with MF and an offset, checksum filled. */
    struct mg_ipv4_hdr f = {.tos = 0xb8,
                            .total_len = 20,
                            .id = 0xbeef,
                            .frag = MG_IPV4_MF | 185,
                            .ttl = 1,
                            .proto = MG_IPPROTO_UDP,
                            .cksum = 0x1234,
                            .src = 0xc6120001,
                            .dst = 0xc6130002};
    CU_ASSERT_EQUAL(mg_ipv4_build(out, sizeof(out), &f, true), 20);
    struct mg_ipv4_hdr g;
    CU_ASSERT_EQUAL_FATAL(mg_ipv4_parse(out, sizeof(out), true, &g), 0);
    CU_ASSERT_EQUAL(g.tos, f.tos);
    CU_ASSERT_EQUAL(g.id, f.id);
    CU_ASSERT_EQUAL(g.frag, f.frag);
    CU_ASSERT_TRUE(mg_ipv4_is_fragment(&g));
    CU_ASSERT_EQUAL(g.ttl, 1);
    CU_ASSERT_EQUAL(g.proto, MG_IPPROTO_UDP);
    CU_ASSERT_EQUAL(g.src, f.src);
    CU_ASSERT_EQUAL(g.dst, f.dst);
    CU_ASSERT_NOT_EQUAL(g.cksum, 0x1234);
    CU_ASSERT_EQUAL(mg_cksum(out, 20), 0);
    /* Without fill_cksum the field is written as given (0 for offload). */
    f.cksum = 0;
    CU_ASSERT_EQUAL(mg_ipv4_build(out, sizeof(out), &f, false), 20);
    CU_ASSERT_EQUAL(out[10], 0);
    CU_ASSERT_EQUAL(out[11], 0);
    CU_ASSERT_EQUAL(mg_ipv4_parse(out, sizeof(out), false, &g), 0);
    CU_ASSERT_EQUAL(mg_ipv4_parse(out, sizeof(out), true, &g), -EBADMSG);

    /* Last-fragment offset only: still a fragment. DF alone: not. */
    g.frag = 100;
    CU_ASSERT_TRUE(mg_ipv4_is_fragment(&g));
    g.frag = MG_IPV4_DF;
    CU_ASSERT_FALSE(mg_ipv4_is_fragment(&g));
}

static void test_ipv4_options_and_padding(void) {
    /* IHL 6: a 4-byte option (router alert 94 04 00 00) is skipped. */
    uint8_t p[24 + 6];
    static const uint8_t hdr[24] = {0x46, 0x00, 0x00, 0x18, 0x00, 0x01, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00,
                                    0x0a, 0x00, 0x00, 0x01, 0xe0, 0x00, 0x00, 0x16, 0x94, 0x04, 0x00, 0x00};
    memcpy(p, hdr, 24);
    uint16_t ck = mg_cksum(p, 24);
    p[10] = (uint8_t)(ck >> 8), p[11] = (uint8_t)ck;
    memset(p + 24, 0, 6); /* Ethernet padding past total_len */
    struct mg_ipv4_hdr h;
    CU_ASSERT_EQUAL_FATAL(parse_exact(parse_ipv4, p, sizeof(p)), 0);
    CU_ASSERT_EQUAL_FATAL(mg_ipv4_parse(p, sizeof(p), true, &h), 0);
    CU_ASSERT_EQUAL(h.hdr_len, 24);
    CU_ASSERT_EQUAL(h.total_len, 24);
    CU_ASSERT_EQUAL(h.proto, 2);
    CU_ASSERT_EQUAL(h.dst, 0xe0000016);
    /* Cut inside the options: shorter than IHL says. */
    expect_prefixes(parse_ipv4, p, 20, 24, -EMSGSIZE);
}

static void test_ipv4_rejects(void) {
    uint8_t pkt[40], b[40];
    make_ipv4_packet(pkt);
    /* Shorter than the fixed header, then shorter than total_len. */
    expect_prefixes(parse_ipv4, pkt, 0, 20, -EMSGSIZE);
    expect_prefixes(parse_ipv4, pkt, 20, 40, -EBADMSG);
    CU_ASSERT_EQUAL(parse_exact(parse_ipv4, pkt, 40), 0);

    struct mg_ipv4_hdr h;
    for (unsigned version = 0; version < 16; version++) {
        if (version == 4)
            continue;
        memcpy(b, pkt, sizeof(b));
        b[0] = (uint8_t)(version << 4 | 5);
        CU_ASSERT_EQUAL(mg_ipv4_parse(b, sizeof(b), false, &h), -EBADMSG);
    }
    for (unsigned ihl = 0; ihl < 5; ihl++) {
        memcpy(b, pkt, sizeof(b));
        b[0] = (uint8_t)(0x40 | ihl);
        CU_ASSERT_EQUAL(mg_ipv4_parse(b, sizeof(b), false, &h), -EBADMSG);
    }
    /* IHL 15 = 60 bytes of header in a 40-byte packet. */
    memcpy(b, pkt, sizeof(b));
    b[0] = 0x4f;
    CU_ASSERT_EQUAL(mg_ipv4_parse(b, sizeof(b), false, &h), -EMSGSIZE);
    /* total_len below the header length, and past the frame. */
    static const uint16_t bad_totals[] = {0, 1, 19, 41, 1500, 0xffff};
    for (size_t i = 0; i < sizeof(bad_totals) / sizeof(bad_totals[0]); i++) {
        memcpy(b, pkt, sizeof(b));
        b[2] = (uint8_t)(bad_totals[i] >> 8), b[3] = (uint8_t)bad_totals[i];
        CU_ASSERT_EQUAL(mg_ipv4_parse(b, sizeof(b), false, &h), -EBADMSG);
    }
    /* total_len == hdr_len (no payload) is fine. */
    memcpy(b, pkt, sizeof(b));
    b[2] = 0, b[3] = 20;
    CU_ASSERT_EQUAL(mg_ipv4_parse(b, sizeof(b), false, &h), 0);
    /* Every single-bit flip in the header either changes a checked field or breaks
     * the checksum; with verification the parse never succeeds. */
    for (size_t bit = 0; bit < 160; bit++) {
        memcpy(b, pkt, sizeof(b));
        b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        CU_ASSERT_NOT_EQUAL(mg_ipv4_parse(b, sizeof(b), true, &h), 0);
    }
    /* A bad checksum passes when the device verified it already. */
    memcpy(b, pkt, sizeof(b));
    b[11] ^= 0x01;
    CU_ASSERT_EQUAL(mg_ipv4_parse(b, sizeof(b), true, &h), -EBADMSG);
    CU_ASSERT_EQUAL(mg_ipv4_parse(b, sizeof(b), false, &h), 0);
}

/* ---- ICMP ---- */

static void test_icmp_roundtrip(void) {
    /* Echo request id 0x1234 seq 7 with a 37-byte (odd) payload placed first. */
    uint8_t msg[8 + 37];
    for (size_t i = 0; i < 37; i++)
        msg[8 + i] = (uint8_t)(0xa0 + i);
    struct mg_icmp_hdr h = {.type = MG_ICMP_ECHO_REQUEST, .code = 0, .cksum = 0xdead, .rest = 0x12340007};
    CU_ASSERT_EQUAL(mg_icmp_build(msg, sizeof(msg), &h, 37), 8);
    CU_ASSERT_EQUAL(mg_cksum(msg, sizeof(msg)), 0);
    struct mg_icmp_hdr back;
    uint8_t *p = wire_test_dup(msg, sizeof(msg));
    CU_ASSERT_EQUAL_FATAL(mg_icmp_parse(p, sizeof(msg), true, &back), 0);
    CU_ASSERT_EQUAL(back.type, MG_ICMP_ECHO_REQUEST);
    CU_ASSERT_EQUAL(back.code, 0);
    CU_ASSERT_EQUAL(back.rest, 0x12340007);
    CU_ASSERT_EQUAL(back.cksum, (uint16_t)(msg[2] << 8 | msg[3]));
    CU_ASSERT_PTR_EQUAL(back.payload, p + 8);
    CU_ASSERT_EQUAL(back.payload_len, 37);
    free(p);

    /* parse -> build reproduces the bytes. */
    uint8_t again[sizeof(msg)];
    memcpy(again, msg, sizeof(msg));
    memset(again, 0, 8);
    CU_ASSERT_EQUAL(mg_icmp_build(again, sizeof(again), &back, back.payload_len), 8);
    CU_ASSERT_EQUAL(memcmp(again, msg, sizeof(msg)), 0);

    /* Frag-needed with a next-hop MTU, no payload. */
    struct mg_icmp_hdr fn = {.type = MG_ICMP_DEST_UNREACH, .code = MG_ICMP_CODE_FRAG_NEEDED, .rest = 1400};
    uint8_t small[8];
    CU_ASSERT_EQUAL(mg_icmp_build(small, sizeof(small), &fn, 0), 8);
    CU_ASSERT_EQUAL_FATAL(mg_icmp_parse(small, sizeof(small), true, &back), 0);
    CU_ASSERT_EQUAL(back.rest & 0xffff, 1400);
    CU_ASSERT_EQUAL(back.payload_len, 0);
    /* Payload that does not fit in len, and a header that does not. */
    CU_ASSERT_EQUAL(mg_icmp_build(msg, sizeof(msg), &h, 38), 0);
    CU_ASSERT_EQUAL(mg_icmp_build(msg, 7, &h, 0), 0);
    CU_ASSERT_EQUAL(mg_icmp_build(msg, 8, &h, (size_t)-1), 0);
}

static void test_icmp_rejects(void) {
    uint8_t msg[8 + 16] = {0};
    for (size_t i = 8; i < sizeof(msg); i++)
        msg[i] = (uint8_t)i;
    struct mg_icmp_hdr h = {.type = MG_ICMP_ECHO_REPLY, .rest = 0x00010002};
    CU_ASSERT_EQUAL_FATAL(mg_icmp_build(msg, sizeof(msg), &h, 16), 8);
    expect_prefixes(parse_icmp, msg, 0, 8, -EMSGSIZE);
    struct mg_icmp_hdr out;
    /* The checksum covers the payload: flipping a payload byte breaks it. */
    msg[20] ^= 0x40;
    CU_ASSERT_EQUAL(mg_icmp_parse(msg, sizeof(msg), true, &out), -EBADMSG);
    CU_ASSERT_EQUAL(mg_icmp_parse(msg, sizeof(msg), false, &out), 0);
    msg[20] ^= 0x40;
    CU_ASSERT_EQUAL(mg_icmp_parse(msg, sizeof(msg), true, &out), 0);
    /* Verified over exactly len bytes: cutting payload off breaks it too. */
    CU_ASSERT_EQUAL(mg_icmp_parse(msg, sizeof(msg) - 2, true, &out), -EBADMSG);
}

/* ---- UDP ---- */

static void test_udp_roundtrip(void) {
    struct mg_udp_hdr h = {.sport = 54585, .dport = 53, .len = 36, .cksum = 0x4f2a};
    uint8_t d[36] = {0};
    CU_ASSERT_EQUAL(mg_udp_build(d, sizeof(d), &h), 8);
    static const uint8_t want[8] = {0xd5, 0x39, 0x00, 0x35, 0x00, 0x24, 0x4f, 0x2a};
    CU_ASSERT_EQUAL(memcmp(d, want, 8), 0);
    struct mg_udp_hdr back;
    CU_ASSERT_EQUAL_FATAL(mg_udp_parse(d, sizeof(d), &back), 0);
    CU_ASSERT_EQUAL(back.sport, 54585);
    CU_ASSERT_EQUAL(back.dport, 53);
    CU_ASSERT_EQUAL(back.len, 36);
    CU_ASSERT_EQUAL(back.cksum, 0x4f2a);
    uint8_t again[8];
    CU_ASSERT_EQUAL(mg_udp_build(again, sizeof(again), &back), 8);
    CU_ASSERT_EQUAL(memcmp(again, want, 8), 0);
    CU_ASSERT_EQUAL(mg_udp_build(again, 7, &back), 0);
    /* Trailing bytes past the length field (padding) are allowed. */
    CU_ASSERT_EQUAL(parse_exact(parse_udp, d, sizeof(d)), 0);
    d[5] = 8; /* empty datagram in a 36-byte buffer */
    CU_ASSERT_EQUAL(parse_exact(parse_udp, d, sizeof(d)), 0);
}

static void test_udp_rejects(void) {
    uint8_t d[20] = {0x12, 0x34, 0x00, 0x07, 0x00, 20, 0x00, 0x00};
    expect_prefixes(parse_udp, d, 0, 8, -EMSGSIZE);
    /* Length field says 20: any shorter buffer holds less than it claims. */
    expect_prefixes(parse_udp, d, 8, 20, -EBADMSG);
    CU_ASSERT_EQUAL(parse_exact(parse_udp, d, 20), 0);
    for (unsigned l = 0; l < 8; l++) {
        d[4] = 0, d[5] = (uint8_t)l;
        CU_ASSERT_EQUAL(parse_exact(parse_udp, d, sizeof(d)), -EBADMSG);
    }
    d[4] = 0xff, d[5] = 0xff;
    CU_ASSERT_EQUAL(parse_exact(parse_udp, d, sizeof(d)), -EBADMSG);
    d[4] = 0, d[5] = 21;
    CU_ASSERT_EQUAL(parse_exact(parse_udp, d, sizeof(d)), -EBADMSG);
}

int wire_register_l2l3_suite(void) {
    CU_pSuite s = CU_add_suite("wire_l2l3", NULL, NULL);
    if (s == NULL)
        return CU_get_error();
    if (!CU_add_test(s, "eth_roundtrip", test_eth_roundtrip) || !CU_add_test(s, "eth_vlan", test_eth_vlan) ||
        !CU_add_test(s, "eth_truncated", test_eth_truncated) || !CU_add_test(s, "arp_roundtrip", test_arp_roundtrip) ||
        !CU_add_test(s, "arp_rejects", test_arp_rejects) || !CU_add_test(s, "ipv4_roundtrip", test_ipv4_roundtrip) ||
        !CU_add_test(s, "ipv4_options_and_padding", test_ipv4_options_and_padding) ||
        !CU_add_test(s, "ipv4_rejects", test_ipv4_rejects) || !CU_add_test(s, "icmp_roundtrip", test_icmp_roundtrip) ||
        !CU_add_test(s, "icmp_rejects", test_icmp_rejects) || !CU_add_test(s, "udp_roundtrip", test_udp_roundtrip) ||
        !CU_add_test(s, "udp_rejects", test_udp_rejects))
        return CU_get_error();
    return CUE_SUCCESS;
}
