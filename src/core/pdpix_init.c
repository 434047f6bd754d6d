/* core/pdpix_init.c — demi_init and margay_shutdown: bringing the process's runtime up
 * and down, and the check every other PDPIX call makes that it is up.
 *
 * demi_init reads the configuration (file, then environment), picks the libOS it names
 * and makes the new runtime current. Every failure is one log line that says what to
 * change. */
#include <demi/libos.h>
#include <margay/margay.h>

#include "core/log.h"
#include "core/pdpix_internal.h"
#include "core/sim_hooks.h"

#include <errno.h>
#include <string.h>

#define DEFAULT_LIBOS "posix"

/* Set only by the simulator (see sim_hooks.h); like the current runtime, this is
 * PDPIX-layer state, never the stack's. */
static struct mg_rt_sim_hooks sim_hooks;
static bool sim_hooks_set;

void mg_rt_set_sim_hooks(const struct mg_rt_sim_hooks *hooks) {
    sim_hooks_set = hooks != NULL;
    if (hooks)
        sim_hooks = *hooks;
}

const struct mg_rt_sim_hooks *mg_rt_get_sim_hooks(void) {
    return sim_hooks_set ? &sim_hooks : NULL;
}

static int sim_init(const struct demi_args *args) {
    struct mg_rt *rt = NULL;
    int err = sim_hooks.init(sim_hooks.ctx, args, &rt);
    if (err == 0)
        mg_rt_set_current(rt);
    return err;
}

struct mg_rt *mg_pdpix_runtime(const char *fn) {
    struct mg_rt *rt = mg_rt_current();
    if (!rt)
        MG_ERROR("pdpix", "%s called before demi_init", fn);
    return rt;
}

int mg_pdpix_resolve_qd(const char *fn, bool pointers_given, int qd, struct mg_rt **rt_out, struct mg_queue **q_out) {
    struct mg_rt *rt = mg_pdpix_runtime(fn);
    if (!rt)
        return EPERM;
    if (!pointers_given)
        return EINVAL;
    struct mg_queue *q = mg_qd_table_lookup(&rt->qds, qd);
    if (!q)
        return EBADF;
    *rt_out = rt;
    *q_out = q;
    return 0;
}

static const struct mg_libos_ops *select_libos(const char *requested) {
    const char *name = requested[0] ? requested : DEFAULT_LIBOS;
    const struct mg_libos_ops *ops = mg_libos_find(name);
    if (ops)
        return ops;
    char available[256];
    mg_libos_list(available, sizeof(available));
    if (mg_libos_canonical_name(name))
        MG_ERROR("pdpix",
                 "demi_init: libOS '%s' is not built into this library (available: %s); rebuild with its "
                 "dependencies or set margay.libos / DEMI_LIBOS to one of those",
                 name, available);
    else
        MG_ERROR("pdpix",
                 "demi_init: unknown libOS '%s' (available: %s; Demikernel aliases catnap, catnip, "
                 "catpowder, catmint are accepted)",
                 name, available);
    return NULL;
}

static bool args_valid(const struct demi_args *args) {
    if (args->argc < 0)
        return false;
    return args->argc == 0 || args->argv != NULL;
}

int demi_init(const struct demi_args *args) {
    if (!args || !args_valid(args))
        return EINVAL;
    if (sim_hooks_set && sim_hooks.init)
        return sim_init(args);
    if (mg_rt_current()) {
        MG_WARN("pdpix", "demi_init called twice; margay is already running");
        return EEXIST;
    }
    mg_log_init_from_env();
    struct mg_config cfg;
    char err[512] = "";
    memset(&cfg, 0, sizeof(cfg));
    int rc = mg_config_load_default(&cfg, err, sizeof(err));
    if (rc < 0) {
        MG_ERROR("pdpix", "demi_init: configuration: %s", err[0] ? err : strerror(-rc));
        mg_config_free(&cfg);
        return mg_pdpix_errno(rc);
    }
    if (cfg.log_level >= MG_LOG_ERROR && cfg.log_level <= MG_LOG_TRACE)
        mg_log_set_level((enum mg_log_level)cfg.log_level);
    const struct mg_libos_ops *libos = select_libos(cfg.libos);
    if (!libos) {
        mg_config_free(&cfg);
        return EINVAL;
    }
    struct mg_rt_params params = {.libos = libos, .cfg = &cfg, .clock = NULL, .libos_arg = NULL};
    struct mg_rt *rt = NULL;
    rc = mg_rt_create(&params, &rt);
    mg_config_free(&cfg);
    if (rc < 0)
        return mg_pdpix_errno(rc);
    mg_rt_set_current(rt);
    MG_INFO("pdpix", "margay started with the %s libOS", libos->name);
    return 0;
}

int margay_shutdown(void) {
    struct mg_rt *rt = mg_rt_current();
    if (!rt)
        return EPERM;
    if (sim_hooks_set && sim_hooks.shutdown) {
        mg_rt_set_current(NULL);
        return sim_hooks.shutdown(sim_hooks.ctx, rt);
    }
    mg_rt_destroy(rt);
    mg_rt_set_current(NULL);
    return 0;
}
