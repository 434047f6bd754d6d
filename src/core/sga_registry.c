/* core/sga_registry.c — the set of buffers the application currently owns.
 *
 * demi_sgaalloc and completed pops hand buffers to the application; demi_sgafree must
 * accept exactly those, once. Looking the array's sga_buf up here, by pointer value,
 * is what lets a NULL, forged or already freed array be refused with EINVAL without
 * reading the memory it points to. A buffer handed out twice (a libOS may return the
 * same buffer from two pops, each with its own reference) is counted, not duplicated. */
#include "core/rt_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint32_t hash_ptr(const void *p, uint32_t cap) {
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (uint32_t)x & (cap - 1);
}

int mg_sga_registry_init(struct mg_sga_registry *r, uint32_t initial_cap) {
    uint32_t cap = 16;
    while (cap < initial_cap && cap < (1u << 30))
        cap <<= 1;
    r->slots = calloc(cap, sizeof(*r->slots));
    if (!r->slots)
        return -ENOMEM;
    r->cap = cap;
    r->used = 0;
    return 0;
}

void mg_sga_registry_fini(struct mg_sga_registry *r) {
    for (uint32_t i = 0; i < r->cap; i++) {
        struct mg_sga_entry *e = &r->slots[i];
        for (; e->buf && e->count > 0; e->count--)
            mg_buf_free(e->buf);
    }
    free(r->slots);
    memset(r, 0, sizeof(*r));
}

static struct mg_sga_entry *find(const struct mg_sga_registry *r, const void *buf) {
    for (uint32_t i = hash_ptr(buf, r->cap);; i = (i + 1) & (r->cap - 1)) {
        struct mg_sga_entry *e = &r->slots[i];
        if (e->buf == buf)
            return e;
        if (!e->buf)
            return NULL;
    }
}

static void insert_fresh(struct mg_sga_entry *slots, uint32_t cap, struct mg_buf *buf, uint32_t count) {
    uint32_t i = hash_ptr(buf, cap);
    while (slots[i].buf)
        i = (i + 1) & (cap - 1);
    slots[i].buf = buf;
    slots[i].count = count;
}

/* Keeps the load at or below one half, so probe sequences stay short. */
static int grow(struct mg_sga_registry *r) {
    if (r->cap >= (1u << 30))
        return -ENOMEM;
    uint32_t ncap = r->cap * 2;
    struct mg_sga_entry *ns = calloc(ncap, sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    for (uint32_t i = 0; i < r->cap; i++)
        if (r->slots[i].buf)
            insert_fresh(ns, ncap, r->slots[i].buf, r->slots[i].count);
    free(r->slots);
    r->slots = ns;
    r->cap = ncap;
    return 0;
}

int mg_sga_registry_add(struct mg_sga_registry *r, struct mg_buf *buf) {
    if (!buf)
        return -EINVAL;
    struct mg_sga_entry *e = find(r, buf);
    if (e) {
        e->count++;
        return 0;
    }
    if ((r->used + 1) * 2 > r->cap) {
        int rc = grow(r);
        if (rc < 0)
            return rc;
    }
    insert_fresh(r->slots, r->cap, buf, 1);
    r->used++;
    return 0;
}

bool mg_sga_registry_contains(const struct mg_sga_registry *r, const void *buf) {
    return buf != NULL && find(r, buf) != NULL;
}

/* Backward-shift deletion: moves later members of the probe run into the hole so that
 * lookups never stop early at it. */
static void delete_at(struct mg_sga_registry *r, uint32_t hole) {
    uint32_t mask = r->cap - 1;
    for (uint32_t j = (hole + 1) & mask; r->slots[j].buf; j = (j + 1) & mask) {
        uint32_t home = hash_ptr(r->slots[j].buf, r->cap);
        /* The entry at j may move to the hole only if its home is not in (hole, j]. */
        bool home_between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!home_between) {
            r->slots[hole] = r->slots[j];
            hole = j;
        }
    }
    r->slots[hole].buf = NULL;
    r->slots[hole].count = 0;
    r->used--;
}

int mg_sga_registry_remove(struct mg_sga_registry *r, const void *buf) {
    if (!buf)
        return -ENOENT;
    struct mg_sga_entry *e = find(r, buf);
    if (!e)
        return -ENOENT;
    if (--e->count == 0)
        delete_at(r, (uint32_t)(e - r->slots));
    return 0;
}
