/* core/pdpix_internal.h — helpers shared by the files that implement the PDPIX calls. */
#ifndef MARGAY_CORE_PDPIX_INTERNAL_H
#define MARGAY_CORE_PDPIX_INTERNAL_H

#include "core/rt_internal.h"

#include <errno.h>

/* The current runtime, or NULL after logging "<fn> called before demi_init". */
struct mg_rt *mg_pdpix_runtime(const char *fn);

/* The runtime and the open queue behind qd, for the PDPIX call fn, checked in the order
 * every call answers them: no runtime (EPERM), then a missing pointer argument (EINVAL,
 * when !pointers_given), then a qd that names no open queue (EBADF). Returns 0 or that
 * +errno; *rt_out and *q_out are set only on 0. */
int mg_pdpix_resolve_qd(const char *fn, bool pointers_given, int qd, struct mg_rt **rt_out, struct mg_queue **q_out);

/* Internal results are 0 or -errno; PDPIX results are 0 or +errno. */
static inline int mg_pdpix_errno(int rc) {
    return rc < 0 ? -rc : rc;
}

/* Finishes starting op once the libOS answered rc: a refusal abandons the op, so its
 * token qt never reaches the application, and returns the +errno; success hands qt out. */
static inline int mg_pdpix_hand_out(struct mg_rt *rt, struct mg_op *op, demi_qtoken_t qt, int rc,
                                    demi_qtoken_t *qt_out) {
    if (rc < 0) {
        mg_op_abandon(rt, op);
        return mg_pdpix_errno(rc);
    }
    *qt_out = qt;
    return 0;
}

/* Starts an opcode op on queue q (number qd) through a libOS entry that takes only the
 * socket and the op (accept, pop): EOPNOTSUPP when the libOS has no such entry, ENOMEM
 * when the op table cannot grow, else as mg_pdpix_hand_out. */
static inline int mg_pdpix_start_sock_op(struct mg_rt *rt, int qd, const struct mg_queue *q, demi_opcode_t opcode,
                                         int (*start)(void *state, void *sock, struct mg_op *op),
                                         demi_qtoken_t *qt_out) {
    if (!start)
        return EOPNOTSUPP;
    void *sock = q->sock;
    struct mg_op *op = mg_op_start(rt, qd, opcode);
    if (!op)
        return ENOMEM;
    demi_qtoken_t qt = mg_op_token(op);
    return mg_pdpix_hand_out(rt, op, qt, start(rt->libos_state, sock, op), qt_out);
}

#endif /* MARGAY_CORE_PDPIX_INTERNAL_H */
