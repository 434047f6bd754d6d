/* inet/tcp_cc.c — congestion control: NewReno (RFC 5681 slow start and congestion
 * avoidance, fast retransmit on the third duplicate ACK, RFC 6582 fast recovery with
 * partial ACKs). Initial window per RFC 6928: min(10*MSS, max(2*MSS, 14600)). */
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
}

void tcp_cc_dupack(struct mg_tcp_sock *c) {
    c->dupacks++;
    if (c->in_recovery) {
        c->cwnd += c->mss; /* each duplicate means a segment left the network */
        return;
    }
    if (c->dupacks == 3 && SEQ_GT(c->snd_una, c->recover)) {
        c->ssthresh = loss_ssthresh(c);
        c->recover = c->snd_max;
        c->in_recovery = true;
        c->tcp->stats.fast_retransmits++;
        retransmit_head(c);
        c->cwnd = c->ssthresh + 3u * c->mss;
    }
}

void tcp_cc_timeout(struct mg_tcp_sock *c) {
    c->ssthresh = loss_ssthresh(c);
    c->cwnd = c->mss;
    c->bytes_acked = 0;
    c->dupacks = 0;
    c->in_recovery = false;
    c->recover = c->snd_max;
}
