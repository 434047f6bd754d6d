/* tests/unit/test_dpdk_hugepages.c — EAL the production way, on hugepages.
 * With free hugepages mounted, EAL starts without --no-huge and a net_ring vdev
 * carries a frame through a mempool in hugepage memory. Without them (the usual CI
 * container) the test checks instead that the failure names the cause and the two
 * remedies, and that the failure is remembered (EAL cannot start twice). */
#include "config.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/config.h"
#include "drivers/dpdk/dpdk_netdev.h"
#include "inet/netdev.h"

static char *eal_argv[] = {"--no-shconf", "--no-pci", "--no-telemetry",  "--log-level=warning",
                           "-m",          "128",      "--vdev=net_ring0"};
#define EAL_ARGC ((int)(sizeof(eal_argv) / sizeof(eal_argv[0])))

/* Free 2 MiB (or 1 GiB) hugepages and a hugetlbfs mount. */
static bool hugepages_usable(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return false;
    char line[256];
    long free_pages = 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "HugePages_Free: %ld", &free_pages) == 1)
            break;
    fclose(f);
    if (free_pages < 64) /* -m 128 with 2 MiB pages */
        return false;
    f = fopen("/proc/mounts", "r");
    if (!f)
        return false;
    bool mounted = false;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, " hugetlbfs "))
            mounted = true;
    fclose(f);
    return mounted;
}

static bool have_hugepages;

static void init_config(struct mg_config *cfg) {
    memset(cfg, 0, sizeof(*cfg));
    for (int i = 0; i < EAL_ARGC; i++)
        cfg->eal_args[i] = eal_argv[i];
    cfg->eal_argc = EAL_ARGC;
    cfg->dpdk_rx_desc = 128;
    cfg->dpdk_tx_desc = 128;
    cfg->dpdk_mempool_size = 1023;
    snprintf(cfg->dpdk_port, sizeof(cfg->dpdk_port), "net_ring0");
}

static void test_frame_over_hugepages(void) {
    struct mg_config cfg;
    init_config(&cfg);
    char err[512] = "";
    struct mg_netdev *dev = NULL;
    int ret = mg_dpdk_netdev_open(&cfg, &dev, err, sizeof(err));
    if (ret != 0)
        fprintf(stderr, "%s\n", err);
    CU_ASSERT_EQUAL_FATAL(ret, 0);
    struct mg_buf *b = mg_buf_alloc(dev->pool), *in = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    memset(mg_buf_append(b, 64), 0xa5, 64);
    CU_ASSERT_EQUAL(mg_netdev_tx(dev, &b, 1), 1);
    for (int i = 0; i < 1000 && !in; i++)
        mg_netdev_rx(dev, &in, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(in);
    CU_ASSERT_EQUAL(in->len, 64);
    CU_ASSERT_EQUAL(in->data[63], 0xa5);
    mg_buf_free(in);
    mg_netdev_destroy(dev);
}

static void test_failure_explains_hugepages(void) {
    struct mg_config cfg;
    init_config(&cfg);
    char err[512] = "", again[512] = "";
    struct mg_netdev *dev = NULL;
    int ret = mg_dpdk_netdev_open(&cfg, &dev, err, sizeof(err));
    CU_ASSERT_TRUE(ret < 0);
    CU_ASSERT_PTR_NULL(dev);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "hugepages"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--no-huge"));
    CU_ASSERT_FALSE(mg_dpdk_eal_running());
    /* Remembered: the same answer without a second EAL start. */
    CU_ASSERT_EQUAL(mg_dpdk_eal_init(EAL_ARGC, eal_argv, again, sizeof(again)), ret);
    CU_ASSERT_STRING_EQUAL(again, err);
}

int main(void) {
    have_hugepages = hugepages_usable();
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("dpdk_hugepages", NULL, NULL);
    if (have_hugepages) {
        CU_add_test(s, "frame over a hugepage mempool", test_frame_over_hugepages);
    } else {
        printf("test_dpdk_hugepages: no free hugepages mounted; running without them is checked instead "
               "(reserve some to run the hugepage case: see doc/dpdk.md)\n");
        CU_add_test(s, "EAL failure names hugepages and --no-huge", test_failure_explains_hugepages);
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    mg_dpdk_eal_cleanup();
    return failed ? 1 : 0;
}
