/* drivers/fault.c — the fault model (see fault.h). Every random draw happens in a
 * fixed order per frame whatever the parameters, so changing one knob does not
 * reshuffle every other decision of a seeded run. */
#include "drivers/fault.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define DEFAULT_QUEUE_BYTES (64u * 1024u)
#define ETH_HDR 14u

static bool valid_probability(double p) { return !isnan(p) && p >= 0.0 && p <= 1.0; }

int mg_fault_params_check(const struct mg_fault_params *p) {
    if (!p)
        return -EINVAL;
    const double probs[] = {p->loss, p->burst_enter, p->burst_exit, p->burst_loss,
                            p->duplicate, p->corrupt, p->reorder};
    for (size_t i = 0; i < sizeof(probs) / sizeof(probs[0]); i++)
        if (!valid_probability(probs[i]))
            return -EINVAL;
    return 0;
}

void mg_fault_init(struct mg_fault_state *s, const struct mg_fault_params *p, uint64_t seed) {
    memset(s, 0, sizeof(*s));
    s->params = *p;
    if (s->params.queue_bytes == 0)
        s->params.queue_bytes = DEFAULT_QUEUE_BYTES;
    mg_rand_seed(&s->rand, seed);
}

void mg_fault_set_partitioned(struct mg_fault_state *s, bool partitioned) { s->partitioned = partitioned; }

/* Gilbert–Elliott: move between states, then lose with the state's probability. */
static bool burst_loss(struct mg_fault_state *s, double draw_state, double draw_loss) {
    const struct mg_fault_params *p = &s->params;
    if (s->bad)
        s->bad = !(draw_state < p->burst_exit);
    else
        s->bad = draw_state < p->burst_enter;
    return s->bad && draw_loss < p->burst_loss;
}

/* When a frame offered now leaves a rate-limited link, or UINT64_MAX if the queue
 * in front of it is full. */
static uint64_t serialize(struct mg_fault_state *s, uint64_t now_ns, uint32_t len) {
    const struct mg_fault_params *p = &s->params;
    if (p->rate_bps == 0)
        return now_ns;
    uint64_t start = s->busy_until_ns > now_ns ? s->busy_until_ns : now_ns;
    uint64_t backlog_ns = start - now_ns;
    uint64_t backlog_bytes = (uint64_t)((double)backlog_ns * (double)p->rate_bps / 8e9);
    if (backlog_bytes + len > p->queue_bytes)
        return UINT64_MAX;
    uint64_t tx_ns = (uint64_t)ceil((double)len * 8e9 / (double)p->rate_bps);
    s->busy_until_ns = start + tx_ns;
    return s->busy_until_ns;
}

void mg_fault_decide(struct mg_fault_state *s, uint64_t now_ns, uint32_t frame_len, struct mg_fault_verdict *out) {
    const struct mg_fault_params *p = &s->params;
    /* Fixed draw order: state, loss, burst loss, duplicate, corrupt, bit, reorder, jitter x2. */
    double d_state = mg_rand_unit(&s->rand), d_loss = mg_rand_unit(&s->rand), d_bloss = mg_rand_unit(&s->rand);
    double d_dup = mg_rand_unit(&s->rand), d_corrupt = mg_rand_unit(&s->rand);
    uint32_t d_bit = mg_rand_u32(&s->rand);
    double d_reorder = mg_rand_unit(&s->rand);
    uint64_t d_jitter[2] = {mg_rand_u64(&s->rand), mg_rand_u64(&s->rand)};

    memset(out, 0, sizeof(*out));
    s->stats.frames++;
    bool burst_lost = p->burst && burst_loss(s, d_state, d_bloss);
    if (s->partitioned) {
        out->drop = MG_FAULT_PARTITIONED;
        s->stats.partitioned++;
        return;
    }
    if (p->mtu && frame_len > p->mtu + ETH_HDR) {
        out->drop = MG_FAULT_TOO_BIG;
        s->stats.too_big++;
        return;
    }
    if (d_loss < p->loss || burst_lost) {
        out->drop = MG_FAULT_LOST;
        s->stats.lost++;
        return;
    }
    uint64_t departs = serialize(s, now_ns, frame_len);
    if (departs == UINT64_MAX) {
        out->drop = MG_FAULT_QUEUE_FULL;
        s->stats.queue_drops++;
        return;
    }
    out->copies = d_dup < p->duplicate ? 2 : 1;
    if (out->copies == 2)
        s->stats.duplicated++;
    if (d_corrupt < p->corrupt && frame_len > 0) {
        out->corrupt = true;
        out->corrupt_bit = d_bit % (frame_len * 8u);
        s->stats.corrupted++;
    }
    uint64_t extra = 0;
    if (d_reorder < p->reorder) {
        extra = p->reorder_delay_ns;
        s->stats.reordered++;
    }
    for (unsigned i = 0; i < out->copies; i++) {
        uint64_t jitter = p->jitter_ns ? d_jitter[i] % (p->jitter_ns + 1) : 0;
        out->deliver_at_ns[i] = departs + p->delay_ns + jitter + (i == 0 ? extra : 0);
    }
    s->stats.delivered++;
}
