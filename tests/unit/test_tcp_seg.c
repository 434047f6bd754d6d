/* tests/unit/test_tcp_seg.c — segment-level tests of margay's TCP: crafted segments
 * in, exact segments out (flags, seq, ack, window, options), on a manual clock. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "inet/tcp_int.h"
#include "tcp_seg_helper.h"

#define A MG_TCP_ACK
#define S MG_TCP_SYN
#define F MG_TCP_FIN
#define R MG_TCP_RST
#define P MG_TCP_PSH

static void no_delack(struct mg_config *cfg) {
    cfg->tcp_delayed_ack_ns = 0;
}

static struct mg_buf *mkbuf(uint32_t len, uint8_t fill) {
    struct mg_buf *b = mg_buf_alloc_heap(len, 0);
    uint8_t *p = mg_buf_append(b, len);
    for (uint32_t i = 0; i < len; i++)
        p[i] = (uint8_t)(fill + i);
    return b;
}

/* Sends len bytes through the socket; the caller's reference is dropped at once (the
 * layer keeps its own). */
static void send_bytes(struct mg_tcp_sock *s, uint32_t len, uint8_t fill) {
    struct mg_buf *b = mkbuf(len, fill);
    CU_ASSERT(mg_tcp_send(s, b, 0) == (int)len);
    mg_buf_free(b);
}

/* The usual starting point: a bench set up with cfg_tweak, and a connection we opened
 * to the peer's port 80, established. The peer's ISN is 1000 (its data starts at
 * 1001) and it offered pwnd and popts. */
struct fixture {
    struct th_sock_events ev; /* what the connection notified */
    uint32_t iss;             /* our ISN */
    uint16_t lport;           /* our port */
};

static struct mg_tcp_sock *fx_connect(struct fixture *fx, void (*cfg_tweak)(struct mg_config *cfg), uint16_t pwnd,
                                      const struct mg_tcp_opts *popts) {
    memset(fx, 0, sizeof(*fx));
    th_setup(cfg_tweak);
    return th_connect(80, 1000, pwnd, popts, &fx->ev, &fx->iss, &fx->lport);
}

/* Moves the clock ns on: nothing goes out before the last nanosecond, then a segment
 * does (into *out). */
static void expect_segment_after(uint64_t ns, struct th_sent *out) {
    th_advance(ns - 1);
    CU_ASSERT(th_pending() == 0);
    th_advance(1);
    CU_ASSERT_FATAL(th_pop(out));
}

/* A listener on port (any local address), without notifications. */
static struct mg_tcp_sock *listen_on(uint16_t port, int backlog) {
    struct mg_tcp_sock *l = mg_tcp_open(th.tcp, NULL, NULL);
    CU_ASSERT_FATAL(l != NULL);
    CU_ASSERT_FATAL(mg_tcp_bind(l, 0, port) == 0);
    CU_ASSERT_FATAL(mg_tcp_listen(l, backlog) == 0);
    return l;
}

static uint64_t total_drops(void) {
    const struct mg_tcp_stats *st = mg_tcp_stats(th.tcp);
    uint64_t n = 0;
    for (int i = 0; i < MG_TCP_DROP__COUNT; i++)
        n += st->drops[i];
    return n;
}

/* ------------------------------------------------------------ opening ---- */

static void test_active_open(void) {
    th_setup(NULL);
    struct th_sock_events ev = {0};
    struct mg_tcp_sock *s = mg_tcp_open(th.tcp, th_record, &ev);
    CU_ASSERT_FATAL(mg_tcp_connect(s, TH_PEER_IP, 80) == 0);
    CU_ASSERT(mg_tcp_sock_state(s) == MG_TCP_SYN_SENT);
    struct th_sent syn;
    CU_ASSERT_FATAL(th_pop(&syn));
    CU_ASSERT(syn.tcp.flags == S);
    CU_ASSERT(syn.tcp.dport == 80);
    CU_ASSERT(syn.tcp.sport >= 49152);
    CU_ASSERT(syn.tcp.opts.has_mss && syn.tcp.opts.mss == 1460);
    CU_ASSERT(syn.tcp.opts.has_wscale && syn.tcp.opts.wscale == 5); /* 1 MiB buffer */
    CU_ASSERT(syn.tcp.opts.has_timestamp && syn.tcp.opts.ts_ecr == 0);
    CU_ASSERT(syn.tcp.opts.sack_permitted); /* tcp.sack is on by default */
    CU_ASSERT(syn.tcp.window == 65535);
    CU_ASSERT(syn.len == 0);
    struct mg_tcp_opts o = {.has_mss = true, .mss = 1000};
    th_inject(80, syn.tcp.sport, 5000, syn.tcp.seq + 1, S | A, 8000, &o, NULL, 0);
    struct th_sent ack;
    CU_ASSERT_FATAL(th_pop(&ack));
    CU_ASSERT(ack.tcp.flags == A);
    CU_ASSERT(ack.tcp.seq == syn.tcp.seq + 1);
    CU_ASSERT(ack.tcp.ack == 5001);
    CU_ASSERT(ack.tcp.window == 65535); /* no scaling: the peer did not offer it */
    CU_ASSERT(!ack.tcp.opts.has_timestamp);
    CU_ASSERT(!s->sack_ok); /* the peer did not offer SACK */
    CU_ASSERT(mg_tcp_sock_state(s) == MG_TCP_ESTABLISHED);
    CU_ASSERT(ev.events & MG_TCP_EV_CONNECTED);
    /* The peer's MSS bounds our segments. */
    CU_ASSERT(mg_tcp_setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int)) == 0);
    send_bytes(s, 2500, 0);
    struct th_sent d;
    CU_ASSERT_FATAL(th_pop(&d));
    CU_ASSERT(d.len == 1000 && d.tcp.seq == syn.tcp.seq + 1);
    CU_ASSERT_FATAL(th_pop(&d));
    CU_ASSERT(d.len == 1000);
    CU_ASSERT_FATAL(th_pop(&d));
    CU_ASSERT(d.len == 500 && (d.tcp.flags & P));
    CU_ASSERT(!th_pop(&d));
    th_check();
    mg_tcp_abort(s);
    th_teardown();
}

static void test_default_mss_536(void) {
    th_setup(NULL);
    struct th_sock_events ev = {0};
    struct mg_tcp_sock *s = th_connect(80, 100, 60000, NULL, &ev, NULL, NULL);
    mg_tcp_setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
    send_bytes(s, 1000, 0);
    struct th_sent d;
    CU_ASSERT_FATAL(th_pop(&d));
    CU_ASSERT(d.len == 536);
    CU_ASSERT_FATAL(th_pop(&d));
    CU_ASSERT(d.len == 464);
    mg_tcp_abort(s);
    th_teardown();
}

static void test_passive_open(void) {
    th_setup(NULL);
    struct th_sock_events lev = {0};
    struct mg_tcp_sock *l = mg_tcp_open(th.tcp, th_record, &lev);
    CU_ASSERT(mg_tcp_bind(l, 0, 7000) == 0);
    CU_ASSERT(mg_tcp_listen(l, 4) == 0);
    struct mg_tcp_opts o = {.has_mss = true,
                            .mss = 1400,
                            .has_wscale = true,
                            .wscale = 7,
                            .has_timestamp = true,
                            .ts_val = 777,
                            .ts_ecr = 0};
    th_inject(40000, 7000, 9000, 0, S, 30000, &o, NULL, 0);
    struct th_sent sa;
    CU_ASSERT_FATAL(th_pop(&sa));
    CU_ASSERT(sa.tcp.flags == (S | A));
    CU_ASSERT(sa.tcp.ack == 9001);
    CU_ASSERT(sa.tcp.opts.has_mss && sa.tcp.opts.mss == 1460);
    CU_ASSERT(sa.tcp.opts.has_wscale && sa.tcp.opts.wscale == 5);
    CU_ASSERT(sa.tcp.opts.has_timestamp && sa.tcp.opts.ts_ecr == 777);
    CU_ASSERT(sa.tcp.window == 65535);
    CU_ASSERT(mg_tcp_connection_count(th.tcp) == 1);
    struct mg_tcp_sock *c = NULL;
    CU_ASSERT(mg_tcp_accept(l, &c, NULL, NULL) == -EAGAIN);
    struct mg_tcp_opts ts = {.has_timestamp = true, .ts_val = 778, .ts_ecr = sa.tcp.opts.ts_val};
    th_inject(40000, 7000, 9001, sa.tcp.seq + 1, A, 100, &ts, NULL, 0); /* window 100 << 7 */
    CU_ASSERT(lev.events & MG_TCP_EV_ACCEPTABLE);
    CU_ASSERT_FATAL(mg_tcp_accept(l, &c, NULL, NULL) == 0);
    CU_ASSERT(mg_tcp_sock_state(c) == MG_TCP_ESTABLISHED);
    CU_ASSERT(th_pending() == 0);
    /* Window scaling applied both ways: 100 << 7 = 12800 bytes of send window; our
     * window field is scaled by 5; timestamps on every segment; MSS less 12. */
    struct th_sock_events cev = {0};
    mg_tcp_set_notify(c, th_record, &cev);
    mg_tcp_setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
    send_bytes(c, 20000, 0);
    uint32_t sent = 0;
    struct th_sent d;
    while (th_pop(&d)) {
        CU_ASSERT(d.len == 1388);
        CU_ASSERT(d.tcp.opts.has_timestamp && d.tcp.opts.ts_ecr == 778);
        CU_ASSERT(d.tcp.window == (1u << 20) >> 5 || d.tcp.window == 32767);
        sent += d.len;
    }
    /* 9 full segments (peer MSS 1400 less 12 bytes of timestamps); the 308-byte rest is less than half the largest
     * window the peer offered: sender-side SWS avoidance holds it. */
    CU_ASSERT(sent == 9 * 1388);
    mg_tcp_abort(c);
    mg_tcp_close(l);
    th_teardown();
}

static void test_simultaneous_open(void) {
    th_setup(no_delack);
    struct th_sock_events ev = {0};
    struct mg_tcp_sock *s = mg_tcp_open(th.tcp, th_record, &ev);
    CU_ASSERT_FATAL(mg_tcp_bind(s, 0, 5555) == 0);
    CU_ASSERT_FATAL(mg_tcp_connect(s, TH_PEER_IP, 6666) == 0);
    struct th_sent syn;
    CU_ASSERT_FATAL(th_pop(&syn));
    CU_ASSERT(syn.tcp.flags == S && syn.tcp.sport == 5555);
    /* The peer's own SYN crosses ours. */
    th_inject(6666, 5555, 300, 0, S, 20000, NULL, NULL, 0);
    CU_ASSERT(mg_tcp_sock_state(s) == MG_TCP_SYN_RECEIVED);
    struct th_sent sa;
    CU_ASSERT_FATAL(th_pop(&sa));
    CU_ASSERT(sa.tcp.flags == (S | A));
    CU_ASSERT(sa.tcp.seq == syn.tcp.seq);
    CU_ASSERT(sa.tcp.ack == 301);
    CU_ASSERT(!sa.tcp.opts.has_wscale && !sa.tcp.opts.has_timestamp);
    /* The peer's SYN-ACK completes it. */
    th_inject(6666, 5555, 300, syn.tcp.seq + 1, S | A, 20000, NULL, NULL, 0);
    /* That SYN-ACK repeats an old SYN: a challenge ACK or a plain ACK answer it. */
    th_drain();
    th_inject(6666, 5555, 301, syn.tcp.seq + 1, A, 20000, NULL, NULL, 0);
    CU_ASSERT(mg_tcp_sock_state(s) == MG_TCP_ESTABLISHED);
    CU_ASSERT(ev.events & MG_TCP_EV_CONNECTED);
    th_check();
    mg_tcp_abort(s);
    th_teardown();
}

/* ------------------------------------------------------------ closing ---- */

static void test_active_close_time_wait(void) {
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, no_delack, 60000, NULL);
    mg_tcp_close(s);
    struct th_sent fin;
    CU_ASSERT_FATAL(th_pop(&fin));
    CU_ASSERT(fin.tcp.flags == (F | A));
    CU_ASSERT(fin.tcp.seq == fx.iss + 1 && fin.tcp.ack == 1001);
    CU_ASSERT(mg_tcp_connection_count(th.tcp) == 1);
    th_inject(80, fx.lport, 1001, fx.iss + 2, A, 60000, NULL, NULL, 0); /* FIN-WAIT-2 */
    CU_ASSERT(th_pending() == 0);
    th_inject(80, fx.lport, 1001, fx.iss + 2, F | A, 60000, NULL, NULL, 0); /* TIME-WAIT */
    struct th_sent ack;
    CU_ASSERT_FATAL(th_pop(&ack));
    CU_ASSERT(ack.tcp.flags == A && ack.tcp.seq == fx.iss + 2 && ack.tcp.ack == 1002);
    th_check();
    /* A retransmitted FIN is acknowledged again and restarts 2*MSL. */
    th_advance(30 * MG_NS_PER_S);
    th_inject(80, fx.lport, 1001, fx.iss + 2, F | A, 60000, NULL, NULL, 0);
    CU_ASSERT_FATAL(th_pop(&ack));
    CU_ASSERT(ack.tcp.flags == A && ack.tcp.ack == 1002);
    th_advance(60 * MG_NS_PER_S - 1);
    CU_ASSERT(mg_tcp_connection_count(th.tcp) == 1);
    th_advance(1);
    CU_ASSERT(mg_tcp_connection_count(th.tcp) == 0);
    /* Gone: a segment now gets a RST. */
    th_inject(80, fx.lport, 1002, fx.iss + 2, A, 60000, NULL, NULL, 0);
    CU_ASSERT_FATAL(th_pop(&ack));
    CU_ASSERT(ack.tcp.flags == R && ack.tcp.seq == fx.iss + 2);
    th_teardown();
}

static void test_passive_close(void) {
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, no_delack, 60000, NULL);
    th_inject(80, fx.lport, 1001, fx.iss + 1, F | A, 60000, NULL, NULL, 0);
    CU_ASSERT(mg_tcp_sock_state(s) == MG_TCP_CLOSE_WAIT);
    struct th_sent ack;
    CU_ASSERT_FATAL(th_pop(&ack));
    CU_ASSERT(ack.tcp.flags == A && ack.tcp.ack == 1002);
    struct mg_buf *b = NULL;
    CU_ASSERT(mg_tcp_recv(s, &b) == 0); /* end of stream */
    CU_ASSERT(fx.ev.events & MG_TCP_EV_READABLE);
    mg_tcp_close(s);
    struct th_sent fin;
    CU_ASSERT_FATAL(th_pop(&fin));
    CU_ASSERT(fin.tcp.flags == (F | A) && fin.tcp.seq == fx.iss + 1 && fin.tcp.ack == 1002);
    CU_ASSERT(mg_tcp_connection_count(th.tcp) == 1); /* LAST-ACK */
    th_inject(80, fx.lport, 1002, fx.iss + 2, A, 60000, NULL, NULL, 0);
    CU_ASSERT(mg_tcp_connection_count(th.tcp) == 0);
    CU_ASSERT(th_pending() == 0);
    th_teardown();
}

static void test_simultaneous_close(void) {
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, no_delack, 60000, NULL);
    struct mg_tcp_sock *keep = s;
    (void)keep;
    mg_tcp_close(s);
    struct th_sent fin;
    CU_ASSERT_FATAL(th_pop(&fin));
    CU_ASSERT(fin.tcp.flags == (F | A));
    /* The peer's FIN crosses ours (it has not seen ours). */
    th_inject(80, fx.lport, 1001, fx.iss + 1, F | A, 60000, NULL, NULL, 0);
    struct th_sent ack;
    CU_ASSERT_FATAL(th_pop(&ack));
    CU_ASSERT(ack.tcp.flags == A && ack.tcp.seq == fx.iss + 2 && ack.tcp.ack == 1002); /* CLOSING */
    th_inject(80, fx.lport, 1002, fx.iss + 2, A, 60000, NULL, NULL, 0);                /* TIME-WAIT */
    CU_ASSERT(th_pending() == 0);
    CU_ASSERT(mg_tcp_connection_count(th.tcp) == 1);
    th_check();
    th_advance(60 * MG_NS_PER_S);
    CU_ASSERT(mg_tcp_connection_count(th.tcp) == 0);
    th_teardown();
}

/* ------------------------------------------------------------ resets ---- */

static void test_rst_to_closed_port(void) {
    th_setup(NULL);
    th_inject(1234, 81, 5000, 0, S, 1000, NULL, NULL, 0);
    struct th_sent r;
    CU_ASSERT_FATAL(th_pop(&r));
    CU_ASSERT(r.tcp.flags == (R | A) && r.tcp.seq == 0 && r.tcp.ack == 5001);
    CU_ASSERT(r.tcp.sport == 81 && r.tcp.dport == 1234);
    th_inject(1234, 81, 5000, 777, A, 1000, NULL, "abc", 3);
    CU_ASSERT_FATAL(th_pop(&r));
    CU_ASSERT(r.tcp.flags == R && r.tcp.seq == 777);
    th_inject(1234, 81, 5000, 0, F, 1000, NULL, "abcd", 4);
    CU_ASSERT_FATAL(th_pop(&r));
    CU_ASSERT(r.tcp.flags == (R | A) && r.tcp.ack == 5005);
    th_inject(1234, 81, 5000, 0, R, 1000, NULL, NULL, 0); /* never answer a RST */
    CU_ASSERT(th_pending() == 0);
    CU_ASSERT(mg_tcp_stats(th.tcp)->drops[MG_TCP_DROP_NO_SOCKET] == 4);
    th_teardown();
}

static void test_rst_syn_sent(void) {
    th_setup(NULL);
    struct th_sock_events ev = {0};
    struct mg_tcp_sock *s = mg_tcp_open(th.tcp, th_record, &ev);
    CU_ASSERT_FATAL(mg_tcp_connect(s, TH_PEER_IP, 80) == 0);
    struct th_sent syn, r;
    CU_ASSERT_FATAL(th_pop(&syn));
    /* An unacceptable ACK gets a RST and changes nothing. */
    th_inject(80, syn.tcp.sport, 0, syn.tcp.seq + 5, A, 0, NULL, NULL, 0);
    CU_ASSERT_FATAL(th_pop(&r));
    CU_ASSERT(r.tcp.flags == R && r.tcp.seq == syn.tcp.seq + 5);
    /* A RST without ACK is ignored. */
    th_inject(80, syn.tcp.sport, 0, 0, R, 0, NULL, NULL, 0);
    CU_ASSERT(mg_tcp_sock_state(s) == MG_TCP_SYN_SENT);
    /* RST+ACK acknowledging our SYN: refused. */
    th_inject(80, syn.tcp.sport, 0, syn.tcp.seq + 1, R | A, 0, NULL, NULL, 0);
    CU_ASSERT(mg_tcp_sock_state(s) == MG_TCP_CLOSED);
    CU_ASSERT(mg_tcp_error(s) == ECONNREFUSED);
    CU_ASSERT(ev.events & MG_TCP_EV_ERROR);
    CU_ASSERT(th_pending() == 0);
    th_check();
    mg_tcp_close(s);
    th_teardown();
}

static void test_rst_syn_received(void) {
    th_setup(NULL);
    struct mg_tcp_sock *l = listen_on(7000, 4);
    th_inject(40000, 7000, 9000, 0, S, 30000, NULL, NULL, 0);
    struct th_sent sa;
    CU_ASSERT_FATAL(th_pop(&sa));
    CU_ASSERT(mg_tcp_connection_count(th.tcp) == 1);
    th_inject(40000, 7000, 9001, 0, R, 0, NULL, NULL, 0);
    CU_ASSERT(mg_tcp_connection_count(th.tcp) == 0); /* back to just LISTEN */
    CU_ASSERT(th_pending() == 0);
    /* A RST to the listener itself is ignored (and counted). */
    uint64_t inv = mg_tcp_stats(th.tcp)->drops[MG_TCP_DROP_RST_INVALID];
    th_inject(40000, 7000, 9001, 0, R, 0, NULL, NULL, 0);
    CU_ASSERT(th_pending() == 0);
    CU_ASSERT(mg_tcp_stats(th.tcp)->drops[MG_TCP_DROP_RST_INVALID] == inv + 1);
    CU_ASSERT(mg_tcp_sock_state(l) == MG_TCP_LISTEN);
    /* A bad ACK to SYN-RECEIVED draws a RST with seq = SEG.ACK. */
    th_inject(40001, 7000, 9000, 0, S, 30000, NULL, NULL, 0);
    CU_ASSERT_FATAL(th_pop(&sa));
    th_inject(40001, 7000, 9001, sa.tcp.seq + 77, A, 30000, NULL, NULL, 0);
    struct th_sent r;
    CU_ASSERT_FATAL(th_pop(&r));
    CU_ASSERT(r.tcp.flags == R && r.tcp.seq == sa.tcp.seq + 77);
    /* An ACK to the listener itself gets a RST too. */
    th_inject(40002, 7000, 1, 12345, A, 30000, NULL, NULL, 0);
    CU_ASSERT_FATAL(th_pop(&r));
    CU_ASSERT(r.tcp.flags == R && r.tcp.seq == 12345);
    mg_tcp_close(l);
    th_teardown();
}

/* RST handling in a synchronized state, reached by `prep` (RFC 5961 3.2): out of the
 * window ignored, in it but not exact a challenge ACK, exact a reset. want_err is the
 * error the application then sees; < 0 when prep closed the socket, so that the layer
 * owns it and frees it on the reset. */
static void rst_in_state(void (*prep)(struct mg_tcp_sock *s, const struct fixture *fx), enum mg_tcp_state want,
                         uint32_t rcv_nxt, int want_err) {
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, no_delack, 60000, NULL);
    prep(s, &fx);
    th_drain();
    CU_ASSERT(mg_tcp_connection_count(th.tcp) == 1);
    CU_ASSERT_FATAL(mg_tcp_sock_state(s) == want); /* allocated still, even when the layer owns it */
    /* Out of window: ignored silently. */
    th_inject(80, fx.lport, rcv_nxt + 5000000, 0, R, 0, NULL, NULL, 0);
    CU_ASSERT(th_pending() == 0);
    CU_ASSERT(mg_tcp_sock_state(s) == want);
    /* In window, not exact: a challenge ACK. */
    uint64_t ch = mg_tcp_stats(th.tcp)->challenge_acks_sent;
    th_inject(80, fx.lport, rcv_nxt + 10, 0, R, 0, NULL, NULL, 0);
    struct th_sent a;
    CU_ASSERT_FATAL(th_pop(&a));
    CU_ASSERT(a.tcp.flags == A && a.tcp.ack == rcv_nxt);
    CU_ASSERT(mg_tcp_stats(th.tcp)->challenge_acks_sent == ch + 1);
    CU_ASSERT(mg_tcp_sock_state(s) == want);
    CU_ASSERT(mg_tcp_connection_count(th.tcp) == 1);
    /* Exact: the connection is reset. */
    th_inject(80, fx.lport, rcv_nxt, 0, R, 0, NULL, NULL, 0);
    CU_ASSERT(th_pending() == 0);
    CU_ASSERT(mg_tcp_connection_count(th.tcp) == 0);
    if (want_err >= 0) {
        CU_ASSERT(mg_tcp_sock_state(s) == MG_TCP_CLOSED);
        CU_ASSERT(mg_tcp_error(s) == want_err);
        mg_tcp_close(s);
    }
    th_teardown();
}

static void prep_none(struct mg_tcp_sock *s, const struct fixture *fx) {
    (void)s;
    (void)fx;
}
static void prep_fin_wait_1(struct mg_tcp_sock *s, const struct fixture *fx) {
    (void)fx;
    mg_tcp_close(s);
}
static void prep_fin_wait_2(struct mg_tcp_sock *s, const struct fixture *fx) {
    mg_tcp_close(s);
    th_inject(80, fx->lport, 1001, fx->iss + 2, A, 60000, NULL, NULL, 0);
}
static void prep_close_wait(struct mg_tcp_sock *s, const struct fixture *fx) {
    (void)s;
    th_inject(80, fx->lport, 1001, fx->iss + 1, F | A, 60000, NULL, NULL, 0);
}
static void prep_last_ack(struct mg_tcp_sock *s, const struct fixture *fx) {
    th_inject(80, fx->lport, 1001, fx->iss + 1, F | A, 60000, NULL, NULL, 0);
    mg_tcp_close(s);
}
static void prep_closing(struct mg_tcp_sock *s, const struct fixture *fx) {
    mg_tcp_close(s);
    th_inject(80, fx->lport, 1001, fx->iss + 1, F | A, 60000, NULL, NULL, 0);
}

static void test_rst_established(void) {
    rst_in_state(prep_none, MG_TCP_ESTABLISHED, 1001, ECONNRESET);
}
static void test_rst_close_wait(void) {
    rst_in_state(prep_close_wait, MG_TCP_CLOSE_WAIT, 1002, ECONNRESET);
}
/* The states reached after close(): the application no longer holds the socket. */
static void test_rst_fin_wait_1(void) {
    rst_in_state(prep_fin_wait_1, MG_TCP_FIN_WAIT_1, 1001, -1);
}
static void test_rst_fin_wait_2(void) {
    rst_in_state(prep_fin_wait_2, MG_TCP_FIN_WAIT_2, 1001, -1);
}
static void test_rst_last_ack(void) {
    rst_in_state(prep_last_ack, MG_TCP_LAST_ACK, 1002, -1);
}
static void test_rst_closing(void) {
    rst_in_state(prep_closing, MG_TCP_CLOSING, 1002, -1);
}

static void test_rst_time_wait(void) {
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, no_delack, 60000, NULL);
    mg_tcp_close(s);
    th_inject(80, fx.lport, 1001, fx.iss + 2, F | A, 60000, NULL, NULL, 0);
    th_drain();
    CU_ASSERT(mg_tcp_sock_state(s) == MG_TCP_TIME_WAIT);
    th_inject(80, fx.lport, 1002, 0, R, 0, NULL, NULL, 0);
    CU_ASSERT(mg_tcp_connection_count(th.tcp) == 0);
    th_teardown();
}

static void test_syn_in_established_challenge(void) {
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, no_delack, 60000, NULL);
    th_inject(80, fx.lport, 1005, 0, S, 60000, NULL, NULL, 0); /* in window */
    struct th_sent a;
    CU_ASSERT_FATAL(th_pop(&a));
    CU_ASSERT(a.tcp.flags == A && a.tcp.seq == fx.iss + 1 && a.tcp.ack == 1001);
    th_inject(80, fx.lport, 77, 0, S, 60000, NULL, NULL, 0); /* out of window */
    CU_ASSERT_FATAL(th_pop(&a));
    CU_ASSERT(a.tcp.flags == A && a.tcp.ack == 1001);
    CU_ASSERT(mg_tcp_sock_state(s) == MG_TCP_ESTABLISHED);
    CU_ASSERT(mg_tcp_stats(th.tcp)->challenge_acks_sent >= 1);
    /* An ACK for data never sent: dropped with an ACK. */
    th_inject(80, fx.lport, 1001, fx.iss + 1000, A, 60000, NULL, NULL, 0);
    CU_ASSERT_FATAL(th_pop(&a));
    CU_ASSERT(a.tcp.flags == A && a.tcp.ack == 1001);
    CU_ASSERT(mg_tcp_stats(th.tcp)->drops[MG_TCP_DROP_BAD_ACK] == 1);
    mg_tcp_abort(s);
    th_teardown();
}

/* ------------------------------------------------------------ retransmission ---- */

static void test_syn_retransmit_timeout(void) {
    th_setup(NULL); /* initial RTO 1 s, 6 SYN retries */
    struct th_sock_events ev = {0};
    struct mg_tcp_sock *s = mg_tcp_open(th.tcp, th_record, &ev);
    CU_ASSERT_FATAL(mg_tcp_connect(s, TH_PEER_IP, 80) == 0);
    struct th_sent syn, again;
    CU_ASSERT_FATAL(th_pop(&syn));
    uint64_t rto = MG_NS_PER_S;
    for (int i = 0; i < 6; i++) {
        expect_segment_after(rto, &again);
        CU_ASSERT(again.tcp.flags == S && again.tcp.seq == syn.tcp.seq);
        rto = rto * 2 > 60 * MG_NS_PER_S ? 60 * MG_NS_PER_S : rto * 2;
    }
    th_advance(rto);
    CU_ASSERT(th_pending() == 0);
    CU_ASSERT(mg_tcp_sock_state(s) == MG_TCP_CLOSED);
    CU_ASSERT(mg_tcp_error(s) == ETIMEDOUT);
    CU_ASSERT(ev.events & MG_TCP_EV_ERROR);
    mg_tcp_close(s);
    th_teardown();
}

static void few_retries(struct mg_config *cfg) {
    cfg->tcp_delayed_ack_ns = 0;
    cfg->tcp_retries = 3;
}

static void test_data_retransmit_backoff(void) {
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, few_retries, 60000, NULL);
    /* The handshake took 0 ns: SRTT 0, RTO = the 200 ms minimum. */
    send_bytes(s, 100, 1);
    struct th_sent d;
    CU_ASSERT_FATAL(th_pop(&d));
    CU_ASSERT(d.len == 100 && d.tcp.seq == fx.iss + 1);
    uint64_t rto = 200 * MG_NS_PER_MS;
    for (int i = 0; i < 3; i++) {
        rto *= 2;
        expect_segment_after(rto / 2, &d);
        CU_ASSERT(d.len == 100 && d.tcp.seq == fx.iss + 1);
        CU_ASSERT(d.payload[0] == 1 && d.payload[99] == 100);
    }
    CU_ASSERT(mg_tcp_stats(th.tcp)->retransmits == 3);
    th_advance(rto);
    CU_ASSERT(mg_tcp_sock_state(s) == MG_TCP_CLOSED);
    CU_ASSERT(mg_tcp_error(s) == ETIMEDOUT);
    struct mg_buf *late = mkbuf(1, 0);
    CU_ASSERT(mg_tcp_send(s, late, 0) < 0); /* the connection is dead: nothing is queued */
    mg_buf_free(late);
    mg_tcp_close(s);
    th_teardown();
}

/* Found by the simulator (margay sim --scenario tests/sim/sweep.scenario --seed 167):
 * a retransmission timeout resent one segment from snd_una that also carried bytes
 * never sent before (Nagle held them), moving snd_nxt past snd_max. */
static void test_rto_segment_with_unsent_bytes(void) {
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, no_delack, 60000, NULL);
    send_bytes(s, 100, 1);
    struct th_sent d;
    CU_ASSERT_FATAL(th_pop(&d));
    CU_ASSERT(d.len == 100);
    send_bytes(s, 50, 2); /* held by Nagle: 100 bytes are unacknowledged */
    CU_ASSERT(th_pending() == 0);
    th_advance(200 * MG_NS_PER_MS); /* the RTO fires */
    CU_ASSERT_FATAL(th_pop(&d));
    CU_ASSERT(d.tcp.seq == fx.iss + 1);
    CU_ASSERT(d.len == 100 || d.len == 150);
    th_check(); /* snd_una <= snd_nxt <= snd_max */
    /* The peer acknowledges what it got; everything is then sent exactly once more at most. */
    th_inject(80, fx.lport, 1001, fx.iss + 1 + d.len, A, 60000, NULL, NULL, 0);
    th_check();
    while (th_pop(&d))
        CU_ASSERT(SEQ_LEQ(d.tcp.seq + d.len, fx.iss + 151));
    th_inject(80, fx.lport, 1001, fx.iss + 151, A, 60000, NULL, NULL, 0);
    th_check();
    mg_tcp_abort(s);
    th_teardown();
}

static const struct mg_tcp_opts mss1460 = {.has_mss = true, .mss = 1460};

static void test_fast_retransmit_newreno(void) {
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, no_delack, 60000, &mss1460);
    mg_tcp_setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
    send_bytes(s, 6 * 1460, 0);
    struct th_sent d;
    for (int i = 0; i < 6; i++) {
        CU_ASSERT_FATAL(th_pop(&d));
        CU_ASSERT(d.tcp.seq == fx.iss + 1 + (uint32_t)i * 1460);
    }
    uint32_t base = fx.iss + 1;
    /* Segments 1 and 3 lost; 2, 4, 5, 6 arrive: four duplicate ACKs for `base`. */
    th_inject(80, fx.lport, 1001, base, A, 60000, NULL, NULL, 0);
    th_inject(80, fx.lport, 1001, base, A, 60000, NULL, NULL, 0);
    CU_ASSERT(th_pending() == 0);
    th_inject(80, fx.lport, 1001, base, A, 60000, NULL, NULL, 0);
    CU_ASSERT_FATAL(th_pop(&d)); /* third duplicate: fast retransmit */
    CU_ASSERT(d.tcp.seq == base && d.len == 1460);
    CU_ASSERT(mg_tcp_stats(th.tcp)->fast_retransmits == 1);
    /* Partial ACK (covers segments 1 and 2): the next hole goes at once. */
    th_inject(80, fx.lport, 1001, base + 2 * 1460, A, 60000, NULL, NULL, 0);
    CU_ASSERT_FATAL(th_pop(&d));
    CU_ASSERT(d.tcp.seq == base + 2 * 1460 && d.len == 1460);
    /* Full ACK ends recovery. */
    th_inject(80, fx.lport, 1001, base + 6 * 1460, A, 60000, NULL, NULL, 0);
    th_check();
    send_bytes(s, 1460, 0);
    CU_ASSERT_FATAL(th_pop(&d));
    CU_ASSERT(d.tcp.seq == base + 6 * 1460);
    mg_tcp_abort(s);
    th_teardown();
}

/* ------------------------------------------------------------ SACK ---- */

static const struct mg_tcp_opts sack_mss1460 = {.has_mss = true, .mss = 1460, .sack_permitted = true};

static void sack_off(struct mg_config *cfg) {
    cfg->tcp_delayed_ack_ns = 0;
    cfg->tcp_sack = false;
}

/* SACK is on only when both SYNs carry SACK-permitted; a SYN-ACK offers it only to a
 * SYN that did (RFC 2018 2); tcp.sack false offers it nowhere. */
static void test_sack_negotiation(void) {
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, no_delack, 60000, &sack_mss1460);
    CU_ASSERT(s->sack_ok);
    mg_tcp_abort(s);
    th_teardown();
    s = fx_connect(&fx, no_delack, 60000, &mss1460);
    CU_ASSERT(!s->sack_ok);
    mg_tcp_abort(s);
    th_teardown();

    /* Passive opens: the SYN-ACK echoes the offer, never volunteers it. */
    th_setup(no_delack);
    struct mg_tcp_sock *l = mg_tcp_open(th.tcp, NULL, NULL);
    CU_ASSERT_FATAL(mg_tcp_bind(l, 0, 8080) == 0 && mg_tcp_listen(l, 8) == 0);
    struct th_sent sa;
    th_inject(4000, 8080, 7000, 0, S, 60000, &sack_mss1460, NULL, 0);
    CU_ASSERT_FATAL(th_pop(&sa));
    CU_ASSERT(sa.tcp.flags == (S | A) && sa.tcp.opts.sack_permitted);
    th_inject(4001, 8080, 9000, 0, S, 60000, &mss1460, NULL, 0);
    CU_ASSERT_FATAL(th_pop(&sa));
    CU_ASSERT(sa.tcp.flags == (S | A) && !sa.tcp.opts.sack_permitted);
    mg_tcp_close(l);
    th_teardown();

    /* tcp.sack false: no offer on the SYN or the SYN-ACK, SACK off even if the peer
     * offers, and no SACK blocks for out-of-order data. */
    th_setup(sack_off);
    s = mg_tcp_open(th.tcp, NULL, NULL);
    CU_ASSERT_FATAL(mg_tcp_connect(s, TH_PEER_IP, 80) == 0);
    struct th_sent syn;
    CU_ASSERT_FATAL(th_pop(&syn));
    CU_ASSERT(!syn.tcp.opts.sack_permitted);
    th_inject(80, syn.tcp.sport, 1000, syn.tcp.seq + 1, S | A, 60000, &sack_mss1460, NULL, 0);
    th_drain();
    CU_ASSERT(!s->sack_ok);
    th_inject(80, syn.tcp.sport, 1101, syn.tcp.seq + 1, A, 60000, NULL, "x", 1);
    struct th_sent a;
    CU_ASSERT_FATAL(th_pop(&a));
    CU_ASSERT(a.tcp.ack == 1001 && a.tcp.opts.num_sack_blocks == 0);
    l = mg_tcp_open(th.tcp, NULL, NULL);
    CU_ASSERT_FATAL(mg_tcp_bind(l, 0, 8080) == 0 && mg_tcp_listen(l, 8) == 0);
    th_inject(4000, 8080, 7000, 0, S, 60000, &sack_mss1460, NULL, 0);
    CU_ASSERT_FATAL(th_pop(&sa));
    CU_ASSERT(sa.tcp.flags == (S | A) && !sa.tcp.opts.sack_permitted);
    mg_tcp_close(l);
    mg_tcp_abort(s);
    th_teardown();
}

/* Injects 10 bytes of peer data at seq (with a timestamp when ts) and pops our ACK. */
static void ooo_data(struct fixture *fx, uint32_t seq, bool ts, struct th_sent *ack) {
    struct mg_tcp_opts o = {.has_timestamp = ts, .ts_val = 6000, .ts_ecr = 1};
    uint8_t d[100] = {0};
    th_inject(80, fx->lport, seq, fx->iss + 1, A, 60000, &o, d, 10);
    CU_ASSERT_FATAL(th_pop(ack));
    CU_ASSERT(th_pending() == 0);
}

/* Whether ack carries exactly the blocks [l, l + 10) for the n given left edges, in order. */
static bool blocks_are(const struct th_sent *ack, unsigned n, const uint32_t *lefts, uint32_t len) {
    if (ack->tcp.opts.num_sack_blocks != n)
        return false;
    for (unsigned i = 0; i < n; i++)
        if (ack->tcp.opts.sack[i].left != lefts[i] || ack->tcp.opts.sack[i].right != lefts[i] + len)
            return false;
    return true;
}

/* The receiver's blocks (RFC 2018 4): the run holding the latest segment first, then
 * the most recently reported others, as many as fit (3 beside timestamps, 4 without),
 * and none once every hole is filled. */
static void sack_receiver_blocks(bool ts) {
    struct mg_tcp_opts syn = sack_mss1460;
    syn.has_timestamp = ts;
    syn.ts_val = 5000;
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, no_delack, 60000, &syn);
    CU_ASSERT_FATAL(s->sack_ok && s->ts_ok == ts);
    unsigned max = ts ? 3 : 4;
    struct th_sent a;
    ooo_data(&fx, 1101, ts, &a);
    CU_ASSERT(a.tcp.ack == 1001 && blocks_are(&a, 1, (uint32_t[]){1101}, 10));
    ooo_data(&fx, 1201, ts, &a);
    CU_ASSERT(blocks_are(&a, 2, (uint32_t[]){1201, 1101}, 10));
    ooo_data(&fx, 1301, ts, &a);
    CU_ASSERT(blocks_are(&a, 3, (uint32_t[]){1301, 1201, 1101}, 10));
    ooo_data(&fx, 1401, ts, &a);
    CU_ASSERT(blocks_are(&a, max, (uint32_t[]){1401, 1301, 1201, 1101}, 10));
    ooo_data(&fx, 1501, ts, &a);
    CU_ASSERT(blocks_are(&a, max, (uint32_t[]){1501, 1401, 1301, 1201}, 10));
    /* Data again inside an older run: that run moves to the front. */
    ooo_data(&fx, 1201, ts, &a);
    CU_ASSERT(blocks_are(&a, max, (uint32_t[]){1201, 1501, 1401, 1301}, 10));
    /* Data joining two runs: one block for the merged run, first. */
    struct mg_tcp_opts o = {.has_timestamp = ts, .ts_val = 6000, .ts_ecr = 1};
    uint8_t d[100] = {0};
    th_inject(80, fx.lport, 1311, fx.iss + 1, A, 60000, &o, d, 90);
    CU_ASSERT_FATAL(th_pop(&a));
    CU_ASSERT(a.tcp.opts.num_sack_blocks == max && a.tcp.opts.sack[0].left == 1301 && a.tcp.opts.sack[0].right == 1411);
    CU_ASSERT(a.tcp.opts.sack[1].left == 1201 && a.tcp.opts.sack[2].left == 1501);
    /* The first hole filled: the ACK moves to 1111 and that run leaves the blocks. */
    th_inject(80, fx.lport, 1001, fx.iss + 1, A, 60000, &o, d, 100);
    CU_ASSERT_FATAL(th_pop(&a));
    CU_ASSERT(a.tcp.ack == 1111);
    CU_ASSERT(a.tcp.opts.num_sack_blocks == 3);
    CU_ASSERT(a.tcp.opts.sack[0].left == 1301 && a.tcp.opts.sack[1].left == 1201 && a.tcp.opts.sack[2].left == 1501);
    /* Every hole filled: no SACK option at all. */
    th_inject(80, fx.lport, 1111, fx.iss + 1, A, 60000, &o, d, 90);
    CU_ASSERT_FATAL(th_pop(&a));
    CU_ASSERT(a.tcp.ack == 1211 && a.tcp.opts.num_sack_blocks == 2);
    th_inject(80, fx.lport, 1211, fx.iss + 1, A, 60000, &o, d, 90);
    CU_ASSERT_FATAL(th_pop(&a));
    CU_ASSERT(a.tcp.ack == 1411 && blocks_are(&a, 1, (uint32_t[]){1501}, 10));
    th_inject(80, fx.lport, 1411, fx.iss + 1, A, 60000, &o, d, 90);
    CU_ASSERT_FATAL(th_pop(&a));
    CU_ASSERT(a.tcp.ack == 1511 && a.tcp.opts.num_sack_blocks == 0);
    CU_ASSERT(mg_tcp_stats(th.tcp)->sack_blocks_sent > 0);
    th_check();
    mg_tcp_abort(s);
    th_teardown();
}

static void test_sack_receiver_blocks_ts(void) {
    sack_receiver_blocks(true);
}

static void test_sack_receiver_blocks_no_ts(void) {
    sack_receiver_blocks(false);
}

/* A duplicate ACK from the peer for base carrying the given blocks ([l, r) pairs). */
static void sack_dupack(struct fixture *fx, uint32_t ack, unsigned n, const uint32_t *edges) {
    struct mg_tcp_opts o = {.num_sack_blocks = (uint8_t)n};
    for (unsigned i = 0; i < n; i++) {
        o.sack[i].left = edges[2 * i];
        o.sack[i].right = edges[2 * i + 1];
    }
    th_inject(80, fx->lport, 1001, ack, A, 60000, &o, NULL, 0);
    th_check();
}

/* Eight segments out, the first and the fourth lost: the peer's duplicate ACKs SACK
 * the rest. Recovery starts at the third and resends exactly the two holes, each once
 * and each when the scoreboard shows it lost, never a SACKed byte. */
static void test_sack_retransmits_holes(void) {
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, no_delack, 60000, &sack_mss1460);
    mg_tcp_setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
    send_bytes(s, 8 * 1460, 0);
    th_drain();
    const uint32_t M = 1460, b = fx.iss + 1;
#define SEG(i) (b + (uint32_t)(i)*M)
    sack_dupack(&fx, b, 1, (uint32_t[]){SEG(1), SEG(2)});
    sack_dupack(&fx, b, 1, (uint32_t[]){SEG(1), SEG(3)});
    CU_ASSERT(th_pending() == 0);
    sack_dupack(&fx, b, 2, (uint32_t[]){SEG(4), SEG(5), SEG(1), SEG(3)});
    struct th_sent d;
    CU_ASSERT_FATAL(th_pop(&d)); /* third duplicate: the first hole */
    CU_ASSERT(d.tcp.seq == SEG(0) && d.len == M);
    CU_ASSERT(th_pending() == 0); /* the fourth segment is not lost yet, and pipe >= cwnd */
    CU_ASSERT(mg_tcp_stats(th.tcp)->sack_recoveries == 1);
    sack_dupack(&fx, b, 2, (uint32_t[]){SEG(4), SEG(6), SEG(1), SEG(3)});
    CU_ASSERT(th_pending() == 0);
    sack_dupack(&fx, b, 2, (uint32_t[]){SEG(4), SEG(7), SEG(1), SEG(3)});
    CU_ASSERT_FATAL(th_pop(&d)); /* three segments SACKed above it: lost */
    CU_ASSERT(d.tcp.seq == SEG(3) && d.len == M);
    CU_ASSERT(th_pending() == 0);
    sack_dupack(&fx, b, 2, (uint32_t[]){SEG(4), SEG(8), SEG(1), SEG(3)});
    CU_ASSERT(th_pending() == 0);
    /* The first retransmission arrives: a partial ACK up to the second hole. */
    sack_dupack(&fx, SEG(3), 1, (uint32_t[]){SEG(4), SEG(8)});
    CU_ASSERT(th_pending() == 0);
    CU_ASSERT(s->in_recovery && s->sb_count == 1);
    sack_dupack(&fx, SEG(8), 0, NULL);
    CU_ASSERT(!s->in_recovery && s->sb_count == 0);
    const struct mg_tcp_stats *st = mg_tcp_stats(th.tcp);
    CU_ASSERT(st->sack_hole_retransmits == 2 && st->retransmits == 2 && st->retransmit_bytes == 2 * M);
    CU_ASSERT(st->sack_blocks_received == 11 && st->sack_blocks_ignored == 0);
    /* Loss again, then a timeout: the scoreboard is forgotten. */
    send_bytes(s, 3 * 1460, 0);        /* cwnd is one segment after the recovery */
    sack_dupack(&fx, SEG(9), 0, NULL); /* slow start: the other two go */
    th_drain();
    CU_ASSERT(s->snd_max == SEG(11));
    sack_dupack(&fx, SEG(9), 1, (uint32_t[]){SEG(10), SEG(11)});
    CU_ASSERT(s->sb_count == 1);
    th_advance(s->rto);
    CU_ASSERT_FATAL(th_pop(&d));
    CU_ASSERT(d.tcp.seq == SEG(9));
    CU_ASSERT(s->sb_count == 0);
#undef SEG
    th_check();
    mg_tcp_abort(s);
    th_teardown();
}

/* A peer that sends data too never sends duplicate ACKs by RFC 5681's letter; its
 * SACK blocks still show the first segment lost, and recovery resends it. */
static void test_sack_recovery_on_data_acks(void) {
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, no_delack, 60000, &sack_mss1460);
    mg_tcp_setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
    send_bytes(s, 6 * 1460, 0);
    th_drain();
    const uint32_t M = 1460, b = fx.iss + 1;
    struct th_sent d;
    for (uint32_t i = 2; i <= 4; i++) {
        struct mg_tcp_opts o = {.num_sack_blocks = 1, .sack = {{b + M, b + i * M}}};
        th_inject(80, fx.lport, 1001 + (i - 2) * 10, b, A, 60000, &o, "0123456789", 10);
        th_check();
        unsigned resent = 0;
        while (th_pop(&d)) {
            if (d.len > 0) {
                resent++;
                CU_ASSERT(d.tcp.seq == b && d.len == M);
            }
        }
        CU_ASSERT(resent == (i == 4 ? 1u : 0u)); /* lost once more than 2 MSS are SACKed above it */
    }
    CU_ASSERT(s->in_recovery && s->rxt_high == b + M);
    CU_ASSERT(mg_tcp_stats(th.tcp)->sack_recoveries == 1 && mg_tcp_stats(th.tcp)->sack_hole_retransmits == 1);
    mg_tcp_abort(s);
    th_teardown();
}

/* Blocks that cannot be right are ignored and counted, never stored. */
static void test_sack_invalid_blocks(void) {
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, no_delack, 60000, &sack_mss1460);
    mg_tcp_setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
    send_bytes(s, 4 * 1460, 0);
    th_drain();
    const uint32_t b = fx.iss + 1, max = b + 4 * 1460;
    sack_dupack(&fx, b, 4,
                (uint32_t[]){b + 2000, b + 1000,   /* reversed */
                             b - 100, b + 10,      /* starts below the cumulative ACK */
                             b + 1460, max + 1,    /* reaches past anything sent */
                             b + 3000, b + 3000}); /* empty */
    const struct mg_tcp_stats *st = mg_tcp_stats(th.tcp);
    CU_ASSERT(st->sack_blocks_received == 4 && st->sack_blocks_ignored == 4);
    CU_ASSERT(s->sb_count == 0);
    /* After the ACK moved, an old block below it is stale. */
    sack_dupack(&fx, b + 1460, 2, (uint32_t[]){b + 100, b + 200, b + 2920, b + 4380});
    CU_ASSERT(st->sack_blocks_received == 6 && st->sack_blocks_ignored == 5);
    CU_ASSERT(s->sb_count == 1 && s->sb[0].start == b + 2920 && s->sb[0].end == b + 4380);
    CU_ASSERT(th_pending() == 0);
    mg_tcp_abort(s);
    th_teardown();
}

/* A peer SACKing many disjoint pieces cannot grow the scoreboard past its bound; the
 * lowest ranges are kept. */
static void test_sack_scoreboard_bounded(void) {
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, no_delack, 60000, &sack_mss1460);
    mg_tcp_setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
    send_bytes(s, 10 * 1460, 0);
    th_drain();
    const uint32_t b = fx.iss + 1;
    for (uint32_t k = 0; k < 60; k += 4) {
        uint32_t e[8];
        for (uint32_t i = 0; i < 4; i++) {
            e[2 * i] = b + 100 + (59 - k - i) * 200; /* highest first, then downwards */
            e[2 * i + 1] = e[2 * i] + 50;
        }
        sack_dupack(&fx, b, 4, e);
        CU_ASSERT(s->sb_count <= TCP_SACK_SB_MAX);
    }
    CU_ASSERT(s->sb_count == TCP_SACK_SB_MAX);
    CU_ASSERT(s->sb[0].start == b + 100 && s->sb[0].end == b + 150);
    CU_ASSERT(mg_tcp_stats(th.tcp)->sack_scoreboard_full > 0);
    CU_ASSERT(mg_tcp_stats(th.tcp)->sack_blocks_ignored == 0);
    th_drain();
    /* One block covering them all collapses the scoreboard to one range. */
    sack_dupack(&fx, b, 1, (uint32_t[]){b + 100, b + 100 + 60 * 200});
    CU_ASSERT(s->sb_count == 1);
    sack_dupack(&fx, b + 10 * 1460, 0, NULL);
    CU_ASSERT(s->sb_count == 0);
    th_drain();
    mg_tcp_abort(s);
    th_teardown();
}

/* ------------------------------------------------------------ windows ---- */

static void test_zero_window_persist(void) {
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, no_delack, 1000, &mss1460);
    mg_tcp_setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
    send_bytes(s, 3000, 0);
    struct th_sent d;
    CU_ASSERT_FATAL(th_pop(&d));
    CU_ASSERT(d.len == 1000);
    uint32_t sent = d.len;
    while (th_pop(&d))
        sent += d.len;
    CU_ASSERT(sent == 1000);
    /* The peer takes it all and closes its window. */
    th_inject(80, fx.lport, 1001, fx.iss + 1 + 1000, A, 0, NULL, NULL, 0);
    CU_ASSERT(th_pending() == 0);
    th_check();
    /* Probes: SEG.SEQ = SND.UNA - 1, no data, at 200, 400, 800 ms intervals. */
    uint64_t iv = 200 * MG_NS_PER_MS;
    for (int i = 0; i < 3; i++) {
        expect_segment_after(iv, &d);
        CU_ASSERT(d.tcp.flags == A && d.tcp.seq == fx.iss + 1000 && d.len == 0);
        th_inject(80, fx.lport, 1001, fx.iss + 1 + 1000, A, 0, NULL, NULL, 0); /* still closed */
        iv *= 2;
    }
    th_check();
    /* The window opens: data flows again. */
    th_inject(80, fx.lport, 1001, fx.iss + 1 + 1000, A, 5000, NULL, NULL, 0);
    sent = 0;
    while (th_pop(&d))
        sent += d.len;
    CU_ASSERT(sent == 2000);
    mg_tcp_abort(s);
    th_teardown();
}

static void test_delayed_ack(void) {
    struct fixture fx; /* 40 ms delayed ACK */
    struct mg_tcp_sock *s = fx_connect(&fx, NULL, 60000, NULL);
    uint8_t data[1460] = {0};
    th_inject(80, fx.lport, 1001, fx.iss + 1, A, 60000, NULL, data, 1460);
    CU_ASSERT(th_pending() == 0);
    struct th_sent a;
    expect_segment_after(40 * MG_NS_PER_MS, &a);
    CU_ASSERT(a.tcp.flags == A && a.tcp.ack == 2461);
    /* Every second full segment is acknowledged at once. */
    th_inject(80, fx.lport, 2461, fx.iss + 1, A, 60000, NULL, data, 1460);
    CU_ASSERT(th_pending() == 0);
    th_inject(80, fx.lport, 3921, fx.iss + 1, A, 60000, NULL, data, 1460);
    CU_ASSERT_FATAL(th_pop(&a));
    CU_ASSERT(a.tcp.ack == 5381);
    /* Out of order: immediately (a duplicate ACK). */
    th_inject(80, fx.lport, 5381 + 1460, fx.iss + 1, A, 60000, NULL, data, 1460);
    CU_ASSERT_FATAL(th_pop(&a));
    CU_ASSERT(a.tcp.ack == 5381);
    /* Filling the hole: immediately, covering both. */
    th_inject(80, fx.lport, 5381, fx.iss + 1, A, 60000, NULL, data, 1460);
    CU_ASSERT_FATAL(th_pop(&a));
    CU_ASSERT(a.tcp.ack == 5381 + 2 * 1460);
    th_check();
    mg_tcp_abort(s);
    th_teardown();
}

static void test_nagle(void) {
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, no_delack, 60000, NULL);
    send_bytes(s, 10, 0);
    struct th_sent d;
    CU_ASSERT_FATAL(th_pop(&d)); /* nothing in flight: goes at once */
    CU_ASSERT(d.len == 10);
    send_bytes(s, 10, 0);
    send_bytes(s, 10, 0);
    CU_ASSERT(th_pending() == 0); /* held: small, and data unacknowledged */
    th_inject(80, fx.lport, 1001, fx.iss + 11, A, 60000, NULL, NULL, 0);
    CU_ASSERT_FATAL(th_pop(&d));
    CU_ASSERT(d.len == 20 && d.tcp.seq == fx.iss + 11);
    /* TCP_NODELAY: small writes go at once. */
    CU_ASSERT(mg_tcp_setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int)) == 0);
    send_bytes(s, 5, 0);
    CU_ASSERT_FATAL(th_pop(&d));
    CU_ASSERT(d.len == 5 && d.tcp.seq == fx.iss + 31);
    int v = 0;
    socklen_t vl = sizeof(v);
    CU_ASSERT(mg_tcp_getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, &vl) == 0 && v == 1);
    mg_tcp_abort(s);
    th_teardown();
}

static void test_out_of_order_reassembly(void) {
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, no_delack, 60000, NULL);
    uint8_t data[600];
    for (int i = 0; i < 600; i++)
        data[i] = (uint8_t)i;
    uint32_t base = 1001;
    /* [200,400) then [300,500) (overlap) then [450,600) then [0,250) then dup [0,100). */
    th_inject(80, fx.lport, base + 200, fx.iss + 1, A, 60000, NULL, data + 200, 200);
    th_inject(80, fx.lport, base + 300, fx.iss + 1, A, 60000, NULL, data + 300, 200);
    th_inject(80, fx.lport, base + 450, fx.iss + 1, A, 60000, NULL, data + 450, 150);
    struct th_sent a;
    int dups = 0;
    while (th_pop(&a)) {
        CU_ASSERT(a.tcp.ack == base);
        dups++;
    }
    CU_ASSERT(dups == 3);
    th_check();
    CU_ASSERT(!(fx.ev.events & MG_TCP_EV_READABLE));
    th_inject(80, fx.lport, base, fx.iss + 1, A, 60000, NULL, data, 250);
    CU_ASSERT_FATAL(th_pop(&a));
    CU_ASSERT(a.tcp.ack == base + 600);
    th_inject(80, fx.lport, base, fx.iss + 1, A, 60000, NULL, data, 100); /* old duplicate */
    CU_ASSERT_FATAL(th_pop(&a));
    CU_ASSERT(a.tcp.ack == base + 600);
    th_check();
    uint8_t got[600];
    uint32_t n = 0;
    struct mg_buf *b;
    int r;
    while ((r = mg_tcp_recv(s, &b)) > 0) {
        CU_ASSERT_FATAL(n + (uint32_t)r <= 600);
        memcpy(got + n, b->data, (size_t)r);
        n += (uint32_t)r;
        mg_buf_free(b);
    }
    CU_ASSERT(r == -EAGAIN);
    CU_ASSERT(n == 600);
    CU_ASSERT(memcmp(got, data, 600) == 0);
    mg_tcp_abort(s);
    th_teardown();
}

static void small_rcvbuf(struct mg_config *cfg) {
    cfg->tcp_delayed_ack_ns = 0;
    cfg->tcp_recv_buffer = 4000;
}

static void test_receive_window_and_sws(void) {
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, small_rcvbuf, 60000, NULL);
    uint8_t data[1460] = {0};
    th_inject(80, fx.lport, 1001, fx.iss + 1, A, 60000, NULL, data, 1460);
    struct th_sent a;
    CU_ASSERT_FATAL(th_pop(&a));
    CU_ASSERT(a.tcp.window == 4000 - 1460);
    th_inject(80, fx.lport, 2461, fx.iss + 1, A, 60000, NULL, data, 1460);
    CU_ASSERT_FATAL(th_pop(&a));
    CU_ASSERT(a.tcp.window == 4000 - 2920);
    th_inject(80, fx.lport, 3921, fx.iss + 1, A, 60000, NULL, data, 1080);
    CU_ASSERT_FATAL(th_pop(&a));
    CU_ASSERT(a.tcp.window == 0);
    /* Beyond the window: dropped, answered with an ACK. */
    th_inject(80, fx.lport, 5001, fx.iss + 1, A, 60000, NULL, data, 100);
    CU_ASSERT_FATAL(th_pop(&a));
    CU_ASSERT(a.tcp.ack == 5001 && a.tcp.window == 0);
    /* Reading one segment opens more than an MSS: a window update goes out. */
    struct mg_buf *b;
    CU_ASSERT(mg_tcp_recv(s, &b) == 1460);
    mg_buf_free(b);
    CU_ASSERT_FATAL(th_pop(&a));
    CU_ASSERT(a.tcp.window == 1460 && a.tcp.ack == 5001);
    th_check();
    mg_tcp_abort(s);
    th_teardown();
}

/* ------------------------------------------------------------ options ---- */

static void short_keepalive(struct mg_config *cfg) {
    cfg->tcp_delayed_ack_ns = 0;
    cfg->keepalive_enabled = true;
    cfg->keepalive_time_ns = 10 * MG_NS_PER_S;
    cfg->keepalive_interval_ns = 2 * MG_NS_PER_S;
    cfg->keepalive_probes = 3;
}

static void test_keepalive(void) {
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, short_keepalive, 60000, NULL);
    struct th_sent p;
    expect_segment_after(10 * MG_NS_PER_S, &p);
    CU_ASSERT(p.tcp.flags == A && p.tcp.seq == fx.iss && p.len == 0);
    /* Answered: idle again for 10 s. */
    th_inject(80, fx.lport, 1001, fx.iss + 1, A, 60000, NULL, NULL, 0);
    th_advance(2 * MG_NS_PER_S);
    CU_ASSERT(th_pending() == 0);
    th_advance(8 * MG_NS_PER_S);
    CU_ASSERT_FATAL(th_pop(&p));
    for (int i = 0; i < 2; i++) {
        th_advance(2 * MG_NS_PER_S);
        CU_ASSERT_FATAL(th_pop(&p));
        CU_ASSERT(p.tcp.seq == fx.iss);
    }
    th_advance(2 * MG_NS_PER_S);
    CU_ASSERT(mg_tcp_sock_state(s) == MG_TCP_CLOSED);
    CU_ASSERT(mg_tcp_error(s) == ETIMEDOUT);
    mg_tcp_close(s);
    th_teardown();
}

/* Closes the fixture's connection, which must answer with a RST (no FIN) and be gone. */
static void close_expecting_reset(struct mg_tcp_sock *s, const struct fixture *fx) {
    mg_tcp_close(s);
    struct th_sent r;
    CU_ASSERT_FATAL(th_pop(&r));
    CU_ASSERT((r.tcp.flags & R) && r.tcp.seq == fx->iss + 1);
    CU_ASSERT(mg_tcp_connection_count(th.tcp) == 0);
}

static void test_linger_zero_rst(void) {
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, no_delack, 60000, NULL);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    CU_ASSERT(mg_tcp_setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0);
    close_expecting_reset(s, &fx);
    th_teardown();
}

static void test_backlog_full(void) {
    th_setup(NULL);
    struct mg_tcp_sock *l = listen_on(7000, 1);
    th_inject(40000, 7000, 9000, 0, S, 30000, NULL, NULL, 0);
    struct th_sent sa;
    CU_ASSERT_FATAL(th_pop(&sa));
    th_inject(40001, 7000, 9000, 0, S, 30000, NULL, NULL, 0);
    CU_ASSERT(th_pending() == 0);
    CU_ASSERT(mg_tcp_stats(th.tcp)->drops[MG_TCP_DROP_BACKLOG_FULL] == 1);
    /* The first completes; the accept queue counts against the backlog too. */
    th_inject(40000, 7000, 9001, sa.tcp.seq + 1, A, 30000, NULL, NULL, 0);
    th_inject(40002, 7000, 9000, 0, S, 30000, NULL, NULL, 0);
    CU_ASSERT(th_pending() == 0);
    CU_ASSERT(mg_tcp_stats(th.tcp)->drops[MG_TCP_DROP_BACKLOG_FULL] == 2);
    struct mg_tcp_sock *c;
    CU_ASSERT(mg_tcp_accept(l, &c, NULL, NULL) == 0);
    th_inject(40003, 7000, 9000, 0, S, 30000, NULL, NULL, 0);
    CU_ASSERT(th_pending() == 1);
    mg_tcp_abort(c);
    mg_tcp_close(l);
    th_teardown();
}

static void test_isn(void) {
    th_setup(NULL);
    uint32_t isn[3];
    uint16_t port[3];
    for (int i = 0; i < 3; i++) {
        struct mg_tcp_sock *s = mg_tcp_open(th.tcp, NULL, NULL);
        CU_ASSERT_FATAL(mg_tcp_connect(s, TH_PEER_IP, (uint16_t)(80 + i)) == 0);
        struct th_sent syn;
        CU_ASSERT_FATAL(th_pop(&syn));
        isn[i] = syn.tcp.seq;
        port[i] = syn.tcp.sport;
        mg_tcp_close(s);
    }
    CU_ASSERT(isn[0] != isn[1] && isn[1] != isn[2] && isn[0] != isn[2]);
    /* Same 4-tuple later: the ISN advanced by the 4 us clock. */
    struct mg_tcp_sock *s = mg_tcp_open(th.tcp, NULL, NULL);
    CU_ASSERT_FATAL(mg_tcp_bind(s, 0, port[0]) == 0);
    th_advance(4000 * 1000); /* 4 ms = 1000 ticks */
    CU_ASSERT_FATAL(mg_tcp_connect(s, TH_PEER_IP, 80) == 0);
    struct th_sent syn;
    CU_ASSERT_FATAL(th_pop(&syn));
    CU_ASSERT(syn.tcp.seq - isn[0] == 1000);
    mg_tcp_close(s);
    th_teardown();
}

static void test_bind_reuse(void) {
    th_setup(no_delack);
    struct mg_tcp_sock *a = mg_tcp_open(th.tcp, NULL, NULL);
    struct mg_tcp_sock *b = mg_tcp_open(th.tcp, NULL, NULL);
    CU_ASSERT(mg_tcp_bind(a, 0, 7000) == 0);
    CU_ASSERT(mg_tcp_bind(b, 0, 7000) == -EADDRINUSE);
    CU_ASSERT(mg_tcp_bind(b, 0x0b000001, 7001) == -EADDRNOTAVAIL);
    CU_ASSERT(mg_tcp_listen(a, 8) == 0);
    uint32_t iss;
    struct mg_tcp_sock *c = th_accept(a, 7000, 40000, 100, 60000, NULL, &iss);
    mg_tcp_close(a);
    /* The accepted connection lingers on port 7000. */
    CU_ASSERT(mg_tcp_bind(b, 0, 7000) == -EADDRINUSE);
    CU_ASSERT(mg_tcp_setsockopt(b, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int)) == 0);
    CU_ASSERT(mg_tcp_bind(b, 0, 7000) == 0);
    CU_ASSERT(mg_tcp_listen(b, 8) == 0);
    mg_tcp_abort(c);
    mg_tcp_close(b);
    th_teardown();
}

static void test_time_wait_reuse(void) {
    th_setup(no_delack);
    struct mg_tcp_sock *l = listen_on(7000, 8);
    uint32_t iss;
    struct mg_tcp_sock *c = th_accept(l, 7000, 40000, 100, 60000, NULL, &iss);
    mg_tcp_close(c); /* we close first: TIME-WAIT here */
    th_inject(40000, 7000, 101, iss + 2, F | A, 60000, NULL, NULL, 0);
    th_drain();
    CU_ASSERT(mg_tcp_connection_count(th.tcp) == 1);
    /* A new SYN on the same 4-tuple with a higher sequence number reopens it. */
    th_inject(40000, 7000, 500000, 0, S, 60000, NULL, NULL, 0);
    struct th_sent sa;
    CU_ASSERT_FATAL(th_pop(&sa));
    CU_ASSERT(sa.tcp.flags == (S | A) && sa.tcp.ack == 500001);
    CU_ASSERT((int32_t)(sa.tcp.seq - (iss + 2)) > 0);
    mg_tcp_close(l);
    th_teardown();
}

static void test_orphan_fin_wait_2_timeout(void) {
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, no_delack, 60000, NULL);
    mg_tcp_close(s);
    th_inject(80, fx.lport, 1001, fx.iss + 2, A, 60000, NULL, NULL, 0);
    th_drain();
    CU_ASSERT(mg_tcp_connection_count(th.tcp) == 1);
    th_advance(60 * MG_NS_PER_S);
    CU_ASSERT(mg_tcp_connection_count(th.tcp) == 0);
    th_teardown();
}

/* With the device pool down to its reserve (an eighth of it free), a data segment's
 * ACK is still taken (the send queue is freed) and answered, but its payload is not
 * kept: it is dropped (pool_low) and acknowledged no further, so buffers the
 * application holds cannot take the last ones the device needs to receive ACKs. */
static void test_pool_reserve_keeps_acks_flowing(void) {
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, no_delack, 60000, NULL);
    mg_tcp_setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
    send_bytes(s, 500, 0);
    struct th_sent d;
    CU_ASSERT_FATAL(th_pop(&d));
    CU_ASSERT(d.len == 500);
    uint32_t size = th.pool->size;
    CU_ASSERT_FATAL(size > 0);
    static struct mg_buf *held[8192];
    uint32_t n = 0;
    while (size - th.pool->in_use >= size / 8 - 1 && n < 8192)
        held[n++] = mg_buf_alloc(th.pool);
    uint8_t pay[100];
    memset(pay, 7, sizeof(pay));
    th_inject(80, fx.lport, 1001, fx.iss + 501, A, 60000, NULL, pay, sizeof(pay));
    CU_ASSERT(mg_tcp_stats(th.tcp)->drops[MG_TCP_DROP_POOL_LOW] == 1);
    CU_ASSERT(s->snd_una == fx.iss + 501 && s->sq_bytes == 0); /* its ACK counted */
    struct mg_buf *r = NULL;
    CU_ASSERT(mg_tcp_recv(s, &r) == -EAGAIN);
    struct th_sent ack;
    CU_ASSERT_FATAL(th_pop(&ack));
    CU_ASSERT(ack.tcp.flags == A && ack.tcp.ack == 1001 && ack.len == 0);
    CU_ASSERT(!th_pop(&ack));
    /* Once the application lets go, the resent segment is kept. */
    while (n > 0)
        mg_buf_free(held[--n]);
    th_inject(80, fx.lport, 1001, fx.iss + 501, A, 60000, NULL, pay, sizeof(pay));
    CU_ASSERT(mg_tcp_stats(th.tcp)->drops[MG_TCP_DROP_POOL_LOW] == 1);
    CU_ASSERT_FATAL(th_pop(&ack));
    CU_ASSERT(ack.tcp.ack == 1101);
    CU_ASSERT(mg_tcp_recv(s, &r) == 100);
    mg_buf_free(r);
    CU_ASSERT(strcmp(mg_tcp_drop_name(MG_TCP_DROP_POOL_LOW), "pool_low") == 0);
    th_check();
    mg_tcp_abort(s);
    th_teardown();
}

static void test_bad_segments_counted(void) {
    th_setup(NULL);
    uint64_t before = total_drops();
    /* A corrupted checksum. */
    struct mg_buf *b = mg_buf_alloc(th.pool);
    uint8_t *p = mg_buf_append(b, 14 + 20 + 20);
    memset(p, 0, 54);
    struct mg_eth_hdr eh = {.ethertype = MG_ETHERTYPE_IPV4};
    memcpy(eh.dst, th.dev.mac, 6);
    mg_eth_build(p, 14, &eh);
    struct mg_ipv4_hdr ih = {
        .hdr_len = 20, .total_len = 40, .ttl = 64, .proto = 6, .src = TH_PEER_IP, .dst = TH_LOCAL_IP};
    mg_ipv4_build(p + 14, 20, &ih, true);
    struct mg_tcp_hdr h = {.sport = 1, .dport = 2, .flags = S, .cksum = 0x1234};
    mg_tcp_build(p + 34, 20, &h);
    mg_inet_input(th.inet, b);
    CU_ASSERT(mg_tcp_stats(th.tcp)->drops[MG_TCP_DROP_BAD_CKSUM] == 1);
    CU_ASSERT(total_drops() == before + 1);
    CU_ASSERT(th_pending() == 0);
    CU_ASSERT(strcmp(mg_tcp_drop_name(MG_TCP_DROP_BAD_CKSUM), "bad_cksum") == 0);
    CU_ASSERT(strcmp(mg_tcp_state_name(MG_TCP_TIME_WAIT), "TIME-WAIT") == 0);
    th_teardown();
}

/* An ICMP destination unreachable (code) about a segment we sent, quoting its first
 * 8 bytes: ports and sequence number. */
static void icmp_unreachable_about(const struct th_sent *sent, uint8_t code) {
    uint8_t l4[8] = {(uint8_t)(sent->tcp.sport >> 8), (uint8_t)sent->tcp.sport,       (uint8_t)(sent->tcp.dport >> 8),
                     (uint8_t)sent->tcp.dport,        (uint8_t)(sent->tcp.seq >> 24), (uint8_t)(sent->tcp.seq >> 16),
                     (uint8_t)(sent->tcp.seq >> 8),   (uint8_t)sent->tcp.seq};
    struct mg_ipv4_hdr inner = {.hdr_len = 20, .proto = 6, .src = TH_LOCAL_IP, .dst = TH_PEER_IP};
    mg_tcp_icmp_error(th.tcp, MG_ICMP_DEST_UNREACH, code, &inner, l4, sizeof(l4));
}

static void test_icmp_and_arp_errors(void) {
    th_setup(NULL);
    struct th_sock_events ev = {0};
    struct mg_tcp_sock *s = mg_tcp_open(th.tcp, th_record, &ev);
    CU_ASSERT_FATAL(mg_tcp_connect(s, TH_PEER_IP, 80) == 0);
    struct th_sent syn;
    CU_ASSERT_FATAL(th_pop(&syn));
    icmp_unreachable_about(&syn, MG_ICMP_CODE_PORT_UNREACH);
    CU_ASSERT(mg_tcp_error(s) == ECONNREFUSED);
    mg_tcp_close(s);
    s = mg_tcp_open(th.tcp, th_record, &ev);
    CU_ASSERT_FATAL(mg_tcp_connect(s, TH_PEER_IP, 80) == 0);
    CU_ASSERT_FATAL(th_pop(&syn));
    icmp_unreachable_about(&syn, MG_ICMP_CODE_HOST_UNREACH);
    CU_ASSERT(mg_tcp_error(s) == EHOSTUNREACH);
    mg_tcp_close(s);
    s = mg_tcp_open(th.tcp, th_record, &ev);
    CU_ASSERT_FATAL(mg_tcp_connect(s, TH_PEER_IP, 80) == 0);
    mg_tcp_neighbor_failed(th.tcp, TH_PEER_IP);
    CU_ASSERT(mg_tcp_error(s) == EHOSTUNREACH);
    mg_tcp_close(s);
    th_teardown();
}

static void test_syn_ack_retransmit(void) {
    th_setup(NULL);
    struct mg_tcp_sock *l = listen_on(7000, 4);
    th_inject(40000, 7000, 9000, 0, S, 30000, NULL, NULL, 0);
    struct th_sent sa, again;
    CU_ASSERT_FATAL(th_pop(&sa));
    /* A duplicate SYN (our SYN-ACK was lost): the SYN-ACK again, at once. */
    th_inject(40000, 7000, 9000, 0, S, 30000, NULL, NULL, 0);
    CU_ASSERT_FATAL(th_pop(&again));
    CU_ASSERT(again.tcp.flags == (S | A) && again.tcp.seq == sa.tcp.seq && again.tcp.ack == 9001);
    /* Then on the timer: 1 s, 2 s, ... and the half-open child goes after 6 tries. */
    uint64_t rto = MG_NS_PER_S;
    for (int i = 0; i < 6; i++) {
        expect_segment_after(rto, &again);
        CU_ASSERT(again.tcp.flags == (S | A) && again.tcp.seq == sa.tcp.seq);
        rto *= 2;
    }
    CU_ASSERT(mg_tcp_connection_count(th.tcp) == 1);
    th_advance(rto);
    CU_ASSERT(mg_tcp_connection_count(th.tcp) == 0);
    CU_ASSERT(th_pending() == 0);
    mg_tcp_close(l);
    th_teardown();
}

static void test_ooo_fin_and_bound(void) {
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, no_delack, 60000, NULL);
    /* Data then FIN, arriving FIN first. */
    th_inject(80, fx.lport, 1011, fx.iss + 1, F | A, 60000, NULL, "world", 5);
    CU_ASSERT(mg_tcp_sock_state(s) == MG_TCP_ESTABLISHED);
    th_inject(80, fx.lport, 1001, fx.iss + 1, A, 60000, NULL, "hello, wor", 10);
    CU_ASSERT(mg_tcp_sock_state(s) == MG_TCP_CLOSE_WAIT);
    th_drain();
    struct mg_buf *b;
    char got[16] = {0};
    int n = 0, r;
    while ((r = mg_tcp_recv(s, &b)) > 0) {
        memcpy(got + n, b->data, (size_t)r);
        n += r;
        mg_buf_free(b);
    }
    CU_ASSERT(r == 0 && n == 15 && memcmp(got, "hello, worworld", 15) == 0);
    th_check();
    mg_tcp_abort(s);
    th_teardown();
}

static void tiny_ooo(struct mg_config *cfg) {
    cfg->tcp_delayed_ack_ns = 0;
    cfg->tcp_ooo_max_segments = 2;
}

static void test_ooo_queue_bound(void) {
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, tiny_ooo, 60000, NULL);
    uint8_t d[10] = {0};
    th_inject(80, fx.lport, 1101, fx.iss + 1, A, 60000, NULL, d, 10);
    th_inject(80, fx.lport, 1201, fx.iss + 1, A, 60000, NULL, d, 10);
    th_inject(80, fx.lport, 1301, fx.iss + 1, A, 60000, NULL, d, 10);
    CU_ASSERT(mg_tcp_stats(th.tcp)->drops[MG_TCP_DROP_OOO_FULL] == 1);
    th_check();
    mg_tcp_abort(s);
    th_teardown();
}

static void test_paws(void) {
    struct mg_tcp_opts o = {.has_mss = true, .mss = 1460, .has_timestamp = true, .ts_val = 5000};
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, no_delack, 60000, &o);
    struct mg_tcp_opts t = {.has_timestamp = true, .ts_val = 5001, .ts_ecr = 1};
    th_inject(80, fx.lport, 1001, fx.iss + 1, A, 60000, &t, "ab", 2);
    struct th_sent a;
    CU_ASSERT_FATAL(th_pop(&a));
    CU_ASSERT(a.tcp.ack == 1003 && a.tcp.opts.has_timestamp && a.tcp.opts.ts_ecr == 5001);
    /* An old timestamp: dropped (PAWS), answered with an ACK, data not taken. */
    t.ts_val = 4000;
    th_inject(80, fx.lport, 1003, fx.iss + 1, A, 60000, &t, "cd", 2);
    CU_ASSERT_FATAL(th_pop(&a));
    CU_ASSERT(a.tcp.ack == 1003);
    CU_ASSERT(mg_tcp_stats(th.tcp)->drops[MG_TCP_DROP_OUT_OF_WINDOW] == 1);
    mg_tcp_abort(s);
    th_teardown();
}

static void test_close_with_unread_data_resets(void) {
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, no_delack, 60000, NULL);
    th_inject(80, fx.lport, 1001, fx.iss + 1, A, 60000, NULL, "unread", 6);
    th_drain();
    close_expecting_reset(s, &fx);
    th_teardown();
}

static void test_rtt_sets_rto(void) {
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, no_delack, 60000, &mss1460);
    mg_tcp_setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
    /* Three round trips of 150 ms each (each under the RTO of the moment). */
    for (int i = 0; i < 3; i++) {
        send_bytes(s, 10, 0);
        struct th_sent d;
        CU_ASSERT_FATAL(th_pop(&d));
        th_advance(150 * MG_NS_PER_MS);
        CU_ASSERT(th_pending() == 0);
        th_inject(80, fx.lport, 1001, d.tcp.seq + 10, A, 60000, NULL, NULL, 0);
    }
    send_bytes(s, 10, 0);
    struct th_sent d;
    CU_ASSERT_FATAL(th_pop(&d));
    /* RTO = SRTT + 4*RTTVAR (RFC 6298): samples 0 (handshake), 150, 150, 150 ms give
     * SRTT 49.5 ms, RTTVAR 74.4 ms, RTO 347 ms. */
    th_advance(300 * MG_NS_PER_MS);
    CU_ASSERT(th_pending() == 0);
    th_advance(100 * MG_NS_PER_MS);
    CU_ASSERT_FATAL(th_pop(&d));
    CU_ASSERT(d.len == 10 && d.tcp.seq == fx.iss + 31);
    mg_tcp_abort(s);
    th_teardown();
}

static void test_challenge_ack_rate_limit(void) {
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, no_delack, 60000, NULL);
    for (int i = 0; i < 1100; i++)
        th_inject(80, fx.lport, 1001 + 1 + (uint32_t)i, 0, R, 0, NULL, NULL, 0);
    CU_ASSERT(th_pending() == 1000);
    CU_ASSERT(mg_tcp_stats(th.tcp)->challenge_acks_sent == 1000);
    th_drain();
    th_advance(MG_NS_PER_S);
    th_inject(80, fx.lport, 1005, 0, R, 0, NULL, NULL, 0);
    CU_ASSERT(th_pending() == 1);
    CU_ASSERT(mg_tcp_sock_state(s) == MG_TCP_ESTABLISHED);
    mg_tcp_abort(s);
    th_teardown();
}

static void test_persist_unanswered_times_out(void) {
    struct fixture fx;                                                 /* 3 retries */
    struct mg_tcp_sock *s = fx_connect(&fx, few_retries, 0, &mss1460); /* window 0 from the start */
    send_bytes(s, 100, 0);
    CU_ASSERT(th_pending() == 0);
    uint64_t iv = 200 * MG_NS_PER_MS;
    for (int i = 0; i < 3; i++) {
        th_advance(iv);
        struct th_sent p;
        CU_ASSERT_FATAL(th_pop(&p));
        CU_ASSERT(p.len == 0 && p.tcp.seq == fx.iss);
        iv *= 2;
    }
    CU_ASSERT(mg_tcp_error(s) == 0);
    th_advance(iv);
    CU_ASSERT(mg_tcp_error(s) == ETIMEDOUT);
    mg_tcp_close(s);
    th_teardown();
}

/* Random segments near the connection's sequence space, with sends, reads and time
 * passing in between: nothing crashes, the invariants always hold, every buffer
 * comes back. Seeded, so a failure reproduces. */
static void test_random_segments(void) {
    uint64_t seed = 12345;
    struct mg_tcp_opts o = {
        .has_mss = true, .mss = 1000, .has_wscale = true, .wscale = 2, .has_timestamp = true, .ts_val = 100};
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, NULL, 60000, &o);
    struct mg_tcp_sock *l = listen_on(7000, 8);
    uint8_t payload[1500];
    memset(payload, 0xab, sizeof(payload));
    static const uint8_t flag_sets[] = {A, A, A, A | P, A | F, S, S | A, R, R | A, F, 0, A | S | F, A | R};
    for (int i = 0; i < 20000; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t r = (uint32_t)(seed >> 33);
        uint8_t flags = flag_sets[r % sizeof(flag_sets)];
        uint32_t seq = 1001 + (r >> 4) % 200000 - 100000 / 2;
        uint32_t ack = fx.iss + 1 + (r >> 8) % 40000 - 20000 / 2;
        uint32_t len = (r >> 12) % 4 == 0 ? (r >> 14) % 1400 : 0;
        uint16_t dport = (r >> 20) % 8 == 0 ? 7000 : fx.lport;
        struct mg_tcp_opts to = {.has_timestamp = (r >> 24) % 4 != 0, .ts_val = 100 + (uint32_t)i - (r >> 25) % 50};
        th_inject(80, dport, seq, ack, flags, (uint16_t)(r >> 3), &to, payload, len);
        if (i % 7 == 0) {
            struct mg_buf *out = mkbuf(1 + r % 3000, 0);
            int n = mg_tcp_send(s, out, 0);
            CU_ASSERT(n >= 0 || n == -ECONNRESET || n == -ETIMEDOUT || n == -EPIPE || n == -ENOTCONN);
            mg_buf_free(out);
        }
        struct mg_buf *b;
        while (mg_tcp_recv(s, &b) > 0)
            mg_buf_free(b);
        struct mg_tcp_sock *child;
        while (mg_tcp_accept(l, &child, NULL, NULL) == 0)
            mg_tcp_abort(child);
        if (i % 50 == 0)
            th_advance((r % 3000) * MG_NS_PER_MS);
        th_drain();
        char why[256];
        if (mg_tcp_check_invariants(th.tcp, why, sizeof(why)) != 0) {
            fprintf(stderr, "step %d: %s\n", i, why);
            CU_FAIL("invariant");
            break;
        }
    }
    if (getenv("TCP_SEG_VERBOSE")) {
        const struct mg_tcp_stats *st = mg_tcp_stats(th.tcp);
        fprintf(stderr, "[state %s err %d in %lu out %lu challenge %lu drops", mg_tcp_state_name(mg_tcp_sock_state(s)),
                mg_tcp_error(s), (unsigned long)st->segs_in, (unsigned long)st->segs_out,
                (unsigned long)st->challenge_acks_sent);
        for (int d = 0; d < MG_TCP_DROP__COUNT; d++)
            fprintf(stderr, " %s=%lu", mg_tcp_drop_name(d), (unsigned long)st->drops[d]);
        fprintf(stderr, "] ");
    }
    mg_tcp_abort(s);
    mg_tcp_close(l);
    th_advance(600 * MG_NS_PER_S);
    th_teardown();
}

static void two_ports(struct mg_config *cfg) {
    cfg->ephemeral_port_min = 50000;
    cfg->ephemeral_port_max = 50001;
}

static void test_ephemeral_ports(void) {
    th_setup(two_ports);
    struct mg_tcp_sock *a = mg_tcp_open(th.tcp, NULL, NULL);
    struct mg_tcp_sock *b = mg_tcp_open(th.tcp, NULL, NULL);
    struct mg_tcp_sock *c = mg_tcp_open(th.tcp, NULL, NULL);
    struct mg_tcp_sock *d = mg_tcp_open(th.tcp, NULL, NULL);
    CU_ASSERT(mg_tcp_connect(a, TH_PEER_IP, 80) == 0);
    CU_ASSERT(mg_tcp_connect(b, TH_PEER_IP, 80) == 0);
    CU_ASSERT(mg_tcp_connect(c, TH_PEER_IP, 80) == -EADDRNOTAVAIL); /* both 4-tuples taken */
    CU_ASSERT(mg_tcp_connect(d, TH_PEER_IP, 81) == 0);              /* another peer port: fine */
    uint16_t pa, pb;
    mg_tcp_local(a, NULL, &pa);
    mg_tcp_local(b, NULL, &pb);
    CU_ASSERT(pa != pb && pa >= 50000 && pa <= 50001 && pb >= 50000 && pb <= 50001);
    mg_tcp_close(a);
    mg_tcp_close(b);
    mg_tcp_close(c);
    mg_tcp_close(d);
    th_teardown();
}

static void test_zero_copy_transmit(void) {
    struct fixture fx;
    struct mg_tcp_sock *s = fx_connect(&fx, no_delack, 60000, &mss1460);
    send_bytes(s, 10, 0); /* in flight: Nagle holds what follows */
    struct th_sent d;
    CU_ASSERT_FATAL(th_pop(&d));
    uint64_t copies = mg_tcp_stats(th.tcp)->payload_copies;
    struct mg_buf *b = mg_buf_alloc_heap(500, 128);
    uint8_t *p = mg_buf_append(b, 500);
    for (int i = 0; i < 500; i++)
        p[i] = (uint8_t)(i * 3);
    CU_ASSERT(mg_tcp_send(s, b, 100) == 400); /* bytes [100, 500) */
    mg_buf_free(b);                           /* only TCP holds it now */
    CU_ASSERT(th_pending() == 0);
    th_inject(80, fx.lport, 1001, fx.iss + 11, A, 60000, NULL, NULL, 0);
    CU_ASSERT(th_pending() == 1);
    CU_ASSERT(mg_tcp_stats(th.tcp)->payload_copies == copies); /* sent in place */
    /* The capture device still holds that frame: the retransmission must copy. */
    th_advance(200 * MG_NS_PER_MS);
    CU_ASSERT(mg_tcp_stats(th.tcp)->payload_copies == copies + 400);
    for (int k = 0; k < 2; k++) {
        CU_ASSERT_FATAL(th_pop(&d));
        CU_ASSERT(d.len == 400 && d.tcp.seq == fx.iss + 11);
        for (int i = 0; i < 400; i++)
            CU_ASSERT_FATAL(d.payload[i] == (uint8_t)((i + 100) * 3));
    }
    /* The device let go: the next retransmission is in place again. */
    th_advance(400 * MG_NS_PER_MS);
    CU_ASSERT_FATAL(th_pop(&d));
    CU_ASSERT(d.len == 400 && d.payload[0] == (uint8_t)300 && d.payload[399] == (uint8_t)(499 * 3));
    CU_ASSERT(mg_tcp_stats(th.tcp)->payload_copies == copies + 400);
    th_check();
    mg_tcp_abort(s);
    th_teardown();
}

static void test_wscale_clamped(void) {
    th_setup(no_delack);
    struct mg_tcp_sock *l = listen_on(7000, 4);
    struct mg_tcp_opts o = {.has_mss = true, .mss = 1460, .has_wscale = true, .wscale = 15};
    uint32_t iss;
    struct mg_tcp_sock *c = th_accept(l, 7000, 40000, 100, 1, &o, &iss);
    CU_ASSERT(c->ws_ok && c->snd_wscale == 14); /* RFC 7323 2.3 */
    CU_ASSERT(c->snd_wnd == 1u << 14);
    mg_tcp_abort(c);
    mg_tcp_close(l);
    th_teardown();
}

static void table_of_256(struct mg_config *cfg) {
    cfg->tcp_max_connections = 256; /* the smallest connection table: 256 chains */
}

static uint32_t longest_chain(enum tcp_table t) {
    const struct tcp_hash *h = &th.tcp->tables[t];
    uint32_t longest = 0;
    for (uint32_t i = 0; i <= h->mask; i++) {
        uint32_t n = 0;
        for (const struct mg_tcp_sock *c = h->chains[i]; c; c = c->hash_next[t])
            n++;
        longest = n > longest ? n : longest;
    }
    return longest;
}

/* Enough sockets that every table has chains shared by several: after every other one
 * leaves (from anywhere in its chains), each table still finds exactly those left. */
static void test_tables_with_shared_chains(void) {
    th_setup(table_of_256);
    enum { LISTENERS = 40, CONNS = 200 };
    struct mg_tcp_sock *lis[LISTENERS], *conn[CONNS];
    uint16_t conn_port[CONNS];
    struct th_sock_events ev = {0};
    for (int i = 0; i < LISTENERS; i++)
        lis[i] = listen_on((uint16_t)(20000 + i), 1);
    for (int i = 0; i < CONNS; i++)
        conn[i] = th_connect((uint16_t)(1000 + i), 1000, 60000, NULL, &ev, NULL, &conn_port[i]);
    CU_ASSERT(longest_chain(TCP_TABLE_CONN) >= 2);
    CU_ASSERT(longest_chain(TCP_TABLE_LISTEN) >= 2);
    CU_ASSERT(longest_chain(TCP_TABLE_BIND) >= 2);
    th_check();
    for (int i = 1; i < LISTENERS; i += 2)
        mg_tcp_close(lis[i]);
    for (int i = 1; i < CONNS; i += 2)
        mg_tcp_abort(conn[i]);
    th_drain();
    th_check();
    for (int i = 0; i < LISTENERS; i++) {
        struct mg_tcp_sock *found = tcp_listen_lookup(th.tcp, TH_LOCAL_IP, (uint16_t)(20000 + i));
        CU_ASSERT(found == (i % 2 ? NULL : lis[i]));
        /* The bind table agrees: a port is free again exactly when its listener left. */
        struct mg_tcp_sock *b = mg_tcp_open(th.tcp, NULL, NULL);
        CU_ASSERT(mg_tcp_bind(b, 0, (uint16_t)(20000 + i)) == (i % 2 ? 0 : -EADDRINUSE));
        mg_tcp_close(b);
    }
    for (int i = 0; i < CONNS; i++) {
        struct mg_tcp_sock *found =
            tcp_conn_lookup(th.tcp, TH_LOCAL_IP, conn_port[i], TH_PEER_IP, (uint16_t)(1000 + i));
        CU_ASSERT(found == (i % 2 ? NULL : conn[i]));
    }
    for (int i = 0; i < CONNS; i += 2)
        mg_tcp_abort(conn[i]);
    for (int i = 0; i < LISTENERS; i += 2)
        mg_tcp_close(lis[i]);
    CU_ASSERT(mg_tcp_connection_count(th.tcp) == 0);
    th_teardown();
}

static const struct mg_test_case cases[] = {
    {"active open, options, peer MSS", test_active_open},
    {"default MSS 536", test_default_mss_536},
    {"passive open, window scaling, timestamps", test_passive_open},
    {"simultaneous open", test_simultaneous_open},
    {"active close, TIME-WAIT 2*MSL", test_active_close_time_wait},
    {"passive close", test_passive_close},
    {"simultaneous close", test_simultaneous_close},
    {"RST to a closed port", test_rst_to_closed_port},
    {"RST in SYN-SENT", test_rst_syn_sent},
    {"RST in SYN-RECEIVED", test_rst_syn_received},
    {"RST in ESTABLISHED", test_rst_established},
    {"RST in CLOSE-WAIT", test_rst_close_wait},
    {"RST in FIN-WAIT-1", test_rst_fin_wait_1},
    {"RST in FIN-WAIT-2", test_rst_fin_wait_2},
    {"RST in LAST-ACK", test_rst_last_ack},
    {"RST in CLOSING", test_rst_closing},
    {"RST in TIME-WAIT", test_rst_time_wait},
    {"SYN in ESTABLISHED: challenge ACK", test_syn_in_established_challenge},
    {"SYN retransmission and ETIMEDOUT", test_syn_retransmit_timeout},
    {"data retransmission backoff and retry limit", test_data_retransmit_backoff},
    {"fast retransmit and NewReno", test_fast_retransmit_newreno},
    {"SACK negotiation", test_sack_negotiation},
    {"SACK blocks sent, with timestamps", test_sack_receiver_blocks_ts},
    {"SACK blocks sent, without timestamps", test_sack_receiver_blocks_no_ts},
    {"SACK recovery resends exactly the holes", test_sack_retransmits_holes},
    {"SACK recovery on ACKs that carry data", test_sack_recovery_on_data_acks},
    {"invalid SACK blocks ignored and counted", test_sack_invalid_blocks},
    {"SACK scoreboard bounded", test_sack_scoreboard_bounded},
    {"zero window and persist probes", test_zero_window_persist},
    {"delayed ACK", test_delayed_ack},
    {"Nagle and TCP_NODELAY", test_nagle},
    {"RTO segment with unsent bytes", test_rto_segment_with_unsent_bytes},
    {"out-of-order reassembly", test_out_of_order_reassembly},
    {"receive window and SWS", test_receive_window_and_sws},
    {"keepalive", test_keepalive},
    {"SO_LINGER 0 sends RST", test_linger_zero_rst},
    {"backlog full", test_backlog_full},
    {"ISNs per 4-tuple and time", test_isn},
    {"bind, SO_REUSEADDR", test_bind_reuse},
    {"TIME-WAIT reuse by a newer SYN", test_time_wait_reuse},
    {"orphan FIN-WAIT-2 timeout", test_orphan_fin_wait_2_timeout},
    {"pool down to its reserve: ACKs taken, payload dropped", test_pool_reserve_keeps_acks_flowing},
    {"bad segments counted", test_bad_segments_counted},
    {"ICMP and ARP errors", test_icmp_and_arp_errors},
    {"SYN-ACK retransmission, duplicate SYN", test_syn_ack_retransmit},
    {"out-of-order FIN", test_ooo_fin_and_bound},
    {"out-of-order queue bound", test_ooo_queue_bound},
    {"PAWS", test_paws},
    {"close with unread data resets", test_close_with_unread_data_resets},
    {"RTT sets the RTO", test_rtt_sets_rto},
    {"challenge ACK rate limit", test_challenge_ack_rate_limit},
    {"unanswered zero-window probes time out", test_persist_unanswered_times_out},
    {"random segments keep the invariants", test_random_segments},
    {"ephemeral ports", test_ephemeral_ports},
    {"zero-copy transmit in place", test_zero_copy_transmit},
    {"window scale clamped to 14", test_wscale_clamped},
    {"tables with shared chains", test_tables_with_shared_chains},
    {NULL, NULL},
};

int main(void) {
    return mg_run_tests("tcp_seg", cases);
}
