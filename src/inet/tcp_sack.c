/* inet/tcp_sack.c — selective acknowledgments (RFC 2018) and the sender's scoreboard
 * (RFC 6675), kept apart from tcp_cc.c so the congestion controller asks questions
 * (is this byte lost? how much is in the pipe? where is the next hole?) without
 * knowing how the answers are stored.
 *
 * Sender: the scoreboard is a fixed array of SACKed ranges per connection, sorted by
 * sequence and disjoint (touching ranges are merged), all within snd_una..snd_max.
 * Blocks from the wire are checked before they go in: a reversed block, one below the
 * cumulative ACK (stale, or a D-SACK, which margay does not use) or one reaching past
 * anything ever sent is ignored and counted. When the array is full the highest range
 * is forgotten: the sender then merely retransmits a little more than needed.
 *
 * Receiver: blocks describe runs of contiguous data in the out-of-order queue. The
 * queue is the truth; the receiver only remembers which runs it saw data arrive in
 * most recently (one sequence number per arrival), so that the first block reports
 * the latest segment and the others the most recently reported runs (RFC 2018 4). */
#include "inet/tcp_int.h"

/* ------------------------------------------------------------ sender ---- */

static uint32_t range_len(const struct tcp_sack_range *r) {
    return r->end - r->start;
}

/* Inserts [l, r) into the sorted scoreboard, merging every range it overlaps or
 * touches. */
static void sb_insert(struct mg_tcp_sock *c, uint32_t l, uint32_t r) {
    unsigned n = c->sb_count, i = 0, j;
    while (i < n && SEQ_LT(c->sb[i].end, l))
        i++;
    for (j = i; j < n && SEQ_LEQ(c->sb[j].start, r); j++) {
        if (SEQ_LT(c->sb[j].start, l))
            l = c->sb[j].start;
        if (SEQ_GT(c->sb[j].end, r))
            r = c->sb[j].end;
    }
    unsigned merged = j - i;
    if (merged == 0) {
        if (n == TCP_SACK_SB_MAX) {
            /* Full: keep the lowest ranges, which decide what is retransmitted next. */
            c->tcp->stats.sack_scoreboard_full++;
            if (i == n)
                return;
            n--;
        }
        for (unsigned k = n; k > i; k--)
            c->sb[k] = c->sb[k - 1];
        n++;
    } else {
        for (unsigned k = j; k < n; k++)
            c->sb[k - merged + 1] = c->sb[k];
        n = n - merged + 1;
    }
    c->sb[i].start = l;
    c->sb[i].end = r;
    c->sb_count = (uint8_t)n;
}

void tcp_sack_update(struct mg_tcp_sock *c, const struct mg_tcp_opts *o, uint32_t ack) {
    struct mg_tcp_stats *st = &c->tcp->stats;
    uint32_t floor = SEQ_GT(ack, c->snd_una) ? ack : c->snd_una;
    for (unsigned i = 0; i < o->num_sack_blocks && i < MG_TCP_MAX_SACK_BLOCKS; i++) {
        uint32_t l = o->sack[i].left, r = o->sack[i].right;
        st->sack_blocks_received++;
        if (!SEQ_LT(l, r) || SEQ_LT(l, floor) || SEQ_GT(r, c->snd_max)) {
            st->sack_blocks_ignored++;
            continue;
        }
        sb_insert(c, l, r);
    }
}

void tcp_sack_trim(struct mg_tcp_sock *c) {
    unsigned drop = 0;
    while (drop < c->sb_count && SEQ_LEQ(c->sb[drop].end, c->snd_una))
        drop++;
    for (unsigned k = drop; k < c->sb_count; k++)
        c->sb[k - drop] = c->sb[k];
    c->sb_count = (uint8_t)(c->sb_count - drop);
    if (c->sb_count && SEQ_LT(c->sb[0].start, c->snd_una))
        c->sb[0].start = c->snd_una;
    if (SEQ_LT(c->rxt_high, c->snd_una))
        c->rxt_high = c->snd_una; /* keeps it within 2^31 of the window */
}

void tcp_sack_clear(struct mg_tcp_sock *c) {
    c->sb_count = 0;
}

/* Whether the hole just below range i counts as lost: DupThresh ranges above it, or
 * more than (DupThresh - 1) * SMSS SACKed bytes (RFC 6675 IsLost). */
static bool hole_lost(const struct mg_tcp_sock *c, unsigned i) {
    uint32_t bytes = 0;
    for (unsigned k = i; k < c->sb_count; k++)
        bytes += range_len(&c->sb[k]);
    return c->sb_count - i >= TCP_DUPTHRESH || bytes > (TCP_DUPTHRESH - 1u) * c->mss;
}

bool tcp_sack_is_lost(const struct mg_tcp_sock *c, uint32_t seq) {
    unsigned i = 0;
    while (i < c->sb_count && SEQ_LEQ(c->sb[i].start, seq))
        i++;
    return i < c->sb_count && hole_lost(c, i);
}

uint32_t tcp_sack_pipe(const struct mg_tcp_sock *c) {
    uint32_t pipe = 0, seq = c->snd_una;
    for (unsigned i = 0; i <= c->sb_count; i++) {
        uint32_t hole_end = i < c->sb_count ? c->sb[i].start : c->snd_max;
        if (SEQ_LT(seq, hole_end)) {
            if (i == c->sb_count || !hole_lost(c, i))
                pipe += hole_end - seq; /* presumed still in flight */
            if (c->in_recovery && SEQ_GT(c->rxt_high, seq))
                pipe += (SEQ_LT(c->rxt_high, hole_end) ? c->rxt_high : hole_end) - seq; /* resent */
        }
        if (i < c->sb_count)
            seq = c->sb[i].end;
    }
    return pipe;
}

bool tcp_sack_next_hole(const struct mg_tcp_sock *c, bool lost, uint32_t *seq, uint32_t *hole_end) {
    uint32_t from = c->snd_una;
    for (unsigned i = 0; i < c->sb_count; i++) {
        uint32_t start = SEQ_GT(c->rxt_high, from) ? c->rxt_high : from;
        if (SEQ_LT(start, c->sb[i].start) && (!lost || hole_lost(c, i))) {
            *seq = start;
            *hole_end = c->sb[i].start;
            return true;
        }
        from = c->sb[i].end;
    }
    return false;
}

const char *tcp_sack_check(const struct mg_tcp_sock *c) {
    if (c->sb_count > TCP_SACK_SB_MAX)
        return "more ranges than the scoreboard holds";
    if (!c->sack_ok && c->sb_count)
        return "ranges on a connection without SACK";
    uint32_t prev = c->snd_una;
    for (unsigned i = 0; i < c->sb_count; i++) {
        const struct tcp_sack_range *r = &c->sb[i];
        if (!SEQ_LT(r->start, r->end))
            return "empty or reversed range";
        if (SEQ_LT(r->start, prev) || (i > 0 && r->start == prev))
            return i == 0 ? "range below snd_una" : "ranges unsorted, overlapping or touching";
        if (SEQ_GT(r->end, c->snd_max))
            return "range beyond snd_max";
        prev = r->end;
    }
    return NULL;
}

/* ------------------------------------------------------------ receiver ---- */

/* The run of contiguous queued data that starts at b, and the buffer after it. */
static const struct mg_buf *ooo_run(const struct mg_buf *b, struct tcp_sack_range *run) {
    run->start = (uint32_t)b->user;
    run->end = run->start + b->len;
    for (b = b->next; b && (uint32_t)b->user == run->end; b = b->next)
        run->end += b->len;
    return b;
}

/* The non-empty run holding seq; false when seq is not queued. */
static bool ooo_run_at(const struct mg_tcp_sock *c, uint32_t seq, struct tcp_sack_range *out) {
    const struct mg_buf *b = c->ooo_head;
    while (b) {
        struct tcp_sack_range run;
        b = ooo_run(b, &run);
        if (SEQ_GEQ(seq, run.start) && SEQ_LT(seq, run.end)) {
            *out = run;
            return true;
        }
    }
    return false;
}

void tcp_sack_rcv_note(struct mg_tcp_sock *c, uint32_t seq) {
    struct tcp_sack_range run;
    if (!c->sack_ok || !ooo_run_at(c, seq, &run))
        return;
    /* Older arrivals in the same run are now described by this one. */
    unsigned n = 0;
    for (unsigned i = 0; i < c->rcv_sack_count; i++) {
        uint32_t s = c->rcv_sack_seq[i];
        if (!(SEQ_GEQ(s, run.start) && SEQ_LT(s, run.end)))
            c->rcv_sack_seq[n++] = s;
    }
    if (n == TCP_SACK_RCV_MAX)
        n--;
    for (unsigned i = n; i > 0; i--)
        c->rcv_sack_seq[i] = c->rcv_sack_seq[i - 1];
    c->rcv_sack_seq[0] = seq;
    c->rcv_sack_count = (uint8_t)(n + 1);
}

/* A run is reported only when it lies above a hole. The queue can briefly hold data
 * at or below rcv_nxt, or data after the peer's FIN, while an arrival is being taken
 * apart (an ACK sent from inside that, for a FIN, sees it): none of that is SACKed. */
static bool reportable(const struct mg_tcp_sock *c, const struct tcp_sack_range *r) {
    return !c->fin_rcvd && SEQ_GT(r->start, c->rcv_nxt) && r->start != r->end;
}

static bool have_block(const struct mg_tcp_opts *o, const struct tcp_sack_range *r) {
    for (unsigned i = 0; i < o->num_sack_blocks; i++)
        if (o->sack[i].left == r->start)
            return true;
    return false;
}

static void add_block(struct mg_tcp_opts *o, const struct tcp_sack_range *r) {
    o->sack[o->num_sack_blocks].left = r->start;
    o->sack[o->num_sack_blocks].right = r->end;
    o->num_sack_blocks++;
}

void tcp_sack_rcv_blocks(struct mg_tcp_sock *c, struct mg_tcp_opts *o, unsigned max) {
    o->num_sack_blocks = 0;
    if (max > MG_TCP_MAX_SACK_BLOCKS)
        max = MG_TCP_MAX_SACK_BLOCKS;
    if (!c->ooo_head) {
        c->rcv_sack_count = 0; /* every hole filled: nothing left to report */
        return;
    }
    struct tcp_sack_range run;
    for (unsigned i = 0; i < c->rcv_sack_count && o->num_sack_blocks < max; i++)
        if (ooo_run_at(c, c->rcv_sack_seq[i], &run) && reportable(c, &run) && !have_block(o, &run))
            add_block(o, &run);
    /* Runs never reported recently (their note was pushed out) fill what is left. */
    for (const struct mg_buf *b = c->ooo_head; b && o->num_sack_blocks < max;) {
        b = ooo_run(b, &run);
        if (reportable(c, &run) && !have_block(o, &run))
            add_block(o, &run);
    }
}
