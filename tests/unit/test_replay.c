/* tests/unit/test_replay.c — the capture reader's link-type conversions, and replay of
 * a synthesised conversation end to end: written with libpcap as Ethernet and as
 * Linux cooked v2, replayed into margay's echo application, margay's answers checked
 * segment by segment (its own ISN, the client's acknowledgments translated into
 * it), and the judge's verdict against the recorded server asserted. */
#include "config.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcap/judge.h"
#include "pcap/reader.h"
#include "pcap/replay.h"
#include "wire/wire.h"

static const uint8_t ipv4_pkt[20] = {0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};

static void test_ethernet_passthrough(void) {
    uint8_t in[60] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x08, 0x00}, out[100];
    CU_ASSERT_EQUAL(mg_cap_to_ethernet(MG_CAP_LINK_EN10MB, in, sizeof(in), out, sizeof(out)), 60);
    CU_ASSERT_EQUAL(memcmp(in, out, 60), 0);
    CU_ASSERT_EQUAL(mg_cap_to_ethernet(MG_CAP_LINK_EN10MB, in, 13, out, sizeof(out)), -EINVAL);
    CU_ASSERT_EQUAL(mg_cap_to_ethernet(MG_CAP_LINK_EN10MB, in, 60, out, 59), -ENOBUFS);
}

static void check_synth(const uint8_t *out, long n, uint16_t ethertype) {
    CU_ASSERT_EQUAL(n, 14 + 20);
    static const uint8_t dst[6] = {2, 0, 10, 0, 0, 2}, src[6] = {2, 0, 10, 0, 0, 1};
    CU_ASSERT_EQUAL(memcmp(out, dst, 6), 0);
    CU_ASSERT_EQUAL(memcmp(out + 6, src, 6), 0);
    CU_ASSERT_EQUAL(out[12] << 8 | out[13], ethertype);
    CU_ASSERT_EQUAL(memcmp(out + 14, ipv4_pkt, 20), 0);
}

static void test_raw_and_loopback(void) {
    uint8_t out[100], in[24];
    check_synth(out, mg_cap_to_ethernet(MG_CAP_LINK_RAW, ipv4_pkt, 20, out, sizeof(out)), MG_ETHERTYPE_IPV4);
    check_synth(out, mg_cap_to_ethernet(MG_CAP_LINK_RAW_DLT, ipv4_pkt, 20, out, sizeof(out)), MG_ETHERTYPE_IPV4);
    check_synth(out, mg_cap_to_ethernet(MG_CAP_LINK_IPV4, ipv4_pkt, 20, out, sizeof(out)), MG_ETHERTYPE_IPV4);
    /* BSD loopback: the family (either byte order) is skipped, the version decides. */
    memcpy(in, (const uint8_t[]){2, 0, 0, 0}, 4);
    memcpy(in + 4, ipv4_pkt, 20);
    check_synth(out, mg_cap_to_ethernet(MG_CAP_LINK_NULL, in, 24, out, sizeof(out)), MG_ETHERTYPE_IPV4);
    check_synth(out, mg_cap_to_ethernet(MG_CAP_LINK_LOOP, in, 24, out, sizeof(out)), MG_ETHERTYPE_IPV4);
    uint8_t v6[40] = {0x60};
    CU_ASSERT_EQUAL(mg_cap_to_ethernet(MG_CAP_LINK_RAW, v6, 40, out, sizeof(out)), 54);
    CU_ASSERT_EQUAL(out[12] << 8 | out[13], MG_ETHERTYPE_IPV6);
    uint8_t junk[4] = {0x15, 1, 2, 3};
    CU_ASSERT_EQUAL(mg_cap_to_ethernet(MG_CAP_LINK_RAW, junk, 4, out, sizeof(out)), -EINVAL);
    CU_ASSERT_EQUAL(mg_cap_to_ethernet(MG_CAP_LINK_RAW, junk, 0, out, sizeof(out)), -EINVAL);
    CU_ASSERT_EQUAL(mg_cap_to_ethernet(MG_CAP_LINK_NULL, junk, 3, out, sizeof(out)), -EINVAL);
    CU_ASSERT_EQUAL(mg_cap_to_ethernet(105, junk, 4, out, sizeof(out)), -EPROTONOSUPPORT);
}

static void test_linux_cooked(void) {
    uint8_t out[100], sll[16 + 20] = {0, 0, 0, 1, 0, 6, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0, 0, 0x08, 0x00};
    memcpy(sll + 16, ipv4_pkt, 20);
    long n = mg_cap_to_ethernet(MG_CAP_LINK_LINUX_SLL, sll, sizeof(sll), out, sizeof(out));
    CU_ASSERT_EQUAL(n, 34);
    static const uint8_t mac[6] = {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    CU_ASSERT_EQUAL(memcmp(out + 6, mac, 6), 0); /* the recorded sender's address is kept */
    CU_ASSERT_EQUAL(memcmp(out + 14, ipv4_pkt, 20), 0);
    uint8_t sll2[20 + 20] = {0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0, 0};
    memcpy(sll2 + 20, ipv4_pkt, 20);
    n = mg_cap_to_ethernet(MG_CAP_LINK_LINUX_SLL2, sll2, sizeof(sll2), out, sizeof(out));
    CU_ASSERT_EQUAL(n, 34);
    CU_ASSERT_EQUAL(memcmp(out + 6, mac, 6), 0);
    CU_ASSERT_EQUAL(out[12] << 8 | out[13], MG_ETHERTYPE_IPV4);
    sll2[0] = 0x88; /* not IP or ARP */
    CU_ASSERT_EQUAL(mg_cap_to_ethernet(MG_CAP_LINK_LINUX_SLL2, sll2, sizeof(sll2), out, sizeof(out)), -EINVAL);
    CU_ASSERT_EQUAL(mg_cap_to_ethernet(MG_CAP_LINK_LINUX_SLL2, sll2, 19, out, sizeof(out)), -EINVAL);
    CU_ASSERT_EQUAL(mg_cap_to_ethernet(MG_CAP_LINK_LINUX_SLL, sll, 15, out, sizeof(out)), -EINVAL);
}

/* ---- a synthesised conversation ---- */

#define CLIENT 0x0a000001u
#define SERVER 0x0a000002u
static const uint8_t client_mac[6] = {2, 0, 0, 0, 0, 1}, server_mac[6] = {2, 0, 0, 0, 0, 2};

/* Builds an Ethernet/IPv4/TCP frame with correct checksums. */
static size_t build_seg(uint8_t *f, bool from_client, uint32_t seq, uint32_t ack, uint8_t flags, const char *data) {
    size_t dlen = data ? strlen(data) : 0;
    struct mg_eth_hdr eth = {.ethertype = MG_ETHERTYPE_IPV4};
    memcpy(eth.dst, from_client ? server_mac : client_mac, 6);
    memcpy(eth.src, from_client ? client_mac : server_mac, 6);
    mg_eth_build(f, 14, &eth);
    struct mg_tcp_hdr th = {.sport = from_client ? 40000 : 7,
                            .dport = from_client ? 7 : 40000,
                            .seq = seq,
                            .ack = ack,
                            .flags = flags,
                            .window = 65535};
    if (flags & MG_TCP_SYN) {
        th.opts.has_mss = true;
        th.opts.mss = 1460;
    }
    size_t thl = mg_tcp_build(f + 34, 60, &th);
    memcpy(f + 34 + thl, data ? data : "", dlen);
    size_t l4 = thl + dlen;
    struct mg_ipv4_hdr ip = {.total_len = (uint16_t)(20 + l4),
                             .ttl = 64,
                             .proto = 6,
                             .src = from_client ? CLIENT : SERVER,
                             .dst = from_client ? SERVER : CLIENT};
    mg_ipv4_build(f + 14, 20, &ip, true);
    uint16_t ck = mg_l4_cksum_ipv4(ip.src, ip.dst, 6, f + 34, l4);
    f[34 + 16] = (uint8_t)(ck >> 8);
    f[34 + 17] = (uint8_t)ck;
    return 34 + l4;
}

/* Writes frames as link type `dlt` (EN10MB, or LINUX_SLL2 with the Ethernet header
 * replaced by a cooked one). */
static void write_conversation(const char *path, int dlt) {
    pcap_t *p = pcap_open_dead(dlt, 65535);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    pcap_dumper_t *d = pcap_dump_open(p, path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    /* The recorded conversation: a client sends "hello" to an echo server (port 7),
     * which echoes it; the client closes, the server closes, the client acks. */
    const uint32_t c = 1000, s = 5000000;
    struct {
        bool from_client;
        uint32_t seq, ack;
        uint8_t flags;
        const char *data;
    } segs[] = {
        {true, c, 0, MG_TCP_SYN, NULL},
        {false, s, c + 1, MG_TCP_SYN | MG_TCP_ACK, NULL},
        {true, c + 1, s + 1, MG_TCP_ACK, NULL},
        {true, c + 1, s + 1, MG_TCP_ACK | MG_TCP_PSH, "hello"},
        {false, s + 1, c + 6, MG_TCP_ACK | MG_TCP_PSH, "hello"},
        {true, c + 6, s + 6, MG_TCP_ACK | MG_TCP_FIN, NULL},
        {false, s + 6, c + 7, MG_TCP_ACK | MG_TCP_FIN, NULL},
        {true, c + 7, s + 7, MG_TCP_ACK, NULL},
    };
    for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
        uint8_t f[200], cooked[220];
        size_t n = build_seg(f, segs[i].from_client, segs[i].seq, segs[i].ack, segs[i].flags, segs[i].data);
        struct pcap_pkthdr h = {.ts = {.tv_sec = 1700000000, .tv_usec = (suseconds_t)(i * 10000)}};
        const uint8_t *rec = f;
        if (dlt == DLT_LINUX_SLL2) {
            memset(cooked, 0, 20);
            cooked[0] = 0x08; /* protocol IPv4 */
            cooked[9] = 1;    /* ARPHRD_ETHER */
            cooked[10] = segs[i].from_client ? 0 : 4;
            cooked[11] = 6;
            memcpy(cooked + 12, f + 6, 6); /* sender's MAC */
            memcpy(cooked + 20, f + 14, n - 14);
            rec = cooked;
            n = n - 14 + 20;
        }
        h.caplen = h.len = (bpf_u_int32)n;
        pcap_dump((u_char *)d, &h, rec);
    }
    pcap_dump_close(d);
    pcap_close(p);
}

static size_t count_payload(const struct mg_replay_result *res, const char *want) {
    size_t hits = 0;
    for (size_t i = 0; i < res->nout; i++) {
        const struct mg_replay_frame *f = &res->out[i];
        struct mg_tcp_hdr th;
        if (f->len < 34 + 20 || mg_tcp_parse(f->data + 34, f->len - 34, &th) < 0)
            continue;
        size_t off = 34 + th.hdr_len;
        if (f->len - off == strlen(want) && memcmp(f->data + off, want, strlen(want)) == 0)
            hits++;
    }
    return hits;
}

static void replay_conversation(int dlt) {
    char path[] = "/tmp/margay-test-replay-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    write_conversation(path, dlt);
    struct mg_replay_opts o = {.in_path = path, .app = MG_REPLAY_APP_ECHO};
    struct mg_replay_result res;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(mg_replay_run(&o, &res, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(res.endpoint_ip, SERVER);
    CU_ASSERT_EQUAL(res.frames_read, 8);
    CU_ASSERT_EQUAL(res.frames_in, 5);
    CU_ASSERT_EQUAL(res.nports, 1);
    CU_ASSERT_EQUAL(res.ports[0], 7);
    CU_ASSERT_EQUAL_FATAL(res.nflows, 1);
    const struct mg_replay_flow *fl = &res.flows[0];
    CU_ASSERT_EQUAL(fl->app_bytes, 5);
    CU_ASSERT_TRUE(fl->app_eof);
    CU_ASSERT_TRUE(fl->margay.answered_syn);
    CU_ASSERT_NOT_EQUAL(fl->margay.isn, 5000000u); /* margay's own ISN */
    CU_ASSERT_EQUAL(fl->margay.max_ack_rel, 5);
    CU_ASSERT_TRUE(fl->margay.fin);
    CU_ASSERT_FALSE(fl->margay.rst);
    /* The echo went out once: the client's translated acknowledgment covered it. */
    CU_ASSERT_EQUAL(count_payload(&res, "hello"), 1);
    CU_ASSERT_EQUAL(res.tcp.retransmits, 0);
    CU_ASSERT_EQUAL(fl->final_state, MG_TCP_CLOSED); /* the last ACK closed LAST-ACK */
    char why[512];
    CU_ASSERT_EQUAL(mg_judge_flow(fl, why, sizeof(why)), MG_JUDGE_CONFORMS);
    mg_replay_result_free(&res);
    unlink(path);
}

static void test_replay_ethernet_echo(void) {
    replay_conversation(DLT_EN10MB);
}

static void test_replay_sll2_echo(void) {
    replay_conversation(DLT_LINUX_SLL2);
}

static void test_judge_differs(void) {
    struct mg_replay_flow fl = {.client_syn = true};
    fl.recorded.answered_syn = true;
    fl.margay.refused_syn = true;
    char why[256];
    CU_ASSERT_EQUAL(mg_judge_flow(&fl, why, sizeof(why)), MG_JUDGE_DIFFERS);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "accepted by the recorded server, refused by margay"));
    fl.margay = fl.recorded;
    fl.margay.synack_opts.has_mss = true;
    fl.margay.synack_opts.sack_permitted = true; /* not offered by the client */
    fl.recorded.max_ack_rel = 10;
    fl.margay.max_ack_rel = 10;
    fl.app_bytes = 10;
    fl.app_known = true;
    CU_ASSERT_EQUAL(mg_judge_flow(&fl, why, sizeof(why)), MG_JUDGE_DIFFERS);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "SACK-permitted the client did not offer"));
    fl.client_syn_opts.sack_permitted = true;
    CU_ASSERT_EQUAL(mg_judge_flow(&fl, why, sizeof(why)), MG_JUDGE_CONFORMS);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "note: SACK negotiated by margay only"));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "10 payload bytes acknowledged and delivered"));
    fl.app_bytes = 3; /* the application got less than was acknowledged */
    CU_ASSERT_EQUAL(mg_judge_flow(&fl, why, sizeof(why)), MG_JUDGE_DIFFERS);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "delivered 3 payload bytes to the application"));
    fl.app_known = false; /* a user's program: delivery is not measured, nor judged */
    CU_ASSERT_EQUAL(mg_judge_flow(&fl, why, sizeof(why)), MG_JUDGE_CONFORMS);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "10 payload bytes acknowledged"));
    CU_ASSERT_PTR_NULL(strstr(why, "delivered"));
    fl.client_syn = false;
    CU_ASSERT_EQUAL(mg_judge_flow(&fl, why, sizeof(why)), MG_JUDGE_NOT_JUDGED);
}

/* Seeded corruption of real captures: every mutant either replays or gives an error
 * message, never a crash (the sanitizer build turns any memory error into a failure). */
static void test_mutated_corpus_never_crashes(void) {
    const char *dir = getenv("MARGAY_TESTDATA");
    static const char *names[] = {
        "tcp-full-http_zeek-communityid-tcp.pcap", "tcp-empty-sack-opt-rtx_suricata-tcp-empty-sack.pcap",
        "ipv6-tcp-full-loopback_zeek-redis-pipelining.pcap", "tcp-urgent-data_suricata-tcp-urgent1.pcap"};
    if (!dir) {
        printf("(MARGAY_TESTDATA not set: no mutants) ");
        return;
    }
    uint64_t x = 0x9e3779b97f4a7c15ull;
    unsigned ran = 0;
    for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/pcap/%s", dir, names[n]);
        FILE *in = fopen(path, "rb");
        if (!in)
            continue;
        static uint8_t orig[65536], mut[65536];
        size_t len = fread(orig, 1, sizeof(orig), in);
        fclose(in);
        for (int m = 0; m < 12 && len > 24; m++) {
            memcpy(mut, orig, len);
            size_t mlen = len;
            for (int k = 0; k < 1 + m; k++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                mut[24 + x % (len - 24)] = (uint8_t)(x >> 32);
            }
            if (m % 4 == 3)
                mlen = 24 + (size_t)(x % (len - 24));
            char tmp[] = "/tmp/margay-mutant-XXXXXX";
            int fd = mkstemp(tmp);
            CU_ASSERT_FATAL(fd >= 0);
            CU_ASSERT_EQUAL_FATAL(write(fd, mut, mlen), (ssize_t)mlen);
            close(fd);
            struct mg_replay_opts o = {.in_path = tmp, .fix_checksums = m % 2 == 0};
            struct mg_replay_result res;
            char err[512] = "";
            int rc = mg_replay_run(&o, &res, err, sizeof(err));
            CU_ASSERT(rc == 0 || (rc < 0 && err[0] != '\0'));
            for (size_t i = 0; i < res.nflows; i++) {
                char why[512];
                mg_judge_flow(&res.flows[i], why, sizeof(why));
            }
            mg_replay_result_free(&res);
            unlink(tmp);
            ran++;
        }
    }
    CU_ASSERT(ran > 0);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return CU_get_error();
    CU_pSuite s = CU_add_suite("replay", NULL, NULL);
    CU_add_test(s, "ethernet passthrough", test_ethernet_passthrough);
    CU_add_test(s, "raw IP and loopback", test_raw_and_loopback);
    CU_add_test(s, "linux cooked v1 and v2", test_linux_cooked);
    CU_add_test(s, "replay ethernet echo", test_replay_ethernet_echo);
    CU_add_test(s, "replay sll2 echo", test_replay_sll2_echo);
    CU_add_test(s, "judge differs", test_judge_differs);
    CU_add_test(s, "mutated corpus never crashes", test_mutated_corpus_never_crashes);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
