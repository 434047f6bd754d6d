/* drivers/fault_netdev.c — the fault-injection netdev wrapper: applies the fault model
 * (fault.h) to frames going out through and coming in from any netdev. Frames whose
 * verdict delays them wait in a per-direction queue ordered by (delivery time,
 * arrival order) and are released as the clock passes their time, on every rx or tx
 * call, so the stack's ordinary polling drives delivery. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/fault.h"

struct held_frame {
    uint64_t at, seq;
    struct mg_buf *buf;
};

struct held_queue { /* binary min-heap on (at, seq) */
    struct held_frame *items;
    uint32_t count, cap;
};

struct fault_dir {
    struct mg_fault_state model;
    struct held_queue held;
};

struct fault_dev {
    struct mg_netdev dev; /* first: the wrapper is a netdev */
    struct mg_netdev *inner;
    struct mg_clock *clock;
    struct fault_dir tx, rx;
    uint64_t next_seq;
    bool borrow_inner;
};

static const struct mg_netdev_ops fault_ops;

static bool held_before(const struct held_frame *a, const struct held_frame *b) {
    return a->at != b->at ? a->at < b->at : a->seq < b->seq;
}

static bool held_push(struct held_queue *q, struct held_frame f) {
    if (q->count == q->cap)
        return false;
    uint32_t i = q->count++;
    while (i > 0 && held_before(&f, &q->items[(i - 1) / 2])) {
        q->items[i] = q->items[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    q->items[i] = f;
    return true;
}

static struct held_frame held_pop(struct held_queue *q) {
    struct held_frame top = q->items[0];
    struct held_frame last = q->items[--q->count];
    uint32_t i = 0;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= q->count)
            break;
        if (c + 1 < q->count && held_before(&q->items[c + 1], &q->items[c]))
            c++;
        if (!held_before(&q->items[c], &last))
            break;
        q->items[i] = q->items[c];
        i = c;
    }
    if (q->count)
        q->items[i] = last;
    return top;
}

static uint64_t held_next(const struct held_queue *q) { return q->count ? q->items[0].at : UINT64_MAX; }

static struct mg_buf *clone_frame(struct fault_dev *f, const struct mg_buf *src) {
    if (!f->inner->pool)
        return NULL;
    struct mg_buf *b = mg_buf_alloc(f->inner->pool);
    if (!b)
        return NULL;
    uint8_t *p = mg_buf_append(b, src->len);
    if (!p) {
        mg_buf_free(b);
        return NULL;
    }
    memcpy(p, src->data, src->len);
    b->ol_flags = src->ol_flags;
    b->l2_len = src->l2_len;
    b->l3_len = src->l3_len;
    return b;
}

/* Flips one bit; a buffer someone else still holds (TCP keeps frames for
 * retransmission) is copied first so only this transmission is damaged. */
static struct mg_buf *corrupt_frame(struct fault_dev *f, struct mg_buf *b, uint32_t bit) {
    if (b->refcnt > 1) {
        struct mg_buf *copy = clone_frame(f, b);
        if (!copy)
            return b;
        mg_buf_free(b);
        b = copy;
    }
    b->data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    /* The device must not "fix" what the fault broke: offloaded checksums are
     * computed over the corrupted bytes anyway, and the receive flags are cleared. */
    b->ol_flags &= ~(uint32_t)(MG_BUF_RX_IP_CKSUM_GOOD | MG_BUF_RX_L4_CKSUM_GOOD);
    return b;
}

/* Runs one frame through a direction's model into its held queue (or frees it). */
static void admit(struct fault_dev *f, struct fault_dir *d, struct mg_buf *b, uint64_t now) {
    struct mg_fault_verdict v;
    mg_fault_decide(&d->model, now, b->len, &v);
    if (v.drop != MG_FAULT_KEEP) {
        mg_buf_free(b);
        return;
    }
    struct mg_buf *second = v.copies == 2 ? clone_frame(f, b) : NULL;
    if (v.corrupt)
        b = corrupt_frame(f, b, v.corrupt_bit);
    struct mg_buf *copies[2] = {b, second};
    for (unsigned i = 0; i < 2; i++) {
        if (!copies[i])
            continue;
        struct held_frame h = {.at = v.deliver_at_ns[i], .seq = f->next_seq++, .buf = copies[i]};
        if (!held_push(&d->held, h)) {
            d->model.stats.queue_drops++;
            mg_buf_free(copies[i]);
        }
    }
}

/* Hands every due transmit frame to the inner device, in order. */
static void release_tx(struct fault_dev *f, uint64_t now) {
    struct mg_buf *batch[32];
    while (held_next(&f->tx.held) <= now) {
        uint16_t n = 0;
        while (n < 32 && held_next(&f->tx.held) <= now)
            batch[n++] = held_pop(&f->tx.held).buf;
        uint16_t sent = mg_netdev_tx(f->inner, batch, n);
        for (uint16_t i = sent; i < n; i++) {
            f->dev.stats.tx_dropped_full++;
            mg_buf_free(batch[i]);
        }
    }
}

static uint16_t fault_tx(struct mg_netdev *dev, struct mg_buf **bufs, uint16_t n) {
    struct fault_dev *f = (struct fault_dev *)dev;
    uint64_t now = mg_clock_now(f->clock);
    for (uint16_t i = 0; i < n; i++)
        admit(f, &f->tx, bufs[i], now);
    release_tx(f, now);
    return n; /* every frame was taken: delivered later, or lost on purpose */
}

static uint16_t fault_rx(struct mg_netdev *dev, struct mg_buf **bufs, uint16_t n) {
    struct fault_dev *f = (struct fault_dev *)dev;
    uint64_t now = mg_clock_now(f->clock);
    release_tx(f, now);
    struct mg_buf *in[32];
    uint16_t got = mg_netdev_rx(f->inner, in, 32);
    for (uint16_t i = 0; i < got; i++)
        admit(f, &f->rx, in[i], now);
    uint16_t out = 0;
    while (out < n && held_next(&f->rx.held) <= now)
        bufs[out++] = held_pop(&f->rx.held).buf;
    return out;
}

static uint64_t fault_next_rx(struct mg_netdev *dev) {
    struct fault_dev *f = (struct fault_dev *)dev;
    uint64_t next = f->inner->ops->next_rx_ns ? f->inner->ops->next_rx_ns(f->inner) : UINT64_MAX;
    uint64_t held_rx = held_next(&f->rx.held), held_tx = held_next(&f->tx.held);
    if (held_rx < next)
        next = held_rx;
    if (held_tx < next)
        next = held_tx;
    return next;
}

static int fault_wait_fd(struct mg_netdev *dev) {
    struct mg_netdev *inner = ((struct fault_dev *)dev)->inner;
    return inner->ops->wait_fd ? inner->ops->wait_fd(inner) : -1;
}

static void free_held(struct held_queue *q) {
    for (uint32_t i = 0; i < q->count; i++)
        mg_buf_free(q->items[i].buf);
    free(q->items);
}

static void fault_destroy(struct mg_netdev *dev) {
    struct fault_dev *f = (struct fault_dev *)dev;
    free_held(&f->tx.held);
    free_held(&f->rx.held);
    if (!f->borrow_inner)
        mg_netdev_destroy(f->inner);
    free(f);
}

static const struct mg_netdev_ops fault_ops = {
    .rx_burst = fault_rx,
    .tx_burst = fault_tx,
    .next_rx_ns = fault_next_rx,
    .wait_fd = fault_wait_fd,
    .destroy = fault_destroy,
};

static int dir_init(struct fault_dir *d, const struct mg_fault_params *p, uint64_t seed, uint32_t max_held) {
    mg_fault_init(&d->model, p, seed);
    d->held.items = calloc(max_held, sizeof(*d->held.items));
    d->held.cap = max_held;
    return d->held.items ? 0 : -ENOMEM;
}

int mg_fault_wrap(struct mg_netdev *inner, struct mg_clock *clock, const struct mg_fault_wrap_opts *opts,
                  struct mg_netdev **out) {
    if (!inner || !clock || !opts || !out)
        return -EINVAL;
    if (mg_fault_params_check(&opts->tx) < 0 || mg_fault_params_check(&opts->rx) < 0)
        return -EINVAL;
    struct fault_dev *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    uint32_t max_held = opts->max_held ? opts->max_held : 1024;
    /* Two independent streams from one seed: changing rx faults leaves tx's alone. */
    if (dir_init(&f->tx, &opts->tx, opts->seed, max_held) < 0 ||
        dir_init(&f->rx, &opts->rx, opts->seed ^ 0x9e3779b97f4a7c15ull, max_held) < 0) {
        free(f->tx.held.items);
        free(f->rx.held.items);
        free(f);
        return -ENOMEM;
    }
    f->inner = inner;
    f->clock = clock;
    f->borrow_inner = opts->borrow_inner;
    f->dev = *inner;
    f->dev.ops = &fault_ops;
    f->dev.priv = NULL;
    snprintf(f->dev.name, sizeof(f->dev.name), "fault(%.52s)", inner->name);
    *out = &f->dev;
    return 0;
}

const struct mg_fault_stats *mg_fault_wrap_stats(const struct mg_netdev *dev, bool tx) {
    if (!dev || dev->ops != &fault_ops)
        return NULL;
    const struct fault_dev *f = (const struct fault_dev *)dev;
    return tx ? &f->tx.model.stats : &f->rx.model.stats;
}

int mg_fault_wrap_partition(struct mg_netdev *dev, bool partitioned) {
    if (!dev || dev->ops != &fault_ops)
        return -EINVAL;
    struct fault_dev *f = (struct fault_dev *)dev;
    mg_fault_set_partitioned(&f->tx.model, partitioned);
    mg_fault_set_partitioned(&f->rx.model, partitioned);
    return 0;
}
