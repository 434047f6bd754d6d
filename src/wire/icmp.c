/* wire/icmp.c — the ICMPv4 header (RFC 792).
 * The 8-byte header is common to every message type; the 4 bytes after the
 * checksum are handed up as `rest` for the type-specific reader (echo id/seq,
 * next-hop MTU), and the payload is referenced in place, never copied. */
#include "wire/wire.h"

#include <errno.h>

#include "wire/be.h"

int mg_icmp_parse(const uint8_t *p, size_t len, bool verify_cksum, struct mg_icmp_hdr *out) {
    if (len < MG_ICMP_HDR_LEN)
        return -EMSGSIZE;
    if (verify_cksum && mg_cksum(p, len) != 0)
        return -EBADMSG;
    out->type = p[0];
    out->code = p[1];
    out->cksum = mg_be16_load(p + 2);
    out->rest = mg_be32_load(p + 4);
    out->payload = p + MG_ICMP_HDR_LEN;
    out->payload_len = len - MG_ICMP_HDR_LEN;
    return 0;
}

size_t mg_icmp_build(uint8_t *p, size_t len, const struct mg_icmp_hdr *h, size_t payload_len) {
    if (len < MG_ICMP_HDR_LEN || payload_len > len - MG_ICMP_HDR_LEN)
        return 0;
    p[0] = h->type;
    p[1] = h->code;
    mg_be16_store(p + 2, 0);
    mg_be32_store(p + 4, h->rest);
    mg_be16_store(p + 2, mg_cksum(p, MG_ICMP_HDR_LEN + payload_len));
    return MG_ICMP_HDR_LEN;
}
