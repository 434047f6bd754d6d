/* fuzz/wire_arp.c — fuzz target: the ARP parser (Ethernet/IPv4). What parses must
 * rebuild into 28 bytes that parse to the same fields. */
#include <string.h>

#include "fuzz/fuzz_common.h"
#include "wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct mg_arp a;
    if (mg_arp_parse(data, size, &a) != 0)
        return 0;
    FUZZ_CHECK(size >= MG_ARP_LEN);
    uint8_t out[MG_ARP_LEN];
    FUZZ_CHECK(mg_arp_build(out, sizeof(out) - 1, &a) == 0);
    FUZZ_CHECK(mg_arp_build(out, sizeof(out), &a) == MG_ARP_LEN);
    struct mg_arp again;
    FUZZ_CHECK(mg_arp_parse(out, sizeof(out), &again) == 0);
    FUZZ_CHECK(again.op == a.op && again.spa == a.spa && again.tpa == a.tpa);
    FUZZ_CHECK(memcmp(again.sha, a.sha, MG_ETH_ALEN) == 0 && memcmp(again.tha, a.tha, MG_ETH_ALEN) == 0);
    FUZZ_CHECK(memcmp(out, data, MG_ARP_LEN) == 0); /* the fixed header is reproduced exactly */
    return 0;
}
