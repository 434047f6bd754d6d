/* libos/rdma/rdma_mem.c — size-class allocator over the registered arena (see
 * rdma_mem.h). Buffer descriptors are preallocated, one per 4 KiB granule, so carving
 * and allocating never call malloc. */
#include "libos/rdma/rdma_mem.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define LOG_MODULE "rdma"
#define GRANULE ((size_t)1 << MG_RDMA_MEM_MIN_SHIFT)

struct mem_class {
    struct mg_pool pool; /* first: the pool pointer of a buffer leads back here */
    struct mg_rdma_mem *mem;
    uint32_t shift;
    struct mg_buf *free; /* linked through mg_buf.next */
};

struct mg_rdma_mem {
    uint8_t *base;
    size_t size;
    size_t carved; /* bytes from base handed to classes so far */
    struct mg_buf *descs; /* one per granule; the block starting there uses it */
    struct mem_class classes[MG_RDMA_MEM_CLASSES];
};

static struct mg_buf *class_alloc(struct mg_pool *p) {
    struct mem_class *c = (struct mem_class *)p;
    struct mg_rdma_mem *m = c->mem;
    if (c->free) {
        struct mg_buf *b = c->free;
        c->free = b->next;
        return b;
    }
    size_t block = (size_t)1 << c->shift;
    if (m->size - m->carved < block)
        return NULL;
    struct mg_buf *b = &m->descs[m->carved >> MG_RDMA_MEM_MIN_SHIFT];
    memset(b, 0, sizeof(*b));
    b->base = m->base + m->carved;
    b->cap = (uint32_t)block;
    m->carved += block;
    return b;
}

static void class_release(struct mg_pool *p, struct mg_buf *b) {
    struct mem_class *c = (struct mem_class *)p;
    b->next = c->free;
    c->free = b;
}

static const struct mg_pool_ops class_ops = {.alloc = class_alloc, .release = class_release};

struct mg_rdma_mem *mg_rdma_mem_create(size_t bytes) {
    if (bytes == 0 || bytes > ((size_t)1 << 40))
        return NULL;
    bytes = (bytes + GRANULE - 1) & ~(GRANULE - 1);
    struct mg_rdma_mem *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    void *base = NULL;
    if (posix_memalign(&base, GRANULE, bytes) != 0) {
        free(m);
        return NULL;
    }
    m->descs = calloc(bytes >> MG_RDMA_MEM_MIN_SHIFT, sizeof(*m->descs));
    if (!m->descs) {
        free(base);
        free(m);
        return NULL;
    }
    m->base = base;
    m->size = bytes;
    for (uint32_t i = 0; i < MG_RDMA_MEM_CLASSES; i++) {
        struct mem_class *c = &m->classes[i];
        c->pool.ops = &class_ops;
        c->pool.name = "rdma";
        c->pool.data_room = (uint32_t)1 << (i + MG_RDMA_MEM_MIN_SHIFT);
        c->pool.headroom = 0;
        c->mem = m;
        c->shift = i + MG_RDMA_MEM_MIN_SHIFT;
    }
    return m;
}

uint32_t mg_rdma_mem_in_use(const struct mg_rdma_mem *m) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < MG_RDMA_MEM_CLASSES; i++)
        n += m->classes[i].pool.in_use;
    return n;
}

void mg_rdma_mem_destroy(struct mg_rdma_mem *m) {
    if (!m)
        return;
    uint32_t held = mg_rdma_mem_in_use(m);
    if (held)
        MG_WARN(LOG_MODULE, "%u registered buffers were not freed before shutdown; they are now invalid", held);
    free(m->descs);
    free(m->base);
    free(m);
}

uint8_t *mg_rdma_mem_base(const struct mg_rdma_mem *m) { return m->base; }
size_t mg_rdma_mem_size(const struct mg_rdma_mem *m) { return m->size; }
size_t mg_rdma_mem_uncarved(const struct mg_rdma_mem *m) { return m->size - m->carved; }

struct mg_buf *mg_rdma_mem_alloc(struct mg_rdma_mem *m, size_t size) {
    if (size == 0 || size > ((size_t)1 << MG_RDMA_MEM_MAX_SHIFT))
        return NULL;
    uint32_t shift = MG_RDMA_MEM_MIN_SHIFT;
    while (((size_t)1 << shift) < size)
        shift++;
    return mg_buf_alloc(&m->classes[shift - MG_RDMA_MEM_MIN_SHIFT].pool);
}

bool mg_rdma_mem_owns(const struct mg_rdma_mem *m, const struct mg_buf *b) {
    const struct mg_pool *p = b->pool;
    return p && p->ops == &class_ops && ((const struct mem_class *)p)->mem == m;
}
