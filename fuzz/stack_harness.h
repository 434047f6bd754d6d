/* fuzz/stack_harness.h — one margay stack in a box, for the whole-stack and TCP
 * state-machine fuzz targets: a manual clock, an in-memory netdev whose receive queue
 * the target fills and whose transmit side checks and tracks every frame the stack
 * sends, the TCP and UDP layers, and a static ARP entry for one peer.
 *
 * The transmit side keeps, per TCP connection (by port pair), what the stack last
 * said: its highest sequence number sent and the ACK, window and timestamp it sent.
 * That is enough to craft peer segments relative to the connection (in window, old,
 * future) without looking inside TCP. After every step fh_check runs TCP's own
 * invariant check and the memory bounds; fh_teardown checks that every buffer came
 * back to the pool. Any failure aborts with the reason. */
#ifndef MARGAY_FUZZ_STACK_HARNESS_H
#define MARGAY_FUZZ_STACK_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/config.h"
#include "inet/inet.h"
#include "inet/tcp.h"
#include "inet/udp.h"
#include "wire/wire.h"

#define FH_LOCAL_IP 0x0a000001u /* 10.0.0.1: the stack under test */
#define FH_PEER_IP 0x0a000002u  /* 10.0.0.2: the fuzzer */
#define FH_RXQ 64
#define FH_MAX_VIEWS 16
#define FH_POOL_BUFFERS 4096
/* The stack may hold at most this many buffers at once: its receive buffers are set
 * to FH_RCVBUF, its out-of-order queue to FH_OOO_MAX segments, so anything beyond
 * this is unbounded growth. */
#define FH_RCVBUF (64u * 1024)
#define FH_SNDBUF (64u * 1024)
#define FH_OOO_MAX 64
#define FH_MAX_CONNS 32
#define FH_BUF_BOUND 3072
/* The harness's applications stop handing buffers to TCP while this many are in use,
 * so the bound above measures what the stack holds on its own (receive and
 * out-of-order queues), not what the application chose to queue for sending. */
#define FH_APP_BUDGET 1024
/* Heap the stack may hold at once (its instance, tables, sockets): beyond this its
 * memory use grows without bound. */
#define FH_MEM_BOUND (16u << 20)

extern const uint8_t fh_local_mac[6], fh_peer_mac[6];

/* What the stack last sent on one connection. */
struct fh_view {
    bool used;
    uint16_t lport, rport; /* the stack's port, the peer's port */
    uint32_t snd_max;      /* highest sequence number the stack has sent + 1 */
    uint32_t iss;          /* from its SYN */
    uint32_t ack;          /* its last ACK (= what it expects from the peer next) */
    bool ack_valid;
    uint16_t window; /* raw field */
    uint32_t ts_val; /* its last timestamp (for the peer's echo) */
    uint8_t last_flags;
    uint32_t segs;
};

struct fh {
    struct mg_clock clock;
    struct mg_netdev dev;
    struct mg_inet *inet;
    struct mg_tcp_layer *tcp;
    struct mg_udp_layer *udp;
    struct mg_buf *rxq[FH_RXQ];
    unsigned rx_head, rx_tail;
    struct fh_view views[FH_MAX_VIEWS];
    uint64_t tx_frames;
    uint64_t tx_digest; /* FNV-1a of the frames sent, with FUZZ_DIGEST */
    uint32_t peer_ts; /* the peer's timestamp clock */
};

/* Whether the application may allocate another buffer to send (FH_APP_BUDGET). */
bool fh_app_may_send(const struct fh *h);
/* Maps the fuzz arena and reads the environment (LLVMFuzzerInitialize calls it). */
void fh_global_init(void);
/* Starts an execution. With a snapshot (fh_snapshot), restores it and returns true:
 * the arena, and with it the target's root object, stack and pool, is exactly as when
 * the snapshot was taken. Otherwise empties the arena, makes a new pool and returns
 * false: the target then allocates its root (fh_alloc_root), builds its starting state
 * and calls fh_snapshot. FUZZ_NO_SNAPSHOT=1 in the environment makes every execution
 * build afresh (a replay with and without must print the same FUZZ_DIGEST lines). */
bool fh_begin(void);
/* A zeroed block in the arena for the target's own state (restored with the rest). */
void *fh_alloc_root(size_t size);
/* Records the arena as every later fh_begin will restore it. */
void fh_snapshot(void);
/* A fresh stack with the harness configuration (tweak may edit it; may be NULL). */
void fh_setup(struct fh *h, void (*tweak)(struct mg_config *cfg));
/* Destroys the stack and checks that every buffer came back to the pool and every
 * block the stack allocated was freed; ends the execution. Sockets still open are
 * the layers' to free. */
void fh_teardown(struct fh *h);
/* Queues a raw frame for the stack's next receive (copied into a pool buffer;
 * dropped when the queue or pool is full, as a NIC would). */
void fh_queue_frame(struct fh *h, const uint8_t *frame, size_t len);
/* Builds and queues a TCP segment from the peer (valid checksums, our addresses). */
void fh_queue_tcp(struct fh *h, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                  uint16_t window, const struct mg_tcp_opts *opts, const uint8_t *payload, uint32_t len);
/* Advances the clock by ns and polls: queued frames in, due timers, frames out. */
void fh_run(struct fh *h, uint64_t ns);
/* TCP invariants and memory bounds; aborts with the reason when one fails. */
void fh_check(struct fh *h);
/* The view of connection (stack port, peer port), NULL if the stack never sent on it. */
struct fh_view *fh_view(struct fh *h, uint16_t lport, uint16_t rport);
/* Rewrites a frame as coming from the peer to the stack and fixes lengths and
 * checksums of IPv4 and its TCP/UDP/ICMP payload, in place. */
void fh_fix_frame(uint8_t *frame, size_t len, bool addresses, bool checksums);

#endif /* MARGAY_FUZZ_STACK_HARNESS_H */
