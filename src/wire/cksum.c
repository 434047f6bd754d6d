/* wire/cksum.c — the Internet checksum (RFC 1071) and its incremental update
 * (RFC 1624).
 *
 * Every IPv4 header, ICMP message and TCP/UDP segment passes through here, so the
 * bulk loop reads eight bytes at a time into a 64-bit one's-complement accumulator
 * (end-around carry on every add) and folds to 16 bits only once at the end.
 *
 * Accumulator convention: the uint32_t carried between calls is the one's-complement
 * sum of the data read as big-endian 16-bit words, folded to at most 0xffff. It is 0
 * only when every byte summed so far was 0, which keeps the incremental update below
 * bit-exact with a full recomputation. Chunks can be summed piecewise as long as all
 * but the last have even length (a chunk of odd length would shift the next one by a
 * byte). Start addresses may be odd: bytes are read individually, never through a
 * cast pointer. */
#include "wire/wire.h"

#include "wire/be.h"

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

uint32_t mg_cksum_add(uint32_t sum, const void *data, size_t len) {
    const uint8_t *p = data;
    uint64_t acc = sum;

    /* Two accumulators give the CPU two independent carry chains to run in
     * parallel; they merge below. */
    uint64_t acc2 = 0;
    while (len >= 32) {
        acc = add_carry64(acc, mg_be64_load(p));
        acc2 = add_carry64(acc2, mg_be64_load(p + 8));
        acc = add_carry64(acc, mg_be64_load(p + 16));
        acc2 = add_carry64(acc2, mg_be64_load(p + 24));
        p += 32;
        len -= 32;
    }
    acc = add_carry64(acc, acc2);
    while (len >= 8) {
        acc = add_carry64(acc, mg_be64_load(p));
        p += 8;
        len -= 8;
    }
    if (len >= 4) {
        acc = add_carry64(acc, mg_be32_load(p));
        p += 4;
        len -= 4;
    }
    if (len >= 2) {
        acc = add_carry64(acc, mg_be16_load(p));
        p += 2;
        len -= 2;
    }
    if (len == 1) /* a trailing odd byte is the high half of a zero-padded word */
        acc = add_carry64(acc, (uint64_t)p[0] << 8);
    return fold64(acc);
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
