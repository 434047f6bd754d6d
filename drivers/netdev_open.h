/* drivers/netdev_open.h — opening the netdev a configuration names.
 * The inet libOS calls this at demi_init so it never needs to know which devices a
 * build contains: margay.netdev says "dpdk" (or is empty while dpdk.eal_init is set)
 * for a DPDK port, "dpdk:<port>" for a given port, and later drivers add their own
 * names here. */
#ifndef MARGAY_DRIVERS_NETDEV_OPEN_H
#define MARGAY_DRIVERS_NETDEV_OPEN_H

#include <stddef.h>

struct mg_config;
struct mg_netdev;

/* The device names this build can open, for messages ("dpdk" or "none"). */
const char *mg_netdev_supported(void);

/* Opens the device cfg->netdev names into *out. -ENODEV with a message listing what
 * this build supports when the name is unknown or its driver was not built; any
 * driver's own error otherwise, with one line in err. */
int mg_netdev_open(const struct mg_config *cfg, struct mg_netdev **out, char *err, size_t errlen);

#endif /* MARGAY_DRIVERS_NETDEV_OPEN_H */
