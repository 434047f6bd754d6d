/* core/buf.c — packet buffer reference counting, headroom arithmetic, the heap pool
 * (fixed-size buffers carved from one allocation, free list, no malloc after
 * creation) and one-off heap buffers for arrays larger than a pool buffer. */
#include "core/buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Buffers [fresh, count) have never been handed out: their descriptors and storage
 * are not touched until they are, so a pool sized for the worst case costs only the
 * pages its busiest moment used. Freed buffers are reused first, most recent first
 * (warm in cache), then the lowest fresh one: the order a stack filled with every
 * buffer, buffer 0 on top, would give. */
struct heap_pool {
    struct mg_pool pool;
    struct mg_buf *descs; /* count descriptors */
    uint8_t *storage;     /* count * data_room bytes */
    struct mg_buf **free; /* stack of freed descriptors */
    uint32_t free_count, count, fresh;
};

static struct mg_buf *heap_pool_alloc(struct mg_pool *p) {
    struct heap_pool *hp = (struct heap_pool *)p;
    if (hp->free_count > 0)
        return hp->free[--hp->free_count];
    if (hp->fresh == hp->count)
        return NULL;
    struct mg_buf *b = &hp->descs[hp->fresh];
    memset(b, 0, sizeof(*b));
    b->base = hp->storage + (size_t)hp->fresh * p->data_room;
    b->cap = p->data_room;
    b->pool = p;
    hp->fresh++;
    return b;
}

static void heap_pool_release(struct mg_pool *p, struct mg_buf *b) {
    struct heap_pool *hp = (struct heap_pool *)p;
    hp->free[hp->free_count++] = b;
}

static const struct mg_pool_ops heap_pool_ops = {.alloc = heap_pool_alloc, .release = heap_pool_release};

struct mg_pool *mg_heap_pool_create(const char *name, uint32_t count, uint32_t data_room, uint32_t headroom) {
    if (count == 0 || data_room <= headroom)
        return NULL;
    struct heap_pool *hp = calloc(1, sizeof(*hp));
    if (!hp)
        return NULL;
    hp->descs = malloc((size_t)count * sizeof(*hp->descs));
    hp->storage = malloc((size_t)count * data_room);
    hp->free = malloc((size_t)count * sizeof(*hp->free));
    if (!hp->descs || !hp->storage || !hp->free) {
        free(hp->descs);
        free(hp->storage);
        free(hp->free);
        free(hp);
        return NULL;
    }
    hp->pool.ops = &heap_pool_ops;
    hp->pool.name = name;
    hp->pool.data_room = data_room;
    hp->pool.headroom = headroom;
    hp->pool.size = count;
    hp->count = count; /* the first allocation returns buffer 0: deterministic */
    return &hp->pool;
}

void mg_heap_pool_destroy(struct mg_pool *p) {
    if (!p)
        return;
    struct heap_pool *hp = (struct heap_pool *)p;
    free(hp->descs);
    free(hp->storage);
    free(hp->free);
    free(hp);
}

struct mg_buf *mg_buf_alloc(struct mg_pool *pool) {
    struct mg_buf *b = pool->ops->alloc(pool);
    if (!b) {
        pool->alloc_failures++;
        return NULL;
    }
    pool->allocs++;
    pool->in_use++;
    b->pool = pool;
    b->data = b->base + pool->headroom;
    b->len = 0;
    b->refcnt = 1;
    b->magic = MG_BUF_MAGIC;
    b->ol_flags = 0;
    b->l2_len = b->l3_len = 0;
    b->next = NULL;
    b->user = 0;
    return b;
}

/* One-off heap buffers: descriptor and storage in one malloc, returned by free(). */
static void heap_buf_release(struct mg_pool *p, struct mg_buf *b) {
    (void)p;
    free(b);
}
static struct mg_buf *heap_buf_no_alloc(struct mg_pool *p) {
    (void)p;
    return NULL;
}
static const struct mg_pool_ops heap_buf_ops = {.alloc = heap_buf_no_alloc, .release = heap_buf_release};
static struct mg_pool heap_buf_pool = {.ops = &heap_buf_ops, .name = "heap", .data_room = 0, .headroom = 0};

struct mg_buf *mg_buf_alloc_heap(size_t size, uint32_t headroom) {
    if (size > UINT32_MAX - headroom - sizeof(struct mg_buf))
        return NULL;
    struct mg_buf *b = malloc(sizeof(*b) + headroom + size);
    if (!b)
        return NULL;
    memset(b, 0, sizeof(*b));
    b->base = (uint8_t *)(b + 1);
    b->cap = (uint32_t)(headroom + size);
    b->data = b->base + headroom;
    b->len = 0;
    b->refcnt = 1;
    b->magic = MG_BUF_MAGIC;
    b->pool = &heap_buf_pool;
    return b;
}

void mg_buf_ref(struct mg_buf *b) { b->refcnt++; }

void mg_buf_free(struct mg_buf *b) {
    if (!b)
        return;
    if (--b->refcnt != 0)
        return;
    struct mg_pool *pool = b->pool;
    b->magic = 0;
    if (pool != &heap_buf_pool) {
        pool->frees++;
        pool->in_use--;
    }
    pool->ops->release(pool, b);
}

uint8_t *mg_buf_prepend(struct mg_buf *b, uint32_t n) {
    if (n > mg_buf_headroom(b))
        return NULL;
    b->data -= n;
    b->len += n;
    return b->data;
}

uint8_t *mg_buf_append(struct mg_buf *b, uint32_t n) {
    if (n > mg_buf_tailroom(b))
        return NULL;
    uint8_t *tail = b->data + b->len;
    b->len += n;
    return tail;
}

int mg_buf_pull(struct mg_buf *b, uint32_t n) {
    if (n > b->len)
        return -EINVAL;
    b->data += n;
    b->len -= n;
    return 0;
}

int mg_buf_trim(struct mg_buf *b, uint32_t new_len) {
    if (new_len > b->len)
        return -EINVAL;
    b->len = new_len;
    return 0;
}
