/* inet/inet.h — one instance of margay's TCP/IP stack.
 * A stack owns its netdev, clock, random source, timers, neighbour cache and the
 * TCP and UDP layers; nothing lives in globals, so one process can run many (the
 * simulator does). It is driven by mg_inet_poll from the thread that owns it
 * (DESIGN.md rule 1). Layers talk downward only through mg_inet_ipv4_output and
 * upward through the *_input functions; every dropped frame is counted by reason. */
#ifndef MARGAY_INET_INET_H
#define MARGAY_INET_INET_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/random.h"
#include "core/timer.h"
#include "inet/netdev.h"
#include "wire/wire.h"

struct mg_arp_cache;
struct mg_ipv4_reass;
struct mg_tcp_layer;
struct mg_udp_layer;

/* Why the stack dropped a frame (TCP keeps its own reasons in tcp.h). */
enum mg_inet_drop {
    MG_DROP_ETH_MALFORMED,
    MG_DROP_ETH_NOT_FOR_US,
    MG_DROP_ETH_UNSUPPORTED_TYPE,
    MG_DROP_ARP_MALFORMED,
    MG_DROP_ARP_UNSUPPORTED,
    MG_DROP_ARP_NOT_FOR_US,
    MG_DROP_ARP_PENDING_FULL,  /* too many frames waiting for one resolution */
    MG_DROP_ARP_UNRESOLVED,    /* resolution failed; queued frames dropped */
    MG_DROP_IPV4_MALFORMED,
    MG_DROP_IPV4_BAD_CKSUM,
    MG_DROP_IPV4_NOT_FOR_US,
    MG_DROP_IPV4_FRAGMENT,     /* reassembly disabled (ipv4_reassembly_max_datagrams 0) */
    MG_DROP_IPV4_UNSUPPORTED_PROTO,
    MG_DROP_IPV4_BAD_SRC,      /* broadcast/multicast/our own source */
    MG_DROP_ICMP_MALFORMED,
    MG_DROP_ICMP_BAD_CKSUM,
    MG_DROP_ICMP_UNHANDLED,
    MG_DROP_UDP_MALFORMED,
    MG_DROP_UDP_BAD_CKSUM,
    MG_DROP_UDP_NO_SOCKET,     /* answered with ICMP port unreachable */
    MG_DROP_UDP_RECV_QUEUE_FULL,
    MG_DROP_TX_NO_BUFFER,
    MG_DROP_TX_DEVICE_FULL,
    MG_DROP_TX_NO_ROUTE,
    MG_DROP_TX_TOO_BIG,        /* L4 packet + IPv4 header longer than the MTU */
    MG_DROP_ICMP_RATE_LIMITED, /* an ICMP error we did not send (token bucket empty) */
    /* IPv4 reassembly (ipv4_reass.c): each counts frames, and a reason that condemns
     * a whole datagram counts every fragment it held. */
    MG_DROP_IPV4_FRAG_BAD_LENGTH, /* a non-last fragment empty or not a multiple of 8 */
    MG_DROP_IPV4_FRAG_PAST_64K,   /* reaches past 65535 bytes */
    MG_DROP_IPV4_FRAG_OVERLAP,    /* overlaps another fragment: the datagram is dropped */
    MG_DROP_IPV4_FRAG_DUPLICATE,  /* an exact copy of a held fragment (the datagram lives on) */
    MG_DROP_IPV4_FRAG_BAD_END,    /* disagrees with the last fragment about the length */
    MG_DROP_IPV4_FRAG_TOO_MANY,   /* past ipv4_reassembly_max_fragments */
    MG_DROP_IPV4_REASS_TOO_BIG,   /* past ipv4_reassembly_max_bytes */
    MG_DROP_IPV4_REASS_TIMEOUT,   /* incomplete after ipv4_reassembly_timeout_ms */
    MG_DROP_IPV4_REASS_EVICTED,   /* the oldest datagram, when the table or the buffer budget is full */
    MG_DROP_IPV4_REASS_NO_BUFFER, /* no buffer (device pool or arena) or timer for it */
    MG_DROP__COUNT
};
const char *mg_inet_drop_name(enum mg_inet_drop reason);

struct mg_inet_stats {
    uint64_t rx_frames, tx_frames;
    uint64_t ipv4_in, ipv4_out;
    uint64_t arp_requests_sent, arp_replies_sent, arp_resolution_failures;
    uint64_t icmp_echo_replies_sent, icmp_unreach_sent, icmp_errors_received;
    uint64_t ipv4_fragments_in, ipv4_reassembled; /* fragments received; datagrams rebuilt */
    uint64_t ipv4_fragments_out, ipv4_fragmented; /* fragments sent; datagrams split */
    uint64_t drops[MG_DROP__COUNT];
};

#define MG_INET_TXQ_MAX 64
/* The largest IPv4 payload: 65535 minus a 20-byte header. */
#define MG_IPV4_MAX_PAYLOAD (65535u - MG_IPV4_HDR_LEN)

/* Transport layers plug into the stack by registering handlers, so the IP layer has
 * no link-time dependency on them (a stack can run UDP-only, and TCP is tested alone). */
typedef void (*mg_inet_l4_input_fn)(void *ctx, struct mg_buf *buf, const struct mg_ipv4_hdr *ip);
typedef void (*mg_inet_l4_error_fn)(void *ctx, uint8_t type, uint8_t code, const struct mg_ipv4_hdr *inner,
                                    const uint8_t *inner_l4, size_t inner_l4_len);
typedef void (*mg_inet_neighbor_failed_fn)(void *ctx, uint32_t addr);
struct mg_inet_l4_handler {
    mg_inet_l4_input_fn input;                  /* takes ownership of buf */
    mg_inet_l4_error_fn icmp_error;             /* optional */
    mg_inet_neighbor_failed_fn neighbor_failed; /* optional */
    void *ctx;
};
enum { MG_INET_L4_TCP = 0, MG_INET_L4_UDP, MG_INET_L4_MAX };

struct mg_inet {
    struct mg_config cfg;      /* private copy (eal_args not owned) */
    struct mg_netdev *dev;
    struct mg_clock *clock;
    struct mg_rand rand;
    struct mg_timers timers;
    uint8_t mac[MG_ETH_ALEN];
    uint32_t ipv4_addr, netmask, gateway; /* host order */
    uint16_t mtu;              /* IP MTU */
    uint16_t mss;              /* our advertised MSS (mtu - 40 unless configured lower) */
    uint16_t ip_id;
    struct mg_arp_cache *arp;
    struct mg_ipv4_reass *reass; /* NULL when reassembly is disabled */
    struct mg_tcp_layer *tcp;  /* set by mg_tcp_layer_create */
    struct mg_udp_layer *udp;  /* set by mg_udp_layer_create */
    struct mg_inet_l4_handler l4[MG_INET_L4_MAX];
    struct mg_buf *txq[MG_INET_TXQ_MAX]; /* frames ready for the device */
    uint16_t txq_len;
    struct mg_inet_stats stats;
    /* Token bucket limiting the ICMP errors we send (RFC 1812 4.3.2.8). */
    uint32_t icmp_err_tokens;
    uint64_t icmp_err_refill_ns;
};

/* ICMP error rate limit: a burst of this many, then one per interval. */
#define MG_INET_ICMP_ERR_BURST 10u
#define MG_INET_ICMP_ERR_INTERVAL_NS (10ull * 1000 * 1000)

/* Creates a stack on `dev` with the addresses and tunables in cfg. The stack does not
 * own the clock; it owns dev only if mg_inet_destroy is told so. Transport layers are
 * added afterwards (mg_udp_layer_create, mg_tcp_layer_create), which register their
 * handlers; mg_inet_destroy destroys registered layers' state only through the
 * layers' own destroy functions, called by whoever created them, before it. */
int mg_inet_create(const struct mg_config *cfg, struct mg_netdev *dev, struct mg_clock *clock, uint64_t seed,
                   struct mg_inet **out);
void mg_inet_destroy(struct mg_inet *inet, bool destroy_dev);

/* Registers the handler for IPPROTO_TCP or IPPROTO_UDP (0, or -EINVAL/-EEXIST).
 * A datagram for a protocol without a handler is dropped as unsupported, and answered
 * with ICMP protocol unreachable. */
int mg_inet_register_l4(struct mg_inet *inet, uint8_t proto, const struct mg_inet_l4_handler *handler);
void mg_inet_unregister_l4(struct mg_inet *inet, uint8_t proto);

/* Receives a burst, runs due timers, flushes transmissions. Returns frames handled
 * plus timers fired (0 = nothing happened). */
int mg_inet_poll(struct mg_inet *inet);
/* Hands queued frames to the device. */
void mg_inet_flush(struct mg_inet *inet);
/* When the stack next needs to run with no input: the earliest timer, or the
 * device's next frame when it knows (UINT64_MAX = never). */
uint64_t mg_inet_next_wakeup(struct mg_inet *inet);

/* Processes one received frame (the stack takes ownership). */
void mg_inet_input(struct mg_inet *inet, struct mg_buf *frame);

/* A buffer for an outgoing packet, with headroom for every header below L4. */
struct mg_buf *mg_inet_alloc_tx(struct mg_inet *inet);
/* Sends an L4 packet: buf->data points at the L4 header whose checksum is already
 * final, or holds the pseudo-header sum with buf->ol_flags MG_BUF_TX_TCP/UDP_CKSUM
 * when mg_inet_l4_tx_offload said so. Prepends IPv4 and Ethernet, resolves the next
 * hop (queueing behind ARP), and takes ownership of buf. 0 or a negative errno
 * (the frame is then already freed and counted). */
int mg_inet_ipv4_output(struct mg_inet *inet, struct mg_buf *buf, uint32_t dst, uint8_t proto);
/* Sends an L4 packet made of head then tail (either may be empty; its checksum
 * already final), in IPv4 fragments when it does not fit the MTU (never for TCP).
 * Copies the bytes; the caller keeps them. 0 or a negative errno: -EMSGSIZE past
 * MG_IPV4_MAX_PAYLOAD. mg_inet_ipv4_output fragments a too-long packet through it,
 * except TCP's and one whose checksum is left to the device. */
int mg_inet_ipv4_output_parts(struct mg_inet *inet, const uint8_t *head, uint32_t head_len, const uint8_t *tail,
                              uint32_t tail_len, uint32_t dst, uint8_t proto);
/* Whether the device computes this protocol's checksum on transmit. */
bool mg_inet_l4_tx_offload(const struct mg_inet *inet, uint8_t proto);
/* Whether dst is reachable without a gateway. */
bool mg_inet_on_link(const struct mg_inet *inet, uint32_t dst);

/* Sends an ICMP error about the offending datagram (its IP header at ip, len bytes). */
void mg_inet_icmp_send_error(struct mg_inet *inet, const uint8_t *ip, size_t len, uint8_t type, uint8_t code);

static inline void mg_inet_drop(struct mg_inet *inet, enum mg_inet_drop why) { inet->stats.drops[why]++; }
static inline uint64_t mg_inet_now(struct mg_inet *inet) { return mg_clock_now(inet->clock); }

#endif /* MARGAY_INET_INET_H */
