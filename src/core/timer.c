/* core/timer.c — binary min-heap of embedded timers, ordered by (deadline, seq) so
 * equal deadlines fire in arming order: that keeps simulation runs deterministic. */
#include "core/timer.h"

#include <errno.h>
#include <stdlib.h>

static bool timer_before(const struct mg_timer *a, const struct mg_timer *b) {
    if (a->deadline_ns != b->deadline_ns)
        return a->deadline_ns < b->deadline_ns;
    return a->seq < b->seq;
}

static void heap_place(struct mg_timers *ts, uint32_t i, struct mg_timer *t) {
    ts->heap[i] = t;
    t->heap_index = i;
}

static void sift_up(struct mg_timers *ts, uint32_t i) {
    struct mg_timer *t = ts->heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!timer_before(t, ts->heap[parent]))
            break;
        heap_place(ts, i, ts->heap[parent]);
        i = parent;
    }
    heap_place(ts, i, t);
}

static void sift_down(struct mg_timers *ts, uint32_t i) {
    struct mg_timer *t = ts->heap[i];
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= ts->count)
            break;
        if (child + 1 < ts->count && timer_before(ts->heap[child + 1], ts->heap[child]))
            child++;
        if (!timer_before(ts->heap[child], t))
            break;
        heap_place(ts, i, ts->heap[child]);
        i = child;
    }
    heap_place(ts, i, t);
}

int mg_timers_init(struct mg_timers *ts, uint32_t initial_cap) {
    if (initial_cap == 0)
        initial_cap = 64;
    ts->heap = calloc(initial_cap, sizeof(*ts->heap));
    if (!ts->heap)
        return -ENOMEM;
    ts->cap = initial_cap;
    ts->count = 0;
    ts->next_seq = 0;
    return 0;
}

void mg_timers_fini(struct mg_timers *ts) {
    for (uint32_t i = 0; i < ts->count; i++)
        ts->heap[i]->heap_index = UINT32_MAX;
    free(ts->heap);
    ts->heap = NULL;
    ts->count = ts->cap = 0;
}

void mg_timer_init(struct mg_timer *t, mg_timer_fn fire, void *arg) {
    t->deadline_ns = 0;
    t->seq = 0;
    t->heap_index = UINT32_MAX;
    t->fire = fire;
    t->arg = arg;
}

static void heap_remove_at(struct mg_timers *ts, uint32_t i) {
    struct mg_timer *removed = ts->heap[i];
    removed->heap_index = UINT32_MAX;
    ts->count--;
    if (i == ts->count)
        return;
    heap_place(ts, i, ts->heap[ts->count]);
    if (i > 0 && timer_before(ts->heap[i], ts->heap[(i - 1) / 2]))
        sift_up(ts, i);
    else
        sift_down(ts, i);
}

int mg_timer_arm(struct mg_timers *ts, struct mg_timer *t, uint64_t deadline_ns) {
    if (mg_timer_armed(t))
        heap_remove_at(ts, t->heap_index);
    if (ts->count == ts->cap) {
        uint32_t new_cap = ts->cap * 2;
        struct mg_timer **grown = realloc(ts->heap, (size_t)new_cap * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        ts->heap = grown;
        ts->cap = new_cap;
    }
    t->deadline_ns = deadline_ns;
    t->seq = ts->next_seq++;
    ts->heap[ts->count] = t;
    t->heap_index = ts->count;
    ts->count++;
    sift_up(ts, t->heap_index);
    return 0;
}

void mg_timer_cancel(struct mg_timers *ts, struct mg_timer *t) {
    if (!mg_timer_armed(t) || t->heap_index >= ts->count || ts->heap[t->heap_index] != t)
        return;
    heap_remove_at(ts, t->heap_index);
}

uint64_t mg_timers_next_deadline(const struct mg_timers *ts) {
    return ts->count ? ts->heap[0]->deadline_ns : UINT64_MAX;
}

unsigned mg_timers_run(struct mg_timers *ts, uint64_t now_ns) {
    unsigned fired = 0;
    while (ts->count && ts->heap[0]->deadline_ns <= now_ns) {
        struct mg_timer *t = ts->heap[0];
        heap_remove_at(ts, 0);
        fired++;
        t->fire(t, t->arg);
    }
    return fired;
}
