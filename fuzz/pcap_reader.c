/* fuzz/pcap_reader.c — fuzz target: the capture reader (pcap/reader.c), what `margay
 * replay` trusts to turn any pcap or pcapng file into Ethernet frames.
 *
 * The first byte chooses what the rest is:
 *   even: a capture file, opened from memory (fmemopen, mg_cap_open_stream) and read
 *         to its end with mg_cap_next, as margay replay reads one: every frame it hands
 *         out must be a whole Ethernet header or more, within MG_CAP_MAX_FRAME, and
 *         readable to its last byte; a refusal must come with a message;
 *   odd:  one captured packet for mg_cap_to_ethernet, the link type chosen by the
 *         byte's upper bits among the supported ones and one that is not: what it
 *         returns must be the packet behind the right header (the link header gone,
 *         the ethertype from the IP version or the cooked header, the cooked source
 *         MAC kept), it must fit an exactly sized buffer and not one a byte shorter,
 *         and an unsupported link type must say so.
 * Seeds (fuzz/make-corpora.py) are the shared captures and the simulator's pcapng
 * files, cut to their first frames, and their packets re-encoded in every link type. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_common.h"
#include "pcap/reader.h"
#include "wire/wire.h"

#define MAX_FRAMES 4096 /* a bound on one input's work */

static const int link_types[] = {
    MG_CAP_LINK_NULL, MG_CAP_LINK_EN10MB,     MG_CAP_LINK_RAW_DLT, MG_CAP_LINK_RAW_DLT14,
    MG_CAP_LINK_RAW,  MG_CAP_LINK_LOOP,       MG_CAP_LINK_LINUX_SLL, MG_CAP_LINK_IPV4,
    MG_CAP_LINK_IPV6, MG_CAP_LINK_LINUX_SLL2, 147 /* LINKTYPE_USER0: not supported */
};
#define N_LINK_TYPES (sizeof(link_types) / sizeof(link_types[0]))

static uint8_t out[MG_CAP_MAX_FRAME + 64];

static uint16_t be16(const uint8_t *p) {
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* Reads a whole capture from memory. */
static void read_capture(const uint8_t *data, size_t size) {
    if (size == 0)
        return; /* fmemopen needs a buffer */
    /* fmemopen reads in place; a copy keeps the input const. */
    uint8_t *copy = malloc(size);
    if (copy == NULL)
        return;
    memcpy(copy, data, size);
    FILE *f = fmemopen(copy, size, "rb");
    if (f == NULL) {
        free(copy);
        return;
    }
    char err[512] = "";
    struct mg_cap_reader *r;
    int rc = mg_cap_open_stream(f, "fuzz-input", &r, err, sizeof(err));
    if (rc != 0) {
        FUZZ_CHECK(rc == -EINVAL || rc == -EPROTONOSUPPORT || rc == -ENOMEM);
        FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
        free(copy);
        return;
    }
    FUZZ_CHECK(mg_cap_link_supported(mg_cap_linktype(r)));
    unsigned sum = 0;
    for (int i = 0; i < MAX_FRAMES; i++) {
        struct mg_cap_frame fr;
        err[0] = '\0';
        rc = mg_cap_next(r, &fr, err, sizeof(err));
        if (rc == 0)
            break;
        if (rc < 0) {
            FUZZ_CHECK(err[0] != '\0');
            if (rc == -EPROTO)
                continue; /* one packet refused: the reader goes on */
            break;
        }
        FUZZ_CHECK(rc == 1);
        FUZZ_CHECK(fr.len >= MG_ETH_HDR_LEN && fr.len <= MG_CAP_MAX_FRAME);
        for (uint32_t j = 0; j < fr.len; j++) /* every byte handed out is readable */
            sum += fr.data[j];
    }
    (void)sum;
    mg_cap_close(r);
    free(copy);
}

/* The IPv4/IPv6 ethertype for an IP packet, 0 if it is neither. */
static uint16_t ip_ethertype(const uint8_t *p, size_t len) {
    if (len < 1)
        return 0;
    return (p[0] >> 4) == 4 ? 0x0800 : (p[0] >> 4) == 6 ? 0x86dd : 0;
}

/* Converts one packet and checks the result against what the link type means. */
static void convert_packet(int lt, const uint8_t *pkt, size_t len) {
    long n = mg_cap_to_ethernet(lt, pkt, len, out, sizeof(out));
    if (!mg_cap_link_supported(lt)) {
        FUZZ_CHECK(n == -EPROTONOSUPPORT);
        return;
    }
    if (n < 0) {
        FUZZ_CHECK(n == -EINVAL || n == -ENOBUFS);
        FUZZ_CHECK(n != -ENOBUFS || len + 14 > sizeof(out));
        return;
    }
    FUZZ_CHECK(n >= MG_ETH_HDR_LEN && (size_t)n <= sizeof(out));
    size_t hdr;      /* link header bytes the conversion removed */
    uint16_t etype;  /* the ethertype it must have written (0: the frame's own) */
    switch (lt) {
    case MG_CAP_LINK_EN10MB:
        FUZZ_CHECK((size_t)n == len && memcmp(out, pkt, len) == 0);
        return;
    case MG_CAP_LINK_NULL:
    case MG_CAP_LINK_LOOP:
        hdr = 4;
        etype = ip_ethertype(pkt + 4, len - 4);
        break;
    case MG_CAP_LINK_LINUX_SLL:
        hdr = 16;
        etype = be16(pkt + 14);
        if (be16(pkt + 4) == 6)
            FUZZ_CHECK(memcmp(out + 6, pkt + 6, 6) == 0); /* the sender's MAC kept */
        break;
    case MG_CAP_LINK_LINUX_SLL2:
        hdr = 20;
        etype = be16(pkt);
        if (pkt[11] == 6)
            FUZZ_CHECK(memcmp(out + 6, pkt + 12, 6) == 0);
        break;
    default: /* raw IP */
        hdr = 0;
        etype = ip_ethertype(pkt, len);
        break;
    }
    FUZZ_CHECK(len >= hdr && (size_t)n == len - hdr + 14);
    FUZZ_CHECK(etype != 0 && be16(out + 12) == etype);
    FUZZ_CHECK(memcmp(out + 14, pkt + hdr, len - hdr) == 0);
    /* The same frame in an exactly sized buffer; none in a shorter one. */
    uint8_t *exact = malloc((size_t)n);
    if (exact == NULL)
        return;
    FUZZ_CHECK(mg_cap_to_ethernet(lt, pkt, len, exact, (size_t)n) == n && memcmp(exact, out, (size_t)n) == 0);
    FUZZ_CHECK(mg_cap_to_ethernet(lt, pkt, len, exact, (size_t)n - 1) == -ENOBUFS);
    free(exact);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    if ((data[0] & 1) == 0)
        read_capture(data + 1, size - 1);
    else
        convert_packet(link_types[(data[0] >> 1) % N_LINK_TYPES], data + 1, size - 1);
    return 0;
}
