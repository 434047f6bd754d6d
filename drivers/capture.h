/* drivers/capture.h — the capture tap: a netdev wrapper that records every frame in
 * and out of the netdev it wraps to pcapng, with direction flags and timestamps from
 * the stack's clock (virtual time in the simulator, so a capture of a simulated run
 * is reproducible). Bounded: a size limit per file, with rotation or a stop. It is a
 * wrapper, so a netdev without it pays nothing. */
#ifndef MARGAY_DRIVERS_CAPTURE_H
#define MARGAY_DRIVERS_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/clock.h"
#include "inet/netdev.h"

struct mg_capture_opts {
    const char *path;        /* the file; older rotated files are path.1, path.2, ... */
    uint64_t max_file_bytes; /* 0 = unlimited */
    uint32_t max_files;      /* files kept when rotating; 0 or 1 = stop capturing when full */
    uint32_t snaplen;        /* bytes kept per frame; 0 = 65535 */
    bool borrow_inner;       /* the caller keeps owning inner (destroy leaves it alone) */
};

struct mg_capture_stats {
    uint64_t frames_in, frames_out; /* recorded */
    uint64_t frames_skipped;        /* not recorded: capture stopped at its limit */
    uint64_t write_errors;          /* the file could not be written: capture stopped */
    uint64_t rotations;
};

/* Wraps inner; the wrapper owns inner from then on (destroying it destroys inner)
 * unless opts->borrow_inner.
 * clock NULL: timestamps from CLOCK_REALTIME. 0 or a negative errno (file errors). */
int mg_capture_wrap(struct mg_netdev *inner, struct mg_clock *clock, const struct mg_capture_opts *opts,
                    struct mg_netdev **out);
/* The wrapper's counters; NULL if dev is not a capture wrapper. */
const struct mg_capture_stats *mg_capture_stats(const struct mg_netdev *dev);
/* Writes buffered records out (also done on destroy and on rotation). */
int mg_capture_flush(struct mg_netdev *dev);

#endif /* MARGAY_DRIVERS_CAPTURE_H */
