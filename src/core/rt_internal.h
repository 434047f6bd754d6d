/* core/rt_internal.h — the inside of a runtime, shared only by the files of src/core.
 *
 * struct mg_rt is opaque to libOSes (they reach it through runtime.h); the PDPIX entry
 * points, the waits and the sga calls need its tables, which are declared here. Each
 * table lives in its own file: qd_table.c, op_table.c, sga_registry.c. */
#ifndef MARGAY_CORE_RT_INTERNAL_H
#define MARGAY_CORE_RT_INTERNAL_H

#include <demi/types.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/random.h"
#include "core/runtime.h"

/* ---- queue descriptors (qd_table.c) ---- */

/* One open queue: the libOS's object and the core's list of its pending operations. */
struct mg_queue {
    void *sock;
    struct mg_op *pending; /* linked through qd_next/qd_prev */
    bool open;
};

struct mg_qd_table {
    struct mg_queue *queues; /* cap entries; [0, high) have been handed out at least once */
    uint32_t cap, high;
    uint32_t *free_heap; /* min-heap of released qds below high, so reuse is lowest-first */
    uint32_t free_count, free_cap;
    uint32_t open_count;
};

int mg_qd_table_init(struct mg_qd_table *t, uint32_t initial_cap);
void mg_qd_table_fini(struct mg_qd_table *t);
/* Returns the new qd (>= 0) or -ENOMEM / -EMFILE. */
int mg_qd_table_alloc(struct mg_qd_table *t, void *sock);
/* The open queue behind qd, or NULL for a negative, never-opened or closed qd. The
 * pointer is valid until the next allocation (the table may move). */
struct mg_queue *mg_qd_table_lookup(struct mg_qd_table *t, int qd);
/* Frees an open qd for reuse. Its pending list must be empty. */
void mg_qd_table_release(struct mg_qd_table *t, int qd);

/* ---- operations and qtokens (op_table.c) ---- */

struct mg_op_table {
    struct mg_op **chunks; /* fixed-size chunks, so an op never moves while the libOS holds it */
    uint32_t nchunks, chunks_cap;
    uint32_t *free_slots; /* stack of freed slot numbers; capacity = nchunks * chunk size */
    uint32_t free_count;
    struct mg_op *done_head, *done_tail; /* completion FIFO (done_next/done_prev) */
    uint32_t pending_count, done_count;
    uint64_t completions; /* operations ever marked done (mg_rt_completion_count) */
    uint32_t fresh;       /* slots [0, fresh) have been handed out at least once */
};

int mg_op_table_init(struct mg_op_table *t, uint32_t initial_slots);
void mg_op_table_fini(struct mg_op_table *t);
/* Starts an operation on an open qd: PENDING, linked into the queue's pending list.
 * NULL when the table cannot grow. */
struct mg_op *mg_op_start(struct mg_rt *rt, int qd, demi_opcode_t opcode);
/* The live (PENDING or DONE) operation a token names, or NULL for a token that is
 * zero, out of range, of another generation or of a free slot. Reads only the table. */
struct mg_op *mg_op_lookup(struct mg_op_table *t, demi_qtoken_t qt);
demi_qtoken_t mg_op_token(const struct mg_op *op);
/* Moves a PENDING op (its result already filled) to DONE: off its queue's pending
 * list, onto the end of the completion FIFO. */
void mg_op_mark_done(struct mg_rt *rt, struct mg_op *op);
/* Copies a DONE op's result out and frees its slot (its token becomes stale). */
void mg_op_consume(struct mg_rt *rt, struct mg_op *op, demi_qresult_t *qr_out);
/* Frees an op in any state (a libOS refused to start it). */
void mg_op_abandon(struct mg_rt *rt, struct mg_op *op);
/* Fails with ECANCELED every op still pending on qd (the safety net after close). */
void mg_op_cancel_queue(struct mg_rt *rt, int qd);

/* ---- application-owned buffers (sga_registry.c) ---- */

struct mg_sga_entry {
    struct mg_buf *buf; /* NULL: empty slot */
    uint32_t count;     /* arrays handed out for this buffer and not yet freed */
};

/* Open addressing with linear probing and backward-shift deletion (no tombstones). Keys
 * are compared as pointer values and never dereferenced, so a forged pointer is harmless. */
struct mg_sga_registry {
    struct mg_sga_entry *slots;
    uint32_t cap; /* power of two */
    uint32_t used;
};

int mg_sga_registry_init(struct mg_sga_registry *r, uint32_t initial_cap);
/* Drops every reference still registered (arrays the application never freed). */
void mg_sga_registry_fini(struct mg_sga_registry *r);
int mg_sga_registry_add(struct mg_sga_registry *r, struct mg_buf *buf);
bool mg_sga_registry_contains(const struct mg_sga_registry *r, const void *buf);
/* Drops one registration: 0, or -ENOENT when buf is not registered. */
int mg_sga_registry_remove(struct mg_sga_registry *r, const void *buf);

/* ---- the runtime ---- */

struct mg_rt {
    struct mg_config cfg; /* deep copy: owns its eal_args */
    struct mg_clock own_clock;
    struct mg_clock *clock; /* &own_clock or the caller's */
    struct mg_rand rand;
    const struct mg_libos_ops *libos;
    void *libos_state;
    struct mg_qd_table qds;
    struct mg_op_table ops;
    struct mg_sga_registry sgas;
};

#endif /* MARGAY_CORE_RT_INTERNAL_H */
