/* core/clock.c — the monotonic and manual clocks behind struct mg_clock. */
#include "core/clock.h"

#include <time.h>

static uint64_t monotonic_now(struct mg_clock *clock) {
    (void)clock;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * MG_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t manual_now(struct mg_clock *clock) { return clock->manual_ns; }

void mg_clock_init_monotonic(struct mg_clock *clock) {
    clock->now = monotonic_now;
    clock->manual_ns = 0;
    clock->ctx = NULL;
}

void mg_clock_init_manual(struct mg_clock *clock, uint64_t start_ns) {
    clock->now = manual_now;
    clock->manual_ns = start_ns;
    clock->ctx = NULL;
}

void mg_clock_set(struct mg_clock *clock, uint64_t now_ns) {
    /* Time never runs backwards: timers and RTT samples rely on it. */
    if (now_ns > clock->manual_ns)
        clock->manual_ns = now_ns;
}

void mg_clock_advance(struct mg_clock *clock, uint64_t delta_ns) { clock->manual_ns += delta_ns; }
