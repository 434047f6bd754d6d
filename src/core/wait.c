/* core/wait.c — demi_wait, demi_wait_any and demi_wait_next_n.
 *
 * Waiting is where the libOS works: each round checks for a completed operation and,
 * if there is none, lets the libOS poll for at most the time left. Deadlines are read
 * from the runtime's clock, so under the simulator a timeout passes in virtual time.
 * A NULL timeout waits forever; a zero timeout polls exactly once. Tokens are checked
 * against the op table before anything else, so a stale, consumed or forged token is
 * EINVAL and never touches an operation. */
#include <demi/wait.h>

#include "core/log.h"
#include "core/pdpix_internal.h"
#include "core/sim_hooks.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define FOREVER UINT64_MAX

/* Converts a timeout into an absolute deadline (FOREVER for NULL); EINVAL for a
 * negative or non-normalised timespec. */
static int deadline_from(struct mg_rt *rt, const struct timespec *timeout, uint64_t *deadline) {
    if (!timeout) {
        *deadline = FOREVER;
        return 0;
    }
    if (timeout->tv_sec < 0 || timeout->tv_nsec < 0 || timeout->tv_nsec >= (long)MG_NS_PER_S)
        return EINVAL;
    uint64_t sec = (uint64_t)timeout->tv_sec;
    uint64_t now = mg_clock_now(rt->clock);
    if (sec > (FOREVER - 1) / MG_NS_PER_S) {
        *deadline = FOREVER;
        return 0;
    }
    uint64_t span = sec * MG_NS_PER_S + (uint64_t)timeout->tv_nsec;
    *deadline = span > FOREVER - 1 - now ? FOREVER : now + span;
    return 0;
}

/* One round of libOS work. Returns 0 to keep waiting, ETIMEDOUT once the deadline has
 * passed (after at least one poll), or the libOS's fatal error. */
static int poll_round(struct mg_rt *rt, uint64_t deadline, bool *polled) {
    uint64_t remaining = FOREVER;
    const struct mg_rt_sim_hooks *sim = mg_rt_get_sim_hooks();
    if (sim && sim->block) {
        /* Simulated time: the scheduler polls the hosts; this process just waits. */
        if (*polled && mg_clock_now(rt->clock) >= deadline)
            return ETIMEDOUT;
        bool repeat = *polled;
        *polled = true;
        sim->block(sim->ctx, rt, deadline, repeat);
        return 0;
    }
    if (deadline != FOREVER) {
        uint64_t now = mg_clock_now(rt->clock);
        if (*polled && now >= deadline)
            return ETIMEDOUT;
        remaining = deadline > now ? deadline - now : 0;
    }
    int rc = rt->libos->poll(rt->libos_state, remaining);
    *polled = true;
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN) {
        MG_ERROR("pdpix", "libOS %s failed while polling: %s", rt->libos->name, strerror(-rc));
        return -rc;
    }
    return 0;
}

/* Lets the libOS work until check(rt, ctx) finds what the caller waits for (returns
 * 0), or reports an error (any other value than EAGAIN, "not yet"), or the deadline
 * passes (ETIMEDOUT), or the libOS fails. check runs before every poll. */
static int wait_until(struct mg_rt *rt, const struct timespec *timeout, int (*check)(struct mg_rt *rt, void *ctx),
                      void *ctx) {
    uint64_t deadline;
    int err = deadline_from(rt, timeout, &deadline);
    if (err)
        return err;
    bool polled = false;
    for (;;) {
        err = check(rt, ctx);
        if (err != EAGAIN)
            return err;
        err = poll_round(rt, deadline, &polled);
        if (err)
            return err;
    }
}

/* demi_wait: the token's op is done. Looked up again each round: the table is the only
 * thing trusted. */
static int token_done(struct mg_rt *rt, void *ctx) {
    const struct mg_op *op = mg_op_lookup(&rt->ops, *(const demi_qtoken_t *)ctx);
    if (!op)
        return EINVAL;
    return op->state == MG_OP_DONE ? 0 : EAGAIN;
}

int demi_wait(demi_qresult_t *qr_out, demi_qtoken_t qt, const struct timespec *timeout) {
    struct mg_rt *rt = mg_pdpix_runtime("demi_wait");
    if (!rt)
        return EPERM;
    if (!qr_out || !mg_op_lookup(&rt->ops, qt))
        return EINVAL;
    int err = wait_until(rt, timeout, token_done, &qt);
    if (err)
        return err;
    mg_op_consume(rt, mg_op_lookup(&rt->ops, qt), qr_out);
    return 0;
}

static bool all_tokens_live(struct mg_rt *rt, const demi_qtoken_t qts[], int num_qts) {
    for (int i = 0; i < num_qts; i++)
        if (!mg_op_lookup(&rt->ops, qts[i]))
            return false;
    return true;
}

struct any_done {
    const demi_qtoken_t *qts;
    int num_qts;
    int first; /* out: the index of the first done op */
};

/* demi_wait_any: some op among the tokens is done (the first one counts); a token
 * that went stale is EINVAL. */
static int any_done(struct mg_rt *rt, void *ctx) {
    struct any_done *any = ctx;
    for (int i = 0; i < any->num_qts; i++) {
        const struct mg_op *op = mg_op_lookup(&rt->ops, any->qts[i]);
        if (!op)
            return EINVAL;
        if (op->state == MG_OP_DONE) {
            any->first = i;
            return 0;
        }
    }
    return EAGAIN;
}

int demi_wait_any(demi_qresult_t *qr_out, int *ready_offset, const demi_qtoken_t qts[], int num_qts,
                  const struct timespec *timeout) {
    struct mg_rt *rt = mg_pdpix_runtime("demi_wait_any");
    if (!rt)
        return EPERM;
    if (!qr_out || !ready_offset || !qts || num_qts <= 0)
        return EINVAL;
    if (!all_tokens_live(rt, qts, num_qts))
        return EINVAL;
    struct any_done any = {.qts = qts, .num_qts = num_qts, .first = -1};
    int err = wait_until(rt, timeout, any_done, &any);
    if (err)
        return err;
    mg_op_consume(rt, mg_op_lookup(&rt->ops, qts[any.first]), qr_out);
    *ready_offset = any.first;
    return 0;
}

/* demi_wait_next_n: some op, any op, is done. */
static int some_done(struct mg_rt *rt, void *ctx) {
    (void)ctx;
    return rt->ops.done_head ? 0 : EAGAIN;
}

int demi_wait_next_n(demi_qresult_t *qr_out, int num_qrs, int *num_qrs_out, const struct timespec *timeout) {
    struct mg_rt *rt = mg_pdpix_runtime("demi_wait_next_n");
    if (!rt)
        return EPERM;
    if (!qr_out || !num_qrs_out || num_qrs <= 0)
        return EINVAL;
    *num_qrs_out = 0;
    int err = wait_until(rt, timeout, some_done, NULL);
    if (err)
        return err;
    int n = 0;
    while (n < num_qrs && rt->ops.done_head)
        mg_op_consume(rt, rt->ops.done_head, &qr_out[n++]);
    *num_qrs_out = n;
    return 0;
}
