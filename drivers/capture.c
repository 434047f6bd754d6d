/* drivers/capture.c — the capture tap netdev wrapper (see capture.h). Received frames
 * are recorded after the inner device returns them; transmitted frames are recorded
 * before the inner device takes them (it may free them at once), and the records of
 * frames it refuses are taken back, so the capture shows what really went out. */
#include "drivers/capture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drivers/pcapng.h"

struct capture_dev {
    struct mg_netdev dev; /* first: the wrapper is a netdev */
    struct mg_netdev *inner;
    struct mg_clock *clock;
    struct mg_pcapng writer;
    char *path;
    uint64_t max_file_bytes;
    uint32_t max_files;
    uint32_t snaplen;
    bool stopped; /* at the limit without rotation, or after a write error */
    bool borrow_inner;
    struct mg_capture_stats stats;
};

static const struct mg_netdev_ops capture_ops;

static struct capture_dev *to_capture(struct mg_netdev *dev) { return (struct capture_dev *)dev; }

static uint64_t capture_now(struct capture_dev *c) {
    if (c->clock)
        return mg_clock_now(c->clock);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * MG_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void stop_on_error(struct capture_dev *c) {
    c->stats.write_errors++;
    c->stopped = true;
}

/* Shifts path -> path.1 -> path.2 ..., dropping the oldest, and starts a new file. */
static int rotate(struct capture_dev *c) {
    int rc = mg_pcapng_close(&c->writer);
    if (rc < 0)
        return rc;
    size_t n = strlen(c->path) + 16;
    char *from = malloc(n), *to = malloc(n);
    if (!from || !to) {
        free(from);
        free(to);
        return -ENOMEM;
    }
    for (uint32_t i = c->max_files - 1; i >= 1; i--) {
        if (i == 1)
            snprintf(from, n, "%s", c->path);
        else
            snprintf(from, n, "%s.%u", c->path, i - 1);
        snprintf(to, n, "%s.%u", c->path, i);
        rename(from, to); /* a missing older file is fine */
    }
    free(from);
    free(to);
    c->stats.rotations++;
    return mg_pcapng_open(&c->writer, c->path, c->dev.name, c->snaplen);
}

/* Whether a record of `rec` bytes may be written now, rotating or stopping at the limit. */
static bool make_room(struct capture_dev *c, size_t rec) {
    if (c->stopped)
        return false;
    if (c->max_file_bytes == 0 || c->writer.file_bytes + rec <= c->max_file_bytes)
        return true;
    if (c->max_files <= 1) {
        c->stopped = true;
        return false;
    }
    if (rotate(c) < 0) {
        stop_on_error(c);
        return false;
    }
    return c->writer.file_bytes + rec <= c->max_file_bytes || c->writer.frames == 0;
}

static bool record(struct capture_dev *c, uint64_t ts, const struct mg_buf *b, enum mg_pcapng_dir dir) {
    if (!make_room(c, mg_pcapng_record_size(&c->writer, b->len))) {
        c->stats.frames_skipped++;
        return false;
    }
    if (mg_pcapng_write_frame(&c->writer, ts, b->data, b->len, dir) < 0) {
        stop_on_error(c);
        c->stats.frames_skipped++;
        return false;
    }
    if (dir == MG_PCAPNG_DIR_IN)
        c->stats.frames_in++;
    else
        c->stats.frames_out++;
    return true;
}

static uint16_t capture_rx(struct mg_netdev *dev, struct mg_buf **bufs, uint16_t n) {
    struct capture_dev *c = to_capture(dev);
    uint16_t got = mg_netdev_rx(c->inner, bufs, n);
    if (got) {
        uint64_t ts = capture_now(c);
        for (uint16_t i = 0; i < got; i++)
            record(c, ts, bufs[i], MG_PCAPNG_DIR_IN);
    }
    c->dev.stats = c->inner->stats;
    return got;
}

static uint16_t capture_tx(struct mg_netdev *dev, struct mg_buf **bufs, uint16_t n) {
    struct capture_dev *c = to_capture(dev);
    uint64_t ts = capture_now(c);
    /* Remember each record's size so the ones for refused frames can be taken back. */
    size_t sizes[64];
    bool recorded[64];
    uint16_t sent_total = 0;
    while (sent_total < n) {
        uint16_t chunk = (uint16_t)(n - sent_total < 64 ? n - sent_total : 64);
        for (uint16_t i = 0; i < chunk; i++) {
            struct mg_buf *b = bufs[sent_total + i];
            sizes[i] = mg_pcapng_record_size(&c->writer, b->len);
            recorded[i] = record(c, ts, b, MG_PCAPNG_DIR_OUT);
        }
        uint16_t sent = mg_netdev_tx(c->inner, bufs + sent_total, chunk);
        size_t back_bytes = 0;
        uint64_t back_frames = 0;
        for (uint16_t i = sent; i < chunk; i++) {
            if (recorded[i]) {
                back_bytes += sizes[i];
                back_frames++;
            }
        }
        if (back_frames && mg_pcapng_unwrite(&c->writer, back_bytes, back_frames) == 0)
            c->stats.frames_out -= back_frames;
        sent_total = (uint16_t)(sent_total + sent);
        if (sent < chunk)
            break;
    }
    c->dev.stats = c->inner->stats;
    return sent_total;
}

static uint64_t capture_next_rx(struct mg_netdev *dev) {
    struct mg_netdev *inner = to_capture(dev)->inner;
    return inner->ops->next_rx_ns ? inner->ops->next_rx_ns(inner) : UINT64_MAX;
}

static int capture_wait_fd(struct mg_netdev *dev) {
    struct mg_netdev *inner = to_capture(dev)->inner;
    return inner->ops->wait_fd ? inner->ops->wait_fd(inner) : -1;
}

static void capture_destroy(struct mg_netdev *dev) {
    struct capture_dev *c = to_capture(dev);
    mg_pcapng_close(&c->writer);
    if (!c->borrow_inner)
        mg_netdev_destroy(c->inner);
    free(c->path);
    free(c);
}

static const struct mg_netdev_ops capture_ops = {
    .rx_burst = capture_rx,
    .tx_burst = capture_tx,
    .next_rx_ns = capture_next_rx,
    .wait_fd = capture_wait_fd,
    .destroy = capture_destroy,
};

int mg_capture_wrap(struct mg_netdev *inner, struct mg_clock *clock, const struct mg_capture_opts *opts,
                    struct mg_netdev **out) {
    if (!inner || !opts || !opts->path || !*opts->path || !out)
        return -EINVAL;
    struct capture_dev *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->path = strdup(opts->path);
    if (!c->path) {
        free(c);
        return -ENOMEM;
    }
    c->inner = inner;
    c->clock = clock;
    c->max_file_bytes = opts->max_file_bytes;
    c->max_files = opts->max_files;
    c->snaplen = opts->snaplen ? opts->snaplen : 65535;
    c->borrow_inner = opts->borrow_inner;
    c->dev = *inner; /* MAC, MTU, capabilities, pool, counters */
    c->dev.ops = &capture_ops;
    c->dev.priv = NULL;
    snprintf(c->dev.name, sizeof(c->dev.name), "capture(%.50s)", inner->name);
    int rc = mg_pcapng_open(&c->writer, c->path, inner->name, c->snaplen);
    if (rc < 0) {
        free(c->path);
        free(c);
        return rc;
    }
    *out = &c->dev;
    return 0;
}

const struct mg_capture_stats *mg_capture_stats(const struct mg_netdev *dev) {
    if (!dev || dev->ops != &capture_ops)
        return NULL;
    return &((const struct capture_dev *)dev)->stats;
}

int mg_capture_flush(struct mg_netdev *dev) {
    if (!dev || dev->ops != &capture_ops)
        return -EINVAL;
    return mg_pcapng_flush(&to_capture(dev)->writer);
}
