/* inet/arp.c — the neighbour cache (RFC 826): which Ethernet address each on-link
 * IPv4 neighbour has.
 *
 * Entries are static (from the configuration: never expire, never replaced),
 * incomplete (a request is out; frames wait in a short queue), reachable (learned,
 * good for arp_cache_ttl_ns), probing (reachable once, its lifetime is over and it is
 * being checked) or failed (resolution gave up; remembered for one request interval
 * so a burst of sends does not become a burst of requests).
 *
 * A connection must not pay for an entry's expiry, so reachability is confirmed by
 * the traffic itself: a valid IPv4 datagram for us from the neighbour, carrying the
 * Ethernet address the entry holds, renews the entry's lifetime (mg_arp_confirm; it
 * never changes an address: only ARP does). An entry only expires when nothing came
 * from the neighbour for a whole lifetime, and even then frames keep going to the
 * known address while it is checked in the background, as RFC 1122 2.3.2.1 suggests:
 * unicast requests to that address, arp_request_retries + 1 of them one interval
 * apart; an answer, or traffic from the neighbour, makes it reachable again. Silence
 * makes it failed (the transports hear of it), but once an address is known, frames
 * are never held back nor refused for it: they go to the last known address, and the
 * first send after the failure's hold asks again by broadcast, in the background.
 * Under heavy loss a silent neighbour has far more likely lost our requests or its
 * answers than changed its address, and a new address is learned the moment any ARP
 * packet from it arrives; so a retransmission is never spent waiting for ARP. Only
 * frames to a neighbour never resolved wait for an answer (or are refused during the
 * hold after a failed resolution). The
 * table is a fixed array sized at creation with a hash index, so lookups on the
 * transmit path allocate nothing; when it is full the oldest dynamic entry goes.
 * Failure is reported to every registered transport (TCP fails its connects with
 * EHOSTUNREACH) from a timer, never from inside a send, so a transport is never
 * re-entered while it is transmitting. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inet/inet_priv.h"

#define ARP_BUCKETS 256u     /* power of two */
#define ARP_DYNAMIC_MAX 256u /* learned/pending entries besides the static ones */
/* Frames waiting for one resolution: enough for a largest UDP datagram in
 * fragments at a 1500-byte MTU (45 frames), so the first one to a new neighbour
 * is not lost whole. */
#define ARP_PENDING_MAX 48u
#define ARP_NIL (-1)

enum arp_state {
    ARP_FREE = 0,
    ARP_STATIC,
    ARP_INCOMPLETE,
    ARP_REACHABLE,
    ARP_FAILED,
    ARP_PROBING, /* known address, checked in the background while frames still use it */
};

struct arp_entry {
    struct mg_arp_cache *cache;
    uint32_t addr;
    uint8_t mac[MG_ETH_ALEN];
    uint8_t state;        /* enum arp_state */
    bool mac_known;       /* mac holds the address the neighbour last answered with */
    bool probe_broadcast; /* probing after a failure: ask everyone, the address may have moved */
    bool notify_pending;  /* failed: transports not told yet */
    uint32_t requests_sent;
    uint64_t expires_ns; /* reachable: TTL end; failed: when to forget the failure */
    uint64_t born;       /* creation order, for eviction */
    int32_t hash_next;
    struct mg_timer timer; /* incomplete: next retry; failed: notification */
    struct mg_buf *pend_head, *pend_tail;
    uint32_t pend_len;
};

struct mg_arp_cache {
    struct mg_inet *inet;
    struct arp_entry *entries;
    uint32_t cap, dynamic_count;
    uint32_t used; /* entries[used..cap) were never taken: walks stop at used */
    uint64_t next_born;
    int32_t buckets[ARP_BUCKETS];
};

static uint32_t bucket_of(uint32_t addr) {
    return (addr * 2654435761u) >> 24 & (ARP_BUCKETS - 1);
}

static struct arp_entry *find(struct mg_arp_cache *c, uint32_t addr) {
    for (int32_t i = c->buckets[bucket_of(addr)]; i != ARP_NIL; i = c->entries[i].hash_next)
        if (c->entries[i].addr == addr)
            return &c->entries[i];
    return NULL;
}

static void unlink_entry(struct mg_arp_cache *c, struct arp_entry *e) {
    int32_t idx = (int32_t)(e - c->entries);
    int32_t *link = &c->buckets[bucket_of(e->addr)];
    while (*link != ARP_NIL && *link != idx)
        link = &c->entries[*link].hash_next;
    if (*link == idx)
        *link = e->hash_next;
    e->hash_next = ARP_NIL;
}

static void drop_pending(struct mg_inet *inet, struct arp_entry *e) {
    while (e->pend_head) {
        struct mg_buf *b = e->pend_head;
        e->pend_head = b->next;
        b->next = NULL;
        mg_inet_drop(inet, MG_DROP_ARP_UNRESOLVED);
        mg_buf_free(b);
    }
    e->pend_tail = NULL;
    e->pend_len = 0;
}

static void remove_entry(struct mg_arp_cache *c, struct arp_entry *e) {
    mg_timer_cancel(&c->inet->timers, &e->timer);
    drop_pending(c->inet, e);
    unlink_entry(c, e);
    if (e->state != ARP_STATIC)
        c->dynamic_count--;
    e->state = ARP_FREE;
}

static struct arp_entry *oldest_dynamic(struct mg_arp_cache *c) {
    struct arp_entry *oldest = NULL;
    for (uint32_t i = 0; i < c->used; i++) {
        struct arp_entry *e = &c->entries[i];
        if (e->state != ARP_FREE && e->state != ARP_STATIC && (!oldest || e->born < oldest->born))
            oldest = e;
    }
    return oldest;
}

static void entry_timer_fired(struct mg_timer *t, void *arg);

/* A new entry for addr in the given state, evicting the oldest dynamic one when the
 * table is full. */
static struct arp_entry *insert(struct mg_arp_cache *c, uint32_t addr, enum arp_state state) {
    if (state != ARP_STATIC && c->dynamic_count >= ARP_DYNAMIC_MAX) {
        struct arp_entry *victim = oldest_dynamic(c);
        if (victim)
            remove_entry(c, victim);
    }
    struct arp_entry *e = NULL;
    for (uint32_t i = 0; i < c->cap && !e; i++)
        if (c->entries[i].state == ARP_FREE)
            e = &c->entries[i];
    if (!e)
        return NULL;
    if ((uint32_t)(e - c->entries) >= c->used)
        c->used = (uint32_t)(e - c->entries) + 1;
    memset(e, 0, sizeof(*e));
    e->cache = c;
    e->addr = addr;
    e->state = (uint8_t)state;
    e->born = c->next_born++;
    mg_timer_init(&e->timer, entry_timer_fired, e);
    uint32_t b = bucket_of(addr);
    e->hash_next = c->buckets[b];
    c->buckets[b] = (int32_t)(e - c->entries);
    if (state != ARP_STATIC)
        c->dynamic_count++;
    return e;
}

int mg_arp_create(struct mg_inet *inet, struct mg_arp_cache **out) {
    struct mg_arp_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    unsigned static_count = inet->cfg.arp_table_len;
    if (static_count > MG_CONFIG_MAX_ARP_ENTRIES)
        static_count = MG_CONFIG_MAX_ARP_ENTRIES;
    c->inet = inet;
    c->cap = static_count + ARP_DYNAMIC_MAX;
    c->entries = calloc(c->cap, sizeof(*c->entries));
    if (!c->entries) {
        free(c);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < ARP_BUCKETS; i++)
        c->buckets[i] = ARP_NIL;
    for (unsigned i = 0; i < static_count; i++) {
        const struct mg_config_arp_entry *s = &inet->cfg.arp_table[i];
        struct arp_entry *e = find(c, s->ipv4);
        if (!e)
            e = insert(c, s->ipv4, ARP_STATIC);
        memcpy(e->mac, s->mac, MG_ETH_ALEN); /* a later line for the same address wins */
    }
    *out = c;
    return 0;
}

void mg_arp_destroy(struct mg_arp_cache *c) {
    if (!c)
        return;
    for (uint32_t i = 0; i < c->used; i++) {
        struct arp_entry *e = &c->entries[i];
        if (e->state != ARP_FREE) {
            mg_timer_cancel(&c->inet->timers, &e->timer);
            while (e->pend_head) {
                struct mg_buf *b = e->pend_head;
                e->pend_head = b->next;
                mg_buf_free(b);
            }
        }
    }
    free(c->entries);
    free(c);
}

int mg_arp_lookup(struct mg_arp_cache *c, uint32_t addr, uint8_t mac[MG_ETH_ALEN]) {
    struct arp_entry *e = find(c, addr);
    if (!e || (e->state != ARP_STATIC && e->state != ARP_REACHABLE && e->state != ARP_PROBING))
        return -ENOENT;
    if (e->state == ARP_REACHABLE && mg_inet_now(c->inet) >= e->expires_ns)
        return -ENOENT;
    memcpy(mac, e->mac, MG_ETH_ALEN);
    return 0;
}

/* The configured request interval, never zero: a zero interval would re-fire the
 * retry timer forever within one poll. */
static uint64_t request_interval(const struct mg_inet *inet) {
    const uint64_t floor = MG_NS_PER_MS;
    return inet->cfg.arp_request_timeout_ns > floor ? inet->cfg.arp_request_timeout_ns : floor;
}

/* ---- packets we send ---- */

static void send_arp(struct mg_inet *inet, uint16_t op, const uint8_t *eth_dst, const uint8_t *tha, uint32_t tpa) {
    struct mg_buf *b = mg_inet_alloc_tx(inet);
    if (!b)
        return;
    uint8_t *p = mg_buf_append(b, MG_ETH_HDR_LEN + MG_ARP_LEN);
    if (!p) {
        mg_buf_free(b);
        return;
    }
    struct mg_eth_hdr eth = {.ethertype = MG_ETHERTYPE_ARP, .hdr_len = MG_ETH_HDR_LEN};
    memcpy(eth.dst, eth_dst, MG_ETH_ALEN);
    memcpy(eth.src, inet->mac, MG_ETH_ALEN);
    mg_eth_build(p, MG_ETH_HDR_LEN, &eth);
    struct mg_arp a = {.op = op, .spa = inet->ipv4_addr, .tpa = tpa};
    memcpy(a.sha, inet->mac, MG_ETH_ALEN);
    memcpy(a.tha, tha, MG_ETH_ALEN);
    mg_arp_build(p + MG_ETH_HDR_LEN, MG_ARP_LEN, &a);
    mg_inet_queue_frame(inet, b);
    if (op == MG_ARP_OP_REQUEST)
        inet->stats.arp_requests_sent++;
    else
        inet->stats.arp_replies_sent++;
}

/* A broadcast request while resolving; a unicast one to the known address while
 * probing an expired entry (RFC 1122 2.3.2.1: no broadcast to re-check a neighbour
 * we know), a broadcast again once such a check failed. */
static void send_request(struct mg_inet *inet, struct arp_entry *e) {
    static const uint8_t unknown[MG_ETH_ALEN] = {0};
    if (e->state == ARP_PROBING && !e->probe_broadcast)
        send_arp(inet, MG_ARP_OP_REQUEST, e->mac, e->mac, e->addr);
    else
        send_arp(inet, MG_ARP_OP_REQUEST, mg_eth_broadcast, unknown, e->addr);
    e->requests_sent++;
    mg_timer_arm(&inet->timers, &e->timer, mg_inet_now(inet) + request_interval(inet));
}

static void start_resolution(struct mg_inet *inet, struct arp_entry *e) {
    e->state = ARP_INCOMPLETE;
    e->requests_sent = 0;
    send_request(inet, e);
}

/* A frame is going to a neighbour whose address we know but whose entry is expired
 * (unicast probes) or failed (broadcast): check it while the frames keep using the
 * address. */
static void start_probe(struct mg_inet *inet, struct arp_entry *e, bool broadcast) {
    e->state = ARP_PROBING;
    e->probe_broadcast = broadcast;
    e->requests_sent = 0;
    send_request(inet, e);
}

/* ---- resolution outcome ---- */

static void notify_failure(struct mg_inet *inet, uint32_t addr) {
    for (int i = 0; i < MG_INET_L4_MAX; i++)
        if (inet->l4[i].neighbor_failed)
            inet->l4[i].neighbor_failed(inet->l4[i].ctx, addr);
}

/* Resolution gave up: drop what waited, remember the failure for one request
 * interval, tell the transports. */
static void fail_entry(struct mg_inet *inet, struct arp_entry *e) {
    inet->stats.arp_resolution_failures++;
    drop_pending(inet, e);
    e->state = ARP_FAILED;
    e->notify_pending = false;
    e->expires_ns = mg_inet_now(inet) + request_interval(inet);
    notify_failure(inet, e->addr);
}

static void entry_timer_fired(struct mg_timer *t, void *arg) {
    (void)t;
    struct arp_entry *e = arg;
    struct mg_inet *inet = e->cache->inet;
    if (e->state == ARP_INCOMPLETE || e->state == ARP_PROBING) {
        /* The first request plus arp_request_retries retries, each given one interval. */
        if (e->requests_sent <= inet->cfg.arp_request_retries)
            send_request(inet, e);
        else
            fail_entry(inet, e);
    } else if (e->state == ARP_FAILED && e->notify_pending) {
        e->notify_pending = false;
        notify_failure(inet, e->addr);
    }
}

static void resolved(struct mg_inet *inet, struct arp_entry *e, const uint8_t *mac) {
    mg_timer_cancel(&inet->timers, &e->timer);
    memcpy(e->mac, mac, MG_ETH_ALEN);
    e->mac_known = true;
    e->state = ARP_REACHABLE;
    e->expires_ns = mg_inet_now(inet) + inet->cfg.arp_cache_ttl_ns;
    /* Frames that waited go out in the order they were sent. */
    while (e->pend_head) {
        struct mg_buf *b = e->pend_head;
        e->pend_head = b->next;
        b->next = NULL;
        memcpy(b->data, mac, MG_ETH_ALEN);
        mg_inet_queue_frame(inet, b);
    }
    e->pend_tail = NULL;
    e->pend_len = 0;
}

/* ---- transmit path ---- */

static int queue_pending(struct mg_inet *inet, struct arp_entry *e, struct mg_buf *frame) {
    if (e->pend_len >= ARP_PENDING_MAX) {
        mg_inet_drop(inet, MG_DROP_ARP_PENDING_FULL);
        mg_buf_free(frame);
        return -ENOBUFS;
    }
    frame->next = NULL;
    if (e->pend_tail)
        e->pend_tail->next = frame;
    else
        e->pend_head = frame;
    e->pend_tail = frame;
    e->pend_len++;
    return 0;
}

static int refuse(struct mg_inet *inet, struct mg_buf *frame) {
    mg_inet_drop(inet, MG_DROP_ARP_UNRESOLVED);
    mg_buf_free(frame);
    return -EHOSTUNREACH;
}

/* With ARP disabled an unknown neighbour fails at once; the transports hear of it
 * from a timer due now (the next poll), not from inside their own send. */
static int fail_without_arp(struct mg_inet *inet, uint32_t next_hop, struct mg_buf *frame) {
    struct arp_entry *e = insert(inet->arp, next_hop, ARP_FAILED);
    if (e) {
        inet->stats.arp_resolution_failures++;
        e->notify_pending = true;
        e->expires_ns = mg_inet_now(inet) + request_interval(inet);
        mg_timer_arm(&inet->timers, &e->timer, mg_inet_now(inet));
    }
    return refuse(inet, frame);
}

/* Frames to a neighbour we do not know yet wait for the answer to a new request. */
static int resolve_then_send(struct mg_inet *inet, struct arp_entry *e, struct mg_buf *frame) {
    int rc = queue_pending(inet, e, frame);
    start_resolution(inet, e);
    return rc;
}

int mg_arp_output(struct mg_inet *inet, uint32_t next_hop, struct mg_buf *frame) {
    struct mg_arp_cache *c = inet->arp;
    uint64_t now = mg_inet_now(inet);
    struct arp_entry *e = find(c, next_hop);
    if (e && e->state == ARP_FAILED && now >= e->expires_ns) {
        /* The failure is old: ask again, in place, so the entry keeps the address it
         * last had (traffic from it can still confirm it, and frames use it). */
        if (inet->cfg.disable_arp) {
            remove_entry(c, e);
            e = NULL;
        } else if (!e->mac_known) {
            return resolve_then_send(inet, e, frame);
        } else {
            start_probe(inet, e, true);
        }
    }
    if (!e) {
        if (inet->cfg.disable_arp)
            return fail_without_arp(inet, next_hop, frame);
        e = insert(c, next_hop, ARP_INCOMPLETE);
        if (!e)
            return refuse(inet, frame);
        return resolve_then_send(inet, e, frame);
    }
    switch (e->state) {
    case ARP_REACHABLE:
        if (now >= e->expires_ns)
            start_probe(inet, e, false); /* the frame still goes out, to the address we know */
        break;
    case ARP_PROBING:
    case ARP_STATIC:
        break;
    case ARP_INCOMPLETE:
        return queue_pending(inet, e, frame);
    default: /* failed: within the hold, refused unless we know where it was */
        if (!e->mac_known)
            return refuse(inet, frame);
        break;
    }
    memcpy(frame->data, e->mac, MG_ETH_ALEN);
    mg_inet_queue_frame(inet, frame);
    return 0;
}

void mg_arp_confirm(struct mg_inet *inet, uint32_t src, const uint8_t *mac) {
    uint32_t hop = mg_inet_on_link(inet, src) ? src : inet->gateway;
    struct arp_entry *e = find(inet->arp, hop);
    if (!e || !e->mac_known || e->state == ARP_STATIC || memcmp(e->mac, mac, MG_ETH_ALEN) != 0)
        return;
    if (e->state == ARP_REACHABLE)
        e->expires_ns = mg_inet_now(inet) + inet->cfg.arp_cache_ttl_ns;
    else
        resolved(inet, e, mac); /* probing, failed or asking again: it is there after all */
}

/* ---- receive path ---- */

static bool mac_is_group(const uint8_t *mac) {
    return (mac[0] & 1) != 0;
}

/* RFC 826 merge: an ARP packet addressed to us teaches us its sender's address. */
static void learn(struct mg_inet *inet, uint32_t addr, const uint8_t *mac) {
    /* With ARP disabled only the configured table counts. */
    if (inet->cfg.disable_arp || mg_inet_is_bad_source(inet, addr) || !mg_inet_on_link(inet, addr))
        return;
    struct arp_entry *e = find(inet->arp, addr);
    if (e && e->state == ARP_STATIC)
        return;
    if (!e) {
        e = insert(inet->arp, addr, ARP_REACHABLE);
        if (!e)
            return;
    }
    resolved(inet, e, mac);
}

void mg_arp_input(struct mg_inet *inet, struct mg_buf *buf) {
    struct mg_arp a;
    int rc = mg_arp_parse(buf->data, buf->len, &a);
    if (rc == -EPROTONOSUPPORT || (rc == 0 && a.op != MG_ARP_OP_REQUEST && a.op != MG_ARP_OP_REPLY)) {
        mg_inet_drop(inet, MG_DROP_ARP_UNSUPPORTED);
    } else if (rc != 0 || mac_is_group(a.sha)) {
        mg_inet_drop(inet, MG_DROP_ARP_MALFORMED);
    } else if (a.tpa != inet->ipv4_addr || memcmp(a.sha, inet->mac, MG_ETH_ALEN) == 0) {
        mg_inet_drop(inet, MG_DROP_ARP_NOT_FOR_US);
    } else {
        learn(inet, a.spa, a.sha);
        if (a.op == MG_ARP_OP_REQUEST)
            send_arp(inet, MG_ARP_OP_REPLY, a.sha, a.sha, a.spa);
    }
    mg_buf_free(buf);
}
