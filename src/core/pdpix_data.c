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

/* Both push calls: addr is NULL for demi_push; pointers_given is the caller's check of
 * the pointers it requires. */
static int start_push(const char *fn, bool pointers_given, demi_qtoken_t *qt_out, int qd, const demi_sgarray_t *sga,
                      const struct sockaddr *addr, socklen_t len) {
    struct mg_rt *rt;
    struct mg_queue *q;
    int err = mg_pdpix_resolve_qd(fn, pointers_given, qd, &rt, &q);
    if (!err)
        err = mg_pdpix_check_push_sga(sga);
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
    return mg_pdpix_hand_out(rt, op, qt, rc, qt_out);
}

int demi_push(demi_qtoken_t *qt_out, int qd, const demi_sgarray_t *sga) {
    return start_push("demi_push", qt_out && sga, qt_out, qd, sga, NULL, 0);
}

int demi_pushto(demi_qtoken_t *qt_out, int sockqd, const demi_sgarray_t *sga, const struct sockaddr *dest_addr,
                socklen_t size) {
    return start_push("demi_pushto", qt_out && sga && dest_addr, qt_out, sockqd, sga, dest_addr, size);
}

int demi_pop(demi_qtoken_t *qt_out, int qd) {
    struct mg_rt *rt;
    struct mg_queue *q;
    int err = mg_pdpix_resolve_qd("demi_pop", qt_out != NULL, qd, &rt, &q);
    if (err)
        return err;
    return mg_pdpix_start_sock_op(rt, qd, q, DEMI_OPC_POP, rt->libos->pop, qt_out);
}
