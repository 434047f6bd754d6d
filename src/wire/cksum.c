/* wire/cksum.c — the Internet checksum (RFC 1071) and its incremental update
 * (RFC 1624).
 *
 * Every IPv4 header, ICMP message and TCP/UDP segment passes through here, so the
 * bulk loop sums 64 bytes at a time in vector lanes, in the host's byte order, and the
 * rest goes eight bytes at a time into a 64-bit one's-complement accumulator
 * (end-around carry on every add); the result is folded to 16 bits once at the end.
 *
 * Accumulator convention: the uint32_t carried between calls is the one's-complement
 * sum of the data read as big-endian 16-bit words, folded to at most 0xffff. It is 0
 * only when every byte summed so far was 0, which keeps the incremental update below
 * bit-exact with a full recomputation. Chunks can be summed piecewise as long as all
 * but the last have even length (a chunk of odd length would shift the next one by a
 * byte). Start addresses may be odd: words are loaded with memcpy, never through a
 * cast pointer. */
#include "wire/wire.h"

#include <string.h>

/* Folds a 64-bit one's-complement sum to 16 bits, preserving its value mod 0xffff
 * and mapping non-zero sums into 1..0xffff. */
static uint32_t fold64(uint64_t s) {
    s = (s & 0xffffffffu) + (s >> 32);
    s = (s & 0xffffffffu) + (s >> 32);
    s = (s & 0xffffu) + (s >> 16);
    s = (s & 0xffffu) + (s >> 16);
    s = (s & 0xffffu) + (s >> 16);
    return (uint32_t)s;
}

/* One's-complement add of two 64-bit values: the carry out wraps around. */
static uint64_t add_carry64(uint64_t acc, uint64_t w) {
    acc += w;
    return acc + (acc < w);
}

/* The words of a chunk in the host's byte order, summed in the 32-bit lanes of two
 * vectors: each lane takes four 16-bit words per 64 bytes, so BULK_CHUNK bytes cannot
 * overflow it (4096 * 4 * 0xffff < 2^32). Plain C vector types: SSE2 on x86-64, NEON
 * on arm64, scalar code elsewhere. */
typedef uint32_t cksum_u32x4 __attribute__((vector_size(16)));
#define BULK_CHUNK (1u << 18)

static uint64_t sum_bulk_native(const uint8_t *p, size_t len) {
    cksum_u32x4 a = {0}, b = {0};
    for (; len >= 64; len -= 64, p += 64) {
        cksum_u32x4 w0, w1, w2, w3;
        memcpy(&w0, p, 16);
        memcpy(&w1, p + 16, 16);
        memcpy(&w2, p + 32, 16);
        memcpy(&w3, p + 48, 16);
        a += (w0 & 0xffff) + (w0 >> 16) + (w1 & 0xffff) + (w1 >> 16);
        b += (w2 & 0xffff) + (w2 >> 16) + (w3 & 0xffff) + (w3 >> 16);
    }
    uint64_t s = 0;
    for (int i = 0; i < 4; i++)
        s += (uint64_t)a[i] + b[i];
    return s;
}

/* The one's-complement sum does not depend on the byte order the words are read in,
 * but for a swap of the folded result (RFC 1071 2.B): so the data is summed as the
 * host reads it, without swapping every word, and the 16-bit result is swapped once. */
uint32_t mg_cksum_add(uint32_t sum, const void *data, size_t len) {
    const uint8_t *p = data;
    uint64_t acc = 0;
    while (len >= 64) {
        size_t chunk = len < BULK_CHUNK ? len & ~(size_t)63 : BULK_CHUNK;
        acc = add_carry64(acc, sum_bulk_native(p, chunk));
        p += chunk;
        len -= chunk;
    }
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        acc = add_carry64(acc, w);
    }
    if (len >= 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        acc = add_carry64(acc, w);
        p += 4;
        len -= 4;
    }
    if (len >= 2) {
        uint16_t w;
        memcpy(&w, p, 2);
        acc = add_carry64(acc, w);
        p += 2;
        len -= 2;
    }
    if (len == 1) { /* a trailing odd byte is the high half of a zero-padded word */
        uint8_t pad[2] = {p[0], 0};
        uint16_t w;
        memcpy(&w, pad, 2);
        acc = add_carry64(acc, w);
    }
    uint32_t native = fold64(acc);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    uint32_t network = native;
#else
    uint32_t network = (uint32_t)__builtin_bswap16((uint16_t)native);
#endif
    return fold64((uint64_t)sum + network);
}

uint16_t mg_cksum_finish(uint32_t sum) {
    return (uint16_t)~fold64(sum);
}

uint16_t mg_cksum(const void *data, size_t len) {
    return mg_cksum_finish(mg_cksum_add(0, data, len));
}

uint32_t mg_cksum_pseudo_ipv4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t l4_len) {
    /* Pseudo-header: src, dst, zero byte + protocol, L4 length (RFC 793 / 768). */
    return (src >> 16) + (src & 0xffffu) + (dst >> 16) + (dst & 0xffffu) + proto + l4_len;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). One's-complement arithmetic does not
 * care about byte order as long as every operand uses the same one, so these work
 * on values as stored (network order) and on host-order values alike. */
uint16_t mg_cksum_update16(uint16_t cksum, uint16_t old_val, uint16_t new_val) {
    uint64_t s = (uint16_t)~cksum;
    s += (uint16_t)~old_val;
    s += new_val;
    return (uint16_t)~fold64(s);
}

uint16_t mg_cksum_update32(uint16_t cksum, uint32_t old_val, uint32_t new_val) {
    uint64_t s = (uint16_t)~cksum;
    s += (uint16_t) ~(old_val >> 16);
    s += (uint16_t)~old_val;
    s += new_val >> 16;
    s += new_val & 0xffffu;
    return (uint16_t)~fold64(s);
}
