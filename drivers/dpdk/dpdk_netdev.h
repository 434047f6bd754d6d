/* drivers/dpdk/dpdk_netdev.h — the DPDK netdev: any DPDK ethdev port (a PCI NIC bound
 * to vfio-pci in production, or a vdev such as net_ring, net_pcap, net_tap in CI) seen
 * through struct mg_netdev, with the port's mbufs serving as the stack's mg_bufs so a
 * frame is never copied between the NIC and the stack.
 *
 * DPDK's Environment Abstraction Layer is process-wide: it starts once per process
 * (from the first configuration that opens a port) and every netdev opened afterwards
 * shares it. That, and the set of ports already opened, is the one piece of global
 * state in margay, and it lives here because DPDK itself is global. */
#ifndef MARGAY_DRIVERS_DPDK_NETDEV_H
#define MARGAY_DRIVERS_DPDK_NETDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct mg_config;
struct mg_netdev;

/* Defaults applied when the configuration leaves a value at 0. */
#define MG_DPDK_DEFAULT_RX_DESC 1024
#define MG_DPDK_DEFAULT_TX_DESC 1024
#define MG_DPDK_DEFAULT_MEMPOOL_SIZE 8191
#define MG_DPDK_DEFAULT_LINK_TIMEOUT_MS 10000
/* Frames moved per rte_eth_rx_burst/rte_eth_tx_burst call. */
#define MG_DPDK_BURST 32

/* Starts EAL with argv[0] = "margay" followed by the given arguments (dpdk.eal_init),
 * unless it already runs in this process, in which case the arguments are ignored
 * (the first caller's win) and 0 is returned. A failure is remembered: EAL cannot be
 * started twice, so later calls return the same error and message. On error writes
 * one line into err (naming hugepages and --no-huge when that is the cause). */
int mg_dpdk_eal_init(int argc, char *const argv[], char *err, size_t errlen);
bool mg_dpdk_eal_running(void);
/* Releases EAL's resources at the end of the process (after every netdev is
 * destroyed). EAL cannot start again afterwards. */
void mg_dpdk_eal_cleanup(void);

/* Opens the port named by cfg->dpdk_port (a port id, a PCI address or a vdev name;
 * empty = the first port) with one RX and one TX queue, starting EAL from
 * cfg->eal_args first if needed. Negative errno and one line in err on failure. */
int mg_dpdk_netdev_open(const struct mg_config *cfg, struct mg_netdev **out, char *err, size_t errlen);
/* The same, but the port is given explicitly (overriding cfg->dpdk_port). */
int mg_dpdk_netdev_open_port(const struct mg_config *cfg, const char *port_spec, struct mg_netdev **out, char *err,
                             size_t errlen);

/* Resolves a port spec to a port id: digits = port id; otherwise a device name as
 * DPDK knows it (vdev name, or PCI address with or without the 0000: domain).
 * -ENODEV with a message listing the ports that exist. EAL must be running. */
int mg_dpdk_find_port(const char *spec, uint16_t *port_id, char *err, size_t errlen);

/* The port's own counters (rte_eth_stats) beside the netdev's, and what the driver
 * counts on its own. */
struct mg_dpdk_stats {
    uint64_t ipackets, opackets, ibytes, obytes;
    uint64_t imissed; /* dropped by the NIC: RX ring full */
    uint64_t ierrors, oerrors;
    uint64_t rx_nombuf;           /* the NIC had no mbuf to receive into */
    uint64_t rx_dropped_multiseg; /* chained mbufs (scatter) are not passed to the stack */
    uint64_t rx_copies;           /* frames copied on receive (mbuf still held by a sender) */
    uint64_t tx_dropped_bad;      /* empty frames, bad offload metadata, rte_eth_tx_prepare refusals */
    uint64_t tx_sw_cksum;         /* checksums filled in software for lack of the offload */
    uint32_t mbufs_available;     /* in the mempool, not held by anyone */
    uint32_t mbufs_total;
};

/* True when dev is a DPDK netdev. */
bool mg_dpdk_netdev_is(const struct mg_netdev *dev);
uint16_t mg_dpdk_netdev_port_id(const struct mg_netdev *dev);
/* Reads the port's counters into *out and refreshes dev->stats.rx_dropped_no_buf
 * (= rx_nombuf + imissed). */
int mg_dpdk_netdev_stats(struct mg_netdev *dev, struct mg_dpdk_stats *out);
/* Prints the netdev's counters and the port's counters, one per line. */
void mg_dpdk_netdev_print_stats(struct mg_netdev *dev, FILE *out);

/* Offload flag translation between DPDK's mbuf flags and MG_BUF_*: what the device
 * says on receive, and what the stack asks for on transmit. */
uint32_t mg_dpdk_rx_flags_from_mbuf(uint64_t mbuf_ol_flags);
uint64_t mg_dpdk_tx_flags_to_mbuf(uint32_t mg_ol_flags);

/* Lists every port EAL sees (for `margay info`): id, driver, bus and device name,
 * MAC, link, queue and descriptor limits, offload capabilities by name, MTU range.
 * Returns the number of ports. */
int mg_dpdk_print_ports(FILE *out);

#endif /* MARGAY_DRIVERS_DPDK_NETDEV_H */
