/* inet/tcp_cc.c — congestion control: RFC 5681 slow start and congestion avoidance,
 * and loss recovery. Without SACK, NewReno: fast retransmit on the third duplicate
 * ACK, RFC 6582 fast recovery with partial ACKs. With SACK (both sides offered it),
 * RFC 6675: recovery starts on the third duplicate ACK or as soon as the scoreboard
 * shows the first unacknowledged byte lost, resends the holes the scoreboard marks
 * lost before anything else, and sends while the pipe estimate is below cwnd; both
 * end when snd_una reaches `recover`. Initial window per RFC 6928:
 * min(10*MSS, max(2*MSS, 14600)). */
#include "inet/tcp_int.h"

#define TCP_CWND_MAX (1u << 30)

static uint32_t loss_ssthresh(const struct mg_tcp_sock *c) {
    uint32_t half = tcp_flight(c) / 2;
    uint32_t floor = 2u * c->mss;
    return half > floor ? half : floor;
}

void tcp_cc_init(struct mg_tcp_sock *c) {
    uint32_t iw = 2u * c->mss > 14600u ? 2u * c->mss : 14600u;
    if (iw > 10u * c->mss)
        iw = 10u * c->mss;
    c->cwnd = iw;
    c->ssthresh = TCP_CWND_MAX;
    c->dupacks = 0;
    c->bytes_acked = 0;
    c->in_recovery = false;
    c->recover = c->iss;
    c->rxt_high = c->iss;
}

/* First unacknowledged segment again, leaving snd_nxt alone. */
static void retransmit_head(struct mg_tcp_sock *c) {
    uint32_t end = tcp_data_end(c);
    uint32_t len = SEQ_LT(c->snd_una, end) ? end - c->snd_una : 0;
    if (len > c->mss)
        len = c->mss;
    bool fin = c->fin_sent && c->snd_una + len == end;
    if (len || fin)
        tcp_xmit_data(c, c->snd_una, len, fin);
    c->rtt_timing = false;
}

/* ------------------------------------------------------------ SACK recovery ---- */

/* Resends the start of the hole [seq, hole_end): at most one MSS, never SACKed bytes.
 * rxt_high moves past it so NextSeg does not pick it again. */
static void sack_resend(struct mg_tcp_sock *c, uint32_t seq, uint32_t hole_end) {
    uint32_t end = tcp_data_end(c);
    uint32_t len = hole_end - seq;
    if (len > c->mss)
        len = c->mss;
    if (SEQ_GT(seq + len, end))
        len = SEQ_GT(end, seq) ? end - seq : 0;
    bool fin = c->fin_sent && seq + len == end;
    if (!len && !fin) {
        c->rxt_high = hole_end; /* nothing there to send (cannot happen below snd_max) */
        return;
    }
    tcp_xmit_data(c, seq, len, fin);
    c->rxt_high = seq + len + (fin ? 1u : 0u);
    c->tcp->stats.sack_hole_retransmits++;
    c->rtt_timing = false;
}

/* Whether unsent data waits inside the peer's window (NextSeg rule 2): then new data
 * goes before not-yet-lost holes, and tcp_output sends it. */
static bool new_data_waits(const struct mg_tcp_sock *c) {
    return SEQ_LT(c->snd_nxt, tcp_data_end(c)) && SEQ_LT(c->snd_nxt, c->snd_una + c->snd_wnd);
}

/* RFC 6675 5 step (C): while the pipe leaves an MSS of cwnd, resend lost holes (rule
 * 1); when there are none and no new data can go, holes not yet lost (rule 3). Every
 * resend moves rxt_high up and grows the pipe, so the loop ends. */
static void sack_send_holes(struct mg_tcp_sock *c) {
    for (;;) {
        uint32_t pipe = tcp_sack_pipe(c);
        if (pipe >= c->cwnd || c->cwnd - pipe < c->mss)
            return;
        uint32_t seq, hole_end;
        if (tcp_sack_next_hole(c, true, &seq, &hole_end)) {
            sack_resend(c, seq, hole_end);
            continue;
        }
        if (new_data_waits(c) || !tcp_sack_next_hole(c, false, &seq, &hole_end))
            return;
        sack_resend(c, seq, hole_end);
    }
}

/* RFC 6675 5 step (4): the first hole from snd_una goes at once, whatever the pipe
 * says, even if an earlier recovery resent it (that copy was lost, or the peer would
 * have acknowledged it); HighRxt starts afresh. Without any SACKed range (the peer's
 * blocks were lost) that is the head, as in NewReno. */
static void sack_enter_recovery(struct mg_tcp_sock *c) {
    c->tcp->stats.sack_recoveries++;
    c->cwnd = c->ssthresh;
    c->rxt_high = c->snd_una;
    uint32_t seq, hole_end;
    if (!tcp_sack_next_hole(c, false, &seq, &hole_end)) {
        seq = c->snd_una;
        hole_end = c->snd_max;
    }
    sack_resend(c, seq, hole_end);
    sack_send_holes(c);
}

bool tcp_cc_sack_recovery(const struct mg_tcp_sock *c) {
    return c->in_recovery && c->sack_ok;
}

/* ------------------------------------------------------------ events ---- */

/* Starts a recovery (NewReno, or RFC 6675 when SACK is on). Not again before the
 * previous one's data is all acknowledged (RFC 6582 4.1, RFC 6675 5 step 2), and with
 * SACK only while nothing is being resent after a timeout (snd_nxt at snd_max). */
static void enter_recovery(struct mg_tcp_sock *c, bool by_dupacks) {
    if (!SEQ_GT(c->snd_una, c->recover) || c->snd_una == c->snd_max)
        return;
    if (c->sack_ok && c->snd_nxt != c->snd_max)
        return; /* a timeout's go-back-N is under way: the pipe has no meaning yet */
    bool sack = c->sack_ok;
    if (!sack && !by_dupacks)
        return;
    c->ssthresh = loss_ssthresh(c);
    c->recover = c->snd_max;
    c->tcp->stats.fast_retransmits++;
    if (sack) {
        c->in_recovery = true;
        sack_enter_recovery(c);
        return;
    }
    retransmit_head(c);
    c->cwnd = c->ssthresh + 3u * c->mss;
    c->in_recovery = true;
}

void tcp_cc_ack(struct mg_tcp_sock *c, uint32_t acked) {
    if (c->in_recovery) {
        if (SEQ_GEQ(c->snd_una, c->recover)) {
            /* Full acknowledgment (RFC 6582 3.2 step 3). */
            uint32_t flight = tcp_flight(c);
            uint32_t w = flight + c->mss;
            c->cwnd = c->ssthresh < w ? c->ssthresh : w;
            c->in_recovery = false;
            c->dupacks = 0;
            c->bytes_acked = 0;
        } else if (c->sack_ok) {
            /* RFC 6675: a partial ACK shrinks the pipe; fill it from the holes. */
            sack_send_holes(c);
        } else {
            /* Partial acknowledgment: the next hole, then deflate by what was acked. */
            retransmit_head(c);
            c->cwnd = c->cwnd > acked ? c->cwnd - acked : 0;
            if (acked >= c->mss)
                c->cwnd += c->mss;
            if (c->cwnd < c->mss)
                c->cwnd = c->mss;
        }
        return;
    }
    c->dupacks = 0;
    if (c->cwnd < c->ssthresh) {
        c->cwnd += acked < c->mss ? acked : c->mss;
    } else {
        c->bytes_acked += acked;
        if (c->bytes_acked >= c->cwnd) {
            c->bytes_acked -= c->cwnd;
            c->cwnd += c->mss;
        }
    }
    if (c->cwnd > TCP_CWND_MAX)
        c->cwnd = TCP_CWND_MAX;
    /* New data acknowledged, yet the scoreboard may show the next byte lost. */
    if (c->sack_ok && tcp_sack_is_lost(c, c->snd_una))
        enter_recovery(c, false);
}

void tcp_cc_dupack(struct mg_tcp_sock *c) {
    c->dupacks++;
    if (c->in_recovery) {
        if (c->sack_ok)
            sack_send_holes(c); /* the pipe shrank by what the peer SACKed */
        else
            c->cwnd += c->mss; /* each duplicate means a segment left the network */
        return;
    }
    if (c->dupacks >= TCP_DUPTHRESH || (c->sack_ok && tcp_sack_is_lost(c, c->snd_una)))
        enter_recovery(c, c->dupacks == TCP_DUPTHRESH);
}

void tcp_cc_sack_news(struct mg_tcp_sock *c) {
    if (c->in_recovery)
        sack_send_holes(c);
    else if (tcp_sack_is_lost(c, c->snd_una))
        enter_recovery(c, false);
}

void tcp_cc_timeout(struct mg_tcp_sock *c) {
    c->ssthresh = loss_ssthresh(c);
    c->cwnd = c->mss;
    c->bytes_acked = 0;
    c->dupacks = 0;
    c->in_recovery = false;
    c->recover = c->snd_max;
    /* RFC 6675 5.1 (simply): after a timeout everything from snd_una is resent; the
     * peer will SACK again what it still holds. */
    tcp_sack_clear(c);
    c->rxt_high = c->snd_una;
}
