/* drivers/netdev_open.c — maps margay.netdev to a driver, so the inet libOS opens its
 * device without knowing which drivers this build contains. */
#include "config.h"

#include "drivers/netdev_open.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
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
