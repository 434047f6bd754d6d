/* tests/unit/test_wire_cksum.c — the Internet checksum: known answers worked out by
 * hand, agreement with a plain word-by-word reference over every length and both
 * start alignments, piecewise summing, the IPv4 pseudo-header, and RFC 1624
 * incremental updates against full recomputation. */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "core/random.h"
#include "wire/wire.h"
#include "wire_test.h"

/* The obvious implementation (RFC 1071 section 4.1, written out for clarity): sum
 * big-endian 16-bit words, a trailing byte padded with zero, fold the carries. */
static uint32_t reference_sum(const uint8_t *p, size_t len) {
    uint64_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint32_t)sum;
}

static void test_known_answers(void) {
    /* RFC 1071 section 3 example: 0001 + f203 + f4f5 + f6f7 = 0x2ddf0;
     * fold: 0xddf0 + 0x2 = 0xddf2; checksum = ~0xddf2 = 0x220d. */
    static const uint8_t rfc1071[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    CU_ASSERT_EQUAL(mg_cksum_add(0, rfc1071, sizeof(rfc1071)), 0xddf2);
    CU_ASSERT_EQUAL(mg_cksum(rfc1071, sizeof(rfc1071)), 0x220d);

    /* Odd length, last byte padded: 0001 + f203 + f4f5 + f600 = 0x2dcf9;
     * fold: 0xdcf9 + 0x2 = 0xdcfb; checksum = ~0xdcfb = 0x2304. */
    CU_ASSERT_EQUAL(mg_cksum_add(0, rfc1071, 7), 0xdcfb);
    CU_ASSERT_EQUAL(mg_cksum(rfc1071, 7), 0x2304);

    /* IPv4 header 192.168.0.1 -> 192.168.0.199, UDP, length 0x73, DF, TTL 64, with
     * the checksum field zero: 4500+0073+0000+4000+4011+0000+c0a8+0001+c0a8+00c7 =
     * 0x2479c; fold 0x479c + 0x2 = 0x479e; checksum ~0x479e = 0xb861. */
    uint8_t ip[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                    0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    CU_ASSERT_EQUAL(mg_cksum(ip, sizeof(ip)), 0xb861);
    /* With the checksum stored, the header sums to 0xffff and checks as 0. */
    ip[10] = 0xb8;
    ip[11] = 0x61;
    CU_ASSERT_EQUAL(mg_cksum(ip, sizeof(ip)), 0);

    /* One byte 0xff is the word 0xff00; checksum 0x00ff. Nothing sums to 0 -> 0xffff. */
    static const uint8_t ff = 0xff;
    CU_ASSERT_EQUAL(mg_cksum(&ff, 1), 0x00ff);
    CU_ASSERT_EQUAL(mg_cksum(NULL, 0), 0xffff);

    /* finish folds carries: 0x1fffe -> 0xfffe + 1 = 0xffff -> ~ = 0. */
    CU_ASSERT_EQUAL(mg_cksum_finish(0x1fffe), 0);
    CU_ASSERT_EQUAL(mg_cksum_finish(0xffffffffu), 0);
    CU_ASSERT_EQUAL(mg_cksum_finish(0x12345), 0xdcb9); /* 0x2345 + 1 = 0x2346, ~ = 0xdcb9 */
}

/* Every length 0..300 (covering the 64-byte blocks and the 8-, 4-, 2- and 1-byte tails) at an even
 * and an odd start address, on random and on all-0xff bytes (maximal carries). */
static void test_matches_reference(void) {
    struct mg_rand r;
    mg_rand_seed(&r, 1071);
    uint8_t buf[301 + 1];
    for (int pattern = 0; pattern < 2; pattern++) {
        for (size_t i = 0; i < sizeof(buf); i++)
            buf[i] = pattern ? 0xff : (uint8_t)mg_rand_u32(&r);
        for (size_t start = 0; start < 2; start++) {
            for (size_t len = 0; len + start < sizeof(buf); len++) {
                uint8_t *p = wire_test_dup(buf + start, len);
                CU_ASSERT_EQUAL_FATAL(mg_cksum_add(0, p, len), reference_sum(buf + start, len));
                CU_ASSERT_EQUAL(mg_cksum(p, len), (uint16_t)~reference_sum(buf + start, len));
                free(p);
            }
        }
    }
}

/* Buffers far longer than a frame (the bulk loop works in 256 KiB chunks of 64-byte
 * blocks): all-0xff bytes, the largest carries, and random bytes, at lengths around
 * the chunk edges and at an odd start. */
static void test_large_buffers(void) {
    enum { MAX = (1 << 20) + 130 };
    uint8_t *buf = malloc(MAX + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    struct mg_rand r;
    mg_rand_seed(&r, 4096);
    const size_t lens[] = {64, 127, 4096 + 63, (1u << 18) - 1, 1u << 18, (1u << 18) + 65, 3u << 18, MAX - 1, MAX};
    for (int pattern = 0; pattern < 2; pattern++) {
        for (size_t i = 0; i <= MAX; i++)
            buf[i] = pattern ? 0xff : (uint8_t)mg_rand_u32(&r);
        for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++)
            for (size_t start = 0; start < 2 && lens[k] + start <= MAX; start++)
                CU_ASSERT_EQUAL(mg_cksum_add(0, buf + start, lens[k]), reference_sum(buf + start, lens[k]));
    }
    free(buf);
}

/* Summing a buffer in pieces (all but the last of even length, any start
 * alignment) gives exactly the sum of the whole. */
static void test_chunked_equals_whole(void) {
    struct mg_rand r;
    mg_rand_seed(&r, 1624);
    uint8_t buf[2000];
    for (int round = 0; round < 2000; round++) {
        size_t len = mg_rand_below(&r, sizeof(buf) + 1);
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)mg_rand_u32(&r);
        uint32_t whole = mg_cksum_add(0, buf, len);
        uint32_t sum = 0;
        size_t off = 0;
        while (off < len) {
            size_t piece = mg_rand_below(&r, (uint32_t)(len - off) + 1);
            if (off + piece < len)
                piece &= ~(size_t)1; /* only the last piece may be odd */
            sum = mg_cksum_add(sum, buf + off, piece);
            off += piece;
        }
        CU_ASSERT_EQUAL_FATAL(sum, whole);
    }
    /* A chunk starting at an odd address still sums as data at even offset 0. */
    static const uint8_t bytes[] = {0xaa, 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    CU_ASSERT_EQUAL(mg_cksum_add(mg_cksum_add(0, bytes + 1, 4), bytes + 5, 4), 0xddf2);
}

static void test_pseudo_header(void) {
    /* The pseudo-header sum equals summing its 12 bytes laid out as on the wire:
     * src, dst, zero, protocol, length. */
    const uint32_t src = 0xc0a80001, dst = 0xc0a800c7;
    const uint8_t pseudo[12] = {0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7, 0x00, 17, 0x00, 0x5f};
    CU_ASSERT_EQUAL(mg_cksum_finish(mg_cksum_pseudo_ipv4(src, dst, 17, 0x5f)), mg_cksum(pseudo, sizeof(pseudo)));
    /* By hand: c0a8+0001+c0a8+00c7+0011+005f = 0x18288 (not folded: callers add more). */
    CU_ASSERT_EQUAL(mg_cksum_pseudo_ipv4(src, dst, 17, 0x5f), 0x18288);
}

/* A datagram whose checksum was filled from mg_l4_cksum_ipv4 verifies as 0; any
 * single-bit change in it or in the pseudo-header makes it non-zero. */
static void test_l4_cksum_roundtrip(void) {
    struct mg_rand r;
    mg_rand_seed(&r, 768);
    uint8_t seg[1 + 8 + 101];
    for (int round = 0; round < 200; round++) {
        size_t len = 8 + mg_rand_below(&r, 102);
        uint8_t *p = seg + (round & 1); /* odd and even start addresses */
        for (size_t i = 0; i < len; i++)
            p[i] = (uint8_t)mg_rand_u32(&r);
        uint32_t src = mg_rand_u32(&r), dst = mg_rand_u32(&r);
        uint8_t proto = (round & 2) ? MG_IPPROTO_TCP : MG_IPPROTO_UDP;
        size_t ck_off = proto == MG_IPPROTO_UDP ? 6 : 16;
        if (ck_off + 2 > len)
            ck_off = 6;
        p[ck_off] = p[ck_off + 1] = 0;
        uint16_t ck = mg_l4_cksum_ipv4(src, dst, proto, p, len);
        p[ck_off] = (uint8_t)(ck >> 8);
        p[ck_off + 1] = (uint8_t)ck;
        CU_ASSERT_EQUAL_FATAL(mg_l4_cksum_ipv4(src, dst, proto, p, len), 0);
        size_t bit = mg_rand_below(&r, (uint32_t)len * 8);
        p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        CU_ASSERT_NOT_EQUAL(mg_l4_cksum_ipv4(src, dst, proto, p, len), 0);
        p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        CU_ASSERT_NOT_EQUAL(mg_l4_cksum_ipv4(src ^ 1, dst, proto, p, len), 0);
    }
}

static uint16_t load16(const uint8_t *p) {
    return (uint16_t)(p[0] << 8 | p[1]);
}
static uint32_t load32(const uint8_t *p) {
    return (uint32_t)load16(p) << 16 | load16(p + 2);
}
static void store16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static void store32(uint8_t *p, uint32_t v) {
    store16(p, (uint16_t)(v >> 16));
    store16(p + 2, (uint16_t)v);
}

/* Updates one field of h (IPv4 header, checksum at 10) and its checksum
 * incrementally; odd rounds pass the values as stored (raw network-order memory),
 * even rounds as host-order numbers, to show both conventions agree. */
static void change_field(uint8_t *h, size_t off, size_t width, uint32_t new_val, bool raw) {
    if (width == 2 && raw) {
        uint16_t ck, old, nv;
        memcpy(&ck, h + 10, 2);
        memcpy(&old, h + off, 2);
        store16(h + off, (uint16_t)new_val);
        memcpy(&nv, h + off, 2);
        ck = mg_cksum_update16(ck, old, nv);
        memcpy(h + 10, &ck, 2);
    } else if (width == 2) {
        uint16_t old = load16(h + off);
        store16(h + off, (uint16_t)new_val);
        store16(h + 10, mg_cksum_update16(load16(h + 10), old, (uint16_t)new_val));
    } else if (raw) {
        uint16_t ck;
        uint32_t old, nv;
        memcpy(&ck, h + 10, 2);
        memcpy(&old, h + off, 4);
        store32(h + off, new_val);
        memcpy(&nv, h + off, 4);
        ck = mg_cksum_update32(ck, old, nv);
        memcpy(h + 10, &ck, 2);
    } else {
        uint32_t old = load32(h + off);
        store32(h + off, new_val);
        store16(h + 10, mg_cksum_update32(load16(h + 10), old, new_val));
    }
}

static void test_incremental_update(void) {
    struct mg_rand r;
    mg_rand_seed(&r, 3);
    uint8_t h[20] = {0x45, 0x00, 0x00, 0x54, 0x12, 0x34, 0x40, 0x00, 0x40, 0x01,
                     0x00, 0x00, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02};
    store16(h + 10, mg_cksum(h, sizeof(h)));
    static const size_t offs16[] = {2, 4, 6, 8, 12, 14, 16, 18}; /* not 0: keep version/IHL, not 10: cksum */
    static const size_t offs32[] = {4, 12, 16};
    for (int round = 0; round < 10000; round++) {
        bool wide = mg_rand_below(&r, 2);
        bool raw = round & 1;
        uint32_t v = mg_rand_u32(&r);
        /* Now and then write extreme values, where carries and -0 show up. */
        switch (mg_rand_below(&r, 8)) {
        case 0:
            v = 0;
            break;
        case 1:
            v = 0xffffffffu;
            break;
        default:
            break;
        }
        if (wide)
            change_field(h, offs32[mg_rand_below(&r, 3)], 4, v, raw);
        else
            change_field(h, offs16[mg_rand_below(&r, 8)], 2, v & 0xffff, raw);
        uint16_t updated = load16(h + 10);
        h[10] = h[11] = 0;
        uint16_t recomputed = mg_cksum(h, sizeof(h));
        store16(h + 10, updated);
        CU_ASSERT_EQUAL_FATAL(updated, recomputed);
        CU_ASSERT_EQUAL_FATAL(mg_cksum(h, sizeof(h)), 0);
    }
    /* RFC 1624 section 4's worked case: HC = 0xdd2f, m = 0x5555 -> m' = 0x3285
     * gives HC' = 0x0000 by eqn. 3 (eqn. 2 would produce the -0 form 0xffff). */
    CU_ASSERT_EQUAL(mg_cksum_update16(0xdd2f, 0x5555, 0x3285), 0x0000);
}

int wire_register_cksum_suite(void) {
    CU_pSuite s = CU_add_suite("wire_cksum", NULL, NULL);
    if (s == NULL)
        return CU_get_error();
    if (!CU_add_test(s, "known_answers", test_known_answers) ||
        !CU_add_test(s, "matches_reference_all_lengths", test_matches_reference) ||
        !CU_add_test(s, "chunked_equals_whole", test_chunked_equals_whole) ||
        !CU_add_test(s, "large_buffers", test_large_buffers) ||
        !CU_add_test(s, "pseudo_header", test_pseudo_header) ||
        !CU_add_test(s, "l4_cksum_roundtrip", test_l4_cksum_roundtrip) ||
        !CU_add_test(s, "incremental_update_10000", test_incremental_update))
        return CU_get_error();
    return CUE_SUCCESS;
}
