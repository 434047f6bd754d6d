/* wire/arp.c — ARP for IPv4 over Ethernet (RFC 826).
 * Only the one combination the stack resolves is accepted: hardware type 1
 * (Ethernet, 6-byte addresses) and protocol 0x0800 (IPv4, 4-byte addresses).
 * Bytes after the 28-byte body (Ethernet minimum-frame padding) are ignored. */
#include "wire/wire.h"

#include <errno.h>
#include <string.h>

#include "wire/be.h"

#define ARP_HTYPE_ETHERNET 1
#define ARP_PLEN_IPV4 4

int mg_arp_parse(const uint8_t *p, size_t len, struct mg_arp *out) {
    if (len < MG_ARP_LEN)
        return -EMSGSIZE;
    if (mg_be16_load(p) != ARP_HTYPE_ETHERNET || mg_be16_load(p + 2) != MG_ETHERTYPE_IPV4 || p[4] != MG_ETH_ALEN ||
        p[5] != ARP_PLEN_IPV4)
        return -EPROTONOSUPPORT;
    uint16_t op = mg_be16_load(p + 6);
    if (op != MG_ARP_OP_REQUEST && op != MG_ARP_OP_REPLY)
        return -EBADMSG;
    out->op = op;
    memcpy(out->sha, p + 8, MG_ETH_ALEN);
    out->spa = mg_be32_load(p + 14);
    memcpy(out->tha, p + 18, MG_ETH_ALEN);
    out->tpa = mg_be32_load(p + 24);
    return 0;
}

size_t mg_arp_build(uint8_t *p, size_t len, const struct mg_arp *a) {
    if (len < MG_ARP_LEN)
        return 0;
    mg_be16_store(p, ARP_HTYPE_ETHERNET);
    mg_be16_store(p + 2, MG_ETHERTYPE_IPV4);
    p[4] = MG_ETH_ALEN;
    p[5] = ARP_PLEN_IPV4;
    mg_be16_store(p + 6, a->op);
    memcpy(p + 8, a->sha, MG_ETH_ALEN);
    mg_be32_store(p + 14, a->spa);
    memcpy(p + 18, a->tha, MG_ETH_ALEN);
    mg_be32_store(p + 24, a->tpa);
    return MG_ARP_LEN;
}
