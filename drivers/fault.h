/* drivers/fault.h — margay's one fault model, and the netdev wrapper that applies it.
 *
 * The model decides, per frame, from a seeded random source and the clock: lost
 * (independently or in Gilbert–Elliott bursts), dropped by a full rate-limited queue
 * (tail drop) or for exceeding the MTU, duplicated, corrupted (one bit flipped, which
 * the checksums must catch), and when it arrives (latency, jitter, serialization at a
 * bandwidth, reordering by holding a frame back). The simulator's links and the
 * wrapper both call mg_fault_decide, so a fault seen in simulation is the same fault
 * injected in front of a real device: one implementation, not two. */
#ifndef MARGAY_DRIVERS_FAULT_H
#define MARGAY_DRIVERS_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/random.h"
#include "inet/netdev.h"

struct mg_fault_params {
    double loss;             /* independent loss probability, 0..1 */
    bool burst;              /* Gilbert–Elliott two-state loss on top */
    double burst_enter;      /* P(good -> bad) per frame */
    double burst_exit;       /* P(bad -> good) per frame */
    double burst_loss;       /* loss probability while bad */
    double duplicate;        /* probability of sending a frame twice */
    double corrupt;          /* probability of flipping one bit */
    double reorder;          /* probability of holding a frame back by reorder_delay_ns */
    uint64_t reorder_delay_ns;
    uint64_t delay_ns;       /* base one-way latency */
    uint64_t jitter_ns;      /* uniform extra latency in [0, jitter_ns] */
    uint64_t rate_bps;       /* 0 = unlimited; otherwise frames serialize at this rate */
    uint32_t queue_bytes;    /* with rate_bps: bytes that may wait; beyond: tail drop (0 = 64 KiB) */
    uint32_t mtu;            /* frames longer than mtu + 14 are dropped; 0 = no limit */
};

enum mg_fault_drop { MG_FAULT_KEEP = 0, MG_FAULT_LOST, MG_FAULT_QUEUE_FULL, MG_FAULT_TOO_BIG, MG_FAULT_PARTITIONED };

struct mg_fault_verdict {
    enum mg_fault_drop drop;
    unsigned copies;              /* 1, or 2 when duplicated */
    uint64_t deliver_at_ns[2];    /* per copy */
    bool corrupt;                 /* flip bit corrupt_bit of the first copy */
    uint32_t corrupt_bit;
};

struct mg_fault_stats {
    uint64_t frames, delivered, lost, queue_drops, too_big, partitioned;
    uint64_t duplicated, corrupted, reordered;
};

struct mg_fault_state {
    struct mg_fault_params params;
    struct mg_rand rand;
    bool bad;                 /* Gilbert–Elliott state */
    bool partitioned;         /* everything is dropped while set */
    uint64_t busy_until_ns;   /* when the rate-limited link finishes what it holds */
    struct mg_fault_stats stats;
};

/* Checks parameters (probabilities in 0..1). 0 or -EINVAL. */
int mg_fault_params_check(const struct mg_fault_params *p);
void mg_fault_init(struct mg_fault_state *s, const struct mg_fault_params *p, uint64_t seed);
void mg_fault_set_partitioned(struct mg_fault_state *s, bool partitioned);
/* Decides the fate of one frame of frame_len bytes offered at now_ns. */
void mg_fault_decide(struct mg_fault_state *s, uint64_t now_ns, uint32_t frame_len, struct mg_fault_verdict *out);

/* ---- the wrapper: faults in front of any netdev ---- */
struct mg_fault_wrap_opts {
    struct mg_fault_params tx; /* applied to frames the stack sends */
    struct mg_fault_params rx; /* applied to frames the device receives */
    uint64_t seed;
    uint32_t max_held;         /* frames held for delay/reorder per direction; 0 = 1024 */
    bool borrow_inner;         /* the caller keeps inner: destroying the wrapper leaves it */
};

/* Wraps inner (the wrapper owns it from then on, unless opts->borrow_inner). 0 or a
 * negative errno. */
int mg_fault_wrap(struct mg_netdev *inner, struct mg_clock *clock, const struct mg_fault_wrap_opts *opts,
                  struct mg_netdev **out);
/* The wrapper's per-direction counters; NULL if dev is not a fault wrapper. */
const struct mg_fault_stats *mg_fault_wrap_stats(const struct mg_netdev *dev, bool tx);
/* Starts or ends a partition on both directions. */
int mg_fault_wrap_partition(struct mg_netdev *dev, bool partitioned);

#endif /* MARGAY_DRIVERS_FAULT_H */
