/* inet/netdev.h — the device interface the stack sees.
 * A netdev receives and transmits bursts of struct mg_buf and owns the pool those
 * buffers come from. The stack never knows which netdev it runs on (a DPDK port, a
 * raw socket, the simulator's link, a capture file); wrappers (fault injection,
 * capture tap) take a netdev and return one. Counters here are the device's own;
 * protocol drops are counted by the stack. */
#ifndef MARGAY_INET_NETDEV_H
#define MARGAY_INET_NETDEV_H

#include <stdint.h>

#include "core/buf.h"

/* Capability flags (struct mg_netdev.caps). */
enum {
    MG_NETDEV_CAP_RX_IPV4_CKSUM = 1u << 0,
    MG_NETDEV_CAP_RX_TCP_CKSUM = 1u << 1,
    MG_NETDEV_CAP_RX_UDP_CKSUM = 1u << 2,
    MG_NETDEV_CAP_TX_IPV4_CKSUM = 1u << 3,
    MG_NETDEV_CAP_TX_TCP_CKSUM = 1u << 4,
    MG_NETDEV_CAP_TX_UDP_CKSUM = 1u << 5,
};

struct mg_netdev;

struct mg_netdev_ops {
    /* Receives up to n frames into bufs; returns how many. Ownership passes to the caller. */
    uint16_t (*rx_burst)(struct mg_netdev *dev, struct mg_buf **bufs, uint16_t n);
    /* Transmits up to n frames; returns how many were taken (their ownership passes to
     * the device); the caller keeps and frees the rest. */
    uint16_t (*tx_burst)(struct mg_netdev *dev, struct mg_buf **bufs, uint16_t n);
    /* Earliest time (clock ns) at which rx may have a frame when it has none now, or
     * UINT64_MAX if unknown/never (simulated links know; real devices do not). Optional. */
    uint64_t (*next_rx_ns)(struct mg_netdev *dev);
    /* A file descriptor that becomes readable when frames arrive, or -1. Optional. */
    int (*wait_fd)(struct mg_netdev *dev);
    void (*destroy)(struct mg_netdev *dev);
};

struct mg_netdev_stats {
    uint64_t rx_frames, rx_bytes;
    uint64_t tx_frames, tx_bytes;
    uint64_t rx_dropped_no_buf;   /* no buffer to receive into */
    uint64_t tx_dropped_full;     /* transmit queue full */
    uint64_t tx_dropped_too_big;  /* frame longer than MTU + L2 header */
    uint64_t tx_copies;           /* frames the device had to copy */
};

struct mg_netdev {
    const struct mg_netdev_ops *ops;
    char name[64];
    uint8_t mac[6];
    uint16_t mtu;    /* IP MTU (bytes after the Ethernet header) */
    uint32_t caps;   /* MG_NETDEV_CAP_* */
    struct mg_pool *pool;
    struct mg_netdev_stats stats;
    void *priv;
};

static inline uint16_t mg_netdev_rx(struct mg_netdev *d, struct mg_buf **b, uint16_t n) {
    return d->ops->rx_burst(d, b, n);
}
static inline uint16_t mg_netdev_tx(struct mg_netdev *d, struct mg_buf **b, uint16_t n) {
    return d->ops->tx_burst(d, b, n);
}
static inline void mg_netdev_destroy(struct mg_netdev *d) {
    if (d && d->ops->destroy)
        d->ops->destroy(d);
}

#endif /* MARGAY_INET_NETDEV_H */
