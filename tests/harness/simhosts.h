/* tests/harness/simhosts.h — N simulated hosts for tests: each a full margay runtime
 * with the inet libOS, all on one simulated Ethernet link and one manual clock.
 *
 * Host i has address 10.0.0.(i+1)/24 and MAC 02:00:00:00:00:(i+1). Tests drive the
 * hosts through PDPIX (switch with simhosts_use, then demi_socket/bind/push/pop...)
 * and let simulated time pass with simhosts_run_until / simhosts_wait, which poll
 * every host and, when nothing happens, jump the clock to the next event (a timer
 * of some host or a frame arriving). Everything is deterministic for a seed. */
#ifndef MARGAY_TESTS_SIMHOSTS_H
#define MARGAY_TESTS_SIMHOSTS_H

#include <demi/types.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/runtime.h"
#include "inet/inet.h"
#include "sim/link.h"

#define SIMHOSTS_MAX 16

struct simhost {
    struct mg_rt *rt;
    struct mg_netdev *dev; /* owned by the host's stack */
    uint32_t addr;         /* host byte order */
    uint8_t mac[6];
    unsigned index;
};

struct simhosts_params {
    unsigned n;          /* 1..SIMHOSTS_MAX */
    uint64_t seed;       /* link seed; host i's runtime gets seed + i + 1 */
    uint64_t latency_ns; /* one-way latency of every path; 0 = 10 us */
    double loss;         /* loss probability of every path */
    bool static_arp;     /* every host knows every other's MAC (no ARP traffic) */
    uint32_t caps;       /* MG_NETDEV_CAP_* of every endpoint (offload emulation) */
    mg_sim_tap_fn tap;   /* optional: every frame on the link */
    void *tap_ctx;
    /* Optional: adjusts host i's configuration after the defaults above. */
    void (*configure)(unsigned i, struct mg_config *cfg, void *ctx);
    void *configure_ctx;
};

struct simhosts {
    struct mg_clock clock; /* manual; starts at 1 s */
    struct mg_sim_link *link;
    unsigned n;
    struct simhost hosts[SIMHOSTS_MAX];
};

/* 0 or a negative errno. */
int simhosts_create(const struct simhosts_params *params, struct simhosts **out);
void simhosts_destroy(struct simhosts *sh);

/* Makes host i the runtime the PDPIX calls act on. */
void simhosts_use(struct simhosts *sh, unsigned i);
/* The stack of host i (for counters and internal calls). */
struct mg_inet *simhosts_inet(struct simhosts *sh, unsigned i);
/* 10.0.0.(i+1) as a sockaddr_in with the given port. */
struct sockaddr_in simhosts_sockaddr(const struct simhosts *sh, unsigned i, uint16_t port);
static inline uint64_t simhosts_now(struct simhosts *sh) {
    return mg_clock_now(&sh->clock);
}

/* Polls every host once, in index order. Returns the events handled. The current
 * runtime is left as it was. */
int simhosts_poll_all(struct simhosts *sh);

typedef bool (*simhosts_pred)(void *ctx);
/* Polls until pred(ctx) holds (0), or until max_sim_ns of simulated time have
 * passed (-ETIMEDOUT; the clock then stands at the deadline). pred may be NULL:
 * run for exactly max_sim_ns. */
int simhosts_run_until(struct simhosts *sh, simhosts_pred pred, void *ctx, uint64_t max_sim_ns);
/* demi_wait for host i's token in simulated time: 0 with *qr filled, ETIMEDOUT, or
 * demi_wait's error (positive errno). Leaves host i current. */
int simhosts_wait(struct simhosts *sh, unsigned i, demi_qtoken_t qt, demi_qresult_t *qr, uint64_t max_sim_ns);

#endif /* MARGAY_TESTS_SIMHOSTS_H */
