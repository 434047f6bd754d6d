/* libos/posix/posix.h — the posix libOS's internal state, shared by its two files.
 *
 * The posix libOS (alias catnap) runs PDPIX over kernel sockets. Every socket is
 * non-blocking and registered once, edge-triggered, with the libOS's epoll instance.
 * Pending operations wait in per-socket FIFO lists; they make progress only inside
 * ops->poll: first for sockets that received a new operation since the last poll (the
 * "dirty" list), then for sockets epoll reports. Nothing here scans all sockets.
 *
 * Edge-triggered epoll is correct here because a socket is retried until the kernel
 * says EAGAIN or it has no pending operation left; in the second case the next
 * submitted operation marks the socket dirty, so it is retried without an edge. */
#ifndef MARGAY_LIBOS_POSIX_H
#define MARGAY_LIBOS_POSIX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "core/runtime.h"

/* Largest read a pop does (the size of the returned buffer at most). */
#define MG_POSIX_POP_MAX (64u * 1024u)
/* epoll events fetched per poll. */
#define MG_POSIX_EVENT_BATCH 256

/* A FIFO of operations, linked through mg_op.libos_next/libos_prev. */
struct mg_posix_oplist {
    struct mg_op *head, *tail;
};

enum mg_posix_connect_state {
    MG_POSIX_CONNECT_NONE = 0,
    MG_POSIX_CONNECT_IN_KERNEL, /* connect() said EINPROGRESS: wait for EPOLLOUT/EPOLLERR */
    MG_POSIX_CONNECT_DONE,      /* the outcome is known (connect_err); complete at next poll */
};

struct mg_posix_sock {
    int fd;
    int domain; /* AF_INET or AF_INET6 */
    int type;   /* SOCK_STREAM or SOCK_DGRAM */
    bool listening;
    bool dirty;          /* on the state's dirty list */
    int stream_err;      /* positive errno that ended a stream; later data ops fail with it */
    enum mg_posix_connect_state connect_state;
    int connect_err;     /* outcome when connect_state is DONE */
    struct mg_op *connect_op;
    struct mg_posix_oplist accepts, pushes, pops;
    struct mg_posix_sock *dirty_next, *dirty_prev;
    struct mg_posix_sock *all_next, *all_prev;
};

struct mg_posix_stats {
    uint64_t rx_bytes, tx_bytes;
    uint64_t rx_copies;     /* pops copied from the receive scratch into a fresh buffer */
    uint64_t ops_completed, ops_failed;
};

struct mg_posix_state {
    struct mg_rt *rt;
    int epfd;
    struct mg_posix_sock *dirty_head, *dirty_tail;
    struct mg_posix_sock *all_head; /* every open socket, for fini */
    struct mg_posix_stats stats;
    uint8_t rx_scratch[MG_POSIX_POP_MAX];
    struct epoll_event events[MG_POSIX_EVENT_BATCH];
};

/* Converts a poll timeout to epoll_wait's milliseconds, rounding up so a short timeout
 * sleeps instead of spinning; UINT64_MAX (no limit) is -1. */
int mg_posix_timeout_ms(uint64_t timeout_ns);

/* posix_io.c: operations and the progress engine. */
int mg_posix_accept(void *state, void *sock, struct mg_op *op);
int mg_posix_connect(void *state, void *sock, const struct sockaddr *addr, socklen_t len, struct mg_op *op);
int mg_posix_push(void *state, void *sock, const demi_sgarray_t *sga, const struct sockaddr *addr, socklen_t len,
                  struct mg_op *op);
int mg_posix_pop(void *state, void *sock, struct mg_op *op);
int mg_posix_poll(void *state, uint64_t timeout_ns);
/* Fails every pending operation of s with err and forgets it (close, fini). */
void mg_posix_cancel_all(struct mg_posix_state *st, struct mg_posix_sock *s, int err);
/* Drops s from the dirty list if it is on it. */
void mg_posix_undirty(struct mg_posix_state *st, struct mg_posix_sock *s);

/* posix.c: socket objects. */
struct mg_posix_sock *mg_posix_sock_new(struct mg_posix_state *st, int fd, int domain, int type);
/* Unregisters, closes and frees s; its operations must already be gone. */
void mg_posix_sock_destroy(struct mg_posix_state *st, struct mg_posix_sock *s);
/* Turns a kernel address into the IPv4 form PDPIX results carry (see posix.c). */
void mg_posix_addr_to_in(const struct sockaddr_storage *ss, struct sockaddr_in *out);

/* The ops table the registry finds by this name ("posix", alias "catnap"). */
extern const struct mg_libos_ops mg_libos_posix_ops;

/* The libOS's stats, for tests and tools. */
const struct mg_posix_stats *mg_posix_stats(void *state);

#endif /* MARGAY_LIBOS_POSIX_H */
