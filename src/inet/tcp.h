/* inet/tcp.h — margay's TCP: the socket-level API the inet libOS calls, and the
 * entry points the IP layer calls.
 *
 * Sockets are non-blocking: calls return -EAGAIN when they would wait, and the
 * layer reports readiness through the socket's notify callback, which the libOS
 * uses to complete its pending PDPIX operations. Data moves in struct mg_buf
 * without copies where possible: mg_tcp_send keeps a reference to the caller's
 * buffer for (re)transmission; mg_tcp_recv hands back received buffers. */
#ifndef MARGAY_INET_TCP_H
#define MARGAY_INET_TCP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/buf.h"
#include "wire/wire.h"

struct mg_inet;
struct mg_tcp_layer;
struct mg_tcp_sock;

/* RFC 9293 states. */
enum mg_tcp_state {
    MG_TCP_CLOSED = 0,
    MG_TCP_LISTEN,
    MG_TCP_SYN_SENT,
    MG_TCP_SYN_RECEIVED,
    MG_TCP_ESTABLISHED,
    MG_TCP_FIN_WAIT_1,
    MG_TCP_FIN_WAIT_2,
    MG_TCP_CLOSE_WAIT,
    MG_TCP_CLOSING,
    MG_TCP_LAST_ACK,
    MG_TCP_TIME_WAIT,
};
const char *mg_tcp_state_name(enum mg_tcp_state s);

/* Readiness reported through the notify callback (a bit set). */
enum {
    MG_TCP_EV_READABLE = 1u << 0,   /* data or end of stream to recv */
    MG_TCP_EV_WRITABLE = 1u << 1,   /* send buffer space */
    MG_TCP_EV_ACCEPTABLE = 1u << 2, /* a connection to accept */
    MG_TCP_EV_CONNECTED = 1u << 3,  /* connect finished */
    MG_TCP_EV_ERROR = 1u << 4,      /* mg_tcp_error() is set; the connection is dead */
};
typedef void (*mg_tcp_notify_fn)(struct mg_tcp_sock *sock, unsigned events, void *user);

/* Why TCP dropped a segment. */
enum mg_tcp_drop {
    MG_TCP_DROP_MALFORMED,
    MG_TCP_DROP_BAD_CKSUM,
    MG_TCP_DROP_NO_SOCKET,       /* answered with RST */
    MG_TCP_DROP_BAD_FLAGS,       /* e.g. SYN+FIN, no ACK in synchronized states */
    MG_TCP_DROP_OUT_OF_WINDOW,   /* answered with an ACK */
    MG_TCP_DROP_BAD_ACK,         /* acks data never sent */
    MG_TCP_DROP_OOO_FULL,        /* out-of-order queue bound reached */
    MG_TCP_DROP_BACKLOG_FULL,    /* SYN to a listener whose SYN-RECEIVED queue is full */
    MG_TCP_DROP_RST_INVALID,     /* RST outside the window, ignored */
    MG_TCP_DROP_RECV_BUFFER_FULL,
    MG_TCP_DROP_NO_BUFFER,       /* could not allocate a reply */
    MG_TCP_DROP_POOL_LOW,        /* payload not kept: the device pool is down to its reserve */
    MG_TCP_DROP__COUNT
};
const char *mg_tcp_drop_name(enum mg_tcp_drop reason);

struct mg_tcp_stats {
    uint64_t segs_in, segs_out, retransmits, fast_retransmits, timeouts;
    uint64_t rsts_sent, rsts_received, challenge_acks_sent;
    uint64_t conns_opened, conns_accepted, conns_established, conns_reset, conns_timed_out;
    uint64_t payload_copies;     /* bytes copied on transmit (zero-copy not possible) */
    uint64_t retransmit_bytes;   /* payload bytes sent again (timeouts, fast and SACK recovery) */
    /* SACK (RFC 2018, RFC 6675). */
    uint64_t sack_recoveries;       /* loss recoveries run on the scoreboard */
    uint64_t sack_blocks_received;  /* blocks on ACKs of SACK connections, valid or not */
    uint64_t sack_blocks_ignored;   /* of those: reversed, below snd_una or beyond snd_max */
    uint64_t sack_blocks_sent;
    uint64_t sack_scoreboard_full;  /* ranges forgotten because the scoreboard was full */
    uint64_t sack_hole_retransmits; /* segments resent from scoreboard holes */
    uint64_t drops[MG_TCP_DROP__COUNT];
};

/* ---- layer (called by the stack) ---- */
int mg_tcp_layer_create(struct mg_inet *inet, struct mg_tcp_layer **out);
void mg_tcp_layer_destroy(struct mg_tcp_layer *tcp);
/* A received segment: buf->data at the TCP header, buf->len = segment length. Takes
 * ownership of buf. */
void mg_tcp_input(struct mg_tcp_layer *tcp, struct mg_buf *buf, const struct mg_ipv4_hdr *ip);
/* An ICMP error quoting one of our segments (inner IP header and at least 8 bytes). */
void mg_tcp_icmp_error(struct mg_tcp_layer *tcp, uint8_t type, uint8_t code, const struct mg_ipv4_hdr *inner,
                       const uint8_t *inner_l4, size_t inner_l4_len);
/* Neighbour resolution for addr failed: connects to it fail with EHOSTUNREACH. */
void mg_tcp_neighbor_failed(struct mg_tcp_layer *tcp, uint32_t addr);
const struct mg_tcp_stats *mg_tcp_stats(const struct mg_tcp_layer *tcp);
/* Checks every connection's invariants (sequence space, windows, buffer accounting,
 * timers). 0, or -EFAULT with a description in why. For tests, fuzzing, simulation. */
int mg_tcp_check_invariants(const struct mg_tcp_layer *tcp, char *why, size_t len);
/* Connections the layer still holds (including TIME-WAIT and closing ones). */
unsigned mg_tcp_connection_count(const struct mg_tcp_layer *tcp);

/* ---- sockets (called by the libOS) ---- */
struct mg_tcp_sock *mg_tcp_open(struct mg_tcp_layer *tcp, mg_tcp_notify_fn notify, void *user);
void mg_tcp_set_notify(struct mg_tcp_sock *s, mg_tcp_notify_fn notify, void *user);
/* addr 0 = our address; port 0 = ephemeral. -EADDRINUSE, -EADDRNOTAVAIL, -EINVAL. */
int mg_tcp_bind(struct mg_tcp_sock *s, uint32_t addr, uint16_t port);
int mg_tcp_listen(struct mg_tcp_sock *s, int backlog);
/* Takes one established connection: 0, or -EAGAIN. The child has no notify until set. */
int mg_tcp_accept(struct mg_tcp_sock *s, struct mg_tcp_sock **child, uint32_t *peer_addr, uint16_t *peer_port);
/* Starts an active open: 0 (watch for CONNECTED or ERROR) or a negative errno. */
int mg_tcp_connect(struct mg_tcp_sock *s, uint32_t addr, uint16_t port);
/* Queues bytes [off, buf->len) of buf for sending, as many as the send buffer takes,
 * keeping a reference to buf. Returns the bytes taken (0 if the buffer is full), or
 * -ENOTCONN, -EPIPE (after close/shutdown), -ECONNRESET, -ETIMEDOUT... */
int mg_tcp_send(struct mg_tcp_sock *s, struct mg_buf *buf, uint32_t off);
/* Takes received in-order data: > 0 bytes with *out set (caller owns it), 0 at end
 * of stream, -EAGAIN when nothing is ready, or the connection's error. */
int mg_tcp_recv(struct mg_tcp_sock *s, struct mg_buf **out);
/* Graceful close: FIN after queued data; the handle is gone on return (the layer
 * finishes the close on its own; SO_LINGER 0 aborts with RST instead). */
void mg_tcp_close(struct mg_tcp_sock *s);
/* Abortive close: RST, handle gone. */
void mg_tcp_abort(struct mg_tcp_sock *s);
/* SOL_SOCKET: SO_KEEPALIVE, SO_LINGER, SO_RCVBUF, SO_SNDBUF, SO_REUSEADDR, SO_ERROR;
 * IPPROTO_TCP: TCP_NODELAY, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_MAXSEG.
 * 0, -ENOPROTOOPT, -EINVAL. */
int mg_tcp_setsockopt(struct mg_tcp_sock *s, int level, int name, const void *val, socklen_t len);
int mg_tcp_getsockopt(struct mg_tcp_sock *s, int level, int name, void *val, socklen_t *len);
int mg_tcp_peer(const struct mg_tcp_sock *s, uint32_t *addr, uint16_t *port);
int mg_tcp_local(const struct mg_tcp_sock *s, uint32_t *addr, uint16_t *port);
enum mg_tcp_state mg_tcp_sock_state(const struct mg_tcp_sock *s);
/* The connection's error (positive errno), 0 if none. */
int mg_tcp_error(const struct mg_tcp_sock *s);

#endif /* MARGAY_INET_TCP_H */
