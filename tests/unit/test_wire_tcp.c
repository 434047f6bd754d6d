/* tests/unit/test_wire_tcp.c — the TCP header and options: exact byte layouts of
 * what build writes, every option combination with 0..4 SACK blocks both ways
 * (build -> parse -> build), layouts other stacks send, and every malformed
 * data offset and option with its error code. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/random.h"
#include "wire/tcp_opts.h"
#include "wire/wire.h"
#include "wire_test.h"

static int parse_exact(const uint8_t *bytes, size_t len, struct mg_tcp_hdr *out) {
    uint8_t *p = wire_test_dup(bytes, len);
    int rc = mg_tcp_parse(p, len, out);
    free(p);
    return rc;
}

static const uint8_t bare_header[20] = {
    0x1f, 0x90, 0xd4, 0x31, /* 8080 -> 54321 */
    0x01, 0x02, 0x03, 0x04, /* seq */
    0xa0, 0xb0, 0xc0, 0xd0, /* ack */
    0x50, 0x18,             /* data offset 5, PSH|ACK */
    0xff, 0xfe,             /* window */
    0x12, 0x34,             /* cksum */
    0x00, 0x07,             /* urgent pointer */
};

static void test_header_roundtrip(void) {
    struct mg_tcp_hdr h;
    CU_ASSERT_EQUAL_FATAL(parse_exact(bare_header, 20, &h), 0);
    CU_ASSERT_EQUAL(h.sport, 8080);
    CU_ASSERT_EQUAL(h.dport, 54321);
    CU_ASSERT_EQUAL(h.seq, 0x01020304);
    CU_ASSERT_EQUAL(h.ack, 0xa0b0c0d0);
    CU_ASSERT_EQUAL(h.hdr_len, 20);
    CU_ASSERT_EQUAL(h.flags, MG_TCP_PSH | MG_TCP_ACK);
    CU_ASSERT_EQUAL(h.window, 0xfffe);
    CU_ASSERT_EQUAL(h.cksum, 0x1234);
    CU_ASSERT_EQUAL(h.urg_ptr, 7);
    CU_ASSERT_FALSE(h.opts.has_mss || h.opts.has_wscale || h.opts.sack_permitted || h.opts.has_timestamp);
    CU_ASSERT_EQUAL(h.opts.num_sack_blocks, 0);
    uint8_t out[60];
    CU_ASSERT_EQUAL(mg_tcp_build(out, sizeof(out), &h), 20);
    CU_ASSERT_EQUAL(memcmp(out, bare_header, 20), 0);
    CU_ASSERT_EQUAL(mg_tcp_build(out, 19, &h), 0);
    CU_ASSERT_EQUAL(mg_tcp_build(out, 20, &h), 20);

    /* Payload after the header is not the parser's business. */
    uint8_t seg[20 + 5];
    memcpy(seg, bare_header, 20);
    memcpy(seg + 20, "hello", 5);
    CU_ASSERT_EQUAL(parse_exact(seg, sizeof(seg), &h), 0);
    CU_ASSERT_EQUAL(h.hdr_len, 20);

    /* All eight flags survive; the reserved/AE bits are ignored and written as 0;
     * h->hdr_len is recomputed by build, not copied. */
    h.flags = 0xff;
    h.hdr_len = 44;
    CU_ASSERT_EQUAL(mg_tcp_build(out, sizeof(out), &h), 20);
    CU_ASSERT_EQUAL(out[12], 0x50);
    CU_ASSERT_EQUAL(out[13], 0xff);
    out[12] |= 0x0f;
    struct mg_tcp_hdr back;
    CU_ASSERT_EQUAL_FATAL(parse_exact(out, 20, &back), 0);
    CU_ASSERT_EQUAL(back.flags, MG_TCP_FIN | MG_TCP_SYN | MG_TCP_RST | MG_TCP_PSH | MG_TCP_ACK | MG_TCP_URG |
                                    MG_TCP_ECE | MG_TCP_CWR);
    CU_ASSERT_EQUAL(back.hdr_len, 20);
}

/* The usual SYN: MSS, SACK-permitted, timestamps, window scale in 20 aligned bytes. */
static void test_syn_layout(void) {
    struct mg_tcp_hdr h = {.sport = 1, .dport = 2, .flags = MG_TCP_SYN, .window = 64240};
    h.opts = (struct mg_tcp_opts){.has_mss = true,
                                  .mss = 1460,
                                  .sack_permitted = true,
                                  .has_timestamp = true,
                                  .ts_val = 0x11223344,
                                  .ts_ecr = 0,
                                  .has_wscale = true,
                                  .wscale = 7};
    static const uint8_t want[20] = {0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x11, 0x22,
                                     0x33, 0x44, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07};
    uint8_t out[60];
    CU_ASSERT_EQUAL(mg_tcp_opts_len(&h.opts), 20);
    CU_ASSERT_EQUAL_FATAL(mg_tcp_build(out, sizeof(out), &h), 40);
    CU_ASSERT_EQUAL(out[12], 0xa0); /* data offset 10 */
    CU_ASSERT_EQUAL(memcmp(out + 20, want, 20), 0);
    CU_ASSERT_EQUAL(mg_tcp_build(out, 39, &h), 0);

    /* Timestamp alone and SACK-permitted alone get two NOPs in front. */
    struct mg_tcp_opts ts = {.has_timestamp = true, .ts_val = 1, .ts_ecr = 2};
    static const uint8_t want_ts[12] = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2};
    CU_ASSERT_EQUAL_FATAL(mg_tcp_opts_build(out, sizeof(out), &ts), 12);
    CU_ASSERT_EQUAL(memcmp(out, want_ts, 12), 0);
    struct mg_tcp_opts sp = {.sack_permitted = true};
    static const uint8_t want_sp[4] = {1, 1, 4, 2};
    CU_ASSERT_EQUAL_FATAL(mg_tcp_opts_build(out, sizeof(out), &sp), 4);
    CU_ASSERT_EQUAL(memcmp(out, want_sp, 4), 0);
    CU_ASSERT_EQUAL(mg_tcp_opts_build(out, 3, &sp), 0);

    /* An ACK with timestamps and SACK: 12 + 4 + 3*8 = 40 bytes, the 4th block dropped. */
    struct mg_tcp_opts ack = {.has_timestamp = true,
                              .ts_val = 5,
                              .ts_ecr = 6,
                              .num_sack_blocks = 4,
                              .sack = {{10, 20}, {30, 40}, {50, 60}, {70, 80}}};
    static const uint8_t want_ack[40] = {1, 1, 8, 10, 0, 0, 0, 5,  0, 0, 0, 6,  1, 1, 5, 26, 0, 0, 0, 10,
                                         0, 0, 0, 20, 0, 0, 0, 30, 0, 0, 0, 40, 0, 0, 0, 50, 0, 0, 0, 60};
    CU_ASSERT_EQUAL(mg_tcp_opts_len(&ack), 40);
    CU_ASSERT_EQUAL(mg_tcp_opts_sack_blocks_sent(&ack), 3);
    CU_ASSERT_EQUAL_FATAL(mg_tcp_opts_build(out, sizeof(out), &ack), 40);
    CU_ASSERT_EQUAL(memcmp(out, want_ack, 40), 0);
    /* Without timestamps all four fit: 4 + 32 = 36. */
    ack.has_timestamp = false;
    CU_ASSERT_EQUAL(mg_tcp_opts_len(&ack), 36);
    CU_ASSERT_EQUAL(mg_tcp_opts_sack_blocks_sent(&ack), 4);
    /* A count above 4 is clamped to the 4 blocks the struct holds. */
    ack.num_sack_blocks = 200;
    CU_ASSERT_EQUAL(mg_tcp_opts_sack_blocks_sent(&ack), 4);
    CU_ASSERT_EQUAL(mg_tcp_opts_len(&ack), 36);
    /* Nothing at all: no option bytes. */
    struct mg_tcp_opts none = {0};
    CU_ASSERT_EQUAL(mg_tcp_opts_len(&none), 0);
    CU_ASSERT_EQUAL(mg_tcp_opts_build(out, 0, &none), 0);
}

/* Largest k <= wanted with fixed + 4 + 8k <= 40, counted the slow way. */
static unsigned expected_blocks(size_t fixed, unsigned wanted) {
    unsigned k = 0;
    while (k < wanted && k < 4 && fixed + 4 + 8 * (k + 1) <= 40)
        k++;
    return k;
}

static void assert_opts_equal(const struct mg_tcp_opts *a, const struct mg_tcp_opts *b, unsigned blocks) {
    CU_ASSERT_EQUAL(a->has_mss, b->has_mss);
    if (a->has_mss)
        CU_ASSERT_EQUAL(a->mss, b->mss);
    CU_ASSERT_EQUAL(a->has_wscale, b->has_wscale);
    if (a->has_wscale)
        CU_ASSERT_EQUAL(a->wscale, b->wscale);
    CU_ASSERT_EQUAL(a->sack_permitted, b->sack_permitted);
    CU_ASSERT_EQUAL(a->has_timestamp, b->has_timestamp);
    if (a->has_timestamp) {
        CU_ASSERT_EQUAL(a->ts_val, b->ts_val);
        CU_ASSERT_EQUAL(a->ts_ecr, b->ts_ecr);
    }
    CU_ASSERT_EQUAL_FATAL(b->num_sack_blocks, blocks);
    for (unsigned i = 0; i < blocks; i++) {
        CU_ASSERT_EQUAL(a->sack[i].left, b->sack[i].left);
        CU_ASSERT_EQUAL(a->sack[i].right, b->sack[i].right);
    }
}

/* All 16 combinations of MSS / window scale / SACK-permitted / timestamps with 0..4
 * SACK blocks (and an over-long count), several random value sets each. */
static void test_all_option_combinations(void) {
    struct mg_rand r;
    mg_rand_seed(&r, 2018);
    static const unsigned sack_counts[] = {0, 1, 2, 3, 4, 5};
    for (int round = 0; round < 20; round++) {
        for (unsigned mask = 0; mask < 16; mask++) {
            for (size_t si = 0; si < sizeof(sack_counts) / sizeof(sack_counts[0]); si++) {
                struct mg_tcp_hdr h = {.sport = (uint16_t)mg_rand_u32(&r),
                                       .dport = (uint16_t)mg_rand_u32(&r),
                                       .seq = mg_rand_u32(&r),
                                       .ack = mg_rand_u32(&r),
                                       .flags = (uint8_t)mg_rand_u32(&r),
                                       .window = (uint16_t)mg_rand_u32(&r),
                                       .cksum = (uint16_t)mg_rand_u32(&r),
                                       .urg_ptr = (uint16_t)mg_rand_u32(&r)};
                struct mg_tcp_opts *o = &h.opts;
                o->has_mss = mask & 1;
                o->mss = (uint16_t)mg_rand_u32(&r);
                o->has_wscale = mask & 2;
                o->wscale = (uint8_t)mg_rand_u32(&r);
                o->sack_permitted = mask & 4;
                o->has_timestamp = mask & 8;
                o->ts_val = mg_rand_u32(&r);
                o->ts_ecr = mg_rand_u32(&r);
                o->num_sack_blocks = (uint8_t)sack_counts[si];
                for (int i = 0; i < MG_TCP_MAX_SACK_BLOCKS; i++)
                    o->sack[i] = (struct mg_tcp_sack_block){mg_rand_u32(&r), mg_rand_u32(&r)};

                size_t fixed = (o->has_mss ? 4 : 0) +
                               (o->has_timestamp    ? 12
                                : o->sack_permitted ? 4
                                                    : 0) +
                               (o->has_wscale ? 4 : 0);
                unsigned blocks = expected_blocks(fixed, sack_counts[si]);
                size_t opts_len = mg_tcp_opts_len(o);
                CU_ASSERT_EQUAL_FATAL(opts_len, fixed + (blocks ? 4 + 8 * blocks : 0));
                CU_ASSERT_EQUAL(opts_len % 4, 0);
                CU_ASSERT_TRUE(opts_len <= 40);

                uint8_t seg[60];
                memset(seg, 0xcc, sizeof(seg));
                size_t n = mg_tcp_build(seg, sizeof(seg), &h);
                CU_ASSERT_EQUAL_FATAL(n, 20 + opts_len);
                CU_ASSERT_EQUAL(seg[12] >> 4, n / 4);
                /* Build wrote exactly n bytes and nothing after. */
                for (size_t i = n; i < sizeof(seg); i++)
                    CU_ASSERT_EQUAL_FATAL(seg[i], 0xcc);

                struct mg_tcp_hdr back;
                CU_ASSERT_EQUAL_FATAL(parse_exact(seg, n, &back), 0);
                CU_ASSERT_EQUAL(back.sport, h.sport);
                CU_ASSERT_EQUAL(back.dport, h.dport);
                CU_ASSERT_EQUAL(back.seq, h.seq);
                CU_ASSERT_EQUAL(back.ack, h.ack);
                CU_ASSERT_EQUAL(back.flags, h.flags);
                CU_ASSERT_EQUAL(back.window, h.window);
                CU_ASSERT_EQUAL(back.cksum, h.cksum);
                CU_ASSERT_EQUAL(back.urg_ptr, h.urg_ptr);
                CU_ASSERT_EQUAL(back.hdr_len, n);
                assert_opts_equal(o, &back.opts, blocks);

                /* parse -> build gives the same bytes. */
                uint8_t again[60];
                CU_ASSERT_EQUAL_FATAL(mg_tcp_build(again, sizeof(again), &back), n);
                CU_ASSERT_EQUAL_FATAL(memcmp(again, seg, n), 0);
            }
        }
    }
}

/* Builds a header whose options area is `opts` padded with EOL to a multiple of 4. */
static size_t segment_with_options(uint8_t *seg, const uint8_t *opts, size_t opts_len) {
    size_t padded = (opts_len + 3) & ~(size_t)3;
    memcpy(seg, bare_header, 20);
    memset(seg + 20, MG_TCPOPT_EOL, padded);
    memcpy(seg + 20, opts, opts_len);
    seg[12] = (uint8_t)((5 + padded / 4) << 4);
    return 20 + padded;
}

static int parse_options(const uint8_t *opts, size_t opts_len, struct mg_tcp_hdr *out) {
    uint8_t seg[60];
    CU_ASSERT_FATAL(opts_len <= 40);
    size_t n = segment_with_options(seg, opts, opts_len);
    return parse_exact(seg, n, out);
}

/* Layouts other stacks send, plus EOL, unknown kinds and repeated options. */
static void test_foreign_layouts(void) {
    struct mg_tcp_hdr h;
    /* Windows-era SYN: mss 1460, nop, nop, sackOK. */
    static const uint8_t win[] = {2, 4, 0x05, 0xb4, 1, 1, 4, 2};
    CU_ASSERT_EQUAL_FATAL(parse_options(win, sizeof(win), &h), 0);
    CU_ASSERT_TRUE(h.opts.has_mss && h.opts.mss == 1460 && h.opts.sack_permitted);
    CU_ASSERT_FALSE(h.opts.has_timestamp || h.opts.has_wscale);
    /* BSD/macOS SYN: mss, nop, wscale 6, nop, nop, TS, sackOK, eol (exactly 24 bytes). */
    static const uint8_t bsd[] = {2,    4,    0x3f, 0xc4, 1, 3, 3, 6, 1, 1, 8, 10,
                                  0x3e, 0x8c, 0x4b, 0xd7, 0, 0, 0, 0, 4, 2, 0, 0};
    CU_ASSERT_EQUAL_FATAL(parse_options(bsd, sizeof(bsd), &h), 0);
    CU_ASSERT_EQUAL(h.opts.mss, 16324);
    CU_ASSERT_TRUE(h.opts.has_wscale && h.opts.wscale == 6);
    CU_ASSERT_TRUE(h.opts.has_timestamp && h.opts.ts_val == 0x3e8c4bd7 && h.opts.ts_ecr == 0);
    CU_ASSERT_TRUE(h.opts.sack_permitted);
    /* Window scale 255 is reported as received (TCP clamps it, not the codec). */
    static const uint8_t ws255[] = {2, 4, 0x05, 0xb4, 3, 3, 255, 0};
    CU_ASSERT_EQUAL_FATAL(parse_options(ws255, sizeof(ws255), &h), 0);
    CU_ASSERT_EQUAL(h.opts.wscale, 255);
    /* EOL ends the list: what follows is not parsed, even if it is nonsense. */
    static const uint8_t eol[] = {2, 4, 0x05, 0xb4, 0, 2, 0, 0xff};
    CU_ASSERT_EQUAL_FATAL(parse_options(eol, sizeof(eol), &h), 0);
    CU_ASSERT_TRUE(h.opts.has_mss && h.opts.mss == 1460);
    /* Unknown kinds are skipped by length: TFO cookie request (34, len 2), an
     * experimental option (254, len 6), MD5 (19, len 18). */
    static const uint8_t unknown[] = {34, 2, 254, 6, 0xf9, 0x89, 1,  2,  19, 18, 1,  2, 3, 4, 5,
                                      6,  7, 8,   9, 10,   11,   12, 13, 14, 15, 16, 3, 3, 9};
    CU_ASSERT_EQUAL_FATAL(parse_options(unknown, sizeof(unknown), &h), 0);
    CU_ASSERT_TRUE(h.opts.has_wscale && h.opts.wscale == 9);
    CU_ASSERT_FALSE(h.opts.has_mss);
    /* Only NOPs, and a full 40 bytes of them. */
    uint8_t nops[40];
    memset(nops, 1, sizeof(nops));
    CU_ASSERT_EQUAL_FATAL(parse_options(nops, sizeof(nops), &h), 0);
    CU_ASSERT_EQUAL(h.hdr_len, 60);
    /* Repeated options: the last occurrence wins. */
    static const uint8_t dup[] = {2, 4,  0x05, 0xb4, 2, 4, 0x02, 0x18, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2,
                                  5, 18, 0,    0,    0, 3, 0,    0,    0, 4,  0, 0, 0, 5, 0, 0, 0, 6};
    CU_ASSERT_EQUAL_FATAL(parse_options(dup, sizeof(dup), &h), 0);
    CU_ASSERT_EQUAL(h.opts.mss, 536);
    CU_ASSERT_EQUAL_FATAL(h.opts.num_sack_blocks, 2);
    CU_ASSERT_EQUAL(h.opts.sack[0].left, 3);
    CU_ASSERT_EQUAL(h.opts.sack[0].right, 4);
    CU_ASSERT_EQUAL(h.opts.sack[1].left, 5);
    CU_ASSERT_EQUAL(h.opts.sack[1].right, 6);
    /* Four SACK blocks: the most a header holds (2 + 32 = 34 bytes). */
    uint8_t four[36] = {1, 1, 5, 34};
    for (int i = 0; i < 32; i++)
        four[4 + i] = (uint8_t)i;
    CU_ASSERT_EQUAL_FATAL(parse_options(four, sizeof(four), &h), 0);
    CU_ASSERT_EQUAL_FATAL(h.opts.num_sack_blocks, 4);
    CU_ASSERT_EQUAL(h.opts.sack[3].left, 0x18191a1b);
    CU_ASSERT_EQUAL(h.opts.sack[3].right, 0x1c1d1e1f);
}

static void test_rejects_offsets_and_truncation(void) {
    struct mg_tcp_hdr h;
    for (size_t len = 0; len < 20; len++)
        CU_ASSERT_EQUAL(parse_exact(bare_header, len, &h), -EMSGSIZE);
    uint8_t seg[60];
    for (unsigned doff = 0; doff < 5; doff++) {
        memcpy(seg, bare_header, 20);
        seg[12] = (uint8_t)(doff << 4);
        CU_ASSERT_EQUAL(parse_exact(seg, 20, &h), -EBADMSG);
    }
    /* Data offset past the segment: 15 words in 20..59 bytes. */
    memcpy(seg, bare_header, 20);
    memset(seg + 20, 1, 40);
    seg[12] = 0xf0;
    for (size_t len = 20; len < 60; len++)
        CU_ASSERT_EQUAL(parse_exact(seg, len, &h), -EMSGSIZE);
    CU_ASSERT_EQUAL(parse_exact(seg, 60, &h), 0);
    /* A full SYN cut at every length. */
    struct mg_tcp_hdr syn = {.flags = MG_TCP_SYN};
    syn.opts = (struct mg_tcp_opts){
        .has_mss = true, .mss = 1460, .sack_permitted = true, .has_timestamp = true, .has_wscale = true, .wscale = 7};
    size_t n = mg_tcp_build(seg, sizeof(seg), &syn);
    CU_ASSERT_EQUAL_FATAL(n, 40);
    for (size_t len = 0; len < n; len++)
        CU_ASSERT_EQUAL(parse_exact(seg, len, &h), -EMSGSIZE);
    CU_ASSERT_EQUAL(parse_exact(seg, n, &h), 0);
}

struct bad_option {
    const char *what;
    uint8_t bytes[16];
    size_t len; /* the options area is this, padded with EOL to a multiple of 4 */
};

static void test_rejects_bad_options(void) {
    static const struct bad_option cases[] = {
        {"length 0", {2, 0, 5, 180}, 4},
        {"length 1", {2, 1, 5, 180}, 4},
        {"unknown kind, length 0", {254, 0}, 2},
        {"unknown kind, length 1", {254, 1}, 2},
        {"length byte missing at end of header", {1, 1, 1, 8}, 4},
        {"length past the header", {8, 10, 0, 0, 0, 1, 0, 0}, 8},
        {"unknown option past the header", {254, 9, 0, 0, 0, 0, 0, 0}, 8},
        {"MSS length 3", {2, 3, 5, 1}, 4},
        {"MSS length 5", {2, 5, 5, 180, 0}, 5},
        {"WSCALE length 2", {3, 2, 1, 1}, 4},
        {"WSCALE length 4", {3, 4, 7, 0}, 4},
        {"SACK_PERMITTED length 3", {4, 3, 0, 1}, 4},
        {"SACK_PERMITTED length 4", {4, 4, 0, 0}, 4},
        {"TIMESTAMP length 9", {8, 9, 0, 0, 0, 1, 0, 0, 0}, 9},
        {"TIMESTAMP length 11", {8, 11, 0, 0, 0, 1, 0, 0, 0, 2, 0}, 11},
        {"SACK with no block", {1, 1, 5, 2}, 4},
        {"SACK length 9", {5, 9, 0, 0, 0, 1, 0, 0, 0}, 9},
        {"SACK length 11", {5, 11, 0, 0, 0, 1, 0, 0, 0, 2, 0}, 11},
        {"bad option after good ones", {2, 4, 5, 180, 1, 3, 3, 7, 4, 4, 0, 0}, 12},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mg_tcp_hdr h;
        int rc = parse_options(cases[i].bytes, cases[i].len, &h);
        CU_ASSERT_EQUAL(rc, -EBADMSG);
        if (rc != -EBADMSG)
            fprintf(stderr, "  %s: got %d\n", cases[i].what, rc);
    }
    /* Five SACK blocks (length 42) cannot fit a TCP header at all; the options
     * parser refuses them even when handed a larger area. */
    uint8_t five[44] = {1, 1, 5, 42};
    struct mg_tcp_opts o;
    CU_ASSERT_EQUAL(mg_tcp_opts_parse(five, sizeof(five), &o), -EBADMSG);
    five[3] = 34;
    CU_ASSERT_EQUAL(mg_tcp_opts_parse(five, 36, &o), 0);
    CU_ASSERT_EQUAL(o.num_sack_blocks, 4);
}

int wire_register_tcp_suite(void) {
    CU_pSuite s = CU_add_suite("wire_tcp", NULL, NULL);
    if (s == NULL)
        return CU_get_error();
    if (!CU_add_test(s, "header_roundtrip", test_header_roundtrip) ||
        !CU_add_test(s, "syn_and_sack_layout", test_syn_layout) ||
        !CU_add_test(s, "all_option_combinations", test_all_option_combinations) ||
        !CU_add_test(s, "foreign_layouts", test_foreign_layouts) ||
        !CU_add_test(s, "rejects_offsets_and_truncation", test_rejects_offsets_and_truncation) ||
        !CU_add_test(s, "rejects_bad_options", test_rejects_bad_options))
        return CU_get_error();
    return CUE_SUCCESS;
}
