/* libos/rdma/rdma.h — the rdma libOS's internal state, shared by its files.
 *
 * The rdma libOS (alias catmint) runs PDPIX over reliable-connected queue pairs, with
 * librdmacm for connection management and libibverbs for data. One device is opened
 * at start-up (by name, by the configured local address, or the first one), with one
 * protection domain, one registered memory arena (rdma_mem.h), one completion queue
 * shared by every connection and one completion channel; demi_wait's poll drains the
 * CQ and the rdma_cm event channel, then moves every connection that has work.
 * The wire protocol and flow control are in rdma_proto.h.
 *
 * Files: rdma.c (lifetime, device, sockets, configuration), rdma_cm.c (connection
 * management events), rdma_io.c (push, pop, completions, poll). */
#ifndef MARGAY_LIBOS_RDMA_H
#define MARGAY_LIBOS_RDMA_H

#include <infiniband/verbs.h>
#include <netinet/in.h>
#include <rdma/rdma_cma.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/runtime.h"
#include "libos/rdma/rdma_mem.h"
#include "libos/rdma/rdma_proto.h"

/* Tunables, from the environment (see doc/rdma.md) over these defaults. */
struct mg_rdma_params {
    char device[64];         /* DEMI_RDMA_DEVICE: device name ("" = by address, or first) */
    size_t memory_bytes;     /* DEMI_RDMA_MEMORY_MB: registered arena size */
    uint32_t recv_depth;     /* DEMI_RDMA_RECV_DEPTH: receives posted per connection */
    uint32_t recv_buf_size;  /* DEMI_RDMA_RECV_BUF: bytes per receive (largest message) */
    uint32_t send_depth;     /* DEMI_RDMA_SEND_DEPTH: sends in flight per connection */
    uint64_t recv_window;    /* DEMI_RDMA_RECV_WINDOW: bytes received and not yet popped
                                before credits wait for the application */
    uint32_t max_conns;      /* DEMI_RDMA_MAX_CONNECTIONS: bounds the shared CQ */
    uint32_t timeout_ms;     /* DEMI_RDMA_TIMEOUT_MS: address and route resolution */
};

#define MG_RDMA_DEFAULT_MEMORY_MB 128u
#define MG_RDMA_DEFAULT_RECV_DEPTH 16u
#define MG_RDMA_DEFAULT_RECV_BUF (64u * 1024u)
#define MG_RDMA_DEFAULT_SEND_DEPTH 32u
#define MG_RDMA_DEFAULT_RECV_WINDOW (8u * 1024u * 1024u)
#define MG_RDMA_DEFAULT_MAX_CONNS 256u
#define MG_RDMA_DEFAULT_TIMEOUT_MS 2000u

/* Reads the parameters from the environment; -EINVAL (message in err) on a bad value. */
int mg_rdma_params_load(struct mg_rdma_params *p, char *err, size_t errlen);

struct mg_rdma_oplist {
    struct mg_op *head, *tail;
};

enum mg_rdma_sock_state {
    MG_RDMA_SOCK_NEW = 0,    /* socket made, maybe bound */
    MG_RDMA_SOCK_LISTENING,
    MG_RDMA_SOCK_RESOLVING,  /* active side: address, route, then connect sent */
    MG_RDMA_SOCK_ACCEPTING,  /* passive side: accept sent, waiting for ESTABLISHED */
    MG_RDMA_SOCK_CONNECTED,
    MG_RDMA_SOCK_DEAD,       /* disconnected or failed: data ops end with sock->err / EOF */
};

struct mg_rdma_send_slot {
    struct mg_op *op;    /* the push this message belongs to, NULL for a CREDIT message */
    struct mg_buf *copy; /* bounce buffer when the pushed bytes were not registered */
};

struct mg_rdma_sock {
    enum mg_rdma_sock_state state;
    struct rdma_cm_id *id;
    bool bound;
    struct sockaddr_in local, peer;
    int err;          /* positive errno that ended the connection; 0 while it lives */
    bool peer_closed; /* the peer disconnected: pops see end of stream after the data */

    /* listener */
    struct mg_rdma_oplist accepts;
    struct mg_rdma_sock *ready_head, *ready_tail; /* established, waiting for accept */
    uint32_t ready_count, pending_count, backlog;
    struct mg_rdma_sock *listener; /* for a passive connection not yet accepted */
    struct mg_rdma_sock *ready_next;

    /* active connect */
    struct mg_op *connect_op;

    /* connection */
    uint32_t slot, gen; /* in the connection table; names its work requests */
    struct ibv_qp *qp;
    struct mg_rdma_flow flow;
    uint32_t max_msg;   /* the peer's receive buffer size */
    struct mg_buf **recv_ring; /* recv_depth entries */
    uint32_t recv_head, recv_posted;
    struct mg_rdma_send_slot *send_ring; /* send_depth entries */
    uint32_t send_head, send_inflight;
    struct mg_rdma_oplist pushes; /* not yet fully posted; head is being posted */
    uint64_t tx_offset;           /* bytes of the head push already posted */
    struct mg_rdma_oplist pops;
    struct mg_rdma_rxq rxq;

    bool dirty;
    struct mg_rdma_sock *dirty_next;
    struct mg_rdma_sock *all_next, *all_prev;
};

struct mg_rdma_stats {
    uint64_t tx_msgs, rx_msgs, tx_bytes, rx_bytes;
    uint64_t tx_copies;      /* pushes of unregistered memory, copied to the arena */
    uint64_t credit_msgs;    /* CREDIT messages sent */
    uint64_t stale_wcs;      /* completions for connections already gone */
    uint64_t wc_errors;      /* completions with an error status (flushes excluded) */
    uint64_t recv_starved;   /* reposts delayed by an empty arena */
    uint64_t proto_errors;   /* sequence, credit or framing violations */
    uint64_t rejected;       /* connection requests refused */
};

struct mg_rdma_conn_slot {
    struct mg_rdma_sock *sock;
    uint32_t gen;
};

struct mg_rdma_state {
    struct mg_rt *rt;
    struct mg_rdma_params params;
    struct rdma_event_channel *ec;
    struct ibv_context *ctx;
    struct ibv_pd *pd;
    struct ibv_comp_channel *comp;
    struct ibv_cq *cq;
    bool cq_armed;
    struct mg_rdma_mem *mem;
    struct ibv_mr *mr;
    struct mg_rdma_conn_slot *conns; /* max_conns entries */
    uint32_t conn_count;
    struct mg_rdma_sock *dirty_head, *dirty_tail;
    struct mg_rdma_sock *all_head;
    struct mg_rdma_stats stats;
};

/* rdma.c */
extern const struct mg_libos_ops mg_libos_rdma_ops;
struct mg_rdma_sock *mg_rdma_sock_new(struct mg_rdma_state *st, struct rdma_cm_id *id);
/* Releases everything a socket holds (QP, id, buffers); its ops must be gone. */
void mg_rdma_sock_destroy(struct mg_rdma_state *st, struct mg_rdma_sock *s);
void mg_rdma_mark_dirty(struct mg_rdma_state *st, struct mg_rdma_sock *s);
void mg_rdma_oplist_append(struct mg_rdma_oplist *l, struct mg_op *op);
struct mg_op *mg_rdma_oplist_take(struct mg_rdma_oplist *l);
void mg_rdma_oplist_remove(struct mg_rdma_oplist *l, struct mg_op *op);
/* Checks the arguments of demi_socket against what this libOS offers. */
int mg_rdma_check_socket_args(int domain, int type, int protocol);
/* Checks an IPv4 address argument. */
int mg_rdma_check_addr(const struct sockaddr *addr, socklen_t len);

/* rdma_cm.c */
int mg_rdma_cm_drain(struct mg_rdma_state *st);
/* Gives s a connection slot, a QP on the shared CQ and its posted receives. */
int mg_rdma_conn_setup(struct mg_rdma_state *st, struct mg_rdma_sock *s);
/* Ends a connection with err (positive; 0 = orderly end of stream). */
void mg_rdma_conn_fail(struct mg_rdma_state *st, struct mg_rdma_sock *s, int err);

/* rdma_io.c */
int mg_rdma_push(void *state, void *sock, const demi_sgarray_t *sga, const struct sockaddr *addr, socklen_t len,
                 struct mg_op *op);
int mg_rdma_pop(void *state, void *sock, struct mg_op *op);
int mg_rdma_poll(void *state, uint64_t timeout_ns);
/* Posts one receive of a fresh arena buffer; -ENOMEM when the arena is empty. */
int mg_rdma_post_recv(struct mg_rdma_state *st, struct mg_rdma_sock *s, struct mg_buf *reuse);
/* Fails every pending push and pop of s with err (positive) and forgets them. */
void mg_rdma_fail_data_ops(struct mg_rdma_state *st, struct mg_rdma_sock *s, int err);
/* Maps a work-completion status to the errno the operations see. */
int mg_rdma_wc_errno(enum ibv_wc_status status);
const struct mg_rdma_stats *mg_rdma_stats(void *state);

#endif /* MARGAY_LIBOS_RDMA_H */
