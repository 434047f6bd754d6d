/* tools/cmd_info.c — `margay info`: starts DPDK's EAL the way margay would (from the
 * configuration's dpdk.eal_init, or from EAL arguments given after `--`) and lists
 * every port it can see, so the first step on a new machine shows which port id, PCI
 * address or vdev to put in dpdk.port, and whether its link is up. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "tools/commands.h"

#ifdef HAVE_DPDK
#include "drivers/dpdk/dpdk_netdev.h"
#endif

void mg_cmd_info_usage(FILE *out) {
    fprintf(out, "usage: margay info [-c CONFIG.yaml] [-- EAL arguments...]\n"
                 "Starts DPDK's EAL and lists every port: id, driver, PCI address or vdev name, MAC,\n"
                 "link, queue and descriptor limits, rx/tx offloads, MTU range.\n"
                 "EAL arguments come from after `--` if given, else from dpdk.eal_init in the\n"
                 "configuration (-c, else CONFIG_PATH or DEMI_CONFIG). Example without hugepages:\n"
                 "  margay info -- --no-huge -m 256 --no-shconf --vdev=net_ring0 --vdev=net_null0\n");
}

#ifdef HAVE_DPDK
static int load_config(struct mg_config *cfg, const char *path) {
    char err[512] = "";
    int ret = path ? (mg_config_defaults(cfg), mg_config_load_file(cfg, path, err, sizeof(err)))
                   : mg_config_load_default(cfg, err, sizeof(err));
    if (ret != 0)
        fprintf(stderr, "margay info: %s\n", err);
    return ret;
}

int mg_cmd_info(int argc, char **argv) {
    const char *config_path = NULL;
    int eal_first = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            eal_first = i + 1;
            break;
        } else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            config_path = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            mg_cmd_info_usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "margay info: unexpected argument '%s'\n", argv[i]);
            mg_cmd_info_usage(stderr);
            return 2;
        }
    }
    struct mg_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    if (eal_first < 0 && load_config(&cfg, config_path) != 0)
        return 1;
    char err[512] = "";
    int ret = eal_first >= 0 ? mg_dpdk_eal_init(argc - eal_first, argv + eal_first, err, sizeof(err))
                             : mg_dpdk_eal_init(cfg.eal_argc, cfg.eal_args, err, sizeof(err));
    if (eal_first < 0)
        mg_config_free(&cfg);
    if (ret != 0) {
        fprintf(stderr, "margay info: %s\n", err);
        return 1;
    }
    fflush(stderr);
    mg_dpdk_print_ports(stdout);
    fflush(stdout);
    mg_dpdk_eal_cleanup();
    return 0;
}
#else
int mg_cmd_info(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "margay info: this margay was built without DPDK (install libdpdk-dev and reconfigure)\n");
    return 2;
}
#endif
