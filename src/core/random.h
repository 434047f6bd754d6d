/* core/random.h — the seeded random source of a stack instance.
 * Every random choice (ISNs, ephemeral ports, injected faults) draws from one of
 * these, so one seed reproduces a run (DESIGN.md rule 3). Not for cryptography:
 * where unpredictability matters (RFC 6528 ISNs) the seed comes from getrandom()
 * outside simulation and is mixed through a keyed hash. */
#ifndef MARGAY_CORE_RANDOM_H
#define MARGAY_CORE_RANDOM_H

#include <stddef.h>
#include <stdint.h>

struct mg_rand {
    uint64_t s[4];
};

void mg_rand_seed(struct mg_rand *r, uint64_t seed);
uint64_t mg_rand_u64(struct mg_rand *r);
uint32_t mg_rand_u32(struct mg_rand *r);
/* Uniform in [0, bound), bound > 0, without modulo bias. */
uint32_t mg_rand_below(struct mg_rand *r, uint32_t bound);
/* Uniform in [0, 1). */
double mg_rand_unit(struct mg_rand *r);
/* A seed from the operating system (getrandom), for production instances. */
uint64_t mg_rand_os_seed(void);

/* SipHash-2-4 of `len` bytes under a 128-bit key: the keyed hash for RFC 6528 ISNs
 * and SYN-cookie-like uses. */
uint64_t mg_siphash24(const uint8_t key[16], const void *data, size_t len);

#endif /* MARGAY_CORE_RANDOM_H */
