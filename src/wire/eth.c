/* wire/eth.c — Ethernet II framing, with one 802.1Q tag skipped.
 * The stack speaks untagged Ethernet; a single VLAN tag (as some NICs and vdevs
 * leave in place) is stepped over and its TCI reported, so a port on an access
 * VLAN still works. Stacked tags (QinQ) are refused rather than guessed at. */
#include "wire/wire.h"

#include <errno.h>
#include <string.h>

#include "wire/be.h"

#define VLAN_TAG_LEN 4
#define ETHERTYPE_QINQ 0x88a8     /* IEEE 802.1ad service tag */
#define ETHERTYPE_QINQ_OLD 0x9100 /* pre-standard stacked tag */

const uint8_t mg_eth_broadcast[MG_ETH_ALEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static bool is_vlan_ethertype(uint16_t type) {
    return type == MG_ETHERTYPE_VLAN || type == ETHERTYPE_QINQ || type == ETHERTYPE_QINQ_OLD;
}

int mg_eth_parse(const uint8_t *p, size_t len, struct mg_eth_hdr *out) {
    if (len < MG_ETH_HDR_LEN)
        return -EMSGSIZE;
    memset(out, 0, sizeof(*out));
    memcpy(out->dst, p, MG_ETH_ALEN);
    memcpy(out->src, p + MG_ETH_ALEN, MG_ETH_ALEN);
    uint16_t type = mg_be16_load(p + 12);
    out->hdr_len = MG_ETH_HDR_LEN;
    if (!is_vlan_ethertype(type)) {
        out->ethertype = type;
        return 0;
    }
    /* An outer service tag always carries another tag inside: QinQ. */
    if (type != MG_ETHERTYPE_VLAN)
        return -EPROTONOSUPPORT;
    if (len < MG_ETH_HDR_LEN + VLAN_TAG_LEN)
        return -EMSGSIZE;
    uint16_t inner = mg_be16_load(p + 16);
    if (is_vlan_ethertype(inner))
        return -EPROTONOSUPPORT;
    out->has_vlan = true;
    out->vlan_tci = mg_be16_load(p + 14);
    out->ethertype = inner;
    out->hdr_len = MG_ETH_HDR_LEN + VLAN_TAG_LEN;
    return 0;
}

size_t mg_eth_build(uint8_t *p, size_t len, const struct mg_eth_hdr *h) {
    if (len < MG_ETH_HDR_LEN)
        return 0;
    memcpy(p, h->dst, MG_ETH_ALEN);
    memcpy(p + MG_ETH_ALEN, h->src, MG_ETH_ALEN);
    mg_be16_store(p + 12, h->ethertype);
    return MG_ETH_HDR_LEN;
}
