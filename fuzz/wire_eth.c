/* fuzz/wire_eth.c — fuzz target: the Ethernet parser. Whatever parses must rebuild
 * (untagged) into a header that parses to the same addresses and ethertype, and a
 * parse must never claim a header longer than the input. */
#include <string.h>

#include "fuzz/fuzz_common.h"
#include "wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct mg_eth_hdr h;
    if (mg_eth_parse(data, size, &h) != 0)
        return 0;
    FUZZ_CHECK(h.hdr_len == MG_ETH_HDR_LEN || (h.has_vlan && h.hdr_len == MG_ETH_HDR_LEN + 4));
    FUZZ_CHECK(h.hdr_len <= size);
    uint8_t out[MG_ETH_HDR_LEN];
    FUZZ_CHECK(mg_eth_build(out, sizeof(out) - 1, &h) == 0); /* too small: refused */
    FUZZ_CHECK(mg_eth_build(out, sizeof(out), &h) == MG_ETH_HDR_LEN);
    struct mg_eth_hdr again;
    FUZZ_CHECK(mg_eth_parse(out, sizeof(out), &again) == 0);
    FUZZ_CHECK(memcmp(again.dst, h.dst, MG_ETH_ALEN) == 0);
    FUZZ_CHECK(memcmp(again.src, h.src, MG_ETH_ALEN) == 0);
    FUZZ_CHECK(again.ethertype == h.ethertype);
    FUZZ_CHECK(!again.has_vlan && again.hdr_len == MG_ETH_HDR_LEN);
    if (!h.has_vlan)
        FUZZ_CHECK(memcmp(out, data, MG_ETH_HDR_LEN) == 0); /* byte for byte */
    return 0;
}
