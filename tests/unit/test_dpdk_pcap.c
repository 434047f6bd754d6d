/* tests/unit/test_dpdk_pcap.c — the DPDK netdev over net_pcap: frames written to a
 * capture with libpcap come in through rx_pcap byte-identical, and what margay
 * transmits (received buffers sent back without a copy, and a heap buffer that has
 * to be copied) lands in tx_pcap byte-identical, as read back with libpcap. */
#include "config.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/config.h"
#include "drivers/dpdk/dpdk_netdev.h"
#include "inet/netdev.h"
#include "tests/dpdk/eal_memory.h"

#define NFRAMES 12
static const uint32_t sizes[NFRAMES] = {60, 64, 100, 128, 333, 512, 777, 1000, 1024, 1400, 1513, 1514};

static char dir[] = "/tmp/mg_dpdk_pcap_XXXXXX";
static char in_path[64], out_path[64], vdev_arg[200];
static struct mg_test_eal eal; /* hugepages when the machine has them, else --no-huge */

static void frame_bytes(uint8_t *p, uint32_t len, uint32_t seed) {
    for (uint32_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seed * 37u + i * 13u + (i >> 7));
}

static int write_input(void) {
    pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
    if (!p)
        return -1;
    pcap_dumper_t *d = pcap_dump_open(p, in_path);
    if (!d) {
        pcap_close(p);
        return -1;
    }
    uint8_t buf[1514];
    for (uint32_t i = 0; i < NFRAMES; i++) {
        struct pcap_pkthdr h = {.ts = {.tv_sec = 1, .tv_usec = (suseconds_t)i}, .caplen = sizes[i], .len = sizes[i]};
        frame_bytes(buf, sizes[i], i);
        pcap_dump((u_char *)d, &h, buf);
    }
    pcap_dump_close(d);
    pcap_close(p);
    return 0;
}

static void test_pcap_in_and_out(void) {
    struct mg_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    for (int i = 0; i < eal.argc; i++)
        cfg.eal_args[i] = eal.argv[i];
    cfg.eal_argc = eal.argc;
    cfg.dpdk_mempool_size = 1023;
    cfg.dpdk_rx_desc = 128;
    cfg.dpdk_tx_desc = 128;
    cfg.dpdk_link_timeout_ms = 1000;
    snprintf(cfg.dpdk_port, sizeof(cfg.dpdk_port), "net_pcap0");
    char err[512] = "";
    struct mg_netdev *dev = NULL;
    int ret = mg_dpdk_netdev_open(&cfg, &dev, err, sizeof(err));
    if (ret != 0)
        fprintf(stderr, "%s\n", err);
    CU_ASSERT_EQUAL_FATAL(ret, 0);

    struct mg_buf *in[NFRAMES + 1];
    uint16_t got = 0;
    for (int tries = 0; tries < 1000 && got < NFRAMES; tries++)
        got += mg_netdev_rx(dev, in + got, (uint16_t)(NFRAMES - got));
    CU_ASSERT_EQUAL_FATAL(got, NFRAMES);
    uint8_t want[1514];
    for (uint32_t i = 0; i < NFRAMES; i++) {
        frame_bytes(want, sizes[i], i);
        CU_ASSERT_EQUAL(in[i]->len, sizes[i]);
        CU_ASSERT_TRUE(in[i]->len == sizes[i] && memcmp(in[i]->data, want, sizes[i]) == 0);
        CU_ASSERT_PTR_EQUAL(in[i]->pool, dev->pool);
    }
    /* Echo them back, plus one heap frame. */
    struct mg_buf *heap = mg_buf_alloc_heap(90, 64);
    CU_ASSERT_PTR_NOT_NULL_FATAL(heap);
    frame_bytes(mg_buf_append(heap, 90), 90, 99);
    in[NFRAMES] = heap;
    CU_ASSERT_EQUAL(mg_netdev_tx(dev, in, NFRAMES + 1), NFRAMES + 1);
    CU_ASSERT_EQUAL(dev->stats.tx_copies, 1);
    CU_ASSERT_EQUAL(dev->pool->in_use, 0);
    mg_dpdk_netdev_print_stats(dev, stdout);
    mg_netdev_destroy(dev); /* closes tx_pcap */

    char perr[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(out_path, perr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    struct pcap_pkthdr *h;
    const u_char *data;
    uint32_t n = 0;
    while (pcap_next_ex(p, &h, &data) == 1) {
        uint32_t len = n < NFRAMES ? sizes[n] : 90;
        frame_bytes(want, len, n < NFRAMES ? n : 99);
        CU_ASSERT_EQUAL(h->caplen, len);
        CU_ASSERT_TRUE(h->caplen == len && memcmp(data, want, len) == 0);
        n++;
    }
    pcap_close(p);
    CU_ASSERT_EQUAL(n, NFRAMES + 1);
}

int main(void) {
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(in_path, sizeof(in_path), "%s/in.pcap", dir);
    snprintf(out_path, sizeof(out_path), "%s/out.pcap", dir);
    snprintf(vdev_arg, sizeof(vdev_arg), "--vdev=net_pcap0,rx_pcap=%s,tx_pcap=%s", in_path, out_path);
    const char *extra[] = {"--no-pci", "--no-telemetry", "--log-level=warning", vdev_arg};
    if (mg_test_eal_setup(&eal, "test_dpdk_pcap", 256, false, extra, (int)(sizeof(extra) / sizeof(extra[0]))) != 0)
        return 1;
    if (write_input() != 0) {
        fprintf(stderr, "cannot write %s\n", in_path);
        return 1;
    }
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("dpdk_pcap", NULL, NULL);
    CU_add_test(s, "net_pcap: rx_pcap in, tx_pcap out, byte-identical", test_pcap_in_and_out);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    mg_dpdk_eal_cleanup();
    mg_test_eal_remove_runtime_dir(&eal);
    unlink(in_path);
    unlink(out_path);
    rmdir(dir);
    return failed ? 1 : 0;
}
