/* wire/be.h — big-endian loads and stores for the codecs in src/wire.
 * Wire headers sit at any alignment inside a frame, so every multi-byte field is
 * assembled from single bytes: no pointer casts (UBSan flags unaligned ones) and
 * no dependence on the host's byte order. Compilers turn these into one load and a
 * byte swap. */
#ifndef MARGAY_WIRE_BE_H
#define MARGAY_WIRE_BE_H

#include <stdint.h>

static inline uint16_t mg_be16_load(const uint8_t *p) {
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t mg_be32_load(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t mg_be64_load(const uint8_t *p) {
    return (uint64_t)mg_be32_load(p) << 32 | mg_be32_load(p + 4);
}

static inline void mg_be16_store(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void mg_be32_store(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

#endif /* MARGAY_WIRE_BE_H */
