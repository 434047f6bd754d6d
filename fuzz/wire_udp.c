/* fuzz/wire_udp.c — fuzz target: the UDP parser and the IPv4 pseudo-header checksum.
 * What parses rebuilds into a header that parses to the same fields; a checksum
 * computed over the rebuilt datagram (for addresses taken from the input) verifies. */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_common.h"
#include "wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct mg_udp_hdr h;
    if (mg_udp_parse(data, size, &h) != 0)
        return 0;
    FUZZ_CHECK(h.len >= MG_UDP_HDR_LEN && h.len <= size);
    uint8_t *out = malloc(h.len);
    FUZZ_CHECK(out != NULL);
    memcpy(out, data, h.len);
    FUZZ_CHECK(mg_udp_build(out, MG_UDP_HDR_LEN - 1, &h) == 0);
    FUZZ_CHECK(mg_udp_build(out, h.len, &h) == MG_UDP_HDR_LEN);
    FUZZ_CHECK(memcmp(out, data, h.len) == 0);
    struct mg_udp_hdr again;
    FUZZ_CHECK(mg_udp_parse(out, h.len, &again) == 0);
    FUZZ_CHECK(again.sport == h.sport && again.dport == h.dport && again.len == h.len && again.cksum == h.cksum);

    /* Fill a checksum for some addresses; the receiver's check then gives 0. */
    uint32_t src = 0x0a000001, dst = 0x0a000002;
    if (h.len >= 16) {
        memcpy(&src, data + 8, 4);
        memcpy(&dst, data + 12, 4);
    }
    struct mg_udp_hdr zero = h;
    zero.cksum = 0;
    mg_udp_build(out, h.len, &zero);
    uint16_t c = mg_l4_cksum_ipv4(src, dst, MG_IPPROTO_UDP, out, h.len);
    zero.cksum = c;
    mg_udp_build(out, h.len, &zero);
    FUZZ_CHECK(mg_l4_cksum_ipv4(src, dst, MG_IPPROTO_UDP, out, h.len) == 0);
    free(out);
    return 0;
}
