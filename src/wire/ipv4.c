/* wire/ipv4.c — the IPv4 header (RFC 791).
 * Parsing checks everything the layers above rely on (version, header and total
 * lengths inside the frame, optionally the checksum) so they can index the payload
 * without further bounds checks. Options are not interpreted: hdr_len steps over
 * them. Building always writes a plain 20-byte header; the stack sends no options.
 *
 * Error choice: a frame too short for the 20-byte header or for the IHL it
 * announces is -EMSGSIZE; a total length that is inconsistent with the header or
 * runs past the frame is -EBADMSG. */
#include "wire/wire.h"

#include <errno.h>
#include <string.h>

#include "wire/be.h"

int mg_ipv4_parse(const uint8_t *p, size_t len, bool verify_cksum, struct mg_ipv4_hdr *out) {
    if (len < MG_IPV4_HDR_LEN)
        return -EMSGSIZE;
    if ((p[0] >> 4) != 4)
        return -EBADMSG;
    uint16_t hdr_len = (uint16_t)((p[0] & 0x0f) * 4);
    if (hdr_len < MG_IPV4_HDR_LEN)
        return -EBADMSG;
    if (hdr_len > len)
        return -EMSGSIZE;
    uint16_t total_len = mg_be16_load(p + 2);
    if (total_len < hdr_len || total_len > len)
        return -EBADMSG;
    if (verify_cksum && mg_cksum(p, hdr_len) != 0)
        return -EBADMSG;
    out->hdr_len = hdr_len;
    out->tos = p[1];
    out->total_len = total_len;
    out->id = mg_be16_load(p + 4);
    out->frag = mg_be16_load(p + 6);
    out->ttl = p[8];
    out->proto = p[9];
    out->cksum = mg_be16_load(p + 10);
    out->src = mg_be32_load(p + 12);
    out->dst = mg_be32_load(p + 16);
    return 0;
}

/* Without fill_cksum the field is written as h->cksum (0 for devices that fill it
 * in; the parsed value to reproduce a header byte for byte). */
size_t mg_ipv4_build(uint8_t *p, size_t len, const struct mg_ipv4_hdr *h, bool fill_cksum) {
    if (len < MG_IPV4_HDR_LEN)
        return 0;
    p[0] = 0x45; /* version 4, IHL 5 */
    p[1] = h->tos;
    mg_be16_store(p + 2, h->total_len);
    mg_be16_store(p + 4, h->id);
    mg_be16_store(p + 6, h->frag);
    p[8] = h->ttl;
    p[9] = h->proto;
    mg_be16_store(p + 10, fill_cksum ? 0 : h->cksum);
    mg_be32_store(p + 12, h->src);
    mg_be32_store(p + 16, h->dst);
    if (fill_cksum)
        mg_be16_store(p + 10, mg_cksum(p, MG_IPV4_HDR_LEN));
    return MG_IPV4_HDR_LEN;
}
