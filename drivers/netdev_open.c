/* drivers/netdev_open.c — maps margay.netdev to a driver, so the inet libOS opens its
 * device without knowing which drivers this build contains, and applies the fault
 * model that margay.fault configures (the same model the simulator's links run). */
#include "config.h"

#include "drivers/netdev_open.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "drivers/fault.h"
#include "inet/netdev.h"

#ifdef HAVE_DPDK
#include "drivers/dpdk/dpdk_netdev.h"
#endif

const char *mg_netdev_supported(void) {
#ifdef HAVE_DPDK
    return "dpdk, dpdk:<port id|PCI address|vdev name>";
#else
    return "none (this build has no netdev drivers: install libdpdk-dev and reconfigure)";
#endif
}

static int open_dpdk(const struct mg_config *cfg, const char *port, struct mg_netdev **out, char *err, size_t errlen) {
#ifdef HAVE_DPDK
    return port ? mg_dpdk_netdev_open_port(cfg, port, out, err, errlen) : mg_dpdk_netdev_open(cfg, out, err, errlen);
#else
    (void)cfg;
    (void)port;
    (void)out;
    snprintf(err, errlen, "margay.netdev 'dpdk': this build has no DPDK (install libdpdk-dev and reconfigure)");
    return -ENODEV;
#endif
}

int mg_netdev_open(const struct mg_config *cfg, struct mg_netdev **out, char *err, size_t errlen) {
    if (!cfg || !out)
        return -EINVAL;
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    const char *name = cfg->netdev;
    if (strcmp(name, "dpdk") == 0 || (name[0] == '\0' && cfg->eal_argc > 0))
        return open_dpdk(cfg, NULL, out, err, errlen);
    if (strncmp(name, "dpdk:", 5) == 0 && name[5] != '\0')
        return open_dpdk(cfg, name + 5, out, err, errlen);
    if (name[0] == '\0')
        snprintf(err, errlen, "no netdev configured: set margay.netdev (supported: %s)", mg_netdev_supported());
    else
        snprintf(err, errlen, "unknown netdev '%s' in margay.netdev (supported: %s)", name, mg_netdev_supported());
    return -ENODEV;
}

static void fault_params_of(const struct mg_config_fault *c, struct mg_fault_params *p) {
    *p = (struct mg_fault_params){
        .loss = c->loss,
        .burst = c->burst_enter > 0,
        .burst_enter = c->burst_enter,
        .burst_exit = c->burst_exit,
        .burst_loss = c->burst_loss,
        .duplicate = c->duplicate,
        .corrupt = c->corrupt,
        .reorder = c->reorder,
        .reorder_delay_ns = c->reorder_delay_ns,
        .delay_ns = c->delay_ns,
        .jitter_ns = c->jitter_ns,
        .rate_bps = c->rate_bps,
        .queue_bytes = c->queue_bytes,
        .mtu = c->mtu,
    };
}

int mg_netdev_wrap_faults(const struct mg_config *cfg, struct mg_clock *clock, uint64_t fallback_seed,
                          bool borrow_inner, struct mg_netdev **dev, char *err, size_t errlen) {
    if (err && errlen)
        err[0] = '\0';
    if (!cfg || !clock || !dev || !*dev)
        return -EINVAL;
    if (!mg_config_fault_enabled(cfg))
        return 0;
    struct mg_fault_wrap_opts opts = {
        .seed = cfg->fault_seed ? cfg->fault_seed : fallback_seed,
        .borrow_inner = borrow_inner,
    };
    fault_params_of(&cfg->fault_tx, &opts.tx);
    fault_params_of(&cfg->fault_rx, &opts.rx);
    struct mg_netdev *wrapped = NULL;
    int rc = mg_fault_wrap(*dev, clock, &opts, &wrapped);
    if (rc) {
        snprintf(err, errlen, "margay.fault: cannot put the fault model in front of %s: %s", (*dev)->name,
                 strerror(-rc));
        return rc;
    }
    /* Loud on purpose: a configuration that breaks the network must never go unnoticed. */
    MG_WARN("netdev", "fault injection on %s (margay.fault, seed %llu): tx loss %g, rx loss %g", (*dev)->name,
            (unsigned long long)opts.seed, opts.tx.loss, opts.rx.loss);
    *dev = wrapped;
    return 0;
}
