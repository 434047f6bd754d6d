/* sim/link.c — the simulated Ethernet link (see link.h): a switch in memory with
 * per-direction latency and loss on a virtual clock, deterministic for a seed.
 *
 * Each receiving endpoint keeps its frames in flight in its own min-heap ordered by
 * (arrival time, send sequence), so delivery order never depends on anything but
 * the sends and the seed. Frames in flight are link-owned copies: copying at send lets
 * the sender's buffer go back to its pool at once, as a NIC completes a transmit. A
 * frame costs two copies (into its event, then into the receiver's buffer) and no
 * allocation once the link has run a while: delivered events go to a free list, and a
 * frame that needs padding or checksums filled is prepared in one scratch buffer. */
#include "sim/link.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/random.h"
#include "wire/be.h"
#include "wire/wire.h"

#define SIM_MAX_ENDPOINTS 64 /* rows_ready is one bit per endpoint */
#define SIM_MAC_TABLE 256
#define ETH_MIN_FRAME 60 /* without FCS: shorter frames are padded, as a NIC does */
#define ETH_VLAN_ROOM 4

struct frame_event {
    uint64_t time_ns;
    uint64_t seq;
    unsigned from;
    uint32_t len;
    uint32_t room;                 /* bytes[] allocated */
    struct frame_event *next_free; /* on the link's free list */
    uint8_t bytes[];
};

#define EVENT_MIN_ROOM 2048 /* a standard frame, so that free events fit most frames */

struct endpoint {
    struct mg_sim_link *link;
    unsigned index;
    bool attached;
    struct mg_netdev dev;
    struct frame_event **heap;
    uint32_t count, cap;
    struct mg_sim_endpoint_stats stats;
};

struct path {
    uint64_t latency_ns;
    double loss;
    struct mg_fault_state *fault; /* NULL: latency and loss above decide */
};

struct mac_entry {
    uint8_t mac[MG_ETH_ALEN];
    unsigned endpoint;
    bool used;
};

struct mg_sim_link {
    struct mg_sim_link_params params;
    struct mg_rand rand;
    struct endpoint *eps[SIM_MAX_ENDPOINTS];
    unsigned n;
    /* paths[from][to]. A row is set to the defaults when first used (path_of), so a
     * link of a few endpoints touches a few rows, not the whole matrix. */
    struct path (*paths)[SIM_MAX_ENDPOINTS];
    uint64_t rows_ready; /* bit `from`: paths[from] is initialised */
    struct mac_entry macs[SIM_MAC_TABLE];
    uint64_t next_seq;
    struct frame_event *free_events; /* delivered or dropped, kept for the next frames */
    uint8_t *scratch;                /* a frame being padded or given its checksums */
    uint32_t scratch_room;
};

/* ---- paths ---- */

_Static_assert(SIM_MAX_ENDPOINTS <= 64, "rows_ready has one bit per endpoint");

static struct path *path_of(struct mg_sim_link *l, unsigned from, unsigned to) {
    if (!(l->rows_ready & (1ull << from))) {
        for (unsigned j = 0; j < SIM_MAX_ENDPOINTS; j++)
            l->paths[from][j] = (struct path){.latency_ns = l->params.latency_ns, .loss = l->params.loss};
        l->rows_ready |= 1ull << from;
    }
    return &l->paths[from][to];
}

/* ---- frame events ---- */

static struct frame_event *event_get(struct mg_sim_link *l, uint32_t len) {
    struct frame_event *ev = l->free_events;
    if (ev && ev->room >= len) {
        l->free_events = ev->next_free;
        return ev;
    }
    uint32_t room = len > EVENT_MIN_ROOM ? len : EVENT_MIN_ROOM;
    ev = malloc(sizeof(*ev) + room);
    if (ev)
        ev->room = room;
    return ev;
}

static void event_put(struct mg_sim_link *l, struct frame_event *ev) {
    ev->next_free = l->free_events;
    l->free_events = ev;
}

/* ---- per-endpoint heap of frames in flight ---- */

static bool event_before(const struct frame_event *a, const struct frame_event *b) {
    if (a->time_ns != b->time_ns)
        return a->time_ns < b->time_ns;
    return a->seq < b->seq;
}

static int heap_push(struct endpoint *ep, struct frame_event *ev) {
    if (ep->count == ep->cap) {
        uint32_t cap = ep->cap ? ep->cap * 2 : 64;
        struct frame_event **h = realloc(ep->heap, cap * sizeof(*h));
        if (!h)
            return -ENOMEM;
        ep->heap = h;
        ep->cap = cap;
    }
    uint32_t i = ep->count++;
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!event_before(ev, ep->heap[parent]))
            break;
        ep->heap[i] = ep->heap[parent];
        i = parent;
    }
    ep->heap[i] = ev;
    return 0;
}

static struct frame_event *heap_pop(struct endpoint *ep) {
    struct frame_event *top = ep->heap[0];
    struct frame_event *last = ep->heap[--ep->count];
    uint32_t i = 0;
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= ep->count)
            break;
        if (child + 1 < ep->count && event_before(ep->heap[child + 1], ep->heap[child]))
            child++;
        if (!event_before(ep->heap[child], last))
            break;
        ep->heap[i] = ep->heap[child];
        i = child;
    }
    if (ep->count > 0)
        ep->heap[i] = last;
    return top;
}

static void heap_clear(struct endpoint *ep) {
    for (uint32_t i = 0; i < ep->count; i++)
        free(ep->heap[i]);
    free(ep->heap);
    ep->heap = NULL;
    ep->count = ep->cap = 0;
}

/* ---- the switch's MAC table ---- */

static bool mac_is_group(const uint8_t *mac) {
    return (mac[0] & 1) != 0;
}

static int mac_lookup(const struct mg_sim_link *l, const uint8_t *mac) {
    for (unsigned i = 0; i < SIM_MAC_TABLE; i++)
        if (l->macs[i].used && memcmp(l->macs[i].mac, mac, MG_ETH_ALEN) == 0)
            return (int)l->macs[i].endpoint;
    return -1;
}

static void mac_learn(struct mg_sim_link *l, const uint8_t *mac, unsigned endpoint) {
    struct mac_entry *slot = NULL;
    for (unsigned i = 0; i < SIM_MAC_TABLE; i++) {
        if (l->macs[i].used && memcmp(l->macs[i].mac, mac, MG_ETH_ALEN) == 0) {
            l->macs[i].endpoint = endpoint; /* a MAC that moved */
            return;
        }
        if (!l->macs[i].used && !slot)
            slot = &l->macs[i];
    }
    if (!slot)
        return; /* table full: unknown MACs are flooded, which is still correct */
    memcpy(slot->mac, mac, MG_ETH_ALEN);
    slot->endpoint = endpoint;
    slot->used = true;
}

static void mac_forget_endpoint(struct mg_sim_link *l, unsigned endpoint) {
    for (unsigned i = 0; i < SIM_MAC_TABLE; i++)
        if (l->macs[i].used && l->macs[i].endpoint == endpoint)
            l->macs[i].used = false;
}

/* ---- offload emulation ---- */

/* Locates the IPv4 header and L4 segment of an untagged IPv4 frame. */
static bool locate_ipv4(const uint8_t *f, uint32_t len, uint32_t *l3_off, uint32_t *l3_len, uint32_t *l4_len,
                        uint8_t *proto) {
    if (len < MG_ETH_HDR_LEN + MG_IPV4_HDR_LEN || mg_be16_load(f + 12) != MG_ETHERTYPE_IPV4)
        return false;
    struct mg_ipv4_hdr ip;
    if (mg_ipv4_parse(f + MG_ETH_HDR_LEN, len - MG_ETH_HDR_LEN, false, &ip) != 0)
        return false;
    *l3_off = MG_ETH_HDR_LEN;
    *l3_len = ip.hdr_len;
    *l4_len = ip.total_len - ip.hdr_len;
    *proto = ip.proto;
    return !mg_ipv4_is_fragment(&ip);
}

/* What a NIC with transmit offloads does: fill the checksums the stack left to it. */
static void fill_tx_checksums(uint8_t *f, uint32_t len, uint32_t flags, uint32_t caps) {
    uint32_t l3_off, l3_len, l4_len;
    uint8_t proto;
    if (!(flags & (MG_BUF_TX_IP_CKSUM | MG_BUF_TX_TCP_CKSUM | MG_BUF_TX_UDP_CKSUM)))
        return;
    if (!locate_ipv4(f, len, &l3_off, &l3_len, &l4_len, &proto))
        return;
    uint8_t *ip = f + l3_off;
    if ((flags & MG_BUF_TX_IP_CKSUM) && (caps & MG_NETDEV_CAP_TX_IPV4_CKSUM)) {
        mg_be16_store(ip + 10, 0);
        mg_be16_store(ip + 10, mg_cksum(ip, l3_len));
    }
    uint8_t *l4 = ip + l3_len;
    /* The stack left the pseudo-header sum in the checksum field. */
    if ((flags & MG_BUF_TX_TCP_CKSUM) && (caps & MG_NETDEV_CAP_TX_TCP_CKSUM) && proto == MG_IPPROTO_TCP &&
        l4_len >= MG_TCP_HDR_LEN)
        mg_be16_store(l4 + 16, mg_cksum(l4, l4_len));
    if ((flags & MG_BUF_TX_UDP_CKSUM) && (caps & MG_NETDEV_CAP_TX_UDP_CKSUM) && proto == MG_IPPROTO_UDP &&
        l4_len >= MG_UDP_HDR_LEN) {
        uint16_t c = mg_cksum(l4, l4_len);
        mg_be16_store(l4 + 6, c ? c : 0xffff);
    }
}

/* What a NIC with receive offloads does: check the checksums and say so. */
static uint32_t rx_checksum_flags(const uint8_t *f, uint32_t len, uint32_t caps) {
    uint32_t l3_off, l3_len, l4_len, flags = 0;
    uint8_t proto;
    if (!(caps & (MG_NETDEV_CAP_RX_IPV4_CKSUM | MG_NETDEV_CAP_RX_TCP_CKSUM | MG_NETDEV_CAP_RX_UDP_CKSUM)))
        return 0;
    if (!locate_ipv4(f, len, &l3_off, &l3_len, &l4_len, &proto))
        return 0;
    const uint8_t *ip = f + l3_off;
    if (caps & MG_NETDEV_CAP_RX_IPV4_CKSUM)
        flags |= mg_cksum(ip, l3_len) == 0 ? MG_BUF_RX_IP_CKSUM_GOOD : MG_BUF_RX_IP_CKSUM_BAD;
    bool tcp = proto == MG_IPPROTO_TCP && (caps & MG_NETDEV_CAP_RX_TCP_CKSUM);
    bool udp = proto == MG_IPPROTO_UDP && (caps & MG_NETDEV_CAP_RX_UDP_CKSUM) && l4_len >= MG_UDP_HDR_LEN &&
               mg_be16_load(ip + l3_len + 6) != 0; /* zero: the sender sent no checksum */
    if (tcp || udp) {
        uint16_t c = mg_l4_cksum_ipv4(mg_be32_load(ip + 12), mg_be32_load(ip + 16), proto, ip + l3_len, l4_len);
        flags |= c == 0 ? MG_BUF_RX_L4_CKSUM_GOOD : MG_BUF_RX_L4_CKSUM_BAD;
    }
    return flags;
}

/* ---- sending ---- */

static void tap(struct mg_sim_link *l, enum mg_sim_tap_event ev, uint64_t t, unsigned from, unsigned to,
                const uint8_t *f, size_t len) {
    if (l->params.tap)
        l->params.tap(l->params.tap_ctx, ev, t, from, to, f, len);
}

/* Queues one copy of a frame toward `to`, arriving at `at`. */
static struct frame_event *enqueue(struct mg_sim_link *l, unsigned from, unsigned to, const uint8_t *f, uint32_t len,
                                   uint64_t at) {
    struct endpoint *dst = l->eps[to];
    struct frame_event *ev = event_get(l, len);
    if (!ev) {
        dst->stats.dropped_no_buf++;
        return NULL;
    }
    ev->time_ns = at;
    ev->seq = l->next_seq++;
    ev->from = from;
    ev->len = len;
    memcpy(ev->bytes, f, len);
    if (heap_push(dst, ev) != 0) {
        dst->stats.dropped_no_buf++;
        event_put(l, ev);
        return NULL;
    }
    return ev;
}

/* A direction with the fault model: it decides drop, copies, corruption and timing. */
static void send_faulty(struct mg_sim_link *l, struct path *p, unsigned from, unsigned to, const uint8_t *f,
                        uint32_t len, uint64_t now) {
    struct mg_fault_verdict v;
    mg_fault_decide(p->fault, now, len, &v);
    if (v.drop != MG_FAULT_KEEP) {
        l->eps[to]->stats.lost++;
        tap(l, MG_SIM_TAP_LOST, now, from, to, f, len);
        return;
    }
    if (v.copies > 1)
        tap(l, MG_SIM_TAP_DUPLICATED, now, from, to, f, len);
    for (unsigned i = 0; i < v.copies; i++) {
        struct frame_event *ev = enqueue(l, from, to, f, len, v.deliver_at_ns[i]);
        if (ev && i == 0 && v.corrupt) {
            ev->bytes[v.corrupt_bit / 8] ^= (uint8_t)(1u << (v.corrupt_bit % 8));
            tap(l, MG_SIM_TAP_CORRUPTED, now, from, to, ev->bytes, len);
        }
    }
}

static void send_to(struct mg_sim_link *l, unsigned from, unsigned to, const uint8_t *f, uint32_t len, uint64_t now) {
    struct path *p = path_of(l, from, to);
    tap(l, MG_SIM_TAP_SENT, now, from, to, f, len);
    if (p->fault) {
        send_faulty(l, p, from, to, f, len, now);
        return;
    }
    if (p->loss > 0 && mg_rand_unit(&l->rand) < p->loss) {
        l->eps[to]->stats.lost++;
        tap(l, MG_SIM_TAP_LOST, now, from, to, f, len);
        return;
    }
    enqueue(l, from, to, f, len, now + p->latency_ns);
}

static void switch_frame(struct mg_sim_link *l, struct endpoint *src, const uint8_t *f, uint32_t len) {
    uint64_t now = mg_clock_now(l->params.clock);
    tap(l, MG_SIM_TAP_TRANSMITTED, now, src->index, src->index, f, len);
    if (l->params.learn_macs && !mac_is_group(f + 6))
        mac_learn(l, f + 6, src->index);
    int target = mac_is_group(f) ? -1 : mac_lookup(l, f);
    if (target >= 0) {
        /* A switch never sends a frame back out of the port it came in on. */
        if ((unsigned)target != src->index && l->eps[target]->attached)
            send_to(l, src->index, (unsigned)target, f, len, now);
        return;
    }
    for (unsigned i = 0; i < l->n; i++)
        if (i != src->index && l->eps[i]->attached)
            send_to(l, src->index, i, f, len, now);
}

/* The frame as it goes on the wire: padded to the Ethernet minimum, with the checksums
 * the stack left to the NIC filled in. That is the buffer's own bytes when nothing is
 * to change (most frames), else a copy in the link's scratch buffer. NULL: no memory. */
static const uint8_t *wire_frame(struct mg_sim_link *l, const struct mg_buf *b, uint32_t caps) {
    bool offloaded = b->ol_flags & (MG_BUF_TX_IP_CKSUM | MG_BUF_TX_TCP_CKSUM | MG_BUF_TX_UDP_CKSUM);
    if (b->len >= ETH_MIN_FRAME && !offloaded)
        return b->data;
    uint32_t len = b->len < ETH_MIN_FRAME ? ETH_MIN_FRAME : b->len;
    if (l->scratch_room < len) {
        uint8_t *s = realloc(l->scratch, len);
        if (!s)
            return NULL;
        l->scratch = s;
        l->scratch_room = len;
    }
    memcpy(l->scratch, b->data, b->len);
    memset(l->scratch + b->len, 0, len - b->len);
    fill_tx_checksums(l->scratch, b->len, b->ol_flags, caps);
    return l->scratch;
}

static uint16_t ep_tx_burst(struct mg_netdev *dev, struct mg_buf **bufs, uint16_t n) {
    struct endpoint *ep = dev->priv;
    struct mg_sim_link *l = ep->link;
    uint32_t max_frame = (uint32_t)dev->mtu + MG_ETH_HDR_LEN + ETH_VLAN_ROOM;
    for (uint16_t i = 0; i < n; i++) {
        struct mg_buf *b = bufs[i];
        if (b->len < MG_ETH_HDR_LEN || b->len > max_frame) {
            ep->stats.dropped_too_big++;
            dev->stats.tx_dropped_too_big++;
            mg_buf_free(b);
            continue;
        }
        const uint8_t *f = wire_frame(l, b, dev->caps);
        if (!f) {
            dev->stats.tx_dropped_full++;
            mg_buf_free(b);
            continue;
        }
        ep->stats.sent++;
        dev->stats.tx_frames++;
        dev->stats.tx_bytes += b->len;
        switch_frame(l, ep, f, b->len < ETH_MIN_FRAME ? ETH_MIN_FRAME : b->len);
        mg_buf_free(b); /* after the switch copied it: f may be its bytes */
    }
    return n;
}

/* ---- receiving ---- */

static uint16_t ep_rx_burst(struct mg_netdev *dev, struct mg_buf **bufs, uint16_t n) {
    struct endpoint *ep = dev->priv;
    struct mg_sim_link *l = ep->link;
    if (ep->count == 0)
        return 0; /* the common case when a stack polls: nothing in flight toward it */
    uint64_t now = mg_clock_now(l->params.clock);
    uint16_t got = 0;
    while (got < n && ep->count > 0 && ep->heap[0]->time_ns <= now) {
        struct frame_event *ev = heap_pop(ep);
        struct mg_buf *b = mg_buf_alloc(dev->pool);
        if (!b || mg_buf_tailroom(b) < ev->len) {
            mg_buf_free(b);
            ep->stats.dropped_no_buf++;
            dev->stats.rx_dropped_no_buf++;
            tap(l, MG_SIM_TAP_NO_BUFFER, ev->time_ns, ev->from, ep->index, ev->bytes, ev->len);
            event_put(l, ev);
            continue;
        }
        memcpy(mg_buf_append(b, ev->len), ev->bytes, ev->len);
        b->ol_flags = rx_checksum_flags(b->data, b->len, dev->caps);
        ep->stats.delivered++;
        dev->stats.rx_frames++;
        dev->stats.rx_bytes += ev->len;
        tap(l, MG_SIM_TAP_DELIVERED, ev->time_ns, ev->from, ep->index, ev->bytes, ev->len);
        event_put(l, ev);
        bufs[got++] = b;
    }
    return got;
}

static uint64_t ep_next_rx_ns(struct mg_netdev *dev) {
    struct endpoint *ep = dev->priv;
    return ep->count > 0 ? ep->heap[0]->time_ns : UINT64_MAX;
}

static int ep_wait_fd(struct mg_netdev *dev) {
    (void)dev;
    return -1; /* virtual time: whoever drives the clock knows when frames arrive */
}

static void ep_detach(struct endpoint *ep) {
    if (!ep->attached)
        return;
    ep->attached = false;
    heap_clear(ep);
    mac_forget_endpoint(ep->link, ep->index);
    ep->stats.leaked_bufs = ep->dev.pool->in_use;
    mg_heap_pool_destroy(ep->dev.pool);
    ep->dev.pool = NULL;
}

static void ep_destroy(struct mg_netdev *dev) {
    ep_detach(dev->priv);
}

static const struct mg_netdev_ops sim_ops = {
    .rx_burst = ep_rx_burst,
    .tx_burst = ep_tx_burst,
    .next_rx_ns = ep_next_rx_ns,
    .wait_fd = ep_wait_fd,
    .destroy = ep_destroy,
};

/* ---- the link ---- */

int mg_sim_link_create(const struct mg_sim_link_params *params, struct mg_sim_link **out) {
    if (!params || !params->clock || !out || params->loss < 0 || params->loss > 1)
        return -EINVAL;
    struct mg_sim_link *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->params = *params;
    mg_rand_seed(&l->rand, params->seed);
    l->paths = malloc(SIM_MAX_ENDPOINTS * sizeof(*l->paths));
    if (!l->paths) {
        free(l);
        return -ENOMEM;
    }
    *out = l;
    return 0;
}

void mg_sim_link_destroy(struct mg_sim_link *l) {
    if (!l)
        return;
    for (unsigned i = 0; i < l->n; i++) {
        ep_detach(l->eps[i]);
        free(l->eps[i]);
    }
    for (unsigned i = 0; i < SIM_MAX_ENDPOINTS; i++)
        if (l->rows_ready & (1ull << i))
            for (unsigned j = 0; j < SIM_MAX_ENDPOINTS; j++)
                free(l->paths[i][j].fault);
    while (l->free_events) {
        struct frame_event *ev = l->free_events;
        l->free_events = ev->next_free;
        free(ev);
    }
    free(l->scratch);
    free(l->paths);
    free(l);
}

int mg_sim_link_add_endpoint(struct mg_sim_link *l, const struct mg_sim_endpoint_params *p,
                             struct mg_netdev **dev_out) {
    if (!l || !p || !dev_out)
        return -EINVAL;
    if (l->n == SIM_MAX_ENDPOINTS)
        return -ENOSPC;
    if (mac_is_group(p->mac))
        return -EINVAL;
    uint16_t mtu = p->mtu ? p->mtu : 1500;
    uint32_t bufs = p->pool_bufs ? p->pool_bufs : 1024;
    uint32_t size = p->buf_size ? p->buf_size : 2048;
    uint32_t headroom = p->headroom ? p->headroom : 128;
    if (size < headroom + (uint32_t)mtu + MG_ETH_HDR_LEN + ETH_VLAN_ROOM)
        return -EINVAL; /* a full-size frame must fit one buffer */
    struct endpoint *ep = calloc(1, sizeof(*ep));
    if (!ep)
        return -ENOMEM;
    ep->link = l;
    ep->index = l->n;
    ep->attached = true;
    struct mg_netdev *d = &ep->dev;
    d->ops = &sim_ops;
    if (p->name)
        snprintf(d->name, sizeof(d->name), "%s", p->name);
    else
        snprintf(d->name, sizeof(d->name), "sim%u", ep->index);
    memcpy(d->mac, p->mac, MG_ETH_ALEN);
    d->mtu = mtu;
    d->caps = p->caps;
    d->priv = ep;
    d->pool = mg_heap_pool_create(d->name, bufs, size, headroom);
    if (!d->pool) {
        free(ep);
        return -ENOMEM;
    }
    l->eps[l->n++] = ep;
    mac_learn(l, p->mac, ep->index); /* every endpoint's own MAC is known statically */
    *dev_out = d;
    return (int)ep->index;
}

unsigned mg_sim_link_endpoint_count(const struct mg_sim_link *l) {
    return l->n;
}

int mg_sim_link_set_path(struct mg_sim_link *l, unsigned from, unsigned to, uint64_t latency_ns, double loss) {
    if (from >= SIM_MAX_ENDPOINTS || to >= SIM_MAX_ENDPOINTS || !(loss >= 0 && loss <= 1))
        return -EINVAL;
    struct path *p = path_of(l, from, to);
    p->latency_ns = latency_ns;
    p->loss = loss;
    return 0;
}

int mg_sim_link_set_fault(struct mg_sim_link *l, unsigned from, unsigned to, const struct mg_fault_params *params,
                          uint64_t seed) {
    if (!l || from >= SIM_MAX_ENDPOINTS || to >= SIM_MAX_ENDPOINTS)
        return -EINVAL;
    struct path *p = path_of(l, from, to);
    if (!params) {
        free(p->fault);
        p->fault = NULL;
        return 0;
    }
    if (mg_fault_params_check(params) != 0)
        return -EINVAL;
    if (!p->fault && !(p->fault = malloc(sizeof(*p->fault))))
        return -ENOMEM;
    mg_fault_init(p->fault, params, seed);
    return 0;
}

int mg_sim_link_set_partition(struct mg_sim_link *l, unsigned from, unsigned to, bool partitioned) {
    if (!l || from >= SIM_MAX_ENDPOINTS || to >= SIM_MAX_ENDPOINTS)
        return -EINVAL;
    struct path *p = path_of(l, from, to);
    if (!p->fault) {
        struct mg_fault_params fp = {.loss = p->loss, .delay_ns = p->latency_ns};
        /* A seed of its own per direction, derived from the link's. */
        int rc = mg_sim_link_set_fault(l, from, to, &fp, l->params.seed ^ (0x9e3779b97f4a7c15ull * (from * 64u + to + 1)));
        if (rc)
            return rc;
    }
    mg_fault_set_partitioned(p->fault, partitioned);
    return 0;
}

const struct mg_fault_stats *mg_sim_link_fault_stats(const struct mg_sim_link *l, unsigned from, unsigned to) {
    if (!l || from >= SIM_MAX_ENDPOINTS || to >= SIM_MAX_ENDPOINTS || !(l->rows_ready & (1ull << from)) ||
        !l->paths[from][to].fault)
        return NULL;
    return &l->paths[from][to].fault->stats;
}

int mg_sim_link_set_egress(struct mg_sim_link *l, unsigned from, uint64_t latency_ns, double loss) {
    for (unsigned to = 0; to < SIM_MAX_ENDPOINTS; to++) {
        int rc = mg_sim_link_set_path(l, from, to, latency_ns, loss);
        if (rc)
            return rc;
    }
    return 0;
}

uint64_t mg_sim_link_next_delivery(const struct mg_sim_link *l) {
    uint64_t t = UINT64_MAX;
    for (unsigned i = 0; i < l->n; i++)
        if (l->eps[i]->count > 0 && l->eps[i]->heap[0]->time_ns < t)
            t = l->eps[i]->heap[0]->time_ns;
    return t;
}

size_t mg_sim_link_in_flight(const struct mg_sim_link *l) {
    size_t n = 0;
    for (unsigned i = 0; i < l->n; i++)
        n += l->eps[i]->count;
    return n;
}

const struct mg_sim_endpoint_stats *mg_sim_link_endpoint_stats(const struct mg_sim_link *l, unsigned index) {
    return index < l->n ? &l->eps[index]->stats : NULL;
}

void mg_sim_link_set_tap(struct mg_sim_link *l, mg_sim_tap_fn fn, void *ctx) {
    l->params.tap = fn;
    l->params.tap_ctx = ctx;
}
