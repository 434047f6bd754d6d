/* core/clock.h — the time source every timer and timeout reads.
 * Time is injected (DESIGN.md rule 3): a stack reads its clock, never the system's,
 * so tests drive a manual clock and the simulator a virtual one, and a run is
 * reproducible. Times are nanoseconds from an arbitrary origin. */
#ifndef MARGAY_CORE_CLOCK_H
#define MARGAY_CORE_CLOCK_H

#include <stdint.h>

struct mg_clock {
    uint64_t (*now)(struct mg_clock *clock);
    uint64_t manual_ns; /* the time, for manual clocks */
    void *ctx;          /* for clocks owned by someone else (the simulator) */
};

#define MG_NS_PER_US 1000ull
#define MG_NS_PER_MS 1000000ull
#define MG_NS_PER_S 1000000000ull

/* CLOCK_MONOTONIC. */
void mg_clock_init_monotonic(struct mg_clock *clock);
/* A clock that moves only when told to. */
void mg_clock_init_manual(struct mg_clock *clock, uint64_t start_ns);
void mg_clock_set(struct mg_clock *clock, uint64_t now_ns);
void mg_clock_advance(struct mg_clock *clock, uint64_t delta_ns);

static inline uint64_t mg_clock_now(struct mg_clock *clock) { return clock->now(clock); }

#endif /* MARGAY_CORE_CLOCK_H */
