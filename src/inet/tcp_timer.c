/* inet/tcp_timer.c — the five timers of a TCP connection, embedded in it so arming
 * allocates nothing: retransmission (RFC 6298: SRTT/RTTVAR, backoff, retry limit),
 * delayed ACK, persist (zero-window probes with backoff), keepalive (idle, probes,
 * ETIMEDOUT), and the wait timer (TIME-WAIT's 2*MSL; an orphan's FIN-WAIT-2 bound).
 * Each fires inside mg_timers_run and enters the layer like an input does. */
#include <errno.h>

#include "inet/tcp_int.h"

uint64_t tcp_now(const struct mg_tcp_sock *c) {
    return mg_inet_now(c->tcp->inet);
}

static struct mg_timers *timers_of(struct mg_tcp_sock *c) {
    return &c->tcp->inet->timers;
}

static uint64_t min_rto(const struct mg_tcp_sock *c) {
    uint64_t v = c->tcp->inet->cfg.tcp_min_rto_ns;
    return v ? v : 200 * MG_NS_PER_MS;
}

static uint64_t max_rto(const struct mg_tcp_sock *c) {
    uint64_t v = c->tcp->inet->cfg.tcp_max_rto_ns;
    return v ? v : 60 * MG_NS_PER_S;
}

static uint64_t clamp_rto(const struct mg_tcp_sock *c, uint64_t v) {
    if (v < min_rto(c))
        v = min_rto(c);
    if (v > max_rto(c))
        v = max_rto(c);
    return v;
}

/* RFC 6298 section 2. */
void tcp_rtt_sample(struct mg_tcp_sock *c, uint64_t r) {
    if (!c->have_rtt) {
        c->srtt = r;
        c->rttvar = r / 2;
        c->have_rtt = true;
    } else {
        uint64_t diff = c->srtt > r ? c->srtt - r : r - c->srtt;
        c->rttvar = (3 * c->rttvar + diff) / 4;
        c->srtt = (7 * c->srtt + r) / 8;
    }
    c->rto = clamp_rto(c, c->srtt + 4 * c->rttvar);
}

void tcp_arm_rexmit(struct mg_tcp_sock *c) {
    mg_timer_arm(timers_of(c), &c->t_rexmit, tcp_now(c) + c->rto);
}

void tcp_rexmit_update(struct mg_tcp_sock *c) {
    bool outstanding = c->snd_una != c->snd_max && c->state != MG_TCP_CLOSED && c->state != MG_TCP_TIME_WAIT &&
                       c->state != MG_TCP_LISTEN;
    if (outstanding) {
        if (!mg_timer_armed(&c->t_rexmit))
            tcp_arm_rexmit(c);
        mg_timer_cancel(timers_of(c), &c->t_persist);
    } else {
        mg_timer_cancel(timers_of(c), &c->t_rexmit);
    }
}

static void fail_timeout(struct mg_tcp_sock *c) {
    c->tcp->stats.conns_timed_out++;
    tcp_terminate(c, ETIMEDOUT);
}

static void rexmit_fire(struct mg_timer *t, void *arg) {
    (void)t;
    struct mg_tcp_sock *c = arg;
    struct mg_tcp_layer *tcp = c->tcp;
    const struct mg_config *cfg = &tcp->inet->cfg;
    tcp_enter(tcp);
    tcp->stats.timeouts++;
    c->nretx++;
    c->rtt_timing = false; /* Karn: no samples from retransmitted segments */
    c->rto = c->rto * 2 > max_rto(c) ? max_rto(c) : c->rto * 2;
    if (c->state == MG_TCP_SYN_SENT || c->state == MG_TCP_SYN_RECEIVED) {
        if (c->nretx > cfg->tcp_syn_retries) {
            if (c->parent)
                tcp_terminate(c, ETIMEDOUT); /* a half-open child just goes away */
            else
                fail_timeout(c);
        } else {
            tcp->stats.retransmits++;
            tcp_send_syn(c);
        }
    } else if (c->nretx > cfg->tcp_retries) {
        fail_timeout(c);
    } else {
        /* Go back to the first unacknowledged byte; one segment now (even into a zero
         * window: it doubles as a probe), the rest as ACKs come back in slow start. */
        tcp_cc_timeout(c);
        c->snd_nxt = c->snd_una;
        uint32_t end = tcp_data_end(c);
        uint32_t len = SEQ_LT(c->snd_una, end) ? end - c->snd_una : 0;
        if (len > c->mss)
            len = c->mss;
        bool fin = c->fin_sent && c->snd_una + len == end;
        tcp_xmit_data(c, c->snd_una, len, fin);
        c->snd_nxt = c->snd_una + len + (fin ? 1u : 0u);
        tcp_arm_rexmit(c);
        tcp_output(c);
    }
    tcp_leave(tcp);
}

static void delack_fire(struct mg_timer *t, void *arg) {
    (void)t;
    struct mg_tcp_sock *c = arg;
    struct mg_tcp_layer *tcp = c->tcp;
    tcp_enter(tcp);
    if (c->state != MG_TCP_CLOSED && c->state != MG_TCP_LISTEN)
        tcp_send_ack(c);
    tcp_leave(tcp);
}

void tcp_arm_delack(struct mg_tcp_sock *c) {
    if (!mg_timer_armed(&c->t_delack))
        mg_timer_arm(timers_of(c), &c->t_delack, tcp_now(c) + c->tcp->inet->cfg.tcp_delayed_ack_ns);
}

/* Whether data (or a FIN) waits while nothing is in flight: only the peer's window
 * can be holding it, so the persist timer must run. */
static bool persist_needed(const struct mg_tcp_sock *c) {
    if (c->snd_una != c->snd_max)
        return false;
    if (c->state != MG_TCP_ESTABLISHED && c->state != MG_TCP_CLOSE_WAIT && c->state != MG_TCP_FIN_WAIT_1 &&
        c->state != MG_TCP_LAST_ACK)
        return false;
    uint32_t end = tcp_data_end(c);
    return SEQ_LT(c->snd_nxt, end) || (c->fin_queued && !c->fin_sent);
}

static uint64_t persist_interval(const struct mg_tcp_sock *c) {
    uint64_t base = c->rto;
    uint32_t shift = c->persist_shift > 16 ? 16 : c->persist_shift;
    return clamp_rto(c, base << shift);
}

void tcp_persist_update(struct mg_tcp_sock *c) {
    if (persist_needed(c)) {
        if (!mg_timer_armed(&c->t_persist))
            mg_timer_arm(timers_of(c), &c->t_persist, tcp_now(c) + persist_interval(c));
    } else {
        mg_timer_cancel(timers_of(c), &c->t_persist);
        c->persist_shift = 0;
    }
}

static void persist_fire(struct mg_timer *t, void *arg) {
    (void)t;
    struct mg_tcp_sock *c = arg;
    struct mg_tcp_layer *tcp = c->tcp;
    tcp_enter(tcp);
    if (persist_needed(c) && c->probes_unanswered >= c->tcp->inet->cfg.tcp_retries) {
        /* The window stayed shut and the peer stopped answering probes. */
        fail_timeout(c);
    } else if (persist_needed(c)) {
        c->probes_unanswered++;
        if (c->snd_wnd == 0)
            tcp_send_probe(c);
        else
            tcp_output_force(c);
        if (c->persist_shift < 16)
            c->persist_shift++;
        if (persist_needed(c))
            mg_timer_arm(timers_of(c), &c->t_persist, tcp_now(c) + persist_interval(c));
    }
    tcp_leave(tcp);
}

static bool keepalive_state(enum mg_tcp_state s) {
    return s == MG_TCP_ESTABLISHED || s == MG_TCP_CLOSE_WAIT;
}

void tcp_keepalive_reset(struct mg_tcp_sock *c) {
    c->keep_sent = 0;
    if (c->keepalive && keepalive_state(c->state))
        mg_timer_arm(timers_of(c), &c->t_keep, c->last_rx_ns + c->keep_idle_ns);
    else
        mg_timer_cancel(timers_of(c), &c->t_keep);
}

static void keep_fire(struct mg_timer *t, void *arg) {
    (void)t;
    struct mg_tcp_sock *c = arg;
    struct mg_tcp_layer *tcp = c->tcp;
    if (!c->keepalive || !keepalive_state(c->state))
        return;
    tcp_enter(tcp);
    uint64_t now = tcp_now(c);
    if (c->keep_sent == 0 && now < c->last_rx_ns + c->keep_idle_ns) {
        /* Traffic since arming: sleep until the connection has been idle long enough. */
        mg_timer_arm(timers_of(c), &c->t_keep, c->last_rx_ns + c->keep_idle_ns);
    } else if (c->snd_una != c->snd_max) {
        /* Retransmission is already probing the peer. */
        mg_timer_arm(timers_of(c), &c->t_keep, now + c->keep_idle_ns);
    } else if (c->keep_sent >= c->keep_cnt) {
        fail_timeout(c);
    } else {
        tcp_send_probe(c);
        c->keep_sent++;
        mg_timer_arm(timers_of(c), &c->t_keep, now + c->keep_intvl_ns);
    }
    tcp_leave(tcp);
}

static void wait_fire(struct mg_timer *t, void *arg) {
    (void)t;
    struct mg_tcp_sock *c = arg;
    struct mg_tcp_layer *tcp = c->tcp;
    tcp_enter(tcp);
    if (c->state == MG_TCP_TIME_WAIT || (c->state == MG_TCP_FIN_WAIT_2 && !c->has_handle))
        tcp_terminate(c, 0);
    tcp_leave(tcp);
}

void tcp_arm_wait(struct mg_tcp_sock *c, uint64_t delay_ns) {
    mg_timer_arm(timers_of(c), &c->t_wait, tcp_now(c) + delay_ns);
}

void tcp_timers_init(struct mg_tcp_sock *c) {
    mg_timer_init(&c->t_rexmit, rexmit_fire, c);
    mg_timer_init(&c->t_delack, delack_fire, c);
    mg_timer_init(&c->t_persist, persist_fire, c);
    mg_timer_init(&c->t_keep, keep_fire, c);
    mg_timer_init(&c->t_wait, wait_fire, c);
}

void tcp_timers_cancel_all(struct mg_tcp_sock *c) {
    struct mg_timers *ts = timers_of(c);
    mg_timer_cancel(ts, &c->t_rexmit);
    mg_timer_cancel(ts, &c->t_delack);
    mg_timer_cancel(ts, &c->t_persist);
    mg_timer_cancel(ts, &c->t_keep);
    mg_timer_cancel(ts, &c->t_wait);
}
