/* core/runtime.h — the contract between the PDPIX entry points and a libOS.
 *
 * A runtime instance (struct mg_rt) owns the queue-descriptor table, the operation
 * table behind qtokens and the completion list. A libOS is a table of operations
 * (struct mg_libos_ops); the PDPIX calls validate their arguments, then call it. An
 * asynchronous call allocates an operation (struct mg_op) that the libOS keeps until
 * it completes it with mg_op_complete*(); demi_wait* consume completed operations.
 *
 * There are no globals below the PDPIX layer: the simulator runs many runtimes in
 * one process and switches mg_rt_current between them (DESIGN.md rule 2). */
#ifndef MARGAY_CORE_RUNTIME_H
#define MARGAY_CORE_RUNTIME_H

#include <demi/types.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/random.h"
#include "core/timer.h"

struct mg_rt;
struct mg_op;

/* A token is (generation << 32) | (slot + 1): zero is never a valid token, and a
 * token whose generation does not match its slot's is refused without touching it. */
#define MG_QT_SLOT(qt) ((uint32_t)((qt)&0xffffffffu) - 1u)
#define MG_QT_GEN(qt) ((uint32_t)((qt) >> 32))

enum mg_op_state {
    MG_OP_FREE = 0, /* slot unused */
    MG_OP_PENDING,  /* started, the libOS owns it */
    MG_OP_DONE,     /* completed, waiting to be consumed by demi_wait* */
};

/* One asynchronous operation. The libOS may link it into its own lists through
 * `libos_link` and keep per-operation state in `libos_data`/`libos_u64`. */
struct mg_op {
    enum mg_op_state state;
    uint32_t generation;
    demi_opcode_t opcode; /* what was asked: PUSH, POP, ACCEPT, CONNECT */
    int qd;
    demi_qresult_t result; /* filled in at completion */
    struct mg_op *libos_next, *libos_prev; /* free for the libOS's pending lists */
    struct mg_op *done_next;               /* completion list (core-owned) */
    struct mg_op *qd_next, *qd_prev;       /* pending ops of one queue (core-owned) */
    void *libos_data;
    uint64_t libos_u64;
    demi_sgarray_t sga;                    /* the pushed array, for push/pushto */
    struct sockaddr_storage addr;          /* pushto/connect address */
    socklen_t addrlen;
    struct mg_op *done_prev;               /* completion list back link (core-owned) */
    uint32_t slot;                         /* index in the op table (core-owned) */
};

/* The operations a libOS provides. Every function returns 0 or a negative errno.
 * `sock` is the libOS's object behind a queue descriptor. */
struct mg_libos_ops {
    const char *name;
    /* arg is mg_rt_params.libos_arg (inet: a struct mg_netdev * to drive instead of
     * opening the one the configuration names). */
    int (*init)(struct mg_rt *rt, void *arg, void **state_out);
    void (*fini)(void *state);
    int (*socket)(void *state, int domain, int type, int protocol, void **sock_out);
    int (*bind)(void *state, void *sock, const struct sockaddr *addr, socklen_t len);
    int (*listen)(void *state, void *sock, int backlog);
    int (*accept)(void *state, void *sock, struct mg_op *op);
    int (*connect)(void *state, void *sock, const struct sockaddr *addr, socklen_t len, struct mg_op *op);
    /* push and pushto share one entry: addr is NULL for push. */
    int (*push)(void *state, void *sock, const demi_sgarray_t *sga, const struct sockaddr *addr,
                socklen_t len, struct mg_op *op);
    int (*pop)(void *state, void *sock, struct mg_op *op);
    /* Must complete (with mg_op_fail(op, ECANCELED)) or forget every pending op of sock,
     * then release sock. */
    int (*close)(void *state, void *sock);
    int (*setsockopt)(void *state, void *sock, int level, int name, const void *val, socklen_t len);
    int (*getsockopt)(void *state, void *sock, int level, int name, void *val, socklen_t *len);
    int (*getpeername)(void *state, void *sock, struct sockaddr *addr, socklen_t *len);
    /* Does whatever work is ready and returns; may block for up to timeout_ns when
     * nothing is (UINT64_MAX = no limit). Returns the number of events handled. */
    int (*poll)(void *state, uint64_t timeout_ns);
    /* Buffers for demi_sgaalloc. NULL means the core's heap buffers. */
    struct mg_buf *(*buf_alloc)(void *state, size_t size);
};

/* Largest demi_sgaalloc the core allows. */
#define MG_SGA_MAX_SIZE (64u * 1024u * 1024u)

struct mg_rt_params {
    const struct mg_libos_ops *libos;
    const struct mg_config *cfg; /* copied into the runtime */
    struct mg_clock *clock;      /* NULL: the runtime's own monotonic clock */
    void *libos_arg;             /* passed to libos->init */
};

/* Builds and tears down a runtime with the given libOS. */
int mg_rt_create(const struct mg_rt_params *params, struct mg_rt **rt_out);
void mg_rt_destroy(struct mg_rt *rt);

/* The runtime the PDPIX calls act on (set by demi_init; switched by the simulator). */
struct mg_rt *mg_rt_current(void);
void mg_rt_set_current(struct mg_rt *rt);

/* What a libOS may reach through its runtime. */
const struct mg_config *mg_rt_config(struct mg_rt *rt);
struct mg_clock *mg_rt_clock(struct mg_rt *rt);
struct mg_rand *mg_rt_rand(struct mg_rt *rt);
void *mg_rt_libos_state(struct mg_rt *rt);

/* Gives a libOS object a queue descriptor (used for accepted connections). Returns
 * the qd (>= 0) or a negative errno. */
int mg_rt_qd_alloc(struct mg_rt *rt, void *sock);

/* Completing operations (called by a libOS). The op must be PENDING. */
void mg_op_complete(struct mg_rt *rt, struct mg_op *op, const demi_qresult_t *result);
void mg_op_complete_push(struct mg_rt *rt, struct mg_op *op);
void mg_op_complete_pop(struct mg_rt *rt, struct mg_op *op, struct mg_buf *buf, const struct sockaddr_in *from);
void mg_op_complete_accept(struct mg_rt *rt, struct mg_op *op, int new_qd, const struct sockaddr_in *peer);
void mg_op_complete_connect(struct mg_rt *rt, struct mg_op *op);
void mg_op_fail(struct mg_rt *rt, struct mg_op *op, int err /* positive errno */);

/* Turns a buffer into the application-owned array a pop returns (and registers it,
 * so demi_sgafree can tell a real array from a forged one). */
void mg_rt_sga_from_buf(struct mg_rt *rt, struct mg_buf *buf, demi_sgarray_t *sga);
/* Looks up the buffer behind an application's array; NULL if it is not one of ours. */
struct mg_buf *mg_rt_sga_to_buf(struct mg_rt *rt, const demi_sgarray_t *sga);

/* How many operations of rt have completed so far (monotonic). The simulator resumes
 * a process blocked in demi_wait only when this moved or its timeout is due. */
uint64_t mg_rt_completion_count(const struct mg_rt *rt);

/* The libOS registry: every libOS built into this library. */
const struct mg_libos_ops *mg_libos_find(const char *name_or_alias);
/* Writes the names of the built-in libOSes, comma-separated, for error messages. */
void mg_libos_list(char *buf, size_t len);
/* The canonical name (posix, inet, rdma) of a libOS name or alias, built or not; NULL
 * if the name is unknown. Lets an error tell "unknown" from "not built". */
const char *mg_libos_canonical_name(const char *name_or_alias);

#endif /* MARGAY_CORE_RUNTIME_H */
