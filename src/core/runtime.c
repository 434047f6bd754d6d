/* core/runtime.c — creating and tearing down a runtime, and what a libOS reaches
 * through it (config, clock, random source, queue descriptors).
 *
 * The one global of the core lives here: the current runtime that the PDPIX calls act
 * on. demi_init sets it; the simulator switches it between its hosts (DESIGN.md rule
 * 2); nothing below the PDPIX layer reads it. */
#include "core/log.h"
#include "core/rt_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RT_INITIAL_QUEUES 64
#define RT_INITIAL_OPS 1024
#define RT_INITIAL_SGAS 1024

static struct mg_rt *current_rt;

struct mg_rt *mg_rt_current(void) {
    return current_rt;
}
void mg_rt_set_current(struct mg_rt *rt) {
    current_rt = rt;
}

const struct mg_config *mg_rt_config(struct mg_rt *rt) {
    return &rt->cfg;
}
struct mg_clock *mg_rt_clock(struct mg_rt *rt) {
    return rt->clock;
}
struct mg_rand *mg_rt_rand(struct mg_rt *rt) {
    return &rt->rand;
}
void *mg_rt_libos_state(struct mg_rt *rt) {
    return rt->libos_state;
}

int mg_rt_qd_alloc(struct mg_rt *rt, void *sock) {
    if (!rt)
        return -EINVAL;
    return mg_qd_table_alloc(&rt->qds, sock);
}

/* The runtime owns its copy of the configuration, including the EAL arguments, so
 * the caller may free its own at once. */
static int copy_config(struct mg_config *dst, const struct mg_config *src) {
    *dst = *src;
    memset(dst->eal_args, 0, sizeof(dst->eal_args));
    dst->eal_argc = 0;
    int argc = src->eal_argc;
    if (argc < 0 || argc > MG_CONFIG_MAX_EAL_ARGS)
        return -EINVAL;
    for (int i = 0; i < argc; i++) {
        if (!src->eal_args[i])
            break;
        dst->eal_args[i] = strdup(src->eal_args[i]);
        if (!dst->eal_args[i])
            return -ENOMEM;
        dst->eal_argc = i + 1;
    }
    return 0;
}

static bool libos_usable(const struct mg_libos_ops *ops) {
    return ops && ops->name && ops->poll && ops->close && ops->socket;
}

/* Everything but the libOS: what mg_rt_destroy's release_tables undoes. */
static int build_tables(struct mg_rt *rt, const struct mg_rt_params *params) {
    if (params->cfg) {
        int rc = copy_config(&rt->cfg, params->cfg);
        if (rc < 0)
            return rc;
    } else {
        mg_config_defaults(&rt->cfg);
    }
    if (params->clock) {
        rt->clock = params->clock;
    } else {
        mg_clock_init_monotonic(&rt->own_clock);
        rt->clock = &rt->own_clock;
    }
    /* An explicit seed (even 0) makes the run reproducible; otherwise the OS picks. */
    bool seeded = rt->cfg.seed_set || rt->cfg.seed != 0;
    mg_rand_seed(&rt->rand, seeded ? rt->cfg.seed : mg_rand_os_seed());
    int rc = mg_qd_table_init(&rt->qds, RT_INITIAL_QUEUES);
    if (rc == 0)
        rc = mg_op_table_init(&rt->ops, RT_INITIAL_OPS);
    if (rc == 0)
        rc = mg_sga_registry_init(&rt->sgas, RT_INITIAL_SGAS);
    return rc;
}

static void release_tables(struct mg_rt *rt) {
    mg_sga_registry_fini(&rt->sgas);
    mg_op_table_fini(&rt->ops);
    mg_qd_table_fini(&rt->qds);
    mg_config_free(&rt->cfg);
}

int mg_rt_create(const struct mg_rt_params *params, struct mg_rt **rt_out) {
    if (!params || !rt_out)
        return -EINVAL;
    if (!libos_usable(params->libos)) {
        MG_ERROR("core", "mg_rt_create: the libOS table is missing (needs name, socket, close and poll)");
        return -EINVAL;
    }
    struct mg_rt *rt = calloc(1, sizeof(*rt));
    if (!rt)
        return -ENOMEM;
    int rc = build_tables(rt, params);
    if (rc < 0) {
        release_tables(rt);
        free(rt);
        return rc;
    }
    rt->libos = params->libos;
    if (rt->libos->init) {
        rc = rt->libos->init(rt, params->libos_arg, &rt->libos_state);
        if (rc < 0) {
            MG_ERROR("core", "libOS %s failed to start: %s", rt->libos->name, strerror(-rc));
            release_tables(rt);
            free(rt);
            return rc;
        }
    }
    *rt_out = rt;
    return 0;
}

/* Closes every queue the application left open, so the libOS releases its sockets and
 * their pending operations before it is torn down. */
static void close_all_queues(struct mg_rt *rt) {
    for (uint32_t qd = 0; qd < rt->qds.high; qd++) {
        struct mg_queue *q = mg_qd_table_lookup(&rt->qds, (int)qd);
        if (!q)
            continue;
        int rc = rt->libos->close(rt->libos_state, q->sock);
        if (rc < 0)
            MG_WARN("core", "closing qd %u at teardown: %s", qd, strerror(-rc));
        mg_op_cancel_queue(rt, (int)qd);
        mg_qd_table_release(&rt->qds, (int)qd);
    }
}

void mg_rt_destroy(struct mg_rt *rt) {
    if (!rt)
        return;
    if (current_rt == rt)
        current_rt = NULL;
    close_all_queues(rt);
    /* Buffers the application never freed go back to their pools while the libOS (which
     * may own those pools) still exists. */
    mg_sga_registry_fini(&rt->sgas);
    if (rt->libos->fini)
        rt->libos->fini(rt->libos_state);
    release_tables(rt);
    free(rt);
}
