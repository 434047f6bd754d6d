/* core/timer.h — one-shot timers on a min-heap, driven by a stack's clock.
 * Timers are embedded in their owners (a TCP connection holds its retransmission,
 * delayed-ACK, persist, keepalive and TIME-WAIT timers), so arming one allocates
 * nothing; the heap array grows only past its start-up capacity. Firing happens
 * only inside mg_timers_run, on the owning thread (DESIGN.md rule 1). */
#ifndef MARGAY_CORE_TIMER_H
#define MARGAY_CORE_TIMER_H

#include <stdbool.h>
#include <stdint.h>

struct mg_timer;
typedef void (*mg_timer_fn)(struct mg_timer *timer, void *arg);

struct mg_timer {
    uint64_t deadline_ns;
    uint64_t seq;         /* arming order: equal deadlines fire first-armed-first */
    uint32_t heap_index;  /* UINT32_MAX when not armed */
    mg_timer_fn fire;
    void *arg;
};

struct mg_timers {
    struct mg_timer **heap;
    uint32_t count, cap;
    uint64_t next_seq;
};

int mg_timers_init(struct mg_timers *timers, uint32_t initial_cap);
void mg_timers_fini(struct mg_timers *timers);

void mg_timer_init(struct mg_timer *timer, mg_timer_fn fire, void *arg);
/* Arms (or re-arms) the timer for an absolute deadline. 0 or -ENOMEM. */
int mg_timer_arm(struct mg_timers *timers, struct mg_timer *timer, uint64_t deadline_ns);
/* Disarms; harmless when not armed. */
void mg_timer_cancel(struct mg_timers *timers, struct mg_timer *timer);
static inline bool mg_timer_armed(const struct mg_timer *t) { return t->heap_index != UINT32_MAX; }
/* Earliest deadline, or UINT64_MAX when nothing is armed. */
uint64_t mg_timers_next_deadline(const struct mg_timers *timers);
/* Fires, in deadline order, every timer due at or before now_ns (a callback may
 * re-arm its own or other timers). Returns how many fired. */
unsigned mg_timers_run(struct mg_timers *timers, uint64_t now_ns);

#endif /* MARGAY_CORE_TIMER_H */
