/* core/op_complete.c — how a libOS completes an operation.
 *
 * Each function fills the op's demi_qresult_t the way demi_wait* hand it to the
 * application (opcode, qd, token, value) and moves the op to the completion list. A
 * libOS that completes an op twice, or one that is not pending, is a libOS bug: it is
 * logged and ignored rather than corrupting the lists. */
#include "core/log.h"
#include "core/rt_internal.h"

#include <errno.h>
#include <string.h>

static bool completable(struct mg_rt *rt, struct mg_op *op, const char *what) {
    if (!rt || !op) {
        MG_ERROR("core", "%s: NULL runtime or operation (libOS bug)", what);
        return false;
    }
    if (op->state != MG_OP_PENDING) {
        MG_ERROR("core", "%s: operation %#llx on qd %d is not pending (libOS bug); ignored", what,
                 (unsigned long long)mg_op_token(op), op->qd);
        return false;
    }
    return true;
}

/* The fields every result carries, whatever the libOS put there. */
static void finish(struct mg_rt *rt, struct mg_op *op) {
    op->result.qr_qd = op->qd;
    op->result.qr_qt = mg_op_token(op);
    mg_op_mark_done(rt, op);
}

void mg_op_complete(struct mg_rt *rt, struct mg_op *op, const demi_qresult_t *result) {
    if (!completable(rt, op, "mg_op_complete"))
        return;
    if (result) {
        op->result = *result;
    } else {
        memset(&op->result, 0, sizeof(op->result));
        op->result.qr_opcode = DEMI_OPC_FAILED;
        op->result.qr_ret = EINVAL;
    }
    finish(rt, op);
}

void mg_op_complete_push(struct mg_rt *rt, struct mg_op *op) {
    if (!completable(rt, op, "mg_op_complete_push"))
        return;
    memset(&op->result, 0, sizeof(op->result));
    op->result.qr_opcode = DEMI_OPC_PUSH;
    op->result.qr_value.sga = op->sga;
    finish(rt, op);
}

void mg_op_complete_pop(struct mg_rt *rt, struct mg_op *op, struct mg_buf *buf, const struct sockaddr_in *from) {
    if (!completable(rt, op, "mg_op_complete_pop"))
        return;
    memset(&op->result, 0, sizeof(op->result));
    /* End of stream: a zero-length array that demi_sgafree accepts like any other. */
    if (!buf)
        buf = mg_buf_alloc_heap(0, 0);
    if (!buf) {
        op->result.qr_opcode = DEMI_OPC_FAILED;
        op->result.qr_ret = ENOMEM;
        finish(rt, op);
        return;
    }
    demi_sgarray_t *sga = &op->result.qr_value.sga;
    mg_rt_sga_from_buf(rt, buf, sga);
    if (from)
        sga->sga_addr = *from;
    op->result.qr_opcode = DEMI_OPC_POP;
    finish(rt, op);
}

void mg_op_complete_accept(struct mg_rt *rt, struct mg_op *op, int new_qd, const struct sockaddr_in *peer) {
    if (!completable(rt, op, "mg_op_complete_accept"))
        return;
    memset(&op->result, 0, sizeof(op->result));
    op->result.qr_opcode = DEMI_OPC_ACCEPT;
    op->result.qr_value.ares.qd = new_qd;
    if (peer)
        op->result.qr_value.ares.addr = *peer;
    finish(rt, op);
}

void mg_op_complete_connect(struct mg_rt *rt, struct mg_op *op) {
    if (!completable(rt, op, "mg_op_complete_connect"))
        return;
    memset(&op->result, 0, sizeof(op->result));
    op->result.qr_opcode = DEMI_OPC_CONNECT;
    finish(rt, op);
}

void mg_op_fail(struct mg_rt *rt, struct mg_op *op, int err) {
    if (!completable(rt, op, "mg_op_fail"))
        return;
    memset(&op->result, 0, sizeof(op->result));
    op->result.qr_opcode = DEMI_OPC_FAILED;
    /* Accept -errno too: a libOS passing its internal convention still reports the cause. */
    op->result.qr_ret = err < 0 ? -err : (err == 0 ? EIO : err);
    finish(rt, op);
}
