/* tests/unit/test_inet_frag.c — IPv4 reassembly and fragmentation (ipv4_reass.c,
 * ipv4_frag.c) against a hand-driven peer on a simulated link with a manual clock.
 * The peer crafts fragments; a fake transport registered for UDP's protocol number
 * records the whole datagrams the IP layer hands up. Checks: any arrival order
 * reassembles, duplicates are harmless, overlaps and malformed fragments drop the
 * datagram under their own counters, the timeout frees everything (and sends ICMP
 * time exceeded), every bound holds (table, fragments, buffers, size), checksums
 * are verified over the whole datagram, output fragments are well formed, and every
 * buffer is back in its pool at the end. */
#include <CUnit/Basic.h>
#include <errno.h>

#include "inet/ipv4_reass.h"
#include "inet/udp.h"
#include "tests/unit/cunit_main.h"
#include "tests/unit/inet_peer.h"

#define DGRAM_MAX 70000

/* What the fake UDP transport saw. */
static struct {
    int calls;
    uint32_t len;
    uint8_t bytes[DGRAM_MAX];
    struct mg_ipv4_hdr ip;
} got;

static void fake_udp_input(void *ctx, struct mg_buf *buf, const struct mg_ipv4_hdr *ip) {
    (void)ctx;
    got.calls++;
    got.len = buf->len;
    got.ip = *ip;
    memcpy(got.bytes, buf->data, buf->len < DGRAM_MAX ? buf->len : DGRAM_MAX);
    mg_buf_free(buf);
}

static void static_arp(struct mg_config *c) {
    peer_config(c);
    c->arp_table_len = 1;
    c->arp_table[0].ipv4 = PEER_IP;
    memcpy(c->arp_table[0].mac, (const uint8_t[]){0x02, 0, 0, 0, 0, 2}, 6);
}

/* A stack with static ARP and the fake UDP transport; cfg adjusts the defaults. */
static void setup(struct peer *p, void (*adjust)(struct mg_config *)) {
    struct mg_config c;
    static_arp(&c);
    if (adjust)
        adjust(&c);
    peer_setup(p, &c);
    memset(&got, 0, sizeof(got));
    struct mg_inet_l4_handler h = {.input = fake_udp_input, .ctx = p};
    CU_ASSERT_EQUAL_FATAL(mg_inet_register_l4(p->inet, MG_IPPROTO_UDP, &h), 0);
}

/* Nothing held, every buffer back in the stack's pool; then tears down. */
static void teardown(struct peer *p) {
    while (peer_count_frames(p) > 0) {
    }
    CU_ASSERT_EQUAL(mg_ipv4_reass_pending(p->inet->reass), 0);
    CU_ASSERT_EQUAL(mg_ipv4_reass_buffers_held(p->inet->reass), 0);
    CU_ASSERT_EQUAL(p->sdev->pool->in_use, 0);
    peer_teardown(p);
}

static void pattern(uint8_t *b, size_t n, unsigned salt) {
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i * 13 + salt + (i >> 8));
}

/* The peer sends bytes [off, off+len) of a datagram `id` whose payload is `data`. */
static void send_frag(struct peer *p, uint16_t id, uint8_t proto, const uint8_t *data, uint32_t off, uint32_t len,
                      bool more) {
    uint8_t f[PEER_FRAME_MAX];
    size_t n = peer_eth(f, p->smac, p->pmac, MG_ETHERTYPE_IPV4);
    CU_ASSERT_FATAL(n + 20 + len <= sizeof(f));
    struct mg_ipv4_hdr ip = {.hdr_len = 20,
                             .total_len = (uint16_t)(20 + len),
                             .id = id,
                             .frag = (uint16_t)((off / 8) | (more ? MG_IPV4_MF : 0)),
                             .ttl = 64,
                             .proto = proto,
                             .src = PEER_IP,
                             .dst = PEER_STACK_IP};
    n += mg_ipv4_build(f + n, 20, &ip, true);
    memcpy(f + n, data + off, len);
    peer_send(p, f, n + len);
    mg_inet_poll(p->inet);
}

/* Sends a datagram of len bytes in fragments of `step` bytes, in the order given by
 * order[] (indices of the fragments), or in order when order is NULL. */
static void send_dgram(struct peer *p, uint16_t id, const uint8_t *data, uint32_t len, uint32_t step,
                       const unsigned *order) {
    unsigned nfrags = (len + step - 1) / step;
    for (unsigned k = 0; k < nfrags; k++) {
        unsigned i = order ? order[k] : k;
        uint32_t off = i * step;
        uint32_t n = len - off < step ? len - off : step;
        send_frag(p, id, MG_IPPROTO_UDP, data, off, n, off + n < len);
    }
}

static bool got_exactly(const uint8_t *data, uint32_t len) {
    return got.calls == 1 && got.len == len && memcmp(got.bytes, data, len) == 0;
}

static const uint64_t *drops(struct peer *p) {
    return p->inet->stats.drops;
}

/* ---- arrival orders ---- */

static void test_in_order(void) {
    struct peer p;
    setup(&p, NULL);
    static uint8_t data[4000];
    pattern(data, sizeof(data), 1);
    send_dgram(&p, 1, data, sizeof(data), 1480, NULL);
    CU_ASSERT(got_exactly(data, sizeof(data)));
    /* Handed up as unfragmented: whole length, no MF, no offset. */
    CU_ASSERT_EQUAL(got.ip.total_len, 20 + sizeof(data));
    CU_ASSERT_FALSE(mg_ipv4_is_fragment(&got.ip));
    CU_ASSERT_EQUAL(p.inet->stats.ipv4_fragments_in, 3);
    CU_ASSERT_EQUAL(p.inet->stats.ipv4_reassembled, 1);
    CU_ASSERT_EQUAL(p.inet->stats.ipv4_in, 1);
    teardown(&p);
}

static void test_reverse_order(void) {
    struct peer p;
    setup(&p, NULL);
    static uint8_t data[5000];
    pattern(data, sizeof(data), 2);
    const unsigned order[] = {4, 3, 2, 1, 0};
    send_dgram(&p, 2, data, sizeof(data), 1200, order);
    CU_ASSERT(got_exactly(data, sizeof(data)));
    teardown(&p);
}

static void test_shuffled_orders(void) {
    struct peer p;
    setup(&p, NULL);
    static uint8_t data[3001];
    uint32_t rng = 12345;
    unsigned ok = 0;
    for (unsigned round = 0; round < 40; round++) {
        pattern(data, sizeof(data), round);
        unsigned order[16];
        unsigned n = (sizeof(data) + 255) / 256;
        for (unsigned i = 0; i < n; i++)
            order[i] = i;
        for (unsigned i = n - 1; i > 0; i--) { /* Fisher-Yates with a fixed LCG */
            rng = rng * 1103515245u + 12345u;
            unsigned j = (rng >> 16) % (i + 1);
            unsigned t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        got.calls = 0;
        send_dgram(&p, (uint16_t)(100 + round), data, sizeof(data), 256, order);
        ok += got_exactly(data, sizeof(data));
    }
    CU_ASSERT_EQUAL(ok, 40);
    teardown(&p);
}

/* Fragments of two datagrams interleaved, one with the same id from another
 * protocol: the key keeps them apart. */
static void test_interleaved_datagrams(void) {
    struct peer p;
    setup(&p, NULL);
    static uint8_t a[2000], b[2000];
    pattern(a, sizeof(a), 3);
    pattern(b, sizeof(b), 4);
    send_frag(&p, 7, MG_IPPROTO_UDP, a, 0, 1000, true);
    send_frag(&p, 7, MG_IPPROTO_TCP, b, 0, 1000, true); /* same id, other protocol */
    send_frag(&p, 8, MG_IPPROTO_UDP, b, 1000, 1000, false);
    CU_ASSERT_EQUAL(mg_ipv4_reass_pending(p.inet->reass), 3);
    send_frag(&p, 7, MG_IPPROTO_UDP, a, 1000, 1000, false);
    CU_ASSERT(got_exactly(a, sizeof(a)));
    got.calls = 0;
    send_frag(&p, 8, MG_IPPROTO_UDP, b, 0, 1000, true);
    CU_ASSERT(got_exactly(b, sizeof(b)));
    /* The TCP one goes to TCP's (fake) transport when complete. */
    send_frag(&p, 7, MG_IPPROTO_TCP, b, 1000, 1000, false);
    CU_ASSERT_EQUAL(p.l4_calls, 1);
    CU_ASSERT_EQUAL(p.l4_len, 2000);
    teardown(&p);
}

/* The first fragment carries options (a 24-byte header, as RFC 791 copies options
 * it must); the datagram keeps that header. A zero-length last fragment ends it. */
static void test_options_and_empty_last_fragment(void) {
    struct peer p;
    setup(&p, NULL);
    static uint8_t data[2000];
    pattern(data, sizeof(data), 18);
    uint8_t f[PEER_FRAME_MAX];
    size_t n = peer_eth(f, p.smac, p.pmac, MG_ETHERTYPE_IPV4);
    struct mg_ipv4_hdr ip = {.hdr_len = 20,
                             .total_len = 24 + 1480,
                             .id = 95,
                             .frag = MG_IPV4_MF,
                             .ttl = 64,
                             .proto = MG_IPPROTO_UDP,
                             .src = PEER_IP,
                             .dst = PEER_STACK_IP};
    mg_ipv4_build(f + n, 20, &ip, false);
    f[n] = 0x46;                                          /* IHL 6 */
    memcpy(f + n + 20, (const uint8_t[]){1, 1, 1, 0}, 4); /* NOP NOP NOP EOL */
    mg_be16_store(f + n + 10, 0);
    mg_be16_store(f + n + 10, mg_cksum(f + n, 24));
    memcpy(f + n + 24, data, 1480);
    peer_send(&p, f, n + 24 + 1480);
    mg_inet_poll(p.inet);
    send_frag(&p, 95, MG_IPPROTO_UDP, data, 1480, 520, true);
    CU_ASSERT_EQUAL(got.calls, 0);
    send_frag(&p, 95, MG_IPPROTO_UDP, data, 2000, 0, false);
    CU_ASSERT(got_exactly(data, sizeof(data)));
    CU_ASSERT_EQUAL(got.ip.hdr_len, 24);
    CU_ASSERT_EQUAL(got.ip.total_len, 24 + sizeof(data));
    teardown(&p);
}

/* ---- duplicates and overlaps ---- */

static void test_duplicates_are_harmless(void) {
    struct peer p;
    setup(&p, NULL);
    static uint8_t data[3000];
    pattern(data, sizeof(data), 5);
    send_frag(&p, 9, MG_IPPROTO_UDP, data, 0, 1480, true);
    send_frag(&p, 9, MG_IPPROTO_UDP, data, 0, 1480, true);
    send_frag(&p, 9, MG_IPPROTO_UDP, data, 1480, 1480, true);
    send_frag(&p, 9, MG_IPPROTO_UDP, data, 1480, 1480, true);
    CU_ASSERT_EQUAL(drops(&p)[MG_DROP_IPV4_FRAG_DUPLICATE], 2);
    CU_ASSERT_EQUAL(mg_ipv4_reass_buffers_held(p.inet->reass), 2);
    send_frag(&p, 9, MG_IPPROTO_UDP, data, 2960, 40, false);
    CU_ASSERT(got_exactly(data, sizeof(data)));
    teardown(&p);
}

static void test_overlap_drops_the_datagram(void) {
    struct peer p;
    setup(&p, NULL);
    static uint8_t data[3000];
    pattern(data, sizeof(data), 6);
    /* A fragment overlapping the tail of the one before. */
    send_frag(&p, 10, MG_IPPROTO_UDP, data, 0, 1480, true);
    send_frag(&p, 10, MG_IPPROTO_UDP, data, 1472, 1480, true);
    CU_ASSERT_EQUAL(drops(&p)[MG_DROP_IPV4_FRAG_OVERLAP], 2);
    CU_ASSERT_EQUAL(mg_ipv4_reass_pending(p.inet->reass), 0);
    /* Same offset, another length (not a duplicate). */
    send_frag(&p, 11, MG_IPPROTO_UDP, data, 1480, 1480, true);
    send_frag(&p, 11, MG_IPPROTO_UDP, data, 1480, 1472, true);
    CU_ASSERT_EQUAL(drops(&p)[MG_DROP_IPV4_FRAG_OVERLAP], 4);
    /* One reaching into the next (arriving first). */
    send_frag(&p, 12, MG_IPPROTO_UDP, data, 1480, 1480, true);
    send_frag(&p, 12, MG_IPPROTO_UDP, data, 8, 1480, true);
    CU_ASSERT_EQUAL(drops(&p)[MG_DROP_IPV4_FRAG_OVERLAP], 6);
    /* One entirely inside another. */
    send_frag(&p, 13, MG_IPPROTO_UDP, data, 0, 1480, true);
    send_frag(&p, 13, MG_IPPROTO_UDP, data, 16, 16, true);
    CU_ASSERT_EQUAL(drops(&p)[MG_DROP_IPV4_FRAG_OVERLAP], 8);
    /* What comes after an overlap starts afresh and never completes the old one. */
    send_frag(&p, 10, MG_IPPROTO_UDP, data, 2952, 48, false);
    CU_ASSERT_EQUAL(got.calls, 0);
    CU_ASSERT_EQUAL(mg_ipv4_reass_pending(p.inet->reass), 1);
    peer_advance(&p, 31 * MG_NS_PER_S);
    teardown(&p);
}

/* ---- malformed fragments ---- */

static void test_malformed_fragments(void) {
    struct peer p;
    setup(&p, NULL);
    static uint8_t data[70000];
    pattern(data, sizeof(data), 7);
    send_frag(&p, 20, MG_IPPROTO_UDP, data, 0, 0, true);   /* empty, not last */
    send_frag(&p, 21, MG_IPPROTO_UDP, data, 0, 100, true); /* not a multiple of 8 */
    CU_ASSERT_EQUAL(drops(&p)[MG_DROP_IPV4_FRAG_BAD_LENGTH], 2);
    /* Past 65535: the held fragment goes too. */
    send_frag(&p, 22, MG_IPPROTO_UDP, data, 0, 1480, true);
    send_frag(&p, 22, MG_IPPROTO_UDP, data, 8189 * 8, 40, false);
    CU_ASSERT_EQUAL(drops(&p)[MG_DROP_IPV4_FRAG_PAST_64K], 2);
    /* Two last fragments disagreeing on the length. */
    send_frag(&p, 23, MG_IPPROTO_UDP, data, 1480, 100, false);
    send_frag(&p, 23, MG_IPPROTO_UDP, data, 1480, 200, false);
    CU_ASSERT_EQUAL(drops(&p)[MG_DROP_IPV4_FRAG_BAD_END], 2);
    /* A fragment past a known end, and a last fragment before a held one. */
    send_frag(&p, 24, MG_IPPROTO_UDP, data, 1480, 100, false);
    send_frag(&p, 24, MG_IPPROTO_UDP, data, 2960, 8, true);
    CU_ASSERT_EQUAL(drops(&p)[MG_DROP_IPV4_FRAG_BAD_END], 4);
    send_frag(&p, 25, MG_IPPROTO_UDP, data, 2960, 8, true);
    send_frag(&p, 25, MG_IPPROTO_UDP, data, 1480, 100, false);
    CU_ASSERT_EQUAL(drops(&p)[MG_DROP_IPV4_FRAG_BAD_END], 6);
    CU_ASSERT_EQUAL(got.calls, 0);
    CU_ASSERT_EQUAL(mg_ipv4_reass_pending(p.inet->reass), 0);
    teardown(&p);
}

/* The largest datagram, 65535 bytes, reassembles (from the arena: it fits no
 * device buffer); one more byte cannot even be expressed, and is dropped. */
static void test_largest_datagram(void) {
    struct peer p;
    setup(&p, NULL);
    static uint8_t data[65520];
    pattern(data, sizeof(data), 8);
    send_dgram(&p, 30, data, 65515, 1480, NULL);
    CU_ASSERT(got_exactly(data, 65515));
    CU_ASSERT_EQUAL(got.ip.total_len, 65535);
    got.calls = 0;
    for (uint32_t off = 0; off < 65512; off += 1480)
        send_frag(&p, 31, MG_IPPROTO_UDP, data, off, 65512 - off < 1480 ? 65512 - off : 1480, true);
    CU_ASSERT_EQUAL(mg_ipv4_reass_buffers_held(p.inet->reass), 45);
    send_frag(&p, 31, MG_IPPROTO_UDP, data, 65512, 4, false); /* total 65536 */
    CU_ASSERT_EQUAL(got.calls, 0);
    CU_ASSERT_EQUAL(drops(&p)[MG_DROP_IPV4_FRAG_PAST_64K], 46);
    teardown(&p);
}

static void small_max_bytes(struct mg_config *c) {
    c->ipv4_reassembly_max_bytes = 2000;
}

static void test_too_big_for_the_configuration(void) {
    struct peer p;
    setup(&p, small_max_bytes);
    static uint8_t data[3000];
    pattern(data, sizeof(data), 9);
    send_dgram(&p, 32, data, 1980, 1480, NULL); /* 2000 with its header: fits */
    CU_ASSERT(got_exactly(data, 1980));
    send_frag(&p, 33, MG_IPPROTO_UDP, data, 0, 1480, true);
    send_frag(&p, 33, MG_IPPROTO_UDP, data, 1480, 1480, false);
    CU_ASSERT_EQUAL(drops(&p)[MG_DROP_IPV4_REASS_TOO_BIG], 2);
    CU_ASSERT_EQUAL(got.calls, 1);
    teardown(&p);
}

/* No arena: a datagram past a device buffer has nowhere to go. */
static void no_arena(struct mg_config *c) {
    c->ipv4_reassembly_large_buffers = 0;
}

static void test_no_arena_no_big_datagrams(void) {
    struct peer p;
    setup(&p, no_arena);
    static uint8_t data[4000];
    pattern(data, sizeof(data), 10);
    send_dgram(&p, 34, data, 1800, 1480, NULL); /* fits a device buffer */
    CU_ASSERT(got_exactly(data, 1800));
    send_dgram(&p, 35, data, sizeof(data), 1480, NULL);
    CU_ASSERT_EQUAL(drops(&p)[MG_DROP_IPV4_REASS_NO_BUFFER], 3);
    CU_ASSERT_EQUAL(got.calls, 1);
    teardown(&p);
}

/* ---- bounds ---- */

static void test_timeout_frees_and_reports(void) {
    struct peer p;
    setup(&p, NULL);
    static uint8_t data[3000];
    pattern(data, sizeof(data), 11);
    send_frag(&p, 40, MG_IPPROTO_UDP, data, 0, 1480, true);
    send_frag(&p, 40, MG_IPPROTO_UDP, data, 1480, 1480, true);
    send_frag(&p, 41, MG_IPPROTO_UDP, data, 1480, 1480, true); /* no first fragment */
    CU_ASSERT_EQUAL(mg_ipv4_reass_buffers_held(p.inet->reass), 3);
    peer_advance(&p, 29 * MG_NS_PER_S);
    CU_ASSERT_EQUAL(mg_ipv4_reass_pending(p.inet->reass), 2);
    CU_ASSERT_EQUAL(peer_count_frames(&p), 0);
    peer_advance(&p, 1 * MG_NS_PER_S);
    CU_ASSERT_EQUAL(mg_ipv4_reass_pending(p.inet->reass), 0);
    CU_ASSERT_EQUAL(drops(&p)[MG_DROP_IPV4_REASS_TIMEOUT], 3);
    /* One ICMP time exceeded (code 1), for the datagram whose first fragment came,
     * quoting that fragment's header. */
    uint8_t f[PEER_FRAME_MAX];
    int n = peer_recv(&p, f);
    CU_ASSERT_FATAL(n >= 14 + 20 + 8 + 20 + 8);
    CU_ASSERT_EQUAL(f[14 + 9], MG_IPPROTO_ICMP);
    CU_ASSERT_EQUAL(f[14 + 20], MG_ICMP_TIME_EXCEEDED);
    CU_ASSERT_EQUAL(f[14 + 20 + 1], 1);
    CU_ASSERT_EQUAL(mg_be16_load(f + 14 + 28 + 4), 40); /* the quoted id */
    CU_ASSERT_EQUAL(peer_recv(&p, f), -1);
    /* The rest of it coming late starts a new datagram, never a delivery. */
    send_frag(&p, 40, MG_IPPROTO_UDP, data, 2960, 40, false);
    CU_ASSERT_EQUAL(got.calls, 0);
    peer_advance(&p, 30 * MG_NS_PER_S);
    teardown(&p);
}

static void short_timeout(struct mg_config *c) {
    c->ipv4_reassembly_timeout_ns = 500 * MG_NS_PER_MS;
}

static void test_configured_timeout(void) {
    struct peer p;
    setup(&p, short_timeout);
    static uint8_t data[3000];
    send_frag(&p, 42, MG_IPPROTO_UDP, data, 1480, 1480, true);
    peer_advance(&p, 499 * MG_NS_PER_MS);
    CU_ASSERT_EQUAL(mg_ipv4_reass_pending(p.inet->reass), 1);
    peer_advance(&p, 1 * MG_NS_PER_MS);
    CU_ASSERT_EQUAL(mg_ipv4_reass_pending(p.inet->reass), 0);
    teardown(&p);
}

static void four_datagrams(struct mg_config *c) {
    c->ipv4_reassembly_max_datagrams = 4;
}

static void test_table_full_evicts_oldest(void) {
    struct peer p;
    setup(&p, four_datagrams);
    static uint8_t data[3000];
    pattern(data, sizeof(data), 12);
    for (uint16_t id = 1; id <= 5; id++) {
        send_frag(&p, id, MG_IPPROTO_UDP, data, 0, 1480, true);
        peer_advance(&p, MG_NS_PER_MS);
    }
    CU_ASSERT_EQUAL(mg_ipv4_reass_pending(p.inet->reass), 4);
    CU_ASSERT_EQUAL(drops(&p)[MG_DROP_IPV4_REASS_EVICTED], 1);
    /* id 1 was the oldest: its end makes nothing; ids 2..5 complete. */
    send_frag(&p, 1, MG_IPPROTO_UDP, data, 1480, 1480, false); /* evicts id 2 */
    CU_ASSERT_EQUAL(got.calls, 0);
    CU_ASSERT_EQUAL(drops(&p)[MG_DROP_IPV4_REASS_EVICTED], 2);
    for (uint16_t id = 3; id <= 5; id++)
        send_frag(&p, id, MG_IPPROTO_UDP, data, 1480, 1480, false);
    CU_ASSERT_EQUAL(got.calls, 3);
    CU_ASSERT(got.len == 2960 && memcmp(got.bytes, data, 2960) == 0);
    peer_advance(&p, 31 * MG_NS_PER_S);
    teardown(&p);
}

static void four_fragments(struct mg_config *c) {
    c->ipv4_reassembly_max_fragments = 4;
}

static void test_too_many_fragments(void) {
    struct peer p;
    setup(&p, four_fragments);
    static uint8_t data[4000];
    pattern(data, sizeof(data), 13);
    send_dgram(&p, 50, data, 32, 8, NULL); /* exactly four */
    CU_ASSERT(got_exactly(data, 32));
    send_dgram(&p, 51, data, 40, 8, NULL);
    CU_ASSERT_EQUAL(drops(&p)[MG_DROP_IPV4_FRAG_TOO_MANY], 5);
    CU_ASSERT_EQUAL(got.calls, 1);
    teardown(&p);
}

static void five_buffers(struct mg_config *c) {
    c->ipv4_reassembly_max_buffers = 5;
}

/* The buffers held in all are bounded: past it, the oldest other datagram goes. */
static void test_buffer_budget(void) {
    struct peer p;
    setup(&p, five_buffers);
    static uint8_t data[4000];
    pattern(data, sizeof(data), 14);
    for (uint32_t off = 0; off < 3 * 8; off += 8)
        send_frag(&p, 60, MG_IPPROTO_UDP, data, off, 8, true);
    peer_advance(&p, MG_NS_PER_MS);
    send_frag(&p, 61, MG_IPPROTO_UDP, data, 0, 8, true);
    send_frag(&p, 61, MG_IPPROTO_UDP, data, 8, 8, true);
    CU_ASSERT_EQUAL(mg_ipv4_reass_buffers_held(p.inet->reass), 5);
    send_frag(&p, 61, MG_IPPROTO_UDP, data, 16, 8, false);
    CU_ASSERT_EQUAL(drops(&p)[MG_DROP_IPV4_REASS_EVICTED], 3);
    CU_ASSERT(got_exactly(data, 24));
    /* A datagram needing more than the whole budget cannot complete. */
    send_dgram(&p, 62, data, 48, 8, NULL);
    CU_ASSERT_EQUAL(drops(&p)[MG_DROP_IPV4_REASS_NO_BUFFER], 6);
    CU_ASSERT_EQUAL(got.calls, 1);
    teardown(&p);
}

static void disabled(struct mg_config *c) {
    c->ipv4_reassembly_max_datagrams = 0;
}

static void test_disabled_drops_fragments(void) {
    struct peer p;
    setup(&p, disabled);
    CU_ASSERT_PTR_NULL(p.inet->reass);
    static uint8_t data[3000];
    send_dgram(&p, 70, data, sizeof(data), 1480, NULL);
    CU_ASSERT_EQUAL(drops(&p)[MG_DROP_IPV4_FRAGMENT], 3);
    CU_ASSERT_EQUAL(got.calls, 0);
    teardown(&p);
}

/* ---- the real UDP layer above: checksum over the whole datagram ---- */

static void test_udp_checksum_over_whole_datagram(void) {
    struct peer p;
    setup(&p, NULL);
    mg_inet_unregister_l4(p.inet, MG_IPPROTO_UDP);
    struct mg_udp_layer *udp;
    CU_ASSERT_EQUAL_FATAL(mg_udp_layer_create(p.inet, &udp), 0);
    struct mg_udp_sock *s = mg_udp_open(udp, NULL, NULL);
    CU_ASSERT_EQUAL_FATAL(mg_udp_bind(s, 0, 7000), 0);
    static uint8_t dgram[3008];
    pattern(dgram + 8, 3000, 15);
    struct mg_udp_hdr h = {.sport = 5000, .dport = 7000, .len = sizeof(dgram)};
    mg_udp_build(dgram, 8, &h);
    uint16_t c = mg_l4_cksum_ipv4(PEER_IP, PEER_STACK_IP, MG_IPPROTO_UDP, dgram, sizeof(dgram));
    mg_be16_store(dgram + 6, c);
    send_dgram(&p, 80, dgram, sizeof(dgram), 1480, NULL);
    struct mg_buf *b;
    uint32_t from;
    uint16_t port;
    CU_ASSERT_EQUAL_FATAL(mg_udp_recvfrom(s, &b, &from, &port), 3000);
    CU_ASSERT(memcmp(b->data, dgram + 8, 3000) == 0);
    CU_ASSERT_EQUAL(from, PEER_IP);
    CU_ASSERT_EQUAL(port, 5000);
    mg_buf_free(b);
    /* One byte changed in the last fragment: caught by the checksum. */
    dgram[3000] ^= 1;
    send_dgram(&p, 81, dgram, sizeof(dgram), 1480, NULL);
    CU_ASSERT_EQUAL(mg_udp_recvfrom(s, &b, &from, &port), -EAGAIN);
    CU_ASSERT_EQUAL(drops(&p)[MG_DROP_UDP_BAD_CKSUM], 1);
    mg_udp_close(s);
    mg_udp_layer_destroy(udp);
    teardown(&p);
}

/* ---- output ---- */

/* The stack sends a 4000-byte UDP packet: three fragments, one id, DF clear, MF on
 * all but the last, 8-byte offsets, valid header checksums; the bytes add up. */
static void test_output_fragments(void) {
    struct peer p;
    setup(&p, NULL);
    static uint8_t data[4000], rebuilt[4000];
    pattern(data, sizeof(data), 16);
    CU_ASSERT_EQUAL(mg_inet_ipv4_output_parts(p.inet, data, 100, data + 100, 3900, PEER_IP, MG_IPPROTO_UDP), 0);
    mg_inet_flush(p.inet);
    uint8_t f[PEER_FRAME_MAX];
    uint32_t covered = 0;
    int id = -1;
    for (int i = 0; i < 3; i++) {
        int n = peer_recv(&p, f);
        CU_ASSERT_FATAL(n > 0 && n <= 14 + 1500);
        struct mg_ipv4_hdr ip;
        CU_ASSERT_EQUAL_FATAL(mg_ipv4_parse(f + 14, (size_t)n - 14, true, &ip), 0);
        if (id < 0)
            id = ip.id;
        CU_ASSERT_EQUAL(ip.id, id);
        CU_ASSERT_EQUAL(ip.frag & MG_IPV4_DF, 0);
        CU_ASSERT_EQUAL(!!(ip.frag & MG_IPV4_MF), i < 2);
        uint32_t off = (ip.frag & MG_IPV4_OFFMASK) * 8u;
        uint32_t len = ip.total_len - 20u;
        CU_ASSERT_EQUAL(off, covered);
        CU_ASSERT(i == 2 || len % 8 == 0);
        memcpy(rebuilt + off, f + 14 + 20, len);
        covered += len;
    }
    CU_ASSERT_EQUAL(covered, 4000);
    CU_ASSERT(memcmp(rebuilt, data, 4000) == 0);
    CU_ASSERT_EQUAL(peer_recv(&p, f), -1);
    CU_ASSERT_EQUAL(p.inet->stats.ipv4_fragments_out, 3);
    /* TCP never fragments; nothing past the largest IPv4 payload goes. */
    CU_ASSERT_EQUAL(mg_inet_ipv4_output_parts(p.inet, data, 1481, NULL, 0, PEER_IP, MG_IPPROTO_TCP), -EMSGSIZE);
    CU_ASSERT_EQUAL(peer_stack_send(&p, PEER_IP, MG_IPPROTO_TCP, 1481, 1), -EMSGSIZE);
    static uint8_t big[65516];
    CU_ASSERT_EQUAL(mg_inet_ipv4_output_parts(p.inet, big, sizeof(big), NULL, 0, PEER_IP, MG_IPPROTO_UDP), -EMSGSIZE);
    teardown(&p);
}

/* With IPv4 checksum offload, fragments still carry a computed checksum (devices
 * skip fragments); the last byte of the MTU is used. */
static void test_output_fragments_with_offload(void) {
    struct peer p;
    struct mg_config c;
    static_arp(&c);
    peer_setup_caps(&p, &c, MG_NETDEV_CAP_TX_IPV4_CKSUM);
    static uint8_t data[2961];
    CU_ASSERT_EQUAL(mg_inet_ipv4_output_parts(p.inet, data, sizeof(data), NULL, 0, PEER_IP, MG_IPPROTO_ICMP), 0);
    mg_inet_flush(p.inet);
    uint8_t f[PEER_FRAME_MAX];
    int sizes[3];
    for (int i = 0; i < 3; i++) {
        sizes[i] = peer_recv(&p, f);
        CU_ASSERT_FATAL(sizes[i] > 14 + 20);
        CU_ASSERT_EQUAL(mg_cksum(f + 14, 20), 0);
        sizes[i] = mg_be16_load(f + 14 + 2); /* IPv4 total length (the last is padded) */
    }
    CU_ASSERT_EQUAL(sizes[0], 1500);
    CU_ASSERT_EQUAL(sizes[1], 1500);
    CU_ASSERT_EQUAL(sizes[2], 20 + 1);
    peer_teardown(&p);
}

/* A large ping is reassembled and its reply fragmented. */
static void test_large_echo(void) {
    struct peer p;
    setup(&p, NULL);
    static uint8_t req[4008];
    pattern(req + 8, 4000, 17);
    struct mg_icmp_hdr h = {.type = MG_ICMP_ECHO_REQUEST, .rest = 0x12340001};
    mg_icmp_build(req, sizeof(req), &h, 4000);
    for (uint32_t off = 0; off < sizeof(req); off += 1480) {
        uint32_t n = sizeof(req) - off < 1480 ? sizeof(req) - off : 1480;
        send_frag(&p, 90, MG_IPPROTO_ICMP, req, off, n, off + n < sizeof(req));
    }
    CU_ASSERT_EQUAL(p.inet->stats.icmp_echo_replies_sent, 1);
    CU_ASSERT_EQUAL(peer_count_frames(&p), 3);
    teardown(&p);
}

static const struct mg_test_case cases[] = {
    {"in order", test_in_order},
    {"reverse order", test_reverse_order},
    {"shuffled orders", test_shuffled_orders},
    {"interleaved datagrams, key includes the protocol", test_interleaved_datagrams},
    {"options in the first fragment, empty last fragment", test_options_and_empty_last_fragment},
    {"duplicates are harmless", test_duplicates_are_harmless},
    {"an overlap drops the datagram", test_overlap_drops_the_datagram},
    {"malformed fragments", test_malformed_fragments},
    {"largest datagram, and one byte more", test_largest_datagram},
    {"too big for the configuration", test_too_big_for_the_configuration},
    {"no arena: no datagram past a device buffer", test_no_arena_no_big_datagrams},
    {"timeout frees and sends time exceeded", test_timeout_frees_and_reports},
    {"configured timeout", test_configured_timeout},
    {"table full evicts the oldest", test_table_full_evicts_oldest},
    {"too many fragments", test_too_many_fragments},
    {"buffer budget", test_buffer_budget},
    {"reassembly disabled", test_disabled_drops_fragments},
    {"UDP checksum over the whole datagram", test_udp_checksum_over_whole_datagram},
    {"output fragments", test_output_fragments},
    {"output fragments with IPv4 checksum offload", test_output_fragments_with_offload},
    {"large echo request and reply", test_large_echo},
    {NULL, NULL},
};

int main(void) {
    return mg_run_tests("inet_frag", cases);
}
