/* sim/link.h — the simulated link: a deterministic in-memory Ethernet switch that
 * joins N endpoints, each one a struct mg_netdev a stack can drive.
 *
 * Time is a manual struct mg_clock owned by the caller (the simulator or a test);
 * every random choice (loss) comes from the link's own seeded mg_rand, drawn when a
 * frame is sent, so the same seed and the same sequence of sends give the same
 * deliveries in the same order. A frame is copied when it is sent (the sender's
 * buffer returns to it at once, as a NIC completes a transmit) and copied into the
 * receiver's pool when it is delivered, so the receiver may modify it. Deliveries
 * are ordered by (time, send sequence). Each direction (sender, receiver) has its
 * own latency and loss; frames for broadcast or unknown MACs are flooded, unicast
 * frames go where the MAC is known (every endpoint's own MAC, and with learning
 * whatever source MAC was seen on it). The link emulates the offloads an endpoint
 * advertises: it fills transmit checksums for MG_BUF_TX_* frames and marks received
 * frames MG_BUF_RX_*_CKSUM_GOOD/BAD when the receiver claims the receive caps. */
#ifndef MARGAY_SIM_LINK_H
#define MARGAY_SIM_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"
#include "inet/netdev.h"

struct mg_sim_link;

/* Called for every frame the link sees: `event` says what happened to it. The bytes
 * are the frame as on the wire (checksums filled, short frames padded to 60). */
enum mg_sim_tap_event {
    MG_SIM_TAP_SENT,      /* entered the wire at `time_ns`, from `from` toward `to` */
    MG_SIM_TAP_LOST,      /* lost on the way from `from` to `to` (decided at send) */
    MG_SIM_TAP_DELIVERED, /* handed to `to`'s receive side at `time_ns` */
    MG_SIM_TAP_NO_BUFFER, /* arrived at `to`, whose pool was empty */
};
typedef void (*mg_sim_tap_fn)(void *ctx, enum mg_sim_tap_event event, uint64_t time_ns, unsigned from, unsigned to,
                              const uint8_t *frame, size_t len);

struct mg_sim_link_params {
    struct mg_clock *clock; /* required; the link only reads it */
    uint64_t seed;
    uint64_t latency_ns; /* default one-way latency of every direction */
    double loss;         /* default loss probability of every direction, 0..1 */
    bool learn_macs;     /* also learn source MACs seen on each endpoint */
    mg_sim_tap_fn tap;   /* optional */
    void *tap_ctx;
};

struct mg_sim_endpoint_params {
    uint8_t mac[6];
    uint16_t mtu;       /* IP MTU; 0 = 1500 */
    uint32_t caps;      /* MG_NETDEV_CAP_*: offloads the link emulates for this endpoint */
    uint32_t pool_bufs; /* receive/transmit buffers; 0 = 1024 */
    uint32_t buf_size;  /* bytes per buffer, headroom included; 0 = 2048 */
    uint32_t headroom;  /* 0 = 128 */
    const char *name;   /* NULL = "sim<index>" */
};

struct mg_sim_endpoint_stats {
    uint64_t sent;            /* frames this endpoint put on the wire */
    uint64_t delivered;       /* frames this endpoint received */
    uint64_t lost;            /* frames toward this endpoint the link lost */
    uint64_t dropped_no_buf;  /* frames toward this endpoint its pool could not take */
    uint64_t dropped_too_big; /* frames this endpoint sent that exceeded its MTU */
};

int mg_sim_link_create(const struct mg_sim_link_params *params, struct mg_sim_link **out);
/* Frees the link, frames in flight and the endpoints still attached. Destroy the
 * stacks driving them (or their netdevs) first. */
void mg_sim_link_destroy(struct mg_sim_link *link);

/* Adds an endpoint; *dev_out is its netdev (destroying it detaches the endpoint).
 * Returns the endpoint's index (>= 0) or a negative errno. */
int mg_sim_link_add_endpoint(struct mg_sim_link *link, const struct mg_sim_endpoint_params *params,
                             struct mg_netdev **dev_out);
unsigned mg_sim_link_endpoint_count(const struct mg_sim_link *link);
/* Sets latency and loss of one direction (from -> to). 0 or -EINVAL. */
int mg_sim_link_set_path(struct mg_sim_link *link, unsigned from, unsigned to, uint64_t latency_ns, double loss);
/* Sets every direction out of `from`. */
int mg_sim_link_set_egress(struct mg_sim_link *link, unsigned from, uint64_t latency_ns, double loss);

/* The earliest time a frame in flight arrives anywhere, UINT64_MAX if none. */
uint64_t mg_sim_link_next_delivery(const struct mg_sim_link *link);
/* Frames in flight toward all endpoints. */
size_t mg_sim_link_in_flight(const struct mg_sim_link *link);
const struct mg_sim_endpoint_stats *mg_sim_link_endpoint_stats(const struct mg_sim_link *link, unsigned index);
/* Replaces the tap (NULL to remove). */
void mg_sim_link_set_tap(struct mg_sim_link *link, mg_sim_tap_fn tap, void *ctx);

#endif /* MARGAY_SIM_LINK_H */
