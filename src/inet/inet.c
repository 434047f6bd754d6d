/* inet/inet.c — one stack instance: creation from the configuration, the poll loop,
 * Ethernet and IPv4 input with dispatch to the registered transports, IPv4 output
 * down to the neighbour cache, and the transmit queue in front of the device.
 * Everything hangs off struct mg_inet (no globals), so many stacks share a process. */
#include "inet/inet.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "inet/inet_priv.h"
#include "inet/ipv4_reass.h"
#include "wire/be.h"

#define RX_BURST 32
#define DEFAULT_MTU 1500
#define MIN_MTU 576 /* RFC 791: every host must accept 576-byte datagrams */

static const char *const drop_names[MG_DROP__COUNT] = {
    [MG_DROP_ETH_MALFORMED] = "eth_malformed",
    [MG_DROP_ETH_NOT_FOR_US] = "eth_not_for_us",
    [MG_DROP_ETH_UNSUPPORTED_TYPE] = "eth_unsupported_type",
    [MG_DROP_ARP_MALFORMED] = "arp_malformed",
    [MG_DROP_ARP_UNSUPPORTED] = "arp_unsupported",
    [MG_DROP_ARP_NOT_FOR_US] = "arp_not_for_us",
    [MG_DROP_ARP_PENDING_FULL] = "arp_pending_full",
    [MG_DROP_ARP_UNRESOLVED] = "arp_unresolved",
    [MG_DROP_IPV4_MALFORMED] = "ipv4_malformed",
    [MG_DROP_IPV4_BAD_CKSUM] = "ipv4_bad_cksum",
    [MG_DROP_IPV4_NOT_FOR_US] = "ipv4_not_for_us",
    [MG_DROP_IPV4_FRAGMENT] = "ipv4_fragment",
    [MG_DROP_IPV4_UNSUPPORTED_PROTO] = "ipv4_unsupported_proto",
    [MG_DROP_IPV4_BAD_SRC] = "ipv4_bad_src",
    [MG_DROP_ICMP_MALFORMED] = "icmp_malformed",
    [MG_DROP_ICMP_BAD_CKSUM] = "icmp_bad_cksum",
    [MG_DROP_ICMP_UNHANDLED] = "icmp_unhandled",
    [MG_DROP_UDP_MALFORMED] = "udp_malformed",
    [MG_DROP_UDP_BAD_CKSUM] = "udp_bad_cksum",
    [MG_DROP_UDP_NO_SOCKET] = "udp_no_socket",
    [MG_DROP_UDP_RECV_QUEUE_FULL] = "udp_recv_queue_full",
    [MG_DROP_TX_NO_BUFFER] = "tx_no_buffer",
    [MG_DROP_TX_DEVICE_FULL] = "tx_device_full",
    [MG_DROP_TX_NO_ROUTE] = "tx_no_route",
    [MG_DROP_TX_TOO_BIG] = "tx_too_big",
    [MG_DROP_ICMP_RATE_LIMITED] = "icmp_rate_limited",
    [MG_DROP_IPV4_FRAG_BAD_LENGTH] = "ipv4_frag_bad_length",
    [MG_DROP_IPV4_FRAG_PAST_64K] = "ipv4_frag_past_64k",
    [MG_DROP_IPV4_FRAG_OVERLAP] = "ipv4_frag_overlap",
    [MG_DROP_IPV4_FRAG_DUPLICATE] = "ipv4_frag_duplicate",
    [MG_DROP_IPV4_FRAG_BAD_END] = "ipv4_frag_bad_end",
    [MG_DROP_IPV4_FRAG_TOO_MANY] = "ipv4_frag_too_many",
    [MG_DROP_IPV4_REASS_TOO_BIG] = "ipv4_reass_too_big",
    [MG_DROP_IPV4_REASS_TIMEOUT] = "ipv4_reass_timeout",
    [MG_DROP_IPV4_REASS_EVICTED] = "ipv4_reass_evicted",
    [MG_DROP_IPV4_REASS_NO_BUFFER] = "ipv4_reass_no_buffer",
};

const char *mg_inet_drop_name(enum mg_inet_drop reason) {
    if ((unsigned)reason >= MG_DROP__COUNT || !drop_names[reason])
        return "unknown";
    return drop_names[reason];
}

/* ---- creation ---- */

static uint16_t pick_mtu(const struct mg_config *cfg, const struct mg_netdev *dev) {
    uint16_t mtu = cfg->mtu ? cfg->mtu : DEFAULT_MTU;
    if (dev->mtu && dev->mtu < mtu)
        mtu = dev->mtu;
    return mtu;
}

static int check_config(const struct mg_config *cfg, const struct mg_netdev *dev, uint16_t mtu) {
    if (cfg->local_ipv4_addr == 0) {
        MG_ERROR("inet", "local_ipv4_addr is not set: give the stack an address (demikernel.local_ipv4_addr)");
        return -EINVAL;
    }
    if (mtu < MIN_MTU) {
        MG_ERROR("inet", "MTU %u of device %s is below the IPv4 minimum of %u", mtu, dev->name, MIN_MTU);
        return -EINVAL;
    }
    if (!dev->pool || !dev->ops || !dev->ops->rx_burst || !dev->ops->tx_burst) {
        MG_ERROR("inet", "device %s has no buffer pool or no rx/tx operations", dev->name);
        return -EINVAL;
    }
    if (dev->pool->data_room < (uint32_t)MG_INET_L2L3_ROOM + 64) {
        MG_ERROR("inet", "buffers of device %s (%u bytes) are too small for headers", dev->name, dev->pool->data_room);
        return -EINVAL;
    }
    return 0;
}

int mg_inet_create(const struct mg_config *cfg, struct mg_netdev *dev, struct mg_clock *clock, uint64_t seed,
                   struct mg_inet **out) {
    if (!cfg || !dev || !clock || !out)
        return -EINVAL;
    uint16_t mtu = pick_mtu(cfg, dev);
    int rc = check_config(cfg, dev, mtu);
    if (rc)
        return rc;
    struct mg_inet *inet = calloc(1, sizeof(*inet));
    if (!inet)
        return -ENOMEM;
    inet->cfg = *cfg;
    inet->dev = dev;
    inet->clock = clock;
    mg_rand_seed(&inet->rand, seed);
    memcpy(inet->mac, cfg->local_link_addr_set ? cfg->local_link_addr : dev->mac, MG_ETH_ALEN);
    inet->ipv4_addr = cfg->local_ipv4_addr;
    inet->netmask = cfg->ipv4_netmask ? cfg->ipv4_netmask : 0xffffff00u;
    inet->gateway = cfg->ipv4_gateway;
    inet->mtu = mtu;
    inet->mss = (uint16_t)(mtu - 40);
    if (cfg->mss && cfg->mss < inet->mss)
        inet->mss = cfg->mss;
    /* A random first IP id, so two hosts (or two runs of one) do not repeat ids. */
    inet->ip_id = (uint16_t)mg_rand_u32(&inet->rand);
    inet->icmp_err_tokens = MG_INET_ICMP_ERR_BURST;
    inet->icmp_err_refill_ns = mg_clock_now(clock);
    rc = mg_timers_init(&inet->timers, 256);
    if (rc) {
        free(inet);
        return rc;
    }
    rc = mg_arp_create(inet, &inet->arp);
    if (rc == 0) {
        rc = mg_ipv4_reass_create(inet, &inet->reass);
        if (rc)
            mg_arp_destroy(inet->arp);
    }
    if (rc) {
        mg_timers_fini(&inet->timers);
        free(inet);
        return rc;
    }
    *out = inet;
    return 0;
}

void mg_inet_destroy(struct mg_inet *inet, bool destroy_dev) {
    if (!inet)
        return;
    for (uint16_t i = 0; i < inet->txq_len; i++)
        mg_buf_free(inet->txq[i]);
    inet->txq_len = 0;
    mg_ipv4_reass_destroy(inet->reass);
    mg_arp_destroy(inet->arp);
    mg_timers_fini(&inet->timers);
    if (destroy_dev)
        mg_netdev_destroy(inet->dev);
    free(inet);
}

/* ---- transports ---- */

static int l4_index(uint8_t proto) {
    switch (proto) {
    case MG_IPPROTO_TCP:
        return MG_INET_L4_TCP;
    case MG_IPPROTO_UDP:
        return MG_INET_L4_UDP;
    default:
        return -1;
    }
}

int mg_inet_register_l4(struct mg_inet *inet, uint8_t proto, const struct mg_inet_l4_handler *handler) {
    int i = l4_index(proto);
    if (i < 0 || !handler || !handler->input)
        return -EINVAL;
    if (inet->l4[i].input)
        return -EEXIST;
    inet->l4[i] = *handler;
    return 0;
}

void mg_inet_unregister_l4(struct mg_inet *inet, uint8_t proto) {
    int i = l4_index(proto);
    if (i >= 0)
        memset(&inet->l4[i], 0, sizeof(inet->l4[i]));
}

/* ---- addresses ---- */

bool mg_inet_on_link(const struct mg_inet *inet, uint32_t dst) {
    return (dst & inet->netmask) == (inet->ipv4_addr & inet->netmask);
}

bool mg_inet_is_broadcast(const struct mg_inet *inet, uint32_t addr) {
    if (addr == 0xffffffffu)
        return true;
    /* The directed broadcast of our subnet (not for /31 and /32, which have none). */
    return inet->netmask < 0xfffffffeu && addr == (inet->ipv4_addr | ~inet->netmask);
}

bool mg_inet_is_bad_source(const struct mg_inet *inet, uint32_t addr) {
    if (addr == 0 || addr == inet->ipv4_addr || mg_inet_is_broadcast(inet, addr))
        return true;
    uint8_t top = (uint8_t)(addr >> 24);
    return top == 127 || (top & 0xf0) == 0xe0 || (top & 0xf0) == 0xf0; /* loopback, multicast, class E */
}

static bool ipv4_for_us(const struct mg_inet *inet, uint32_t dst) {
    return dst == inet->ipv4_addr || mg_inet_is_broadcast(inet, dst);
}

/* ---- input ---- */

static bool mac_is_broadcast(const uint8_t *mac) {
    return memcmp(mac, mg_eth_broadcast, MG_ETH_ALEN) == 0;
}

/* Parses the IPv4 header, telling a bad checksum apart from a malformed header (the
 * codec reports both as -EBADMSG, but they are different drops). */
static int ipv4_parse_checked(struct mg_inet *inet, struct mg_buf *buf, struct mg_ipv4_hdr *ip) {
    if (buf->ol_flags & MG_BUF_RX_IP_CKSUM_BAD) {
        mg_inet_drop(inet, MG_DROP_IPV4_BAD_CKSUM);
        return -EBADMSG;
    }
    if (mg_ipv4_parse(buf->data, buf->len, false, ip) != 0) {
        mg_inet_drop(inet, MG_DROP_IPV4_MALFORMED);
        return -EBADMSG;
    }
    if (!(buf->ol_flags & MG_BUF_RX_IP_CKSUM_GOOD) && mg_cksum(buf->data, ip->hdr_len) != 0) {
        mg_inet_drop(inet, MG_DROP_IPV4_BAD_CKSUM);
        return -EBADMSG;
    }
    return 0;
}

/* A fragment: NULL while its datagram is incomplete (or dropped), else the whole
 * datagram in one buffer, to go up like an unfragmented one. */
static struct mg_buf *ipv4_reassemble(struct mg_inet *inet, struct mg_buf *buf, struct mg_ipv4_hdr *ip) {
    inet->stats.ipv4_fragments_in++;
    if (!inet->reass) {
        mg_inet_drop(inet, MG_DROP_IPV4_FRAGMENT);
        mg_buf_free(buf);
        return NULL;
    }
    buf = mg_ipv4_reass_input(inet->reass, buf, ip);
    if (buf)
        inet->stats.ipv4_reassembled++;
    return buf;
}

static void ipv4_input(struct mg_inet *inet, struct mg_buf *buf, const uint8_t *src_mac) {
    struct mg_ipv4_hdr ip;
    if (ipv4_parse_checked(inet, buf, &ip) != 0)
        goto drop;
    if (!ipv4_for_us(inet, ip.dst)) {
        mg_inet_drop(inet, MG_DROP_IPV4_NOT_FOR_US);
        goto drop;
    }
    if (mg_inet_is_bad_source(inet, ip.src)) {
        mg_inet_drop(inet, MG_DROP_IPV4_BAD_SRC);
        goto drop;
    }
    /* Ethernet pads short frames: the datagram ends at total_len. */
    mg_buf_trim(buf, ip.total_len);
    if (mg_ipv4_is_fragment(&ip)) {
        buf = ipv4_reassemble(inet, buf, &ip);
        if (!buf)
            return;
    }
    inet->stats.ipv4_in++;
    mg_arp_confirm(inet, ip.src, src_mac); /* the neighbour is alive: keep its entry */
    mg_buf_pull(buf, ip.hdr_len);
    if (ip.proto == MG_IPPROTO_ICMP) {
        mg_icmp_input(inet, buf, &ip);
        return;
    }
    int i = l4_index(ip.proto);
    if (i >= 0 && inet->l4[i].input) {
        inet->l4[i].input(inet->l4[i].ctx, buf, &ip);
        return;
    }
    mg_inet_drop(inet, MG_DROP_IPV4_UNSUPPORTED_PROTO);
    /* The IP header is still in the buffer, right in front of the payload. */
    mg_inet_icmp_send_error(inet, buf->data - ip.hdr_len, ip.hdr_len + buf->len, MG_ICMP_DEST_UNREACH,
                            MG_ICMP_CODE_PROTO_UNREACH);
drop:
    mg_buf_free(buf);
}

void mg_inet_input(struct mg_inet *inet, struct mg_buf *frame) {
    inet->stats.rx_frames++;
    struct mg_eth_hdr eth;
    if (mg_eth_parse(frame->data, frame->len, &eth) != 0) {
        mg_inet_drop(inet, MG_DROP_ETH_MALFORMED);
        mg_buf_free(frame);
        return;
    }
    if (memcmp(eth.dst, inet->mac, MG_ETH_ALEN) != 0 && !mac_is_broadcast(eth.dst)) {
        mg_inet_drop(inet, MG_DROP_ETH_NOT_FOR_US);
        mg_buf_free(frame);
        return;
    }
    mg_buf_pull(frame, eth.hdr_len);
    switch (eth.ethertype) {
    case MG_ETHERTYPE_IPV4:
        ipv4_input(inet, frame, eth.src);
        return;
    case MG_ETHERTYPE_ARP:
        mg_arp_input(inet, frame);
        return;
    default:
        mg_inet_drop(inet, MG_DROP_ETH_UNSUPPORTED_TYPE);
        mg_buf_free(frame);
        return;
    }
}

/* ---- transmit queue ---- */

void mg_inet_flush(struct mg_inet *inet) {
    if (inet->txq_len == 0)
        return;
    uint16_t sent = mg_netdev_tx(inet->dev, inet->txq, inet->txq_len);
    if (sent > inet->txq_len)
        sent = inet->txq_len; /* a device must not claim more than it was given */
    inet->stats.tx_frames += sent;
    /* What the device did not take stays queued, in order, for the next flush. */
    memmove(inet->txq, inet->txq + sent, (size_t)(inet->txq_len - sent) * sizeof(inet->txq[0]));
    inet->txq_len = (uint16_t)(inet->txq_len - sent);
}

void mg_inet_queue_frame(struct mg_inet *inet, struct mg_buf *frame) {
    if (inet->txq_len == MG_INET_TXQ_MAX)
        mg_inet_flush(inet);
    if (inet->txq_len == MG_INET_TXQ_MAX) {
        mg_inet_drop(inet, MG_DROP_TX_DEVICE_FULL);
        mg_buf_free(frame);
        return;
    }
    inet->txq[inet->txq_len++] = frame;
}

/* ---- output ---- */

struct mg_buf *mg_inet_alloc_tx(struct mg_inet *inet) {
    struct mg_buf *b = mg_buf_alloc(inet->dev->pool);
    if (!b) {
        mg_inet_drop(inet, MG_DROP_TX_NO_BUFFER);
        return NULL;
    }
    /* Pools with little headroom still get room for Ethernet + IPv4 in front. */
    uint32_t head = mg_buf_headroom(b);
    if (head < MG_INET_L2L3_ROOM)
        b->data += MG_INET_L2L3_ROOM - head;
    return b;
}

bool mg_inet_l4_tx_offload(const struct mg_inet *inet, uint8_t proto) {
    switch (proto) {
    case MG_IPPROTO_TCP:
        return inet->cfg.tcp_checksum_offload && (inet->dev->caps & MG_NETDEV_CAP_TX_TCP_CKSUM);
    case MG_IPPROTO_UDP:
        return inet->cfg.udp_checksum_offload && (inet->dev->caps & MG_NETDEV_CAP_TX_UDP_CKSUM);
    default:
        return false;
    }
}

/* Makes sure buf can take the IPv4 and Ethernet headers in front of its data,
 * copying it into a fresh buffer when it has no room. (A sender that shares the
 * buffer, like UDP's zero-copy send, has made sure the headroom is free to write.) */
static struct mg_buf *make_room_for_headers(struct mg_inet *inet, struct mg_buf *buf) {
    if (mg_buf_headroom(buf) >= MG_INET_L2L3_ROOM)
        return buf;
    struct mg_buf *copy = mg_inet_alloc_tx(inet);
    if (!copy) {
        mg_buf_free(buf);
        return NULL;
    }
    uint8_t *p = mg_buf_append(copy, buf->len);
    if (!p) {
        mg_inet_drop(inet, MG_DROP_TX_TOO_BIG);
        mg_buf_free(copy);
        mg_buf_free(buf);
        return NULL;
    }
    memcpy(p, buf->data, buf->len);
    copy->ol_flags = buf->ol_flags;
    mg_buf_free(buf);
    return copy;
}

int mg_inet_next_hop(struct mg_inet *inet, uint32_t dst, uint32_t *next_hop) {
    uint8_t top = (uint8_t)(dst >> 24);
    if (dst == 0 || (top & 0xf0) == 0xe0)
        return -ENETUNREACH; /* no one to send to (no multicast support) */
    if (mg_inet_on_link(inet, dst) || dst == 0xffffffffu) {
        *next_hop = dst;
        return 0;
    }
    if (inet->gateway == 0)
        return -ENETUNREACH;
    *next_hop = inet->gateway;
    return 0;
}

static void prepend_ipv4(struct mg_inet *inet, struct mg_buf *buf, uint32_t dst, uint8_t proto, uint16_t id,
                         uint16_t frag) {
    uint16_t total = (uint16_t)(buf->len + MG_IPV4_HDR_LEN);
    uint8_t *p = mg_buf_prepend(buf, MG_IPV4_HDR_LEN);
    struct mg_ipv4_hdr h = {
        .hdr_len = MG_IPV4_HDR_LEN,
        .tos = 0,
        .total_len = total,
        .id = id,
        .frag = frag,
        .ttl = 64,
        .proto = proto,
        .src = inet->ipv4_addr,
        .dst = dst,
    };
    /* Fragments get their checksum here: devices (and the simulator's) skip
     * fragments when they fill checksums. */
    bool offload = (inet->dev->caps & MG_NETDEV_CAP_TX_IPV4_CKSUM) != 0 && !mg_ipv4_is_fragment(&h);
    mg_ipv4_build(p, MG_IPV4_HDR_LEN, &h, !offload);
    if (offload)
        buf->ol_flags |= MG_BUF_TX_IP_CKSUM;
    buf->l3_len = MG_IPV4_HDR_LEN;
}

static void prepend_eth(struct mg_inet *inet, struct mg_buf *buf) {
    uint8_t *p = mg_buf_prepend(buf, MG_ETH_HDR_LEN);
    struct mg_eth_hdr h = {.ethertype = MG_ETHERTYPE_IPV4, .hdr_len = MG_ETH_HDR_LEN};
    memcpy(h.src, inet->mac, MG_ETH_ALEN);
    mg_eth_build(p, MG_ETH_HDR_LEN, &h); /* destination filled by the neighbour cache */
    buf->l2_len = MG_ETH_HDR_LEN;
}

int mg_inet_ipv4_send_packet(struct mg_inet *inet, struct mg_buf *buf, uint32_t dst, uint32_t next_hop, uint8_t proto,
                             uint16_t id, uint16_t frag) {
    buf = make_room_for_headers(inet, buf);
    if (!buf)
        return -ENOBUFS;
    buf->ol_flags &= MG_BUF_TX_TCP_CKSUM | MG_BUF_TX_UDP_CKSUM; /* receive flags mean nothing here */
    prepend_ipv4(inet, buf, dst, proto, id, frag);
    prepend_eth(inet, buf);
    inet->stats.ipv4_out++;
    if (mg_inet_is_broadcast(inet, dst)) {
        memcpy(buf->data, mg_eth_broadcast, MG_ETH_ALEN);
        mg_inet_queue_frame(inet, buf);
        return 0;
    }
    return mg_arp_output(inet, next_hop, buf);
}

/* Whether a packet too long for the MTU may go out in fragments: never TCP (it
 * sizes segments by the MSS), never one whose checksum the device is still to
 * fill (it would sum one fragment), never past the largest IPv4 datagram. */
static bool may_fragment(const struct mg_buf *buf, uint8_t proto) {
    return proto != MG_IPPROTO_TCP && !(buf->ol_flags & (MG_BUF_TX_TCP_CKSUM | MG_BUF_TX_UDP_CKSUM)) &&
           buf->len <= MG_IPV4_MAX_PAYLOAD;
}

int mg_inet_ipv4_output(struct mg_inet *inet, struct mg_buf *buf, uint32_t dst, uint8_t proto) {
    if (buf->len + MG_IPV4_HDR_LEN > inet->mtu) {
        if (!may_fragment(buf, proto)) {
            mg_inet_drop(inet, MG_DROP_TX_TOO_BIG);
            mg_buf_free(buf);
            return -EMSGSIZE;
        }
        int rc = mg_inet_ipv4_output_parts(inet, buf->data, buf->len, NULL, 0, dst, proto);
        mg_buf_free(buf);
        return rc;
    }
    uint32_t next_hop;
    if (mg_inet_next_hop(inet, dst, &next_hop) != 0) {
        mg_inet_drop(inet, MG_DROP_TX_NO_ROUTE);
        mg_buf_free(buf);
        return -ENETUNREACH;
    }
    return mg_inet_ipv4_send_packet(inet, buf, dst, next_hop, proto, inet->ip_id++, MG_IPV4_DF);
}

/* ---- the poll loop ---- */

int mg_inet_poll(struct mg_inet *inet) {
    struct mg_buf *rx[RX_BURST];
    uint16_t n = mg_netdev_rx(inet->dev, rx, RX_BURST);
    for (uint16_t i = 0; i < n; i++)
        mg_inet_input(inet, rx[i]);
    unsigned fired = mg_timers_run(&inet->timers, mg_clock_now(inet->clock));
    mg_inet_flush(inet);
    return (int)(n + fired);
}

uint64_t mg_inet_next_wakeup(struct mg_inet *inet) {
    uint64_t t = mg_timers_next_deadline(&inet->timers);
    if (inet->dev->ops->next_rx_ns) {
        uint64_t rx = inet->dev->ops->next_rx_ns(inet->dev);
        if (rx < t)
            t = rx;
    }
    return t;
}
