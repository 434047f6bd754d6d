/* libos/posix/posix_io.c — the posix libOS's asynchronous operations and the epoll
 * progress engine behind them.
 *
 * Submitting an operation never completes it: it is queued on its socket and the
 * socket is marked dirty, so the next ops->poll tries it. This keeps every completion
 * inside poll (the core sees no completion during a submission call) and makes the
 * edge-triggered registration sufficient (see posix.h).
 *
 * Per socket, operations of one kind complete in the order they were submitted:
 * accepts in order, pushes written one after the other and never interleaved (a
 * partial write resumes on the next EPOLLOUT edge), pops in order.
 *
 * Semantics worth knowing:
 * - pop returns at most MG_POSIX_POP_MAX bytes in one fresh buffer; at end of stream
 *   it completes with a zero-length array (sga_numsegs 1, sgaseg_len 0) that the
 *   application frees with demi_sgafree like any other.
 * - push holds a reference on the application's buffer until the bytes are written,
 *   so the application keeps ownership and may free its array at any time.
 * - On a stream socket, a fatal error (ECONNRESET, EPIPE, a failed connect...) fails
 *   the operation that saw it and every later push and pop on that socket.
 * - Writes use MSG_NOSIGNAL: a closed peer is EPIPE, never SIGPIPE. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "libos/posix/posix.h"

#define LOG_MODULE "posix"

static void oplist_append(struct mg_posix_oplist *l, struct mg_op *op) {
    op->libos_next = NULL;
    op->libos_prev = l->tail;
    if (l->tail)
        l->tail->libos_next = op;
    else
        l->head = op;
    l->tail = op;
}

static struct mg_op *oplist_take_head(struct mg_posix_oplist *l) {
    struct mg_op *op = l->head;
    if (!op)
        return NULL;
    l->head = op->libos_next;
    if (l->head)
        l->head->libos_prev = NULL;
    else
        l->tail = NULL;
    op->libos_next = op->libos_prev = NULL;
    return op;
}

static void mark_dirty(struct mg_posix_state *st, struct mg_posix_sock *s) {
    if (s->dirty)
        return;
    s->dirty = true;
    s->dirty_next = NULL;
    s->dirty_prev = st->dirty_tail;
    if (st->dirty_tail)
        st->dirty_tail->dirty_next = s;
    else
        st->dirty_head = s;
    st->dirty_tail = s;
}

void mg_posix_undirty(struct mg_posix_state *st, struct mg_posix_sock *s) {
    if (!s->dirty)
        return;
    if (s->dirty_prev)
        s->dirty_prev->dirty_next = s->dirty_next;
    else
        st->dirty_head = s->dirty_next;
    if (s->dirty_next)
        s->dirty_next->dirty_prev = s->dirty_prev;
    else
        st->dirty_tail = s->dirty_prev;
    s->dirty = false;
    s->dirty_next = s->dirty_prev = NULL;
}

/* Push ops hold a reference on the pushed buffer (libos_data) until they finish. */
static void push_release(struct mg_op *op) {
    if (op->libos_data) {
        mg_buf_free(op->libos_data);
        op->libos_data = NULL;
    }
}

static void fail_op(struct mg_posix_state *st, struct mg_op *op, int err) {
    if (op->opcode == DEMI_OPC_PUSH)
        push_release(op);
    st->stats.ops_failed++;
    mg_op_fail(st->rt, op, err);
}

static void fail_list(struct mg_posix_state *st, struct mg_posix_oplist *l, int err) {
    struct mg_op *op;
    while ((op = oplist_take_head(l)))
        fail_op(st, op, err);
}

void mg_posix_cancel_all(struct mg_posix_state *st, struct mg_posix_sock *s, int err) {
    if (s->connect_op) {
        struct mg_op *op = s->connect_op;
        s->connect_op = NULL;
        s->connect_state = MG_POSIX_CONNECT_NONE;
        fail_op(st, op, err);
    }
    fail_list(st, &s->accepts, err);
    fail_list(st, &s->pushes, err);
    fail_list(st, &s->pops, err);
}

/* ---- submission ---------------------------------------------------------------- */

int mg_posix_accept(void *state, void *sock, struct mg_op *op) {
    struct mg_posix_state *st = state;
    struct mg_posix_sock *s = sock;
    if (!s->listening)
        return -EINVAL;
    oplist_append(&s->accepts, op);
    mark_dirty(st, s);
    return 0;
}

/* connect() errors that are the outcome of the attempt (reported through the
 * operation) rather than a bad request (returned at once). */
static bool is_connect_outcome(int err) {
    switch (err) {
    case ECONNREFUSED:
    case ENETUNREACH:
    case EHOSTUNREACH:
    case ETIMEDOUT:
    case ECONNRESET:
    case EADDRNOTAVAIL:
    case EAGAIN:
        return true;
    default:
        return false;
    }
}

int mg_posix_connect(void *state, void *sock, const struct sockaddr *addr, socklen_t len, struct mg_op *op) {
    struct mg_posix_state *st = state;
    struct mg_posix_sock *s = sock;
    if (s->connect_op)
        return -EALREADY;
    if (s->listening)
        return -EISCONN;
    if (connect(s->fd, addr, len) == 0) {
        s->connect_state = MG_POSIX_CONNECT_DONE;
        s->connect_err = 0;
    } else if (errno == EINPROGRESS) {
        s->connect_state = MG_POSIX_CONNECT_IN_KERNEL;
    } else if (is_connect_outcome(errno)) {
        s->connect_state = MG_POSIX_CONNECT_DONE;
        s->connect_err = errno;
    } else {
        return -errno;
    }
    s->connect_op = op;
    mark_dirty(st, s);
    return 0;
}

/* Checks that the array is one the runtime handed out and that its segment lies inside
 * its buffer. Returns the buffer or NULL. */
static struct mg_buf *push_buffer(struct mg_posix_state *st, const demi_sgarray_t *sga) {
    if (sga->sga_numsegs != 1)
        return NULL;
    struct mg_buf *buf = mg_rt_sga_to_buf(st->rt, sga);
    if (!buf || buf->magic != MG_BUF_MAGIC)
        return NULL;
    const uint8_t *p = sga->sga_segs[0].sgaseg_buf;
    uint32_t len = sga->sga_segs[0].sgaseg_len;
    if (!p || p < buf->base || p > buf->base + buf->cap || len > (uint32_t)(buf->base + buf->cap - p))
        return NULL;
    return buf;
}

int mg_posix_push(void *state, void *sock, const demi_sgarray_t *sga, const struct sockaddr *addr, socklen_t len,
                  struct mg_op *op) {
    struct mg_posix_state *st = state;
    struct mg_posix_sock *s = sock;
    if (s->listening)
        return -ENOTCONN;
    struct mg_buf *buf = push_buffer(st, sga);
    if (!buf)
        return -EINVAL;
    /* A stream has one peer: Demikernel programs call pushto on connected TCP sockets,
     * so the address is ignored there. */
    if (s->type == SOCK_DGRAM && addr) {
        if (len == 0 || len > sizeof(op->addr))
            return -EINVAL;
        if (addr != (const struct sockaddr *)&op->addr) /* the core may have stored it there already */
            memcpy(&op->addr, addr, len);
        op->addrlen = len;
    } else {
        op->addrlen = 0;
    }
    if (sga != &op->sga)
        op->sga = *sga;
    mg_buf_ref(buf);
    op->libos_data = buf;
    op->libos_u64 = 0; /* bytes written so far */
    oplist_append(&s->pushes, op);
    mark_dirty(st, s);
    return 0;
}

int mg_posix_pop(void *state, void *sock, struct mg_op *op) {
    struct mg_posix_state *st = state;
    struct mg_posix_sock *s = sock;
    if (s->listening)
        return -ENOTCONN;
    oplist_append(&s->pops, op);
    mark_dirty(st, s);
    return 0;
}

/* ---- progress ------------------------------------------------------------------ */

static void complete_connect(struct mg_posix_state *st, struct mg_posix_sock *s, int err) {
    struct mg_op *op = s->connect_op;
    s->connect_op = NULL;
    s->connect_state = MG_POSIX_CONNECT_NONE;
    if (err) {
        if (s->type == SOCK_STREAM)
            s->stream_err = err;
        fail_op(st, op, err);
    } else {
        st->stats.ops_completed++;
        mg_op_complete_connect(st->rt, op);
    }
}

static int progress_connect(struct mg_posix_state *st, struct mg_posix_sock *s, uint32_t events) {
    if (s->connect_state == MG_POSIX_CONNECT_DONE) {
        complete_connect(st, s, s->connect_err);
        return 1;
    }
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
        return 0;
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err == 0 && !(events & EPOLLOUT))
        return 0; /* not an outcome yet */
    complete_connect(st, s, err);
    return 1;
}

static int progress_accepts(struct mg_posix_state *st, struct mg_posix_sock *s) {
    int done = 0;
    while (s->accepts.head) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof(peer);
        int fd = accept4(s->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            if (err == EAGAIN || err == EWOULDBLOCK)
                break;
            /* A connection that died in the backlog: take the next one. */
            if (err == EINTR || err == ECONNABORTED || err == EPROTO)
                continue;
            fail_op(st, oplist_take_head(&s->accepts), err);
            done++;
            continue;
        }
        struct mg_op *op = oplist_take_head(&s->accepts);
        done++;
        struct mg_posix_sock *ns = mg_posix_sock_new(st, fd, s->domain, SOCK_STREAM);
        if (!ns) {
            int err = errno ? errno : ENOMEM;
            close(fd);
            fail_op(st, op, err);
            continue;
        }
        int qd = mg_rt_qd_alloc(st->rt, ns);
        if (qd < 0) {
            mg_posix_sock_destroy(st, ns);
            fail_op(st, op, -qd);
            continue;
        }
        struct sockaddr_in peer_in;
        mg_posix_addr_to_in(&peer, &peer_in);
        st->stats.ops_completed++;
        mg_op_complete_accept(st->rt, op, qd, &peer_in);
    }
    return done;
}

/* Records a fatal stream error (datagram sockets have none: each op stands alone). */
static void note_stream_error(struct mg_posix_sock *s, int err) {
    if (s->type == SOCK_STREAM && !s->stream_err)
        s->stream_err = err;
}

/* What a push or pop loop does next after its send or receive failed. */
enum io_next {
    IO_WAIT,   /* no room or no data in the kernel: wait for epoll */
    IO_RETRY,  /* interrupted: try the same op again */
    IO_FAILED, /* the head op failed, and the stream with it if it is one */
};

static enum io_next io_failed(struct mg_posix_state *st, struct mg_posix_sock *s, struct mg_posix_oplist *ops,
                              int err) {
    if (err == EAGAIN || err == EWOULDBLOCK)
        return IO_WAIT;
    if (err == EINTR)
        return IO_RETRY;
    note_stream_error(s, err);
    fail_op(st, oplist_take_head(ops), err);
    return IO_FAILED;
}

static int progress_pushes(struct mg_posix_state *st, struct mg_posix_sock *s) {
    int done = 0;
    struct mg_op *op;
    while ((op = s->pushes.head)) {
        if (s->stream_err) {
            fail_op(st, oplist_take_head(&s->pushes), s->stream_err);
            done++;
            continue;
        }
        const uint8_t *data = op->sga.sga_segs[0].sgaseg_buf;
        uint32_t len = op->sga.sga_segs[0].sgaseg_len;
        uint32_t off = (uint32_t)op->libos_u64;
        ssize_t n = 0;
        if (len > off || s->type == SOCK_DGRAM) {
            if (op->addrlen)
                n = sendto(s->fd, data + off, len - off, MSG_NOSIGNAL, (const struct sockaddr *)&op->addr, op->addrlen);
            else
                n = send(s->fd, data + off, len - off, MSG_NOSIGNAL);
        }
        if (n < 0) {
            enum io_next next = io_failed(st, s, &s->pushes, errno);
            if (next == IO_WAIT)
                break;
            done += next == IO_FAILED;
            continue;
        }
        st->stats.tx_bytes += (uint64_t)n;
        off += (uint32_t)n;
        op->libos_u64 = off;
        if (off < len && s->type == SOCK_STREAM)
            continue; /* the next send either takes more or says EAGAIN */
        oplist_take_head(&s->pushes);
        push_release(op);
        st->stats.ops_completed++;
        mg_op_complete_push(st->rt, op);
        done++;
    }
    return done;
}

/* Hands `n` received bytes from the scratch area to the head pop. Returns false if no
 * buffer could be had (the bytes are lost). */
static bool complete_pop_with(struct mg_posix_state *st, struct mg_posix_sock *s, size_t n,
                              const struct sockaddr_storage *from) {
    struct mg_op *op = oplist_take_head(&s->pops);
    struct mg_buf *buf = mg_buf_alloc_heap(n, 0);
    if (!buf) {
        MG_WARN(LOG_MODULE, "no memory for a %zu-byte pop on fd %d", n, s->fd);
        note_stream_error(s, ENOMEM);
        fail_op(st, op, ENOMEM);
        return false;
    }
    if (n) {
        memcpy(mg_buf_append(buf, (uint32_t)n), st->rx_scratch, n);
        st->stats.rx_copies++;
    }
    struct sockaddr_in from_in;
    mg_posix_addr_to_in(from, &from_in);
    st->stats.rx_bytes += n;
    st->stats.ops_completed++;
    mg_op_complete_pop(st->rt, op, buf, &from_in);
    return true;
}

static int progress_pops(struct mg_posix_state *st, struct mg_posix_sock *s) {
    int done = 0;
    while (s->pops.head) {
        if (s->stream_err) {
            fail_op(st, oplist_take_head(&s->pops), s->stream_err);
            done++;
            continue;
        }
        struct sockaddr_storage from;
        socklen_t flen = sizeof(from);
        memset(&from, 0, sizeof(from));
        ssize_t n;
        if (s->type == SOCK_DGRAM)
            n = recvfrom(s->fd, st->rx_scratch, sizeof(st->rx_scratch), 0, (struct sockaddr *)&from, &flen);
        else
            n = recv(s->fd, st->rx_scratch, sizeof(st->rx_scratch), 0);
        if (n < 0) {
            enum io_next next = io_failed(st, s, &s->pops, errno);
            if (next == IO_WAIT)
                break;
            done += next == IO_FAILED;
            continue;
        }
        /* n == 0 on a stream is end of stream: a zero-length array, and so for every
         * later pop too (the kernel keeps answering 0). */
        complete_pop_with(st, s, (size_t)n, &from);
        done++;
    }
    return done;
}

static int sock_progress(struct mg_posix_state *st, struct mg_posix_sock *s, uint32_t events) {
    int done = 0;
    if (s->connect_op)
        done += progress_connect(st, s, events);
    if (s->listening)
        return done + progress_accepts(st, s);
    if (s->connect_state == MG_POSIX_CONNECT_IN_KERNEL)
        return done; /* data waits for the connection */
    done += progress_pushes(st, s);
    done += progress_pops(st, s);
    return done;
}

int mg_posix_poll(void *state, uint64_t timeout_ns) {
    struct mg_posix_state *st = state;
    int done = 0;
    while (st->dirty_head) {
        struct mg_posix_sock *s = st->dirty_head;
        mg_posix_undirty(st, s);
        done += sock_progress(st, s, 0);
    }
    /* Completions are waiting for the application: look at the kernel, do not sleep. */
    int ms = done ? 0 : mg_posix_timeout_ms(timeout_ns);
    int n = epoll_wait(st->epfd, st->events, MG_POSIX_EVENT_BATCH, ms);
    if (n < 0) {
        if (errno != EINTR)
            MG_WARN(LOG_MODULE, "epoll_wait failed: %s", strerror(errno));
        return done;
    }
    for (int i = 0; i < n; i++)
        done += sock_progress(st, st->events[i].data.ptr, st->events[i].events);
    return done;
}
