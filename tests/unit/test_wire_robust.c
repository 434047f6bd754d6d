/* tests/unit/test_wire_robust.c — seeded random input through every parser.
 * Half the buffers are pure noise; the other half start from a valid header of
 * the parser's kind and get a few bytes mutated and a random cut, so the deeper
 * checks (IHL, data offset, option lengths) are reached, not just the first
 * length test. Each buffer is an exact-size heap block: under the sanitizer build
 * any read past len aborts. What parses must satisfy the invariants the layers
 * above rely on, and a parsed TCP header must survive build -> parse. */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "core/random.h"
#include "wire/wire.h"
#include "wire_test.h"

#define ROUNDS 200000
#define SEED 0x6d617267u /* "marg" */

/* A valid header of each kind to mutate from. */
static size_t seed_frame(int kind, struct mg_rand *r, uint8_t *buf, size_t cap) {
    memset(buf, 0, cap);
    switch (kind) {
    case 0: {
        struct mg_eth_hdr e = {.ethertype = MG_ETHERTYPE_VLAN};
        mg_eth_build(buf, cap, &e);
        buf[16] = 0x08; /* inner IPv4 */
        return 18 + mg_rand_below(r, 30);
    }
    case 1: {
        struct mg_arp a = {.op = MG_ARP_OP_REQUEST, .spa = mg_rand_u32(r), .tpa = mg_rand_u32(r)};
        return mg_arp_build(buf, cap, &a) + mg_rand_below(r, 18);
    }
    case 2: {
        struct mg_ipv4_hdr h = {.total_len = (uint16_t)(20 + mg_rand_below(r, 40)), .ttl = 64, .proto = 6};
        mg_ipv4_build(buf, cap, &h, true);
        if (mg_rand_below(r, 2))
            buf[0] = (uint8_t)(0x40 | (5 + mg_rand_below(r, 11))); /* claim options */
        return h.total_len + mg_rand_below(r, 8);
    }
    case 3: {
        struct mg_icmp_hdr h = {.type = MG_ICMP_ECHO_REQUEST, .rest = mg_rand_u32(r)};
        size_t payload = mg_rand_below(r, 40);
        mg_icmp_build(buf, cap, &h, payload);
        return 8 + payload;
    }
    case 4: {
        struct mg_udp_hdr h = {.len = (uint16_t)(8 + mg_rand_below(r, 30))};
        mg_udp_build(buf, cap, &h);
        return h.len;
    }
    default: {
        struct mg_tcp_hdr h = {.flags = MG_TCP_SYN};
        struct mg_tcp_opts *o = &h.opts;
        uint32_t m = mg_rand_u32(r);
        o->has_mss = m & 1, o->has_wscale = m & 2, o->sack_permitted = m & 4, o->has_timestamp = m & 8;
        o->num_sack_blocks = (uint8_t)((m >> 4) % 5);
        return mg_tcp_build(buf, cap, &h) + mg_rand_below(r, 10);
    }
    }
}

static void mutate(struct mg_rand *r, uint8_t *buf, size_t len) {
    if (len == 0)
        return;
    unsigned n = 1 + mg_rand_below(r, 4);
    for (unsigned i = 0; i < n; i++) {
        size_t at = mg_rand_below(r, (uint32_t)len);
        switch (mg_rand_below(r, 4)) {
        case 0:
            buf[at] = (uint8_t)mg_rand_u32(r);
            break;
        case 1:
            buf[at] ^= (uint8_t)(1u << mg_rand_below(r, 8));
            break;
        case 2:
            buf[at] = 0;
            break;
        default:
            buf[at] = (uint8_t)(mg_rand_below(r, 12));
            break; /* small values: option kinds and lengths */
        }
    }
}

static void check_tcp(const uint8_t *p, size_t len) {
    struct mg_tcp_hdr t;
    if (mg_tcp_parse(p, len, &t) != 0)
        return;
    CU_ASSERT_FATAL(t.hdr_len >= 20 && t.hdr_len <= len && t.hdr_len <= 60 && t.hdr_len % 4 == 0);
    CU_ASSERT_FATAL(t.opts.num_sack_blocks <= MG_TCP_MAX_SACK_BLOCKS);
    uint8_t out[60];
    size_t n = mg_tcp_build(out, sizeof(out), &t);
    CU_ASSERT_FATAL(n >= 20 && n <= 60);
    struct mg_tcp_hdr b;
    CU_ASSERT_EQUAL_FATAL(mg_tcp_parse(out, n, &b), 0);
    CU_ASSERT_FATAL(b.seq == t.seq && b.flags == t.flags && b.opts.has_mss == t.opts.has_mss &&
                    b.opts.has_timestamp == t.opts.has_timestamp && b.opts.sack_permitted == t.opts.sack_permitted);
}

static void run_all_parsers(const uint8_t *p, size_t len) {
    struct mg_eth_hdr e;
    if (mg_eth_parse(p, len, &e) == 0)
        CU_ASSERT_FATAL(e.hdr_len <= len && (e.hdr_len == 14 || (e.hdr_len == 18 && e.has_vlan)));
    struct mg_arp a;
    if (mg_arp_parse(p, len, &a) == 0)
        CU_ASSERT_FATAL(a.op == MG_ARP_OP_REQUEST || a.op == MG_ARP_OP_REPLY);
    struct mg_ipv4_hdr ip;
    for (int verify = 0; verify < 2; verify++) {
        if (mg_ipv4_parse(p, len, verify, &ip) == 0) {
            CU_ASSERT_FATAL(ip.hdr_len >= 20 && ip.hdr_len <= ip.total_len && ip.total_len <= len);
            if (verify)
                CU_ASSERT_FATAL(mg_cksum(p, ip.hdr_len) == 0);
        }
    }
    struct mg_icmp_hdr ic;
    if (mg_icmp_parse(p, len, true, &ic) == 0)
        CU_ASSERT_FATAL(ic.payload == p + 8 && ic.payload_len == len - 8);
    if (mg_icmp_parse(p, len, false, &ic) == 0)
        CU_ASSERT_FATAL(ic.payload_len == len - 8);
    struct mg_udp_hdr u;
    if (mg_udp_parse(p, len, &u) == 0)
        CU_ASSERT_FATAL(u.len >= 8 && u.len <= len);
    check_tcp(p, len);
    (void)mg_cksum(p, len);
}

static void test_random_buffers(void) {
    struct mg_rand r;
    mg_rand_seed(&r, SEED);
    uint8_t scratch[1600];
    for (int round = 0; round < ROUNDS; round++) {
        size_t len;
        if (round & 1) {
            len = mg_rand_below(&r, 8) == 0 ? mg_rand_below(&r, sizeof(scratch) + 1) : mg_rand_below(&r, 80);
            for (size_t i = 0; i < len; i++)
                scratch[i] = (uint8_t)mg_rand_u32(&r);
        } else {
            len = seed_frame((int)mg_rand_below(&r, 6), &r, scratch, sizeof(scratch));
            mutate(&r, scratch, len);
            if (mg_rand_below(&r, 4) == 0 && len > 0)
                len = mg_rand_below(&r, (uint32_t)len); /* cut short */
        }
        uint8_t *p = wire_test_dup(scratch, len);
        run_all_parsers(p, len);
        free(p);
    }
}

int wire_register_robust_suite(void) {
    CU_pSuite s = CU_add_suite("wire_robust", NULL, NULL);
    if (s == NULL)
        return CU_get_error();
    if (!CU_add_test(s, "random_buffers_200000", test_random_buffers))
        return CU_get_error();
    return CUE_SUCCESS;
}
