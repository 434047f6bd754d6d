/* wire/udp.c — the UDP header (RFC 768) and the IPv4 transport checksum that UDP
 * and TCP share.
 * The length field is checked against the bytes present so the payload can be
 * taken as [8, len field) without another check; bytes beyond it (IP or Ethernet
 * padding) are not part of the datagram. A zero checksum ("none sent") and the
 * 0 -> 0xffff substitution on send are the UDP layer's business, not this file's. */
#include "wire/wire.h"

#include <errno.h>

#include "wire/be.h"

int mg_udp_parse(const uint8_t *p, size_t len, struct mg_udp_hdr *out) {
    if (len < MG_UDP_HDR_LEN)
        return -EMSGSIZE;
    uint16_t udp_len = mg_be16_load(p + 4);
    if (udp_len < MG_UDP_HDR_LEN || udp_len > len)
        return -EBADMSG;
    out->sport = mg_be16_load(p);
    out->dport = mg_be16_load(p + 2);
    out->len = udp_len;
    out->cksum = mg_be16_load(p + 6);
    return 0;
}

size_t mg_udp_build(uint8_t *p, size_t len, const struct mg_udp_hdr *h) {
    if (len < MG_UDP_HDR_LEN)
        return 0;
    mg_be16_store(p, h->sport);
    mg_be16_store(p + 2, h->dport);
    mg_be16_store(p + 4, h->len);
    mg_be16_store(p + 6, h->cksum);
    return MG_UDP_HDR_LEN;
}

uint16_t mg_l4_cksum_ipv4(uint32_t src, uint32_t dst, uint8_t proto, const void *l4, size_t l4_len) {
    uint32_t sum = mg_cksum_pseudo_ipv4(src, dst, proto, (uint16_t)l4_len);
    return mg_cksum_finish(mg_cksum_add(sum, l4, l4_len));
}
