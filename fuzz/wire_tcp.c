/* fuzz/wire_tcp.c — fuzz target: the TCP header and options parser. What parses
 * rebuilds (options in margay's canonical order) into a header that parses to the
 * same fields and options, less only the SACK blocks that do not fit beside the other
 * options, as mg_tcp_build documents; building the rebuilt header again gives the
 * same bytes; a filled checksum verifies. */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_common.h"
#include "wire/wire.h"

/* SACK blocks that fit beside o's other options in 40 bytes. */
static unsigned sack_blocks_that_fit(const struct mg_tcp_opts *o) {
    struct mg_tcp_opts rest = *o;
    rest.num_sack_blocks = 0;
    size_t room = 40 - mg_tcp_opts_len(&rest);
    return room >= 12 ? (unsigned)((room - 4) / 8) : 0;
}

static void check_opts(const struct mg_tcp_opts *a, const struct mg_tcp_opts *b) {
    FUZZ_CHECK(a->has_mss == b->has_mss && (!a->has_mss || a->mss == b->mss));
    FUZZ_CHECK(a->has_wscale == b->has_wscale && (!a->has_wscale || a->wscale == b->wscale));
    FUZZ_CHECK(a->sack_permitted == b->sack_permitted);
    FUZZ_CHECK(a->has_timestamp == b->has_timestamp);
    FUZZ_CHECK(!a->has_timestamp || (a->ts_val == b->ts_val && a->ts_ecr == b->ts_ecr));
    unsigned expect = a->num_sack_blocks;
    unsigned fit = sack_blocks_that_fit(a);
    if (expect > fit)
        expect = fit;
    FUZZ_CHECK(b->num_sack_blocks == expect);
    for (unsigned i = 0; i < expect; i++)
        FUZZ_CHECK(a->sack[i].left == b->sack[i].left && a->sack[i].right == b->sack[i].right);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct mg_tcp_hdr h;
    if (mg_tcp_parse(data, size, &h) != 0)
        return 0;
    FUZZ_CHECK(h.hdr_len >= MG_TCP_HDR_LEN && h.hdr_len <= MG_TCP_MAX_HDR_LEN && h.hdr_len <= size);
    FUZZ_CHECK(h.opts.num_sack_blocks <= MG_TCP_MAX_SACK_BLOCKS);
    size_t payload = size - h.hdr_len;
    size_t olen = mg_tcp_opts_len(&h.opts);
    FUZZ_CHECK(olen % 4 == 0 && olen <= 40);

    uint8_t *out = malloc(MG_TCP_MAX_HDR_LEN + payload);
    FUZZ_CHECK(out != NULL);
    FUZZ_CHECK(mg_tcp_build(out, MG_TCP_HDR_LEN + olen - 1, &h) == 0);
    size_t hl = mg_tcp_build(out, MG_TCP_MAX_HDR_LEN, &h);
    FUZZ_CHECK(hl == MG_TCP_HDR_LEN + olen);
    memcpy(out + hl, data + h.hdr_len, payload);
    struct mg_tcp_hdr again;
    FUZZ_CHECK(mg_tcp_parse(out, hl + payload, &again) == 0);
    FUZZ_CHECK(again.sport == h.sport && again.dport == h.dport && again.seq == h.seq && again.ack == h.ack);
    FUZZ_CHECK(again.flags == h.flags && again.window == h.window && again.cksum == h.cksum);
    FUZZ_CHECK(again.urg_ptr == h.urg_ptr && again.hdr_len == hl);
    check_opts(&h.opts, &again.opts);

    /* Canonical form is a fixed point. */
    uint8_t twice[MG_TCP_MAX_HDR_LEN];
    FUZZ_CHECK(mg_tcp_build(twice, sizeof(twice), &again) == hl);
    FUZZ_CHECK(memcmp(twice, out, hl) == 0);

    /* A filled checksum verifies (addresses: any; here fixed). */
    again.cksum = 0;
    mg_tcp_build(out, hl, &again);
    again.cksum = mg_l4_cksum_ipv4(0xc0a80001, 0xc0a80002, MG_IPPROTO_TCP, out, hl + payload);
    mg_tcp_build(out, hl, &again);
    FUZZ_CHECK(mg_l4_cksum_ipv4(0xc0a80001, 0xc0a80002, MG_IPPROTO_TCP, out, hl + payload) == 0);
    free(out);
    return 0;
}
