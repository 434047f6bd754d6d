/* core/pdpix_control.c — the PDPIX control calls: socket, bind, listen, accept,
 * connect, close and the socket-option calls.
 *
 * Each call checks the runtime, then every argument (NULL pointer: EINVAL; bad qd:
 * EBADF; malformed address: EINVAL), and only then reaches the libOS, converting its
 * -errno into the +errno PDPIX returns. */
#include <demi/libos.h>

#include "core/log.h"
#include "core/pdpix_args.h"
#include "core/pdpix_internal.h"

#include <errno.h>
#include <string.h>

int demi_socket(int *sockqd_out, int domain, int type, int protocol) {
    struct mg_rt *rt = mg_pdpix_runtime("demi_socket");
    if (!rt)
        return EPERM;
    if (!sockqd_out)
        return EINVAL;
    void *sock = NULL;
    int rc = rt->libos->socket(rt->libos_state, domain, type, protocol, &sock);
    if (rc < 0)
        return mg_pdpix_errno(rc);
    int qd = mg_qd_table_alloc(&rt->qds, sock);
    if (qd < 0) {
        rt->libos->close(rt->libos_state, sock);
        return mg_pdpix_errno(qd);
    }
    *sockqd_out = qd;
    return 0;
}

int demi_bind(int sockqd, const struct sockaddr *addr, socklen_t size) {
    struct mg_rt *rt;
    struct mg_queue *q;
    int err = mg_pdpix_resolve_qd("demi_bind", addr != NULL, sockqd, &rt, &q);
    if (!err)
        err = mg_pdpix_check_sockaddr(addr, size);
    if (err)
        return err;
    if (!rt->libos->bind)
        return EOPNOTSUPP;
    return mg_pdpix_errno(rt->libos->bind(rt->libos_state, q->sock, addr, size));
}

int demi_listen(int sockqd, int backlog) {
    struct mg_rt *rt;
    struct mg_queue *q;
    int err = mg_pdpix_resolve_qd("demi_listen", true, sockqd, &rt, &q);
    if (err)
        return err;
    if (backlog < 0)
        return EINVAL;
    if (!rt->libos->listen)
        return EOPNOTSUPP;
    return mg_pdpix_errno(rt->libos->listen(rt->libos_state, q->sock, backlog));
}

int demi_accept(demi_qtoken_t *qt_out, int sockqd) {
    struct mg_rt *rt;
    struct mg_queue *q;
    int err = mg_pdpix_resolve_qd("demi_accept", qt_out != NULL, sockqd, &rt, &q);
    if (err)
        return err;
    return mg_pdpix_start_sock_op(rt, sockqd, q, DEMI_OPC_ACCEPT, rt->libos->accept, qt_out);
}

int demi_connect(demi_qtoken_t *qt_out, int sockqd, const struct sockaddr *addr, socklen_t size) {
    struct mg_rt *rt;
    struct mg_queue *q;
    int err = mg_pdpix_resolve_qd("demi_connect", qt_out && addr, sockqd, &rt, &q);
    if (!err)
        err = mg_pdpix_check_sockaddr(addr, size);
    if (err)
        return err;
    if (!rt->libos->connect)
        return EOPNOTSUPP;
    void *sock = q->sock;
    struct mg_op *op = mg_op_start(rt, sockqd, DEMI_OPC_CONNECT);
    if (!op)
        return ENOMEM;
    memcpy(&op->addr, addr, size);
    op->addrlen = size;
    demi_qtoken_t qt = mg_op_token(op);
    int rc = rt->libos->connect(rt->libos_state, sock, (const struct sockaddr *)&op->addr, size, op);
    return mg_pdpix_hand_out(rt, op, qt, rc, qt_out);
}

int demi_close(int qd) {
    struct mg_rt *rt;
    struct mg_queue *q;
    int err = mg_pdpix_resolve_qd("demi_close", true, qd, &rt, &q);
    if (err)
        return err;
    int rc = rt->libos->close(rt->libos_state, q->sock);
    /* The libOS must have failed every pending op; anything it forgot still completes,
     * so no waiter is left hanging on a queue that no longer exists. */
    mg_op_cancel_queue(rt, qd);
    mg_qd_table_release(&rt->qds, qd);
    if (rc < 0)
        MG_DEBUG("pdpix", "demi_close(%d): libOS reported %s; the queue is closed anyway", qd, strerror(-rc));
    return mg_pdpix_errno(rc);
}

int demi_setsockopt(int qd, int level, int optname, const void *optval, socklen_t optlen) {
    struct mg_rt *rt;
    struct mg_queue *q;
    int err = mg_pdpix_resolve_qd("demi_setsockopt", optval != NULL, qd, &rt, &q);
    if (err)
        return err;
    if (!rt->libos->setsockopt)
        return ENOPROTOOPT;
    return mg_pdpix_errno(rt->libos->setsockopt(rt->libos_state, q->sock, level, optname, optval, optlen));
}

int demi_getsockopt(int qd, int level, int optname, void *optval, socklen_t *optlen) {
    struct mg_rt *rt;
    struct mg_queue *q;
    int err = mg_pdpix_resolve_qd("demi_getsockopt", optval && optlen, qd, &rt, &q);
    if (err)
        return err;
    if (!rt->libos->getsockopt)
        return ENOPROTOOPT;
    return mg_pdpix_errno(rt->libos->getsockopt(rt->libos_state, q->sock, level, optname, optval, optlen));
}

int demi_getpeername(int qd, struct sockaddr *addr, socklen_t *addrlen) {
    struct mg_rt *rt;
    struct mg_queue *q;
    int err = mg_pdpix_resolve_qd("demi_getpeername", addr && addrlen, qd, &rt, &q);
    if (err)
        return err;
    if (!rt->libos->getpeername)
        return EOPNOTSUPP;
    return mg_pdpix_errno(rt->libos->getpeername(rt->libos_state, q->sock, addr, addrlen));
}
