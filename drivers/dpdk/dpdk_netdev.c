/* drivers/dpdk/dpdk_netdev.c — struct mg_netdev over one DPDK ethdev port: one RX
 * and one TX queue, burst receive and transmit, checksum offloads, and zero copy.
 *
 * Zero copy: the port's mempool is created with a private area per mbuf that holds
 * the struct mg_buf describing that mbuf (base = the mbuf's buffer, dev_priv = the
 * mbuf), so the stack's packet buffers *are* the NIC's mbufs. The mg_buf is the
 * truth while the stack holds a buffer; at the device boundary the driver copies
 * data/len into the mbuf (transmit) or out of it (receive).
 *
 * Reference counts: mg_buf.refcnt counts the stack's references; the mbuf's refcnt
 * counts DPDK's. Transmitting gives one stack reference to the device:
 *  - the stack's last reference, mbuf idle: the mbuf itself goes to the PMD, which
 *    frees it into the mempool after sending (the mg_buf is then released);
 *  - the stack keeps other references (TCP holding data for retransmission): the
 *    mbuf's refcnt is raised by one before rte_eth_tx_burst, so the PMD's free after
 *    sending and the stack's last mg_buf_free each drop one and whichever is last
 *    returns it to the mempool. The stack must not change the bytes meanwhile;
 *  - the mbuf is still in flight from an earlier transmit (a retransmission before
 *    the NIC finished the first copy): the frame is copied into a fresh mbuf, since
 *    one mbuf cannot carry two different offsets; counted in stats.tx_copies.
 * Buffers that do not come from a DPDK pool (heap buffers) are copied too.
 * On receive an mbuf whose refcnt is above one is still held by a sender in this
 * process (net_ring between two ports): its mg_buf belongs to that sender's stack,
 * so the frame is copied into a fresh mbuf before the stack sees it. */
#include "config.h"

#include "drivers/dpdk/dpdk_netdev.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "inet/netdev.h"

#define MG_DPDK_PRIV_SIZE RTE_ALIGN_CEIL(sizeof(struct mg_buf), RTE_MBUF_PRIV_ALIGN)
#define MG_DPDK_MIN_DATAROOM 2048u
#define MG_DPDK_TX_FLAGS (MG_BUF_TX_IP_CKSUM | MG_BUF_TX_TCP_CKSUM | MG_BUF_TX_UDP_CKSUM)

struct dpdk_pool {
    struct mg_pool pool;
    struct rte_mempool *mp;
};

struct dpdk_netdev {
    struct mg_netdev dev;
    struct dpdk_pool pool;
    uint16_t port;
    uint32_t max_frame;   /* MTU + Ethernet header */
    uint64_t rx_offloads; /* enabled on the port */
    uint64_t tx_offloads;
    uint32_t tx_hw_flags; /* MG_BUF_TX_* the port does itself */
    uint64_t rx_dropped_multiseg, rx_copies, tx_dropped_bad, tx_sw_cksum;
    char pool_name[RTE_MEMPOOL_NAMESIZE];
};

/* Ports opened in this process (DPDK's port table is process-wide too). */
static pthread_mutex_t ports_lock = PTHREAD_MUTEX_INITIALIZER;
static bool port_open[RTE_MAX_ETHPORTS];
static unsigned pool_serial;

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- the pool: mg_bufs living in mbuf private areas ---- */

static inline struct mg_buf *mbuf_to_buf(struct rte_mbuf *m) {
    return (struct mg_buf *)rte_mbuf_to_priv(m);
}

static struct mg_buf *dpdk_pool_alloc(struct mg_pool *p) {
    struct dpdk_pool *dp = (struct dpdk_pool *)p;
    struct rte_mbuf *m = rte_pktmbuf_alloc(dp->mp);
    return m ? mbuf_to_buf(m) : NULL;
}

static void dpdk_pool_release(struct mg_pool *p, struct mg_buf *b) {
    (void)p;
    rte_pktmbuf_free((struct rte_mbuf *)b->dev_priv);
}

static const struct mg_pool_ops dpdk_pool_ops = {.alloc = dpdk_pool_alloc, .release = dpdk_pool_release};

static bool is_dpdk_buf(const struct mg_buf *b) {
    return b->pool && b->pool->ops == &dpdk_pool_ops;
}

/* rte_mempool_obj_iter callback: ties each mbuf to its mg_buf once, at creation. */
static void init_mbuf_buf(struct rte_mempool *mp, void *opaque, void *obj, unsigned idx) {
    (void)mp;
    (void)idx;
    struct rte_mbuf *m = obj;
    struct mg_buf *b = mbuf_to_buf(m);
    memset(b, 0, sizeof(*b));
    b->base = m->buf_addr;
    b->cap = m->buf_len;
    b->data = b->base + RTE_PKTMBUF_HEADROOM;
    b->pool = opaque;
    b->dev_priv = m;
}

/* True when m carries an mg_buf set up by init_mbuf_buf (PMDs such as net_ring may
 * hand over mbufs from pools margay did not create). */
static bool mbuf_has_buf(struct rte_mbuf *m) {
    return rte_pktmbuf_priv_size(m->pool) >= MG_DPDK_PRIV_SIZE && mbuf_to_buf(m)->dev_priv == m &&
           is_dpdk_buf(mbuf_to_buf(m));
}

/* ---- offload translation ---- */

uint32_t mg_dpdk_rx_flags_from_mbuf(uint64_t f) {
    uint32_t out = 0;
    /* NONE means "wrong in the packet but the integrity was verified": good. */
    switch (f & RTE_MBUF_F_RX_IP_CKSUM_MASK) {
    case RTE_MBUF_F_RX_IP_CKSUM_GOOD:
    case RTE_MBUF_F_RX_IP_CKSUM_NONE:
        out |= MG_BUF_RX_IP_CKSUM_GOOD;
        break;
    case RTE_MBUF_F_RX_IP_CKSUM_BAD:
        out |= MG_BUF_RX_IP_CKSUM_BAD;
        break;
    default:
        break;
    }
    switch (f & RTE_MBUF_F_RX_L4_CKSUM_MASK) {
    case RTE_MBUF_F_RX_L4_CKSUM_GOOD:
    case RTE_MBUF_F_RX_L4_CKSUM_NONE:
        out |= MG_BUF_RX_L4_CKSUM_GOOD;
        break;
    case RTE_MBUF_F_RX_L4_CKSUM_BAD:
        out |= MG_BUF_RX_L4_CKSUM_BAD;
        break;
    default:
        break;
    }
    return out;
}

uint64_t mg_dpdk_tx_flags_to_mbuf(uint32_t f) {
    uint64_t out = 0;
    if (f & MG_DPDK_TX_FLAGS)
        out |= RTE_MBUF_F_TX_IPV4;
    if (f & MG_BUF_TX_IP_CKSUM)
        out |= RTE_MBUF_F_TX_IP_CKSUM;
    if (f & MG_BUF_TX_TCP_CKSUM)
        out |= RTE_MBUF_F_TX_TCP_CKSUM;
    else if (f & MG_BUF_TX_UDP_CKSUM)
        out |= RTE_MBUF_F_TX_UDP_CKSUM;
    return out;
}

/* Checks the header lengths the stack gave for an offload request against the frame. */
static bool offload_meta_valid(const struct mg_buf *b, uint32_t want) {
    uint32_t l4_min = (want & MG_BUF_TX_TCP_CKSUM)   ? sizeof(struct rte_tcp_hdr)
                      : (want & MG_BUF_TX_UDP_CKSUM) ? sizeof(struct rte_udp_hdr)
                                                     : 0;
    if ((want & MG_BUF_TX_TCP_CKSUM) && (want & MG_BUF_TX_UDP_CKSUM))
        return false;
    if (b->l2_len < RTE_ETHER_HDR_LEN || b->l3_len < sizeof(struct rte_ipv4_hdr))
        return false;
    if ((uint32_t)b->l2_len + b->l3_len + l4_min > b->len)
        return false;
    const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(b->data + b->l2_len);
    if ((ip->version_ihl >> 4) != 4 || rte_ipv4_hdr_len(ip) != b->l3_len)
        return false;
    if (l4_min && (uint32_t)b->l2_len + rte_be_to_cpu_16(ip->total_length) > b->len)
        return false;
    if (l4_min && rte_be_to_cpu_16(ip->total_length) < b->l3_len + l4_min)
        return false;
    return true;
}

/* Fills in software the checksums the port cannot, in the frame at `frame` (the
 * same layout as b's data). */
static void sw_checksums(uint8_t *frame, const struct mg_buf *b, uint32_t sw) {
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + b->l2_len);
    uint8_t *l4 = (uint8_t *)ip + b->l3_len;
    if (sw & MG_BUF_TX_IP_CKSUM) {
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
    }
    if (sw & MG_BUF_TX_TCP_CKSUM) {
        struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)l4;
        tcp->cksum = 0;
        tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
    } else if (sw & MG_BUF_TX_UDP_CKSUM) {
        struct rte_udp_hdr *udp = (struct rte_udp_hdr *)l4;
        udp->dgram_cksum = 0;
        udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
    }
}

/* ---- receive ---- */

static struct mg_buf *rx_copy(struct dpdk_netdev *dd, struct rte_mbuf *m) {
    struct rte_mbuf *c = rte_pktmbuf_alloc(dd->pool.mp);
    if (!c) {
        dd->dev.stats.rx_dropped_no_buf++;
        rte_pktmbuf_free(m);
        return NULL;
    }
    char *dst = rte_pktmbuf_append(c, m->data_len);
    if (!dst) {
        rte_pktmbuf_free(c);
        rte_pktmbuf_free(m);
        dd->rx_dropped_multiseg++;
        return NULL;
    }
    memcpy(dst, rte_pktmbuf_mtod(m, const void *), m->data_len);
    c->ol_flags = m->ol_flags;
    rte_pktmbuf_free(m);
    dd->rx_copies++;
    return mbuf_to_buf(c);
}

static struct mg_buf *rx_one(struct dpdk_netdev *dd, struct rte_mbuf *m) {
    if (m->nb_segs != 1) {
        dd->rx_dropped_multiseg++;
        rte_pktmbuf_free(m);
        return NULL;
    }
    uint64_t mflags = m->ol_flags;
    struct rte_mbuf *own = m;
    if (rte_mbuf_refcnt_read(m) != 1 || !mbuf_has_buf(m)) {
        struct mg_buf *c = rx_copy(dd, m);
        if (!c)
            return NULL;
        own = c->dev_priv;
    }
    struct mg_buf *b = mbuf_to_buf(own);
    b->data = rte_pktmbuf_mtod(own, uint8_t *);
    b->len = own->data_len;
    b->refcnt = 1;
    b->magic = MG_BUF_MAGIC;
    b->ol_flags = mg_dpdk_rx_flags_from_mbuf(mflags);
    b->l2_len = b->l3_len = 0;
    b->next = NULL;
    b->user = 0;
    b->pool->allocs++;
    b->pool->in_use++;
    dd->dev.stats.rx_frames++;
    dd->dev.stats.rx_bytes += b->len;
    return b;
}

static uint16_t dpdk_rx_burst(struct mg_netdev *dev, struct mg_buf **bufs, uint16_t n) {
    struct dpdk_netdev *dd = dev->priv;
    uint16_t got = 0;
    while (got < n) {
        struct rte_mbuf *mbufs[MG_DPDK_BURST];
        uint16_t want = (uint16_t)RTE_MIN(n - got, MG_DPDK_BURST);
        uint16_t nb = rte_eth_rx_burst(dd->port, 0, mbufs, want);
        for (uint16_t i = 0; i < nb; i++) {
            struct mg_buf *b = rx_one(dd, mbufs[i]);
            if (b)
                bufs[got++] = b;
        }
        if (nb < want)
            break;
    }
    return got;
}

/* ---- transmit ---- */

enum tx_kind { TX_HANDOVER, TX_SHARED, TX_COPY, TX_DROP };

struct tx_slot {
    struct mg_buf *b;
    struct rte_mbuf *m;
    enum tx_kind kind;
    uint64_t *drop_counter;
};

/* Sets the mbuf's offload fields from b, filling in software what the port lacks. */
static int tx_offloads(struct dpdk_netdev *dd, struct mg_buf *b, struct rte_mbuf *m) {
    uint32_t want = b->ol_flags & MG_DPDK_TX_FLAGS;
    m->ol_flags = 0;
    if (!want)
        return 0;
    if (!offload_meta_valid(b, want))
        return -EINVAL;
    uint32_t sw = want & ~dd->tx_hw_flags;
    if (sw) {
        sw_checksums(rte_pktmbuf_mtod(m, uint8_t *), b, sw);
        dd->tx_sw_cksum++;
    }
    uint32_t hw = want & dd->tx_hw_flags;
    if (hw) {
        m->l2_len = b->l2_len;
        m->l3_len = b->l3_len;
        m->ol_flags = mg_dpdk_tx_flags_to_mbuf(hw);
    }
    return 0;
}

static bool frame_in_bounds(const struct mg_buf *b) {
    return b->len > 0 && b->data >= b->base && b->data + b->len <= b->base + b->cap;
}

/* Decides how b goes out and readies its mbuf. False when no mbuf could be had for a
 * copy: b and those after it stay with the caller. */
static bool tx_prepare_one(struct dpdk_netdev *dd, struct mg_buf *b, struct tx_slot *s) {
    s->b = b;
    s->m = NULL;
    s->drop_counter = NULL;
    if (!frame_in_bounds(b)) {
        s->kind = TX_DROP;
        s->drop_counter = &dd->tx_dropped_bad;
        return true;
    }
    if (b->len > dd->max_frame) {
        s->kind = TX_DROP;
        s->drop_counter = &dd->dev.stats.tx_dropped_too_big;
        return true;
    }
    struct rte_mbuf *m = is_dpdk_buf(b) ? b->dev_priv : NULL;
    if (m && rte_mbuf_refcnt_read(m) == 1) {
        s->kind = b->refcnt == 1 ? TX_HANDOVER : TX_SHARED;
        if (s->kind == TX_SHARED)
            rte_mbuf_refcnt_update(m, 1);
        m->data_off = (uint16_t)(b->data - (uint8_t *)m->buf_addr);
        m->data_len = (uint16_t)b->len;
        m->pkt_len = b->len;
    } else {
        m = rte_pktmbuf_alloc(dd->pool.mp);
        if (!m) {
            dd->pool.pool.alloc_failures++;
            return false;
        }
        char *dst = rte_pktmbuf_append(m, (uint16_t)b->len);
        if (!dst) { /* cannot happen: max_frame fits the data room */
            rte_pktmbuf_free(m);
            s->kind = TX_DROP;
            s->drop_counter = &dd->dev.stats.tx_dropped_too_big;
            return true;
        }
        memcpy(dst, b->data, b->len);
        s->kind = TX_COPY;
    }
    s->m = m;
    if (tx_offloads(dd, b, m) != 0) {
        if (s->kind == TX_SHARED)
            rte_mbuf_refcnt_update(m, -1);
        else if (s->kind == TX_COPY)
            rte_pktmbuf_free(m);
        s->m = NULL;
        s->kind = TX_DROP;
        s->drop_counter = &dd->tx_dropped_bad;
    }
    return true;
}

/* The device took the frame: settle the stack's reference. */
static void tx_finish(struct dpdk_netdev *dd, struct tx_slot *s) {
    struct mg_buf *b = s->b;
    if (s->kind == TX_DROP) {
        (*s->drop_counter)++;
        mg_buf_free(b);
        return;
    }
    dd->dev.stats.tx_frames++;
    dd->dev.stats.tx_bytes += b->len;
    switch (s->kind) {
    case TX_HANDOVER:
        /* The PMD frees the mbuf; the mg_buf is released now, as mg_buf_free would. */
        b->refcnt = 0;
        b->magic = 0;
        b->pool->frees++;
        b->pool->in_use--;
        break;
    case TX_SHARED:
        b->refcnt--;
        break;
    case TX_COPY:
        dd->dev.stats.tx_copies++;
        mg_buf_free(b);
        break;
    case TX_DROP:
        break;
    }
}

/* The device did not take the frame: the caller keeps b as it was. */
static void tx_undo(struct tx_slot *s) {
    if (s->kind == TX_SHARED)
        rte_mbuf_refcnt_update(s->m, -1);
    else if (s->kind == TX_COPY)
        rte_pktmbuf_free(s->m);
}

static uint16_t tx_chunk(struct dpdk_netdev *dd, struct mg_buf **bufs, uint16_t n) {
    struct tx_slot slots[MG_DPDK_BURST];
    struct rte_mbuf *mbufs[MG_DPDK_BURST];
    uint16_t slot_of[MG_DPDK_BURST];
    uint16_t prepared = 0, nm = 0;
    for (uint16_t i = 0; i < n; i++) {
        if (!tx_prepare_one(dd, bufs[i], &slots[i]))
            break;
        prepared++;
        if (slots[i].kind != TX_DROP) {
            slot_of[nm] = i;
            mbufs[nm++] = slots[i].m;
        }
    }
    uint16_t ok = nm;
    if (dd->tx_offloads && nm)
        ok = rte_eth_tx_prepare(dd->port, 0, mbufs, nm);
    uint16_t sent = ok ? rte_eth_tx_burst(dd->port, 0, mbufs, ok) : 0;
    uint16_t taken = prepared;
    if (sent < ok) {
        taken = slot_of[sent];
        dd->dev.stats.tx_dropped_full += (uint64_t)(nm - sent);
    } else if (ok < nm) {
        /* rte_eth_tx_prepare refused mbufs[ok]: drop that frame, keep the rest back. */
        struct tx_slot *bad = &slots[slot_of[ok]];
        tx_undo(bad);
        bad->kind = TX_DROP;
        bad->drop_counter = &dd->tx_dropped_bad;
        taken = (uint16_t)(slot_of[ok] + 1);
    }
    for (uint16_t i = 0; i < taken; i++)
        tx_finish(dd, &slots[i]);
    for (uint16_t i = taken; i < prepared; i++)
        tx_undo(&slots[i]);
    return taken;
}

static uint16_t dpdk_tx_burst(struct mg_netdev *dev, struct mg_buf **bufs, uint16_t n) {
    struct dpdk_netdev *dd = dev->priv;
    uint16_t taken = 0;
    while (taken < n) {
        uint16_t chunk = (uint16_t)RTE_MIN(n - taken, MG_DPDK_BURST);
        uint16_t t = tx_chunk(dd, bufs + taken, chunk);
        taken += t;
        if (t < chunk)
            break;
    }
    return taken;
}

/* ---- set-up and tear-down ---- */

static void release_port(uint16_t port) {
    pthread_mutex_lock(&ports_lock);
    port_open[port] = false;
    pthread_mutex_unlock(&ports_lock);
}

/* Frees the mempool if every mbuf is back; otherwise keeps it (freeing memory the
 * NIC or another port still uses would corrupt it) and says how many are out. */
static unsigned free_pool_if_idle(struct dpdk_netdev *dd) {
    if (!dd->pool.mp)
        return 0;
    unsigned out = rte_mempool_in_use_count(dd->pool.mp);
    if (out == 0)
        rte_mempool_free(dd->pool.mp);
    else
        MG_WARN("dpdk", "%s: %u mbufs still held (stack holds %u); mempool %s not freed", dd->dev.name, out,
                dd->pool.pool.in_use, dd->pool_name);
    dd->pool.mp = NULL;
    return out;
}

static void dpdk_destroy(struct mg_netdev *dev) {
    struct dpdk_netdev *dd = dev->priv;
    int ret = rte_eth_dev_stop(dd->port);
    if (ret != 0)
        MG_WARN("dpdk", "%s: stopping port %u: %s", dev->name, dd->port, rte_strerror(-ret));
    ret = rte_eth_dev_close(dd->port);
    if (ret != 0)
        MG_WARN("dpdk", "%s: closing port %u: %s", dev->name, dd->port, rte_strerror(-ret));
    free_pool_if_idle(dd);
    release_port(dd->port);
    free(dd);
}

static const struct mg_netdev_ops dpdk_netdev_ops = {
    .rx_burst = dpdk_rx_burst,
    .tx_burst = dpdk_tx_burst,
    .next_rx_ns = NULL,
    .wait_fd = NULL,
    .destroy = dpdk_destroy,
};

bool mg_dpdk_netdev_is(const struct mg_netdev *dev) {
    return dev && dev->ops == &dpdk_netdev_ops;
}

uint16_t mg_dpdk_netdev_port_id(const struct mg_netdev *dev) {
    return ((const struct dpdk_netdev *)dev->priv)->port;
}

struct open_params {
    uint16_t mtu, rx_desc, tx_desc;
    uint32_t mempool_size, link_timeout_ms;
};

static void open_params_from_config(const struct mg_config *cfg, struct open_params *p) {
    p->mtu = cfg->mtu ? cfg->mtu : 1500;
    p->rx_desc = cfg->dpdk_rx_desc ? cfg->dpdk_rx_desc : MG_DPDK_DEFAULT_RX_DESC;
    p->tx_desc = cfg->dpdk_tx_desc ? cfg->dpdk_tx_desc : MG_DPDK_DEFAULT_TX_DESC;
    p->mempool_size = cfg->dpdk_mempool_size ? cfg->dpdk_mempool_size : MG_DPDK_DEFAULT_MEMPOOL_SIZE;
    p->link_timeout_ms = cfg->dpdk_link_timeout_ms ? cfg->dpdk_link_timeout_ms : MG_DPDK_DEFAULT_LINK_TIMEOUT_MS;
}

static void enable_offloads(struct dpdk_netdev *dd, const struct rte_eth_dev_info *info) {
    static const struct {
        uint64_t capa;
        uint32_t cap;
    } rx[] = {{RTE_ETH_RX_OFFLOAD_IPV4_CKSUM, MG_NETDEV_CAP_RX_IPV4_CKSUM},
              {RTE_ETH_RX_OFFLOAD_TCP_CKSUM, MG_NETDEV_CAP_RX_TCP_CKSUM},
              {RTE_ETH_RX_OFFLOAD_UDP_CKSUM, MG_NETDEV_CAP_RX_UDP_CKSUM}};
    static const struct {
        uint64_t capa;
        uint32_t cap, flag;
    } tx[] = {{RTE_ETH_TX_OFFLOAD_IPV4_CKSUM, MG_NETDEV_CAP_TX_IPV4_CKSUM, MG_BUF_TX_IP_CKSUM},
              {RTE_ETH_TX_OFFLOAD_TCP_CKSUM, MG_NETDEV_CAP_TX_TCP_CKSUM, MG_BUF_TX_TCP_CKSUM},
              {RTE_ETH_TX_OFFLOAD_UDP_CKSUM, MG_NETDEV_CAP_TX_UDP_CKSUM, MG_BUF_TX_UDP_CKSUM}};
    for (size_t i = 0; i < RTE_DIM(rx); i++)
        if (info->rx_offload_capa & rx[i].capa) {
            dd->rx_offloads |= rx[i].capa;
            dd->dev.caps |= rx[i].cap;
        }
    for (size_t i = 0; i < RTE_DIM(tx); i++)
        if (info->tx_offload_capa & tx[i].capa) {
            dd->tx_offloads |= tx[i].capa;
            dd->tx_hw_flags |= tx[i].flag;
            dd->dev.caps |= tx[i].cap;
        }
}

static int configure_port(struct dpdk_netdev *dd, const struct rte_eth_dev_info *info, struct open_params *p, char *err,
                          size_t errlen) {
    struct rte_eth_conf conf;
    memset(&conf, 0, sizeof(conf));
    conf.rxmode.mtu = p->mtu;
    conf.rxmode.offloads = dd->rx_offloads;
    conf.txmode.offloads = dd->tx_offloads;
    int ret = rte_eth_dev_configure(dd->port, 1, 1, &conf);
    if (ret != 0) {
        set_err(err, errlen, "DPDK port %u (%s): configure failed: %s", dd->port, info->driver_name,
                rte_strerror(-ret));
        return ret;
    }
    ret = rte_eth_dev_set_mtu(dd->port, p->mtu);
    uint16_t now = 0;
    if (ret != 0 && !(ret == -ENOTSUP && rte_eth_dev_get_mtu(dd->port, &now) == 0 && now == p->mtu)) {
        set_err(err, errlen, "DPDK port %u (%s): cannot set MTU %u: %s", dd->port, info->driver_name, p->mtu,
                rte_strerror(-ret));
        return ret;
    }
    ret = rte_eth_dev_adjust_nb_rx_tx_desc(dd->port, &p->rx_desc, &p->tx_desc);
    if (ret != 0) {
        set_err(err, errlen, "DPDK port %u (%s): descriptor counts rejected: %s", dd->port, info->driver_name,
                rte_strerror(-ret));
        return ret;
    }
    return 0;
}

static int create_pool(struct dpdk_netdev *dd, const struct open_params *p, char *err, size_t errlen) {
    uint32_t frame_room = (uint32_t)p->mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN + 2 * RTE_VLAN_HLEN;
    uint32_t data_room = RTE_PKTMBUF_HEADROOM + RTE_MAX(MG_DPDK_MIN_DATAROOM, frame_room);
    if (data_room > UINT16_MAX) {
        set_err(err, errlen, "MTU %u needs %u-byte mbufs; DPDK mbufs hold at most %u bytes", p->mtu, data_room,
                UINT16_MAX);
        return -EINVAL;
    }
    uint32_t needed = (uint32_t)p->rx_desc + p->tx_desc + 4 * MG_DPDK_BURST;
    if (p->mempool_size < needed) {
        set_err(err, errlen, "dpdk.mempool_size %u is too small for %u rx + %u tx descriptors; use at least %u",
                p->mempool_size, p->rx_desc, p->tx_desc, needed);
        return -EINVAL;
    }
    pthread_mutex_lock(&ports_lock);
    unsigned serial = pool_serial++;
    pthread_mutex_unlock(&ports_lock);
    snprintf(dd->pool_name, sizeof(dd->pool_name), "mg_p%u_%u", dd->port, serial);
    unsigned cache = p->mempool_size >= 4 * 256 ? 256 : 0;
    dd->pool.mp = rte_pktmbuf_pool_create(dd->pool_name, p->mempool_size, cache, MG_DPDK_PRIV_SIZE, (uint16_t)data_room,
                                          rte_eth_dev_socket_id(dd->port));
    if (!dd->pool.mp) {
        set_err(err, errlen,
                "cannot create a mempool of %u mbufs of %u bytes: %s (lower dpdk.mempool_size or give EAL more "
                "memory: -m, hugepages)",
                p->mempool_size, data_room, rte_strerror(rte_errno));
        return -ENOMEM;
    }
    dd->pool.pool.ops = &dpdk_pool_ops;
    dd->pool.pool.name = dd->pool_name;
    dd->pool.pool.data_room = data_room;
    dd->pool.pool.headroom = RTE_PKTMBUF_HEADROOM;
    /* The descriptor rings hold the rest (the check above made room for them). */
    dd->pool.pool.size = p->mempool_size - p->rx_desc - p->tx_desc;
    rte_mempool_obj_iter(dd->pool.mp, init_mbuf_buf, &dd->pool.pool);
    dd->dev.pool = &dd->pool.pool;
    return 0;
}

static int setup_queues(struct dpdk_netdev *dd, const struct rte_eth_dev_info *info, const struct open_params *p,
                        char *err, size_t errlen) {
    int socket = rte_eth_dev_socket_id(dd->port);
    unsigned sock = socket < 0 ? (unsigned)SOCKET_ID_ANY : (unsigned)socket;
    int ret = rte_eth_rx_queue_setup(dd->port, 0, p->rx_desc, sock, NULL, dd->pool.mp);
    if (ret != 0) {
        set_err(err, errlen, "DPDK port %u (%s): rx queue setup (%u descriptors) failed: %s", dd->port,
                info->driver_name, p->rx_desc, rte_strerror(-ret));
        return ret;
    }
    ret = rte_eth_tx_queue_setup(dd->port, 0, p->tx_desc, sock, NULL);
    if (ret != 0) {
        set_err(err, errlen, "DPDK port %u (%s): tx queue setup (%u descriptors) failed: %s", dd->port,
                info->driver_name, p->tx_desc, rte_strerror(-ret));
        return ret;
    }
    return 0;
}

static int wait_link_up(struct dpdk_netdev *dd, const struct rte_eth_dev_info *info, uint32_t timeout_ms, char *err,
                        size_t errlen) {
    const uint32_t step_ms = 10;
    for (uint32_t waited = 0;; waited += step_ms) {
        struct rte_eth_link link;
        memset(&link, 0, sizeof(link));
        if (rte_eth_link_get_nowait(dd->port, &link) == 0 && link.link_status == RTE_ETH_LINK_UP)
            return 0;
        if (waited >= timeout_ms)
            break;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)step_ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    set_err(err, errlen,
            "DPDK port %u (%s): link still down after %u ms (check the cable and the peer; dpdk.link_timeout_ms "
            "sets the wait)",
            dd->port, info->driver_name, timeout_ms);
    return -ENETDOWN;
}

static int claim_port(uint16_t port, char *err, size_t errlen) {
    int ret = 0;
    pthread_mutex_lock(&ports_lock);
    if (port_open[port]) {
        set_err(err, errlen, "DPDK port %u is already open in this process", port);
        ret = -EBUSY;
    } else {
        port_open[port] = true;
    }
    pthread_mutex_unlock(&ports_lock);
    return ret;
}

static int check_port(uint16_t port, const struct rte_eth_dev_info *info, const struct open_params *p, char *err,
                      size_t errlen) {
    if (info->max_rx_queues < 1 || info->max_tx_queues < 1) {
        set_err(err, errlen, "DPDK port %u (%s) has %u rx and %u tx queues; margay needs one of each", port,
                info->driver_name, info->max_rx_queues, info->max_tx_queues);
        return -ENOTSUP;
    }
    if (p->mtu < info->min_mtu || p->mtu > info->max_mtu) {
        set_err(err, errlen, "MTU %u is out of range for DPDK port %u (%s): %u..%u (inetstack_config.mtu)", p->mtu,
                port, info->driver_name, info->min_mtu, info->max_mtu);
        return -EINVAL;
    }
    return 0;
}

static int bring_up(struct dpdk_netdev *dd, struct open_params *p, char *err, size_t errlen) {
    struct rte_eth_dev_info info;
    int ret = rte_eth_dev_info_get(dd->port, &info);
    if (ret != 0) {
        set_err(err, errlen, "DPDK port %u: cannot read device info: %s", dd->port, rte_strerror(-ret));
        return ret;
    }
    if ((ret = check_port(dd->port, &info, p, err, errlen)) != 0)
        return ret;
    enable_offloads(dd, &info);
    if ((ret = configure_port(dd, &info, p, err, errlen)) != 0)
        return ret;
    if ((ret = create_pool(dd, p, err, errlen)) != 0)
        return ret;
    if ((ret = setup_queues(dd, &info, p, err, errlen)) != 0)
        return ret;
    ret = rte_eth_dev_start(dd->port);
    if (ret != 0) {
        set_err(err, errlen, "DPDK port %u (%s): start failed: %s", dd->port, info.driver_name, rte_strerror(-ret));
        return ret;
    }
    struct rte_ether_addr mac;
    ret = rte_eth_macaddr_get(dd->port, &mac);
    if (ret == 0)
        ret = wait_link_up(dd, &info, p->link_timeout_ms, err, errlen);
    else
        set_err(err, errlen, "DPDK port %u: cannot read MAC address: %s", dd->port, rte_strerror(-ret));
    if (ret != 0) {
        rte_eth_dev_stop(dd->port);
        return ret;
    }
    memcpy(dd->dev.mac, mac.addr_bytes, sizeof(dd->dev.mac));
    return 0;
}

int mg_dpdk_netdev_open_port(const struct mg_config *cfg, const char *port_spec, struct mg_netdev **out, char *err,
                             size_t errlen) {
    if (!cfg || !out)
        return -EINVAL;
    *out = NULL;
    int ret = mg_dpdk_eal_init(cfg->eal_argc, cfg->eal_args, err, errlen);
    if (ret != 0)
        return ret;
    uint16_t port;
    if ((ret = mg_dpdk_find_port(port_spec, &port, err, errlen)) != 0)
        return ret;
    if ((ret = claim_port(port, err, errlen)) != 0)
        return ret;
    struct dpdk_netdev *dd = calloc(1, sizeof(*dd));
    if (!dd) {
        release_port(port);
        set_err(err, errlen, "out of memory");
        return -ENOMEM;
    }
    struct open_params p;
    open_params_from_config(cfg, &p);
    dd->port = port;
    dd->max_frame = (uint32_t)p.mtu + RTE_ETHER_HDR_LEN;
    dd->dev.ops = &dpdk_netdev_ops;
    dd->dev.priv = dd;
    dd->dev.mtu = p.mtu;
    char name[RTE_ETH_NAME_MAX_LEN] = "?";
    rte_eth_dev_get_name_by_port(port, name);
    snprintf(dd->dev.name, sizeof(dd->dev.name), "dpdk:%s", name);
    ret = bring_up(dd, &p, err, errlen);
    if (ret != 0) {
        free_pool_if_idle(dd);
        release_port(port);
        free(dd);
        return ret < 0 ? ret : -EIO;
    }
    MG_INFO("dpdk", "%s: port %u up, mtu %u, %u rx / %u tx descriptors, %u mbufs, caps 0x%x", dd->dev.name, port, p.mtu,
            p.rx_desc, p.tx_desc, p.mempool_size, dd->dev.caps);
    *out = &dd->dev;
    return 0;
}

int mg_dpdk_netdev_open(const struct mg_config *cfg, struct mg_netdev **out, char *err, size_t errlen) {
    if (!cfg)
        return -EINVAL;
    return mg_dpdk_netdev_open_port(cfg, cfg->dpdk_port, out, err, errlen);
}

/* ---- counters ---- */

int mg_dpdk_netdev_stats(struct mg_netdev *dev, struct mg_dpdk_stats *out) {
    struct dpdk_netdev *dd = dev->priv;
    struct rte_eth_stats s;
    memset(out, 0, sizeof(*out));
    int ret = rte_eth_stats_get(dd->port, &s);
    if (ret == 0) {
        out->ipackets = s.ipackets;
        out->opackets = s.opackets;
        out->ibytes = s.ibytes;
        out->obytes = s.obytes;
        out->imissed = s.imissed;
        out->ierrors = s.ierrors;
        out->oerrors = s.oerrors;
        out->rx_nombuf = s.rx_nombuf;
        dev->stats.rx_dropped_no_buf = s.rx_nombuf + s.imissed;
    }
    out->rx_dropped_multiseg = dd->rx_dropped_multiseg;
    out->rx_copies = dd->rx_copies;
    out->tx_dropped_bad = dd->tx_dropped_bad;
    out->tx_sw_cksum = dd->tx_sw_cksum;
    if (dd->pool.mp) {
        out->mbufs_available = rte_mempool_avail_count(dd->pool.mp);
        out->mbufs_total = dd->pool.mp->size;
    }
    return ret;
}

void mg_dpdk_netdev_print_stats(struct mg_netdev *dev, FILE *out) {
    struct dpdk_netdev *dd = dev->priv;
    struct mg_dpdk_stats ps;
    int ret = mg_dpdk_netdev_stats(dev, &ps);
    const struct mg_netdev_stats *s = &dev->stats;
    fprintf(out, "%s (port %u)\n", dev->name, dd->port);
    fprintf(out, "  rx_frames %lu rx_bytes %lu rx_dropped_no_buf %lu rx_copies %lu rx_dropped_multiseg %lu\n",
            (unsigned long)s->rx_frames, (unsigned long)s->rx_bytes, (unsigned long)s->rx_dropped_no_buf,
            (unsigned long)dd->rx_copies, (unsigned long)ps.rx_dropped_multiseg);
    fprintf(out,
            "  tx_frames %lu tx_bytes %lu tx_dropped_full %lu tx_dropped_too_big %lu tx_dropped_bad %lu tx_copies %lu "
            "tx_sw_cksum %lu\n",
            (unsigned long)s->tx_frames, (unsigned long)s->tx_bytes, (unsigned long)s->tx_dropped_full,
            (unsigned long)s->tx_dropped_too_big, (unsigned long)ps.tx_dropped_bad, (unsigned long)s->tx_copies,
            (unsigned long)ps.tx_sw_cksum);
    if (ret == 0)
        fprintf(out,
                "  port: ipackets %lu opackets %lu ibytes %lu obytes %lu imissed %lu ierrors %lu oerrors %lu "
                "rx_nombuf %lu\n",
                (unsigned long)ps.ipackets, (unsigned long)ps.opackets, (unsigned long)ps.ibytes,
                (unsigned long)ps.obytes, (unsigned long)ps.imissed, (unsigned long)ps.ierrors,
                (unsigned long)ps.oerrors, (unsigned long)ps.rx_nombuf);
    else
        fprintf(out, "  port: counters unavailable (%s)\n", rte_strerror(-ret));
    fprintf(out, "  pool %s: %u of %u mbufs free, stack holds %u (allocs %lu frees %lu alloc_failures %lu)\n",
            dd->pool_name, ps.mbufs_available, ps.mbufs_total, dd->pool.pool.in_use,
            (unsigned long)dd->pool.pool.allocs, (unsigned long)dd->pool.pool.frees,
            (unsigned long)dd->pool.pool.alloc_failures);
}
