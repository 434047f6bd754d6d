/* drivers/netdev_open.h — opening the netdev a configuration names, and the wrappers
 * the configuration puts around it (fault injection: margay.fault).
 * The inet libOS calls this at demi_init so it never needs to know which devices a
 * build contains: margay.netdev says "dpdk" (or is empty while dpdk.eal_init is set)
 * for a DPDK port, "dpdk:<port>" for a given port, and later drivers add their own
 * names here. */
#ifndef MARGAY_DRIVERS_NETDEV_OPEN_H
#define MARGAY_DRIVERS_NETDEV_OPEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mg_clock;
struct mg_config;
struct mg_netdev;

/* The device names this build can open, for messages ("dpdk" or "none"). */
const char *mg_netdev_supported(void);

/* Opens the device cfg->netdev names into *out. -ENODEV with a message listing what
 * this build supports when the name is unknown or its driver was not built; any
 * driver's own error otherwise, with one line in err. */
int mg_netdev_open(const struct mg_config *cfg, struct mg_netdev **out, char *err, size_t errlen);

/* With margay.fault set (mg_config_fault_enabled), replaces *dev with the fault
 * wrapper (drivers/fault.h) around it, configured from margay.fault.tx and .rx and
 * seeded with margay.fault.seed, or with fallback_seed when that is 0. The wrapper
 * owns *dev unless borrow_inner. Without margay.fault it leaves *dev alone. 0, or a
 * negative errno with one line in err. */
int mg_netdev_wrap_faults(const struct mg_config *cfg, struct mg_clock *clock, uint64_t fallback_seed,
                          bool borrow_inner, struct mg_netdev **dev, char *err, size_t errlen);

#endif /* MARGAY_DRIVERS_NETDEV_OPEN_H */
