/* inet/tcp_in.c — segment arrival: parsing and checksum, demultiplexing (established
 * 4-tuples, then listeners, else a RST), and the RFC 9293 3.10.7 event processing for
 * every state, hardened per RFC 5961 (challenge ACKs for in-window RSTs that are not
 * exact and for SYNs in synchronized states; ACK acceptability) and RFC 7323 (window
 * scale, timestamps, PAWS). SACK blocks on ACKs feed the sender's scoreboard
 * (tcp_sack.c). Data goes to the receive queue in order, or to a bounded
 * out-of-order queue from which holes are reassembled. ICMP errors and neighbour
 * failures for our connections arrive here too. */
#include <errno.h>
#include <string.h>

#include "inet/tcp_int.h"

struct tcp_seg {
    struct mg_tcp_hdr th;
    const struct mg_ipv4_hdr *ip;
    struct mg_buf *buf; /* payload (header pulled off); NULL once queued */
    uint32_t seq, ack, len;
    uint8_t flags;
};

static uint32_t seg_space(const struct tcp_seg *s) {
    return s->len + ((s->flags & MG_TCP_SYN) ? 1u : 0u) + ((s->flags & MG_TCP_FIN) ? 1u : 0u);
}

/* ------------------------------------------------------------ options ---- */

static void apply_syn_options(struct mg_tcp_sock *c, const struct tcp_seg *s) {
    const struct mg_tcp_opts *o = &s->th.opts;
    c->peer_mss = o->has_mss && o->mss ? o->mss : TCP_DEFAULT_MSS;
    if (o->has_wscale) {
        c->ws_ok = true;
        c->snd_wscale = o->wscale > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : o->wscale;
    } else {
        c->ws_ok = false;
        c->snd_wscale = 0;
        c->rcv_wscale = 0;
    }
    if (o->has_timestamp) {
        c->ts_ok = true;
        c->ts_recent = o->ts_val;
    } else {
        c->ts_ok = false;
    }
    /* SACK only when both SYNs offer it (RFC 2018 2); ours did iff tcp.sack. */
    c->sack_ok = o->sack_permitted && c->tcp->inet->cfg.tcp_sack;
    uint32_t mss = c->peer_mss < c->our_mss ? c->peer_mss : c->our_mss;
    if (c->user_mss && c->user_mss < mss)
        mss = c->user_mss;
    if (c->ts_ok)
        mss -= TCP_TS_OPT_LEN;
    if (mss < 64)
        mss = 64;
    c->mss = (uint16_t)mss;
}

/* ------------------------------------------------------------ receive queues ---- */

static void rq_append(struct mg_tcp_sock *c, struct mg_buf *b) {
    if (b->len == 0 || (!c->has_handle && !c->parent)) {
        /* Nobody will read an orphan's data: acknowledge and discard. */
        mg_buf_free(b);
        return;
    }
    b->next = NULL;
    if (c->rq_tail)
        c->rq_tail->next = b;
    else
        c->rq_head = b;
    c->rq_tail = b;
    c->rq_bytes += b->len;
    c->rq_count++;
}

#define OOO_FIN (1ull << 32)

static uint32_t ooo_seq(const struct mg_buf *b) {
    return (uint32_t)b->user;
}

static void ooo_unlink_next(struct mg_tcp_sock *c, struct mg_buf **pp) {
    struct mg_buf *b = *pp;
    *pp = b->next;
    b->next = NULL;
    c->ooo_count--;
    c->ooo_bytes -= b->len;
}

/* Inserts a segment beyond rcv_nxt, trimming it against its neighbours so the queue
 * never holds a byte twice. Takes ownership of b. */
static void ooo_insert(struct mg_tcp_sock *c, struct mg_buf *b, uint32_t seq, bool fin) {
    struct mg_tcp_layer *tcp = c->tcp;
    struct mg_buf **pp = &c->ooo_head;
    struct mg_buf *prev = NULL;
    while (*pp && SEQ_LEQ(ooo_seq(*pp), seq)) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (prev) {
        uint32_t pend = ooo_seq(prev) + prev->len;
        if (SEQ_GEQ(pend, seq + b->len) && !(fin && !(prev->user & OOO_FIN) && pend == seq + b->len)) {
            mg_buf_free(b); /* nothing new */
            return;
        }
        if (SEQ_GT(pend, seq)) {
            uint32_t cut = pend - seq;
            if (cut > b->len)
                cut = b->len;
            mg_buf_pull(b, cut);
            seq += cut;
        }
    }
    /* Swallow or trim against what follows. */
    while (*pp && SEQ_LT(ooo_seq(*pp), seq + b->len)) {
        struct mg_buf *n = *pp;
        uint32_t nend = ooo_seq(n) + n->len;
        if (SEQ_LEQ(nend, seq + b->len)) {
            if (n->user & OOO_FIN)
                fin = fin || nend == seq + b->len;
            ooo_unlink_next(c, pp);
            mg_buf_free(n);
        } else {
            mg_buf_trim(b, ooo_seq(n) - seq);
            fin = false;
            break;
        }
    }
    if (b->len == 0 && !fin) {
        mg_buf_free(b);
        return;
    }
    uint32_t limit = tcp->inet->cfg.tcp_ooo_max_segments ? tcp->inet->cfg.tcp_ooo_max_segments : 256;
    if (c->ooo_count >= limit) {
        tcp_drop(tcp, MG_TCP_DROP_OOO_FULL);
        mg_buf_free(b);
        return;
    }
    b->user = seq | (fin ? OOO_FIN : 0);
    b->next = *pp;
    *pp = b;
    c->ooo_count++;
    c->ooo_bytes += b->len;
}

static void fin_arrived(struct mg_tcp_sock *c) {
    c->rcv_nxt++;
    c->fin_rcvd = true;
    c->ack_now = true;
    tcp_notify(c, MG_TCP_EV_READABLE);
    switch (c->state) {
    case MG_TCP_SYN_RECEIVED:
    case MG_TCP_ESTABLISHED:
        tcp_set_state(c, MG_TCP_CLOSE_WAIT);
        break;
    case MG_TCP_FIN_WAIT_1:
        tcp_set_state(c, MG_TCP_CLOSING);
        break;
    case MG_TCP_FIN_WAIT_2:
        tcp_send_ack(c);
        tcp_enter_time_wait(c);
        break;
    default:
        break;
    }
}

/* In-order arrival at rcv_nxt, then whatever the out-of-order queue can now supply. */
static void deliver_in_order(struct mg_tcp_sock *c, struct tcp_seg *s, bool fin) {
    bool filled_hole = c->ooo_head != NULL;
    if (s->len) {
        c->rcv_nxt += s->len;
        rq_append(c, s->buf);
        s->buf = NULL;
    }
    if (fin)
        fin_arrived(c);
    while (c->ooo_head && !c->fin_rcvd && SEQ_LEQ(ooo_seq(c->ooo_head), c->rcv_nxt)) {
        struct mg_buf *b = c->ooo_head;
        ooo_unlink_next(c, &c->ooo_head);
        uint32_t seq = ooo_seq(b);
        bool bfin = (b->user & OOO_FIN) != 0;
        uint32_t end = seq + b->len;
        if (SEQ_GT(end, c->rcv_nxt)) {
            mg_buf_pull(b, c->rcv_nxt - seq);
            c->rcv_nxt += b->len;
            rq_append(c, b);
        } else {
            mg_buf_free(b);
        }
        if (bfin && end == c->rcv_nxt)
            fin_arrived(c);
    }
    if (c->fin_rcvd) {
        /* Nothing can follow the FIN. */
        while (c->ooo_head) {
            struct mg_buf *b = c->ooo_head;
            ooo_unlink_next(c, &c->ooo_head);
            mg_buf_free(b);
        }
    }
    if (s->len || filled_hole)
        tcp_notify(c, MG_TCP_EV_READABLE);
    uint64_t delack = c->tcp->inet->cfg.tcp_delayed_ack_ns;
    if (!s->len && !filled_hole) {
        /* A bare FIN: fin_arrived already asked for the ACK. */
    } else if (filled_hole || delack == 0) {
        c->ack_now = true;
    } else {
        if (++c->segs_unacked >= 2)
            c->ack_now = true;
        else
            tcp_arm_delack(c);
    }
}

/* Whether keeping one more received buffer would eat into the device pool's reserve.
 * Received payload lives in the device's buffers until the application frees them,
 * and an application may hold what it popped for as long as its own pushes wait for
 * send-buffer room (an echo server does). If such buffers could take the whole pool,
 * the device would have none left to receive into, the ACKs that free the send buffer
 * could never arrive, and the host would wait forever. So payload is kept only while
 * a reserve stays free: below it, the segment's ACK, window and SACK information has
 * already been used, its payload is dropped (the peer resends it; nothing of it was
 * acknowledged) and the reserve stays for receiving ACKs and sending ACKs and
 * retransmissions. */
static bool pool_low(const struct mg_tcp_sock *c) {
    const struct mg_pool *p = c->tcp->inet->dev->pool;
    if (p->size == 0)
        return false;
    uint32_t free_bufs = p->size > p->in_use ? p->size - p->in_use : 0;
    return free_bufs < p->size / TCP_POOL_RESERVE_DIV;
}

/* Segment text and FIN (RFC 9293 3.10.7.4, seventh and eighth steps), after trimming
 * the segment to the receive window. */
static void process_text(struct mg_tcp_sock *c, struct tcp_seg *s) {
    bool fin = (s->flags & MG_TCP_FIN) != 0;
    uint32_t seq = s->seq;
    if (s->len && !(c->state == MG_TCP_ESTABLISHED || c->state == MG_TCP_FIN_WAIT_1 || c->state == MG_TCP_FIN_WAIT_2)) {
        /* Data after the peer's FIN: ignore it. */
        s->len = 0;
        fin = false;
    }
    if (c->fin_rcvd)
        fin = false;
    if (SEQ_LT(seq, c->rcv_nxt)) {
        uint32_t cut = c->rcv_nxt - seq;
        if (cut >= s->len) {
            if (!(fin && seq + s->len == c->rcv_nxt))
                fin = false;
            cut = s->len;
        }
        if (cut)
            mg_buf_pull(s->buf, cut);
        s->len -= cut;
        seq += cut;
    }
    uint32_t right = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv : c->rcv_nxt;
    if (SEQ_GT(seq + s->len, right)) {
        uint32_t excess = seq + s->len - right;
        if (excess > s->len)
            excess = s->len;
        s->len -= excess;
        mg_buf_trim(s->buf, s->len);
        fin = false;
    }
    if (s->len == 0 && !fin)
        return;
    if (s->len && pool_low(c)) {
        tcp_drop(c->tcp, MG_TCP_DROP_POOL_LOW);
        c->ack_now = true; /* where we are, as for a segment outside the window */
        return;
    }
    if (seq == c->rcv_nxt) {
        deliver_in_order(c, s, fin);
    } else {
        /* A hole before it: keep it and say so at once (duplicate ACK, RFC 5681 4.2). */
        mg_buf_trim(s->buf, s->len);
        ooo_insert(c, s->buf, seq, fin);
        s->buf = NULL;
        tcp_sack_rcv_note(c, seq); /* its run becomes the first SACK block */
        c->ack_now = true;
    }
}

/* ------------------------------------------------------------ ACK processing ---- */

static void established_from_syn_received(struct mg_tcp_sock *c, const struct tcp_seg *s) {
    tcp_set_state(c, MG_TCP_ESTABLISHED);
    c->snd_wnd = (uint32_t)s->th.window << c->snd_wscale;
    c->max_sndwnd = c->snd_wnd;
    c->snd_wl1 = s->seq;
    c->snd_wl2 = s->ack;
    c->last_rx_ns = tcp_now(c);
    tcp_keepalive_reset(c);
    if (c->parent) {
        tcp_child_to_accept_queue(c);
    } else {
        tcp_notify(c, MG_TCP_EV_CONNECTED | MG_TCP_EV_WRITABLE);
    }
    if (c->fin_queued)
        tcp_set_state(c, MG_TCP_FIN_WAIT_1);
}

/* Returns false when the connection ended. */
static bool process_ack(struct mg_tcp_sock *c, struct tcp_seg *s) {
    struct mg_tcp_layer *tcp = c->tcp;
    uint32_t ack = s->ack;
    uint32_t wnd = (uint32_t)s->th.window << c->snd_wscale;
    if (c->sack_ok && s->th.opts.num_sack_blocks)
        tcp_sack_update(c, &s->th.opts, ack);
    if (SEQ_GT(ack, c->snd_una)) {
        uint32_t acked = ack - c->snd_una;
        uint32_t end = tcp_data_end(c);
        uint32_t data_acked_to = SEQ_LT(ack, end) ? ack : end;
        if (SEQ_GT(data_acked_to, c->snd_buf_seq))
            tcp_sq_drop_front(c, data_acked_to - c->snd_buf_seq);
        bool fin_acked = c->fin_sent && SEQ_GT(ack, end);
        /* RTT: from the echoed timestamp, else from the timed segment (Karn). Not
         * after a timeout: if the retransmission arrived as a duplicate, the peer
         * echoes the first transmission's timestamp (RFC 7323 5.3 R2/R3), and the
         * sample would span the whole backoff. */
        if (c->ts_ok && s->th.opts.has_timestamp && s->th.opts.ts_ecr && c->nretx == 0) {
            uint32_t ticks = tcp_ts_now(c) - s->th.opts.ts_ecr;
            if (ticks < 0x7fffffffu)
                tcp_rtt_sample(c, (uint64_t)ticks * TCP_TS_TICK_NS);
            c->rtt_timing = false;
        } else if (c->rtt_timing && SEQ_GT(ack, c->rtt_seq)) {
            tcp_rtt_sample(c, tcp_now(c) - c->rtt_start);
            c->rtt_timing = false;
        }
        c->nretx = 0;
        c->snd_una = ack;
        if (SEQ_LT(c->snd_nxt, c->snd_una))
            c->snd_nxt = c->snd_una;
        tcp_sack_trim(c);
        tcp_cc_ack(c, acked);
        /* RFC 6298 5.3: restart the timer for what is still outstanding. */
        mg_timer_cancel(&tcp->inet->timers, &c->t_rexmit);
        tcp_rexmit_update(c);
        if (c->has_handle && c->sq_bytes < c->snd_buf_size)
            tcp_notify(c, MG_TCP_EV_WRITABLE);
        if (fin_acked) {
            switch (c->state) {
            case MG_TCP_FIN_WAIT_1:
                tcp_set_state(c, MG_TCP_FIN_WAIT_2);
                mg_timer_cancel(&tcp->inet->timers, &c->t_keep);
                if (!c->has_handle)
                    tcp_arm_wait(c, 2 * tcp->inet->cfg.tcp_msl_ns);
                break;
            case MG_TCP_CLOSING:
                tcp_enter_time_wait(c);
                break;
            case MG_TCP_LAST_ACK:
                tcp_terminate(c, 0);
                return false;
            default:
                break;
            }
        }
    } else if (ack == c->snd_una && s->len == 0 && !(s->flags & (MG_TCP_SYN | MG_TCP_FIN)) &&
               c->snd_una != c->snd_max && wnd == c->snd_wnd) {
        tcp_cc_dupack(c);
    } else if (ack == c->snd_una && c->sack_ok && s->th.opts.num_sack_blocks && c->snd_una != c->snd_max) {
        /* Not a duplicate ACK by RFC 5681's letter (it carries data, say), but its
         * SACK blocks are news all the same (RFC 6675 2). */
        tcp_cc_sack_news(c);
    }
    /* Window update (RFC 9293 3.10.7.4, fifth step). */
    if (SEQ_LT(c->snd_wl1, s->seq) || (c->snd_wl1 == s->seq && SEQ_LEQ(c->snd_wl2, ack))) {
        c->snd_wnd = wnd;
        c->snd_wl1 = s->seq;
        c->snd_wl2 = ack;
        if (wnd > c->max_sndwnd)
            c->max_sndwnd = wnd;
    }
    return true;
}

/* ------------------------------------------------------------ state processing ---- */

/* RFC 5961 7: challenge ACKs are rate-limited, so a blind attacker cannot turn the
 * stack into an ACK cannon. */
static void challenge_ack(struct mg_tcp_sock *c) {
    struct mg_tcp_layer *tcp = c->tcp;
    uint64_t now = tcp_now(c);
    if (now - tcp->chack_window_start >= MG_NS_PER_S) {
        tcp->chack_window_start = now;
        tcp->chack_count = 0;
    }
    if (tcp->chack_count >= TCP_CHALLENGE_ACK_LIMIT)
        return;
    tcp->chack_count++;
    tcp->stats.challenge_acks_sent++;
    tcp_send_ack(c);
}

static bool seq_acceptable(const struct mg_tcp_sock *c, uint32_t seq, uint32_t slen) {
    uint32_t wnd = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    if (slen == 0) {
        if (wnd == 0)
            return seq == c->rcv_nxt;
        return SEQ_GEQ(seq, c->rcv_nxt) && SEQ_LT(seq, c->rcv_nxt + wnd);
    }
    if (wnd == 0)
        return false;
    uint32_t last = seq + slen - 1;
    return (SEQ_GEQ(seq, c->rcv_nxt) && SEQ_LT(seq, c->rcv_nxt + wnd)) ||
           (SEQ_GEQ(last, c->rcv_nxt) && SEQ_LT(last, c->rcv_nxt + wnd));
}

static void reset_received(struct mg_tcp_sock *c) {
    struct mg_tcp_layer *tcp = c->tcp;
    tcp->stats.rsts_received++;
    switch (c->state) {
    case MG_TCP_SYN_RECEIVED:
        tcp_terminate(c, c->parent ? 0 : ECONNREFUSED);
        break;
    case MG_TCP_ESTABLISHED:
    case MG_TCP_FIN_WAIT_1:
    case MG_TCP_FIN_WAIT_2:
    case MG_TCP_CLOSE_WAIT:
        tcp->stats.conns_reset++;
        tcp_terminate(c, ECONNRESET);
        break;
    default:
        tcp_terminate(c, 0);
        break;
    }
}

static void syn_sent_input(struct mg_tcp_sock *c, struct tcp_seg *s) {
    struct mg_tcp_layer *tcp = c->tcp;
    bool has_ack = (s->flags & MG_TCP_ACK) != 0;
    if (has_ack && (SEQ_LEQ(s->ack, c->iss) || SEQ_GT(s->ack, c->snd_max))) {
        tcp_drop(tcp, MG_TCP_DROP_BAD_ACK);
        tcp_send_reset_reply(tcp, s->ip, &s->th, seg_space(s));
        return;
    }
    if (s->flags & MG_TCP_RST) {
        if (has_ack) {
            tcp->stats.rsts_received++;
            tcp_terminate(c, ECONNREFUSED);
        } else {
            tcp_drop(tcp, MG_TCP_DROP_RST_INVALID);
        }
        return;
    }
    if (!(s->flags & MG_TCP_SYN)) {
        tcp_drop(tcp, MG_TCP_DROP_BAD_FLAGS);
        return;
    }
    c->irs = s->seq;
    c->rcv_nxt = s->seq + 1;
    c->rcv_adv = c->rcv_nxt + (c->rcv_buf_size > 65535 ? 65535 : c->rcv_buf_size);
    apply_syn_options(c, s);
    if (has_ack) {
        c->snd_una = s->ack;
        if (c->rtt_timing && c->nretx == 0)
            tcp_rtt_sample(c, tcp_now(c) - c->rtt_start);
        c->rtt_timing = false;
        c->nretx = 0;
        mg_timer_cancel(&tcp->inet->timers, &c->t_rexmit);
        tcp_cc_init(c);
        c->snd_wnd = s->th.window; /* never scaled in a SYN (RFC 7323 2.2) */
        c->max_sndwnd = c->snd_wnd;
        c->snd_wl1 = s->seq;
        c->snd_wl2 = s->ack;
        tcp_set_state(c, MG_TCP_ESTABLISHED);
        c->last_rx_ns = tcp_now(c);
        tcp_keepalive_reset(c);
        tcp_notify(c, MG_TCP_EV_CONNECTED | MG_TCP_EV_WRITABLE);
        c->ack_now = true;
        tcp_output(c);
    } else {
        /* Simultaneous open (RFC 9293 figure 7). */
        tcp_set_state(c, MG_TCP_SYN_RECEIVED);
        c->nretx = 0;
        tcp_cc_init(c);
        c->snd_wnd = s->th.window;
        c->snd_wl1 = s->seq;
        mg_timer_cancel(&tcp->inet->timers, &c->t_rexmit);
        tcp_send_syn(c);
    }
}

static void synchronized_input(struct mg_tcp_sock *c, struct tcp_seg *s) {
    struct mg_tcp_layer *tcp = c->tcp;
    const struct mg_tcp_opts *o = &s->th.opts;
    uint32_t slen = seg_space(s);
    /* PAWS (RFC 7323 5.3). */
    if (c->ts_ok && o->has_timestamp && !(s->flags & MG_TCP_RST) && SEQ_LT(o->ts_val, c->ts_recent)) {
        tcp_drop(tcp, MG_TCP_DROP_OUT_OF_WINDOW);
        tcp_send_ack(c);
        return;
    }
    if (!seq_acceptable(c, s->seq, slen)) {
        if (s->flags & MG_TCP_RST) {
            tcp_drop(tcp, MG_TCP_DROP_RST_INVALID);
            return;
        }
        tcp_drop(tcp, MG_TCP_DROP_OUT_OF_WINDOW);
        if (c->state == MG_TCP_SYN_RECEIVED && (s->flags & MG_TCP_SYN) && s->seq == c->irs) {
            tcp_send_syn(c); /* the peer lost our SYN-ACK */
            return;
        }
        if (c->state == MG_TCP_TIME_WAIT && (s->flags & MG_TCP_FIN))
            tcp_arm_wait(c, 2 * tcp->inet->cfg.tcp_msl_ns);
        tcp_send_ack(c);
        return;
    }
    if (s->flags & MG_TCP_RST) {
        if (s->seq == c->rcv_nxt) {
            reset_received(c);
        } else {
            tcp_drop(tcp, MG_TCP_DROP_RST_INVALID);
            challenge_ack(c);
        }
        return;
    }
    if (s->flags & MG_TCP_SYN) {
        /* RFC 5961 4.2: whatever its sequence number, answer with a challenge ACK. */
        tcp_drop(tcp, MG_TCP_DROP_BAD_FLAGS);
        challenge_ack(c);
        return;
    }
    if (!(s->flags & MG_TCP_ACK)) {
        tcp_drop(tcp, MG_TCP_DROP_BAD_FLAGS);
        return;
    }
    /* Timestamp to echo (RFC 7323 4.3). */
    if (c->ts_ok && o->has_timestamp && SEQ_LEQ(s->seq, c->last_ack_sent))
        c->ts_recent = o->ts_val;
    c->last_rx_ns = tcp_now(c);
    c->keep_sent = 0;
    c->probes_unanswered = 0;
    if (c->state == MG_TCP_SYN_RECEIVED) {
        if (SEQ_GT(s->ack, c->snd_una) && SEQ_LEQ(s->ack, c->snd_max)) {
            if (c->rtt_timing && c->nretx == 0)
                tcp_rtt_sample(c, tcp_now(c) - c->rtt_start);
            c->rtt_timing = false;
            c->snd_una = s->ack;
            c->nretx = 0;
            mg_timer_cancel(&tcp->inet->timers, &c->t_rexmit);
            established_from_syn_received(c, s);
        } else {
            tcp_drop(tcp, MG_TCP_DROP_BAD_ACK);
            tcp_send_reset_reply(tcp, s->ip, &s->th, slen);
            return;
        }
    }
    /* ACK acceptability (RFC 5961 5.2). */
    if (SEQ_GT(s->ack, c->snd_max) || SEQ_LT(s->ack, c->snd_una - c->max_sndwnd)) {
        tcp_drop(tcp, MG_TCP_DROP_BAD_ACK);
        tcp_send_ack(c);
        return;
    }
    if (c->state == MG_TCP_TIME_WAIT) {
        if (s->flags & MG_TCP_FIN) {
            tcp_arm_wait(c, 2 * tcp->inet->cfg.tcp_msl_ns);
            tcp_send_ack(c);
        }
        return;
    }
    if (!process_ack(c, s))
        return;
    if (c->state == MG_TCP_TIME_WAIT)
        return;
    process_text(c, s);
    if (c->state != MG_TCP_CLOSED && c->state != MG_TCP_TIME_WAIT)
        tcp_output(c);
    else if (c->state == MG_TCP_TIME_WAIT && c->ack_now)
        tcp_send_ack(c);
}

static void listen_input(struct mg_tcp_sock *l, struct tcp_seg *s, uint32_t iss_floor, bool have_floor) {
    struct mg_tcp_layer *tcp = l->tcp;
    const struct mg_config *cfg = &tcp->inet->cfg;
    if (s->flags & MG_TCP_RST) {
        tcp_drop(tcp, MG_TCP_DROP_RST_INVALID);
        return;
    }
    if (s->flags & MG_TCP_ACK) {
        tcp_drop(tcp, MG_TCP_DROP_BAD_ACK);
        tcp_send_reset_reply(tcp, s->ip, &s->th, seg_space(s));
        return;
    }
    if (!(s->flags & MG_TCP_SYN) || (s->flags & MG_TCP_FIN)) {
        tcp_drop(tcp, MG_TCP_DROP_BAD_FLAGS);
        return;
    }
    uint32_t syn_limit = cfg->tcp_syn_backlog ? cfg->tcp_syn_backlog : 128;
    if (l->syn_count >= syn_limit || l->syn_count + l->acc_count >= l->backlog) {
        tcp_drop(tcp, MG_TCP_DROP_BACKLOG_FULL);
        return;
    }
    struct mg_tcp_sock *c = tcp_sock_new(tcp);
    if (!c) {
        tcp_drop(tcp, MG_TCP_DROP_NO_BUFFER);
        return;
    }
    c->nodelay = l->nodelay;
    c->keepalive = l->keepalive;
    c->keep_idle_ns = l->keep_idle_ns;
    c->keep_intvl_ns = l->keep_intvl_ns;
    c->keep_cnt = l->keep_cnt;
    c->linger_on = l->linger_on;
    c->linger_s = l->linger_s;
    c->snd_buf_size = l->snd_buf_size;
    c->rcv_buf_size = l->rcv_buf_size;
    c->user_mss = l->user_mss;
    c->laddr = s->ip->dst;
    c->lport = s->th.dport;
    c->raddr = s->ip->src;
    c->rport = s->th.sport;
    tcp_init_rcv_window(c);
    c->irs = s->seq;
    c->rcv_nxt = s->seq + 1;
    c->rcv_adv = c->rcv_nxt; /* the SYN-ACK advertises the first window */
    apply_syn_options(c, s);
    c->iss = tcp_isn(tcp, c->laddr, c->lport, c->raddr, c->rport);
    if (have_floor && SEQ_LT(c->iss, iss_floor))
        c->iss = iss_floor;
    c->snd_una = c->snd_nxt = c->snd_max = c->iss;
    c->snd_buf_seq = c->iss + 1;
    c->snd_wnd = s->th.window;
    c->snd_wl1 = s->seq;
    c->snd_wl2 = c->iss;
    tcp_cc_init(c);
    /* Join the listener's SYN-RECEIVED list. */
    c->parent = l;
    c->child_next = l->syn_head;
    if (l->syn_head)
        l->syn_head->child_prev = c;
    l->syn_head = c;
    l->syn_count++;
    tcp_table_insert(c, TCP_TABLE_CONN);
    tcp_table_insert(c, TCP_TABLE_BIND); /* the port stays in use while the connection lives */
    tcp_set_state(c, MG_TCP_SYN_RECEIVED);
    tcp_send_syn(c);
}

/* ------------------------------------------------------------ entry points ---- */

void tcp_input(void *ctx, struct mg_buf *buf, const struct mg_ipv4_hdr *ip) {
    struct mg_tcp_layer *tcp = ctx;
    tcp->stats.segs_in++;
    struct tcp_seg s;
    if (mg_tcp_parse(buf->data, buf->len, &s.th) < 0 || s.th.sport == 0 || s.th.dport == 0) {
        tcp_drop(tcp, MG_TCP_DROP_MALFORMED);
        mg_buf_free(buf);
        return;
    }
    if ((buf->ol_flags & MG_BUF_RX_L4_CKSUM_BAD) ||
        (!(buf->ol_flags & MG_BUF_RX_L4_CKSUM_GOOD) &&
         mg_l4_cksum_ipv4(ip->src, ip->dst, MG_IPPROTO_TCP, buf->data, buf->len) != 0)) {
        tcp_drop(tcp, MG_TCP_DROP_BAD_CKSUM);
        mg_buf_free(buf);
        return;
    }
    mg_buf_pull(buf, s.th.hdr_len);
    s.ip = ip;
    s.buf = buf;
    s.seq = s.th.seq;
    s.ack = s.th.ack;
    s.flags = s.th.flags;
    s.len = buf->len;
    tcp_enter(tcp);
    struct mg_tcp_sock *c = tcp_conn_lookup(tcp, ip->dst, s.th.dport, ip->src, s.th.sport);
    uint32_t iss_floor = 0;
    bool have_floor = false;
    if (c && c->state == MG_TCP_TIME_WAIT && (s.flags & (MG_TCP_SYN | MG_TCP_ACK | MG_TCP_RST)) == MG_TCP_SYN) {
        /* A new incarnation may reuse the 4-tuple if it is unambiguously newer (RFC 6191
         * with timestamps, RFC 1122 4.2.2.13 without). */
        bool newer =
            (c->ts_ok && s.th.opts.has_timestamp) ? SEQ_GT(s.th.opts.ts_val, c->ts_recent) : SEQ_GT(s.seq, c->rcv_nxt);
        if (newer && tcp_listen_lookup(tcp, ip->dst, s.th.dport)) {
            iss_floor = c->snd_max + 65536u;
            have_floor = true;
            tcp_terminate(c, 0);
            c = NULL;
        }
    }
    if (c) {
        if (c->state == MG_TCP_SYN_SENT)
            syn_sent_input(c, &s);
        else
            synchronized_input(c, &s);
    } else {
        struct mg_tcp_sock *l = tcp_listen_lookup(tcp, ip->dst, s.th.dport);
        if (l) {
            listen_input(l, &s, iss_floor, have_floor);
        } else {
            tcp_drop(tcp, MG_TCP_DROP_NO_SOCKET);
            tcp_send_reset_reply(tcp, ip, &s.th, seg_space(&s));
        }
    }
    if (s.buf)
        mg_buf_free(s.buf);
    tcp_leave(tcp);
}

void tcp_icmp_error(void *ctx, uint8_t type, uint8_t code, const struct mg_ipv4_hdr *inner, const uint8_t *l4,
                    size_t l4_len) {
    struct mg_tcp_layer *tcp = ctx;
    if (!inner || !l4 || l4_len < 8 || inner->proto != MG_IPPROTO_TCP || type != MG_ICMP_DEST_UNREACH)
        return;
    uint16_t sport = (uint16_t)(l4[0] << 8 | l4[1]);
    uint16_t dport = (uint16_t)(l4[2] << 8 | l4[3]);
    uint32_t seq = (uint32_t)l4[4] << 24 | (uint32_t)l4[5] << 16 | (uint32_t)l4[6] << 8 | l4[7];
    struct mg_tcp_sock *c = tcp_conn_lookup(tcp, inner->src, sport, inner->dst, dport);
    if (!c)
        return;
    /* RFC 5927 4.1: only errors quoting a sequence number we have in flight. */
    if (!(SEQ_GEQ(seq, c->snd_una) && SEQ_LEQ(seq, c->snd_max)))
        return;
    tcp_enter(tcp);
    switch (code) {
    case MG_ICMP_CODE_PROTO_UNREACH:
    case MG_ICMP_CODE_PORT_UNREACH:
        /* Hard errors (RFC 1122 4.2.3.9). */
        if (c->state == MG_TCP_SYN_SENT || tcp_synchronized(c->state) || c->state == MG_TCP_SYN_RECEIVED)
            tcp_terminate(c, ECONNREFUSED);
        break;
    case MG_ICMP_CODE_FRAG_NEEDED:
        /* Path MTU discovery needs the next-hop MTU, which this hook does not carry:
         * ignored (soft), segments keep the negotiated MSS. */
        break;
    default:
        /* Net/host unreachable and the rest are soft errors, fatal only to a connect. */
        if (c->state == MG_TCP_SYN_SENT)
            tcp_terminate(c, EHOSTUNREACH);
        break;
    }
    tcp_leave(tcp);
}

void tcp_neighbor_failed(void *ctx, uint32_t addr) {
    struct mg_tcp_layer *tcp = ctx;
    struct mg_inet *inet = tcp->inet;
    tcp_enter(tcp);
    for (struct mg_tcp_sock *c = tcp->all_head; c; c = c->all_next) {
        if (c->state != MG_TCP_SYN_SENT)
            continue;
        uint32_t hop = mg_inet_on_link(inet, c->raddr) ? c->raddr : inet->gateway;
        if (hop == addr)
            tcp_terminate(c, EHOSTUNREACH);
    }
    tcp_leave(tcp);
}
