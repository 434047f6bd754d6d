/* fuzz/stack_harness.c — the stack-in-a-box the whole-stack and TCP state-machine
 * targets share (see stack_harness.h). */
#include "fuzz/stack_harness.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "fuzz/arena.h"
#include "fuzz/fuzz_common.h"
#include "inet/ipv4_reass.h"

const uint8_t fh_local_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
const uint8_t fh_peer_mac[6] = {0x02, 0, 0, 0, 0, 0x02};

/* The pool of the current execution. It lives in the fuzz arena (fuzz/arena.h) like
 * the stack, so a snapshot restores it with the buffers the stack held. Buffers are
 * carved from the arena on first use, and a free buffer's descriptor and storage are
 * poisoned, so AddressSanitizer reports a use after mg_buf_free or a second free. */
struct fh_pool_slot {
    struct fh_pool_slot *next_free;
    uint8_t pad[8];
    struct mg_buf buf;
};

struct fh_pool {
    struct mg_pool pool;
    struct fh_pool_slot *free_head;
    uint32_t carved;
};

static struct mg_pool *fh_pool;
static bool fh_no_snapshot; /* FUZZ_NO_SNAPSHOT=1: build every input's state afresh */
static bool fh_digest;      /* FUZZ_DIGEST=1: print a digest of what the stack sent */

static struct mg_buf *fh_pool_alloc(struct mg_pool *p) {
    struct fh_pool *fp = (struct fh_pool *)p;
    struct fh_pool_slot *s = fp->free_head;
    if (s != NULL) {
        fp->free_head = s->next_free;
        fa_unpoison(&s->buf, sizeof(s->buf));
        fa_unpoison(s->buf.base, s->buf.cap);
        return &s->buf;
    }
    if (fp->carved >= FH_POOL_BUFFERS)
        return NULL;
    fp->carved++;
    s = fa_alloc(sizeof(*s), true, FA_HARNESS);
    s->buf.base = fa_alloc(p->data_room, false, FA_HARNESS);
    s->buf.cap = p->data_room;
    s->buf.pool = p;
    return &s->buf;
}

static void fh_pool_release(struct mg_pool *p, struct mg_buf *b) {
    struct fh_pool *fp = (struct fh_pool *)p;
    struct fh_pool_slot *s = (struct fh_pool_slot *)((uint8_t *)b - offsetof(struct fh_pool_slot, buf));
    fa_poison(b->base, b->cap);
    fa_poison(b, sizeof(*b));
    s->next_free = fp->free_head;
    fp->free_head = s;
}

static const struct mg_pool_ops fh_pool_ops = {.alloc = fh_pool_alloc, .release = fh_pool_release};

/* An environment switch: set, and neither empty nor "0". */
static bool env_on(const char *name) {
    const char *v = getenv(name);
    return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
}

void fh_global_init(void) {
    fa_init();
    fh_no_snapshot = env_on("FUZZ_NO_SNAPSHOT");
    fh_digest = env_on("FUZZ_DIGEST");
}

bool fh_begin(void) {
    fa_set_active(true);
    if (!fh_no_snapshot && fa_snapshot_restore())
        return true;
    fa_reset();
    struct fh_pool *fp = fa_alloc(sizeof(*fp), true, FA_HARNESS);
    fp->pool.ops = &fh_pool_ops;
    fp->pool.name = "fuzz";
    fp->pool.data_room = 2048;
    fp->pool.headroom = 128;
    fh_pool = &fp->pool;
    return false;
}

void *fh_alloc_root(size_t size) {
    return fa_alloc(size, true, FA_HARNESS);
}

void fh_snapshot(void) {
    if (!fh_no_snapshot)
        fa_snapshot_take();
}

static uint16_t fh_rx_burst(struct mg_netdev *dev, struct mg_buf **bufs, uint16_t n) {
    struct fh *h = dev->priv;
    uint16_t i = 0;
    while (i < n && h->rx_head != h->rx_tail)
        bufs[i++] = h->rxq[h->rx_head++ % FH_RXQ];
    return i;
}

struct fh_view *fh_view(struct fh *h, uint16_t lport, uint16_t rport) {
    for (unsigned i = 0; i < FH_MAX_VIEWS; i++)
        if (h->views[i].used && h->views[i].lport == lport && h->views[i].rport == rport)
            return &h->views[i];
    return NULL;
}

static struct fh_view *view_for_update(struct fh *h, uint16_t lport, uint16_t rport) {
    struct fh_view *v = fh_view(h, lport, rport);
    if (v)
        return v;
    unsigned victim = 0;
    for (unsigned i = 0; i < FH_MAX_VIEWS; i++) {
        if (!h->views[i].used) {
            victim = i;
            break;
        }
        if (h->views[i].segs < h->views[victim].segs)
            victim = i;
    }
    v = &h->views[victim];
    memset(v, 0, sizeof(*v));
    v->used = true;
    v->lport = lport;
    v->rport = rport;
    return v;
}

#define SEQ_GT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)
#define SEQ_LT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)

/* Checks one TCP segment the stack sent and records it in the connection's view. */
static void track_tcp(struct fh *h, const struct mg_ipv4_hdr *ip, const uint8_t *seg, size_t len) {
    if (mg_l4_cksum_ipv4(ip->src, ip->dst, MG_IPPROTO_TCP, seg, len) != 0)
        fuzz_fail("the stack sent a TCP segment with a bad checksum");
    struct mg_tcp_hdr th;
    if (mg_tcp_parse(seg, len, &th) != 0)
        fuzz_fail("the stack sent a TCP segment it cannot parse itself");
    if ((th.flags & MG_TCP_SYN) && (th.flags & MG_TCP_FIN))
        fuzz_fail("the stack sent SYN+FIN");
    struct fh_view *v = view_for_update(h, th.sport, th.dport);
    uint32_t seglen = (uint32_t)(len - th.hdr_len) + !!(th.flags & MG_TCP_SYN) + !!(th.flags & MG_TCP_FIN);
    if (th.flags & MG_TCP_RST) {
        v->last_flags = th.flags;
        return;
    }
    if (th.flags & MG_TCP_SYN) {
        v->iss = th.seq;
        v->snd_max = th.seq + seglen;
    } else if (v->segs == 0 || SEQ_GT(th.seq + seglen, v->snd_max)) {
        v->snd_max = th.seq + seglen;
    }
    if (th.flags & MG_TCP_ACK) {
        v->ack = th.ack;
        v->ack_valid = true;
    }
    /* SACK blocks (RFC 2018) describe data held above the cumulative ACK. */
    for (unsigned i = 0; i < th.opts.num_sack_blocks; i++) {
        const struct mg_tcp_sack_block *sb = &th.opts.sack[i];
        if (!(th.flags & MG_TCP_ACK) || !SEQ_LT(sb->left, sb->right) || !SEQ_GT(sb->left, th.ack))
            fuzz_fail("the stack sent SACK block %u..%u with ACK %u", sb->left, sb->right, th.ack);
    }
    v->window = th.window;
    if (th.opts.has_timestamp)
        v->ts_val = th.opts.ts_val;
    v->last_flags = th.flags;
    v->segs++;
}

/* A fragment the stack sends (ipv4_frag.c): never TCP, DF clear, every piece but the
 * last a multiple of 8 bytes, nothing past 65535. Its transport header and checksum
 * cover the whole datagram, so they are not checked piece by piece. */
static void check_tx_fragment(const struct mg_ipv4_hdr *ip, size_t l4len) {
    uint32_t off = (uint32_t)(ip->frag & MG_IPV4_OFFMASK) * 8;
    bool more = (ip->frag & MG_IPV4_MF) != 0;
    if (ip->proto == MG_IPPROTO_TCP || (ip->frag & MG_IPV4_DF))
        fuzz_fail("the stack sent a fragment of protocol %u with flags 0x%04x", ip->proto, ip->frag);
    if ((more && (l4len == 0 || l4len % 8 != 0)) || ip->hdr_len + off + l4len > 65535)
        fuzz_fail("the stack sent a malformed fragment (offset %u, %zu bytes)", off, l4len);
}

/* Every frame the stack sends must be one it would itself accept as well formed. */
static void check_tx_frame(struct fh *h, const struct mg_buf *b) {
    struct mg_eth_hdr eh;
    if (mg_eth_parse(b->data, b->len, &eh) != 0)
        fuzz_fail("the stack sent a malformed Ethernet frame (%u bytes)", b->len);
    if (b->len > (uint32_t)h->dev.mtu + MG_ETH_HDR_LEN)
        fuzz_fail("the stack sent a %u-byte frame past the MTU", b->len);
    if (eh.ethertype == MG_ETHERTYPE_ARP) {
        struct mg_arp a;
        if (mg_arp_parse(b->data + eh.hdr_len, b->len - eh.hdr_len, &a) != 0)
            fuzz_fail("the stack sent a malformed ARP packet");
        return;
    }
    if (eh.ethertype != MG_ETHERTYPE_IPV4)
        fuzz_fail("the stack sent ethertype 0x%04x", eh.ethertype);
    struct mg_ipv4_hdr ip;
    const uint8_t *p = b->data + eh.hdr_len;
    if (mg_ipv4_parse(p, b->len - eh.hdr_len, true, &ip) != 0)
        fuzz_fail("the stack sent a malformed IPv4 header");
    if (ip.src != FH_LOCAL_IP)
        fuzz_fail("the stack sent from address 0x%08x", ip.src);
    const uint8_t *l4 = p + ip.hdr_len;
    size_t l4len = ip.total_len - ip.hdr_len;
    if (mg_ipv4_is_fragment(&ip)) {
        check_tx_fragment(&ip, l4len);
        return;
    }
    if (ip.proto == MG_IPPROTO_TCP) {
        track_tcp(h, &ip, l4, l4len);
    } else if (ip.proto == MG_IPPROTO_UDP) {
        struct mg_udp_hdr uh;
        if (mg_udp_parse(l4, l4len, &uh) != 0 ||
            (uh.cksum && mg_l4_cksum_ipv4(ip.src, ip.dst, MG_IPPROTO_UDP, l4, uh.len) != 0))
            fuzz_fail("the stack sent a malformed UDP datagram");
    } else if (ip.proto == MG_IPPROTO_ICMP) {
        struct mg_icmp_hdr ih;
        if (mg_icmp_parse(l4, l4len, true, &ih) != 0)
            fuzz_fail("the stack sent a malformed ICMP message");
    } else {
        fuzz_fail("the stack sent IP protocol %u", ip.proto);
    }
}

/* FNV-1a over every frame the stack sends: two runs of one input must agree. */
static void digest_frame(struct fh *h, const struct mg_buf *b) {
    uint64_t d = h->tx_digest ? h->tx_digest : 0xcbf29ce484222325ull;
    for (uint32_t i = 0; i < b->len; i++)
        d = (d ^ b->data[i]) * 0x100000001b3ull;
    h->tx_digest = d;
}

static uint16_t fh_tx_burst(struct mg_netdev *dev, struct mg_buf **bufs, uint16_t n) {
    struct fh *h = dev->priv;
    for (uint16_t i = 0; i < n; i++) {
        check_tx_frame(h, bufs[i]);
        if (fh_digest)
            digest_frame(h, bufs[i]);
        mg_buf_free(bufs[i]);
        h->tx_frames++;
    }
    return n;
}

static const struct mg_netdev_ops fh_ops = {.rx_burst = fh_rx_burst, .tx_burst = fh_tx_burst};

void fh_setup(struct fh *h, void (*tweak)(struct mg_config *cfg)) {
    memset(h, 0, sizeof(*h));
    mg_clock_init_manual(&h->clock, 1000 * MG_NS_PER_S);
    h->dev.ops = &fh_ops;
    snprintf(h->dev.name, sizeof(h->dev.name), "fuzz");
    memcpy(h->dev.mac, fh_local_mac, 6);
    h->dev.mtu = 1500;
    h->dev.pool = fh_pool;
    h->dev.priv = h;
    struct mg_config cfg;
    mg_config_defaults(&cfg);
    cfg.local_ipv4_addr = FH_LOCAL_IP;
    cfg.arp_table[0].ipv4 = FH_PEER_IP;
    memcpy(cfg.arp_table[0].mac, fh_peer_mac, 6);
    cfg.arp_table_len = 1;
    cfg.tcp_checksum_offload = false;
    cfg.udp_checksum_offload = false;
    cfg.tcp_send_buffer = FH_SNDBUF;
    cfg.tcp_recv_buffer = FH_RCVBUF;
    cfg.tcp_ooo_max_segments = FH_OOO_MAX;
    cfg.tcp_max_connections = FH_MAX_CONNS;
    cfg.tcp_syn_backlog = 8;
    /* One arena buffer (64 KiB) for reassembled datagrams past a pool buffer: the
     * arena is part of the snapshot restored before every input. */
    cfg.ipv4_reassembly_large_buffers = 1;
    if (tweak)
        tweak(&cfg);
    if (mg_inet_create(&cfg, &h->dev, &h->clock, 42, &h->inet) != 0)
        fuzz_fail("mg_inet_create failed");
    if (mg_tcp_layer_create(h->inet, &h->tcp) != 0 || mg_udp_layer_create(h->inet, &h->udp) != 0)
        fuzz_fail("cannot create the transport layers");
    h->peer_ts = 5000;
}

bool fh_app_may_send(const struct fh *h) {
    return h->dev.pool->in_use < FH_APP_BUDGET;
}

void fh_check(struct fh *h) {
    char why[256] = "";
    if (mg_tcp_check_invariants(h->tcp, why, sizeof(why)) != 0)
        fuzz_fail("TCP invariant broken: %s", why);
    if (mg_tcp_connection_count(h->tcp) > FH_MAX_CONNS + 8)
        fuzz_fail("%u connections, past the configured %u", mg_tcp_connection_count(h->tcp), FH_MAX_CONNS);
    if (fa_stack_live_bytes() > FH_MEM_BOUND)
        fuzz_fail("the stack holds %llu bytes of heap (bound %u): unbounded growth",
                  (unsigned long long)fa_stack_live_bytes(), FH_MEM_BOUND);
    if (fh_pool->in_use > FH_BUF_BOUND)
        fuzz_fail("the stack holds %u buffers (bound %u): unbounded buffering", fh_pool->in_use, FH_BUF_BOUND);
    const struct mg_config *cfg = &h->inet->cfg;
    if (mg_ipv4_reass_pending(h->inet->reass) > cfg->ipv4_reassembly_max_datagrams ||
        mg_ipv4_reass_buffers_held(h->inet->reass) > cfg->ipv4_reassembly_max_buffers)
        fuzz_fail("reassembly holds %u datagrams and %u buffers, past its bounds (%u, %u)",
                  mg_ipv4_reass_pending(h->inet->reass), mg_ipv4_reass_buffers_held(h->inet->reass),
                  cfg->ipv4_reassembly_max_datagrams, cfg->ipv4_reassembly_max_buffers);
}

void fh_teardown(struct fh *h) {
    fh_check(h);
    mg_inet_flush(h->inet);
    mg_udp_layer_destroy(h->udp);
    mg_tcp_layer_destroy(h->tcp);
    /* Every reassembled datagram the transports held is back in the arena (the
     * arena's storage goes with the stack, so a lost one would not show as a leak). */
    if (mg_ipv4_reass_arena_in_use(h->inet->reass) != 0)
        fuzz_fail("%u reassembly arena buffers leaked", mg_ipv4_reass_arena_in_use(h->inet->reass));
    mg_inet_destroy(h->inet, false);
    while (h->rx_head != h->rx_tail)
        mg_buf_free(h->rxq[h->rx_head++ % FH_RXQ]);
    if (fh_pool->in_use != 0)
        fuzz_fail("%u buffers leaked (not back in the pool after teardown)", fh_pool->in_use);
    if (fa_stack_live_blocks() != 0)
        fuzz_fail("%llu blocks (%llu bytes) the stack allocated are still live after teardown: leaked",
                  (unsigned long long)fa_stack_live_blocks(), (unsigned long long)fa_stack_live_bytes());
    if (fh_digest)
        printf("fuzz-digest %016llx frames %llu\n", (unsigned long long)h->tx_digest,
               (unsigned long long)h->tx_frames);
    fa_set_active(false);
}

void fh_queue_frame(struct fh *h, const uint8_t *frame, size_t len) {
    if (h->rx_tail - h->rx_head >= FH_RXQ || len > 2048 - 128)
        return;
    struct mg_buf *b = mg_buf_alloc(fh_pool);
    if (b == NULL)
        return;
    uint8_t *p = mg_buf_append(b, (uint32_t)len);
    if (p == NULL) {
        mg_buf_free(b);
        return;
    }
    memcpy(p, frame, len);
    h->rxq[h->rx_tail++ % FH_RXQ] = b;
}

static void store16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

void fh_fix_frame(uint8_t *frame, size_t len, bool addresses, bool checksums) {
    if (len < MG_ETH_HDR_LEN)
        return;
    if (addresses) {
        memcpy(frame, fh_local_mac, 6);
        memcpy(frame + 6, fh_peer_mac, 6);
    }
    if (frame[12] != 0x08 || frame[13] != 0x00 || len < MG_ETH_HDR_LEN + MG_IPV4_HDR_LEN)
        return;
    uint8_t *ip = frame + MG_ETH_HDR_LEN;
    size_t iplen = len - MG_ETH_HDR_LEN;
    if (addresses) {
        struct mg_ipv4_hdr tmp = {.src = FH_PEER_IP, .dst = FH_LOCAL_IP};
        uint8_t hdr[MG_IPV4_HDR_LEN];
        mg_ipv4_build(hdr, sizeof(hdr), &tmp, false);
        memcpy(ip + 12, hdr + 12, 8);
    }
    if (!checksums)
        return;
    ip[0] = (uint8_t)(0x40 | (ip[0] & 0x0f));
    size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
    if (ihl < MG_IPV4_HDR_LEN || ihl > iplen || iplen > 0xffff)
        return;
    store16(ip + 2, (uint16_t)iplen);
    store16(ip + 10, 0);
    store16(ip + 10, mg_cksum(ip, ihl));
    uint8_t *l4 = ip + ihl;
    size_t l4len = iplen - ihl;
    struct mg_ipv4_hdr hdr;
    if (mg_ipv4_parse(ip, iplen, true, &hdr) != 0 || mg_ipv4_is_fragment(&hdr))
        return;
    if (hdr.proto == MG_IPPROTO_TCP && l4len >= MG_TCP_HDR_LEN) {
        store16(l4 + 16, 0);
        store16(l4 + 16, mg_l4_cksum_ipv4(hdr.src, hdr.dst, MG_IPPROTO_TCP, l4, l4len));
    } else if (hdr.proto == MG_IPPROTO_UDP && l4len >= MG_UDP_HDR_LEN) {
        store16(l4 + 4, (uint16_t)l4len);
        store16(l4 + 6, 0);
        uint16_t c = mg_l4_cksum_ipv4(hdr.src, hdr.dst, MG_IPPROTO_UDP, l4, l4len);
        store16(l4 + 6, c ? c : 0xffff);
    } else if (hdr.proto == MG_IPPROTO_ICMP && l4len >= MG_ICMP_HDR_LEN) {
        store16(l4 + 2, 0);
        store16(l4 + 2, mg_cksum(l4, l4len));
    }
}

void fh_queue_tcp(struct fh *h, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                  uint16_t window, const struct mg_tcp_opts *opts, const uint8_t *payload, uint32_t len) {
    uint8_t frame[1514];
    struct mg_tcp_hdr th;
    memset(&th, 0, sizeof(th));
    th.sport = sport;
    th.dport = dport;
    th.seq = seq;
    th.ack = ack;
    th.flags = flags;
    th.window = window;
    if (opts)
        th.opts = *opts;
    size_t thl = MG_TCP_HDR_LEN + mg_tcp_opts_len(&th.opts);
    size_t room = sizeof(frame) - MG_ETH_HDR_LEN - MG_IPV4_HDR_LEN - thl;
    if (len > room)
        len = (uint32_t)room;
    size_t total = MG_ETH_HDR_LEN + MG_IPV4_HDR_LEN + thl + len;
    struct mg_eth_hdr eh = {.ethertype = MG_ETHERTYPE_IPV4};
    mg_eth_build(frame, MG_ETH_HDR_LEN, &eh);
    struct mg_ipv4_hdr ih = {.hdr_len = MG_IPV4_HDR_LEN, .ttl = 64, .proto = MG_IPPROTO_TCP};
    mg_ipv4_build(frame + MG_ETH_HDR_LEN, MG_IPV4_HDR_LEN, &ih, false);
    uint8_t *tp = frame + MG_ETH_HDR_LEN + MG_IPV4_HDR_LEN;
    mg_tcp_build(tp, thl, &th);
    if (len)
        memcpy(tp + thl, payload, len);
    fh_fix_frame(frame, total, true, true);
    fh_queue_frame(h, frame, total);
}

void fh_run(struct fh *h, uint64_t ns) {
    mg_clock_advance(&h->clock, ns);
    mg_inet_poll(h->inet);
    for (int guard = 0; h->rx_head != h->rx_tail && guard < FH_RXQ; guard++)
        mg_inet_poll(h->inet);
    mg_inet_flush(h->inet);
}
