/* libos/inet/tcp_ops.c — TCP sockets of the inet libOS: PDPIX calls on SOCK_STREAM
 * queues mapped onto src/inet/tcp.h.
 *
 * Each socket keeps its pending operations in order: accepts, one connect, pushes
 * (a push completes once every byte of it is in the TCP send buffer) and pops (each
 * completes with one received buffer, no copy; a zero-length array at end of stream).
 * They progress from the TCP notify callback. Because a call into TCP may deliver
 * notifications for the same socket before it returns, progress functions guard
 * against running inside themselves and loop instead. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inet/tcp.h"
#include "libos/inet/proto.h"

struct tcp_socket {
    struct mg_inet_sock_hdr hdr; /* first: the libOS dispatches on it */
    struct mg_inet_libos *lib;
    struct mg_tcp_sock *sock;
    struct mg_op *connect_op;
    struct mg_op *acc_head, *acc_tail;
    struct mg_op *push_head, *push_tail; /* libos_data: the buffer; libos_u64: bytes taken */
    struct mg_op *pop_head, *pop_tail;
    bool busy, again;
};

static void tcp_notify_cb(struct mg_tcp_sock *s, unsigned events, void *user);

static int tcp_attach(struct mg_inet_libos *lib) {
    struct mg_tcp_layer *tcp;
    return mg_tcp_layer_create(lib->inet, &tcp);
}

static void tcp_detach(struct mg_inet_libos *lib) {
    if (lib->inet && lib->inet->tcp)
        mg_tcp_layer_destroy(lib->inet->tcp);
}

static void op_append(struct mg_op **head, struct mg_op **tail, struct mg_op *op) {
    op->libos_next = NULL;
    if (*tail)
        (*tail)->libos_next = op;
    else
        *head = op;
    *tail = op;
}

static struct mg_op *op_pop_front(struct mg_op **head, struct mg_op **tail) {
    struct mg_op *op = *head;
    if (!op)
        return NULL;
    *head = op->libos_next;
    if (!*head)
        *tail = NULL;
    op->libos_next = NULL;
    return op;
}

static struct tcp_socket *wrap(struct mg_inet_libos *lib, struct mg_tcp_sock *sock) {
    struct tcp_socket *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->hdr.proto = &mg_inet_tcp_proto;
    t->lib = lib;
    t->sock = sock;
    return t;
}

/* ---- progress ---- */

static void fail_pushes(struct tcp_socket *t, int err) {
    struct mg_op *op;
    while ((op = op_pop_front(&t->push_head, &t->push_tail)) != NULL) {
        mg_buf_free(op->libos_data);
        op->libos_data = NULL;
        mg_op_fail(t->lib->rt, op, err);
    }
}

static void progress_pushes(struct tcp_socket *t) {
    while (t->push_head) {
        struct mg_op *op = t->push_head;
        struct mg_buf *buf = op->libos_data;
        int r = mg_tcp_send(t->sock, buf, (uint32_t)op->libos_u64);
        if (r < 0) {
            fail_pushes(t, -r);
            return;
        }
        op->libos_u64 += (uint32_t)r;
        if (op->libos_u64 < buf->len)
            return; /* the send buffer is full: WRITABLE brings us back */
        op_pop_front(&t->push_head, &t->push_tail);
        mg_buf_free(buf);
        op->libos_data = NULL;
        mg_op_complete_push(t->lib->rt, op);
    }
}

static void progress_pops(struct tcp_socket *t) {
    while (t->pop_head) {
        struct mg_buf *b = NULL;
        int r = mg_tcp_recv(t->sock, &b);
        if (r == -EAGAIN)
            return;
        struct mg_op *op = op_pop_front(&t->pop_head, &t->pop_tail);
        if (r > 0)
            mg_op_complete_pop(t->lib->rt, op, b, NULL);
        else if (r == 0)
            mg_op_complete_pop(t->lib->rt, op, NULL, NULL); /* end of stream */
        else
            mg_op_fail(t->lib->rt, op, -r);
    }
}

static void progress_accepts(struct tcp_socket *t) {
    while (t->acc_head) {
        struct mg_tcp_sock *child;
        uint32_t addr;
        uint16_t port;
        if (mg_tcp_accept(t->sock, &child, &addr, &port) < 0)
            return;
        struct mg_op *op = op_pop_front(&t->acc_head, &t->acc_tail);
        struct tcp_socket *ct = wrap(t->lib, child);
        int qd = ct ? mg_rt_qd_alloc(t->lib->rt, ct) : -ENOMEM;
        if (qd < 0) {
            mg_tcp_abort(child);
            free(ct);
            mg_op_fail(t->lib->rt, op, -qd);
            continue;
        }
        mg_tcp_set_notify(child, tcp_notify_cb, ct);
        struct sockaddr_in peer = mg_inet_sockaddr(addr, port);
        mg_op_complete_accept(t->lib->rt, op, qd, &peer);
    }
}

static void progress(struct tcp_socket *t, unsigned events) {
    if (t->busy) {
        t->again = true;
        return;
    }
    t->busy = true;
    do {
        t->again = false;
        int err = mg_tcp_error(t->sock);
        if (t->connect_op) {
            if (err) {
                struct mg_op *op = t->connect_op;
                t->connect_op = NULL;
                mg_op_fail(t->lib->rt, op, err);
            } else if ((events & MG_TCP_EV_CONNECTED) || mg_tcp_sock_state(t->sock) >= MG_TCP_ESTABLISHED) {
                struct mg_op *op = t->connect_op;
                t->connect_op = NULL;
                mg_op_complete_connect(t->lib->rt, op);
            }
        }
        if (t->acc_head)
            progress_accepts(t);
        if (t->pop_head)
            progress_pops(t);
        if (t->push_head) {
            if (err)
                fail_pushes(t, err);
            else
                progress_pushes(t);
        }
        events = 0;
    } while (t->again);
    t->busy = false;
}

static void tcp_notify_cb(struct mg_tcp_sock *s, unsigned events, void *user) {
    (void)s;
    progress(user, events);
}

/* ---- operations ---- */

static int tcp_socket_op(struct mg_inet_libos *lib, int domain, int type, int protocol, void **sock_out) {
    (void)domain;
    (void)type;
    (void)protocol;
    if (!lib->inet->tcp)
        return -EPROTONOSUPPORT;
    struct tcp_socket *t = wrap(lib, NULL);
    if (!t)
        return -ENOMEM;
    t->sock = mg_tcp_open(lib->inet->tcp, tcp_notify_cb, t);
    if (!t->sock) {
        free(t);
        return -ENOMEM;
    }
    *sock_out = t;
    return 0;
}

static int tcp_bind_op(struct mg_inet_libos *lib, void *sock, const struct sockaddr *sa, socklen_t len) {
    (void)lib;
    struct tcp_socket *t = sock;
    uint32_t addr;
    uint16_t port;
    int rc = mg_inet_addr_of(sa, len, &addr, &port);
    return rc ? rc : mg_tcp_bind(t->sock, addr, port);
}

static int tcp_listen_op(struct mg_inet_libos *lib, void *sock, int backlog) {
    (void)lib;
    struct tcp_socket *t = sock;
    return mg_tcp_listen(t->sock, backlog);
}

static int tcp_accept_op(struct mg_inet_libos *lib, void *sock, struct mg_op *op) {
    (void)lib;
    struct tcp_socket *t = sock;
    if (mg_tcp_sock_state(t->sock) != MG_TCP_LISTEN)
        return -EINVAL;
    op_append(&t->acc_head, &t->acc_tail, op);
    progress(t, 0);
    return 0;
}

static int tcp_connect_op(struct mg_inet_libos *lib, void *sock, const struct sockaddr *sa, socklen_t len,
                          struct mg_op *op) {
    (void)lib;
    struct tcp_socket *t = sock;
    uint32_t addr;
    uint16_t port;
    int rc = mg_inet_addr_of(sa, len, &addr, &port);
    if (rc)
        return rc;
    if (t->connect_op)
        return -EALREADY;
    rc = mg_tcp_connect(t->sock, addr, port);
    if (rc < 0)
        return rc;
    t->connect_op = op;
    progress(t, 0); /* the connect may already have failed */
    return 0;
}

/* The buffer behind a pushed array and the offset its bytes start at, with a
 * reference for us; a copy when the array is not one buffer's tail. */
static struct mg_buf *push_buffer(struct mg_inet_libos *lib, const demi_sgarray_t *sga, uint32_t *off) {
    struct mg_buf *buf = mg_rt_sga_to_buf(lib->rt, sga);
    if (buf && sga->sga_numsegs == 1) {
        const uint8_t *seg = sga->sga_segs[0].sgaseg_buf;
        uint32_t n = sga->sga_segs[0].sgaseg_len;
        if (seg >= buf->data && seg + n == buf->data + buf->len) {
            mg_buf_ref(buf);
            *off = (uint32_t)(seg - buf->data);
            return buf;
        }
    }
    size_t total = 0;
    for (uint32_t i = 0; i < sga->sga_numsegs; i++)
        total += sga->sga_segs[i].sgaseg_len;
    if (total == 0 || total > MG_SGA_MAX_SIZE)
        return NULL;
    struct mg_buf *copy = mg_buf_alloc_heap(total, 0);
    if (!copy)
        return NULL;
    uint8_t *p = mg_buf_append(copy, (uint32_t)total);
    for (uint32_t i = 0; i < sga->sga_numsegs; i++) {
        memcpy(p, sga->sga_segs[i].sgaseg_buf, sga->sga_segs[i].sgaseg_len);
        p += sga->sga_segs[i].sgaseg_len;
    }
    *off = 0;
    return copy;
}

static int tcp_push_op(struct mg_inet_libos *lib, void *sock, const demi_sgarray_t *sga, const struct sockaddr *sa,
                       socklen_t len, struct mg_op *op) {
    (void)sa;
    (void)len;
    struct tcp_socket *t = sock;
    enum mg_tcp_state st = mg_tcp_sock_state(t->sock);
    if (st == MG_TCP_LISTEN || (st == MG_TCP_CLOSED && !mg_tcp_error(t->sock)))
        return -ENOTCONN;
    if (sga->sga_numsegs == 0 || sga->sga_numsegs > DEMI_SGARRAY_MAXSIZE)
        return -EINVAL;
    uint32_t off = 0;
    struct mg_buf *buf = push_buffer(lib, sga, &off);
    if (!buf)
        return -ENOMEM;
    op->libos_data = buf;
    op->libos_u64 = off;
    op_append(&t->push_head, &t->push_tail, op);
    progress(t, 0);
    return 0;
}

static int tcp_pop_op(struct mg_inet_libos *lib, void *sock, struct mg_op *op) {
    (void)lib;
    struct tcp_socket *t = sock;
    if (mg_tcp_sock_state(t->sock) == MG_TCP_LISTEN)
        return -ENOTCONN;
    op_append(&t->pop_head, &t->pop_tail, op);
    progress(t, 0);
    return 0;
}

static void cancel_all(struct tcp_socket *t) {
    struct mg_rt *rt = t->lib->rt;
    struct mg_op *op;
    if (t->connect_op) {
        op = t->connect_op;
        t->connect_op = NULL;
        mg_op_fail(rt, op, ECANCELED);
    }
    while ((op = op_pop_front(&t->acc_head, &t->acc_tail)) != NULL)
        mg_op_fail(rt, op, ECANCELED);
    fail_pushes(t, ECANCELED);
    while ((op = op_pop_front(&t->pop_head, &t->pop_tail)) != NULL)
        mg_op_fail(rt, op, ECANCELED);
}

static int tcp_close_op(struct mg_inet_libos *lib, void *sock) {
    (void)lib;
    struct tcp_socket *t = sock;
    cancel_all(t);
    mg_tcp_close(t->sock);
    free(t);
    return 0;
}

static int tcp_setsockopt_op(struct mg_inet_libos *lib, void *sock, int level, int name, const void *val,
                             socklen_t len) {
    (void)lib;
    struct tcp_socket *t = sock;
    return mg_tcp_setsockopt(t->sock, level, name, val, len);
}

static int tcp_getsockopt_op(struct mg_inet_libos *lib, void *sock, int level, int name, void *val, socklen_t *len) {
    (void)lib;
    struct tcp_socket *t = sock;
    return mg_tcp_getsockopt(t->sock, level, name, val, len);
}

static int tcp_getpeername_op(struct mg_inet_libos *lib, void *sock, struct sockaddr *sa, socklen_t *len) {
    (void)lib;
    struct tcp_socket *t = sock;
    uint32_t addr;
    uint16_t port;
    int rc = mg_tcp_peer(t->sock, &addr, &port);
    if (rc < 0)
        return rc;
    if (!sa || !len || *len < (socklen_t)sizeof(struct sockaddr_in))
        return -EINVAL;
    struct sockaddr_in sin = mg_inet_sockaddr(addr, port);
    memcpy(sa, &sin, sizeof(sin));
    *len = sizeof(sin);
    return 0;
}

const struct mg_inet_proto_ops mg_inet_tcp_proto = {
    .name = "tcp",
    .attach = tcp_attach,
    .detach = tcp_detach,
    .socket = tcp_socket_op,
    .bind = tcp_bind_op,
    .listen = tcp_listen_op,
    .accept = tcp_accept_op,
    .connect = tcp_connect_op,
    .push = tcp_push_op,
    .pop = tcp_pop_op,
    .close = tcp_close_op,
    .setsockopt = tcp_setsockopt_op,
    .getsockopt = tcp_getsockopt_op,
    .getpeername = tcp_getpeername_op,
};
