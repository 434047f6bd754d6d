/* tests/unit/tcp_seg_helper.h — segment-level TCP test bench in the style of lwIP's
 * tcp_helper: one stack on a manual clock over a capture netdev (transmitted frames
 * are kept for the test to inspect; nothing is ever received from it), a static ARP
 * entry for a fake peer, and helpers to inject crafted segments from that peer and
 * to pop and decode what the stack sent back. */
#ifndef MARGAY_TESTS_TCP_SEG_HELPER_H
#define MARGAY_TESTS_TCP_SEG_HELPER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/config.h"
#include "inet/inet.h"
#include "inet/tcp.h"
#include "wire/wire.h"

#define TH_LOCAL_IP 0x0a000001u /* 10.0.0.1: the stack */
#define TH_PEER_IP 0x0a000002u  /* 10.0.0.2: the crafted peer */
#define TH_MAX_FRAMES 4096

struct th_sent {
    struct mg_ipv4_hdr ip;
    struct mg_tcp_hdr tcp;
    uint8_t payload[2048];
    uint32_t len;
};

struct th_sock_events {
    unsigned events; /* OR of all events seen */
    unsigned count;
};

struct th_bench {
    struct mg_clock clock;
    struct mg_netdev dev;
    struct mg_pool *pool;
    struct mg_inet *inet;
    struct mg_tcp_layer *tcp;
    struct mg_buf *frames[TH_MAX_FRAMES];
    unsigned head, tail;
};

extern struct th_bench th;

/* Sets up the bench; cfg_tweak (may be NULL) edits the defaults first. */
void th_setup(void (*cfg_tweak)(struct mg_config *cfg));
/* Tears down and checks that every pool buffer came back and invariants held. */
void th_teardown(void);

/* Injects a segment from the peer. */
void th_inject(uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t window,
               const struct mg_tcp_opts *opts, const void *payload, uint32_t len);
/* Pops the next frame the stack sent; false if none. */
bool th_pop(struct th_sent *out);
unsigned th_pending(void);
void th_drain(void);
/* Moves the clock and runs due timers. */
void th_advance(uint64_t ns);
/* Asserts the invariants hold now. */
void th_check(void);

/* A notify callback that records events in the th_sock_events passed as user. */
void th_record(struct mg_tcp_sock *s, unsigned events, void *user);

/* Establishes a connection from us (active open) to peer port pport; peer ISN pisn,
 * peer window pwnd (unscaled, no options unless popts). Returns the socket; *iss_out
 * our ISN. All frames consumed. */
struct mg_tcp_sock *th_connect(uint16_t pport, uint32_t pisn, uint16_t pwnd, const struct mg_tcp_opts *popts,
                               struct th_sock_events *ev, uint32_t *iss_out, uint16_t *lport_out);
/* Establishes a connection to us (passive open) on lport, from peer port pport. */
struct mg_tcp_sock *th_accept(struct mg_tcp_sock *listener, uint16_t lport, uint16_t pport, uint32_t pisn,
                              uint16_t pwnd, const struct mg_tcp_opts *popts, uint32_t *iss_out);

#endif /* MARGAY_TESTS_TCP_SEG_HELPER_H */
