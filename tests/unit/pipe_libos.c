/* tests/unit/pipe_libos.c — the in-memory test libOS (see pipe_libos.h). */
#include "pipe_libos.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/config.h"

struct pipe_sock {
    struct pipe_state *st;
    struct pipe_sock *next_sock; /* all sockets of the state */
    struct pipe_sock *peer;
    uint16_t port; /* bound port, host order; 0 = unbound */
    bool listening, eof;
    struct mg_buf *rx_head, *rx_tail; /* data to pop, linked through buf->next */
    struct pipe_sock *backlog[8];     /* connections waiting for accept */
    int backlog_len;
    int rcvbuf; /* SO_RCVBUF, for the option calls */
};

struct pipe_state {
    struct mg_rt *rt;
    struct pipe_options opts;
    struct pipe_sock *socks;
    int open_socks;
    struct mg_op *ops_head, *ops_tail; /* started ops in order, linked through libos_next/prev */
    struct mg_pool *pool;
    uint64_t polls;
};

static void ops_append(struct pipe_state *st, struct mg_op *op) {
    op->libos_next = NULL;
    op->libos_prev = st->ops_tail;
    if (st->ops_tail)
        st->ops_tail->libos_next = op;
    else
        st->ops_head = op;
    st->ops_tail = op;
}

static void ops_remove(struct pipe_state *st, struct mg_op *op) {
    if (op->libos_prev)
        op->libos_prev->libos_next = op->libos_next;
    else
        st->ops_head = op->libos_next;
    if (op->libos_next)
        op->libos_next->libos_prev = op->libos_prev;
    else
        st->ops_tail = op->libos_prev;
    op->libos_next = op->libos_prev = NULL;
}

static int pipe_init(struct mg_rt *rt, void *arg, void **state_out) {
    struct pipe_state *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->rt = rt;
    if (arg)
        st->opts = *(const struct pipe_options *)arg;
    *state_out = st;
    return 0;
}

static int pipe_pool_init(struct mg_rt *rt, void *arg, void **state_out) {
    int rc = pipe_init(rt, arg, state_out);
    if (rc < 0)
        return rc;
    struct pipe_state *st = *state_out;
    uint32_t count = st->opts.pool_buffers ? st->opts.pool_buffers : 4;
    uint32_t size = st->opts.pool_buffer_size ? st->opts.pool_buffer_size : 2048;
    st->pool = mg_heap_pool_create("pipe", count, size + 64, 64);
    if (!st->pool) {
        free(st);
        return -ENOMEM;
    }
    return 0;
}

static void free_rx(struct pipe_sock *s) {
    while (s->rx_head) {
        struct mg_buf *b = s->rx_head;
        s->rx_head = b->next;
        mg_buf_free(b);
    }
    s->rx_tail = NULL;
}

static void sock_unlink(struct pipe_state *st, struct pipe_sock *s) {
    for (struct pipe_sock **pp = &st->socks; *pp; pp = &(*pp)->next_sock) {
        if (*pp == s) {
            *pp = s->next_sock;
            break;
        }
    }
}

static void sock_destroy(struct pipe_sock *s) {
    struct pipe_state *st = s->st;
    if (s->peer) {
        s->peer->peer = NULL;
        s->peer->eof = true;
    }
    for (int i = 0; i < s->backlog_len; i++)
        sock_destroy(s->backlog[i]);
    free_rx(s);
    sock_unlink(st, s);
    st->open_socks--;
    free(s);
}

static void pipe_fini(void *state) {
    struct pipe_state *st = state;
    while (st->socks)
        sock_destroy(st->socks);
    if (st->pool)
        mg_heap_pool_destroy(st->pool);
    free(st);
}

static struct pipe_sock *sock_new(struct pipe_state *st) {
    struct pipe_sock *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->st = st;
    s->next_sock = st->socks;
    st->socks = s;
    st->open_socks++;
    return s;
}

static int pipe_socket(void *state, int domain, int type, int protocol, void **sock_out) {
    if (domain != AF_INET && domain != AF_INET6)
        return -EAFNOSUPPORT;
    if (type != SOCK_STREAM && type != SOCK_DGRAM)
        return -EPROTONOSUPPORT;
    (void)protocol;
    struct pipe_sock *s = sock_new(state);
    if (!s)
        return -ENOMEM;
    *sock_out = s;
    return 0;
}

static int pipe_bind(void *state, void *sock, const struct sockaddr *addr, socklen_t len) {
    struct pipe_sock *s = sock;
    if (addr->sa_family != AF_INET)
        return -EAFNOSUPPORT;
    const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;
    uint16_t port = ntohs(sin->sin_port);
    for (struct pipe_sock *o = ((struct pipe_state *)state)->socks; o; o = o->next_sock)
        if (o != s && o->port == port && port != 0)
            return -EADDRINUSE;
    s->port = port;
    return 0;
}

static int pipe_listen(void *state, void *sock, int backlog) {
    struct pipe_sock *s = sock;
    if (s->port == 0)
        return -EDESTADDRREQ;
    s->listening = true;
    return 0;
}

static int pipe_accept(void *state, void *sock, struct mg_op *op) {
    struct pipe_sock *s = sock;
    if (!s->listening)
        return -EINVAL;
    op->libos_data = s;
    ops_append(state, op);
    return 0;
}

static int pipe_connect(void *state, void *sock, const struct sockaddr *addr, socklen_t len, struct mg_op *op) {
    struct pipe_state *st = state;
    struct pipe_sock *s = sock;
    if (addr->sa_family != AF_INET)
        return -EAFNOSUPPORT;
    if (s->peer || s->listening)
        return -EISCONN;
    uint16_t port = ntohs(((const struct sockaddr_in *)addr)->sin_port);
    struct pipe_sock *listener = NULL;
    for (struct pipe_sock *o = st->socks; o; o = o->next_sock)
        if (o->listening && o->port == port)
            listener = o;
    op->libos_data = s;
    op->libos_u64 = ECONNREFUSED;
    if (listener && listener->backlog_len < (int)(sizeof(listener->backlog) / sizeof(listener->backlog[0]))) {
        struct pipe_sock *server = sock_new(st);
        if (!server)
            return -ENOMEM;
        server->peer = s;
        s->peer = server;
        listener->backlog[listener->backlog_len++] = server;
        op->libos_u64 = 0;
    }
    ops_append(st, op);
    return 0;
}

static int pipe_push(void *state, void *sock, const demi_sgarray_t *sga, const struct sockaddr *addr, socklen_t len,
                     struct mg_op *op) {
    struct pipe_sock *s = sock;
    struct pipe_sock *dst = s->peer ? s->peer : s;
    uint32_t n = sga->sga_segs[0].sgaseg_len;
    /* A copy, as a kernel would: the application's array stays its own. */
    struct mg_buf *b = mg_buf_alloc_heap(n, 0);
    if (!b)
        return -ENOMEM;
    memcpy(mg_buf_append(b, n), sga->sga_segs[0].sgaseg_buf, n);
    b->next = NULL;
    if (dst->rx_tail)
        dst->rx_tail->next = b;
    else
        dst->rx_head = b;
    dst->rx_tail = b;
    op->libos_data = s;
    ops_append(state, op);
    return 0;
}

static int pipe_pop(void *state, void *sock, struct mg_op *op) {
    op->libos_data = sock;
    ops_append(state, op);
    return 0;
}

static int pipe_close(void *state, void *sock) {
    struct pipe_state *st = state;
    struct pipe_sock *s = sock;
    for (struct mg_op *op = st->ops_head, *next; op; op = next) {
        next = op->libos_next;
        if (op->libos_data != s)
            continue;
        ops_remove(st, op);
        if (!st->opts.forget_on_close)
            mg_op_fail(st->rt, op, ECANCELED);
    }
    sock_destroy(s);
    return 0;
}

static int pipe_setsockopt(void *state, void *sock, int level, int name, const void *val, socklen_t len) {
    struct pipe_sock *s = sock;
    if (level != SOL_SOCKET || name != SO_RCVBUF)
        return -ENOPROTOOPT;
    if (len != sizeof(int))
        return -EINVAL;
    memcpy(&s->rcvbuf, val, sizeof(int));
    return 0;
}

static int pipe_getsockopt(void *state, void *sock, int level, int name, void *val, socklen_t *len) {
    struct pipe_sock *s = sock;
    if (level != SOL_SOCKET || name != SO_RCVBUF)
        return -ENOPROTOOPT;
    if (*len < sizeof(int))
        return -EINVAL;
    memcpy(val, &s->rcvbuf, sizeof(int));
    *len = sizeof(int);
    return 0;
}

static int pipe_getpeername(void *state, void *sock, struct sockaddr *addr, socklen_t *len) {
    struct pipe_sock *s = sock;
    if (!s->peer)
        return -ENOTCONN;
    struct sockaddr_in sin = {
        .sin_family = AF_INET, .sin_port = htons(s->peer->port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t n = *len < sizeof(sin) ? *len : (socklen_t)sizeof(sin);
    memcpy(addr, &sin, n);
    *len = sizeof(sin);
    return 0;
}

/* Tries to finish one op; true when it completed. */
static bool try_complete(struct pipe_state *st, struct mg_op *op) {
    struct pipe_sock *s = op->libos_data;
    switch (op->opcode) {
    case DEMI_OPC_PUSH:
        mg_op_complete_push(st->rt, op);
        return true;
    case DEMI_OPC_CONNECT:
        if (op->libos_u64)
            mg_op_fail(st->rt, op, (int)op->libos_u64);
        else
            mg_op_complete_connect(st->rt, op);
        return true;
    case DEMI_OPC_POP:
        if (s->rx_head) {
            struct mg_buf *b = s->rx_head;
            s->rx_head = b->next;
            if (!s->rx_head)
                s->rx_tail = NULL;
            b->next = NULL;
            struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = htons(s->peer ? s->peer->port : s->port)};
            mg_op_complete_pop(st->rt, op, b, &from);
            return true;
        }
        if (s->eof) {
            mg_op_complete_pop(st->rt, op, NULL, NULL);
            return true;
        }
        return false;
    case DEMI_OPC_ACCEPT:
        if (s->backlog_len > 0) {
            struct pipe_sock *conn = s->backlog[0];
            int qd = mg_rt_qd_alloc(st->rt, conn);
            if (qd < 0) {
                mg_op_fail(st->rt, op, -qd);
                return true;
            }
            memmove(&s->backlog[0], &s->backlog[1], (size_t)(s->backlog_len - 1) * sizeof(s->backlog[0]));
            s->backlog_len--;
            struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(conn->peer ? conn->peer->port : 0)};
            mg_op_complete_accept(st->rt, op, qd, &peer);
            return true;
        }
        return false;
    default:
        mg_op_fail(st->rt, op, EINVAL);
        return true;
    }
}

static int pipe_poll(void *state, uint64_t timeout_ns) {
    struct pipe_state *st = state;
    st->polls++;
    int handled = 0;
    for (struct mg_op *op = st->ops_head, *next; op; op = next) {
        next = op->libos_next;
        /* Completing leaves libos_next/prev alone, so the op can be unlinked after. */
        if (try_complete(st, op)) {
            ops_remove(st, op);
            handled++;
        }
    }
    if (handled == 0 && timeout_ns > 0) {
        if (st->opts.advance_clock) {
            /* "Blocks" in virtual time; an unbounded block moves one second at a time. */
            mg_clock_advance(st->opts.advance_clock, timeout_ns == UINT64_MAX ? MG_NS_PER_S : timeout_ns);
        } else {
            uint64_t ns = timeout_ns < 200 * MG_NS_PER_US ? timeout_ns : 200 * MG_NS_PER_US;
            struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)ns};
            nanosleep(&ts, NULL);
        }
    }
    return handled;
}

static struct mg_buf *pipe_buf_alloc(void *state, size_t size) {
    struct pipe_state *st = state;
    if (size > st->pool->data_room - st->pool->headroom)
        return NULL;
    return mg_buf_alloc(st->pool);
}

#define PIPE_OPS_COMMON                                                                                                \
    .fini = pipe_fini, .socket = pipe_socket, .bind = pipe_bind, .listen = pipe_listen, .accept = pipe_accept,         \
    .connect = pipe_connect, .push = pipe_push, .pop = pipe_pop, .close = pipe_close, .setsockopt = pipe_setsockopt,   \
    .getsockopt = pipe_getsockopt, .getpeername = pipe_getpeername, .poll = pipe_poll

const struct mg_libos_ops pipe_libos = {.name = "pipe", .init = pipe_init, PIPE_OPS_COMMON, .buf_alloc = NULL};
const struct mg_libos_ops pipe_pool_libos = {
    .name = "pipe-pool", .init = pipe_pool_init, PIPE_OPS_COMMON, .buf_alloc = pipe_buf_alloc};

uint64_t pipe_poll_count(void *state) {
    return ((struct pipe_state *)state)->polls;
}
int pipe_open_sockets(void *state) {
    return ((struct pipe_state *)state)->open_socks;
}

struct mg_rt *pipe_rt_create(const struct mg_libos_ops *ops, const struct pipe_options *opts, struct mg_clock *clock) {
    struct mg_config cfg;
    mg_config_defaults(&cfg);
    cfg.seed = 42;
    cfg.seed_set = true;
    struct pipe_options local = opts ? *opts : (struct pipe_options){0};
    struct mg_rt_params params = {.libos = ops, .cfg = &cfg, .clock = clock, .libos_arg = &local};
    struct mg_rt *rt = NULL;
    int rc = mg_rt_create(&params, &rt);
    mg_config_free(&cfg);
    if (rc < 0)
        return NULL;
    mg_rt_set_current(rt);
    return rt;
}

struct mg_rt *pipe_rt_create_manual(const struct mg_libos_ops *ops, const struct pipe_options *opts,
                                    struct mg_clock *clock) {
    mg_clock_init_manual(clock, MG_NS_PER_S);
    struct pipe_options manual = opts ? *opts : (struct pipe_options){0};
    manual.advance_clock = clock;
    return pipe_rt_create(ops, &manual, clock);
}
