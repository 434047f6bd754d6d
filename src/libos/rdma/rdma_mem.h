/* libos/rdma/rdma_mem.h — the rdma libOS's registered memory: one arena allocated and
 * registered with the device once, at start-up, from which come the buffers of
 * demi_sgaalloc and the receive buffers. A push of such a buffer posts it as it is
 * (zero copy), and a pop hands the receive buffer itself to the application, which may
 * push it back without a copy.
 *
 * Buffers come in power-of-two size classes from 4 KiB up; a class's free buffers are
 * kept on its list and new ones are carved from the arena's unused end. Freed blocks
 * stay in their class (no coalescing), which suits the few sizes a datapath uses. No
 * verbs here: the caller registers [base, base + size) and keeps the key. */
#ifndef MARGAY_LIBOS_RDMA_MEM_H
#define MARGAY_LIBOS_RDMA_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define MG_RDMA_MEM_MIN_SHIFT 12u /* 4 KiB: the smallest class and the arena's granule */
#define MG_RDMA_MEM_MAX_SHIFT 26u /* 64 MiB: MG_SGA_MAX_SIZE */
#define MG_RDMA_MEM_CLASSES (MG_RDMA_MEM_MAX_SHIFT - MG_RDMA_MEM_MIN_SHIFT + 1u)

struct mg_rdma_mem;

/* An arena of `bytes` (rounded up to 4 KiB), page-aligned. NULL when out of memory. */
struct mg_rdma_mem *mg_rdma_mem_create(size_t bytes);
/* Frees the arena; buffers still held by the application are lost (logged). */
void mg_rdma_mem_destroy(struct mg_rdma_mem *m);
uint8_t *mg_rdma_mem_base(const struct mg_rdma_mem *m);
size_t mg_rdma_mem_size(const struct mg_rdma_mem *m);
/* A buffer with room for `size` bytes (data at its first byte, len 0), or NULL when
 * the arena has no room for it or size is 0 or beyond the largest class. */
struct mg_buf *mg_rdma_mem_alloc(struct mg_rdma_mem *m, size_t size);
/* Whether b lives in this arena (so its bytes are registered). */
bool mg_rdma_mem_owns(const struct mg_rdma_mem *m, const struct mg_buf *b);
/* Buffers held outside the arena's free lists (allocated and not yet freed). */
uint32_t mg_rdma_mem_in_use(const struct mg_rdma_mem *m);
/* Bytes of the arena not yet carved into any class. */
size_t mg_rdma_mem_uncarved(const struct mg_rdma_mem *m);

#endif /* MARGAY_LIBOS_RDMA_MEM_H */
