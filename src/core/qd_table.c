/* core/qd_table.c — the queue-descriptor table of a runtime.
 *
 * A qd is an index into a growing array. Released qds go into a min-heap so the next
 * allocation reuses the lowest one, as the kernel does for file descriptors: programs
 * and tests that expect small, dense qds keep working, and a table of tens of
 * thousands of queues costs O(log n) per open and close. */
#include "core/rt_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The largest number of queues one runtime hands out. */
#define MG_QD_MAX (1u << 26)

int mg_qd_table_init(struct mg_qd_table *t, uint32_t initial_cap) {
    memset(t, 0, sizeof(*t));
    if (initial_cap == 0)
        initial_cap = 64;
    t->queues = calloc(initial_cap, sizeof(*t->queues));
    t->free_heap = calloc(initial_cap, sizeof(*t->free_heap));
    if (!t->queues || !t->free_heap) {
        free(t->queues);
        free(t->free_heap);
        memset(t, 0, sizeof(*t));
        return -ENOMEM;
    }
    t->cap = initial_cap;
    t->free_cap = initial_cap;
    return 0;
}

void mg_qd_table_fini(struct mg_qd_table *t) {
    free(t->queues);
    free(t->free_heap);
    memset(t, 0, sizeof(*t));
}

static void heap_swap(uint32_t *h, uint32_t a, uint32_t b) {
    uint32_t tmp = h[a];
    h[a] = h[b];
    h[b] = tmp;
}

static void free_heap_push(struct mg_qd_table *t, uint32_t qd) {
    /* free_cap >= high >= number of released qds, so there is always room. */
    uint32_t i = t->free_count++;
    t->free_heap[i] = qd;
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (t->free_heap[parent] <= t->free_heap[i])
            break;
        heap_swap(t->free_heap, parent, i);
        i = parent;
    }
}

static uint32_t free_heap_pop(struct mg_qd_table *t) {
    uint32_t *h = t->free_heap;
    uint32_t top = h[0];
    h[0] = h[--t->free_count];
    uint32_t i = 0;
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < t->free_count && h[l] < h[m])
            m = l;
        if (r < t->free_count && h[r] < h[m])
            m = r;
        if (m == i)
            break;
        heap_swap(h, i, m);
        i = m;
    }
    return top;
}

/* The free heap is grown first so that free_cap >= cap >= high always holds: every qd
 * ever handed out fits in the heap when released. */
static int grow(struct mg_qd_table *t) {
    if (t->cap >= MG_QD_MAX)
        return -EMFILE;
    uint32_t ncap = t->cap * 2 > MG_QD_MAX ? MG_QD_MAX : t->cap * 2;
    if (t->free_cap < ncap) {
        uint32_t *nh = realloc(t->free_heap, (size_t)ncap * sizeof(*nh));
        if (!nh)
            return -ENOMEM;
        t->free_heap = nh;
        t->free_cap = ncap;
    }
    struct mg_queue *nq = realloc(t->queues, (size_t)ncap * sizeof(*nq));
    if (!nq)
        return -ENOMEM;
    memset(nq + t->cap, 0, (size_t)(ncap - t->cap) * sizeof(*nq));
    t->queues = nq;
    t->cap = ncap;
    return 0;
}

int mg_qd_table_alloc(struct mg_qd_table *t, void *sock) {
    uint32_t qd;
    if (t->free_count > 0) {
        qd = free_heap_pop(t);
    } else {
        if (t->high == t->cap) {
            int rc = grow(t);
            if (rc < 0)
                return rc;
        }
        qd = t->high++;
    }
    struct mg_queue *q = &t->queues[qd];
    q->sock = sock;
    q->pending = NULL;
    q->open = true;
    t->open_count++;
    return (int)qd;
}

struct mg_queue *mg_qd_table_lookup(struct mg_qd_table *t, int qd) {
    if (qd < 0 || (uint32_t)qd >= t->high)
        return NULL;
    struct mg_queue *q = &t->queues[qd];
    return q->open ? q : NULL;
}

void mg_qd_table_release(struct mg_qd_table *t, int qd) {
    struct mg_queue *q = mg_qd_table_lookup(t, qd);
    if (!q)
        return;
    q->open = false;
    q->sock = NULL;
    q->pending = NULL;
    t->open_count--;
    free_heap_push(t, (uint32_t)qd);
}
