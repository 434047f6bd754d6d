/* tests/unit/test_wire_pcap.c — the codecs against real captures from
 * /work/shared/testdata/pcap (see README.txt there for origins and licenses).
 *
 * The files are read at run time by a tiny classic-pcap reader written for this
 * test (24-byte global header, 16-byte record headers, either byte order); each
 * frame is copied to a heap block of exactly its captured length, so a parser that
 * reads past the end of a truncated frame is caught by the sanitizer build. The
 * directory is MARGAY_PCAP_DIR from the environment, else the one compiled in
 * (WIRE_PCAP_DIR in tests/wire.mk). A missing capture is a test failure, not a skip. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire.h"
#include "wire_test.h"

#ifndef WIRE_PCAP_DIR
#define WIRE_PCAP_DIR "/work/shared/testdata/pcap"
#endif

#define LINKTYPE_NULL 0
#define LINKTYPE_ETHERNET 1
#define LINKTYPE_RAW 101
#define MAX_FRAMES 64

struct frame {
    uint8_t *data; /* exactly len bytes */
    size_t len;
};

struct capture {
    uint32_t linktype;
    size_t count;
    struct frame frames[MAX_FRAMES];
};

static uint32_t load_u32(const uint8_t *p, bool swapped) {
    if (swapped)
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static void capture_free(struct capture *c) {
    for (size_t i = 0; i < c->count; i++)
        free(c->frames[i].data);
    c->count = 0;
}

/* Reads a whole classic pcap file (little-endian writer assumed native-first; the
 * magic tells). Returns false, with a message, if it cannot. */
static bool capture_load(const char *name, struct capture *c) {
    const char *dir = getenv("MARGAY_PCAP_DIR");
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : WIRE_PCAP_DIR, name);
    memset(c, 0, sizeof(*c));
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "\n  cannot open %s (set MARGAY_PCAP_DIR to the capture directory)\n", path);
        return false;
    }
    uint8_t gh[24], rh[16];
    bool ok = fread(gh, 1, sizeof(gh), f) == sizeof(gh);
    uint32_t magic = ok ? load_u32(gh, false) : 0;
    bool swapped = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
    ok = ok && (swapped || magic == 0xa1b2c3d4 || magic == 0xa1b23c4d);
    if (ok)
        c->linktype = load_u32(gh + 20, swapped) & 0xffff;
    while (ok && c->count < MAX_FRAMES && fread(rh, 1, sizeof(rh), f) == sizeof(rh)) {
        uint32_t caplen = load_u32(rh + 8, swapped);
        if (caplen > 262144) {
            ok = false;
            break;
        }
        struct frame *fr = &c->frames[c->count];
        fr->data = malloc(caplen ? caplen : 1);
        fr->len = caplen;
        if (fr->data == NULL || fread(fr->data, 1, caplen, f) != caplen) {
            free(fr->data);
            ok = false;
            break;
        }
        c->count++;
    }
    fclose(f);
    if (!ok) {
        fprintf(stderr, "\n  %s: not a classic pcap file or truncated\n", path);
        capture_free(c);
    }
    return ok;
}

/* Loads a capture or fails the running test. */
#define LOAD_OR_FAIL(name, cap)                                                                                        \
    do {                                                                                                               \
        if (!capture_load((name), (cap))) {                                                                            \
            CU_FAIL_FATAL("capture missing: " name);                                                                   \
        }                                                                                                              \
    } while (0)

/* The IPv4 packet inside an Ethernet frame, or NULL with *err set. */
static const uint8_t *eth_ipv4(const struct frame *fr, struct mg_ipv4_hdr *ip, bool verify, int *err) {
    struct mg_eth_hdr eth;
    *err = mg_eth_parse(fr->data, fr->len, &eth);
    if (*err < 0)
        return NULL;
    if (eth.ethertype != MG_ETHERTYPE_IPV4) {
        *err = -EPROTONOSUPPORT;
        return NULL;
    }
    const uint8_t *p = fr->data + eth.hdr_len;
    *err = mg_ipv4_parse(p, fr->len - eth.hdr_len, verify, ip);
    return *err < 0 ? NULL : p;
}

static void test_loopback_syn_options(void) {
    struct capture c;
    LOAD_OR_FAIL("tcp-full-http-loopback_tcpdump-print-flags.pcap", &c);
    CU_ASSERT_EQUAL_FATAL(c.linktype, LINKTYPE_ETHERNET);
    CU_ASSERT_FATAL(c.count == 10);
    int err;
    struct mg_ipv4_hdr ip;
    const uint8_t *p = eth_ipv4(&c.frames[0], &ip, true, &err);
    CU_ASSERT_EQUAL_FATAL(err, 0);
    CU_ASSERT_EQUAL(ip.src, 0x7f000001);
    CU_ASSERT_EQUAL(ip.dst, 0x7f000001);
    CU_ASSERT_EQUAL(ip.total_len, 60);
    CU_ASSERT_EQUAL(ip.id, 7016);
    CU_ASSERT_EQUAL(ip.frag, MG_IPV4_DF);
    CU_ASSERT_EQUAL(ip.proto, MG_IPPROTO_TCP);
    /* parse -> build reproduces the captured IPv4 header, checksum included. */
    uint8_t ipb[20];
    CU_ASSERT_EQUAL(mg_ipv4_build(ipb, sizeof(ipb), &ip, true), 20);
    CU_ASSERT_EQUAL(memcmp(ipb, p, 20), 0);

    /* 127.0.0.1.55920 > 127.0.0.1.80: Flags [S], cksum 0x1421, seq 928549246,
     * win 32767, options [mss 16396,sackOK,TS val 1306300950 ecr 0,nop,wscale 2] */
    const uint8_t *seg = p + ip.hdr_len;
    size_t seg_len = ip.total_len - ip.hdr_len;
    struct mg_tcp_hdr t;
    CU_ASSERT_EQUAL_FATAL(mg_tcp_parse(seg, seg_len, &t), 0);
    CU_ASSERT_EQUAL(t.sport, 55920);
    CU_ASSERT_EQUAL(t.dport, 80);
    CU_ASSERT_EQUAL(t.seq, 928549246u);
    CU_ASSERT_EQUAL(t.flags, MG_TCP_SYN);
    CU_ASSERT_EQUAL(t.window, 32767);
    CU_ASSERT_EQUAL(t.cksum, 0x1421);
    CU_ASSERT_EQUAL(t.hdr_len, 40);
    CU_ASSERT_TRUE(t.opts.has_mss);
    CU_ASSERT_EQUAL(t.opts.mss, 16396);
    CU_ASSERT_TRUE(t.opts.sack_permitted);
    CU_ASSERT_TRUE(t.opts.has_timestamp);
    CU_ASSERT_EQUAL(t.opts.ts_val, 1306300950u);
    CU_ASSERT_EQUAL(t.opts.ts_ecr, 0);
    CU_ASSERT_TRUE(t.opts.has_wscale);
    CU_ASSERT_EQUAL(t.opts.wscale, 2);
    CU_ASSERT_EQUAL(t.opts.num_sack_blocks, 0);
    CU_ASSERT_EQUAL(mg_l4_cksum_ipv4(ip.src, ip.dst, ip.proto, seg, seg_len), 0);
    /* Linux lays out a SYN's options the way mg_tcp_build does: same 40 bytes. */
    uint8_t tb[60];
    CU_ASSERT_EQUAL_FATAL(mg_tcp_build(tb, sizeof(tb), &t), 40);
    CU_ASSERT_EQUAL(memcmp(tb, seg, 40), 0);

    /* The SYN-ACK echoes the timestamp and acknowledges seq + 1. */
    p = eth_ipv4(&c.frames[1], &ip, true, &err);
    CU_ASSERT_EQUAL_FATAL(err, 0);
    CU_ASSERT_EQUAL_FATAL(mg_tcp_parse(p + ip.hdr_len, ip.total_len - ip.hdr_len, &t), 0);
    CU_ASSERT_EQUAL(t.flags, MG_TCP_SYN | MG_TCP_ACK);
    CU_ASSERT_EQUAL(t.ack, 928549247u);
    CU_ASSERT_EQUAL(t.opts.ts_ecr, 1306300950u);
    CU_ASSERT_EQUAL(t.cksum, 0x6eb1);

    /* Every frame of the connection parses. The TCP checksums are valid except in
     * frames 3 and 5 (tcpdump -vv: "incorrect -> 0xc376", "-> 0xb842"; loopback
     * leaves data segments' checksums to an offload that never happens). */
    for (size_t i = 0; i < c.count; i++) {
        p = eth_ipv4(&c.frames[i], &ip, true, &err);
        CU_ASSERT_EQUAL_FATAL(err, 0);
        CU_ASSERT_EQUAL(mg_tcp_parse(p + ip.hdr_len, ip.total_len - ip.hdr_len, &t), 0);
        uint16_t ck = mg_l4_cksum_ipv4(ip.src, ip.dst, ip.proto, p + ip.hdr_len, ip.total_len - ip.hdr_len);
        if (i == 3 || i == 5) {
            CU_ASSERT_NOT_EQUAL(ck, 0);
        } else {
            CU_ASSERT_EQUAL(ck, 0);
        }
    }
    capture_free(&c);
}

static void test_truncated_tcp_options(void) {
    struct capture c;
    LOAD_OR_FAIL("tcp-truncated-options_zeek-truncated-header.pcap", &c);
    /* Frame 0 was captured with a 68-byte snap length: the IP header says 60 bytes
     * but 54 are present, and the TCP header (data offset 40) is cut at 34. */
    const struct frame *fr = &c.frames[0];
    CU_ASSERT_EQUAL_FATAL(fr->len, 68);
    struct mg_eth_hdr eth;
    CU_ASSERT_EQUAL_FATAL(mg_eth_parse(fr->data, fr->len, &eth), 0);
    struct mg_ipv4_hdr ip;
    CU_ASSERT_EQUAL(mg_ipv4_parse(fr->data + 14, fr->len - 14, true, &ip), -EBADMSG);
    /* Hand the TCP parser what is left of the segment: cut inside the options. */
    struct mg_tcp_hdr t;
    CU_ASSERT_EQUAL(mg_tcp_parse(fr->data + 34, fr->len - 34, &t), -EMSGSIZE);
    /* The SYN-ACK after it is whole: options [mss 1460]. */
    int err;
    const uint8_t *p = eth_ipv4(&c.frames[1], &ip, true, &err);
    CU_ASSERT_EQUAL_FATAL(err, 0);
    CU_ASSERT_EQUAL_FATAL(mg_tcp_parse(p + ip.hdr_len, ip.total_len - ip.hdr_len, &t), 0);
    CU_ASSERT_TRUE(t.opts.has_mss && t.opts.mss == 1460);
    CU_ASSERT_FALSE(t.opts.has_timestamp);
    capture_free(&c);
}

static void test_bad_ihl(void) {
    struct capture c;
    LOAD_OR_FAIL("ipv4-bad-ihl_tcpdump-ipv4_invalid_hdr_length.pcap", &c);
    CU_ASSERT_FATAL(c.count == 1);
    int err;
    struct mg_ipv4_hdr ip;
    CU_ASSERT_PTR_NULL(eth_ipv4(&c.frames[0], &ip, false, &err));
    CU_ASSERT_EQUAL(err, -EBADMSG); /* IHL 4: "bad-hlen 16" */
    capture_free(&c);
}

static void test_all_flags_set(void) {
    struct capture c;
    LOAD_OR_FAIL("tcp-all-flags-set_tcpdump-tcp_eight_lowest_weight_flags_set.pcap", &c);
    int err;
    struct mg_ipv4_hdr ip;
    const uint8_t *p = eth_ipv4(&c.frames[0], &ip, true, &err);
    CU_ASSERT_EQUAL_FATAL(err, 0);
    struct mg_tcp_hdr t;
    CU_ASSERT_EQUAL_FATAL(mg_tcp_parse(p + ip.hdr_len, ip.total_len - ip.hdr_len, &t), 0);
    /* 10.0.0.2.6260 > 10.128.0.2.80: Flags [FSRP.UEW], cksum 0xf4c3, seq 576462951,
     * ack 486026015, win 512, urg 0 */
    CU_ASSERT_EQUAL(t.flags, 0xff);
    CU_ASSERT_EQUAL(t.sport, 6260);
    CU_ASSERT_EQUAL(t.seq, 576462951u);
    CU_ASSERT_EQUAL(t.ack, 486026015u);
    CU_ASSERT_EQUAL(t.window, 512);
    CU_ASSERT_EQUAL(t.urg_ptr, 0);
    CU_ASSERT_EQUAL(t.cksum, 0xf4c3);
    CU_ASSERT_EQUAL(mg_l4_cksum_ipv4(ip.src, ip.dst, ip.proto, p + ip.hdr_len, ip.total_len - ip.hdr_len), 0);
    capture_free(&c);
}

static void test_bad_tcp_cksum(void) {
    struct capture c;
    LOAD_OR_FAIL("ipv4-tcp-bad-cksum_zeek-ip4-tcp-bad-chksum.pcap", &c);
    int err;
    struct mg_ipv4_hdr ip;
    const uint8_t *p = eth_ipv4(&c.frames[0], &ip, true, &err);
    CU_ASSERT_EQUAL_FATAL(err, 0); /* the IP header is fine */
    struct mg_tcp_hdr t;
    CU_ASSERT_EQUAL_FATAL(mg_tcp_parse(p + ip.hdr_len, ip.total_len - ip.hdr_len, &t), 0);
    CU_ASSERT_EQUAL(t.cksum, 0x0001); /* tcpdump: incorrect -> 0x1c60 */
    CU_ASSERT_NOT_EQUAL(mg_l4_cksum_ipv4(ip.src, ip.dst, ip.proto, p + ip.hdr_len, ip.total_len - ip.hdr_len), 0);
    capture_free(&c);
}

static void test_arp_frames(void) {
    struct capture c;
    LOAD_OR_FAIL("arp-req-reply_zeek-communityid-arp.pcap", &c);
    CU_ASSERT_FATAL(c.count == 6);
    for (size_t i = 0; i < c.count; i++) {
        struct mg_eth_hdr eth;
        CU_ASSERT_EQUAL_FATAL(mg_eth_parse(c.frames[i].data, c.frames[i].len, &eth), 0);
        CU_ASSERT_EQUAL(eth.ethertype, MG_ETHERTYPE_ARP);
        struct mg_arp a;
        CU_ASSERT_EQUAL(mg_arp_parse(c.frames[i].data + 14, c.frames[i].len - 14, &a), 0);
    }
    /* Frame 0: Request who-has 192.150.187.20 tell 192.150.187.1, length 46 (padded). */
    struct mg_eth_hdr eth;
    struct mg_arp a;
    CU_ASSERT_EQUAL(mg_eth_parse(c.frames[0].data, c.frames[0].len, &eth), 0);
    CU_ASSERT_EQUAL(memcmp(eth.dst, mg_eth_broadcast, 6), 0);
    CU_ASSERT_EQUAL(c.frames[0].len - 14, 46);
    CU_ASSERT_EQUAL_FATAL(mg_arp_parse(c.frames[0].data + 14, c.frames[0].len - 14, &a), 0);
    CU_ASSERT_EQUAL(a.op, MG_ARP_OP_REQUEST);
    CU_ASSERT_EQUAL(a.tpa, 0xc096bb14);
    CU_ASSERT_EQUAL(a.spa, 0xc096bb01);
    /* Frame 2: Reply 192.150.187.14 is-at 00:60:08:af:81:03. */
    CU_ASSERT_EQUAL_FATAL(mg_arp_parse(c.frames[2].data + 14, c.frames[2].len - 14, &a), 0);
    CU_ASSERT_EQUAL(a.op, MG_ARP_OP_REPLY);
    CU_ASSERT_EQUAL(a.spa, 0xc096bb0e);
    CU_ASSERT_EQUAL(memcmp(a.sha, "\x00\x60\x08\xaf\x81\x03", 6), 0);
    /* parse -> build reproduces the 28 body bytes. */
    uint8_t out[MG_ARP_LEN];
    CU_ASSERT_EQUAL(mg_arp_build(out, sizeof(out), &a), MG_ARP_LEN);
    CU_ASSERT_EQUAL(memcmp(out, c.frames[2].data + 14, MG_ARP_LEN), 0);
    capture_free(&c);

    /* tcpdump: "ethertype 802.1Q-QinQ (0x88a8) ... vlan 48, ethertype ARP, Unknown
     * Hardware (12336) (len 14)": an 802.1ad service tag, which the Ethernet parser
     * refuses, around an ARP body with hardware type 0x3030 and 14-byte addresses,
     * which the ARP parser refuses. */
    LOAD_OR_FAIL("arp-malformed-hlen_tcpdump-arp-too-long-tha.pcap", &c);
    CU_ASSERT_EQUAL(mg_eth_parse(c.frames[0].data, c.frames[0].len, &eth), -EPROTONOSUPPORT);
    CU_ASSERT_FATAL(c.frames[0].len > 18);
    CU_ASSERT_EQUAL(mg_arp_parse(c.frames[0].data + 18, c.frames[0].len - 18, &a), -EPROTONOSUPPORT);
    capture_free(&c);
}

static void test_udp_and_icmp_frames(void) {
    struct capture c;
    int err;
    struct mg_ipv4_hdr ip;
    LOAD_OR_FAIL("udp-dns_zeek-communityid-udp.pcap", &c);
    /* 192.168.1.52.54585 > 8.8.8.8.53: [udp sum ok] 3+ A? google.com. (28) */
    const uint8_t *p = eth_ipv4(&c.frames[0], &ip, true, &err);
    CU_ASSERT_EQUAL_FATAL(err, 0);
    struct mg_udp_hdr u;
    CU_ASSERT_EQUAL_FATAL(mg_udp_parse(p + ip.hdr_len, ip.total_len - ip.hdr_len, &u), 0);
    CU_ASSERT_EQUAL(u.sport, 54585);
    CU_ASSERT_EQUAL(u.dport, 53);
    CU_ASSERT_EQUAL(u.len, 8 + 28);
    CU_ASSERT_EQUAL(mg_l4_cksum_ipv4(ip.src, ip.dst, ip.proto, p + ip.hdr_len, u.len), 0);
    capture_free(&c);

    LOAD_OR_FAIL("icmp-echo_zeek-5-pings.pcap", &c);
    CU_ASSERT_FATAL(c.count == 10);
    for (size_t i = 0; i < c.count; i++) {
        /* Requests and replies alternate: id 1226, seq 1..5, 56 bytes of data. */
        p = eth_ipv4(&c.frames[i], &ip, true, &err);
        CU_ASSERT_EQUAL_FATAL(err, 0);
        struct mg_icmp_hdr ic;
        CU_ASSERT_EQUAL_FATAL(mg_icmp_parse(p + ip.hdr_len, ip.total_len - ip.hdr_len, true, &ic), 0);
        CU_ASSERT_EQUAL(ic.type, i % 2 ? MG_ICMP_ECHO_REPLY : MG_ICMP_ECHO_REQUEST);
        CU_ASSERT_EQUAL(ic.rest >> 16, 1226);
        CU_ASSERT_EQUAL(ic.rest & 0xffff, i / 2 + 1);
        CU_ASSERT_EQUAL(ic.payload_len, 56);
    }
    capture_free(&c);

    LOAD_OR_FAIL("icmp-port-unreach_zeek-icmp-destunreach-udp.pcap", &c);
    p = eth_ipv4(&c.frames[0], &ip, true, &err);
    CU_ASSERT_EQUAL_FATAL(err, 0);
    struct mg_icmp_hdr ic;
    CU_ASSERT_EQUAL_FATAL(mg_icmp_parse(p + ip.hdr_len, ip.total_len - ip.hdr_len, true, &ic), 0);
    CU_ASSERT_EQUAL(ic.type, MG_ICMP_DEST_UNREACH);
    CU_ASSERT_EQUAL(ic.code, MG_ICMP_CODE_PORT_UNREACH);
    /* The quoted datagram claims 163 bytes but only 148 are quoted: a full parse of
     * it refuses (total_len past the bytes), so ICMP error handling must read the
     * quoted header and first 8 bytes itself. They are intact: */
    struct mg_ipv4_hdr inner;
    CU_ASSERT_EQUAL(mg_ipv4_parse(ic.payload, ic.payload_len, false, &inner), -EBADMSG);
    CU_ASSERT_EQUAL(ic.payload_len, 148);
    CU_ASSERT_EQUAL(ic.payload[0], 0x45);
    CU_ASSERT_EQUAL(ic.payload[9], MG_IPPROTO_UDP);
    CU_ASSERT_EQUAL(ic.payload[22] << 8 | ic.payload[23], 59207); /* quoted UDP dport */
    capture_free(&c);
}

static void test_sack_blocks_from_capture(void) {
    struct capture c;
    LOAD_OR_FAIL("tcp-fast-retransmit-sack_zeek-retransmit-fast009.pcap", &c);
    /* This capture was taken with checksum offload: IP and TCP checksums are 0, so
     * verification refuses every frame and parsing without it accepts them. */
    int err;
    struct mg_ipv4_hdr ip;
    CU_ASSERT_PTR_NULL(eth_ipv4(&c.frames[0], &ip, true, &err));
    CU_ASSERT_EQUAL(err, -EBADMSG);
    /* The snap length cut every data segment: their IP total length runs past the
     * frame (-EBADMSG). The 18 frames without payload parse. */
    size_t one = 0, two = 0, whole = 0;
    for (size_t i = 0; i < c.count; i++) {
        const uint8_t *p = eth_ipv4(&c.frames[i], &ip, false, &err);
        if (p == NULL) {
            CU_ASSERT_EQUAL(err, -EBADMSG);
            continue;
        }
        whole++;
        struct mg_tcp_hdr t;
        CU_ASSERT_EQUAL_FATAL(mg_tcp_parse(p + ip.hdr_len, ip.total_len - ip.hdr_len, &t), 0);
        /* "ack 12871, options [nop,nop,sack 2 {21451:22881}{14301:18591}]" in
         * relative sequence numbers; the ISN of the server is 4249385775. */
        if (t.opts.num_sack_blocks == 1)
            one++;
        if (t.opts.num_sack_blocks == 2) {
            if (two == 0) {
                CU_ASSERT_EQUAL(t.opts.sack[0].left, 4249385775u + 21451);
                CU_ASSERT_EQUAL(t.opts.sack[0].right, 4249385775u + 22881);
                CU_ASSERT_EQUAL(t.opts.sack[1].left, 4249385775u + 14301);
                CU_ASSERT_EQUAL(t.opts.sack[1].right, 4249385775u + 18591);
            }
            two++;
        }
    }
    CU_ASSERT_EQUAL(whole, 18);
    CU_ASSERT_TRUE(one > 0);
    CU_ASSERT_TRUE(two > 0);
    capture_free(&c);
}

/* Frame i of the raw-IP capture with the empty SACK option ("sack 0"). */
static void test_empty_sack_rejected(void) {
    struct capture c;
    LOAD_OR_FAIL("tcp-empty-sack-opt-rtx_suricata-tcp-empty-sack.pcap", &c);
    CU_ASSERT_EQUAL_FATAL(c.linktype, LINKTYPE_RAW);
    size_t rejected = 0, parsed = 0;
    for (size_t i = 0; i < c.count; i++) {
        struct mg_ipv4_hdr ip;
        CU_ASSERT_EQUAL_FATAL(mg_ipv4_parse(c.frames[i].data, c.frames[i].len, true, &ip), 0);
        struct mg_tcp_hdr t;
        int rc = mg_tcp_parse(c.frames[i].data + ip.hdr_len, ip.total_len - ip.hdr_len, &t);
        if (rc == 0)
            parsed++;
        else if (rc == -EBADMSG)
            rejected++;
    }
    /* Exactly the one segment carrying "sack 0" (length 2, no block) is refused:
     * SACK needs 1..4 blocks. */
    CU_ASSERT_EQUAL(rejected, 1);
    CU_ASSERT_EQUAL(parsed, c.count - 1);
    capture_free(&c);
}

/* Runs every parser over p[0..len) for the crash / out-of-bounds check only. */
static void run_every_parser(const uint8_t *p, size_t len) {
    struct mg_eth_hdr e;
    struct mg_arp a;
    struct mg_ipv4_hdr ip;
    struct mg_icmp_hdr ic;
    struct mg_udp_hdr u;
    struct mg_tcp_hdr t;
    (void)mg_eth_parse(p, len, &e);
    (void)mg_arp_parse(p, len, &a);
    (void)mg_ipv4_parse(p, len, true, &ip);
    (void)mg_icmp_parse(p, len, true, &ic);
    (void)mg_udp_parse(p, len, &u);
    (void)mg_tcp_parse(p, len, &t);
}

/* Every IPv4 TCP segment in a capture: parse, build from the parsed fields, parse
 * again: the second parse equals the first (options normalised to our layout). */
static void check_tcp_idempotent(const uint8_t *seg, size_t len) {
    struct mg_tcp_hdr a, b;
    if (mg_tcp_parse(seg, len, &a) != 0)
        return;
    uint8_t out[60];
    size_t n = mg_tcp_build(out, sizeof(out), &a);
    CU_ASSERT_EQUAL_FATAL(n, 20 + mg_tcp_opts_len(&a.opts));
    CU_ASSERT_EQUAL_FATAL(mg_tcp_parse(out, n, &b), 0);
    CU_ASSERT_EQUAL(b.seq, a.seq);
    CU_ASSERT_EQUAL(b.ack, a.ack);
    CU_ASSERT_EQUAL(b.flags, a.flags);
    CU_ASSERT_EQUAL(b.opts.has_mss, a.opts.has_mss);
    CU_ASSERT_EQUAL(b.opts.mss, a.opts.has_mss ? a.opts.mss : 0);
    CU_ASSERT_EQUAL(b.opts.has_timestamp, a.opts.has_timestamp);
    CU_ASSERT_EQUAL(b.opts.ts_val, a.opts.has_timestamp ? a.opts.ts_val : 0);
    CU_ASSERT_EQUAL(b.opts.has_wscale, a.opts.has_wscale);
    CU_ASSERT_EQUAL(b.opts.sack_permitted, a.opts.sack_permitted);
    CU_ASSERT_EQUAL(b.opts.num_sack_blocks, a.opts.num_sack_blocks);
}

struct sweep_expect {
    const char *file;
    size_t frames;
    size_t l4_ok; /* IPv4 frames whose TCP/UDP/ICMP header parsed (IP checksum verified) */
};

/* The IPv4 packet of frame fr for the capture's link type, or NULL with *err set
 * (-EPROTONOSUPPORT for frames that are not IPv4 over Ethernet or raw IP). */
static const uint8_t *frame_ipv4(uint32_t linktype, const struct frame *fr, struct mg_ipv4_hdr *ip, int *err) {
    if (linktype == LINKTYPE_ETHERNET)
        return eth_ipv4(fr, ip, true, err);
    if (linktype != LINKTYPE_RAW) {
        *err = -EPROTONOSUPPORT;
        return NULL;
    }
    *err = mg_ipv4_parse(fr->data, fr->len, true, ip);
    return *err < 0 ? NULL : fr->data;
}

/* Every capture, every frame, through the parser chain (any crash or out-of-bounds
 * read shows in the sanitizer build). The expected counts come from an independent
 * Python oracle over the same files (complete, unfragmented IPv4 with a valid
 * header checksum and a well-formed L4 header by the rules in wire.h) and agree
 * with tcpdump -vv: frames not counted are IPv6, ARP, cut by the snap length, IP
 * fragments, bad IHL, or (tcp-empty-sack) the one segment with an empty SACK. */
static void test_sweep_all_captures(void) {
    static const struct sweep_expect expect[] = {
        {"arp-malformed-hlen_tcpdump-arp-too-long-tha.pcap", 1, 0},
        {"arp-req-reply_zeek-communityid-arp.pcap", 6, 0},
        {"icmp-echo_zeek-5-pings.pcap", 10, 10},
        {"icmp-port-unreach_zeek-icmp-destunreach-udp.pcap", 1, 1},
        {"ipv4-bad-ihl_tcpdump-ipv4_invalid_hdr_length.pcap", 1, 0},
        {"ipv4-frag-icmp_suricata-ipv4frags.pcap", 3, 1},
        {"ipv4-tcp-bad-cksum_zeek-ip4-tcp-bad-chksum.pcap", 1, 1},
        {"ipv6-ext-header-chain_libpcap-ipv6_ext_headers.pcap", 1, 0},
        {"ipv6-ext-truncated_zeek-ip6-ext-trunc.pcap", 1, 0},
        {"ipv6-frag-udp-dns_zeek-ipv6-fragmented-dns.pcap", 8, 0},
        {"ipv6-icmp6-echo_zeek-icmp6-ping.pcap", 8, 0},
        {"ipv6-nd-ra_zeek-icmp6-nd-options.pcap", 20, 0},
        {"ipv6-tcp-atomic-frag-nd_zeek-ipv6-http-atomic-frag.pcap", 38, 0},
        {"ipv6-tcp-full-loopback_zeek-redis-pipelining.pcap", 12, 0},
        {"tcp-all-flags-set_tcpdump-tcp_eight_lowest_weight_flags_set.pcap", 1, 1},
        {"tcp-dup-synack-rtx-rst_zeek-ctu-64702-888.pcap", 16, 16},
        {"tcp-empty-sack-opt-rtx_suricata-tcp-empty-sack.pcap", 42, 41},
        {"tcp-fast-retransmit-sack_zeek-retransmit-fast009.pcap", 39, 0},
        {"tcp-fastopen_zeek-tcp-fast-open.pcap", 16, 16},
        {"tcp-full-http-loopback_tcpdump-print-flags.pcap", 10, 10},
        {"tcp-full-http_zeek-communityid-tcp.pcap", 12, 9},
        {"tcp-http-download-rtx_dpkt-http.pcap", 43, 43},
        {"tcp-ooo-sack-dupack_zeek-psql-aws-ssl-preferred.pcap", 28, 28},
        {"tcp-partial-overlap_suricata-tcp-overlap2.pcap", 7, 7},
        {"tcp-synack-before-syn_zeek-handshake-reorder.pcap", 14, 14},
        {"tcp-truncated-options_zeek-truncated-header.pcap", 24, 12},
        {"tcp-urgent-data_suricata-tcp-urgent1.pcap", 16, 16},
        {"tcp-wscale-255-invalid_zeek-window-scale-range.pcap", 5, 5},
        {"udp-dns_zeek-communityid-udp.pcap", 2, 2},
    };
    for (size_t e = 0; e < sizeof(expect) / sizeof(expect[0]); e++) {
        struct capture c;
        if (!capture_load(expect[e].file, &c)) {
            CU_FAIL("capture missing");
            continue;
        }
        size_t l4_ok = 0;
        for (size_t i = 0; i < c.count; i++) {
            /* Every parser on every frame at offset 0 and 14 as well: nonsense in,
             * error out, no crash. */
            run_every_parser(c.frames[i].data, c.frames[i].len);
            if (c.frames[i].len > 14)
                run_every_parser(c.frames[i].data + 14, c.frames[i].len - 14);
            int err;
            struct mg_ipv4_hdr ip;
            const uint8_t *p = frame_ipv4(c.linktype, &c.frames[i], &ip, &err);
            if (p == NULL || mg_ipv4_is_fragment(&ip))
                continue;
            const uint8_t *l4 = p + ip.hdr_len;
            size_t l4_len = ip.total_len - ip.hdr_len;
            struct mg_tcp_hdr t;
            struct mg_udp_hdr u;
            struct mg_icmp_hdr ic;
            if ((ip.proto == MG_IPPROTO_TCP && mg_tcp_parse(l4, l4_len, &t) == 0) ||
                (ip.proto == MG_IPPROTO_UDP && mg_udp_parse(l4, l4_len, &u) == 0) ||
                (ip.proto == MG_IPPROTO_ICMP && mg_icmp_parse(l4, l4_len, true, &ic) == 0))
                l4_ok++;
            if (ip.proto == MG_IPPROTO_TCP)
                check_tcp_idempotent(l4, l4_len);
        }
        CU_ASSERT_EQUAL(c.count, expect[e].frames);
        CU_ASSERT_EQUAL(l4_ok, expect[e].l4_ok);
        if (c.count != expect[e].frames || l4_ok != expect[e].l4_ok)
            fprintf(stderr, "\n  %s: %zu frames, %zu parsed to L4\n", expect[e].file, c.count, l4_ok);
        capture_free(&c);
    }
}

int wire_register_pcap_suite(void) {
    CU_pSuite s = CU_add_suite("wire_pcap", NULL, NULL);
    if (s == NULL)
        return CU_get_error();
    if (!CU_add_test(s, "loopback_syn_options", test_loopback_syn_options) ||
        !CU_add_test(s, "truncated_tcp_options", test_truncated_tcp_options) ||
        !CU_add_test(s, "bad_ihl", test_bad_ihl) || !CU_add_test(s, "all_flags_set", test_all_flags_set) ||
        !CU_add_test(s, "bad_tcp_cksum", test_bad_tcp_cksum) || !CU_add_test(s, "arp_frames", test_arp_frames) ||
        !CU_add_test(s, "udp_and_icmp_frames", test_udp_and_icmp_frames) ||
        !CU_add_test(s, "sack_blocks_from_capture", test_sack_blocks_from_capture) ||
        !CU_add_test(s, "empty_sack_rejected", test_empty_sack_rejected) ||
        !CU_add_test(s, "sweep_all_captures", test_sweep_all_captures))
        return CU_get_error();
    return CUE_SUCCESS;
}
