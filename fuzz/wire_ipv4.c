/* fuzz/wire_ipv4.c — fuzz target: the IPv4 header parser and the header checksum.
 * Checks: a parse stays inside the input; what parses rebuilds (as a plain 20-byte
 * header) into one that parses to the same fields, byte for byte when the original
 * had no options; a built checksum verifies, and stays valid when a field is changed
 * with the incremental update (RFC 1624). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_common.h"
#include "wire/wire.h"

static void check_same(const struct mg_ipv4_hdr *a, const struct mg_ipv4_hdr *b) {
    FUZZ_CHECK(a->tos == b->tos && a->total_len == b->total_len && a->id == b->id);
    FUZZ_CHECK(a->frag == b->frag && a->ttl == b->ttl && a->proto == b->proto);
    FUZZ_CHECK(a->src == b->src && a->dst == b->dst);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct mg_ipv4_hdr h;
    int plain = mg_ipv4_parse(data, size, false, &h);
    struct mg_ipv4_hdr hv;
    int verified = mg_ipv4_parse(data, size, true, &hv);
    if (verified == 0)
        FUZZ_CHECK(plain == 0);
    if (plain != 0)
        return 0;
    FUZZ_CHECK(h.hdr_len >= MG_IPV4_HDR_LEN && h.hdr_len <= h.total_len && h.total_len <= size);
    FUZZ_CHECK(verified == 0 || verified == -EBADMSG);
    FUZZ_CHECK((verified == 0) == (mg_cksum(data, h.hdr_len) == 0));

    /* Rebuild into a datagram of the same total length (the payload is irrelevant). */
    uint8_t *out = calloc(1, h.total_len);
    FUZZ_CHECK(out != NULL);
    FUZZ_CHECK(mg_ipv4_build(out, MG_IPV4_HDR_LEN - 1, &h, true) == 0);
    FUZZ_CHECK(mg_ipv4_build(out, h.total_len, &h, false) == MG_IPV4_HDR_LEN);
    struct mg_ipv4_hdr again;
    FUZZ_CHECK(mg_ipv4_parse(out, h.total_len, false, &again) == 0);
    check_same(&h, &again);
    FUZZ_CHECK(again.hdr_len == MG_IPV4_HDR_LEN && again.cksum == h.cksum);
    if (h.hdr_len == MG_IPV4_HDR_LEN)
        FUZZ_CHECK(memcmp(out, data, MG_IPV4_HDR_LEN) == 0);

    FUZZ_CHECK(mg_ipv4_build(out, h.total_len, &h, true) == MG_IPV4_HDR_LEN);
    FUZZ_CHECK(mg_ipv4_parse(out, h.total_len, true, &again) == 0);
    check_same(&h, &again);

    /* Change the id and the addresses with incremental updates: still valid. */
    uint16_t old_id, new_id = (uint16_t)~h.id, cks;
    memcpy(&old_id, out + 4, 2);
    memcpy(&cks, out + 10, 2);
    uint16_t new_id_be = (uint16_t)((new_id >> 8) | (new_id << 8));
    memcpy(out + 4, &new_id_be, 2);
    cks = mg_cksum_update16(cks, old_id, new_id_be);
    memcpy(out + 10, &cks, 2);
    FUZZ_CHECK(mg_ipv4_parse(out, h.total_len, true, &again) == 0);
    uint32_t old_src, new_src;
    memcpy(&old_src, out + 12, 4);
    memcpy(&new_src, out + 16, 4); /* swap in the destination as the new source */
    memcpy(out + 12, &new_src, 4);
    cks = mg_cksum_update32(cks, old_src, new_src);
    memcpy(out + 10, &cks, 2);
    FUZZ_CHECK(mg_ipv4_parse(out, h.total_len, true, &again) == 0);
    FUZZ_CHECK(again.src == h.dst && again.id == new_id);
    free(out);
    return 0;
}
