/* tests/unit/pipe_libos.h — an in-memory libOS for testing the core without sockets.
 *
 * Sockets are in-process pipes: a connect to a listening socket's port makes a pair;
 * a push on a connected socket makes its bytes poppable on the peer, and on an
 * unconnected socket on itself (loopback), so one queue is enough for many tests.
 * Operations complete only inside poll(), in the order they were started (a pop waits
 * until data or end of stream arrives), which makes completion order and timeouts
 * testable. When given a manual clock, an idle poll advances it by the time it was
 * allowed to block, so timeouts pass in virtual time. */
#ifndef MARGAY_TESTS_PIPE_LIBOS_H
#define MARGAY_TESTS_PIPE_LIBOS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/runtime.h"

struct pipe_options {
    struct mg_clock *advance_clock; /* manual clock an idle poll advances; NULL: sleep briefly */
    bool forget_on_close;           /* close drops pending ops without failing them (tests the core's net) */
    uint32_t pool_buffers;          /* with pipe_pool_libos: buffers in the sgaalloc pool */
    uint32_t pool_buffer_size;      /* with pipe_pool_libos: data room per buffer */
};

/* Buffers from the core's heap (buf_alloc NULL). */
extern const struct mg_libos_ops pipe_libos;
/* Buffers for demi_sgaalloc from a small heap pool (buf_alloc set). */
extern const struct mg_libos_ops pipe_pool_libos;

/* How many times poll ran, and how many sockets are open (leak checks). */
uint64_t pipe_poll_count(void *state);
int pipe_open_sockets(void *state);

/* Builds a runtime over the pipe libOS with default configuration and makes it current. */
struct mg_rt *pipe_rt_create(const struct mg_libos_ops *ops, const struct pipe_options *opts, struct mg_clock *clock);
/* The same over `clock`, made manual at 1 s and advanced by idle polls (the
 * advance_clock option; opts, which may be NULL, gives the others). */
struct mg_rt *pipe_rt_create_manual(const struct mg_libos_ops *ops, const struct pipe_options *opts,
                                    struct mg_clock *clock);

#endif /* MARGAY_TESTS_PIPE_LIBOS_H */
