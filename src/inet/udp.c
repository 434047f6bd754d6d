/* inet/udp.c — UDP (RFC 768) over the stack: sockets found by local port in a hash
 * table, ephemeral ports from the stack's random source, checksums verified and
 * generated (or left to the device), a bounded receive queue per socket, and ICMP
 * port unreachable for datagrams no socket wants.
 *
 * Received datagrams reach the socket in the buffer they arrived in (data pulled
 * to the payload, the sender kept in buf->user). Sends are zero copy when the
 * caller's buffer has room for the headers and no one else holds it; otherwise the
 * payload is copied into a fresh transmit buffer. A datagram that does not fit the
 * MTU goes out in IPv4 fragments (ipv4_frag.c), with its checksum computed here
 * (a device would sum only one fragment); past 65507 bytes of payload, the most
 * an IPv4 datagram can carry, it is refused with -EMSGSIZE. */
#include "inet/udp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inet/inet.h"
#include "inet/inet_priv.h"
#include "wire/be.h"

#define UDP_BUCKETS 256u        /* power of two */
#define UDP_RECV_QUEUE_MAX 256u /* datagrams waiting in one socket */

struct mg_udp_sock {
    struct mg_udp_layer *udp;
    mg_udp_notify_fn notify;
    void *user;
    uint32_t laddr;
    uint16_t lport;
    bool bound;
    struct mg_udp_sock *hash_next;
    struct mg_udp_sock *all_next, *all_prev;
    struct mg_buf *rq_head, *rq_tail;
    uint32_t rq_len;
};

struct mg_udp_layer {
    struct mg_inet *inet;
    struct mg_udp_sock *buckets[UDP_BUCKETS];
    struct mg_udp_sock *all; /* every open socket, bound or not, for teardown */
};

static uint32_t bucket_of(uint16_t port) {
    return (port * 40503u) >> 8 & (UDP_BUCKETS - 1);
}

static struct mg_udp_sock *find_port(struct mg_udp_layer *udp, uint16_t port) {
    for (struct mg_udp_sock *s = udp->buckets[bucket_of(port)]; s; s = s->hash_next)
        if (s->lport == port)
            return s;
    return NULL;
}

/* ---- input ---- */

static int verify_checksum(struct mg_buf *buf, const struct mg_udp_hdr *h, const struct mg_ipv4_hdr *ip) {
    if (h->cksum == 0)
        return 0; /* the sender computed none (allowed over IPv4) */
    if (buf->ol_flags & MG_BUF_RX_L4_CKSUM_BAD)
        return -EBADMSG;
    if (buf->ol_flags & MG_BUF_RX_L4_CKSUM_GOOD)
        return 0;
    return mg_l4_cksum_ipv4(ip->src, ip->dst, MG_IPPROTO_UDP, buf->data, h->len) == 0 ? 0 : -EBADMSG;
}

static void enqueue(struct mg_udp_sock *s, struct mg_buf *buf) {
    buf->next = NULL;
    if (s->rq_tail)
        s->rq_tail->next = buf;
    else
        s->rq_head = buf;
    s->rq_tail = buf;
    s->rq_len++;
}

void mg_udp_input(struct mg_udp_layer *udp, struct mg_buf *buf, const struct mg_ipv4_hdr *ip) {
    struct mg_inet *inet = udp->inet;
    struct mg_udp_hdr h;
    if (mg_udp_parse(buf->data, buf->len, &h) != 0) {
        mg_inet_drop(inet, MG_DROP_UDP_MALFORMED);
        goto drop;
    }
    if (verify_checksum(buf, &h, ip) != 0) {
        mg_inet_drop(inet, MG_DROP_UDP_BAD_CKSUM);
        goto drop;
    }
    struct mg_udp_sock *s = find_port(udp, h.dport);
    if (!s || (s->laddr != 0 && s->laddr != ip->dst)) {
        mg_inet_drop(inet, MG_DROP_UDP_NO_SOCKET);
        /* The IP header is still in front of the UDP header. */
        mg_inet_icmp_send_error(inet, buf->data - ip->hdr_len, ip->hdr_len + buf->len, MG_ICMP_DEST_UNREACH,
                                MG_ICMP_CODE_PORT_UNREACH);
        goto drop;
    }
    if (s->rq_len >= UDP_RECV_QUEUE_MAX) {
        mg_inet_drop(inet, MG_DROP_UDP_RECV_QUEUE_FULL);
        goto drop;
    }
    mg_buf_trim(buf, h.len);
    mg_buf_pull(buf, MG_UDP_HDR_LEN);
    buf->user = (uint64_t)ip->src << 16 | h.sport;
    enqueue(s, buf);
    if (s->notify)
        s->notify(s, MG_UDP_EV_READABLE, s->user);
    return;
drop:
    mg_buf_free(buf);
}

static void udp_input_handler(void *ctx, struct mg_buf *buf, const struct mg_ipv4_hdr *ip) {
    mg_udp_input(ctx, buf, ip);
}

/* An ICMP error quoting one of our datagrams. Sockets are unconnected, so there is
 * no one to report it to (as with an unconnected BSD socket); it is counted as
 * received only when it quotes a port we really have bound, and as unhandled
 * otherwise, so a forged error cannot pass for ours. */
static void udp_icmp_error_handler(void *ctx, uint8_t type, uint8_t code, const struct mg_ipv4_hdr *inner,
                                   const uint8_t *l4, size_t l4_len) {
    (void)type;
    (void)code;
    (void)inner;
    struct mg_udp_layer *udp = ctx;
    if (l4_len < 2 || !find_port(udp, mg_be16_load(l4))) {
        udp->inet->stats.icmp_errors_received--;
        mg_inet_drop(udp->inet, MG_DROP_ICMP_UNHANDLED);
    }
}

/* ---- layer ---- */

int mg_udp_layer_create(struct mg_inet *inet, struct mg_udp_layer **out) {
    struct mg_udp_layer *udp = calloc(1, sizeof(*udp));
    if (!udp)
        return -ENOMEM;
    udp->inet = inet;
    struct mg_inet_l4_handler h = {.input = udp_input_handler, .icmp_error = udp_icmp_error_handler, .ctx = udp};
    int rc = mg_inet_register_l4(inet, MG_IPPROTO_UDP, &h);
    if (rc) {
        free(udp);
        return rc;
    }
    inet->udp = udp;
    *out = udp;
    return 0;
}

void mg_udp_layer_destroy(struct mg_udp_layer *udp) {
    if (!udp)
        return;
    while (udp->all)
        mg_udp_close(udp->all);
    mg_inet_unregister_l4(udp->inet, MG_IPPROTO_UDP);
    if (udp->inet->udp == udp)
        udp->inet->udp = NULL;
    free(udp);
}

/* ---- sockets ---- */

struct mg_udp_sock *mg_udp_open(struct mg_udp_layer *udp, mg_udp_notify_fn notify, void *user) {
    struct mg_udp_sock *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->udp = udp;
    s->notify = notify;
    s->user = user;
    s->all_next = udp->all;
    if (udp->all)
        udp->all->all_prev = s;
    udp->all = s;
    return s;
}

static void hash_insert(struct mg_udp_sock *s) {
    uint32_t b = bucket_of(s->lport);
    s->hash_next = s->udp->buckets[b];
    s->udp->buckets[b] = s;
}

static void hash_remove(struct mg_udp_sock *s) {
    struct mg_udp_sock **link = &s->udp->buckets[bucket_of(s->lport)];
    while (*link && *link != s)
        link = &(*link)->hash_next;
    if (*link)
        *link = s->hash_next;
    s->hash_next = NULL;
}

/* A free port in the configured ephemeral range, starting at a random one. */
static int pick_ephemeral(struct mg_udp_layer *udp, uint16_t *port) {
    const struct mg_config *cfg = &udp->inet->cfg;
    uint16_t lo = cfg->ephemeral_port_min ? cfg->ephemeral_port_min : 49152;
    uint16_t hi = cfg->ephemeral_port_max ? cfg->ephemeral_port_max : 65535;
    if (lo > hi)
        return -EINVAL;
    uint32_t span = (uint32_t)hi - lo + 1;
    uint32_t start = mg_rand_below(&udp->inet->rand, span);
    for (uint32_t i = 0; i < span; i++) {
        uint16_t p = (uint16_t)(lo + (start + i) % span);
        if (!find_port(udp, p)) {
            *port = p;
            return 0;
        }
    }
    return -EADDRINUSE;
}

int mg_udp_bind(struct mg_udp_sock *s, uint32_t addr, uint16_t port) {
    struct mg_udp_layer *udp = s->udp;
    if (s->bound)
        return -EINVAL;
    if (addr != 0 && addr != udp->inet->ipv4_addr)
        return -EADDRNOTAVAIL;
    if (port == 0) {
        int rc = pick_ephemeral(udp, &port);
        if (rc)
            return rc;
    } else if (find_port(udp, port)) {
        return -EADDRINUSE; /* one local address: any two binds of a port overlap */
    }
    s->laddr = addr;
    s->lport = port;
    s->bound = true;
    hash_insert(s);
    return 0;
}

int mg_udp_local(const struct mg_udp_sock *s, uint32_t *addr, uint16_t *port) {
    if (!s->bound)
        return -EINVAL;
    if (addr)
        *addr = s->laddr;
    if (port)
        *port = s->lport;
    return 0;
}

/* The packet to send: the caller's own buffer, narrowed to the payload, when it can
 * take the headers in front and no one else holds it; a copy otherwise. */
static struct mg_buf *payload_buffer(struct mg_inet *inet, struct mg_buf *buf, const uint8_t *data, uint32_t len) {
    const uint32_t room = MG_UDP_HDR_LEN + MG_INET_L2L3_ROOM;
    if (buf && buf->refcnt == 1 && data >= buf->base + room && data + len <= buf->base + buf->cap) {
        mg_buf_ref(buf);
        buf->data = (uint8_t *)data;
        buf->len = len;
        buf->ol_flags = 0;
        buf->next = NULL;
        return buf;
    }
    struct mg_buf *b = mg_inet_alloc_tx(inet);
    if (!b)
        return NULL;
    if (mg_buf_headroom(b) < MG_UDP_HDR_LEN + MG_INET_L2L3_ROOM) {
        b->data = b->base + MG_UDP_HDR_LEN + MG_INET_L2L3_ROOM;
        if (mg_buf_tailroom(b) < len) {
            mg_buf_free(b);
            return NULL;
        }
    }
    uint8_t *p = mg_buf_append(b, len);
    if (!p) {
        mg_inet_drop(inet, MG_DROP_TX_TOO_BIG); /* the device's buffers are smaller than its MTU */
        mg_buf_free(b);
        return NULL;
    }
    if (len)
        memcpy(p, data, len);
    return b;
}

/* A datagram longer than the MTU: header and checksum built here, the bytes copied
 * straight from the caller's into each fragment. */
static int sendto_fragmented(struct mg_udp_sock *s, const uint8_t *data, uint32_t len, uint32_t addr, uint16_t port) {
    struct mg_inet *inet = s->udp->inet;
    uint16_t udp_len = (uint16_t)(len + MG_UDP_HDR_LEN);
    uint8_t hdr[MG_UDP_HDR_LEN];
    struct mg_udp_hdr h = {.sport = s->lport, .dport = port, .len = udp_len, .cksum = 0};
    mg_udp_build(hdr, sizeof(hdr), &h);
    uint32_t sum = mg_cksum_pseudo_ipv4(inet->ipv4_addr, addr, MG_IPPROTO_UDP, udp_len);
    sum = mg_cksum_add(sum, hdr, sizeof(hdr)); /* 8 bytes: the payload's sum starts aligned */
    uint16_t c = mg_cksum_finish(mg_cksum_add(sum, data, len));
    mg_be16_store(hdr + 6, c ? c : 0xffff); /* 0 would mean "no checksum" */
    return mg_inet_ipv4_output_parts(inet, hdr, sizeof(hdr), data, len, addr, MG_IPPROTO_UDP);
}

int mg_udp_sendto(struct mg_udp_sock *s, struct mg_buf *buf, const uint8_t *data, uint32_t len, uint32_t addr,
                  uint16_t port) {
    struct mg_inet *inet = s->udp->inet;
    if (port == 0 || addr == 0 || (len > 0 && !data))
        return -EINVAL;
    if (len > MG_UDP_MAX_PAYLOAD)
        return -EMSGSIZE;
    if (!s->bound) {
        int rc = mg_udp_bind(s, 0, 0);
        if (rc)
            return rc;
    }
    if ((uint64_t)len + MG_UDP_HDR_LEN + MG_IPV4_HDR_LEN > inet->mtu)
        return sendto_fragmented(s, data, len, addr, port);
    struct mg_buf *b = payload_buffer(inet, buf, data, len);
    if (!b)
        return -ENOBUFS;
    uint16_t udp_len = (uint16_t)(len + MG_UDP_HDR_LEN);
    uint8_t *p = mg_buf_prepend(b, MG_UDP_HDR_LEN);
    struct mg_udp_hdr h = {.sport = s->lport, .dport = port, .len = udp_len, .cksum = 0};
    mg_udp_build(p, MG_UDP_HDR_LEN, &h);
    if (mg_inet_l4_tx_offload(inet, MG_IPPROTO_UDP)) {
        /* The device finishes the sum: leave it the pseudo-header part. */
        uint32_t pseudo = mg_cksum_pseudo_ipv4(inet->ipv4_addr, addr, MG_IPPROTO_UDP, udp_len);
        mg_be16_store(p + 6, (uint16_t)~mg_cksum_finish(pseudo));
        b->ol_flags |= MG_BUF_TX_UDP_CKSUM;
    } else {
        uint16_t c = mg_l4_cksum_ipv4(inet->ipv4_addr, addr, MG_IPPROTO_UDP, p, udp_len);
        mg_be16_store(p + 6, c ? c : 0xffff); /* 0 would mean "no checksum" */
    }
    return mg_inet_ipv4_output(inet, b, addr, MG_IPPROTO_UDP);
}

int mg_udp_recvfrom(struct mg_udp_sock *s, struct mg_buf **out, uint32_t *addr, uint16_t *port) {
    struct mg_buf *b = s->rq_head;
    if (!b)
        return -EAGAIN;
    s->rq_head = b->next;
    if (!s->rq_head)
        s->rq_tail = NULL;
    s->rq_len--;
    b->next = NULL;
    if (addr)
        *addr = (uint32_t)(b->user >> 16);
    if (port)
        *port = (uint16_t)b->user;
    *out = b;
    return (int)b->len;
}

void mg_udp_close(struct mg_udp_sock *s) {
    if (!s)
        return;
    struct mg_udp_layer *udp = s->udp;
    if (s->bound)
        hash_remove(s);
    while (s->rq_head) {
        struct mg_buf *b = s->rq_head;
        s->rq_head = b->next;
        mg_buf_free(b);
    }
    if (s->all_prev)
        s->all_prev->all_next = s->all_next;
    else
        udp->all = s->all_next;
    if (s->all_next)
        s->all_next->all_prev = s->all_prev;
    free(s);
}
