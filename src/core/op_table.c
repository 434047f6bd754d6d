/* core/op_table.c — the operation table behind qtokens.
 *
 * Operations live in fixed-size chunks so a libOS can hold an op pointer while the
 * table grows. A qtoken is (generation << 32) | (slot + 1), and a slot's generation
 * moves on every time the slot is freed, so a consumed, stale or forged token is
 * refused after reading only the table: the op it might have named is never touched
 * unless slot and generation both match a live operation. Slots at or above `fresh`
 * have never been handed out: their memory is neither read nor written until they
 * are (a table is sized for the worst case, and an untouched page costs nothing). */
#include "core/rt_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define OP_CHUNK_SHIFT 8
#define OP_CHUNK_SIZE (1u << OP_CHUNK_SHIFT)
/* Slots are numbered so that slot + 1 fits the token's low 32 bits. */
#define OP_MAX_CHUNKS ((1u << 30) >> OP_CHUNK_SHIFT)

static uint32_t table_slots(const struct mg_op_table *t) {
    return t->nchunks << OP_CHUNK_SHIFT;
}

static struct mg_op *slot_op(const struct mg_op_table *t, uint32_t slot) {
    return &t->chunks[slot >> OP_CHUNK_SHIFT][slot & (OP_CHUNK_SIZE - 1)];
}

static int add_chunk(struct mg_op_table *t) {
    if (t->nchunks >= OP_MAX_CHUNKS)
        return -ENOMEM;
    if (t->nchunks == t->chunks_cap) {
        uint32_t ncap = t->chunks_cap ? t->chunks_cap * 2 : 4;
        struct mg_op **nc = realloc(t->chunks, (size_t)ncap * sizeof(*nc));
        if (!nc)
            return -ENOMEM;
        t->chunks = nc;
        t->chunks_cap = ncap;
    }
    uint32_t nslots = table_slots(t) + OP_CHUNK_SIZE;
    uint32_t *nfree = realloc(t->free_slots, (size_t)nslots * sizeof(*nfree));
    if (!nfree)
        return -ENOMEM;
    t->free_slots = nfree;
    /* Not cleared: a slot is initialised when it is first handed out (mg_op_start). */
    struct mg_op *chunk = malloc(OP_CHUNK_SIZE * sizeof(*chunk));
    if (!chunk)
        return -ENOMEM;
    t->chunks[t->nchunks++] = chunk;
    return 0;
}

int mg_op_table_init(struct mg_op_table *t, uint32_t initial_slots) {
    memset(t, 0, sizeof(*t));
    do {
        int rc = add_chunk(t);
        if (rc < 0) {
            mg_op_table_fini(t);
            return rc;
        }
    } while (table_slots(t) < initial_slots);
    return 0;
}

void mg_op_table_fini(struct mg_op_table *t) {
    for (uint32_t i = 0; i < t->nchunks; i++)
        free(t->chunks[i]);
    free(t->chunks);
    free(t->free_slots);
    memset(t, 0, sizeof(*t));
}

demi_qtoken_t mg_op_token(const struct mg_op *op) {
    return ((demi_qtoken_t)op->generation << 32) | (demi_qtoken_t)(op->slot + 1u);
}

struct mg_op *mg_op_lookup(struct mg_op_table *t, demi_qtoken_t qt) {
    if ((qt & 0xffffffffu) == 0)
        return NULL;
    uint32_t slot = MG_QT_SLOT(qt);
    if (slot >= t->fresh)
        return NULL; /* never handed out (or beyond the table) */
    struct mg_op *op = slot_op(t, slot);
    if (op->generation != MG_QT_GEN(qt) || op->state == MG_OP_FREE)
        return NULL;
    return op;
}

static void queue_link(struct mg_rt *rt, struct mg_op *op) {
    struct mg_queue *q = mg_qd_table_lookup(&rt->qds, op->qd);
    if (!q)
        return;
    op->qd_prev = NULL;
    op->qd_next = q->pending;
    if (q->pending)
        q->pending->qd_prev = op;
    q->pending = op;
}

/* Removes a PENDING op from its queue's list. */
static void queue_unlink(struct mg_rt *rt, struct mg_op *op) {
    struct mg_queue *q = mg_qd_table_lookup(&rt->qds, op->qd);
    if (op->qd_prev)
        op->qd_prev->qd_next = op->qd_next;
    else if (q && q->pending == op)
        q->pending = op->qd_next;
    if (op->qd_next)
        op->qd_next->qd_prev = op->qd_prev;
    op->qd_next = op->qd_prev = NULL;
}

static void done_append(struct mg_op_table *t, struct mg_op *op) {
    op->done_next = NULL;
    op->done_prev = t->done_tail;
    if (t->done_tail)
        t->done_tail->done_next = op;
    else
        t->done_head = op;
    t->done_tail = op;
    t->done_count++;
}

static void done_unlink(struct mg_op_table *t, struct mg_op *op) {
    if (op->done_prev)
        op->done_prev->done_next = op->done_next;
    else
        t->done_head = op->done_next;
    if (op->done_next)
        op->done_next->done_prev = op->done_prev;
    else
        t->done_tail = op->done_prev;
    op->done_next = op->done_prev = NULL;
    t->done_count--;
}

struct mg_op *mg_op_start(struct mg_rt *rt, int qd, demi_opcode_t opcode) {
    struct mg_op_table *t = &rt->ops;
    uint32_t slot, generation = 0;
    struct mg_op *op;
    /* Freed slots first, most recent first; then the lowest never-used one. */
    if (t->free_count > 0) {
        slot = t->free_slots[--t->free_count];
        op = slot_op(t, slot);
        generation = op->generation;
    } else {
        if (t->fresh == table_slots(t) && add_chunk(t) < 0)
            return NULL;
        slot = t->fresh++;
        op = slot_op(t, slot);
    }
    memset(op, 0, sizeof(*op));
    op->generation = generation;
    op->slot = slot;
    op->state = MG_OP_PENDING;
    op->opcode = opcode;
    op->qd = qd;
    queue_link(rt, op);
    t->pending_count++;
    return op;
}

/* Returns a slot to the free stack; the generation bump is what makes old tokens stale. */
static void op_free(struct mg_op_table *t, struct mg_op *op) {
    op->state = MG_OP_FREE;
    op->generation++;
    op->libos_data = NULL;
    op->libos_next = op->libos_prev = NULL;
    t->free_slots[t->free_count++] = op->slot;
}

void mg_op_mark_done(struct mg_rt *rt, struct mg_op *op) {
    queue_unlink(rt, op);
    rt->ops.pending_count--;
    op->state = MG_OP_DONE;
    done_append(&rt->ops, op);
    rt->ops.completions++;
}

uint64_t mg_rt_completion_count(const struct mg_rt *rt) {
    return rt->ops.completions;
}

void mg_op_consume(struct mg_rt *rt, struct mg_op *op, demi_qresult_t *qr_out) {
    *qr_out = op->result;
    done_unlink(&rt->ops, op);
    op_free(&rt->ops, op);
}

void mg_op_abandon(struct mg_rt *rt, struct mg_op *op) {
    if (op->state == MG_OP_PENDING) {
        queue_unlink(rt, op);
        rt->ops.pending_count--;
    } else if (op->state == MG_OP_DONE) {
        done_unlink(&rt->ops, op);
    } else {
        return;
    }
    op_free(&rt->ops, op);
}

void mg_op_cancel_queue(struct mg_rt *rt, int qd) {
    struct mg_queue *q;
    while ((q = mg_qd_table_lookup(&rt->qds, qd)) != NULL && q->pending != NULL)
        mg_op_fail(rt, q->pending, ECANCELED);
}
