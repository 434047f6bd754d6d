/* tests/dpdk/eal_memory.h — how a DPDK test program gets its memory: on hugepages
 * when the machine has enough free ones and hugetlbfs is mounted (what production
 * uses; ci/hugepages.sh reserves them when it can), with --no-huge otherwise (any
 * container). Each test names itself, gets its own --file-prefix, and prints one line
 * saying which memory it runs on, so a log shows what was tested.
 *
 * MARGAY_TEST_HUGEPAGES=no forces --no-huge; =yes insists on hugepages (the setup
 * fails, naming what is missing, when there are none); unset or auto decides. */
#ifndef MARGAY_TESTS_DPDK_EAL_MEMORY_H
#define MARGAY_TESTS_DPDK_EAL_MEMORY_H

#include <stdbool.h>

#define MG_TEST_EAL_MAX_ARGS 48

enum mg_test_memory { MG_TEST_MEMORY_NO_HUGE, MG_TEST_MEMORY_HUGE };

struct mg_test_eal {
    char *argv[MG_TEST_EAL_MAX_ARGS]; /* what goes to mg_dpdk_eal_init / mg_config.eal_args */
    int argc;
    enum mg_test_memory memory;
    char prefix[64];                  /* --file-prefix */
    char why[160];                    /* why this memory was chosen */
    char store[MG_TEST_EAL_MAX_ARGS][256];
};

/* What the machine offers: free hugepage megabytes (default page size) and whether
 * hugetlbfs is mounted. */
struct mg_test_hugepages {
    unsigned long free_mb;
    unsigned long page_kb;
    bool mounted;
};
void mg_test_hugepages_probe(struct mg_test_hugepages *out);

/* Builds e->argv: `extra` (vdevs, --no-pci, ...), then --file-prefix=mgt_<name>_<pid>
 * and the memory arguments:
 *  - hugepages: --in-memory (one process: no hugepage files left behind), or, when
 *    multiprocess (net_memif needs EAL's multi-process channel), --huge-unlink;
 *    memory is taken as the test needs it; needs_mb free megabytes are required;
 *  - --no-huge -m needs_mb (and --no-shconf unless multiprocess).
 * Prints "<name>: DPDK memory: ..." on stdout. Returns 0, or -1 (with a message on
 * stderr) when MARGAY_TEST_HUGEPAGES=yes and there are no usable hugepages, or the
 * arguments do not fit. */
int mg_test_eal_setup(struct mg_test_eal *e, const char *name, unsigned needs_mb, bool multiprocess,
                      const char *const *extra, int nextra);

/* Removes the (empty) runtime directory EAL made for e->prefix. Call after
 * mg_dpdk_eal_cleanup(). */
void mg_test_eal_remove_runtime_dir(const struct mg_test_eal *e);

#endif /* MARGAY_TESTS_DPDK_EAL_MEMORY_H */
