/* core/random.c — xoshiro256** seeded through splitmix64, and SipHash-2-4.
 * xoshiro256** is fast, has a 2^256 period and passes BigCrush: right for
 * simulation and fault injection. SipHash is the keyed hash for RFC 6528 ISNs. */
#include "core/random.h"

#include <stddef.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void mg_rand_seed(struct mg_rand *r, uint64_t seed) {
    uint64_t sm = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&sm);
}

uint64_t mg_rand_u64(struct mg_rand *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

uint32_t mg_rand_u32(struct mg_rand *r) { return (uint32_t)(mg_rand_u64(r) >> 32); }

uint32_t mg_rand_below(struct mg_rand *r, uint32_t bound) {
    if (bound == 0)
        return 0;
    /* Lemire's multiply-shift with rejection: unbiased without a division per draw. */
    uint64_t m = (uint64_t)mg_rand_u32(r) * bound;
    uint32_t low = (uint32_t)m;
    if (low < bound) {
        uint32_t threshold = (uint32_t)(-bound) % bound;
        while (low < threshold) {
            m = (uint64_t)mg_rand_u32(r) * bound;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

double mg_rand_unit(struct mg_rand *r) { return (double)(mg_rand_u64(r) >> 11) * 0x1.0p-53; }

uint64_t mg_rand_os_seed(void) {
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed)) {
        /* No entropy source: fall back to the clock, which is still unique per run. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t sm = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
        seed = splitmix64(&sm);
    }
    return seed;
}

static uint64_t load_le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = rotl64(v1, 13);                                                                       \
        v1 ^= v0;                                                                                  \
        v0 = rotl64(v0, 32);                                                                       \
        v2 += v3;                                                                                  \
        v3 = rotl64(v3, 16);                                                                       \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = rotl64(v3, 21);                                                                       \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = rotl64(v1, 17);                                                                       \
        v1 ^= v2;                                                                                  \
        v2 = rotl64(v2, 32);                                                                       \
    } while (0)

uint64_t mg_siphash24(const uint8_t key[16], const void *data, size_t len) {
    const uint8_t *in = data;
    uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
    uint64_t v0 = 0x736f6d6570736575ull ^ k0;
    uint64_t v1 = 0x646f72616e646f6dull ^ k1;
    uint64_t v2 = 0x6c7967656e657261ull ^ k0;
    uint64_t v3 = 0x7465646279746573ull ^ k1;
    size_t full = len - (len % 8);
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = load_le64(in + i);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    uint8_t tail[8] = {0};
    memcpy(tail, in + full, len - full);
    uint64_t b = ((uint64_t)len << 56) | load_le64(tail);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}
