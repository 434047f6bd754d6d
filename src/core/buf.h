/* core/buf.h — packet buffers and buffer pools.
 *
 * struct mg_buf is the one buffer type the whole datapath uses: a netdev receives
 * into it, the stack prepends headers into its headroom, demi_sgaalloc hands it to
 * the application and demi_push gives it back. It is reference-counted so TCP can
 * keep a pushed buffer for retransmission while the device also holds it. A pool
 * decides where buffers live: the heap pool here, DPDK mbufs in drivers/dpdk (the
 * mg_buf then sits in the mbuf's private area), so no packet needs two allocations.
 * Fast-path allocation never calls malloc: pools are filled at start-up. */
#ifndef MARGAY_CORE_BUF_H
#define MARGAY_CORE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mg_pool;

/* Offload flags carried by a buffer (struct mg_buf.ol_flags). */
enum {
    MG_BUF_RX_IP_CKSUM_GOOD = 1u << 0, /* device verified the IPv4 header checksum */
    MG_BUF_RX_IP_CKSUM_BAD = 1u << 1,
    MG_BUF_RX_L4_CKSUM_GOOD = 1u << 2, /* device verified the TCP/UDP checksum */
    MG_BUF_RX_L4_CKSUM_BAD = 1u << 3,
    MG_BUF_TX_IP_CKSUM = 1u << 8,  /* device must fill the IPv4 header checksum */
    MG_BUF_TX_TCP_CKSUM = 1u << 9, /* device must fill the TCP checksum (pseudo-header sum is in place) */
    MG_BUF_TX_UDP_CKSUM = 1u << 10,
};

#define MG_BUF_MAGIC 0x6d674266u /* "mgBf": a live buffer */

struct mg_buf {
    uint8_t *data;         /* first valid byte */
    uint32_t len;          /* valid bytes from data */
    uint32_t cap;          /* bytes of storage from base */
    uint8_t *base;         /* start of storage */
    uint32_t refcnt;
    uint32_t magic;        /* MG_BUF_MAGIC while allocated, 0 when free */
    uint32_t ol_flags;     /* MG_BUF_RX_* / MG_BUF_TX_* */
    uint16_t l2_len;       /* header lengths, for transmit offloads */
    uint16_t l3_len;
    struct mg_pool *pool;  /* where it returns when refcnt reaches 0 */
    struct mg_buf *next;   /* for queues of buffers (owner's use) */
    void *dev_priv;        /* device's handle (e.g. the rte_mbuf) */
    uint64_t user;         /* owner's use (e.g. TCP sequence number) */
};

struct mg_pool_ops {
    struct mg_buf *(*alloc)(struct mg_pool *pool);
    void (*release)(struct mg_pool *pool, struct mg_buf *buf); /* refcnt reached 0 */
};

struct mg_pool {
    const struct mg_pool_ops *ops;
    const char *name;
    uint32_t data_room; /* bytes of storage per buffer, headroom included */
    uint32_t headroom;  /* bytes reserved in front of data on allocation */
    uint64_t allocs, frees, alloc_failures;
    uint32_t in_use;
    uint32_t size;      /* buffers its owner may hold at once (in_use's ceiling); 0: unknown */
};

/* Allocates from a pool: data = base + headroom, len = 0, refcnt = 1. NULL when empty
 * (counted in alloc_failures). */
struct mg_buf *mg_buf_alloc(struct mg_pool *pool);
/* Allocates a one-off heap buffer of `size` bytes after `headroom` (for arrays larger
 * than a pool's buffers). NULL on failure. */
struct mg_buf *mg_buf_alloc_heap(size_t size, uint32_t headroom);
void mg_buf_ref(struct mg_buf *buf);
/* Drops one reference; the buffer returns to its pool at zero. */
void mg_buf_free(struct mg_buf *buf);

static inline uint32_t mg_buf_headroom(const struct mg_buf *b) { return (uint32_t)(b->data - b->base); }
static inline uint32_t mg_buf_tailroom(const struct mg_buf *b) { return b->cap - mg_buf_headroom(b) - b->len; }
/* Grows the front by n bytes; returns the new data pointer or NULL without headroom. */
uint8_t *mg_buf_prepend(struct mg_buf *b, uint32_t n);
/* Grows the back by n bytes; returns a pointer to the new bytes or NULL. */
uint8_t *mg_buf_append(struct mg_buf *b, uint32_t n);
/* Removes n bytes from the front; -EINVAL if n > len. */
int mg_buf_pull(struct mg_buf *b, uint32_t n);
/* Shortens to new_len bytes; -EINVAL if new_len > len. */
int mg_buf_trim(struct mg_buf *b, uint32_t new_len);

/* A pool of `count` buffers of `data_room` bytes each, carved from one allocation
 * made now. */
struct mg_pool *mg_heap_pool_create(const char *name, uint32_t count, uint32_t data_room, uint32_t headroom);
void mg_heap_pool_destroy(struct mg_pool *pool);

#endif /* MARGAY_CORE_BUF_H */
