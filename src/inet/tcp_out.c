/* inet/tcp_out.c — what TCP puts on the wire: the send queue (references to the
 * callers' buffers), segment building with options and checksum, the decision of
 * what may be sent now (send window, congestion window, Nagle and sender-side silly
 * window avoidance, RFC 9293 3.8.6.2.1), the advertised receive window (receiver-side
 * SWS avoidance, never shrinking), and control segments (SYN, ACK, RST, probes).
 *
 * Payload is copied from the send queue into a fresh buffer per segment (the caller
 * may still hold its buffer, and a retransmission needs the bytes again), except when
 * a segment is exactly the rest of a queued region whose buffer nobody else holds and
 * that has headroom: then the headers go in front of the payload and the buffer itself
 * goes to the device (sq_inplace). Copies are counted in stats.payload_copies. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inet/tcp_int.h"

/* ------------------------------------------------------------ send queue ---- */

static struct tcp_sndent *sq_at(struct mg_tcp_sock *c, uint32_t i) {
    return &c->sq[(c->sq_head + i) % c->sq_cap];
}

static int sq_grow(struct mg_tcp_sock *c) {
    uint32_t ncap = c->sq_cap ? c->sq_cap * 2 : 16;
    struct tcp_sndent *n = malloc((size_t)ncap * sizeof(*n));
    if (!n)
        return -ENOMEM;
    for (uint32_t i = 0; i < c->sq_count; i++)
        n[i] = *sq_at(c, i);
    free(c->sq);
    c->sq = n;
    c->sq_cap = ncap;
    c->sq_head = 0;
    return 0;
}

int tcp_sq_push(struct mg_tcp_sock *c, struct mg_buf *buf, uint32_t off, uint32_t len) {
    uint8_t *ptr = buf->data + off;
    if (c->sq_count) {
        struct tcp_sndent *last = sq_at(c, c->sq_count - 1);
        if (last->buf == buf && last->ptr + last->len == ptr) {
            last->len += len;
            c->sq_bytes += len;
            return 0;
        }
    }
    if (c->sq_count == c->sq_cap) {
        int rc = sq_grow(c);
        if (rc < 0)
            return rc;
    }
    mg_buf_ref(buf);
    struct tcp_sndent *e = sq_at(c, c->sq_count);
    e->buf = buf;
    e->ptr = ptr;
    e->len = len;
    c->sq_count++;
    c->sq_bytes += len;
    return 0;
}

void tcp_sq_drop_front(struct mg_tcp_sock *c, uint32_t n) {
    uint32_t popped = 0, bytes = n;
    while (n > 0 && c->sq_count > 0) {
        struct tcp_sndent *e = sq_at(c, 0);
        if (e->len <= n) {
            n -= e->len;
            c->sq_bytes -= e->len;
            mg_buf_free(e->buf);
            e->buf = NULL;
            c->sq_head = (c->sq_head + 1) % c->sq_cap;
            c->sq_count--;
            popped++;
        } else {
            e->ptr += n;
            e->len -= n;
            c->sq_bytes -= n;
            n = 0;
        }
    }
    c->snd_buf_seq += bytes - n;
    if (c->sq_cache_idx > popped) {
        c->sq_cache_idx -= popped;
        c->sq_cache_start -= bytes;
    } else {
        c->sq_cache_idx = 0;
        c->sq_cache_start = 0;
    }
}

void tcp_sq_free(struct mg_tcp_sock *c) {
    if (c->sq_count)
        tcp_sq_drop_front(c, c->sq_bytes);
    c->sq_cache_idx = c->sq_cache_start = 0;
}

/* The entry holding queue offset qoff, and that entry's own queue offset. Sequential
 * reads (the common case) resume from a cached entry instead of walking from the head. */
static uint32_t sq_find(struct mg_tcp_sock *c, uint32_t qoff, uint32_t *start_out) {
    uint32_t idx = 0, start = 0;
    if (c->sq_cache_idx < c->sq_count && qoff >= c->sq_cache_start) {
        idx = c->sq_cache_idx;
        start = c->sq_cache_start;
    }
    while (idx < c->sq_count && start + sq_at(c, idx)->len <= qoff) {
        start += sq_at(c, idx)->len;
        idx++;
    }
    c->sq_cache_idx = idx;
    c->sq_cache_start = start;
    *start_out = start;
    return idx;
}

/* Copies len bytes starting qoff bytes into the send queue. */
static void sq_copy(struct mg_tcp_sock *c, uint32_t qoff, uint8_t *dst, uint32_t len) {
    uint32_t start;
    uint32_t idx = sq_find(c, qoff, &start);
    while (len > 0 && idx < c->sq_count) {
        struct tcp_sndent *e = sq_at(c, idx);
        uint32_t eo = qoff - start;
        uint32_t n = e->len - eo;
        if (n > len)
            n = len;
        memcpy(dst, e->ptr + eo, n);
        dst += n;
        len -= n;
        qoff += n;
        start += e->len;
        idx++;
    }
}

/* The buffer to send [qoff, qoff + len) of the queue in place, with its headers in
 * the headroom in front of the payload, or NULL when that is not safe: the segment
 * must be exactly one entry's remaining bytes, the entry's reference must be the only
 * one (neither the application nor a device still looks at the buffer, so nobody sees
 * the headroom change), and there must be room for the headers. */
static struct mg_buf *sq_inplace(struct mg_tcp_sock *c, uint32_t qoff, uint32_t len) {
    uint32_t start;
    uint32_t idx = sq_find(c, qoff, &start);
    if (idx >= c->sq_count)
        return NULL;
    struct tcp_sndent *e = sq_at(c, idx);
    struct mg_buf *b = e->buf;
    if (qoff != start || e->len != len || b->refcnt != 1 || (uint32_t)(e->ptr - b->base) < TCP_INPLACE_HEADROOM)
        return NULL;
    b->data = e->ptr;
    b->len = len;
    b->ol_flags = 0;
    b->next = NULL;
    mg_buf_ref(b); /* the device's reference; ours stays with the entry */
    return b;
}

/* ------------------------------------------------------------ windows ---- */

uint32_t tcp_flight(const struct mg_tcp_sock *c) {
    return c->snd_max - c->snd_una;
}

uint32_t tcp_rcv_window_avail(const struct mg_tcp_sock *c) {
    return c->rcv_buf_size > c->rq_bytes ? c->rcv_buf_size - c->rq_bytes : 0;
}

static uint32_t sws_threshold(const struct mg_tcp_sock *c) {
    uint32_t half = c->rcv_buf_size / 2;
    uint32_t mss = c->our_mss ? c->our_mss : TCP_DEFAULT_MSS;
    return half < mss ? half : mss;
}

/* The window field for the next segment; advances rcv_adv (never moves it left). */
uint16_t tcp_rcv_window_field(struct mg_tcp_sock *c, bool syn) {
    uint32_t avail = tcp_rcv_window_avail(c);
    if (syn || c->state == MG_TCP_SYN_SENT) {
        uint32_t w = avail > 65535 ? 65535 : avail;
        if (c->state != MG_TCP_SYN_SENT && SEQ_GT(c->rcv_nxt + w, c->rcv_adv))
            c->rcv_adv = c->rcv_nxt + w;
        return (uint16_t)w;
    }
    uint8_t scale = c->ws_ok ? c->rcv_wscale : 0;
    uint32_t cur = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    uint32_t maxwin = 65535u << scale;
    uint32_t wnd = avail > maxwin ? maxwin : avail;
    /* Receiver SWS avoidance: move the right edge only by a worthwhile amount. */
    if (wnd <= cur || wnd - cur < sws_threshold(c))
        wnd = cur;
    uint32_t field = wnd >> scale;
    if (field > 65535)
        field = 65535;
    uint32_t edge = c->rcv_nxt + (field << scale);
    if (SEQ_GT(edge, c->rcv_adv))
        c->rcv_adv = edge;
    return (uint16_t)field;
}

/* After the application read: tell the peer when the window opened enough to matter
 * (it was below half the buffer and grows by the SWS threshold). */
void tcp_maybe_window_update(struct mg_tcp_sock *c) {
    if (c->fin_rcvd)
        return;
    uint32_t cur = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    uint32_t avail = tcp_rcv_window_avail(c);
    uint8_t scale = c->ws_ok ? c->rcv_wscale : 0;
    uint32_t maxwin = 65535u << scale;
    if (avail > maxwin)
        avail = maxwin;
    if (cur < c->rcv_buf_size / 2 && avail > cur && avail - cur >= sws_threshold(c) &&
        ((avail >> scale) << scale) > cur) {
        c->ack_now = true;
        tcp_output(c);
    }
}

uint32_t tcp_ts_now(struct mg_tcp_sock *c) {
    return (uint32_t)(mg_inet_now(c->tcp->inet) / TCP_TS_TICK_NS) + c->ts_offset;
}

/* ------------------------------------------------------------ building ---- */

/* Fills the TCP checksum of the segment at b->data (or leaves the pseudo-header sum
 * for the device when it offloads). */
static void fill_cksum(struct mg_inet *inet, struct mg_buf *b, uint32_t src, uint32_t dst) {
    uint8_t *p = b->data;
    if (mg_inet_l4_tx_offload(inet, MG_IPPROTO_TCP)) {
        uint16_t folded = (uint16_t)~mg_cksum_finish(mg_cksum_pseudo_ipv4(src, dst, MG_IPPROTO_TCP, (uint16_t)b->len));
        p[16] = (uint8_t)(folded >> 8);
        p[17] = (uint8_t)folded;
        b->ol_flags |= MG_BUF_TX_TCP_CKSUM;
    } else {
        p[16] = p[17] = 0;
        uint16_t ck = mg_l4_cksum_ipv4(src, dst, MG_IPPROTO_TCP, p, b->len);
        p[16] = (uint8_t)(ck >> 8);
        p[17] = (uint8_t)ck;
    }
}

/* SACK blocks for an ACK (RFC 2018 4): as many as fit beside the other options, and
 * on a segment with data only as many as fit in the room the MSS left for options
 * (the MSS was reduced by the timestamps alone), so a segment never outgrows the
 * path. Pure ACKs, the ones that matter to a sender in recovery, carry them all. */
static void add_sack_blocks(struct mg_tcp_sock *c, struct mg_tcp_opts *o, uint32_t len) {
    size_t room = MG_TCP_MAX_HDR_LEN - MG_TCP_HDR_LEN;
    if (len) {
        uint32_t budget = c->mss + (c->ts_ok ? TCP_TS_OPT_LEN : 0u);
        uint32_t left = budget > len ? budget - len : 0;
        if (left < room)
            room = left;
    }
    size_t other = mg_tcp_opts_len(o);
    if (room < other + 4u + 8u)
        return;
    unsigned max = (unsigned)((room - other - 4u) / 8u);
    tcp_sack_rcv_blocks(c, o, max);
    c->tcp->stats.sack_blocks_sent += o->num_sack_blocks;
}

/* Builds and sends one segment of connection c: flags, seq, and len payload bytes
 * taken from the send queue at seq. */
static int xmit(struct mg_tcp_sock *c, uint32_t seq, uint8_t flags, uint32_t len) {
    struct mg_tcp_layer *tcp = c->tcp;
    struct mg_inet *inet = tcp->inet;
    struct mg_buf *b = len ? sq_inplace(c, seq - c->snd_buf_seq, len) : NULL;
    bool inplace = b != NULL;
    if (!b)
        b = mg_inet_alloc_tx(inet);
    if (!b) {
        tcp_drop(tcp, MG_TCP_DROP_NO_BUFFER);
        return -ENOBUFS;
    }
    struct mg_tcp_hdr h;
    memset(&h, 0, sizeof(h));
    h.sport = c->lport;
    h.dport = c->rport;
    h.seq = seq;
    h.flags = flags;
    if (flags & MG_TCP_ACK)
        h.ack = c->rcv_nxt;
    bool syn = (flags & MG_TCP_SYN) != 0;
    h.window = (flags & MG_TCP_RST) ? 0 : tcp_rcv_window_field(c, syn);
    if (syn) {
        bool active = c->state == MG_TCP_SYN_SENT;
        h.opts.has_mss = true;
        h.opts.mss = c->our_mss;
        if (active || c->ws_ok) {
            h.opts.has_wscale = true;
            h.opts.wscale = c->rcv_wscale;
        }
        if (active || c->ts_ok) {
            h.opts.has_timestamp = true;
            h.opts.ts_val = tcp_ts_now(c);
            h.opts.ts_ecr = active && !(flags & MG_TCP_ACK) ? 0 : c->ts_recent;
        }
        if (active ? tcp->inet->cfg.tcp_sack : c->sack_ok)
            h.opts.sack_permitted = true; /* on a SYN-ACK only if the SYN had it (RFC 2018 2) */
    } else if (c->ts_ok && !(flags & MG_TCP_RST)) {
        h.opts.has_timestamp = true;
        h.opts.ts_val = tcp_ts_now(c);
        h.opts.ts_ecr = c->ts_recent;
    }
    if (!syn && (flags & MG_TCP_ACK) && !(flags & MG_TCP_RST) && c->sack_ok && c->ooo_head)
        add_sack_blocks(c, &h.opts, len);
    size_t hl = MG_TCP_HDR_LEN + mg_tcp_opts_len(&h.opts);
    uint8_t *p = inplace ? mg_buf_prepend(b, (uint32_t)hl) : mg_buf_append(b, (uint32_t)(hl + len));
    if (!p || mg_tcp_build(p, hl, &h) != hl) {
        mg_buf_free(b);
        tcp_drop(tcp, MG_TCP_DROP_NO_BUFFER);
        return -ENOBUFS;
    }
    if (len && !inplace) {
        sq_copy(c, seq - c->snd_buf_seq, p + hl, len);
        tcp->stats.payload_copies += len;
    }
    fill_cksum(inet, b, c->laddr, c->raddr);
    if (flags & MG_TCP_ACK) {
        c->last_ack_sent = c->rcv_nxt;
        c->ack_now = false;
        c->segs_unacked = 0;
        mg_timer_cancel(&inet->timers, &c->t_delack);
    }
    if (flags & MG_TCP_RST)
        tcp->stats.rsts_sent++;
    tcp->stats.segs_out++;
    mg_inet_ipv4_output(inet, b, c->raddr, MG_IPPROTO_TCP);
    return 0;
}

int tcp_send_syn(struct mg_tcp_sock *c) {
    uint8_t flags = MG_TCP_SYN;
    if (c->state == MG_TCP_SYN_RECEIVED)
        flags |= MG_TCP_ACK;
    int rc = xmit(c, c->iss, flags, 0);
    c->snd_nxt = c->iss + 1;
    if (SEQ_GT(c->snd_nxt, c->snd_max))
        c->snd_max = c->snd_nxt;
    if (c->nretx == 0 && !c->rtt_timing) {
        c->rtt_timing = true;
        c->rtt_seq = c->iss;
        c->rtt_start = tcp_now(c);
    }
    tcp_rexmit_update(c);
    return rc;
}

/* A pure ACK carries SND.MAX: after a timeout rewinds snd_nxt, the peer may already
 * hold bytes up to snd_max, and an older sequence number would look out of window
 * to it and draw an ACK back (two such peers would ACK each other forever). */
int tcp_send_ack(struct mg_tcp_sock *c) {
    return xmit(c, c->snd_max, MG_TCP_ACK, 0);
}

int tcp_send_rst(struct mg_tcp_sock *c) {
    if (c->state == MG_TCP_SYN_SENT || c->state == MG_TCP_CLOSED || c->state == MG_TCP_LISTEN)
        return 0;
    return xmit(c, c->snd_max, MG_TCP_RST | MG_TCP_ACK, 0);
}

int tcp_send_probe(struct mg_tcp_sock *c) {
    return xmit(c, c->snd_una - 1, MG_TCP_ACK, 0);
}

int tcp_xmit_data(struct mg_tcp_sock *c, uint32_t seq, uint32_t len, bool with_fin) {
    uint8_t flags = MG_TCP_ACK;
    if (with_fin)
        flags |= MG_TCP_FIN;
    if (len && seq + len == tcp_data_end(c))
        flags |= MG_TCP_PSH;
    if (SEQ_LT(seq, c->snd_max)) {
        c->tcp->stats.retransmits++;
        c->tcp->stats.retransmit_bytes += len;
    }
    return xmit(c, seq, flags, len);
}

void tcp_send_reset_reply(struct mg_tcp_layer *tcp, const struct mg_ipv4_hdr *ip, const struct mg_tcp_hdr *th,
                          uint32_t seg_len) {
    struct mg_inet *inet = tcp->inet;
    if (th->flags & MG_TCP_RST)
        return;
    struct mg_buf *b = mg_inet_alloc_tx(inet);
    if (!b) {
        tcp_drop(tcp, MG_TCP_DROP_NO_BUFFER);
        return;
    }
    struct mg_tcp_hdr h;
    memset(&h, 0, sizeof(h));
    h.sport = th->dport;
    h.dport = th->sport;
    if (th->flags & MG_TCP_ACK) {
        h.seq = th->ack;
        h.flags = MG_TCP_RST;
    } else {
        h.seq = 0;
        h.ack = th->seq + seg_len;
        h.flags = MG_TCP_RST | MG_TCP_ACK;
    }
    uint8_t *p = mg_buf_append(b, MG_TCP_HDR_LEN);
    if (!p || mg_tcp_build(p, MG_TCP_HDR_LEN, &h) != MG_TCP_HDR_LEN) {
        mg_buf_free(b);
        tcp_drop(tcp, MG_TCP_DROP_NO_BUFFER);
        return;
    }
    fill_cksum(inet, b, ip->dst, ip->src);
    tcp->stats.rsts_sent++;
    tcp->stats.segs_out++;
    mg_inet_ipv4_output(inet, b, ip->src, MG_IPPROTO_TCP);
}

/* ------------------------------------------------------------ output ---- */

static bool sending_state(enum mg_tcp_state s) {
    return s == MG_TCP_ESTABLISHED || s == MG_TCP_CLOSE_WAIT || s == MG_TCP_FIN_WAIT_1 || s == MG_TCP_LAST_ACK ||
           s == MG_TCP_CLOSING;
}

/* In a SACK recovery (RFC 6675 5 step C) new data goes while cwnd exceeds the pipe
 * by at least an MSS, within the peer's window. */
static uint32_t sack_usable(const struct mg_tcp_sock *c) {
    uint32_t pipe = tcp_sack_pipe(c);
    uint32_t room = c->cwnd > pipe && c->cwnd - pipe >= c->mss ? c->cwnd - pipe : 0;
    uint32_t win_end = c->snd_una + c->snd_wnd;
    uint32_t wnd = SEQ_GT(win_end, c->snd_nxt) ? win_end - c->snd_nxt : 0;
    return room < wnd ? room : wnd;
}

/* Sends segments while the rules allow. force: one segment regardless of Nagle and
 * SWS (persist timer with a small open window). */
static void output_segments(struct mg_tcp_sock *c, bool force) {
    bool sent = false;
    while (sending_state(c->state)) {
        uint32_t end = tcp_data_end(c);
        uint32_t avail = SEQ_LT(c->snd_nxt, end) ? end - c->snd_nxt : 0;
        uint32_t wnd = c->snd_wnd < c->cwnd ? c->snd_wnd : c->cwnd;
        uint32_t win_end = c->snd_una + wnd;
        uint32_t usable = SEQ_GT(win_end, c->snd_nxt) ? win_end - c->snd_nxt : 0;
        if (tcp_cc_sack_recovery(c))
            usable = sack_usable(c);
        uint32_t len = avail < usable ? avail : usable;
        if (len > c->mss)
            len = c->mss;
        bool fin_now = c->fin_queued && c->snd_nxt + len == end && len == avail &&
                       (!c->fin_sent || SEQ_LT(end, c->snd_max)) && SEQ_LEQ(c->snd_nxt, end);
        if (len == 0 && !fin_now)
            break;
        if (len > 0 && !fin_now && !force) {
            bool full = len == c->mss;
            bool all_queued = len == avail;
            bool idle = c->snd_una == c->snd_max;
            bool half_window = c->max_sndwnd && len >= c->max_sndwnd / 2;
            bool retransmitting = SEQ_LT(c->snd_nxt, c->snd_max);
            if (!(full || (all_queued && (c->nodelay || idle)) || half_window || retransmitting))
                break;
        }
        if (len > 0 && !c->rtt_timing && c->snd_nxt == c->snd_max && !c->ts_ok) {
            c->rtt_timing = true;
            c->rtt_seq = c->snd_nxt;
            c->rtt_start = tcp_now(c);
        }
        tcp_xmit_data(c, c->snd_nxt, len, fin_now);
        c->snd_nxt += len + (fin_now ? 1u : 0u);
        if (fin_now)
            c->fin_sent = true;
        if (SEQ_GT(c->snd_nxt, c->snd_max))
            c->snd_max = c->snd_nxt;
        sent = true;
        if (fin_now || force)
            break;
    }
    if (!sent && c->ack_now && c->state != MG_TCP_CLOSED && c->state != MG_TCP_LISTEN && c->state != MG_TCP_SYN_SENT)
        tcp_send_ack(c);
}

void tcp_output(struct mg_tcp_sock *c) {
    output_segments(c, false);
    if (c->state == MG_TCP_CLOSED || c->state == MG_TCP_TIME_WAIT)
        return;
    tcp_rexmit_update(c);
    tcp_persist_update(c);
}

void tcp_output_force(struct mg_tcp_sock *c) {
    output_segments(c, true);
    tcp_rexmit_update(c);
}
