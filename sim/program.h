/* sim/program.h — what it takes to run a user's unmodified PDPIX program in virtual
 * time, shared by the simulator (sim/world.c) and capture replay (pcap/replay.c).
 *
 * A program compiled with margay/sim_program.h runs as a coroutine (sim/coro.h); its
 * demi_init and demi_wait reach its runner through the core's hooks
 * (core/sim_hooks.h), and its exit, clock_gettime and sleeps land here, in the
 * renamed functions this module defines, which ask the runner installed with
 * mg_sim_program_host_set. This module also loads a program from a shared object
 * (`--load prog.so`) and holds the one rule for when a program that gave control back
 * may run again. The scheduling around it (which hosts, which frames, when the clock
 * moves) is each runner's own. */
#ifndef MARGAY_SIM_PROGRAM_H
#define MARGAY_SIM_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The runner of programs, as the programs' renamed libc calls see it. */
struct mg_sim_program_host {
    void *ctx;
    uint64_t (*now_ns)(void *ctx);          /* the virtual clock */
    bool (*in_program)(void *ctx);          /* a program's coroutine is running now */
    void (*exiting)(void *ctx, int status); /* the running program called exit(status) */
    /* Blocks the running program until deadline_ns (a sleep); repeat as in
     * struct mg_rt_sim_hooks.block. Returns when the runner resumes it. */
    void (*sleep)(void *ctx, uint64_t deadline_ns, bool repeat);
};

/* Installs the runner (copied), or removes it with NULL: without one, the programs'
 * exit, clock_gettime and sleeps are the real ones. One runner at a time. */
void mg_sim_program_host_set(const struct mg_sim_program_host *host);

/* Loads a program from a shared object compiled with
 * -include margay/sim_program.h -DMARGAY_SIM_MAIN=margay_sim_main: *main_out is its
 * margay_sim_main, name gets the file's name without directory and ".so" (how the
 * program is called). The object stays loaded until the process ends. 0, or -EINVAL
 * with one line in err. */
int mg_sim_program_load(const char *path, int (**main_out)(int argc, char **argv), char *name, size_t namelen,
                        char *err, size_t errlen);

/* Where a program stood when it last gave control back. */
struct mg_sim_program_wait {
    uint64_t deadline_ns;      /* of the wait or sleep it is in; UINT64_MAX = none */
    bool repeat;               /* blocked again in the same wait: it learned nothing new */
    bool blocked;              /* in demi_wait (not sleeping) */
    uint64_t seen_completions; /* its runtime's completion count when it blocked */
};

/* Whether a program that has not finished may run again now: its deadline is due,
 * it has not blocked yet (or left a sleep), or, blocked in demi_wait, one of its
 * runtime's operations completed since (completions = mg_rt_completion_count now).
 * Anything else would resume it just to block again. */
bool mg_sim_program_may_continue(const struct mg_sim_program_wait *w, uint64_t now_ns, uint64_t completions);

#endif /* MARGAY_SIM_PROGRAM_H */
