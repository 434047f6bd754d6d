/* fuzz/wire_icmp.c — fuzz target: the ICMPv4 parser. The payload it reports must lie
 * inside the input; what parses rebuilds (header after a copy of the payload) into a
 * message whose checksum verifies and whose fields and payload are the same. */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_common.h"
#include "wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct mg_icmp_hdr h;
    int plain = mg_icmp_parse(data, size, false, &h);
    struct mg_icmp_hdr hv;
    int verified = mg_icmp_parse(data, size, true, &hv);
    if (verified == 0)
        FUZZ_CHECK(plain == 0);
    if (plain != 0)
        return 0;
    FUZZ_CHECK(size >= MG_ICMP_HDR_LEN);
    FUZZ_CHECK(h.payload == data + MG_ICMP_HDR_LEN && h.payload_len == size - MG_ICMP_HDR_LEN);
    FUZZ_CHECK((verified == 0) == (mg_cksum(data, size) == 0));

    uint8_t *out = malloc(size);
    FUZZ_CHECK(out != NULL);
    memcpy(out + MG_ICMP_HDR_LEN, h.payload, h.payload_len);
    FUZZ_CHECK(mg_icmp_build(out, MG_ICMP_HDR_LEN - 1, &h, 0) == 0);
    FUZZ_CHECK(mg_icmp_build(out, size, &h, h.payload_len) == MG_ICMP_HDR_LEN);
    struct mg_icmp_hdr again;
    FUZZ_CHECK(mg_icmp_parse(out, size, true, &again) == 0);
    FUZZ_CHECK(again.type == h.type && again.code == h.code && again.rest == h.rest);
    FUZZ_CHECK(again.payload_len == h.payload_len);
    FUZZ_CHECK(memcmp(again.payload, h.payload, h.payload_len) == 0);
    if (verified == 0)
        FUZZ_CHECK(memcmp(out, data, size) == 0 || again.cksum != h.cksum); /* 0 and 0xffff are both zero */
    free(out);
    return 0;
}
