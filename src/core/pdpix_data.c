/* core/pdpix_data.c — the PDPIX data calls: push, pushto and pop.
 *
 * Each starts an operation (a qtoken) after checking the runtime, the pointers, the qd
 * and the array; the libOS completes it later with mg_op_complete_*. A libOS that
 * refuses to start it gets the op back, so the token is never handed out. */
#include <demi/libos.h>

#include "core/pdpix_args.h"
#include "core/pdpix_internal.h"

#include <errno.h>
#include <string.h>

static int start_push(struct mg_rt *rt, demi_qtoken_t *qt_out, int qd, const demi_sgarray_t *sga,
                      const struct sockaddr *addr, socklen_t len) {
    struct mg_queue *q = mg_qd_table_lookup(&rt->qds, qd);
    if (!q)
        return EBADF;
    int err = mg_pdpix_check_push_sga(sga);
    if (!err && addr)
        err = mg_pdpix_check_sockaddr(addr, len);
    if (err)
        return err;
    if (!rt->libos->push)
        return EOPNOTSUPP;
    void *sock = q->sock;
    struct mg_op *op = mg_op_start(rt, qd, DEMI_OPC_PUSH);
    if (!op)
        return ENOMEM;
    op->sga = *sga;
    const struct sockaddr *op_addr = NULL;
    if (addr) {
        memcpy(&op->addr, addr, len);
        op->addrlen = len;
        op_addr = (const struct sockaddr *)&op->addr;
    }
    demi_qtoken_t qt = mg_op_token(op);
    int rc = rt->libos->push(rt->libos_state, sock, &op->sga, op_addr, op_addr ? len : 0, op);
    if (rc < 0) {
        mg_op_abandon(rt, op);
        return mg_pdpix_errno(rc);
    }
    *qt_out = qt;
    return 0;
}

int demi_push(demi_qtoken_t *qt_out, int qd, const demi_sgarray_t *sga) {
    struct mg_rt *rt = mg_pdpix_runtime("demi_push");
    if (!rt)
        return EPERM;
    if (!qt_out || !sga)
        return EINVAL;
    return start_push(rt, qt_out, qd, sga, NULL, 0);
}

int demi_pushto(demi_qtoken_t *qt_out, int sockqd, const demi_sgarray_t *sga, const struct sockaddr *dest_addr,
                socklen_t size) {
    struct mg_rt *rt = mg_pdpix_runtime("demi_pushto");
    if (!rt)
        return EPERM;
    if (!qt_out || !sga || !dest_addr)
        return EINVAL;
    return start_push(rt, qt_out, sockqd, sga, dest_addr, size);
}

int demi_pop(demi_qtoken_t *qt_out, int qd) {
    struct mg_rt *rt = mg_pdpix_runtime("demi_pop");
    if (!rt)
        return EPERM;
    if (!qt_out)
        return EINVAL;
    struct mg_queue *q = mg_qd_table_lookup(&rt->qds, qd);
    if (!q)
        return EBADF;
    if (!rt->libos->pop)
        return EOPNOTSUPP;
    void *sock = q->sock;
    struct mg_op *op = mg_op_start(rt, qd, DEMI_OPC_POP);
    if (!op)
        return ENOMEM;
    demi_qtoken_t qt = mg_op_token(op);
    int rc = rt->libos->pop(rt->libos_state, sock, op);
    if (rc < 0) {
        mg_op_abandon(rt, op);
        return mg_pdpix_errno(rc);
    }
    *qt_out = qt;
    return 0;
}
