/* core/sim_hooks.h — the two places where the deterministic simulator (sim/) steps
 * into the PDPIX layer, so that an unmodified program runs in simulated time.
 *
 * When hooks are set (only the simulator sets them):
 *  - demi_init does not build a runtime from the configuration: it asks `init` for the
 *    runtime of the simulated host the calling process runs on, and makes it current;
 *  - margay_shutdown hands the runtime back to `shutdown` (the simulator destroys it
 *    after checking it) instead of destroying it;
 *  - demi_wait* never poll the libOS themselves: each round that finds nothing done
 *    calls `block`, which switches to the simulator's scheduler (it polls every host,
 *    delivers frames and advances the virtual clock) and returns when the process may
 *    look again. `repeat` is false the first time one wait blocks, true after. */
#ifndef MARGAY_CORE_SIM_HOOKS_H
#define MARGAY_CORE_SIM_HOOKS_H

#include <demi/types.h>
#include <stdbool.h>
#include <stdint.h>

struct mg_rt;

struct mg_rt_sim_hooks {
    void *ctx;
    /* 0 with *rt_out set, or a positive errno that demi_init returns. */
    int (*init)(void *ctx, const struct demi_args *args, struct mg_rt **rt_out);
    /* 0 or a positive errno that margay_shutdown returns. */
    int (*shutdown)(void *ctx, struct mg_rt *rt);
    /* deadline_ns is absolute on rt's clock; UINT64_MAX = none. */
    void (*block)(void *ctx, struct mg_rt *rt, uint64_t deadline_ns, bool repeat);
};

/* Installs hooks (copied), or removes them with NULL. */
void mg_rt_set_sim_hooks(const struct mg_rt_sim_hooks *hooks);
/* The installed hooks, NULL when none. */
const struct mg_rt_sim_hooks *mg_rt_get_sim_hooks(void);

#endif /* MARGAY_CORE_SIM_HOOKS_H */
