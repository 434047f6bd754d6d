/* libos/inet/udp_ops.c — UDP sockets of the inet libOS: PDPIX calls on SOCK_DGRAM
 * queues mapped onto src/inet/udp.h.
 *
 * A pushto completes as soon as the stack has taken the datagram (UDP has nothing
 * to wait for); a failure completes it as DEMI_OPC_FAILED with the errno. Pops wait
 * in arrival order and are completed from the socket's notify callback, each with
 * one datagram (no copy: the array is the buffer it arrived in) and its sender. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inet/udp.h"
#include "libos/inet/proto.h"

struct udp_socket {
    struct mg_inet_sock_hdr hdr; /* first: the libOS dispatches on it */
    struct mg_inet_libos *lib;
    struct mg_udp_sock *sock;
    struct mg_op *pops_head, *pops_tail; /* pending pops, oldest first */
};

static int udp_attach(struct mg_inet_libos *lib) {
    struct mg_udp_layer *udp;
    return mg_udp_layer_create(lib->inet, &udp);
}

static void udp_detach(struct mg_inet_libos *lib) {
    if (lib->inet && lib->inet->udp)
        mg_udp_layer_destroy(lib->inet->udp);
}

/* Hands queued datagrams to waiting pops, oldest pop first. */
static void complete_pops(struct udp_socket *u) {
    while (u->pops_head) {
        struct mg_buf *b;
        uint32_t addr;
        uint16_t port;
        if (mg_udp_recvfrom(u->sock, &b, &addr, &port) < 0)
            return;
        struct mg_op *op = u->pops_head;
        u->pops_head = op->libos_next;
        if (!u->pops_head)
            u->pops_tail = NULL;
        op->libos_next = NULL;
        struct sockaddr_in from = mg_inet_sockaddr(addr, port);
        mg_op_complete_pop(u->lib->rt, op, b, &from);
    }
}

static void udp_notify(struct mg_udp_sock *s, unsigned events, void *user) {
    (void)s;
    if (events & MG_UDP_EV_READABLE)
        complete_pops(user);
}

static int udp_socket(struct mg_inet_libos *lib, int domain, int type, int protocol, void **sock_out) {
    (void)domain;
    (void)type;
    (void)protocol;
    if (!lib->inet->udp)
        return -EPROTONOSUPPORT;
    struct udp_socket *u = calloc(1, sizeof(*u));
    if (!u)
        return -ENOMEM;
    u->hdr.proto = &mg_inet_udp_proto;
    u->lib = lib;
    u->sock = mg_udp_open(lib->inet->udp, udp_notify, u);
    if (!u->sock) {
        free(u);
        return -ENOMEM;
    }
    *sock_out = u;
    return 0;
}

static int udp_bind(struct mg_inet_libos *lib, void *sock, const struct sockaddr *sa, socklen_t len) {
    (void)lib;
    struct udp_socket *u = sock;
    uint32_t addr;
    uint16_t port;
    int rc = mg_inet_addr_of(sa, len, &addr, &port);
    return rc ? rc : mg_udp_bind(u->sock, addr, port);
}

static int udp_push(struct mg_inet_libos *lib, void *sock, const demi_sgarray_t *sga, const struct sockaddr *sa,
                    socklen_t len, struct mg_op *op) {
    struct udp_socket *u = sock;
    if (!sa)
        return -EDESTADDRREQ; /* UDP queues have no connected peer */
    uint32_t addr;
    uint16_t port;
    int rc = mg_inet_addr_of(sa, len, &addr, &port);
    if (rc)
        return rc;
    if (sga->sga_numsegs != 1)
        return -EINVAL;
    struct mg_buf *buf = mg_rt_sga_to_buf(lib->rt, sga);
    const uint8_t *data = sga->sga_segs[0].sgaseg_buf;
    uint32_t n = sga->sga_segs[0].sgaseg_len;
    /* A segment outside its buffer is not ours to send without a copy. */
    if (buf && (data < buf->base || data + n > buf->base + buf->cap))
        buf = NULL;
    rc = mg_udp_sendto(u->sock, buf, data, n, addr, port);
    if (rc < 0)
        mg_op_fail(lib->rt, op, -rc);
    else
        mg_op_complete_push(lib->rt, op);
    return 0;
}

static int udp_pop(struct mg_inet_libos *lib, void *sock, struct mg_op *op) {
    (void)lib;
    struct udp_socket *u = sock;
    op->libos_next = NULL;
    if (u->pops_tail)
        u->pops_tail->libos_next = op;
    else
        u->pops_head = op;
    u->pops_tail = op;
    complete_pops(u);
    return 0;
}

static int udp_close(struct mg_inet_libos *lib, void *sock) {
    (void)lib;
    struct udp_socket *u = sock;
    /* Pending pops are left to the core, which fails them with ECANCELED. */
    u->pops_head = u->pops_tail = NULL;
    mg_udp_close(u->sock);
    free(u);
    return 0;
}

static int udp_listen(struct mg_inet_libos *lib, void *sock, int backlog) {
    (void)lib;
    (void)sock;
    (void)backlog;
    return -EOPNOTSUPP;
}

static int udp_getpeername(struct mg_inet_libos *lib, void *sock, struct sockaddr *addr, socklen_t *len) {
    (void)lib;
    (void)sock;
    (void)addr;
    (void)len;
    return -ENOTCONN;
}

const struct mg_inet_proto_ops mg_inet_udp_proto = {
    .name = "udp",
    .attach = udp_attach,
    .detach = udp_detach,
    .socket = udp_socket,
    .bind = udp_bind,
    .listen = udp_listen,
    .push = udp_push,
    .pop = udp_pop,
    .close = udp_close,
    .getpeername = udp_getpeername,
};
