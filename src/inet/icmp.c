/* inet/icmp.c — ICMPv4 (RFC 792, RFC 1122 3.2.2): echo replies, the errors we send
 * (port and protocol unreachable), and the errors we receive, which are checked
 * against the datagram they quote and handed to the transport that sent it.
 * Errors we send are rate-limited by a token bucket on the stack's clock so a flood
 * of bad datagrams cannot turn us into an amplifier. */
#include <errno.h>
#include <string.h>

#include "inet/inet_priv.h"
#include "wire/be.h"

/* RFC 792: quote the offending IP header and the first 8 bytes of its payload. */
#define ICMP_QUOTE_L4_BYTES 8

static bool icmp_type_is_error(uint8_t type) {
    return type == MG_ICMP_DEST_UNREACH || type == 4 /* source quench */ || type == 5 /* redirect */ ||
           type == MG_ICMP_TIME_EXCEEDED || type == 12 /* parameter problem */;
}

/* ---- echo ---- */

/* Turns the request around in its own buffer: same identifier, sequence and data. */
static void answer_echo(struct mg_inet *inet, struct mg_buf *buf, const struct mg_icmp_hdr *req,
                        const struct mg_ipv4_hdr *ip) {
    struct mg_icmp_hdr reply = {.type = MG_ICMP_ECHO_REPLY, .code = 0, .rest = req->rest};
    mg_icmp_build(buf->data, buf->len, &reply, req->payload_len);
    buf->ol_flags = 0;
    if (mg_inet_ipv4_output(inet, buf, ip->src, MG_IPPROTO_ICMP) == 0)
        inet->stats.icmp_echo_replies_sent++;
}

/* ---- errors received ---- */

/* Parses the datagram an error quotes. Only its header and 8 bytes are there, so
 * the codec (which wants the whole datagram) sees a copy whose total length says
 * exactly what was quoted. */
static int parse_quoted(const uint8_t *p, size_t len, struct mg_ipv4_hdr *inner) {
    uint8_t copy[60 + ICMP_QUOTE_L4_BYTES];
    if (len < MG_IPV4_HDR_LEN)
        return -EMSGSIZE;
    size_t n = len < sizeof(copy) ? len : sizeof(copy);
    memcpy(copy, p, n);
    mg_be16_store(copy + 2, (uint16_t)n);
    if (mg_ipv4_parse(copy, n, false, inner) != 0)
        return -EBADMSG;
    inner->total_len = mg_be16_load(p + 2);
    if (n < (size_t)inner->hdr_len + ICMP_QUOTE_L4_BYTES)
        return -EMSGSIZE;
    return 0;
}

static void error_received(struct mg_inet *inet, const struct mg_icmp_hdr *h) {
    struct mg_ipv4_hdr inner;
    if (parse_quoted(h->payload, h->payload_len, &inner) != 0) {
        mg_inet_drop(inet, MG_DROP_ICMP_MALFORMED);
        return;
    }
    /* Only errors about datagrams we sent concern us. */
    int idx = inner.proto == MG_IPPROTO_TCP ? MG_INET_L4_TCP : inner.proto == MG_IPPROTO_UDP ? MG_INET_L4_UDP : -1;
    if (inner.src != inet->ipv4_addr || idx < 0 || !inet->l4[idx].icmp_error) {
        mg_inet_drop(inet, MG_DROP_ICMP_UNHANDLED);
        return;
    }
    inet->stats.icmp_errors_received++;
    const uint8_t *l4 = h->payload + inner.hdr_len;
    size_t l4_len = h->payload_len - inner.hdr_len;
    inet->l4[idx].icmp_error(inet->l4[idx].ctx, h->type, h->code, &inner, l4, l4_len);
}

void mg_icmp_input(struct mg_inet *inet, struct mg_buf *buf, const struct mg_ipv4_hdr *ip) {
    struct mg_icmp_hdr h;
    if (mg_icmp_parse(buf->data, buf->len, false, &h) != 0) {
        mg_inet_drop(inet, MG_DROP_ICMP_MALFORMED);
    } else if (mg_cksum(buf->data, buf->len) != 0) {
        mg_inet_drop(inet, MG_DROP_ICMP_BAD_CKSUM);
    } else if (h.type == MG_ICMP_ECHO_REQUEST && ip->dst == inet->ipv4_addr) {
        answer_echo(inet, buf, &h, ip);
        return; /* the buffer went out as the reply */
    } else if (h.type == MG_ICMP_DEST_UNREACH || h.type == MG_ICMP_TIME_EXCEEDED) {
        error_received(inet, &h);
    } else {
        /* Echo to a broadcast address (RFC 1122 allows silence), replies, others. */
        mg_inet_drop(inet, MG_DROP_ICMP_UNHANDLED);
    }
    mg_buf_free(buf);
}

/* ---- errors sent ---- */

static bool take_error_token(struct mg_inet *inet) {
    uint64_t now = mg_inet_now(inet);
    if (now > inet->icmp_err_refill_ns) {
        uint64_t earned = (now - inet->icmp_err_refill_ns) / MG_INET_ICMP_ERR_INTERVAL_NS;
        if (earned > 0) {
            uint64_t tokens = inet->icmp_err_tokens + earned;
            inet->icmp_err_tokens = (uint32_t)(tokens > MG_INET_ICMP_ERR_BURST ? MG_INET_ICMP_ERR_BURST : tokens);
            inet->icmp_err_refill_ns += earned * MG_INET_ICMP_ERR_INTERVAL_NS;
        }
    }
    if (inet->icmp_err_tokens == 0)
        return false;
    inet->icmp_err_tokens--;
    return true;
}

/* RFC 1122 3.2.2: never answer an ICMP error, a datagram to a broadcast or multicast
 * address, one from an address that names no single host, or a non-initial fragment. */
static bool may_answer(struct mg_inet *inet, const uint8_t *ip, size_t len, const struct mg_ipv4_hdr *h) {
    if (h->dst != inet->ipv4_addr || mg_inet_is_bad_source(inet, h->src))
        return false;
    if ((h->frag & MG_IPV4_OFFMASK) != 0)
        return false;
    if (h->proto == MG_IPPROTO_ICMP) {
        if (len <= h->hdr_len)
            return false;
        if (icmp_type_is_error(ip[h->hdr_len]))
            return false;
    }
    return true;
}

void mg_inet_icmp_send_error(struct mg_inet *inet, const uint8_t *ip, size_t len, uint8_t type, uint8_t code) {
    struct mg_ipv4_hdr h;
    if (!ip || mg_ipv4_parse(ip, len, false, &h) != 0)
        return;
    if (!may_answer(inet, ip, len, &h))
        return;
    if (!take_error_token(inet)) {
        mg_inet_drop(inet, MG_DROP_ICMP_RATE_LIMITED);
        return;
    }
    size_t quote = h.hdr_len + ICMP_QUOTE_L4_BYTES;
    if (quote > h.total_len)
        quote = h.total_len;
    struct mg_buf *b = mg_inet_alloc_tx(inet);
    if (!b)
        return;
    uint8_t *p = mg_buf_append(b, (uint32_t)(MG_ICMP_HDR_LEN + quote));
    if (!p) {
        mg_buf_free(b);
        return;
    }
    memcpy(p + MG_ICMP_HDR_LEN, ip, quote);
    struct mg_icmp_hdr msg = {.type = type, .code = code, .rest = 0};
    mg_icmp_build(p, MG_ICMP_HDR_LEN + quote, &msg, quote);
    if (mg_inet_ipv4_output(inet, b, h.src, MG_IPPROTO_ICMP) == 0 && type == MG_ICMP_DEST_UNREACH)
        inet->stats.icmp_unreach_sent++;
}
