/* tests/unit/test_dpdk_pcap_stack.c — the whole inet stack over DPDK's net_pcap,
 * judged field by field and by Wireshark. The test writes a capture with libpcap —
 * an ARP request for margay's address, an ICMP echo request, and two TCP SYNs to a
 * listening port (one with MSS, SACK-permitted, timestamps and window scale as Linux
 * sends them, one with no options at all) — and starts the inet libOS from a YAML
 * configuration whose dpdk.eal_init names `net_pcap0,rx_pcap=IN,tx_pcap=OUT`, exactly
 * as a user would. What margay writes to OUT must be an ARP reply, an echo reply and
 * two SYN-ACKs (then, when the application closes its listener, an RST for each
 * half-open connection), every field checked here with byte offsets and a checksum
 * routine of the test's own (none of margay's wire code), the SYN-ACK options as
 * margay negotiates them for each SYN. Then tshark reads both captures with checksum
 * validation on and must report nothing malformed and no bad checksum (skipped, with
 * a message, when tshark is not installed). */
#include "config.h"

#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <demi/libos.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/runtime.h"
#include "cunit_main.h"
#include "drivers/dpdk/dpdk_netdev.h"
#include "inet/netdev.h"
#include "libos/inet/proto.h"
#include "tests/dpdk/eal_memory.h"

/* margay's side and the peer's, as the capture has them. */
static const uint8_t our_mac[6] = {0x02, 0x00, 0xc6, 0x12, 0x00, 0x01};
static const uint8_t peer_mac[6] = {0x02, 0x00, 0xc6, 0x12, 0x00, 0x02};
#define OUR_IP 0xc6120001u  /* 198.18.0.1 */
#define PEER_IP 0xc6120002u /* 198.18.0.2 */
#define LISTEN_PORT 8080
#define SYN1_PORT 40001 /* SYN with Linux's options */
#define SYN2_PORT 40002 /* SYN without options */
#define SYN1_ISN 0x11223344u
#define SYN2_ISN 0xfffffff0u /* ISN + 1 wraps nowhere, but close to it */
#define SYN1_TSVAL 0xa0b0c0d0u
#define SYN1_MSS 1400
#define SYN1_WSCALE 7
#define ECHO_ID 0xbeef
#define ECHO_SEQ 7
#define ECHO_PAYLOAD 56
/* margay's side of the negotiation, from the configuration below. */
#define OUR_MSS 1460       /* inetstack_config.mtu 1500 - 40 */
#define RECV_BUFFER 262144 /* tcp.recv_buffer */
#define OUR_WSCALE 3       /* the smallest shift that fits 262144 into 16 bits */

static char dir[] = "/tmp/mg_dpdk_pcap_stack_XXXXXX";
static char in_path[96], out_path[96], cfg_path[96];
static struct mg_test_eal eal;

/* ---- bytes, written and read here, independently of src/wire ---- */

static void put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v) {
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}
static uint16_t get16(const uint8_t *p) {
    return (uint16_t)(p[0] << 8 | p[1]);
}
static uint32_t get32(const uint8_t *p) {
    return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* RFC 1071 one's-complement sum, folded; over the concatenation of two spans. */
static uint16_t inet_sum2(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
    uint64_t sum = 0;
    const uint8_t *spans[2] = {a, b};
    size_t lens[2] = {alen, blen};
    for (int s = 0; s < 2; s++) {
        /* The pseudo header is 12 bytes: the spans never split a 16-bit word. */
        for (size_t i = 0; i + 1 < lens[s]; i += 2)
            sum += (uint32_t)(spans[s][i] << 8 | spans[s][i + 1]);
        if (lens[s] & 1)
            sum += (uint32_t)spans[s][lens[s] - 1] << 8;
    }
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}
static uint16_t inet_sum(const uint8_t *p, size_t len) {
    return inet_sum2(p, len, NULL, 0);
}
/* TCP checksum over the IPv4 pseudo header and the segment (its checksum field as
 * stored): 0 when the stored checksum is right. */
static uint16_t tcp_sum(uint32_t src, uint32_t dst, const uint8_t *seg, size_t len) {
    uint8_t pseudo[12];
    put32(pseudo, src);
    put32(pseudo + 4, dst);
    pseudo[8] = 0;
    pseudo[9] = 6;
    put16(pseudo + 10, (uint16_t)len);
    return inet_sum2(pseudo, sizeof(pseudo), seg, len);
}

static size_t eth_header(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type) {
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    put16(f + 12, type);
    return 14;
}

static size_t ipv4_header(uint8_t *ip, uint8_t proto, uint16_t payload_len, uint16_t id) {
    memset(ip, 0, 20);
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(20 + payload_len));
    put16(ip + 4, id);
    put16(ip + 6, 0x4000); /* DF */
    ip[8] = 64;
    ip[9] = proto;
    put32(ip + 12, PEER_IP);
    put32(ip + 16, OUR_IP);
    put16(ip + 10, inet_sum(ip, 20));
    return 20;
}

static size_t arp_request(uint8_t *f) {
    static const uint8_t broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    memset(f, 0, 60); /* padded to the Ethernet minimum */
    uint8_t *a = f + eth_header(f, broadcast, peer_mac, 0x0806);
    put16(a, 1);
    put16(a + 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, 1);
    memcpy(a + 8, peer_mac, 6);
    put32(a + 14, PEER_IP);
    put32(a + 24, OUR_IP);
    return 60;
}

static uint8_t echo_byte(size_t i) {
    return (uint8_t)(0x30 + i * 7);
}

static size_t echo_request(uint8_t *f) {
    size_t len = eth_header(f, our_mac, peer_mac, 0x0800);
    len += ipv4_header(f + len, 1, 8 + ECHO_PAYLOAD, 0x1001);
    uint8_t *icmp = f + len;
    icmp[0] = 8;
    icmp[1] = 0;
    put16(icmp + 2, 0);
    put16(icmp + 4, ECHO_ID);
    put16(icmp + 6, ECHO_SEQ);
    for (size_t i = 0; i < ECHO_PAYLOAD; i++)
        icmp[8 + i] = echo_byte(i);
    put16(icmp + 2, inet_sum(icmp, 8 + ECHO_PAYLOAD));
    return len + 8 + ECHO_PAYLOAD;
}

/* A SYN; with_options: MSS, SACK-permitted, timestamps, NOP, window scale (Linux's order). */
static size_t tcp_syn(uint8_t *f, uint16_t sport, uint32_t isn, bool with_options) {
    size_t opt_len = with_options ? 20 : 0;
    size_t len = eth_header(f, our_mac, peer_mac, 0x0800);
    uint8_t *ip = f + len;
    len += ipv4_header(ip, 6, (uint16_t)(20 + opt_len), (uint16_t)(0x2000 + sport));
    uint8_t *t = f + len;
    memset(t, 0, 20 + opt_len);
    put16(t, sport);
    put16(t + 2, LISTEN_PORT);
    put32(t + 4, isn);
    t[12] = (uint8_t)(((20 + opt_len) / 4) << 4);
    t[13] = 0x02; /* SYN */
    put16(t + 14, 64240);
    if (with_options) {
        uint8_t *o = t + 20;
        o[0] = 2, o[1] = 4, put16(o + 2, SYN1_MSS);
        o[4] = 4, o[5] = 2;
        o[6] = 8, o[7] = 10, put32(o + 8, SYN1_TSVAL), put32(o + 12, 0);
        o[16] = 1;
        o[17] = 3, o[18] = 3, o[19] = SYN1_WSCALE;
    }
    put16(t + 16, tcp_sum(PEER_IP, OUR_IP, t, 20 + opt_len));
    return len + 20 + opt_len;
}

static int write_capture(void) {
    pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
    if (!p)
        return -1;
    pcap_dumper_t *d = pcap_dump_open(p, in_path);
    if (!d) {
        fprintf(stderr, "%s: %s\n", in_path, pcap_geterr(p));
        pcap_close(p);
        return -1;
    }
    uint8_t f[4][128];
    size_t len[4] = {arp_request(f[0]), echo_request(f[1]), tcp_syn(f[2], SYN1_PORT, SYN1_ISN, true),
                     tcp_syn(f[3], SYN2_PORT, SYN2_ISN, false)};
    for (int i = 0; i < 4; i++) {
        struct pcap_pkthdr h = {.ts = {.tv_sec = 1700000000, .tv_usec = i * 1000},
                                .caplen = (bpf_u_int32)len[i],
                                .len = (bpf_u_int32)len[i]};
        pcap_dump((u_char *)d, &h, f[i]);
    }
    pcap_dump_close(d);
    pcap_close(p);
    return 0;
}

/* The configuration a user would write: EAL arguments and the port from YAML. */
static int write_config(void) {
    FILE *f = fopen(cfg_path, "w");
    if (!f)
        return -1;
    fprintf(f, "margay: {libos: inet, netdev: dpdk, seed: 5}\n");
    fprintf(f, "demikernel:\n  local_ipv4_addr: 198.18.0.1\n  local_link_addr: \"02:00:c6:12:00:01\"\n");
    fprintf(f, "dpdk:\n  eal_init: [");
    for (int i = 0; i < eal.argc; i++)
        fprintf(f, "\"%s\", ", eal.argv[i]);
    fprintf(f, "\"--vdev=net_pcap0,rx_pcap=%s,tx_pcap=%s\"]\n", in_path, out_path);
    fprintf(f, "  port: net_pcap0\n  rx_descriptors: 128\n  tx_descriptors: 128\n  mempool_size: 2047\n");
    fprintf(f, "inetstack_config: {mtu: 1500}\n");
    /* No retransmitted SYN-ACK however slowly the test runs: one of each frame. */
    fprintf(f, "tcp: {recv_buffer: %u, initial_rto_ms: 60000}\n", RECV_BUFFER);
    return fclose(f) == 0 ? 0 : -1;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- margay answers the capture ---- */

static void test_stack_answers_capture(void) {
    struct mg_config cfg;
    mg_config_defaults(&cfg);
    char err[512] = "";
    int rc = mg_config_load_file(&cfg, cfg_path, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    struct mg_rt_params rp = {.libos = &mg_libos_inet_ops, .cfg = &cfg};
    struct mg_rt *rt = NULL;
    rc = mg_rt_create(&rp, &rt);
    mg_config_free(&cfg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    mg_rt_set_current(rt);
    struct mg_inet_libos *lib = mg_rt_libos_state(rt);
    CU_ASSERT_STRING_EQUAL(lib->dev->name, "dpdk:net_pcap0");

    /* Listening before the first poll, which is when net_pcap reads the capture. */
    int qd = -1;
    CU_ASSERT_EQUAL_FATAL(demi_socket(&qd, AF_INET, SOCK_STREAM, 0), 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(LISTEN_PORT), .sin_addr.s_addr = htonl(OUR_IP)};
    CU_ASSERT_EQUAL_FATAL(demi_bind(qd, (const struct sockaddr *)&sin, sizeof(sin)), 0);
    CU_ASSERT_EQUAL_FATAL(demi_listen(qd, 16), 0);
    demi_qtoken_t qt;
    CU_ASSERT_EQUAL_FATAL(demi_accept(&qt, qd), 0);

    /* Every frame of the capture in, then a little longer for the answers to leave. */
    uint64_t start = now_ns(), settled = 0;
    while (now_ns() - start < 5ull * 1000000000u) {
        mg_libos_inet_ops.poll(lib, 0);
        if (!settled && lib->dev->stats.rx_frames >= 4)
            settled = now_ns();
        if (settled && now_ns() - settled > 100ull * 1000000u)
            break;
    }
    CU_ASSERT_EQUAL(lib->dev->stats.rx_frames, 4);
    mg_dpdk_netdev_print_stats(lib->dev, stdout);
    /* The application closes its listener: the two half-open connections end. */
    CU_ASSERT_EQUAL(demi_close(qd), 0);
    mg_rt_set_current(NULL);
    mg_rt_destroy(rt); /* closes the port: net_pcap flushes tx_pcap */
}

/* ---- what margay wrote, field by field ---- */

struct frame {
    uint8_t data[2048];
    size_t len;
};

static int read_capture(const char *path, struct frame *frames, int max) {
    char perr[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, perr);
    if (!p) {
        fprintf(stderr, "%s: %s\n", path, perr);
        return -1;
    }
    CU_ASSERT_EQUAL(pcap_datalink(p), DLT_EN10MB);
    struct pcap_pkthdr *h;
    const u_char *data;
    int n = 0;
    while (pcap_next_ex(p, &h, &data) == 1) {
        CU_ASSERT_EQUAL(h->caplen, h->len);
        if (n < max && h->caplen <= sizeof(frames[n].data)) {
            memcpy(frames[n].data, data, h->caplen);
            frames[n].len = h->caplen;
        }
        n++;
    }
    pcap_close(p);
    return n;
}

static void check_arp_reply(const struct frame *f) {
    const uint8_t *a = f->data + 14;
    CU_ASSERT_TRUE_FATAL(f->len >= 14 + 28);
    CU_ASSERT_EQUAL(memcmp(f->data, peer_mac, 6), 0); /* to the requester, not broadcast */
    CU_ASSERT_EQUAL(memcmp(f->data + 6, our_mac, 6), 0);
    CU_ASSERT_EQUAL(get16(a), 1); /* Ethernet */
    CU_ASSERT_EQUAL(get16(a + 2), 0x0800);
    CU_ASSERT_EQUAL(a[4], 6);
    CU_ASSERT_EQUAL(a[5], 4);
    CU_ASSERT_EQUAL(get16(a + 6), 2); /* reply */
    CU_ASSERT_EQUAL(memcmp(a + 8, our_mac, 6), 0);
    CU_ASSERT_EQUAL(get32(a + 14), OUR_IP);
    CU_ASSERT_EQUAL(memcmp(a + 18, peer_mac, 6), 0);
    CU_ASSERT_EQUAL(get32(a + 24), PEER_IP);
}

/* The IPv4 header of an answer to the peer: returns its length (0 if unusable). */
static size_t check_ipv4_to_peer(const struct frame *f, uint8_t proto) {
    CU_ASSERT_TRUE_FATAL(f->len >= 14 + 20);
    CU_ASSERT_EQUAL(memcmp(f->data, peer_mac, 6), 0);
    CU_ASSERT_EQUAL(memcmp(f->data + 6, our_mac, 6), 0);
    const uint8_t *ip = f->data + 14;
    size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
    CU_ASSERT_EQUAL(ip[0] >> 4, 4);
    CU_ASSERT_TRUE_FATAL(ihl >= 20 && 14 + ihl <= f->len);
    CU_ASSERT_EQUAL(inet_sum(ip, ihl), 0); /* header checksum */
    CU_ASSERT_TRUE_FATAL(get16(ip + 2) >= ihl && 14u + get16(ip + 2) <= f->len);
    CU_ASSERT_EQUAL(get16(ip + 6) & 0x3fff, 0); /* not a fragment */
    CU_ASSERT_TRUE(ip[8] > 0);
    CU_ASSERT_EQUAL(ip[9], proto);
    CU_ASSERT_EQUAL(get32(ip + 12), OUR_IP);
    CU_ASSERT_EQUAL(get32(ip + 16), PEER_IP);
    return ihl;
}

static void check_echo_reply(const struct frame *f) {
    size_t ihl = check_ipv4_to_peer(f, 1);
    const uint8_t *ip = f->data + 14, *icmp = ip + ihl;
    size_t icmp_len = get16(ip + 2) - ihl;
    CU_ASSERT_EQUAL_FATAL(icmp_len, 8 + ECHO_PAYLOAD);
    CU_ASSERT_EQUAL(icmp[0], 0); /* echo reply */
    CU_ASSERT_EQUAL(icmp[1], 0);
    CU_ASSERT_EQUAL(inet_sum(icmp, icmp_len), 0);
    CU_ASSERT_EQUAL(get16(icmp + 4), ECHO_ID);
    CU_ASSERT_EQUAL(get16(icmp + 6), ECHO_SEQ);
    bool same = true;
    for (size_t i = 0; i < ECHO_PAYLOAD; i++)
        same = same && icmp[8 + i] == echo_byte(i);
    CU_ASSERT_TRUE(same);
}

struct tcp_options {
    bool mss, wscale, sack_permitted, timestamps, unknown, malformed;
    uint16_t mss_value;
    uint8_t shift;
    uint32_t ts_val, ts_ecr;
};

/* Walks the option list as a receiver would: every option whole and known, NOP and
 * EOL only as padding. */
static void parse_options(const uint8_t *o, size_t len, struct tcp_options *out) {
    memset(out, 0, sizeof(*out));
    size_t i = 0;
    while (i < len) {
        uint8_t kind = o[i];
        if (kind == 0)
            break;
        if (kind == 1) {
            i++;
            continue;
        }
        if (i + 1 >= len || o[i + 1] < 2 || i + o[i + 1] > len) {
            out->malformed = true;
            return;
        }
        uint8_t olen = o[i + 1];
        switch (kind) {
        case 2:
            out->malformed |= olen != 4 || out->mss;
            out->mss = true;
            out->mss_value = get16(o + i + 2);
            break;
        case 3:
            out->malformed |= olen != 3 || out->wscale;
            out->wscale = true;
            out->shift = o[i + 2];
            break;
        case 4:
            out->malformed |= olen != 2 || out->sack_permitted;
            out->sack_permitted = true;
            break;
        case 8:
            out->malformed |= olen != 10 || out->timestamps;
            out->timestamps = true;
            out->ts_val = get32(o + i + 2);
            out->ts_ecr = get32(o + i + 6);
            break;
        default:
            out->unknown = true;
            break;
        }
        i += olen;
    }
}

/* A SYN-ACK to the SYN from sport with ISN isn; returns its options. */
static void check_syn_ack(const struct frame *f, uint16_t sport, uint32_t isn, struct tcp_options *opts) {
    size_t ihl = check_ipv4_to_peer(f, 6);
    const uint8_t *ip = f->data + 14, *t = ip + ihl;
    size_t seg_len = get16(ip + 2) - ihl;
    CU_ASSERT_TRUE_FATAL(seg_len >= 20);
    size_t doff = (size_t)(t[12] >> 4) * 4;
    CU_ASSERT_TRUE_FATAL(doff >= 20 && doff <= seg_len);
    CU_ASSERT_EQUAL(seg_len, doff); /* no payload */
    CU_ASSERT_EQUAL(tcp_sum(OUR_IP, PEER_IP, t, seg_len), 0);
    CU_ASSERT_EQUAL(get16(t), LISTEN_PORT);
    CU_ASSERT_EQUAL(get16(t + 2), sport);
    CU_ASSERT_EQUAL(get32(t + 8), isn + 1);
    CU_ASSERT_EQUAL(t[13], 0x12); /* SYN|ACK, nothing else */
    CU_ASSERT_EQUAL(t[12] & 0x0f, 0);
    CU_ASSERT_TRUE(get16(t + 14) > 0); /* an open window (never scaled in a SYN) */
    CU_ASSERT_EQUAL(get16(t + 18), 0); /* no urgent pointer */
    parse_options(t + 20, doff - 20, opts);
    CU_ASSERT_FALSE(opts->malformed);
    CU_ASSERT_FALSE(opts->unknown);
    CU_ASSERT_TRUE(opts->mss);
    CU_ASSERT_EQUAL(opts->mss_value, OUR_MSS);
}

static const struct frame *find(const struct frame *frames, int n, bool (*is)(const struct frame *), int *count) {
    const struct frame *found = NULL;
    *count = 0;
    for (int i = 0; i < n; i++)
        if (is(&frames[i])) {
            found = found ? found : &frames[i];
            (*count)++;
        }
    return found;
}
static bool is_arp(const struct frame *f) {
    return f->len >= 14 && get16(f->data + 12) == 0x0806;
}
static bool is_icmp(const struct frame *f) {
    return f->len >= 34 && get16(f->data + 12) == 0x0800 && f->data[14 + 9] == 1;
}
static uint16_t tcp_dport(const struct frame *f) {
    if (f->len < 14 + 20 || get16(f->data + 12) != 0x0800 || f->data[14 + 9] != 6)
        return 0;
    size_t ihl = (size_t)(f->data[14] & 0x0f) * 4;
    return f->len >= 14 + ihl + 4 ? get16(f->data + 14 + ihl + 2) : 0;
}
static uint8_t tcp_flags(const struct frame *f) {
    size_t ihl = (size_t)(f->data[14] & 0x0f) * 4;
    return f->len >= 14 + ihl + 14 ? f->data[14 + ihl + 13] : 0;
}
static bool is_syn_ack_to_syn1(const struct frame *f) {
    return tcp_dport(f) == SYN1_PORT && (tcp_flags(f) & 0x02);
}
static bool is_syn_ack_to_syn2(const struct frame *f) {
    return tcp_dport(f) == SYN2_PORT && (tcp_flags(f) & 0x02);
}
static bool is_rst_to_syn1(const struct frame *f) {
    return tcp_dport(f) == SYN1_PORT && (tcp_flags(f) & 0x04);
}
static bool is_rst_to_syn2(const struct frame *f) {
    return tcp_dport(f) == SYN2_PORT && (tcp_flags(f) & 0x04);
}

/* Closing the listener aborts its half-open connections: an RST|ACK right after the
 * SYN-ACK in sequence space, acknowledging the SYN. */
static void check_rst(const struct frame *f, const struct frame *syn_ack, uint16_t sport, uint32_t isn) {
    size_t ihl = check_ipv4_to_peer(f, 6);
    const uint8_t *ip = f->data + 14, *t = ip + ihl;
    size_t seg_len = get16(ip + 2) - ihl;
    CU_ASSERT_TRUE_FATAL(seg_len >= 20 && (size_t)(t[12] >> 4) * 4 == seg_len);
    CU_ASSERT_EQUAL(tcp_sum(OUR_IP, PEER_IP, t, seg_len), 0);
    CU_ASSERT_EQUAL(get16(t), LISTEN_PORT);
    CU_ASSERT_EQUAL(get16(t + 2), sport);
    size_t sa_ihl = (size_t)(syn_ack->data[14] & 0x0f) * 4;
    CU_ASSERT_EQUAL(get32(t + 4), get32(syn_ack->data + 14 + sa_ihl + 4) + 1);
    CU_ASSERT_EQUAL(get32(t + 8), isn + 1);
    CU_ASSERT_EQUAL(t[13], 0x14); /* RST|ACK */
}

static void test_answers_field_by_field(void) {
    static struct frame frames[16];
    int n = read_capture(out_path, frames, 16);
    /* One answer to each frame, then the two RSTs of the close; nothing else. */
    CU_ASSERT_EQUAL_FATAL(n, 6);
    int count;
    const struct frame *f = find(frames, n, is_arp, &count);
    CU_ASSERT_EQUAL(count, 1);
    if (f)
        check_arp_reply(f);
    f = find(frames, n, is_icmp, &count);
    CU_ASSERT_EQUAL(count, 1);
    if (f)
        check_echo_reply(f);

    struct tcp_options o;
    const struct frame *sa1 = find(frames, n, is_syn_ack_to_syn1, &count);
    CU_ASSERT_EQUAL(count, 1);
    if (sa1) {
        check_syn_ack(sa1, SYN1_PORT, SYN1_ISN, &o);
        /* The SYN offered window scale, timestamps and SACK: margay takes all three. */
        CU_ASSERT_TRUE(o.wscale);
        CU_ASSERT_EQUAL(o.shift, OUR_WSCALE);
        CU_ASSERT_TRUE(o.timestamps);
        CU_ASSERT_EQUAL(o.ts_ecr, SYN1_TSVAL);
        CU_ASSERT_TRUE(o.sack_permitted); /* the SYN offered SACK; tcp.sack is on by default */
    }
    const struct frame *sa2 = find(frames, n, is_syn_ack_to_syn2, &count);
    CU_ASSERT_EQUAL(count, 1);
    if (sa2) {
        check_syn_ack(sa2, SYN2_PORT, SYN2_ISN, &o);
        /* A SYN without options gets MSS alone (RFC 7323: no scale or timestamps
         * unless the peer offered them). */
        CU_ASSERT_FALSE(o.wscale);
        CU_ASSERT_FALSE(o.timestamps);
        CU_ASSERT_FALSE(o.sack_permitted); /* never offered to a SYN that did not (RFC 2018 2) */
    }
    f = find(frames, n, is_rst_to_syn1, &count);
    CU_ASSERT_EQUAL(count, 1);
    if (f && sa1)
        check_rst(f, sa1, SYN1_PORT, SYN1_ISN);
    f = find(frames, n, is_rst_to_syn2, &count);
    CU_ASSERT_EQUAL(count, 1);
    if (f && sa2)
        check_rst(f, sa2, SYN2_PORT, SYN2_ISN);
    /* In the order the capture asked: ARP, echo, SYN 1, SYN 2. */
    CU_ASSERT_TRUE(is_arp(&frames[0]) && is_icmp(&frames[1]) && is_syn_ack_to_syn1(&frames[2]) &&
                   is_syn_ack_to_syn2(&frames[3]));
}

/* The test's own checksum routine catches a flipped bit (so its zeros above mean
 * something), and the frames it wrote carry good checksums. */
static void test_checksum_routine(void) {
    static struct frame frames[8];
    CU_ASSERT_EQUAL_FATAL(read_capture(in_path, frames, 8), 4);
    const uint8_t *ip = frames[3].data + 14, *t = ip + 20;
    CU_ASSERT_EQUAL(inet_sum(ip, 20), 0);
    CU_ASSERT_EQUAL(tcp_sum(PEER_IP, OUR_IP, t, 20), 0);
    frames[3].data[14 + 20 + 5] ^= 0x10;
    CU_ASSERT_NOT_EQUAL(tcp_sum(PEER_IP, OUR_IP, t, 20), 0);
    CU_ASSERT_NOT_EQUAL(tcp_sum(PEER_IP ^ 1, OUR_IP, frames[2].data + 34, 40), 0);
}

/* ---- Wireshark's opinion ---- */

static bool have_tshark(void) {
    return system("command -v tshark >/dev/null 2>&1") == 0;
}

/* Runs tshark on path with every checksum check on; returns what it printed for
 * `filter` (frame numbers and protocols), in out. -1 if tshark could not run. */
static int tshark_lines(const char *path, const char *filter, char *out, size_t outlen) {
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "tshark -n -r '%s' -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE "
             "-Y '%s' -T fields -e frame.number -e frame.protocols -e _ws.expert.message 2>/dev/null",
             path, filter);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t used = fread(out, 1, outlen - 1, p);
    out[used] = '\0';
    int st = pclose(p);
    return st == 0 ? (int)used : -1;
}

/* Checksum status 0 is Wireshark's "Bad" (1 "Good", 2 "Unverified"); a bad checksum
 * is also an expert error. */
#define TSHARK_BAD                                                                                                     \
    "_ws.malformed || _ws.expert.severity >= error || ip.checksum.status == 0 || tcp.checksum.status == 0 || "         \
    "icmp.checksum.status == 0"

static void tshark_judges(const char *path, const char *want_protocols[], int nframes) {
    char text[8192];
    CU_ASSERT_FATAL(tshark_lines(path, TSHARK_BAD, text, sizeof(text)) >= 0);
    if (text[0])
        fprintf(stderr, "tshark flags in %s:\n%s", path, text);
    CU_ASSERT_STRING_EQUAL(text, "");
    /* It did dissect every frame as what it is, checksums verified good. */
    CU_ASSERT_FATAL(tshark_lines(path, "frame", text, sizeof(text)) >= 0);
    int lines = 0;
    for (const char *c = text; *c; c++)
        lines += *c == '\n';
    CU_ASSERT_EQUAL(lines, nframes);
    for (int i = 0; want_protocols[i]; i++)
        CU_ASSERT_PTR_NOT_NULL(strstr(text, want_protocols[i]));
    CU_ASSERT_FATAL(tshark_lines(path, "ip.checksum.status == 1", text, sizeof(text)) >= 0);
    lines = 0;
    for (const char *c = text; *c; c++)
        lines += *c == '\n';
    CU_ASSERT_EQUAL(lines, nframes - 1); /* all but the ARP frame */
}

static void test_tshark_output(void) {
    static const char *want[] = {"eth:ethertype:arp", "eth:ethertype:ip:icmp:data", "eth:ethertype:ip:tcp", NULL};
    tshark_judges(out_path, want, 6);
}

static void test_tshark_input(void) {
    static const char *want[] = {"eth:ethertype:arp", "eth:ethertype:ip:icmp:data", "eth:ethertype:ip:tcp", NULL};
    tshark_judges(in_path, want, 4);
}

int main(void) {
    static const char *const extra[] = {"--no-pci", "--no-telemetry", "--log-level=warning"};
    if (mg_test_eal_setup(&eal, "test_dpdk_pcap_stack", 128, false, extra, (int)(sizeof(extra) / sizeof(extra[0]))))
        return 1;
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(in_path, sizeof(in_path), "%s/in.pcap", dir);
    snprintf(out_path, sizeof(out_path), "%s/out.pcap", dir);
    snprintf(cfg_path, sizeof(cfg_path), "%s/margay.yaml", dir);
    if (write_capture() != 0 || write_config() != 0) {
        fprintf(stderr, "cannot write the capture or the configuration in %s\n", dir);
        return 1;
    }
    bool tshark = have_tshark();
    if (!tshark)
        printf("test_dpdk_pcap_stack: SKIP the tshark checks: tshark is not installed (apt-get install tshark)\n");
    static const struct mg_test_case with_tshark[] = {
        {"checksum routine of the test", test_checksum_routine},
        {"inet over net_pcap answers ARP, ICMP echo and two SYNs", test_stack_answers_capture},
        {"ARP reply, echo reply, SYN-ACKs, RSTs field by field", test_answers_field_by_field},
        {"tshark: the input capture is clean", test_tshark_input},
        {"tshark: margay's answers: nothing malformed, no bad checksum", test_tshark_output},
        {NULL, NULL},
    };
    static struct mg_test_case without_tshark[4];
    memcpy(without_tshark, with_tshark, 3 * sizeof(with_tshark[0]));
    int rc = mg_run_tests("dpdk_pcap_stack", tshark ? with_tshark : without_tshark);
    mg_dpdk_eal_cleanup();
    mg_test_eal_remove_runtime_dir(&eal);
    unlink(in_path);
    unlink(out_path);
    unlink(cfg_path);
    rmdir(dir);
    return rc;
}
