/* tests/unit/test_dpdk_hugepages.c — EAL the production way, on hugepages.
 * With free hugepages mounted (ci/hugepages.sh reserves them when it runs as root),
 * EAL starts without --no-huge and a net_ring vdev carries a frame through a mempool
 * in hugepage memory. Without them (a container without the privilege), or with
 * MARGAY_TEST_HUGEPAGES=no, the test checks instead that the failure names the cause
 * and the two remedies, and that the failure is remembered (EAL cannot start twice);
 * on a machine that has hugepages that failure is provoked by pointing EAL at a
 * directory that is not hugetlbfs. */
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
#include "tests/dpdk/eal_memory.h"
#include <unistd.h>

/* -m 128 preallocates: with 2 MiB pages that is 64 of them. --in-memory leaves no
 * hugepage files behind. */
static char *eal_argv[MG_TEST_EAL_MAX_ARGS] = {"--no-shconf",         "--no-pci", "--no-telemetry", "--log-level=warning",
                                               "-m",                  "128",      "--vdev=net_ring0"};
static int eal_argc = 7;
#define NEEDS_MB 128

static char prefix_arg[64], huge_dir_arg[128];
static char not_hugetlbfs[] = "/tmp/mg_not_hugetlbfs_XXXXXX";

static bool have_hugepages;

static void init_config(struct mg_config *cfg) {
    memset(cfg, 0, sizeof(*cfg));
    for (int i = 0; i < eal_argc; i++)
        cfg->eal_args[i] = eal_argv[i];
    cfg->eal_argc = eal_argc;
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
    CU_ASSERT_EQUAL(mg_dpdk_eal_init(eal_argc, eal_argv, again, sizeof(again)), ret);
    CU_ASSERT_STRING_EQUAL(again, err);
}

int main(void) {
    struct mg_test_hugepages hp;
    mg_test_hugepages_probe(&hp);
    const char *want = getenv("MARGAY_TEST_HUGEPAGES");
    bool forbidden = want && strcmp(want, "no") == 0;
    have_hugepages = hp.mounted && hp.free_mb >= NEEDS_MB && !forbidden;
    snprintf(prefix_arg, sizeof(prefix_arg), "--file-prefix=mgt_hugepages_%ld", (long)getpid());
    eal_argv[eal_argc++] = prefix_arg;
    bool provoked = false;
    if (have_hugepages) {
        eal_argv[eal_argc++] = "--in-memory";
        printf("test_dpdk_hugepages: DPDK memory: hugepages, --in-memory (%lu MB free in %lu kB pages)\n", hp.free_mb,
               hp.page_kb);
    } else if (hp.mounted && hp.free_mb > 0) {
        /* Hugepages exist but are not to be used: make EAL look where there are none. */
        if (!mkdtemp(not_hugetlbfs)) {
            perror("mkdtemp");
            return 1;
        }
        snprintf(huge_dir_arg, sizeof(huge_dir_arg), "--huge-dir=%s", not_hugetlbfs);
        eal_argv[eal_argc++] = huge_dir_arg;
        provoked = true;
        printf("test_dpdk_hugepages: hugepages present but %s: checking the failure with --huge-dir on a "
               "directory that is not hugetlbfs\n",
               forbidden ? "MARGAY_TEST_HUGEPAGES=no" : "too few free");
    } else {
        printf("test_dpdk_hugepages: no free hugepages mounted (%lu MB free, hugetlbfs %s); checking the failure "
               "instead (ci/hugepages.sh reserves some as root; see doc/dpdk.md)\n",
               hp.free_mb, hp.mounted ? "mounted" : "not mounted");
    }
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("dpdk_hugepages", NULL, NULL);
    if (have_hugepages)
        CU_add_test(s, "frame over a hugepage mempool", test_frame_over_hugepages);
    else
        CU_add_test(s, "EAL failure names hugepages and --no-huge", test_failure_explains_hugepages);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    mg_dpdk_eal_cleanup();
    if (provoked)
        rmdir(not_hugetlbfs);
    static struct mg_test_eal named; /* only its prefix: to remove EAL's runtime directory */
    snprintf(named.prefix, sizeof(named.prefix), "%s", prefix_arg + strlen("--file-prefix="));
    mg_test_eal_remove_runtime_dir(&named);
    return failed ? 1 : 0;
}
