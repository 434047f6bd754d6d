/* wire/tcp_opts.c — TCP options: MSS (RFC 9293), window scale and timestamps
 * (RFC 7323), SACK-permitted and SACK (RFC 2018).
 *
 * Parsing: EOL ends the list, NOP is skipped, every other option must carry a
 * length byte inside the options area, with length >= 2 and not running past the
 * area. Known options must have their exact length (SACK: 2 + 8n, 1 <= n <= 4) or
 * the segment is refused with -EBADMSG; unknown kinds are skipped by length. When an
 * option appears more than once, the last occurrence wins (RFC 9293 says nothing;
 * taking the last one keeps parsing single-pass and duplicate options are rare
 * enough not to deserve their own error).
 *
 * Building: a fixed order that keeps every option 32-bit aligned and lets the usual
 * SYN (MSS, SACK-permitted, timestamps, window scale) fill exactly 20 bytes:
 *   MSS                      02 04 mm mm
 *   SACK-permitted + TS      04 02 08 0a <val> <ecr>   (both)
 *   TS alone                 01 01 08 0a <val> <ecr>
 *   SACK-permitted alone     01 01 04 02
 *   window scale             01 03 03 ws
 *   SACK blocks              01 01 05 len <blocks>
 * Each piece is a multiple of 4 bytes, so the total needs no padding. SACK blocks
 * that would push the options past 40 bytes are left off from the end (3 fit next to
 * timestamps, 4 without). */
#include "wire/tcp_opts.h"

#include <errno.h>
#include <string.h>

#include "wire/be.h"

#define OPTLEN_MSS 4
#define OPTLEN_WSCALE 3
#define OPTLEN_SACK_PERMITTED 2
#define OPTLEN_TIMESTAMP 10
#define OPTLEN_SACK_BASE 2
#define OPTLEN_SACK_BLOCK 8

/* Sizes of the aligned pieces build writes. */
#define PIECE_MSS 4
#define PIECE_SACK_PERMITTED 4
#define PIECE_TIMESTAMP 12 /* with SACK-permitted packed into its 2 padding bytes */
#define PIECE_WSCALE 4
#define PIECE_SACK_BASE 4

/* Decodes one option (kind, total length optlen, value bytes v) into o. */
static int parse_option(uint8_t kind, uint8_t optlen, const uint8_t *v, struct mg_tcp_opts *o) {
    switch (kind) {
    case MG_TCPOPT_MSS:
        if (optlen != OPTLEN_MSS)
            return -EBADMSG;
        o->has_mss = true;
        o->mss = mg_be16_load(v);
        return 0;
    case MG_TCPOPT_WSCALE:
        if (optlen != OPTLEN_WSCALE)
            return -EBADMSG;
        o->has_wscale = true;
        o->wscale = v[0];
        return 0;
    case MG_TCPOPT_SACK_PERMITTED:
        if (optlen != OPTLEN_SACK_PERMITTED)
            return -EBADMSG;
        o->sack_permitted = true;
        return 0;
    case MG_TCPOPT_TIMESTAMP:
        if (optlen != OPTLEN_TIMESTAMP)
            return -EBADMSG;
        o->has_timestamp = true;
        o->ts_val = mg_be32_load(v);
        o->ts_ecr = mg_be32_load(v + 4);
        return 0;
    case MG_TCPOPT_SACK: {
        size_t body = (size_t)optlen - OPTLEN_SACK_BASE;
        size_t n = body / OPTLEN_SACK_BLOCK;
        if (body % OPTLEN_SACK_BLOCK != 0 || n < 1 || n > MG_TCP_MAX_SACK_BLOCKS)
            return -EBADMSG;
        for (size_t i = 0; i < n; i++) {
            o->sack[i].left = mg_be32_load(v + i * OPTLEN_SACK_BLOCK);
            o->sack[i].right = mg_be32_load(v + i * OPTLEN_SACK_BLOCK + 4);
        }
        o->num_sack_blocks = (uint8_t)n;
        return 0;
    }
    default:
        return 0; /* unknown kinds are skipped by length */
    }
}

int mg_tcp_opts_parse(const uint8_t *p, size_t len, struct mg_tcp_opts *out) {
    memset(out, 0, sizeof(*out));
    size_t i = 0;
    while (i < len) {
        uint8_t kind = p[i];
        if (kind == MG_TCPOPT_EOL)
            break;
        if (kind == MG_TCPOPT_NOP) {
            i++;
            continue;
        }
        if (len - i < 2)
            return -EBADMSG; /* the length byte itself is missing */
        uint8_t optlen = p[i + 1];
        if (optlen < 2 || optlen > len - i)
            return -EBADMSG;
        int err = parse_option(kind, optlen, p + i + 2, out);
        if (err < 0)
            return err;
        i += optlen;
    }
    return 0;
}

/* Bytes taken by everything except the SACK blocks option. */
static size_t fixed_opts_len(const struct mg_tcp_opts *o) {
    size_t n = 0;
    if (o->has_mss)
        n += PIECE_MSS;
    if (o->has_timestamp)
        n += PIECE_TIMESTAMP;
    else if (o->sack_permitted)
        n += PIECE_SACK_PERMITTED;
    if (o->has_wscale)
        n += PIECE_WSCALE;
    return n;
}

uint8_t mg_tcp_opts_sack_blocks_sent(const struct mg_tcp_opts *o) {
    size_t wanted = o->num_sack_blocks;
    if (wanted > MG_TCP_MAX_SACK_BLOCKS)
        wanted = MG_TCP_MAX_SACK_BLOCKS;
    size_t room = MG_TCP_MAX_OPTS_LEN - fixed_opts_len(o);
    size_t fit = room < PIECE_SACK_BASE ? 0 : (room - PIECE_SACK_BASE) / OPTLEN_SACK_BLOCK;
    return (uint8_t)(wanted < fit ? wanted : fit);
}

size_t mg_tcp_opts_len(const struct mg_tcp_opts *o) {
    size_t blocks = mg_tcp_opts_sack_blocks_sent(o);
    return fixed_opts_len(o) + (blocks ? PIECE_SACK_BASE + blocks * OPTLEN_SACK_BLOCK : 0);
}

static uint8_t *put4(uint8_t *q, uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    q[0] = a;
    q[1] = b;
    q[2] = c;
    q[3] = d;
    return q + 4;
}

static uint8_t *put_timestamp(uint8_t *q, const struct mg_tcp_opts *o) {
    if (o->sack_permitted)
        q = put4(q, MG_TCPOPT_SACK_PERMITTED, OPTLEN_SACK_PERMITTED, MG_TCPOPT_TIMESTAMP, OPTLEN_TIMESTAMP);
    else
        q = put4(q, MG_TCPOPT_NOP, MG_TCPOPT_NOP, MG_TCPOPT_TIMESTAMP, OPTLEN_TIMESTAMP);
    mg_be32_store(q, o->ts_val);
    mg_be32_store(q + 4, o->ts_ecr);
    return q + 8;
}

static uint8_t *put_sack_blocks(uint8_t *q, const struct mg_tcp_opts *o, size_t blocks) {
    q = put4(q, MG_TCPOPT_NOP, MG_TCPOPT_NOP, MG_TCPOPT_SACK, (uint8_t)(OPTLEN_SACK_BASE + blocks * OPTLEN_SACK_BLOCK));
    for (size_t i = 0; i < blocks; i++) {
        mg_be32_store(q, o->sack[i].left);
        mg_be32_store(q + 4, o->sack[i].right);
        q += OPTLEN_SACK_BLOCK;
    }
    return q;
}

size_t mg_tcp_opts_build(uint8_t *p, size_t len, const struct mg_tcp_opts *o) {
    size_t total = mg_tcp_opts_len(o);
    if (total > len)
        return 0;
    uint8_t *q = p;
    if (o->has_mss) {
        q = put4(q, MG_TCPOPT_MSS, OPTLEN_MSS, 0, 0);
        mg_be16_store(q - 2, o->mss);
    }
    if (o->has_timestamp)
        q = put_timestamp(q, o);
    else if (o->sack_permitted)
        q = put4(q, MG_TCPOPT_NOP, MG_TCPOPT_NOP, MG_TCPOPT_SACK_PERMITTED, OPTLEN_SACK_PERMITTED);
    if (o->has_wscale)
        q = put4(q, MG_TCPOPT_NOP, MG_TCPOPT_WSCALE, OPTLEN_WSCALE, o->wscale);
    size_t blocks = mg_tcp_opts_sack_blocks_sent(o);
    if (blocks)
        q = put_sack_blocks(q, o, blocks);
    return (size_t)(q - p);
}
