/* inet/ipv4_frag.c — IPv4 fragmentation of outgoing datagrams longer than the MTU
 * (RFC 791 section 3.2 and its "fragmentation procedure").
 *
 * Only datagrams that may be fragmented come here: UDP and ICMP (TCP sizes its
 * segments by the MSS and never does). The packet is given as two byte ranges,
 * head then tail (UDP passes its 8-byte header and the application's payload, so
 * no contiguous copy of a 64 KiB datagram is ever made), and each fragment is
 * copied once into its own device buffer: every fragment needs its own headers in
 * front, so the copy cannot be avoided without chained buffers. All fragments carry
 * the same id, DF clear, MF on all but the last, and offsets in units of 8 bytes;
 * their IPv4 checksums are computed here, never offloaded. */
#include <errno.h>
#include <string.h>

#include "inet/inet.h"
#include "inet/inet_priv.h"

/* Copies n bytes starting at off of the concatenation head ++ tail. */
static void copy_range(uint8_t *to, const uint8_t *head, uint32_t head_len, const uint8_t *tail, uint32_t off,
                       uint32_t n) {
    if (off < head_len) {
        uint32_t k = head_len - off < n ? head_len - off : n;
        memcpy(to, head + off, k);
        to += k;
        off += k;
        n -= k;
    }
    if (n)
        memcpy(to, tail + (off - head_len), n);
}

/* One fragment [off, off+n) of the packet, to next_hop. */
static int send_fragment(struct mg_inet *inet, const uint8_t *head, uint32_t head_len, const uint8_t *tail,
                         uint32_t off, uint32_t n, bool more, uint32_t dst, uint32_t next_hop, uint8_t proto,
                         uint16_t id) {
    struct mg_buf *b = mg_inet_alloc_tx(inet);
    if (!b)
        return -ENOBUFS;
    uint8_t *p = mg_buf_append(b, n);
    if (!p) {
        mg_inet_drop(inet, MG_DROP_TX_TOO_BIG); /* the device's buffers are smaller than its MTU */
        mg_buf_free(b);
        return -EMSGSIZE;
    }
    copy_range(p, head, head_len, tail, off, n);
    uint16_t frag = (uint16_t)((off / 8) | (more ? MG_IPV4_MF : 0));
    int rc = mg_inet_ipv4_send_packet(inet, b, dst, next_hop, proto, id, frag);
    if (rc == 0)
        inet->stats.ipv4_fragments_out++;
    return rc;
}

/* A packet that fits the MTU: one buffer, the ordinary path. */
static int send_whole(struct mg_inet *inet, const uint8_t *head, uint32_t head_len, const uint8_t *tail,
                      uint32_t tail_len, uint32_t dst, uint8_t proto) {
    struct mg_buf *b = mg_inet_alloc_tx(inet);
    if (!b)
        return -ENOBUFS;
    uint8_t *p = mg_buf_append(b, head_len + tail_len);
    if (!p) {
        mg_inet_drop(inet, MG_DROP_TX_TOO_BIG);
        mg_buf_free(b);
        return -EMSGSIZE;
    }
    copy_range(p, head, head_len, tail, 0, head_len + tail_len);
    return mg_inet_ipv4_output(inet, b, dst, proto);
}

int mg_inet_ipv4_output_parts(struct mg_inet *inet, const uint8_t *head, uint32_t head_len, const uint8_t *tail,
                              uint32_t tail_len, uint32_t dst, uint8_t proto) {
    uint64_t total = (uint64_t)head_len + tail_len;
    if (total > MG_IPV4_MAX_PAYLOAD || (proto == MG_IPPROTO_TCP && total + MG_IPV4_HDR_LEN > inet->mtu)) {
        mg_inet_drop(inet, MG_DROP_TX_TOO_BIG);
        return -EMSGSIZE;
    }
    if (total + MG_IPV4_HDR_LEN <= inet->mtu)
        return send_whole(inet, head, head_len, tail, tail_len, dst, proto);
    uint32_t next_hop;
    if (mg_inet_next_hop(inet, dst, &next_hop) != 0) {
        mg_inet_drop(inet, MG_DROP_TX_NO_ROUTE);
        return -ENETUNREACH;
    }
    /* Every fragment but the last carries a multiple of 8 bytes. */
    uint32_t step = (uint32_t)(inet->mtu - MG_IPV4_HDR_LEN) & ~7u;
    uint16_t id = inet->ip_id++;
    inet->stats.ipv4_fragmented++;
    for (uint32_t off = 0; off < total; off += step) {
        uint32_t n = total - off < step ? (uint32_t)total - off : step;
        bool more = off + n < total;
        int rc = send_fragment(inet, head, head_len, tail, off, n, more, dst, next_hop, proto, id);
        if (rc)
            return rc; /* the rest would be useless: the receiver cannot complete it */
    }
    return 0;
}
