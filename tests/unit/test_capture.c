/* tests/unit/test_capture.c — the capture tap records exactly the frames that went in
 * and out of the device it wraps, with direction flags and the clock's timestamps,
 * stays within its size limit (stopping or rotating), and writes pcapng that libpcap
 * reads back byte for byte. The wrapped device is a loopback netdev written here. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "core/buf.h"
#include "core/clock.h"
#include "drivers/capture.h"
#include "drivers/pcapng.h"
#ifdef HAVE_PCAP
#include <pcap/pcap.h>
#endif

/* ---- a loopback netdev: transmitted frames come back on receive ---- */
#define LOOP_MAX 256
struct loopdev {
    struct mg_netdev dev;
    struct mg_buf *queue[LOOP_MAX];
    unsigned head, count;
    unsigned tx_accept_limit; /* frames accepted per tx burst (to test refusals) */
    bool destroyed;
};

static uint16_t loop_rx(struct mg_netdev *d, struct mg_buf **bufs, uint16_t n) {
    struct loopdev *l = (struct loopdev *)d;
    uint16_t got = 0;
    while (got < n && l->count) {
        bufs[got++] = l->queue[l->head];
        l->head = (l->head + 1) % LOOP_MAX;
        l->count--;
    }
    return got;
}

static uint16_t loop_tx(struct mg_netdev *d, struct mg_buf **bufs, uint16_t n) {
    struct loopdev *l = (struct loopdev *)d;
    uint16_t taken = 0;
    while (taken < n && taken < l->tx_accept_limit && l->count < LOOP_MAX) {
        l->queue[(l->head + l->count) % LOOP_MAX] = bufs[taken++];
        l->count++;
    }
    return taken;
}

static void loop_destroy(struct mg_netdev *d) { ((struct loopdev *)d)->destroyed = true; }

static const struct mg_netdev_ops loop_ops = {.rx_burst = loop_rx, .tx_burst = loop_tx, .destroy = loop_destroy};

static struct loopdev loop;
static struct mg_pool *pool;
static char dir[] = "/tmp/margay-capture-XXXXXX";

static void loop_init(void) {
    memset(&loop, 0, sizeof(loop));
    loop.dev.ops = &loop_ops;
    snprintf(loop.dev.name, sizeof(loop.dev.name), "loop0");
    loop.dev.mtu = 1500;
    loop.dev.pool = pool;
    loop.tx_accept_limit = UINT32_MAX;
}

static struct mg_buf *frame(unsigned seq, uint32_t len) {
    struct mg_buf *b = mg_buf_alloc(pool);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    uint8_t *p = mg_buf_append(b, len);
    for (uint32_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seq * 7 + i);
    return b;
}

static void path_in_dir(char *out, size_t len, const char *name) { snprintf(out, len, "%s/%s", dir, name); }

/* ---- a pcapng reader for the checks: walks the blocks, keeps the EPBs ---- */
struct epb {
    uint64_t ts;
    uint32_t flags;
    uint32_t len;
    uint8_t data[2048];
};

static int read_epbs(const char *path, struct epb *out, int max, int *idb_count) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    static uint8_t block[70000];
    int n = 0;
    *idb_count = 0;
    for (;;) {
        uint32_t hdr[2];
        if (fread(hdr, 4, 2, f) != 2)
            break;
        uint32_t type = hdr[0], total = hdr[1];
        if (total < 12 || total > sizeof(block) || total % 4) {
            n = -2;
            break;
        }
        if (fread(block, 1, total - 8, f) != total - 8) {
            n = -3;
            break;
        }
        uint32_t trailer;
        memcpy(&trailer, block + total - 12, 4);
        if (trailer != total) {
            n = -4;
            break;
        }
        if (type == 1)
            (*idb_count)++;
        if (type != 6 || n >= max)
            continue;
        uint32_t w[5];
        memcpy(w, block, 20);
        out[n].ts = ((uint64_t)w[1] << 32) | w[2];
        out[n].len = w[3];
        memcpy(out[n].data, block + 20, w[3] < 2048 ? w[3] : 2048);
        size_t opt = 20 + ((w[3] + 3u) & ~3u);
        out[n].flags = 0;
        while (opt + 4 <= total - 12) {
            uint16_t code, olen;
            memcpy(&code, block + opt, 2);
            memcpy(&olen, block + opt + 2, 2);
            if (code == 0)
                break;
            if (code == 2 && olen == 4)
                memcpy(&out[n].flags, block + opt + 4, 4);
            opt += 4 + ((olen + 3u) & ~3u);
        }
        n++;
    }
    fclose(f);
    return n;
}

static struct epb epbs[600];

static void test_records_both_directions(void) {
    loop_init();
    struct mg_clock clock;
    mg_clock_init_manual(&clock, 1000 * MG_NS_PER_S);
    char path[256];
    path_in_dir(path, sizeof(path), "both.pcapng");
    struct mg_capture_opts opts = {.path = path};
    struct mg_netdev *cap = NULL;
    CU_ASSERT_EQUAL_FATAL(mg_capture_wrap(&loop.dev, &clock, &opts, &cap), 0);
    CU_ASSERT_EQUAL(memcmp(cap->mac, loop.dev.mac, 6), 0);
    CU_ASSERT_EQUAL(cap->mtu, 1500);

    for (unsigned i = 0; i < 10; i++) {
        struct mg_buf *b = frame(i, 60 + i * 100);
        CU_ASSERT_EQUAL(mg_netdev_tx(cap, &b, 1), 1);
        mg_clock_advance(&clock, 1500);
    }
    struct mg_buf *rx[16];
    CU_ASSERT_EQUAL(mg_netdev_rx(cap, rx, 16), 10);
    for (unsigned i = 0; i < 10; i++)
        mg_buf_free(rx[i]);
    const struct mg_capture_stats *st = mg_capture_stats(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    CU_ASSERT_EQUAL(st->frames_out, 10);
    CU_ASSERT_EQUAL(st->frames_in, 10);
    mg_netdev_destroy(cap);
    CU_ASSERT_TRUE(loop.destroyed);
    CU_ASSERT_EQUAL(pool->in_use, 0);

    int idbs = 0;
    int n = read_epbs(path, epbs, 600, &idbs);
    CU_ASSERT_EQUAL_FATAL(n, 20);
    CU_ASSERT_EQUAL(idbs, 1);
    for (unsigned i = 0; i < 10; i++) {
        CU_ASSERT_EQUAL(epbs[i].flags & 3, 2); /* outbound */
        CU_ASSERT_EQUAL(epbs[i].ts, 1000 * MG_NS_PER_S + i * 1500);
        CU_ASSERT_EQUAL(epbs[i].len, 60 + i * 100);
        CU_ASSERT_EQUAL(epbs[i].data[5], (uint8_t)(i * 7 + 5));
        CU_ASSERT_EQUAL(epbs[10 + i].flags & 3, 1); /* inbound */
        CU_ASSERT_EQUAL(epbs[10 + i].len, 60 + i * 100);
        CU_ASSERT_EQUAL(epbs[10 + i].ts, 1000 * MG_NS_PER_S + 10 * 1500);
    }
#ifdef HAVE_PCAP
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, errbuf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(pcap_datalink(p), DLT_EN10MB);
    struct pcap_pkthdr *h;
    const u_char *data;
    int count = 0;
    while (pcap_next_ex(p, &h, &data) == 1) {
        CU_ASSERT_EQUAL(h->caplen, epbs[count].len);
        CU_ASSERT_EQUAL(memcmp(data, epbs[count].data, h->caplen), 0);
        count++;
    }
    CU_ASSERT_EQUAL(count, 20);
    pcap_close(p);
#endif
}

static void test_refused_frames_not_recorded(void) {
    loop_init();
    loop.tx_accept_limit = 3;
    char path[256];
    path_in_dir(path, sizeof(path), "refused.pcapng");
    struct mg_capture_opts opts = {.path = path};
    struct mg_netdev *cap = NULL;
    CU_ASSERT_EQUAL_FATAL(mg_capture_wrap(&loop.dev, NULL, &opts, &cap), 0);
    struct mg_buf *b[5];
    for (unsigned i = 0; i < 5; i++)
        b[i] = frame(i, 100);
    CU_ASSERT_EQUAL(mg_netdev_tx(cap, b, 5), 3);
    mg_buf_free(b[3]);
    mg_buf_free(b[4]);
    CU_ASSERT_EQUAL(mg_capture_stats(cap)->frames_out, 3);
    struct mg_buf *rx[8];
    uint16_t got = mg_netdev_rx(cap, rx, 8);
    for (uint16_t i = 0; i < got; i++)
        mg_buf_free(rx[i]);
    mg_netdev_destroy(cap);
    int idbs;
    CU_ASSERT_EQUAL(read_epbs(path, epbs, 600, &idbs), 6);
    CU_ASSERT_EQUAL(epbs[2].data[0], (uint8_t)(2 * 7));
    CU_ASSERT_EQUAL(pool->in_use, 0);
}

static off_t file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

static void test_size_limit_stops(void) {
    loop_init();
    char path[256];
    path_in_dir(path, sizeof(path), "limit.pcapng");
    struct mg_capture_opts opts = {.path = path, .max_file_bytes = 4096};
    struct mg_netdev *cap = NULL;
    CU_ASSERT_EQUAL_FATAL(mg_capture_wrap(&loop.dev, NULL, &opts, &cap), 0);
    for (unsigned i = 0; i < 100; i++) {
        struct mg_buf *b = frame(i, 200);
        CU_ASSERT_EQUAL(mg_netdev_tx(cap, &b, 1), 1); /* the datapath never notices */
        struct mg_buf *r;
        CU_ASSERT_EQUAL(mg_netdev_rx(cap, &r, 1), 1);
        mg_buf_free(r);
    }
    const struct mg_capture_stats *st = mg_capture_stats(cap);
    CU_ASSERT(st->frames_out + st->frames_in > 0);
    CU_ASSERT_EQUAL(st->frames_out + st->frames_in + st->frames_skipped, 200);
    CU_ASSERT(st->frames_skipped > 150);
    uint64_t recorded = st->frames_in + st->frames_out;
    mg_netdev_destroy(cap);
    CU_ASSERT(file_size(path) <= 4096);
    int idbs;
    CU_ASSERT_EQUAL(read_epbs(path, epbs, 600, &idbs), (int)recorded);
}

static void test_rotation_keeps_newest_files(void) {
    loop_init();
    char path[256], older[300];
    path_in_dir(path, sizeof(path), "rot.pcapng");
    struct mg_capture_opts opts = {.path = path, .max_file_bytes = 2048, .max_files = 3};
    struct mg_netdev *cap = NULL;
    CU_ASSERT_EQUAL_FATAL(mg_capture_wrap(&loop.dev, NULL, &opts, &cap), 0);
    for (unsigned i = 0; i < 60; i++) {
        struct mg_buf *b = frame(i, 150);
        CU_ASSERT_EQUAL(mg_netdev_tx(cap, &b, 1), 1);
        struct mg_buf *r;
        CU_ASSERT_EQUAL(mg_netdev_rx(cap, &r, 1), 1);
        mg_buf_free(r);
    }
    const struct mg_capture_stats *st = mg_capture_stats(cap);
    CU_ASSERT(st->rotations >= 3);
    CU_ASSERT_EQUAL(st->frames_skipped, 0);
    mg_netdev_destroy(cap);
    int idbs, total = 0;
    CU_ASSERT(file_size(path) <= 2048);
    total += read_epbs(path, epbs, 600, &idbs);
    for (int i = 1; i <= 2; i++) {
        snprintf(older, sizeof(older), "%s.%d", path, i);
        CU_ASSERT(file_size(older) > 0 && file_size(older) <= 2048);
        total += read_epbs(older, epbs, 600, &idbs);
    }
    snprintf(older, sizeof(older), "%s.3", path);
    CU_ASSERT_EQUAL(file_size(older), -1);
    /* The newest file ends with the last frame sent and received. */
    int n = read_epbs(path, epbs, 600, &idbs);
    CU_ASSERT_FATAL(n > 0);
    CU_ASSERT_EQUAL(epbs[n - 1].data[0], (uint8_t)(59 * 7));
    CU_ASSERT(total > 0 && total < 120);
}

static void test_bad_arguments(void) {
    loop_init();
    struct mg_netdev *cap = NULL;
    struct mg_capture_opts opts = {.path = "/nonexistent-dir/x.pcapng"};
    CU_ASSERT_EQUAL(mg_capture_wrap(&loop.dev, NULL, &opts, &cap), -ENOENT);
    CU_ASSERT_PTR_NULL(cap);
    CU_ASSERT_EQUAL(mg_capture_wrap(NULL, NULL, &opts, &cap), -EINVAL);
    opts.path = "";
    CU_ASSERT_EQUAL(mg_capture_wrap(&loop.dev, NULL, &opts, &cap), -EINVAL);
    CU_ASSERT_EQUAL(mg_capture_wrap(&loop.dev, NULL, NULL, &cap), -EINVAL);
    CU_ASSERT_PTR_NULL(mg_capture_stats(&loop.dev));
    CU_ASSERT_EQUAL(mg_capture_flush(&loop.dev), -EINVAL);
}

int main(void) {
    if (!mkdtemp(dir))
        return 1;
    pool = mg_heap_pool_create("capture-test", 512, 2048, 128);
    if (!pool || CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("capture", NULL, NULL);
    CU_add_test(s, "records_both_directions", test_records_both_directions);
    CU_add_test(s, "refused_frames_not_recorded", test_refused_frames_not_recorded);
    CU_add_test(s, "size_limit_stops", test_size_limit_stops);
    CU_add_test(s, "rotation_keeps_newest_files", test_rotation_keeps_newest_files);
    CU_add_test(s, "bad_arguments", test_bad_arguments);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    mg_heap_pool_destroy(pool);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return failed ? 1 : 0;
}
