/* inet/ipv4_reass.c — IPv4 fragment reassembly (RFC 791 section 3.2, RFC 815).
 *
 * Why it looks like this:
 * - A datagram being reassembled is a slot in a table sized at start-up
 *   (ipv4_reassembly_max_datagrams), keyed by (source, destination, protocol, id).
 *   Its fragments stay in the device buffers they arrived in, in a list sorted by
 *   offset (buf->next; buf->user holds the fragment's offset), so nothing is copied
 *   until the datagram is complete; then it is copied once into one buffer. That
 *   buffer comes from the device's pool when the datagram fits one of its buffers,
 *   and otherwise from the reassembly arena: a pool of
 *   ipv4_reassembly_large_buffers buffers of ipv4_reassembly_max_bytes each, made
 *   at start-up (one allocation whose pages are touched only when used), so no
 *   datagram ever costs a malloc.
 * - Overlapping fragments drop the whole datagram (as RFC 5722 asks for IPv6 and as
 *   modern stacks do for IPv4): overlaps have no legitimate use and are how
 *   firewall-evasion and "teardrop" attacks work. An exact duplicate (same offset,
 *   same length) is only a retransmitted or duplicated frame: it is dropped alone.
 * - Every bound an attacker could push on is configured: datagrams at once (the
 *   oldest is evicted when a new one needs a slot), fragments per datagram,
 *   fragment buffers held in all (so fragments can never starve the device's pool),
 *   the reassembled size, and a timeout on the stack's timer service (default 30 s,
 *   as Linux), after which an ICMP "fragment reassembly time exceeded" (RFC 792) is
 *   sent when the first fragment had arrived.
 * - Drops are counted per frame, each reason under its own counter, so every frame
 *   received is either part of a delivered datagram or counted once. */
#include "inet/ipv4_reass.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "inet/inet.h"
#include "inet/inet_priv.h"
#include "wire/be.h"

#define IPV4_MAX_LEN 65535u

struct reass_dgram {
    struct mg_ipv4_reass *r;
    bool used;
    uint8_t proto;
    uint16_t id;
    uint32_t src, dst;
    struct mg_buf *frags; /* sorted by offset; data at the fragment's payload */
    uint32_t nfrags;
    uint32_t bytes; /* payload bytes held (fragments never overlap) */
    uint32_t end;   /* payload length, known once the last fragment came */
    bool have_last;
    uint16_t first_hdr_len; /* IP header length of the offset-0 fragment; 0 = not yet */
    uint64_t born_ns;       /* first fragment's arrival: the oldest is evicted first */
    struct mg_timer timer;
};

struct mg_ipv4_reass {
    struct mg_inet *inet;
    struct reass_dgram *slots;
    uint32_t nslots, active;
    uint32_t max_frags, max_buffers, max_bytes;
    uint64_t timeout_ns;
    uint32_t buffers_held;
    struct mg_pool *arena; /* NULL when every allowed datagram fits a device buffer */
};

/* A fragment's place in its datagram (buf->data at its payload). */
static uint32_t frag_off(const struct mg_buf *b) {
    return (uint32_t)b->user;
}
static uint32_t frag_end(const struct mg_buf *b) {
    return (uint32_t)b->user + b->len;
}

/* ---- creation ---- */

static uint32_t or_default(uint32_t v, uint32_t def) {
    return v ? v : def;
}

/* The arena is needed only when a datagram we accept may not fit a device buffer. */
static int create_arena(struct mg_ipv4_reass *r, const struct mg_config *cfg) {
    const struct mg_pool *dev_pool = r->inet->dev->pool;
    uint32_t headroom = dev_pool->headroom;
    if ((uint64_t)headroom + r->max_bytes <= dev_pool->data_room || cfg->ipv4_reassembly_large_buffers == 0)
        return 0;
    r->arena =
        mg_heap_pool_create("ipv4_reassembly", cfg->ipv4_reassembly_large_buffers, headroom + r->max_bytes, headroom);
    return r->arena ? 0 : -ENOMEM;
}

int mg_ipv4_reass_create(struct mg_inet *inet, struct mg_ipv4_reass **out) {
    const struct mg_config *cfg = &inet->cfg;
    *out = NULL;
    if (cfg->ipv4_reassembly_max_datagrams == 0)
        return 0;
    struct mg_ipv4_reass *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->inet = inet;
    r->nslots = cfg->ipv4_reassembly_max_datagrams;
    /* Zero means "default" for the bounds, so a configuration built by hand without
     * mg_config_defaults still gets sane limits. */
    r->max_frags = or_default(cfg->ipv4_reassembly_max_fragments, 64);
    r->max_buffers = or_default(cfg->ipv4_reassembly_max_buffers, 256);
    r->max_bytes = or_default(cfg->ipv4_reassembly_max_bytes, IPV4_MAX_LEN);
    if (r->max_bytes > IPV4_MAX_LEN)
        r->max_bytes = IPV4_MAX_LEN;
    r->timeout_ns = cfg->ipv4_reassembly_timeout_ns ? cfg->ipv4_reassembly_timeout_ns : 30ull * MG_NS_PER_S;
    r->slots = calloc(r->nslots, sizeof(*r->slots));
    if (!r->slots || create_arena(r, cfg) != 0) {
        free(r->slots);
        free(r);
        return -ENOMEM;
    }
    *out = r;
    return 0;
}

/* ---- dropping ---- */

/* Frees a datagram's fragments, counting each as dropped for `why`, and frees its slot. */
static void drop_dgram(struct mg_ipv4_reass *r, struct reass_dgram *d, enum mg_inet_drop why, bool count) {
    while (d->frags) {
        struct mg_buf *b = d->frags;
        d->frags = b->next;
        b->next = NULL;
        if (count)
            mg_inet_drop(r->inet, why);
        mg_buf_free(b);
    }
    r->buffers_held -= d->nfrags;
    mg_timer_cancel(&r->inet->timers, &d->timer);
    d->used = false;
    d->nfrags = 0;
    r->active--;
}

void mg_ipv4_reass_destroy(struct mg_ipv4_reass *r) {
    if (!r)
        return;
    for (uint32_t i = 0; i < r->nslots; i++)
        if (r->slots[i].used)
            drop_dgram(r, &r->slots[i], MG_DROP_IPV4_REASS_TIMEOUT, false);
    mg_heap_pool_destroy(r->arena);
    free(r->slots);
    free(r);
}

static void drop_frame(struct mg_ipv4_reass *r, struct mg_buf *buf, enum mg_inet_drop why) {
    mg_inet_drop(r->inet, why);
    mg_buf_free(buf);
}

/* RFC 792: time exceeded, code 1, quoting the first fragment — only when it came,
 * since only it carries the transport header the sender needs to match. */
static void send_time_exceeded(struct mg_ipv4_reass *r, const struct reass_dgram *d) {
    const struct mg_buf *first = d->frags;
    if (!d->first_hdr_len || !first || frag_off(first) != 0)
        return;
    mg_inet_icmp_send_error(r->inet, first->data - d->first_hdr_len, d->first_hdr_len + first->len,
                            MG_ICMP_TIME_EXCEEDED, 1);
}

static void on_timeout(struct mg_timer *t, void *arg) {
    (void)t;
    struct reass_dgram *d = arg;
    send_time_exceeded(d->r, d);
    drop_dgram(d->r, d, MG_DROP_IPV4_REASS_TIMEOUT, true);
}

/* ---- the table ---- */

static struct reass_dgram *find_dgram(struct mg_ipv4_reass *r, const struct mg_ipv4_hdr *ip) {
    if (r->active == 0)
        return NULL;
    /* A linear scan: the table is small, and only fragments ever look in it. */
    for (uint32_t i = 0; i < r->nslots; i++) {
        struct reass_dgram *d = &r->slots[i];
        if (d->used && d->id == ip->id && d->src == ip->src && d->dst == ip->dst && d->proto == ip->proto)
            return d;
    }
    return NULL;
}

/* The datagram that has waited longest, other than `keep` (NULL if none). */
static struct reass_dgram *oldest_dgram(struct mg_ipv4_reass *r, const struct reass_dgram *keep) {
    struct reass_dgram *old = NULL;
    for (uint32_t i = 0; i < r->nslots; i++) {
        struct reass_dgram *d = &r->slots[i];
        if (d->used && d != keep && (!old || d->born_ns < old->born_ns))
            old = d;
    }
    return old;
}

static struct reass_dgram *free_slot(struct mg_ipv4_reass *r) {
    for (uint32_t i = 0; i < r->nslots; i++)
        if (!r->slots[i].used)
            return &r->slots[i];
    return NULL;
}

/* A slot for a new datagram, evicting the oldest when the table is full. NULL when
 * its timer cannot be armed (the fragment is then dropped by the caller). */
static struct reass_dgram *new_dgram(struct mg_ipv4_reass *r, const struct mg_ipv4_hdr *ip) {
    if (r->active == r->nslots)
        drop_dgram(r, oldest_dgram(r, NULL), MG_DROP_IPV4_REASS_EVICTED, true);
    struct reass_dgram *d = free_slot(r);
    if (!d)
        return NULL; /* cannot happen: a slot was just freed */
    memset(d, 0, sizeof(*d));
    d->r = r;
    d->src = ip->src;
    d->dst = ip->dst;
    d->id = ip->id;
    d->proto = ip->proto;
    d->born_ns = mg_inet_now(r->inet);
    mg_timer_init(&d->timer, on_timeout, d);
    if (mg_timer_arm(&r->inet->timers, &d->timer, d->born_ns + r->timeout_ns) != 0)
        return NULL;
    d->used = true;
    r->active++;
    return d;
}

/* ---- one fragment ---- */

/* Checks that need no state: a non-last fragment must carry a non-zero multiple of
 * 8 bytes (RFC 791), and no fragment may reach past the largest IPv4 datagram. */
static enum mg_inet_drop check_alone(const struct mg_ipv4_hdr *ip, uint32_t off, uint32_t len, bool more) {
    if (more && (len == 0 || len % 8 != 0))
        return MG_DROP_IPV4_FRAG_BAD_LENGTH;
    if ((uint64_t)ip->hdr_len + off + len > IPV4_MAX_LEN)
        return MG_DROP_IPV4_FRAG_PAST_64K;
    return MG_DROP__COUNT;
}

/* Checks against what the datagram already holds: where it ends, and how many
 * fragments it may have. MG_DROP__COUNT when the fragment may be inserted. */
static enum mg_inet_drop check_against(const struct mg_ipv4_reass *r, const struct reass_dgram *d, uint32_t off,
                                       uint32_t len, bool more) {
    uint32_t end = off + len;
    if ((uint64_t)MG_IPV4_HDR_LEN + end > r->max_bytes)
        return MG_DROP_IPV4_REASS_TOO_BIG;
    if (!more) {
        if (d->have_last && d->end != end)
            return MG_DROP_IPV4_FRAG_BAD_END;
        for (const struct mg_buf *b = d->frags; b; b = b->next)
            if (frag_end(b) > end)
                return MG_DROP_IPV4_FRAG_BAD_END;
    } else if (d->have_last && end > d->end) {
        return MG_DROP_IPV4_FRAG_BAD_END;
    }
    if (d->nfrags >= r->max_frags)
        return MG_DROP_IPV4_FRAG_TOO_MANY;
    return MG_DROP__COUNT;
}

/* Where the fragment [off, off+len) goes in the sorted list: *link is the pointer to
 * update. Returns MG_DROP_IPV4_FRAG_DUPLICATE for an exact duplicate,
 * MG_DROP_IPV4_FRAG_OVERLAP when it overlaps a held fragment, MG_DROP__COUNT when
 * it fits. A zero-length last fragment overlaps nothing it merely touches. */
static enum mg_inet_drop find_place(struct reass_dgram *d, uint32_t off, uint32_t len, struct mg_buf ***link) {
    struct mg_buf **l = &d->frags;
    struct mg_buf *prev = NULL;
    while (*l && frag_off(*l) <= off) {
        prev = *l;
        l = &(*l)->next;
    }
    if (prev && frag_off(prev) == off && prev->len == len)
        return MG_DROP_IPV4_FRAG_DUPLICATE;
    if (prev && frag_end(prev) > off)
        return MG_DROP_IPV4_FRAG_OVERLAP;
    if (prev && prev->len == 0 && frag_off(prev) == off)
        return MG_DROP_IPV4_FRAG_OVERLAP; /* a second piece at an empty last fragment's offset */
    if (*l && off + len > frag_off(*l))
        return MG_DROP_IPV4_FRAG_OVERLAP;
    *link = l;
    return MG_DROP__COUNT;
}

/* Makes room in the global fragment budget by evicting the oldest other datagrams.
 * false when only `d` itself holds buffers. */
static bool make_budget(struct mg_ipv4_reass *r, struct reass_dgram *d) {
    while (r->buffers_held >= r->max_buffers) {
        struct reass_dgram *old = oldest_dgram(r, d);
        if (!old)
            return false;
        drop_dgram(r, old, MG_DROP_IPV4_REASS_EVICTED, true);
    }
    return true;
}

static void insert(struct mg_ipv4_reass *r, struct reass_dgram *d, struct mg_buf **link, struct mg_buf *buf,
                   const struct mg_ipv4_hdr *ip, uint32_t off, bool more) {
    mg_buf_pull(buf, ip->hdr_len); /* the header stays in front, for the first fragment */
    buf->user = off;
    buf->next = *link;
    *link = buf;
    d->nfrags++;
    d->bytes += buf->len;
    r->buffers_held++;
    if (off == 0)
        d->first_hdr_len = ip->hdr_len;
    if (!more) {
        d->have_last = true;
        d->end = off + buf->len;
    }
}

/* ---- assembly ---- */

static struct mg_buf *alloc_assembly(struct mg_ipv4_reass *r, uint32_t total) {
    struct mg_pool *pool = r->inet->dev->pool;
    if ((uint64_t)pool->headroom + total <= pool->data_room)
        return mg_buf_alloc(pool);
    return r->arena && (uint64_t)r->arena->headroom + total <= r->arena->data_room ? mg_buf_alloc(r->arena) : NULL;
}

/* The first fragment's header, rewritten for the whole datagram: its length, no
 * fragment flags or offset (DF kept), a fresh checksum. */
static void rewrite_header(uint8_t *p, uint16_t hdr_len, uint16_t total, struct mg_ipv4_hdr *ip) {
    mg_be16_store(p + 2, total);
    mg_be16_store(p + 6, (uint16_t)(mg_be16_load(p + 6) & MG_IPV4_DF));
    mg_be16_store(p + 10, 0);
    mg_be16_store(p + 10, mg_cksum(p, hdr_len));
    ip->total_len = total;
    ip->frag &= MG_IPV4_DF;
    ip->hdr_len = hdr_len;
}

/* Copies a complete datagram into one buffer and frees its slot. NULL (counted)
 * when it is too large or no buffer is free. */
static struct mg_buf *assemble(struct mg_ipv4_reass *r, struct reass_dgram *d, struct mg_ipv4_hdr *ip) {
    uint32_t total = d->first_hdr_len + d->end;
    if (total > IPV4_MAX_LEN || total > r->max_bytes) {
        enum mg_inet_drop why = total > IPV4_MAX_LEN ? MG_DROP_IPV4_FRAG_PAST_64K : MG_DROP_IPV4_REASS_TOO_BIG;
        drop_dgram(r, d, why, true);
        return NULL;
    }
    struct mg_buf *out = alloc_assembly(r, total);
    if (!out) {
        drop_dgram(r, d, MG_DROP_IPV4_REASS_NO_BUFFER, true);
        return NULL;
    }
    uint8_t *p = mg_buf_append(out, total);
    memcpy(p, d->frags->data - d->first_hdr_len, d->first_hdr_len);
    for (const struct mg_buf *b = d->frags; b; b = b->next)
        memcpy(p + d->first_hdr_len + frag_off(b), b->data, b->len);
    /* The first fragment's header describes the datagram (RFC 791: options copied
     * only into the first fragment live there). */
    struct mg_ipv4_hdr first;
    mg_ipv4_parse(p, total, false, &first); /* was valid on arrival; total >= its old length */
    *ip = first;
    rewrite_header(p, d->first_hdr_len, (uint16_t)total, ip);
    drop_dgram(r, d, MG_DROP__COUNT, false);
    return out;
}

struct mg_buf *mg_ipv4_reass_input(struct mg_ipv4_reass *r, struct mg_buf *buf, struct mg_ipv4_hdr *ip) {
    uint32_t off = (uint32_t)(ip->frag & MG_IPV4_OFFMASK) * 8;
    uint32_t len = (uint32_t)ip->total_len - ip->hdr_len;
    bool more = (ip->frag & MG_IPV4_MF) != 0;
    struct reass_dgram *d = find_dgram(r, ip);
    enum mg_inet_drop why = check_alone(ip, off, len, more);
    if (why != MG_DROP__COUNT) {
        /* A malformed fragment poisons its datagram: drop what it holds too. */
        if (d)
            drop_dgram(r, d, why, true);
        drop_frame(r, buf, why);
        return NULL;
    }
    if (!d && !(d = new_dgram(r, ip))) {
        drop_frame(r, buf, MG_DROP_IPV4_REASS_NO_BUFFER);
        return NULL;
    }
    struct mg_buf **link = NULL;
    why = check_against(r, d, off, len, more);
    if (why == MG_DROP__COUNT)
        why = find_place(d, off, len, &link);
    if (why == MG_DROP_IPV4_FRAG_DUPLICATE) {
        drop_frame(r, buf, why); /* the datagram goes on without it */
        return NULL;
    }
    if (why == MG_DROP__COUNT && !make_budget(r, d))
        why = MG_DROP_IPV4_REASS_NO_BUFFER;
    if (why != MG_DROP__COUNT) {
        drop_dgram(r, d, why, true);
        drop_frame(r, buf, why);
        return NULL;
    }
    insert(r, d, link, buf, ip, off, more);
    if (!d->have_last || d->bytes != d->end)
        return NULL;
    /* Fragments never overlap and all lie inside [0, end): their lengths adding up
     * to end means every byte is there. */
    return assemble(r, d, ip);
}

uint32_t mg_ipv4_reass_pending(const struct mg_ipv4_reass *r) {
    return r ? r->active : 0;
}
uint32_t mg_ipv4_reass_buffers_held(const struct mg_ipv4_reass *r) {
    return r ? r->buffers_held : 0;
}
uint32_t mg_ipv4_reass_arena_in_use(const struct mg_ipv4_reass *r) {
    return r && r->arena ? r->arena->in_use : 0;
}
