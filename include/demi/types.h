/* demi/types.h — the PDPIX data types: queue tokens, scatter-gather arrays, results.
 * Layouts are packed and must stay byte-for-byte what Demikernel's C programs expect
 * (tests assert the sizes: sgaseg 12, sgarray 40, accept_result 20, qresult 64,
 * args 20 bytes). Only PDPIX lives here; margay's extensions have their own headers. */
#ifndef DEMI_TYPES_H_IS_INCLUDED
#define DEMI_TYPES_H_IS_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Number of segments in a scatter-gather array. */
#define DEMI_SGARRAY_MAXSIZE 1

/** Names one asynchronous operation until demi_wait* consumes its result. */
typedef uint64_t demi_qtoken_t;

#pragma pack(push, 1)

/** One contiguous piece of a scatter-gather array. */
typedef struct demi_sgaseg {
    void *sgaseg_buf;    /**< First byte of the data. */
    uint32_t sgaseg_len; /**< Length of the data in bytes. */
} demi_sgaseg_t;

/** A scatter-gather array: the unit of data that push sends and pop returns. */
typedef struct demi_sgarray {
    void *sga_buf;                                /**< Owned by the libOS: the buffer behind the segments. */
    uint32_t sga_numsegs;                         /**< Segments in use. */
    demi_sgaseg_t sga_segs[DEMI_SGARRAY_MAXSIZE]; /**< The segments. */
    struct sockaddr_in sga_addr;                  /**< Sender's address, for pops from UDP sockets. */
} demi_sgarray_t;

/** What a completed operation was. */
typedef enum demi_opcode {
    DEMI_OPC_INVALID = 0, /**< Not an operation. */
    DEMI_OPC_PUSH,        /**< A push or pushto completed. */
    DEMI_OPC_POP,         /**< A pop completed. */
    DEMI_OPC_ACCEPT,      /**< An accept completed. */
    DEMI_OPC_CONNECT,     /**< A connect completed. */
    DEMI_OPC_CLOSE,       /**< A close completed. */
    DEMI_OPC_FAILED,      /**< The operation failed; qr_ret holds the errno. */
} demi_opcode_t;

/** The result of an accept: the new connection's queue and its peer. */
typedef struct demi_accept_result {
    int32_t qd;              /**< Queue descriptor of the accepted connection. */
    struct sockaddr_in addr; /**< Address of the remote end. */
} demi_accept_result_t;

/** The result of one asynchronous operation, filled in by demi_wait*. */
typedef struct demi_qresult {
    demi_opcode_t qr_opcode; /**< What completed. */
    int32_t qr_qd;           /**< The queue it ran on. */
    demi_qtoken_t qr_qt;     /**< Its token. */
    int64_t qr_ret;          /**< 0, or a positive errno when qr_opcode is DEMI_OPC_FAILED. */
    union {
        demi_sgarray_t sga;        /**< For push and pop. */
        demi_accept_result_t ares; /**< For accept. */
    } qr_value;
} demi_qresult_t;

/** Called by the libOS to report events; see demi_init. */
typedef void (*demi_callback_t)(const char *, uint32_t, uint64_t);

/** Arguments to demi_init. */
struct demi_args {
    int argc;                 /**< Program's argc (may be 0). */
    char *const *argv;        /**< Program's argv (may be NULL when argc is 0). */
    demi_callback_t callback; /**< Optional event callback (may be NULL). */
};

#pragma pack(pop)

#ifdef __cplusplus
}
#endif

#endif /* DEMI_TYPES_H_IS_INCLUDED */
