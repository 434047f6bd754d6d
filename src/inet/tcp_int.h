/* inet/tcp_int.h — margay TCP internals shared by tcp.c (layer, sockets, demux),
 * tcp_in.c (segment arrival), tcp_out.c (segment building, send queue), tcp_timer.c,
 * tcp_cc.c (NewReno and SACK-based recovery) and tcp_sack.c (SACK blocks and the
 * scoreboard). Nothing outside src/inet/tcp_*.c includes this: the socket
 * layout is private so the state machine can change without touching callers. */
#ifndef MARGAY_INET_TCP_INT_H
#define MARGAY_INET_TCP_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/timer.h"
#include "inet/inet.h"
#include "inet/tcp.h"
#include "wire/wire.h"

/* Sequence-space comparisons (modulo 2^32). */
#define SEQ_LT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) >= 0)

#define TCP_DEFAULT_MSS 536 /* RFC 9293 3.7.1: peer sent no MSS option */
#define TCP_MAX_WSCALE 14   /* RFC 7323 2.3 */
#define TCP_TS_OPT_LEN 12   /* timestamps, NOP-padded */
#define TCP_DEFAULT_BACKLOG 128
#define TCP_MAX_BACKLOG 65535
#define TCP_TS_TICK_NS 1000000ull /* timestamp clock: 1 ms per tick */

/* One caller buffer region held in the send queue: len bytes at ptr, inside buf.
 * The pointer is kept rather than an offset from buf->data, because transmitting in
 * place (tcp_out.c) moves buf->data to the headers in front of the payload. */
struct tcp_sndent {
    struct mg_buf *buf;
    uint8_t *ptr;
    uint32_t len;
};

/* Headroom a send-queue region needs in front of it to be sent in place (TCP with
 * options, IPv4 and Ethernet headers fit in it). */
#define TCP_INPLACE_HEADROOM 128u
/* Received payload is kept only while more than 1/TCP_POOL_RESERVE_DIV of the device
 * pool stays free (tcp_in.c, pool_low). */
#define TCP_POOL_RESERVE_DIV 8u

/* SACK (RFC 2018). The sender's scoreboard keeps at most TCP_SACK_SB_MAX SACKed
 * ranges per connection (a fixed array, so nothing is allocated per ACK); ranges that
 * do not fit are forgotten, which only costs a retransmission the peer did not need.
 * The receiver remembers the last TCP_SACK_RCV_MAX out-of-order arrivals (one
 * sequence number each) to order its blocks most recent first. */
#define TCP_SACK_SB_MAX 16
#define TCP_SACK_RCV_MAX MG_TCP_MAX_SACK_BLOCKS
#define TCP_DUPTHRESH 3 /* RFC 6675 DupThresh */

struct tcp_sack_range {
    uint32_t start, end; /* [start, end) */
};

/* The layer's demultiplexing tables, hash tables chained through the sockets:
 * connections by 4-tuple, listeners by port, and by port every socket holding one. */
enum tcp_table { TCP_TABLE_CONN, TCP_TABLE_LISTEN, TCP_TABLE_BIND, TCP_TABLE__COUNT };

struct tcp_hash {
    struct mg_tcp_sock **chains; /* mask + 1 of them */
    uint32_t mask;
};

struct mg_tcp_sock {
    struct mg_tcp_layer *tcp;
    enum mg_tcp_state state;
    mg_tcp_notify_fn notify;
    void *user;
    uint32_t laddr, raddr; /* host order; laddr 0 = unbound address */
    uint16_t lport, rport;

    /* Table memberships: per table, whether linked and the next socket in the chain. */
    struct mg_tcp_sock *hash_next[TCP_TABLE__COUNT];
    struct mg_tcp_sock *all_next, *all_prev;
    bool in_hash[TCP_TABLE__COUNT];

    /* Deferred notification and reclamation (see tcp_enter/tcp_leave). */
    struct mg_tcp_sock *notify_next, *dead_next;
    unsigned ev_pending;
    bool on_notify_list, dead;
    bool has_handle;  /* the libOS holds it (open or accepted and not closed) */
    bool active_open; /* SYN-SENT path (errors go to the user as ECONNREFUSED) */
    int error;        /* positive errno once the connection died */

    /* Socket options. */
    bool nodelay, keepalive, linger_on, reuseaddr;
    uint32_t linger_s;
    uint64_t keep_idle_ns, keep_intvl_ns;
    uint32_t keep_cnt;
    uint16_t user_mss; /* TCP_MAXSEG, 0 = none */
    uint32_t snd_buf_size, rcv_buf_size;

    /* Listener: children in SYN-RECEIVED and the accept queue. A child is in at most
     * one of them, linked through child_next/child_prev. */
    struct mg_tcp_sock *parent;
    struct mg_tcp_sock *child_next, *child_prev;
    struct mg_tcp_sock *syn_head;
    struct mg_tcp_sock *acc_head, *acc_tail;
    uint32_t syn_count, acc_count, backlog;
    bool in_accept_q;

    /* Send sequence space (RFC 9293 3.3.1). snd_buf_seq is the sequence number of the
     * first byte held in the send queue; the FIN, once sent, sits at
     * snd_buf_seq + sq_bytes. */
    uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2, max_sndwnd, snd_buf_seq;
    bool fin_queued, fin_sent;
    struct tcp_sndent *sq;
    uint32_t sq_cap, sq_head, sq_count, sq_bytes;
    uint32_t sq_cache_idx, sq_cache_start; /* entry index (from head) and its queue offset */

    /* Receive sequence space. rcv_adv is the right edge we advertised; it never moves
     * left. The receive queue holds in-order payload buffers (next-linked); the
     * out-of-order queue holds buffers sorted by sequence (buf->user = seq, bit 32 = FIN). */
    uint32_t irs, rcv_nxt, rcv_adv;
    struct mg_buf *rq_head, *rq_tail;
    uint32_t rq_bytes, rq_count;
    struct mg_buf *ooo_head;
    uint32_t ooo_count, ooo_bytes;
    bool fin_rcvd;

    /* Negotiated options. mss is the effective send MSS (payload bytes per segment). */
    uint16_t mss, peer_mss, our_mss;
    uint8_t snd_wscale, rcv_wscale;
    bool ws_ok, ts_ok;
    uint32_t ts_recent, ts_offset, last_ack_sent;

    /* Retransmission (RFC 6298). */
    uint64_t srtt, rttvar, rto;
    bool have_rtt, rtt_timing;
    uint32_t rtt_seq;
    uint64_t rtt_start;
    uint32_t nretx;             /* consecutive timeouts */
    uint32_t persist_shift;     /* persist backoff */
    uint32_t probes_unanswered; /* zero-window probes since the peer last spoke */
    uint32_t keep_sent;         /* keepalive probes unanswered */
    uint64_t last_rx_ns;        /* last segment received (keepalive idle time) */

    /* Congestion control (RFC 5681, RFC 6582; RFC 6675 when sack_ok). rxt_high is
     * HighRxt: one past the last byte retransmitted in this SACK recovery. */
    uint32_t cwnd, ssthresh, dupacks, recover, bytes_acked, rxt_high;
    bool in_recovery;

    /* SACK: on when both SYNs carried SACK-permitted. sb holds the SACKed ranges
     * above snd_una, sorted and disjoint; rcv_sack_seq the receiver's recent
     * out-of-order arrivals, most recent first. */
    bool sack_ok;
    uint8_t sb_count, rcv_sack_count;
    struct tcp_sack_range sb[TCP_SACK_SB_MAX];
    uint32_t rcv_sack_seq[TCP_SACK_RCV_MAX];

    /* ACK generation. */
    uint32_t segs_unacked;
    bool ack_now;

    struct mg_timer t_rexmit, t_delack, t_persist, t_keep, t_wait;
};

struct mg_tcp_layer {
    struct mg_inet *inet;
    struct mg_tcp_stats stats;
    struct tcp_hash tables[TCP_TABLE__COUNT];
    struct mg_tcp_sock *all_head;
    uint32_t nsocks;
    uint8_t isn_key[16];
    uint64_t hash_salt;
    struct mg_tcp_sock *notify_head, *notify_tail, *dead_head;
    unsigned depth;
    uint64_t chack_window_start; /* challenge ACK rate limit (RFC 5961 7) */
    uint32_t chack_count;
};

#define TCP_CHALLENGE_ACK_LIMIT 1000 /* per second and stack, like Linux's default */

/* ---- tcp.c ---- */
void tcp_enter(struct mg_tcp_layer *tcp);
void tcp_leave(struct mg_tcp_layer *tcp);
void tcp_notify(struct mg_tcp_sock *c, unsigned events);
struct mg_tcp_sock *tcp_conn_lookup(struct mg_tcp_layer *tcp, uint32_t laddr, uint16_t lport, uint32_t raddr,
                                    uint16_t rport);
struct mg_tcp_sock *tcp_listen_lookup(struct mg_tcp_layer *tcp, uint32_t laddr, uint16_t lport);
/* Links c into table t, in the chain its current addresses and ports pick. */
void tcp_table_insert(struct mg_tcp_sock *c, enum tcp_table t);
struct mg_tcp_sock *tcp_sock_new(struct mg_tcp_layer *tcp);
uint32_t tcp_isn(struct mg_tcp_layer *tcp, uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport);
/* Ends the connection: timers off, queues freed, out of the tables, state CLOSED,
 * error recorded (0 = clean) and reported; freed later if nobody holds it. */
void tcp_terminate(struct mg_tcp_sock *c, int err);
void tcp_set_state(struct mg_tcp_sock *c, enum mg_tcp_state st);
void tcp_child_unlink(struct mg_tcp_sock *child);
void tcp_child_to_accept_queue(struct mg_tcp_sock *child);
void tcp_enter_time_wait(struct mg_tcp_sock *c);
void tcp_init_rcv_window(struct mg_tcp_sock *c);

/* ---- tcp_in.c ---- */
void tcp_input(void *ctx, struct mg_buf *buf, const struct mg_ipv4_hdr *ip);
void tcp_icmp_error(void *ctx, uint8_t type, uint8_t code, const struct mg_ipv4_hdr *inner, const uint8_t *l4,
                    size_t l4_len);
void tcp_neighbor_failed(void *ctx, uint32_t addr);

/* ---- tcp_out.c ---- */
/* Sends whatever the windows, Nagle and SWS rules allow, plus a pending ACK. */
void tcp_output(struct mg_tcp_sock *c);
/* One segment regardless of Nagle and SWS (persist timer, small open window). */
void tcp_output_force(struct mg_tcp_sock *c);
int tcp_send_syn(struct mg_tcp_sock *c); /* SYN or SYN-ACK by state */
int tcp_send_ack(struct mg_tcp_sock *c);
int tcp_send_rst(struct mg_tcp_sock *c);
/* Zero-window or keepalive probe: an ACK with SEG.SEQ = SND.UNA - 1. */
int tcp_send_probe(struct mg_tcp_sock *c);
/* A segment of up to one MSS starting at seq (retransmission). */
int tcp_xmit_data(struct mg_tcp_sock *c, uint32_t seq, uint32_t len, bool with_fin);
/* An answer to a segment no socket wants (RFC 9293 3.10.7.1). */
void tcp_send_reset_reply(struct mg_tcp_layer *tcp, const struct mg_ipv4_hdr *ip, const struct mg_tcp_hdr *th,
                          uint32_t seg_len);
uint16_t tcp_rcv_window_field(struct mg_tcp_sock *c, bool syn);
uint32_t tcp_rcv_window_avail(const struct mg_tcp_sock *c);
int tcp_sq_push(struct mg_tcp_sock *c, struct mg_buf *buf, uint32_t off, uint32_t len);
void tcp_sq_drop_front(struct mg_tcp_sock *c, uint32_t n);
void tcp_sq_free(struct mg_tcp_sock *c);
uint32_t tcp_ts_now(struct mg_tcp_sock *c);
uint32_t tcp_flight(const struct mg_tcp_sock *c);
void tcp_maybe_window_update(struct mg_tcp_sock *c);

/* ---- tcp_timer.c ---- */
void tcp_timers_init(struct mg_tcp_sock *c);
void tcp_timers_cancel_all(struct mg_tcp_sock *c);
void tcp_arm_rexmit(struct mg_tcp_sock *c);
void tcp_rexmit_update(struct mg_tcp_sock *c); /* arm iff something is outstanding */
void tcp_arm_delack(struct mg_tcp_sock *c);
void tcp_persist_update(struct mg_tcp_sock *c);
void tcp_keepalive_reset(struct mg_tcp_sock *c);
void tcp_rtt_sample(struct mg_tcp_sock *c, uint64_t rtt_ns);
void tcp_arm_wait(struct mg_tcp_sock *c, uint64_t delay_ns);
uint64_t tcp_now(const struct mg_tcp_sock *c);

/* ---- tcp_cc.c ---- */
void tcp_cc_init(struct mg_tcp_sock *c);
void tcp_cc_ack(struct mg_tcp_sock *c, uint32_t acked);
/* Duplicate ACK: returns true when the caller should fast-retransmit. */
void tcp_cc_dupack(struct mg_tcp_sock *c);
void tcp_cc_timeout(struct mg_tcp_sock *c);
/* An ACK that moved nothing but brought SACK blocks, and was not a duplicate ACK
 * (it carried data or a window change): recovery may start or send on. */
void tcp_cc_sack_news(struct mg_tcp_sock *c);
/* Whether a recovery runs on the SACK scoreboard: then the pipe, not snd_nxt, says
 * how much more may be sent. */
bool tcp_cc_sack_recovery(const struct mg_tcp_sock *c);

/* ---- tcp_sack.c ---- */
/* Sender: takes the blocks of an ACK whose cumulative point is ack (invalid ones are
 * ignored and counted), then drops what ack covers. */
void tcp_sack_update(struct mg_tcp_sock *c, const struct mg_tcp_opts *o, uint32_t ack);
void tcp_sack_trim(struct mg_tcp_sock *c); /* forget ranges below snd_una */
void tcp_sack_clear(struct mg_tcp_sock *c);
/* RFC 6675 IsLost for a byte not SACKed: enough SACKed above it. */
bool tcp_sack_is_lost(const struct mg_tcp_sock *c, uint32_t seq);
/* RFC 6675 SetPipe: the bytes the sender estimates are still in the network. */
uint32_t tcp_sack_pipe(const struct mg_tcp_sock *c);
/* RFC 6675 NextSeg rules 1 (lost: true) or 3 (not lost): the first unSACKed byte at or
 * above rxt_high and below the highest SACKed byte, and how far its hole reaches.
 * False if there is none. */
bool tcp_sack_next_hole(const struct mg_tcp_sock *c, bool lost, uint32_t *seq, uint32_t *hole_end);
/* Receiver: an out-of-order segment starting at seq was queued. */
void tcp_sack_rcv_note(struct mg_tcp_sock *c, uint32_t seq);
/* Receiver: fills o's SACK blocks (at most max) from the out-of-order queue. */
void tcp_sack_rcv_blocks(struct mg_tcp_sock *c, struct mg_tcp_opts *o, unsigned max);
/* Invariant check of the scoreboard; NULL or what is wrong. */
const char *tcp_sack_check(const struct mg_tcp_sock *c);

static inline uint32_t tcp_data_end(const struct mg_tcp_sock *c) {
    return c->snd_buf_seq + c->sq_bytes;
}
static inline bool tcp_synchronized(enum mg_tcp_state s) {
    return s >= MG_TCP_ESTABLISHED;
}
static inline void tcp_drop(struct mg_tcp_layer *tcp, enum mg_tcp_drop why) {
    tcp->stats.drops[why]++;
}

#endif /* MARGAY_INET_TCP_INT_H */
