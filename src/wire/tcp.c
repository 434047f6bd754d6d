/* wire/tcp.c — the TCP header (RFC 9293); the options live in tcp_opts.c.
 * Parsing guarantees hdr_len is within the bytes given, so the payload is
 * [hdr_len, len) with no further checks. A segment too short for the fixed header
 * or for the data offset it announces is -EMSGSIZE; a data offset below 5 or a
 * malformed option is -EBADMSG. The reserved/AE bits beside the data offset are
 * ignored on input and written as 0. */
#include "wire/wire.h"

#include <errno.h>

#include "wire/be.h"
#include "wire/tcp_opts.h"

int mg_tcp_parse(const uint8_t *p, size_t len, struct mg_tcp_hdr *out) {
    if (len < MG_TCP_HDR_LEN)
        return -EMSGSIZE;
    uint16_t hdr_len = (uint16_t)((p[12] >> 4) * 4);
    if (hdr_len < MG_TCP_HDR_LEN)
        return -EBADMSG;
    if (hdr_len > len)
        return -EMSGSIZE;
    int err = mg_tcp_opts_parse(p + MG_TCP_HDR_LEN, hdr_len - MG_TCP_HDR_LEN, &out->opts);
    if (err < 0)
        return err;
    out->sport = mg_be16_load(p);
    out->dport = mg_be16_load(p + 2);
    out->seq = mg_be32_load(p + 4);
    out->ack = mg_be32_load(p + 8);
    out->hdr_len = hdr_len;
    out->flags = p[13];
    out->window = mg_be16_load(p + 14);
    out->cksum = mg_be16_load(p + 16);
    out->urg_ptr = mg_be16_load(p + 18);
    return 0;
}

size_t mg_tcp_build(uint8_t *p, size_t len, const struct mg_tcp_hdr *h) {
    size_t hdr_len = MG_TCP_HDR_LEN + mg_tcp_opts_len(&h->opts);
    if (len < hdr_len)
        return 0;
    mg_be16_store(p, h->sport);
    mg_be16_store(p + 2, h->dport);
    mg_be32_store(p + 4, h->seq);
    mg_be32_store(p + 8, h->ack);
    p[12] = (uint8_t)((hdr_len / 4) << 4);
    p[13] = h->flags;
    mg_be16_store(p + 14, h->window);
    mg_be16_store(p + 16, h->cksum);
    mg_be16_store(p + 18, h->urg_ptr);
    mg_tcp_opts_build(p + MG_TCP_HDR_LEN, len - MG_TCP_HDR_LEN, &h->opts);
    return hdr_len;
}
